/* SPDX-License-Identifier: ISC */
/*
 * Account store on a real SQLite file in a fresh temporary folder: adding,
 * reading and replacing hashes, the UNIQUE name, durability across reopen,
 * the file's mode, and several handles on one file.
 */
#include <sys/stat.h>

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "store.h"

#include "tmpdir.h"

struct fixture {
	char	dir[PATH_MAX];
	char	path[PATH_MAX + 16];	/* dir/accounts.db */
};

static const char hash_a[SC_PWHASH_LEN] =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
static const char hash_b[SC_PWHASH_LEN] =
    "$argon2id$v=19$m=65536,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNob3RoZXJoYXNo";

/* Makes a temporary folder for one test's database. */
static int
setup(void **state)
{
	struct fixture	*f;

	f = calloc(1, sizeof *f);
	assert_non_null(f);
	tmpdir_make(f->dir, "store");
	snprintf(f->path, sizeof f->path, "%s/accounts.db", f->dir);
	*state = f;
	return (0);
}

/* Removes the folder with the database files. */
static int
teardown(void **state)
{
	struct fixture	*f = *state;

	tmpdir_remove(f->dir);
	free(f);
	return (0);
}

/* Opens the fixture's database or fails the test. */
static struct store *
open_store(struct fixture *f)
{
	struct store	*st;
	char		 err[256];

	err[0] = '\0';
	st = store_open(f->path, err, sizeof err);
	if (st == NULL)
		fail_msg("store_open: %s", err);
	return (st);
}

/* An added account reads back with the same hash; a replaced one too. */
static void
test_store_add_get_set_roundtrip(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = open_store(f);
	char		 hash[SC_PWHASH_LEN];

	assert_int_equal(store_get(st, "alice", hash), STORE_NOTFOUND);
	assert_int_equal(store_add(st, "alice", hash_a), STORE_OK);
	assert_int_equal(store_get(st, "alice", hash), STORE_OK);
	assert_string_equal(hash, hash_a);
	assert_int_equal(store_set(st, "alice", hash_b), STORE_OK);
	assert_int_equal(store_get(st, "alice", hash), STORE_OK);
	assert_string_equal(hash, hash_b);
	sc_wipe(hash, sizeof hash);
	store_free(st);
}

/* A name can be registered once; the first hash stays. */
static void
test_store_taken_name_gives_exists(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = open_store(f);
	char		 hash[SC_PWHASH_LEN];

	assert_int_equal(store_add(st, "bob", hash_a), STORE_OK);
	assert_int_equal(store_add(st, "bob", hash_b), STORE_EXISTS);
	assert_int_equal(store_get(st, "bob", hash), STORE_OK);
	assert_string_equal(hash, hash_a);
	assert_int_equal(store_count(st), 1);
	store_free(st);
}

/* Replacing the hash of an unknown name changes nothing. */
static void
test_store_set_unknown_is_notfound(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = open_store(f);

	assert_int_equal(store_set(st, "nobody", hash_a), STORE_NOTFOUND);
	assert_int_equal(store_count(st), 0);
	store_free(st);
}

/* Oversized names and unterminated hashes are refused, not stored. */
static void
test_store_rejects_bad_arguments(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = open_store(f);
	char		 longname[SC_NAME_MAX + 2];
	char		 full[SC_PWHASH_LEN];
	char		 empty[SC_PWHASH_LEN];
	char		 hash[SC_PWHASH_LEN];

	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	memset(full, 'x', sizeof full);
	memset(empty, 0, sizeof empty);
	assert_int_equal(store_add(st, longname, hash_a), STORE_ERR);
	assert_int_equal(store_add(st, "", hash_a), STORE_ERR);
	assert_int_equal(store_add(st, "carol", full), STORE_ERR);
	assert_int_equal(store_add(st, "carol", empty), STORE_ERR);
	assert_int_equal(store_get(st, longname, hash), STORE_ERR);
	assert_int_equal(store_count(st), 0);
	store_free(st);
}

/* The count follows the number of accounts. */
static void
test_store_count_follows_accounts(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = open_store(f);
	char		 name[16];
	int		 i;

	assert_int_equal(store_count(st), 0);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "user%d", i);
		assert_int_equal(store_add(st, name, hash_a), STORE_OK);
	}
	assert_int_equal(store_count(st), 5);
	assert_int_equal(store_check(st), 0);
	store_free(st);
}

/* The database file is created readable by its owner only. */
static void
test_store_file_mode_is_0600(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct stat	 sb;
	mode_t		 old;
	char		 wal[PATH_MAX + 32];

	old = umask(0);		/* even with a permissive umask */
	st = open_store(f);
	umask(old);
	assert_int_equal(store_add(st, "dave", hash_a), STORE_OK);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* The write-ahead log holds hashes too: SQLite copies the mode. */
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_free(st);
}

/* Accounts survive closing and reopening the database. */
static void
test_store_data_survives_reopen(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = open_store(f);
	char		 hash[SC_PWHASH_LEN];

	assert_int_equal(store_add(st, "erin", hash_a), STORE_OK);
	store_free(st);
	st = open_store(f);
	assert_int_equal(store_count(st), 1);
	assert_int_equal(store_get(st, "erin", hash), STORE_OK);
	assert_string_equal(hash, hash_a);
	assert_int_equal(store_check(st), 0);
	store_free(st);
}

/* A write through one handle is seen by another, and UNIQUE holds. */
static void
test_store_two_handles_share_accounts(void **state)
{
	struct fixture	*f = *state;
	struct store	*a = open_store(f);
	struct store	*b = open_store(f);
	char		 hash[SC_PWHASH_LEN];

	assert_int_equal(store_add(a, "frank", hash_a), STORE_OK);
	assert_int_equal(store_get(b, "frank", hash), STORE_OK);
	assert_string_equal(hash, hash_a);
	assert_int_equal(store_add(b, "frank", hash_b), STORE_EXISTS);
	assert_int_equal(store_set(b, "frank", hash_b), STORE_OK);
	assert_int_equal(store_get(a, "frank", hash), STORE_OK);
	assert_string_equal(hash, hash_b);
	assert_int_equal(store_count(a), 1);
	store_free(a);
	store_free(b);
}

struct opener {
	const char	*path;
	struct store	*st;
	char		 name[16];
	int		 rc;
};

/* Thread: opens the same new file as the others and adds one account. */
static void *
opener_main(void *arg)
{
	struct opener	*o = arg;
	char		 err[256];

	o->st = store_open(o->path, err, sizeof err);
	if (o->st == NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		o->rc = STORE_ERR;
		return (NULL);
	}
	o->rc = store_add(o->st, o->name, hash_a);
	return (NULL);
}

/* Handles opening one new file at the same time all get the schema. */
static void
test_store_concurrent_first_open(void **state)
{
	struct fixture	*f = *state;
	struct opener	 o[4];
	pthread_t	 t[4];
	struct store	*st;
	int		 i;

	memset(o, 0, sizeof o);
	for (i = 0; i < 4; i++) {
		o[i].path = f->path;
		snprintf(o[i].name, sizeof o[i].name, "racer%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, opener_main,
		    &o[i]), 0);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(o[i].rc, STORE_OK);
		store_free(o[i].st);
	}
	st = open_store(f);
	assert_int_equal(store_count(st), 4);
	store_free(st);
}

/* A file that is not a database is refused with a message. */
static void
test_store_refuses_garbage_file(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	char		 err[256];
	FILE		*fp;
	int		 i;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	for (i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	err[0] = '\0';
	st = store_open(f->path, err, sizeof err);
	assert_null(st);
	assert_non_null(strstr(err, f->path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_store_add_get_set_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_taken_name_gives_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_set_unknown_is_notfound, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_rejects_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_count_follows_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_file_mode_is_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_data_survives_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_two_handles_share_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_concurrent_first_open, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_refuses_garbage_file, setup, teardown),
	};

	log_init("test_store", LOG_LVL_ERROR);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
