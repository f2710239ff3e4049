/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/roster.c, the users online: USERS lists over
 * several frames, shown in the server's order and kept as a sorted set
 * without repeats, a frame of the other list starting the list again,
 * PRESENCE insertions and removals, and the bound on a list's length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sealchat/wire.h"

#include "roster.h"

/* One encoded and decoded USERS frame. */
struct frame {
	struct wbuf	wb;
	struct sc_msg	m;
};

/* Encodes and decodes a USERS frame with the given flags and names. */
static void
frame_make(struct frame *f, uint8_t flags, const char *const *names,
    size_t n)
{
	size_t	i;

	wbuf_init(&f->wb);
	wire_enc_users_begin(&f->wb, flags);
	for (i = 0; i < n; i++)
		wire_enc_users_entry(&f->wb, names[i], strlen(names[i]));
	assert_false(f->wb.oom);
	assert_int_equal(wire_msg_decode(&f->m, f->wb.data, f->wb.len), 0);
}

/* Feeds one frame to the roster; returns what roster_users() did. */
static int
feed(struct roster *r, uint8_t flags, const char *const *names, size_t n)
{
	struct frame	f;
	int		rc;

	frame_make(&f, flags, names, n);
	rc = roster_users(r, &f.m);
	wbuf_free(&f.wb);
	return (rc);
}

/*
 * Checks the names that list (roster_names or roster_received) gives of r
 * against the wn expected ones.
 */
static void
expect(const struct roster *r,
    const char *const *(*list)(const struct roster *, size_t *),
    const char *const *want, size_t wn)
{
	const char *const	*got;
	size_t			 i, n;

	got = list(r, &n);
	assert_int_equal(n, wn);
	for (i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
}

static void
test_roster_list_over_frames_shown_as_sent_then_sorted(void **state)
{
	static const char *const	 one[] = { "carol", "alice" };
	static const char *const	 two[] = { "bob" };
	static const char *const	 sent[] = { "carol", "alice", "bob" };
	static const char *const	 sorted[] = { "alice", "bob", "carol" };
	struct roster			*r;

	(void)state;
	assert_non_null(r = roster_new());
	assert_int_equal(feed(r, SC_USERS_MORE, one, 2), 0);
	expect(r, roster_names, NULL, 0);
	assert_int_equal(feed(r, 0, two, 1), 1);
	expect(r, roster_received, sent, 3);
	roster_commit(r);
	expect(r, roster_names, sorted, 3);
	expect(r, roster_received, NULL, 0);
	roster_free(r);
	roster_free(NULL);
}

static void
test_roster_commit_drops_repeats_and_replaces_the_set(void **state)
{
	static const char *const	 rep[] = {
		"b", "a", "b", "a", "c", "c",
	};
	static const char *const	 abc[] = { "a", "b", "c" };
	static const char *const	 next[] = { "z" };
	struct roster			*r;

	(void)state;
	assert_non_null(r = roster_new());
	assert_int_equal(feed(r, SC_USERS_REPLY, rep, 6), 1);
	expect(r, roster_received, rep, 6);
	roster_commit(r);
	expect(r, roster_names, abc, 3);
	/* A later list replaces the set; it does not add to it. */
	assert_int_equal(feed(r, 0, next, 1), 1);
	roster_commit(r);
	expect(r, roster_names, next, 1);
	/* An empty list empties the set. */
	assert_int_equal(feed(r, SC_USERS_REPLY, NULL, 0), 1);
	expect(r, roster_received, NULL, 0);
	roster_commit(r);
	expect(r, roster_names, NULL, 0);
	roster_free(r);
}

static void
test_roster_frame_of_the_other_list_starts_it_again(void **state)
{
	static const char *const	 first[] = { "x", "y" };
	static const char *const	 other[] = { "z" };
	static const char *const	 last[] = { "w" };
	static const char *const	 zw[] = { "z", "w" };
	struct roster			*r;

	(void)state;
	assert_non_null(r = roster_new());
	/* The initial list, cut short by frames of a reply. */
	assert_int_equal(feed(r, SC_USERS_MORE, first, 2), 0);
	assert_int_equal(feed(r, SC_USERS_MORE | SC_USERS_REPLY, other, 1),
	    0);
	assert_int_equal(feed(r, SC_USERS_REPLY, last, 1), 1);
	expect(r, roster_received, zw, 2);
	roster_commit(r);
	/* And the other way round. */
	assert_int_equal(feed(r, SC_USERS_MORE | SC_USERS_REPLY, first, 2),
	    0);
	assert_int_equal(feed(r, 0, other, 1), 1);
	expect(r, roster_received, other, 1);
	roster_free(r);
}

static void
test_roster_presence_inserts_in_order_once_and_removes(void **state)
{
	static const char *const	 want[] = { "bob", "dave", "erin" };
	static const char *const	 alice[] = { "alice" };
	struct roster			*r;

	(void)state;
	assert_non_null(r = roster_new());
	roster_insert(r, "dave");
	roster_insert(r, "bob");
	roster_insert(r, "erin");
	roster_insert(r, "carol");
	roster_insert(r, "bob");
	roster_remove(r, "carol");
	roster_remove(r, "nobody");
	expect(r, roster_names, want, 3);
	roster_remove(r, "bob");
	roster_remove(r, "erin");
	roster_remove(r, "dave");
	expect(r, roster_names, NULL, 0);
	roster_insert(r, "alice");
	expect(r, roster_names, alice, 1);
	roster_free(r);
}

/* Feeds count names "uNNNNNN" from first on, in one frame. */
static int
feed_many(struct roster *r, uint8_t flags, size_t first, size_t count)
{
	struct frame	f;
	char		name[16];
	size_t		i;
	int		rc;

	wbuf_init(&f.wb);
	wire_enc_users_begin(&f.wb, flags);
	for (i = first; i < first + count; i++) {
		snprintf(name, sizeof(name), "u%06zu", i);
		wire_enc_users_entry(&f.wb, name, strlen(name));
	}
	assert_false(f.wb.oom);
	assert_int_equal(wire_msg_decode(&f.m, f.wb.data, f.wb.len), 0);
	rc = roster_users(r, &f.m);
	wbuf_free(&f.wb);
	return (rc);
}

static void
test_roster_list_longer_than_the_bound_fails(void **state)
{
	struct roster		*r;
	const char *const	*v;
	size_t			 n, i, part = ROSTER_MAX / 10;

	(void)state;
	assert_non_null(r = roster_new());
	/* Exactly the bound: a list. */
	for (i = 0; i < 9; i++)
		assert_int_equal(feed_many(r, SC_USERS_MORE, i * part, part),
		    0);
	assert_int_equal(feed_many(r, 0, 9 * part, part), 1);
	roster_commit(r);
	v = roster_names(r, &n);
	assert_int_equal(n, ROSTER_MAX);
	assert_string_equal(v[0], "u000000");
	/* The set is full: a newcomer is not added. */
	roster_insert(r, "zed");
	v = roster_names(r, &n);
	assert_int_equal(n, ROSTER_MAX);
	assert_string_not_equal(v[n - 1], "zed");
	/* One name more: a failure. */
	for (i = 0; i < 10; i++)
		assert_int_equal(feed_many(r, SC_USERS_MORE, i * part, part),
		    0);
	assert_int_equal(feed_many(r, 0, ROSTER_MAX, 1), -1);
	roster_free(r);
}

/* Runs the roster tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_roster_list_over_frames_shown_as_sent_then_sorted),
		cmocka_unit_test(
		    test_roster_commit_drops_repeats_and_replaces_the_set),
		cmocka_unit_test(
		    test_roster_frame_of_the_other_list_starts_it_again),
		cmocka_unit_test(
		    test_roster_presence_inserts_in_order_once_and_removes),
		cmocka_unit_test(test_roster_list_longer_than_the_bound_fails),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
