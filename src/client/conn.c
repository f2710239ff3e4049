/* SPDX-License-Identifier: ISC */
/*
 * TCP connection to the server: connect, handshake, encrypted frames,
 * keepalive.  The bytes from the network are checked here (frame sizes,
 * channel authentication, message layout) before any reaches the client
 * logic; any fault ends the connection through the closed callback, never
 * the program.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "sealchat/crypto.h"
#include "sealchat/handshake.h"
#include "sealchat/log.h"
#include "sealchat/util.h"

#include "conn.h"
#include "resolve.h"

/* Frames handled per wake-up before the loop gets a turn. */
#define CONN_FRAMES_PER_WAKE	64
/* Queued output past which the server is taken as not reading. */
#define CONN_OUTPUT_CAP		(1024 * 1024)
#define CONN_WHY_MAX		512

enum conn_state {
	CONN_IDLE,
	CONN_RESOLVING,		/* the name is looked up (resolve.c) */
	CONN_CONNECTING,	/* TCP connect under way */
	CONN_HELLO,		/* HELLO sent, waiting for CONFIRM */
	CONN_OPEN,		/* channel open */
	CONN_LOGOUT,		/* LOGOUT sent, waiting for the close */
	CONN_DEAD,		/* closed callback issued */
};

struct conn {
	struct event_base	*base;
	char			 host[CONF_STR_MAX];
	char			 port[16];
	char			 server_str[CONF_STR_MAX + 24];
	char			 key_path[PATH_MAX];
	long long		 connect_timeout;
	long long		 reply_timeout;
	uint8_t			 server_pk[SC_KEY_BYTES];

	struct resolve		*res;		/* the lookup under way */
	struct addrinfo		*ai_list;
	struct addrinfo		*ai_next;
	char			 connect_err[128];

	enum conn_state		 state;
	struct bufferevent	*bev;
	struct handshake_client	 hs;
	struct sc_channel	 chan;
	size_t			 max_body; /* largest frame body accepted */
	size_t			 peer_max;	/* server's max_frame */

	struct event		*deadline_ev;	/* connect, handshake, logout */
	struct event		*ping_ev;
	struct event		*lost_ev;
	struct event		*more_ev; /* frames left after a wake-up */
	unsigned		 ka_interval;
	unsigned		 ka_timeout;
	uint64_t		 ping_token;

	uint8_t			*plain;		/* decrypted message */
	size_t			 plain_cap;

	struct conn_cb		 cb;
	void			*arg;
};

static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_read_cb(struct bufferevent *, void *);
static int	conn_try_next(struct conn *);

/* Makes a connection object; nothing happens until conn_start(). */
struct conn *
conn_new(struct event_base *base, const struct client_conf *conf,
    const uint8_t server_pk[SC_KEY_BYTES], const char *key_path,
    const struct conn_cb *cb, void *arg)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->base = base;
	strlcpy(c->host, conf->server_address, sizeof(c->host));
	snprintf(c->port, sizeof(c->port), "%lld", conf->server_port);
	if (strchr(c->host, ':') != NULL)
		snprintf(c->server_str, sizeof(c->server_str), "[%s]:%s",
		    c->host, c->port);
	else
		snprintf(c->server_str, sizeof(c->server_str), "%s:%s",
		    c->host, c->port);
	strlcpy(c->key_path, key_path, sizeof(c->key_path));
	c->connect_timeout = conf->connect_timeout;
	c->reply_timeout = conf->reply_timeout;
	memcpy(c->server_pk, server_pk, SC_KEY_BYTES);
	c->max_body = SC_FRAME_LIMIT;
	c->peer_max = SC_FRAME_DEFAULT;
	c->cb = *cb;
	c->arg = arg;
	c->state = CONN_IDLE;
	return (c);
}

/* Frees the connection, closing the socket and wiping every key. */
void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	resolve_cancel(c->res);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->deadline_ev != NULL)
		event_free(c->deadline_ev);
	if (c->ping_ev != NULL)
		event_free(c->ping_ev);
	if (c->lost_ev != NULL)
		event_free(c->lost_ev);
	if (c->more_ev != NULL)
		event_free(c->more_ev);
	if (c->ai_list != NULL)
		freeaddrinfo(c->ai_list);
	if (c->plain != NULL) {
		sc_wipe(c->plain, c->plain_cap);
		free(c->plain);
	}
	handshake_client_wipe(&c->hs);
	sc_channel_wipe(&c->chan);
	free(c);
}

/* Arms a one-shot timer for secs seconds. */
static void
conn_arm(struct event *ev, long long secs)
{
	struct timeval	tv;

	tv.tv_sec = secs;
	tv.tv_usec = 0;
	event_add(ev, &tv);
}

/*
 * Ends the connection and reports why, once.  Timers stop and the socket
 * stops being read; the caller's closed callback decides what follows.
 */
static void	conn_close(struct conn *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
conn_close(struct conn *c, int status, const char *fmt, ...)
{
	char	why[CONN_WHY_MAX];
	va_list	ap;

	if (c->state == CONN_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_debug("conn: closed server=%s status=%d", c->server_str, status);
	conn_shut(c);
	c->cb.closed(c->arg, status, why);
}

/*
 * Stops everything without a word: timers, the lookup, reading and
 * writing, the channel's keys.  The socket closes at conn_free(), which
 * may not run inside a callback of the conn itself.
 */
void
conn_shut(struct conn *c)
{
	if (c == NULL || c->state == CONN_DEAD)
		return;
	c->state = CONN_DEAD;
	resolve_cancel(c->res);
	c->res = NULL;
	if (c->deadline_ev != NULL) {
		event_del(c->deadline_ev);
		event_del(c->ping_ev);
		event_del(c->lost_ev);
		event_del(c->more_ev);
	}
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	handshake_client_wipe(&c->hs);
	sc_channel_wipe(&c->chan);
}

/* The deadline of the current stage passed. */
static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_RESOLVING:
		conn_close(c, EXIT_UNAVAIL, "cannot resolve %s: no answer "
		    "within %lld s", c->server_str, c->connect_timeout);
		break;
	case CONN_CONNECTING:
		conn_close(c, EXIT_UNAVAIL, "cannot connect to %s: timed out "
		    "after %lld s", c->server_str, c->connect_timeout);
		break;
	case CONN_HELLO:
		conn_close(c, EXIT_UNAVAIL, "no answer to the handshake from "
		    "%s within %lld s", c->server_str, c->reply_timeout);
		break;
	case CONN_LOGOUT:
		conn_close(c, 0, "logged out");
		break;
	default:
		break;
	}
}

/* Sends a PING; the server answers PONG, which keeps the line alive. */
static void
conn_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	struct wbuf	 wb;

	(void)fd;
	(void)what;
	if (c->state != CONN_OPEN)
		return;
	wbuf_init(&wb);
	wire_enc_ping(&wb, SC_MSG_PING, ++c->ping_token);
	if (wb.oom || conn_send(c, wb.data, wb.len) != 0)
		log_warnx("conn: cannot send ping");
	wbuf_free(&wb);
}

/* Nothing came from the server for ka_timeout seconds. */
static void
conn_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	conn_close(c, EXIT_UNAVAIL, "lost the server %s: nothing heard for "
	    "%u s", c->server_str, c->ka_timeout);
}

/* Frames were left in the input after the last wake-up. */
static void
conn_more_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->bev != NULL)
		conn_read_cb(c->bev, c);
}

/* The lookup is over: connect to the first address, or say why not. */
static void
conn_resolved(void *arg, int rc, struct addrinfo *ai)
{
	struct conn	*c = arg;

	c->res = NULL;
	if (c->state != CONN_RESOLVING) {
		if (ai != NULL)
			freeaddrinfo(ai);
		return;
	}
	if (rc != 0) {
		conn_close(c, EXIT_UNAVAIL, "cannot resolve %s: %s",
		    c->server_str, rc == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(rc));
		return;
	}
	c->ai_list = ai;
	c->ai_next = ai;
	c->state = CONN_CONNECTING;
	strlcpy(c->connect_err, "no address", sizeof(c->connect_err));
	if (conn_try_next(c) != 0)
		conn_close(c, EXIT_UNAVAIL, "cannot connect to %s: %s",
		    c->server_str, c->connect_err);
}

/*
 * Starts the lookup of the server's name, then the first connection
 * attempt.  Nothing is reported before the loop runs: every outcome,
 * a failure too, comes through the callbacks, and connect_timeout covers
 * the lookup and the connect together.
 */
int
conn_start(struct conn *c)
{
	c->deadline_ev = evtimer_new(c->base, conn_deadline_cb, c);
	c->ping_ev = event_new(c->base, -1, EV_PERSIST, conn_ping_cb, c);
	c->lost_ev = evtimer_new(c->base, conn_lost_cb, c);
	c->more_ev = event_new(c->base, -1, 0, conn_more_cb, c);
	if (c->deadline_ev == NULL || c->ping_ev == NULL ||
	    c->lost_ev == NULL || c->more_ev == NULL) {
		log_warnx("conn: out of memory");
		return (-1);
	}
	c->state = CONN_RESOLVING;
	if ((c->res = resolve_start(c->base, c->host, c->port, conn_resolved,
	    c)) == NULL) {
		c->state = CONN_IDLE;
		return (-1);
	}
	conn_arm(c->deadline_ev, c->connect_timeout);
	return (0);
}

/*
 * Starts a connection to the next resolved address.  Returns -1 when none
 * is left (connect_err says why the last one failed).
 */
static int
conn_try_next(struct conn *c)
{
	struct addrinfo	*ai;

	while ((ai = c->ai_next) != NULL) {
		c->ai_next = ai->ai_next;
		if (c->bev != NULL) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
		c->bev = bufferevent_socket_new(c->base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			strlcpy(c->connect_err, "out of memory",
			    sizeof(c->connect_err));
			continue;
		}
		bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
		if (bufferevent_socket_connect(c->bev, ai->ai_addr,
		    (int)ai->ai_addrlen) == 0)
			return (0);
		strlcpy(c->connect_err, strerror(errno),
		    sizeof(c->connect_err));
	}
	return (-1);
}

/* Queues one frame with the given body. */
static int
conn_write_frame(struct conn *c, const uint8_t *body, size_t len)
{
	uint8_t	hdr[SC_FRAME_HDR];

	wire_frame_header(hdr, (uint32_t)len);
	if (bufferevent_write(c->bev, hdr, sizeof(hdr)) != 0 ||
	    bufferevent_write(c->bev, body, len) != 0)
		return (-1);
	return (0);
}

/* The TCP connection is up: send HELLO. */
static void
conn_connected(struct conn *c)
{
	log_debug("conn: connected server=%s", c->server_str);
	if (handshake_client_hello(&c->hs, c->server_pk) != 0 ||
	    conn_write_frame(c, c->hs.hello, SC_HELLO_BODY) != 0) {
		conn_close(c, EXIT_PROTOCOL, "cannot start the handshake");
		return;
	}
	c->state = CONN_HELLO;
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    SC_FRAME_HDR + SC_FRAME_LIMIT);
	bufferevent_enable(c->bev, EV_READ);
	conn_arm(c->deadline_ev, c->reply_timeout);
}

/* Connect results, end of stream and socket errors. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 err;

	(void)bev;
	if (c->state == CONN_CONNECTING) {
		if (what & BEV_EVENT_CONNECTED) {
			conn_connected(c);
			return;
		}
		err = EVUTIL_SOCKET_ERROR();
		strlcpy(c->connect_err, err != 0 ?
		    evutil_socket_error_to_string(err) : "connection failed",
		    sizeof(c->connect_err));
		if (conn_try_next(c) != 0)
			conn_close(c, EXIT_UNAVAIL, "cannot connect to %s: %s",
			    c->server_str, c->connect_err);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	switch (c->state) {
	case CONN_HELLO:
		conn_close(c, EXIT_UNAVAIL, "the server %s closed the "
		    "connection during the handshake", c->server_str);
		break;
	case CONN_OPEN:
		if (what & BEV_EVENT_ERROR)
			conn_close(c, EXIT_UNAVAIL, "lost the server %s: %s",
			    c->server_str, evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
		else
			conn_close(c, EXIT_UNAVAIL, "the server %s closed "
			    "the connection", c->server_str);
		break;
	case CONN_LOGOUT:
		conn_close(c, 0, "logged out");
		break;
	default:
		break;
	}
}

/* Makes sure the plaintext buffer holds n bytes. */
static int
conn_plain_reserve(struct conn *c, size_t n)
{
	uint8_t	*p;

	if (n <= c->plain_cap)
		return (0);
	if ((p = malloc(n)) == NULL)
		return (-1);
	if (c->plain != NULL) {
		sc_wipe(c->plain, c->plain_cap);
		free(c->plain);
	}
	c->plain = p;
	c->plain_cap = n;
	return (0);
}

/*
 * Closes after a REJECT, which says why the server will not talk.  A key
 * mismatch shows both fingerprints, the pinned one and the one the server
 * offers (if it says: the REJECT is not authenticated, and the offered key
 * is only shown, as ssh shows a changed host key, never taken).
 */
static void
conn_rejected(struct conn *c, const uint8_t *body, size_t len)
{
	char	fpr[SC_FPR_LEN], offered[SC_FPR_LEN];
	uint8_t	pk[SC_KEY_BYTES];

	switch (handshake_reject_reason(body, len)) {
	case SC_REJECT_KEY:
		sc_fingerprint(fpr, c->server_pk);
		if (handshake_reject_offered(body, len, pk) != 0) {
			conn_close(c, EXIT_PROTOCOL, "the server %s does not "
			    "hold the pinned key %s (%s); no credentials were "
			    "sent", c->server_str, fpr, c->key_path);
			break;
		}
		sc_fingerprint(offered, pk);
		conn_close(c, EXIT_PROTOCOL, "the server %s does not hold the "
		    "pinned key %s (%s) but offers %s; no credentials were "
		    "sent; if its key was replaced on purpose, get the new "
		    "server.pub from its operator and check that fingerprint "
		    "with them", c->server_str, fpr, c->key_path, offered);
		break;
	case SC_REJECT_BUSY:
		conn_close(c, EXIT_UNAVAIL, "the server %s is busy (session "
		    "limit reached)", c->server_str);
		break;
	case SC_REJECT_VERSION:
		conn_close(c, EXIT_PROTOCOL, "the server %s does not speak "
		    "protocol version %d", c->server_str, SC_PROTO_VERSION);
		break;
	default:
		conn_close(c, EXIT_PROTOCOL, "the server %s refused the "
		    "handshake (reason %u)", c->server_str, body[1]);
		break;
	}
}

/*
 * The handshake answer: a REJECT, or E_s and the sealed WELCOME.  Only a
 * WELCOME that opens proves the server holds the pinned key; anything else
 * stops the client before a credential is sent.
 */
static void
conn_handle_confirm(struct conn *c, const uint8_t *body, size_t len)
{
	struct sc_msg	 m;
	struct timeval	 tv;
	char		 fpr[SC_FPR_LEN];
	size_t		 plen;

	if (handshake_reject_reason(body, len) >= 0) {
		conn_rejected(c, body, len);
		return;
	}
	if (len < HANDSHAKE_CONFIRM_MIN) {
		conn_close(c, EXIT_PROTOCOL, "malformed handshake answer from "
		    "%s", c->server_str);
		return;
	}
	plen = len - SC_KEY_BYTES - SC_MAC_BYTES;
	if (conn_plain_reserve(c, plen) != 0) {
		conn_close(c, EXIT_PROTOCOL, "out of memory");
		return;
	}
	if (handshake_client_confirm(&c->chan, &c->hs, c->plain, body,
	    len) != 0) {
		sc_fingerprint(fpr, c->server_pk);
		conn_close(c, EXIT_PROTOCOL, "the server %s did not prove it "
		    "holds the pinned key %s (%s); no credentials were sent",
		    c->server_str, fpr, c->key_path);
		return;
	}
	if (wire_msg_decode(&m, c->plain, plen) != 0 ||
	    m.type != SC_MSG_WELCOME) {
		sc_wipe(c->plain, plen);
		conn_close(c, EXIT_PROTOCOL, "malformed WELCOME from %s",
		    c->server_str);
		return;
	}
	sc_wipe(c->plain, plen);
	c->state = CONN_OPEN;
	c->peer_max = m.max_frame;
	c->max_body = m.max_frame;
	c->ka_interval = m.ka_interval;
	c->ka_timeout = m.ka_timeout;
	event_del(c->deadline_ev);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    SC_FRAME_HDR + c->max_body);
	conn_arm(c->lost_ev, c->ka_timeout);
	/*
	 * PING at least every ka_interval, and often enough that a server
	 * which only answers pings is heard within its own ka_timeout.
	 */
	tv.tv_sec = c->ka_interval;
	if (c->ka_timeout / 3 >= 1 && tv.tv_sec > c->ka_timeout / 3)
		tv.tv_sec = c->ka_timeout / 3;
	tv.tv_usec = 0;
	event_add(c->ping_ev, &tv);
	log_debug("conn: channel open server=%s max_frame=%u ka_interval=%u "
	    "ka_timeout=%u", c->server_str, m.max_frame, m.ka_interval,
	    m.ka_timeout);
	c->cb.ready(c->arg, &m);
}

/* One encrypted frame from the server. */
static void
conn_handle_frame(struct conn *c, const uint8_t *body, size_t len)
{
	struct sc_msg	m;
	size_t		plen;

	if (len <= SC_MAC_BYTES) {
		conn_close(c, EXIT_PROTOCOL, "malformed frame from %s",
		    c->server_str);
		return;
	}
	plen = len - SC_MAC_BYTES;
	if (conn_plain_reserve(c, plen) != 0) {
		conn_close(c, EXIT_PROTOCOL, "out of memory");
		return;
	}
	if (sc_channel_open(&c->chan, c->plain, body, len) != 0) {
		conn_close(c, EXIT_PROTOCOL, "broken channel: a frame from %s "
		    "failed to authenticate", c->server_str);
		return;
	}
	conn_arm(c->lost_ev, c->ka_timeout);
	if (wire_msg_decode(&m, c->plain, plen) != 0 ||
	    m.type < SC_MSG_OK) {
		sc_wipe(c->plain, plen);
		conn_close(c, EXIT_PROTOCOL, "malformed message (type 0x%02x) "
		    "from %s", plen > 0 ? c->plain[0] : 0, c->server_str);
		return;
	}
	if (m.type != SC_MSG_PONG)
		c->cb.msg(c->arg, &m);
	sc_wipe(c->plain, plen);
}

/*
 * Reads whole frames from the input, at most CONN_FRAMES_PER_WAKE per call;
 * a frame too large for the current stage ends the connection before any
 * of its body is buffered for it.
 */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	const uint8_t	*body;
	size_t		 blen;
	int		 n;

	for (n = 0; n < CONN_FRAMES_PER_WAKE; n++) {
		if (c->state != CONN_HELLO && c->state != CONN_OPEN &&
		    c->state != CONN_LOGOUT)
			return;
		switch (wire_frame_pull(in, 1, c->max_body, &body, &blen)) {
		case WIRE_FRAME_PARTIAL:
			return;
		case WIRE_FRAME_BAD:
			conn_close(c, EXIT_PROTOCOL, "bad frame length from %s",
			    c->server_str);
			return;
		case WIRE_FRAME_NOMEM:
			conn_close(c, EXIT_PROTOCOL, "out of memory");
			return;
		}
		if (c->state == CONN_HELLO)
			conn_handle_confirm(c, body, blen);
		else
			conn_handle_frame(c, body, blen);
		if (c->state == CONN_DEAD)
			return;
		wire_frame_drop(in, blen);
	}
	if (evbuffer_get_length(in) >= SC_FRAME_HDR)
		event_active(c->more_ev, 0, 0);
}

/* Tells whether requests can be sent. */
int
conn_is_open(const struct conn *c)
{
	return (c != NULL && c->state == CONN_OPEN);
}

/* Seals a message into the next client-to-server frame. */
int
conn_send(struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t	*body;
	size_t	 blen;
	int	 rc = -1;

	if (c == NULL || c->state != CONN_OPEN)
		return (-1);
	blen = len + SC_MAC_BYTES;
	if (len == 0 || blen > c->peer_max)
		return (-1);
	if ((body = malloc(blen)) == NULL)
		return (-1);
	if (sc_channel_seal(&c->chan, body, msg, len) != 0)
		goto out;
	if (conn_write_frame(c, body, blen) != 0)
		goto out;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    CONN_OUTPUT_CAP) {
		conn_close(c, EXIT_UNAVAIL, "the server %s is not reading",
		    c->server_str);
		goto out;
	}
	rc = 0;
out:
	sc_wipe(body, blen);
	free(body);
	return (rc);
}

/* Says goodbye; the closed callback follows with status 0. */
void
conn_logout(struct conn *c)
{
	struct wbuf	wb;

	if (c == NULL || c->state != CONN_OPEN)
		return;
	wbuf_init(&wb);
	wire_enc_empty(&wb, SC_MSG_LOGOUT);
	if (wb.oom || conn_send(c, wb.data, wb.len) != 0) {
		wbuf_free(&wb);
		conn_close(c, 0, "logged out");
		return;
	}
	wbuf_free(&wb);
	if (c->state != CONN_OPEN)
		return;
	c->state = CONN_LOGOUT;
	event_del(c->ping_ev);
	event_del(c->lost_ev);
	conn_arm(c->deadline_ev, c->reply_timeout);
}

/* The local end of the TCP connection. */
int
conn_local_addr(const struct conn *c, struct sockaddr_storage *ss,
    socklen_t *len)
{
	evutil_socket_t	fd;

	if (c == NULL || c->bev == NULL ||
	    (fd = bufferevent_getfd(c->bev)) < 0)
		return (-1);
	*len = sizeof(*ss);
	if (getsockname(fd, (struct sockaddr *)ss, len) != 0)
		return (-1);
	return (0);
}

/* The server's address on the TCP connection. */
int
conn_peer_addr(const struct conn *c, struct sockaddr_storage *ss,
    socklen_t *len)
{
	evutil_socket_t	fd;

	if (c == NULL || c->bev == NULL ||
	    (fd = bufferevent_getfd(c->bev)) < 0)
		return (-1);
	*len = sizeof(*ss);
	if (getpeername(fd, (struct sockaddr *)ss, len) != 0)
		return (-1);
	return (0);
}

/* The server as "host:port". */
const char *
conn_server_str(const struct conn *c)
{
	return (c->server_str);
}
