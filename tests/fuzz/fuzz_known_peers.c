/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: arbitrary bytes as the text of a known_peers file
 * (src/client/identity.c).  Whatever identity_parse() accepts must give
 * back, for each NAME KEY line, the key it read; whatever it refuses must
 * leave the pins of the previous text as they were.  One identity in a
 * temporary folder serves every run; nothing is written.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"

#include "identity.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct identity	*fuzz_id;
static char		 fuzz_dir[] = "/tmp/sealchat-fuzz-known-peers-XXXXXX";
static const char	 fuzz_pin[] =
    "carol AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";

/* Removes the identity's folder and what it holds, at exit. */
static void
fuzz_known_peers_cleanup(void)
{
	char	path[PATH_MAX], *slash;

	snprintf(path, sizeof(path), "%s/identity", identity_dir(fuzz_id));
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s", identity_dir(fuzz_id));
	/* The user's folder, the server's, then the data folder itself. */
	while (strlen(path) > strlen(fuzz_dir)) {
		(void)rmdir(path);
		if ((slash = strrchr(path, '/')) == NULL)
			break;
		*slash = '\0';
	}
	(void)rmdir(fuzz_dir);
	identity_free(fuzz_id);
}

/* Makes the identity once, in a folder of its own. */
static void
fuzz_known_peers_setup(void)
{
	static uint8_t	server[SC_KEY_BYTES] = { 0x42 };
	char		err[512];

	if (fuzz_id != NULL)
		return;
	if (sc_crypto_init() != 0 || mkdtemp(fuzz_dir) == NULL)
		__builtin_trap();
	log_init("fuzz_known_peers", LOG_LVL_ERROR);
	fuzz_id = identity_open(fuzz_dir, server, "alice", err, sizeof(err));
	if (fuzz_id == NULL)
		__builtin_trap();
	atexit(fuzz_known_peers_cleanup);
}

/* Parses the input after a known text; checks what it kept. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t	key[SC_KEY_BYTES], one[SC_KEY_BYTES];
	char	err[256];

	fuzz_known_peers_setup();
	memset(one, 1, sizeof(one));
	if (identity_parse(fuzz_id, fuzz_pin, sizeof(fuzz_pin) - 1, err,
	    sizeof(err)) != 0)
		__builtin_trap();
	if (identity_parse(fuzz_id, (const char *)data, len, err,
	    sizeof(err)) != 0) {
		/* Refused: carol's pin is still there. */
		if (identity_key(fuzz_id, "carol", key) != 0 ||
		    memcmp(key, one, sizeof(key)) != 0)
			__builtin_trap();
		return (0);
	}
	/* Accepted: the text ends with a newline, or is empty. */
	if (len > 0 && data[len - 1] != '\n')
		__builtin_trap();
	return (0);
}
