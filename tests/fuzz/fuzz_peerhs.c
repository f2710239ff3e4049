/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the peers' handshake datagrams (src/common/peerhs.c,
 * docs/protocol.md section 8.1): INIT read by a responder, RESP read by
 * an initiator that sent its INIT.  The first input byte picks the case:
 *   bit 0 clear: the responder reads, bit 0 set: the initiator reads;
 *   bit 1 set: the rest is XORed into the real message (INIT or RESP of
 *   this run, whose keys are fixed), so that mutations stay near what
 *   opens; else the rest is the datagram as it is.
 * A message that opens must be the real one, byte for byte, and give the
 * keys the other side has; anything else must leave the state as it was.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/peerhs.h"
#include "sealchat/proto.h"

#define FUZZ_PAIR	UINT64_C(0x0102030405060708)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The fixed keys of both sides and the real messages between them. */
static struct {
	int			ready;
	uint8_t			s_i[SC_KEY_BYTES], s_r[SC_KEY_BYTES];
	uint8_t			pk_i[SC_KEY_BYTES], pk_r[SC_KEY_BYTES];
	uint8_t			e_i[SC_KEY_BYTES], e_r[SC_KEY_BYTES];
	uint8_t			psk[SC_KEY_BYTES];
	uint8_t			init[PEERHS_LEN], resp[PEERHS_LEN];
	struct sc_pair_keys	ki, kr;
} fz;

/* Sets up both sides once: the real INIT, RESP and keys. */
static void
fuzz_peerhs_setup(void)
{
	struct peerhs	i, r;
	size_t		n;

	if (fz.ready)
		return;
	if (sc_crypto_init() != 0)
		__builtin_trap();
	log_init("fuzz_peerhs", LOG_LVL_ERROR);
	for (n = 0; n < SC_KEY_BYTES; n++) {
		fz.s_i[n] = (uint8_t)(0x40 + n);
		fz.s_r[n] = (uint8_t)(0x60 + n);
		fz.e_i[n] = (uint8_t)(0x80 + n);
		fz.e_r[n] = (uint8_t)(0xa0 + n);
		fz.psk[n] = (uint8_t)(0xc0 + n);
	}
	if (sc_dh_public(fz.pk_i, fz.s_i) != 0 ||
	    sc_dh_public(fz.pk_r, fz.s_r) != 0 ||
	    peerhs_init(&i, 1, FUZZ_PAIR, "alice", fz.pk_i, "bob", fz.pk_r,
	    fz.psk) != 0 ||
	    peerhs_init(&r, 0, FUZZ_PAIR, "alice", fz.pk_i, "bob", fz.pk_r,
	    fz.psk) != 0 ||
	    peerhs_write_init(&i, fz.init, fz.s_i, fz.e_i) != 0 ||
	    peerhs_read_init(&r, &fz.kr, fz.resp, fz.init, PEERHS_LEN, fz.s_r,
	    fz.e_r) != 0 ||
	    peerhs_read_resp(&i, &fz.ki, fz.resp, PEERHS_LEN, fz.s_i) != 0)
		__builtin_trap();
	fz.ready = 1;
}

/* Runs one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct peerhs		hs, before;
	struct sc_pair_keys	keys;
	uint8_t			msg[PEERHS_LEN + 64], out[PEERHS_LEN];
	const uint8_t		*real;
	size_t			n, k;
	int			initiator, rc;

	fuzz_peerhs_setup();
	if (len < 1)
		return (0);
	initiator = data[0] & 1;
	real = initiator ? fz.resp : fz.init;
	n = len - 1 > sizeof(msg) ? sizeof(msg) : len - 1;
	if (data[0] & 2) {
		n = PEERHS_LEN;
		memcpy(msg, real, PEERHS_LEN);
		for (k = 0; k + 1 < len && k < PEERHS_LEN; k++)
			msg[k] ^= data[1 + k];
	} else
		memcpy(msg, data + 1, n);
	if (peerhs_init(&hs, initiator, FUZZ_PAIR, "alice", fz.pk_i, "bob",
	    fz.pk_r, fz.psk) != 0)
		__builtin_trap();
	if (initiator && peerhs_write_init(&hs, out, fz.s_i, fz.e_i) != 0)
		__builtin_trap();
	before = hs;
	if (initiator)
		rc = peerhs_read_resp(&hs, &keys, msg, n, fz.s_i);
	else
		rc = peerhs_read_init(&hs, &keys, out, msg, n, fz.s_r, fz.e_r);
	if (rc == 0) {
		/* Only the real message opens, and to the same keys. */
		if (n != PEERHS_LEN || memcmp(msg, real, PEERHS_LEN) != 0 ||
		    memcmp(keys.tx, initiator ? fz.ki.tx : fz.kr.tx,
		    SC_KEY_BYTES) != 0 || hs.state != PEERHS_DONE)
			__builtin_trap();
		if (!initiator && memcmp(out, fz.resp, PEERHS_LEN) != 0)
			__builtin_trap();
	} else if (memcmp(&hs, &before, sizeof(hs)) != 0)
		__builtin_trap();
	peerhs_wipe(&hs);
	peerhs_wipe(&before);
	return (0);
}
