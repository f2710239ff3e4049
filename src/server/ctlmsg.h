/* SPDX-License-Identifier: ISC */
/*
 * The control protocol between sealchatctl and the daemon, on the UNIX
 * socket control_socket (SOCK_STREAM).  It never leaves the machine and
 * only the daemon's user, root and control_group may speak it; it is
 * written down in docs/operations.md ("The control socket").
 *
 * One request per connection.  Every unit is a frame as on the wire: a
 * u32 big-endian length, then that many bytes (the body).
 *
 *   request, sealchatctl -> daemon, exactly one frame:
 *     u8 version (CTLMSG_VERSION), u8 command (enum ctlmsg_command),
 *     str8 name (0..SC_NAME_MAX bytes: a canonical user name for the
 *     commands that take one, else empty), u16 data_len, data (a password
 *     of SC_PASS_MIN..SC_PASS_MAX bytes for the commands that take one,
 *     else nothing), and nothing after
 *   replies, daemon -> sealchatctl, then the daemon closes:
 *     ROW frames or DATA frames, then one END frame:
 *     ROW:  u8 1, then one record: fields separated by one TAB, 1 to
 *           CTLMSG_ROW_MAX bytes, no other control character
 *     DATA: u8 2, then 1 to CTLMSG_DATA_MAX bytes of a backup
 *     END:  u8 3, u8 status (enum ctlmsg_status), u64 count (the ROWs or
 *           the bytes of DATA sent before it), then a message of 0 to
 *           CTLMSG_TEXT_MAX bytes without control characters
 *
 * Each message has one encoder and one decoder here, on the codec's wbuf
 * and rbuf; the decoders check every length, field and trailing byte.
 */
#ifndef SEALCHATD_CTLMSG_H
#define SEALCHATD_CTLMSG_H

#include <stddef.h>
#include <stdint.h>

#include "sealchat/proto.h"
#include "sealchat/wire.h"

#define CTLMSG_VERSION		1
#define CTLMSG_REQ_MIN		(1 + 1 + 1 + 2)
#define CTLMSG_REQ_MAX		(CTLMSG_REQ_MIN + SC_NAME_MAX + SC_PASS_MAX)
#define CTLMSG_ROW_MAX		1024
#define CTLMSG_DATA_MAX		32768
#define CTLMSG_TEXT_MAX		255
#define CTLMSG_END_MIN		(1 + 1 + 8)
/* The longest body of a reply. */
#define CTLMSG_REPLY_MAX	(1 + CTLMSG_DATA_MAX)

enum ctlmsg_command {
	CTLMSG_STATUS = 1,
	CTLMSG_WHO,
	CTLMSG_KICK,
	CTLMSG_USER_LIST,
	CTLMSG_USER_ADD,
	CTLMSG_USER_PASSWD,
	CTLMSG_USER_DEL,
	CTLMSG_USER_LOCK,
	CTLMSG_USER_UNLOCK,
	CTLMSG_RELOAD,
	CTLMSG_BACKUP,
	CTLMSG_COMMAND_LAST = CTLMSG_BACKUP,
};

enum ctlmsg_kind {
	CTLMSG_ROW = 1,
	CTLMSG_DATA = 2,
	CTLMSG_END = 3,
};

/* The outcome of a request, in END. */
enum ctlmsg_status {
	CTLMSG_OK = 0,
	CTLMSG_MALFORMED,	/* the request broke this format */
	CTLMSG_DENIED,		/* the caller is not admitted */
	CTLMSG_NO_USER,		/* no such account */
	CTLMSG_OFFLINE,		/* the user is not logged in */
	CTLMSG_TAKEN,		/* the name is registered */
	CTLMSG_BAD_NAME,	/* the name breaks the rules */
	CTLMSG_BAD_PASS,	/* the password is empty or too long */
	CTLMSG_BUSY,		/* the hash queue or the socket is full */
	CTLMSG_FAILED,		/* the daemon failed (database, memory) */
	CTLMSG_CONFIG,		/* reload: the file cannot be used */
	CTLMSG_STATUS_LAST = CTLMSG_CONFIG,
};

/* A command: its words on sealchatctl's command line and what it takes. */
struct ctlmsg_command_def {
	uint8_t		 command;	/* enum ctlmsg_command */
	const char	*words;		/* "user add" */
	int		 takes_name;
	int		 takes_pass;
};

/* A decoded request; data points into the decoded body. */
struct ctlmsg_req {
	uint8_t		 command;
	char		 name[SC_NAME_MAX + 1];
	size_t		 name_len;
	const uint8_t	*data;
	size_t		 data_len;
};

/* A decoded reply frame; text or data point into the decoded body. */
struct ctlmsg_reply {
	uint8_t		 kind;		/* enum ctlmsg_kind */
	uint8_t		 status;	/* END */
	uint64_t	 count;		/* END */
	const uint8_t	*data;		/* ROW, DATA, END: the rest */
	size_t		 len;
};

/* The commands, in the order of enum ctlmsg_command; ends with NULL. */
extern const struct ctlmsg_command_def ctlmsg_commands[];

/* The row of a command number, or NULL. */
const struct ctlmsg_command_def *ctlmsg_command(uint8_t);
/* The row whose words are the n words of argv (n is set), or NULL. */
const struct ctlmsg_command_def *ctlmsg_command_parse(int argc,
		    char *const *argv, int *n);
/* The default message of a status ("no such user"...). */
const char	*ctlmsg_status_str(uint8_t);

/*
 * Appends a request frame (header and body) to wb; -1, and nothing
 * appended, when the request breaks the format.
 */
int	ctlmsg_req_put(struct wbuf *, const struct ctlmsg_req *);
/*
 * Decodes a request body: CTLMSG_OK, or CTLMSG_MALFORMED for a broken
 * layout (a wrong version, an unknown command, a name or data where the
 * command takes none or missing where it takes one, trailing bytes), or,
 * for a well-formed one, CTLMSG_BAD_NAME or CTLMSG_BAD_PASS.
 */
int	ctlmsg_req_get(struct ctlmsg_req *, const uint8_t *body, size_t len);

/*
 * Appends a reply frame to wb: a ROW of text, a DATA chunk, an END.  -1,
 * and nothing appended, for a length out of bounds or, in a ROW or END,
 * a control character (TAB is allowed in a ROW only).
 */
int	ctlmsg_row_put(struct wbuf *, const char *text, size_t len);
int	ctlmsg_data_put(struct wbuf *, const uint8_t *, size_t);
int	ctlmsg_end_put(struct wbuf *, uint8_t status, uint64_t count,
	    const char *text);
/* Decodes a reply body; -1 when it breaks the format. */
int	ctlmsg_reply_get(struct ctlmsg_reply *, const uint8_t *body,
	    size_t len);
/* Whether text of len bytes is fit for a ROW (tab set) or an END. */
int	ctlmsg_text_ok(const char *text, size_t len, int tab);

#endif
