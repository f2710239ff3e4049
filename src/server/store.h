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
	STORE_NOKEY = 4,	/* the account has no identity key */
	STORE_FULL = 5,		/* the recipient has max_msgs queued */
	STORE_FULL_BYTES = 6,	/* the box would pass max_bytes */
};

/*
 * A sealed message waiting for its recipient (the mailbox).  The store
 * sees who sent it to whom, when, and how big it is; never what it says.
 */
struct store_mail {
	long long	 seq;		/* order of storing, never reused */
	uint8_t		 id[SC_MAIL_ID_BYTES];	/* the sender's */
	char		 sender[SC_NAME_MAX + 1];
	char		 recipient[SC_NAME_MAX + 1];
	uint8_t		 sender_key[SC_KEY_BYTES];	/* identity */
	long long	 created;	/* Unix time it was stored */
	const uint8_t	*box;		/* the sealed message */
	size_t		 box_len;
};

typedef void	(*store_mail_cb)(const struct store_mail *, void *arg);

/* Most messages store_mail_expire() deletes in one call. */
#define STORE_EXPIRE_MAX	64

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
 * store_get_identity, store_count, store_list, store_mail_totals and
 * backups work on such a handle.
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
/* How long a write waits for another writer's lock, in ms. */
void		 store_set_busy(struct store *, int ms);

/*
 * The mailbox: messages sealed to offline users (src/server/mailbox.c
 * keeps them through these calls).  Each write is durable on return.
 */
/*
 * STORE_OK with name's identity key when it may get stored messages,
 * STORE_NOTFOUND (no such account), STORE_NOKEY (no key registered),
 * STORE_ERR (the database failed, or holds a malformed key).
 */
int		 store_mail_rcpt(struct store *, const char *name,
		    uint8_t key[SC_KEY_BYTES]);
/*
 * Stores m unless the recipient already holds max_msgs messages
 * (STORE_FULL) or max_bytes with it (STORE_FULL_BYTES); STORE_EXISTS for
 * an id the recipient holds already (before the bounds are looked at),
 * STORE_NOTFOUND for no account.  m->seq is not read.
 */
int		 store_mail_add(struct store *, const struct store_mail *m,
		    long long max_msgs, long long max_bytes);
/* Whether recipient holds message id: STORE_EXISTS or STORE_NOTFOUND. */
int		 store_mail_has(struct store *, const char *recipient,
		    const uint8_t id[SC_MAIL_ID_BYTES]);
/* Calls cb for recipient's messages after seq after, in order; count. */
int		 store_mail_list(struct store *, const char *recipient,
		    long long after, int limit, store_mail_cb, void *arg);
/* Deletes recipient's message id; STORE_OK with its seq and sender. */
int		 store_mail_del(struct store *, const char *recipient,
		    const uint8_t id[SC_MAIL_ID_BYTES], struct store_mail *);
/* Deletes up to limit messages stored before before; cb for each. */
int		 store_mail_expire(struct store *, long long before, int limit,
		    store_mail_cb, void *arg);
/* Messages and box bytes queued for recipient, or for everyone. */
int		 store_mail_count(struct store *, const char *recipient,
		    long long *msgs, long long *bytes);
int		 store_mail_totals(struct store *, long long *msgs,
		    long long *bytes);
/* Number of accounts, or -1. */
long long	 store_count(struct store *);
/* Runs PRAGMA quick_check; 0 when the database is sound. */
int		 store_check(struct store *);

#endif
