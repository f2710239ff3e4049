/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/server/throttle.c: connections per address (open, not
 * logged in, without HELLO, and whose connection makes room), the IPv6
 * grouping, logins in progress and sign-ups per address, failed-login
 * slowing per address and per account with its lines, decay, the bound on
 * the failure table, token buckets and the rate per address (grouped as
 * the other limits).
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
#include "sealchat/proto.h"
#include "throttle.h"

#define NOW	1000000		/* a time well after 0, in ms */

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

/* A throttle with the delay parameters given and room for many attempts. */
static struct throttle *
throttle(uint64_t delay_ms, unsigned fail_free)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_conf	 c;

	assert_non_null(l);
	memset(&c, 0, sizeof(c));
	c.fail_delay_ms = delay_ms;
	c.fail_free = fail_free;
	c.v6_prefix = 64;
	c.logins_per_addr = 1000;
	c.signups_per_hour = 1000;
	throttle_configure(l, &c);
	return (l);
}

/* One AUTH that fails: begun, then ended; returns the wait it was given. */
static uint64_t
failed(struct throttle *l, const struct throttle_addr *a, const char *name,
    uint64_t now)
{
	uint64_t	wait = 0;

	assert_int_equal(throttle_login_begin(l, a, SC_MSG_AUTH, name, now,
	    &wait), THROTTLE_GO);
	throttle_login_end(l, a, SC_MSG_AUTH, name, THROTTLE_FAILED, now);
	return (wait);
}

/* One AUTH begun and left in progress; returns its wait. */
static uint64_t
begin(struct throttle *l, const struct throttle_addr *a, const char *name,
    uint64_t now)
{
	uint64_t	wait = 0;

	assert_int_equal(throttle_login_begin(l, a, SC_MSG_AUTH, name, now,
	    &wait), THROTTLE_GO);
	return (wait);
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
test_ipv6_prefix_is_configurable_and_grouping_exported(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_conf	 c;
	struct throttle_addr	 a = addr("2001:db8:1:2::1");
	struct throttle_addr	 b = addr("2001:db8:1:3::1");
	struct throttle_addr	 g, want = addr("2001:db8:1::");
	struct throttle_addr	 w60 = addr("2001:db8:1:abc0::");

	(void)state;
	/* The exported grouping: /48 and /60, IPv4 untouched. */
	throttle_addr_group(&g, &a, 48);
	assert_memory_equal(&g, &want, sizeof(g));
	a = addr("2001:db8:1:abcd::7");
	throttle_addr_group(&g, &a, 60);
	assert_memory_equal(&g, &w60, sizeof(g));
	want = addr("192.0.2.77");
	throttle_addr_group(&g, &want, 8);
	assert_memory_equal(&g, &want, sizeof(g));

	/* Two /64s of one /48 count as one address under a /48 grouping. */
	a = addr("2001:db8:1:2::1");
	memset(&c, 0, sizeof(c));
	c.v6_prefix = 48;
	c.logins_per_addr = 8;
	c.signups_per_hour = 8;
	throttle_configure(l, &c);
	assert_int_equal(throttle_v6_prefix(l), 48);
	assert_int_equal(throttle_unauth_add(l, &a, 1), 0);
	assert_int_equal(throttle_unauth_add(l, &b, 1), -1);
	/* While something is counted, the grouping cannot change. */
	c.v6_prefix = 64;
	throttle_configure(l, &c);
	assert_int_equal(throttle_v6_prefix(l), 48);
	throttle_unauth_del(l, &a);
	throttle_configure(l, &c);
	assert_int_equal(throttle_v6_prefix(l), 64);
	assert_int_equal(throttle_unauth_add(l, &a, 1), 0);
	assert_int_equal(throttle_unauth_add(l, &b, 1), 0);
	throttle_free(l);
}

static void
test_sessions_capped_per_address(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("198.51.100.1");
	struct throttle_addr	 b = addr("198.51.100.2");
	int			 i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(throttle_session_add(l, &a, 3), 0);
	assert_int_equal(throttle_session_add(l, &a, 3), -1);
	assert_int_equal(throttle_session_add(l, &b, 3), 0);
	assert_int_equal(throttle_session_count(l, &a), 3);
	throttle_session_del(l, &a);
	assert_int_equal(throttle_session_add(l, &a, 3), 0);
	for (i = 0; i < 4; i++)
		throttle_session_del(l, &a);	/* one too many: harmless */
	assert_int_equal(throttle_session_count(l, &a), 0);
	assert_int_equal(throttle_session_count(l, &b), 1);
	throttle_free(l);
}

/*
 * The connection that makes room is the oldest without HELLO of the
 * address holding the most connections not logged in; a connection off
 * the list (it sent its HELLO) is never picked.
 */
static void
test_idle_victim_is_oldest_of_the_address_holding_most(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_addr	 a = addr("192.0.2.1"), b = addr("192.0.2.2");
	struct throttle_slot	 sa[3], sb[2];
	int			 i;

	(void)state;
	memset(sa, 0, sizeof(sa));
	memset(sb, 0, sizeof(sb));
	assert_null(throttle_idle_victim(l));
	/* No entry yet: nothing to list under. */
	assert_int_equal(throttle_idle_add(l, &sa[0], &a), -1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(throttle_unauth_add(l, &b, 10), 0);
		assert_int_equal(throttle_idle_add(l, &sb[i], &b), 0);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(throttle_unauth_add(l, &a, 10), 0);
		assert_int_equal(throttle_idle_add(l, &sa[i], &a), 0);
	}
	assert_ptr_equal(throttle_idle_victim(l), &sa[0]);
	/* sa[0] sent its HELLO: off the list, the next oldest goes. */
	throttle_idle_del(l, &sa[0]);
	throttle_idle_del(l, &sa[0]);
	assert_ptr_equal(throttle_idle_victim(l), &sa[1]);
	/* b holds more connections not logged in now: its oldest goes. */
	assert_int_equal(throttle_unauth_add(l, &b, 10), 0);
	assert_int_equal(throttle_unauth_add(l, &b, 10), 0);
	assert_ptr_equal(throttle_idle_victim(l), &sb[0]);
	throttle_idle_del(l, &sb[0]);
	throttle_idle_del(l, &sb[1]);
	assert_ptr_equal(throttle_idle_victim(l), &sa[1]);
	throttle_idle_del(l, &sa[1]);
	throttle_idle_del(l, &sa[2]);
	assert_null(throttle_idle_victim(l));
	/* Freeing with slots still listed takes them off. */
	assert_int_equal(throttle_idle_add(l, &sa[2], &a), 0);
	throttle_free(l);
	assert_null(sa[2].host);
}

static void
test_delay_starts_after_fail_free_and_doubles_to_8s(void **state)
{
	struct throttle		*l = throttle(250, 3);
	struct throttle_addr	 a = addr("203.0.113.5");
	uint64_t		 now = NOW;
	int			 i;

	(void)state;
	/* Each attempt after the last one ended: the wait of its count. */
	for (i = 0; i < 3; i++)
		assert_int_equal(failed(l, &a, "eve", now), 0);
	assert_int_equal(failed(l, &a, "eve", now), 250);
	now += 250;
	assert_int_equal(failed(l, &a, "eve", now), 500);
	now += 500;
	assert_int_equal(throttle_fail_delay(l, &a, "eve", now), 1000);
	for (i = 0; i < 40; i++) {
		(void)failed(l, &a, "eve", now);
		now += THROTTLE_DELAY_MAX_MS;
	}
	assert_int_equal(throttle_fail_delay(l, &a, "eve", now),
	    THROTTLE_DELAY_MAX_MS);
	throttle_free(l);
}

/*
 * Attempts against one account that arrive together wait in line, at least
 * one delay apart, however many connections they use; past the longest
 * line they are refused at once and count nothing.
 */
static void
test_parallel_attempts_wait_in_line(void **state)
{
	struct throttle		*l = throttle(1000, 0);
	struct throttle_addr	 a = addr("203.0.113.9");
	uint64_t		 wait, prev = 0;
	size_t			 n = 0;

	(void)state;
	for (;;) {
		if (throttle_login_begin(l, &a, SC_MSG_AUTH, "guessed", NOW,
		    &wait) != THROTTLE_GO)
			break;
		assert_true(wait >= prev + 1000);
		prev = wait;
		n++;
	}
	assert_true(n >= 3 && n <= 16);
	assert_true(prev <= THROTTLE_LINE_MAX_MS);
	assert_int_equal(throttle_login_count(l, &a), n);
	assert_int_equal(throttle_login_begin(l, &a, SC_MSG_AUTH, "guessed",
	    NOW, &wait), THROTTLE_LINE);
	assert_int_equal(throttle_login_count(l, &a), n);
	throttle_free(l);
}

/*
 * From an address that has failed, attempts for different accounts that
 * arrive together wait in the address's line, one delay apart; before it
 * has failed, they go at once (many users behind one NAT).
 */
static void
test_address_line_after_failures_only(void **state)
{
	struct throttle		*l = throttle(500, 1);
	struct throttle_addr	 a = addr("203.0.113.30");
	char			 name[16];
	uint64_t		 w;
	int			 i;

	(void)state;
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "office%d", i);
		assert_int_equal(begin(l, &a, name, NOW), 0);
	}
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "office%d", i);
		throttle_login_end(l, &a, SC_MSG_AUTH, name, THROTTLE_OK, NOW);
	}
	assert_int_equal(failed(l, &a, "typo", NOW), 0);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "spray%d", i);
		w = begin(l, &a, name, NOW);
		assert_int_equal(w, 500 * (uint64_t)(i + 1));
	}
	throttle_free(l);
}

/*
 * An account's failures slow every address that has failed, in one line;
 * an address with no failure on record goes past that line (the owner is
 * not locked out), but is slowed as soon as it fails.
 */
static void
test_account_line_spans_addresses_clean_address_goes_past(void **state)
{
	struct throttle		*l = throttle(100, 1);
	struct throttle_addr	 a[4], owner = addr("198.51.100.200");
	char			 text[32];
	uint64_t		 w, prev = 0;
	int			 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "203.0.113.%d", 10 + i);
		a[i] = addr(text);
		/* The first from each address has no failure on record. */
		assert_int_equal(failed(l, &a[i], "victim", NOW), 0);
	}
	/* Each address has failed once: all wait in the account's line. */
	for (i = 0; i < 4; i++) {
		w = begin(l, &a[i], "victim", NOW);
		assert_true(w > prev);
		prev = w;
	}
	/* The owner, from an address that never failed: no wait. */
	assert_int_equal(throttle_fail_delay(l, &owner, "victim", NOW), 0);
	w = begin(l, &owner, "victim", NOW);
	assert_int_equal(w, 0);
	/* With that one in progress, the next one waits in the line. */
	assert_true(throttle_fail_delay(l, &owner, "victim", NOW) > prev);
	/* Another account from a failed address waits the address's line. */
	assert_int_equal(throttle_fail_delay(l, &a[0], "other", NOW), 200);
	throttle_free(l);
}

/*
 * An address the account has logged in from goes past the account's line
 * even with a failure of its own on record (a typo, a login given up);
 * another account's good address does not.
 */
static void
test_address_with_a_good_login_goes_past_the_account_line(void **state)
{
	struct throttle		*l = throttle(100, 2);
	struct throttle_addr	 a[4], owner = addr("198.51.100.77");
	char			 text[32];
	int			 i;

	(void)state;
	(void)begin(l, &owner, "victim", NOW);
	throttle_login_end(l, &owner, SC_MSG_AUTH, "victim", THROTTLE_OK,
	    NOW);
	(void)failed(l, &owner, "victim", NOW);
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "203.0.113.%d", 40 + i);
		a[i] = addr(text);
		(void)failed(l, &a[i], "victim", NOW);
		(void)begin(l, &a[i], "victim", NOW);
	}
	assert_true(throttle_fail_delay(l, &a[0], "victim", NOW) > 1000);
	assert_int_equal(throttle_fail_delay(l, &owner, "victim", NOW), 0);
	assert_int_equal(begin(l, &owner, "victim", NOW), 0);
	/* The good login is the victim's, not every account's. */
	(void)failed(l, &a[0], "other", NOW);
	(void)begin(l, &a[1], "other", NOW);
	assert_true(throttle_fail_delay(l, &owner, "other", NOW) > 0);
	throttle_free(l);
}

/*
 * An attempt counts for its account when it begins, for its address when
 * it fails: a success or a server error takes the account's count back, a
 * failure and a client that left count for the address.
 */
static void
test_attempt_counts_at_begin_success_takes_it_back(void **state)
{
	struct throttle		*l = throttle(100, 1);
	struct throttle_addr	 a = addr("192.0.2.50"), b = addr("192.0.2.51");
	uint64_t		 w;

	(void)state;
	w = begin(l, &a, "ann", NOW);
	assert_int_equal(w, 0);
	/* Counted before it returned: the next one for ann already waits. */
	assert_int_equal(throttle_fail_delay(l, &a, "ann", NOW), 100);
	throttle_login_end(l, &a, SC_MSG_AUTH, "ann", THROTTLE_OK, NOW);
	assert_int_equal(throttle_fail_delay(l, &a, "ann", NOW), 0);
	assert_int_equal(throttle_login_count(l, &a), 0);

	(void)begin(l, &a, "ann", NOW);
	throttle_login_end(l, &a, SC_MSG_AUTH, "ann", THROTTLE_VOID, NOW);
	assert_int_equal(throttle_fail_delay(l, &a, "ann", NOW), 0);

	/* A client that hangs up has failed, for its address too. */
	(void)begin(l, &b, "nobody1", NOW);
	throttle_login_end(l, &b, SC_MSG_AUTH, "nobody1", THROTTLE_GONE,
	    NOW);
	assert_int_equal(throttle_fail_delay(l, &b, "nobody2", NOW), 100);
	assert_int_equal(throttle_login_count(l, &b), 0);
	throttle_free(l);
}

/* At most logins_per_addr attempts in progress per address. */
static void
test_logins_in_progress_capped_per_address(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_conf	 c;
	struct throttle_addr	 a = addr("192.0.2.60"), b = addr("192.0.2.61");
	uint64_t		 w;
	char			 name[16];
	int			 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.v6_prefix = 64;
	c.logins_per_addr = 3;
	c.signups_per_hour = 100;
	throttle_configure(l, &c);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(throttle_login_begin(l, &a, SC_MSG_AUTH, name,
		    NOW, &w), THROTTLE_GO);
	}
	assert_int_equal(throttle_login_begin(l, &a, SC_MSG_SIGN, "n9", NOW,
	    &w), THROTTLE_BUSY);
	assert_int_equal(throttle_login_begin(l, &b, SC_MSG_AUTH, "n9", NOW,
	    &w), THROTTLE_GO);
	throttle_login_end(l, &a, SC_MSG_AUTH, "n0", THROTTLE_OK, NOW);
	assert_int_equal(throttle_login_begin(l, &a, SC_MSG_AUTH, "n9", NOW,
	    &w), THROTTLE_GO);
	throttle_free(l);
}

/*
 * Sign-ups per address per hour: only an account made uses one up, and
 * one comes back every hour / signups_per_hour.
 */
static void
test_signups_per_hour_per_address(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_conf	 c;
	struct throttle_addr	 a = addr("192.0.2.70"), b = addr("192.0.2.71");
	uint64_t		 w, now = NOW;
	int			 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.fail_delay_ms = 250;
	c.fail_free = 3;
	c.v6_prefix = 64;
	c.logins_per_addr = 100;
	c.signups_per_hour = 4;
	throttle_configure(l, &c);
	for (i = 0; i < 4; i++) {
		assert_int_equal(throttle_login_begin(l, &a, SC_MSG_SIGN, "x",
		    now, &w), THROTTLE_GO);
		assert_int_equal(w, 0);
		throttle_login_end(l, &a, SC_MSG_SIGN, "x", i == 0 ?
		    THROTTLE_FAILED : THROTTLE_OK, now);
	}
	/* One name was taken: that one did not count. */
	assert_int_equal(throttle_login_begin(l, &a, SC_MSG_SIGN, "y", now,
	    &w), THROTTLE_GO);
	throttle_login_end(l, &a, SC_MSG_SIGN, "y", THROTTLE_OK, now);
	assert_int_equal(throttle_login_begin(l, &a, SC_MSG_SIGN, "z", now,
	    &w), THROTTLE_SIGNUPS);
	assert_int_equal(throttle_login_begin(l, &b, SC_MSG_SIGN, "z", now,
	    &w), THROTTLE_GO);
	throttle_login_end(l, &b, SC_MSG_SIGN, "z", THROTTLE_OK, now);
	/* A quarter of an hour later one is back. */
	now += 3600 * 1000 / 4;
	assert_int_equal(throttle_login_begin(l, &a, SC_MSG_SIGN, "z", now,
	    &w), THROTTLE_GO);
	/* Sign-ups are not failed logins. */
	assert_int_equal(throttle_fail_delay(l, &a, "z", now), 0);
	throttle_free(l);
}

static void
test_failures_decay_with_time(void **state)
{
	struct throttle		*l = throttle(100, 1);
	struct throttle_addr	 a = addr("192.0.2.9");
	uint64_t		 now = NOW;
	int			 i;

	(void)state;
	/* Four failures, each after its wait: 0, 100, 200 and 400 ms. */
	for (i = 0; i < 4; i++)
		now += failed(l, &a, "kim", now);
	assert_int_equal(now, NOW + 700);
	assert_int_equal(throttle_fail_delay(l, &a, "kim", now), 800);
	now = NOW + THROTTLE_DECAY_MS - 1;
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
	struct throttle_conf	 c;
	struct throttle_addr	 a;
	char			 name[16], text[32];
	uint64_t		 now = NOW;
	int			 i, j;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.fail_delay_ms = 100;
	c.fail_free = 1;
	c.v6_prefix = 64;
	c.logins_per_addr = 100;
	c.signups_per_hour = 100;
	throttle_configure(l, &c);
	for (i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "10.0.%d.%d", i / 250, i % 250);
		snprintf(name, sizeof(name), "user%d", i);
		a = addr(text);
		for (j = 0; j < 2; j++) {
			(void)failed(l, &a, name, now);
			now += 1000;
		}
		assert_true(throttle_fail_entries(l) <= 8);
	}
	/* The newest are still slowed, the oldest forgotten. */
	a = addr("10.0.0.99");
	assert_int_equal(throttle_fail_delay(l, &a, "user99", now), 200);
	a = addr("10.0.0.0");
	assert_int_equal(throttle_fail_delay(l, &a, "user0", now), 0);
	throttle_free(l);
}

static void
test_zero_delay_never_slows(void **state)
{
	struct throttle		*l = throttle(0, 0);
	struct throttle_addr	 a = addr("192.0.2.1");
	int			 i;

	(void)state;
	for (i = 0; i < 20; i++)
		assert_int_equal(failed(l, &a, "x", NOW), 0);
	assert_int_equal(throttle_fail_delay(l, &a, "x", NOW), 0);
	throttle_free(NULL);
	throttle_free(l);
}

/*
 * The rate per address: a burst, then one more per 1/rate second; other
 * addresses are not touched; an IPv6 address counts as its /64 (the
 * default grouping).
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
 * The rate groups IPv6 as every other per-address limit does: under a /48
 * grouping, two /64s of one /48 share one bucket, and another /48 has its
 * own; under a /128 grouping, each address has its own.
 */
static void
test_rate_follows_the_configured_ipv6_prefix(void **state)
{
	struct throttle		*l = throttle_new(0);
	struct throttle_conf	 c;
	struct throttle_addr	 v1 = addr("2001:db8:1:2::1");
	struct throttle_addr	 v2 = addr("2001:db8:1:3::1");
	struct throttle_addr	 v3 = addr("2001:db8:2:2::1");
	int			 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.v6_prefix = 48;
	c.logins_per_addr = 8;
	c.signups_per_hour = 8;
	throttle_configure(l, &c);
	for (i = 0; i < 2; i++) {
		assert_int_equal(throttle_rate_take(l, &v1, 2, 4, 1000), 0);
		assert_int_equal(throttle_rate_take(l, &v2, 2, 4, 1000), 0);
	}
	assert_int_equal(throttle_rate_take(l, &v2, 2, 4, 1000), -1);
	assert_int_equal(throttle_rate_take(l, &v3, 2, 4, 1000), 0);
	throttle_free(l);

	l = throttle_new(0);
	c.v6_prefix = 128;
	throttle_configure(l, &c);
	v2 = addr("2001:db8:1:2::2");
	for (i = 0; i < 4; i++)
		assert_int_equal(throttle_rate_take(l, &v1, 2, 4, 1000), 0);
	assert_int_equal(throttle_rate_take(l, &v1, 2, 4, 1000), -1);
	assert_int_equal(throttle_rate_take(l, &v2, 2, 4, 1000), 0);
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
		    test_ipv6_prefix_is_configurable_and_grouping_exported),
		cmocka_unit_test(test_sessions_capped_per_address),
		cmocka_unit_test(
		    test_idle_victim_is_oldest_of_the_address_holding_most),
		cmocka_unit_test(
		    test_delay_starts_after_fail_free_and_doubles_to_8s),
		cmocka_unit_test(test_parallel_attempts_wait_in_line),
		cmocka_unit_test(test_address_line_after_failures_only),
		cmocka_unit_test(
		    test_account_line_spans_addresses_clean_address_goes_past),
		cmocka_unit_test(
		    test_address_with_a_good_login_goes_past_the_account_line),
		cmocka_unit_test(
		    test_attempt_counts_at_begin_success_takes_it_back),
		cmocka_unit_test(test_logins_in_progress_capped_per_address),
		cmocka_unit_test(test_signups_per_hour_per_address),
		cmocka_unit_test(test_failures_decay_with_time),
		cmocka_unit_test(test_failure_table_bounded_oldest_evicted),
		cmocka_unit_test(test_zero_delay_never_slows),
		cmocka_unit_test(test_rate_per_address_and_ipv6_per_64),
		cmocka_unit_test(test_rate_follows_the_configured_ipv6_prefix),
		cmocka_unit_test(
		    test_rate_table_never_gives_more_than_the_rate),
	};

	return (cmocka_run_group_tests(tests, group_setup, NULL));
}
