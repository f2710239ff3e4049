/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/common/wire.c: frames (docs/protocol.md section 1) and
 * the frame reader on evbuffers, every message of section 4 encoded and
 * decoded, every malformed payload refused, why a SIGN or AUTH is refused,
 * the name rules of section 6, and the error texts of section 5.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"

/* Decodes wb's bytes into m; returns wire_msg_decode's result. */
static int
decode_wb(struct sc_msg *m, const struct wbuf *wb)
{
	assert_false(wb->oom);
	return (wire_msg_decode(m, wb->data, wb->len));
}

/* Decodes a string literal's bytes (without its NUL). */
#define DEC(lit)	decode_lit((lit), sizeof(lit) - 1)

static int
decode_lit(const char *s, size_t len)
{
	struct sc_msg	m;

	return (wire_msg_decode(&m, (const uint8_t *)s, len));
}

/* Each proper prefix of a fixed-layout message fails; so do extra bytes. */
static void
assert_exact_length(const struct wbuf *wb)
{
	struct sc_msg	m;
	uint8_t		buf[512];
	size_t		i;

	assert_true(wb->len < sizeof(buf));
	for (i = 0; i < wb->len; i++)
		assert_int_equal(wire_msg_decode(&m, wb->data, i), -1);
	memcpy(buf, wb->data, wb->len);
	for (i = 0; i < 256; i += 51) {
		buf[wb->len] = (uint8_t)i;
		assert_int_equal(wire_msg_decode(&m, buf, wb->len + 1), -1);
	}
	assert_int_equal(wire_msg_decode(&m, wb->data, wb->len), 0);
}

/* A zero length is refused as soon as the header is complete. */
static void
test_frame_zero_length_rejected(void **state)
{
	const uint8_t	hdr[4] = { 0, 0, 0, 0 };
	size_t		n = 99;

	(void)state;
	assert_int_equal(wire_frame_peek(hdr, 4, 65536, &n), -1);
	assert_int_equal(n, 99);
}

/* An oversize length is refused from the 4 header bytes alone. */
static void
test_frame_oversize_rejected_before_body(void **state)
{
	uint8_t	hdr[4];
	size_t	n = 0;

	(void)state;
	wire_frame_header(hdr, 1025);
	assert_int_equal(wire_frame_peek(hdr, 4, 1024, &n), -1);
	wire_frame_header(hdr, 1024);
	assert_int_equal(wire_frame_peek(hdr, 4, 1024, &n), 0);
	/* a hostile 4 GiB announcement */
	memset(hdr, 0xff, 4);
	assert_int_equal(wire_frame_peek(hdr, 4, SC_FRAME_LIMIT, &n), -1);
}

/* Partial headers and bodies ask for more; the header is big-endian. */
static void
test_frame_partial_header_and_body(void **state)
{
	uint8_t	buf[4 + 300];
	size_t	i, n = 0;

	(void)state;
	wire_frame_header(buf, 300);
	assert_memory_equal(buf, "\x00\x00\x01\x2c", 4);
	memset(buf + 4, 'x', 300);
	for (i = 0; i < 4; i++)
		assert_int_equal(wire_frame_peek(buf, i, 65536, &n), 0);
	for (i = 4; i < sizeof(buf); i++)
		assert_int_equal(wire_frame_peek(buf, i, 65536, &n), 0);
	assert_int_equal(wire_frame_peek(buf, sizeof(buf), 65536, &n), 1);
	assert_int_equal(n, 300);
	assert_int_equal(wire_frame_peek(buf, sizeof(buf), 300, &n), 1);
	assert_int_equal(wire_frame_peek(buf, sizeof(buf), 299, &n), -1);
	wire_frame_header(buf, 0x01020304);
	assert_memory_equal(buf, "\x01\x02\x03\x04", 4);
}

/*
 * The evbuffer reader: bounds come from the header alone (no body bytes
 * needed to refuse), a partial frame waits, a whole one is contiguous even
 * when it arrived in pieces, and dropping it leaves the next one in front.
 */
static void
test_frame_pull_bounds_partial_and_whole(void **state)
{
	struct evbuffer	*in;
	uint8_t		 frame[4 + 300], hdr[4];
	const uint8_t	*body;
	size_t		 n = 0, i;

	(void)state;
	assert_non_null(in = evbuffer_new());
	assert_int_equal(wire_frame_pull(in, 1, 1024, &body, &n),
	    WIRE_FRAME_PARTIAL);
	wire_frame_header(hdr, 1025);
	assert_int_equal(evbuffer_add(in, hdr, 3), 0);
	assert_int_equal(wire_frame_pull(in, 1, 1024, &body, &n),
	    WIRE_FRAME_PARTIAL);
	assert_int_equal(evbuffer_add(in, hdr + 3, 1), 0);
	assert_int_equal(wire_frame_pull(in, 1, 1024, &body, &n),
	    WIRE_FRAME_BAD);
	assert_int_equal(wire_frame_pull(in, 1, 1025, NULL, &n),
	    WIRE_FRAME_PARTIAL);
	assert_int_equal(evbuffer_drain(in, 4), 0);

	/* zero is refused even when the caller's minimum says 0 */
	wire_frame_header(hdr, 0);
	assert_int_equal(evbuffer_add(in, hdr, 4), 0);
	assert_int_equal(wire_frame_pull(in, 0, 1024, &body, &n),
	    WIRE_FRAME_BAD);
	assert_int_equal(evbuffer_drain(in, 4), 0);

	/* a HELLO's bounds: exactly SC_HELLO_BODY */
	wire_frame_header(hdr, SC_HELLO_BODY - 1);
	assert_int_equal(evbuffer_add(in, hdr, 4), 0);
	assert_int_equal(wire_frame_pull(in, SC_HELLO_BODY, SC_HELLO_BODY,
	    &body, &n), WIRE_FRAME_BAD);
	assert_int_equal(evbuffer_drain(in, 4), 0);

	/* two frames, the first added in pieces */
	wire_frame_header(frame, 300);
	for (i = 0; i < 300; i++)
		frame[4 + i] = (uint8_t)i;
	for (i = 0; i < sizeof(frame); i += 38) {
		assert_int_equal(wire_frame_pull(in, 1, 300, &body, &n),
		    WIRE_FRAME_PARTIAL);
		assert_int_equal(evbuffer_add(in, frame + i, 38), 0);
	}
	assert_int_equal(evbuffer_add(in, frame, 4), 0);
	assert_int_equal(evbuffer_add(in, "\x07", 1), 0);
	n = 0;
	assert_int_equal(wire_frame_pull(in, 1, 300, NULL, &n),
	    WIRE_FRAME_READY);
	assert_int_equal(n, 300);
	assert_int_equal(evbuffer_get_length(in), sizeof(frame) + 5);
	assert_int_equal(wire_frame_pull(in, 1, 300, &body, &n),
	    WIRE_FRAME_READY);
	assert_int_equal(n, 300);
	assert_memory_equal(body, frame + 4, 300);
	wire_frame_drop(in, n);
	assert_int_equal(evbuffer_get_length(in), 5);
	assert_int_equal(wire_frame_pull(in, 1, 300, &body, &n),
	    WIRE_FRAME_PARTIAL);
	evbuffer_free(in);
}

/* wbuf: big-endian writers, growth, reset, str8 limit, oom is sticky. */
static void
test_wbuf_writes_and_limits(void **state)
{
	struct wbuf	wb;
	uint8_t		small[4] = { 1, 2, 3, 4 };
	char		s[300];
	size_t		i;

	(void)state;
	wbuf_init(&wb);
	wbuf_u8(&wb, 0xab);
	wbuf_u16(&wb, 0x0102);
	wbuf_u32(&wb, 0x03040506);
	wbuf_u64(&wb, 0x0708090a0b0c0d0eULL);
	assert_int_equal(wb.len, 15);
	assert_memory_equal(wb.data, "\xab\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\x09\x0a\x0b\x0c\x0d\x0e", 15);
	for (i = 0; i < 10000; i++)
		wbuf_put(&wb, small, sizeof(small));
	assert_false(wb.oom);
	assert_int_equal(wb.len, 15 + 40000);
	assert_true(wb.cap >= wb.len);
	assert_memory_equal(wb.data + 15 + 39996, small, 4);
	wbuf_reset(&wb);
	assert_int_equal(wb.len, 0);
	assert_non_null(wb.data);

	memset(s, 'a', sizeof(s));
	wbuf_str8(&wb, s, 255);
	assert_false(wb.oom);
	assert_int_equal(wb.len, 256);
	wbuf_str8(&wb, s, 256);
	assert_true(wb.oom);
	wbuf_reset(&wb);
	assert_false(wb.oom);

	/* growth past 64 MiB is refused without reading the source */
	wbuf_put(&wb, small, (size_t)64 * 1024 * 1024 + 1);
	assert_true(wb.oom);
	wbuf_u8(&wb, 1);
	assert_int_equal(wb.len, 0);
	wbuf_free(&wb);
	assert_null(wb.data);
	wbuf_free(&wb);
	wbuf_free(NULL);
}

/* A buffer grows up to exactly 64 MiB; one byte more sets oom for good. */
static void
test_wbuf_grows_to_limit_then_oom(void **state)
{
	struct wbuf	wb;
	uint8_t		*chunk;
	size_t		i, mib = 1024 * 1024;

	(void)state;
	assert_non_null(chunk = calloc(1, mib));
	wbuf_init(&wb);
	for (i = 0; i < 64; i++)
		wbuf_put(&wb, chunk, mib);
	assert_false(wb.oom);
	assert_int_equal(wb.len, 64 * mib);
	assert_int_equal(wb.cap, 64 * mib);
	wbuf_u8(&wb, 1);
	assert_true(wb.oom);
	assert_int_equal(wb.len, 64 * mib);
	wbuf_free(&wb);
	free(chunk);
}

/* rbuf: a short read sets err, returns zeros and stays failed. */
static void
test_rbuf_short_reads(void **state)
{
	struct rbuf	rb;
	const uint8_t	b[5] = { 1, 2, 3, 4, 5 };

	(void)state;
	rbuf_init(&rb, b, sizeof(b));
	assert_int_equal(rbuf_u16(&rb), 0x0102);
	assert_int_equal(rbuf_left(&rb), 3);
	assert_int_equal(rbuf_u32(&rb), 0);
	assert_true(rb.err);
	assert_int_equal(rbuf_u8(&rb), 0);
	assert_null(rbuf_bytes(&rb, 0));
	rbuf_init(&rb, b, sizeof(b));
	assert_int_equal(rbuf_u64(&rb), 0);
	assert_true(rb.err);
	rbuf_init(&rb, b, sizeof(b));
	assert_non_null(rbuf_bytes(&rb, 5));
	assert_int_equal(rbuf_left(&rb), 0);
	assert_false(rb.err);
}

/* Name rules: 1..32 of [a-z0-9._-], first a letter or digit. */
static void
test_name_rules(void **state)
{
	const char	*good[] = { "a", "0", "alice", "bob.smith", "x_y-z",
			    "9lives", "a.",
			    "abcdefghijklmnopqrstuvwxyz012345" };
	const char	*bad[] = { "", ".a", "_a", "-a", "Alice", "al ice",
			    "al\tice", "al/ice", "al@ice", "\xc3\xa9t\xc3\xa9",
			    "abcdefghijklmnopqrstuvwxyz0123456" };
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(wire_name_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(wire_name_valid(bad[i], strlen(bad[i])));
	assert_false(wire_name_valid("a\0b", 3));
	assert_false(wire_name_valid(NULL, 0));
}

/* Case folding: A-Z become a-z, nothing else changes, bad names fail. */
static void
test_name_canon_folds_case(void **state)
{
	char	out[SC_NAME_MAX + 1];

	(void)state;
	assert_int_equal(wire_name_canon(out, "Alice.B_7-Z", 11), 0);
	assert_string_equal(out, "alice.b_7-z");
	assert_int_equal(wire_name_canon(out,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32), 0);
	assert_string_equal(out, "abcdefghijklmnopqrstuvwxyz012345");
	assert_int_equal(wire_name_canon(out,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", 33), -1);
	assert_string_equal(out, "");
	assert_int_equal(wire_name_canon(out, "_Alice", 6), -1);
	assert_int_equal(wire_name_canon(out, "Al ice", 6), -1);
	assert_int_equal(wire_name_canon(out, "\xc3\x89", 2), -1);
	assert_int_equal(wire_name_canon(out, "", 0), -1);
	assert_int_equal(wire_name_canon(out, "[", 1), -1);	/* 'Z' + 1 */
	assert_int_equal(wire_name_canon(out, "@", 1), -1);	/* 'A' - 1 */
}

/*
 * Encodes afresh in wb a SIGN or AUTH of name with a password of pass_len
 * bytes 'p' (one more than the longest at most), and decodes it into m.
 */
static int
cred_decode(struct wbuf *wb, struct sc_msg *m, uint8_t type,
    const char *name, size_t pass_len)
{
	uint8_t	pw[SC_PASS_MAX + 1];

	assert_true(pass_len <= sizeof(pw));
	memset(pw, 'p', sizeof(pw));
	wbuf_reset(wb);
	wire_enc_cred(wb, type, name, pw, pass_len);
	return (decode_wb(m, wb));
}

/* SIGN and AUTH round-trip; upper case is folded into m->name. */
static void
test_cred_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		pw[SC_PASS_MAX];

	(void)state;
	wbuf_init(&wb);
	wire_enc_cred(&wb, SC_MSG_SIGN, "alice", (const uint8_t *)"s3cr3t", 6);
	assert_memory_equal(wb.data, "\x01\x05" "alice" "\x00\x06" "s3cr3t",
	    14);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_SIGN);
	assert_string_equal(m.name, "alice");
	assert_int_equal(m.name_len, 5);
	assert_int_equal(m.pass_len, 6);
	assert_memory_equal(m.pass, "s3cr3t", 6);
	assert_exact_length(&wb);

	wbuf_reset(&wb);
	memset(pw, 0xff, sizeof(pw));
	wire_enc_cred(&wb, SC_MSG_AUTH, "Bob.X", pw, sizeof(pw));
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_AUTH);
	assert_string_equal(m.name, "bob.x");
	assert_int_equal(m.pass_len, SC_PASS_MAX);
	assert_memory_equal(m.pass, pw, SC_PASS_MAX);
	wbuf_free(&wb);
}

/* SIGN/AUTH with an empty or overlong password, or a bad name, fail. */
static void
test_cred_malformed_rejected(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_SIGN, "alice", 0),
	    WIRE_MSG_BAD_PASS);
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_AUTH, "alice",
	    SC_PASS_MAX + 1), WIRE_MSG_BAD_PASS);
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_AUTH, "_alice", 3),
	    WIRE_MSG_BAD_NAME);
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_AUTH, "", 3),
	    WIRE_MSG_BAD_NAME);
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_AUTH,
	    "abcdefghijklmnopqrstuvwxyz0123456", 3), WIRE_MSG_BAD_NAME);
	/* name length byte pointing past the end */
	assert_int_equal(DEC("\x01\x20" "ab"), WIRE_MSG_MALFORMED);
	wbuf_free(&wb);
}

/*
 * A broken rule is told apart only in a well-formed SIGN or AUTH: the
 * password before the name; any layout fault, trailing bytes included,
 * makes the message malformed whatever else is wrong; a failed decode
 * leaves nothing but the type.
 */
static void
test_cred_rule_reasons_only_when_well_formed(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_SIGN, "_bad", 0),
	    WIRE_MSG_BAD_PASS);
	assert_int_equal(m.type, SC_MSG_SIGN);
	assert_null(m.pass);
	assert_int_equal(m.name_len, 0);
	assert_string_equal(m.name, "");
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_AUTH, "_bad",
	    SC_PASS_MAX + 1), WIRE_MSG_BAD_PASS);
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_AUTH, "_bad", SC_PASS_MAX),
	    WIRE_MSG_BAD_NAME);
	assert_int_equal(m.type, SC_MSG_AUTH);
	assert_null(m.pass);
	wbuf_u8(&wb, 0);
	assert_int_equal(decode_wb(&m, &wb), WIRE_MSG_MALFORMED);
	assert_int_equal(cred_decode(&wb, &m, SC_MSG_SIGN, "alice", 0),
	    WIRE_MSG_BAD_PASS);
	wbuf_u8(&wb, 0);
	assert_int_equal(decode_wb(&m, &wb), WIRE_MSG_MALFORMED);
	/* a password length past the end, with a bad name and no password */
	assert_int_equal(DEC("\x02\x01_\x01\x2c" "pp"), WIRE_MSG_MALFORMED);
	assert_int_equal(DEC("\x02\x01_\x00\x00"), WIRE_MSG_BAD_PASS);
	assert_int_equal(DEC("\x02\x01_\x00\x01p"), WIRE_MSG_BAD_NAME);
	assert_int_equal(DEC("\x02\x01" "A\x00\x01p"), WIRE_MSG_OK);
	/* other messages with a bad name are only malformed */
	wbuf_reset(&wb);
	wire_enc_pair(&wb, "Erin");
	assert_int_equal(decode_wb(&m, &wb), WIRE_MSG_MALFORMED);
	wbuf_reset(&wb);
	wire_enc_ok(&wb, SC_MSG_AUTH, "_x");
	assert_int_equal(decode_wb(&m, &wb), WIRE_MSG_MALFORMED);
	wbuf_free(&wb);
}

/* LIST, LOGOUT: type byte only. */
static void
test_empty_messages_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	wire_enc_empty(&wb, SC_MSG_LIST);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_LIST);
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	wire_enc_empty(&wb, SC_MSG_LOGOUT);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_LOGOUT);
	assert_exact_length(&wb);
	wbuf_free(&wb);
}

/* Fills a candidate. */
static void
cand(struct sc_cand *c, uint8_t kind, uint8_t af, uint8_t fill,
    uint16_t port)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->af = af;
	memset(c->addr, fill, af == SC_AF_INET ? 4 : 16);
	c->port = port;
}

/* UDP: the port, then local addresses; port 0 and a ninth address fail. */
static void
test_udp_round_trip_and_port_zero(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	struct sc_cand	h[SC_HOST_MAX + 1];
	size_t		i;

	(void)state;
	wbuf_init(&wb);
	wire_enc_udp(&wb, 40001, NULL, 0);
	assert_int_equal(wb.len, 3);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_UDP);
	assert_int_equal(m.port, 40001);
	assert_int_equal(m.ncand, 0);
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	wire_enc_udp(&wb, 0, NULL, 0);
	assert_int_equal(decode_wb(&m, &wb), -1);

	for (i = 0; i < SC_HOST_MAX + 1; i++)
		cand(&h[i], SC_CAND_HOST, i % 2 ? SC_AF_INET6 : SC_AF_INET,
		    (uint8_t)(i + 1), 0);
	wbuf_reset(&wb);
	wire_enc_udp(&wb, 40002, h, SC_HOST_MAX);
	assert_int_equal(wb.len, 3 + 4 * 5 + 4 * 17);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.ncand, SC_HOST_MAX);
	for (i = 0; i < SC_HOST_MAX; i++) {
		assert_int_equal(m.cand[i].kind, SC_CAND_HOST);
		assert_int_equal(m.cand[i].af, h[i].af);
		assert_memory_equal(m.cand[i].addr, h[i].addr, 16);
		assert_int_equal(m.cand[i].port, 40002);
	}
	wbuf_reset(&wb);
	wire_enc_udp(&wb, 40002, h, SC_HOST_MAX + 1);
	assert_true(wb.oom);
	/* a ninth address written by hand, a bad family, a cut address */
	assert_int_equal(DEC("\x04\x9c\x42\x04\x01\x01\x01\x01"
	    "\x04\x01\x01\x01\x02\x04\x01\x01\x01\x03"
	    "\x04\x01\x01\x01\x04\x04\x01\x01\x01\x05"
	    "\x04\x01\x01\x01\x06\x04\x01\x01\x01\x07"
	    "\x04\x01\x01\x01\x08\x04\x01\x01\x01\x09"), -1);
	assert_int_equal(DEC("\x04\x9c\x42\x05\x01\x01\x01\x01"), -1);
	assert_int_equal(DEC("\x04\x9c\x42\x06\x01\x01\x01\x01"), -1);
	wbuf_free(&wb);
}

/* RECHECK: a u64 pair id, nothing more. */
static void
test_recheck_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	wire_enc_recheck(&wb, 0x0102030405060708ULL);
	assert_int_equal(wb.len, 9);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_RECHECK);
	assert_true(m.pair_id == 0x0102030405060708ULL);
	assert_exact_length(&wb);
	wbuf_free(&wb);
}

/* IDENTITY: 32 key bytes, nothing more; an all-zero key is refused. */
static void
test_identity_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		key[SC_KEY_BYTES];

	(void)state;
	memset(key, 0x5a, sizeof(key));
	wbuf_init(&wb);
	wire_enc_identity(&wb, key);
	assert_int_equal(wb.len, 1 + SC_KEY_BYTES);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_IDENTITY);
	assert_memory_equal(m.idkey, key, SC_KEY_BYTES);
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	memset(key, 0, sizeof(key));
	wire_enc_identity(&wb, key);
	assert_int_equal(decode_wb(&m, &wb), WIRE_MSG_MALFORMED);
	wbuf_free(&wb);
}

/* PAIR: a canonical name round-trips; upper case and bad names fail. */
static void
test_pair_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	wire_enc_pair(&wb, "carol");
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_PAIR);
	assert_string_equal(m.name, "carol");
	assert_int_equal(m.name_len, 5);
	assert_exact_length(&wb);
	assert_int_equal(DEC("\x05\x05" "Carol"), -1);
	assert_int_equal(DEC("\x05\x00"), -1);
	assert_int_equal(DEC("\x05\x02" "a\0"), -1);
	wbuf_free(&wb);
}

/* RCPT: a canonical name, as PAIR. */
static void
test_rcpt_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	wire_enc_rcpt(&wb, "carol");
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_RCPT);
	assert_string_equal(m.name, "carol");
	assert_exact_length(&wb);
	assert_int_equal(DEC("\x0a\x05" "Carol"), -1);
	assert_int_equal(DEC("\x0a\x00"), -1);
	wbuf_free(&wb);
}

/*
 * STORE: name, id, u16 length and box round-trip; a box shorter than the
 * smallest or longer than the largest is refused on both sides, and so
 * is a length that does not match what follows.
 */
static void
test_store_round_trip_and_bounds(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		id[SC_MAIL_ID_BYTES], box[SC_MAIL_BOX_MAX + 1];
	uint8_t		buf[SC_MAIL_BOX_MAX + 64];
	size_t		len;

	(void)state;
	memset(id, 0x11, sizeof(id));
	memset(box, 0x22, sizeof(box));
	wbuf_init(&wb);
	wire_enc_store(&wb, "carol", id, box, SC_MAIL_BOX_MIN);
	assert_int_equal(wb.len, 1 + 6 + SC_MAIL_ID_BYTES + 2 +
	    SC_MAIL_BOX_MIN);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_STORE);
	assert_string_equal(m.name, "carol");
	assert_memory_equal(m.mailid, id, SC_MAIL_ID_BYTES);
	assert_int_equal(m.box_len, SC_MAIL_BOX_MIN);
	assert_memory_equal(m.box, box, SC_MAIL_BOX_MIN);
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	wire_enc_store(&wb, "carol", id, box, SC_MAIL_BOX_MAX);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.box_len, SC_MAIL_BOX_MAX);
	/* The encoder refuses what the decoder would. */
	wbuf_reset(&wb);
	wire_enc_store(&wb, "carol", id, box, SC_MAIL_BOX_MIN - 1);
	assert_true(wb.oom);
	wbuf_free(&wb);
	wbuf_init(&wb);
	wire_enc_store(&wb, "carol", id, box, SC_MAIL_BOX_MAX + 1);
	assert_true(wb.oom);
	wbuf_free(&wb);
	/* Lengths out of bounds, written by hand. */
	wbuf_init(&wb);
	wire_enc_store(&wb, "carol", id, box, SC_MAIL_BOX_MIN);
	len = wb.len;
	memcpy(buf, wb.data, len);
	buf[1 + 6 + SC_MAIL_ID_BYTES] = 0;
	buf[1 + 6 + SC_MAIL_ID_BYTES + 1] = SC_MAIL_BOX_MIN - 1;
	assert_int_equal(wire_msg_decode(&m, buf, len - 1), -1);
	buf[1 + 6 + SC_MAIL_ID_BYTES + 1] = SC_MAIL_BOX_MIN + 1;
	assert_int_equal(wire_msg_decode(&m, buf, len), -1);
	buf[1 + 6 + SC_MAIL_ID_BYTES] = (SC_MAIL_BOX_MAX + 1) >> 8;
	buf[1 + 6 + SC_MAIL_ID_BYTES + 1] = (SC_MAIL_BOX_MAX + 1) & 0xff;
	memset(buf + len, 0x22, SC_MAIL_BOX_MAX + 1 - SC_MAIL_BOX_MIN);
	assert_int_equal(wire_msg_decode(&m, buf, len + 1 +
	    SC_MAIL_BOX_MAX - SC_MAIL_BOX_MIN), -1);
	/* A bad recipient. */
	wbuf_reset(&wb);
	wire_enc_store(&wb, "Carol", id, box, SC_MAIL_BOX_MIN);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_free(&wb);
}

/* STOREACK: exactly an id. */
static void
test_storeack_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		id[SC_MAIL_ID_BYTES];

	(void)state;
	memset(id, 0x33, sizeof(id));
	wbuf_init(&wb);
	wire_enc_storeack(&wb, id);
	assert_int_equal(wb.len, 1 + SC_MAIL_ID_BYTES);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_STOREACK);
	assert_memory_equal(m.mailid, id, SC_MAIL_ID_BYTES);
	assert_exact_length(&wb);
	wbuf_free(&wb);
}

/* STOREKEEP: exactly an id, as STOREACK. */
static void
test_storekeep_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		id[SC_MAIL_ID_BYTES];

	(void)state;
	memset(id, 0x34, sizeof(id));
	wbuf_init(&wb);
	wire_enc_storekeep(&wb, id);
	assert_int_equal(wb.len, 1 + SC_MAIL_ID_BYTES);
	assert_int_equal(wb.data[0], 0x0d);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_STOREKEEP);
	assert_memory_equal(m.mailid, id, SC_MAIL_ID_BYTES);
	assert_exact_length(&wb);
	wbuf_free(&wb);
}

/* RCPTKEY: name and key; an all-zero key is no key. */
static void
test_rcptkey_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		key[SC_KEY_BYTES];

	(void)state;
	memset(key, 0x44, sizeof(key));
	wbuf_init(&wb);
	wire_enc_rcptkey(&wb, "carol", key);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_RCPTKEY);
	assert_string_equal(m.name, "carol");
	assert_memory_equal(m.idkey, key, SC_KEY_BYTES);
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	memset(key, 0, sizeof(key));
	wire_enc_rcptkey(&wb, "carol", key);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_free(&wb);
}

/* QUEUED: name and id. */
static void
test_queued_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		id[SC_MAIL_ID_BYTES];

	(void)state;
	memset(id, 0x55, sizeof(id));
	wbuf_init(&wb);
	wire_enc_queued(&wb, "carol", id);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_QUEUED);
	assert_string_equal(m.name, "carol");
	assert_memory_equal(m.mailid, id, SC_MAIL_ID_BYTES);
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	wire_enc_queued(&wb, "-carol", id);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_free(&wb);
}

/* STORED: id, sender, key, time, box; the same bounds as STORE. */
static void
test_stored_round_trip_and_bounds(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		id[SC_MAIL_ID_BYTES], key[SC_KEY_BYTES];
	uint8_t		box[SC_MAIL_BOX_MIN];

	(void)state;
	memset(id, 0x66, sizeof(id));
	memset(key, 0x77, sizeof(key));
	memset(box, 0x88, sizeof(box));
	wbuf_init(&wb);
	wire_enc_stored(&wb, id, "dave", key, 1700000000ULL, box,
	    sizeof(box));
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_STORED);
	assert_memory_equal(m.mailid, id, SC_MAIL_ID_BYTES);
	assert_string_equal(m.name, "dave");
	assert_memory_equal(m.idkey, key, SC_KEY_BYTES);
	assert_true(m.stime == 1700000000ULL);
	assert_int_equal(m.box_len, sizeof(box));
	assert_memory_equal(m.box, box, sizeof(box));
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	memset(key, 0, sizeof(key));
	wire_enc_stored(&wb, id, "dave", key, 1, box, sizeof(box));
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	memset(key, 0x77, sizeof(key));
	wire_enc_stored(&wb, id, "dave", key, 1, box, sizeof(box) - 1);
	assert_true(wb.oom);
	wbuf_free(&wb);
}

/* STORENOTE: DELIVERED or EXPIRED, name, id; any other event fails. */
static void
test_storenote_round_trip_and_events(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		id[SC_MAIL_ID_BYTES];

	(void)state;
	memset(id, 0x99, sizeof(id));
	wbuf_init(&wb);
	wire_enc_storenote(&wb, SC_NOTE_EXPIRED, "carol", id);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_STORENOTE);
	assert_int_equal(m.code, SC_NOTE_EXPIRED);
	assert_string_equal(m.name, "carol");
	assert_memory_equal(m.mailid, id, SC_MAIL_ID_BYTES);
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	wire_enc_storenote(&wb, SC_NOTE_DELIVERED, "carol", id);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.code, SC_NOTE_DELIVERED);
	wbuf_reset(&wb);
	wire_enc_storenote(&wb, 0, "carol", id);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_storenote(&wb, 3, "carol", id);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_free(&wb);
}

/* PING and PONG carry any 64-bit token. */
static void
test_ping_pong_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	wire_enc_ping(&wb, SC_MSG_PING, 0xfedcba9876543210ULL);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_PING);
	assert_true(m.token == 0xfedcba9876543210ULL);
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	wire_enc_ping(&wb, SC_MSG_PONG, 0);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_PONG);
	assert_true(m.token == 0);
	assert_exact_length(&wb);
	wbuf_free(&wb);
}

/* WELCOME: round trip; version, max_frame range and keepalives checked. */
static void
test_welcome_round_trip_and_bounds(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	wire_enc_welcome(&wb, 65536, 15, 45);
	assert_int_equal(wb.len, 10);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_WELCOME);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.max_frame, 65536);
	assert_int_equal(m.ka_interval, 15);
	assert_int_equal(m.ka_timeout, 45);
	assert_exact_length(&wb);

	wbuf_reset(&wb);
	wire_enc_welcome(&wb, SC_FRAME_MIN, 1, 1);
	assert_int_equal(decode_wb(&m, &wb), 0);
	wbuf_reset(&wb);
	wire_enc_welcome(&wb, SC_FRAME_LIMIT, 1, 1);
	assert_int_equal(decode_wb(&m, &wb), 0);
	wbuf_reset(&wb);
	wire_enc_welcome(&wb, SC_FRAME_MIN - 1, 15, 45);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_welcome(&wb, SC_FRAME_LIMIT + 1, 15, 45);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_welcome(&wb, 65536, 0, 45);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_welcome(&wb, 65536, 15, 0);
	assert_int_equal(decode_wb(&m, &wb), -1);
	/* version 2 */
	assert_int_equal(DEC("\x81\x02\x00\x01\x00\x00\x00\x0f\x00\x2d"), -1);
	assert_int_equal(DEC("\x81\x01\x00\x01\x00\x00\x00\x0f\x00\x2d"), 0);
	wbuf_free(&wb);
}

/* OK: req SIGN or AUTH and a canonical name. */
static void
test_ok_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;

	(void)state;
	wbuf_init(&wb);
	wire_enc_ok(&wb, SC_MSG_AUTH, "dave");
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_OK);
	assert_int_equal(m.req, SC_MSG_AUTH);
	assert_string_equal(m.name, "dave");
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	wire_enc_ok(&wb, SC_MSG_LIST, "dave");
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_ok(&wb, SC_MSG_SIGN, "Dave");
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_ok(&wb, SC_MSG_SIGN, "");
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_free(&wb);
}

/* ERROR: req a client request, code 1..11, subject the peer for PAIR. */
static void
test_error_round_trip_and_bounds(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		code;

	(void)state;
	wbuf_init(&wb);
	for (code = 1; code <= SC_ERR_MAX; code++) {
		wbuf_reset(&wb);
		wire_enc_error(&wb, SC_MSG_AUTH, code, NULL);
		assert_int_equal(decode_wb(&m, &wb), 0);
		assert_int_equal(m.type, SC_MSG_ERROR);
		assert_int_equal(m.req, SC_MSG_AUTH);
		assert_int_equal(m.code, code);
		assert_string_equal(m.name, "");
		assert_int_equal(m.name_len, 0);
	}
	assert_exact_length(&wb);
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_PAIR, SC_ERR_OFFLINE, "erin");
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.req, SC_MSG_PAIR);
	assert_string_equal(m.name, "erin");
	assert_exact_length(&wb);

	/* RCPT and STORE name their user too. */
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_RCPT, SC_ERR_NO_MAILBOX, "erin");
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.req, SC_MSG_RCPT);
	assert_string_equal(m.name, "erin");
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_STORE, SC_ERR_QUEUE_RATE, "erin");
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_string_equal(m.name, "erin");
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_STOREACK, SC_ERR_STATE, "erin");
	assert_int_equal(decode_wb(&m, &wb), -1);

	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_AUTH, 0, NULL);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_AUTH, SC_ERR_MAX + 1, NULL);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_CLIENT_LAST + 1, SC_ERR_STATE, NULL);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_error(&wb, 0, SC_ERR_STATE, NULL);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_WELCOME, SC_ERR_STATE, NULL);
	assert_int_equal(decode_wb(&m, &wb), -1);
	/* a subject where none belongs, a bad subject for PAIR */
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_LIST, SC_ERR_STATE, "erin");
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_error(&wb, SC_MSG_PAIR, SC_ERR_OFFLINE, "Erin");
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_free(&wb);
}

/* USERS: flags and names round-trip through the iterator. */
static void
test_users_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	const char	*names[] = { "alice", "bob", "zed-9" };
	char		name[SC_NAME_MAX + 1];
	size_t		i, off = 0;

	(void)state;
	wbuf_init(&wb);
	wire_enc_users_begin(&wb, SC_USERS_MORE | SC_USERS_REPLY);
	for (i = 0; i < 3; i++)
		wire_enc_users_entry(&wb, names[i], strlen(names[i]));
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_USERS);
	assert_int_equal(m.flags, SC_USERS_MORE | SC_USERS_REPLY);
	for (i = 0; i < 3; i++) {
		assert_int_equal(wire_users_next(&m, &off, name), 1);
		assert_string_equal(name, names[i]);
	}
	assert_int_equal(wire_users_next(&m, &off, name), 0);
	assert_int_equal(off, m.list_len);

	/* an empty list is fine */
	wbuf_reset(&wb);
	wire_enc_users_begin(&wb, 0);
	assert_int_equal(decode_wb(&m, &wb), 0);
	off = 0;
	assert_int_equal(wire_users_next(&m, &off, name), 0);
	assert_exact_length(&wb);
	/* the iterator refuses other messages */
	wbuf_reset(&wb);
	wire_enc_empty(&wb, SC_MSG_LIST);
	assert_int_equal(decode_wb(&m, &wb), 0);
	off = 0;
	assert_int_equal(wire_users_next(&m, &off, name), 0);
	wbuf_free(&wb);
}

/* USERS with unknown flags or any bad entry fails. */
static void
test_users_malformed_rejected(void **state)
{
	(void)state;
	assert_int_equal(DEC("\x84"), -1);
	assert_int_equal(DEC("\x84\x04"), -1);
	assert_int_equal(DEC("\x84\x80"), -1);
	assert_int_equal(DEC("\x84\x03"), 0);
	assert_int_equal(DEC("\x84\x00\x01" "a\x03" "bob"), 0);
	assert_int_equal(DEC("\x84\x00\x01" "a\x03" "Bob"), -1);
	assert_int_equal(DEC("\x84\x00\x01" "a\x00"), -1);
	assert_int_equal(DEC("\x84\x00\x01" "a\x04" "bob"), -1);
	assert_int_equal(DEC("\x84\x00\x01" "a\x01" "."), -1);
	assert_int_equal(DEC("\x84\x00\x01" "a\x01"), -1);
}

/* PRESENCE: events and names round-trip through the iterator. */
static void
test_presence_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	char		name[SC_NAME_MAX + 1];
	size_t		off = 0;
	int		online = -1;

	(void)state;
	wbuf_init(&wb);
	wire_enc_presence_begin(&wb);
	wire_enc_presence_entry(&wb, 1, "alice", 5);
	wire_enc_presence_entry(&wb, 0, "bob", 3);
	wire_enc_presence_entry(&wb, 7, "carol", 5); /* any nonzero: online */
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_PRESENCE);
	assert_int_equal(wire_presence_next(&m, &off, &online, name), 1);
	assert_true(online == 1);
	assert_string_equal(name, "alice");
	assert_int_equal(wire_presence_next(&m, &off, &online, name), 1);
	assert_true(online == 0);
	assert_string_equal(name, "bob");
	assert_int_equal(wire_presence_next(&m, &off, &online, name), 1);
	assert_true(online == 1);
	assert_string_equal(name, "carol");
	assert_int_equal(wire_presence_next(&m, &off, &online, name), 0);
	/* USERS iterator does not walk a PRESENCE list */
	off = 0;
	assert_int_equal(wire_users_next(&m, &off, name), 0);
	wbuf_free(&wb);
}

/* PRESENCE with no entry, a bad event or a bad name fails. */
static void
test_presence_malformed_rejected(void **state)
{
	(void)state;
	assert_int_equal(DEC("\x85"), -1);
	assert_int_equal(DEC("\x85\x01\x01" "a"), 0);
	assert_int_equal(DEC("\x85\x02\x01" "a"), -1);
	assert_int_equal(DEC("\x85\x01\x01" "a\x00\x01" "B"), -1);
	assert_int_equal(DEC("\x85\x01\x01" "a\x00"), -1);
	assert_int_equal(DEC("\x85\x01\x01" "a\x00\x00"), -1);
	assert_int_equal(DEC("\x85\x01\x02" "a"), -1);
}

/* PAIRKEY: name, id, key, flags, candidates of both kinds round-trip. */
static void
test_pairkey_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	struct sc_cand	c[SC_CAND_MAX];
	uint8_t		key[SC_KEY_BYTES], idkey[SC_KEY_BYTES];
	size_t		i;

	(void)state;
	memset(key, 0x5a, sizeof(key));
	memset(idkey, 0x6b, sizeof(idkey));
	cand(&c[0], SC_CAND_SRFLX, SC_AF_INET, 203, 5555);
	cand(&c[1], SC_CAND_HOST, SC_AF_INET6, 0xfe, 65535);
	wbuf_init(&wb);
	wire_enc_pairkey(&wb, "frank", 0x1122334455667788ULL, key, idkey,
	    SC_PAIR_RELAY, c, 2);
	assert_int_equal(wb.len, 1 + 6 + 8 + 32 + 32 + 1 + (1 + 1 + 4 + 2) +
	    (1 + 1 + 16 + 2));
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_PAIRKEY);
	assert_string_equal(m.name, "frank");
	assert_true(m.pair_id == 0x1122334455667788ULL);
	assert_memory_equal(m.key, key, SC_KEY_BYTES);
	assert_memory_equal(m.idkey, idkey, SC_KEY_BYTES);
	assert_int_equal(m.flags, SC_PAIR_RELAY);
	assert_int_equal(m.ncand, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(m.cand[i].kind, c[i].kind);
		assert_int_equal(m.cand[i].af, c[i].af);
		assert_memory_equal(m.cand[i].addr, c[i].addr, 16);
		assert_int_equal(m.cand[i].port, c[i].port);
	}
	/* a byte more is a cut entry */
	wb.data[wb.len] = 1;
	assert_int_equal(wire_msg_decode(&m, wb.data, wb.len + 1), -1);

	/* no candidate at all is a valid PAIRKEY (none known yet) */
	wbuf_reset(&wb);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, NULL, 0);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.ncand, 0);
	assert_int_equal(m.flags, 0);
	assert_exact_length(&wb);

	/* eight HOST and one SRFLX fit; a second SRFLX or ninth HOST not */
	for (i = 0; i < SC_HOST_MAX; i++)
		cand(&c[i], SC_CAND_HOST, SC_AF_INET, (uint8_t)i, 1000);
	cand(&c[SC_HOST_MAX], SC_CAND_SRFLX, SC_AF_INET, 9, 1000);
	wbuf_reset(&wb);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, c, SC_CAND_MAX);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.ncand, SC_CAND_MAX);
	c[0].kind = SC_CAND_SRFLX;
	wbuf_reset(&wb);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, c, SC_CAND_MAX);
	assert_true(wb.oom);
	c[0].kind = SC_CAND_HOST;
	c[SC_HOST_MAX].kind = SC_CAND_HOST;
	wbuf_reset(&wb);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, c, SC_CAND_MAX);
	assert_true(wb.oom);

	/* an unknown family or kind, or port 0, cannot be encoded */
	cand(&c[0], SC_CAND_HOST, 5, 1, 1);
	wbuf_reset(&wb);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, c, 1);
	assert_true(wb.oom);
	cand(&c[0], 3, SC_AF_INET, 1, 1);
	wbuf_reset(&wb);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, c, 1);
	assert_true(wb.oom);
	cand(&c[0], SC_CAND_HOST, SC_AF_INET, 1, 0);
	wbuf_reset(&wb);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, c, 1);
	assert_true(wb.oom);
	wbuf_free(&wb);
}

/*
 * PAIRKEY with a bad name, unknown flag bits, a candidate with port 0, an
 * unknown kind or family, a wrong address length, or cut short fails.
 */
static void
test_pairkey_malformed_rejected(void **state)
{
	struct wbuf	 wb;
	struct sc_msg	 m;
	struct sc_cand	 c;
	uint8_t		 key[SC_KEY_BYTES], *p;

	(void)state;
	memset(key, 1, sizeof(key));
	cand(&c, SC_CAND_SRFLX, SC_AF_INET, 2, 9);
	wbuf_init(&wb);
	wire_enc_pairkey(&wb, "Frank", 1, key, key, 0, &c, 1);
	assert_int_equal(decode_wb(&m, &wb), -1);

	wbuf_reset(&wb);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, &c, 1);
	p = wb.data + 1 + 6 + 8 + 32 + 32;	/* flags */
	*p = 0x02;
	assert_int_equal(decode_wb(&m, &wb), -1);
	*p = 0;
	p++;					/* kind */
	*p = 0;
	assert_int_equal(decode_wb(&m, &wb), -1);
	*p = 3;
	assert_int_equal(decode_wb(&m, &wb), -1);
	*p = SC_CAND_SRFLX;
	p++;					/* af: 6 with 4 bytes, 5, 0 */
	*p = SC_AF_INET6;
	assert_int_equal(decode_wb(&m, &wb), -1);
	*p = 5;
	assert_int_equal(decode_wb(&m, &wb), -1);
	*p = 0;
	assert_int_equal(decode_wb(&m, &wb), -1);
	*p = SC_AF_INET;
	assert_int_equal(decode_wb(&m, &wb), 0);
	wb.data[wb.len - 1] = 0;		/* port 0 */
	wb.data[wb.len - 2] = 0;
	assert_int_equal(decode_wb(&m, &wb), -1);
	wb.len--;				/* cut short */
	assert_int_equal(decode_wb(&m, &wb), -1);

	wbuf_reset(&wb);
	cand(&c, SC_CAND_HOST, SC_AF_INET6, 2, 9);
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, &c, 1);
	p = wb.data + 1 + 6 + 8 + 32 + 32 + 2;	/* af: 4 with 16 bytes */
	*p = SC_AF_INET;
	assert_int_equal(decode_wb(&m, &wb), -1);

	/* an all-zero identity key is no key */
	wbuf_reset(&wb);
	memset(key, 0, sizeof(key));
	wire_enc_pairkey(&wb, "frank", 1, key, key, 0, NULL, 0);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_free(&wb);
}

/* CANDIDATES: id, flags and candidates round-trip; bad flags fail. */
static void
test_candidates_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	struct sc_cand	c[2];

	(void)state;
	cand(&c[0], SC_CAND_HOST, SC_AF_INET, 10, 4000);
	cand(&c[1], SC_CAND_SRFLX, SC_AF_INET, 198, 4001);
	wbuf_init(&wb);
	wire_enc_candidates(&wb, 77, SC_PAIR_RELAY, c, 2);
	assert_int_equal(wb.len, 1 + 8 + 1 + 2 * 8);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_CANDIDATES);
	assert_true(m.pair_id == 77);
	assert_int_equal(m.flags, SC_PAIR_RELAY);
	assert_int_equal(m.ncand, 2);
	assert_int_equal(m.cand[1].kind, SC_CAND_SRFLX);
	assert_int_equal(m.cand[1].port, 4001);
	wb.data[9] = 0x80;
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_candidates(&wb, 77, 0, NULL, 0);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.ncand, 0);
	assert_exact_length(&wb);
	wbuf_free(&wb);
}

/* UDPREG: port, flags, reg_id and key; port 0, bad flags, short fail. */
static void
test_udpreg_round_trip(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		key[SC_KEY_BYTES];

	(void)state;
	memset(key, 0x33, sizeof(key));
	wbuf_init(&wb);
	wire_enc_udpreg(&wb, 10000, SC_UDPREG_RELAY, 0xaabbULL, key);
	assert_int_equal(wb.len, 1 + 2 + 1 + 8 + 32);
	assert_int_equal(decode_wb(&m, &wb), 0);
	assert_int_equal(m.type, SC_MSG_UDPREG);
	assert_int_equal(m.port, 10000);
	assert_int_equal(m.flags, SC_UDPREG_RELAY);
	assert_true(m.reg_id == 0xaabbULL);
	assert_memory_equal(m.key, key, SC_KEY_BYTES);
	assert_exact_length(&wb);
	wb.data[3] = 0x02;
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_udpreg(&wb, 0, 0, 1, key);
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_reset(&wb);
	wire_enc_udpreg(&wb, 1, 0, 1, key);
	wb.len--;
	assert_int_equal(decode_wb(&m, &wb), -1);
	wbuf_free(&wb);
}

/* Endpoints: 19 bytes both ways; IPv4 padding must be zero. */
static void
test_endpoint_bytes_and_socket_addresses(void **state)
{
	struct sc_cand		c, d;
	struct sockaddr_storage	ss;
	struct sockaddr_in6	sin6;
	uint8_t			e[SC_ENDPOINT_BYTES];

	(void)state;
	cand(&c, SC_CAND_SRFLX, SC_AF_INET, 7, 0x1234);
	wire_endpoint_put(e, &c);
	assert_int_equal(e[0], SC_AF_INET);
	assert_int_equal(e[1], 7);
	assert_int_equal(e[5], 0);
	assert_int_equal(e[17], 0x12);
	assert_int_equal(e[18], 0x34);
	assert_int_equal(wire_endpoint_get(&d, e), 0);
	assert_int_equal(d.af, SC_AF_INET);
	assert_memory_equal(d.addr, c.addr, 16);
	assert_int_equal(d.port, 0x1234);
	e[16] = 1;
	assert_int_equal(wire_endpoint_get(&d, e), -1);
	e[16] = 0;
	e[0] = 5;
	assert_int_equal(wire_endpoint_get(&d, e), -1);

	/* to a socket address and back */
	assert_int_equal(wire_cand_to_sa(&ss, &c), sizeof(struct sockaddr_in));
	assert_int_equal(wire_cand_from_sa(&d, SC_CAND_HOST,
	    (struct sockaddr *)&ss), 0);
	assert_int_equal(d.kind, SC_CAND_HOST);
	assert_memory_equal(d.addr, c.addr, 16);
	assert_int_equal(d.port, c.port);
	cand(&c, SC_CAND_HOST, SC_AF_INET6, 0x20, 80);
	assert_int_equal(wire_cand_to_sa(&ss, &c),
	    sizeof(struct sockaddr_in6));
	assert_int_equal(wire_cand_from_sa(&d, SC_CAND_HOST,
	    (struct sockaddr *)&ss), 0);
	assert_int_equal(d.af, SC_AF_INET6);
	assert_memory_equal(d.addr, c.addr, 16);
	c.af = 5;
	assert_int_equal(wire_cand_to_sa(&ss, &c), 0);

	/* an IPv4-mapped IPv6 address is IPv4 */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr.s6_addr[10] = 0xff;
	sin6.sin6_addr.s6_addr[11] = 0xff;
	sin6.sin6_addr.s6_addr[12] = 192;
	sin6.sin6_addr.s6_addr[15] = 9;
	sin6.sin6_port = htons(7);
	assert_int_equal(wire_cand_from_sa(&d, SC_CAND_SRFLX,
	    (struct sockaddr *)&sin6), 0);
	assert_int_equal(d.af, SC_AF_INET);
	assert_int_equal(d.addr[0], 192);
	assert_int_equal(d.addr[3], 9);
	assert_int_equal(d.addr[4], 0);
	assert_int_equal(d.port, 7);
	ss.ss_family = AF_UNIX;
	assert_int_equal(wire_cand_from_sa(&d, SC_CAND_HOST,
	    (struct sockaddr *)&ss), -1);
}

/* GOODBYE reasons 1..9 round-trip; 0 and 10 fail. */
static void
test_goodbye_round_trip_and_bounds(void **state)
{
	struct wbuf	wb;
	struct sc_msg	m;
	uint8_t		r;

	(void)state;
	wbuf_init(&wb);
	for (r = SC_BYE_SHUTDOWN; r <= SC_BYE_MAX; r++) {
		wbuf_reset(&wb);
		wire_enc_goodbye(&wb, r);
		assert_int_equal(decode_wb(&m, &wb), 0);
		assert_int_equal(m.type, SC_MSG_GOODBYE);
		assert_int_equal(m.code, r);
		assert_exact_length(&wb);
	}
	assert_int_equal(DEC("\x88\x00"), -1);
	assert_int_equal(DEC("\x88\x0a"), -1);
	wbuf_free(&wb);
}

/* Unknown types and an empty buffer fail. */
static void
test_unknown_type_rejected(void **state)
{
	const uint8_t	types[] = { 0x00, 0x09, 0x7f, 0x80, 0x8b, 0xff };
	struct sc_msg	m;
	uint8_t		buf[2];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(types); i++) {
		buf[0] = types[i];
		buf[1] = 0;
		assert_int_equal(wire_msg_decode(&m, buf, 1), -1);
		assert_int_equal(wire_msg_decode(&m, buf, 2), -1);
	}
	assert_int_equal(wire_msg_decode(&m, buf, 0), -1);
}

/* The error texts are the ones protocol.md section 5 lists. */
static void
test_error_and_goodbye_texts(void **state)
{
	(void)state;
	assert_string_equal(wire_err_str(SC_ERR_CREDENTIALS),
	    "wrong user or password");
	assert_string_equal(wire_err_str(SC_ERR_TAKEN), "name taken");
	assert_string_equal(wire_err_str(SC_ERR_BAD_NAME), "bad name");
	assert_string_equal(wire_err_str(SC_ERR_BAD_PASS), "bad password");
	assert_string_equal(wire_err_str(SC_ERR_BUSY), "server busy");
	assert_string_equal(wire_err_str(SC_ERR_STATE), "not allowed now");
	assert_string_equal(wire_err_str(SC_ERR_OFFLINE), "user offline");
	assert_string_equal(wire_err_str(SC_ERR_NO_UDP), "user has no udp");
	assert_string_equal(wire_err_str(SC_ERR_INTERNAL), "server error");
	assert_string_equal(wire_err_str(SC_ERR_CLOSED),
	    "sign-up is closed on this server");
	assert_string_equal(wire_err_str(SC_ERR_LOCKED), "account locked");
	assert_string_equal(wire_err_str(SC_ERR_NO_MAILBOX), "user cannot get "
	    "messages while offline (no identity key registered)");
	assert_string_equal(wire_err_str(SC_ERR_QUEUE_FULL),
	    "too many messages queued for user");
	assert_string_equal(wire_err_str(SC_ERR_QUEUE_BYTES),
	    "too many bytes queued for user");
	assert_string_equal(wire_err_str(SC_ERR_QUEUE_RATE),
	    "too many messages queued, try later");
	assert_non_null(wire_err_str(0));
	assert_non_null(wire_err_str(200));
	assert_non_null(wire_bye_str(0));
	assert_non_null(wire_bye_str(255));
	assert_string_equal(wire_bye_str(SC_BYE_LOGOUT), "logged out");
	assert_string_equal(wire_bye_str(SC_BYE_KICKED),
	    "ended by the server's operator");
	assert_string_equal(wire_bye_str(SC_BYE_DELETED), "account deleted");
	assert_string_equal(wire_bye_str(SC_BYE_LOCKED), "account locked");
}

/* Appends one framed message to a stream. */
static void
stream_frame(struct wbuf *stream, struct wbuf *msg)
{
	assert_false(msg->oom);
	wbuf_u32(stream, (uint32_t)msg->len);
	wbuf_put(stream, msg->data, msg->len);
	wbuf_reset(msg);
}

/* Builds a stream of six frames of different types. */
static void
stream_build(struct wbuf *stream)
{
	struct wbuf	msg;

	wbuf_init(&msg);
	wire_enc_welcome(&msg, 4096, 15, 45);
	stream_frame(stream, &msg);
	wire_enc_ok(&msg, SC_MSG_SIGN, "alice");
	stream_frame(stream, &msg);
	wire_enc_users_begin(&msg, 0);
	wire_enc_users_entry(&msg, "bob", 3);
	stream_frame(stream, &msg);
	wire_enc_presence_begin(&msg);
	wire_enc_presence_entry(&msg, 1, "carol", 5);
	stream_frame(stream, &msg);
	wire_enc_ping(&msg, SC_MSG_PONG, 42);
	stream_frame(stream, &msg);
	wire_enc_goodbye(&msg, SC_BYE_LOGOUT);
	stream_frame(stream, &msg);
	wbuf_free(&msg);
}

/*
 * Two readers fed the same bytes: one on a flat buffer with
 * wire_frame_peek(), and the programs' own, an evbuffer with
 * wire_frame_pull().  Each appends what arrived, then takes every whole
 * frame off the front, and records the decoded types.
 */
struct reader {
	uint8_t		 buf[8192];
	size_t		 have;
	uint8_t		 got[16];
	size_t		 ngot;
	struct evbuffer	*in;
	uint8_t		 ev_got[16];
	size_t		 ev_ngot;
};

/* Starts both readers empty. */
static void
reader_init(struct reader *r)
{
	memset(r, 0, sizeof(*r));
	assert_non_null(r->in = evbuffer_new());
}

/* Appends n received bytes and decodes every whole frame, both ways. */
static void
reader_feed(struct reader *r, const uint8_t *p, size_t n)
{
	struct sc_msg	 m;
	const uint8_t	*b;
	size_t		 body;
	int		 rc;

	assert_true(r->have + n <= sizeof(r->buf));
	memcpy(r->buf + r->have, p, n);
	r->have += n;
	while ((rc = wire_frame_peek(r->buf, r->have, 4096, &body)) == 1) {
		assert_int_equal(wire_msg_decode(&m, r->buf + SC_FRAME_HDR,
		    body), 0);
		assert_true(r->ngot < sizeof(r->got));
		r->got[r->ngot++] = m.type;
		memmove(r->buf, r->buf + SC_FRAME_HDR + body,
		    r->have - SC_FRAME_HDR - body);
		r->have -= SC_FRAME_HDR + body;
	}
	assert_int_equal(rc, 0);

	assert_int_equal(evbuffer_add(r->in, p, n), 0);
	while ((rc = wire_frame_pull(r->in, 1, 4096, &b, &body)) ==
	    WIRE_FRAME_READY) {
		assert_int_equal(wire_msg_decode(&m, b, body), 0);
		assert_true(r->ev_ngot < sizeof(r->ev_got));
		r->ev_got[r->ev_ngot++] = m.type;
		wire_frame_drop(r->in, body);
	}
	assert_int_equal(rc, WIRE_FRAME_PARTIAL);
}

/* All six frames came out of both, in order, and nothing is left over. */
static void
reader_check(struct reader *r)
{
	const uint8_t	want[] = { SC_MSG_WELCOME, SC_MSG_OK, SC_MSG_USERS,
			    SC_MSG_PRESENCE, SC_MSG_PONG, SC_MSG_GOODBYE };

	assert_int_equal(r->ngot, sizeof(want));
	assert_memory_equal(r->got, want, sizeof(want));
	assert_int_equal(r->have, 0);
	assert_int_equal(r->ev_ngot, sizeof(want));
	assert_memory_equal(r->ev_got, want, sizeof(want));
	assert_int_equal(evbuffer_get_length(r->in), 0);
	evbuffer_free(r->in);
	r->in = NULL;
}

/* Several frames fed one byte per read decode in order. */
static void
test_stream_byte_by_byte(void **state)
{
	struct wbuf	stream;
	struct reader	r;
	size_t		i;

	(void)state;
	reader_init(&r);
	wbuf_init(&stream);
	stream_build(&stream);
	for (i = 0; i < stream.len; i++)
		reader_feed(&r, stream.data + i, 1);
	reader_check(&r);
	wbuf_free(&stream);
}

/* The same frames merged into one read, and in uneven chunks. */
static void
test_stream_merged_and_chunked(void **state)
{
	struct wbuf	stream;
	struct reader	r;
	size_t		i, n, step;

	(void)state;
	wbuf_init(&stream);
	stream_build(&stream);
	reader_init(&r);
	reader_feed(&r, stream.data, stream.len);
	reader_check(&r);
	for (step = 2; step < 20; step += 3) {
		reader_init(&r);
		for (i = 0; i < stream.len; i += n) {
			n = stream.len - i < step ? stream.len - i : step;
			reader_feed(&r, stream.data + i, n);
		}
		reader_check(&r);
	}
	wbuf_free(&stream);
}

/* Runs every test of this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_zero_length_rejected),
		cmocka_unit_test(test_frame_oversize_rejected_before_body),
		cmocka_unit_test(test_frame_partial_header_and_body),
		cmocka_unit_test(test_frame_pull_bounds_partial_and_whole),
		cmocka_unit_test(test_wbuf_writes_and_limits),
		cmocka_unit_test(test_wbuf_grows_to_limit_then_oom),
		cmocka_unit_test(test_rbuf_short_reads),
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test(test_name_canon_folds_case),
		cmocka_unit_test(test_cred_round_trip),
		cmocka_unit_test(test_cred_malformed_rejected),
		cmocka_unit_test(test_cred_rule_reasons_only_when_well_formed),
		cmocka_unit_test(test_empty_messages_round_trip),
		cmocka_unit_test(test_udp_round_trip_and_port_zero),
		cmocka_unit_test(test_recheck_round_trip),
		cmocka_unit_test(test_identity_round_trip),
		cmocka_unit_test(test_rcpt_round_trip),
		cmocka_unit_test(test_store_round_trip_and_bounds),
		cmocka_unit_test(test_storeack_round_trip),
		cmocka_unit_test(test_storekeep_round_trip),
		cmocka_unit_test(test_rcptkey_round_trip),
		cmocka_unit_test(test_queued_round_trip),
		cmocka_unit_test(test_stored_round_trip_and_bounds),
		cmocka_unit_test(test_storenote_round_trip_and_events),
		cmocka_unit_test(test_pair_round_trip),
		cmocka_unit_test(test_ping_pong_round_trip),
		cmocka_unit_test(test_welcome_round_trip_and_bounds),
		cmocka_unit_test(test_ok_round_trip),
		cmocka_unit_test(test_error_round_trip_and_bounds),
		cmocka_unit_test(test_users_round_trip),
		cmocka_unit_test(test_users_malformed_rejected),
		cmocka_unit_test(test_presence_round_trip),
		cmocka_unit_test(test_presence_malformed_rejected),
		cmocka_unit_test(test_pairkey_round_trip),
		cmocka_unit_test(test_pairkey_malformed_rejected),
		cmocka_unit_test(test_candidates_round_trip),
		cmocka_unit_test(test_udpreg_round_trip),
		cmocka_unit_test(test_endpoint_bytes_and_socket_addresses),
		cmocka_unit_test(test_goodbye_round_trip_and_bounds),
		cmocka_unit_test(test_unknown_type_rejected),
		cmocka_unit_test(test_error_and_goodbye_texts),
		cmocka_unit_test(test_stream_byte_by_byte),
		cmocka_unit_test(test_stream_merged_and_chunked),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
