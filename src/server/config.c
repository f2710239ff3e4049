/* SPDX-License-Identifier: ISC */
/*
 * The daemon's settings as rows: each key's type, bounds, default, whether
 * a SIGHUP applies it, and what it sets, in one place.  conf.c reads a file
 * against these rows, the reload in server.c walks them, sealchatd -T
 * prints them, and the unit tests hold the manual page and the example
 * files to them.  What a row cannot say, the relation between two keys,
 * is checked here too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealchat/conf.h"
#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "config.h"
#include "metrics.h"

/* The password-hash costs, named as libsodium names its limits. */
static const char *const server_config_costs[] = {
	[SC_COST_MIN] = "min",
	[SC_COST_INTERACTIVE] = "interactive",
	[SC_COST_MODERATE] = "moderate",
	[SC_COST_SENSITIVE] = "sensitive",
	NULL
};

/* Off or on, as the relay key says it. */
static const char *const server_config_switch[] = { "off", "on", NULL };

/* Who may sign up, by enum server_signup. */
static const char *const server_config_signups[] = {
	[SERVER_SIGNUP_OPEN] = "open",
	[SERVER_SIGNUP_CLOSED] = "closed",
	NULL
};

#define SERVER_CONFIG_FIELD(f)	offsetof(struct server_conf, f)
/* A UNIX socket's path, NUL included, fits in sun_path. */
#define SERVER_CONFIG_SUN_PATH	108

const struct conf_key server_config_rows[] = {
	{ .name = "server_address", .type = CONF_STRING,
	    .offset = SERVER_CONFIG_FIELD(server_address),
	    .def_str = "127.0.0.1", .reload = CONF_RESTART,
	    .help = "address or host name to listen on" },
	{ .name = "server_port", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(server_port),
	    .min = 1, .max = UINT16_MAX, .def = 10000,
	    .reload = CONF_RESTART,
	    .help = "TCP port to listen on" },
	{ .name = "udp_port", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(udp_port),
	    .min = 0, .max = UINT16_MAX, .def = 0, .reload = CONF_RESTART,
	    .help = "UDP port for endpoint registration and the relay; "
	    "0: server_port" },
	{ .name = "server_public_key", .type = CONF_PATH,
	    .offset = SERVER_CONFIG_FIELD(server_public_key),
	    .def_str = "server.pub", .reload = CONF_RESTART,
	    .help = "public key file, the one clients pin" },
	{ .name = "server_private_key", .type = CONF_PATH,
	    .offset = SERVER_CONFIG_FIELD(server_private_key),
	    .def_str = "server.key", .reload = CONF_RESTART,
	    .help = "private key file, mode 0600" },
	{ .name = "data_base", .type = CONF_PATH,
	    .offset = SERVER_CONFIG_FIELD(data_base),
	    .def_str = "sealchat.db", .reload = CONF_RESTART,
	    .help = "SQLite file of the accounts" },
	{ .name = "log_level", .type = CONF_ENUM,
	    .offset = SERVER_CONFIG_FIELD(log_level),
	    .choices = log_level_names, .def = LOG_LVL_INFO,
	    .reload = CONF_LIVE,
	    .help = "least important kind of log line written" },
	{ .name = "hash_cost", .type = CONF_ENUM,
	    .offset = SERVER_CONFIG_FIELD(hash_cost),
	    .choices = server_config_costs, .def = SC_COST_INTERACTIVE,
	    .reload = CONF_LIVE,
	    .help = "cost of the argon2id password hash" },
	{ .name = "hash_workers", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(hash_workers),
	    .min = 1, .max = 64, .def = 2, .reload = CONF_RESTART,
	    .help = "threads that hash passwords" },
	{ .name = "hash_queue", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(hash_queue),
	    .min = 1, .max = 100000, .def = 1024, .reload = CONF_RESTART,
	    .help = "sign-ups and logins that may wait for a hash worker" },
	{ .name = "max_frame", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(max_frame),
	    .min = SC_FRAME_MIN, .max = SC_FRAME_LIMIT,
	    .def = SC_FRAME_DEFAULT, .reload = CONF_RESTART,
	    .help = "largest frame in bytes, told to clients in WELCOME" },
	{ .name = "max_sessions", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(max_sessions),
	    .min = 1, .max = 1000000, .def = 4096, .reload = CONF_LIVE,
	    .help = "connections open at once" },
	{ .name = "max_sessions_per_addr", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(max_sessions_per_addr),
	    .min = 1, .max = 1000000, .def = 256, .reload = CONF_LIVE,
	    .help = "the same, from one address" },
	{ .name = "max_unauth", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(max_unauth),
	    .min = 1, .max = 1000000, .def = 512, .reload = CONF_LIVE,
	    .help = "connections open at once not logged in yet" },
	{ .name = "max_unauth_per_addr", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(max_unauth_per_addr),
	    .min = 1, .max = 1000000, .def = 32, .reload = CONF_LIVE,
	    .help = "the same, from one address" },
	/* Entries made under one grouping must stay under it. */
	{ .name = "ipv6_prefix", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(ipv6_prefix),
	    .min = 8, .max = 128, .def = 64, .reload = CONF_RESTART,
	    .help = "leading bits of an IPv6 address that make one address" },
	{ .name = "login_timeout", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(login_timeout),
	    .min = 1, .max = 3600, .def = 30, .reload = CONF_LIVE,
	    .help = "seconds from connecting to a finished login" },
	{ .name = "hello_timeout", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(hello_timeout),
	    .min = 1, .max = 3600, .def = 5, .reload = CONF_LIVE,
	    .help = "seconds from connecting to the handshake's first frame" },
	{ .name = "keepalive_interval", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(keepalive_interval),
	    .min = 1, .max = 3600, .def = 15, .reload = CONF_LIVE,
	    .help = "seconds between the pings clients are told to send" },
	/* WELCOME carries it in 16 bits. */
	{ .name = "keepalive_timeout", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(keepalive_timeout),
	    .min = 2, .max = UINT16_MAX, .def = 45, .reload = CONF_LIVE,
	    .help = "seconds of silence that close a session" },
	{ .name = "output_cap", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(output_cap),
	    .min = 4096, .max = 1073741824, .def = 262144,
	    .reload = CONF_LIVE,
	    .help = "bytes that may wait to be sent to one client" },
	{ .name = "fail_delay_ms", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(fail_delay_ms),
	    .min = 0, .max = 60000, .def = 250, .reload = CONF_LIVE,
	    .help = "first wait after too many failed logins, doubling" },
	{ .name = "fail_free", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(fail_free),
	    .min = 0, .max = 1000, .def = 3, .reload = CONF_LIVE,
	    .help = "failed logins that are not slowed" },
	{ .name = "max_logins_per_addr", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(max_logins_per_addr),
	    .min = 1, .max = 100000, .def = 8, .reload = CONF_LIVE,
	    .help = "logins and sign-ups in progress from one address" },
	{ .name = "signups_per_hour", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(signups_per_hour),
	    .min = 1, .max = 1000000, .def = 60, .reload = CONF_LIVE,
	    .help = "sign-ups from one address per hour" },
	{ .name = "relay", .type = CONF_ENUM,
	    .offset = SERVER_CONFIG_FIELD(relay),
	    .choices = server_config_switch, .def = 1, .reload = CONF_LIVE,
	    .help = "relay datagrams of clients that find no direct path" },
	{ .name = "relay_rate", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(relay_rate),
	    .min = 1, .max = 100000, .def = 200, .reload = CONF_LIVE,
	    .help = "datagrams a second one session may have relayed" },
	/* At least one datagram of the largest size. */
	{ .name = "relay_bytes", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(relay_bytes),
	    .min = SC_DGRAM_MAX, .max = 1073741824, .def = 262144,
	    .reload = CONF_LIVE,
	    .help = "bytes a second one session may have relayed" },
	{ .name = "queue_max_messages", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(queue_max_messages),
	    .min = 1, .max = 1000000, .def = 1000, .reload = CONF_LIVE,
	    .help = "messages stored for one offline user" },
	/* At least one box of the largest size. */
	{ .name = "queue_max_bytes", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(queue_max_bytes),
	    .min = SC_MAIL_BOX_MAX, .max = 1073741824, .def = 1048576,
	    .reload = CONF_LIVE,
	    .help = "bytes of sealed messages stored for one offline user" },
	{ .name = "queue_rate", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(queue_rate),
	    .min = 1, .max = 100000, .def = 60, .reload = CONF_LIVE,
	    .help = "messages one sender may store a minute" },
	{ .name = "queue_max_age", .type = CONF_INT,
	    .offset = SERVER_CONFIG_FIELD(queue_max_age),
	    .min = 1, .max = 31536000, .def = 604800, .reload = CONF_LIVE,
	    .help = "seconds a stored message waits before it is deleted" },
	{ .name = "sign_up", .type = CONF_ENUM,
	    .offset = SERVER_CONFIG_FIELD(sign_up),
	    .choices = server_config_signups, .def = SERVER_SIGNUP_OPEN,
	    .reload = CONF_LIVE,
	    .help = "who makes accounts: anyone (open) or the operator" },
	{ .name = "control_socket", .type = CONF_PATH,
	    .offset = SERVER_CONFIG_FIELD(control_socket),
	    .def_str = "sealchatd.sock", .reload = CONF_RESTART,
	    .help = "UNIX socket that sealchatctl talks to" },
	{ .name = "control_group", .type = CONF_STRING,
	    .offset = SERVER_CONFIG_FIELD(control_group),
	    .def_str = SERVER_CONFIG_NO_GROUP, .reload = CONF_RESTART,
	    .help = "group also admitted to the control socket, or none" },
	{ .name = "metrics_address", .type = CONF_STRING,
	    .offset = SERVER_CONFIG_FIELD(metrics_address),
	    .def_str = SERVER_CONFIG_OFF, .reload = CONF_RESTART,
	    .help = "address:port serving Prometheus metrics, or off" },
	{ .name = NULL }
};

/*
 * The first folder of $name ($STATE_DIRECTORY, $RUNTIME_DIRECTORY: what
 * systemd's StateDirectory= and RuntimeDirectory= make), made absolute;
 * -1 when it is not set or not usable.
 */
static int
server_config_env_dir(char out[PATH_MAX], const char *name)
{
	const char	*env;
	char		 dir[PATH_MAX];
	size_t		 n;

	env = getenv(name);
	if (env == NULL || *env == '\0' || *env == ':')
		return (-1);
	n = strcspn(env, ":");
	if (n >= sizeof(dir))
		return (-1);
	memcpy(dir, env, n);
	dir[n] = '\0';
	return (conf_absdir(out, dir));
}

/* Fills the daemon's embedded defaults. */
void
server_config_defaults(struct server_conf *c)
{
	char		 state[PATH_MAX], cwd[PATH_MAX], run[PATH_MAX];
	char		 sock[PATH_MAX];
	const char	*dirs[3];
	size_t		 n = 0;

	memset(c, 0, sizeof(*c));
	if (server_config_env_dir(state, "STATE_DIRECTORY") == 0)
		dirs[n++] = state;
	if (conf_absdir(cwd, NULL) == 0)
		dirs[n++] = cwd;
	dirs[n] = NULL;
	conf_defaults(server_config_rows, c, dirs);
	/* The socket is runtime state: in RuntimeDirectory= when there. */
	if (server_config_env_dir(run, "RUNTIME_DIRECTORY") == 0 &&
	    conf_join(sock, sizeof(sock), run, "sealchatd.sock") == 0)
		memcpy(c->control_socket, sock, sizeof(c->control_socket));
}

/* Checks the relations between keys that the rows cannot express. */
int
server_config_check(const struct server_conf *c, const char *path,
    char err[CONF_ERR_MAX])
{
	const char	*name = path != NULL ? path : "defaults";

	char		 why[CONF_ERR_MAX - 64];

	if (c->keepalive_interval >= c->keepalive_timeout) {
		snprintf(err, CONF_ERR_MAX, "%s: keepalive_interval (%lld) "
		    "must be less than keepalive_timeout (%lld)", name,
		    c->keepalive_interval, c->keepalive_timeout);
		return (-1);
	}
	if (strlen(c->control_socket) >= SERVER_CONFIG_SUN_PATH) {
		snprintf(err, CONF_ERR_MAX, "%s: control_socket %s is too "
		    "long for a UNIX socket (%zu bytes, at most %d)", name,
		    c->control_socket, strlen(c->control_socket),
		    SERVER_CONFIG_SUN_PATH - 1);
		return (-1);
	}
	if (strcmp(c->metrics_address, SERVER_CONFIG_OFF) != 0 &&
	    metrics_address_check(c->metrics_address, 0, why, sizeof(why)) !=
	    0) {
		snprintf(err, CONF_ERR_MAX, "%s: %s", name, why);
		return (-1);
	}
	return (0);
}

/* The listen address of -l, which the file does not override. */
static struct {
	char		address[CONF_STR_MAX];
	long long	port;
} server_config_cli;

/* Remembers -l for every load. */
int
server_config_listen(const char *address, long long port)
{
	if (strlen(address) >= sizeof(server_config_cli.address))
		return (-1);
	memcpy(server_config_cli.address, address, strlen(address) + 1);
	server_config_cli.port = port;
	return (0);
}

/* The defaults, the file, -l, the checks, the UDP port: what runs. */
int
server_config_load(struct server_conf *c, const char *path,
    char err[CONF_ERR_MAX])
{
	server_config_defaults(c);
	if (path != NULL && conf_load(path, server_config_rows, c, err) != 0)
		return (-1);
	if (server_config_cli.address[0] != '\0') {
		memcpy(c->server_address, server_config_cli.address,
		    sizeof(c->server_address));
		if (server_config_cli.port != 0)
			c->server_port = server_config_cli.port;
	}
	if (server_config_check(c, path, err) != 0)
		return (-1);
	if (c->udp_port == 0)
		c->udp_port = c->server_port;
	return (0);
}
