/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: UDP datagrams through the client's receive path
 * (src/client/peer.c: byte 0, size, version, pair_id, the handshake's INIT
 * and RESP, keys, replay window, AEAD open, payload kinds MSG, ACK, PROBE
 * and PROBE_ACK, msg_id window, the path's handling of PROBEs and their
 * answers; src/client/reg.c: the REGISTERED answer).  The input is a list
 * of records [op u8][len u16 big-endian][len bytes]:
 *   op bit 3 set:   the bytes are counter (8) + 20 bytes, sealed as a
 *                   REGISTERED from the server (reg_id right when bit 1
 *                   is clear), so registration is reached behind its MAC;
 *   else bit 0 set: the bytes are counter (8) + payload, sealed with
 *                   aaron's key from the handshake, so the fuzzer also
 *                   reaches the code behind the MAC;
 *   else bit 1 set: the bytes are XORed into aaron's INIT (a copy of it
 *                   is answered again; anything else must be dropped);
 *   else:           the bytes are one raw datagram;
 *   bit 2 set: it comes from the server's UDP endpoint (relayed), else
 *   from aaron's address.
 * Each input gets a fresh peer table, alice's, on 127.0.0.1, registering
 * with a server there, holding a pair with aaron (whose name sorts first,
 * so he begins the handshake) and one with herself.  The fuzzer plays
 * aaron: his INIT, always the same bytes, goes in first, and the RESP
 * comes back to his socket, which gives his keys.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/peerhs.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "peer.h"

#define FUZZ_BOB_ID	UINT64_C(0x0102030405060708)
#define FUZZ_SELF_ID	UINT64_C(0x1112131415161718)
#define FUZZ_REG_ID	UINT64_C(0x2122232425262728)
#define FUZZ_SRV_PORT	9

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*fuzz_base;
static const uint8_t		 fuzz_kxy[SC_KEY_BYTES] = { 0x42, 0x17 };
static const uint8_t		 fuzz_kreg[SC_KEY_BYTES] = { 0x99 };
static struct sc_keypair	 fuzz_alice;	/* her identity */
static uint8_t			 fuzz_aaron_sk[SC_KEY_BYTES];
static uint8_t			 fuzz_aaron_pk[SC_KEY_BYTES];
static int			 fuzz_aaron_fd = -1;	/* his socket */
static struct sockaddr_in	 fuzz_aaron_sa;

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

/* Feeds one datagram from aaron, or from the server when relayed. */
static void
fuzz_dgram_input(struct peer *p, const uint8_t *d, size_t n, int relayed)
{
	struct sockaddr_in	from;

	from = relayed ? fuzz_dgram_addr(FUZZ_SRV_PORT) : fuzz_aaron_sa;
	peer_input(p, d, n, (struct sockaddr *)&from, sizeof(from));
}

/* The keys, the socket and the address that stay from run to run. */
static void
fuzz_dgram_setup(void)
{
	struct timeval	tv = { 0, 200000 };
	uint8_t		sk[SC_KEY_BYTES];
	socklen_t	len = sizeof(fuzz_aaron_sa);

	if (sc_crypto_init() != 0)
		__builtin_trap();
	log_init("fuzz_dgram", LOG_LVL_ERROR);
	fuzz_base = event_base_new();
	memset(sk, 0x41, sizeof(sk));
	memset(fuzz_aaron_sk, 0x61, sizeof(fuzz_aaron_sk));
	fuzz_aaron_sa = fuzz_dgram_addr(0);
	fuzz_aaron_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fuzz_base == NULL || sc_keypair_from_sk(&fuzz_alice, sk) != 0 ||
	    sc_dh_public(fuzz_aaron_pk, fuzz_aaron_sk) != 0 ||
	    fuzz_aaron_fd == -1 || setsockopt(fuzz_aaron_fd, SOL_SOCKET,
	    SO_RCVTIMEO, &tv, sizeof(tv)) != 0 || bind(fuzz_aaron_fd,
	    (struct sockaddr *)&fuzz_aaron_sa, sizeof(fuzz_aaron_sa)) != 0 ||
	    getsockname(fuzz_aaron_fd, (struct sockaddr *)&fuzz_aaron_sa,
	    &len) != 0)
		__builtin_trap();
}

/* Empties aaron's socket (PROBEs of earlier runs). */
static void
fuzz_dgram_drain(void)
{
	uint8_t	d[SC_DGRAM_MAX + 1];

	while (recv(fuzz_aaron_fd, d, sizeof(d), MSG_DONTWAIT) > 0)
		;
}

/*
 * aaron's INIT into the table, its RESP out of his socket: his keys.
 * INIT is always the same bytes (his ephemeral key is fixed).
 */
static void
fuzz_dgram_handshake(struct peer *p, struct sc_pair_keys *keys,
    uint8_t init[PEERHS_LEN])
{
	struct peerhs	hs;
	uint8_t		d[SC_DGRAM_MAX + 1], e[SC_KEY_BYTES];
	ssize_t		n;
	int		i;

	memset(e, 0x71, sizeof(e));
	if (peerhs_init(&hs, 1, FUZZ_BOB_ID, "aaron", fuzz_aaron_pk, "alice",
	    fuzz_alice.pk, fuzz_kxy) != 0 || peerhs_write_init(&hs, init,
	    fuzz_aaron_sk, e) != 0)
		__builtin_trap();
	fuzz_dgram_input(p, init, PEERHS_LEN, 0);
	for (i = 0; i < 64; i++) {
		n = recv(fuzz_aaron_fd, d, sizeof(d), 0);
		if (n < 0)
			break;
		if (n == PEERHS_LEN && d[0] == SC_UDP_RESP &&
		    peerhs_read_resp(&hs, keys, d, PEERHS_LEN,
		    fuzz_aaron_sk) == 0)
			return;
	}
	__builtin_trap();	/* no RESP to an INIT that opens */
}

/* XORs the bytes into aaron's INIT and feeds it. */
static void
fuzz_dgram_init(struct peer *p, const uint8_t init[PEERHS_LEN], int relayed,
    const uint8_t *b, size_t n)
{
	uint8_t	d[PEERHS_LEN];
	size_t	i;

	memcpy(d, init, PEERHS_LEN);
	for (i = 0; i < n && i < PEERHS_LEN; i++)
		d[i] ^= b[i];
	fuzz_dgram_input(p, d, PEERHS_LEN, relayed);
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

/* Seals counter + payload with aaron's sending key. */
static void
fuzz_dgram_sealed(struct peer *p, const struct sc_pair_keys *aaron,
    int relayed, const uint8_t *b, size_t n)
{
	uint8_t	d[SC_DGRAM_MAX];
	size_t	plen;

	if (n < 8)
		return;
	plen = n - 8;
	if (plen > SC_DGRAM_MAX - SC_DGRAM_HDR - SC_MAC_BYTES)
		plen = SC_DGRAM_MAX - SC_DGRAM_HDR - SC_MAC_BYTES;
	if (sc_dgram_seal(d, aaron->tx, FUZZ_BOB_ID, util_get_be64(b), b + 8,
	    plen) != 0)
		return;
	fuzz_dgram_input(p, d, SC_DGRAM_HDR + plen + SC_MAC_BYTES, relayed);
}

/* Feeds one input's records to a fresh peer table. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_pair_keys	 aaron;
	struct sc_reg_keys	 rk;
	struct sc_cand		 cand;
	struct sockaddr_in	 sin;
	struct peer_conf	 conf;
	struct peer		*p;
	size_t			 off = 0, n;
	uint8_t			 op, init[PEERHS_LEN];
	char			 err[256];

	if (fuzz_base == NULL)
		fuzz_dgram_setup();
	fuzz_dgram_drain();
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
	peer_set_identity(p, &fuzz_alice);
	sin = fuzz_dgram_addr(FUZZ_SRV_PORT);
	peer_set_server(p, (struct sockaddr *)&sin, sizeof(sin));
	sin = fuzz_dgram_addr(0);
	if (peer_open(p, (struct sockaddr *)&sin, sizeof(sin), err,
	    sizeof(err)) != 0 || peer_register(p, FUZZ_SRV_PORT,
	    SC_UDPREG_RELAY, FUZZ_REG_ID, fuzz_kreg) != 0)
		__builtin_trap();
	if (wire_cand_from_sa(&cand, SC_CAND_HOST,
	    (struct sockaddr *)&fuzz_aaron_sa) != 0 || peer_pair_set(p,
	    "aaron", FUZZ_BOB_ID, fuzz_kxy, fuzz_aaron_pk, 0, SC_PAIR_RELAY,
	    &cand, 1) != 0 || peer_pair_set(p, "alice", FUZZ_SELF_ID,
	    fuzz_kxy, fuzz_alice.pk, 0, 0, &cand, 1) != 0)
		__builtin_trap();
	fuzz_dgram_handshake(p, &aaron, init);
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
			fuzz_dgram_sealed(p, &aaron, (op & 4) != 0, data + off,
			    n);
		else if (op & 2)
			fuzz_dgram_init(p, init, (op & 4) != 0, data + off, n);
		else
			fuzz_dgram_input(p, data + off, n, (op & 4) != 0);
		off += n;
	}
	peer_free(p);
	sc_wipe(&aaron, sizeof(aaron));
	return (0);
}
