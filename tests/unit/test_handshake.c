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

#include "vectors.h"

/* A client's handshake as it stands after sending the known HELLO. */
static void
kat_client(struct handshake_client *hs)
{
	memcpy(hs->k, kat_k, SC_KEY_BYTES);
	memcpy(hs->e_sk, kat_e_c, SC_KEY_BYTES);
	memcpy(hs->server_pk, kat_S, SC_KEY_BYTES);
	memcpy(hs->hello, kat_hello, SC_HELLO_BODY);
}

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

	vectors_seal(&srv, f, "welcome");
	assert_int_equal(sc_channel_open(&cli, p, f, 7 + SC_MAC_BYTES), 0);
	assert_memory_equal(p, "welcome", 7);
	vectors_seal(&cli, f, "sign");
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
	vectors_seal(&srv, f, "welcome");
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
	vectors_seal(&srv, f, "users");
	assert_int_equal(sc_channel_open(&srv, p, f, 5 + SC_MAC_BYTES), -1);
	vectors_seal(&cli, f, "users");
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
	vectors_seal(&cli, f, "auth alice secret");
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
	kat_client(&hs);
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
	kat_client(&hs);
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
	/* A short REJECT offers no key. */
	handshake_reject(frame, SC_REJECT_KEY);
	assert_int_equal(handshake_reject_offered(frame + SC_FRAME_HDR,
	    SC_REJECT_BODY, body), -1);
}

/*
 * REJECT 2 may carry the server's public key after the reason (34 bytes);
 * only reason 2 takes it, and the key is given back as sent.
 */
static void
test_reject_key_offers_the_servers_key(void **state)
{
	uint8_t	frame[HANDSHAKE_REJECT_KEY_FRAME];
	uint8_t	pk[SC_KEY_BYTES], got[SC_KEY_BYTES];

	(void)state;
	memset(pk, 0xa5, sizeof(pk));
	handshake_reject_key(frame, pk);
	assert_int_equal(frame[3], SC_REJECT_KEY_BODY);
	assert_int_equal(handshake_reject_reason(frame + SC_FRAME_HDR,
	    SC_REJECT_KEY_BODY), SC_REJECT_KEY);
	assert_int_equal(handshake_reject_offered(frame + SC_FRAME_HDR,
	    SC_REJECT_KEY_BODY, got), 0);
	assert_memory_equal(got, pk, sizeof(pk));
	/* 34 bytes with another reason, or not starting with 0: no REJECT. */
	frame[SC_FRAME_HDR + 1] = SC_REJECT_BUSY;
	assert_int_equal(handshake_reject_reason(frame + SC_FRAME_HDR,
	    SC_REJECT_KEY_BODY), -1);
	assert_int_equal(handshake_reject_offered(frame + SC_FRAME_HDR,
	    SC_REJECT_KEY_BODY, got), -1);
	frame[SC_FRAME_HDR + 1] = SC_REJECT_KEY;
	frame[SC_FRAME_HDR] = 1;
	assert_int_equal(handshake_reject_reason(frame + SC_FRAME_HDR,
	    SC_REJECT_KEY_BODY), -1);
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
		cmocka_unit_test(test_reject_key_offers_the_servers_key),
	};

	return (cmocka_run_group_tests(tests, vectors_group_setup, NULL));
}
