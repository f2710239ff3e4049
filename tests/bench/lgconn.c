/* SPDX-License-Identifier: ISC */
/*
 * One client TCP connection of the load generator: non-blocking connect,
 * the sealchat handshake (HELLO, CONFIRM) and encrypted channel, or plain
 * CRLF lines for IRC.  Reads go into one shared buffer, and whole frames or
 * lines are handled from there, so ten thousand idle connections cost a few
 * hundred bytes each; only a partial frame is kept per connection.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealchat/util.h"

#include "loadgen.h"

#define LGCONN_RBUF	(SC_FRAME_LIMIT + SC_FRAME_HDR + 256 * 1024)
#define LGCONN_LINE_MAX	(64 * 1024)	/* longest IRC line accepted */
#define LGCONN_READS	8		/* reads per wake-up */
#define LGCONN_KEEP	4096		/* buffers above this are freed */

static uint8_t	*lgconn_rbuf;		/* shared read buffer */
static uint8_t	*lgconn_pbuf;		/* shared plaintext buffer */

static void	lgconn_read_cb(evutil_socket_t, short, void *);
static void	lgconn_write_cb(evutil_socket_t, short, void *);

/* Allocates the shared buffers once. */
static int
lgconn_buffers(void)
{
	if (lgconn_rbuf == NULL)
		lgconn_rbuf = malloc(LGCONN_RBUF);
	if (lgconn_pbuf == NULL)
		lgconn_pbuf = malloc(SC_FRAME_LIMIT);
	if (lgconn_rbuf == NULL || lgconn_pbuf == NULL)
		return (-1);
	return (0);
}

/* Frees the shared buffers at exit. */
void
lgconn_cleanup(void)
{
	free(lgconn_rbuf);
	free(lgconn_pbuf);
	lgconn_rbuf = NULL;
	lgconn_pbuf = NULL;
}

/* Makes an unconnected connection object. */
struct lgconn *
lgconn_new(struct lg *lg, const struct lgconn_ops *ops, void *arg)
{
	struct lgconn	*c;

	if (lgconn_buffers() == -1)
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->fd = -1;
	c->lg = lg;
	c->ops = ops;
	c->arg = arg;
	c->state = LGCONN_IDLE;
	return (c);
}

/* Closes the socket and drops every buffer; the object can connect again. */
void
lgconn_close(struct lgconn *c)
{
	if (c == NULL)
		return;
	if (c->ev_rd != NULL)
		event_free(c->ev_rd);
	if (c->ev_wr != NULL)
		event_free(c->ev_wr);
	c->ev_rd = c->ev_wr = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->in_cap = 0;
	c->out_len = c->out_off = c->out_cap = 0;
	sc_channel_wipe(&c->ch);
	c->hs = NULL;
	c->state = LGCONN_CLOSED;
	c->gen++;
}

/* Closes and frees; NULL-safe. */
void
lgconn_free(struct lgconn *c)
{
	if (c == NULL)
		return;
	lgconn_close(c);
	free(c);
}

/* Reports the end of the connection to its owner after closing it. */
static void
lgconn_down(struct lgconn *c, const char *why)
{
	lgconn_close(c);
	if (c->ops->down != NULL)
		c->ops->down(c, why);
}

/* Writes pending output; arms the write event when the socket is full. */
static int
lgconn_flush(struct lgconn *c)
{
	ssize_t	n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (event_add(c->ev_wr, NULL) == -1)
					return (-1);
				return (0);
			}
			return (-1);
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > LGCONN_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return (0);
}

/* Makes room for n more bytes of output. */
static uint8_t *
lgconn_out_room(struct lgconn *c, size_t n)
{
	size_t	 cap;
	uint8_t	*p;

	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		cap = c->out_cap ? c->out_cap : 256;
		while (cap < c->out_len + n)
			cap *= 2;
		if ((p = realloc(c->out, cap)) == NULL)
			return (NULL);
		c->out = p;
		c->out_cap = cap;
	}
	return (c->out + c->out_len);
}

/* Queues raw bytes (the HELLO frame, IRC lines) and writes them. */
int
lgconn_send_raw(struct lgconn *c, const void *buf, size_t len)
{
	uint8_t	*p;

	if (c->fd == -1)
		return (-1);
	if ((p = lgconn_out_room(c, len)) == NULL)
		return (-1);
	memcpy(p, buf, len);
	c->out_len += len;
	c->last_tx_ms = util_now_ms();
	return (lgconn_flush(c));
}

/* Seals one message as the next client-to-server frame and writes it. */
int
lgconn_send_msg(struct lgconn *c, const struct wbuf *wb)
{
	uint8_t	*p;
	size_t	 body;

	if (c->fd == -1 || c->state != LGCONN_CHANNEL || wb->oom ||
	    wb->len == 0)
		return (-1);
	body = wb->len + SC_MAC_BYTES;
	if (body > c->max_frame)
		return (-1);
	if ((p = lgconn_out_room(c, SC_FRAME_HDR + body)) == NULL)
		return (-1);
	wire_frame_header(p, (uint32_t)body);
	if (sc_channel_seal(&c->ch, p + SC_FRAME_HDR, wb->data, wb->len) != 0)
		return (-1);
	c->out_len += SC_FRAME_HDR + body;
	c->last_tx_ms = util_now_ms();
	return (lgconn_flush(c));
}

/* The socket is connected: start the handshake or the line protocol. */
static int
lgconn_connected(struct lgconn *c)
{
	uint8_t	hello[SC_FRAME_HDR + SC_HELLO_BODY];

	if (event_add(c->ev_rd, NULL) == -1)
		return (-1);
	if (c->lines) {
		c->state = LGCONN_LINES;
		if (c->ops->up != NULL)
			c->ops->up(c);
		return (0);
	}
	c->state = LGCONN_HELLO;
	wire_frame_header(hello, SC_HELLO_BODY);
	memcpy(hello + SC_FRAME_HDR, c->hs->hello, SC_HELLO_BODY);
	return (lgconn_send_raw(c, hello, sizeof(hello)));
}

/*
 * Starts a connection to the server.  hs holds a HELLO already made (the
 * caller keeps it; it is wiped when the CONFIRM is handled); NULL for lines.
 */
int
lgconn_connect(struct lgconn *c, struct handshake_client *hs, int lines)
{
	struct lg	*lg = c->lg;
	int		 fd, one = 1;

	if (c->fd != -1)
		lgconn_close(c);
	c->lines = lines;
	c->hs = hs;
	c->max_frame = SC_FRAME_LIMIT;
	c->frames_in = 0;
	memset(&c->ch, 0, sizeof(c->ch));
	fd = socket(lg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	c->fd = fd;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->src_len > 0 && bind(fd, c->src, c->src_len) == -1)
		goto fail;
	c->ev_rd = event_new(lg->base, fd, EV_READ | EV_PERSIST,
	    lgconn_read_cb, c);
	c->ev_wr = event_new(lg->base, fd, EV_WRITE, lgconn_write_cb, c);
	if (c->ev_rd == NULL || c->ev_wr == NULL)
		goto fail;
	if (connect(fd, (struct sockaddr *)&lg->addr, lg->addr_len) == 0) {
		if (lgconn_connected(c) == -1)
			goto fail;
		return (0);
	}
	if (errno != EINPROGRESS)
		goto fail;
	c->state = LGCONN_CONNECTING;
	if (event_add(c->ev_wr, NULL) == -1)
		goto fail;
	return (0);
fail:
	lgconn_close(c);
	return (-1);
}

/* Write readiness: a finished connect, or room for pending output. */
static void
lgconn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgconn	*c = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	(void)what;
	if (c->state == LGCONN_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			lgconn_down(c, strerror(err));
			return;
		}
		if (lgconn_connected(c) == -1)
			lgconn_down(c, "cannot start the session");
		return;
	}
	if (lgconn_flush(c) == -1)
		lgconn_down(c, "write failed");
}

/* Handles the server's CONFIRM (or REJECT): finishes the handshake. */
static int
lgconn_confirm(struct lgconn *c, uint8_t *body, size_t len, const char **why)
{
	struct sc_msg	m;
	size_t		plain;

	if (len == SC_REJECT_BODY && body[0] == 0x00) {
		*why = body[1] == SC_REJECT_BUSY ? "rejected: server busy" :
		    body[1] == SC_REJECT_KEY ? "rejected: wrong server key" :
		    "rejected";
		return (-1);
	}
	if (len < SC_KEY_BYTES + 1 + SC_MAC_BYTES) {
		*why = "short CONFIRM";
		return (-1);
	}
	if (handshake_client_finish(&c->ch, c->hs, body) != 0) {
		*why = "handshake failed";
		return (-1);
	}
	c->hs = NULL;
	plain = len - SC_KEY_BYTES - SC_MAC_BYTES;
	if (sc_channel_open(&c->ch, lgconn_pbuf, body + SC_KEY_BYTES,
	    len - SC_KEY_BYTES) != 0) {
		*why = "WELCOME did not open: server key mismatch";
		return (-1);
	}
	if (wire_msg_decode(&m, lgconn_pbuf, plain) == -1 ||
	    m.type != SC_MSG_WELCOME) {
		*why = "bad WELCOME";
		return (-1);
	}
	c->max_frame = m.max_frame;
	c->ka_interval = m.ka_interval;
	c->state = LGCONN_CHANNEL;
	if (c->ops->up != NULL)
		c->ops->up(c);
	return (0);
}

/*
 * Handles the whole frames at the start of buf; returns the bytes used, or
 * -1 (with why set) on a protocol error.  Stops early when a callback closed
 * or reopened the connection (its generation changed).
 */
static ssize_t
lgconn_frames(struct lgconn *c, uint8_t *buf, size_t have, const char **why)
{
	struct sc_msg	m;
	uint64_t	gen = c->gen;
	size_t		off = 0, blen;
	uint8_t		*body;
	int		r;

	while (c->gen == gen) {
		r = wire_frame_peek(buf + off, have - off, c->max_frame, &blen);
		if (r == -1) {
			*why = "bad frame length";
			return (-1);
		}
		if (r == 0)
			break;
		body = buf + off + SC_FRAME_HDR;
		off += SC_FRAME_HDR + blen;
		if (c->state == LGCONN_HELLO) {
			if (lgconn_confirm(c, body, blen, why) == -1)
				return (-1);
			continue;
		}
		if (blen <= SC_MAC_BYTES) {
			*why = "short frame";
			return (-1);
		}
		if (sc_channel_open(&c->ch, lgconn_pbuf, body, blen) != 0) {
			*why = "frame did not open";
			return (-1);
		}
		c->frames_in++;
		if (c->ops->raw != NULL) {
			r = c->ops->raw(c, lgconn_pbuf, blen - SC_MAC_BYTES);
			if (r == -1) {
				*why = "bad message";
				return (-1);
			}
			if (r == 1)
				continue;
		}
		if (wire_msg_decode(&m, lgconn_pbuf, blen - SC_MAC_BYTES)
		    == -1) {
			*why = "bad message";
			return (-1);
		}
		if (c->ops->msg != NULL)
			c->ops->msg(c, &m);
	}
	return ((ssize_t)off);
}

/* Handles the whole lines at the start of buf; returns the bytes used. */
static ssize_t
lgconn_lines(struct lgconn *c, uint8_t *buf, size_t have, const char **why)
{
	uint64_t	 gen = c->gen;
	size_t		 off = 0, len;
	uint8_t		*nl;
	char		*line;

	while (c->gen == gen && off < have) {
		if ((nl = memchr(buf + off, '\n', have - off)) == NULL)
			break;
		line = (char *)buf + off;
		len = (size_t)(nl - (buf + off));
		off += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		c->frames_in++;
		if (c->ops->line != NULL)
			c->ops->line(c, line, len);
	}
	if (c->gen == gen && have - off > LGCONN_LINE_MAX) {
		*why = "line too long";
		return (-1);
	}
	return ((ssize_t)off);
}

/* Keeps the bytes of a partial frame or line for the next read. */
static int
lgconn_keep(struct lgconn *c, const uint8_t *rest, size_t len)
{
	uint8_t	*p;

	if (len == 0) {
		c->in_len = 0;
		if (c->in_cap > LGCONN_KEEP) {
			free(c->in);
			c->in = NULL;
			c->in_cap = 0;
		}
		return (0);
	}
	if (len > c->in_cap) {
		if ((p = realloc(c->in, len)) == NULL)
			return (-1);
		c->in = p;
		c->in_cap = len;
	}
	memmove(c->in, rest, len);
	c->in_len = len;
	return (0);
}

/* Input: reads a bounded number of times, handling whole units. */
static void
lgconn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgconn	*c = arg;
	const char	*why = NULL;
	uint64_t	 gen = c->gen;
	size_t		 have, room;
	ssize_t		 n, used;
	int		 i;

	(void)what;
	for (i = 0; i < LGCONN_READS && c->gen == gen; i++) {
		have = c->in_len;
		if (have > 0)
			memcpy(lgconn_rbuf, c->in, have);
		room = LGCONN_RBUF - have;
		n = recv(fd, lgconn_rbuf + have, room, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			lgconn_down(c, strerror(errno));
			return;
		}
		if (n == 0) {
			lgconn_down(c, "connection closed by the server");
			return;
		}
		have += (size_t)n;
		if (c->lines)
			used = lgconn_lines(c, lgconn_rbuf, have, &why);
		else
			used = lgconn_frames(c, lgconn_rbuf, have, &why);
		if (c->gen != gen)
			return;
		if (used == -1) {
			lgconn_down(c, why);
			return;
		}
		if (lgconn_keep(c, lgconn_rbuf + used, have - (size_t)used)
		    == -1) {
			lgconn_down(c, "out of memory");
			return;
		}
		if ((size_t)n < room)
			return;
	}
}
