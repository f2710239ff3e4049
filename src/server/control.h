/* SPDX-License-Identifier: ISC */
/*
 * The control socket: the daemon's side of sealchatctl.  A UNIX socket at
 * control_socket on which the daemon's own user, root and the members of
 * control_group (checked with SO_PEERCRED and SO_PEERGROUPS, whatever the
 * file's mode) ask for the operator's commands in the protocol of
 * ctlmsg.h: the status and the users online, ending a session, the
 * accounts (list, add, new password, delete, lock, unlock), a reload, and
 * a copy of the database.
 *
 * It works on the loop like everything else and reaches the rest only
 * through struct control_env: the sessions (who, ending one), the figures
 * (status), the hash pool (every change to an account is a job there, so
 * that the loop never writes to the database; results come back through
 * control_hash_done()), the reload, and the database file, which it reads
 * with a read-only handle (list, backup) a page at a time.
 */
#ifndef SEALCHATD_CONTROL_H
#define SEALCHATD_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "hashpool.h"
#include "metrics.h"
#include "session.h"

/* What the control socket works with; the caller owns it all. */
struct control_env {
	struct event_base	 *base;
	const struct server_conf *conf;		/* read at each use */
	struct session_set	 *sessions;
	struct metrics		 *metrics;
	/*
	 * Hands a job of the operator's ops (hashmsg.h) to the hash pool, and
	 * withdraws it when its request's connection closes first.
	 */
	session_hash_fn		  hash;
	session_withdraw_fn	  withdraw;	/* NULL: nothing to withdraw */
	/*
	 * Reloads the configuration as SIGHUP does and describes the outcome
	 * in msg: 0 when it was applied, -1 when the file cannot be used.
	 */
	int			(*reload)(void *arg, char *msg, size_t len);
	void			 *arg;	/* of hash, withdraw and reload */
};

struct control;

/*
 * Opens the socket at env->conf->control_socket (replacing a stale one
 * that no daemon answers on; refusing one that a daemon answers on, and a
 * path that is not a socket) and listens.  NULL with a message in err.
 */
struct control	*control_new(const struct control_env *, char *err,
		    size_t errlen);
/* Closes every request, the socket, and removes its file; NULL-safe. */
void		 control_free(struct control *);
/* The result of a job that a request handed to the hash pool. */
void		 control_hash_done(struct control *,
		    const struct hashpool_result *);

#endif
