/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/server/pairkey.c: pair keys made for two members,
 * routed through a real presence roster, ended with either member and
 * bounded per member; the candidates and flags they carry, the index by
 * pair id, CANDIDATES on a change and on RECHECK.  Messages are captured
 * by the roster's delivery callback and decoded with the wire codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "pairkey.h"
#include "presence.h"

#define CAP_MAX		64
#define MSG_MAX		2048

struct captured {
	struct presence_member	*to;
	size_t			 len;
	uint8_t			 msg[MSG_MAX];
};

static struct captured		 caps[CAP_MAX];
static size_t			 ncaps;
static struct presence_member	*drop_me;	/* its owner cannot take */
static struct pairkey		*drop_pk;
static struct presence		*drop_p;

/*
 * Delivery callback: records every message, with its receiver; the member
 * drop_me is dropped instead, as a session over its output cap is (its
 * pairs end and it leaves, inside the send).
 */
static int
capture_cb(struct presence_member *to, const uint8_t *msg, size_t len,
    void *arg)
{
	(void)arg;
	if (to == drop_me) {
		pairkey_forget(drop_pk, to);
		presence_leave(drop_p, to);
		drop_me = NULL;
		return (-1);
	}
	assert_true(ncaps < CAP_MAX);
	assert_true(len <= MSG_MAX);
	caps[ncaps].to = to;
	caps[ncaps].len = len;
	memcpy(caps[ncaps].msg, msg, len);
	ncaps++;
	return (0);
}

struct fixture {
	struct event_base	*base;
	struct presence		*p;
	struct presence_member	 m[3];
};

/* An IPv4 candidate of kind from text. */
static struct sc_cand
cand(uint8_t kind, const char *text, uint16_t port)
{
	struct sc_cand	c;

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	c.af = SC_AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, c.addr), 1);
	c.port = port;
	return (c);
}

/* The member sent UDP from port, reporting the host 127.0.0.1. */
static void
udp_from(struct presence_member *m, uint16_t port)
{
	struct sc_cand	h = cand(SC_CAND_HOST, "127.0.0.1", 0);

	presence_set_hosts(m, port, &h, 1);
}

/* The member sent IDENTITY: a key made of one byte. */
static void
identity_of(struct presence_member *m, uint8_t b)
{
	memset(m->idkey, b, sizeof(m->idkey));
	m->has_idkey = 1;
}

/*
 * A base with two priorities, a roster, and three members not online,
 * each with its identity key.
 */
static struct fixture *
fixture_new(size_t max_msg)
{
	struct fixture	*f;
	size_t		 i;

	assert_int_equal(sc_crypto_init(), 0);
	log_set_level(LOG_LVL_WARN);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	assert_int_equal(event_base_priority_init(f->base, 2), 0);
	f->p = presence_new(f->base, max_msg, capture_cb, NULL);
	assert_non_null(f->p);
	for (i = 0; i < 3; i++) {
		presence_member_init(&f->m[i], 100 + i);
		identity_of(&f->m[i], (uint8_t)(0x10 + i));
	}
	ncaps = 0;
	drop_me = NULL;
	drop_p = f->p;
	return (f);
}

/* Frees the roster and the base. */
static void
fixture_free(struct fixture *f)
{
	presence_free(f->p);
	event_base_free(f->base);
	free(f);
}

/* Finds the message of that type captured for a member. */
static int
captured(struct presence_member *to, uint8_t type, struct sc_msg *m)
{
	size_t	i;

	for (i = 0; i < ncaps; i++) {
		if (caps[i].to == to && caps[i].msg[0] == type) {
			assert_int_equal(wire_msg_decode(m, caps[i].msg,
			    caps[i].len), 0);
			return (1);
		}
	}
	return (0);
}

/* Finds the PAIRKEY captured for a member. */
static int
pairkey_of(struct presence_member *to, struct sc_msg *m)
{
	return (captured(to, SC_MSG_PAIRKEY, m));
}

static void
test_pair_gives_both_sides_one_key_and_the_other_endpoint(void **state)
{
	struct fixture	*f = fixture_new(1024);
	struct pairkey	*pk = pairkey_new(f->p);
	struct sc_msg	 ma, mb;

	(void)state;
	presence_join(f->p, &f->m[0], "ann");
	presence_join(f->p, &f->m[1], "ben");
	assert_int_equal(pairkey_request(pk, &f->m[0], "cat"), SC_ERR_OFFLINE);
	assert_int_equal(pairkey_request(pk, &f->m[0], "ben"), SC_ERR_NO_UDP);
	udp_from(&f->m[0], 1111);
	assert_int_equal(pairkey_request(pk, &f->m[0], "ben"), SC_ERR_NO_UDP);
	udp_from(&f->m[1], 2222);
	f->m[1].has_idkey = 0;
	assert_int_equal(pairkey_request(pk, &f->m[0], "ben"),
	    SC_ERR_NO_IDENTITY);
	f->m[1].has_idkey = 1;
	f->m[0].has_idkey = 0;
	assert_int_equal(pairkey_request(pk, &f->m[0], "ben"),
	    SC_ERR_NO_IDENTITY);
	f->m[0].has_idkey = 1;
	ncaps = 0;
	assert_int_equal(pairkey_request(pk, &f->m[0], "ben"), 0);
	assert_true(pairkey_of(&f->m[0], &ma));
	assert_true(pairkey_of(&f->m[1], &mb));
	assert_string_equal(ma.name, "ben");
	assert_string_equal(mb.name, "ann");
	/* Each side gets the other's identity key. */
	assert_memory_equal(ma.idkey, f->m[1].idkey, SC_KEY_BYTES);
	assert_memory_equal(mb.idkey, f->m[0].idkey, SC_KEY_BYTES);
	assert_int_equal(ma.pair_id, mb.pair_id);
	assert_memory_equal(ma.key, mb.key, SC_KEY_BYTES);
	assert_int_equal(ma.cand[0].port, 2222);
	assert_int_equal(mb.cand[0].port, 1111);
	assert_int_equal(ma.cand[0].af, 4);
	assert_int_equal(pairkey_count(pk), 1);
	assert_int_equal(f->m[0].npairs, 1);
	assert_int_equal(f->m[1].npairs, 1);

	/* Asked again, from the other side: the same key, to it alone. */
	ncaps = 0;
	assert_int_equal(pairkey_request(pk, &f->m[1], "ann"), 0);
	assert_int_equal(ncaps, 1);
	assert_true(pairkey_of(&f->m[1], &mb));
	assert_int_equal(ma.pair_id, mb.pair_id);
	assert_int_equal(pairkey_count(pk), 1);

	/* The pair dies with either member. */
	pairkey_forget(pk, &f->m[1]);
	presence_leave(f->p, &f->m[1]);
	assert_int_equal(pairkey_count(pk), 0);
	assert_int_equal(f->m[0].npairs, 0);
	assert_true(TAILQ_EMPTY(&f->m[0].pairs));
	pairkey_free(pk);
	fixture_free(f);
}

static void
test_self_pair_is_one_message_with_own_endpoint(void **state)
{
	struct fixture	*f = fixture_new(1024);
	struct pairkey	*pk = pairkey_new(f->p);
	struct sc_msg	 m;

	(void)state;
	presence_join(f->p, &f->m[0], "solo");
	udp_from(&f->m[0], 3333);
	pairkey_set_relay(pk, 1);
	ncaps = 0;
	assert_int_equal(pairkey_request(pk, &f->m[0], "solo"), 0);
	assert_int_equal(ncaps, 1);
	assert_true(pairkey_of(&f->m[0], &m));
	assert_string_equal(m.name, "solo");
	assert_int_equal(m.cand[0].port, 3333);
	assert_int_equal(m.flags, 0);		/* the relay never serves it */
	assert_int_equal(f->m[0].npairs, 1);
	pairkey_forget(pk, &f->m[0]);
	assert_int_equal(pairkey_count(pk), 0);
	pairkey_free(pk);
	fixture_free(f);
}

static void
test_pairs_per_member_bounded_oldest_ends(void **state)
{
	struct fixture		*f = fixture_new(1024);
	struct pairkey		*pk = pairkey_new(f->p);
	struct presence_member	*peers;
	char			 name[16];
	size_t			 i, n = PAIRKEY_PER_MEMBER + 4;

	(void)state;
	peers = calloc(n, sizeof(*peers));
	assert_non_null(peers);
	presence_join(f->p, &f->m[0], "hub");
	udp_from(&f->m[0], 1);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "p%zu", i);
		presence_member_init(&peers[i], 1000 + i);
		identity_of(&peers[i], 0x77);
		assert_int_equal(presence_join(f->p, &peers[i], name), 0);
		udp_from(&peers[i], (uint16_t)(1000 + i));
		assert_int_equal(pairkey_request(pk, &f->m[0], name), 0);
		ncaps = 0;
	}
	assert_int_equal(f->m[0].npairs, PAIRKEY_PER_MEMBER);
	assert_int_equal(pairkey_count(pk), PAIRKEY_PER_MEMBER);
	for (i = 0; i < 4; i++)
		assert_int_equal(peers[i].npairs, 0);	/* oldest ended */
	assert_int_equal(peers[n - 1].npairs, 1);
	pairkey_forget(pk, &f->m[0]);
	for (i = 0; i < n; i++)
		assert_int_equal(peers[i].npairs, 0);
	assert_int_equal(pairkey_count(pk), 0);
	pairkey_free(pk);
	free(peers);
	fixture_free(f);
}

/*
 * Three members online, each having sent UDP from port 1000 + i: ann,
 * ben, cat.  The callback drops members of this roster and pk.
 */
static struct fixture *
three_online(struct pairkey **pk)
{
	struct fixture	*f = fixture_new(1024);
	const char	*names[] = { "ann", "ben", "cat" };
	size_t		 i;

	assert_non_null(*pk = pairkey_new(f->p));
	drop_pk = *pk;
	for (i = 0; i < 3; i++) {
		assert_int_equal(presence_join(f->p, &f->m[i], names[i]), 0);
		udp_from(&f->m[i], (uint16_t)(1000 + i));
	}
	return (f);
}

/* The pair id of the pair of a and b (a asks for it). */
static uint64_t
pair_of(struct pairkey *pk, struct presence_member *a, const char *b)
{
	struct sc_msg	m;

	ncaps = 0;
	assert_int_equal(pairkey_request(pk, a, b), 0);
	assert_true(pairkey_of(a, &m));
	ncaps = 0;
	return (m.pair_id);
}

/*
 * PAIRKEY carries the peer's HOST candidates in the order given, then its
 * SRFLX endpoint, and the flag RELAY while the relay is on (never for a
 * pair with oneself); with the relay off, no flag.
 */
static void
test_pairkey_carries_hosts_then_srflx_and_the_relay_flag(void **state)
{
	struct pairkey	*pk;
	struct fixture	*f = three_online(&pk);
	struct sc_cand	 h[2], sr;
	struct sc_msg	 m;

	(void)state;
	h[0] = cand(SC_CAND_HOST, "10.0.0.1", 0);
	h[1] = cand(SC_CAND_HOST, "192.168.1.2", 0);
	assert_int_equal(presence_set_hosts(&f->m[0], 1111, h, 2), 1);
	assert_int_equal(presence_set_hosts(&f->m[0], 1111, h, 2), 0);
	assert_int_equal(presence_set_hosts(&f->m[0], 1112, h, 2), 1);
	assert_int_equal(presence_set_hosts(&f->m[0], 1111, h, 2), 1);
	sr = cand(SC_CAND_SRFLX, "203.0.113.5", 40000);
	assert_int_equal(presence_set_srflx(&f->m[0], &sr), 1);
	assert_int_equal(presence_set_srflx(&f->m[0], &sr), 0);

	pairkey_set_relay(pk, 1);
	ncaps = 0;
	assert_int_equal(pairkey_request(pk, &f->m[0], "ben"), 0);
	assert_true(pairkey_of(&f->m[1], &m));
	assert_int_equal(m.flags, SC_PAIR_RELAY);
	assert_int_equal(m.ncand, 3);
	assert_int_equal(m.cand[0].kind, SC_CAND_HOST);
	assert_memory_equal(m.cand[0].addr, h[0].addr, 4);
	assert_int_equal(m.cand[0].port, 1111);
	assert_int_equal(m.cand[1].kind, SC_CAND_HOST);
	assert_memory_equal(m.cand[1].addr, h[1].addr, 4);
	assert_int_equal(m.cand[1].port, 1111);
	assert_int_equal(m.cand[2].kind, SC_CAND_SRFLX);
	assert_memory_equal(m.cand[2].addr, sr.addr, 4);
	assert_int_equal(m.cand[2].port, 40000);
	assert_true(pairkey_of(&f->m[0], &m));
	assert_int_equal(m.flags, SC_PAIR_RELAY);
	assert_int_equal(m.ncand, 1);
	assert_int_equal(m.cand[0].port, 1001);

	pairkey_set_relay(pk, 0);
	ncaps = 0;
	assert_int_equal(pairkey_request(pk, &f->m[0], "cat"), 0);
	assert_true(pairkey_of(&f->m[2], &m));
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.ncand, 3);
	pairkey_free(pk);
	fixture_free(f);
}

/*
 * The index by pair id: the two members of a pair, the one of a pair
 * with oneself, nothing for an unknown id or a pair that ended.
 */
static void
test_route_finds_the_sides_of_a_pair_by_its_id(void **state)
{
	struct pairkey		*pk;
	struct fixture		*f = three_online(&pk);
	struct presence_member	*side[2];
	uint64_t		 id, self_id;

	(void)state;
	id = pair_of(pk, &f->m[0], "ben");
	self_id = pair_of(pk, &f->m[0], "ann");
	assert_int_equal(pairkey_route(pk, id, side), 2);
	assert_true((side[0] == &f->m[0] && side[1] == &f->m[1]) ||
	    (side[0] == &f->m[1] && side[1] == &f->m[0]));
	assert_int_equal(pairkey_route(pk, self_id, side), 1);
	assert_ptr_equal(side[0], &f->m[0]);
	assert_null(side[1]);
	assert_int_equal(pairkey_route(pk, id ^ self_id ^ 1, side), 0);
	assert_null(side[0]);
	pairkey_forget(pk, &f->m[1]);
	assert_int_equal(pairkey_route(pk, id, side), 0);
	assert_int_equal(pairkey_route(pk, self_id, side), 1);
	pairkey_forget(pk, &f->m[0]);
	assert_int_equal(pairkey_route(pk, self_id, side), 0);
	pairkey_free(pk);
	fixture_free(f);
}

/* How many messages of that type were captured. */
static size_t
count_of(uint8_t type)
{
	size_t	i, n = 0;

	for (i = 0; i < ncaps; i++)
		n += caps[i].msg[0] == type;
	return (n);
}

/* The CANDIDATES captured for a member about pair id (or fails). */
static void
candidates_of(struct presence_member *to, uint64_t id, struct sc_msg *m)
{
	size_t	i;

	for (i = 0; i < ncaps; i++) {
		if (caps[i].to != to || caps[i].msg[0] != SC_MSG_CANDIDATES)
			continue;
		assert_int_equal(wire_msg_decode(m, caps[i].msg,
		    caps[i].len), 0);
		if (m->pair_id == id)
			return;
	}
	fail_msg("no CANDIDATES for pair %llx", (unsigned long long)id);
}

/*
 * A member's candidates changed: both sides of each of its pairs get
 * CANDIDATES with the other side's list (the pair with oneself: one
 * message with its own list).
 */
static void
test_announce_sends_each_side_the_other_list(void **state)
{
	struct pairkey	*pk;
	struct fixture	*f = three_online(&pk);
	struct sc_cand	 sr = cand(SC_CAND_SRFLX, "198.51.100.7", 5555);
	struct sc_msg	 m;
	uint64_t	 ab, ac, aa;

	(void)state;
	pairkey_set_relay(pk, 1);
	ab = pair_of(pk, &f->m[0], "ben");
	ac = pair_of(pk, &f->m[2], "ann");
	aa = pair_of(pk, &f->m[0], "ann");
	assert_int_equal(presence_set_srflx(&f->m[0], &sr), 1);
	pairkey_announce(pk, &f->m[0]);
	assert_int_equal(count_of(SC_MSG_CANDIDATES), 5);
	candidates_of(&f->m[1], ab, &m);
	assert_int_equal(m.flags, SC_PAIR_RELAY);
	assert_int_equal(m.ncand, 2);
	assert_int_equal(m.cand[1].kind, SC_CAND_SRFLX);
	assert_int_equal(m.cand[1].port, 5555);
	candidates_of(&f->m[2], ac, &m);
	assert_int_equal(m.ncand, 2);
	candidates_of(&f->m[0], ab, &m);
	assert_int_equal(m.ncand, 1);
	assert_int_equal(m.cand[0].port, 1001);
	candidates_of(&f->m[0], ac, &m);
	assert_int_equal(m.cand[0].port, 1002);
	candidates_of(&f->m[0], aa, &m);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.ncand, 2);
	pairkey_free(pk);
	fixture_free(f);
}

/*
 * RECHECK: the peer's list to the requester first, then the requester's to
 * the peer; once a second per pair, whichever side asks; only for a pair
 * of the requester.
 */
static void
test_recheck_once_a_second_per_pair_and_only_own_pairs(void **state)
{
	struct pairkey	*pk;
	struct fixture	*f = three_online(&pk);
	struct sc_msg	 m;
	uint64_t	 ab, bc;

	(void)state;
	ab = pair_of(pk, &f->m[0], "ben");
	bc = pair_of(pk, &f->m[1], "cat");
	assert_int_equal(pairkey_recheck(pk, &f->m[0], ab, 5000), 0);
	assert_int_equal(ncaps, 2);	/* all caught up by pair_of() */
	assert_ptr_equal(caps[0].to, &f->m[0]);
	assert_ptr_equal(caps[1].to, &f->m[1]);
	candidates_of(&f->m[0], ab, &m);
	assert_int_equal(m.cand[0].port, 1001);
	candidates_of(&f->m[1], ab, &m);
	assert_int_equal(m.cand[0].port, 1000);
	ncaps = 0;
	assert_int_equal(pairkey_recheck(pk, &f->m[0], ab, 5500), 0);
	assert_int_equal(pairkey_recheck(pk, &f->m[1], ab, 5999), 0);
	assert_int_equal(ncaps, 0);
	assert_int_equal(pairkey_recheck(pk, &f->m[1], ab, 6000), 0);
	assert_int_equal(ncaps, 2);
	assert_ptr_equal(caps[0].to, &f->m[1]);
	ncaps = 0;
	assert_int_equal(pairkey_recheck(pk, &f->m[0], bc, 9000),
	    SC_ERR_OFFLINE);
	assert_int_equal(pairkey_recheck(pk, &f->m[0], ab ^ bc ^ 1, 9000),
	    SC_ERR_OFFLINE);
	assert_int_equal(ncaps, 0);
	pairkey_free(pk);
	fixture_free(f);
}

/* Turning the relay on or off tells both sides of every pair. */
static void
test_relay_switch_is_told_to_every_pair(void **state)
{
	struct pairkey	*pk;
	struct fixture	*f = three_online(&pk);
	struct sc_msg	 m;
	uint64_t	 ab, bc;
	size_t		 i;

	(void)state;
	pairkey_set_relay(pk, 1);
	ab = pair_of(pk, &f->m[0], "ben");
	bc = pair_of(pk, &f->m[1], "cat");
	pairkey_set_relay(pk, 1);
	assert_int_equal(ncaps, 0);
	pairkey_set_relay(pk, 0);
	assert_int_equal(ncaps, 4);
	for (i = 0; i < ncaps; i++) {
		assert_int_equal(wire_msg_decode(&m, caps[i].msg,
		    caps[i].len), 0);
		assert_int_equal(m.type, SC_MSG_CANDIDATES);
		assert_int_equal(m.flags, 0);
		assert_true(m.pair_id == ab || m.pair_id == bc);
	}
	pairkey_free(pk);
	fixture_free(f);
}

/*
 * A side that cannot take its CANDIDATES is dropped inside the send, and
 * its pairs end there: the other messages still go, to the pairs still
 * alive, and nothing is touched after it is freed.
 */
static void
test_a_side_dropped_while_told_ends_its_pairs_safely(void **state)
{
	struct pairkey		*pk;
	struct fixture		*f = three_online(&pk);
	struct presence_member	*side[2];
	uint64_t		 ab, ac;

	(void)state;
	ab = pair_of(pk, &f->m[0], "ben");
	ac = pair_of(pk, &f->m[0], "cat");
	drop_me = &f->m[1];
	pairkey_announce(pk, &f->m[0]);
	assert_null(drop_me);
	assert_int_equal(pairkey_route(pk, ab, side), 0);
	assert_int_equal(pairkey_route(pk, ac, side), 2);
	/* ann's of the pair with ben, before ben; the pair with cat */
	assert_int_equal(count_of(SC_MSG_CANDIDATES), 3);
	drop_me = &f->m[0];
	ncaps = 0;
	assert_int_equal(pairkey_recheck(pk, &f->m[0], ac, 1000), 0);
	assert_int_equal(pairkey_count(pk), 0);
	assert_int_equal(count_of(SC_MSG_CANDIDATES), 0);
	pairkey_free(pk);
	fixture_free(f);
}

/* Runs every test of this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_pair_gives_both_sides_one_key_and_the_other_endpoint),
		cmocka_unit_test(
		    test_self_pair_is_one_message_with_own_endpoint),
		cmocka_unit_test(test_pairs_per_member_bounded_oldest_ends),
		cmocka_unit_test(
		    test_pairkey_carries_hosts_then_srflx_and_the_relay_flag),
		cmocka_unit_test(
		    test_route_finds_the_sides_of_a_pair_by_its_id),
		cmocka_unit_test(test_announce_sends_each_side_the_other_list),
		cmocka_unit_test(
		    test_recheck_once_a_second_per_pair_and_only_own_pairs),
		cmocka_unit_test(test_relay_switch_is_told_to_every_pair),
		cmocka_unit_test(
		    test_a_side_dropped_while_told_ends_its_pairs_safely),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
