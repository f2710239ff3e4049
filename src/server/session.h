/* SPDX-License-Identifier: ISC */
/*
 * The daemon's client connections: each session's state machine, its
 * encrypted channel, its input reassembly and its output queue, and the
 * set that owns them all (by id, the write queue, the closed ones waiting
 * to be freed).  See session.c for the flow.
 *
 * The set knows the rest of the daemon only through struct session_env:
 * an event base, the configuration, the key pair, the presence seam, pair
 * keys, the UDP side (where sessions register for REGISTER), the
 * throttle, and one function that takes password-hash jobs.
 * It calls nothing in server.c, so a test or a fuzz target can make a set
 * of its own and drive sessions over socketpairs.
 */
#ifndef SEALCHATD_SESSION_H
#define SEALCHATD_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "config.h"
#include "metrics.h"
#include "presence.h"
#include "udp.h"

struct throttle;
struct pairkey;
struct mailbox;

/* Session states, as metrics and logs name them (session_state_name). */
#define SESSION_STATES	METRICS_STATES

/*
 * Hands a SIGN or AUTH (op) for the session sid to the password hashing,
 * to start after delay_ms (the failed-login slowing; the password waits in
 * guarded memory meanwhile), with rank the attempts its address already
 * has in progress (jobs of lower rank are hashed first).  A handle (>= 0)
 * when taken: the outcome comes back through session_set_hash_done().  -1
 * when it cannot be taken now: the client gets ERROR 5.  control.c hands
 * the operator's jobs the same way, with sid its request's id, no delay
 * and rank 0.
 */
typedef int	(*session_hash_fn)(void *arg, uint64_t sid, uint8_t op,
		    const char *name, const uint8_t *pass, size_t pass_len,
		    uint64_t delay_ms, unsigned rank);
/*
 * The session sid, whose job has handle, is gone: its job need not run.
 * Its outcome may still come back (a hash already running), and finds no
 * session.
 */
typedef void	(*session_withdraw_fn)(void *arg, int handle, uint64_t sid);

/* What a set of sessions works with; the caller owns it all. */
struct session_env {
	struct event_base	 *base;		/* two priorities */
	const struct server_conf *conf;		/* read at each use */
	const struct sc_keypair	 *kp;
	struct presence		 *presence;
	struct pairkey		 *pairkey;
	struct udp		 *udp;
	struct throttle		 *throttle;
	struct mailbox		 *mailbox;	/* NULL: no stored messages */
	struct metrics		 *metrics;	/* NULL: the set's own */
	session_hash_fn		  hash;
	session_withdraw_fn	  withdraw;	/* NULL: nothing to withdraw */
	void			 *hash_arg;
};

/* What the operator sees of a session logged in (sealchatctl who). */
struct session_info {
	uint64_t	sid;
	char		name[SC_NAME_MAX + 1];
	char		addr[64];	/* "192.0.2.1", "2001:db8::1" */
	uint64_t	since;		/* Unix time of the login */
	uint64_t	idle_ms;	/* since its last request but PING */
};

typedef void	(*session_walk_fn)(const struct session_info *, void *arg);

struct session_set;

/*
 * Makes an empty set.  conf's max_frame is taken now (it sizes a buffer
 * and cannot change while the set lives); the other values are read where
 * they are used, so a reload that rewrites *conf reaches every session.
 * Events run at priority 0.  NULL when out of memory.
 */
struct session_set *session_set_new(const struct session_env *);
/* Closes every session at once and frees the set; NULL-safe. */
void		 session_set_free(struct session_set *);
/* Makes the session timeouts again after the configuration changed. */
void		 session_set_timeouts(struct session_set *);
/*
 * Takes an accepted connection (fd non-blocking, caps already checked, and
 * counted in the throttle by the caller: one session and one
 * unauthenticated slot of its address).  On failure the fd is closed, both
 * counts released, and -1 returned.
 */
int		 session_set_accept(struct session_set *, int fd,
		    const struct sockaddr *, socklen_t);
/*
 * The outcome of a hash job: status 0 logs the session in as name, else
 * it is the ERROR code to send.  A session that is gone, or no longer
 * waiting for it, is not touched.
 */
void		 session_set_hash_done(struct session_set *, uint64_t sid,
		    uint8_t op, int status, const char *name);
/*
 * Shutdown: GOODBYE reason to every session, which then flushes and
 * closes.  empty(arg) runs when the last session has closed.
 */
void		 session_set_goodbye_all(struct session_set *, uint8_t reason,
		    void (*empty)(void *), void *arg);
/*
 * Makes room in a full table of connections not logged in: closes the
 * oldest connection that has not sent its HELLO of the address (IPv6:
 * prefix) that holds the most connections not logged in.  0 when one was
 * closed, -1 when every such connection has sent its HELLO.
 */
int		 session_set_evict_idle(struct session_set *);
/* Open sessions, and those among them not logged in. */
size_t		 session_set_count(const struct session_set *);
size_t		 session_set_unauth(const struct session_set *);
/* Open sessions in each state, indexed as session_state_name() names. */
void		 session_set_states(const struct session_set *,
		    uint64_t out[SESSION_STATES]);
/* The name of a state ("handshake", "greeted"...), "unknown" past them. */
const char	*session_state_name(int);
/*
 * Hands fn the sessions logged in whose id is above after, in the order
 * of their ids, at most max of them.  Returns the after of the next page,
 * or 0 when the walk is done.
 */
uint64_t	 session_set_walk(struct session_set *, uint64_t after,
		    size_t max, session_walk_fn fn, void *arg);
/*
 * Ends the session of user name (canonical) with GOODBYE reason.  With
 * bar, not 0, a login of that name still being checked is refused with
 * the ERROR code bar even if it succeeds: a lock or a deletion that the
 * store committed must not let a login that raced it in.  Returns 1 when
 * a session was ended, 0 when the user was not online.
 */
int		 session_set_end_user(struct session_set *, const char *name,
		    uint8_t reason, uint8_t bar);
/* presence.c's delivery callback: seals one message for the member. */
int		 session_deliver(struct presence_member *, const uint8_t *msg,
		    size_t len, void *arg);

#endif
