/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: arbitrary bytes as a TCP stream through the frame reader
 * (wire_frame_pull() on an evbuffer) and the message decoder, the way a
 * session and the client read them.  The first input byte picks the size of
 * each read; the rest is the stream.  A small maximum frame keeps oversize
 * announcements frequent.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

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

/*
 * Takes every whole frame off the front of in; WIRE_FRAME_BAD when the
 * stream is bad.
 */
static int
fuzz_frame_drain(struct evbuffer *in)
{
	struct sc_msg	 m;
	const uint8_t	*body;
	size_t		 have, len, peeked;
	int		 rc;

	for (;;) {
		have = evbuffer_get_length(in);
		if ((rc = wire_frame_pull(in, 1, FUZZ_MAX_BODY, NULL,
		    &peeked)) != WIRE_FRAME_READY)
			break;
		if (wire_frame_pull(in, 1, FUZZ_MAX_BODY, &body, &len) !=
		    WIRE_FRAME_READY || len != peeked)
			__builtin_trap();
		if (len == 0 || len > FUZZ_MAX_BODY ||
		    len > have - SC_FRAME_HDR)
			__builtin_trap();
		if (wire_msg_decode(&m, body, len) == WIRE_MSG_OK)
			fuzz_frame_walk(&m);
		wire_frame_drop(in, len);
		if (evbuffer_get_length(in) != have - SC_FRAME_HDR - len)
			__builtin_trap();
	}
	return (rc);
}

/* One fuzz input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer	*in;
	size_t		 step, n, i;
	int		 rc;

	if (size < 1 || (in = evbuffer_new()) == NULL)
		return (0);
	step = 1 + data[0] % 97;
	for (i = 1; i < size; i += n) {
		n = size - i < step ? size - i : step;
		if (evbuffer_add(in, data + i, n) != 0)
			break;
		rc = fuzz_frame_drain(in);
		if (rc == WIRE_FRAME_BAD)
			break;	/* the connection would be closed */
		/* what waits is a partial frame: less than one whole frame */
		if (rc != WIRE_FRAME_PARTIAL ||
		    evbuffer_get_length(in) >= SC_FRAME_HDR + FUZZ_MAX_BODY)
			__builtin_trap();
	}
	evbuffer_free(in);
	return (0);
}
