/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/resolve.c: a lookup runs off the loop and
 * reports on it, a failed one says why, and one given up never calls back
 * and leaks nothing (the sanitizer build checks), however many are given
 * up while their threads still run.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "resolve.h"

/* What a callback saw. */
struct seen {
	int	calls;
	int	rc;
	int	family;
	int	port;
};

/* Records the outcome and frees the addresses. */
static void
seen_cb(void *arg, int rc, struct addrinfo *ai)
{
	struct seen	*s = arg;

	s->calls++;
	s->rc = rc;
	if (ai != NULL) {
		s->family = ai->ai_family;
		if (ai->ai_family == AF_INET)
			s->port = ntohs(((struct sockaddr_in *)
			    (void *)ai->ai_addr)->sin_port);
		freeaddrinfo(ai);
	}
}

/* Turns the loop until the callback ran (about 5 s at most). */
static void
spin(struct event_base *base, struct seen *s)
{
	struct timespec	ts = { 0, 1000000 };
	int		i;

	for (i = 0; i < 5000 && s->calls == 0; i++) {
		(void)event_base_loop(base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	}
}

static void
test_resolve_a_literal_reports_on_the_loop(void **state)
{
	struct event_base	*base = event_base_new();
	struct seen		 s = { 0, -1, 0, 0 };

	(void)state;
	assert_non_null(resolve_start(base, "127.0.0.1", "10000", seen_cb,
	    &s));
	/* Nothing before the loop runs. */
	assert_int_equal(s.calls, 0);
	spin(base, &s);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc, 0);
	assert_int_equal(s.family, AF_INET);
	assert_int_equal(s.port, 10000);
	event_base_free(base);
}

static void
test_resolve_an_unknown_name_says_why(void **state)
{
	struct event_base	*base = event_base_new();
	struct seen		 s = { 0, 0, 0, 0 };

	(void)state;
	assert_non_null(resolve_start(base, "nonexistent.invalid", "1",
	    seen_cb, &s));
	spin(base, &s);
	assert_int_equal(s.calls, 1);
	assert_true(s.rc != 0);
	assert_non_null(gai_strerror(s.rc));
	event_base_free(base);
}

static void
test_resolve_given_up_never_calls_back(void **state)
{
	struct event_base	*base = event_base_new();
	struct timespec		 ts = { 0, 1000000 };
	struct seen		 s = { 0, 0, 0, 0 };
	struct resolve		*r;
	int			 i;

	(void)state;
	/* Given up at once, and given up after the thread may be done. */
	for (i = 0; i < 50; i++) {
		r = resolve_start(base, "localhost", "1", seen_cb, &s);
		assert_non_null(r);
		if (i % 2 == 1)
			nanosleep(&ts, NULL);
		resolve_cancel(r);
	}
	resolve_cancel(NULL);
	for (i = 0; i < 200; i++) {
		(void)event_base_loop(base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(s.calls, 0);
	event_base_free(base);
}

/* Runs the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_a_literal_reports_on_the_loop),
		cmocka_unit_test(test_resolve_an_unknown_name_says_why),
		cmocka_unit_test(test_resolve_given_up_never_calls_back),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
