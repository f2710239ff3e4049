/*
 * Fuzz target: arbitrary bytes as a TCP stream through the frame reader and
 * the message decoder, the way a session reads them.  The first input byte
 * picks the size of each read; the rest is the stream.  A small maximum
 * frame keeps oversize announcements frequent.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealchat/wire.h"

#define FUZZ_MAX_BODY	1024

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Walks a decoded list to the end, as the client does. */
static void
fuzz_frame_walk(const struct sc_msg *m)
{
	char	name[SC_NAME_MAX + 1];
	size_t	off = 0;
	int	online;

	if (m->type == SC_MSG_USERS)
		while (wire_users_next(m, &off, name) == 1)
			;
	if (m->type == SC_MSG_PRESENCE)
		while (wire_presence_next(m, &off, &online, name) == 1)
			;
	if (off != 0 && off != m->list_len)
		__builtin_trap();
}

/* Takes every whole frame off the front of buf; -1 when the stream is bad. */
static int
fuzz_frame_drain(uint8_t *buf, size_t *have)
{
	struct sc_msg	m;
	size_t		body;
	int		rc;

	while ((rc = wire_frame_peek(buf, *have, FUZZ_MAX_BODY, &body)) == 1) {
		if (body == 0 || body > FUZZ_MAX_BODY ||
		    body > *have - SC_FRAME_HDR)
			__builtin_trap();
		if (wire_msg_decode(&m, buf + SC_FRAME_HDR, body) == 0)
			fuzz_frame_walk(&m);
		memmove(buf, buf + SC_FRAME_HDR + body,
		    *have - SC_FRAME_HDR - body);
		*have -= SC_FRAME_HDR + body;
	}
	return (rc);
}

/* One fuzz input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	buf[SC_FRAME_HDR + FUZZ_MAX_BODY];
	size_t	have = 0, step, n, i;

	if (size < 1)
		return (0);
	step = 1 + data[0] % 97;
	for (i = 1; i < size; i += n) {
		n = size - i < step ? size - i : step;
		if (n > sizeof(buf) - have)
			n = sizeof(buf) - have;
		memcpy(buf + have, data + i, n);
		have += n;
		if (fuzz_frame_drain(buf, &have) == -1)
			break;	/* the connection would be closed */
		/* a pending partial frame always fits in the buffer */
		if (have >= sizeof(buf))
			__builtin_trap();
	}
	return (0);
}
