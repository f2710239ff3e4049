/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/server/udp.c over real sockets on 127.0.0.0/8: the
 * daemon's UDP side bound on 127.0.0.1, and clients on 127.0.0.2 and up,
 * each address a "host" of its own.  Members (as sessions hold them) are
 * put online in a real roster with real pair keys, and registered with
 * udp_reg_add(); what the roster would send them is decoded and counted.
 *
 * Registration: the good case byte for byte, every refusal without an
 * answer, the rate per address, the endpoint moved only by the highest
 * counter.  The relay: the bytes forwarded unchanged between the two
 * registered endpoints, a batch of them whole and in order, every
 * refusal, and a flood cut at the configured rate while another pair
 * keeps its service.  Wildcard sockets answer
 * from the address the client wrote to.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "server/config.h"
#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/peerhs.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "pairkey.h"
#include "presence.h"
#include "throttle.h"
#include "udp.h"

#define MEMBERS		4
#define QUIET_MS	30	/* wait that shows nothing came */
#define WAIT_MS		2000

struct fixture {
	struct event_base	*base;
	struct server_conf	 conf;
	struct presence		*p;
	struct pairkey		*pk;
	struct throttle		*t;
	struct udp		*u;
	struct presence_member	 m[MEMBERS];
	struct udp_reg		 r[MEMBERS];
	size_t			 cands[MEMBERS];	/* CANDIDATES got */
	uint64_t		 pair_id[MEMBERS];	/* last PAIRKEY's */
	struct sockaddr_in	 srv;		/* the UDP side's address */
};

static struct fixture	*cur;

/*
 * The roster's delivery: every message must decode; the CANDIDATES each
 * member gets are counted, the pair id of its last PAIRKEY kept.
 */
static int
count_cb(struct presence_member *to, const uint8_t *msg, size_t len,
    void *arg)
{
	struct sc_msg	m;

	(void)arg;
	assert_int_equal(wire_msg_decode(&m, msg, len), WIRE_MSG_OK);
	if (m.type == SC_MSG_CANDIDATES)
		cur->cands[to - cur->m]++;
	if (m.type == SC_MSG_PAIRKEY)
		cur->pair_id[to - cur->m] = m.pair_id;
	return (0);
}

/* An IPv4 socket address from text and port. */
static struct sockaddr_in
sa4(const char *ip, uint16_t port)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	sin.sin_port = htons(port);
	return (sin);
}

/* A UDP socket on ip, any port, that does not block. */
static int
sock_at(const char *ip)
{
	struct sockaddr_in	sin = sa4(ip, 0);
	int			fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return (fd);
}

/* The endpoint of a socket, as a candidate. */
static struct sc_cand
endpoint_of(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	struct sc_cand		c;

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	assert_int_equal(wire_cand_from_sa(&c, SC_CAND_SRFLX,
	    (struct sockaddr *)&ss), 0);
	return (c);
}

/* Runs the loop until nothing is left to do now. */
static void
pump(struct fixture *f)
{
	int	i;

	for (i = 0; i < 8; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Sends a datagram from fd to the UDP side and lets it run. */
static void
put(struct fixture *f, int fd, const void *d, size_t len)
{
	assert_int_equal(sendto(fd, d, len, 0, (struct sockaddr *)&f->srv,
	    sizeof(f->srv)), (ssize_t)len);
	pump(f);
}

/*
 * The next datagram on fd within ms: its length (its source in *from
 * when not NULL), or -1 when none came.
 */
static ssize_t
take(int fd, uint8_t *buf, size_t cap, int ms, struct sockaddr_in *from)
{
	struct pollfd		pfd;
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	ssize_t			n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, ms) != 1)
		return (-1);
	n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&sin, &len);
	if (n >= 0 && from != NULL)
		*from = sin;
	return (n);
}

/* No datagram waits on fd, now or a moment later. */
static void
nothing_on(int fd)
{
	uint8_t	buf[SC_DGRAM_MAX + 1];

	assert_int_equal(take(fd, buf, sizeof(buf), QUIET_MS, NULL), -1);
}

/* A REGISTER of member i's registration under counter ctr. */
static void
reg_dgram(struct fixture *f, size_t i, uint64_t ctr, uint8_t out[SC_REG_LEN])
{
	struct sc_reg_keys	keys;
	uint8_t			zero[SC_REG_PLAIN];

	memset(zero, 0, sizeof(zero));
	sc_reg_derive(&keys, f->r[i].k_reg);
	assert_int_equal(sc_reg_seal(out, SC_UDP_REGISTER, keys.c2s,
	    f->r[i].reg_id, ctr, zero), 0);
	sc_wipe(&keys, sizeof(keys));
}

/*
 * Registers member i from fd with counter ctr and checks the REGISTERED:
 * the REGISTER's length, reg_id and counter, sealed with the server's
 * key, the endpoint fd has, a zero byte.
 */
static void
reg_ok(struct fixture *f, size_t i, int fd, uint64_t ctr)
{
	struct sc_reg_keys	keys;
	struct sc_cand		seen, mine = endpoint_of(fd);
	struct sockaddr_in	from;
	uint8_t			d[SC_REG_LEN], a[SC_DGRAM_MAX + 1];
	uint8_t			plain[SC_REG_PLAIN];

	reg_dgram(f, i, ctr, d);
	put(f, fd, d, sizeof(d));
	assert_int_equal(take(fd, a, sizeof(a), WAIT_MS, &from), SC_REG_LEN);
	assert_int_equal(a[0], SC_UDP_REGISTERED);
	assert_memory_equal(a + 1, d + 1, 16);		/* reg_id, counter */
	assert_memory_equal(&from.sin_addr, &f->srv.sin_addr, 4);
	assert_int_equal(from.sin_port, f->srv.sin_port);
	sc_reg_derive(&keys, f->r[i].k_reg);
	assert_int_equal(sc_reg_open(plain, keys.s2c, a, SC_REG_LEN), 0);
	assert_int_equal(wire_endpoint_get(&seen, plain), 0);
	assert_int_equal(plain[SC_ENDPOINT_BYTES], 0);
	assert_int_equal(seen.af, mine.af);
	assert_memory_equal(seen.addr, mine.addr, 16);
	assert_int_equal(seen.port, mine.port);
	sc_wipe(&keys, sizeof(keys));
}

/* A peer datagram of len bytes (at least 17) of pair_id, filled with x. */
static void
peer_dgram(uint8_t *d, size_t len, uint64_t pair_id, uint8_t x)
{
	memset(d, x, len);
	d[0] = SC_DGRAM_VERSION;
	util_put_be64(d + 1, pair_id);
}

/* The id of the pair member i asks for with the member called name. */
static uint64_t
pair(struct fixture *f, size_t i, const char *name)
{
	assert_int_equal(pairkey_request(f->pk, &f->m[i], name), 0);
	return (f->pair_id[i]);
}

/* A stat of the UDP side. */
static uint64_t
fate(struct fixture *f, enum udp_fate which)
{
	return (udp_stats(f->u)->fate[which]);
}

/* Another UDP side with the fixture's roster, pairs and throttle. */
static struct udp *
udp_beside(struct fixture *f)
{
	struct udp_env	 env;
	struct udp	*u;

	memset(&env, 0, sizeof(env));
	env.base = f->base;
	env.conf = &f->conf;
	env.pairkey = f->pk;
	env.throttle = f->t;
	assert_non_null(u = udp_new(&env));
	return (u);
}

/*
 * The UDP side on 127.0.0.1 (a free port), relay on, and four members
 * online, each with UDP from port 1000 + i and a registration: ann, ben,
 * cat, dan.
 */
static int
setup(void **state)
{
	struct fixture		*f;
	struct sockaddr_in	 sin = sa4("127.0.0.1", 0);
	struct sc_cand		 h;
	const char		*names[MEMBERS] = { "ann", "ben", "cat",
				    "dan" };
	size_t			 i;

	assert_non_null(f = calloc(1, sizeof(*f)));
	cur = f;
	server_config_defaults(&f->conf);
	assert_non_null(f->base = event_base_new());
	assert_int_equal(event_base_priority_init(f->base, 2), 0);
	assert_non_null(f->p = presence_new(f->base, 4096, count_cb, NULL));
	assert_non_null(f->pk = pairkey_new(f->p));
	pairkey_set_relay(f->pk, 1);
	assert_non_null(f->t = throttle_new(0));
	f->u = udp_beside(f);
	assert_int_equal(udp_listen(f->u, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	f->srv = sa4("127.0.0.1", udp_port(f->u));
	assert_int_not_equal(udp_port(f->u), 0);
	memset(&h, 0, sizeof(h));
	h.af = SC_AF_INET;
	memcpy(h.addr, "\x7f\x00\x00\x01", 4);
	for (i = 0; i < MEMBERS; i++) {
		presence_member_init(&f->m[i], 100 + i);
		f->m[i].has_idkey = 1;
		memset(f->m[i].idkey, (int)(0x10 + i), SC_KEY_BYTES);
		assert_int_equal(presence_join(f->p, &f->m[i], names[i]), 0);
		presence_set_hosts(&f->m[i], (uint16_t)(1000 + i), &h, 1);
		assert_int_equal(udp_reg_add(f->u, &f->r[i], &f->m[i]), 0);
	}
	*state = f;
	return (0);
}

/* Ends the members as sessions do, then frees. */
static int
teardown(void **state)
{
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < MEMBERS; i++) {
		udp_reg_del(f->u, &f->r[i]);
		pairkey_forget(f->pk, &f->m[i]);
		presence_leave(f->p, &f->m[i]);
	}
	udp_free(f->u);
	pairkey_free(f->pk);
	presence_free(f->p);
	throttle_free(f->t);
	event_base_free(f->base);
	free(f);
	cur = NULL;
	return (0);
}

/*
 * A good REGISTER gets a REGISTERED of the same length, reg_id and
 * counter, that opens with the server's key and holds the endpoint the
 * client sent from; that endpoint becomes the member's SRFLX candidate.
 */
static void
test_register_answered_same_size_with_the_endpoint_seen(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 mine;
	int		 fd = sock_at("127.0.0.2");

	reg_ok(f, 0, fd, 0);
	mine = endpoint_of(fd);
	assert_int_equal(f->m[0].srflx.kind, SC_CAND_SRFLX);
	assert_int_equal(f->m[0].srflx.port, mine.port);
	assert_memory_equal(f->m[0].srflx.addr, mine.addr, 4);
	assert_int_equal(fate(f, UDP_REGISTERED), 1);
	assert_int_equal(fate(f, UDP_REG_MOVED), 1);
	reg_ok(f, 0, fd, 1);
	assert_int_equal(fate(f, UDP_REG_MOVED), 1);	/* the same place */
	nothing_on(fd);
	close(fd);
}

/*
 * Nothing answers a REGISTER replayed, sealed with another key, of the
 * wrong length, with an unknown reg_id, opening to bytes that are not
 * zero, nor a REGISTERED or an unknown first byte; each is counted.
 */
static void
test_register_refusals_get_no_answer(void **state)
{
	struct fixture		*f = *state;
	struct sc_reg_keys	 keys;
	uint8_t			 d[SC_REG_LEN + 1], k[SC_KEY_BYTES];
	uint8_t			 plain[SC_REG_PLAIN];
	int			 fd = sock_at("127.0.0.2");

	reg_ok(f, 0, fd, 7);
	reg_dgram(f, 0, 7, d);
	put(f, fd, d, SC_REG_LEN);			/* replayed */
	nothing_on(fd);
	assert_int_equal(fate(f, UDP_REG_REPLAYED), 1);

	sc_random(k, sizeof(k));			/* another key */
	memset(plain, 0, sizeof(plain));
	sc_reg_derive(&keys, k);
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTER, keys.c2s,
	    f->r[0].reg_id, 8, plain), 0);
	put(f, fd, d, SC_REG_LEN);
	nothing_on(fd);
	assert_int_equal(fate(f, UDP_REG_BAD_MAC), 1);

	reg_dgram(f, 0, 9, d);				/* lengths */
	put(f, fd, d, SC_REG_LEN - 1);
	d[SC_REG_LEN] = 0;
	put(f, fd, d, SC_REG_LEN + 1);
	nothing_on(fd);
	assert_int_equal(fate(f, UDP_REG_LENGTH), 2);

	reg_dgram(f, 0, 10, d);				/* unknown reg_id */
	util_put_be64(d + 1, f->r[0].reg_id ^ f->r[1].reg_id ^ 1);
	put(f, fd, d, SC_REG_LEN);
	nothing_on(fd);
	assert_int_equal(fate(f, UDP_REG_UNKNOWN), 1);

	plain[3] = 1;					/* not zeros */
	sc_reg_derive(&keys, f->r[0].k_reg);
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTER, keys.c2s,
	    f->r[0].reg_id, 11, plain), 0);
	put(f, fd, d, SC_REG_LEN);
	nothing_on(fd);
	assert_int_equal(fate(f, UDP_REG_BAD_PLAIN), 1);

	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTERED, keys.s2c,
	    f->r[0].reg_id, 12, plain), 0);
	put(f, fd, d, SC_REG_LEN);			/* the answer's type */
	d[0] = 0x7f;
	put(f, fd, d, SC_REG_LEN);
	nothing_on(fd);
	assert_int_equal(fate(f, UDP_OTHER), 2);
	assert_int_equal(fate(f, UDP_REGISTERED), 1);
	sc_wipe(&keys, sizeof(keys));
	close(fd);
}

/*
 * The rate per address comes before any crypto: past the burst, REGISTERs
 * from one address are dropped, good or forged, while another address is
 * still served.  The endpoint stays where the last good one put it.
 */
static void
test_register_rate_limited_per_address(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_REG_LEN], a[SC_DGRAM_MAX + 1];
	uint64_t	 ctr;
	int		 fd = sock_at("127.0.0.2");
	int		 other = sock_at("127.0.0.3");
	int		 answers = 0;

	for (ctr = 0; ctr < UDP_REG_BURST + 10; ctr++) {
		reg_dgram(f, 0, ctr, d);
		if (ctr % 2 == 1)
			d[SC_REG_LEN - 1] ^= 1;		/* forged */
		assert_int_equal(sendto(fd, d, sizeof(d), 0,
		    (struct sockaddr *)&f->srv, sizeof(f->srv)),
		    (ssize_t)sizeof(d));
	}
	pump(f);
	while (take(fd, a, sizeof(a), QUIET_MS, NULL) == SC_REG_LEN)
		answers++;
	assert_true(answers >= UDP_REG_BURST / 2 - 1);
	assert_true(answers <= UDP_REG_BURST / 2 + 1);
	assert_true(fate(f, UDP_REG_LIMITED) >= 9);
	assert_int_equal(fate(f, UDP_REG_LIMITED) + fate(f, UDP_REG_BAD_MAC) +
	    fate(f, UDP_REGISTERED), UDP_REG_BURST + 10);
	reg_ok(f, 1, other, 0);
	close(fd);
	close(other);
}

/*
 * A late REGISTER (a lower counter, not seen yet) is answered but does not
 * move the endpoint; a higher one from elsewhere does, and the member's
 * pair hears of it on both sides.
 */
static void
test_endpoint_moves_only_on_the_highest_counter(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 x, y;
	int		 fx = sock_at("127.0.0.2"), fy = sock_at("127.0.0.3");

	(void)pair(f, 0, "ben");
	x = endpoint_of(fx);
	y = endpoint_of(fy);
	reg_ok(f, 0, fx, 5);
	assert_memory_equal(f->m[0].srflx.addr, x.addr, 4);
	assert_int_equal(f->cands[0], 1);
	assert_int_equal(f->cands[1], 1);
	reg_ok(f, 0, fy, 3);
	assert_memory_equal(f->m[0].srflx.addr, x.addr, 4);
	assert_int_equal(f->m[0].srflx.port, x.port);
	assert_int_equal(f->cands[1], 1);
	reg_ok(f, 0, fy, 6);
	assert_memory_equal(f->m[0].srflx.addr, y.addr, 4);
	assert_int_equal(f->m[0].srflx.port, y.port);
	assert_int_equal(f->cands[0], 2);
	assert_int_equal(f->cands[1], 2);
	assert_int_equal(fate(f, UDP_REG_MOVED), 2);
	assert_int_equal(fate(f, UDP_REGISTERED), 3);
	close(fx);
	close(fy);
}

/*
 * The relay forwards a datagram, byte for byte, from one registered side
 * of a live pair to the other, from the server's UDP address, both ways;
 * the sizes go into the counts.
 */
static void
test_relay_forwards_unchanged_between_the_two_endpoints(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 from;
	uint8_t			 d[SC_DGRAM_MAX], a[SC_DGRAM_MAX + 1];
	uint64_t		 id;
	int			 fa = sock_at("127.0.0.2");
	int			 fb = sock_at("127.0.0.3");

	id = pair(f, 0, "ben");
	reg_ok(f, 0, fa, 0);
	reg_ok(f, 1, fb, 0);
	peer_dgram(d, 200, id, 0xa5);
	put(f, fa, d, 200);
	assert_int_equal(take(fb, a, sizeof(a), WAIT_MS, &from), 200);
	assert_memory_equal(a, d, 200);
	assert_memory_equal(&from.sin_addr, &f->srv.sin_addr, 4);
	assert_int_equal(from.sin_port, f->srv.sin_port);
	peer_dgram(d, SC_DGRAM_MAX, id, 0x5a);
	put(f, fb, d, SC_DGRAM_MAX);
	assert_int_equal(take(fa, a, sizeof(a), WAIT_MS, NULL), SC_DGRAM_MAX);
	assert_memory_equal(a, d, SC_DGRAM_MAX);
	nothing_on(fa);
	nothing_on(fb);
	assert_int_equal(fate(f, UDP_RELAYED), 2);
	assert_int_equal(udp_stats(f->u)->relayed_bytes, 200 + SC_DGRAM_MAX);
	close(fa);
	close(fb);
}

/*
 * The peers' handshake crosses the relay as their datagrams do: an INIT
 * one way, a RESP back, unchanged; a handshake datagram of another length
 * is dropped as a peer datagram of a wrong length would be.
 */
static void
test_relay_forwards_the_peers_handshake(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[PEERHS_LEN + 1], a[SC_DGRAM_MAX + 1];
	uint64_t	 id;
	int		 fa = sock_at("127.0.0.2");
	int		 fb = sock_at("127.0.0.3");

	id = pair(f, 0, "ben");
	reg_ok(f, 0, fa, 0);
	reg_ok(f, 1, fb, 0);
	memset(d, 0x3c, sizeof(d));
	d[0] = SC_UDP_INIT;
	util_put_be64(d + 1, id);
	put(f, fa, d, PEERHS_LEN);
	assert_int_equal(take(fb, a, sizeof(a), WAIT_MS, NULL), PEERHS_LEN);
	assert_memory_equal(a, d, PEERHS_LEN);
	d[0] = SC_UDP_RESP;
	put(f, fb, d, PEERHS_LEN);
	assert_int_equal(take(fa, a, sizeof(a), WAIT_MS, NULL), PEERHS_LEN);
	assert_memory_equal(a, d, PEERHS_LEN);
	put(f, fb, d, PEERHS_LEN + 1);
	put(f, fb, d, PEERHS_LEN - 1);
	nothing_on(fa);
	nothing_on(fb);
	assert_int_equal(fate(f, UDP_RELAYED), 2);
	assert_int_equal(fate(f, UDP_RELAY_LENGTH), 2);
	close(fa);
	close(fb);
}

/* Sends a datagram from fd to the UDP side without running the loop. */
static void
put_later(struct fixture *f, int fd, const void *d, size_t len)
{
	assert_int_equal(sendto(fd, d, len, 0, (struct sockaddr *)&f->srv,
	    sizeof(f->srv)), (ssize_t)len);
}

/* The next datagram on fd is peer_dgram(len, pair_id, x). */
static void
take_dgram(int fd, size_t len, uint64_t pair_id, uint8_t x)
{
	uint8_t	want[SC_DGRAM_MAX], a[SC_DGRAM_MAX + 1];

	peer_dgram(want, len, pair_id, x);
	assert_int_equal(take(fd, a, sizeof(a), WAIT_MS, NULL), (ssize_t)len);
	assert_memory_equal(a, want, len);
}

/*
 * Datagrams read in one batch leave together: many of two pairs, both
 * ways, interleaved and of every length, each reach their side whole and
 * in the order sent, and each is counted once.
 */
static void
test_relay_batch_leaves_whole_and_in_order(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	uint64_t	 ab, cd, bytes = 0;
	int		 fa = sock_at("127.0.0.2"), fb = sock_at("127.0.0.3");
	int		 fc = sock_at("127.0.0.4"), fd = sock_at("127.0.0.5");
	size_t		 i, n = 40;

	ab = pair(f, 0, "ben");
	cd = pair(f, 2, "dan");
	reg_ok(f, 0, fa, 0);
	reg_ok(f, 1, fb, 0);
	reg_ok(f, 2, fc, 0);
	reg_ok(f, 3, fd, 0);
	for (i = 0; i < n; i++) {
		peer_dgram(d, 42 + i, ab, (uint8_t)i);
		put_later(f, fa, d, 42 + i);
		peer_dgram(d, SC_DGRAM_MAX - i, cd, (uint8_t)(0x80 + i));
		put_later(f, fc, d, SC_DGRAM_MAX - i);
		peer_dgram(d, 60 + 7 * i, ab, (uint8_t)(0x40 + i));
		put_later(f, fb, d, 60 + 7 * i);
		bytes += 42 + i + SC_DGRAM_MAX - i + 60 + 7 * i;
	}
	pump(f);
	for (i = 0; i < n; i++) {
		take_dgram(fb, 42 + i, ab, (uint8_t)i);
		take_dgram(fd, SC_DGRAM_MAX - i, cd, (uint8_t)(0x80 + i));
		take_dgram(fa, 60 + 7 * i, ab, (uint8_t)(0x40 + i));
	}
	nothing_on(fa);
	nothing_on(fb);
	nothing_on(fd);
	assert_int_equal(fate(f, UDP_RELAYED), 3 * n);
	assert_int_equal(fate(f, UDP_SEND_FAILED), 0);
	assert_int_equal(udp_stats(f->u)->relayed_bytes, bytes);
	close(fa);
	close(fb);
	close(fc);
	close(fd);
}

/*
 * Refused, without a byte sent anywhere: an unknown pair, a third address
 * with the pair's id, a side whose peer has not registered, a pair with
 * oneself, a length out of bounds, anything while the relay is off.
 */
static void
test_relay_refusals_send_nothing(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX + 1];
	uint64_t	 ab, ac, aa;
	int		 fa = sock_at("127.0.0.2"), fb = sock_at("127.0.0.3");
	int		 fx = sock_at("127.0.0.4");

	ab = pair(f, 0, "ben");
	ac = pair(f, 0, "cat");
	aa = pair(f, 0, "ann");
	reg_ok(f, 0, fa, 0);
	reg_ok(f, 1, fb, 0);

	peer_dgram(d, 60, ab ^ ac ^ aa ^ 1, 1);
	put(f, fa, d, 60);
	assert_int_equal(fate(f, UDP_RELAY_UNKNOWN), 1);
	peer_dgram(d, 60, ab, 1);
	put(f, fx, d, 60);
	assert_int_equal(fate(f, UDP_RELAY_SOURCE), 1);
	peer_dgram(d, 60, ac, 1);
	put(f, fa, d, 60);
	assert_int_equal(fate(f, UDP_RELAY_UNREGISTERED), 1);
	peer_dgram(d, 60, aa, 1);
	put(f, fa, d, 60);
	assert_int_equal(fate(f, UDP_RELAY_SELF), 1);
	peer_dgram(d, sizeof(d), ab, 1);
	put(f, fa, d, 41);
	put(f, fa, d, SC_DGRAM_MAX + 1);
	assert_int_equal(fate(f, UDP_RELAY_LENGTH), 2);
	f->conf.relay = 0;
	put(f, fa, d, 60);
	assert_int_equal(fate(f, UDP_RELAY_OFF), 1);
	f->conf.relay = 1;
	nothing_on(fa);
	nothing_on(fb);
	nothing_on(fx);
	put(f, fa, d, 60);
	assert_int_equal(take(fb, d, sizeof(d), WAIT_MS, NULL), 60);
	assert_int_equal(fate(f, UDP_RELAYED), 1);
	close(fa);
	close(fb);
	close(fx);
}

/*
 * A flood is cut at relay_rate datagrams a second (a burst of one
 * second's worth), and at relay_bytes bytes, for its sender only: another
 * pair is served meanwhile.
 */
static void
test_relay_flood_cut_while_another_pair_is_served(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[600], a[SC_DGRAM_MAX + 1];
	uint64_t	 ab, cd;
	int		 fa = sock_at("127.0.0.2"), fb = sock_at("127.0.0.3");
	int		 fc = sock_at("127.0.0.4"), fd = sock_at("127.0.0.5");
	int		 i, got = 0;

	f->conf.relay_rate = 10;
	ab = pair(f, 0, "ben");
	cd = pair(f, 2, "dan");
	reg_ok(f, 0, fa, 0);
	reg_ok(f, 1, fb, 0);
	reg_ok(f, 2, fc, 0);
	reg_ok(f, 3, fd, 0);
	peer_dgram(d, 60, ab, 7);
	for (i = 0; i < 100; i++)
		assert_int_equal(sendto(fa, d, 60, 0,
		    (struct sockaddr *)&f->srv, sizeof(f->srv)), 60);
	peer_dgram(d, 60, cd, 8);
	for (i = 0; i < 5; i++)
		put(f, fc, d, 60);
	pump(f);
	while (take(fb, a, sizeof(a), QUIET_MS, NULL) == 60)
		got++;
	assert_true(got >= 10 && got <= 12);
	assert_int_equal(fate(f, UDP_RELAY_LIMITED), 100 - got);
	for (i = 0; i < 5; i++)
		assert_int_equal(take(fd, a, sizeof(a), WAIT_MS, NULL), 60);

	/* The bytes: 2000 a second take three datagrams of 600. */
	f->conf.relay_rate = 100;
	f->conf.relay_bytes = 2000;
	peer_dgram(d, sizeof(d), cd, 9);
	for (i = 0; i < 6; i++)
		put(f, fc, d, sizeof(d));
	for (got = 0; take(fd, a, sizeof(a), QUIET_MS, NULL) > 0; got++)
		;
	assert_true(got == 3 || got == 2);	/* 5 datagrams went before */
	close(fa);
	close(fb);
	close(fc);
	close(fd);
}

/*
 * After udp_reg_del() its reg_id is unknown; a registration is added once
 * per member, and a refused second one leaves the first as it was.
 */
static void
test_removed_registration_is_unknown(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_REG_LEN];
	int		 fd = sock_at("127.0.0.2");

	reg_dgram(f, 0, 0, d);
	udp_reg_del(f->u, &f->r[0]);
	udp_reg_del(f->u, &f->r[0]);
	put(f, fd, d, sizeof(d));
	nothing_on(fd);
	assert_int_equal(fate(f, UDP_REG_UNKNOWN), 1);
	assert_int_equal(udp_reg_add(f->u, &f->r[0], &f->m[0]), 0);
	assert_int_equal(udp_reg_add(f->u, &f->r[0], &f->m[0]), -1);
	assert_int_equal(udp_reg_add(f->u, &f->r[3], &f->m[0]), -1);
	reg_ok(f, 3, fd, 0);		/* untouched by the refusals */
	reg_ok(f, 0, fd, 0);		/* a fresh key and window */
	close(fd);
}

/*
 * The HOST candidates kept from what a client reports: no unspecified,
 * multicast, broadcast or link-local address; loopback only when the
 * daemon listens on loopback; IPv4-mapped as IPv4; each once.
 */
static void
test_hosts_keep_only_addresses_worth_giving(void **state)
{
	struct fixture	*f = *state;
	struct udp	*none;
	struct sc_cand	 in[12], out[12];
	const char	*texts[12] = { "10.0.0.1", "0.0.0.0", "127.0.0.5",
	    "169.254.1.1", "224.0.0.1", "255.255.255.255", "::", "::1",
	    "fe80::1", "ff02::1", "::ffff:10.0.0.1", "2001:db8::1" };
	size_t		 i;

	for (i = 0; i < 12; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		in[i].af = strchr(texts[i], ':') != NULL ? SC_AF_INET6 :
		    SC_AF_INET;
		assert_int_equal(inet_pton(in[i].af == SC_AF_INET ? AF_INET :
		    AF_INET6, texts[i], in[i].addr), 1);
	}
	assert_int_equal(udp_hosts(f->u, out, in, 12), 4);
	assert_memory_equal(out[0].addr, in[0].addr, 4);
	assert_memory_equal(out[1].addr, in[2].addr, 4);	/* loopback */
	assert_int_equal(out[2].af, SC_AF_INET6);		/* ::1 */
	assert_memory_equal(out[3].addr, in[11].addr, 16);
	for (i = 0; i < 4; i++)
		assert_int_equal(out[i].kind, SC_CAND_HOST);

	none = udp_beside(f);
	assert_int_equal(udp_hosts(none, out, in, 12), 2);
	assert_memory_equal(out[0].addr, in[0].addr, 4);
	assert_memory_equal(out[1].addr, in[11].addr, 16);
	assert_int_equal(udp_port(none), f->conf.server_port);
	udp_free(none);
}

/*
 * On a wildcard socket the answers leave from the address the client
 * wrote to (not the one routing would pick), and relayed datagrams from
 * the address their receiver registered with.  Skipped where a wildcard
 * socket cannot be made.
 */
static void
test_wildcard_socket_answers_from_the_address_written_to(void **state)
{
	struct fixture		*f = *state;
	struct udp		*w;
	struct sockaddr_in	 any = sa4("0.0.0.0", 0), from;
	uint8_t			 d[SC_REG_LEN], a[SC_DGRAM_MAX + 1];
	uint64_t		 id;
	int			 fa = sock_at("127.0.0.2");
	int			 fb = sock_at("127.0.0.3");

	w = udp_beside(f);
	if (udp_listen(w, (struct sockaddr *)&any, sizeof(any)) != 0) {
		udp_free(w);
		close(fa);
		close(fb);
		skip();
	}
	/* The members' registrations move to w. */
	udp_reg_del(f->u, &f->r[0]);
	udp_reg_del(f->u, &f->r[1]);
	assert_int_equal(udp_reg_add(w, &f->r[0], &f->m[0]), 0);
	assert_int_equal(udp_reg_add(w, &f->r[1], &f->m[1]), 0);
	id = pair(f, 0, "ben");

	f->srv = sa4("127.0.0.7", udp_port(w));
	reg_dgram(f, 0, 0, d);
	put(f, fa, d, sizeof(d));
	assert_int_equal(take(fa, a, sizeof(a), WAIT_MS, &from), SC_REG_LEN);
	assert_memory_equal(&from.sin_addr, &f->srv.sin_addr, 4);
	f->srv = sa4("127.0.0.8", udp_port(w));
	reg_dgram(f, 1, 0, d);
	put(f, fb, d, sizeof(d));
	assert_int_equal(take(fb, a, sizeof(a), WAIT_MS, &from), SC_REG_LEN);
	assert_memory_equal(&from.sin_addr, &f->srv.sin_addr, 4);

	f->srv = sa4("127.0.0.7", udp_port(w));
	peer_dgram(a, 60, id, 3);
	put(f, fa, a, 60);
	assert_int_equal(take(fb, a, sizeof(a), WAIT_MS, &from), 60);
	assert_memory_equal(&from.sin_addr, "\x7f\x00\x00\x08", 4);
	assert_int_equal(ntohs(from.sin_port), udp_port(w));
	udp_reg_del(w, &f->r[0]);
	udp_reg_del(w, &f->r[1]);
	udp_free(w);
	close(fa);
	close(fb);
}

/*
 * The same on a dual-stack IPv6 wildcard socket, for an IPv4 client: the
 * REGISTERED comes from the IPv4 address written to, and carries the
 * client's endpoint as IPv4.  Skipped without IPv6.
 */
static void
test_dual_stack_socket_answers_ipv4_from_its_address(
    void **state)
{
	struct fixture		*f = *state;
	struct udp		*w;
	struct sockaddr_in6	 any;
	struct sockaddr_in	 from;
	uint8_t			 d[SC_REG_LEN], a[SC_DGRAM_MAX + 1];
	int			 fa = sock_at("127.0.0.2");

	w = udp_beside(f);
	memset(&any, 0, sizeof(any));
	any.sin6_family = AF_INET6;
	if (udp_listen(w, (struct sockaddr *)&any, sizeof(any)) != 0) {
		udp_free(w);
		close(fa);
		skip();
	}
	udp_reg_del(f->u, &f->r[0]);
	assert_int_equal(udp_reg_add(w, &f->r[0], &f->m[0]), 0);
	f->srv = sa4("127.0.0.9", udp_port(w));
	reg_ok(f, 0, fa, 0);
	reg_dgram(f, 0, 1, d);
	put(f, fa, d, sizeof(d));
	assert_int_equal(take(fa, a, sizeof(a), WAIT_MS, &from), SC_REG_LEN);
	assert_memory_equal(&from.sin_addr, "\x7f\x00\x00\x09", 4);
	assert_int_equal(f->m[0].srflx.af, SC_AF_INET);
	udp_reg_del(w, &f->r[0]);
	udp_free(w);
	close(fa);
}

/* Quiet logs; libsodium first. */
static int
group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_WARN);
	return (sc_crypto_init());
}

/* Runs every test of this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_register_answered_same_size_with_the_endpoint_seen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_register_refusals_get_no_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_register_rate_limited_per_address, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_endpoint_moves_only_on_the_highest_counter, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_relay_forwards_the_peers_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_relay_forwards_unchanged_between_the_two_endpoints,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_relay_batch_leaves_whole_and_in_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_relay_refusals_send_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_relay_flood_cut_while_another_pair_is_served, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_removed_registration_is_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hosts_keep_only_addresses_worth_giving, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_wildcard_socket_answers_from_the_address_written_to,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dual_stack_socket_answers_ipv4_from_its_address, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, group_setup, NULL));
}
