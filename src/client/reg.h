/* SPDX-License-Identifier: ISC */
/*
 * The client's UDP endpoint as the server learns it (docs/protocol.md,
 * sections 4 and 9): the local addresses a UDP request carries, and the
 * REGISTER datagrams, answered by REGISTERED, that show the server where
 * the client's NAT maps its socket, teach the client that public mapping,
 * and keep the mapping open.  A reg holds no socket: its owner (peer.c)
 * sends what it asks and hands it each datagram from the server.
 */
#ifndef SEALCHAT_CLIENT_REG_H
#define SEALCHAT_CLIENT_REG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"

#include "path.h"

#define REG_RETRY_MS	500	/* REGISTER again until REGISTERED */
#define REG_TRIES	10
#define REG_NOW_GAP_MS	200	/* reg_now() at most this often */

struct reg_ops {
	/* Sends one datagram to the server's UDP endpoint; 0 or -1. */
	int	(*send)(void *arg, const uint8_t *, size_t,
		    const struct sockaddr *, socklen_t);
	/* The first REGISTERED came: the server knows the endpoint. */
	void	(*registered)(void *arg);
};

struct reg_stats {
	uint64_t	tx;		/* REGISTER datagrams sent */
	uint64_t	rx_ok;		/* REGISTERED accepted */
	uint64_t	drop;		/* REGISTERED refused */
};

struct reg;

/* A reg that registers nothing yet; keepalive_ms as udp_keepalive. */
struct reg	*reg_new(struct event_base *, int keepalive_ms,
		    uint64_t (*now)(void), const struct reg_ops *, void *arg);
/* Wipes the keys; NULL-safe. */
void		 reg_free(struct reg *);
/*
 * Begins registering with the server's UDP endpoint from UDPREG: its
 * reg_id and key (wiped by the caller), and whether it relays.  The same
 * reg_id again changes nothing.  -1 when the endpoint is unusable.
 */
int		 reg_start(struct reg *, const struct sockaddr *, socklen_t,
		    uint64_t reg_id, const uint8_t k_reg[SC_KEY_BYTES],
		    int relay);
/*
 * The session that gave the reg_id ended: no more REGISTERs, the keys are
 * wiped, and the next reg_start() begins afresh whatever its reg_id.
 */
void		 reg_stop(struct reg *);
/* A REGISTER now (a path was lost), unless one has just gone. */
void		 reg_now(struct reg *);
/* Something else went to the server's endpoint: it is not idle. */
void		 reg_sent(struct reg *);
/*
 * A datagram from the server's UDP endpoint whose byte 0 is REGISTERED:
 * 0 when it answered one of ours, -1 when dropped (and counted).
 */
int		 reg_input(struct reg *, const uint8_t *, size_t);
int		 reg_registered(const struct reg *);
/* The server said it relays (UDPREG flag RELAY). */
int		 reg_relay(const struct reg *);
/* The server's UDP endpoint and its length; 0 before reg_start(). */
socklen_t	 reg_server(const struct reg *, union path_sa *);
/* Where the NAT maps our socket, from REGISTERED: 0, or -1 not yet. */
int		 reg_public(const struct reg *, struct sc_cand *);
const struct reg_stats *reg_stats(const struct reg *);
/* Does what is due now (the timer's work; tests call it too). */
void		 reg_run(struct reg *);
/* When reg_run() is next due; 0 when never. */
uint64_t	 reg_next(const struct reg *);

/*
 * The local addresses of a socket bound to bound, for a UDP request: the
 * address itself, or, bound to a wildcard, the addresses of the machine's
 * interfaces of that family that are up; at most SC_HOST_MAX, never a
 * link-local, unspecified or multicast one, loopback only when
 * allow_loopback.  Their number.
 */
size_t		 reg_hosts(const struct sockaddr *bound, int allow_loopback,
		    struct sc_cand out[SC_HOST_MAX]);

#endif
