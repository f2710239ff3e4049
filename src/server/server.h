/*
 * The daemon's one event loop: listener, signals, reload, status, and the
 * state every session shares.  Single-threaded: only the hash workers in
 * hashhelper.c run elsewhere, and their results come back through the loop.
 *
 * Event priorities: the base has two.  Everything runs at priority 0
 * except the presence flush (priority 1), which therefore runs after the
 * I/O callbacks of a loop turn and batches their presence events.
 */
#ifndef SEALCHATD_SERVER_H
#define SEALCHATD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/wire.h"
#include "config.h"

struct session;
RB_HEAD(session_tree, session);
TAILQ_HEAD(session_list, session);

struct hashpool;
struct presence;
struct pairkey;
struct throttle;

struct server {
	struct event_base	*base;
	struct server_conf	 conf;
	const char		*conf_path;	/* NULL: defaults */
	int			 debug;		/* -d given */
	const struct sc_keypair	*kp;

	int			 lfd;		/* listening socket */
	struct event		*listen_ev;
	struct event		*listen_retry_ev;	/* after EMFILE */
	struct event		*sigterm_ev;
	struct event		*sigint_ev;
	struct event		*sighup_ev;
	struct event		*status_ev;
	struct event		*stop_ev;	/* shutdown bound */
	struct event		*reap_ev;	/* frees closed sessions */
	struct event		*write_ev;	/* writes queued output */

	struct hashpool		*hashpool;
	struct presence		*presence;
	struct pairkey		*pairkey;
	struct throttle		*throttle;

	struct session_tree	 sessions;	/* open ones, by id */
	struct session_list	 dead;		/* to be freed */
	struct session_list	 writeq;	/* output to write */
	size_t			 nsessions;
	size_t			 nunauth;	/* not logged in yet */
	uint64_t		 next_id;
	int			 stopping;

	/*
	 * Session timeouts: libevent common timeouts (O(1) re-arming),
	 * rebuilt on reload; plain ones (the *_buf) if none are left.
	 */
	const struct timeval	*tv_login;
	const struct timeval	*tv_keepalive;
	const struct timeval	*tv_linger;
	struct timeval		 tv_login_buf;
	struct timeval		 tv_keepalive_buf;
	struct timeval		 tv_linger_buf;

	struct wbuf		 enc;		/* being encoded */
	uint8_t			*plain;		/* max_frame bytes */

	size_t			 shown_sessions; /* last status sent */
	size_t			 shown_online;
	uint64_t		 refused;	/* at accept */
	uint64_t		 refused_logged_ms;
};

/*
 * Runs the daemon until SIGTERM or SIGINT.  kp stays owned by the caller.
 * Returns the exit code: 0 after a clean stop, else a sysexits code.
 */
int	server_run(const struct server_conf *, const char *conf_path,
	    const struct sc_keypair *kp, int debug);
/* Asks the loop to write srv->writeq soon (after the current callbacks). */
void	server_kick_writer(struct server *);

#endif
