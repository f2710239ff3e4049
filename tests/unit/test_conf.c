/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/common/conf.c, the loader: relative paths, every kind
 * of bad file (each refused with "FILE:LINE: what is wrong" and leaving the
 * settings as they were), defaults put in their folders, one row compared
 * and copied, and the writer whose output the loader reads back the same.
 * The bad files are read with the daemon's rows, so the messages are the
 * ones an operator sees; tests/unit/test_config.c tests the rows.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealchat/conf.h"
#include "sealchat/log.h"
#include "server/config.h"

#include "conf_fixture.h"

/* Loads text, expects failure with the given line and message. */
static void
expect_bad(struct conf_fixture *f, const char *text, int line,
    const char *msg)
{
	struct server_conf	before = f->sc;

	if (conf_fixture_load(f, text) != -1)
		fail_msg("accepted: %s", text);
	conf_fixture_assert_error(f, line, msg);
	/* A refused file leaves every setting as it was. */
	assert_memory_equal(&before, &f->sc, sizeof(before));
}

static void
test_absent_keys_keep_their_values(void **state)
{
	struct conf_fixture	*f = *state;
	struct server_conf	 d;

	server_config_defaults(&d);
	if (conf_fixture_load(f, "# only the port\nserver_port: 10001\n") != 0)
		fail_msg("%s", f->err);
	assert_int_equal(f->sc.server_port, 10001);
	d.server_port = 10001;
	assert_memory_equal(&d, &f->sc, sizeof(d));
}

static void
test_relative_paths_are_relative_to_the_file_folder(void **state)
{
	struct conf_fixture	*f = *state;
	char		 sub[PATH_MAX + 8], file[PATH_MAX + 32];
	char		 want[PATH_MAX + 64], old[PATH_MAX];
	const char	*text = "server_public_key: keys/server.pub\n"
	    "server_private_key: ./keys/server.key\n"
	    "data_base: ../state/sealchat.db\n";

	snprintf(sub, sizeof(sub), "%s/conf", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(file, sizeof(file), "%s/sealchatd.yaml", sub);
	tmpdir_write(file, text, strlen(text), 0644);

	/* The working directory plays no part. */
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir("/"), 0);
	if (conf_load(file, server_config_rows, &f->sc, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(chdir(old), 0);
	snprintf(want, sizeof(want), "%s/keys/server.pub", sub);
	assert_string_equal(f->sc.server_public_key, want);
	snprintf(want, sizeof(want), "%s/keys/server.key", sub);
	assert_string_equal(f->sc.server_private_key, want);
	snprintf(want, sizeof(want), "%s/state/sealchat.db", f->dir);
	assert_string_equal(f->sc.data_base, want);

	/* A relative name of the file itself works the same way. */
	server_config_defaults(&f->sc);
	assert_int_equal(chdir(f->dir), 0);
	if (conf_load("conf/sealchatd.yaml", server_config_rows, &f->sc,
	    f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(chdir(old), 0);
	assert_string_equal(f->sc.data_base, want);
	snprintf(want, sizeof(want), "%s/keys/server.pub", sub);
	assert_string_equal(f->sc.server_public_key, want);
}

static void
test_unknown_key_is_refused_with_its_line(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_port: 10000\n\nlisten_port: 5\n", 3,
	    "unknown key 'listen_port'");
	/* Control characters in a key are shown escaped. */
	expect_bad(f, "\"a\\tb\\x1b\": 1\n", 1, "unknown key 'a\\tb\\x1b'");
}

static void
test_wrong_type_is_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_address: x\nserver_port: abc\n", 2,
	    "server_port: expected an integer, got 'abc'");
	expect_bad(f, "server_port: 10000x\n", 1,
	    "server_port: expected an integer, got '10000x'");
	expect_bad(f, "server_port: +5\n", 1,
	    "server_port: expected an integer, got '+5'");
	expect_bad(f, "server_port: 0x10\n", 1,
	    "server_port: expected an integer, got '0x10'");
	expect_bad(f, "server_port: 010\n", 1,
	    "server_port: expected an integer, got '010'");
	expect_bad(f, "server_port: 1.5\n", 1,
	    "server_port: expected an integer, got '1.5'");
	expect_bad(f, "server_port: \"1 \"\n", 1,
	    "server_port: expected an integer, got '1 '");
	expect_bad(f, "hash_cost: fast\n", 1, "hash_cost: expected one of "
	    "min, interactive, moderate, sensitive, got 'fast'");
	expect_bad(f, "log_level: loud\n", 1, "log_level: expected one of "
	    "error, warn, info, debug, got 'loud'");
}

static void
test_out_of_range_is_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_port: 70000\n", 1,
	    "server_port: 70000 is out of range 1..65535");
	expect_bad(f, "server_port: 0\n", 1,
	    "server_port: 0 is out of range 1..65535");
	expect_bad(f, "server_port: -1\n", 1,
	    "server_port: -1 is out of range 1..65535");
	expect_bad(f, "server_port: 99999999999999999999999\n", 1,
	    "server_port: 99999999999999999999999 is out of range 1..65535");
	expect_bad(f, "max_frame: 1023\n", 1,
	    "max_frame: 1023 is out of range 1024..1048576");
	expect_bad(f, "hash_workers: 65\n", 1,
	    "hash_workers: 65 is out of range 1..64");
	expect_bad(f, "keepalive_timeout: 1\n", 1,
	    "keepalive_timeout: 1 is out of range 2..65535");
	/* WELCOME carries it in 16 bits: the row stops where the wire does. */
	expect_bad(f, "keepalive_timeout: 65536\n", 1,
	    "keepalive_timeout: 65536 is out of range 2..65535");
	expect_bad(f, "output_cap: 1073741825\n", 1,
	    "output_cap: 1073741825 is out of range 4096..1073741824");
}

static void
test_integer_limits_of_long_long(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "fail_free: 9223372036854775807\n", 1,
	    "fail_free: 9223372036854775807 is out of range 0..1000");
	expect_bad(f, "fail_free: 9223372036854775808\n", 1,
	    "fail_free: 9223372036854775808 is out of range 0..1000");
	expect_bad(f, "fail_free: -9223372036854775809\n", 1,
	    "fail_free: -9223372036854775809 is out of range 0..1000");
	expect_bad(f, "fail_free: '-'\n", 1,
	    "fail_free: expected an integer, got '-'");
}

static void
test_malformed_yaml_is_refused_with_its_line(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_port: 1\nserver_address: a: b\n", 2,
	    "malformed YAML: mapping values are not allowed");
	expect_bad(f, "server_port: 1\nserver_address: 'x\n", 3,
	    "malformed YAML: ");
	expect_bad(f, "server_port: 1\nserver_address: \"x\n", 3,
	    "malformed YAML: ");
	expect_bad(f, "server_port: 1\n\tserver_address: x\n", 2,
	    "malformed YAML: ");
	/* Bytes that are not UTF-8, and control characters. */
	expect_bad(f, "server_port: 1\nserver_address: \xff\n", 2,
	    "malformed YAML: ");
	expect_bad(f, "server_port: 1\n\nserver_address: \x01\n", 3,
	    "malformed YAML: ");
}

static void
test_empty_file_is_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "", 1, "the file is empty");
	expect_bad(f, "\n\n", 1, "the file is empty");
	expect_bad(f, "# nothing but a comment\n# and another\n", 1,
	    "the file is empty");
	expect_bad(f, "# comment\n---\n", 2, "the document is empty");
	expect_bad(f, "~\n", 1, "the document is empty");
}

static void
test_second_document_is_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_port: 1\n---\nserver_port: 2\n", 2,
	    "a second document is not allowed");
	expect_bad(f, "---\nserver_port: 1\n...\n---\n", 4,
	    "a second document is not allowed");
}

static void
test_anchors_and_aliases_are_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_port: 1\nserver_address: &host x\n", 2,
	    "server_address: anchors (&host) are not allowed");
	expect_bad(f, "server_port: 1\n\nserver_address: *host\n", 3,
	    "server_address: aliases (*name) are not allowed");
	expect_bad(f, "&root\nserver_port: 1\n", 1,
	    "document: anchors (&root) are not allowed");
	expect_bad(f, "&k server_port: 1\n", 1,
	    "key: anchors (&k) are not allowed");
	expect_bad(f, "base: &b\n  server_port: 1\n<<: *b\n", 1,
	    "unknown key 'base'");
}

static void
test_tags_are_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_port: !!int 5\n", 1, "server_port: tags (");
	expect_bad(f, "server_address: !local x\n", 1,
	    "server_address: tags (!local) are not allowed");
	expect_bad(f, "--- !!map\nserver_port: 5\n", 1, "document: tags (");
}

static void
test_structure_other_than_a_mapping_of_scalars_is_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "- server_port\n- 5\n", 1,
	    "expected a mapping of 'key: value' lines, got a list");
	expect_bad(f, "just words\n", 1,
	    "expected a mapping of 'key: value' lines, got a scalar");
	expect_bad(f, "server_port: 1\nserver_address:\n  - a\n  - b\n", 3,
	    "server_address: expected a single value, got a list");
	expect_bad(f, "server_address: {host: a}\n", 1,
	    "server_address: expected a single value, got a mapping");
	expect_bad(f, "? [a, b]\n: 1\n", 1,
	    "a key must be a plain name, not a list");
}

static void
test_repeated_key_is_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_port: 1\nhash_workers: 2\nserver_port: 1\n", 3,
	    "server_port: key given twice");
}

static void
test_empty_and_null_values_are_refused(void **state)
{
	struct conf_fixture	*f = *state;

	expect_bad(f, "server_address: ''\n", 1, "server_address: value is "
	    "empty");
	expect_bad(f, "server_port:\n", 1, "server_port: value is empty");
	expect_bad(f, "data_base: ~\n", 1, "data_base: value is empty");
	expect_bad(f, "log_level: null\n", 1, "log_level: value is empty");
	expect_bad(f, "server_address: \"a\\0b\"\n", 1,
	    "server_address: value contains a NUL byte");
}

static void
test_too_long_values_are_refused(void **state)
{
	struct conf_fixture	*f = *state;
	char		*text;
	size_t		 n = PATH_MAX + 64;

	assert_non_null(text = malloc(n + 64));
	/* 255 bytes fit in a string, 256 do not. */
	snprintf(text, n, "server_address: %0255d\n", 7);
	if (conf_fixture_load(f, text) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(strlen(f->sc.server_address), 255);
	server_config_defaults(&f->sc);
	snprintf(text, n, "server_address: %0256d\n", 7);
	expect_bad(f, text, 1, "server_address: value is too long (256 bytes, "
	    "at most 255)");
	/* A path that overflows PATH_MAX, alone or joined to the folder. */
	snprintf(text, n, "data_base: /%0*d\n", PATH_MAX, 7);
	expect_bad(f, text, 1, "data_base: path is too long");
	snprintf(text, n, "data_base: %0*d\n", PATH_MAX - 2, 7);
	expect_bad(f, text, 1, "data_base: path is too long once made "
	    "relative to");
	free(text);
}

static void
test_missing_file_names_the_file(void **state)
{
	struct conf_fixture	*f = *state;
	char		 path[PATH_MAX + 16], want[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/absent.yaml", f->dir);
	assert_int_equal(conf_load(path, server_config_rows, &f->sc, f->err),
	    -1);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(f->err, want);
	/* A folder is not a configuration file. */
	assert_int_equal(conf_load(f->dir, server_config_rows, &f->sc, f->err),
	    -1);
	snprintf(want, sizeof(want), "%s: %s", f->dir, strerror(EISDIR));
	assert_string_equal(f->err, want);
}

static void
test_accepted_yaml_spellings(void **state)
{
	struct conf_fixture	*f = *state;

	/* Quoting, comments, directives and an explicit document. */
	if (conf_fixture_load(f, "%YAML 1.1\n---\n# comment\n"
	    "'server_port': \"7\"  # x\nserver_address: 'a b'\n...\n") != 0)
		fail_msg("%s", f->err);
	assert_int_equal(f->sc.server_port, 7);
	assert_string_equal(f->sc.server_address, "a b");
	/* Flow mapping at the root and a UTF-8 value. */
	if (conf_fixture_load(f,
	    "{server_port: 8, server_address: \"h\xc3\xb4te\"}") != 0)
		fail_msg("%s", f->err);
	assert_int_equal(f->sc.server_port, 8);
	assert_string_equal(f->sc.server_address, "h\xc3\xb4te");
}

/* Rows with a bool, for the one type the programs' rows lack. */
struct flags {
	int		verbose;
	long long	n;
};

static const struct conf_key flags_rows[] = {
	{ .name = "verbose", .type = CONF_BOOL,
	    .offset = offsetof(struct flags, verbose) },
	{ .name = "n", .type = CONF_INT, .offset = offsetof(struct flags, n),
	    .min = -5, .max = 5 },
	{ .name = NULL }
};

static void
test_booleans_and_buffers(void **state)
{
	struct flags	 fl;
	char		 err[CONF_ERR_MAX];
	const char	*yes[] = { "true", "yes", "on", "True", "YES" };
	const char	*no[] = { "false", "no", "off", "False", "OFF" };
	char		 text[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < 5; i++) {
		fl.verbose = -1;
		snprintf(text, sizeof(text), "verbose: %s\n", yes[i]);
		assert_int_equal(conf_load_buf("t.yaml", "/", text,
		    strlen(text), flags_rows, &fl, err), 0);
		assert_int_equal(fl.verbose, 1);
		snprintf(text, sizeof(text), "verbose: %s\n", no[i]);
		assert_int_equal(conf_load_buf("t.yaml", "/", text,
		    strlen(text), flags_rows, &fl, err), 0);
		assert_int_equal(fl.verbose, 0);
	}
	snprintf(text, sizeof(text), "n: -5\nverbose: 1\n");
	assert_int_equal(conf_load_buf("t.yaml", "/", text, strlen(text),
	    flags_rows, &fl, err), -1);
	assert_string_equal(err, "t.yaml:2: verbose: expected true or false "
	    "(or yes/no, on/off), got '1'");
	/* A buffer is not a C string: a NUL inside is an error, not an end. */
	assert_int_equal(conf_load_buf("t.yaml", "/", "n: 1\0n: 2\n", 10,
	    flags_rows, &fl, err), -1);
	assert_int_equal(strncmp(err, "t.yaml:1: malformed YAML: ", 26), 0);
	assert_int_equal(conf_load_buf("t.yaml", "/", "n: -5", 5,
	    flags_rows, &fl, err), 0);
	assert_int_equal(fl.n, -5);
}

/* Rows of every type, for the parts of the loader no row table reaches. */
struct sample {
	char		name[CONF_STR_MAX];
	char		file[PATH_MAX];
	char		abs[PATH_MAX];
	long long	n;
	int		on;
	int		colour;
};

static const char *const sample_colours[] = { "red", "green", NULL };

static const struct conf_key sample_rows[] = {
	{ .name = "name", .type = CONF_STRING,
	    .offset = offsetof(struct sample, name), .def_str = "a b" },
	{ .name = "file", .type = CONF_PATH,
	    .offset = offsetof(struct sample, file), .def_str = "x.db" },
	{ .name = "abs", .type = CONF_PATH,
	    .offset = offsetof(struct sample, abs), .def_str = "/etc/x" },
	{ .name = "n", .type = CONF_INT, .offset = offsetof(struct sample, n),
	    .min = -10, .max = 10, .def = -3 },
	{ .name = "on", .type = CONF_BOOL,
	    .offset = offsetof(struct sample, on), .def = 1 },
	{ .name = "colour", .type = CONF_ENUM,
	    .offset = offsetof(struct sample, colour),
	    .choices = sample_colours, .def = 1 },
	{ .name = NULL }
};

/* The first row alone: one string. */
static const struct conf_key name_rows[] = {
	{ .name = "name", .type = CONF_STRING,
	    .offset = offsetof(struct sample, name), .def_str = "a b" },
	{ .name = NULL }
};

/* What conf_print() returns for conf; what it wrote is dropped. */
static int
print_rc(const struct conf_key *rows, const void *conf)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f;
	int	 rc;

	assert_non_null(f = open_memstream(&text, &len));
	rc = conf_print(f, rows, conf);
	fclose(f);
	free(text);
	return (rc);
}

static void
test_defaults_put_paths_in_the_first_folder_that_fits(void **state)
{
	struct sample	 c;
	char		 deep[PATH_MAX];
	const char	*dirs[] = { deep, "/srv/b/", NULL };
	const char	*none[] = { NULL };

	(void)state;
	/* deep + "/x.db" is one byte too long for PATH_MAX. */
	memset(deep, 'd', sizeof(deep));
	deep[0] = '/';
	deep[PATH_MAX - 5] = '\0';
	memset(&c, 0, sizeof(c));
	conf_defaults(sample_rows, &c, dirs);
	assert_string_equal(c.name, "a b");
	assert_string_equal(c.file, "/srv/b/x.db");
	assert_string_equal(c.abs, "/etc/x");
	assert_int_equal(c.n, -3);
	assert_int_equal(c.on, 1);
	assert_int_equal(c.colour, 1);
	/* One byte shorter, it fits. */
	deep[PATH_MAX - 6] = '\0';
	conf_defaults(sample_rows, &c, dirs);
	assert_int_equal(strlen(c.file), PATH_MAX - 1);
	/* No folder at all: the bare name. */
	conf_defaults(sample_rows, &c, none);
	assert_string_equal(c.file, "x.db");
	conf_defaults(sample_rows, &c, NULL);
	assert_string_equal(c.file, "x.db");
	assert_string_equal(c.abs, "/etc/x");
}

static void
test_equal_and_copy_touch_one_row(void **state)
{
	struct sample	a, b;
	const char	*dirs[] = { "/srv", NULL };

	(void)state;
	memset(&a, 0, sizeof(a));
	conf_defaults(sample_rows, &a, dirs);
	b = a;
	snprintf(b.name, sizeof(b.name), "other");
	b.n = 7;
	b.colour = 0;
	assert_false(conf_equal(&sample_rows[0], &a, &b));
	assert_true(conf_equal(&sample_rows[1], &a, &b));
	assert_false(conf_equal(&sample_rows[3], &a, &b));
	assert_true(conf_equal(&sample_rows[4], &a, &b));
	assert_false(conf_equal(&sample_rows[5], &a, &b));
	/* Bytes after a string's end are not part of its value. */
	b.file[strlen(b.file) + 1] = 'z';
	assert_true(conf_equal(&sample_rows[1], &a, &b));

	conf_copy(&sample_rows[3], &a, &b);
	assert_int_equal(a.n, 7);
	assert_string_equal(a.name, "a b");
	assert_int_equal(a.colour, 1);
	conf_copy(&sample_rows[0], &a, &b);
	assert_string_equal(a.name, "other");
	assert_int_equal(a.colour, 1);
}

static void
test_print_writes_one_line_per_row_that_loads_back(void **state)
{
	struct sample	 a, b;
	const char	*dirs[] = { "/srv/chat", NULL };
	char		 err[CONF_ERR_MAX], *text;
	size_t		 i;

	(void)state;
	memset(&a, 0, sizeof(a));
	conf_defaults(sample_rows, &a, dirs);
	text = conf_fixture_print(sample_rows, &a);
	assert_string_equal(text, "name: \"a b\"\n"
	    "file: /srv/chat/x.db\n"
	    "abs: /etc/x\n"
	    "n: -3\n"
	    "on: true\n"
	    "colour: green\n");
	memset(&b, 0, sizeof(b));
	if (conf_load_buf("printed.yaml", "/elsewhere", text, strlen(text),
	    sample_rows, &b, err) != 0)
		fail_msg("%s", err);
	for (i = 0; sample_rows[i].name != NULL; i++)
		assert_true(conf_equal(&sample_rows[i], &a, &b));
	free(text);

	a.on = 0;
	a.colour = 0;
	a.n = 10;
	text = conf_fixture_print(sample_rows, &a);
	assert_non_null(strstr(text, "\nn: 10\non: false\ncolour: red\n"));
	free(text);

	/* A choice out of its row's range cannot be written. */
	a.colour = 2;
	assert_int_equal(print_rc(sample_rows, &a), -1);
	a.colour = -1;
	assert_int_equal(print_rc(sample_rows, &a), -1);
}

static void
test_print_quotes_strings_only_where_yaml_needs_it(void **state)
{
	static const struct {
		const char	*value;
		const char	*line;
	} cases[] = {
		{ "127.0.0.1", "name: 127.0.0.1\n" },
		{ "chat.example.org", "name: chat.example.org\n" },
		{ "auto", "name: auto\n" },
		{ "/var/lib/sealchat/server.pub",
		    "name: /var/lib/sealchat/server.pub\n" },
		{ "_x-y+z@h~=1", "name: _x-y+z@h~=1\n" },
		{ "::1", "name: \"::1\"\n" },
		{ "host:10000", "name: \"host:10000\"\n" },
		{ "a b", "name: \"a b\"\n" },
		{ "#x", "name: \"#x\"\n" },
		{ "-x", "name: \"-x\"\n" },
		{ ".x", "name: \".x\"\n" },
		{ "~", "name: \"~\"\n" },
		{ "null", "name: \"null\"\n" },
		{ "NULL", "name: \"NULL\"\n" },
		{ "Yes", "name: \"Yes\"\n" },
		{ "off", "name: \"off\"\n" },
		{ "n", "name: \"n\"\n" },
		{ "10", "name: \"10\"\n" },
		{ "1e3", "name: \"1e3\"\n" },
		{ "0x1f", "name: \"0x1f\"\n" },
		{ "inf", "name: \"inf\"\n" },
		{ "q\"b\\s", "name: \"q\\\"b\\\\s\"\n" },
		{ "t\tn\nr\r", "name: \"t\\tn\\nr\\x0d\"\n" },
		{ "\x01\x1b\x7f", "name: \"\\x01\\x1b\\x7f\"\n" },
		{ "h\xc3\xb4te", "name: \"h\xc3\xb4te\"\n" },
		{ "\xc2\x85\xc2\x9f\xc2\xa0",
		    "name: \"\\x85\\x9f\xc2\xa0\"\n" },
		{ "\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa",
		    "name: \"\\u2028\\u2029\xe2\x80\xaa\"\n" },
		{ "\xef\xbb\xbf\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd",
		    "name: \"\\ufeff\\ufffe\\uffff\xef\xbf\xbd\"\n" },
	};
	struct sample	 a, b;
	char		 err[CONF_ERR_MAX], *text;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&a, 0, sizeof(a));
		snprintf(a.name, sizeof(a.name), "%s", cases[i].value);
		text = conf_fixture_print(name_rows, &a);
		if (strcmp(text, cases[i].line) != 0)
			fail_msg("'%s' printed as '%s', expected '%s'",
			    cases[i].value, text, cases[i].line);
		memset(&b, 0, sizeof(b));
		if (conf_load_buf("printed.yaml", "/", text, strlen(text),
		    name_rows, &b, err) != 0)
			fail_msg("'%s': %s", cases[i].value, err);
		assert_string_equal(b.name, cases[i].value);
		free(text);
	}
}

static void
test_enum_lists_its_choices_when_refused(void **state)
{
	struct sample	 c;
	char		 err[CONF_ERR_MAX];
	const char	*text = "colour: blue\n";

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(conf_load_buf("t.yaml", "/", text, strlen(text),
	    sample_rows, &c, err), -1);
	assert_string_equal(err, "t.yaml:1: colour: expected one of red, "
	    "green, got 'blue'");
	text = "colour: red\non: off\n";
	assert_int_equal(conf_load_buf("t.yaml", "/", text, strlen(text),
	    sample_rows, &c, err), 0);
	assert_int_equal(c.colour, 0);
	assert_int_equal(c.on, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CONF_FIXTURE_TEST(test_absent_keys_keep_their_values),
		CONF_FIXTURE_TEST(
		    test_relative_paths_are_relative_to_the_file_folder),
		CONF_FIXTURE_TEST(test_unknown_key_is_refused_with_its_line),
		CONF_FIXTURE_TEST(test_wrong_type_is_refused),
		CONF_FIXTURE_TEST(test_out_of_range_is_refused),
		CONF_FIXTURE_TEST(test_integer_limits_of_long_long),
		CONF_FIXTURE_TEST(test_malformed_yaml_is_refused_with_its_line),
		CONF_FIXTURE_TEST(test_empty_file_is_refused),
		CONF_FIXTURE_TEST(test_second_document_is_refused),
		CONF_FIXTURE_TEST(test_anchors_and_aliases_are_refused),
		CONF_FIXTURE_TEST(test_tags_are_refused),
		CONF_FIXTURE_TEST(
		    test_structure_other_than_a_mapping_of_scalars_is_refused),
		CONF_FIXTURE_TEST(test_repeated_key_is_refused),
		CONF_FIXTURE_TEST(test_empty_and_null_values_are_refused),
		CONF_FIXTURE_TEST(test_too_long_values_are_refused),
		CONF_FIXTURE_TEST(test_missing_file_names_the_file),
		CONF_FIXTURE_TEST(test_accepted_yaml_spellings),
		cmocka_unit_test(test_booleans_and_buffers),
		cmocka_unit_test(
		    test_defaults_put_paths_in_the_first_folder_that_fits),
		cmocka_unit_test(test_equal_and_copy_touch_one_row),
		cmocka_unit_test(
		    test_print_writes_one_line_per_row_that_loads_back),
		cmocka_unit_test(
		    test_print_quotes_strings_only_where_yaml_needs_it),
		cmocka_unit_test(test_enum_lists_its_choices_when_refused),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
