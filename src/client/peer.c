/* SPDX-License-Identifier: ISC */
/*
 * Peer datagrams.  Receiving order of checks: byte 0 (a REGISTERED goes to
 * reg.c, and only from the server's endpoint; INIT and RESP to the
 * handshake), size, version, pair_id, keys (none before the handshake
 * ends), the replay window (a read-only test, cheap), the AEAD open, and
 * only then the window moves.  So a forged datagram, whatever counter it
 * claims, changes nothing, and a dropped datagram never disturbs the
 * traffic after it.
 * Keys are found by pair_id, never by the source address; but answers (ACK,
 * PROBE_ACK) go to the source of the datagram they answer, which is how a
 * datagram that came through the relay is answered through it, and a
 * source that the address rules refuse gets no answer.
 *
 * Sending: a message goes on the pair's path (path.c), or waits while it
 * has none.  Each message has one timer, armed for retry_interval_ms after
 * each transmission (or, waiting, after each tick): when it fires without
 * an ACK, the path the message went on, if still the pair's, is lost; then
 * the message goes again on the path the pair has now, same msg_id and a
 * new counter, so nothing is lost and the receiver's window of ids shows
 * it once.  A message is sent at most 1 + send_retries times and lives at
 * most about twice send_retries + 1 intervals.
 *
 * The handshake (docs/protocol.md, section 8.1): the initiator (the name
 * that sorts first) makes its INIT once and sends those same bytes as
 * each PROBE its path asks for while it has no keys, so INIT finds the
 * peer on every path a check would, the NAT opening and the go signal
 * through the relay included; once the relay is the path, INIT goes
 * through it, at once and then on a timer that doubles up to
 * PEER_HS_RETRY_MAX_MS, which otherwise begins a round of checks.  The
 * responder runs no checks before INIT: it answers each INIT that opens
 * with RESP to its source, and the same RESP to every copy of that INIT
 * until the first datagram under the new keys opens.  Then each side's
 * checks go on with PROBEs under the handshake's keys: the initiator's
 * candidates are probed again at once, the responder's round begins with
 * INIT's source as the peer's first PROBE.  No key of the server's opens
 * any datagram of a pair: Kxy is only mixed into the handshake.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/peerhs.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "path.h"
#include "peer.h"
#include "reg.h"
#include "replay.h"

/* Datagrams read per wake-up before the loop gets a turn. */
#define PEER_READS_PER_WAKE	64
/* Payload: kind (1), msg_id (8), text. */
#define PEER_PAYLOAD_HDR	9
#define PEER_PAYLOAD_MAX	(PEER_PAYLOAD_HDR + SC_TEXT_MAX)
#define PEER_DGRAM_MIN		(SC_DGRAM_HDR + PEER_PAYLOAD_HDR + SC_MAC_BYTES)
/* The initiator's INIT again at most this far apart. */
#define PEER_HS_RETRY_MAX_MS	8000

struct peer;

struct peer_pair {
	struct peer		*peer;
	char			 name[SC_NAME_MAX + 1];
	uint64_t		 pair_id;
	uint8_t			 flags;		/* PAIRKEY, CANDIDATES */
	struct sc_pair_keys	 keys;		/* from the handshake */
	uint64_t		 tx_ctr;	/* next counter to send */
	struct replay		 rx;		/* counters received */
	struct replay		 ids;		/* msg_ids shown */
	uint64_t		 next_id;	/* next msg_id to send */
	struct path		*path;
	struct util_bucket	 answers;	/* MSGs and PROBEs taken */
	uint8_t			 idkey[SC_KEY_BYTES];	/* the peer's */
	int			 self_pair;	/* a user with itself */
	int			 initiator;	/* we begin the handshake */
	int			 blocked;	/* identity key not trusted */
	int			 keyed;		/* the keys exist */
	int			 started;	/* the path has candidates */
	struct peerhs		 hs;
	uint8_t			 hs_out[PEERHS_LEN];	/* INIT, or RESP */
	uint8_t			 hs_in[PEERHS_LEN];	/* INIT answered */
	int			 hs_cached;	/* RESP kept for copies */
	struct event		*hs_ev;		/* INIT again */
	int			 hs_wait_ms;
	struct sc_cand		 cand[SC_CAND_MAX];	/* the peer's */
	size_t			 ncand;
};

struct peer_out {
	TAILQ_ENTRY(peer_out)	 entry;
	struct peer		*peer;
	char			 to[SC_NAME_MAX + 1];
	uint64_t		 pair_id;
	uint64_t		 msg_id;
	int			 tries;		/* resends used up */
	int			 due;		/* to go on the next path */
	uint32_t		 sent_gen;	/* the path it last went on */
	enum path_state		 sent_state;
	struct event		*timer;
	size_t			 len;
	uint8_t			 text[SC_TEXT_MAX];
};

TAILQ_HEAD(peer_outq, peer_out);

/* Where a datagram came from. */
struct peer_src {
	const struct sockaddr	*sa;
	socklen_t		 len;
	int			 relayed;	/* the server's endpoint */
	int			 ok;		/* may be answered */
};

struct peer {
	struct event_base	*base;
	struct peer_cb		 cb;
	void			*arg;
	struct peer_conf	 conf;
	char			 self[SC_NAME_MAX + 1];
	const struct sc_keypair	*id;		/* our identity */
	int			 fd;
	uint16_t		 port;
	union path_sa		 bound;		/* the socket's address */
	int			 map_v4;	/* IPv6 socket reaches IPv4 */
	union path_sa		 server;	/* the server (TCP) */
	socklen_t		 serverlen;
	int			 allow_loopback;
	struct reg		*reg;
	struct path_limit	 limit;		/* PROBEs of all pairs */
	struct event		*read_ev;
	struct peer_pair	*pairs[PEER_PAIRS_MAX];
	size_t			 npairs;
	struct peer_outq	 outq;
	size_t			 nout;
	struct peer_stats	 stats;
	char			 ignored[PEER_IGNORE_MAX][SC_NAME_MAX + 1];
	size_t			 nignored;
};

static int	peer_reg_send(void *, const uint8_t *, size_t,
		    const struct sockaddr *, socklen_t);
static void	peer_reg_registered(void *);
static int	peer_path_probe(void *, uint64_t, const struct sockaddr *,
		    socklen_t, int);
static int	peer_path_probe_relay(void *, uint64_t);
static void	peer_path_changed(void *);
static void	peer_path_lost(void *);
static int	peer_sendto(struct peer *, const uint8_t *, size_t,
		    const struct sockaddr *, socklen_t, int);

static const struct reg_ops peer_reg_ops = {
	.send = peer_reg_send,
	.registered = peer_reg_registered,
};

static const struct path_ops peer_path_ops = {
	.probe = peer_path_probe,
	.probe_relay = peer_path_probe_relay,
	.changed = peer_path_changed,
	.lost = peer_path_lost,
};

/* Makes an empty peer table. */
struct peer *
peer_new(struct event_base *base, const struct peer_cb *cb, void *arg,
    const struct peer_conf *conf)
{
	struct peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->base = base;
	p->cb = *cb;
	p->arg = arg;
	p->conf = *conf;
	if (p->conf.retries < 0)
		p->conf.retries = 0;
	if (p->conf.retry_ms < 1)
		p->conf.retry_ms = 1;
	if (p->conf.keepalive_s < 1)
		p->conf.keepalive_s = 1;
	p->fd = -1;
	TAILQ_INIT(&p->outq);
	p->reg = reg_new(base, p->conf.keepalive_s * 1000, util_now_ms,
	    &peer_reg_ops, p);
	if (p->reg == NULL) {
		free(p);
		return (NULL);
	}
	return (p);
}

/* Unlinks and frees one waiting message. */
static void
peer_out_free(struct peer *p, struct peer_out *o)
{
	TAILQ_REMOVE(&p->outq, o, entry);
	p->nout--;
	if (o->timer != NULL)
		event_free(o->timer);
	sc_wipe(o->text, sizeof(o->text));
	free(o);
}

/*
 * Gives up on one waiting message: unlinks and frees it, then tells the
 * client with the one sentence every such failure prints.
 */
static void
peer_out_fail(struct peer *p, struct peer_out *o)
{
	char	to[SC_NAME_MAX + 1];
	char	why[64 + SC_NAME_MAX];

	strlcpy(to, o->to, sizeof(to));
	peer_out_free(p, o);
	snprintf(why, sizeof(why), "no acknowledgement from %s", to);
	p->cb.failed(p->arg, to, why);
}

/* Wipes and frees one pair entry (already unlinked). */
static void
peer_pair_free(struct peer_pair *pp)
{
	if (pp->hs_ev != NULL)
		event_free(pp->hs_ev);
	peerhs_wipe(&pp->hs);
	path_free(pp->path);
	sc_wipe(pp, sizeof(*pp));
	free(pp);
}

/* Frees everything, wiping keys. */
void
peer_free(struct peer *p)
{
	struct peer_out	*o;
	size_t		 i;

	if (p == NULL)
		return;
	log_debug("peer: stats rx=%" PRIu64 " drop_size=%" PRIu64
	    " drop_version=%" PRIu64 " drop_unknown=%" PRIu64
	    " drop_replay=%" PRIu64 " drop_mac=%" PRIu64
	    " drop_payload=%" PRIu64 " drop_source=%" PRIu64 " dup=%" PRIu64
	    " probes=%" PRIu64 " tx=%" PRIu64 " tx_err=%" PRIu64
	    " resent=%" PRIu64 " hs_sent=%" PRIu64 " hs_dup=%" PRIu64
	    " drop_blocked=%" PRIu64 " drop_early=%" PRIu64
	    " drop_handshake=%" PRIu64, p->stats.rx_ok, p->stats.drop_size,
	    p->stats.drop_version, p->stats.drop_unknown,
	    p->stats.drop_replay, p->stats.drop_mac, p->stats.drop_payload,
	    p->stats.drop_source, p->stats.dup_msgs, p->stats.probes,
	    p->stats.tx, p->stats.tx_err, p->stats.resent, p->stats.hs_sent,
	    p->stats.hs_dup, p->stats.drop_blocked, p->stats.drop_early,
	    p->stats.drop_handshake);
	while ((o = TAILQ_FIRST(&p->outq)) != NULL)
		peer_out_free(p, o);
	for (i = 0; i < p->npairs; i++)
		peer_pair_free(p->pairs[i]);
	reg_free(p->reg);
	if (p->read_ev != NULL)
		event_free(p->read_ev);
	if (p->fd != -1)
		close(p->fd);
	free(p);
}

/*
 * Reads every datagram waiting, up to a bound per wake-up.  The socket is
 * not connected, so ICMP errors are not reported on it; an error from one
 * read does not stop the others.
 */
static void
peer_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer		*p = arg;
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	uint8_t			 buf[SC_DGRAM_MAX + 1];
	ssize_t			 n;
	int			 i, e;

	(void)what;
	for (i = 0; i < PEER_READS_PER_WAKE; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
		    (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if ((e = errno) == EAGAIN || e == EWOULDBLOCK)
				return;
			log_debug("peer: recvfrom: %s", strerror(e));
			if (e == EINTR || e == ECONNREFUSED ||
			    e == EHOSTUNREACH || e == ENETUNREACH)
				continue;
			return;
		}
		/* MSG_TRUNC reports the real length of an oversize one. */
		peer_input(p, buf, (size_t)n > sizeof(buf) ? sizeof(buf) :
		    (size_t)n, (struct sockaddr *)&from, fromlen);
	}
}

/* Opens the UDP socket on the given address. */
int
peer_open(struct peer *p, const struct sockaddr *sa, socklen_t len,
    char *err, size_t errlen)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss), olen;
	int			fd = -1, v6only = 1;

	if (p->fd != -1) {
		snprintf(err, errlen, "the UDP socket is already open");
		return (-1);
	}
	if ((fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (bind(fd, sa, len) != 0) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		goto fail;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0 ||
	    sslen > sizeof(p->bound)) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		goto fail;
	}
	memset(&p->bound, 0, sizeof(p->bound));
	memcpy(&p->bound, &ss, sslen);
	if (ss.ss_family == AF_INET)
		p->port = ntohs(p->bound.sin.sin_port);
	else if (ss.ss_family == AF_INET6) {
		p->port = ntohs(p->bound.sin6.sin6_port);
		olen = sizeof(v6only);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    &olen) != 0)
			v6only = 1;
		p->map_v4 = !v6only &&
		    IN6_IS_ADDR_UNSPECIFIED(&p->bound.sin6.sin6_addr);
	}
	p->read_ev = event_new(p->base, fd, EV_READ | EV_PERSIST,
	    peer_read_cb, p);
	if (p->read_ev == NULL || event_add(p->read_ev, NULL) != 0) {
		snprintf(err, errlen, "cannot watch the UDP socket");
		goto fail;
	}
	p->fd = fd;
	log_debug("peer: udp socket port=%u", p->port);
	return (0);
fail:
	if (p->read_ev != NULL) {
		event_free(p->read_ev);
		p->read_ev = NULL;
	}
	if (fd != -1)
		close(fd);
	p->port = 0;
	return (-1);
}

/*
 * Opens the UDP socket where the configuration says: a numeric address, or
 * "auto" for the local address of the connection to the server (the
 * interface that reaches it), and the port (0: any).
 */
int
peer_listen(struct peer *p, const char *address, uint16_t port,
    const struct sockaddr *local, socklen_t local_len, char *err,
    size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct addrinfo		 hints, *ai = NULL;
	char			 why[256];
	int			 rc;

	memset(&ss, 0, sizeof(ss));
	if (strcmp(address, "auto") == 0) {
		if (local == NULL || local_len > sizeof(ss)) {
			snprintf(err, errlen, "cannot find the local address "
			    "of the connection");
			return (-1);
		}
		memcpy(&ss, local, local_len);
		sslen = local_len;
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_DGRAM;
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
		rc = getaddrinfo(address, NULL, &hints, &ai);
		if (rc != 0 || ai->ai_addrlen > sizeof(ss)) {
			snprintf(err, errlen, "bad udp_address %s: %s", address,
			    rc != 0 ? gai_strerror(rc) : "address too long");
			if (ai != NULL)
				freeaddrinfo(ai);
			return (-1);
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sslen = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	if (peer_open(p, (struct sockaddr *)&ss, sslen, why,
	    sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot open the UDP socket: %s", why);
		return (-1);
	}
	return (0);
}

/* The UDP port in use. */
uint16_t
peer_port(const struct peer *p)
{
	return (p->fd == -1 ? 0 : p->port);
}

/* Sets our own name. */
void
peer_set_self(struct peer *p, const char *name)
{
	strlcpy(p->self, name, sizeof(p->self));
}

/* Sets our identity key pair. */
void
peer_set_identity(struct peer *p, const struct sc_keypair *id)
{
	p->id = id;
}

/* Tells whether sa is a loopback address. */
static int
peer_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		return ((ntohl(sin->sin_addr.s_addr) >> 24) == 127);
	if (sa->sa_family == AF_INET6)
		return (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127));
	return (0);
}

/* The server's address; loopback peers are allowed only with it there. */
void
peer_set_server(struct peer *p, const struct sockaddr *sa, socklen_t len)
{
	if (len == 0 || len > sizeof(p->server))
		return;
	memset(&p->server, 0, sizeof(p->server));
	memcpy(&p->server, sa, len);
	p->serverlen = len;
	p->allow_loopback = peer_is_loopback(sa);
}

/* The local addresses of the socket. */
size_t
peer_hosts(const struct peer *p, struct sc_cand out[SC_HOST_MAX])
{
	if (p->fd == -1)
		return (0);
	return (reg_hosts(&p->bound.sa, p->allow_loopback, out));
}

/*
 * Sends one datagram, with a short TTL when ttl > 0.  Errors are counted
 * and returned (errno), never fatal: ICMP from a dead candidate, a full
 * buffer.  Anything to the server's endpoint keeps its mapping fresh.
 */
static int
peer_sendto(struct peer *p, const uint8_t *d, size_t len,
    const struct sockaddr *to, socklen_t tolen, int ttl)
{
	union path_sa	srv;
	socklen_t	srvlen;
	ssize_t		n;
	int		rc;

	if (p->fd == -1)
		return (ENOTCONN);
	if (ttl > 0)
		n = path_sendto_ttl(p->fd, d, len, to, tolen, ttl);
	else
		n = sendto(p->fd, d, len, 0, to, tolen);
	if (n < 0) {
		rc = errno;
		p->stats.tx_err++;
		log_debug("peer: sendto: %s", strerror(rc));
		return (rc);
	}
	p->stats.tx++;
	if ((srvlen = reg_server(p->reg, &srv)) != 0 &&
	    path_sa_equal(to, &srv.sa))
		reg_sent(p->reg);
	return (0);
}

/* reg.c sends a REGISTER. */
static int
peer_reg_send(void *arg, const uint8_t *d, size_t len,
    const struct sockaddr *to, socklen_t tolen)
{
	return (peer_sendto(arg, d, len, to, tolen, 0) == 0 ? 0 : -1);
}

/* Tells whether the relay may carry the pair. */
static int
peer_relay_usable(const struct peer *p, const struct peer_pair *pp)
{
	return ((pp->flags & SC_PAIR_RELAY) != 0 && reg_registered(p->reg) &&
	    strcmp(pp->name, p->self) != 0);
}

/* The server knows our endpoint: pairs with a relay may use it now. */
static void
peer_reg_registered(void *arg)
{
	struct peer	*p = arg;
	size_t		 i;

	for (i = 0; i < p->npairs; i++)
		path_set_relay(p->pairs[i]->path,
		    peer_relay_usable(p, p->pairs[i]));
}

/* UDPREG: register with the server's UDP port. */
int
peer_register(struct peer *p, uint16_t udp_port, uint8_t flags,
    uint64_t reg_id, const uint8_t k_reg[SC_KEY_BYTES])
{
	struct sc_cand	c;
	union path_sa	a;
	socklen_t	len;

	if (p->fd == -1 || p->serverlen == 0 ||
	    wire_cand_from_sa(&c, 0, &p->server.sa) != 0)
		return (-1);
	c.port = udp_port;
	if ((len = path_cand_sa(&a, &c, p->bound.sa.sa_family,
	    p->map_v4)) == 0)
		return (-1);
	return (reg_start(p->reg, &a.sa, len, reg_id, k_reg,
	    (flags & SC_UDPREG_RELAY) != 0));
}

/* Our public mapping. */
int
peer_public(const struct peer *p, struct sc_cand *out)
{
	return (reg_public(p->reg, out));
}

/* Index of name's pair, or -1. */
static ssize_t
peer_find_name(const struct peer *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->npairs; i++)
		if (strcmp(p->pairs[i]->name, name) == 0)
			return ((ssize_t)i);
	return (-1);
}

/* The pair named by a datagram's pair_id, or NULL. */
static struct peer_pair *
peer_find_id(const struct peer *p, uint64_t pair_id)
{
	size_t	i;

	for (i = 0; i < p->npairs; i++)
		if (p->pairs[i]->pair_id == pair_id)
			return (p->pairs[i]);
	return (NULL);
}

/* Fails every message waiting under pair_id. */
static void
peer_fail_pair(struct peer *p, uint64_t pair_id)
{
	struct peer_out	*o, *next;

	for (o = TAILQ_FIRST(&p->outq); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (o->pair_id != pair_id)
			continue;
		peer_out_fail(p, o);
		/* The callback may have changed the queue: start over. */
		next = TAILQ_FIRST(&p->outq);
	}
}

/* Removes name's pair at index i, wiping it and failing its messages. */
static void
peer_remove(struct peer *p, size_t i)
{
	struct peer_pair	*pp = p->pairs[i];
	uint64_t		 id = pp->pair_id;

	p->pairs[i] = p->pairs[--p->npairs];
	p->pairs[p->npairs] = NULL;
	log_debug("peer: forget peer=%s pair_id=%016" PRIx64, pp->name, id);
	peer_pair_free(pp);
	peer_fail_pair(p, id);
}

/* Sends the handshake message the pair keeps (INIT or RESP) to sa. */
static int
peer_hs_send(struct peer *p, struct peer_pair *pp, const struct sockaddr *sa,
    socklen_t len, int ttl)
{
	int	rc;

	if ((rc = peer_sendto(p, pp->hs_out, PEERHS_LEN, sa, len, ttl)) == 0)
		p->stats.hs_sent++;
	return (rc);
}

/* Sends the initiator's INIT through the relay. */
static void
peer_hs_relay(struct peer *p, struct peer_pair *pp)
{
	union path_sa	srv;
	socklen_t	len;

	if ((len = reg_server(p->reg, &srv)) != 0)
		(void)peer_hs_send(p, pp, &srv.sa, len, 0);
}

/* Arms the initiator's timer for its next INIT. */
static void
peer_hs_arm(struct peer_pair *pp)
{
	struct timeval	tv;

	tv.tv_sec = pp->hs_wait_ms / 1000;
	tv.tv_usec = (pp->hs_wait_ms % 1000) * 1000;
	evtimer_add(pp->hs_ev, &tv);
}

/*
 * The initiator's timer: still no RESP.  INIT goes through the relay when
 * that is the path; else the checks, which carry INIT, go again.
 */
static void
peer_hs_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_pair	*pp = arg;

	(void)fd;
	(void)what;
	if (pp->keyed || pp->blocked)
		return;
	log_debug("peer: no handshake answer yet peer=%s wait_ms=%d",
	    pp->name, pp->hs_wait_ms);
	if (path_state(pp->path) == PATH_RELAY)
		peer_hs_relay(pp->peer, pp);
	else
		path_kick(pp->path);
	pp->hs_wait_ms = pp->hs_wait_ms * 2 > PEER_HS_RETRY_MAX_MS ?
	    PEER_HS_RETRY_MAX_MS : pp->hs_wait_ms * 2;
	peer_hs_arm(pp);
}

/* The path gets the peer's candidates: its checks begin. */
static void
peer_path_start(struct peer_pair *pp)
{
	pp->started = 1;
	path_set_candidates(pp->path, pp->cand, pp->ncand, 1);
}

/* Keeps the peer's candidates; a started path takes them too. */
static void
peer_pair_cands(struct peer_pair *pp, const struct sc_cand *cand,
    size_t ncand, int force)
{
	pp->ncand = ncand > SC_CAND_MAX ? SC_CAND_MAX : ncand;
	if (pp->ncand > 0)
		memcpy(pp->cand, cand, pp->ncand * sizeof(*cand));
	if (pp->started)
		path_set_candidates(pp->path, pp->cand, pp->ncand, force);
}

/*
 * A pair that may talk begins: the initiator makes its INIT, arms its
 * timer and starts its checks, which carry INIT; a responder waits for
 * INIT; a pair with itself has its keys and checks at once.
 */
static void
peer_pair_begin(struct peer *p, struct peer_pair *pp)
{
	if (pp->initiator) {
		if (peerhs_write_init(&pp->hs, pp->hs_out, p->id->sk,
		    NULL) != 0) {
			log_warnx("peer: cannot begin the handshake peer=%s",
			    pp->name);
			return;
		}
		pp->hs_wait_ms = p->conf.direct_timeout_ms;
		peer_hs_arm(pp);
	}
	if (pp->initiator || pp->self_pair)
		peer_path_start(pp);
}

/*
 * The pair's first messages: the handshake's state, or, with oneself, a
 * random key both ways (no datagram of it ever leaves this client but to
 * itself).  Kxy is mixed into the handshake and not kept.
 */
static int
peer_pair_keys(struct peer *p, struct peer_pair *pp,
    const uint8_t kxy[SC_KEY_BYTES])
{
	int	i = pp->initiator;

	if (pp->self_pair) {
		sc_random(pp->keys.tx, SC_KEY_BYTES);
		memcpy(pp->keys.rx, pp->keys.tx, SC_KEY_BYTES);
		pp->keyed = 1;
		return (0);
	}
	if (peerhs_init(&pp->hs, i, pp->pair_id, i ? p->self : pp->name,
	    i ? p->id->pk : pp->idkey, i ? pp->name : p->self,
	    i ? pp->idkey : p->id->pk, kxy) != 0)
		return (-1);
	if ((pp->hs_ev = evtimer_new(p->base, peer_hs_cb, pp)) == NULL)
		return (-1);
	return (0);
}

/* Installs or replaces a pair key and begins the handshake. */
int
peer_pair_set(struct peer *p, const char *name, uint64_t pair_id,
    const uint8_t kxy[SC_KEY_BYTES], const uint8_t idkey[SC_KEY_BYTES],
    int blocked, uint8_t flags, const struct sc_cand *cand, size_t ncand)
{
	struct peer_pair	*pp;
	struct path_conf	 pc;
	ssize_t			 i;

	if ((i = peer_find_name(p, name)) != -1) {
		pp = p->pairs[i];
		if (pp->pair_id == pair_id && sc_memeq(pp->idkey, idkey,
		    SC_KEY_BYTES)) {
			log_debug("peer: pairkey again peer=%s "
			    "pair_id=%016" PRIx64, name, pair_id);
			pp->flags = flags;
			path_set_relay(pp->path, peer_relay_usable(p, pp));
			peer_pair_cands(pp, cand, ncand, 0);
			return (1);
		}
		peer_remove(p, (size_t)i);
	}
	/* A pair_id held for another name would make lookups ambiguous. */
	if (peer_find_id(p, pair_id) != NULL) {
		log_warnx("peer: pairkey peer=%s reuses a pair_id; ignored",
		    name);
		return (-1);
	}
	if (p->npairs >= PEER_PAIRS_MAX) {
		log_warnx("peer: too many pair keys; peer=%s ignored", name);
		return (-1);
	}
	if (p->id == NULL && strcmp(name, p->self) != 0) {
		log_warnx("peer: no identity key; peer=%s ignored", name);
		return (-1);
	}
	if ((pp = calloc(1, sizeof(*pp))) == NULL)
		return (-1);
	memset(&pc, 0, sizeof(pc));
	pc.direct_timeout_ms = p->conf.direct_timeout_ms;
	pc.keepalive_ms = p->conf.keepalive_s * 1000;
	pc.punch_ttl = p->conf.punch_ttl;
	pc.allow_loopback = p->allow_loopback;
	pc.family = p->fd == -1 ? AF_UNSPEC : p->bound.sa.sa_family;
	pc.map_v4 = p->map_v4;
	pc.limit = &p->limit;
	pc.now = util_now_ms;
	if ((pp->path = path_new(p->base, &pc, name, &peer_path_ops,
	    pp)) == NULL) {
		free(pp);
		return (-1);
	}
	pp->peer = p;
	strlcpy(pp->name, name, sizeof(pp->name));
	pp->pair_id = pair_id;
	pp->flags = flags;
	memcpy(pp->idkey, idkey, SC_KEY_BYTES);
	pp->self_pair = strcmp(name, p->self) == 0;
	pp->initiator = !pp->self_pair && strcmp(p->self, name) < 0;
	pp->blocked = blocked && !pp->self_pair;
	if (peer_pair_keys(p, pp, kxy) != 0) {
		log_warnx("peer: cannot set up the handshake peer=%s", name);
		peer_pair_free(pp);
		return (-1);
	}
	replay_init(&pp->rx);
	replay_init(&pp->ids);
	pp->next_id = 1;
	p->pairs[p->npairs++] = pp;
	log_debug("peer: pairkey peer=%s pair_id=%016" PRIx64 " flags=%u "
	    "candidates=%zu role=%s%s", name, pair_id, flags, ncand,
	    pp->self_pair ? "self" : pp->initiator ? "initiator" : "responder",
	    pp->blocked ? " blocked" : "");
	path_set_relay(pp->path, peer_relay_usable(p, pp));
	peer_pair_cands(pp, cand, ncand, 1);
	if (!pp->blocked)
		peer_pair_begin(p, pp);
	return (0);
}

/*
 * key is trusted as name's now: its blocked pair begins, if that is the key
 * it was given; if not, it goes.
 */
int
peer_unblock(struct peer *p, const char *name,
    const uint8_t key[SC_KEY_BYTES])
{
	struct peer_pair	*pp;
	ssize_t			 i;

	if ((i = peer_find_name(p, name)) == -1 || !p->pairs[i]->blocked)
		return (0);
	pp = p->pairs[i];
	if (!sc_memeq(pp->idkey, key, SC_KEY_BYTES)) {
		log_info("peer: the pair with peer=%s was held on another key "
		    "than the one trusted; forgotten", name);
		peer_remove(p, (size_t)i);
		return (-1);
	}
	pp->blocked = 0;
	log_debug("peer: trusted peer=%s", name);
	peer_pair_begin(p, pp);
	return (1);
}

/*
 * CANDIDATES: the checks of a held pair begin again, after a REGISTER.
 * The peer's RECHECK, which this may answer, is often the first sign that
 * our NAT forgot its mappings, the one toward the server too: the peer
 * found the direct path dead, and the relay, which sends to the mapping
 * the server last saw, is dead as well until we register again.  The
 * REGISTER goes before the round's go signal, so the server knows the new
 * mapping by then.
 */
int
peer_candidates(struct peer *p, uint64_t pair_id, uint8_t flags,
    const struct sc_cand *cand, size_t ncand)
{
	struct peer_pair	*pp;

	if ((pp = peer_find_id(p, pair_id)) == NULL) {
		log_debug("peer: candidates for pair_id=%016" PRIx64
		    " not held; ignored", pair_id);
		return (-1);
	}
	log_debug("peer: candidates peer=%s flags=%u candidates=%zu",
	    pp->name, flags, ncand);
	pp->flags = flags;
	reg_now(p->reg);
	path_set_relay(pp->path, peer_relay_usable(p, pp));
	peer_pair_cands(pp, cand, ncand, 1);
	return (0);
}

/* Tells whether a key is held for name. */
int
peer_has_pair(const struct peer *p, const char *name)
{
	return (peer_find_name(p, name) != -1);
}

/* The pair_id held for name. */
uint64_t
peer_pair_id(const struct peer *p, const char *name)
{
	ssize_t	i;

	if ((i = peer_find_name(p, name)) == -1)
		return (0);
	return (p->pairs[i]->pair_id);
}

/* Forgets name's key. */
void
peer_forget(struct peer *p, const char *name)
{
	ssize_t	i;

	if ((i = peer_find_name(p, name)) != -1)
		peer_remove(p, (size_t)i);
}

/* The slot of name in the ignore list, or -1. */
static ssize_t
peer_ignore_find(const struct peer *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->nignored; i++)
		if (strcmp(p->ignored[i], name) == 0)
			return ((ssize_t)i);
	return (-1);
}

/* Tells whether name's messages are dropped. */
int
peer_ignored(const struct peer *p, const char *name)
{
	return (peer_ignore_find(p, name) != -1);
}

/* Adds name to the ignore list, or takes it off. */
int
peer_ignore(struct peer *p, const char *name, int on)
{
	ssize_t	i = peer_ignore_find(p, name);

	if (!on) {
		if (i != -1) {
			memcpy(p->ignored[i], p->ignored[--p->nignored],
			    sizeof(p->ignored[i]));
			sc_wipe(p->ignored[p->nignored],
			    sizeof(p->ignored[p->nignored]));
		}
		return (0);
	}
	if (i != -1)
		return (0);
	if (p->nignored >= PEER_IGNORE_MAX)
		return (-1);
	strlcpy(p->ignored[p->nignored++], name, sizeof(p->ignored[0]));
	return (0);
}

/* Forgets every pair and stops registering: the session is over. */
void
peer_reset(struct peer *p)
{
	while (p->npairs > 0)
		peer_remove(p, p->npairs - 1);
	reg_stop(p->reg);
}

/*
 * Seals one payload under the pair's next counter and sends it to the
 * endpoint given.  Returns 0, or the errno of a refused send.
 */
static int
peer_transmit(struct peer *p, struct peer_pair *pp, uint8_t kind,
    uint64_t msg_id, const uint8_t *body, size_t len,
    const struct sockaddr *to, socklen_t tolen, int ttl)
{
	uint8_t	payload[PEER_PAYLOAD_MAX];
	uint8_t	dgram[SC_DGRAM_MAX];
	size_t	plen = PEER_PAYLOAD_HDR + len;
	size_t	dlen = SC_DGRAM_HDR + plen + SC_MAC_BYTES;
	int	rc = 0;

	if (len > SC_TEXT_MAX || pp->tx_ctr == UINT64_MAX)
		return (EINVAL);
	if (p->fd == -1)
		return (ENOTCONN);
	payload[0] = kind;
	util_put_be64(payload + 1, msg_id);
	if (len > 0)
		memcpy(payload + PEER_PAYLOAD_HDR, body, len);
	if (sc_dgram_seal(dgram, pp->keys.tx, pp->pair_id, pp->tx_ctr,
	    payload, plen) != 0) {
		rc = EINVAL;
		goto out;
	}
	pp->tx_ctr++;
	rc = peer_sendto(p, dgram, dlen, to, tolen, ttl);
out:
	sc_wipe(payload, sizeof(payload));
	return (rc);
}

/*
 * Sends what stands for a PROBE: the PROBE itself once the keys exist,
 * the initiator's INIT before; nothing from a responder without keys.
 */
static int
peer_probe_to(struct peer_pair *pp, uint64_t id, const struct sockaddr *to,
    socklen_t tolen, int ttl)
{
	if (pp->keyed)
		return (peer_transmit(pp->peer, pp, SC_DGRAM_PROBE, id, NULL,
		    0, to, tolen, ttl) == 0 ? 0 : -1);
	if (pp->initiator && !pp->blocked && pp->hs.state == PEERHS_SENT)
		return (peer_hs_send(pp->peer, pp, to, tolen, ttl) == 0 ? 0 :
		    -1);
	return (-1);
}

/* path.c sends a PROBE to a direct endpoint. */
static int
peer_path_probe(void *arg, uint64_t id, const struct sockaddr *to,
    socklen_t tolen, int ttl)
{
	return (peer_probe_to(arg, id, to, tolen, ttl));
}

/* path.c sends a PROBE through the relay. */
static int
peer_path_probe_relay(void *arg, uint64_t id)
{
	struct peer_pair	*pp = arg;
	union path_sa		 srv;
	socklen_t		 len;

	if ((len = reg_server(pp->peer->reg, &srv)) == 0)
		return (-1);
	return (peer_probe_to(pp, id, &srv.sa, len, 0));
}

/* Arms a message's timer for one retry interval. */
static void
peer_out_arm(struct peer *p, struct peer_out *o)
{
	struct timeval	tv;

	tv.tv_sec = p->conf.retry_ms / 1000;
	tv.tv_usec = (p->conf.retry_ms % 1000) * 1000;
	evtimer_add(o->timer, &tv);
}

/*
 * Sends a message that is due on the pair's path, if it has one: 1 when
 * it went (its timer armed anew), 0 when it waits.
 */
static int
peer_out_go(struct peer *p, struct peer_pair *pp, struct peer_out *o)
{
	union path_sa		 to;
	socklen_t		 len;
	enum path_state		 st = path_state(pp->path);

	if (!pp->keyed)
		return (0);
	if (st == PATH_DIRECT)
		len = path_target(pp->path, &to);
	else if (st == PATH_RELAY)
		len = reg_server(p->reg, &to);
	else
		return (0);
	if (len == 0)
		return (0);
	if (o->sent_gen != 0)
		p->stats.resent++;
	(void)peer_transmit(p, pp, SC_DGRAM_MSG, o->msg_id, o->text, o->len,
	    &to.sa, len, 0);
	path_sent(pp->path, &to.sa, len, st == PATH_RELAY);
	o->due = 0;
	o->sent_gen = path_gen(pp->path);
	o->sent_state = st;
	peer_out_arm(p, o);
	log_debug("peer: sent peer=%s msg_id=%" PRIu64 " path=%s", pp->name,
	    o->msg_id, path_state_name(st));
	return (1);
}

/*
 * The pair has a new path: the messages due go on it.  Before the keys,
 * the initiator's INIT goes through the relay as soon as that is the path.
 */
static void
peer_path_changed(void *arg)
{
	struct peer_pair	*pp = arg;
	struct peer		*p = pp->peer;
	struct peer_out		*o;

	if (!pp->keyed) {
		if (pp->initiator && !pp->blocked &&
		    path_state(pp->path) == PATH_RELAY)
			peer_hs_relay(p, pp);
		return;
	}
	TAILQ_FOREACH(o, &p->outq, entry) {
		if (o->pair_id == pp->pair_id && o->due)
			(void)peer_out_go(p, pp, o);
	}
}

/* The pair lost its path: RECHECK (the client decides) and REGISTER. */
static void
peer_path_lost(void *arg)
{
	struct peer_pair	*pp = arg;
	struct peer		*p = pp->peer;

	if (p->cb.recheck != NULL)
		p->cb.recheck(p->arg, pp->pair_id);
	reg_now(p->reg);
}

/*
 * A message's timer: no ACK within the interval.  The path it went on, if
 * still the pair's, is lost; then it goes again (or waits for a path), or,
 * its resends used up, fails.
 */
static void
peer_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_out		*o = arg;
	struct peer		*p = o->peer;
	struct peer_pair	*pp;
	int			 lose;

	(void)fd;
	(void)what;
	if ((pp = peer_find_id(p, o->pair_id)) == NULL) {
		peer_out_fail(p, o);
		return;
	}
	lose = !o->due && o->sent_gen == path_gen(pp->path) &&
	    o->sent_state == path_state(pp->path) &&
	    o->sent_state != PATH_CHECKING;
	if (o->tries >= p->conf.retries) {
		log_debug("peer: no ack peer=%s msg_id=%" PRIu64, o->to,
		    o->msg_id);
		if (lose)
			path_lose(pp->path);
		peer_out_fail(p, o);
		return;
	}
	o->tries++;
	o->due = 1;
	log_debug("peer: resend peer=%s msg_id=%" PRIu64 " try=%d", o->to,
	    o->msg_id, o->tries);
	/* A loss moves the pair to its next path, where o goes at once. */
	if (lose)
		path_lose(pp->path);
	if (o->due && !peer_out_go(p, pp, o))
		peer_out_arm(p, o);
}

/* Sends a message and keeps it until acknowledged. */
int
peer_send(struct peer *p, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct peer_pair	*pp;
	struct peer_out		*o;
	ssize_t			 i;

	if (len > SC_TEXT_MAX) {
		snprintf(err, errlen, "message too long (max %d bytes)",
		    SC_TEXT_MAX);
		return (-1);
	}
	if ((i = peer_find_name(p, name)) == -1) {
		snprintf(err, errlen, "no pair key for %s", name);
		return (-1);
	}
	pp = p->pairs[i];
	if (pp->blocked) {
		snprintf(err, errlen, "the identity key of %s changed; compare "
		    "your safety numbers (verify %s), then trust %s", name,
		    name, name);
		return (-1);
	}
	if (p->nout >= PEER_OUT_MAX) {
		snprintf(err, errlen, "too many messages waiting for "
		    "acknowledgement");
		return (-1);
	}
	if (p->fd == -1) {
		snprintf(err, errlen, "no UDP socket");
		return (-1);
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	o->peer = p;
	strlcpy(o->to, name, sizeof(o->to));
	o->pair_id = pp->pair_id;
	o->msg_id = pp->next_id++;
	o->len = len;
	o->due = 1;
	if (len > 0)
		memcpy(o->text, text, len);
	if ((o->timer = evtimer_new(p->base, peer_retry_cb, o)) == NULL) {
		snprintf(err, errlen, "out of memory");
		sc_wipe(o->text, sizeof(o->text));
		free(o);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&p->outq, o, entry);
	p->nout++;
	if (!peer_out_go(p, pp, o)) {
		log_debug("peer: waits for a path peer=%s msg_id=%" PRIu64,
		    name, o->msg_id);
		peer_out_arm(p, o);
	}
	return (0);
}

/* Tells whether a send would find room. */
int
peer_can_send(const struct peer *p)
{
	return (p->nout < PEER_OUT_MAX);
}

/* Messages waiting for their ACK. */
size_t
peer_outstanding(const struct peer *p)
{
	return (p->nout);
}

/* Gives up on every waiting message. */
void
peer_fail_all(struct peer *p)
{
	struct peer_out	*o;

	while ((o = TAILQ_FIRST(&p->outq)) != NULL)
		peer_out_fail(p, o);
}

/* Counts and logs a dropped datagram. */
static void
peer_drop(uint64_t *counter, const char *reason)
{
	(*counter)++;
	log_debug("peer: dropped datagram reason=%s", reason);
}

/* Sends an answer to the source of what it answers, if it may be. */
static void
peer_answer(struct peer *p, struct peer_pair *pp, uint8_t kind,
    uint64_t id, const uint8_t *body, size_t len,
    const struct peer_src *src)
{
	if (!src->ok) {
		p->stats.drop_source++;
		log_debug("peer: no answer to a refused source peer=%s",
		    pp->name);
		return;
	}
	if (peer_transmit(p, pp, kind, id, body, len, src->sa, src->len,
	    0) != 0)
		log_debug("peer: cannot answer peer=%s id=%" PRIu64, pp->name,
		    id);
	else
		path_sent(pp->path, src->sa, src->len, src->relayed);
}

/* An ACK: the first one for a waiting message reports it delivered. */
static void
peer_handle_ack(struct peer *p, struct peer_pair *pp, uint64_t msg_id,
    const uint8_t *body, size_t len, const struct peer_src *src)
{
	struct peer_out	*o;
	char		 to[SC_NAME_MAX + 1];

	(void)body;
	(void)len;
	(void)src;
	TAILQ_FOREACH(o, &p->outq, entry) {
		if (o->pair_id == pp->pair_id && o->msg_id == msg_id)
			break;
	}
	if (o == NULL) {
		log_debug("peer: late ack peer=%s msg_id=%" PRIu64, pp->name,
		    msg_id);
		return;
	}
	strlcpy(to, o->to, sizeof(to));
	peer_out_free(p, o);
	log_debug("peer: ack peer=%s msg_id=%" PRIu64, to, msg_id);
	p->cb.delivered(p->arg, to);
}

/* A MSG: always acknowledged, shown only the first time its id is seen. */
static void
peer_handle_msg(struct peer *p, struct peer_pair *pp, uint64_t msg_id,
    const uint8_t *text, size_t len, const struct peer_src *src)
{
	char	from[SC_NAME_MAX + 1];
	int	fresh;

	if (peer_ignored(p, pp->name)) {
		/* Unseen and unacknowledged: the sender learns nothing. */
		p->stats.drop_ignored++;
		log_debug("peer: msg from ignored peer=%s dropped", pp->name);
		return;
	}
	fresh = replay_check(&pp->ids, msg_id);
	if (fresh)
		replay_update(&pp->ids, msg_id);
	else
		p->stats.dup_msgs++;
	strlcpy(from, pp->name, sizeof(from));
	peer_answer(p, pp, SC_DGRAM_ACK, msg_id, NULL, 0, src);
	if (fresh) {
		log_debug("peer: msg peer=%s msg_id=%" PRIu64 " len=%zu "
		    "relayed=%d", from, msg_id, len, src->relayed);
		p->cb.msg(p->arg, from, (const char *)text, len);
	} else
		log_debug("peer: duplicate msg peer=%s msg_id=%" PRIu64,
		    from, msg_id);
}

/* A PROBE: answered with where it came from; the path learns of it. */
static void
peer_handle_probe(struct peer *p, struct peer_pair *pp, uint64_t id,
    const uint8_t *body, size_t len, const struct peer_src *src)
{
	uint8_t		ep[SC_ENDPOINT_BYTES];
	struct sc_cand	c;

	(void)body;
	(void)len;
	if (wire_cand_from_sa(&c, 0, src->sa) != 0)
		return;
	wire_endpoint_put(ep, &c);
	p->stats.probes++;
	peer_answer(p, pp, SC_DGRAM_PROBE_ACK, id, ep, sizeof(ep), src);
	path_probe_in(pp->path, src->sa, src->len, src->relayed);
}

/* A PROBE_ACK: it may confirm the endpoint it came from. */
static void
peer_handle_probe_ack(struct peer *p, struct peer_pair *pp, uint64_t id,
    const uint8_t *body, size_t len, const struct peer_src *src)
{
	struct sc_cand	c;
	union path_sa	a;
	char		seen[64];

	if (len != SC_ENDPOINT_BYTES || wire_endpoint_get(&c, body) != 0) {
		peer_drop(&p->stats.drop_payload, "payload");
		return;
	}
	if (path_probe_ack(pp->path, id, src->sa, src->len,
	    src->relayed) != 0) {
		log_debug("peer: stray probe ack peer=%s", pp->name);
		return;
	}
	if (path_cand_sa(&a, &c, AF_UNSPEC, 0) != 0) {
		util_addr_str(seen, sizeof(seen), &a.sa);
		log_debug("peer: probe ack peer=%s relayed=%d seen_as=%s",
		    pp->name, src->relayed, seen);
	}
}

/*
 * Whether one more MSG or PROBE of the pair may be taken, and so answered:
 * at most PEER_ANSWER_RATE a second (bursts of PEER_ANSWER_BURST), so that
 * neither a flooding peer nor a server that holds the pair key (and can
 * forge datagrams from any source) can make this client send more than
 * that, to anyone.  A MSG dropped here is not shown and not acknowledged:
 * its sender sends it again, and it is shown then.
 */
static int
peer_may_answer(struct peer_pair *pp)
{
	if (util_bucket_room(&pp->answers, PEER_ANSWER_RATE,
	    PEER_ANSWER_BURST, util_now_ms()) < 1)
		return (0);
	util_bucket_take(&pp->answers, 1);
	return (1);
}

/*
 * The handshake gave the pair its keys.  The initiator's checks, which
 * carried INIT so far, probe again at once with PROBEs; the responder's
 * begin, INIT's source counting as the peer's first PROBE (its go signal
 * when it came through the relay).  Messages that wait may go.
 */
static void
peer_keys_ready(struct peer_pair *pp, const struct peer_src *src)
{
	pp->keyed = 1;
	pp->tx_ctr = 0;
	replay_init(&pp->rx);
	evtimer_del(pp->hs_ev);
	log_debug("peer: handshake done peer=%s role=%s relayed=%d",
	    pp->name, pp->initiator ? "initiator" : "responder",
	    src->relayed);
	if (pp->initiator) {
		sc_wipe(pp->hs_out, sizeof(pp->hs_out));
		path_kick(pp->path);
	} else {
		peer_path_start(pp);
		path_probe_in(pp->path, src->sa, src->len, src->relayed);
	}
	peer_path_changed(pp);
}

/*
 * An INIT or RESP.  Each is read into a copy of the handshake's state, so
 * one that does not open changes nothing; one that opens gives the keys,
 * once: afterwards a RESP, or an INIT other than the one answered,
 * establishes nothing and is dropped.  A copy of the INIT answered (the
 * initiator sends it again until RESP comes) gets the same RESP, from
 * the same ephemeral key.  Every answer is within the pair's rate and
 * goes to the source of what it answers, unless the address rules refuse
 * it.
 */
static void
peer_hs_input(struct peer *p, const uint8_t *d, size_t len,
    const struct peer_src *src)
{
	struct peer_pair	*pp;
	struct sc_pair_keys	 keys;
	uint8_t			 kind, out[PEERHS_LEN];
	uint64_t		 id;
	int			 rc;

	if (peerhs_parse(d, len, &kind, &id) != 0) {
		peer_drop(&p->stats.drop_size, "handshake-size");
		return;
	}
	if ((pp = peer_find_id(p, id)) == NULL) {
		peer_drop(&p->stats.drop_unknown, "unknown-pair");
		return;
	}
	if (pp->blocked) {
		peer_drop(&p->stats.drop_blocked, "not-trusted");
		return;
	}
	if (pp->self_pair || (kind == SC_UDP_INIT) == pp->initiator ||
	    (pp->keyed && (kind == SC_UDP_RESP || !pp->hs_cached ||
	    !sc_memeq(pp->hs_in, d, PEERHS_LEN)))) {
		peer_drop(&p->stats.drop_handshake, "handshake-not-taken");
		return;
	}
	if (!peer_may_answer(pp)) {
		peer_drop(&p->stats.drop_rate, "rate");
		return;
	}
	if (pp->keyed) {
		/* A copy of the INIT answered: the same RESP again. */
		p->stats.hs_dup++;
		if (src->ok)
			(void)peer_hs_send(p, pp, src->sa, src->len, 0);
		path_probe_in(pp->path, src->sa, src->len, src->relayed);
		return;
	}
	if (kind == SC_UDP_INIT)
		rc = peerhs_read_init(&pp->hs, &keys, out, d, len, p->id->sk,
		    NULL);
	else
		rc = peerhs_read_resp(&pp->hs, &keys, d, len, p->id->sk);
	if (rc != 0) {
		peer_drop(&p->stats.drop_mac, "handshake-mac");
		goto out;
	}
	pp->keys = keys;
	if (kind == SC_UDP_INIT) {
		memcpy(pp->hs_out, out, PEERHS_LEN);
		memcpy(pp->hs_in, d, PEERHS_LEN);
		pp->hs_cached = 1;
		if (src->ok)
			(void)peer_hs_send(p, pp, src->sa, src->len, 0);
		else
			p->stats.drop_source++;
	}
	peer_keys_ready(pp, src);
out:
	sc_wipe(&keys, sizeof(keys));
	sc_wipe(out, sizeof(out));
}

/*
 * The kinds of payload an opened datagram may carry, each with the bytes
 * it takes after its msg_id (a msg_id, or probe id, is never 0).
 * Anything else is dropped and counted as a bad payload.
 */
static const struct peer_kind {
	uint8_t	kind;
	int	answered;	/* within the pair's PEER_ANSWER_RATE */
	size_t	body_min;
	size_t	body_max;
	void	(*fn)(struct peer *, struct peer_pair *, uint64_t msg_id,
		    const uint8_t *body, size_t len, const struct peer_src *);
} peer_kinds[] = {
	{ SC_DGRAM_MSG, 1, 0, SC_TEXT_MAX, peer_handle_msg },
	{ SC_DGRAM_ACK, 0, 0, 0, peer_handle_ack },
	{ SC_DGRAM_PROBE, 1, 0, 0, peer_handle_probe },
	{ SC_DGRAM_PROBE_ACK, 0, SC_ENDPOINT_BYTES, SC_ENDPOINT_BYTES,
	    peer_handle_probe_ack },
};

/* The row of a payload kind, or NULL. */
static const struct peer_kind *
peer_kind_find(uint8_t kind)
{
	size_t	i;

	for (i = 0; i < sizeof(peer_kinds) / sizeof(peer_kinds[0]); i++)
		if (peer_kinds[i].kind == kind)
			return (&peer_kinds[i]);
	return (NULL);
}

/* Checks, opens and handles one datagram. */
void
peer_input(struct peer *p, const uint8_t *d, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	const struct peer_kind	*k;
	struct peer_pair	*pp;
	struct peer_src		 src;
	union path_sa		 srv;
	uint8_t			 plain[PEER_PAYLOAD_MAX];
	uint64_t		 pair_id, ctr, msg_id;
	size_t			 plen, blen;

	memset(&src, 0, sizeof(src));
	src.sa = from;
	src.len = fromlen;
	src.relayed = reg_server(p->reg, &srv) != 0 &&
	    path_sa_equal(from, &srv.sa);
	src.ok = src.relayed || path_addr_ok(from, p->allow_loopback);
	if (len > 0 && d[0] == SC_UDP_REGISTERED) {
		if (!src.relayed)
			peer_drop(&p->stats.drop_source, "not-the-server");
		else
			(void)reg_input(p->reg, d, len);
		return;
	}
	if (len > 0 && (d[0] == SC_UDP_INIT || d[0] == SC_UDP_RESP)) {
		peer_hs_input(p, d, len, &src);
		return;
	}
	if (len < PEER_DGRAM_MIN || len > SC_DGRAM_MAX) {
		peer_drop(&p->stats.drop_size, "size");
		return;
	}
	if (d[0] != SC_DGRAM_VERSION) {
		peer_drop(&p->stats.drop_version, "version");
		return;
	}
	pair_id = util_get_be64(d + 1);
	ctr = util_get_be64(d + 9);
	if ((pp = peer_find_id(p, pair_id)) == NULL) {
		peer_drop(&p->stats.drop_unknown, "unknown-pair");
		return;
	}
	if (!pp->keyed) {
		peer_drop(pp->blocked ? &p->stats.drop_blocked :
		    &p->stats.drop_early, "no-keys");
		return;
	}
	if (!replay_check(&pp->rx, ctr)) {
		peer_drop(&p->stats.drop_replay, "replay");
		return;
	}
	plen = len - SC_DGRAM_HDR - SC_MAC_BYTES;
	if (sc_dgram_open(plain, pp->keys.rx, d, len) != 0) {
		peer_drop(&p->stats.drop_mac, "mac");
		return;
	}
	/* Authentic: only now may the window move. */
	replay_update(&pp->rx, ctr);
	p->stats.rx_ok++;
	if (pp->hs_cached) {
		/* The initiator has the keys: no INIT will need RESP again. */
		sc_wipe(pp->hs_out, sizeof(pp->hs_out));
		sc_wipe(pp->hs_in, sizeof(pp->hs_in));
		pp->hs_cached = 0;
	}
	msg_id = util_get_be64(plain + 1);
	blen = plen - PEER_PAYLOAD_HDR;
	if ((k = peer_kind_find(plain[0])) == NULL || msg_id == 0 ||
	    blen < k->body_min || blen > k->body_max)
		peer_drop(&p->stats.drop_payload, "payload");
	else if (k->answered && !peer_may_answer(pp))
		peer_drop(&p->stats.drop_rate, "rate");
	else
		k->fn(p, pp, msg_id, plain + PEER_PAYLOAD_HDR, blen, &src);
	sc_wipe(plain, sizeof(plain));
}

/* The datagram counters. */
const struct peer_stats *
peer_stats(const struct peer *p)
{
	return (&p->stats);
}

/* Orders pairs by name. */
static int
peer_path_cmp(const void *a, const void *b)
{
	const struct peer_path	*x = a, *y = b;

	return (strcmp(x->name, y->name));
}

/* The pairs' paths, in name order. */
size_t
peer_paths(const struct peer *p, struct peer_path *out, size_t max)
{
	struct path_info	 info;
	struct sc_cand		 c;
	union path_sa		 a;
	size_t			 i, n = 0;

	for (i = 0; i < p->npairs && n < max; i++, n++) {
		path_info(p->pairs[i]->path, &info);
		strlcpy(out[n].name, p->pairs[i]->name, sizeof(out[n].name));
		out[n].state = info.state;
		out[n].keyed = p->pairs[i]->keyed;
		out[n].blocked = p->pairs[i]->blocked;
		out[n].rtt_ms = info.rtt_ms;
		strlcpy(out[n].addr, "-", sizeof(out[n].addr));
		if (info.state == PATH_DIRECT)
			a = info.addr;
		else if (info.state != PATH_RELAY ||
		    reg_server(p->reg, &a) == 0)
			continue;
		/* IPv4 as IPv4, even seen through an IPv6 socket. */
		if (wire_cand_from_sa(&c, 0, &a.sa) == 0 &&
		    path_cand_sa(&a, &c, AF_UNSPEC, 0) != 0)
			util_addr_str(out[n].addr, sizeof(out[n].addr), &a.sa);
	}
	qsort(out, n, sizeof(*out), peer_path_cmp);
	return (n);
}
