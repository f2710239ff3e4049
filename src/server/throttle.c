/* SPDX-License-Identifier: ISC */
/*
 * Throttle, the abuse limits: unauthenticated connections per address, and
 * failed logins per address and per account.
 *
 * Failure counts decay linearly: one failure is forgotten every
 * THROTTLE_DECAY_MS, applied lazily when an entry is looked at.  The delay
 * before an attempt is fail_delay_ms, doubled for every failure past
 * fail_free, never more than THROTTLE_DELAY_MAX_MS, so nobody is locked out
 * for good.  The failure table is a red-black tree for lookup plus a queue
 * in order of last use; when it is full the least recently used entry is
 * evicted, so a flood of addresses or names cannot grow memory.
 *
 * Rates: token buckets.  The rate table is an array of buckets indexed by
 * a keyed hash of the address, fixed in size; its rule for two addresses
 * in one slot is in throttle.h.  The key is secret so that nobody can pick
 * addresses that land in the slot of someone else.
 */
#include <netinet/in.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "throttle.h"

enum throttle_kind {
	THROTTLE_ADDR = 1,
	THROTTLE_ACCOUNT = 2,
};

/* Key of a failure entry: an address (17 bytes) or an account name. */
struct throttle_key {
	uint8_t	kind;
	uint8_t	len;
	uint8_t	b[SC_NAME_MAX];
};

struct throttle_fail {
	RB_ENTRY(throttle_fail)	 entry;
	TAILQ_ENTRY(throttle_fail) lru;
	struct throttle_key	 key;
	uint32_t		 count;
	uint64_t		 last_ms;	/* count aged up to */
};

struct throttle_conn {
	RB_ENTRY(throttle_conn)	 entry;
	struct throttle_addr	 addr;
	size_t			 count;
};

/* One slot of the rate table: whose it is, and its bucket. */
struct throttle_slot {
	uint8_t			 key[16];	/* the address as counted */
	struct util_bucket	 bucket;
};

RB_HEAD(throttle_fails, throttle_fail);
TAILQ_HEAD(throttle_lru, throttle_fail);
RB_HEAD(throttle_conns, throttle_conn);

struct throttle {
	struct throttle_fails	 fails;
	struct throttle_lru	 lru;		/* oldest use first */
	size_t			 nfails;
	size_t			 max_fails;
	struct throttle_conns	 conns;
	uint64_t		 delay_ms;
	unsigned		 fail_free;
	struct throttle_slot	*slots;		/* THROTTLE_RATE_SLOTS */
	uint8_t			 hash_key[SC_KEY_BYTES];
};

/* Orders failure entries by kind, then length, then bytes. */
static int
throttle_fail_cmp(const struct throttle_fail *a, const struct throttle_fail *b)
{
	if (a->key.kind != b->key.kind)
		return (a->key.kind < b->key.kind ? -1 : 1);
	if (a->key.len != b->key.len)
		return (a->key.len < b->key.len ? -1 : 1);
	return (memcmp(a->key.b, b->key.b, a->key.len));
}

/* Orders connection counters by address. */
static int
throttle_conn_cmp(const struct throttle_conn *a, const struct throttle_conn *b)
{
	return (memcmp(&a->addr, &b->addr, sizeof(a->addr)));
}

RB_GENERATE_INTERNAL(throttle_fails, throttle_fail, entry, throttle_fail_cmp,
    __attribute__((unused)) static)
RB_GENERATE_INTERNAL(throttle_conns, throttle_conn, entry, throttle_conn_cmp,
    __attribute__((unused)) static)

/* Converts a socket address; IPv4-mapped IPv6 becomes IPv4. */
void
throttle_addr_from(struct throttle_addr *a, const struct sockaddr *sa)
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
throttle_addr_group(struct throttle_addr *out, const struct throttle_addr *in)
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
struct throttle *
throttle_new(size_t max_entries)
{
	struct throttle	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	if ((l->slots = calloc(THROTTLE_RATE_SLOTS, sizeof(*l->slots))) ==
	    NULL) {
		free(l);
		return (NULL);
	}
	sc_random(l->hash_key, sizeof(l->hash_key));
	RB_INIT(&l->fails);
	TAILQ_INIT(&l->lru);
	RB_INIT(&l->conns);
	l->max_fails = max_entries == 0 ? THROTTLE_ENTRIES_MAX : max_entries;
	l->delay_ms = 250;
	l->fail_free = 3;
	return (l);
}

/* Frees every table; NULL-safe. */
void
throttle_free(struct throttle *l)
{
	struct throttle_fail	*f;
	struct throttle_conn	*c;

	if (l == NULL)
		return;
	while ((f = TAILQ_FIRST(&l->lru)) != NULL) {
		TAILQ_REMOVE(&l->lru, f, lru);
		RB_REMOVE(throttle_fails, &l->fails, f);
		free(f);
	}
	while ((c = RB_MIN(throttle_conns, &l->conns)) != NULL) {
		RB_REMOVE(throttle_conns, &l->conns, c);
		free(c);
	}
	free(l->slots);
	sc_wipe(l->hash_key, sizeof(l->hash_key));
	free(l);
}

/* Sets the delay parameters (from the configuration). */
void
throttle_configure(struct throttle *l, uint64_t fail_delay_ms,
    unsigned fail_free)
{
	l->delay_ms = fail_delay_ms;
	l->fail_free = fail_free;
}

/* Finds the counter of an address. */
static struct throttle_conn *
throttle_conn_find(struct throttle *l, const struct throttle_addr *a)
{
	struct throttle_conn	key;

	throttle_addr_group(&key.addr, a);
	return (RB_FIND(throttle_conns, &l->conns, &key));
}

/* Counts one unauthenticated connection, within cap. */
int
throttle_unauth_add(struct throttle *l, const struct throttle_addr *a,
    size_t cap)
{
	struct throttle_conn	*c;

	if ((c = throttle_conn_find(l, a)) != NULL) {
		if (c->count >= cap)
			return (-1);
		c->count++;
		return (0);
	}
	if (cap == 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return (-1);
	throttle_addr_group(&c->addr, a);
	c->count = 1;
	RB_INSERT(throttle_conns, &l->conns, c);
	return (0);
}

/* Uncounts one; the entry goes when its count reaches zero. */
void
throttle_unauth_del(struct throttle *l, const struct throttle_addr *a)
{
	struct throttle_conn	*c;

	if ((c = throttle_conn_find(l, a)) == NULL)
		return;
	if (--c->count == 0) {
		RB_REMOVE(throttle_conns, &l->conns, c);
		free(c);
	}
}

/* Unauthenticated connections of an address. */
size_t
throttle_unauth_count(struct throttle *l, const struct throttle_addr *a)
{
	struct throttle_conn	*c;

	return ((c = throttle_conn_find(l, a)) == NULL ? 0 : c->count);
}

/* Builds the key of an address entry. */
static void
throttle_key_addr(struct throttle_key *k, const struct throttle_addr *a)
{
	struct throttle_addr	g;

	throttle_addr_group(&g, a);
	memset(k, 0, sizeof(*k));
	k->kind = THROTTLE_ADDR;
	k->len = (uint8_t)sizeof(g);
	memcpy(k->b, &g, sizeof(g));
}

/* Builds the key of an account entry; -1 for a name that cannot be one. */
static int
throttle_key_account(struct throttle_key *k, const char *name)
{
	size_t	len;

	if (name == NULL || (len = strnlen(name, SC_NAME_MAX + 1)) == 0 ||
	    len > SC_NAME_MAX)
		return (-1);
	memset(k, 0, sizeof(*k));
	k->kind = THROTTLE_ACCOUNT;
	k->len = (uint8_t)len;
	memcpy(k->b, name, len);
	return (0);
}

/* Removes and frees one failure entry. */
static void
throttle_fail_remove(struct throttle *l, struct throttle_fail *f)
{
	TAILQ_REMOVE(&l->lru, f, lru);
	RB_REMOVE(throttle_fails, &l->fails, f);
	l->nfails--;
	free(f);
}

/* Forgets the failures that have decayed since the entry was last aged. */
static void
throttle_age(struct throttle_fail *f, uint64_t now_ms)
{
	uint64_t	steps;

	if (now_ms <= f->last_ms)
		return;
	steps = (now_ms - f->last_ms) / THROTTLE_DECAY_MS;
	if (steps == 0)
		return;
	if (steps >= f->count) {
		f->count = 0;
		f->last_ms = now_ms;
	} else {
		f->count -= (uint32_t)steps;
		f->last_ms += steps * THROTTLE_DECAY_MS;
	}
}

/* Looks an entry up and ages it; a fully decayed entry is dropped. */
static struct throttle_fail *
throttle_fail_find(struct throttle *l, const struct throttle_key *k,
    uint64_t now_ms)
{
	struct throttle_fail	key, *f;

	key.key = *k;
	if ((f = RB_FIND(throttle_fails, &l->fails, &key)) == NULL)
		return (NULL);
	throttle_age(f, now_ms);
	if (f->count == 0) {
		throttle_fail_remove(l, f);
		return (NULL);
	}
	return (f);
}

/* Delay for a failure count. */
static uint64_t
throttle_delay_for(const struct throttle *l, uint32_t count)
{
	uint64_t	shift, d;

	if (l->delay_ms == 0 || count < l->fail_free)
		return (0);
	shift = count - l->fail_free;
	if (shift >= 16)
		return (THROTTLE_DELAY_MAX_MS);
	d = l->delay_ms << shift;
	return (d > THROTTLE_DELAY_MAX_MS ? THROTTLE_DELAY_MAX_MS : d);
}

/* Wait before the next attempt: the larger of address and account delays. */
uint64_t
throttle_fail_delay(struct throttle *l, const struct throttle_addr *a,
    const char *name, uint64_t now_ms)
{
	struct throttle_key	 k;
	struct throttle_fail	*f;
	uint64_t		 d = 0, da;

	throttle_key_addr(&k, a);
	if ((f = throttle_fail_find(l, &k, now_ms)) != NULL)
		d = throttle_delay_for(l, f->count);
	if (throttle_key_account(&k, name) == 0 &&
	    (f = throttle_fail_find(l, &k, now_ms)) != NULL) {
		da = throttle_delay_for(l, f->count);
		if (da > d)
			d = da;
	}
	return (d);
}

/* Adds one failure to an entry, making it (and evicting) as needed. */
static void
throttle_fail_bump(struct throttle *l, const struct throttle_key *k,
    uint64_t now_ms)
{
	struct throttle_fail	*f;

	if ((f = throttle_fail_find(l, k, now_ms)) != NULL) {
		if (f->count < UINT32_MAX)
			f->count++;
		TAILQ_REMOVE(&l->lru, f, lru);
		TAILQ_INSERT_TAIL(&l->lru, f, lru);
		return;
	}
	while (l->nfails >= l->max_fails && !TAILQ_EMPTY(&l->lru))
		throttle_fail_remove(l, TAILQ_FIRST(&l->lru));
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return;
	f->key = *k;
	f->count = 1;
	f->last_ms = now_ms;
	RB_INSERT(throttle_fails, &l->fails, f);
	TAILQ_INSERT_TAIL(&l->lru, f, lru);
	l->nfails++;
}

/* Records a failed login for the address and the account. */
void
throttle_fail_record(struct throttle *l, const struct throttle_addr *a,
    const char *name, uint64_t now_ms)
{
	struct throttle_key	k;

	throttle_key_addr(&k, a);
	throttle_fail_bump(l, &k, now_ms);
	if (throttle_key_account(&k, name) == 0)
		throttle_fail_bump(l, &k, now_ms);
}

/* Clears an account's failures. */
void
throttle_fail_forget(struct throttle *l, const char *name)
{
	struct throttle_key	 k;
	struct throttle_fail	 key, *f;

	if (throttle_key_account(&k, name) != 0)
		return;
	key.key = k;
	if ((f = RB_FIND(throttle_fails, &l->fails, &key)) != NULL)
		throttle_fail_remove(l, f);
}

/* Number of failure entries. */
size_t
throttle_fail_entries(const struct throttle *l)
{
	return (l->nfails);
}

/* The slot of an address: a keyed hash of it as counted (IPv6: /64). */
static struct throttle_slot *
throttle_slot_of(struct throttle *l, const struct throttle_addr *a,
    uint8_t key[16])
{
	struct throttle_addr	g;
	struct sc_hash_part	part;
	uint8_t			h[SC_KEY_BYTES];
	uint64_t		i = 0;

	throttle_addr_group(&g, a);
	memset(key, 0, 16);
	if (g.af == 4) {
		key[10] = key[11] = 0xff;	/* as IPv4-mapped IPv6 */
		memcpy(key + 12, g.b, 4);
	} else
		memcpy(key, g.b, 16);
	part.p = key;
	part.len = 16;
	if (sc_hash(h, l->hash_key, &part, 1) == 0)
		i = util_get_be64(h);
	return (&l->slots[i % THROTTLE_RATE_SLOTS]);
}

/* One event from an address against its rate. */
int
throttle_rate_take(struct throttle *l, const struct throttle_addr *a,
    uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	struct throttle_slot	*s;
	uint8_t			 key[16];

	s = throttle_slot_of(l, a, key);
	if (memcmp(s->key, key, sizeof(key)) != 0 &&
	    (s->bucket.last_ms == 0 ||
	    util_bucket_room(&s->bucket, rate, burst, now_ms) >= burst)) {
		memcpy(s->key, key, sizeof(key));
		s->bucket.last_ms = 0;
	}
	if (util_bucket_room(&s->bucket, rate, burst, now_ms) < 1)
		return (-1);
	util_bucket_take(&s->bucket, 1);
	return (0);
}
