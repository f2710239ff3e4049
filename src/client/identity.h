/* SPDX-License-Identifier: ISC */
/*
 * Identity keys, pinned peers and safety numbers (docs/protocol.md,
 * sections 4 and 11; docs/user-guide.md, "Verifying a peer").
 *
 * A user has one X25519 identity key pair per device and server, made at
 * the first sign or auth there and kept in
 * $XDG_DATA_HOME/sealchat/SERVER/USER/identity (mode 0600), SERVER being
 * the server key's fingerprint in the URL-safe base64 alphabet.  Beside
 * it, known_peers pins the identity key of every peer the user has talked
 * to, one "NAME KEY" line each (trust on first use, as ssh's known_hosts).
 * A key the server hands out for a known peer that is not the pinned one
 * is a change: it is kept aside, the conversation with that peer stops
 * until the user trusts it (identity_trust), and the pin stays until then.
 *
 * A safety number is 60 digits that both sides compute alike from both
 * names and identity keys; people compare it to catch a server that hands
 * out keys of its own.
 */
#ifndef SEALCHAT_CLIENT_IDENTITY_H
#define SEALCHAT_CLIENT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"

/* A safety number: 12 groups of 5 digits, a space between, and a NUL. */
#define IDENTITY_NUMBER_LEN	(12 * 5 + 11 + 1)
/* Hashes of each side's half of a safety number. */
#define IDENTITY_ROUNDS		5200
/* Peers pinned at most, and the size of known_peers at most. */
#define IDENTITY_PEERS_MAX	10000
#define IDENTITY_FILE_MAX	(1024 * 1024)

/* What a key handed out for a peer is. */
enum identity_seen {
	IDENTITY_ERR = -1,	/* the pin could not be written */
	IDENTITY_KNOWN = 0,	/* the pinned key */
	IDENTITY_NEW,		/* a first key: pinned now */
	IDENTITY_CHANGED,	/* another key: kept aside, not trusted */
};

struct identity;

/*
 * Opens the identity of user (canonical) on the server of server_pk:
 * makes the folder (mode 0700) and the key pair when they are missing,
 * and reads known_peers.  base is the program's data folder
 * ("$XDG_DATA_HOME/sealchat"), NULL for util_xdg_dir()'s.  NULL with a
 * sentence in err (a damaged known_peers names its file and line).
 */
struct identity	*identity_open(const char *base,
		    const uint8_t server_pk[SC_KEY_BYTES], const char *user,
		    char *err, size_t errlen);
/* Wipes and frees; NULL-safe. */
void		 identity_free(struct identity *);
/* The user's key pair (the secret key in guarded memory). */
const struct sc_keypair *identity_keypair(const struct identity *);
/* Whether identity_open() made the key pair. */
int		 identity_created(const struct identity *);
/* The user whose identity it is. */
const char	*identity_user(const struct identity *);
/* The folder of the identity (log lines, tests). */
const char	*identity_dir(const struct identity *);
/*
 * The server handed out key for peer (canonical): pinned now when the
 * peer was unknown; IDENTITY_CHANGED, and key kept aside, when it is not
 * the pinned key.  IDENTITY_ERR with a sentence in err when a new pin
 * could not be written (nothing is pinned then).
 */
enum identity_seen identity_seen(struct identity *, const char *peer,
		    const uint8_t key[SC_KEY_BYTES], char *err, size_t errlen);
/*
 * Whether key is not the pinned key of peer (a change), without writing
 * anything: the check that can come before a pin is written.
 */
int		 identity_differs(const struct identity *, const char *peer,
		    const uint8_t key[SC_KEY_BYTES]);
/* Whether a change of peer's key waits to be trusted. */
int		 identity_changed(const struct identity *, const char *peer);
/*
 * Trusts the key kept aside for peer: it replaces the pin.  1 when it
 * did, 0 when no change waited but a key is pinned, -1 with a sentence in
 * err when no key of peer is known or known_peers could not be written
 * (then the pin is as it was).
 */
int		 identity_trust(struct identity *, const char *peer,
		    char *err, size_t errlen);
/* The key of peer: the one kept aside if any, else the pin; -1: none. */
int		 identity_key(const struct identity *, const char *peer,
		    uint8_t out[SC_KEY_BYTES]);
/*
 * Reads the text of a known_peers file into the pins, replacing them; -1
 * with "LINE: what" in err (fuzzing, tests).
 */
int		 identity_parse(struct identity *, const char *text,
		    size_t len, char *err, size_t errlen);
/*
 * The safety number of two (name, identity key) pairs, the same whichever
 * comes first: docs/protocol.md section 11.  -1 only when hashing failed.
 */
int		 identity_number(char out[IDENTITY_NUMBER_LEN], const char *a,
		    const uint8_t ka[SC_KEY_BYTES], const char *b,
		    const uint8_t kb[SC_KEY_BYTES]);

#endif
