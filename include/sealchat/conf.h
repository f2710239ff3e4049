/* SPDX-License-Identifier: ISC */
/*
 * Configuration files (YAML, read with libyaml; src/common/conf.c is its
 * only user).  A file is one mapping of scalar keys to scalar values.  Any
 * problem stops the program: conf_load() fills err with "FILE:LINE: what is
 * wrong" and returns -1; the caller exits with EX_CONFIG (78).
 *
 * Each program describes its settings as rows (struct conf_key), one per
 * key: src/server/config.c for sealchatd, src/client/config.c for sealchat.
 * This file knows no key of either; it reads, fills, compares and writes
 * values as the rows say.
 */
#ifndef SEALCHAT_CONF_H
#define SEALCHAT_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#define CONF_ERR_MAX	512
#define CONF_STR_MAX	256
#define CONF_KEYS_MAX	64		/* rows in one table */

enum conf_type {
	CONF_STRING,	/* char[CONF_STR_MAX], non-empty */
	CONF_PATH,	/* char[PATH_MAX], relative to the file's folder */
	CONF_INT,	/* long long, decimal, within [min, max] */
	CONF_BOOL,	/* int: true/false/yes/no/on/off */
	CONF_ENUM,	/* int: index of the value in choices[] */
};

/* When a running program takes a changed value. */
enum conf_reload {
	CONF_RESTART = 0,	/* only at the next start */
	CONF_LIVE,		/* when it reads its file again (SIGHUP) */
};

/*
 * One setting.  A table of rows ends with a row whose name is NULL; its
 * order is the order in which conf_print() writes the keys.
 */
struct conf_key {
	const char		*name;
	enum conf_type		 type;
	size_t			 offset;	/* of the field in the struct */
	long long		 min;		/* CONF_INT */
	long long		 max;
	const char *const	*choices;	/* CONF_ENUM, NULL-terminated */
	long long		 def;		/* default: CONF_INT, CONF_BOOL,
						   CONF_ENUM (an index) */
	const char		*def_str;	/* default: CONF_STRING;
						   CONF_PATH a name in the
						   default folder */
	enum conf_reload	 reload;
	const char		*help;		/* one line: what it sets */
};

/*
 * Loads path into out according to the rows.  Keys absent from the file
 * keep the values already in out.  Relative CONF_PATH values are resolved
 * against the folder of path.  Rejected: a missing or unreadable file,
 * malformed YAML, an empty file, more than one document, anchors and
 * aliases, tags, anything but a mapping of scalars, an unknown or repeated
 * key, a wrong type, a value out of range.  A refused file leaves out as it
 * was.
 */
int	conf_load(const char *path, const struct conf_key *rows, void *out,
	    char err[CONF_ERR_MAX]);
/* Same on a buffer (fuzzing, tests); name is used in messages. */
int	conf_load_buf(const char *name, const char *dir, const char *buf,
	    size_t len, const struct conf_key *rows, void *out,
	    char err[CONF_ERR_MAX]);

/*
 * Stores every row's default in out.  The default of a CONF_PATH row is
 * a file name joined to the first folder of dirs (NULL-terminated, may be
 * empty) with which it fits in PATH_MAX, else the bare name.
 */
void	conf_defaults(const struct conf_key *rows, void *out,
	    const char *const *dirs);
/* Tells whether the row's value is the same in a and b. */
int	conf_equal(const struct conf_key *, const void *a, const void *b);
/* Copies the row's value from src to dst. */
void	conf_copy(const struct conf_key *, void *dst, const void *src);
/*
 * Writes conf as a configuration file: one "key: value" line per row, in
 * row order, each value spelled so that conf_load() reads it back the same
 * (quoted where YAML needs it).  Returns 0, or -1 when writing failed.
 */
int	conf_print(FILE *, const struct conf_key *rows, const void *conf);

/*
 * Makes dir absolute: canonical when it exists, else joined to the working
 * directory (dir NULL or empty: the working directory).  -1 with errno.
 */
int	conf_absdir(char out[PATH_MAX], const char *dir);
/*
 * Joins folder dir and relative path rel into out, taking leading "./"
 * and "../" of rel off lexically.  -1 when the result does not fit.
 */
int	conf_join(char *out, size_t out_len, const char *dir, const char *rel);

#endif
