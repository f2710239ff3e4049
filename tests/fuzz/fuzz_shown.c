/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: arbitrary bytes as the text of a shown file
 * (src/client/shown.c), the ids of the stored messages already shown.
 * What shown_parse() accepts holds at most SHOWN_MAX ids, each of them
 * found again; what it refuses leaves the set empty.  No file is touched.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shown.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The value of a lowercase hex digit (the parser took only those). */
static uint8_t
fuzz_shown_hex(uint8_t c)
{
	return ((uint8_t)(c <= '9' ? c - '0' : c - 'a' + 10));
}

/* Parses the input; checks the set it made. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct shown	*sh;
	uint8_t			 id[SC_MAIL_ID_BYTES];
	const uint8_t		*p = data, *nl;
	char			 err[128];
	size_t			 i, left = len, n;

	if (sh == NULL && (sh = shown_new()) == NULL)
		__builtin_trap();
	if (shown_parse(sh, (const char *)data, len, err, sizeof(err)) != 0) {
		if (shown_count(sh) != 0 || err[0] == '\0')
			__builtin_trap();
		return (0);
	}
	if (shown_count(sh) > SHOWN_MAX)
		__builtin_trap();
	/* The last whole id line of the text (not a comment) is held. */
	n = 0;
	while (left > 0 && (nl = memchr(p, '\n', left)) != NULL) {
		if ((size_t)(nl - p) == 2 * SC_MAIL_ID_BYTES && p[0] != '#') {
			for (i = 0; i < SC_MAIL_ID_BYTES; i++)
				id[i] = (uint8_t)(fuzz_shown_hex(p[2 * i]) <<
				    4 | fuzz_shown_hex(p[2 * i + 1]));
			n++;
		}
		left -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	if (n > 0 && !shown_has(sh, id))
		__builtin_trap();
	return (0);
}
