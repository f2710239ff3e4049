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

#include "batch.h"
#include "commands.h"

struct batch {
	struct event_base	*base;
	struct client		*client;
	int			 fd;
	char			*password_file;
	struct event		*read_ev;
	struct event		*pump_ev;
	struct batch_lines	 lines;
	int			 busy;		/* a command is running */
	int			 ended;		/* end of input reported */
	int			 started;
};

/* Starts an empty splitter. */
void
batch_lines_init(struct batch_lines *lb)
{
	memset(lb, 0, sizeof(*lb));
}

/* Wipes whatever the splitter holds. */
void
batch_lines_wipe(struct batch_lines *lb)
{
	sc_wipe(lb->buf, sizeof(lb->buf));
	lb->len = 0;
}

/* Room left for input; while discarding, a whole buffer's worth. */
size_t
batch_lines_room(const struct batch_lines *lb)
{
	if (lb->eof)
		return (0);
	if (lb->discarding)
		return (sizeof(lb->buf));
	return (sizeof(lb->buf) - lb->len);
}

/* Adds bytes read from the input (0 bytes: end of input). */
void
batch_lines_push(struct batch_lines *lb, const char *data, size_t n)
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
batch_lines_take(struct batch_lines *lb, char *out, size_t n, size_t skip,
    size_t *len)
{
	size_t	linelen = n;

	if (linelen > 0 && lb->buf[linelen - 1] == '\r')
		linelen--;
	memcpy(out, lb->buf, linelen);
	out[linelen < BATCH_BUF ? linelen : BATCH_BUF - 1] = '\0';
	*len = linelen;
	memmove(lb->buf, lb->buf + n + skip, lb->len - n - skip);
	lb->len -= n + skip;
	sc_wipe(lb->buf + lb->len, sizeof(lb->buf) - lb->len);
}

/* Returns the next line, a line too long, or what is missing. */
enum batch_next
batch_lines_next(struct batch_lines *lb, char *out, size_t *len)
{
	const char	*nl;
	size_t		 n;

	*len = 0;
	if ((nl = memchr(lb->buf, '\n', lb->len)) != NULL) {
		n = (size_t)(nl - lb->buf);
		batch_lines_take(lb, out, n, 1, len);
		return (*len > BATCH_LINE_MAX ? BATCH_TOOLONG : BATCH_LINE);
	}
	if (lb->len == sizeof(lb->buf)) {
		/* Full without a newline: report, then skip to the next. */
		batch_lines_take(lb, out, BATCH_LINE_MAX, lb->len -
		    BATCH_LINE_MAX, len);
		lb->discarding = !lb->eof;
		return (BATCH_TOOLONG);
	}
	if (!lb->eof)
		return (BATCH_MORE);
	if (lb->len == 0)
		return (BATCH_END);
	n = lb->len;
	batch_lines_take(lb, out, n, 0, len);
	return (*len > BATCH_LINE_MAX ? BATCH_TOOLONG : BATCH_LINE);
}

/* Reports a line over the limit, naming its command word. */
static void
batch_toolong(struct batch *b, const char *line, size_t len)
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
	client_error(b->client, n > 0 ? word : "-",
	    "line too long (max %d bytes)", BATCH_LINE_MAX);
}

/* Runs buffered lines, one per turn; reads when a line is missing. */
static void
batch_pump(struct batch *b)
{
	char		line[BATCH_BUF];
	size_t		len;
	enum cmd_status	st;

	if (b->busy || b->ended || !b->started)
		return;
	switch (batch_lines_next(&b->lines, line, &len)) {
	case BATCH_LINE:
		st = commands_run(b->client, line, len);
		sc_wipe(line, sizeof(line));
		if (st == CMD_PENDING) {
			b->busy = 1;
			return;
		}
		event_active(b->pump_ev, 0, 0);
		break;
	case BATCH_TOOLONG:
		batch_toolong(b, line, len);
		sc_wipe(line, sizeof(line));
		event_active(b->pump_ev, 0, 0);
		break;
	case BATCH_MORE:
		event_add(b->read_ev, NULL);
		break;
	case BATCH_END:
		b->ended = 1;
		log_debug("batch: end of input");
		client_end_of_input(b->client);
		break;
	}
}

/* The loop's turn for the next line. */
static void
batch_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_pump(arg);
}

/* Input is readable: take one read's worth, then go on. */
static void
batch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct batch	*b = arg;
	char		 buf[BATCH_BUF];
	size_t		 room;
	ssize_t		 n;

	(void)what;
	room = batch_lines_room(&b->lines);
	if (room > sizeof(buf))
		room = sizeof(buf);
	if (room == 0) {
		batch_pump(b);
		return;
	}
	n = read(fd, buf, room);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			event_add(b->read_ev, NULL);
			return;
		}
		log_warn("batch: read");
		n = 0;
	}
	batch_lines_push(&b->lines, buf, (size_t)n);
	sc_wipe(buf, (size_t)n);
	batch_pump(b);
}

/* Client hook: the channel is open, start reading commands. */
static void
batch_ready(void *arg)
{
	struct batch	*b = arg;

	b->started = 1;
	batch_pump(b);
}

/* Client hook: the running command finished. */
static void
batch_done(void *arg, int failed)
{
	struct batch	*b = arg;

	(void)failed;
	b->busy = 0;
	event_active(b->pump_ev, 0, 0);
}

/* Reads the first line of the password file. */
static int
batch_password_file(const char *path, char *buf, size_t cap, size_t *len,
    char *err, size_t errlen)
{
	char	*nl;
	size_t	 have = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot read the password file %s: %s",
		    path, strerror(errno));
		return (-1);
	}
	while (have < cap) {
		n = read(fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read the password file "
			    "%s: %s", path, strerror(errno));
			close(fd);
			sc_wipe(buf, cap);
			return (-1);
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (memchr(buf, '\n', have) != NULL)
			break;
	}
	close(fd);
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

/* Client hook: a password from --password-file or $SEALCHAT_PASSWORD. */
static int
batch_password(void *arg, char *buf, size_t cap, size_t *len, char *err,
    size_t errlen)
{
	struct batch	*b = arg;
	const char	*env;
	size_t		 n;

	if (b->password_file != NULL)
		return (batch_password_file(b->password_file, buf, cap, len,
		    err, errlen));
	env = getenv("SEALCHAT_PASSWORD");
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

/* Sets up script mode on fd. */
struct batch *
batch_new(struct event_base *base, struct client *client, int fd,
    const char *password_file)
{
	struct client_frontend	 fe;
	struct batch		*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return (NULL);
	b->base = base;
	b->client = client;
	b->fd = fd;
	batch_lines_init(&b->lines);
	if (password_file != NULL &&
	    (b->password_file = strdup(password_file)) == NULL)
		goto fail;
	b->read_ev = event_new(base, fd, EV_READ, batch_read_cb, b);
	b->pump_ev = event_new(base, -1, 0, batch_pump_cb, b);
	if (b->read_ev == NULL || b->pump_ev == NULL)
		goto fail;
	memset(&fe, 0, sizeof(fe));
	fe.ready = batch_ready;
	fe.done = batch_done;
	fe.password = batch_password;
	fe.arg = b;
	client_set_frontend(client, &fe);
	return (b);
fail:
	batch_free(b);
	return (NULL);
}

/* Frees script mode's state, wiping buffered input. */
void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	if (b->read_ev != NULL)
		event_free(b->read_ev);
	if (b->pump_ev != NULL)
		event_free(b->pump_ev);
	batch_lines_wipe(&b->lines);
	free(b->password_file);
	free(b);
}
