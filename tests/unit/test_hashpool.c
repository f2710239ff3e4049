/* SPDX-License-Identifier: ISC */
/*
 * Password-hash pool with a real helper process and its worker threads, a
 * real event loop and a real database in a temporary folder, at the minimum
 * hash cost (a few tests hash at the interactive cost: to prove the upgrade
 * on login, and to have a job still running when the helper is killed or
 * the pool freed).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "hashmsg.h"
#include "hashpool.h"
#include "store.h"

#include "tmpdir.h"

#define MAX_RESULTS	64

struct fixture {
	char			 dir[PATH_MAX];
	char			 path[PATH_MAX + 16];	/* dir/accounts.db */
	struct event_base	*base;
	struct event		*tick;
	struct hashpool_result	 res[MAX_RESULTS];
	pthread_t		 thread[MAX_RESULTS];
	int			 nres;
	pthread_t		 loop_thread;
};

/* Keeps the loop waking up so a wait is bounded even with no results. */
static void
tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}

/* Makes a temporary folder, an event base and a periodic tick. */
static int
setup(void **state)
{
	struct fixture	*f;
	struct timeval	 tv = { 0, 20000 };

	f = calloc(1, sizeof *f);
	assert_non_null(f);
	tmpdir_make(f->dir, "hashpool");
	snprintf(f->path, sizeof f->path, "%s/accounts.db", f->dir);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->tick = event_new(f->base, -1, EV_PERSIST, tick_cb, NULL);
	assert_non_null(f->tick);
	assert_int_equal(event_add(f->tick, &tv), 0);
	f->loop_thread = pthread_self();
	*state = f;
	return (0);
}

/* Removes the folder with the database and frees the loop. */
static int
teardown(void **state)
{
	struct fixture	*f = *state;

	event_free(f->tick);
	event_base_free(f->base);
	tmpdir_remove(f->dir);
	free(f);
	return (0);
}

/* Records each result and the thread it was delivered on. */
static void
done_cb(const struct hashpool_result *res, void *arg)
{
	struct fixture	*f = arg;

	if (f->nres >= MAX_RESULTS)
		fail_msg("too many results");
	f->res[f->nres] = *res;
	f->thread[f->nres] = pthread_self();
	f->nres++;
}

/* Runs the loop until n results in all have arrived, at most 20 s. */
static void
wait_results(struct fixture *f, int n)
{
	uint64_t	deadline = util_now_ms() + 20000;

	while (f->nres < n && util_now_ms() < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(f->nres, n);
}

/* Starts a pool on the fixture's database. */
static struct hashpool *
new_pool(struct fixture *f, int workers, int queue_max, enum sc_cost cost)
{
	struct hashpool	*pool;
	char			 err[256];

	err[0] = '\0';
	pool = hashpool_new(f->base, f->path, workers, queue_max, cost,
	    done_cb, f, err, sizeof err);
	if (pool == NULL)
		fail_msg("hashpool_new: %s", err);
	return (pool);
}

/* Submits a job with a string password. */
static int
submit(struct hashpool *pool, uint64_t id, uint8_t op, const char *name,
    const char *pass)
{
	return (hashpool_submit(pool, id, op, name, (const uint8_t *)pass,
	    strlen(pass)));
}

/* Finds the result of a session or fails the test. */
static const struct hashpool_result *
result_of(struct fixture *f, uint64_t id)
{
	int	i;

	for (i = 0; i < f->nres; i++) {
		if (f->res[i].session_id == id)
			return (&f->res[i]);
	}
	fail_msg("no result for session %llu", (unsigned long long)id);
	return (NULL);
}

/* A signed-up user can log in with the same password. */
static void
test_hashpool_sign_then_auth_succeeds(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 2, 8, SC_COST_MIN);
	const struct hashpool_result *r;

	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "alice", "s3cret"), 0);
	wait_results(f, 1);
	r = result_of(f, 1);
	assert_int_equal(r->op, SC_MSG_SIGN);
	assert_int_equal(r->status, 0);
	assert_string_equal(r->name, "alice");

	assert_int_equal(submit(pool, 2, SC_MSG_AUTH, "alice", "s3cret"), 0);
	wait_results(f, 2);
	r = result_of(f, 2);
	assert_int_equal(r->op, SC_MSG_AUTH);
	assert_int_equal(r->status, 0);
	assert_string_equal(r->name, "alice");
	assert_int_equal(hashpool_pending(pool), 0);
	hashpool_free(pool);
}

/* A wrong password and an unknown user get the same answer. */
static void
test_hashpool_wrong_password_and_unknown_user_same_error(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 2, 8, SC_COST_MIN);

	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "bob", "right"), 0);
	wait_results(f, 1);
	assert_int_equal(result_of(f, 1)->status, 0);

	assert_int_equal(submit(pool, 2, SC_MSG_AUTH, "bob", "wrong"), 0);
	assert_int_equal(submit(pool, 3, SC_MSG_AUTH, "nobody", "right"), 0);
	wait_results(f, 3);
	assert_int_equal(result_of(f, 2)->status, SC_ERR_CREDENTIALS);
	assert_int_equal(result_of(f, 3)->status, SC_ERR_CREDENTIALS);
	assert_string_equal(result_of(f, 3)->name, "nobody");
	hashpool_free(pool);
}

/* Signing up a registered name fails and keeps the first password. */
static void
test_hashpool_sign_taken_name_gives_taken(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 8, SC_COST_MIN);

	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "carol", "first"), 0);
	wait_results(f, 1);
	assert_int_equal(submit(pool, 2, SC_MSG_SIGN, "carol", "second"), 0);
	wait_results(f, 2);
	assert_int_equal(result_of(f, 1)->status, 0);
	assert_int_equal(result_of(f, 2)->status, SC_ERR_TAKEN);

	assert_int_equal(submit(pool, 3, SC_MSG_AUTH, "carol", "second"), 0);
	assert_int_equal(submit(pool, 4, SC_MSG_AUTH, "carol", "first"), 0);
	wait_results(f, 4);
	assert_int_equal(result_of(f, 3)->status, SC_ERR_CREDENTIALS);
	assert_int_equal(result_of(f, 4)->status, 0);
	hashpool_free(pool);
}

/* Two concurrent sign-ups of one name: exactly one wins. */
static void
test_hashpool_concurrent_sign_one_winner(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 2, 8, SC_COST_MIN);
	int			 i, ok = 0, taken = 0;

	for (i = 0; i < 6; i++)
		assert_int_equal(submit(pool, (uint64_t)i + 1, SC_MSG_SIGN,
		    "dave", "pw"), 0);
	wait_results(f, 6);
	for (i = 0; i < 6; i++) {
		if (f->res[i].status == 0)
			ok++;
		else if (f->res[i].status == SC_ERR_TAKEN)
			taken++;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(taken, 5);
	hashpool_free(pool);
}

/* A name that breaks the rules is refused by the worker too. */
static void
test_hashpool_bad_name_refused(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 8, SC_COST_MIN);

	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "Bad Name", "pw"), 0);
	wait_results(f, 1);
	assert_int_equal(result_of(f, 1)->status, SC_ERR_BAD_NAME);
	hashpool_free(pool);
}

/* Records the last login of the one account listed. */
static void
last_login_cb(const struct store_account *a, void *arg)
{
	*(long long *)arg = a->last_login;
}

/* Submits one of the operator's jobs that take no password. */
static int
submit_bare(struct hashpool *pool, uint64_t id, uint8_t op, const char *name)
{
	return (hashpool_submit(pool, id, op, name, NULL, 0));
}

/*
 * The operator's jobs: ADD makes an account that can log in (and is not
 * logged in by it), PASSWD replaces the password, LOCK refuses the right
 * password with SC_ERR_LOCKED and a wrong one as ever, UNLOCK lets it in
 * again, DEL removes it; each on an unknown name says SC_ERR_CREDENTIALS,
 * and ADD of a taken name SC_ERR_TAKEN.  Each result that hashed carries
 * the time of its hash, the others 0.
 */
static void
test_hashpool_operator_jobs_change_accounts(void **state)
{
	struct fixture		*f = *state;
	struct hashpool		*pool = new_pool(f, 2, 8, SC_COST_MIN);
	struct store		*st;
	char			 err[256], hash[SC_PWHASH_LEN];
	long long		 last = -1;
	int			 n = 0, i;
	static const struct {
		uint8_t		 op;
		const char	*name, *pass;
		int		 status;
	} steps[] = {
		{ HASHMSG_OP_ADD, "gus", "first", 0 },
		{ HASHMSG_OP_ADD, "gus", "again", SC_ERR_TAKEN },
		{ SC_MSG_AUTH, "gus", "first", 0 },
		{ HASHMSG_OP_PASSWD, "gus", "second", 0 },
		{ SC_MSG_AUTH, "gus", "first", SC_ERR_CREDENTIALS },
		{ SC_MSG_AUTH, "gus", "second", 0 },
		{ HASHMSG_OP_LOCK, "gus", NULL, 0 },
		{ SC_MSG_AUTH, "gus", "second", SC_ERR_LOCKED },
		{ SC_MSG_AUTH, "gus", "first", SC_ERR_CREDENTIALS },
		{ HASHMSG_OP_UNLOCK, "gus", NULL, 0 },
		{ SC_MSG_AUTH, "gus", "second", 0 },
		{ HASHMSG_OP_DEL, "gus", NULL, 0 },
		{ SC_MSG_AUTH, "gus", "second", SC_ERR_CREDENTIALS },
		{ HASHMSG_OP_DEL, "gus", NULL, SC_ERR_CREDENTIALS },
		{ HASHMSG_OP_LOCK, "nobody", NULL, SC_ERR_CREDENTIALS },
		{ HASHMSG_OP_UNLOCK, "nobody", NULL, SC_ERR_CREDENTIALS },
		{ HASHMSG_OP_PASSWD, "nobody", "x", SC_ERR_CREDENTIALS },
		{ HASHMSG_OP_ADD, "hal", "pw", 0 },
	};

	for (i = 0; i < (int)(sizeof steps / sizeof steps[0]); i++) {
		if (steps[i].pass != NULL)
			assert_int_equal(submit(pool, (uint64_t)i + 1,
			    steps[i].op, steps[i].name, steps[i].pass), 0);
		else
			assert_int_equal(submit_bare(pool, (uint64_t)i + 1,
			    steps[i].op, steps[i].name), 0);
		wait_results(f, ++n);
		if (f->res[n - 1].status != steps[i].status)
			fail_msg("step %d: status %d, not %d", i,
			    f->res[n - 1].status, steps[i].status);
		assert_int_equal(f->res[n - 1].op, steps[i].op);
		if (hashmsg_op_hashes(steps[i].op) &&
		    steps[i].status != SC_ERR_TAKEN)
			assert_true(f->res[n - 1].usec > 0);
		else
			assert_int_equal(f->res[n - 1].usec, 0);
	}
	hashpool_free(pool);

	/* ADD does not count as a login; an AUTH does. */
	st = store_open(f->path, err, sizeof err);
	assert_non_null(st);
	assert_int_equal(store_get(st, "hal", hash, NULL), STORE_OK);
	assert_int_equal(store_get(st, "gus", hash, NULL), STORE_NOTFOUND);
	assert_int_equal(store_list(st, "", 1, last_login_cb, &last), 1);
	assert_true(last == 0);
	store_free(st);
}

/*
 * IDENTITY stores the user's key beside the account, replacing the one
 * before, without a hash; for no such account it says SC_ERR_CREDENTIALS;
 * a key of another length is refused at once.
 */
static void
test_hashpool_identity_stored_beside_the_account(void **state)
{
	struct fixture		*f = *state;
	struct hashpool		*pool = new_pool(f, 1, 8, SC_COST_MIN);
	struct store		*st;
	uint8_t			 k1[SC_KEY_BYTES], k2[SC_KEY_BYTES];
	uint8_t			 got[SC_KEY_BYTES];
	char			 err[256];

	memset(k1, 0x61, sizeof(k1));
	memset(k2, 0x62, sizeof(k2));
	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "ivy", "pw"), 0);
	wait_results(f, 1);
	assert_int_equal(hashpool_submit(pool, 2, SC_MSG_IDENTITY, "ivy", k1,
	    SC_KEY_BYTES), 0);
	wait_results(f, 2);
	assert_int_equal(result_of(f, 2)->status, 0);
	assert_int_equal(result_of(f, 2)->usec, 0);
	assert_int_equal(hashpool_submit(pool, 3, SC_MSG_IDENTITY, "ivy", k2,
	    SC_KEY_BYTES), 0);
	assert_int_equal(hashpool_submit(pool, 4, SC_MSG_IDENTITY, "nobody",
	    k2, SC_KEY_BYTES), 0);
	wait_results(f, 4);
	assert_int_equal(result_of(f, 3)->status, 0);
	assert_int_equal(result_of(f, 4)->status, SC_ERR_CREDENTIALS);
	assert_int_equal(hashpool_submit(pool, 5, SC_MSG_IDENTITY, "ivy", k2,
	    SC_KEY_BYTES - 1), -1);
	assert_int_equal(hashpool_submit(pool, 6, SC_MSG_IDENTITY, "ivy", NULL,
	    SC_KEY_BYTES), -1);
	hashpool_free(pool);
	st = store_open(f->path, err, sizeof err);
	assert_non_null(st);
	assert_int_equal(store_get_identity(st, "ivy", got), STORE_OK);
	assert_memory_equal(got, k2, SC_KEY_BYTES);
	store_free(st);
}

/* Bad submissions are refused at once: no job, no result. */
static void
test_hashpool_submit_rejects_bad_arguments(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 8, SC_COST_MIN);
	uint8_t			 big[SC_PASS_MAX + 1];

	memset(big, 'p', sizeof big);
	assert_int_equal(hashpool_submit(pool, 1, SC_MSG_LIST, "erin",
	    (const uint8_t *)"pw", 2), -1);
	assert_int_equal(hashpool_submit(pool, 2, SC_MSG_AUTH, "erin",
	    (const uint8_t *)"", 0), -1);
	assert_int_equal(hashpool_submit(pool, 3, SC_MSG_AUTH, "erin",
	    big, sizeof big), -1);
	assert_int_equal(hashpool_submit(pool, 4, SC_MSG_AUTH,
	    "a23456789012345678901234567890123", big, 8), -1);
	assert_int_equal(hashpool_submit(pool, 5, HASHMSG_OP_PASSWD, "erin",
	    NULL, 0), -1);
	assert_int_equal(hashpool_submit(pool, 6, HASHMSG_OP_START, "erin",
	    NULL, 0), -1);
	assert_int_equal(hashpool_pending(pool), 0);
	hashpool_free(pool);
	assert_int_equal(f->nres, 0);
}

/*
 * With one worker and room for one waiting job, exactly two jobs are taken
 * (one hashed, one waiting, whichever side of the socket it waits on) and
 * every later one is refused, pipeline or not.
 */
static void
test_hashpool_queue_full_returns_minus_one(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 1, SC_COST_MIN);
	char			 name[16];
	int			 i, accepted = 0, refused = 0;

	for (i = 0; i < 2 * HASHPOOL_PIPELINE; i++) {
		snprintf(name, sizeof name, "burst%d", i);
		if (submit(pool, (uint64_t)i + 1, SC_MSG_SIGN, name, "pw") == 0)
			accepted++;
		else
			refused++;
	}
	assert_int_equal(accepted, 2);
	assert_int_equal(refused, 2 * HASHPOOL_PIPELINE - 2);
	assert_int_equal(hashpool_pending(pool), 2);
	/* Every accepted job is answered, and then there is room again. */
	wait_results(f, accepted);
	for (i = 0; i < f->nres; i++)
		assert_int_equal(f->res[i].status, 0);
	assert_int_equal(hashpool_pending(pool), 0);
	assert_int_equal(submit(pool, 100, SC_MSG_SIGN, "after", "pw"), 0);
	wait_results(f, accepted + 1);
	hashpool_free(pool);
}

/* Whether the database holds an account of that name. */
static int
account_exists(struct fixture *f, const char *name)
{
	struct store	*st;
	char		 hash[SC_PWHASH_LEN], err[256];
	int		 rc;

	st = store_open(f->path, err, sizeof err);
	assert_non_null(st);
	rc = store_get(st, name, hash, NULL);
	sc_wipe(hash, sizeof hash);
	store_free(st);
	return (rc == STORE_OK);
}

/*
 * Jobs withdrawn while they wait, in the daemon or in the helper's
 * pipeline, are never run (their sign-ups never stored) and never
 * answered; the job being hashed meanwhile is answered as usual.
 */
static void
test_hashpool_withdrawn_jobs_never_run(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 16, SC_COST_INTERACTIVE);
	uint64_t		 deadline;
	char			 name[16];
	int			 handle[8], i;

	/* The first takes the one worker for a whole interactive hash. */
	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "runs", "pw"), 0);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "gone%d", i);
		handle[i] = hashpool_submit_at(pool, (uint64_t)i + 10,
		    SC_MSG_SIGN, name, (const uint8_t *)"pw", 2, 0, 0);
		assert_true(handle[i] >= 0);
	}
	for (i = 0; i < 8; i++)
		hashpool_withdraw(pool, handle[i], (uint64_t)i + 10);
	/* A handle that names another session's job changes nothing. */
	hashpool_withdraw(pool, handle[0], 99);
	hashpool_withdraw(pool, -1, 10);
	wait_results(f, 1);
	assert_true(result_of(f, 1)->status == 0);
	deadline = util_now_ms() + 10000;
	while (hashpool_pending(pool) > 0 && util_now_ms() < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(hashpool_pending(pool), 0);
	assert_int_equal(f->nres, 1);
	assert_true(account_exists(f, "runs"));
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "gone%d", i);
		assert_false(account_exists(f, name));
	}
	hashpool_free(pool);
}

/*
 * The operator's jobs, as control.c hands them (no delay, rank 0), go
 * ahead of the logins of addresses that already have one in progress,
 * and one withdrawn (its request's connection closed) never runs.
 */
static void
test_hashpool_operator_jobs_ranked_first_and_withdrawn(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 16, SC_COST_INTERACTIVE);
	char			 name[16];
	int			 h, i;

	/* The first takes the one worker for a whole interactive hash. */
	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "busy", "pw"), 0);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "late%d", i);
		assert_true(hashpool_submit_at(pool, (uint64_t)i + 10,
		    SC_MSG_SIGN, name, (const uint8_t *)"pw", 2, 0, 1) >= 0);
	}
	h = hashpool_submit_at(pool, 20, HASHMSG_OP_ADD, "opgone",
	    (const uint8_t *)"pw", 2, 0, 0);
	assert_true(h >= 0);
	assert_true(hashpool_submit_at(pool, 21, HASHMSG_OP_ADD, "op",
	    (const uint8_t *)"pw", 2, 0, 0) >= 0);
	hashpool_withdraw(pool, h, 20);
	wait_results(f, 5);
	assert_int_equal(f->res[0].session_id, 1);
	assert_int_equal(f->res[1].session_id, 21);
	assert_int_equal(f->res[1].op, HASHMSG_OP_ADD);
	assert_int_equal(f->res[1].status, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(f->res[2 + i].session_id, (uint64_t)i + 10);
	assert_int_equal(hashpool_pending(pool), 0);
	hashpool_free(pool);
	assert_true(account_exists(f, "op"));
	assert_false(account_exists(f, "opgone"));
}

/*
 * A job held by a delay runs only once the delay is over; withdrawn while
 * held, it never runs; a held job that finds the queue full when its time
 * comes is answered busy.
 */
static void
test_hashpool_held_jobs_wait_then_run(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 2, SC_COST_MIN);
	uint64_t		 t0, took;
	int			 h;

	t0 = util_now_ms();
	assert_true(hashpool_submit_at(pool, 1, SC_MSG_SIGN, "held",
	    (const uint8_t *)"pw", 2, 300, 0) >= 0);
	h = hashpool_submit_at(pool, 2, SC_MSG_SIGN, "dropped",
	    (const uint8_t *)"pw", 2, 200, 0);
	assert_true(h >= 0);
	/* Held jobs have room of their own: queue_max of them. */
	assert_int_equal(hashpool_submit_at(pool, 3, SC_MSG_SIGN, "third",
	    (const uint8_t *)"pw", 2, 200, 0), -1);
	assert_int_equal(hashpool_pending(pool), 2);
	hashpool_withdraw(pool, h, 2);
	assert_int_equal(hashpool_pending(pool), 1);
	wait_results(f, 1);
	took = util_now_ms() - t0;
	assert_true(took >= 290);
	assert_int_equal(result_of(f, 1)->status, 0);
	assert_true(account_exists(f, "held"));
	assert_false(account_exists(f, "dropped"));

	hashpool_free(pool);

	/*
	 * The queue full when its time comes: busy.  Three jobs at the
	 * interactive cost keep the one worker busy well past its time.
	 */
	pool = new_pool(f, 1, 2, SC_COST_INTERACTIVE);
	assert_true(hashpool_submit_at(pool, 4, SC_MSG_SIGN, "late",
	    (const uint8_t *)"pw", 2, 20, 0) >= 0);
	assert_int_equal(submit(pool, 5, SC_MSG_SIGN, "now1", "pw"), 0);
	assert_int_equal(submit(pool, 6, SC_MSG_SIGN, "now2", "pw"), 0);
	assert_int_equal(submit(pool, 7, SC_MSG_SIGN, "now3", "pw"), 0);
	wait_results(f, 2);
	assert_int_equal(result_of(f, 4)->status, SC_ERR_BUSY);
	wait_results(f, 5);
	assert_false(account_exists(f, "late"));
	hashpool_free(pool);
}

/* A login at a new cost stores a hash made at that cost. */
static void
test_hashpool_login_rehashes_after_cost_change(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 4, SC_COST_MIN);
	struct store		*st;
	char			 hash[SC_PWHASH_LEN], err[256];

	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "frank", "pw"), 0);
	wait_results(f, 1);
	assert_int_equal(result_of(f, 1)->status, 0);

	st = store_open(f->path, err, sizeof err);
	assert_non_null(st);
	assert_int_equal(store_get(st, "frank", hash, NULL), STORE_OK);
	assert_int_equal(sc_pwhash_needs_rehash(hash, SC_COST_MIN), 0);
	assert_int_equal(sc_pwhash_needs_rehash(hash, SC_COST_INTERACTIVE), 1);

	hashpool_set_cost(pool, SC_COST_INTERACTIVE);
	assert_int_equal(submit(pool, 2, SC_MSG_AUTH, "frank", "pw"), 0);
	wait_results(f, 2);
	assert_int_equal(result_of(f, 2)->status, 0);

	assert_int_equal(store_get(st, "frank", hash, NULL), STORE_OK);
	assert_int_equal(sc_pwhash_needs_rehash(hash, SC_COST_INTERACTIVE), 0);
	assert_int_equal(sc_pwhash_verify(hash, (const uint8_t *)"pw", 2), 0);
	sc_wipe(hash, sizeof hash);
	store_free(st);
	hashpool_free(pool);
}

/* Freeing the pool with a full queue drops the jobs and returns soon. */
static void
test_hashpool_free_with_queued_jobs_is_prompt(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 32, SC_COST_MIN);
	char			 name[16];
	uint64_t		 t0;
	int			 i;

	for (i = 0; i < 32; i++) {
		snprintf(name, sizeof name, "queued%d", i);
		assert_int_equal(submit(pool, (uint64_t)i + 1, SC_MSG_SIGN,
		    name, "pw"), 0);
	}
	assert_true(hashpool_pending(pool) > 0);
	t0 = util_now_ms();
	hashpool_free(pool);
	assert_true(util_now_ms() - t0 < 2000);
	/* Nothing is delivered after the pool is gone. */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->nres, 0);
}

/* Results arrive through the loop, on the loop's thread. */
static void
test_hashpool_results_delivered_on_loop_thread(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 2, 8, SC_COST_MIN);
	int			 i;

	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "gina", "pw"), 0);
	assert_int_equal(submit(pool, 2, SC_MSG_AUTH, "gina", "pw"), 0);
	assert_int_equal(submit(pool, 3, SC_MSG_AUTH, "nobody", "pw"), 0);
	/* Before the loop runs, nothing has been delivered. */
	usleep(50000);
	assert_int_equal(f->nres, 0);
	wait_results(f, 3);
	for (i = 0; i < f->nres; i++)
		assert_true(pthread_equal(f->thread[i], f->loop_thread));
	hashpool_free(pool);
}

/* A database that cannot be opened makes hashpool_new fail cleanly. */
static void
test_hashpool_new_reports_store_error(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool;
	char			 path[PATH_MAX + 32], err[256];

	snprintf(path, sizeof path, "%s/missing/accounts.db", f->dir);
	err[0] = '\0';
	pool = hashpool_new(f->base, path, 2, 4, SC_COST_MIN, done_cb, f,
	    err, sizeof err);
	assert_null(pool);
	assert_non_null(strstr(err, "missing"));
}

/* The hashing runs in a separate process, which holds only what it needs. */
static void
test_hashpool_helper_is_a_process_with_few_descriptors(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool;
	struct dirent		*de;
	DIR			*d;
	char			 p[64], target[PATH_MAX];
	ssize_t			 n;
	pid_t			 pid;
	int			 extra[2], fd, nsock = 0;

	/* A descriptor the daemon has open (and may leak) before the fork. */
	assert_int_equal(pipe(extra), 0);
	pool = new_pool(f, 2, 8, SC_COST_MIN);
	pid = hashpool_child(pool);
	assert_true(pid > 0);
	assert_true(pid != getpid());
	assert_int_equal(kill(pid, 0), 0);
	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "hank", "pw"), 0);
	wait_results(f, 1);
	assert_int_equal(result_of(f, 1)->status, 0);

	snprintf(p, sizeof p, "/proc/%ld/fd", (long)pid);
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd <= 2)
			continue;
		snprintf(p, sizeof p, "/proc/%ld/fd/%d", (long)pid, fd);
		n = readlink(p, target, sizeof target - 1);
		assert_true(n > 0);
		target[n] = '\0';
		if (strncmp(target, "socket:", 7) == 0)
			nsock++;
		else if (strncmp(target, "pipe:", 5) == 0)
			fail_msg("helper kept the daemon's pipe, fd %d", fd);
		else if (strncmp(target, f->dir, strlen(f->dir)) != 0)
			fail_msg("helper holds fd %d -> %s", fd, target);
	}
	closedir(d);
	assert_int_equal(nsock, 1);
	close(extra[0]);
	close(extra[1]);
	hashpool_free(pool);
}

/* Runs the loop until the pool has a helper other than old, at most 10 s. */
static pid_t
wait_new_child(struct fixture *f, struct hashpool *pool, pid_t old)
{
	uint64_t	deadline = util_now_ms() + 10000;
	pid_t		pid;

	while (((pid = hashpool_child(pool)) == -1 || pid == old) &&
	    util_now_ms() < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	return (pid);
}

/*
 * A killed helper fails the job it was running with SC_ERR_INTERNAL; the
 * job waiting in the daemon (at a real cost, one job per worker is sent)
 * survives and a new helper answers it and the jobs after it.
 */
static void
test_hashpool_killed_helper_fails_running_jobs_is_replaced(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 8, SC_COST_INTERACTIVE);
	pid_t			 old, pid;
	int			 status;

	old = hashpool_child(pool);
	assert_true(old > 0);
	/* One interactive hash running, one job waiting behind it. */
	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "ivan", "pw"), 0);
	assert_int_equal(submit(pool, 2, SC_MSG_SIGN, "judy", "pw"), 0);
	assert_int_equal(hashpool_pending(pool), 2);
	hashpool_set_cost(pool, SC_COST_MIN);
	assert_int_equal(kill(old, SIGKILL), 0);

	/* The one with the helper fails, and says so. */
	wait_results(f, 1);
	assert_int_equal(result_of(f, 1)->status, SC_ERR_INTERNAL);
	assert_int_equal(result_of(f, 1)->op, SC_MSG_SIGN);
	assert_string_equal(result_of(f, 1)->name, "ivan");
	/* The dead helper was reaped by the pool. */
	assert_int_equal(waitpid(old, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);

	/* The job that waited, and jobs after it, succeed on the new one. */
	wait_results(f, 2);
	assert_int_equal(result_of(f, 2)->status, 0);
	assert_string_equal(result_of(f, 2)->name, "judy");
	pid = hashpool_child(pool);
	assert_true(pid > 0);
	assert_true(pid != old);
	assert_true(pid != getpid());

	assert_int_equal(submit(pool, 3, SC_MSG_AUTH, "judy", "pw"), 0);
	assert_int_equal(submit(pool, 4, SC_MSG_SIGN, "ivan", "pw"), 0);
	wait_results(f, 4);
	assert_int_equal(result_of(f, 3)->status, 0);
	assert_int_equal(result_of(f, 4)->status, 0);
	assert_int_equal(hashpool_pending(pool), 0);
	hashpool_free(pool);
}

/*
 * At a real cost jobs wait in the daemon and are taken by rank, then in
 * order: one address's burst (ranks 0, 1, 2...) waits behind another
 * address's first job.
 */
static void
test_hashpool_lower_rank_goes_first(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 16, SC_COST_INTERACTIVE);
	char			 name[16];
	int			 i;

	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "burst%d", i);
		assert_true(hashpool_submit_at(pool, (uint64_t)i + 1,
		    SC_MSG_SIGN, name, (const uint8_t *)"pw", 2, 0,
		    (unsigned)i) >= 0);
	}
	assert_true(hashpool_submit_at(pool, 9, SC_MSG_SIGN, "other",
	    (const uint8_t *)"pw", 2, 0, 0) >= 0);
	wait_results(f, 5);
	/* burst0 was sent at once; then other, before burst1. */
	assert_true(f->res[0].session_id == 1);
	assert_true(f->res[1].session_id == 9);
	assert_true(f->res[2].session_id == 2);
	hashpool_free(pool);
}

/* A helper killed twice in a row is replaced again, at most once a second. */
static void
test_hashpool_helper_replaced_again_after_second_death(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 8, SC_COST_MIN);
	pid_t			 first, second, third;
	uint64_t		 t0;

	first = hashpool_child(pool);
	assert_int_equal(kill(first, SIGKILL), 0);
	second = wait_new_child(f, pool, first);
	assert_true(second > 0 && second != first);
	t0 = util_now_ms();
	assert_int_equal(kill(second, SIGKILL), 0);
	third = wait_new_child(f, pool, second);
	assert_true(third > 0 && third != second);
	/* No fork storm: the third came about a second after the second. */
	assert_true(util_now_ms() - t0 >= 500);
	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "kate", "pw"), 0);
	wait_results(f, 1);
	assert_int_equal(result_of(f, 1)->status, 0);
	hashpool_free(pool);
}

/*
 * Freeing the pool with jobs running and queued returns within the bound
 * and leaves no helper behind.
 */
static void
test_hashpool_free_with_running_jobs_ends_helper(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 2, 16, SC_COST_INTERACTIVE);
	char			 name[16];
	uint64_t		 t0;
	pid_t			 pid;
	int			 i;

	pid = hashpool_child(pool);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "run%d", i);
		assert_int_equal(submit(pool, (uint64_t)i + 1, SC_MSG_SIGN,
		    name, "pw"), 0);
	}
	assert_int_equal(hashpool_pending(pool), 8);
	t0 = util_now_ms();
	hashpool_free(pool);
	assert_true(util_now_ms() - t0 < 3000);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->nres, 0);
}

/* A helper that does not end by itself is killed after the bound. */
static void
test_hashpool_free_kills_stuck_helper(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 4, SC_COST_MIN);
	uint64_t		 t0, took;
	pid_t			 pid;

	pid = hashpool_child(pool);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	t0 = util_now_ms();
	hashpool_free(pool);
	took = util_now_ms() - t0;
	assert_true(took >= 1500 && took < 4000);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/*
 * No signal an operator or systemd may send to the whole service stops or
 * ends the helper.
 */
static void
test_hashpool_helper_ignores_stop_signals(void **state)
{
	struct fixture		*f = *state;
	struct hashpool	*pool = new_pool(f, 1, 4, SC_COST_MIN);
	pid_t			 pid = hashpool_child(pool);
	const int		 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT,
				    SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
				    SIGVTALRM, SIGPROF, SIGTSTP, SIGTTIN,
				    SIGTTOU, SIGXFSZ, SIGWINCH };
	size_t			 i;

	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		assert_int_equal(kill(pid, sigs[i]), 0);
	assert_int_equal(submit(pool, 1, SC_MSG_SIGN, "liam", "pw"), 0);
	wait_results(f, 1);
	assert_int_equal(result_of(f, 1)->status, 0);
	assert_int_equal(hashpool_child(pool), pid);
	hashpool_free(pool);
}

/* The NULL pool refuses jobs and has no helper. */
static void
test_hashpool_null_pool_is_safe(void **state)
{
	(void)state;
	assert_int_equal(hashpool_submit(NULL, 1, SC_MSG_AUTH, "mia",
	    (const uint8_t *)"pw", 2), -1);
	hashpool_set_cost(NULL, SC_COST_MIN);
	assert_int_equal(hashpool_pending(NULL), 0);
	assert_int_equal(hashpool_child(NULL), -1);
	hashpool_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_hashpool_sign_then_auth_succeeds, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_wrong_password_and_unknown_user_same_error,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_sign_taken_name_gives_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_concurrent_sign_one_winner, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_bad_name_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_identity_stored_beside_the_account, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_operator_jobs_change_accounts,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_submit_rejects_bad_arguments,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_queue_full_returns_minus_one,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_withdrawn_jobs_never_run, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_operator_jobs_ranked_first_and_withdrawn,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_lower_rank_goes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_held_jobs_wait_then_run, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_login_rehashes_after_cost_change,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_free_with_queued_jobs_is_prompt,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_results_delivered_on_loop_thread,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_new_reports_store_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_helper_is_a_process_with_few_descriptors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_killed_helper_fails_running_jobs_is_replaced,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_helper_replaced_again_after_second_death,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_free_with_running_jobs_ends_helper,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_free_kills_stuck_helper, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashpool_helper_ignores_stop_signals, setup, teardown),
		cmocka_unit_test(test_hashpool_null_pool_is_safe),
	};

	if (sc_crypto_init() != 0)
		return (1);
	log_init("test_hashpool", LOG_LVL_ERROR);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
