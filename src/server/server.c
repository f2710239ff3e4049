/* SPDX-License-Identifier: ISC */
/*
 * The daemon's event loop: the listening socket and its accept policy,
 * signals (stop, reload, status), the systemd status line, and the wiring
 * of the modules: the set of sessions (session.c) gets the hash pool,
 * presence, pair keys, the UDP side, throttle and the figures (metrics.c)
 * through its environment, and hash results back.  The UDP side (udp.c)
 * listens on the address of the TCP listener, on udp_port, and counts its
 * registrations per address in the same throttle; the figures are served
 * on metrics_address; the control socket (control.c) gets the sessions,
 * the figures, the hash pool and the reload, and the results of the
 * operator's jobs.
 *
 * The accept policy, in order: the session cap, the cap per address (IPv6:
 * prefix), the cap on connections not logged in per address, then the
 * total of those: when it is full, the connection without its HELLO that
 * the throttle picks (the oldest of the address holding the most) is
 * closed to make room, and only when every one has sent its HELLO is the
 * newcomer refused.  Each accepted socket gets a modest send buffer, so
 * that the kernel cannot hold much more for a slow reader than output_cap
 * lets the session hold.
 *
 * Priorities: the base gets two.  Every event runs at priority 0 (the hash
 * pool and the systemd watchdog set it themselves) except the presence
 * flush, at priority 1, which so runs after the I/O callbacks of a turn.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sealchat/conf.h"
#include "sealchat/handshake.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "control.h"
#include "hashmsg.h"
#include "hashpool.h"
#include "mailbox.h"
#include "metrics.h"
#include "throttle.h"
#include "notify.h"
#include "pairkey.h"
#include "presence.h"
#include "server.h"
#include "session.h"
#include "udp.h"

#define SERVER_ACCEPTS_PER_WAKE	64
#define SERVER_BACKLOG		1024
#define SERVER_STOP_SEC		3	/* bound on the shutdown flush */
#define SERVER_REFUSED_LOG_MS	10000	/* one refusal line per */
#define SERVER_FD_RESERVE	32	/* descriptors not for sessions */
#define SERVER_TRIM_MIN		(4 << 20)	/* free heap worth a trim */
#define SERVER_UDP_LOG_SEC	60	/* UDP totals logged at most per */
#define SERVER_SNDBUF_MIN	4096	/* bounds on a socket's send buffer */
#define SERVER_SNDBUF_MAX	(1 << 20)

/* Makes an event at priority 0. */
static struct event *
server_event(struct server *srv, int fd, short what, event_callback_fn cb,
    void *arg)
{
	struct event	*ev;

	if ((ev = event_new(srv->base, fd, what, cb, arg)) == NULL)
		return (NULL);
	if (event_priority_set(ev, 0) != 0) {
		event_free(ev);
		return (NULL);
	}
	return (ev);
}

/*
 * Hands a job to the hash pool, a client's SIGN or AUTH or an operator's
 * (none once stopping: busy).
 */
static int
server_hash(void *arg, uint64_t sid, uint8_t op, const char *name,
    const uint8_t *pass, size_t pass_len, uint64_t delay_ms, unsigned rank)
{
	struct server	*srv = arg;

	return (hashpool_submit_at(srv->hashpool, sid, op, name, pass,
	    pass_len, delay_ms, rank));
}

/* The session of a hash job is gone: its job need not run. */
static void
server_withdraw(void *arg, int handle, uint64_t sid)
{
	struct server	*srv = arg;

	hashpool_withdraw(srv->hashpool, handle, sid);
}

/* The throttle's parameters from the configuration. */
static void
server_throttle_conf(struct server *srv)
{
	struct throttle_conf	tc;

	memset(&tc, 0, sizeof(tc));
	tc.fail_delay_ms = (uint64_t)srv->conf.fail_delay_ms;
	tc.fail_free = (unsigned)srv->conf.fail_free;
	tc.v6_prefix = (unsigned)srv->conf.ipv6_prefix;
	tc.logins_per_addr = (unsigned)srv->conf.max_logins_per_addr;
	tc.signups_per_hour = (unsigned)srv->conf.signups_per_hour;
	throttle_configure(srv->throttle, &tc);
}

/*
 * A finished hash job goes to its session, found by id; the result of an
 * IDENTITY store is only logged when it failed.
 */
static void
server_hash_done(const struct hashpool_result *res, void *arg)
{
	struct server	*srv = arg;

	if (res->usec > 0 && hashmsg_op_hashes(res->op))
		metrics_observe(&srv->metrics.hash_time, res->usec);
	if (res->op == SC_MSG_IDENTITY) {
		/* The session went on with its key; only a failure is news. */
		if (res->status != 0)
			log_warnx("identity sid=%llu user=%s not stored: %s",
			    (unsigned long long)res->session_id, res->name,
			    wire_err_str((uint8_t)res->status));
		return;
	}
	if (res->op == HASHMSG_OP_DEL && res->status == 0)
		mailbox_recount(srv->mailbox);	/* its messages went too */
	if (res->op != SC_MSG_SIGN && res->op != SC_MSG_AUTH) {
		if (srv->control != NULL)
			control_hash_done(srv->control, res);
		return;
	}
	session_set_hash_done(srv->sessions, res->session_id, res->op,
	    res->status, res->name);
}

/* The gauges of the figures, just before they are read. */
static void
server_sample(struct metrics *m, void *arg)
{
	struct server		*srv = arg;
	const struct udp_stats	*us;
	int			 f;

	if (srv->sessions != NULL)
		session_set_states(srv->sessions, m->sessions);
	m->users_online = presence_online(srv->presence);
	m->hash_jobs = hashpool_pending(srv->hashpool);
	mailbox_totals(srv->mailbox, &m->queued_messages, &m->queued_bytes);
	if (srv->udp == NULL)
		return;
	us = udp_stats(srv->udp);
	m->udp_registrations = us->fate[UDP_REGISTERED];
	m->relay_datagrams = us->fate[UDP_RELAYED];
	m->relay_bytes = us->relayed_bytes;
	m->relay_refused = 0;
	for (f = UDP_RELAY_OFF; f <= UDP_RELAY_LIMITED; f++)
		m->relay_refused += us->fate[f];
}

/* The session timeouts follow the configuration (at start and reload). */
static void
server_timeouts(struct server *srv)
{
	session_set_timeouts(srv->sessions);
}

/*
 * Refuses a connection at accept: a plaintext REJECT 3, the little input
 * already there read and dropped (so the close is not a reset that could
 * destroy the REJECT), and close.
 */
static void
server_refuse(struct server *srv, int fd, const char *why)
{
	uint8_t		reject[HANDSHAKE_REJECT_FRAME];
	uint8_t		sink[512];
	uint64_t	now;

	handshake_reject(reject, SC_REJECT_BUSY);
	(void)send(fd, reject, sizeof(reject), MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
	close(fd);
	srv->refused++;
	metrics_refused(&srv->metrics, why);
	now = util_now_ms();
	if (srv->refused_logged_ms == 0 ||
	    now - srv->refused_logged_ms >= SERVER_REFUSED_LOG_MS) {
		srv->refused_logged_ms = now;
		log_warnx("refusing connections reason=%s sessions=%zu "
		    "unauth=%zu refused_total=%llu", why,
		    session_set_count(srv->sessions),
		    session_set_unauth(srv->sessions),
		    (unsigned long long)srv->refused);
	} else
		log_debug("refused connection reason=%s", why);
}

/* Listening again after descriptors ran out. */
static void
server_listen_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	if (!srv->stopping && srv->listen_ev != NULL)
		event_add(srv->listen_ev, NULL);
}

/*
 * The socket options of an accepted connection: no Nagle delay, and send
 * and receive buffers of fixed, modest sizes (the kernel doubles them for
 * its own overhead): a quarter of output_cap to send, so that what the
 * kernel holds for a slow reader stays within the cap that counts it, and
 * one frame to receive, as the session reads at most one frame ahead.
 */
static void
server_sockopts(struct server *srv, int fd)
{
	long long	snd = srv->conf.output_cap / 4;
	int		one = 1, v;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_debug("accept: TCP_NODELAY: %s", strerror(errno));
	if (snd < SERVER_SNDBUF_MIN)
		snd = SERVER_SNDBUF_MIN;
	if (snd > SERVER_SNDBUF_MAX)
		snd = SERVER_SNDBUF_MAX;
	v = (int)snd;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) != 0)
		log_debug("accept: SO_SNDBUF: %s", strerror(errno));
	v = (int)srv->conf.max_frame;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) != 0)
		log_debug("accept: SO_RCVBUF: %s", strerror(errno));
}

/* Applies the accept policy to one new connection. */
static void
server_take(struct server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct throttle_addr	la;

	/* accept4() made fd non-blocking and close-on-exec. */
	server_sockopts(srv, fd);
	if (session_set_count(srv->sessions) >=
	    (size_t)srv->conf.max_sessions) {
		server_refuse(srv, fd, "max_sessions");
		return;
	}
	throttle_addr_from(&la, sa);
	if (throttle_session_add(srv->throttle, &la,
	    (size_t)srv->conf.max_sessions_per_addr) != 0) {
		server_refuse(srv, fd, "max_sessions_per_addr");
		return;
	}
	if (throttle_unauth_add(srv->throttle, &la,
	    (size_t)srv->conf.max_unauth_per_addr) != 0) {
		throttle_session_del(srv->throttle, &la);
		server_refuse(srv, fd, "max_unauth_per_addr");
		return;
	}
	/* A full table makes room, fairly, unless all sent their HELLO. */
	while (session_set_unauth(srv->sessions) >=
	    (size_t)srv->conf.max_unauth) {
		if (session_set_evict_idle(srv->sessions) != 0) {
			throttle_unauth_del(srv->throttle, &la);
			throttle_session_del(srv->throttle, &la);
			server_refuse(srv, fd, "max_unauth");
			return;
		}
		srv->evicted++;
	}
	(void)session_set_accept(srv->sessions, fd, sa, salen);
}

/* New connections: a bounded number per wake-up. */
static void
server_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct server		*srv = arg;
	struct sockaddr_storage	 ss;
	struct timeval		 tv = { 1, 0 };
	socklen_t		 salen;
	int			 i, fd;

	(void)what;
	for (i = 0; i < SERVER_ACCEPTS_PER_WAKE && !srv->stopping; i++) {
		salen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &salen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_warn("accept");
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Pause rather than spin on a full table. */
				event_del(srv->listen_ev);
				evtimer_add(srv->listen_retry_ev, &tv);
			}
			return;
		}
		server_take(srv, fd, (struct sockaddr *)&ss, salen);
	}
}

/*
 * The UDP socket on the address of the TCP listener (sa), on udp_port.
 * Returns 0, or the exit code.
 */
static int
server_listen_udp(struct server *srv, const struct sockaddr *sa,
    socklen_t len)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	uint16_t		 port = (uint16_t)srv->conf.udp_port;

	if (len > sizeof(ss))
		return (EXIT_SOFTWARE);
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, len);
	if (ss.ss_family == AF_INET)
		sin->sin_port = htons(port);
	else
		sin6->sin6_port = htons(port);
	if (udp_listen(srv->udp, (struct sockaddr *)&ss, len) != 0) {
		log_warn("listen on %s udp port %u", srv->conf.server_address,
		    port);
		return (EXIT_UNAVAIL);
	}
	return (0);
}

/*
 * Opens the listening socket on server_address (an IPv4 or IPv6 literal,
 * or a name) and server_port, and the UDP socket beside it.  Returns 0,
 * or the exit code.
 */
static int
server_listen(struct server *srv)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 port[16], addr[128];
	int		 fd = -1, one = 1, rc, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%lld", srv->conf.server_port);
	rc = getaddrinfo(srv->conf.server_address, port, &hints, &res);
	if (rc != 0) {
		log_errorx("server_address %s: %s", srv->conf.server_address,
		    gai_strerror(rc));
		return (EXIT_CONFIG);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SERVER_BACKLOG) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		log_errorx("listen on %s port %lld: %s",
		    srv->conf.server_address, srv->conf.server_port,
		    strerror(saved));
		freeaddrinfo(res);
		return (EXIT_UNAVAIL);
	}
	srv->lfd = fd;
	util_addr_str(addr, sizeof(addr), ai->ai_addr);
	rc = server_listen_udp(srv, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	if (rc != 0)
		return (rc);
	srv->listen_ev = server_event(srv, fd, EV_READ | EV_PERSIST,
	    server_accept_cb, srv);
	srv->listen_retry_ev = server_event(srv, -1, 0,
	    server_listen_retry_cb, srv);
	if (srv->listen_ev == NULL || srv->listen_retry_ev == NULL ||
	    event_add(srv->listen_ev, NULL) != 0) {
		log_errorx("cannot watch the listening socket");
		return (EXIT_SOFTWARE);
	}
	log_info("listening address=%s udp_port=%u relay=%s", addr,
	    udp_port(srv->udp), srv->conf.relay ? "on" : "off");
	return (0);
}

/* Closes the listening socket. */
static void
server_unlisten(struct server *srv)
{
	if (srv->listen_ev != NULL) {
		event_free(srv->listen_ev);
		srv->listen_ev = NULL;
	}
	if (srv->listen_retry_ev != NULL) {
		event_free(srv->listen_retry_ev);
		srv->listen_retry_ev = NULL;
	}
	if (srv->lfd != -1) {
		close(srv->lfd);
		srv->lfd = -1;
	}
}

/* Sends the systemd status line when the counts changed. */
static void
server_status(struct server *srv, int force)
{
	size_t		online = presence_online(srv->presence);
	size_t		sessions = session_set_count(srv->sessions);
	uint64_t	relayed = udp_stats(srv->udp)->fate[UDP_RELAYED];

	if (!force && online == srv->shown_online &&
	    sessions == srv->shown_sessions && relayed == srv->shown_relayed)
		return;
	srv->shown_online = online;
	srv->shown_sessions = sessions;
	srv->shown_relayed = relayed;
	notify_status("%zu sessions, %zu online, %llu relayed", sessions,
	    online, (unsigned long long)relayed);
}

/*
 * Gives memory freed after a burst back to the system.  glibc keeps freed
 * heap pages resident: after a login storm the drained output buffers of
 * every client would stay counted against the daemon for good.  Checked
 * once a second, done only when much is free, so it costs nothing while
 * the daemon is steady.
 */
static void
server_trim(void)
{
	struct mallinfo2	mi = mallinfo2();

	if (mi.fordblks >= SERVER_TRIM_MIN && mi.fordblks > mi.uordblks / 2)
		(void)malloc_trim(0);
}

/*
 * Once a second: the status line, at most, and the memory trim; every
 * SERVER_UDP_LOG_SEC the UDP totals, when they changed.
 */
static void
server_status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	server_status(srv, 0);
	server_trim();
	if (++srv->ticks % SERVER_UDP_LOG_SEC == 0)
		udp_log_stats(srv->udp);
}

/* The shutdown flush took too long: stop now. */
static void
server_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	log_info("stop: closing %zu sessions whose output did not drain",
	    session_set_count(srv->sessions));
	event_base_loopbreak(srv->base);
}

/* The last session closed during the shutdown flush: leave the loop. */
static void
server_drained(void *arg)
{
	struct server	*srv = arg;

	event_base_loopbreak(srv->base);
}

/*
 * SIGTERM, SIGINT: stop listening, GOODBYE 1 to everyone, drop the queued
 * hash jobs, give the output a bounded time to drain, then leave the loop.
 * A second signal stops at once.
 */
static void
server_stop(struct server *srv, const char *signame)
{
	struct timeval	tv = { SERVER_STOP_SEC, 0 };

	if (srv->stopping) {
		log_info("stop: signal=%s again, stopping now", signame);
		event_base_loopbreak(srv->base);
		return;
	}
	srv->stopping = 1;
	log_info("stopping signal=%s sessions=%zu online=%zu", signame,
	    session_set_count(srv->sessions), presence_online(srv->presence));
	notify_stopping();
	server_unlisten(srv);
	metrics_http_free(srv->metrics_http);
	srv->metrics_http = NULL;
	control_free(srv->control);
	srv->control = NULL;
	event_del(srv->status_ev);
	session_set_goodbye_all(srv->sessions, SC_BYE_SHUTDOWN, server_drained,
	    srv);
	/*
	 * Queued hash jobs are dropped and running ones finish (at most one
	 * hash time); their results are not delivered: the sessions have had
	 * their GOODBYE.  A sign-up running now may still be stored.
	 */
	hashpool_free(srv->hashpool);
	srv->hashpool = NULL;
	if (session_set_count(srv->sessions) == 0) {
		event_base_loopbreak(srv->base);
		return;
	}
	evtimer_add(srv->stop_ev, &tv);
}

/*
 * SIGHUP and sealchatctl reload: reads the file again and walks the rows.
 * A changed key is applied when its row says CONF_LIVE, else named in a
 * warning: only a restart changes it.  A file that does not load changes
 * nothing: then -1.  msg (len bytes) says what happened.
 */
static int
server_reload(struct server *srv, char *msg, size_t len)
{
	struct server_conf	 nc;
	struct server_conf	*c = &srv->conf;
	const struct conf_key	*key;
	char			 err[CONF_ERR_MAX];
	size_t			 n;
	int			 cost = c->hash_cost, restart = 0;

	notify_reloading();
	if (srv->conf_path == NULL) {
		log_info("reload: no configuration file, nothing to read");
		snprintf(msg, len, "no configuration file: nothing to read");
		notify_ready();
		return (0);
	}
	if (server_config_load(&nc, srv->conf_path, err) != 0) {
		log_warnx("reload: %s; configuration unchanged", err);
		snprintf(msg, len, "%s; configuration unchanged", err);
		notify_ready();
		return (-1);
	}
	snprintf(msg, len, "configuration applied");
	for (key = server_config_rows; key->name != NULL; key++) {
		if (conf_equal(key, &nc, c))
			continue;
		if (key->reload == CONF_LIVE) {
			conf_copy(key, c, &nc);
			continue;
		}
		log_warnx("reload: %s changed, restart to apply", key->name);
		n = strlen(msg);
		snprintf(msg + n, len - n, "%s%s", restart++ ? ", " :
		    "; restart to apply: ", key->name);
	}

	/* What the live keys drive outside srv->conf. */
	if (!srv->debug)
		log_set_level((enum log_level)c->log_level);
	if (c->hash_cost != cost)
		hashpool_set_cost(srv->hashpool, (enum sc_cost)c->hash_cost);
	server_timeouts(srv);
	server_throttle_conf(srv);
	pairkey_set_relay(srv->pairkey, c->relay);
	log_info("reload: configuration applied file=%s", srv->conf_path);
	sc_wipe(&nc, sizeof(nc));
	notify_ready();
	return (0);
}

/* sealchatctl reload: as SIGHUP, with the outcome in msg. */
static int
server_control_reload(void *arg, char *msg, size_t len)
{
	return (server_reload(arg, msg, len));
}

/* SIGUSR1: one log line with the counts an operator looks at first. */
static void
server_report(struct server *srv)
{
	log_info("status sessions=%zu unauth=%zu online=%zu hash_pending=%zu "
	    "hash_pid=%ld refused_total=%llu evicted_total=%llu",
	    session_set_count(srv->sessions),
	    session_set_unauth(srv->sessions), presence_online(srv->presence),
	    hashpool_pending(srv->hashpool),
	    (long)hashpool_child(srv->hashpool),
	    (unsigned long long)srv->refused,
	    (unsigned long long)srv->evicted);
}

/* Signal events. */
static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;
	char		 msg[CONF_ERR_MAX + 64];

	(void)what;
	switch (sig) {
	case SIGHUP:
		(void)server_reload(srv, msg, sizeof(msg));
		break;
	case SIGUSR1:
		server_report(srv);
		break;
	case SIGTERM:
		server_stop(srv, "TERM");
		break;
	case SIGQUIT:
		server_stop(srv, "QUIT");
		break;
	default:
		server_stop(srv, "INT");
		break;
	}
}

/*
 * Ignores the signals that would otherwise end or stop the daemon without
 * a word: job control (a daemon has no terminal to answer to), timers it
 * never sets, a file grown past its limit (the write then fails and is
 * logged), a closed socket (the write fails), and SIGUSR2.  SIGABRT and
 * the faults keep their default: systemd's watchdog aborts with SIGABRT.
 */
static int
server_signals_ignore(void)
{
	static const int	sigs[] = { SIGPIPE, SIGUSR2, SIGALRM,
				    SIGVTALRM, SIGPROF, SIGTSTP, SIGTTIN,
				    SIGTTOU, SIGXFSZ };
	size_t			i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (signal(sigs[i], SIG_IGN) == SIG_ERR)
			return (-1);
	}
	return (0);
}

/* Logs how many sessions the descriptor limit allows. */
static void
server_nofile(struct server *srv)
{
	long	nofile, possible;

	nofile = util_raise_nofile();
	if (nofile < 0) {
		log_warn("RLIMIT_NOFILE");
		return;
	}
	possible = nofile - SERVER_FD_RESERVE - 3 * srv->conf.hash_workers;
	if (possible < 0)
		possible = 0;
	log_info("descriptors nofile=%ld sessions_possible=%ld "
	    "max_sessions=%lld", nofile, possible, srv->conf.max_sessions);
	if (possible < srv->conf.max_sessions)
		log_warnx("max_sessions=%lld is more than the descriptor "
		    "limit allows (%ld)", srv->conf.max_sessions, possible);
}

/* Frees everything server_run() made; safe on a half-made server. */
static void
server_free(struct server *srv)
{
	struct event	**evs[] = { &srv->sigterm_ev, &srv->sigint_ev,
			    &srv->sighup_ev, &srv->sigquit_ev, &srv->sigusr1_ev,
			    &srv->status_ev, &srv->stop_ev };
	size_t		  i;

	server_unlisten(srv);
	metrics_http_free(srv->metrics_http);
	srv->metrics_http = NULL;
	control_free(srv->control);
	srv->control = NULL;
	hashpool_free(srv->hashpool);
	srv->hashpool = NULL;
	session_set_free(srv->sessions);
	srv->sessions = NULL;
	mailbox_free(srv->mailbox);
	srv->mailbox = NULL;
	udp_free(srv->udp);
	pairkey_free(srv->pairkey);
	presence_free(srv->presence);
	throttle_free(srv->throttle);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (*evs[i] != NULL) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	}
	notify_free();
	if (srv->base != NULL)
		event_base_free(srv->base);
}

/* Runs the daemon. */
int
server_run(const struct server_conf *conf, const char *conf_path,
    const struct sc_keypair *kp, int debug)
{
	struct server		 srv;
	struct session_env	 env;
	struct udp_env		 uenv;
	struct control_env	 cenv;
	struct timeval		 one = { 1, 0 };
	char			 err[256];
	int			 rc = EXIT_SOFTWARE;

	memset(&srv, 0, sizeof(srv));
	srv.conf = *conf;
	srv.conf_path = conf_path;
	srv.debug = debug;
	srv.kp = kp;
	srv.lfd = -1;
	metrics_init(&srv.metrics);
	srv.metrics.sample = server_sample;
	srv.metrics.sample_arg = &srv;
	if (server_signals_ignore() != 0)
		log_warn("signals");
	server_nofile(&srv);

	if ((srv.base = event_base_new()) == NULL) {
		log_errorx("cannot make the event loop");
		goto out;
	}
	if (event_base_priority_init(srv.base, 2) != 0) {
		log_errorx("cannot set event priorities");
		goto out;
	}
	if (notify_init(srv.base) != 0)
		log_warnx("systemd notification disabled");
	srv.hashpool = hashpool_new(srv.base, srv.conf.data_base,
	    (int)srv.conf.hash_workers, (int)srv.conf.hash_queue,
	    (enum sc_cost)srv.conf.hash_cost, server_hash_done, &srv, err,
	    sizeof(err));
	if (srv.hashpool == NULL) {
		log_errorx("%s", err);
		rc = EXIT_CONFIG;
		goto out;
	}
	srv.presence = presence_new(srv.base,
	    (size_t)srv.conf.max_frame - SC_MAC_BYTES, session_deliver, &srv);
	srv.pairkey = srv.presence != NULL ? pairkey_new(srv.presence) : NULL;
	srv.throttle = throttle_new(THROTTLE_ENTRIES_MAX);
	/* The IPv6 grouping is taken now, before anything is counted. */
	if (srv.throttle != NULL)
		server_throttle_conf(&srv);
	if (srv.pairkey != NULL && srv.throttle != NULL) {
		memset(&uenv, 0, sizeof(uenv));
		uenv.base = srv.base;
		uenv.conf = &srv.conf;
		uenv.pairkey = srv.pairkey;
		uenv.throttle = srv.throttle;
		srv.udp = udp_new(&uenv);
	}
	if (srv.presence != NULL) {
		srv.mailbox = mailbox_new(srv.base, &srv.conf,
		    srv.conf.data_base, srv.presence, &srv.metrics, err,
		    sizeof(err));
		if (srv.mailbox == NULL) {
			log_errorx("%s", err);
			rc = EXIT_CONFIG;
			goto out;
		}
	}
	if (srv.udp != NULL) {
		memset(&env, 0, sizeof(env));
		env.base = srv.base;
		env.conf = &srv.conf;
		env.kp = srv.kp;
		env.presence = srv.presence;
		env.pairkey = srv.pairkey;
		env.udp = srv.udp;
		env.throttle = srv.throttle;
		env.mailbox = srv.mailbox;
		env.metrics = &srv.metrics;
		env.hash = server_hash;
		env.withdraw = server_withdraw;
		env.hash_arg = &srv;
		srv.sessions = session_set_new(&env);
	}
	srv.stop_ev = server_event(&srv, -1, 0, server_stop_cb, &srv);
	srv.status_ev = server_event(&srv, -1, EV_PERSIST, server_status_cb,
	    &srv);
	srv.sigterm_ev = server_event(&srv, SIGTERM, EV_SIGNAL | EV_PERSIST,
	    server_signal_cb, &srv);
	srv.sigint_ev = server_event(&srv, SIGINT, EV_SIGNAL | EV_PERSIST,
	    server_signal_cb, &srv);
	srv.sighup_ev = server_event(&srv, SIGHUP, EV_SIGNAL | EV_PERSIST,
	    server_signal_cb, &srv);
	srv.sigquit_ev = server_event(&srv, SIGQUIT, EV_SIGNAL | EV_PERSIST,
	    server_signal_cb, &srv);
	srv.sigusr1_ev = server_event(&srv, SIGUSR1, EV_SIGNAL | EV_PERSIST,
	    server_signal_cb, &srv);
	if (srv.presence == NULL || srv.pairkey == NULL ||
	    srv.throttle == NULL || srv.udp == NULL || srv.sessions == NULL ||
	    srv.stop_ev == NULL ||
	    srv.status_ev == NULL || srv.sigterm_ev == NULL ||
	    srv.sigint_ev == NULL || srv.sighup_ev == NULL ||
	    srv.sigquit_ev == NULL || srv.sigusr1_ev == NULL) {
		log_errorx("out of memory");
		goto out;
	}
	pairkey_set_relay(srv.pairkey, srv.conf.relay);
	if (event_add(srv.sigterm_ev, NULL) != 0 ||
	    event_add(srv.sigint_ev, NULL) != 0 ||
	    event_add(srv.sighup_ev, NULL) != 0 ||
	    event_add(srv.sigquit_ev, NULL) != 0 ||
	    event_add(srv.sigusr1_ev, NULL) != 0 ||
	    event_add(srv.status_ev, &one) != 0) {
		log_errorx("cannot watch signals");
		goto out;
	}
	if ((rc = server_listen(&srv)) != 0)
		goto out;
	if (strcmp(srv.conf.metrics_address, SERVER_CONFIG_OFF) != 0 &&
	    (srv.metrics_http = metrics_http_new(srv.base,
	    srv.conf.metrics_address, &srv.metrics, err, sizeof(err))) ==
	    NULL) {
		log_errorx("%s", err);
		rc = EXIT_UNAVAIL;
		goto out;
	}
	memset(&cenv, 0, sizeof(cenv));
	cenv.base = srv.base;
	cenv.conf = &srv.conf;
	cenv.sessions = srv.sessions;
	cenv.metrics = &srv.metrics;
	cenv.hash = server_hash;
	cenv.withdraw = server_withdraw;
	cenv.reload = server_control_reload;
	cenv.arg = &srv;
	if ((srv.control = control_new(&cenv, err, sizeof(err))) == NULL) {
		log_errorx("%s", err);
		rc = EXIT_CONFIG;
		goto out;
	}

	notify_ready();
	server_status(&srv, 1);
	if (event_base_dispatch(srv.base) == -1) {
		log_errorx("event loop failed");
		rc = EXIT_SOFTWARE;
		goto out;
	}
	log_info("stopped sessions_left=%zu", session_set_count(srv.sessions));
	udp_log_stats(srv.udp);
	rc = 0;
out:
	server_free(&srv);
	return (rc);
}
