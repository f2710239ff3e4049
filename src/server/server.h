/* SPDX-License-Identifier: ISC */
/*
 * The daemon's one event loop: listener, signals, reload, status, and the
 * modules it wires together (the set of sessions, the hash pool, presence,
 * pair keys, the UDP side, throttle).  Single-threaded: only the hash
 * workers in hashhelper.c run elsewhere, and their results come back
 * through the loop.
 *
 * Event priorities: the base has two.  Everything runs at priority 0
 * except the presence flush (priority 1), which therefore runs after the
 * I/O callbacks of a loop turn and batches their presence events.
 */
#ifndef SEALCHATD_SERVER_H
#define SEALCHATD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "config.h"
#include "metrics.h"

struct hashpool;
struct presence;
struct pairkey;
struct throttle;
struct session_set;
struct udp;
struct metrics_http;
struct control;

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
	struct event		*sigquit_ev;
	struct event		*sigusr1_ev;
	struct event		*status_ev;
	struct event		*stop_ev;	/* shutdown bound */

	struct hashpool		*hashpool;
	struct presence		*presence;
	struct pairkey		*pairkey;
	struct throttle		*throttle;
	struct udp		*udp;
	struct session_set	*sessions;
	struct mailbox		*mailbox;	/* stored messages */
	struct metrics		 metrics;
	struct metrics_http	*metrics_http;	/* NULL: metrics off */
	struct control		*control;	/* sealchatctl's socket */
	int			 stopping;
	unsigned		 ticks;		/* of the status timer */

	size_t			 shown_sessions; /* last status sent */
	size_t			 shown_online;
	uint64_t		 shown_relayed;
	uint64_t		 refused;	/* at accept */
	uint64_t		 evicted;	/* closed to make room */
	uint64_t		 refused_logged_ms;
};

/*
 * Runs the daemon until SIGTERM, SIGINT or SIGQUIT (SIGHUP reloads, SIGUSR1
 * logs a status line, and every other signal an operator or systemd may
 * send is ignored).  kp stays owned by the caller.
 * Returns the exit code: 0 after a clean stop, else a sysexits code.
 */
int	server_run(const struct server_conf *, const char *conf_path,
	    const struct sc_keypair *kp, int debug);

#endif
