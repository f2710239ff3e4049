/*
 * Password-hash pool.  Argon2id maps, faults in and unmaps its whole memory
 * (64 MiB at the interactive cost) for every hash, holding the process's
 * address-space lock; run inside the daemon, every hash would make the
 * event loop wait behind it.  So the hashing runs in a helper process with
 * an address space of its own, forked at start:
 *
 *   daemon, loop thread                  helper process
 *   jobs waiting (at most queue_max)  -> workers threads, each with its own
 *   one event on its socket end       <- store handle: recv a job, do it,
 *                                        send the result, wipe, again
 *
 * over one socketpair(AF_UNIX, SOCK_SEQPACKET): message boundaries are
 * kept, and the workers all recv on the same end, each taking whole jobs.
 * At most AUTH_PIPELINE jobs per worker are in flight: enough that results
 * come back in bursts when hashes are cheap, so that many logins join the
 * roster in one loop turn and their presence goes out in one frame per
 * client (one job at a time per worker made that one frame per login per
 * client); the rest wait in the daemon.  At auth_pool_free the daemon sets
 * a flag in a page shared with the helper, whose workers then skip every
 * job not yet started: the jobs in flight are dropped as the queued ones
 * are, and only the hashes running finish.  Passwords waiting in the daemon live in one guarded region made at
 * start (one SC_PASS_MAX slot per job), wiped as soon as the job is sent;
 * nothing on the loop maps or unmaps memory per job.
 *
 * Messages (integers little-endian; every message is checked for its exact
 * length and ranges on receipt, on both sides):
 *
 *   job, daemon -> helper:
 *     u64 session id, u8 op (SC_MSG_SIGN or SC_MSG_AUTH), u8 cost (enum
 *     sc_cost), u8 log level (enum log_level: the daemon's, so that a
 *     reload reaches the helper), u8 name_len (1..SC_NAME_MAX), name, u16
 *     pass_len (SC_PASS_MIN..SC_PASS_MAX), pass
 *   result, helper -> daemon:
 *     u64 session id, u8 op, i32 status (0 or an enum sc_err), u8 name_len
 *     (1..SC_NAME_MAX), name: the job's id, op and name
 *   start report, helper -> daemon, one per worker before any result:
 *     the result layout with session id 0 and op AUTH_OP_START; status 0
 *     when the worker opened its store, else SC_ERR_INTERNAL and the error
 *     text (0..255 bytes) in place of the name
 *
 * The helper ignores the stop signals and ends when its socket reaches end
 * of file (the daemon closed it or died; PR_SET_PDEATHSIG covers a killed
 * daemon too).  If it dies on its own or breaks the format, the daemon
 * answers the jobs in flight with SC_ERR_INTERNAL and forks a new one, at
 * most once a second; jobs queued meanwhile wait.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
#define AUTH_COSTS		(SC_COST_SENSITIVE + 1)
#define AUTH_OP_START		0
#define AUTH_TEXT_MAX		255
/* Job: id, op, cost, name_len, name, pass_len, pass. */
#define AUTH_JOB_HDR		(8 + 1 + 1 + 1 + 1)
#define AUTH_JOB_MAX		(AUTH_JOB_HDR + SC_NAME_MAX + 2 + SC_PASS_MAX)
/* Result: id, op, status, name_len, name. */
#define AUTH_RES_HDR		(8 + 1 + 4 + 1)
#define AUTH_RES_MAX		(AUTH_RES_HDR + AUTH_TEXT_MAX)
#define AUTH_START_MS		30000	/* for every worker to report */
#define AUTH_STOP_MS		2000	/* for the helper to end at free */
#define AUTH_RESPAWN_MS		1000	/* between two forks */
#define AUTH_CLOSE_MAX		1048576	/* fd bound without close_range */

/* A job in the daemon: waiting, in flight, or on the free list. */
struct auth_job {
	struct auth_job	*next;
	uint64_t	 session_id;
	uint8_t		 op;
	char		 name[SC_NAME_MAX + 1];
	size_t		 name_len;
	uint8_t		*pass;		/* its slot in the guarded region */
	size_t		 pass_len;
};

struct auth_pool {
	struct event_base	*base;
	char			*db_path;
	auth_done_cb		 cb;
	void			*arg;
	int			 nworkers;
	size_t			 queue_max;
	enum sc_cost		 cost;

	struct auth_job		*jobs;		/* nslots, touched as used */
	size_t			 nslots;
	size_t			 nused;		/* jobs[] handed out so far */
	uint8_t			*pass;		/* sc_secure_alloc, nslots slots */
	struct auth_job		*free;		/* returned jobs */
	struct auth_job		*queue;		/* FIFO of waiting jobs */
	struct auth_job		*queue_tail;
	size_t			 queued;
	struct auth_job		*flight;	/* sent to the helper */
	size_t			 inflight;

	pid_t			 child;		/* -1 when none */
	int			 sock;		/* our end, -1 when none */
	struct event		*ev;		/* on sock */
	int			 ready;		/* workers of this helper ready */
	int			*stop;		/* shared with the helper */
	struct event		*respawn_ev;
	uint64_t		 spawned_ms;
};

/* A message from the helper, decoded and checked. */
struct auth_msg {
	uint64_t	session_id;
	uint8_t		op;
	int32_t		status;
	size_t		name_len;
	char		name[AUTH_TEXT_MAX + 1];
};

/* One worker thread of the helper process. */
struct auth_worker {
	pthread_t	 thread;
	const char	*db_path;
	int		 sock;
	const int	*stop;		/* set by the daemon: skip the rest */
	enum sc_cost	 start_cost;
	char		 dummy[AUTH_COSTS][SC_PWHASH_LEN];
	int		 have_dummy[AUTH_COSTS];
};

/* A job as the helper decodes it; wiped after use. */
struct auth_task {
	uint64_t	session_id;
	uint8_t		op;
	enum sc_cost	cost;
	enum log_level	log_level;
	char		name[SC_NAME_MAX + 1];
	size_t		name_len;
	uint8_t		pass[SC_PASS_MAX];
	size_t		pass_len;
};

static void	auth_dispatch(struct auth_pool *);
static void	auth_sock_cb(evutil_socket_t, short, void *);

/* Milliseconds on the monotonic clock. */
static uint64_t
auth_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Writes v little-endian in n bytes. */
static void
auth_put_le(uint8_t *p, uint64_t v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads n bytes little-endian. */
static uint64_t
auth_get_le(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return (v);
}

/* Short name of a job's operation for log lines. */
static const char *
auth_op_name(uint8_t op)
{
	return (op == SC_MSG_SIGN ? "sign" : "auth");
}

/*
 * Encodes a result or start report; returns its length.  text is at most
 * AUTH_TEXT_MAX bytes (longer is cut).
 */
static size_t
auth_result_encode(uint8_t out[AUTH_RES_MAX], uint64_t session_id,
    uint8_t op, int32_t status, const char *text, size_t len)
{
	if (len > AUTH_TEXT_MAX)
		len = AUTH_TEXT_MAX;
	auth_put_le(out, session_id, 8);
	out[8] = op;
	auth_put_le(out + 9, (uint32_t)status, 4);
	out[13] = (uint8_t)len;
	memcpy(out + AUTH_RES_HDR, text, len);
	return (AUTH_RES_HDR + len);
}

/* Sends one message on a blocking socket; -1 when the peer is gone. */
static int
auth_send(int sock, const uint8_t *msg, size_t len, int flags)
{
	ssize_t	n;

	do {
		n = send(sock, msg, len, flags | MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	return (n == (ssize_t)len ? 0 : -1);
}

/* ---- The helper process ------------------------------------------------ */

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

/* The worker's dummy hash at cost, made on first use; NULL on failure. */
static const char *
auth_worker_dummy(struct auth_worker *w, enum sc_cost cost)
{
	if (!w->have_dummy[cost]) {
		if (auth_dummy_make(w->dummy[cost], cost) == -1) {
			log_warnx("auth: dummy hash at cost=%d failed",
			    (int)cost);
			return (NULL);
		}
		w->have_dummy[cost] = 1;
	}
	return (w->dummy[cost]);
}

/* SIGN: hashes the password at the job's cost and adds the account. */
static int
auth_do_sign(struct store *st, const struct auth_task *t)
{
	char	hash[SC_PWHASH_LEN];
	int	rc, status = SC_ERR_INTERNAL;

	/* A taken name needs no hash: answer it without the work. */
	rc = store_get(st, t->name, hash);
	sc_wipe(hash, sizeof hash);
	if (rc == STORE_OK) {
		status = SC_ERR_TAKEN;
		goto out;
	}
	if (rc != STORE_NOTFOUND)
		goto out;
	if (sc_pwhash(hash, t->pass, t->pass_len, t->cost) != 0) {
		log_warnx("auth: name=%s password hash failed", t->name);
		goto out;
	}
	rc = store_add(st, t->name, hash);
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
 * name, against a dummy hash of the same cost so that both failures cost
 * the same and look the same.  A hash made at another cost is upgraded
 * after a good login.
 */
static int
auth_do_auth(struct auth_worker *w, struct store *st,
    const struct auth_task *t)
{
	char		 hash[SC_PWHASH_LEN];
	char		 fresh[SC_PWHASH_LEN];
	const char	*dummy;
	int		 rc, ok, status = SC_ERR_INTERNAL;

	memset(fresh, 0, sizeof fresh);
	rc = store_get(st, t->name, hash);
	if (rc == STORE_NOTFOUND) {
		if ((dummy = auth_worker_dummy(w, t->cost)) != NULL) {
			memcpy(hash, dummy, sizeof hash);
			ok = sc_pwhash_verify(hash, t->pass, t->pass_len);
			(void)ok;
		}
		status = SC_ERR_CREDENTIALS;
		goto out;
	}
	if (rc != STORE_OK)
		goto out;
	if (sc_pwhash_verify(hash, t->pass, t->pass_len) != 0) {
		status = SC_ERR_CREDENTIALS;
		goto out;
	}
	status = 0;
	if (sc_pwhash_needs_rehash(hash, t->cost) == 0)
		goto out;
	if (sc_pwhash(fresh, t->pass, t->pass_len, t->cost) != 0) {
		log_warnx("auth: name=%s rehash failed", t->name);
		goto out;
	}
	if (store_set(st, t->name, fresh) != STORE_OK)
		log_warnx("auth: name=%s cost upgrade not stored", t->name);
	else
		log_info("auth: name=%s password hash upgraded cost=%d",
		    t->name, (int)t->cost);
out:
	sc_wipe(hash, sizeof hash);
	sc_wipe(fresh, sizeof fresh);
	return (status);
}

/* Decodes and checks a job message; -1 when it breaks the format. */
static int
auth_task_decode(struct auth_task *t, const uint8_t *msg, size_t len)
{
	size_t	off;

	if (len < AUTH_JOB_HDR || len > AUTH_JOB_MAX)
		return (-1);
	t->session_id = auth_get_le(msg, 8);
	t->op = msg[8];
	if (t->op != SC_MSG_SIGN && t->op != SC_MSG_AUTH)
		return (-1);
	if (msg[9] >= AUTH_COSTS)
		return (-1);
	t->cost = (enum sc_cost)msg[9];
	if (msg[10] > LOG_LVL_DEBUG)
		return (-1);
	t->log_level = (enum log_level)msg[10];
	t->name_len = msg[11];
	if (t->name_len < 1 || t->name_len > SC_NAME_MAX)
		return (-1);
	off = AUTH_JOB_HDR;
	if (len < off + t->name_len + 2)
		return (-1);
	memcpy(t->name, msg + off, t->name_len);
	t->name[t->name_len] = '\0';
	if (memchr(t->name, '\0', t->name_len) != NULL)
		return (-1);
	off += t->name_len;
	t->pass_len = (size_t)auth_get_le(msg + off, 2);
	off += 2;
	if (t->pass_len < SC_PASS_MIN || t->pass_len > SC_PASS_MAX ||
	    len != off + t->pass_len)
		return (-1);
	memcpy(t->pass, msg + off, t->pass_len);
	return (0);
}

/* Runs one job and returns its status. */
static int
auth_task_run(struct auth_worker *w, struct store *st,
    const struct auth_task *t)
{
	int	status;

	if (!wire_name_valid(t->name, t->name_len))
		status = SC_ERR_BAD_NAME;
	else if (t->op == SC_MSG_SIGN)
		status = auth_do_sign(st, t);
	else
		status = auth_do_auth(w, st, t);
	log_debug("auth: session=%llu op=%s name=%s cost=%d status=%d",
	    (unsigned long long)t->session_id, auth_op_name(t->op), t->name,
	    (int)t->cost, status);
	return (status);
}

/*
 * Helper worker thread: opens its store and reports, then takes jobs from
 * the shared socket until end of file.
 */
static void *
auth_worker_main(void *arg)
{
	struct auth_worker	*w = arg;
	struct auth_task	 t;
	struct store		*st;
	uint8_t			 msg[AUTH_JOB_MAX + 1];
	uint8_t			 res[AUTH_RES_MAX];
	char			 err[256];
	size_t			 rlen;
	ssize_t			 n;
	int			 status;

	err[0] = '\0';
	st = store_open(w->db_path, err, sizeof err);
	rlen = st != NULL ?
	    auth_result_encode(res, 0, AUTH_OP_START, 0, "", 0) :
	    auth_result_encode(res, 0, AUTH_OP_START, SC_ERR_INTERNAL, err,
	    strlen(err));
	if (auth_send(w->sock, res, rlen, 0) == -1 || st == NULL)
		goto out;
	/* The first unknown user should not pay for the dummy hash. */
	(void)auth_worker_dummy(w, w->start_cost);

	for (;;) {
		n = recv(w->sock, msg, sizeof msg, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			break;
		if (n == -1) {
			log_warn("auth: helper recv");
			break;
		}
		if (auth_task_decode(&t, msg, (size_t)n) == -1) {
			/* The daemon broke the format: end, it forks anew. */
			log_errorx("auth: bad job message len=%zd", n);
			sc_wipe(msg, sizeof msg);
			sc_wipe(&t, sizeof t);
			shutdown(w->sock, SHUT_RDWR);
			break;
		}
		sc_wipe(msg, (size_t)n);
		if (log_get_level() != t.log_level)
			log_set_level(t.log_level);
		if (__atomic_load_n(w->stop, __ATOMIC_ACQUIRE)) {
			/* The daemon is stopping: no new hash, no answer. */
			sc_wipe(&t, sizeof t);
			continue;
		}
		status = auth_task_run(w, st, &t);
		rlen = auth_result_encode(res, t.session_id, t.op, status,
		    t.name, t.name_len);
		sc_wipe(&t, sizeof t);
		if (auth_send(w->sock, res, rlen, 0) == -1)
			break;
	}
out:
	sc_wipe(msg, sizeof msg);
	store_free(st);
	return (NULL);
}

/* Closes every descriptor from 3 up except keep. */
static void
auth_child_close_fds(int keep)
{
	long	max;
	int	fd;

	if (keep < 3) {
		if (close_range(3, ~0U, 0) == 0)
			return;
	} else if ((keep == 3 || close_range(3, (unsigned)keep - 1,
	    0) == 0) && close_range((unsigned)keep + 1, ~0U, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > AUTH_CLOSE_MAX)
		max = AUTH_CLOSE_MAX;
	for (fd = 3; fd < max; fd++) {
		if (fd != keep)
			(void)close(fd);
	}
}

/*
 * Clears the helper's copy of the daemon's password slots: the pages are
 * dropped (zero on next touch, and no cost for the untouched ones), the
 * partial pages at both ends wiped.
 */
static void
auth_child_drop_slots(uint8_t *p, size_t len)
{
	uintptr_t	page, a, b, lo, hi;
	long		ps;

	if (p == NULL || len == 0)
		return;
	if ((ps = sysconf(_SC_PAGESIZE)) <= 0) {
		sc_wipe(p, len);
		return;
	}
	page = (uintptr_t)ps;
	a = (uintptr_t)p;
	b = a + len;
	lo = (a + page - 1) & ~(page - 1);
	hi = b & ~(page - 1);
	if (lo >= hi || madvise((void *)lo, hi - lo, MADV_DONTNEED) == -1) {
		sc_wipe(p, len);
		return;
	}
	sc_wipe(p, lo - a);
	sc_wipe((void *)hi, b - hi);
}

/*
 * The helper process: never returns.  It takes nothing of the daemon but
 * its socket end and standard descriptors, and never touches libevent.
 */
static void
auth_child_main(struct auth_pool *pool, int sock, pid_t parent)
    __attribute__((noreturn));
static void
auth_child_main(struct auth_pool *pool, int sock, pid_t parent)
{
	struct auth_worker	*w;
	uint8_t			 res[AUTH_RES_MAX];
	char			 text[128];
	size_t			 rlen;
	int			 i, rc, started = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(0);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	auth_child_close_fds(sock);
	auth_child_drop_slots(pool->pass, pool->nslots * SC_PASS_MAX);

	if ((w = calloc((size_t)pool->nworkers, sizeof *w)) == NULL) {
		snprintf(text, sizeof text, "hash helper: out of memory");
		goto fail;
	}
	for (i = 0; i < pool->nworkers; i++) {
		w[i].db_path = pool->db_path;
		w[i].sock = sock;
		w[i].stop = pool->stop;
		w[i].start_cost = pool->cost;
		rc = pthread_create(&w[i].thread, NULL, auth_worker_main,
		    &w[i]);
		if (rc != 0) {
			snprintf(text, sizeof text, "hash helper: thread: %s",
			    strerror(rc));
			goto fail;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	_exit(0);
fail:
	/* One report for every worker that will not make its own. */
	rlen = auth_result_encode(res, 0, AUTH_OP_START, SC_ERR_INTERNAL,
	    text, strlen(text));
	for (i = started; i < pool->nworkers; i++)
		(void)auth_send(sock, res, rlen, 0);
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	_exit(1);
}

/* ---- The daemon side --------------------------------------------------- */

/*
 * Reads one message from the helper without blocking: 1 with a checked
 * message in m, 0 when none is waiting, -1 when the helper is gone or broke
 * the format (why says which).
 */
static int
auth_recv_msg(int sock, struct auth_msg *m, const char **why)
{
	uint8_t	buf[AUTH_RES_MAX + 1];
	ssize_t	n;
	int64_t	status;

	do {
		n = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return (0);
	if (n <= 0) {
		*why = n == 0 ? "end of file" : strerror(errno);
		return (-1);
	}
	*why = "bad message";
	if ((size_t)n < AUTH_RES_HDR || (size_t)n > AUTH_RES_MAX)
		return (-1);
	m->session_id = auth_get_le(buf, 8);
	m->op = buf[8];
	status = (int32_t)(uint32_t)auth_get_le(buf + 9, 4);
	m->name_len = buf[13];
	if ((size_t)n != AUTH_RES_HDR + m->name_len)
		return (-1);
	memcpy(m->name, buf + AUTH_RES_HDR, m->name_len);
	m->name[m->name_len] = '\0';
	if (m->op == AUTH_OP_START) {
		if (m->session_id != 0 || (status != 0 &&
		    status != SC_ERR_INTERNAL))
			return (-1);
	} else if (m->op == SC_MSG_SIGN || m->op == SC_MSG_AUTH) {
		if (m->name_len < 1 || m->name_len > SC_NAME_MAX ||
		    memchr(m->name, '\0', m->name_len) != NULL ||
		    status < 0 || status > SC_ERR_MAX)
			return (-1);
	} else
		return (-1);
	m->status = (int32_t)status;
	return (1);
}

/* Takes a free job: a returned one, else the next never used. */
static struct auth_job *
auth_job_get(struct auth_pool *pool)
{
	struct auth_job	*job;

	if ((job = pool->free) != NULL) {
		pool->free = job->next;
		return (job);
	}
	if (pool->nused >= pool->nslots)
		return (NULL);
	job = &pool->jobs[pool->nused];
	job->pass = pool->pass + pool->nused * SC_PASS_MAX;
	pool->nused++;
	return (job);
}

/* Returns a job to the free list, wiping its password slot. */
static void
auth_job_put(struct auth_pool *pool, struct auth_job *job)
{
	uint8_t	*pass = job->pass;

	sc_wipe(pass, SC_PASS_MAX);
	memset(job, 0, sizeof *job);
	job->pass = pass;
	job->next = pool->free;
	pool->free = job;
}

/*
 * Ends the helper: SIGKILL (nothing if it is already gone; its pid stays
 * ours until reaped) and waits for it.  Logs how it ended when asked.
 */
static void
auth_reap(pid_t pid, int report)
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
auth_close_sock(struct auth_pool *pool)
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
auth_spawn(struct auth_pool *pool, char *err, size_t errlen)
{
	pid_t	pid, parent = getpid();
	int	sv[2];

	pool->spawned_ms = auth_now_ms();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "hash pool: socketpair: %s",
		    strerror(errno));
		return (-1);
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "hash pool: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return (-1);
	}
	if (pid == 0) {
		close(sv[0]);
		auth_child_main(pool, sv[1], parent);
	}
	close(sv[1]);
	pool->child = pid;
	pool->sock = sv[0];
	pool->ready = 0;
	pool->ev = event_new(pool->base, pool->sock, EV_READ | EV_PERSIST,
	    auth_sock_cb, pool);
	/* Results are urgent: the highest priority of a prioritised base. */
	if (pool->ev == NULL || event_priority_set(pool->ev, 0) == -1 ||
	    event_add(pool->ev, NULL) == -1) {
		snprintf(err, errlen, "hash pool: cannot watch the helper");
		auth_close_sock(pool);
		auth_reap(pool->child, 0);
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
auth_child_lost(struct auth_pool *pool, const char *why)
{
	struct auth_job		*list, *job;
	struct auth_result	 res;
	struct timeval		 tv;
	uint64_t		 now, at;

	log_errorx("auth: hash process pid=%ld lost (%s), jobs_failed=%zu",
	    (long)pool->child, why, pool->inflight);
	auth_close_sock(pool);
	auth_reap(pool->child, 1);
	pool->child = -1;

	now = auth_now_ms();
	at = pool->spawned_ms + AUTH_RESPAWN_MS;
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	if (evtimer_add(pool->respawn_ev, &tv) == -1)
		log_errorx("auth: cannot schedule a new hash process");

	list = pool->flight;
	pool->flight = NULL;
	pool->inflight = 0;
	while ((job = list) != NULL) {
		list = job->next;
		memset(&res, 0, sizeof res);
		res.session_id = job->session_id;
		res.op = job->op;
		res.status = SC_ERR_INTERNAL;
		memcpy(res.name, job->name, sizeof res.name);
		auth_job_put(pool, job);
		pool->cb(&res, pool->arg);
	}
}

/* Timer: forks the replacement helper; tries again a second later. */
static void
auth_respawn_cb(evutil_socket_t fd, short events, void *arg)
{
	struct auth_pool	*pool = arg;
	struct timeval		 tv = { AUTH_RESPAWN_MS / 1000, 0 };
	char			 err[256];

	(void)fd;
	(void)events;
	if (pool->child != -1)
		return;
	if (auth_spawn(pool, err, sizeof err) == -1) {
		log_errorx("auth: %s; queued=%zu wait", err, pool->queued);
		if (evtimer_add(pool->respawn_ev, &tv) == -1)
			log_errorx("auth: cannot schedule a new hash process");
		return;
	}
	log_info("auth: new hash process pid=%ld queued=%zu",
	    (long)pool->child, pool->queued);
}

/* Takes the in-flight job a result answers off the list; NULL if none. */
static struct auth_job *
auth_flight_take(struct auth_pool *pool, const struct auth_msg *m)
{
	struct auth_job	**pp, *job;

	for (pp = &pool->flight; (job = *pp) != NULL; pp = &job->next) {
		if (job->session_id == m->session_id && job->op == m->op &&
		    job->name_len == m->name_len &&
		    memcmp(job->name, m->name, m->name_len) == 0) {
			*pp = job->next;
			pool->inflight--;
			return (job);
		}
	}
	return (NULL);
}

/* Loop side: reads every message waiting and delivers the results. */
static void
auth_sock_cb(evutil_socket_t fd, short events, void *arg)
{
	struct auth_pool	*pool = arg;
	struct auth_result	 res;
	struct auth_msg		 m;
	struct auth_job		*job;
	const char		*why = NULL;
	int			 rc;

	(void)fd;
	(void)events;
	while (pool->sock != -1 &&
	    (rc = auth_recv_msg(pool->sock, &m, &why)) != 0) {
		if (rc == -1) {
			auth_child_lost(pool, why);
			return;
		}
		if (m.op == AUTH_OP_START) {
			if (m.status == 0 && pool->ready >= pool->nworkers) {
				auth_child_lost(pool, "too many workers");
				return;
			}
			if (m.status == 0)
				pool->ready++;
			else
				log_errorx("auth: hash worker did not start: "
				    "%s", m.name);
			continue;
		}
		if ((job = auth_flight_take(pool, &m)) == NULL) {
			auth_child_lost(pool, "result for no job");
			return;
		}
		memset(&res, 0, sizeof res);
		res.session_id = m.session_id;
		res.op = m.op;
		res.status = m.status;
		memcpy(res.name, m.name, m.name_len);
		auth_job_put(pool, job);
		pool->cb(&res, pool->arg);
	}
	auth_dispatch(pool);
}

/*
 * Sends waiting jobs while a worker is free.  A send that fails leaves the
 * job at the head of the queue; a dead helper shows as end of file on the
 * socket, handled by auth_sock_cb.
 */
static void
auth_dispatch(struct auth_pool *pool)
{
	struct auth_job	*job;
	uint8_t		 msg[AUTH_JOB_MAX];
	size_t		 off;
	ssize_t		 n;

	while (pool->sock != -1 && pool->queue != NULL &&
	    pool->inflight < (size_t)pool->ready * AUTH_PIPELINE) {
		job = pool->queue;
		auth_put_le(msg, job->session_id, 8);
		msg[8] = job->op;
		msg[9] = (uint8_t)pool->cost;
		msg[10] = (uint8_t)log_get_level();
		msg[11] = (uint8_t)job->name_len;
		off = AUTH_JOB_HDR;
		memcpy(msg + off, job->name, job->name_len);
		off += job->name_len;
		auth_put_le(msg + off, job->pass_len, 2);
		off += 2;
		memcpy(msg + off, job->pass, job->pass_len);
		off += job->pass_len;
		do {
			n = send(pool->sock, msg, off,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		sc_wipe(msg, off);
		if (n != (ssize_t)off) {
			if (n == -1 && errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EPIPE &&
			    errno != ECONNRESET)
				log_warn("auth: send to hash process");
			break;
		}
		if ((pool->queue = job->next) == NULL)
			pool->queue_tail = NULL;
		pool->queued--;
		sc_wipe(job->pass, job->pass_len);
		job->pass_len = 0;
		job->next = pool->flight;
		pool->flight = job;
		pool->inflight++;
	}
}

/*
 * Waits, blocking, for every worker of a new helper to report; -1 with
 * the first error in err.
 */
static int
auth_wait_start(struct auth_pool *pool, char *err, size_t errlen)
{
	struct pollfd	 pfd;
	struct auth_msg	 m;
	const char	*why = NULL;
	uint64_t	 deadline = auth_now_ms() + AUTH_START_MS, now;
	int		 failed = 0, rc;

	while (pool->ready + failed < pool->nworkers) {
		if ((now = auth_now_ms()) >= deadline) {
			snprintf(err, errlen, "hash pool: workers did not "
			    "start within %d s", AUTH_START_MS / 1000);
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
		if ((rc = auth_recv_msg(pool->sock, &m, &why)) == 0)
			continue;
		if (rc == -1 || m.op != AUTH_OP_START) {
			snprintf(err, errlen, "hash pool: helper failed at "
			    "start: %s", rc == -1 ? why : "early result");
			return (-1);
		}
		if (m.status == 0)
			pool->ready++;
		else if (failed++ == 0)
			snprintf(err, errlen, "%s", m.name);
	}
	return (failed == 0 ? 0 : -1);
}

/* Starts the helper process and the loop side of the pool. */
struct auth_pool *
auth_pool_new(struct event_base *base, const char *db_path, int workers,
    int queue_max, enum sc_cost cost, auth_done_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct auth_pool	*pool;

	if (workers < 1 || workers > AUTH_WORKERS_MAX || queue_max < 1 ||
	    (int)cost < 0 || (int)cost >= AUTH_COSTS || cb == NULL ||
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
	pool->nslots = (size_t)queue_max + (size_t)workers * AUTH_PIPELINE;

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
	if ((pool->respawn_ev = evtimer_new(base, auth_respawn_cb,
	    pool)) == NULL) {
		snprintf(err, errlen, "hash pool: cannot make a timer");
		goto fail;
	}
	if (auth_spawn(pool, err, errlen) == -1 ||
	    auth_wait_start(pool, err, errlen) == -1)
		goto fail;
	log_debug("auth: pool pid=%ld workers=%d queue=%d cost=%d",
	    (long)pool->child, workers, queue_max, (int)cost);
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
	if (pool->queued >= pool->queue_max ||
	    (job = auth_job_get(pool)) == NULL)
		return (-1);
	job->next = NULL;
	job->session_id = session_id;
	job->op = op;
	memcpy(job->name, name, nlen);
	job->name[nlen] = '\0';
	job->name_len = nlen;
	memcpy(job->pass, pass, pass_len);
	job->pass_len = pass_len;
	if (pool->queue_tail != NULL)
		pool->queue_tail->next = job;
	else
		pool->queue = job;
	pool->queue_tail = job;
	pool->queued++;
	auth_dispatch(pool);
	return (0);
}

/* Sets the cost that the next jobs carry to the helper. */
void
auth_pool_set_cost(struct auth_pool *pool, enum sc_cost cost)
{
	if (pool == NULL)
		return;
	if ((int)cost < 0 || (int)cost >= AUTH_COSTS) {
		log_warnx("auth: cost=%d unknown, kept %d", (int)cost,
		    (int)pool->cost);
		return;
	}
	pool->cost = cost;
}

/* Jobs waiting or running. */
size_t
auth_pool_pending(struct auth_pool *pool)
{
	if (pool == NULL)
		return (0);
	return (pool->queued + pool->inflight);
}

/* The helper process's pid, -1 while there is none. */
pid_t
auth_pool_child(struct auth_pool *pool)
{
	if (pool == NULL)
		return (-1);
	return (pool->child);
}

/*
 * Waits up to AUTH_STOP_MS for the helper to end by itself (its workers
 * finish the hash they run, then see end of file), then kills it.
 */
static void
auth_stop_child(pid_t pid)
{
	struct timespec	ts = { 0, 5 * 1000 * 1000 };
	uint64_t	deadline = auth_now_ms() + AUTH_STOP_MS;
	pid_t		r;
	int		status;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r == -1 && errno != EINTR))
			return;
		if (auth_now_ms() >= deadline)
			break;
		if (r == 0)
			nanosleep(&ts, NULL);
	}
	log_warnx("auth: hash process pid=%ld still busy after %d ms, killed",
	    (long)pid, AUTH_STOP_MS);
	auth_reap(pid, 0);
}

/* Stops the helper and frees everything, undelivered results included. */
void
auth_pool_free(struct auth_pool *pool)
{
	struct auth_job	*job;

	if (pool == NULL)
		return;
	while ((job = pool->queue) != NULL) {
		pool->queue = job->next;
		auth_job_put(pool, job);
	}
	pool->queue_tail = NULL;
	pool->queued = 0;
	if (pool->respawn_ev != NULL)
		event_free(pool->respawn_ev);
	if (pool->stop != NULL)
		__atomic_store_n(pool->stop, 1, __ATOMIC_RELEASE);
	auth_close_sock(pool);
	if (pool->child != -1)
		auth_stop_child(pool->child);
	/* Every slot was wiped when freed; sodium_free wipes again. */
	sc_secure_free(pool->pass);
	if (pool->stop != NULL)
		munmap(pool->stop, sizeof(*pool->stop));
	free(pool->jobs);
	free(pool->db_path);
	free(pool);
}
