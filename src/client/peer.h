/* SPDX-License-Identifier: ISC */
/*
 * Peer-to-peer messages over UDP (docs/protocol.md, section 8).  One socket;
 * one entry per pair key the server handed out, found by pair_id (never by
 * the sender's address); per pair a send counter, a replay window over the
 * counters received and one over message ids.  Messages wait for their ACK
 * and are sent again, same msg_id and a new counter, every retry interval.
 * Every datagram that fails a check is dropped and counted.
 */
#ifndef SEALCHAT_CLIENT_PEER_H
#define SEALCHAT_CLIENT_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "sealchat/proto.h"

#include "replay.h"

/*
 * Messages waiting for their ACK, in all; a send beyond waits.  No more
 * than the receiver's msg_id window: a message resent after 64 newer ones
 * would be taken for a duplicate, acknowledged and never shown.
 */
#define PEER_OUT_MAX	REPLAY_WIDTH
/* Pair keys held at once. */
#define PEER_PAIRS_MAX	1024

struct peer_cb {
	/* A new message (shown once per msg_id). */
	void	(*msg)(void *arg, const char *from, const char *text,
		    size_t len);
	/* The first ACK of a message. */
	void	(*delivered)(void *arg, const char *to);
	/* A message will never be acknowledged; why is a sentence. */
	void	(*failed)(void *arg, const char *to, const char *why);
};

/* Datagrams counted by fate. */
struct peer_stats {
	uint64_t	rx_ok;		/* opened and accepted */
	uint64_t	drop_size;	/* too short or too long */
	uint64_t	drop_version;	/* unknown version byte */
	uint64_t	drop_unknown;	/* unknown pair_id */
	uint64_t	drop_replay;	/* counter seen before or too old */
	uint64_t	drop_mac;	/* failed to open */
	uint64_t	drop_payload;	/* opened, but not a MSG or ACK */
	uint64_t	dup_msgs;	/* MSG with a msg_id seen before */
	uint64_t	tx;		/* datagrams sent */
	uint64_t	tx_err;		/* sends the kernel refused */
	uint64_t	resent;		/* retransmitted messages */
};

struct peer;

/* A peer table with no socket yet; retries and retry_ms per protocol.md. */
struct peer	*peer_new(struct event_base *, const struct peer_cb *,
		    void *arg, int retries, int retry_ms);
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
/* Our own name, which decides the key direction of each pair. */
void		 peer_set_self(struct peer *, const char *name);
/*
 * Installs the pair key for name (canonical) from a PAIRKEY.  The same
 * pair_id as the key held: ignored (returns 1).  A new pair_id replaces the
 * old key, wiped, and fails its waiting messages.  0 when installed, -1
 * when the table is full or the address is unusable.
 */
int		 peer_pair_set(struct peer *, const char *name,
		    uint64_t pair_id, const uint8_t kxy[SC_KEY_BYTES],
		    const struct sockaddr *, socklen_t);
int		 peer_has_pair(const struct peer *, const char *name);
/* The pair_id held for name; 0 when none. */
uint64_t	 peer_pair_id(const struct peer *, const char *name);
/* Forgets name's key (peer offline) and fails its waiting messages. */
void		 peer_forget(struct peer *, const char *name);
/*
 * Sends text to name under its pair key and keeps it until acknowledged.
 * -1 with a sentence in err (no key, too long, refused by the kernel).
 */
int		 peer_send(struct peer *, const char *name, const char *text,
		    size_t len, char *err, size_t errlen);
/* 1 when another message can wait for its ACK. */
int		 peer_can_send(const struct peer *);
/* Messages waiting for an ACK. */
size_t		 peer_outstanding(const struct peer *);
/* Fails every waiting message (end of the drain time). */
void		 peer_fail_all(struct peer *);
/* Handles one received datagram (the socket's reader; tests; fuzzing). */
void		 peer_input(struct peer *, const uint8_t *, size_t);
const struct peer_stats *peer_stats(const struct peer *);

#endif
