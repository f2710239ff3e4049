/* SPDX-License-Identifier: ISC */
/*
 * Messages between the hash pool and its helper process: one encoder, one
 * decoder and one range check per message (the layouts are in hashmsg.h).
 * The check runs before a message is written and after one is read, so
 * both sides hold one set of rules; the bytes go through the codec's wbuf
 * and rbuf, the one big-endian codec of the tree.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <string.h>

#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"
#include "hashmsg.h"

/* Whether op is the op of a job (a start report's is not). */
int
hashmsg_op_valid(uint8_t op)
{
	switch (op) {
	case SC_MSG_SIGN:
	case SC_MSG_AUTH:
	case SC_MSG_IDENTITY:
	case HASHMSG_OP_ADD:
	case HASHMSG_OP_PASSWD:
	case HASHMSG_OP_DEL:
	case HASHMSG_OP_LOCK:
	case HASHMSG_OP_UNLOCK:
		return (1);
	default:
		return (0);
	}
}

/* Whether a job of op carries a password to hash or verify. */
int
hashmsg_op_hashes(uint8_t op)
{
	return (op == SC_MSG_SIGN || op == SC_MSG_AUTH ||
	    op == HASHMSG_OP_ADD || op == HASHMSG_OP_PASSWD);
}

/* The bytes a job of op carries: a password, a key, or none. */
void
hashmsg_op_bytes(uint8_t op, size_t *min, size_t *max)
{
	if (hashmsg_op_hashes(op)) {
		*min = SC_PASS_MIN;
		*max = SC_PASS_MAX;
	} else if (op == SC_MSG_IDENTITY)
		*min = *max = SC_KEY_BYTES;
	else
		*min = *max = 0;
}

/* 0 when every field of the job is in its range. */
static int
hashmsg_job_check(const struct hashmsg_job *j)
{
	size_t	min, max;

	if (!hashmsg_op_valid(j->op))
		return (-1);
	if ((int)j->cost < 0 || (int)j->cost >= HASHMSG_COSTS)
		return (-1);
	if ((int)j->log_level < (int)LOG_LVL_ERROR ||
	    (int)j->log_level > (int)LOG_LVL_DEBUG)
		return (-1);
	if (j->name_len < 1 || j->name_len > SC_NAME_MAX ||
	    memchr(j->name, '\0', j->name_len) != NULL)
		return (-1);
	hashmsg_op_bytes(j->op, &min, &max);
	if (j->pass_len < min || j->pass_len > max ||
	    (j->pass_len > 0 && j->pass == NULL))
		return (-1);
	return (0);
}

/*
 * 0 when every field of the result is in its range: a start report says
 * 0 or SC_ERR_INTERNAL with any text, a job's result a status (or
 * HASHMSG_WITHDRAWN) and the job's name.
 */
static int
hashmsg_result_check(const struct hashmsg_result *r)
{
	if (r->text_len > HASHMSG_TEXT_MAX)
		return (-1);
	if (r->op == HASHMSG_OP_START) {
		if (r->session_id != 0 || r->usec != 0 ||
		    (r->status != 0 && r->status != SC_ERR_INTERNAL))
			return (-1);
		return (0);
	}
	if (!hashmsg_op_valid(r->op))
		return (-1);
	if (r->text_len < 1 || r->text_len > SC_NAME_MAX ||
	    memchr(r->text, '\0', r->text_len) != NULL)
		return (-1);
	if ((r->status < 0 || r->status > SC_ERR_MAX) &&
	    r->status != HASHMSG_WITHDRAWN)
		return (-1);
	return (0);
}

/* Appends a job message. */
int
hashmsg_job_put(struct wbuf *wb, const struct hashmsg_job *j)
{
	if (hashmsg_job_check(j) == -1)
		return (-1);
	wbuf_u64(wb, j->session_id);
	wbuf_u32(wb, j->slot);
	wbuf_u8(wb, j->op);
	wbuf_u8(wb, (uint8_t)j->cost);
	wbuf_u8(wb, (uint8_t)j->log_level);
	wbuf_str8(wb, j->name, j->name_len);
	wbuf_u16(wb, (uint16_t)j->pass_len);
	wbuf_put(wb, j->pass, j->pass_len);
	return (wb->oom ? -1 : 0);
}

/* Decodes and checks a job message. */
int
hashmsg_job_get(struct hashmsg_job *j, const uint8_t *msg, size_t len)
{
	struct rbuf	 rb;
	const uint8_t	*name;

	memset(j, 0, sizeof(*j));
	rbuf_init(&rb, msg, len);
	j->session_id = rbuf_u64(&rb);
	j->slot = rbuf_u32(&rb);
	j->op = rbuf_u8(&rb);
	j->cost = (enum sc_cost)rbuf_u8(&rb);
	j->log_level = (enum log_level)rbuf_u8(&rb);
	j->name_len = rbuf_u8(&rb);
	if (j->name_len > SC_NAME_MAX ||
	    (name = rbuf_bytes(&rb, j->name_len)) == NULL)
		return (-1);
	memcpy(j->name, name, j->name_len);
	j->pass_len = rbuf_u16(&rb);
	j->pass = j->pass_len > 0 ? rbuf_bytes(&rb, j->pass_len) : NULL;
	if (rb.err || rbuf_left(&rb) != 0)
		return (-1);
	return (hashmsg_job_check(j));
}

/* The result of a job: its id, op and name, the status and the time. */
void
hashmsg_result_for(struct hashmsg_result *r, const struct hashmsg_job *j,
    int32_t status, uint32_t usec)
{
	memset(r, 0, sizeof(*r));
	r->session_id = j->session_id;
	r->op = j->op;
	r->status = status;
	r->usec = usec;
	r->text_len = j->name_len;
	memcpy(r->text, j->name, j->name_len);
}

/* A worker's start report, with its error text cut to fit. */
void
hashmsg_result_start(struct hashmsg_result *r, int32_t status,
    const char *text)
{
	memset(r, 0, sizeof(*r));
	r->op = HASHMSG_OP_START;
	r->status = status;
	r->text_len = strnlen(text, HASHMSG_TEXT_MAX);
	memcpy(r->text, text, r->text_len);
}

/* Appends a result or start report message. */
int
hashmsg_result_put(struct wbuf *wb, const struct hashmsg_result *r)
{
	if (hashmsg_result_check(r) == -1)
		return (-1);
	wbuf_u64(wb, r->session_id);
	wbuf_u8(wb, r->op);
	wbuf_u32(wb, (uint32_t)r->status);
	wbuf_u32(wb, r->usec);
	wbuf_str8(wb, r->text, r->text_len);
	return (wb->oom ? -1 : 0);
}

/* Decodes and checks a result or start report message. */
int
hashmsg_result_get(struct hashmsg_result *r, const uint8_t *msg, size_t len)
{
	struct rbuf	 rb;
	const uint8_t	*text;

	memset(r, 0, sizeof(*r));
	rbuf_init(&rb, msg, len);
	r->session_id = rbuf_u64(&rb);
	r->op = rbuf_u8(&rb);
	r->status = (int32_t)rbuf_u32(&rb);
	r->usec = rbuf_u32(&rb);
	r->text_len = rbuf_u8(&rb);
	if ((text = rbuf_bytes(&rb, r->text_len)) == NULL)
		return (-1);
	memcpy(r->text, text, r->text_len);
	if (rb.err || rbuf_left(&rb) != 0)
		return (-1);
	return (hashmsg_result_check(r));
}

/* Sends one message as one packet. */
int
hashmsg_send(int sock, const struct wbuf *wb, int flags)
{
	ssize_t	n;

	if (wb->oom) {
		errno = ENOMEM;
		return (-1);
	}
	do {
		n = send(sock, wb->data, wb->len, flags | MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	if ((size_t)n != wb->len) {
		errno = EMSGSIZE;
		return (-1);
	}
	return (0);
}

/* Receives one packet, retrying after a signal. */
ssize_t
hashmsg_recv(int sock, uint8_t *buf, size_t len, int flags)
{
	ssize_t	n;

	do {
		n = recv(sock, buf, len, flags);
	} while (n == -1 && errno == EINTR);
	return (n);
}
