/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/client.c, the client's core: every message the
 * server may send, in every client state, through client_input() (the seam
 * the connection feeds), gets the reaction the handler table documents:
 * the records printed, the state after, the front end told or not, the
 * exit status.  A small server in the test speaks the real handshake on
 * 127.0.0.1, so the client reaches each state the way it does in use, and
 * the requests it sends can be read back off the wire.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/conf.h"
#include "sealchat/crypto.h"
#include "sealchat/handshake.h"
#include "sealchat/log.h"
#include "sealchat/peerhs.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "client/config.h"
#include "client.h"
#include "commands.h"
#include "identity.h"
#include "output.h"

#include "capture.h"
#include "tmpdir.h"

/* The server's end: a listener, then one connection and its channel. */
struct fake {
	int			lfd;
	int			fd;
	uint16_t		port;
	struct sc_keypair	kp;
	struct sc_channel	ch;
	uint8_t			in[SC_FRAME_HDR + SC_FRAME_DEFAULT];
	size_t			inlen;
};

/* A client in a state of the test's choosing, and what it told. */
struct fixture {
	struct event_base	*base;
	struct output		*out;
	struct capture		 cap;
	struct client_conf	 conf;
	struct client		*client;
	struct fake		 fk;
	int			 readies;	/* front end: ready calls */
	int			 dones;		/* front end: done calls */
	int			 last_failed;	/* the last done's argument */
	int			 udp_fd;	/* a peer that never answers */
	uint16_t		 udp_port;
	int			 persist;	/* the client keeps going */
	int			 retry_ms;	/* its first reconnect delay */
	int			 ask;		/* passwords: 1, read later */
	int			 reread;	/* fe.reread */
	char			 data[PATH_MAX];	/* XDG_DATA_HOME */
	struct peerhs		 bob_hs;	/* bob answers alice's INIT */
	struct sc_pair_keys	 bob_k;
	int			 bob_keyed;
	uint8_t			 bob_resp[PEERHS_LEN];
};

/* Every peer's identity key in the tests' PAIRKEYs, and its secret. */
static uint8_t	peer_sk[SC_KEY_BYTES];
static uint8_t	peer_pk[SC_KEY_BYTES];
/* dave, who stores messages for alice: his identity key pair. */
static uint8_t	dave_pk[SC_KEY_BYTES];
static uint8_t	dave_sk[SC_KEY_BYTES];
static const uint8_t	stored_id[SC_MAIL_ID_BYTES] = { 1, 2, 3 };

/* Front end: the channel is open. */
static void
fe_ready(void *arg)
{
	struct fixture	*f = arg;

	f->readies++;
}

/* Front end: the running command finished. */
static void
fe_done(void *arg, int failed)
{
	struct fixture	*f = arg;

	f->dones++;
	f->last_failed = failed;
}

/* Front end: a password is read later (f->ask), or there is none. */
static int
fe_password(void *arg, char *buf, size_t cap, size_t *len, char *err,
    size_t errlen)
{
	struct fixture	*f = arg;

	(void)buf;
	(void)cap;
	(void)len;
	if (f->ask)
		return (1);
	snprintf(err, errlen, "no password");
	return (-1);
}

/* Starts listening on 127.0.0.1 with a fresh server key pair. */
static void
fake_listen(struct fake *fk)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	memset(fk, 0, sizeof(*fk));
	fk->fd = -1;
	assert_int_equal(sc_keypair_generate(&fk->kp), 0);
	fk->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk->lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(fk->lfd, 4), 0);
	/* The client connects from its loop: accept while it turns. */
	assert_int_equal(util_set_nonblock(fk->lfd), 0);
	assert_int_equal(getsockname(fk->lfd, (struct sockaddr *)&sin, &len),
	    0);
	fk->port = ntohs(sin.sin_port);
}

/* Lets the client's loop turn once without blocking. */
static void
turn(struct fixture *f)
{
	(void)event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Sleeps a millisecond. */
static void
nap(void)
{
	struct timespec	ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * The next frame the client sent, read while its loop runs: its body in
 * body (at most cap bytes), its length returned.
 */
static size_t
fake_frame(struct fixture *f, uint8_t *body, size_t cap)
{
	struct fake	*fk = &f->fk;
	uint32_t	 blen;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < 3000; i++) {
		if (fk->inlen >= SC_FRAME_HDR) {
			blen = (uint32_t)fk->in[0] << 24 |
			    (uint32_t)fk->in[1] << 16 |
			    (uint32_t)fk->in[2] << 8 | fk->in[3];
			assert_true(blen <= cap);
			if (fk->inlen >= SC_FRAME_HDR + blen) {
				memcpy(body, fk->in + SC_FRAME_HDR, blen);
				fk->inlen -= SC_FRAME_HDR + blen;
				memmove(fk->in, fk->in + SC_FRAME_HDR + blen,
				    fk->inlen);
				return (blen);
			}
		}
		turn(f);
		n = recv(fk->fd, fk->in + fk->inlen, sizeof(fk->in) -
		    fk->inlen, MSG_DONTWAIT);
		if (n > 0)
			fk->inlen += (size_t)n;
		else
			nap();
	}
	fail_msg("no frame from the client");
	return (0);
}

/* The next request the client sent, opened and decoded; its type. */
static uint8_t
fake_request(struct fixture *f, struct sc_msg *m, uint8_t *plain,
    size_t cap)
{
	uint8_t	body[SC_FRAME_DEFAULT];
	size_t	len;

	len = fake_frame(f, body, sizeof(body));
	assert_true(len > SC_MAC_BYTES && len - SC_MAC_BYTES <= cap);
	assert_int_equal(sc_channel_open(&f->fk.ch, plain, body, len), 0);
	assert_int_equal(wire_msg_decode(m, plain, len - SC_MAC_BYTES), 0);
	return (m->type);
}

/*
 * Accepts the client's next connection (closing the one before), while its
 * loop turns: it resolves and connects from there.
 */
static void
fake_accept(struct fixture *f)
{
	int	i;

	if (f->fk.fd != -1)
		close(f->fk.fd);
	f->fk.inlen = 0;
	for (i = 0; i < 3000; i++) {
		f->fk.fd = accept4(f->fk.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (f->fk.fd >= 0)
			return;
		turn(f);
		nap();
	}
	fail_msg("the client did not connect");
}

/* Answers the client's HELLO with CONFIRM: the channel opens. */
static void
fake_handshake(struct fixture *f)
{
	uint8_t		hello[SC_HELLO_BODY];
	uint8_t		frame[SC_FRAME_HDR + SC_KEY_BYTES + 64];
	uint8_t		*p = frame + SC_FRAME_HDR;
	struct wbuf	wb;
	size_t		len;
	int		i;

	assert_int_equal(fake_frame(f, hello, sizeof(hello)), SC_HELLO_BODY);
	assert_int_equal(handshake_server(&f->fk.ch, p, &f->fk.kp, hello,
	    sizeof(hello)), 0);
	wbuf_init(&wb);
	wire_enc_welcome(&wb, SC_FRAME_DEFAULT, 15, 45);
	assert_true(wb.len + SC_MAC_BYTES <= 64);
	assert_int_equal(sc_channel_seal(&f->fk.ch, p + SC_KEY_BYTES,
	    wb.data, wb.len), 0);
	len = SC_KEY_BYTES + wb.len + SC_MAC_BYTES;
	wbuf_free(&wb);
	wire_frame_header(frame, (uint32_t)len);
	assert_int_equal(send(f->fk.fd, frame, SC_FRAME_HDR + len, 0),
	    (ssize_t)(SC_FRAME_HDR + len));
	for (i = 0; i < 3000 && (client_state(f->client) ==
	    CLIENT_CONNECTING || client_state(f->client) ==
	    CLIENT_RECONNECT); i++) {
		turn(f);
		nap();
	}
	assert_true(client_state(f->client) != CLIENT_CONNECTING &&
	    client_state(f->client) != CLIENT_RECONNECT);
}

/* (Re)makes the client on f->conf, with the test's front end. */
static void
fixture_client(struct fixture *f)
{
	struct client_opts	opts;
	struct client_frontend	fe;

	client_free(f->client);
	f->conf.server_port = f->fk.port;
	memset(&opts, 0, sizeof(opts));
	opts.key_path = "server.pub";
	opts.persist = f->persist;
	opts.retry_ms = f->retry_ms;
	f->client = client_new(f->base, &f->conf, f->fk.kp.pk, &opts, f->out);
	assert_non_null(f->client);
	memset(&fe, 0, sizeof(fe));
	fe.ready = fe_ready;
	fe.done = fe_done;
	fe.password = fe_password;
	fe.reread = f->reread;
	fe.arg = f;
	client_set_frontend(f->client, &fe);
}

/* A client and a server, nothing connected yet. */
static int
fixture_setup(void **state)
{
	struct fixture		*f;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	assert_int_equal(sc_crypto_init(), 0);
	log_init("test_client", LOG_LVL_ERROR);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	/* The identity keys and pins of the client under test. */
	tmpdir_make(f->data, "client");
	assert_int_equal(setenv("XDG_DATA_HOME", f->data, 1), 0);
	memset(peer_sk, 0x42, sizeof(peer_sk));
	assert_int_equal(sc_dh_public(peer_pk, peer_sk), 0);
	memset(dave_sk, 0x43, sizeof(dave_sk));
	assert_int_equal(sc_dh_public(dave_pk, dave_sk), 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->out = output_new(&capture_ops, &f->cap);
	assert_non_null(f->out);
	fake_listen(&f->fk);
	client_config_defaults(&f->conf);
	fixture_client(f);
	/* The peer bob: a socket that takes datagrams and never answers. */
	f->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->udp_fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->udp_fd, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	assert_int_equal(getsockname(f->udp_fd, (struct sockaddr *)&sin,
	    &len), 0);
	f->udp_port = ntohs(sin.sin_port);
	*state = f;
	return (0);
}

/* Frees the fixture. */
static int
fixture_teardown(void **state)
{
	struct fixture	*f = *state;

	client_free(f->client);
	output_free(f->out);
	event_base_free(f->base);
	if (f->fk.fd != -1)
		close(f->fk.fd);
	close(f->fk.lfd);
	sc_keypair_free(&f->fk.kp);
	sc_channel_wipe(&f->fk.ch);
	close(f->udp_fd);
	peerhs_wipe(&f->bob_hs);
	tmpdir_remove(f->data);
	(void)unsetenv("XDG_DATA_HOME");
	free(f);
	return (0);
}

/* The messages a server may send, as the test makes them. */
enum kind {
	K_WELCOME,
	K_OK,
	K_ERR_AUTH,
	K_ERR_SIGN,
	K_ERR_LIST,
	K_ERR_PAIR,		/* for carol, the peer a send waits for */
	K_ERR_PAIR_OTHER,	/* for dave */
	K_ERR_UDP,
	K_ERR_PING,
	K_ERR_RECHECK,		/* the pair died meanwhile */
	K_USERS,		/* the initial list: bob */
	K_USERS_REPLY,		/* the answer to list: bob */
	K_USERS_MORE,		/* the first frame of a longer list */
	K_PRESENCE,		/* erin online, carol offline */
	K_PAIRKEY,		/* for carol */
	K_PAIRKEY_OTHER,	/* for dave */
	K_PONG,
	K_UDPREG,
	K_CANDIDATES,		/* for bob's pair (held in SLOT, DRAIN) */
	K_CANDIDATES_OTHER,	/* for a pair never held */
	K_RCPTKEY,		/* carol's key, for the send that waits */
	K_QUEUED_OTHER,		/* for carol, an id never sent */
	K_ERR_RCPT,		/* carol has no identity key */
	K_ERR_STORE,		/* carol's queue is full */
	K_STORED,		/* from dave, sealed to alice */
	K_NOTE_DELIVERED,	/* alice's stored message to carol */
	K_NOTE_EXPIRED,
	K_BYE_LOGOUT,
	K_BYE_SHUTDOWN,
	K_BYE_DEADLINE,
	K_BYE_REPLACED,
	K_NKINDS
};

static const char *const kind_names[K_NKINDS] = {
	"WELCOME", "OK", "ERROR(AUTH)", "ERROR(SIGN)", "ERROR(LIST)",
	"ERROR(PAIR carol)", "ERROR(PAIR dave)", "ERROR(UDP)", "ERROR(PING)",
	"ERROR(RECHECK)", "USERS", "USERS(REPLY)", "USERS(MORE)", "PRESENCE",
	"PAIRKEY(carol)", "PAIRKEY(dave)", "PONG", "UDPREG",
	"CANDIDATES(bob)", "CANDIDATES(unknown)", "RCPTKEY(carol)",
	"QUEUED(unknown id)", "ERROR(RCPT)", "ERROR(STORE)", "STORED(dave)",
	"STORENOTE(delivered)", "STORENOTE(expired)", "GOODBYE(logout)",
	"GOODBYE(shutdown)", "GOODBYE(deadline)", "GOODBYE(replaced)",
};

/* Encodes a PAIRKEY for name, pointing at the silent peer socket. */
static void
enc_pairkey(struct wbuf *wb, const char *name, uint64_t pair_id,
    uint16_t port)
{
	static const uint8_t	kxy[SC_KEY_BYTES] = { 7, 7, 7 };
	struct sc_cand		c;

	memset(&c, 0, sizeof(c));
	c.kind = SC_CAND_HOST;
	c.af = SC_AF_INET;
	c.addr[0] = 127;
	c.addr[3] = 1;
	c.port = port;
	wire_enc_pairkey(wb, name, pair_id, kxy, peer_pk, 0, &c, 1);
}

/* The key of the UDPREG the tests send. */
static const uint8_t	udpreg_key[SC_KEY_BYTES] = { 9, 9, 9 };

/* Encodes a CANDIDATES for a pair, one host at the silent socket. */
static void
enc_candidates(struct wbuf *wb, uint64_t pair_id, uint16_t port)
{
	struct sc_cand	c;

	memset(&c, 0, sizeof(c));
	c.kind = SC_CAND_HOST;
	c.af = SC_AF_INET;
	c.addr[0] = 127;
	c.addr[3] = 1;
	c.port = port;
	wire_enc_candidates(wb, pair_id, 0, &c, 1);
}

/* alice's identity public key, the one her client made (or makes). */
static void
alice_pk(struct fixture *f, uint8_t pk[SC_KEY_BYTES])
{
	struct identity	*alice;
	char		 err[256], base[PATH_MAX + 16];

	snprintf(base, sizeof(base), "%s/sealchat", f->data);
	alice = identity_open(base, f->fk.kp.pk, "alice", err, sizeof(err));
	assert_non_null(alice);
	memcpy(pk, identity_keypair(alice)->pk, SC_KEY_BYTES);
	identity_free(alice);
}

/* A STORED from dave to alice: id, text, his key as the sender's. */
static void
enc_stored(struct fixture *f, struct wbuf *wb,
    const uint8_t id[SC_MAIL_ID_BYTES], const char *text)
{
	uint8_t	plain[SC_MAIL_PLAIN_HDR + SC_TEXT_MAX];
	uint8_t	box[SC_MAIL_BOX_MAX], pk[SC_KEY_BYTES];
	size_t	len = strlen(text);

	alice_pk(f, pk);
	plain[0] = SC_MAIL_VERSION;
	memcpy(plain + 1, id, SC_MAIL_ID_BYTES);
	util_put_be64(plain + 1 + SC_MAIL_ID_BYTES, 1700000000000ULL);
	memcpy(plain + SC_MAIL_PLAIN_HDR, text, len);
	assert_int_equal(sc_box(box, plain, SC_MAIL_PLAIN_HDR + len, pk,
	    dave_sk), 0);
	wire_enc_stored(wb, id, "dave", dave_pk, 1700000000, box,
	    SC_MAIL_PLAIN_HDR + len + SC_BOX_BYTES);
}

/* Encodes and decodes one message of a kind; m points into wb. */
static void
make(struct fixture *f, enum kind k, struct wbuf *wb, struct sc_msg *m)
{
	wbuf_init(wb);
	switch (k) {
	case K_WELCOME:
		wire_enc_welcome(wb, SC_FRAME_DEFAULT, 15, 45);
		break;
	case K_OK:
		wire_enc_ok(wb, SC_MSG_AUTH, "alice");
		break;
	case K_ERR_AUTH:
		wire_enc_error(wb, SC_MSG_AUTH, SC_ERR_CREDENTIALS, "");
		break;
	case K_ERR_SIGN:
		wire_enc_error(wb, SC_MSG_SIGN, SC_ERR_TAKEN, "");
		break;
	case K_ERR_LIST:
		wire_enc_error(wb, SC_MSG_LIST, SC_ERR_STATE, "");
		break;
	case K_ERR_PAIR:
		wire_enc_error(wb, SC_MSG_PAIR, SC_ERR_OFFLINE, "carol");
		break;
	case K_ERR_PAIR_OTHER:
		wire_enc_error(wb, SC_MSG_PAIR, SC_ERR_OFFLINE, "dave");
		break;
	case K_ERR_UDP:
		wire_enc_error(wb, SC_MSG_UDP, SC_ERR_STATE, "");
		break;
	case K_ERR_PING:
		wire_enc_error(wb, SC_MSG_PING, SC_ERR_STATE, "");
		break;
	case K_ERR_RECHECK:
		wire_enc_error(wb, SC_MSG_RECHECK, SC_ERR_OFFLINE, "");
		break;
	case K_USERS:
		wire_enc_users_begin(wb, 0);
		wire_enc_users_entry(wb, "bob", 3);
		break;
	case K_USERS_REPLY:
		wire_enc_users_begin(wb, SC_USERS_REPLY);
		wire_enc_users_entry(wb, "bob", 3);
		break;
	case K_USERS_MORE:
		wire_enc_users_begin(wb, SC_USERS_MORE);
		wire_enc_users_entry(wb, "bob", 3);
		break;
	case K_PRESENCE:
		wire_enc_presence_begin(wb);
		wire_enc_presence_entry(wb, 1, "erin", 4);
		wire_enc_presence_entry(wb, 0, "carol", 5);
		break;
	case K_PAIRKEY:
		enc_pairkey(wb, "carol", 0x77, f->udp_port);
		break;
	case K_PAIRKEY_OTHER:
		enc_pairkey(wb, "dave", 0x78, f->udp_port);
		break;
	case K_PONG:
		wire_enc_ping(wb, SC_MSG_PONG, 1);
		break;
	case K_UDPREG:
		wire_enc_udpreg(wb, f->udp_port, SC_UDPREG_RELAY, 0x99,
		    udpreg_key);
		break;
	case K_CANDIDATES:
		enc_candidates(wb, 0x42, f->udp_port);
		break;
	case K_CANDIDATES_OTHER:
		enc_candidates(wb, 0x1234, f->udp_port);
		break;
	case K_RCPTKEY:
		wire_enc_rcptkey(wb, "carol", peer_pk);
		break;
	case K_QUEUED_OTHER:
		wire_enc_queued(wb, "carol", stored_id);
		break;
	case K_ERR_RCPT:
		wire_enc_error(wb, SC_MSG_RCPT, SC_ERR_NO_MAILBOX, "carol");
		break;
	case K_ERR_STORE:
		wire_enc_error(wb, SC_MSG_STORE, SC_ERR_QUEUE_FULL, "carol");
		break;
	case K_STORED:
		enc_stored(f, wb, stored_id, "stored hi");
		break;
	case K_NOTE_DELIVERED:
		wire_enc_storenote(wb, SC_NOTE_DELIVERED, "carol", stored_id);
		break;
	case K_NOTE_EXPIRED:
		wire_enc_storenote(wb, SC_NOTE_EXPIRED, "carol", stored_id);
		break;
	case K_BYE_LOGOUT:
		wire_enc_goodbye(wb, SC_BYE_LOGOUT);
		break;
	case K_BYE_DEADLINE:
		wire_enc_goodbye(wb, SC_BYE_DEADLINE);
		break;
	case K_BYE_REPLACED:
		wire_enc_goodbye(wb, SC_BYE_REPLACED);
		break;
	case K_BYE_SHUTDOWN:
	case K_NKINDS:
		wire_enc_goodbye(wb, SC_BYE_SHUTDOWN);
		break;
	}
	assert_false(wb->oom);
	assert_int_equal(wire_msg_decode(m, wb->data, wb->len), 0);
}

/* Hands one message of a kind to the client, as the connection does. */
static void
inject(struct fixture *f, enum kind k)
{
	struct wbuf	wb;
	struct sc_msg	m;

	make(f, k, &wb, &m);
	client_input(f->client, &m);
	wbuf_free(&wb);
}

/* Runs one command line; returns its status. */
static enum cmd_status
run(struct fixture *f, const char *line)
{
	return (commands_run(f->client, line, strlen(line)));
}

/* Gives the peer bob a pair key, at the silent socket. */
static void
give_bob_a_key(struct fixture *f)
{
	static const uint8_t	 kxy[SC_KEY_BYTES] = { 7, 7, 7 };
	struct identity		*alice;
	struct wbuf		 wb;
	struct sc_msg		 m;
	char			 err[256], base[PATH_MAX + 16];

	/* bob knows alice's identity key: the one her client made. */
	snprintf(base, sizeof(base), "%s/sealchat", f->data);
	alice = identity_open(base, f->fk.kp.pk, "alice", err, sizeof(err));
	assert_non_null(alice);
	assert_int_equal(peerhs_init(&f->bob_hs, 0, 0x42, "alice",
	    identity_keypair(alice)->pk, "bob", peer_pk, kxy), 0);
	identity_free(alice);
	f->bob_keyed = 0;
	wbuf_init(&wb);
	enc_pairkey(&wb, "bob", 0x42, f->udp_port);
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
}

/* Sends the initial USERS list, nobody else online. */
static void
give_empty_list(struct fixture *f)
{
	struct wbuf	wb;
	struct sc_msg	m;

	wbuf_init(&wb);
	wire_enc_users_begin(&wb, 0);
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
}

/* A client that keeps going, reconnecting after about ms. */
static void
fixture_persist(struct fixture *f, int ms)
{
	f->persist = 1;
	f->retry_ms = ms;
	fixture_client(f);
}

/* Brings the client into state st the way use does, then forgets the log. */
static void
reach(struct fixture *f, enum client_state st)
{
	int	i;

	/* Restoring a session needs a client that keeps going. */
	if (st == CLIENT_RECONNECT)
		fixture_persist(f, 60000);
	else if (st == CLIENT_RELOGIN || st == CLIENT_RELOGIN_LIST)
		fixture_persist(f, 10);
	assert_int_equal(client_start(f->client), 0);
	fake_accept(f);
	if (st == CLIENT_CONNECTING)
		goto out;
	fake_handshake(f);
	switch (st) {
	case CLIENT_GREETED:
		goto out;
	case CLIENT_IDLE:
		inject(f, K_BYE_DEADLINE);
		goto out;
	case CLIENT_PASSWORD:
		f->ask = 1;
		assert_int_equal(run(f, "auth alice"), CMD_PENDING);
		goto out;
	case CLIENT_LEAVING:
		assert_int_equal(run(f, "quit"), CMD_PENDING);
		goto out;
	case CLIENT_DONE:
		inject(f, K_BYE_SHUTDOWN);
		goto out;
	default:
		break;
	}
	assert_int_equal(run(f, "auth alice pw"), CMD_PENDING);
	if (st == CLIENT_LOGIN)
		goto out;
	inject(f, K_OK);
	if (st == CLIENT_LOGIN_LIST)
		goto out;
	if (st == CLIENT_LOGOUT_LIST) {
		/* Interrupted between the login's OK and its list. */
		assert_int_equal(raise(SIGTERM), 0);
		for (i = 0; i < 2000 &&
		    client_state(f->client) == CLIENT_LOGIN_LIST; i++) {
			turn(f);
			nap();
		}
		assert_string_equal(f->cap.text,
		    "ok\tauth\talice\nerror\tauth\tinterrupted\n");
		goto out;
	}
	give_empty_list(f);
	switch (st) {
	case CLIENT_LIST:
		assert_int_equal(run(f, "list"), CMD_PENDING);
		break;
	case CLIENT_PAIR:
		assert_int_equal(run(f, "send carol hi"), CMD_PENDING);
		break;
	case CLIENT_MAIL:
		/* carol is offline: her key is asked for, to store it. */
		assert_int_equal(run(f, "send carol hi"), CMD_PENDING);
		inject(f, K_ERR_PAIR);
		break;
	case CLIENT_SLOT:
		give_bob_a_key(f);
		for (i = 0; i < 64; i++)
			assert_int_equal(run(f, "send bob m"), CMD_OK);
		assert_int_equal(run(f, "send bob one too many"),
		    CMD_PENDING);
		break;
	case CLIENT_DRAIN:
		give_bob_a_key(f);
		assert_int_equal(run(f, "send bob m"), CMD_OK);
		assert_int_equal(run(f, "quit"), CMD_PENDING);
		break;
	case CLIENT_LOGOUT:
		assert_int_equal(run(f, "quit"), CMD_PENDING);
		break;
	case CLIENT_RECONNECT:
	case CLIENT_RELOGIN:
	case CLIENT_RELOGIN_LIST:
		inject(f, K_BYE_SHUTDOWN);
		if (st == CLIENT_RECONNECT)
			break;
		/* The next attempt: a new connection, our AUTH on it. */
		fake_accept(f);
		fake_handshake(f);
		if (st == CLIENT_RELOGIN)
			break;
		inject(f, K_OK);
		break;
	default:
		break;
	}
out:
	assert_string_equal(client_state_name(client_state(f->client)),
	    client_state_name(st));
	capture_clear(&f->cap);
	f->readies = 0;
	f->dones = 0;
	f->last_failed = -1;
}

/* A reaction other than "nothing visible happens, the state stays". */
struct reaction {
	enum kind		 kind;
	enum client_state	 in;
	enum client_state	 next;
	const char		*records;
	int			 done;		/* -1: not told; else failed */
	int			 status;	/* exit status, when DONE */
};

#define LOST(cmd)	"error\t" cmd "\tconnection to the server lost\n"
#define BYE(why)	"diag\tserver closed the session: " why "\n"
#define UDP_REFUSED	\
	"diag\tthe server refused the UDP port: not allowed now\n"
/* carol was not online: her "offline" says nothing. */
#define PRESENCE	"online\terin\n"

/*
 * The documented reactions (the table in client.c): every (message, state)
 * pair not listed shows nothing, tells the front end nothing and stays.
 */
static const struct reaction reactions[] = {
	{ K_WELCOME, CLIENT_CONNECTING, CLIENT_GREETED, "", -1, 0 },

	{ K_OK, CLIENT_LOGIN, CLIENT_LOGIN_LIST, "ok\tauth\talice\n", -1, 0 },

	{ K_ERR_AUTH, CLIENT_LOGIN, CLIENT_GREETED,
	    "error\tauth\twrong user or password\n", 1, 0 },
	{ K_ERR_AUTH, CLIENT_LOGIN_LIST, CLIENT_ONLINE,
	    "error\tauth\twrong user or password\n", 1, 0 },
	{ K_ERR_SIGN, CLIENT_LOGIN, CLIENT_GREETED,
	    "error\tauth\tname taken\n", 1, 0 },
	{ K_ERR_SIGN, CLIENT_LOGIN_LIST, CLIENT_ONLINE,
	    "error\tauth\tname taken\n", 1, 0 },
	{ K_ERR_LIST, CLIENT_LIST, CLIENT_ONLINE,
	    "error\tlist\tnot allowed now\n", 1, 0 },
	/* carol is offline: her key for a stored message is asked for. */
	{ K_ERR_PAIR, CLIENT_PAIR, CLIENT_MAIL, "", -1, 0 },
	{ K_ERR_RCPT, CLIENT_MAIL, CLIENT_ONLINE,
	    "error\tsend\tuser cannot get messages while offline (no "
	    "identity key registered): carol\n", 1, 0 },
	{ K_ERR_STORE, CLIENT_MAIL, CLIENT_ONLINE,
	    "error\tsend\ttoo many messages queued for user: carol\n", 1, 0 },

	{ K_ERR_UDP, CLIENT_CONNECTING, CLIENT_CONNECTING, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_GREETED, CLIENT_GREETED, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_LOGIN, CLIENT_LOGIN, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_LOGIN_LIST, CLIENT_LOGIN_LIST, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_ONLINE, CLIENT_ONLINE, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_LIST, CLIENT_LIST, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_PAIR, CLIENT_PAIR, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_SLOT, CLIENT_SLOT, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_MAIL, CLIENT_MAIL, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_DRAIN, CLIENT_DRAIN, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_LOGOUT, CLIENT_LOGOUT, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_LOGOUT_LIST, CLIENT_LOGOUT_LIST, UDP_REFUSED,
	    -1, 0 },
	{ K_ERR_UDP, CLIENT_LEAVING, CLIENT_LEAVING, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_IDLE, CLIENT_IDLE, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_PASSWORD, CLIENT_PASSWORD, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_RECONNECT, CLIENT_RECONNECT, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_RELOGIN, CLIENT_RELOGIN, UDP_REFUSED, -1, 0 },
	{ K_ERR_UDP, CLIENT_RELOGIN_LIST, CLIENT_RELOGIN_LIST, UDP_REFUSED,
	    -1, 0 },

	/* Logging in again after an outage. */
	{ K_OK, CLIENT_RELOGIN, CLIENT_RELOGIN_LIST, "ok\tauth\talice\n",
	    -1, 0 },
	{ K_ERR_AUTH, CLIENT_RELOGIN, CLIENT_DONE,
	    "error\tauth\twrong user or password\n"
	    "diag\tcannot log in again as alice: wrong user or password\n",
	    -1, 1 },
	{ K_USERS, CLIENT_RELOGIN_LIST, CLIENT_ONLINE, "users\tbob\n", -1, 0 },
	{ K_PRESENCE, CLIENT_RELOGIN_LIST, CLIENT_RELOGIN_LIST, PRESENCE, -1,
	    0 },
	/* A session ended before it was back: the next attempt. */
	{ K_BYE_LOGOUT, CLIENT_RELOGIN, CLIENT_RECONNECT, "", -1, 0 },
	{ K_BYE_SHUTDOWN, CLIENT_RELOGIN, CLIENT_RECONNECT, "", -1, 0 },
	{ K_BYE_DEADLINE, CLIENT_RELOGIN, CLIENT_RECONNECT, "", -1, 0 },
	{ K_BYE_LOGOUT, CLIENT_RELOGIN_LIST, CLIENT_RECONNECT, "", -1, 0 },
	{ K_BYE_SHUTDOWN, CLIENT_RELOGIN_LIST, CLIENT_RECONNECT, "", -1, 0 },
	{ K_BYE_DEADLINE, CLIENT_RELOGIN_LIST, CLIENT_RECONNECT, "", -1, 0 },
	/* Logged in elsewhere ends every session for good. */
	{ K_BYE_REPLACED, CLIENT_CONNECTING, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_GREETED, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_PASSWORD, CLIENT_DONE,
	    LOST("auth") BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_LOGIN, CLIENT_DONE,
	    LOST("auth") BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_LOGIN_LIST, CLIENT_DONE,
	    LOST("auth") BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_ONLINE, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_LIST, CLIENT_DONE,
	    LOST("list") BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_PAIR, CLIENT_DONE,
	    LOST("send") BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_SLOT, CLIENT_DONE,
	    LOST("send") BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_MAIL, CLIENT_DONE,
	    LOST("send") BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_RECONNECT, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_RELOGIN, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_RELOGIN_LIST, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_DRAIN, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_LOGOUT, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_LOGOUT_LIST, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	{ K_BYE_REPLACED, CLIENT_LEAVING, CLIENT_DONE,
	    BYE("logged in elsewhere"), -1, EXIT_UNAVAIL },
	/*
	 * The login deadline: before a login, quietly no connection (the
	 * next login connects again); a login just sent goes again on a
	 * new connection.  Elsewhere it ends the session as any goodbye.
	 */
	{ K_BYE_DEADLINE, CLIENT_GREETED, CLIENT_IDLE, "", -1, 0 },
	{ K_BYE_DEADLINE, CLIENT_LOGIN, CLIENT_CONNECTING, "", -1, 0 },
	{ K_BYE_DEADLINE, CLIENT_CONNECTING, CLIENT_DONE,
	    BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_LOGIN_LIST, CLIENT_DONE,
	    LOST("auth") BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_ONLINE, CLIENT_DONE,
	    BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_LIST, CLIENT_DONE,
	    LOST("list") BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_PAIR, CLIENT_DONE,
	    LOST("send") BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_SLOT, CLIENT_DONE,
	    LOST("send") BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_MAIL, CLIENT_DONE,
	    LOST("send") BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_DRAIN, CLIENT_DONE,
	    BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_LOGOUT, CLIENT_DONE,
	    BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_LOGOUT_LIST, CLIENT_DONE,
	    BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	{ K_BYE_DEADLINE, CLIENT_LEAVING, CLIENT_DONE,
	    BYE("login deadline passed"), -1, EXIT_UNAVAIL },
	/* The password being read: the end of a session ends the run. */
	{ K_BYE_LOGOUT, CLIENT_PASSWORD, CLIENT_DONE,
	    LOST("auth") BYE("logged out"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_PASSWORD, CLIENT_DONE,
	    LOST("auth") BYE("server shutting down"), -1, EXIT_UNAVAIL },

	{ K_USERS, CLIENT_LOGIN_LIST, CLIENT_ONLINE, "users\tbob\n", 0, 0 },
	{ K_USERS_REPLY, CLIENT_LIST, CLIENT_ONLINE, "users\tbob\n", 0, 0 },
	/* A login cut short by a quit still shows its list. */
	{ K_USERS, CLIENT_LOGOUT_LIST, CLIENT_LOGOUT, "users\tbob\n", -1, 0 },

	{ K_PRESENCE, CLIENT_LOGIN_LIST, CLIENT_LOGIN_LIST, PRESENCE, -1, 0 },
	{ K_PRESENCE, CLIENT_ONLINE, CLIENT_ONLINE, PRESENCE, -1, 0 },
	{ K_PRESENCE, CLIENT_LIST, CLIENT_LIST, PRESENCE, -1, 0 },
	{ K_PRESENCE, CLIENT_PAIR, CLIENT_PAIR, PRESENCE, -1, 0 },
	{ K_PRESENCE, CLIENT_SLOT, CLIENT_SLOT, PRESENCE, -1, 0 },
	{ K_PRESENCE, CLIENT_MAIL, CLIENT_MAIL, PRESENCE, -1, 0 },
	{ K_PRESENCE, CLIENT_DRAIN, CLIENT_DRAIN, PRESENCE, -1, 0 },
	{ K_PRESENCE, CLIENT_LOGOUT, CLIENT_LOGOUT, PRESENCE, -1, 0 },
	{ K_PRESENCE, CLIENT_LOGOUT_LIST, CLIENT_LOGOUT_LIST, PRESENCE, -1, 0 },

	/* The key lets the waiting message go: the send is over. */
	{ K_PAIRKEY, CLIENT_PAIR, CLIENT_ONLINE, "sent\tcarol\thi\n", 0, 0 },

	{ K_BYE_LOGOUT, CLIENT_CONNECTING, CLIENT_DONE, BYE("logged out"),
	    -1, EXIT_UNAVAIL },
	{ K_BYE_LOGOUT, CLIENT_GREETED, CLIENT_DONE, BYE("logged out"),
	    -1, EXIT_UNAVAIL },
	{ K_BYE_LOGOUT, CLIENT_LOGIN, CLIENT_DONE,
	    LOST("auth") BYE("logged out"), -1, EXIT_UNAVAIL },
	{ K_BYE_LOGOUT, CLIENT_LOGIN_LIST, CLIENT_DONE,
	    LOST("auth") BYE("logged out"), -1, EXIT_UNAVAIL },
	{ K_BYE_LOGOUT, CLIENT_ONLINE, CLIENT_DONE, BYE("logged out"),
	    -1, EXIT_UNAVAIL },
	{ K_BYE_LOGOUT, CLIENT_LIST, CLIENT_DONE,
	    LOST("list") BYE("logged out"), -1, EXIT_UNAVAIL },
	{ K_BYE_LOGOUT, CLIENT_PAIR, CLIENT_DONE,
	    LOST("send") BYE("logged out"), -1, EXIT_UNAVAIL },
	{ K_BYE_LOGOUT, CLIENT_SLOT, CLIENT_DONE,
	    LOST("send") BYE("logged out"), -1, EXIT_UNAVAIL },
	{ K_BYE_LOGOUT, CLIENT_MAIL, CLIENT_DONE,
	    LOST("send") BYE("logged out"), -1, EXIT_UNAVAIL },
	/* On the way out, the goodbye for our LOGOUT: as planned. */
	{ K_BYE_LOGOUT, CLIENT_DRAIN, CLIENT_DONE, "", -1, 0 },
	{ K_BYE_LOGOUT, CLIENT_LOGOUT, CLIENT_DONE, "", -1, 0 },
	{ K_BYE_LOGOUT, CLIENT_LOGOUT_LIST, CLIENT_DONE, "", -1, 1 },
	{ K_BYE_LOGOUT, CLIENT_LEAVING, CLIENT_DONE, "", -1, 0 },

	{ K_BYE_SHUTDOWN, CLIENT_CONNECTING, CLIENT_DONE,
	    BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_GREETED, CLIENT_DONE,
	    BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_LOGIN, CLIENT_DONE,
	    LOST("auth") BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_LOGIN_LIST, CLIENT_DONE,
	    LOST("auth") BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_ONLINE, CLIENT_DONE,
	    BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_LIST, CLIENT_DONE,
	    LOST("list") BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_PAIR, CLIENT_DONE,
	    LOST("send") BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_SLOT, CLIENT_DONE,
	    LOST("send") BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_MAIL, CLIENT_DONE,
	    LOST("send") BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_DRAIN, CLIENT_DONE,
	    BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_LOGOUT, CLIENT_DONE,
	    BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_LOGOUT_LIST, CLIENT_DONE,
	    BYE("server shutting down"), -1, EXIT_UNAVAIL },
	{ K_BYE_SHUTDOWN, CLIENT_LEAVING, CLIENT_DONE,
	    BYE("server shutting down"), -1, EXIT_UNAVAIL },
};

/* The states of a session logged in (S_LOGGED_IN in client.c). */
static int
logged_in_state(enum client_state st)
{
	switch (st) {
	case CLIENT_LOGIN_LIST:
	case CLIENT_ONLINE:
	case CLIENT_LIST:
	case CLIENT_PAIR:
	case CLIENT_SLOT:
	case CLIENT_MAIL:
	case CLIENT_RELOGIN_LIST:
	case CLIENT_DRAIN:
	case CLIENT_LOGOUT:
	case CLIENT_LOGOUT_LIST:
		return (1);
	default:
		return (0);
	}
}

/*
 * The documented reaction to kind k in state st.  Stored messages and
 * their notices are shown in every state of a session logged in, and
 * change no state.
 */
static struct reaction
expected(enum kind k, enum client_state st)
{
	struct reaction	r = { k, st, st, "", -1, 0 };
	size_t		i;

	for (i = 0; i < sizeof(reactions) / sizeof(reactions[0]); i++)
		if (reactions[i].kind == k && reactions[i].in == st)
			return (reactions[i]);
	if (logged_in_state(st)) {
		if (k == K_STORED)
			r.records = "msg\tdave\tstored hi\n";
		else if (k == K_NOTE_DELIVERED)
			r.records = "delivered\tcarol\n";
		else if (k == K_NOTE_EXPIRED)
			r.records = "error\tsend\tmessage to carol expired "
			    "unread\n";
	}
	return (r);
}

/* The users online as one string, names separated by spaces. */
static void
online_str(struct client *c, char *out, size_t len)
{
	const char *const	*v;
	size_t			 n, i;

	out[0] = '\0';
	v = client_online(c, &n);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(out, " ", len);
		strlcat(out, v[i], len);
	}
}

/* Checks one message kind in one state against the documentation. */
static void
check_one(enum kind k, enum client_state st)
{
	void		*state;
	struct fixture	*f;
	struct reaction	 r = expected(k, st);
	char		 online[128];
	const char	*want_online;

	assert_int_equal(fixture_setup(&state), 0);
	f = state;
	reach(f, st);
	inject(f, k);
	if (strcmp(f->cap.text, r.records) != 0 ||
	    client_state(f->client) != r.next)
		fail_msg("%s in %s: got state %s and\n%s\nwant state %s "
		    "and\n%s",
		    kind_names[k], client_state_name(st),
		    client_state_name(client_state(f->client)), f->cap.text,
		    client_state_name(r.next), r.records);
	if (r.done == -1)
		assert_int_equal(f->dones, 0);
	else {
		assert_int_equal(f->dones, 1);
		assert_int_equal(f->last_failed, r.done);
	}
	assert_int_equal(f->readies, k == K_WELCOME &&
	    st == CLIENT_CONNECTING);
	if (r.next == CLIENT_DONE && st != CLIENT_DONE)
		assert_int_equal(client_exit_status(f->client), r.status);
	/*
	 * Logged in, a complete list becomes the set whoever asked for it,
	 * and presence changes it; nothing else does.
	 */
	online_str(f->client, online, sizeof(online));
	want_online = "";
	if ((k == K_USERS || k == K_USERS_REPLY) &&
	    client_logged_in(f->client) && st != CLIENT_RECONNECT &&
	    st != CLIENT_RELOGIN)
		want_online = "bob";
	if (k == K_PRESENCE && client_logged_in(f->client) &&
	    st != CLIENT_RECONNECT && st != CLIENT_RELOGIN)
		want_online = "erin";
	if (strcmp(online, want_online) != 0)
		fail_msg("%s in %s: online \"%s\", want \"%s\"", kind_names[k],
		    client_state_name(st), online, want_online);
	assert_int_equal(fixture_teardown(&state), 0);
}

static void
test_client_every_message_in_every_state(void **state)
{
	int	k, st;

	(void)state;
	for (st = 0; st < CLIENT_NSTATES; st++)
		for (k = 0; k < K_NKINDS; k++)
			check_one((enum kind)k, (enum client_state)st);
}

/* The client's next request of type want, skipping the others. */
static void
next_request(struct fixture *f, uint8_t want, struct sc_msg *m,
    uint8_t *plain, size_t cap)
{
	int	i;

	for (i = 0; i < 16; i++) {
		if (fake_request(f, m, plain, cap) == want)
			return;
	}
	fail_msg("no request 0x%02x", want);
}

static void
test_client_offline_send_is_sealed_to_their_key_and_queued(
    void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	struct wbuf	 wb;
	uint8_t		 plain[2048], open[SC_MAIL_PLAIN_HDR + SC_TEXT_MAX];
	uint8_t		 id[SC_MAIL_ID_BYTES], pk[SC_KEY_BYTES];

	reach(f, CLIENT_ONLINE);
	assert_int_equal(run(f, "send carol the text"), CMD_PENDING);
	next_request(f, SC_MSG_PAIR, &m, plain, sizeof(plain));
	inject(f, K_ERR_PAIR);
	assert_int_equal(client_state(f->client), CLIENT_MAIL);
	next_request(f, SC_MSG_RCPT, &m, plain, sizeof(plain));
	assert_string_equal(m.name, "carol");
	inject(f, K_RCPTKEY);
	next_request(f, SC_MSG_STORE, &m, plain, sizeof(plain));
	assert_string_equal(m.name, "carol");
	memcpy(id, m.mailid, sizeof(id));
	/* carol opens it with alice's key; the id inside is the id outside. */
	alice_pk(f, pk);
	assert_int_equal(m.box_len, SC_MAIL_PLAIN_HDR + 8 + SC_BOX_BYTES);
	assert_int_equal(sc_box_open(open, m.box, m.box_len, pk, peer_sk), 0);
	assert_int_equal(open[0], SC_MAIL_VERSION);
	assert_memory_equal(open + 1, id, SC_MAIL_ID_BYTES);
	assert_memory_equal(open + SC_MAIL_PLAIN_HDR, "the text", 8);
	/* Another id is not this send's answer; its own is. */
	inject(f, K_QUEUED_OTHER);
	assert_int_equal(client_state(f->client), CLIENT_MAIL);
	assert_string_equal(f->cap.text, "");
	wbuf_init(&wb);
	wire_enc_queued(&wb, "carol", id);
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
	assert_string_equal(f->cap.text, "queued\tcarol\n");
	assert_int_equal(client_state(f->client), CLIENT_ONLINE);
	assert_int_equal(f->last_failed, 0);
}

static void
test_client_stored_message_is_shown_once_acked_each_time(
    void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	uint8_t		 plain[2048];

	reach(f, CLIENT_ONLINE);
	inject(f, K_STORED);
	assert_string_equal(f->cap.text, "msg\tdave\tstored hi\n");
	next_request(f, SC_MSG_STOREACK, &m, plain, sizeof(plain));
	assert_memory_equal(m.mailid, stored_id, SC_MAIL_ID_BYTES);
	/* Sent again (our acknowledgement lost): acknowledged, not shown. */
	inject(f, K_STORED);
	assert_string_equal(f->cap.text, "msg\tdave\tstored hi\n");
	next_request(f, SC_MSG_STOREACK, &m, plain, sizeof(plain));
	assert_memory_equal(m.mailid, stored_id, SC_MAIL_ID_BYTES);
}

static void
test_client_stored_message_from_a_changed_key_is_held_back(void **state)
{
	struct fixture	*f = *state;
	struct wbuf	 wb;
	struct sc_msg	 m;
	uint8_t		 plain[512];

	reach(f, CLIENT_ONLINE);
	/* dave's pinned key is another one: his PAIRKEY's (peer_pk). */
	wbuf_init(&wb);
	enc_pairkey(&wb, "dave", 0x79, f->udp_port);
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
	capture_clear(&f->cap);
	inject(f, K_STORED);
	assert_string_equal(f->cap.text, "identity\tdave\tchanged\n"
	    "diag\ta message from dave is held back until you trust dave\n");
	/* Kept, not acknowledged: it comes again, and the next ones now. */
	next_request(f, SC_MSG_STOREKEEP, &m, plain, sizeof(plain));
	assert_memory_equal(m.mailid, stored_id, SC_MAIL_ID_BYTES);
}

/*
 * A pair held on a changed key, whose change a stored message with the
 * pinned key then set aside: trust keeps the pinned key and the held pair
 * is forgotten, never begun on the key nobody trusted.
 */
static void
test_client_trust_lets_go_only_a_pair_on_the_key_trusted(void **state)
{
	struct fixture	*f = *state;
	struct wbuf	 wb;
	struct sc_msg	 m;

	reach(f, CLIENT_ONLINE);
	inject(f, K_STORED);		/* pins dave's own key */
	wbuf_init(&wb);
	enc_pairkey(&wb, "dave", 0x79, f->udp_port);	/* another key */
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
	inject(f, K_STORED);		/* the pinned key again */
	capture_clear(&f->cap);
	assert_int_equal(run(f, "peers"), CMD_OK);
	assert_string_equal(f->cap.text, "peer\tdave\tblocked\t-\t-\n");
	capture_clear(&f->cap);
	assert_int_equal(client_trust(f->client, "dave"), CMD_OK);
	assert_string_equal(f->cap.text, "diag\tthe conversation with dave "
	    "waited on another key than the one trusted now: it starts again "
	    "with your next message\nidentity\tdave\ttrusted\n");
	capture_clear(&f->cap);
	assert_int_equal(run(f, "peers"), CMD_OK);
	assert_string_equal(f->cap.text, "");
}

static void
test_client_login_sends_credentials_then_registers_udp(void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	uint8_t		 plain[512];

	reach(f, CLIENT_LOGIN_LIST);
	assert_int_equal(fake_request(f, &m, plain, sizeof(plain)),
	    SC_MSG_AUTH);
	assert_string_equal(m.name, "alice");
	assert_int_equal(m.pass_len, 2);
	assert_memory_equal(m.pass, "pw", 2);
	/* The identity key first, so that peers find it with the port. */
	assert_int_equal(fake_request(f, &m, plain, sizeof(plain)),
	    SC_MSG_IDENTITY);
	assert_int_equal(fake_request(f, &m, plain, sizeof(plain)),
	    SC_MSG_UDP);
	assert_true(m.port != 0);
	/* The socket's address, on loopback like the server. */
	assert_int_equal(m.ncand, 1);
	assert_int_equal(m.cand[0].af, SC_AF_INET);
	assert_int_equal(m.cand[0].addr[0], 127);
	assert_string_equal(client_self(f->client), "alice");
}

/* bob answers alice's INIT (a copy with the same RESP): the keys. */
static void
bob_handshake(struct fixture *f, const uint8_t *d, size_t n,
    const struct sockaddr_in *from)
{
	if (!f->bob_keyed && peerhs_read_init(&f->bob_hs, &f->bob_k,
	    f->bob_resp, d, n, peer_sk, NULL) == 0)
		f->bob_keyed = 1;
	if (f->bob_keyed)
		(void)sendto(f->udp_fd, f->bob_resp, PEERHS_LEN, 0,
		    (const struct sockaddr *)from, sizeof(*from));
}

/*
 * Turns the client's loop for about ms while bob, at the silent socket,
 * answers the handshake and PROBEs (never a MSG); returns the MSGs he
 * got.
 */
static int
bob_pump(struct fixture *f, int ms, uint64_t *ctr)
{
	struct sc_pair_keys	*k = &f->bob_k;
	struct sockaddr_in	 from;
	socklen_t		 len;
	uint8_t			 d[SC_DGRAM_MAX], plain[SC_DGRAM_MAX];
	uint8_t			 pay[9 + SC_ENDPOINT_BYTES];
	struct sc_cand		 c;
	ssize_t			 n;
	int			 i, msgs = 0;

	for (i = 0; i < ms; i++) {
		turn(f);
		len = sizeof(from);
		while ((n = recvfrom(f->udp_fd, d, sizeof(d), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &len)) > 0) {
			if (d[0] == SC_UDP_INIT) {
				bob_handshake(f, d, (size_t)n, &from);
				continue;
			}
			if (d[0] != SC_DGRAM_VERSION || !f->bob_keyed ||
			    sc_dgram_open(plain, k->rx, d, (size_t)n) != 0)
				continue;
			if (plain[0] == SC_DGRAM_MSG)
				msgs++;
			if (plain[0] != SC_DGRAM_PROBE)
				continue;
			memcpy(pay, plain, 9);
			pay[0] = SC_DGRAM_PROBE_ACK;
			assert_int_equal(wire_cand_from_sa(&c, 0,
			    (struct sockaddr *)&from), 0);
			wire_endpoint_put(pay + 9, &c);
			assert_int_equal(sc_dgram_seal(d, k->tx, 0x42, (*ctr)++,
			    pay, sizeof(pay)), 0);
			(void)sendto(f->udp_fd, d, SC_DGRAM_HDR + sizeof(pay) +
			    SC_MAC_BYTES, 0, (struct sockaddr *)&from, len);
		}
		nap();
	}
	return (msgs);
}

/* A loopback UDP socket; its port in *port. */
static int
udp_socket(uint16_t *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return (fd);
}

/* The next REGISTER at the server's UDP socket, within about 2 s. */
static uint64_t
next_register(struct fixture *f, int fd, struct sockaddr_in *from)
{
	struct sc_reg_keys	 rk;
	uint8_t			 d[SC_DGRAM_MAX], plain[SC_REG_PLAIN];
	static const uint8_t	 zero[SC_REG_PLAIN];
	socklen_t		 len;
	ssize_t			 n;
	int			 i;

	sc_reg_derive(&rk, udpreg_key);
	for (i = 0; i < 2000; i++) {
		turn(f);
		len = sizeof(*from);
		n = recvfrom(fd, d, sizeof(d), MSG_DONTWAIT,
		    (struct sockaddr *)from, &len);
		if (n < 0) {
			nap();
			continue;
		}
		assert_int_equal(n, SC_REG_LEN);
		assert_int_equal(d[0], SC_UDP_REGISTER);
		assert_true(util_get_be64(d + 1) == 0x99);
		assert_int_equal(sc_reg_open(plain, rk.c2s, d, SC_REG_LEN), 0);
		assert_memory_equal(plain, zero, sizeof(zero));
		return (util_get_be64(d + 9));
	}
	fail_msg("no REGISTER");
	return (0);
}

static void
test_client_udpreg_registers_until_registered(void **state)
{
	struct fixture		*f = *state;
	struct sc_reg_keys	 rk;
	struct sockaddr_in	 from;
	struct sc_cand		 c;
	struct wbuf		 wb;
	struct sc_msg		 m;
	uint8_t			 d[SC_REG_LEN], plain[SC_REG_PLAIN];
	uint16_t		 port;
	int			 fd, i;
	ssize_t			 n;

	fd = udp_socket(&port);
	reach(f, CLIENT_ONLINE);
	wbuf_init(&wb);
	wire_enc_udpreg(&wb, port, SC_UDPREG_RELAY, 0x99, udpreg_key);
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
	/* At once, and again after 500 ms without an answer. */
	assert_true(next_register(f, fd, &from) == 0);
	assert_true(next_register(f, fd, &from) == 1);
	/* REGISTERED for the second: no more retries. */
	sc_reg_derive(&rk, udpreg_key);
	assert_int_equal(wire_cand_from_sa(&c, 0, (struct sockaddr *)&from),
	    0);
	memset(plain, 0, sizeof(plain));
	wire_endpoint_put(plain, &c);
	assert_int_equal(sc_reg_seal(d, SC_UDP_REGISTERED, rk.s2c, 0x99, 1,
	    plain), 0);
	assert_int_equal(sendto(fd, d, sizeof(d), 0, (struct sockaddr *)&from,
	    sizeof(from)), (ssize_t)sizeof(d));
	for (i = 0; i < 800; i++) {
		turn(f);
		n = recv(fd, d, sizeof(d), MSG_DONTWAIT);
		assert_true(n < 0);
		nap();
	}
	assert_string_equal(f->cap.text, "");
	close(fd);
}

static void
test_client_peers_shows_each_pairs_path(void **state)
{
	struct fixture	*f = *state;
	char		 want[128];
	uint64_t	 ctr = 0;
	int		 rtt;

	reach(f, CLIENT_ONLINE);
	/* No pair yet: no record. */
	assert_int_equal(run(f, "peers"), CMD_OK);
	assert_string_equal(f->cap.text, "");
	/* bob silent: checking, nowhere yet. */
	give_bob_a_key(f);
	assert_int_equal(run(f, "peers"), CMD_OK);
	assert_string_equal(f->cap.text, "peer\tbob\tchecking\t-\t-\n");
	capture_clear(&f->cap);
	/* bob answers: direct, at his address, with a round trip. */
	(void)bob_pump(f, 150, &ctr);
	assert_int_equal(run(f, "peers"), CMD_OK);
	snprintf(want, sizeof(want), "peer\tbob\tdirect\t127.0.0.1:%u\t",
	    f->udp_port);
	assert_memory_equal(f->cap.text, want, strlen(want));
	assert_int_equal(sscanf(f->cap.text + strlen(want), "%d\n", &rtt), 1);
	assert_true(rtt >= 0 && rtt < 1000);
	assert_int_equal(client_state(f->client), CLIENT_ONLINE);
}

/* Loses bob's direct path with a message he never acknowledges. */
static void
lose_bobs_path(struct fixture *f)
{
	uint64_t	ctr = 0;
	int		msgs = 0, i;

	give_bob_a_key(f);
	(void)bob_pump(f, 50, &ctr);
	assert_int_equal(run(f, "send bob hi"), CMD_OK);
	assert_string_equal(f->cap.text, "sent\tbob\thi\n");
	capture_clear(&f->cap);
	for (i = 0; i < 20 && f->cap.text[0] == '\0'; i++)
		msgs += bob_pump(f, 20, &ctr);
	assert_string_equal(f->cap.text,
	    "error\tsend\tno acknowledgement from bob\n");
	/* Sent once, then again on each path found after a loss. */
	assert_int_equal(msgs, 2);
}

static void
test_client_no_recheck_to_a_server_without_udpreg(void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	uint8_t		 plain[512];

	f->conf.send_retries = 1;
	f->conf.retry_interval_ms = 60;
	fixture_client(f);
	reach(f, CLIENT_ONLINE);
	/* An older server (no UDPREG): no RECHECK, which would end it. */
	lose_bobs_path(f);
	assert_int_equal(run(f, "quit"), CMD_PENDING);
	do {
		assert_true(fake_request(f, &m, plain, sizeof(plain)) !=
		    SC_MSG_RECHECK);
	} while (m.type != SC_MSG_LOGOUT);
}

static void
test_client_lost_path_sends_recheck_after_udpreg(void **state)
{
	struct fixture	*f = *state;
	struct wbuf	 wb;
	struct sc_msg	 m;
	uint8_t		 plain[512];
	uint16_t	 port;
	int		 fd;

	f->conf.send_retries = 1;
	f->conf.retry_interval_ms = 60;
	fixture_client(f);
	fd = udp_socket(&port);
	reach(f, CLIENT_ONLINE);
	wbuf_init(&wb);
	wire_enc_udpreg(&wb, port, 0, 0x99, udpreg_key);
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
	lose_bobs_path(f);
	do {
		(void)fake_request(f, &m, plain, sizeof(plain));
	} while (m.type != SC_MSG_RECHECK);
	assert_true(m.pair_id == 0x42);
	/* The server's ERROR for it (the pair died) changes nothing. */
	inject(f, K_ERR_RECHECK);
	assert_int_equal(client_state(f->client), CLIENT_ONLINE);
	close(fd);
}

static void
test_client_pair_asked_again_while_the_peer_has_no_udp(void **state)
{
	struct fixture	*f = *state;
	struct wbuf	 wb;
	struct sc_msg	 m;
	uint8_t		 plain[512];
	int		 i;

	reach(f, CLIENT_PAIR);
	wbuf_init(&wb);
	wire_enc_error(&wb, SC_MSG_PAIR, SC_ERR_NO_UDP, "carol");
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
	assert_int_equal(client_state(f->client), CLIENT_PAIR);
	assert_string_equal(f->cap.text, "");
	assert_int_equal(fake_request(f, &m, plain, sizeof(plain)),
	    SC_MSG_AUTH);
	assert_int_equal(fake_request(f, &m, plain, sizeof(plain)),
	    SC_MSG_IDENTITY);
	assert_int_equal(fake_request(f, &m, plain, sizeof(plain)),
	    SC_MSG_UDP);
	for (i = 0; i < 2; i++) {
		assert_int_equal(fake_request(f, &m, plain, sizeof(plain)),
		    SC_MSG_PAIR);
		assert_string_equal(m.name, "carol");
	}
	inject(f, K_PAIRKEY);
	assert_int_equal(client_state(f->client), CLIENT_ONLINE);
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->last_failed, 0);
}

/* Runs the loop until the client is done or about two seconds pass. */
static void
run_until_done(struct fixture *f)
{
	int	i;

	for (i = 0; i < 2000 && client_state(f->client) != CLIENT_DONE;
	    i++) {
		turn(f);
		nap();
	}
}

static void
test_client_quit_drains_then_logs_out(void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	uint8_t		 plain[512];
	int		 i;

	f->conf.send_retries = 1;
	f->conf.retry_interval_ms = 10;
	fixture_client(f);
	reach(f, CLIENT_DRAIN);
	for (i = 0; i < 2000 && client_state(f->client) == CLIENT_DRAIN;
	    i++) {
		turn(f);
		nap();
	}
	assert_string_equal(f->cap.text,
	    "error\tsend\tno acknowledgement from bob\n");
	assert_int_equal(client_state(f->client), CLIENT_LOGOUT);
	do {
		assert_true(fake_request(f, &m, plain, sizeof(plain)) !=
		    SC_MSG_PING);
	} while (m.type != SC_MSG_LOGOUT);
	inject(f, K_BYE_LOGOUT);
	assert_int_equal(client_state(f->client), CLIENT_DONE);
	assert_int_equal(client_exit_status(f->client), 1);
}

static void
test_client_deadlines_give_up(void **state)
{
	struct fixture	*f = *state;
	char		 want[256];
	int		 i;

	f->conf.reply_timeout = 1;
	f->conf.pair_timeout = 1;
	fixture_client(f);
	reach(f, CLIENT_PAIR);
	for (i = 0; i < 3000 && client_state(f->client) == CLIENT_PAIR;
	    i++) {
		turn(f);
		nap();
	}
	assert_string_equal(f->cap.text,
	    "error\tsend\tno pair key for carol\n");
	assert_int_equal(client_state(f->client), CLIENT_ONLINE);
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->last_failed, 1);
	capture_clear(&f->cap);
	assert_int_equal(run(f, "list"), CMD_PENDING);
	run_until_done(f);
	snprintf(want, sizeof(want), "error\tlist\tno answer from the "
	    "server\ndiag\tthe server 127.0.0.1:%u did not answer within "
	    "1 s\n", f->fk.port);
	assert_string_equal(f->cap.text, want);
	assert_int_equal(client_exit_status(f->client), EXIT_UNAVAIL);
}

static void
test_client_signal_interrupts_then_ends(void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	uint8_t		 plain[512];
	int		 i;

	reach(f, CLIENT_LIST);
	assert_int_equal(raise(SIGTERM), 0);
	for (i = 0; i < 2000 && client_state(f->client) == CLIENT_LIST;
	    i++) {
		turn(f);
		nap();
	}
	assert_string_equal(f->cap.text, "error\tlist\tinterrupted\n");
	assert_int_equal(client_state(f->client), CLIENT_LOGOUT);
	assert_int_equal(f->dones, 0);
	do {
		(void)fake_request(f, &m, plain, sizeof(plain));
	} while (m.type != SC_MSG_LOGOUT);
	/* A second signal ends at once. */
	assert_int_equal(raise(SIGINT), 0);
	run_until_done(f);
	assert_int_equal(client_exit_status(f->client), 1);
}

/* Hands the client one PRESENCE of a single event. */
static void
presence(struct fixture *f, int online, const char *name)
{
	struct wbuf	wb;
	struct sc_msg	m;

	wbuf_init(&wb);
	wire_enc_presence_begin(&wb);
	wire_enc_presence_entry(&wb, online, name, strlen(name));
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len), 0);
	client_input(f->client, &m);
	wbuf_free(&wb);
}

static void
test_client_presence_tells_one_story_per_user(void **state)
{
	struct fixture	*f = *state;

	reach(f, CLIENT_ONLINE);
	presence(f, 1, "bob");
	give_bob_a_key(f);
	/* bob logs in a second time: offline first, and his key is gone. */
	presence(f, 1, "bob");
	assert_string_equal(f->cap.text,
	    "online\tbob\noffline\tbob\nonline\tbob\n");
	capture_clear(&f->cap);
	assert_int_equal(run(f, "peers"), CMD_OK);
	assert_string_equal(f->cap.text, "");
	/* An offline for someone not online says nothing. */
	presence(f, 0, "carol");
	assert_string_equal(f->cap.text, "");
	presence(f, 0, "bob");
	presence(f, 0, "bob");
	assert_string_equal(f->cap.text, "offline\tbob\n");
}

static void
test_client_retry_delays_double_to_30_s_with_jitter(void **state)
{
	static const uint64_t	want[] = { 1000, 2000, 4000, 8000, 16000,
				    30000, 30000, 30000 };
	unsigned		i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* rnd 0 is the least, 400 the most: a fifth either way. */
		assert_true(client_retry_delay(i, 1000, 0) == want[i] * 4 / 5);
		assert_true(client_retry_delay(i, 1000, 200) == want[i]);
		assert_true(client_retry_delay(i, 1000, 400) ==
		    want[i] * 6 / 5);
	}
	assert_true(client_retry_delay(100, 1000, 200) == 30000);
}

/*
 * The next request of a type the client sent, skipping PINGs and the
 * like; its type.
 */
static void
fake_expect(struct fixture *f, uint8_t type, struct sc_msg *m,
    uint8_t *plain, size_t cap)
{
	while (fake_request(f, m, plain, cap) != type)
		;
}

static void
test_client_lost_session_comes_back_and_the_held_send_goes(void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	uint8_t		 plain[512];

	fixture_persist(f, 10);
	reach(f, CLIENT_ONLINE);
	give_bob_a_key(f);
	inject(f, K_BYE_SHUTDOWN);
	assert_int_equal(client_state(f->client), CLIENT_RECONNECT);
	assert_true(client_logged_in(f->client));
	assert_string_equal(client_self(f->client), "alice");
	assert_string_equal(f->cap.text, "disconnected\tserver closed the "
	    "session: server shutting down\n");
	capture_clear(&f->cap);
	/* The pair key died with the session; a send waits for the next. */
	assert_int_equal(run(f, "peers"), CMD_OK);
	assert_string_equal(f->cap.text, "");
	assert_int_equal(run(f, "send carol during the outage"), CMD_PENDING);
	/* The next attempt: the same user, the password kept. */
	fake_accept(f);
	fake_handshake(f);
	assert_int_equal(client_state(f->client), CLIENT_RELOGIN);
	fake_expect(f, SC_MSG_AUTH, &m, plain, sizeof(plain));
	assert_string_equal(m.name, "alice");
	assert_int_equal(m.pass_len, 2);
	assert_memory_equal(m.pass, "pw", 2);
	inject(f, K_OK);
	fake_expect(f, SC_MSG_UDP, &m, plain, sizeof(plain));
	inject(f, K_USERS);
	assert_string_equal(f->cap.text, "ok\tauth\talice\nusers\tbob\n");
	/* Back: the held send asks for carol's key. */
	assert_int_equal(client_state(f->client), CLIENT_PAIR);
	fake_expect(f, SC_MSG_PAIR, &m, plain, sizeof(plain));
	assert_string_equal(m.name, "carol");
	assert_int_equal(f->dones, 0);
	inject(f, K_PAIRKEY);
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->last_failed, 0);
}

static void
test_client_held_command_fails_after_reply_timeout(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	f->conf.reply_timeout = 1;
	fixture_persist(f, 60000);
	reach(f, CLIENT_ONLINE);
	inject(f, K_BYE_SHUTDOWN);
	capture_clear(&f->cap);
	assert_int_equal(run(f, "list"), CMD_PENDING);
	for (i = 0; i < 3000 && f->dones == 0; i++) {
		turn(f);
		nap();
	}
	assert_string_equal(f->cap.text, "error\tlist\tno connection to the "
	    "server (reconnecting)\n");
	assert_int_equal(f->last_failed, 1);
	assert_int_equal(client_state(f->client), CLIENT_RECONNECT);
}

static void
test_client_another_key_on_reconnect_ends_the_run(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 hello[SC_HELLO_BODY];
	uint8_t		 frame[HANDSHAKE_REJECT_FRAME];

	fixture_persist(f, 10);
	reach(f, CLIENT_ONLINE);
	inject(f, K_BYE_SHUTDOWN);
	capture_clear(&f->cap);
	/* Another server answers: its key is not the pinned one. */
	fake_accept(f);
	assert_int_equal(fake_frame(f, hello, sizeof(hello)), SC_HELLO_BODY);
	handshake_reject(frame, SC_REJECT_KEY);
	assert_int_equal(send(f->fk.fd, frame, sizeof(frame), 0),
	    (ssize_t)sizeof(frame));
	run_until_done(f);
	assert_int_equal(client_exit_status(f->client), EXIT_PROTOCOL);
	assert_non_null(strstr(f->cap.text, "does not hold the pinned key"));
	assert_null(strstr(f->cap.text, "ok\t"));
}

static void
test_client_login_deadline_never_loses_a_login(void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	uint8_t		 plain[512];

	/* Before any login: quietly no connection, a new one for auth. */
	reach(f, CLIENT_IDLE);
	assert_int_equal(run(f, "auth alice pw"), CMD_PENDING);
	fake_accept(f);
	fake_handshake(f);
	fake_expect(f, SC_MSG_AUTH, &m, plain, sizeof(plain));
	assert_string_equal(m.name, "alice");
	/* The deadline passes just as the login went: it goes again. */
	inject(f, K_BYE_DEADLINE);
	assert_int_equal(client_state(f->client), CLIENT_CONNECTING);
	fake_accept(f);
	fake_handshake(f);
	fake_expect(f, SC_MSG_AUTH, &m, plain, sizeof(plain));
	assert_memory_equal(m.pass, "pw", 2);
	inject(f, K_OK);
	give_empty_list(f);
	assert_string_equal(f->cap.text, "ok\tauth\talice\nusers\n");
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->last_failed, 0);
}

static void
test_client_password_read_later_connection_closed_meanwhile(
    void **state)
{
	struct fixture	*f = *state;
	struct sc_msg	 m;
	uint8_t		 plain[512];

	reach(f, CLIENT_PASSWORD);
	/* The person takes long: the server's login deadline passes. */
	inject(f, K_BYE_DEADLINE);
	assert_int_equal(client_state(f->client), CLIENT_PASSWORD);
	assert_string_equal(f->cap.text, "");
	client_password_done(f->client, "typed", 5, NULL);
	fake_accept(f);
	fake_handshake(f);
	fake_expect(f, SC_MSG_AUTH, &m, plain, sizeof(plain));
	assert_int_equal(m.pass_len, 5);
	assert_memory_equal(m.pass, "typed", 5);
	/* And a prompt given up is the command's error. */
	inject(f, K_ERR_AUTH);
	f->dones = 0;
	capture_clear(&f->cap);
	assert_int_equal(run(f, "sign bob"), CMD_PENDING);
	client_password_done(f->client, NULL, 0, "no password");
	assert_string_equal(f->cap.text, "error\tsign\tno password\n");
	assert_int_equal(f->dones, 1);
	assert_int_equal(client_state(f->client), CLIENT_GREETED);
}

/* Runs the dispatch-table test, then the paths with timers and wire. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_every_message_in_every_state),
		cmocka_unit_test_setup_teardown(
		    test_client_offline_send_is_sealed_to_their_key_and_queued,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_stored_message_is_shown_once_acked_each_time,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_stored_message_from_a_changed_key_is_held_back,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_trust_lets_go_only_a_pair_on_the_key_trusted,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_login_sends_credentials_then_registers_udp,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_pair_asked_again_while_the_peer_has_no_udp,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_udpreg_registers_until_registered,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_peers_shows_each_pairs_path,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_no_recheck_to_a_server_without_udpreg,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_lost_path_sends_recheck_after_udpreg,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_quit_drains_then_logs_out,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_deadlines_give_up,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_signal_interrupts_then_ends,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_presence_tells_one_story_per_user,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test(
		    test_client_retry_delays_double_to_30_s_with_jitter),
		cmocka_unit_test_setup_teardown(
		    test_client_lost_session_comes_back_and_the_held_send_goes,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_held_command_fails_after_reply_timeout,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_another_key_on_reconnect_ends_the_run,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_login_deadline_never_loses_a_login,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_password_read_later_connection_closed_meanwhile,
		    fixture_setup, fixture_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
