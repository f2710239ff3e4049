/*
 * Script mode: commands from standard input, one per line, each run to its
 * outcome before the next is read.  Lines are read with read(2) and split
 * here (never with libedit), so a pipe, a regular file and /dev/null all
 * work; a line longer than BATCH_LINE_MAX is an error, not a crash.
 */
#ifndef SEALCHAT_BATCH_H
#define SEALCHAT_BATCH_H

#include <stddef.h>

#include <event2/event.h>

#include "client.h"

#define BATCH_LINE_MAX	4096	/* bytes of a line, without CR LF */
#define BATCH_BUF	(BATCH_LINE_MAX + 2)

/* Line splitter state. */
struct batch_lines {
	char	buf[BATCH_BUF];
	size_t	len;
	int	discarding;	/* skipping the rest of a line too long */
	int	eof;
};

enum batch_next {
	BATCH_END = -1,		/* end of input, nothing left */
	BATCH_MORE = 0,		/* more input is needed */
	BATCH_LINE = 1,		/* a line */
	BATCH_TOOLONG = 2,	/* a line over the limit (its start given) */
};

void	batch_lines_init(struct batch_lines *);
/* Room for the next read (at least 1 byte unless a line is waiting). */
size_t	batch_lines_room(const struct batch_lines *);
/* Takes n bytes (n <= batch_lines_room()); n == 0 marks end of input. */
void	batch_lines_push(struct batch_lines *, const char *, size_t n);
/*
 * The next line, copied into out (BATCH_BUF bytes) without its LF and one
 * trailing CR; *len is its length.  The copy in the splitter is wiped.
 */
enum batch_next batch_lines_next(struct batch_lines *, char *out,
		    size_t *len);
void	batch_lines_wipe(struct batch_lines *);

struct batch;

/*
 * Script mode on fd for client: installs the client's front-end hooks.
 * password_file (may be NULL) and $SEALCHAT_PASSWORD give the password of a
 * sign/auth line without one.
 */
struct batch	*batch_new(struct event_base *, struct client *, int fd,
		    const char *password_file);
void		 batch_free(struct batch *);	/* NULL-safe */

#endif
