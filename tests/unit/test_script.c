/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for script mode's line splitter, src/client/script.c: LF and
 * CR LF, input in any pieces, the last line without a newline, and a line
 * over the limit reported once while the input goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "script.h"

/* Pushes a NUL-terminated string into a splitter. */
static void
push(struct script_lines *lb, const char *s)
{
	script_lines_push(lb, s, strlen(s));
}

static void
test_lines_split_on_lf_and_drop_cr(void **state)
{
	struct script_lines	lb;
	char			out[SCRIPT_BUF];
	size_t			len;

	(void)state;
	script_lines_init(&lb);
	push(&lb, "list\nsend bob hi\r\nsend bob a\rb\n\npartial");
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_LINE);
	assert_string_equal(out, "list");
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_LINE);
	assert_string_equal(out, "send bob hi");
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_LINE);
	assert_string_equal(out, "send bob a\rb");
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_LINE);
	assert_int_equal(len, 0);
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_MORE);
	/* The last line needs no newline at the end of input. */
	script_lines_push(&lb, NULL, 0);
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_LINE);
	assert_string_equal(out, "partial");
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_END);
}

static void
test_lines_byte_by_byte(void **state)
{
	struct script_lines	 lb;
	const char		*s = "auth bob pw\r\nquit\n";
	char			 out[SCRIPT_BUF];
	size_t			 len, i;
	int			 lines = 0;

	(void)state;
	script_lines_init(&lb);
	for (i = 0; s[i] != '\0'; i++) {
		script_lines_push(&lb, s + i, 1);
		while (script_lines_next(&lb, out, &len) == SCRIPT_LINE)
			lines++;
	}
	assert_int_equal(lines, 2);
	assert_string_equal(out, "quit");
}

static void
test_lines_too_long_is_an_error_then_input_goes_on(void **state)
{
	struct script_lines	 lb;
	char			 out[SCRIPT_BUF];
	char			*big;
	size_t			 len, room, off, n;

	(void)state;
	/* Exactly the limit, with CR LF: still a line. */
	big = malloc(3 * SCRIPT_LINE_MAX);
	assert_non_null(big);
	memset(big, 'a', SCRIPT_LINE_MAX);
	memcpy(big + SCRIPT_LINE_MAX, "\r\n", 2);
	script_lines_init(&lb);
	script_lines_push(&lb, big, SCRIPT_LINE_MAX + 2);
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_LINE);
	assert_int_equal(len, SCRIPT_LINE_MAX);

	/* One byte more is too long. */
	memset(big, 'a', SCRIPT_LINE_MAX + 1);
	big[SCRIPT_LINE_MAX + 1] = '\n';
	script_lines_push(&lb, big, SCRIPT_LINE_MAX + 2);
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_TOOLONG);

	/* Far too long, fed as the reader does, then a good line. */
	memcpy(big, "send bob ", 9);
	memset(big + 9, 'x', 3 * SCRIPT_LINE_MAX - 9);
	off = 0;
	n = 3 * SCRIPT_LINE_MAX;
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_MORE);
	while (off < n) {
		room = script_lines_room(&lb);
		assert_true(room > 0);
		if (room > n - off)
			room = n - off;
		script_lines_push(&lb, big + off, room);
		off += room;
		if (script_lines_next(&lb, out, &len) == SCRIPT_TOOLONG)
			assert_memory_equal(out, "send bob ", 9);
	}
	push(&lb, "xxxx\nlist\n");
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_LINE);
	assert_string_equal(out, "list");
	script_lines_push(&lb, NULL, 0);
	assert_int_equal(script_lines_next(&lb, out, &len), SCRIPT_END);
	script_lines_wipe(&lb);
	free(big);
}

/* Runs the line-splitter tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_split_on_lf_and_drop_cr),
		cmocka_unit_test(test_lines_byte_by_byte),
		cmocka_unit_test(
		    test_lines_too_long_is_an_error_then_input_goes_on),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
