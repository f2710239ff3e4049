/* SPDX-License-Identifier: ISC */
/*
 * The server's name, resolved off the event loop.  getaddrinfo(3) may wait
 * on a slow or silent resolver far longer than connect_timeout, and while
 * it waits the loop runs nothing, not even the callback of a SIGINT: so
 * each lookup runs in a thread of its own and reports through a socket
 * the loop watches.  The connection's deadline then covers the lookup, and
 * a lookup given up (deadline, signal, end) never calls back.
 */
#ifndef SEALCHAT_CLIENT_RESOLVE_H
#define SEALCHAT_CLIENT_RESOLVE_H

#include <netdb.h>

#include <event2/event.h>

/*
 * The lookup's outcome, on the loop: gai_rc as getaddrinfo() returned it;
 * on success ai, which the callee owns (freeaddrinfo).
 */
typedef void	(*resolve_fn)(void *arg, int gai_rc, struct addrinfo *ai);

struct resolve;

/*
 * Starts resolving host and the numeric port for a TCP connection; fn
 * runs on the loop once it is over.  NULL when no thread can be started.
 */
struct resolve	*resolve_start(struct event_base *, const char *host,
		    const char *port, resolve_fn fn, void *arg);
/* Gives the lookup up: fn never runs; NULL-safe. */
void		 resolve_cancel(struct resolve *);

#endif
