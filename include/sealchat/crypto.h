/* SPDX-License-Identifier: ISC */
/*
 * Every use of libsodium goes through this header; src/common/crypto.c is the
 * only file that includes <sodium.h>.  Outputs come first, sizes are named
 * constants, and every result that can fail must be checked.
 */
#ifndef SEALCHAT_CRYPTO_H
#define SEALCHAT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "sealchat/proto.h"

#define SC_WUR	__attribute__((warn_unused_result))

/* Calls sodium_init(); 0 on success. */
int	sc_crypto_init(void) SC_WUR;

void	sc_random(void *, size_t);
uint64_t sc_random_u64(void);
void	sc_wipe(void *, size_t);		/* sodium_memzero */
int	sc_memeq(const void *, const void *, size_t) SC_WUR; /* 1 if equal */
void	*sc_secure_alloc(size_t);		/* sodium_malloc */
void	sc_secure_free(void *);			/* sodium_free, NULL-safe */
int	sc_secure_readonly(void *) SC_WUR;	/* sodium_mprotect_readonly */

/* The server's long-term X25519 key pair. sk lives in guarded memory. */
struct sc_keypair {
	uint8_t	 pk[SC_KEY_BYTES];
	uint8_t	*sk;		/* sc_secure_alloc(SC_KEY_BYTES) */
};

int	sc_keypair_generate(struct sc_keypair *) SC_WUR;
int	sc_keypair_from_sk(struct sc_keypair *, const uint8_t sk[SC_KEY_BYTES])
	    SC_WUR;	/* derives pk; copies sk to guarded memory */
void	sc_keypair_free(struct sc_keypair *);	/* wipes; NULL-safe */

/* "SHA256:" + unpadded base64 of SHA-256(pk), as ssh prints. */
void	sc_fingerprint(char out[SC_FPR_LEN], const uint8_t pk[SC_KEY_BYTES]);

/* Standard base64 with padding (sodium_base64_VARIANT_ORIGINAL). */
size_t	sc_b64_len(size_t bin_len);		/* incl. the NUL */
void	sc_b64_encode(char *out, size_t out_len, const uint8_t *, size_t);
int	sc_b64_decode(uint8_t *out, size_t out_max, size_t *out_len,
	    const char *, size_t) SC_WUR; /* rejects anything not base64 */

/*
 * Secure channel: one AEAD key and one frame counter per direction.  The
 * nonce is four zero bytes then the counter, little-endian; the counter never
 * repeats and is never sent.  A frame that fails to open ends the session.
 */
struct sc_channel {
	uint8_t		tx_key[SC_KEY_BYTES];
	uint8_t		rx_key[SC_KEY_BYTES];
	uint64_t	tx_ctr;
	uint64_t	rx_ctr;
};

/* out must hold len + SC_MAC_BYTES. */
int	sc_channel_seal(struct sc_channel *, uint8_t *out, const uint8_t *in,
	    size_t len) SC_WUR;
/* out must hold len - SC_MAC_BYTES; fails (and keeps rx_ctr) on any forgery. */
int	sc_channel_open(struct sc_channel *, uint8_t *out, const uint8_t *in,
	    size_t len) SC_WUR;
void	sc_channel_wipe(struct sc_channel *);

/*
 * The primitives of the handshake (include/sealchat/handshake.h builds
 * HELLO, CONFIRM and the channel keys from them).
 */
/* A fresh X25519 key pair (crypto_box_keypair). */
int	sc_dh_keypair(uint8_t pk[SC_KEY_BYTES], uint8_t sk[SC_KEY_BYTES])
	    SC_WUR;
/* X25519(sk, pk); fails on an all-zero result (a small-order pk). */
int	sc_dh(uint8_t out[SC_KEY_BYTES], const uint8_t sk[SC_KEY_BYTES],
	    const uint8_t pk[SC_KEY_BYTES]) SC_WUR;
/* The public key of an X25519 secret key (crypto_scalarmult_base). */
int	sc_dh_public(uint8_t pk[SC_KEY_BYTES], const uint8_t sk[SC_KEY_BYTES])
	    SC_WUR;
/* Sealed box of len bytes to pk; out holds len + SC_SEAL_BYTES. */
int	sc_seal(uint8_t *out, const uint8_t *in, size_t len,
	    const uint8_t pk[SC_KEY_BYTES]) SC_WUR;
/* Opens a sealed box with the key pair; out holds len - SC_SEAL_BYTES. */
int	sc_seal_open(uint8_t *out, const uint8_t *in, size_t len,
	    const struct sc_keypair *) SC_WUR;

/*
 * Authenticated boxes between two X25519 key pairs (crypto_box_easy): the
 * stored messages, from the sender's identity key to the recipient's.  A
 * box is a random nonce, then the ciphertext with its tag: SC_BOX_BYTES
 * more than the plaintext.
 */
#define SC_BOX_BYTES	(SC_BOX_NONCE_BYTES + SC_MAC_BYTES)
/* out holds len + SC_BOX_BYTES; pk is the recipient's, sk the sender's. */
int	sc_box(uint8_t *out, const uint8_t *in, size_t len,
	    const uint8_t pk[SC_KEY_BYTES], const uint8_t sk[SC_KEY_BYTES])
	    SC_WUR;
/* out holds len - SC_BOX_BYTES; pk is the sender's, sk the recipient's. */
int	sc_box_open(uint8_t *out, const uint8_t *in, size_t len,
	    const uint8_t pk[SC_KEY_BYTES], const uint8_t sk[SC_KEY_BYTES])
	    SC_WUR;

/* One piece of a hashed message. */
struct sc_hash_part {
	const void	*p;
	size_t		 len;
};

/*
 * BLAKE2b-256 of the parts back to back (crypto_generichash), keyed with
 * the SC_KEY_BYTES of key unless key is NULL.
 */
int	sc_hash(uint8_t out[SC_KEY_BYTES], const uint8_t *key,
	    const struct sc_hash_part *, size_t nparts) SC_WUR;
/* Subkey id of key in the 8-byte context ctx (crypto_kdf_derive_from_key). */
int	sc_kdf(uint8_t out[SC_KEY_BYTES], const uint8_t key[SC_KEY_BYTES],
	    uint64_t id, const char ctx[8]) SC_WUR;

/*
 * ChaCha20-Poly1305-IETF under key with the nonce of counter (four zero
 * bytes, then the counter little-endian) and ad as associated data: the
 * AEAD of the channel and the datagrams, for the peers' handshake
 * (src/common/peerhs.c), which never uses a key twice.  out holds len +
 * SC_MAC_BYTES, or len - SC_MAC_BYTES when opening; in may be empty.
 */
int	sc_aead_seal(uint8_t *out, const uint8_t key[SC_KEY_BYTES],
	    uint64_t counter, const uint8_t *ad, size_t adlen,
	    const uint8_t *in, size_t len) SC_WUR;
int	sc_aead_open(uint8_t *out, const uint8_t key[SC_KEY_BYTES],
	    uint64_t counter, const uint8_t *ad, size_t adlen,
	    const uint8_t *in, size_t len) SC_WUR;

/* Passwords: argon2id via crypto_pwhash_str. */
#define SC_PWHASH_LEN	128	/* crypto_pwhash_STRBYTES */

enum sc_cost {
	SC_COST_MIN = 0,	/* tests and benchmarks only */
	SC_COST_INTERACTIVE,	/* default */
	SC_COST_MODERATE,
	SC_COST_SENSITIVE,
};

int	sc_pwhash(char out[SC_PWHASH_LEN], const uint8_t *pass, size_t len,
	    enum sc_cost) SC_WUR;
int	sc_pwhash_verify(const char hash[SC_PWHASH_LEN], const uint8_t *pass,
	    size_t len) SC_WUR;		/* 0 when it matches */
int	sc_pwhash_needs_rehash(const char hash[SC_PWHASH_LEN], enum sc_cost);

/*
 * Peer datagrams.  A pair's two keys, one per direction, come out of the
 * peers' own handshake (include/sealchat/peerhs.h); a user talking to
 * itself uses one random key both ways.
 */
struct sc_pair_keys {
	uint8_t	tx[SC_KEY_BYTES];
	uint8_t	rx[SC_KEY_BYTES];
};

/*
 * Seals a datagram: header (version, pair id, counter) in clear and
 * authenticated, payload encrypted.  out must hold SC_DGRAM_HDR + len +
 * SC_MAC_BYTES.
 */
int	sc_dgram_seal(uint8_t *out, const uint8_t tx[SC_KEY_BYTES],
	    uint64_t pair_id, uint64_t counter, const uint8_t *in, size_t len)
	    SC_WUR;
/* Opens the payload of a datagram whose header was parsed by the caller. */
int	sc_dgram_open(uint8_t *out, const uint8_t rx[SC_KEY_BYTES],
	    const uint8_t *dgram, size_t len) SC_WUR;


/*
 * UDP endpoint registration (docs/protocol.md, section 9).  The 32-byte
 * key of a UDPREG gives one key per direction through crypto_kdf with the
 * context "SCregv1_"; REGISTER and REGISTERED have the peer datagram's
 * shape (byte 0, u64 reg_id, u64 counter in clear and authenticated) with
 * SC_REG_PLAIN sealed bytes, SC_REG_LEN in all.
 */
#define SC_REG_KDF_CTX	"SCregv1_"

struct sc_reg_keys {
	uint8_t	c2s[SC_KEY_BYTES];	/* REGISTER */
	uint8_t	s2c[SC_KEY_BYTES];	/* REGISTERED */
};

void	sc_reg_derive(struct sc_reg_keys *, const uint8_t k_reg[SC_KEY_BYTES]);
/* first is SC_UDP_REGISTER or SC_UDP_REGISTERED. */
int	sc_reg_seal(uint8_t out[SC_REG_LEN], uint8_t first,
	    const uint8_t key[SC_KEY_BYTES], uint64_t reg_id, uint64_t counter,
	    const uint8_t plain[SC_REG_PLAIN]) SC_WUR;
/* Refuses any other length or first byte; the caller reads the header. */
int	sc_reg_open(uint8_t plain[SC_REG_PLAIN],
	    const uint8_t key[SC_KEY_BYTES], const uint8_t *dgram,
	    size_t len) SC_WUR;
#endif
