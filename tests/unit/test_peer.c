/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/peer.c: the peers' handshake (INIT on the
 * checks' way, RESP to its source, a lost INIT, a duplicated RESP, copies
 * of INIT answered alike, replays establishing nothing, nothing sent or
 * taken for a pair not trusted, keys of Kxy alone opening nothing), the
 * receive path (the replay window
 * moves only after a datagram opened, and every bad datagram is dropped and
 * counted without harm to the traffic after it), pair keys replaced and
 * forgotten, answers (ACK, PROBE_ACK) sent to the source of what they
 * answer and never to a refused address, messages that wait for a path and
 * go on it, a message unacknowledged on a direct path sent again on the
 * next path with the same msg_id (and shown once), the relay through the
 * server's UDP endpoint after registration, a REGISTER again on CANDIDATES
 * (before the checks they begin), the one sentence of a message
 * never acknowledged, and the socket set up from the configuration.
 *
 * alice is the peer table under test, on 127.0.0.1 with a real socket; bob
 * and the server are plain sockets the test reads and writes, and the test
 * makes their datagrams with their keys: bob answers alice's INIT (at
 * whichever socket it reaches, the server's standing for the relay) with
 * peerhs.c, and the fixture starts each test once the handshake is done.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/peerhs.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "peer.h"
#include "reg.h"

/* What the peer under test reported. */
struct seen {
	int	msgs;
	int	delivered;
	int	failed;
	int	rechecks;
	char	last[SC_TEXT_MAX + 1];
	char	from[SC_NAME_MAX + 1];
	char	why[128];		/* the last failure's sentence */
};

/* peer callback: a message shown. */
static void
seen_msg(void *arg, const char *from, const char *text, size_t len)
{
	struct seen	*s = arg;

	s->msgs++;
	memcpy(s->last, text, len);
	s->last[len] = '\0';
	snprintf(s->from, sizeof(s->from), "%s", from);
}

/* peer callback: an ACK arrived. */
static void
seen_delivered(void *arg, const char *to)
{
	struct seen	*s = arg;

	(void)to;
	s->delivered++;
}

/* peer callback: a message failed. */
static void
seen_failed(void *arg, const char *to, const char *why)
{
	struct seen	*s = arg;

	(void)to;
	s->failed++;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

/* peer callback: a path was lost. */
static void
seen_recheck(void *arg, uint64_t pair_id)
{
	struct seen	*s = arg;

	(void)pair_id;
	s->rechecks++;
}

static const struct peer_cb seen_cb = {
	.msg = seen_msg,
	.delivered = seen_delivered,
	.failed = seen_failed,
	.recheck = seen_recheck,
};

#define PAIR_ID		UINT64_C(0x1122334455667788)
#define REG_ID		UINT64_C(0x5555666677778888)
#define LOG_MAX		256

static const uint8_t test_kxy[SC_KEY_BYTES] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

/* One datagram bob or the server received and opened. */
struct rec {
	uint8_t		kind;
	uint64_t	id;
	uint64_t	ctr;
	uint8_t		body[SC_TEXT_MAX];
	size_t		len;
};

/* A plain socket that plays a peer or the server. */
struct end {
	int			fd;
	struct sockaddr_in	addr;
	struct rec		log[LOG_MAX];
	size_t			n;
	int			answers;	/* PROBEs get PROBE_ACKs */
	int			acks;		/* MSGs get ACKs */
	int			registers;	/* REGISTERs get REGISTERED */
	int			regs;		/* REGISTERs received */
	size_t			reg_at;		/* n at the last one */
	int			inits;		/* INITs received */
	int			any;		/* datagrams received */
	int			resps;		/* RESPs received */
	uint8_t			resp[PEERHS_LEN];	/* the last */
};

/* alice's table; bob, a spare socket, and the server. */
struct fixture {
	struct event_base	*base;
	struct peer		*peer;
	struct peer_conf	 conf;
	struct seen		 seen;
	struct sc_keypair	 alice_id;	/* alice's identity */
	uint8_t			 bob_sk[SC_KEY_BYTES];	/* bob's */
	uint8_t			 bob_pk[SC_KEY_BYTES];
	struct peerhs		 bob_hs;	/* bob's side of it */
	uint64_t		 bob_pair;	/* the pair it is for */
	int			 bob_keyed;
	uint8_t			 bob_init[PEERHS_LEN];	/* answered */
	uint8_t			 bob_resp[PEERHS_LEN];
	int			 drop_inits;	/* bob ignores so many */
	int			 resp_twice;	/* bob sends each RESP twice */
	int			 resps;		/* RESPs bob sent */
	struct sc_pair_keys	 bob;	/* bob's side of the pair */
	uint64_t		 bob_ctr;
	struct end		 b;	/* bob */
	struct end		 o;	/* another socket */
	struct end		 s;	/* the server's UDP port */
	struct sc_reg_keys	 reg;
	struct sockaddr_in	 alice;
};

/* A loopback UDP socket; its address in e->addr. */
static void
end_open(struct end *e)
{
	socklen_t	len = sizeof(e->addr);

	memset(e, 0, sizeof(*e));
	e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(e->fd >= 0);
	e->addr.sin_family = AF_INET;
	e->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(e->fd, (struct sockaddr *)&e->addr,
	    sizeof(e->addr)), 0);
	assert_int_equal(getsockname(e->fd, (struct sockaddr *)&e->addr,
	    &len), 0);
}

/* A HOST candidate at a socket's address. */
static struct sc_cand
cand_of(const struct sockaddr_in *sin)
{
	struct sc_cand	c;

	assert_int_equal(wire_cand_from_sa(&c, SC_CAND_HOST,
	    (const struct sockaddr *)sin), 0);
	return (c);
}

/* Builds a datagram from bob with the given kind, counter and msg_id. */
static size_t
dgram_body(uint8_t out[SC_DGRAM_MAX], const uint8_t key[SC_KEY_BYTES],
    uint64_t pair_id, uint64_t ctr, uint8_t kind, uint64_t msg_id,
    const void *body, size_t blen)
{
	uint8_t	payload[9 + SC_TEXT_MAX];

	payload[0] = kind;
	util_put_be64(payload + 1, msg_id);
	if (blen > 0)
		memcpy(payload + 9, body, blen);
	assert_int_equal(sc_dgram_seal(out, key, pair_id, ctr, payload,
	    9 + blen), 0);
	return (SC_DGRAM_HDR + 9 + blen + SC_MAC_BYTES);
}

/* The same with a text. */
static size_t
dgram(uint8_t out[SC_DGRAM_MAX], const uint8_t key[SC_KEY_BYTES],
    uint64_t pair_id, uint64_t ctr, uint8_t kind, uint64_t msg_id,
    const char *text)
{
	return (dgram_body(out, key, pair_id, ctr, kind, msg_id, text,
	    text == NULL ? 0 : strlen(text)));
}

/* Feeds a datagram to alice as if it came from bob's socket. */
static void
from_bob(struct fixture *f, const uint8_t *d, size_t n)
{
	peer_input(f->peer, d, n, (struct sockaddr *)&f->b.addr,
	    sizeof(f->b.addr));
}

/* bob expects alice's INIT for pair_id under kxy; no keys yet. */
static void
bob_expect(struct fixture *f, uint64_t pair_id,
    const uint8_t kxy[SC_KEY_BYTES])
{
	assert_int_equal(peerhs_init(&f->bob_hs, 0, pair_id, "alice",
	    f->alice_id.pk, "bob", f->bob_pk, kxy), 0);
	f->bob_pair = pair_id;
	f->bob_keyed = 0;
	f->bob_ctr = 0;
}

/*
 * bob takes an INIT at end e: the first that opens gives his keys and a
 * RESP (twice with resp_twice); a copy of it the same RESP; the first
 * drop_inits are lost on the way.
 */
static void
bob_take_init(struct fixture *f, struct end *e, const uint8_t *d, size_t n,
    const struct sockaddr_in *from)
{
	int	i;

	e->inits++;
	if (f->drop_inits > 0) {
		f->drop_inits--;
		return;
	}
	if (!f->bob_keyed) {
		if (util_get_be64(d + 1) != f->bob_pair ||
		    peerhs_read_init(&f->bob_hs, &f->bob, f->bob_resp, d, n,
		    f->bob_sk, NULL) != 0)
			return;
		memcpy(f->bob_init, d, PEERHS_LEN);
		f->bob_keyed = 1;
	} else if (memcmp(d, f->bob_init, PEERHS_LEN) != 0)
		return;
	for (i = 0; i < (f->resp_twice ? 2 : 1); i++) {
		assert_int_equal(sendto(e->fd, f->bob_resp, PEERHS_LEN, 0,
		    (const struct sockaddr *)from, sizeof(*from)), PEERHS_LEN);
		f->resps++;
	}
}

/* A socket end answers or keeps what alice sent it. */
static void
end_take(struct fixture *f, struct end *e, const uint8_t *d, size_t n,
    const struct sockaddr_in *from)
{
	uint8_t		plain[SC_DGRAM_MAX], out[SC_DGRAM_MAX];
	uint8_t		ep[SC_ENDPOINT_BYTES], reg[SC_REG_PLAIN];
	struct sc_cand	c;
	struct rec	*r;
	size_t		olen;

	e->any++;
	if (n == PEERHS_LEN && d[0] == SC_UDP_INIT) {
		bob_take_init(f, e, d, n, from);
		return;
	}
	if (n == PEERHS_LEN && d[0] == SC_UDP_RESP) {
		memcpy(e->resp, d, PEERHS_LEN);
		e->resps++;
		return;
	}
	if (n == SC_REG_LEN && d[0] == SC_UDP_REGISTER) {
		e->regs++;
		e->reg_at = e->n;
		if (!e->registers)
			return;
		assert_int_equal(sc_reg_open(reg, f->reg.c2s, d, n), 0);
		assert_int_equal(wire_cand_from_sa(&c, 0,
		    (const struct sockaddr *)from), 0);
		memset(reg, 0, sizeof(reg));
		wire_endpoint_put(reg, &c);
		assert_int_equal(sc_reg_seal(out, SC_UDP_REGISTERED,
		    f->reg.s2c, util_get_be64(d + 1), util_get_be64(d + 9),
		    reg), 0);
		assert_int_equal(sendto(e->fd, out, SC_REG_LEN, 0,
		    (const struct sockaddr *)from, sizeof(*from)), SC_REG_LEN);
		return;
	}
	if (n < SC_DGRAM_HDR + 9 + SC_MAC_BYTES || !f->bob_keyed ||
	    sc_dgram_open(plain, f->bob.rx, d, n) != 0)
		return;
	assert_true(e->n < LOG_MAX);
	r = &e->log[e->n++];
	r->kind = plain[0];
	r->id = util_get_be64(plain + 1);
	r->ctr = util_get_be64(d + 9);
	r->len = n - SC_DGRAM_HDR - SC_MAC_BYTES - 9;
	memcpy(r->body, plain + 9, r->len);
	if (r->kind == SC_DGRAM_PROBE && e->answers) {
		assert_int_equal(wire_cand_from_sa(&c, 0,
		    (const struct sockaddr *)from), 0);
		wire_endpoint_put(ep, &c);
		olen = dgram_body(out, f->bob.tx, f->bob_pair, f->bob_ctr++,
		    SC_DGRAM_PROBE_ACK, r->id, ep, sizeof(ep));
		assert_int_equal(sendto(e->fd, out, olen, 0,
		    (const struct sockaddr *)from, sizeof(*from)),
		    (ssize_t)olen);
	}
	if (r->kind == SC_DGRAM_MSG && e->acks) {
		olen = dgram(out, f->bob.tx, f->bob_pair, f->bob_ctr++,
		    SC_DGRAM_ACK, r->id, NULL);
		assert_int_equal(sendto(e->fd, out, olen, 0,
		    (const struct sockaddr *)from, sizeof(*from)),
		    (ssize_t)olen);
	}
}

/* Reads what waits at one end. */
static void
end_drain(struct fixture *f, struct end *e)
{
	uint8_t			d[SC_DGRAM_MAX + 1];
	struct sockaddr_in	from;
	socklen_t		len;
	ssize_t			n;

	for (;;) {
		len = sizeof(from);
		n = recvfrom(e->fd, d, sizeof(d), 0, (struct sockaddr *)&from,
		    &len);
		if (n < 0)
			return;
		end_take(f, e, d, (size_t)n, &from);
	}
}

/* Runs alice's loop and the ends for about ms milliseconds. */
static void
pump(struct fixture *f, int ms)
{
	struct timespec	ts = { 0, 1000000 };
	uint64_t	end = util_now_ms() + (uint64_t)ms;

	do {
		(void)event_base_loop(f->base, EVLOOP_NONBLOCK);
		end_drain(f, &f->b);
		end_drain(f, &f->o);
		end_drain(f, &f->s);
		(void)event_base_loop(f->base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	} while (util_now_ms() < end);
}

/* Pumps until *counter reaches want or about two seconds pass. */
static void
pump_until(struct fixture *f, const int *counter, int want)
{
	int	i;

	for (i = 0; i < 200 && *counter < want; i++)
		pump(f, 10);
}

/* How many records of a kind an end has. */
static size_t
end_count(const struct end *e, uint8_t kind)
{
	size_t	i, n = 0;

	for (i = 0; i < e->n; i++)
		if (e->log[i].kind == kind)
			n++;
	return (n);
}

/* The settings of the tests: quick retries, a short direct_timeout. */
static void
fixture_conf(struct fixture *f)
{
	memset(&f->conf, 0, sizeof(f->conf));
	f->conf.retries = 2;
	f->conf.retry_ms = 100;
	f->conf.direct_timeout_ms = 150;
	f->conf.keepalive_s = 15;
	f->conf.punch_ttl = 2;
}

/* (Re)makes alice's table on the fixture's settings, with her socket. */
static void
fixture_peer(struct fixture *f)
{
	struct sockaddr_in	sin;
	char			err[128];

	peer_free(f->peer);
	f->peer = peer_new(f->base, &seen_cb, &f->seen, &f->conf);
	assert_non_null(f->peer);
	peer_set_self(f->peer, "alice");
	peer_set_identity(f->peer, &f->alice_id);
	peer_set_server(f->peer, (struct sockaddr *)&f->s.addr,
	    sizeof(f->s.addr));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(peer_open(f->peer, (struct sockaddr *)&sin,
	    sizeof(sin), err, sizeof(err)), 0);
	f->alice.sin_family = AF_INET;
	f->alice.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->alice.sin_port = htons(peer_port(f->peer));
}

/*
 * Gives alice bob's key, bob at his socket, with the flags; bob expects
 * her INIT.
 */
static void
give_bob(struct fixture *f, uint8_t flags)
{
	struct sc_cand	c = cand_of(&f->b.addr);

	bob_expect(f, PAIR_ID, test_kxy);
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID, test_kxy,
	    f->bob_pk, 0, flags, &c, 1), 0);
}

/* Whether alice has the keys of her pair with name. */
static int
alice_keyed(struct fixture *f, const char *name)
{
	struct peer_path	paths[8];
	size_t			i, n;

	n = peer_paths(f->peer, paths, 8);
	for (i = 0; i < n; i++)
		if (strcmp(paths[i].name, name) == 0)
			return (paths[i].keyed);
	return (0);
}

/* Pumps until the handshake with bob is done on both sides (bounded). */
static void
handshake(struct fixture *f)
{
	int	i;

	for (i = 0; i < 400 && !(f->bob_keyed && alice_keyed(f, "bob")); i++)
		pump(f, 5);
	assert_true(f->bob_keyed);
	assert_true(alice_keyed(f, "bob"));
}

/* alice, a key for bob (who stays silent unless told), the server. */
static int
fixture_setup(void **state)
{
	struct fixture	*f;
	uint8_t		 k_reg[SC_KEY_BYTES];

	assert_int_equal(sc_crypto_init(), 0);
	log_init("test_peer", LOG_LVL_ERROR);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	end_open(&f->b);
	end_open(&f->o);
	end_open(&f->s);
	memset(k_reg, 0x44, sizeof(k_reg));
	sc_reg_derive(&f->reg, k_reg);
	assert_int_equal(sc_keypair_generate(&f->alice_id), 0);
	memset(f->bob_sk, 0x62, sizeof(f->bob_sk));
	assert_int_equal(sc_dh_public(f->bob_pk, f->bob_sk), 0);
	fixture_conf(f);
	fixture_peer(f);
	give_bob(f, 0);
	handshake(f);
	*state = f;
	return (0);
}

/* Frees the fixture. */
static int
fixture_teardown(void **state)
{
	struct fixture	*f = *state;

	peer_free(f->peer);
	event_base_free(f->base);
	close(f->b.fd);
	close(f->o.fd);
	close(f->s.fd);
	sc_keypair_free(&f->alice_id);
	peerhs_wipe(&f->bob_hs);
	free(f);
	return (0);
}

/* Registers alice with the fixture's server, which answers. */
static void
register_alice(struct fixture *f, uint8_t flags)
{
	uint8_t	k_reg[SC_KEY_BYTES];

	f->s.registers = 1;
	memset(k_reg, 0x44, sizeof(k_reg));
	assert_int_equal(peer_register(f->peer, ntohs(f->s.addr.sin_port),
	    flags, REG_ID, k_reg), 0);
	pump(f, 20);
}

static void
test_peer_accepts_a_good_datagram_and_suppresses_a_replay(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	size_t		 n;

	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "hello");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.last, "hello");
	assert_string_equal(f->seen.from, "bob");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_int_equal(peer_stats(f->peer)->drop_replay, 1);
	assert_int_equal(peer_stats(f->peer)->rx_ok, 1);
}

static void
test_peer_forged_far_ahead_counter_does_not_move_the_window(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	size_t		 n;

	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "one");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	/* A far-ahead counter under a wrong key: the MAC fails. */
	n = dgram(d, f->bob.rx, PAIR_ID, 1000000, SC_DGRAM_MSG, 2, "forged");
	from_bob(f, d, n);
	/* The same with a flipped ciphertext byte. */
	n = dgram(d, f->bob.tx, PAIR_ID, 5000, SC_DGRAM_MSG, 2, "forged");
	d[SC_DGRAM_HDR + 3] ^= 0x01;
	from_bob(f, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_mac, 2);
	assert_int_equal(f->seen.msgs, 1);
	/* Counter 1 is still fresh: the window did not move. */
	n = dgram(d, f->bob.tx, PAIR_ID, 1, SC_DGRAM_MSG, 2, "two");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 2);
	assert_string_equal(f->seen.last, "two");
}

static void
test_peer_drops_reflected_truncated_and_foreign_datagrams(void **state)
{
	struct fixture		*f = *state;
	struct peer_stats	 st;
	uint8_t			 d[SC_DGRAM_MAX];
	uint8_t			 big[SC_DGRAM_MAX + 8];
	size_t			 n;

	/* Sealed with alice's own sending key: a reflection. */
	n = dgram(d, f->bob.rx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "reflected");
	from_bob(f, d, n);
	/* Truncated: the tag cut short, then below the minimum size. */
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "truncated");
	from_bob(f, d, n - 1);
	from_bob(f, d, 20);
	from_bob(f, d, 0);
	/* Unknown pair_id, wrong version. */
	n = dgram(d, f->bob.tx, PAIR_ID + 1, 0, SC_DGRAM_MSG, 1, "who");
	from_bob(f, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "version");
	d[0] = 2;
	from_bob(f, d, n);
	/* Too long. */
	memset(big, 0, sizeof(big));
	big[0] = SC_DGRAM_VERSION;
	from_bob(f, big, SC_DGRAM_MAX + 1);
	st = *peer_stats(f->peer);
	assert_int_equal(f->seen.msgs, 0);
	assert_int_equal(st.drop_mac, 2);
	assert_int_equal(st.drop_size, 3);
	assert_int_equal(st.drop_unknown, 1);
	assert_int_equal(st.drop_version, 1);
	assert_int_equal(st.rx_ok, 0);
	/* The conversation goes on from counter 0. */
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "still here");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.last, "still here");
}

static void
test_peer_stale_counter_dropped_conversation_goes_on(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	size_t		 n;

	n = dgram(d, f->bob.tx, PAIR_ID, 200, SC_DGRAM_MSG, 1, "a");
	from_bob(f, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 136, SC_DGRAM_MSG, 2, "stale");
	from_bob(f, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_replay, 1);
	n = dgram(d, f->bob.tx, PAIR_ID, 137, SC_DGRAM_MSG, 3, "old ok");
	from_bob(f, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 201, SC_DGRAM_MSG, 4, "b");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 3);
	assert_string_equal(f->seen.last, "b");
}

static void
test_peer_resent_msg_id_shown_once_bad_payloads_dropped(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	uint8_t		 ep[SC_ENDPOINT_BYTES + 1];
	size_t		 n;

	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 7, "once");
	from_bob(f, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 1, SC_DGRAM_MSG, 7, "once");
	from_bob(f, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 2, SC_DGRAM_MSG, 7, "once");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_int_equal(peer_stats(f->peer)->dup_msgs, 2);
	assert_int_equal(peer_stats(f->peer)->rx_ok, 3);
	/* msg_id 0 and unknown kinds are bad payloads, not messages. */
	n = dgram(d, f->bob.tx, PAIR_ID, 3, SC_DGRAM_MSG, 0, "zero");
	from_bob(f, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 4, 9, 8, "kind");
	from_bob(f, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 5, SC_DGRAM_ACK, 8, "ack+text");
	from_bob(f, d, n);
	/* A PROBE with bytes after its id; PROBE_ACKs not 19 valid bytes. */
	n = dgram(d, f->bob.tx, PAIR_ID, 6, SC_DGRAM_PROBE, 8, "x");
	from_bob(f, d, n);
	memset(ep, 0, sizeof(ep));
	ep[0] = SC_AF_INET;
	n = dgram_body(d, f->bob.tx, PAIR_ID, 7, SC_DGRAM_PROBE_ACK, 8, ep,
	    SC_ENDPOINT_BYTES - 1);
	from_bob(f, d, n);
	n = dgram_body(d, f->bob.tx, PAIR_ID, 8, SC_DGRAM_PROBE_ACK, 8, ep,
	    SC_ENDPOINT_BYTES + 1);
	from_bob(f, d, n);
	ep[0] = 5;
	n = dgram_body(d, f->bob.tx, PAIR_ID, 9, SC_DGRAM_PROBE_ACK, 8, ep,
	    SC_ENDPOINT_BYTES);
	from_bob(f, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_payload, 7);
	/* A well-formed PROBE_ACK for a PROBE never sent: ignored. */
	ep[0] = SC_AF_INET;
	n = dgram_body(d, f->bob.tx, PAIR_ID, 10, SC_DGRAM_PROBE_ACK, 8, ep,
	    SC_ENDPOINT_BYTES);
	from_bob(f, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_payload, 7);
	assert_int_equal(f->seen.msgs, 1);
}

static void
test_peer_new_pair_id_replaces_key_same_id_ignored(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c = cand_of(&f->b.addr);
	uint8_t		 d[SC_DGRAM_MAX];
	uint8_t		 kxy2[SC_KEY_BYTES];
	struct sc_pair_keys	 bob2;
	size_t		 n;

	/* The same pair_id again changes nothing, whatever Kxy it brings. */
	memset(kxy2, 0x5a, sizeof(kxy2));
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID, kxy2,
	    f->bob_pk, 0, 0, &c, 1), 1);
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "old key");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	/* A new pair_id replaces the pair; the old keys no longer open. */
	bob2 = f->bob;
	bob_expect(f, PAIR_ID + 5, kxy2);
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID + 5, kxy2,
	    f->bob_pk, 0, 0, &c, 1), 0);
	assert_true(peer_pair_id(f->peer, "bob") == PAIR_ID + 5);
	n = dgram(d, bob2.tx, PAIR_ID, 1, SC_DGRAM_MSG, 2, "old id");
	from_bob(f, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_unknown, 1);
	handshake(f);
	assert_memory_not_equal(bob2.tx, f->bob.tx, SC_KEY_BYTES);
	bob2 = f->bob;
	n = dgram(d, bob2.tx, PAIR_ID + 5, 0, SC_DGRAM_MSG, 1, "new key");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 2);
	assert_string_equal(f->seen.last, "new key");
	/* CANDIDATES for a pair not held: ignored. */
	assert_int_equal(peer_candidates(f->peer, PAIR_ID, 0, &c, 1), -1);
	assert_int_equal(peer_candidates(f->peer, PAIR_ID + 5, 0, &c, 1), 0);
	/* Offline: the key is forgotten. */
	peer_forget(f->peer, "bob");
	assert_int_equal(peer_has_pair(f->peer, "bob"), 0);
	n = dgram(d, bob2.tx, PAIR_ID + 5, 1, SC_DGRAM_MSG, 2, "gone");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 2);
}

static void
test_peer_answers_go_to_the_source_of_what_they_answer(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	struct sc_cand	 seen;
	size_t		 n;

	/* bob's candidate is his socket; he writes from another one. */
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 3, "from o");
	assert_int_equal(sendto(f->o.fd, d, n, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), (ssize_t)n);
	n = dgram(d, f->bob.tx, PAIR_ID, 1, SC_DGRAM_PROBE, 99, NULL);
	assert_int_equal(sendto(f->o.fd, d, n, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), (ssize_t)n);
	pump(f, 50);
	assert_int_equal(f->seen.msgs, 1);
	assert_int_equal(end_count(&f->o, SC_DGRAM_ACK), 1);
	assert_int_equal(end_count(&f->b, SC_DGRAM_ACK), 0);
	assert_int_equal(end_count(&f->o, SC_DGRAM_PROBE_ACK), 1);
	for (n = 0; n < f->o.n; n++)
		if (f->o.log[n].kind == SC_DGRAM_PROBE_ACK)
			break;
	/* The answer names where the PROBE came from. */
	assert_true(f->o.log[n].id == 99);
	assert_int_equal(f->o.log[n].len, SC_ENDPOINT_BYTES);
	assert_int_equal(wire_endpoint_get(&seen, f->o.log[n].body), 0);
	assert_int_equal(seen.port, ntohs(f->o.addr.sin_port));
	assert_int_equal(seen.addr[0], 127);
	/* A source the rules refuse gets no answer; the text still shows. */
	n = dgram(d, f->bob.tx, PAIR_ID, 2, SC_DGRAM_MSG, 4, "odd source");
	{
		struct sockaddr_in	mc = f->o.addr;

		mc.sin_addr.s_addr = htonl(0xe0000005);	/* 224.0.0.5 */
		peer_input(f->peer, d, n, (struct sockaddr *)&mc, sizeof(mc));
	}
	assert_int_equal(f->seen.msgs, 2);
	assert_int_equal(peer_stats(f->peer)->drop_source, 1);
}

static void
test_peer_ignored_user_is_neither_shown_nor_acknowledged(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	char		 name[16];
	size_t		 n;
	int		 i;

	assert_int_equal(peer_ignore(f->peer, "bob", 1), 0);
	assert_true(peer_ignored(f->peer, "bob"));
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "unwanted");
	assert_int_equal(sendto(f->o.fd, d, n, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), (ssize_t)n);
	pump(f, 50);
	assert_int_equal(f->seen.msgs, 0);
	assert_int_equal(end_count(&f->o, SC_DGRAM_ACK), 0);
	assert_int_equal(peer_stats(f->peer)->drop_ignored, 1);
	/* PROBEs still get their answer: the path stays. */
	n = dgram(d, f->bob.tx, PAIR_ID, 1, SC_DGRAM_PROBE, 5, NULL);
	assert_int_equal(sendto(f->o.fd, d, n, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), (ssize_t)n);
	pump(f, 50);
	assert_int_equal(end_count(&f->o, SC_DGRAM_PROBE_ACK), 1);
	/* Taken off the list, bob is heard again, the same msg_id too. */
	assert_int_equal(peer_ignore(f->peer, "bob", 0), 0);
	assert_false(peer_ignored(f->peer, "bob"));
	n = dgram(d, f->bob.tx, PAIR_ID, 2, SC_DGRAM_MSG, 1, "welcome");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.last, "welcome");
	/* The list is bounded. */
	for (i = 0; i < PEER_IGNORE_MAX; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(peer_ignore(f->peer, name, 1), 0);
	}
	assert_int_equal(peer_ignore(f->peer, "one-more", 1), -1);
	assert_int_equal(peer_ignore(f->peer, "u7", 1), 0);
}

/*
 * A pair floods MSGs: at most PEER_ANSWER_BURST are taken at once (shown
 * and acknowledged), the rest dropped and counted, and the pair is served
 * again as its allowance refills.  A server that holds the pair key could
 * forge such a flood from any source; so the client's answers are bounded.
 */
static void
test_peer_answers_per_pair_bounded_by_the_rate(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sink;
	uint8_t			 d[SC_DGRAM_MAX];
	size_t			 n, taken;
	uint64_t		 i, flood = PEER_ANSWER_BURST + 200, tx;

	/* The flood claims a source where nobody reads (discard, port 9). */
	sink = f->b.addr;
	sink.sin_port = htons(9);
	tx = peer_stats(f->peer)->tx;
	for (i = 0; i < flood; i++) {
		n = dgram(d, f->bob.tx, PAIR_ID, i, SC_DGRAM_MSG, i + 1, "x");
		peer_input(f->peer, d, n, (struct sockaddr *)&sink,
		    sizeof(sink));
	}
	taken = (size_t)f->seen.msgs;
	/* The loop takes a few milliseconds: a token or two may refill. */
	assert_true(taken >= PEER_ANSWER_BURST);
	assert_true(taken <= PEER_ANSWER_BURST + 50);
	assert_int_equal(peer_stats(f->peer)->drop_rate, flood - taken);
	/* One ACK sent for each message taken, none for the others. */
	assert_int_equal(peer_stats(f->peer)->tx - tx, taken);
	/* A second later the pair is served again. */
	pump(f, 1000);
	n = dgram(d, f->bob.tx, PAIR_ID, flood, SC_DGRAM_MSG, flood + 1,
	    "again");
	peer_input(f->peer, d, n, (struct sockaddr *)&sink, sizeof(sink));
	assert_int_equal(f->seen.msgs, (int)taken + 1);
}

static void
test_peer_message_waits_for_a_path_then_goes_on_it(void **state)
{
	struct fixture	*f = *state;
	struct peer_path paths[4];
	char		 err[128], want[64];

	/* bob is silent: only PROBEs reach him, the text waits. */
	assert_int_equal(peer_send(f->peer, "bob", "hi", 2, err,
	    sizeof(err)), 0);
	pump(f, 30);
	assert_true(end_count(&f->b, SC_DGRAM_PROBE) >= 1);
	assert_int_equal(end_count(&f->b, SC_DGRAM_MSG), 0);
	assert_int_equal(peer_paths(f->peer, paths, 4), 1);
	assert_int_equal(paths[0].state, PATH_CHECKING);
	assert_string_equal(paths[0].addr, "-");
	/* He answers PROBEs: the path is found and the text leaves. */
	f->b.answers = 1;
	f->b.acks = 1;
	pump_until(f, &f->seen.delivered, 1);
	assert_int_equal(f->seen.delivered, 1);
	assert_int_equal(end_count(&f->b, SC_DGRAM_MSG), 1);
	assert_int_equal(peer_paths(f->peer, paths, 4), 1);
	assert_string_equal(paths[0].name, "bob");
	assert_int_equal(paths[0].state, PATH_DIRECT);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(f->b.addr.sin_port));
	assert_string_equal(paths[0].addr, want);
	assert_true(paths[0].rtt_ms >= 0 && paths[0].rtt_ms < 1000);
	assert_int_equal(f->seen.rechecks, 0);
}

static void
test_peer_message_to_self_is_shown_and_delivered(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c = cand_of(&f->alice);
	char		 err[128];

	assert_int_equal(peer_pair_set(f->peer, "alice", 42, test_kxy,
	    f->alice_id.pk, 0, 0, &c, 1), 0);
	assert_int_equal(peer_send(f->peer, "alice", "me, myself", 10, err,
	    sizeof(err)), 0);
	assert_int_equal(peer_outstanding(f->peer), 1);
	pump_until(f, &f->seen.delivered, 1);
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.last, "me, myself");
	assert_int_equal(f->seen.delivered, 1);
	assert_int_equal(peer_outstanding(f->peer), 0);
}

static void
test_peer_silent_peer_never_gets_the_text_and_it_fails(void **state)
{
	struct fixture	*f = *state;
	char		 err[128];

	assert_int_equal(peer_send(f->peer, "bob", "hi", 2, err,
	    sizeof(err)), 0);
	pump_until(f, &f->seen.failed, 1);
	assert_int_equal(f->seen.failed, 1);
	assert_int_equal(f->seen.delivered, 0);
	assert_string_equal(f->seen.why, "no acknowledgement from bob");
	assert_int_equal(end_count(&f->b, SC_DGRAM_MSG), 0);
	assert_true(end_count(&f->b, SC_DGRAM_PROBE) >= 1);
	assert_int_equal(peer_stats(f->peer)->resent, 0);
}

static void
test_peer_unacked_on_direct_path_goes_again_on_the_next(void **state)
{
	struct fixture	*f = *state;
	char		 err[128];
	size_t		 i;

	/* bob answers PROBEs, never a MSG: each loss finds him again. */
	f->b.answers = 1;
	pump(f, 20);
	assert_int_equal(peer_send(f->peer, "bob", "hi", 2, err,
	    sizeof(err)), 0);
	pump_until(f, &f->seen.failed, 1);
	assert_int_equal(f->seen.failed, 1);
	/* The first send and two resends: one msg_id, new counters. */
	assert_int_equal(end_count(&f->b, SC_DGRAM_MSG), 3);
	for (i = 0; i < f->b.n; i++) {
		if (f->b.log[i].kind != SC_DGRAM_MSG)
			continue;
		assert_true(f->b.log[i].id == 1);
		assert_memory_equal(f->b.log[i].body, "hi", 2);
	}
	assert_int_equal(peer_stats(f->peer)->resent, 2);
	/* The server heard of it (at most once a second). */
	assert_int_equal(f->seen.rechecks, 1);
}

static void
test_peer_relay_after_direct_timeout_and_answers_through_it(void **state)
{
	struct fixture	*f = *state;
	struct peer_path paths[4];
	struct sc_cand	 pub;
	uint8_t		 d[SC_DGRAM_MAX];
	char		 err[128], want[64];
	size_t		 n, i;

	register_alice(f, SC_UDPREG_RELAY);
	assert_int_equal(peer_public(f->peer, &pub), 0);
	assert_int_equal(pub.port, ntohs(f->alice.sin_port));
	/* A key with RELAY for bob, who stays silent on his address. */
	peer_forget(f->peer, "bob");
	give_bob(f, SC_PAIR_RELAY);
	assert_int_equal(peer_send(f->peer, "bob", "via relay", 9, err,
	    sizeof(err)), 0);
	pump(f, 100);
	assert_int_equal(end_count(&f->s, SC_DGRAM_MSG), 0);
	pump(f, 120);
	/* After direct_timeout the relay carries it, to the server. */
	assert_int_equal(end_count(&f->s, SC_DGRAM_MSG), 1);
	assert_int_equal(end_count(&f->b, SC_DGRAM_MSG), 0);
	assert_int_equal(peer_paths(f->peer, paths, 4), 1);
	assert_int_equal(paths[0].state, PATH_RELAY);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(f->s.addr.sin_port));
	assert_string_equal(paths[0].addr, want);
	/* The relay hands bob's ACK back. */
	for (i = 0; i < f->s.n && f->s.log[i].kind != SC_DGRAM_MSG; i++)
		;
	n = dgram(d, f->bob.tx, PAIR_ID, f->bob_ctr++, SC_DGRAM_ACK,
	    f->s.log[i].id, NULL);
	assert_int_equal(sendto(f->s.fd, d, n, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), (ssize_t)n);
	pump_until(f, &f->seen.delivered, 1);
	assert_int_equal(f->seen.delivered, 1);
	/* bob's message through the relay is answered through it. */
	n = dgram(d, f->bob.tx, PAIR_ID, f->bob_ctr++, SC_DGRAM_MSG, 1,
	    "relayed");
	assert_int_equal(sendto(f->s.fd, d, n, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), (ssize_t)n);
	pump(f, 30);
	assert_int_equal(f->seen.msgs, 1);
	assert_int_equal(end_count(&f->s, SC_DGRAM_ACK), 1);
	/* The same msg_id again, straight from bob: answered, not shown. */
	n = dgram(d, f->bob.tx, PAIR_ID, f->bob_ctr++, SC_DGRAM_MSG, 1,
	    "relayed");
	from_bob(f, d, n);
	pump(f, 10);
	assert_int_equal(f->seen.msgs, 1);
	assert_int_equal(end_count(&f->b, SC_DGRAM_ACK), 1);
}

static void
test_peer_lost_direct_path_resends_on_the_relay_same_id(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	char		 err[128];
	uint64_t	 id;
	size_t		 n, i;

	register_alice(f, SC_UDPREG_RELAY);
	peer_forget(f->peer, "bob");
	f->b.answers = 1;
	give_bob(f, SC_PAIR_RELAY);
	pump(f, 30);
	/* Direct: then bob's side goes dark. */
	f->b.answers = 0;
	assert_int_equal(peer_send(f->peer, "bob", "once", 4, err,
	    sizeof(err)), 0);
	pump(f, 10);
	assert_int_equal(end_count(&f->b, SC_DGRAM_MSG), 1);
	assert_int_equal(end_count(&f->s, SC_DGRAM_MSG), 0);
	/* No ACK within the interval: lost; the relay gets it at once. */
	pump(f, 120);
	assert_int_equal(f->seen.rechecks, 1);
	assert_int_equal(end_count(&f->s, SC_DGRAM_MSG), 1);
	for (i = 0; i < f->s.n && f->s.log[i].kind != SC_DGRAM_MSG; i++)
		;
	id = f->s.log[i].id;
	assert_true(id == 1);
	assert_memory_equal(f->s.log[i].body, "once", 4);
	n = dgram(d, f->bob.tx, PAIR_ID, f->bob_ctr++, SC_DGRAM_ACK, id,
	    NULL);
	assert_int_equal(sendto(f->s.fd, d, n, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), (ssize_t)n);
	pump_until(f, &f->seen.delivered, 1);
	assert_int_equal(f->seen.delivered, 1);
	assert_int_equal(f->seen.failed, 0);
}

/*
 * CANDIDATES, which may answer the peer's RECHECK, make alice register
 * again before her checks: her NAT may have forgotten the mapping the
 * relay sends to.
 */
static void
test_peer_candidates_register_again_before_the_checks(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c = cand_of(&f->b.addr);
	size_t		 probes;
	int		 regs;

	register_alice(f, SC_UDPREG_RELAY);
	pump(f, REG_NOW_GAP_MS + 50);
	regs = f->s.regs;
	probes = end_count(&f->s, SC_DGRAM_PROBE);
	/* bob's public endpoint: a round opens, then the go signal. */
	c.kind = SC_CAND_SRFLX;
	assert_int_equal(peer_candidates(f->peer, PAIR_ID, SC_PAIR_RELAY, &c,
	    1), 0);
	pump(f, 100);
	assert_int_equal(f->s.regs, regs + 1);
	assert_int_equal(end_count(&f->s, SC_DGRAM_PROBE), probes + 1);
	/* The REGISTER came first. */
	assert_int_equal(end_count(&f->s, SC_DGRAM_PROBE), f->s.n);
	assert_true(f->s.reg_at < f->s.n);
	assert_int_equal(f->s.log[f->s.reg_at].kind, SC_DGRAM_PROBE);
	/* A pair not held: nothing. */
	pump(f, 200);
	assert_int_equal(peer_candidates(f->peer, PAIR_ID + 1, SC_PAIR_RELAY,
	    &c, 1), -1);
	pump(f, 50);
	assert_int_equal(f->s.regs, regs + 1);
}

static void
test_peer_registered_only_from_the_server(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_REG_LEN], plain[SC_REG_PLAIN];
	uint8_t		 k_reg[SC_KEY_BYTES];
	struct sc_cand	 c;

	memset(k_reg, 0x44, sizeof(k_reg));
	assert_int_equal(peer_register(f->peer, ntohs(f->s.addr.sin_port), 0,
	    REG_ID, k_reg), 0);
	c = cand_of(&f->alice);
	memset(plain, 0, sizeof(plain));
	wire_endpoint_put(plain, &c);
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTERED, f->reg.s2c, REG_ID,
	    0, plain), 0);
	/* From bob's address: dropped. */
	from_bob(f, d, sizeof(d));
	assert_int_equal(peer_public(f->peer, &c), -1);
	assert_int_equal(peer_stats(f->peer)->drop_source, 1);
	/* From the server's endpoint: taken. */
	peer_input(f->peer, d, sizeof(d), (struct sockaddr *)&f->s.addr,
	    sizeof(f->s.addr));
	assert_int_equal(peer_public(f->peer, &c), 0);
}

static void
test_peer_every_lost_message_fails_with_one_sentence(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c = cand_of(&f->o.addr);
	char		 err[128];

	/* The peer went offline. */
	assert_int_equal(peer_pair_set(f->peer, "carol", 77, test_kxy,
	    f->bob_pk, 0, 0, &c, 1), 0);
	assert_int_equal(peer_send(f->peer, "carol", "a", 1, err,
	    sizeof(err)), 0);
	peer_forget(f->peer, "carol");
	assert_int_equal(f->seen.failed, 1);
	assert_string_equal(f->seen.why, "no acknowledgement from carol");
	/* A new pair key replaced the one the message went under. */
	assert_int_equal(peer_pair_set(f->peer, "carol", 78, test_kxy,
	    f->bob_pk, 0, 0, &c, 1), 0);
	assert_int_equal(peer_send(f->peer, "carol", "b", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(peer_pair_set(f->peer, "carol", 79, test_kxy,
	    f->bob_pk, 0, 0, &c, 1), 0);
	assert_int_equal(f->seen.failed, 2);
	assert_string_equal(f->seen.why, "no acknowledgement from carol");
	/* The drain time ran out. */
	f->seen.why[0] = '\0';
	assert_int_equal(peer_send(f->peer, "bob", "c", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(peer_outstanding(f->peer), 1);
	peer_fail_all(f->peer);
	assert_int_equal(f->seen.failed, 3);
	assert_string_equal(f->seen.why, "no acknowledgement from bob");
	assert_int_equal(peer_outstanding(f->peer), 0);
	assert_int_equal(f->seen.delivered, 0);
	/* No key, too long. */
	assert_int_equal(peer_send(f->peer, "dave", "d", 1, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "no pair key for dave");
	assert_int_equal(peer_send(f->peer, "bob", "d", SC_TEXT_MAX + 1, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "message too long (max 1000 bytes)");
}

static void
test_peer_local_hosts_follow_the_socket_and_the_server(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 h[SC_HOST_MAX];
	struct sockaddr_in	 far;

	/* The server on loopback: the loopback socket is a host. */
	assert_int_equal(peer_hosts(f->peer, h), 1);
	assert_int_equal(h[0].addr[0], 127);
	/* A server elsewhere: loopback is no address for peers. */
	far = f->s.addr;
	far.sin_addr.s_addr = htonl(0xc0000201);
	peer_set_server(f->peer, (struct sockaddr *)&far, sizeof(far));
	assert_int_equal(peer_hosts(f->peer, h), 0);
}

static void
test_peer_listen_on_the_configured_or_connection_address(void **state)
{
	struct fixture		*f = *state;
	struct peer		*p;
	struct sockaddr_in	 local;
	struct sockaddr_in6	 local6;
	char			 err[512];
	uint16_t		 port;
	int			 fd;

	p = peer_new(f->base, &seen_cb, &f->seen, &f->conf);
	assert_non_null(p);
	/* "auto" needs the connection's address. */
	assert_int_equal(peer_listen(p, "auto", 0, NULL, 0, err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "cannot find the local address of the connection");
	/* Only numeric addresses; no name lookups. */
	assert_int_equal(peer_listen(p, "localhost", 0, NULL, 0, err,
	    sizeof(err)), -1);
	assert_memory_equal(err, "bad udp_address localhost: ", 27);
	assert_int_equal(peer_port(p), 0);
	/* A port taken by another socket. */
	{
		struct end	e;

		end_open(&e);
		local = e.addr;
		fd = e.fd;
	}
	assert_int_equal(peer_listen(p, "127.0.0.1",
	    ntohs(local.sin_port), NULL, 0, err, sizeof(err)), -1);
	assert_memory_equal(err, "cannot open the UDP socket: bind: ", 34);
	assert_int_equal(peer_port(p), 0);
	close(fd);
	/* "auto" on the connection's address; its port does not matter. */
	local.sin_port = htons(9);
	assert_int_equal(peer_listen(p, "auto", 0,
	    (struct sockaddr *)&local, sizeof(local), err, sizeof(err)), 0);
	port = peer_port(p);
	assert_true(port != 0 && port != 9);
	/* One socket only. */
	assert_int_equal(peer_listen(p, "::1", 0, NULL, 0, err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "cannot open the UDP socket: the UDP socket is already open");
	/* A connection address too long for any socket address. */
	memset(&local6, 0, sizeof(local6));
	assert_int_equal(peer_listen(p, "auto", 0,
	    (struct sockaddr *)&local6, 4096, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "cannot find the local address of the connection");
	assert_int_equal(peer_port(p), port);
	peer_free(p);
}

/*
 * bob loses alice's first INIT and sends his RESP twice: her INIT goes
 * again with the checks, the second RESP establishes nothing new (it is
 * dropped), and the conversation starts.
 */
static void
test_peer_handshake_survives_lost_init_and_duplicated_resp(void **state)
{
	struct fixture		*f = *state;
	struct sc_cand		 c = cand_of(&f->b.addr);
	struct peer_stats	 before;
	uint8_t			 d[SC_DGRAM_MAX];
	char			 err[128];
	size_t			 n;
	int			 inits = f->b.inits;

	bob_expect(f, PAIR_ID + 9, test_kxy);
	f->drop_inits = 1;
	f->resp_twice = 1;
	f->b.answers = 1;
	f->b.acks = 1;
	before = *peer_stats(f->peer);
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID + 9, test_kxy,
	    f->bob_pk, 0, 0, &c, 1), 0);
	handshake(f);
	pump(f, 20);
	assert_true(f->b.inits - inits >= 2);
	assert_true(peer_stats(f->peer)->drop_handshake -
	    before.drop_handshake >= 1);
	assert_int_equal(peer_stats(f->peer)->drop_mac, before.drop_mac);
	/* Both ways under the handshake's keys. */
	assert_int_equal(peer_send(f->peer, "bob", "hi", 2, err,
	    sizeof(err)), 0);
	pump_until(f, &f->seen.delivered, 1);
	assert_int_equal(f->seen.delivered, 1);
	n = dgram(d, f->bob.tx, PAIR_ID + 9, f->bob_ctr++, SC_DGRAM_MSG, 1,
	    "back");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.last, "back");
}

/*
 * A RESP again (from anywhere), an INIT to the initiator, a RESP of
 * another pair: none opens or changes anything, and the conversation goes
 * on under the same keys.  An old RESP with a new pair's id opens nothing
 * in the new pair either.
 */
static void
test_peer_replayed_handshake_datagrams_establish_nothing(void **state)
{
	struct fixture		*f = *state;
	struct sc_cand		 c = cand_of(&f->b.addr);
	struct peer_stats	 before;
	uint8_t			 d[SC_DGRAM_MAX], resp[PEERHS_LEN];
	size_t			 n;

	before = *peer_stats(f->peer);
	memcpy(resp, f->bob_resp, PEERHS_LEN);
	from_bob(f, resp, PEERHS_LEN);
	peer_input(f->peer, resp, PEERHS_LEN, (struct sockaddr *)&f->o.addr,
	    sizeof(f->o.addr));
	from_bob(f, f->bob_init, PEERHS_LEN);
	assert_int_equal(peer_stats(f->peer)->drop_handshake -
	    before.drop_handshake, 3);
	util_put_be64(resp + 1, PAIR_ID + 1);
	from_bob(f, resp, PEERHS_LEN);
	assert_int_equal(peer_stats(f->peer)->drop_unknown -
	    before.drop_unknown, 1);
	/* Nor does a handshake datagram of another length. */
	from_bob(f, f->bob_resp, PEERHS_LEN - 1);
	assert_int_equal(peer_stats(f->peer)->drop_size - before.drop_size,
	    1);
	n = dgram(d, f->bob.tx, PAIR_ID, f->bob_ctr++, SC_DGRAM_MSG, 1,
	    "same keys");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
	/* A new pair, bob silent: the old RESP relabelled does not open. */
	bob_expect(f, PAIR_ID + 7, test_kxy);
	f->drop_inits = 1000;
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID + 7, test_kxy,
	    f->bob_pk, 0, 0, &c, 1), 0);
	pump(f, 20);
	memcpy(resp, f->bob_resp, PEERHS_LEN);
	util_put_be64(resp + 1, PAIR_ID + 7);
	from_bob(f, resp, PEERHS_LEN);
	assert_int_equal(peer_stats(f->peer)->drop_mac - before.drop_mac, 1);
	assert_false(alice_keyed(f, "bob"));
	/* bob answers now: the handshake is done. */
	f->drop_inits = 0;
	handshake(f);
}

/*
 * alice as responder (aaron's name sorts first): nothing goes to aaron
 * before his INIT; each copy of it gets the same RESP, from the same
 * ephemeral key; another INIT for the pair, and a copy once aaron's first
 * datagram under the keys opened, get nothing.
 */
static void
test_peer_responder_answers_copies_of_init_alike(void **state)
{
	struct fixture		*f = *state;
	struct sc_cand		 c = cand_of(&f->o.addr);
	struct peerhs		 a, a2;
	struct sc_pair_keys	 ka;
	uint8_t			 init[PEERHS_LEN], init2[PEERHS_LEN];
	uint8_t			 resp1[PEERHS_LEN], d[SC_DGRAM_MAX];
	size_t			 n;

	assert_int_equal(peer_pair_set(f->peer, "aaron", 0x99, test_kxy,
	    f->bob_pk, 0, 0, &c, 1), 0);
	pump(f, 50);
	assert_int_equal(f->o.any, 0);
	assert_int_equal(peerhs_init(&a, 1, 0x99, "aaron", f->bob_pk,
	    "alice", f->alice_id.pk, test_kxy), 0);
	a2 = a;
	assert_int_equal(peerhs_write_init(&a, init, f->bob_sk, NULL), 0);
	assert_int_equal(sendto(f->o.fd, init, PEERHS_LEN, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), PEERHS_LEN);
	pump(f, 10);
	assert_int_equal(f->o.resps, 1);
	memcpy(resp1, f->o.resp, PEERHS_LEN);
	assert_int_equal(sendto(f->o.fd, init, PEERHS_LEN, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), PEERHS_LEN);
	pump(f, 10);
	assert_int_equal(f->o.resps, 2);
	assert_memory_equal(f->o.resp, resp1, PEERHS_LEN);
	assert_int_equal(peer_stats(f->peer)->hs_dup, 1);
	assert_int_equal(peerhs_read_resp(&a, &ka, resp1, PEERHS_LEN,
	    f->bob_sk), 0);
	/* Another INIT: another ephemeral key, nothing answered. */
	assert_int_equal(peerhs_write_init(&a2, init2, f->bob_sk, NULL), 0);
	assert_int_equal(sendto(f->o.fd, init2, PEERHS_LEN, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), PEERHS_LEN);
	pump(f, 10);
	assert_int_equal(f->o.resps, 2);
	/* aaron's first datagram under the keys; then a copy gets nothing. */
	n = dgram(d, ka.tx, 0x99, 0, SC_DGRAM_MSG, 1, "from aaron");
	peer_input(f->peer, d, n, (struct sockaddr *)&f->o.addr,
	    sizeof(f->o.addr));
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.from, "aaron");
	assert_int_equal(sendto(f->o.fd, init, PEERHS_LEN, 0,
	    (struct sockaddr *)&f->alice, sizeof(f->alice)), PEERHS_LEN);
	pump(f, 10);
	assert_int_equal(f->o.resps, 2);
	assert_int_equal(peer_stats(f->peer)->drop_handshake, 2);
	peerhs_wipe(&a);
	peerhs_wipe(&a2);
}

/*
 * A pair whose identity key is not trusted sends nothing at all and
 * takes nothing; a message to it is refused with the sentence that says
 * what to do.  Trusted, the handshake runs and the message goes.
 */
static void
test_peer_nothing_sent_or_taken_while_not_trusted(void **state)
{
	struct fixture		*f = *state;
	struct sc_cand		 c = cand_of(&f->b.addr);
	struct sc_pair_keys	 old = f->bob;
	struct peer_path	 paths[2];
	uint8_t			 d[SC_DGRAM_MAX], resp[PEERHS_LEN];
	char			 err[256];
	size_t			 n;
	int			 any;

	peer_forget(f->peer, "bob");
	pump(f, 20);
	any = f->b.any;
	bob_expect(f, PAIR_ID + 3, test_kxy);
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID + 3, test_kxy,
	    f->bob_pk, 1, 0, &c, 1), 0);
	pump(f, 300);
	assert_int_equal(f->b.any, any);
	assert_int_equal(peer_paths(f->peer, paths, 2), 1);
	assert_true(paths[0].blocked);
	assert_int_equal(peer_send(f->peer, "bob", "hi", 2, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the identity key of bob changed; compare "
	    "your safety numbers (verify bob), then trust bob");
	n = dgram(d, old.tx, PAIR_ID + 3, 0, SC_DGRAM_MSG, 1, "held back");
	from_bob(f, d, n);
	memcpy(resp, f->bob_resp, PEERHS_LEN);
	util_put_be64(resp + 1, PAIR_ID + 3);
	from_bob(f, resp, PEERHS_LEN);
	assert_int_equal(peer_stats(f->peer)->drop_blocked, 2);
	assert_int_equal(f->seen.msgs, 0);
	/* Trusted: the handshake, then the message. */
	f->b.answers = 1;
	f->b.acks = 1;
	assert_int_equal(peer_unblock(f->peer, "bob", f->bob_pk), 1);
	assert_int_equal(peer_unblock(f->peer, "bob", f->bob_pk), 0);
	handshake(f);
	assert_int_equal(peer_send(f->peer, "bob", "hi", 2, err,
	    sizeof(err)), 0);
	pump_until(f, &f->seen.delivered, 1);
	assert_int_equal(f->seen.delivered, 1);
}

/*
 * Trusting a key lets go only a pair that was given that very key: a pair
 * held on another (the server's substitute, when the pin came back to the
 * old key meanwhile) is forgotten, never begun, and sends nothing.
 */
static void
test_peer_unblock_with_another_key_forgets_the_pair(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c = cand_of(&f->b.addr);
	uint8_t		 other[SC_KEY_BYTES];
	int		 any;

	peer_forget(f->peer, "bob");
	pump(f, 20);
	any = f->b.any;
	memset(other, 0x42, sizeof(other));
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID + 4, test_kxy,
	    f->bob_pk, 1, 0, &c, 1), 0);
	assert_int_equal(peer_unblock(f->peer, "bob", other), -1);
	assert_false(peer_has_pair(f->peer, "bob"));
	assert_int_equal(peer_unblock(f->peer, "bob", f->bob_pk), 0);
	pump(f, 300);
	assert_int_equal(f->b.any, any);
}

/*
 * Whoever holds Kxy (the server) and seals with it, or with any subkey
 * of it, opens nothing: only the handshake's keys do.
 */
static void
test_peer_datagrams_under_keys_of_kxy_alone_open_nothing(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX], k[SC_KEY_BYTES];
	size_t		 n;
	uint64_t	 id;

	n = dgram(d, test_kxy, PAIR_ID, 100, SC_DGRAM_MSG, 1, "kxy");
	from_bob(f, d, n);
	for (id = 1; id <= 4; id++) {
		assert_int_equal(sc_kdf(k, test_kxy, id, "SCpeerv1"), 0);
		n = dgram(d, k, PAIR_ID, 100 + id, SC_DGRAM_MSG, 1, "kdf");
		from_bob(f, d, n);
	}
	assert_int_equal(peer_stats(f->peer)->drop_mac, 5);
	assert_int_equal(f->seen.msgs, 0);
	n = dgram(d, f->bob.tx, PAIR_ID, 99, SC_DGRAM_MSG, 1, "handshake");
	from_bob(f, d, n);
	assert_int_equal(f->seen.msgs, 1);
}

/*
 * No candidate answers: once the relay is the path, INIT goes through
 * it, and again on the initiator's timer when it was lost; bob's RESP
 * through the relay gives the keys, and the message goes through it.
 */
static void
test_peer_init_goes_through_the_relay_once_that_is_the_path(void **state)
{
	struct fixture	*f = *state;
	char		 err[128];

	register_alice(f, SC_UDPREG_RELAY);
	peer_forget(f->peer, "bob");
	bob_expect(f, PAIR_ID + 4, test_kxy);
	f->drop_inits = 1;
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID + 4, test_kxy,
	    f->bob_pk, 0, SC_PAIR_RELAY, NULL, 0), 0);
	pump(f, 100);
	assert_int_equal(f->s.inits, 0);
	handshake(f);
	assert_true(f->s.inits >= 2);
	assert_int_equal(f->b.inits, 1);
	assert_int_equal(peer_send(f->peer, "bob", "via relay", 9, err,
	    sizeof(err)), 0);
	pump(f, 20);
	assert_int_equal(end_count(&f->s, SC_DGRAM_MSG), 1);
}

/* Runs the receive-path, answer, path, relay, delivery and socket tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, fixture_setup, \
		    fixture_teardown)
		T(test_peer_accepts_a_good_datagram_and_suppresses_a_replay),
		T(test_peer_forged_far_ahead_counter_does_not_move_the_window),
		T(test_peer_drops_reflected_truncated_and_foreign_datagrams),
		T(test_peer_stale_counter_dropped_conversation_goes_on),
		T(test_peer_resent_msg_id_shown_once_bad_payloads_dropped),
		T(test_peer_new_pair_id_replaces_key_same_id_ignored),
		T(test_peer_answers_go_to_the_source_of_what_they_answer),
		T(test_peer_ignored_user_is_neither_shown_nor_acknowledged),
		T(test_peer_answers_per_pair_bounded_by_the_rate),
		T(test_peer_message_waits_for_a_path_then_goes_on_it),
		T(test_peer_message_to_self_is_shown_and_delivered),
		T(test_peer_silent_peer_never_gets_the_text_and_it_fails),
		T(test_peer_unacked_on_direct_path_goes_again_on_the_next),
		T(test_peer_relay_after_direct_timeout_and_answers_through_it),
		T(test_peer_lost_direct_path_resends_on_the_relay_same_id),
		T(test_peer_candidates_register_again_before_the_checks),
		T(test_peer_registered_only_from_the_server),
		T(test_peer_every_lost_message_fails_with_one_sentence),
		T(test_peer_local_hosts_follow_the_socket_and_the_server),
		T(test_peer_listen_on_the_configured_or_connection_address),
		T(test_peer_handshake_survives_lost_init_and_duplicated_resp),
		T(test_peer_replayed_handshake_datagrams_establish_nothing),
		T(test_peer_responder_answers_copies_of_init_alike),
		T(test_peer_nothing_sent_or_taken_while_not_trusted),
		T(test_peer_unblock_with_another_key_forgets_the_pair),
		T(test_peer_datagrams_under_keys_of_kxy_alone_open_nothing),
		T(test_peer_init_goes_through_the_relay_once_that_is_the_path),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
