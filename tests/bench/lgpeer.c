/* SPDX-License-Identifier: ISC */
/*
 * Peer datagrams (docs/protocol.md, section 8) between two clients that the
 * load generator plays itself: both log in, register an identity key and
 * a UDP port, and one asks for the pair key; the two run the peers'
 * handshake (section 8.1: the side whose name sorts first sends INIT,
 * again every tick until RESP comes, the other answers it), and the
 * datagrams go under its keys; then side A sends MSG datagrams to side
 * B, which answers each with an ACK.  The time from A's PAIRKEY to both
 * sides holding the keys is reported (hs_us).
 * First `count` messages one at a time (the round
 * trip with acknowledgement), then, for `duration` seconds, with `window`
 * messages in flight (messages per second).  Both sides run on this one
 * thread, so the rate counts the sealing and opening of both.
 *
 * With --relay both sides also register their UDP endpoint with the server
 * (section 9.2: REGISTER under the key of UDPREG, until a REGISTERED that
 * opens comes back), A asks for the pair key only once both are, and every
 * datagram, messages and ACKs alike, goes to the server's UDP endpoint,
 * which relays it to the other side (section 9.3).  The work of the load
 * generator is the same either way; the difference is the daemon's.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sealchat/peerhs.h"
#include "sealchat/util.h"

#include "loadgen.h"
#include "replay.h"

#define LGPEER_SLOTS		64	/* msg ids tracked; >= window */
#define LGPEER_RETRY_US		500000	/* retry_interval_ms default */
#define LGPEER_RETRIES		6	/* send_retries default */
#define LGPEER_TICK_US		50000
#define LGPEER_PAIR_TRIES	100
#define LGPEER_READS		64	/* datagrams per wake-up */
#define LGPEER_REG_RETRY_US	500000	/* REGISTER again without an answer */
#define LGPEER_REG_TRIES	10

enum lgpeer_phase {
	LGPEER_SETUP = 0,
	LGPEER_RTT,
	LGPEER_RATE,
	LGPEER_DONE,
};

struct lgpeer;

struct lgpeer_side {
	struct lgconn		*c;
	struct lgpeer		*p;
	struct handshake_client	 hs;
	int			 idx;
	char			 name[SC_NAME_MAX + 1];
	char			 peer[SC_NAME_MAX + 1];
	int			 udp_fd;
	struct event		*udp_ev;
	int			 logged;
	int			 keyed;
	int			 reg_started;	/* UDPREG came (--relay) */
	int			 registered;	/* a REGISTERED opened */
	uint64_t		 reg_id;
	struct sc_reg_keys	 reg_keys;
	uint64_t		 reg_ctr;	/* the next REGISTER's */
	int			 reg_tries;
	uint64_t		 reg_sent_us;
	struct sockaddr_storage	 srv_udp;	/* the server's UDP side */
	socklen_t		 srv_udp_len;
	uint16_t		 udp_port;	/* our own */
	uint64_t		 pair_id;
	uint8_t			 id_pk[SC_KEY_BYTES];	/* identity */
	uint8_t			 id_sk[SC_KEY_BYTES];
	struct peerhs		 phs;		/* the peers' handshake */
	int			 initiator;
	uint8_t			 hs_msg[PEERHS_LEN];	/* INIT or RESP */
	uint64_t		 pairkey_us;	/* when PAIRKEY came */
	struct sc_pair_keys	 keys;
	struct sockaddr_storage	 to;
	socklen_t		 to_len;
	uint64_t		 tx_ctr;
	struct replay		 rx;
	struct replay		 ids;
	uint64_t		 dropped;
	uint64_t		 shown;
};

struct lgpeer_msg {
	uint64_t	id;
	uint64_t	first_us;
	uint64_t	sent_us;
	int		tries;
	int		live;
};

struct lgpeer {
	struct lg		*lg;
	struct lgpeer_side	 a;
	struct lgpeer_side	 b;
	enum lgpeer_phase	 phase;
	uint8_t			 text[SC_TEXT_MAX];
	uint64_t		 next_id;
	struct lgpeer_msg	 out[LGPEER_SLOTS];
	int			 inflight;
	double			*rtt_us;
	int			 nrtt;
	uint64_t		 acked;
	uint64_t		 rate_t0;
	uint64_t		 rate_end;
	double			 srv_cpu0;	/* at rate_t0, -1 unknown */
	double			 srv_cpu1;	/* at rate_end */
	double			 own_cpu0;
	double			 own_cpu1;
	uint64_t		 retries;
	uint64_t		 failed;
	uint64_t		 hs_us;		/* PAIRKEY to both keyed */
	int			 pair_tries;
	struct event		*tick_ev;
};

/* Microseconds on the monotonic clock. */
static uint64_t
lgpeer_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* The server's CPU time (-1 when unknown) and ours, in seconds. */
static void
lgpeer_cpu(struct lgpeer *p, double *srv, double *own)
{
	*srv = -1;
	if (p->lg->o.server_pid > 0 &&
	    loadgen_proc_cpu(p->lg->o.server_pid, srv) == -1)
		*srv = -1;
	*own = loadgen_self_cpu();
}

/* Seals and sends one datagram of the given kind from side s. */
static int
lgpeer_send(struct lgpeer_side *s, uint8_t kind, uint64_t id,
    const uint8_t *text, size_t len)
{
	uint8_t	plain[9 + SC_TEXT_MAX], dg[SC_DGRAM_MAX];
	size_t	plen = 9 + len, dlen;
	ssize_t	n;

	plain[0] = kind;
	util_put_be64(plain + 1, id);
	if (len > 0)
		memcpy(plain + 9, text, len);
	if (sc_dgram_seal(dg, s->keys.tx, s->pair_id, s->tx_ctr++, plain,
	    plen) != 0)
		return (-1);
	dlen = SC_DGRAM_HDR + plen + SC_MAC_BYTES;
	sc_wipe(plain, plen);
	n = sendto(s->udp_fd, dg, dlen, 0, (struct sockaddr *)&s->to,
	    s->to_len);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != ENOBUFS)
		return (-1);
	return (0);
}

/* Sends side s's next REGISTER to the server's UDP side (--relay). */
static int
lgpeer_register(struct lgpeer_side *s)
{
	static const uint8_t	zero[SC_REG_PLAIN];
	uint8_t			d[SC_REG_LEN];
	ssize_t			n;

	if (sc_reg_seal(d, SC_UDP_REGISTER, s->reg_keys.c2s, s->reg_id,
	    s->reg_ctr, zero) != 0)
		return (-1);
	s->reg_ctr++;
	s->reg_tries++;
	s->reg_sent_us = lgpeer_now_us();
	n = sendto(s->udp_fd, d, sizeof(d), 0, (struct sockaddr *)&s->srv_udp,
	    s->srv_udp_len);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != ENOBUFS)
		return (-1);
	return (0);
}

/* Side A: sends message number id (first try or a retry). */
static int
lgpeer_send_msg(struct lgpeer *p, struct lgpeer_msg *m)
{
	m->sent_us = lgpeer_now_us();
	m->tries++;
	return (lgpeer_send(&p->a, SC_DGRAM_MSG, m->id, p->text,
	    (size_t)p->lg->o.size));
}

/* Side A: sends new messages while the phase allows more in flight. */
static void
lgpeer_pump(struct lgpeer *p)
{
	struct lgpeer_msg	*m;
	int			 window;

	for (;;) {
		if (p->phase == LGPEER_RTT) {
			if (p->nrtt >= p->lg->o.count) {
				p->phase = LGPEER_RATE;
				lgpeer_cpu(p, &p->srv_cpu0, &p->own_cpu0);
				p->rate_t0 = lgpeer_now_us();
				p->rate_end = p->rate_t0 +
				    (uint64_t)(p->lg->o.duration * 1e6);
				p->acked = 0;
				continue;
			}
			window = 1;
		} else if (p->phase == LGPEER_RATE) {
			if (lgpeer_now_us() >= p->rate_end) {
				p->phase = LGPEER_DONE;
				p->rate_end = lgpeer_now_us();
				lgpeer_cpu(p, &p->srv_cpu1, &p->own_cpu1);
				event_base_loopbreak(p->lg->base);
				return;
			}
			window = p->lg->o.peer_window;
		} else
			return;
		if (p->inflight >= window)
			return;
		m = &p->out[(p->next_id + 1) % LGPEER_SLOTS];
		if (m->live)
			return;
		memset(m, 0, sizeof(*m));
		m->id = ++p->next_id;
		m->live = 1;
		m->first_us = lgpeer_now_us();
		p->inflight++;
		if (lgpeer_send_msg(p, m) == -1) {
			loadgen_fail(p->lg, "sendto: %s", strerror(errno));
			return;
		}
	}
}

/* Side A got an ACK. */
static void
lgpeer_acked(struct lgpeer *p, uint64_t id)
{
	struct lgpeer_msg	*m = &p->out[id % LGPEER_SLOTS];

	if (!m->live || m->id != id)
		return;		/* a late duplicate */
	m->live = 0;
	p->inflight--;
	if (p->phase == LGPEER_RTT)
		p->rtt_us[p->nrtt++] = (double)(lgpeer_now_us() - m->first_us);
	else if (p->phase == LGPEER_RATE)
		p->acked++;
	lgpeer_pump(p);
}

static void	lgpeer_pair(struct lgpeer *);
static void	lgpeer_ready(struct lgpeer_side *);

/* Sends side s's handshake message (INIT or RESP) to its peer. */
static int
lgpeer_hs_send(struct lgpeer_side *s)
{
	ssize_t	n;

	n = sendto(s->udp_fd, s->hs_msg, PEERHS_LEN, 0,
	    (struct sockaddr *)&s->to, s->to_len);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != ENOBUFS)
		return (-1);
	return (0);
}

/*
 * An INIT or RESP for side s: the responder answers an INIT that opens
 * (a copy of it again with its RESP), the initiator takes a RESP; either
 * way the keys come out.  Anything else is dropped.
 */
static void
lgpeer_handshake(struct lgpeer_side *s, const uint8_t *d, size_t len)
{
	struct sc_pair_keys	k;
	int			rc;

	if (s->pair_id == 0 || len != PEERHS_LEN ||
	    util_get_be64(d + 1) != s->pair_id) {
		s->dropped++;
		return;
	}
	if (s->keyed) {
		if (!s->initiator && d[0] == SC_UDP_INIT &&
		    lgpeer_hs_send(s) == -1)
			loadgen_fail(s->p->lg, "sendto: %s", strerror(errno));
		return;
	}
	if (s->initiator)
		rc = d[0] == SC_UDP_RESP ? peerhs_read_resp(&s->phs, &k, d,
		    len, s->id_sk) : -1;
	else
		rc = d[0] == SC_UDP_INIT ? peerhs_read_init(&s->phs, &k,
		    s->hs_msg, d, len, s->id_sk, NULL) : -1;
	if (rc != 0) {
		s->dropped++;
		return;
	}
	s->keys = k;
	sc_wipe(&k, sizeof(k));
	if (!s->initiator && lgpeer_hs_send(s) == -1) {
		loadgen_fail(s->p->lg, "sendto: %s", strerror(errno));
		return;
	}
	lgpeer_ready(s);
}

/*
 * A REGISTERED for side s, taken as the sealchat client takes one
 * (section 10.7): our reg_id, a counter we sent, the AEAD, an endpoint
 * and the zero byte; on loopback the endpoint must carry our own port.
 * Once both sides are registered, A asks for the pair key.
 */
static void
lgpeer_registered(struct lgpeer_side *s, const uint8_t *d, size_t len)
{
	struct lgpeer	*p = s->p;
	uint8_t		 plain[SC_REG_PLAIN];
	struct sc_cand	 c;
	int		 ok;

	ok = s->reg_started && len == SC_REG_LEN &&
	    util_get_be64(d + 1) == s->reg_id &&
	    util_get_be64(d + 9) < s->reg_ctr &&
	    sc_reg_open(plain, s->reg_keys.s2c, d, len) == 0 &&
	    plain[SC_ENDPOINT_BYTES] == 0 &&
	    wire_endpoint_get(&c, plain) == 0 && c.port == s->udp_port;
	sc_wipe(plain, sizeof(plain));
	if (!ok) {
		s->dropped++;
		return;
	}
	if (s->registered)
		return;
	s->registered = 1;
	if (p->a.registered && p->b.registered)
		lgpeer_pair(p);
}

/* Checks, opens and handles one datagram received by side s. */
static void
lgpeer_datagram(struct lgpeer_side *s, const uint8_t *dg, size_t len)
{
	uint8_t		plain[9 + SC_TEXT_MAX];
	uint64_t	ctr, id;
	size_t		plen;

	if (len > 0 && dg[0] == SC_UDP_REGISTERED) {
		lgpeer_registered(s, dg, len);
		return;
	}
	if (len > 0 && (dg[0] == SC_UDP_INIT || dg[0] == SC_UDP_RESP)) {
		lgpeer_handshake(s, dg, len);
		return;
	}
	if (len < SC_DGRAM_HDR + SC_MAC_BYTES + 9 || len > SC_DGRAM_MAX ||
	    dg[0] != SC_DGRAM_VERSION || !s->keyed ||
	    util_get_be64(dg + 1) != s->pair_id) {
		s->dropped++;
		return;
	}
	ctr = util_get_be64(dg + 9);
	if (!replay_check(&s->rx, ctr)) {
		s->dropped++;
		return;
	}
	plen = len - SC_DGRAM_HDR - SC_MAC_BYTES;
	if (sc_dgram_open(plain, s->keys.rx, dg, len) != 0) {
		s->dropped++;
		return;
	}
	/* The window moves only once the datagram has opened. */
	replay_update(&s->rx, ctr);
	id = util_get_be64(plain + 1);
	if (plain[0] == SC_DGRAM_MSG) {
		if (replay_check(&s->ids, id)) {
			replay_update(&s->ids, id);
			s->shown++;
		}
		if (lgpeer_send(s, SC_DGRAM_ACK, id, NULL, 0) == -1)
			loadgen_fail(s->p->lg, "sendto: %s", strerror(errno));
	} else if (plain[0] == SC_DGRAM_ACK && plen == 9 && s == &s->p->a)
		lgpeer_acked(s->p, id);
	else
		s->dropped++;
	sc_wipe(plain, plen);
}

/* A side's UDP socket is readable. */
static void
lgpeer_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgpeer_side	*s = arg;
	uint8_t			 dg[SC_DGRAM_MAX + 1];
	ssize_t			 n;
	int			 i;

	(void)what;
	for (i = 0; i < LGPEER_READS && !s->p->lg->failed; i++) {
		n = recv(fd, dg, sizeof(dg), 0);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				loadgen_fail(s->p->lg, "recv: %s",
				    strerror(errno));
			return;
		}
		lgpeer_datagram(s, dg, (size_t)n);
	}
}

/* Retries and gives up on unacknowledged messages; keeps TCP alive. */
static void
lgpeer_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lgpeer		*p = arg;
	struct lgpeer_msg	*m;
	struct lgpeer_side	*sides[2] = { &p->a, &p->b }, *s;
	struct wbuf		 wb;
	uint64_t		 now = lgpeer_now_us();
	int			 i;

	(void)fd;
	(void)what;
	for (i = 0; i < 2; i++) {
		s = sides[i];
		if (s->initiator && s->pair_id != 0 && !s->keyed &&
		    lgpeer_hs_send(s) == -1) {
			loadgen_fail(p->lg, "sendto: %s", strerror(errno));
			return;
		}
		if (!s->reg_started || s->registered ||
		    now - s->reg_sent_us < LGPEER_REG_RETRY_US)
			continue;
		if (s->reg_tries >= LGPEER_REG_TRIES) {
			loadgen_fail(p->lg, "%s: no REGISTERED after %d "
			    "REGISTERs", s->name, s->reg_tries);
			return;
		}
		if (lgpeer_register(s) == -1) {
			loadgen_fail(p->lg, "sendto: %s", strerror(errno));
			return;
		}
	}
	for (i = 0; i < LGPEER_SLOTS; i++) {
		m = &p->out[i];
		if (!m->live || now - m->sent_us < LGPEER_RETRY_US)
			continue;
		if (m->tries > LGPEER_RETRIES) {
			m->live = 0;
			p->inflight--;
			p->failed++;
			continue;
		}
		p->retries++;
		if (lgpeer_send_msg(p, m) == -1)
			loadgen_fail(p->lg, "sendto: %s", strerror(errno));
	}
	wbuf_init(&wb);
	wire_enc_ping(&wb, SC_MSG_PING, now);
	for (i = 0; i < 2; i++) {
		if (sides[i]->c->state == LGCONN_CHANNEL &&
		    sides[i]->c->ka_interval > 0 &&
		    util_now_ms() - sides[i]->c->last_tx_ms >=
		    (uint64_t)sides[i]->c->ka_interval * 500 &&
		    lgconn_send_msg(sides[i]->c, &wb) == -1)
			loadgen_fail(p->lg, "cannot send PING");
	}
	wbuf_free(&wb);
	lgpeer_pump(p);
}

/* Opens side s's UDP socket on the server's loopback address. */
static int
lgpeer_udp_open(struct lgpeer_side *s, uint16_t *port)
{
	struct lg		*lg = s->p->lg;
	struct sockaddr_storage	 ss;
	socklen_t		 len = lg->addr_len;

	memcpy(&ss, &lg->addr, len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	s->udp_fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->udp_fd == -1)
		return (-1);
	if (bind(s->udp_fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(s->udp_fd, (struct sockaddr *)&ss, &len) == -1)
		return (-1);
	*port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	s->udp_ev = event_new(lg->base, s->udp_fd, EV_READ | EV_PERSIST,
	    lgpeer_udp_cb, s);
	if (s->udp_ev == NULL || event_add(s->udp_ev, NULL) == -1)
		return (-1);
	return (0);
}

/* UDPREG to side s: with --relay, register its endpoint. */
static void
lgpeer_udpreg(struct lgpeer_side *s, const struct sc_msg *m)
{
	struct lg	*lg = s->p->lg;

	if (!lg->o.relay || s->reg_started)
		return;
	if ((m->flags & SC_UDPREG_RELAY) == 0) {
		loadgen_fail(lg, "the server does not relay (relay: off)");
		return;
	}
	memcpy(&s->srv_udp, &lg->addr, lg->addr_len);
	s->srv_udp_len = lg->addr_len;
	if (s->srv_udp.ss_family == AF_INET)
		((struct sockaddr_in *)&s->srv_udp)->sin_port = htons(m->port);
	else
		((struct sockaddr_in6 *)&s->srv_udp)->sin6_port =
		    htons(m->port);
	s->reg_id = m->reg_id;
	sc_reg_derive(&s->reg_keys, m->key);
	s->reg_started = 1;
	if (lgpeer_register(s) == -1)
		loadgen_fail(lg, "sendto: %s", strerror(errno));
}

/* Sends PAIR from side A for side B. */
static void
lgpeer_pair(struct lgpeer *p)
{
	struct wbuf	wb;

	wbuf_init(&wb);
	wire_enc_pair(&wb, p->a.peer);
	if (lgconn_send_msg(p->a.c, &wb) == -1)
		loadgen_fail(p->lg, "cannot send PAIR");
	wbuf_free(&wb);
}

/* PAIR again after the server did not have B's UDP port yet. */
static void
lgpeer_pair_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	lgpeer_pair(arg);
}

/*
 * A side logged in: tell the server its UDP port; A asks for the key once
 * both are (with --relay: once both are registered).
 */
static void
lgpeer_logged(struct lgpeer_side *s)
{
	struct lgpeer	*p = s->p;
	struct wbuf	 wb;
	uint16_t	 port;

	s->logged = 1;
	if (lgpeer_udp_open(s, &port) == -1) {
		loadgen_fail(p->lg, "UDP socket: %s", strerror(errno));
		return;
	}
	s->udp_port = port;
	if (sc_dh_keypair(s->id_pk, s->id_sk) != 0) {
		loadgen_fail(p->lg, "cannot make an identity key");
		return;
	}
	wbuf_init(&wb);
	wire_enc_identity(&wb, s->id_pk);
	if (lgconn_send_msg(s->c, &wb) == -1)
		loadgen_fail(p->lg, "cannot send IDENTITY");
	wbuf_free(&wb);
	wbuf_init(&wb);
	wire_enc_udp(&wb, port, NULL, 0);
	if (lgconn_send_msg(s->c, &wb) == -1)
		loadgen_fail(p->lg, "cannot send UDP");
	wbuf_free(&wb);
	if (!p->lg->o.relay && p->a.logged && p->b.logged)
		lgpeer_pair(p);
}

/*
 * Side s holds the handshake's keys; once both do, the round trips
 * begin.
 */
static void
lgpeer_ready(struct lgpeer_side *s)
{
	struct lgpeer	*p = s->p;

	s->tx_ctr = 0;
	replay_init(&s->rx);
	replay_init(&s->ids);
	s->keyed = 1;
	if (p->a.keyed && p->b.keyed && p->phase == LGPEER_SETUP) {
		if (p->a.pair_id != p->b.pair_id) {
			loadgen_fail(p->lg, "the two sides got different keys");
			return;
		}
		p->hs_us = lgpeer_now_us() - p->a.pairkey_us;
		p->phase = LGPEER_RTT;
		lgpeer_pump(p);
	}
}

/*
 * A side received its PAIRKEY: the handshake begins; the side whose name
 * sorts first sends INIT (and again every tick until RESP).
 */
static void
lgpeer_keyed(struct lgpeer_side *s, const struct sc_msg *m)
{
	struct lgpeer		*p = s->p;
	int			 i;

	if (strcmp(m->name, s->peer) != 0) {
		loadgen_fail(p->lg, "PAIRKEY for %s, not %s", m->name,
		    s->peer);
		return;
	}
	if (p->lg->o.relay) {
		if ((m->flags & SC_PAIR_RELAY) == 0) {
			loadgen_fail(p->lg, "PAIRKEY for %s without RELAY",
			    m->name);
			return;
		}
		memcpy(&s->to, &s->srv_udp, s->srv_udp_len);
		s->to_len = s->srv_udp_len;
	} else if (m->ncand == 0 ||
	    (s->to_len = wire_cand_to_sa(&s->to, &m->cand[0])) == 0) {
		loadgen_fail(p->lg, "PAIRKEY for %s without an endpoint",
		    m->name);
		return;
	}
	if (s->pair_id != 0)
		return;		/* the same pair again */
	s->pair_id = m->pair_id;
	s->pairkey_us = lgpeer_now_us();
	s->initiator = i = strcmp(s->name, s->peer) < 0;
	if (peerhs_init(&s->phs, i, m->pair_id, i ? s->name : s->peer,
	    i ? s->id_pk : m->idkey, i ? s->peer : s->name,
	    i ? m->idkey : s->id_pk, m->key) != 0 || (i &&
	    peerhs_write_init(&s->phs, s->hs_msg, s->id_sk, NULL) != 0)) {
		loadgen_fail(p->lg, "cannot begin the handshake");
		return;
	}
	if (i && lgpeer_hs_send(s) == -1)
		loadgen_fail(p->lg, "sendto: %s", strerror(errno));
}

/* The channel of a side is up: log in. */
static void
lgpeer_up(struct lgconn *c)
{
	struct lgpeer_side	*s = c->arg;
	struct wbuf		 wb;

	wbuf_init(&wb);
	wire_enc_cred(&wb, SC_MSG_AUTH, s->name, (const uint8_t *)LG_PASSWORD,
	    strlen(LG_PASSWORD));
	if (lgconn_send_msg(c, &wb) == -1)
		loadgen_fail(c->lg, "cannot send AUTH");
	wbuf_free(&wb);
}

/* One message to a side. */
static void
lgpeer_msg(struct lgconn *c, const struct sc_msg *m)
{
	struct lgpeer_side	*s = c->arg;
	struct lgpeer		*p = s->p;
	struct timeval		 tv = { 0, 20000 };

	switch (m->type) {
	case SC_MSG_OK:
		lgpeer_logged(s);
		return;
	case SC_MSG_PAIRKEY:
		lgpeer_keyed(s, m);
		return;
	case SC_MSG_UDPREG:
		lgpeer_udpreg(s, m);
		return;
	case SC_MSG_ERROR:
		if (m->req == SC_MSG_PAIR && (m->code == SC_ERR_NO_UDP ||
		    m->code == SC_ERR_OFFLINE) &&
		    ++p->pair_tries < LGPEER_PAIR_TRIES) {
			if (event_base_once(p->lg->base, -1, EV_TIMEOUT,
			    lgpeer_pair_cb, p, &tv) == -1)
				loadgen_fail(p->lg, "cannot arm a timer");
			return;
		}
		loadgen_fail(p->lg, "%s: error from the server: %s%s",
		    s->name, wire_err_str(m->code),
		    m->code == SC_ERR_CREDENTIALS ? " (run mkusers first)" :
		    "");
		return;
	case SC_MSG_GOODBYE:
		loadgen_fail(p->lg, "%s: GOODBYE: %s", s->name,
		    wire_bye_str(m->code));
		return;
	default:
		return;
	}
}

/* A side's TCP connection ended. */
static void
lgpeer_down(struct lgconn *c, const char *why)
{
	struct lgpeer_side	*s = c->arg;

	loadgen_fail(c->lg, "%s: %s", s->name, why);
}

/* Sets up one side: user idx, talking to user peer_idx. */
static int
lgpeer_side_init(struct lgpeer *p, struct lgpeer_side *s, int idx,
    int peer_idx)
{
	static const struct lgconn_ops ops = {
		.up = lgpeer_up, .msg = lgpeer_msg, .down = lgpeer_down,
	};

	s->p = p;
	s->idx = idx;
	s->udp_fd = -1;
	loadgen_user_name(p->lg, s->name, sizeof(s->name), idx);
	loadgen_user_name(p->lg, s->peer, sizeof(s->peer), peer_idx);
	if ((s->c = lgconn_new(p->lg, &ops, s)) == NULL)
		return (-1);
	if (handshake_client_hello(&s->hs, p->lg->server_pk) != 0)
		return (-1);
	return (lgconn_connect(s->c, &s->hs, 0));
}

/* Closes a side. */
static void
lgpeer_side_free(struct lgpeer_side *s)
{
	lgconn_free(s->c);
	if (s->udp_ev != NULL)
		event_free(s->udp_ev);
	if (s->udp_fd != -1)
		close(s->udp_fd);
	handshake_client_wipe(&s->hs);
	peerhs_wipe(&s->phs);
	sc_wipe(s->id_sk, sizeof(s->id_sk));
	sc_wipe(&s->keys, sizeof(s->keys));
	sc_wipe(&s->reg_keys, sizeof(s->reg_keys));
}

/*
 * peer: round trips and messages per second between users 0 and 1, direct
 * or (--relay) through the server's relay.
 */
int
lgpeer_peer(struct lg *lg)
{
	struct lgpeer	*p;
	struct timeval	 tv = { 0, LGPEER_TICK_US };
	double		 secs, p50, p99, scpu;
	char		 srv[96];
	int		 rc = -1;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (-1);
	p->lg = lg;
	p->a.udp_fd = p->b.udp_fd = -1;
	memset(p->text, 'x', sizeof(p->text));
	if ((p->rtt_us = calloc((size_t)lg->o.count, sizeof(double))) ==
	    NULL) {
		loadgen_fail(lg, "out of memory");
		goto out;
	}
	p->tick_ev = event_new(lg->base, -1, EV_PERSIST, lgpeer_tick_cb, p);
	if (p->tick_ev == NULL || event_add(p->tick_ev, &tv) == -1) {
		loadgen_fail(lg, "cannot arm a timer");
		goto out;
	}
	if (lgpeer_side_init(p, &p->a, 0, 1) == -1 ||
	    lgpeer_side_init(p, &p->b, 1, 0) == -1) {
		loadgen_fail(lg, "connect: %s", strerror(errno));
		goto out;
	}
	if (!lg->failed)
		event_base_dispatch(lg->base);
	if (lg->failed || p->phase != LGPEER_DONE)
		goto out;
	secs = (double)(p->rate_end - p->rate_t0) / 1e6;
	p50 = loadgen_pct(p->rtt_us, (size_t)p->nrtt, 50);
	p99 = loadgen_pct(p->rtt_us, (size_t)p->nrtt, 99);
	/* The server's CPU over the rate phase, and its share of one core. */
	if (p->srv_cpu0 >= 0 && p->srv_cpu1 >= 0 && secs > 0) {
		scpu = p->srv_cpu1 - p->srv_cpu0;
		snprintf(srv, sizeof(srv), "server_cpu=%.2f "
		    "server_cpu_pct=%.0f server_us_per_msg=%.2f", scpu,
		    scpu / secs * 100, p->acked > 0 ?
		    scpu * 1e6 / (double)p->acked : 0);
	} else
		snprintf(srv, sizeof(srv), "server_cpu=- server_cpu_pct=- "
		    "server_us_per_msg=-");
	printf("peer path=%s rtt_n=%d rtt_p50_us=%.0f rtt_p99_us=%.0f "
	    "msgs=%llu seconds=%.2f msgs_per_s=%.0f size=%d window=%d "
	    "retries=%llu failed=%llu dropped=%llu hs_us=%llu %s "
	    "client_cpu=%.2f\n", lg->o.relay ? "relay" : "direct", p->nrtt,
	    p50, p99,
	    (unsigned long long)p->acked, secs,
	    secs > 0 ? (double)p->acked / secs : 0, lg->o.size,
	    lg->o.peer_window, (unsigned long long)p->retries,
	    (unsigned long long)p->failed,
	    (unsigned long long)(p->a.dropped + p->b.dropped),
	    (unsigned long long)p->hs_us, srv,
	    p->own_cpu1 - p->own_cpu0);
	fflush(stdout);
	rc = 0;
out:
	lgpeer_side_free(&p->a);
	lgpeer_side_free(&p->b);
	if (p->tick_ev != NULL)
		event_free(p->tick_ev);
	free(p->rtt_us);
	free(p);
	return (rc);
}
