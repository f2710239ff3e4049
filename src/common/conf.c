/* SPDX-License-Identifier: ISC */
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
 *
 * The file knows no setting by name: each program hands it a table of rows
 * (src/server/config.c, src/client/config.c).  Besides reading, it fills
 * the rows' defaults, compares and copies one setting (a reload walks the
 * rows with these), and writes a configuration back as a file that it reads
 * the same (sealchatd -T).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "sealchat/conf.h"
#include "sealchat/util.h"

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes of configuration read */
#define CONF_QUOTE_MAX	64		/* bytes of a bad value shown */
#define CONF_QUOTE_BUF	(4 * CONF_QUOTE_MAX + 4)

/* One parse of one buffer. */
struct conf_ctx {
	const char	*name;		/* file name for messages */
	const char	*dir;		/* absolute folder for relative paths */
	const char	*buf;
	size_t		 len;
	const struct conf_key *rows;
	size_t		 nkeys;
	void		*out;
	int		 apply;		/* 0: check only, 1: store */
	char		*err;
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
 * of rel are taken off lexically, which is exact when dir is a canonical
 * folder.  Returns -1 when the result does not fit.
 */
int
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
int
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

/* Finds key (len bytes) in the rows; -1 when it is not there. */
static int
conf_find(struct conf_ctx *ctx, const char *key, size_t len)
{
	size_t	i;

	for (i = 0; i < ctx->nkeys; i++) {
		if (strlen(ctx->rows[i].name) == len &&
		    memcmp(ctx->rows[i].name, key, len) == 0)
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
	for (i = 0; choices != NULL && choices[i] != NULL; i++) {
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
		for (i = 0; key->choices != NULL && key->choices[i] != NULL;
		    i++) {
			if (strlen(key->choices[i]) == len &&
			    memcmp(key->choices[i], v, len) == 0) {
				idx = (int)i;
				break;
			}
		}
		if (idx == -1) {
			conf_choices(list, sizeof(list), key->choices);
			conf_error(ctx, line, "%s: expected one of %s, "
			    "got '%s'", key->name, list,
			    conf_quote(q, v, len));
			return (-1);
		}
		break;
	default:
		conf_error(ctx, line, "%s: unknown type in its row",
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
			    ctx->rows[idx].name);
			goto out;
		}
		seen[idx] = 1;
		yaml_event_delete(&ev);

		key = &ctx->rows[idx];
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
    size_t len, const struct conf_key *rows, void *out,
    char err[CONF_ERR_MAX])
{
	struct conf_ctx	ctx;
	char		absdir[PATH_MAX];

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name != NULL ? name : "(configuration)";
	ctx.err = err;
	err[0] = '\0';
	while (rows[ctx.nkeys].name != NULL)
		ctx.nkeys++;
	if (ctx.nkeys > CONF_KEYS_MAX) {
		conf_error(&ctx, 0, "more than %d rows",
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
	ctx.rows = rows;
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
	char	*buf;
	int	 rc;

	if ((buf = malloc(CONF_FILE_MAX + 1)) == NULL) {
		snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
		return (-1);
	}
	rc = util_read_file(path, buf, CONF_FILE_MAX + 1, lenp);
	if (rc == -1)
		snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
	else if (rc == 1)
		snprintf(err, CONF_ERR_MAX, "%s: file is too large (more "
		    "than %d bytes)", path, CONF_FILE_MAX);
	if (rc != 0) {
		free(buf);
		return (-1);
	}
	*bufp = buf;
	return (0);
}

/* Loads path into out according to the rows; see conf.h. */
int
conf_load(const char *path, const struct conf_key *rows, void *out,
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
	rc = conf_load_buf(path, absdir, buf, len, rows, out, err);
out:
	free(buf);
	return (rc);
}

/* The size of the row's field in the caller's struct. */
static size_t
conf_size(const struct conf_key *key)
{
	switch (key->type) {
	case CONF_STRING:
		return (CONF_STR_MAX);
	case CONF_PATH:
		return (PATH_MAX);
	case CONF_INT:
		return (sizeof(long long));
	case CONF_BOOL:
	case CONF_ENUM:
		break;
	}
	return (sizeof(int));
}

/* Joins a default file name to the first folder of dirs it fits in. */
static void
conf_default_path(char out[PATH_MAX], const char *name,
    const char *const *dirs)
{
	size_t	i;

	if (name[0] != '/') {
		for (i = 0; dirs != NULL && dirs[i] != NULL; i++) {
			if (conf_join(out, PATH_MAX, dirs[i], name) == 0)
				return;
		}
	}
	/* No folder to put it in: the bare name still means the cwd. */
	snprintf(out, PATH_MAX, "%s", name);
}

/* Stores every row's default in out; see conf.h. */
void
conf_defaults(const struct conf_key *rows, void *out,
    const char *const *dirs)
{
	const struct conf_key	*key;
	const char		*def;
	char			*dst;
	int			 v;

	for (key = rows; key->name != NULL; key++) {
		dst = (char *)out + key->offset;
		def = key->def_str != NULL ? key->def_str : "";
		switch (key->type) {
		case CONF_STRING:
			snprintf(dst, CONF_STR_MAX, "%s", def);
			break;
		case CONF_PATH:
			conf_default_path(dst, def, dirs);
			break;
		case CONF_INT:
			memcpy(dst, &key->def, sizeof(key->def));
			break;
		case CONF_BOOL:
		case CONF_ENUM:
			v = (int)key->def;
			memcpy(dst, &v, sizeof(v));
			break;
		}
	}
}

/* Tells whether the row's value is the same in a and b. */
int
conf_equal(const struct conf_key *key, const void *a, const void *b)
{
	const char	*pa = (const char *)a + key->offset;
	const char	*pb = (const char *)b + key->offset;

	if (key->type == CONF_STRING || key->type == CONF_PATH)
		return (strncmp(pa, pb, conf_size(key)) == 0);
	return (memcmp(pa, pb, conf_size(key)) == 0);
}

/* Copies the row's value from src to dst. */
void
conf_copy(const struct conf_key *key, void *dst, const void *src)
{
	memcpy((char *)dst + key->offset, (const char *)src + key->offset,
	    conf_size(key));
}

/*
 * Tells whether s may be written as a plain YAML scalar that any reader
 * takes for this same string: ASCII letters, digits and "/._-+@~=" only,
 * starting with a letter, a digit, '/' or '_', and no word that YAML reads
 * as a null, a boolean or a number.
 */
static int
conf_plain(const char *s, size_t len)
{
	static const char *const words[] = {
		"null", "true", "false", "yes", "no", "on", "off", "y", "n",
		NULL
	};
	char	 num[64], *end;
	size_t	 i;
	int	 c;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '/' || c == '_')
			continue;
		if (i > 0 && strchr(".-+@~=", c) != NULL)
			continue;
		return (0);
	}
	for (i = 0; words[i] != NULL; i++) {
		if (strlen(words[i]) == len &&
		    strncasecmp(words[i], s, len) == 0)
			return (0);
	}
	if (len < sizeof(num)) {
		memcpy(num, s, len);
		num[len] = '\0';
		(void)strtod(num, &end);
		if (end != num && *end == '\0')
			return (0);
	}
	return (1);
}

/*
 * Writes len bytes of s as one YAML scalar, double-quoted when needed.
 * Inside the quotes, what a YAML reader would not give back as it is gets
 * an escape: '"' and '\\', C0 and C1 control characters, the Unicode line
 * and paragraph separators, the byte order mark and the two non-characters
 * U+FFFE and U+FFFF.  Other UTF-8 goes through as it is.
 */
static void
conf_print_scalar(FILE *f, const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i;

	if (conf_plain(s, len)) {
		fwrite(s, 1, len, f);
		return;
	}
	fputc('"', f);
	for (i = 0; i < len; i++) {
		if (u[i] == '"' || u[i] == '\\')
			fprintf(f, "\\%c", u[i]);
		else if (u[i] == '\t')
			fputs("\\t", f);
		else if (u[i] == '\n')
			fputs("\\n", f);
		else if (u[i] < 0x20 || u[i] == 0x7f)
			fprintf(f, "\\x%02x", (unsigned)u[i]);
		else if (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 &&
		    u[i + 1] <= 0x9f) {
			fprintf(f, "\\x%02x", (unsigned)u[i + 1]);
			i += 1;
		} else if (i + 2 < len && ((u[i] == 0xe2 && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) ||
		    (u[i] == 0xef && u[i + 1] == 0xbb && u[i + 2] == 0xbf) ||
		    (u[i] == 0xef && u[i + 1] == 0xbf && u[i + 2] >= 0xbe))) {
			/* Three bytes: 1110xxxx 10xxxxxx 10xxxxxx. */
			fprintf(f, "\\u%04x", ((unsigned)(u[i] & 0x0f) << 12) |
			    ((unsigned)(u[i + 1] & 0x3f) << 6) |
			    (unsigned)(u[i + 2] & 0x3f));
			i += 2;
		} else
			fputc(u[i], f);
	}
	fputc('"', f);
}

/* Writes conf as a configuration file, one row a line; see conf.h. */
int
conf_print(FILE *f, const struct conf_key *rows, const void *conf)
{
	const struct conf_key	*key;
	const char		*p;
	long long		 ll;
	size_t			 n;
	int			 v;

	for (key = rows; key->name != NULL; key++) {
		p = (const char *)conf + key->offset;
		fprintf(f, "%s: ", key->name);
		switch (key->type) {
		case CONF_STRING:
		case CONF_PATH:
			conf_print_scalar(f, p, strnlen(p, conf_size(key) - 1));
			break;
		case CONF_INT:
			memcpy(&ll, p, sizeof(ll));
			fprintf(f, "%lld", ll);
			break;
		case CONF_BOOL:
			memcpy(&v, p, sizeof(v));
			fputs(v ? "true" : "false", f);
			break;
		case CONF_ENUM:
			memcpy(&v, p, sizeof(v));
			for (n = 0; key->choices != NULL &&
			    key->choices[n] != NULL; n++)
				;
			if (v < 0 || (size_t)v >= n) {
				errno = EINVAL;
				return (-1);
			}
			conf_print_scalar(f, key->choices[v],
			    strlen(key->choices[v]));
			break;
		}
		fputc('\n', f);
	}
	if (fflush(f) != 0 || ferror(f))
		return (-1);
	return (0);
}
