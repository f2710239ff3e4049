/* SPDX-License-Identifier: ISC */
/*
 * The client's core: the session with the server (login, the user list,
 * presence, pair keys), the peer table, and the one command that is running.
 * Front ends (script mode in script.c, the terminal in repl.c) feed command
 * lines through commands_run() and learn through their client_frontend
 * hooks when a command has finished; everything shown goes through the
 * struct output they supply.  One state says both where the session is and
 * what the running command waits for; every message from the server goes
 * through client_input() and its table of handlers.
 */
#ifndef SEALCHAT_CLIENT_CLIENT_H
#define SEALCHAT_CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"

#include "config.h"
#include "output.h"

/*
 * Where the client is.  The states between PASSWORD and SLOT are a command
 * waiting for its outcome; RECONNECT to RELOGIN_LIST a lost session being
 * restored (REPL and --listen); DRAIN, LOGOUT and LEAVING are the way out.
 */
enum client_state {
	CLIENT_CONNECTING,	/* connecting, the handshake */
	CLIENT_GREETED,		/* channel open, nobody logged in */
	CLIENT_IDLE,		/* no connection, nobody logged in */
	CLIENT_PASSWORD,	/* sign or auth: the password is read */
	CLIENT_LOGIN,		/* sign or auth sent: OK or ERROR awaited */
	CLIENT_LOGIN_LIST,	/* OK came: the initial USERS list awaited */
	CLIENT_ONLINE,		/* logged in, no command waiting */
	CLIENT_LIST,		/* list sent: the USERS reply awaited */
	CLIENT_PAIR,		/* send, verify: the pair key awaited */
	CLIENT_SLOT,		/* send: room among the messages in flight */
	CLIENT_MAIL,		/* send to a user offline: key, then QUEUED */
	CLIENT_RECONNECT,	/* session lost: the next attempt, handshake */
	CLIENT_RELOGIN,		/* connected again: our AUTH's OK awaited */
	CLIENT_RELOGIN_LIST,	/* logged in again: the fresh USERS awaited */
	CLIENT_DRAIN,		/* quit: the last acknowledgements awaited */
	CLIENT_LOGOUT,		/* quit after a login: the server's goodbye */
	CLIENT_LOGOUT_LIST,	/* the same, the initial list still to show */
	CLIENT_LEAVING,		/* quit before a login: the server's goodbye */
	CLIENT_DONE,		/* the loop is ending */
	CLIENT_NSTATES
};

/* How a command ended, or that it is still running. */
enum cmd_status {
	CMD_OK = 0,
	CMD_FAILED,
	CMD_PENDING,	/* client_frontend.done follows */
};

struct client_frontend {
	/* The channel to the server is open: commands may be read. */
	void	(*ready)(void *arg);
	/* The pending command finished; failed is 0 or 1. */
	void	(*done)(void *arg, int failed);
	/*
	 * A password for sign/auth given without one: 0 and the password in
	 * buf (*len bytes, the front end wipes nothing of it); 1 when the
	 * front end reads it and hands it over later through
	 * client_password_done(); or -1 with a reason in err.
	 */
	int	(*password)(void *arg, char *buf, size_t cap, size_t *len,
		    char *err, size_t errlen);
	/*
	 * The run is ending: the front end stops prompting before the last
	 * words are printed.  Called once; may be NULL.
	 */
	void	(*ending)(void *arg);
	/*
	 * /query: plain lines go to user from now on ("" ends it); 0, or -1
	 * with a reason in err.  NULL where there is no such thing (scripts).
	 */
	int	(*query)(void *arg, const char *user, char *err,
		    size_t errlen);
	/*
	 * 1 when password() gives the same password again without asking a
	 * person (a file, the environment): then the client keeps none for
	 * logging in again after an outage, it asks again.
	 */
	int	reread;
	void	*arg;
};

struct client_opts {
	int		 listen;	/* keep running after end of input */
	/*
	 * Once logged in, a lost session is restored: reconnect with backoff
	 * and log in again (the REPL and --listen); else an outage ends the
	 * run with 69.
	 */
	int		 persist;
	int		 interactive;	/* a person at a terminal (the REPL) */
	/* The first reconnect delay in ms (0: 1000); tests shorten it. */
	int		 retry_ms;
	const char	*key_path;	/* pinned key file, for messages */
};

struct client;

struct client	*client_new(struct event_base *, const struct client_conf *,
		    const uint8_t server_pk[SC_KEY_BYTES],
		    const struct client_opts *, struct output *);
/* Frees the client (not the output); NULL-safe. */
void		 client_free(struct client *);
void		 client_set_frontend(struct client *,
		    const struct client_frontend *);
/*
 * Connects to the server and catches SIGINT and SIGTERM.  The loop then
 * runs until the client is done; client_exit_status() tells how it ended.
 */
int		 client_start(struct client *);
int		 client_exit_status(const struct client *);
struct output	*client_output(struct client *);

/*
 * Handles one decoded message from the server: the connection's callbacks
 * (WELCOME included) come here, and so may tests and fuzzers.  Its pointers
 * are not kept.
 */
void		 client_input(struct client *, const struct sc_msg *);
enum client_state client_state(const struct client *);
/* The state's name, for log lines and tests. */
const char	*client_state_name(enum client_state);

int		 client_logged_in(const struct client *);
/* Our canonical name once logged in, else "". */
const char	*client_self(const struct client *);
/* The users online now (sorted), for completion. */
const char *const *client_online(const struct client *, size_t *n);
/* Asks the front end for a password (sign and auth without one). */
int		 client_password(struct client *, char *buf, size_t cap,
		    size_t *len, char *err, size_t errlen);

/* Prints "error CMD REASON" and marks the run as failed. */
void		 client_error(struct client *, const char *cmd,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The operations behind the commands.  Each returns CMD_OK or CMD_FAILED
 * (having printed the error) when it is over at once, CMD_PENDING when the
 * front end's done hook will tell.  name is canonical.
 */
enum cmd_status	 client_login(struct client *, const char *cmd, uint8_t type,
		    const char *name, const uint8_t *pass, size_t pass_len,
		    int from_line);
/*
 * sign or auth whose password the front end reads (its password hook
 * said 1): the command waits in PASSWORD for client_password_done().
 */
enum cmd_status	 client_login_asked(struct client *, const char *cmd,
		    uint8_t type, const char *name);
/*
 * The front end has the password asked for (pass, len), or err says why
 * not; the login goes on (connecting first when the connection was closed
 * meanwhile), and the front end's done hook tells the outcome.
 */
void		 client_password_done(struct client *, const char *pass,
		    size_t len, const char *err);
enum cmd_status	 client_list(struct client *);
enum cmd_status	 client_send(struct client *, const char *name,
		    const char *text, size_t len);
/* Shows each peer with its path, address and round trip. */
enum cmd_status	 client_peers(struct client *);
/* The front end's conversation with name ("" ends it), through fe.query. */
enum cmd_status	 client_query(struct client *, const char *name);
/*
 * Drops name's messages unseen and unacknowledged from now on (on 1), or
 * shows them again (on 0), until the client exits.
 */
enum cmd_status	 client_ignore(struct client *, const char *name, int on);
/* Shows the safety number with name ("verify NAME NUMBER"). */
enum cmd_status	 client_verify(struct client *, const char *name);
/* Trusts name's changed identity key ("identity NAME trusted"). */
enum cmd_status	 client_trust(struct client *, const char *name);
/* Waits for outstanding deliveries (bounded), logs out, ends the loop. */
enum cmd_status	 client_quit(struct client *);
/*
 * The wait in ms before reconnect attempt number attempt (0 the first):
 * first_ms doubling up to 30 s, then moved by up to a fifth either way as
 * rnd (random) says.  The schedule of docs/user-guide.md, for tests.
 */
uint64_t	 client_retry_delay(unsigned attempt, uint64_t first_ms,
		    uint64_t rnd);
/* End of the commands: quit, or with --listen keep running. */
void		 client_end_of_input(struct client *);

#endif
