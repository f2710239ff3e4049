/* SPDX-License-Identifier: ISC */
/*
 * The login storm, against sealchatd or an IRC server, and the sign-up of
 * the accounts it uses.  N clients connect and log in; at most `window`
 * connections wait for the server's first answer (sealchat: the CONFIRM of
 * the handshake; IRC: the first line, which the PING sent after NICK and
 * USER provokes at once), so the listen backlog never overflows into SYN
 * retransmissions.  Each client tracks which of the N users it has been
 * told about, in one bit per user.  The storm ends when every client knows
 * all N: its initial list plus the online events cover everyone (N(N-1)/2
 * presence deliveries in all, plus the initial lists).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealchat/util.h"

#include "loadgen.h"

#define LGSTORM_IRC_CHAN	"#bench"
#define LGSTORM_RETRY_MS	20
#define LGSTORM_MK_WINDOW	32

struct lgstorm;

struct lgstorm_client {
	struct lgconn		*c;
	struct lgstorm		*s;
	int			 idx;
	int			 seen;		/* users known, self excluded */
	int			 greeted;	/* the server has answered */
	int			 logged;
	int			 done;
	uint64_t		 t_connect;
};

struct lgstorm {
	struct lg		*lg;
	int			 n;
	int			 irc;
	struct lgstorm_client	*cl;
	struct handshake_client	*hs;		/* one prepared HELLO each */
	uint8_t			*bits;		/* n rows of row bytes */
	size_t			 row;
	int			 next;
	int			 inflight;
	int			 logged;
	int			 done;
	uint64_t		 t0;
	uint64_t		 t_end;
	double			 cpu0;
	double			 cpu_end;
	double			 self0;
	double			 self_end;
	double			*login_ms;
	uint64_t		 entries;
	uint64_t		 busy;
	struct event		*ka_ev;
};

/* One sign-up slot of mkusers. */
struct lgstorm_mk;

struct lgstorm_slot {
	struct lgconn		*c;
	struct lgstorm_mk	*mk;
	struct handshake_client	 hs;
	int			 idx;
	int			 busy;
};

struct lgstorm_mk {
	struct lg		*lg;
	struct lgstorm_slot	*slots;
	int			 nslots;
	int			 next;
	int			 end;
	int			 active;
	int			 created;
	int			 existed;
	uint64_t		 busy;
};

/* Sends SIGN or AUTH for user idx. */
static int
lgstorm_cred(struct lgconn *c, uint8_t type, int idx)
{
	struct wbuf	wb;
	char		name[SC_NAME_MAX + 1];
	int		r;

	wbuf_init(&wb);
	loadgen_user_name(c->lg, name, sizeof(name), idx);
	wire_enc_cred(&wb, type, name, (const uint8_t *)LG_PASSWORD,
	    strlen(LG_PASSWORD));
	r = lgconn_send_msg(c, &wb);
	wbuf_free(&wb);
	return (r);
}

/* Connects more clients while fewer than `window` logins are in flight. */
static void
lgstorm_launch(struct lgstorm *s)
{
	struct lgstorm_client	*cl;

	while (s->inflight < s->lg->o.window && s->next < s->n &&
	    !s->lg->failed) {
		cl = &s->cl[s->next++];
		cl->t_connect = util_now_ms();
		s->inflight++;
		if (lgconn_connect(cl->c, s->irc ? NULL : &s->hs[cl->idx],
		    s->irc) == -1) {
			loadgen_fail(s->lg, "connect: %s", strerror(errno));
			return;
		}
	}
}

/* Notes that client cl is now told that user `name` is on or off line. */
static void
lgstorm_mark(struct lgstorm *s, struct lgstorm_client *cl, const char *name,
    size_t len, int online)
{
	uint8_t	*row, bit;
	int	 i;

	s->entries++;
	i = loadgen_user_index(s->lg, name, len);
	if (i < 0 || i >= s->n || (!s->irc && i == cl->idx))
		return;
	row = s->bits + (size_t)cl->idx * s->row + ((size_t)i >> 3);
	bit = (uint8_t)(1u << (i & 7));
	if (online && !(*row & bit)) {
		*row |= bit;
		cl->seen++;
	} else if (!online && (*row & bit)) {
		*row &= (uint8_t)~bit;
		cl->seen--;
	}
}

/* Counts the client done once it knows every user; ends the storm at N. */
static void
lgstorm_check(struct lgstorm *s, struct lgstorm_client *cl)
{
	int	want = s->irc ? s->n : s->n - 1;

	if (cl->done || !cl->logged || cl->seen < want)
		return;
	cl->done = 1;
	if (++s->done < s->n)
		return;
	s->t_end = util_now_ms();
	s->self_end = loadgen_self_cpu();
	if (s->lg->o.server_pid > 0 &&
	    loadgen_proc_cpu(s->lg->o.server_pid, &s->cpu_end) == -1)
		s->cpu_end = -1;
	event_base_loopbreak(s->lg->base);
}

/* The server answered a client for the first time: frees a window slot. */
static void
lgstorm_greeted(struct lgstorm *s, struct lgstorm_client *cl)
{
	if (cl->greeted)
		return;
	cl->greeted = 1;
	s->inflight--;
	lgstorm_launch(s);
}

/* A login finished. */
static void
lgstorm_logged(struct lgstorm *s, struct lgstorm_client *cl)
{
	cl->logged = 1;
	s->login_ms[s->logged++] = (double)(util_now_ms() - cl->t_connect);
	lgstorm_greeted(s, cl);
}

/* Sends AUTH again after the server said it was busy. */
static void
lgstorm_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgstorm_client	*cl = arg;

	(void)fd;
	(void)what;
	if (cl->c->state == LGCONN_CHANNEL &&
	    lgstorm_cred(cl->c, SC_MSG_AUTH, cl->idx) == -1)
		loadgen_fail(cl->s->lg, "cannot send AUTH");
}

/* sealchat: the channel is up; log in. */
static void
lgstorm_up(struct lgconn *c)
{
	struct lgstorm_client	*cl = c->arg;

	if (lgstorm_cred(c, SC_MSG_AUTH, cl->idx) == -1)
		loadgen_fail(c->lg, "cannot send AUTH");
	else
		lgstorm_greeted(cl->s, cl);
}

/* Whether a name is the prefix then only digits (one of ours). */
static int
lgstorm_ours(const struct lgstorm *s, const uint8_t *p, size_t n)
{
	const char	*prefix = s->lg->o.prefix;
	size_t		 i, plen = s->lg->prefix_len;

	if (n <= plen)
		return (0);
	for (i = 0; i < plen; i++)
		if (p[i] != (uint8_t)prefix[i])
			return (0);
	for (; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return (0);
	return (1);
}

/*
 * sealchat fast path for the two messages that carry the fan-out, USERS
 * and PRESENCE: a bounds-checked walk over the entries that takes each
 * name's index straight from the bytes.  The full decoder checks every name
 * twice and copies it, which at N = 10000 (10^8 entries) would make this
 * process, not the server, the bottleneck.  A malformed list ends the run.
 */
static int
lgstorm_raw(struct lgconn *c, const uint8_t *msg, size_t len)
{
	struct lgstorm_client	*cl = c->arg;
	struct lgstorm		*s = cl->s;
	size_t			 off, n;
	int			 ev = 1, events;

	if (len < 1 || (msg[0] != SC_MSG_USERS && msg[0] != SC_MSG_PRESENCE))
		return (0);
	events = msg[0] == SC_MSG_PRESENCE;
	if (events) {
		if (len < 3)
			return (-1);
		off = 1;
	} else {
		if (len < 2 || (msg[1] & ~(SC_USERS_MORE | SC_USERS_REPLY)))
			return (-1);
		if (msg[1] & SC_USERS_REPLY)
			return (1);
		off = 2;
	}
	while (off < len) {
		if (events) {
			if ((ev = msg[off++]) > SC_PRESENCE_ONLINE ||
			    off >= len)
				return (-1);
		}
		n = msg[off++];
		if (n < SC_NAME_MIN || n > SC_NAME_MAX || n > len - off)
			return (-1);
		/* prefix + digits is a valid name; check any other. */
		if (!lgstorm_ours(s, msg + off, n) &&
		    !wire_name_valid((const char *)msg + off, n))
			return (-1);
		lgstorm_mark(s, cl, (const char *)msg + off, n, ev);
		off += n;
	}
	lgstorm_check(s, cl);
	return (1);
}

/* sealchat: one message from the server. */
static void
lgstorm_msg(struct lgconn *c, const struct sc_msg *m)
{
	struct lgstorm_client	*cl = c->arg;
	struct lgstorm		*s = cl->s;
	struct timeval		 tv = { 0, LGSTORM_RETRY_MS * 1000 };
	char			 name[SC_NAME_MAX + 1];
	size_t			 off = 0;
	int			 online;

	switch (m->type) {
	case SC_MSG_OK:
		if (m->req != SC_MSG_AUTH || cl->logged) {
			loadgen_fail(c->lg, "unexpected OK");
			return;
		}
		lgstorm_logged(s, cl);
		break;
	case SC_MSG_USERS:
		if (m->flags & SC_USERS_REPLY)
			return;
		while (wire_users_next(m, &off, name) == 1)
			lgstorm_mark(s, cl, name, strlen(name), 1);
		break;
	case SC_MSG_PRESENCE:
		while (wire_presence_next(m, &off, &online, name) == 1)
			lgstorm_mark(s, cl, name, strlen(name), online);
		break;
	case SC_MSG_ERROR:
		if (m->req == SC_MSG_AUTH && m->code == SC_ERR_BUSY) {
			s->busy++;
			if (event_base_once(c->lg->base, -1, EV_TIMEOUT,
			    lgstorm_retry_cb, cl, &tv) == -1)
				loadgen_fail(c->lg, "cannot arm a timer");
			return;
		}
		loadgen_user_name(c->lg, name, sizeof(name), cl->idx);
		loadgen_fail(c->lg, "%s: error from the server: %s%s", name,
		    wire_err_str(m->code), m->code == SC_ERR_CREDENTIALS ?
		    " (run mkusers first)" : "");
		return;
	case SC_MSG_GOODBYE:
		loadgen_fail(c->lg, "client %d: GOODBYE: %s", cl->idx,
		    wire_bye_str(m->code));
		return;
	case SC_MSG_PONG:
		return;
	default:
		loadgen_fail(c->lg, "unexpected message type 0x%02x", m->type);
		return;
	}
	lgstorm_check(s, cl);
}

/* A client's connection ended before the storm did. */
static void
lgstorm_down(struct lgconn *c, const char *why)
{
	struct lgstorm_client	*cl = c->arg;

	loadgen_fail(c->lg, "client %d (%d/%d logged in, %d/%d complete): %s",
	    cl->idx, cl->s->logged, cl->s->n, cl->s->done, cl->s->n, why);
}

/* Sends an IRC line (CR LF added). */
static int
lgstorm_irc_send(struct lgconn *c, const char *line)
{
	char	buf[600];
	int	n;

	n = snprintf(buf, sizeof(buf), "%s\r\n", line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return (-1);
	return (lgconn_send_raw(c, buf, (size_t)n));
}

/* IRC: connected; register. */
static void
lgstorm_irc_up(struct lgconn *c)
{
	struct lgstorm_client	*cl = c->arg;
	char			 name[SC_NAME_MAX + 1], buf[160];

	loadgen_user_name(c->lg, name, sizeof(name), cl->idx);
	snprintf(buf, sizeof(buf), "NICK %s\r\nUSER %s 0 * :%s\r\n"
	    "PING :greet\r\n", name, name, name);
	if (lgconn_send_raw(c, buf, strlen(buf)) == -1)
		loadgen_fail(c->lg, "cannot send to the IRC server");
}

/* IRC: the names in a 353 (NAMES) reply's trailing parameter. */
static void
lgstorm_irc_names(struct lgstorm *s, struct lgstorm_client *cl, char *p)
{
	char	*tok, *save = NULL;

	for (tok = strtok_r(p, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		while (*tok == '@' || *tok == '+' || *tok == '%' ||
		    *tok == '~' || *tok == '&' || *tok == '!')
			tok++;
		lgstorm_mark(s, cl, tok, strlen(tok), 1);
	}
}

/* IRC: one line from the server. */
static void
lgstorm_irc_line(struct lgconn *c, char *line, size_t len)
{
	struct lgstorm_client	*cl = c->arg;
	struct lgstorm		*s = cl->s;
	char			*prefix = NULL, *cmd, *params, *p, buf[560];

	(void)len;
	lgstorm_greeted(s, cl);
	cmd = line;
	if (*cmd == ':') {
		prefix = cmd + 1;
		if ((p = strchr(cmd, ' ')) == NULL)
			return;
		*p = '\0';
		cmd = p + 1;
	}
	if ((p = strchr(cmd, ' ')) != NULL) {
		*p = '\0';
		params = p + 1;
	} else
		params = cmd + strlen(cmd);

	if (strcmp(cmd, "JOIN") == 0 || strcmp(cmd, "PART") == 0 ||
	    strcmp(cmd, "QUIT") == 0) {
		if (prefix == NULL)
			return;
		if ((p = strchr(prefix, '!')) != NULL)
			*p = '\0';
		lgstorm_mark(s, cl, prefix, strlen(prefix), cmd[0] == 'J');
		lgstorm_check(s, cl);
	} else if (strcmp(cmd, "353") == 0) {
		if ((p = strstr(params, " :")) != NULL) {
			lgstorm_irc_names(s, cl, p + 2);
			lgstorm_check(s, cl);
		}
	} else if (strcmp(cmd, "PING") == 0) {
		snprintf(buf, sizeof(buf), "PONG %s", params);
		if (lgstorm_irc_send(c, buf) == -1)
			loadgen_fail(c->lg, "cannot answer PING");
	} else if (strcmp(cmd, "001") == 0) {
		if (cl->logged)
			return;
		lgstorm_logged(s, cl);
		if (lgstorm_irc_send(c, "JOIN " LGSTORM_IRC_CHAN) == -1)
			loadgen_fail(c->lg, "cannot send JOIN");
	} else if (strcmp(cmd, "ERROR") == 0 || strcmp(cmd, "432") == 0 ||
	    strcmp(cmd, "433") == 0 || strcmp(cmd, "465") == 0 ||
	    strcmp(cmd, "471") == 0 || strcmp(cmd, "405") == 0) {
		loadgen_fail(c->lg, "client %d: IRC server said: %s %.200s",
		    cl->idx, cmd, params);
	}
}

/* Pings every logged-in sealchat client that has been quiet too long. */
static void
lgstorm_ka_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgstorm	*s = arg;
	struct lgconn	*c;
	struct wbuf	 wb;
	uint64_t	 now = util_now_ms();
	int		 i;

	(void)fd;
	(void)what;
	wbuf_init(&wb);
	wire_enc_ping(&wb, SC_MSG_PING, now);
	for (i = 0; i < s->next; i++) {
		c = s->cl[i].c;
		if (c->state != LGCONN_CHANNEL || c->ka_interval == 0 ||
		    now - c->last_tx_ms < (uint64_t)c->ka_interval * 500)
			continue;
		if (lgconn_send_msg(c, &wb) == -1) {
			loadgen_fail(s->lg, "cannot send PING");
			break;
		}
	}
	wbuf_free(&wb);
}

/* Frees a storm's clients and tables. */
static void
lgstorm_free(struct lgstorm *s)
{
	int	i;

	if (s->cl != NULL)
		for (i = 0; i < s->n; i++)
			lgconn_free(s->cl[i].c);
	if (s->hs != NULL) {
		for (i = 0; i < s->n; i++)
			handshake_client_wipe(&s->hs[i]);
		free(s->hs);
	}
	if (s->ka_ev != NULL)
		event_free(s->ka_ev);
	free(s->cl);
	free(s->bits);
	free(s->login_ms);
}

/* Runs the storm against sealchatd (irc 0) or an IRC server (irc 1). */
static int
lgstorm_run(struct lg *lg, int irc)
{
	static const struct lgconn_ops sc_ops = {
		.up = lgstorm_up, .raw = lgstorm_raw, .msg = lgstorm_msg,
		.down = lgstorm_down,
	};
	static const struct lgconn_ops irc_ops = {
		.up = lgstorm_irc_up, .line = lgstorm_irc_line,
		.down = lgstorm_down,
	};
	struct lgstorm	 s;
	struct timeval	 tv = { 1, 0 };
	long		 rss0 = -1, rss1 = -1, hwm = -1, hwm_dummy;
	double		 secs, p50, p99;
	uint64_t	 frames = 0;
	int		 i, rc = -1;
	pid_t		 pid = lg->o.server_pid;

	memset(&s, 0, sizeof(s));
	s.lg = lg;
	s.n = lg->o.n;
	s.irc = irc;
	s.row = ((size_t)s.n + 7) / 8;
	s.cl = calloc((size_t)s.n, sizeof(*s.cl));
	s.bits = calloc((size_t)s.n, s.row);
	s.login_ms = calloc((size_t)s.n, sizeof(*s.login_ms));
	if (!irc)
		s.hs = calloc((size_t)s.n, sizeof(*s.hs));
	if (s.cl == NULL || s.bits == NULL || s.login_ms == NULL ||
	    (!irc && s.hs == NULL)) {
		loadgen_fail(lg, "out of memory");
		goto out;
	}
	for (i = 0; i < s.n; i++) {
		s.cl[i].s = &s;
		s.cl[i].idx = i;
		s.cl[i].c = lgconn_new(lg, irc ? &irc_ops : &sc_ops, &s.cl[i]);
		if (s.cl[i].c == NULL) {
			loadgen_fail(lg, "out of memory");
			goto out;
		}
		/* A client's HELLO does not depend on its connection. */
		if (!irc && handshake_client_hello(&s.hs[i],
		    lg->server_pk) != 0) {
			loadgen_fail(lg, "cannot make a HELLO");
			goto out;
		}
	}
	if (!irc) {
		s.ka_ev = event_new(lg->base, -1, EV_PERSIST, lgstorm_ka_cb,
		    &s);
		if (s.ka_ev == NULL || event_add(s.ka_ev, &tv) == -1) {
			loadgen_fail(lg, "cannot arm the keepalive timer");
			goto out;
		}
	}

	if (pid > 0) {
		if (loadgen_settle(lg, 10) == -1 ||
		    loadgen_proc_mem(pid, &rss0, &hwm_dummy) == -1 ||
		    loadgen_proc_cpu(pid, &s.cpu0) == -1) {
			loadgen_fail(lg, "cannot read /proc/%ld", (long)pid);
			goto out;
		}
	}
	s.self0 = loadgen_self_cpu();
	s.t0 = util_now_ms();
	lgstorm_launch(&s);
	if (!lg->failed)
		event_base_dispatch(lg->base);
	if (lg->failed)
		goto out;
	if (s.done != s.n) {
		loadgen_fail(lg, "stopped with %d/%d complete", s.done, s.n);
		goto out;
	}
	secs = (double)(s.t_end - s.t0) / 1000.0;
	if (pid > 0) {
		/*
		 * Idle means quiet for a while: past its once-a-second
		 * housekeeping, where the server hands freed memory back.
		 */
		struct timespec	idle = { 1, 200 * 1000 * 1000 };

		if (loadgen_settle(lg, 10) == -1 ||
		    nanosleep(&idle, NULL) == -1 ||
		    loadgen_proc_mem(pid, &rss1, &hwm) == -1) {
			loadgen_fail(lg, "cannot read /proc/%ld", (long)pid);
			goto out;
		}
	}
	for (i = 0; i < s.n; i++)
		frames += s.cl[i].c->frames_in;
	p50 = loadgen_pct(s.login_ms, (size_t)s.logged, 50);
	p99 = loadgen_pct(s.login_ms, (size_t)s.logged, 99);
	printf("%s n=%d seconds=%.3f server_cpu=%.2f client_cpu=%.2f "
	    "peak_rss_kb=%ld rss_before_kb=%ld rss_after_kb=%ld "
	    "rss_per_session_b=%ld login_p50_ms=%.0f login_p99_ms=%.0f "
	    "entries=%llu frames=%llu busy=%llu window=%d\n",
	    irc ? "irc" : "storm", s.n, secs,
	    pid > 0 && s.cpu_end >= 0 ? s.cpu_end - s.cpu0 : -1.0,
	    s.self_end - s.self0, hwm, rss0, rss1,
	    pid > 0 ? (rss1 - rss0) * 1024 / s.n : -1, p50, p99,
	    (unsigned long long)s.entries, (unsigned long long)frames,
	    (unsigned long long)s.busy,
	    lg->o.window);
	fflush(stdout);
	rc = 0;
out:
	lgstorm_free(&s);
	return (rc);
}

/* storm: N sealchat logins. */
int
lgstorm_storm(struct lg *lg)
{
	return (lgstorm_run(lg, 0));
}

/* irc: the same workload on an IRC server (NICK, USER, JOIN one channel). */
int
lgstorm_irc(struct lg *lg)
{
	return (lgstorm_run(lg, 1));
}

static void	lgstorm_mk_next(struct lgstorm_slot *);

/* mkusers: the sign-up slot's channel is up; send SIGN. */
static void
lgstorm_mk_up(struct lgconn *c)
{
	struct lgstorm_slot	*sl = c->arg;

	if (lgstorm_cred(c, SC_MSG_SIGN, sl->idx) == -1)
		loadgen_fail(c->lg, "cannot send SIGN");
}

/* mkusers: SIGN again after the server said it was busy. */
static void
lgstorm_mk_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgstorm_slot	*sl = arg;

	(void)fd;
	(void)what;
	if (sl->c->state == LGCONN_CHANNEL &&
	    lgstorm_cred(sl->c, SC_MSG_SIGN, sl->idx) == -1)
		loadgen_fail(sl->c->lg, "cannot send SIGN");
}

/* mkusers: the answer to SIGN (presence notices are ignored). */
static void
lgstorm_mk_msg(struct lgconn *c, const struct sc_msg *m)
{
	struct lgstorm_slot	*sl = c->arg;
	struct timeval		 tv = { 0, LGSTORM_RETRY_MS * 1000 };
	char			 name[SC_NAME_MAX + 1];

	switch (m->type) {
	case SC_MSG_OK:
		sl->mk->created++;
		break;
	case SC_MSG_ERROR:
		if (m->code == SC_ERR_TAKEN) {
			sl->mk->existed++;
			break;
		}
		if (m->code == SC_ERR_BUSY) {
			sl->mk->busy++;
			if (event_base_once(c->lg->base, -1, EV_TIMEOUT,
			    lgstorm_mk_retry_cb, sl, &tv) == -1)
				loadgen_fail(c->lg, "cannot arm a timer");
			return;
		}
		loadgen_user_name(c->lg, name, sizeof(name), sl->idx);
		loadgen_fail(c->lg, "SIGN %s: %s", name, wire_err_str(m->code));
		return;
	case SC_MSG_GOODBYE:
		loadgen_fail(c->lg, "GOODBYE: %s", wire_bye_str(m->code));
		return;
	default:
		return;
	}
	lgconn_close(c);
	lgstorm_mk_next(sl);
}

/* mkusers: a connection ended before its SIGN was answered. */
static void
lgstorm_mk_down(struct lgconn *c, const char *why)
{
	struct lgstorm_slot	*sl = c->arg;

	loadgen_fail(c->lg, "signing up user %d: %s", sl->idx, why);
}

/* Starts the slot on the next user, or retires it. */
static void
lgstorm_mk_next(struct lgstorm_slot *sl)
{
	struct lgstorm_mk	*mk = sl->mk;

	if (mk->next >= mk->end || mk->lg->failed) {
		if (--mk->active == 0)
			event_base_loopbreak(mk->lg->base);
		return;
	}
	sl->idx = mk->next++;
	if (handshake_client_hello(&sl->hs, mk->lg->server_pk) != 0) {
		loadgen_fail(mk->lg, "cannot make a HELLO");
		return;
	}
	if (lgconn_connect(sl->c, &sl->hs, 0) == -1)
		loadgen_fail(mk->lg, "connect: %s", strerror(errno));
}

/* mkusers: signs up users first .. first+n-1 (existing ones count too). */
int
lgstorm_mkusers(struct lg *lg)
{
	static const struct lgconn_ops ops = {
		.up = lgstorm_mk_up, .msg = lgstorm_mk_msg,
		.down = lgstorm_mk_down,
	};
	struct lgstorm_mk	 mk;
	uint64_t		 t0;
	int			 i, rc = -1;

	memset(&mk, 0, sizeof(mk));
	mk.lg = lg;
	mk.next = lg->o.first;
	mk.end = lg->o.first + lg->o.n;
	mk.nslots = lg->o.window < LGSTORM_MK_WINDOW ? lg->o.window :
	    LGSTORM_MK_WINDOW;
	if (mk.nslots > lg->o.n)
		mk.nslots = lg->o.n;
	if ((mk.slots = calloc((size_t)mk.nslots, sizeof(*mk.slots))) == NULL)
		return (-1);
	for (i = 0; i < mk.nslots; i++) {
		mk.slots[i].mk = &mk;
		if ((mk.slots[i].c = lgconn_new(lg, &ops, &mk.slots[i])) ==
		    NULL)
			goto out;
	}
	t0 = util_now_ms();
	mk.active = mk.nslots;
	for (i = 0; i < mk.nslots; i++)
		lgstorm_mk_next(&mk.slots[i]);
	if (!lg->failed)
		event_base_dispatch(lg->base);
	if (lg->failed || mk.created + mk.existed != lg->o.n)
		goto out;
	printf("mkusers n=%d created=%d existed=%d seconds=%.2f busy=%llu\n",
	    lg->o.n, mk.created, mk.existed,
	    (double)(util_now_ms() - t0) / 1000.0,
	    (unsigned long long)mk.busy);
	fflush(stdout);
	rc = 0;
out:
	for (i = 0; i < mk.nslots; i++) {
		lgconn_free(mk.slots[i].c);
		handshake_client_wipe(&mk.slots[i].hs);
	}
	free(mk.slots);
	return (rc);
}
