/* SPDX-License-Identifier: ISC */
/*
 * The peers' own handshake (docs/protocol.md, section 8.1), on top of the
 * pair key Kxy that the server makes: what the server cannot compute.  The
 * Noise KKpsk0 pattern, built on crypto.c's X25519, BLAKE2b and
 * ChaCha20-Poly1305 as the channel handshake is: both identity keys are
 * known in advance (PAIRKEY carries the peer's), Kxy is the pre-shared key,
 * and each side adds a fresh ephemeral key.
 *
 *   INIT, initiator to responder: psk, e, es, ss
 *   RESP, responder to initiator: e, ee, se
 *
 * The transport keys, one per direction, come out of both messages; Kxy
 * alone opens neither message nor anything after them, and once the
 * ephemeral keys are wiped a stolen identity key opens nothing recorded.
 * The initiator is the peer whose name sorts first.  Every function leaves
 * the state untouched when its input does not open, and wipes every secret
 * it made on every path.
 */
#ifndef SEALCHAT_PEERHS_H
#define SEALCHAT_PEERHS_H

#include <stddef.h>
#include <stdint.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"

/* A handshake datagram: kind, pair id, ephemeral key, tag. */
#define PEERHS_LEN	(1 + 8 + SC_KEY_BYTES + SC_MAC_BYTES)	/* 57 */

enum peerhs_state {
	PEERHS_READY = 0,	/* set up: INIT to write or to read */
	PEERHS_SENT,		/* initiator: INIT written, RESP awaited */
	PEERHS_DONE,		/* the keys are out; nothing secret is left */
};

struct peerhs {
	uint8_t		ck[SC_KEY_BYTES];	/* chaining key */
	uint8_t		h[SC_KEY_BYTES];	/* transcript hash */
	uint8_t		e_sk[SC_KEY_BYTES];	/* initiator, while SENT */
	uint8_t		e_pk[SC_KEY_BYTES];
	uint8_t		peer_pk[SC_KEY_BYTES];	/* the peer's identity */
	uint64_t	pair_id;
	int		initiator;
	int		state;			/* enum peerhs_state */
};

/*
 * Sets up one side of the handshake of pair pair_id between name_i (the
 * initiator, whose name sorts first) and name_r, whose identity public
 * keys are pk_i and pk_r, with the pre-shared key psk (Kxy).  -1 for a
 * name that is not canonical.
 */
int	peerhs_init(struct peerhs *, int initiator, uint64_t pair_id,
	    const char *name_i, const uint8_t pk_i[SC_KEY_BYTES],
	    const char *name_r, const uint8_t pk_r[SC_KEY_BYTES],
	    const uint8_t psk[SC_KEY_BYTES]) SC_WUR;
/*
 * Initiator: writes INIT into out with the secret identity key s_sk and a
 * fresh ephemeral key (e_sk given: that one, for known answers).  The
 * same INIT is sent again, byte for byte, until a RESP comes.
 */
int	peerhs_write_init(struct peerhs *, uint8_t out[PEERHS_LEN],
	    const uint8_t s_sk[SC_KEY_BYTES], const uint8_t *e_sk) SC_WUR;
/*
 * Responder: reads an INIT; when it opens, writes RESP into out and the
 * transport keys (tx: responder to initiator) into keys, and the state is
 * DONE.  -1, and nothing changed, when it does not open.
 */
int	peerhs_read_init(struct peerhs *, struct sc_pair_keys *keys,
	    uint8_t out[PEERHS_LEN], const uint8_t *in, size_t len,
	    const uint8_t s_sk[SC_KEY_BYTES], const uint8_t *e_sk) SC_WUR;
/*
 * Initiator: reads a RESP; when it opens, the transport keys (tx:
 * initiator to responder) go into keys, the ephemeral key is wiped and the
 * state is DONE.  -1, and nothing changed, when it does not open.
 */
int	peerhs_read_resp(struct peerhs *, struct sc_pair_keys *keys,
	    const uint8_t *in, size_t len, const uint8_t s_sk[SC_KEY_BYTES])
	    SC_WUR;
/* Wipes the state. */
void	peerhs_wipe(struct peerhs *);
/*
 * The kind (SC_UDP_INIT or SC_UDP_RESP) and pair id of a handshake
 * datagram: -1 for any other length or first byte.
 */
int	peerhs_parse(const uint8_t *in, size_t len, uint8_t *kind,
	    uint64_t *pair_id);

#endif
