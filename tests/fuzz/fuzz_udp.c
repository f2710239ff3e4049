/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: datagrams through the daemon's UDP input (src/server/udp.c:
 * the table by first byte, REGISTER and its window, the relay), behind
 * real registrations, so that the fuzzer reaches the code behind the MAC
 * and the relay's forwarding.  Each input gets a fresh roster, pair keys,
 * throttle and UDP side on 127.0.0.1, three members online with UDP and a
 * registration each (ann, ben, cat), the pairs ann-ben, ann-ann and
 * ben-cat, and three client sockets that the answers go to.  The input
 * is a list of records [op u8][len u16 big-endian][len bytes]; op & 3:
 *   0: the bytes are one raw datagram;
 *   1: a REGISTER of member b[0] % 3 with counter b[1..8], its 20 bytes
 *      b[9..28] (zeros where absent) sealed with the right key (so the
 *      fuzzer gets past the MAC);
 *   2: a peer datagram: version 1, the pair id of pair b[0] % 4 (the
 *      fourth: b[1..8]), then b[9..] for the rest;
 *   3: b[0] & 1: the relay turned off or on (as a reload does); else the
 *      member b[1] % 3 is dropped when its next message comes (as a
 *      session over its output cap is: registration, pairs and roster).
 * The datagrams of ops 0 to 2 come from source (op >> 2) % 4: one of the
 * three client sockets, or an IPv6 address nothing listens on.  After
 * each, what came back to the clients is checked: at most one datagram,
 * never longer than the one that caused it (no amplification), and
 * every message to a member decodes.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "server/config.h"
#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "pairkey.h"
#include "presence.h"
#include "throttle.h"
#include "udp.h"

#define FUZZ_MEMBERS	3
#define FUZZ_SOURCES	4	/* three sockets and an IPv6 address */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_udp {
	struct presence		*p;
	struct pairkey		*pk;
	struct throttle		*t;
	struct udp		*u;
	struct presence_member	 m[FUZZ_MEMBERS];
	struct udp_reg		 r[FUZZ_MEMBERS];
	struct presence_member	*drop;		/* at its next message */
	uint64_t		 pair_id[3];	/* ann-ben, ann-ann, ben-cat */
	uint64_t		 last_pairkey;	/* id in the last PAIRKEY */
	int			 fd[FUZZ_SOURCES - 1];
	struct sockaddr_storage	 src[FUZZ_SOURCES];
};

static struct event_base	*fuzz_base;
static struct server_conf	 fuzz_conf;
static struct fuzz_udp		*fuzz_cur;

/*
 * The roster's delivery: every message decodes; the member to drop is
 * dropped inside the send, as session.c drops a session.
 */
static int
fuzz_udp_deliver(struct presence_member *to, const uint8_t *msg,
    size_t len, void *arg)
{
	struct fuzz_udp	*f = fuzz_cur;
	struct sc_msg	 m;
	size_t		 i = (size_t)(to - f->m);

	(void)arg;
	if (wire_msg_decode(&m, msg, len) != WIRE_MSG_OK)
		__builtin_trap();
	if (m.type == SC_MSG_PAIRKEY)
		f->last_pairkey = m.pair_id;
	if (to != f->drop)
		return (0);
	f->drop = NULL;
	udp_reg_del(f->u, &f->r[i]);
	pairkey_forget(f->pk, to);
	presence_leave(f->p, to);
	return (-1);
}

/* A client socket on 127.0.0.1; its address goes to *ss. */
static int
fuzz_udp_socket(struct sockaddr_storage *ss)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(*ss);
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)ss, &len) != 0)
		__builtin_trap();
	return (fd);
}

/* The pair id of the pair a asks for with the member called name. */
static uint64_t
fuzz_udp_pair(struct fuzz_udp *f, size_t a, const char *name)
{
	f->last_pairkey = 0;
	if (pairkey_request(f->pk, &f->m[a], name) != 0)
		__builtin_trap();
	return (f->last_pairkey);
}

/* Makes the roster, pairs, UDP side and client sockets of one input. */
static void
fuzz_udp_setup(struct fuzz_udp *f)
{
	const char		*names[FUZZ_MEMBERS] = { "ann", "ben", "cat" };
	struct sockaddr_in	 sin;
	struct sockaddr_in6	*sin6;
	struct udp_env		 env;
	struct sc_cand		 h;
	size_t			 i;

	memset(f, 0, sizeof(*f));
	fuzz_cur = f;
	fuzz_conf.relay = 1;
	f->p = presence_new(fuzz_base, 4096, fuzz_udp_deliver, NULL);
	f->pk = f->p != NULL ? pairkey_new(f->p) : NULL;
	f->t = throttle_new(0);
	if (f->pk == NULL || f->t == NULL)
		__builtin_trap();
	pairkey_set_relay(f->pk, 1);
	memset(&env, 0, sizeof(env));
	env.base = fuzz_base;
	env.conf = &fuzz_conf;
	env.pairkey = f->pk;
	env.throttle = f->t;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((f->u = udp_new(&env)) == NULL ||
	    udp_listen(f->u, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		__builtin_trap();
	memset(&h, 0, sizeof(h));
	h.af = SC_AF_INET;
	memcpy(h.addr, "\x7f\x00\x00\x01", 4);
	for (i = 0; i < FUZZ_MEMBERS; i++) {
		presence_member_init(&f->m[i], 100 + i);
		f->m[i].has_idkey = 1;
		memset(f->m[i].idkey, (int)(0x10 + i), SC_KEY_BYTES);
		if (presence_join(f->p, &f->m[i], names[i]) != 0 ||
		    udp_reg_add(f->u, &f->r[i], &f->m[i]) != 0)
			__builtin_trap();
		presence_set_hosts(&f->m[i], (uint16_t)(1000 + i), &h, 1);
		f->fd[i] = fuzz_udp_socket(&f->src[i]);
	}
	sin6 = (struct sockaddr_in6 *)&f->src[FUZZ_SOURCES - 1];
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr.s6_addr[0] = 0x20;
	sin6->sin6_addr.s6_addr[1] = 0x01;
	sin6->sin6_addr.s6_addr[15] = 1;
	sin6->sin6_port = htons(9);
	f->pair_id[0] = fuzz_udp_pair(f, 0, "ben");
	f->pair_id[1] = fuzz_udp_pair(f, 0, "ann");
	f->pair_id[2] = fuzz_udp_pair(f, 1, "cat");
}

/* Ends the members as sessions do, frees, closes. */
static void
fuzz_udp_teardown(struct fuzz_udp *f)
{
	size_t	i;

	for (i = 0; i < FUZZ_MEMBERS; i++) {
		udp_reg_del(f->u, &f->r[i]);
		pairkey_forget(f->pk, &f->m[i]);
		presence_leave(f->p, &f->m[i]);
		close(f->fd[i]);
	}
	udp_free(f->u);
	pairkey_free(f->pk);
	presence_free(f->p);
	throttle_free(f->t);
	fuzz_cur = NULL;
}

/*
 * Hands one datagram from source si to the UDP side, then checks what the
 * clients got: at most one datagram, and no longer than this one.
 */
static void
fuzz_udp_put(struct fuzz_udp *f, size_t si, const uint8_t *d, size_t len)
{
	uint8_t	buf[SC_DGRAM_MAX + 64];
	ssize_t	n;
	size_t	i, got = 0;

	udp_input(f->u, 0, d, len, (struct sockaddr *)&f->src[si]);
	for (i = 0; i < FUZZ_MEMBERS; i++) {
		while ((n = recv(f->fd[i], buf, sizeof(buf), 0)) >= 0) {
			if ((size_t)n > len || ++got > 1)
				__builtin_trap();
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			__builtin_trap();
	}
}

/* A REGISTER of a member, sealed right, from the record's bytes. */
static void
fuzz_udp_register(struct fuzz_udp *f, size_t si, const uint8_t *b,
    size_t n)
{
	struct sc_reg_keys	 keys;
	struct udp_reg		*r;
	uint8_t			 plain[SC_REG_PLAIN], d[SC_REG_LEN];
	uint8_t			 ctr[8];

	if (n == 0)
		return;
	r = &f->r[b[0] % FUZZ_MEMBERS];
	if (!r->linked)
		return;
	memset(ctr, 0, sizeof(ctr));
	memcpy(ctr, b + 1, n - 1 < sizeof(ctr) ? n - 1 : sizeof(ctr));
	memset(plain, 0, sizeof(plain));
	if (n > 9)
		memcpy(plain, b + 9, n - 9 < sizeof(plain) ? n - 9 :
		    sizeof(plain));
	sc_reg_derive(&keys, r->k_reg);
	if (sc_reg_seal(d, SC_UDP_REGISTER, keys.c2s, r->reg_id,
	    util_get_be64(ctr), plain) != 0)
		__builtin_trap();
	sc_wipe(&keys, sizeof(keys));
	fuzz_udp_put(f, si, d, sizeof(d));
}

/* A peer datagram of one of the pairs (or any id), from the bytes. */
static void
fuzz_udp_relay(struct fuzz_udp *f, size_t si, const uint8_t *b, size_t n)
{
	uint8_t		d[SC_DGRAM_MAX + 16];
	uint64_t	id;
	size_t		len;

	if (n == 0)
		return;
	id = b[0] % 4 < 3 ? f->pair_id[b[0] % 4] :
	    (n >= 9 ? util_get_be64(b + 1) : 0);
	len = n > 9 ? n - 9 : 0;
	if (len > sizeof(d) - 9)
		len = sizeof(d) - 9;
	memset(d, 0, sizeof(d));
	d[0] = SC_DGRAM_VERSION;
	util_put_be64(d + 1, id);
	if (len > 0)
		memcpy(d + 9, b + 9, len);
	fuzz_udp_put(f, si, d, 9 + len);
}

/* Feeds one input's records to a fresh UDP side. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_udp	 f;
	size_t		 off = 0, n, si;
	uint8_t		 op;

	if (fuzz_base == NULL) {
		if (sc_crypto_init() != 0)
			__builtin_trap();
		log_init("fuzz_udp", LOG_LVL_ERROR);
		if ((fuzz_base = event_base_new()) == NULL ||
		    event_base_priority_init(fuzz_base, 2) != 0)
			__builtin_trap();
		server_config_defaults(&fuzz_conf);
		fuzz_conf.relay_rate = 20;
	}
	fuzz_udp_setup(&f);
	while (size - off >= 3) {
		op = data[off];
		n = ((size_t)data[off + 1] << 8) | data[off + 2];
		off += 3;
		if (n > size - off)
			n = size - off;
		si = (size_t)(op >> 2) % FUZZ_SOURCES;
		switch (op & 3) {
		case 0:
			fuzz_udp_put(&f, si, data + off, n);
			break;
		case 1:
			fuzz_udp_register(&f, si, data + off, n);
			break;
		case 2:
			fuzz_udp_relay(&f, si, data + off, n);
			break;
		default:
			if (n > 0 && (data[off] & 1) != 0) {
				fuzz_conf.relay = !fuzz_conf.relay;
				pairkey_set_relay(f.pk, fuzz_conf.relay);
			} else if (n > 1)
				f.drop = &f.m[data[off + 1] % FUZZ_MEMBERS];
			break;
		}
		off += n;
	}
	fuzz_udp_teardown(&f);
	return (0);
}
