/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: arbitrary bytes through the escaping of text from the
 * network (src/common/util.c), for script records and for a terminal, into
 * a buffer big enough and into one cut short by the first input byte.  The
 * output must be NUL-terminated within its buffer and hold nothing a
 * terminal could obey: no control byte, no C1 control, no bidirectional
 * override, no byte outside well-formed UTF-8 (every such byte is written
 * as \xHH).  Unescaping the full output gives the input back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealchat/util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Value of a lowercase hex digit, or -1. */
static int
fuzz_escape_hex(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* Length of the well-formed UTF-8 sequence at s (2 to 4), else 0. */
static size_t
fuzz_escape_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t	len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return (0);
	if (n < len)
		return (0);
	*cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) ||
	    *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return (0);
	return (len);
}

/*
 * Checks what a terminal would see in out and, for a full record, that
 * unescaping it gives in back; traps on anything wrong.  A terminal's
 * output keeps a backslash as it is, so it cannot be unescaped.
 */
static void
fuzz_escape_check(const char *out, const uint8_t *in, size_t len, int term,
    int full)
{
	const unsigned char	*p = (const unsigned char *)out;
	uint8_t			*back;
	size_t			 n = strlen(out), i = 0, o = 0, k;
	uint32_t		 cp;
	int			 hi, lo;

	if ((back = malloc(n + 1)) == NULL)
		return;
	while (i < n) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			__builtin_trap();
		if (p[i] >= 0x80) {
			if ((k = fuzz_escape_utf8(p + i, n - i, &cp)) == 0 ||
			    (cp >= 0x80 && cp <= 0x9f) ||
			    (cp >= 0x202a && cp <= 0x202e) ||
			    (cp >= 0x2066 && cp <= 0x2069))
				__builtin_trap();
			memcpy(back + o, p + i, k);
			o += k;
			i += k;
			continue;
		}
		if (term || p[i] != '\\') {
			back[o++] = p[i++];
			continue;
		}
		if (i + 1 >= n)
			__builtin_trap();
		if (p[i + 1] == 't' || p[i + 1] == 'n' || p[i + 1] == '\\') {
			back[o++] = p[i + 1] == 't' ? '\t' :
			    p[i + 1] == 'n' ? '\n' : '\\';
			i += 2;
			continue;
		}
		if (p[i + 1] != 'x' || i + 3 >= n ||
		    (hi = fuzz_escape_hex(out[i + 2])) < 0 ||
		    (lo = fuzz_escape_hex(out[i + 3])) < 0)
			__builtin_trap();
		back[o++] = (uint8_t)(hi << 4 | lo);
		i += 4;
	}
	if (!term && (full ? o != len : o > len))
		__builtin_trap();
	if (!term && memcmp(back, in, o) != 0)
		__builtin_trap();
	free(back);
}

/* Escapes the input both ways, into a full and a short buffer. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*out;
	size_t	 cap, cut;
	int	 term;

	if (size == 0 || size > 4096)
		return (0);
	cut = data[0];
	cap = 4 * size + 1;
	if ((out = malloc(cap)) == NULL)
		return (0);
	for (term = 0; term < 2; term++) {
		memset(out, 'Z', cap);
		(term ? util_escape_term : util_escape)(out, cap,
		    (const char *)data, size);
		if (memchr(out, '\0', cap) == NULL)
			__builtin_trap();
		fuzz_escape_check(out, data, size, term, 1);
		if (cut + 1 < cap) {
			memset(out, 'Z', cap);
			(term ? util_escape_term : util_escape)(out, cut + 1,
			    (const char *)data, size);
			if (memchr(out, '\0', cut + 1) == NULL)
				__builtin_trap();
			fuzz_escape_check(out, data, size, term, 0);
		}
	}
	free(out);
	return (0);
}
