/* SPDX-License-Identifier: ISC */
/*
 * The control protocol's messages (layouts in ctlmsg.h): one encoder and
 * one decoder each, and the table of commands that both sealchatctl and
 * the daemon read.  Every length is checked against its bound before it
 * is used, so a decoder never reads past its body nor takes more than the
 * format allows.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "ctlmsg.h"

/* *INDENT-OFF* */
const struct ctlmsg_command_def ctlmsg_commands[] = {
	{ CTLMSG_STATUS,	"status",	0, 0 },
	{ CTLMSG_WHO,		"who",		0, 0 },
	{ CTLMSG_KICK,		"kick",		1, 0 },
	{ CTLMSG_USER_LIST,	"user list",	0, 0 },
	{ CTLMSG_USER_ADD,	"user add",	1, 1 },
	{ CTLMSG_USER_PASSWD,	"user passwd",	1, 1 },
	{ CTLMSG_USER_DEL,	"user del",	1, 0 },
	{ CTLMSG_USER_LOCK,	"user lock",	1, 0 },
	{ CTLMSG_USER_UNLOCK,	"user unlock",	1, 0 },
	{ CTLMSG_RELOAD,	"reload",	0, 0 },
	{ CTLMSG_BACKUP,	"backup",	0, 0 },
	{ 0,			NULL,		0, 0 }
};
/* *INDENT-ON* */

/* The row of a command number, or NULL. */
const struct ctlmsg_command_def *
ctlmsg_command(uint8_t command)
{
	if (command < CTLMSG_STATUS || command > CTLMSG_COMMAND_LAST)
		return (NULL);
	return (&ctlmsg_commands[command - 1]);
}

/* The row whose words begin argv. */
const struct ctlmsg_command_def *
ctlmsg_command_parse(int argc, char *const *argv, int *n)
{
	const struct ctlmsg_command_def	*c;
	const char			*w, *sp;
	size_t				 len;
	int				 i;

	for (c = ctlmsg_commands; c->words != NULL; c++) {
		for (w = c->words, i = 0; *w != '\0' && i < argc; i++) {
			sp = strchr(w, ' ');
			len = sp != NULL ? (size_t)(sp - w) : strlen(w);
			if (strlen(argv[i]) != len ||
			    strncmp(argv[i], w, len) != 0)
				break;
			w += len + (sp != NULL);
		}
		if (*w == '\0') {
			*n = i;
			return (c);
		}
	}
	return (NULL);
}

/* The default message of a status. */
const char *
ctlmsg_status_str(uint8_t status)
{
	static const char *const texts[] = {
		[CTLMSG_OK] = "ok",
		[CTLMSG_MALFORMED] = "malformed request",
		[CTLMSG_DENIED] = "permission denied",
		[CTLMSG_NO_USER] = "no such user",
		[CTLMSG_OFFLINE] = "user offline",
		[CTLMSG_TAKEN] = "name taken",
		[CTLMSG_BAD_NAME] = "bad name",
		[CTLMSG_BAD_PASS] = "bad password",
		[CTLMSG_BUSY] = "server busy",
		[CTLMSG_FAILED] = "server error",
		[CTLMSG_CONFIG] = "configuration error",
	};

	if (status > CTLMSG_STATUS_LAST)
		return ("unknown status");
	return (texts[status]);
}

/* Whether text is printable UTF-8 bytes (and TABs, when tab is set). */
int
ctlmsg_text_ok(const char *text, size_t len, int tab)
{
	const unsigned char	*p = (const unsigned char *)text;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (p[i] == 0x7f || (p[i] < 0x20 && !(tab && p[i] == '\t')))
			return (0);
	}
	return (1);
}

/* Appends a frame whose body is the len bytes after the kind byte. */
static void
ctlmsg_frame(struct wbuf *wb, size_t body_len)
{
	uint8_t	hdr[SC_FRAME_HDR];

	wire_frame_header(hdr, (uint32_t)body_len);
	wbuf_put(wb, hdr, sizeof(hdr));
}

/* Appends a request frame. */
int
ctlmsg_req_put(struct wbuf *wb, const struct ctlmsg_req *r)
{
	const struct ctlmsg_command_def	*c;

	if ((c = ctlmsg_command(r->command)) == NULL)
		return (-1);
	if (c->takes_name ? !wire_name_valid(r->name, r->name_len) :
	    r->name_len != 0)
		return (-1);
	if (c->takes_pass ? (r->data == NULL || r->data_len < SC_PASS_MIN ||
	    r->data_len > SC_PASS_MAX) : r->data_len != 0)
		return (-1);
	ctlmsg_frame(wb, CTLMSG_REQ_MIN + r->name_len + r->data_len);
	wbuf_u8(wb, CTLMSG_VERSION);
	wbuf_u8(wb, r->command);
	wbuf_str8(wb, r->name, r->name_len);
	wbuf_u16(wb, (uint16_t)r->data_len);
	wbuf_put(wb, r->data, r->data_len);
	return (wb->oom ? -1 : 0);
}

/* Decodes a request body. */
int
ctlmsg_req_get(struct ctlmsg_req *r, const uint8_t *body, size_t len)
{
	const struct ctlmsg_command_def	*c;
	const uint8_t			*name;
	struct rbuf			 rb;

	memset(r, 0, sizeof(*r));
	rbuf_init(&rb, body, len);
	if (rbuf_u8(&rb) != CTLMSG_VERSION)
		return (CTLMSG_MALFORMED);
	r->command = rbuf_u8(&rb);
	r->name_len = rbuf_u8(&rb);
	if (rb.err || (c = ctlmsg_command(r->command)) == NULL ||
	    r->name_len > SC_NAME_MAX ||
	    (name = rbuf_bytes(&rb, r->name_len)) == NULL)
		return (CTLMSG_MALFORMED);
	memcpy(r->name, name, r->name_len);
	r->data_len = rbuf_u16(&rb);
	r->data = r->data_len > 0 ? rbuf_bytes(&rb, r->data_len) : NULL;
	if (rb.err || rbuf_left(&rb) != 0)
		return (CTLMSG_MALFORMED);
	if ((r->name_len > 0) != c->takes_name ||
	    (r->data_len > 0) != c->takes_pass)
		return (CTLMSG_MALFORMED);
	if (c->takes_name && !wire_name_valid(r->name, r->name_len))
		return (CTLMSG_BAD_NAME);
	if (c->takes_pass && r->data_len > SC_PASS_MAX)
		return (CTLMSG_BAD_PASS);
	return (CTLMSG_OK);
}

/* Appends a ROW frame. */
int
ctlmsg_row_put(struct wbuf *wb, const char *text, size_t len)
{
	if (len < 1 || len > CTLMSG_ROW_MAX || !ctlmsg_text_ok(text, len, 1))
		return (-1);
	ctlmsg_frame(wb, 1 + len);
	wbuf_u8(wb, CTLMSG_ROW);
	wbuf_put(wb, text, len);
	return (wb->oom ? -1 : 0);
}

/* Appends a DATA frame. */
int
ctlmsg_data_put(struct wbuf *wb, const uint8_t *data, size_t len)
{
	if (len < 1 || len > CTLMSG_DATA_MAX)
		return (-1);
	ctlmsg_frame(wb, 1 + len);
	wbuf_u8(wb, CTLMSG_DATA);
	wbuf_put(wb, data, len);
	return (wb->oom ? -1 : 0);
}

/* Appends an END frame. */
int
ctlmsg_end_put(struct wbuf *wb, uint8_t status, uint64_t count,
    const char *text)
{
	size_t	len = strlen(text);

	if (status > CTLMSG_STATUS_LAST || len > CTLMSG_TEXT_MAX ||
	    !ctlmsg_text_ok(text, len, 0))
		return (-1);
	ctlmsg_frame(wb, CTLMSG_END_MIN + len);
	wbuf_u8(wb, CTLMSG_END);
	wbuf_u8(wb, status);
	wbuf_u64(wb, count);
	wbuf_put(wb, text, len);
	return (wb->oom ? -1 : 0);
}

/* Decodes a reply body. */
int
ctlmsg_reply_get(struct ctlmsg_reply *r, const uint8_t *body, size_t len)
{
	struct rbuf	rb;

	memset(r, 0, sizeof(*r));
	rbuf_init(&rb, body, len);
	r->kind = rbuf_u8(&rb);
	if (rb.err)
		return (-1);
	switch (r->kind) {
	case CTLMSG_ROW:
		r->len = rbuf_left(&rb);
		r->data = rbuf_bytes(&rb, r->len);
		if (r->len < 1 || r->len > CTLMSG_ROW_MAX ||
		    !ctlmsg_text_ok((const char *)r->data, r->len, 1))
			return (-1);
		return (0);
	case CTLMSG_DATA:
		r->len = rbuf_left(&rb);
		r->data = rbuf_bytes(&rb, r->len);
		return (r->len >= 1 && r->len <= CTLMSG_DATA_MAX ? 0 : -1);
	case CTLMSG_END:
		r->status = rbuf_u8(&rb);
		r->count = rbuf_u64(&rb);
		if (rb.err || r->status > CTLMSG_STATUS_LAST)
			return (-1);
		r->len = rbuf_left(&rb);
		r->data = rbuf_bytes(&rb, r->len);
		if (r->len > CTLMSG_TEXT_MAX || (r->len > 0 &&
		    !ctlmsg_text_ok((const char *)r->data, r->len, 0)))
			return (-1);
		return (0);
	default:
		return (-1);
	}
}
