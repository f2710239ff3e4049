/*
 * Password-hash worker pool.  The loop thread queues jobs; workers, each
 * with its own store handle, hash or verify and push a result onto the done
 * queue, then write one byte to a pipe.  The loop watches the pipe's read
 * end and hands every finished result to the callback, so sessions are only
 * ever touched on the loop thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "auth.h"
#include "store.h"

#define AUTH_WORKERS_MAX	64
#define AUTH_DUMMY_PASS		32

struct auth_job {
	struct auth_job	*next;
	uint64_t	 session_id;
	uint8_t		 op;
	char		 name[SC_NAME_MAX + 1];
	uint8_t		*pass;		/* sc_secure_alloc */
	size_t		 pass_len;
};

struct auth_done {
	struct auth_done	*next;
	struct auth_result	 res;
};

struct auth_worker {
	struct auth_pool	*pool;
	pthread_t		 thread;
	int			 started;	/* thread created */
};

struct auth_pool {
	struct event_base	*base;
	char			*db_path;
	auth_done_cb		 cb;
	void			*arg;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* work for the workers */
	pthread_cond_t		 ready;		/* a worker finished start-up */
	struct auth_job		*jobs;		/* FIFO */
	struct auth_job		*jobs_tail;
	size_t			 queued;
	size_t			 running;
	size_t			 queue_max;
	struct auth_done	*done;		/* FIFO */
	struct auth_done	*done_tail;
	int			 stop;
	int			 nready;	/* workers that opened a store */
	int			 nfailed;	/* workers that could not */
	char			 start_err[256];

	enum sc_cost		 cost;
	char			 dummy[SC_PWHASH_LEN];	/* for unknown users */
	enum sc_cost		 dummy_cost;
	int			 dummy_busy;	/* a worker is remaking it */

	struct auth_worker	*workers;
	int			 nworkers;
	int			 pipe[2];
	struct event		*ev;
};

/* Frees a job, wiping its password. */
static void
auth_job_free(struct auth_job *job)
{
	if (job == NULL)
		return;
	sc_secure_free(job->pass);
	sc_wipe(job, sizeof *job);
	free(job);
}

/* Makes a hash of a random password at cost, for unknown users. */
static int
auth_dummy_make(char out[SC_PWHASH_LEN], enum sc_cost cost)
{
	uint8_t	pass[AUTH_DUMMY_PASS];
	int	ret;

	sc_random(pass, sizeof pass);
	ret = sc_pwhash(out, pass, sizeof pass, cost);
	sc_wipe(pass, sizeof pass);
	return (ret == 0 ? 0 : -1);
}

/* Short name of a job's operation for log lines. */
static const char *
auth_op_name(uint8_t op)
{
	return (op == SC_MSG_SIGN ? "sign" : "auth");
}

/* SIGN: hashes the password at the current cost and adds the account. */
static int
auth_do_sign(struct store *st, const struct auth_job *job, enum sc_cost cost)
{
	char	hash[SC_PWHASH_LEN];
	int	rc, status = SC_ERR_INTERNAL;

	/* A taken name needs no hash: answer it without the work. */
	rc = store_get(st, job->name, hash);
	sc_wipe(hash, sizeof hash);
	if (rc == STORE_OK) {
		status = SC_ERR_TAKEN;
		goto out;
	}
	if (rc != STORE_NOTFOUND)
		goto out;
	if (sc_pwhash(hash, job->pass, job->pass_len, cost) != 0) {
		log_warnx("auth: name=%s password hash failed", job->name);
		goto out;
	}
	rc = store_add(st, job->name, hash);
	if (rc == STORE_OK)
		status = 0;
	else if (rc == STORE_EXISTS)
		status = SC_ERR_TAKEN;
out:
	sc_wipe(hash, sizeof hash);
	return (status);
}

/*
 * AUTH: verifies the password against the stored hash, or, for an unknown
 * name, against the dummy hash so that both failures cost the same and look
 * the same.  A hash made at another cost is upgraded after a good login.
 */
static int
auth_do_auth(struct auth_pool *pool, struct store *st,
    const struct auth_job *job, enum sc_cost cost)
{
	char	hash[SC_PWHASH_LEN];
	char	fresh[SC_PWHASH_LEN];
	int	rc, ok, status = SC_ERR_INTERNAL;

	memset(fresh, 0, sizeof fresh);
	rc = store_get(st, job->name, hash);
	if (rc == STORE_NOTFOUND) {
		pthread_mutex_lock(&pool->lock);
		memcpy(hash, pool->dummy, sizeof hash);
		pthread_mutex_unlock(&pool->lock);
		ok = sc_pwhash_verify(hash, job->pass, job->pass_len);
		(void)ok;
		status = SC_ERR_CREDENTIALS;
		goto out;
	}
	if (rc != STORE_OK)
		goto out;
	if (sc_pwhash_verify(hash, job->pass, job->pass_len) != 0) {
		status = SC_ERR_CREDENTIALS;
		goto out;
	}
	status = 0;
	if (sc_pwhash_needs_rehash(hash, cost) == 0)
		goto out;
	if (sc_pwhash(fresh, job->pass, job->pass_len, cost) != 0) {
		log_warnx("auth: name=%s rehash failed", job->name);
		goto out;
	}
	if (store_set(st, job->name, fresh) != STORE_OK)
		log_warnx("auth: name=%s cost upgrade not stored", job->name);
	else
		log_info("auth: name=%s password hash upgraded cost=%d",
		    job->name, (int)cost);
out:
	sc_wipe(hash, sizeof hash);
	sc_wipe(fresh, sizeof fresh);
	return (status);
}

/* Wakes the loop; a byte already pending is enough, so EAGAIN is fine. */
static void
auth_wake_loop(struct auth_pool *pool)
{
	const uint8_t	b = 1;
	ssize_t		n;

	do {
		n = write(pool->pipe[1], &b, 1);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		log_warn("auth: wake pipe");
}

/*
 * Runs one job and returns its result for the loop; NULL when out of memory
 * (the session's login deadline then ends it).
 */
static struct auth_done *
auth_run_job(struct auth_pool *pool, struct store *st,
    const struct auth_job *job, enum sc_cost cost)
{
	struct auth_done	*d;
	int			 status;

	if (!wire_name_valid(job->name, strlen(job->name)))
		status = SC_ERR_BAD_NAME;
	else if (job->op == SC_MSG_SIGN)
		status = auth_do_sign(st, job, cost);
	else
		status = auth_do_auth(pool, st, job, cost);
	log_debug("auth: session=%llu op=%s name=%s status=%d",
	    (unsigned long long)job->session_id, auth_op_name(job->op),
	    job->name, status);

	if ((d = calloc(1, sizeof *d)) == NULL) {
		log_warnx("auth: session=%llu result dropped: out of memory",
		    (unsigned long long)job->session_id);
		return (NULL);
	}
	d->res.session_id = job->session_id;
	d->res.op = job->op;
	d->res.status = status;
	memcpy(d->res.name, job->name, sizeof d->res.name);
	return (d);
}

/*
 * Remakes the dummy hash after a cost change, off the loop.  Called with the
 * lock held; drops it while hashing.
 */
static void
auth_dummy_refresh(struct auth_pool *pool)
{
	char		fresh[SC_PWHASH_LEN];
	enum sc_cost	cost = pool->cost;
	int		rc;

	pool->dummy_busy = 1;
	pthread_mutex_unlock(&pool->lock);
	rc = auth_dummy_make(fresh, cost);
	pthread_mutex_lock(&pool->lock);
	pool->dummy_busy = 0;
	if (rc == 0) {
		memcpy(pool->dummy, fresh, sizeof pool->dummy);
		pool->dummy_cost = cost;
	} else {
		/* Keep the old one rather than spin; the next change retries. */
		log_warnx("auth: dummy hash at cost=%d failed", (int)cost);
		pool->dummy_cost = pool->cost;
	}
	sc_wipe(fresh, sizeof fresh);
}

/* Worker thread: opens its store, then runs jobs until told to stop. */
static void *
auth_worker_main(void *arg)
{
	struct auth_worker	*w = arg;
	struct auth_pool	*pool = w->pool;
	struct auth_job		*job;
	struct auth_done	*d;
	struct store		*st;
	enum sc_cost		 cost;
	char			 err[256];

	st = store_open(pool->db_path, err, sizeof err);
	pthread_mutex_lock(&pool->lock);
	if (st == NULL) {
		if (pool->nfailed++ == 0)
			snprintf(pool->start_err, sizeof pool->start_err, "%s",
			    err);
		pthread_cond_signal(&pool->ready);
		pthread_mutex_unlock(&pool->lock);
		return (NULL);
	}
	pool->nready++;
	pthread_cond_signal(&pool->ready);

	for (;;) {
		while (!pool->stop && pool->jobs == NULL &&
		    (pool->dummy_cost == pool->cost || pool->dummy_busy))
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->stop)
			break;
		if (pool->dummy_cost != pool->cost && !pool->dummy_busy) {
			auth_dummy_refresh(pool);
			continue;
		}
		job = pool->jobs;
		if ((pool->jobs = job->next) == NULL)
			pool->jobs_tail = NULL;
		pool->queued--;
		pool->running++;
		cost = pool->cost;
		pthread_mutex_unlock(&pool->lock);

		d = auth_run_job(pool, st, job, cost);
		auth_job_free(job);

		/* Result and count change together: pending is exact. */
		pthread_mutex_lock(&pool->lock);
		pool->running--;
		if (d != NULL) {
			if (pool->done_tail != NULL)
				pool->done_tail->next = d;
			else
				pool->done = d;
			pool->done_tail = d;
			auth_wake_loop(pool);
		}
	}
	pthread_mutex_unlock(&pool->lock);
	store_free(st);
	return (NULL);
}

/* Loop side: drains the pipe and delivers every finished result. */
static void
auth_pipe_cb(evutil_socket_t fd, short events, void *arg)
{
	struct auth_pool	*pool = arg;
	struct auth_done	*list, *d;
	auth_done_cb		 cb = pool->cb;
	void			*cbarg = pool->arg;
	uint8_t			 buf[64];
	ssize_t			 n;

	(void)events;
	do {
		n = read(fd, buf, sizeof buf);
	} while (n > 0 || (n == -1 && errno == EINTR));

	pthread_mutex_lock(&pool->lock);
	list = pool->done;
	pool->done = pool->done_tail = NULL;
	pthread_mutex_unlock(&pool->lock);

	while ((d = list) != NULL) {
		list = d->next;
		cb(&d->res, cbarg);
		free(d);
	}
}

/* Starts the workers and the loop side of the pool. */
struct auth_pool *
auth_pool_new(struct event_base *base, const char *db_path, int workers,
    int queue_max, enum sc_cost cost, auth_done_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct auth_pool	*pool;
	sigset_t		 all, old;
	int			 i, rc;

	if (workers < 1 || workers > AUTH_WORKERS_MAX || queue_max < 1 ||
	    cb == NULL || db_path == NULL) {
		snprintf(err, errlen, "hash pool: bad parameters (workers=%d "
		    "queue=%d)", workers, queue_max);
		return (NULL);
	}
	if ((pool = calloc(1, sizeof *pool)) == NULL) {
		snprintf(err, errlen, "hash pool: out of memory");
		return (NULL);
	}
	pool->base = base;
	pool->cb = cb;
	pool->arg = arg;
	pool->queue_max = (size_t)queue_max;
	pool->cost = pool->dummy_cost = cost;
	pool->pipe[0] = pool->pipe[1] = -1;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pthread_cond_init(&pool->ready, NULL);

	if ((pool->db_path = strdup(db_path)) == NULL ||
	    (pool->workers = calloc((size_t)workers,
	    sizeof *pool->workers)) == NULL) {
		snprintf(err, errlen, "hash pool: out of memory");
		goto fail;
	}
	if (auth_dummy_make(pool->dummy, cost) == -1) {
		snprintf(err, errlen, "hash pool: password hash failed");
		goto fail;
	}
	if (pipe2(pool->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		snprintf(err, errlen, "hash pool: pipe: %s", strerror(errno));
		goto fail;
	}
	pool->ev = event_new(base, pool->pipe[0], EV_READ | EV_PERSIST,
	    auth_pipe_cb, pool);
	/* Results are urgent: the highest priority of a prioritised base. */
	if (pool->ev == NULL || event_priority_set(pool->ev, 0) == -1 ||
	    event_add(pool->ev, NULL) == -1) {
		snprintf(err, errlen, "hash pool: cannot watch the pipe");
		goto fail;
	}

	/* Workers take no signals: the loop handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < workers; i++) {
		pool->workers[i].pool = pool;
		rc = pthread_create(&pool->workers[i].thread, NULL,
		    auth_worker_main, &pool->workers[i]);
		if (rc != 0) {
			snprintf(err, errlen, "hash pool: thread: %s",
			    strerror(rc));
			break;
		}
		pool->workers[i].started = 1;
		pool->nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pool->nworkers != workers)
		goto fail;

	/* Wait until every worker has its store, so errors show here. */
	pthread_mutex_lock(&pool->lock);
	while (pool->nready + pool->nfailed < pool->nworkers)
		pthread_cond_wait(&pool->ready, &pool->lock);
	rc = pool->nfailed;
	if (rc != 0)
		snprintf(err, errlen, "%s", pool->start_err);
	pthread_mutex_unlock(&pool->lock);
	if (rc != 0)
		goto fail;
	log_debug("auth: pool workers=%d queue=%d cost=%d", workers,
	    queue_max, (int)cost);
	return (pool);
fail:
	auth_pool_free(pool);
	return (NULL);
}

/* Queues a SIGN or AUTH job; -1 when the queue is full. */
int
auth_pool_submit(struct auth_pool *pool, uint64_t session_id, uint8_t op,
    const char *name, const uint8_t *pass, size_t pass_len)
{
	struct auth_job	*job;
	size_t		 nlen;

	if (pool == NULL || (op != SC_MSG_SIGN && op != SC_MSG_AUTH))
		return (-1);
	if (name == NULL || (nlen = strnlen(name, SC_NAME_MAX + 1)) == 0 ||
	    nlen > SC_NAME_MAX)
		return (-1);
	if (pass == NULL || pass_len < SC_PASS_MIN || pass_len > SC_PASS_MAX)
		return (-1);

	pthread_mutex_lock(&pool->lock);
	if (pool->stop || pool->queued >= pool->queue_max) {
		pthread_mutex_unlock(&pool->lock);
		return (-1);
	}
	pthread_mutex_unlock(&pool->lock);

	if ((job = calloc(1, sizeof *job)) == NULL)
		return (-1);
	if ((job->pass = sc_secure_alloc(pass_len)) == NULL) {
		free(job);
		return (-1);
	}
	memcpy(job->pass, pass, pass_len);
	job->pass_len = pass_len;
	job->session_id = session_id;
	job->op = op;
	memcpy(job->name, name, nlen);

	/* Checked again: only the loop thread submits, but be exact. */
	pthread_mutex_lock(&pool->lock);
	if (pool->stop || pool->queued >= pool->queue_max) {
		pthread_mutex_unlock(&pool->lock);
		auth_job_free(job);
		return (-1);
	}
	if (pool->jobs_tail != NULL)
		pool->jobs_tail->next = job;
	else
		pool->jobs = job;
	pool->jobs_tail = job;
	pool->queued++;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return (0);
}

/* Sets the cost of new hashes; a worker remakes the dummy hash to match. */
void
auth_pool_set_cost(struct auth_pool *pool, enum sc_cost cost)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	if (pool->cost != cost) {
		pool->cost = cost;
		pthread_cond_broadcast(&pool->cond);
	}
	pthread_mutex_unlock(&pool->lock);
}

/* Jobs waiting or running. */
size_t
auth_pool_pending(struct auth_pool *pool)
{
	size_t	n;

	if (pool == NULL)
		return (0);
	pthread_mutex_lock(&pool->lock);
	n = pool->queued + pool->running;
	pthread_mutex_unlock(&pool->lock);
	return (n);
}

/* Stops the workers and frees everything, undelivered results included. */
void
auth_pool_free(struct auth_pool *pool)
{
	struct auth_job		*job;
	struct auth_done	*d;
	int			 i;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stop = 1;
	while ((job = pool->jobs) != NULL) {
		pool->jobs = job->next;
		auth_job_free(job);
	}
	pool->jobs_tail = NULL;
	pool->queued = 0;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);

	for (i = 0; i < pool->nworkers; i++) {
		if (pool->workers[i].started)
			pthread_join(pool->workers[i].thread, NULL);
	}
	while ((d = pool->done) != NULL) {
		pool->done = d->next;
		free(d);
	}
	if (pool->ev != NULL)
		event_free(pool->ev);
	if (pool->pipe[0] != -1)
		close(pool->pipe[0]);
	if (pool->pipe[1] != -1)
		close(pool->pipe[1]);
	sc_wipe(pool->dummy, sizeof pool->dummy);
	pthread_cond_destroy(&pool->ready);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool->workers);
	free(pool->db_path);
	free(pool);
}
