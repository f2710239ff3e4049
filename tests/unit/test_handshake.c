/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/common/handshake.c (docs/protocol.md section 2): HELLO,
 * CONFIRM and REJECT, the keys both sides derive, and known answers made by
 * an independent implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sealchat/crypto.h"
#include "sealchat/handshake.h"
#include "sealchat/proto.h"

/*
 * Known answers, computed independently of this code with Python (hashlib's
 * BLAKE2b, PyNaCl's X25519, sealed box and ChaCha20-Poly1305) straight from
 * docs/protocol.md:
 *   S = X25519_base(kat_s); E_s = X25519_base(e_s); dh = X25519(kat_e_c, E_s)
 *   kat_hello = 0x01 || crypto_box_seal(kat_k || X25519_base(kat_e_c), S)
 *   h = BLAKE2b-256("sealchat/1 handshake" || S || kat_hello || E_s)
 *   master = BLAKE2b-256(key = kat_k, dh || h)
 *   kat_c2s / kat_s2c = BLAKE2b-256(key = master, salt = id LE || 0^8,
 *       personal = "SCchanv1" || 0^8, empty message) with id 1 / 2
 *   kat_ping_f0/f1 = kat_ping sealed with kat_c2s, counters 0 and 1
 *   kat_welcome_f0 = kat_welcome sealed with kat_s2c, counter 0
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

/* Runs a whole handshake between a client and a server key pair. */
static void
hs_run(const struct sc_keypair *kp, struct sc_channel *cli,
    struct sc_channel *srv, uint8_t hello[SC_HELLO_BODY])
{
	struct handshake_client	hs;
	uint8_t			e_s_pk[SC_KEY_BYTES];

	assert_int_equal(handshake_client_hello(&hs, kp->pk), 0);
	memcpy(hello, hs.hello, SC_HELLO_BODY);
	assert_int_equal(hello[0], SC_PROTO_VERSION);
	assert_int_equal(handshake_server(srv, e_s_pk, kp, hello,
	    SC_HELLO_BODY), 0);
	assert_int_equal(handshake_client_finish(cli, &hs, e_s_pk), 0);
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
	struct handshake_client	hs;
	struct sc_channel	srv;
	uint8_t			e_s_pk[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(sc_keypair_generate(&other), 0);
	assert_int_equal(handshake_client_hello(&hs, other.pk), 0);
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), -SC_REJECT_KEY);
	handshake_client_wipe(&hs);
	sc_keypair_free(&kp);
	sc_keypair_free(&other);
}

/* A HELLO whose version byte is not 1 gets reason 1 (REJECT_VERSION). */
static void
test_wrong_version_rejected(void **state)
{
	struct sc_keypair	kp;
	struct handshake_client	hs;
	struct sc_channel	srv;
	uint8_t			e_s_pk[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(handshake_client_hello(&hs, kp.pk), 0);
	hs.hello[0] = 2;
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), -SC_REJECT_VERSION);
	hs.hello[0] = 0;
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), -SC_REJECT_VERSION);
	/* Right version, wrong length: the box cannot be opened. */
	hs.hello[0] = 1;
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY - 1), -SC_REJECT_KEY);
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, hs.hello, 1),
	    -SC_REJECT_KEY);
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, hs.hello, 0),
	    -SC_REJECT_VERSION);
	handshake_client_wipe(&hs);
	sc_keypair_free(&kp);
}

/* Any bit flipped in a HELLO's sealed box makes the server refuse it. */
static void
test_tampered_hello_rejected(void **state)
{
	struct sc_keypair	kp;
	struct handshake_client	hs;
	struct sc_channel	srv;
	uint8_t			e_s_pk[SC_KEY_BYTES], bad[SC_HELLO_BODY];
	size_t			i;

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(handshake_client_hello(&hs, kp.pk), 0);
	for (i = 1; i < SC_HELLO_BODY; i++) {
		memcpy(bad, hs.hello, SC_HELLO_BODY);
		bad[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(handshake_server(&srv, e_s_pk, &kp, bad,
		    SC_HELLO_BODY), -SC_REJECT_KEY);
	}
	handshake_client_wipe(&hs);
	sc_keypair_free(&kp);
}

/* A CONFIRM whose e_s was changed gives the client keys that open nothing. */
static void
test_client_with_forged_e_s_cannot_open_welcome(void **state)
{
	struct sc_keypair	kp;
	struct handshake_client	hs;
	struct sc_channel	cli, srv;
	uint8_t			e_s_pk[SC_KEY_BYTES], f[64], p[64];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(handshake_client_hello(&hs, kp.pk), 0);
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), 0);
	seal_ok(&srv, f, "welcome");
	e_s_pk[5] ^= 0x10;
	assert_int_equal(handshake_client_finish(&cli, &hs, e_s_pk), 0);
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
	struct handshake_client	hs;
	struct sc_channel	cli;
	uint8_t			zero[SC_KEY_BYTES] = { 0 };

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(handshake_client_hello(&hs, kp.pk), 0);
	assert_int_equal(handshake_client_finish(&cli, &hs, zero), -1);
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
	assert_int_equal(handshake_server(&srv2, e_s2, &kp, hello,
	    SC_HELLO_BODY), 0);
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
	struct handshake_client	hs;
	struct sc_channel	cli;
	uint8_t			f[64], p[64];

	(void)state;
	memcpy(hs.k, kat_k, SC_KEY_BYTES);
	memcpy(hs.e_sk, kat_e_c, SC_KEY_BYTES);
	memcpy(hs.server_pk, kat_S, SC_KEY_BYTES);
	memcpy(hs.hello, kat_hello, SC_HELLO_BODY);
	assert_int_equal(handshake_client_finish(&cli, &hs, kat_E_s), 0);
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
	struct handshake_client	hs;
	struct sc_channel	cli, srv;
	uint8_t			e_s_pk[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(sc_keypair_from_sk(&kp, kat_s), 0);
	assert_memory_equal(kp.pk, kat_S, SC_KEY_BYTES);
	assert_int_equal(sc_secure_readonly(kp.sk), 0);
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, kat_hello,
	    sizeof(kat_hello)), 0);
	memcpy(hs.k, kat_k, SC_KEY_BYTES);
	memcpy(hs.e_sk, kat_e_c, SC_KEY_BYTES);
	memcpy(hs.server_pk, kat_S, SC_KEY_BYTES);
	memcpy(hs.hello, kat_hello, SC_HELLO_BODY);
	assert_int_equal(handshake_client_finish(&cli, &hs, e_s_pk), 0);
	assert_memory_equal(cli.tx_key, srv.rx_key, SC_KEY_BYTES);
	assert_memory_equal(cli.rx_key, srv.tx_key, SC_KEY_BYTES);
	sc_keypair_free(&kp);
}

/*
 * CONFIRM is E_s then the WELCOME sealed as server frame 0; the client
 * opens it into the WELCOME and both counters move past frame 0.
 */
static void
test_confirm_carries_e_s_and_welcome_as_frame_zero(void **state)
{
	struct sc_keypair		kp;
	struct handshake_client		hs, hs2;
	struct sc_channel		cli, srv;
	uint8_t				e_s_pk[SC_KEY_BYTES];
	uint8_t				confirm[HANDSHAKE_CONFIRM_LEN(
					    sizeof(kat_welcome))];
	uint8_t				bad[sizeof(confirm)];
	uint8_t				welcome[sizeof(kat_welcome)];

	(void)state;
	assert_int_equal(sc_keypair_generate(&kp), 0);
	assert_int_equal(handshake_client_hello(&hs, kp.pk), 0);
	memcpy(&hs2, &hs, sizeof(hs));
	assert_int_equal(handshake_server(&srv, e_s_pk, &kp, hs.hello,
	    SC_HELLO_BODY), 0);
	assert_int_equal(handshake_confirm(confirm, &srv, e_s_pk, kat_welcome,
	    sizeof(kat_welcome)), 0);
	assert_int_equal(sizeof(confirm), SC_KEY_BYTES + sizeof(kat_welcome) +
	    SC_MAC_BYTES);
	assert_memory_equal(confirm, e_s_pk, SC_KEY_BYTES);
	assert_true(srv.tx_ctr == 1);

	/* One flipped bit in the sealed WELCOME: the server proved nothing. */
	memcpy(bad, confirm, sizeof(bad));
	bad[sizeof(bad) - 1] ^= 0x01;
	assert_int_equal(handshake_client_confirm(&cli, &hs2, welcome, bad,
	    sizeof(bad)), -1);
	assert_true(hs2.k[0] == 0 && hs2.e_sk[0] == 0 && hs2.hello[0] == 0);

	assert_int_equal(handshake_client_confirm(&cli, &hs, welcome, confirm,
	    sizeof(confirm)), 0);
	assert_memory_equal(welcome, kat_welcome, sizeof(kat_welcome));
	assert_true(cli.rx_ctr == 1 && cli.tx_ctr == 0);
	assert_memory_equal(cli.tx_key, srv.rx_key, SC_KEY_BYTES);
	assert_true(hs.k[0] == 0 && hs.e_sk[0] == 0 && hs.hello[0] == 0);

	/* Shorter than E_s and a one-byte sealed WELCOME: refused. */
	assert_int_equal(handshake_client_hello(&hs, kp.pk), 0);
	assert_int_equal(handshake_client_confirm(&cli, &hs, welcome, confirm,
	    HANDSHAKE_CONFIRM_MIN - 1), -1);
	assert_true(hs.k[0] == 0 && hs.e_sk[0] == 0 && hs.hello[0] == 0);
	sc_keypair_free(&kp);
}

/* REJECT is the frame 00 00 00 02 00 reason, and only that is a REJECT. */
static void
test_reject_frame_and_its_reason(void **state)
{
	const uint8_t	busy[] = { 0, 0, 0, 2, 0x00, SC_REJECT_BUSY };
	uint8_t		frame[HANDSHAKE_REJECT_FRAME];
	uint8_t		body[HANDSHAKE_CONFIRM_MIN];

	(void)state;
	handshake_reject(frame, SC_REJECT_BUSY);
	assert_int_equal(sizeof(frame), sizeof(busy));
	assert_memory_equal(frame, busy, sizeof(busy));
	handshake_reject(frame, SC_REJECT_KEY);
	assert_int_equal(handshake_reject_reason(frame + SC_FRAME_HDR,
	    SC_REJECT_BODY), SC_REJECT_KEY);
	handshake_reject(frame, SC_REJECT_VERSION);
	assert_int_equal(handshake_reject_reason(frame + SC_FRAME_HDR,
	    SC_REJECT_BODY), SC_REJECT_VERSION);

	/* Other lengths or a first byte other than 0 are not a REJECT. */
	memset(body, 0, sizeof(body));
	assert_int_equal(handshake_reject_reason(body, 1), -1);
	assert_int_equal(handshake_reject_reason(body, 3), -1);
	assert_int_equal(handshake_reject_reason(body, sizeof(body)), -1);
	body[0] = 0x01;
	assert_int_equal(handshake_reject_reason(body, SC_REJECT_BODY), -1);
}

/* Runs every test of this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_gives_matching_keys_both_ways),
		cmocka_unit_test(test_wrong_pinned_key_rejected),
		cmocka_unit_test(test_wrong_version_rejected),
		cmocka_unit_test(test_tampered_hello_rejected),
		cmocka_unit_test(
		    test_client_with_forged_e_s_cannot_open_welcome),
		cmocka_unit_test(test_client_refuses_zero_e_s),
		cmocka_unit_test(test_reflected_frame_rejected),
		cmocka_unit_test(test_replayed_hello_gives_fresh_keys),
		cmocka_unit_test(test_client_key_derivation_known_answer),
		cmocka_unit_test(test_server_accepts_independent_hello),
		cmocka_unit_test(
		    test_confirm_carries_e_s_and_welcome_as_frame_zero),
		cmocka_unit_test(test_reject_frame_and_its_reason),
	};

	return (cmocka_run_group_tests(tests, group_setup, NULL));
}
