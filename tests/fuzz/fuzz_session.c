/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the daemon's sessions behind a completed handshake, so that
 * the fuzzer reaches the message handlers and the state table, not only
 * the framing.  Each input gets a fresh set of sessions (with presence,
 * pair keys, a UDP side without sockets, and throttle) and two clients on
 * socketpairs, each of which first does a real handshake.  The input is
 * then a list of records [op u8][len u16 big-endian][len bytes]; bit 0 of
 * op picks the client and the rest what it does:
 *   0: the bytes are one message, sealed on the client's channel and sent
 *      as a frame (the handlers see it);
 *   1: the bytes go to the server raw (framing faults, forged frames);
 *   2: every hash job handed over gets its result: status 0 (logged in)
 *      when the first byte is even, else the first byte (an ERROR code,
 *      or a bad status);
 *   3: the client reads what came, and every frame must open on its
 *      channel and decode as a server message; after a GOODBYE nothing;
 *   4: shutdown: GOODBYE 1 to every session.
 * The event loop runs after each record.  The sessions have a mailbox on
 * a database of the process's own, where the account "bob" has an identity
 * key and room for a few stored messages, so that STORE, its delivery at
 * a login of bob and STOREACK run for real.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "server/config.h"
#include "sealchat/crypto.h"
#include "sealchat/handshake.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "mailbox.h"
#include "pairkey.h"
#include "presence.h"
#include "throttle.h"
#include "session.h"
#include "store.h"
#include "udp.h"

#define FUZZ_CLIENTS	2
#define FUZZ_JOBS	8
#define FUZZ_MAX_FRAME	SC_FRAME_MIN	/* small: limits within reach */
#define FUZZ_TRIES	64		/* loop turns a write may wait */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A hash job waiting for its result. */
struct fuzz_job {
	uint64_t	sid;
	uint8_t		op;
	char		name[SC_NAME_MAX + 1];
};

/* The fuzzer's end of one connection. */
struct fuzz_client {
	int			fd;
	struct sc_channel	ch;
	struct evbuffer		*in;
	int			bye;	/* GOODBYE seen */
};

static struct event_base	*fuzz_base;
static struct server_conf	 fuzz_conf;
static struct sc_keypair	 fuzz_kp;
static struct session_set	*fuzz_set;
static struct fuzz_job		 fuzz_jobs[FUZZ_JOBS];
static size_t			 fuzz_njobs;
static uint8_t			 fuzz_plain[FUZZ_MAX_FRAME];
static char			 fuzz_dir[] = "/tmp/sealchat-fuzz-sess-XXXXXX";
static char			 fuzz_db[PATH_MAX];

/* Records a hash job (its handle is its index); a full list is busy. */
static int
fuzz_session_hash(void *arg, uint64_t sid, uint8_t op, const char *name,
    const uint8_t *pass, size_t pass_len, uint64_t delay_ms, unsigned rank)
{
	struct fuzz_job	*j;

	(void)arg;
	(void)delay_ms;
	(void)rank;
	if (pass == NULL || !wire_name_valid(name, strlen(name)))
		__builtin_trap();
	if (op == SC_MSG_IDENTITY) {
		/* A key to store, no hash: nothing comes back for it. */
		if (pass_len != SC_KEY_BYTES)
			__builtin_trap();
		return (0);
	}
	if (pass_len < SC_PASS_MIN || pass_len > SC_PASS_MAX ||
	    (op != SC_MSG_SIGN && op != SC_MSG_AUTH))
		__builtin_trap();
	if (fuzz_njobs == FUZZ_JOBS)
		return (-1);
	j = &fuzz_jobs[fuzz_njobs];
	j->sid = sid;
	j->op = op;
	memcpy(j->name, name, strlen(name) + 1);
	return ((int)fuzz_njobs++);
}

/* Runs the loop until nothing is left to do now. */
static void
fuzz_session_pump(void)
{
	int	i;

	for (i = 0; i < 4; i++)
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
}

/* Writes all of buf, or as much as the server takes in a few turns. */
static void
fuzz_session_write(struct fuzz_client *c, const uint8_t *p, size_t len)
{
	ssize_t	n;
	int	tries = 0;

	while (len > 0 && tries < FUZZ_TRIES) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return;		/* the server closed */
		fuzz_session_pump();
		tries++;
	}
}

/* Reads what arrived into the client's input; 0 at end of stream. */
static int
fuzz_session_fill(struct fuzz_client *c)
{
	uint8_t	buf[4096];
	ssize_t	n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			if (evbuffer_add(c->in, buf, (size_t)n) != 0)
				__builtin_trap();
			continue;
		}
		return (n == 0 ? 0 : 1);
	}
}

/* The client's side of the handshake; -1 when it could not finish. */
static int
fuzz_session_hello(struct fuzz_client *c)
{
	struct handshake_client	 hs;
	struct sc_msg		 m;
	uint8_t			 hdr[SC_FRAME_HDR];
	const uint8_t		*body;
	size_t			 len;
	int			 i;

	if (handshake_client_hello(&hs, fuzz_kp.pk) != 0)
		return (-1);
	wire_frame_header(hdr, SC_HELLO_BODY);
	fuzz_session_write(c, hdr, sizeof(hdr));
	fuzz_session_write(c, hs.hello, SC_HELLO_BODY);
	for (i = 0; i < FUZZ_TRIES; i++) {
		fuzz_session_pump();
		(void)fuzz_session_fill(c);
		if (wire_frame_pull(c->in, 1, SC_FRAME_LIMIT, &body, &len) ==
		    WIRE_FRAME_READY)
			break;
	}
	if (i == FUZZ_TRIES)
		__builtin_trap();	/* no answer to a good HELLO */
	if (len < HANDSHAKE_CONFIRM_MIN || len - SC_KEY_BYTES - SC_MAC_BYTES >
	    sizeof(fuzz_plain) || handshake_client_confirm(&c->ch, &hs,
	    fuzz_plain, body, len) != 0 || wire_msg_decode(&m, fuzz_plain,
	    len - SC_KEY_BYTES - SC_MAC_BYTES) != WIRE_MSG_OK ||
	    m.type != SC_MSG_WELCOME || m.max_frame != FUZZ_MAX_FRAME)
		__builtin_trap();
	wire_frame_drop(c->in, len);
	return (0);
}

/* Connects a client, accepted as server.c would, and shakes hands. */
static int
fuzz_session_connect(struct session_set *set, struct throttle *throttle,
    struct fuzz_client *c)
{
	struct sockaddr_in	sin;
	struct throttle_addr	la;
	int			sv[2];

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if ((c->in = evbuffer_new()) == NULL)
		return (-1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) != 0)
		return (-1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	throttle_addr_from(&la, (struct sockaddr *)&sin);
	if (throttle_session_add(throttle, &la, FUZZ_CLIENTS) != 0 ||
	    throttle_unauth_add(throttle, &la, FUZZ_CLIENTS) != 0 ||
	    session_set_accept(set, sv[0], (struct sockaddr *)&sin,
	    sizeof(sin)) != 0) {
		close(sv[0]);
		close(sv[1]);
		return (-1);
	}
	c->fd = sv[1];
	return (fuzz_session_hello(c));
}

/* Seals one message and sends it as a frame. */
static void
fuzz_session_send(struct fuzz_client *c, const uint8_t *msg, size_t len)
{
	uint8_t	frame[SC_FRAME_HDR + 512 + SC_MAC_BYTES];

	if (len == 0 || len > 512)
		return;
	wire_frame_header(frame, (uint32_t)(len + SC_MAC_BYTES));
	if (sc_channel_seal(&c->ch, frame + SC_FRAME_HDR, msg, len) != 0)
		__builtin_trap();
	fuzz_session_write(c, frame, SC_FRAME_HDR + len + SC_MAC_BYTES);
}

/*
 * Reads the server's frames: each opens in order on the channel and is a
 * well-formed server message, and nothing follows a GOODBYE.
 */
static void
fuzz_session_read(struct fuzz_client *c)
{
	struct sc_msg	 m;
	const uint8_t	*body;
	size_t		 len;
	int		 rc;

	(void)fuzz_session_fill(c);
	while ((rc = wire_frame_pull(c->in, 1, FUZZ_MAX_FRAME, &body,
	    &len)) == WIRE_FRAME_READY) {
		if (c->bye || len <= SC_MAC_BYTES ||
		    sc_channel_open(&c->ch, fuzz_plain, body, len) != 0 ||
		    wire_msg_decode(&m, fuzz_plain, len - SC_MAC_BYTES) !=
		    WIRE_MSG_OK || m.type <= SC_MSG_WELCOME)
			__builtin_trap();
		if (m.type == SC_MSG_GOODBYE)
			c->bye = 1;
		wire_frame_drop(c->in, len);
	}
	if (rc != WIRE_FRAME_PARTIAL)
		__builtin_trap();	/* the server sent a bad length */
}

/* Hands every waiting hash job its result. */
static void
fuzz_session_results(const uint8_t *b, size_t n)
{
	struct fuzz_job	jobs[FUZZ_JOBS];
	size_t		i, count = fuzz_njobs;
	int		status;

	status = n == 0 || b[0] % 2 == 0 ? 0 : b[0];
	memcpy(jobs, fuzz_jobs, sizeof(jobs));
	fuzz_njobs = 0;
	for (i = 0; i < count; i++)
		session_set_hash_done(fuzz_set, jobs[i].sid, jobs[i].op,
		    status, jobs[i].name);
}

/* Makes the key pair and the loop once. */
/* Removes the mailbox's database and its folder, at exit. */
static void
fuzz_session_cleanup(void)
{
	char	path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s-wal", fuzz_db);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s-shm", fuzz_db);
	(void)unlink(path);
	(void)unlink(fuzz_db);
	(void)rmdir(fuzz_dir);
}

/* The database of the mailbox: bob, with an identity key. */
static void
fuzz_session_db(void)
{
	static const char	hash[SC_PWHASH_LEN] =
	    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
	struct store		*st;
	uint8_t			 key[SC_KEY_BYTES];
	char			 err[256];
	int			 changed;

	if (mkdtemp(fuzz_dir) == NULL)
		__builtin_trap();
	snprintf(fuzz_db, sizeof(fuzz_db), "%s/sealchat.db", fuzz_dir);
	atexit(fuzz_session_cleanup);
	memset(key, 'b', sizeof(key));
	if ((st = store_open(fuzz_db, err, sizeof(err))) == NULL ||
	    store_add(st, "bob", hash, 0) != STORE_OK ||
	    store_set_identity(st, "bob", key, &changed) != STORE_OK)
		__builtin_trap();
	store_free(st);
}

static void
fuzz_session_init(void)
{
	uint8_t	sk[SC_KEY_BYTES];

	if (sc_crypto_init() != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		__builtin_trap();
	log_init("fuzz_session", LOG_LVL_ERROR);
	memset(sk, 0x5c, sizeof(sk));
	if (sc_keypair_from_sk(&fuzz_kp, sk) != 0 ||
	    (fuzz_base = event_base_new()) == NULL ||
	    event_base_priority_init(fuzz_base, 2) != 0)
		__builtin_trap();
	server_config_defaults(&fuzz_conf);
	fuzz_conf.max_frame = FUZZ_MAX_FRAME;
	fuzz_conf.output_cap = 4096;
	fuzz_conf.queue_max_messages = 4;
	fuzz_conf.queue_max_bytes = 4 * SC_MAIL_BOX_MAX;
	fuzz_session_db();
}

/* One fuzz input: a fresh set, two clients, the records. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_client	 cl[FUZZ_CLIENTS];
	struct session_env	 env;
	struct udp_env		 uenv;
	struct presence		*presence;
	struct pairkey		*pairkey;
	struct throttle		*throttle;
	struct udp		*udp;
	struct mailbox		*mailbox;
	struct throttle_conf	 tc;
	struct fuzz_client	*c;
	char			 err[256];
	size_t			 off = 0, n, i;
	uint8_t			 op;

	if (fuzz_base == NULL)
		fuzz_session_init();
	presence = presence_new(fuzz_base, FUZZ_MAX_FRAME - SC_MAC_BYTES,
	    session_deliver, NULL);
	pairkey = presence != NULL ? pairkey_new(presence) : NULL;
	throttle = throttle_new(0);
	if (pairkey != NULL)
		pairkey_set_relay(pairkey, fuzz_conf.relay);
	memset(&uenv, 0, sizeof(uenv));
	uenv.base = fuzz_base;
	uenv.conf = &fuzz_conf;
	uenv.pairkey = pairkey;
	uenv.throttle = throttle;
	udp = pairkey != NULL && throttle != NULL ? udp_new(&uenv) : NULL;
	mailbox = presence != NULL ? mailbox_new(fuzz_base, &fuzz_conf,
	    fuzz_db, presence, NULL, err, sizeof(err)) : NULL;
	if (presence == NULL || pairkey == NULL || throttle == NULL ||
	    udp == NULL || mailbox == NULL)
		__builtin_trap();
	memset(&tc, 0, sizeof(tc));
	tc.fail_delay_ms = (uint64_t)fuzz_conf.fail_delay_ms;
	tc.fail_free = (unsigned)fuzz_conf.fail_free;
	tc.v6_prefix = (unsigned)fuzz_conf.ipv6_prefix;
	tc.logins_per_addr = (unsigned)fuzz_conf.max_logins_per_addr;
	tc.signups_per_hour = (unsigned)fuzz_conf.signups_per_hour;
	throttle_configure(throttle, &tc);
	memset(&env, 0, sizeof(env));
	env.base = fuzz_base;
	env.conf = &fuzz_conf;
	env.kp = &fuzz_kp;
	env.presence = presence;
	env.pairkey = pairkey;
	env.udp = udp;
	env.throttle = throttle;
	env.mailbox = mailbox;
	env.hash = fuzz_session_hash;
	if ((fuzz_set = session_set_new(&env)) == NULL)
		__builtin_trap();
	fuzz_njobs = 0;
	for (i = 0; i < FUZZ_CLIENTS; i++) {
		if (fuzz_session_connect(fuzz_set, throttle, &cl[i]) != 0)
			__builtin_trap();
	}

	while (size - off >= 3) {
		op = data[off];
		n = ((size_t)data[off + 1] << 8) | data[off + 2];
		off += 3;
		if (n > size - off)
			n = size - off;
		c = &cl[op & 1];
		switch ((op >> 1) % 5) {
		case 0:
			fuzz_session_send(c, data + off, n);
			break;
		case 1:
			fuzz_session_write(c, data + off, n);
			break;
		case 2:
			fuzz_session_results(data + off, n);
			break;
		case 3:
			fuzz_session_read(c);
			break;
		default:
			session_set_goodbye_all(fuzz_set, SC_BYE_SHUTDOWN,
			    NULL, NULL);
			break;
		}
		off += n;
		fuzz_session_pump();
	}
	for (i = 0; i < FUZZ_CLIENTS; i++)
		fuzz_session_read(&cl[i]);

	session_set_free(fuzz_set);
	fuzz_set = NULL;
	mailbox_free(mailbox);
	udp_free(udp);
	pairkey_free(pairkey);
	presence_free(presence);
	throttle_free(throttle);
	for (i = 0; i < FUZZ_CLIENTS; i++) {
		close(cl[i].fd);
		evbuffer_free(cl[i].in);
		sc_channel_wipe(&cl[i].ch);
	}
	return (0);
}
