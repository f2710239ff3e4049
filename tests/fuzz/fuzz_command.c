/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: script-mode input through the client's line splitter
 * (src/client/script.c) and command table (src/client/commands.c), on a
 * client that is not connected, with records printed (and escaped) to
 * /dev/null.  Every line must end in a clear outcome, never a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "sealchat/conf.h"
#include "sealchat/crypto.h"
#include "sealchat/log.h"

#include "client.h"
#include "commands.h"
#include "output.h"
#include "script.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*fuzz_base;
static struct output		*fuzz_out;

/* A password hook, so that sign/auth lines without one get further. */
static int
fuzz_command_password(void *arg, char *buf, size_t cap, size_t *len,
    char *err, size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	if (cap < 6)
		__builtin_trap();
	memcpy(buf, "secret", 6);
	*len = 6;
	return (0);
}

/* Runs one input as a script on a fresh unconnected client. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct script_lines	 lb;
	struct client_frontend		 fe;
	struct client_conf		 conf;
	struct client_opts		 opts;
	struct client			*c;
	uint8_t				 pk[SC_KEY_BYTES];
	char				 line[SCRIPT_BUF];
	size_t				 off = 0, room, len;
	enum script_next			 r;
	enum cmd_status			 st;

	if (fuzz_base == NULL) {
		FILE	*null;

		if (sc_crypto_init() != 0)
			__builtin_trap();
		log_init("fuzz_command", LOG_LVL_ERROR);
		fuzz_base = event_base_new();
		if ((null = fopen("/dev/null", "w")) == NULL)
			__builtin_trap();
		fuzz_out = output_script_new(null, null);
	}
	client_config_defaults(&conf);
	memset(&opts, 0, sizeof(opts));
	memset(pk, 1, sizeof(pk));
	if ((c = client_new(fuzz_base, &conf, pk, &opts, fuzz_out)) == NULL)
		return (0);
	memset(&fe, 0, sizeof(fe));
	fe.password = fuzz_command_password;
	client_set_frontend(c, &fe);
	script_lines_init(&lb);
	for (;;) {
		r = script_lines_next(&lb, line, &len);
		if (r == SCRIPT_END)
			break;
		if (r == SCRIPT_MORE) {
			room = script_lines_room(&lb);
			if (room == 0)
				__builtin_trap();
			if (room > size - off)
				room = size - off;
			script_lines_push(&lb, (const char *)data + off, room);
			off += room;
			continue;
		}
		if (r == SCRIPT_TOOLONG) {
			if (len > SCRIPT_LINE_MAX + 1)
				__builtin_trap();
			continue;
		}
		if (len > SCRIPT_LINE_MAX)
			__builtin_trap();
		(void)commands_has_password(line, len);
		(void)commands_history_ok(line, len);
		st = commands_run(c, line, len);
		/* Unconnected: only quit may wait. */
		if (st == CMD_PENDING && strncmp(line, "quit", 4) != 0 &&
		    strstr(line, "quit") == NULL)
			__builtin_trap();
	}
	client_free(c);
	return (0);
}
