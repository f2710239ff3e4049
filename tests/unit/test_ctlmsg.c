/* SPDX-License-Identifier: ISC */
/*
 * The control protocol's messages (src/server/ctlmsg.c): the exact bytes
 * of a request and of each reply, every field's bounds on both sides,
 * what each command takes and refuses, messages cut short or longer, and
 * the command words sealchatctl reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "ctlmsg.h"

static const uint8_t pass_max[SC_PASS_MAX] = { 'p' };

/* The body of the one frame in wb (its header checked). */
static const uint8_t *
frame_body(const struct wbuf *wb, size_t *len)
{
	assert_true(wb->len >= SC_FRAME_HDR);
	*len = (size_t)wb->data[0] << 24 | (size_t)wb->data[1] << 16 |
	    (size_t)wb->data[2] << 8 | wb->data[3];
	assert_int_equal(*len, wb->len - SC_FRAME_HDR);
	return (wb->data + SC_FRAME_HDR);
}

/* A request encodes to these bytes and decodes back. */
static void
test_request_bytes_are_exact_and_decode_back(void **state)
{
	static const uint8_t	want[] = {
		0, 0, 0, 10,
		CTLMSG_VERSION, CTLMSG_USER_ADD,
		3, 'b', 'o', 'b',
		0, 2, 'p', 'w',
	};
	struct ctlmsg_req	r, got;
	struct wbuf		wb;
	const uint8_t		*body;
	size_t			len;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.command = CTLMSG_USER_ADD;
	memcpy(r.name, "bob", 3);
	r.name_len = 3;
	r.data = (const uint8_t *)"pw";
	r.data_len = 2;
	wbuf_init(&wb);
	assert_int_equal(ctlmsg_req_put(&wb, &r), 0);
	assert_int_equal(wb.len, sizeof(want));
	assert_memory_equal(wb.data, want, sizeof(want));
	body = frame_body(&wb, &len);
	assert_int_equal(ctlmsg_req_get(&got, body, len), CTLMSG_OK);
	assert_int_equal(got.command, CTLMSG_USER_ADD);
	assert_string_equal(got.name, "bob");
	assert_int_equal(got.data_len, 2);
	assert_memory_equal(got.data, "pw", 2);
	assert_ptr_equal(got.data, body + len - 2);
	wbuf_free(&wb);
}

/*
 * Each command takes a name and a password exactly as its row says: the
 * encoder refuses anything else and writes nothing, the decoder calls it
 * malformed; a well-formed request with a bad name or password says so.
 */
static void
test_each_command_takes_what_its_row_says(void **state)
{
	const struct ctlmsg_command_def	*c;
	struct ctlmsg_req		 r, got;
	struct wbuf			 wb;
	uint8_t				 raw[64];
	size_t				 n;

	(void)state;
	wbuf_init(&wb);
	for (c = ctlmsg_commands; c->words != NULL; c++) {
		assert_ptr_equal(ctlmsg_command(c->command), c);
		memset(&r, 0, sizeof(r));
		r.command = c->command;
		if (c->takes_name) {
			memcpy(r.name, "amy", 3);
			r.name_len = 3;
		}
		if (c->takes_pass) {
			r.data = (const uint8_t *)"x";
			r.data_len = 1;
		}
		wbuf_reset(&wb);
		assert_int_equal(ctlmsg_req_put(&wb, &r), 0);
		assert_int_equal(ctlmsg_req_get(&got, wb.data + SC_FRAME_HDR,
		    wb.len - SC_FRAME_HDR), CTLMSG_OK);

		/* Without the name it takes, or with one it does not. */
		r.name_len = c->takes_name ? 0 : 3;
		memcpy(r.name, "amy", 3);
		wbuf_reset(&wb);
		assert_int_equal(ctlmsg_req_put(&wb, &r), -1);
		assert_int_equal(wb.len, 0);
		n = 0;
		raw[n++] = CTLMSG_VERSION;
		raw[n++] = c->command;
		raw[n++] = (uint8_t)r.name_len;
		memcpy(raw + n, "amy", r.name_len);
		n += r.name_len;
		raw[n++] = 0;
		raw[n++] = c->takes_pass ? 1 : 0;
		if (c->takes_pass)
			raw[n++] = 'x';
		assert_int_equal(ctlmsg_req_get(&got, raw, n),
		    CTLMSG_MALFORMED);

		/* A password where it takes none, or none where it does. */
		r.name_len = c->takes_name ? 3 : 0;
		r.data = (const uint8_t *)"x";
		r.data_len = c->takes_pass ? 0 : 1;
		wbuf_reset(&wb);
		assert_int_equal(ctlmsg_req_put(&wb, &r), -1);
	}

	/* Well formed, but the name breaks the rules: bad name. */
	n = 0;
	raw[n++] = CTLMSG_VERSION;
	raw[n++] = CTLMSG_KICK;
	raw[n++] = 3;
	memcpy(raw + n, "Amy", 3);
	n += 3;
	raw[n++] = 0;
	raw[n++] = 0;
	assert_int_equal(ctlmsg_req_get(&got, raw, n), CTLMSG_BAD_NAME);
	raw[3] = '-';
	assert_int_equal(ctlmsg_req_get(&got, raw, n), CTLMSG_BAD_NAME);
	wbuf_free(&wb);
}

/* Versions, commands and lengths at and past their bounds. */
static void
test_request_bounds_on_both_sides(void **state)
{
	struct ctlmsg_req	r, got;
	struct wbuf		wb;
	uint8_t			big[CTLMSG_REQ_MAX + 300];
	const uint8_t		*body;
	size_t			len, i;

	(void)state;
	wbuf_init(&wb);
	memset(&r, 0, sizeof(r));
	r.command = CTLMSG_USER_PASSWD;
	memcpy(r.name, "a2345678901234567890123456789012", SC_NAME_MAX);
	r.name_len = SC_NAME_MAX;
	r.data = pass_max;
	r.data_len = SC_PASS_MAX;
	assert_int_equal(ctlmsg_req_put(&wb, &r), 0);
	body = frame_body(&wb, &len);
	assert_int_equal(len, CTLMSG_REQ_MAX);
	assert_int_equal(ctlmsg_req_get(&got, body, len), CTLMSG_OK);
	for (i = 0; i < len; i++)
		assert_int_not_equal(ctlmsg_req_get(&got, body, i),
		    CTLMSG_OK);
	memcpy(big, body, len);
	big[len] = 0;
	assert_int_equal(ctlmsg_req_get(&got, big, len + 1),
	    CTLMSG_MALFORMED);

	/* A password past SC_PASS_MAX, every byte of it there. */
	memset(big, 'q', sizeof(big));
	big[0] = CTLMSG_VERSION;
	big[1] = CTLMSG_USER_ADD;
	big[2] = 1;
	big[3] = 'a';
	big[4] = (SC_PASS_MAX + 1) >> 8;
	big[5] = (SC_PASS_MAX + 1) & 0xff;
	assert_int_equal(ctlmsg_req_get(&got, big, 6 + SC_PASS_MAX + 1),
	    CTLMSG_BAD_PASS);

	r.data_len = SC_PASS_MAX + 1;
	wbuf_reset(&wb);
	assert_int_equal(ctlmsg_req_put(&wb, &r), -1);
	r.data_len = SC_PASS_MAX;
	r.command = 0;
	assert_int_equal(ctlmsg_req_put(&wb, &r), -1);
	r.command = CTLMSG_COMMAND_LAST + 1;
	assert_int_equal(ctlmsg_req_put(&wb, &r), -1);
	assert_int_equal(wb.len, 0);

	/* Another version, an unknown command. */
	assert_int_equal(ctlmsg_req_get(&got, (const uint8_t *)
	    "\x02\x01\x00\x00\x00", 5), CTLMSG_MALFORMED);
	assert_int_equal(ctlmsg_req_get(&got, (const uint8_t *)
	    "\x01\x01\x00\x00\x00", 5), CTLMSG_OK);
	assert_int_equal(ctlmsg_req_get(&got, (const uint8_t *)
	    "\x01\x0c\x00\x00\x00", 5), CTLMSG_MALFORMED);
	assert_int_equal(ctlmsg_req_get(&got, (const uint8_t *)
	    "\x01\x00\x00\x00\x00", 5), CTLMSG_MALFORMED);
	wbuf_free(&wb);
}

/*
 * Replies: a ROW of tab-separated text, DATA, END with status, count and
 * text; control characters refused (a TAB only in a ROW), lengths at and
 * past their bounds.
 */
static void
test_replies_round_trip_and_bounds(void **state)
{
	static uint8_t		data[CTLMSG_DATA_MAX + 1];
	char			row[CTLMSG_ROW_MAX + 1], text[300];
	struct ctlmsg_reply	r;
	struct wbuf		wb;
	const uint8_t		*body;
	size_t			len;

	(void)state;
	wbuf_init(&wb);
	assert_int_equal(ctlmsg_row_put(&wb, "amy\t127.0.0.1\t1\t2", 17), 0);
	body = frame_body(&wb, &len);
	assert_int_equal(ctlmsg_reply_get(&r, body, len), 0);
	assert_int_equal(r.kind, CTLMSG_ROW);
	assert_int_equal(r.len, 17);
	assert_memory_equal(r.data, "amy\t127.0.0.1\t1\t2", 17);

	wbuf_reset(&wb);
	assert_int_equal(ctlmsg_end_put(&wb, CTLMSG_NO_USER, 300, "gone"), 0);
	assert_int_equal(wb.len, SC_FRAME_HDR + CTLMSG_END_MIN + 4);
	body = frame_body(&wb, &len);
	assert_int_equal(ctlmsg_reply_get(&r, body, len), 0);
	assert_int_equal(r.kind, CTLMSG_END);
	assert_int_equal(r.status, CTLMSG_NO_USER);
	assert_true(r.count == 300);
	assert_memory_equal(r.data, "gone", 4);

	wbuf_reset(&wb);
	assert_int_equal(ctlmsg_data_put(&wb, data, sizeof(data) - 1), 0);
	body = frame_body(&wb, &len);
	assert_int_equal(len, CTLMSG_REPLY_MAX);
	assert_int_equal(ctlmsg_reply_get(&r, body, len), 0);
	assert_int_equal(r.kind, CTLMSG_DATA);
	assert_int_equal(r.len, CTLMSG_DATA_MAX);

	/* What the encoders refuse, writing nothing. */
	wbuf_reset(&wb);
	memset(row, 'r', sizeof(row));
	assert_int_equal(ctlmsg_row_put(&wb, row, CTLMSG_ROW_MAX), 0);
	wbuf_reset(&wb);
	assert_int_equal(ctlmsg_row_put(&wb, row, CTLMSG_ROW_MAX + 1), -1);
	assert_int_equal(ctlmsg_row_put(&wb, row, 0), -1);
	assert_int_equal(ctlmsg_row_put(&wb, "a\nb", 3), -1);
	assert_int_equal(ctlmsg_row_put(&wb, "a\x7f", 2), -1);
	assert_int_equal(ctlmsg_data_put(&wb, data, 0), -1);
	assert_int_equal(ctlmsg_data_put(&wb, data, sizeof(data)), -1);
	assert_int_equal(ctlmsg_end_put(&wb, CTLMSG_STATUS_LAST + 1, 0, ""),
	    -1);
	assert_int_equal(ctlmsg_end_put(&wb, CTLMSG_OK, 0, "a\tb"), -1);
	memset(text, 't', sizeof(text));
	text[CTLMSG_TEXT_MAX + 1] = '\0';
	assert_int_equal(ctlmsg_end_put(&wb, CTLMSG_OK, 0, text), -1);
	assert_int_equal(wb.len, 0);
	text[CTLMSG_TEXT_MAX] = '\0';
	assert_int_equal(ctlmsg_end_put(&wb, CTLMSG_OK, 0, text), 0);

	/* What the decoder refuses. */
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)"", 0), -1);
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)"\x01", 1),
	    -1);
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)"\x01\x01",
	    2), -1);
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)"\x02", 1),
	    -1);
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)"\x04x", 2),
	    -1);
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)
	    "\x03\x00\x00\x00\x00\x00\x00\x00\x00", 9), -1);
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)
	    "\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00", 10), 0);
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)
	    "\x03\x0b\x00\x00\x00\x00\x00\x00\x00\x00", 10), -1);
	assert_int_equal(ctlmsg_reply_get(&r, (const uint8_t *)
	    "\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\n", 11), -1);
	wbuf_free(&wb);
}

/* sealchatctl's words: one or two of them, nothing else matches. */
static void
test_command_words_parse(void **state)
{
	char		 user[] = "user", add[] = "add", amy[] = "amy";
	char		 status[] = "status", users[] = "users";
	char		 list[] = "list", addd[] = "addd";
	char *const	 a[] = { user, add, amy };
	char *const	 b[] = { status };
	char *const	 c[] = { user };
	char *const	 d[] = { users, list };
	char *const	 e[] = { user, addd };
	int		 n = -1;

	(void)state;
	assert_int_equal(ctlmsg_command_parse(3, a, &n)->command,
	    CTLMSG_USER_ADD);
	assert_int_equal(n, 2);
	assert_int_equal(ctlmsg_command_parse(1, b, &n)->command,
	    CTLMSG_STATUS);
	assert_int_equal(n, 1);
	assert_null(ctlmsg_command_parse(1, c, &n));
	assert_null(ctlmsg_command_parse(2, d, &n));
	assert_null(ctlmsg_command_parse(2, e, &n));
	assert_null(ctlmsg_command_parse(0, a, &n));
	assert_null(ctlmsg_command(0));
	assert_null(ctlmsg_command(CTLMSG_COMMAND_LAST + 1));
	assert_string_equal(ctlmsg_status_str(CTLMSG_NO_USER),
	    "no such user");
	assert_string_equal(ctlmsg_status_str(200), "unknown status");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_bytes_are_exact_and_decode_back),
		cmocka_unit_test(test_each_command_takes_what_its_row_says),
		cmocka_unit_test(test_request_bounds_on_both_sides),
		cmocka_unit_test(test_replies_round_trip_and_bounds),
		cmocka_unit_test(test_command_words_parse),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
