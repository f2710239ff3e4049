/*
 * Password-hash worker pool.  SIGN and AUTH are the only heavy work: each
 * job (look up, argon2id hash or verify, store) runs on one of a few worker
 * threads with its own store handle, never on the event loop.  Results come
 * back to the loop through a pipe watched by libevent, and name their
 * session by id, never by pointer, since the session may be gone.
 */
#ifndef SEALCHATD_AUTH_H
#define SEALCHATD_AUTH_H

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

/* Runs on the loop thread for every finished job. */
typedef void	(*auth_done_cb)(const struct auth_result *, void *arg);

struct auth_pool;

/*
 * Starts workers threads, each with its own store handle on db_path, and a
 * queue of at most queue_max waiting jobs.  NULL on failure, message in err.
 */
struct auth_pool *auth_pool_new(struct event_base *, const char *db_path,
		    int workers, int queue_max, enum sc_cost,
		    auth_done_cb, void *arg, char *err, size_t errlen);
/*
 * Queues a job; copies the password into guarded memory and wipes it after
 * use.  -1 when the queue is full or pool is NULL (stopped): the caller
 * answers SC_ERR_BUSY.  An
 * unknown user costs one verification against a dummy hash, as much as a
 * wrong password.
 */
int		 auth_pool_submit(struct auth_pool *, uint64_t session_id,
		    uint8_t op, const char *name, const uint8_t *pass,
		    size_t pass_len);
/* Changes the cost for new hashes (and the rehash-on-login target); NULL-safe. */
void		 auth_pool_set_cost(struct auth_pool *, enum sc_cost);
/* Jobs waiting or running; 0 for NULL. */
size_t		 auth_pool_pending(struct auth_pool *);
/*
 * Stops the pool: queued jobs are dropped (their passwords wiped), running
 * ones finish, threads are joined, results not yet delivered are dropped.
 * NULL-safe.
 */
void		 auth_pool_free(struct auth_pool *);

#endif
