/* SPDX-License-Identifier: ISC */
/*
 * Throttle (throttle.c): the abuse limits.  Connections not yet logged in,
 * counted per address, and failed logins, counted per address and per
 * account with a decay, which turn into a delay before the next attempt is
 * checked.  Token buckets for rates: one per address in a fixed table
 * (the UDP registrations of udp.c), and the bucket itself for limits kept
 * elsewhere (each session's relay allowance).
 *
 * An IPv6 address counts as its /64 prefix (one host usually holds a whole
 * /64); an IPv4-mapped IPv6 address counts as the IPv4 address.  Every
 * table is bounded: the failure table evicts its least recently touched
 * entry when full; the unauthenticated table holds one entry per address
 * with a connection open, so it is bounded by the connection caps; the
 * rate table has THROTTLE_RATE_SLOTS slots made at start (512 KiB) and
 * never grows.
 */
#ifndef SEALCHATD_THROTTLE_H
#define SEALCHATD_THROTTLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define THROTTLE_ENTRIES_MAX	65536	/* failure entries, at most */
#define THROTTLE_DELAY_MAX_MS	8000	/* longest wait */
#define THROTTLE_DECAY_MS	30000	/* one failure forgotten per */
#define THROTTLE_RATE_SLOTS	16384	/* rate buckets by address */

/* An address as the throttle sees it: 4 or 16 bytes. */
struct throttle_addr {
	uint8_t	af;		/* 4 or 6; 0 when unknown */
	uint8_t	b[16];
};

struct throttle;

/*
 * Fills a from a socket address (IPv4, IPv6, IPv4-mapped IPv6 folded to
 * IPv4).  Any other family gives af 0, which the throttle treats as one
 * address.
 */
void		 throttle_addr_from(struct throttle_addr *,
		    const struct sockaddr *);

/* A table set of at most max_entries failure entries (0: the default). */
struct throttle	*throttle_new(size_t max_entries);
void		 throttle_free(struct throttle *);	/* NULL-safe */
/* Base delay in ms and the failures let through before slowing. */
void		 throttle_configure(struct throttle *, uint64_t fail_delay_ms,
		    unsigned fail_free);

/*
 * Counts one more unauthenticated connection from the address; -1 (and no
 * count) when the address already has cap of them or memory ran out.
 */
int		 throttle_unauth_add(struct throttle *,
		    const struct throttle_addr *, size_t cap);
/* Undoes one throttle_unauth_add(). */
void		 throttle_unauth_del(struct throttle *,
		    const struct throttle_addr *);
/* Unauthenticated connections counted for the address. */
size_t		 throttle_unauth_count(struct throttle *,
		    const struct throttle_addr *);

/*
 * Milliseconds the next login attempt from the address for the account
 * (canonical name, or NULL) must wait: the larger of the two delays, 0 when
 * neither has more than fail_free recent failures.
 */
uint64_t	 throttle_fail_delay(struct throttle *,
		    const struct throttle_addr *, const char *name,
		    uint64_t now_ms);
/* Records one failed login for the address and for the account. */
void		 throttle_fail_record(struct throttle *,
		    const struct throttle_addr *, const char *name,
		    uint64_t now_ms);
/* Clears the account's failures after a good login (the address keeps its). */
void		 throttle_fail_forget(struct throttle *, const char *name);
/* Failure entries held (address and account entries together). */
size_t		 throttle_fail_entries(const struct throttle *);

/* Token buckets are util.h's (struct util_bucket). */

/*
 * Counts one event from the address (IPv6: its /64) against rate a second
 * with bursts of burst: 0 when it is within, -1 when it is over.  The
 * addresses share THROTTLE_RATE_SLOTS buckets, chosen by a hash keyed with
 * a secret made at throttle_new(): an address whose slot holds another
 * one takes the slot over when that bucket is full again (idle), else it
 * shares the bucket, so an address never gets more than the rate.
 */
int		 throttle_rate_take(struct throttle *,
		    const struct throttle_addr *, uint64_t rate,
		    uint64_t burst, uint64_t now_ms);

#endif
