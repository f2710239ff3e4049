/* SPDX-License-Identifier: ISC */
/*
 * The daemon's settings: struct server_conf, and one row per setting in
 * server_config_rows (name, type, bounds, default, whether SIGHUP applies it,
 * what it sets).  Adding a setting is one row, its field here, and its
 * lines in sealchat.yaml(5) and conf/sealchatd.yaml.
 */
#ifndef SEALCHATD_CONFIG_H
#define SEALCHATD_CONFIG_H

#include <limits.h>

#include "sealchat/conf.h"

struct server_conf {
	char		server_address[CONF_STR_MAX];
	long long	server_port;
	long long	udp_port;		/* 0 in a file: server_port */
	char		server_public_key[PATH_MAX];
	char		server_private_key[PATH_MAX];
	char		data_base[PATH_MAX];
	int		log_level;		/* enum log_level */
	int		hash_cost;		/* enum sc_cost */
	long long	hash_workers;
	long long	hash_queue;
	long long	max_frame;
	long long	max_sessions;
	long long	max_sessions_per_addr;
	long long	max_unauth;
	long long	max_unauth_per_addr;
	long long	ipv6_prefix;		/* bits that make one address */
	long long	login_timeout;		/* seconds, handshake + login */
	long long	hello_timeout;		/* seconds, to the HELLO */
	long long	keepalive_interval;	/* seconds */
	long long	keepalive_timeout;	/* seconds */
	long long	output_cap;		/* bytes pending per client */
	long long	fail_delay_ms;		/* base delay after failures */
	long long	fail_free;		/* failures before slowing */
	long long	max_logins_per_addr;	/* in progress at once */
	long long	signups_per_hour;	/* per address */
	int		relay;			/* 0 off, 1 on */
	long long	relay_rate;		/* datagrams a second */
	long long	relay_bytes;		/* bytes a second */
	long long	queue_max_messages;	/* per recipient */
	long long	queue_max_bytes;	/* per recipient */
	long long	queue_rate;		/* per sender, a minute */
	long long	queue_max_age;		/* seconds */
	int		sign_up;		/* enum server_signup */
	char		control_socket[PATH_MAX];
	char		control_group[CONF_STR_MAX];	/* "none": owner only */
	char		metrics_address[CONF_STR_MAX];	/* "off": none */
};

/* Who may make an account. */
enum server_signup {
	SERVER_SIGNUP_OPEN = 0,		/* anyone, with SIGN */
	SERVER_SIGNUP_CLOSED,		/* only the operator (sealchatctl) */
};

/* The values of control_group and metrics_address that turn them off. */
#define SERVER_CONFIG_NO_GROUP		"none"
#define SERVER_CONFIG_OFF		"off"

/* One row per setting, in the order sealchatd -T prints them. */
extern const struct conf_key server_config_rows[];

/*
 * Fills the embedded defaults: 127.0.0.1:10000; key and database files in
 * $STATE_DIRECTORY when systemd sets it, else the working directory; the
 * control socket in $RUNTIME_DIRECTORY when systemd sets it, else as the
 * other files.
 */
void	server_config_defaults(struct server_conf *);
/*
 * Checks what one row cannot: relations between keys.  Fills err ("FILE:
 * what is wrong", or "defaults: ..." when path is NULL) and returns -1 on
 * a problem.
 */
int	server_config_check(const struct server_conf *, const char *path,
	    char err[CONF_ERR_MAX]);
/*
 * The defaults, then path when it is not NULL, then the listen address of
 * server_config_listen(), then the checks: what the daemon runs with,
 * udp_port 0 made the number of server_port.  -1 with err filled when the
 * file cannot be used.
 */
int	server_config_load(struct server_conf *, const char *path,
	    char err[CONF_ERR_MAX]);
/*
 * sealchatd -l: server_address (and server_port unless port is 0) over
 * what the file says, at every later load (a reload too).  -1 when the
 * address is too long.
 */
int	server_config_listen(const char *address, long long port);

#endif
