/* SPDX-License-Identifier: ISC */
/*
 * Account store: the one interface behind which accounts live.  SQLite is
 * the backend (store.c is the only file that includes sqlite3.h).  Each
 * thread that uses the store opens its own handle; handles are not shared
 * between threads.  Writes are durable when they return (WAL,
 * synchronous=FULL).
 */
#ifndef SEALCHATD_STORE_H
#define SEALCHATD_STORE_H

#include <stddef.h>

#include "sealchat/crypto.h"

enum store_status {
	STORE_ERR = -1,
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_EXISTS = 2,
};

struct store;

/*
 * Opens (and on first use creates, with the schema) the database at path.
 * On failure returns NULL with a message in err.
 */
struct store	*store_open(const char *path, char *err, size_t errlen);
void		 store_free(struct store *);	/* NULL-safe */
/* Reads the stored hash of name (canonical). */
int		 store_get(struct store *, const char *name,
		    char hash[SC_PWHASH_LEN]);
/* Adds an account; STORE_EXISTS when the name is taken (UNIQUE). */
int		 store_add(struct store *, const char *name,
		    const char hash[SC_PWHASH_LEN]);
/* Replaces the hash of an existing account (cost upgrade on login). */
int		 store_set(struct store *, const char *name,
		    const char hash[SC_PWHASH_LEN]);
/* Number of accounts, or -1. */
long long	 store_count(struct store *);
/* Runs PRAGMA quick_check; 0 when the database is sound. */
int		 store_check(struct store *);

#endif
