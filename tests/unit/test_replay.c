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

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Accepts n the way the peer does: check, then update. */
static int
take(struct replay *r, uint64_t n)
{
	if (!replay_check(r, n))
		return (0);
	replay_update(r, n);
	return (1);
}

/* A number offered to the window and whether take() accepts it. */
struct step {
	uint64_t	n;
	int		taken;
};

/* Offers the numbers of steps[0..count) in turn to a fresh window. */
static void
expect_steps(const struct step *steps, size_t count)
{
	struct replay	r;
	size_t		i;

	replay_init(&r);
	for (i = 0; i < count; i++) {
		if (take(&r, steps[i].n) != steps[i].taken)
			fail_msg("step %zu: %llu was %s", i,
			    (unsigned long long)steps[i].n,
			    steps[i].taken ? "refused" : "accepted");
	}
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
	static const struct step	steps[] = {
		{ 10, 1 }, { 5, 1 }, { 9, 1 }, { 0, 1 },
		{ 5, 0 }, { 9, 0 }, { 10, 0 },
		{ 7, 1 }, { 12, 1 }, { 11, 1 },
		{ 11, 0 },
	};

	(void)state;
	expect_steps(steps, nitems(steps));
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
	static const struct step	steps[] = {
		{ 5, 1 }, { 4, 1 }, { 1000, 1 },
		{ 5, 0 },	/* now stale */
		{ 999, 1 },
		{ 937, 1 },	/* 63 below */
		{ 936, 0 },	/* 64 below */
		{ 1000, 0 },
	};

	(void)state;
	expect_steps(steps, nitems(steps));
}

static void
test_window_jump_of_exactly_64_forgets_marks(void **state)
{
	static const struct step	by_64[] = {
		{ 10, 1 }, { 11, 1 },
		{ 75, 1 },	/* 11 is now 64 below */
		{ 11, 0 },
		{ 12, 1 },	/* 63 below, never seen */
		{ 12, 0 },
	};
	/* A jump of 63 keeps the mark of the old top. */
	static const struct step	by_63[] = {
		{ 0, 1 }, { 63, 1 }, { 0, 0 }, { 1, 1 },
	};

	(void)state;
	expect_steps(by_64, nitems(by_64));
	expect_steps(by_63, nitems(by_63));
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
	static const struct step	steps[] = {
		{ UINT64_MAX - 1, 1 }, { UINT64_MAX, 1 }, { UINT64_MAX, 0 },
		{ UINT64_MAX - 63, 1 }, { UINT64_MAX - 64, 0 }, { 0, 0 },
	};

	(void)state;
	expect_steps(steps, nitems(steps));
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
