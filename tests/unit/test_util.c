/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/common/util.c: escaping, addresses, clock,
 * descriptors, file limit, the big-endian codec, dirname.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealchat/util.h"

#include "tmpdir.h"

/* Escapes len bytes of in into a buffer big enough never to truncate. */
static const char *
escape(const char *in, size_t len)
{
	static char	out[512];

	assert_true(4 * len + 1 <= sizeof(out));
	util_escape(out, 4 * len + 1, in, len);
	return (out);
}

static void
test_escape_tab_newline_backslash(void **state)
{
	(void)state;
	assert_string_equal(escape("a\tb", 3), "a\\tb");
	assert_string_equal(escape("a\nb", 3), "a\\nb");
	assert_string_equal(escape("a\\b", 3), "a\\\\b");
	assert_string_equal(escape("plain text", 10), "plain text");
	assert_string_equal(escape("", 0), "");
}

static void
test_escape_control_bytes_as_lowercase_hex(void **state)
{
	(void)state;
	assert_string_equal(escape("\x01", 1), "\\x01");
	assert_string_equal(escape("\x1b[31m", 5), "\\x1b[31m");
	assert_string_equal(escape("\x7f", 1), "\\x7f");
	assert_string_equal(escape("\r", 1), "\\x0d");
	assert_string_equal(escape("a\0b", 3), "a\\x00b");
}

static void
test_escape_passes_utf8_through(void **state)
{
	(void)state;
	assert_string_equal(escape("caf\xc3\xa9 \xe2\x82\xac", 9),
	    "caf\xc3\xa9 \xe2\x82\xac");
	/* U+00A0, the first after the C1; an emoji; U+2029 and U+202F. */
	assert_string_equal(escape("\xc2\xa0", 2), "\xc2\xa0");
	assert_string_equal(escape("\xf0\x9f\x98\x80", 4),
	    "\xf0\x9f\x98\x80");
	assert_string_equal(escape("\xe2\x80\xa9\xe2\x80\xaf", 6),
	    "\xe2\x80\xa9\xe2\x80\xaf");
	assert_string_equal(escape("\xe2\x81\xa5\xe2\x81\xaa", 6),
	    "\xe2\x81\xa5\xe2\x81\xaa");
	assert_string_equal(escape("\xf4\x8f\xbf\xbf", 4),
	    "\xf4\x8f\xbf\xbf");
}

/* The C1 controls: CSI as U+009B would clear an xterm-family screen. */
static void
test_escape_c1_controls(void **state)
{
	(void)state;
	assert_string_equal(escape("\xc2\x9b" "2J", 4), "\\xc2\\x9b2J");
	assert_string_equal(escape("\xc2\x80\xc2\x9f", 4),
	    "\\xc2\\x80\\xc2\\x9f");
	/* A lone 8-bit C1 byte is not UTF-8 either. */
	assert_string_equal(escape("a\x9b" "2J", 4), "a\\x9b2J");
}

/* Bytes that are not well-formed UTF-8, each on its own. */
static void
test_escape_bytes_not_utf8(void **state)
{
	(void)state;
	assert_string_equal(escape("\x80\xff", 2), "\\x80\\xff");
	/* Overlong, surrogate, past U+10FFFF, cut short. */
	assert_string_equal(escape("\xc0\xaf", 2), "\\xc0\\xaf");
	assert_string_equal(escape("\xe0\x80\xaf", 3),
	    "\\xe0\\x80\\xaf");
	assert_string_equal(escape("\xed\xa0\x80", 3),
	    "\\xed\\xa0\\x80");
	assert_string_equal(escape("\xf4\x90\x80\x80", 4),
	    "\\xf4\\x90\\x80\\x80");
	assert_string_equal(escape("\xe2\x82", 2), "\\xe2\\x82");
	assert_string_equal(escape("\xe2\x82" "a", 3), "\\xe2\\x82a");
	/* A good character right after a bad byte passes. */
	assert_string_equal(escape("\xff\xc3\xa9", 3), "\\xff\xc3\xa9");
}

/* The bidirectional overrides and isolates, which reorder a line. */
static void
test_escape_bidi_overrides(void **state)
{
	(void)state;
	assert_string_equal(escape("\xe2\x80\xae" "abc", 6),
	    "\\xe2\\x80\\xaeabc");
	assert_string_equal(escape("\xe2\x80\xaa\xe2\x80\xad", 6),
	    "\\xe2\\x80\\xaa\\xe2\\x80\\xad");
	assert_string_equal(escape("\xe2\x81\xa6\xe2\x81\xa9", 6),
	    "\\xe2\\x81\\xa6\\xe2\\x81\\xa9");
}

/* For a terminal: every control as \xHH, a backslash as it is. */
static void
test_escape_term_keeps_backslash(void **state)
{
	char	out[64];

	(void)state;
	util_escape_term(out, sizeof(out), "a\tb\\c\n\xc2\x9b", 8);
	assert_string_equal(out, "a\\x09b\\c\\x0a\\xc2\\x9b");
}

static void
test_escape_worst_case_fits_4x_plus_1(void **state)
{
	char	in[64], out[4 * sizeof(in) + 1], want[4 * sizeof(in) + 1];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(in); i++) {
		in[i] = (char)(i % 32 == 9 || i % 32 == 10 ? 1 : i % 32);
		snprintf(want + 4 * i, 5, "\\x%02x", (unsigned)in[i]);
	}
	memset(out, 'Z', sizeof(out));
	util_escape(out, sizeof(out), in, sizeof(in));
	assert_string_equal(out, want);
}

static void
test_escape_truncates_without_cutting_an_escape(void **state)
{
	char	out[8];

	(void)state;
	/* "ab" fits, "\x01" (4 bytes) would need 7 bytes with the NUL. */
	memset(out, 'Z', sizeof(out));
	util_escape(out, 6, "ab\x01", 3);
	assert_string_equal(out, "ab");
	util_escape(out, 7, "ab\x01", 3);
	assert_string_equal(out, "ab\\x01");
	util_escape(out, 4, "a\tb", 3);
	assert_string_equal(out, "a\\t");
	util_escape(out, 3, "a\tb", 3);
	assert_string_equal(out, "a");
	util_escape(out, 1, "abc", 3);
	assert_string_equal(out, "");
	/* out_len 0 writes nothing at all. */
	out[0] = 'Z';
	util_escape(out, 0, "abc", 3);
	assert_int_equal(out[0], 'Z');
}

static void
test_escape_truncates_without_cutting_a_utf8_character(void **state)
{
	char	out[8];

	(void)state;
	/* "a" then a 3-byte euro sign: 4 bytes leave room for "a" only. */
	util_escape(out, 4, "a\xe2\x82\xac", 4);
	assert_string_equal(out, "a");
	util_escape(out, 5, "a\xe2\x82\xac", 4);
	assert_string_equal(out, "a\xe2\x82\xac");
	util_escape(out, 3, "\xc3\xa9\xc3\xa9", 4);
	assert_string_equal(out, "\xc3\xa9");
}

static void
test_addr_str_ipv4_and_ipv6(void **state)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	struct sockaddr		sa;
	char			buf[64];

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5);
	assert_int_equal(inet_pton(AF_INET, "1.2.3.4", &sin.sin_addr), 1);
	util_addr_str(buf, sizeof(buf), (struct sockaddr *)&sin);
	assert_string_equal(buf, "1.2.3.4:5");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(10000);
	assert_int_equal(inet_pton(AF_INET6, "::1", &sin6.sin6_addr), 1);
	util_addr_str(buf, sizeof(buf), (struct sockaddr *)&sin6);
	assert_string_equal(buf, "[::1]:10000");

	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr),
	    1);
	util_addr_str(buf, sizeof(buf), (struct sockaddr *)&sin6);
	assert_string_equal(buf, "[2001:db8::1]:10000");

	/* Too small a buffer truncates and stays terminated. */
	util_addr_str(buf, 6, (struct sockaddr *)&sin);
	assert_string_equal(buf, "1.2.3");

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	util_addr_str(buf, sizeof(buf), &sa);
	assert_string_equal(buf, "?");
	util_addr_str(buf, sizeof(buf), NULL);
	assert_string_equal(buf, "?");
}

static void
test_hostport_names_addresses_brackets_and_ports(void **state)
{
	static const struct {
		const char	*in;
		const char	*host;
		long		 port;
	} good[] = {
		{ "chat.example.org", "chat.example.org", 0 },
		{ "chat.example.org:10001", "chat.example.org", 10001 },
		{ "127.0.0.1:1", "127.0.0.1", 1 },
		{ "[::1]", "::1", 0 },
		{ "[2001:db8::7]:65535", "2001:db8::7", 65535 },
		{ "::1", "::1", 0 },
		{ "fe80::1%eth0", "fe80::1%eth0", 0 },
	};
	static const char *const bad[] = {
		"", ":10000", "host:", "host:0", "host:65536", "host:12ab",
		"host:+5", "[::1", "[::1]x", "[]:5", "[::1]:", "host: 5",
	};
	char	host[64], err[128];
	long	port;
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(util_hostport(good[i].in, host, sizeof(host),
		    &port, err, sizeof(err)), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (util_hostport(bad[i], host, sizeof(host), &port, err,
		    sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(err[0] != '\0');
	}
	/* A host that does not fit. */
	assert_int_equal(util_hostport("a-rather-long-host-name", host, 8,
	    &port, err, sizeof(err)), -1);
}

static void
test_now_ms_is_monotonic_and_advances(void **state)
{
	struct timespec	ts = { 0, 20 * 1000 * 1000 };
	uint64_t	a, b;

	(void)state;
	a = util_now_ms();
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	b = util_now_ms();
	assert_true(b >= a + 19);
	assert_true(b < a + 10000);
}

static void
test_set_nonblock_sets_both_flags(void **state)
{
	int	p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(util_set_nonblock(p[0]), 0);
	assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
	/* Idempotent. */
	assert_int_equal(util_set_nonblock(p[0]), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(util_set_nonblock(p[0]), -1);
}

static void
test_raise_nofile_reaches_the_hard_limit(void **state)
{
	struct rlimit	rl;
	long		n;

	(void)state;
	n = util_raise_nofile();
	assert_true(n > 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_true((rlim_t)n == rl.rlim_cur);
	if (rl.rlim_max != RLIM_INFINITY)
		assert_true(rl.rlim_cur == rl.rlim_max);
}

/* util_put_be64 and util_get_be64 use network byte order and round-trip. */
static void
test_be64_network_order_round_trip(void **state)
{
	const uint8_t	want[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
			    0xcd, 0xef };
	uint8_t		b[8];

	(void)state;
	util_put_be64(b, 0x0123456789abcdefULL);
	assert_memory_equal(b, want, sizeof(b));
	assert_true(util_get_be64(b) == 0x0123456789abcdefULL);
	util_put_be64(b, UINT64_MAX);
	assert_true(util_get_be64(b) == UINT64_MAX);
}

/* util_dirname: the folder of a path, "." and "/" at the edges. */
static void
test_dirname_edges(void **state)
{
	char	d[16];

	(void)state;
	assert_int_equal(util_dirname(d, sizeof(d), "a/b/c.yaml"), 0);
	assert_string_equal(d, "a/b");
	assert_int_equal(util_dirname(d, sizeof(d), "c.yaml"), 0);
	assert_string_equal(d, ".");
	assert_int_equal(util_dirname(d, sizeof(d), "/c.yaml"), 0);
	assert_string_equal(d, "/");
	assert_int_equal(util_dirname(d, sizeof(d),
	    "a-very-long-folder-name/c"), -1);
}

static void
test_read_file_whole_full_and_missing(void **state)
{
	char	dir[PATH_MAX], path[PATH_MAX + 16], buf[16];
	size_t	len;

	(void)state;
	tmpdir_make(dir, "util");
	snprintf(path, sizeof(path), "%s/f", dir);
	tmpdir_write(path, "hello\n", 6, 0644);
	assert_int_equal(util_read_file(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "hello\n", 6);
	/* Exactly full: more may follow, so 1. */
	assert_int_equal(util_read_file(path, buf, 6, &len), 1);
	assert_int_equal(len, 6);
	assert_int_equal(util_read_file(path, buf, 3, &len), 1);
	assert_int_equal(len, 3);
	unlink(path);
	errno = 0;
	assert_int_equal(util_read_file(path, buf, sizeof(buf), &len), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(len, 0);
	tmpdir_remove(dir);
}

static void
test_xdg_dir_absolute_base_else_home(void **state)
{
	char	out[PATH_MAX];

	(void)state;
	setenv("XDG_STATE_HOME", "/x/state", 1);
	setenv("HOME", "/home/h", 1);
	assert_int_equal(util_xdg_dir(out, sizeof(out), UTIL_XDG_STATE), 0);
	assert_string_equal(out, "/x/state/sealchat");
	/* A relative base is ignored, as the specification says. */
	setenv("XDG_STATE_HOME", "rel", 1);
	assert_int_equal(util_xdg_dir(out, sizeof(out), UTIL_XDG_STATE), 0);
	assert_string_equal(out, "/home/h/.local/state/sealchat");
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(util_xdg_dir(out, sizeof(out), UTIL_XDG_CONFIG), 0);
	assert_string_equal(out, "/home/h/.config/sealchat");
	unsetenv("XDG_DATA_HOME");
	assert_int_equal(util_xdg_dir(out, sizeof(out), UTIL_XDG_DATA), 0);
	assert_string_equal(out, "/home/h/.local/share/sealchat");
	assert_int_equal(util_xdg_dir(out, 8, UTIL_XDG_DATA), -1);
}

static void
test_mkdirs_private_parents_and_refusals(void **state)
{
	char		dir[PATH_MAX], path[PATH_MAX + 32];
	struct stat	sb;

	(void)state;
	tmpdir_make(dir, "util");
	/* Without parents, a missing parent is ENOENT and nothing is made. */
	snprintf(path, sizeof(path), "%s/a/b/c/", dir);
	errno = 0;
	assert_int_equal(util_mkdirs(path, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(util_mkdirs(path, 1), 0);
	assert_int_equal(util_mkdirs(path, 1), 0);	/* already there */
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/a/b/c/d", dir);
	assert_int_equal(util_mkdirs(path, 0), 0);
	/* A file in the way. */
	snprintf(path, sizeof(path), "%s/file", dir);
	tmpdir_write(path, "", 0, 0644);
	snprintf(path, sizeof(path), "%s/file/sub", dir);
	errno = 0;
	assert_int_equal(util_mkdirs(path, 1), -1);
	assert_int_equal(errno, ENOTDIR);
	tmpdir_remove(dir);
}

/* A bucket refills at its rate, never past its burst, and starts full. */
static void
test_bucket_refills_at_rate_up_to_burst(void **state)
{
	struct util_bucket	b;

	(void)state;
	memset(&b, 0, sizeof(b));
	assert_int_equal(util_bucket_room(&b, 10, 20, 1000), 20);
	util_bucket_take(&b, 20);
	assert_int_equal(util_bucket_room(&b, 10, 20, 1000), 0);
	assert_int_equal(util_bucket_room(&b, 10, 20, 1099), 0);
	assert_int_equal(util_bucket_room(&b, 10, 20, 1100), 1);
	assert_int_equal(util_bucket_room(&b, 10, 20, 1550), 5);
	util_bucket_take(&b, 5);
	assert_int_equal(util_bucket_room(&b, 10, 20, 1550), 0);
	assert_int_equal(util_bucket_room(&b, 10, 20, 999999), 20);
	/* A large rate and a long pause do not overflow. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(util_bucket_room(&b, 1073741824, 1073741824, 1),
	    1073741824);
	util_bucket_take(&b, 1073741824);
	assert_int_equal(util_bucket_room(&b, 1073741824, 1073741824,
	    UINT64_MAX / 2), 1073741824);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirname_edges),
		cmocka_unit_test(test_be64_network_order_round_trip),
		cmocka_unit_test(test_escape_tab_newline_backslash),
		cmocka_unit_test(test_escape_control_bytes_as_lowercase_hex),
		cmocka_unit_test(test_escape_passes_utf8_through),
		cmocka_unit_test(test_escape_c1_controls),
		cmocka_unit_test(test_escape_bytes_not_utf8),
		cmocka_unit_test(test_escape_bidi_overrides),
		cmocka_unit_test(test_escape_term_keeps_backslash),
		cmocka_unit_test(test_escape_worst_case_fits_4x_plus_1),
		cmocka_unit_test(
		    test_escape_truncates_without_cutting_an_escape),
		cmocka_unit_test(
		    test_escape_truncates_without_cutting_a_utf8_character),
		cmocka_unit_test(test_addr_str_ipv4_and_ipv6),
		cmocka_unit_test(
		    test_hostport_names_addresses_brackets_and_ports),
		cmocka_unit_test(test_now_ms_is_monotonic_and_advances),
		cmocka_unit_test(test_set_nonblock_sets_both_flags),
		cmocka_unit_test(test_raise_nofile_reaches_the_hard_limit),
		cmocka_unit_test(test_read_file_whole_full_and_missing),
		cmocka_unit_test(test_xdg_dir_absolute_base_else_home),
		cmocka_unit_test(test_mkdirs_private_parents_and_refusals),
		cmocka_unit_test(test_bucket_refills_at_rate_up_to_burst),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
