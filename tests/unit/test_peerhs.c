/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/common/peerhs.c (docs/protocol.md section 8.1): the
 * known answers of an independent implementation, keys that match both
 * ways, Kxy alone (with every public value) opening nothing, any changed
 * byte or other pair refused without harm to the state, a replayed INIT
 * or RESP establishing nothing, small-order keys refused, and the secrets
 * gone once the keys are out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sealchat/crypto.h"
#include "sealchat/peerhs.h"
#include "sealchat/proto.h"

#include "vectors.h"

#define KAT_PAIR	UINT64_C(0x0102030405060708)

/* Both sides of a handshake and what they hold. */
struct two {
	uint8_t			s_i[SC_KEY_BYTES], s_r[SC_KEY_BYTES];
	uint8_t			pk_i[SC_KEY_BYTES], pk_r[SC_KEY_BYTES];
	uint8_t			psk[SC_KEY_BYTES];
	struct peerhs		i, r;
	struct sc_pair_keys	ki, kr;
	uint8_t			init[PEERHS_LEN], resp[PEERHS_LEN];
};

/* Sets up alice (initiator) and bob with fresh keys, or the known ones. */
static void
two_setup(struct two *t, int known)
{
	memset(t, 0, sizeof(*t));
	if (known) {
		vectors_seq(t->s_i, 0x40);
		vectors_seq(t->s_r, 0x60);
		vectors_seq(t->psk, 0xc0);
	} else {
		assert_int_equal(sc_dh_keypair(t->pk_i, t->s_i), 0);
		assert_int_equal(sc_dh_keypair(t->pk_r, t->s_r), 0);
		sc_random(t->psk, sizeof(t->psk));
	}
	assert_int_equal(sc_dh_public(t->pk_i, t->s_i), 0);
	assert_int_equal(sc_dh_public(t->pk_r, t->s_r), 0);
	assert_int_equal(peerhs_init(&t->i, 1, KAT_PAIR, "alice", t->pk_i,
	    "bob", t->pk_r, t->psk), 0);
	assert_int_equal(peerhs_init(&t->r, 0, KAT_PAIR, "alice", t->pk_i,
	    "bob", t->pk_r, t->psk), 0);
}

/* INIT, RESP, and the initiator's keys. */
static void
two_run(struct two *t)
{
	assert_int_equal(peerhs_write_init(&t->i, t->init, t->s_i, NULL), 0);
	assert_int_equal(peerhs_read_init(&t->r, &t->kr, t->resp, t->init,
	    PEERHS_LEN, t->s_r, NULL), 0);
	assert_int_equal(peerhs_read_resp(&t->i, &t->ki, t->resp, PEERHS_LEN,
	    t->s_i), 0);
}

/* The known INIT, RESP and transport keys of the vectors. */
static void
test_peerhs_known_answers(void **state)
{
	struct two	t;
	uint8_t		e_i[SC_KEY_BYTES], e_r[SC_KEY_BYTES];

	(void)state;
	two_setup(&t, 1);
	assert_memory_equal(t.pk_i, kat_phs_S_i, SC_KEY_BYTES);
	assert_memory_equal(t.pk_r, kat_phs_S_r, SC_KEY_BYTES);
	vectors_seq(e_i, 0x80);
	vectors_seq(e_r, 0xa0);
	assert_int_equal(peerhs_write_init(&t.i, t.init, t.s_i, e_i), 0);
	assert_memory_equal(t.init, kat_phs_init, PEERHS_LEN);
	assert_int_equal(peerhs_read_init(&t.r, &t.kr, t.resp, kat_phs_init,
	    PEERHS_LEN, t.s_r, e_r), 0);
	assert_memory_equal(t.resp, kat_phs_resp, PEERHS_LEN);
	assert_memory_equal(t.kr.tx, kat_phs_r2i, SC_KEY_BYTES);
	assert_memory_equal(t.kr.rx, kat_phs_i2r, SC_KEY_BYTES);
	assert_int_equal(peerhs_read_resp(&t.i, &t.ki, kat_phs_resp,
	    PEERHS_LEN, t.s_i), 0);
	assert_memory_equal(t.ki.tx, kat_phs_i2r, SC_KEY_BYTES);
	assert_memory_equal(t.ki.rx, kat_phs_r2i, SC_KEY_BYTES);
}

/* Fresh keys: each side's tx is the other's rx, and the two differ. */
static void
test_peerhs_keys_match_both_ways(void **state)
{
	struct two	t;

	(void)state;
	two_setup(&t, 0);
	two_run(&t);
	assert_memory_equal(t.ki.tx, t.kr.rx, SC_KEY_BYTES);
	assert_memory_equal(t.ki.rx, t.kr.tx, SC_KEY_BYTES);
	assert_memory_not_equal(t.ki.tx, t.ki.rx, SC_KEY_BYTES);
	assert_int_equal(t.i.state, PEERHS_DONE);
	assert_int_equal(t.r.state, PEERHS_DONE);
	assert_int_equal(t.init[0], SC_UDP_INIT);
	assert_int_equal(t.resp[0], SC_UDP_RESP);
}

/*
 * Whoever holds Kxy and every public value but neither identity secret
 * (the server) opens neither message: posing as bob with a key of its
 * own, or as alice, gets nowhere.
 */
static void
test_peerhs_kxy_alone_opens_nothing(void **state)
{
	struct two		t;
	struct peerhs		fake;
	struct sc_pair_keys	k;
	uint8_t			other[SC_KEY_BYTES], other_pk[SC_KEY_BYTES];
	uint8_t			out[PEERHS_LEN];

	(void)state;
	two_setup(&t, 0);
	assert_int_equal(sc_dh_keypair(other_pk, other), 0);
	assert_int_equal(peerhs_write_init(&t.i, t.init, t.s_i, NULL), 0);
	/* As bob, with the right public keys but another secret. */
	assert_int_equal(peerhs_init(&fake, 0, KAT_PAIR, "alice", t.pk_i,
	    "bob", t.pk_r, t.psk), 0);
	assert_int_equal(peerhs_read_init(&fake, &k, out, t.init, PEERHS_LEN,
	    other, NULL), -1);
	assert_int_equal(fake.state, PEERHS_READY);
	/* As alice toward bob: bob's INIT check fails. */
	assert_int_equal(peerhs_init(&fake, 1, KAT_PAIR, "alice", t.pk_i,
	    "bob", t.pk_r, t.psk), 0);
	assert_int_equal(peerhs_write_init(&fake, out, other, NULL), 0);
	assert_int_equal(peerhs_read_init(&t.r, &k, t.resp, out, PEERHS_LEN,
	    t.s_r, NULL), -1);
	assert_int_equal(t.r.state, PEERHS_READY);
	/* The real INIT still opens afterwards. */
	assert_int_equal(peerhs_read_init(&t.r, &t.kr, t.resp, t.init,
	    PEERHS_LEN, t.s_r, NULL), 0);
	/* A RESP made up from public values does not open at alice. */
	memcpy(out, t.resp, PEERHS_LEN);
	memcpy(out + 9, other_pk, SC_KEY_BYTES);
	sc_random(out + 9 + SC_KEY_BYTES, SC_MAC_BYTES);
	assert_int_equal(peerhs_read_resp(&t.i, &k, out, PEERHS_LEN, t.s_i),
	    -1);
	assert_int_equal(peerhs_read_resp(&t.i, &t.ki, t.resp, PEERHS_LEN,
	    t.s_i), 0);
	peerhs_wipe(&fake);
}

/* Another Kxy, pair, name or identity key: nothing opens. */
static void
test_peerhs_other_pair_or_names_refused(void **state)
{
	struct two		t;
	struct peerhs		r;
	struct sc_pair_keys	k;
	uint8_t			psk2[SC_KEY_BYTES], out[PEERHS_LEN];

	(void)state;
	two_setup(&t, 0);
	assert_int_equal(peerhs_write_init(&t.i, t.init, t.s_i, NULL), 0);
	memcpy(psk2, t.psk, sizeof(psk2));
	psk2[0] ^= 1;
	assert_int_equal(peerhs_init(&r, 0, KAT_PAIR, "alice", t.pk_i, "bob",
	    t.pk_r, psk2), 0);
	assert_int_equal(peerhs_read_init(&r, &k, out, t.init, PEERHS_LEN,
	    t.s_r, NULL), -1);
	assert_int_equal(peerhs_init(&r, 0, KAT_PAIR + 1, "alice", t.pk_i,
	    "bob", t.pk_r, t.psk), 0);
	assert_int_equal(peerhs_read_init(&r, &k, out, t.init, PEERHS_LEN,
	    t.s_r, NULL), -1);
	assert_int_equal(peerhs_init(&r, 0, KAT_PAIR, "alicf", t.pk_i, "bob",
	    t.pk_r, t.psk), 0);
	assert_int_equal(peerhs_read_init(&r, &k, out, t.init, PEERHS_LEN,
	    t.s_r, NULL), -1);
	/* A name that is not canonical is refused at once. */
	assert_int_equal(peerhs_init(&r, 0, KAT_PAIR, "Alice", t.pk_i, "bob",
	    t.pk_r, t.psk), -1);
	assert_int_equal(peerhs_init(&r, 0, KAT_PAIR, "", t.pk_i, "bob",
	    t.pk_r, t.psk), -1);
}

/* Every byte flipped, and every length, is refused and changes nothing. */
static void
test_peerhs_changed_bytes_refused_state_kept(void **state)
{
	struct two		t;
	struct sc_pair_keys	k;
	uint8_t			bad[PEERHS_LEN + 1], out[PEERHS_LEN];
	size_t			i;

	(void)state;
	two_setup(&t, 0);
	assert_int_equal(peerhs_write_init(&t.i, t.init, t.s_i, NULL), 0);
	for (i = 0; i < PEERHS_LEN; i++) {
		memcpy(bad, t.init, PEERHS_LEN);
		bad[i] ^= 0x20;
		assert_int_equal(peerhs_read_init(&t.r, &k, out, bad,
		    PEERHS_LEN, t.s_r, NULL), -1);
	}
	memcpy(bad, t.init, PEERHS_LEN);
	bad[PEERHS_LEN] = 0;
	assert_int_equal(peerhs_read_init(&t.r, &k, out, bad, PEERHS_LEN + 1,
	    t.s_r, NULL), -1);
	assert_int_equal(peerhs_read_init(&t.r, &k, out, bad, PEERHS_LEN - 1,
	    t.s_r, NULL), -1);
	assert_int_equal(t.r.state, PEERHS_READY);
	assert_int_equal(peerhs_read_init(&t.r, &t.kr, t.resp, t.init,
	    PEERHS_LEN, t.s_r, NULL), 0);
	for (i = 0; i < PEERHS_LEN; i++) {
		memcpy(bad, t.resp, PEERHS_LEN);
		bad[i] ^= 0x01;
		assert_int_equal(peerhs_read_resp(&t.i, &k, bad, PEERHS_LEN,
		    t.s_i), -1);
	}
	/* An INIT where a RESP belongs, and the other way round. */
	assert_int_equal(peerhs_read_resp(&t.i, &k, t.init, PEERHS_LEN,
	    t.s_i), -1);
	assert_int_equal(t.i.state, PEERHS_SENT);
	assert_int_equal(peerhs_read_resp(&t.i, &t.ki, t.resp, PEERHS_LEN,
	    t.s_i), 0);
	assert_memory_equal(t.ki.tx, t.kr.rx, SC_KEY_BYTES);
}

/*
 * Replays establish nothing new: a second RESP (the same, or replayed
 * later) and a second INIT are refused once the keys are out, and an INIT
 * of an earlier session opens nothing in a new one (a new Kxy).
 */
static void
test_peerhs_replays_establish_nothing(void **state)
{
	struct two		t, u;
	struct sc_pair_keys	k;
	uint8_t			out[PEERHS_LEN];

	(void)state;
	two_setup(&t, 0);
	two_run(&t);
	assert_int_equal(peerhs_read_resp(&t.i, &k, t.resp, PEERHS_LEN,
	    t.s_i), -1);
	assert_int_equal(peerhs_read_init(&t.r, &k, out, t.init, PEERHS_LEN,
	    t.s_r, NULL), -1);
	/* The same people later: another Kxy, the old INIT is worthless. */
	two_setup(&u, 0);
	memcpy(u.s_i, t.s_i, SC_KEY_BYTES);
	memcpy(u.s_r, t.s_r, SC_KEY_BYTES);
	memcpy(u.pk_i, t.pk_i, SC_KEY_BYTES);
	memcpy(u.pk_r, t.pk_r, SC_KEY_BYTES);
	assert_int_equal(peerhs_init(&u.r, 0, KAT_PAIR, "alice", u.pk_i,
	    "bob", u.pk_r, u.psk), 0);
	assert_int_equal(peerhs_read_init(&u.r, &k, out, t.init, PEERHS_LEN,
	    u.s_r, NULL), -1);
	assert_int_equal(u.r.state, PEERHS_READY);
	/* Out of order: a RESP before any INIT was written. */
	assert_int_equal(peerhs_init(&u.i, 1, KAT_PAIR, "alice", u.pk_i,
	    "bob", u.pk_r, u.psk), 0);
	assert_int_equal(peerhs_read_resp(&u.i, &k, t.resp, PEERHS_LEN,
	    u.s_i), -1);
	/* Each role writes and reads only its own messages. */
	assert_int_equal(peerhs_write_init(&u.r, out, u.s_r, NULL), -1);
	assert_int_equal(peerhs_write_init(&u.i, out, u.s_i, NULL), 0);
	assert_int_equal(peerhs_write_init(&u.i, out, u.s_i, NULL), -1);
	assert_int_equal(peerhs_read_init(&u.i, &k, out, out, PEERHS_LEN,
	    u.s_i, NULL), -1);
}

/* An all-zero (small-order) ephemeral key never opens. */
static void
test_peerhs_small_order_key_refused(void **state)
{
	struct two		t;
	struct sc_pair_keys	k;
	uint8_t			bad[PEERHS_LEN], out[PEERHS_LEN];

	(void)state;
	two_setup(&t, 0);
	assert_int_equal(peerhs_write_init(&t.i, t.init, t.s_i, NULL), 0);
	memcpy(bad, t.init, PEERHS_LEN);
	memset(bad + 9, 0, SC_KEY_BYTES);
	assert_int_equal(peerhs_read_init(&t.r, &k, out, bad, PEERHS_LEN,
	    t.s_r, NULL), -1);
	assert_int_equal(peerhs_read_init(&t.r, &t.kr, t.resp, t.init,
	    PEERHS_LEN, t.s_r, NULL), 0);
	memcpy(bad, t.resp, PEERHS_LEN);
	memset(bad + 9, 0, SC_KEY_BYTES);
	assert_int_equal(peerhs_read_resp(&t.i, &k, bad, PEERHS_LEN, t.s_i),
	    -1);
}

/* Once the keys are out the state holds no secret. */
static void
test_peerhs_secrets_wiped_when_done(void **state)
{
	struct two	t;
	uint8_t		zero[SC_KEY_BYTES];

	(void)state;
	memset(zero, 0, sizeof(zero));
	two_setup(&t, 0);
	two_run(&t);
	assert_memory_equal(t.i.e_sk, zero, SC_KEY_BYTES);
	assert_memory_equal(t.i.ck, zero, SC_KEY_BYTES);
	assert_memory_equal(t.i.h, zero, SC_KEY_BYTES);
	assert_memory_equal(t.r.e_sk, zero, SC_KEY_BYTES);
	assert_memory_equal(t.r.ck, zero, SC_KEY_BYTES);
	assert_memory_equal(t.r.h, zero, SC_KEY_BYTES);
}

/* The parser takes exactly the two kinds at exactly their length. */
static void
test_peerhs_parse_kind_and_pair(void **state)
{
	uint8_t		d[PEERHS_LEN + 1], kind = 0;
	uint64_t	id = 0;

	(void)state;
	memcpy(d, kat_phs_init, PEERHS_LEN);
	assert_int_equal(peerhs_parse(d, PEERHS_LEN, &kind, &id), 0);
	assert_int_equal(kind, SC_UDP_INIT);
	assert_true(id == KAT_PAIR);
	assert_int_equal(peerhs_parse(kat_phs_resp, PEERHS_LEN, &kind, &id),
	    0);
	assert_int_equal(kind, SC_UDP_RESP);
	assert_int_equal(peerhs_parse(d, PEERHS_LEN - 1, &kind, &id), -1);
	assert_int_equal(peerhs_parse(d, PEERHS_LEN + 1, &kind, &id), -1);
	assert_int_equal(peerhs_parse(NULL, PEERHS_LEN, &kind, &id), -1);
	d[0] = SC_DGRAM_VERSION;
	assert_int_equal(peerhs_parse(d, PEERHS_LEN, &kind, &id), -1);
	d[0] = SC_UDP_REGISTER;
	assert_int_equal(peerhs_parse(d, PEERHS_LEN, &kind, &id), -1);
}

/* Runs every test of this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peerhs_known_answers),
		cmocka_unit_test(test_peerhs_keys_match_both_ways),
		cmocka_unit_test(test_peerhs_kxy_alone_opens_nothing),
		cmocka_unit_test(test_peerhs_other_pair_or_names_refused),
		cmocka_unit_test(test_peerhs_changed_bytes_refused_state_kept),
		cmocka_unit_test(test_peerhs_replays_establish_nothing),
		cmocka_unit_test(test_peerhs_small_order_key_refused),
		cmocka_unit_test(test_peerhs_secrets_wiped_when_done),
		cmocka_unit_test(test_peerhs_parse_kind_and_pair),
	};

	return (cmocka_run_group_tests(tests, vectors_group_setup, NULL));
}
