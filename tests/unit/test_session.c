/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/server/session.c through its seam: a set of sessions
 * made here with a real presence roster, pair keys, a UDP side (without a
 * socket: the sessions only register in it) and throttle, and a hash
 * function that only records the jobs (their results are handed back with
 * session_set_hash_done(), as server.c does for the hash pool).  Each
 * client is the far end of a socketpair that speaks the protocol with the
 * real handshake and channel, and the event loop runs between its steps.
 *
 * The state table of docs/protocol.md section 7 is checked whole: every
 * client request in every state gets the answer the document names,
 * ERROR 6, or the close; then the frame limits, the output cap, the
 * linger, the deadlines, and the shutdown; closed sign-up, the operator's
 * view of the sessions (states, who is online, ending one, a login that
 * races a lock), and the figures each session counts.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "server/config.h"
#include "sealchat/crypto.h"
#include "sealchat/handshake.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "mailbox.h"
#include "metrics.h"
#include "pairkey.h"
#include "presence.h"
#include "throttle.h"
#include "session.h"
#include "store.h"
#include "udp.h"

#include "tmpdir.h"

#define JOBS_MAX	16
#define WAIT_MS		5000	/* longest wait for an answer */
#define UDP_PORT	4000
#define PING_TOKEN	0x0102030405060708ULL
#define NO_PAIR		0x1122334455667788ULL	/* a pair id nobody has */

/* A hash job the set handed over. */
struct job {
	uint64_t	sid;
	uint8_t		op;
	char		name[SC_NAME_MAX + 1];
	uint64_t	delay_ms;
	unsigned	rank;
	int		withdrawn;
};

struct fixture {
	struct event_base	*base;
	struct server_conf	 conf;
	struct sc_keypair	 kp;
	struct presence		*presence;
	struct pairkey		*pairkey;
	struct throttle		*throttle;
	struct udp		*udp;
	struct session_set	*set;
	struct mailbox		*mailbox;	/* on a database of its own */
	char			 dir[PATH_MAX];
	char			 db[PATH_MAX + 16];
	struct metrics		 m;
	struct job		 jobs[JOBS_MAX];
	size_t			 njobs;
	int			 busy;		/* refuse jobs */
	int			 emptied;	/* empty callback ran */
	int			 sndbuf;	/* server ends' SO_SNDBUF */
};

/* The test's end of one connection. */
struct client {
	int			 fd;
	struct sc_channel	 ch;
	struct evbuffer		*in;
	uint8_t			 plain[SC_FRAME_DEFAULT];
};

/* Milliseconds on the monotonic clock. */
static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/*
 * The hash function of the set: records the job (its handle is its index),
 * or refuses when busy.
 */
static int
hash_record(void *arg, uint64_t sid, uint8_t op, const char *name,
    const uint8_t *pass, size_t pass_len, uint64_t delay_ms, unsigned rank)
{
	struct fixture	*f = arg;
	struct job	*j;

	if (op == SC_MSG_IDENTITY)
		assert_int_equal(pass_len, SC_KEY_BYTES);
	else
		assert_true(pass_len >= SC_PASS_MIN && pass_len <= SC_PASS_MAX);
	assert_non_null(pass);
	if (f->busy)
		return (-1);
	assert_true(f->njobs < JOBS_MAX);
	j = &f->jobs[f->njobs];
	j->sid = sid;
	j->op = op;
	strcpy(j->name, name);
	j->delay_ms = delay_ms;
	j->rank = rank;
	return ((int)f->njobs++);
}

/* The withdrawal of the set: marks the job of handle. */
static void
hash_withdraw(void *arg, int handle, uint64_t sid)
{
	struct fixture	*f = arg;

	assert_true(handle >= 0 && (size_t)handle < f->njobs);
	assert_true(f->jobs[handle].sid == sid);
	f->jobs[handle].withdrawn = 1;
}

/* The throttle's parameters from the fixture's configuration. */
static void
throttle_conf(struct fixture *f)
{
	struct throttle_conf	tc;

	memset(&tc, 0, sizeof(tc));
	tc.fail_delay_ms = (uint64_t)f->conf.fail_delay_ms;
	tc.fail_free = (unsigned)f->conf.fail_free;
	tc.v6_prefix = (unsigned)f->conf.ipv6_prefix;
	tc.logins_per_addr = (unsigned)f->conf.max_logins_per_addr;
	tc.signups_per_hour = (unsigned)f->conf.signups_per_hour;
	throttle_configure(f->throttle, &tc);
}

/* The set's empty callback: counts that it ran. */
static void
emptied(void *arg)
{
	struct fixture	*f = arg;

	f->emptied++;
}

/* A set with the default configuration. */
static int
setup(void **state)
{
	struct fixture		*f;
	struct session_env	 env;
	struct udp_env		 uenv;
	char			 err[256];

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	server_config_defaults(&f->conf);
	tmpdir_make(f->dir, "session");
	snprintf(f->db, sizeof(f->db), "%s/sealchat.db", f->dir);
	assert_non_null(f->base = event_base_new());
	assert_int_equal(event_base_priority_init(f->base, 2), 0);
	assert_int_equal(sc_keypair_generate(&f->kp), 0);
	f->presence = presence_new(f->base, (size_t)f->conf.max_frame -
	    SC_MAC_BYTES, session_deliver, NULL);
	assert_non_null(f->presence);
	assert_non_null(f->pairkey = pairkey_new(f->presence));
	assert_non_null(f->throttle = throttle_new(0));
	throttle_conf(f);
	pairkey_set_relay(f->pairkey, f->conf.relay);
	memset(&uenv, 0, sizeof(uenv));
	uenv.base = f->base;
	uenv.conf = &f->conf;
	uenv.pairkey = f->pairkey;
	uenv.throttle = f->throttle;
	assert_non_null(f->udp = udp_new(&uenv));
	memset(&env, 0, sizeof(env));
	env.base = f->base;
	env.conf = &f->conf;
	env.kp = &f->kp;
	env.presence = f->presence;
	env.pairkey = f->pairkey;
	env.udp = f->udp;
	env.throttle = f->throttle;
	metrics_init(&f->m);
	f->mailbox = mailbox_new(f->base, &f->conf, f->db, f->presence, &f->m,
	    err, sizeof(err));
	if (f->mailbox == NULL)
		fail_msg("mailbox: %s", err);
	env.mailbox = f->mailbox;
	env.metrics = &f->m;
	env.hash = hash_record;
	env.withdraw = hash_withdraw;
	env.hash_arg = f;
	assert_non_null(f->set = session_set_new(&env));
	*state = f;
	return (0);
}

/* Frees the set first: its sessions leave the roster and the throttle. */
static int
teardown(void **state)
{
	struct fixture	*f = *state;

	session_set_free(f->set);
	mailbox_free(f->mailbox);
	tmpdir_remove(f->dir);
	udp_free(f->udp);
	pairkey_free(f->pairkey);
	presence_free(f->presence);
	throttle_free(f->throttle);
	sc_keypair_free(&f->kp);
	event_base_free(f->base);
	free(f);
	return (0);
}

/* Runs the loop once without waiting, then waits a little for fd. */
static void
pump(struct fixture *f, int fd)
{
	struct pollfd	pfd;
	int		i;

	for (i = 0; i < 4; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	if (fd < 0)
		return;
	pfd.fd = fd;
	pfd.events = POLLIN;
	(void)poll(&pfd, 1, 5);
}

/* Opens a connection to the set, accepted as server.c would. */
static struct client *
client_new(struct fixture *f)
{
	struct client		*c;
	struct sockaddr_in	 sin;
	struct throttle_addr	 la;
	int			 sv[2];

	assert_non_null(c = calloc(1, sizeof(*c)));
	assert_non_null(c->in = evbuffer_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv), 0);
	if (f->sndbuf != 0)
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF,
		    &f->sndbuf, sizeof(f->sndbuf)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	throttle_addr_from(&la, (struct sockaddr *)&sin);
	assert_int_equal(throttle_session_add(f->throttle, &la, 1000), 0);
	assert_int_equal(throttle_unauth_add(f->throttle, &la, 1000), 0);
	assert_int_equal(session_set_accept(f->set, sv[0],
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	c->fd = sv[1];
	return (c);
}

/* Closes the test's end. */
static void
client_free(struct client *c)
{
	if (c->fd != -1)
		close(c->fd);
	evbuffer_free(c->in);
	sc_channel_wipe(&c->ch);
	free(c);
}

/* Writes all of buf, letting the loop read whenever the socket is full. */
static void
client_write(struct fixture *f, struct client *c, const void *buf,
    size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;
	uint64_t	 deadline = now_ms() + WAIT_MS;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		assert_true(n < 0 && (errno == EAGAIN || errno == EINTR));
		assert_true(now_ms() < deadline);
		pump(f, -1);
	}
}

/* Writes one frame with the given body. */
static void
client_frame(struct fixture *f, struct client *c, const uint8_t *body,
    size_t len)
{
	uint8_t	hdr[SC_FRAME_HDR];

	wire_frame_header(hdr, (uint32_t)len);
	client_write(f, c, hdr, sizeof(hdr));
	client_write(f, c, body, len);
}

/* Appends one sealed frame of msg to out (sent later in one write). */
static void
client_seal(struct client *c, struct wbuf *out, const uint8_t *msg,
    size_t len)
{
	uint8_t	body[2048];

	assert_true(len + SC_MAC_BYTES <= sizeof(body));
	assert_int_equal(sc_channel_seal(&c->ch, body, msg, len), 0);
	wbuf_u32(out, (uint32_t)(len + SC_MAC_BYTES));
	wbuf_put(out, body, len + SC_MAC_BYTES);
}

/* Writes what client_seal() gathered, in one write. */
static void
client_flush(struct fixture *f, struct client *c, struct wbuf *out)
{
	assert_false(out->oom);
	client_write(f, c, out->data, out->len);
	wbuf_reset(out);
}

/*
 * Waits for the next frame from the server: 1 with its body in *body and
 * *len (valid until the next call), 0 at end of stream.
 */
static int
client_next(struct fixture *f, struct client *c, const uint8_t **body,
    size_t *len)
{
	uint8_t		buf[4096];
	uint64_t	deadline = now_ms() + WAIT_MS;
	ssize_t		n;
	int		rc;

	for (;;) {
		rc = wire_frame_pull(c->in, 1, SC_FRAME_LIMIT, body, len);
		assert_int_not_equal(rc, WIRE_FRAME_BAD);
		assert_int_not_equal(rc, WIRE_FRAME_NOMEM);
		if (rc == WIRE_FRAME_READY) {
			assert_true(*len <= sizeof(c->plain) + SC_KEY_BYTES);
			return (1);
		}
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			assert_int_equal(evbuffer_add(c->in, buf, (size_t)n),
			    0);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			assert_int_equal(evbuffer_get_length(c->in), 0);
			return (0);
		}
		assert_true(now_ms() < deadline);
		pump(f, c->fd);
	}
}

/* Waits for the next message and decodes it; 0 at end of stream. */
static int
client_recv(struct fixture *f, struct client *c, struct sc_msg *m)
{
	const uint8_t	*body;
	size_t		 len;

	if (!client_next(f, c, &body, &len))
		return (0);
	assert_true(len > SC_MAC_BYTES);
	assert_int_equal(sc_channel_open(&c->ch, c->plain, body, len), 0);
	wire_frame_drop(c->in, len);
	assert_int_equal(wire_msg_decode(m, c->plain, len - SC_MAC_BYTES),
	    WIRE_MSG_OK);
	return (1);
}

/* The next message is of that type. */
static void
expect(struct fixture *f, struct client *c, struct sc_msg *m, uint8_t type)
{
	assert_int_equal(client_recv(f, c, m), 1);
	assert_int_equal(m->type, type);
}

/* The next message is ERROR req code, with that subject ("" for none). */
static void
expect_error(struct fixture *f, struct client *c, uint8_t req, uint8_t code,
    const char *subject)
{
	struct sc_msg	m;

	expect(f, c, &m, SC_MSG_ERROR);
	assert_int_equal(m.req, req);
	assert_int_equal(m.code, code);
	assert_string_equal(m.name, subject);
}

/* The next message is PONG with the test's token. */
static void
expect_pong(struct fixture *f, struct client *c)
{
	struct sc_msg	m;

	expect(f, c, &m, SC_MSG_PONG);
	assert_true(m.token == PING_TOKEN);
}

/* The server closes without sending anything more. */
static void
expect_closed(struct fixture *f, struct client *c)
{
	const uint8_t	*body;
	size_t		 len;

	assert_int_equal(client_next(f, c, &body, &len), 0);
}

/* GOODBYE with that reason, then the end of the stream. */
static void
expect_goodbye(struct fixture *f, struct client *c, uint8_t reason)
{
	struct sc_msg	m;

	expect(f, c, &m, SC_MSG_GOODBYE);
	assert_int_equal(m.code, reason);
	expect_closed(f, c);
}

/* The id of the stored messages of the requests. */
static const uint8_t	mail_id[SC_MAIL_ID_BYTES] = { 0xab, 0xcd };

/* Encodes a well-formed request of each client type. */
static void
request(struct wbuf *wb, uint8_t type)
{
	uint8_t	key[SC_KEY_BYTES], box[SC_MAIL_BOX_MIN];

	switch (type) {
	case SC_MSG_SIGN:
	case SC_MSG_AUTH:
		wire_enc_cred(wb, type, "Alice", (const uint8_t *)"pw", 2);
		break;
	case SC_MSG_UDP:
		wire_enc_udp(wb, UDP_PORT, NULL, 0);
		break;
	case SC_MSG_PAIR:
		wire_enc_pair(wb, "bob");
		break;
	case SC_MSG_PING:
		wire_enc_ping(wb, SC_MSG_PING, PING_TOKEN);
		break;
	case SC_MSG_RECHECK:
		wire_enc_recheck(wb, NO_PAIR);
		break;
	case SC_MSG_IDENTITY:
		memset(key, 0x33, sizeof(key));
		wire_enc_identity(wb, key);
		break;
	case SC_MSG_RCPT:
		wire_enc_rcpt(wb, "bob");
		break;
	case SC_MSG_STORE:
		memset(box, 0x44, sizeof(box));
		wire_enc_store(wb, "bob", mail_id, box, sizeof(box));
		break;
	case SC_MSG_STOREACK:
		wire_enc_storeack(wb, mail_id);
		break;
	case SC_MSG_STOREKEEP:
		wire_enc_storekeep(wb, mail_id);
		break;
	default:
		wire_enc_empty(wb, type);
		break;
	}
	assert_false(wb->oom);
}

/* Seals a request of that type into out. */
static void
client_request(struct client *c, struct wbuf *out, uint8_t type)
{
	struct wbuf	msg;

	wbuf_init(&msg);
	request(&msg, type);
	client_seal(c, out, msg.data, msg.len);
	wbuf_free(&msg);
}

/* Sends the message encoded in msg, and empties msg. */
static void
client_send_msg(struct fixture *f, struct client *c, struct wbuf *msg)
{
	struct wbuf	out;

	assert_false(msg->oom);
	wbuf_init(&out);
	client_seal(c, &out, msg->data, msg->len);
	client_flush(f, c, &out);
	wbuf_free(&out);
	wbuf_reset(msg);
}

/* Sends one request of that type. */
static void
client_send(struct fixture *f, struct client *c, uint8_t type)
{
	struct wbuf	out;

	wbuf_init(&out);
	client_request(c, &out, type);
	client_flush(f, c, &out);
	wbuf_free(&out);
}

/* The handshake: HELLO, then a CONFIRM whose WELCOME opens. */
static void
client_hello(struct fixture *f, struct client *c)
{
	struct handshake_client	 hs;
	struct sc_msg		 m;
	const uint8_t		*body;
	size_t			 len;

	assert_int_equal(handshake_client_hello(&hs, f->kp.pk), 0);
	client_frame(f, c, hs.hello, SC_HELLO_BODY);
	assert_int_equal(client_next(f, c, &body, &len), 1);
	assert_true(len >= HANDSHAKE_CONFIRM_MIN);
	assert_int_equal(handshake_client_confirm(&c->ch, &hs, c->plain, body,
	    len), 0);
	assert_int_equal(wire_msg_decode(&m, c->plain, len - SC_KEY_BYTES -
	    SC_MAC_BYTES), WIRE_MSG_OK);
	wire_frame_drop(c->in, len);
	assert_int_equal(m.type, SC_MSG_WELCOME);
	assert_int_equal(m.max_frame, f->conf.max_frame);
	assert_int_equal(m.ka_interval, f->conf.keepalive_interval);
	assert_int_equal(m.ka_timeout, f->conf.keepalive_timeout);
}

/* Sends a SIGN or AUTH (op) as name, and does not wait. */
static void
client_cred(struct fixture *f, struct client *c, uint8_t op,
    const char *name)
{
	struct wbuf	msg;

	wbuf_init(&msg);
	wire_enc_cred(&msg, op, name, (const uint8_t *)"pw", 2);
	client_send_msg(f, c, &msg);
	wbuf_free(&msg);
}

/* Sends a SIGN as name; the set hands the job over: returns it. */
static struct job *
client_sign(struct fixture *f, struct client *c, const char *name)
{
	size_t		before = f->njobs;
	uint64_t	deadline = now_ms() + WAIT_MS;

	client_cred(f, c, SC_MSG_SIGN, name);
	while (f->njobs == before) {
		assert_true(now_ms() < deadline);
		pump(f, -1);
	}
	assert_int_equal(f->njobs, before + 1);
	return (&f->jobs[before]);
}

/* Logs in as name: SIGN, the job succeeds, OK and the first USERS. */
static void
client_login(struct fixture *f, struct client *c, const char *name)
{
	struct job	*j;
	struct sc_msg	 m;

	j = client_sign(f, c, name);
	session_set_hash_done(f->set, j->sid, j->op, 0, j->name);
	expect(f, c, &m, SC_MSG_OK);
	assert_int_equal(m.req, SC_MSG_SIGN);
	assert_string_equal(m.name, name);
	expect(f, c, &m, SC_MSG_USERS);
	assert_int_equal(m.flags, 0);
}

/* Runs the loop until the set holds n sessions (bounded). */
static void
wait_count(struct fixture *f, size_t n)
{
	uint64_t	deadline = now_ms() + WAIT_MS;

	while (session_set_count(f->set) != n) {
		assert_true(now_ms() < deadline);
		pump(f, -1);
		usleep(1000);
	}
}

/* The client requests, in the order of docs/protocol.md section 4. */
static const uint8_t requests[] = { SC_MSG_SIGN, SC_MSG_AUTH, SC_MSG_LIST,
    SC_MSG_UDP, SC_MSG_PAIR, SC_MSG_PING, SC_MSG_LOGOUT, SC_MSG_RECHECK,
    SC_MSG_IDENTITY, SC_MSG_RCPT, SC_MSG_STORE, SC_MSG_STOREACK,
    SC_MSG_STOREKEEP };

/*
 * HANDSHAKE: only a HELLO of 113 bytes is a frame at all; any message in
 * its place closes the connection without a word.
 */
static void
test_handshake_closes_on_any_request(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	struct wbuf	 msg;
	size_t		 i;

	wbuf_init(&msg);
	for (i = 0; i < sizeof(requests); i++) {
		c = client_new(f);
		request(&msg, requests[i]);
		client_frame(f, c, msg.data, msg.len);
		wbuf_reset(&msg);
		expect_closed(f, c);
		client_free(c);
	}
	wbuf_free(&msg);
	wait_count(f, 0);
	assert_int_equal(session_set_unauth(f->set), 0);
}

/*
 * HANDSHAKE: a bad version or the wrong key gets REJECT 1 or 2, the latter
 * with the server's public key.
 */
static void
test_handshake_rejects_version_and_key(void **state)
{
	struct fixture		*f = *state;
	struct client		*c;
	struct handshake_client	 hs;
	struct sc_keypair	 other;
	const uint8_t		*body;
	size_t			 len;

	c = client_new(f);
	assert_int_equal(handshake_client_hello(&hs, f->kp.pk), 0);
	hs.hello[0] = 2;
	client_frame(f, c, hs.hello, SC_HELLO_BODY);
	assert_int_equal(client_next(f, c, &body, &len), 1);
	assert_int_equal(handshake_reject_reason(body, len),
	    SC_REJECT_VERSION);
	wire_frame_drop(c->in, len);
	expect_closed(f, c);
	client_free(c);

	assert_int_equal(sc_keypair_generate(&other), 0);
	c = client_new(f);
	assert_int_equal(handshake_client_hello(&hs, other.pk), 0);
	client_frame(f, c, hs.hello, SC_HELLO_BODY);
	assert_int_equal(client_next(f, c, &body, &len), 1);
	assert_int_equal(handshake_reject_reason(body, len), SC_REJECT_KEY);
	/* It names the key it holds, for the client to show. */
	assert_int_equal(len, SC_REJECT_KEY_BODY);
	assert_memory_equal(body + SC_REJECT_BODY, f->kp.pk, SC_KEY_BYTES);
	wire_frame_drop(c->in, len);
	expect_closed(f, c);
	client_free(c);
	handshake_client_wipe(&hs);
	sc_keypair_free(&other);
	wait_count(f, 0);
}

/* What a request gets, as docs/protocol.md names it. */
enum answer {
	ANS_HASHED,	/* handed to the hash workers: nothing yet */
	ANS_STATE,	/* ERROR 6; PAIR's names the peer */
	ANS_USERS,	/* the USERS list marked REPLY */
	ANS_UDP,	/* UDPREG; a PAIRKEY to oneself then carries the
			   port */
	ANS_OFFLINE,	/* ERROR 7 naming the peer */
	ANS_NO_PAIR,	/* ERROR 7, no subject: not a pair of the session */
	ANS_PONG,
	ANS_BYE,	/* GOODBYE 5, then the close */
	ANS_STORED,	/* no answer, a store job; once per session */
	ANS_NO_ID,	/* ERROR 12 naming the recipient: no key of ours */
	ANS_NOTHING,	/* no answer at all */
};

/* The answers in GREETED, HASHING and ONLINE, in the order of requests. */
static const enum answer in_greeted[] = { ANS_HASHED, ANS_HASHED, ANS_STATE,
    ANS_STATE, ANS_STATE, ANS_PONG, ANS_BYE, ANS_STATE, ANS_STATE,
    ANS_STATE, ANS_STATE, ANS_STATE, ANS_STATE };
static const enum answer in_hashing[] = { ANS_STATE, ANS_STATE, ANS_STATE,
    ANS_STATE, ANS_STATE, ANS_PONG, ANS_BYE, ANS_STATE, ANS_STATE,
    ANS_STATE, ANS_STATE, ANS_STATE, ANS_STATE };
static const enum answer in_online[] = { ANS_STATE, ANS_STATE, ANS_USERS,
    ANS_UDP, ANS_OFFLINE, ANS_PONG, ANS_BYE, ANS_NO_PAIR, ANS_STORED,
    ANS_OFFLINE, ANS_NO_ID, ANS_NOTHING, ANS_NOTHING };

/*
 * Checks that request t, just sent, got its answer; the jobs were emptied
 * before it was sent.
 */
static void
expect_answer(struct fixture *f, struct client *c, uint8_t t,
    enum answer ans)
{
	struct sc_msg	m;
	struct wbuf	msg;
	uint8_t		key[SC_KEY_BYTES];

	switch (ans) {
	case ANS_HASHED:
		client_send(f, c, SC_MSG_PING);
		expect_pong(f, c);	/* nothing came before */
		assert_int_equal(f->njobs, 1);
		assert_int_equal(f->jobs[0].op, t);
		assert_string_equal(f->jobs[0].name, "alice");
		break;
	case ANS_STATE:
		expect_error(f, c, t, SC_ERR_STATE, t == SC_MSG_PAIR ||
		    t == SC_MSG_RCPT || t == SC_MSG_STORE ? "bob" : "");
		break;
	case ANS_NO_ID:
		expect_error(f, c, t, SC_ERR_NO_IDENTITY, "bob");
		break;
	case ANS_NOTHING:
		client_send(f, c, SC_MSG_PING);
		expect_pong(f, c);	/* nothing came before */
		break;
	case ANS_USERS:
		expect(f, c, &m, SC_MSG_USERS);
		assert_int_equal(m.flags, SC_USERS_REPLY);
		assert_int_equal(m.list_len, 0);
		break;
	case ANS_UDP:
		expect(f, c, &m, SC_MSG_UDPREG);
		assert_int_equal(m.port, udp_port(f->udp));
		assert_int_equal(m.flags, SC_UDPREG_RELAY);
		wbuf_init(&msg);
		wire_enc_pair(&msg, "alice");
		client_send_msg(f, c, &msg);
		/* No identity key yet: ERROR 12; with one, PAIRKEY. */
		expect_error(f, c, SC_MSG_PAIR, SC_ERR_NO_IDENTITY, "alice");
		memset(key, 0x61, sizeof(key));
		wire_enc_identity(&msg, key);
		client_send_msg(f, c, &msg);
		wire_enc_pair(&msg, "alice");
		client_send_msg(f, c, &msg);
		wbuf_free(&msg);
		expect(f, c, &m, SC_MSG_PAIRKEY);
		assert_string_equal(m.name, "alice");
		assert_memory_equal(m.idkey, key, SC_KEY_BYTES);
		assert_int_equal(m.flags, 0);		/* never for oneself */
		assert_int_equal(m.ncand, 1);
		assert_int_equal(m.cand[0].kind, SC_CAND_HOST);
		assert_int_equal(m.cand[0].port, UDP_PORT);
		assert_int_equal(m.cand[0].af, SC_AF_INET);
		assert_memory_equal(m.cand[0].addr, "\x7f\x00\x00\x01", 4);
		break;
	case ANS_OFFLINE:
		expect_error(f, c, t, SC_ERR_OFFLINE, "bob");
		break;
	case ANS_NO_PAIR:
		expect_error(f, c, t, SC_ERR_OFFLINE, "");
		break;
	case ANS_PONG:
		expect_pong(f, c);
		break;
	case ANS_BYE:
		expect_goodbye(f, c, SC_BYE_LOGOUT);
		break;
	case ANS_STORED:
		client_send(f, c, SC_MSG_PING);
		expect_pong(f, c);	/* nothing came before */
		assert_true(f->njobs >= 1);
		assert_int_equal(f->jobs[f->njobs - 1].op, t);
		assert_string_equal(f->jobs[f->njobs - 1].name, "alice");
		assert_non_null(presence_lookup(f->presence, "alice"));
		assert_true(presence_lookup(f->presence, "alice")->has_idkey);
		/* Once per session. */
		client_send(f, c, t);
		expect_error(f, c, t, SC_ERR_STATE, "");
		break;
	}
}

/*
 * GREETED: SIGN and AUTH go to the hash workers (no answer yet), LIST,
 * UDP, PAIR and RECHECK get ERROR 6, PING gets PONG, LOGOUT gets GOODBYE 5
 * and the close.
 */
static void
test_greeted_answers_each_request(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	size_t		 i;

	for (i = 0; i < sizeof(requests); i++) {
		c = client_new(f);
		client_hello(f, c);
		f->njobs = 0;
		client_send(f, c, requests[i]);
		expect_answer(f, c, requests[i], in_greeted[i]);
		client_free(c);
	}
	wait_count(f, 0);
}

/*
 * HASHING (a SIGN just handed over): a second SIGN or AUTH, LIST, UDP,
 * PAIR and RECHECK get ERROR 6, PING gets PONG, LOGOUT gets GOODBYE 5.
 * Both requests go in one write, so the second is handled before any
 * result can come.
 */
static void
test_hashing_answers_each_request(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	struct wbuf	 out;
	size_t		 i;

	wbuf_init(&out);
	for (i = 0; i < sizeof(requests); i++) {
		c = client_new(f);
		client_hello(f, c);
		f->njobs = 0;
		client_request(c, &out, SC_MSG_SIGN);
		client_request(c, &out, requests[i]);
		client_flush(f, c, &out);
		expect_answer(f, c, requests[i], in_hashing[i]);
		assert_int_equal(f->njobs, 1);
		client_free(c);
	}
	wbuf_free(&out);
	wait_count(f, 0);
}

/*
 * ONLINE: SIGN and AUTH get ERROR 6, LIST the USERS list marked REPLY,
 * UDP its UDPREG (the PAIRKEY to oneself then carries the port), PAIR with
 * a user offline ERROR 7 naming the user, PING PONG, LOGOUT GOODBYE 5,
 * RECHECK of a pair the session does not have ERROR 7 without a subject.
 */
static void
test_online_answers_each_request(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	size_t		 i;

	for (i = 0; i < sizeof(requests); i++) {
		c = client_new(f);
		client_hello(f, c);
		client_login(f, c, "alice");
		client_send(f, c, requests[i]);
		expect_answer(f, c, requests[i], in_online[i]);
		client_free(c);
		wait_count(f, 0);
		assert_null(presence_lookup(f->presence, "alice"));
	}
}

/*
 * CLOSING: after LOGOUT nothing is read any more; the requests sent with
 * it get no answer, only the GOODBYE and the close.
 */
static void
test_closing_answers_nothing(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	struct wbuf	 out;
	size_t		 i;

	wbuf_init(&out);
	c = client_new(f);
	client_hello(f, c);
	f->njobs = 0;
	client_request(c, &out, SC_MSG_LOGOUT);
	for (i = 0; i < sizeof(requests); i++)
		client_request(c, &out, requests[i]);
	client_flush(f, c, &out);
	expect_goodbye(f, c, SC_BYE_LOGOUT);
	assert_int_equal(f->njobs, 0);
	client_free(c);
	wbuf_free(&out);
	wait_count(f, 0);
}

/*
 * A well-formed SIGN or AUTH that breaks a rule gets ERROR 4 (password,
 * checked first) or ERROR 3 (name) and the session goes on; once online
 * the same gets ERROR 6.
 */
static void
test_rule_breaks_get_error_3_or_4_then_6_online(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	struct wbuf	 out, msg;

	wbuf_init(&out);
	wbuf_init(&msg);
	c = client_new(f);
	client_hello(f, c);
	wire_enc_cred(&msg, SC_MSG_SIGN, "_alice", (const uint8_t *)"pw", 2);
	client_seal(c, &out, msg.data, msg.len);
	wbuf_reset(&msg);
	wire_enc_cred(&msg, SC_MSG_AUTH, "alice", (const uint8_t *)"", 0);
	client_seal(c, &out, msg.data, msg.len);
	wbuf_reset(&msg);
	wire_enc_cred(&msg, SC_MSG_AUTH, "_alice", (const uint8_t *)"", 0);
	client_seal(c, &out, msg.data, msg.len);
	wbuf_reset(&msg);
	client_flush(f, c, &out);
	expect_error(f, c, SC_MSG_SIGN, SC_ERR_BAD_NAME, "");
	expect_error(f, c, SC_MSG_AUTH, SC_ERR_BAD_PASS, "");
	expect_error(f, c, SC_MSG_AUTH, SC_ERR_BAD_PASS, "");
	assert_int_equal(f->njobs, 0);

	client_login(f, c, "alice");
	wire_enc_cred(&msg, SC_MSG_SIGN, "_alice", (const uint8_t *)"pw", 2);
	client_seal(c, &out, msg.data, msg.len);
	wbuf_reset(&msg);
	wire_enc_cred(&msg, SC_MSG_AUTH, "alice", (const uint8_t *)"", 0);
	client_seal(c, &out, msg.data, msg.len);
	client_flush(f, c, &out);
	expect_error(f, c, SC_MSG_SIGN, SC_ERR_STATE, "");
	expect_error(f, c, SC_MSG_AUTH, SC_ERR_STATE, "");
	client_send(f, c, SC_MSG_PING);
	expect_pong(f, c);
	client_free(c);
	wbuf_free(&msg);
	wbuf_free(&out);
}

/*
 * A malformed message, an unknown or server-side type, a frame that does
 * not open, and one too short to hold a message each end the session
 * without an answer.
 */
static void
test_bad_frames_close_without_answer(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	struct wbuf	 out, msg;
	uint8_t		 body[64];
	size_t		 i;

	wbuf_init(&out);
	wbuf_init(&msg);
	for (i = 0; i < 6; i++) {
		c = client_new(f);
		client_hello(f, c);
		switch (i) {
		case 0:		/* LIST with a trailing byte */
			wire_enc_empty(&msg, SC_MSG_LIST);
			wbuf_u8(&msg, 0);
			break;
		case 1:		/* PAIR with a name not canonical */
			wire_enc_pair(&msg, "Bob");
			break;
		case 2:		/* the first type past the client's */
			wire_enc_empty(&msg, SC_MSG_CLIENT_LAST + 1);
			break;
		case 3:		/* a server message */
			wire_enc_goodbye(&msg, SC_BYE_LOGOUT);
			break;
		default:
			wire_enc_ping(&msg, SC_MSG_PING, PING_TOKEN);
			break;
		}
		client_seal(c, &out, msg.data, msg.len);
		wbuf_reset(&msg);
		if (i == 4)		/* one bit flipped in the tag */
			out.data[out.len - 1] ^= 0x01;
		if (i == 5) {		/* 16 bytes: a tag and no message */
			memset(body, 0, sizeof(body));
			wbuf_reset(&out);
			wbuf_u32(&out, SC_MAC_BYTES);
			wbuf_put(&out, body, SC_MAC_BYTES);
		}
		client_flush(f, c, &out);
		expect_closed(f, c);
		client_free(c);
	}
	wbuf_free(&msg);
	wbuf_free(&out);
	wait_count(f, 0);
}

/*
 * Frame lengths are judged from the header alone: a HELLO announced at
 * any length but 113, a frame over max_frame, or a zero length closes the
 * connection before a byte of the body is sent.
 */
static void
test_frame_lengths_closed_from_the_header(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	uint8_t		 hdr[SC_FRAME_HDR];
	uint32_t	 lens[] = { SC_HELLO_BODY + 1, SC_HELLO_BODY - 1,
			    (uint32_t)f->conf.max_frame + 1, 0 };
	size_t		 i;

	for (i = 0; i < 4; i++) {
		c = client_new(f);
		if (i >= 2)
			client_hello(f, c);
		wire_frame_header(hdr, lens[i]);
		client_write(f, c, hdr, sizeof(hdr));
		expect_closed(f, c);
		client_free(c);
	}
	wait_count(f, 0);
}

/*
 * A client that sends without reading: once its pending output passes
 * output_cap it gets GOODBYE 4 after what was queued, and the close.
 */
static void
test_output_cap_drops_a_client_that_does_not_read(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	struct sc_msg	 m;
	struct wbuf	 out;
	size_t		 i, pongs = 0;

	f->conf.output_cap = 4096;
	f->sndbuf = 4096;
	wbuf_init(&out);
	c = client_new(f);
	client_hello(f, c);
	for (i = 0; i < 4000; i++)
		client_request(c, &out, SC_MSG_PING);
	client_flush(f, c, &out);
	for (;;) {
		assert_int_equal(client_recv(f, c, &m), 1);
		if (m.type != SC_MSG_PONG)
			break;
		pongs++;
	}
	assert_int_equal(m.type, SC_MSG_GOODBYE);
	assert_int_equal(m.code, SC_BYE_SLOW);
	assert_true(pongs < 4000);
	expect_closed(f, c);
	client_free(c);
	wbuf_free(&out);
	wait_count(f, 0);
}

/*
 * After its GOODBYE a session waits for the client to close, reading and
 * dropping what still comes; a client that never closes is let go after
 * the linger bound.
 */
static void
test_linger_waits_for_the_client_then_gives_up(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	uint64_t	 start;

	c = client_new(f);
	client_hello(f, c);
	client_send(f, c, SC_MSG_LOGOUT);
	expect_goodbye(f, c, SC_BYE_LOGOUT);
	pump(f, -1);
	assert_int_equal(session_set_count(f->set), 1);
	client_write(f, c, "late bytes", 10);
	pump(f, -1);
	assert_int_equal(session_set_count(f->set), 1);
	close(c->fd);
	c->fd = -1;
	wait_count(f, 0);
	client_free(c);

	c = client_new(f);
	client_hello(f, c);
	client_send(f, c, SC_MSG_LOGOUT);
	expect_goodbye(f, c, SC_BYE_LOGOUT);
	start = now_ms();
	wait_count(f, 0);
	assert_true(now_ms() - start >= 1000);
	client_free(c);
}

/*
 * The login deadline: a connection that says nothing is closed without a
 * word, one that shook hands but did not log in gets GOODBYE 6.
 */
static void
test_login_deadline(void **state)
{
	struct fixture	*f = *state;
	struct client	*quiet, *greeted;

	f->conf.login_timeout = 1;
	session_set_timeouts(f->set);
	quiet = client_new(f);
	greeted = client_new(f);
	client_hello(f, greeted);
	expect_goodbye(f, greeted, SC_BYE_DEADLINE);
	expect_closed(f, quiet);
	client_free(quiet);
	client_free(greeted);
	wait_count(f, 0);
}

/*
 * A connection has hello_timeout to send its HELLO, then it is closed
 * without a word; one that sent it has the rest of login_timeout.
 */
static void
test_hello_deadline_before_login_deadline(void **state)
{
	struct fixture	*f = *state;
	struct client	*quiet, *greeted;
	uint64_t	 start = now_ms();

	f->conf.hello_timeout = 1;
	session_set_timeouts(f->set);
	quiet = client_new(f);
	greeted = client_new(f);
	client_hello(f, greeted);
	expect_closed(f, quiet);
	assert_true(now_ms() - start < 5000);
	wait_count(f, 1);
	client_send(f, greeted, SC_MSG_PING);
	expect_pong(f, greeted);
	client_free(quiet);
	client_free(greeted);
	wait_count(f, 0);
}

/*
 * A session that closes while its login waits withdraws the job, and the
 * attempt counts as a failure of its address: the next login from there
 * is slowed.
 */
static void
test_closed_session_withdraws_its_job_and_fails(void **state)
{
	struct fixture		*f = *state;
	struct client		*c;
	struct sockaddr_in	 sin;
	struct throttle_addr	 la;
	uint64_t		 deadline = now_ms() + WAIT_MS;

	f->conf.fail_free = 1;
	throttle_conf(f);
	c = client_new(f);
	client_hello(f, c);
	client_cred(f, c, SC_MSG_AUTH, "ghost");
	while (f->njobs == 0) {
		assert_true(now_ms() < deadline);
		pump(f, -1);
	}
	assert_int_equal(f->jobs[0].withdrawn, 0);
	close(c->fd);
	c->fd = -1;
	wait_count(f, 0);
	assert_int_equal(f->jobs[0].withdrawn, 1);
	/* Its result, should it come, finds no session. */
	session_set_hash_done(f->set, f->jobs[0].sid, SC_MSG_AUTH,
	    SC_ERR_CREDENTIALS, "ghost");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	throttle_addr_from(&la, (struct sockaddr *)&sin);
	assert_true(throttle_fail_delay(f->throttle, &la, "next",
	    now_ms()) > 0);
	client_free(c);
}

/*
 * A login slowed by failures is handed to the hash pool at once, with its
 * wait: the session holds no password meanwhile, and is HASHING.
 */
static void
test_slowed_login_handed_over_at_once_with_its_wait(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	uint64_t	 deadline = now_ms() + WAIT_MS;

	f->conf.fail_free = 0;
	f->conf.fail_delay_ms = 300;
	throttle_conf(f);
	c = client_new(f);
	client_hello(f, c);
	client_cred(f, c, SC_MSG_AUTH, "slowpoke");
	while (f->njobs == 0) {
		assert_true(now_ms() < deadline);
		pump(f, -1);
	}
	assert_int_equal(f->jobs[0].delay_ms, 300);
	client_cred(f, c, SC_MSG_AUTH, "slowpoke");
	expect_error(f, c, SC_MSG_AUTH, SC_ERR_STATE, "");
	session_set_hash_done(f->set, f->jobs[0].sid, SC_MSG_AUTH,
	    SC_ERR_CREDENTIALS, "slowpoke");
	expect_error(f, c, SC_MSG_AUTH, SC_ERR_CREDENTIALS, "");
	client_free(c);
	wait_count(f, 0);
}

/* Jobs are ranked by the attempts their address already has in progress. */
static void
test_jobs_ranked_by_attempts_in_progress(void **state)
{
	struct fixture	*f = *state;
	struct client	*a, *b;
	struct job	*ja, *jb;

	a = client_new(f);
	b = client_new(f);
	client_hello(f, a);
	client_hello(f, b);
	ja = client_sign(f, a, "first");
	jb = client_sign(f, b, "second");
	assert_int_equal(ja->rank, 0);
	assert_int_equal(jb->rank, 1);
	client_free(a);
	client_free(b);
	wait_count(f, 0);
}

/* Past max_logins_per_addr logins in progress, ERROR 5 until one ends. */
static void
test_logins_in_progress_per_address_busy(void **state)
{
	struct fixture	*f = *state;
	struct client	*a, *b;
	struct job	*j;

	f->conf.max_logins_per_addr = 1;
	throttle_conf(f);
	a = client_new(f);
	b = client_new(f);
	client_hello(f, a);
	client_hello(f, b);
	j = client_sign(f, a, "first");
	client_cred(f, b, SC_MSG_SIGN, "second");
	expect_error(f, b, SC_MSG_SIGN, SC_ERR_BUSY, "");
	session_set_hash_done(f->set, j->sid, SC_MSG_SIGN, SC_ERR_TAKEN,
	    "first");
	expect_error(f, a, SC_MSG_SIGN, SC_ERR_TAKEN, "");
	client_login(f, b, "second");
	client_free(a);
	client_free(b);
	wait_count(f, 0);
}

/*
 * Making room closes a connection that has not sent its HELLO, never one
 * that has.
 */
static void
test_evict_idle_spares_connections_that_sent_hello(void **state)
{
	struct fixture	*f = *state;
	struct client	*idle, *greeted;

	idle = client_new(f);
	greeted = client_new(f);
	client_hello(f, greeted);
	assert_int_equal(session_set_unauth(f->set), 2);
	assert_int_equal(session_set_evict_idle(f->set), 0);
	expect_closed(f, idle);
	assert_int_equal(session_set_unauth(f->set), 1);
	assert_int_equal(session_set_evict_idle(f->set), -1);
	client_send(f, greeted, SC_MSG_PING);
	expect_pong(f, greeted);
	client_free(idle);
	client_free(greeted);
	wait_count(f, 0);
}

/*
 * A failed login answers with the hash job's code and the session may try
 * again; a full hash queue is ERROR 5; results for sessions gone or not
 * waiting are dropped.
 */
static void
test_hash_results_failure_busy_and_stale(void **state)
{
	struct fixture	*f = *state;
	struct client	*c;
	struct job	*j;
	uint64_t	 sid;

	c = client_new(f);
	client_hello(f, c);
	j = client_sign(f, c, "alice");
	sid = j->sid;
	session_set_hash_done(f->set, sid, SC_MSG_SIGN, SC_ERR_TAKEN, "alice");
	expect_error(f, c, SC_MSG_SIGN, SC_ERR_TAKEN, "");
	/* GREETED again: the same result once more is not waited for */
	session_set_hash_done(f->set, sid, SC_MSG_SIGN, 0, "alice");
	session_set_hash_done(f->set, sid + 100, SC_MSG_SIGN, 0, "alice");
	client_send(f, c, SC_MSG_PING);
	expect_pong(f, c);
	assert_null(presence_lookup(f->presence, "alice"));

	f->busy = 1;
	client_send(f, c, SC_MSG_AUTH);
	expect_error(f, c, SC_MSG_AUTH, SC_ERR_BUSY, "");
	f->busy = 0;
	j = client_sign(f, c, "alice");
	session_set_hash_done(f->set, j->sid, SC_MSG_SIGN, 77, "alice");
	expect_error(f, c, SC_MSG_SIGN, SC_ERR_INTERNAL, "");
	client_login(f, c, "alice");
	assert_non_null(presence_lookup(f->presence, "alice"));
	client_free(c);
	wait_count(f, 0);
}

/*
 * The newer login wins: the older session of the same user gets GOODBYE 2,
 * and a third user sees the name go offline and come back.
 */
static void
test_newer_login_replaces_the_older(void **state)
{
	struct fixture	*f = *state;
	struct client	*old, *new, *watch;
	struct sc_msg	 m;
	char		 name[SC_NAME_MAX + 1];
	size_t		 off = 0;
	int		 online;

	old = client_new(f);
	client_hello(f, old);
	client_login(f, old, "alice");
	watch = client_new(f);
	client_hello(f, watch);
	client_login(f, watch, "carol");
	new = client_new(f);
	client_hello(f, new);
	client_login(f, new, "alice");
	do	/* carol's arrival may or may not have reached it */
		assert_int_equal(client_recv(f, old, &m), 1);
	while (m.type == SC_MSG_PRESENCE);
	assert_int_equal(m.type, SC_MSG_GOODBYE);
	assert_int_equal(m.code, SC_BYE_REPLACED);
	expect_closed(f, old);
	expect(f, watch, &m, SC_MSG_PRESENCE);
	assert_true(wire_presence_next(&m, &off, &online, name));
	assert_false(online);
	assert_string_equal(name, "alice");
	assert_true(wire_presence_next(&m, &off, &online, name));
	assert_true(online);
	assert_string_equal(name, "alice");
	client_free(old);
	client_free(new);
	client_free(watch);
	wait_count(f, 0);
}

/*
 * Shutdown: a session still in its handshake is closed, the others get
 * GOODBYE 1; the empty callback runs once the last has closed.
 */
static void
test_goodbye_all_then_empty(void **state)
{
	struct fixture	*f = *state;
	struct client	*hs, *greeted, *online;

	hs = client_new(f);
	greeted = client_new(f);
	client_hello(f, greeted);
	online = client_new(f);
	client_hello(f, online);
	client_login(f, online, "alice");
	session_set_goodbye_all(f->set, SC_BYE_SHUTDOWN, emptied, f);
	expect_closed(f, hs);
	expect_goodbye(f, greeted, SC_BYE_SHUTDOWN);
	expect_goodbye(f, online, SC_BYE_SHUTDOWN);
	assert_int_equal(f->emptied, 0);
	client_free(hs);
	client_free(greeted);
	client_free(online);
	wait_count(f, 0);
	assert_int_equal(f->emptied, 1);
}

/* The next message that is not PRESENCE is of that type. */
static void
expect_past_presence(struct fixture *f, struct client *c, struct sc_msg *m,
    uint8_t type)
{
	do
		assert_int_equal(client_recv(f, c, m), 1);
	while (m->type == SC_MSG_PRESENCE);
	assert_int_equal(m->type, type);
}

/* Nothing but PRESENCE waits for the client: a PING gets its PONG next. */
static void
expect_nothing(struct fixture *f, struct client *c)
{
	struct sc_msg	m;

	client_send(f, c, SC_MSG_PING);
	expect_past_presence(f, c, &m, SC_MSG_PONG);
	assert_true(m.token == PING_TOKEN);
}

/* Sends UDP with port and hosts[0..n); returns the UDPREG in *m. */
static void
client_udp(struct fixture *f, struct client *c, uint16_t port,
    const struct sc_cand *hosts, size_t n, struct sc_msg *m)
{
	struct wbuf	msg;

	wbuf_init(&msg);
	wire_enc_udp(&msg, port, hosts, n);
	client_send_msg(f, c, &msg);
	wbuf_free(&msg);
	expect_past_presence(f, c, m, SC_MSG_UDPREG);
}

/* Sends IDENTITY with a key made of the name's first byte. */
static void
client_identity(struct fixture *f, struct client *c, const char *name)
{
	struct wbuf	msg;
	uint8_t		key[SC_KEY_BYTES];

	memset(key, name[0], sizeof(key));
	wbuf_init(&msg);
	wire_enc_identity(&msg, key);
	client_send_msg(f, c, &msg);
	wbuf_free(&msg);
}

/*
 * A logged-in client that sent its identity key, then UDP from UDP_PORT
 * with no address, as a client does.
 */
static struct client *
client_online(struct fixture *f, const char *name)
{
	struct client	*c = client_new(f);
	struct sc_msg	 m;

	client_hello(f, c);
	client_login(f, c, name);
	client_identity(f, c, name);
	client_udp(f, c, UDP_PORT, NULL, 0, &m);
	return (c);
}

/* a asks for the pair with b (named bname): both get PAIRKEY; its id. */
static uint64_t
client_pair(struct fixture *f, struct client *a, struct client *b,
    const char *bname)
{
	struct sc_msg	m, mb;
	struct wbuf	msg;

	wbuf_init(&msg);
	wire_enc_pair(&msg, bname);
	client_send_msg(f, a, &msg);
	wbuf_free(&msg);
	expect_past_presence(f, a, &m, SC_MSG_PAIRKEY);
	expect_past_presence(f, b, &mb, SC_MSG_PAIRKEY);
	assert_true(m.pair_id == mb.pair_id);
	return (m.pair_id);
}

/* An address candidate (af 4 or 6) from text. */
static struct sc_cand
host(uint8_t af, const char *text)
{
	struct sc_cand	c;

	memset(&c, 0, sizeof(c));
	c.kind = SC_CAND_HOST;
	c.af = af;
	assert_int_equal(inet_pton(af == SC_AF_INET ? AF_INET : AF_INET6,
	    text, c.addr), 1);
	return (c);
}

/*
 * UDP is answered with UDPREG: the daemon's UDP port, RELAY, and the same
 * reg_id and k_reg for the whole session.  The addresses reported become
 * HOST candidates, less those of no use to peers (loopback when the
 * daemon does not listen there, link-local, multicast; IPv4-mapped folded,
 * each once); a change goes to both sides of the session's pairs in
 * CANDIDATES, and the same list again to nobody.
 */
static void
test_udp_answered_by_udpreg_and_host_changes_told_to_pairs(void **state)
{
	struct fixture	*f = *state;
	struct client	*a, *b;
	struct sc_cand	 hosts[6];
	struct sc_msg	 m, r1, r2;
	uint64_t	 id;

	a = client_online(f, "alice");
	b = client_online(f, "bob");
	client_udp(f, a, UDP_PORT, NULL, 0, &r1);
	assert_int_equal(r1.port, udp_port(f->udp));
	assert_int_equal(r1.flags, SC_UDPREG_RELAY);
	client_udp(f, a, UDP_PORT, NULL, 0, &r2);
	assert_true(r1.reg_id == r2.reg_id);
	expect_nothing(f, b);
	id = client_pair(f, a, b, "bob");

	hosts[0] = host(SC_AF_INET, "10.1.2.3");
	hosts[1] = host(SC_AF_INET, "127.0.0.1");
	hosts[2] = host(SC_AF_INET, "169.254.0.1");
	hosts[3] = host(SC_AF_INET6, "ff02::1");
	hosts[4] = host(SC_AF_INET6, "::ffff:192.0.2.7");
	hosts[5] = host(SC_AF_INET, "10.1.2.3");
	client_udp(f, a, 4001, hosts, 6, &r2);
	assert_true(r1.reg_id == r2.reg_id);
	expect_past_presence(f, a, &m, SC_MSG_CANDIDATES);
	assert_true(m.pair_id == id);
	assert_int_equal(m.flags, SC_PAIR_RELAY);
	assert_int_equal(m.ncand, 1);		/* bob's: as observed */
	assert_int_equal(m.cand[0].port, UDP_PORT);
	expect_past_presence(f, b, &m, SC_MSG_CANDIDATES);
	assert_true(m.pair_id == id);
	assert_int_equal(m.ncand, 2);
	assert_int_equal(m.cand[0].af, SC_AF_INET);
	assert_memory_equal(m.cand[0].addr, hosts[0].addr, 4);
	assert_int_equal(m.cand[0].port, 4001);
	assert_int_equal(m.cand[1].af, SC_AF_INET);
	assert_memory_equal(m.cand[1].addr, "\xc0\x00\x02\x07", 4);

	client_udp(f, a, 4001, hosts, 6, &r2);
	expect_nothing(f, a);
	expect_nothing(f, b);
	client_free(a);
	client_free(b);
	wait_count(f, 0);
}

/*
 * RECHECK of a live pair: CANDIDATES of the peer to the requester, its own
 * to the peer; again within the second, nothing; a pair of others gets
 * ERROR 7 without a subject; a second later it is answered again.
 */
static void
test_recheck_answers_both_sides_once_a_second(void **state)
{
	struct fixture	*f = *state;
	struct client	*a, *b, *c;
	struct sc_msg	 m;
	struct wbuf	 msg;
	uint64_t	 ab, bc;

	a = client_online(f, "alice");
	b = client_online(f, "bob");
	c = client_online(f, "carol");
	ab = client_pair(f, a, b, "bob");
	bc = client_pair(f, b, c, "carol");
	wbuf_init(&msg);
	wire_enc_recheck(&msg, ab);
	client_send_msg(f, a, &msg);
	expect_past_presence(f, a, &m, SC_MSG_CANDIDATES);
	assert_true(m.pair_id == ab);
	expect_past_presence(f, b, &m, SC_MSG_CANDIDATES);
	assert_true(m.pair_id == ab);

	wire_enc_recheck(&msg, ab);
	client_send_msg(f, a, &msg);
	wire_enc_recheck(&msg, ab);
	client_send_msg(f, b, &msg);
	expect_nothing(f, a);
	expect_nothing(f, b);
	wire_enc_recheck(&msg, bc);
	client_send_msg(f, a, &msg);
	expect_error(f, a, SC_MSG_RECHECK, SC_ERR_OFFLINE, "");

	usleep(1000 * (PAIRKEY_RECHECK_MS + 50));
	wire_enc_recheck(&msg, ab);
	client_send_msg(f, b, &msg);
	expect_past_presence(f, b, &m, SC_MSG_CANDIDATES);
	expect_past_presence(f, a, &m, SC_MSG_CANDIDATES);
	wbuf_free(&msg);
	client_free(a);
	client_free(b);
	client_free(c);
	wait_count(f, 0);
}

/* SIGPIPE must not end the test when a client has gone. */
static int
group_setup(void **state)
{
	(void)state;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return (-1);
	log_set_level(LOG_LVL_WARN);
	return (sc_crypto_init());
}

/*
 * With sign_up closed a SIGN gets ERROR 10 at once, and no job; the
 * session stays usable, and an AUTH is hashed as ever.  A reload that
 * opens sign-up again is seen by the next SIGN.
 */
static void
test_closed_sign_up_refuses_sign_only(void **state)
{
	struct fixture	*f = *state;
	struct client	*c = client_new(f);
	struct wbuf	 msg;

	f->conf.sign_up = SERVER_SIGNUP_CLOSED;
	client_hello(f, c);
	wbuf_init(&msg);
	wire_enc_cred(&msg, SC_MSG_SIGN, "ann", (const uint8_t *)"pw", 2);
	client_send_msg(f, c, &msg);
	expect_error(f, c, SC_MSG_SIGN, SC_ERR_CLOSED, "");
	assert_int_equal(f->njobs, 0);
	assert_true(f->m.signups[SC_ERR_CLOSED] == 1);
	client_send(f, c, SC_MSG_PING);
	expect_pong(f, c);

	wbuf_reset(&msg);
	wire_enc_cred(&msg, SC_MSG_AUTH, "ann", (const uint8_t *)"pw", 2);
	client_send_msg(f, c, &msg);
	while (f->njobs == 0)
		pump(f, -1);
	assert_int_equal(f->jobs[0].op, SC_MSG_AUTH);
	session_set_hash_done(f->set, f->jobs[0].sid, SC_MSG_AUTH,
	    SC_ERR_CREDENTIALS, "ann");
	expect_error(f, c, SC_MSG_AUTH, SC_ERR_CREDENTIALS, "");

	f->conf.sign_up = SERVER_SIGNUP_OPEN;
	client_login(f, c, "ann");
	assert_true(f->m.signups[0] == 1);
	assert_true(f->m.logins[SC_ERR_CREDENTIALS] == 1);
	wbuf_free(&msg);
	client_free(c);
}

/* Collects what session_set_walk() hands out, as "name@addr" words. */
static void
walk_collect(const struct session_info *info, void *arg)
{
	char	*out = arg;

	assert_true(info->since > 0);
	assert_true(info->idle_ms < 60000);
	if (out[0] != '\0')
		strcat(out, " ");
	strcat(out, info->name);
	strcat(out, "@");
	strcat(out, info->addr);
}

/*
 * The states are counted as sessions move; the walk lists the users
 * online in pages; ending a user's session sends its GOODBYE and counts.
 */
static void
test_operator_sees_states_walks_and_ends_sessions(void **state)
{
	struct fixture	*f = *state;
	struct client	*a = client_new(f), *b = client_new(f);
	struct client	*c = client_new(f), *d = client_new(f);
	uint64_t	 st[SESSION_STATES], after;
	char		 out[256];

	session_set_states(f->set, st);
	assert_true(st[0] == 4 && st[1] == 0 && st[3] == 0);
	client_hello(f, a);
	client_hello(f, b);
	client_hello(f, c);
	client_login(f, a, "amy");
	client_login(f, b, "bea");
	(void)client_sign(f, c, "cid");
	session_set_states(f->set, st);
	assert_string_equal(session_state_name(0), "handshake");
	assert_string_equal(session_state_name(2), "hashing");
	assert_string_equal(session_state_name(3), "online");
	assert_string_equal(session_state_name(SESSION_STATES), "unknown");
	assert_true(st[0] == 1 && st[1] == 0 && st[2] == 1 && st[3] == 2);

	out[0] = '\0';
	after = session_set_walk(f->set, 0, 1, walk_collect, out);
	assert_true(after != 0);
	after = session_set_walk(f->set, after, 1, walk_collect, out);
	assert_true(after != 0);
	assert_true(session_set_walk(f->set, after, 10, walk_collect, out) ==
	    0);
	assert_string_equal(out, "amy@127.0.0.1 bea@127.0.0.1");

	assert_int_equal(session_set_end_user(f->set, "cid", SC_BYE_KICKED,
	    0), 0);
	assert_int_equal(session_set_end_user(f->set, "bea", SC_BYE_KICKED,
	    0), 1);
	expect_goodbye(f, b, SC_BYE_KICKED);
	assert_true(f->m.sessions_ended == 1);
	wait_count(f, 3);
	out[0] = '\0';
	assert_true(session_set_walk(f->set, 0, 10, walk_collect, out) == 0);
	assert_string_equal(out, "amy@127.0.0.1");
	client_free(a);
	client_free(b);
	client_free(c);
	client_free(d);
}

/*
 * A lock that the store committed while a login of that name was being
 * checked: the login's success comes back after it and is refused with
 * the bar's code; a login of another name is not touched.
 */
static void
test_login_racing_a_lock_is_refused(void **state)
{
	struct fixture	*f = *state;
	struct client	*a = client_new(f), *b = client_new(f);
	struct job	*ja, *jb;
	struct sc_msg	 m;

	client_hello(f, a);
	client_hello(f, b);
	ja = client_sign(f, a, "eve");
	jb = client_sign(f, b, "fay");
	assert_int_equal(session_set_end_user(f->set, "eve", SC_BYE_LOCKED,
	    SC_ERR_LOCKED), 0);
	session_set_hash_done(f->set, ja->sid, ja->op, 0, ja->name);
	expect_error(f, a, SC_MSG_SIGN, SC_ERR_LOCKED, "");
	session_set_hash_done(f->set, jb->sid, jb->op, 0, jb->name);
	expect(f, b, &m, SC_MSG_OK);
	assert_string_equal(m.name, "fay");
	assert_true(f->m.signups[SC_ERR_LOCKED] == 1);
	client_free(a);
	client_free(b);
}

/* Frames and bytes are counted both ways; presence events per client. */
static void
test_sessions_count_frames_bytes_and_presence(void **state)
{
	struct fixture	*f = *state;
	struct client	*a = client_new(f), *b = client_new(f);
	struct sc_msg	 m;

	client_hello(f, a);
	assert_true(f->m.frames_in == 1 && f->m.frames_out == 1);
	assert_true(f->m.bytes_in == SC_FRAME_HDR + SC_HELLO_BODY);
	client_login(f, a, "gil");
	client_hello(f, b);
	client_login(f, b, "hal");
	presence_flush(f->presence);
	expect(f, a, &m, SC_MSG_PRESENCE);
	assert_true(f->m.presence_deliveries == 1);
	client_send(f, a, SC_MSG_PING);
	expect_pong(f, a);
	assert_true(f->m.frames_in == 5);
	assert_true(f->m.frames_out >= 7);
	assert_true(f->m.bytes_out > 2 * HANDSHAKE_CONFIRM_MIN);
	assert_true(f->m.signups[0] == 2);
	client_free(a);
	client_free(b);
}

/* Runs every test of this file. */
/* bob's password hash in the store (never checked here). */
static const char	bob_hash[SC_PWHASH_LEN] =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";

/* Sends a STORE for to with id and a box of len bytes of b. */
static void
client_store_len(struct fixture *f, struct client *c, const char *to,
    const uint8_t id[SC_MAIL_ID_BYTES], uint8_t b, size_t len)
{
	struct wbuf	msg;
	uint8_t		box[SC_MAIL_BOX_MAX];

	memset(box, b, sizeof(box));
	wbuf_init(&msg);
	wire_enc_store(&msg, to, id, box, len);
	client_send_msg(f, c, &msg);
	wbuf_free(&msg);
}

/* Sends a STORE for to with id and a box of SC_MAIL_BOX_MIN bytes of b. */
static void
client_store(struct fixture *f, struct client *c, const char *to,
    const uint8_t id[SC_MAIL_ID_BYTES], uint8_t b)
{
	struct wbuf	msg;
	uint8_t		box[SC_MAIL_BOX_MIN];

	memset(box, b, sizeof(box));
	wbuf_init(&msg);
	wire_enc_store(&msg, to, id, box, sizeof(box));
	client_send_msg(f, c, &msg);
	wbuf_free(&msg);
}

/* The next message past PRESENCE is QUEUED for to and id. */
static void
expect_queued(struct fixture *f, struct client *c, const char *to,
    const uint8_t id[SC_MAIL_ID_BYTES])
{
	struct sc_msg	m;

	expect_past_presence(f, c, &m, SC_MSG_QUEUED);
	assert_string_equal(m.name, to);
	assert_memory_equal(m.mailid, id, SC_MAIL_ID_BYTES);
}

/* The next message is STORED from alice with id and a box of b. */
static void
expect_stored(struct fixture *f, struct client *c,
    const uint8_t id[SC_MAIL_ID_BYTES], uint8_t b)
{
	struct sc_msg	m;
	uint8_t		key[SC_KEY_BYTES];

	expect_past_presence(f, c, &m, SC_MSG_STORED);
	assert_memory_equal(m.mailid, id, SC_MAIL_ID_BYTES);
	assert_string_equal(m.name, "alice");
	memset(key, 'a', sizeof(key));
	assert_memory_equal(m.idkey, key, SC_KEY_BYTES);
	assert_true(m.stime > 0);
	assert_int_equal(m.box_len, SC_MAIL_BOX_MIN);
	assert_int_equal(m.box[0], b);
}

/* bob's account in the store, with an identity key ('b's) put in key. */
static void
bob_registered(struct fixture *f, uint8_t key[SC_KEY_BYTES])
{
	struct store	*st;
	char		 err[256];
	int		 changed;

	st = store_open(f->db, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_add(st, "bob", bob_hash, 0), STORE_OK);
	memset(key, 'b', SC_KEY_BYTES);
	assert_int_equal(store_set_identity(st, "bob", key, &changed),
	    STORE_OK);
	store_free(st);
}

/*
 * Stored messages from end to end on a real store: RCPT gives bob's key;
 * STORE is answered QUEUED (again for the same id), ERROR 14 past
 * queue_max_messages; bob's login gets them after his USERS in the order
 * stored; his STOREACK deletes one and tells alice; a session that ends
 * without acknowledging gets the other again at the next login.
 */
static void
test_stored_messages_queued_delivered_in_order_acknowledged(void **state)
{
	struct fixture	*f = *state;
	struct client	*a, *b;
	struct sc_msg	 m;
	struct wbuf	 msg;
	uint8_t		 key[SC_KEY_BYTES], id1[SC_MAIL_ID_BYTES];
	uint8_t		 id2[SC_MAIL_ID_BYTES], id3[SC_MAIL_ID_BYTES];

	memset(id1, 1, sizeof(id1));
	memset(id2, 2, sizeof(id2));
	memset(id3, 3, sizeof(id3));
	f->conf.queue_max_messages = 2;
	bob_registered(f, key);

	a = client_online(f, "alice");
	wbuf_init(&msg);
	wire_enc_rcpt(&msg, "bob");
	client_send_msg(f, a, &msg);
	wbuf_free(&msg);
	expect_past_presence(f, a, &m, SC_MSG_RCPTKEY);
	assert_string_equal(m.name, "bob");
	assert_memory_equal(m.idkey, key, SC_KEY_BYTES);
	client_store(f, a, "bob", id1, 0x11);
	expect_queued(f, a, "bob", id1);
	client_store(f, a, "bob", id1, 0x11);
	expect_queued(f, a, "bob", id1);
	client_store(f, a, "bob", id2, 0x22);
	expect_queued(f, a, "bob", id2);
	client_store(f, a, "bob", id3, 0x33);
	expect_error(f, a, SC_MSG_STORE, SC_ERR_QUEUE_FULL, "bob");
	/* The one that filled the queue, sent again: it is stored. */
	client_store(f, a, "bob", id2, 0x22);
	expect_queued(f, a, "bob", id2);
	/* A box whose STORED would not fit in the recipient's frames. */
	f->conf.queue_max_messages = 10;
	f->conf.max_frame = SC_FRAME_MIN;
	client_store_len(f, a, "bob", id3, 0x33, SC_MAIL_BOX_MAX);
	expect_error(f, a, SC_MSG_STORE, SC_ERR_QUEUE_BYTES, "bob");
	f->conf.max_frame = SC_FRAME_DEFAULT;
	f->conf.queue_max_messages = 2;
	assert_true(f->m.queued_messages == 2);
	assert_true(f->m.queued_bytes == 2 * SC_MAIL_BOX_MIN);

	/* bob logs in: his list, then the two in order. */
	b = client_new(f);
	client_hello(f, b);
	client_login(f, b, "bob");
	expect_stored(f, b, id1, 0x11);
	expect_stored(f, b, id2, 0x22);
	wbuf_init(&msg);
	wire_enc_storeack(&msg, id1);
	client_send_msg(f, b, &msg);
	wbuf_free(&msg);
	expect_past_presence(f, a, &m, SC_MSG_STORENOTE);
	assert_int_equal(m.code, SC_NOTE_DELIVERED);
	assert_string_equal(m.name, "bob");
	assert_memory_equal(m.mailid, id1, SC_MAIL_ID_BYTES);
	assert_true(f->m.queued_messages == 1);
	/* No acknowledgement of the second: it comes again, alone. */
	client_free(b);
	wait_count(f, 1);
	b = client_new(f);
	client_hello(f, b);
	client_login(f, b, "bob");
	expect_stored(f, b, id2, 0x22);
	expect_nothing(f, b);
	client_free(b);
	client_free(a);
	wait_count(f, 0);
}

/*
 * The window of 16: messages held back (STOREKEEP) leave it, so the next
 * ones come; they stay stored and come first at the next login.  An
 * acknowledgement of an id not waiting in the window deletes nothing.
 */
static void
test_stored_messages_kept_free_the_window(void **state)
{
	struct fixture	*f = *state;
	struct client	*a, *b;
	struct wbuf	 msg;
	uint8_t		 key[SC_KEY_BYTES], ids[17][SC_MAIL_ID_BYTES];
	int		 i;

	bob_registered(f, key);
	a = client_online(f, "alice");
	for (i = 0; i < 17; i++) {
		memset(ids[i], i + 1, SC_MAIL_ID_BYTES);
		client_store(f, a, "bob", ids[i], (uint8_t)(0x40 + i));
		expect_queued(f, a, "bob", ids[i]);
	}
	b = client_new(f);
	client_hello(f, b);
	client_login(f, b, "bob");
	for (i = 0; i < 16; i++)
		expect_stored(f, b, ids[i], (uint8_t)(0x40 + i));
	expect_nothing(f, b);
	/* The 17th is not acknowledged: nothing is deleted. */
	wbuf_init(&msg);
	wire_enc_storeack(&msg, ids[16]);
	client_send_msg(f, b, &msg);
	wbuf_reset(&msg);
	/* The first is held back: the 17th comes. */
	wire_enc_storekeep(&msg, ids[0]);
	client_send_msg(f, b, &msg);
	wbuf_reset(&msg);
	expect_stored(f, b, ids[16], 0x40 + 16);
	/* Kept, it is no longer waiting: its STOREACK deletes nothing. */
	wire_enc_storeack(&msg, ids[0]);
	client_send_msg(f, b, &msg);
	wbuf_free(&msg);
	expect_nothing(f, b);
	assert_true(f->m.queued_messages == 17);
	/* The next login starts again from the first. */
	client_free(b);
	wait_count(f, 1);
	b = client_new(f);
	client_hello(f, b);
	client_login(f, b, "bob");
	expect_stored(f, b, ids[0], 0x40);
	client_free(b);
	client_free(a);
	wait_count(f, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_handshake_closes_on_any_request, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_handshake_rejects_version_and_key, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_greeted_answers_each_request, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hashing_answers_each_request, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_online_answers_each_request, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_closing_answers_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rule_breaks_get_error_3_or_4_then_6_online, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_frames_close_without_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_frame_lengths_closed_from_the_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_output_cap_drops_a_client_that_does_not_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_linger_waits_for_the_client_then_gives_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login_deadline, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_hello_deadline_before_login_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_closed_session_withdraws_its_job_and_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_slowed_login_handed_over_at_once_with_its_wait, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_jobs_ranked_by_attempts_in_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_logins_in_progress_per_address_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_evict_idle_spares_connections_that_sent_hello, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_hash_results_failure_busy_and_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_newer_login_replaces_the_older, setup, teardown),
		cmocka_unit_test_setup_teardown(test_goodbye_all_then_empty,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_udp_answered_by_udpreg_and_host_changes_told_to_pairs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_recheck_answers_both_sides_once_a_second, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_closed_sign_up_refuses_sign_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_operator_sees_states_walks_and_ends_sessions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_login_racing_a_lock_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sessions_count_frames_bytes_and_presence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_stored_messages_queued_delivered_in_order_acknowledged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stored_messages_kept_free_the_window, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, group_setup, NULL));
}
