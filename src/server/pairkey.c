/* SPDX-License-Identifier: ISC */
/*
 * Pair keys (see pairkey.h).  Pairs are found by the ids of their two
 * members in a red-black tree, and each member lists its pairs (oldest
 * first) so that they all die with it.  A pair with itself has one side.
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
	RB_ENTRY(pairkey_pair)	 entry;
	uint64_t		 lo;		/* smaller member id */
	uint64_t		 hi;
	uint64_t		 pair_id;
	uint8_t			 key[SC_KEY_BYTES];
	struct pairkey_link	 side[2];	/* one for self */
	int			 nsides;
};

RB_HEAD(pairkey_tree, pairkey_pair);

struct pairkey {
	struct presence		*presence;
	struct pairkey_tree	 pairs;
	size_t			 count;
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

RB_GENERATE_INTERNAL(pairkey_tree, pairkey_pair, entry, pairkey_cmp,
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
	wbuf_init(&pk->msg);
	return (pk);
}

/* Unlinks a pair from both members and the tree, then wipes it. */
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

/*
 * Sends to member `to` the PAIRKEY of a pair, naming `peer` and its UDP
 * endpoint.  Returns the delivery result (-1: `to` left).
 */
static int
pairkey_send(struct pairkey *pk, const struct pairkey_pair *pair,
    struct presence_member *to, const struct presence_member *peer)
{
	struct sc_cand	c;
	int		rc;

	memset(&c, 0, sizeof(c));
	c.kind = SC_CAND_HOST;
	c.af = peer->af;
	memcpy(c.addr, peer->addr, sizeof(c.addr));
	c.port = peer->udp_port;
	wbuf_reset(&pk->msg);
	wire_enc_pairkey(&pk->msg, peer->name, pair->pair_id, pair->key, 0,
	    &c, 1);
	if (pk->msg.oom) {
		wbuf_reset(&pk->msg);
		return (-1);
	}
	rc = presence_send(pk->presence, to, pk->msg.data, pk->msg.len);
	wbuf_reset(&pk->msg);	/* wipes the key copy */
	return (rc);
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
	if (from->udp_port == 0 || to->udp_port == 0 ||
	    (from->af != 4 && from->af != 6) || (to->af != 4 && to->af != 6))
		return (SC_ERR_NO_UDP);

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
	pair->pair_id = sc_random_u64();
	sc_random(pair->key, sizeof(pair->key));
	/* Make room first: ending an old pair must not end this one. */
	pairkey_link(pk, pair, 0, from);
	pair->nsides = 1;
	if (to != from) {
		pairkey_link(pk, pair, 1, to);
		pair->nsides = 2;
	}
	RB_INSERT(pairkey_tree, &pk->pairs, pair);
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
