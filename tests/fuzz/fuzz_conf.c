/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: arbitrary bytes as a configuration file, read with both the
 * daemon's and the client's rows.  Whatever the input, conf_load_buf()
 * must return 0 or -1 without a crash or leak; a failure leaves a message
 * "fuzz.yaml: ..." and the settings untouched, a success leaves terminated
 * strings, absolute paths, every integer within its range and every choice
 * one of its row's, and what conf_print() writes of it loads back the same.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealchat/conf.h"
#include "client/config.h"
#include "server/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Checks what a load left in out against the rows. */
static void
fuzz_conf_check(const struct conf_key *rows, const void *out)
{
	const char	*base = out;
	long long	 ll;
	int		 v;
	size_t		 i, n;

	for (i = 0; rows[i].name != NULL; i++) {
		const char *p = base + rows[i].offset;

		switch (rows[i].type) {
		case CONF_STRING:
			n = strnlen(p, CONF_STR_MAX);
			if (n == 0 || n >= CONF_STR_MAX)
				__builtin_trap();
			break;
		case CONF_PATH:
			n = strnlen(p, PATH_MAX);
			if (n == 0 || n >= PATH_MAX || p[0] != '/')
				__builtin_trap();
			break;
		case CONF_INT:
			memcpy(&ll, p, sizeof(ll));
			if (ll < rows[i].min || ll > rows[i].max)
				__builtin_trap();
			break;
		case CONF_BOOL:
			memcpy(&v, p, sizeof(v));
			if (v != 0 && v != 1)
				__builtin_trap();
			break;
		case CONF_ENUM:
			memcpy(&v, p, sizeof(v));
			for (n = 0; rows[i].choices[n] != NULL; n++)
				;
			if (v < 0 || (size_t)v >= n)
				__builtin_trap();
			break;
		}
	}
}

/*
 * Prints out with conf_print(), loads that into a copy of defaults, and
 * checks that every row came back the same.
 */
static void
fuzz_conf_round_trip(const struct conf_key *rows, const void *defaults,
    const void *out, size_t size)
{
	char	 err[CONF_ERR_MAX], *text = NULL;
	size_t	 len = 0, i;
	void	*again;
	FILE	*f;

	if ((again = malloc(size)) == NULL ||
	    (f = open_memstream(&text, &len)) == NULL)
		__builtin_trap();
	if (conf_print(f, rows, out) != 0)
		__builtin_trap();
	fclose(f);
	memcpy(again, defaults, size);
	if (conf_load_buf("printed.yaml", "/", text, len, rows, again,
	    err) != 0)
		__builtin_trap();
	for (i = 0; rows[i].name != NULL; i++) {
		if (!conf_equal(&rows[i], out, again))
			__builtin_trap();
	}
	free(text);
	free(again);
}

/* Loads buf into a copy of defaults and checks the outcome. */
static void
fuzz_conf_one(const struct conf_key *rows, const void *defaults,
    void *out, size_t size, const uint8_t *data, size_t len)
{
	char	err[CONF_ERR_MAX];

	memcpy(out, defaults, size);
	if (conf_load_buf("fuzz.yaml", "/etc/sealchat", (const char *)data,
	    len, rows, out, err) == 0) {
		fuzz_conf_check(rows, out);
		fuzz_conf_round_trip(rows, defaults, out, size);
		return;
	}
	if (strnlen(err, CONF_ERR_MAX) >= CONF_ERR_MAX ||
	    strncmp(err, "fuzz.yaml:", 10) != 0)
		__builtin_trap();
	if (memcmp(out, defaults, size) != 0)
		__builtin_trap();
}

/* Reads the input with both tables of rows. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct server_conf	sdef, sc;
	static struct client_conf	cdef, cc;
	static int			init;

	if (!init) {
		server_config_defaults(&sdef);
		client_config_defaults(&cdef);
		init = 1;
	}
	fuzz_conf_one(server_config_rows, &sdef, &sc, sizeof(sc), data,
	    len);
	fuzz_conf_one(client_config_rows, &cdef, &cc, sizeof(cc), data,
	    len);
	return (0);
}
