/* SPDX-License-Identifier: ISC */
/*
 * Command lines: splitting, the command table and the handlers.  A handler
 * checks what it can locally (names, lengths, login) and hands the rest to
 * the client core.  Nothing here echoes a password: errors about sign and
 * auth name the problem, never the line.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

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
static enum cmd_status	commands_do_query(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_ignore(struct client *,
			    const struct command *, const struct cmd_args *);
static enum cmd_status	commands_do_unignore(struct client *,
			    const struct command *, const struct cmd_args *);

/* *INDENT-OFF* */
const struct command commands_table[] = {
	{ "sign", { NULL }, SC_MSG_SIGN, commands_do_login, CMD_ARGS_USER_OPT,
	    CMD_TAKES_PASSWORD,
	    "sign USER [PASS]", "create an account and log in" },
	{ "auth", { NULL }, SC_MSG_AUTH, commands_do_login, CMD_ARGS_USER_OPT,
	    CMD_TAKES_PASSWORD,
	    "auth USER [PASS]", "log in" },
	{ "send", { "/msg" }, SC_MSG_PAIR, commands_do_send,
	    CMD_ARGS_USER_TEXT, CMD_NEEDS_LOGIN,
	    "send USER TEXT...", "send TEXT (the rest of the line) to USER" },
	{ "list", { "/who" }, SC_MSG_LIST, commands_do_list, CMD_ARGS_NONE,
	    CMD_NEEDS_LOGIN,
	    "list", "the users online now" },
	{ "peers", { NULL }, 0, commands_do_peers, CMD_ARGS_NONE,
	    CMD_NEEDS_LOGIN,
	    "peers", "how messages reach each peer: path, address, rtt" },
	{ "query", { "/q" }, 0, commands_do_query, CMD_ARGS_USER_OR_NONE,
	    CMD_TERMINAL,
	    "/query [USER]", "plain lines go to USER; /query alone ends it" },
	{ "ignore", { NULL }, 0, commands_do_ignore, CMD_ARGS_USER, 0,
	    "ignore USER", "drop USER's messages unseen (this session)" },
	{ "unignore", { NULL }, 0, commands_do_unignore, CMD_ARGS_USER, 0,
	    "unignore USER", "show USER's messages again" },
	{ "verify", { NULL }, SC_MSG_PAIR, commands_do_verify, CMD_ARGS_USER,
	    CMD_NEEDS_LOGIN,
	    "verify USER", "the safety number to compare with USER" },
	{ "trust", { NULL }, 0, commands_do_trust, CMD_ARGS_USER,
	    CMD_NEEDS_LOGIN,
	    "trust USER", "accept USER's new identity key" },
	{ "help", { "?", "/help" }, 0, commands_do_help, CMD_ARGS_NONE, 0,
	    "help", "this list" },
	{ "quit", { "/quit" }, SC_MSG_LOGOUT, commands_do_quit, CMD_ARGS_NONE,
	    0,
	    "quit", "log out and exit; the end of input does the same" },
	{ NULL, { NULL }, 0, NULL, CMD_ARGS_NONE, 0, NULL, NULL },
};
/* *INDENT-ON* */

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

/* Tells whether a word is the command's name or one of its aliases. */
static int
commands_is(const struct command *cmd, const char *word, size_t len)
{
	size_t	i;

	if (commands_word_is(cmd->name, word, len))
		return (1);
	for (i = 0; i < COMMANDS_ALIASES && cmd->alias[i] != NULL; i++)
		if (commands_word_is(cmd->alias[i], word, len))
			return (1);
	return (0);
}

/* Looks a command word up in the table; /WORD is WORD. */
const struct command *
commands_find(const char *word, size_t len)
{
	const struct command	*cmd;

	for (cmd = commands_table; cmd->name != NULL; cmd++)
		if (commands_is(cmd, word, len))
			return (cmd);
	if (len > 1 && word[0] == '/' && word[1] != '/')
		return (commands_find(word + 1, len - 1));
	return (NULL);
}

/* Checks the arguments against the command's shape. */
int
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
	case CMD_ARGS_USER_OR_NONE:
		return (a->rest == NULL);
	}
	return (0);
}

/*
 * The edit distance between two short words (bytes, at most 32 each): an
 * insertion, a deletion, a change or two letters swapped count one each.
 */
static size_t
commands_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t	d[33][33], i, j, best;

	if (la > 32 || lb > 32)
		return (SIZE_MAX);
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return (d[la][lb]);
}

/*
 * The command word nearest to word (its name or an alias), when one is
 * near enough to be what was meant: at most two edits, and fewer than the
 * word has letters.  A word written /WORD is also held against the names
 * as WORD, and then the answer is /NAME.  NULL when none is near.
 */
const char *
commands_suggest(const char *word, size_t len)
{
	static char		 slashed[32];
	const struct command	*cmd;
	const char		*best = NULL, *w;
	size_t			 d, bestd = 3, wl, k;
	int			 slash = 0, s;

	for (cmd = commands_table; cmd->name != NULL; cmd++) {
		for (k = 0; k <= COMMANDS_ALIASES; k++) {
			if ((w = k == 0 ? cmd->name : cmd->alias[k - 1]) ==
			    NULL)
				break;
			wl = strlen(w);
			for (s = 0; s < 2; s++) {
				if (s == 1 && (len < 2 || word[0] != '/'))
					break;
				d = commands_distance(word + s, len - s, w,
				    wl);
				if (d < bestd && d < len - s) {
					bestd = d;
					best = w;
					slash = s;
				}
			}
		}
	}
	if (best != NULL && slash) {
		snprintf(slashed, sizeof(slashed), "/%s", best);
		return (slashed);
	}
	return (best);
}

/* Runs one command line. */
enum cmd_status
commands_run(struct client *c, const char *line, size_t len)
{
	const struct command	*cmd;
	struct cmd_args		 a;
	const char		*near;
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
		if ((near = commands_suggest(a.word, a.word_len)) != NULL)
			client_error(c, word, "unknown command (did you mean "
			    "%s?)", near);
		else
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

/*
 * Tells whether a line may enter the REPL's history: only a known command
 * without a password.  A line whose command word is mistyped may still
 * hold one (Auth bob secret), so it never does.
 */
int
commands_history_ok(const char *line, size_t len)
{
	struct cmd_args	a;

	if (commands_split(&a, line, len) != 0 ||
	    commands_find(a.word, a.word_len) == NULL)
		return (0);
	return (!commands_has_password(line, len));
}

/* Prints every command with its usage and its aliases. */
void
commands_help(struct output *out)
{
	const struct command	*cmd;
	char			 text[128];
	size_t			 i;

	for (cmd = commands_table; cmd->name != NULL; cmd++) {
		strlcpy(text, cmd->help, sizeof(text));
		for (i = 0; i < COMMANDS_ALIASES && cmd->alias[i] != NULL;
		    i++) {
			strlcat(text, i == 0 ? " (also " : ", ", sizeof(text));
			strlcat(text, cmd->alias[i], sizeof(text));
		}
		if (i > 0)
			strlcat(text, ")", sizeof(text));
		output_help(out, cmd->usage, text);
	}
}

/*
 * A name from a command line, canonical into name; else the error (the
 * name as typed, cut, and the rule) and -1.
 */
static int
commands_name(struct client *c, const char *cmd, char name[SC_NAME_MAX + 1],
    const char *typed, size_t len)
{
	char	shown[SC_NAME_MAX + 1];
	size_t	n;

	if (wire_name_canon(name, typed, len) == 0)
		return (0);
	n = len < SC_NAME_MAX ? len : SC_NAME_MAX;
	memcpy(shown, typed, n);
	shown[n] = '\0';
	client_error(c, cmd, "bad name: %s (%s)", shown, COMMANDS_NAME_RULE);
	return (-1);
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
	int		r;

	if (commands_name(c, cmd->name, name, a->user, a->user_len) != 0)
		return (CMD_FAILED);
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
	} else if ((r = client_password(c, pass, sizeof(pass), &plen, err,
	    sizeof(err))) != 0) {
		sc_wipe(pass, sizeof(pass));
		/* 1: the front end reads it and hands it over later. */
		if (r == 1)
			return (client_login_asked(c, cmd->name, cmd->msg_type,
			    name));
		client_error(c, cmd->name, "%s", err);
		return (CMD_FAILED);
	}
	if (plen < SC_PASS_MIN || plen > SC_PASS_MAX) {
		sc_wipe(pass, sizeof(pass));
		client_error(c, cmd->name, "%s", wire_err_str(SC_ERR_BAD_PASS));
		return (CMD_FAILED);
	}
	st = client_login(c, cmd->name, cmd->msg_type, name,
	    (const uint8_t *)pass, plen, a->rest != NULL && a->rest_len > 0);
	sc_wipe(pass, sizeof(pass));
	return (st);
}

/* send USER TEXT... */
static enum cmd_status
commands_do_send(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	char	name[SC_NAME_MAX + 1];

	if (commands_name(c, cmd->name, name, a->user, a->user_len) != 0)
		return (CMD_FAILED);
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

/* /query [USER]: the REPL's conversation with USER, or its end. */
static enum cmd_status
commands_do_query(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	char	name[SC_NAME_MAX + 1];

	name[0] = '\0';
	if (a->user != NULL && commands_name(c, cmd->name, name, a->user,
	    a->user_len) != 0)
		return (CMD_FAILED);
	return (client_query(c, name));
}

/* ignore USER */
static enum cmd_status
commands_do_ignore(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	char	name[SC_NAME_MAX + 1];

	if (commands_name(c, cmd->name, name, a->user, a->user_len) != 0)
		return (CMD_FAILED);
	return (client_ignore(c, name, 1));
}

/* unignore USER */
static enum cmd_status
commands_do_unignore(struct client *c, const struct command *cmd,
    const struct cmd_args *a)
{
	char	name[SC_NAME_MAX + 1];

	if (commands_name(c, cmd->name, name, a->user, a->user_len) != 0)
		return (CMD_FAILED);
	return (client_ignore(c, name, 0));
}
