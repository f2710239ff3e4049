/* SPDX-License-Identifier: ISC */
/*
 * The attacks of docs/security.md, property 14, at full speed from other
 * addresses of 127.0.0.0/8, and the honest user whose login time they must
 * not spoil.
 *
 * attack --attack KIND runs one attack for --duration seconds from
 * --sources addresses starting at --source, and prints what it did:
 *
 *   abandon   connect, handshake, AUTH with a made-up name, hang up, again,
 *             with --window connections at once
 *   guess     --clients connections AUTH one account (--prefix, --first)
 *             with a wrong password, again as soon as the answer comes
 *   idle      connect and send nothing, keeping --window connections per
 *             address: a new one as fast as the kernel lets, the oldest
 *             closed
 *   sessions  log in accounts prefix0..N-1 (-n) and hold them (with the
 *             keepalive PINGs); every connection the server refuses is
 *             opened again at once
 *
 * user logs in account prefix + first again and again for --duration
 * seconds, from --source when given, and prints the login times: from the
 * connect to OK, server busy and refusals included (the client tries again
 * at once).  The login under way when the time is up is finished, not
 * given up: a login given up counts as a failure of its address, and would
 * slow the user's next run.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealchat/util.h"

#include "loadgen.h"

#define LGATTACK_RETRY_MS	50	/* after server busy */
#define LGATTACK_SAMPLES	(1 << 16)
#define LGATTACK_IDLE_BATCH	32	/* connects per tick */
#define LGATTACK_IDLE_TICK_US	1000
#define LGATTACK_PING_SEC	5	/* keepalive of the sessions held */

enum lgattack_kind {
	LGATTACK_ABANDON = 1,
	LGATTACK_GUESS,
	LGATTACK_IDLE,
	LGATTACK_SESSIONS,
};

struct lgattack;

/* One connection of an attack, or the user's. */
struct lgattack_conn {
	struct lgconn		*c;
	struct lgattack		*a;
	struct handshake_client	 hs;
	int			 idx;		/* account, or connection */
	int			 src;		/* its source address */
	int			 logged;
	uint64_t		 t_start;	/* user: this login's start */
	struct event		*retry_ev;
};

struct lgattack {
	struct lg		*lg;
	enum lgattack_kind	 kind;
	struct sockaddr_in	*src;
	int			 nsrc;
	struct lgattack_conn	*conns;
	int			 nconns;
	uint64_t		 t0;
	uint64_t		 ghost;		/* abandon: next made-up name */
	uint64_t		 opened;	/* connections */
	uint64_t		 sent;		/* AUTHs */
	uint64_t		 answered;	/* guess: ERROR 1 answers */
	uint64_t		 busy;		/* ERROR 5 */
	uint64_t		 refused;	/* REJECT, closed by server */
	uint64_t		 logged;	/* sessions held at the end */
	int			*idle_fd;	/* idle: nsrc x window */
	int			*idle_next;	/* idle: oldest of a source */
	struct event		*idle_ev;
	struct event		*ping_ev;	/* sessions: keepalive */
	struct event		*end_ev;
	double			*ms;		/* user: login times */
	size_t			 nms;
	int			 user;		/* the user, not an attack */
	int			 ending;	/* user: finish, then stop */
};

static void	lgattack_start(struct lgattack_conn *);

/* The attack kind named by s; 0 when unknown. */
int
lgattack_kind(const char *s)
{
	if (strcmp(s, "abandon") == 0)
		return (LGATTACK_ABANDON);
	if (strcmp(s, "guess") == 0)
		return (LGATTACK_GUESS);
	if (strcmp(s, "idle") == 0)
		return (LGATTACK_IDLE);
	if (strcmp(s, "sessions") == 0)
		return (LGATTACK_SESSIONS);
	return (0);
}

/* The name of an attack kind. */
static const char *
lgattack_name(enum lgattack_kind k)
{
	static const char *const names[] = { "", "abandon", "guess", "idle",
	    "sessions" };

	return (names[k]);
}

/*
 * The source addresses: --sources consecutive IPv4 addresses from --source;
 * -1 unless each is a loopback address.
 */
static int
lgattack_sources(struct lgattack *a)
{
	struct in_addr	first;
	uint32_t	base;
	int		i;

	a->nsrc = a->lg->o.nsources;
	if (a->lg->o.source[0] == '\0') {
		a->nsrc = 0;
		return (0);
	}
	if (inet_pton(AF_INET, a->lg->o.source, &first) != 1 ||
	    (ntohl(first.s_addr) >> 24) != 127 ||
	    ((ntohl(first.s_addr) + (uint32_t)a->nsrc - 1) >> 24) != 127) {
		loadgen_fail(a->lg, "--source %s (%d of them): only IPv4 "
		    "loopback sources", a->lg->o.source, a->nsrc);
		return (-1);
	}
	if ((a->src = calloc((size_t)a->nsrc, sizeof(*a->src))) == NULL)
		return (-1);
	base = ntohl(first.s_addr);
	for (i = 0; i < a->nsrc; i++) {
		a->src[i].sin_family = AF_INET;
		a->src[i].sin_addr.s_addr = htonl(base + (uint32_t)i);
	}
	return (0);
}

/* Sends AUTH for name with pass. */
static int
lgattack_auth(struct lgconn *c, const char *name, const char *pass)
{
	struct wbuf	wb;
	int		r;

	wbuf_init(&wb);
	wire_enc_cred(&wb, SC_MSG_AUTH, name, (const uint8_t *)pass,
	    strlen(pass));
	r = lgconn_send_msg(c, &wb);
	wbuf_free(&wb);
	return (r);
}

/* Whether the attack's time is over. */
static int
lgattack_over(const struct lgattack *a)
{
	return (util_now_ms() - a->t0 >= (uint64_t)(a->lg->o.duration *
	    1000.0));
}

/* Starts (or restarts) one connection with a fresh HELLO. */
static void
lgattack_start(struct lgattack_conn *ac)
{
	struct lgattack	*a = ac->a;
	struct timeval	 tv = { 0, LGATTACK_RETRY_MS * 1000 };

	if ((lgattack_over(a) && !a->user) || a->lg->failed)
		return;
	if (handshake_client_hello(&ac->hs, a->lg->server_pk) != 0) {
		loadgen_fail(a->lg, "cannot make a HELLO");
		return;
	}
	if (a->nsrc > 0) {
		ac->c->src = (const struct sockaddr *)&a->src[ac->src];
		ac->c->src_len = sizeof(a->src[ac->src]);
	}
	if (ac->t_start == 0)
		ac->t_start = util_now_ms();
	if (lgconn_connect(ac->c, &ac->hs, 0) == -1) {
		/* Out of ports or descriptors: counted, tried again later. */
		a->refused++;
		if (evtimer_add(ac->retry_ev, &tv) == -1)
			loadgen_fail(a->lg, "cannot arm a timer");
		return;
	}
	a->opened++;
}

/* The name and password a connection sends. */
static void
lgattack_cred(const struct lgattack_conn *ac, char *name, size_t len,
    const char **pass)
{
	struct lgattack	*a = ac->a;

	*pass = LG_PASSWORD;
	switch (a->kind) {
	case LGATTACK_ABANDON:
		snprintf(name, len, "ghost%llu",
		    (unsigned long long)a->ghost++);
		*pass = "made-up";
		break;
	case LGATTACK_GUESS:
		loadgen_user_name(a->lg, name, len, a->lg->o.first);
		*pass = "wrong-guess";
		break;
	case LGATTACK_SESSIONS:
		loadgen_user_name(a->lg, name, len, ac->idx);
		break;
	default:
		loadgen_user_name(a->lg, name, len, a->lg->o.first);
		break;
	}
}

/* The channel is up: AUTH (and, to abandon, hang up at once). */
static void
lgattack_up(struct lgconn *c)
{
	struct lgattack_conn	*ac = c->arg;
	struct lgattack		*a = ac->a;
	char			 name[SC_NAME_MAX + 1];
	const char		*pass;

	lgattack_cred(ac, name, sizeof(name), &pass);
	if (lgattack_auth(c, name, pass) == -1) {
		loadgen_fail(a->lg, "cannot send AUTH");
		return;
	}
	a->sent++;
	if (a->kind == LGATTACK_ABANDON) {
		lgconn_close(c);
		lgattack_start(ac);
	}
}

/* AUTH again, or a new connection, after a pause. */
static void
lgattack_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgattack_conn	*ac = arg;

	(void)fd;
	(void)what;
	if (ac->c->state == LGCONN_CHANNEL)
		lgattack_up(ac->c);
	else
		lgattack_start(ac);
}

/* Records one login time of the user, and starts the next login. */
static void
lgattack_user_done(struct lgattack_conn *ac)
{
	struct lgattack	*a = ac->a;

	if (a->nms < LGATTACK_SAMPLES)
		a->ms[a->nms++] = (double)(util_now_ms() - ac->t_start);
	ac->t_start = 0;
	lgconn_close(ac->c);
	if (a->ending) {
		event_base_loopbreak(a->lg->base);
		return;
	}
	lgattack_start(ac);
}

/* One message from the server. */
static void
lgattack_msg(struct lgconn *c, const struct sc_msg *m)
{
	struct lgattack_conn	*ac = c->arg;
	struct lgattack		*a = ac->a;
	struct timeval		 tv = { 0, LGATTACK_RETRY_MS * 1000 };

	if (m->type == SC_MSG_OK) {
		if (a->kind == LGATTACK_SESSIONS) {
			ac->logged = 1;
			a->logged++;
		} else if (a->user)
			lgattack_user_done(ac);
		return;
	}
	if (m->type == SC_MSG_ERROR && m->code == SC_ERR_BUSY) {
		a->busy++;
		if (evtimer_add(ac->retry_ev, &tv) == -1)
			loadgen_fail(a->lg, "cannot arm a timer");
		return;
	}
	if (m->type == SC_MSG_ERROR && m->code == SC_ERR_CREDENTIALS &&
	    a->kind == LGATTACK_GUESS) {
		a->answered++;
		if (!lgattack_over(a))
			lgattack_up(c);
		return;
	}
	if (m->type == SC_MSG_ERROR)
		loadgen_fail(a->lg, "%s %d: %s", lgattack_name(a->kind),
		    ac->idx, wire_err_str(m->code));
}

/* The server closed a connection (REJECT, GOODBYE): open it again. */
static void
lgattack_down(struct lgconn *c, const char *why)
{
	struct lgattack_conn	*ac = c->arg;
	struct lgattack		*a = ac->a;

	(void)why;
	if (ac->logged) {
		ac->logged = 0;
		a->logged--;
	}
	a->refused++;
	lgattack_start(ac);
}

/*
 * idle, every tick: opens a batch of connections that send nothing, each
 * closing the oldest of its address.
 */
static void
lgattack_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgattack	*a = arg;
	int		 s, w = a->lg->o.window, n, *slot;

	(void)fd;
	(void)what;
	if (lgattack_over(a))
		return;
	for (n = 0; n < LGATTACK_IDLE_BATCH; n++) {
		s = (int)(a->opened % (uint64_t)a->nsrc);
		slot = &a->idle_fd[s * w + a->idle_next[s]];
		a->idle_next[s] = (a->idle_next[s] + 1) % w;
		if (*slot != -1)
			close(*slot);
		*slot = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (*slot == -1 || bind(*slot, (struct sockaddr *)&a->src[s],
		    sizeof(a->src[s])) == -1 || (connect(*slot,
		    (struct sockaddr *)&a->lg->addr, a->lg->addr_len) == -1 &&
		    errno != EINPROGRESS)) {
			if (*slot != -1)
				close(*slot);
			*slot = -1;
			a->refused++;
			continue;
		}
		a->opened++;
	}
}

/* sessions: a PING on every session held, so that none times out. */
static void
lgattack_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgattack	*a = arg;
	struct wbuf	 wb;
	int		 i;

	(void)fd;
	(void)what;
	wbuf_init(&wb);
	wire_enc_ping(&wb, SC_MSG_PING, 1);
	for (i = 0; i < a->nconns; i++) {
		if (a->conns[i].logged &&
		    lgconn_send_msg(a->conns[i].c, &wb) == -1)
			loadgen_fail(a->lg, "cannot send PING");
	}
	wbuf_free(&wb);
}

/*
 * The time is over: an attack stops at once, the user once the login
 * under way is done.
 */
static void
lgattack_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgattack	*a = arg;

	(void)fd;
	(void)what;
	if (a->user && a->conns != NULL && a->conns[0].t_start != 0) {
		a->ending = 1;
		return;
	}
	event_base_loopbreak(a->lg->base);
}

/* Makes the connections of an attack (or the user's one) and starts them. */
static int
lgattack_conns(struct lgattack *a, int n)
{
	static const struct lgconn_ops ops = {
		.up = lgattack_up, .msg = lgattack_msg, .down = lgattack_down,
	};
	int	i;

	if ((a->conns = calloc((size_t)n, sizeof(*a->conns))) == NULL)
		return (-1);
	a->nconns = n;
	for (i = 0; i < n; i++) {
		a->conns[i].a = a;
		a->conns[i].idx = i;
		a->conns[i].src = a->nsrc > 0 ? i % a->nsrc : 0;
		if ((a->conns[i].c = lgconn_new(a->lg, &ops,
		    &a->conns[i])) == NULL ||
		    (a->conns[i].retry_ev = evtimer_new(a->lg->base,
		    lgattack_retry_cb, &a->conns[i])) == NULL)
			return (-1);
	}
	for (i = 0; i < n; i++)
		lgattack_start(&a->conns[i]);
	return (0);
}

/* Frees what an attack made. */
static void
lgattack_free(struct lgattack *a)
{
	int	i;

	for (i = 0; a->conns != NULL && i < a->nconns; i++) {
		lgconn_free(a->conns[i].c);
		if (a->conns[i].retry_ev != NULL)
			event_free(a->conns[i].retry_ev);
		handshake_client_wipe(&a->conns[i].hs);
	}
	for (i = 0; a->idle_fd != NULL && i < a->nsrc * a->lg->o.window; i++)
		if (a->idle_fd[i] != -1)
			close(a->idle_fd[i]);
	if (a->idle_ev != NULL)
		event_free(a->idle_ev);
	if (a->ping_ev != NULL)
		event_free(a->ping_ev);
	if (a->end_ev != NULL)
		event_free(a->end_ev);
	free(a->conns);
	free(a->idle_fd);
	free(a->idle_next);
	free(a->src);
	free(a->ms);
}

/* Runs the loop for --duration seconds; -1 when the run failed. */
static int
lgattack_run(struct lgattack *a)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)a->lg->o.duration;
	tv.tv_usec = (suseconds_t)((a->lg->o.duration - (double)tv.tv_sec) *
	    1e6);
	if ((a->end_ev = evtimer_new(a->lg->base, lgattack_end_cb, a)) ==
	    NULL || evtimer_add(a->end_ev, &tv) == -1) {
		loadgen_fail(a->lg, "cannot arm a timer");
		return (-1);
	}
	if (!a->lg->failed)
		event_base_dispatch(a->lg->base);
	return (a->lg->failed ? -1 : 0);
}

/* attack: one attack at full speed for --duration seconds. */
int
lgattack_attack(struct lg *lg)
{
	struct lgattack	a;
	struct timeval	tick = { 0, LGATTACK_IDLE_TICK_US };
	struct timeval	ping = { LGATTACK_PING_SEC, 0 };
	double		secs;
	int		i, rc = -1, n;

	memset(&a, 0, sizeof(a));
	a.lg = lg;
	a.kind = (enum lgattack_kind)lg->o.attack;
	a.t0 = util_now_ms();
	if (lgattack_sources(&a) == -1)
		goto out;
	if (a.nsrc == 0) {
		loadgen_fail(lg, "attack needs --source");
		goto out;
	}
	if (a.kind == LGATTACK_IDLE) {
		n = a.nsrc * lg->o.window;
		if ((a.idle_fd = malloc((size_t)n * sizeof(int))) == NULL ||
		    (a.idle_next = calloc((size_t)a.nsrc, sizeof(int))) ==
		    NULL || (a.idle_ev = event_new(lg->base, -1, EV_PERSIST,
		    lgattack_idle_cb, &a)) == NULL ||
		    event_add(a.idle_ev, &tick) == -1) {
			loadgen_fail(lg, "out of memory");
			goto out;
		}
		for (i = 0; i < n; i++)
			a.idle_fd[i] = -1;
	} else {
		n = a.kind == LGATTACK_ABANDON ? lg->o.window :
		    a.kind == LGATTACK_GUESS ? lg->o.clients : lg->o.n;
		if (lgattack_conns(&a, n) == -1) {
			loadgen_fail(lg, "out of memory");
			goto out;
		}
	}
	if (a.kind == LGATTACK_SESSIONS && ((a.ping_ev = event_new(lg->base,
	    -1, EV_PERSIST, lgattack_ping_cb, &a)) == NULL ||
	    event_add(a.ping_ev, &ping) == -1)) {
		loadgen_fail(lg, "cannot arm a timer");
		goto out;
	}
	if (lgattack_run(&a) == -1)
		goto out;
	secs = (double)(util_now_ms() - a.t0) / 1000.0;
	printf("attack kind=%s sources=%d seconds=%.2f opened=%llu "
	    "opened_per_s=%.0f auth_sent=%llu guesses=%llu busy=%llu "
	    "refused=%llu sessions_held=%llu\n", lgattack_name(a.kind),
	    a.nsrc, secs, (unsigned long long)a.opened,
	    secs > 0 ? (double)a.opened / secs : 0,
	    (unsigned long long)a.sent, (unsigned long long)a.answered,
	    (unsigned long long)a.busy, (unsigned long long)a.refused,
	    (unsigned long long)a.logged);
	fflush(stdout);
	rc = 0;
out:
	lgattack_free(&a);
	return (rc);
}

/* user: one honest user's logins, one after the other. */
int
lgattack_user(struct lg *lg)
{
	struct lgattack	a;
	double		p50, p99;
	int		rc = -1;

	memset(&a, 0, sizeof(a));
	a.lg = lg;
	a.user = 1;
	a.t0 = util_now_ms();
	if (lgattack_sources(&a) == -1)
		goto out;
	if ((a.ms = calloc(LGATTACK_SAMPLES, sizeof(double))) == NULL ||
	    lgattack_conns(&a, 1) == -1) {
		loadgen_fail(lg, "out of memory");
		goto out;
	}
	if (lgattack_run(&a) == -1)
		goto out;
	if (a.nms == 0) {
		loadgen_fail(lg, "no login completed in %g s", lg->o.duration);
		goto out;
	}
	p50 = loadgen_pct(a.ms, a.nms, 50);
	p99 = loadgen_pct(a.ms, a.nms, 99);
	printf("user logins=%zu login_p50_ms=%.0f login_p99_ms=%.0f "
	    "login_max_ms=%.0f busy=%llu refused=%llu\n", a.nms, p50, p99,
	    a.ms[a.nms - 1], (unsigned long long)a.busy,
	    (unsigned long long)a.refused);
	fflush(stdout);
	rc = 0;
out:
	lgattack_free(&a);
	return (rc);
}
