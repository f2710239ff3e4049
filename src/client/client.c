/*
 * The client's core.  It owns the connection to the server and the peer
 * table, turns server messages into records, and runs one command at a
 * time: a command that must wait (login, list, a send that needs a pair
 * key, quit) stays the current operation until its answer, its timer or the
 * end of the session, and then tells the front end.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "client.h"
#include "conn.h"
#include "peer.h"
#include "roster.h"

#define CLIENT_REASON_MAX	512
/*
 * A peer that has just logged in may not have registered its UDP port yet
 * when our PAIR arrives: "user has no udp" is asked again this often until
 * pair_timeout.
 */
#define CLIENT_PAIR_RETRY_MS	200

enum client_state {
	CLIENT_CONNECTING,	/* before the channel is open */
	CLIENT_GREETED,		/* channel open, not logged in */
	CLIENT_ONLINE,		/* logged in */
	CLIENT_DONE,		/* the loop is ending */
};

/* The operation the current command waits for. */
enum client_op {
	OP_NONE,
	OP_LOGIN,		/* OK or ERROR, then the initial list */
	OP_LIST,		/* a USERS reply */
	OP_SEND_PAIR,		/* a PAIRKEY or ERROR for op_peer */
	OP_SEND_SLOT,		/* room among the messages in flight */
	OP_QUIT,		/* draining, then the server's goodbye */
};

struct client {
	struct event_base	*base;
	struct client_conf	 conf;
	struct client_opts	 opts;
	char			 key_path[PATH_MAX];
	uint8_t			 server_pk[SC_KEY_BYTES];
	struct output		*out;
	struct conn		*conn;
	struct peer		*peer;
	struct client_frontend	 fe;

	enum client_state	 state;
	char			 self[SC_NAME_MAX + 1];
	int			 failed;	/* some command failed */
	int			 status;	/* exit status once done */

	enum client_op		 op;
	char			 op_cmd[8];	/* "sign", "auth", ... */
	char			 op_peer[SC_NAME_MAX + 1];
	uint8_t			 op_text[SC_TEXT_MAX];
	size_t			 op_len;
	struct event		*op_ev;		/* the operation's deadline */
	struct event		*pair_ev;	/* asks for a pair key again */
	uint64_t		 op_deadline;	/* util_now_ms() of op_ev */
	int			 initial_list;	/* the login waits for it */

	struct roster		*roster;	/* the users online */

	int			 quitting;
	int			 logging_out;
	struct event		*drain_ev;
	struct event		*sigint_ev;
	struct event		*sigterm_ev;
};

static void	client_conn_ready(void *, const struct sc_msg *);
static void	client_conn_msg(void *, const struct sc_msg *);
static void	client_conn_closed(void *, int, const char *);
static void	client_peer_msg(void *, const char *, const char *, size_t);
static void	client_peer_delivered(void *, const char *);
static void	client_peer_failed(void *, const char *, const char *);
static void	client_drain_check(struct client *);
static int	client_send_msg(struct client *, struct wbuf *);

static const struct conn_cb client_conn_cb = {
	.ready = client_conn_ready,
	.msg = client_conn_msg,
	.closed = client_conn_closed,
};

static const struct peer_cb client_peer_cb = {
	.msg = client_peer_msg,
	.delivered = client_peer_delivered,
	.failed = client_peer_failed,
};

/* Makes the client; nothing runs until client_start(). */
struct client *
client_new(struct event_base *base, const struct client_conf *conf,
    const uint8_t server_pk[SC_KEY_BYTES], const struct client_opts *opts,
    struct output *out)
{
	struct client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->base = base;
	c->conf = *conf;
	c->opts = *opts;
	strlcpy(c->key_path, opts->key_path != NULL ? opts->key_path :
	    conf->server_public_key, sizeof(c->key_path));
	c->opts.key_path = c->key_path;
	memcpy(c->server_pk, server_pk, SC_KEY_BYTES);
	c->out = out;
	c->state = CLIENT_CONNECTING;
	c->status = 0;
	c->op_ev = NULL;
	c->peer = peer_new(base, &client_peer_cb, c, (int)conf->send_retries,
	    (int)conf->retry_interval_ms);
	c->conn = conn_new(base, conf, server_pk, c->key_path,
	    &client_conn_cb, c);
	c->roster = roster_new();
	if (c->peer == NULL || c->conn == NULL || c->roster == NULL) {
		client_free(c);
		return (NULL);
	}
	return (c);
}

/* Frees the client, wiping what it holds. */
void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	conn_free(c->conn);
	peer_free(c->peer);
	if (c->op_ev != NULL)
		event_free(c->op_ev);
	if (c->pair_ev != NULL)
		event_free(c->pair_ev);
	if (c->drain_ev != NULL)
		event_free(c->drain_ev);
	if (c->sigint_ev != NULL)
		event_free(c->sigint_ev);
	if (c->sigterm_ev != NULL)
		event_free(c->sigterm_ev);
	roster_free(c->roster);
	sc_wipe(c->op_text, sizeof(c->op_text));
	sc_wipe(c, sizeof(*c));
	free(c);
}

/* Installs the front end's hooks. */
void
client_set_frontend(struct client *c, const struct client_frontend *fe)
{
	c->fe = *fe;
}

/* The exit status: set once the loop has ended. */
int
client_exit_status(const struct client *c)
{
	return (c->status);
}

/* The output the records go to. */
struct output *
client_output(struct client *c)
{
	return (c->out);
}

/* Tells whether a user is logged in. */
int
client_logged_in(const struct client *c)
{
	return (c->state == CLIENT_ONLINE);
}

/* Our name once logged in. */
const char *
client_self(const struct client *c)
{
	return (c->state == CLIENT_ONLINE ? c->self : "");
}

/* The users online now, sorted. */
const char *const *
client_online(const struct client *c, size_t *n)
{
	return (roster_names(c->roster, n));
}

/* Asks the front end for a password. */
int
client_password(struct client *c, char *buf, size_t cap, size_t *len,
    char *err, size_t errlen)
{
	if (c->fe.password == NULL) {
		snprintf(err, errlen, "no password");
		return (-1);
	}
	return (c->fe.password(c->fe.arg, buf, cap, len, err, errlen));
}

/* Prints an error record and remembers that a command failed. */
void
client_error(struct client *c, const char *cmd, const char *fmt, ...)
{
	char	reason[CLIENT_REASON_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	c->failed = 1;
	output_error(c->out, cmd, reason);
}

/* Ends the loop with the given exit status. */
static void
client_finish(struct client *c, int status)
{
	if (c->state == CLIENT_DONE)
		return;
	log_debug("client: done status=%d", status);
	c->state = CLIENT_DONE;
	c->status = status;
	if (c->op_ev != NULL)
		event_del(c->op_ev);
	if (c->pair_ev != NULL)
		event_del(c->pair_ev);
	if (c->drain_ev != NULL)
		event_del(c->drain_ev);
	event_base_loopbreak(c->base);
}

/* Arms the current operation's deadline. */
static void
client_op_arm(struct client *c, long long secs)
{
	struct timeval	tv;

	tv.tv_sec = secs;
	tv.tv_usec = 0;
	c->op_deadline = util_now_ms() + (uint64_t)secs * 1000;
	event_add(c->op_ev, &tv);
}

/* Ends the current operation and tells the front end. */
static void
client_op_done(struct client *c, int failed)
{
	if (c->op == OP_NONE || c->op == OP_QUIT)
		return;
	c->op = OP_NONE;
	event_del(c->op_ev);
	event_del(c->pair_ev);
	sc_wipe(c->op_text, sizeof(c->op_text));
	c->op_len = 0;
	if (failed)
		c->failed = 1;
	if (c->fe.done != NULL && c->state != CLIENT_DONE)
		c->fe.done(c->fe.arg, failed);
}

/*
 * The session ended abnormally: the waiting command gets an error record,
 * the reason goes to standard error, and the client exits with status.
 */
static void
client_abort(struct client *c, int status, const char *why)
{
	if (c->state == CLIENT_DONE)
		return;
	if (c->op != OP_NONE && c->op != OP_QUIT)
		client_error(c, c->op_cmd, "connection to the server lost");
	output_diag(c->out, "%s", why);
	client_finish(c, status);
}

/* The deadline of the current operation passed. */
static void
client_op_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	char		 why[CLIENT_REASON_MAX];

	(void)fd;
	(void)what;
	switch (c->op) {
	case OP_SEND_PAIR:
		client_error(c, "send", "no pair key for %s", c->op_peer);
		client_op_done(c, 1);
		break;
	case OP_LOGIN:
	case OP_LIST:
		/* A late answer could not be matched: give the session up. */
		client_error(c, c->op_cmd, "no answer from the server");
		c->op = OP_NONE;
		snprintf(why, sizeof(why), "the server %s did not answer "
		    "within %lld s", conn_server_str(c->conn),
		    c->conf.reply_timeout);
		client_abort(c, EXIT_UNAVAIL, why);
		break;
	default:
		break;
	}
}

/* Asks the server again for the pair key of the current send. */
static void
client_pair_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	struct wbuf	 wb;

	(void)fd;
	(void)what;
	if (c->op != OP_SEND_PAIR)
		return;
	wbuf_init(&wb);
	wire_enc_pair(&wb, c->op_peer);
	if (client_send_msg(c, &wb) != 0) {
		client_error(c, "send", "cannot send the request");
		client_op_done(c, 1);
	}
}

/* SIGINT or SIGTERM: quit; a second one ends at once. */
static void
client_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct client	*c = arg;

	(void)what;
	log_debug("client: signal %d", (int)sig);
	if (c->quitting || c->state == CLIENT_CONNECTING) {
		client_finish(c, c->state == CLIENT_CONNECTING ? 1 :
		    c->failed);
		return;
	}
	if (c->op != OP_NONE && c->op != OP_QUIT) {
		client_error(c, c->op_cmd, "interrupted");
		c->op = OP_NONE;
		event_del(c->op_ev);
	}
	(void)client_quit(c);
}

/* Connects and installs the signal handlers. */
int
client_start(struct client *c)
{
	c->op_ev = evtimer_new(c->base, client_op_timeout_cb, c);
	c->pair_ev = evtimer_new(c->base, client_pair_retry_cb, c);
	c->sigint_ev = evsignal_new(c->base, SIGINT, client_signal_cb, c);
	c->sigterm_ev = evsignal_new(c->base, SIGTERM, client_signal_cb, c);
	if (c->op_ev == NULL || c->pair_ev == NULL || c->sigint_ev == NULL ||
	    c->sigterm_ev == NULL)
		return (-1);
	if (event_add(c->sigint_ev, NULL) != 0 ||
	    event_add(c->sigterm_ev, NULL) != 0)
		return (-1);
	return (conn_start(c->conn));
}

/* The channel is open; the front end may read commands. */
static void
client_conn_ready(void *arg, const struct sc_msg *welcome)
{
	struct client	*c = arg;

	(void)welcome;
	c->state = CLIENT_GREETED;
	if (c->fe.ready != NULL)
		c->fe.ready(c->fe.arg);
}

/* The connection ended. */
static void
client_conn_closed(void *arg, int status, const char *why)
{
	struct client	*c = arg;

	if (status == 0 && c->quitting) {
		client_finish(c, c->failed);
		return;
	}
	client_abort(c, status == 0 ? EXIT_UNAVAIL : status, why);
}

/* Sends one encoded message; -1 (and the wbuf wiped) on failure. */
static int
client_send_msg(struct client *c, struct wbuf *wb)
{
	int	rc;

	rc = wb->oom ? -1 : conn_send(c->conn, wb->data, wb->len);
	wbuf_free(wb);
	return (rc);
}

/*
 * Opens the UDP socket where the configuration says (peer_listen) and
 * registers its port with the server.
 */
static void
client_open_udp(struct client *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = 0;
	struct wbuf		 wb;
	char			 err[CLIENT_REASON_MAX];

	if (peer_port(c->peer) == 0) {
		memset(&ss, 0, sizeof(ss));
		if (conn_local_addr(c->conn, &ss, &sslen) != 0)
			sslen = 0;
		if (peer_listen(c->peer, c->conf.udp_address,
		    (uint16_t)c->conf.udp_port, sslen > 0 ?
		    (struct sockaddr *)&ss : NULL, sslen, err,
		    sizeof(err)) != 0) {
			output_diag(c->out, "%s", err);
			return;
		}
	}
	wbuf_init(&wb);
	wire_enc_udp(&wb, peer_port(c->peer));
	if (client_send_msg(c, &wb) != 0)
		log_warnx("client: cannot register the UDP port");
}

/* OK: we are logged in; the initial list follows. */
static void
client_handle_ok(struct client *c, const struct sc_msg *m)
{
	if (c->op != OP_LOGIN || c->state != CLIENT_GREETED) {
		log_warnx("client: unexpected OK from the server");
		return;
	}
	strlcpy(c->self, m->name, sizeof(c->self));
	c->state = CLIENT_ONLINE;
	peer_set_self(c->peer, c->self);
	log_debug("client: logged in user=%s", c->self);
	output_ok(c->out, c->op_cmd, c->self);
	event_del(c->op_ev);
	client_op_arm(c, c->conf.reply_timeout);
	c->initial_list = 1;
	client_open_udp(c);
}

/* ERROR: the answer to one of our requests. */
static void
client_handle_error(struct client *c, const struct sc_msg *m)
{
	switch (m->req) {
	case SC_MSG_SIGN:
	case SC_MSG_AUTH:
		if (c->op != OP_LOGIN)
			break;
		client_error(c, c->op_cmd, "%s", wire_err_str(m->code));
		client_op_done(c, 1);
		return;
	case SC_MSG_LIST:
		if (c->op != OP_LIST)
			break;
		client_error(c, "list", "%s", wire_err_str(m->code));
		client_op_done(c, 1);
		return;
	case SC_MSG_PAIR:
		if (c->op != OP_SEND_PAIR || strcmp(m->name, c->op_peer) != 0)
			break;
		if (m->code == SC_ERR_NO_UDP && peer_port(c->peer) != 0 &&
		    util_now_ms() + CLIENT_PAIR_RETRY_MS < c->op_deadline) {
			struct timeval	tv = { 0, CLIENT_PAIR_RETRY_MS * 1000 };

			log_debug("client: peer=%s has no udp yet; asking again",
			    c->op_peer);
			event_add(c->pair_ev, &tv);
			return;
		}
		client_error(c, "send", "%s: %s", wire_err_str(m->code),
		    c->op_peer);
		client_op_done(c, 1);
		return;
	case SC_MSG_UDP:
		output_diag(c->out, "the server refused the UDP port: %s",
		    wire_err_str(m->code));
		return;
	default:
		break;
	}
	log_debug("client: server error req=%u code=%u (%s)", m->req,
	    m->code, wire_err_str(m->code));
}

/* A complete USERS list. */
static void
client_users_complete(struct client *c, int reply)
{
	const char *const	*names;
	size_t			 n;

	/* Shown when asked for (list) or as the answer to a login. */
	names = roster_received(c->roster, &n);
	if ((reply && c->op == OP_LIST) || (!reply && c->initial_list))
		output_users(c->out, names, n);
	else
		log_debug("client: unrequested user list");
	roster_commit(c->roster);
	if (reply && c->op == OP_LIST)
		client_op_done(c, 0);
	else if (!reply && c->initial_list) {
		c->initial_list = 0;
		if (c->op == OP_LOGIN)
			client_op_done(c, 0);
	}
}

/* USERS: one frame of a list, which may span several. */
static void
client_handle_users(struct client *c, const struct sc_msg *m)
{
	int	r;

	if (c->state != CLIENT_ONLINE)
		return;
	if ((r = roster_users(c->roster, m)) < 0) {
		client_abort(c, EXIT_PROTOCOL, "the user list from the "
		    "server is too long");
		return;
	}
	if (r == 1)
		client_users_complete(c, (m->flags & SC_USERS_REPLY) != 0);
}

/* PRESENCE: users coming and going, in the server's order. */
static void
client_handle_presence(struct client *c, const struct sc_msg *m)
{
	char	name[SC_NAME_MAX + 1];
	size_t	off = 0;
	int	online;

	if (c->state != CLIENT_ONLINE)
		return;
	while (wire_presence_next(m, &off, &online, name)) {
		if (online)
			roster_insert(c->roster, name);
		else {
			roster_remove(c->roster, name);
			peer_forget(c->peer, name);
		}
		output_presence(c->out, online, name);
	}
}

/*
 * Sends the text of the current send command: 0 when sent, 1 when it must
 * wait for room among the messages in flight, -1 (error printed) when it
 * failed.  Does not end the operation.
 */
static int
client_try_send(struct client *c)
{
	char	err[CLIENT_REASON_MAX];

	if (!peer_can_send(c->peer))
		return (1);
	if (peer_send(c->peer, c->op_peer, (const char *)c->op_text,
	    c->op_len, err, sizeof(err)) != 0) {
		client_error(c, "send", "%s", err);
		return (-1);
	}
	return (0);
}

/* Sends the waiting text later on (pair key arrived, room freed). */
static void
client_send_later(struct client *c)
{
	int	r;

	if ((r = client_try_send(c)) == 1) {
		c->op = OP_SEND_SLOT;
		return;
	}
	client_op_done(c, r != 0);
}

/* PAIRKEY: a key for talking with a peer, ours or the peer's request. */
static void
client_handle_pairkey(struct client *c, const struct sc_msg *m)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	socklen_t		 sslen;

	if (c->state != CLIENT_ONLINE)
		return;
	memset(&ss, 0, sizeof(ss));
	if (m->af == SC_AF_INET) {
		sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, m->addr, 4);
		sin->sin_port = htons(m->port);
		sslen = sizeof(*sin);
	} else {
		sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, m->addr, 16);
		sin6->sin6_port = htons(m->port);
		sslen = sizeof(*sin6);
	}
	(void)peer_pair_set(c->peer, m->name, m->pair_id, m->key,
	    (struct sockaddr *)&ss, sslen);
	if (c->op == OP_SEND_PAIR && strcmp(m->name, c->op_peer) == 0) {
		event_del(c->op_ev);
		client_send_later(c);
	}
}

/* GOODBYE: the server ends the session. */
static void
client_handle_goodbye(struct client *c, const struct sc_msg *m)
{
	char	why[CLIENT_REASON_MAX];

	if (m->code == SC_BYE_LOGOUT && c->quitting) {
		client_finish(c, c->failed);
		return;
	}
	snprintf(why, sizeof(why), "server closed the session: %s",
	    wire_bye_str(m->code));
	client_abort(c, EXIT_UNAVAIL, why);
}

/* Dispatches one message from the server. */
static void
client_conn_msg(void *arg, const struct sc_msg *m)
{
	struct client	*c = arg;

	if (c->state == CLIENT_DONE)
		return;
	switch (m->type) {
	case SC_MSG_OK:
		client_handle_ok(c, m);
		break;
	case SC_MSG_ERROR:
		client_handle_error(c, m);
		break;
	case SC_MSG_USERS:
		client_handle_users(c, m);
		break;
	case SC_MSG_PRESENCE:
		client_handle_presence(c, m);
		break;
	case SC_MSG_PAIRKEY:
		client_handle_pairkey(c, m);
		break;
	case SC_MSG_GOODBYE:
		client_handle_goodbye(c, m);
		break;
	default:
		log_debug("client: ignored message type=0x%02x", m->type);
		break;
	}
}

/* An incoming message: shown once. */
static void
client_peer_msg(void *arg, const char *from, const char *text, size_t len)
{
	struct client	*c = arg;

	if (c->state != CLIENT_DONE)
		output_msg(c->out, from, text, len);
}

/* A room among the messages in flight lets a waiting send go on. */
static void
client_peer_slot(struct client *c)
{
	if (c->op == OP_SEND_SLOT && peer_can_send(c->peer))
		client_send_later(c);
	client_drain_check(c);
}

/* A peer acknowledged a message. */
static void
client_peer_delivered(void *arg, const char *to)
{
	struct client	*c = arg;

	if (c->state == CLIENT_DONE)
		return;
	output_delivered(c->out, to);
	client_peer_slot(c);
}

/* A message was never acknowledged. */
static void
client_peer_failed(void *arg, const char *to, const char *why)
{
	struct client	*c = arg;

	(void)to;
	if (c->state == CLIENT_DONE)
		return;
	client_error(c, "send", "%s", why);
	client_peer_slot(c);
}

/* Logs in or signs up. */
enum cmd_status
client_login(struct client *c, const char *cmd, uint8_t type,
    const char *name, const uint8_t *pass, size_t pass_len)
{
	struct wbuf	wb;

	if (!conn_is_open(c->conn) || c->state != CLIENT_GREETED) {
		client_error(c, cmd, c->state == CLIENT_ONLINE ?
		    "already logged in" : "not connected");
		return (CMD_FAILED);
	}
	wbuf_init(&wb);
	wire_enc_cred(&wb, type, name, pass, pass_len);
	if (client_send_msg(c, &wb) != 0) {
		client_error(c, cmd, "cannot send the request");
		return (CMD_FAILED);
	}
	log_debug("client: %s user=%s", cmd, name);
	c->op = OP_LOGIN;
	strlcpy(c->op_cmd, cmd, sizeof(c->op_cmd));
	client_op_arm(c, c->conf.reply_timeout);
	return (CMD_PENDING);
}

/* Asks for the users online. */
enum cmd_status
client_list(struct client *c)
{
	struct wbuf	wb;

	if (c->state != CLIENT_ONLINE) {
		client_error(c, "list", "not logged in");
		return (CMD_FAILED);
	}
	wbuf_init(&wb);
	wire_enc_empty(&wb, SC_MSG_LIST);
	if (client_send_msg(c, &wb) != 0) {
		client_error(c, "list", "cannot send the request");
		return (CMD_FAILED);
	}
	c->op = OP_LIST;
	strlcpy(c->op_cmd, "list", sizeof(c->op_cmd));
	client_op_arm(c, c->conf.reply_timeout);
	return (CMD_PENDING);
}

/* Sends a message, first asking for a pair key when none is held. */
enum cmd_status
client_send(struct client *c, const char *name, const char *text,
    size_t len)
{
	struct wbuf	wb;
	int		r;

	if (c->state != CLIENT_ONLINE) {
		client_error(c, "send", "not logged in");
		return (CMD_FAILED);
	}
	if (len > SC_TEXT_MAX) {
		client_error(c, "send", "message too long (max %d bytes)",
		    SC_TEXT_MAX);
		return (CMD_FAILED);
	}
	c->op = OP_SEND_PAIR;
	strlcpy(c->op_cmd, "send", sizeof(c->op_cmd));
	strlcpy(c->op_peer, name, sizeof(c->op_peer));
	if (len > 0)
		memcpy(c->op_text, text, len);
	c->op_len = len;
	if (peer_has_pair(c->peer, name)) {
		if ((r = client_try_send(c)) == 1) {
			c->op = OP_SEND_SLOT;
			return (CMD_PENDING);
		}
		c->op = OP_NONE;
		sc_wipe(c->op_text, sizeof(c->op_text));
		return (r == 0 ? CMD_OK : CMD_FAILED);
	}
	wbuf_init(&wb);
	wire_enc_pair(&wb, name);
	if (client_send_msg(c, &wb) != 0) {
		c->op = OP_NONE;
		client_error(c, "send", "cannot send the request");
		return (CMD_FAILED);
	}
	log_debug("client: pair request peer=%s", name);
	client_op_arm(c, c->conf.pair_timeout);
	return (CMD_PENDING);
}

/* Logs out once nothing waits for an acknowledgement any more. */
static void
client_drain_check(struct client *c)
{
	if (!c->quitting || c->logging_out || c->state == CLIENT_DONE ||
	    peer_outstanding(c->peer) > 0)
		return;
	c->logging_out = 1;
	if (c->drain_ev != NULL)
		event_del(c->drain_ev);
	if (!conn_is_open(c->conn)) {
		client_finish(c, c->failed);
		return;
	}
	log_debug("client: logging out");
	conn_logout(c->conn);
}

/* The drain time is over: what is still waiting has failed. */
static void
client_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;

	(void)fd;
	(void)what;
	peer_fail_all(c->peer);
	client_drain_check(c);
}

/* Quits: drain, log out, end the loop. */
enum cmd_status
client_quit(struct client *c)
{
	struct timeval	tv;

	if (c->quitting)
		return (CMD_PENDING);
	c->quitting = 1;
	c->op = OP_QUIT;
	strlcpy(c->op_cmd, "quit", sizeof(c->op_cmd));
	if (c->state == CLIENT_CONNECTING) {
		client_finish(c, 1);
		return (CMD_PENDING);
	}
	if (peer_outstanding(c->peer) > 0) {
		log_debug("client: waiting for %zu acknowledgements",
		    peer_outstanding(c->peer));
		c->drain_ev = evtimer_new(c->base, client_drain_cb, c);
		if (c->drain_ev != NULL) {
			tv.tv_sec = c->conf.drain_timeout;
			tv.tv_usec = 0;
			event_add(c->drain_ev, &tv);
			return (CMD_PENDING);
		}
		peer_fail_all(c->peer);
	}
	client_drain_check(c);
	return (CMD_PENDING);
}

/* End of input: quit unless told to listen. */
void
client_end_of_input(struct client *c)
{
	if (c->opts.listen) {
		log_debug("client: end of input; listening");
		return;
	}
	(void)client_quit(c);
}
