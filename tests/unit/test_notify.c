/* SPDX-License-Identifier: ISC */
/*
 * systemd notification: a datagram socket bound in a temporary folder (and
 * one in the abstract namespace) stands in for the service manager, and the
 * exact datagrams are checked.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/log.h"
#include "notify.h"

#include "tmpdir.h"

struct fixture {
	char			 dir[PATH_MAX];
	char			 path[PATH_MAX + 16];	/* dir/notify */
	int			 fd;
	struct event_base	*base;
};

/* Binds a datagram socket at a path in a fresh temporary folder. */
static int
setup_path(void **state)
{
	struct fixture		*f;
	struct sockaddr_un	 sun;

	f = calloc(1, sizeof *f);
	assert_non_null(f);
	tmpdir_make(f->dir, "notify");
	snprintf(f->path, sizeof f->path, "%s/notify", f->dir);
	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	assert_true(strlen(f->path) < sizeof sun.sun_path);
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sun, sizeof sun), 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
	*state = f;
	return (0);
}

/* Closes everything setup_path made. */
static int
teardown_path(void **state)
{
	struct fixture	*f = *state;

	notify_free();
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	close(f->fd);
	tmpdir_remove(f->dir);
	event_base_free(f->base);
	free(f);
	return (0);
}

/* Receives one datagram within a second; returns its length or -1. */
static ssize_t
recv_one(int fd, char *buf, size_t len)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	ssize_t		n;

	if (poll(&pfd, 1, 1000) != 1)
		return (-1);
	n = recv(fd, buf, len - 1, MSG_DONTWAIT);
	if (n >= 0)
		buf[n] = '\0';
	return (n);
}

/* Asserts the next datagram is exactly want. */
static void
expect_datagram(int fd, const char *want)
{
	char	buf[1024];
	ssize_t	n;

	n = recv_one(fd, buf, sizeof buf);
	assert_true(n >= 0);
	assert_int_equal((size_t)n, strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
}

/* Asserts nothing arrives for a short while. */
static void
expect_silence(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 100), 0);
}

/* READY, STATUS and STOPPING reach a socket named by an absolute path. */
static void
test_notify_path_socket_gets_exact_datagrams(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(notify_init(f->base), 0);
	notify_ready();
	expect_datagram(f->fd, "READY=1");
	notify_status("sessions=%d accounts=%d", 3, 12);
	expect_datagram(f->fd, "STATUS=sessions=3 accounts=12");
	notify_stopping();
	expect_datagram(f->fd, "STOPPING=1");
	expect_silence(f->fd);
}

/* RELOADING carries the monotonic time that newer managers require. */
static void
test_notify_reloading_has_monotonic_usec(void **state)
{
	struct fixture	*f = *state;
	char		 buf[256];
	const char	*prefix = "RELOADING=1\nMONOTONIC_USEC=";
	char		*end;
	ssize_t		 n;

	assert_int_equal(notify_init(f->base), 0);
	notify_reloading();
	n = recv_one(f->fd, buf, sizeof buf);
	assert_true(n > (ssize_t)strlen(prefix));
	assert_memory_equal(buf, prefix, strlen(prefix));
	assert_true(strtoull(buf + strlen(prefix), &end, 10) > 0);
	assert_int_equal(*end, '\0');
}

/* A newline in a status cannot inject another assignment. */
static void
test_notify_status_stays_one_line(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(notify_init(f->base), 0);
	notify_status("%s", "up\nREADY=1");
	expect_datagram(f->fd, "STATUS=up READY=1");
}

/* Without NOTIFY_SOCKET every call is a harmless no-op. */
static void
test_notify_unset_is_noop(void **state)
{
	struct fixture	*f = *state;

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_init(f->base), 0);
	notify_ready();
	notify_status("x=%d", 1);
	notify_reloading();
	notify_stopping();
	expect_silence(f->fd);
}

/* A relative or empty-abstract value is refused, and calls stay silent. */
static void
test_notify_bad_socket_value_refused(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(setenv("NOTIFY_SOCKET", "relative/path", 1), 0);
	assert_int_equal(notify_init(f->base), -1);
	notify_ready();
	assert_int_equal(setenv("NOTIFY_SOCKET", "@", 1), 0);
	assert_int_equal(notify_init(f->base), -1);
	notify_ready();
	expect_silence(f->fd);
}

/* A manager that went away costs nothing: sends fail quietly. */
static void
test_notify_missing_listener_not_fatal(void **state)
{
	struct fixture	*f = *state;
	char		 gone[PATH_MAX + 32];

	snprintf(gone, sizeof gone, "%s/nobody-here", f->dir);
	assert_int_equal(setenv("NOTIFY_SOCKET", gone, 1), 0);
	assert_int_equal(notify_init(f->base), 0);
	notify_ready();
	notify_stopping();
	expect_silence(f->fd);
}

/* Stops the loop once the test has waited long enough. */
static void
stop_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	event_base_loopbreak(arg);
}

/*
 * Starts notify with a watchdog of usec microseconds meant for process pid,
 * then runs the loop for run_us microseconds.
 */
static void
run_watchdog(struct fixture *f, const char *usec, long pid, long run_us)
{
	struct timeval	 tv;
	struct event	*stop;
	char		 text[32];

	assert_int_equal(setenv("WATCHDOG_USEC", usec, 1), 0);
	snprintf(text, sizeof text, "%ld", pid);
	assert_int_equal(setenv("WATCHDOG_PID", text, 1), 0);
	assert_int_equal(notify_init(f->base), 0);
	stop = evtimer_new(f->base, stop_cb, f->base);
	assert_non_null(stop);
	tv.tv_sec = 0;
	tv.tv_usec = run_us;
	assert_int_equal(evtimer_add(stop, &tv), 0);
	assert_int_equal(event_base_dispatch(f->base), 0);
	event_free(stop);
}

/* With WATCHDOG_USEC the loop sends WATCHDOG=1 at half the interval. */
static void
test_notify_watchdog_pings_from_loop(void **state)
{
	struct fixture	*f = *state;

	run_watchdog(f, "100000", (long)getpid(), 230000);
	/* 230 ms at a 50 ms period: at least three pings. */
	expect_datagram(f->fd, "WATCHDOG=1");
	expect_datagram(f->fd, "WATCHDOG=1");
	expect_datagram(f->fd, "WATCHDOG=1");
	notify_free();
}

/* A watchdog meant for another process is left alone. */
static void
test_notify_watchdog_other_pid_ignored(void **state)
{
	struct fixture	*f = *state;

	run_watchdog(f, "20000", (long)getpid() + 1, 150000);
	expect_silence(f->fd);
}

/* An "@name" value reaches a socket bound in the abstract namespace. */
static void
test_notify_abstract_socket_gets_exact_datagrams(void **state)
{
	struct event_base	*base;
	struct sockaddr_un	 sun;
	char			 name[64], env[80];
	socklen_t		 len;
	int			 fd;

	(void)state;
	snprintf(name, sizeof name, "sealchat-test-notify-%ld-%ld",
	    (long)getpid(), (long)random());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(name));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	snprintf(env, sizeof env, "@%s", name);
	assert_int_equal(setenv("NOTIFY_SOCKET", env, 1), 0);
	unsetenv("WATCHDOG_USEC");
	base = event_base_new();
	assert_non_null(base);

	assert_int_equal(notify_init(base), 0);
	notify_ready();
	expect_datagram(fd, "READY=1");
	notify_status("listening on %s", "127.0.0.1:10000");
	expect_datagram(fd, "STATUS=listening on 127.0.0.1:10000");
	notify_stopping();
	expect_datagram(fd, "STOPPING=1");

	notify_free();
	unsetenv("NOTIFY_SOCKET");
	event_base_free(base);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_notify_path_socket_gets_exact_datagrams,
		    setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(
		    test_notify_reloading_has_monotonic_usec,
		    setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(
		    test_notify_status_stays_one_line,
		    setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(
		    test_notify_unset_is_noop, setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(
		    test_notify_bad_socket_value_refused,
		    setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(
		    test_notify_missing_listener_not_fatal,
		    setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(
		    test_notify_watchdog_pings_from_loop,
		    setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(
		    test_notify_watchdog_other_pid_ignored,
		    setup_path, teardown_path),
		cmocka_unit_test(
		    test_notify_abstract_socket_gets_exact_datagrams),
	};

	log_init("test_notify", LOG_LVL_ERROR);
	srandom((unsigned int)getpid());
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
