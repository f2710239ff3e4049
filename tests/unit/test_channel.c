/*
 * Unit tests of src/common/crypto.c: the handshake and the channel of
 * docs/protocol.md sections 2 and 3, password hashing, pair keys and peer
 * datagrams (section 8), fingerprints and base64.
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

/*
 * Known answers, computed independently of this code with Python (hashlib's
 * BLAKE2b and SHA-256, PyNaCl's X25519, sealed box and ChaCha20-Poly1305)
 * straight from docs/protocol.md:
 *   S = X25519_base(kat_s); E_s = X25519_base(e_s); dh = X25519(kat_e_c, E_s)
 *   kat_hello = 0x01 || crypto_box_seal(kat_k || X25519_base(kat_e_c), S)
 *   h = BLAKE2b-256("sealchat/1 handshake" || S || kat_hello || E_s)
 *   master = BLAKE2b-256(key = kat_k, dh || h)
 *   kat_c2s / kat_s2c = BLAKE2b-256(key = master, salt = id LE || 0^8,
 *       personal = "SCchanv1" || 0^8, empty message) with id 1 / 2
 *   kat_ping_f0/f1 = kat_ping sealed with kat_c2s, counters 0 and 1
 *   kat_welcome_f0 = kat_welcome sealed with kat_s2c, counter 0
 *   kat_klow / kat_khigh = the same KDF over kat_kxy, "SCpeerv1", ids 1 / 2
 *   kat_dgram = 0x01 || pair id 0x0102030405060708 || counter 0x100000002
 *       || ChaCha20-Poly1305-IETF(kat_klow, ad = the 17 header bytes)
 *   kat_fpr = "SHA256:" + unpadded base64(SHA-256(S))
 */

static const uint8_t kat_s[32] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
};
static const uint8_t kat_S[32] = {
	0x07, 0xa3, 0x7c, 0xbc, 0x14, 0x20, 0x93, 0xc8, 0xb7, 0x55, 0xdc, 0x1b,
	0x10, 0xe8, 0x6c, 0xb4, 0x26, 0x37, 0x4a, 0xd1, 0x6a, 0xa8, 0x53, 0xed,
	0x0b, 0xdf, 0xc0, 0xb2, 0xb8, 0x6d, 0x1c, 0x7c,
};
static const uint8_t kat_k[32] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
	0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
	0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
};
static const uint8_t kat_e_c[32] = {
	0x03, 0x0a, 0x11, 0x18, 0x1f, 0x26, 0x2d, 0x34, 0x3b, 0x42, 0x49, 0x50,
	0x57, 0x5e, 0x65, 0x6c, 0x73, 0x7a, 0x81, 0x88, 0x8f, 0x96, 0x9d, 0xa4,
	0xab, 0xb2, 0xb9, 0xc0, 0xc7, 0xce, 0xd5, 0xdc,
};
static const uint8_t kat_E_s[32] = {
	0xc2, 0x5e, 0x8b, 0x84, 0x37, 0x8b, 0x21, 0x07, 0x1d, 0x60, 0x3d, 0xfc,
	0xe3, 0xf9, 0x47, 0xb1, 0x62, 0xb6, 0xe7, 0x15, 0x24, 0x03, 0x44, 0xdb,
	0x0a, 0x18, 0xd9, 0x92, 0x59, 0xa6, 0xde, 0x23,
};
static const uint8_t kat_hello[113] = {
	0x01, 0xbd, 0xda, 0x71, 0x9c, 0x62, 0x87, 0x92, 0x70, 0xec, 0xd7, 0x53,
	0xee, 0x43, 0xc0, 0xa5, 0x85, 0x02, 0x42, 0x54, 0x79, 0x86, 0x09, 0xf1,
	0xa6, 0xcf, 0xe1, 0xcc, 0x49, 0x20, 0x2d, 0x7b, 0x04, 0xa9, 0x7d, 0x9f,
	0x57, 0x20, 0x28, 0x8e, 0x27, 0x56, 0x6b, 0xc3, 0x31, 0x2e, 0x0c, 0x1a,
	0xfa, 0xfd, 0x6b, 0xba, 0x3e, 0x0a, 0xf5, 0xf9, 0x52, 0x1f, 0x83, 0xfb,
	0x08, 0x61, 0x82, 0x32, 0x0f, 0x31, 0x82, 0x83, 0x94, 0xab, 0x13, 0xaa,
	0x80, 0xf7, 0x9b, 0xcf, 0xde, 0xd3, 0x5e, 0x3d, 0x9a, 0x17, 0xec, 0x43,
	0x98, 0xb4, 0x25, 0x06, 0xb2, 0xdc, 0x3a, 0x72, 0x5e, 0x54, 0xc5, 0x82,
	0x97, 0x3c, 0x2f, 0x35, 0x48, 0xac, 0x7d, 0xa5, 0x98, 0xe0, 0x56, 0x86,
	0x29, 0x8a, 0x6c, 0x6c, 0xe7,
};
static const uint8_t kat_c2s[32] = {
	0x03, 0xe7, 0x4c, 0xa0, 0x1e, 0xe0, 0x1f, 0x4e, 0x75, 0x49, 0xe5, 0x2c,
	0xfc, 0x3d, 0x79, 0xc3, 0x03, 0x93, 0x72, 0x64, 0xba, 0xae, 0x3a, 0x7a,
	0x8c, 0x6c, 0xc7, 0x02, 0x82, 0x3e, 0x54, 0xfd,
};
static const uint8_t kat_s2c[32] = {
	0x7d, 0xd8, 0x2c, 0x28, 0x99, 0x16, 0x1a, 0x88, 0xd2, 0x82, 0x28, 0x15,
	0xc7, 0xa5, 0xc8, 0xca, 0x90, 0x9a, 0x1f, 0xdf, 0x24, 0x5b, 0xc2, 0x34,
	0xa7, 0xe1, 0x48, 0x78, 0xdf, 0x10, 0xa1, 0xa8,
};
static const uint8_t kat_ping[9] = {
	0x06, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
};
static const uint8_t kat_ping_f0[25] = {
	0x8d, 0x27, 0x1c, 0x50, 0xd7, 0x7f, 0x3a, 0x00, 0x0b, 0xbf, 0xb6, 0x60,
	0x6a, 0x58, 0x53, 0x99, 0xb8, 0x61, 0x35, 0xf6, 0x80, 0x70, 0x64, 0xd6,
	0xa0,
};
static const uint8_t kat_ping_f1[25] = {
	0xd6, 0x95, 0x6e, 0x28, 0x88, 0xf1, 0xe8, 0xbe, 0xc6, 0xd8, 0x0d, 0x52,
	0xa0, 0xfc, 0xab, 0x9d, 0xb7, 0x87, 0x5a, 0x1b, 0xc6, 0xf2, 0xb6, 0x77,
	0x77,
};
static const uint8_t kat_welcome[10] = {
	0x81, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x2d,
};
static const uint8_t kat_welcome_f0[26] = {
	0x36, 0x45, 0x0b, 0x3c, 0x55, 0x11, 0xd9, 0x6b, 0x9c, 0xa8, 0xc9, 0x52,
	0x8a, 0x69, 0x04, 0xa7, 0xe2, 0x60, 0x81, 0x1e, 0x52, 0xc8, 0x26, 0x9c,
	0x40, 0xb6,
};
static const uint8_t kat_kxy[32] = {
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
};
static const uint8_t kat_klow[32] = {
	0x3c, 0x3f, 0x37, 0x5a, 0x85, 0x1b, 0x71, 0x45, 0x71, 0x1b, 0x7f, 0x19,
	0xfd, 0x2c, 0xbc, 0xd6, 0x30, 0xb7, 0x36, 0xbe, 0x39, 0x75, 0x43, 0xf9,
	0x10, 0x80, 0x71, 0x12, 0x58, 0x17, 0xac, 0xca,
};
static const uint8_t kat_khigh[32] = {
	0x23, 0x9d, 0xab, 0x90, 0xc2, 0xc3, 0x32, 0xc3, 0x0d, 0xdf, 0xe2, 0x63,
	0x81, 0x20, 0x52, 0xf3, 0x19, 0xd4, 0x13, 0xf8, 0x02, 0xca, 0x47, 0xa9,
	0x47, 0x24, 0x3a, 0x0c, 0xfb, 0x6f, 0xd0, 0x65,
};
static const uint8_t kat_dg_payload[11] = {
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x68, 0x69,
};
static const uint8_t kat_dgram[44] = {
	0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x02, 0x97, 0x4e, 0xfa, 0x02, 0x2f, 0x30, 0xe4,
	0x87, 0x61, 0x52, 0x9c, 0xc0, 0xe0, 0x2a, 0xa5, 0x04, 0x33, 0xa7, 0x85,
	0x71, 0x67, 0x4e, 0x99, 0x18, 0x6f, 0xfa, 0x50,
};

static const char kat_fpr[] =
    "SHA256:qqj/9wO1CyKX9PbhNQj3JCDZb9Aeu4TLB0RJyq72QEE";

/* Runs a whole handshake between a client and a server key pair. */
static void
hs_run(const struct sc_keypair *kp, struct sc_channel *cli,
    struct sc_channel *srv, uint8_t hello[SC_HELLO_BODY])
{
	struct sc_hs_client	hs;
	uint8_t			e_s_pk[SC_KEY_BYTES];

	assert_int_equal(sc_hs_client_hello(&hs, kp->pk), 0);
	memcpy(hello, hs.hello, SC_HELLO_BODY);
	assert_int_equal(hello[0], SC_PROTO_VERSION);
	assert_int_equal(sc_hs_server(srv, e_s_pk, kp, hello, SC_HELLO_BODY), 0);
	assert_int_equal(sc_hs_client_finish(cli, &hs, e_s_pk), 0);
}

/* Seals len bytes of msg on ch into out (len + SC_MAC_BYTES). */
static void
seal_ok(struct sc_channel *ch, uint8_t *out, const char *msg)
{
	assert_int_equal(sc_channel_seal(ch, out, (const uint8_t *)msg,
	    strlen(msg)), 0);
}

/* libsodium must be initialised before any test. */
static int
group_setup(void **state)
{
	(void)state;
	return (sc_crypto_init());
}

/* Client hello, server, client finish: each side's tx key is the other's rx. */
static void
test_handshake_gives_matching_keys_both_ways(void **state)
{
	struct sc_keypair	kp;
	struct sc_channel	cli, srv;
	uint8_t			hello[SC_HELLO_BODY], f[64], p[64];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	hs_run(&kp, &cli, &srv, hello);
	assert_memory_equal(cli.tx_key, srv.rx_key, SC_KEY_BYTES);
	assert_memory_equal(cli.rx_key, srv.tx_key, SC_KEY_BYTES);
	assert_memory_not_equal(cli.tx_key, cli.rx_key, SC_KEY_BYTES);
	assert_true(cli.tx_ctr == 0 && cli.rx_ctr == 0);
	assert_true(srv.tx_ctr == 0 && srv.rx_ctr == 0);

	seal_ok(&srv, f, "welcome");
	assert_int_equal(sc_channel_open(&cli, p, f, 7 + SC_MAC_BYTES), 0);
	assert_memory_equal(p, "welcome", 7);
	seal_ok(&cli, f, "sign");
	assert_int_equal(sc_channel_open(&srv, p, f, 4 + SC_MAC_BYTES), 0);
	assert_memory_equal(p, "sign", 4);
	assert_true(cli.tx_ctr == 1 && srv.rx_ctr == 1);
	sc_keypair_free(&kp);
	sc_keypair_free(NULL);
}

/* A client pinning another key is refused with reason 2 (REJECT_KEY). */
static void
test_wrong_pinned_key_rejected(void **state)
{
	struct sc_keypair	kp, other;
	struct sc_hs_client	hs;
	struct sc_channel	srv;
	uint8_t			e_s_pk[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(sc_keypair_generate(&other), 0);
	assert_int_equal(sc_hs_client_hello(&hs, other.pk), 0);
	assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), -SC_REJECT_KEY);
	sc_hs_client_wipe(&hs);
	sc_keypair_free(&kp);
	sc_keypair_free(&other);
}

/* A HELLO whose version byte is not 1 gets reason 1 (REJECT_VERSION). */
static void
test_wrong_version_rejected(void **state)
{
	struct sc_keypair	kp;
	struct sc_hs_client	hs;
	struct sc_channel	srv;
	uint8_t			e_s_pk[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(sc_hs_client_hello(&hs, kp.pk), 0);
	hs.hello[0] = 2;
	assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), -SC_REJECT_VERSION);
	hs.hello[0] = 0;
	assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), -SC_REJECT_VERSION);
	/* Right version, wrong length: the box cannot be opened. */
	hs.hello[0] = 1;
	assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY - 1), -SC_REJECT_KEY);
	assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, hs.hello, 1),
	    -SC_REJECT_KEY);
	assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, hs.hello, 0),
	    -SC_REJECT_VERSION);
	sc_hs_client_wipe(&hs);
	sc_keypair_free(&kp);
}

/* Any bit flipped in a HELLO's sealed box makes the server refuse it. */
static void
test_tampered_hello_rejected(void **state)
{
	struct sc_keypair	kp;
	struct sc_hs_client	hs;
	struct sc_channel	srv;
	uint8_t			e_s_pk[SC_KEY_BYTES], bad[SC_HELLO_BODY];
	size_t			i;

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(sc_hs_client_hello(&hs, kp.pk), 0);
	for (i = 1; i < SC_HELLO_BODY; i++) {
		memcpy(bad, hs.hello, SC_HELLO_BODY);
		bad[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, bad,
		    SC_HELLO_BODY), -SC_REJECT_KEY);
	}
	sc_hs_client_wipe(&hs);
	sc_keypair_free(&kp);
}

/* A CONFIRM whose e_s was changed gives the client keys that open nothing. */
static void
test_client_with_forged_e_s_cannot_open_welcome(void **state)
{
	struct sc_keypair	kp;
	struct sc_hs_client	hs;
	struct sc_channel	cli, srv;
	uint8_t			e_s_pk[SC_KEY_BYTES], f[64], p[64];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(sc_hs_client_hello(&hs, kp.pk), 0);
	assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), 0);
	seal_ok(&srv, f, "welcome");
	e_s_pk[5] ^= 0x10;
	assert_int_equal(sc_hs_client_finish(&cli, &hs, e_s_pk), 0);
	assert_int_equal(sc_channel_open(&cli, p, f, 7 + SC_MAC_BYTES), -1);
	/* finish wiped the client's handshake secrets */
	assert_true(hs.k[0] == 0 && hs.e_sk[0] == 0 && hs.hello[0] == 0);
	sc_keypair_free(&kp);
}

/* An all-zero (small-order) e_s from a forged CONFIRM is refused. */
static void
test_client_refuses_zero_e_s(void **state)
{
	struct sc_keypair	kp;
	struct sc_hs_client	hs;
	struct sc_channel	cli;
	uint8_t			zero[SC_KEY_BYTES] = { 0 };

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(sc_hs_client_hello(&hs, kp.pk), 0);
	assert_int_equal(sc_hs_client_finish(&cli, &hs, zero), -1);
	sc_keypair_free(&kp);
}

/* One bit flipped anywhere in a frame makes it fail; rx_ctr stays put. */
static void
test_tampered_frame_rejected(void **state)
{
	struct sc_keypair	kp;
	struct sc_channel	cli, srv;
	uint8_t			hello[SC_HELLO_BODY], f[64], bad[64], p[64];
	size_t			len = 5 + SC_MAC_BYTES, bit;

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	hs_run(&kp, &cli, &srv, hello);
	seal_ok(&cli, f, "hello");
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
	sc_keypair_free(&kp);
}

/* A body shorter than a tag plus one byte is refused without a MAC check. */
static void
test_short_frame_rejected(void **state)
{
	struct sc_keypair	kp;
	struct sc_channel	cli, srv;
	uint8_t			hello[SC_HELLO_BODY], f[64], p[64];
	size_t			len;

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	hs_run(&kp, &cli, &srv, hello);
	/* an empty message seals to a bare tag, which must not open */
	assert_int_equal(sc_channel_seal(&cli, f, (const uint8_t *)"", 0), 0);
	for (len = 0; len <= SC_MAC_BYTES; len++)
		assert_int_equal(sc_channel_open(&srv, p, f, len), -1);
	assert_true(srv.rx_ctr == 0);
	sc_keypair_free(&kp);
}

/* A frame fed twice fails the second time. */
static void
test_replayed_frame_rejected(void **state)
{
	struct sc_keypair	kp;
	struct sc_channel	cli, srv;
	uint8_t			hello[SC_HELLO_BODY], f[64], p[64];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	hs_run(&kp, &cli, &srv, hello);
	seal_ok(&cli, f, "ping");
	assert_int_equal(sc_channel_open(&srv, p, f, 4 + SC_MAC_BYTES), 0);
	assert_int_equal(sc_channel_open(&srv, p, f, 4 + SC_MAC_BYTES), -1);
	assert_true(srv.rx_ctr == 1);
	sc_keypair_free(&kp);
}

/* Frames 0 and 1 delivered as 1, 0: the first to arrive fails. */
static void
test_reordered_frames_rejected(void **state)
{
	struct sc_keypair	kp;
	struct sc_channel	cli, srv;
	uint8_t			hello[SC_HELLO_BODY], f0[64], f1[64], p[64];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	hs_run(&kp, &cli, &srv, hello);
	seal_ok(&cli, f0, "zero");
	seal_ok(&cli, f1, "one!");
	assert_int_equal(sc_channel_open(&srv, p, f1, 4 + SC_MAC_BYTES), -1);
	/* delivered in order, both open */
	assert_int_equal(sc_channel_open(&srv, p, f0, 4 + SC_MAC_BYTES), 0);
	assert_int_equal(sc_channel_open(&srv, p, f1, 4 + SC_MAC_BYTES), 0);
	assert_memory_equal(p, "one!", 4);
	sc_keypair_free(&kp);
}

/* The server's own frame fed back to the server does not open. */
static void
test_reflected_frame_rejected(void **state)
{
	struct sc_keypair	kp;
	struct sc_channel	cli, srv;
	uint8_t			hello[SC_HELLO_BODY], f[64], p[64];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	hs_run(&kp, &cli, &srv, hello);
	seal_ok(&srv, f, "users");
	assert_int_equal(sc_channel_open(&srv, p, f, 5 + SC_MAC_BYTES), -1);
	seal_ok(&cli, f, "users");
	assert_int_equal(sc_channel_open(&cli, p, f, 5 + SC_MAC_BYTES), -1);
	sc_keypair_free(&kp);
}

/*
 * A recorded HELLO replayed to the server gives a session with other keys
 * (the server's ephemeral key is fresh), so the recorded client frames,
 * credentials included, do not open in it.
 */
static void
test_replayed_hello_gives_fresh_keys(void **state)
{
	struct sc_keypair	kp;
	struct sc_channel	cli, srv, srv2;
	uint8_t			hello[SC_HELLO_BODY], e_s2[SC_KEY_BYTES];
	uint8_t			f[64], p[64];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	hs_run(&kp, &cli, &srv, hello);
	seal_ok(&cli, f, "auth alice secret");
	assert_int_equal(sc_hs_server(&srv2, e_s2, &kp, hello, SC_HELLO_BODY),
	    0);
	assert_memory_not_equal(srv2.rx_key, srv.rx_key, SC_KEY_BYTES);
	assert_memory_not_equal(srv2.tx_key, srv.tx_key, SC_KEY_BYTES);
	assert_int_equal(sc_channel_open(&srv2, p, f, 17 + SC_MAC_BYTES), -1);
	/* the genuine session still works */
	assert_int_equal(sc_channel_open(&srv, p, f, 17 + SC_MAC_BYTES), 0);
	sc_keypair_free(&kp);
}

/* Known answer: the client's derivation matches protocol.md 2.3 and 3. */
static void
test_client_key_derivation_known_answer(void **state)
{
	struct sc_hs_client	hs;
	struct sc_channel	cli;
	uint8_t			f[64], p[64];

	(void)state;
	memcpy(hs.k, kat_k, SC_KEY_BYTES);
	memcpy(hs.e_sk, kat_e_c, SC_KEY_BYTES);
	memcpy(hs.server_pk, kat_S, SC_KEY_BYTES);
	memcpy(hs.hello, kat_hello, SC_HELLO_BODY);
	assert_int_equal(sc_hs_client_finish(&cli, &hs, kat_E_s), 0);
	assert_memory_equal(cli.tx_key, kat_c2s, SC_KEY_BYTES);
	assert_memory_equal(cli.rx_key, kat_s2c, SC_KEY_BYTES);
	assert_int_equal(sc_channel_seal(&cli, f, kat_ping, sizeof(kat_ping)),
	    0);
	assert_memory_equal(f, kat_ping_f0, sizeof(kat_ping_f0));
	assert_int_equal(sc_channel_seal(&cli, f, kat_ping, sizeof(kat_ping)),
	    0);
	assert_memory_equal(f, kat_ping_f1, sizeof(kat_ping_f1));
	assert_int_equal(sc_channel_open(&cli, p, kat_welcome_f0,
	    sizeof(kat_welcome_f0)), 0);
	assert_memory_equal(p, kat_welcome, sizeof(kat_welcome));
}

/*
 * Known answer, server side: the key pair from kat_s has public key kat_S,
 * the HELLO sealed by another implementation opens, and a client holding
 * that HELLO's K and e_c agrees on the keys.
 */
static void
test_server_accepts_independent_hello(void **state)
{
	struct sc_keypair	kp;
	struct sc_hs_client	hs;
	struct sc_channel	cli, srv;
	uint8_t			e_s_pk[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(sc_keypair_from_sk(&kp, kat_s), 0);
	assert_memory_equal(kp.pk, kat_S, SC_KEY_BYTES);
	assert_int_equal(sc_secure_readonly(kp.sk), 0);
	assert_int_equal(sc_hs_server(&srv, e_s_pk, &kp, kat_hello,
	    sizeof(kat_hello)), 0);
	memcpy(hs.k, kat_k, SC_KEY_BYTES);
	memcpy(hs.e_sk, kat_e_c, SC_KEY_BYTES);
	memcpy(hs.server_pk, kat_S, SC_KEY_BYTES);
	memcpy(hs.hello, kat_hello, SC_HELLO_BODY);
	assert_int_equal(sc_hs_client_finish(&cli, &hs, e_s_pk), 0);
	assert_memory_equal(cli.tx_key, srv.rx_key, SC_KEY_BYTES);
	assert_memory_equal(cli.rx_key, srv.tx_key, SC_KEY_BYTES);
	sc_keypair_free(&kp);
}

/* Hash, verify, wrong password, bounds, and rehash when the cost changes. */
static void
test_pwhash_verify_and_rehash(void **state)
{
	char		h[SC_PWHASH_LEN], h2[SC_PWHASH_LEN], junk[SC_PWHASH_LEN];
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

/* A's send key is B's receive key and back; a user alone uses one key. */
static void
test_pair_keys_per_direction(void **state)
{
	struct sc_pair_keys	a, b, self;
	uint8_t			kxy[SC_KEY_BYTES];

	(void)state;
	sc_random(kxy, sizeof(kxy));
	sc_pair_derive(&a, kxy, "alice", "bob");
	sc_pair_derive(&b, kxy, "bob", "alice");
	assert_memory_equal(a.tx, b.rx, SC_KEY_BYTES);
	assert_memory_equal(a.rx, b.tx, SC_KEY_BYTES);
	assert_memory_not_equal(a.tx, a.rx, SC_KEY_BYTES);
	sc_pair_derive(&self, kxy, "alice", "alice");
	assert_memory_equal(self.tx, self.rx, SC_KEY_BYTES);
	assert_memory_equal(self.tx, a.tx, SC_KEY_BYTES);

	/* known answer: "alice" sorts first and gets subkey 1 */
	sc_pair_derive(&a, kat_kxy, "alice", "bob");
	assert_memory_equal(a.tx, kat_klow, SC_KEY_BYTES);
	assert_memory_equal(a.rx, kat_khigh, SC_KEY_BYTES);
	/* bytewise order: "a.b" < "ab" since '.' < 'b' */
	sc_pair_derive(&a, kat_kxy, "ab", "a.b");
	assert_memory_equal(a.tx, kat_khigh, SC_KEY_BYTES);
}

/* A datagram opens with the peer's receive key; the layout is known. */
static void
test_dgram_seal_open(void **state)
{
	struct sc_pair_keys	a, b;
	uint8_t			dg[SC_DGRAM_MAX + 1], p[SC_DGRAM_MAX];
	size_t			len = sizeof(kat_dgram);

	(void)state;
	sc_pair_derive(&a, kat_kxy, "alice", "bob");
	sc_pair_derive(&b, kat_kxy, "bob", "alice");
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
	sc_pair_derive(&a, kat_kxy, "alice", "bob");
	sc_pair_derive(&b, kat_kxy, "bob", "alice");
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
	const char	*b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789+/";
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

/* Runs every test of this file. */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_gives_matching_keys_both_ways),
		cmocka_unit_test(test_secret_key_reads_as_zero_in_a_child),
		cmocka_unit_test(test_wrong_pinned_key_rejected),
		cmocka_unit_test(test_wrong_version_rejected),
		cmocka_unit_test(test_tampered_hello_rejected),
		cmocka_unit_test(test_client_with_forged_e_s_cannot_open_welcome),
		cmocka_unit_test(test_client_refuses_zero_e_s),
		cmocka_unit_test(test_tampered_frame_rejected),
		cmocka_unit_test(test_short_frame_rejected),
		cmocka_unit_test(test_replayed_frame_rejected),
		cmocka_unit_test(test_reordered_frames_rejected),
		cmocka_unit_test(test_reflected_frame_rejected),
		cmocka_unit_test(test_replayed_hello_gives_fresh_keys),
		cmocka_unit_test(test_client_key_derivation_known_answer),
		cmocka_unit_test(test_server_accepts_independent_hello),
		cmocka_unit_test(test_pwhash_verify_and_rehash),
		cmocka_unit_test(test_pwhash_interactive_cost),
		cmocka_unit_test(test_pair_keys_per_direction),
		cmocka_unit_test(test_dgram_seal_open),
		cmocka_unit_test(test_dgram_tamper_rejected),
		cmocka_unit_test(test_fingerprint_format),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_helpers),
	};

	return (cmocka_run_group_tests(tests, group_setup, NULL));
}
