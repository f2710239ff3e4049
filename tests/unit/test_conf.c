/*
 * Unit tests for src/common/conf.c: the embedded defaults, the example files
 * in conf/, relative paths, and every kind of bad file, each refused with
 * "FILE:LINE: what is wrong".
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

/* A temporary folder (canonical path) holding the files of one test. */
struct fixture {
	char	dir[PATH_MAX];
	char	file[PATH_MAX + 32];	/* dir/sealchatd.yaml */
	char	err[CONF_ERR_MAX];
	struct server_conf sc;
};

static int
setup(void **state)
{
	struct fixture	*f;
	char		 tmpl[] = "/tmp/sealchat-test-conf-XXXXXX";

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, f->dir) == NULL) {
		free(f);
		return (-1);
	}
	snprintf(f->file, sizeof(f->file), "%s/sealchatd.yaml", f->dir);
	server_conf_defaults(&f->sc);
	*state = f;
	return (0);
}

/* Removes one entry during the walk of rm_tree(). */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path) == 0 ? 0 : -1);
}

/* Removes dir and everything in it. */
static void
rm_tree(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	rm_tree(f->dir);
	free(f);
	return (0);
}

/* Writes text to path. */
static void
write_file(const char *path, const char *text, size_t len)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Writes text as the fixture's file and loads it with the server schema. */
static int
load(struct fixture *f, const char *text)
{
	write_file(f->file, text, strlen(text));
	return (conf_load(f->file, server_conf_schema, &f->sc, f->err));
}

/* Asserts err is exactly "FILE:LINE: " followed by text starting with msg. */
static void
assert_error(struct fixture *f, int line, const char *msg)
{
	char	want[CONF_ERR_MAX + PATH_MAX];

	snprintf(want, sizeof(want), "%s:%d: %s", f->file, line, msg);
	if (strncmp(f->err, want, strlen(want)) != 0)
		fail_msg("error is\n  %s\nexpected it to start with\n  %s",
		    f->err, want);
}

/* Loads text, expects failure with the given line and message. */
static void
expect_bad(struct fixture *f, const char *text, int line, const char *msg)
{
	struct server_conf	before = f->sc;

	if (load(f, text) != -1)
		fail_msg("accepted: %s", text);
	assert_error(f, line, msg);
	/* A refused file leaves every setting as it was. */
	assert_memory_equal(&before, &f->sc, sizeof(before));
}

static void
test_server_defaults_use_state_directory(void **state)
{
	struct server_conf	c;

	(void)state;
	setenv("STATE_DIRECTORY", "/var/lib/sealchat:/var/lib/other", 1);
	server_conf_defaults(&c);
	unsetenv("STATE_DIRECTORY");
	assert_string_equal(c.server_address, "127.0.0.1");
	assert_int_equal(c.server_port, 10000);
	assert_string_equal(c.server_public_key, "/var/lib/sealchat/server.pub");
	assert_string_equal(c.server_private_key,
	    "/var/lib/sealchat/server.key");
	assert_string_equal(c.data_base, "/var/lib/sealchat/sealchat.db");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_int_equal(c.hash_cost, COST_INTERACTIVE);
	assert_int_equal(c.hash_workers, 2);
	assert_int_equal(c.hash_queue, 1024);
	assert_int_equal(c.max_frame, 65536);
	assert_int_equal(c.max_sessions, 4096);
	assert_int_equal(c.max_unauth, 512);
	assert_int_equal(c.max_unauth_per_addr, 32);
	assert_int_equal(c.login_timeout, 30);
	assert_int_equal(c.keepalive_interval, 15);
	assert_int_equal(c.keepalive_timeout, 45);
	assert_int_equal(c.output_cap, 1048576);
	assert_int_equal(c.fail_delay_ms, 250);
	assert_int_equal(c.fail_free, 3);
}

static void
test_server_defaults_without_state_directory_use_cwd(void **state)
{
	struct fixture		*f = *state;
	struct server_conf	 c;
	char			 old[PATH_MAX], want[PATH_MAX + 16];

	unsetenv("STATE_DIRECTORY");
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(f->dir), 0);
	server_conf_defaults(&c);
	assert_int_equal(chdir(old), 0);
	snprintf(want, sizeof(want), "%s/server.key", f->dir);
	assert_string_equal(c.server_private_key, want);
	snprintf(want, sizeof(want), "%s/server.pub", f->dir);
	assert_string_equal(c.server_public_key, want);
	snprintf(want, sizeof(want), "%s/sealchat.db", f->dir);
	assert_string_equal(c.data_base, want);
}

static void
test_client_defaults_pin_key_in_config_home(void **state)
{
	struct client_conf	 c;
	const char		*home = getenv("HOME");
	char			*saved = home != NULL ? strdup(home) : NULL;

	(void)state;
	setenv("XDG_CONFIG_HOME", "/xdg/conf", 1);
	client_conf_defaults(&c);
	assert_string_equal(c.server_public_key,
	    "/xdg/conf/sealchat/server.pub");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/alice", 1);
	client_conf_defaults(&c);
	assert_string_equal(c.server_public_key,
	    "/home/alice/.config/sealchat/server.pub");
	if (saved != NULL) {
		setenv("HOME", saved, 1);
		free(saved);
	} else
		unsetenv("HOME");

	assert_string_equal(c.server_address, "127.0.0.1");
	assert_int_equal(c.server_port, 10000);
	assert_string_equal(c.udp_address, "auto");
	assert_int_equal(c.udp_port, 0);
	assert_int_equal(c.connect_timeout, 10);
	assert_int_equal(c.reply_timeout, 30);
	assert_int_equal(c.send_retries, 6);
	assert_int_equal(c.retry_interval_ms, 500);
	assert_int_equal(c.pair_timeout, 10);
	assert_int_equal(c.drain_timeout, 10);
	assert_int_equal(c.log_level, LOG_LVL_WARN);
}

static void
test_example_files_load_with_paths_in_state(void **state)
{
	const char		*src = getenv("SEALCHAT_SRC");
	char			 path[PATH_MAX + 32], root[PATH_MAX];
	char			 want[PATH_MAX + 32], err[CONF_ERR_MAX];
	struct server_conf	 sc;
	struct client_conf	 cc;

	(void)state;
	if (src == NULL)
		skip();
	assert_non_null(realpath(src, root));

	server_conf_defaults(&sc);
	snprintf(path, sizeof(path), "%s/conf/sealchatd.yaml", root);
	if (conf_load(path, server_conf_schema, &sc, err) != 0)
		fail_msg("%s", err);
	assert_string_equal(sc.server_address, "127.0.0.1");
	assert_int_equal(sc.server_port, 10000);
	snprintf(want, sizeof(want), "%s/state/server.pub", root);
	assert_string_equal(sc.server_public_key, want);
	snprintf(want, sizeof(want), "%s/state/server.key", root);
	assert_string_equal(sc.server_private_key, want);
	snprintf(want, sizeof(want), "%s/state/sealchat.db", root);
	assert_string_equal(sc.data_base, want);

	client_conf_defaults(&cc);
	snprintf(path, sizeof(path), "%s/conf/sealchat.yaml", root);
	if (conf_load(path, client_conf_schema, &cc, err) != 0)
		fail_msg("%s", err);
	assert_string_equal(cc.server_address, "127.0.0.1");
	assert_int_equal(cc.server_port, 10000);
	snprintf(want, sizeof(want), "%s/state/server.pub", root);
	assert_string_equal(cc.server_public_key, want);
}

/*
 * Uncommenting every optional line of an example file must give the
 * embedded defaults: the file documents them truthfully.
 */
static void
test_example_files_show_the_true_defaults(void **state)
{
	struct fixture		*f = *state;
	const char		*src = getenv("SEALCHAT_SRC");
	const char		*names[] = { "sealchatd.yaml", "sealchat.yaml" };
	char			 path[PATH_MAX + 32], line[512], *text;
	size_t			 i, len, cap = 65536;
	FILE			*fp;
	struct server_conf	 sc, sd;
	struct client_conf	 cc, cd;
	int			 n;

	if (src == NULL)
		skip();
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/conf/%s", src, names[i]);
		assert_non_null(fp = fopen(path, "r"));
		assert_non_null(text = calloc(1, cap));
		len = 0;
		n = 0;
		while (fgets(line, sizeof(line), fp) != NULL) {
			/* "#key: value" lines are the optional settings. */
			if (line[0] != '#' || line[1] < 'a' || line[1] > 'z' ||
			    strchr(line, ':') == NULL)
				continue;
			n++;
			assert_true(len + strlen(line + 1) < cap);
			memcpy(text + len, line + 1, strlen(line + 1));
			len += strlen(line + 1);
		}
		fclose(fp);
		assert_true(n >= 6);
		if (i == 0) {
			server_conf_defaults(&sc);
			server_conf_defaults(&sd);
			write_file(f->file, text, len);
			if (conf_load(f->file, server_conf_schema, &sc, f->err))
				fail_msg("%s", f->err);
			assert_memory_equal(&sc, &sd, sizeof(sc));
		} else {
			client_conf_defaults(&cc);
			client_conf_defaults(&cd);
			write_file(f->file, text, len);
			if (conf_load(f->file, client_conf_schema, &cc, f->err))
				fail_msg("%s", f->err);
			assert_memory_equal(&cc, &cd, sizeof(cc));
		}
		free(text);
	}
}

static void
test_every_server_key_is_read(void **state)
{
	struct fixture	*f = *state;

	if (load(f, "server_address: \"::1\"\n"
	    "server_port: 4242\n"
	    "server_public_key: /etc/sealchat/server.pub\n"
	    "server_private_key: /etc/sealchat/server.key\n"
	    "data_base: /var/lib/sealchat/db.sqlite\n"
	    "log_level: debug\n"
	    "hash_cost: moderate\n"
	    "hash_workers: 64\n"
	    "hash_queue: 100000\n"
	    "max_frame: 1024\n"
	    "max_sessions: 1000000\n"
	    "max_unauth: 1\n"
	    "max_unauth_per_addr: 2\n"
	    "login_timeout: 3600\n"
	    "keepalive_interval: 1\n"
	    "keepalive_timeout: 86400\n"
	    "output_cap: 4096\n"
	    "fail_delay_ms: 0\n"
	    "fail_free: 1000\n") != 0)
		fail_msg("%s", f->err);
	assert_string_equal(f->sc.server_address, "::1");
	assert_int_equal(f->sc.server_port, 4242);
	assert_string_equal(f->sc.server_public_key, "/etc/sealchat/server.pub");
	assert_string_equal(f->sc.server_private_key,
	    "/etc/sealchat/server.key");
	assert_string_equal(f->sc.data_base, "/var/lib/sealchat/db.sqlite");
	assert_int_equal(f->sc.log_level, LOG_LVL_DEBUG);
	assert_int_equal(f->sc.hash_cost, COST_MODERATE);
	assert_int_equal(f->sc.hash_workers, 64);
	assert_int_equal(f->sc.hash_queue, 100000);
	assert_int_equal(f->sc.max_frame, 1024);
	assert_int_equal(f->sc.max_sessions, 1000000);
	assert_int_equal(f->sc.max_unauth, 1);
	assert_int_equal(f->sc.max_unauth_per_addr, 2);
	assert_int_equal(f->sc.login_timeout, 3600);
	assert_int_equal(f->sc.keepalive_interval, 1);
	assert_int_equal(f->sc.keepalive_timeout, 86400);
	assert_int_equal(f->sc.output_cap, 4096);
	assert_int_equal(f->sc.fail_delay_ms, 0);
	assert_int_equal(f->sc.fail_free, 1000);
}

static void
test_absent_keys_keep_their_values(void **state)
{
	struct fixture		*f = *state;
	struct server_conf	 d;

	server_conf_defaults(&d);
	if (load(f, "# only the port\nserver_port: 10001\n") != 0)
		fail_msg("%s", f->err);
	assert_int_equal(f->sc.server_port, 10001);
	d.server_port = 10001;
	assert_memory_equal(&d, &f->sc, sizeof(d));
}

static void
test_relative_paths_are_relative_to_the_file_folder(void **state)
{
	struct fixture	*f = *state;
	char		 sub[PATH_MAX + 8], file[PATH_MAX + 32];
	char		 want[PATH_MAX + 64], old[PATH_MAX];
	const char	*text = "server_public_key: keys/server.pub\n"
	    "server_private_key: ./keys/server.key\n"
	    "data_base: ../state/sealchat.db\n";

	snprintf(sub, sizeof(sub), "%s/conf", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(file, sizeof(file), "%s/sealchatd.yaml", sub);
	write_file(file, text, strlen(text));

	/* The working directory plays no part. */
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir("/"), 0);
	if (conf_load(file, server_conf_schema, &f->sc, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(chdir(old), 0);
	snprintf(want, sizeof(want), "%s/keys/server.pub", sub);
	assert_string_equal(f->sc.server_public_key, want);
	snprintf(want, sizeof(want), "%s/keys/server.key", sub);
	assert_string_equal(f->sc.server_private_key, want);
	snprintf(want, sizeof(want), "%s/state/sealchat.db", f->dir);
	assert_string_equal(f->sc.data_base, want);

	/* A relative name of the file itself works the same way. */
	server_conf_defaults(&f->sc);
	assert_int_equal(chdir(f->dir), 0);
	if (conf_load("conf/sealchatd.yaml", server_conf_schema, &f->sc,
	    f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(chdir(old), 0);
	assert_string_equal(f->sc.data_base, want);
	snprintf(want, sizeof(want), "%s/keys/server.pub", sub);
	assert_string_equal(f->sc.server_public_key, want);
}

static void
test_client_schema_reads_its_keys(void **state)
{
	struct fixture		*f = *state;
	struct client_conf	 c;
	const char		*text = "server_address: chat.example.org\n"
	    "server_port: 443\n"
	    "server_public_key: pinned.pub\n"
	    "udp_address: 0.0.0.0\n"
	    "udp_port: 65535\n"
	    "connect_timeout: 600\n"
	    "reply_timeout: 1\n"
	    "send_retries: 0\n"
	    "retry_interval_ms: 10\n"
	    "pair_timeout: 1\n"
	    "drain_timeout: 3600\n"
	    "log_level: error\n";
	char			 want[PATH_MAX + 16];

	client_conf_defaults(&c);
	write_file(f->file, text, strlen(text));
	if (conf_load(f->file, client_conf_schema, &c, f->err) != 0)
		fail_msg("%s", f->err);
	assert_string_equal(c.server_address, "chat.example.org");
	assert_int_equal(c.server_port, 443);
	snprintf(want, sizeof(want), "%s/pinned.pub", f->dir);
	assert_string_equal(c.server_public_key, want);
	assert_string_equal(c.udp_address, "0.0.0.0");
	assert_int_equal(c.udp_port, 65535);
	assert_int_equal(c.connect_timeout, 600);
	assert_int_equal(c.reply_timeout, 1);
	assert_int_equal(c.send_retries, 0);
	assert_int_equal(c.retry_interval_ms, 10);
	assert_int_equal(c.pair_timeout, 1);
	assert_int_equal(c.drain_timeout, 3600);
	assert_int_equal(c.log_level, LOG_LVL_ERROR);

	/* The server's keys are unknown to the client. */
	text = "server_port: 1\nmax_frame: 2048\n";
	write_file(f->file, text, strlen(text));
	assert_int_equal(conf_load(f->file, client_conf_schema, &c, f->err),
	    -1);
	assert_error(f, 2, "unknown key 'max_frame'");
}

static void
test_unknown_key_is_refused_with_its_line(void **state)
{
	struct fixture	*f = *state;

	expect_bad(f, "server_port: 10000\n\nlisten_port: 5\n", 3,
	    "unknown key 'listen_port'");
	/* Control characters in a key are shown escaped. */
	expect_bad(f, "\"a\\tb\\x1b\": 1\n", 1, "unknown key 'a\\tb\\x1b'");
}

static void
test_wrong_type_is_refused(void **state)
{
	struct fixture	*f = *state;

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
	struct fixture	*f = *state;

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
	    "keepalive_timeout: 1 is out of range 2..86400");
	expect_bad(f, "output_cap: 1073741825\n", 1,
	    "output_cap: 1073741825 is out of range 4096..1073741824");
}

static void
test_integer_limits_of_long_long(void **state)
{
	struct fixture	*f = *state;

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
	struct fixture	*f = *state;

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
	struct fixture	*f = *state;

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
	struct fixture	*f = *state;

	expect_bad(f, "server_port: 1\n---\nserver_port: 2\n", 2,
	    "a second document is not allowed");
	expect_bad(f, "---\nserver_port: 1\n...\n---\n", 4,
	    "a second document is not allowed");
}

static void
test_anchors_and_aliases_are_refused(void **state)
{
	struct fixture	*f = *state;

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
	struct fixture	*f = *state;

	expect_bad(f, "server_port: !!int 5\n", 1, "server_port: tags (");
	expect_bad(f, "server_address: !local x\n", 1,
	    "server_address: tags (!local) are not allowed");
	expect_bad(f, "--- !!map\nserver_port: 5\n", 1, "document: tags (");
}

static void
test_structure_other_than_a_mapping_of_scalars_is_refused(void **state)
{
	struct fixture	*f = *state;

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
	struct fixture	*f = *state;

	expect_bad(f, "server_port: 1\nhash_workers: 2\nserver_port: 1\n", 3,
	    "server_port: key given twice");
}

static void
test_empty_and_null_values_are_refused(void **state)
{
	struct fixture	*f = *state;

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
	struct fixture	*f = *state;
	char		*text;
	size_t		 n = PATH_MAX + 64;

	assert_non_null(text = malloc(n + 64));
	/* 255 bytes fit in a string, 256 do not. */
	snprintf(text, n, "server_address: %0255d\n", 7);
	if (load(f, text) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(strlen(f->sc.server_address), 255);
	server_conf_defaults(&f->sc);
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
	struct fixture	*f = *state;
	char		 path[PATH_MAX + 16], want[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/absent.yaml", f->dir);
	assert_int_equal(conf_load(path, server_conf_schema, &f->sc, f->err),
	    -1);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(f->err, want);
	/* A folder is not a configuration file. */
	assert_int_equal(conf_load(f->dir, server_conf_schema, &f->sc, f->err),
	    -1);
	snprintf(want, sizeof(want), "%s: %s", f->dir, strerror(EISDIR));
	assert_string_equal(f->err, want);
}

static void
test_accepted_yaml_spellings(void **state)
{
	struct fixture	*f = *state;

	/* Quoting, comments, directives and an explicit document. */
	if (load(f, "%YAML 1.1\n---\n# comment\n'server_port': \"7\"  # x\n"
	    "server_address: 'a b'\n...\n") != 0)
		fail_msg("%s", f->err);
	assert_int_equal(f->sc.server_port, 7);
	assert_string_equal(f->sc.server_address, "a b");
	/* Flow mapping at the root and a UTF-8 value. */
	if (load(f, "{server_port: 8, server_address: \"h\xc3\xb4te\"}") != 0)
		fail_msg("%s", f->err);
	assert_int_equal(f->sc.server_port, 8);
	assert_string_equal(f->sc.server_address, "h\xc3\xb4te");
}

/* A schema with a bool, for the one type the shipped schemas lack. */
struct flags {
	int		verbose;
	long long	n;
};

static const struct conf_key flags_schema[] = {
	{ "verbose", CONF_BOOL, offsetof(struct flags, verbose), 0, 0, NULL },
	{ "n", CONF_INT, offsetof(struct flags, n), -5, 5, NULL },
	{ NULL, CONF_STRING, 0, 0, 0, NULL }
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
		    strlen(text), flags_schema, &fl, err), 0);
		assert_int_equal(fl.verbose, 1);
		snprintf(text, sizeof(text), "verbose: %s\n", no[i]);
		assert_int_equal(conf_load_buf("t.yaml", "/", text,
		    strlen(text), flags_schema, &fl, err), 0);
		assert_int_equal(fl.verbose, 0);
	}
	snprintf(text, sizeof(text), "n: -5\nverbose: 1\n");
	assert_int_equal(conf_load_buf("t.yaml", "/", text, strlen(text),
	    flags_schema, &fl, err), -1);
	assert_string_equal(err, "t.yaml:2: verbose: expected true or false "
	    "(or yes/no, on/off), got '1'");
	/* A buffer is not a C string: a NUL inside is an error, not an end. */
	assert_int_equal(conf_load_buf("t.yaml", "/", "n: 1\0n: 2\n", 10,
	    flags_schema, &fl, err), -1);
	assert_int_equal(strncmp(err, "t.yaml:1: malformed YAML: ", 26), 0);
	assert_int_equal(conf_load_buf("t.yaml", "/", "n: -5", 5,
	    flags_schema, &fl, err), 0);
	assert_int_equal(fl.n, -5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_defaults_use_state_directory),
		cmocka_unit_test_setup_teardown(
		    test_server_defaults_without_state_directory_use_cwd,
		    setup, teardown),
		cmocka_unit_test(test_client_defaults_pin_key_in_config_home),
		cmocka_unit_test(test_example_files_load_with_paths_in_state),
		cmocka_unit_test_setup_teardown(
		    test_example_files_show_the_true_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_server_key_is_read,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_absent_keys_keep_their_values, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_relative_paths_are_relative_to_the_file_folder,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_schema_reads_its_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unknown_key_is_refused_with_its_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_type_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_integer_limits_of_long_long, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_malformed_yaml_is_refused_with_its_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_file_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_second_document_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_anchors_and_aliases_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags_are_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_structure_other_than_a_mapping_of_scalars_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_key_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_empty_and_null_values_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_too_long_values_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_missing_file_names_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accepted_yaml_spellings,
		    setup, teardown),
		cmocka_unit_test(test_booleans_and_buffers),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
