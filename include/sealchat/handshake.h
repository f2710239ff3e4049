/* SPDX-License-Identifier: ISC */
/*
 * The handshake of docs/protocol.md section 2, the one way a TCP connection
 * becomes an encrypted channel: the client's HELLO, the server's CONFIRM or
 * REJECT, and the derivation of the channel keys.  NK-style, keeping the
 * seed's sealed-box key wrap: the client seals K || E_c to the pinned server
 * key; the server answers E_s and a first frame under keys derived from K,
 * the ephemeral-ephemeral secret and the transcript hash.  Every secret in
 * between is wiped on every path.
 */
#ifndef SEALCHAT_HANDSHAKE_H
#define SEALCHAT_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"

/* CONFIRM body carrying a WELCOME of n bytes: E_s, then the sealed WELCOME. */
#define HANDSHAKE_CONFIRM_LEN(n)	(SC_KEY_BYTES + (n) + SC_MAC_BYTES)
/* Smallest CONFIRM body: a sealed WELCOME of at least one byte. */
#define HANDSHAKE_CONFIRM_MIN		HANDSHAKE_CONFIRM_LEN(1)
/* A whole REJECT frame, header included. */
#define HANDSHAKE_REJECT_FRAME		(SC_FRAME_HDR + SC_REJECT_BODY)
/* A whole REJECT 2 frame that carries the server's public key. */
#define HANDSHAKE_REJECT_KEY_FRAME	(SC_FRAME_HDR + SC_REJECT_KEY_BODY)

/* The client's side until the CONFIRM arrives. */
struct handshake_client {
	uint8_t	k[SC_KEY_BYTES];
	uint8_t	e_sk[SC_KEY_BYTES];
	uint8_t	server_pk[SC_KEY_BYTES];
	uint8_t	hello[SC_HELLO_BODY];	/* the HELLO frame body */
};

/* Makes K and e_c, and the HELLO body sealed to server_pk, into hs. */
int	handshake_client_hello(struct handshake_client *,
	    const uint8_t server_pk[SC_KEY_BYTES]) SC_WUR;
/*
 * Derives the client's channel from the server's E_s.  Wipes hs whatever
 * the outcome; fails on a small-order E_s.
 */
int	handshake_client_finish(struct sc_channel *, struct handshake_client *,
	    const uint8_t e_s_pk[SC_KEY_BYTES]) SC_WUR;
/*
 * Takes a CONFIRM body (at least HANDSHAKE_CONFIRM_MIN bytes): derives the
 * channel and opens the WELCOME, as server frame 0, into welcome (len less
 * SC_KEY_BYTES and SC_MAC_BYTES bytes).  -1 when it does not open: the
 * server did not prove it holds the pinned key.  Wipes hs.
 */
int	handshake_client_confirm(struct sc_channel *, struct handshake_client *,
	    uint8_t *welcome, const uint8_t *confirm, size_t len) SC_WUR;
void	handshake_client_wipe(struct handshake_client *);

/*
 * Server side: opens a HELLO body, makes e_s and derives the channel;
 * writes E_s to e_s_pk.  Returns 0, or the REJECT reason to answer,
 * negated: -SC_REJECT_VERSION when the version byte is not ours (checked
 * first, so a later version is told so), -SC_REJECT_KEY when the body is
 * not SC_HELLO_BODY bytes or its box does not open.
 */
int	handshake_server(struct sc_channel *, uint8_t e_s_pk[SC_KEY_BYTES],
	    const struct sc_keypair *, const uint8_t *hello, size_t len) SC_WUR;
/*
 * Writes the CONFIRM body into out (HANDSHAKE_CONFIRM_LEN(len) bytes): E_s,
 * then the WELCOME message sealed as the channel's first frame.
 */
int	handshake_confirm(uint8_t *out, struct sc_channel *,
	    const uint8_t e_s_pk[SC_KEY_BYTES], const uint8_t *welcome,
	    size_t len) SC_WUR;

/* Writes the whole REJECT frame (plaintext) with its reason. */
void	handshake_reject(uint8_t frame[HANDSHAKE_REJECT_FRAME],
	    uint8_t reason);
/*
 * REJECT 2 with the server's public key pk after the reason, so that a
 * client pinning another key can show both fingerprints.
 */
void	handshake_reject_key(uint8_t frame[HANDSHAKE_REJECT_KEY_FRAME],
	    const uint8_t pk[SC_KEY_BYTES]);
/* The reason of a REJECT body, or -1 when the body is not a REJECT. */
int	handshake_reject_reason(const uint8_t *body, size_t len);
/*
 * The key a REJECT 2 body offers, into pk: 0, or -1 when it has none.
 * Unauthenticated: something to show, never to trust.
 */
int	handshake_reject_offered(const uint8_t *body, size_t len,
	    uint8_t pk[SC_KEY_BYTES]);

#endif
