/* SPDX-License-Identifier: ISC */
/*
 * The control socket (control.h): sealchatctl's requests, on the loop.
 *
 * Admission: each connection's credentials (SO_PEERCRED) are checked at
 * accept, before a byte is read: the daemon's own user, root, or a member
 * of control_group (its primary group, or one of its supplementary groups
 * from SO_PEERGROUPS).  Anyone else gets END "permission denied" and the
 * close.  The socket file is made with mode 0600 (0660 and the group with
 * control_group) as a second fence, not the only one.
 *
 * Bounds: at most CONTROL_CONNS_MAX connections at once (one more gets
 * END "server busy"); the request is one frame of at most CTLMSG_REQ_MAX
 * bytes, which must arrive within CONTROL_REQUEST_SEC; the input buffer
 * never holds more than that frame; a reader that takes nothing for
 * CONTROL_WRITE_SEC is dropped.  The request's bytes, a password among
 * them, are wiped from the input buffer once handled.
 *
 * Long answers are made a page at a time: who and user list
 * CONTROL_PAGE rows, a backup CONTROL_BACKUP_PAGES database pages per
 * loop turn, then CTLMSG_DATA_MAX bytes per frame; the next page waits
 * until the output has drained below CONTROL_LOW_WATER, so neither the
 * loop nor the memory carries a whole answer at once.  A backup copied
 * CONTROL_BACKUP_TURNS turns long without finishing (the copy starts over
 * whenever the database changes under it) takes the rest in one step.
 *
 * Changes to accounts go to the hash pool as jobs (hashmsg.h) under the
 * connection's id; the result comes back through control_hash_done().
 * Deleting or locking an account then ends its session, and bars a login
 * of that name still being checked (session_set_end_user()).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <bsd/sys/queue.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "control.h"
#include "ctlmsg.h"
#include "hashmsg.h"
#include "store.h"

#define CONTROL_CONNS_MAX	8
#define CONTROL_ACCEPTS_PER_WAKE 16
#define CONTROL_BACKLOG		16
#define CONTROL_REQUEST_SEC	10
#define CONTROL_WRITE_SEC	30
#define CONTROL_PAGE		256
#define CONTROL_LOW_WATER	(64 * 1024)
#define CONTROL_BACKUP_PAGES	256
#define CONTROL_BACKUP_TURNS	512
#define CONTROL_GROUPS_MAX	65536

struct control_conn {
	TAILQ_ENTRY(control_conn) entry;
	struct control		*ctl;
	uint64_t		 id;
	struct bufferevent	*bev;
	struct event		*deadline_ev;
	struct event		*work_ev;	/* the next page */
	uid_t			 uid;
	pid_t			 pid;
	uint8_t			 command;	/* 0 until the request */
	int			 waiting;	/* for a hash job */
	int			 job;		/* its handle, while waiting */
	int			 done;		/* END queued */
	int			 dead;		/* END failed: free it */
	char			 name[SC_NAME_MAX + 1];
	uint64_t		 count;		/* rows or bytes sent */
	uint64_t		 after_sid;	/* who */
	char			 after[SC_NAME_MAX + 1];	/* user list */
	struct store		*st;		/* user list, backup */
	struct store_backup	*bk;
	int			 turns;
};

TAILQ_HEAD(control_conns, control_conn);

struct control {
	struct control_env	 env;
	int			 fd;
	struct event		*listen_ev;
	char			 path[PATH_MAX];
	ino_t			 ino;		/* of the socket we made */
	int			 has_group;
	gid_t			 group;
	struct control_conns	 conns;
	size_t			 nconns;
	uint64_t		 next_id;
	struct wbuf		 wb;		/* one frame at a time */
};

typedef void	(*control_handler_fn)(struct control_conn *,
		    const struct ctlmsg_req *);

static void	control_on_status(struct control_conn *,
		    const struct ctlmsg_req *);
static void	control_on_who(struct control_conn *,
		    const struct ctlmsg_req *);
static void	control_on_kick(struct control_conn *,
		    const struct ctlmsg_req *);
static void	control_on_list(struct control_conn *,
		    const struct ctlmsg_req *);
static void	control_on_job(struct control_conn *,
		    const struct ctlmsg_req *);
static void	control_on_reload(struct control_conn *,
		    const struct ctlmsg_req *);
static void	control_on_backup(struct control_conn *,
		    const struct ctlmsg_req *);
static void	control_work_cb(evutil_socket_t, short, void *);
static int	control_row(struct control_conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Each command's handler, and its job op for those that are jobs. */
static const struct control_handler {
	uint8_t			command;
	uint8_t			op;
	control_handler_fn	fn;
} control_handlers[] = {
	{ CTLMSG_STATUS, 0, control_on_status },
	{ CTLMSG_WHO, 0, control_on_who },
	{ CTLMSG_KICK, 0, control_on_kick },
	{ CTLMSG_USER_LIST, 0, control_on_list },
	{ CTLMSG_USER_ADD, HASHMSG_OP_ADD, control_on_job },
	{ CTLMSG_USER_PASSWD, HASHMSG_OP_PASSWD, control_on_job },
	{ CTLMSG_USER_DEL, HASHMSG_OP_DEL, control_on_job },
	{ CTLMSG_USER_LOCK, HASHMSG_OP_LOCK, control_on_job },
	{ CTLMSG_USER_UNLOCK, HASHMSG_OP_UNLOCK, control_on_job },
	{ CTLMSG_RELOAD, 0, control_on_reload },
	{ CTLMSG_BACKUP, 0, control_on_backup },
};

/* The words of a command for log lines. */
static const char *
control_words(uint8_t command)
{
	const struct ctlmsg_command_def	*c = ctlmsg_command(command);

	return (c != NULL ? c->words : "-");
}

/*
 * Frees a connection: its socket, timers, and database handles.  A hash
 * job it still waits for is withdrawn: nobody would hear its outcome, and
 * one that has not started does not run.
 */
static void
control_conn_free(struct control_conn *cc)
{
	struct control	*ctl = cc->ctl;

	if (cc->waiting && ctl->env.withdraw != NULL)
		ctl->env.withdraw(ctl->env.arg, cc->job, cc->id);
	TAILQ_REMOVE(&ctl->conns, cc, entry);
	ctl->nconns--;
	if (cc->bev != NULL)
		bufferevent_free(cc->bev);
	if (cc->deadline_ev != NULL)
		event_free(cc->deadline_ev);
	if (cc->work_ev != NULL)
		event_free(cc->work_ev);
	store_backup_free(cc->bk);
	store_free(cc->st);
	free(cc);
}

/* Queues the frame in the shared buffer; -1 when it could not. */
static int
control_flush_wb(struct control_conn *cc)
{
	struct wbuf	*wb = &cc->ctl->wb;
	int		 rc = -1;

	if (!wb->oom && wb->len > 0 &&
	    bufferevent_write(cc->bev, wb->data, wb->len) == 0)
		rc = 0;
	wbuf_reset(wb);
	return (rc);
}

/*
 * Ends the answer: END with status and text (the status's own text when
 * NULL); the connection closes once the output is written.
 */
static void
control_end(struct control_conn *cc, uint8_t status, const char *text)
{
	if (cc->done)
		return;
	cc->done = 1;
	cc->waiting = 0;
	event_del(cc->work_ev);
	if (text == NULL)
		text = ctlmsg_status_str(status);
	log_info("control: command=%s user=%s uid=%u status=%s",
	    control_words(cc->command), cc->name[0] != '\0' ? cc->name : "-",
	    (unsigned)cc->uid, ctlmsg_status_str(status));
	if (ctlmsg_end_put(&cc->ctl->wb, status, cc->count, text) != 0) {
		wbuf_reset(&cc->ctl->wb);
		(void)ctlmsg_end_put(&cc->ctl->wb, status, cc->count, "");
	}
	/* Called back when the output is empty: then it closes. */
	bufferevent_setwatermark(cc->bev, EV_WRITE, 0, 0);
	bufferevent_disable(cc->bev, EV_READ);
	if (control_flush_wb(cc) != 0) {
		/* Freed by the work event: the caller may still hold cc. */
		cc->dead = 1;
		event_active(cc->work_ev, EV_TIMEOUT, 0);
	}
}

/* Sends one ROW, formatted; ends the answer with an error if it cannot. */
static int
control_row(struct control_conn *cc, const char *fmt, ...)
{
	char	row[CTLMSG_ROW_MAX + 1];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(row, sizeof(row), fmt, ap);
	va_end(ap);
	if (n < 1 || (size_t)n > CTLMSG_ROW_MAX ||
	    ctlmsg_row_put(&cc->ctl->wb, row, (size_t)n) != 0 ||
	    control_flush_wb(cc) != 0) {
		wbuf_reset(&cc->ctl->wb);
		control_end(cc, CTLMSG_FAILED, "cannot write a row");
		return (-1);
	}
	cc->count++;
	return (0);
}

/*
 * Asks for the next page: at once (next loop turn) while the output is
 * short, else when the write callback finds it drained.
 */
static void
control_more(struct control_conn *cc)
{
	if (evbuffer_get_length(bufferevent_get_output(cc->bev)) <
	    CONTROL_LOW_WATER)
		event_active(cc->work_ev, EV_TIMEOUT, 0);
}

/* status: the version, the time up, then the figures' status keys. */
static void
control_status_cb(const char *key, uint64_t value, void *arg)
{
	struct control_conn	*cc = arg;

	if (!cc->done)
		(void)control_row(cc, "%s\t%llu", key,
		    (unsigned long long)value);
}

/* status */
static void
control_on_status(struct control_conn *cc, const struct ctlmsg_req *r)
{
	struct metrics	*m = cc->ctl->env.metrics;
	uint64_t	 now = (uint64_t)time(NULL);

	(void)r;
	if (control_row(cc, "version\t%s", SC_VERSION_STR) != 0 ||
	    control_row(cc, "uptime\t%llu", (unsigned long long)(now >
	    m->start_time ? now - m->start_time : 0)) != 0)
		return;
	metrics_status(m, control_status_cb, cc);
	control_end(cc, CTLMSG_OK, "");
}

/* One user online: name, address, since, idle seconds. */
static void
control_who_cb(const struct session_info *info, void *arg)
{
	struct control_conn	*cc = arg;

	if (!cc->done)
		(void)control_row(cc, "%s\t%s\t%llu\t%llu", info->name,
		    info->addr, (unsigned long long)info->since,
		    (unsigned long long)(info->idle_ms / 1000));
}

/* A page of who. */
static void
control_who_page(struct control_conn *cc)
{
	cc->after_sid = session_set_walk(cc->ctl->env.sessions,
	    cc->after_sid, CONTROL_PAGE, control_who_cb, cc);
	if (cc->done)
		return;
	if (cc->after_sid == 0)
		control_end(cc, CTLMSG_OK, "");
	else
		control_more(cc);
}

/* who */
static void
control_on_who(struct control_conn *cc, const struct ctlmsg_req *r)
{
	(void)r;
	cc->after_sid = 0;
	control_who_page(cc);
}

/* kick USER */
static void
control_on_kick(struct control_conn *cc, const struct ctlmsg_req *r)
{
	char	text[CTLMSG_TEXT_MAX + 1];

	if (session_set_end_user(cc->ctl->env.sessions, r->name,
	    SC_BYE_KICKED, 0) == 0) {
		control_end(cc, CTLMSG_OFFLINE, NULL);
		return;
	}
	snprintf(text, sizeof(text), "%s: session ended", r->name);
	control_end(cc, CTLMSG_OK, text);
}

/* One account: name, created, last login (0: never), locked (0, 1). */
static void
control_list_cb(const struct store_account *a, void *arg)
{
	struct control_conn	*cc = arg;

	if (cc->done)
		return;
	memcpy(cc->after, a->name, sizeof(cc->after));
	(void)control_row(cc, "%s\t%lld\t%lld\t%d", a->name, a->created,
	    a->last_login, a->locked);
}

/* A page of user list. */
static void
control_list_page(struct control_conn *cc)
{
	int	n;

	n = store_list(cc->st, cc->after, CONTROL_PAGE, control_list_cb, cc);
	if (cc->done)
		return;
	if (n < 0)
		control_end(cc, CTLMSG_FAILED, "cannot read the accounts");
	else if (n < CONTROL_PAGE)
		control_end(cc, CTLMSG_OK, "");
	else
		control_more(cc);
}

/* Opens the database for reading; ends the answer when it cannot. */
static int
control_open_store(struct control_conn *cc)
{
	char	err[256];

	cc->st = store_open_read(cc->ctl->env.conf->data_base, err,
	    sizeof(err));
	if (cc->st == NULL) {
		log_warnx("control: %s", err);
		control_end(cc, CTLMSG_FAILED, "cannot read the database");
		return (-1);
	}
	return (0);
}

/* user list */
static void
control_on_list(struct control_conn *cc, const struct ctlmsg_req *r)
{
	(void)r;
	if (control_open_store(cc) != 0)
		return;
	cc->after[0] = '\0';
	control_list_page(cc);
}

/* user add, passwd, del, lock, unlock: a job for the hash pool. */
static void
control_on_job(struct control_conn *cc, const struct ctlmsg_req *r)
{
	const struct control_env	*env = &cc->ctl->env;
	const struct control_handler	*h;
	size_t				 i;

	for (i = 0; i < sizeof(control_handlers) /
	    sizeof(control_handlers[0]); i++) {
		h = &control_handlers[i];
		if (h->command != r->command)
			continue;
		/* At once, and ahead of every address's second login. */
		cc->job = env->hash(env->arg, cc->id, h->op, r->name, r->data,
		    r->data_len, 0, 0);
		if (cc->job < 0) {
			control_end(cc, CTLMSG_BUSY, NULL);
			return;
		}
		cc->waiting = 1;
		return;
	}
	control_end(cc, CTLMSG_FAILED, NULL);
}

/* reload */
static void
control_on_reload(struct control_conn *cc, const struct ctlmsg_req *r)
{
	char	msg[CTLMSG_TEXT_MAX + 1];

	(void)r;
	msg[0] = '\0';
	if (cc->ctl->env.reload(cc->ctl->env.arg, msg, sizeof(msg)) != 0)
		control_end(cc, CTLMSG_CONFIG, msg);
	else
		control_end(cc, CTLMSG_OK, msg);
}

/*
 * A turn of a backup: copies pages until the copy is whole, then sends
 * it in DATA frames as the output drains.
 */
static void
control_backup_turn(struct control_conn *cc)
{
	const unsigned char	*img;
	size_t			 len, n, chunks = 0;
	int			 rc;

	img = store_backup_image(cc->bk, &len);
	if (img == NULL) {
		rc = store_backup_step(cc->bk, ++cc->turns >
		    CONTROL_BACKUP_TURNS ? -1 : CONTROL_BACKUP_PAGES);
		if (rc < 0)
			control_end(cc, CTLMSG_FAILED,
			    "cannot copy the database");
		else
			event_active(cc->work_ev, EV_TIMEOUT, 0);
		return;
	}
	while (cc->count < len && chunks++ < 4) {
		n = len - cc->count;
		if (n > CTLMSG_DATA_MAX)
			n = CTLMSG_DATA_MAX;
		if (ctlmsg_data_put(&cc->ctl->wb, img + cc->count, n) != 0 ||
		    control_flush_wb(cc) != 0) {
			wbuf_reset(&cc->ctl->wb);
			control_end(cc, CTLMSG_FAILED, "cannot send the copy");
			return;
		}
		cc->count += n;
	}
	if (cc->count < len) {
		control_more(cc);
		return;
	}
	log_info("control: backup bytes=%zu turns=%d", len, cc->turns);
	control_end(cc, CTLMSG_OK, "");
}

/* backup: a consistent copy, sent as DATA. */
static void
control_on_backup(struct control_conn *cc, const struct ctlmsg_req *r)
{
	(void)r;
	if (control_open_store(cc) != 0)
		return;
	if ((cc->bk = store_backup_new(cc->st)) == NULL) {
		control_end(cc, CTLMSG_FAILED, "cannot start the copy");
		return;
	}
	cc->turns = 0;
	event_active(cc->work_ev, EV_TIMEOUT, 0);
}

/* The next page of a long answer. */
static void
control_work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control_conn	*cc = arg;

	(void)fd;
	(void)what;
	if (cc->dead) {
		control_conn_free(cc);
		return;
	}
	if (cc->done)
		return;
	switch (cc->command) {
	case CTLMSG_WHO:
		control_who_page(cc);
		break;
	case CTLMSG_USER_LIST:
		control_list_page(cc);
		break;
	case CTLMSG_BACKUP:
		control_backup_turn(cc);
		break;
	default:
		break;
	}
}

/* Hands a decoded request to its handler. */
static void
control_dispatch(struct control_conn *cc, const struct ctlmsg_req *r)
{
	size_t	i;

	cc->command = r->command;
	memcpy(cc->name, r->name, sizeof(cc->name));
	log_info("control: command=%s user=%s uid=%u pid=%ld",
	    control_words(r->command), r->name[0] != '\0' ? r->name : "-",
	    (unsigned)cc->uid, (long)cc->pid);
	for (i = 0; i < sizeof(control_handlers) /
	    sizeof(control_handlers[0]); i++) {
		if (control_handlers[i].command == r->command) {
			control_handlers[i].fn(cc, r);
			return;
		}
	}
	control_end(cc, CTLMSG_MALFORMED, NULL);
}

/*
 * The request: one frame, copied out of the input, which is wiped at once
 * (it may hold a password), then decoded and handled.  Anything after it
 * is never read.
 */
static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn	*cc = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct ctlmsg_req	 r;
	uint8_t			 req[CTLMSG_REQ_MAX];
	const uint8_t		*body;
	uint8_t			*p;
	size_t			 len;
	int			 rc;

	if (cc->command != 0 || cc->done)
		return;
	rc = wire_frame_pull(in, CTLMSG_REQ_MIN, CTLMSG_REQ_MAX, &body, &len);
	if (rc == WIRE_FRAME_PARTIAL)
		return;
	event_del(cc->deadline_ev);
	bufferevent_disable(bev, EV_READ);
	if (rc != WIRE_FRAME_READY) {
		control_end(cc, rc == WIRE_FRAME_BAD ? CTLMSG_MALFORMED :
		    CTLMSG_FAILED, NULL);
		return;
	}
	memcpy(req, body, len);
	if ((p = evbuffer_pullup(in, (ev_ssize_t)(SC_FRAME_HDR + len))) !=
	    NULL)
		sc_wipe(p, SC_FRAME_HDR + len);
	wire_frame_drop(in, len);

	rc = ctlmsg_req_get(&r, req, len);
	if (rc != CTLMSG_OK) {
		cc->command = r.command;
		control_end(cc, (uint8_t)rc, NULL);
	} else
		control_dispatch(cc, &r);
	sc_wipe(&r, sizeof(r));
	sc_wipe(req, sizeof(req));
}

/* The output drained: the next page, or the close after END. */
static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn	*cc = arg;

	if (cc->done) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			control_conn_free(cc);
		return;
	}
	if (!cc->waiting && cc->command != 0)
		event_active(cc->work_ev, EV_TIMEOUT, 0);
}

/* The client went away, or stopped reading for too long. */
static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn	*cc = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (!cc->done)
			log_info("control: command=%s uid=%u connection "
			    "ended early", control_words(cc->command),
			    (unsigned)cc->uid);
		control_conn_free(cc);
	}
}

/* The request did not come in time. */
static void
control_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control_conn	*cc = arg;

	(void)fd;
	(void)what;
	log_info("control: uid=%u sent no request within %d s",
	    (unsigned)cc->uid, CONTROL_REQUEST_SEC);
	control_conn_free(cc);
}

/*
 * Whether the peer of fd may use the socket: the daemon's user, root, or
 * a member of control_group.  Fills uc with its credentials.
 */
static int
control_admit(struct control *ctl, int fd, struct ucred *uc)
{
	gid_t		 some[64], *groups = some;
	socklen_t	 len = sizeof(*uc);
	size_t		 i, n;
	int		 ok = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, uc, &len) != 0)
		return (0);
	if (uc->uid == 0 || uc->uid == geteuid())
		return (1);
	if (!ctl->has_group)
		return (0);
	if (uc->gid == ctl->group)
		return (1);
	len = sizeof(some);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, some, &len) != 0) {
		if (errno != ERANGE || len > CONTROL_GROUPS_MAX *
		    sizeof(gid_t) || (groups = malloc(len)) == NULL)
			return (0);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups,
		    &len) != 0)
			goto out;
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !ok; i++)
		ok = groups[i] == ctl->group;
out:
	if (groups != some)
		free(groups);
	return (ok);
}

/*
 * Answers a connection that is not taken with one END and closes.  The
 * frame is small: it fits in the socket's buffer, so a send that cannot
 * wait is enough.
 */
static void
control_refuse(struct control *ctl, int fd, uint8_t status,
    const char *text)
{
	if (ctlmsg_end_put(&ctl->wb, status, 0, text) == 0)
		(void)send(fd, ctl->wb.data, ctl->wb.len, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
	wbuf_reset(&ctl->wb);
	close(fd);
}

/* Takes an admitted connection; closes fd when it cannot. */
static void
control_take(struct control *ctl, int fd, const struct ucred *uc)
{
	struct control_conn	*cc;
	struct timeval		 req = { CONTROL_REQUEST_SEC, 0 };
	struct timeval		 wr = { CONTROL_WRITE_SEC, 0 };

	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		close(fd);
		return;
	}
	cc->ctl = ctl;
	cc->id = ++ctl->next_id;
	cc->uid = uc->uid;
	cc->pid = uc->pid;
	TAILQ_INSERT_TAIL(&ctl->conns, cc, entry);
	ctl->nconns++;
	cc->bev = bufferevent_socket_new(ctl->env.base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	cc->deadline_ev = evtimer_new(ctl->env.base, control_deadline_cb, cc);
	cc->work_ev = event_new(ctl->env.base, -1, 0, control_work_cb, cc);
	if (cc->bev == NULL || cc->deadline_ev == NULL || cc->work_ev == NULL ||
	    evtimer_add(cc->deadline_ev, &req) != 0) {
		if (cc->bev == NULL)
			close(fd);
		control_conn_free(cc);
		log_warnx("control: cannot take a connection: out of memory");
		return;
	}
	bufferevent_setcb(cc->bev, control_read_cb, control_write_cb,
	    control_event_cb, cc);
	bufferevent_setwatermark(cc->bev, EV_READ, 0,
	    SC_FRAME_HDR + CTLMSG_REQ_MAX);
	bufferevent_setwatermark(cc->bev, EV_WRITE, CONTROL_LOW_WATER, 0);
	bufferevent_set_timeouts(cc->bev, NULL, &wr);
	if (bufferevent_enable(cc->bev, EV_READ | EV_WRITE) != 0)
		control_conn_free(cc);
}

/* New connections: checked, then taken or answered and closed. */
static void
control_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct control	*ctl = arg;
	struct ucred	 uc;
	char		 text[CTLMSG_TEXT_MAX + 1];
	int		 i, fd;

	(void)what;
	for (i = 0; i < CONTROL_ACCEPTS_PER_WAKE; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("control: accept");
			return;
		}
		memset(&uc, 0, sizeof(uc));
		if (!control_admit(ctl, fd, &uc)) {
			log_warnx("control: refused uid=%u gid=%u pid=%ld",
			    (unsigned)uc.uid, (unsigned)uc.gid, (long)uc.pid);
			snprintf(text, sizeof(text), "permission denied: uid "
			    "%u is not sealchatd's user, root, or in "
			    "control_group", (unsigned)uc.uid);
			control_refuse(ctl, fd, CTLMSG_DENIED, text);
			continue;
		}
		if (ctl->nconns >= CONTROL_CONNS_MAX) {
			log_warnx("control: busy, refused uid=%u",
			    (unsigned)uc.uid);
			control_refuse(ctl, fd, CTLMSG_BUSY, "server busy: "
			    "too many control connections");
			continue;
		}
		control_take(ctl, fd, &uc);
	}
}

/* A hash job of a request finished. */
void
control_hash_done(struct control *ctl, const struct hashpool_result *res)
{
	struct control_conn	*cc;
	char			 text[CTLMSG_TEXT_MAX + 1];
	const char		*what;
	int			 ended = 0;

	TAILQ_FOREACH(cc, &ctl->conns, entry) {
		if (cc->id == res->session_id && cc->waiting)
			break;
	}
	if (cc == NULL) {
		log_info("control: result of op=0x%02x user=%s for a request "
		    "gone", res->op, res->name);
		return;
	}
	cc->waiting = 0;
	switch (res->status) {
	case 0:
		break;
	case SC_ERR_TAKEN:
		control_end(cc, CTLMSG_TAKEN, NULL);
		return;
	case SC_ERR_CREDENTIALS:
		control_end(cc, CTLMSG_NO_USER, NULL);
		return;
	case SC_ERR_BAD_NAME:
		control_end(cc, CTLMSG_BAD_NAME, NULL);
		return;
	default:
		control_end(cc, CTLMSG_FAILED, NULL);
		return;
	}
	switch (res->op) {
	case HASHMSG_OP_ADD:
		what = "added";
		break;
	case HASHMSG_OP_PASSWD:
		what = "password set";
		break;
	case HASHMSG_OP_DEL:
		what = "deleted";
		ended = session_set_end_user(ctl->env.sessions, res->name,
		    SC_BYE_DELETED, SC_ERR_CREDENTIALS);
		break;
	case HASHMSG_OP_LOCK:
		what = "locked";
		ended = session_set_end_user(ctl->env.sessions, res->name,
		    SC_BYE_LOCKED, SC_ERR_LOCKED);
		break;
	default:
		what = "unlocked";
		break;
	}
	snprintf(text, sizeof(text), "%s: %s%s", res->name, what,
	    ended ? "; its session ended" : "");
	control_end(cc, CTLMSG_OK, text);
}

/*
 * Clears the way for the socket: nothing there, or a stale socket that no
 * daemon answers on (removed).  -1 with a message otherwise.
 */
static int
control_clear(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	struct stat		sb;
	int			fd, rc;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return (0);
		snprintf(err, errlen, "control_socket %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "control_socket %s: exists and is not a "
		    "socket", path);
		return (-1);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "control_socket: %s", strerror(errno));
		return (-1);
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "control_socket %s: another sealchatd "
		    "answers on it", path);
		return (-1);
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "control_socket %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "control_socket %s: cannot remove the "
		    "stale socket: %s", path, strerror(errno));
		return (-1);
	}
	log_info("control: removed a stale socket path=%s", path);
	return (0);
}

/* Binds and listens on the socket, mode 0600 (0660 with the group). */
static int
control_listen(struct control *ctl, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	struct stat		sb;
	mode_t			old;
	int			rc;

	if (strlen(ctl->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control_socket %s: path too long",
		    ctl->path);
		return (-1);
	}
	if (control_clear(ctl->path, err, errlen) != 0)
		return (-1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, ctl->path, strlen(ctl->path));
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (ctl->fd == -1) {
		snprintf(err, errlen, "control_socket: %s", strerror(errno));
		return (-1);
	}
	old = umask(0177);
	rc = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "control_socket %s: %s", ctl->path,
		    strerror(errno));
		return (-1);
	}
	if (lstat(ctl->path, &sb) == 0)
		ctl->ino = sb.st_ino;
	if (ctl->has_group && (chown(ctl->path, (uid_t)-1, ctl->group) != 0 ||
	    chmod(ctl->path, 0660) != 0)) {
		snprintf(err, errlen, "control_socket %s: cannot give it to "
		    "control_group: %s", ctl->path, strerror(errno));
		return (-1);
	}
	if (listen(ctl->fd, CONTROL_BACKLOG) != 0) {
		snprintf(err, errlen, "control_socket %s: %s", ctl->path,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Opens the control socket. */
struct control *
control_new(const struct control_env *env, char *err, size_t errlen)
{
	struct control	*ctl;
	struct group	*gr;
	const char	*group = env->conf->control_group;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return (NULL);
	}
	ctl->env = *env;
	ctl->fd = -1;
	TAILQ_INIT(&ctl->conns);
	wbuf_init(&ctl->wb);
	snprintf(ctl->path, sizeof(ctl->path), "%s",
	    env->conf->control_socket);
	if (strcmp(group, SERVER_CONFIG_NO_GROUP) != 0) {
		if ((gr = getgrnam(group)) == NULL) {
			snprintf(err, errlen, "control_group %s: no such "
			    "group", group);
			goto fail;
		}
		ctl->has_group = 1;
		ctl->group = gr->gr_gid;
	}
	if (control_listen(ctl, err, errlen) != 0)
		goto fail;
	ctl->listen_ev = event_new(env->base, ctl->fd, EV_READ | EV_PERSIST,
	    control_accept_cb, ctl);
	if (ctl->listen_ev == NULL || event_add(ctl->listen_ev, NULL) != 0) {
		snprintf(err, errlen, "control: cannot watch the socket");
		goto fail;
	}
	log_info("control: listening path=%s group=%s", ctl->path, group);
	return (ctl);
fail:
	control_free(ctl);
	return (NULL);
}

/* Closes the requests and the socket, and removes the file we made. */
void
control_free(struct control *ctl)
{
	struct control_conn	*cc;
	struct stat		 sb;

	if (ctl == NULL)
		return;
	while ((cc = TAILQ_FIRST(&ctl->conns)) != NULL)
		control_conn_free(cc);
	if (ctl->listen_ev != NULL)
		event_free(ctl->listen_ev);
	if (ctl->fd != -1) {
		close(ctl->fd);
		if (ctl->ino != 0 && lstat(ctl->path, &sb) == 0 &&
		    sb.st_ino == ctl->ino)
			(void)unlink(ctl->path);
	}
	wbuf_free(&ctl->wb);
	free(ctl);
}
