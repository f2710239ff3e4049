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

#define SC_VERSION_STR	"0.1.0"

/* Monotonic clock in milliseconds. */
uint64_t	util_now_ms(void);
/* Sets O_NONBLOCK and FD_CLOEXEC. */
int		util_set_nonblock(int fd);
/* "1.2.3.4:5" / "[::1]:5" of a socket address. */
void		util_addr_str(char *out, size_t, const struct sockaddr *);
/* Raises RLIMIT_NOFILE soft limit to the hard limit; returns the new one. */
long		util_raise_nofile(void);
/* The folder part of path ("." when it has none); -1 when it does not fit. */
int		util_dirname(char *out, size_t out_len, const char *path);
/* Big-endian u64 in 8 bytes, as the datagram header carries it. */
uint64_t	util_get_be64(const uint8_t *);
void		util_put_be64(uint8_t *, uint64_t);
/* Escapes a field for script output: \t \n \\ \xHH for control bytes. */
void		util_escape(char *out, size_t out_len, const char *, size_t);

#endif
