/* SPDX-License-Identifier: ISC */
/*
 * The hash helper process.  Argon2id maps, faults in and unmaps its whole
 * memory (64 MiB at the interactive cost) for every hash, holding the
 * process's address-space lock; run inside the daemon, every hash would
 * make the event loop wait behind it.  So the hashing runs here, in a
 * process forked by the pool (hashpool.c) with an address space of its
 * own:
 *
 *   workers threads, each with its own store handle, all recv on the one
 *   socket end (SOCK_SEQPACKET: each takes whole jobs), do the job, send
 *   the result (hashmsg.h), wipe, and take the next.
 *
 * The child keeps nothing of the daemon it does not need: every other
 * descriptor is closed and the copy of the daemon's password slots is
 * dropped at start.  It ignores every signal that systemd (which signals
 * the whole service) or an operator may send, and ends when its socket
 * reaches end of file (the daemon closed it or died; PR_SET_PDEATHSIG
 * covers a killed daemon too).  Like the daemon it is not dumpable, so
 * another process of the same user cannot read its memory (the passwords
 * it hashes), and it shows a title of its own in ps.
 *
 * Two words of memory shared with the daemon steer the workers without a
 * message.  When the daemon stops, it sets a flag, and the workers skip
 * every job not yet started.  And each job has a slot in a table of live
 * jobs, which holds the job's session id until the session goes: a worker
 * that finds another value there skips the job and answers that it was
 * withdrawn, so the logins of clients that hung up cost no hash.  A job
 * message that breaks the format, or a result that cannot be written,
 * ends the helper: the daemon fails the jobs in flight and forks a new
 * one.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <bsd/unistd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "hashhelper.h"
#include "hashmsg.h"
#include "store.h"

#define HASHHELPER_DUMMY_PASS	32
#define HASHHELPER_CLOSE_MAX	1048576	/* fd bound without close_range */

/* Whether main() made room for a process title (hashhelper_title_init). */
static int	hashhelper_titled;

/* One worker thread of the helper process. */
struct hashhelper_worker {
	pthread_t			 thread;
	const struct hashhelper_conf	*conf;
	int				 sock;
	char				 dummy[HASHMSG_COSTS][SC_PWHASH_LEN];
	int				 have_dummy[HASHMSG_COSTS];
};

/* Short name of a job's operation for log lines. */
static const char *
hashhelper_op_name(uint8_t op)
{
	switch (op) {
	case SC_MSG_SIGN:
		return ("sign");
	case SC_MSG_AUTH:
		return ("auth");
	case HASHMSG_OP_ADD:
		return ("add");
	case HASHMSG_OP_PASSWD:
		return ("passwd");
	case HASHMSG_OP_DEL:
		return ("delete");
	case HASHMSG_OP_LOCK:
		return ("lock");
	case SC_MSG_IDENTITY:
		return ("identity");
	default:
		return ("unlock");
	}
}

/* Microseconds on the monotonic clock. */
static uint64_t
hashhelper_now_us(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return (0);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* Makes a hash of a random password at cost, for unknown users. */
static int
hashhelper_dummy_make(char out[SC_PWHASH_LEN], enum sc_cost cost)
{
	uint8_t	pass[HASHHELPER_DUMMY_PASS];
	int	ret;

	sc_random(pass, sizeof pass);
	ret = sc_pwhash(out, pass, sizeof pass, cost);
	sc_wipe(pass, sizeof pass);
	return (ret == 0 ? 0 : -1);
}

/* The worker's dummy hash at cost, made on first use; NULL on failure. */
static const char *
hashhelper_dummy(struct hashhelper_worker *w, enum sc_cost cost)
{
	if (!w->have_dummy[cost]) {
		if (hashhelper_dummy_make(w->dummy[cost], cost) == -1) {
			log_warnx("auth: dummy hash at cost=%d failed",
			    (int)cost);
			return (NULL);
		}
		w->have_dummy[cost] = 1;
	}
	return (w->dummy[cost]);
}

/*
 * SIGN, and the operator's ADD: hashes the password at the job's cost and
 * adds the account (a sign-up is a login, an ADD is not).
 */
static int
hashhelper_sign(struct store *st, const struct hashmsg_job *j)
{
	char	hash[SC_PWHASH_LEN];
	int	rc, status = SC_ERR_INTERNAL;

	/* A taken name needs no hash: answer it without the work. */
	rc = store_get(st, j->name, hash, NULL);
	sc_wipe(hash, sizeof hash);
	if (rc == STORE_OK) {
		status = SC_ERR_TAKEN;
		goto out;
	}
	if (rc != STORE_NOTFOUND)
		goto out;
	if (sc_pwhash(hash, j->pass, j->pass_len, j->cost) != 0) {
		log_warnx("auth: name=%s password hash failed", j->name);
		goto out;
	}
	rc = store_add(st, j->name, hash, j->op == SC_MSG_SIGN);
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
 * after a good login.  A locked account answers SC_ERR_LOCKED, but only to
 * the right password.  The login is recorded only while the account is
 * not locked, in the store's own write: a lock that commits before it
 * fails the login, one that commits after it finds the user online and
 * ends the session.
 */
static int
hashhelper_auth(struct hashhelper_worker *w, struct store *st,
    const struct hashmsg_job *j)
{
	char		 hash[SC_PWHASH_LEN];
	char		 fresh[SC_PWHASH_LEN];
	const char	*dummy;
	int		 rc, ok, locked = 0, status = SC_ERR_INTERNAL;

	memset(fresh, 0, sizeof fresh);
	rc = store_get(st, j->name, hash, &locked);
	if (rc == STORE_NOTFOUND) {
		if ((dummy = hashhelper_dummy(w, j->cost)) != NULL) {
			memcpy(hash, dummy, sizeof hash);
			ok = sc_pwhash_verify(hash, j->pass, j->pass_len);
			(void)ok;
		}
		status = SC_ERR_CREDENTIALS;
		goto out;
	}
	if (rc != STORE_OK)
		goto out;
	if (sc_pwhash_verify(hash, j->pass, j->pass_len) != 0) {
		status = SC_ERR_CREDENTIALS;
		goto out;
	}
	if (locked) {
		status = SC_ERR_LOCKED;
		goto out;
	}
	if (sc_pwhash_needs_rehash(hash, j->cost) != 0) {
		if (sc_pwhash(fresh, j->pass, j->pass_len, j->cost) != 0)
			log_warnx("auth: name=%s rehash failed", j->name);
		else if (store_set(st, j->name, fresh) != STORE_OK)
			log_warnx("auth: name=%s cost upgrade not stored",
			    j->name);
		else
			log_info("auth: name=%s password hash upgraded "
			    "cost=%d", j->name, (int)j->cost);
	}
	switch (store_touch(st, j->name)) {
	case STORE_OK:
		status = 0;
		break;
	case STORE_LOCKED:
		status = SC_ERR_LOCKED;
		break;
	case STORE_NOTFOUND:
		status = SC_ERR_CREDENTIALS;
		break;
	default:
		break;
	}
out:
	sc_wipe(hash, sizeof hash);
	sc_wipe(fresh, sizeof fresh);
	return (status);
}

/* PASSWD: hashes the new password at the job's cost and stores it. */
static int
hashhelper_passwd(struct store *st, const struct hashmsg_job *j)
{
	char	hash[SC_PWHASH_LEN];
	int	rc, status = SC_ERR_INTERNAL;

	if (sc_pwhash(hash, j->pass, j->pass_len, j->cost) != 0) {
		log_warnx("auth: name=%s password hash failed", j->name);
		goto out;
	}
	rc = store_set(st, j->name, hash);
	if (rc == STORE_OK)
		status = 0;
	else if (rc == STORE_NOTFOUND)
		status = SC_ERR_CREDENTIALS;
out:
	sc_wipe(hash, sizeof hash);
	return (status);
}

/* DEL, LOCK, UNLOCK: one write; SC_ERR_CREDENTIALS for no account. */
static int
hashhelper_change(struct store *st, const struct hashmsg_job *j)
{
	int	rc;

	if (j->op == HASHMSG_OP_DEL)
		rc = store_del(st, j->name);
	else
		rc = store_lock(st, j->name, j->op == HASHMSG_OP_LOCK);
	if (rc == STORE_OK) {
		log_info("auth: name=%s account %s", j->name,
		    j->op == HASHMSG_OP_DEL ? "deleted" :
		    j->op == HASHMSG_OP_LOCK ? "locked" : "unlocked");
		return (0);
	}
	return (rc == STORE_NOTFOUND ? SC_ERR_CREDENTIALS : SC_ERR_INTERNAL);
}

/*
 * IDENTITY: the user's identity public key beside the account, replacing
 * the key of another device; SC_ERR_CREDENTIALS when the account is gone.
 */
static int
hashhelper_identity(struct store *st, const struct hashmsg_job *j)
{
	int	rc, changed = 0;

	rc = store_set_identity(st, j->name, j->pass, &changed);
	if (rc == STORE_OK) {
		if (changed)
			log_info("auth: name=%s identity key changed", j->name);
		return (0);
	}
	return (rc == STORE_NOTFOUND ? SC_ERR_CREDENTIALS : SC_ERR_INTERNAL);
}

/* Runs one job and returns its status. */
static int
hashhelper_run(struct hashhelper_worker *w, struct store *st,
    const struct hashmsg_job *j)
{
	int	status;

	if (!wire_name_valid(j->name, j->name_len))
		status = SC_ERR_BAD_NAME;
	else if (j->op == SC_MSG_SIGN || j->op == HASHMSG_OP_ADD)
		status = hashhelper_sign(st, j);
	else if (j->op == SC_MSG_AUTH)
		status = hashhelper_auth(w, st, j);
	else if (j->op == HASHMSG_OP_PASSWD)
		status = hashhelper_passwd(st, j);
	else if (j->op == SC_MSG_IDENTITY)
		status = hashhelper_identity(st, j);
	else
		status = hashhelper_change(st, j);
	log_debug("auth: session=%llu op=%s name=%s cost=%d status=%d",
	    (unsigned long long)j->session_id, hashhelper_op_name(j->op),
	    j->name, (int)j->cost, status);
	return (status);
}

/*
 * Worker thread: opens its store and reports, then takes jobs from the
 * shared socket until end of file.  The password stays in the received
 * message, wiped as soon as the job is done.
 */
static void *
hashhelper_worker_main(void *arg)
{
	struct hashhelper_worker	*w = arg;
	struct hashmsg_job		 j;
	struct hashmsg_result		 r;
	struct store			*st;
	struct wbuf			 out;
	uint8_t				 msg[HASHMSG_JOB_MAX + 1];
	char				 err[256];
	ssize_t				 n;
	uint64_t			 t0, us;
	int				 status;

	wbuf_init(&out);
	err[0] = '\0';
	st = store_open(w->conf->db_path, err, sizeof err);
	hashmsg_result_start(&r, st != NULL ? 0 : SC_ERR_INTERNAL,
	    st != NULL ? "" : err);
	if (hashmsg_result_put(&out, &r) == -1 ||
	    hashmsg_send(w->sock, &out, 0) == -1 || st == NULL)
		goto out;
	/* The first unknown user should not pay for the dummy hash. */
	(void)hashhelper_dummy(w, w->conf->cost);

	for (;;) {
		n = hashmsg_recv(w->sock, msg, sizeof msg, 0);
		if (n == 0)
			break;
		if (n == -1) {
			log_warn("auth: helper recv");
			break;
		}
		if (hashmsg_job_get(&j, msg, (size_t)n) == -1 ||
		    j.slot >= w->conf->nlive) {
			/* The daemon broke the format: end, it forks anew. */
			log_errorx("auth: bad job message len=%zd", n);
			sc_wipe(msg, sizeof msg);
			sc_wipe(&j, sizeof j);
			shutdown(w->sock, SHUT_RDWR);
			break;
		}
		if (log_get_level() != j.log_level)
			log_set_level(j.log_level);
		if (__atomic_load_n(w->conf->stop, __ATOMIC_ACQUIRE)) {
			/* The daemon is stopping: no new hash, no answer. */
			sc_wipe(msg, (size_t)n);
			sc_wipe(&j, sizeof j);
			continue;
		}
		if (__atomic_load_n(&w->conf->live[j.slot],
		    __ATOMIC_ACQUIRE) != j.session_id) {
			/* The session went before its job ran: no hash. */
			log_debug("auth: session=%llu op=%s withdrawn",
			    (unsigned long long)j.session_id,
			    hashhelper_op_name(j.op));
			status = HASHMSG_WITHDRAWN;
			us = 0;
		} else {
			t0 = hashhelper_now_us();
			status = hashhelper_run(w, st, &j);
			us = hashhelper_now_us() - t0;
		}
		/* The time of a hash: none for a job that made none. */
		if (!hashmsg_op_hashes(j.op) || status == SC_ERR_TAKEN ||
		    status == SC_ERR_BAD_NAME)
			us = 0;
		hashmsg_result_for(&r, &j, status,
		    us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
		sc_wipe(msg, (size_t)n);
		sc_wipe(&j, sizeof j);
		wbuf_reset(&out);
		if (hashmsg_result_put(&out, &r) == -1) {
			/* Out of memory: end, the daemon forks anew. */
			log_errorx("auth: cannot write a result");
			shutdown(w->sock, SHUT_RDWR);
			break;
		}
		if (hashmsg_send(w->sock, &out, 0) == -1)
			break;
	}
out:
	sc_wipe(msg, sizeof msg);
	wbuf_free(&out);
	store_free(st);
	return (NULL);
}

/* Closes every descriptor from 3 up except keep. */
static void
hashhelper_close_fds(int keep)
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
	if (max < 0 || max > HASHHELPER_CLOSE_MAX)
		max = HASHHELPER_CLOSE_MAX;
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
hashhelper_drop_slots(uint8_t *p, size_t len)
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

/* Makes room for a process title; once, from main(). */
void
hashhelper_title_init(int argc, char **argv, char **envp)
{
	setproctitle_init(argc, argv, envp);
	hashhelper_titled = 1;
}

/*
 * Ignores every signal that may reach the helper from outside: systemd
 * signals every process of the service, and an operator may signal it by
 * name.  It ends with its socket, never on a signal (SIGKILL aside).
 */
static void
hashhelper_signals(void)
{
	static const int	sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
				    SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
				    SIGVTALRM, SIGPROF, SIGTSTP, SIGTTIN,
				    SIGTTOU, SIGXFSZ, SIGWINCH };
	size_t			i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)signal(sigs[i], SIG_IGN);
}

/*
 * The helper process: never returns.  It takes nothing of the daemon but
 * its socket end and standard descriptors, and never touches libevent.
 */
static void
hashhelper_main(const struct hashhelper_conf *conf, int sock, pid_t parent)
    __attribute__((noreturn));
static void
hashhelper_main(const struct hashhelper_conf *conf, int sock, pid_t parent)
{
	struct hashhelper_worker	*w;
	struct hashmsg_result		 r;
	struct wbuf			 out;
	char				 text[128];
	int				 i, rc, started = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent ||
	    prctl(PR_SET_DUMPABLE, 0) == -1)
		_exit(0);
	hashhelper_signals();
	if (hashhelper_titled)
		setproctitle("%s", "hash helper");
	hashhelper_close_fds(sock);
	hashhelper_drop_slots(conf->slots, conf->slots_len);

	if ((w = calloc((size_t)conf->workers, sizeof *w)) == NULL) {
		snprintf(text, sizeof text, "hash helper: out of memory");
		goto fail;
	}
	for (i = 0; i < conf->workers; i++) {
		w[i].conf = conf;
		w[i].sock = sock;
		rc = pthread_create(&w[i].thread, NULL, hashhelper_worker_main,
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
	wbuf_init(&out);
	hashmsg_result_start(&r, SC_ERR_INTERNAL, text);
	if (hashmsg_result_put(&out, &r) == 0) {
		for (i = started; i < conf->workers; i++)
			(void)hashmsg_send(sock, &out, 0);
	}
	wbuf_free(&out);
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	_exit(1);
}

/* Forks a helper; in the child, runs it and never returns. */
pid_t
hashhelper_spawn(const struct hashhelper_conf *conf, int *sock, char *err,
    size_t errlen)
{
	pid_t	pid, parent = getpid();
	int	sv[2];

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
		hashhelper_main(conf, sv[1], parent);
	}
	close(sv[1]);
	*sock = sv[0];
	return (pid);
}
