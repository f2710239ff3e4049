/* SPDX-License-Identifier: ISC */
/*
 * Password-hash pool, the daemon's side: the queue of jobs, the helper
 * process that runs them (hashhelper.c), and the results that come back.
 *
 *   daemon, loop thread                  helper process
 *   jobs held by the failed-login delay
 *   jobs waiting (queue)              -> workers threads, each with its own
 *   one event on its socket end       <- store handle: recv a job, do it,
 *                                        send the result, wipe, again
 *
 * over one socketpair(AF_UNIX, SOCK_SEQPACKET) in the messages of
 * hashmsg.h.  At the minimum cost, HASHPOOL_PIPELINE jobs per worker are
 * in flight: enough that results come back in bursts when hashes are
 * cheap, so that many logins join the roster in one loop turn and their
 * presence goes out in one frame per client (one job at a time per worker
 * made that one frame per login per client).  At a real cost one job per
 * worker is: a hash takes a tenth of a second or more, a burst gains
 * nothing, and the jobs that wait in the daemon can be taken in a fair
 * order and withdrawn.
 *
 * The order: a job's rank is the number of attempts its client's address
 * already had in progress when it came (the caller says), and the queue
 * is taken by rank, then in order of arrival.  So one address's burst
 * waits behind the first job of every other address, and a host that logs
 * in (or pretends to) as fast as it may does not make anyone else wait
 * more than about one hash per worker.  The operator's jobs (control.c:
 * add, passwd, del, lock, unlock) come with rank 0, so a flood of logins
 * does not keep them waiting behind more than the first job of each
 * address.
 *
 * The bound: jobs waiting and in flight together are at most queue_max
 * plus one per worker (those being hashed), whichever side of the socket
 * they wait on; one more is refused, and its client told the server is
 * busy.  Jobs held by the delay are bounded apart, by queue_max again: a
 * held job joins the queue when its time comes, or is answered busy if the
 * queue is full then.
 *
 * Every job is in exactly one of four places: the free list, the held
 * list (waiting for its time), the queue (a tree by rank and arrival) or
 * the flight list (sent to the helper, newest first); a result finds its
 * job in flight by session id, op and name.
 * Passwords in the daemon, held or queued, live in one guarded region made
 * at start (one SC_PASS_MAX slot per job), wiped as soon as the job is
 * sent or dropped; nothing on the loop maps or unmaps memory per job.
 *
 * Withdrawal: a job whose session (or control request) went is dropped at
 * once while held or queued.  In flight, its slot in a table shared with
 * the helper (the session id per job slot) is cleared, and a worker that
 * has not started it answers HASHMSG_WITHDRAWN instead of hashing; one
 * already hashing finishes, and its result goes to the callback like any
 * other.
 *
 * At hashpool_free the daemon sets a flag in a page shared with the
 * helper, whose workers then skip every job not yet started: the jobs in
 * flight are dropped as the queued ones are, and only the hashes running
 * finish.  If the helper dies on its own or breaks the format, the daemon
 * answers the jobs in flight with SC_ERR_INTERNAL and forks a new one, at
 * most once a second; jobs queued meanwhile wait.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "hashhelper.h"
#include "hashmsg.h"
#include "hashpool.h"

#define HASHPOOL_WORKERS_MAX	64
#define HASHPOOL_START_MS	30000	/* for every worker to report */
#define HASHPOOL_STOP_MS	2000	/* for the helper to end at free */
#define HASHPOOL_RESPAWN_MS	1000	/* between two forks */

/* Where a job is. */
enum hashpool_where {
	HASHPOOL_FREE = 0,
	HASHPOOL_HELD,
	HASHPOOL_QUEUED,
	HASHPOOL_FLIGHT,
};

/* A job in the daemon: free, held, waiting, or in flight. */
struct hashpool_job {
	TAILQ_ENTRY(hashpool_job) entry;	/* free, held or flight */
	RB_ENTRY(hashpool_job)	  qentry;	/* the queue */
	unsigned		  rank;
	uint64_t		  seq;		/* order of arrival */
	struct hashpool		 *pool;
	struct hashmsg_job	  msg;	/* cost and log level set when sent */
	uint8_t			 *slot;	/* its slot in the guarded region */
	enum hashpool_where	  where;
	struct event		  ev;	/* while held: its time */
};

TAILQ_HEAD(hashpool_jobs, hashpool_job);
RB_HEAD(hashpool_queue, hashpool_job);

struct hashpool {
	struct event_base	*base;
	char			*db_path;
	hashpool_done_cb	 cb;
	void			*arg;
	int			 nworkers;
	size_t			 queue_max;
	enum sc_cost		 cost;

	struct hashpool_job	*jobs;		/* nslots, touched as used */
	size_t			 nslots;
	size_t			 nused;		/* jobs[] handed out so far */
	uint8_t			*pass;		/* guarded: nslots slots */
	uint64_t		*live;		/* shared: session id a slot */
	struct hashpool_jobs	 free;		/* returned jobs */
	struct hashpool_jobs	 held;		/* waiting for their time */
	size_t			 nheld;
	struct hashpool_queue	 queue;		/* waiting, by rank */
	uint64_t		 seq;
	size_t			 queued;
	struct hashpool_jobs	 flight;	/* sent, newest first */
	size_t			 inflight;
	struct wbuf		 out;		/* the job being sent */

	pid_t			 child;		/* -1 when none */
	int			 sock;		/* our end, -1 when none */
	struct event		*ev;		/* on sock */
	int			 ready;		/* workers of this helper up */
	int			*stop;		/* shared with the helper */
	struct event		*respawn_ev;
	uint64_t		 spawned_ms;
};

static void	hashpool_dispatch(struct hashpool *);
static void	hashpool_sock_cb(evutil_socket_t, short, void *);

/* Orders the queue: by rank, then by order of arrival. */
static int
hashpool_job_cmp(const struct hashpool_job *a, const struct hashpool_job *b)
{
	if (a->rank != b->rank)
		return (a->rank < b->rank ? -1 : 1);
	if (a->seq != b->seq)
		return (a->seq < b->seq ? -1 : 1);
	return (0);
}

RB_GENERATE_INTERNAL(hashpool_queue, hashpool_job, qentry, hashpool_job_cmp,
    __attribute__((unused)) static)

/*
 * Reads one message from the helper without blocking: 1 with a checked
 * message in r, 0 when none is waiting, -1 when the helper is gone or
 * broke the format (why says which).
 */
static int
hashpool_recv(int sock, struct hashmsg_result *r, const char **why)
{
	uint8_t	buf[HASHMSG_RESULT_MAX + 1];
	ssize_t	n;

	n = hashmsg_recv(sock, buf, sizeof buf, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return (0);
	if (n <= 0) {
		*why = n == 0 ? "end of file" : strerror(errno);
		return (-1);
	}
	if (hashmsg_result_get(r, buf, (size_t)n) == -1) {
		*why = "bad message";
		return (-1);
	}
	return (1);
}

/* Takes a free job: a returned one, else the next never used. */
static struct hashpool_job *
hashpool_job_get(struct hashpool *pool)
{
	struct hashpool_job	*job;

	if ((job = TAILQ_FIRST(&pool->free)) != NULL) {
		TAILQ_REMOVE(&pool->free, job, entry);
		return (job);
	}
	if (pool->nused >= pool->nslots)
		return (NULL);
	job = &pool->jobs[pool->nused];
	job->pool = pool;
	job->slot = pool->pass + pool->nused * SC_PASS_MAX;
	job->msg.slot = (uint32_t)pool->nused;
	pool->nused++;
	return (job);
}

/*
 * Returns a job, on no list, to the free list, wiping its password slot
 * and clearing its place in the shared table.
 */
static void
hashpool_job_put(struct hashpool *pool, struct hashpool_job *job)
{
	uint8_t		*slot = job->slot;
	uint32_t	 index = job->msg.slot;

	__atomic_store_n(&pool->live[index], 0, __ATOMIC_RELEASE);
	sc_wipe(slot, SC_PASS_MAX);
	memset(job, 0, sizeof *job);
	job->pool = pool;
	job->slot = slot;
	job->msg.slot = index;
	TAILQ_INSERT_HEAD(&pool->free, job, entry);
}

/*
 * Answers a job taken off the flight list with status: frees the job
 * first, so that the callback may submit again.
 */
static void
hashpool_deliver(struct hashpool *pool, struct hashpool_job *job,
    int status, uint32_t usec)
{
	struct hashpool_result	res;

	memset(&res, 0, sizeof res);
	res.session_id = job->msg.session_id;
	res.op = job->msg.op;
	res.status = status;
	res.usec = usec;
	memcpy(res.name, job->msg.name, job->msg.name_len);
	hashpool_job_put(pool, job);
	pool->cb(&res, pool->arg);
}

/*
 * Ends the helper: SIGKILL (nothing if it is already gone; its pid stays
 * ours until reaped) and waits for it.  Logs how it ended when asked.
 */
static void
hashpool_reap(pid_t pid, int report)
{
	pid_t	r;
	int	status;

	(void)kill(pid, SIGKILL);
	do {
		r = waitpid(pid, &status, 0);
	} while (r == -1 && errno == EINTR);
	if (r != pid || !report)
		return;
	if (WIFSIGNALED(status))
		log_errorx("auth: hash process pid=%ld ended signal=%d",
		    (long)pid, WTERMSIG(status));
	else if (WIFEXITED(status))
		log_errorx("auth: hash process pid=%ld ended exit=%d",
		    (long)pid, WEXITSTATUS(status));
}

/* Stops watching and closes our end of the helper's socket. */
static void
hashpool_close_sock(struct hashpool *pool)
{
	if (pool->ev != NULL) {
		event_free(pool->ev);
		pool->ev = NULL;
	}
	if (pool->sock != -1) {
		close(pool->sock);
		pool->sock = -1;
	}
	pool->ready = 0;
}

/* Forks a helper and watches its socket; -1 with a message in err. */
static int
hashpool_spawn(struct hashpool *pool, char *err, size_t errlen)
{
	struct hashhelper_conf	conf;
	pid_t			pid;

	pool->spawned_ms = util_now_ms();
	memset(&conf, 0, sizeof conf);
	conf.db_path = pool->db_path;
	conf.workers = pool->nworkers;
	conf.cost = pool->cost;
	conf.stop = pool->stop;
	conf.live = pool->live;
	conf.nlive = pool->nslots;
	conf.slots = pool->pass;
	conf.slots_len = pool->nslots * SC_PASS_MAX;
	if ((pid = hashhelper_spawn(&conf, &pool->sock, err, errlen)) == -1)
		return (-1);
	pool->child = pid;
	pool->ready = 0;
	pool->ev = event_new(pool->base, pool->sock, EV_READ | EV_PERSIST,
	    hashpool_sock_cb, pool);
	/* Results are urgent: the highest priority of a prioritised base. */
	if (pool->ev == NULL || event_priority_set(pool->ev, 0) == -1 ||
	    event_add(pool->ev, NULL) == -1) {
		snprintf(err, errlen, "hash pool: cannot watch the helper");
		hashpool_close_sock(pool);
		hashpool_reap(pool->child, 0);
		pool->child = -1;
		return (-1);
	}
	log_debug("auth: hash process pid=%ld workers=%d", (long)pid,
	    pool->nworkers);
	return (0);
}

/*
 * The helper died or broke the format: reap it, fail the jobs in flight
 * with SC_ERR_INTERNAL, and fork a new one after at most a second.
 */
static void
hashpool_child_lost(struct hashpool *pool, const char *why)
{
	struct hashpool_jobs	 lost;
	struct hashpool_job	*job;
	struct timeval		 tv;
	uint64_t		 now, at;

	log_errorx("auth: hash process pid=%ld lost (%s), jobs_failed=%zu",
	    (long)pool->child, why, pool->inflight);
	hashpool_close_sock(pool);
	hashpool_reap(pool->child, 1);
	pool->child = -1;

	now = util_now_ms();
	at = pool->spawned_ms + HASHPOOL_RESPAWN_MS;
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	if (evtimer_add(pool->respawn_ev, &tv) == -1)
		log_errorx("auth: cannot schedule a new hash process");

	TAILQ_INIT(&lost);
	TAILQ_CONCAT(&lost, &pool->flight, entry);
	pool->inflight = 0;
	while ((job = TAILQ_FIRST(&lost)) != NULL) {
		TAILQ_REMOVE(&lost, job, entry);
		hashpool_deliver(pool, job, SC_ERR_INTERNAL, 0);
	}
}

/* Timer: forks the replacement helper; tries again a second later. */
static void
hashpool_respawn_cb(evutil_socket_t fd, short events, void *arg)
{
	struct hashpool	*pool = arg;
	struct timeval	 tv = { HASHPOOL_RESPAWN_MS / 1000, 0 };
	char		 err[256];

	(void)fd;
	(void)events;
	if (pool->child != -1)
		return;
	if (hashpool_spawn(pool, err, sizeof err) == -1) {
		log_errorx("auth: %s; queued=%zu wait", err, pool->queued);
		if (evtimer_add(pool->respawn_ev, &tv) == -1)
			log_errorx("auth: cannot schedule a new hash process");
		return;
	}
	log_info("auth: new hash process pid=%ld queued=%zu",
	    (long)pool->child, pool->queued);
}

/* Takes the in-flight job a result answers off the list; NULL if none. */
static struct hashpool_job *
hashpool_flight_take(struct hashpool *pool, const struct hashmsg_result *r)
{
	struct hashpool_job	*job;

	TAILQ_FOREACH(job, &pool->flight, entry) {
		if (job->msg.session_id == r->session_id &&
		    job->msg.op == r->op &&
		    job->msg.name_len == r->text_len &&
		    memcmp(job->msg.name, r->text, r->text_len) == 0) {
			TAILQ_REMOVE(&pool->flight, job, entry);
			pool->inflight--;
			return (job);
		}
	}
	return (NULL);
}

/* Loop side: reads every message waiting and delivers the results. */
static void
hashpool_sock_cb(evutil_socket_t fd, short events, void *arg)
{
	struct hashpool		*pool = arg;
	struct hashmsg_result	 r;
	struct hashpool_job	*job;
	const char		*why = NULL;
	int			 rc;

	(void)fd;
	(void)events;
	while (pool->sock != -1 &&
	    (rc = hashpool_recv(pool->sock, &r, &why)) != 0) {
		if (rc == -1) {
			hashpool_child_lost(pool, why);
			return;
		}
		if (r.op == HASHMSG_OP_START) {
			if (r.status == 0 && pool->ready >= pool->nworkers) {
				hashpool_child_lost(pool, "too many workers");
				return;
			}
			if (r.status == 0)
				pool->ready++;
			else
				log_errorx("auth: hash worker did not start: "
				    "%s", r.text);
			continue;
		}
		if ((job = hashpool_flight_take(pool, &r)) == NULL) {
			hashpool_child_lost(pool, "result for no job");
			return;
		}
		if (r.status == HASHMSG_WITHDRAWN)
			hashpool_job_put(pool, job);
		else
			hashpool_deliver(pool, job, r.status, r.usec);
	}
	hashpool_dispatch(pool);
}

/* Jobs the helper may hold per worker: a pipeline only for cheap hashes. */
static size_t
hashpool_depth(const struct hashpool *pool)
{
	return (pool->cost == SC_COST_MIN ? HASHPOOL_PIPELINE : 1);
}

/*
 * Sends waiting jobs while a worker is free, with the cost and log level
 * of the moment.  A send that fails leaves the job at the head of the
 * queue; a dead helper shows as end of file on the socket, handled by
 * hashpool_sock_cb.
 */
static void
hashpool_dispatch(struct hashpool *pool)
{
	struct hashpool_job	*job;
	int			 rc;

	while (pool->sock != -1 &&
	    (job = RB_MIN(hashpool_queue, &pool->queue)) != NULL &&
	    pool->inflight < (size_t)pool->ready * hashpool_depth(pool)) {
		job->msg.cost = pool->cost;
		job->msg.log_level = log_get_level();
		__atomic_store_n(&pool->live[job->msg.slot],
		    job->msg.session_id, __ATOMIC_RELEASE);
		if (hashmsg_job_put(&pool->out, &job->msg) == -1) {
			/* Out of memory: the job waits for the next turn. */
			wbuf_reset(&pool->out);
			log_warnx("auth: cannot write a job for the hash "
			    "process");
			break;
		}
		rc = hashmsg_send(pool->sock, &pool->out, MSG_DONTWAIT);
		/* Wipes the password and keeps the memory. */
		wbuf_reset(&pool->out);
		if (rc == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EPIPE && errno != ECONNRESET)
				log_warn("auth: send to hash process");
			break;
		}
		RB_REMOVE(hashpool_queue, &pool->queue, job);
		pool->queued--;
		sc_wipe(job->slot, job->msg.pass_len);
		job->msg.pass = NULL;
		job->msg.pass_len = 0;
		TAILQ_INSERT_HEAD(&pool->flight, job, entry);
		job->where = HASHPOOL_FLIGHT;
		pool->inflight++;
	}
}

/*
 * Waits, blocking, for every worker of a new helper to report; -1 with
 * the first error in err.
 */
static int
hashpool_wait_start(struct hashpool *pool, char *err, size_t errlen)
{
	struct pollfd		 pfd;
	struct hashmsg_result	 r;
	const char		*why = NULL;
	uint64_t		 deadline, now;
	int			 failed = 0, rc;

	deadline = util_now_ms() + HASHPOOL_START_MS;
	while (pool->ready + failed < pool->nworkers) {
		if ((now = util_now_ms()) >= deadline) {
			snprintf(err, errlen, "hash pool: workers did not "
			    "start within %d s", HASHPOOL_START_MS / 1000);
			return (-1);
		}
		pfd.fd = pool->sock;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc == -1 && errno != EINTR) {
			snprintf(err, errlen, "hash pool: poll: %s",
			    strerror(errno));
			return (-1);
		}
		if (rc <= 0)
			continue;
		if ((rc = hashpool_recv(pool->sock, &r, &why)) == 0)
			continue;
		if (rc == -1 || r.op != HASHMSG_OP_START) {
			snprintf(err, errlen, "hash pool: helper failed at "
			    "start: %s", rc == -1 ? why : "early result");
			return (-1);
		}
		if (r.status == 0)
			pool->ready++;
		else if (failed++ == 0)
			snprintf(err, errlen, "%s", r.text);
	}
	return (failed == 0 ? 0 : -1);
}

/* Starts the helper process and the loop side of the pool. */
struct hashpool *
hashpool_new(struct event_base *base, const char *db_path, int workers,
    int queue_max, enum sc_cost cost, hashpool_done_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct hashpool	*pool;

	if (workers < 1 || workers > HASHPOOL_WORKERS_MAX || queue_max < 1 ||
	    (int)cost < 0 || (int)cost >= HASHMSG_COSTS || cb == NULL ||
	    db_path == NULL || base == NULL) {
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
	pool->nworkers = workers;
	pool->queue_max = (size_t)queue_max;
	pool->cost = cost;
	pool->child = -1;
	pool->sock = -1;
	/* Waiting or in flight, one per worker more; held, as many again. */
	pool->nslots = 2 * (size_t)queue_max + (size_t)workers;
	TAILQ_INIT(&pool->free);
	TAILQ_INIT(&pool->held);
	RB_INIT(&pool->queue);
	TAILQ_INIT(&pool->flight);
	wbuf_init(&pool->out);

	if ((pool->db_path = strdup(db_path)) == NULL ||
	    (pool->jobs = calloc(pool->nslots, sizeof *pool->jobs)) == NULL ||
	    (pool->pass = sc_secure_alloc(pool->nslots * SC_PASS_MAX)) ==
	    NULL) {
		snprintf(err, errlen, "hash pool: out of memory");
		goto fail;
	}
	pool->stop = mmap(NULL, sizeof(*pool->stop), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pool->stop == MAP_FAILED) {
		pool->stop = NULL;
		snprintf(err, errlen, "hash pool: shared page: %s",
		    strerror(errno));
		goto fail;
	}
	pool->live = mmap(NULL, pool->nslots * sizeof(*pool->live),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pool->live == MAP_FAILED) {
		pool->live = NULL;
		snprintf(err, errlen, "hash pool: shared table: %s",
		    strerror(errno));
		goto fail;
	}
	if ((pool->respawn_ev = evtimer_new(base, hashpool_respawn_cb,
	    pool)) == NULL) {
		snprintf(err, errlen, "hash pool: cannot make a timer");
		goto fail;
	}
	if (hashpool_spawn(pool, err, errlen) == -1 ||
	    hashpool_wait_start(pool, err, errlen) == -1)
		goto fail;
	log_debug("auth: pool pid=%ld workers=%d queue=%d cost=%d",
	    (long)pool->child, workers, queue_max, (int)cost);
	return (pool);
fail:
	hashpool_free(pool);
	return (NULL);
}

/* Whether one more job may wait for a worker (or be hashed) now. */
static int
hashpool_room(const struct hashpool *pool)
{
	return (pool->queued + pool->inflight <
	    pool->queue_max + (size_t)pool->nworkers);
}

/* Puts a job, on no list, in the queue and sends what can be sent. */
static void
hashpool_enqueue(struct hashpool *pool, struct hashpool_job *job)
{
	job->seq = ++pool->seq;
	RB_INSERT(hashpool_queue, &pool->queue, job);
	job->where = HASHPOOL_QUEUED;
	pool->queued++;
	hashpool_dispatch(pool);
}

/*
 * Timer of a held job: its delay is over, so it joins the queue; a full
 * queue answers it busy, as it would have been answered had it come now.
 */
static void
hashpool_held_cb(evutil_socket_t fd, short events, void *arg)
{
	struct hashpool_job	*job = arg;
	struct hashpool		*pool = job->pool;

	(void)fd;
	(void)events;
	TAILQ_REMOVE(&pool->held, job, entry);
	pool->nheld--;
	job->where = HASHPOOL_FREE;
	if (!hashpool_room(pool)) {
		log_info("auth: held job session=%llu found the queue full",
		    (unsigned long long)job->msg.session_id);
		hashpool_deliver(pool, job, SC_ERR_BUSY, 0);
		return;
	}
	hashpool_enqueue(pool, job);
}

/* Holds a job, on no list, for delay_ms; -1 when the timer cannot run. */
static int
hashpool_hold(struct hashpool *pool, struct hashpool_job *job,
    uint64_t delay_ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)((delay_ms % 1000) * 1000);
	evtimer_assign(&job->ev, pool->base, hashpool_held_cb, job);
	if (event_priority_set(&job->ev, 0) != 0 ||
	    evtimer_add(&job->ev, &tv) != 0)
		return (-1);
	TAILQ_INSERT_TAIL(&pool->held, job, entry);
	job->where = HASHPOOL_HELD;
	pool->nheld++;
	return (0);
}

/* Queues a job at once; -1 when the queue is full. */
int
hashpool_submit(struct hashpool *pool, uint64_t session_id, uint8_t op,
    const char *name, const uint8_t *pass, size_t pass_len)
{
	return (hashpool_submit_at(pool, session_id, op, name, pass,
	    pass_len, 0, 0) < 0 ? -1 : 0);
}

/*
 * Queues a job of rank, or holds it for delay_ms first; the job's handle,
 * or -1 when there is no room.
 */
int
hashpool_submit_at(struct hashpool *pool, uint64_t session_id, uint8_t op,
    const char *name, const uint8_t *pass, size_t pass_len,
    uint64_t delay_ms, unsigned rank)
{
	struct hashpool_job	*job;
	size_t			 nlen, min, max;

	if (pool == NULL || !hashmsg_op_valid(op))
		return (-1);
	if (name == NULL || (nlen = strnlen(name, SC_NAME_MAX + 1)) == 0 ||
	    nlen > SC_NAME_MAX)
		return (-1);
	hashmsg_op_bytes(op, &min, &max);
	if (max == 0)
		pass_len = 0;
	else if (pass == NULL || pass_len < min || pass_len > max)
		return (-1);
	if (delay_ms == 0 ? !hashpool_room(pool) :
	    pool->nheld >= pool->queue_max)
		return (-1);
	if ((job = hashpool_job_get(pool)) == NULL)
		return (-1);
	job->msg.session_id = session_id;
	job->msg.op = op;
	job->rank = rank;
	memcpy(job->msg.name, name, nlen);
	job->msg.name[nlen] = '\0';
	job->msg.name_len = nlen;
	if (pass_len > 0)
		memcpy(job->slot, pass, pass_len);
	job->msg.pass = job->slot;
	job->msg.pass_len = pass_len;
	if (delay_ms > 0 && hashpool_hold(pool, job, delay_ms) == -1) {
		hashpool_job_put(pool, job);
		return (-1);
	}
	if (delay_ms == 0)
		hashpool_enqueue(pool, job);
	return ((int)job->msg.slot);
}

/*
 * Withdraws the job of handle for session_id (its session went): held or
 * queued, it is dropped now; in flight, the helper skips it unless it is
 * already being hashed.  A handle that no longer names that session's job
 * changes nothing.
 */
void
hashpool_withdraw(struct hashpool *pool, int handle, uint64_t session_id)
{
	struct hashpool_job	*job;

	if (pool == NULL || handle < 0 || (size_t)handle >= pool->nused)
		return;
	job = &pool->jobs[handle];
	if (job->msg.session_id != session_id)
		return;
	switch (job->where) {
	case HASHPOOL_HELD:
		event_del(&job->ev);
		TAILQ_REMOVE(&pool->held, job, entry);
		pool->nheld--;
		hashpool_job_put(pool, job);
		break;
	case HASHPOOL_QUEUED:
		RB_REMOVE(hashpool_queue, &pool->queue, job);
		pool->queued--;
		hashpool_job_put(pool, job);
		break;
	case HASHPOOL_FLIGHT:
		__atomic_store_n(&pool->live[job->msg.slot], 0,
		    __ATOMIC_RELEASE);
		break;
	default:
		break;
	}
}

/* Sets the cost that the next jobs carry to the helper. */
void
hashpool_set_cost(struct hashpool *pool, enum sc_cost cost)
{
	if (pool == NULL)
		return;
	if ((int)cost < 0 || (int)cost >= HASHMSG_COSTS) {
		log_warnx("auth: cost=%d unknown, kept %d", (int)cost,
		    (int)pool->cost);
		return;
	}
	pool->cost = cost;
}

/* Jobs held, waiting or running. */
size_t
hashpool_pending(struct hashpool *pool)
{
	if (pool == NULL)
		return (0);
	return (pool->nheld + pool->queued + pool->inflight);
}

/* The helper process's pid, -1 while there is none. */
pid_t
hashpool_child(struct hashpool *pool)
{
	if (pool == NULL)
		return (-1);
	return (pool->child);
}

/*
 * Waits up to HASHPOOL_STOP_MS for the helper to end by itself (its
 * workers finish the hash they run, then see end of file), then kills it.
 */
static void
hashpool_stop_child(pid_t pid)
{
	struct timespec	ts = { 0, 5 * 1000 * 1000 };
	uint64_t	deadline = util_now_ms() + HASHPOOL_STOP_MS;
	pid_t		r;
	int		status;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r == -1 && errno != EINTR))
			return;
		if (util_now_ms() >= deadline)
			break;
		if (r == 0)
			nanosleep(&ts, NULL);
	}
	log_warnx("auth: hash process pid=%ld still busy after %d ms, killed",
	    (long)pid, HASHPOOL_STOP_MS);
	hashpool_reap(pid, 0);
}

/* Stops the helper and frees everything, undelivered results included. */
void
hashpool_free(struct hashpool *pool)
{
	struct hashpool_job	*job;

	if (pool == NULL)
		return;
	while ((job = TAILQ_FIRST(&pool->held)) != NULL) {
		event_del(&job->ev);
		TAILQ_REMOVE(&pool->held, job, entry);
		hashpool_job_put(pool, job);
	}
	pool->nheld = 0;
	while ((job = RB_MIN(hashpool_queue, &pool->queue)) != NULL) {
		RB_REMOVE(hashpool_queue, &pool->queue, job);
		hashpool_job_put(pool, job);
	}
	pool->queued = 0;
	if (pool->respawn_ev != NULL)
		event_free(pool->respawn_ev);
	if (pool->stop != NULL)
		__atomic_store_n(pool->stop, 1, __ATOMIC_RELEASE);
	hashpool_close_sock(pool);
	if (pool->child != -1)
		hashpool_stop_child(pool->child);
	/* Every slot was wiped when freed; sodium_free wipes again. */
	sc_secure_free(pool->pass);
	if (pool->stop != NULL)
		munmap(pool->stop, sizeof(*pool->stop));
	if (pool->live != NULL)
		munmap(pool->live, pool->nslots * sizeof(*pool->live));
	wbuf_free(&pool->out);
	free(pool->jobs);
	free(pool->db_path);
	free(pool);
}
