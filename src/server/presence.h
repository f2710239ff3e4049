/* SPDX-License-Identifier: ISC */
/*
 * Presence: who is online, and telling every online client who comes and
 * goes.  This is the one seam between a connection and everybody else: the
 * roster (canonical name -> member, in byte order of the names), the
 * journal of presence events, and the routing of a message to a member by
 * name.  It knows nothing of sessions, sockets or keys; a member is the
 * part of a session that the rest of the server may see, and messages leave
 * through the one delivery callback given to presence_new().
 *
 * Fan-out is built for the login storm.  Every event is appended, already
 * encoded as a PRESENCE entry, to one journal shared by all members; each
 * member holds a cursor (an absolute byte offset) into it.  A join appends
 * one entry and starts the new member's cursor after it.  One low-priority
 * flush runs after the I/O callbacks of a loop turn and hands every member
 * that is behind the end its slice of the journal in as few PRESENCE
 * messages as max_msg allows; the journal is then cut to the oldest cursor.
 * So every member sees the same events in the same order, never its own.
 *
 * The roster is also kept encoded, as the entries of a USERS list back to
 * back in name order with a sorted array of their offsets (about
 * 5 + name length bytes per member), so a login's list is a few copies of
 * slices of it rather than a walk over every member.
 */
#ifndef SEALCHATD_PRESENCE_H
#define SEALCHATD_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <event2/event.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"

struct pairkey_link;
TAILQ_HEAD(presence_pairs, pairkey_link);

/*
 * One online user, embedded in its owner (the session).  The owner sets it
 * up with presence_member_init(); the fields are read-only outside
 * presence.c, except pairs and npairs, which belong to pairkey.c.
 *
 * Its candidates are where peers may reach it over UDP: the HOST
 * addresses its owner accepted from its UDP request (presence_set_hosts),
 * each with the request's port, and the SRFLX endpoint its last REGISTER
 * came from (presence_set_srflx, by udp.c).  They are what PAIRKEY and
 * CANDIDATES carry to its peers, and the relay's routing.  Its identity
 * key, set by its owner from the user's IDENTITY, goes to its peers in
 * PAIRKEY.  The mail_ fields belong to mailbox.c: the stored messages
 * sent to the member and not yet acknowledged.
 */
struct presence_member {
	RB_ENTRY(presence_member) entry;	/* roster, by name */
	uint64_t		 sid;		/* owner's id */
	uint64_t		 cursor;	/* journal offset */
	struct presence_pairs	 pairs;		/* its pair keys */
	uint32_t		 npairs;
	uint16_t		 udp_port;	/* 0: no UDP request yet */
	uint8_t			 nhosts;
	uint8_t			 joined;
	uint8_t			 name_len;
	char			 name[SC_NAME_MAX + 1];
	struct sc_cand		 hosts[SC_HOST_MAX];
	struct sc_cand		 srflx;		/* port 0: none */
	uint8_t			 has_idkey;	/* IDENTITY came */
	uint8_t			 idkey[SC_KEY_BYTES];	/* its key */
	/* Stored messages (mailbox.c's): the delivery window. */
	int64_t			 mail_seq;	/* last one sent */
	uint8_t			*mail_ids;	/* those not acknowledged */
	uint32_t		 mail_inflight;	/* how many */
};

/*
 * Hands one encoded message (type byte + payload, at most max_msg bytes)
 * to a member's owner.  Returns 0, or -1 when the owner could not take it
 * and has left (presence_leave() was called from inside the callback).
 */
typedef int	(*presence_deliver_cb)(struct presence_member *,
		    const uint8_t *msg, size_t len, void *arg);

struct presence;

/*
 * Makes the roster and its flush events on base (which must have two
 * priorities: the flush runs at priority 1).  max_msg is the largest
 * message a client takes (its max_frame less the MAC).
 */
struct presence	*presence_new(struct event_base *, size_t max_msg,
		    presence_deliver_cb, void *arg);
void		 presence_free(struct presence *);	/* NULL-safe */

/* Sets up a member, not online yet, for the owner of id sid. */
void		 presence_member_init(struct presence_member *,
		    uint64_t sid);
/*
 * The member's UDP port (not 0) and HOST addresses (hosts[0..n), n at
 * most SC_HOST_MAX), which become HOST candidates with that port.
 * Returns 1 when the port or the list changed, else 0.
 */
int		 presence_set_hosts(struct presence_member *, uint16_t port,
		    const struct sc_cand *hosts, size_t n);
/* The member's SRFLX endpoint; 1 when it is new or changed, else 0. */
int		 presence_set_srflx(struct presence_member *,
		    const struct sc_cand *);
/*
 * The member's candidates as PAIRKEY and CANDIDATES carry them: the HOST
 * entries in the order given, then the SRFLX one.  Returns how many.
 */
size_t		 presence_cands(const struct presence_member *,
		    struct sc_cand out[SC_CAND_MAX]);

/*
 * Puts the member online under name (canonical), appends its "online"
 * event, and starts its cursor after that event.  -1 when the name is
 * online already (the caller replaces the old member first) or there is
 * no memory to list it (nothing changed; the caller reports an error).
 */
int		 presence_join(struct presence *, struct presence_member *,
		    const char *name);
/* Takes the member off the roster and appends its "offline" event. */
void		 presence_leave(struct presence *,
		    struct presence_member *);
/* The online member of that name, or NULL. */
struct presence_member *presence_lookup(struct presence *, const char *name);
/* Online members. */
size_t		 presence_online(const struct presence *);

/* Routes one encoded message to a member; as the delivery callback. */
int		 presence_send(struct presence *, struct presence_member *,
		    const uint8_t *msg, size_t len);
/*
 * Sends the member the list of everyone else online, in name order, as
 * USERS messages with flags (plus MORE on all but the last).  Events still
 * owed to the member are delivered first, so the list is never older than
 * what the member was told.  Returns the bytes of messages handed over, or
 * -1 when the member left during delivery.
 */
long		 presence_send_users(struct presence *,
		    struct presence_member *, uint8_t flags);

/* Delivers the journal to every member now (normally run by the loop). */
void		 presence_flush(struct presence *);
/* Bytes of journal retained (for tests and status). */
size_t		 presence_journal_len(const struct presence *);

#endif
