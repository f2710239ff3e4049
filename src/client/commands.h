/* SPDX-License-Identifier: ISC */
/*
 * The one command table.  Script mode, `help` and a terminal front end all
 * go through it: a line is split once (commands_split), its word looked up,
 * the arguments checked against the command's shape, and the handler run.
 */
#ifndef SEALCHAT_CLIENT_COMMANDS_H
#define SEALCHAT_CLIENT_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "output.h"

/* Command flags. */
#define CMD_NEEDS_LOGIN		0x01	/* refused before login */
#define CMD_TAKES_PASSWORD	0x02	/* its line may carry a password */

/* The arguments a command takes. */
enum cmd_shape {
	CMD_ARGS_NONE,		/* nothing after the word */
	CMD_ARGS_USER_OPT,	/* USER, then optionally the rest (password) */
	CMD_ARGS_USER_TEXT,	/* USER, one space, then the rest (text) */
	CMD_ARGS_USER,		/* USER and nothing else */
};

/*
 * One split line.  Pointers point into the line.  user is the first word
 * after the command; rest is everything after user and exactly one space
 * or TAB, kept as typed (NULL when the line ends after user).  extra is set
 * when something but blanks follows the command word.
 */
struct cmd_args {
	const char	*word;
	size_t		 word_len;
	const char	*user;
	size_t		 user_len;
	const char	*rest;
	size_t		 rest_len;
	int		 extra;
};

/*
 * One command: a row of the table.  A new command is one more row; its
 * handler gets the row, so one handler may serve several commands (sign
 * and auth differ only in msg_type).
 */
struct command {
	const char	*name;
	const char	*alias;		/* another word for it, or NULL */
	uint8_t		 msg_type;	/* the request it makes, or 0 */
	enum cmd_status	(*handler)(struct client *, const struct command *,
			    const struct cmd_args *);
	enum cmd_shape	 shape;
	int		 flags;
	const char	*usage;
	const char	*help;
};

/* The table, ended by an entry with a NULL name. */
extern const struct command commands_table[];

/*
 * Splits a line (without its newline; one trailing CR is dropped).
 * Returns 0 for a command, 1 for a blank line or a comment ('#').
 */
int		 commands_split(struct cmd_args *, const char *line,
		    size_t len);
/* The entry for a command word (its name or its alias), or NULL. */
const struct command *commands_find(const char *word, size_t len);
/*
 * Runs one line.  Blank lines and comments are CMD_OK without output.
 * Errors are printed as "error CMD REASON" records.
 */
enum cmd_status	 commands_run(struct client *, const char *line, size_t len);
/* 1 when the line is a command that carries a password (no history). */
int		 commands_has_password(const char *line, size_t len);
/* Prints the command list: usage and help of each, with its alias. */
void		 commands_help(struct output *);

#endif
