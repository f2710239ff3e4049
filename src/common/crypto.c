/* SPDX-License-Identifier: ISC */
/*
 * Every libsodium call of the project: random bytes, wiping, guarded memory,
 * the server key pair, fingerprints, base64, the primitives the handshake of
 * docs/protocol.md section 2 is made of (src/common/handshake.c puts them
 * together, and src/common/peerhs.c the peers' of section 8.1), the
 * channel of section 3, password hashing, and the peer datagram seal of
 * section 8.  This is the only file that includes
 * sodium.h.
 */
#include <sys/mman.h>

#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "sealchat/crypto.h"
#include "sealchat/util.h"

_Static_assert(SC_KEY_BYTES == crypto_box_PUBLICKEYBYTES, "box pk size");
_Static_assert(SC_KEY_BYTES == crypto_box_SECRETKEYBYTES, "box sk size");
_Static_assert(SC_KEY_BYTES == crypto_scalarmult_BYTES, "x25519 size");
_Static_assert(SC_KEY_BYTES == crypto_scalarmult_SCALARBYTES, "scalar size");
_Static_assert(SC_KEY_BYTES == crypto_aead_chacha20poly1305_ietf_KEYBYTES,
    "aead key size");
_Static_assert(SC_MAC_BYTES == crypto_aead_chacha20poly1305_ietf_ABYTES,
    "aead tag size");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12,
    "aead nonce size");
_Static_assert(SC_SEAL_BYTES == crypto_box_SEALBYTES, "sealed box overhead");
_Static_assert(SC_BOX_NONCE_BYTES == crypto_box_NONCEBYTES, "box nonce size");
_Static_assert(SC_MAC_BYTES == crypto_box_MACBYTES, "box tag size");
_Static_assert(SC_KEY_BYTES == crypto_kdf_KEYBYTES, "kdf key size");
_Static_assert(crypto_kdf_CONTEXTBYTES == 8, "kdf context size");
_Static_assert(SC_KEY_BYTES == crypto_generichash_BYTES, "blake2b size");
_Static_assert(SC_KEY_BYTES <= crypto_generichash_KEYBYTES_MAX,
    "blake2b key size");
_Static_assert(crypto_hash_sha256_BYTES == 32, "sha256 size");
_Static_assert(SC_PWHASH_LEN == crypto_pwhash_STRBYTES, "pwhash string size");
_Static_assert(SC_FPR_LEN >= 7 + 43 + 1, "fingerprint buffer size");
_Static_assert(SC_HELLO_BODY == 1 + crypto_box_SEALBYTES + 2 * SC_KEY_BYTES,
    "hello size");

#define SC_NONCE_BYTES	crypto_aead_chacha20poly1305_ietf_NPUBBYTES

/* Initialises libsodium; safe to call more than once. */
int
sc_crypto_init(void)
{
	return (sodium_init() < 0 ? -1 : 0);
}

/* Fills buf with random bytes. */
void
sc_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

/* A random 64-bit number. */
uint64_t
sc_random_u64(void)
{
	uint64_t	v;

	randombytes_buf(&v, sizeof(v));
	return (v);
}

/* Zeroes memory in a way the compiler keeps. */
void
sc_wipe(void *buf, size_t len)
{
	sodium_memzero(buf, len);
}

/* Constant-time comparison; 1 when equal. */
int
sc_memeq(const void *a, const void *b, size_t len)
{
	return (sodium_memcmp(a, b, len) == 0);
}

/* Guarded allocation for secrets. */
void *
sc_secure_alloc(size_t len)
{
	return (sodium_malloc(len));
}

/* Wipes and frees guarded memory; NULL-safe. */
void
sc_secure_free(void *p)
{
	if (p != NULL)
		sodium_free(p);
}

/* Makes guarded memory read-only. */
int
sc_secure_readonly(void *p)
{
	return (sodium_mprotect_readonly(p) == 0 ? 0 : -1);
}

/*
 * Keeps the secret key out of child processes (the daemon forks its
 * password-hash helper): its pages read as zeros in a child.  Kernels
 * without MADV_WIPEONFORK (before 4.14) keep the default.
 */
static void
sc_keypair_nofork(struct sc_keypair *kp)
{
#ifdef MADV_WIPEONFORK
	long		pg = sysconf(_SC_PAGESIZE);
	uintptr_t	start, end;

	if (pg <= 0)
		return;
	start = (uintptr_t)kp->sk & ~((uintptr_t)pg - 1);
	end = ((uintptr_t)kp->sk + SC_KEY_BYTES + (uintptr_t)pg - 1) &
	    ~((uintptr_t)pg - 1);
	(void)madvise((void *)start, end - start, MADV_WIPEONFORK);
#else
	(void)kp;
#endif
}

/* Makes a fresh long-term X25519 key pair, the secret in guarded memory. */
int
sc_keypair_generate(struct sc_keypair *kp)
{
	memset(kp, 0, sizeof(*kp));
	if ((kp->sk = sodium_malloc(SC_KEY_BYTES)) == NULL)
		return (-1);
	sc_keypair_nofork(kp);
	if (crypto_box_keypair(kp->pk, kp->sk) != 0) {
		sc_keypair_free(kp);
		return (-1);
	}
	return (0);
}

/* Builds a key pair from a secret key: copies it, derives the public key. */
int
sc_keypair_from_sk(struct sc_keypair *kp, const uint8_t sk[SC_KEY_BYTES])
{
	memset(kp, 0, sizeof(*kp));
	if ((kp->sk = sodium_malloc(SC_KEY_BYTES)) == NULL)
		return (-1);
	sc_keypair_nofork(kp);
	memcpy(kp->sk, sk, SC_KEY_BYTES);
	if (crypto_scalarmult_base(kp->pk, kp->sk) != 0 ||
	    sodium_is_zero(kp->pk, SC_KEY_BYTES)) {
		sc_keypair_free(kp);
		return (-1);
	}
	return (0);
}

/* Wipes and frees a key pair; NULL-safe. */
void
sc_keypair_free(struct sc_keypair *kp)
{
	if (kp == NULL)
		return;
	sc_secure_free(kp->sk);	/* sodium_free wipes, even if read-only */
	memset(kp, 0, sizeof(*kp));
}

/* "SHA256:" then the unpadded base64 of SHA-256(pk). */
void
sc_fingerprint(char out[SC_FPR_LEN], const uint8_t pk[SC_KEY_BYTES])
{
	uint8_t	digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, pk, SC_KEY_BYTES);
	memcpy(out, "SHA256:", 7);
	sodium_bin2base64(out + 7, SC_FPR_LEN - 7, digest, sizeof(digest),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

/* Size of the padded base64 text of bin_len bytes, NUL included. */
size_t
sc_b64_len(size_t bin_len)
{
	return (sodium_base64_ENCODED_LEN(bin_len,
	    sodium_base64_VARIANT_ORIGINAL));
}

/* Padded base64; writes an empty string when out is too small. */
void
sc_b64_encode(char *out, size_t out_len, const uint8_t *in, size_t len)
{
	if (out_len == 0)
		return;
	if (out_len < sc_b64_len(len)) {
		out[0] = '\0';
		return;
	}
	sodium_bin2base64(out, out_len, in, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/*
 * Decodes padded base64.  The whole input must be base64: no whitespace, no
 * trailing bytes, no missing padding, no stray bits.
 */
int
sc_b64_decode(uint8_t *out, size_t out_max, size_t *out_len, const char *in,
    size_t len)
{
	size_t	n = 0;

	*out_len = 0;
	if (sodium_base642bin(out, out_max, in, len, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return (-1);
	*out_len = n;
	return (0);
}

/* Channel nonce: four zero bytes, then the counter little-endian. */
static void
sc_nonce(uint8_t nonce[SC_NONCE_BYTES], uint64_t ctr)
{
	size_t	i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(ctr >> (8 * i));
}

/*
 * Seals one frame body under the send key and the next send counter.  The
 * counter only moves on success and never wraps, so no nonce repeats.
 */
int
sc_channel_seal(struct sc_channel *ch, uint8_t *out, const uint8_t *in,
    size_t len)
{
	uint8_t			nonce[SC_NONCE_BYTES];
	unsigned long long	clen;

	if (ch->tx_ctr == UINT64_MAX)
		return (-1);
	sc_nonce(nonce, ch->tx_ctr);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in, len,
	    NULL, 0, NULL, nonce, ch->tx_key) != 0)
		return (-1);
	ch->tx_ctr++;
	return (0);
}

/*
 * Opens one frame body with the receive key and the counter expected next.
 * A frame carries at least a type byte.  rx_ctr moves only on success.
 */
int
sc_channel_open(struct sc_channel *ch, uint8_t *out, const uint8_t *in,
    size_t len)
{
	uint8_t			nonce[SC_NONCE_BYTES];
	unsigned long long	mlen;

	if (len < SC_MAC_BYTES + 1 || ch->rx_ctr == UINT64_MAX)
		return (-1);
	sc_nonce(nonce, ch->rx_ctr);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, len,
	    NULL, 0, nonce, ch->rx_key) != 0)
		return (-1);
	ch->rx_ctr++;
	return (0);
}

/* Wipes both keys and counters. */
void
sc_channel_wipe(struct sc_channel *ch)
{
	sodium_memzero(ch, sizeof(*ch));
}

/* A fresh X25519 key pair. */
int
sc_dh_keypair(uint8_t pk[SC_KEY_BYTES], uint8_t sk[SC_KEY_BYTES])
{
	return (crypto_box_keypair(pk, sk) != 0 ? -1 : 0);
}

/* X25519 of a secret and a public key; an all-zero result is refused. */
int
sc_dh(uint8_t out[SC_KEY_BYTES], const uint8_t sk[SC_KEY_BYTES],
    const uint8_t pk[SC_KEY_BYTES])
{
	if (crypto_scalarmult(out, sk, pk) != 0 ||
	    sodium_is_zero(out, SC_KEY_BYTES))
		return (-1);
	return (0);
}

/* The public half of an X25519 secret key. */
int
sc_dh_public(uint8_t pk[SC_KEY_BYTES], const uint8_t sk[SC_KEY_BYTES])
{
	if (crypto_scalarmult_base(pk, sk) != 0 ||
	    sodium_is_zero(pk, SC_KEY_BYTES))
		return (-1);
	return (0);
}

/* Seals len bytes to pk with an anonymous ephemeral key. */
int
sc_seal(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t pk[SC_KEY_BYTES])
{
	return (crypto_box_seal(out, in, len, pk) != 0 ? -1 : 0);
}

/* Opens a sealed box addressed to the key pair. */
int
sc_seal_open(uint8_t *out, const uint8_t *in, size_t len,
    const struct sc_keypair *kp)
{
	if (kp == NULL || kp->sk == NULL || len < SC_SEAL_BYTES)
		return (-1);
	if (crypto_box_seal_open(out, in, len, kp->pk, kp->sk) != 0)
		return (-1);
	return (0);
}

/*
 * An authenticated box from a key pair to a public key: a random nonce,
 * then crypto_box_easy of in.  The recipient opens it with the sender's
 * public key and so learns who sent it.
 */
int
sc_box(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t pk[SC_KEY_BYTES], const uint8_t sk[SC_KEY_BYTES])
{
	sc_random(out, crypto_box_NONCEBYTES);
	if (crypto_box_easy(out + crypto_box_NONCEBYTES, in, len, out, pk,
	    sk) != 0)
		return (-1);
	return (0);
}

/* Opens a box of sc_box() from pk with sk; fails on any forgery. */
int
sc_box_open(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t pk[SC_KEY_BYTES], const uint8_t sk[SC_KEY_BYTES])
{
	if (len < SC_BOX_BYTES)
		return (-1);
	if (crypto_box_open_easy(out, in + crypto_box_NONCEBYTES,
	    len - crypto_box_NONCEBYTES, in, pk, sk) != 0)
		return (-1);
	return (0);
}

/* BLAKE2b-256 of the parts, keyed or not; the state is wiped after use. */
int
sc_hash(uint8_t out[SC_KEY_BYTES], const uint8_t *key,
    const struct sc_hash_part *parts, size_t nparts)
{
	crypto_generichash_state	st;
	size_t				i;
	int				rc = -1;

	if (crypto_generichash_init(&st, key, key != NULL ? SC_KEY_BYTES : 0,
	    SC_KEY_BYTES) != 0)
		goto out;
	for (i = 0; i < nparts; i++) {
		if (crypto_generichash_update(&st, parts[i].p,
		    parts[i].len) != 0)
			goto out;
	}
	if (crypto_generichash_final(&st, out, SC_KEY_BYTES) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(&st, sizeof(st));
	return (rc);
}

/* One subkey of key. */
int
sc_kdf(uint8_t out[SC_KEY_BYTES], const uint8_t key[SC_KEY_BYTES],
    uint64_t id, const char ctx[8])
{
	if (crypto_kdf_derive_from_key(out, SC_KEY_BYTES, id, ctx, key) != 0)
		return (-1);
	return (0);
}

/* AEAD with an explicit counter nonce and associated data. */
int
sc_aead_seal(uint8_t *out, const uint8_t key[SC_KEY_BYTES], uint64_t counter,
    const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len)
{
	uint8_t			nonce[SC_NONCE_BYTES];
	unsigned long long	clen;

	sc_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in, len, ad,
	    adlen, NULL, nonce, key) != 0)
		return (-1);
	return (0);
}

/* Opens what sc_aead_seal() made; fails on any change. */
int
sc_aead_open(uint8_t *out, const uint8_t key[SC_KEY_BYTES], uint64_t counter,
    const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len)
{
	uint8_t			nonce[SC_NONCE_BYTES];
	unsigned long long	mlen;

	if (len < SC_MAC_BYTES)
		return (-1);
	sc_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, len,
	    ad, adlen, nonce, key) != 0)
		return (-1);
	return (0);
}

/* argon2id limits of a cost level; -1 for an unknown level. */
static int
sc_cost_limits(enum sc_cost cost, unsigned long long *ops, size_t *mem)
{
	switch (cost) {
	case SC_COST_MIN:
		*ops = crypto_pwhash_OPSLIMIT_MIN;
		*mem = crypto_pwhash_MEMLIMIT_MIN;
		return (0);
	case SC_COST_INTERACTIVE:
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		return (0);
	case SC_COST_MODERATE:
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
		return (0);
	case SC_COST_SENSITIVE:
		*ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
		*mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
		return (0);
	}
	return (-1);
}

/* True when hash is a NUL-terminated string inside its buffer. */
static int
sc_pwhash_terminated(const char hash[SC_PWHASH_LEN])
{
	return (memchr(hash, '\0', SC_PWHASH_LEN) != NULL);
}

/* Hashes a password (1 to SC_PASS_MAX bytes) with a fresh salt. */
int
sc_pwhash(char out[SC_PWHASH_LEN], const uint8_t *pass, size_t len,
    enum sc_cost cost)
{
	unsigned long long	ops;
	size_t			mem;

	memset(out, 0, SC_PWHASH_LEN);
	if (len < SC_PASS_MIN || len > SC_PASS_MAX)
		return (-1);
	if (sc_cost_limits(cost, &ops, &mem) != 0)
		return (-1);
	if (crypto_pwhash_str(out, (const char *)pass, len, ops, mem) != 0) {
		memset(out, 0, SC_PWHASH_LEN);
		return (-1);
	}
	return (0);
}

/* 0 when pass matches the stored hash. */
int
sc_pwhash_verify(const char hash[SC_PWHASH_LEN], const uint8_t *pass,
    size_t len)
{
	if (len < SC_PASS_MIN || len > SC_PASS_MAX)
		return (-1);
	if (!sc_pwhash_terminated(hash))
		return (-1);
	if (crypto_pwhash_str_verify(hash, (const char *)pass, len) != 0)
		return (-1);
	return (0);
}

/*
 * 1 when the hash was made with other limits than cost's, 0 when not, -1
 * when it is not a valid argon2id hash string (which also calls for a new
 * hash).
 */
int
sc_pwhash_needs_rehash(const char hash[SC_PWHASH_LEN], enum sc_cost cost)
{
	unsigned long long	ops;
	size_t			mem;
	int			r;

	if (!sc_pwhash_terminated(hash) ||
	    sc_cost_limits(cost, &ops, &mem) != 0)
		return (-1);
	r = crypto_pwhash_str_needs_rehash(hash, ops, mem);
	return (r < 0 ? -1 : (r > 0 ? 1 : 0));
}

/*
 * Seals a UDP datagram of the shape every kind shares: byte 0 says what it
 * is, then an id and the sender's counter (big-endian), all three in clear
 * and the AEAD's associated data; the counter is the nonce.
 */
static int
sc_udp_seal(uint8_t *out, uint8_t first, const uint8_t key[SC_KEY_BYTES],
    uint64_t id, uint64_t counter, const uint8_t *in, size_t len)
{
	uint8_t			nonce[SC_NONCE_BYTES];
	unsigned long long	clen;

	out[0] = first;
	util_put_be64(out + 1, id);
	util_put_be64(out + 9, counter);
	sc_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out + SC_DGRAM_HDR, &clen,
	    in, len, out, SC_DGRAM_HDR, NULL, nonce, key) != 0)
		return (-1);
	return (0);
}

/*
 * Opens the body of a UDP datagram of that shape into out (len -
 * SC_DGRAM_HDR - SC_MAC_BYTES bytes).  Any change to the header or the body
 * makes it fail.
 */
static int
sc_udp_open(uint8_t *out, const uint8_t key[SC_KEY_BYTES],
    const uint8_t *dgram, size_t len)
{
	uint8_t			nonce[SC_NONCE_BYTES];
	unsigned long long	mlen;

	if (len < SC_DGRAM_HDR + SC_MAC_BYTES)
		return (-1);
	sc_nonce(nonce, util_get_be64(dgram + 9));
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL,
	    dgram + SC_DGRAM_HDR, len - SC_DGRAM_HDR, dgram, SC_DGRAM_HDR,
	    nonce, key) != 0)
		return (-1);
	return (0);
}

/* Seals a peer datagram (docs/protocol.md, section 8). */
int
sc_dgram_seal(uint8_t *out, const uint8_t tx[SC_KEY_BYTES], uint64_t pair_id,
    uint64_t counter, const uint8_t *in, size_t len)
{
	if (len > SC_DGRAM_MAX - SC_DGRAM_HDR - SC_MAC_BYTES)
		return (-1);
	return (sc_udp_seal(out, SC_DGRAM_VERSION, tx, pair_id, counter, in,
	    len));
}

/* Opens a peer datagram's payload, taking the counter from its header. */
int
sc_dgram_open(uint8_t *out, const uint8_t rx[SC_KEY_BYTES],
    const uint8_t *dgram, size_t len)
{
	if (len < SC_DGRAM_HDR + SC_MAC_BYTES || len > SC_DGRAM_MAX ||
	    dgram[0] != SC_DGRAM_VERSION)
		return (-1);
	return (sc_udp_open(out, rx, dgram, len));
}

/* The two registration keys of a UDPREG key: client to server, and back. */
void
sc_reg_derive(struct sc_reg_keys *rk, const uint8_t k_reg[SC_KEY_BYTES])
{
	if (sc_kdf(rk->c2s, k_reg, 1, SC_REG_KDF_CTX) != 0 ||
	    sc_kdf(rk->s2c, k_reg, 2, SC_REG_KDF_CTX) != 0) {
		/* Cannot happen (sizes are fixed); fail closed all the same. */
		randombytes_buf(rk->c2s, SC_KEY_BYTES);
		randombytes_buf(rk->s2c, SC_KEY_BYTES);
	}
}

/* Seals a REGISTER or REGISTERED datagram (SC_REG_LEN bytes). */
int
sc_reg_seal(uint8_t out[SC_REG_LEN], uint8_t first,
    const uint8_t key[SC_KEY_BYTES], uint64_t reg_id, uint64_t counter,
    const uint8_t plain[SC_REG_PLAIN])
{
	if (first != SC_UDP_REGISTER && first != SC_UDP_REGISTERED)
		return (-1);
	return (sc_udp_seal(out, first, key, reg_id, counter, plain,
	    SC_REG_PLAIN));
}

/* Opens a REGISTER or REGISTERED datagram of exactly SC_REG_LEN bytes. */
int
sc_reg_open(uint8_t plain[SC_REG_PLAIN], const uint8_t key[SC_KEY_BYTES],
    const uint8_t *dgram, size_t len)
{
	if (len != SC_REG_LEN || (dgram[0] != SC_UDP_REGISTER &&
	    dgram[0] != SC_UDP_REGISTERED))
		return (-1);
	return (sc_udp_open(plain, key, dgram, len));
}
