/* SPDX-License-Identifier: ISC */
/*
 * Registration of the client's UDP endpoint (docs/protocol.md, section 9).
 * UDPREG gives a reg_id and a key over the encrypted channel; from then on
 * the client sends REGISTER from its UDP socket to the server's UDP port:
 * at once, again every 500 ms until a REGISTERED comes back (ten tries),
 * then whenever nothing went to the server for udp_keepalive seconds, so
 * that the NAT keeps the mapping the relay and the peers use.  Each
 * REGISTER has a counter of its own, from 0, never used twice with the
 * key; a REGISTERED is taken only for a counter we sent and higher than
 * any answered before, with our reg_id, when it opens and carries a valid
 * endpoint followed by a zero byte: where the server saw us.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <net/if.h>
#include <netinet/in.h>

#include <ifaddrs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "reg.h"

struct reg {
	struct event		*timer;
	struct reg_ops		 ops;
	void			*arg;
	uint64_t		(*now)(void);
	int			 keepalive_ms;

	int			 started;
	union path_sa		 server;
	socklen_t		 serverlen;
	uint64_t		 reg_id;
	struct sc_reg_keys	 keys;
	int			 relay;

	uint64_t		 ctr;		/* the next REGISTER's */
	uint64_t		 answered;	/* newest answered + 1 */
	int			 tries;		/* REGISTERs before an answer */
	int			 registered;
	struct sc_cand		 pub;
	uint64_t		 last_reg;	/* the last REGISTER */
	uint64_t		 last_tx;	/* anything to the server */
	struct reg_stats	 stats;
};

static void	reg_timer_cb(evutil_socket_t, short, void *);

/* Makes a reg with nothing to register yet. */
struct reg *
reg_new(struct event_base *base, int keepalive_ms, uint64_t (*now)(void),
    const struct reg_ops *ops, void *arg)
{
	struct reg	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	if ((r->timer = evtimer_new(base, reg_timer_cb, r)) == NULL) {
		free(r);
		return (NULL);
	}
	r->ops = *ops;
	r->arg = arg;
	r->now = now;
	r->keepalive_ms = keepalive_ms < 1 ? 1 : keepalive_ms;
	return (r);
}

/* Frees a reg, wiping its keys. */
void
reg_free(struct reg *r)
{
	if (r == NULL)
		return;
	event_free(r->timer);
	sc_wipe(r, sizeof(*r));
	free(r);
}

/* When the next REGISTER is due. */
uint64_t
reg_next(const struct reg *r)
{
	if (!r->started || r->ctr == UINT64_MAX)
		return (0);
	if (!r->registered && r->tries < REG_TRIES)
		return (r->last_reg + REG_RETRY_MS);
	return (r->last_tx + (uint64_t)r->keepalive_ms);
}

/* Arms the timer for the next REGISTER. */
static void
reg_arm(struct reg *r)
{
	struct timeval	tv;
	uint64_t	next, now, wait;

	if ((next = reg_next(r)) == 0) {
		evtimer_del(r->timer);
		return;
	}
	now = r->now();
	wait = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(r->timer, &tv);
}

/* Sends one REGISTER under the next counter. */
static void
reg_send(struct reg *r, uint64_t now)
{
	static const uint8_t	zero[SC_REG_PLAIN];
	uint8_t			d[SC_REG_LEN];

	if (r->ctr == UINT64_MAX)
		return;
	if (sc_reg_seal(d, SC_UDP_REGISTER, r->keys.c2s, r->reg_id, r->ctr,
	    zero) != 0)
		return;
	r->ctr++;
	r->last_reg = now;
	r->last_tx = now;
	if (!r->registered)
		r->tries++;
	if (r->ops.send(r->arg, d, sizeof(d), &r->server.sa,
	    r->serverlen) == 0)
		r->stats.tx++;
	log_debug("reg: register counter=%" PRIu64 " try=%d", r->ctr - 1,
	    r->tries);
}

/* Begins registering with the server's UDP endpoint. */
int
reg_start(struct reg *r, const struct sockaddr *sa, socklen_t len,
    uint64_t reg_id, const uint8_t k_reg[SC_KEY_BYTES], int relay)
{
	char	addr[64];

	if (r->started && r->reg_id == reg_id)
		return (0);
	if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    len > sizeof(r->server) || len == 0)
		return (-1);
	memset(&r->server, 0, sizeof(r->server));
	memcpy(&r->server, sa, len);
	if ((sa->sa_family == AF_INET && r->server.sin.sin_port == 0) ||
	    (sa->sa_family == AF_INET6 && r->server.sin6.sin6_port == 0))
		return (-1);
	r->serverlen = len;
	r->reg_id = reg_id;
	sc_reg_derive(&r->keys, k_reg);
	r->relay = relay != 0;
	r->ctr = 0;
	r->answered = 0;
	r->tries = 0;
	r->registered = 0;
	r->started = 1;
	util_addr_str(addr, sizeof(addr), sa);
	log_debug("reg: start server=%s relay=%d", addr, r->relay);
	reg_send(r, r->now());
	reg_arm(r);
	return (0);
}

/* Stops registering: the session that gave the reg_id is over. */
void
reg_stop(struct reg *r)
{
	if (!r->started)
		return;
	evtimer_del(r->timer);
	sc_wipe(&r->keys, sizeof(r->keys));
	r->started = 0;
	r->registered = 0;
	r->reg_id = 0;
	r->tries = 0;
	memset(&r->pub, 0, sizeof(r->pub));
	log_debug("reg: stopped");
}

/* A REGISTER now, unless one has just gone. */
void
reg_now(struct reg *r)
{
	uint64_t	now = r->now();

	if (!r->started || (r->last_reg != 0 && now - r->last_reg <
	    REG_NOW_GAP_MS))
		return;
	reg_send(r, now);
	reg_arm(r);
}

/* Something went to the server: the mapping is fresh. */
void
reg_sent(struct reg *r)
{
	r->last_tx = r->now();
}

/* Counts and logs a refused REGISTERED. */
static int
reg_drop(struct reg *r, const char *why)
{
	r->stats.drop++;
	log_debug("reg: dropped registered reason=%s", why);
	return (-1);
}

/* Checks and takes a REGISTERED. */
int
reg_input(struct reg *r, const uint8_t *d, size_t len)
{
	uint8_t		plain[SC_REG_PLAIN];
	struct sc_cand	c;
	uint64_t	ctr;
	int		first, moved;
	char		addr[64];
	union path_sa	a;

	if (!r->started)
		return (reg_drop(r, "not-registering"));
	if (len != SC_REG_LEN || d[0] != SC_UDP_REGISTERED)
		return (reg_drop(r, "size"));
	if (util_get_be64(d + 1) != r->reg_id)
		return (reg_drop(r, "reg-id"));
	ctr = util_get_be64(d + 9);
	if (ctr >= r->ctr || ctr < r->answered)
		return (reg_drop(r, "counter"));
	if (sc_reg_open(plain, r->keys.s2c, d, len) != 0)
		return (reg_drop(r, "mac"));
	if (plain[SC_ENDPOINT_BYTES] != 0 || wire_endpoint_get(&c, plain) !=
	    0 || c.port == 0)
		return (reg_drop(r, "endpoint"));
	r->answered = ctr + 1;
	r->stats.rx_ok++;
	first = !r->registered;
	moved = first || memcmp(&c, &r->pub, sizeof(c)) != 0;
	r->registered = 1;
	r->pub = c;
	if (moved && path_cand_sa(&a, &c, AF_UNSPEC, 0) != 0) {
		util_addr_str(addr, sizeof(addr), &a.sa);
		log_info("udp: registered with the server; public endpoint %s",
		    addr);
	}
	reg_arm(r);
	if (first)
		r->ops.registered(r->arg);
	return (0);
}

/* Tells whether a REGISTERED came. */
int
reg_registered(const struct reg *r)
{
	return (r->registered);
}

/* Tells whether the server relays. */
int
reg_relay(const struct reg *r)
{
	return (r->started && r->relay);
}

/* The server's UDP endpoint. */
socklen_t
reg_server(const struct reg *r, union path_sa *out)
{
	if (!r->started)
		return (0);
	*out = r->server;
	return (r->serverlen);
}

/* Our public mapping. */
int
reg_public(const struct reg *r, struct sc_cand *out)
{
	if (!r->registered)
		return (-1);
	*out = r->pub;
	return (0);
}

/* The counters. */
const struct reg_stats *
reg_stats(const struct reg *r)
{
	return (&r->stats);
}

/* Sends the REGISTER that is due. */
void
reg_run(struct reg *r)
{
	uint64_t	now = r->now(), next = reg_next(r);

	if (next != 0 && now >= next)
		reg_send(r, now);
	reg_arm(r);
}

/* The timer. */
static void
reg_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reg_run(arg);
}

/* Adds sa to the hosts when the rules let it and it is new. */
static void
reg_host_add(struct sc_cand *out, size_t *n, const struct sockaddr *sa,
    int allow_loopback)
{
	union path_sa	a;
	struct sc_cand	c;
	size_t		i;

	memset(&a, 0, sizeof(a));
	if (sa->sa_family == AF_INET) {
		memcpy(&a.sin, sa, sizeof(a.sin));
		a.sin.sin_port = htons(1);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&a.sin6, sa, sizeof(a.sin6));
		a.sin6.sin6_port = htons(1);
	} else
		return;
	if (!path_addr_ok(&a.sa, allow_loopback) ||
	    wire_cand_from_sa(&c, SC_CAND_HOST, &a.sa) != 0)
		return;
	c.port = 0;
	for (i = 0; i < *n; i++)
		if (out[i].af == c.af && memcmp(out[i].addr, c.addr, 16) == 0)
			return;
	if (*n < SC_HOST_MAX)
		out[(*n)++] = c;
}

/* The local addresses of a socket bound to bound. */
size_t
reg_hosts(const struct sockaddr *bound, int allow_loopback,
    struct sc_cand out[SC_HOST_MAX])
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	struct ifaddrs			*ifa, *i;
	size_t				 n = 0;
	int				 wild;

	memset(out, 0, SC_HOST_MAX * sizeof(*out));
	if (bound->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)bound;
		wild = sin->sin_addr.s_addr == htonl(INADDR_ANY);
	} else if (bound->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)bound;
		wild = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	} else
		return (0);
	if (!wild) {
		reg_host_add(out, &n, bound, allow_loopback);
		return (n);
	}
	if (getifaddrs(&ifa) != 0) {
		log_debug("reg: getifaddrs failed");
		return (0);
	}
	for (i = ifa; i != NULL && n < SC_HOST_MAX; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_UP) == 0 ||
		    i->ifa_addr->sa_family != bound->sa_family)
			continue;
		reg_host_add(out, &n, i->ifa_addr, allow_loopback);
	}
	freeifaddrs(ifa);
	return (n);
}
