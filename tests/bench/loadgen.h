/* SPDX-License-Identifier: ISC */
/*
 * sealchat-loadgen: a load generator that speaks the real sealchat protocol
 * (docs/protocol.md) and, for comparison, enough IRC to run the same presence
 * workload against an IRC server.  One libevent loop, loopback only, bounded
 * in connection count and in time (a global deadline).
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/handshake.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"

#define LG_MAX_CLIENTS	50000		/* hard cap on -n */
#define LG_NAME_PREFIX	"bench"
#define LG_PASSWORD	"bench-password-1"

/* Everything the command line sets. */
struct lg_opts {
	const char	*mode;
	char		 host[64];
	int		 port;
	char		 key_path[4096];
	int		 n;		/* clients or users */
	int		 window;	/* logins in flight at once */
	const char	*prefix;	/* user names are prefix + index */
	pid_t		 server_pid;	/* 0: not known */
	double		 timeout;	/* global deadline, seconds */
	double		 duration;	/* logins, pwhash, peer: seconds */
	int		 clients;	/* logins: concurrent clients */
	int		 threads;	/* pwhash */
	int		 count;		/* peer: round trips measured */
	int		 size;		/* peer: bytes of text per message */
	int		 peer_window;	/* peer: messages in flight */
	int		 relay;		/* peer: through the server's relay */
	int		 list_interval_ms; /* logins: gap between LISTs */
	int		 first;		/* mkusers: first index */
	int		 attack;	/* attack: the kind */
	char		 source[64];	/* attack, user: first source */
	int		 nsources;	/* attack: how many sources */
};

/* Process-wide state shared by the modes. */
struct lg {
	struct lg_opts		 o;
	struct event_base	*base;
	struct event		*deadline_ev;
	uint8_t			 server_pk[SC_KEY_BYTES];
	struct sockaddr_storage	 addr;		/* the server */
	socklen_t		 addr_len;
	int			 failed;	/* set on a fatal run error */
	char			 error[256];
	uint64_t		 t_start_ms;
	size_t			 prefix_len;
};

/*
 * One TCP connection on the loop.  In sealchat mode it carries frames and
 * the handshake, then the encrypted channel; in line mode (IRC) it carries
 * CRLF-terminated lines.  Partial input is kept per connection; whole
 * frames are processed straight from a shared read buffer.
 */
enum lgconn_state {
	LGCONN_IDLE = 0,
	LGCONN_CONNECTING,
	LGCONN_HELLO,		/* HELLO sent, waiting for CONFIRM */
	LGCONN_CHANNEL,		/* encrypted channel up */
	LGCONN_LINES,		/* IRC: connected, line mode */
	LGCONN_CLOSED,
};

struct lgconn;

struct lgconn_ops {
	/* The channel is up (WELCOME opened) or the IRC socket connected. */
	void	(*up)(struct lgconn *);
	/*
	 * Optional fast path: sees each plaintext message first and returns
	 * 1 when it handled it (then it is not decoded), 0 to go on, -1 on a
	 * malformed message.
	 */
	int	(*raw)(struct lgconn *, const uint8_t *, size_t);
	/* One decoded message from the server. */
	void	(*msg)(struct lgconn *, const struct sc_msg *);
	/* One IRC line, without its CR LF, NUL-terminated in place. */
	void	(*line)(struct lgconn *, char *, size_t);
	/* The connection ended or failed; why says what happened. */
	void	(*down)(struct lgconn *, const char *why);
};

struct lgconn {
	int			 fd;
	enum lgconn_state	 state;
	int			 lines;		/* IRC line mode */
	struct event		*ev_rd;
	struct event		*ev_wr;
	const struct lgconn_ops	*ops;
	void			*arg;
	struct lg		*lg;
	const struct sockaddr	*src;		/* bound before connect */
	socklen_t		 src_len;	/* 0: any */
	struct handshake_client	*hs;		/* until CONFIRM */
	struct sc_channel	 ch;
	uint32_t		 max_frame;
	uint16_t		 ka_interval;
	uint8_t			*in;		/* partial input */
	size_t			 in_len;
	size_t			 in_cap;
	uint8_t			*out;		/* pending output */
	size_t			 out_len;
	size_t			 out_off;
	size_t			 out_cap;
	uint64_t		 last_tx_ms;
	uint64_t		 frames_in;
	uint64_t		 gen;		/* bumped by every close */
};

/* loadgen.c */
int		 loadgen_deadline_passed(struct lg *);
void		 loadgen_fail(struct lg *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 loadgen_user_name(const struct lg *, char *, size_t, int);
int		 loadgen_user_index(const struct lg *, const char *, size_t);
double		 loadgen_pct(double *, size_t, double);
int		 loadgen_proc_cpu(pid_t, double *);
int		 loadgen_proc_mem(pid_t, long *rss_kb, long *hwm_kb);
double		 loadgen_self_cpu(void);
int		 loadgen_settle(struct lg *, double max_s);

/* lgconn.c */
struct lgconn	*lgconn_new(struct lg *, const struct lgconn_ops *, void *arg);
void		 lgconn_free(struct lgconn *);
int		 lgconn_connect(struct lgconn *, struct handshake_client *,
		    int lines);
void		 lgconn_close(struct lgconn *);
int		 lgconn_send_msg(struct lgconn *, const struct wbuf *);
int		 lgconn_send_raw(struct lgconn *, const void *, size_t);
void		 lgconn_cleanup(void);

/* lgstorm.c */
int		 lgstorm_mkusers(struct lg *);
int		 lgstorm_storm(struct lg *);
int		 lgstorm_irc(struct lg *);

/* lglogins.c */
int		 lglogins_logins(struct lg *);
int		 lglogins_pwhash(struct lg *);

/* lgpeer.c */
int		 lgpeer_peer(struct lg *);

/* lgattack.c */
int		 lgattack_kind(const char *);
int		 lgattack_attack(struct lg *);
int		 lgattack_user(struct lg *);

#endif
