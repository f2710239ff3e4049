/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the messages between the hash pool and its helper
 * (src/server/hashmsg.c).  The first input byte picks the decoder (job or
 * result), the rest is one packet.  Whatever decodes must encode again to
 * the same bytes, so the encoders and decoders agree on every field.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealchat/wire.h"
#include "hashmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Traps unless wb holds exactly the len bytes of msg. */
static void
fuzz_hashmsg_same(const struct wbuf *wb, const uint8_t *msg, size_t len)
{
	if (wb->oom)
		return;
	if (wb->len != len || memcmp(wb->data, msg, len) != 0)
		__builtin_trap();
}

/* One packet through the decoder the first byte picks. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hashmsg_job	 job;
	struct hashmsg_result	 res;
	struct wbuf		 wb;

	if (size < 1)
		return (0);
	wbuf_init(&wb);
	if (data[0] & 1) {
		if (hashmsg_job_get(&job, data + 1, size - 1) == 0) {
			if (hashmsg_job_put(&wb, &job) != 0)
				__builtin_trap();
			fuzz_hashmsg_same(&wb, data + 1, size - 1);
		}
	} else {
		if (hashmsg_result_get(&res, data + 1, size - 1) == 0) {
			if (hashmsg_result_put(&wb, &res) != 0)
				__builtin_trap();
			fuzz_hashmsg_same(&wb, data + 1, size - 1);
		}
	}
	wbuf_free(&wb);
	return (0);
}
