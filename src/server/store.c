/* SPDX-License-Identifier: ISC */
/*
 * Account store on SQLite.  One handle per thread (opened without SQLite's
 * own mutexes, since no handle is ever shared), statements prepared once per
 * handle, writes durable on return: WAL with synchronous=FULL.  The schema
 * version lives in PRAGMA user_version: 1 had name, hash and created; 2
 * adds last_login (NULL: never) and locked; 3 adds identity, the user's
 * identity public key (32 bytes, NULL: none registered yet); 4 adds the
 * mailbox, the sealed messages waiting for offline users, each row tied to
 * its recipient's account (deleted with it).  A handle that opens an older
 * file adds what it lacks, one version after the other, in one
 * transaction.
 *
 * The one write that is not durable on return is the time of a login
 * (store_touch): it is a hint for the operator, and an fsync per login
 * would cost more than the hash at the lower costs.  It is committed with
 * synchronous=NORMAL, which in WAL mode survives a crash of the process
 * but may be lost with the machine's power.
 *
 * A read-only handle (store_open_read) is for the daemon's event loop: it
 * never writes and never waits for a lock, so listing and copying the
 * accounts there cannot stall the loop behind a writer.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sealchat/log.h"
#include "sealchat/util.h"
#include "store.h"

#define STORE_SCHEMA_VERSION	4
#define STORE_BUSY_MS		5000
#define STORE_BACKUP_DEST	"file:sealchat-backup?vfs=memdb"
#define STORE_HEADER_LEN	100	/* an SQLite file's header */

struct store {
	sqlite3		*db;
	sqlite3_stmt	*get;
	sqlite3_stmt	*add;
	sqlite3_stmt	*set;
	sqlite3_stmt	*count;
	sqlite3_stmt	*touch;
	sqlite3_stmt	*del;
	sqlite3_stmt	*lock;
	sqlite3_stmt	*list;
	sqlite3_stmt	*idget;
	sqlite3_stmt	*idset;
	sqlite3_stmt	*mcount;
	sqlite3_stmt	*madd;
	sqlite3_stmt	*mlist;
	sqlite3_stmt	*mdel;
	sqlite3_stmt	*mhas;
	sqlite3_stmt	*mold;
	sqlite3_stmt	*mdelseq;
	sqlite3_stmt	*mtotal;
};

/* A copy in progress: the source's pages into an in-memory database. */
struct store_backup {
	sqlite3		*dest;
	sqlite3_backup	*bk;
	unsigned char	*image;		/* the finished copy */
	size_t		 len;
};

static const char store_sql_get[] =
    "SELECT hash, locked FROM accounts WHERE name = ?1";
static const char store_sql_add[] =
    "INSERT INTO accounts (name, hash, created, last_login) "
    "VALUES (?1, ?2, ?3, ?4)";
static const char store_sql_set[] =
    "UPDATE accounts SET hash = ?2 WHERE name = ?1";
static const char store_sql_count[] =
    "SELECT count(*) FROM accounts";
static const char store_sql_touch[] =
    "UPDATE accounts SET last_login = ?2 WHERE name = ?1 AND locked = 0";
static const char store_sql_del[] =
    "DELETE FROM accounts WHERE name = ?1";
static const char store_sql_lock[] =
    "UPDATE accounts SET locked = ?2 WHERE name = ?1";
static const char store_sql_list[] =
    "SELECT name, created, last_login, locked FROM accounts "
    "WHERE name > ?1 ORDER BY name LIMIT ?2";
static const char store_sql_idget[] =
    "SELECT identity FROM accounts WHERE name = ?1";
static const char store_sql_idset[] =
    "UPDATE accounts SET identity = ?2 WHERE name = ?1";
static const char store_sql_mcount[] =
    "SELECT count(*), total(size) FROM mailbox WHERE recipient = ?1";
static const char store_sql_madd[] =
    "INSERT INTO mailbox (recipient, id, sender, sender_key, created, "
    "size, box) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char store_sql_mlist[] =
    "SELECT seq, id, sender, sender_key, created, box FROM mailbox "
    "WHERE recipient = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
static const char store_sql_mdel[] =
    "DELETE FROM mailbox WHERE recipient = ?1 AND id = ?2 "
    "RETURNING seq, sender, size";
static const char store_sql_mhas[] =
    "SELECT 1 FROM mailbox WHERE recipient = ?1 AND id = ?2";
static const char store_sql_mold[] =
    "SELECT seq, id, sender, recipient, created, size FROM mailbox "
    "WHERE created < ?1 ORDER BY created, seq LIMIT ?2";
static const char store_sql_mdelseq[] =
    "DELETE FROM mailbox WHERE seq = ?1";
static const char store_sql_mtotal[] =
    "SELECT count(*), total(size) FROM mailbox";

/*
 * The schema of a new file, and what turns version 1 into version 2 and
 * version 2 into version 3.
 */
static const char store_sql_schema[] =
    "CREATE TABLE IF NOT EXISTS accounts ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " hash TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " last_login INTEGER,"
    " locked INTEGER NOT NULL DEFAULT 0,"
    " identity BLOB)";
static const char store_sql_v2[] =
    "ALTER TABLE accounts ADD COLUMN last_login INTEGER;"
    "ALTER TABLE accounts ADD COLUMN locked INTEGER NOT NULL DEFAULT 0";
static const char store_sql_v3[] =
    "ALTER TABLE accounts ADD COLUMN identity BLOB";
/*
 * Version 4: the mailbox.  seq gives the order of storing (AUTOINCREMENT:
 * never reused, so a cursor past a deleted row stays right); the id is
 * the sender's, unique per recipient; size is the box's length.
 */
static const char store_sql_v4[] =
    "CREATE TABLE IF NOT EXISTS mailbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " recipient TEXT NOT NULL"
    "  REFERENCES accounts (name) ON DELETE CASCADE,"
    " id BLOB NOT NULL,"
    " sender TEXT NOT NULL,"
    " sender_key BLOB NOT NULL,"
    " created INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " box BLOB NOT NULL,"
    " UNIQUE (recipient, id));"
    "CREATE INDEX IF NOT EXISTS mailbox_order ON mailbox (recipient, seq);"
    "CREATE INDEX IF NOT EXISTS mailbox_age ON mailbox (created)";

/*
 * Gives a file root just made to the owner of its folder: the database of
 * a service is its user's, and sealchatctl run by root beside a stopped
 * daemon must not leave it a file it cannot open.  (SQLite does the same
 * for the -wal and -shm files it makes.)
 */
static void
store_chown_new(int fd, const char *path)
{
	struct stat	dir;
	char		folder[PATH_MAX];

	if (geteuid() != 0 || util_dirname(folder, sizeof folder, path) == -1 ||
	    stat(folder, &dir) == -1 || dir.st_uid == 0)
		return;
	if (fchown(fd, dir.st_uid, dir.st_gid) == -1)
		log_warn("store: path=%s chown to the folder's owner", path);
}

/* Creates the database file with mode 0600 unless it already exists. */
static int
store_create_file(const char *path, char *err, size_t errlen)
{
	struct stat	st;
	int		fd, made = 1;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
	    0600);
	if (fd == -1 && errno == EEXIST) {
		made = 0;
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	}
	if (fd == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	if (made)
		store_chown_new(fd, path);
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		log_warnx("store: path=%s mode=%04o "
		    "readable by group or others", path,
		    (unsigned int)(st.st_mode & 07777));
	close(fd);
	return (0);
}

/* Runs one statement that returns no rows we need. */
static int
store_exec(struct store *st, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", sql,
		    msg != NULL ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return (-1);
	}
	return (0);
}

/* Reads a single integer from a one-row query. */
static int
store_query_int(struct store *st, const char *sql, long long *out)
{
	sqlite3_stmt	*stmt = NULL;
	int		 ret = -1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(stmt) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int64(stmt, 0);
	ret = 0;
out:
	sqlite3_finalize(stmt);
	return (ret);
}

/* Runs PRAGMA journal_mode=WAL once; SQLITE_BUSY when another handle is in. */
static int
store_try_wal(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt		*stmt = NULL;
	const unsigned char	*mode;
	int			 rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &stmt,
	    NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "journal_mode=WAL: %s",
		    sqlite3_errmsg(st->db));
		goto out;
	}
	mode = sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		snprintf(err, errlen, "journal_mode=WAL refused (mode %s)",
		    mode != NULL ? (const char *)mode : "unknown");
		rc = SQLITE_ERROR;
	}
out:
	sqlite3_finalize(stmt);
	return (rc & 0xff);
}

/*
 * Switches the journal to WAL.  The switch needs the file to itself and
 * SQLite does not run the busy handler for it, so when several handles open
 * a new file at once the losers retry here, for as long as a busy timeout.
 */
static int
store_set_wal(struct store *st, char *err, size_t errlen)
{
	int	waited, rc;

	for (waited = 0; ; waited += 10) {
		rc = store_try_wal(st, err, errlen);
		if (rc == SQLITE_OK)
			return (0);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
		    waited >= STORE_BUSY_MS)
			return (-1);
		sqlite3_sleep(10);
	}
}

/*
 * Creates or checks the schema inside one immediate transaction, so that
 * several handles opening a new file at once agree: the first creates the
 * table and sets user_version, the others wait (busy timeout) and find it.
 */
static int
store_schema(struct store *st, char *err, size_t errlen)
{
	char		sql[64];
	long long	version;

	if (store_exec(st, "BEGIN IMMEDIATE", err, errlen) == -1)
		return (-1);
	if (store_query_int(st, "PRAGMA user_version", &version) == -1) {
		snprintf(err, errlen, "user_version: %s",
		    sqlite3_errmsg(st->db));
		goto fail;
	}
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %lld is newer than this "
		    "program's (%d)", version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (version < STORE_SCHEMA_VERSION) {
		if (version == 0 &&
		    store_exec(st, store_sql_schema, err, errlen) == -1)
			goto fail;
		if (version == 1 &&
		    store_exec(st, store_sql_v2, err, errlen) == -1)
			goto fail;
		if (version >= 1 && version <= 2 &&
		    store_exec(st, store_sql_v3, err, errlen) == -1)
			goto fail;
		if (store_exec(st, store_sql_v4, err, errlen) == -1)
			goto fail;
		if (version > 0)
			log_info("store: schema version %lld -> %d", version,
			    STORE_SCHEMA_VERSION);
		snprintf(sql, sizeof sql, "PRAGMA user_version=%d",
		    STORE_SCHEMA_VERSION);
		if (store_exec(st, sql, err, errlen) == -1)
			goto fail;
	}
	if (store_exec(st, "COMMIT", err, errlen) == -1)
		goto fail;
	return (0);
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return (-1);
}

/* Prepares one long-lived statement. */
static int
store_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
    char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    stmt, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", sql, sqlite3_errmsg(st->db));
		return (-1);
	}
	return (0);
}

/* Opens (and creates) the database, sets it up and prepares statements. */
struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*st;
	char		 msg[512];
	int		 flags;

	msg[0] = '\0';
	if ((st = calloc(1, sizeof *st)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return (NULL);
	}
	if (store_create_file(path, msg, sizeof msg) == -1)
		goto fail;
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		snprintf(msg, sizeof msg, "%s", st->db != NULL ?
		    sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if (store_set_wal(st, msg, sizeof msg) == -1)
		goto fail;
	if (store_exec(st, "PRAGMA synchronous=FULL", msg, sizeof msg) == -1 ||
	    store_exec(st, "PRAGMA foreign_keys=ON", msg, sizeof msg) == -1 ||
	    store_exec(st, "PRAGMA secure_delete=ON", msg, sizeof msg) == -1)
		goto fail;
	if (store_schema(st, msg, sizeof msg) == -1)
		goto fail;
	if (store_prepare(st, store_sql_get, &st->get, msg, sizeof msg) ||
	    store_prepare(st, store_sql_add, &st->add, msg, sizeof msg) ||
	    store_prepare(st, store_sql_set, &st->set, msg, sizeof msg) ||
	    store_prepare(st, store_sql_count, &st->count, msg, sizeof msg) ||
	    store_prepare(st, store_sql_touch, &st->touch, msg, sizeof msg) ||
	    store_prepare(st, store_sql_del, &st->del, msg, sizeof msg) ||
	    store_prepare(st, store_sql_lock, &st->lock, msg, sizeof msg) ||
	    store_prepare(st, store_sql_list, &st->list, msg, sizeof msg) ||
	    store_prepare(st, store_sql_idget, &st->idget, msg, sizeof msg) ||
	    store_prepare(st, store_sql_idset, &st->idset, msg, sizeof msg) ||
	    store_prepare(st, store_sql_mcount, &st->mcount, msg, sizeof msg) ||
	    store_prepare(st, store_sql_madd, &st->madd, msg, sizeof msg) ||
	    store_prepare(st, store_sql_mlist, &st->mlist, msg, sizeof msg) ||
	    store_prepare(st, store_sql_mdel, &st->mdel, msg, sizeof msg) ||
	    store_prepare(st, store_sql_mhas, &st->mhas, msg, sizeof msg) ||
	    store_prepare(st, store_sql_mold, &st->mold, msg, sizeof msg) ||
	    store_prepare(st, store_sql_mdelseq, &st->mdelseq, msg,
	    sizeof msg) ||
	    store_prepare(st, store_sql_mtotal, &st->mtotal, msg, sizeof msg))
		goto fail;
	return (st);
fail:
	snprintf(err, errlen, "database %s: %s", path, msg);
	store_free(st);
	return (NULL);
}

/*
 * Opens an existing database for reading only: no file is made, no
 * schema written, no lock waited for.  A file of another schema version
 * is refused.
 */
struct store *
store_open_read(const char *path, char *err, size_t errlen)
{
	struct store	*st;
	char		 msg[512];
	long long	 version;

	msg[0] = '\0';
	if ((st = calloc(1, sizeof *st)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return (NULL);
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(msg, sizeof msg, "%s", st->db != NULL ?
		    sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (store_query_int(st, "PRAGMA user_version", &version) == -1) {
		snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(st->db));
		goto fail;
	}
	if (version != STORE_SCHEMA_VERSION) {
		snprintf(msg, sizeof msg, "schema version %lld, not %d",
		    version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (store_prepare(st, store_sql_get, &st->get, msg, sizeof msg) ||
	    store_prepare(st, store_sql_count, &st->count, msg, sizeof msg) ||
	    store_prepare(st, store_sql_list, &st->list, msg, sizeof msg) ||
	    store_prepare(st, store_sql_idget, &st->idget, msg, sizeof msg) ||
	    store_prepare(st, store_sql_mtotal, &st->mtotal, msg, sizeof msg))
		goto fail;
	return (st);
fail:
	snprintf(err, errlen, "database %s: %s", path, msg);
	store_free(st);
	return (NULL);
}

/* Finalizes the statements and closes the handle. */
void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->get);
	sqlite3_finalize(st->add);
	sqlite3_finalize(st->set);
	sqlite3_finalize(st->count);
	sqlite3_finalize(st->touch);
	sqlite3_finalize(st->del);
	sqlite3_finalize(st->lock);
	sqlite3_finalize(st->list);
	sqlite3_finalize(st->idget);
	sqlite3_finalize(st->idset);
	sqlite3_finalize(st->mcount);
	sqlite3_finalize(st->madd);
	sqlite3_finalize(st->mlist);
	sqlite3_finalize(st->mdel);
	sqlite3_finalize(st->mhas);
	sqlite3_finalize(st->mold);
	sqlite3_finalize(st->mdelseq);
	sqlite3_finalize(st->mtotal);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(st->db));
	free(st);
}

/* Returns the length of a name fit for the store, or 0. */
static size_t
store_name_len(const char *name)
{
	size_t	len;

	if (name == NULL)
		return (0);
	len = strnlen(name, SC_NAME_MAX + 1);
	if (len > SC_NAME_MAX)
		return (0);
	return (len);
}

/* Returns the length of a hash string fit for the store, or 0. */
static size_t
store_hash_len(const char hash[SC_PWHASH_LEN])
{
	size_t	len;

	if (hash == NULL)
		return (0);
	len = strnlen(hash, SC_PWHASH_LEN);
	if (len == SC_PWHASH_LEN)
		return (0);
	return (len);
}

/* Resets a statement for its next use and drops its bindings. */
static void
store_reset(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Reads the stored hash of name, and whether the account is locked. */
int
store_get(struct store *st, const char *name, char hash[SC_PWHASH_LEN],
    int *locked)
{
	const unsigned char	*text;
	size_t			 nlen;
	int			 rc, n, ret = STORE_ERR;

	if ((nlen = store_name_len(name)) == 0)
		return (STORE_ERR);
	if (sqlite3_bind_text(st->get, 1, name, (int)nlen, SQLITE_STATIC) !=
	    SQLITE_OK)
		goto out;
	rc = sqlite3_step(st->get);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		log_warnx("store: get name=%s: %s", name,
		    sqlite3_errmsg(st->db));
		goto out;
	}
	text = sqlite3_column_text(st->get, 0);
	n = sqlite3_column_bytes(st->get, 0);
	if (text == NULL || n <= 0 || n >= SC_PWHASH_LEN) {
		log_warnx("store: get name=%s: stored hash malformed", name);
		goto out;
	}
	memset(hash, 0, SC_PWHASH_LEN);
	memcpy(hash, text, (size_t)n);
	if (locked != NULL)
		*locked = sqlite3_column_int(st->get, 1) != 0;
	ret = STORE_OK;
out:
	store_reset(st->get);
	return (ret);
}

/* Adds an account; STORE_EXISTS when the name is taken. */
int
store_add(struct store *st, const char *name, const char hash[SC_PWHASH_LEN],
    int login)
{
	sqlite3_int64	now = (sqlite3_int64)time(NULL);
	size_t		nlen, hlen;
	int		rc, xrc, ret = STORE_ERR;

	if (st->add == NULL || (nlen = store_name_len(name)) == 0 ||
	    (hlen = store_hash_len(hash)) == 0)
		return (STORE_ERR);
	if (sqlite3_bind_text(st->add, 1, name, (int)nlen, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st->add, 2, hash, (int)hlen, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(st->add, 3, now) != SQLITE_OK ||
	    (login ? sqlite3_bind_int64(st->add, 4, now) :
	    sqlite3_bind_null(st->add, 4)) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st->add);
	if (rc == SQLITE_DONE) {
		ret = STORE_OK;
		goto out;
	}
	xrc = sqlite3_extended_errcode(st->db);
	if (xrc == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    xrc == SQLITE_CONSTRAINT_UNIQUE) {
		ret = STORE_EXISTS;
		goto out;
	}
	log_warnx("store: add name=%s: %s", name, sqlite3_errmsg(st->db));
out:
	store_reset(st->add);
	return (ret);
}

/* Replaces the hash of an existing account. */
int
store_set(struct store *st, const char *name, const char hash[SC_PWHASH_LEN])
{
	size_t	nlen, hlen;
	int	ret = STORE_ERR;

	if (st->set == NULL || (nlen = store_name_len(name)) == 0 ||
	    (hlen = store_hash_len(hash)) == 0)
		return (STORE_ERR);
	if (sqlite3_bind_text(st->set, 1, name, (int)nlen, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st->set, 2, hash, (int)hlen, SQLITE_STATIC) !=
	    SQLITE_OK)
		goto out;
	if (sqlite3_step(st->set) != SQLITE_DONE) {
		log_warnx("store: set name=%s: %s", name,
		    sqlite3_errmsg(st->db));
		goto out;
	}
	ret = sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOTFOUND;
out:
	store_reset(st->set);
	return (ret);
}

/*
 * Runs a prepared UPDATE or DELETE on name (bound as ?1, then the
 * integer v as ?2 when the statement has it): STORE_OK when a row
 * changed, STORE_NOTFOUND when none did.
 */
static int
store_change(struct store *st, sqlite3_stmt *stmt, const char *what,
    const char *name, long long v)
{
	size_t	nlen;
	int	ret = STORE_ERR;

	if (stmt == NULL || (nlen = store_name_len(name)) == 0)
		return (STORE_ERR);
	if (sqlite3_bind_text(stmt, 1, name, (int)nlen, SQLITE_STATIC) !=
	    SQLITE_OK || (sqlite3_bind_parameter_count(stmt) > 1 &&
	    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)v) != SQLITE_OK))
		goto out;
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		log_warnx("store: %s name=%s: %s", what, name,
		    sqlite3_errmsg(st->db));
		goto out;
	}
	ret = sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOTFOUND;
out:
	store_reset(stmt);
	return (ret);
}

/*
 * Records a login now: STORE_OK, STORE_LOCKED when the account is locked
 * (nothing written), STORE_NOTFOUND when it is gone.  Not durable on
 * return (see the top of the file).
 */
int
store_touch(struct store *st, const char *name)
{
	char	hash[SC_PWHASH_LEN], err[128];
	int	locked = 0, rc;

	if (st->touch == NULL)
		return (STORE_ERR);
	if (store_exec(st, "PRAGMA synchronous=NORMAL", err, sizeof err) ==
	    -1) {
		log_warnx("store: %s", err);
		return (STORE_ERR);
	}
	rc = store_change(st, st->touch, "touch", name, (long long)time(NULL));
	if (store_exec(st, "PRAGMA synchronous=FULL", err, sizeof err) ==
	    -1) {
		log_warnx("store: %s", err);
		rc = STORE_ERR;
	}
	if (rc != STORE_NOTFOUND)
		return (rc);
	rc = store_get(st, name, hash, &locked);
	sc_wipe(hash, sizeof hash);
	if (rc == STORE_OK)
		return (locked ? STORE_LOCKED : STORE_ERR);
	return (rc);
}

/* Reads the identity key of name: STORE_NOTFOUND for no account or key. */
int
store_get_identity(struct store *st, const char *name,
    uint8_t key[SC_KEY_BYTES])
{
	int	rc;

	rc = store_mail_rcpt(st, name, key);
	return (rc == STORE_NOKEY ? STORE_NOTFOUND : rc);
}

/* Sets the identity key of name; *changed when it was another or none. */
int
store_set_identity(struct store *st, const char *name,
    const uint8_t key[SC_KEY_BYTES], int *changed)
{
	uint8_t	old[SC_KEY_BYTES];
	size_t	nlen;
	int	rc, ret = STORE_ERR;

	*changed = 0;
	if (st->idset == NULL || (nlen = store_name_len(name)) == 0)
		return (STORE_ERR);
	rc = store_get_identity(st, name, old);
	if (rc == STORE_OK && memcmp(old, key, SC_KEY_BYTES) == 0)
		return (STORE_OK);
	if (rc == STORE_ERR)
		return (STORE_ERR);
	if (sqlite3_bind_text(st->idset, 1, name, (int)nlen, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_blob(st->idset, 2, key, SC_KEY_BYTES,
	    SQLITE_STATIC) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st->idset) != SQLITE_DONE) {
		log_warnx("store: set identity name=%s: %s", name,
		    sqlite3_errmsg(st->db));
		goto out;
	}
	if (sqlite3_changes(st->db) == 0) {
		ret = STORE_NOTFOUND;
		goto out;
	}
	*changed = 1;
	ret = STORE_OK;
out:
	store_reset(st->idset);
	return (ret);
}

/* Deletes the account of name. */
int
store_del(struct store *st, const char *name)
{
	return (store_change(st, st->del, "delete", name, 0));
}

/* Locks (or unlocks) the account of name. */
int
store_lock(struct store *st, const char *name, int locked)
{
	return (store_change(st, st->lock, locked ? "lock" : "unlock", name,
	    locked ? 1 : 0));
}

/*
 * Hands cb the accounts after the name after (in byte order of the names),
 * at most limit of them.  Returns how many, or -1.
 */
int
store_list(struct store *st, const char *after, int limit,
    store_list_cb cb, void *arg)
{
	struct store_account	 a;
	const unsigned char	*text;
	int			 rc, n = 0, len;

	if (after == NULL || limit < 1 || sqlite3_bind_text(st->list, 1,
	    after, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int(st->list, 2, limit) != SQLITE_OK) {
		n = -1;
		goto out;
	}
	while ((rc = sqlite3_step(st->list)) == SQLITE_ROW) {
		memset(&a, 0, sizeof a);
		text = sqlite3_column_text(st->list, 0);
		len = sqlite3_column_bytes(st->list, 0);
		if (text == NULL || len < 1 || len > SC_NAME_MAX)
			continue;
		memcpy(a.name, text, (size_t)len);
		a.created = sqlite3_column_int64(st->list, 1);
		a.last_login = sqlite3_column_int64(st->list, 2);
		a.locked = sqlite3_column_int(st->list, 3) != 0;
		cb(&a, arg);
		n++;
	}
	if (rc != SQLITE_DONE) {
		log_warnx("store: list: %s", sqlite3_errmsg(st->db));
		n = -1;
	}
out:
	store_reset(st->list);
	return (n);
}

/* Sets how long a write waits for another writer's lock, in ms. */
void
store_set_busy(struct store *st, int ms)
{
	if (st != NULL)
		sqlite3_busy_timeout(st->db, ms);
}

/*
 * Whether name can get stored messages: STORE_OK with its identity key,
 * STORE_NOTFOUND when there is no such account, STORE_NOKEY when it has
 * registered no identity key.
 */
int
store_mail_rcpt(struct store *st, const char *name,
    uint8_t key[SC_KEY_BYTES])
{
	const void	*blob;
	size_t		 nlen;
	int		 rc, ret = STORE_ERR;

	if (st->idget == NULL || (nlen = store_name_len(name)) == 0)
		return (STORE_ERR);
	if (sqlite3_bind_text(st->idget, 1, name, (int)nlen, SQLITE_STATIC) !=
	    SQLITE_OK)
		goto out;
	rc = sqlite3_step(st->idget);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		log_warnx("store: identity name=%s: %s", name,
		    sqlite3_errmsg(st->db));
		goto out;
	}
	if (sqlite3_column_type(st->idget, 0) == SQLITE_NULL) {
		ret = STORE_NOKEY;
		goto out;
	}
	blob = sqlite3_column_blob(st->idget, 0);
	if (blob == NULL || sqlite3_column_bytes(st->idget, 0) !=
	    SC_KEY_BYTES) {
		log_warnx("store: identity name=%s: stored key malformed",
		    name);
		goto out;
	}
	memcpy(key, blob, SC_KEY_BYTES);
	ret = STORE_OK;
out:
	store_reset(st->idget);
	return (ret);
}

/* Two numbers of a one-row query: count and total size. */
static int
store_mail_sums(struct store *st, sqlite3_stmt *stmt, long long *msgs,
    long long *bytes)
{
	int	ret = -1;

	if (sqlite3_step(stmt) == SQLITE_ROW) {
		*msgs = sqlite3_column_int64(stmt, 0);
		*bytes = (long long)sqlite3_column_double(stmt, 1);
		ret = 0;
	} else
		log_warnx("store: mailbox count: %s", sqlite3_errmsg(st->db));
	store_reset(stmt);
	return (ret);
}

/* The messages and bytes queued for recipient. */
int
store_mail_count(struct store *st, const char *recipient, long long *msgs,
    long long *bytes)
{
	if (st->mcount == NULL || sqlite3_bind_text(st->mcount, 1, recipient,
	    -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return (-1);
	return (store_mail_sums(st, st->mcount, msgs, bytes));
}

/* The messages and bytes queued for everyone. */
int
store_mail_totals(struct store *st, long long *msgs, long long *bytes)
{
	if (st->mtotal == NULL)
		return (-1);
	return (store_mail_sums(st, st->mtotal, msgs, bytes));
}

/*
 * Stores m for its recipient in one immediate transaction, after checking
 * the recipient's bounds inside it, so that two senders cannot both take
 * the last place.  Durable when it returns STORE_OK; STORE_EXISTS when the
 * recipient already holds a message of that id (nothing written),
 * STORE_NOTFOUND when the account is gone, STORE_FULL or STORE_FULL_BYTES
 * when it would pass max_msgs or max_bytes.
 */
int
store_mail_add(struct store *st, const struct store_mail *m,
    long long max_msgs, long long max_bytes)
{
	char		err[256];
	long long	msgs, bytes;
	int		rc, ret = STORE_ERR;

	if (st->madd == NULL || store_name_len(m->recipient) == 0 ||
	    store_name_len(m->sender) == 0 || m->box == NULL)
		return (STORE_ERR);
	if (store_exec(st, "BEGIN IMMEDIATE", err, sizeof err) == -1) {
		log_warnx("store: mailbox: %s", err);
		return (STORE_ERR);
	}
	/* The same message again is stored, whatever the bounds say now. */
	if ((ret = store_mail_has(st, m->recipient, m->id)) != STORE_NOTFOUND)
		goto fail;
	ret = STORE_ERR;
	if (store_mail_count(st, m->recipient, &msgs, &bytes) == -1)
		goto fail;
	if (msgs >= max_msgs) {
		ret = STORE_FULL;
		goto fail;
	}
	if (bytes + (long long)m->box_len > max_bytes) {
		ret = STORE_FULL_BYTES;
		goto fail;
	}
	if (sqlite3_bind_text(st->madd, 1, m->recipient, -1,
	    SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_blob(st->madd, 2, m->id, SC_MAIL_ID_BYTES,
	    SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_text(st->madd, 3, m->sender, -1,
	    SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_blob(st->madd, 4, m->sender_key, SC_KEY_BYTES,
	    SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st->madd, 5, m->created) != SQLITE_OK ||
	    sqlite3_bind_int64(st->madd, 6, (sqlite3_int64)m->box_len) !=
	    SQLITE_OK ||
	    sqlite3_bind_blob(st->madd, 7, m->box, (int)m->box_len,
	    SQLITE_TRANSIENT) != SQLITE_OK)
		goto fail_reset;
	rc = sqlite3_step(st->madd);
	if (rc == SQLITE_CONSTRAINT_UNIQUE ||
	    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		ret = STORE_EXISTS;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = STORE_NOTFOUND;
	else if (rc != SQLITE_DONE)
		log_warnx("store: mailbox add: %s", sqlite3_errmsg(st->db));
	else
		ret = STORE_OK;
	store_reset(st->madd);
	if (ret != STORE_OK)
		goto fail;
	if (store_exec(st, "COMMIT", err, sizeof err) == -1) {
		log_warnx("store: mailbox: %s", err);
		ret = STORE_ERR;
		goto fail;
	}
	return (STORE_OK);
fail_reset:
	store_reset(st->madd);
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return (ret);
}

/* Whether recipient holds message id: STORE_EXISTS, STORE_NOTFOUND. */
int
store_mail_has(struct store *st, const char *recipient,
    const uint8_t id[SC_MAIL_ID_BYTES])
{
	int	rc, ret = STORE_ERR;

	if (st->mhas == NULL || sqlite3_bind_text(st->mhas, 1, recipient, -1,
	    SQLITE_TRANSIENT) != SQLITE_OK || sqlite3_bind_blob(st->mhas, 2,
	    id, SC_MAIL_ID_BYTES, SQLITE_TRANSIENT) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st->mhas);
	if (rc == SQLITE_ROW)
		ret = STORE_EXISTS;
	else if (rc == SQLITE_DONE)
		ret = STORE_NOTFOUND;
	else
		log_warnx("store: mailbox: %s", sqlite3_errmsg(st->db));
out:
	store_reset(st->mhas);
	return (ret);
}

/* Copies a blob column of exactly len bytes; -1 when it is not. */
static int
store_column_blob(sqlite3_stmt *stmt, int col, uint8_t *out, size_t len)
{
	const void	*p = sqlite3_column_blob(stmt, col);

	if (p == NULL || sqlite3_column_bytes(stmt, col) != (int)len)
		return (-1);
	memcpy(out, p, len);
	return (0);
}

/* Copies a name column; -1 when it is no name. */
static int
store_column_name(sqlite3_stmt *stmt, int col, char out[SC_NAME_MAX + 1])
{
	const unsigned char	*text = sqlite3_column_text(stmt, col);
	int			 len = sqlite3_column_bytes(stmt, col);

	if (text == NULL || len < 1 || len > SC_NAME_MAX)
		return (-1);
	memcpy(out, text, (size_t)len);
	out[len] = '\0';
	return (0);
}

/*
 * Hands cb the messages for recipient stored after seq after, in the
 * order they were stored, at most limit of them; how many, or -1.  The
 * box is valid during the call only.
 */
int
store_mail_list(struct store *st, const char *recipient, long long after,
    int limit, store_mail_cb cb, void *arg)
{
	struct store_mail	m;
	int			rc, n = 0;

	if (st->mlist == NULL || limit < 1 ||
	    sqlite3_bind_text(st->mlist, 1, recipient, -1,
	    SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st->mlist, 2, after) != SQLITE_OK ||
	    sqlite3_bind_int(st->mlist, 3, limit) != SQLITE_OK) {
		n = -1;
		goto out;
	}
	while ((rc = sqlite3_step(st->mlist)) == SQLITE_ROW) {
		memset(&m, 0, sizeof m);
		m.seq = sqlite3_column_int64(st->mlist, 0);
		m.created = sqlite3_column_int64(st->mlist, 4);
		m.box = sqlite3_column_blob(st->mlist, 5);
		m.box_len = (size_t)sqlite3_column_bytes(st->mlist, 5);
		if (store_column_blob(st->mlist, 1, m.id,
		    SC_MAIL_ID_BYTES) == -1 ||
		    store_column_name(st->mlist, 2, m.sender) == -1 ||
		    store_column_blob(st->mlist, 3, m.sender_key,
		    SC_KEY_BYTES) == -1 || m.box == NULL) {
			log_warnx("store: mailbox seq=%lld malformed", m.seq);
			continue;
		}
		snprintf(m.recipient, sizeof m.recipient, "%s", recipient);
		cb(&m, arg);
		n++;
	}
	if (rc != SQLITE_DONE) {
		log_warnx("store: mailbox list: %s", sqlite3_errmsg(st->db));
		n = -1;
	}
out:
	store_reset(st->mlist);
	return (n);
}

/*
 * Deletes recipient's message id (it was shown): STORE_OK with its seq,
 * sender and size in *m (no box), STORE_NOTFOUND when there is none, or
 * STORE_ERR.
 */
int
store_mail_del(struct store *st, const char *recipient,
    const uint8_t id[SC_MAIL_ID_BYTES], struct store_mail *m)
{
	int	rc, ret = STORE_ERR;

	memset(m, 0, sizeof *m);
	if (st->mdel == NULL || sqlite3_bind_text(st->mdel, 1, recipient, -1,
	    SQLITE_TRANSIENT) != SQLITE_OK || sqlite3_bind_blob(st->mdel, 2,
	    id, SC_MAIL_ID_BYTES, SQLITE_TRANSIENT) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st->mdel);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		log_warnx("store: mailbox delete: %s", sqlite3_errmsg(st->db));
		goto out;
	}
	m->seq = sqlite3_column_int64(st->mdel, 0);
	if (store_column_name(st->mdel, 1, m->sender) == -1)
		m->sender[0] = '\0';
	m->box_len = (size_t)sqlite3_column_int64(st->mdel, 2);
	memcpy(m->id, id, SC_MAIL_ID_BYTES);
	snprintf(m->recipient, sizeof m->recipient, "%s", recipient);
	/* The statement ends (and commits) only when stepped to its end. */
	while ((rc = sqlite3_step(st->mdel)) == SQLITE_ROW)
		;
	ret = rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
	if (ret == STORE_ERR)
		log_warnx("store: mailbox delete: %s", sqlite3_errmsg(st->db));
out:
	store_reset(st->mdel);
	return (ret);
}

/*
 * Deletes the messages stored before before (Unix seconds), at most limit
 * of them, the oldest first, in one transaction; cb learns each (its size,
 * not its box) after the commit.  Returns how many, or -1.
 */
int
store_mail_expire(struct store *st, long long before, int limit,
    store_mail_cb cb, void *arg)
{
	struct store_mail	 m[STORE_EXPIRE_MAX];
	char			 err[256];
	int			 rc, i, n = 0;

	if (st->mold == NULL || limit < 1)
		return (-1);
	if (limit > STORE_EXPIRE_MAX)
		limit = STORE_EXPIRE_MAX;
	if (store_exec(st, "BEGIN IMMEDIATE", err, sizeof err) == -1) {
		log_warnx("store: mailbox: %s", err);
		return (-1);
	}
	if (sqlite3_bind_int64(st->mold, 1, before) != SQLITE_OK ||
	    sqlite3_bind_int(st->mold, 2, limit) != SQLITE_OK) {
		store_reset(st->mold);
		goto fail;
	}
	while ((rc = sqlite3_step(st->mold)) == SQLITE_ROW) {
		memset(&m[n], 0, sizeof m[n]);
		m[n].seq = sqlite3_column_int64(st->mold, 0);
		m[n].created = sqlite3_column_int64(st->mold, 4);
		m[n].box_len = (size_t)sqlite3_column_int64(st->mold, 5);
		if (store_column_blob(st->mold, 1, m[n].id,
		    SC_MAIL_ID_BYTES) == -1 ||
		    store_column_name(st->mold, 2, m[n].sender) == -1 ||
		    store_column_name(st->mold, 3, m[n].recipient) == -1)
			log_warnx("store: mailbox seq=%lld malformed",
			    m[n].seq);
		n++;
	}
	store_reset(st->mold);
	if (rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < n; i++) {
		if (sqlite3_bind_int64(st->mdelseq, 1, m[i].seq) != SQLITE_OK ||
		    sqlite3_step(st->mdelseq) != SQLITE_DONE) {
			store_reset(st->mdelseq);
			goto fail;
		}
		store_reset(st->mdelseq);
	}
	if (store_exec(st, "COMMIT", err, sizeof err) == -1) {
		log_warnx("store: mailbox: %s", err);
		goto fail;
	}
	for (i = 0; i < n; i++)
		cb(&m[i], arg);
	return (n);
fail:
	log_warnx("store: mailbox expiry: %s", sqlite3_errmsg(st->db));
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return (-1);
}

/* Starts a consistent copy of the database (SQLite's online backup). */
struct store_backup *
store_backup_new(struct store *st)
{
	struct store_backup	*b;
	int			 flags;

	if ((b = calloc(1, sizeof *b)) == NULL)
		return (NULL);
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(STORE_BACKUP_DEST, &b->dest, flags, NULL) !=
	    SQLITE_OK) {
		log_warnx("store: backup: %s", b->dest != NULL ?
		    sqlite3_errmsg(b->dest) : "out of memory");
		goto fail;
	}
	if ((b->bk = sqlite3_backup_init(b->dest, "main", st->db,
	    "main")) == NULL) {
		log_warnx("store: backup: %s", sqlite3_errmsg(b->dest));
		goto fail;
	}
	return (b);
fail:
	store_backup_free(b);
	return (NULL);
}

/*
 * Copies up to pages more pages: 1 when the copy is complete (then
 * store_backup_image() has it), 0 when pages remain, -1 on failure.  A
 * write to the source between two steps makes the next step start over,
 * so that the copy is one consistent state.
 */
int
store_backup_step(struct store_backup *b, int pages)
{
	sqlite3_int64	len;
	int		rc;

	if (b->image != NULL)
		return (1);
	if (b->bk == NULL)
		return (-1);
	rc = sqlite3_backup_step(b->bk, pages);
	if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return (0);
	if (rc != SQLITE_DONE) {
		log_warnx("store: backup: %s", sqlite3_errstr(rc));
		return (-1);
	}
	(void)sqlite3_backup_finish(b->bk);
	b->bk = NULL;
	b->image = sqlite3_serialize(b->dest, "main", &len, 0);
	if (b->image == NULL || len < STORE_HEADER_LEN) {
		log_warnx("store: backup: cannot serialise the copy");
		return (-1);
	}
	b->len = (size_t)len;
	/*
	 * A copy is one file with no write-ahead log beside it: its header
	 * says so (the file format's read and write versions, 1 for a
	 * rollback journal, not 2 for WAL), so that it opens anywhere,
	 * even where no -wal or -shm file can be made.
	 */
	b->image[18] = 1;
	b->image[19] = 1;
	return (1);
}

/* The finished copy: a whole SQLite file of *len bytes, or NULL. */
const unsigned char *
store_backup_image(const struct store_backup *b, size_t *len)
{
	*len = b->image != NULL ? b->len : 0;
	return (b->image);
}

/* Drops a copy, finished or not; NULL-safe. */
void
store_backup_free(struct store_backup *b)
{
	if (b == NULL)
		return;
	if (b->bk != NULL)
		(void)sqlite3_backup_finish(b->bk);
	if (b->image != NULL) {
		sc_wipe(b->image, b->len);
		sqlite3_free(b->image);
	}
	if (b->dest != NULL)
		(void)sqlite3_close(b->dest);
	free(b);
}

/* Counts the accounts. */
long long
store_count(struct store *st)
{
	long long	n = -1;

	if (sqlite3_step(st->count) == SQLITE_ROW)
		n = sqlite3_column_int64(st->count, 0);
	else
		log_warnx("store: count: %s", sqlite3_errmsg(st->db));
	store_reset(st->count);
	return (n);
}

/* Runs PRAGMA quick_check; 0 when it reports "ok". */
int
store_check(struct store *st)
{
	sqlite3_stmt		*stmt = NULL;
	const unsigned char	*text;
	int			 rc, ret = -1, rows = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &stmt,
	    NULL) != SQLITE_OK) {
		log_warnx("store: quick_check: %s", sqlite3_errmsg(st->db));
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		text = sqlite3_column_text(stmt, 0);
		if (text == NULL || strcmp((const char *)text, "ok") != 0) {
			log_warnx("store: quick_check: %s",
			    text != NULL ? (const char *)text : "?");
			goto out;
		}
		rows++;
	}
	if (rc != SQLITE_DONE) {
		log_warnx("store: quick_check: %s", sqlite3_errmsg(st->db));
		goto out;
	}
	if (rows == 1)
		ret = 0;
out:
	sqlite3_finalize(stmt);
	return (ret);
}
