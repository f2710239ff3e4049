/*
 * Configuration files, read with libyaml's event parser.
 *
 * A file is exactly one YAML document whose root is a mapping of scalar keys
 * to scalar values.  Everything else YAML can express (more documents,
 * anchors and aliases, tags, nested collections) is refused with the line it
 * starts on, so that what the program runs with is always what the file
 * plainly says.  The file is parsed twice: the first pass checks every key
 * and value, the second stores them, so a bad file leaves the caller's
 * settings untouched.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "sealchat/conf.h"
#include "sealchat/log.h"
#include "sealchat/util.h"

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes of configuration read */
#define CONF_KEYS_MAX	64		/* keys in one schema */
#define CONF_QUOTE_MAX	64		/* bytes of a bad value shown */
#define CONF_QUOTE_BUF	(4 * CONF_QUOTE_MAX + 4)

/* One parse of one buffer. */
struct conf_ctx {
	const char	*name;		/* file name for messages */
	const char	*dir;		/* absolute folder for relative paths */
	const char	*buf;
	size_t		 len;
	const struct conf_key *schema;
	size_t		 nkeys;
	void		*out;
	int		 apply;		/* 0: check only, 1: store */
	char		*err;
};

static const char *const conf_cost_choices[] = {
	"min", "interactive", "moderate", "sensitive", NULL
};

const struct conf_key server_conf_schema[] = {
	{ "server_address", CONF_STRING,
	    offsetof(struct server_conf, server_address), 0, 0, NULL },
	{ "server_port", CONF_INT,
	    offsetof(struct server_conf, server_port), 1, 65535, NULL },
	{ "server_public_key", CONF_PATH,
	    offsetof(struct server_conf, server_public_key), 0, 0, NULL },
	{ "server_private_key", CONF_PATH,
	    offsetof(struct server_conf, server_private_key), 0, 0, NULL },
	{ "data_base", CONF_PATH,
	    offsetof(struct server_conf, data_base), 0, 0, NULL },
	{ "log_level", CONF_LOGLEVEL,
	    offsetof(struct server_conf, log_level), 0, 0, NULL },
	{ "hash_cost", CONF_ENUM,
	    offsetof(struct server_conf, hash_cost), 0, 0, conf_cost_choices },
	{ "hash_workers", CONF_INT,
	    offsetof(struct server_conf, hash_workers), 1, 64, NULL },
	{ "hash_queue", CONF_INT,
	    offsetof(struct server_conf, hash_queue), 1, 100000, NULL },
	{ "max_frame", CONF_INT,
	    offsetof(struct server_conf, max_frame), 1024, 1048576, NULL },
	{ "max_sessions", CONF_INT,
	    offsetof(struct server_conf, max_sessions), 1, 1000000, NULL },
	{ "max_unauth", CONF_INT,
	    offsetof(struct server_conf, max_unauth), 1, 1000000, NULL },
	{ "max_unauth_per_addr", CONF_INT,
	    offsetof(struct server_conf, max_unauth_per_addr), 1, 1000000,
	    NULL },
	{ "login_timeout", CONF_INT,
	    offsetof(struct server_conf, login_timeout), 1, 3600, NULL },
	{ "keepalive_interval", CONF_INT,
	    offsetof(struct server_conf, keepalive_interval), 1, 3600, NULL },
	{ "keepalive_timeout", CONF_INT,
	    offsetof(struct server_conf, keepalive_timeout), 2, 86400, NULL },
	{ "output_cap", CONF_INT,
	    offsetof(struct server_conf, output_cap), 4096, 1073741824, NULL },
	{ "fail_delay_ms", CONF_INT,
	    offsetof(struct server_conf, fail_delay_ms), 0, 60000, NULL },
	{ "fail_free", CONF_INT,
	    offsetof(struct server_conf, fail_free), 0, 1000, NULL },
	{ NULL, CONF_STRING, 0, 0, 0, NULL }
};

const struct conf_key client_conf_schema[] = {
	{ "server_address", CONF_STRING,
	    offsetof(struct client_conf, server_address), 0, 0, NULL },
	{ "server_port", CONF_INT,
	    offsetof(struct client_conf, server_port), 1, 65535, NULL },
	{ "server_public_key", CONF_PATH,
	    offsetof(struct client_conf, server_public_key), 0, 0, NULL },
	{ "udp_address", CONF_STRING,
	    offsetof(struct client_conf, udp_address), 0, 0, NULL },
	{ "udp_port", CONF_INT,
	    offsetof(struct client_conf, udp_port), 0, 65535, NULL },
	{ "connect_timeout", CONF_INT,
	    offsetof(struct client_conf, connect_timeout), 1, 600, NULL },
	{ "reply_timeout", CONF_INT,
	    offsetof(struct client_conf, reply_timeout), 1, 3600, NULL },
	{ "send_retries", CONF_INT,
	    offsetof(struct client_conf, send_retries), 0, 100, NULL },
	{ "retry_interval_ms", CONF_INT,
	    offsetof(struct client_conf, retry_interval_ms), 10, 60000, NULL },
	{ "pair_timeout", CONF_INT,
	    offsetof(struct client_conf, pair_timeout), 1, 600, NULL },
	{ "drain_timeout", CONF_INT,
	    offsetof(struct client_conf, drain_timeout), 1, 3600, NULL },
	{ "log_level", CONF_LOGLEVEL,
	    offsetof(struct client_conf, log_level), 0, 0, NULL },
	{ NULL, CONF_STRING, 0, 0, 0, NULL }
};

static void	conf_error(struct conf_ctx *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Writes "NAME:LINE: message" (or "NAME: message" for line 0) into err. */
static void
conf_error(struct conf_ctx *ctx, size_t line, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (line > 0)
		n = snprintf(ctx->err, CONF_ERR_MAX, "%s:%zu: ", ctx->name,
		    line);
	else
		n = snprintf(ctx->err, CONF_ERR_MAX, "%s: ", ctx->name);
	if (n < 0 || n >= CONF_ERR_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, CONF_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Escapes at most CONF_QUOTE_MAX bytes of s for a message. */
static const char *
conf_quote(char out[CONF_QUOTE_BUF], const char *s, size_t len)
{
	size_t	n;

	if (s == NULL)
		s = "";
	n = len > CONF_QUOTE_MAX ? CONF_QUOTE_MAX : len;
	util_escape(out, CONF_QUOTE_BUF - 3, s, n);
	if (len > n)
		strcat(out, "...");
	return (out);
}

/*
 * Joins folder dir and relative path rel into out.  Leading "./" and "../"
 * of rel are taken off lexically, which is exact because dir is a canonical
 * folder.  Returns -1 when the result does not fit.
 */
static int
conf_join(char *out, size_t outlen, const char *dir, const char *rel)
{
	size_t	dlen, rlen;
	int	n;

	dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	for (;;) {
		if (rel[0] == '.' && (rel[1] == '/' || rel[1] == '\0')) {
			rel += 1;
		} else if (rel[0] == '.' && rel[1] == '.' &&
		    (rel[2] == '/' || rel[2] == '\0')) {
			while (dlen > 1 && dir[dlen - 1] != '/')
				dlen--;
			while (dlen > 1 && dir[dlen - 1] == '/')
				dlen--;
			rel += 2;
		} else
			break;
		while (*rel == '/')
			rel++;
	}
	rlen = strlen(rel);
	if (rlen == 0)
		n = snprintf(out, outlen, "%.*s", (int)dlen, dir);
	else if (dlen == 1 && dir[0] == '/')
		n = snprintf(out, outlen, "/%s", rel);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)dlen, dir, rel);
	if (n < 0 || (size_t)n >= outlen)
		return (-1);
	return (0);
}

/*
 * Makes dir absolute: canonical when it exists, else joined to the working
 * directory.  -1 with errno.
 */
static int
conf_absdir(char out[PATH_MAX], const char *dir)
{
	char	cwd[PATH_MAX];

	/* A canonical folder makes the lexical ".." of conf_join exact. */
	if (dir != NULL && *dir != '\0' && realpath(dir, out) != NULL)
		return (0);
	if (dir != NULL && dir[0] == '/') {
		if (strlen(dir) >= PATH_MAX) {
			errno = ENAMETOOLONG;
			return (-1);
		}
		strcpy(out, dir);
		return (0);
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return (-1);
	if (dir == NULL || *dir == '\0')
		dir = ".";
	if (conf_join(out, PATH_MAX, cwd, dir) == -1) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

/* Finds key (len bytes) in the schema; -1 when it is not there. */
static int
conf_find(struct conf_ctx *ctx, const char *key, size_t len)
{
	size_t	i;

	for (i = 0; i < ctx->nkeys; i++) {
		if (strlen(ctx->schema[i].name) == len &&
		    memcmp(ctx->schema[i].name, key, len) == 0)
			return ((int)i);
	}
	return (-1);
}

/*
 * Parses a strict decimal integer: an optional '-', then digits without
 * leading zeros.  Returns 0, -1 when it is not an integer, -2 when it does
 * not fit in a long long.
 */
static int
conf_parse_int(const char *v, size_t len, long long *out)
{
	char		 num[32];
	const char	*d = v;
	size_t		 i, nd;
	char		*end;

	if (len > 0 && *d == '-')
		d++;
	nd = len - (size_t)(d - v);
	if (nd == 0)
		return (-1);
	for (i = 0; i < nd; i++) {
		if (d[i] < '0' || d[i] > '9')
			return (-1);
	}
	if (nd > 1 && d[0] == '0')
		return (-1);
	if (len >= sizeof(num))
		return (-2);
	memcpy(num, v, len);
	num[len] = '\0';
	errno = 0;
	*out = strtoll(num, &end, 10);
	if (errno == ERANGE)
		return (-2);
	if (errno != 0 || *end != '\0')
		return (-1);
	return (0);
}

/* Parses true/false/yes/no/on/off in any case; -1 when it is none. */
static int
conf_parse_bool(const char *v, size_t len)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t	i;

	for (i = 0; i < 3; i++) {
		if (strlen(yes[i]) == len && strncasecmp(v, yes[i], len) == 0)
			return (1);
		if (strlen(no[i]) == len && strncasecmp(v, no[i], len) == 0)
			return (0);
	}
	return (-1);
}

/* Lists choices as "a, b, c" into out. */
static void
conf_choices(char *out, size_t outlen, const char *const *choices)
{
	size_t	i, off = 0;
	int	n;

	out[0] = '\0';
	for (i = 0; choices[i] != NULL; i++) {
		n = snprintf(out + off, outlen - off, "%s%s",
		    i == 0 ? "" : ", ", choices[i]);
		if (n < 0 || (size_t)n >= outlen - off)
			return;
		off += (size_t)n;
	}
}

/* Checks one value against its key and, in the second pass, stores it. */
static int
conf_value(struct conf_ctx *ctx, const struct conf_key *key, size_t line,
    const char *v, size_t len)
{
	static const char *const levels[] = {
		"error", "warn", "info", "debug", NULL
	};
	char		 q[CONF_QUOTE_BUF], path[PATH_MAX], list[256];
	char		*dst = (char *)ctx->out + key->offset;
	long long	 ll;
	int		 rc, idx = -1;
	size_t		 i;

	if (len == 0) {
		conf_error(ctx, line, "%s: value is empty", key->name);
		return (-1);
	}
	if (memchr(v, '\0', len) != NULL) {
		conf_error(ctx, line, "%s: value contains a NUL byte",
		    key->name);
		return (-1);
	}
	switch (key->type) {
	case CONF_STRING:
		if (len >= CONF_STR_MAX) {
			conf_error(ctx, line, "%s: value is too long "
			    "(%zu bytes, at most %d)", key->name, len,
			    CONF_STR_MAX - 1);
			return (-1);
		}
		if (ctx->apply) {
			memcpy(dst, v, len);
			dst[len] = '\0';
		}
		return (0);
	case CONF_PATH:
		if (len >= PATH_MAX) {
			conf_error(ctx, line, "%s: path is too long "
			    "(%zu bytes, at most %d)", key->name, len,
			    PATH_MAX - 1);
			return (-1);
		}
		memcpy(path, v, len);
		path[len] = '\0';
		if (path[0] != '/') {
			char rel[PATH_MAX];

			memcpy(rel, path, len + 1);
			if (conf_join(path, sizeof(path), ctx->dir, rel) ==
			    -1) {
				conf_error(ctx, line, "%s: path is too long "
				    "once made relative to %s", key->name,
				    ctx->dir);
				return (-1);
			}
		}
		if (ctx->apply)
			memcpy(dst, path, strlen(path) + 1);
		return (0);
	case CONF_INT:
		rc = conf_parse_int(v, len, &ll);
		if (rc == -1) {
			conf_error(ctx, line, "%s: expected an integer, "
			    "got '%s'", key->name, conf_quote(q, v, len));
			return (-1);
		}
		if (rc == -2 || ll < key->min || ll > key->max) {
			conf_error(ctx, line, "%s: %s is out of range "
			    "%lld..%lld", key->name, conf_quote(q, v, len),
			    key->min, key->max);
			return (-1);
		}
		if (ctx->apply)
			memcpy(dst, &ll, sizeof(ll));
		return (0);
	case CONF_BOOL:
		if ((idx = conf_parse_bool(v, len)) == -1) {
			conf_error(ctx, line, "%s: expected true or false "
			    "(or yes/no, on/off), got '%s'", key->name,
			    conf_quote(q, v, len));
			return (-1);
		}
		break;
	case CONF_ENUM:
	case CONF_LOGLEVEL: {
		const char *const *choices = key->type == CONF_ENUM ?
		    key->choices : levels;

		for (i = 0; choices != NULL && choices[i] != NULL; i++) {
			if (strlen(choices[i]) == len &&
			    memcmp(choices[i], v, len) == 0) {
				idx = (int)i;
				break;
			}
		}
		if (idx == -1) {
			conf_choices(list, sizeof(list),
			    choices != NULL ? choices : levels + 4);
			conf_error(ctx, line, "%s: expected one of %s, "
			    "got '%s'", key->name, list,
			    conf_quote(q, v, len));
			return (-1);
		}
		if (key->type == CONF_LOGLEVEL)
			idx = log_level_parse(levels[idx]);
		break;
	}
	default:
		conf_error(ctx, line, "%s: unknown type in the schema",
		    key->name);
		return (-1);
	}
	if (ctx->apply)
		memcpy(dst, &idx, sizeof(idx));
	return (0);
}

/* Reports a libyaml parse failure with the line it happened on. */
static void
conf_yaml_error(struct conf_ctx *ctx, const yaml_parser_t *p)
{
	size_t	 line, i, end;

	if (p->error == YAML_MEMORY_ERROR) {
		conf_error(ctx, 0, "out of memory while reading YAML");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		/* The reader gives a byte offset, not a mark. */
		end = p->problem_offset < ctx->len ? p->problem_offset :
		    ctx->len;
		for (line = 1, i = 0; i < end; i++) {
			if (ctx->buf[i] == '\n')
				line++;
		}
	} else
		line = p->problem_mark.line + 1;
	if (p->context != NULL)
		conf_error(ctx, line, "malformed YAML: %s: %s", p->context,
		    p->problem != NULL ? p->problem : "parse error");
	else
		conf_error(ctx, line, "malformed YAML: %s",
		    p->problem != NULL ? p->problem : "parse error");
}

/* Gets the next event; fills err and returns -1 on a parse error. */
static int
conf_next(struct conf_ctx *ctx, yaml_parser_t *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(p, ev)) {
		conf_yaml_error(ctx, p);
		return (-1);
	}
	return (0);
}

/* Refuses anchors, aliases and tags on a node; what is that node's name. */
static int
conf_plain_node(struct conf_ctx *ctx, const yaml_event_t *ev,
    const char *what)
{
	const yaml_char_t	*anchor = NULL, *tag = NULL;
	size_t			 line = ev->start_mark.line + 1;
	char			 q[CONF_QUOTE_BUF];

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		conf_error(ctx, line, "%s: aliases (*name) are not allowed",
		    what);
		return (-1);
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	default:
		break;
	}
	if (anchor != NULL) {
		conf_error(ctx, line, "%s: anchors (&%s) are not allowed", what,
		    conf_quote(q, (const char *)anchor,
		    strlen((const char *)anchor)));
		return (-1);
	}
	if (tag != NULL) {
		conf_error(ctx, line, "%s: tags (%s) are not allowed", what,
		    conf_quote(q, (const char *)tag,
		    strlen((const char *)tag)));
		return (-1);
	}
	return (0);
}

/* Tells whether a scalar event is YAML's null: empty, "~" or "null". */
static int
conf_is_null(const yaml_event_t *ev)
{
	const char	*v = (const char *)ev->data.scalar.value;
	size_t		 len = ev->data.scalar.length;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (0);
	return (len == 0 || (len == 1 && v[0] == '~') ||
	    (len == 4 && (memcmp(v, "null", 4) == 0 ||
	    memcmp(v, "Null", 4) == 0 || memcmp(v, "NULL", 4) == 0)));
}

/* Names a collection event for messages. */
static const char *
conf_kind(const yaml_event_t *ev)
{
	if (ev->type == YAML_MAPPING_START_EVENT)
		return ("a mapping");
	if (ev->type == YAML_SEQUENCE_START_EVENT)
		return ("a list");
	return ("a scalar");
}

/* Walks the key/value pairs of the root mapping up to its end. */
static int
conf_pairs(struct conf_ctx *ctx, yaml_parser_t *p, unsigned char *seen)
{
	yaml_event_t	 ev;
	char		 q[CONF_QUOTE_BUF];
	const struct conf_key *key;
	const char	*k;
	size_t		 line, klen;
	int		 idx, rc = -1;

	for (;;) {
		if (conf_next(ctx, p, &ev) == -1)
			return (-1);
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return (0);
		}
		line = ev.start_mark.line + 1;
		if (conf_plain_node(ctx, &ev, "key") == -1)
			goto out;
		if (ev.type != YAML_SCALAR_EVENT) {
			conf_error(ctx, line, "a key must be a plain name, "
			    "not %s", conf_kind(&ev));
			goto out;
		}
		k = (const char *)ev.data.scalar.value;
		klen = ev.data.scalar.length;
		if ((idx = conf_find(ctx, k, klen)) == -1) {
			conf_error(ctx, line, "unknown key '%s'",
			    conf_quote(q, k, klen));
			goto out;
		}
		if (seen[idx]) {
			conf_error(ctx, line, "%s: key given twice",
			    ctx->schema[idx].name);
			goto out;
		}
		seen[idx] = 1;
		yaml_event_delete(&ev);

		key = &ctx->schema[idx];
		if (conf_next(ctx, p, &ev) == -1)
			return (-1);
		line = ev.start_mark.line + 1;
		if (conf_plain_node(ctx, &ev, key->name) == -1)
			goto out;
		if (ev.type != YAML_SCALAR_EVENT) {
			conf_error(ctx, line, "%s: expected a single value, "
			    "got %s", key->name, conf_kind(&ev));
			goto out;
		}
		if (conf_value(ctx, key, line,
		    (const char *)ev.data.scalar.value,
		    conf_is_null(&ev) ? 0 : ev.data.scalar.length) == -1)
			goto out;
		yaml_event_delete(&ev);
	}
out:
	yaml_event_delete(&ev);
	return (rc);
}

/* One pass over the buffer: checks everything, stores when ctx->apply. */
static int
conf_pass(struct conf_ctx *ctx)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	unsigned char	 seen[CONF_KEYS_MAX];
	size_t		 line, doc_line;
	int		 rc = -1, have_ev = 0;

	memset(seen, 0, sizeof(seen));
	if (!yaml_parser_initialize(&p)) {
		conf_error(ctx, 0, "out of memory while reading YAML");
		return (-1);
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)ctx->buf,
	    ctx->len);

	/* Stream start, then the one document. */
	if (conf_next(ctx, &p, &ev) == -1)
		goto out;
	yaml_event_delete(&ev);
	if (conf_next(ctx, &p, &ev) == -1)
		goto out;
	have_ev = 1;
	if (ev.type == YAML_STREAM_END_EVENT) {
		conf_error(ctx, 1, "the file is empty (no settings, only "
		    "comments or blank lines)");
		goto out;
	}
	doc_line = ev.start_mark.line + 1;
	yaml_event_delete(&ev);
	have_ev = 0;

	/* The root node: a mapping. */
	if (conf_next(ctx, &p, &ev) == -1)
		goto out;
	have_ev = 1;
	line = ev.start_mark.line + 1;
	if (conf_plain_node(ctx, &ev, "document") == -1)
		goto out;
	if (ev.type == YAML_SCALAR_EVENT && conf_is_null(&ev)) {
		conf_error(ctx, doc_line, "the document is empty");
		goto out;
	}
	if (ev.type != YAML_MAPPING_START_EVENT) {
		conf_error(ctx, line, "expected a mapping of 'key: value' "
		    "lines, got %s", conf_kind(&ev));
		goto out;
	}
	yaml_event_delete(&ev);
	have_ev = 0;

	if (conf_pairs(ctx, &p, seen) == -1)
		goto out;

	/* Document end, then nothing but the stream end. */
	if (conf_next(ctx, &p, &ev) == -1)
		goto out;
	yaml_event_delete(&ev);
	if (conf_next(ctx, &p, &ev) == -1)
		goto out;
	have_ev = 1;
	if (ev.type != YAML_STREAM_END_EVENT) {
		conf_error(ctx, ev.start_mark.line + 1, "a second document "
		    "is not allowed (one file holds one mapping)");
		goto out;
	}
	rc = 0;
out:
	if (have_ev)
		yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	return (rc);
}

/* Loads a configuration held in buf; see conf.h. */
int
conf_load_buf(const char *name, const char *dir, const char *buf,
    size_t len, const struct conf_key *schema, void *out,
    char err[CONF_ERR_MAX])
{
	struct conf_ctx	ctx;
	char		absdir[PATH_MAX];

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name != NULL ? name : "(configuration)";
	ctx.err = err;
	err[0] = '\0';
	while (schema[ctx.nkeys].name != NULL)
		ctx.nkeys++;
	if (ctx.nkeys > CONF_KEYS_MAX) {
		conf_error(&ctx, 0, "schema has more than %d keys",
		    CONF_KEYS_MAX);
		return (-1);
	}
	if (len > CONF_FILE_MAX) {
		conf_error(&ctx, 0, "file is too large (more than %d bytes)",
		    CONF_FILE_MAX);
		return (-1);
	}
	if (conf_absdir(absdir, dir) == -1) {
		conf_error(&ctx, 0, "cannot resolve the folder of the file: "
		    "%s", strerror(errno));
		return (-1);
	}
	ctx.dir = absdir;
	ctx.buf = buf != NULL ? buf : "";
	ctx.len = buf != NULL ? len : 0;
	ctx.schema = schema;
	ctx.out = out;

	/* Check everything first so that a bad file changes nothing. */
	ctx.apply = 0;
	if (conf_pass(&ctx) == -1)
		return (-1);
	ctx.apply = 1;
	return (conf_pass(&ctx));
}

/* Reads a whole file of at most CONF_FILE_MAX bytes into *bufp. */
static int
conf_read(const char *path, char **bufp, size_t *lenp, char *err)
{
	char	*buf = NULL, *nbuf;
	size_t	 cap = 0, len = 0;
	ssize_t	 n;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
		return (-1);
	}
	for (;;) {
		if (len == cap) {
			if (cap > CONF_FILE_MAX) {
				snprintf(err, CONF_ERR_MAX, "%s: file is too "
				    "large (more than %d bytes)", path,
				    CONF_FILE_MAX);
				goto out;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				snprintf(err, CONF_ERR_MAX, "%s: %s", path,
				    strerror(errno));
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, CONF_ERR_MAX, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return (rc);
}

/* Loads path into out according to schema; see conf.h. */
int
conf_load(const char *path, const struct conf_key *schema, void *out,
    char err[CONF_ERR_MAX])
{
	char	*buf = NULL;
	char	 dir[PATH_MAX], absdir[PATH_MAX];
	size_t	 len = 0;
	int	 rc = -1;

	err[0] = '\0';
	if (strlen(path) >= sizeof(dir)) {
		snprintf(err, CONF_ERR_MAX, "%.64s...: %s", path,
		    strerror(ENAMETOOLONG));
		return (-1);
	}
	if (conf_read(path, &buf, &len, err) == -1)
		return (-1);

	/* Relative paths in the file are relative to its folder. */
	if (util_dirname(dir, sizeof(dir), path) != 0 ||
	    realpath(dir, absdir) == NULL) {
		snprintf(err, CONF_ERR_MAX, "%s: cannot resolve its folder: %s",
		    path, strerror(errno));
		goto out;
	}
	rc = conf_load_buf(path, absdir, buf, len, schema, out, err);
out:
	free(buf);
	return (rc);
}

/* Joins file to the working directory. */
static void
conf_cwd_path(char out[PATH_MAX], const char *file)
{
	char	absdir[PATH_MAX];

	if (conf_absdir(absdir, NULL) == 0 &&
	    conf_join(out, PATH_MAX, absdir, file) == 0)
		return;
	/* No usable folder: the bare name still means the cwd. */
	snprintf(out, PATH_MAX, "%s", file);
}

/* Joins file to the first folder of $STATE_DIRECTORY, or the cwd. */
static void
conf_state_path(char out[PATH_MAX], const char *file)
{
	const char	*env;
	char		 dir[PATH_MAX], absdir[PATH_MAX];
	size_t		 n;

	env = getenv("STATE_DIRECTORY");
	if (env != NULL && *env != '\0' && *env != ':') {
		n = strcspn(env, ":");
		if (n < sizeof(dir)) {
			memcpy(dir, env, n);
			dir[n] = '\0';
			if (conf_absdir(absdir, dir) == 0 &&
			    conf_join(out, PATH_MAX, absdir, file) == 0)
				return;
		}
	}
	conf_cwd_path(out, file);
}

/* Fills the daemon's embedded defaults. */
void
server_conf_defaults(struct server_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->server_address, sizeof(c->server_address), "127.0.0.1");
	c->server_port = 10000;
	conf_state_path(c->server_public_key, "server.pub");
	conf_state_path(c->server_private_key, "server.key");
	conf_state_path(c->data_base, "sealchat.db");
	c->log_level = LOG_LVL_INFO;
	c->hash_cost = COST_INTERACTIVE;
	c->hash_workers = 2;
	c->hash_queue = 1024;
	c->max_frame = 65536;
	c->max_sessions = 4096;
	c->max_unauth = 512;
	c->max_unauth_per_addr = 32;
	c->login_timeout = 30;
	c->keepalive_interval = 15;
	c->keepalive_timeout = 45;
	c->output_cap = 1048576;
	c->fail_delay_ms = 250;
	c->fail_free = 3;
}

/* Returns the user's configuration folder ($XDG_CONFIG_HOME or ~/.config). */
static int
conf_user_dir(char out[PATH_MAX])
{
	const char	*env, *home = NULL;
	struct passwd	*pw;
	int		 n;

	env = getenv("XDG_CONFIG_HOME");
	if (env != NULL && env[0] == '/') {
		n = snprintf(out, PATH_MAX, "%s", env);
		return (n < 0 || n >= PATH_MAX ? -1 : 0);
	}
	env = getenv("HOME");
	if (env != NULL && env[0] == '/')
		home = env;
	else if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    pw->pw_dir[0] == '/')
		home = pw->pw_dir;
	if (home == NULL)
		return (-1);
	n = snprintf(out, PATH_MAX, "%s/.config", home);
	return (n < 0 || n >= PATH_MAX ? -1 : 0);
}

/* Fills the client's embedded defaults. */
void
client_conf_defaults(struct client_conf *c)
{
	char	dir[PATH_MAX];

	memset(c, 0, sizeof(*c));
	snprintf(c->server_address, sizeof(c->server_address), "127.0.0.1");
	c->server_port = 10000;
	if (conf_user_dir(dir) == -1 ||
	    conf_join(c->server_public_key, sizeof(c->server_public_key), dir,
	    "sealchat/server.pub") == -1)
		conf_cwd_path(c->server_public_key, "server.pub");
	snprintf(c->udp_address, sizeof(c->udp_address), "auto");
	c->udp_port = 0;
	c->connect_timeout = 10;
	c->reply_timeout = 30;
	c->send_retries = 6;
	c->retry_interval_ms = 500;
	c->pair_timeout = 10;
	c->drain_timeout = 10;
	c->log_level = LOG_LVL_WARN;
}
