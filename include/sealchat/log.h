/* SPDX-License-Identifier: ISC */
/*
 * Logging to standard error.  Human lines with a UTC timestamp, or journald
 * "<N>" priority prefixes when stderr is the journal ($JOURNAL_STREAM matches
 * stderr's device and inode).  Messages carry key=value fields; secrets never
 * go into a log line.
 */
#ifndef SEALCHAT_LOG_H
#define SEALCHAT_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Sets the program name and detects the journal. */
void	log_init(const char *progname, enum log_level);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
/*
 * The level names, indexed by enum log_level and ended by NULL: what
 * log_level in a configuration file may say.
 */
extern const char *const log_level_names[];
/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int	log_level_parse(const char *);
const char *log_level_name(enum log_level);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits with code; only at start-up or for a broken invariant. */
void	fatalx(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatal(int code, const char *, ...)	/* appends strerror(errno) */
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
