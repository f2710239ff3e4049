/* SPDX-License-Identifier: ISC */
/*
 * Throttle (throttle.c): the limits that keep one host from shutting the
 * others out.  Per address: the connections open, those not logged in
 * yet, the ones that have not even sent their HELLO (so that a full table
 * can make room fairly), the login attempts in progress and the sign-ups
 * per hour.  Per address and per account: failed logins, with a decay,
 * which turn into a wait before the next attempt is checked.  Token
 * buckets for rates: one per address in a fixed table (the UDP
 * registrations of udp.c), and the bucket itself for limits kept
 * elsewhere (each session's relay allowance).
 *
 * Every per-address limit counts an IPv6 address as its prefix of
 * v6_prefix bits (a /64 by default: one host usually holds a whole /64);
 * an IPv4-mapped IPv6 address counts as the IPv4 address.  Every table is
 * bounded: the failure table evicts its least recently touched entry when
 * full; the per-address table holds one entry per address with a
 * connection open, so it is bounded by the connection caps; the rate
 * table has THROTTLE_RATE_SLOTS slots made at start (512 KiB) and never
 * grows.
 */
#ifndef SEALCHATD_THROTTLE_H
#define SEALCHATD_THROTTLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <bsd/sys/queue.h>

#define THROTTLE_ENTRIES_MAX	65536	/* failure entries, at most */
#define THROTTLE_DELAY_MAX_MS	8000	/* longest wait per failure */
#define THROTTLE_DECAY_MS	30000	/* one failure forgotten per */
#define THROTTLE_LINE_MAX_MS	16000	/* longest wait in a line */
#define THROTTLE_V6_PREFIX	64	/* default IPv6 grouping, in bits */
#define THROTTLE_RATE_SLOTS	16384	/* rate buckets by address */

/* An address as the throttle sees it: 4 or 16 bytes. */
struct throttle_addr {
	uint8_t	af;		/* 4 or 6; 0 when unknown */
	uint8_t	b[16];
};

struct throttle;
struct throttle_host;

/*
 * A connection that has not sent its HELLO yet, as a member of its
 * address's list (oldest first); embedded in the caller's object.  host is
 * NULL while it is on no list.
 */
struct throttle_slot {
	TAILQ_ENTRY(throttle_slot)	 entry;
	struct throttle_host		*host;
};

/* What the configuration sets; throttle_configure() copies it. */
struct throttle_conf {
	uint64_t	fail_delay_ms;	 /* first wait, doubling */
	unsigned	fail_free;	 /* failures before any wait */
	unsigned	v6_prefix;	 /* bits of an IPv6 address counted */
	unsigned	logins_per_addr; /* attempts in progress per address */
	unsigned	signups_per_hour; /* per address */
};

/* What throttle_login_begin() says. */
enum throttle_verdict {
	THROTTLE_GO = 0,	/* go, after *wait_ms */
	THROTTLE_BUSY,		/* too many attempts in progress (address) */
	THROTTLE_LINE,		/* the wait would be too long */
	THROTTLE_SIGNUPS,	/* no sign-up left this hour (address) */
};

/* How an attempt begun with throttle_login_begin() ended. */
enum throttle_outcome {
	THROTTLE_OK = 0,	/* logged in or signed up */
	THROTTLE_FAILED,	/* refused: wrong password, name taken... */
	THROTTLE_VOID,		/* the server failed: as if never tried */
	THROTTLE_GONE,		/* the client left before the answer */
};

/*
 * Fills a from a socket address (IPv4, IPv6, IPv4-mapped IPv6 folded to
 * IPv4).  Any other family gives af 0, which the throttle treats as one
 * address.
 */
void		 throttle_addr_from(struct throttle_addr *,
		    const struct sockaddr *);
/*
 * The address as every per-address limit counts it: IPv4 whole, IPv6 cut
 * to its first v6_prefix bits (1 to 128), the rest zero.  out may be in.
 */
void		 throttle_addr_group(struct throttle_addr *out,
		    const struct throttle_addr *in, unsigned v6_prefix);

/* A table set of at most max_entries failure entries (0: the default). */
struct throttle	*throttle_new(size_t max_entries);
void		 throttle_free(struct throttle *);	/* NULL-safe */
/*
 * Sets the parameters.  v6_prefix is taken only while no address is
 * counted (at start): entries made under one grouping stay under it.
 */
void		 throttle_configure(struct throttle *,
		    const struct throttle_conf *);
/* The IPv6 prefix in force, for other per-address limits. */
unsigned	 throttle_v6_prefix(const struct throttle *);

/* Counts one more open connection of the address; -1 at cap (no count). */
int		 throttle_session_add(struct throttle *,
		    const struct throttle_addr *, size_t cap);
/* Undoes one throttle_session_add(). */
void		 throttle_session_del(struct throttle *,
		    const struct throttle_addr *);
/* Open connections counted for the address. */
size_t		 throttle_session_count(struct throttle *,
		    const struct throttle_addr *);

/*
 * Counts one more connection not logged in from the address; -1 (and no
 * count) when the address already has cap of them or memory ran out.
 */
int		 throttle_unauth_add(struct throttle *,
		    const struct throttle_addr *, size_t cap);
/* Undoes one throttle_unauth_add(). */
void		 throttle_unauth_del(struct throttle *,
		    const struct throttle_addr *);
/* Connections not logged in counted for the address. */
size_t		 throttle_unauth_count(struct throttle *,
		    const struct throttle_addr *);

/*
 * Puts a connection that has not sent its HELLO on its address's list; the
 * address must hold an unauthenticated count.  -1 when it cannot (no
 * entry).
 */
int		 throttle_idle_add(struct throttle *, struct throttle_slot *,
		    const struct throttle_addr *);
/* Takes it off again (HELLO received, or closed); NULL-safe, idempotent. */
void		 throttle_idle_del(struct throttle *, struct throttle_slot *);
/*
 * The connection to close to make room for a newcomer: among the addresses
 * with a connection that has not sent its HELLO, the one holding the most
 * connections not logged in gives up its oldest such connection.  NULL
 * when no connection is without its HELLO.
 */
struct throttle_slot *throttle_idle_victim(struct throttle *);

/*
 * A SIGN or AUTH (op) from the address for the account name (canonical)
 * is about to be checked.  THROTTLE_GO with the wait in *wait_ms, and the
 * attempt counted as in progress for the address; an AUTH also counts as
 * a failure of the account until it succeeds (so parallel attempts slow
 * each other), a SIGN as a sign-up of the hour.  The wait: an address with
 * failures waits in its own line; an AUTH from such an address (or from
 * one with another attempt in progress) also waits in the account's line,
 * one attempt per delay, unless the account logged in from that address
 * before; an address with no failure on record goes past it too.  Any
 * other verdict counts nothing.
 */
enum throttle_verdict throttle_login_begin(struct throttle *,
		    const struct throttle_addr *, uint8_t op, const char *name,
		    uint64_t now_ms, uint64_t *wait_ms);
/*
 * Ends an attempt that throttle_login_begin() let go: a failure, or a
 * client gone, counts for the address; a success or a server error takes
 * the account's count back, and a success records that the account logs
 * in from the address; a SIGN that made no account gives its sign-up
 * back.
 */
void		 throttle_login_end(struct throttle *,
		    const struct throttle_addr *, uint8_t op, const char *name,
		    enum throttle_outcome, uint64_t now_ms);
/* Attempts in progress counted for the address. */
size_t		 throttle_login_count(struct throttle *,
		    const struct throttle_addr *);
/*
 * Milliseconds the next AUTH from the address for the account would wait
 * if it came now (0 when it would go at once); changes nothing.
 */
uint64_t	 throttle_fail_delay(struct throttle *,
		    const struct throttle_addr *, const char *name,
		    uint64_t now_ms);
/* Failure, sign-up and good-login entries held (all kinds together). */
size_t		 throttle_fail_entries(const struct throttle *);

/* Token buckets are util.h's (struct util_bucket). */

/*
 * Counts one event from the address (IPv6: its prefix of v6_prefix bits,
 * as every per-address limit) against rate a second with bursts of
 * burst: 0 when it is within, -1 when it is over.  The addresses share
 * THROTTLE_RATE_SLOTS buckets, chosen by a hash keyed with a secret made
 * at throttle_new(): an address whose slot holds another one takes the
 * slot over when that bucket is full again (idle), else it shares the
 * bucket, so an address never gets more than the rate.
 */
int		 throttle_rate_take(struct throttle *,
		    const struct throttle_addr *, uint64_t rate,
		    uint64_t burst, uint64_t now_ms);

#endif
