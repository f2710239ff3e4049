/* SPDX-License-Identifier: ISC */
/*
 * The client's settings: struct client_conf, and one row per setting in
 * client_config_rows (name, type, bounds, default, what it sets).  Adding
 * a setting is one row, its field here, and its lines in sealchat.yaml(5)
 * and conf/sealchat.yaml.
 */
#ifndef SEALCHAT_CLIENT_CONFIG_H
#define SEALCHAT_CLIENT_CONFIG_H

#include <limits.h>

#include "sealchat/conf.h"

struct client_conf {
	char		server_address[CONF_STR_MAX];
	long long	server_port;
	char		server_public_key[PATH_MAX];
	char		udp_address[CONF_STR_MAX];
	long long	udp_port;		/* 0: ephemeral */
	long long	connect_timeout;	/* seconds */
	long long	reply_timeout;	/* seconds to wait for the server */
	long long	send_retries;		/* datagram retransmissions */
	long long	retry_interval_ms;
	long long	pair_timeout;	/* seconds to wait for a pair key */
	long long	drain_timeout;	/* seconds to wait at end of input */
	long long	direct_timeout;	/* ms before the relay */
	long long	udp_keepalive;	/* seconds of silence */
	long long	punch_ttl;	/* opening TTL; 0 none */
	int		log_level;		/* enum log_level */
};

/* One row per setting, in file order. */
extern const struct conf_key client_config_rows[];

/*
 * Fills the embedded defaults: 127.0.0.1:10000, pinning
 * $XDG_CONFIG_HOME/sealchat/server.pub (~/.config/sealchat/server.pub).
 */
void	client_config_defaults(struct client_conf *);
/*
 * The defaults, then path when it is not NULL: what the client runs with.
 * -1 with err filled when the file cannot be used.
 */
int	client_config_load(struct client_conf *, const char *path,
	    char err[CONF_ERR_MAX]);

#endif
