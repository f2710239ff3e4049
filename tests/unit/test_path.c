/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/path.c, on a fake clock: what a path asks its
 * owner to send and when (host PROBEs at once and every 100 ms; three
 * opening PROBEs to public endpoints with the TTL set, then the go signal
 * through the relay; full checks only after the peer's PROBE, or 200 ms
 * without a relay), the choice of the path (host first), the relay after
 * direct_timeout, upgrade rounds after 5 s doubling to 60 s, keepalives and
 * their misses, a loss and what follows it, the address rules, learned
 * endpoints, stray answers and the probe rate.  A real socket shows that
 * an opening packet leaves with the TTL set and the socket keeps its own.
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
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"

#include "path.h"

static uint64_t	fake_now;

/* The fake clock. */
static uint64_t
fake_clock(void)
{
	return (fake_now);
}

/* One PROBE the path asked for. */
struct sent {
	uint64_t	id;
	uint64_t	at;
	union path_sa	to;
	int		ttl;
	int		relayed;
};

#define SENT_MAX	4096

/* A path under test, and what it asked for. */
struct fixture {
	struct event_base	*base;
	struct path		*path;
	struct path_conf	 conf;
	struct path_limit	 limit;
	struct sent		 sent[SENT_MAX];
	size_t			 nsent;
	int			 changed;
	int			 lost;
};

/* Owner: send a PROBE. */
static int
own_probe(void *arg, uint64_t id, const struct sockaddr *sa, socklen_t len,
    int ttl)
{
	struct fixture	*f = arg;
	struct sent	*s;

	assert_true(f->nsent < SENT_MAX);
	s = &f->sent[f->nsent++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->at = fake_now;
	memcpy(&s->to, sa, len);
	s->ttl = ttl;
	return (0);
}

/* Owner: send a PROBE through the relay. */
static int
own_probe_relay(void *arg, uint64_t id)
{
	struct fixture	*f = arg;
	struct sent	*s;

	assert_true(f->nsent < SENT_MAX);
	s = &f->sent[f->nsent++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->at = fake_now;
	s->relayed = 1;
	return (0);
}

/* Owner: the path changed. */
static void
own_changed(void *arg)
{
	struct fixture	*f = arg;

	f->changed++;
}

/* Owner: the path was lost. */
static void
own_lost(void *arg)
{
	struct fixture	*f = arg;

	f->lost++;
}

static const struct path_ops own_ops = {
	.probe = own_probe,
	.probe_relay = own_probe_relay,
	.changed = own_changed,
	.lost = own_lost,
};

/* A fixture with the default settings; no path yet. */
static int
fixture_setup(void **state)
{
	struct fixture	*f;

	assert_int_equal(sc_crypto_init(), 0);
	log_init("test_path", LOG_LVL_ERROR);
	assert_non_null(f = calloc(1, sizeof(*f)));
	assert_non_null(f->base = event_base_new());
	fake_now = 1000000;
	f->conf.direct_timeout_ms = 1000;
	f->conf.keepalive_ms = 15000;
	f->conf.punch_ttl = 2;
	f->conf.allow_loopback = 0;
	f->conf.family = AF_UNSPEC;
	f->conf.limit = &f->limit;
	f->conf.now = fake_clock;
	*state = f;
	return (0);
}

/* Frees the fixture. */
static int
fixture_teardown(void **state)
{
	struct fixture	*f = *state;

	path_free(f->path);
	event_base_free(f->base);
	free(f);
	return (0);
}

/* Makes the path on the fixture's settings. */
static void
make_path(struct fixture *f)
{
	path_free(f->path);
	f->path = path_new(f->base, &f->conf, "bob", &own_ops, f);
	assert_non_null(f->path);
}

/* An IPv4 candidate. */
static struct sc_cand
cand4(uint8_t kind, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
    uint16_t port)
{
	struct sc_cand	x;

	memset(&x, 0, sizeof(x));
	x.kind = kind;
	x.af = SC_AF_INET;
	x.addr[0] = a;
	x.addr[1] = b;
	x.addr[2] = c;
	x.addr[3] = d;
	x.port = port;
	return (x);
}

/* An IPv6 candidate from text. */
static struct sc_cand
cand6(uint8_t kind, const char *text, uint16_t port)
{
	struct sc_cand	x;

	memset(&x, 0, sizeof(x));
	x.kind = kind;
	x.af = SC_AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, x.addr), 1);
	x.port = port;
	return (x);
}

/* The socket address of a candidate. */
static union path_sa
sa_of(struct sc_cand c)
{
	union path_sa	a;

	assert_true(path_cand_sa(&a, &c, AF_UNSPEC, 0) != 0);
	return (a);
}

/* Runs the path at every due time up to and including t. */
static void
advance(struct fixture *f, uint64_t t)
{
	uint64_t	next;
	int		i;

	for (i = 0; i < 100000; i++) {
		next = path_next(f->path);
		if (next == 0 || next > t)
			break;
		if (next > fake_now)
			fake_now = next;
		path_run(f->path);
	}
	fake_now = t;
}

/* Tells whether the path's direct endpoint is c. */
static int
is_target(const struct fixture *f, struct sc_cand c)
{
	union path_sa	got, a = sa_of(c);

	return (path_target(f->path, &got) != 0 &&
	    path_sa_equal(&got.sa, &a.sa));
}

/* PROBEs sent to c in [from, to) with the given TTL (-1: any). */
static size_t
count_to(const struct fixture *f, struct sc_cand c, int ttl, uint64_t from,
    uint64_t to)
{
	union path_sa	a = sa_of(c);
	size_t		i, n = 0;

	for (i = 0; i < f->nsent; i++) {
		const struct sent	*s = &f->sent[i];

		if (s->relayed || s->at < from || s->at >= to ||
		    !path_sa_equal(&s->to.sa, &a.sa))
			continue;
		if (ttl == -1 || s->ttl == ttl)
			n++;
	}
	return (n);
}

/* PROBEs sent through the relay in [from, to). */
static size_t
count_relay(const struct fixture *f, uint64_t from, uint64_t to)
{
	size_t	i, n = 0;

	for (i = 0; i < f->nsent; i++)
		if (f->sent[i].relayed && f->sent[i].at >= from &&
		    f->sent[i].at < to)
			n++;
	return (n);
}

/* The last PROBE sent to c (full TTL), which the test answers. */
static const struct sent *
last_to(const struct fixture *f, struct sc_cand c)
{
	union path_sa	a = sa_of(c);
	size_t		i;

	for (i = f->nsent; i > 0; i--) {
		const struct sent	*s = &f->sent[i - 1];

		if (!s->relayed && s->ttl == 0 &&
		    path_sa_equal(&s->to.sa, &a.sa))
			return (s);
	}
	fail_msg("no PROBE to that candidate");
	return (NULL);
}

/* The peer answers the last PROBE to c, from c. */
static void
answer(struct fixture *f, struct sc_cand c)
{
	union path_sa	a = sa_of(c);

	assert_int_equal(path_probe_ack(f->path, last_to(f, c)->id, &a.sa,
	    sizeof(a), 0), 0);
}

static void
test_path_host_probed_at_once_then_every_100ms(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 h = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	uint64_t	 t0 = fake_now;

	make_path(f);
	path_set_candidates(f->path, &h, 1, 1);
	assert_int_equal(count_to(f, h, 0, t0, t0 + 1), 1);
	assert_int_equal(path_state(f->path), PATH_CHECKING);
	advance(f, t0 + 350);
	/* At 0, 100, 200 and 300 ms. */
	assert_int_equal(count_to(f, h, 0, t0, t0 + 351), 4);
	fake_now = t0 + 360;
	answer(f, h);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	assert_int_equal(f->changed, 1);
	assert_true(is_target(f, h));
	/* Checks stop; a keepalive is next, after udp_keepalive. */
	advance(f, t0 + 5000);
	assert_int_equal(count_to(f, h, -1, t0 + 361, t0 + 5000), 0);
	assert_int_equal(path_next(f->path), t0 + 360 + 15000);
	assert_int_equal(f->lost, 0);
}

static void
test_path_opening_ttl_then_go_then_full_checks_on_peer_probe(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 s = cand4(SC_CAND_SRFLX, 203, 0, 113, 7, 40000);
	union path_sa	 relay_src;
	uint64_t	 t0 = fake_now;
	size_t		 i, n = 0;

	make_path(f);
	path_set_relay(f->path, 1);
	path_set_candidates(f->path, &s, 1, 1);
	advance(f, t0 + 150);
	/* Three opening PROBEs, TTL 2, 10 ms apart, nothing at full TTL. */
	for (i = 0; i < f->nsent; i++) {
		if (f->sent[i].relayed)
			continue;
		assert_int_equal(f->sent[i].ttl, 2);
		assert_int_equal(f->sent[i].at, t0 + 10 * n);
		n++;
	}
	assert_int_equal(n, 3);
	/* The go signal through the relay, once, after the first. */
	assert_int_equal(count_relay(f, t0, t0 + 150), 1);
	assert_int_equal(count_relay(f, t0, t0 + 1), 1);
	assert_int_equal(f->sent[0].relayed, 0);
	assert_int_equal(count_to(f, s, 0, t0, t0 + 151), 0);
	/* The peer's go arrives through the relay: full checks begin. */
	memset(&relay_src, 0, sizeof(relay_src));
	path_probe_in(f->path, &relay_src.sa, sizeof(relay_src), 1);
	assert_int_equal(count_to(f, s, 0, t0 + 150, t0 + 151), 1);
	advance(f, t0 + 460);
	assert_int_equal(count_to(f, s, 0, t0 + 150, t0 + 461), 4);
	answer(f, s);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	assert_int_equal(path_stats(f->path)->opening, 3);
}

static void
test_path_without_relay_full_checks_200ms_after_opening(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 s = cand4(SC_CAND_SRFLX, 203, 0, 113, 7, 40000);
	uint64_t	 t0 = fake_now;

	make_path(f);
	path_set_candidates(f->path, &s, 1, 1);
	advance(f, t0 + 219);
	assert_int_equal(count_to(f, s, 2, t0, t0 + 220), 3);
	assert_int_equal(count_to(f, s, 0, t0, t0 + 220), 0);
	assert_int_equal(count_relay(f, t0, t0 + 220), 0);
	advance(f, t0 + 220);
	assert_int_equal(count_to(f, s, 0, t0 + 220, t0 + 221), 1);
	/* punch_ttl 0: no opening PROBEs at all. */
	f->conf.punch_ttl = 0;
	f->nsent = 0;
	t0 = fake_now;
	make_path(f);
	path_set_candidates(f->path, &s, 1, 1);
	advance(f, t0 + 250);
	assert_int_equal(count_to(f, s, 2, t0, t0 + 251), 0);
	assert_int_equal(count_to(f, s, 0, t0 + 200, t0 + 201), 1);
	assert_int_equal(path_stats(f->path)->opening, 0);
}

static void
test_path_relay_usable_after_the_opening_sends_the_go_then(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 s = cand4(SC_CAND_SRFLX, 203, 0, 113, 7, 40000);
	union path_sa	 relay_src;
	uint64_t	 t0 = fake_now;

	make_path(f);
	path_set_candidates(f->path, &s, 1, 1);
	advance(f, t0 + 50);
	assert_int_equal(count_relay(f, t0, t0 + 51), 0);
	/* Registered now: the go signal, and no more 200 ms shortcut. */
	path_set_relay(f->path, 1);
	assert_int_equal(count_relay(f, t0 + 50, t0 + 51), 1);
	advance(f, t0 + 400);
	assert_int_equal(count_to(f, s, 0, t0, t0 + 401), 0);
	memset(&relay_src, 0, sizeof(relay_src));
	path_probe_in(f->path, &relay_src.sa, sizeof(relay_src), 1);
	assert_int_equal(count_to(f, s, 0, t0 + 400, t0 + 401), 1);
}

static void
test_path_host_wins_over_public_confirmed_just_before(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c[2];
	uint64_t	 t0 = fake_now;

	c[0] = cand4(SC_CAND_SRFLX, 203, 0, 113, 7, 40000);
	c[1] = cand4(SC_CAND_HOST, 10, 1, 2, 3, 40000);
	f->conf.punch_ttl = 0;
	make_path(f);
	path_set_candidates(f->path, c, 2, 1);
	advance(f, t0 + 200);
	/* The public endpoint answers first; the host 10 ms later. */
	answer(f, c[0]);
	assert_int_equal(path_state(f->path), PATH_CHECKING);
	advance(f, t0 + 210);
	answer(f, c[1]);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	assert_true(is_target(f, c[1]));
	/* A public endpoint alone is taken after the short settling. */
	f->nsent = 0;
	make_path(f);
	t0 = fake_now;
	path_set_candidates(f->path, c, 1, 1);
	advance(f, t0 + 200);
	answer(f, c[0]);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
}

static void
test_path_relay_after_direct_timeout_then_upgrades_doubling(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 h = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	uint64_t	 t0 = fake_now, t, wait;
	int		 i;

	make_path(f);
	path_set_relay(f->path, 1);
	path_set_candidates(f->path, &h, 1, 1);
	advance(f, t0 + 999);
	assert_int_equal(path_state(f->path), PATH_CHECKING);
	advance(f, t0 + 1000);
	assert_int_equal(path_state(f->path), PATH_RELAY);
	assert_int_equal(f->changed, 1);
	assert_int_equal(path_target(f->path, &(union path_sa){ 0 }), 0);
	/* Rounds after 5, 10, 20, 40, 60, 60 s, each direct_timeout long. */
	t = t0 + 1000;
	wait = 5000;
	for (i = 0; i < 6; i++) {
		assert_int_equal(path_next(f->path), t + wait);
		advance(f, t + wait - 1);
		assert_int_equal(count_to(f, h, 0, t + 1, t + wait), 0);
		advance(f, t + wait);
		assert_int_equal(count_to(f, h, 0, t + wait, t + wait + 1),
		    1);
		t += wait + 1000;
		advance(f, t);
		assert_int_equal(path_state(f->path), PATH_RELAY);
		wait = wait * 2 > 60000 ? 60000 : wait * 2;
	}
	assert_int_equal(path_stats(f->path)->rounds, 7);
	/* A round that confirms the host replaces the relay at once. */
	advance(f, t + 60000);
	answer(f, h);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	assert_int_equal(f->changed, 2);
}

static void
test_path_loss_goes_to_relay_or_checks_again_and_tells_owner(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 h = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	uint64_t	 t0 = fake_now;
	uint32_t	 gen;

	make_path(f);
	path_set_relay(f->path, 1);
	path_set_candidates(f->path, &h, 1, 1);
	answer(f, h);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	gen = path_gen(f->path);
	advance(f, t0 + 300);
	path_lose(f->path);
	assert_int_equal(path_state(f->path), PATH_RELAY);
	assert_true(path_gen(f->path) != gen);
	assert_int_equal(f->lost, 1);
	/* The next direct round waits 5 s on the relay. */
	assert_int_equal(path_next(f->path), t0 + 300 + 5000);
	/* A relay that stops answering: checks begin again at once. */
	advance(f, t0 + 2000);
	f->nsent = 0;
	path_lose(f->path);
	assert_int_equal(path_state(f->path), PATH_RELAY);
	assert_int_equal(f->lost, 2);
	assert_int_equal(count_to(f, h, 0, t0 + 2000, t0 + 2001), 1);
	/* A second loss within a second is not told to the server again. */
	path_lose(f->path);
	assert_int_equal(f->lost, 2);

	/* Without a relay: no path, and a round at once. */
	f->lost = 0;
	f->nsent = 0;
	make_path(f);
	t0 = fake_now;
	path_set_candidates(f->path, &h, 1, 1);
	answer(f, h);
	advance(f, t0 + 500);
	path_lose(f->path);
	assert_int_equal(path_state(f->path), PATH_CHECKING);
	assert_int_equal(f->lost, 1);
	assert_int_equal(count_to(f, h, 0, t0 + 500, t0 + 501), 1);
	answer(f, h);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
}

static void
test_path_keepalive_after_silence_three_misses_lose_it(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 h = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	union path_sa	 a = sa_of(h);
	uint64_t	 t0 = fake_now;

	f->conf.keepalive_ms = 15000;
	make_path(f);
	path_set_candidates(f->path, &h, 1, 1);
	answer(f, h);
	/* Traffic on the path puts the keepalive off. */
	advance(f, t0 + 10000);
	path_sent(f->path, &a.sa, sizeof(a), 0);
	advance(f, t0 + 24999);
	assert_int_equal(count_to(f, h, 0, t0 + 1, t0 + 25000), 0);
	advance(f, t0 + 25000);
	assert_int_equal(count_to(f, h, 0, t0 + 25000, t0 + 25001), 1);
	/* Answered: the next one 15 s after it. */
	fake_now = t0 + 25050;
	answer(f, h);
	advance(f, t0 + 39999);
	assert_int_equal(count_to(f, h, 0, t0 + 25001, t0 + 40000), 0);
	/* Three unanswered, a second apart: lost. */
	advance(f, t0 + 42500);
	assert_int_equal(count_to(f, h, 0, t0 + 40000, t0 + 42501), 3);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	assert_int_equal(f->lost, 0);
	advance(f, t0 + 43000);
	assert_int_equal(f->lost, 1);
	assert_int_equal(path_state(f->path), PATH_CHECKING);
	assert_int_equal(path_stats(f->path)->losses, 1);
}

static void
test_path_refuses_addresses_it_must_never_send_to(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c[9];
	union path_sa	 a;
	size_t		 i;

	c[0] = cand4(SC_CAND_HOST, 0, 0, 0, 0, 4000);
	c[1] = cand4(SC_CAND_HOST, 224, 0, 0, 1, 4000);
	c[2] = cand4(SC_CAND_HOST, 255, 255, 255, 255, 4000);
	c[3] = cand4(SC_CAND_HOST, 127, 0, 0, 1, 4000);
	c[4] = cand6(SC_CAND_HOST, "::", 4000);
	c[5] = cand6(SC_CAND_HOST, "ff02::1", 4000);
	c[6] = cand6(SC_CAND_HOST, "fe80::1", 4000);
	c[7] = cand6(SC_CAND_SRFLX, "::ffff:127.0.0.1", 4000);
	c[8] = cand4(SC_CAND_HOST, 169, 254, 1, 1, 4000);
	make_path(f);
	path_set_candidates(f->path, c, 9, 1);
	advance(f, fake_now + 2000);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(path_stats(f->path)->refused, 9);
	/* Loopback is fine when the server itself is on loopback. */
	for (i = 0; i < 9; i++) {
		a = sa_of(c[i]);
		assert_int_equal(path_addr_ok(&a.sa, 1), i == 3 || i == 7);
	}
	a = sa_of(cand6(SC_CAND_HOST, "::1", 4000));
	assert_int_equal(path_addr_ok(&a.sa, 0), 0);
	assert_int_equal(path_addr_ok(&a.sa, 1), 1);
	a = sa_of(cand4(SC_CAND_HOST, 192, 0, 2, 1, 0));
	assert_int_equal(path_addr_ok(&a.sa, 1), 0);
	a = sa_of(cand6(SC_CAND_HOST, "2001:db8::1", 4000));
	assert_int_equal(path_addr_ok(&a.sa, 0), 1);
	/* A PROBE from a refused source teaches nothing. */
	a = sa_of(c[1]);
	path_probe_in(f->path, &a.sa, sizeof(a), 0);
	advance(f, fake_now + 2000);
	assert_int_equal(f->nsent, 0);
	/* Unknown kinds are refused too. */
	c[0] = cand4(PATH_CAND_PRFLX, 192, 0, 2, 1, 4000);
	path_set_candidates(f->path, c, 1, 1);
	advance(f, fake_now + 2000);
	assert_int_equal(f->nsent, 0);
}

static void
test_path_candidates_of_another_family_are_skipped_or_mapped(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c[2];
	union path_sa	 a;

	c[0] = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	c[1] = cand6(SC_CAND_HOST, "2001:db8::7", 4000);
	f->conf.family = AF_INET;
	make_path(f);
	path_set_candidates(f->path, c, 2, 1);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(f->sent[0].to.sa.sa_family, AF_INET);
	/* An IPv6 socket that reaches IPv4: both, IPv4 as mapped. */
	f->nsent = 0;
	f->conf.family = AF_INET6;
	f->conf.map_v4 = 1;
	make_path(f);
	path_set_candidates(f->path, c, 2, 1);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(f->sent[0].to.sa.sa_family, AF_INET6);
	assert_true(IN6_IS_ADDR_V4MAPPED(&f->sent[0].to.sin6.sin6_addr));
	assert_int_equal(path_cand_sa(&a, &c[0], AF_INET6, 0), 0);
	assert_int_equal(path_cand_sa(&a, &c[1], AF_INET, 1), 0);
}

static void
test_path_learns_endpoints_from_probes_bounded(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 h = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	struct sc_cand	 r;
	union path_sa	 a, got;
	uint64_t	 t0 = fake_now;
	int		 i;

	make_path(f);
	path_set_candidates(f->path, &h, 1, 1);
	/* Ten unknown sources: at most four are kept. */
	for (i = 0; i < 10; i++) {
		r = cand4(SC_CAND_HOST, 198, 51, 100, (uint8_t)(i + 1),
		    5000);
		a = sa_of(r);
		path_probe_in(f->path, &a.sa, sizeof(a), 0);
	}
	/* Each was probed at once; the last four are kept and checked. */
	assert_int_equal(count_to(f, r, 0, t0, t0 + 1), 1);
	advance(f, t0 + 100);
	for (i = 0; i < 10; i++) {
		r = cand4(SC_CAND_HOST, 198, 51, 100, (uint8_t)(i + 1),
		    5000);
		assert_int_equal(count_to(f, r, 0, t0 + 100, t0 + 101),
		    i >= 10 - PATH_PRFLX_MAX);
	}
	/* A learned endpoint answers; the host still has a moment. */
	answer(f, r);
	assert_int_equal(path_state(f->path), PATH_CHECKING);
	advance(f, t0 + 100 + PATH_SETTLE_MS);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	assert_true(path_target(f->path, &got) != 0);
	assert_true(path_sa_equal(&got.sa, &a.sa));
}

static void
test_path_stray_or_misdirected_answers_confirm_nothing(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 h = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	struct sc_cand	 o = cand4(SC_CAND_HOST, 192, 0, 2, 8, 4000);
	union path_sa	 a = sa_of(h), b = sa_of(o);
	uint64_t	 id;

	make_path(f);
	path_set_candidates(f->path, &h, 1, 1);
	id = last_to(f, h)->id;
	/* An id never sent; the right id from another address; relayed. */
	assert_int_equal(path_probe_ack(f->path, id + 1, &a.sa, sizeof(a), 0),
	    -1);
	assert_int_equal(path_probe_ack(f->path, id, &b.sa, sizeof(b), 0),
	    -1);
	assert_int_equal(path_probe_ack(f->path, id, &a.sa, sizeof(a), 1),
	    -1);
	assert_int_equal(path_state(f->path), PATH_CHECKING);
	assert_int_equal(path_stats(f->path)->stray_acks, 3);
	/* The real one, once. */
	assert_int_equal(path_probe_ack(f->path, id, &a.sa, sizeof(a), 0), 0);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	assert_int_equal(path_probe_ack(f->path, id, &a.sa, sizeof(a), 0),
	    -1);
}

static void
test_path_probe_rate_is_bounded(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c[SC_CAND_MAX];
	uint64_t	 t0 = fake_now;
	int		 i;

	for (i = 0; i < SC_CAND_MAX; i++)
		c[i] = cand4(SC_CAND_HOST, 192, 0, 2, (uint8_t)(i + 1), 4000);
	make_path(f);
	/* A flood of CANDIDATES restarts, all in one millisecond. */
	for (i = 0; i < 100; i++)
		path_set_candidates(f->path, c, SC_CAND_MAX, 1);
	assert_int_equal(f->nsent, PATH_BURST);
	assert_true(path_stats(f->path)->limited > 0);
	/* Then at most one per PATH_RATE_MS. */
	for (i = 0; i < 100; i++) {
		fake_now += 1;
		path_set_candidates(f->path, c, SC_CAND_MAX, 1);
	}
	assert_true(f->nsent <= PATH_BURST + 100 / PATH_RATE_MS + 1);
	/* The shared bucket bounds all pairs together. */
	(void)t0;
	f->limit.at_ms = fake_now;
	f->limit.tokens = 0;
	f->nsent = 0;
	fake_now += 1000;
	f->limit.at_ms = fake_now;
	make_path(f);
	path_set_candidates(f->path, c, SC_CAND_MAX, 1);
	assert_int_equal(f->nsent, 0);
}

static void
test_path_relay_usable_late_takes_over_a_failed_round(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 h = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	uint64_t	 t0 = fake_now;

	make_path(f);
	path_set_candidates(f->path, &h, 1, 1);
	advance(f, t0 + 1500);
	assert_int_equal(path_state(f->path), PATH_CHECKING);
	/* No relay: the next round comes after 5 s, messages wait. */
	assert_int_equal(path_next(f->path), t0 + 1000 + 5000);
	path_set_relay(f->path, 1);
	assert_int_equal(path_state(f->path), PATH_RELAY);
	assert_int_equal(f->changed, 1);
}

static void
test_path_restart_while_direct_moves_when_another_answers(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 c[2];
	uint64_t	 t0 = fake_now;

	c[0] = cand4(SC_CAND_HOST, 192, 0, 2, 7, 4000);
	c[1] = cand4(SC_CAND_HOST, 192, 0, 2, 9, 4000);
	make_path(f);
	path_set_candidates(f->path, c, 1, 1);
	answer(f, c[0]);
	/* CANDIDATES: the old endpoint is gone, a new one answers. */
	advance(f, t0 + 100);
	path_set_candidates(f->path, &c[1], 1, 1);
	answer(f, c[1]);
	assert_true(is_target(f, c[0]));
	advance(f, t0 + 1100);
	assert_true(is_target(f, c[1]));
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	/* The same list again without force: no new round. */
	f->nsent = 0;
	path_set_candidates(f->path, &c[1], 1, 0);
	assert_int_equal(f->nsent, 0);
}

static void
test_path_peer_probe_outside_a_round_begins_one(void **state)
{
	struct fixture	*f = *state;
	struct sc_cand	 s = cand4(SC_CAND_SRFLX, 203, 0, 113, 7, 40000);
	union path_sa	 relay_src;
	uint64_t	 t0 = fake_now;

	make_path(f);
	path_set_relay(f->path, 1);
	path_set_candidates(f->path, &s, 1, 1);
	advance(f, t0 + 1500);
	assert_int_equal(path_state(f->path), PATH_RELAY);
	/* Soon after a round of ours, a PROBE begins none. */
	memset(&relay_src, 0, sizeof(relay_src));
	path_probe_in(f->path, &relay_src.sa, sizeof(relay_src), 1);
	assert_int_equal(path_stats(f->path)->rounds, 1);
	/* The peer's own upgrade round: its go comes through the relay. */
	advance(f, t0 + 2500);
	f->nsent = 0;
	path_probe_in(f->path, &relay_src.sa, sizeof(relay_src), 1);
	advance(f, t0 + 2530);
	/* Our opening, our go, then full checks at once (its go came). */
	assert_int_equal(count_to(f, s, 2, t0 + 2500, t0 + 2530), 3);
	assert_int_equal(count_relay(f, t0 + 2500, t0 + 2530), 1);
	assert_int_equal(count_to(f, s, 0, t0 + 2520, t0 + 2521), 1);
	/* While direct, the peer's PROBEs (its keepalives) begin nothing. */
	answer(f, s);
	assert_int_equal(path_state(f->path), PATH_DIRECT);
	advance(f, t0 + 9000);
	f->nsent = 0;
	path_probe_in(f->path, &relay_src.sa, sizeof(relay_src), 1);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(path_stats(f->path)->rounds, 2);
}

/* The TTL a datagram arrived with, from IP_RECVTTL (-1: none). */
static int
recv_ttl(int fd, int level, int type)
{
	uint8_t		 buf[64];
	char		 ctl[256];
	struct iovec	 iov = { buf, sizeof(buf) };
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	int		 ttl = -1;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	if (recvmsg(fd, &mh, 0) < 0)
		return (-1);
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == level && cm->cmsg_type == type)
			memcpy(&ttl, CMSG_DATA(cm), sizeof(ttl));
	return (ttl);
}

/* Sends with TTL 2 on a socket of the family and checks both ends. */
static void
check_ttl_family(int family)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 tx, rx, on = 1, before, after;
	int			 level, opt, recvopt, type;
	socklen_t		 olen = sizeof(before);

	if (family == AF_INET) {
		level = IPPROTO_IP;
		opt = IP_TTL;
		recvopt = IP_RECVTTL;
		type = IP_TTL;
	} else {
		level = IPPROTO_IPV6;
		opt = IPV6_UNICAST_HOPS;
		recvopt = IPV6_RECVHOPLIMIT;
		type = IPV6_HOPLIMIT;
	}
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
		    htonl(INADDR_LOOPBACK);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		len = sizeof(struct sockaddr_in6);
	}
	rx = socket(family, SOCK_DGRAM, 0);
	assert_true(rx >= 0);
	if (bind(rx, (struct sockaddr *)&ss, len) != 0) {
		/* No IPv6 loopback here. */
		close(rx);
		return;
	}
	assert_int_equal(getsockname(rx, (struct sockaddr *)&ss, &len), 0);
	assert_int_equal(setsockopt(rx, level, recvopt, &on, sizeof(on)), 0);
	tx = socket(family, SOCK_DGRAM, 0);
	assert_true(tx >= 0);
	assert_int_equal(getsockopt(tx, level, opt, &before, &olen), 0);
	assert_int_equal(path_sendto_ttl(tx, "open", 4, (struct sockaddr *)&ss,
	    len, 2), 4);
	olen = sizeof(after);
	assert_int_equal(getsockopt(tx, level, opt, &after, &olen), 0);
	assert_int_equal(after, before);
	/* Loopback does not count hops: the datagram shows its TTL. */
	assert_int_equal(recv_ttl(rx, level, type), 2);
	/* And the next one leaves with the socket's own. */
	assert_int_equal(sendto(tx, "full", 4, 0, (struct sockaddr *)&ss, len),
	    4);
	assert_int_equal(recv_ttl(rx, level, type), before);
	close(tx);
	close(rx);
}

static void
test_path_sendto_ttl_sets_the_ttl_for_one_datagram(void **state)
{
	(void)state;
	check_ttl_family(AF_INET);
	check_ttl_family(AF_INET6);
}

/* Runs the path tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, fixture_setup, \
		    fixture_teardown)
		T(test_path_host_probed_at_once_then_every_100ms),
		T(test_path_opening_ttl_then_go_then_full_checks_on_peer_probe),
		T(test_path_without_relay_full_checks_200ms_after_opening),
		T(test_path_relay_usable_after_the_opening_sends_the_go_then),
		T(test_path_host_wins_over_public_confirmed_just_before),
		T(test_path_relay_after_direct_timeout_then_upgrades_doubling),
		T(test_path_loss_goes_to_relay_or_checks_again_and_tells_owner),
		T(test_path_keepalive_after_silence_three_misses_lose_it),
		T(test_path_refuses_addresses_it_must_never_send_to),
		T(test_path_candidates_of_another_family_are_skipped_or_mapped),
		T(test_path_learns_endpoints_from_probes_bounded),
		T(test_path_stray_or_misdirected_answers_confirm_nothing),
		T(test_path_probe_rate_is_bounded),
		T(test_path_relay_usable_late_takes_over_a_failed_round),
		T(test_path_restart_while_direct_moves_when_another_answers),
		T(test_path_peer_probe_outside_a_round_begins_one),
		T(test_path_sendto_ttl_sets_the_ttl_for_one_datagram),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
