/* SPDX-License-Identifier: ISC */
/*
 * The users online, as the server tells them (docs/protocol.md, section 4):
 * USERS lists, each of which may span several frames, and PRESENCE events
 * in between.  The set is kept sorted and without repeats, for completion;
 * a list being received is kept as it came, in the server's order, until it
 * is complete and shown.
 */
#ifndef SEALCHAT_CLIENT_ROSTER_H
#define SEALCHAT_CLIENT_ROSTER_H

#include <stddef.h>

#include "sealchat/wire.h"

/* Names in a list or in the set; a longer list is a protocol failure. */
#define ROSTER_MAX	100000

struct roster;

/* An empty set; NULL when out of memory. */
struct roster	*roster_new(void);
/* Frees every name; NULL-safe. */
void		 roster_free(struct roster *);
/*
 * Takes one USERS frame (decoded by wire_msg_decode).  A frame whose REPLY
 * flag differs from that of the list being received starts the list again.
 * Returns 0 while more frames follow, 1 when the list is complete
 * (roster_received() gives it until roster_commit()), -1 when it grows past
 * ROSTER_MAX or memory runs out.
 */
int		 roster_users(struct roster *, const struct sc_msg *);
/* The list last completed, as received. */
const char *const *roster_received(const struct roster *, size_t *n);
/* Makes the list last completed the set (sorted, repeats dropped). */
void		 roster_commit(struct roster *);
/* A user came online: added in order, once, while the set has room. */
void		 roster_insert(struct roster *, const char *name);
/* A user went offline. */
void		 roster_remove(struct roster *, const char *name);
/* Tells whether name is in the set. */
int		 roster_has(const struct roster *, const char *name);
/* Empties the set and any list being received (the session was lost). */
void		 roster_clear(struct roster *);
/* The users online, sorted. */
const char *const *roster_names(const struct roster *, size_t *n);

#endif
