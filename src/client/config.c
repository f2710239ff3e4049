/* SPDX-License-Identifier: ISC */
/*
 * The client's settings as rows: each key's type, bounds, default and what
 * it sets, in one place.  conf.c reads a file against these rows, and the
 * unit tests hold the manual page and the example file to them.  A running
 * client never reads its file again, so every row is CONF_RESTART.
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealchat/conf.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "config.h"

#define CLIENT_CONFIG_FIELD(f)	offsetof(struct client_conf, f)

const struct conf_key client_config_rows[] = {
	{ .name = "server_address", .type = CONF_STRING,
	    .offset = CLIENT_CONFIG_FIELD(server_address),
	    .def_str = "127.0.0.1",
	    .help = "the server's host name or address" },
	{ .name = "server_port", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(server_port),
	    .min = 1, .max = UINT16_MAX, .def = 10000,
	    .help = "the server's TCP port" },
	{ .name = "server_public_key", .type = CONF_PATH,
	    .offset = CLIENT_CONFIG_FIELD(server_public_key),
	    .def_str = "server.pub",
	    .help = "the server's public key, pinned" },
	{ .name = "udp_address", .type = CONF_STRING,
	    .offset = CLIENT_CONFIG_FIELD(udp_address),
	    .def_str = "auto",
	    .help = "local address for datagrams from peers" },
	{ .name = "udp_port", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(udp_port),
	    .min = 0, .max = UINT16_MAX, .def = 0,
	    .help = "local UDP port, 0 for any free one" },
	{ .name = "connect_timeout", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(connect_timeout),
	    .min = 1, .max = 600, .def = 10,
	    .help = "seconds to connect and finish the handshake" },
	{ .name = "reply_timeout", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(reply_timeout),
	    .min = 1, .max = 3600, .def = 30,
	    .help = "seconds to wait for each answer of the server" },
	{ .name = "send_retries", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(send_retries),
	    .min = 0, .max = 100, .def = 6,
	    .help = "resends of a message the peer did not acknowledge" },
	{ .name = "retry_interval_ms", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(retry_interval_ms),
	    .min = 10, .max = 60000, .def = 500,
	    .help = "milliseconds between the first resends" },
	{ .name = "pair_timeout", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(pair_timeout),
	    .min = 1, .max = 600, .def = 10,
	    .help = "seconds to wait for the server to give a pair key" },
	{ .name = "drain_timeout", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(drain_timeout),
	    .min = 1, .max = 3600, .def = 10,
	    .help = "seconds to wait for deliveries at the end of input" },
	{ .name = "direct_timeout", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(direct_timeout),
	    .min = 50, .max = 60000, .def = 1000,
	    .help = "milliseconds to look for a direct path before the relay" },
	{ .name = "udp_keepalive", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(udp_keepalive),
	    .min = 1, .max = 3600, .def = 15,
	    .help = "seconds of silence on a path before a keepalive" },
	{ .name = "punch_ttl", .type = CONF_INT,
	    .offset = CLIENT_CONFIG_FIELD(punch_ttl),
	    .min = 0, .max = 255, .def = 2,
	    .help = "IP TTL of the packets that open the NAT, 0 for none" },
	{ .name = "log_level", .type = CONF_ENUM,
	    .offset = CLIENT_CONFIG_FIELD(log_level),
	    .choices = log_level_names, .def = LOG_LVL_WARN,
	    .help = "least important kind of diagnostic written" },
	{ .name = NULL }
};

/* Fills the client's embedded defaults. */
void
client_config_defaults(struct client_conf *c)
{
	char		 dir[PATH_MAX], cwd[PATH_MAX];
	const char	*dirs[3];
	size_t		 n = 0;

	memset(c, 0, sizeof(*c));
	if (util_xdg_dir(dir, sizeof(dir), UTIL_XDG_CONFIG) == 0)
		dirs[n++] = dir;
	if (conf_absdir(cwd, NULL) == 0)
		dirs[n++] = cwd;
	dirs[n] = NULL;
	conf_defaults(client_config_rows, c, dirs);
}

/* The defaults, then the file: what the client runs with. */
int
client_config_load(struct client_conf *c, const char *path,
    char err[CONF_ERR_MAX])
{
	client_config_defaults(c);
	if (path != NULL && conf_load(path, client_config_rows, c, err) != 0)
		return (-1);
	return (0);
}
