/* SPDX-License-Identifier: ISC */
/*
 * One client connection (docs/protocol.md, sections 2, 3 and 7).
 *
 * Input: bytes are read into an evbuffer that never holds more than one
 * maximal frame (117 bytes during the handshake), so a client cannot make
 * the server buffer more than that; every frame length is checked before
 * anything is allocated for it.  At most SESSION_FRAMES_PER_WAKE frames are
 * handled per wake-up; if more wait, the read event is made active again
 * without reading, so that the sessions already waiting run first.
 *
 * Output: every message is sealed straight into the output evbuffer as one
 * frame (space reserved in place, no copy of the ciphertext).  Sessions
 * with output join the set's write queue, written by one priority-0 event
 * after the callbacks already running: one write per session and loop
 * turn.  Output beyond output_cap drops the session (GOODBYE 4), so a
 * slow reader costs bounded memory.  What counts is the output waiting here
 * plus what the kernel still holds for the client (SIOCOUTQ, read after
 * each write), so the kernel's send buffer is no hiding place.  A USERS
 * list is the one exception: the list just queued does not count against
 * the cap until it drains.
 *
 * Timers: one per session.  Before login it is an absolute deadline,
 * never extended: first hello_timeout for the HELLO, then the rest of
 * login_timeout counted from the accept; once online it is the keepalive
 * timeout, re-armed (a common timeout, O(1)) whenever frames arrive; while
 * closing it bounds the final flush.
 *
 * Logins: a SIGN or AUTH asks the throttle first, which counts it as an
 * attempt of its address (and, for AUTH, as a failure until it succeeds)
 * and says how long it must wait; the job then goes to the hash pool with
 * that wait, its password in the pool's guarded memory.  A session that
 * closes meanwhile withdraws its job, and its attempt stays counted: a
 * client that asks and hangs up has failed.
 *
 * Closing: once the last output (a GOODBYE or REJECT) is written, the
 * write side is shut down and input is read and dropped until the client
 * closes, within the same bound.  Closing at once while unread input
 * waits would make the kernel send a reset, which can destroy the GOODBYE
 * still on its way.
 *
 * Figures: every session counts into the environment's struct metrics
 * (frames and bytes each way, logins and sign-ups by result, the waits
 * after failures, presence events delivered), and the set keeps the
 * number of sessions in each state for it.
 *
 * Lifetime: a closed session is unlinked from everything at once (roster,
 * pairs, throttle, id tree, events, socket) and freed later by the set's
 * reap event, so no callback ever runs on freed memory, and a hash result
 * that arrives for it finds no session by its id.
 *
 * The encode buffer: every session of the set encodes its answers into the
 * set's one wbuf (enc), so that no session holds a buffer of its own.  The
 * rule that keeps it sound: session_enc() empties enc and hands it out for
 * exactly one message, which session_send_enc() seals at once and empties
 * again; nothing that runs in between may encode.  Sealing never encodes
 * (the GOODBYE of a session dropped for its output cap is built on the
 * stack), and presence and pair keys encode into buffers of their own, so a
 * send that drops its session or reaches other sessions leaves enc alone.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <linux/sockios.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "sealchat/crypto.h"
#include "sealchat/handshake.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "mailbox.h"
#include "metrics.h"
#include "throttle.h"
#include "pairkey.h"
#include "presence.h"
#include "session.h"

#define SESSION_FRAMES_PER_WAKE	32
#define SESSION_READS_PER_WAKE	16
#define SESSION_LINGER_SEC	2	/* bound on the final flush */

enum session_state {
	SESSION_HANDSHAKE = 0,	/* waiting for HELLO */
	SESSION_GREETED,	/* CONFIRM sent; SIGN or AUTH may come */
	SESSION_HASHING,	/* a SIGN or AUTH is delayed or being hashed */
	SESSION_ONLINE,		/* logged in */
	SESSION_CLOSING,	/* flushing its last output, then gone */
};

enum session_flag {
	SF_UNAUTH = 0x01,	/* counted among the unauthenticated */
	SF_CHANNEL = 0x02,	/* channel keys made: frames are sealed */
	SF_WRITEQ = 0x04,	/* in the set's write queue */
	SF_DEAD = 0x08,		/* unlinked; waiting to be freed */
	SF_BULK = 0x10,		/* queuing a USERS list: cap after it */
	SF_SHUTWR = 0x20,	/* output done, FIN sent, waiting for EOF */
	SF_COUNTED = 0x40,	/* counted among its address's sessions */
	SF_ATTEMPT = 0x80,	/* a login attempt the throttle counts */
};

struct session {
	RB_ENTRY(session)	 entry;		/* the set's id tree */
	TAILQ_ENTRY(session)	 qentry;	/* write queue or dead list */
	struct session_set	*set;
	uint64_t		 id;
	int			 fd;
	uint8_t			 state;		/* session_state */
	uint8_t			 flags;		/* session_flag */
	uint8_t			 att_op;	/* the attempt: SIGN or AUTH */
	char			 att_name[SC_NAME_MAX + 1];
	int			 job;		/* its hash job, or -1 */
	uint64_t		 accept_ms;
	size_t			 outq;		/* in the kernel, last seen */
	struct throttle_slot	 idle;		/* while no HELLO yet */
	struct event		 rd_ev;
	struct event		 wr_ev;
	struct event		 tm_ev;
	struct evbuffer		*in;
	struct evbuffer		*out;
	size_t			 bulk_left;	/* USERS bytes queued */
	struct sc_channel	 ch;
	struct throttle_addr	 la;		/* observed peer address */
	struct presence_member	 pm;
	struct udp_reg		 reg;		/* after its first UDP */
	uint64_t		 login_time;	/* Unix time, once online */
	uint64_t		 active_ms;	/* last request but PING */
	uint8_t			 bar;		/* ERROR for the login */
};

RB_HEAD(session_tree, session);
TAILQ_HEAD(session_list, session);

struct session_set {
	struct session_env	 env;
	size_t			 max_frame;	/* fixed when made */
	struct session_tree	 tree;		/* open sessions, by id */
	struct session_list	 writeq;	/* with output to write */
	struct session_list	 dead;		/* closed, to be freed */
	size_t			 count;		/* open */
	size_t			 unauth;	/* open, not logged in */
	size_t			 nstate[SESSION_STATES];
	struct metrics		*m;		/* env's, or own */
	struct metrics		 own;
	uint64_t		 next_id;
	struct event		*write_ev;	/* writes writeq */
	struct event		*reap_ev;	/* frees dead */
	void			(*empty)(void *); /* the last one closed */
	void			*empty_arg;

	/*
	 * Session timeouts: libevent common timeouts (O(1) re-arming) when
	 * it has some left, else plain ones (the *_buf).
	 */
	const struct timeval	*tv_hello;
	const struct timeval	*tv_keepalive;
	const struct timeval	*tv_linger;
	struct timeval		 tv_hello_buf;
	struct timeval		 tv_keepalive_buf;
	struct timeval		 tv_linger_buf;

	struct wbuf		 enc;		/* the encode buffer */
	uint8_t			*plain;		/* max_frame bytes */
};

/* Orders sessions by id. */
static int
session_cmp(const struct session *a, const struct session *b)
{
	if (a->id != b->id)
		return (a->id < b->id ? -1 : 1);
	return (0);
}

RB_GENERATE_INTERNAL(session_tree, session, entry, session_cmp,
    __attribute__((unused)) static)

typedef void	(*session_handler_fn)(struct session *,
		    const struct sc_msg *);

static void	session_on_cred(struct session *, const struct sc_msg *);
static void	session_on_list(struct session *, const struct sc_msg *);
static void	session_on_udp(struct session *, const struct sc_msg *);
static void	session_on_pair(struct session *, const struct sc_msg *);
static void	session_on_ping(struct session *, const struct sc_msg *);
static void	session_on_logout(struct session *, const struct sc_msg *);
static void	session_on_recheck(struct session *, const struct sc_msg *);
static void	session_on_identity(struct session *, const struct sc_msg *);
static void	session_on_rcpt(struct session *, const struct sc_msg *);
static void	session_on_store(struct session *, const struct sc_msg *);
static void	session_on_storeack(struct session *, const struct sc_msg *);
static void	session_on_storekeep(struct session *, const struct sc_msg *);

#define S(st)	(1U << (st))

/*
 * Every message a client may send, with the states that accept it.  The
 * payload is fully checked (wire_msg_decode) before the state and before
 * the handler; a type not in this table ends the session.
 */
static const struct session_handler {
	uint8_t			type;
	unsigned		states;
	session_handler_fn	fn;
} session_handlers[] = {
	{ SC_MSG_SIGN, S(SESSION_GREETED), session_on_cred },
	{ SC_MSG_AUTH, S(SESSION_GREETED), session_on_cred },
	{ SC_MSG_LIST, S(SESSION_ONLINE), session_on_list },
	{ SC_MSG_UDP, S(SESSION_ONLINE), session_on_udp },
	{ SC_MSG_PAIR, S(SESSION_ONLINE), session_on_pair },
	{ SC_MSG_PING, S(SESSION_GREETED) | S(SESSION_HASHING) |
	    S(SESSION_ONLINE), session_on_ping },
	{ SC_MSG_LOGOUT, S(SESSION_GREETED) | S(SESSION_HASHING) |
	    S(SESSION_ONLINE), session_on_logout },
	{ SC_MSG_RECHECK, S(SESSION_ONLINE), session_on_recheck },
	{ SC_MSG_IDENTITY, S(SESSION_ONLINE), session_on_identity },
	{ SC_MSG_RCPT, S(SESSION_ONLINE), session_on_rcpt },
	{ SC_MSG_STORE, S(SESSION_ONLINE), session_on_store },
	{ SC_MSG_STOREACK, S(SESSION_ONLINE), session_on_storeack },
	{ SC_MSG_STOREKEEP, S(SESSION_ONLINE), session_on_storekeep },
};

/* Name of a state for log lines and metrics. */
const char *
session_state_name(int st)
{
	static const char *const names[] = {
		[SESSION_HANDSHAKE] = "handshake",
		[SESSION_GREETED] = "greeted",
		[SESSION_HASHING] = "hashing",
		[SESSION_ONLINE] = "online",
		[SESSION_CLOSING] = "closing",
	};

	if (st < 0 || st > SESSION_CLOSING)
		return ("unknown");
	return (names[st]);
}

/* The one place a session changes state. */
static void
session_enter_state(struct session *s, enum session_state st)
{
	log_debug("session sid=%llu state %s -> %s",
	    (unsigned long long)s->id, session_state_name(s->state),
	    session_state_name(st));
	s->set->nstate[s->state]--;
	s->set->nstate[st]++;
	s->state = (uint8_t)st;
}

/* The owner of a presence member. */
static struct session *
session_of(struct presence_member *m)
{
	return ((struct session *)(void *)((char *)m -
	    offsetof(struct session, pm)));
}

/* Puts the session in the write queue (written after current callbacks). */
static void
session_want_write(struct session *s)
{
	if (s->flags & (SF_WRITEQ | SF_DEAD))
		return;
	s->flags |= SF_WRITEQ;
	TAILQ_INSERT_TAIL(&s->set->writeq, s, qentry);
	event_active(s->set->write_ev, EV_TIMEOUT, 0);
}

/* Gives back the unauthenticated slot (login done or session gone). */
static void
session_unauth_release(struct session *s)
{
	if (!(s->flags & SF_UNAUTH))
		return;
	s->flags &= (uint8_t)~SF_UNAUTH;
	throttle_unauth_del(s->set->env.throttle, &s->la);
	s->set->unauth--;
}

/*
 * Ends the session's login attempt in the throttle with outcome, if one is
 * counted; the hash job is forgotten (withdrawn first when the client is
 * gone).
 */
static void
session_attempt_end(struct session *s, enum throttle_outcome outcome)
{
	struct session_env	*env = &s->set->env;

	if (!(s->flags & SF_ATTEMPT))
		return;
	s->flags &= (uint8_t)~SF_ATTEMPT;
	if (outcome == THROTTLE_GONE && s->job >= 0 && env->withdraw != NULL)
		env->withdraw(env->hash_arg, s->job, s->id);
	s->job = -1;
	throttle_login_end(env->throttle, &s->la, s->att_op, s->att_name,
	    outcome, util_now_ms());
}

/*
 * Unlinks the session from everything other sessions can see: its login
 * attempt ends (its hash job withdrawn), its UDP registration ends, its
 * pairs die, its user goes offline, its throttle counts are returned.
 * Idempotent.
 */
static void
session_detach(struct session *s)
{
	struct session_env	*env = &s->set->env;

	session_attempt_end(s, THROTTLE_GONE);
	throttle_idle_del(env->throttle, &s->idle);
	udp_reg_del(env->udp, &s->reg);
	mailbox_leave(&s->pm);
	if (s->pm.joined) {
		pairkey_forget(env->pairkey, &s->pm);
		presence_leave(env->presence, &s->pm);
		log_info("offline sid=%llu user=%s",
		    (unsigned long long)s->id, s->pm.name);
	}
	session_unauth_release(s);
	if (s->flags & SF_COUNTED) {
		s->flags &= (uint8_t)~SF_COUNTED;
		throttle_session_del(env->throttle, &s->la);
	}
}

/*
 * Final step: the socket is closed and the session put on the dead list.
 * The memory is freed by the reap event, after the running callback.
 */
static void
session_finish(struct session *s)
{
	struct session_set	*set = s->set;

	if (s->flags & SF_DEAD)
		return;
	session_detach(s);
	if (s->state != SESSION_CLOSING)
		session_enter_state(s, SESSION_CLOSING);
	if (s->flags & SF_WRITEQ) {
		TAILQ_REMOVE(&set->writeq, s, qentry);
		s->flags &= (uint8_t)~SF_WRITEQ;
	}
	s->flags |= SF_DEAD;
	event_del(&s->rd_ev);
	event_del(&s->wr_ev);
	event_del(&s->tm_ev);
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	sc_channel_wipe(&s->ch);
	RB_REMOVE(session_tree, &set->tree, s);
	set->count--;
	set->nstate[s->state]--;
	TAILQ_INSERT_TAIL(&set->dead, s, qentry);
	event_active(set->reap_ev, EV_TIMEOUT, 0);
	log_debug("session sid=%llu closed sessions=%zu",
	    (unsigned long long)s->id, set->count);
	if (set->empty != NULL && set->count == 0)
		set->empty(set->empty_arg);
}

/* Ends a session whose peer is gone: nothing more can be sent. */
static void
session_lost(struct session *s, const char *why)
{
	if (s->flags & SF_DEAD)
		return;
	if (s->pm.joined || s->state != SESSION_HANDSHAKE)
		log_info("close sid=%llu user=%s reason=%s",
		    (unsigned long long)s->id,
		    s->pm.joined ? s->pm.name : "-", why);
	else
		log_debug("close sid=%llu reason=%s",
		    (unsigned long long)s->id, why);
	session_finish(s);
}

/*
 * Seals one message into the output as one frame, reserving the space in
 * the evbuffer so the ciphertext is written in place.  No state or cap
 * check; returns 0 or -1.
 */
static int
session_seal(struct session *s, const uint8_t *msg, size_t len)
{
	struct evbuffer_iovec	iov;
	uint8_t			*p;
	size_t			 body = len + SC_MAC_BYTES;

	if (!(s->flags & SF_CHANNEL) || (s->flags & SF_DEAD) || len == 0)
		return (-1);
	if (body > s->set->max_frame) {
		log_warnx("session sid=%llu message type=0x%02x len=%zu over "
		    "max_frame", (unsigned long long)s->id, msg[0], len);
		return (-1);
	}
	if (evbuffer_reserve_space(s->out, (ev_ssize_t)(SC_FRAME_HDR + body),
	    &iov, 1) < 1 || iov.iov_len < SC_FRAME_HDR + body)
		return (-1);
	p = iov.iov_base;
	wire_frame_header(p, (uint32_t)body);
	if (sc_channel_seal(&s->ch, p + SC_FRAME_HDR, msg, len) != 0)
		return (-1);
	iov.iov_len = SC_FRAME_HDR + body;
	if (evbuffer_commit_space(s->out, &iov, 1) != 0)
		return (-1);
	s->set->m->frames_out++;
	session_want_write(s);
	return (0);
}

/*
 * Starts closing: an optional GOODBYE, then the session is detached at
 * once (its user announced offline), reads stop, and the output is given
 * SESSION_LINGER_SEC to drain before the socket closes.
 */
static void
session_close_with(struct session *s, uint8_t bye, const char *why)
{
	uint8_t	msg[2];

	if (s->state == SESSION_CLOSING || (s->flags & SF_DEAD))
		return;
	if (bye != 0 && (s->flags & SF_CHANNEL)) {
		msg[0] = SC_MSG_GOODBYE;
		msg[1] = bye;
		(void)session_seal(s, msg, sizeof(msg));
	}
	log_info("close sid=%llu user=%s reason=%s",
	    (unsigned long long)s->id, s->pm.joined ? s->pm.name : "-", why);
	session_detach(s);
	event_del(&s->rd_ev);
	session_enter_state(s, SESSION_CLOSING);
	evbuffer_drain(s->in, evbuffer_get_length(s->in));
	event_add(&s->tm_ev, s->set->tv_linger);
	session_want_write(s);
}

/*
 * Drops the session if its output is over the cap: what waits here plus
 * what the kernel held at the last write.
 */
static int
session_check_cap(struct session *s)
{
	long long	cap = s->set->env.conf->output_cap;
	size_t		pending;

	if (s->state == SESSION_CLOSING || (s->flags & SF_DEAD))
		return (-1);
	pending = evbuffer_get_length(s->out) + s->outq;
	if (pending <= (size_t)cap + s->bulk_left)
		return (0);
	log_info("session sid=%llu output over cap pending=%zu kernel=%zu "
	    "cap=%lld", (unsigned long long)s->id, pending, s->outq, cap);
	session_close_with(s, SC_BYE_SLOW, "output cap");
	return (-1);
}

/* Sends one message to a live session; -1 when it could not (or dropped). */
static int
session_send(struct session *s, const uint8_t *msg, size_t len)
{
	if (s->state == SESSION_CLOSING || (s->flags & SF_DEAD))
		return (-1);
	if (session_seal(s, msg, len) != 0) {
		session_lost(s, "cannot queue output");
		return (-1);
	}
	if (s->flags & SF_BULK)
		return (0);
	return (session_check_cap(s));
}

/* The encode buffer, emptied, for one message (see the rule above). */
static struct wbuf *
session_enc(struct session *s)
{
	wbuf_reset(&s->set->enc);
	return (&s->set->enc);
}

/* Sends the message in the encode buffer and empties it. */
static int
session_send_enc(struct session *s)
{
	struct wbuf	*wb = &s->set->enc;
	int		 rc = -1;

	if (!wb->oom)
		rc = session_send(s, wb->data, wb->len);
	wbuf_reset(wb);
	return (rc);
}

/* Sends ERROR for a request; subject only for PAIR, RCPT and STORE. */
static void
session_error(struct session *s, uint8_t req, uint8_t code,
    const char *subject)
{
	wire_enc_error(session_enc(s), req, code, subject);
	(void)session_send_enc(s);
}

/*
 * Delivery callback of presence: a message for a member's session.  The
 * events of a PRESENCE message (u8 event, str8 name each) are counted.
 */
int
session_deliver(struct presence_member *m, const uint8_t *msg, size_t len,
    void *arg)
{
	struct session	*s = session_of(m);
	size_t		 off, n = 0;

	(void)arg;
	if (session_send(s, msg, len) != 0)
		return (-1);
	if (msg[0] == SC_MSG_PRESENCE) {
		for (off = 1; off + 2 <= len; off += 2 + (size_t)msg[off + 1])
			n++;
		s->set->m->presence_deliveries += n;
	}
	return (0);
}

/*
 * Sends a USERS list through presence.  The list does not count against
 * the output cap while it drains (bulk_left), but what was queued before
 * it does, and so does everything after.
 */
static void
session_send_users(struct session *s, uint8_t flags)
{
	size_t	before, after;
	long	rc;

	before = evbuffer_get_length(s->out);
	s->flags |= SF_BULK;
	rc = presence_send_users(s->set->env.presence, &s->pm, flags);
	s->flags &= (uint8_t)~SF_BULK;
	if (rc < 0 || s->state == SESSION_CLOSING)
		return;
	after = evbuffer_get_length(s->out);
	s->bulk_left = after > before ? after - before : 0;
	(void)session_check_cap(s);
}

/*
 * The last output is written: send FIN and wait (bounded by the linger
 * timer) for the client to close, reading and dropping what it still sends.
 */
static void
session_linger(struct session *s)
{
	if (s->flags & SF_SHUTWR)
		return;
	s->flags |= SF_SHUTWR;
	if (shutdown(s->fd, SHUT_WR) != 0 || event_add(&s->rd_ev, NULL) != 0)
		session_finish(s);
}

/* While lingering: drops input until end of file, then closes. */
static void
session_discard(struct session *s)
{
	uint8_t	buf[4096];
	ssize_t	n;
	int	i;

	for (i = 0; i < SESSION_READS_PER_WAKE; i++) {
		n = recv(s->fd, buf, sizeof(buf), 0);
		if (n > 0)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			session_finish(s);
		return;
	}
}

/* What the kernel still holds to send on the socket (0 if unknown). */
static size_t
session_kernel_queue(const struct session *s)
{
	int	n = 0;

	if (ioctl(s->fd, SIOCOUTQ, &n) == -1 || n < 0)
		return (0);
	return ((size_t)n);
}

/*
 * Writes what the kernel takes; arms the write event for the rest.  Then
 * looks at what the kernel holds, which counts against the output cap.
 */
static void
session_output(struct session *s)
{
	size_t	len;
	int	n;

	if (s->flags & SF_DEAD)
		return;
	len = evbuffer_get_length(s->out);
	if (len > 0) {
		n = evbuffer_write(s->out, s->fd);
		if (n > 0)
			s->set->m->bytes_out += (uint64_t)n;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			session_lost(s, errno == EPIPE || errno == ECONNRESET ?
			    "peer gone" : "write error");
			return;
		}
		len = evbuffer_get_length(s->out);
		s->outq = session_kernel_queue(s);
		if (s->bulk_left > len + s->outq)
			s->bulk_left = len + s->outq;
		if (s->state != SESSION_CLOSING &&
		    session_check_cap(s) != 0)
			len = evbuffer_get_length(s->out);
	}
	if (len > 0) {
		if (!event_pending(&s->wr_ev, EV_WRITE, NULL))
			event_add(&s->wr_ev, NULL);
		return;
	}
	event_del(&s->wr_ev);
	if (s->state == SESSION_CLOSING)
		session_linger(s);
}

/* The socket can take more output. */
static void
session_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_output(arg);
}

/* Writes every session in the write queue, after the running callbacks. */
static void
session_set_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session_set	*set = arg;
	struct session		*s;

	(void)fd;
	(void)what;
	while ((s = TAILQ_FIRST(&set->writeq)) != NULL) {
		TAILQ_REMOVE(&set->writeq, s, qentry);
		s->flags &= (uint8_t)~SF_WRITEQ;
		session_output(s);
	}
}

/*
 * After the HELLO: the login deadline, login_timeout from the accept (the
 * HELLO's own deadline ran from there too).
 */
static void
session_arm_login_deadline(struct session *s)
{
	struct timeval	tv;
	uint64_t	end, now = util_now_ms();

	end = s->accept_ms + (uint64_t)s->set->env.conf->login_timeout * 1000;
	end = end > now ? end - now : 0;
	tv.tv_sec = (time_t)(end / 1000);
	tv.tv_usec = (suseconds_t)((end % 1000) * 1000);
	event_add(&s->tm_ev, &tv);
}

/*
 * Answers a bad HELLO with a plaintext REJECT, then closes.  A REJECT 2
 * (the client pins another key) carries our public key, which is no
 * secret, so that the client can show both fingerprints as ssh does.
 */
static void
session_reject(struct session *s, uint8_t reason)
{
	uint8_t	frame[HANDSHAKE_REJECT_KEY_FRAME];
	size_t	len = HANDSHAKE_REJECT_FRAME;

	if (reason == SC_REJECT_KEY) {
		handshake_reject_key(frame, s->set->env.kp->pk);
		len = HANDSHAKE_REJECT_KEY_FRAME;
	} else
		handshake_reject(frame, reason);
	log_info("handshake sid=%llu rejected reason=%u",
	    (unsigned long long)s->id, reason);
	if (evbuffer_add(s->out, frame, len) != 0) {
		session_lost(s, "out of memory");
		return;
	}
	s->set->m->frames_out++;
	session_close_with(s, 0, "handshake rejected");
}

/*
 * HELLO: opens the sealed box, makes the channel, and answers CONFIRM
 * (E_s, then WELCOME sealed as server frame 0).
 */
static void
session_on_hello(struct session *s, const uint8_t *body, size_t len)
{
	const struct server_conf	*c = s->set->env.conf;
	struct evbuffer_iovec		 iov;
	struct wbuf			*wb;
	uint8_t				 e_pk[SC_KEY_BYTES], *p;
	size_t				 body_len;
	int				 rc;

	rc = handshake_server(&s->ch, e_pk, s->set->env.kp, body, len);
	if (rc == -SC_REJECT_VERSION) {
		session_reject(s, SC_REJECT_VERSION);
		return;
	}
	if (rc != 0) {
		session_reject(s, SC_REJECT_KEY);
		return;
	}
	s->flags |= SF_CHANNEL;

	wb = session_enc(s);
	wire_enc_welcome(wb, (uint32_t)s->set->max_frame,
	    (uint16_t)c->keepalive_interval, (uint16_t)c->keepalive_timeout);
	if (wb->oom)
		goto fail;
	body_len = HANDSHAKE_CONFIRM_LEN(wb->len);
	if (evbuffer_reserve_space(s->out, (ev_ssize_t)(SC_FRAME_HDR +
	    body_len), &iov, 1) < 1 || iov.iov_len < SC_FRAME_HDR + body_len)
		goto fail;
	p = iov.iov_base;
	wire_frame_header(p, (uint32_t)body_len);
	if (handshake_confirm(p + SC_FRAME_HDR, &s->ch, e_pk, wb->data,
	    wb->len) != 0)
		goto fail;
	iov.iov_len = SC_FRAME_HDR + body_len;
	if (evbuffer_commit_space(s->out, &iov, 1) != 0)
		goto fail;
	s->set->m->frames_out++;
	wbuf_reset(wb);
	session_enter_state(s, SESSION_GREETED);
	throttle_idle_del(s->set->env.throttle, &s->idle);
	session_arm_login_deadline(s);
	session_want_write(s);
	return;
fail:
	wbuf_reset(wb);
	session_lost(s, "cannot answer handshake");
}

/* Finds the handler of a client message type. */
static const struct session_handler *
session_handler_find(uint8_t type)
{
	size_t	i;

	for (i = 0; i < sizeof(session_handlers) /
	    sizeof(session_handlers[0]); i++) {
		if (session_handlers[i].type == type)
			return (&session_handlers[i]);
	}
	return (NULL);
}

/*
 * One encrypted frame: open, decode, check the state, dispatch.  Anything
 * that does not open or decode ends the session without an answer.
 */
static void
session_on_frame(struct session *s, const uint8_t *body, size_t len)
{
	uint8_t				*plain = s->set->plain;
	const struct session_handler	*h;
	struct sc_msg			 m;
	size_t				 plen;
	uint8_t				 code;
	int				 rc;

	if (len < SC_MAC_BYTES + 1) {
		session_lost(s, "short frame");
		return;
	}
	plen = len - SC_MAC_BYTES;
	if (sc_channel_open(&s->ch, plain, body, len) != 0) {
		session_lost(s, "frame did not open");
		return;
	}
	if ((h = session_handler_find(plain[0])) == NULL) {
		session_lost(s, "unexpected message type");
		goto out;
	}
	if ((rc = wire_msg_decode(&m, plain, plen)) != WIRE_MSG_OK) {
		if (rc == WIRE_MSG_BAD_PASS)
			code = SC_ERR_BAD_PASS;
		else if (rc == WIRE_MSG_BAD_NAME)
			code = SC_ERR_BAD_NAME;
		else {
			session_lost(s, "malformed message");
			goto out;
		}
		if (!(h->states & S(s->state)))
			code = SC_ERR_STATE;
		else
			metrics_login(s->set->m, h->type, code);
		session_error(s, h->type, code, NULL);
		goto out;
	}
	if (!(h->states & S(s->state))) {
		log_debug("session sid=%llu type=0x%02x not allowed state=%s",
		    (unsigned long long)s->id, h->type,
		    session_state_name((enum session_state)s->state));
		session_error(s, h->type, SC_ERR_STATE,
		    h->type == SC_MSG_PAIR || h->type == SC_MSG_RCPT ||
		    h->type == SC_MSG_STORE ? m.name : NULL);
		goto out;
	}
	if (h->type != SC_MSG_PING)
		s->active_ms = util_now_ms();
	h->fn(s, &m);
out:
	sc_wipe(&m, sizeof(m));
	sc_wipe(plain, plen);
}

/*
 * Answers a SIGN or AUTH that cannot be taken now: ERROR 5, counted in the
 * figures as busy and under its reason.
 */
static void
session_busy(struct session *s, const struct sc_msg *m, const char *why,
    uint64_t *counter)
{
	log_info("login busy sid=%llu user=%s reason=%s",
	    (unsigned long long)s->id, m->name, why);
	(*counter)++;
	metrics_login(s->set->m, m->type, SC_ERR_BUSY);
	session_error(s, m->type, SC_ERR_BUSY, NULL);
}

/*
 * SIGN or AUTH: a SIGN is refused at once when sign-up is closed.  Else
 * the throttle counts the attempt and says how long it must wait (failed
 * logins slow it), then the hash pool holds it for that long and hashes
 * it off the loop.
 */
static void
session_on_cred(struct session *s, const struct sc_msg *m)
{
	struct session_env	*env = &s->set->env;
	struct metrics		*mt = s->set->m;
	enum throttle_verdict	 v;
	uint64_t		 wait;

	if (m->type == SC_MSG_SIGN && env->conf->sign_up ==
	    SERVER_SIGNUP_CLOSED) {
		log_info("sign-up refused sid=%llu user=%s reason=closed",
		    (unsigned long long)s->id, m->name);
		metrics_login(mt, m->type, SC_ERR_CLOSED);
		session_error(s, m->type, SC_ERR_CLOSED, NULL);
		return;
	}
	v = throttle_login_begin(env->throttle, &s->la, m->type, m->name,
	    util_now_ms(), &wait);
	if (v == THROTTLE_SIGNUPS) {
		session_busy(s, m, "signups_per_hour", &mt->busy_signups);
		return;
	}
	if (v == THROTTLE_LINE) {
		session_busy(s, m, "failed logins", &mt->busy_line);
		return;
	}
	if (v != THROTTLE_GO) {
		session_busy(s, m, "max_logins_per_addr", &mt->busy_per_addr);
		return;
	}
	s->flags |= SF_ATTEMPT;
	s->att_op = m->type;
	memcpy(s->att_name, m->name, sizeof(s->att_name));
	s->bar = 0;
	/* Ranked by the attempts its address already had in progress. */
	s->job = env->hash(env->hash_arg, s->id, m->type, m->name, m->pass,
	    m->pass_len, wait, (unsigned)(throttle_login_count(env->throttle,
	    &s->la) - 1));
	if (s->job < 0) {
		session_attempt_end(s, THROTTLE_VOID);
		session_busy(s, m, "hash_queue", &mt->busy_queue);
		return;
	}
	session_enter_state(s, SESSION_HASHING);
	if (wait > 0)
		log_info("login slowed sid=%llu user=%s delay_ms=%llu",
		    (unsigned long long)s->id, m->name,
		    (unsigned long long)wait);
	if (wait > 0)
		metrics_observe(&mt->login_delay, wait * 1000);
	else
		log_debug("login queued sid=%llu user=%s op=%s",
		    (unsigned long long)s->id, m->name,
		    m->type == SC_MSG_SIGN ? "sign" : "auth");
}

/*
 * A login succeeded.  The newer login wins: an older session of the user
 * gets GOODBYE 2 and goes offline first.  Then OK, the initial USERS list,
 * and from there on PRESENCE.
 */
static void
session_login(struct session *s, uint8_t op, const char *name)
{
	struct session_env	*env = &s->set->env;
	struct presence_member	*old;

	if ((old = presence_lookup(env->presence, name)) != NULL) {
		log_info("login replaces sid=%llu user=%s old_sid=%llu",
		    (unsigned long long)s->id, name,
		    (unsigned long long)old->sid);
		session_close_with(session_of(old), SC_BYE_REPLACED,
		    "logged in elsewhere");
	}
	if (presence_join(env->presence, &s->pm, name) != 0) {
		log_warnx("login sid=%llu user=%s cannot join roster",
		    (unsigned long long)s->id, name);
		metrics_login(s->set->m, op, SC_ERR_INTERNAL);
		session_error(s, op, SC_ERR_INTERNAL, NULL);
		session_enter_state(s, SESSION_GREETED);
		return;
	}
	metrics_login(s->set->m, op, 0);
	s->login_time = (uint64_t)time(NULL);
	s->active_ms = util_now_ms();
	session_unauth_release(s);
	session_enter_state(s, SESSION_ONLINE);
	event_add(&s->tm_ev, s->set->tv_keepalive);
	log_info("login sid=%llu user=%s op=%s", (unsigned long long)s->id,
	    name, op == SC_MSG_SIGN ? "sign" : "auth");

	wire_enc_ok(session_enc(s), op, name);
	if (session_send_enc(s) != 0)
		return;
	session_send_users(s, 0);
	if (s->state == SESSION_ONLINE)
		mailbox_login(env->mailbox, &s->pm);
}

/* Result of a hash job, found by session id (a closed session is gone). */
void
session_set_hash_done(struct session_set *set, uint64_t sid, uint8_t op,
    int status, const char *name)
{
	struct session		 key, *s;
	uint8_t			 code;

	key.id = sid;
	s = RB_FIND(session_tree, &set->tree, &key);
	if (s == NULL || s->state != SESSION_HASHING ||
	    !(s->flags & SF_ATTEMPT) || s->att_op != op ||
	    strcmp(s->att_name, name) != 0) {
		log_debug("auth result for sid=%llu dropped: session gone",
		    (unsigned long long)sid);
		return;
	}
	code = status > 0 && status <= SC_ERR_MAX ? (uint8_t)status :
	    SC_ERR_INTERNAL;
	if (status == 0 && s->bar != 0) {
		/* The password was right: no failure, and no good login. */
		log_info("login sid=%llu user=%s refused: the account "
		    "changed meanwhile", (unsigned long long)s->id, name);
		session_attempt_end(s, THROTTLE_VOID);
		status = code = s->bar;
	} else
		session_attempt_end(s, status == 0 ? THROTTLE_OK :
		    code == SC_ERR_INTERNAL || code == SC_ERR_BUSY ?
		    THROTTLE_VOID : THROTTLE_FAILED);
	if (status == 0) {
		session_login(s, op, name);
		return;
	}
	log_info("login failed sid=%llu user=%s op=%s code=%u",
	    (unsigned long long)s->id, name,
	    op == SC_MSG_SIGN ? "sign" : "auth", code);
	metrics_login(set->m, op, code);
	session_enter_state(s, SESSION_GREETED);
	session_error(s, op, code, NULL);
}

/* LIST: everyone else online. */
static void
session_on_list(struct session *s, const struct sc_msg *m)
{
	(void)m;
	session_send_users(s, SC_USERS_REPLY);
}

/*
 * UDP: the client's port and local addresses become its HOST candidates
 * (those worth giving to peers); a client that reports no address gets
 * the one observed on its connection, with the port.  The answer is
 * UDPREG, with the same reg_id and k_reg for the whole session (the
 * registration is made at the first UDP).  A changed list goes to the
 * session's pairs in CANDIDATES.
 */
static void
session_on_udp(struct session *s, const struct sc_msg *m)
{
	struct session_env	*env = &s->set->env;
	struct sc_cand		 hosts[SC_HOST_MAX];
	size_t			 n;
	int			 changed;

	if (m->ncand > 0)
		n = udp_hosts(env->udp, hosts, m->cand, m->ncand);
	else if (s->la.af != SC_AF_INET && s->la.af != SC_AF_INET6)
		n = 0;
	else {
		memset(&hosts[0], 0, sizeof(hosts[0]));
		hosts[0].kind = SC_CAND_HOST;
		hosts[0].af = s->la.af;
		memcpy(hosts[0].addr, s->la.b, sizeof(hosts[0].addr));
		n = 1;
	}
	changed = presence_set_hosts(&s->pm, m->port, hosts, n);
	if (!s->reg.linked && udp_reg_add(env->udp, &s->reg, &s->pm) != 0) {
		session_error(s, SC_MSG_UDP, SC_ERR_INTERNAL, NULL);
		return;
	}
	log_debug("udp sid=%llu user=%s port=%u hosts=%zu reported=%zu",
	    (unsigned long long)s->id, s->pm.name, m->port, n, m->ncand);
	wire_enc_udpreg(session_enc(s), udp_port(env->udp),
	    env->conf->relay ? SC_UDPREG_RELAY : 0, s->reg.reg_id,
	    s->reg.k_reg);
	if (session_send_enc(s) != 0)
		return;
	if (changed && s->pm.npairs > 0)
		pairkey_announce(env->pairkey, &s->pm);
}

/* RECHECK: the candidates of a pair again, to both of its sides. */
static void
session_on_recheck(struct session *s, const struct sc_msg *m)
{
	int	rc;

	rc = pairkey_recheck(s->set->env.pairkey, &s->pm, m->pair_id,
	    util_now_ms());
	if (rc != 0)
		session_error(s, SC_MSG_RECHECK, (uint8_t)rc, NULL);
}

/* PAIR: a pair key for the requester and the peer. */
static void
session_on_pair(struct session *s, const struct sc_msg *m)
{
	int	rc;

	rc = pairkey_request(s->set->env.pairkey, &s->pm, m->name);
	if (rc != 0)
		session_error(s, SC_MSG_PAIR, (uint8_t)rc, m->name);
}

/*
 * IDENTITY: the user's identity key, once per session.  Peers get it in
 * PAIRKEY from now on, and the hash helper stores it beside the account,
 * in place of the key of another device.  The write is not awaited: the
 * key serves this session whatever becomes of it, and the next login
 * registers it again.
 */
static void
session_on_identity(struct session *s, const struct sc_msg *m)
{
	struct session_env	*env = &s->set->env;
	char			 fpr[SC_FPR_LEN];

	if (s->pm.has_idkey) {
		session_error(s, SC_MSG_IDENTITY, SC_ERR_STATE, NULL);
		return;
	}
	memcpy(s->pm.idkey, m->idkey, SC_KEY_BYTES);
	s->pm.has_idkey = 1;
	sc_fingerprint(fpr, m->idkey);
	log_info("identity sid=%llu user=%s key=%s", (unsigned long long)s->id,
	    s->pm.name, fpr);
	if (env->hash(env->hash_arg, s->id, SC_MSG_IDENTITY, s->pm.name,
	    m->idkey, SC_KEY_BYTES, 0, 0) < 0)
		log_warnx("identity sid=%llu user=%s not stored: the hash "
		    "queue is full; it serves this session",
		    (unsigned long long)s->id, s->pm.name);
}

/*
 * RCPT: the identity key of a user who may get stored messages, to seal a
 * message to; the same ERROR as PAIR's for no such user.
 */
static void
session_on_rcpt(struct session *s, const struct sc_msg *m)
{
	uint8_t	key[SC_KEY_BYTES];
	int	rc;

	rc = mailbox_rcpt(s->set->env.mailbox, m->name, key);
	if (rc != 0) {
		session_error(s, SC_MSG_RCPT, (uint8_t)rc, m->name);
		return;
	}
	wire_enc_rcptkey(session_enc(s), m->name, key);
	(void)session_send_enc(s);
}

/*
 * STORE: a sealed message for a user, bound to this user and the identity
 * key of this session.  QUEUED goes out only once the store has committed
 * it; the mailbox sends it on at once when the recipient is online.
 */
static void
session_on_store(struct session *s, const struct sc_msg *m)
{
	int	rc;

	rc = mailbox_store(s->set->env.mailbox, &s->pm, m->name, m->mailid,
	    m->box, m->box_len);
	if (rc != 0) {
		session_error(s, SC_MSG_STORE, (uint8_t)rc, m->name);
		return;
	}
	wire_enc_queued(session_enc(s), m->name, m->mailid);
	(void)session_send_enc(s);
}

/* STOREACK: a stored message was shown; no answer. */
static void
session_on_storeack(struct session *s, const struct sc_msg *m)
{
	mailbox_ack(s->set->env.mailbox, &s->pm, m->mailid);
}

/* STOREKEEP: a stored message is held back; no answer. */
static void
session_on_storekeep(struct session *s, const struct sc_msg *m)
{
	mailbox_keep(s->set->env.mailbox, &s->pm, m->mailid);
}

/* PING: PONG with the same token. */
static void
session_on_ping(struct session *s, const struct sc_msg *m)
{
	wire_enc_ping(session_enc(s), SC_MSG_PONG, m->token);
	(void)session_send_enc(s);
}

/* LOGOUT: GOODBYE 5, then close once it is written. */
static void
session_on_logout(struct session *s, const struct sc_msg *m)
{
	(void)m;
	session_close_with(s, SC_BYE_LOGOUT, "logout");
}

/* Largest input the session may hold: one whole frame of its state. */
static size_t
session_in_limit(const struct session *s)
{
	if (s->state == SESSION_HANDSHAKE)
		return (SC_FRAME_HDR + SC_HELLO_BODY);
	return (SC_FRAME_HDR + s->set->max_frame);
}

/*
 * Handles the whole frames in the input, at most SESSION_FRAMES_PER_WAKE.
 * Returns how many, or -1 when the session ended.  A length is checked
 * from the header alone, before any byte of the body is gathered.
 */
static int
session_process(struct session *s)
{
	const uint8_t	*body;
	size_t		 blen, min, max;
	int		 n = 0, hello;

	while (n < SESSION_FRAMES_PER_WAKE) {
		if (s->state == SESSION_CLOSING || (s->flags & SF_DEAD))
			return (-1);
		hello = s->state == SESSION_HANDSHAKE;
		min = hello ? SC_HELLO_BODY : 1;
		max = hello ? SC_HELLO_BODY : s->set->max_frame;
		switch (wire_frame_pull(s->in, min, max, &body, &blen)) {
		case WIRE_FRAME_PARTIAL:
			return (n);
		case WIRE_FRAME_BAD:
			session_lost(s, hello ? "bad hello length" :
			    "bad frame length");
			return (-1);
		case WIRE_FRAME_NOMEM:
			session_lost(s, "out of memory");
			return (-1);
		}
		s->set->m->frames_in++;
		if (hello)
			session_on_hello(s, body, blen);
		else
			session_on_frame(s, body, blen);
		n++;
		if (s->flags & SF_DEAD)
			return (-1);
		wire_frame_drop(s->in, blen);
	}
	return (n);
}

/* True when the input holds at least one whole frame, or a bad one. */
static int
session_frame_waiting(struct session *s)
{
	size_t	blen;

	return (wire_frame_pull(s->in, 1, s->set->max_frame, NULL, &blen) !=
	    WIRE_FRAME_PARTIAL);
}

/*
 * The socket is readable (EV_READ), or the session was re-activated
 * because frames were left over (EV_TIMEOUT): then nothing is read, the
 * buffered frames are handled.
 */
static void
session_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	size_t		 have, limit;
	int		 i, n, gone = 0, frames;

	if (s->flags & SF_DEAD)
		return;
	if (s->state == SESSION_CLOSING) {
		if (s->flags & SF_SHUTWR)
			session_discard(s);
		return;
	}
	if (what & EV_READ) {
		limit = session_in_limit(s);
		for (i = 0; i < SESSION_READS_PER_WAKE; i++) {
			have = evbuffer_get_length(s->in);
			if (have >= limit)
				break;
			n = evbuffer_read(s->in, fd, (int)(limit - have));
			if (n > 0) {
				s->set->m->bytes_in += (uint64_t)n;
				continue;
			}
			if (n == 0 || (errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EINTR))
				gone = 1;
			break;
		}
	}
	frames = session_process(s);
	if (frames < 0)
		return;
	if (frames > 0 && s->state == SESSION_ONLINE)
		event_add(&s->tm_ev, s->set->tv_keepalive);
	if (gone) {
		session_lost(s, "peer gone");
		return;
	}
	if (frames == SESSION_FRAMES_PER_WAKE && session_frame_waiting(s))
		event_active(&s->rd_ev, EV_TIMEOUT, 1);
}

/*
 * The session's one timer: login deadline before ONLINE, keepalive once
 * ONLINE, end of the final flush while CLOSING.
 */
static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case SESSION_HANDSHAKE:
		s->set->m->closed_hello_timeout++;
		session_lost(s, "hello deadline");
		break;
	case SESSION_GREETED:
	case SESSION_HASHING:
		s->set->m->closed_login_timeout++;
		session_close_with(s, SC_BYE_DEADLINE, "login deadline");
		break;
	case SESSION_ONLINE:
		session_close_with(s, SC_BYE_TIMEOUT, "keepalive timeout");
		break;
	default:
		if (s->flags & SF_SHUTWR)
			session_finish(s);	/* client never closed */
		else
			session_lost(s, "output not drained");
		break;
	}
}

/* Takes a new connection. */
int
session_set_accept(struct session_set *set, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct event_base	*base = set->env.base;
	struct session		*s;
	struct throttle_addr	 la;
	char			 addr[128];

	(void)salen;
	throttle_addr_from(&la, sa);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto fail;
	s->set = set;
	s->fd = fd;
	s->id = ++set->next_id;
	s->la = la;
	s->job = -1;
	s->accept_ms = util_now_ms();
	presence_member_init(&s->pm, s->id);
	if ((s->in = evbuffer_new()) == NULL ||
	    (s->out = evbuffer_new()) == NULL)
		goto fail;
	event_assign(&s->rd_ev, base, fd, EV_READ | EV_PERSIST,
	    session_read_cb, s);
	event_assign(&s->wr_ev, base, fd, EV_WRITE | EV_PERSIST,
	    session_write_cb, s);
	evtimer_assign(&s->tm_ev, base, session_timer_cb, s);
	if (event_priority_set(&s->rd_ev, 0) != 0 ||
	    event_priority_set(&s->wr_ev, 0) != 0 ||
	    event_priority_set(&s->tm_ev, 0) != 0 ||
	    event_add(&s->rd_ev, NULL) != 0 ||
	    event_add(&s->tm_ev, set->tv_hello) != 0) {
		event_del(&s->rd_ev);
		goto fail;
	}
	s->flags |= SF_UNAUTH | SF_COUNTED;
	set->unauth++;
	(void)throttle_idle_add(set->env.throttle, &s->idle, &la);
	RB_INSERT(session_tree, &set->tree, s);
	set->count++;
	set->nstate[SESSION_HANDSHAKE]++;
	util_addr_str(addr, sizeof(addr), sa);
	log_debug("accept sid=%llu addr=%s sessions=%zu",
	    (unsigned long long)s->id, addr, set->count);
	return (0);
fail:
	log_warnx("accept: cannot set up a session: out of memory");
	if (s != NULL) {
		if (s->in != NULL)
			evbuffer_free(s->in);
		if (s->out != NULL)
			evbuffer_free(s->out);
		free(s);
	}
	throttle_unauth_del(set->env.throttle, &la);
	throttle_session_del(set->env.throttle, &la);
	close(fd);
	return (-1);
}

/* Closes the connection the throttle picks to make room for a newcomer. */
int
session_set_evict_idle(struct session_set *set)
{
	struct throttle_slot	*slot;
	struct session		*s;

	if ((slot = throttle_idle_victim(set->env.throttle)) == NULL)
		return (-1);
	s = (struct session *)(void *)((char *)slot -
	    offsetof(struct session, idle));
	log_debug("close sid=%llu reason=evicted for a newcomer",
	    (unsigned long long)s->id);
	set->m->closed_evicted++;
	session_finish(s);
	return (0);
}

/* Frees the sessions closed so far. */
static void
session_set_reap(struct session_set *set)
{
	struct session	*s;

	while ((s = TAILQ_FIRST(&set->dead)) != NULL) {
		TAILQ_REMOVE(&set->dead, s, qentry);
		evbuffer_free(s->in);
		evbuffer_free(s->out);
		sc_wipe(s, sizeof(*s));
		free(s);
	}
}

/* Frees the sessions closed during the callbacks that ran. */
static void
session_set_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_set_reap(arg);
}

/* Shutdown: every session is told and left to flush (bounded). */
void
session_set_goodbye_all(struct session_set *set, uint8_t reason,
    void (*empty)(void *), void *arg)
{
	struct session	*s, *next;

	set->empty = empty;
	set->empty_arg = arg;
	RB_FOREACH_SAFE(s, session_tree, &set->tree, next) {
		if (s->state == SESSION_HANDSHAKE)
			session_lost(s, "shutdown");
		else
			session_close_with(s, reason, "shutdown");
	}
}

/* Open sessions. */
size_t
session_set_count(const struct session_set *set)
{
	return (set->count);
}

/* Open sessions not logged in yet. */
size_t
session_set_unauth(const struct session_set *set)
{
	return (set->unauth);
}

/* Open sessions in each state. */
void
session_set_states(const struct session_set *set,
    uint64_t out[SESSION_STATES])
{
	int	i;

	for (i = 0; i < SESSION_STATES; i++)
		out[i] = set->nstate[i];
}

/* Hands fn the sessions logged in after the id after, at most max. */
uint64_t
session_set_walk(struct session_set *set, uint64_t after, size_t max,
    session_walk_fn fn, void *arg)
{
	struct session		 key, *s;
	struct session_info	 info;
	uint64_t		 last = 0, now = util_now_ms();
	size_t			 n = 0;

	key.id = after + 1;
	for (s = RB_NFIND(session_tree, &set->tree, &key);
	    s != NULL && n < max; s = RB_NEXT(session_tree, &set->tree, s)) {
		last = s->id;
		if (s->state != SESSION_ONLINE || !s->pm.joined)
			continue;
		memset(&info, 0, sizeof(info));
		info.sid = s->id;
		memcpy(info.name, s->pm.name, sizeof(info.name));
		info.since = s->login_time;
		info.idle_ms = now > s->active_ms ? now - s->active_ms : 0;
		if (inet_ntop(s->la.af == SC_AF_INET6 ? AF_INET6 : AF_INET,
		    s->la.b, info.addr, sizeof(info.addr)) == NULL)
			snprintf(info.addr, sizeof(info.addr), "?");
		fn(&info, arg);
		n++;
	}
	return (s == NULL && n < max ? 0 : last);
}

/* Ends a user's session; bars a login of that name in progress. */
int
session_set_end_user(struct session_set *set, const char *name,
    uint8_t reason, uint8_t bar)
{
	struct presence_member	*pm;
	struct session		*s;

	if (bar != 0) {
		RB_FOREACH(s, session_tree, &set->tree) {
			if (s->state == SESSION_HASHING &&
			    (s->flags & SF_ATTEMPT) &&
			    strcmp(s->att_name, name) == 0)
				s->bar = bar;
		}
	}
	if ((pm = presence_lookup(set->env.presence, name)) == NULL)
		return (0);
	s = session_of(pm);
	log_info("session sid=%llu user=%s ended by the operator reason=%u",
	    (unsigned long long)s->id, name, reason);
	session_close_with(s, reason, "ended by the operator");
	set->m->sessions_ended++;
	return (1);
}

/*
 * One session timeout of sec seconds: a common timeout when libevent has
 * one left (it keeps at most 256 durations), else a plain one in buf.
 */
static const struct timeval *
session_set_timeout(struct session_set *set, long long sec,
    struct timeval *buf)
{
	const struct timeval	*tv;

	buf->tv_sec = (time_t)sec;
	buf->tv_usec = 0;
	if ((tv = event_base_init_common_timeout(set->env.base, buf)) != NULL)
		return (tv);
	log_debug("no common timeout left for %llds", sec);
	return (buf);
}

/*
 * Makes the session timeouts from the configuration.  The HELLO's deadline
 * is hello_timeout, never more than login_timeout.
 */
void
session_set_timeouts(struct session_set *set)
{
	const struct server_conf	*c = set->env.conf;
	long long			 hello;

	hello = c->hello_timeout < c->login_timeout ? c->hello_timeout :
	    c->login_timeout;
	set->tv_hello = session_set_timeout(set, hello, &set->tv_hello_buf);
	set->tv_keepalive = session_set_timeout(set, c->keepalive_timeout,
	    &set->tv_keepalive_buf);
	set->tv_linger = session_set_timeout(set, SESSION_LINGER_SEC,
	    &set->tv_linger_buf);
}

/* Makes an empty set of sessions. */
struct session_set *
session_set_new(const struct session_env *env)
{
	struct session_set	*set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return (NULL);
	set->env = *env;
	set->max_frame = (size_t)env->conf->max_frame;
	metrics_init(&set->own);
	set->m = env->metrics != NULL ? env->metrics : &set->own;
	RB_INIT(&set->tree);
	TAILQ_INIT(&set->writeq);
	TAILQ_INIT(&set->dead);
	wbuf_init(&set->enc);
	set->plain = malloc(set->max_frame);
	set->write_ev = event_new(env->base, -1, 0, session_set_write_cb, set);
	set->reap_ev = event_new(env->base, -1, 0, session_set_reap_cb, set);
	if (set->plain == NULL || set->write_ev == NULL ||
	    set->reap_ev == NULL ||
	    event_priority_set(set->write_ev, 0) != 0 ||
	    event_priority_set(set->reap_ev, 0) != 0) {
		session_set_free(set);
		return (NULL);
	}
	session_set_timeouts(set);
	return (set);
}

/* Closes whatever is left at once, frees every session and the set. */
void
session_set_free(struct session_set *set)
{
	struct session	*s;

	if (set == NULL)
		return;
	set->empty = NULL;
	while ((s = RB_MIN(session_tree, &set->tree)) != NULL)
		session_finish(s);
	session_set_reap(set);
	if (set->write_ev != NULL)
		event_free(set->write_ev);
	if (set->reap_ev != NULL)
		event_free(set->reap_ev);
	wbuf_free(&set->enc);
	if (set->plain != NULL) {
		sc_wipe(set->plain, set->max_frame);
		free(set->plain);
	}
	free(set);
}
