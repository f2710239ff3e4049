/* SPDX-License-Identifier: ISC */
/*
 * Account store on a real SQLite file in a fresh temporary folder: adding,
 * reading and replacing hashes, the UNIQUE name, durability across reopen,
 * the file's mode, and several handles on one file; the operator's side:
 * last logins, locks, deletion, listing in pages, the read-only handle,
 * the online backup; the identity key; the mailbox (stored messages: in
 * order, bounded, deleted on acknowledgement and by age, with the account);
 * and the upgrade of version 1, 2 and 3 files, which this test writes with
 * SQLite itself (store.c stays the only user in the programs).
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
#include <sqlite3.h>

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

	assert_int_equal(store_get(st, "alice", hash, NULL), STORE_NOTFOUND);
	assert_int_equal(store_add(st, "alice", hash_a, 0), STORE_OK);
	assert_int_equal(store_get(st, "alice", hash, NULL), STORE_OK);
	assert_string_equal(hash, hash_a);
	assert_int_equal(store_set(st, "alice", hash_b), STORE_OK);
	assert_int_equal(store_get(st, "alice", hash, NULL), STORE_OK);
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

	assert_int_equal(store_add(st, "bob", hash_a, 0), STORE_OK);
	assert_int_equal(store_add(st, "bob", hash_b, 0), STORE_EXISTS);
	assert_int_equal(store_get(st, "bob", hash, NULL), STORE_OK);
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
	assert_int_equal(store_add(st, longname, hash_a, 0), STORE_ERR);
	assert_int_equal(store_add(st, "", hash_a, 0), STORE_ERR);
	assert_int_equal(store_add(st, "carol", full, 0), STORE_ERR);
	assert_int_equal(store_add(st, "carol", empty, 0), STORE_ERR);
	assert_int_equal(store_get(st, longname, hash, NULL), STORE_ERR);
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
		assert_int_equal(store_add(st, name, hash_a, 0), STORE_OK);
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
	assert_int_equal(store_add(st, "dave", hash_a, 0), STORE_OK);
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

	assert_int_equal(store_add(st, "erin", hash_a, 0), STORE_OK);
	store_free(st);
	st = open_store(f);
	assert_int_equal(store_count(st), 1);
	assert_int_equal(store_get(st, "erin", hash, NULL), STORE_OK);
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

	assert_int_equal(store_add(a, "frank", hash_a, 0), STORE_OK);
	assert_int_equal(store_get(b, "frank", hash, NULL), STORE_OK);
	assert_string_equal(hash, hash_a);
	assert_int_equal(store_add(b, "frank", hash_b, 0), STORE_EXISTS);
	assert_int_equal(store_set(b, "frank", hash_b), STORE_OK);
	assert_int_equal(store_get(a, "frank", hash, NULL), STORE_OK);
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
	o->rc = store_add(o->st, o->name, hash_a, 0);
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

/* Collects the names store_list() hands out, comma-separated. */
static void
collect(const struct store_account *a, void *arg)
{
	char	*out = arg;

	if (out[0] != '\0')
		strcat(out, ",");
	strcat(out, a->name);
	strcat(out, a->locked ? "!" : "");
	strcat(out, a->last_login != 0 ? "+" : "");
}

/*
 * A sign-up's login is its last one; an added account has none until
 * touched; a locked account is not touched and says so; a deleted one is
 * gone.
 */
static void
test_store_touch_lock_and_delete(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = open_store(f);
	char		 hash[SC_PWHASH_LEN], out[256];
	int		 locked = -1;

	assert_int_equal(store_add(st, "amy", hash_a, 1), STORE_OK);
	assert_int_equal(store_add(st, "ben", hash_a, 0), STORE_OK);
	out[0] = '\0';
	assert_int_equal(store_list(st, "", 10, collect, out), 2);
	assert_string_equal(out, "amy+,ben");

	assert_int_equal(store_touch(st, "ben"), STORE_OK);
	assert_int_equal(store_lock(st, "amy", 1), STORE_OK);
	assert_int_equal(store_get(st, "amy", hash, &locked), STORE_OK);
	assert_int_equal(locked, 1);
	assert_int_equal(store_touch(st, "amy"), STORE_LOCKED);
	out[0] = '\0';
	assert_int_equal(store_list(st, "", 10, collect, out), 2);
	assert_string_equal(out, "amy!+,ben+");
	assert_int_equal(store_lock(st, "amy", 0), STORE_OK);
	assert_int_equal(store_get(st, "amy", hash, &locked), STORE_OK);
	assert_int_equal(locked, 0);

	assert_int_equal(store_del(st, "ben"), STORE_OK);
	assert_int_equal(store_del(st, "ben"), STORE_NOTFOUND);
	assert_int_equal(store_lock(st, "ben", 1), STORE_NOTFOUND);
	assert_int_equal(store_touch(st, "ben"), STORE_NOTFOUND);
	assert_int_equal(store_get(st, "ben", hash, NULL), STORE_NOTFOUND);
	assert_int_equal(store_count(st), 1);
	assert_int_equal(store_del(st, ""), STORE_ERR);
	store_free(st);
}

/* Pages of a list follow each other in byte order, without overlap. */
static void
test_store_list_pages_in_name_order(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = open_store(f);
	char		 out[256], name[16];
	int		 i;

	for (i = 4; i >= 0; i--) {
		snprintf(name, sizeof name, "u%d", i);
		assert_int_equal(store_add(st, name, hash_a, 0), STORE_OK);
	}
	out[0] = '\0';
	assert_int_equal(store_list(st, "", 2, collect, out), 2);
	assert_int_equal(store_list(st, "u1", 2, collect, out), 2);
	assert_int_equal(store_list(st, "u3", 2, collect, out), 1);
	assert_int_equal(store_list(st, "u4", 2, collect, out), 0);
	assert_string_equal(out, "u0,u1,u2,u3,u4");
	assert_int_equal(store_list(st, "", 0, collect, out), -1);
	store_free(st);
}

/*
 * The read-only handle reads what a writer stored, lists it, and cannot
 * write; it refuses a file that does not exist rather than make one.
 */
static void
test_store_read_handle_reads_and_never_writes(void **state)
{
	struct fixture	*f = *state;
	struct store	*st, *rd;
	char		 hash[SC_PWHASH_LEN], out[64], err[256];

	rd = store_open_read(f->path, err, sizeof err);
	assert_null(rd);
	assert_non_null(strstr(err, f->path));
	assert_int_equal(access(f->path, F_OK), -1);

	st = open_store(f);
	assert_int_equal(store_add(st, "cat", hash_a, 0), STORE_OK);
	rd = store_open_read(f->path, err, sizeof err);
	if (rd == NULL)
		fail_msg("store_open_read: %s", err);
	assert_int_equal(store_get(rd, "cat", hash, NULL), STORE_OK);
	assert_string_equal(hash, hash_a);
	assert_int_equal(store_count(rd), 1);
	out[0] = '\0';
	assert_int_equal(store_list(rd, "", 5, collect, out), 1);
	assert_string_equal(out, "cat");
	assert_int_equal(store_del(rd, "cat"), STORE_ERR);
	assert_int_equal(store_add(rd, "dog", hash_a, 0), STORE_ERR);
	assert_int_equal(store_count(st), 1);
	store_free(rd);
	store_free(st);
}

/*
 * A backup made step by step while another handle writes is a whole
 * database: opened on its own it passes the check and holds the accounts.
 */
static void
test_store_backup_is_a_consistent_database(void **state)
{
	struct fixture		*f = *state;
	struct store		*st, *rd, *copy;
	struct store_backup	*b;
	const unsigned char	*img;
	char			 copy_path[PATH_MAX + 32], name[16];
	char			 err[256], hash[SC_PWHASH_LEN];
	size_t			 len;
	FILE			*fp;
	int			 i, rc, steps = 0;

	st = open_store(f);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "user%03d", i);
		assert_int_equal(store_add(st, name, hash_a, 0), STORE_OK);
	}
	rd = store_open_read(f->path, err, sizeof err);
	if (rd == NULL)
		fail_msg("store_open_read: %s", err);
	assert_non_null(b = store_backup_new(rd));
	while ((rc = store_backup_step(b, 1)) == 0) {
		if (steps++ == 1)
			assert_int_equal(store_add(st, "late", hash_b, 0),
			    STORE_OK);
		assert_true(steps < 10000);
	}
	assert_int_equal(rc, 1);
	assert_non_null(img = store_backup_image(b, &len));
	assert_true(len >= 4096);
	assert_memory_equal(img, "SQLite format 3", 16);

	snprintf(copy_path, sizeof copy_path, "%s/copy.db", f->dir);
	assert_non_null(fp = fopen(copy_path, "w"));
	assert_int_equal(fwrite(img, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	store_backup_free(b);
	store_free(rd);

	copy = store_open(copy_path, err, sizeof err);
	if (copy == NULL)
		fail_msg("store_open copy: %s", err);
	assert_int_equal(store_check(copy), 0);
	assert_int_equal(store_count(copy), 301);
	assert_int_equal(store_get(copy, "late", hash, NULL), STORE_OK);
	assert_string_equal(hash, hash_b);
	store_free(copy);
	store_free(st);
	store_backup_free(NULL);
}

/* A callback that must not run. */
static void
collect_none(const struct store_mail *m, void *arg)
{
	(void)m;
	(void)arg;
	fail_msg("a message where none was stored");
}

/*
 * A file of schema version 1 (name, hash, created) gets the three new
 * columns when opened: its accounts stay, unlocked, never logged in, and
 * without an identity key.
 */
static void
test_store_upgrades_version_1(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	sqlite3		*db;
	char		 hash[SC_PWHASH_LEN], out[64], sql[512];
	int		 locked = -1;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE accounts (name TEXT PRIMARY KEY NOT NULL,"
	    " hash TEXT NOT NULL, created INTEGER NOT NULL);"
	    "INSERT INTO accounts VALUES ('old', '%s', 1);"
	    "PRAGMA user_version=1;", hash_a);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	st = open_store(f);
	assert_int_equal(store_get(st, "old", hash, &locked), STORE_OK);
	assert_string_equal(hash, hash_a);
	assert_int_equal(locked, 0);
	out[0] = '\0';
	assert_int_equal(store_list(st, "", 5, collect, out), 1);
	assert_string_equal(out, "old");
	assert_int_equal(store_add(st, "new", hash_b, 1), STORE_OK);
	assert_int_equal(store_lock(st, "old", 1), STORE_OK);
	/* ...and the column of version 3: no identity key yet. */
	assert_int_equal(store_get_identity(st, "old", (uint8_t *)out),
	    STORE_NOTFOUND);
	/* ...and the mailbox of version 4, empty. */
	assert_int_equal(store_mail_rcpt(st, "old", (uint8_t *)out),
	    STORE_NOKEY);
	assert_int_equal(store_mail_list(st, "old", 0, 5, collect_none,
	    NULL), 0);
	assert_int_equal(store_check(st), 0);
	store_free(st);
}

/*
 * The identity key: none at first, set (a change each time it differs),
 * read back, refused for an account that does not exist; and a file of
 * schema version 2 gets the column when opened.
 */
static void
test_store_identity_set_get_and_version_2_upgraded(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	sqlite3		*db;
	uint8_t		 k1[SC_KEY_BYTES], k2[SC_KEY_BYTES], got[SC_KEY_BYTES];
	char		 sql[512];
	int		 changed = -1;

	memset(k1, 0x11, sizeof(k1));
	memset(k2, 0x22, sizeof(k2));
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE accounts (name TEXT PRIMARY KEY NOT NULL,"
	    " hash TEXT NOT NULL, created INTEGER NOT NULL,"
	    " last_login INTEGER, locked INTEGER NOT NULL DEFAULT 0);"
	    "INSERT INTO accounts VALUES ('old', '%s', 1, NULL, 0);"
	    "PRAGMA user_version=2;", hash_a);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	st = open_store(f);
	assert_int_equal(store_get_identity(st, "old", got), STORE_NOTFOUND);
	assert_int_equal(store_set_identity(st, "old", k1, &changed),
	    STORE_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(store_set_identity(st, "old", k1, &changed),
	    STORE_OK);
	assert_int_equal(changed, 0);
	assert_int_equal(store_get_identity(st, "old", got), STORE_OK);
	assert_memory_equal(got, k1, SC_KEY_BYTES);
	assert_int_equal(store_set_identity(st, "old", k2, &changed),
	    STORE_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(store_set_identity(st, "nobody", k2, &changed),
	    STORE_NOTFOUND);
	assert_int_equal(changed, 0);
	assert_int_equal(store_get_identity(st, "nobody", got),
	    STORE_NOTFOUND);
	store_free(st);
	st = open_store(f);
	assert_int_equal(store_get_identity(st, "old", got), STORE_OK);
	assert_memory_equal(got, k2, SC_KEY_BYTES);
	assert_int_equal(store_check(st), 0);
	store_free(st);
}

/* A stored message for the tests: id filled with n, box of len bytes. */
static void
mail_make(struct store_mail *m, uint8_t box[SC_MAIL_BOX_MAX], int n,
    const char *from, const char *to, size_t len, long long created)
{
	memset(m, 0, sizeof *m);
	memset(m->id, n, sizeof m->id);
	snprintf(m->sender, sizeof m->sender, "%s", from);
	snprintf(m->recipient, sizeof m->recipient, "%s", to);
	memset(m->sender_key, 0x5a, sizeof m->sender_key);
	memset(box, n, SC_MAIL_BOX_MAX);
	m->box = box;
	m->box_len = len;
	m->created = created;
}

/* What store_mail_list() and store_mail_expire() handed over. */
struct mail_seen {
	int		n;
	uint8_t		first[32];	/* each one's first id byte */
	long long	seq[32];
	size_t		len[32];
	char		from[32][SC_NAME_MAX + 1];
};

/* Records one message. */
static void
mail_collect(const struct store_mail *m, void *arg)
{
	struct mail_seen	*s = arg;

	assert_true(s->n < 32);
	s->first[s->n] = m->id[0];
	s->seq[s->n] = m->seq;
	s->len[s->n] = m->box_len;
	snprintf(s->from[s->n], sizeof s->from[0], "%s", m->sender);
	if (m->box != NULL)
		assert_int_equal(m->box[0], m->id[0]);
	s->n++;
}

/*
 * The mailbox: a recipient's messages come back in the order stored,
 * after a cursor, in pages; bounds by count and by bytes refuse without
 * writing; an id held already is STORE_EXISTS; no account is
 * STORE_NOTFOUND; a deletion returns the sender and the size; the totals
 * follow.
 */
static void
test_store_mailbox_order_bounds_delete_totals(void **state)
{
	struct fixture		*f = *state;
	struct store		*st;
	struct store_mail	 m, del;
	struct mail_seen	 seen;
	uint8_t			 box[SC_MAIL_BOX_MAX], key[SC_KEY_BYTES];
	long long		 msgs, bytes;
	int			 i;

	st = open_store(f);
	assert_int_equal(store_add(st, "bob", hash_a, 0), STORE_OK);
	assert_int_equal(store_add(st, "alice", hash_a, 0), STORE_OK);
	/* Whether bob may get messages: not before his key. */
	assert_int_equal(store_mail_rcpt(st, "bob", key), STORE_NOKEY);
	assert_int_equal(store_mail_rcpt(st, "nobody", key), STORE_NOTFOUND);
	memset(key, 0x11, sizeof key);
	assert_int_equal(store_set_identity(st, "bob", key, &i), STORE_OK);
	memset(key, 0, sizeof key);
	assert_int_equal(store_mail_rcpt(st, "bob", key), STORE_OK);
	assert_int_equal(key[0], 0x11);

	for (i = 1; i <= 5; i++) {
		mail_make(&m, box, i, "alice", "bob", 100, 1000 + i);
		assert_int_equal(store_mail_add(st, &m, 5, 1000), STORE_OK);
	}
	/* The sixth: too many; with room for it, too many bytes. */
	mail_make(&m, box, 6, "alice", "bob", 100, 2000);
	assert_int_equal(store_mail_add(st, &m, 5, 1000), STORE_FULL);
	assert_int_equal(store_mail_add(st, &m, 6, 599), STORE_FULL_BYTES);
	/* The same id again, even with the queue full; no such recipient. */
	mail_make(&m, box, 3, "alice", "bob", 100, 2000);
	assert_int_equal(store_mail_add(st, &m, 10, 10000), STORE_EXISTS);
	assert_int_equal(store_mail_add(st, &m, 5, 1000), STORE_EXISTS);
	assert_int_equal(store_mail_has(st, "bob", m.id), STORE_EXISTS);
	assert_int_equal(store_mail_has(st, "alice", m.id), STORE_NOTFOUND);
	mail_make(&m, box, 7, "alice", "nobody", 100, 2000);
	assert_int_equal(store_mail_add(st, &m, 10, 10000), STORE_NOTFOUND);
	assert_int_equal(store_mail_count(st, "bob", &msgs, &bytes), 0);
	assert_true(msgs == 5 && bytes == 500);

	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_mail_list(st, "bob", 0, 3, mail_collect,
	    &seen), 3);
	assert_int_equal(store_mail_list(st, "bob", seen.seq[2], 10,
	    mail_collect, &seen), 2);
	for (i = 0; i < 5; i++) {
		assert_int_equal(seen.first[i], i + 1);
		assert_string_equal(seen.from[i], "alice");
		assert_int_equal(seen.len[i], 100);
		if (i > 0)
			assert_true(seen.seq[i] > seen.seq[i - 1]);
	}
	assert_int_equal(store_mail_list(st, "alice", 0, 10, mail_collect,
	    &seen), 0);

	/* The third is shown: deleted, once; another's id is not bob's. */
	memset(m.id, 3, sizeof m.id);
	assert_int_equal(store_mail_del(st, "alice", m.id, &del),
	    STORE_NOTFOUND);
	assert_int_equal(store_mail_del(st, "bob", m.id, &del), STORE_OK);
	assert_string_equal(del.sender, "alice");
	assert_int_equal(del.box_len, 100);
	assert_true(del.seq == seen.seq[2]);
	assert_int_equal(store_mail_del(st, "bob", m.id, &del),
	    STORE_NOTFOUND);
	assert_int_equal(store_mail_totals(st, &msgs, &bytes), 0);
	assert_true(msgs == 4 && bytes == 400);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_mail_list(st, "bob", 0, 10, mail_collect,
	    &seen), 4);
	assert_int_equal(seen.first[2], 4);

	/* Expiry: those stored before 1003, the oldest first. */
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_mail_expire(st, 1003, 10, mail_collect,
	    &seen), 2);
	assert_int_equal(seen.first[0], 1);
	assert_int_equal(seen.first[1], 2);
	assert_int_equal(store_mail_expire(st, 1003, 10, mail_collect,
	    &seen), 0);
	assert_int_equal(store_mail_totals(st, &msgs, &bytes), 0);
	assert_true(msgs == 2 && bytes == 200);

	/* They stay across a reopen, and go with bob's account. */
	store_free(st);
	st = open_store(f);
	assert_int_equal(store_mail_totals(st, &msgs, &bytes), 0);
	assert_true(msgs == 2);
	assert_int_equal(store_del(st, "bob"), STORE_OK);
	assert_int_equal(store_mail_totals(st, &msgs, &bytes), 0);
	assert_true(msgs == 0 && bytes == 0);
	assert_int_equal(store_check(st), 0);
	store_free(st);
}

/*
 * A file of schema version 3 gets the mailbox when opened: its accounts
 * and identity keys stay, and messages can be stored for them.
 */
static void
test_store_upgrades_version_3(void **state)
{
	struct fixture		*f = *state;
	struct store		*st;
	struct store_mail	 m;
	sqlite3			*db;
	uint8_t			 box[SC_MAIL_BOX_MAX], key[SC_KEY_BYTES];
	char			 sql[512];
	long long		 msgs, bytes;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE accounts (name TEXT PRIMARY KEY NOT NULL,"
	    " hash TEXT NOT NULL, created INTEGER NOT NULL,"
	    " last_login INTEGER, locked INTEGER NOT NULL DEFAULT 0,"
	    " identity BLOB);"
	    "INSERT INTO accounts VALUES ('old', '%s', 1, NULL, 0, x'"
	    "22222222222222222222222222222222"
	    "22222222222222222222222222222222');"
	    "PRAGMA user_version=3;", hash_a);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	st = open_store(f);
	assert_int_equal(store_mail_rcpt(st, "old", key), STORE_OK);
	assert_int_equal(key[31], 0x22);
	mail_make(&m, box, 1, "someone", "old", SC_MAIL_BOX_MIN, 5);
	assert_int_equal(store_mail_add(st, &m, 10, 10000), STORE_OK);
	assert_int_equal(store_mail_count(st, "old", &msgs, &bytes), 0);
	assert_true(msgs == 1 && bytes == SC_MAIL_BOX_MIN);
	assert_int_equal(store_check(st), 0);
	store_free(st);
	/* A read-only handle counts them too. */
	st = store_open_read(f->path, sql, sizeof sql);
	assert_non_null(st);
	assert_int_equal(store_mail_totals(st, &msgs, &bytes), 0);
	assert_true(msgs == 1);
	store_free(st);
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
		cmocka_unit_test_setup_teardown(
		    test_store_touch_lock_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_list_pages_in_name_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_read_handle_reads_and_never_writes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_backup_is_a_consistent_database, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_upgrades_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_identity_set_get_and_version_2_upgraded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_mailbox_order_bounds_delete_totals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_upgrades_version_3, setup, teardown),
	};

	log_init("test_store", LOG_LVL_ERROR);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
