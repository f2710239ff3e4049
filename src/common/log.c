/* SPDX-License-Identifier: ISC */
/*
 * Logging to standard error.
 *
 * Each line is formatted into one buffer and handed to a single write(2), so
 * lines from the hash worker threads and the event loop never interleave.
 * Under systemd, when stderr is the journal, a line is "<N>message" and the
 * journal adds the time and the program name itself.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sealchat/log.h"

#define LOG_LINE_MAX	2048
#define LOG_NAME_MAX	64

static char		 log_progname[LOG_NAME_MAX] = "sealchat";
static atomic_int	 log_level = LOG_LVL_INFO;
static atomic_int	 log_journal;

const char *const log_level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
	NULL
};
/* syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int log_prio[] = { 3, 4, 6, 7 };

static void	log_vlog(enum log_level, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/* Tells whether $JOURNAL_STREAM names the file that stderr is. */
static int
log_stderr_is_journal(void)
{
	const char		*env;
	char			*end;
	unsigned long long	 dev, ino;
	struct stat		 sb;

	env = getenv("JOURNAL_STREAM");
	if (env == NULL || *env < '0' || *env > '9')
		return (0);
	errno = 0;
	dev = strtoull(env, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return (0);
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return (0);
	if (fstat(STDERR_FILENO, &sb) == -1)
		return (0);
	return ((unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino);
}

/* Sets the program name and level, and detects the journal. */
void
log_init(const char *progname, enum log_level level)
{
	if (progname != NULL) {
		const char *slash = strrchr(progname, '/');

		if (slash != NULL && slash[1] != '\0')
			progname = slash + 1;
		snprintf(log_progname, sizeof(log_progname), "%s", progname);
	}
	log_set_level(level);
	atomic_store(&log_journal, log_stderr_is_journal());
}

/* Sets the most verbose level that is printed. */
void
log_set_level(enum log_level level)
{
	if ((int)level < LOG_LVL_ERROR)
		level = LOG_LVL_ERROR;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	atomic_store(&log_level, (int)level);
}

/* Returns the current level. */
enum log_level
log_get_level(void)
{
	return ((enum log_level)atomic_load(&log_level));
}

/* Parses a level name; -1 when it is none of them. */
int
log_level_parse(const char *s)
{
	size_t	i;

	if (s == NULL)
		return (-1);
	for (i = 0; log_level_names[i] != NULL; i++) {
		if (strcmp(s, log_level_names[i]) == 0)
			return ((int)i);
	}
	return (-1);
}

/* Returns the name of a level. */
const char *
log_level_name(enum log_level level)
{
	if ((int)level < LOG_LVL_ERROR || level > LOG_LVL_DEBUG)
		return ("unknown");
	return (log_level_names[level]);
}

/* Writes all of buf to stderr, retrying after signals and short writes. */
static void
log_write(const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(STDERR_FILENO, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Moves off past what (v)snprintf wrote into line[off..cap), n its result. */
static size_t
log_advance(size_t off, size_t cap, int n)
{
	if (n <= 0)
		return (off);
	if ((size_t)n >= cap - off)
		return (cap - 1);
	return (off + (size_t)n);
}

/*
 * Formats one line and writes it.  Control characters in the message become
 * '?' so that nothing logged can forge a line of its own.  errnum is appended
 * as ": strerror" when it is not 0.
 */
static void
log_vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE_MAX], ebuf[128];
	const char	*estr;
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 off, start, i, cap;
	int		 n;

	if ((int)level > atomic_load(&log_level))
		return;
	/* Leave room for the final newline. */
	cap = sizeof(line) - 1;
	if (atomic_load(&log_journal)) {
		n = snprintf(line, cap, "<%d>", log_prio[level]);
	} else {
		if (clock_gettime(CLOCK_REALTIME, &ts) == -1) {
			ts.tv_sec = 0;
			ts.tv_nsec = 0;
		}
		if (gmtime_r(&ts.tv_sec, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		n = snprintf(line, cap,
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld]: %s: ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, log_progname,
		    (long)getpid(), log_level_names[level]);
	}
	off = log_advance(0, cap, n);
	start = off;

	n = vsnprintf(line + off, cap - off, fmt, ap);
	off = log_advance(off, cap, n);
	if (errnum != 0 && off < cap - 1) {
		estr = strerror_r(errnum, ebuf, sizeof(ebuf));
		n = snprintf(line + off, cap - off, ": %s", estr);
		off = log_advance(off, cap, n);
	}
	for (i = start; i < off; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f)
			line[i] = '?';
	}
	line[off++] = '\n';
	log_write(line, off);
}

/* Logs a warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LVL_WARN, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Logs a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LVL_WARN, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Logs an informational line. */
void
log_info(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Logs a debugging line. */
void
log_debug(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LVL_DEBUG, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Logs an error. */
void
log_errorx(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Logs an error and exits with code. */
void
fatalx(int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(code);
}

/* Logs an error with strerror(errno) appended and exits with code. */
void
fatal(int code, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(code);
}
