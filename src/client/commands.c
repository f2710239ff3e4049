/* SPDX-License-Identifier: ISC */
/*
 * Command lines: splitting, the command table and the handlers.  A handler
 * checks what it can locally (names, lengths, login) and hands the rest to
 * the client core.  Nothing here echoes a password: errors about sign and
 * auth name the problem, never the line.
 */
#include <stdio.h>
#include <string.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"

#include "commands.h"

static enum cmd_status	commands_do_login(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_send(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_list(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_peers(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_verify(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_trust(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_help(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_quit(struct client *,
			    const struct command *, const struct cmd_args *);

const struct command commands_table[] = {
	{ "sign", NULL, SC_MSG_SIGN, commands_do_login, CMD_ARGS_USER_OPT,
	    CMD_TAKES_PASSWORD,
	    "sign USER [PASS]", "create an account and log in" },
	{ "auth", NULL, SC_MSG_AUTH, commands_do_login, CMD_ARGS_USER_OPT,
	    CMD_TAKES_PASSWORD,
	    "auth USER [PASS]", "log in" },
	{ "send", NULL, SC_MSG_PAIR, commands_do_send, CMD_ARGS_USER_TEXT,
	    CMD_NEEDS_LOGIN,
	    "send USER TEXT...", "send TEXT (the rest of the line) to USER" },
	{ "list", NULL, SC_MSG_LIST, commands_do_list, CMD_ARGS_NONE,
	    CMD_NEEDS_LOGIN,
	    "list", "the users online now" },
	{ "peers", NULL, 0, commands_do_peers, CMD_ARGS_NONE,
	    CMD_NEEDS_LOGIN,
	    "peers", "how messages reach each peer: path, address, rtt" },
	{ "verify", NULL, SC_MSG_PAIR, commands_do_verify, CMD_ARGS_USER,
	    CMD_NEEDS_LOGIN,
	    "verify USER", "the safety number to compare with USER" },
	{ "trust", NULL, 0, commands_do_trust, CMD_ARGS_USER,
	    CMD_NEEDS_LOGIN,
	    "trust USER", "accept USER's new identity key" },
	{ "help", "?", 0, commands_do_help, CMD_ARGS_NONE, 0,
	    "help", "this list" },
	{ "quit", NULL, SC_MSG_LOGOUT, commands_do_quit, CMD_ARGS_NONE, 0,
	    "quit", "log out and exit (end of input does the same)" },
	{ NULL, NULL, 0, NULL, CMD_ARGS_NONE, 0, NULL, NULL },
};

/* A blank between words. */
static int
commands_blank(char c)
{
	return (c == ' ' || c == '\t');
}

/* Splits a line into the command word, the user and the rest. */
int
commands_split(struct cmd_args *a, const char *line, size_t len)
{
	size_t	i = 0, start;

	memset(a, 0, sizeof(*a));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	while (i < len && commands_blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return (1);
	start = i;
	while (i < len && !commands_blank(line[i]))
		i++;
	a->word = line + start;
	a->word_len = i - start;
	while (i < len && commands_blank(line[i]))
		i++;
	if (i == len)
		return (0);
	a->extra = 1;
	start = i;
	while (i < len && !commands_blank(line[i]))
		i++;
	a->user = line + start;
	a->user_len = i - start;
	if (i < len) {
		/* One separator; everything after it is kept as typed. */
		a->rest = line + i + 1;
		a->rest_len = len - i - 1;
	}
	return (0);
}

/* Tells whether the len bytes of word spell name. */
static int
commands_word_is(const char *name, const char *word, size_t len)
{
	return (strlen(name) == len && memcmp(name, word, len) == 0);
}

/* Looks a command word up in the table. */
const struct command *
commands_find(const char *word, size_t len)
{
	const struct command	*cmd;

	for (cmd = commands_table; cmd->name != NULL; cmd++) {
		if (commands_word_is(cmd->name, word, len) ||
		    (cmd->alias != NULL &&
		    commands_word_is(cmd->alias, word, len)))
			return (cmd);
	}
	return (NULL);
}

/* Checks the arguments against the command's shape. */
static int
commands_shape_ok(const struct command *cmd, const struct cmd_args *a)
{
	switch (cmd->shape) {
	case CMD_ARGS_NONE:
		return (!a->extra);
	case CMD_ARGS_USER_OPT:
		return (a->user != NULL);
	case CMD_ARGS_USER_TEXT:
		return (a->user != NULL && a->rest != NULL);
	case CMD_ARGS_USER:
		return (a->user != NULL && a->rest == NULL);
	}
	return (0);
}

/* Runs one command line. */
enum cmd_status
commands_run(struct client *c, const char *line, size_t len)
{
	const struct command	*cmd;
	struct cmd_args		 a;
	char			 word[64];
	size_t			 n;

	if (commands_split(&a, line, len) != 0)
		return (CMD_OK);
	if ((cmd = commands_find(a.word, a.word_len)) == NULL) {
		/* The word as typed, cut; the printer escapes it. */
		n = a.word_len < sizeof(word) - 1 ? a.word_len :
		    sizeof(word) - 1;
		memcpy(word, a.word, n);
		word[n] = '\0';
		client_error(c, word, "unknown command");
		return (CMD_FAILED);
	}
	if (!commands_shape_ok(cmd, &a)) {
		client_error(c, cmd->name, "usage: %s", cmd->usage);
		return (CMD_FAILED);
	}
	if ((cmd->flags & CMD_NEEDS_LOGIN) && !client_logged_in(c)) {
		client_error(c, cmd->name, "not logged in");
		return (CMD_FAILED);
	}
	return (cmd->handler(c, cmd, &a));
}

/* Tells whether a line carries a password (sign/auth USER PASS). */
int
commands_has_password(const char *line, size_t len)
{
	const struct command	*cmd;
	struct cmd_args		 a;

	if (commands_split(&a, line, len) != 0)
		return (0);
	if ((cmd = commands_find(a.word, a.word_len)) == NULL)
		return (0);
	return ((cmd->flags & CMD_TAKES_PASSWORD) && a.rest != NULL &&
	    a.rest_len > 0);
}

/* Prints every command with its usage. */
void
commands_help(struct output *out)
{
	const struct command	*cmd;
	char			 text[128];

	for (cmd = commands_table; cmd->name != NULL; cmd++) {
		if (cmd->alias != NULL) {
			snprintf(text, sizeof(text), "%s (also %s)", cmd->help,
			    cmd->alias);
			output_help(out, cmd->usage, text);
		} else
			output_help(out, cmd->usage, cmd->help);
	}
}

/* sign USER [PASS], auth USER [PASS] */
static enum cmd_status
commands_do_login(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	char		name[SC_NAME_MAX + 1];
	char		pass[SC_PASS_MAX + 2];
	char		err[256];
	size_t		plen;
	enum cmd_status	st;

	if (wire_name_canon(name, a->user, a->user_len) != 0) {
		client_error(c, cmd->name, "%s", wire_err_str(SC_ERR_BAD_NAME));
		return (CMD_FAILED);
	}
	if (client_logged_in(c)) {
		client_error(c, cmd->name, "already logged in as %s",
		    client_self(c));
		return (CMD_FAILED);
	}
	if (a->rest != NULL && a->rest_len > 0) {
		if (a->rest_len > SC_PASS_MAX) {
			client_error(c, cmd->name, "%s",
			    wire_err_str(SC_ERR_BAD_PASS));
			return (CMD_FAILED);
		}
		memcpy(pass, a->rest, a->rest_len);
		plen = a->rest_len;
	} else if (client_password(c, pass, sizeof(pass), &plen, err,
	    sizeof(err)) != 0) {
		sc_wipe(pass, sizeof(pass));
		client_error(c, cmd->name, "%s", err);
		return (CMD_FAILED);
	}
	if (plen < SC_PASS_MIN || plen > SC_PASS_MAX) {
		sc_wipe(pass, sizeof(pass));
		client_error(c, cmd->name, "%s", wire_err_str(SC_ERR_BAD_PASS));
		return (CMD_FAILED);
	}
	st = client_login(c, cmd->name, cmd->msg_type, name,
	    (const uint8_t *)pass, plen);
	sc_wipe(pass, sizeof(pass));
	return (st);
}

/* send USER TEXT... */
static enum cmd_status
commands_do_send(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	char	name[SC_NAME_MAX + 1];
	char	shown[SC_NAME_MAX + 1];
	size_t	n;

	if (wire_name_canon(name, a->user, a->user_len) != 0) {
		n = a->user_len < SC_NAME_MAX ? a->user_len : SC_NAME_MAX;
		memcpy(shown, a->user, n);
		shown[n] = '\0';
		client_error(c, cmd->name, "%s: %s",
		    wire_err_str(SC_ERR_BAD_NAME), shown);
		return (CMD_FAILED);
	}
	if (a->rest_len > SC_TEXT_MAX) {
		client_error(c, cmd->name, "message too long (max %d bytes)",
		    SC_TEXT_MAX);
		return (CMD_FAILED);
	}
	return (client_send(c, name, a->rest, a->rest_len));
}

/* The canonical name of USER, or an error record that shows it. */
static int
commands_user(struct client *c, const struct command *cmd,
    const struct cmd_args *a, char name[SC_NAME_MAX + 1])
{
	char	shown[SC_NAME_MAX + 1];
	size_t	n;

	if (wire_name_canon(name, a->user, a->user_len) == 0)
		return (0);
	n = a->user_len < SC_NAME_MAX ? a->user_len : SC_NAME_MAX;
	memcpy(shown, a->user, n);
	shown[n] = '\0';
	client_error(c, cmd->name, "%s: %s", wire_err_str(SC_ERR_BAD_NAME),
	    shown);
	return (-1);
}

/* verify USER */
static enum cmd_status
commands_do_verify(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	char	name[SC_NAME_MAX + 1];

	if (commands_user(c, cmd, a, name) != 0)
		return (CMD_FAILED);
	return (client_verify(c, name));
}

/* trust USER */
static enum cmd_status
commands_do_trust(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	char	name[SC_NAME_MAX + 1];

	if (commands_user(c, cmd, a, name) != 0)
		return (CMD_FAILED);
	return (client_trust(c, name));
}

/* list */
static enum cmd_status
commands_do_list(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	(void)cmd;
	(void)a;
	return (client_list(c));
}

/* peers */
static enum cmd_status
commands_do_peers(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	(void)cmd;
	(void)a;
	return (client_peers(c));
}

/* help, ? */
static enum cmd_status
commands_do_help(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	(void)cmd;
	(void)a;
	commands_help(client_output(c));
	return (CMD_OK);
}

/* quit */
static enum cmd_status
commands_do_quit(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	(void)cmd;
	(void)a;
	return (client_quit(c));
}
