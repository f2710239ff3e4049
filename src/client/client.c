/* SPDX-License-Identifier: ISC */
/*
 * The client's core.  It owns the connection to the server, the peer table
 * and the users online, turns server messages into records, and runs one
 * command at a time.  One enum client_state says where the session is and
 * what the running command waits for (its answer, its timer, room for a
 * message, the end of the session); every change goes through
 * client_enter_state().  Messages from the server go through one table of
 * handlers, each row naming the states it runs in, so a handler never
 * checks the state itself and a new message or state is a row or a bit.
 *
 * Keeping going (the REPL, --listen): once logged in, a lost session is
 * restored.  The client says so (a "disconnected" record), forgets what
 * died with the session (pair keys, the UDP registration, the users
 * online), and tries again after 1 s, then 2, 4, 8, 16 and 30 s at most,
 * each delay moved by up to a fifth either way so that the clients of a
 * restarted server do not all come back in the same instant.  Each attempt
 * checks the pinned key again and logs in as the same user, with the
 * password kept in guarded memory or asked of the front end again.  A
 * command that needs the server waits for it meanwhile, reply_timeout at
 * most.  Before any login there is nothing to restore: a connection the
 * server closes then (its login deadline) is opened again when a command
 * needs it, so the deadline never hits a person reading or typing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <inttypes.h>
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
#include "identity.h"
#include "peer.h"
#include "roster.h"
#include "shown.h"

#define CLIENT_REASON_MAX	512
/*
 * A peer that has just logged in may not have registered its UDP port yet
 * when our PAIR arrives: "user has no udp" is asked again this often until
 * pair_timeout.
 */
#define CLIENT_PAIR_RETRY_MS	200
/* Reconnect delays: the first, doubling up to the last; jitter in 1/1000. */
#define CLIENT_RETRY_FIRST_MS	1000
#define CLIENT_RETRY_MAX_MS	30000
#define CLIENT_RETRY_JITTER	200

/* Sets of states, for the handler table. */
#define S(st)		(1U << (st))
#define S_ALL		(S(CLIENT_NSTATES) - 1)
/* Until the loop ends. */
#define S_LIVE		(S_ALL & ~S(CLIENT_DONE))
/* The session is logged in: lists, presence and pair keys come. */
#define S_LOGGED_IN	(S(CLIENT_LOGIN_LIST) | S(CLIENT_ONLINE) | \
			    S(CLIENT_LIST) | S(CLIENT_PAIR) | S(CLIENT_SLOT) | \
			    S(CLIENT_MAIL) | S(CLIENT_RELOGIN_LIST) | \
			    S(CLIENT_DRAIN) | S(CLIENT_LOGOUT) | \
			    S(CLIENT_LOGOUT_LIST))
/* The session is being restored: the user is still logged in. */
#define S_OUTAGE	(S(CLIENT_RECONNECT) | S(CLIENT_RELOGIN) | \
			    S(CLIENT_RELOGIN_LIST))
/* A command waits: interrupted or cut off, it gets an error record. */
#define S_WAITING	(S(CLIENT_LOGIN) | S(CLIENT_LOGIN_LIST) | \
			    S(CLIENT_LIST) | S(CLIENT_PAIR) | S(CLIENT_SLOT) | \
			    S(CLIENT_MAIL))
/* On the way out: a goodbye for our LOGOUT ends the run as planned. */
#define S_QUITTING	(S(CLIENT_DRAIN) | S(CLIENT_LOGOUT) | \
			    S(CLIENT_LOGOUT_LIST) | S(CLIENT_LEAVING))

struct client {
	struct event_base	*base;
	struct client_conf	 conf;
	struct client_opts	 opts;
	char			 key_path[PATH_MAX];
	uint8_t			 server_pk[SC_KEY_BYTES];
	struct output		*out;
	struct conn		*conn;
	struct peer		*peer;
	struct roster		*roster;	/* the users online */
	struct identity		*id;		/* ours, and pinned peers */
	struct shown		*shown;		/* stored messages shown */
	struct client_frontend	 fe;

	enum client_state	 state;
	char			 self[SC_NAME_MAX + 1];
	int			 failed;	/* some command failed */
	int			 status;	/* exit status once done */
	int			 udpreg;	/* the server sent UDPREG */
	int			 ready_told;	/* fe.ready was called */
	int			 ending_told;	/* fe.ending was called */

	/*
	 * The password of the login under way, and after it, when the session
	 * may have to be restored and the front end cannot give it again; in
	 * guarded memory (sc_secure_alloc), wiped when no longer needed.
	 */
	uint8_t			*pass;
	size_t			 pass_len;
	int			 pass_asked;	/* it came from fe.password */
	int			 want_login;	/* the next WELCOME sends it */
	int			 login_retried;	/* sent again once already */

	/* Restoring a lost session. */
	struct event		*retry_ev;	/* next attempt, or deadline */
	unsigned		 attempt;	/* attempts since the loss */
	enum {
		CLIENT_HELD_NONE,
		CLIENT_HELD_LIST,
		CLIENT_HELD_SEND,
	}			 held;		/* waits for the session */

	/* The command that waits (states in S_WAITING). */
	char			 op_cmd[8];	/* "sign", "auth", ... */
	uint8_t			 op_type;	/* the login's request */
	char			 op_peer[SC_NAME_MAX + 1];	/* or login */
	uint8_t			 op_text[SC_TEXT_MAX];
	size_t			 op_len;
	uint8_t			 op_mailid[SC_MAIL_ID_BYTES];	/* if stored */
	struct event		*op_ev;		/* its deadline */
	uint64_t		 op_deadline;	/* util_now_ms() of op_ev */
	struct event		*pair_ev;	/* asks for a pair key again */

	struct event		*drain_ev;	/* the end of DRAIN */
	struct event		*sigint_ev;
	struct event		*sigterm_ev;
};

typedef void	(*client_handler_fn)(struct client *, const struct sc_msg *);

static void	client_on_welcome(struct client *, const struct sc_msg *);
static void	client_on_ok(struct client *, const struct sc_msg *);
static void	client_on_relogin_ok(struct client *, const struct sc_msg *);
static void	client_on_relogin_error(struct client *,
		    const struct sc_msg *);
static void	client_on_relogin_users(struct client *,
		    const struct sc_msg *);
static void	client_on_stray_ok(struct client *, const struct sc_msg *);
static void	client_on_login_error(struct client *, const struct sc_msg *);
static void	client_on_list_error(struct client *, const struct sc_msg *);
static void	client_on_pair_error(struct client *, const struct sc_msg *);
static void	client_on_udp_error(struct client *, const struct sc_msg *);
static void	client_on_recheck_error(struct client *,
		    const struct sc_msg *);
static void	client_on_error(struct client *, const struct sc_msg *);
static void	client_on_login_users(struct client *, const struct sc_msg *);
static void	client_on_quit_users(struct client *, const struct sc_msg *);
static void	client_on_list_users(struct client *, const struct sc_msg *);
static void	client_on_users(struct client *, const struct sc_msg *);
static void	client_on_presence(struct client *, const struct sc_msg *);
static void	client_on_send_pairkey(struct client *, const struct sc_msg *);
static void	client_on_pairkey(struct client *, const struct sc_msg *);
static void	client_on_udpreg(struct client *, const struct sc_msg *);
static void	client_on_candidates(struct client *, const struct sc_msg *);
static void	client_on_quit_goodbye(struct client *, const struct sc_msg *);
static void	client_on_goodbye(struct client *, const struct sc_msg *);
static void	client_on_rcptkey(struct client *, const struct sc_msg *);
static void	client_on_queued(struct client *, const struct sc_msg *);
static void	client_on_mail_error(struct client *, const struct sc_msg *);
static void	client_on_stored(struct client *, const struct sc_msg *);
static void	client_on_storenote(struct client *, const struct sc_msg *);

/*
 * Every message the server sends, with the states each reaction belongs
 * to; the first row whose type, request answered (OK and ERROR; 0 is any)
 * and state match runs.  A message that no row takes is dropped; one of a
 * type without any row is logged.  In short:
 *
 *   WELCOME   CONNECTING: the channel is open; commands may be read (or
 *             the login that waited for it goes); RECONNECT: our AUTH
 *             goes, RELOGIN
 *   OK        LOGIN: "ok" record, the UDP port and local addresses
 *             sent, LOGIN_LIST; RELOGIN: the same, RELOGIN_LIST;
 *             elsewhere a warning
 *   ERROR     of AUTH in RELOGIN: a busy server is tried again later,
 *             a refusal ends the restoring (error record); of SIGN/AUTH
 *             in LOGIN or LOGIN_LIST, of LIST in LIST, of
 *             PAIR for the awaited peer in PAIR: the command's error
 *             record (or, for "user has no udp", PAIR again shortly);
 *             of UDP anywhere: a diagnostic; of RECHECK (the pair just
 *             died) and anything else: a debug line
 *   USERS     logged in: the list is assembled and becomes the set;
 *             shown when it is the initial list in LOGIN_LIST,
 *             RELOGIN_LIST (then the waiting command goes on) or
 *             LOGOUT_LIST, or the reply in LIST, which then end
 *   PRESENCE  logged in: records, one story per user (online, offline,
 *             online...: a second "online" comes after an "offline");
 *             a peer gone or logged in again loses its pair key
 *   PAIRKEY   logged in: the key is installed and the checks for a
 *             path begin; in PAIR, the awaited peer's key sends the
 *             message (it leaves when the pair has a path)
 *   UDPREG    logged in: the UDP socket registers with the server
 *   CANDIDATES logged in: the checks of a held pair begin again; a
 *             pair not held is ignored
 *   GOODBYE   on the way out, for our LOGOUT: the end as planned;
 *             anywhere else: the session ended (client_session_ended)
 */
static const struct client_handler {
	uint8_t			type;
	uint8_t			req;
	unsigned		states;
	client_handler_fn	fn;
} client_handlers[] = {
	{ SC_MSG_WELCOME, 0, S(CLIENT_CONNECTING) | S(CLIENT_RECONNECT),
	    client_on_welcome },
	{ SC_MSG_OK, 0, S(CLIENT_LOGIN), client_on_ok },
	{ SC_MSG_OK, 0, S(CLIENT_RELOGIN), client_on_relogin_ok },
	{ SC_MSG_OK, 0, S_LIVE, client_on_stray_ok },
	{ SC_MSG_ERROR, SC_MSG_SIGN, S(CLIENT_LOGIN) | S(CLIENT_LOGIN_LIST),
	    client_on_login_error },
	{ SC_MSG_ERROR, SC_MSG_AUTH, S(CLIENT_LOGIN) | S(CLIENT_LOGIN_LIST),
	    client_on_login_error },
	{ SC_MSG_ERROR, SC_MSG_AUTH, S(CLIENT_RELOGIN),
	    client_on_relogin_error },
	{ SC_MSG_ERROR, SC_MSG_LIST, S(CLIENT_LIST), client_on_list_error },
	{ SC_MSG_ERROR, SC_MSG_PAIR, S(CLIENT_PAIR), client_on_pair_error },
	{ SC_MSG_ERROR, SC_MSG_RCPT, S(CLIENT_MAIL), client_on_mail_error },
	{ SC_MSG_ERROR, SC_MSG_STORE, S(CLIENT_MAIL), client_on_mail_error },
	{ SC_MSG_ERROR, SC_MSG_UDP, S_LIVE, client_on_udp_error },
	{ SC_MSG_ERROR, SC_MSG_RECHECK, S_LIVE, client_on_recheck_error },
	{ SC_MSG_ERROR, 0, S_LIVE, client_on_error },
	{ SC_MSG_USERS, 0, S(CLIENT_LOGIN_LIST), client_on_login_users },
	{ SC_MSG_USERS, 0, S(CLIENT_LIST), client_on_list_users },
	{ SC_MSG_USERS, 0, S(CLIENT_RELOGIN_LIST), client_on_relogin_users },
	{ SC_MSG_USERS, 0, S(CLIENT_LOGOUT_LIST), client_on_quit_users },
	{ SC_MSG_USERS, 0, S_LOGGED_IN, client_on_users },
	{ SC_MSG_PRESENCE, 0, S_LOGGED_IN, client_on_presence },
	{ SC_MSG_PAIRKEY, 0, S(CLIENT_PAIR), client_on_send_pairkey },
	{ SC_MSG_PAIRKEY, 0, S_LOGGED_IN, client_on_pairkey },
	{ SC_MSG_UDPREG, 0, S_LOGGED_IN, client_on_udpreg },
	{ SC_MSG_CANDIDATES, 0, S_LOGGED_IN, client_on_candidates },
	{ SC_MSG_RCPTKEY, 0, S(CLIENT_MAIL), client_on_rcptkey },
	{ SC_MSG_QUEUED, 0, S(CLIENT_MAIL), client_on_queued },
	{ SC_MSG_STORED, 0, S_LOGGED_IN, client_on_stored },
	{ SC_MSG_STORENOTE, 0, S_LOGGED_IN, client_on_storenote },
	{ SC_MSG_GOODBYE, 0, S_QUITTING, client_on_quit_goodbye },
	{ SC_MSG_GOODBYE, 0, S_LIVE, client_on_goodbye },
};

static void	client_conn_ready(void *, const struct sc_msg *);
static void	client_conn_msg(void *, const struct sc_msg *);
static void	client_conn_closed(void *, int, const char *);
static void	client_peer_msg(void *, const char *, const char *, size_t);
static void	client_peer_delivered(void *, const char *);
static void	client_peer_failed(void *, const char *, const char *);
static void	client_peer_recheck(void *, uint64_t);
static void	client_drain_check(struct client *);
static int	client_send_msg(struct client *, struct wbuf *);
static void	client_open_udp(struct client *);
static void	client_session_ended(struct client *, int, const char *,
		    int);
static enum cmd_status client_send_go(struct client *);
static enum cmd_status client_login_go(struct client *);
static int	client_show_number(struct client *, const char *);

static const struct conn_cb client_conn_cb = {
	.ready = client_conn_ready,
	.msg = client_conn_msg,
	.closed = client_conn_closed,
};

static const struct peer_cb client_peer_cb = {
	.msg = client_peer_msg,
	.delivered = client_peer_delivered,
	.failed = client_peer_failed,
	.recheck = client_peer_recheck,
};

/* The name of a state. */
const char *
client_state_name(enum client_state st)
{
	static const char *const names[] = {
		[CLIENT_CONNECTING] = "connecting",
		[CLIENT_GREETED] = "greeted",
		[CLIENT_IDLE] = "idle",
		[CLIENT_PASSWORD] = "password",
		[CLIENT_LOGIN] = "login",
		[CLIENT_LOGIN_LIST] = "login-list",
		[CLIENT_ONLINE] = "online",
		[CLIENT_LIST] = "list",
		[CLIENT_PAIR] = "pair",
		[CLIENT_SLOT] = "slot",
		[CLIENT_MAIL] = "mail",
		[CLIENT_RECONNECT] = "reconnect",
		[CLIENT_RELOGIN] = "relogin",
		[CLIENT_RELOGIN_LIST] = "relogin-list",
		[CLIENT_DRAIN] = "drain",
		[CLIENT_LOGOUT] = "logout",
		[CLIENT_LOGOUT_LIST] = "logout-list",
		[CLIENT_LEAVING] = "leaving",
		[CLIENT_DONE] = "done",
	};

	if ((unsigned)st >= CLIENT_NSTATES)
		return ("unknown");
	return (names[st]);
}

/* The one place the client changes state. */
static void
client_enter_state(struct client *c, enum client_state st)
{
	log_debug("client: state %s -> %s", client_state_name(c->state),
	    client_state_name(st));
	c->state = st;
}

/* Tells whether the client is in one of a set of states. */
static int
client_in(const struct client *c, unsigned states)
{
	return ((states & S(c->state)) != 0);
}

/* Makes the client; nothing runs until client_start(). */
struct client *
client_new(struct event_base *base, const struct client_conf *conf,
    const uint8_t server_pk[SC_KEY_BYTES], const struct client_opts *opts,
    struct output *out)
{
	struct client		*c;
	struct peer_conf	 pc;

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
	memset(&pc, 0, sizeof(pc));
	pc.retries = (int)conf->send_retries;
	pc.retry_ms = (int)conf->retry_interval_ms;
	pc.direct_timeout_ms = (int)conf->direct_timeout;
	pc.keepalive_s = (int)conf->udp_keepalive;
	pc.punch_ttl = (int)conf->punch_ttl;
	c->peer = peer_new(base, &client_peer_cb, c, &pc);
	c->conn = conn_new(base, conf, server_pk, c->key_path,
	    &client_conn_cb, c);
	c->roster = roster_new();
	c->pass = sc_secure_alloc(SC_PASS_MAX);
	if (c->peer == NULL || c->conn == NULL || c->roster == NULL ||
	    c->pass == NULL) {
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
	identity_free(c->id);
	shown_free(c->shown);
	roster_free(c->roster);
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
	if (c->retry_ev != NULL)
		event_free(c->retry_ev);
	if (c->pass != NULL) {
		sc_wipe(c->pass, SC_PASS_MAX);
		sc_secure_free(c->pass);
	}
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

/* Where the client is. */
enum client_state
client_state(const struct client *c)
{
	return (c->state);
}

/* Tells whether a user is logged in (its session there or restored). */
int
client_logged_in(const struct client *c)
{
	return (client_in(c, S_LOGGED_IN | S_OUTAGE));
}

/* Our name once logged in. */
const char *
client_self(const struct client *c)
{
	return (client_logged_in(c) ? c->self : "");
}

/* The users online now, sorted. */
const char *const *
client_online(const struct client *c, size_t *n)
{
	return (roster_names(c->roster, n));
}

/* Asks the front end for a password: 0, 1 (it will tell) or -1. */
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

/* Stops what the waiting command holds: its timers and its text. */
static void
client_op_clear(struct client *c)
{
	if (c->op_ev != NULL)
		event_del(c->op_ev);
	if (c->pair_ev != NULL)
		event_del(c->pair_ev);
	sc_wipe(c->op_text, sizeof(c->op_text));
	c->op_len = 0;
}

/* Wipes the password held, if any. */
static void
client_pass_forget(struct client *c)
{
	sc_wipe(c->pass, SC_PASS_MAX);
	c->pass_len = 0;
	c->pass_asked = 0;
}

/* Tells the front end, once, that the run is ending. */
static void
client_ending(struct client *c)
{
	if (c->ending_told)
		return;
	c->ending_told = 1;
	if (c->fe.ending != NULL)
		c->fe.ending(c->fe.arg);
}

/* Ends the loop with the given exit status. */
static void
client_finish(struct client *c, int status)
{
	if (c->state == CLIENT_DONE)
		return;
	log_debug("client: done status=%d", status);
	client_ending(c);
	client_enter_state(c, CLIENT_DONE);
	c->status = status;
	c->held = CLIENT_HELD_NONE;
	c->want_login = 0;
	client_op_clear(c);
	client_pass_forget(c);
	if (c->drain_ev != NULL)
		event_del(c->drain_ev);
	if (c->retry_ev != NULL)
		event_del(c->retry_ev);
	conn_shut(c->conn);
	event_base_loopbreak(c->base);
}

/* Starts waiting for a command's outcome, with a deadline. */
static void
client_op_wait(struct client *c, enum client_state st, long long secs)
{
	struct timeval	tv;

	client_enter_state(c, st);
	tv.tv_sec = secs;
	tv.tv_usec = 0;
	c->op_deadline = util_now_ms() + (uint64_t)secs * 1000;
	event_add(c->op_ev, &tv);
}

/* Tells the front end that the command it runs is over. */
static void
client_tell_done(struct client *c, int failed)
{
	if (failed)
		c->failed = 1;
	if (c->fe.done != NULL)
		c->fe.done(c->fe.arg, failed);
}

/*
 * The waiting command is over: back to GREETED (IDLE without a
 * connection) or ONLINE, and the front end may read the next one.
 */
static void
client_op_done(struct client *c, int failed)
{
	if (!client_in(c, S_WAITING | S(CLIENT_PASSWORD)))
		return;
	if (client_in(c, S(CLIENT_LOGIN) | S(CLIENT_PASSWORD))) {
		client_enter_state(c, conn_is_open(c->conn) ? CLIENT_GREETED :
		    CLIENT_IDLE);
		client_pass_forget(c);
	} else
		client_enter_state(c, CLIENT_ONLINE);
	client_op_clear(c);
	client_tell_done(c, failed);
}

/* A command held through an outage is over (failed or ran). */
static void
client_held_done(struct client *c, int failed)
{
	c->held = CLIENT_HELD_NONE;
	client_op_clear(c);
	client_tell_done(c, failed);
}

/* Tells whether a command waits for its outcome, in any way. */
static int
client_busy(const struct client *c)
{
	return (client_in(c, S_WAITING | S(CLIENT_PASSWORD)) ||
	    c->held != CLIENT_HELD_NONE || c->want_login);
}

/*
 * Ends the run: the front end stops prompting, the reason goes to
 * standard error, then the loop ends.
 */
static void
client_end(struct client *c, int status, const char *why)
{
	if (c->state == CLIENT_DONE)
		return;
	client_ending(c);
	output_diag(c->out, "%s", why);
	client_finish(c, status);
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
	client_ending(c);
	if (client_busy(c))
		client_error(c, c->op_cmd, "connection to the server lost");
	client_end(c, status, why);
}

/*
 * A new connection to the server, the old one freed: never inside its own
 * callbacks (only timers, commands and the start call this).
 */
static int
client_connect(struct client *c)
{
	conn_free(c->conn);
	c->conn = conn_new(c->base, &c->conf, c->server_pk, c->key_path,
	    &client_conn_cb, c);
	if (c->conn == NULL)
		return (-1);
	return (conn_start(c->conn));
}

/*
 * The wait before reconnect attempt number attempt (0 first): first_ms,
 * doubled at each attempt up to CLIENT_RETRY_MAX_MS, then moved by up to
 * CLIENT_RETRY_JITTER thousandths either way as rnd (any value) says.
 */
uint64_t
client_retry_delay(unsigned attempt, uint64_t first_ms, uint64_t rnd)
{
	uint64_t	ms = first_ms;

	while (attempt-- > 0 && ms < CLIENT_RETRY_MAX_MS)
		ms *= 2;
	if (ms > CLIENT_RETRY_MAX_MS)
		ms = CLIENT_RETRY_MAX_MS;
	return (ms * (1000 - CLIENT_RETRY_JITTER + rnd %
	    (2 * CLIENT_RETRY_JITTER + 1)) / 1000);
}

/* Arms the next reconnect attempt. */
static void
client_retry_arm(struct client *c)
{
	struct timeval	tv;
	uint64_t	ms;

	ms = client_retry_delay(c->attempt, c->opts.retry_ms > 0 ?
	    (uint64_t)c->opts.retry_ms : CLIENT_RETRY_FIRST_MS,
	    sc_random_u64());
	c->attempt++;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	log_info("client: reconnecting in %" PRIu64 " ms (attempt %u)", ms,
	    c->attempt);
	event_add(c->retry_ev, &tv);
}

/* Runs the retry timer at once, out of the callback that asks. */
static void
client_retry_now(struct client *c)
{
	struct timeval	tv = { 0, 0 };

	event_add(c->retry_ev, &tv);
}

/*
 * The session was lost while logged in, and the client keeps going: say
 * so, forget what died with it, hold the waiting command, try again.
 */
static void
client_lost(struct client *c, const char *why)
{
	enum client_state	was = c->state;
	struct timeval		tv;

	conn_shut(c->conn);
	if (c->pair_ev != NULL)
		event_del(c->pair_ev);
	if (was == CLIENT_LIST)
		c->held = CLIENT_HELD_LIST;
	else if (was == CLIENT_PAIR || was == CLIENT_SLOT ||
	    was == CLIENT_MAIL)
		c->held = CLIENT_HELD_SEND;
	if (c->held != CLIENT_HELD_NONE) {
		/* It waits for the session again, reply_timeout at most. */
		tv.tv_sec = c->conf.reply_timeout;
		tv.tv_usec = 0;
		event_add(c->op_ev, &tv);
	} else if (c->op_ev != NULL)
		event_del(c->op_ev);
	client_enter_state(c, CLIENT_RECONNECT);
	c->udpreg = 0;
	c->attempt = 0;
	output_disconnected(c->out, why);
	peer_reset(c->peer);
	roster_clear(c->roster);
	/* A login whose "ok" was shown is over; the fresh one follows. */
	if (was == CLIENT_LOGIN_LIST)
		client_tell_done(c, 0);
	client_retry_arm(c);
}

/* The deadline of the waiting command passed. */
static void
client_op_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	char		 why[CLIENT_REASON_MAX];

	(void)fd;
	(void)what;
	if (c->held != CLIENT_HELD_NONE && client_in(c, S_OUTAGE)) {
		client_error(c, c->op_cmd, "no connection to the server "
		    "(reconnecting)");
		client_held_done(c, 1);
		return;
	}
	switch (c->state) {
	case CLIENT_PAIR:
		client_error(c, c->op_cmd, "no pair key for %s", c->op_peer);
		client_op_done(c, 1);
		break;
	case CLIENT_MAIL:
		client_error(c, c->op_cmd, "no answer from the server for %s",
		    c->op_peer);
		client_op_done(c, 1);
		break;
	case CLIENT_LOGIN:
	case CLIENT_LOGIN_LIST:
	case CLIENT_LIST:
		/* A late answer could not be matched: give the session up. */
		client_error(c, c->op_cmd, "no answer from the server");
		snprintf(why, sizeof(why), "the server %s did not answer "
		    "within %lld s", conn_server_str(c->conn),
		    c->conf.reply_timeout);
		client_end(c, EXIT_UNAVAIL, why);
		break;
	default:
		break;
	}
}

/* Asks the server again for the pair key of the waiting send. */
static void
client_pair_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	struct wbuf	 wb;

	(void)fd;
	(void)what;
	if (c->state != CLIENT_PAIR)
		return;
	wbuf_init(&wb);
	wire_enc_pair(&wb, c->op_peer);
	if (client_send_msg(c, &wb) != 0) {
		client_error(c, c->op_cmd, "cannot send the request");
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
	if (c->state == CLIENT_DONE) {
		/* The loop is ending already: make sure that it does. */
		event_base_loopbreak(c->base);
		return;
	}
	if ((c->state == CLIENT_CONNECTING && !c->ready_told) ||
	    client_in(c, S_QUITTING)) {
		client_finish(c, c->state == CLIENT_CONNECTING ? 1 :
		    c->failed);
		return;
	}
	if (client_busy(c)) {
		client_ending(c);
		client_error(c, c->op_cmd, "interrupted");
		client_op_clear(c);
		c->held = CLIENT_HELD_NONE;
		c->want_login = 0;
		client_pass_forget(c);
	}
	(void)client_quit(c);
}

/*
 * The retry timer: in RECONNECT the next attempt; in RELOGIN and
 * RELOGIN_LIST the deadline of the new login, whose attempt then failed;
 * in CONNECTING a login waits for a new connection.
 */
static void
client_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CLIENT_RECONNECT:
		if (client_connect(c) != 0) {
			log_warnx("client: cannot start a connection");
			client_retry_arm(c);
		}
		break;
	case CLIENT_RELOGIN:
	case CLIENT_RELOGIN_LIST:
		log_info("client: no answer to the new login within %lld s",
		    c->conf.reply_timeout);
		conn_shut(c->conn);
		client_enter_state(c, CLIENT_RECONNECT);
		client_retry_arm(c);
		break;
	case CLIENT_CONNECTING:
		if (c->want_login && client_connect(c) != 0) {
			c->want_login = 0;
			client_error(c, c->op_cmd, "cannot start a "
			    "connection");
			client_enter_state(c, CLIENT_IDLE);
			client_pass_forget(c);
			client_tell_done(c, 1);
		}
		break;
	default:
		break;
	}
}

/* Connects and installs the signal handlers. */
int
client_start(struct client *c)
{
	c->op_ev = evtimer_new(c->base, client_op_timeout_cb, c);
	c->pair_ev = evtimer_new(c->base, client_pair_retry_cb, c);
	c->retry_ev = evtimer_new(c->base, client_retry_cb, c);
	c->sigint_ev = evsignal_new(c->base, SIGINT, client_signal_cb, c);
	c->sigterm_ev = evsignal_new(c->base, SIGTERM, client_signal_cb, c);
	if (c->op_ev == NULL || c->pair_ev == NULL || c->retry_ev == NULL ||
	    c->sigint_ev == NULL || c->sigterm_ev == NULL)
		return (-1);
	if (event_add(c->sigint_ev, NULL) != 0 ||
	    event_add(c->sigterm_ev, NULL) != 0)
		return (-1);
	return (conn_start(c->conn));
}

/* Handles one message from the server through the table. */
void
client_input(struct client *c, const struct sc_msg *m)
{
	const struct client_handler	*h;
	size_t				 i;
	int				 known = 0;

	for (i = 0; i < sizeof(client_handlers) /
	    sizeof(client_handlers[0]); i++) {
		h = &client_handlers[i];
		if (h->type != m->type)
			continue;
		known = 1;
		if ((h->req == 0 || h->req == m->req) && client_in(c,
		    h->states)) {
			h->fn(c, m);
			return;
		}
	}
	if (!known)
		log_debug("client: ignored message type=0x%02x", m->type);
}

/* The channel is open: its WELCOME goes through the table. */
static void
client_conn_ready(void *arg, const struct sc_msg *welcome)
{
	client_input(arg, welcome);
}

/* One message from the server. */
static void
client_conn_msg(void *arg, const struct sc_msg *m)
{
	client_input(arg, m);
}

/* The connection ended. */
static void
client_conn_closed(void *arg, int status, const char *why)
{
	struct client	*c = arg;

	if (status == 0 && client_in(c, S_QUITTING)) {
		client_finish(c, c->failed);
		return;
	}
	client_session_ended(c, status == 0 ? EXIT_UNAVAIL : status, why, 0);
}

/*
 * The connection is over (the server closed it, said GOODBYE bye, or it
 * never opened): what follows depends on where the client was.  A wrong
 * key, a broken protocol and a session ended for good (logged in
 * elsewhere, ended by the operator, an account deleted or locked) always
 * end the run; a session lost while logged in is restored when the client
 * keeps going; before a login, a connection closed for the server's login
 * deadline is quietly opened again when needed.
 */
static void
client_session_ended(struct client *c, int status, const char *why, int bye)
{
	int	fatal, persist;

	if (c->state == CLIENT_DONE)
		return;
	fatal = status == EXIT_PROTOCOL || bye == SC_BYE_REPLACED ||
	    bye == SC_BYE_KICKED || bye == SC_BYE_DELETED ||
	    bye == SC_BYE_LOCKED;
	persist = c->opts.persist && !fatal;
	if (client_in(c, S_QUITTING)) {
		client_abort(c, status, why);
		return;
	}
	switch (c->state) {
	case CLIENT_CONNECTING:
		if (!c->want_login || fatal) {
			/* The first connection: nothing to go on with. */
			client_abort(c, status, why);
			return;
		}
		c->want_login = 0;
		client_error(c, c->op_cmd, "%s", why);
		if (!c->opts.persist) {
			client_end(c, status, why);
			return;
		}
		client_enter_state(c, CLIENT_IDLE);
		client_pass_forget(c);
		client_tell_done(c, 1);
		return;
	case CLIENT_RECONNECT:
	case CLIENT_RELOGIN:
	case CLIENT_RELOGIN_LIST:
		if (fatal) {
			client_abort(c, status, why);
			return;
		}
		log_info("client: reconnect attempt %u failed: %s",
		    c->attempt, why);
		event_del(c->retry_ev);
		client_enter_state(c, CLIENT_RECONNECT);
		client_retry_arm(c);
		return;
	case CLIENT_IDLE:
		return;
	case CLIENT_GREETED:
	case CLIENT_PASSWORD:
		if (bye == SC_BYE_DEADLINE)
			log_debug("client: login deadline passed; the next "
			    "login connects again");
		else if (persist)
			output_diag(c->out, "%s", why);
		else {
			client_abort(c, status, why);
			return;
		}
		if (c->state == CLIENT_GREETED)
			client_enter_state(c, CLIENT_IDLE);
		return;
	case CLIENT_LOGIN:
		if (bye == SC_BYE_DEADLINE && !c->login_retried) {
			/* Our request came too late for that connection. */
			log_debug("client: login deadline passed; sending the "
			    "login again on a new connection");
			c->login_retried = 1;
			c->want_login = 1;
			event_del(c->op_ev);
			client_enter_state(c, CLIENT_CONNECTING);
			client_retry_now(c);
			return;
		}
		if (persist) {
			client_error(c, c->op_cmd, "connection to the server "
			    "lost");
			output_diag(c->out, "%s", why);
			client_op_done(c, 1);
			return;
		}
		client_abort(c, status, why);
		return;
	default:
		if (persist && client_in(c, S_LOGGED_IN))
			client_lost(c, why);
		else
			client_abort(c, status, why);
		return;
	}
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
 * sends the server its port and local addresses (UDP).
 */
static void
client_open_udp(struct client *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = 0;
	struct sc_cand		 hosts[SC_HOST_MAX];
	size_t			 nhosts;
	struct wbuf		 wb;
	char			 err[CLIENT_REASON_MAX];

	if (conn_peer_addr(c->conn, &ss, &sslen) == 0)
		peer_set_server(c->peer, (struct sockaddr *)&ss, sslen);
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
	nhosts = peer_hosts(c->peer, hosts);
	wbuf_init(&wb);
	wire_enc_udp(&wb, peer_port(c->peer), hosts, nhosts);
	if (client_send_msg(c, &wb) != 0)
		log_warnx("client: cannot register the UDP port");
}

/*
 * IDENTITY: our identity key, before UDP, so that the server knows it
 * by the time a peer can be given our candidates.
 */
static void
client_send_identity(struct client *c)
{
	struct wbuf	wb;

	if (c->id == NULL)
		return;
	wbuf_init(&wb);
	wire_enc_identity(&wb, identity_keypair(c->id)->pk);
	if (client_send_msg(c, &wb) != 0)
		log_warnx("client: cannot send the identity key");
}


/* Sends SIGN or AUTH with the password held; -1 when it cannot go. */
static int
client_send_cred(struct client *c, uint8_t type, const char *name)
{
	struct wbuf	wb;

	wbuf_init(&wb);
	wire_enc_cred(&wb, type, name, c->pass, c->pass_len);
	return (client_send_msg(c, &wb));
}

/*
 * Logs in again as ourselves on the new connection, with the password kept
 * or given again by the front end.
 */
static void
client_relogin(struct client *c)
{
	char		pass[SC_PASS_MAX + 2];
	char		err[CLIENT_REASON_MAX];
	size_t		len = 0;
	struct timeval	tv;

	if (c->pass_len == 0) {
		if (client_password(c, pass, sizeof(pass), &len, err,
		    sizeof(err)) != 0 || len < SC_PASS_MIN ||
		    len > SC_PASS_MAX) {
			sc_wipe(pass, sizeof(pass));
			if (len > SC_PASS_MAX || (len > 0 && len < SC_PASS_MIN))
				snprintf(err, sizeof(err), "%s",
				    wire_err_str(SC_ERR_BAD_PASS));
			client_error(c, "auth", "%s", err);
			output_diag(c->out, "cannot log in again as %s: %s",
			    c->self, err);
			client_finish(c, 1);
			return;
		}
		memcpy(c->pass, pass, len);
		c->pass_len = len;
		sc_wipe(pass, sizeof(pass));
	}
	if (client_send_cred(c, SC_MSG_AUTH, c->self) != 0) {
		log_info("client: cannot send the new login");
		conn_shut(c->conn);
		client_retry_arm(c);
		goto out;
	}
	log_debug("client: logging in again user=%s", c->self);
	client_enter_state(c, CLIENT_RELOGIN);
	tv.tv_sec = c->conf.reply_timeout;
	tv.tv_usec = 0;
	event_add(c->retry_ev, &tv);
out:
	if (c->pass_asked && c->fe.reread)
		client_pass_forget(c);
}

/*
 * WELCOME: the server proved its key.  A lost session logs in again; a
 * login that waited for a connection goes; else commands may be read.
 */
static void
client_on_welcome(struct client *c, const struct sc_msg *m)
{
	(void)m;
	if (c->state == CLIENT_RECONNECT) {
		client_relogin(c);
		return;
	}
	if (c->want_login) {
		c->want_login = 0;
		if (client_login_go(c) == CMD_FAILED)
			client_tell_done(c, 1);
		return;
	}
	client_enter_state(c, CLIENT_GREETED);
	if (!c->ready_told) {
		c->ready_told = 1;
		if (c->fe.ready != NULL)
			c->fe.ready(c->fe.arg);
	}
}

/*
 * OK: we are logged in; the initial list follows.  The password is kept
 * (guarded) when the session may have to be restored and the front end
 * cannot give it again; else it is wiped now.
 */
static void
client_on_ok(struct client *c, const struct sc_msg *m)
{
	strlcpy(c->self, m->name, sizeof(c->self));
	peer_set_self(c->peer, c->self);
	log_debug("client: logged in user=%s", c->self);
	if (!c->opts.persist || (c->pass_asked && c->fe.reread))
		client_pass_forget(c);
	/* Logged in before the record, so that a prompt shows the name. */
	event_del(c->op_ev);
	client_op_wait(c, CLIENT_LOGIN_LIST, c->conf.reply_timeout);
	output_ok(c->out, c->op_cmd, c->self);
	client_send_identity(c);
	client_open_udp(c);
}

/* OK for the new login: the fresh list follows. */
static void
client_on_relogin_ok(struct client *c, const struct sc_msg *m)
{
	(void)m;
	log_debug("client: logged in again user=%s", c->self);
	client_enter_state(c, CLIENT_RELOGIN_LIST);
	output_ok(c->out, "auth", c->self);
	client_send_identity(c);
	client_open_udp(c);
}

/*
 * ERROR for the new login: a busy or failing server is tried again later;
 * a refusal (the password changed, the account is locked) ends the
 * restoring: at the terminal the person may log in again, a script ends.
 */
static void
client_on_relogin_error(struct client *c, const struct sc_msg *m)
{
	char	why[CLIENT_REASON_MAX];

	if (m->code == SC_ERR_BUSY || m->code == SC_ERR_INTERNAL) {
		log_info("client: new login refused for now: %s",
		    wire_err_str(m->code));
		conn_shut(c->conn);
		event_del(c->retry_ev);
		client_enter_state(c, CLIENT_RECONNECT);
		client_retry_arm(c);
		return;
	}
	event_del(c->retry_ev);
	client_pass_forget(c);
	client_error(c, "auth", "%s", wire_err_str(m->code));
	snprintf(why, sizeof(why), "cannot log in again as %s: %s", c->self,
	    wire_err_str(m->code));
	if (!c->opts.interactive) {
		client_end(c, 1, why);
		return;
	}
	output_diag(c->out, "%s", why);
	c->self[0] = '\0';
	client_enter_state(c, CLIENT_GREETED);
	if (c->held != CLIENT_HELD_NONE) {
		client_error(c, c->op_cmd, "not logged in");
		client_held_done(c, 1);
	}
}

/* OK that answers nothing we asked. */
static void
client_on_stray_ok(struct client *c, const struct sc_msg *m)
{
	(void)c;
	(void)m;
	log_warnx("client: unexpected OK from the server");
}

/* ERROR for our sign or auth. */
static void
client_on_login_error(struct client *c, const struct sc_msg *m)
{
	client_error(c, c->op_cmd, "%s", wire_err_str(m->code));
	client_op_done(c, 1);
}

/* ERROR for our list. */
static void
client_on_list_error(struct client *c, const struct sc_msg *m)
{
	client_error(c, "list", "%s", wire_err_str(m->code));
	client_op_done(c, 1);
}

/*
 * A send or verify for a user who is not online: asks the server for the
 * user's identity key (RCPT), to seal the message to or to verify.
 */
static void
client_mail_rcpt(struct client *c)
{
	struct wbuf	wb;

	wbuf_init(&wb);
	wire_enc_rcpt(&wb, c->op_peer);
	if (client_send_msg(c, &wb) != 0) {
		client_error(c, c->op_cmd, "cannot send the request");
		client_op_done(c, 1);
		return;
	}
	log_debug("client: rcpt peer=%s", c->op_peer);
	event_del(c->op_ev);
	client_op_wait(c, CLIENT_MAIL, c->conf.reply_timeout);
}

/*
 * ERROR for a pair key.  A user offline (or unknown) gets its message
 * stored, when the server can.  A peer just logged in may not have
 * registered its UDP port yet: then ask again shortly, while the deadline
 * allows.
 */
static void
client_on_pair_error(struct client *c, const struct sc_msg *m)
{
	struct timeval	tv = { 0, CLIENT_PAIR_RETRY_MS * 1000 };

	if (strcmp(m->name, c->op_peer) != 0) {
		client_on_error(c, m);
		return;
	}
	if (m->code == SC_ERR_OFFLINE) {
		/* Offline, or no such user: the server may store it. */
		client_mail_rcpt(c);
		return;
	}
	if (m->code == SC_ERR_NO_UDP && peer_port(c->peer) != 0 &&
	    util_now_ms() + CLIENT_PAIR_RETRY_MS < c->op_deadline) {
		log_debug("client: peer=%s has no udp yet; asking again",
		    c->op_peer);
		event_add(c->pair_ev, &tv);
		return;
	}
	client_error(c, c->op_cmd, "%s: %s", wire_err_str(m->code),
	    c->op_peer);
	client_op_done(c, 1);
}

/* ERROR for our UDP port. */
static void
client_on_udp_error(struct client *c, const struct sc_msg *m)
{
	output_diag(c->out, "the server refused the UDP port: %s",
	    wire_err_str(m->code));
}

/* ERROR for a RECHECK: the pair died meanwhile, or an older server. */
static void
client_on_recheck_error(struct client *c, const struct sc_msg *m)
{
	(void)c;
	log_debug("client: recheck refused code=%u (%s)", m->code,
	    wire_err_str(m->code));
}

/* ERROR that answers nothing waiting. */
static void
client_on_error(struct client *c, const struct sc_msg *m)
{
	(void)c;
	log_debug("client: server error req=%u code=%u (%s)", m->req,
	    m->code, wire_err_str(m->code));
}

/*
 * Takes one USERS frame: 1 when it completed a list, which the caller may
 * show (roster_received) before it becomes the set; 0 when more frames
 * follow or the list broke the session.
 */
static int
client_users_frame(struct client *c, const struct sc_msg *m)
{
	int	r;

	if ((r = roster_users(c->roster, m)) < 0) {
		client_abort(c, EXIT_PROTOCOL, "the user list from the "
		    "server is too long");
		return (0);
	}
	return (r);
}

/* A complete list becomes the set, shown when it was asked for. */
static void
client_users_settle(struct client *c, int show)
{
	const char *const	*names;
	size_t			 n;

	names = roster_received(c->roster, &n);
	if (show)
		output_users(c->out, names, n);
	else
		log_debug("client: unrequested user list");
	roster_commit(c->roster);
}

/* USERS while the login waits for its initial list. */
static void
client_on_login_users(struct client *c, const struct sc_msg *m)
{
	int	initial = (m->flags & SC_USERS_REPLY) == 0;

	if (!client_users_frame(c, m))
		return;
	client_users_settle(c, initial);
	if (initial)
		client_op_done(c, 0);
}

/*
 * USERS after a quit that cut a login short: the initial list is still
 * shown, as the login's "ok" promised.
 */
static void
client_on_quit_users(struct client *c, const struct sc_msg *m)
{
	int	initial = (m->flags & SC_USERS_REPLY) == 0;

	if (!client_users_frame(c, m))
		return;
	client_users_settle(c, initial);
	if (initial)
		client_enter_state(c, CLIENT_LOGOUT);
}

/*
 * USERS for the new login: the session is back; the command that waited
 * for it goes on.
 */
static void
client_on_relogin_users(struct client *c, const struct sc_msg *m)
{
	int		initial = (m->flags & SC_USERS_REPLY) == 0;
	enum cmd_status	st;
	int		held = c->held;

	if (!client_users_frame(c, m))
		return;
	client_users_settle(c, initial);
	if (!initial)
		return;
	event_del(c->retry_ev);
	c->attempt = 0;
	client_enter_state(c, CLIENT_ONLINE);
	log_info("client: session restored user=%s", c->self);
	if (held == CLIENT_HELD_NONE)
		return;
	c->held = CLIENT_HELD_NONE;
	event_del(c->op_ev);
	st = held == CLIENT_HELD_LIST ? client_list(c) : client_send_go(c);
	if (st != CMD_PENDING)
		client_tell_done(c, st == CMD_FAILED);
}

/* USERS while list waits for its answer. */
static void
client_on_list_users(struct client *c, const struct sc_msg *m)
{
	int	reply = (m->flags & SC_USERS_REPLY) != 0;

	if (!client_users_frame(c, m))
		return;
	client_users_settle(c, reply);
	if (reply)
		client_op_done(c, 0);
}

/* USERS nobody waits for: the set is updated, nothing is shown. */
static void
client_on_users(struct client *c, const struct sc_msg *m)
{
	if (client_users_frame(c, m))
		client_users_settle(c, 0);
}

/*
 * PRESENCE: users coming and going, in the server's order.  The records
 * tell one story per user, from the last list on: "online" and "offline"
 * alternate.  An "online" for a user shown online already is a login
 * again (its old session, and our pair key with it, are gone): "offline"
 * goes first.  An "offline" for a user not shown online says nothing.
 */
static void
client_on_presence(struct client *c, const struct sc_msg *m)
{
	char	name[SC_NAME_MAX + 1];
	size_t	off = 0;
	int	online, known;

	while (wire_presence_next(m, &off, &online, name)) {
		known = roster_has(c->roster, name);
		peer_forget(c->peer, name);
		if (!online) {
			if (!known) {
				log_debug("client: offline user=%s not online; "
				    "not shown", name);
				continue;
			}
			roster_remove(c->roster, name);
		} else if (known) {
			log_debug("client: online user=%s again", name);
			output_presence(c->out, 0, name);
		}
		if (online)
			roster_insert(c->roster, name);
		output_presence(c->out, online, name);
	}
}

/*
 * Sends the text of the waiting send: 0 when sent, 1 when it must wait for
 * room among the messages in flight, -1 (error printed) when it failed.
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
	output_sent(c->out, c->op_peer, (const char *)c->op_text, c->op_len);
	return (0);
}

/* Sends the waiting text now (pair key arrived, room freed), or waits. */
static void
client_send_later(struct client *c)
{
	int	r;

	if ((r = client_try_send(c)) == 1) {
		if (c->state != CLIENT_SLOT)
			client_enter_state(c, CLIENT_SLOT);
		return;
	}
	client_op_done(c, r != 0);
}

/*
 * PAIRKEY: a key for talking with a peer, ours or the peer's request,
 * with the peer's identity key and candidates: the handshake and the
 * checks for a path begin.  The identity key is pinned on first use; one
 * that is not the pinned key is shown ("identity USER changed") and the
 * pair sends and takes nothing until the user trusts it.
 */
static void
client_on_pairkey(struct client *c, const struct sc_msg *m)
{
	char	err[CLIENT_REASON_MAX];
	int	pin;

	/* The handshake first: a new pin's write (an fsync) can wait. */
	pin = c->id != NULL && strcmp(m->name, c->self) != 0;
	(void)peer_pair_set(c->peer, m->name, m->pair_id, m->key, m->idkey,
	    pin && identity_differs(c->id, m->name, m->idkey), m->flags,
	    m->cand, m->ncand);
	if (!pin)
		return;
	switch (identity_seen(c->id, m->name, m->idkey, err, sizeof(err))) {
	case IDENTITY_CHANGED:
		output_identity(c->out, m->name, "changed");
		break;
	case IDENTITY_ERR:
		output_diag(c->out, "the identity key of %s is not pinned: %s",
		    m->name, err);
		break;
	default:
		break;
	}
}

/* UDPREG: the server's UDP port; the socket registers with it. */
static void
client_on_udpreg(struct client *c, const struct sc_msg *m)
{
	c->udpreg = 1;
	if (peer_register(c->peer, m->port, m->flags, m->reg_id,
	    m->key) != 0)
		log_warnx("client: cannot register with the server's UDP "
		    "port %u from the UDP socket", m->port);
}

/* CANDIDATES: a held pair's peer, as it is now; checks again. */
static void
client_on_candidates(struct client *c, const struct sc_msg *m)
{
	(void)peer_candidates(c->peer, m->pair_id, m->flags, m->cand,
	    m->ncand);
}

/*
 * PAIRKEY while a send or a verify waits for one: the awaited peer's lets
 * the message go, or gives the key to verify.
 */
static void
client_on_send_pairkey(struct client *c, const struct sc_msg *m)
{
	client_on_pairkey(c, m);
	if (strcmp(m->name, c->op_peer) != 0)
		return;
	event_del(c->op_ev);
	if (strcmp(c->op_cmd, "verify") == 0) {
		client_op_done(c, client_show_number(c, c->op_peer) != 0);
		return;
	}
	client_send_later(c);
}

/* GOODBYE on the way out: for our LOGOUT, the planned end. */
static void
client_on_quit_goodbye(struct client *c, const struct sc_msg *m)
{
	if (m->code != SC_BYE_LOGOUT) {
		client_on_goodbye(c, m);
		return;
	}
	client_finish(c, c->failed);
}

/* GOODBYE: the server ends the session; the close that follows is moot. */
static void
client_on_goodbye(struct client *c, const struct sc_msg *m)
{
	char	why[CLIENT_REASON_MAX];

	snprintf(why, sizeof(why), "server closed the session: %s",
	    wire_bye_str(m->code));
	conn_shut(c->conn);
	client_session_ended(c, EXIT_UNAVAIL, why, m->code);
}

/*
 * RCPTKEY: the identity key of the user offline that a send or a verify
 * waits for.  It is pinned on first use like PAIRKEY's; a key that is not
 * the pinned one is shown as a change and nothing is sent.  A send seals
 * its text to it (docs/protocol.md, section 12) and hands it over in a
 * STORE; QUEUED or ERROR follows.
 */
static void
client_on_rcptkey(struct client *c, const struct sc_msg *m)
{
	uint8_t		 plain[SC_MAIL_PLAIN_HDR + SC_TEXT_MAX];
	uint8_t		 box[SC_MAIL_BOX_MAX];
	char		 err[CLIENT_REASON_MAX];
	struct wbuf	 wb;
	size_t		 plen;
	int		 self;

	if (strcmp(m->name, c->op_peer) != 0 || c->id == NULL)
		return;
	self = strcmp(m->name, c->self) == 0;
	if (!self) {
		switch (identity_seen(c->id, m->name, m->idkey, err,
		    sizeof(err))) {
		case IDENTITY_CHANGED:
			output_identity(c->out, m->name, "changed");
			client_error(c, c->op_cmd, "the identity key of %s "
			    "changed; compare your safety numbers (verify %s), "
			    "then trust %s", m->name, m->name, m->name);
			client_op_done(c, 1);
			return;
		case IDENTITY_ERR:
			output_diag(c->out, "the identity key of %s is not "
			    "pinned: %s", m->name, err);
			break;
		default:
			break;
		}
	}
	if (strcmp(c->op_cmd, "verify") == 0) {
		client_op_done(c, client_show_number(c, c->op_peer) != 0);
		return;
	}
	plain[0] = SC_MAIL_VERSION;
	memcpy(plain + 1, c->op_mailid, SC_MAIL_ID_BYTES);
	util_put_be64(plain + 1 + SC_MAIL_ID_BYTES, util_now_unix_ms());
	if (c->op_len > 0)
		memcpy(plain + SC_MAIL_PLAIN_HDR, c->op_text, c->op_len);
	plen = SC_MAIL_PLAIN_HDR + c->op_len;
	if (sc_box(box, plain, plen, m->idkey,
	    identity_keypair(c->id)->sk) != 0) {
		sc_wipe(plain, sizeof(plain));
		client_error(c, c->op_cmd, "cannot seal the message");
		client_op_done(c, 1);
		return;
	}
	sc_wipe(plain, sizeof(plain));
	wbuf_init(&wb);
	wire_enc_store(&wb, c->op_peer, c->op_mailid, box, plen +
	    SC_BOX_BYTES);
	if (client_send_msg(c, &wb) != 0) {
		client_error(c, c->op_cmd, "cannot send the request");
		client_op_done(c, 1);
		return;
	}
	log_debug("client: store for peer=%s bytes=%zu", c->op_peer,
	    plen + SC_BOX_BYTES);
}

/* QUEUED: the server has stored the message; the send is done. */
static void
client_on_queued(struct client *c, const struct sc_msg *m)
{
	if (strcmp(m->name, c->op_peer) != 0 ||
	    memcmp(m->mailid, c->op_mailid, SC_MAIL_ID_BYTES) != 0)
		return;
	output_queued(c->out, m->name);
	client_op_done(c, 0);
}

/* ERROR for a RCPT or a STORE: the send (or verify) has failed. */
static void
client_on_mail_error(struct client *c, const struct sc_msg *m)
{
	if (strcmp(m->name, c->op_peer) != 0) {
		client_on_error(c, m);
		return;
	}
	client_error(c, c->op_cmd, "%s: %s", wire_err_str(m->code),
	    c->op_peer);
	client_op_done(c, 1);
}

/*
 * Answers a stored message: STOREACK (shown, or never to be: the server
 * deletes it) or STOREKEEP (held back: it comes again at the next login).
 */
static void
client_storeack(struct client *c, const uint8_t id[SC_MAIL_ID_BYTES],
    int keep)
{
	struct wbuf	wb;

	wbuf_init(&wb);
	if (keep)
		wire_enc_storekeep(&wb, id);
	else
		wire_enc_storeack(&wb, id);
	if (client_send_msg(c, &wb) != 0)
		log_debug("client: cannot answer a stored message");
}

/*
 * STORED: a message sealed to us while we were offline.  The sender's
 * identity key is checked against its pin (a change holds the message
 * back until trust: STOREKEEP, so that it comes again at the next login
 * and the ones after it come now), the box opened with it, and the id
 * inside compared with the one outside.  A message shown before (the
 * session ended before our acknowledgement) is acknowledged again and
 * not shown; a new one is shown, remembered, then acknowledged.
 */
static void
client_on_stored(struct client *c, const struct sc_msg *m)
{
	const struct sc_keypair	*kp;
	uint8_t			 plain[SC_MAIL_PLAIN_HDR + SC_TEXT_MAX];
	char			 err[CLIENT_REASON_MAX];
	size_t			 plen;
	uint64_t		 sent;

	if (c->id == NULL || c->shown == NULL) {
		client_storeack(c, m->mailid, 1);
		return;
	}
	kp = identity_keypair(c->id);
	if (strcmp(m->name, c->self) != 0) {
		switch (identity_seen(c->id, m->name, m->idkey, err,
		    sizeof(err))) {
		case IDENTITY_CHANGED:
			output_identity(c->out, m->name, "changed");
			output_diag(c->out, "a message from %s is held back "
			    "until you trust %s", m->name, m->name);
			client_storeack(c, m->mailid, 1);
			return;
		case IDENTITY_ERR:
			output_diag(c->out, "the identity key of %s is not "
			    "pinned: %s", m->name, err);
			break;
		default:
			break;
		}
	} else if (!sc_memeq(m->idkey, kp->pk, SC_KEY_BYTES))
		log_debug("client: a stored message from another device");
	plen = m->box_len - SC_BOX_BYTES;
	if (sc_box_open(plain, m->box, m->box_len, m->idkey, kp->sk) != 0 ||
	    plain[0] != SC_MAIL_VERSION || !sc_memeq(plain + 1, m->mailid,
	    SC_MAIL_ID_BYTES)) {
		sc_wipe(plain, sizeof(plain));
		output_diag(c->out, "a stored message from %s does not open "
		    "with their key: dropped", m->name);
		client_storeack(c, m->mailid, 0);
		return;
	}
	if (shown_has(c->shown, m->mailid)) {
		log_debug("client: stored message from %s shown before",
		    m->name);
		sc_wipe(plain, sizeof(plain));
		client_storeack(c, m->mailid, 0);
		return;
	}
	if (peer_ignored(c->peer, m->name)) {
		/* Held back unseen, as its datagrams would be dropped. */
		sc_wipe(plain, sizeof(plain));
		client_storeack(c, m->mailid, 1);
		return;
	}
	sent = util_get_be64(plain + 1 + SC_MAIL_ID_BYTES);
	if (c->state != CLIENT_DONE)
		output_stored(c->out, m->name, (const char *)plain +
		    SC_MAIL_PLAIN_HDR, plen - SC_MAIL_PLAIN_HDR, sent,
		    m->stime);
	sc_wipe(plain, sizeof(plain));
	if (shown_add(c->shown, m->mailid, err, sizeof(err)) != 0)
		output_diag(c->out, "cannot remember a message as shown: %s",
		    err);
	client_storeack(c, m->mailid, 0);
}

/* STORENOTE: a message we stored was delivered, or expired unread. */
static void
client_on_storenote(struct client *c, const struct sc_msg *m)
{
	if (c->state == CLIENT_DONE)
		return;
	if (m->code == SC_NOTE_DELIVERED)
		output_delivered(c->out, m->name);
	else
		client_error(c, "send", "message to %s expired unread",
		    m->name);
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
	if (c->state == CLIENT_SLOT && peer_can_send(c->peer))
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

/*
 * A pair lost its path: RECHECK, to a server that registers UDP endpoints
 * (it sent UDPREG); an older one would end the session for it.
 */
static void
client_peer_recheck(void *arg, uint64_t pair_id)
{
	struct client	*c = arg;
	struct wbuf	 wb;

	if (!c->udpreg || !client_logged_in(c) || !conn_is_open(c->conn))
		return;
	wbuf_init(&wb);
	wire_enc_recheck(&wb, pair_id);
	if (client_send_msg(c, &wb) != 0)
		log_debug("client: cannot send RECHECK");
	else
		log_debug("client: recheck pair_id=%016" PRIx64, pair_id);
}

/*
 * The identity of name on this device and server, made at its first sign
 * or auth here, with the peers it pinned; -1 (error printed) when it
 * cannot be read or made, and then nothing is sent.
 */
static int
client_open_identity(struct client *c, const char *cmd, const char *name)
{
	char	err[CLIENT_REASON_MAX];

	if (c->id != NULL && strcmp(identity_user(c->id), name) == 0)
		return (0);
	peer_set_identity(c->peer, NULL);
	identity_free(c->id);
	shown_free(c->shown);
	c->shown = NULL;
	if ((c->id = identity_open(NULL, c->server_pk, name, err,
	    sizeof(err))) == NULL) {
		client_error(c, cmd, "identity key: %s", err);
		return (-1);
	}
	if ((c->shown = shown_open(identity_dir(c->id), err,
	    sizeof(err))) == NULL) {
		client_error(c, cmd, "stored messages: %s", err);
		identity_free(c->id);
		c->id = NULL;
		return (-1);
	}
	peer_set_identity(c->peer, identity_keypair(c->id));
	return (0);
}

/*
 * Sends the login held (op_cmd, op_type, op_peer, the password), or
 * connects first when the connection was closed meanwhile.
 */
static enum cmd_status
client_login_go(struct client *c)
{
	if (!conn_is_open(c->conn)) {
		log_debug("client: connecting again for %s", c->op_cmd);
		c->want_login = 1;
		client_enter_state(c, CLIENT_CONNECTING);
		client_retry_now(c);
		return (CMD_PENDING);
	}
	if (client_send_cred(c, c->op_type, c->op_peer) != 0) {
		client_error(c, c->op_cmd, "cannot send the request");
		client_op_clear(c);
		client_enter_state(c, conn_is_open(c->conn) ? CLIENT_GREETED :
		    CLIENT_IDLE);
		client_pass_forget(c);
		return (CMD_FAILED);
	}
	log_debug("client: %s user=%s", c->op_cmd, c->op_peer);
	client_op_wait(c, CLIENT_LOGIN, c->conf.reply_timeout);
	return (CMD_PENDING);
}

/* Holds what a login needs: the command, its request and the name. */
static int
client_login_hold(struct client *c, const char *cmd, uint8_t type,
    const char *name)
{
	if (client_logged_in(c)) {
		client_error(c, cmd, "already logged in as %s", c->self);
		return (-1);
	}
	if (!client_in(c, S(CLIENT_GREETED) | S(CLIENT_IDLE))) {
		client_error(c, cmd, "not connected");
		return (-1);
	}
	if (client_open_identity(c, cmd, name) != 0)
		return (-1);
	strlcpy(c->op_cmd, cmd, sizeof(c->op_cmd));
	strlcpy(c->op_peer, name, sizeof(c->op_peer));
	c->op_type = type;
	c->login_retried = 0;
	return (0);
}

/* Logs in or signs up. */
enum cmd_status
client_login(struct client *c, const char *cmd, uint8_t type,
    const char *name, const uint8_t *pass, size_t pass_len, int from_line)
{
	if (client_login_hold(c, cmd, type, name) != 0)
		return (CMD_FAILED);
	if (pass_len > SC_PASS_MAX) {
		client_error(c, cmd, "%s", wire_err_str(SC_ERR_BAD_PASS));
		return (CMD_FAILED);
	}
	memcpy(c->pass, pass, pass_len);
	c->pass_len = pass_len;
	c->pass_asked = !from_line;
	return (client_login_go(c));
}

/* A login whose password the front end reads. */
enum cmd_status
client_login_asked(struct client *c, const char *cmd, uint8_t type,
    const char *name)
{
	if (client_login_hold(c, cmd, type, name) != 0)
		return (CMD_FAILED);
	client_enter_state(c, CLIENT_PASSWORD);
	return (CMD_PENDING);
}

/* The password the front end read: the login goes on. */
void
client_password_done(struct client *c, const char *pass, size_t len,
    const char *err)
{
	enum cmd_status	st;

	if (c->state != CLIENT_PASSWORD)
		return;
	if (err != NULL || len < SC_PASS_MIN || len > SC_PASS_MAX) {
		client_error(c, c->op_cmd, "%s", err != NULL ? err :
		    wire_err_str(SC_ERR_BAD_PASS));
		client_op_done(c, 1);
		return;
	}
	memcpy(c->pass, pass, len);
	c->pass_len = len;
	c->pass_asked = 1;
	if ((st = client_login_go(c)) != CMD_PENDING)
		client_tell_done(c, st == CMD_FAILED);
}

/*
 * Holds a command until the session is back (reply_timeout at most): 0,
 * or -1 when the client is not restoring a session.
 */
static int
client_hold(struct client *c, const char *cmd, int kind)
{
	struct timeval	tv;

	if (!client_in(c, S_OUTAGE))
		return (-1);
	strlcpy(c->op_cmd, cmd, sizeof(c->op_cmd));
	c->held = kind;
	tv.tv_sec = c->conf.reply_timeout;
	tv.tv_usec = 0;
	event_add(c->op_ev, &tv);
	log_debug("client: %s waits for the session", cmd);
	return (0);
}

/* Asks for the users online. */
enum cmd_status
client_list(struct client *c)
{
	struct wbuf	wb;

	if (client_hold(c, "list", CLIENT_HELD_LIST) == 0)
		return (CMD_PENDING);
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
	strlcpy(c->op_cmd, "list", sizeof(c->op_cmd));
	client_op_wait(c, CLIENT_LIST, c->conf.reply_timeout);
	return (CMD_PENDING);
}

/*
 * Sends the message held in op_peer and op_text, first asking for a pair
 * key when none is held.
 */
static enum cmd_status
client_send_go(struct client *c)
{
	struct wbuf	wb;
	int		r;

	strlcpy(c->op_cmd, "send", sizeof(c->op_cmd));
	if (peer_has_pair(c->peer, c->op_peer)) {
		if ((r = client_try_send(c)) == 1) {
			client_enter_state(c, CLIENT_SLOT);
			return (CMD_PENDING);
		}
		client_op_clear(c);
		return (r == 0 ? CMD_OK : CMD_FAILED);
	}
	wbuf_init(&wb);
	wire_enc_pair(&wb, c->op_peer);
	if (client_send_msg(c, &wb) != 0) {
		client_op_clear(c);
		client_error(c, "send", "cannot send the request");
		return (CMD_FAILED);
	}
	log_debug("client: pair request peer=%s", c->op_peer);
	client_op_wait(c, CLIENT_PAIR, c->conf.pair_timeout);
	return (CMD_PENDING);
}

/*
 * Sends a message, first asking for a pair key when none is held; during
 * an outage it waits for the session.
 */
enum cmd_status
client_send(struct client *c, const char *name, const char *text,
    size_t len)
{
	if (!client_in(c, S(CLIENT_ONLINE) | S_OUTAGE)) {
		client_error(c, "send", "not logged in");
		return (CMD_FAILED);
	}
	if (len > SC_TEXT_MAX) {
		client_error(c, "send", "message too long (max %d bytes)",
		    SC_TEXT_MAX);
		return (CMD_FAILED);
	}
	strlcpy(c->op_peer, name, sizeof(c->op_peer));
	if (len > 0)
		memcpy(c->op_text, text, len);
	c->op_len = len;
	/* One id for the message, whatever the tries it takes. */
	sc_random(c->op_mailid, sizeof(c->op_mailid));
	if (client_hold(c, "send", CLIENT_HELD_SEND) == 0)
		return (CMD_PENDING);
	return (client_send_go(c));
}

/* Shows each pair's path: direct, relay or checking. */
enum cmd_status
client_peers(struct client *c)
{
	struct peer_path	*paths;
	struct output_peer	*rows;
	size_t			 n, i;

	if (!client_logged_in(c)) {
		client_error(c, "peers", "not logged in");
		return (CMD_FAILED);
	}
	paths = calloc(PEER_PAIRS_MAX, sizeof(*paths));
	rows = calloc(PEER_PAIRS_MAX, sizeof(*rows));
	if (paths == NULL || rows == NULL) {
		free(paths);
		free(rows);
		client_error(c, "peers", "out of memory");
		return (CMD_FAILED);
	}
	n = peer_paths(c->peer, paths, PEER_PAIRS_MAX);
	for (i = 0; i < n; i++) {
		rows[i].user = paths[i].name;
		if (paths[i].blocked)
			rows[i].path = "blocked";
		else if (!paths[i].keyed)
			rows[i].path = path_state_name(PATH_CHECKING);
		else
			rows[i].path = path_state_name(paths[i].state);
		rows[i].address = paths[i].addr;
		rows[i].rtt_ms = paths[i].rtt_ms;
	}
	output_peers(c->out, rows, n);
	free(paths);
	free(rows);
	return (CMD_OK);
}

/* The front end's conversation with a user, or its end. */
enum cmd_status
client_query(struct client *c, const char *name)
{
	char	err[CLIENT_REASON_MAX];

	if (c->fe.query == NULL) {
		client_error(c, "query", "only at the terminal (the REPL)");
		return (CMD_FAILED);
	}
	if (c->fe.query(c->fe.arg, name, err, sizeof(err)) != 0) {
		client_error(c, "query", "%s", err);
		return (CMD_FAILED);
	}
	return (CMD_OK);
}

/* Ignores a user's messages, or no longer. */
enum cmd_status
client_ignore(struct client *c, const char *name, int on)
{
	if (peer_ignore(c->peer, name, on) != 0) {
		client_error(c, "ignore", "too many users ignored (max %d)",
		    PEER_IGNORE_MAX);
		return (CMD_FAILED);
	}
	log_debug("client: %s user=%s", on ? "ignore" : "unignore", name);
	if (on)
		output_info(c->out, "ignoring %s: their messages are dropped "
		    "unseen until unignore %s", name, name);
	else
		output_info(c->out, "no longer ignoring %s", name);
	return (CMD_OK);
}

/*
 * Prints the safety number of us and name: with the key the server handed
 * out for name (a change not trusted yet included), else the pinned one.
 * -1 (error printed) when no key of name is known.
 */
static int
client_show_number(struct client *c, const char *name)
{
	const struct sc_keypair	*kp = identity_keypair(c->id);
	uint8_t			 key[SC_KEY_BYTES];
	char			 num[IDENTITY_NUMBER_LEN];

	if (strcmp(name, c->self) == 0)
		memcpy(key, kp->pk, SC_KEY_BYTES);
	else if (identity_key(c->id, name, key) != 0) {
		client_error(c, "verify", "no key of %s known", name);
		return (-1);
	}
	if (identity_number(num, c->self, kp->pk, name, key) != 0) {
		client_error(c, "verify", "cannot compute the safety number");
		return (-1);
	}
	output_verify(c->out, name, num);
	return (0);
}

/*
 * The safety number with name: at once when its key is known, else after
 * a PAIR, whose PAIRKEY carries it (and pins it, on first use).
 */
enum cmd_status
client_verify(struct client *c, const char *name)
{
	struct wbuf	wb;
	uint8_t		key[SC_KEY_BYTES];

	if (c->state != CLIENT_ONLINE || c->id == NULL) {
		client_error(c, "verify", "not logged in");
		return (CMD_FAILED);
	}
	if (strcmp(name, c->self) == 0 || identity_key(c->id, name,
	    key) == 0)
		return (client_show_number(c, name) == 0 ? CMD_OK :
		    CMD_FAILED);
	strlcpy(c->op_cmd, "verify", sizeof(c->op_cmd));
	strlcpy(c->op_peer, name, sizeof(c->op_peer));
	wbuf_init(&wb);
	wire_enc_pair(&wb, name);
	if (client_send_msg(c, &wb) != 0) {
		client_error(c, "verify", "cannot send the request");
		return (CMD_FAILED);
	}
	log_debug("client: pair request for verify peer=%s", name);
	client_op_wait(c, CLIENT_PAIR, c->conf.pair_timeout);
	return (CMD_PENDING);
}

/*
 * Trusts the key the server handed out for name: it replaces the pin, and
 * a conversation held back since the change begins.
 */
enum cmd_status
client_trust(struct client *c, const char *name)
{
	char	err[CLIENT_REASON_MAX];
	uint8_t	key[SC_KEY_BYTES];

	if (!client_logged_in(c) || c->id == NULL) {
		client_error(c, "trust", "not logged in");
		return (CMD_FAILED);
	}
	if (strcmp(name, c->self) == 0) {
		client_error(c, "trust", "your own key needs no trust");
		return (CMD_FAILED);
	}
	if (identity_trust(c->id, name, err, sizeof(err)) < 0) {
		client_error(c, "trust", "%s", err);
		return (CMD_FAILED);
	}
	/* Only the key trusted lets a held conversation go on. */
	if (identity_key(c->id, name, key) != 0) {
		client_error(c, "trust", "no key of %s pinned", name);
		return (CMD_FAILED);
	}
	switch (peer_unblock(c->peer, name, key)) {
	case 1:
		log_debug("client: conversation with peer=%s resumes", name);
		break;
	case -1:
		output_diag(c->out, "the conversation with %s waited on "
		    "another key than the one trusted now: it starts again "
		    "with your next message", name);
		break;
	default:
		break;
	}
	sc_wipe(key, sizeof(key));
	output_identity(c->out, name, "trusted");
	return (CMD_OK);
}

/*
 * Sends LOGOUT and waits in state st; the server's goodbye or its close
 * ends the run.
 */
static void
client_logout(struct client *c, enum client_state st)
{
	if (!conn_is_open(c->conn)) {
		client_finish(c, c->failed);
		return;
	}
	client_enter_state(c, st);
	log_debug("client: logging out");
	conn_logout(c->conn);
}

/* Logs out once nothing waits for an acknowledgement any more. */
static void
client_drain_check(struct client *c)
{
	if (c->state != CLIENT_DRAIN || peer_outstanding(c->peer) > 0)
		return;
	if (c->drain_ev != NULL)
		event_del(c->drain_ev);
	client_logout(c, CLIENT_LOGOUT);
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

/*
 * Quits: once logged in, waits (at most drain_timeout) for the messages in
 * flight, then logs out and ends the loop.  A command still waiting is
 * dropped without a word (signals report it first).
 */
enum cmd_status
client_quit(struct client *c)
{
	struct timeval	tv;

	if (c->state == CLIENT_DONE || client_in(c, S_QUITTING))
		return (CMD_PENDING);
	if (c->state == CLIENT_CONNECTING && !c->ready_told) {
		client_finish(c, 1);
		return (CMD_PENDING);
	}
	client_op_clear(c);
	c->held = CLIENT_HELD_NONE;
	c->want_login = 0;
	client_pass_forget(c);
	/* No session to leave, or one being restored: just go. */
	if (!conn_is_open(c->conn) || client_in(c, S_OUTAGE) ||
	    c->state == CLIENT_CONNECTING) {
		client_finish(c, c->failed);
		return (CMD_PENDING);
	}
	if (!client_logged_in(c)) {
		client_logout(c, CLIENT_LEAVING);
		return (CMD_PENDING);
	}
	/* Nothing can be in flight before the login is complete. */
	if (c->state == CLIENT_LOGIN_LIST) {
		client_logout(c, CLIENT_LOGOUT_LIST);
		return (CMD_PENDING);
	}
	client_enter_state(c, CLIENT_DRAIN);
	if (peer_outstanding(c->peer) > 0) {
		log_debug("client: waiting for %zu acknowledgements",
		    peer_outstanding(c->peer));
		if (c->drain_ev == NULL)
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
