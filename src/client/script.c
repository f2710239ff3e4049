/* SPDX-License-Identifier: ISC */
/*
 * Script mode.  Standard input is read only when the command before has
 * finished and no whole line is buffered, so commands run strictly in
 * order.  One line is run per turn of the event loop, so acknowledgements
 * and notices are handled between the commands of a long script.  Lines
 * may hold passwords: every copy is wiped once used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"

#include "askpass.h"
#include "commands.h"
#include "script.h"

struct script {
	struct event_base	*base;
	struct client		*client;
	int			 fd;
	char			*password_file;
	struct event		*read_ev;
	struct event		*pump_ev;
	struct askpass		*ask;		/* on a terminal */
	struct script_lines	 lines;
	int			 busy;		/* a command is running */
	int			 ended;		/* end of input reported */
	int			 started;
};

/* Starts an empty splitter. */
void
script_lines_init(struct script_lines *lb)
{
	memset(lb, 0, sizeof(*lb));
}

/* Wipes whatever the splitter holds. */
void
script_lines_wipe(struct script_lines *lb)
{
	sc_wipe(lb->buf, sizeof(lb->buf));
	lb->len = 0;
}

/* Room left for input; while discarding, a whole buffer's worth. */
size_t
script_lines_room(const struct script_lines *lb)
{
	if (lb->eof)
		return (0);
	if (lb->discarding)
		return (sizeof(lb->buf));
	return (sizeof(lb->buf) - lb->len);
}

/* Adds bytes read from the input (0 bytes: end of input). */
void
script_lines_push(struct script_lines *lb, const char *data, size_t n)
{
	const char	*nl;
	size_t		 take;

	if (n == 0) {
		lb->eof = 1;
		return;
	}
	if (lb->discarding) {
		if ((nl = memchr(data, '\n', n)) == NULL)
			return;
		lb->discarding = 0;
		n -= (size_t)(nl + 1 - data);
		data = nl + 1;
	}
	take = n < sizeof(lb->buf) - lb->len ? n : sizeof(lb->buf) - lb->len;
	memcpy(lb->buf + lb->len, data, take);
	lb->len += take;
}

/* Copies the first n bytes out as a line and removes them (and skip more). */
static void
script_lines_take(struct script_lines *lb, char *out, size_t n, size_t skip,
    size_t *len)
{
	size_t	linelen = n;

	if (linelen > 0 && lb->buf[linelen - 1] == '\r')
		linelen--;
	memcpy(out, lb->buf, linelen);
	out[linelen < SCRIPT_BUF ? linelen : SCRIPT_BUF - 1] = '\0';
	*len = linelen;
	memmove(lb->buf, lb->buf + n + skip, lb->len - n - skip);
	lb->len -= n + skip;
	sc_wipe(lb->buf + lb->len, sizeof(lb->buf) - lb->len);
}

/* Returns the next line, a line too long, or what is missing. */
enum script_next
script_lines_next(struct script_lines *lb, char *out, size_t *len)
{
	const char	*nl;
	size_t		 n;

	*len = 0;
	if ((nl = memchr(lb->buf, '\n', lb->len)) != NULL) {
		n = (size_t)(nl - lb->buf);
		script_lines_take(lb, out, n, 1, len);
		return (*len > SCRIPT_LINE_MAX ? SCRIPT_TOOLONG : SCRIPT_LINE);
	}
	if (lb->len == sizeof(lb->buf)) {
		/* Full without a newline: report, then skip to the next. */
		script_lines_take(lb, out, SCRIPT_LINE_MAX, lb->len -
		    SCRIPT_LINE_MAX, len);
		lb->discarding = !lb->eof;
		return (SCRIPT_TOOLONG);
	}
	if (!lb->eof)
		return (SCRIPT_MORE);
	if (lb->len == 0)
		return (SCRIPT_END);
	n = lb->len;
	script_lines_take(lb, out, n, 0, len);
	return (*len > SCRIPT_LINE_MAX ? SCRIPT_TOOLONG : SCRIPT_LINE);
}

/* Reports a line over the limit, naming its command word. */
static void
script_toolong(struct script *s, const char *line, size_t len)
{
	struct cmd_args	a;
	char		word[64];
	size_t		n = 0;

	if (commands_split(&a, line, len) == 0 && a.word_len > 0) {
		n = a.word_len < sizeof(word) - 1 ? a.word_len :
		    sizeof(word) - 1;
		memcpy(word, a.word, n);
	}
	word[n] = '\0';
	client_error(s->client, n > 0 ? word : "-",
	    "line too long (max %d bytes)", SCRIPT_LINE_MAX);
}

/* Runs buffered lines, one per turn; reads when a line is missing. */
static void
script_pump(struct script *s)
{
	char		line[SCRIPT_BUF];
	size_t		len;
	enum cmd_status	st;

	if (s->busy || s->ended || !s->started)
		return;
	switch (script_lines_next(&s->lines, line, &len)) {
	case SCRIPT_LINE:
		st = commands_run(s->client, line, len);
		sc_wipe(line, sizeof(line));
		if (st == CMD_PENDING) {
			s->busy = 1;
			return;
		}
		event_active(s->pump_ev, 0, 0);
		break;
	case SCRIPT_TOOLONG:
		script_toolong(s, line, len);
		sc_wipe(line, sizeof(line));
		event_active(s->pump_ev, 0, 0);
		break;
	case SCRIPT_MORE:
		event_add(s->read_ev, NULL);
		break;
	case SCRIPT_END:
		s->ended = 1;
		log_debug("script: end of input");
		client_end_of_input(s->client);
		break;
	}
}

/* The loop's turn for the next line. */
static void
script_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	script_pump(arg);
}

/* Input is readable: take one read's worth, then go on. */
static void
script_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct script	*s = arg;
	char		 buf[SCRIPT_BUF];
	size_t		 room;
	ssize_t		 n;

	(void)what;
	room = script_lines_room(&s->lines);
	if (room > sizeof(buf))
		room = sizeof(buf);
	if (room == 0) {
		script_pump(s);
		return;
	}
	n = read(fd, buf, room);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			event_add(s->read_ev, NULL);
			return;
		}
		log_warn("script: read");
		n = 0;
	}
	script_lines_push(&s->lines, buf, (size_t)n);
	sc_wipe(buf, (size_t)n);
	script_pump(s);
}

/* Client hook: the channel is open, start reading commands. */
static void
script_ready(void *arg)
{
	struct script	*s = arg;

	s->started = 1;
	script_pump(s);
}

/* Client hook: the running command finished. */
static void
script_done(void *arg, int failed)
{
	struct script	*s = arg;

	(void)failed;
	s->busy = 0;
	event_active(s->pump_ev, 0, 0);
}

/* Reads the first line of the password file. */
static int
script_password_file(const char *path, char *buf, size_t cap, size_t *len,
    char *err, size_t errlen)
{
	char	*nl;
	size_t	 have;

	if (util_read_file(path, buf, cap, &have) == -1) {
		snprintf(err, errlen, "cannot read the password file %s: %s",
		    path, strerror(errno));
		sc_wipe(buf, cap);
		return (-1);
	}
	if ((nl = memchr(buf, '\n', have)) != NULL)
		have = (size_t)(nl - buf);
	if (have > 0 && buf[have - 1] == '\r')
		have--;
	sc_wipe(buf + have, cap - have);
	if (have == 0) {
		snprintf(err, errlen, "no password");
		return (-1);
	}
	*len = have;
	return (0);
}

/* The password typed at the terminal: the login goes on. */
static void
script_password_read(void *arg, const char *pass, size_t len,
    const char *err)
{
	struct script	*s = arg;

	client_password_done(s->client, pass, len, err);
}

/*
 * Client hook: a password from --password-file or $SEALCHAT_PASSWORD, else,
 * when the commands come from a terminal, typed there with echo off (the
 * prompt on standard error: standard output carries records only).
 */
static int
script_password(void *arg, char *buf, size_t cap, size_t *len, char *err,
    size_t errlen)
{
	struct script	*s = arg;
	const char	*env;
	size_t		 n;

	if (s->password_file != NULL)
		return (script_password_file(s->password_file, buf, cap, len,
		    err, errlen));
	env = getenv("SEALCHAT_PASSWORD");
	if ((env == NULL || *env == '\0') && s->ask != NULL &&
	    askpass_start(s->ask, "Password: ", script_password_read, s) == 0)
		return (1);
	if (env == NULL || *env == '\0') {
		snprintf(err, errlen, "no password");
		return (-1);
	}
	n = strlen(env);
	if (n > cap)
		n = cap;
	memcpy(buf, env, n);
	*len = n;
	return (0);
}

/* Client hook: the run ends; a password prompt gives the terminal back. */
static void
script_ending(void *arg)
{
	struct script	*s = arg;

	if (askpass_active(s->ask)) {
		askpass_cancel(s->ask);
		fputc('\n', stderr);
	}
}

/* Sets up script mode on fd. */
struct script *
script_new(struct event_base *base, struct client *client, int fd,
    const char *password_file)
{
	struct client_frontend	 fe;
	struct script		*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->base = base;
	s->client = client;
	s->fd = fd;
	script_lines_init(&s->lines);
	if (password_file != NULL &&
	    (s->password_file = strdup(password_file)) == NULL)
		goto fail;
	s->read_ev = event_new(base, fd, EV_READ, script_read_cb, s);
	s->pump_ev = event_new(base, -1, 0, script_pump_cb, s);
	if (s->read_ev == NULL || s->pump_ev == NULL)
		goto fail;
	if (isatty(fd) && (s->ask = askpass_new(base, fd, stderr)) == NULL)
		goto fail;
	memset(&fe, 0, sizeof(fe));
	fe.ready = script_ready;
	fe.done = script_done;
	fe.password = script_password;
	fe.ending = script_ending;
	/* The file and the environment give the same password again. */
	fe.reread = password_file != NULL ||
	    (getenv("SEALCHAT_PASSWORD") != NULL &&
	    getenv("SEALCHAT_PASSWORD")[0] != '\0');
	fe.arg = s;
	client_set_frontend(client, &fe);
	return (s);
fail:
	script_free(s);
	return (NULL);
}

/* Queues a line of our own, or the end of the input. */
void
script_push(struct script *s, const char *line)
{
	size_t	len;

	if (line == NULL) {
		script_lines_push(&s->lines, NULL, 0);
		return;
	}
	len = strlen(line);
	if (len + 1 > script_lines_room(&s->lines)) {
		log_warnx("script: no room for a queued line");
		return;
	}
	script_lines_push(&s->lines, line, len);
	script_lines_push(&s->lines, "\n", 1);
}

/* Frees script mode's state, wiping buffered input. */
void
script_free(struct script *s)
{
	if (s == NULL)
		return;
	if (s->read_ev != NULL)
		event_free(s->read_ev);
	if (s->pump_ev != NULL)
		event_free(s->pump_ev);
	askpass_free(s->ask);
	script_lines_wipe(&s->lines);
	free(s->password_file);
	free(s);
}
