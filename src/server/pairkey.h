/* SPDX-License-Identifier: ISC */
/*
 * Pair keys: when user Y asks to talk to X, the server makes a fresh
 * symmetric key Kxy and a random pair id, ties them to the two members
 * (their current sessions), and hands both, each with the other's
 * identity key and candidates (where it may be reached over UDP), to both
 * sides.  Kxy is only the pre-shared key of the peers' own handshake: the
 * keys of their datagrams come out of that, and the server cannot compute
 * them (docs/protocol.md, section 8).  Part of
 * the presence seam: peers are found with presence_lookup() and PAIRKEY
 * and CANDIDATES messages leave through presence_send(), so this file sees
 * members, never sessions.  It is also the relay's routing: which two
 * members a pair id joins (pairkey_route()).
 *
 * A pair dies, its key wiped, when either member leaves.  A member holds at
 * most PAIRKEY_PER_MEMBER pairs; a new one past that ends its oldest.
 */
#ifndef SEALCHATD_PAIRKEY_H
#define SEALCHATD_PAIRKEY_H

#include <stddef.h>
#include <stdint.h>

#include "presence.h"

#define PAIRKEY_PER_MEMBER	1024
#define PAIRKEY_RECHECK_MS	1000	/* one RECHECK per pair per */

struct pairkey;

struct pairkey	*pairkey_new(struct presence *);
void		 pairkey_free(struct pairkey *);	/* NULL-safe */

/*
 * Whether the server relays (the RELAY flag of PAIRKEY and CANDIDATES;
 * never on a pair of a user with itself).  Off at pairkey_new().  A
 * change is told to both sides of every live pair, in CANDIDATES.
 */
void		 pairkey_set_relay(struct pairkey *, int on);

/*
 * Handles PAIR peer from a member: 0 when PAIRKEY messages were sent, else
 * the error code for the requester (SC_ERR_OFFLINE, SC_ERR_NO_UDP,
 * SC_ERR_NO_IDENTITY when either has sent no IDENTITY, SC_ERR_INTERNAL).
 * Each side's PAIRKEY carries the other's identity key.  An existing
 * pair of the two is sent again, to the requester only; a member asking
 * for itself gets one PAIRKEY with its own candidates.
 */
int		 pairkey_request(struct pairkey *, struct presence_member *,
		    const char *peer);
/* Ends (and wipes) every pair of a member; call before presence_leave(). */
void		 pairkey_forget(struct pairkey *, struct presence_member *);
/* Pairs alive. */
size_t		 pairkey_count(const struct pairkey *);

/*
 * The members of the live pair pair_id: returns 2 with both in side[0]
 * and side[1], 1 for a pair of a user with itself (side[0]), 0 when no
 * pair has that id.
 */
int		 pairkey_route(struct pairkey *, uint64_t pair_id,
		    struct presence_member *side[2]);
/*
 * The member's candidates changed: CANDIDATES to both sides of each of its
 * pairs, each side getting the other's list.
 */
void		 pairkey_announce(struct pairkey *, struct presence_member *);
/*
 * RECHECK pair_id from a member: CANDIDATES of the peer to it, then its
 * own to the peer, at most once per PAIRKEY_RECHECK_MS per pair (more are
 * ignored).  0, or SC_ERR_OFFLINE when pair_id is not one of its pairs.
 */
int		 pairkey_recheck(struct pairkey *, struct presence_member *,
		    uint64_t pair_id, uint64_t now_ms);

#endif
