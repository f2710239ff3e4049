/* SPDX-License-Identifier: ISC */
/*
 * The stored messages already shown (docs/user-guide.md, "Messages while
 * you are offline").  The server sends a stored message again when the
 * session ended before its acknowledgement; the client remembers the ids
 * it has shown, so that it acknowledges such a message again without
 * showing it twice.
 *
 * The ids live beside the identity, in
 * $XDG_DATA_HOME/sealchat/SERVER/USER/shown: a comment line, then one id
 * a line (32 lowercase hex digits), appended and synced before the
 * acknowledgement leaves.  An id matters only until the server has the
 * acknowledgement, so the file is bounded: past SHOWN_MAX ids it is
 * written again, atomically, with the newest SHOWN_KEEP.
 */
#ifndef SEALCHAT_CLIENT_SHOWN_H
#define SEALCHAT_CLIENT_SHOWN_H

#include <stddef.h>
#include <stdint.h>

#include "sealchat/proto.h"

#define SHOWN_MAX	4096	/* ids kept at most */
#define SHOWN_KEEP	1024	/* ids kept when the file is written anew */
#define SHOWN_FILE_MAX	(64 + SHOWN_MAX * (2 * SC_MAIL_ID_BYTES + 1))

struct shown;

/*
 * Reads dir/shown when there is one.  NULL with a sentence in err: a
 * damaged file is named with its line (a last line cut short by a crash
 * is dropped, not an error).
 */
struct shown	*shown_open(const char *dir, char *err, size_t errlen);
void		 shown_free(struct shown *);	/* NULL-safe */
/* Whether id was shown. */
int		 shown_has(const struct shown *,
		    const uint8_t id[SC_MAIL_ID_BYTES]);
/*
 * Remembers id, durably when the file could be written: 0, or -1 with a
 * sentence in err (it is remembered in memory all the same).
 */
int		 shown_add(struct shown *, const uint8_t id[SC_MAIL_ID_BYTES],
		    char *err, size_t errlen);
/* Ids remembered. */
size_t		 shown_count(const struct shown *);
/*
 * Reads the text of a shown file into the set, replacing it; -1 with
 * "LINE: what" in err (fuzzing, tests).  No file is touched.
 */
int		 shown_parse(struct shown *, const char *text, size_t len,
		    char *err, size_t errlen);
/* An empty set with no file (fuzzing, tests). */
struct shown	*shown_new(void);

#endif
