/* SPDX-License-Identifier: ISC */
/*
 * What the client shows.  Every record (docs/user-guide.md, "Script mode";
 * sealchat(1), SCRIPT MODE) goes through one struct output, whose
 * operations a front end supplies: script mode prints TAB-separated,
 * escaped records on standard output and diagnostics on standard error; a
 * terminal front end supplies its own operations with the same meaning.
 */
#ifndef SEALCHAT_CLIENT_OUTPUT_H
#define SEALCHAT_CLIENT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One peer as `peers` shows it. */
struct output_peer {
	const char	*user;
	const char	*path;		/* "direct", "relay" or "checking" */
	const char	*address;	/* "203.0.113.7:40000", or "-" */
	int		 rtt_ms;	/* -1: not measured */
};

struct output_ops {
	/* "ok CMD USER": a login succeeded. */
	void	(*ok)(void *, const char *cmd, const char *user);
	/* "users NAME...": the users online (initial list or list answer). */
	void	(*users)(void *, const char *const *names, size_t n);
	/* "online USER" / "offline USER". */
	void	(*presence)(void *, int online, const char *user);
	/* "msg FROM TEXT": text is len bytes, any values. */
	void	(*msg)(void *, const char *from, const char *text, size_t len);
	/*
	 * "msg FROM TEXT" for a message stored while we were offline:
	 * sent_ms is when its sender sent it (Unix ms, the sender's clock),
	 * stored when the server stored it (Unix seconds).  NULL: as msg.
	 */
	void	(*stored)(void *, const char *from, const char *text,
		    size_t len, uint64_t sent_ms, uint64_t stored);
	/* "queued TO": the server stored a message for TO, offline. */
	void	(*queued)(void *, const char *to);
	/* "delivered TO": the peer acknowledged a message. */
	void	(*delivered)(void *, const char *to);
	/* "peer USER PATH ADDRESS RTT_MS", one per peer (the peers list). */
	void	(*peers)(void *, const struct output_peer *, size_t n);
	/*
	 * "identity USER WHAT": USER's identity key changed (held back
	 * until trusted), or was trusted.
	 */
	void	(*identity)(void *, const char *user, const char *what);
	/* "verify USER NUMBER": the safety number with USER. */
	void	(*verify)(void *, const char *user, const char *number);
	/* "error CMD REASON". */
	void	(*error)(void *, const char *cmd, const char *reason);
	/*
	 * "disconnected REASON": the session with the server was lost; the
	 * client reconnects, and "ok" and "users" follow when it is back.
	 */
	void	(*disconnected)(void *, const char *reason);
	/*
	 * A message of ours went to TO (len bytes of text): a chat line at
	 * the terminal; no record (the script wrote the command).
	 */
	void	(*sent)(void *, const char *to, const char *text, size_t len);
	/* A note for a person (ignore, /query): no record in script mode. */
	void	(*info)(void *, const char *text);
	/* One line of the command list (help). */
	void	(*help)(void *, const char *usage, const char *text);
	/* A diagnostic for the person or script (standard error). */
	void	(*diag)(void *, const char *text);
	/* Releases arg. */
	void	(*free)(void *);
};

struct output {
	const struct output_ops	*ops;
	void			*arg;
};

/*
 * Script-mode printer: records on rec (flushed after each one), help and
 * diagnostics on diag, prefixed with "sealchat: ".
 */
struct output	*output_script_new(FILE *rec, FILE *diag);
/* An output with the given operations (a front end's own printer). */
struct output	*output_new(const struct output_ops *, void *arg);
void		 output_free(struct output *);	/* NULL-safe */

void	output_ok(struct output *, const char *cmd, const char *user);
void	output_users(struct output *, const char *const *names, size_t n);
void	output_presence(struct output *, int online, const char *user);
void	output_msg(struct output *, const char *from, const char *text,
	    size_t len);
void	output_stored(struct output *, const char *from, const char *text,
	    size_t len, uint64_t sent_ms, uint64_t stored);
void	output_queued(struct output *, const char *to);
void	output_delivered(struct output *, const char *to);
void	output_peers(struct output *, const struct output_peer *, size_t n);
void	output_identity(struct output *, const char *user, const char *what);
void	output_verify(struct output *, const char *user, const char *number);
void	output_error(struct output *, const char *cmd, const char *reason);
void	output_disconnected(struct output *, const char *reason);
void	output_sent(struct output *, const char *to, const char *text,
	    size_t len);
void	output_info(struct output *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	output_help(struct output *, const char *usage, const char *text);
void	output_diag(struct output *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
