/* SPDX-License-Identifier: ISC */
/*
 * Sliding replay window (docs/protocol.md, section 8): the highest number
 * accepted and a 64-bit bitmap of the 64 numbers at and below it.  The peer
 * code uses one for datagram counters (checked before the MAC, moved only
 * after it) and one for message ids (duplicate suppression).
 */
#ifndef SEALCHAT_CLIENT_REPLAY_H
#define SEALCHAT_CLIENT_REPLAY_H

#include <stdint.h>

#define REPLAY_WIDTH	64

struct replay {
	uint64_t	top;	/* highest number accepted */
	uint64_t	bits;	/* bit i set: top - i was accepted */
	int		any;	/* 0 until the first number is accepted */
};

/* An empty window: every number is fresh. */
void	replay_init(struct replay *);
/*
 * 1 when n has not been accepted yet and is not more than 63 below the
 * highest accepted number; 0 for a duplicate or a stale number.  Changes
 * nothing, so it may be called before the MAC is checked.
 */
int	replay_check(const struct replay *, uint64_t n);
/* Marks n as accepted (after a successful replay_check() and MAC check). */
void	replay_update(struct replay *, uint64_t n);

#endif
