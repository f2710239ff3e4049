/* SPDX-License-Identifier: ISC */
/*
 * A printer for the client's unit tests: every record, help line and
 * diagnostic the client shows is appended to one string, one per line,
 * fields TAB-separated as in script mode (unescaped, "diag" and "help" as
 * record types), so a test compares what was shown with one string.
 * Included by the tests that need it; each test is one program.
 */
#ifndef SEALCHAT_TEST_CAPTURE_H
#define SEALCHAT_TEST_CAPTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "output.h"

struct capture {
	char	text[16384];
	size_t	len;
	int	help_lines;
};

static void	capture_add(struct capture *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Appends a formatted piece to the capture. */
static void
capture_add(struct capture *cap, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(cap->text + cap->len, sizeof(cap->text) - cap->len, fmt,
	    ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(cap->text) - cap->len)
		cap->len += (size_t)n;
}

/* Forgets what was captured. */
static void
capture_clear(struct capture *cap)
{
	cap->len = 0;
	cap->text[0] = '\0';
}

/* Captures an ok record. */
static void
capture_ok(void *arg, const char *cmd, const char *user)
{
	capture_add(arg, "ok\t%s\t%s\n", cmd, user);
}

/* Captures a users record. */
static void
capture_users(void *arg, const char *const *names, size_t n)
{
	size_t	i;

	capture_add(arg, "users");
	for (i = 0; i < n; i++)
		capture_add(arg, "\t%s", names[i]);
	capture_add(arg, "\n");
}

/* Captures an online or offline record. */
static void
capture_presence(void *arg, int online, const char *user)
{
	capture_add(arg, "%s\t%s\n", online ? "online" : "offline", user);
}

/* Captures a msg record. */
static void
capture_msg(void *arg, const char *from, const char *text, size_t len)
{
	capture_add(arg, "msg\t%s\t%.*s\n", from, (int)len, text);
}

/* Captures a delivered record. */
static void
capture_delivered(void *arg, const char *to)
{
	capture_add(arg, "delivered\t%s\n", to);
}

/* Captures a queued record. */
static void
capture_queued(void *arg, const char *to)
{
	capture_add(arg, "queued\t%s\n", to);
}

/* Captures peer records. */
static void
capture_peers(void *arg, const struct output_peer *rows, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		capture_add(arg, "peer\t%s\t%s\t%s\t", rows[i].user,
		    rows[i].path, rows[i].address);
		if (rows[i].rtt_ms < 0)
			capture_add(arg, "-\n");
		else
			capture_add(arg, "%d\n", rows[i].rtt_ms);
	}
}

/* Captures an identity record. */
static void
capture_identity(void *arg, const char *user, const char *what)
{
	capture_add(arg, "identity\t%s\t%s\n", user, what);
}

/* Captures a safety number. */
static void
capture_verify(void *arg, const char *user, const char *number)
{
	capture_add(arg, "verify\t%s\t%s\n", user, number);
}

/* Captures an error record. */
static void
capture_error(void *arg, const char *cmd, const char *reason)
{
	capture_add(arg, "error\t%s\t%s\n", cmd, reason);
}

/* Captures a disconnected record. */
static void
capture_disconnected(void *arg, const char *reason)
{
	capture_add(arg, "disconnected\t%s\n", reason);
}

/* Captures a message of ours. */
static void
capture_sent(void *arg, const char *to, const char *text, size_t len)
{
	capture_add(arg, "sent\t%s\t%.*s\n", to, (int)len, text);
}

/* Captures a note. */
static void
capture_info(void *arg, const char *text)
{
	capture_add(arg, "info\t%s\n", text);
}

/* Captures and counts a help line. */
static void
capture_help(void *arg, const char *usage, const char *text)
{
	struct capture	*cap = arg;

	cap->help_lines++;
	capture_add(cap, "help\t%s\t%s\n", usage, text);
}

/* Captures a diagnostic. */
static void
capture_diag(void *arg, const char *text)
{
	capture_add(arg, "diag\t%s\n", text);
}

/* The operations for output_new(ops, struct capture *). */
static const struct output_ops capture_ops = {
	.ok = capture_ok,
	.users = capture_users,
	.presence = capture_presence,
	.msg = capture_msg,
	.queued = capture_queued,
	.delivered = capture_delivered,
	.peers = capture_peers,
	.identity = capture_identity,
	.verify = capture_verify,
	.error = capture_error,
	.disconnected = capture_disconnected,
	.sent = capture_sent,
	.info = capture_info,
	.help = capture_help,
	.diag = capture_diag,
	.free = NULL,
};

#endif
