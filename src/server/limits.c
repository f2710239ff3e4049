/*
 * Abuse limits: unauthenticated connections per address, and failed
 * logins per address and per account.
 *
 * Failure counts decay linearly: one failure is forgotten every
 * LIMITS_DECAY_MS, applied lazily when an entry is looked at.  The delay
 * before an attempt is fail_delay_ms, doubled for every failure past
 * fail_free, never more than LIMITS_DELAY_MAX_MS, so nobody is locked out
 * for good.  The failure table is a red-black tree for lookup plus a queue
 * in order of last use; when it is full the least recently used entry is
 * evicted, so a flood of addresses or names cannot grow memory.
 */
#include <netinet/in.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "sealchat/proto.h"
#include "sclimits.h"

enum limits_kind {
	LIMITS_ADDR = 1,
	LIMITS_ACCOUNT = 2,
};

/* Key of a failure entry: an address (17 bytes) or an account name. */
struct limits_key {
	uint8_t	kind;
	uint8_t	len;
	uint8_t	b[SC_NAME_MAX];
};

struct limits_fail {
	RB_ENTRY(limits_fail)	 entry;
	TAILQ_ENTRY(limits_fail) lru;
	struct limits_key	 key;
	uint32_t		 count;
	uint64_t		 last_ms;	/* count aged up to */
};

struct limits_conn {
	RB_ENTRY(limits_conn)	 entry;
	struct limits_addr	 addr;
	size_t			 count;
};

RB_HEAD(limits_fails, limits_fail);
TAILQ_HEAD(limits_lru, limits_fail);
RB_HEAD(limits_conns, limits_conn);

struct limits {
	struct limits_fails	 fails;
	struct limits_lru	 lru;		/* oldest use first */
	size_t			 nfails;
	size_t			 max_fails;
	struct limits_conns	 conns;
	uint64_t		 delay_ms;
	unsigned		 fail_free;
};

/* Orders failure entries by kind, then length, then bytes. */
static int
limits_fail_cmp(const struct limits_fail *a, const struct limits_fail *b)
{
	if (a->key.kind != b->key.kind)
		return (a->key.kind < b->key.kind ? -1 : 1);
	if (a->key.len != b->key.len)
		return (a->key.len < b->key.len ? -1 : 1);
	return (memcmp(a->key.b, b->key.b, a->key.len));
}

/* Orders connection counters by address. */
static int
limits_conn_cmp(const struct limits_conn *a, const struct limits_conn *b)
{
	return (memcmp(&a->addr, &b->addr, sizeof(a->addr)));
}

RB_GENERATE_INTERNAL(limits_fails, limits_fail, entry, limits_fail_cmp,
    __attribute__((unused)) static)
RB_GENERATE_INTERNAL(limits_conns, limits_conn, entry, limits_conn_cmp,
    __attribute__((unused)) static)

/* Converts a socket address; IPv4-mapped IPv6 becomes IPv4. */
void
limits_addr_from(struct limits_addr *a, const struct sockaddr *sa)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
				    0, 0, 0xff, 0xff };
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(a, 0, sizeof(*a));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		a->af = 4;
		memcpy(a->b, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (memcmp(sin6->sin6_addr.s6_addr, mapped,
		    sizeof(mapped)) == 0) {
			a->af = 4;
			memcpy(a->b, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			a->af = 6;
			memcpy(a->b, sin6->sin6_addr.s6_addr, 16);
		}
	}
}

/* The address as counted: IPv6 cut to its /64 prefix. */
static void
limits_addr_group(struct limits_addr *out, const struct limits_addr *in)
{
	memset(out, 0, sizeof(*out));
	if (in == NULL)
		return;
	out->af = in->af;
	if (in->af == 4)
		memcpy(out->b, in->b, 4);
	else if (in->af == 6)
		memcpy(out->b, in->b, 8);
}

/* Makes a new, empty set of tables. */
struct limits *
limits_new(size_t max_entries)
{
	struct limits	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	RB_INIT(&l->fails);
	TAILQ_INIT(&l->lru);
	RB_INIT(&l->conns);
	l->max_fails = max_entries == 0 ? LIMITS_ENTRIES_MAX : max_entries;
	l->delay_ms = 250;
	l->fail_free = 3;
	return (l);
}

/* Frees every table; NULL-safe. */
void
limits_free(struct limits *l)
{
	struct limits_fail	*f;
	struct limits_conn	*c;

	if (l == NULL)
		return;
	while ((f = TAILQ_FIRST(&l->lru)) != NULL) {
		TAILQ_REMOVE(&l->lru, f, lru);
		RB_REMOVE(limits_fails, &l->fails, f);
		free(f);
	}
	while ((c = RB_MIN(limits_conns, &l->conns)) != NULL) {
		RB_REMOVE(limits_conns, &l->conns, c);
		free(c);
	}
	free(l);
}

/* Sets the delay parameters (from the configuration). */
void
limits_configure(struct limits *l, uint64_t fail_delay_ms, unsigned fail_free)
{
	l->delay_ms = fail_delay_ms;
	l->fail_free = fail_free;
}

/* Finds the counter of an address. */
static struct limits_conn *
limits_conn_find(struct limits *l, const struct limits_addr *a)
{
	struct limits_conn	key;

	limits_addr_group(&key.addr, a);
	return (RB_FIND(limits_conns, &l->conns, &key));
}

/* Counts one unauthenticated connection, within cap. */
int
limits_unauth_add(struct limits *l, const struct limits_addr *a, size_t cap)
{
	struct limits_conn	*c;

	if ((c = limits_conn_find(l, a)) != NULL) {
		if (c->count >= cap)
			return (-1);
		c->count++;
		return (0);
	}
	if (cap == 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return (-1);
	limits_addr_group(&c->addr, a);
	c->count = 1;
	RB_INSERT(limits_conns, &l->conns, c);
	return (0);
}

/* Uncounts one; the entry goes when its count reaches zero. */
void
limits_unauth_del(struct limits *l, const struct limits_addr *a)
{
	struct limits_conn	*c;

	if ((c = limits_conn_find(l, a)) == NULL)
		return;
	if (--c->count == 0) {
		RB_REMOVE(limits_conns, &l->conns, c);
		free(c);
	}
}

/* Unauthenticated connections of an address. */
size_t
limits_unauth_count(struct limits *l, const struct limits_addr *a)
{
	struct limits_conn	*c;

	return ((c = limits_conn_find(l, a)) == NULL ? 0 : c->count);
}

/* Builds the key of an address entry. */
static void
limits_key_addr(struct limits_key *k, const struct limits_addr *a)
{
	struct limits_addr	g;

	limits_addr_group(&g, a);
	memset(k, 0, sizeof(*k));
	k->kind = LIMITS_ADDR;
	k->len = (uint8_t)sizeof(g);
	memcpy(k->b, &g, sizeof(g));
}

/* Builds the key of an account entry; -1 for a name that cannot be one. */
static int
limits_key_account(struct limits_key *k, const char *name)
{
	size_t	len;

	if (name == NULL || (len = strnlen(name, SC_NAME_MAX + 1)) == 0 ||
	    len > SC_NAME_MAX)
		return (-1);
	memset(k, 0, sizeof(*k));
	k->kind = LIMITS_ACCOUNT;
	k->len = (uint8_t)len;
	memcpy(k->b, name, len);
	return (0);
}

/* Removes and frees one failure entry. */
static void
limits_fail_remove(struct limits *l, struct limits_fail *f)
{
	TAILQ_REMOVE(&l->lru, f, lru);
	RB_REMOVE(limits_fails, &l->fails, f);
	l->nfails--;
	free(f);
}

/* Forgets the failures that have decayed since the entry was last aged. */
static void
limits_age(struct limits_fail *f, uint64_t now_ms)
{
	uint64_t	steps;

	if (now_ms <= f->last_ms)
		return;
	steps = (now_ms - f->last_ms) / LIMITS_DECAY_MS;
	if (steps == 0)
		return;
	if (steps >= f->count) {
		f->count = 0;
		f->last_ms = now_ms;
	} else {
		f->count -= (uint32_t)steps;
		f->last_ms += steps * LIMITS_DECAY_MS;
	}
}

/* Looks an entry up and ages it; a fully decayed entry is dropped. */
static struct limits_fail *
limits_fail_find(struct limits *l, const struct limits_key *k, uint64_t now_ms)
{
	struct limits_fail	key, *f;

	key.key = *k;
	if ((f = RB_FIND(limits_fails, &l->fails, &key)) == NULL)
		return (NULL);
	limits_age(f, now_ms);
	if (f->count == 0) {
		limits_fail_remove(l, f);
		return (NULL);
	}
	return (f);
}

/* Delay for a failure count. */
static uint64_t
limits_delay_for(const struct limits *l, uint32_t count)
{
	uint64_t	shift, d;

	if (l->delay_ms == 0 || count < l->fail_free)
		return (0);
	shift = count - l->fail_free;
	if (shift >= 16)
		return (LIMITS_DELAY_MAX_MS);
	d = l->delay_ms << shift;
	return (d > LIMITS_DELAY_MAX_MS ? LIMITS_DELAY_MAX_MS : d);
}

/* Wait before the next attempt: the larger of address and account delays. */
uint64_t
limits_fail_delay(struct limits *l, const struct limits_addr *a,
    const char *name, uint64_t now_ms)
{
	struct limits_key	 k;
	struct limits_fail	*f;
	uint64_t		 d = 0, da;

	limits_key_addr(&k, a);
	if ((f = limits_fail_find(l, &k, now_ms)) != NULL)
		d = limits_delay_for(l, f->count);
	if (limits_key_account(&k, name) == 0 &&
	    (f = limits_fail_find(l, &k, now_ms)) != NULL) {
		da = limits_delay_for(l, f->count);
		if (da > d)
			d = da;
	}
	return (d);
}

/* Adds one failure to an entry, making it (and evicting) as needed. */
static void
limits_fail_bump(struct limits *l, const struct limits_key *k, uint64_t now_ms)
{
	struct limits_fail	*f;

	if ((f = limits_fail_find(l, k, now_ms)) != NULL) {
		if (f->count < UINT32_MAX)
			f->count++;
		TAILQ_REMOVE(&l->lru, f, lru);
		TAILQ_INSERT_TAIL(&l->lru, f, lru);
		return;
	}
	while (l->nfails >= l->max_fails && !TAILQ_EMPTY(&l->lru))
		limits_fail_remove(l, TAILQ_FIRST(&l->lru));
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return;
	f->key = *k;
	f->count = 1;
	f->last_ms = now_ms;
	RB_INSERT(limits_fails, &l->fails, f);
	TAILQ_INSERT_TAIL(&l->lru, f, lru);
	l->nfails++;
}

/* Records a failed login for the address and the account. */
void
limits_fail_record(struct limits *l, const struct limits_addr *a,
    const char *name, uint64_t now_ms)
{
	struct limits_key	k;

	limits_key_addr(&k, a);
	limits_fail_bump(l, &k, now_ms);
	if (limits_key_account(&k, name) == 0)
		limits_fail_bump(l, &k, now_ms);
}

/* Clears an account's failures. */
void
limits_fail_forget(struct limits *l, const char *name)
{
	struct limits_key	 k;
	struct limits_fail	 key, *f;

	if (limits_key_account(&k, name) != 0)
		return;
	key.key = k;
	if ((f = RB_FIND(limits_fails, &l->fails, &key)) != NULL)
		limits_fail_remove(l, f);
}

/* Number of failure entries. */
size_t
limits_fail_entries(const struct limits *l)
{
	return (l->nfails);
}
