/* SPDX-License-Identifier: ISC */
/*
 * The peers' handshake of docs/protocol.md section 8.1, Noise KKpsk0 on
 * crypto.c's primitives.  The symmetric state is Noise's (a chaining key
 * ck and a transcript hash h), with BLAKE2b in place of HMAC-based HKDF:
 *
 *   MixHash(x):       h = BLAKE2b-256(h || x)
 *   MixKey(x):        t = BLAKE2b-256(key = ck, x); ck = KDF(t, 1);
 *                     k = KDF(t, 2)
 *   MixKeyAndHash(x): t = BLAKE2b-256(key = ck, x); ck = KDF(t, 1);
 *                     MixHash(KDF(t, 2)); k = KDF(t, 3)
 *   EncryptAndHash:   c = AEAD(k, nonce 0, ad = h, empty); MixHash(c)
 *   Split:            t = BLAKE2b-256(key = ck, empty);
 *                     initiator to responder KDF(t, 1), back KDF(t, 2)
 *
 * KDF is crypto_kdf with the context "SCphsv1_".  Every MixKey makes a new
 * k used for one AEAD only, so a nonce of 0 never repeats under a key; an
 * INIT sent again is the same bytes, not a new encryption.  A message is
 * read into a copy of the state, which replaces the state only when the
 * message opened: a forged or replayed datagram changes nothing.
 */
#include <string.h>

#include "sealchat/crypto.h"
#include "sealchat/peerhs.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

/* The protocol's name, hashed into the first h: 32 bytes, no NUL. */
static const char peerhs_name[] = "sealchat/1 peer handshake KKpsk0";
_Static_assert(sizeof(peerhs_name) - 1 == 32, "peerhs name size");

/* Context of the handshake's KDF. */
static const char peerhs_ctx[8] = { 'S', 'C', 'p', 'h', 's', 'v', '1', '_' };

/* Where the fields of a handshake datagram are. */
#define PEERHS_OFF_ID	1
#define PEERHS_OFF_E	9
#define PEERHS_OFF_TAG	(PEERHS_OFF_E + SC_KEY_BYTES)

/* h = BLAKE2b-256(h || x). */
static int
peerhs_mix_hash(struct peerhs *hs, const void *x, size_t len)
{
	struct sc_hash_part	parts[] = {
		{ hs->h, SC_KEY_BYTES },
		{ x, len },
	};

	return (sc_hash(hs->h, NULL, parts, 2));
}

/*
 * The expansion of ck and x: t = BLAKE2b-256(key = ck, x), then KDF(t, 1)
 * into ck and KDF(t, 2) and KDF(t, 3) into o2 and o3 (o3 may be NULL).
 */
static int
peerhs_expand(struct peerhs *hs, const void *x, size_t len,
    uint8_t o2[SC_KEY_BYTES], uint8_t *o3)
{
	struct sc_hash_part	part = { x, len };
	uint8_t			t[SC_KEY_BYTES];
	int			rc = -1;

	if (sc_hash(t, hs->ck, &part, 1) != 0)
		goto out;
	if (sc_kdf(hs->ck, t, 1, peerhs_ctx) != 0 ||
	    sc_kdf(o2, t, 2, peerhs_ctx) != 0 ||
	    (o3 != NULL && sc_kdf(o3, t, 3, peerhs_ctx) != 0))
		goto out;
	rc = 0;
out:
	sc_wipe(t, sizeof(t));
	return (rc);
}

/* MixKey(x): a new ck and a new k. */
static int
peerhs_mix_key(struct peerhs *hs, uint8_t k[SC_KEY_BYTES], const void *x,
    size_t len)
{
	return (peerhs_expand(hs, x, len, k, NULL));
}

/* MixKey(DH(sk, pk)); an all-zero DH (a small-order key) fails. */
static int
peerhs_mix_dh(struct peerhs *hs, uint8_t k[SC_KEY_BYTES],
    const uint8_t *sk, const uint8_t pk[SC_KEY_BYTES])
{
	uint8_t	dh[SC_KEY_BYTES];
	int	rc = -1;

	if (sc_dh(dh, sk, pk) != 0)
		goto out;
	rc = peerhs_mix_key(hs, k, dh, sizeof(dh));
out:
	sc_wipe(dh, sizeof(dh));
	return (rc);
}

/* Sets up the symmetric state, the pre-messages and the pre-shared key. */
int
peerhs_init(struct peerhs *hs, int initiator, uint64_t pair_id,
    const char *name_i, const uint8_t pk_i[SC_KEY_BYTES], const char *name_r,
    const uint8_t pk_r[SC_KEY_BYTES], const uint8_t psk[SC_KEY_BYTES])
{
	struct sc_hash_part	part = { peerhs_name, sizeof(peerhs_name) - 1 };
	uint8_t			prologue[8 + 2 * (1 + SC_NAME_MAX)];
	uint8_t			t2[SC_KEY_BYTES], k[SC_KEY_BYTES];
	size_t			li, lr, n = 0;
	int			rc = -1;

	memset(hs, 0, sizeof(*hs));
	li = strnlen(name_i, SC_NAME_MAX + 1);
	lr = strnlen(name_r, SC_NAME_MAX + 1);
	if (!wire_name_valid(name_i, li) || !wire_name_valid(name_r, lr))
		return (-1);
	util_put_be64(prologue, pair_id);
	n = 8;
	prologue[n++] = (uint8_t)li;
	memcpy(prologue + n, name_i, li);
	n += li;
	prologue[n++] = (uint8_t)lr;
	memcpy(prologue + n, name_r, lr);
	n += lr;
	hs->initiator = initiator != 0;
	hs->pair_id = pair_id;
	memcpy(hs->peer_pk, initiator ? pk_r : pk_i, SC_KEY_BYTES);
	if (sc_hash(hs->h, NULL, &part, 1) != 0)
		goto out;
	memcpy(hs->ck, hs->h, SC_KEY_BYTES);
	if (peerhs_mix_hash(hs, prologue, n) != 0 ||
	    peerhs_mix_hash(hs, pk_i, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_hash(hs, pk_r, SC_KEY_BYTES) != 0)
		goto out;
	/* The psk token opens message 1 and needs nothing from it. */
	if (peerhs_expand(hs, psk, SC_KEY_BYTES, t2, k) != 0 ||
	    peerhs_mix_hash(hs, t2, sizeof(t2)) != 0)
		goto out;
	hs->state = PEERHS_READY;
	rc = 0;
out:
	sc_wipe(t2, sizeof(t2));
	sc_wipe(k, sizeof(k));
	if (rc != 0)
		peerhs_wipe(hs);
	return (rc);
}

/* EncryptAndHash of the empty payload: the tag goes to out. */
static int
peerhs_seal_tag(struct peerhs *hs, const uint8_t k[SC_KEY_BYTES],
    uint8_t out[SC_MAC_BYTES])
{
	if (sc_aead_seal(out, k, 0, hs->h, SC_KEY_BYTES, NULL, 0) != 0)
		return (-1);
	return (peerhs_mix_hash(hs, out, SC_MAC_BYTES));
}

/* DecryptAndHash of the empty payload: the tag must open. */
static int
peerhs_open_tag(struct peerhs *hs, const uint8_t k[SC_KEY_BYTES],
    const uint8_t tag[SC_MAC_BYTES])
{
	uint8_t	none[1];

	if (sc_aead_open(none, k, 0, hs->h, SC_KEY_BYTES, tag,
	    SC_MAC_BYTES) != 0)
		return (-1);
	return (peerhs_mix_hash(hs, tag, SC_MAC_BYTES));
}

/*
 * Split: t = BLAKE2b-256(key = ck, empty); KDF(t, 1) carries the
 * initiator's datagrams, KDF(t, 2) the responder's.
 */
static int
peerhs_split(const struct peerhs *hs, struct sc_pair_keys *keys)
{
	struct sc_hash_part	part = { NULL, 0 };
	uint8_t			t[SC_KEY_BYTES];
	uint8_t			i2r[SC_KEY_BYTES], r2i[SC_KEY_BYTES];
	int			rc = -1;

	if (sc_hash(t, hs->ck, &part, 1) != 0 ||
	    sc_kdf(i2r, t, 1, peerhs_ctx) != 0 ||
	    sc_kdf(r2i, t, 2, peerhs_ctx) != 0)
		goto out;
	memcpy(keys->tx, hs->initiator ? i2r : r2i, SC_KEY_BYTES);
	memcpy(keys->rx, hs->initiator ? r2i : i2r, SC_KEY_BYTES);
	rc = 0;
out:
	sc_wipe(t, sizeof(t));
	sc_wipe(i2r, sizeof(i2r));
	sc_wipe(r2i, sizeof(r2i));
	return (rc);
}

/* The ephemeral key pair: e_sk given, or a fresh one. */
static int
peerhs_ephemeral(uint8_t pk[SC_KEY_BYTES], uint8_t sk[SC_KEY_BYTES],
    const uint8_t *given)
{
	if (given == NULL)
		return (sc_dh_keypair(pk, sk));
	memcpy(sk, given, SC_KEY_BYTES);
	return (sc_dh_public(pk, sk));
}

/* The header of a handshake datagram. */
static void
peerhs_header(uint8_t out[PEERHS_LEN], uint8_t kind, uint64_t pair_id)
{
	out[0] = kind;
	util_put_be64(out + PEERHS_OFF_ID, pair_id);
}

/* INIT: psk (done), e, es, ss, and the tag. */
int
peerhs_write_init(struct peerhs *hs, uint8_t out[PEERHS_LEN],
    const uint8_t s_sk[SC_KEY_BYTES], const uint8_t *e_sk)
{
	struct peerhs	w;
	uint8_t		k[SC_KEY_BYTES];
	int		rc = -1;

	memset(k, 0, sizeof(k));
	if (!hs->initiator || hs->state != PEERHS_READY)
		return (-1);
	w = *hs;
	if (peerhs_ephemeral(w.e_pk, w.e_sk, e_sk) != 0)
		goto out;
	peerhs_header(out, SC_UDP_INIT, w.pair_id);
	memcpy(out + PEERHS_OFF_E, w.e_pk, SC_KEY_BYTES);
	if (peerhs_mix_hash(&w, w.e_pk, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_key(&w, k, w.e_pk, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_dh(&w, k, w.e_sk, w.peer_pk) != 0 ||
	    peerhs_mix_dh(&w, k, s_sk, w.peer_pk) != 0 ||
	    peerhs_seal_tag(&w, k, out + PEERHS_OFF_TAG) != 0)
		goto out;
	w.state = PEERHS_SENT;
	*hs = w;
	rc = 0;
out:
	sc_wipe(&w, sizeof(w));
	sc_wipe(k, sizeof(k));
	return (rc);
}

/* Tells whether in is a handshake datagram of kind for the pair. */
static int
peerhs_match(const struct peerhs *hs, const uint8_t *in, size_t len,
    uint8_t kind)
{
	uint8_t		got;
	uint64_t	id;

	return (peerhs_parse(in, len, &got, &id) == 0 && got == kind &&
	    id == hs->pair_id);
}

/*
 * The handshake is over: of the working state w only what the pair keeps
 * (its role, pair_id, the peer's key) stays in hs; the rest is wiped.
 */
static void
peerhs_done(struct peerhs *hs, const struct peerhs *w, int initiator)
{
	peerhs_wipe(hs);
	hs->initiator = initiator;
	hs->pair_id = w->pair_id;
	memcpy(hs->peer_pk, w->peer_pk, SC_KEY_BYTES);
	hs->state = PEERHS_DONE;
}

/* INIT in, RESP out: e, es, ss and the tag; then e, ee, se, a tag, Split. */
int
peerhs_read_init(struct peerhs *hs, struct sc_pair_keys *keys,
    uint8_t out[PEERHS_LEN], const uint8_t *in, size_t len,
    const uint8_t s_sk[SC_KEY_BYTES], const uint8_t *e_sk)
{
	struct peerhs	 r;
	const uint8_t	*e_i = in + PEERHS_OFF_E;
	uint8_t		 k[SC_KEY_BYTES];
	int		 rc = -1;

	memset(k, 0, sizeof(k));
	memset(&r, 0, sizeof(r));
	if (hs->initiator || hs->state != PEERHS_READY ||
	    !peerhs_match(hs, in, len, SC_UDP_INIT))
		return (-1);
	r = *hs;
	if (peerhs_mix_hash(&r, e_i, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_key(&r, k, e_i, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_dh(&r, k, s_sk, e_i) != 0 ||
	    peerhs_mix_dh(&r, k, s_sk, r.peer_pk) != 0 ||
	    peerhs_open_tag(&r, k, in + PEERHS_OFF_TAG) != 0)
		goto out;
	/* INIT opened: the answer, with a fresh ephemeral key. */
	if (peerhs_ephemeral(r.e_pk, r.e_sk, e_sk) != 0)
		goto out;
	peerhs_header(out, SC_UDP_RESP, r.pair_id);
	memcpy(out + PEERHS_OFF_E, r.e_pk, SC_KEY_BYTES);
	if (peerhs_mix_hash(&r, r.e_pk, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_key(&r, k, r.e_pk, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_dh(&r, k, r.e_sk, e_i) != 0 ||
	    peerhs_mix_dh(&r, k, r.e_sk, r.peer_pk) != 0 ||
	    peerhs_seal_tag(&r, k, out + PEERHS_OFF_TAG) != 0 ||
	    peerhs_split(&r, keys) != 0)
		goto out;
	peerhs_done(hs, &r, 0);
	rc = 0;
out:
	sc_wipe(&r, sizeof(r));
	sc_wipe(k, sizeof(k));
	return (rc);
}

/* RESP in: e, ee, se and the tag, then Split. */
int
peerhs_read_resp(struct peerhs *hs, struct sc_pair_keys *keys,
    const uint8_t *in, size_t len, const uint8_t s_sk[SC_KEY_BYTES])
{
	struct peerhs	 w;
	const uint8_t	*e_r = in + PEERHS_OFF_E;
	uint8_t		 k[SC_KEY_BYTES];
	int		 rc = -1;

	memset(k, 0, sizeof(k));
	memset(&w, 0, sizeof(w));
	if (!hs->initiator || hs->state != PEERHS_SENT ||
	    !peerhs_match(hs, in, len, SC_UDP_RESP))
		return (-1);
	w = *hs;
	if (peerhs_mix_hash(&w, e_r, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_key(&w, k, e_r, SC_KEY_BYTES) != 0 ||
	    peerhs_mix_dh(&w, k, w.e_sk, e_r) != 0 ||
	    peerhs_mix_dh(&w, k, s_sk, e_r) != 0 ||
	    peerhs_open_tag(&w, k, in + PEERHS_OFF_TAG) != 0 ||
	    peerhs_split(&w, keys) != 0)
		goto out;
	peerhs_done(hs, &w, 1);
	rc = 0;
out:
	sc_wipe(&w, sizeof(w));
	sc_wipe(k, sizeof(k));
	return (rc);
}

/* Wipes the state. */
void
peerhs_wipe(struct peerhs *hs)
{
	sc_wipe(hs, sizeof(*hs));
}

/* The kind and pair id of a datagram of the handshake's length. */
int
peerhs_parse(const uint8_t *in, size_t len, uint8_t *kind, uint64_t *pair_id)
{
	if (in == NULL || len != PEERHS_LEN ||
	    (in[0] != SC_UDP_INIT && in[0] != SC_UDP_RESP))
		return (-1);
	*kind = in[0];
	*pair_id = util_get_be64(in + PEERHS_OFF_ID);
	return (0);
}
