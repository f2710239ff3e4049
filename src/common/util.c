/* SPDX-License-Identifier: ISC */
/* Small helpers shared by both programs. */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sealchat/util.h"

/* Used when the hard limit is unlimited: Linux's default fs.nr_open. */
#define UTIL_NOFILE_CAP	1048576

/* Returns the monotonic clock in milliseconds. */
uint64_t
util_now_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Milliseconds since the Unix epoch (the wall clock), 0 if unknown. */
uint64_t
util_now_unix_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 || ts.tv_sec < 0)
		return (0);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Makes fd non-blocking and close-on-exec. */
int
util_set_nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	if ((flags & O_NONBLOCK) == 0 &&
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return (-1);
	if ((flags = fcntl(fd, F_GETFD)) == -1)
		return (-1);
	if ((flags & FD_CLOEXEC) == 0 &&
	    fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1)
		return (-1);
	return (0);
}

/*
 * Writes "1.2.3.4:5" or "[::1]:5" (with "%scope" for a link-local address)
 * into out, truncated to len; "?" for a family other than IPv4 and IPv6.
 */
void
util_addr_str(char *out, size_t len, const struct sockaddr *sa)
{
	char		host[NI_MAXHOST], serv[NI_MAXSERV];
	socklen_t	salen;

	if (out == NULL || len == 0)
		return;
	if (sa == NULL) {
		snprintf(out, len, "?");
		return;
	}
	switch (sa->sa_family) {
	case AF_INET:
		salen = sizeof(struct sockaddr_in);
		break;
	case AF_INET6:
		salen = sizeof(struct sockaddr_in6);
		break;
	default:
		snprintf(out, len, "?");
		return;
	}
	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, len, "?");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(out, len, "[%s]:%s", host, serv);
	else
		snprintf(out, len, "%s:%s", host, serv);
}

/*
 * Splits HOST, HOST:PORT, [ADDRESS] or [ADDRESS]:PORT: the host (without
 * brackets) into host, the port into *port (0 when none is given).  An
 * IPv6 address takes brackets before a port; without a port it may go
 * bare ("::1"), since two colons or more cannot be HOST:PORT.
 */
int
util_hostport(const char *s, char *host, size_t hostlen, long *port,
    char *err, size_t errlen)
{
	const char	*end, *colon = NULL;
	char		*ep;
	size_t		 n;
	long		 p;

	*port = 0;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			snprintf(err, errlen, "%s: no ']' after the address",
			    s);
			return (-1);
		}
		n = (size_t)(end - s - 1);
		s++;
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1] != '\0') {
			snprintf(err, errlen, "%s: only :PORT may follow ']'",
			    s - 1);
			return (-1);
		}
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;	/* a bare IPv6 address */
		n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (n == 0 || n >= hostlen) {
		snprintf(err, errlen, "%s: %s", s, n == 0 ? "no host" :
		    "host too long");
		return (-1);
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (colon == NULL)
		return (0);
	errno = 0;
	p = strtol(colon + 1, &ep, 10);
	if (colon[1] < '0' || colon[1] > '9' || *ep != '\0' || errno != 0 ||
	    p < 1 || p > 65535) {
		snprintf(err, errlen, "%s: the port must be a number from 1 to "
		    "65535", colon + 1);
		return (-1);
	}
	*port = p;
	return (0);
}

/*
 * Raises the soft limit on open files to the hard limit (capped when the
 * hard limit is unlimited).  Returns the new soft limit, or -1.
 */
long
util_raise_nofile(void)
{
	struct rlimit	rl;
	rlim_t		want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (-1);
	want = rl.rlim_max;
	if (want == RLIM_INFINITY)
		want = UTIL_NOFILE_CAP;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return (-1);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX)
		return (LONG_MAX);
	return ((long)rl.rlim_cur);
}

/*
 * The length (1 to 4) of the well-formed UTF-8 sequence at the start of
 * s[0..n), its code point in *cp; 0 when the first byte does not start one
 * (a stray continuation byte, an overlong form, a surrogate, a code point
 * past U+10FFFF, or a sequence cut short).  RFC 3629, section 4.
 */
static size_t
util_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char	c = s[0], lo = 0x80, hi = 0xbf;
	size_t		len, i;
	uint32_t	v;

	if (c < 0x80) {
		*cp = c;
		return (1);
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (n < len || s[1] < lo || s[1] > hi)
		return (0);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		v = (v << 6) | (s[i] & 0x3f);
	}
	*cp = v;
	return (len);
}

/*
 * Whether a terminal might obey a code point rather than show it: the C1
 * controls, which some terminals take as escape sequences (U+009B is
 * CSI), and the bidirectional overrides and isolates, which reorder what
 * follows them on the line.
 */
static int
util_cp_unsafe(uint32_t cp)
{
	return ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069));
}

/*
 * Escapes in for output: every byte of a control character (C0, DEL, C1),
 * of a bidirectional override, or not part of well-formed UTF-8 becomes
 * \xHH; other UTF-8 passes whole.  For script records (term 0) TAB,
 * newline and backslash become \t, \n and \\; for a terminal (term 1)
 * TAB and newline are \xHH like the others and a backslash stays.  out is
 * always NUL-terminated when out_len > 0; when it is too small the output
 * stops before the first escape or character that does not fit whole.
 */
static void
util_escape_with(char *out, size_t out_len, const char *in, size_t len,
    int term)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)in;
	char			 seq[16];
	size_t			 o = 0, i = 0, n, k, clen;
	uint32_t		 cp = 0;
	unsigned char		 c;

	if (out == NULL || out_len == 0)
		return;
	while (i < len) {
		c = p[i];
		n = 0;
		if ((clen = util_utf8_seq(p + i, len - i, &cp)) == 0) {
			clen = 1;
			cp = c;
		}
		if (!term && c == '\t') {
			seq[n++] = '\\';
			seq[n++] = 't';
		} else if (!term && c == '\n') {
			seq[n++] = '\\';
			seq[n++] = 'n';
		} else if (!term && c == '\\') {
			seq[n++] = '\\';
			seq[n++] = '\\';
		} else if (c < 0x20 || c == 0x7f || (clen == 1 && c >= 0x80) ||
		    util_cp_unsafe(cp)) {
			for (k = 0; k < clen; k++) {
				seq[n++] = '\\';
				seq[n++] = 'x';
				seq[n++] = hex[p[i + k] >> 4];
				seq[n++] = hex[p[i + k] & 0xf];
			}
		} else {
			memcpy(seq, p + i, clen);
			n = clen;
		}
		/* Keep one byte for the NUL. */
		if (n >= out_len - o)
			break;
		memcpy(out + o, seq, n);
		o += n;
		i += clen;
	}
	out[o] = '\0';
}

/* Escapes a field for script output (records). */
void
util_escape(char *out, size_t out_len, const char *in, size_t len)
{
	util_escape_with(out, out_len, in, len, 0);
}

/* Escapes text from the network for a terminal. */
void
util_escape_term(char *out, size_t out_len, const char *in, size_t len)
{
	util_escape_with(out, out_len, in, len, 1);
}

/* Reads 8 big-endian bytes. */
uint64_t
util_get_be64(const uint8_t *p)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return (v);
}

/* Writes v as 8 big-endian bytes. */
void
util_put_be64(uint8_t *p, uint64_t v)
{
	size_t	i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The folder part of path: "." without a slash, "/" for a file at the root. */
int
util_dirname(char *out, size_t out_len, const char *path)
{
	const char	*slash = strrchr(path, '/');
	size_t		 n;

	if (slash == NULL)
		return (snprintf(out, out_len, ".") < (int)out_len ? 0 : -1);
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= out_len)
		return (-1);
	memcpy(out, path, n);
	out[n] = '\0';
	return (0);
}

/* Reads fd to its end, or until buf is full; see util.h. */
int
util_read_fd(int fd, void *buf, size_t cap, size_t *len)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	*len = 0;
	for (;;) {
		if (*len == cap)
			return (1);
		n = read(fd, p + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (-1);
		if (n == 0)
			return (0);
		*len += (size_t)n;
	}
}

/* Reads a small whole file; see util.h. */
int
util_read_file(const char *path, void *buf, size_t cap, size_t *len)
{
	int	fd, rc, saved;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return (-1);
	rc = util_read_fd(fd, buf, cap, len);
	saved = errno;
	close(fd);
	errno = saved;
	return (rc);
}

/* The program's XDG folder of a kind; see util.h. */
int
util_xdg_dir(char *out, size_t len, enum util_xdg which)
{
	static const struct {
		const char	*env;
		const char	*fallback;
	} kinds[] = {
		[UTIL_XDG_CONFIG] = { "XDG_CONFIG_HOME", ".config" },
		[UTIL_XDG_STATE] = { "XDG_STATE_HOME", ".local/state" },
		[UTIL_XDG_DATA] = { "XDG_DATA_HOME", ".local/share" },
	};
	const char	*base, *home = NULL;
	struct passwd	*pw;
	int		 n;

	base = getenv(kinds[which].env);
	if (base != NULL && base[0] == '/') {
		n = snprintf(out, len, "%s/sealchat", base);
		return (n < 0 || (size_t)n >= len ? -1 : 0);
	}
	base = getenv("HOME");
	if (base != NULL && base[0] == '/')
		home = base;
	else if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    pw->pw_dir[0] == '/')
		home = pw->pw_dir;
	if (home == NULL)
		return (-1);
	n = snprintf(out, len, "%s/%s/sealchat", home,
	    kinds[which].fallback);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

/* Makes dir (and with parents, the folders above it), mode 0700. */
int
util_mkdirs(const char *dir, int parents)
{
	char		 path[PATH_MAX];
	char		*p;
	struct stat	 sb;
	size_t		 n;
	int		 last;

	if ((n = strlen(dir)) == 0 || n >= sizeof(path)) {
		errno = n == 0 ? ENOENT : ENAMETOOLONG;
		return (-1);
	}
	memcpy(path, dir, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	for (p = parents ? path + 1 : path + n; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return (-1);
		if (stat(path, &sb) == -1)
			return (-1);
		if (!S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			return (-1);
		}
		if (last)
			break;
		*p = '/';
	}
	return (0);
}

/* Refills a token bucket; see util.h. */
uint64_t
util_bucket_room(struct util_bucket *b, uint64_t rate, uint64_t burst,
    uint64_t now_ms)
{
	uint64_t	cap = burst * 1000, dt;

	if (b->last_ms == 0) {
		b->level = cap;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		/* rate thousandths of a token per millisecond */
		dt = now_ms - b->last_ms;
		b->level += dt >= cap / rate ? cap : dt * rate;
		b->last_ms = now_ms;
	}
	if (b->level > cap)
		b->level = cap;
	return (b->level / 1000);
}

/* Takes tokens known to be there. */
void
util_bucket_take(struct util_bucket *b, uint64_t cost)
{
	uint64_t	t = cost * 1000;

	b->level = b->level > t ? b->level - t : 0;
}
