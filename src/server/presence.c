/* SPDX-License-Identifier: ISC */
/*
 * Presence: the roster, the shared journal of presence events, and the
 * batched fan-out (see presence.h for the design).
 *
 * Costs: a join or a leave is O(log n) for the roster, an O(1) append, and
 * an O(n) move of the list's tail (bytes and offsets, no pointer chasing);
 * a flush is one pass over the members, each behind member costing the
 * bytes it is owed.  The journal holds only what some member has not been
 * given: after a flush every member is at the end, so it is emptied.
 *
 * The list is the roster already encoded as USERS entries (u8 length and
 * name), back to back in byte order of the names, with the offset of each
 * entry in a sorted array.  A USERS list is then a few copies of slices of
 * it around the receiver's own entry, cut on entry bounds where max_msg
 * falls; the cuts are found by binary search over the offsets.
 *
 * The flush event has priority 1, so it runs once the I/O callbacks of the
 * turn have run and the events of many logins go out together.  Strict
 * priorities could starve it while I/O keeps arriving, so a priority-0
 * timer armed with it (PRESENCE_GUARD_MS) runs the flush itself if the
 * low-priority event has not run by then.
 */
#include <stdlib.h>
#include <string.h>

#include "sealchat/log.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "presence.h"

#define PRESENCE_GUARD_MS	50	/* longest wait of a flush */
#define PRESENCE_JOURNAL_KEEP	65536	/* kept when empty */
#define PRESENCE_ENTRY_MAX	(2 + SC_NAME_MAX)
#define PRESENCE_LIST_KEEP	4096	/* list bytes never given back */
#define PRESENCE_OFFS_KEEP	256	/* list offsets never given back */

RB_HEAD(presence_roster, presence_member);

struct presence {
	struct event_base	*base;
	struct presence_roster	 roster;
	size_t			 count;

	uint8_t			*lbuf;		/* encoded list, by name */
	size_t			 llen;
	size_t			 lcap;
	uint32_t		*loff;		/* entry offsets, count */
	size_t			 loffcap;
	uint64_t		 lgen;		/* changes of the list */
	size_t			 max_msg;
	presence_deliver_cb	 deliver;
	void			*arg;

	uint8_t			*jbuf;		/* journal bytes */
	size_t			 jlen;
	size_t			 jcap;
	uint64_t		 jbase;		/* offset of jbuf[0] */

	struct event		*flush_ev;	/* priority 1 */
	struct event		*guard_ev;	/* priority 0 timer */
	int			 scheduled;
	int			 flushing;

	struct wbuf		 msg;		/* being built */
};

/* Orders members by name, bytewise. */
static int
presence_cmp(const struct presence_member *a, const struct presence_member *b)
{
	return (strcmp(a->name, b->name));
}

RB_GENERATE_INTERNAL(presence_roster, presence_member, entry, presence_cmp,
    __attribute__((unused)) static)

static void	presence_trim(struct presence *, uint64_t);
static void	presence_flush_cb(evutil_socket_t, short, void *);
static void	presence_guard_cb(evutil_socket_t, short, void *);

/* Makes an empty roster and journal. */
struct presence *
presence_new(struct event_base *base, size_t max_msg,
    presence_deliver_cb deliver, void *arg)
{
	struct presence	*p;

	if (max_msg < 2 + PRESENCE_ENTRY_MAX || deliver == NULL)
		return (NULL);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	RB_INIT(&p->roster);
	p->base = base;
	p->max_msg = max_msg;
	p->deliver = deliver;
	p->arg = arg;
	wbuf_init(&p->msg);
	p->flush_ev = event_new(base, -1, 0, presence_flush_cb, p);
	p->guard_ev = evtimer_new(base, presence_guard_cb, p);
	if (p->flush_ev == NULL || p->guard_ev == NULL ||
	    event_priority_set(p->flush_ev, 1) != 0 ||
	    event_priority_set(p->guard_ev, 0) != 0) {
		presence_free(p);
		return (NULL);
	}
	return (p);
}

/* Frees the journal and events; members belong to their owners. */
void
presence_free(struct presence *p)
{
	if (p == NULL)
		return;
	if (p->flush_ev != NULL)
		event_free(p->flush_ev);
	if (p->guard_ev != NULL)
		event_free(p->guard_ev);
	free(p->jbuf);
	free(p->lbuf);
	free(p->loff);
	wbuf_free(&p->msg);
	free(p);
}

/* Sets up a member that is not online yet. */
void
presence_member_init(struct presence_member *m, uint64_t sid)
{
	memset(m, 0, sizeof(*m));
	TAILQ_INIT(&m->pairs);
	m->sid = sid;
}

/* Tells whether two candidates are the same kind, address and port. */
static int
presence_cand_same(const struct sc_cand *a, const struct sc_cand *b)
{
	return (a->kind == b->kind && a->af == b->af && a->port == b->port &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0);
}

/* Records the UDP port and the HOST candidates. */
int
presence_set_hosts(struct presence_member *m, uint16_t port,
    const struct sc_cand *hosts, size_t n)
{
	struct sc_cand	c;
	size_t		i;
	int		changed;

	if (n > SC_HOST_MAX)
		n = SC_HOST_MAX;
	changed = m->udp_port != port || m->nhosts != n;
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		c.kind = SC_CAND_HOST;
		c.af = hosts[i].af;
		memcpy(c.addr, hosts[i].addr, sizeof(c.addr));
		c.port = port;
		if (!presence_cand_same(&m->hosts[i], &c))
			changed = 1;
		m->hosts[i] = c;
	}
	for (; i < SC_HOST_MAX; i++)
		memset(&m->hosts[i], 0, sizeof(m->hosts[i]));
	m->udp_port = port;
	m->nhosts = (uint8_t)n;
	return (changed);
}

/* Records the SRFLX endpoint. */
int
presence_set_srflx(struct presence_member *m, const struct sc_cand *c)
{
	struct sc_cand	e = *c;

	e.kind = SC_CAND_SRFLX;
	if (presence_cand_same(&m->srflx, &e))
		return (0);
	m->srflx = e;
	return (1);
}

/* The candidates: HOST entries, then SRFLX. */
size_t
presence_cands(const struct presence_member *m,
    struct sc_cand out[SC_CAND_MAX])
{
	size_t	n;

	for (n = 0; n < m->nhosts; n++)
		out[n] = m->hosts[n];
	if (m->srflx.port != 0)
		out[n++] = m->srflx;
	return (n);
}

/* Absolute offset of the journal's end. */
static uint64_t
presence_end(const struct presence *p)
{
	return (p->jbase + p->jlen);
}

/* Asks the loop for a flush after the current turn's I/O. */
static void
presence_schedule(struct presence *p)
{
	struct timeval	tv;

	if (p->scheduled)
		return;
	p->scheduled = 1;
	event_active(p->flush_ev, EV_TIMEOUT, 0);
	tv.tv_sec = 0;
	tv.tv_usec = PRESENCE_GUARD_MS * 1000;
	evtimer_add(p->guard_ev, &tv);
}

/*
 * Appends one event to the journal.  Memory for one entry is all it needs;
 * if even that fails the server cannot keep its promise that every client
 * sees every event, so it stops.
 */
static void
presence_append(struct presence *p, int online, const char *name, size_t len)
{
	uint8_t	*nb;
	size_t	 cap;

	if (p->jcap - p->jlen < 2 + len) {
		cap = p->jcap == 0 ? 1024 : p->jcap * 2;
		if ((nb = realloc(p->jbuf, cap)) == NULL)
			fatalx(EXIT_SOFTWARE, "presence: out of memory");
		p->jbuf = nb;
		p->jcap = cap;
	}
	p->jbuf[p->jlen++] = online ? SC_PRESENCE_ONLINE : SC_PRESENCE_OFFLINE;
	p->jbuf[p->jlen++] = (uint8_t)len;
	memcpy(p->jbuf + p->jlen, name, len);
	p->jlen += len;
	if (p->count > 0)
		presence_schedule(p);
	else if (!p->flushing)
		presence_trim(p, presence_end(p));	/* nobody to tell */
}

/* Offset of the list's entry i; the list's length for i == count. */
static size_t
presence_list_off(const struct presence *p, size_t i)
{
	return (i < p->count ? p->loff[i] : p->llen);
}

/* Orders name against the list's entry i, bytewise (as strcmp). */
static int
presence_list_cmp(const struct presence *p, size_t i, const char *name,
    size_t len)
{
	const uint8_t	*e = p->lbuf + p->loff[i];
	size_t		 elen = e[0];
	int		 c;

	c = memcmp(name, e + 1, len < elen ? len : elen);
	if (c != 0)
		return (c);
	return (len < elen ? -1 : len > elen);
}

/* The first entry not before name (count if none); *found if equal. */
static size_t
presence_list_find(const struct presence *p, const char *name, size_t len,
    int *found)
{
	size_t	lo = 0, hi = p->count, mid;
	int	c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = presence_list_cmp(p, mid, name, len);
		if (c == 0) {
			*found = 1;
			return (mid);
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (lo);
}

/* The last index b in [lo, count] whose offset is at most limit. */
static size_t
presence_list_upto(const struct presence *p, size_t lo, size_t limit)
{
	size_t	hi = p->count, mid;

	while (lo < hi) {
		mid = hi - (hi - lo) / 2;
		if (presence_list_off(p, mid) <= limit)
			lo = mid;
		else
			hi = mid - 1;
	}
	return (lo);
}

/* Capacity at least need, doubled from cap (or from keep); 0 on overflow. */
static size_t
presence_list_grow(size_t cap, size_t need, size_t keep)
{
	if (cap < keep)
		cap = keep;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return (0);
		cap *= 2;
	}
	return (cap);
}

/* Makes room for one more entry of len bytes; -1 when memory is short. */
static int
presence_list_reserve(struct presence *p, size_t len)
{
	uint8_t		*nb;
	uint32_t	*no;
	size_t		 cap;

	if (p->llen + 1 + len > UINT32_MAX || p->count + 1 > SIZE_MAX / 4)
		return (-1);
	if (p->lcap < p->llen + 1 + len) {
		cap = presence_list_grow(p->lcap, p->llen + 1 + len,
		    PRESENCE_LIST_KEEP);
		if (cap == 0 || (nb = realloc(p->lbuf, cap)) == NULL)
			return (-1);
		p->lbuf = nb;
		p->lcap = cap;
	}
	if (p->loffcap < p->count + 1) {
		cap = presence_list_grow(p->loffcap, p->count + 1,
		    PRESENCE_OFFS_KEEP);
		if (cap == 0 || cap > SIZE_MAX / sizeof(*no) ||
		    (no = realloc(p->loff, cap * sizeof(*no))) == NULL)
			return (-1);
		p->loff = no;
		p->loffcap = cap;
	}
	return (0);
}

/* Inserts name as entry i (room reserved); the caller counts it. */
static void
presence_list_insert(struct presence *p, size_t i, const char *name,
    size_t len)
{
	size_t	at = presence_list_off(p, i), j, n = p->count;
	uint32_t size = (uint32_t)(1 + len);

	memmove(p->lbuf + at + size, p->lbuf + at, p->llen - at);
	p->lbuf[at] = (uint8_t)len;
	memcpy(p->lbuf + at + 1, name, len);
	p->llen += size;
	memmove(p->loff + i + 1, p->loff + i, (n - i) * sizeof(*p->loff));
	p->loff[i] = (uint32_t)at;
	for (j = i + 1; j <= n; j++)
		p->loff[j] += size;
	p->lgen++;
}

/*
 * Removes entry i; the caller uncounts it.  Memory far larger than the
 * list (a storm gone by) is given back, half at a time; when realloc
 * cannot, the larger buffer stays.
 */
static void
presence_list_remove(struct presence *p, size_t i)
{
	size_t	 at = p->loff[i], j, n = p->count, cap;
	uint32_t size = (uint32_t)(1 + p->lbuf[at]);
	uint8_t	*nb;
	uint32_t *no;

	memmove(p->lbuf + at, p->lbuf + at + size, p->llen - at - size);
	p->llen -= size;
	memmove(p->loff + i, p->loff + i + 1, (n - i - 1) * sizeof(*p->loff));
	for (j = i; j + 1 < n; j++)
		p->loff[j] -= size;
	p->lgen++;
	if (p->lcap > PRESENCE_LIST_KEEP && p->llen < p->lcap / 4) {
		cap = p->lcap / 2;
		if ((nb = realloc(p->lbuf, cap)) != NULL) {
			p->lbuf = nb;
			p->lcap = cap;
		}
	}
	if (p->loffcap > PRESENCE_OFFS_KEEP && n - 1 < p->loffcap / 4) {
		cap = p->loffcap / 2;
		if ((no = realloc(p->loff, cap * sizeof(*no))) != NULL) {
			p->loff = no;
			p->loffcap = cap;
		}
	}
}

/* Puts a member online and records the event. */
int
presence_join(struct presence *p, struct presence_member *m, const char *name)
{
	size_t	len, i;
	int	found;

	if (m->joined || name == NULL)
		return (-1);
	len = strnlen(name, SC_NAME_MAX + 1);
	if (!wire_name_valid(name, len))
		return (-1);
	i = presence_list_find(p, name, len, &found);
	if (found)
		return (-1);
	if (presence_list_reserve(p, len) != 0) {
		log_warnx("presence: out of memory for the list");
		return (-1);
	}
	memcpy(m->name, name, len);
	m->name[len] = '\0';
	m->name_len = (uint8_t)len;
	if (RB_INSERT(presence_roster, &p->roster, m) != NULL) {
		m->name[0] = '\0';
		m->name_len = 0;
		return (-1);
	}
	presence_list_insert(p, i, m->name, m->name_len);
	p->count++;
	m->joined = 1;
	presence_append(p, 1, m->name, m->name_len);
	m->cursor = presence_end(p);
	return (0);
}

/* Takes a member off the roster and records the event. */
void
presence_leave(struct presence *p, struct presence_member *m)
{
	size_t	i;
	int	found;

	if (!m->joined)
		return;
	RB_REMOVE(presence_roster, &p->roster, m);
	i = presence_list_find(p, m->name, m->name_len, &found);
	if (found)
		presence_list_remove(p, i);
	p->count--;
	m->joined = 0;
	presence_append(p, 0, m->name, m->name_len);
}

/* Finds an online member by canonical name. */
struct presence_member *
presence_lookup(struct presence *p, const char *name)
{
	struct presence_member	key;
	size_t			len;

	if (name == NULL || (len = strnlen(name, SC_NAME_MAX + 1)) >
	    SC_NAME_MAX)
		return (NULL);
	memcpy(key.name, name, len);
	key.name[len] = '\0';
	return (RB_FIND(presence_roster, &p->roster, &key));
}

/* Online members. */
size_t
presence_online(const struct presence *p)
{
	return (p->count);
}

/* Bytes of journal held. */
size_t
presence_journal_len(const struct presence *p)
{
	return (p->jlen);
}

static int	presence_deliver_range(struct presence *,
		    struct presence_member *, uint64_t);

/*
 * Delivers the presence events still owed to a member, before anything
 * else reaches it: a PAIRKEY must never overtake the "online" of its peer,
 * nor a stale "offline" arrive after the key of a new login, nor a USERS
 * list be older than what the member was told.  Returns 0, or -1 when the
 * member is not online or left during delivery.
 */
static int
presence_catch_up(struct presence *p, struct presence_member *m)
{
	if (!m->joined)
		return (-1);
	if (m->cursor < presence_end(p) &&
	    presence_deliver_range(p, m, presence_end(p)) != 0)
		return (-1);
	return (0);
}

/* Hands a message to the member's owner, after the events owed to it. */
int
presence_send(struct presence *p, struct presence_member *m,
    const uint8_t *msg, size_t len)
{
	if (presence_catch_up(p, m) != 0)
		return (-1);
	return (p->deliver(m, msg, len, p->arg));
}

/*
 * Delivers journal[cursor, upto) to one member as PRESENCE messages, each
 * as full as max_msg allows.  The message is copied out of the journal
 * before delivery because the callback may append to it (a member that is
 * dropped leaves).  Returns 0, or -1 when the member left.
 */
static int
presence_deliver_range(struct presence *p, struct presence_member *m,
    uint64_t upto)
{
	size_t	off, end, elen;

	while (m->cursor < upto) {
		off = (size_t)(m->cursor - p->jbase);
		end = (size_t)(upto - p->jbase);
		wbuf_reset(&p->msg);
		wire_enc_presence_begin(&p->msg);
		while (off < end) {
			elen = 2 + (size_t)p->jbuf[off + 1];
			if (p->msg.len + elen > p->max_msg)
				break;
			wbuf_put(&p->msg, p->jbuf + off, elen);
			off += elen;
		}
		if (p->msg.oom)
			fatalx(EXIT_SOFTWARE, "presence: out of memory");
		m->cursor = p->jbase + off;
		if (p->deliver(m, p->msg.data, p->msg.len, p->arg) != 0 ||
		    !m->joined)
			return (-1);
	}
	return (0);
}

/* Drops the journal's head up to offset upto (no member needs it). */
static void
presence_trim(struct presence *p, uint64_t upto)
{
	size_t	n;

	if (upto <= p->jbase)
		return;
	n = (size_t)(upto - p->jbase);
	if (n > p->jlen)
		n = p->jlen;
	memmove(p->jbuf, p->jbuf + n, p->jlen - n);
	p->jlen -= n;
	p->jbase += n;
	if (p->jlen == 0 && p->jcap > PRESENCE_JOURNAL_KEEP) {
		free(p->jbuf);
		p->jbuf = NULL;
		p->jcap = 0;
	}
}

/*
 * One pass: every member behind the end is brought to the end of the
 * journal as it was when the pass began (events appended during the pass,
 * by members dropped on delivery, wait for the next pass).
 */
void
presence_flush(struct presence *p)
{
	struct presence_member	*m, *next;
	uint64_t		 upto, low;

	if (p->flushing)
		return;
	p->flushing = 1;
	p->scheduled = 0;
	event_del(p->flush_ev);
	evtimer_del(p->guard_ev);

	upto = presence_end(p);
	low = upto;
	RB_FOREACH_SAFE(m, presence_roster, &p->roster, next) {
		if (m->cursor < upto &&
		    presence_deliver_range(p, m, upto) != 0)
			continue;
		if (m->cursor < low)
			low = m->cursor;
	}
	presence_trim(p, p->count == 0 ? presence_end(p) : low);
	p->flushing = 0;
	if (p->count > 0 && p->jlen > 0)
		presence_schedule(p);
}

/* The flush event: runs once the turn's higher-priority work is done. */
static void
presence_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	presence_flush(arg);
}

/* The guard: the flush waited too long behind I/O; run it now. */
static void
presence_guard_cb(evutil_socket_t fd, short what, void *arg)
{
	struct presence	*p = arg;

	(void)fd;
	(void)what;
	if (p->scheduled) {
		log_debug("presence: flush run by guard journal=%zu", p->jlen);
		presence_flush(p);
	}
}

/* Emits the USERS message being built; returns -1 when the member left. */
static int
presence_users_emit(struct presence *p, struct presence_member *m,
    uint8_t flags, long *total)
{
	if (p->msg.oom)
		fatalx(EXIT_SOFTWARE, "presence: out of memory");
	p->msg.data[1] = flags;
	*total += (long)p->msg.len;
	if (p->deliver(m, p->msg.data, p->msg.len, p->arg) != 0 || !m->joined)
		return (-1);
	return (0);
}

/*
 * The end (exclusive) of the USERS message that starts with entry a, self
 * being the receiver's entry, which it skips: as many entries as fit in
 * max_msg, so the cuts fall where adding entry by entry would put them.
 */
static size_t
presence_users_cut(const struct presence *p, size_t a, size_t self)
{
	size_t	room, start, b, b2;

	room = p->max_msg - 2;
	start = presence_list_off(p, a);
	b = presence_list_upto(p, a, start + room);
	if (self < a)
		return (b);
	/* Past the receiver's entry, its bytes are not in the message. */
	b2 = presence_list_upto(p, a, start + room +
	    (presence_list_off(p, self + 1) - presence_list_off(p, self)));
	return (b2 > self ? b2 : b);
}

/*
 * Sends the list, less the member itself, split over USERS messages: each
 * message is one or two slices of the encoded list.  Should the list
 * change while a message is delivered, the next one starts again from the
 * name it was to start with.
 */
long
presence_send_users(struct presence *p, struct presence_member *m,
    uint8_t flags)
{
	char		 next[SC_NAME_MAX];
	size_t		 a, b, self, nlen, so, eo;
	uint64_t	 gen;
	long		 total = 0;
	int		 found;

	if (presence_catch_up(p, m) != 0)
		return (-1);
	flags &= (uint8_t)~SC_USERS_MORE;
	self = presence_list_find(p, m->name, m->name_len, &found);
	a = self == 0 ? 1 : 0;
	for (;;) {
		wbuf_reset(&p->msg);
		wire_enc_users_begin(&p->msg, flags);
		if (a >= p->count)
			break;
		b = presence_users_cut(p, a, self);
		so = presence_list_off(p, a);
		if (self >= a && self < b) {
			eo = presence_list_off(p, self);
			wbuf_put(&p->msg, p->lbuf + so, eo - so);
			so = presence_list_off(p, self + 1);
		}
		wbuf_put(&p->msg, p->lbuf + so, presence_list_off(p, b) - so);
		a = b == self ? b + 1 : b;
		if (a >= p->count)
			break;
		nlen = p->lbuf[p->loff[a]];
		memcpy(next, p->lbuf + p->loff[a] + 1, nlen);
		gen = p->lgen;
		if (presence_users_emit(p, m, flags | SC_USERS_MORE,
		    &total) != 0)
			return (-1);
		if (p->lgen != gen) {
			self = presence_list_find(p, m->name, m->name_len,
			    &found);
			a = presence_list_find(p, next, nlen, &found);
			if (a == self)
				a++;
		}
	}
	if (presence_users_emit(p, m, flags, &total) != 0)
		return (-1);
	return (total);
}
