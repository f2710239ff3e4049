/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/askpass.c on a pseudo-terminal: the password
 * is read with echo off and nothing typed is shown; keys typed ahead of the
 * prompt are taken and keys typed after Enter stay for the next reader;
 * Backspace, Ctrl-U and Ctrl-D do what a person expects; the terminal's
 * mode comes back as it was.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/crypto.h"

#include "askpass.h"

/* A pseudo-terminal and a reader on its slave side. */
struct fixture {
	struct event_base	*base;
	struct askpass		*ask;
	FILE			*out;		/* the prompt, to a file */
	int			 master;
	int			 slave;
	int			 calls;
	char			 got[ASKPASS_MAX + 1];
	size_t			 len;
	char			 err[64];
};

/* Opens the pty and the reader. */
static int
setup(void **state)
{
	struct fixture	*f;

	assert_int_equal(sc_crypto_init(), 0);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(f->master >= 0);
	assert_int_equal(grantpt(f->master), 0);
	assert_int_equal(unlockpt(f->master), 0);
	f->slave = open(ptsname(f->master), O_RDWR | O_NOCTTY);
	assert_true(f->slave >= 0);
	f->out = tmpfile();
	assert_non_null(f->out);
	f->ask = askpass_new(f->base, f->slave, f->out);
	assert_non_null(f->ask);
	*state = f;
	return (0);
}

/* Closes everything. */
static int
teardown(void **state)
{
	struct fixture	*f = *state;

	askpass_free(f->ask);
	fclose(f->out);
	close(f->slave);
	close(f->master);
	event_base_free(f->base);
	free(f);
	return (0);
}

/* The outcome of a prompt. */
static void
got_cb(void *arg, const char *pass, size_t len, const char *err)
{
	struct fixture	*f = arg;

	f->calls++;
	f->len = len;
	if (pass != NULL)
		memcpy(f->got, pass, len);
	f->got[len] = '\0';
	snprintf(f->err, sizeof(f->err), "%s", err != NULL ? err : "");
}

/* Types bytes at the terminal. */
static void
type(struct fixture *f, const char *keys)
{
	assert_int_equal(write(f->master, keys, strlen(keys)),
	    (ssize_t)strlen(keys));
}

/* Turns the loop until the prompt is over (about 3 s at most). */
static void
spin(struct fixture *f)
{
	struct timespec	ts = { 0, 1000000 };
	int		i;

	for (i = 0; i < 3000 && f->calls == 0; i++) {
		(void)event_base_loop(f->base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(f->calls, 1);
}

/* What the terminal showed: whatever the master can read now. */
static size_t
shown(struct fixture *f, char *buf, size_t cap)
{
	ssize_t	n;
	int	fl;

	fl = fcntl(f->master, F_GETFL);
	(void)fcntl(f->master, F_SETFL, fl | O_NONBLOCK);
	n = read(f->master, buf, cap - 1);
	(void)fcntl(f->master, F_SETFL, fl);
	buf[n > 0 ? n : 0] = '\0';
	return (n > 0 ? (size_t)n : 0);
}

static void
test_askpass_typed_ahead_taken_the_rest_kept(void **state)
{
	struct fixture	*f = *state;
	struct termios	 before, after;
	char		 buf[256];
	ssize_t		 n;

	assert_int_equal(tcgetattr(f->slave, &before), 0);
	/* Typed before the prompt: a line discipline in canonical mode. */
	type(f, "s3cr\xc3\xa9t\nnext line\n");
	assert_int_equal(askpass_start(f->ask, "Password: ", got_cb, f), 0);
	assert_true(askpass_active(f->ask));
	spin(f);
	assert_string_equal(f->got, "s3cr\xc3\xa9t");
	assert_string_equal(f->err, "");
	assert_false(askpass_active(f->ask));
	/* The next line is still there for whoever reads next. */
	n = read(f->slave, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "next line"));
	/* The mode is back. */
	assert_int_equal(tcgetattr(f->slave, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	/* The prompt went to out, then a newline. */
	rewind(f->out);
	assert_non_null(fgets(buf, sizeof(buf), f->out));
	assert_string_equal(buf, "Password: \n");
}

static void
test_askpass_nothing_typed_is_shown(void **state)
{
	struct fixture	*f = *state;
	char		 buf[256];

	(void)shown(f, buf, sizeof(buf));
	assert_int_equal(askpass_start(f->ask, "Password: ", got_cb, f), 0);
	type(f, "hidden\r");
	spin(f);
	assert_string_equal(f->got, "hidden");
	(void)shown(f, buf, sizeof(buf));
	assert_null(strstr(buf, "hidden"));
}

static void
test_askpass_backspace_ctrl_u_and_ctrl_d(void **state)
{
	struct fixture	*f = *state;

	/* Backspace takes a whole UTF-8 character; Ctrl-U the line. */
	assert_int_equal(askpass_start(f->ask, "P: ", got_cb, f), 0);
	type(f, "junk\x15pw\xc3\xa9\x7f!\n");
	spin(f);
	assert_string_equal(f->got, "pw!");
	/* Ctrl-D in the middle is nothing; on an empty line, no password. */
	f->calls = 0;
	assert_int_equal(askpass_start(f->ask, "P: ", got_cb, f), 0);
	type(f, "\x04");
	spin(f);
	assert_int_equal(f->len, 0);
	assert_string_equal(f->err, "no password");
}

static void
test_askpass_too_long_is_told_by_its_length(void **state)
{
	struct fixture	*f = *state;
	char		 line[ASKPASS_MAX + 20];

	memset(line, 'x', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(askpass_start(f->ask, "P: ", got_cb, f), 0);
	type(f, line);
	spin(f);
	assert_int_equal(f->len, ASKPASS_MAX);
}

static void
test_askpass_cancel_restores_and_never_calls_back(void **state)
{
	struct fixture	*f = *state;
	struct termios	 before, during, after;
	int		 i;

	assert_int_equal(tcgetattr(f->slave, &before), 0);
	assert_int_equal(askpass_start(f->ask, "P: ", got_cb, f), 0);
	assert_int_equal(tcgetattr(f->slave, &during), 0);
	assert_int_equal(during.c_lflag & ECHO, 0);
	assert_true((during.c_lflag & ISIG) != 0);
	askpass_cancel(f->ask);
	assert_int_equal(tcgetattr(f->slave, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	type(f, "late\n");
	for (i = 0; i < 50; i++)
		(void)event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->calls, 0);
}

static void
test_askpass_refuses_what_is_not_a_terminal(void **state)
{
	struct fixture	*f = *state;
	struct askpass	*a;
	int		 fd;

	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	a = askpass_new(f->base, fd, f->out);
	assert_non_null(a);
	assert_int_equal(askpass_start(a, "P: ", got_cb, f), -1);
	assert_false(askpass_active(a));
	askpass_free(a);
	askpass_free(NULL);
	close(fd);
}

/* Runs the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_askpass_typed_ahead_taken_the_rest_kept,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_askpass_nothing_typed_is_shown, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_askpass_backspace_ctrl_u_and_ctrl_d, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_askpass_too_long_is_told_by_its_length, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_askpass_cancel_restores_and_never_calls_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_askpass_refuses_what_is_not_a_terminal, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
