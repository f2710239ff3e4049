/*
 * Configuration files (YAML, read with libyaml; src/common/conf.c is its
 * only user).  A file is one mapping of scalar keys to scalar values.  Any
 * problem stops the program: conf_load() fills err with "FILE:LINE: what is
 * wrong" and returns -1; the caller exits with EX_CONFIG (78).
 */
#ifndef SEALCHAT_CONF_H
#define SEALCHAT_CONF_H

#include <limits.h>
#include <stddef.h>

#define CONF_ERR_MAX	512
#define CONF_STR_MAX	256

enum conf_type {
	CONF_STRING,	/* char[CONF_STR_MAX], non-empty */
	CONF_PATH,	/* char[PATH_MAX], relative to the file's folder */
	CONF_INT,	/* long long, decimal, within [min, max] */
	CONF_BOOL,	/* int: true/false/yes/no/on/off */
	CONF_ENUM,	/* int: index of the value in choices[] */
	CONF_LOGLEVEL,	/* int: enum log_level */
};

struct conf_key {
	const char	 *name;
	enum conf_type	  type;
	size_t		  offset;	/* into the caller's struct */
	long long	  min;		/* CONF_INT */
	long long	  max;
	const char *const *choices;	/* CONF_ENUM, NULL-terminated */
};

/*
 * Loads path into out according to the schema (terminated by a NULL name).
 * Keys absent from the file keep the values already in out.  Relative
 * CONF_PATH values are resolved against the folder of path.  Rejected: a
 * missing or unreadable file, malformed YAML, an empty file, more than one
 * document, anchors and aliases, tags, anything but a mapping of scalars, an
 * unknown or repeated key, a wrong type, a value out of range.
 */
int	conf_load(const char *path, const struct conf_key *schema, void *out,
	    char err[CONF_ERR_MAX]);
/* Same on a buffer (fuzzing, tests); name is used in messages. */
int	conf_load_buf(const char *name, const char *dir, const char *buf,
	    size_t len, const struct conf_key *schema, void *out,
	    char err[CONF_ERR_MAX]);

enum sc_cost_conf { COST_MIN, COST_INTERACTIVE, COST_MODERATE, COST_SENSITIVE };

/* The daemon's settings, with their defaults from server_conf_defaults(). */
struct server_conf {
	char		server_address[CONF_STR_MAX];
	long long	server_port;
	char		server_public_key[PATH_MAX];
	char		server_private_key[PATH_MAX];
	char		data_base[PATH_MAX];
	int		log_level;
	int		hash_cost;		/* enum sc_cost */
	long long	hash_workers;
	long long	hash_queue;
	long long	max_frame;
	long long	max_sessions;
	long long	max_unauth;
	long long	max_unauth_per_addr;
	long long	login_timeout;		/* seconds, handshake + login */
	long long	keepalive_interval;	/* seconds */
	long long	keepalive_timeout;	/* seconds */
	long long	output_cap;		/* bytes pending per client */
	long long	fail_delay_ms;		/* base delay after failures */
	long long	fail_free;		/* failures before slowing */
};

/*
 * Embedded defaults: 127.0.0.1:10000; key and database files in
 * $STATE_DIRECTORY when systemd sets it, else the working directory.
 */
void	server_conf_defaults(struct server_conf *);
extern const struct conf_key server_conf_schema[];

struct client_conf {
	char		server_address[CONF_STR_MAX];
	long long	server_port;
	char		server_public_key[PATH_MAX];
	char		udp_address[CONF_STR_MAX];
	long long	udp_port;		/* 0: ephemeral */
	long long	connect_timeout;	/* seconds */
	long long	reply_timeout;		/* seconds to wait for the server */
	long long	send_retries;		/* datagram retransmissions */
	long long	retry_interval_ms;
	long long	pair_timeout;		/* seconds to wait for a pair key */
	long long	drain_timeout;		/* seconds to wait at end of input */
	int		log_level;
};

void	client_conf_defaults(struct client_conf *);
extern const struct conf_key client_conf_schema[];

#endif
