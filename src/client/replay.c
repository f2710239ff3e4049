/* SPDX-License-Identifier: ISC */
/*
 * Sliding replay window over 64-bit sequence numbers.  Bit 0 of the bitmap
 * stands for the highest number accepted, bit i for the number i below it.
 * A number ahead of the window slides it forward; a jump of 64 or more
 * clears it.
 */
#include "replay.h"

/* Starts an empty window. */
void
replay_init(struct replay *r)
{
	r->top = 0;
	r->bits = 0;
	r->any = 0;
}

/* Tells whether n would be accepted, without changing the window. */
int
replay_check(const struct replay *r, uint64_t n)
{
	uint64_t	behind;

	if (!r->any || n > r->top)
		return (1);
	behind = r->top - n;
	if (behind >= REPLAY_WIDTH)
		return (0);
	return ((r->bits & ((uint64_t)1 << behind)) == 0);
}

/* Records n as accepted; the caller has checked it with replay_check(). */
void
replay_update(struct replay *r, uint64_t n)
{
	uint64_t	shift, behind;

	if (!r->any) {
		r->any = 1;
		r->top = n;
		r->bits = 1;
		return;
	}
	if (n > r->top) {
		shift = n - r->top;
		r->bits = shift >= REPLAY_WIDTH ? 0 : r->bits << shift;
		r->bits |= 1;
		r->top = n;
		return;
	}
	behind = r->top - n;
	if (behind < REPLAY_WIDTH)
		r->bits |= (uint64_t)1 << behind;
}
