/* SPDX-License-Identifier: ISC */
/*
 * The mailbox: sealed messages waiting for users who are offline
 * (docs/protocol.md, section 12), kept through the store's mailbox calls.
 * A client seals a message to the recipient's identity key and hands it
 * over with STORE; the mailbox checks the bounds (per recipient, per
 * sender, by age), stores it durably and only then lets the session answer
 * QUEUED.  At the recipient's login it sends the messages in the order
 * they were stored, a window at a time, deletes each one acknowledged, and
 * tells its sender (when online) with STORENOTE; a timer deletes those
 * that waited longer than queue_max_age, and tells their senders too.
 *
 * It reaches members through the presence seam only, so it knows nothing
 * of sessions.  The daemon's loop calls it, and each write waits for the
 * disk (docs/architecture.md says why that is the trade made).
 */
#ifndef SEALCHATD_MAILBOX_H
#define SEALCHATD_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "sealchat/proto.h"
#include "config.h"
#include "metrics.h"
#include "presence.h"

/* Stored messages sent to one recipient before its acknowledgements. */
#define MAILBOX_WINDOW		16
/* Longest wait for another writer of the database, in ms. */
#define MAILBOX_BUSY_MS		250

struct mailbox;

/*
 * Opens the database at db_path for the mailbox and arms the expiry timer
 * on base.  conf is read at each use (a reload changes the bounds); the
 * counts go to m.  NULL with a message in err on failure.
 */
struct mailbox	*mailbox_new(struct event_base *, const struct server_conf *,
		    const char *db_path, struct presence *, struct metrics *,
		    char *err, size_t errlen);
void		 mailbox_free(struct mailbox *);	/* NULL-safe */
/*
 * RCPT: name's identity key when it may get stored messages: 0, else the
 * ERROR code (SC_ERR_OFFLINE for no such user, as PAIR answers;
 * SC_ERR_NO_MAILBOX when it has registered no identity key).
 */
int		 mailbox_rcpt(struct mailbox *, const char *name,
		    uint8_t key[SC_KEY_BYTES]);
/*
 * STORE from member from (its identity key is what the message is bound
 * to): checks the sender's rate and the recipient's bounds, stores the
 * box, and, when the recipient is online, sends it at once.  0 once the
 * message is durably stored (or was already, by its id), else the ERROR
 * code.
 */
int		 mailbox_store(struct mailbox *, struct presence_member *from,
		    const char *to, const uint8_t id[SC_MAIL_ID_BYTES],
		    const uint8_t *box, size_t len);
/* A member just logged in: its stored messages, from the first. */
void		 mailbox_login(struct mailbox *, struct presence_member *);
/*
 * STOREACK: the member has shown message id; it is deleted, its sender
 * told, and the next ones sent.  An id that is not one of the messages
 * sent to this session and waiting for an answer is ignored.
 */
void		 mailbox_ack(struct mailbox *, struct presence_member *,
		    const uint8_t id[SC_MAIL_ID_BYTES]);
/*
 * STOREKEEP: the member holds message id back (its sender's key is not
 * trusted, or the sender is ignored): it stays stored, comes again at the
 * next login, and the next ones are sent now.  Other ids are ignored.
 */
void		 mailbox_keep(struct mailbox *, struct presence_member *,
		    const uint8_t id[SC_MAIL_ID_BYTES]);
/* The member's session ends: its window goes (with or without a mailbox). */
void		 mailbox_leave(struct presence_member *);
/* Deletes what has waited too long now (the timer's work). */
void		 mailbox_expire(struct mailbox *);
/* Counts the queue again (an account, and its messages, deleted). */
void		 mailbox_recount(struct mailbox *);
/* Messages and bytes stored now, 0 for NULL. */
void		 mailbox_totals(const struct mailbox *, uint64_t *msgs,
		    uint64_t *bytes);

#endif
