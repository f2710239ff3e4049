/* SPDX-License-Identifier: ISC */
/*
 * The sd_notify protocol spoken directly: one AF_UNIX datagram per state
 * change, of newline-separated VARIABLE=value assignments, sent to the socket
 * named by $NOTIFY_SOCKET.  No libsystemd needed.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "sealchat/log.h"
#include "notify.h"

#define NOTIFY_MSG_MAX	512

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_addr;
static socklen_t		 notify_addrlen;
static struct event		*notify_wd_ev;

/* Sends one datagram; failures are logged at debug level only. */
static void
notify_send(const char *msg)
{
	ssize_t	n;

	if (notify_fd == -1)
		return;
	do {
		n = sendto(notify_fd, msg, strlen(msg),
		    MSG_NOSIGNAL | MSG_DONTWAIT,
		    (const struct sockaddr *)&notify_addr, notify_addrlen);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		log_debug("notify: send failed: %s", strerror(errno));
}

/* Timer: tells the service manager the loop is alive. */
static void
notify_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	notify_send("WATCHDOG=1");
}

/* Fills the socket address from the value of $NOTIFY_SOCKET. */
static int
notify_parse_addr(const char *value)
{
	size_t	len = strlen(value);

	memset(&notify_addr, 0, sizeof notify_addr);
	notify_addr.sun_family = AF_UNIX;
	if (value[0] == '/') {
		if (len >= sizeof notify_addr.sun_path)
			return (-1);
		memcpy(notify_addr.sun_path, value, len + 1);
		notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un,
		    sun_path) + len + 1);
		return (0);
	}
	if (value[0] == '@') {
		/* Abstract namespace: a leading NUL, no terminating one. */
		if (len < 2 || len > sizeof notify_addr.sun_path)
			return (-1);
		notify_addr.sun_path[0] = '\0';
		memcpy(notify_addr.sun_path + 1, value + 1, len - 1);
		notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un,
		    sun_path) + len);
		return (0);
	}
	return (-1);
}

/* Returns the watchdog interval in microseconds, or 0 when disabled. */
static unsigned long long
notify_watchdog_usec(void)
{
	const char		*s, *pid;
	char			*end;
	unsigned long long	 usec, p;

	if ((s = getenv("WATCHDOG_USEC")) == NULL || *s == '\0')
		return (0);
	errno = 0;
	usec = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || *s == '-' || usec == 0) {
		log_warnx("notify: WATCHDOG_USEC=%s ignored", s);
		return (0);
	}
	if ((pid = getenv("WATCHDOG_PID")) != NULL && *pid != '\0') {
		errno = 0;
		p = strtoull(pid, &end, 10);
		if (errno != 0 || *end != '\0' ||
		    p != (unsigned long long)getpid())
			return (0);
	}
	return (usec);
}

/* Opens the notification socket and starts the watchdog timer. */
int
notify_init(struct event_base *base)
{
	struct timeval		 tv;
	const char		*value;
	unsigned long long	 usec;

	notify_free();
	if ((value = getenv("NOTIFY_SOCKET")) == NULL || *value == '\0')
		return (0);
	if (notify_parse_addr(value) == -1) {
		log_warnx("notify: NOTIFY_SOCKET=%s not supported", value);
		return (-1);
	}
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd == -1) {
		log_warn("notify: socket");
		return (-1);
	}
	if ((usec = notify_watchdog_usec()) == 0)
		return (0);
	usec /= 2;
	if (usec == 0)
		usec = 1;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	notify_wd_ev = event_new(base, -1, EV_PERSIST, notify_watchdog_cb,
	    NULL);
	/* The watchdog must not wait behind low-priority work. */
	if (notify_wd_ev == NULL || event_priority_set(notify_wd_ev, 0) == -1 ||
	    event_add(notify_wd_ev, &tv) == -1) {
		log_warnx("notify: cannot start the watchdog timer");
		event_free(notify_wd_ev);
		notify_wd_ev = NULL;
		return (-1);
	}
	log_debug("notify: watchdog interval_us=%llu", usec);
	return (0);
}

/* Tells the service manager start-up is complete. */
void
notify_ready(void)
{
	notify_send("READY=1");
}

/* Tells the service manager the daemon is shutting down. */
void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

/* Tells the service manager a reload has begun (READY=1 ends it). */
void
notify_reloading(void)
{
	char		msg[64];
	struct timespec	ts;

	if (notify_fd == -1)
		return;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
		notify_send("RELOADING=1");
		return;
	}
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg);
}

/* Sends a one-line status text. */
void
notify_status(const char *fmt, ...)
{
	char	msg[NOTIFY_MSG_MAX];
	va_list	ap;
	size_t	i;
	int	n;

	if (notify_fd == -1)
		return;
	memcpy(msg, "STATUS=", 7);
	va_start(ap, fmt);
	n = vsnprintf(msg + 7, sizeof msg - 7, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* A newline would start a new assignment: keep it one line. */
	for (i = 7; msg[i] != '\0'; i++) {
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	}
	notify_send(msg);
}

/* Stops the watchdog and closes the socket. */
void
notify_free(void)
{
	if (notify_wd_ev != NULL) {
		event_free(notify_wd_ev);
		notify_wd_ev = NULL;
	}
	if (notify_fd != -1) {
		close(notify_fd);
		notify_fd = -1;
	}
	memset(&notify_addr, 0, sizeof notify_addr);
	notify_addrlen = 0;
}
