/* SPDX-License-Identifier: ISC */
/*
 * Script mode: commands from standard input, one per line, each run to its
 * outcome before the next is read.  Lines are read with read(2) and split
 * here (never with libedit), so a pipe, a regular file and /dev/null all
 * work; a line longer than SCRIPT_LINE_MAX is an error, not a crash.
 */
#ifndef SEALCHAT_CLIENT_SCRIPT_H
#define SEALCHAT_CLIENT_SCRIPT_H

#include <stddef.h>

#include <event2/event.h>

#include "client.h"

#define SCRIPT_LINE_MAX	4096	/* bytes of a line, without CR LF */
#define SCRIPT_BUF	(SCRIPT_LINE_MAX + 2)

/* Line splitter state. */
struct script_lines {
	char	buf[SCRIPT_BUF];
	size_t	len;
	int	discarding;	/* skipping the rest of a line too long */
	int	eof;
};

enum script_next {
	SCRIPT_END = -1,		/* end of input, nothing left */
	SCRIPT_MORE = 0,		/* more input is needed */
	SCRIPT_LINE = 1,		/* a line */
	SCRIPT_TOOLONG = 2,	/* a line over the limit (its start given) */
};

void	script_lines_init(struct script_lines *);
/* Room for the next read (at least 1 byte unless a line is waiting). */
size_t	script_lines_room(const struct script_lines *);
/* Takes n bytes (n <= script_lines_room()); n == 0 marks end of input. */
void	script_lines_push(struct script_lines *, const char *, size_t n);
/*
 * The next line, copied into out (SCRIPT_BUF bytes) without its LF and one
 * trailing CR; *len is its length.  The copy in the splitter is wiped.
 */
enum script_next script_lines_next(struct script_lines *, char *out,
		    size_t *len);
void	script_lines_wipe(struct script_lines *);

struct script;

/*
 * Script mode on fd for client: installs the client's front-end hooks.
 * password_file (may be NULL) and $SEALCHAT_PASSWORD give the password of a
 * sign/auth line without one; failing both, when fd is a terminal, it is
 * typed there with echo off.
 */
struct script	*script_new(struct event_base *, struct client *, int fd,
		    const char *password_file);
void		 script_free(struct script *);	/* NULL-safe */
/*
 * Queues a command line before those of the input (-u's login, a one-shot
 * command); NULL instead ends the input there: it is not read at all.
 */
void		 script_push(struct script *, const char *line);

#endif
