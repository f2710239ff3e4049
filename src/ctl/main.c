/* SPDX-License-Identifier: ISC */
/*
 * sealchatctl: the operator's tool.  It speaks the control protocol
 * (src/server/ctlmsg.h) to the running daemon over its control socket,
 * and prints the answer: aligned columns on a terminal, TAB-separated
 * records otherwise.
 *
 * When no daemon answers, the account commands (user list, add, passwd,
 * del, lock, unlock) work on the database that the configuration names,
 * with the daemon's own store code and hash cost; SQLite's locking keeps
 * that safe beside a daemon that starts meanwhile, and a file made by
 * root goes to the owner of its folder (store.c), so the service can
 * still open it.
 *
 * Exit status (sysexits): 0 done; 64 usage; 65 a bad name or password,
 * or a name taken; 67 no such user, or not online; 69 the daemon is not
 * running (or went away); 70 the daemon failed; 73 the backup file cannot
 * be written; 75 the daemon is busy; 76 a broken answer; 77 the socket
 * refused the caller; 78 the configuration cannot be used.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <bsd/readpassphrase.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "sealchat/conf.h"
#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"
#include "config.h"
#include "ctlmsg.h"
#include "store.h"

#ifndef SEALCHAT_CONFIG_DEFAULT
#define SEALCHAT_CONFIG_DEFAULT	"/etc/sealchat/sealchatd.yaml"
#endif

#define MAIN_REPLY_SEC		120	/* the most a frame may take */
#define MAIN_COLUMNS_MAX	4
#define MAIN_PAGE		256

/* How a column's raw value is shown. */
enum main_col {
	MAIN_TEXT,
	MAIN_TIME,		/* Unix time, 0 "-": ISO 8601, UTC */
	MAIN_BOOL,		/* 0 or 1: "no" or "yes" */
};

/* How the rows of a command are shown: headers (none: no header line). */
struct main_view {
	uint8_t		 command;
	int		 ncols;
	const char	*head[MAIN_COLUMNS_MAX];
	enum main_col	 col[MAIN_COLUMNS_MAX];
};

static const struct main_view main_views[] = {
	{ CTLMSG_STATUS, 2, { NULL, NULL }, { MAIN_TEXT, MAIN_TEXT } },
	{ CTLMSG_WHO, 4, { "NAME", "ADDRESS", "SINCE", "IDLE" },
	    { MAIN_TEXT, MAIN_TEXT, MAIN_TIME, MAIN_TEXT } },
	{ CTLMSG_USER_LIST, 4, { "NAME", "CREATED", "LAST LOGIN", "LOCKED" },
	    { MAIN_TEXT, MAIN_TIME, MAIN_TIME, MAIN_BOOL } },
};

/* The rows of a table being shown on a terminal, kept to align them. */
struct main_table {
	const struct main_view	 *view;
	int			  tty;
	char			**cells;	/* nrows x ncols */
	size_t			  nrows;
	size_t			  cap;
	int			  oom;
};

static int	main_fail(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static const struct option main_longopts[] = {
	{ "config",	required_argument,	NULL,	'c' },
	{ "socket",	required_argument,	NULL,	's' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

/* Prints the usage (and with full, the commands). */
static void
main_usage(FILE *f, int full)
{
	fprintf(f, "usage: sealchatctl [-c file] [-s socket] command "
	    "[argument]\n       sealchatctl -h | -V\n");
	if (!full)
		return;
	fprintf(f, "\n"
	    "Controls a running sealchatd over its control socket.\n\n"
	    "  -c, --config FILE  the daemon's configuration (default: %s\n"
	    "                     when it exists): control_socket, "
	    "data_base\n"
	    "  -s, --socket PATH  the control socket, whatever the "
	    "configuration\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n\n"
	    "Commands:\n"
	    "  status             version, uptime, sessions, logins, hash "
	    "queue\n"
	    "  who                users online: name, address, since, idle\n"
	    "  kick USER          end USER's session\n"
	    "  user list          accounts: name, created, last login, "
	    "locked\n"
	    "  user add USER      make an account (password: prompted, or a "
	    "line\n"
	    "                     of standard input)\n"
	    "  user passwd USER   set a new password\n"
	    "  user del USER      delete the account, end its session\n"
	    "  user lock USER     refuse its logins, end its session\n"
	    "  user unlock USER   take the lock off\n"
	    "  reload             read the configuration again (as SIGHUP)\n"
	    "  backup FILE        a consistent copy of the database, mode "
	    "0600\n\n"
	    "The user commands also work while sealchatd is stopped, on its "
	    "database.\n", SEALCHAT_CONFIG_DEFAULT);
}

/* Prints an error on standard error and returns code. */
static int
main_fail(int code, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "sealchatctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return (code);
}

/* The exit status of an END status. */
static int
main_exit_of(uint8_t status)
{
	static const int	codes[] = {
		[CTLMSG_OK] = 0,
		[CTLMSG_MALFORMED] = EX_PROTOCOL,
		[CTLMSG_DENIED] = EX_NOPERM,
		[CTLMSG_NO_USER] = EX_NOUSER,
		[CTLMSG_OFFLINE] = EX_NOUSER,
		[CTLMSG_TAKEN] = EX_DATAERR,
		[CTLMSG_BAD_NAME] = EX_DATAERR,
		[CTLMSG_BAD_PASS] = EX_DATAERR,
		[CTLMSG_BUSY] = EX_TEMPFAIL,
		[CTLMSG_FAILED] = EX_SOFTWARE,
		[CTLMSG_CONFIG] = EX_CONFIG,
	};

	if (status > CTLMSG_STATUS_LAST)
		return (EX_PROTOCOL);
	return (codes[status]);
}

/* The view of a command's rows, or NULL when it has none. */
static const struct main_view *
main_view_of(uint8_t command)
{
	size_t	i;

	for (i = 0; i < sizeof(main_views) / sizeof(main_views[0]); i++) {
		if (main_views[i].command == command)
			return (&main_views[i]);
	}
	return (NULL);
}

/* Writes a cell's raw value as the column shows it. */
static void
main_cell(char *out, size_t len, enum main_col col, const char *raw)
{
	struct tm	tm;
	time_t		t;
	char		*end;
	long long	v;

	if (col == MAIN_TEXT) {
		snprintf(out, len, "%s", raw);
		return;
	}
	errno = 0;
	v = strtoll(raw, &end, 10);
	if (errno != 0 || end == raw || *end != '\0') {
		snprintf(out, len, "?");
		return;
	}
	if (col == MAIN_BOOL) {
		snprintf(out, len, "%s", v != 0 ? "yes" : "no");
		return;
	}
	t = (time_t)v;
	if (v <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "-");
}

/*
 * One record: its fields shown as the view says, then printed at once
 * (TAB-separated) or kept to be aligned (on a terminal).
 */
static int
main_table_add(struct main_table *t, const char *rec, size_t len)
{
	char	*copy, *field, *save = NULL, cell[128];
	char	**cells;
	int	 i, ncols = t->view->ncols;

	if ((copy = strndup(rec, len)) == NULL) {
		t->oom = 1;
		return (-1);
	}
	if (t->tty && t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		cells = reallocarray(t->cells, t->cap, (size_t)ncols *
		    sizeof(char *));
		if (cells == NULL) {
			free(copy);
			t->oom = 1;
			return (-1);
		}
		t->cells = cells;
	}
	field = strtok_r(copy, "\t", &save);
	for (i = 0; i < ncols; i++) {
		main_cell(cell, sizeof(cell), t->view->col[i],
		    field != NULL ? field : "");
		if (!t->tty)
			printf("%s%s", i > 0 ? "\t" : "", cell);
		else if ((t->cells[t->nrows * (size_t)ncols + (size_t)i] =
		    strdup(cell)) == NULL)
			t->oom = 1;
		field = field != NULL ? strtok_r(NULL, "\t", &save) : NULL;
	}
	if (!t->tty)
		putchar('\n');
	else
		t->nrows++;
	free(copy);
	return (t->oom ? -1 : 0);
}

/* On a terminal: the header and the rows, in aligned columns. */
static void
main_table_print(struct main_table *t)
{
	size_t		 w[MAIN_COLUMNS_MAX], r, n;
	const char	*c;
	int		 i, ncols = t->view->ncols, head;

	head = t->view->head[0] != NULL;
	for (i = 0; i < ncols; i++) {
		w[i] = head ? strlen(t->view->head[i]) : 0;
		for (r = 0; r < t->nrows; r++) {
			c = t->cells[r * (size_t)ncols + (size_t)i];
			if (c != NULL && (n = strlen(c)) > w[i])
				w[i] = n;
		}
	}
	for (r = 0; r < t->nrows + (size_t)head; r++) {
		for (i = 0; i < ncols; i++) {
			c = head && r == 0 ? t->view->head[i] :
			    t->cells[(r - (size_t)head) * (size_t)ncols +
			    (size_t)i];
			if (i == ncols - 1)
				printf("%s\n", c != NULL ? c : "");
			else
				printf("%-*s  ", (int)w[i], c != NULL ? c :
				    "");
		}
	}
}

/* Frees what a table kept. */
static void
main_table_free(struct main_table *t)
{
	size_t	i;

	for (i = 0; i < t->nrows * (size_t)t->view->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/*
 * The password of user add and passwd: asked twice with echo off on a
 * terminal, else the first line of standard input.  0, or an exit code
 * (the message printed).
 */
static int
main_password(const char *name, char pass[SC_PASS_MAX + 2], size_t *len)
{
	char	again[SC_PASS_MAX + 2], prompt[64];
	ssize_t	n;
	size_t	got = 0;
	char	c;
	int	rc = EX_DATAERR;

	if (isatty(STDIN_FILENO)) {
		snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
		if (readpassphrase(prompt, pass, SC_PASS_MAX + 2,
		    RPP_REQUIRE_TTY) == NULL ||
		    readpassphrase("Again: ", again, sizeof(again),
		    RPP_REQUIRE_TTY) == NULL) {
			rc = main_fail(EX_NOINPUT, "cannot read the password");
			goto out;
		}
		if (strcmp(pass, again) != 0) {
			rc = main_fail(EX_DATAERR, "the passwords differ");
			goto out;
		}
		got = strlen(pass);
	} else {
		while ((n = read(STDIN_FILENO, &c, 1)) == 1 ||
		    (n == -1 && errno == EINTR)) {
			if (n != 1)
				continue;
			if (c == '\n')
				break;
			if (got == SC_PASS_MAX + 1)
				continue;
			pass[got++] = c;
		}
	}
	if (got < SC_PASS_MIN || got > SC_PASS_MAX) {
		rc = main_fail(EX_DATAERR, "bad password (1 to %d bytes)",
		    SC_PASS_MAX);
		goto out;
	}
	*len = got;
	rc = 0;
out:
	sc_wipe(again, sizeof(again));
	return (rc);
}

/*
 * Connects to the control socket: the descriptor, or -1 with *why set:
 * EX_UNAVAILABLE when nothing answers there, EX_NOPERM when it refuses
 * the caller, EX_OSERR otherwise.
 */
static int
main_connect(const char *path, int *why)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		*why = EX_CONFIG;
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*why = EX_OSERR;
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return (fd);
	if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR)
		*why = EX_UNAVAILABLE;
	else if (errno == EACCES || errno == EPERM)
		*why = EX_NOPERM;
	else
		*why = EX_OSERR;
	close(fd);
	return (-1);
}

/* Reads exactly len bytes, each within MAIN_REPLY_SEC; 0, or -1. */
static int
main_read(int fd, uint8_t *buf, size_t len)
{
	struct pollfd	pfd;
	size_t		got = 0;
	ssize_t		n;
	int		rc;

	while (got < len) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, MAIN_REPLY_SEC * 1000);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc != 1)
			return (-1);
		n = read(fd, buf + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		got += (size_t)n;
	}
	return (0);
}

/* Writes all of buf; 0, or -1. */
static int
main_write(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* A backup being written: a temporary file beside the one named. */
struct main_backup {
	const char	*path;
	char		 tmp[PATH_MAX];
	int		 fd;
	uint64_t	 len;
};

/* Creates the temporary file of a backup, mode 0600; 0 or an exit code. */
static int
main_backup_open(struct main_backup *b, const char *path)
{
	int	i;

	b->path = path;
	b->fd = -1;
	b->len = 0;
	for (i = 0; i < 16 && b->fd == -1; i++) {
		if (snprintf(b->tmp, sizeof(b->tmp), "%s.tmp-%016llx", path,
		    (unsigned long long)sc_random_u64()) >=
		    (int)sizeof(b->tmp))
			return (main_fail(EX_CANTCREAT, "%s: %s", path,
			    strerror(ENAMETOOLONG)));
		b->fd = open(b->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (b->fd == -1 && errno != EEXIST)
			break;
	}
	if (b->fd == -1)
		return (main_fail(EX_CANTCREAT, "%s: %s", b->tmp,
		    strerror(errno)));
	if (fchmod(b->fd, 0600) != 0) {
		(void)unlink(b->tmp);
		close(b->fd);
		b->fd = -1;
		return (main_fail(EX_CANTCREAT, "%s: %s", b->tmp,
		    strerror(errno)));
	}
	return (0);
}

/*
 * Finishes a backup of want bytes: checks it, syncs it and renames it into
 * place; or, with ok 0, removes it.  0 or an exit code.
 */
static int
main_backup_close(struct main_backup *b, int ok, uint64_t want)
{
	char		dir[PATH_MAX];
	uint8_t		head[16];
	int		dfd, rc = EX_IOERR;

	if (b->fd == -1)
		return (ok ? EX_SOFTWARE : 0);
	if (!ok) {
		rc = 0;
		goto out;
	}
	if (b->len != want || b->len < sizeof(head) ||
	    pread(b->fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    memcmp(head, "SQLite format 3", sizeof(head)) != 0) {
		rc = main_fail(EX_PROTOCOL, "backup: the copy received is not "
		    "whole (%llu of %llu bytes)", (unsigned long long)b->len,
		    (unsigned long long)want);
		goto out;
	}
	if (fsync(b->fd) != 0 || close(b->fd) != 0) {
		b->fd = -1;
		rc = main_fail(EX_IOERR, "%s: %s", b->tmp, strerror(errno));
		goto out;
	}
	b->fd = -1;
	if (rename(b->tmp, b->path) != 0) {
		rc = main_fail(EX_CANTCREAT, "%s: %s", b->path,
		    strerror(errno));
		goto out;
	}
	if (util_dirname(dir, sizeof(dir), b->path) == 0 &&
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return (0);
out:
	if (b->fd != -1)
		close(b->fd);
	b->fd = -1;
	(void)unlink(b->tmp);
	return (rc);
}

/*
 * Sends the request and shows the answer; the exit status.  Rows go to
 * the table, DATA to the backup file, END says how it ended.
 */
static int
main_online(int fd, const struct ctlmsg_req *req, const char *words,
    const char *file)
{
	struct main_table	 table;
	struct main_backup	 bk;
	struct ctlmsg_reply	 r;
	struct wbuf		 wb;
	uint8_t			 hdr[SC_FRAME_HDR];
	uint8_t			*body = NULL;
	uint64_t		 rows = 0;
	size_t			 len;
	int			 rc = EX_SOFTWARE, tty = isatty(STDOUT_FILENO);

	memset(&table, 0, sizeof(table));
	table.tty = tty;
	table.view = main_view_of(req->command);
	bk.fd = -1;
	wbuf_init(&wb);
	if (ctlmsg_req_put(&wb, req) != 0) {
		rc = main_fail(EX_SOFTWARE, "%s: cannot make the request",
		    words);
		goto out;
	}
	/* A refusal is answered before the request is read: read on. */
	(void)main_write(fd, wb.data, wb.len);
	if (file != NULL && (rc = main_backup_open(&bk, file)) != 0)
		goto out;
	if ((body = malloc(CTLMSG_REPLY_MAX)) == NULL) {
		rc = main_fail(EX_OSERR, "out of memory");
		goto out;
	}
	for (;;) {
		if (main_read(fd, hdr, sizeof(hdr)) != 0) {
			rc = main_fail(EX_UNAVAILABLE, "%s: the daemon closed "
			    "the connection", words);
			goto out;
		}
		len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
		    (size_t)hdr[2] << 8 | hdr[3];
		if (len < 1 || len > CTLMSG_REPLY_MAX ||
		    main_read(fd, body, len) != 0 ||
		    ctlmsg_reply_get(&r, body, len) != 0) {
			rc = main_fail(EX_PROTOCOL, "%s: a broken answer",
			    words);
			goto out;
		}
		if (r.kind == CTLMSG_END)
			break;
		if (r.kind == CTLMSG_ROW && table.view != NULL) {
			rows++;
			if (main_table_add(&table, (const char *)r.data,
			    r.len) != 0) {
				rc = main_fail(EX_OSERR, "out of memory");
				goto out;
			}
		} else if (r.kind == CTLMSG_DATA && bk.fd != -1) {
			if (main_write(bk.fd, r.data, r.len) != 0) {
				rc = main_fail(EX_IOERR, "%s: %s", bk.tmp,
				    strerror(errno));
				goto out;
			}
			bk.len += r.len;
		} else {
			rc = main_fail(EX_PROTOCOL, "%s: an unexpected answer",
			    words);
			goto out;
		}
	}
	if (r.status != CTLMSG_OK) {
		rc = main_fail(main_exit_of(r.status), "%s: %.*s", words,
		    (int)r.len, r.len > 0 ? (const char *)r.data :
		    ctlmsg_status_str(r.status));
		goto out;
	}
	if (table.view != NULL && rows != r.count) {
		rc = main_fail(EX_PROTOCOL, "%s: %llu rows of %llu", words,
		    (unsigned long long)rows, (unsigned long long)r.count);
		goto out;
	}
	if (file != NULL) {
		rc = main_backup_close(&bk, 1, r.count);
		if (rc == 0 && tty)
			printf("%s: %llu bytes\n", file,
			    (unsigned long long)r.count);
		goto out;
	}
	if (table.tty && table.view != NULL)
		main_table_print(&table);
	/* An action's outcome: on a terminal; reload's: always. */
	if (r.len > 0 && table.view == NULL &&
	    (tty || req->command == CTLMSG_RELOAD))
		printf("%.*s\n", (int)r.len, (const char *)r.data);
	rc = 0;
out:
	if (bk.fd != -1)
		(void)main_backup_close(&bk, 0, 0);
	if (table.view != NULL)
		main_table_free(&table);
	free(body);
	wbuf_free(&wb);
	return (rc);
}

/* user list offline: the table, and the last name for the next page. */
struct main_listing {
	struct main_table	*table;
	char			 after[SC_NAME_MAX + 1];
};

/* One account of user list, offline: as the daemon would send it. */
static void
main_offline_row(const struct store_account *a, void *arg)
{
	struct main_listing	*l = arg;
	char			 rec[128];
	int			 n;

	memcpy(l->after, a->name, sizeof(l->after));
	n = snprintf(rec, sizeof(rec), "%s\t%lld\t%lld\t%d", a->name,
	    a->created, a->last_login, a->locked);
	(void)main_table_add(l->table, rec, (size_t)n);
}

/*
 * The account commands with the daemon stopped: on the database the
 * configuration names, hashing at its cost.  The exit status.
 */
static int
main_offline(const struct server_conf *conf, const struct ctlmsg_req *req,
    const char *words)
{
	struct main_table	 table;
	struct main_listing	 listing;
	struct store		*st = NULL;
	char			 hash[SC_PWHASH_LEN], err[512];
	const char		*done = NULL;
	int			 rc = EX_SOFTWARE, n, src;

	memset(&table, 0, sizeof(table));
	memset(hash, 0, sizeof(hash));
	if (req->command != CTLMSG_USER_ADD && access(conf->data_base, F_OK)
	    != 0) {
		rc = main_fail(EX_UNAVAILABLE, "%s: sealchatd is not running, "
		    "and there is no database at %s", words, conf->data_base);
		goto out;
	}
	fprintf(stderr, "sealchatctl: sealchatd is not running; using the "
	    "database %s\n", conf->data_base);
	if ((st = store_open(conf->data_base, err, sizeof(err))) == NULL) {
		rc = main_fail(EX_CONFIG, "%s", err);
		goto out;
	}
	switch (req->command) {
	case CTLMSG_USER_LIST:
		table.view = main_view_of(CTLMSG_USER_LIST);
		table.tty = isatty(STDOUT_FILENO);
		memset(&listing, 0, sizeof(listing));
		listing.table = &table;
		do {
			n = store_list(st, listing.after, MAIN_PAGE,
			    main_offline_row, &listing);
		} while (n == MAIN_PAGE && !table.oom);
		if (n < 0 || table.oom) {
			rc = main_fail(EX_SOFTWARE, "%s: cannot read the "
			    "accounts", words);
			goto out;
		}
		if (table.tty)
			main_table_print(&table);
		rc = 0;
		goto out;
	case CTLMSG_USER_ADD:
	case CTLMSG_USER_PASSWD:
		if (sc_pwhash(hash, req->data, req->data_len,
		    (enum sc_cost)conf->hash_cost) != 0) {
			rc = main_fail(EX_SOFTWARE, "%s: cannot hash the "
			    "password", words);
			goto out;
		}
		if (req->command == CTLMSG_USER_ADD) {
			src = store_add(st, req->name, hash, 0);
			done = "added";
		} else {
			src = store_set(st, req->name, hash);
			done = "password set";
		}
		break;
	case CTLMSG_USER_DEL:
		src = store_del(st, req->name);
		done = "deleted";
		break;
	case CTLMSG_USER_LOCK:
	case CTLMSG_USER_UNLOCK:
		src = store_lock(st, req->name,
		    req->command == CTLMSG_USER_LOCK);
		done = req->command == CTLMSG_USER_LOCK ? "locked" :
		    "unlocked";
		break;
	default:
		rc = main_fail(EX_UNAVAILABLE, "%s: sealchatd is not running",
		    words);
		goto out;
	}
	if (src == STORE_EXISTS)
		rc = main_fail(EX_DATAERR, "%s: name taken", words);
	else if (src == STORE_NOTFOUND)
		rc = main_fail(EX_NOUSER, "%s: no such user", words);
	else if (src != STORE_OK)
		rc = main_fail(EX_SOFTWARE, "%s: cannot change the database",
		    words);
	else {
		if (isatty(STDOUT_FILENO))
			printf("%s: %s\n", req->name, done);
		rc = 0;
	}
out:
	sc_wipe(hash, sizeof(hash));
	if (table.view != NULL)
		main_table_free(&table);
	store_free(st);
	return (rc);
}

/* Options, the command, then the daemon or, for accounts, the database. */
int
main(int argc, char **argv)
{
	const struct ctlmsg_command_def	*cmd;
	struct server_conf		 conf;
	struct ctlmsg_req		 req;
	const char			*conf_path = NULL, *sock = NULL;
	const char			*file = NULL;
	char				 err[CONF_ERR_MAX];
	char				 pass[SC_PASS_MAX + 2];
	int				 ch, n = 0, fd, why, rc;
	int				 loaded;

	while ((ch = getopt_long(argc, argv, "+c:s:hV", main_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			main_usage(stdout, 1);
			return (0);
		case 'V':
			printf("sealchatctl %s\n", SC_VERSION_STR);
			return (0);
		default:
			main_usage(stderr, 0);
			return (EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (cmd = ctlmsg_command_parse(argc, argv, &n)) ==
	    NULL) {
		if (argc > 0)
			fprintf(stderr, "sealchatctl: unknown command: %s\n",
			    argv[0]);
		main_usage(stderr, 0);
		return (EX_USAGE);
	}
	if (argc - n != (cmd->takes_name || cmd->command == CTLMSG_BACKUP)) {
		fprintf(stderr, "sealchatctl: %s takes %s\n", cmd->words,
		    cmd->takes_name ? "a user name" :
		    cmd->command == CTLMSG_BACKUP ? "a file name" :
		    "no argument");
		main_usage(stderr, 0);
		return (EX_USAGE);
	}

	log_init("sealchatctl", LOG_LVL_WARN);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || sc_crypto_init() != 0)
		return (main_fail(EX_OSERR, "cannot start"));
	memset(&req, 0, sizeof(req));
	req.command = cmd->command;
	if (cmd->takes_name) {
		if (wire_name_canon(req.name, argv[n], strlen(argv[n])) != 0)
			return (main_fail(EX_DATAERR, "%s: bad name: %s",
			    cmd->words, argv[n]));
		req.name_len = strlen(req.name);
	}
	if (cmd->command == CTLMSG_BACKUP)
		file = argv[n];

	/*
	 * The configuration names the socket and the database; with -s it
	 * is read only when the database is needed.
	 */
	if (conf_path == NULL && access(SEALCHAT_CONFIG_DEFAULT, F_OK) == 0)
		conf_path = SEALCHAT_CONFIG_DEFAULT;
	loaded = 0;
	if (sock == NULL) {
		if (server_config_load(&conf, conf_path, err) != 0)
			return (main_fail(EX_CONFIG, "%s%s", err,
			    cmd->command == CTLMSG_RELOAD ?
			    "; nothing reloaded" : ""));
		sock = conf.control_socket;
		loaded = 1;
	}

	if (cmd->takes_pass) {
		if ((rc = main_password(req.name, pass, &req.data_len)) != 0)
			goto out;
		req.data = (const uint8_t *)pass;
	}
	if ((fd = main_connect(sock, &why)) == -1) {
		if (why == EX_UNAVAILABLE && (cmd->takes_name ||
		    cmd->command == CTLMSG_USER_LIST) &&
		    cmd->command != CTLMSG_KICK) {
			if (!loaded && server_config_load(&conf, conf_path,
			    err) != 0) {
				rc = main_fail(EX_CONFIG, "%s", err);
				goto out;
			}
			rc = main_offline(&conf, &req, cmd->words);
			goto out;
		}
		rc = main_fail(why, "%s: %s%s", sock, strerror(errno),
		    why == EX_UNAVAILABLE ? " (is sealchatd running?)" : "");
		goto out;
	}
	rc = main_online(fd, &req, cmd->words, file);
	close(fd);
out:
	sc_wipe(pass, sizeof(pass));
	sc_wipe(&req, sizeof(req));
	return (rc);
}
