/* SPDX-License-Identifier: ISC */
/*
 * Throttle, the abuse limits: connections per address (open, not logged in,
 * without their HELLO yet), login attempts in progress and sign-ups per
 * address, and failed logins per address and per account.
 *
 * Two tables.  The host table has one entry per address (IPv6: prefix)
 * with something counted: it lives as long as the address has a
 * connection, so the connection caps bound it.  Hosts that hold a
 * connection without its HELLO are also in a second tree ordered by how
 * many connections not logged in they hold, so that a full table finds at
 * once whose connection to close.
 *
 * The failure table holds, per address and per account, a failure count
 * and a line, and per address a sign-up count.  Counts decay linearly (a
 * failure is forgotten every THROTTLE_DECAY_MS, a sign-up every hour
 * divided by the hourly allowance), applied lazily when an entry is looked
 * at.  The wait before an attempt is fail_delay_ms, doubled for every
 * failure past fail_free, never more than THROTTLE_DELAY_MAX_MS per step.
 *
 * Why a line: attempts that arrive together must not wait side by side,
 * or thirty connections guess thirty times per delay.  Each slowed
 * attempt takes the next place in its key's line (next_ms), one delay
 * after the one before, and an attempt whose place would be more than
 * THROTTLE_LINE_MAX_MS away is refused at once instead of waiting.
 *
 * When an attempt counts: for its account, when it begins, so that a
 * burst against one account is slowed before the first answer is known
 * (nobody logs in to one account many times at once); a success takes its
 * count back.  For its address, when it ends as a failure (a client that
 * hangs up before its answer has failed): many logins at once from one
 * address are an office behind a NAT as often as an attack, so there the
 * bound is on the attempts in progress (logins_per_addr), and the slowing
 * follows the failures.
 *
 * The owner of an account under attack must still get in, and two kinds of
 * AUTH do not wait in the account's line: one from an address the account
 * has logged in from before (THROTTLE_GOOD_MS at least since; an attacker
 * cannot make such an entry without the password), and one from an
 * address with no failure on record and no other attempt in progress (it
 * has a failure as soon as it fails, so an attacker gains one such attempt
 * per address per THROTTLE_DECAY_MS).  Either still waits its address's
 * own line.  Nobody is locked out for good: every wait is bounded and
 * every count decays.  When the failure table is full
 * the least recently used entry is evicted, so a flood of addresses or
 * names cannot grow memory.
 *
 * Rates: token buckets (util.h).  The rate table is an array of buckets
 * indexed by a keyed hash of the address as counted (IPv6: its prefix of
 * v6_prefix bits, like every other per-address limit), fixed in size; its
 * rule for two addresses in one slot is in throttle.h.  The key is secret
 * so that nobody can pick addresses that land in the slot of someone else.
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

#define THROTTLE_HOUR_MS	3600000ULL
#define THROTTLE_GOOD_MS	(7 * 24 * THROTTLE_HOUR_MS)

enum throttle_kind {
	THROTTLE_ADDR = 1,
	THROTTLE_ACCOUNT = 2,
	THROTTLE_SIGNUP = 3,
	THROTTLE_GOOD = 4,	/* an account logged in from an address */
};

/*
 * Key of an entry: an address (17 bytes), an account name, or both (a good
 * login).
 */
struct throttle_key {
	uint8_t	kind;
	uint8_t	len;
	uint8_t	b[SC_NAME_MAX + sizeof(struct throttle_addr)];
};

struct throttle_fail {
	RB_ENTRY(throttle_fail)	 entry;
	TAILQ_ENTRY(throttle_fail) lru;
	struct throttle_key	 key;
	uint32_t		 count;
	uint64_t		 last_ms;	/* count aged up to */
	uint64_t		 next_ms;	/* the line: next place free */
};

/* What one address (IPv6: prefix) holds. */
struct throttle_host {
	RB_ENTRY(throttle_host)	 entry;		/* by address */
	RB_ENTRY(throttle_host)	 rank;		/* while nidle > 0 */
	struct throttle_addr	 addr;		/* grouped */
	size_t			 sessions;
	size_t			 unauth;
	size_t			 inflight;	/* login attempts */
	size_t			 nidle;
	TAILQ_HEAD(, throttle_slot) idle;	/* oldest first */
};

/* One slot of the rate table: whose it is, and its bucket. */
struct throttle_rate_slot {
	uint8_t			 key[16];	/* the address as counted */
	struct util_bucket	 bucket;
};

RB_HEAD(throttle_fails, throttle_fail);
TAILQ_HEAD(throttle_lru, throttle_fail);
RB_HEAD(throttle_hosts, throttle_host);
RB_HEAD(throttle_ranks, throttle_host);

struct throttle {
	struct throttle_fails	 fails;
	struct throttle_lru	 lru;		/* oldest use first */
	size_t			 nfails;
	size_t			 max_fails;
	struct throttle_hosts	 hosts;
	struct throttle_ranks	 ranks;		/* hosts with idle ones */
	size_t			 nhosts;
	struct throttle_conf	 conf;
	struct throttle_rate_slot *slots;	/* THROTTLE_RATE_SLOTS */
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

/* Orders hosts by address. */
static int
throttle_host_cmp(const struct throttle_host *a, const struct throttle_host *b)
{
	return (memcmp(&a->addr, &b->addr, sizeof(a->addr)));
}

/* Orders hosts by connections not logged in, then by address. */
static int
throttle_rank_cmp(const struct throttle_host *a, const struct throttle_host *b)
{
	if (a->unauth != b->unauth)
		return (a->unauth < b->unauth ? -1 : 1);
	return (throttle_host_cmp(a, b));
}

RB_GENERATE_INTERNAL(throttle_fails, throttle_fail, entry, throttle_fail_cmp,
    __attribute__((unused)) static)
RB_GENERATE_INTERNAL(throttle_hosts, throttle_host, entry, throttle_host_cmp,
    __attribute__((unused)) static)
RB_GENERATE_INTERNAL(throttle_ranks, throttle_host, rank, throttle_rank_cmp,
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

/* The address as counted: IPv6 cut to its first v6_prefix bits. */
void
throttle_addr_group(struct throttle_addr *out, const struct throttle_addr *in,
    unsigned v6_prefix)
{
	struct throttle_addr	g;
	unsigned		bytes, bits;

	memset(&g, 0, sizeof(g));
	if (in != NULL) {
		g.af = in->af;
		if (in->af == 4)
			memcpy(g.b, in->b, 4);
		else if (in->af == 6) {
			if (v6_prefix < 1 || v6_prefix > 128)
				v6_prefix = THROTTLE_V6_PREFIX;
			bytes = v6_prefix / 8;
			bits = v6_prefix % 8;
			memcpy(g.b, in->b, bytes);
			if (bits != 0)
				g.b[bytes] = in->b[bytes] &
				    (uint8_t)(0xff << (8 - bits));
		}
	}
	*out = g;
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
	RB_INIT(&l->hosts);
	RB_INIT(&l->ranks);
	l->max_fails = max_entries == 0 ? THROTTLE_ENTRIES_MAX : max_entries;
	l->conf.fail_delay_ms = 250;
	l->conf.fail_free = 3;
	l->conf.v6_prefix = THROTTLE_V6_PREFIX;
	l->conf.logins_per_addr = 8;
	l->conf.signups_per_hour = 60;
	return (l);
}

/* Frees every table; NULL-safe.  Slots still listed are taken off. */
void
throttle_free(struct throttle *l)
{
	struct throttle_fail	*f;
	struct throttle_host	*h;
	struct throttle_slot	*s;

	if (l == NULL)
		return;
	while ((f = TAILQ_FIRST(&l->lru)) != NULL) {
		TAILQ_REMOVE(&l->lru, f, lru);
		RB_REMOVE(throttle_fails, &l->fails, f);
		free(f);
	}
	while ((h = RB_MIN(throttle_hosts, &l->hosts)) != NULL) {
		while ((s = TAILQ_FIRST(&h->idle)) != NULL) {
			TAILQ_REMOVE(&h->idle, s, entry);
			s->host = NULL;
		}
		RB_REMOVE(throttle_hosts, &l->hosts, h);
		free(h);
	}
	free(l->slots);
	sc_wipe(l->hash_key, sizeof(l->hash_key));
	free(l);
}

/* Sets the parameters; the IPv6 grouping only while nothing is counted. */
void
throttle_configure(struct throttle *l, const struct throttle_conf *c)
{
	unsigned	prefix = l->conf.v6_prefix;

	l->conf = *c;
	if (l->nhosts != 0 || c->v6_prefix < 1 || c->v6_prefix > 128)
		l->conf.v6_prefix = prefix;
}

/* The IPv6 prefix in force. */
unsigned
throttle_v6_prefix(const struct throttle *l)
{
	return (l->conf.v6_prefix);
}

/* Finds the entry of an address, making it when make is set. */
static struct throttle_host *
throttle_host_get(struct throttle *l, const struct throttle_addr *a,
    int make)
{
	struct throttle_host	key, *h;

	throttle_addr_group(&key.addr, a, l->conf.v6_prefix);
	if ((h = RB_FIND(throttle_hosts, &l->hosts, &key)) != NULL || !make)
		return (h);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (NULL);
	h->addr = key.addr;
	TAILQ_INIT(&h->idle);
	RB_INSERT(throttle_hosts, &l->hosts, h);
	l->nhosts++;
	return (h);
}

/* Frees a host entry that counts nothing any more. */
static void
throttle_host_put(struct throttle *l, struct throttle_host *h)
{
	if (h->sessions != 0 || h->unauth != 0 || h->inflight != 0 ||
	    h->nidle != 0)
		return;
	RB_REMOVE(throttle_hosts, &l->hosts, h);
	l->nhosts--;
	free(h);
}

/* Takes a host out of the rank tree before its rank changes. */
static void
throttle_rank_out(struct throttle *l, struct throttle_host *h)
{
	if (h->nidle > 0)
		RB_REMOVE(throttle_ranks, &l->ranks, h);
}

/* Puts a host back in the rank tree after its rank changed. */
static void
throttle_rank_in(struct throttle *l, struct throttle_host *h)
{
	if (h->nidle > 0)
		RB_INSERT(throttle_ranks, &l->ranks, h);
}

/* Counts one more open connection, within cap. */
int
throttle_session_add(struct throttle *l, const struct throttle_addr *a,
    size_t cap)
{
	struct throttle_host	*h;

	if ((h = throttle_host_get(l, a, 1)) == NULL)
		return (-1);
	if (h->sessions >= cap) {
		throttle_host_put(l, h);
		return (-1);
	}
	h->sessions++;
	return (0);
}

/* Uncounts one open connection. */
void
throttle_session_del(struct throttle *l, const struct throttle_addr *a)
{
	struct throttle_host	*h;

	if ((h = throttle_host_get(l, a, 0)) == NULL || h->sessions == 0)
		return;
	h->sessions--;
	throttle_host_put(l, h);
}

/* Open connections of an address. */
size_t
throttle_session_count(struct throttle *l, const struct throttle_addr *a)
{
	struct throttle_host	*h;

	return ((h = throttle_host_get(l, a, 0)) == NULL ? 0 : h->sessions);
}

/* Counts one unauthenticated connection, within cap. */
int
throttle_unauth_add(struct throttle *l, const struct throttle_addr *a,
    size_t cap)
{
	struct throttle_host	*h;

	if ((h = throttle_host_get(l, a, 1)) == NULL)
		return (-1);
	if (h->unauth >= cap) {
		throttle_host_put(l, h);
		return (-1);
	}
	throttle_rank_out(l, h);
	h->unauth++;
	throttle_rank_in(l, h);
	return (0);
}

/* Uncounts one; the entry goes when it counts nothing. */
void
throttle_unauth_del(struct throttle *l, const struct throttle_addr *a)
{
	struct throttle_host	*h;

	if ((h = throttle_host_get(l, a, 0)) == NULL || h->unauth == 0)
		return;
	throttle_rank_out(l, h);
	h->unauth--;
	throttle_rank_in(l, h);
	throttle_host_put(l, h);
}

/* Unauthenticated connections of an address. */
size_t
throttle_unauth_count(struct throttle *l, const struct throttle_addr *a)
{
	struct throttle_host	*h;

	return ((h = throttle_host_get(l, a, 0)) == NULL ? 0 : h->unauth);
}

/* Lists a connection without its HELLO under its address. */
int
throttle_idle_add(struct throttle *l, struct throttle_slot *s,
    const struct throttle_addr *a)
{
	struct throttle_host	*h;

	if (s->host != NULL)
		return (0);
	if ((h = throttle_host_get(l, a, 0)) == NULL || h->unauth == 0)
		return (-1);
	throttle_rank_out(l, h);
	TAILQ_INSERT_TAIL(&h->idle, s, entry);
	h->nidle++;
	s->host = h;
	throttle_rank_in(l, h);
	return (0);
}

/* Takes a connection off its address's list. */
void
throttle_idle_del(struct throttle *l, struct throttle_slot *s)
{
	struct throttle_host	*h;

	if (s == NULL || (h = s->host) == NULL)
		return;
	throttle_rank_out(l, h);
	TAILQ_REMOVE(&h->idle, s, entry);
	h->nidle--;
	s->host = NULL;
	throttle_rank_in(l, h);
	throttle_host_put(l, h);
}

/* The oldest connection without HELLO of the address holding the most. */
struct throttle_slot *
throttle_idle_victim(struct throttle *l)
{
	struct throttle_host	*h;

	if ((h = RB_MAX(throttle_ranks, &l->ranks)) == NULL)
		return (NULL);
	return (TAILQ_FIRST(&h->idle));
}

/* Builds the key of an address entry of kind. */
static void
throttle_key_addr(const struct throttle *l, struct throttle_key *k,
    uint8_t kind, const struct throttle_addr *a)
{
	struct throttle_addr	g;

	throttle_addr_group(&g, a, l->conf.v6_prefix);
	memset(k, 0, sizeof(*k));
	k->kind = kind;
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

/* Builds the key of a good login: the account's name, then the address. */
static int
throttle_key_good(const struct throttle *l, struct throttle_key *k,
    const char *name, const struct throttle_addr *a)
{
	struct throttle_addr	g;

	if (throttle_key_account(k, name) != 0)
		return (-1);
	throttle_addr_group(&g, a, l->conf.v6_prefix);
	k->kind = THROTTLE_GOOD;
	memcpy(k->b + k->len, &g, sizeof(g));
	k->len = (uint8_t)(k->len + sizeof(g));
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

/* Milliseconds after which an entry of this kind forgets one count. */
static uint64_t
throttle_step(const struct throttle *l, uint8_t kind)
{
	if (kind == THROTTLE_SIGNUP)
		return (l->conf.signups_per_hour == 0 ? THROTTLE_HOUR_MS :
		    THROTTLE_HOUR_MS / l->conf.signups_per_hour);
	if (kind == THROTTLE_GOOD)
		return (THROTTLE_GOOD_MS);
	return (THROTTLE_DECAY_MS);
}

/* Forgets the counts that have decayed since the entry was last aged. */
static void
throttle_age(const struct throttle *l, struct throttle_fail *f,
    uint64_t now_ms)
{
	uint64_t	step, steps;

	step = throttle_step(l, f->key.kind);
	if (now_ms <= f->last_ms || step == 0)
		return;
	steps = (now_ms - f->last_ms) / step;
	if (steps == 0)
		return;
	if (steps >= f->count) {
		f->count = 0;
		f->last_ms = now_ms;
	} else {
		f->count -= (uint32_t)steps;
		f->last_ms += steps * step;
	}
}

/*
 * Looks an entry up and ages it; an entry fully decayed, with no place in
 * its line still ahead, is dropped.
 */
static struct throttle_fail *
throttle_fail_find(struct throttle *l, const struct throttle_key *k,
    uint64_t now_ms)
{
	struct throttle_fail	key, *f;

	key.key = *k;
	if ((f = RB_FIND(throttle_fails, &l->fails, &key)) == NULL)
		return (NULL);
	throttle_age(l, f, now_ms);
	if (f->count == 0 && f->next_ms <= now_ms) {
		throttle_fail_remove(l, f);
		return (NULL);
	}
	return (f);
}

/* Finds or makes an entry (evicting the oldest when full); NULL on OOM. */
static struct throttle_fail *
throttle_fail_get(struct throttle *l, const struct throttle_key *k,
    uint64_t now_ms)
{
	struct throttle_fail	*f;

	if ((f = throttle_fail_find(l, k, now_ms)) != NULL) {
		TAILQ_REMOVE(&l->lru, f, lru);
		TAILQ_INSERT_TAIL(&l->lru, f, lru);
		return (f);
	}
	while (l->nfails >= l->max_fails && !TAILQ_EMPTY(&l->lru))
		throttle_fail_remove(l, TAILQ_FIRST(&l->lru));
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (NULL);
	f->key = *k;
	f->last_ms = now_ms;
	RB_INSERT(throttle_fails, &l->fails, f);
	TAILQ_INSERT_TAIL(&l->lru, f, lru);
	l->nfails++;
	return (f);
}

/* Delay for a failure count. */
static uint64_t
throttle_delay_for(const struct throttle *l, uint32_t count)
{
	uint64_t	shift, d;

	if (l->conf.fail_delay_ms == 0 || count < l->conf.fail_free)
		return (0);
	shift = count - l->conf.fail_free;
	if (shift >= 16)
		return (THROTTLE_DELAY_MAX_MS);
	d = l->conf.fail_delay_ms << shift;
	return (d > THROTTLE_DELAY_MAX_MS ? THROTTLE_DELAY_MAX_MS : d);
}

/*
 * The place in an entry's line (NULL: an empty line) for an attempt that
 * must wait delay_ms after the one before: the absolute time it may go, 0
 * for at once.
 */
static uint64_t
throttle_place(const struct throttle_fail *f, uint64_t delay_ms,
    uint64_t now_ms)
{
	uint64_t	from = now_ms;

	if (delay_ms == 0)
		return (0);
	if (f != NULL && f->next_ms > now_ms)
		from = f->next_ms;
	return (from + delay_ms);
}

/* An attempt's plan: where it stands in each line, counting nothing. */
struct throttle_plan {
	struct throttle_key	 ka;		/* the address */
	struct throttle_key	 kn;		/* the account, when has_name */
	int			 has_name;
	uint64_t		 at_a;		/* place in the lines, or 0 */
	uint64_t		 at_n;
};

/*
 * Works out the waits of an AUTH or SIGN without changing anything.
 * inflight is the address's attempts already in progress.
 */
static void
throttle_plan(struct throttle *l, struct throttle_plan *p,
    const struct throttle_addr *a, uint8_t op, const char *name,
    size_t inflight, uint64_t now_ms)
{
	struct throttle_fail	*fa, *fn = NULL;
	struct throttle_key	 kg;
	uint32_t		 ca, cn;
	int			 good = 0;

	memset(p, 0, sizeof(*p));
	throttle_key_addr(l, &p->ka, THROTTLE_ADDR, a);
	p->has_name = op == SC_MSG_AUTH &&
	    throttle_key_account(&p->kn, name) == 0;
	fa = throttle_fail_find(l, &p->ka, now_ms);
	ca = fa != NULL ? fa->count : 0;
	p->at_a = throttle_place(fa, throttle_delay_for(l, ca), now_ms);
	if (p->has_name) {
		fn = throttle_fail_find(l, &p->kn, now_ms);
		good = throttle_key_good(l, &kg, name, a) == 0 &&
		    throttle_fail_find(l, &kg, now_ms) != NULL;
	}
	/*
	 * An address the account logged in from, or one with no failure on
	 * record and no other attempt in progress, goes past its line.
	 */
	if (fn != NULL && !good && (ca > 0 || inflight > 0)) {
		cn = fn->count;
		p->at_n = throttle_place(fn, throttle_delay_for(l, cn),
		    now_ms);
	}
}

/* The wait of a plan, in ms from now. */
static uint64_t
throttle_plan_wait(const struct throttle_plan *p, uint64_t now_ms)
{
	uint64_t	at = p->at_a > p->at_n ? p->at_a : p->at_n;

	return (at > now_ms ? at - now_ms : 0);
}

/*
 * Takes a place in an entry's line (made as needed) at at_ms, and adds
 * one count to it when count is set.
 */
static void
throttle_fail_bump(struct throttle *l, const struct throttle_key *k,
    uint64_t at_ms, int count, uint64_t now_ms)
{
	struct throttle_fail	*f;

	if ((f = throttle_fail_get(l, k, now_ms)) == NULL)
		return;
	if (count) {
		if (f->count == 0)
			f->last_ms = now_ms;
		if (f->count < UINT32_MAX)
			f->count++;
	}
	if (at_ms > f->next_ms)
		f->next_ms = at_ms;
}

/* Takes one count back from an entry, if it still has one. */
static void
throttle_fail_unbump(struct throttle *l, const struct throttle_key *k,
    uint64_t now_ms)
{
	struct throttle_fail	*f;

	if ((f = throttle_fail_find(l, k, now_ms)) != NULL && f->count > 0)
		f->count--;
}

/* Lets a SIGN or AUTH go (after a wait) or refuses it; counts it if it goes. */
enum throttle_verdict
throttle_login_begin(struct throttle *l, const struct throttle_addr *a,
    uint8_t op, const char *name, uint64_t now_ms, uint64_t *wait_ms)
{
	struct throttle_plan	 p;
	struct throttle_key	 ks;
	struct throttle_fail	*fs;
	struct throttle_host	*h;
	uint64_t		 wait;

	*wait_ms = 0;
	if ((h = throttle_host_get(l, a, 1)) == NULL)
		return (THROTTLE_BUSY);
	if (h->inflight >= l->conf.logins_per_addr) {
		throttle_host_put(l, h);
		return (THROTTLE_BUSY);
	}
	throttle_plan(l, &p, a, op, name, h->inflight, now_ms);
	if ((wait = throttle_plan_wait(&p, now_ms)) > THROTTLE_LINE_MAX_MS) {
		throttle_host_put(l, h);
		return (THROTTLE_LINE);
	}
	if (op == SC_MSG_SIGN) {
		throttle_key_addr(l, &ks, THROTTLE_SIGNUP, a);
		fs = throttle_fail_get(l, &ks, now_ms);
		if (fs == NULL || fs->count >= l->conf.signups_per_hour) {
			throttle_host_put(l, h);
			return (THROTTLE_SIGNUPS);
		}
		throttle_fail_bump(l, &ks, 0, 1, now_ms);
		/* A sign-up takes a place in its address's line only. */
		if (p.at_a > 0)
			throttle_fail_bump(l, &p.ka, p.at_a, 0, now_ms);
	} else {
		if (p.at_a > 0)
			throttle_fail_bump(l, &p.ka, p.at_a, 0, now_ms);
		if (p.has_name)
			throttle_fail_bump(l, &p.kn, p.at_n, 1, now_ms);
	}
	h->inflight++;
	*wait_ms = wait;
	return (THROTTLE_GO);
}

/* Ends an attempt: takes back what its outcome says was not a failure. */
void
throttle_login_end(struct throttle *l, const struct throttle_addr *a,
    uint8_t op, const char *name, enum throttle_outcome outcome,
    uint64_t now_ms)
{
	struct throttle_key	 k;
	struct throttle_host	*h;

	if ((h = throttle_host_get(l, a, 0)) != NULL && h->inflight > 0) {
		h->inflight--;
		throttle_host_put(l, h);
	}
	if (op == SC_MSG_SIGN) {
		/* Only an account made uses up a sign-up. */
		if (outcome == THROTTLE_FAILED || outcome == THROTTLE_VOID) {
			throttle_key_addr(l, &k, THROTTLE_SIGNUP, a);
			throttle_fail_unbump(l, &k, now_ms);
		}
		return;
	}
	if (outcome == THROTTLE_FAILED || outcome == THROTTLE_GONE) {
		/* The address's failure is known now, the account's was. */
		throttle_key_addr(l, &k, THROTTLE_ADDR, a);
		throttle_fail_bump(l, &k, 0, 1, now_ms);
		return;
	}
	if (throttle_key_account(&k, name) == 0)
		throttle_fail_unbump(l, &k, now_ms);
	if (outcome == THROTTLE_OK && throttle_key_good(l, &k, name, a) == 0)
		throttle_fail_bump(l, &k, 0, 1, now_ms);
}

/* Attempts in progress from an address. */
size_t
throttle_login_count(struct throttle *l, const struct throttle_addr *a)
{
	struct throttle_host	*h;

	return ((h = throttle_host_get(l, a, 0)) == NULL ? 0 : h->inflight);
}

/* What the next AUTH would wait. */
uint64_t
throttle_fail_delay(struct throttle *l, const struct throttle_addr *a,
    const char *name, uint64_t now_ms)
{
	struct throttle_plan	p;

	throttle_plan(l, &p, a, SC_MSG_AUTH, name,
	    throttle_login_count(l, a), now_ms);
	return (throttle_plan_wait(&p, now_ms));
}

/* Number of failure and sign-up entries. */
size_t
throttle_fail_entries(const struct throttle *l)
{
	return (l->nfails);
}

/* The slot of an address: a keyed hash of it as counted. */
static struct throttle_rate_slot *
throttle_slot_of(struct throttle *l, const struct throttle_addr *a,
    uint8_t key[16])
{
	struct throttle_addr	g;
	struct sc_hash_part	part;
	uint8_t			h[SC_KEY_BYTES];
	uint64_t		i = 0;

	throttle_addr_group(&g, a, l->conf.v6_prefix);
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
	struct throttle_rate_slot	*s;
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
