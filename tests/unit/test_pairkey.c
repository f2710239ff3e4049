/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/server/pairkey.c: pair keys made for two members,
 * routed through a real presence roster, ended with either member and
 * bounded per member.  Messages are captured by the roster's delivery
 * callback and decoded with the wire codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static struct captured	caps[CAP_MAX];
static size_t		ncaps;

/* Delivery callback: records every message, with its receiver. */
static int
capture_cb(struct presence_member *to, const uint8_t *msg, size_t len,
    void *arg)
{
	(void)arg;
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
	struct presence_member	 m[2];
};

/* A base with two priorities, a roster, and two members not online yet. */
static struct fixture *
fixture_new(size_t max_msg)
{
	struct fixture	*f;
	uint8_t		 addr[4] = { 127, 0, 0, 1 };
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
	for (i = 0; i < 2; i++)
		presence_member_init(&f->m[i], 100 + i, 4, addr);
	ncaps = 0;
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

/* Finds the PAIRKEY captured for a member. */
static int
pairkey_of(struct presence_member *to, struct sc_msg *m)
{
	size_t	i;

	for (i = 0; i < ncaps; i++) {
		if (caps[i].to == to && caps[i].msg[0] == SC_MSG_PAIRKEY) {
			assert_int_equal(wire_msg_decode(m, caps[i].msg,
			    caps[i].len), 0);
			return (1);
		}
	}
	return (0);
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
	presence_set_udp(&f->m[0], 1111);
	assert_int_equal(pairkey_request(pk, &f->m[0], "ben"), SC_ERR_NO_UDP);
	presence_set_udp(&f->m[1], 2222);
	ncaps = 0;
	assert_int_equal(pairkey_request(pk, &f->m[0], "ben"), 0);
	assert_true(pairkey_of(&f->m[0], &ma));
	assert_true(pairkey_of(&f->m[1], &mb));
	assert_string_equal(ma.name, "ben");
	assert_string_equal(mb.name, "ann");
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
	presence_set_udp(&f->m[0], 3333);
	ncaps = 0;
	assert_int_equal(pairkey_request(pk, &f->m[0], "solo"), 0);
	assert_int_equal(ncaps, 1);
	assert_true(pairkey_of(&f->m[0], &m));
	assert_string_equal(m.name, "solo");
	assert_int_equal(m.cand[0].port, 3333);
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
	uint8_t			 ip[4] = { 127, 0, 0, 1 };
	char			 name[16];
	size_t			 i, n = PAIRKEY_PER_MEMBER + 4;

	(void)state;
	peers = calloc(n, sizeof(*peers));
	assert_non_null(peers);
	presence_join(f->p, &f->m[0], "hub");
	presence_set_udp(&f->m[0], 1);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "p%zu", i);
		presence_member_init(&peers[i], 1000 + i, 4, ip);
		assert_int_equal(presence_join(f->p, &peers[i], name), 0);
		presence_set_udp(&peers[i], (uint16_t)(1000 + i));
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
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
