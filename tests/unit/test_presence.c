/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/server/presence.c: roster, journal, cursors, trim,
 * batching, USERS lists.  Messages are captured by a delivery callback and
 * decoded with the wire codec.
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
	for (i = 0; i < 64; i++)
		presence_member_init(&f->m[i], 100 + i);
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

/*
 * The USERS list against a reference: the names of the joined members
 * other than the receiver, sorted with strcmp and cut greedily at max_msg,
 * are encoded here entry by entry and compared byte for byte.
 */
#define REF_MEMBERS	300
#define REF_OPS		600
#define REF_OUT		(256 * 1024)

struct users_out {
	uint8_t		 bytes[REF_OUT];	/* messages back to back */
	size_t		 len;
	size_t		 nmsg;
	size_t		 lens[4096];
};

static struct users_out		 got, want;
static struct presence_member	*users_hook_leave;	/* leaves on a USERS */
static struct presence_member	*users_hook_join;	/* joins then */
static const char		*users_hook_name;

/* Appends one message to an output record. */
static void
users_out_add(struct users_out *o, const uint8_t *msg, size_t len)
{
	assert_true(o->len + len <= REF_OUT);
	assert_true(o->nmsg < sizeof(o->lens) / sizeof(o->lens[0]));
	memcpy(o->bytes + o->len, msg, len);
	o->len += len;
	o->lens[o->nmsg++] = len;
}

/* Delivery callback of the list tests: keeps USERS messages only. */
static int
users_cb(struct presence_member *to, const uint8_t *msg, size_t len,
    void *arg)
{
	struct presence_member	*l = users_hook_leave, *j = users_hook_join;

	(void)to;
	(void)arg;
	if (len == 0 || msg[0] != SC_MSG_USERS)
		return (0);
	users_out_add(&got, msg, len);
	users_hook_leave = NULL;
	users_hook_join = NULL;
	if (l != NULL)
		presence_leave(cur, l);
	if (j != NULL)
		assert_int_equal(presence_join(cur, j, users_hook_name), 0);
	return (0);
}

/* strcmp for qsort over an array of names. */
static int
ref_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* The reference USERS messages for receiver r among members mm[0..n). */
static void
ref_users(struct presence_member *mm, size_t n, struct presence_member *r,
    size_t max_msg, uint8_t flags, struct users_out *o)
{
	const char	**names;
	uint8_t		  msg[4096];
	size_t		  i, k = 0, len = 0, nl;

	names = calloc(n + 1, sizeof(*names));
	assert_non_null(names);
	for (i = 0; i < n; i++) {
		if (mm[i].joined && &mm[i] != r)
			names[k++] = mm[i].name;
	}
	qsort(names, k, sizeof(*names), ref_cmp);
	memset(o, 0, sizeof(*o));
	msg[len++] = SC_MSG_USERS;
	msg[len++] = flags;
	for (i = 0; i < k; i++) {
		nl = strlen(names[i]);
		if (len + 1 + nl > max_msg) {
			msg[1] = flags | SC_USERS_MORE;
			users_out_add(o, msg, len);
			len = 2;
			msg[1] = flags;
		}
		msg[len++] = (uint8_t)nl;
		memcpy(msg + len, names[i], nl);
		len += nl;
	}
	users_out_add(o, msg, len);
	free(names);
}

/* Asks presence for r's list and checks it against the reference. */
static void
check_users(struct presence *p, struct presence_member *mm, size_t n,
    struct presence_member *r, size_t max_msg, uint8_t flags)
{
	long	total;

	memset(&got, 0, sizeof(got));
	total = presence_send_users(p, r, flags);
	ref_users(mm, n, r, max_msg, flags, &want);
	assert_int_equal(total, (long)want.len);
	assert_int_equal(got.nmsg, want.nmsg);
	assert_memory_equal(got.lens, want.lens, want.nmsg * sizeof(size_t));
	assert_memory_equal(got.bytes, want.bytes, want.len);
}

/* A presence with users_cb, for the list tests. */
static struct presence *
list_presence(struct event_base **base, size_t max_msg)
{
	struct presence	*p;

	assert_int_equal(sc_crypto_init(), 0);
	log_set_level(LOG_LVL_WARN);
	*base = event_base_new();
	assert_non_null(*base);
	assert_int_equal(event_base_priority_init(*base, 2), 0);
	p = presence_new(*base, max_msg, users_cb, NULL);
	assert_non_null(p);
	cur = p;
	users_hook_leave = NULL;
	users_hook_join = NULL;
	return (p);
}

/* Members set up (not online), n of them. */
static struct presence_member *
list_members(size_t n)
{
	struct presence_member	*mm;
	size_t			 i;

	mm = calloc(n, sizeof(*mm));
	assert_non_null(mm);
	for (i = 0; i < n; i++)
		presence_member_init(&mm[i], 1000 + i);
	return (mm);
}

/* A deterministic generator (64-bit LCG, high bits). */
static uint32_t
ref_rand(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((uint32_t)(*state >> 33));
}

/* Whether name is online among mm[0..n), by a plain scan. */
static int
ref_online(struct presence_member *mm, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (mm[i].joined && strcmp(mm[i].name, name) == 0)
			return (1);
	}
	return (0);
}

/* Random joins and leaves at one max_msg, lists checked along the way. */
static void
random_roster_run(size_t max_msg, uint64_t seed)
{
	static const char	 alpha[] = "ab0z";
	struct event_base	*base;
	struct presence		*p = list_presence(&base, max_msg);
	struct presence_member	*mm = list_members(REF_MEMBERS);
	char			 name[SC_NAME_MAX + 1];
	size_t			 op, i, k, len, online = 0;
	int			 taken;

	for (op = 0; op < REF_OPS; op++) {
		i = ref_rand(&seed) % REF_MEMBERS;
		/* Joins win two to one until the roster is big, then even. */
		if (mm[i].joined &&
		    (online < 150 || ref_rand(&seed) % 3 == 0)) {
			presence_leave(p, &mm[i]);
			assert_false(mm[i].joined);
			online--;
		} else if (!mm[i].joined) {
			/* Short names over few letters: prefixes abound. */
			len = 1 + ref_rand(&seed) % 5;
			if (ref_rand(&seed) % 8 == 0)
				len = SC_NAME_MAX - ref_rand(&seed) % 3;
			for (k = 0; k < len; k++)
				name[k] = alpha[ref_rand(&seed) % 4];
			name[len] = '\0';
			taken = ref_online(mm, REF_MEMBERS, name);
			assert_int_equal(presence_join(p, &mm[i], name),
			    taken ? -1 : 0);
			if (!taken)
				online++;
		}
		assert_int_equal(presence_online(p), online);
		if (op % 50 != 49)
			continue;
		presence_flush(p);
		for (k = 0, i = 0; i < REF_MEMBERS && k < 6; i++) {
			if (!mm[i].joined || ref_rand(&seed) % 4 != 0)
				continue;
			assert_ptr_equal(presence_lookup(p, mm[i].name),
			    &mm[i]);
			check_users(p, mm, REF_MEMBERS, &mm[i], max_msg,
			    k % 2 ? SC_USERS_REPLY : 0);
			k++;
		}
	}
	/* Everyone leaves but two; the list follows down. */
	for (i = 0, k = 0; i < REF_MEMBERS; i++) {
		if (mm[i].joined && k++ >= 2)
			presence_leave(p, &mm[i]);
	}
	for (i = 0; i < REF_MEMBERS; i++) {
		if (mm[i].joined)
			check_users(p, mm, REF_MEMBERS, &mm[i], max_msg, 0);
	}
	presence_free(p);
	event_base_free(base);
	free(mm);
}

static void
test_users_list_equals_reference_walk_after_random_joins_and_leaves(
    void **state)
{
	(void)state;
	random_roster_run(2 + 2 + SC_NAME_MAX, 1);	/* smallest allowed */
	random_roster_run(40, 2);
	random_roster_run(97, 3);
	random_roster_run(4096, 4);
}

static void
test_users_list_after_leave_of_first_last_and_middle(void **state)
{
	static const char *const names[] = { "delta", "alpha", "echo",
	    "charlie", "bravo", "foxtrot", "golf" };
	struct event_base	*base;
	struct presence		*p = list_presence(&base, 40);
	struct presence_member	*mm = list_members(7);
	size_t			 i;

	(void)state;
	for (i = 0; i < 7; i++)
		assert_int_equal(presence_join(p, &mm[i], names[i]), 0);
	check_users(p, mm, 7, &mm[0], 40, 0);
	presence_leave(p, &mm[1]);		/* alpha: the first */
	check_users(p, mm, 7, &mm[0], 40, 0);
	check_users(p, mm, 7, &mm[4], 40, SC_USERS_REPLY);
	presence_leave(p, &mm[6]);		/* golf: the last */
	check_users(p, mm, 7, &mm[0], 40, 0);
	check_users(p, mm, 7, &mm[5], 40, 0);
	presence_leave(p, &mm[0]);		/* delta: the middle */
	check_users(p, mm, 7, &mm[2], 40, 0);
	check_users(p, mm, 7, &mm[3], 40, 0);
	assert_null(presence_lookup(p, "delta"));
	/* The first and the last come back. */
	assert_int_equal(presence_join(p, &mm[1], "alpha"), 0);
	assert_int_equal(presence_join(p, &mm[6], "golf"), 0);
	for (i = 1; i < 7; i++)
		check_users(p, mm, 7, &mm[i], 40, 0);
	presence_free(p);
	event_base_free(base);
	free(mm);
}

static void
test_users_list_orders_a_prefix_before_its_extensions(void **state)
{
	static const char *const names[] = { "abc", "b", "abcd", "a", "ab",
	    "abcde" };
	struct event_base	*base;
	struct presence		*p = list_presence(&base, 1024);
	struct presence_member	*mm = list_members(6);
	struct sc_msg		 m;
	char			 list[128], name[SC_NAME_MAX + 1];
	size_t			 i, off;

	(void)state;
	for (i = 0; i < 6; i++)
		assert_int_equal(presence_join(p, &mm[i], names[i]), 0);
	assert_int_equal(presence_join(p, &mm[0], "ab"), -1);
	assert_ptr_equal(presence_lookup(p, "abcd"), &mm[2]);
	assert_null(presence_lookup(p, "abcdef"));
	memset(&got, 0, sizeof(got));
	assert_true(presence_send_users(p, &mm[0], 0) > 0);
	assert_int_equal(got.nmsg, 1);
	assert_int_equal(wire_msg_decode(&m, got.bytes, got.len), 0);
	list[0] = '\0';
	off = 0;
	while (wire_users_next(&m, &off, name)) {
		strcat(list, name);
		strcat(list, " ");
	}
	assert_string_equal(list, "a ab abcd abcde b ");
	for (i = 0; i < 6; i++)
		check_users(p, mm, 6, &mm[i], 1024, 0);
	presence_leave(p, &mm[4]);	/* "ab" goes, "abc" stays */
	for (i = 0; i < 6; i++) {
		if (mm[i].joined)
			check_users(p, mm, 6, &mm[i], 1024, 0);
	}
	presence_free(p);
	event_base_free(base);
	free(mm);
}

static void
test_users_list_changed_during_delivery_continues_in_order(void **state)
{
	struct event_base	*base;
	struct presence		*p = list_presence(&base, 40);
	struct presence_member	*mm = list_members(40);
	struct sc_msg		 m;
	char			 name[SC_NAME_MAX + 1], prev[SC_NAME_MAX + 1];
	size_t			 i, k, off, n = 0, len;
	int			 saw_new = 0;

	(void)state;
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "user%02zu", i);
		assert_int_equal(presence_join(p, &mm[i], name), 0);
	}
	/*
	 * While the first message (user00 to user04) goes out, user02 leaves
	 * (every later entry moves) and user27x joins.
	 */
	users_hook_leave = &mm[2];
	users_hook_join = &mm[30];
	users_hook_name = "user27x";
	memset(&got, 0, sizeof(got));
	assert_true(presence_send_users(p, &mm[10], 0) > 0);
	assert_true(got.nmsg > 1);
	prev[0] = '\0';
	for (k = 0, off = 0; k < got.nmsg; off += got.lens[k++]) {
		assert_int_equal(wire_msg_decode(&m, got.bytes + off,
		    got.lens[k]), 0);
		assert_int_equal(m.flags, k + 1 < got.nmsg ?
		    SC_USERS_MORE : 0);
		len = 0;
		while (wire_users_next(&m, &len, name)) {
			assert_true(strcmp(prev, name) < 0);	/* in order */
			assert_string_not_equal(name, "user10");
			if (strcmp(name, "user27x") == 0)
				saw_new = 1;
			strcpy(prev, name);
			n++;
		}
	}
	assert_true(saw_new);
	assert_int_equal(n, 30);	/* 30 less self, plus 27x */
	check_users(p, mm, 40, &mm[10], 40, 0);
	presence_free(p);
	event_base_free(base);
	free(mm);
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
    test_users_list_equals_reference_walk_after_random_joins_and_leaves),
		cmocka_unit_test(
		    test_users_list_after_leave_of_first_last_and_middle),
		cmocka_unit_test(
		    test_users_list_orders_a_prefix_before_its_extensions),
		cmocka_unit_test(
		    test_users_list_changed_during_delivery_continues_in_order),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
