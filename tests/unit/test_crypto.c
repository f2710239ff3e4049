/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/common/crypto.c: the primitives the handshake is made
 * of, the channel of docs/protocol.md section 3, password hashing, pair keys
 * and peer datagrams (section 8), fingerprints, base64 and guarded memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"

#include "vectors.h"

/*
 * Two ends of a channel as a handshake leaves them: each side's send key is
 * the other's receive key, the two directions' keys differ, counters at 0.
 */
static void
channel_pair(struct sc_channel *cli, struct sc_channel *srv)
{
	memset(cli, 0, sizeof(*cli));
	memset(srv, 0, sizeof(*srv));
	sc_random(cli->tx_key, SC_KEY_BYTES);
	sc_random(cli->rx_key, SC_KEY_BYTES);
	memcpy(srv->rx_key, cli->tx_key, SC_KEY_BYTES);
	memcpy(srv->tx_key, cli->rx_key, SC_KEY_BYTES);
}

/* Both sides of X25519 agree; a small-order public key is refused. */
static void
test_dh_agrees_and_refuses_zero(void **state)
{
	uint8_t	a_pk[SC_KEY_BYTES], a_sk[SC_KEY_BYTES];
	uint8_t	b_pk[SC_KEY_BYTES], b_sk[SC_KEY_BYTES];
	uint8_t	ab[SC_KEY_BYTES], ba[SC_KEY_BYTES], zero[SC_KEY_BYTES];

	(void)state;
	memset(zero, 0, sizeof(zero));
	assert_int_equal(sc_dh_keypair(a_pk, a_sk), 0);
	assert_int_equal(sc_dh_keypair(b_pk, b_sk), 0);
	assert_memory_not_equal(a_pk, b_pk, SC_KEY_BYTES);
	assert_int_equal(sc_dh(ab, a_sk, b_pk), 0);
	assert_int_equal(sc_dh(ba, b_sk, a_pk), 0);
	assert_memory_equal(ab, ba, SC_KEY_BYTES);
	assert_memory_not_equal(ab, zero, SC_KEY_BYTES);
	assert_int_equal(sc_dh(ab, a_sk, zero), -1);
	/* The public half of a secret key is the one the pair was made with. */
	assert_int_equal(sc_dh_public(ba, a_sk), 0);
	assert_memory_equal(ba, a_pk, SC_KEY_BYTES);
}

/* The AEAD opens with its key, counter and associated data only. */
static void
test_aead_needs_key_counter_and_ad(void **state)
{
	uint8_t	key[SC_KEY_BYTES], c[5 + SC_MAC_BYTES], p[5];

	(void)state;
	sc_random(key, sizeof(key));
	assert_int_equal(sc_aead_seal(c, key, 7, (const uint8_t *)"ad", 2,
	    (const uint8_t *)"hello", 5), 0);
	assert_int_equal(sc_aead_open(p, key, 7, (const uint8_t *)"ad", 2, c,
	    sizeof(c)), 0);
	assert_memory_equal(p, "hello", 5);
	assert_int_equal(sc_aead_open(p, key, 8, (const uint8_t *)"ad", 2, c,
	    sizeof(c)), -1);
	assert_int_equal(sc_aead_open(p, key, 7, (const uint8_t *)"aD", 2, c,
	    sizeof(c)), -1);
	assert_int_equal(sc_aead_open(p, key, 7, NULL, 0, c, sizeof(c)), -1);
	assert_int_equal(sc_aead_open(p, key, 7, (const uint8_t *)"ad", 2, c,
	    SC_MAC_BYTES - 1), -1);
	key[0] ^= 1;
	assert_int_equal(sc_aead_open(p, key, 7, (const uint8_t *)"ad", 2, c,
	    sizeof(c)), -1);
}

/* A sealed box opens with its key pair only, and not once tampered with. */
static void
test_seal_opens_only_with_its_key_pair(void **state)
{
	struct sc_keypair	kp, other;
	uint8_t			box[5 + SC_SEAL_BYTES], p[5];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(sc_keypair_generate(&other), 0);
	assert_int_equal(sc_seal(box, (const uint8_t *)"hello", 5, kp.pk), 0);
	assert_int_equal(sc_seal_open(p, box, sizeof(box), &other), -1);
	assert_int_equal(sc_seal_open(p, box, sizeof(box) - 1, &kp), -1);
	assert_int_equal(sc_seal_open(p, box, SC_SEAL_BYTES - 1, &kp), -1);
	assert_int_equal(sc_seal_open(p, box, sizeof(box), NULL), -1);
	assert_int_equal(sc_seal_open(p, box, sizeof(box), &kp), 0);
	assert_memory_equal(p, "hello", 5);
	box[SC_SEAL_BYTES] ^= 0x80;
	assert_int_equal(sc_seal_open(p, box, sizeof(box), &kp), -1);
	sc_keypair_free(&kp);
	sc_keypair_free(&other);
}

/*
 * The stored messages' box (sc_box): a random nonce, then crypto_box_easy.
 * A box made by another implementation of NaCl's crypto_box (PyNaCl, keys
 * 0x11... and 0x22..., nonce 0..23) opens; one of ours opens with the
 * sender's public key only, and any flipped byte or a wrong key fails.
 */
static void
test_box_known_answer_round_trip_and_forgery(void **state)
{
	static const uint8_t	known[] =
	    "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"
	    "\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17"
	    "\x24\x2e\x26\x23\x18\x85\xcf\xd6\xad\x02\x7c\x67"
	    "\xea\x9e\x84\xc8\x5a\x27\xb2\x3d\xf5\x38\x51\x63"
	    "\x91\x06\x9e\x07\x7a\xfa\xd9\x11\x4e\xd5\x12\x74"
	    "\xb4\x3d\x01\x79\xa3\x86\x76\x09\x1d\x84\xaa";
	uint8_t	ska[SC_KEY_BYTES], skb[SC_KEY_BYTES], skc[SC_KEY_BYTES];
	uint8_t	pka[SC_KEY_BYTES], pkb[SC_KEY_BYTES], pkc[SC_KEY_BYTES];
	uint8_t	plain[32], out[32], box[32 + SC_BOX_BYTES];
	size_t	i;

	(void)state;
	memset(ska, 0x11, sizeof(ska));
	memset(skb, 0x22, sizeof(skb));
	memset(skc, 0x33, sizeof(skc));
	assert_int_equal(sc_dh_public(pka, ska), 0);
	assert_int_equal(sc_dh_public(pkb, skb), 0);
	assert_int_equal(sc_dh_public(pkc, skc), 0);
	assert_int_equal(sizeof(known) - 1, 31 + SC_BOX_BYTES);
	assert_int_equal(sc_box_open(out, known, sizeof(known) - 1, pka, skb),
	    0);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 0xab);
	assert_memory_equal(out + 25, "stored", 6);

	memset(plain, 0x5c, sizeof(plain));
	assert_int_equal(sc_box(box, plain, sizeof(plain), pkb, ska), 0);
	assert_int_equal(sc_box_open(out, box, sizeof(box), pka, skb), 0);
	assert_memory_equal(out, plain, sizeof(plain));
	/* Another sender's key, another recipient's: no. */
	assert_int_not_equal(sc_box_open(out, box, sizeof(box), pkc, skb), 0);
	assert_int_not_equal(sc_box_open(out, box, sizeof(box), pka, skc), 0);
	for (i = 0; i < sizeof(box); i++) {
		box[i] ^= 0x01;
		assert_int_not_equal(sc_box_open(out, box, sizeof(box), pka,
		    skb), 0);
		box[i] ^= 0x01;
	}
	assert_int_not_equal(sc_box_open(out, box, SC_BOX_BYTES - 1, pka, skb),
	    0);
	/* Two boxes of one text differ: the nonce is fresh. */
	memcpy(out, box, sizeof(out));
	assert_int_equal(sc_box(box, plain, sizeof(plain), pkb, ska), 0);
	assert_memory_not_equal(out, box, sizeof(out));
	sc_wipe(ska, sizeof(ska));
	sc_wipe(skb, sizeof(skb));
	sc_wipe(skc, sizeof(skc));
}

/* The hash of parts is the hash of their concatenation; a key changes it. */
static void
test_hash_of_parts_is_hash_of_the_whole(void **state)
{
	const struct sc_hash_part	whole[] = { { "sealchat/1", 10 } };
	const struct sc_hash_part	parts[] = { { "seal", 4 }, { "", 0 },
					    { "chat/1", 6 } };
	uint8_t				h1[SC_KEY_BYTES], h2[SC_KEY_BYTES];
	uint8_t				h3[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(sc_hash(h1, NULL, whole, 1), 0);
	assert_int_equal(sc_hash(h2, NULL, parts, 3), 0);
	assert_memory_equal(h1, h2, SC_KEY_BYTES);
	assert_int_equal(sc_hash(h2, kat_kxy, parts, 3), 0);
	assert_int_equal(sc_hash(h3, kat_kxy, whole, 1), 0);
	assert_memory_equal(h2, h3, SC_KEY_BYTES);
	assert_memory_not_equal(h1, h2, SC_KEY_BYTES);
}

/* The KDF gives the known subkeys of kat_kxy. */
static void
test_kdf_known_answer(void **state)
{
	uint8_t	k[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(sc_kdf(k, kat_kxy, 1, "SCphsv1_"), 0);
	assert_memory_equal(k, kat_kdf1, SC_KEY_BYTES);
	assert_int_equal(sc_kdf(k, kat_kxy, 2, "SCphsv1_"), 0);
	assert_memory_equal(k, kat_kdf2, SC_KEY_BYTES);
}

/* The server's secret key is not inherited by a forked child. */
static void
test_secret_key_reads_as_zero_in_a_child(void **state)
{
	struct sc_keypair	kp;
	uint8_t			zero[SC_KEY_BYTES];
	pid_t			pid;
	int			status;

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	memset(zero, 0, sizeof(zero));
	assert_memory_not_equal(kp.sk, zero, SC_KEY_BYTES);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(memcmp(kp.sk, zero, SC_KEY_BYTES) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_memory_not_equal(kp.sk, zero, SC_KEY_BYTES);
	sc_keypair_free(&kp);
}

/* One bit flipped anywhere in a frame makes it fail; rx_ctr stays put. */
static void
test_tampered_frame_rejected(void **state)
{
	struct sc_channel	cli, srv;
	uint8_t			f[64], bad[64], p[64];
	size_t			len = 5 + SC_MAC_BYTES, bit;

	(void)state;
	channel_pair(&cli, &srv);
	vectors_seal(&cli, f, "hello");
	for (bit = 0; bit < len * 8; bit++) {
		memcpy(bad, f, len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(sc_channel_open(&srv, p, bad, len), -1);
		assert_true(srv.rx_ctr == 0);
	}
	/* truncated or extended frames fail too */
	assert_int_equal(sc_channel_open(&srv, p, f, len - 1), -1);
	memcpy(bad, f, len);
	bad[len] = 0;
	assert_int_equal(sc_channel_open(&srv, p, bad, len + 1), -1);
	assert_true(srv.rx_ctr == 0);
	/* The failures did not move the counter: the real frame 0 opens. */
	assert_int_equal(sc_channel_open(&srv, p, f, len), 0);
	assert_memory_equal(p, "hello", 5);
	assert_true(srv.rx_ctr == 1);
}

/* A body shorter than a tag plus one byte is refused without a MAC check. */
static void
test_short_frame_rejected(void **state)
{
	struct sc_channel	cli, srv;
	uint8_t			f[64], p[64];
	size_t			len;

	(void)state;
	channel_pair(&cli, &srv);
	/* an empty message seals to a bare tag, which must not open */
	assert_int_equal(sc_channel_seal(&cli, f, (const uint8_t *)"", 0), 0);
	for (len = 0; len <= SC_MAC_BYTES; len++)
		assert_int_equal(sc_channel_open(&srv, p, f, len), -1);
	assert_true(srv.rx_ctr == 0);
}

/* A frame fed twice fails the second time. */
static void
test_replayed_frame_rejected(void **state)
{
	struct sc_channel	cli, srv;
	uint8_t			f[64], p[64];

	(void)state;
	channel_pair(&cli, &srv);
	vectors_seal(&cli, f, "ping");
	assert_int_equal(sc_channel_open(&srv, p, f, 4 + SC_MAC_BYTES), 0);
	assert_int_equal(sc_channel_open(&srv, p, f, 4 + SC_MAC_BYTES), -1);
	assert_true(srv.rx_ctr == 1);
}

/* Frames 0 and 1 delivered as 1, 0: the first to arrive fails. */
static void
test_reordered_frames_rejected(void **state)
{
	struct sc_channel	cli, srv;
	uint8_t			f0[64], f1[64], p[64];

	(void)state;
	channel_pair(&cli, &srv);
	vectors_seal(&cli, f0, "zero");
	vectors_seal(&cli, f1, "one!");
	assert_int_equal(sc_channel_open(&srv, p, f1, 4 + SC_MAC_BYTES), -1);
	/* delivered in order, both open */
	assert_int_equal(sc_channel_open(&srv, p, f0, 4 + SC_MAC_BYTES), 0);
	assert_int_equal(sc_channel_open(&srv, p, f1, 4 + SC_MAC_BYTES), 0);
	assert_memory_equal(p, "one!", 4);
}

/* Hash, verify, wrong password, bounds, and rehash when the cost changes. */
static void
test_pwhash_verify_and_rehash(void **state)
{
	char		h[SC_PWHASH_LEN], h2[SC_PWHASH_LEN],
			    junk[SC_PWHASH_LEN];
	uint8_t		big[SC_PASS_MAX + 1];
	const uint8_t	*pw = (const uint8_t *)"correct horse";

	(void)state;
	assert_int_equal(sc_pwhash(h, pw, 13, SC_COST_MIN), 0);
	assert_true(strncmp(h, "$argon2id$", 10) == 0);
	assert_int_equal(sc_pwhash_verify(h, pw, 13), 0);
	assert_int_equal(sc_pwhash_verify(h, pw, 12), -1);
	assert_int_equal(sc_pwhash_verify(h, (const uint8_t *)"Correct horse",
	    13), -1);
	/* a fresh salt every time */
	assert_int_equal(sc_pwhash(h2, pw, 13, SC_COST_MIN), 0);
	assert_string_not_equal(h, h2);
	assert_int_equal(sc_pwhash_verify(h2, pw, 13), 0);

	assert_int_equal(sc_pwhash_needs_rehash(h, SC_COST_MIN), 0);
	assert_int_equal(sc_pwhash_needs_rehash(h, SC_COST_INTERACTIVE), 1);
	assert_int_equal(sc_pwhash_needs_rehash(h, SC_COST_SENSITIVE), 1);

	/* passwords outside 1..SC_PASS_MAX are refused; the maximum works */
	memset(big, 'x', sizeof(big));
	assert_int_equal(sc_pwhash(h2, big, 0, SC_COST_MIN), -1);
	assert_int_equal(sc_pwhash(h2, big, SC_PASS_MAX + 1, SC_COST_MIN), -1);
	assert_int_equal(sc_pwhash(h2, big, SC_PASS_MAX, SC_COST_MIN), 0);
	assert_int_equal(sc_pwhash_verify(h2, big, SC_PASS_MAX), 0);
	assert_int_equal(sc_pwhash_verify(h2, big, SC_PASS_MAX + 1), -1);

	/* junk and unterminated hash strings never verify */
	memset(junk, 0, sizeof(junk));
	strcpy(junk, "$argon2id$v=19$m=8,t=1,p=1$garbage");
	assert_int_equal(sc_pwhash_verify(junk, pw, 13), -1);
	assert_int_equal(sc_pwhash_needs_rehash(junk, SC_COST_MIN), -1);
	memset(junk, 'a', sizeof(junk));
	assert_int_equal(sc_pwhash_verify(junk, pw, 13), -1);
	assert_int_equal(sc_pwhash_needs_rehash(junk, SC_COST_MIN), -1);
}

/* An INTERACTIVE hash needs no rehash at INTERACTIVE, one at MIN. */
static void
test_pwhash_interactive_cost(void **state)
{
	char		h[SC_PWHASH_LEN];
	const uint8_t	*pw = (const uint8_t *)"pw";

	(void)state;
	assert_int_equal(sc_pwhash(h, pw, 2, SC_COST_INTERACTIVE), 0);
	assert_int_equal(sc_pwhash_verify(h, pw, 2), 0);
	assert_int_equal(sc_pwhash_needs_rehash(h, SC_COST_INTERACTIVE), 0);
	assert_int_equal(sc_pwhash_needs_rehash(h, SC_COST_MIN), 1);
	assert_int_equal(sc_pwhash_needs_rehash(h, SC_COST_MODERATE), 1);
}

/* A datagram opens with the peer's receive key; the layout is known. */
static void
test_dgram_seal_open(void **state)
{
	struct sc_pair_keys	a, b;
	uint8_t			dg[SC_DGRAM_MAX + 1], p[SC_DGRAM_MAX];
	size_t			len = sizeof(kat_dgram);

	(void)state;
	memcpy(a.tx, kat_phs_i2r, SC_KEY_BYTES);
	memcpy(a.rx, kat_phs_r2i, SC_KEY_BYTES);
	memcpy(b.tx, kat_phs_r2i, SC_KEY_BYTES);
	memcpy(b.rx, kat_phs_i2r, SC_KEY_BYTES);
	assert_int_equal(sc_dgram_seal(dg, a.tx, 0x0102030405060708ULL,
	    0x100000002ULL, kat_dg_payload, sizeof(kat_dg_payload)), 0);
	assert_memory_equal(dg, kat_dgram, len);
	assert_int_equal(sc_dgram_open(p, b.rx, dg, len), 0);
	assert_memory_equal(p, kat_dg_payload, sizeof(kat_dg_payload));
	/* the sender's receive key, i.e. a reflected datagram, fails */
	assert_int_equal(sc_dgram_open(p, a.rx, dg, len), -1);
	/* the largest payload fits; one more byte is refused */
	memset(p, 'm', sizeof(p));
	assert_int_equal(sc_dgram_seal(dg, a.tx, 1, 2, p, SC_DGRAM_MAX -
	    SC_DGRAM_HDR - SC_MAC_BYTES), 0);
	assert_int_equal(sc_dgram_open(p, b.rx, dg, SC_DGRAM_MAX), 0);
	assert_int_equal(sc_dgram_seal(dg, a.tx, 1, 2, p, SC_DGRAM_MAX -
	    SC_DGRAM_HDR - SC_MAC_BYTES + 1), -1);
}

/* A flipped bit in the header (version, pair id, counter) or body fails. */
static void
test_dgram_tamper_rejected(void **state)
{
	struct sc_pair_keys	a, b;
	uint8_t			dg[64], bad[64], p[64];
	size_t			len = SC_DGRAM_HDR + 12 + SC_MAC_BYTES, bit;

	(void)state;
	memcpy(a.tx, kat_phs_i2r, SC_KEY_BYTES);
	memcpy(b.rx, kat_phs_i2r, SC_KEY_BYTES);
	assert_int_equal(sc_dgram_seal(dg, a.tx, 77, 5,
	    (const uint8_t *)"\x01\0\0\0\0\0\0\0\x01" "abc", 12), 0);
	for (bit = 0; bit < len * 8; bit++) {
		memcpy(bad, dg, len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(sc_dgram_open(p, b.rx, bad, len), -1);
	}
	assert_int_equal(sc_dgram_open(p, b.rx, dg, len - 1), -1);
	assert_int_equal(sc_dgram_open(p, b.rx, dg, SC_DGRAM_HDR +
	    SC_MAC_BYTES - 1), -1);
	assert_int_equal(sc_dgram_open(p, b.rx, dg, len), 0);
}

/* The fingerprint is "SHA256:" and 43 base64 characters, as ssh prints. */
static void
test_fingerprint_format(void **state)
{
	char		fpr[SC_FPR_LEN];
	const char	*b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		i;

	(void)state;
	sc_fingerprint(fpr, kat_S);
	assert_string_equal(fpr, kat_fpr);
	assert_int_equal(strlen(fpr), 7 + 43);
	assert_true(strncmp(fpr, "SHA256:", 7) == 0);
	for (i = 7; i < strlen(fpr); i++)
		assert_non_null(strchr(b64, fpr[i]));
}

/* base64 round trip; garbage, whitespace, bad padding and overflow fail. */
static void
test_base64(void **state)
{
	char		txt[64];
	uint8_t		bin[40];
	size_t		n;
	const char	*bad[] = { "!!!!", "AAA", "AA=A", "AAAA=", " AAAA",
			    "AAAA\n", "AB==", "A===", "AAAA====", "QUJD*" };
	size_t		i;

	(void)state;
	assert_int_equal(sc_b64_len(32), 45);
	sc_b64_encode(txt, sizeof(txt), kat_S, SC_KEY_BYTES);
	assert_int_equal(strlen(txt), 44);
	assert_int_equal(txt[43], '=');
	assert_int_equal(sc_b64_decode(bin, sizeof(bin), &n, txt, strlen(txt)),
	    0);
	assert_int_equal(n, SC_KEY_BYTES);
	assert_memory_equal(bin, kat_S, SC_KEY_BYTES);
	assert_int_equal(sc_b64_decode(bin, sizeof(bin), &n, "QUJD", 4), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(bin, "ABC", 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sc_b64_decode(bin, sizeof(bin), &n, bad[i],
		    strlen(bad[i])), -1);
	/* an embedded NUL is not base64 */
	assert_int_equal(sc_b64_decode(bin, sizeof(bin), &n, "QU\0D", 4), -1);
	/* output too small */
	assert_int_equal(sc_b64_decode(bin, 31, &n, txt, strlen(txt)), -1);
	/* encode into a buffer too small writes an empty string */
	sc_b64_encode(txt, 10, kat_S, SC_KEY_BYTES);
	assert_string_equal(txt, "");
}

/* Helpers: random, memeq, wipe, guarded memory. */
static void
test_helpers(void **state)
{
	uint8_t	a[32], b[32];
	uint8_t	*g;

	(void)state;
	sc_random(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(sc_memeq(a, b, sizeof(a)));
	b[31] ^= 1;
	assert_false(sc_memeq(a, b, sizeof(a)));
	sc_wipe(a, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_memory_equal(a, b, sizeof(a));
	assert_true(sc_random_u64() != sc_random_u64());
	assert_non_null(g = sc_secure_alloc(64));
	memset(g, 7, 64);
	assert_int_equal(sc_secure_readonly(g), 0);
	assert_int_equal(g[63], 7);
	sc_secure_free(g);
	sc_secure_free(NULL);
}

static void
test_register_known_answers_and_tampering(void **state)
{
	struct sc_reg_keys	rk;
	uint8_t			k[SC_KEY_BYTES], d[SC_REG_LEN];
	uint8_t			zero[SC_REG_PLAIN], plain[SC_REG_PLAIN];
	uint8_t			ep[SC_REG_PLAIN];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)i;
	memset(zero, 0, sizeof(zero));
	memset(ep, 0, sizeof(ep));
	ep[0] = SC_AF_INET;
	ep[1] = 203;
	ep[3] = 113;
	ep[4] = 7;
	ep[17] = 40000 >> 8;
	ep[18] = 40000 & 0xff;
	sc_reg_derive(&rk, k);
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTER, rk.c2s,
	    0x0102030405060708ULL, 5, zero), 0);
	assert_memory_equal(d, kat_register, SC_REG_LEN);
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTERED, rk.s2c,
	    0x0102030405060708ULL, 5, ep), 0);
	assert_memory_equal(d, kat_registered, SC_REG_LEN);

	assert_int_equal(sc_reg_open(plain, rk.c2s, kat_register,
	    SC_REG_LEN), 0);
	assert_memory_equal(plain, zero, SC_REG_PLAIN);
	assert_int_equal(sc_reg_open(plain, rk.s2c, kat_registered,
	    SC_REG_LEN), 0);
	assert_memory_equal(plain, ep, SC_REG_PLAIN);
	/* The other direction's key, a flipped bit anywhere, a wrong length. */
	assert_int_equal(sc_reg_open(plain, rk.s2c, kat_register,
	    SC_REG_LEN), -1);
	for (i = 0; i < SC_REG_LEN; i++) {
		memcpy(d, kat_register, SC_REG_LEN);
		d[i] ^= 0x04;
		assert_int_equal(sc_reg_open(plain, rk.c2s, d, SC_REG_LEN), -1);
	}
	assert_int_equal(sc_reg_open(plain, rk.c2s, kat_register,
	    SC_REG_LEN - 1), -1);
	assert_int_equal(sc_reg_seal(d, SC_DGRAM_VERSION, rk.c2s, 1, 1, zero),
	    -1);
	/* A peer datagram never opens as a registration, nor the reverse. */
	assert_int_equal(sc_dgram_open(plain, rk.c2s, kat_register,
	    SC_REG_LEN), -1);
}

/* Runs every test of this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_key_reads_as_zero_in_a_child),
		cmocka_unit_test(test_dh_agrees_and_refuses_zero),
		cmocka_unit_test(test_aead_needs_key_counter_and_ad),
		cmocka_unit_test(test_seal_opens_only_with_its_key_pair),
		cmocka_unit_test(test_hash_of_parts_is_hash_of_the_whole),
		cmocka_unit_test(test_box_known_answer_round_trip_and_forgery),
		cmocka_unit_test(test_kdf_known_answer),
		cmocka_unit_test(test_tampered_frame_rejected),
		cmocka_unit_test(test_short_frame_rejected),
		cmocka_unit_test(test_replayed_frame_rejected),
		cmocka_unit_test(test_reordered_frames_rejected),
		cmocka_unit_test(test_pwhash_verify_and_rehash),
		cmocka_unit_test(test_pwhash_interactive_cost),
		cmocka_unit_test(test_dgram_seal_open),
		cmocka_unit_test(test_dgram_tamper_rejected),
		cmocka_unit_test(test_register_known_answers_and_tampering),
		cmocka_unit_test(test_fingerprint_format),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_helpers),
	};

	return (cmocka_run_group_tests(tests, vectors_group_setup, NULL));
}
