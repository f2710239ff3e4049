/*
 * Fuzz target: arbitrary bytes as a configuration file, read with both the
 * daemon's and the client's schema.  Whatever the input, conf_load_buf()
 * must return 0 or -1 without a crash or leak; a failure leaves a message
 * "fuzz.yaml: ..." and the settings untouched, a success leaves terminated
 * strings, absolute paths and every integer within its range.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealchat/conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Checks what a load left in out against schema. */
static void
fuzz_conf_check(const struct conf_key *schema, const void *out)
{
	const char	*base = out;
	long long	 ll;
	int		 v;
	size_t		 i, n;

	for (i = 0; schema[i].name != NULL; i++) {
		const char *p = base + schema[i].offset;

		switch (schema[i].type) {
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
			if (ll < schema[i].min || ll > schema[i].max)
				__builtin_trap();
			break;
		case CONF_BOOL:
		case CONF_ENUM:
		case CONF_LOGLEVEL:
			memcpy(&v, p, sizeof(v));
			if (v < 0 || v > 3)
				__builtin_trap();
			break;
		}
	}
}

/* Loads buf into a copy of defaults and checks the outcome. */
static void
fuzz_conf_one(const struct conf_key *schema, const void *defaults,
    void *out, size_t size, const uint8_t *data, size_t len)
{
	char	err[CONF_ERR_MAX];

	memcpy(out, defaults, size);
	if (conf_load_buf("fuzz.yaml", "/etc/sealchat", (const char *)data,
	    len, schema, out, err) == 0) {
		fuzz_conf_check(schema, out);
		return;
	}
	if (strnlen(err, CONF_ERR_MAX) >= CONF_ERR_MAX ||
	    strncmp(err, "fuzz.yaml:", 10) != 0)
		__builtin_trap();
	if (memcmp(out, defaults, size) != 0)
		__builtin_trap();
}

/* Reads the input with both schemas. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct server_conf	sdef, sc;
	static struct client_conf	cdef, cc;
	static int			init;

	if (!init) {
		server_conf_defaults(&sdef);
		client_conf_defaults(&cdef);
		init = 1;
	}
	fuzz_conf_one(server_conf_schema, &sdef, &sc, sizeof(sc), data, len);
	fuzz_conf_one(client_conf_schema, &cdef, &cc, sizeof(cc), data, len);
	return (0);
}
