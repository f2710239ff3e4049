/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: peer datagrams through the client's receive path
 * (src/client/peer.c: size, version, pair_id, replay window, AEAD open,
 * payload, msg_id window).  The input is a list of records
 * [op u8][len u16 big-endian][len bytes]:
 *   op bit 0 clear: the bytes are one raw datagram;
 *   op bit 0 set:   the bytes are counter (8) + payload, sealed with the
 *                   right key (bit 1: the self pair, else bob's) so the
 *                   fuzzer also reaches the code behind the MAC.
 * A fresh peer table per input keeps runs reproducible.
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

#include "peer.h"

#define FUZZ_BOB_ID	UINT64_C(0x0102030405060708)
#define FUZZ_SELF_ID	UINT64_C(0x1112131415161718)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*fuzz_base;
static const uint8_t		 fuzz_kxy[SC_KEY_BYTES] = { 0x42, 0x17 };

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

static const struct peer_cb fuzz_dgram_cb = {
	.msg = fuzz_dgram_msg,
	.delivered = fuzz_dgram_delivered,
	.failed = fuzz_dgram_failed,
};

/* Seals counter + payload with the sending key of bob or of ourselves. */
static void
fuzz_dgram_sealed(struct peer *p, const struct sc_pair_keys *bob,
    const struct sc_pair_keys *self, int use_self, const uint8_t *b,
    size_t n)
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
	peer_input(p, d, SC_DGRAM_HDR + plen + SC_MAC_BYTES);
}

/* Feeds one input's records to a fresh peer table. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_pair_keys	 bob, self;
	struct sockaddr_in	 sin;
	struct peer		*p;
	size_t			 off = 0, n;
	uint8_t			 op;

	if (fuzz_base == NULL) {
		if (sc_crypto_init() != 0)
			__builtin_trap();
		log_init("fuzz_dgram", LOG_LVL_ERROR);
		fuzz_base = event_base_new();
	}
	p = peer_new(fuzz_base, &fuzz_dgram_cb, NULL, 2, 100);
	if (p == NULL)
		return (0);
	peer_set_self(p, "alice");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(9);
	if (peer_pair_set(p, "bob", FUZZ_BOB_ID, fuzz_kxy,
	    (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    peer_pair_set(p, "alice", FUZZ_SELF_ID, fuzz_kxy,
	    (struct sockaddr *)&sin, sizeof(sin)) != 0)
		__builtin_trap();
	sc_pair_derive(&bob, fuzz_kxy, "bob", "alice");
	sc_pair_derive(&self, fuzz_kxy, "alice", "alice");
	while (size - off >= 3) {
		op = data[off];
		n = ((size_t)data[off + 1] << 8) | data[off + 2];
		off += 3;
		if (n > size - off)
			n = size - off;
		if (op & 1)
			fuzz_dgram_sealed(p, &bob, &self, (op & 2) != 0,
			    data + off, n);
		else
			peer_input(p, data + off, n);
		off += n;
	}
	peer_free(p);
	return (0);
}
