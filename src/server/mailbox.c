/* SPDX-License-Identifier: ISC */
/*
 * The mailbox (mailbox.h): bounds, durable storing, ordered delivery with
 * acknowledgements, expiry, on the store's mailbox calls.
 *
 * Order and once-only: a member's window is the seq of the last message
 * sent to it and the count not yet acknowledged.  The next messages are
 * read after that seq, so they go out in the order they were stored, and a
 * message is sent at most once per session; a session that ends before
 * its acknowledgement leaves the message stored, and the next login
 * starts again from the first.  The client remembers the ids it has shown,
 * so a message sent again is acknowledged without being shown twice.
 *
 * The rate: each sender has a bucket of queue_rate messages, refilled at
 * queue_rate a minute, in a fixed table of MAILBOX_BUCKETS slots picked
 * by a keyed hash of the sender's name (a key drawn at start), so that a
 * new login does not refill it and the table never grows; two senders
 * whose names fall in one slot share its bucket, which only makes their
 * bound stricter.
 *
 * The counts (metrics and status) are kept here as messages come and go,
 * and counted again from the store at start and when an account goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "mailbox.h"
#include "store.h"

/* Batches of expired messages deleted per tick of the timer. */
#define MAILBOX_EXPIRE_BATCHES	8
/* Slots of the senders' rate buckets (16 bytes each). */
#define MAILBOX_BUCKETS		16384
/* Bytes of a STORED from a sender of name_len bytes with a box of len. */
#define MAILBOX_STORED_LEN(name_len, len)				\
	(1 + SC_MAIL_ID_BYTES + 1 + (name_len) + SC_KEY_BYTES + 8 + 2 + (len))
/* The bucket's unit: a message is this many tokens, a minute's refill. */
#define MAILBOX_TOKEN		60000ULL

/* A sender's rate: tokens in 1/MAILBOX_TOKEN of a message. */
struct mailbox_bucket {
	uint64_t	tokens;
	uint64_t	refill_ms;	/* 0: never used, full */
};

struct mailbox {
	struct event_base		*base;
	const struct server_conf	*conf;
	struct presence			*presence;
	struct metrics			*m;
	struct store			*st;
	struct event			*expire_ev;
	struct wbuf			 enc;	/* one message at a time */
	uint64_t			 msgs;
	uint64_t			 bytes;
	struct presence_member		*to;	/* of mailbox_send_cb */
	uint8_t				 key[SC_KEY_BYTES];	/* slots */
	struct mailbox_bucket		 buckets[MAILBOX_BUCKETS];
};

static void	mailbox_expire_cb(evutil_socket_t, short, void *);

/* Seconds between two runs of the expiry: a quarter of the age, 1 to 60. */
static void
mailbox_expire_arm(struct mailbox *mb)
{
	struct timeval	tv;
	long long	sec = mb->conf->queue_max_age / 4;

	if (sec < 1)
		sec = 1;
	if (sec > 60)
		sec = 60;
	tv.tv_sec = (time_t)sec;
	tv.tv_usec = 0;
	event_add(mb->expire_ev, &tv);
}

/* Opens the store for the mailbox and counts what waits. */
struct mailbox *
mailbox_new(struct event_base *base, const struct server_conf *conf,
    const char *db_path, struct presence *presence, struct metrics *m,
    char *err, size_t errlen)
{
	struct mailbox	*mb;

	if ((mb = calloc(1, sizeof(*mb))) == NULL) {
		snprintf(err, errlen, "mailbox: out of memory");
		return (NULL);
	}
	mb->base = base;
	mb->conf = conf;
	mb->presence = presence;
	mb->m = m;
	sc_random(mb->key, sizeof(mb->key));
	wbuf_init(&mb->enc);
	if ((mb->st = store_open(db_path, err, errlen)) == NULL)
		goto fail;
	store_set_busy(mb->st, MAILBOX_BUSY_MS);
	if ((mb->expire_ev = evtimer_new(base, mailbox_expire_cb,
	    mb)) == NULL) {
		snprintf(err, errlen, "mailbox: out of memory");
		goto fail;
	}
	mailbox_recount(mb);
	mailbox_expire_arm(mb);
	if (mb->msgs > 0)
		log_info("mailbox: messages=%llu bytes=%llu waiting",
		    (unsigned long long)mb->msgs,
		    (unsigned long long)mb->bytes);
	return (mb);
fail:
	mailbox_free(mb);
	return (NULL);
}

/* Closes the store and the timer. */
void
mailbox_free(struct mailbox *mb)
{
	if (mb == NULL)
		return;
	if (mb->expire_ev != NULL)
		event_free(mb->expire_ev);
	store_free(mb->st);
	wbuf_free(&mb->enc);
	sc_wipe(mb->key, sizeof(mb->key));
	free(mb);
}

/* Copies the counts into the figures. */
static void
mailbox_gauges(struct mailbox *mb)
{
	if (mb->m == NULL)
		return;
	mb->m->queued_messages = mb->msgs;
	mb->m->queued_bytes = mb->bytes;
}

/* Counts the queue from the store. */
void
mailbox_recount(struct mailbox *mb)
{
	long long	msgs, bytes;

	if (mb == NULL)
		return;
	if (store_mail_totals(mb->st, &msgs, &bytes) == -1) {
		log_warnx("mailbox: cannot count the stored messages");
		return;
	}
	mb->msgs = msgs > 0 ? (uint64_t)msgs : 0;
	mb->bytes = bytes > 0 ? (uint64_t)bytes : 0;
	mailbox_gauges(mb);
}

/* One message less in the counts. */
static void
mailbox_gone(struct mailbox *mb, size_t len)
{
	if (mb->msgs > 0)
		mb->msgs--;
	mb->bytes = mb->bytes > len ? mb->bytes - len : 0;
	mailbox_gauges(mb);
}

/* The counts, for the figures. */
void
mailbox_totals(const struct mailbox *mb, uint64_t *msgs, uint64_t *bytes)
{
	*msgs = mb != NULL ? mb->msgs : 0;
	*bytes = mb != NULL ? mb->bytes : 0;
}

/* Tells the sender of a message, if online, what became of it. */
static void
mailbox_note(struct mailbox *mb, const struct store_mail *sm, uint8_t event)
{
	struct presence_member	*m;

	if (sm->sender[0] == '\0' ||
	    (m = presence_lookup(mb->presence, sm->sender)) == NULL)
		return;
	wbuf_reset(&mb->enc);
	wire_enc_storenote(&mb->enc, event, sm->recipient, sm->id);
	if (!mb->enc.oom)
		(void)presence_send(mb->presence, m, mb->enc.data,
		    mb->enc.len);
	wbuf_reset(&mb->enc);
}

/* RCPT: the recipient's identity key, or why not. */
int
mailbox_rcpt(struct mailbox *mb, const char *name, uint8_t key[SC_KEY_BYTES])
{
	if (mb == NULL)
		return (SC_ERR_INTERNAL);
	switch (store_mail_rcpt(mb->st, name, key)) {
	case STORE_OK:
		return (0);
	case STORE_NOTFOUND:
		return (SC_ERR_OFFLINE);
	case STORE_NOKEY:
		return (SC_ERR_NO_MAILBOX);
	default:
		return (SC_ERR_INTERNAL);
	}
}

/* The bucket of sender name: its slot by the keyed hash of the name. */
static struct mailbox_bucket *
mailbox_bucket(struct mailbox *mb, const char *name)
{
	struct sc_hash_part	part = { name, strlen(name) };
	uint8_t			h[SC_KEY_BYTES];

	if (sc_hash(h, mb->key, &part, 1) != 0)
		return (&mb->buckets[0]);	/* one shared: still bounded */
	return (&mb->buckets[util_get_be64(h) % MAILBOX_BUCKETS]);
}

/*
 * Takes one message from the sender's bucket: 0, or -1 when it is empty.
 * The bucket holds queue_rate messages and refills at that a minute.
 */
static int
mailbox_rate_take(struct mailbox *mb, const char *sender)
{
	struct mailbox_bucket	*b = mailbox_bucket(mb, sender);
	uint64_t		 now = util_now_ms(), rate, full;

	rate = (uint64_t)mb->conf->queue_rate;
	full = rate * MAILBOX_TOKEN;
	if (b->refill_ms == 0)
		b->tokens = full;
	else if (now > b->refill_ms)
		b->tokens += (now - b->refill_ms) * rate;
	if (b->tokens > full)
		b->tokens = full;
	b->refill_ms = now;
	if (b->tokens < MAILBOX_TOKEN)
		return (-1);
	b->tokens -= MAILBOX_TOKEN;
	return (0);
}

/* Sends one stored message to the member whose window is being filled. */
static void
mailbox_send_cb(const struct store_mail *sm, void *arg)
{
	struct mailbox		*mb = arg;
	struct presence_member	*m = mb->to;

	if (m == NULL || !m->joined)
		return;
	wbuf_reset(&mb->enc);
	wire_enc_stored(&mb->enc, sm->id, sm->sender, sm->sender_key,
	    sm->created > 0 ? (uint64_t)sm->created : 0, sm->box,
	    sm->box_len);
	if (mb->enc.oom) {
		/* A row this program would not have written. */
		log_warnx("mailbox: seq=%lld for user=%s cannot be sent",
		    sm->seq, m->name);
		wbuf_reset(&mb->enc);
		m->mail_seq = sm->seq;
		return;
	}
	if (m->mail_ids == NULL && (m->mail_ids = calloc(MAILBOX_WINDOW,
	    SC_MAIL_ID_BYTES)) == NULL) {
		log_warnx("mailbox: out of memory for user=%s", m->name);
		wbuf_reset(&mb->enc);
		mb->to = NULL;
		return;
	}
	memcpy(m->mail_ids + (size_t)m->mail_inflight * SC_MAIL_ID_BYTES,
	    sm->id, SC_MAIL_ID_BYTES);
	m->mail_seq = sm->seq;
	m->mail_inflight++;
	if (presence_send(mb->presence, m, mb->enc.data, mb->enc.len) != 0)
		mb->to = NULL;	/* the member left */
	wbuf_reset(&mb->enc);
}

/* Fills the member's window with its next stored messages. */
static void
mailbox_pump(struct mailbox *mb, struct presence_member *m)
{
	int	room;

	if (!m->joined || m->mail_inflight >= MAILBOX_WINDOW)
		return;
	room = (int)(MAILBOX_WINDOW - m->mail_inflight);
	mb->to = m;
	if (store_mail_list(mb->st, m->name, m->mail_seq, room,
	    mailbox_send_cb, mb) == -1)
		log_warnx("mailbox: cannot read the messages of user=%s",
		    m->name);
	mb->to = NULL;
}

/* STORE: bounds, then the durable write; delivery when online. */
int
mailbox_store(struct mailbox *mb, struct presence_member *from,
    const char *to, const uint8_t id[SC_MAIL_ID_BYTES], const uint8_t *box,
    size_t len)
{
	struct store_mail	 sm;
	struct presence_member	*rm;
	uint8_t			 key[SC_KEY_BYTES];
	int			 rc, code;

	if (mb == NULL)
		return (SC_ERR_INTERNAL);
	if (!from->has_idkey)
		return (SC_ERR_NO_IDENTITY);
	if ((code = mailbox_rcpt(mb, to, key)) != 0)
		goto refused;
	/* Its STORED must fit in a frame of the recipient's (max_frame). */
	if (MAILBOX_STORED_LEN(strlen(from->name), len) + SC_MAC_BYTES >
	    (size_t)mb->conf->max_frame) {
		code = SC_ERR_QUEUE_BYTES;
		goto refused;
	}
	/* A STORE sent again (its QUEUED was lost) is answered QUEUED. */
	if (store_mail_has(mb->st, to, id) == STORE_EXISTS) {
		log_debug("mailbox: from=%s to=%s stored already", from->name,
		    to);
		return (0);
	}
	if (mailbox_rate_take(mb, from->name) != 0) {
		code = SC_ERR_QUEUE_RATE;
		goto refused;
	}
	memset(&sm, 0, sizeof(sm));
	memcpy(sm.id, id, SC_MAIL_ID_BYTES);
	snprintf(sm.sender, sizeof(sm.sender), "%s", from->name);
	snprintf(sm.recipient, sizeof(sm.recipient), "%s", to);
	memcpy(sm.sender_key, from->idkey, SC_KEY_BYTES);
	sm.created = (long long)time(NULL);
	sm.box = box;
	sm.box_len = len;
	rc = store_mail_add(mb->st, &sm, mb->conf->queue_max_messages,
	    mb->conf->queue_max_bytes);
	switch (rc) {
	case STORE_OK:
		mb->msgs++;
		mb->bytes += len;
		mailbox_gauges(mb);
		if (mb->m != NULL)
			mb->m->queue_stored++;
		log_info("mailbox: stored from=%s to=%s bytes=%zu",
		    from->name, to, len);
		break;
	case STORE_EXISTS:
		/* The same message again: it is stored. */
		log_debug("mailbox: from=%s to=%s stored already", from->name,
		    to);
		return (0);
	case STORE_NOTFOUND:
		code = SC_ERR_OFFLINE;
		goto refused;
	case STORE_FULL:
		code = SC_ERR_QUEUE_FULL;
		goto refused;
	case STORE_FULL_BYTES:
		code = SC_ERR_QUEUE_BYTES;
		goto refused;
	default:
		code = SC_ERR_INTERNAL;
		goto refused;
	}
	if ((rm = presence_lookup(mb->presence, to)) != NULL)
		mailbox_pump(mb, rm);
	return (0);
refused:
	if (mb->m != NULL)
		mb->m->queue_refused++;
	log_info("mailbox: refused from=%s to=%s code=%d", from->name, to,
	    code);
	return (code);
}

/* A login: the member's stored messages, from the first. */
void
mailbox_login(struct mailbox *mb, struct presence_member *m)
{
	if (mb == NULL)
		return;
	m->mail_seq = 0;
	m->mail_inflight = 0;
	mailbox_pump(mb, m);
}

/*
 * Takes id out of the member's window: 0, or -1 when it is not a message
 * sent to this session and waiting for its answer.
 */
static int
mailbox_window_take(struct presence_member *m,
    const uint8_t id[SC_MAIL_ID_BYTES])
{
	uint32_t	i, last;

	for (i = 0; i < m->mail_inflight; i++) {
		if (!sc_memeq(m->mail_ids + (size_t)i * SC_MAIL_ID_BYTES, id,
		    SC_MAIL_ID_BYTES))
			continue;
		last = m->mail_inflight - 1;
		memmove(m->mail_ids + (size_t)i * SC_MAIL_ID_BYTES,
		    m->mail_ids + (size_t)last * SC_MAIL_ID_BYTES,
		    SC_MAIL_ID_BYTES);
		m->mail_inflight = last;
		return (0);
	}
	return (-1);
}

/* STOREKEEP: the member holds message id back; the next ones come. */
void
mailbox_keep(struct mailbox *mb, struct presence_member *m,
    const uint8_t id[SC_MAIL_ID_BYTES])
{
	if (mb == NULL)
		return;
	if (mailbox_window_take(m, id) != 0) {
		log_debug("mailbox: user=%s kept nothing sent", m->name);
		return;
	}
	log_debug("mailbox: user=%s holds a message back", m->name);
	mailbox_pump(mb, m);
}

/* A session's end: its window goes. */
void
mailbox_leave(struct presence_member *m)
{
	free(m->mail_ids);
	m->mail_ids = NULL;
	m->mail_inflight = 0;
}

/* STOREACK: delete, tell the sender, send the next. */
void
mailbox_ack(struct mailbox *mb, struct presence_member *m,
    const uint8_t id[SC_MAIL_ID_BYTES])
{
	struct store_mail	sm;

	if (mb == NULL)
		return;
	if (mailbox_window_take(m, id) != 0) {
		/* Nothing sent waits for it: no write for a client's whim. */
		log_debug("mailbox: user=%s acknowledged nothing sent",
		    m->name);
		return;
	}
	switch (store_mail_del(mb->st, m->name, id, &sm)) {
	case STORE_OK:
		mailbox_gone(mb, sm.box_len);
		if (mb->m != NULL)
			mb->m->queue_delivered++;
		log_info("mailbox: delivered from=%s to=%s", sm.sender,
		    m->name);
		mailbox_note(mb, &sm, SC_NOTE_DELIVERED);
		break;
	case STORE_NOTFOUND:
		log_debug("mailbox: user=%s acknowledged an unknown id",
		    m->name);
		break;
	default:
		log_warnx("mailbox: cannot delete a message of user=%s",
		    m->name);
		break;
	}
	mailbox_pump(mb, m);
}

/* One expired message: out of the counts, its sender told. */
static void
mailbox_expired_cb(const struct store_mail *sm, void *arg)
{
	struct mailbox	*mb = arg;

	mailbox_gone(mb, sm->box_len);
	if (mb->m != NULL)
		mb->m->queue_expired++;
	log_info("mailbox: expired from=%s to=%s", sm->sender, sm->recipient);
	mailbox_note(mb, sm, SC_NOTE_EXPIRED);
}

/* Deletes the messages older than queue_max_age, a few batches a run. */
void
mailbox_expire(struct mailbox *mb)
{
	long long	before;
	int		i, n;

	if (mb == NULL || mb->msgs == 0)
		return;
	before = (long long)time(NULL) - mb->conf->queue_max_age;
	for (i = 0; i < MAILBOX_EXPIRE_BATCHES; i++) {
		n = store_mail_expire(mb->st, before, STORE_EXPIRE_MAX,
		    mailbox_expired_cb, mb);
		if (n < STORE_EXPIRE_MAX)
			break;
	}
}

/* The expiry timer: delete, then arm again (the age may have changed). */
static void
mailbox_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailbox	*mb = arg;

	(void)fd;
	(void)what;
	mailbox_expire(mb);
	mailbox_expire_arm(mb);
}
