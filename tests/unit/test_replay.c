/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/replay.c, the sliding replay window: in-order
 * and out-of-order numbers, duplicates, the edge 63 and 64 below the top,
 * jumps ahead, and a check that changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "replay.h"

/* Accepts n the way the peer does: check, then update. */
static int
take(struct replay *r, uint64_t n)
{
	if (!replay_check(r, n))
		return (0);
	replay_update(r, n);
	return (1);
}

static void
test_window_accepts_in_order_and_refuses_duplicates(void **state)
{
	struct replay	r;
	uint64_t	i;

	(void)state;
	replay_init(&r);
	for (i = 0; i < 300; i++)
		assert_int_equal(take(&r, i), 1);
	for (i = 237; i < 300; i++)
		assert_int_equal(take(&r, i), 0);
	assert_int_equal(take(&r, 300), 1);
	assert_int_equal(take(&r, 300), 0);
}

static void
test_window_accepts_out_of_order_inside_the_window(void **state)
{
	struct replay	r;

	(void)state;
	replay_init(&r);
	assert_int_equal(take(&r, 10), 1);
	assert_int_equal(take(&r, 5), 1);
	assert_int_equal(take(&r, 9), 1);
	assert_int_equal(take(&r, 0), 1);
	assert_int_equal(take(&r, 5), 0);
	assert_int_equal(take(&r, 9), 0);
	assert_int_equal(take(&r, 10), 0);
	assert_int_equal(take(&r, 7), 1);
	assert_int_equal(take(&r, 12), 1);
	assert_int_equal(take(&r, 11), 1);
	assert_int_equal(take(&r, 11), 0);
}

static void
test_window_63_behind_accepted_64_behind_refused(void **state)
{
	struct replay	r;

	(void)state;
	replay_init(&r);
	assert_int_equal(take(&r, 100), 1);
	assert_int_equal(replay_check(&r, 36), 0);	/* 64 below */
	assert_int_equal(replay_check(&r, 37), 1);	/* 63 below */
	assert_int_equal(take(&r, 37), 1);
	assert_int_equal(take(&r, 37), 0);
	assert_int_equal(take(&r, 0), 0);
}

static void
test_window_far_ahead_jump_clears_the_old_window(void **state)
{
	struct replay	r;

	(void)state;
	replay_init(&r);
	assert_int_equal(take(&r, 5), 1);
	assert_int_equal(take(&r, 4), 1);
	assert_int_equal(take(&r, 1000), 1);
	assert_int_equal(take(&r, 5), 0);	/* now stale */
	assert_int_equal(take(&r, 999), 1);
	assert_int_equal(take(&r, 937), 1);	/* 63 below */
	assert_int_equal(take(&r, 936), 0);	/* 64 below */
	assert_int_equal(take(&r, 1000), 0);
}

static void
test_window_jump_of_exactly_64_forgets_marks(void **state)
{
	struct replay	r;

	(void)state;
	replay_init(&r);
	assert_int_equal(take(&r, 10), 1);
	assert_int_equal(take(&r, 11), 1);
	assert_int_equal(take(&r, 75), 1);	/* 11 is now 64 below */
	assert_int_equal(take(&r, 11), 0);
	assert_int_equal(take(&r, 12), 1);	/* 63 below, never seen */
	assert_int_equal(take(&r, 12), 0);
	/* A jump of 63 keeps the mark of the old top. */
	replay_init(&r);
	assert_int_equal(take(&r, 0), 1);
	assert_int_equal(take(&r, 63), 1);
	assert_int_equal(take(&r, 0), 0);
	assert_int_equal(take(&r, 1), 1);
}

static void
test_window_check_changes_nothing(void **state)
{
	struct replay	r, before;

	(void)state;
	replay_init(&r);
	assert_int_equal(take(&r, 50), 1);
	before = r;
	assert_int_equal(replay_check(&r, 5000), 1);
	assert_int_equal(replay_check(&r, 49), 1);
	assert_memory_equal(&r, &before, sizeof(r));
	assert_int_equal(take(&r, 49), 1);
}

static void
test_window_extreme_numbers(void **state)
{
	struct replay	r;

	(void)state;
	replay_init(&r);
	assert_int_equal(take(&r, UINT64_MAX - 1), 1);
	assert_int_equal(take(&r, UINT64_MAX), 1);
	assert_int_equal(take(&r, UINT64_MAX), 0);
	assert_int_equal(take(&r, UINT64_MAX - 63), 1);
	assert_int_equal(take(&r, UINT64_MAX - 64), 0);
	assert_int_equal(take(&r, 0), 0);
}

/* Runs the window tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_window_accepts_in_order_and_refuses_duplicates),
		cmocka_unit_test(
		    test_window_accepts_out_of_order_inside_the_window),
		cmocka_unit_test(
		    test_window_63_behind_accepted_64_behind_refused),
		cmocka_unit_test(
		    test_window_far_ahead_jump_clears_the_old_window),
		cmocka_unit_test(test_window_jump_of_exactly_64_forgets_marks),
		cmocka_unit_test(test_window_check_changes_nothing),
		cmocka_unit_test(test_window_extreme_numbers),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
