/* SPDX-License-Identifier: ISC */
/*
 * The ids of the stored messages already shown (src/client/shown.c), on
 * real files in a fresh temporary folder: remembered across a reopen, the
 * file appended and kept private, a last line cut short by a crash
 * dropped and the file written anew, a damaged line refused with its
 * number, and the bound: past SHOWN_MAX ids the newest SHOWN_KEEP stay.
 */
#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "shown.h"

#include "tmpdir.h"

/* An id made of n, little-endian in its first four bytes. */
static void
id_of(uint8_t id[SC_MAIL_ID_BYTES], uint32_t n)
{
	memset(id, 0x5a, SC_MAIL_ID_BYTES);
	id[0] = (uint8_t)n;
	id[1] = (uint8_t)(n >> 8);
	id[2] = (uint8_t)(n >> 16);
	id[3] = (uint8_t)(n >> 24);
}

/* Opens dir's set or fails the test. */
static struct shown *
open_ok(const char *dir)
{
	struct shown	*sh;
	char		 err[256];

	err[0] = '\0';
	if ((sh = shown_open(dir, err, sizeof(err))) == NULL)
		fail_msg("shown_open: %s", err);
	return (sh);
}

/* Ids shown are remembered, across a reopen; the file is 0600. */
static void
test_shown_remembers_ids_across_reopen(void **state)
{
	struct shown	*sh;
	struct stat	 st;
	uint8_t		 id[SC_MAIL_ID_BYTES];
	char		 dir[PATH_MAX], path[PATH_MAX + 16], err[256];
	uint32_t	 i;

	(void)state;
	tmpdir_make(dir, "shown");
	sh = open_ok(dir);
	assert_int_equal(shown_count(sh), 0);
	for (i = 0; i < 3; i++) {
		id_of(id, i);
		assert_false(shown_has(sh, id));
		assert_int_equal(shown_add(sh, id, err, sizeof(err)), 0);
		assert_true(shown_has(sh, id));
	}
	shown_free(sh);
	snprintf(path, sizeof(path), "%s/shown", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	sh = open_ok(dir);
	assert_int_equal(shown_count(sh), 3);
	for (i = 0; i < 3; i++) {
		id_of(id, i);
		assert_true(shown_has(sh, id));
	}
	id_of(id, 3);
	assert_false(shown_has(sh, id));
	shown_free(sh);
	tmpdir_remove(dir);
}

/*
 * A last line cut short (a crash in the middle of an append) is dropped
 * and the file written anew, so that the next append starts a line of its
 * own; a damaged line in the middle is refused with its number.
 */
static void
test_shown_cut_line_dropped_damaged_line_refused(void **state)
{
	static const char	cut[] = "# comment\n"
	    "000102030405060708090a0b0c0d0e0f\n0001020304";
	static const char	bad[] = "# comment\n"
	    "000102030405060708090a0b0c0d0e0f\nnot an id\n";
	struct shown		*sh;
	uint8_t			 id[SC_MAIL_ID_BYTES];
	char			 dir[PATH_MAX], path[PATH_MAX + 16], err[256];
	size_t			 i;

	(void)state;
	tmpdir_make(dir, "shown");
	snprintf(path, sizeof(path), "%s/shown", dir);
	tmpdir_write(path, cut, sizeof(cut) - 1, 0600);
	sh = open_ok(dir);
	assert_int_equal(shown_count(sh), 1);
	for (i = 0; i < SC_MAIL_ID_BYTES; i++)
		id[i] = (uint8_t)i;
	assert_true(shown_has(sh, id));
	id_of(id, 7);
	assert_int_equal(shown_add(sh, id, err, sizeof(err)), 0);
	shown_free(sh);
	sh = open_ok(dir);
	assert_int_equal(shown_count(sh), 2);
	assert_true(shown_has(sh, id));
	shown_free(sh);

	tmpdir_write(path, bad, sizeof(bad) - 1, 0600);
	assert_null(shown_open(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "shown:3: not a message id"));
	tmpdir_remove(dir);
}

/* Past SHOWN_MAX ids the file is written anew with the newest SHOWN_KEEP. */
static void
test_shown_is_bounded_and_keeps_the_newest(void **state)
{
	struct shown	*sh;
	uint8_t		 id[SC_MAIL_ID_BYTES];
	char		 dir[PATH_MAX], err[256];
	uint32_t	 i;

	(void)state;
	tmpdir_make(dir, "shown");
	sh = open_ok(dir);
	for (i = 0; i < SHOWN_MAX + 10; i++) {
		id_of(id, i);
		assert_int_equal(shown_add(sh, id, err, sizeof(err)), 0);
	}
	assert_true(shown_count(sh) <= SHOWN_MAX);
	id_of(id, SHOWN_MAX + 9);
	assert_true(shown_has(sh, id));
	shown_free(sh);
	sh = open_ok(dir);
	assert_true(shown_count(sh) >= SHOWN_KEEP);
	assert_true(shown_count(sh) <= SHOWN_MAX);
	for (i = SHOWN_MAX + 10 - SHOWN_KEEP / 2; i < SHOWN_MAX + 10; i++) {
		id_of(id, i);
		assert_true(shown_has(sh, id));
	}
	id_of(id, 0);
	assert_false(shown_has(sh, id));
	shown_free(sh);
	tmpdir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shown_remembers_ids_across_reopen),
		cmocka_unit_test(
		    test_shown_cut_line_dropped_damaged_line_refused),
		cmocka_unit_test(test_shown_is_bounded_and_keeps_the_newest),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
