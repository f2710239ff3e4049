/* SPDX-License-Identifier: ISC */
/*
 * Account store: the one interface behind which accounts live.  SQLite is
 * the backend (store.c is the only file that includes sqlite3.h).  Each
 * thread that uses the store opens its own handle; handles are not shared
 * between threads.  Writes are durable when they return (WAL,
 * synchronous=FULL), except the time of a login (store_touch).
 */
#ifndef SEALCHATD_STORE_H
#define SEALCHATD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"

enum store_status {
	STORE_ERR = -1,
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_EXISTS = 2,
	STORE_LOCKED = 3,
};

/* One account as store_list() shows it (never its hash). */
struct store_account {
	char		name[SC_NAME_MAX + 1];
	long long	created;	/* Unix time */
	long long	last_login;	/* Unix time, 0: never */
	int		locked;
};

typedef void	(*store_list_cb)(const struct store_account *, void *arg);

struct store;
struct store_backup;

/*
 * Opens (and on first use creates, with the schema) the database at path.
 * On failure returns NULL with a message in err.
 */
struct store	*store_open(const char *path, char *err, size_t errlen);
/*
 * Opens an existing database of this schema for reading only: nothing is
 * created or written, no write lock is ever waited for.  Only store_get,
 * store_get_identity, store_count, store_list and backups work on such a
 * handle.
 */
struct store	*store_open_read(const char *path, char *err, size_t errlen);
void		 store_free(struct store *);	/* NULL-safe */
/*
 * Reads the stored hash of name (canonical), and, when locked is not
 * NULL, whether the account is locked.
 */
int		 store_get(struct store *, const char *name,
		    char hash[SC_PWHASH_LEN], int *locked);
/*
 * Adds an account; STORE_EXISTS when the name is taken (UNIQUE).  With
 * login set, its last login is now (a sign-up logs the user in).
 */
int		 store_add(struct store *, const char *name,
		    const char hash[SC_PWHASH_LEN], int login);
/* Replaces the hash of an existing account (cost upgrade on login). */
int		 store_set(struct store *, const char *name,
		    const char hash[SC_PWHASH_LEN]);
/*
 * Records a successful login now, unless the account is locked:
 * STORE_OK, STORE_LOCKED (nothing written), STORE_NOTFOUND or STORE_ERR.
 * Not durable on return: a power loss may forget it.
 */
int		 store_touch(struct store *, const char *name);
/*
 * The user's identity public key (docs/protocol.md, IDENTITY), the only
 * key the server keeps of a user: STORE_NOTFOUND when there is no such
 * account or it has registered none.
 */
int		 store_get_identity(struct store *, const char *name,
		    uint8_t key[SC_KEY_BYTES]);
/*
 * Sets it, replacing the key of another device; *changed is set when the
 * account had none or another.  STORE_NOTFOUND when there is no account.
 */
int		 store_set_identity(struct store *, const char *name,
		    const uint8_t key[SC_KEY_BYTES], int *changed);
/* Deletes an account: STORE_OK, STORE_NOTFOUND or STORE_ERR. */
int		 store_del(struct store *, const char *name);
/* Locks (locked 1) or unlocks (0) an account; as store_del(). */
int		 store_lock(struct store *, const char *name, int locked);
/*
 * Calls cb for the accounts whose names come after after ("" for the
 * first), in byte order, at most limit of them; returns how many, or -1.
 * A caller pages through with the last name it saw.
 */
int		 store_list(struct store *, const char *after, int limit,
		    store_list_cb cb, void *arg);
/*
 * A consistent copy of the whole database while others write, made in
 * memory by SQLite's online backup: store_backup_step() copies a few
 * pages at a time (so that a caller on an event loop can spread it over
 * turns) until it returns 1; store_backup_image() is then the bytes of a
 * complete SQLite file.  The store must outlive the copy.
 */
struct store_backup *store_backup_new(struct store *);
int		 store_backup_step(struct store_backup *, int pages);
const unsigned char *store_backup_image(const struct store_backup *,
		    size_t *len);
void		 store_backup_free(struct store_backup *);	/* NULL-safe */
/* Number of accounts, or -1. */
long long	 store_count(struct store *);
/* Runs PRAGMA quick_check; 0 when the database is sound. */
int		 store_check(struct store *);

#endif
