/* SPDX-License-Identifier: ISC */
/*
 * The way to one peer (docs/protocol.md, section 10): the peer's
 * candidates, the connectivity checks that confirm them, the choice of the
 * path its datagrams take (direct, or the server's relay), and keeping
 * that path open.  A path holds no key and no socket: it asks its owner
 * (peer.c) to send each PROBE and is told of every PROBE and PROBE_ACK
 * that opened.  Time comes from the clock in its configuration, so the
 * unit tests can run it on a fake one; a libevent timer calls path_run()
 * when the next thing is due.
 */
#ifndef SEALCHAT_CLIENT_PATH_H
#define SEALCHAT_CLIENT_PATH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <event2/event.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"

/* Candidates of one pair: the server's, and those learned from PROBEs. */
#define PATH_PRFLX_MAX		4
#define PATH_CAND_MAX		(SC_CAND_MAX + PATH_PRFLX_MAX)
/* The kind of a candidate learned from a PROBE that opened. */
#define PATH_CAND_PRFLX		3

/* The timing of section 10, in milliseconds. */
#define PATH_CHECK_MS		100	/* PROBEs to an unconfirmed candidate */
#define PATH_OPEN_COUNT		3	/* TTL-limited opening PROBEs */
#define PATH_OPEN_GAP_MS	10
#define PATH_NO_GO_MS		200	/* full checks without a relay */
#define PATH_SETTLE_MS		20	/* a host confirmed this soon wins */
#define PATH_UPGRADE_MS		5000	/* first wait before a new round */
#define PATH_UPGRADE_MAX_MS	60000
#define PATH_KA_WAIT_MS		1000	/* answer to a keepalive PROBE */
#define PATH_KA_MISSES		3
#define PATH_LOST_GAP_MS	1000	/* RECHECK at most this often */

/*
 * PROBEs sent, bounded by token buckets: each pair's, and one shared by
 * all pairs (a struct path_limit the owner keeps).
 */
#define PATH_RATE_MS		10	/* a pair: one PROBE per 10 ms */
#define PATH_BURST		40
#define PATH_SHARED_RATE_MS	2	/* all pairs: one per 2 ms */
#define PATH_SHARED_BURST	200

enum path_state {
	PATH_CHECKING,	/* no path yet: messages wait */
	PATH_DIRECT,	/* a confirmed endpoint of the peer */
	PATH_RELAY,	/* through the server's UDP endpoint */
};

/* A socket address of either family, small enough to keep many of. */
union path_sa {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

/* The token bucket that all pairs share. */
struct path_limit {
	int		tokens;
	uint64_t	at_ms;
};

struct path_conf {
	int			 direct_timeout_ms;
	int			 keepalive_ms;
	int			 punch_ttl;	/* 0: no opening PROBEs */
	int			 allow_loopback; /* server on loopback */
	int			 family;	/* the socket's; AF_UNSPEC */
	int			 map_v4;	/* IPv6 socket reaches IPv4 */
	struct path_limit	*limit;		/* shared; NULL: none */
	uint64_t		(*now)(void);	/* milliseconds */
};

/* What a path asks of its owner. */
struct path_ops {
	/*
	 * Sends a PROBE with this id to sa; ttl > 0 sets the IP TTL (hop
	 * limit) of that one datagram.  0, or -1 when it was not sent.
	 */
	int	(*probe)(void *arg, uint64_t id, const struct sockaddr *,
		    socklen_t, int ttl);
	/* Sends a PROBE through the server's relay. */
	int	(*probe_relay)(void *arg, uint64_t id);
	/* The path changed: waiting messages may go on the new one. */
	void	(*changed)(void *arg);
	/* The path was lost: the server should hear RECHECK and REGISTER. */
	void	(*lost)(void *arg);
};

struct path_stats {
	uint64_t	probes;		/* direct PROBEs sent */
	uint64_t	opening;	/* of them with a short TTL */
	uint64_t	relayed;	/* PROBEs through the relay */
	uint64_t	limited;	/* not sent: over the rate */
	uint64_t	refused;	/* addresses refused by the rules */
	uint64_t	stray_acks;	/* PROBE_ACKs that answer nothing */
	uint64_t	rounds;		/* rounds of checks begun */
	uint64_t	losses;		/* paths lost */
};

/* What `peers` shows of a path. */
struct path_info {
	enum path_state		state;
	union path_sa		addr;		/* the endpoint when DIRECT */
	int			rtt_ms;		/* -1: not measured */
};

struct path;

/*
 * A path with no candidates; name is for log lines.  The checks begin
 * with the first path_set_candidates().  NULL when out of memory.
 */
struct path	*path_new(struct event_base *, const struct path_conf *,
		    const char *name, const struct path_ops *, void *arg);
void		 path_free(struct path *);	/* NULL-safe */
/*
 * The peer's candidates from PAIRKEY or CANDIDATES.  Those the address
 * rules refuse are dropped and counted; learned ones are kept.  A new
 * round of checks begins at once when force is set or the list changed.
 */
void		 path_set_candidates(struct path *, const struct sc_cand *,
		    size_t n, int force);
/* Whether the relay may carry this pair (RELAY, and registered). */
void		 path_set_relay(struct path *, int usable);
/* A PROBE of the peer opened, from sa (relayed: through the server). */
void		 path_probe_in(struct path *, const struct sockaddr *,
		    socklen_t, int relayed);
/* A PROBE_ACK opened: 0 when it answered one of our PROBEs, else -1. */
int		 path_probe_ack(struct path *, uint64_t id,
		    const struct sockaddr *, socklen_t, int relayed);
/* A datagram left for sa (or the relay): the path is not idle. */
void		 path_sent(struct path *, const struct sockaddr *, socklen_t,
		    int relayed);
/* A message on the path went unacknowledged: the path is lost. */
void		 path_lose(struct path *);
/*
 * The probes changed (the peers' handshake ended, or is still waiting
 * for an answer): the candidates being checked get a PROBE now rather
 * than at their next turn; with no round running and no direct path, a
 * round begins now.
 */
void		 path_kick(struct path *);
enum path_state	 path_state(const struct path *);
/* Changes with every new path; a message remembers the one it went on. */
uint32_t	 path_gen(const struct path *);
/* Where datagrams go when DIRECT: the endpoint, its length; else 0. */
socklen_t	 path_target(const struct path *, union path_sa *);
void		 path_info(const struct path *, struct path_info *);
const struct path_stats *path_stats(const struct path *);
/* Does what is due now (the timer's work; the tests call it too). */
void		 path_run(struct path *);
/* When path_run() is next due (the clock's time); 0 when never. */
uint64_t	 path_next(const struct path *);

/* "checking", "direct" or "relay". */
const char	*path_state_name(enum path_state);
/*
 * Tells whether datagrams may go to sa: never to port 0, an unspecified,
 * multicast, broadcast, reserved or link-local address, nor to loopback
 * unless allow_loopback (the server itself is on loopback).
 */
int		 path_addr_ok(const struct sockaddr *, int allow_loopback);
/* Tells whether two addresses are the same endpoint (IPv4-mapped too). */
int		 path_sa_equal(const struct sockaddr *,
		    const struct sockaddr *);
/*
 * The address of a candidate for a socket of the family (AF_UNSPEC: any),
 * IPv4 as IPv4-mapped IPv6 when map_v4; its length, or 0 when that socket
 * cannot reach it.
 */
socklen_t	 path_cand_sa(union path_sa *, const struct sc_cand *,
		    int family, int map_v4);
/*
 * Sends one datagram with the IP TTL (IPv6: the unicast hop limit) set to
 * ttl, then puts the socket's value back.  Returns what sendto() returns.
 */
ssize_t		 path_sendto_ttl(int fd, const void *, size_t,
		    const struct sockaddr *, socklen_t, int ttl);

#endif
