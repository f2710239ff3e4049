/* SPDX-License-Identifier: ISC */
/*
 * The terminal front end: libedit line editing on the event loop, history
 * under $XDG_STATE_HOME (never a line that carries a password), Tab
 * completion of commands and online users, a prompt that shows who you are,
 * and incoming notices printed above the line being typed without garbling
 * it.  Used only when standard input and output are a terminal (or with
 * --interactive); script mode (script.c) serves everything else.
 */
#ifndef SEALCHAT_CLIENT_REPL_H
#define SEALCHAT_CLIENT_REPL_H

#include <event2/event.h>

#include "client.h"
#include "output.h"

struct repl;

/*
 * Makes the terminal front end and its printer.  color: 1 to use ANSI
 * colours (the caller decides: a terminal and no $NO_COLOR).
 */
struct repl	*repl_new(struct event_base *, int color);
/* The printer that writes above the line being typed; owned by the repl. */
struct output	*repl_output(struct repl *);
/*
 * Installs the front-end hooks on client; reading starts when it is ready,
 * after logging in as user when it is not NULL (-u).
 */
void		 repl_attach(struct repl *, struct client *, const char *user);
/* Restores the terminal, saves the history, frees; NULL-safe. */
void		 repl_free(struct repl *);

/*
 * The history file: $XDG_STATE_HOME/sealchat/history, else
 * $HOME/.local/state/sealchat/history.  -1 when neither is set.
 */
int		 repl_history_path(char *out, size_t len);

#endif
