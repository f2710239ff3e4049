/* SPDX-License-Identifier: ISC */
/*
 * Peer datagrams.  Receiving order of checks: size, version, pair_id, the
 * replay window (a read-only test, cheap), the AEAD open, and only then the
 * window moves.  So a forged datagram, whatever counter it claims, changes
 * nothing, and a dropped datagram never disturbs the traffic after it.
 * Keys are found by pair_id and answers go to the address the server gave
 * in PAIRKEY, never to the source of a datagram.
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
#include "sealchat/util.h"

#include "peer.h"
#include "replay.h"

/* Datagrams read per wake-up before the loop gets a turn. */
#define PEER_READS_PER_WAKE	64
/* Payload: kind (1), msg_id (8), text. */
#define PEER_PAYLOAD_HDR	9
#define PEER_PAYLOAD_MAX	(PEER_PAYLOAD_HDR + SC_TEXT_MAX)
#define PEER_DGRAM_MIN		(SC_DGRAM_HDR + PEER_PAYLOAD_HDR + SC_MAC_BYTES)

struct peer_pair {
	char			 name[SC_NAME_MAX + 1];
	uint64_t		 pair_id;
	struct sc_pair_keys	 keys;
	uint64_t		 tx_ctr;	/* next counter to send */
	struct replay		 rx;		/* counters received */
	struct replay		 ids;		/* msg_ids shown */
	uint64_t		 next_id;	/* next msg_id to send */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
};

struct peer_out {
	TAILQ_ENTRY(peer_out)	 entry;
	struct peer		*peer;
	char			 to[SC_NAME_MAX + 1];
	uint64_t		 pair_id;
	uint64_t		 msg_id;
	int			 resent;
	struct event		*timer;
	size_t			 len;
	uint8_t			 text[SC_TEXT_MAX];
};

TAILQ_HEAD(peer_outq, peer_out);

struct peer {
	struct event_base	*base;
	struct peer_cb		 cb;
	void			*arg;
	int			 retries;
	int			 retry_ms;
	char			 self[SC_NAME_MAX + 1];
	int			 fd;
	uint16_t		 port;
	struct event		*read_ev;
	struct peer_pair	*pairs[PEER_PAIRS_MAX];
	size_t			 npairs;
	struct peer_outq	 outq;
	size_t			 nout;
	struct peer_stats	 stats;
};

/* Makes an empty peer table. */
struct peer *
peer_new(struct event_base *base, const struct peer_cb *cb, void *arg,
    int retries, int retry_ms)
{
	struct peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->base = base;
	p->cb = *cb;
	p->arg = arg;
	p->retries = retries < 0 ? 0 : retries;
	p->retry_ms = retry_ms < 1 ? 1 : retry_ms;
	p->fd = -1;
	TAILQ_INIT(&p->outq);
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
	    " drop_payload=%" PRIu64 " dup=%" PRIu64 " tx=%" PRIu64
	    " tx_err=%" PRIu64 " resent=%" PRIu64, p->stats.rx_ok,
	    p->stats.drop_size, p->stats.drop_version, p->stats.drop_unknown,
	    p->stats.drop_replay, p->stats.drop_mac, p->stats.drop_payload,
	    p->stats.dup_msgs, p->stats.tx, p->stats.tx_err, p->stats.resent);
	while ((o = TAILQ_FIRST(&p->outq)) != NULL)
		peer_out_free(p, o);
	for (i = 0; i < p->npairs; i++)
		peer_pair_free(p->pairs[i]);
	if (p->read_ev != NULL)
		event_free(p->read_ev);
	if (p->fd != -1)
		close(p->fd);
	free(p);
}

/* Reads every datagram waiting, up to a bound per wake-up. */
static void
peer_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer		*p = arg;
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	uint8_t			 buf[SC_DGRAM_MAX + 1];
	ssize_t			 n;
	int			 i;

	(void)what;
	for (i = 0; i < PEER_READS_PER_WAKE; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
		    (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("peer: recvfrom: %s",
				    strerror(errno));
			return;
		}
		/* MSG_TRUNC reports the real length of an oversize one. */
		peer_input(p, buf, (size_t)n > sizeof(buf) ? sizeof(buf) :
		    (size_t)n);
	}
}

/* Opens the UDP socket on the given address. */
int
peer_open(struct peer *p, const struct sockaddr *sa, socklen_t len,
    char *err, size_t errlen)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss);
	int			fd = -1;

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
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		goto fail;
	}
	if (ss.ss_family == AF_INET)
		p->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		p->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
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

/* Installs or replaces a pair key. */
int
peer_pair_set(struct peer *p, const char *name, uint64_t pair_id,
    const uint8_t kxy[SC_KEY_BYTES], const struct sockaddr *sa,
    socklen_t salen)
{
	struct peer_pair	*pp;
	ssize_t			 i;
	char			 addr[64];

	if (salen > sizeof(pp->addr))
		return (-1);
	if ((i = peer_find_name(p, name)) != -1) {
		if (p->pairs[i]->pair_id == pair_id) {
			log_debug("peer: pairkey again peer=%s "
			    "pair_id=%016" PRIx64 " ignored", name, pair_id);
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
	if ((pp = calloc(1, sizeof(*pp))) == NULL)
		return (-1);
	strlcpy(pp->name, name, sizeof(pp->name));
	pp->pair_id = pair_id;
	sc_pair_derive(&pp->keys, kxy, p->self, name);
	replay_init(&pp->rx);
	replay_init(&pp->ids);
	pp->next_id = 1;
	memcpy(&pp->addr, sa, salen);
	pp->addrlen = salen;
	p->pairs[p->npairs++] = pp;
	util_addr_str(addr, sizeof(addr), sa);
	log_debug("peer: pairkey peer=%s pair_id=%016" PRIx64 " addr=%s",
	    name, pair_id, addr);
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

/*
 * Seals one payload under the pair's next counter and sends it to the
 * address from PAIRKEY.  Returns 0, or the errno of a refused send.
 */
static int
peer_transmit(struct peer *p, struct peer_pair *pp, uint8_t kind,
    uint64_t msg_id, const uint8_t *text, size_t len)
{
	uint8_t	payload[PEER_PAYLOAD_MAX];
	uint8_t	dgram[SC_DGRAM_MAX];
	size_t	plen = PEER_PAYLOAD_HDR + len;
	size_t	dlen = SC_DGRAM_HDR + plen + SC_MAC_BYTES;
	int	rc = 0;

	if (len > SC_TEXT_MAX || pp->tx_ctr == UINT64_MAX)
		return (EINVAL);
	payload[0] = kind;
	util_put_be64(payload + 1, msg_id);
	if (len > 0)
		memcpy(payload + PEER_PAYLOAD_HDR, text, len);
	if (sc_dgram_seal(dgram, pp->keys.tx, pp->pair_id, pp->tx_ctr,
	    payload, plen) != 0) {
		rc = EINVAL;
		goto out;
	}
	pp->tx_ctr++;
	if (p->fd == -1) {
		rc = ENOTCONN;
		goto out;
	}
	if (sendto(p->fd, dgram, dlen, 0, (struct sockaddr *)&pp->addr,
	    pp->addrlen) < 0) {
		rc = errno;
		p->stats.tx_err++;
		log_debug("peer: sendto peer=%s: %s", pp->name, strerror(rc));
		goto out;
	}
	p->stats.tx++;
out:
	sc_wipe(payload, sizeof(payload));
	return (rc);
}

/* A message's retry timer: send again, or give up after the last try. */
static void
peer_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_out		*o = arg;
	struct peer		*p = o->peer;
	struct peer_pair	*pp;
	struct timeval		 tv;

	(void)fd;
	(void)what;
	pp = peer_find_id(p, o->pair_id);
	if (pp == NULL || o->resent >= p->retries) {
		log_debug("peer: no ack peer=%s msg_id=%" PRIu64, o->to,
		    o->msg_id);
		peer_out_fail(p, o);
		return;
	}
	o->resent++;
	p->stats.resent++;
	log_debug("peer: resend peer=%s msg_id=%" PRIu64 " try=%d", o->to,
	    o->msg_id, o->resent);
	(void)peer_transmit(p, pp, SC_DGRAM_MSG, o->msg_id, o->text, o->len);
	tv.tv_sec = p->retry_ms / 1000;
	tv.tv_usec = (p->retry_ms % 1000) * 1000;
	evtimer_add(o->timer, &tv);
}

/* Sends a message and keeps it until acknowledged. */
int
peer_send(struct peer *p, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct peer_pair	*pp;
	struct peer_out		*o;
	struct timeval		 tv;
	ssize_t			 i;
	int			 rc;

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
	o->msg_id = pp->next_id;
	o->len = len;
	if (len > 0)
		memcpy(o->text, text, len);
	if ((o->timer = evtimer_new(p->base, peer_retry_cb, o)) == NULL) {
		snprintf(err, errlen, "out of memory");
		sc_wipe(o->text, sizeof(o->text));
		free(o);
		return (-1);
	}
	rc = peer_transmit(p, pp, SC_DGRAM_MSG, o->msg_id, o->text, len);
	if (rc != 0 && rc != EAGAIN && rc != EWOULDBLOCK && rc != ENOBUFS) {
		snprintf(err, errlen, "cannot send to %s: %s", name,
		    strerror(rc));
		event_free(o->timer);
		sc_wipe(o->text, sizeof(o->text));
		free(o);
		return (-1);
	}
	pp->next_id++;
	TAILQ_INSERT_TAIL(&p->outq, o, entry);
	p->nout++;
	tv.tv_sec = p->retry_ms / 1000;
	tv.tv_usec = (p->retry_ms % 1000) * 1000;
	evtimer_add(o->timer, &tv);
	log_debug("peer: sent peer=%s msg_id=%" PRIu64 " len=%zu", name,
	    o->msg_id, len);
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

/* An ACK: the first one for a waiting message reports it delivered. */
static void
peer_handle_ack(struct peer *p, struct peer_pair *pp, uint64_t msg_id,
    const uint8_t *body, size_t len)
{
	struct peer_out	*o;
	char		 to[SC_NAME_MAX + 1];

	(void)body;
	(void)len;

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
    const uint8_t *text, size_t len)
{
	char	from[SC_NAME_MAX + 1];
	int	fresh;

	fresh = replay_check(&pp->ids, msg_id);
	if (fresh)
		replay_update(&pp->ids, msg_id);
	else
		p->stats.dup_msgs++;
	strlcpy(from, pp->name, sizeof(from));
	if (peer_transmit(p, pp, SC_DGRAM_ACK, msg_id, NULL, 0) != 0)
		log_debug("peer: cannot ack peer=%s msg_id=%" PRIu64, from,
		    msg_id);
	if (fresh) {
		log_debug("peer: msg peer=%s msg_id=%" PRIu64 " len=%zu",
		    from, msg_id, len);
		p->cb.msg(p->arg, from, (const char *)text, len);
	} else
		log_debug("peer: duplicate msg peer=%s msg_id=%" PRIu64,
		    from, msg_id);
}

/*
 * The kinds of payload an opened datagram may carry, each with the most
 * bytes it takes after its msg_id (a msg_id is never 0).  Anything else is
 * dropped and counted as a bad payload.
 */
static const struct peer_kind {
	uint8_t	kind;
	size_t	body_max;
	void	(*fn)(struct peer *, struct peer_pair *, uint64_t msg_id,
		    const uint8_t *body, size_t len);
} peer_kinds[] = {
	{ SC_DGRAM_MSG, SC_TEXT_MAX, peer_handle_msg },
	{ SC_DGRAM_ACK, 0, peer_handle_ack },
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
peer_input(struct peer *p, const uint8_t *d, size_t len)
{
	const struct peer_kind	*k;
	struct peer_pair	*pp;
	uint8_t			 plain[PEER_PAYLOAD_MAX];
	uint64_t		 pair_id, ctr, msg_id;
	size_t			 plen, blen;

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
	msg_id = util_get_be64(plain + 1);
	blen = plen - PEER_PAYLOAD_HDR;
	if ((k = peer_kind_find(plain[0])) == NULL || msg_id == 0 ||
	    blen > k->body_max)
		peer_drop(&p->stats.drop_payload, "payload");
	else
		k->fn(p, pp, msg_id, plain + PEER_PAYLOAD_HDR, blen);
	sc_wipe(plain, sizeof(plain));
}

/* The datagram counters. */
const struct peer_stats *
peer_stats(const struct peer *p)
{
	return (&p->stats);
}
