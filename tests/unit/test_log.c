/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/common/log.c: the human line (UTC time, name, pid,
 * level), strerror appended, levels filtering, journal priority prefixes,
 * and the level names a configuration file uses.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealchat/log.h"

/*
 * Runs one logging call with stderr sent to a temporary file and returns
 * what was written (static buffer).
 */
static const char *
capture(void (*fn)(void))
{
	static char	buf[4096];
	char		path[] = "/tmp/sealchat-test-log-XXXXXX";
	int		fd, saved;
	ssize_t		n;

	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return (buf);
}

/* Tells whether s matches the extended regular expression re. */
static int
matches(const char *s, const char *re)
{
	regex_t	rx;
	int	rc;

	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return (rc);
}

/*
 * Runs fn with stderr captured and fails the test unless what it wrote
 * matches re; returns what it wrote.
 */
static const char *
expect_log(void (*fn)(void), const char *re)
{
	const char	*out;

	out = capture(fn);
	if (!matches(out, re))
		fail_msg("unexpected log output: %s", out);
	return (out);
}

static void
log_info_line(void)
{
	unsetenv("JOURNAL_STREAM");
	log_init("/usr/sbin/sealchatd", LOG_LVL_INFO);
	log_info("started port=%d", 10000);
	log_debug("not shown at info");
}

static void
test_log_human_line_has_utc_time_name_pid_level(void **state)
{
	char	re[256];

	(void)state;
	snprintf(re, sizeof(re), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z sealchatd\\[%ld\\]: info: "
	    "started port=10000\n$", (long)getpid());
	expect_log(log_info_line, re);
}

static void
log_warn_errno(void)
{
	unsetenv("JOURNAL_STREAM");
	log_init("sealchatd", LOG_LVL_WARN);
	errno = ENOENT;
	log_warn("open %s", "x");
	assert_int_equal(errno, ENOENT);
	log_warnx("plain");
	log_info("not shown at warn");
	log_errorx("bad\nline");
}

static void
test_log_warn_appends_strerror_and_levels_filter(void **state)
{
	const char	*out;

	(void)state;
	out = expect_log(log_warn_errno, "warn: open x: No such file or "
	    "directory\n.*warn: plain\n.*error: bad\\?line\n$");
	if (strstr(out, "not shown") != NULL)
		fail_msg("unexpected log output: %s", out);
}

static void
log_journal_lines(void)
{
	struct stat	sb;
	char		env[64];

	assert_int_equal(fstat(STDERR_FILENO, &sb), 0);
	snprintf(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("sealchatd", LOG_LVL_DEBUG);
	log_errorx("e");
	log_warnx("w");
	log_info("i");
	log_debug("d");
	/* Another file's numbers: back to human lines. */
	snprintf(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("sealchatd", LOG_LVL_DEBUG);
	log_info("human");
	unsetenv("JOURNAL_STREAM");
}

static void
test_log_journal_stream_gives_priority_prefixes(void **state)
{
	(void)state;
	expect_log(log_journal_lines,
	    "^<3>e\n<4>w\n<6>i\n<7>d\n[0-9]{4}-.* info: human\n$");
}

static void
test_log_level_names_round_trip(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("error"), LOG_LVL_ERROR);
	assert_int_equal(log_level_parse("warn"), LOG_LVL_WARN);
	assert_int_equal(log_level_parse("info"), LOG_LVL_INFO);
	assert_int_equal(log_level_parse("debug"), LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_int_equal(log_level_parse("INFO"), -1);
	assert_int_equal(log_level_parse(NULL), -1);
	assert_string_equal(log_level_name(LOG_LVL_WARN), "warn");
	log_set_level(LOG_LVL_DEBUG);
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	log_set_level(LOG_LVL_INFO);
}

/* log_level_names is indexed by enum log_level and ends with NULL. */
static void
test_log_level_names_follow_the_enum(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; log_level_names[i] != NULL; i++) {
		assert_int_equal(log_level_parse(log_level_names[i]), (int)i);
		assert_string_equal(log_level_name((enum log_level)i),
		    log_level_names[i]);
	}
	assert_int_equal(i, LOG_LVL_DEBUG + 1);
	assert_string_equal(log_level_names[LOG_LVL_ERROR], "error");
	assert_string_equal(log_level_name((enum log_level)(LOG_LVL_DEBUG + 1)),
	    "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_log_human_line_has_utc_time_name_pid_level),
		cmocka_unit_test(
		    test_log_warn_appends_strerror_and_levels_filter),
		cmocka_unit_test(
		    test_log_journal_stream_gives_priority_prefixes),
		cmocka_unit_test(test_log_level_names_round_trip),
		cmocka_unit_test(test_log_level_names_follow_the_enum),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
