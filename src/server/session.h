/*
 * One client connection: its state machine, its encrypted channel, its
 * input reassembly and its output queue.  See session.c for the flow.
 */
#ifndef SEALCHATD_SESSION_H
#define SEALCHATD_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "hashpool.h"
#include "presence.h"
#include "server.h"

enum session_state {
	SESSION_HANDSHAKE = 0,	/* waiting for HELLO */
	SESSION_GREETED,	/* CONFIRM sent; SIGN or AUTH may come */
	SESSION_HASHING,	/* a SIGN or AUTH is delayed or being hashed */
	SESSION_ONLINE,		/* logged in */
	SESSION_CLOSING,	/* flushing its last output, then gone */
};

/* Bound on the flush of a closing session's last output, in seconds. */
#define SESSION_LINGER_SEC	2

/*
 * Takes an accepted connection (fd non-blocking, limits already checked
 * and its unauthenticated slot counted by the caller).  On failure the fd
 * is closed, the slot released, and -1 returned.
 */
int	session_accept(struct server *, int fd, const struct sockaddr *,
	    socklen_t);
/* hashpool.c's result callback (arg: the server); finds the session by id. */
void	session_auth_done(const struct hashpool_result *, void *arg);
/* presence.c's delivery callback: seals one message for the member. */
int	session_deliver(struct presence_member *, const uint8_t *msg,
	    size_t len, void *arg);
/* Writes the queued output of every session in the write queue. */
void	session_write_queued(struct server *);
/* Frees the sessions closed since the last call. */
void	session_reap(struct server *);
/* Shutdown: GOODBYE reason to every session, which then flush and close. */
void	session_goodbye_all(struct server *, uint8_t reason);
/* Closes every session at once (end of shutdown) and frees them. */
void	session_close_all(struct server *);
/* Name of a state for log lines. */
const char *session_state_name(enum session_state);

#endif
