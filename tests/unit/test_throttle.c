/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/server/throttle.c: unauthenticated connections per
 * address, failed-login backoff per address and per account, decay, the
 * bound on the failure table, token buckets and the rate per address.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sealchat/crypto.h"
#include "throttle.h"

/* An address from text (IPv4 or IPv6). */
static struct throttle_addr
addr(const char *text)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	struct throttle_addr	a;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, text, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		throttle_addr_from(&a, (struct sockaddr *)&sin);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
		sin6.sin6_family = AF_INET6;
		throttle_addr_from(&a, (struct sockaddr *)&sin6);
	}
	return (a);
}

static void
test_unauth_capped_per_address_and_released(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("192.0.2.1"), b = addr("192.0.2.2");

	(void)state;
	assert_int_equal(throttle_unauth_add(l, &a, 2), 0);
	assert_int_equal(throttle_unauth_add(l, &a, 2), 0);
	assert_int_equal(throttle_unauth_add(l, &a, 2), -1);
	assert_int_equal(throttle_unauth_count(l, &a), 2);
	assert_int_equal(throttle_unauth_add(l, &b, 2), 0);
	throttle_unauth_del(l, &a);
	assert_int_equal(throttle_unauth_add(l, &a, 2), 0);
	throttle_unauth_del(l, &a);
	throttle_unauth_del(l, &a);
	throttle_unauth_del(l, &a);	/* one too many: harmless */
	assert_int_equal(throttle_unauth_count(l, &a), 0);
	assert_int_equal(throttle_unauth_count(l, &b), 1);
	throttle_free(l);
}

static void
test_mapped_ipv4_counts_as_ipv4_and_ipv6_as_its_64(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 v4 = addr("198.51.100.7");
	struct throttle_addr	 mapped = addr("::ffff:198.51.100.7");
	struct throttle_addr	 h1 = addr("2001:db8:1:2::1");
	struct throttle_addr	 h2 = addr("2001:db8:1:2:ffff::9");
	struct throttle_addr	 other = addr("2001:db8:1:3::1");

	(void)state;
	assert_int_equal(mapped.af, 4);
	assert_int_equal(throttle_unauth_add(l, &v4, 1), 0);
	assert_int_equal(throttle_unauth_add(l, &mapped, 1), -1);
	assert_int_equal(throttle_unauth_add(l, &h1, 1), 0);
	assert_int_equal(throttle_unauth_add(l, &h2, 1), -1);
	assert_int_equal(throttle_unauth_add(l, &other, 1), 0);
	throttle_free(l);
}

static void
test_delay_starts_after_fail_free_and_doubles_to_8s(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("203.0.113.5");
	uint64_t		 now = 1000000;
	int			 i;

	(void)state;
	throttle_configure(l, 250, 3);
	assert_int_equal(throttle_fail_delay(l, &a, "eve", now), 0);
	for (i = 0; i < 2; i++)
		throttle_fail_record(l, &a, "eve", now);
	assert_int_equal(throttle_fail_delay(l, &a, "eve", now), 0);
	throttle_fail_record(l, &a, "eve", now);
	assert_int_equal(throttle_fail_delay(l, &a, "eve", now), 250);
	throttle_fail_record(l, &a, "eve", now);
	assert_int_equal(throttle_fail_delay(l, &a, "eve", now), 500);
	throttle_fail_record(l, &a, "eve", now);
	assert_int_equal(throttle_fail_delay(l, &a, "eve", now), 1000);
	for (i = 0; i < 40; i++)
		throttle_fail_record(l, &a, "eve", now);
	assert_int_equal(throttle_fail_delay(l, &a, "eve", now),
	    THROTTLE_DELAY_MAX_MS);
	throttle_free(l);
}

static void
test_account_and_address_count_separately(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("203.0.113.5");
	struct throttle_addr	 b = addr("203.0.113.6");
	uint64_t		 now = 5000;
	int			 i;

	(void)state;
	throttle_configure(l, 100, 2);
	for (i = 0; i < 3; i++)
		throttle_fail_record(l, &a, "victim", now);
	/* Another address guessing the same account is slowed too. */
	assert_int_equal(throttle_fail_delay(l, &b, "victim", now), 200);
	/* The same address trying another account is slowed too. */
	assert_int_equal(throttle_fail_delay(l, &a, "other", now), 200);
	/* Unrelated address and account: no delay. */
	assert_int_equal(throttle_fail_delay(l, &b, "other", now), 0);
	/* A good login clears the account, not the address. */
	throttle_fail_forget(l, "victim");
	assert_int_equal(throttle_fail_delay(l, &b, "victim", now), 0);
	assert_int_equal(throttle_fail_delay(l, &a, "victim", now), 200);
	throttle_free(l);
}

static void
test_failures_decay_with_time(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("192.0.2.9");
	uint64_t		 now = 0;
	int			 i;

	(void)state;
	throttle_configure(l, 100, 1);
	for (i = 0; i < 4; i++)
		throttle_fail_record(l, &a, "kim", now);
	assert_int_equal(throttle_fail_delay(l, &a, "kim", now), 800);
	now += THROTTLE_DECAY_MS - 1;
	assert_int_equal(throttle_fail_delay(l, &a, "kim", now), 800);
	now += 1;
	assert_int_equal(throttle_fail_delay(l, &a, "kim", now), 400);
	now += 2 * THROTTLE_DECAY_MS;
	assert_int_equal(throttle_fail_delay(l, &a, "kim", now), 100);
	now += 10 * THROTTLE_DECAY_MS;
	assert_int_equal(throttle_fail_delay(l, &a, "kim", now), 0);
	/* Fully decayed entries are dropped. */
	assert_int_equal(throttle_fail_entries(l), 0);
	throttle_free(l);
}

static void
test_failure_table_bounded_oldest_evicted(void **state)
{
	struct throttle		*l = throttle_new(8);
	struct throttle_addr	 a;
	char			 name[16], text[32];
	int			 i, j;

	(void)state;
	throttle_configure(l, 100, 1);
	for (i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "10.0.%d.%d", i / 250, i % 250);
		snprintf(name, sizeof(name), "user%d", i);
		a = addr(text);
		for (j = 0; j < 2; j++)
			throttle_fail_record(l, &a, name, 0);
		assert_true(throttle_fail_entries(l) <= 8);
	}
	/* The newest are still slowed, the oldest forgotten. */
	a = addr("10.0.0.99");
	assert_int_equal(throttle_fail_delay(l, &a, "user99", 0), 200);
	a = addr("10.0.0.0");
	assert_int_equal(throttle_fail_delay(l, &a, "user0", 0), 0);
	throttle_free(l);
}

static void
test_zero_delay_never_slows(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("192.0.2.1");
	int			 i;

	(void)state;
	throttle_configure(l, 0, 0);
	for (i = 0; i < 20; i++)
		throttle_fail_record(l, &a, "x", 0);
	assert_int_equal(throttle_fail_delay(l, &a, "x", 0), 0);
	throttle_free(NULL);
	throttle_free(l);
}

/*
 * The rate per address: a burst, then one more per 1/rate second; other
 * addresses are not touched; an IPv6 address counts as its /64.
 */
static void
test_rate_per_address_and_ipv6_per_64(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("192.0.2.1"), b = addr("192.0.2.2");
	struct throttle_addr	 v1 = addr("2001:db8:1:2::1");
	struct throttle_addr	 v2 = addr("2001:db8:1:2:ffff::9");
	struct throttle_addr	 v3 = addr("2001:db8:1:3::1");
	int			 i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(throttle_rate_take(l, &a, 2, 4, 1000), 0);
	assert_int_equal(throttle_rate_take(l, &a, 2, 4, 1000), -1);
	assert_int_equal(throttle_rate_take(l, &b, 2, 4, 1000), 0);
	assert_int_equal(throttle_rate_take(l, &a, 2, 4, 1499), -1);
	assert_int_equal(throttle_rate_take(l, &a, 2, 4, 1500), 0);
	assert_int_equal(throttle_rate_take(l, &a, 2, 4, 1500), -1);

	for (i = 0; i < 2; i++) {
		assert_int_equal(throttle_rate_take(l, &v1, 2, 4, 1000), 0);
		assert_int_equal(throttle_rate_take(l, &v2, 2, 4, 1000), 0);
	}
	assert_int_equal(throttle_rate_take(l, &v1, 2, 4, 1000), -1);
	assert_int_equal(throttle_rate_take(l, &v3, 2, 4, 1000), 0);
	throttle_free(l);
}

/*
 * However many other addresses come (more than the table has slots), an
 * address never gets more than its rate: its slot is taken over only once
 * its bucket is full again, and shared meanwhile.
 */
static void
test_rate_table_never_gives_more_than_the_rate(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("198.51.100.1"), o;
	uint32_t		 i;
	int			 got = 0;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(throttle_rate_take(l, &a, 2, 4, 5000), 0);
	memset(&o, 0, sizeof(o));
	o.af = 4;
	for (i = 0; i < 4 * THROTTLE_RATE_SLOTS; i++) {
		o.b[0] = 10;
		o.b[1] = (uint8_t)(i >> 16);
		o.b[2] = (uint8_t)(i >> 8);
		o.b[3] = (uint8_t)i;
		(void)throttle_rate_take(l, &o, 2, 4, 5000);
		if (throttle_rate_take(l, &a, 2, 4, 5000) == 0)
			got++;
	}
	assert_int_equal(got, 0);
	/* Idle for the burst's refill: the full burst again. */
	for (i = 0; i < 4; i++)
		assert_int_equal(throttle_rate_take(l, &a, 2, 4, 7000), 0);
	throttle_free(l);
}

/* libsodium first: the rate table's key is random. */
static int
group_setup(void **state)
{
	(void)state;
	return (sc_crypto_init());
}

/* Runs every test of this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unauth_capped_per_address_and_released),
		cmocka_unit_test(
		    test_mapped_ipv4_counts_as_ipv4_and_ipv6_as_its_64),
		cmocka_unit_test(
		    test_delay_starts_after_fail_free_and_doubles_to_8s),
		cmocka_unit_test(test_account_and_address_count_separately),
		cmocka_unit_test(test_failures_decay_with_time),
		cmocka_unit_test(test_failure_table_bounded_oldest_evicted),
		cmocka_unit_test(test_zero_delay_never_slows),
		cmocka_unit_test(test_rate_per_address_and_ipv6_per_64),
		cmocka_unit_test(
		    test_rate_table_never_gives_more_than_the_rate),
	};

	return (cmocka_run_group_tests(tests, group_setup, NULL));
}
