/* SPDX-License-Identifier: ISC */
/*
 * Messages between the hash pool and its helper: the exact bytes of each
 * message, every field's bounds on both the encoder and the decoder (the
 * last value allowed and the first refused), messages cut short or with a
 * byte too many, and one message per packet over a socketpair.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "hashmsg.h"

/* Fields of a job message as raw numbers, to build any message at all. */
struct raw_job {
	uint64_t	 id;
	uint32_t	 slot;
	uint8_t		 op, cost, level, name_len;
	const char	*name;
	uint16_t	 pass_len;
	const uint8_t	*pass;
};

/* Fields of a result message as raw numbers. */
struct raw_result {
	uint64_t	 id;
	uint8_t		 op;
	uint32_t	 status;
	uint32_t	 usec;
	uint8_t		 text_len;
	const char	*text;
};

static const uint8_t pass_max[SC_PASS_MAX] = { 'p' };
static const char name_max[] = "a2345678901234567890123456789012";

/* A valid job with a short name and password. */
static struct raw_job
raw_job_ok(void)
{
	struct raw_job	r = { 7, 5, SC_MSG_AUTH, SC_COST_MIN, LOG_LVL_INFO,
			    3, "bob", 2, (const uint8_t *)"pw" };

	return (r);
}

/* Writes a job message field by field, checking nothing. */
static void
raw_job_put(struct wbuf *wb, const struct raw_job *r)
{
	wbuf_reset(wb);
	wbuf_u64(wb, r->id);
	wbuf_u32(wb, r->slot);
	wbuf_u8(wb, r->op);
	wbuf_u8(wb, r->cost);
	wbuf_u8(wb, r->level);
	wbuf_u8(wb, r->name_len);
	wbuf_put(wb, r->name, r->name_len);
	wbuf_u16(wb, r->pass_len);
	wbuf_put(wb, r->pass, r->pass_len);
	assert_false(wb->oom);
}

/* Decodes the raw job; 0 or -1 as hashmsg_job_get. */
static int
raw_job_get(const struct raw_job *r)
{
	struct hashmsg_job	j;
	struct wbuf		wb;
	int			rc;

	wbuf_init(&wb);
	raw_job_put(&wb, r);
	rc = hashmsg_job_get(&j, wb.data, wb.len);
	wbuf_free(&wb);
	return (rc);
}

/* A valid result for a short name. */
static struct raw_result
raw_result_ok(void)
{
	struct raw_result	r = { 9, SC_MSG_SIGN, 0, 1234, 5, "carol" };

	return (r);
}

/* Writes a result message field by field, checking nothing. */
static void
raw_result_put(struct wbuf *wb, const struct raw_result *r)
{
	wbuf_reset(wb);
	wbuf_u64(wb, r->id);
	wbuf_u8(wb, r->op);
	wbuf_u32(wb, r->status);
	wbuf_u32(wb, r->usec);
	wbuf_u8(wb, r->text_len);
	wbuf_put(wb, r->text, r->text_len);
	assert_false(wb->oom);
}

/* Decodes the raw result; 0 or -1 as hashmsg_result_get. */
static int
raw_result_get(const struct raw_result *r)
{
	struct hashmsg_result	res;
	struct wbuf		wb;
	int			rc;

	wbuf_init(&wb);
	raw_result_put(&wb, r);
	rc = hashmsg_result_get(&res, wb.data, wb.len);
	wbuf_free(&wb);
	return (rc);
}

/* A job encodes to these bytes, integers big-endian, and back. */
static void
test_hashmsg_job_bytes_are_exact_and_decode_back(void **state)
{
	static const uint8_t	want[] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x01, 0x02, 0x03,
		SC_MSG_SIGN, SC_COST_INTERACTIVE, LOG_LVL_DEBUG,
		2, 'a', 'l',
		0x00, 0x03, 'p', 'w', 'd',
	};
	struct hashmsg_job	j, got;
	struct wbuf		wb;

	(void)state;
	memset(&j, 0, sizeof j);
	j.session_id = 0x0102030405060708ULL;
	j.slot = 0x00010203;
	j.op = SC_MSG_SIGN;
	j.cost = SC_COST_INTERACTIVE;
	j.log_level = LOG_LVL_DEBUG;
	memcpy(j.name, "al", 2);
	j.name_len = 2;
	j.pass = (const uint8_t *)"pwd";
	j.pass_len = 3;
	wbuf_init(&wb);
	assert_int_equal(hashmsg_job_put(&wb, &j), 0);
	assert_int_equal(wb.len, HASHMSG_JOB_HDR + 2 + 2 + 3);
	assert_int_equal(wb.len, sizeof want);
	assert_memory_equal(wb.data, want, sizeof want);

	assert_int_equal(hashmsg_job_get(&got, wb.data, wb.len), 0);
	assert_true(got.session_id == j.session_id);
	assert_int_equal(got.slot, 0x00010203);
	assert_int_equal(got.op, SC_MSG_SIGN);
	assert_int_equal(got.cost, SC_COST_INTERACTIVE);
	assert_int_equal(got.log_level, LOG_LVL_DEBUG);
	assert_string_equal(got.name, "al");
	assert_int_equal(got.name_len, 2);
	assert_int_equal(got.pass_len, 3);
	/* The password is not copied: it points into the message. */
	assert_ptr_equal(got.pass, wb.data + wb.len - 3);
	wbuf_free(&wb);
}

/* The longest job is HASHMSG_JOB_MAX bytes, the shortest its header + 4. */
static void
test_hashmsg_job_longest_and_shortest_round_trip(void **state)
{
	struct hashmsg_job	j, got;
	struct wbuf		wb;

	(void)state;
	memset(&j, 0, sizeof j);
	j.session_id = UINT64_MAX;
	j.op = SC_MSG_AUTH;
	j.cost = (enum sc_cost)(HASHMSG_COSTS - 1);
	j.log_level = LOG_LVL_ERROR;
	memcpy(j.name, name_max, SC_NAME_MAX);
	j.name_len = SC_NAME_MAX;
	j.pass = pass_max;
	j.pass_len = SC_PASS_MAX;
	wbuf_init(&wb);
	assert_int_equal(hashmsg_job_put(&wb, &j), 0);
	assert_int_equal(wb.len, HASHMSG_JOB_MAX);
	assert_int_equal(hashmsg_job_get(&got, wb.data, wb.len), 0);
	assert_true(got.session_id == UINT64_MAX);
	assert_int_equal(got.cost, HASHMSG_COSTS - 1);
	assert_int_equal(got.name_len, SC_NAME_MAX);
	assert_memory_equal(got.name, name_max, SC_NAME_MAX);
	assert_int_equal(got.name[SC_NAME_MAX], '\0');
	assert_int_equal(got.pass_len, SC_PASS_MAX);
	assert_memory_equal(got.pass, pass_max, SC_PASS_MAX);

	j.session_id = 0;
	j.name_len = 1;
	j.pass_len = SC_PASS_MIN;
	wbuf_reset(&wb);
	assert_int_equal(hashmsg_job_put(&wb, &j), 0);
	assert_int_equal(wb.len, HASHMSG_JOB_HDR + 1 + 2 + SC_PASS_MIN);
	assert_int_equal(hashmsg_job_get(&got, wb.data, wb.len), 0);
	assert_string_equal(got.name, "a");
	wbuf_free(&wb);
}

/* The encoder refuses every field out of its range and writes nothing. */
static void
test_hashmsg_job_put_refuses_each_field_out_of_range(void **state)
{
	struct hashmsg_job	ok, j;
	struct wbuf		wb;

	(void)state;
	memset(&ok, 0, sizeof ok);
	ok.session_id = 1;
	ok.op = SC_MSG_AUTH;
	ok.cost = SC_COST_MIN;
	ok.log_level = LOG_LVL_INFO;
	memcpy(ok.name, "dave", 4);
	ok.name_len = 4;
	ok.pass = pass_max;
	ok.pass_len = 8;
	wbuf_init(&wb);

#define REFUSED(field, value) do {					\
	j = ok;								\
	j.field = value;						\
	assert_int_equal(hashmsg_job_put(&wb, &j), -1);			\
	assert_int_equal(wb.len, 0);					\
} while (0)
	REFUSED(op, HASHMSG_OP_START);
	REFUSED(op, SC_MSG_LIST);
	REFUSED(cost, (enum sc_cost)HASHMSG_COSTS);
	REFUSED(cost, (enum sc_cost)-1);
	REFUSED(log_level, (enum log_level)(LOG_LVL_DEBUG + 1));
	REFUSED(log_level, (enum log_level)-1);
	REFUSED(name_len, 0);
	REFUSED(name_len, SC_NAME_MAX + 1);
	REFUSED(name[1], '\0');
	REFUSED(pass, NULL);
	REFUSED(pass_len, SC_PASS_MIN - 1);
	REFUSED(pass_len, SC_PASS_MAX + 1);
	REFUSED(op, HASHMSG_OP_UNLOCK + 1);
	/* An op that does not hash carries no password. */
	ok.op = HASHMSG_OP_DEL;
	REFUSED(pass_len, 8);
	/* IDENTITY carries a key of exactly 32 bytes. */
	ok.op = SC_MSG_IDENTITY;
	REFUSED(pass_len, 8);
	REFUSED(pass_len, SC_KEY_BYTES + 1);
	REFUSED(pass_len, 0);
#undef REFUSED
	ok.pass_len = SC_KEY_BYTES;
	assert_int_equal(hashmsg_job_put(&wb, &ok), 0);
	assert_int_equal(wb.len, HASHMSG_JOB_HDR + 4 + 2 + SC_KEY_BYTES);
	wbuf_reset(&wb);
	ok.pass_len = 8;

	ok.op = SC_MSG_AUTH;
	assert_int_equal(hashmsg_job_put(&wb, &ok), 0);
	assert_int_equal(wb.len, HASHMSG_JOB_HDR + 4 + 2 + 8);
	wbuf_free(&wb);
}

/* The decoder takes each field's last value allowed, not the next. */
static void
test_hashmsg_job_get_checks_each_field_bound(void **state)
{
	struct raw_job	r;

	(void)state;
	r = raw_job_ok();
	assert_int_equal(raw_job_get(&r), 0);

	r = raw_job_ok();
	r.op = SC_MSG_SIGN;
	assert_int_equal(raw_job_get(&r), 0);
	r.op = HASHMSG_OP_START;
	assert_int_equal(raw_job_get(&r), -1);
	r.op = SC_MSG_AUTH + 1;
	assert_int_equal(raw_job_get(&r), -1);
	r.op = 0xff;
	assert_int_equal(raw_job_get(&r), -1);
	r.op = HASHMSG_OP_ADD;
	assert_int_equal(raw_job_get(&r), 0);
	r.op = HASHMSG_OP_PASSWD;
	assert_int_equal(raw_job_get(&r), 0);
	r.op = HASHMSG_OP_ADD - 1;
	assert_int_equal(raw_job_get(&r), -1);
	r.op = HASHMSG_OP_UNLOCK + 1;
	assert_int_equal(raw_job_get(&r), -1);

	/* DEL, LOCK, UNLOCK: no password, and none is the only way. */
	r = raw_job_ok();
	r.op = HASHMSG_OP_DEL;
	assert_int_equal(raw_job_get(&r), -1);
	r.pass_len = 0;
	assert_int_equal(raw_job_get(&r), 0);
	r.op = HASHMSG_OP_LOCK;
	assert_int_equal(raw_job_get(&r), 0);
	r.op = HASHMSG_OP_UNLOCK;
	assert_int_equal(raw_job_get(&r), 0);
	r.op = HASHMSG_OP_PASSWD;
	assert_int_equal(raw_job_get(&r), -1);
	/* IDENTITY: the 32 bytes of a key, no fewer, no more. */
	r.op = SC_MSG_IDENTITY;
	r.pass = pass_max;	/* bytes enough for every length tried */
	assert_int_equal(raw_job_get(&r), -1);
	r.pass_len = SC_KEY_BYTES;
	assert_int_equal(raw_job_get(&r), 0);
	r.pass_len = SC_KEY_BYTES - 1;
	assert_int_equal(raw_job_get(&r), -1);
	r.pass_len = SC_KEY_BYTES + 1;
	assert_int_equal(raw_job_get(&r), -1);

	r = raw_job_ok();
	r.cost = HASHMSG_COSTS - 1;
	assert_int_equal(raw_job_get(&r), 0);
	r.cost = HASHMSG_COSTS;
	assert_int_equal(raw_job_get(&r), -1);

	r = raw_job_ok();
	r.level = LOG_LVL_ERROR;
	assert_int_equal(raw_job_get(&r), 0);
	r.level = LOG_LVL_DEBUG;
	assert_int_equal(raw_job_get(&r), 0);
	r.level = LOG_LVL_DEBUG + 1;
	assert_int_equal(raw_job_get(&r), -1);

	r = raw_job_ok();
	r.name = name_max;
	r.name_len = SC_NAME_MAX;
	assert_int_equal(raw_job_get(&r), 0);
	r.name_len = 1;
	assert_int_equal(raw_job_get(&r), 0);
	r.name_len = 0;
	assert_int_equal(raw_job_get(&r), -1);
	r.name = "a23456789012345678901234567890123";
	r.name_len = SC_NAME_MAX + 1;
	assert_int_equal(raw_job_get(&r), -1);
	r.name = "bo\0";
	r.name_len = 3;
	assert_int_equal(raw_job_get(&r), -1);

	r = raw_job_ok();
	r.pass = pass_max;
	r.pass_len = SC_PASS_MAX;
	assert_int_equal(raw_job_get(&r), 0);
	r.pass_len = SC_PASS_MIN;
	assert_int_equal(raw_job_get(&r), 0);
	r.pass_len = 0;
	assert_int_equal(raw_job_get(&r), -1);
}

/*
 * A password longer than SC_PASS_MAX is refused even when every byte it
 * announces is there.
 */
static void
test_hashmsg_job_get_refuses_password_past_max(void **state)
{
	uint8_t		big[SC_PASS_MAX + 1];
	struct raw_job	r;

	(void)state;
	memset(big, 'q', sizeof big);
	r = raw_job_ok();
	r.pass = big;
	r.pass_len = SC_PASS_MAX + 1;
	assert_int_equal(raw_job_get(&r), -1);
}

/* Every prefix of a job, and the job with one byte more, is refused. */
static void
test_hashmsg_job_cut_short_or_longer_refused(void **state)
{
	struct hashmsg_job	j;
	struct raw_job		r;
	struct wbuf		wb;
	char			name[40];
	size_t			len;

	(void)state;
	wbuf_init(&wb);
	r = raw_job_ok();
	raw_job_put(&wb, &r);
	assert_int_equal(hashmsg_job_get(&j, wb.data, wb.len), 0);
	for (len = 0; len < wb.len; len++)
		assert_int_equal(hashmsg_job_get(&j, wb.data, len), -1);
	wbuf_u8(&wb, 0);
	assert_int_equal(hashmsg_job_get(&j, wb.data, wb.len), -1);

	/* A name length that runs past the end. */
	memset(name, 'b', sizeof name);
	r.name = name;
	r.name_len = sizeof name;
	raw_job_put(&wb, &r);
	assert_int_equal(hashmsg_job_get(&j, wb.data, HASHMSG_JOB_HDR + 3),
	    -1);
	wbuf_free(&wb);
}

/* A result encodes to these bytes and back; a job's result names it. */
static void
test_hashmsg_result_bytes_are_exact_and_decode_back(void **state)
{
	static const uint8_t	want[] = {
		0, 0, 0, 0, 0, 0, 0x01, 0x00,
		SC_MSG_AUTH,
		0, 0, 0, SC_ERR_CREDENTIALS,
		0x00, 0x01, 0x86, 0xa0,
		3, 'b', 'o', 'b',
	};
	struct hashmsg_job	j;
	struct hashmsg_result	r, got;
	struct wbuf		wb;

	(void)state;
	memset(&j, 0, sizeof j);
	j.session_id = 256;
	j.op = SC_MSG_AUTH;
	memcpy(j.name, "bob", 3);
	j.name_len = 3;
	hashmsg_result_for(&r, &j, SC_ERR_CREDENTIALS, 100000);
	assert_true(r.session_id == 256);
	assert_int_equal(r.op, SC_MSG_AUTH);
	assert_int_equal(r.status, SC_ERR_CREDENTIALS);
	assert_int_equal(r.usec, 100000);
	assert_string_equal(r.text, "bob");
	assert_int_equal(r.text_len, 3);

	wbuf_init(&wb);
	assert_int_equal(hashmsg_result_put(&wb, &r), 0);
	assert_int_equal(wb.len, HASHMSG_RESULT_HDR + 3);
	assert_int_equal(wb.len, sizeof want);
	assert_memory_equal(wb.data, want, sizeof want);
	assert_int_equal(hashmsg_result_get(&got, wb.data, wb.len), 0);
	assert_true(got.session_id == 256);
	assert_int_equal(got.op, SC_MSG_AUTH);
	assert_int_equal(got.status, SC_ERR_CREDENTIALS);
	assert_int_equal(got.usec, 100000);
	assert_string_equal(got.text, "bob");
	assert_int_equal(got.text_len, 3);
	wbuf_free(&wb);
}

/*
 * A start report has session id 0 and any text of 0 to HASHMSG_TEXT_MAX
 * bytes; a longer text is cut to fit.
 */
static void
test_hashmsg_start_report_text_cut_to_fit(void **state)
{
	struct hashmsg_result	r, got;
	struct wbuf		wb;
	char			text[HASHMSG_TEXT_MAX + 46];

	(void)state;
	wbuf_init(&wb);
	hashmsg_result_start(&r, 0, "");
	assert_int_equal(hashmsg_result_put(&wb, &r), 0);
	assert_int_equal(wb.len, HASHMSG_RESULT_HDR);
	assert_int_equal(hashmsg_result_get(&got, wb.data, wb.len), 0);
	assert_int_equal(got.op, HASHMSG_OP_START);
	assert_true(got.session_id == 0);
	assert_int_equal(got.status, 0);
	assert_int_equal(got.text_len, 0);
	assert_string_equal(got.text, "");

	memset(text, 'e', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	hashmsg_result_start(&r, SC_ERR_INTERNAL, text);
	assert_int_equal(r.text_len, HASHMSG_TEXT_MAX);
	wbuf_reset(&wb);
	assert_int_equal(hashmsg_result_put(&wb, &r), 0);
	assert_int_equal(wb.len, HASHMSG_RESULT_MAX);
	assert_int_equal(hashmsg_result_get(&got, wb.data, wb.len), 0);
	assert_int_equal(got.status, SC_ERR_INTERNAL);
	assert_int_equal(got.text_len, HASHMSG_TEXT_MAX);
	assert_memory_equal(got.text, text, HASHMSG_TEXT_MAX);
	assert_int_equal(got.text[HASHMSG_TEXT_MAX], '\0');
	wbuf_free(&wb);
}

/* The result encoder refuses every field out of its range. */
static void
test_hashmsg_result_put_refuses_each_field_out_of_range(void **state)
{
	struct hashmsg_result	ok, start, r;
	struct wbuf		wb;

	(void)state;
	memset(&ok, 0, sizeof ok);
	ok.session_id = 3;
	ok.op = SC_MSG_SIGN;
	memcpy(ok.text, "erin", 4);
	ok.text_len = 4;
	hashmsg_result_start(&start, 0, "");
	wbuf_init(&wb);

#define REFUSED(from, field, value) do {				\
	r = from;							\
	r.field = value;						\
	assert_int_equal(hashmsg_result_put(&wb, &r), -1);		\
	assert_int_equal(wb.len, 0);					\
} while (0)
	REFUSED(ok, op, SC_MSG_AUTH + 1);
	REFUSED(ok, op, HASHMSG_OP_UNLOCK + 1);
	REFUSED(ok, status, -1);
	REFUSED(ok, status, SC_ERR_MAX + 1);
	REFUSED(ok, status, HASHMSG_WITHDRAWN + 1);
	REFUSED(ok, text_len, 0);
	REFUSED(ok, text_len, SC_NAME_MAX + 1);
	REFUSED(ok, text[0], '\0');
	REFUSED(start, session_id, 1);
	REFUSED(start, status, SC_ERR_CREDENTIALS);
	REFUSED(start, status, HASHMSG_WITHDRAWN);
	REFUSED(start, status, -1);
	REFUSED(start, text_len, HASHMSG_TEXT_MAX + 1);
	REFUSED(start, usec, 1);
#undef REFUSED

	r = ok;
	r.status = SC_ERR_MAX;
	assert_int_equal(hashmsg_result_put(&wb, &r), 0);
	/* A job withdrawn before it ran says so. */
	wbuf_reset(&wb);
	r.status = HASHMSG_WITHDRAWN;
	assert_int_equal(hashmsg_result_put(&wb, &r), 0);
	wbuf_free(&wb);
}

/* The result decoder takes each field's last value allowed, not the next. */
static void
test_hashmsg_result_get_checks_each_field_bound(void **state)
{
	char			text[HASHMSG_TEXT_MAX];
	struct raw_result	r;

	(void)state;
	r = raw_result_ok();
	assert_int_equal(raw_result_get(&r), 0);
	r.op = SC_MSG_AUTH;
	assert_int_equal(raw_result_get(&r), 0);
	r.op = SC_MSG_AUTH + 1;
	assert_int_equal(raw_result_get(&r), -1);
	r.op = 0xff;
	assert_int_equal(raw_result_get(&r), -1);
	r.op = HASHMSG_OP_LOCK;
	assert_int_equal(raw_result_get(&r), 0);
	r.usec = UINT32_MAX;
	assert_int_equal(raw_result_get(&r), 0);

	r = raw_result_ok();
	r.status = SC_ERR_MAX;
	assert_int_equal(raw_result_get(&r), 0);
	r.status = SC_ERR_MAX + 1;
	assert_int_equal(raw_result_get(&r), -1);
	r.status = HASHMSG_WITHDRAWN;
	assert_int_equal(raw_result_get(&r), 0);
	r.status = HASHMSG_WITHDRAWN - 1;
	assert_int_equal(raw_result_get(&r), -1);
	r.status = HASHMSG_WITHDRAWN + 1;
	assert_int_equal(raw_result_get(&r), -1);
	r.status = UINT32_MAX;		/* -1 */
	assert_int_equal(raw_result_get(&r), -1);

	r = raw_result_ok();
	r.text = name_max;
	r.text_len = SC_NAME_MAX;
	assert_int_equal(raw_result_get(&r), 0);
	r.text_len = 0;
	assert_int_equal(raw_result_get(&r), -1);
	r.text = "a23456789012345678901234567890123";
	r.text_len = SC_NAME_MAX + 1;
	assert_int_equal(raw_result_get(&r), -1);
	r.text = "ca\0ol";
	r.text_len = 5;
	assert_int_equal(raw_result_get(&r), -1);

	/* Start reports: id 0, status 0 or SC_ERR_INTERNAL, any text. */
	memset(text, 'x', sizeof text);
	r.id = 0;
	r.op = HASHMSG_OP_START;
	r.status = 0;
	r.usec = 0;
	r.text = text;
	r.text_len = HASHMSG_TEXT_MAX;
	assert_int_equal(raw_result_get(&r), 0);
	r.text_len = 0;
	assert_int_equal(raw_result_get(&r), 0);
	r.status = SC_ERR_INTERNAL;
	assert_int_equal(raw_result_get(&r), 0);
	r.status = SC_ERR_CREDENTIALS;
	assert_int_equal(raw_result_get(&r), -1);
	r.status = UINT32_MAX;
	assert_int_equal(raw_result_get(&r), -1);
	r.status = 0;
	r.id = 1;
	assert_int_equal(raw_result_get(&r), -1);
	r.id = 0;
	r.usec = 1;
	assert_int_equal(raw_result_get(&r), -1);
}

/* Every prefix of a result, and the result with one byte more, is refused. */
static void
test_hashmsg_result_cut_short_or_longer_refused(void **state)
{
	struct hashmsg_result	got;
	struct raw_result	r;
	struct wbuf		wb;
	size_t			len;

	(void)state;
	wbuf_init(&wb);
	r = raw_result_ok();
	raw_result_put(&wb, &r);
	assert_int_equal(hashmsg_result_get(&got, wb.data, wb.len), 0);
	for (len = 0; len < wb.len; len++)
		assert_int_equal(hashmsg_result_get(&got, wb.data, len), -1);
	wbuf_u8(&wb, 'x');
	assert_int_equal(hashmsg_result_get(&got, wb.data, wb.len), -1);
	wbuf_free(&wb);
}

/*
 * Over a SOCK_SEQPACKET pair each message is one packet; a packet longer
 * than the longest message is refused, not cut to a valid one; a send to a
 * closed peer fails without a signal.
 */
static void
test_hashmsg_send_recv_one_message_per_packet(void **state)
{
	struct hashmsg_result	r, got;
	struct wbuf		wb, big;
	uint8_t			buf[HASHMSG_RESULT_MAX + 1];
	ssize_t			n;
	int			sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	wbuf_init(&wb);
	hashmsg_result_start(&r, 0, "");
	assert_int_equal(hashmsg_result_put(&wb, &r), 0);
	assert_int_equal(hashmsg_send(sv[0], &wb, 0), 0);
	assert_int_equal(hashmsg_send(sv[0], &wb, 0), 0);

	wbuf_init(&big);
	memset(buf, 0, sizeof buf);
	wbuf_put(&big, buf, sizeof buf);
	wbuf_put(&big, buf, 8);
	assert_int_equal(hashmsg_send(sv[0], &big, 0), 0);

	n = hashmsg_recv(sv[1], buf, sizeof buf, 0);
	assert_int_equal(n, HASHMSG_RESULT_HDR);
	assert_int_equal(hashmsg_result_get(&got, buf, (size_t)n), 0);
	n = hashmsg_recv(sv[1], buf, sizeof buf, 0);
	assert_int_equal(n, HASHMSG_RESULT_HDR);
	n = hashmsg_recv(sv[1], buf, sizeof buf, 0);
	assert_int_equal(n, sizeof buf);
	assert_int_equal(hashmsg_result_get(&got, buf, (size_t)n), -1);
	n = hashmsg_recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	assert_int_equal(n, -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);

	close(sv[1]);
	assert_int_equal(hashmsg_send(sv[0], &wb, 0), -1);
	assert_int_equal(errno, EPIPE);
	close(sv[0]);

	/* A message whose writing ran out of memory is not sent. */
	big.oom = 1;
	assert_int_equal(hashmsg_send(-1, &big, 0), -1);
	assert_int_equal(errno, ENOMEM);
	wbuf_free(&big);
	wbuf_free(&wb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_hashmsg_job_bytes_are_exact_and_decode_back),
		cmocka_unit_test(
		    test_hashmsg_job_longest_and_shortest_round_trip),
		cmocka_unit_test(
		    test_hashmsg_job_put_refuses_each_field_out_of_range),
		cmocka_unit_test(test_hashmsg_job_get_checks_each_field_bound),
		cmocka_unit_test(
		    test_hashmsg_job_get_refuses_password_past_max),
		cmocka_unit_test(test_hashmsg_job_cut_short_or_longer_refused),
		cmocka_unit_test(
		    test_hashmsg_result_bytes_are_exact_and_decode_back),
		cmocka_unit_test(test_hashmsg_start_report_text_cut_to_fit),
		cmocka_unit_test(
		    test_hashmsg_result_put_refuses_each_field_out_of_range),
		cmocka_unit_test(
		    test_hashmsg_result_get_checks_each_field_bound),
		cmocka_unit_test(
		    test_hashmsg_result_cut_short_or_longer_refused),
		cmocka_unit_test(
		    test_hashmsg_send_recv_one_message_per_packet),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
