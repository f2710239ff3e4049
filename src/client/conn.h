/* SPDX-License-Identifier: ISC */
/*
 * The client's TCP connection to sealchatd (docs/protocol.md, sections 1 to
 * 3): resolve and connect with a deadline, the NK handshake against the
 * pinned server key, then encrypted frames both ways, a PING every
 * ka_interval and a server presumed lost after ka_timeout seconds of
 * silence.
 */
#ifndef SEALCHAT_CLIENT_CONN_H
#define SEALCHAT_CLIENT_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"

#include "config.h"

struct conn;

struct conn_cb {
	/* The WELCOME opened: the server holds the pinned key. */
	void	(*ready)(void *arg, const struct sc_msg *welcome);
	/*
	 * One decoded message from the server (never WELCOME or PONG).  The
	 * message's pointers (a PAIRKEY's key) are wiped when this returns.
	 */
	void	(*msg)(void *arg, const struct sc_msg *);
	/*
	 * The connection is over: status 0 after an orderly logout, else the
	 * exit status (EXIT_UNAVAIL, EXIT_PROTOCOL) with a sentence saying why.
	 * Called at most once; the conn stays allocated until conn_free().
	 */
	void	(*closed)(void *arg, int status, const char *why);
};

/*
 * Sets up a connection to conf's server_address:server_port that pins
 * server_pk (read from key_path, named in messages).  NULL when out of
 * memory.
 */
struct conn	*conn_new(struct event_base *, const struct client_conf *,
		    const uint8_t server_pk[SC_KEY_BYTES], const char *key_path,
		    const struct conn_cb *, void *arg);
void		 conn_free(struct conn *);	/* NULL-safe; wipes keys */
/*
 * Starts resolving and connecting; every outcome arrives through the
 * callbacks, from the loop.  -1 (and no callback) when it cannot start.
 */
int		 conn_start(struct conn *);
/*
 * Ends the connection without calling back (a session the client gives
 * up); safe inside the conn's own callbacks, unlike conn_free().
 */
void		 conn_shut(struct conn *);
/* 1 once the channel is open and until it closes. */
int		 conn_is_open(const struct conn *);
/*
 * Seals one message (type byte + payload) and queues it as a frame.  -1
 * when the channel is not open or the message exceeds the server's
 * max_frame.
 */
int		 conn_send(struct conn *, const uint8_t *msg, size_t len);
/* Sends LOGOUT and waits (at most reply_timeout) for the server to close. */
void		 conn_logout(struct conn *);
/* The local address of the TCP connection (for udp_address "auto"). */
int		 conn_local_addr(const struct conn *, struct sockaddr_storage *,
		    socklen_t *);
/* The server's address, the far end of the TCP connection. */
int		 conn_peer_addr(const struct conn *, struct sockaddr_storage *,
		    socklen_t *);
/* "host:port" of the server, for messages. */
const char	*conn_server_str(const struct conn *);

#endif
