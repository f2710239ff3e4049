/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: UDP datagrams through the client's receive path
 * (src/client/peer.c: byte 0, size, version, pair_id, replay window, AEAD
 * open, payload kinds MSG, ACK, PROBE and PROBE_ACK, msg_id window, the
 * path's handling of PROBEs and their answers; src/client/reg.c: the
 * REGISTERED answer).  The input is a list of records
 * [op u8][len u16 big-endian][len bytes]:
 *   op bit 3 set:   the bytes are counter (8) + 20 bytes, sealed as a
 *                   REGISTERED from the server (reg_id right when bit 1
 *                   is clear), so registration is reached behind its MAC;
 *   else bit 0 clear: the bytes are one raw datagram;
 *   else bit 0 set:   the bytes are counter (8) + payload, sealed with the
 *                   right key (bit 1: the self pair, else bob's) so the
 *                   fuzzer also reaches the code behind the MAC;
 *   bit 2 set: it comes from the server's UDP endpoint (relayed), else
 *   from bob's address.
 * A fresh peer table per input, with a socket on 127.0.0.1 registering
 * with a server there, keeps runs reproducible.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "peer.h"

#define FUZZ_BOB_ID	UINT64_C(0x0102030405060708)
#define FUZZ_SELF_ID	UINT64_C(0x1112131415161718)
#define FUZZ_REG_ID	UINT64_C(0x2122232425262728)
#define FUZZ_SRV_PORT	9
#define FUZZ_BOB_PORT	7

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*fuzz_base;
static const uint8_t		 fuzz_kxy[SC_KEY_BYTES] = { 0x42, 0x17 };
static const uint8_t		 fuzz_kreg[SC_KEY_BYTES] = { 0x99 };

/* Checks what the peer reports: a shown message is never too long. */
static void
fuzz_dgram_msg(void *arg, const char *from, const char *text, size_t len)
{
	(void)arg;
	(void)text;
	if (len > SC_TEXT_MAX || from[0] == '\0')
		__builtin_trap();
}

/* Nothing was sent, so nothing can be delivered. */
static void
fuzz_dgram_delivered(void *arg, const char *to)
{
	(void)arg;
	(void)to;
	__builtin_trap();
}

/* Nothing was sent, so nothing can fail. */
static void
fuzz_dgram_failed(void *arg, const char *to, const char *why)
{
	(void)arg;
	(void)to;
	(void)why;
	__builtin_trap();
}

/* Nothing was sent, so no path can be lost by a message. */
static void
fuzz_dgram_recheck(void *arg, uint64_t pair_id)
{
	(void)arg;
	(void)pair_id;
}

static const struct peer_cb fuzz_dgram_cb = {
	.msg = fuzz_dgram_msg,
	.delivered = fuzz_dgram_delivered,
	.failed = fuzz_dgram_failed,
	.recheck = fuzz_dgram_recheck,
};

/* The address of 127.0.0.1:port. */
static struct sockaddr_in
fuzz_dgram_addr(uint16_t port)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	return (sin);
}

/* Feeds one datagram from bob, or from the server when relayed. */
static void
fuzz_dgram_input(struct peer *p, const uint8_t *d, size_t n, int relayed)
{
	struct sockaddr_in	from;

	from = fuzz_dgram_addr(relayed ? FUZZ_SRV_PORT : FUZZ_BOB_PORT);
	peer_input(p, d, n, (struct sockaddr *)&from, sizeof(from));
}

/* Seals counter + 20 bytes as a REGISTERED from the server. */
static void
fuzz_dgram_registered(struct peer *p, const struct sc_reg_keys *rk,
    int wrong_id, const uint8_t *b, size_t n)
{
	uint8_t	d[SC_REG_LEN], plain[SC_REG_PLAIN];

	if (n < 8)
		return;
	memset(plain, 0, sizeof(plain));
	memcpy(plain, b + 8, n - 8 > sizeof(plain) ? sizeof(plain) : n - 8);
	if (sc_reg_seal(d, SC_UDP_REGISTERED, rk->s2c, wrong_id ?
	    ~FUZZ_REG_ID : FUZZ_REG_ID, util_get_be64(b), plain) != 0)
		return;
	fuzz_dgram_input(p, d, sizeof(d), 1);
}

/* Seals counter + payload with the sending key of bob or of ourselves. */
static void
fuzz_dgram_sealed(struct peer *p, const struct sc_pair_keys *bob,
    const struct sc_pair_keys *self, int use_self, int relayed,
    const uint8_t *b, size_t n)
{
	uint8_t	d[SC_DGRAM_MAX];
	size_t	plen;

	if (n < 8)
		return;
	plen = n - 8;
	if (plen > SC_DGRAM_MAX - SC_DGRAM_HDR - SC_MAC_BYTES)
		plen = SC_DGRAM_MAX - SC_DGRAM_HDR - SC_MAC_BYTES;
	if (sc_dgram_seal(d, use_self ? self->tx : bob->tx, use_self ?
	    FUZZ_SELF_ID : FUZZ_BOB_ID, util_get_be64(b), b + 8, plen) != 0)
		return;
	fuzz_dgram_input(p, d, SC_DGRAM_HDR + plen + SC_MAC_BYTES, relayed);
}

/* Feeds one input's records to a fresh peer table. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_pair_keys	 bob, self;
	struct sc_reg_keys	 rk;
	struct sc_cand		 cand;
	struct sockaddr_in	 sin;
	struct peer_conf	 conf;
	struct peer		*p;
	size_t			 off = 0, n;
	uint8_t			 op;
	char			 err[256];

	if (fuzz_base == NULL) {
		if (sc_crypto_init() != 0)
			__builtin_trap();
		log_init("fuzz_dgram", LOG_LVL_ERROR);
		fuzz_base = event_base_new();
	}
	memset(&conf, 0, sizeof(conf));
	conf.retries = 2;
	conf.retry_ms = 100;
	conf.direct_timeout_ms = 1000;
	conf.keepalive_s = 15;
	conf.punch_ttl = 2;
	p = peer_new(fuzz_base, &fuzz_dgram_cb, NULL, &conf);
	if (p == NULL)
		return (0);
	peer_set_self(p, "alice");
	sin = fuzz_dgram_addr(FUZZ_SRV_PORT);
	peer_set_server(p, (struct sockaddr *)&sin, sizeof(sin));
	sin = fuzz_dgram_addr(0);
	if (peer_open(p, (struct sockaddr *)&sin, sizeof(sin), err,
	    sizeof(err)) != 0 || peer_register(p, FUZZ_SRV_PORT,
	    SC_UDPREG_RELAY, FUZZ_REG_ID, fuzz_kreg) != 0)
		__builtin_trap();
	sin = fuzz_dgram_addr(FUZZ_BOB_PORT);
	if (wire_cand_from_sa(&cand, SC_CAND_HOST, (struct sockaddr *)&sin) !=
	    0 || peer_pair_set(p, "bob", FUZZ_BOB_ID, fuzz_kxy,
	    SC_PAIR_RELAY, &cand, 1) != 0 || peer_pair_set(p, "alice",
	    FUZZ_SELF_ID, fuzz_kxy, 0, &cand, 1) != 0)
		__builtin_trap();
	sc_pair_derive(&bob, fuzz_kxy, "bob", "alice");
	sc_pair_derive(&self, fuzz_kxy, "alice", "alice");
	sc_reg_derive(&rk, fuzz_kreg);
	while (size - off >= 3) {
		op = data[off];
		n = ((size_t)data[off + 1] << 8) | data[off + 2];
		off += 3;
		if (n > size - off)
			n = size - off;
		if (op & 8)
			fuzz_dgram_registered(p, &rk, (op & 2) != 0,
			    data + off, n);
		else if (op & 1)
			fuzz_dgram_sealed(p, &bob, &self, (op & 2) != 0,
			    (op & 4) != 0, data + off, n);
		else
			fuzz_dgram_input(p, data + off, n, (op & 4) != 0);
		off += n;
	}
	peer_free(p);
	return (0);
}
