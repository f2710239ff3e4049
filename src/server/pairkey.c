/* SPDX-License-Identifier: ISC */
/*
 * Pair keys (see pairkey.h).  Pairs are found by the ids of their two
 * members in one red-black tree and by pair id in another (the relay and
 * RECHECK name a pair by its id), and each member lists its pairs (oldest
 * first) so that they all die with it.  A pair with itself has one side.
 *
 * Sending may end pairs: a member whose owner cannot take a message
 * leaves, and its pairs die (and are freed) inside the send.  So whatever
 * sends more than one message names the pairs by id and looks each up
 * again before each message, never holding a pointer across a send.
 */
#include <stdlib.h>
#include <string.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/wire.h"
#include "pairkey.h"

struct pairkey_pair;

/* One side of a pair, in its member's list. */
struct pairkey_link {
	TAILQ_ENTRY(pairkey_link)	 entry;
	struct pairkey_pair		*pair;
	struct presence_member		*member;
};

struct pairkey_pair {
	RB_ENTRY(pairkey_pair)	 entry;		/* by member ids */
	RB_ENTRY(pairkey_pair)	 id_entry;	/* by pair id */
	uint64_t		 lo;		/* smaller member id */
	uint64_t		 hi;
	uint64_t		 pair_id;
	uint64_t		 recheck_ms;	/* last RECHECK answered */
	uint8_t			 key[SC_KEY_BYTES];
	struct pairkey_link	 side[2];	/* one for self */
	int			 nsides;
};

RB_HEAD(pairkey_tree, pairkey_pair);
RB_HEAD(pairkey_ids, pairkey_pair);

struct pairkey {
	struct presence		*presence;
	struct pairkey_tree	 pairs;
	struct pairkey_ids	 ids;
	size_t			 count;
	int			 relay;
	struct wbuf		 msg;
};

/* Orders pairs by their two member ids. */
static int
pairkey_cmp(const struct pairkey_pair *a, const struct pairkey_pair *b)
{
	if (a->lo != b->lo)
		return (a->lo < b->lo ? -1 : 1);
	if (a->hi != b->hi)
		return (a->hi < b->hi ? -1 : 1);
	return (0);
}

/* Orders pairs by pair id. */
static int
pairkey_id_cmp(const struct pairkey_pair *a, const struct pairkey_pair *b)
{
	if (a->pair_id != b->pair_id)
		return (a->pair_id < b->pair_id ? -1 : 1);
	return (0);
}

RB_GENERATE_INTERNAL(pairkey_tree, pairkey_pair, entry, pairkey_cmp,
    __attribute__((unused)) static)
RB_GENERATE_INTERNAL(pairkey_ids, pairkey_pair, id_entry, pairkey_id_cmp,
    __attribute__((unused)) static)

/* Makes an empty pair table that routes through presence. */
struct pairkey *
pairkey_new(struct presence *presence)
{
	struct pairkey	*pk;

	if ((pk = calloc(1, sizeof(*pk))) == NULL)
		return (NULL);
	pk->presence = presence;
	RB_INIT(&pk->pairs);
	RB_INIT(&pk->ids);
	wbuf_init(&pk->msg);
	return (pk);
}

/* Unlinks a pair from both members and both trees, then wipes it. */
static void
pairkey_kill(struct pairkey *pk, struct pairkey_pair *pair)
{
	struct pairkey_link	*l;
	int			 i;

	for (i = 0; i < pair->nsides; i++) {
		l = &pair->side[i];
		TAILQ_REMOVE(&l->member->pairs, l, entry);
		l->member->npairs--;
	}
	RB_REMOVE(pairkey_tree, &pk->pairs, pair);
	RB_REMOVE(pairkey_ids, &pk->ids, pair);
	pk->count--;
	sc_wipe(pair, sizeof(*pair));
	free(pair);
}

/* Frees every pair still alive; NULL-safe. */
void
pairkey_free(struct pairkey *pk)
{
	struct pairkey_pair	*pair;

	if (pk == NULL)
		return;
	while ((pair = RB_MIN(pairkey_tree, &pk->pairs)) != NULL)
		pairkey_kill(pk, pair);
	wbuf_free(&pk->msg);
	free(pk);
}

/* Ends every pair of a member. */
void
pairkey_forget(struct pairkey *pk, struct presence_member *m)
{
	struct pairkey_link	*l;

	while ((l = TAILQ_FIRST(&m->pairs)) != NULL)
		pairkey_kill(pk, l->pair);
}

/* Pairs alive. */
size_t
pairkey_count(const struct pairkey *pk)
{
	return (pk->count);
}

/* Finds the pair of two members. */
static struct pairkey_pair *
pairkey_find(struct pairkey *pk, uint64_t a, uint64_t b)
{
	struct pairkey_pair	key;

	key.lo = a < b ? a : b;
	key.hi = a < b ? b : a;
	return (RB_FIND(pairkey_tree, &pk->pairs, &key));
}

/* Finds a pair by its id. */
static struct pairkey_pair *
pairkey_by_id(struct pairkey *pk, uint64_t pair_id)
{
	struct pairkey_pair	key;

	key.pair_id = pair_id;
	return (RB_FIND(pairkey_ids, &pk->ids, &key));
}

/* The flags of a pair's PAIRKEY and CANDIDATES. */
static uint8_t
pairkey_flags(const struct pairkey *pk, const struct pairkey_pair *pair)
{
	return (pk->relay && pair->nsides == 2 ? SC_PAIR_RELAY : 0);
}

/* Hands the message in pk->msg to a member and empties it (wiping keys). */
static int
pairkey_deliver(struct pairkey *pk, struct presence_member *to)
{
	int	rc = -1;

	if (!pk->msg.oom)
		rc = presence_send(pk->presence, to, pk->msg.data,
		    pk->msg.len);
	wbuf_reset(&pk->msg);
	return (rc);
}

/*
 * Sends to member `to` the PAIRKEY of a pair, naming `peer` with its
 * identity key and candidates.  Returns the delivery result (-1: `to` left).
 */
static int
pairkey_send(struct pairkey *pk, const struct pairkey_pair *pair,
    struct presence_member *to, const struct presence_member *peer)
{
	struct sc_cand	c[SC_CAND_MAX];
	size_t		n;

	n = presence_cands(peer, c);
	wbuf_reset(&pk->msg);
	wire_enc_pairkey(&pk->msg, peer->name, pair->pair_id, pair->key,
	    peer->idkey, pairkey_flags(pk, pair), c, n);
	return (pairkey_deliver(pk, to));
}

/*
 * Sends CANDIDATES of pair pair_id to one of its members, first (or, when
 * first is NULL, side 0), then to the other side: each gets the other's
 * list (a pair with itself: one message).  The pair is looked up again
 * before each message, as the first may end it.
 */
static void
pairkey_exchange(struct pairkey *pk, uint64_t pair_id,
    const struct presence_member *first)
{
	struct pairkey_pair	*pair;
	struct presence_member	*to, *peer;
	struct sc_cand		 c[SC_CAND_MAX];
	size_t			 n;
	int			 i, start, sides;

	if ((pair = pairkey_by_id(pk, pair_id)) == NULL)
		return;
	sides = pair->nsides;
	start = sides == 2 && pair->side[1].member == first;
	for (i = 0; i < sides; i++) {
		if (i > 0 && (pair = pairkey_by_id(pk, pair_id)) == NULL)
			return;
		to = pair->side[(start + i) % sides].member;
		peer = pair->side[(start + i + 1) % sides].member;
		n = presence_cands(peer, c);
		wbuf_reset(&pk->msg);
		wire_enc_candidates(&pk->msg, pair_id, pairkey_flags(pk, pair),
		    c, n);
		(void)pairkey_deliver(pk, to);
	}
}

/* Relay on or off; a change goes to every pair in CANDIDATES. */
void
pairkey_set_relay(struct pairkey *pk, int on)
{
	struct pairkey_pair	*pair, key;
	uint64_t		 id;

	on = on != 0;
	if (pk->relay == on)
		return;
	pk->relay = on;
	log_info("pair: relay=%s pairs=%zu", on ? "on" : "off", pk->count);
	pair = RB_MIN(pairkey_ids, &pk->ids);
	while (pair != NULL) {
		id = pair->pair_id;
		pairkey_exchange(pk, id, NULL);
		if (id == UINT64_MAX)
			break;
		key.pair_id = id + 1;
		pair = RB_NFIND(pairkey_ids, &pk->ids, &key);
	}
}

/* Links one side of a pair into its member's list, ending the oldest. */
static void
pairkey_link(struct pairkey *pk, struct pairkey_pair *pair, int i,
    struct presence_member *m)
{
	struct pairkey_link	*l = &pair->side[i];

	while (m->npairs >= PAIRKEY_PER_MEMBER && !TAILQ_EMPTY(&m->pairs))
		pairkey_kill(pk, TAILQ_FIRST(&m->pairs)->pair);
	l->pair = pair;
	l->member = m;
	TAILQ_INSERT_TAIL(&m->pairs, l, entry);
	m->npairs++;
}

/* Handles a PAIR request. */
int
pairkey_request(struct pairkey *pk, struct presence_member *from,
    const char *peer)
{
	struct presence_member	*to;
	struct pairkey_pair	*pair;

	if ((to = presence_lookup(pk->presence, peer)) == NULL)
		return (SC_ERR_OFFLINE);
	if (from->udp_port == 0 || to->udp_port == 0)
		return (SC_ERR_NO_UDP);
	if (!from->has_idkey || !to->has_idkey)
		return (SC_ERR_NO_IDENTITY);

	if ((pair = pairkey_find(pk, from->sid, to->sid)) != NULL) {
		log_debug("pair: again sid=%llu peer=%s pair_id=%016llx",
		    (unsigned long long)from->sid, to->name,
		    (unsigned long long)pair->pair_id);
		(void)pairkey_send(pk, pair, from, to);
		return (0);
	}

	if ((pair = calloc(1, sizeof(*pair))) == NULL)
		return (SC_ERR_INTERNAL);
	pair->lo = from->sid < to->sid ? from->sid : to->sid;
	pair->hi = from->sid < to->sid ? to->sid : from->sid;
	do
		pair->pair_id = sc_random_u64();
	while (pairkey_by_id(pk, pair->pair_id) != NULL);
	sc_random(pair->key, sizeof(pair->key));
	/* Make room first: ending an old pair must not end this one. */
	pairkey_link(pk, pair, 0, from);
	pair->nsides = 1;
	if (to != from) {
		pairkey_link(pk, pair, 1, to);
		pair->nsides = 2;
	}
	RB_INSERT(pairkey_tree, &pk->pairs, pair);
	RB_INSERT(pairkey_ids, &pk->ids, pair);
	pk->count++;
	log_info("pair: new sid=%llu user=%s peer=%s pair_id=%016llx",
	    (unsigned long long)from->sid, from->name, to->name,
	    (unsigned long long)pair->pair_id);

	/*
	 * The peer first: if it cannot take the key it leaves, the pair dies
	 * with it, and the requester is told the peer is offline.
	 */
	if (to != from && pairkey_send(pk, pair, to, from) != 0)
		return (SC_ERR_OFFLINE);
	(void)pairkey_send(pk, pair, from, to);
	return (0);
}

/* The members of a pair, by its id. */
int
pairkey_route(struct pairkey *pk, uint64_t pair_id,
    struct presence_member *side[2])
{
	struct pairkey_pair	*pair;

	side[0] = side[1] = NULL;
	if ((pair = pairkey_by_id(pk, pair_id)) == NULL)
		return (0);
	side[0] = pair->side[0].member;
	if (pair->nsides == 2)
		side[1] = pair->side[1].member;
	return (pair->nsides);
}

/* CANDIDATES for every pair of a member whose candidates changed. */
void
pairkey_announce(struct pairkey *pk, struct presence_member *m)
{
	struct pairkey_link	*l;
	uint64_t		 ids[PAIRKEY_PER_MEMBER];
	size_t			 i, n = 0;

	TAILQ_FOREACH(l, &m->pairs, entry) {
		if (n == PAIRKEY_PER_MEMBER)
			break;
		ids[n++] = l->pair->pair_id;
	}
	for (i = 0; i < n && m->joined; i++)
		pairkey_exchange(pk, ids[i], m);
}

/* RECHECK: candidates again to both sides, once a second per pair. */
int
pairkey_recheck(struct pairkey *pk, struct presence_member *m,
    uint64_t pair_id, uint64_t now_ms)
{
	struct pairkey_pair	*pair;

	pair = pairkey_by_id(pk, pair_id);
	if (pair == NULL || (pair->side[0].member != m &&
	    (pair->nsides < 2 || pair->side[1].member != m)))
		return (SC_ERR_OFFLINE);
	if (pair->recheck_ms != 0 &&
	    now_ms - pair->recheck_ms < PAIRKEY_RECHECK_MS) {
		log_debug("pair: recheck ignored sid=%llu pair_id=%016llx",
		    (unsigned long long)m->sid, (unsigned long long)pair_id);
		return (0);
	}
	pair->recheck_ms = now_ms;
	log_debug("pair: recheck sid=%llu pair_id=%016llx",
	    (unsigned long long)m->sid, (unsigned long long)pair_id);
	pairkey_exchange(pk, pair_id, m);
	return (0);
}
