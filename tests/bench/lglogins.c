/* SPDX-License-Identifier: ISC */
/*
 * Logins per second at the server's configured hash cost, and how fast the
 * event loop answers a logged-in user meanwhile; and, as the yardstick, how
 * many argon2id verifications per second libsodium itself does here.
 *
 * logins: one probe client logs in as user M and sends LIST every few
 * milliseconds; M clients (users 0 .. M-1) connect, log in, hang up and
 * start over, for the given duration.  Reported: completed logins per
 * second and their latency, and the p50/p99/max LIST round trip.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealchat/util.h"

#include "loadgen.h"

#define LGLOGINS_RETRY_MS	50
#define LGLOGINS_MAX_SAMPLES	(1 << 20)

struct lglogins;

struct lglogins_client {
	struct lgconn		*c;
	struct lglogins		*l;
	struct handshake_client	 hs;
	int			 idx;
	uint64_t		 t_connect;
};

struct lglogins {
	struct lg		*lg;
	struct lglogins_client	*cl;
	int			 m;
	struct lglogins_client	 probe;
	int			 probe_up;
	int			 running;
	uint64_t		 t0;
	uint64_t		 t_end;
	double			 cpu0;
	double			 cpu_end;
	uint64_t		 logins;
	uint64_t		 busy;
	double			*login_ms;
	size_t			 nlogin;
	double			*list_ms;
	size_t			 nlist;
	uint64_t		 list_sent_us;
	int			 list_pending;
	struct event		*list_ev;
	struct event		*end_ev;
};

/* Microseconds on the monotonic clock. */
static uint64_t
lglogins_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* Sends one message of type t (AUTH with credentials of user idx). */
static int
lglogins_send(struct lgconn *c, uint8_t t, int idx)
{
	struct wbuf	wb;
	char		name[SC_NAME_MAX + 1];
	int		r;

	wbuf_init(&wb);
	if (t == SC_MSG_AUTH) {
		loadgen_user_name(c->lg, name, sizeof(name), idx);
		wire_enc_cred(&wb, t, name, (const uint8_t *)LG_PASSWORD,
		    strlen(LG_PASSWORD));
	} else if (t == SC_MSG_PING)
		wire_enc_ping(&wb, t, 1);
	else
		wire_enc_empty(&wb, t);
	r = lgconn_send_msg(c, &wb);
	wbuf_free(&wb);
	return (r);
}

/* Starts (or restarts) one login: a fresh HELLO and a new connection. */
static void
lglogins_start(struct lglogins_client *cl)
{
	struct lg	*lg = cl->l->lg;

	if (handshake_client_hello(&cl->hs, lg->server_pk) != 0) {
		loadgen_fail(lg, "cannot make a HELLO");
		return;
	}
	cl->t_connect = util_now_ms();
	if (lgconn_connect(cl->c, &cl->hs, 0) == -1)
		loadgen_fail(lg, "connect: %s", strerror(errno));
}

/* The channel is up: send AUTH. */
static void
lglogins_up(struct lgconn *c)
{
	struct lglogins_client	*cl = c->arg;

	if (lglogins_send(c, SC_MSG_AUTH, cl->idx) == -1)
		loadgen_fail(c->lg, "cannot send AUTH");
}

/* AUTH again after the server was busy. */
static void
lglogins_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lglogins_client	*cl = arg;

	(void)fd;
	(void)what;
	if (cl->c->state == LGCONN_CHANNEL &&
	    lglogins_send(cl->c, SC_MSG_AUTH, cl->idx) == -1)
		loadgen_fail(cl->c->lg, "cannot send AUTH");
}

/* Sends the next LIST from the probe. */
static void
lglogins_list_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lglogins	*l = arg;

	(void)fd;
	(void)what;
	if (!l->running || l->list_pending)
		return;
	l->list_pending = 1;
	l->list_sent_us = lglogins_now_us();
	if (lglogins_send(l->probe.c, SC_MSG_LIST, 0) == -1)
		loadgen_fail(l->lg, "cannot send LIST");
}

/* The measured period is over. */
static void
lglogins_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lglogins	*l = arg;

	(void)fd;
	(void)what;
	l->running = 0;
	l->t_end = util_now_ms();
	if (l->lg->o.server_pid > 0 &&
	    loadgen_proc_cpu(l->lg->o.server_pid, &l->cpu_end) == -1)
		l->cpu_end = -1;
	event_base_loopbreak(l->lg->base);
}

/* The probe is logged in: start the storm of logins and the clock. */
static void
lglogins_begin(struct lglogins *l)
{
	struct timeval	tv;
	int		i;

	tv.tv_sec = (time_t)l->lg->o.duration;
	tv.tv_usec = (suseconds_t)((l->lg->o.duration - (double)tv.tv_sec) *
	    1e6);
	if (l->lg->o.server_pid > 0 &&
	    loadgen_proc_cpu(l->lg->o.server_pid, &l->cpu0) == -1)
		l->cpu0 = -1;
	l->running = 1;
	l->t0 = util_now_ms();
	if (evtimer_add(l->end_ev, &tv) == -1) {
		loadgen_fail(l->lg, "cannot arm a timer");
		return;
	}
	for (i = 0; i < l->m; i++)
		lglogins_start(&l->cl[i]);
	lglogins_list_cb(-1, 0, l);
}

/* Messages to the probe: the LIST answers (presence is ignored). */
static void
lglogins_probe_msg(struct lglogins *l, const struct sc_msg *m)
{
	struct timeval	tv;
	uint64_t	now;

	switch (m->type) {
	case SC_MSG_OK:
		l->probe_up = 1;
		lglogins_begin(l);
		return;
	case SC_MSG_USERS:
		if (!(m->flags & SC_USERS_REPLY) || (m->flags & SC_USERS_MORE))
			return;
		if (!l->list_pending)
			return;
		now = lglogins_now_us();
		l->list_pending = 0;
		if (l->running && l->nlist < LGLOGINS_MAX_SAMPLES)
			l->list_ms[l->nlist++] =
			    (double)(now - l->list_sent_us) / 1000.0;
		if (!l->running)
			return;
		tv.tv_sec = 0;
		tv.tv_usec = l->lg->o.list_interval_ms * 1000;
		if (evtimer_add(l->list_ev, &tv) == -1)
			loadgen_fail(l->lg, "cannot arm a timer");
		return;
	case SC_MSG_ERROR:
		loadgen_fail(l->lg, "probe: %s%s", wire_err_str(m->code),
		    m->code == SC_ERR_CREDENTIALS ?
		    " (run mkusers first)" : "");
		return;
	case SC_MSG_GOODBYE:
		loadgen_fail(l->lg, "probe: GOODBYE: %s",
		    wire_bye_str(m->code));
		return;
	default:
		return;
	}
}

/* One message to a client (or the probe). */
static void
lglogins_msg(struct lgconn *c, const struct sc_msg *m)
{
	struct lglogins_client	*cl = c->arg;
	struct lglogins		*l = cl->l;
	struct timeval		 tv = { 0, LGLOGINS_RETRY_MS * 1000 };

	if (cl == &l->probe) {
		lglogins_probe_msg(l, m);
		return;
	}
	switch (m->type) {
	case SC_MSG_OK:
		if (!l->running)
			break;
		l->logins++;
		if (l->nlogin < LGLOGINS_MAX_SAMPLES)
			l->login_ms[l->nlogin++] =
			    (double)(util_now_ms() - cl->t_connect);
		lgconn_close(c);
		lglogins_start(cl);
		return;
	case SC_MSG_ERROR:
		if (m->code == SC_ERR_BUSY) {
			l->busy++;
			if (event_base_once(c->lg->base, -1, EV_TIMEOUT,
			    lglogins_retry_cb, cl, &tv) == -1)
				loadgen_fail(c->lg, "cannot arm a timer");
			return;
		}
		loadgen_fail(c->lg, "client %d: %s%s", cl->idx,
		    wire_err_str(m->code), m->code == SC_ERR_CREDENTIALS ?
		    " (run mkusers first)" : "");
		return;
	case SC_MSG_GOODBYE:
		if (m->code == SC_BYE_REPLACED)
			return;
		loadgen_fail(c->lg, "client %d: GOODBYE: %s", cl->idx,
		    wire_bye_str(m->code));
		return;
	default:
		return;
	}
}

/* A connection ended. */
static void
lglogins_down(struct lgconn *c, const char *why)
{
	struct lglogins_client	*cl = c->arg;

	if (!cl->l->running && cl != &cl->l->probe && cl->l->probe_up)
		return;
	loadgen_fail(c->lg, "%s %d: %s", cl == &cl->l->probe ? "probe" :
	    "client", cl->idx, why);
}

/* logins: the storm of logins at the server's hash cost. */
int
lglogins_logins(struct lg *lg)
{
	static const struct lgconn_ops ops = {
		.up = lglogins_up, .msg = lglogins_msg, .down = lglogins_down,
	};
	struct lglogins	 l;
	double		 secs, lp50, lp99, p50, p99, pmax;
	int		 i, rc = -1;

	memset(&l, 0, sizeof(l));
	l.lg = lg;
	l.m = lg->o.clients;
	l.cl = calloc((size_t)l.m, sizeof(*l.cl));
	l.login_ms = calloc(LGLOGINS_MAX_SAMPLES, sizeof(double));
	l.list_ms = calloc(LGLOGINS_MAX_SAMPLES, sizeof(double));
	l.list_ev = evtimer_new(lg->base, lglogins_list_cb, &l);
	l.end_ev = evtimer_new(lg->base, lglogins_end_cb, &l);
	if (l.cl == NULL || l.login_ms == NULL || l.list_ms == NULL ||
	    l.list_ev == NULL || l.end_ev == NULL) {
		loadgen_fail(lg, "out of memory");
		goto out;
	}
	for (i = 0; i < l.m; i++) {
		l.cl[i].l = &l;
		l.cl[i].idx = i;
		if ((l.cl[i].c = lgconn_new(lg, &ops, &l.cl[i])) == NULL) {
			loadgen_fail(lg, "out of memory");
			goto out;
		}
	}
	l.probe.l = &l;
	l.probe.idx = l.m;
	if ((l.probe.c = lgconn_new(lg, &ops, &l.probe)) == NULL) {
		loadgen_fail(lg, "out of memory");
		goto out;
	}
	lglogins_start(&l.probe);
	if (!lg->failed)
		event_base_dispatch(lg->base);
	if (lg->failed || l.t_end == 0)
		goto out;
	secs = (double)(l.t_end - l.t0) / 1000.0;
	lp50 = loadgen_pct(l.login_ms, l.nlogin, 50);
	lp99 = loadgen_pct(l.login_ms, l.nlogin, 99);
	p50 = loadgen_pct(l.list_ms, l.nlist, 50);
	p99 = loadgen_pct(l.list_ms, l.nlist, 99);
	pmax = l.nlist ? l.list_ms[l.nlist - 1] : 0;
	printf("logins clients=%d seconds=%.2f logins=%llu logins_per_s=%.1f "
	    "login_p50_ms=%.0f login_p99_ms=%.0f busy=%llu server_cpu=%.2f "
	    "list_n=%zu list_p50_ms=%.3f list_p99_ms=%.3f list_max_ms=%.3f\n",
	    l.m, secs, (unsigned long long)l.logins,
	    secs > 0 ? (double)l.logins / secs : 0, lp50, lp99,
	    (unsigned long long)l.busy,
	    lg->o.server_pid > 0 && l.cpu0 >= 0 && l.cpu_end >= 0 ?
	    l.cpu_end - l.cpu0 : -1.0, l.nlist, p50, p99, pmax);
	fflush(stdout);
	rc = 0;
out:
	for (i = 0; l.cl != NULL && i < l.m; i++) {
		lgconn_free(l.cl[i].c);
		handshake_client_wipe(&l.cl[i].hs);
	}
	lgconn_free(l.probe.c);
	handshake_client_wipe(&l.probe.hs);
	if (l.list_ev != NULL)
		event_free(l.list_ev);
	if (l.end_ev != NULL)
		event_free(l.end_ev);
	free(l.cl);
	free(l.login_ms);
	free(l.list_ms);
	return (rc);
}

struct lglogins_worker {
	pthread_t	 th;
	const char	*hash;
	uint64_t	 end_us;
	uint64_t	 count;
	uint64_t	 done_us;
	int		 bad;
};

/* One pwhash thread: verifies until the end time. */
static void *
lglogins_worker(void *arg)
{
	struct lglogins_worker	*w = arg;
	const char		*pw = LG_PASSWORD;

	while (lglogins_now_us() < w->end_us) {
		if (sc_pwhash_verify(w->hash, (const uint8_t *)pw,
		    strlen(pw)) != 0) {
			w->bad = 1;
			break;
		}
		w->count++;
	}
	w->done_us = lglogins_now_us();
	return (NULL);
}

/* pwhash: crypto_pwhash_str_verify rate at the interactive cost. */
int
lglogins_pwhash(struct lg *lg)
{
	struct lglogins_worker	*w;
	char			 hash[SC_PWHASH_LEN];
	uint64_t		 t0, last = 0, total = 0;
	int			 i, started = 0, rc = -1;

	if (sc_pwhash(hash, (const uint8_t *)LG_PASSWORD,
	    strlen(LG_PASSWORD), SC_COST_INTERACTIVE) != 0) {
		loadgen_fail(lg, "crypto_pwhash_str failed (memory?)");
		return (-1);
	}
	if ((w = calloc((size_t)lg->o.threads, sizeof(*w))) == NULL)
		return (-1);
	t0 = lglogins_now_us();
	for (i = 0; i < lg->o.threads; i++) {
		w[i].hash = hash;
		w[i].end_us = t0 + (uint64_t)(lg->o.duration * 1e6);
		if (pthread_create(&w[i].th, NULL, lglogins_worker, &w[i])
		    != 0) {
			loadgen_fail(lg, "pthread_create failed");
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].count;
		if (w[i].done_us > last)
			last = w[i].done_us;
		if (w[i].bad)
			loadgen_fail(lg, "a verification failed");
	}
	if (!lg->failed && started == lg->o.threads) {
		printf("pwhash threads=%d cost=interactive seconds=%.2f "
		    "verifies=%llu verifies_per_s=%.1f\n", lg->o.threads,
		    (double)(last - t0) / 1e6, (unsigned long long)total,
		    last > t0 ? (double)total * 1e6 / (double)(last - t0) : 0);
		fflush(stdout);
		rc = 0;
	}
	free(w);
	sc_wipe(hash, sizeof(hash));
	return (rc);
}
