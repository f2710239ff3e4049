/*
 * Password-hash pool.  SIGN and AUTH are the only heavy work: each job (look
 * up, argon2id hash or verify, store) runs on one of a few worker threads,
 * each with its own store handle, in a helper process forked at start, so
 * that argon2id's large mappings never take the daemon's address-space lock.
 * Results come back to the loop through a socket watched by libevent, and
 * name their session by id, never by pointer, since the session may be gone.
 */
#ifndef SEALCHATD_AUTH_H
#define SEALCHATD_AUTH_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"

struct auth_result {
	uint64_t	session_id;
	uint8_t		op;		/* SC_MSG_SIGN or SC_MSG_AUTH */
	int		status;		/* 0 success, else an enum sc_err */
	char		name[SC_NAME_MAX + 1];
};

/*
 * Runs on the loop thread for every finished job.  A job whose helper
 * process died gets SC_ERR_INTERNAL.  It must not free the pool.
 */
typedef void	(*auth_done_cb)(const struct auth_result *, void *arg);

struct auth_pool;

/* Jobs handed to the helper per worker before their results come back. */
#define AUTH_PIPELINE	32

/*
 * Forks the helper process with workers threads, each with its own store
 * handle on db_path, and waits until every worker has its store; keeps a
 * queue of at most queue_max waiting jobs.  NULL on failure (the database
 * cannot be opened, say), message in err.  Call it before the daemon has
 * other threads; the helper keeps no descriptor but its socket and 0-2.
 */
struct auth_pool *auth_pool_new(struct event_base *, const char *db_path,
		    int workers, int queue_max, enum sc_cost,
		    auth_done_cb, void *arg, char *err, size_t errlen);
/*
 * Queues a job; copies the password into a guarded slot, made at start, and
 * wipes it once the job is handed to the helper.  -1 when the queue is full
 * or pool is NULL (stopped): the caller answers SC_ERR_BUSY.  An unknown
 * user costs one verification against a dummy hash of the same cost, as
 * much as a wrong password.
 */
int		 auth_pool_submit(struct auth_pool *, uint64_t session_id,
		    uint8_t op, const char *name, const uint8_t *pass,
		    size_t pass_len);
/*
 * Changes the cost for new hashes (and the rehash-on-login target) of the
 * jobs sent from now on; NULL-safe.
 */
void		 auth_pool_set_cost(struct auth_pool *, enum sc_cost);
/* Jobs waiting or running; 0 for NULL. */
size_t		 auth_pool_pending(struct auth_pool *);
/* The helper process's pid, -1 while there is none (or for NULL). */
pid_t		 auth_pool_child(struct auth_pool *);
/*
 * Stops the pool: queued jobs are dropped (their passwords wiped), running
 * ones finish (the helper is killed after 2 s), the helper is reaped,
 * results not yet delivered are dropped.  NULL-safe.
 */
void		 auth_pool_free(struct auth_pool *);

#endif
