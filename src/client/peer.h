/* SPDX-License-Identifier: ISC */
/*
 * Peer-to-peer messages over UDP (docs/protocol.md, sections 8 to 10).  One
 * socket; one entry per pair key the server handed out, found by pair_id
 * (never by the sender's address); per pair the peers' own handshake
 * (peerhs.c: Kxy is only its pre-shared key, the keys of the datagrams
 * come out of it), a send counter, a replay window over the counters
 * received and one over message ids, and a path (path.c): how its
 * datagrams travel, direct or through the server's relay.  Until the
 * handshake ends, the initiator's INIT goes wherever the path would send
 * a PROBE (and through the relay once that is the path), and the
 * responder's checks wait for it; a pair whose identity key is not
 * trusted sends and takes nothing.
 * Messages wait while a pair has no path, go on the current one,
 * and are sent again, same msg_id and a new counter, every retry interval;
 * a message unacknowledged on a path loses that path, and goes again on
 * the next.  Answers (ACK, PROBE_ACK) go to the source of what they
 * answer.  The registration of the socket with the server (reg.c) lives
 * here too, since it uses the same socket.  Every datagram that fails a
 * check is dropped and counted.
 */
#ifndef SEALCHAT_CLIENT_PEER_H
#define SEALCHAT_CLIENT_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "sealchat/proto.h"

#include "path.h"
#include "replay.h"

/*
 * Messages waiting for their ACK, in all; a send beyond waits.  No more
 * than the receiver's msg_id window: a message resent after 64 newer ones
 * would be taken for a duplicate, acknowledged and never shown.
 */
#define PEER_OUT_MAX	REPLAY_WIDTH
/* MSGs and PROBEs taken from one pair a second, and in a burst. */
#define PEER_ANSWER_RATE	200
#define PEER_ANSWER_BURST	400
/* Pair keys held at once. */
#define PEER_PAIRS_MAX	1024
/* Users whose messages are dropped (ignore USER), at most. */
#define PEER_IGNORE_MAX	256

/* The settings of the peer table, from the client's configuration. */
struct peer_conf {
	int	retries;		/* send_retries */
	int	retry_ms;		/* retry_interval_ms */
	int	direct_timeout_ms;
	int	keepalive_s;		/* udp_keepalive */
	int	punch_ttl;
};

struct peer_cb {
	/* A new message (shown once per msg_id). */
	void	(*msg)(void *arg, const char *from, const char *text,
		    size_t len);
	/* The first ACK of a message. */
	void	(*delivered)(void *arg, const char *to);
	/* A message will never be acknowledged; why is a sentence. */
	void	(*failed)(void *arg, const char *to, const char *why);
	/* The path of a pair was lost: the server may hear RECHECK. */
	void	(*recheck)(void *arg, uint64_t pair_id);
};

/* Datagrams counted by fate. */
struct peer_stats {
	uint64_t	rx_ok;		/* opened and accepted */
	uint64_t	hs_sent;	/* INIT and RESP sent */
	uint64_t	hs_dup;		/* an INIT answered again */
	uint64_t	drop_blocked;	/* for a pair not trusted */
	uint64_t	drop_early;	/* before the handshake's keys */
	uint64_t	drop_handshake;	/* INIT, RESP its pair does not take */
	uint64_t	drop_size;	/* too short or too long */
	uint64_t	drop_version;	/* unknown version byte */
	uint64_t	drop_unknown;	/* unknown pair_id */
	uint64_t	drop_replay;	/* counter seen before or too old */
	uint64_t	drop_mac;	/* failed to open */
	uint64_t	drop_payload;	/* opened, but a bad payload */
	uint64_t	drop_source;	/* from where nothing may be sent */
	uint64_t	drop_rate;	/* MSG or PROBE over the pair's rate */
	uint64_t	drop_ignored;	/* MSG from a user ignored */
	uint64_t	dup_msgs;	/* MSG with a msg_id seen before */
	uint64_t	probes;		/* PROBEs answered */
	uint64_t	tx;		/* datagrams sent */
	uint64_t	tx_err;		/* sends the kernel refused */
	uint64_t	resent;		/* retransmitted messages */
};

/* One pair as `peers` shows it. */
struct peer_path {
	char		name[SC_NAME_MAX + 1];
	enum path_state	state;
	int		keyed;		/* the handshake is done */
	int		blocked;	/* identity changed, not trusted */
	char		addr[64];	/* "203.0.113.7:40000", "-" */
	int		rtt_ms;		/* -1: not measured */
};

struct peer;

/* A peer table with no socket yet. */
struct peer	*peer_new(struct event_base *, const struct peer_cb *,
		    void *arg, const struct peer_conf *);
/* Wipes every key; drops waiting messages silently; NULL-safe. */
void		 peer_free(struct peer *);
/* Opens and binds the UDP socket; err says why on failure. */
int		 peer_open(struct peer *, const struct sockaddr *, socklen_t,
		    char *err, size_t errlen);
/*
 * Opens the socket as the configuration says: address is numeric, or
 * "auto" for local (the client's end of its TCP connection; NULL when
 * unknown); port 0 is any.  -1 with a sentence in err.
 */
int		 peer_listen(struct peer *, const char *address, uint16_t port,
		    const struct sockaddr *local, socklen_t local_len,
		    char *err, size_t errlen);
/* The bound port (0 without a socket). */
uint16_t	 peer_port(const struct peer *);
/* Our own name, which decides who begins each pair's handshake. */
void		 peer_set_self(struct peer *, const char *name);
/*
 * Our identity key pair, which the handshakes need; it must outlive the
 * table's pairs.
 */
void		 peer_set_identity(struct peer *, const struct sc_keypair *);
/*
 * The server's address (the far end of the TCP connection), set before any
 * pair key: its UDP endpoint is there, and peers may be on loopback only
 * when it is.
 */
void		 peer_set_server(struct peer *, const struct sockaddr *,
		    socklen_t);
/* The local addresses for the UDP request (reg_hosts()); their number. */
size_t		 peer_hosts(const struct peer *,
		    struct sc_cand out[SC_HOST_MAX]);
/*
 * UDPREG: registers the socket with the server's UDP port (protocol.md,
 * section 9).  -1 when that port cannot be reached from the socket.
 */
int		 peer_register(struct peer *, uint16_t udp_port, uint8_t flags,
		    uint64_t reg_id, const uint8_t k_reg[SC_KEY_BYTES]);
/* Where the NAT maps the socket, once REGISTERED said: 0, else -1. */
int		 peer_public(const struct peer *, struct sc_cand *);
/*
 * Installs the pair key for name (canonical) from a PAIRKEY, with the
 * peer's identity key and candidates and the pair's flags, and begins the
 * handshake (the initiator: INIT, and its checks; the responder waits for
 * INIT).  Kxy is not kept.  With blocked set (the identity key is not the
 * one trusted) nothing begins until peer_unblock().  The same pair_id and
 * identity key as the pair held keep it (returns 1) and take the
 * candidates.  Anything else replaces the old pair, wiped, and fails its
 * waiting messages.  0 when installed, -1 when the table is full or there
 * is no identity key.
 */
int		 peer_pair_set(struct peer *, const char *name,
		    uint64_t pair_id, const uint8_t kxy[SC_KEY_BYTES],
		    const uint8_t idkey[SC_KEY_BYTES], int blocked,
		    uint8_t flags, const struct sc_cand *, size_t ncand);
/*
 * The user trusts key as name's now.  A pair blocked on that very key
 * begins (1); one blocked on another key (the key trusted is not the one
 * its PAIRKEY brought) is forgotten, so that the next PAIR asks the key
 * again (-1); 0 when no pair was blocked.
 */
int		 peer_unblock(struct peer *, const char *name,
		    const uint8_t key[SC_KEY_BYTES]);
/*
 * CANDIDATES: the peer's candidates now; a REGISTER, then the pair's
 * checks begin again.  -1 for a pair_id not held (ignored).
 */
int		 peer_candidates(struct peer *, uint64_t pair_id,
		    uint8_t flags, const struct sc_cand *, size_t ncand);
int		 peer_has_pair(const struct peer *, const char *name);
/* The pair_id held for name; 0 when none. */
uint64_t	 peer_pair_id(const struct peer *, const char *name);
/*
 * ignore USER: name's messages are dropped from now on, unseen and never
 * acknowledged (on 1), or taken again (on 0), whatever the sessions.  -1
 * when PEER_IGNORE_MAX users are ignored already.
 */
int		 peer_ignore(struct peer *, const char *name, int on);
int		 peer_ignored(const struct peer *, const char *name);
/*
 * The session with the server ended: every pair key is forgotten (the
 * server forgets them with the session), their waiting messages fail, and
 * registration stops until the next UDPREG.  The socket stays.
 */
void		 peer_reset(struct peer *);
/* Forgets name's key (peer offline) and fails its waiting messages. */
void		 peer_forget(struct peer *, const char *name);
/*
 * Sends text to name under its pair key, now or when the pair has a path,
 * and keeps it until acknowledged.  -1 with a sentence in err (no key, too
 * long, too many waiting, no socket).
 */
int		 peer_send(struct peer *, const char *name, const char *text,
		    size_t len, char *err, size_t errlen);
/* 1 when another message can wait for its ACK. */
int		 peer_can_send(const struct peer *);
/* Messages waiting for an ACK. */
size_t		 peer_outstanding(const struct peer *);
/* Fails every waiting message (end of the drain time). */
void		 peer_fail_all(struct peer *);
/*
 * Handles one received datagram from its source (the socket's reader;
 * tests; fuzzing).
 */
void		 peer_input(struct peer *, const uint8_t *, size_t,
		    const struct sockaddr *, socklen_t);
const struct peer_stats *peer_stats(const struct peer *);
/* The pairs' paths in name order, at most max; their number. */
size_t		 peer_paths(const struct peer *, struct peer_path *,
		    size_t max);

#endif
