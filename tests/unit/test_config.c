/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the rows of both programs (src/server/config.c,
 * src/client/config.c): the embedded defaults, every key read, the
 * relation between keys, what sealchatd -T writes and its round trip, and
 * that the manual pages and the example files describe every row with the
 * row's own default, bounds and reload class.
 */
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
#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "client/config.h"
#include "server/config.h"

#include "conf_fixture.h"

static void
test_server_defaults_use_state_directory(void **state)
{
	struct server_conf	c;

	(void)state;
	unsetenv("RUNTIME_DIRECTORY");
	setenv("STATE_DIRECTORY", "/var/lib/sealchat:/var/lib/other", 1);
	server_config_defaults(&c);
	assert_string_equal(c.server_address, "127.0.0.1");
	assert_int_equal(c.server_port, 10000);
	assert_string_equal(c.server_public_key,
	    "/var/lib/sealchat/server.pub");
	assert_string_equal(c.server_private_key,
	    "/var/lib/sealchat/server.key");
	assert_string_equal(c.data_base, "/var/lib/sealchat/sealchat.db");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_int_equal(c.hash_cost, SC_COST_INTERACTIVE);
	assert_int_equal(c.hash_workers, 2);
	assert_int_equal(c.hash_queue, 1024);
	assert_int_equal(c.max_frame, 65536);
	assert_int_equal(c.max_sessions, 4096);
	assert_int_equal(c.max_sessions_per_addr, 256);
	assert_int_equal(c.max_unauth, 512);
	assert_int_equal(c.max_unauth_per_addr, 32);
	assert_int_equal(c.ipv6_prefix, 64);
	assert_int_equal(c.login_timeout, 30);
	assert_int_equal(c.hello_timeout, 5);
	assert_int_equal(c.keepalive_interval, 15);
	assert_int_equal(c.keepalive_timeout, 45);
	assert_int_equal(c.output_cap, 262144);
	assert_int_equal(c.fail_delay_ms, 250);
	assert_int_equal(c.fail_free, 3);
	assert_int_equal(c.max_logins_per_addr, 8);
	assert_int_equal(c.signups_per_hour, 60);
	assert_int_equal(c.udp_port, 0);
	assert_int_equal(c.relay, 1);
	assert_int_equal(c.relay_rate, 200);
	assert_int_equal(c.relay_bytes, 262144);
	assert_int_equal(c.sign_up, SERVER_SIGNUP_OPEN);
	assert_string_equal(c.control_socket,
	    "/var/lib/sealchat/sealchatd.sock");
	assert_string_equal(c.control_group, "none");
	assert_string_equal(c.metrics_address, "off");

	/* Under RuntimeDirectory= the socket goes there, the rest stays. */
	setenv("RUNTIME_DIRECTORY", "/run/sealchat", 1);
	server_config_defaults(&c);
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	assert_string_equal(c.control_socket, "/run/sealchat/sealchatd.sock");
	assert_string_equal(c.data_base, "/var/lib/sealchat/sealchat.db");
}

static void
test_server_defaults_without_state_directory_use_cwd(void **state)
{
	struct conf_fixture	*f = *state;
	struct server_conf	 c;
	char			 old[PATH_MAX], want[PATH_MAX + 16];

	unsetenv("STATE_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(f->dir), 0);
	server_config_defaults(&c);
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
	client_config_defaults(&c);
	assert_string_equal(c.server_public_key,
	    "/xdg/conf/sealchat/server.pub");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/alice", 1);
	client_config_defaults(&c);
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

	server_config_defaults(&sc);
	snprintf(path, sizeof(path), "%s/conf/sealchatd.yaml", root);
	if (conf_load(path, server_config_rows, &sc, err) != 0)
		fail_msg("%s", err);
	assert_string_equal(sc.server_address, "127.0.0.1");
	assert_int_equal(sc.server_port, 10000);
	snprintf(want, sizeof(want), "%s/state/server.pub", root);
	assert_string_equal(sc.server_public_key, want);
	snprintf(want, sizeof(want), "%s/state/server.key", root);
	assert_string_equal(sc.server_private_key, want);
	snprintf(want, sizeof(want), "%s/state/sealchat.db", root);
	assert_string_equal(sc.data_base, want);

	client_config_defaults(&cc);
	snprintf(path, sizeof(path), "%s/conf/sealchat.yaml", root);
	if (conf_load(path, client_config_rows, &cc, err) != 0)
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
	struct conf_fixture	*f = *state;
	const char		*src = getenv("SEALCHAT_SRC");
	const char		*names[] = { "sealchatd.yaml",
				    "sealchat.yaml" };
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
			server_config_defaults(&sc);
			server_config_defaults(&sd);
			tmpdir_write(f->file, text, len, 0644);
			if (conf_load(f->file, server_config_rows, &sc, f->err))
				fail_msg("%s", f->err);
			assert_memory_equal(&sc, &sd, sizeof(sc));
		} else {
			client_config_defaults(&cc);
			client_config_defaults(&cd);
			tmpdir_write(f->file, text, len, 0644);
			if (conf_load(f->file, client_config_rows, &cc, f->err))
				fail_msg("%s", f->err);
			assert_memory_equal(&cc, &cd, sizeof(cc));
		}
		free(text);
	}
}

static void
test_every_server_key_is_read(void **state)
{
	struct conf_fixture	*f = *state;

	if (conf_fixture_load(f, "server_address: \"::1\"\n"
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
	    "max_sessions_per_addr: 3\n"
	    "max_unauth: 1\n"
	    "max_unauth_per_addr: 2\n"
	    "ipv6_prefix: 48\n"
	    "login_timeout: 3600\n"
	    "hello_timeout: 1\n"
	    "keepalive_interval: 1\n"
	    "keepalive_timeout: 65535\n"
	    "output_cap: 4096\n"
	    "fail_delay_ms: 0\n"
	    "fail_free: 1000\n"
	    "max_logins_per_addr: 100000\n"
	    "signups_per_hour: 1\n"
	    "udp_port: 4343\n"
	    "relay: off\n"
	    "relay_rate: 100000\n"
	    "relay_bytes: 1042\n"
	    "sign_up: closed\n"
	    "control_socket: /run/x/ctl.sock\n"
	    "control_group: wheel\n"
	    "metrics_address: \"[::1]:9187\"\n") != 0)
		fail_msg("%s", f->err);
	assert_string_equal(f->sc.server_address, "::1");
	assert_int_equal(f->sc.server_port, 4242);
	assert_string_equal(f->sc.server_public_key,
	    "/etc/sealchat/server.pub");
	assert_string_equal(f->sc.server_private_key,
	    "/etc/sealchat/server.key");
	assert_string_equal(f->sc.data_base, "/var/lib/sealchat/db.sqlite");
	assert_int_equal(f->sc.log_level, LOG_LVL_DEBUG);
	assert_int_equal(f->sc.hash_cost, SC_COST_MODERATE);
	assert_int_equal(f->sc.hash_workers, 64);
	assert_int_equal(f->sc.hash_queue, 100000);
	assert_int_equal(f->sc.max_frame, 1024);
	assert_int_equal(f->sc.max_sessions, 1000000);
	assert_int_equal(f->sc.max_sessions_per_addr, 3);
	assert_int_equal(f->sc.max_unauth, 1);
	assert_int_equal(f->sc.max_unauth_per_addr, 2);
	assert_int_equal(f->sc.ipv6_prefix, 48);
	assert_int_equal(f->sc.login_timeout, 3600);
	assert_int_equal(f->sc.hello_timeout, 1);
	assert_int_equal(f->sc.keepalive_interval, 1);
	assert_int_equal(f->sc.keepalive_timeout, 65535);
	assert_int_equal(f->sc.output_cap, 4096);
	assert_int_equal(f->sc.fail_delay_ms, 0);
	assert_int_equal(f->sc.fail_free, 1000);
	assert_int_equal(f->sc.max_logins_per_addr, 100000);
	assert_int_equal(f->sc.signups_per_hour, 1);
	assert_int_equal(f->sc.udp_port, 4343);
	assert_int_equal(f->sc.relay, 0);
	assert_int_equal(f->sc.relay_rate, 100000);
	assert_int_equal(f->sc.relay_bytes, SC_DGRAM_MAX);
	assert_int_equal(f->sc.sign_up, SERVER_SIGNUP_CLOSED);
	assert_string_equal(f->sc.control_socket, "/run/x/ctl.sock");
	assert_string_equal(f->sc.control_group, "wheel");
	assert_string_equal(f->sc.metrics_address, "[::1]:9187");
}

/*
 * udp_port 0 (the default) is the number of server_port once the file is
 * loaded, as sealchatd -T prints it; another value stays.
 */
static void
test_udp_port_zero_follows_server_port(void **state)
{
	struct conf_fixture	*f = *state;
	struct server_conf	 c;
	const char		*text;

	text = "server_port: 4242\n";
	tmpdir_write(f->file, text, strlen(text), 0644);
	if (server_config_load(&c, f->file, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(c.udp_port, 4242);
	text = "server_port: 4242\nudp_port: 5353\n";
	tmpdir_write(f->file, text, strlen(text), 0644);
	if (server_config_load(&c, f->file, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(c.udp_port, 5353);
	if (server_config_load(&c, NULL, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(c.udp_port, 10000);
}

static void
test_client_rows_read_their_keys(void **state)
{
	struct conf_fixture	*f = *state;
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

	client_config_defaults(&c);
	tmpdir_write(f->file, text, strlen(text), 0644);
	if (conf_load(f->file, client_config_rows, &c, f->err) != 0)
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
	tmpdir_write(f->file, text, strlen(text), 0644);
	assert_int_equal(conf_load(f->file, client_config_rows, &c, f->err),
	    -1);
	conf_fixture_assert_error(f, 2, "unknown key 'max_frame'");
}

/* The row called name, or NULL. */
static const struct conf_key *
row_find(const struct conf_key *rows, const char *name)
{
	size_t	i;

	for (i = 0; rows[i].name != NULL; i++) {
		if (strcmp(rows[i].name, name) == 0)
			return (&rows[i]);
	}
	return (NULL);
}

/* The row's default as a file spells it (a path: its file name). */
static const char *
row_default(const struct conf_key *key, char *buf, size_t len)
{
	switch (key->type) {
	case CONF_STRING:
	case CONF_PATH:
		return (key->def_str);
	case CONF_INT:
		snprintf(buf, len, "%lld", key->def);
		return (buf);
	case CONF_BOOL:
		return (key->def ? "true" : "false");
	case CONF_ENUM:
		return (key->choices[key->def]);
	}
	return ("");
}

/*
 * Checks one table of rows: names, help lines, fields inside the struct of
 * size bytes, defaults within their own bounds and choices, and that
 * defaults (filled by the program's own function) holds them.
 */
static void
check_rows(const struct conf_key *rows, const void *defaults, size_t size,
    int live_allowed)
{
	const struct conf_key	*k;
	const char		*field;
	char			 buf[32];
	size_t			 i, j, n, fsize;
	long long		 ll;
	int			 v;

	for (i = 0; rows[i].name != NULL; i++) {
		k = &rows[i];
		assert_true(strlen(k->name) > 0 && strlen(k->name) < 32);
		assert_true(k->name[0] >= 'a' && k->name[0] <= 'z');
		assert_int_equal(strspn(k->name,
		    "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(k->name));
		for (j = 0; j < i; j++)
			assert_string_not_equal(rows[j].name, k->name);
		if (k->help == NULL || k->help[0] == '\0' ||
		    strchr(k->help, '\n') != NULL)
			fail_msg("%s: no one-line description", k->name);
		if (!live_allowed && k->reload != CONF_RESTART)
			fail_msg("%s: live, but nothing reloads", k->name);

		field = (const char *)defaults + k->offset;
		switch (k->type) {
		case CONF_STRING:
			fsize = CONF_STR_MAX;
			assert_non_null(k->def_str);
			assert_true(strlen(k->def_str) > 0 &&
			    strlen(k->def_str) < CONF_STR_MAX);
			assert_string_equal(field, k->def_str);
			break;
		case CONF_PATH:
			fsize = PATH_MAX;
			assert_non_null(k->def_str);
			assert_true(k->def_str[0] != '\0' &&
			    k->def_str[0] != '/');
			n = strlen(field) - strlen(k->def_str);
			assert_true(strlen(field) > strlen(k->def_str));
			assert_string_equal(field + n, k->def_str);
			assert_int_equal(field[n - 1], '/');
			assert_int_equal(field[0], '/');
			break;
		case CONF_INT:
			fsize = sizeof(long long);
			assert_true(k->min <= k->def && k->def <= k->max);
			memcpy(&ll, field, sizeof(ll));
			assert_true(ll == k->def);
			break;
		case CONF_BOOL:
			fsize = sizeof(int);
			assert_true(k->def == 0 || k->def == 1);
			memcpy(&v, field, sizeof(v));
			assert_int_equal(v, k->def);
			break;
		case CONF_ENUM:
			fsize = sizeof(int);
			assert_non_null(k->choices);
			for (n = 0; k->choices[n] != NULL; n++)
				;
			assert_true(n > 0 && k->def >= 0 &&
			    (size_t)k->def < n);
			memcpy(&v, field, sizeof(v));
			assert_int_equal(v, k->def);
			break;
		default:
			fail_msg("%s: unknown type", k->name);
			return;
		}
		assert_true(k->offset + fsize <= size);
		assert_non_null(row_default(k, buf, sizeof(buf)));
	}
	assert_true(i > 0 && i <= CONF_KEYS_MAX);
}

static void
test_rows_are_well_formed_and_give_the_defaults(void **state)
{
	struct server_conf	 sc;
	struct client_conf	 cc;
	const struct conf_key	*k;

	(void)state;
	unsetenv("STATE_DIRECTORY");
	server_config_defaults(&sc);
	check_rows(server_config_rows, &sc, sizeof(sc), 1);
	client_config_defaults(&cc);
	check_rows(client_config_rows, &cc, sizeof(cc), 0);

	/* Bounds that the protocol sets come from its constants. */
	assert_non_null(k = row_find(server_config_rows, "max_frame"));
	assert_true(k->min == SC_FRAME_MIN && k->max == SC_FRAME_LIMIT &&
	    k->def == SC_FRAME_DEFAULT);
	assert_non_null(k = row_find(server_config_rows, "keepalive_timeout"));
	assert_true(k->max == UINT16_MAX);
	/* Level and cost names: log.c's, and one per enum sc_cost. */
	assert_non_null(k = row_find(server_config_rows, "log_level"));
	assert_ptr_equal(k->choices, log_level_names);
	assert_string_equal(k->choices[LOG_LVL_DEBUG], "debug");
	assert_non_null(k = row_find(client_config_rows, "log_level"));
	assert_ptr_equal(k->choices, log_level_names);
	assert_non_null(k = row_find(server_config_rows, "hash_cost"));
	assert_string_equal(k->choices[SC_COST_MIN], "min");
	assert_string_equal(k->choices[SC_COST_INTERACTIVE], "interactive");
	assert_string_equal(k->choices[SC_COST_MODERATE], "moderate");
	assert_string_equal(k->choices[SC_COST_SENSITIVE], "sensitive");
	assert_null(k->choices[SC_COST_SENSITIVE + 1]);
}

static void
test_keepalive_interval_must_be_below_the_timeout(void **state)
{
	struct conf_fixture	*f = *state;
	struct server_conf	 c;
	const char		*text;
	char			 want[PATH_MAX + 128];

	server_config_defaults(&c);
	assert_int_equal(server_config_check(&c, NULL, f->err), 0);
	c.keepalive_interval = 45;
	assert_int_equal(server_config_check(&c, NULL, f->err), -1);
	assert_string_equal(f->err, "defaults: keepalive_interval (45) must "
	    "be less than keepalive_timeout (45)");
	c.keepalive_interval = 44;
	assert_int_equal(server_config_check(&c, "x.yaml", f->err), 0);

	/* server_config_load() is defaults, file and checks together. */
	text = "keepalive_interval: 30\nkeepalive_timeout: 20\n";
	tmpdir_write(f->file, text, strlen(text), 0644);
	assert_int_equal(server_config_load(&c, f->file, f->err), -1);
	snprintf(want, sizeof(want), "%s: keepalive_interval (30) must be "
	    "less than keepalive_timeout (20)", f->file);
	assert_string_equal(f->err, want);
	text = "keepalive_interval: 30\nkeepalive_timeout: 31\n";
	tmpdir_write(f->file, text, strlen(text), 0644);
	if (server_config_load(&c, f->file, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(c.keepalive_interval, 30);
	assert_int_equal(c.keepalive_timeout, 31);
	assert_int_equal(c.max_frame, SC_FRAME_DEFAULT);
	/* A bad file: the loader's message, with its line. */
	text = "max_frame: 1\n";
	tmpdir_write(f->file, text, strlen(text), 0644);
	assert_int_equal(server_config_load(&c, f->file, f->err), -1);
	conf_fixture_assert_error(f, 1,
	    "max_frame: 1 is out of range 1024..1048576");
	/* No file: the defaults, which pass the checks. */
	assert_int_equal(server_config_load(&c, NULL, f->err), 0);
	assert_int_equal(c.keepalive_interval, 15);
}

/*
 * A control socket path that does not fit a UNIX socket's address, and a
 * metrics address that is not an address and port, are refused by the
 * check that -t runs too; "off" and literal addresses pass.
 */
static void
test_control_socket_and_metrics_address_are_checked(void **state)
{
	struct conf_fixture	*f = *state;
	struct server_conf	 c;
	static const char *const bad[] = {
		"localhost:9187", "127.0.0.1", "127.0.0.1:0", "::1:9187",
		"127.0.0.1:99999", "on",
	};
	size_t			 i;

	server_config_defaults(&c);
	snprintf(c.control_socket, sizeof(c.control_socket), "/run/%0107d",
	    0);
	assert_int_equal(server_config_check(&c, NULL, f->err), -1);
	assert_non_null(strstr(f->err, "too long for a UNIX socket"));
	c.control_socket[107] = '\0';
	assert_int_equal(server_config_check(&c, NULL, f->err), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(c.metrics_address, sizeof(c.metrics_address), "%s",
		    bad[i]);
		if (server_config_check(&c, "x.yaml", f->err) != -1)
			fail_msg("metrics_address %s passed", bad[i]);
		assert_non_null(strstr(f->err, "x.yaml: metrics_address"));
	}
	snprintf(c.metrics_address, sizeof(c.metrics_address), "[::1]:9187");
	assert_int_equal(server_config_check(&c, NULL, f->err), 0);
	snprintf(c.metrics_address, sizeof(c.metrics_address),
	    "127.0.0.1:9187");
	assert_int_equal(server_config_check(&c, NULL, f->err), 0);
	snprintf(c.metrics_address, sizeof(c.metrics_address), "off");
	assert_int_equal(server_config_check(&c, NULL, f->err), 0);
}

/*
 * The -T round trip: conf printed is one "key: value" line per row in row
 * order; loaded into a zeroed struct it gives every row back, and printed
 * again it is the same text.
 */
static void
check_round_trip(const struct conf_key *rows, const void *conf,
    void *again, size_t size)
{
	char		 err[CONF_ERR_MAX], *text, *text2;
	const char	*p;
	size_t		 i, n;

	text = conf_fixture_print(rows, conf);
	for (p = text, i = 0; rows[i].name != NULL; i++) {
		n = strlen(rows[i].name);
		if (strncmp(p, rows[i].name, n) != 0 || p[n] != ':' ||
		    p[n + 1] != ' ')
			fail_msg("line %zu is not %s: %s", i + 1,
			    rows[i].name, p);
		assert_non_null(p = strchr(p, '\n'));
		p++;
	}
	assert_string_equal(p, "");

	memset(again, 0, size);
	if (conf_load_buf("printed.yaml", "/", text, strlen(text), rows,
	    again, err) != 0)
		fail_msg("%s\n%s", err, text);
	for (i = 0; rows[i].name != NULL; i++) {
		if (!conf_equal(&rows[i], conf, again))
			fail_msg("%s did not come back", rows[i].name);
	}
	text2 = conf_fixture_print(rows, again);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
}

static void
test_printed_configuration_names_every_row_and_loads_back(void **state)
{
	struct server_conf	 sc, sc2;
	struct client_conf	 cc, cc2;
	char			*text;

	(void)state;
	setenv("STATE_DIRECTORY", "/var/lib/sealchat", 1);
	server_config_defaults(&sc);
	unsetenv("STATE_DIRECTORY");
	check_round_trip(server_config_rows, &sc, &sc2, sizeof(sc));
	text = conf_fixture_print(server_config_rows, &sc);
	assert_string_equal(text,
	    "server_address: 127.0.0.1\n"
	    "server_port: 10000\n"
	    "udp_port: 0\n"
	    "server_public_key: /var/lib/sealchat/server.pub\n"
	    "server_private_key: /var/lib/sealchat/server.key\n"
	    "data_base: /var/lib/sealchat/sealchat.db\n"
	    "log_level: info\n"
	    "hash_cost: interactive\n"
	    "hash_workers: 2\n"
	    "hash_queue: 1024\n"
	    "max_frame: 65536\n"
	    "max_sessions: 4096\n"
	    "max_sessions_per_addr: 256\n"
	    "max_unauth: 512\n"
	    "max_unauth_per_addr: 32\n"
	    "ipv6_prefix: 64\n"
	    "login_timeout: 30\n"
	    "hello_timeout: 5\n"
	    "keepalive_interval: 15\n"
	    "keepalive_timeout: 45\n"
	    "output_cap: 262144\n"
	    "fail_delay_ms: 250\n"
	    "fail_free: 3\n"
	    "max_logins_per_addr: 8\n"
	    "signups_per_hour: 60\n"
	    "relay: \"on\"\n"
	    "relay_rate: 200\n"
	    "relay_bytes: 262144\n"
	    "queue_max_messages: 1000\n"
	    "queue_max_bytes: 1048576\n"
	    "queue_rate: 60\n"
	    "queue_max_age: 604800\n"
	    "sign_up: open\n"
	    "control_socket: /var/lib/sealchat/sealchatd.sock\n"
	    "control_group: none\n"
	    "metrics_address: \"off\"\n");
	free(text);

	/* Values YAML needs quoted, and every other choice. */
	snprintf(sc.server_address, sizeof(sc.server_address), "::1");
	snprintf(sc.data_base, sizeof(sc.data_base), "/srv/a b/#1: x.db");
	sc.log_level = LOG_LVL_DEBUG;
	sc.hash_cost = SC_COST_MIN;
	sc.keepalive_timeout = UINT16_MAX;
	check_round_trip(server_config_rows, &sc, &sc2, sizeof(sc));

	client_config_defaults(&cc);
	check_round_trip(client_config_rows, &cc, &cc2, sizeof(cc));
	snprintf(cc.server_address, sizeof(cc.server_address), "null");
	snprintf(cc.udp_address, sizeof(cc.udp_address), "0.0.0.0");
	cc.log_level = LOG_LVL_ERROR;
	check_round_trip(client_config_rows, &cc, &cc2, sizeof(cc));
}

/* The whole of a file under $SEALCHAT_SRC (malloc'd), or skips the test. */
static char *
read_source(const char *rel)
{
	const char	*src = getenv("SEALCHAT_SRC");
	char		 path[PATH_MAX + 64], *text;
	long		 len;
	FILE		*f;

	if (src == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((len = ftell(f)) >= 0);
	rewind(f);
	assert_non_null(text = calloc(1, (size_t)len + 1));
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return (text);
}

/* The body of the section "# title" of a scdoc page (malloc'd). */
static char *
scd_section(const char *page, const char *title)
{
	char		 want[64];
	const char	*start, *end;

	snprintf(want, sizeof(want), "\n# %s\n", title);
	if ((start = strstr(page, want)) == NULL)
		fail_msg("no section %s", title);
	start += strlen(want) - 1;
	if ((end = strstr(start, "\n# ")) == NULL)
		end = start + strlen(start);
	return (strndup(start, (size_t)(end - start)));
}

/*
 * What the page says in parentheses after "*name* (" at the start of a
 * line of sect, on one line (malloc'd); NULL when no entry names it.
 */
static char *
scd_entry(const char *sect, const char *name)
{
	char		 want[64], *head, *c;
	const char	*p, *end;

	snprintf(want, sizeof(want), "\n*%s* (", name);
	if ((p = strstr(sect, want)) == NULL)
		return (NULL);
	p += strlen(want);
	if ((end = strchr(p, ')')) == NULL)
		fail_msg("%s: no ')'", name);
	head = strndup(p, (size_t)(end - p));
	for (c = head; *c != '\0'; c++) {
		if (*c == '\n')
			*c = ' ';
	}
	return (head);
}

/*
 * Checks the entries of one section of sealchat.yaml(5) against rows: one
 * entry per row, in row order (the order of sealchatd -T).
 */
static void
check_manual_section(const char *sect, const struct conf_key *rows)
{
	const struct conf_key	*k;
	const char		*p, *def, *last = sect;
	char			 want[CONF_STR_MAX + 64], buf[32], *head;
	char			 name[64];
	size_t			 i, n;

	for (k = rows; k->name != NULL; k++) {
		if ((head = scd_entry(sect, k->name)) == NULL)
			fail_msg("sealchat.yaml(5) does not describe %s",
			    k->name);
		snprintf(want, sizeof(want), "\n*%s* (", k->name);
		if ((p = strstr(sect, want)) < last)
			fail_msg("sealchat.yaml(5): %s is out of order",
			    k->name);
		last = p;
		def = row_default(k, buf, sizeof(buf));
		switch (k->type) {
		case CONF_STRING:
			snprintf(want, sizeof(want), "string; default *%s*",
			    def);
			break;
		case CONF_PATH:
			/* The file name, in its folder or alone. */
			snprintf(want, sizeof(want), "%s_", def);
			p = strstr(head, want);
			if (strncmp(head, "path; default ", 14) != 0 ||
			    p == NULL || p == head || (p[-1] != '_' &&
			    p[-1] != '/'))
				fail_msg("%s: default is not _%s_: (%s)",
				    k->name, def, head);
			want[0] = '\0';
			break;
		case CONF_INT:
			snprintf(want, sizeof(want), "integer, %lld to %lld; "
			    "default *%s*", k->min, k->max, def);
			break;
		case CONF_BOOL:
			snprintf(want, sizeof(want), "boolean; default *%s*",
			    def);
			break;
		case CONF_ENUM:
			snprintf(want, sizeof(want), "choice: ");
			for (i = 0; k->choices[i] != NULL; i++) {
				n = strlen(want);
				snprintf(want + n, sizeof(want) - n, "%s*%s*",
				    i > 0 ? ", " : "", k->choices[i]);
			}
			n = strlen(want);
			snprintf(want + n, sizeof(want) - n, "; default *%s*",
			    def);
			break;
		}
		if (want[0] != '\0' && strncmp(head, want, strlen(want)) != 0)
			fail_msg("%s: the page says (%s), the row (%s...)",
			    k->name, head, want);
		if ((strstr(head, "; reload") != NULL) !=
		    (k->reload == CONF_LIVE))
			fail_msg("%s: the page says (%s), the row %s",
			    k->name, head, k->reload == CONF_LIVE ?
			    "reload" : "restart");
		free(head);
	}
	/* And every entry of the section is a row. */
	for (p = sect; (p = strstr(p, "\n*")) != NULL; p++) {
		n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (n == 0 || n >= sizeof(name) || strncmp(p + 2 + n, "* (",
		    3) != 0)
			continue;
		memcpy(name, p + 2, n);
		name[n] = '\0';
		if (row_find(rows, name) == NULL)
			fail_msg("sealchat.yaml(5) describes %s, no such key",
			    name);
	}
}

/* Tells whether word stands in text as a word of its own. */
static int
has_word(const char *text, const char *word)
{
	const char	*p;
	size_t		 n = strlen(word);

	for (p = text; (p = strstr(p, word)) != NULL; p++) {
		if ((p == text || strchr(" (,/\t\n#", p[-1]) != NULL) &&
		    strchr(" ),.;:\n", p[n]) != NULL)
			return (1);
	}
	return (0);
}

/*
 * The line of text that sets key ("key: value") or shows it commented out
 * ("#key: value"), or NULL.
 */
static const char *
example_line(const char *text, const char *key, int *commented)
{
	const char	*p = text;
	size_t		 n = strlen(key);

	while (p != NULL && *p != '\0') {
		*commented = p[0] == '#';
		if (strncmp(p + *commented, key, n) == 0 &&
		    strncmp(p + *commented + n, ": ", 2) == 0)
			return (p);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return (NULL);
}

/*
 * Checks an example file against rows.  Every row has a line "key: value"
 * or, commented out, "#key: value".  A commented line shows the default; a
 * set line does too, except a path, which the example puts where it likes
 * while naming the default file.  The paragraph around the line (the lines
 * up to a blank one) states an integer's range as MIN..MAX and names every
 * choice.
 */
static void
check_example(const char *rel, const struct conf_key *rows)
{
	const struct conf_key	*k;
	char			*text, *par, buf[32];
	char			 want[64], range[64];
	const char		*line, *v, *eol, *def, *ps, *pe;
	size_t			 n, i;
	int			 commented = 0;

	text = read_source(rel);
	for (k = rows; k->name != NULL; k++) {
		n = strlen(k->name);
		if ((line = example_line(text, k->name, &commented)) == NULL)
			fail_msg("%s does not name %s", rel, k->name);
		v = line + commented + n + 2;
		eol = strchr(v, '\n');
		snprintf(want, sizeof(want), "%.*s",
		    (int)(eol != NULL ? eol - v : (long)strlen(v)), v);
		def = row_default(k, buf, sizeof(buf));
		if (strcmp(want, def) != 0 && (commented ||
		    k->type != CONF_PATH || !has_word(text, def)))
			fail_msg("%s: %s: %s, the default is %s", rel,
			    k->name, want, def);

		/* The paragraph: back and forth to blank lines. */
		for (ps = line; ps > text && !(ps[-1] == '\n' &&
		    (ps - 1 == text || ps[-2] == '\n')); ps--)
			;
		pe = strstr(line, "\n\n");
		if (pe == NULL)
			pe = line + strlen(line);
		par = strndup(ps, (size_t)(pe - ps));
		if (k->type == CONF_INT) {
			snprintf(range, sizeof(range), "%lld..%lld", k->min,
			    k->max);
			if (strstr(par, range) == NULL)
				fail_msg("%s: %s: no %s in\n%s", rel, k->name,
				    range, par);
		}
		for (i = 0; k->type == CONF_ENUM && k->choices[i] != NULL;
		    i++) {
			if (!has_word(par, k->choices[i]))
				fail_msg("%s: %s: %s not named in\n%s", rel,
				    k->name, k->choices[i], par);
		}
		free(par);
	}
	free(text);
}

static void
test_manual_and_examples_describe_every_row(void **state)
{
	char	*page, *sect;

	(void)state;
	page = read_source("docs/man/sealchat.yaml.5.scd");
	sect = scd_section(page, "SERVER KEYS");
	check_manual_section(sect, server_config_rows);
	free(sect);
	sect = scd_section(page, "CLIENT KEYS");
	check_manual_section(sect, client_config_rows);
	free(sect);
	free(page);

	check_example("conf/sealchatd.yaml", server_config_rows);
	check_example("conf/sealchat.yaml", client_config_rows);
	check_example("dist/sealchatd.yaml", server_config_rows);
	check_example("dist/sealchat.yaml", client_config_rows);
}

/*
 * sealchatd(8) lists under SIGHUP the keys a reload applies, then ("Every
 * other key") those that wait for a restart: the rows' reload classes.
 */
static void
test_sighup_in_sealchatd_8_lists_the_reload_classes(void **state)
{
	const struct conf_key	*k;
	char			*page, *sect, *hup, *other, want[64];
	int			 in_live, in_restart;

	(void)state;
	page = read_source("docs/man/sealchatd.8.scd");
	sect = scd_section(page, "SIGNALS");
	assert_non_null(hup = strstr(sect, "*SIGHUP*"));
	assert_non_null(other = strstr(hup, "Every other key"));
	*other++ = '\0';
	for (k = server_config_rows; k->name != NULL; k++) {
		snprintf(want, sizeof(want), "*%s*", k->name);
		in_live = strstr(hup, want) != NULL;
		in_restart = strstr(other, want) != NULL;
		if (k->reload == CONF_LIVE && (!in_live || in_restart))
			fail_msg("sealchatd(8): SIGHUP applies %s", k->name);
		if (k->reload == CONF_RESTART && (in_live || !in_restart))
			fail_msg("sealchatd(8): %s needs a restart", k->name);
	}
	free(sect);
	free(page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_defaults_use_state_directory),
		CONF_FIXTURE_TEST(
		    test_server_defaults_without_state_directory_use_cwd),
		cmocka_unit_test(test_client_defaults_pin_key_in_config_home),
		cmocka_unit_test(
		    test_rows_are_well_formed_and_give_the_defaults),
		cmocka_unit_test(test_example_files_load_with_paths_in_state),
		CONF_FIXTURE_TEST(test_example_files_show_the_true_defaults),
		CONF_FIXTURE_TEST(test_every_server_key_is_read),
		CONF_FIXTURE_TEST(test_udp_port_zero_follows_server_port),
		CONF_FIXTURE_TEST(test_client_rows_read_their_keys),
		CONF_FIXTURE_TEST(
		    test_keepalive_interval_must_be_below_the_timeout),
		CONF_FIXTURE_TEST(
		    test_control_socket_and_metrics_address_are_checked),
		cmocka_unit_test(
		    test_printed_configuration_names_every_row_and_loads_back),
		cmocka_unit_test(test_manual_and_examples_describe_every_row),
		cmocka_unit_test(
		    test_sighup_in_sealchatd_8_lists_the_reload_classes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
