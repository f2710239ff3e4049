/* SPDX-License-Identifier: ISC */
/*
 * Account store on SQLite.  One handle per thread (opened without SQLite's
 * own mutexes, since no handle is ever shared), statements prepared once per
 * handle, writes durable on return: WAL with synchronous=FULL.  The schema
 * version lives in PRAGMA user_version.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sealchat/log.h"
#include "store.h"

#define STORE_SCHEMA_VERSION	1
#define STORE_BUSY_MS		5000

struct store {
	sqlite3		*db;
	sqlite3_stmt	*get;
	sqlite3_stmt	*add;
	sqlite3_stmt	*set;
	sqlite3_stmt	*count;
};

static const char store_sql_get[] =
    "SELECT hash FROM accounts WHERE name = ?1";
static const char store_sql_add[] =
    "INSERT INTO accounts (name, hash, created) VALUES (?1, ?2, ?3)";
static const char store_sql_set[] =
    "UPDATE accounts SET hash = ?2 WHERE name = ?1";
static const char store_sql_count[] =
    "SELECT count(*) FROM accounts";

static const char store_sql_schema[] =
    "CREATE TABLE IF NOT EXISTS accounts ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " hash TEXT NOT NULL,"
    " created INTEGER NOT NULL)";

/* Creates the database file with mode 0600 unless it already exists. */
static int
store_create_file(const char *path, char *err, size_t errlen)
{
	struct stat	st;
	int		fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
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
		if (store_exec(st, store_sql_schema, err, errlen) == -1)
			goto fail;
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
	    store_prepare(st, store_sql_count, &st->count, msg, sizeof msg))
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

/* Reads the stored hash of name. */
int
store_get(struct store *st, const char *name, char hash[SC_PWHASH_LEN])
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
	ret = STORE_OK;
out:
	store_reset(st->get);
	return (ret);
}

/* Adds an account; STORE_EXISTS when the name is taken. */
int
store_add(struct store *st, const char *name, const char hash[SC_PWHASH_LEN])
{
	size_t	nlen, hlen;
	int	rc, xrc, ret = STORE_ERR;

	if ((nlen = store_name_len(name)) == 0 ||
	    (hlen = store_hash_len(hash)) == 0)
		return (STORE_ERR);
	if (sqlite3_bind_text(st->add, 1, name, (int)nlen, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st->add, 2, hash, (int)hlen, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(st->add, 3, (sqlite3_int64)time(NULL)) !=
	    SQLITE_OK)
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

	if ((nlen = store_name_len(name)) == 0 ||
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
