/* SPDX-License-Identifier: ISC */
/*
 * Pair keys: when user Y asks to talk to X, the server makes a fresh
 * symmetric key Kxy and a random pair id, ties them to the two members
 * (their current sessions), and hands both, each with the other's UDP
 * endpoint as observed by the server, to both sides.  Part of the presence
 * seam: peers are found with presence_lookup() and PAIRKEY messages leave
 * through presence_send(), so this file sees members, never sessions.
 *
 * A pair dies, its key wiped, when either member leaves.  A member holds at
 * most PAIRKEY_PER_MEMBER pairs; a new one past that ends its oldest.
 */
#ifndef SEALCHATD_PAIRKEY_H
#define SEALCHATD_PAIRKEY_H

#include <stddef.h>

#include "presence.h"

#define PAIRKEY_PER_MEMBER	1024

struct pairkey;

struct pairkey	*pairkey_new(struct presence *);
void		 pairkey_free(struct pairkey *);	/* NULL-safe */

/*
 * Handles PAIR peer from a member: 0 when PAIRKEY messages were sent, else
 * the error code for the requester (SC_ERR_OFFLINE, SC_ERR_NO_UDP,
 * SC_ERR_INTERNAL).  An existing pair of the two is sent again, to the
 * requester only; a member asking for itself gets one PAIRKEY with its own
 * endpoint.
 */
int		 pairkey_request(struct pairkey *, struct presence_member *,
		    const char *peer);
/* Ends (and wipes) every pair of a member; call before presence_leave(). */
void		 pairkey_forget(struct pairkey *, struct presence_member *);
/* Pairs alive. */
size_t		 pairkey_count(const struct pairkey *);

#endif
