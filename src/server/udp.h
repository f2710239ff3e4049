/* SPDX-License-Identifier: ISC */
/*
 * The daemon's UDP side (docs/protocol.md, section 9): one socket per
 * address the daemon listens on, on port udp_port, that answers REGISTER
 * with REGISTERED (so that a client learns, and the server records, the
 * endpoint its NAT maps it to) and relays peer datagrams between the two
 * registered endpoints of a live pair.
 *
 * What it knows of the rest of the daemon: the registrations that
 * sessions add and remove (struct udp_reg, embedded in its owner as the
 * presence member is), the presence members they point to (whose SRFLX
 * endpoint it sets), pair keys for the relay's routing and for CANDIDATES
 * (pairkey_route(), pairkey_announce()), and the throttle for the rate of
 * registrations per address.  It never sees a session.
 *
 * Every datagram's fate is counted (struct udp_stats).  Nothing is ever
 * sent for a datagram that failed a check, and nothing longer than the
 * datagram that caused it: a REGISTERED has the REGISTER's length, a
 * relayed datagram goes on unchanged.
 */
#ifndef SEALCHATD_UDP_H
#define SEALCHATD_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <bsd/sys/tree.h>

#include <event2/event.h>

#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "config.h"
#include "throttle.h"

#define UDP_SOCKETS_MAX	8	/* addresses listened on */
#define UDP_BATCH	16	/* datagrams read per system call */
#define UDP_BATCHES	4	/* system calls per wake-up of a socket */
#define UDP_REG_RATE	20	/* REGISTERs a second from one address */
#define UDP_REG_BURST	40	/* at once */

struct presence_member;
struct pairkey;

/* What became of a datagram.  Each is counted. */
enum udp_fate {
	UDP_REGISTERED,		/* REGISTER accepted (and answered) */
	UDP_REG_MOVED,		/* ... and the SRFLX endpoint is new */
	UDP_REG_LENGTH,		/* REGISTER not SC_REG_LEN bytes */
	UDP_REG_UNKNOWN,	/* no registration with that reg_id */
	UDP_REG_LIMITED,	/* over its address's rate */
	UDP_REG_BAD_MAC,	/* did not open */
	UDP_REG_BAD_PLAIN,	/* opened, not 20 zero bytes */
	UDP_REG_REPLAYED,	/* counter seen, or too old */
	UDP_RELAYED,		/* forwarded */
	UDP_RELAY_OFF,		/* relay off */
	UDP_RELAY_LENGTH,	/* not 42 to SC_DGRAM_MAX bytes */
	UDP_RELAY_UNKNOWN,	/* no live pair with that id */
	UDP_RELAY_SELF,		/* a pair of a user with itself */
	UDP_RELAY_SOURCE,	/* not from one side's endpoint */
	UDP_RELAY_UNREGISTERED,	/* the other side has no endpoint */
	UDP_RELAY_LIMITED,	/* over the sender's allowance */
	UDP_OTHER,		/* another first byte */
	UDP_SEND_FAILED,	/* an answer or a relayed datagram not sent */
	UDP_FATES
};

struct udp_stats {
	uint64_t	fate[UDP_FATES];
	uint64_t	relayed_bytes;
};

/*
 * One session's registration, embedded in its owner.  udp_reg_add() fills
 * it: the reg_id and key k_reg that UDPREG hands out, for the whole
 * session; then the registrations update the replay window over REGISTER
 * counters, the socket and local address of the highest one (where
 * datagrams to this client leave from), and the relay allowance.
 */
struct udp_reg {
	RB_ENTRY(udp_reg)	 id_entry;	/* by reg_id */
	RB_ENTRY(udp_reg)	 sid_entry;	/* by its member's sid */
	struct presence_member	*member;
	uint64_t		 reg_id;
	uint8_t			 k_reg[SC_KEY_BYTES];
	uint64_t		 top;		/* highest counter accepted */
	uint64_t		 seen;		/* bit i: top - i accepted */
	uint8_t			 any;		/* a counter was accepted */
	uint8_t			 linked;	/* in the tables */
	uint8_t			 sock;		/* socket of the highest */
	uint8_t			 has_local;
	uint8_t			 local[16];	/* daemon address it came to */
	struct util_bucket	 relay_dgrams;	/* relay_rate */
	struct util_bucket	 relay_bytes;	/* relay_bytes */
};

/* What the UDP side works with; the caller owns it all. */
struct udp_env {
	struct event_base	 *base;
	const struct server_conf *conf;		/* read at each use */
	struct pairkey		 *pairkey;
	struct throttle		 *throttle;
};

struct udp;

/* An empty UDP side with no socket yet; NULL when out of memory. */
struct udp	*udp_new(const struct udp_env *);
/* Closes the sockets and frees; registrations belong to their owners. */
void		 udp_free(struct udp *);		/* NULL-safe */
/*
 * Opens and watches one socket bound to sa (its port is the UDP port; 0
 * picks a free one).  -1 with errno set when it cannot.
 */
int		 udp_listen(struct udp *, const struct sockaddr *, socklen_t);
/* The port clients register with: the first socket's, else udp_port. */
uint16_t	 udp_port(const struct udp *);
/*
 * The HOST candidates worth giving to peers among the addresses a client
 * reported (in[0..n), IPv4-mapped ones folded to IPv4): not unspecified,
 * multicast, broadcast or link-local, not loopback unless a socket listens
 * on loopback, each once.  Returns how many went to out (at most n).
 */
size_t		 udp_hosts(const struct udp *, struct sc_cand *out,
		    const struct sc_cand *in, size_t n);
/*
 * Adds a registration for member m: a fresh random reg_id and k_reg.
 * -1, and nothing changed, when it is added already or m has one.
 */
int		 udp_reg_add(struct udp *, struct udp_reg *,
		    struct presence_member *m);
/* Removes it (the session ends) and wipes it; safe if never added. */
void		 udp_reg_del(struct udp *, struct udp_reg *);
/*
 * Handles one datagram of len bytes from src as if socket sock had read
 * it (the read callback's work; tests and the fuzz target call it).
 */
void		 udp_input(struct udp *, size_t sock, const uint8_t *,
		    size_t len, const struct sockaddr *src);
/* The counts so far. */
const struct udp_stats *udp_stats(const struct udp *);
/* The name of a fate in log lines ("registered", "relay_limited", ...). */
const char	*udp_fate_name(enum udp_fate);
/* Logs the counts as key=value when they changed since the last time. */
void		 udp_log_stats(struct udp *);

#endif
