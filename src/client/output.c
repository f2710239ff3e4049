/* SPDX-License-Identifier: ISC */
/*
 * Record printing.  The script printer writes one record per line, fields
 * separated by one TAB; every field after the record type goes through
 * util_escape(), so a TAB, newline, backslash or control byte in a message
 * or a reason can never split or forge a record.  Each record is flushed at
 * once so that a reader on a pipe sees it without delay.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealchat/util.h"

#include "output.h"

/* Text longer than this in a diagnostic is cut. */
#define OUTPUT_DIAG_MAX	1024

struct output_script {
	FILE	*rec;
	FILE	*diag;
};

/* Writes one escaped field, preceded by a TAB. */
static void
output_script_field(FILE *f, const char *s, size_t len)
{
	char	 small[256];
	char	*buf = small;
	size_t	 need;

	/* util_escape() writes at most 4 bytes per input byte, plus a NUL. */
	if (len > (SIZE_MAX - 1) / 4)
		return;
	need = len * 4 + 1;
	if (need > sizeof(small) && (buf = malloc(need)) == NULL) {
		fputs("\t?", f);
		return;
	}
	util_escape(buf, need, s, len);
	fputc('\t', f);
	fputs(buf, f);
	if (buf != small)
		free(buf);
}

/* Ends a record and flushes it. */
static void
output_script_end(FILE *f)
{
	fputc('\n', f);
	fflush(f);
}

/* ok CMD USER */
static void
output_script_ok(void *arg, const char *cmd, const char *user)
{
	struct output_script	*os = arg;

	fputs("ok", os->rec);
	output_script_field(os->rec, cmd, strlen(cmd));
	output_script_field(os->rec, user, strlen(user));
	output_script_end(os->rec);
}

/* users NAME... */
static void
output_script_users(void *arg, const char *const *names, size_t n)
{
	struct output_script	*os = arg;
	size_t			 i;

	fputs("users", os->rec);
	for (i = 0; i < n; i++)
		output_script_field(os->rec, names[i], strlen(names[i]));
	output_script_end(os->rec);
}

/* online USER / offline USER */
static void
output_script_presence(void *arg, int online, const char *user)
{
	struct output_script	*os = arg;

	fputs(online ? "online" : "offline", os->rec);
	output_script_field(os->rec, user, strlen(user));
	output_script_end(os->rec);
}

/* msg FROM TEXT */
static void
output_script_msg(void *arg, const char *from, const char *text, size_t len)
{
	struct output_script	*os = arg;

	fputs("msg", os->rec);
	output_script_field(os->rec, from, strlen(from));
	output_script_field(os->rec, text, len);
	output_script_end(os->rec);
}

/* delivered TO */
static void
output_script_delivered(void *arg, const char *to)
{
	struct output_script	*os = arg;

	fputs("delivered", os->rec);
	output_script_field(os->rec, to, strlen(to));
	output_script_end(os->rec);
}

/* queued TO */
static void
output_script_queued(void *arg, const char *to)
{
	struct output_script	*os = arg;

	fputs("queued", os->rec);
	output_script_field(os->rec, to, strlen(to));
	output_script_end(os->rec);
}

/* peer USER PATH ADDRESS RTT_MS, one record per peer */
static void
output_script_peers(void *arg, const struct output_peer *rows, size_t n)
{
	struct output_script	*os = arg;
	char			 rtt[16];
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (rows[i].rtt_ms < 0)
			snprintf(rtt, sizeof(rtt), "-");
		else
			snprintf(rtt, sizeof(rtt), "%d", rows[i].rtt_ms);
		fputs("peer", os->rec);
		output_script_field(os->rec, rows[i].user,
		    strlen(rows[i].user));
		output_script_field(os->rec, rows[i].path,
		    strlen(rows[i].path));
		output_script_field(os->rec, rows[i].address,
		    strlen(rows[i].address));
		output_script_field(os->rec, rtt, strlen(rtt));
		output_script_end(os->rec);
	}
}

/* identity USER changed / identity USER trusted */
static void
output_script_identity(void *arg, const char *user, const char *what)
{
	struct output_script	*os = arg;

	fputs("identity", os->rec);
	output_script_field(os->rec, user, strlen(user));
	output_script_field(os->rec, what, strlen(what));
	output_script_end(os->rec);
}

/* verify USER NUMBER */
static void
output_script_verify(void *arg, const char *user, const char *number)
{
	struct output_script	*os = arg;

	fputs("verify", os->rec);
	output_script_field(os->rec, user, strlen(user));
	output_script_field(os->rec, number, strlen(number));
	output_script_end(os->rec);
}

/* error CMD REASON */
static void
output_script_error(void *arg, const char *cmd, const char *reason)
{
	struct output_script	*os = arg;

	fputs("error", os->rec);
	output_script_field(os->rec, cmd, strlen(cmd));
	output_script_field(os->rec, reason, strlen(reason));
	output_script_end(os->rec);
}

/* disconnected REASON */
static void
output_script_disconnected(void *arg, const char *reason)
{
	struct output_script	*os = arg;

	fputs("disconnected", os->rec);
	output_script_field(os->rec, reason, strlen(reason));
	output_script_end(os->rec);
}

/* A message of ours: the command was the script's, no record. */
static void
output_script_sent(void *arg, const char *to, const char *text, size_t len)
{
	(void)arg;
	(void)to;
	(void)text;
	(void)len;
}

/* A note for a person: none in script mode. */
static void
output_script_info(void *arg, const char *text)
{
	(void)arg;
	(void)text;
}

/* Help goes to standard error: standard output carries records only. */
static void
output_script_help(void *arg, const char *usage, const char *text)
{
	struct output_script	*os = arg;

	fprintf(os->diag, "  %-22s %s\n", usage, text);
	fflush(os->diag);
}

/* A diagnostic line on standard error. */
static void
output_script_diag(void *arg, const char *text)
{
	struct output_script	*os = arg;

	fprintf(os->diag, "sealchat: %s\n", text);
	fflush(os->diag);
}

/* Frees the script printer's state. */
static void
output_script_free(void *arg)
{
	free(arg);
}

static const struct output_ops output_script_ops = {
	.ok = output_script_ok,
	.users = output_script_users,
	.presence = output_script_presence,
	.msg = output_script_msg,
	.queued = output_script_queued,
	.delivered = output_script_delivered,
	.peers = output_script_peers,
	.identity = output_script_identity,
	.verify = output_script_verify,
	.error = output_script_error,
	.disconnected = output_script_disconnected,
	.sent = output_script_sent,
	.info = output_script_info,
	.help = output_script_help,
	.diag = output_script_diag,
	.free = output_script_free,
};

/* Makes an output around a front end's operations. */
struct output *
output_new(const struct output_ops *ops, void *arg)
{
	struct output	*out;

	if ((out = calloc(1, sizeof(*out))) == NULL)
		return (NULL);
	out->ops = ops;
	out->arg = arg;
	return (out);
}

/* Makes the script-mode printer. */
struct output *
output_script_new(FILE *rec, FILE *diag)
{
	struct output_script	*os;
	struct output		*out;

	if ((os = calloc(1, sizeof(*os))) == NULL)
		return (NULL);
	os->rec = rec;
	os->diag = diag;
	if ((out = output_new(&output_script_ops, os)) == NULL) {
		free(os);
		return (NULL);
	}
	return (out);
}

/* Frees an output and its printer's state; NULL-safe. */
void
output_free(struct output *out)
{
	if (out == NULL)
		return;
	if (out->ops->free != NULL)
		out->ops->free(out->arg);
	free(out);
}

/* Shows a successful login. */
void
output_ok(struct output *out, const char *cmd, const char *user)
{
	out->ops->ok(out->arg, cmd, user);
}

/* Shows a list of users. */
void
output_users(struct output *out, const char *const *names, size_t n)
{
	out->ops->users(out->arg, names, n);
}

/* Shows a presence change. */
void
output_presence(struct output *out, int online, const char *user)
{
	out->ops->presence(out->arg, online, user);
}

/* Shows an incoming message. */
void
output_msg(struct output *out, const char *from, const char *text,
    size_t len)
{
	out->ops->msg(out->arg, from, text, len);
}

/* Shows a message stored while we were offline (as msg by default). */
void
output_stored(struct output *out, const char *from, const char *text,
    size_t len, uint64_t sent_ms, uint64_t stored)
{
	if (out->ops->stored != NULL)
		out->ops->stored(out->arg, from, text, len, sent_ms, stored);
	else
		out->ops->msg(out->arg, from, text, len);
}

/* Shows that the server stored a message for a user offline. */
void
output_queued(struct output *out, const char *to)
{
	if (out->ops->queued != NULL)
		out->ops->queued(out->arg, to);
}

/* Shows an acknowledgement. */
void
output_delivered(struct output *out, const char *to)
{
	out->ops->delivered(out->arg, to);
}

/* Shows the peers and their paths. */
void
output_peers(struct output *out, const struct output_peer *rows, size_t n)
{
	out->ops->peers(out->arg, rows, n);
}

/* Shows a change, or the trust, of a peer's identity key. */
void
output_identity(struct output *out, const char *user, const char *what)
{
	out->ops->identity(out->arg, user, what);
}

/* Shows a safety number. */
void
output_verify(struct output *out, const char *user, const char *number)
{
	out->ops->verify(out->arg, user, number);
}

/* Shows a failed command. */
void
output_error(struct output *out, const char *cmd, const char *reason)
{
	out->ops->error(out->arg, cmd, reason);
}

/* Shows that the session with the server was lost. */
void
output_disconnected(struct output *out, const char *reason)
{
	out->ops->disconnected(out->arg, reason);
}

/* Shows a message of ours. */
void
output_sent(struct output *out, const char *to, const char *text,
    size_t len)
{
	out->ops->sent(out->arg, to, text, len);
}

/* Shows a formatted note for a person. */
void
output_info(struct output *out, const char *fmt, ...)
{
	char	buf[OUTPUT_DIAG_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out->ops->info(out->arg, buf);
}

/* Shows one line of help. */
void
output_help(struct output *out, const char *usage, const char *text)
{
	out->ops->help(out->arg, usage, text);
}

/* Shows a formatted diagnostic. */
void
output_diag(struct output *out, const char *fmt, ...)
{
	char	buf[OUTPUT_DIAG_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out->ops->diag(out->arg, buf);
}
