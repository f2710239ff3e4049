/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/client/peer.c: the receive path (the replay window
 * moves only after a datagram opened, and every bad datagram is dropped and
 * counted without harm to the traffic after it), pair keys replaced and
 * forgotten, acknowledgements, retransmission, the one sentence of a
 * message never acknowledged, and the socket set up from the configuration.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"

#include "peer.h"

/* What the peer under test reported. */
struct seen {
	int	msgs;
	int	delivered;
	int	failed;
	char	last[SC_TEXT_MAX + 1];
	char	from[SC_NAME_MAX + 1];
	char	why[128];		/* the last failure's sentence */
};

/* peer callback: a message shown. */
static void
seen_msg(void *arg, const char *from, const char *text, size_t len)
{
	struct seen	*s = arg;

	s->msgs++;
	memcpy(s->last, text, len);
	s->last[len] = '\0';
	snprintf(s->from, sizeof(s->from), "%s", from);
}

/* peer callback: an ACK arrived. */
static void
seen_delivered(void *arg, const char *to)
{
	struct seen	*s = arg;

	(void)to;
	s->delivered++;
}

/* peer callback: a message failed. */
static void
seen_failed(void *arg, const char *to, const char *why)
{
	struct seen	*s = arg;

	(void)to;
	s->failed++;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static const struct peer_cb seen_cb = {
	.msg = seen_msg,
	.delivered = seen_delivered,
	.failed = seen_failed,
};

#define PAIR_ID	UINT64_C(0x1122334455667788)

static const uint8_t test_kxy[SC_KEY_BYTES] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

/* A peer table for "alice" holding a key for "bob". */
struct fixture {
	struct event_base	*base;
	struct peer		*peer;
	struct seen		 seen;
	struct sc_pair_keys	 bob;	/* bob's side of the pair */
};

/* A peer table for alice with bob's key; bob's keys for forging. */
static int
fixture_setup(void **state)
{
	struct fixture		*f;
	struct sockaddr_in	 sin;

	assert_int_equal(sc_crypto_init(), 0);
	log_init("test_peer", LOG_LVL_ERROR);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->peer = peer_new(f->base, &seen_cb, &f->seen, 2, 20);
	assert_non_null(f->peer);
	peer_set_self(f->peer, "alice");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(9);
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID, test_kxy,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	sc_pair_derive(&f->bob, test_kxy, "bob", "alice");
	*state = f;
	return (0);
}

/* Frees the fixture. */
static int
fixture_teardown(void **state)
{
	struct fixture	*f = *state;

	peer_free(f->peer);
	event_base_free(f->base);
	free(f);
	return (0);
}

/* Builds a datagram from bob with the given kind, counter and msg_id. */
static size_t
dgram(uint8_t out[SC_DGRAM_MAX], const uint8_t key[SC_KEY_BYTES],
    uint64_t pair_id, uint64_t ctr, uint8_t kind, uint64_t msg_id,
    const char *text)
{
	uint8_t	payload[9 + SC_TEXT_MAX];
	size_t	tlen = text == NULL ? 0 : strlen(text);
	int	i;

	payload[0] = kind;
	for (i = 0; i < 8; i++)
		payload[1 + i] = (uint8_t)(msg_id >> (56 - 8 * i));
	memcpy(payload + 9, text, tlen);
	assert_int_equal(sc_dgram_seal(out, key, pair_id, ctr, payload,
	    9 + tlen), 0);
	return (SC_DGRAM_HDR + 9 + tlen + SC_MAC_BYTES);
}

static void
test_peer_accepts_a_good_datagram_and_suppresses_a_replay(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	size_t		 n;

	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "hello");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.last, "hello");
	assert_string_equal(f->seen.from, "bob");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_int_equal(peer_stats(f->peer)->drop_replay, 1);
	assert_int_equal(peer_stats(f->peer)->rx_ok, 1);
}

static void
test_peer_forged_far_ahead_counter_does_not_move_the_window(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	size_t		 n;

	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "one");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 1);
	/* A far-ahead counter under a wrong key: the MAC fails. */
	n = dgram(d, f->bob.rx, PAIR_ID, 1000000, SC_DGRAM_MSG, 2, "forged");
	peer_input(f->peer, d, n);
	/* The same with a flipped ciphertext byte. */
	n = dgram(d, f->bob.tx, PAIR_ID, 5000, SC_DGRAM_MSG, 2, "forged");
	d[SC_DGRAM_HDR + 3] ^= 0x01;
	peer_input(f->peer, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_mac, 2);
	assert_int_equal(f->seen.msgs, 1);
	/* Counter 1 is still fresh: the window did not move. */
	n = dgram(d, f->bob.tx, PAIR_ID, 1, SC_DGRAM_MSG, 2, "two");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 2);
	assert_string_equal(f->seen.last, "two");
}

static void
test_peer_drops_reflected_truncated_and_foreign_datagrams(void **state)
{
	struct fixture		*f = *state;
	struct peer_stats	 st;
	uint8_t			 d[SC_DGRAM_MAX];
	uint8_t			 big[SC_DGRAM_MAX + 8];
	size_t			 n;

	/* Sealed with alice's own sending key: a reflection. */
	n = dgram(d, f->bob.rx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "reflected");
	peer_input(f->peer, d, n);
	/* Truncated: the tag cut short, then below the minimum size. */
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "truncated");
	peer_input(f->peer, d, n - 1);
	peer_input(f->peer, d, 20);
	peer_input(f->peer, d, 0);
	/* Unknown pair_id, wrong version. */
	n = dgram(d, f->bob.tx, PAIR_ID + 1, 0, SC_DGRAM_MSG, 1, "who");
	peer_input(f->peer, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "version");
	d[0] = 2;
	peer_input(f->peer, d, n);
	/* Too long. */
	memset(big, 0, sizeof(big));
	big[0] = SC_DGRAM_VERSION;
	peer_input(f->peer, big, SC_DGRAM_MAX + 1);
	st = *peer_stats(f->peer);
	assert_int_equal(f->seen.msgs, 0);
	assert_int_equal(st.drop_mac, 2);
	assert_int_equal(st.drop_size, 3);
	assert_int_equal(st.drop_unknown, 1);
	assert_int_equal(st.drop_version, 1);
	assert_int_equal(st.rx_ok, 0);
	/* The conversation goes on from counter 0. */
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "still here");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.last, "still here");
}

static void
test_peer_stale_counter_dropped_conversation_goes_on(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	size_t		 n;

	n = dgram(d, f->bob.tx, PAIR_ID, 200, SC_DGRAM_MSG, 1, "a");
	peer_input(f->peer, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 136, SC_DGRAM_MSG, 2, "stale");
	peer_input(f->peer, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_replay, 1);
	n = dgram(d, f->bob.tx, PAIR_ID, 137, SC_DGRAM_MSG, 3, "old ok");
	peer_input(f->peer, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 201, SC_DGRAM_MSG, 4, "b");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 3);
	assert_string_equal(f->seen.last, "b");
}

static void
test_peer_resent_msg_id_shown_once(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[SC_DGRAM_MAX];
	size_t		 n;

	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 7, "once");
	peer_input(f->peer, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 1, SC_DGRAM_MSG, 7, "once");
	peer_input(f->peer, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 2, SC_DGRAM_MSG, 7, "once");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 1);
	assert_int_equal(peer_stats(f->peer)->dup_msgs, 2);
	assert_int_equal(peer_stats(f->peer)->rx_ok, 3);
	/* msg_id 0 and unknown kinds are bad payloads, not messages. */
	n = dgram(d, f->bob.tx, PAIR_ID, 3, SC_DGRAM_MSG, 0, "zero");
	peer_input(f->peer, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 4, 9, 8, "kind");
	peer_input(f->peer, d, n);
	n = dgram(d, f->bob.tx, PAIR_ID, 5, SC_DGRAM_ACK, 8, "ack+text");
	peer_input(f->peer, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_payload, 3);
	assert_int_equal(f->seen.msgs, 1);
}

static void
test_peer_new_pair_id_replaces_key_same_id_ignored(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	uint8_t			 d[SC_DGRAM_MAX];
	uint8_t			 kxy2[SC_KEY_BYTES];
	struct sc_pair_keys	 bob2;
	size_t			 n;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(9);
	/* The same pair_id again changes nothing, whatever key it brings. */
	memset(kxy2, 0x5a, sizeof(kxy2));
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID, kxy2,
	    (struct sockaddr *)&sin, sizeof(sin)), 1);
	n = dgram(d, f->bob.tx, PAIR_ID, 0, SC_DGRAM_MSG, 1, "old key");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 1);
	/* A new pair_id replaces the key; the old one no longer opens. */
	assert_int_equal(peer_pair_set(f->peer, "bob", PAIR_ID + 5, kxy2,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_true(peer_pair_id(f->peer, "bob") == PAIR_ID + 5);
	n = dgram(d, f->bob.tx, PAIR_ID, 1, SC_DGRAM_MSG, 2, "old id");
	peer_input(f->peer, d, n);
	assert_int_equal(peer_stats(f->peer)->drop_unknown, 1);
	sc_pair_derive(&bob2, kxy2, "bob", "alice");
	n = dgram(d, bob2.tx, PAIR_ID + 5, 0, SC_DGRAM_MSG, 1, "new key");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 2);
	assert_string_equal(f->seen.last, "new key");
	/* Offline: the key is forgotten. */
	peer_forget(f->peer, "bob");
	assert_int_equal(peer_has_pair(f->peer, "bob"), 0);
	n = dgram(d, bob2.tx, PAIR_ID + 5, 1, SC_DGRAM_MSG, 2, "gone");
	peer_input(f->peer, d, n);
	assert_int_equal(f->seen.msgs, 2);
}

/* Runs the loop until *counter reaches want or about two seconds pass. */
static void
run_until(struct event_base *base, const int *counter, int want)
{
	struct timeval	tv = { 0, 10000 };
	int		i;

	for (i = 0; i < 200 && *counter < want; i++) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void
test_peer_message_to_self_is_shown_and_delivered(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	char			 err[128];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(peer_open(f->peer, (struct sockaddr *)&sin,
	    sizeof(sin), err, sizeof(err)), 0);
	assert_true(peer_port(f->peer) != 0);
	sin.sin_port = htons(peer_port(f->peer));
	assert_int_equal(peer_pair_set(f->peer, "alice", 42, test_kxy,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(peer_send(f->peer, "alice", "me, myself", 10, err,
	    sizeof(err)), 0);
	assert_int_equal(peer_outstanding(f->peer), 1);
	run_until(f->base, &f->seen.delivered, 1);
	assert_int_equal(f->seen.msgs, 1);
	assert_string_equal(f->seen.last, "me, myself");
	assert_int_equal(f->seen.delivered, 1);
	assert_int_equal(peer_outstanding(f->peer), 0);
}

/* A loopback UDP socket that never answers; its address in *sin. */
static int
silent_socket(struct sockaddr_in *sin)
{
	socklen_t	len = sizeof(*sin);
	int		fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return (fd);
}

static void
test_peer_unacknowledged_message_fails_after_retries(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	struct sc_pair_keys	 carol;
	uint8_t			 d[SC_DGRAM_MAX];
	uint8_t			 plain[SC_DGRAM_MAX];
	char			 err[128];
	ssize_t			 n;
	int			 fd, got = 0;

	/* bob is a plain socket that never answers. */
	fd = silent_socket(&sin);
	assert_int_equal(peer_pair_set(f->peer, "carol", 77, test_kxy,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = 0;
	assert_int_equal(peer_open(f->peer, (struct sockaddr *)&sin,
	    sizeof(sin), err, sizeof(err)), 0);
	assert_int_equal(peer_send(f->peer, "carol", "hi", 2, err,
	    sizeof(err)), 0);
	run_until(f->base, &f->seen.failed, 1);
	assert_int_equal(f->seen.failed, 1);
	assert_int_equal(f->seen.delivered, 0);
	assert_string_equal(f->seen.why, "no acknowledgement from carol");
	/* First send plus 2 retries: same msg_id, each a new counter. */
	sc_pair_derive(&carol, test_kxy, "carol", "alice");
	while ((n = recv(fd, d, sizeof(d), 0)) > 0) {
		assert_int_equal(n, SC_DGRAM_HDR + 9 + 2 + SC_MAC_BYTES);
		assert_int_equal(sc_dgram_open(plain, carol.rx, d, (size_t)n),
		    0);
		assert_int_equal(d[16], got);		/* counter 0, 1, 2 */
		assert_int_equal(plain[0], SC_DGRAM_MSG);
		assert_int_equal(plain[8], 1);		/* msg_id 1 */
		assert_memory_equal(plain + 9, "hi", 2);
		got++;
	}
	assert_int_equal(got, 3);
	assert_int_equal(peer_stats(f->peer)->resent, 2);
	close(fd);
}

static void
test_peer_every_lost_message_fails_with_one_sentence(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	char			 err[128];
	int			 fd;

	fd = silent_socket(&sin);
	assert_int_equal(peer_listen(f->peer, "127.0.0.1", 0, NULL, 0, err,
	    sizeof(err)), 0);
	/* The peer went offline. */
	assert_int_equal(peer_pair_set(f->peer, "carol", 77, test_kxy,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(peer_send(f->peer, "carol", "a", 1, err,
	    sizeof(err)), 0);
	peer_forget(f->peer, "carol");
	assert_int_equal(f->seen.failed, 1);
	assert_string_equal(f->seen.why, "no acknowledgement from carol");
	/* A new pair key replaced the one the message went under. */
	assert_int_equal(peer_pair_set(f->peer, "carol", 78, test_kxy,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(peer_send(f->peer, "carol", "b", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(peer_pair_set(f->peer, "carol", 79, test_kxy,
	    (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(f->seen.failed, 2);
	assert_string_equal(f->seen.why, "no acknowledgement from carol");
	/* The drain time ran out. */
	f->seen.why[0] = '\0';
	assert_int_equal(peer_send(f->peer, "bob", "c", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(peer_outstanding(f->peer), 1);
	peer_fail_all(f->peer);
	assert_int_equal(f->seen.failed, 3);
	assert_string_equal(f->seen.why, "no acknowledgement from bob");
	assert_int_equal(peer_outstanding(f->peer), 0);
	assert_int_equal(f->seen.delivered, 0);
	close(fd);
}

static void
test_peer_listen_on_the_configured_or_connection_address(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 local;
	struct sockaddr_in6	 local6;
	char			 err[512];
	uint16_t		 port;
	int			 fd;

	/* "auto" needs the connection's address. */
	assert_int_equal(peer_listen(f->peer, "auto", 0, NULL, 0, err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "cannot find the local address of the connection");
	/* Only numeric addresses; no name lookups. */
	assert_int_equal(peer_listen(f->peer, "localhost", 0, NULL, 0, err,
	    sizeof(err)), -1);
	assert_memory_equal(err, "bad udp_address localhost: ", 27);
	assert_int_equal(peer_port(f->peer), 0);
	/* A port taken by another socket. */
	fd = silent_socket(&local);
	assert_int_equal(peer_listen(f->peer, "127.0.0.1",
	    ntohs(local.sin_port), NULL, 0, err, sizeof(err)), -1);
	assert_memory_equal(err, "cannot open the UDP socket: bind: ", 34);
	assert_int_equal(peer_port(f->peer), 0);
	close(fd);
	/* "auto" on the connection's address; its port does not matter. */
	local.sin_port = htons(9);
	assert_int_equal(peer_listen(f->peer, "auto", 0,
	    (struct sockaddr *)&local, sizeof(local), err, sizeof(err)), 0);
	port = peer_port(f->peer);
	assert_true(port != 0 && port != 9);
	/* One socket only. */
	assert_int_equal(peer_listen(f->peer, "::1", 0, NULL, 0, err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "cannot open the UDP socket: the UDP socket is already open");
	/* A connection address too long for any socket address. */
	memset(&local6, 0, sizeof(local6));
	assert_int_equal(peer_listen(f->peer, "auto", 0,
	    (struct sockaddr *)&local6, 4096, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "cannot find the local address of the connection");
	assert_int_equal(peer_port(f->peer), port);
}

/* Runs the receive-path, key, delivery and socket tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_peer_accepts_a_good_datagram_and_suppresses_a_replay,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_forged_far_ahead_counter_does_not_move_the_window,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_drops_reflected_truncated_and_foreign_datagrams,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_stale_counter_dropped_conversation_goes_on,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_resent_msg_id_shown_once,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_new_pair_id_replaces_key_same_id_ignored,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_message_to_self_is_shown_and_delivered,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_unacknowledged_message_fails_after_retries,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_every_lost_message_fails_with_one_sentence,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_listen_on_the_configured_or_connection_address,
		    fixture_setup, fixture_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
