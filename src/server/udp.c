/* SPDX-License-Identifier: ISC */
/*
 * The daemon's UDP side (see udp.h and docs/protocol.md, section 9).
 *
 * Reading: each socket's read event takes at most UDP_BATCHES batches of
 * UDP_BATCH datagrams (recvmmsg) per wake-up; what is left waits for the
 * next turn of the loop (the event is level-triggered), so a flood on UDP
 * cannot starve the TCP sessions.  A datagram goes to the row of udp_kinds
 * for its first byte, which checks the length before its handler runs.
 *
 * Writing: the datagrams the relay forwards wait in a queue, pointing at
 * their bytes in the read batch, and leave together (sendmmsg) once the
 * batch is handled, before the next read reuses its buffers: one system
 * call for a batch instead of one per datagram, which is most of what the
 * relay costs besides the kernel's own work.  REGISTERED answers go at
 * once.
 *
 * REGISTER, in the order of section 9.2: the length, the reg_id, the rate
 * of its source address (before any crypto), the AEAD, the 20 zero bytes,
 * the replay window; then the answer to the source, and only for the
 * highest counter so far the endpoint.  An endpoint that is new or moved
 * is told to the pairs of the session (CANDIDATES), last of all, since a
 * send may end sessions and their registrations with them.
 *
 * The relay takes the peers' datagrams and the two of their handshake
 * (INIT, RESP: the same pair_id at the same place) alike, and trusts
 * nothing of a datagram but its pair_id and its source:
 * the pair must be live, the source the registered endpoint of one side,
 * the other side registered, and the sender within its allowance (two
 * token buckets per session: relay_rate datagrams and relay_bytes bytes a
 * second, each with a burst of one second's worth).  The bytes go on as
 * they came.
 *
 * Sockets bound to a wildcard address ask for the local address of each
 * datagram (IP_PKTINFO, IPV6_RECVPKTINFO) and send from it, so that on a
 * host with several addresses a client hears from the address it wrote
 * to, which its NAT expects; the relay sends to a client from the address
 * its highest REGISTER came to.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/peerhs.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "pairkey.h"
#include "presence.h"
#include "throttle.h"
#include "udp.h"

/* The shortest peer datagram: header, kind and msg_id, tag. */
#define UDP_DGRAM_MIN	(SC_DGRAM_HDR + 9 + SC_MAC_BYTES)
/* Room for the longest datagram and one byte more, to see it is too long. */
#define UDP_BUF		(SC_DGRAM_MAX + 1)
#define UDP_LOG_MAX	1024

/* One listening socket. */
struct udp_sock {
	struct udp	*udp;
	int		 fd;
	int		 family;	/* AF_INET or AF_INET6 */
	int		 wild;		/* bound to a wildcard address */
	uint16_t	 port;
	struct event	*ev;
};

/* The control data of one datagram: its local address. */
union udp_ctl {
	char		buf[CMSG_SPACE(sizeof(struct in_pktinfo)) +
			    CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct cmsghdr	align;
};

RB_HEAD(udp_regs, udp_reg);
RB_HEAD(udp_sids, udp_reg);

struct udp {
	struct udp_env		 env;
	struct udp_sock		 socks[UDP_SOCKETS_MAX];
	size_t			 nsocks;
	int			 loopback;	/* a socket on loopback */
	struct udp_regs		 regs;		/* by reg_id */
	struct udp_sids		 sids;		/* by member sid */
	struct udp_stats	 stats;
	struct udp_stats	 logged;	/* as last logged */

	/* One batch of datagrams being read. */
	struct mmsghdr		 msgs[UDP_BATCH];
	struct iovec		 iov[UDP_BATCH];
	struct sockaddr_storage	 src[UDP_BATCH];
	union udp_ctl		 ctl[UDP_BATCH];
	uint8_t			 buf[UDP_BATCH][UDP_BUF];

	/* Relayed datagrams waiting to leave, all from socket out_sock. */
	struct mmsghdr		 out[UDP_BATCH];
	struct iovec		 out_iov[UDP_BATCH];
	struct sockaddr_storage	 out_dst[UDP_BATCH];
	union udp_ctl		 out_ctl[UDP_BATCH];
	size_t			 nout;
	size_t			 out_sock;
};

typedef void	(*udp_handler_fn)(struct udp *, size_t, const uint8_t *,
		    size_t, const struct sc_cand *, const uint8_t *);

static void	udp_on_register(struct udp *, size_t, const uint8_t *,
		    size_t, const struct sc_cand *, const uint8_t *);
static void	udp_on_relay(struct udp *, size_t, const uint8_t *, size_t,
		    const struct sc_cand *, const uint8_t *);

/*
 * The datagrams the server takes, by first byte, with their length bounds
 * (checked before the handler) and the fate of a wrong length.
 */
static const struct udp_kind {
	uint8_t		first;
	size_t		min;
	size_t		max;
	enum udp_fate	bad_length;
	udp_handler_fn	fn;
} udp_kinds[] = {
	{ SC_UDP_REGISTER, SC_REG_LEN, SC_REG_LEN, UDP_REG_LENGTH,
	    udp_on_register },
	{ SC_DGRAM_VERSION, UDP_DGRAM_MIN, SC_DGRAM_MAX, UDP_RELAY_LENGTH,
	    udp_on_relay },
	{ SC_UDP_INIT, PEERHS_LEN, PEERHS_LEN, UDP_RELAY_LENGTH, udp_on_relay },
	{ SC_UDP_RESP, PEERHS_LEN, PEERHS_LEN, UDP_RELAY_LENGTH, udp_on_relay },
};

static const char *const udp_fate_names[UDP_FATES] = {
	[UDP_REGISTERED] = "registered",
	[UDP_REG_MOVED] = "endpoint_changed",
	[UDP_REG_LENGTH] = "reg_bad_length",
	[UDP_REG_UNKNOWN] = "reg_unknown_id",
	[UDP_REG_LIMITED] = "reg_rate_limited",
	[UDP_REG_BAD_MAC] = "reg_bad_mac",
	[UDP_REG_BAD_PLAIN] = "reg_bad_plain",
	[UDP_REG_REPLAYED] = "reg_replayed",
	[UDP_RELAYED] = "relayed",
	[UDP_RELAY_OFF] = "relay_off",
	[UDP_RELAY_LENGTH] = "relay_bad_length",
	[UDP_RELAY_UNKNOWN] = "relay_unknown_pair",
	[UDP_RELAY_SELF] = "relay_self_pair",
	[UDP_RELAY_SOURCE] = "relay_wrong_source",
	[UDP_RELAY_UNREGISTERED] = "relay_peer_unregistered",
	[UDP_RELAY_LIMITED] = "relay_rate_limited",
	[UDP_OTHER] = "other",
	[UDP_SEND_FAILED] = "send_failed",
};

/* Orders registrations by reg_id. */
static int
udp_reg_cmp(const struct udp_reg *a, const struct udp_reg *b)
{
	if (a->reg_id != b->reg_id)
		return (a->reg_id < b->reg_id ? -1 : 1);
	return (0);
}

/* Orders registrations by their member's session id. */
static int
udp_sid_cmp(const struct udp_reg *a, const struct udp_reg *b)
{
	if (a->member->sid != b->member->sid)
		return (a->member->sid < b->member->sid ? -1 : 1);
	return (0);
}

RB_GENERATE_INTERNAL(udp_regs, udp_reg, id_entry, udp_reg_cmp,
    __attribute__((unused)) static)
RB_GENERATE_INTERNAL(udp_sids, udp_reg, sid_entry, udp_sid_cmp,
    __attribute__((unused)) static)

/* Makes an empty UDP side. */
struct udp *
udp_new(const struct udp_env *env)
{
	struct udp	*u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return (NULL);
	u->env = *env;
	RB_INIT(&u->regs);
	RB_INIT(&u->sids);
	return (u);
}

/* Closes the sockets and frees. */
void
udp_free(struct udp *u)
{
	size_t	i;

	if (u == NULL)
		return;
	for (i = 0; i < u->nsocks; i++) {
		if (u->socks[i].ev != NULL)
			event_free(u->socks[i].ev);
		close(u->socks[i].fd);
	}
	free(u);
}

/* Tells whether a socket address is a loopback or a wildcard one. */
static void
udp_sa_kind(const struct sockaddr *sa, int *loopback, int *wild)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	*loopback = *wild = 0;
	if (sa->sa_family == AF_INET) {
		*loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
		*wild = sin->sin_addr.s_addr == htonl(INADDR_ANY);
	} else if (sa->sa_family == AF_INET6) {
		*loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
		*wild = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	}
}

/* Asks for the local address of each datagram (wildcard sockets). */
static int
udp_want_pktinfo(int fd, int family)
{
	int	one = 1;

	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0)
		return (-1);
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_RECVPKTINFO, &one, sizeof(one)) != 0)
		return (-1);
	return (0);
}

static void	udp_read_cb(evutil_socket_t, short, void *);

/* Opens one socket on sa and watches it. */
int
udp_listen(struct udp *u, const struct sockaddr *sa, socklen_t len)
{
	struct udp_sock		*us;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	int			 fd, loopback, wild, saved;

	if (u->nsocks == UDP_SOCKETS_MAX ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		errno = EINVAL;
		return (-1);
	}
	fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return (-1);
	udp_sa_kind(sa, &loopback, &wild);
	if (bind(fd, sa, len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0 ||
	    (wild && udp_want_pktinfo(fd, sa->sa_family) != 0))
		goto fail;
	us = &u->socks[u->nsocks];
	memset(us, 0, sizeof(*us));
	us->udp = u;
	us->fd = fd;
	us->family = sa->sa_family;
	us->wild = wild;
	us->port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	us->ev = event_new(u->env.base, fd, EV_READ | EV_PERSIST, udp_read_cb,
	    us);
	if (us->ev == NULL || event_priority_set(us->ev, 0) != 0 ||
	    event_add(us->ev, NULL) != 0) {
		if (us->ev != NULL)
			event_free(us->ev);
		errno = ENOMEM;
		goto fail;
	}
	u->nsocks++;
	u->loopback |= loopback;
	return (0);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

/* The UDP port clients register with. */
uint16_t
udp_port(const struct udp *u)
{
	const struct server_conf	*c = u->env.conf;

	if (u->nsocks > 0)
		return (u->socks[0].port);
	return ((uint16_t)(c->udp_port != 0 ? c->udp_port : c->server_port));
}

/* Tells whether a reported local address is worth giving to peers. */
static int
udp_host_usable(const struct udp *u, const struct sc_cand *c)
{
	static const uint8_t	 zero[12];
	const uint8_t		*a = c->addr;

	if (c->af == SC_AF_INET) {
		if (a[0] == 0 || a[0] >= 224)	/* this net; multicast, */
			return (0);		/* reserved, broadcast */
		if (a[0] == 169 && a[1] == 254)	/* link-local */
			return (0);
		return (a[0] != 127 || u->loopback);
	}
	if (c->af != SC_AF_INET6 || a[0] == 0xff)	/* multicast */
		return (0);
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)	/* link-local */
		return (0);
	if (memcmp(a, zero, sizeof(zero)) != 0)
		return (1);
	if (memcmp(a + 12, "\0\0\0\1", 4) == 0)		/* ::1 */
		return (u->loopback);
	return (0);			/* ::, IPv4-compatible */
}

/* The reported addresses that peers may use, each once. */
size_t
udp_hosts(const struct udp *u, struct sc_cand *out, const struct sc_cand *in,
    size_t n)
{
	static const uint8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	struct sc_cand		c;
	size_t			i, j, k = 0;

	for (i = 0; i < n; i++) {
		c = in[i];
		c.kind = SC_CAND_HOST;
		if (c.af == SC_AF_INET6 &&
		    memcmp(c.addr, mapped, sizeof(mapped)) == 0) {
			c.af = SC_AF_INET;
			memmove(c.addr, c.addr + 12, 4);
			memset(c.addr + 4, 0, sizeof(c.addr) - 4);
		}
		if (!udp_host_usable(u, &c))
			continue;
		for (j = 0; j < k; j++) {
			if (out[j].af == c.af &&
			    memcmp(out[j].addr, c.addr, sizeof(c.addr)) == 0)
				break;
		}
		if (j == k)
			out[k++] = c;
	}
	return (k);
}

/* Adds a registration with a fresh reg_id and key. */
int
udp_reg_add(struct udp *u, struct udp_reg *r, struct presence_member *m)
{
	struct udp_reg	key;

	key.member = m;
	if (r->linked || RB_FIND(udp_sids, &u->sids, &key) != NULL)
		return (-1);
	memset(r, 0, sizeof(*r));
	r->member = m;
	sc_random(r->k_reg, sizeof(r->k_reg));
	do
		r->reg_id = sc_random_u64();
	while (RB_INSERT(udp_regs, &u->regs, r) != NULL);
	RB_INSERT(udp_sids, &u->sids, r);
	r->linked = 1;
	return (0);
}

/* Removes a registration and wipes it. */
void
udp_reg_del(struct udp *u, struct udp_reg *r)
{
	if (r->linked) {
		RB_REMOVE(udp_regs, &u->regs, r);
		RB_REMOVE(udp_sids, &u->sids, r);
	}
	sc_wipe(r, sizeof(*r));
}

/* The registration of a reg_id. */
static struct udp_reg *
udp_reg_find(struct udp *u, uint64_t reg_id)
{
	struct udp_reg	key;

	key.reg_id = reg_id;
	return (RB_FIND(udp_regs, &u->regs, &key));
}

/* The registration of a member. */
static struct udp_reg *
udp_reg_of(struct udp *u, struct presence_member *m)
{
	struct udp_reg	key;

	key.member = m;
	return (RB_FIND(udp_sids, &u->sids, &key));
}

/*
 * The replay window over a registration's counters (the shape of section
 * 8's), checked and moved at once since the MAC has been checked: -1 for
 * a counter accepted before or more than 63 below the highest, 1 for a
 * new highest, 0 for an older one not seen yet.
 */
static int
udp_reg_window(struct udp_reg *r, uint64_t ctr)
{
	uint64_t	d;

	if (r->any && ctr <= r->top) {
		d = r->top - ctr;
		if (d >= 64 || ((r->seen >> d) & 1) != 0)
			return (-1);
		r->seen |= (uint64_t)1 << d;
		return (0);
	}
	d = r->any ? ctr - r->top : 64;
	r->seen = d >= 64 ? 1 : (r->seen << d) | 1;
	r->top = ctr;
	r->any = 1;
	return (1);
}

/* Tells whether two endpoints are the same address and port. */
static int
udp_cand_same(const struct sc_cand *a, const struct sc_cand *b)
{
	return (a->af == b->af && a->port == b->port &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0);
}

/* "1.2.3.4:5" of an endpoint, for log lines. */
static void
udp_cand_str(char *out, size_t len, const struct sc_cand *c)
{
	struct sockaddr_storage	ss;

	if (wire_cand_to_sa(&ss, c) == 0)
		snprintf(out, len, "-");
	else
		util_addr_str(out, len, (struct sockaddr *)&ss);
}

/*
 * The socket address of endpoint c for a socket of family: an IPv4
 * endpoint becomes IPv4-mapped on an IPv6 socket.  0 when it cannot be
 * reached from such a socket.
 */
static socklen_t
udp_dest(struct sockaddr_storage *ss, int family, const struct sc_cand *c)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	if (family == AF_INET)
		return (c->af == SC_AF_INET ? wire_cand_to_sa(ss, c) : 0);
	if (c->af == SC_AF_INET6)
		return (wire_cand_to_sa(ss, c));
	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(sin6->sin6_addr.s6_addr + 12, c->addr, 4);
	sin6->sin6_port = htons(c->port);
	return (sizeof(*sin6));
}

/* Puts one control message in ctl; returns the control data's length. */
static size_t
udp_cmsg(union udp_ctl *ctl, int level, int type, const void *data,
    size_t len)
{
	struct cmsghdr	*cm = (struct cmsghdr *)(void *)ctl->buf;

	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
	return (CMSG_SPACE(len));
}

/*
 * Makes mh the message of one datagram of len bytes at data to endpoint
 * to, from socket us, with its destination in ss and, when the socket is
 * a wildcard one and local is not NULL, the local address to send from
 * (16 bytes in the socket's form) in ctl.  -1 when the endpoint cannot
 * be reached from that socket.
 */
static int
udp_msg_make(const struct udp_sock *us, const uint8_t *local,
    const struct sc_cand *to, const uint8_t *data, size_t len,
    struct msghdr *mh, struct iovec *iov, struct sockaddr_storage *ss,
    union udp_ctl *ctl)
{
	struct in_pktinfo	pi;
	struct in6_pktinfo	pi6;

	memset(mh, 0, sizeof(*mh));
	if ((mh->msg_namelen = udp_dest(ss, us->family, to)) == 0)
		return (-1);
	mh->msg_name = ss;
	iov->iov_base = (void *)(uintptr_t)data;
	iov->iov_len = len;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	if (us->wild && local != NULL) {
		memset(ctl, 0, sizeof(*ctl));
		mh->msg_control = ctl->buf;
		if (us->family == AF_INET) {
			memset(&pi, 0, sizeof(pi));
			memcpy(&pi.ipi_spec_dst, local, 4);
			mh->msg_controllen = udp_cmsg(ctl, IPPROTO_IP,
			    IP_PKTINFO, &pi, sizeof(pi));
		} else {
			memset(&pi6, 0, sizeof(pi6));
			memcpy(&pi6.ipi6_addr, local, 16);
			mh->msg_controllen = udp_cmsg(ctl, IPPROTO_IPV6,
			    IPV6_PKTINFO, &pi6, sizeof(pi6));
		}
	}
	return (0);
}

/*
 * Sends one datagram to an endpoint from socket si at once, from the
 * local address local when the socket is a wildcard one and local is not
 * NULL.  0, or -1 (counted).
 */
static int
udp_send(struct udp *u, size_t si, const uint8_t *local,
    const struct sc_cand *to, const uint8_t *data, size_t len)
{
	struct sockaddr_storage	ss;
	struct msghdr		mh;
	struct iovec		iov;
	union udp_ctl		ctl;

	if (si >= u->nsocks || udp_msg_make(&u->socks[si], local, to, data,
	    len, &mh, &iov, &ss, &ctl) != 0)
		goto fail;
	if (sendmsg(u->socks[si].fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    (ssize_t)len)
		return (0);
	log_debug("udp: send len=%zu: %s", len, strerror(errno));
fail:
	u->stats.fate[UDP_SEND_FAILED]++;
	return (-1);
}

/*
 * Sends the queued relayed datagrams, as many per system call as the
 * kernel takes.  One that fails is counted and skipped, and the rest go
 * on; one that leaves is counted as relayed.
 */
static void
udp_flush(struct udp *u)
{
	size_t	off = 0, i;
	int	n;

	while (off < u->nout) {
		n = sendmmsg(u->socks[u->out_sock].fd, u->out + off,
		    (unsigned int)(u->nout - off), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_debug("udp: send len=%zu: %s",
			    u->out_iov[off].iov_len, strerror(errno));
			u->stats.fate[UDP_SEND_FAILED]++;
			off++;
			continue;
		}
		for (i = off; i < off + (size_t)n; i++) {
			u->stats.fate[UDP_RELAYED]++;
			u->stats.relayed_bytes += u->out_iov[i].iov_len;
		}
		off += (size_t)n;
	}
	u->nout = 0;
}

/*
 * Queues one datagram to relay, as udp_send() would send it; its bytes
 * must stay as they are until udp_flush(), which a full queue or another
 * socket calls first.  0, or -1 (counted).
 */
static int
udp_queue(struct udp *u, size_t si, const uint8_t *local,
    const struct sc_cand *to, const uint8_t *data, size_t len)
{
	size_t	i;

	if (si >= u->nsocks)
		goto fail;
	if (u->nout > 0 && (u->out_sock != si || u->nout == UDP_BATCH))
		udp_flush(u);
	i = u->nout;
	if (udp_msg_make(&u->socks[si], local, to, data, len,
	    &u->out[i].msg_hdr, &u->out_iov[i], &u->out_dst[i],
	    &u->out_ctl[i]) != 0)
		goto fail;
	u->out[i].msg_len = 0;
	u->out_sock = si;
	u->nout++;
	return (0);
fail:
	u->stats.fate[UDP_SEND_FAILED]++;
	return (-1);
}

/*
 * REGISTER (section 9.2).  The checks before the AEAD cost a tree lookup
 * and a hash; the answer, to the source, has the REGISTER's length.
 */
static void
udp_on_register(struct udp *u, size_t si, const uint8_t *d, size_t len,
    const struct sc_cand *from, const uint8_t *local)
{
	struct udp_reg		*r;
	struct sc_reg_keys	 keys;
	struct throttle_addr	 ta;
	struct presence_member	*moved = NULL;
	uint8_t			 plain[SC_REG_PLAIN], out[SC_REG_LEN];
	char			 addr[128];
	uint64_t		 ctr;
	size_t			 i;
	int			 w;

	if ((r = udp_reg_find(u, util_get_be64(d + 1))) == NULL) {
		u->stats.fate[UDP_REG_UNKNOWN]++;
		return;
	}
	memset(&ta, 0, sizeof(ta));
	ta.af = from->af;
	memcpy(ta.b, from->addr, sizeof(ta.b));
	if (throttle_rate_take(u->env.throttle, &ta, UDP_REG_RATE,
	    UDP_REG_BURST, util_now_ms()) != 0) {
		u->stats.fate[UDP_REG_LIMITED]++;
		return;
	}
	sc_reg_derive(&keys, r->k_reg);
	if (sc_reg_open(plain, keys.c2s, d, len) != 0) {
		u->stats.fate[UDP_REG_BAD_MAC]++;
		goto out;
	}
	for (i = 0; i < sizeof(plain) && plain[i] == 0; i++)
		;
	if (i < sizeof(plain)) {
		u->stats.fate[UDP_REG_BAD_PLAIN]++;
		goto out;
	}
	ctr = util_get_be64(d + 9);
	if ((w = udp_reg_window(r, ctr)) < 0) {
		u->stats.fate[UDP_REG_REPLAYED]++;
		goto out;
	}
	u->stats.fate[UDP_REGISTERED]++;
	wire_endpoint_put(plain, from);
	plain[SC_ENDPOINT_BYTES] = 0;
	if (sc_reg_seal(out, SC_UDP_REGISTERED, keys.s2c, r->reg_id, ctr,
	    plain) == 0)
		(void)udp_send(u, si, local, from, out, sizeof(out));
	else
		u->stats.fate[UDP_SEND_FAILED]++;
	if (w == 0)
		goto out;
	r->sock = (uint8_t)si;
	r->has_local = local != NULL;
	if (local != NULL)
		memcpy(r->local, local, sizeof(r->local));
	if (presence_set_srflx(r->member, from)) {
		u->stats.fate[UDP_REG_MOVED]++;
		udp_cand_str(addr, sizeof(addr), from);
		log_info("udp: endpoint sid=%llu user=%s addr=%s",
		    (unsigned long long)r->member->sid, r->member->name, addr);
		moved = r->member;
	}
out:
	sc_wipe(&keys, sizeof(keys));
	sc_wipe(plain, sizeof(plain));
	if (moved != NULL && moved->joined)
		pairkey_announce(u->env.pairkey, moved);
}

/*
 * A peer datagram to relay (section 9.3): from one side's endpoint to the
 * other's, within the sender's allowance, unchanged.  It is queued, and
 * counted as relayed when it leaves (udp_flush()).
 */
static void
udp_on_relay(struct udp *u, size_t si, const uint8_t *d, size_t len,
    const struct sc_cand *from, const uint8_t *local)
{
	const struct server_conf	*c = u->env.conf;
	struct presence_member		*side[2], *dst;
	struct udp_reg			*rs, *rd;
	uint64_t			 now, rate, bytes;
	int				 a, b;

	(void)si;
	(void)local;
	if (!c->relay) {
		u->stats.fate[UDP_RELAY_OFF]++;
		return;
	}
	switch (pairkey_route(u->env.pairkey, util_get_be64(d + 1), side)) {
	case 0:
		u->stats.fate[UDP_RELAY_UNKNOWN]++;
		return;
	case 1:
		u->stats.fate[UDP_RELAY_SELF]++;
		return;
	}
	a = udp_cand_same(&side[0]->srflx, from);
	b = udp_cand_same(&side[1]->srflx, from);
	if (a == b || (rs = udp_reg_of(u, side[a ? 0 : 1])) == NULL) {
		u->stats.fate[UDP_RELAY_SOURCE]++;
		return;
	}
	dst = side[a ? 1 : 0];
	if (dst->srflx.port == 0 || (rd = udp_reg_of(u, dst)) == NULL) {
		u->stats.fate[UDP_RELAY_UNREGISTERED]++;
		return;
	}
	now = util_now_ms();
	rate = (uint64_t)c->relay_rate;
	bytes = (uint64_t)c->relay_bytes;
	if (util_bucket_room(&rs->relay_dgrams, rate, rate, now) < 1 ||
	    util_bucket_room(&rs->relay_bytes, bytes, bytes, now) < len) {
		/* Counted, with no log line per datagram. */
		u->stats.fate[UDP_RELAY_LIMITED]++;
		return;
	}
	util_bucket_take(&rs->relay_dgrams, 1);
	util_bucket_take(&rs->relay_bytes, len);
	(void)udp_queue(u, rd->sock, rd->has_local ? rd->local : NULL,
	    &dst->srflx, d, len);
}

/* One datagram, from src, that came to the local address local or NULL. */
static void
udp_dispatch(struct udp *u, size_t si, const uint8_t *d, size_t len,
    const struct sockaddr *src, const uint8_t *local)
{
	const struct udp_kind	*k;
	struct sc_cand		 from;
	size_t			 i;

	if (len == 0 || wire_cand_from_sa(&from, SC_CAND_SRFLX, src) != 0) {
		u->stats.fate[UDP_OTHER]++;
		return;
	}
	for (i = 0; i < sizeof(udp_kinds) / sizeof(udp_kinds[0]); i++) {
		k = &udp_kinds[i];
		if (k->first != d[0])
			continue;
		if (len < k->min || len > k->max) {
			u->stats.fate[k->bad_length]++;
			return;
		}
		k->fn(u, si, d, len, &from, local);
		return;
	}
	u->stats.fate[UDP_OTHER]++;
}

/*
 * A datagram from outside the read callback: no local address known; what
 * it relays leaves before the return.
 */
void
udp_input(struct udp *u, size_t sock, const uint8_t *d, size_t len,
    const struct sockaddr *src)
{
	udp_dispatch(u, sock, d, len, src, NULL);
	udp_flush(u);
}

/*
 * The local address a datagram came to, from its control data, in the
 * socket's form (an IPv4 address on an IPv6 socket as IPv4-mapped); -1
 * when it is not there.
 */
static int
udp_local_of(const struct udp_sock *us, struct msghdr *mh, uint8_t out[16])
{
	struct cmsghdr		*cm;
	struct in_pktinfo	 pi;
	struct in6_pktinfo	 pi6;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(pi6))) {
			memcpy(&pi6, CMSG_DATA(cm), sizeof(pi6));
			memcpy(out, &pi6.ipi6_addr, 16);
			return (0);
		}
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			memset(out, 0, 16);
			if (us->family == AF_INET6) {
				out[10] = out[11] = 0xff;
				memcpy(out + 12, &pi.ipi_addr, 4);
			} else
				memcpy(out, &pi.ipi_addr, 4);
			return (0);
		}
	}
	return (-1);
}

/* Sets up the batch buffers for one recvmmsg. */
static void
udp_batch_prepare(struct udp *u)
{
	struct msghdr	*mh;
	size_t		 i;

	for (i = 0; i < UDP_BATCH; i++) {
		u->iov[i].iov_base = u->buf[i];
		u->iov[i].iov_len = UDP_BUF;
		mh = &u->msgs[i].msg_hdr;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &u->src[i];
		mh->msg_namelen = sizeof(u->src[i]);
		mh->msg_iov = &u->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = u->ctl[i].buf;
		mh->msg_controllen = sizeof(u->ctl[i].buf);
		u->msgs[i].msg_len = 0;
	}
}

/* A socket is readable: a bounded number of datagrams. */
static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock	*us = arg;
	struct udp	*u = us->udp;
	uint8_t		 local[16];
	size_t		 si = (size_t)(us - u->socks);
	int		 b, i, n, have;

	(void)what;
	for (b = 0; b < UDP_BATCHES; b++) {
		udp_batch_prepare(u);
		n = recvmmsg(fd, u->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_debug("udp: recvmmsg: %s",
				    strerror(errno));
			return;
		}
		for (i = 0; i < n; i++) {
			have = us->wild && udp_local_of(us,
			    &u->msgs[i].msg_hdr, local) == 0;
			udp_dispatch(u, si, u->buf[i], u->msgs[i].msg_len,
			    (struct sockaddr *)&u->src[i], have ? local : NULL);
		}
		udp_flush(u);
		if (n < UDP_BATCH)
			return;
	}
}

/* The counts. */
const struct udp_stats *
udp_stats(const struct udp *u)
{
	return (&u->stats);
}

/* A fate's name for log lines. */
const char *
udp_fate_name(enum udp_fate f)
{
	if ((unsigned)f >= UDP_FATES)
		return ("unknown");
	return (udp_fate_names[f]);
}

/* One log line of the counts that are not zero, when any changed. */
void
udp_log_stats(struct udp *u)
{
	char	line[UDP_LOG_MAX];
	size_t	i, off = 0;
	int	n;

	if (memcmp(&u->stats, &u->logged, sizeof(u->stats)) == 0)
		return;
	u->logged = u->stats;
	line[0] = '\0';
	for (i = 0; i < UDP_FATES; i++) {
		if (u->stats.fate[i] == 0)
			continue;
		n = snprintf(line + off, sizeof(line) - off, " %s=%llu",
		    udp_fate_names[i], (unsigned long long)u->stats.fate[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - off)
			break;
		off += (size_t)n;
	}
	log_info("udp: totals%s relayed_bytes=%llu", line,
	    (unsigned long long)u->stats.relayed_bytes);
}
