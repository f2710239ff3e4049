/* SPDX-License-Identifier: ISC */
/*
 * The handshake of docs/protocol.md section 2: HELLO, CONFIRM, REJECT and
 * the channel keys of 2.3.  Only the protocol's steps live here; every
 * primitive (X25519, the sealed box, BLAKE2b, the KDF, the channel's AEAD)
 * is a crypto.c call, so this file stays readable next to the document and
 * crypto.c stays the only one that includes sodium.h.
 */
#include <string.h>

#include "sealchat/crypto.h"
#include "sealchat/handshake.h"
#include "sealchat/wire.h"

/* Transcript label of the handshake hash: 20 bytes, no NUL. */
static const char handshake_label[] = "sealchat/1 handshake";
_Static_assert(sizeof(handshake_label) - 1 == 20, "handshake label size");

/* Context of the channel keys' KDF. */
static const char handshake_kdf_ctx[8] = { 'S', 'C', 'c', 'h', 'a', 'n', 'v',
    '1' };

/*
 * Derives the channel keys of protocol.md 2.3:
 *   h      = BLAKE2b-256(label || S || hello || E_s)
 *   master = BLAKE2b-256(key = K, dh || h)
 *   k_c2s  = KDF(master, 1, "SCchanv1"), k_s2c = KDF(master, 2, "SCchanv1")
 * The server sends with k_s2c, the client with k_c2s.
 */
static int
handshake_derive(struct sc_channel *ch, int server,
    const uint8_t s_pk[SC_KEY_BYTES], const uint8_t hello[SC_HELLO_BODY],
    const uint8_t e_s_pk[SC_KEY_BYTES], const uint8_t k[SC_KEY_BYTES],
    const uint8_t dh[SC_KEY_BYTES])
{
	uint8_t			h[SC_KEY_BYTES], master[SC_KEY_BYTES];
	uint8_t			c2s[SC_KEY_BYTES], s2c[SC_KEY_BYTES];
	struct sc_hash_part	transcript[] = {
		{ handshake_label, sizeof(handshake_label) - 1 },
		{ s_pk, SC_KEY_BYTES },
		{ hello, SC_HELLO_BODY },
		{ e_s_pk, SC_KEY_BYTES },
	};
	struct sc_hash_part	secret[] = {
		{ dh, SC_KEY_BYTES },
		{ h, sizeof(h) },
	};
	int			rc = -1;

	if (sc_hash(h, NULL, transcript, sizeof(transcript) /
	    sizeof(transcript[0])) != 0 ||
	    sc_hash(master, k, secret, sizeof(secret) / sizeof(secret[0])) != 0)
		goto out;
	if (sc_kdf(c2s, master, 1, handshake_kdf_ctx) != 0 ||
	    sc_kdf(s2c, master, 2, handshake_kdf_ctx) != 0)
		goto out;
	memset(ch, 0, sizeof(*ch));
	memcpy(ch->tx_key, server ? s2c : c2s, SC_KEY_BYTES);
	memcpy(ch->rx_key, server ? c2s : s2c, SC_KEY_BYTES);
	rc = 0;
out:
	sc_wipe(master, sizeof(master));
	sc_wipe(c2s, sizeof(c2s));
	sc_wipe(s2c, sizeof(s2c));
	sc_wipe(h, sizeof(h));
	return (rc);
}

/* Makes K and the client's ephemeral key and seals K || E_c to the server. */
int
handshake_client_hello(struct handshake_client *hs,
    const uint8_t server_pk[SC_KEY_BYTES])
{
	uint8_t	plain[SC_HELLO_PLAIN];
	int	rc = -1;

	memset(hs, 0, sizeof(*hs));
	memcpy(hs->server_pk, server_pk, SC_KEY_BYTES);
	sc_random(hs->k, sizeof(hs->k));
	memcpy(plain, hs->k, SC_KEY_BYTES);
	if (sc_dh_keypair(plain + SC_KEY_BYTES, hs->e_sk) != 0)
		goto out;
	hs->hello[0] = SC_PROTO_VERSION;
	if (sc_seal(hs->hello + 1, plain, sizeof(plain), hs->server_pk) != 0)
		goto out;
	rc = 0;
out:
	sc_wipe(plain, sizeof(plain));
	if (rc != 0)
		handshake_client_wipe(hs);
	return (rc);
}

/* Client side: dh with the server's ephemeral key, then the channel keys. */
int
handshake_client_finish(struct sc_channel *ch, struct handshake_client *hs,
    const uint8_t e_s_pk[SC_KEY_BYTES])
{
	uint8_t	dh[SC_KEY_BYTES];
	int	rc = -1;

	memset(ch, 0, sizeof(*ch));
	memset(dh, 0, sizeof(dh));
	if (sc_dh(dh, hs->e_sk, e_s_pk) != 0)
		goto out;
	if (handshake_derive(ch, 0, hs->server_pk, hs->hello, e_s_pk, hs->k,
	    dh) != 0)
		goto out;
	rc = 0;
out:
	sc_wipe(dh, sizeof(dh));
	handshake_client_wipe(hs);
	if (rc != 0)
		sc_channel_wipe(ch);
	return (rc);
}

/* Client side of a CONFIRM: the channel, then the WELCOME opened with it. */
int
handshake_client_confirm(struct sc_channel *ch, struct handshake_client *hs,
    uint8_t *welcome, const uint8_t *confirm, size_t len)
{
	if (len < HANDSHAKE_CONFIRM_MIN) {
		handshake_client_wipe(hs);
		return (-1);
	}
	if (handshake_client_finish(ch, hs, confirm) != 0 ||
	    sc_channel_open(ch, welcome, confirm + SC_KEY_BYTES,
	    len - SC_KEY_BYTES) != 0)
		return (-1);
	return (0);
}

/* Wipes the client's handshake state. */
void
handshake_client_wipe(struct handshake_client *hs)
{
	sc_wipe(hs, sizeof(*hs));
}

/*
 * Server side of the handshake.  The version byte is checked first (so a
 * future version gets a REJECT that names the version), then the length;
 * a body that is not exactly SC_HELLO_BODY bytes or whose sealed box does
 * not open is -SC_REJECT_KEY.  K, E_c, dh and e_s are wiped on every path.
 */
int
handshake_server(struct sc_channel *ch, uint8_t e_s_pk[SC_KEY_BYTES],
    const struct sc_keypair *kp, const uint8_t *hello, size_t len)
{
	uint8_t	plain[SC_HELLO_PLAIN];
	uint8_t	e_s[SC_KEY_BYTES], dh[SC_KEY_BYTES];
	int	rc = -SC_REJECT_KEY;

	memset(ch, 0, sizeof(*ch));
	memset(plain, 0, sizeof(plain));
	memset(e_s, 0, sizeof(e_s));
	memset(dh, 0, sizeof(dh));
	if (len < 1 || hello[0] != SC_PROTO_VERSION)
		return (-SC_REJECT_VERSION);
	if (len != SC_HELLO_BODY || kp == NULL || kp->sk == NULL)
		return (-SC_REJECT_KEY);
	if (sc_seal_open(plain, hello + 1, SC_HELLO_BODY - 1, kp) != 0)
		goto out;
	if (sc_dh_keypair(e_s_pk, e_s) != 0)
		goto out;
	if (sc_dh(dh, e_s, plain + SC_KEY_BYTES) != 0)
		goto out;
	if (handshake_derive(ch, 1, kp->pk, hello, e_s_pk, plain, dh) != 0)
		goto out;
	rc = 0;
out:
	sc_wipe(plain, sizeof(plain));
	sc_wipe(e_s, sizeof(e_s));
	sc_wipe(dh, sizeof(dh));
	if (rc != 0)
		sc_channel_wipe(ch);
	return (rc);
}

/* The CONFIRM body: E_s, then the WELCOME sealed as server frame 0. */
int
handshake_confirm(uint8_t *out, struct sc_channel *ch,
    const uint8_t e_s_pk[SC_KEY_BYTES], const uint8_t *welcome, size_t len)
{
	memcpy(out, e_s_pk, SC_KEY_BYTES);
	return (sc_channel_seal(ch, out + SC_KEY_BYTES, welcome, len));
}

/* The REJECT frame: a 2-byte body, 0x00 then the reason. */
void
handshake_reject(uint8_t frame[HANDSHAKE_REJECT_FRAME], uint8_t reason)
{
	wire_frame_header(frame, SC_REJECT_BODY);
	frame[SC_FRAME_HDR] = 0x00;
	frame[SC_FRAME_HDR + 1] = reason;
}

/* REJECT 2 followed by the server's public key. */
void
handshake_reject_key(uint8_t frame[HANDSHAKE_REJECT_KEY_FRAME],
    const uint8_t pk[SC_KEY_BYTES])
{
	wire_frame_header(frame, SC_REJECT_KEY_BODY);
	frame[SC_FRAME_HDR] = 0x00;
	frame[SC_FRAME_HDR + 1] = SC_REJECT_KEY;
	memcpy(frame + SC_FRAME_HDR + SC_REJECT_BODY, pk, SC_KEY_BYTES);
}

/*
 * A body of SC_REJECT_BODY bytes that starts with 0x00 is a REJECT, and so
 * is one of SC_REJECT_KEY_BODY bytes with reason 2: no CONFIRM is that
 * short.
 */
int
handshake_reject_reason(const uint8_t *body, size_t len)
{
	if (len == SC_REJECT_KEY_BODY && body[0] == 0x00 &&
	    body[1] == SC_REJECT_KEY)
		return (SC_REJECT_KEY);
	if (len != SC_REJECT_BODY || body[0] != 0x00)
		return (-1);
	return (body[1]);
}

/* The key a REJECT 2 offers, if it has one. */
int
handshake_reject_offered(const uint8_t *body, size_t len,
    uint8_t pk[SC_KEY_BYTES])
{
	if (len != SC_REJECT_KEY_BODY || body[0] != 0x00 ||
	    body[1] != SC_REJECT_KEY)
		return (-1);
	memcpy(pk, body + SC_REJECT_BODY, SC_KEY_BYTES);
	return (0);
}
