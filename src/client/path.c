/* SPDX-License-Identifier: ISC */
/*
 * Paths to peers (docs/protocol.md, section 10).  Each pair has one path:
 * the peer's candidates, one round of checks at a time, the path chosen,
 * and a keepalive on it.  A round begins on PAIRKEY and CANDIDATES, after
 * a loss, on a PROBE of the peer when none runs, and on a schedule while
 * the relay carries the pair:
 *
 *   the peer's host and learned endpoints get a PROBE at once, then one
 *   every 100 ms until confirmed;
 *   its public (SRFLX) endpoints first get three PROBEs with a short IP TTL,
 *   10 ms apart: they open our own NAT toward the peer and die before they
 *   reach the peer's router; then one PROBE through the relay tells the
 *   peer "my NAT is open to you" (the go signal);
 *   full PROBEs to the SRFLX endpoints begin only once a PROBE of the peer
 *   arrived (its go, or its own checks), or, without a relay, 200 ms after
 *   the opening.
 *
 * Why the order: a Linux NAT that receives a packet for one of its ports
 * before its host has sent anything toward the sender keeps an unreplied
 * connection-tracking entry for it (about 30 s, refreshed by each further
 * packet) and maps its host's own flow to another port, so the holes never
 * meet.  Packets that cannot reach the other router, and real checks only
 * when the other side says it is open, make them meet.
 *
 * The first direct endpoint confirmed (a PROBE_ACK came back from it)
 * becomes the path, a host one first when several confirm within a
 * moment; with none after direct_timeout the relay does, and rounds are
 * tried again after 5 s, the wait doubling up to 60 s, so that the stale
 * entries of a failed round die in between.  A direct path gets a PROBE
 * after udp_keepalive seconds of silence; three unanswered in a row, or a
 * message unacknowledged, lose it.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "path.h"

/* PROBEs remembered until their answer (a ring: the oldest go first). */
#define PATH_PROBES	32

struct path_cand {
	union path_sa	addr;
	socklen_t	len;
	uint8_t		kind;		/* HOST, SRFLX or PATH_CAND_PRFLX */
	int		confirmed;	/* in this round */
	uint64_t	next_ms;	/* next PROBE due; 0: none */
	int		rtt_ms;		/* -1: none yet */
	uint64_t	learned;	/* PRFLX: order of learning */
};

struct path_probe {
	uint64_t	id;		/* 0: free */
	union path_sa	addr;		/* the endpoint it went to */
	int		relayed;
	int		keepalive;
	uint64_t	sent_ms;
};

struct path {
	struct event		*timer;
	struct path_conf	 conf;
	struct path_ops		 ops;
	void			*arg;
	char			 name[SC_NAME_MAX + 1];

	struct path_cand	 cand[PATH_CAND_MAX];
	size_t			 ncand;
	int			 relay;		/* the relay may be used */
	int			 relay_rtt;

	enum path_state		 state;
	union path_sa		 cur;		/* DIRECT: the endpoint */
	socklen_t		 curlen;
	int			 cur_rtt;
	uint32_t		 gen;

	/* The round of checks. */
	int			 in_round;
	uint64_t		 round_t0;
	uint64_t		 round_end;
	int			 opened;	/* opening PROBEs sent */
	uint64_t		 open_next;
	int			 open_done;
	int			 go_sent;	/* our go signal went */
	int			 go_seen;	/* a PROBE of the peer came */
	int			 full;		/* full checks to SRFLX */
	uint64_t		 full_at;	/* no go: when they begin */
	uint64_t		 choose_at;	/* choose an endpoint */
	uint64_t		 peer_probe_ms;	/* the peer's last PROBE */
	uint64_t		 learned;	/* endpoints learned so far */
	uint64_t		 next_round;	/* 0: none planned */
	uint32_t		 backoff_ms;

	/* Keeping the direct path. */
	uint64_t		 last_tx;
	uint64_t		 ka_id;
	uint64_t		 ka_sent;
	int			 misses;
	uint64_t		 lost_ms;

	/* What the owner hears when the work of a call is over. */
	int			 tell_lost;
	int			 tell_changed;

	int			 tokens;
	uint64_t		 tok_ms;
	struct path_probe	 probes[PATH_PROBES];
	size_t			 probe_next;
	struct path_stats	 stats;
};

static void	path_timer_cb(evutil_socket_t, short, void *);
static void	path_arm(struct path *);

/* The name of a state, as `peers` prints it. */
const char *
path_state_name(enum path_state st)
{
	switch (st) {
	case PATH_CHECKING:
		return ("checking");
	case PATH_DIRECT:
		return ("direct");
	case PATH_RELAY:
		return ("relay");
	}
	return ("checking");
}

/* Tells whether an IPv4 address may be sent to. */
static int
path_v4_ok(const uint8_t a[4], int allow_loopback)
{
	if (a[0] == 0)			/* 0.0.0.0/8: "this network" */
		return (0);
	if (a[0] == 127)
		return (allow_loopback);
	if (a[0] == 169 && a[1] == 254)	/* link-local */
		return (0);
	if (a[0] >= 224)		/* multicast, reserved, broadcast */
		return (0);
	return (1);
}

/* Tells whether datagrams may go to sa. */
int
path_addr_ok(const struct sockaddr *sa, int allow_loopback)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	const struct in6_addr		*a6;

	switch (sa->sa_family) {
	case AF_INET:
		if (sin->sin_port == 0)
			return (0);
		return (path_v4_ok((const uint8_t *)&sin->sin_addr,
		    allow_loopback));
	case AF_INET6:
		if (sin6->sin6_port == 0)
			return (0);
		a6 = &sin6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6))
			return (path_v4_ok(a6->s6_addr + 12, allow_loopback));
		if (IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_MULTICAST(a6) ||
		    IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_V4COMPAT(a6))
			return (0);
		if (IN6_IS_ADDR_LOOPBACK(a6))
			return (allow_loopback);
		return (1);
	default:
		return (0);
	}
}

/* Tells whether two socket addresses are the same endpoint. */
int
path_sa_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	struct sc_cand	ca, cb;

	if (wire_cand_from_sa(&ca, 0, a) != 0 ||
	    wire_cand_from_sa(&cb, 0, b) != 0)
		return (0);
	return (ca.af == cb.af && ca.port == cb.port &&
	    memcmp(ca.addr, cb.addr, ca.af == SC_AF_INET ? 4 : 16) == 0);
}

/* The address of a candidate for a socket of the family. */
socklen_t
path_cand_sa(union path_sa *out, const struct sc_cand *c, int family,
    int map_v4)
{
	memset(out, 0, sizeof(*out));
	if (c->af == SC_AF_INET && (family == AF_INET ||
	    family == AF_UNSPEC)) {
		out->sin.sin_family = AF_INET;
		memcpy(&out->sin.sin_addr, c->addr, 4);
		out->sin.sin_port = htons(c->port);
		return (sizeof(out->sin));
	}
	if (c->af == SC_AF_INET && family == AF_INET6 && map_v4) {
		out->sin6.sin6_family = AF_INET6;
		out->sin6.sin6_addr.s6_addr[10] = 0xff;
		out->sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(out->sin6.sin6_addr.s6_addr + 12, c->addr, 4);
		out->sin6.sin6_port = htons(c->port);
		return (sizeof(out->sin6));
	}
	if (c->af == SC_AF_INET6 && (family == AF_INET6 ||
	    family == AF_UNSPEC)) {
		out->sin6.sin6_family = AF_INET6;
		memcpy(&out->sin6.sin6_addr, c->addr, 16);
		out->sin6.sin6_port = htons(c->port);
		return (sizeof(out->sin6));
	}
	return (0);
}

/*
 * Sends one datagram with a TTL of its own.  An IPv4-mapped destination
 * on an IPv6 socket leaves as IPv4, so both settings are made for it; each
 * value read is put back, whatever the send did.
 */
ssize_t
path_sendto_ttl(int fd, const void *buf, size_t len,
    const struct sockaddr *sa, socklen_t salen, int ttl)
{
	const struct sockaddr_in6	*sin6;
	int				 level[2], opt[2], old[2];
	socklen_t			 olen;
	size_t				 n = 0, i, set = 0;
	ssize_t				 rc = -1;
	int				 saved;

	if (sa->sa_family == AF_INET) {
		level[n] = IPPROTO_IP;
		opt[n++] = IP_TTL;
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		level[n] = IPPROTO_IPV6;
		opt[n++] = IPV6_UNICAST_HOPS;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			level[n] = IPPROTO_IP;
			opt[n++] = IP_TTL;
		}
	} else {
		errno = EAFNOSUPPORT;
		return (-1);
	}
	for (i = 0; i < n; i++) {
		olen = sizeof(old[i]);
		if (getsockopt(fd, level[i], opt[i], &old[i], &olen) != 0 ||
		    setsockopt(fd, level[i], opt[i], &ttl, sizeof(ttl)) != 0)
			goto out;
		set++;
	}
	rc = sendto(fd, buf, len, 0, sa, salen);
out:
	saved = errno;
	for (i = 0; i < set; i++)
		(void)setsockopt(fd, level[i], opt[i], &old[i], sizeof(old[i]));
	errno = saved;
	return (rc);
}

/* Makes a path with no candidates. */
struct path *
path_new(struct event_base *base, const struct path_conf *conf,
    const char *name, const struct path_ops *ops, void *arg)
{
	struct path	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->conf = *conf;
	if (p->conf.direct_timeout_ms < 1)
		p->conf.direct_timeout_ms = 1;
	if (p->conf.keepalive_ms < 1)
		p->conf.keepalive_ms = 1;
	p->ops = *ops;
	p->arg = arg;
	strlcpy(p->name, name, sizeof(p->name));
	if ((p->timer = evtimer_new(base, path_timer_cb, p)) == NULL) {
		free(p);
		return (NULL);
	}
	p->state = PATH_CHECKING;
	p->gen = 1;
	p->relay_rtt = -1;
	p->cur_rtt = -1;
	p->backoff_ms = PATH_UPGRADE_MS;
	p->tokens = PATH_BURST;
	p->tok_ms = p->conf.now();
	return (p);
}

/* Frees a path. */
void
path_free(struct path *p)
{
	if (p == NULL)
		return;
	event_free(p->timer);
	free(p);
}

/* Takes one token from a bucket that gains one every rate_ms. */
static int
path_bucket(int *tokens, uint64_t *at, int burst, int rate_ms,
    uint64_t now)
{
	uint64_t	n;

	if (now < *at)
		*at = now;
	n = (now - *at) / (uint64_t)rate_ms;
	if (n >= (uint64_t)burst)
		*tokens = burst;
	else if (n > 0)
		*tokens = *tokens + (int)n > burst ? burst : *tokens + (int)n;
	*at += n * (uint64_t)rate_ms;
	if (*tokens <= 0)
		return (-1);
	return (0);
}

/* Takes a token for one PROBE from the pair's and the shared bucket. */
static int
path_token(struct path *p, uint64_t now)
{
	struct path_limit	*l = p->conf.limit;

	if (l != NULL && l->at_ms == 0) {
		l->tokens = PATH_SHARED_BURST;
		l->at_ms = now;
	}
	if (path_bucket(&p->tokens, &p->tok_ms, PATH_BURST, PATH_RATE_MS,
	    now) != 0 || (l != NULL && path_bucket(&l->tokens, &l->at_ms,
	    PATH_SHARED_BURST, PATH_SHARED_RATE_MS, now) != 0)) {
		p->stats.limited++;
		return (-1);
	}
	p->tokens--;
	if (l != NULL)
		l->tokens--;
	return (0);
}

/* Remembers a PROBE until its answer; its id (never 0). */
static uint64_t
path_remember(struct path *p, const union path_sa *to, int relayed,
    int keepalive, uint64_t now)
{
	struct path_probe	*pr;

	pr = &p->probes[p->probe_next++ % PATH_PROBES];
	memset(pr, 0, sizeof(*pr));
	do {
		pr->id = sc_random_u64();
	} while (pr->id == 0);
	if (to != NULL)
		pr->addr = *to;
	pr->relayed = relayed;
	pr->keepalive = keepalive;
	pr->sent_ms = now;
	return (pr->id);
}

/*
 * Sends a PROBE to a direct endpoint; keepalives are not held to the
 * rate.  The id, or 0 when nothing was sent.
 */
static uint64_t
path_probe_to(struct path *p, const union path_sa *to, socklen_t len,
    int ttl, int keepalive, uint64_t now)
{
	uint64_t	id;

	if (!keepalive && path_token(p, now) != 0)
		return (0);
	id = path_remember(p, to, 0, keepalive, now);
	if (p->ops.probe(p->arg, id, &to->sa, len, ttl) != 0)
		return (0);
	p->stats.probes++;
	if (ttl > 0)
		p->stats.opening++;
	if (p->state == PATH_DIRECT && ttl == 0 && path_sa_equal(&to->sa,
	    &p->cur.sa))
		p->last_tx = now;
	return (id);
}

/* Sends the go signal, a PROBE through the relay. */
static void
path_probe_relay(struct path *p, uint64_t now)
{
	uint64_t	id;

	if (!p->relay || path_token(p, now) != 0)
		return;
	id = path_remember(p, NULL, 1, 0, now);
	p->go_sent = 1;
	if (p->ops.probe_relay(p->arg, id) == 0)
		p->stats.relayed++;
}

/* The index of the candidate at sa, or -1. */
static ssize_t
path_find(const struct path *p, const struct sockaddr *sa)
{
	size_t	i;

	for (i = 0; i < p->ncand; i++)
		if (path_sa_equal(&p->cand[i].addr.sa, sa))
			return ((ssize_t)i);
	return (-1);
}

/* How much a kind of endpoint is preferred: lower first. */
static int
path_rank(uint8_t kind)
{
	switch (kind) {
	case SC_CAND_HOST:
		return (0);
	case PATH_CAND_PRFLX:
		return (1);
	default:
		return (2);
	}
}

/* Logs a change of a path with its endpoint. */
static void
path_log(const struct path *p, const char *what, const struct sockaddr *sa)
{
	char	addr[64];

	if (sa != NULL)
		util_addr_str(addr, sizeof(addr), sa);
	else
		strlcpy(addr, "-", sizeof(addr));
	log_debug("path: %s peer=%s state=%s addr=%s", what, p->name,
	    path_state_name(p->state), addr);
}

/* Begins a round of checks. */
static void
path_round_begin(struct path *p, uint64_t now)
{
	size_t	i;

	p->in_round = 1;
	p->round_t0 = now;
	p->round_end = now + (uint64_t)p->conf.direct_timeout_ms;
	p->opened = 0;
	p->open_next = now;
	p->open_done = 0;
	p->go_sent = 0;
	p->go_seen = p->peer_probe_ms != 0 && now - p->peer_probe_ms <
	    (uint64_t)p->conf.direct_timeout_ms;
	p->full = 0;
	p->full_at = 0;
	p->choose_at = 0;
	p->next_round = 0;
	for (i = 0; i < p->ncand; i++) {
		p->cand[i].confirmed = 0;
		p->cand[i].next_ms = p->cand[i].kind == SC_CAND_SRFLX ? 0 :
		    now;
	}
	p->stats.rounds++;
	log_debug("path: round peer=%s state=%s candidates=%zu relay=%d "
	    "go=%d", p->name, path_state_name(p->state), p->ncand, p->relay,
	    p->go_seen);
}

/* Enters a state; a new path, so messages learn of it. */
static void
path_enter(struct path *p, enum path_state st)
{
	p->state = st;
	p->gen++;
	p->tell_changed = 1;
}

/*
 * The best endpoint confirmed in this round: a host one before a learned
 * one before a public one, then the quickest; -1 when none is.
 */
static ssize_t
path_best(const struct path *p)
{
	ssize_t	best = -1;
	size_t	i;
	int	r, rb;

	for (i = 0; i < p->ncand; i++) {
		if (!p->cand[i].confirmed)
			continue;
		r = path_rank(p->cand[i].kind);
		rb = best == -1 ? 0 : path_rank(p->cand[best].kind);
		if (best == -1 || r < rb || (r == rb &&
		    p->cand[i].rtt_ms < p->cand[best].rtt_ms))
			best = (ssize_t)i;
	}
	return (best);
}

/* Takes candidate i as the direct path. */
static void
path_take(struct path *p, size_t i, uint64_t now)
{
	size_t	j;

	p->cur = p->cand[i].addr;
	p->curlen = p->cand[i].len;
	p->cur_rtt = p->cand[i].rtt_ms;
	path_enter(p, PATH_DIRECT);
	p->backoff_ms = PATH_UPGRADE_MS;
	p->next_round = 0;
	p->in_round = 0;
	for (j = 0; j < p->ncand; j++)
		p->cand[j].next_ms = 0;
	p->last_tx = now;
	p->ka_id = 0;
	p->misses = 0;
	path_log(p, "chosen", &p->cur.sa);
}

/* Without a direct path, the best endpoint confirmed becomes it. */
static void
path_choose(struct path *p, uint64_t now)
{
	ssize_t	best;

	p->choose_at = 0;
	if (p->state != PATH_DIRECT && (best = path_best(p)) != -1)
		path_take(p, (size_t)best, now);
}

/* Plans the next round after the wait, which doubles each time. */
static void
path_plan_round(struct path *p, uint64_t now)
{
	p->next_round = now + p->backoff_ms;
	p->backoff_ms = p->backoff_ms * 2 > PATH_UPGRADE_MAX_MS ?
	    PATH_UPGRADE_MAX_MS : p->backoff_ms * 2;
}

/* A round ended without a new path. */
static void
path_round_over(struct path *p, uint64_t now)
{
	size_t	i;
	ssize_t	k;

	p->in_round = 0;
	for (i = 0; i < p->ncand; i++)
		p->cand[i].next_ms = 0;
	if (p->state == PATH_DIRECT) {
		/* The endpoint in use did not answer, another did: move. */
		if ((k = path_find(p, &p->cur.sa)) != -1 &&
		    !p->cand[k].confirmed && (k = path_best(p)) != -1)
			path_take(p, (size_t)k, now);
		return;
	}
	if (p->state == PATH_CHECKING && p->relay) {
		path_enter(p, PATH_RELAY);
		path_log(p, "no direct path; relay", NULL);
	} else
		log_debug("path: round over peer=%s state=%s", p->name,
		    path_state_name(p->state));
	path_plan_round(p, now);
}

/* The work of a round that is due now. */
static void
path_round_step(struct path *p, uint64_t now)
{
	struct path_cand	*c;
	size_t			 i, nsrflx = 0;

	for (i = 0; i < p->ncand; i++)
		if (p->cand[i].kind == SC_CAND_SRFLX)
			nsrflx++;
	/*
	 * Open our NAT toward the public endpoints; the go signal follows
	 * the first opening PROBEs, which have opened it: the peer's full
	 * checks come after its own opening, by when ours are all sent.
	 */
	if (!p->open_done && nsrflx == 0)
		p->open_done = 1;
	if (!p->open_done && p->conf.punch_ttl > 0 &&
	    p->opened < PATH_OPEN_COUNT && now >= p->open_next) {
		for (i = 0; i < p->ncand; i++) {
			c = &p->cand[i];
			if (c->kind == SC_CAND_SRFLX && !c->confirmed)
				(void)path_probe_to(p, &c->addr, c->len,
				    p->conf.punch_ttl, 0, now);
		}
		if (p->opened++ == 0 && p->relay && !p->go_sent)
			path_probe_relay(p, now);
		p->open_next = now + PATH_OPEN_GAP_MS;
	}
	if (!p->open_done && (p->conf.punch_ttl == 0 ||
	    p->opened >= PATH_OPEN_COUNT)) {
		p->open_done = 1;
		if (p->relay) {
			if (!p->go_sent)
				path_probe_relay(p, now);
		} else
			p->full_at = now + PATH_NO_GO_MS;
	}
	/* Full checks to public endpoints once the peer is open too. */
	if (p->open_done && !p->full && nsrflx > 0 && (p->go_seen ||
	    (p->full_at != 0 && now >= p->full_at))) {
		p->full = 1;
		for (i = 0; i < p->ncand; i++)
			if (p->cand[i].kind == SC_CAND_SRFLX)
				p->cand[i].next_ms = now;
	}
	for (i = 0; i < p->ncand; i++) {
		c = &p->cand[i];
		if (c->confirmed || c->next_ms == 0 || now < c->next_ms)
			continue;
		c->next_ms = now + PATH_CHECK_MS;
		(void)path_probe_to(p, &c->addr, c->len, 0, 0, now);
	}
	if (p->choose_at != 0 && now >= p->choose_at)
		path_choose(p, now);
	if (p->in_round && now >= p->round_end)
		path_round_over(p, now);
}

/*
 * The path stopped working.  From a direct path, the relay takes over
 * when it can and direct checks wait for the schedule; without a relay
 * they begin again at once, since nothing else could carry the messages.
 * The server hears of it at most once a second.
 */
static void
path_lost(struct path *p, uint64_t now)
{
	p->stats.losses++;
	p->ka_id = 0;
	p->misses = 0;
	p->last_tx = now;
	p->backoff_ms = PATH_UPGRADE_MS;
	path_log(p, "lost", p->state == PATH_DIRECT ? &p->cur.sa : NULL);
	if (p->state == PATH_DIRECT && p->relay) {
		path_enter(p, PATH_RELAY);
		path_plan_round(p, now);
	} else if (p->state == PATH_DIRECT) {
		path_enter(p, PATH_CHECKING);
		path_round_begin(p, now);
	} else {
		/* A new relay generation: its messages lose it only once. */
		if (p->state == PATH_RELAY)
			path_enter(p, PATH_RELAY);
		if (!p->in_round)
			path_round_begin(p, now);
	}
	if (p->lost_ms == 0 || now - p->lost_ms >= PATH_LOST_GAP_MS) {
		p->lost_ms = now;
		p->tell_lost = 1;
	}
}

/* Keepalive of a direct path: a PROBE after silence, misses counted. */
static void
path_keepalive_step(struct path *p, uint64_t now)
{
	if (p->state != PATH_DIRECT)
		return;
	if (p->ka_id != 0) {
		if (now < p->ka_sent + PATH_KA_WAIT_MS)
			return;
		p->ka_id = 0;
		p->misses++;
		log_debug("path: keepalive missed peer=%s misses=%d",
		    p->name, p->misses);
		if (p->misses >= PATH_KA_MISSES) {
			path_lost(p, now);
			return;
		}
	} else if (now < p->last_tx + (uint64_t)p->conf.keepalive_ms)
		return;
	p->ka_sent = now;
	p->last_tx = now;
	p->ka_id = path_probe_to(p, &p->cur, p->curlen, 0, 1, now);
	if (p->ka_id == 0)
		p->ka_id = UINT64_MAX;	/* not sent: never answered */
}

/* Does what is due at now. */
static void
path_step(struct path *p, uint64_t now)
{
	path_keepalive_step(p, now);
	if (!p->in_round && p->next_round != 0 && now >= p->next_round)
		path_round_begin(p, now);
	if (p->in_round)
		path_round_step(p, now);
}

/* Tells the owner what happened, then waits for what is due next. */
static void
path_settle(struct path *p)
{
	if (p->tell_lost) {
		p->tell_lost = 0;
		p->ops.lost(p->arg);
	}
	if (p->tell_changed) {
		p->tell_changed = 0;
		p->ops.changed(p->arg);
	}
	path_arm(p);
}

/* Lowers *next to t when t is set (not 0) and sooner. */
static void
path_sooner(uint64_t *next, uint64_t t)
{
	if (t != 0 && (*next == 0 || t < *next))
		*next = t;
}

/* When the next thing is due. */
uint64_t
path_next(const struct path *p)
{
	const struct path_cand	*c;
	uint64_t		 next = 0;
	size_t			 i;

	if (p->in_round) {
		path_sooner(&next, p->round_end);
		if (!p->open_done)
			path_sooner(&next, p->open_next);
		if (p->open_done && !p->full)
			path_sooner(&next, p->full_at);
		path_sooner(&next, p->choose_at);
		for (i = 0; i < p->ncand; i++) {
			c = &p->cand[i];
			if (!c->confirmed)
				path_sooner(&next, c->next_ms);
		}
	} else
		path_sooner(&next, p->next_round);
	if (p->state == PATH_DIRECT) {
		if (p->ka_id != 0)
			path_sooner(&next, p->ka_sent + PATH_KA_WAIT_MS);
		else
			path_sooner(&next, p->last_tx +
			    (uint64_t)p->conf.keepalive_ms);
	}
	return (next);
}

/* Arms the timer for what is due next. */
static void
path_arm(struct path *p)
{
	struct timeval	tv;
	uint64_t	next, now, wait;

	if ((next = path_next(p)) == 0) {
		evtimer_del(p->timer);
		return;
	}
	now = p->conf.now();
	wait = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(p->timer, &tv);
}

/* The timer: what is due. */
static void
path_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	path_run(arg);
}

/* Does what is due now. */
void
path_run(struct path *p)
{
	path_step(p, p->conf.now());
	path_settle(p);
}

/* Learns the endpoint of a PROBE that opened: its index, or -1. */
static ssize_t
path_learn(struct path *p, const struct sockaddr *sa)
{
	struct path_cand	*c;
	ssize_t			 old = -1;
	size_t			 i, n = 0;

	for (i = 0; i < p->ncand; i++) {
		c = &p->cand[i];
		if (c->kind != PATH_CAND_PRFLX)
			continue;
		n++;
		if (c->confirmed || (p->state == PATH_DIRECT &&
		    path_sa_equal(&c->addr.sa, &p->cur.sa)))
			continue;
		if (old == -1 || c->learned < p->cand[old].learned)
			old = (ssize_t)i;
	}
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return (-1);
	if (n < PATH_PRFLX_MAX && p->ncand < PATH_CAND_MAX)
		c = &p->cand[p->ncand++];
	else if (old != -1)
		c = &p->cand[old];
	else
		return (-1);
	memset(c, 0, sizeof(*c));
	c->len = sa->sa_family == AF_INET ? sizeof(c->addr.sin) :
	    sizeof(c->addr.sin6);
	memcpy(&c->addr, sa, c->len);
	c->kind = PATH_CAND_PRFLX;
	c->rtt_ms = -1;
	c->learned = ++p->learned;
	path_log(p, "learned", sa);
	return (c - p->cand);
}

/* Tells whether a host endpoint is still being checked. */
static int
path_host_pending(const struct path *p)
{
	size_t	i;

	for (i = 0; i < p->ncand; i++)
		if (p->cand[i].kind == SC_CAND_HOST &&
		    !p->cand[i].confirmed && p->cand[i].next_ms != 0)
			return (1);
	return (0);
}

/* The peer's candidates: a new list, and checks when it changed. */
void
path_set_candidates(struct path *p, const struct sc_cand *c, size_t n,
    int force)
{
	struct path_cand	 nc[PATH_CAND_MAX];
	union path_sa		 a;
	socklen_t		 len;
	size_t			 i, j, nn = 0;
	ssize_t			 k;
	int			 changed;
	uint64_t		 now = p->conf.now();
	char			 addr[64];

	for (i = 0; i < n && nn < SC_CAND_MAX; i++) {
		if (c[i].kind != SC_CAND_HOST && c[i].kind != SC_CAND_SRFLX) {
			p->stats.refused++;
			continue;
		}
		if ((len = path_cand_sa(&a, &c[i], p->conf.family,
		    p->conf.map_v4)) == 0)
			continue;	/* another family than our socket */
		if (!path_addr_ok(&a.sa, p->conf.allow_loopback)) {
			p->stats.refused++;
			util_addr_str(addr, sizeof(addr), &a.sa);
			log_debug("path: refused peer=%s addr=%s", p->name,
			    addr);
			continue;
		}
		for (j = 0; j < nn; j++)
			if (path_sa_equal(&nc[j].addr.sa, &a.sa))
				break;
		if (j < nn)
			continue;
		memset(&nc[nn], 0, sizeof(nc[nn]));
		nc[nn].addr = a;
		nc[nn].len = len;
		nc[nn].kind = c[i].kind;
		nc[nn].rtt_ms = -1;
		if ((k = path_find(p, &a.sa)) != -1)
			nc[nn].rtt_ms = p->cand[k].rtt_ms;
		nn++;
	}
	/* Changed: the server's list is not the one held. */
	for (i = 0, j = 0; i < p->ncand; i++)
		if (p->cand[i].kind != PATH_CAND_PRFLX)
			j++;
	changed = nn != j;
	for (i = 0; i < nn && !changed; i++)
		changed = (k = path_find(p, &nc[i].addr.sa)) == -1 ||
		    p->cand[k].kind != nc[i].kind;
	/* Learned endpoints stay, and so does the one in use. */
	for (i = 0; i < p->ncand && nn < PATH_CAND_MAX; i++) {
		if (p->cand[i].kind != PATH_CAND_PRFLX &&
		    !(p->state == PATH_DIRECT &&
		    path_sa_equal(&p->cand[i].addr.sa, &p->cur.sa)))
			continue;
		for (j = 0; j < nn; j++)
			if (path_sa_equal(&nc[j].addr.sa, &p->cand[i].addr.sa))
				break;
		if (j == nn) {
			nc[nn] = p->cand[i];
			nc[nn++].kind = PATH_CAND_PRFLX;
		}
	}
	memcpy(p->cand, nc, nn * sizeof(nc[0]));
	p->ncand = nn;
	if (force || changed || p->stats.rounds == 0)
		path_round_begin(p, now);
	path_step(p, now);
	path_settle(p);
}

/* Whether the relay may carry the pair. */
void
path_set_relay(struct path *p, int usable)
{
	uint64_t	now = p->conf.now();

	usable = usable != 0;
	if (p->relay == usable)
		return;
	p->relay = usable;
	log_debug("path: relay peer=%s usable=%d", p->name, usable);
	if (!usable && p->state == PATH_RELAY) {
		path_enter(p, PATH_CHECKING);
		if (!p->in_round)
			path_round_begin(p, now);
	} else if (usable && p->state == PATH_CHECKING && !p->in_round &&
	    p->stats.rounds > 0)
		path_enter(p, PATH_RELAY);
	else if (usable && p->in_round && p->open_done && !p->go_sent &&
	    p->full_at != 0) {
		/* Opened before the relay could be used: the go goes now. */
		p->full_at = 0;
		path_probe_relay(p, now);
	}
	path_step(p, now);
	path_settle(p);
}

/*
 * A PROBE of the peer opened.  It is the peer's go signal (its NAT is open
 * toward us) for a round that runs; outside a round, while no direct path
 * is held, it begins one, at most once per two direct_timeouts.  A direct
 * PROBE from an endpoint we had no candidate for teaches us one.
 */
void
path_probe_in(struct path *p, const struct sockaddr *sa, socklen_t len,
    int relayed)
{
	uint64_t	now = p->conf.now();
	ssize_t		i;

	(void)len;
	if (!relayed) {
		if (!path_addr_ok(sa, p->conf.allow_loopback)) {
			p->stats.refused++;
			return;
		}
		if ((i = path_find(p, sa)) == -1)
			i = path_learn(p, sa);
		if (i != -1 && p->in_round && !p->cand[i].confirmed &&
		    p->cand[i].next_ms == 0)
			p->cand[i].next_ms = now;
	}
	p->peer_probe_ms = now;
	if (p->in_round)
		p->go_seen = 1;
	else if (p->state != PATH_DIRECT && (p->stats.rounds == 0 ||
	    now - p->round_t0 >= 2 * (uint64_t)p->conf.direct_timeout_ms))
		path_round_begin(p, now);
	path_step(p, now);
	path_settle(p);
}

/* A PROBE_ACK opened: it confirms the endpoint it came from. */
int
path_probe_ack(struct path *p, uint64_t id, const struct sockaddr *sa,
    socklen_t len, int relayed)
{
	struct path_probe	*pr = NULL;
	struct path_cand	*c;
	uint64_t		 now = p->conf.now(), rtt;
	size_t			 i;
	ssize_t			 k;

	(void)len;
	for (i = 0; i < PATH_PROBES; i++)
		if (id != 0 && p->probes[i].id == id) {
			pr = &p->probes[i];
			break;
		}
	if (pr == NULL || pr->relayed != relayed || (!relayed &&
	    !path_sa_equal(&pr->addr.sa, sa))) {
		p->stats.stray_acks++;
		return (-1);
	}
	rtt = now - pr->sent_ms;
	if (rtt > INT_MAX)
		rtt = INT_MAX;
	pr->id = 0;
	if (relayed) {
		p->relay_rtt = (int)rtt;
		return (0);
	}
	if (p->state == PATH_DIRECT && path_sa_equal(&p->cur.sa, sa)) {
		p->cur_rtt = (int)rtt;
		p->misses = 0;
		if (pr->keepalive && p->ka_id == id)
			p->ka_id = 0;
	}
	if ((k = path_find(p, sa)) != -1) {
		c = &p->cand[k];
		c->rtt_ms = (int)rtt;
		if (p->in_round && !c->confirmed) {
			c->confirmed = 1;
			c->next_ms = 0;
			path_log(p, "confirmed", sa);
			if (p->state != PATH_DIRECT && (c->kind ==
			    SC_CAND_HOST || !path_host_pending(p)))
				p->choose_at = now;
			else if (p->state != PATH_DIRECT && p->choose_at == 0)
				p->choose_at = now + PATH_SETTLE_MS;
		}
	}
	path_step(p, now);
	path_settle(p);
	return (0);
}

/* A datagram left on the direct path: it is not idle. */
void
path_sent(struct path *p, const struct sockaddr *sa, socklen_t len,
    int relayed)
{
	(void)len;
	if (p->state == PATH_DIRECT && !relayed && path_sa_equal(sa,
	    &p->cur.sa))
		p->last_tx = p->conf.now();
}

/* A message went unacknowledged on the path. */
void
path_lose(struct path *p)
{
	uint64_t	now = p->conf.now();

	if (p->state == PATH_CHECKING)
		return;
	path_lost(p, now);
	path_step(p, now);
	path_settle(p);
}

/* Probes now: the candidates being checked, or a new round. */
void
path_kick(struct path *p)
{
	uint64_t	now = p->conf.now();
	size_t		i;

	if (p->in_round) {
		for (i = 0; i < p->ncand; i++)
			if (!p->cand[i].confirmed && p->cand[i].next_ms != 0)
				p->cand[i].next_ms = now;
	} else if (p->state != PATH_DIRECT)
		path_round_begin(p, now);
	path_step(p, now);
	path_settle(p);
}

/* The state of the path. */
enum path_state
path_state(const struct path *p)
{
	return (p->state);
}

/* The generation of the path. */
uint32_t
path_gen(const struct path *p)
{
	return (p->gen);
}

/* The direct endpoint in use. */
socklen_t
path_target(const struct path *p, union path_sa *out)
{
	if (p->state != PATH_DIRECT)
		return (0);
	*out = p->cur;
	return (p->curlen);
}

/* What `peers` shows. */
void
path_info(const struct path *p, struct path_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = p->state;
	info->rtt_ms = -1;
	if (p->state == PATH_DIRECT) {
		info->addr = p->cur;
		info->rtt_ms = p->cur_rtt;
	} else if (p->state == PATH_RELAY)
		info->rtt_ms = p->relay_rtt;
}

/* The path's counters. */
const struct path_stats *
path_stats(const struct path *p)
{
	return (&p->stats);
}
