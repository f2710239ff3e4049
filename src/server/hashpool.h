/* SPDX-License-Identifier: ISC */
/*
 * Password-hash pool, the daemon's side.  SIGN and AUTH are the only heavy
 * work: each job (look up, argon2id hash or verify, store) runs on one of a
 * few worker threads, each with its own store handle, in a helper process
 * forked at start (hashhelper.c), so that argon2id's large mappings never
 * take the daemon's address-space lock.  Results come back to the loop
 * through a socket watched by libevent, and name their session by id,
 * never by pointer, since the session may be gone.
 */
#ifndef SEALCHATD_HASHPOOL_H
#define SEALCHATD_HASHPOOL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"

struct hashpool_result {
	uint64_t	session_id;
	uint8_t		op;		/* SIGN, AUTH or HASHMSG_OP_* */
	int		status;		/* 0 success, else an enum sc_err */
	uint32_t	usec;		/* time of its hash; 0: none, lost */
	char		name[SC_NAME_MAX + 1];
};

/*
 * Runs on the loop thread for every finished job.  A job whose helper
 * process died gets SC_ERR_INTERNAL.  It must not free the pool.
 */
typedef void	(*hashpool_done_cb)(const struct hashpool_result *, void *arg);

struct hashpool;

/*
 * Jobs handed to the helper per worker before their results come back, at
 * the minimum cost; at any other, one.
 */
#define HASHPOOL_PIPELINE	32

/*
 * Forks the helper process with workers threads, each with its own store
 * handle on db_path, and waits until every worker has its store.  At most
 * queue_max jobs wait beyond the workers' one each (wherever they wait),
 * and at most queue_max more are held by a delay.  NULL on failure (the
 * database cannot be opened, say), message in err.  Call it before the
 * daemon has other threads; the helper keeps no descriptor but its socket
 * and 0-2.
 */
struct hashpool	*hashpool_new(struct event_base *, const char *db_path,
		    int workers, int queue_max, enum sc_cost,
		    hashpool_done_cb, void *arg, char *err, size_t errlen);
/*
 * Queues a job of op (hashmsg.h: a client's SIGN, AUTH or IDENTITY, or
 * one of the operator's); copies the password (IDENTITY: the key), if the
 * op takes one, into a guarded slot, made at start, and wipes it once the
 * job is handed to the helper.
 * -1 when the queue is full (queue_max jobs wait beyond one per worker) or
 * pool is NULL (stopped): the caller answers SC_ERR_BUSY.  An unknown user
 * costs one verification against a dummy hash of the same cost, as much as
 * a wrong password.
 */
int		 hashpool_submit(struct hashpool *, uint64_t session_id,
		    uint8_t op, const char *name, const uint8_t *pass,
		    size_t pass_len);
/*
 * As hashpool_submit(), but with delay_ms > 0 the job is first held that
 * long (its password in a guarded slot all the while), then queued; if
 * the queue is full by then, the callback gets SC_ERR_BUSY.  Waiting jobs
 * are taken by rank, then in order of arrival: the caller gives the number
 * of attempts the client's address already has in progress, so that one
 * address's burst does not delay the others.  Returns a handle (>= 0) for
 * hashpool_withdraw(), or -1 when there is no room.
 */
int		 hashpool_submit_at(struct hashpool *, uint64_t session_id,
		    uint8_t op, const char *name, const uint8_t *pass,
		    size_t pass_len, uint64_t delay_ms, unsigned rank);
/*
 * The session of the job handle is gone: a held or queued job is dropped
 * (no callback); one in flight is skipped by the helper unless its hash
 * has started, and then its result still reaches the callback.  A handle
 * that no longer names session_id's job is ignored.  NULL-safe.
 */
void		 hashpool_withdraw(struct hashpool *, int handle,
		    uint64_t session_id);
/*
 * Changes the cost for new hashes (and the rehash-on-login target) of the
 * jobs sent from now on; NULL-safe.
 */
void		 hashpool_set_cost(struct hashpool *, enum sc_cost);
/* Jobs held, waiting or running; 0 for NULL. */
size_t		 hashpool_pending(struct hashpool *);
/* The helper process's pid, -1 while there is none (or for NULL). */
pid_t		 hashpool_child(struct hashpool *);
/*
 * Stops the pool: queued jobs are dropped (their passwords wiped), running
 * ones finish (the helper is killed after 2 s), the helper is reaped,
 * results not yet delivered are dropped.  NULL-safe.
 */
void		 hashpool_free(struct hashpool *);

#endif
