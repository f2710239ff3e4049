/* SPDX-License-Identifier: ISC */
/*
 * A password read from the terminal on the event loop, with echo off: the
 * REPL's "Password:" and script mode's on a terminal.  Unlike
 * readpassphrase(3) it never blocks the loop (signals, keepalives and
 * messages are handled while a person types) and never discards keys typed
 * ahead: a password typed right after "auth alice", before the prompt
 * shows, is read as the password, and keys typed after its Enter stay for
 * whatever reads next.
 */
#ifndef SEALCHAT_CLIENT_ASKPASS_H
#define SEALCHAT_CLIENT_ASKPASS_H

#include <stddef.h>
#include <stdio.h>

#include <event2/event.h>

#include "sealchat/proto.h"

/* The most bytes taken; one more than a password may have, to tell. */
#define ASKPASS_MAX	(SC_PASS_MAX + 1)

/*
 * The outcome: the password (len bytes, wiped when this returns), or err
 * ("no password" for Ctrl-D on an empty line, or the terminal closed).
 */
typedef void	(*askpass_fn)(void *arg, const char *pass, size_t len,
		    const char *err);

struct askpass;

/* Reads from fd (a terminal), prompting on out; NULL when out of memory. */
struct askpass	*askpass_new(struct event_base *, int fd, FILE *out);
/* Restores the terminal if a prompt is on, wipes, frees; NULL-safe. */
void		 askpass_free(struct askpass *);
/*
 * Shows prompt and reads one line with echo off; fn runs once it is over.
 * -1 when fd is not a terminal or its mode cannot be changed.
 */
int		 askpass_start(struct askpass *, const char *prompt,
		    askpass_fn fn, void *arg);
/* 1 while a password is being read. */
int		 askpass_active(const struct askpass *);
/* Shows the prompt again (after a line was printed above it). */
void		 askpass_prompt(struct askpass *);
/* Puts the terminal back as it was before the prompt (a suspend). */
void		 askpass_pause(struct askpass *);
/* Echo off again after askpass_pause(), and the prompt shown. */
void		 askpass_resume(struct askpass *);
/* Gives the prompt up: the terminal restored, fn never runs. */
void		 askpass_cancel(struct askpass *);

#endif
