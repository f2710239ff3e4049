/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/reg.c, on a fake clock: REGISTER at once, every
 * 500 ms up to ten times until REGISTERED, then after udp_keepalive of
 * silence toward the server; counters from 0, each used once; a REGISTERED
 * taken only with our reg_id, a counter we sent and newer than the last
 * answered, a valid seal, endpoint and zero byte; the public mapping
 * learned; and the local addresses a UDP request carries.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "reg.h"

#define REG_ID	UINT64_C(0x0a0b0c0d0e0f1011)

static uint64_t	fake_now;

/* The fake clock. */
static uint64_t
fake_clock(void)
{
	return (fake_now);
}

#define SENT_MAX	64

/* A reg under test and the datagrams it sent. */
struct fixture {
	struct event_base	*base;
	struct reg		*reg;
	uint8_t			 k_reg[SC_KEY_BYTES];
	struct sc_reg_keys	 keys;
	struct sockaddr_in	 server;
	uint8_t			 sent[SENT_MAX][SC_REG_LEN];
	uint64_t		 sent_at[SENT_MAX];
	size_t			 nsent;
	int			 registered;
};

/* Owner: send to the server. */
static int
own_send(void *arg, const uint8_t *d, size_t len, const struct sockaddr *sa,
    socklen_t salen)
{
	struct fixture	*f = arg;

	assert_int_equal(len, SC_REG_LEN);
	assert_int_equal(salen, sizeof(f->server));
	assert_memory_equal(sa, &f->server, salen);
	assert_true(f->nsent < SENT_MAX);
	memcpy(f->sent[f->nsent], d, len);
	f->sent_at[f->nsent++] = fake_now;
	return (0);
}

/* Owner: registered. */
static void
own_registered(void *arg)
{
	struct fixture	*f = arg;

	f->registered++;
}

static const struct reg_ops own_ops = {
	.send = own_send,
	.registered = own_registered,
};

/* A reg with keepalive 15 s, started. */
static int
fixture_setup(void **state)
{
	struct fixture	*f;

	assert_int_equal(sc_crypto_init(), 0);
	log_init("test_reg", LOG_LVL_ERROR);
	assert_non_null(f = calloc(1, sizeof(*f)));
	assert_non_null(f->base = event_base_new());
	fake_now = 5000000;
	memset(f->k_reg, 0x33, sizeof(f->k_reg));
	sc_reg_derive(&f->keys, f->k_reg);
	f->server.sin_family = AF_INET;
	f->server.sin_addr.s_addr = htonl(0xc0000201);	/* 192.0.2.1 */
	f->server.sin_port = htons(10000);
	assert_non_null(f->reg = reg_new(f->base, 15000, fake_clock, &own_ops,
	    f));
	*state = f;
	return (0);
}

/* Frees the fixture. */
static int
fixture_teardown(void **state)
{
	struct fixture	*f = *state;

	reg_free(f->reg);
	event_base_free(f->base);
	free(f);
	return (0);
}

/* Runs the reg at every due time up to t. */
static void
advance(struct fixture *f, uint64_t t)
{
	uint64_t	next;

	while ((next = reg_next(f->reg)) != 0 && next <= t) {
		if (next > fake_now)
			fake_now = next;
		reg_run(f->reg);
	}
	fake_now = t;
}

/* Starts the fixture's reg. */
static void
start(struct fixture *f)
{
	assert_int_equal(reg_start(f->reg, (struct sockaddr *)&f->server,
	    sizeof(f->server), REG_ID, f->k_reg, 1), 0);
}

/* The REGISTERED the server would send for counter ctr. */
static void
registered(struct fixture *f, uint8_t out[SC_REG_LEN], uint64_t reg_id,
    uint64_t ctr, const char *ip, uint16_t port)
{
	uint8_t		plain[SC_REG_PLAIN];
	struct sc_cand	c;

	memset(&c, 0, sizeof(c));
	c.af = SC_AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, c.addr), 1);
	c.port = port;
	memset(plain, 0, sizeof(plain));
	wire_endpoint_put(plain, &c);
	assert_int_equal(sc_reg_seal(out, SC_UDP_REGISTERED, f->keys.s2c,
	    reg_id, ctr, plain), 0);
}

static void
test_reg_register_at_once_then_every_500ms_ten_times(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 plain[SC_REG_PLAIN];
	static const uint8_t zero[SC_REG_PLAIN];
	uint64_t	 t0 = fake_now;
	size_t		 i;

	assert_int_equal(reg_next(f->reg), 0);
	start(f);
	assert_int_equal(f->nsent, 1);
	advance(f, t0 + 20000);
	assert_int_equal(f->nsent, REG_TRIES + 1);
	for (i = 0; i < REG_TRIES; i++) {
		/* Counters from 0, each once; 20 zero bytes under k_rc. */
		assert_int_equal(f->sent[i][0], SC_UDP_REGISTER);
		assert_true(util_get_be64(f->sent[i] + 1) == REG_ID);
		assert_true(util_get_be64(f->sent[i] + 9) == i);
		assert_int_equal(sc_reg_open(plain, f->keys.c2s, f->sent[i],
		    SC_REG_LEN), 0);
		assert_memory_equal(plain, zero, sizeof(zero));
		assert_true(f->sent_at[i] == t0 + 500 * i);
	}
	/* Unanswered: then one per keepalive. */
	assert_true(f->sent_at[REG_TRIES] == t0 + 500 * (REG_TRIES - 1) +
	    15000);
	assert_int_equal(reg_registered(f->reg), 0);
	/* The same reg_id again changes nothing. */
	start(f);
	assert_int_equal(f->nsent, REG_TRIES + 1);
}

static void
test_reg_registered_stops_retries_and_teaches_the_mapping(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_REG_LEN];
	struct sc_cand	 pub;
	uint64_t	 t0 = fake_now;

	start(f);
	advance(f, t0 + 1000);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(reg_public(f->reg, &pub), -1);
	registered(f, d, REG_ID, 1, "203.0.113.7", 40000);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), 0);
	assert_int_equal(reg_registered(f->reg), 1);
	assert_int_equal(f->registered, 1);
	assert_int_equal(reg_public(f->reg, &pub), 0);
	assert_int_equal(pub.af, SC_AF_INET);
	assert_int_equal(pub.addr[0], 203);
	assert_int_equal(pub.port, 40000);
	/* No more retries: the next one after 15 s of silence. */
	assert_true(reg_next(f->reg) == t0 + 1000 + 15000);
	advance(f, t0 + 10000);
	reg_sent(f->reg);
	advance(f, t0 + 24999);
	assert_int_equal(f->nsent, 3);
	advance(f, t0 + 25000);
	assert_int_equal(f->nsent, 4);
	/* A later answer with a new mapping moves it; no second call. */
	registered(f, d, REG_ID, 3, "203.0.113.7", 40001);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), 0);
	assert_int_equal(reg_public(f->reg, &pub), 0);
	assert_int_equal(pub.port, 40001);
	assert_int_equal(f->registered, 1);
	/* reg_now: one at once, not two in a row. */
	advance(f, t0 + 26000);
	reg_now(f->reg);
	reg_now(f->reg);
	assert_int_equal(f->nsent, 5);
}

static void
test_reg_bad_registered_dropped_and_counted(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_REG_LEN], plain[SC_REG_PLAIN];
	struct sc_cand	 c;

	/* Before any UDPREG. */
	registered(f, d, REG_ID, 0, "203.0.113.7", 40000);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	start(f);
	advance(f, fake_now + 1000);		/* counters 0, 1, 2 sent */
	/* Wrong length, wrong first byte, wrong reg_id. */
	registered(f, d, REG_ID, 1, "203.0.113.7", 40000);
	assert_int_equal(reg_input(f->reg, d, sizeof(d) - 1), -1);
	d[0] = SC_UDP_REGISTER;
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	registered(f, d, REG_ID + 1, 1, "203.0.113.7", 40000);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	/* A counter never sent. */
	registered(f, d, REG_ID, 3, "203.0.113.7", 40000);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	/* Forged: a flipped byte; sealed with the client's key. */
	registered(f, d, REG_ID, 1, "203.0.113.7", 40000);
	d[30] ^= 1;
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	memset(plain, 0, sizeof(plain));
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTERED, f->keys.c2s,
	    REG_ID, 1, plain), 0);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	/* A byte after the endpoint; an unknown family; port 0. */
	memset(&c, 0, sizeof(c));
	c.af = SC_AF_INET;
	c.addr[0] = 203;
	c.port = 1;
	wire_endpoint_put(plain, &c);
	plain[SC_ENDPOINT_BYTES] = 1;
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTERED, f->keys.s2c,
	    REG_ID, 1, plain), 0);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	plain[SC_ENDPOINT_BYTES] = 0;
	plain[0] = 5;
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTERED, f->keys.s2c,
	    REG_ID, 1, plain), 0);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	registered(f, d, REG_ID, 1, "203.0.113.7", 0);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	assert_int_equal(reg_registered(f->reg), 0);
	assert_int_equal(reg_stats(f->reg)->drop, 10);
	/* The good one for counter 2, then an older one: dropped. */
	registered(f, d, REG_ID, 2, "203.0.113.7", 40000);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), 0);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	registered(f, d, REG_ID, 1, "198.51.100.1", 40000);
	assert_int_equal(reg_input(f->reg, d, sizeof(d)), -1);
	assert_int_equal(reg_public(f->reg, &c), 0);
	assert_int_equal(c.addr[0], 203);
	assert_int_equal(reg_stats(f->reg)->rx_ok, 1);
}

static void
test_reg_server_endpoint_must_be_usable(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin = f->server;
	union path_sa		 a;

	assert_int_equal(reg_server(f->reg, &a), 0);
	sin.sin_port = 0;
	assert_int_equal(reg_start(f->reg, (struct sockaddr *)&sin,
	    sizeof(sin), REG_ID, f->k_reg, 1), -1);
	assert_int_equal(reg_relay(f->reg), 0);
	start(f);
	assert_int_equal(reg_server(f->reg, &a), sizeof(f->server));
	assert_memory_equal(&a.sin, &f->server, sizeof(f->server));
	assert_int_equal(reg_relay(f->reg), 1);
}

static void
test_reg_hosts_bound_address_or_interfaces(void **state)
{
	struct sc_cand		 h[SC_HOST_MAX];
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	size_t			 n, i;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4000);
	/* Bound to one address: that address, loopback only if allowed. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(reg_hosts((struct sockaddr *)&sin, 0, h), 0);
	assert_int_equal(reg_hosts((struct sockaddr *)&sin, 1, h), 1);
	assert_int_equal(h[0].kind, SC_CAND_HOST);
	assert_int_equal(h[0].af, SC_AF_INET);
	assert_int_equal(h[0].addr[0], 127);
	sin.sin_addr.s_addr = htonl(0xc0000207);
	assert_int_equal(reg_hosts((struct sockaddr *)&sin, 0, h), 1);
	sin.sin_addr.s_addr = htonl(0xa9fe0101);	/* link-local */
	assert_int_equal(reg_hosts((struct sockaddr *)&sin, 1, h), 0);
	/* A wildcard: the interfaces, never loopback unless allowed. */
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	n = reg_hosts((struct sockaddr *)&sin, 0, h);
	assert_true(n <= SC_HOST_MAX);
	for (i = 0; i < n; i++) {
		assert_int_equal(h[i].af, SC_AF_INET);
		assert_true(h[i].addr[0] != 127 && h[i].addr[0] != 0);
		assert_false(h[i].addr[0] == 169 && h[i].addr[1] == 254);
	}
	n = reg_hosts((struct sockaddr *)&sin, 1, h);
	for (i = 0; i < n; i++)
		if (h[i].addr[0] == 127)
			break;
	assert_true(i < n || n == SC_HOST_MAX);
	/* IPv6: no link-local, no loopback unless allowed. */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	n = reg_hosts((struct sockaddr *)&sin6, 0, h);
	for (i = 0; i < n; i++) {
		assert_int_equal(h[i].af, SC_AF_INET6);
		assert_false(h[i].addr[0] == 0xfe &&
		    (h[i].addr[1] & 0xc0) == 0x80);
		assert_true(memcmp(h[i].addr, &in6addr_loopback, 16) != 0);
	}
	sin6.sin6_addr = in6addr_loopback;
	assert_int_equal(reg_hosts((struct sockaddr *)&sin6, 0, h), 0);
	assert_int_equal(reg_hosts((struct sockaddr *)&sin6, 1, h), 1);
}

/* Runs the registration tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, fixture_setup, \
		    fixture_teardown)
		T(test_reg_register_at_once_then_every_500ms_ten_times),
		T(test_reg_registered_stops_retries_and_teaches_the_mapping),
		T(test_reg_bad_registered_dropped_and_counted),
		T(test_reg_server_endpoint_must_be_usable),
		T(test_reg_hosts_bound_address_or_interfaces),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
