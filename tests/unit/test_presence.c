/*
 * Unit tests for src/server/presence.c (roster, journal, cursors, trim,
 * batching, USERS lists) and src/server/pairkey.c (pair keys routed through
 * the roster).  Messages are captured by a delivery callback and decoded
 * with the wire codec.
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

#define CAP_MAX		512
#define MSG_MAX		2048

struct captured {
	struct presence_member	*to;
	size_t			 len;
	uint8_t			 msg[MSG_MAX];
};

static struct captured		 caps[CAP_MAX];
static size_t			 ncaps;
static struct presence		*cur;		/* for drop_me */
static struct presence_member	*drop_me;	/* leaves on delivery */

/* Delivery callback: records the message; drop_me leaves instead. */
static int
capture_cb(struct presence_member *to, const uint8_t *msg, size_t len,
    void *arg)
{
	(void)arg;
	if (to == drop_me) {
		presence_leave(cur, to);
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
	struct presence_member	 m[64];
};

/* A base with two priorities and a roster with messages of max_msg. */
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
	for (i = 0; i < 64; i++) {
		uint8_t	addr[4] = { 127, 0, 0, 1 };

		presence_member_init(&f->m[i], 100 + i, 4, addr);
	}
	ncaps = 0;
	drop_me = NULL;
	cur = f->p;
	return (f);
}

static void
fixture_free(struct fixture *f)
{
	presence_free(f->p);
	event_base_free(f->base);
	free(f);
}

/* Events of the PRESENCE messages delivered to one member, as "+a -b". */
static void
events_of(struct presence_member *to, char *out, size_t outlen)
{
	struct sc_msg	m;
	char		name[SC_NAME_MAX + 1];
	size_t		i, off;
	int		online;

	out[0] = '\0';
	for (i = 0; i < ncaps; i++) {
		if (caps[i].to != to)
			continue;
		assert_int_equal(wire_msg_decode(&m, caps[i].msg,
		    caps[i].len), 0);
		if (m.type != SC_MSG_PRESENCE)
			continue;
		off = 0;
		while (wire_presence_next(&m, &off, &online, name)) {
			strncat(out, online ? "+" : "-", outlen -
			    strlen(out) - 1);
			strncat(out, name, outlen - strlen(out) - 1);
			strncat(out, " ", outlen - strlen(out) - 1);
		}
	}
}

/* PRESENCE messages delivered to one member. */
static size_t
messages_to(struct presence_member *to, uint8_t type)
{
	size_t	i, n = 0;

	for (i = 0; i < ncaps; i++) {
		if (caps[i].to == to && caps[i].msg[0] == type)
			n++;
	}
	return (n);
}

static void
test_join_appends_one_entry_and_starts_cursor_after_it(void **state)
{
	struct fixture	*f = fixture_new(1024);

	(void)state;
	assert_int_equal(presence_join(f->p, &f->m[0], "alice"), 0);
	assert_int_equal(presence_journal_len(f->p), 2 + 5);
	assert_int_equal(f->m[0].cursor, 2 + 5);
	presence_flush(f->p);
	assert_int_equal(ncaps, 0);	/* never its own event */
	assert_int_equal(presence_journal_len(f->p), 0);
	fixture_free(f);
}

static void
test_login_reaches_every_other_member_in_one_message(void **state)
{
	struct fixture	*f = fixture_new(1024);
	char		 ev[256];

	(void)state;
	assert_int_equal(presence_join(f->p, &f->m[0], "a"), 0);
	assert_int_equal(presence_join(f->p, &f->m[1], "b"), 0);
	assert_int_equal(presence_join(f->p, &f->m[2], "c"), 0);
	presence_flush(f->p);
	events_of(&f->m[0], ev, sizeof(ev));
	assert_string_equal(ev, "+b +c ");
	assert_int_equal(messages_to(&f->m[0], SC_MSG_PRESENCE), 1);
	events_of(&f->m[1], ev, sizeof(ev));
	assert_string_equal(ev, "+c ");
	events_of(&f->m[2], ev, sizeof(ev));
	assert_string_equal(ev, "");
	assert_int_equal(presence_journal_len(f->p), 0);
	fixture_free(f);
}

static void
test_every_member_sees_events_in_one_order(void **state)
{
	struct fixture	*f = fixture_new(1024);
	char		 ea[256], eb[256];

	(void)state;
	presence_join(f->p, &f->m[0], "a");
	presence_join(f->p, &f->m[1], "b");
	presence_flush(f->p);
	ncaps = 0;
	presence_join(f->p, &f->m[2], "c");
	presence_join(f->p, &f->m[3], "d");
	presence_leave(f->p, &f->m[2]);
	presence_leave(f->p, &f->m[3]);
	presence_join(f->p, &f->m[4], "c");
	presence_flush(f->p);
	events_of(&f->m[0], ea, sizeof(ea));
	events_of(&f->m[1], eb, sizeof(eb));
	assert_string_equal(ea, "+c +d -c -d +c ");
	assert_string_equal(ea, eb);
	events_of(&f->m[4], ea, sizeof(ea));
	assert_string_equal(ea, "");	/* joined after all of it */
	fixture_free(f);
}

static void
test_messages_split_at_max_msg_on_entry_bounds(void **state)
{
	struct fixture	*f = fixture_new(40);	/* 3 entries of 12 */
	char		 name[16], ev[512], want[512];
	size_t		 i;

	(void)state;
	presence_join(f->p, &f->m[0], "watcher");
	presence_flush(f->p);
	want[0] = '\0';
	for (i = 1; i <= 7; i++) {
		snprintf(name, sizeof(name), "member%04zu", i);
		assert_int_equal(presence_join(f->p, &f->m[i], name), 0);
		strcat(want, "+");
		strcat(want, name);
		strcat(want, " ");
	}
	presence_flush(f->p);
	for (i = 0; i < ncaps; i++)
		assert_true(caps[i].len <= 40);
	assert_int_equal(messages_to(&f->m[0], SC_MSG_PRESENCE), 3);
	events_of(&f->m[0], ev, sizeof(ev));
	assert_string_equal(ev, want);
	fixture_free(f);
}

static void
test_member_dropped_on_delivery_leaves_and_others_learn_next_pass(
    void **state)
{
	struct fixture	*f = fixture_new(1024);
	char		 ev[256];

	(void)state;
	presence_join(f->p, &f->m[0], "a");
	presence_join(f->p, &f->m[1], "b");
	presence_join(f->p, &f->m[2], "c");
	presence_flush(f->p);
	ncaps = 0;
	drop_me = &f->m[1];	/* b cannot take output */
	presence_join(f->p, &f->m[3], "d");
	presence_flush(f->p);
	assert_false(f->m[1].joined);
	assert_null(presence_lookup(f->p, "b"));
	/* The offline entry waits for the next pass; the journal keeps it. */
	assert_true(presence_journal_len(f->p) > 0);
	presence_flush(f->p);
	assert_int_equal(presence_journal_len(f->p), 0);
	events_of(&f->m[0], ev, sizeof(ev));
	assert_string_equal(ev, "+d -b ");
	events_of(&f->m[2], ev, sizeof(ev));
	assert_string_equal(ev, "+d -b ");
	events_of(&f->m[3], ev, sizeof(ev));
	assert_string_equal(ev, "-b ");
	fixture_free(f);
}

static void
test_journal_trimmed_only_past_every_cursor(void **state)
{
	struct fixture	*f = fixture_new(1024);
	size_t		 before;

	(void)state;
	presence_join(f->p, &f->m[0], "a");
	presence_flush(f->p);
	presence_join(f->p, &f->m[1], "b");
	presence_join(f->p, &f->m[2], "c");
	before = presence_journal_len(f->p);
	assert_int_equal(before, 6);
	/* a catches up alone (as before a LIST answer); b is still behind. */
	presence_send_users(f->p, &f->m[0], SC_USERS_REPLY);
	assert_int_equal(f->m[0].cursor, f->m[2].cursor);
	assert_true(f->m[1].cursor < f->m[2].cursor);
	assert_int_equal(presence_journal_len(f->p), before);
	presence_flush(f->p);
	assert_int_equal(presence_journal_len(f->p), 0);
	presence_leave(f->p, &f->m[0]);
	presence_leave(f->p, &f->m[1]);
	presence_leave(f->p, &f->m[2]);
	/* Nobody left to tell: nothing is kept. */
	assert_int_equal(presence_journal_len(f->p), 0);
	fixture_free(f);
}

static void
test_roster_lookup_and_one_member_per_name(void **state)
{
	struct fixture	*f = fixture_new(1024);

	(void)state;
	assert_int_equal(presence_join(f->p, &f->m[0], "zed"), 0);
	assert_int_equal(presence_join(f->p, &f->m[1], "zed"), -1);
	assert_int_equal(presence_join(f->p, &f->m[2], "Bad"), -1);
	assert_ptr_equal(presence_lookup(f->p, "zed"), &f->m[0]);
	assert_null(presence_lookup(f->p, "amy"));
	assert_int_equal(presence_online(f->p), 1);
	presence_leave(f->p, &f->m[0]);
	assert_null(presence_lookup(f->p, "zed"));
	assert_int_equal(presence_join(f->p, &f->m[1], "zed"), 0);
	assert_int_equal(presence_online(f->p), 1);
	fixture_free(f);
}

static void
test_users_list_sorted_without_self_and_split_with_more(void **state)
{
	static const char *const names[] = { "mmmmmmmmmm", "bbbbbbbbbb",
	    "zzzzzzzzzz", "aaaaaaaaaa", "0000000000", "yyyyyyyyyy",
	    "cccccccccc" };
	struct fixture	*f = fixture_new(40);
	struct sc_msg	 m;
	char		 list[512], name[SC_NAME_MAX + 1];
	size_t		 i, off, frames = 0;
	long		 total;

	(void)state;
	for (i = 0; i < 7; i++)
		assert_int_equal(presence_join(f->p, &f->m[i], names[i]), 0);
	presence_flush(f->p);
	ncaps = 0;
	total = presence_send_users(f->p, &f->m[0], 0);
	assert_true(total > 0);
	list[0] = '\0';
	for (i = 0; i < ncaps; i++) {
		assert_ptr_equal(caps[i].to, &f->m[0]);
		assert_true(caps[i].len <= 40);
		assert_int_equal(wire_msg_decode(&m, caps[i].msg,
		    caps[i].len), 0);
		assert_int_equal(m.type, SC_MSG_USERS);
		if (i + 1 < ncaps)
			assert_int_equal(m.flags, SC_USERS_MORE);
		else
			assert_int_equal(m.flags, 0);
		off = 0;
		while (wire_users_next(&m, &off, name)) {
			strcat(list, name);
			strcat(list, " ");
		}
		frames++;
	}
	assert_true(frames >= 2);
	assert_string_equal(list, "0000000000 aaaaaaaaaa bbbbbbbbbb "
	    "cccccccccc yyyyyyyyyy zzzzzzzzzz ");
	fixture_free(f);
}

static void
test_users_list_alone_is_one_empty_frame(void **state)
{
	struct fixture	*f = fixture_new(1024);
	struct sc_msg	 m;

	(void)state;
	presence_join(f->p, &f->m[0], "solo");
	presence_send_users(f->p, &f->m[0], SC_USERS_REPLY);
	assert_int_equal(ncaps, 1);
	assert_int_equal(wire_msg_decode(&m, caps[0].msg, caps[0].len), 0);
	assert_int_equal(m.flags, SC_USERS_REPLY);
	assert_int_equal(m.list_len, 0);
	fixture_free(f);
}

static void
test_list_reply_delivers_owed_events_first(void **state)
{
	struct fixture	*f = fixture_new(1024);

	(void)state;
	presence_join(f->p, &f->m[0], "a");
	presence_flush(f->p);
	presence_join(f->p, &f->m[1], "b");
	presence_send_users(f->p, &f->m[0], SC_USERS_REPLY);
	assert_int_equal(ncaps, 2);
	assert_int_equal(caps[0].msg[0], SC_MSG_PRESENCE);
	assert_int_equal(caps[1].msg[0], SC_MSG_USERS);
	presence_flush(f->p);
	assert_int_equal(ncaps, 2);	/* nothing twice */
	fixture_free(f);
}

static void
test_sent_message_never_overtakes_owed_events(void **state)
{
	struct fixture	*f = fixture_new(1024);
	const uint8_t	 pong[] = { SC_MSG_PONG, 0, 0, 0, 0, 0, 0, 0, 7 };

	(void)state;
	presence_join(f->p, &f->m[0], "a");
	presence_flush(f->p);
	presence_join(f->p, &f->m[1], "b");
	/* "b" is online but a's flush has not run: the event goes first. */
	assert_int_equal(presence_send(f->p, &f->m[0], pong, sizeof(pong)), 0);
	assert_int_equal(ncaps, 2);
	assert_int_equal(caps[0].msg[0], SC_MSG_PRESENCE);
	assert_int_equal(caps[1].msg[0], SC_MSG_PONG);
	presence_flush(f->p);
	assert_int_equal(ncaps, 2);	/* nothing twice */
	fixture_free(f);
}

static void
test_flush_runs_from_the_loop_after_a_join(void **state)
{
	struct fixture	*f = fixture_new(1024);
	char		 ev[64];

	(void)state;
	presence_join(f->p, &f->m[0], "a");
	presence_join(f->p, &f->m[1], "b");
	assert_int_equal(ncaps, 0);	/* nothing sent from inside join */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	events_of(&f->m[0], ev, sizeof(ev));
	assert_string_equal(ev, "+b ");
	assert_int_equal(presence_journal_len(f->p), 0);
	fixture_free(f);
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
	assert_int_equal(ma.port, 2222);
	assert_int_equal(mb.port, 1111);
	assert_int_equal(ma.af, 4);
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
	assert_int_equal(m.port, 3333);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_join_appends_one_entry_and_starts_cursor_after_it),
		cmocka_unit_test(
		    test_login_reaches_every_other_member_in_one_message),
		cmocka_unit_test(test_every_member_sees_events_in_one_order),
		cmocka_unit_test(
		    test_messages_split_at_max_msg_on_entry_bounds),
		cmocka_unit_test(
	    test_member_dropped_on_delivery_leaves_and_others_learn_next_pass),
		cmocka_unit_test(test_journal_trimmed_only_past_every_cursor),
		cmocka_unit_test(test_roster_lookup_and_one_member_per_name),
		cmocka_unit_test(
		    test_users_list_sorted_without_self_and_split_with_more),
		cmocka_unit_test(test_users_list_alone_is_one_empty_frame),
		cmocka_unit_test(test_list_reply_delivers_owed_events_first),
		cmocka_unit_test(test_sent_message_never_overtakes_owed_events),
		cmocka_unit_test(test_flush_runs_from_the_loop_after_a_join),
		cmocka_unit_test(
		    test_pair_gives_both_sides_one_key_and_the_other_endpoint),
		cmocka_unit_test(
		    test_self_pair_is_one_message_with_own_endpoint),
		cmocka_unit_test(test_pairs_per_member_bounded_oldest_ends),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
