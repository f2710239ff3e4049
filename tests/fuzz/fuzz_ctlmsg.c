/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the control protocol (src/server/ctlmsg.c), which the
 * daemon reads from sealchatctl and sealchatctl from the daemon.  The
 * first input byte picks the decoder (request or reply), the rest is one
 * frame's body.  A request that decodes must encode again to the same
 * bytes, and a reply's text must pass the check its encoder makes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "ctlmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A request: decoded, then, if whole, encoded back to the same bytes. */
static void
fuzz_ctlmsg_request(const uint8_t *body, size_t len)
{
	struct ctlmsg_req	r;
	struct wbuf		wb;

	if (ctlmsg_req_get(&r, body, len) != CTLMSG_OK)
		return;
	wbuf_init(&wb);
	if (ctlmsg_req_put(&wb, &r) != 0)
		__builtin_trap();
	if (!wb.oom && (wb.len != SC_FRAME_HDR + len ||
	    memcmp(wb.data + SC_FRAME_HDR, body, len) != 0))
		__builtin_trap();
	wbuf_free(&wb);
}

/* A reply: decoded, then encoded back when it is a ROW or an END. */
static void
fuzz_ctlmsg_reply(const uint8_t *body, size_t len)
{
	struct ctlmsg_reply	r;
	struct wbuf		wb;
	char			text[CTLMSG_TEXT_MAX + 1];
	int			rc = 0;

	if (ctlmsg_reply_get(&r, body, len) != 0)
		return;
	wbuf_init(&wb);
	if (r.kind == CTLMSG_ROW)
		rc = ctlmsg_row_put(&wb, (const char *)r.data, r.len);
	else if (r.kind == CTLMSG_DATA)
		rc = ctlmsg_data_put(&wb, r.data, r.len);
	else {
		if (r.len > CTLMSG_TEXT_MAX || memchr(r.data, '\0', r.len))
			goto out;
		memcpy(text, r.data, r.len);
		text[r.len] = '\0';
		rc = ctlmsg_end_put(&wb, r.status, r.count, text);
	}
	if (rc != 0)
		__builtin_trap();
	if (!wb.oom && (wb.len != SC_FRAME_HDR + len ||
	    memcmp(wb.data + SC_FRAME_HDR, body, len) != 0))
		__builtin_trap();
out:
	wbuf_free(&wb);
}

/* One body through the decoder the first byte picks. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return (0);
	if (data[0] & 1)
		fuzz_ctlmsg_request(data + 1, size - 1);
	else
		fuzz_ctlmsg_reply(data + 1, size - 1);
	return (0);
}
