/*
 * Abuse limits (limits.c): connections not yet logged in, counted per
 * address, and failed logins, counted per address and per account with a
 * decay, which turn into a delay before the next attempt is checked.
 *
 * An IPv6 address counts as its /64 prefix (one host usually holds a whole
 * /64); an IPv4-mapped IPv6 address counts as the IPv4 address.  Every
 * table is bounded: the failure table evicts its least recently touched
 * entry when full; the unauthenticated table holds one entry per address
 * with a connection open, so it is bounded by the connection caps.
 */
#ifndef SEALCHATD_SCLIMITS_H
#define SEALCHATD_SCLIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define LIMITS_ENTRIES_MAX	65536	/* failure entries, at most */
#define LIMITS_DELAY_MAX_MS	8000	/* longest wait */
#define LIMITS_DECAY_MS		30000	/* one failure forgotten per */

/* An address as the limits see it: 4 or 16 bytes. */
struct limits_addr {
	uint8_t	af;		/* 4 or 6; 0 when unknown */
	uint8_t	b[16];
};

struct limits;

/*
 * Fills a from a socket address (IPv4, IPv6, IPv4-mapped IPv6 folded to
 * IPv4).  Any other family gives af 0, which all limits treat as one
 * address.
 */
void		 limits_addr_from(struct limits_addr *,
		    const struct sockaddr *);

/* A table set of at most max_entries failure entries (0: the default). */
struct limits	*limits_new(size_t max_entries);
void		 limits_free(struct limits *);	/* NULL-safe */
/* Base delay in ms and the failures let through before slowing. */
void		 limits_configure(struct limits *, uint64_t fail_delay_ms,
		    unsigned fail_free);

/*
 * Counts one more unauthenticated connection from the address; -1 (and no
 * count) when the address already has cap of them or memory ran out.
 */
int		 limits_unauth_add(struct limits *,
		    const struct limits_addr *, size_t cap);
/* Undoes one limits_unauth_add(). */
void		 limits_unauth_del(struct limits *,
		    const struct limits_addr *);
/* Unauthenticated connections counted for the address. */
size_t		 limits_unauth_count(struct limits *,
		    const struct limits_addr *);

/*
 * Milliseconds the next login attempt from the address for the account
 * (canonical name, or NULL) must wait: the larger of the two delays, 0 when
 * neither has more than fail_free recent failures.
 */
uint64_t	 limits_fail_delay(struct limits *, const struct limits_addr *,
		    const char *name, uint64_t now_ms);
/* Records one failed login for the address and for the account. */
void		 limits_fail_record(struct limits *,
		    const struct limits_addr *, const char *name,
		    uint64_t now_ms);
/* Clears the account's failures after a good login (the address keeps its). */
void		 limits_fail_forget(struct limits *, const char *name);
/* Failure entries held (address and account entries together). */
size_t		 limits_fail_entries(const struct limits *);

#endif
