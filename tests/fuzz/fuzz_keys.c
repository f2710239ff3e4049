/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: arbitrary bytes as the text of a key file.  keys_parse()
 * accepts only one line of padded base64 of 32 bytes with whitespace
 * around it, so whatever it accepts must be, once trimmed, exactly the
 * canonical encoding of the key it returns.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealchat/crypto.h"
#include "sealchat/keys.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Tells whether c is whitespace a key file may have around its line. */
static int
fuzz_keys_space(uint8_t c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/* Parses the input; on success checks that it was the canonical text. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t	key[SC_KEY_BYTES], again[SC_KEY_BYTES];
	char	text[64];
	size_t	start = 0, end = len;

	if (keys_parse(key, (const char *)data, len) != 0)
		return (0);
	while (start < end && fuzz_keys_space(data[start]))
		start++;
	while (end > start && fuzz_keys_space(data[end - 1]))
		end--;
	sc_b64_encode(text, sizeof(text), key, sizeof(key));
	if (end - start != strlen(text) ||
	    memcmp(data + start, text, end - start) != 0)
		__builtin_trap();
	if (keys_parse(again, text, strlen(text)) != 0 ||
	    memcmp(again, key, sizeof(key)) != 0)
		__builtin_trap();
	return (0);
}
