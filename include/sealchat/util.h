/* SPDX-License-Identifier: ISC */
/* Small helpers shared by both programs. */
#ifndef SEALCHAT_UTIL_H
#define SEALCHAT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* sysexits.h codes used by both programs. */
#define EXIT_USAGE	64
#define EXIT_UNAVAIL	69
#define EXIT_SOFTWARE	70
#define EXIT_PROTOCOL	76
#define EXIT_CONFIG	78

/* The version, from the one in CMakeLists.txt's project(). */
#ifndef SEALCHAT_VERSION
#error "SEALCHAT_VERSION is set by the build (CMakeLists.txt)"
#endif
#define SC_VERSION_STR	SEALCHAT_VERSION

/* Monotonic clock in milliseconds. */
uint64_t	util_now_ms(void);
/* Milliseconds since the Unix epoch (wall clock; 0 if unknown). */
uint64_t	util_now_unix_ms(void);
/* Sets O_NONBLOCK and FD_CLOEXEC. */
int		util_set_nonblock(int fd);
/* "1.2.3.4:5" / "[::1]:5" of a socket address. */
void		util_addr_str(char *out, size_t, const struct sockaddr *);
/*
 * HOST, HOST:PORT, [ADDRESS] or [ADDRESS]:PORT (a bare IPv6 address without
 * a port too): the host into host, the port into *port (0: none given).
 * -1 with a sentence in err.
 */
int		util_hostport(const char *, char *host, size_t hostlen,
		    long *port, char *err, size_t errlen);
/* Raises RLIMIT_NOFILE soft limit to the hard limit; returns the new one. */
long		util_raise_nofile(void);
/* The folder part of path ("." when it has none); -1 when it does not fit. */
int		util_dirname(char *out, size_t out_len, const char *path);
/* Big-endian u64 in 8 bytes, as the datagram header carries it. */
uint64_t	util_get_be64(const uint8_t *);
void		util_put_be64(uint8_t *, uint64_t);
/*
 * Escapes a field for script output: \t \n \\, and \xHH for every byte of
 * a control character (C0, DEL, C1 U+0080..U+009F), of a bidirectional
 * override or isolate (U+202A..U+202E, U+2066..U+2069), or not part of
 * well-formed UTF-8; other UTF-8 passes whole.  out_len >= 4 * len + 1
 * never truncates; a shorter out stops before what does not fit whole.
 */
void		util_escape(char *out, size_t out_len, const char *, size_t);
/* The same for a terminal: TAB and newline as \xHH, a backslash as is. */
void		util_escape_term(char *out, size_t out_len, const char *,
		    size_t);

/*
 * Reads fd into buf until the end of the file or until cap bytes are in
 * buf, retrying after EINTR.  Returns 0 when the whole file is in buf
 * (*len bytes), 1 when buf filled first, -1 with errno on failure.
 */
int		util_read_fd(int fd, void *buf, size_t cap, size_t *len);
/* Opens path read-only (O_CLOEXEC | O_NOCTTY) and does util_read_fd(). */
int		util_read_file(const char *path, void *buf, size_t cap,
		    size_t *len);
/* The folders of the XDG base directory specification. */
enum util_xdg {
	UTIL_XDG_CONFIG,	/* $XDG_CONFIG_HOME or ~/.config */
	UTIL_XDG_STATE,		/* $XDG_STATE_HOME or ~/.local/state */
	UTIL_XDG_DATA,		/* $XDG_DATA_HOME or ~/.local/share */
};
/*
 * The program's folder of that kind: "<base>/sealchat".  A base that is
 * not an absolute path is ignored, as the specification says; without
 * $HOME the password database names the home folder.  -1 when there is
 * none or it does not fit.
 */
int		util_xdg_dir(char *out, size_t len, enum util_xdg);
/*
 * Makes the folder dir when it is missing, with mode 0700 (the XDG rule
 * for the folders a program makes), and with parents set every missing
 * folder above it too (else a missing parent is ENOENT).  0, or -1 with
 * errno (ENOTDIR when something on the way is not a folder).
 */
int		util_mkdirs(const char *dir, int parents);

/*
 * A token bucket: at most burst tokens, refilled at rate tokens a second
 * (rate and burst at least 1).  All zero, it is full.  The level is kept in
 * thousandths of a token, so that a refill of one millisecond counts.
 */
struct util_bucket {
	uint64_t	level;		/* thousandths of a token */
	uint64_t	last_ms;	/* refilled up to; 0: never used */
};

/* Refills the bucket up to now_ms; returns the whole tokens it holds. */
uint64_t	util_bucket_room(struct util_bucket *, uint64_t rate,
		    uint64_t burst, uint64_t now_ms);
/* Takes cost tokens, which util_bucket_room() has shown are there. */
void		util_bucket_take(struct util_bucket *, uint64_t cost);

#endif
