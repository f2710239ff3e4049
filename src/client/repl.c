/* SPDX-License-Identifier: ISC */
/*
 * The terminal front end on libedit's callback interface, driven by the
 * event loop.  PITFALLS met on Debian 12's libedit and handled here:
 * - the callback handler must be installed again after every line, or the
 *   next read falls back to a blocking, kernel-echoed read;
 * - libedit's own signal handling re-sends signals to the process group,
 *   so rl_catch_signals is 0 and signals go through the event loop;
 * - printing above the line: move up to the first row of the (possibly
 *   wrapped) input, "\r" and "ESC[J", print, then redraw with
 *   rl_forced_update_display().
 * While a command runs the handler is removed (no prompt, nothing read);
 * what is typed meanwhile waits in the terminal's buffer, with echo off
 * (removing the handler puts the terminal back in canonical mode with
 * echo, which would show a password typed ahead): the "hold" mode.  A
 * password is read on the loop (askpass.c), never with readpassphrase(3),
 * which blocks the loop and throws keys typed ahead away.  Ctrl-Z gives
 * the terminal back as the shell left it before the process stops, and
 * draws the prompt and the line again once it continues.  When the run
 * ends, the line stays on the screen and the last words go below it; the
 * prompt is not drawn again.
 */
#include <sys/stat.h>

#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <signal.h>
#include <termios.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <bsd/string.h>
#include <editline/readline.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"

#include "askpass.h"
#include "commands.h"
#include "identity.h"
#include "repl.h"

#define REPL_HISTORY_MAX	1000
#define REPL_TEXT_MAX		4096

#define C_RESET		"\033[0m"
#define C_BOLD		"\033[1m"
#define C_DIM		"\033[2m"
#define C_RED		"\033[31m"
#define C_GREEN		"\033[32m"
#define C_YELLOW	"\033[33m"
#define C_CYAN		"\033[36m"

struct repl {
	struct event_base	*base;
	struct client		*client;
	struct output		*out;
	struct event		*stdin_ev;
	struct event		*winch_ev;
	struct event		*tstp_ev;
	struct askpass		*ask;		/* the password prompt */
	struct termios		 orig;		/* the terminal as given */
	int			 tty_ok;	/* orig holds it */
	char			 first[8 + SC_NAME_MAX]; /* -u's login */
	int			 color;
	int			 installed;	/* line handler installed */
	int			 started;	/* the server channel is up */
	int			 done;		/* end of input seen */
	int			 history_ok;
	char			 history[PATH_MAX];
	char			 prompt[2 * SC_NAME_MAX + 64];
	size_t			 prompt_width;
	char			 query[SC_NAME_MAX + 1];	/* /query */
};

/* libedit's callbacks carry no argument: the one terminal front end. */
static struct repl	*repl_current;

static void	repl_install(struct repl *);
static void	repl_print(struct repl *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* A colour sequence, or nothing without colour. */
static const char *
repl_c(const struct repl *r, const char *seq)
{
	return (r->color ? seq : "");
}

/*
 * The hold mode, while no line is read: keys wait in the terminal without
 * being shown (no echo, not canonical), signals still work.
 */
static void
repl_hold(struct repl *r)
{
	struct termios	t;

	if (!r->tty_ok)
		return;
	t = r->orig;
	t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ICANON);
	t.c_lflag |= ISIG;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

/*
 * The cells one character takes as libedit draws it: "^X" for an ASCII
 * control character, "\U+XXXX" for another one that cannot be printed.
 */
static size_t
repl_char_width(wchar_t wc)
{
	int	cw;

	if (wc < 0x20 || wc == 0x7f)
		return (2);
	if ((cw = wcwidth(wc)) >= 0)
		return ((size_t)cw);
	return (wc > 0xffff ? 8 : 7);
}

/* Decodes the character at s (len bytes left): its size and its cells. */
static size_t
repl_next_char(const char *s, size_t len, mbstate_t *st, size_t *cells)
{
	wchar_t	wc;
	size_t	n;

	n = mbrtowc(&wc, s, len, st);
	if (n == (size_t)-1 || n == (size_t)-2) {
		/* A stray byte: libedit shows it in one cell. */
		memset(st, 0, sizeof(*st));
		*cells = 1;
		return (1);
	}
	if (n == 0)
		n = 1;
	*cells = wc == '\t' ? SIZE_MAX : repl_char_width(wc);
	return (n);
}

/*
 * The screen row, counted from the prompt's first row, on which libedit
 * puts the cursor when it stands at byte point of the line s (end bytes
 * long).  It lays the line out as libedit does (refresh.c): a TAB goes to
 * the next multiple of 8, a wide character that does not fit at the end
 * of a row goes to the next one (and so does the cursor standing on it),
 * and a row filled to the last column puts the cursor on the next row.
 */
static size_t
repl_row(const struct repl *r, const char *s, size_t point, size_t end,
    size_t cols)
{
	mbstate_t	st;
	size_t		off = 0, w, row, col;

	if (cols == 0)
		return (0);
	row = r->prompt_width / cols;
	col = r->prompt_width % cols;
	memset(&st, 0, sizeof(st));
	while (off < point) {
		off += repl_next_char(s + off, end - off, &st, &w);
		if (w == SIZE_MAX)
			col = (col & ~(size_t)7) + 8;
		else {
			if (w > 1 && col + w > cols) {
				row++;
				col = 0;
			}
			col += w;
		}
		if (col >= cols) {
			col -= cols;
			row++;
		}
	}
	if (off < end) {
		(void)repl_next_char(s + off, end - off, &st, &w);
		if (w != SIZE_MAX && w > 1 && col + w > cols)
			row++;
	}
	return (row);
}

/*
 * The row of the cursor below the first row of the input and, in *last,
 * the row where the input ends.
 */
static size_t
repl_cursor_row(const struct repl *r, size_t *last)
{
	int	rows = 0, cols = 0;
	size_t	point, end, c;

	rl_get_screen_size(&rows, &cols);
	c = cols > 0 ? (size_t)cols : 0;
	end = rl_end > 0 ? (size_t)rl_end : 0;
	point = rl_point > 0 ? (size_t)rl_point : 0;
	if (point > end)
		point = end;
	if (last != NULL)
		*last = repl_row(r, rl_line_buffer, end, end, c);
	return (repl_row(r, rl_line_buffer, point, end, c));
}

/* The arrow of "alice → bob": U+2192 where the locale has UTF-8. */
static const char *
repl_arrow(size_t *cells)
{
	if (strcmp(nl_langinfo(CODESET), "UTF-8") == 0) {
		*cells = 1;
		return ("\xe2\x86\x92");
	}
	*cells = 2;
	return ("->");
}

/*
 * Builds the prompt: "name> " once logged in, "sealchat> " before, and in a
 * conversation "name → partner> ".
 */
static void
repl_set_prompt(struct repl *r)
{
	const char	*self = r->client != NULL ? client_self(r->client) : "";
	const char	*who = self[0] != '\0' ? self : "sealchat";
	const char	*arrow;
	char		 text[2 * SC_NAME_MAX + 16];
	size_t		 cells;

	if (r->query[0] != '\0') {
		arrow = repl_arrow(&cells);
		snprintf(text, sizeof(text), "%s %s %s", who, arrow, r->query);
		r->prompt_width = strlen(who) + cells + strlen(r->query) + 4;
	} else {
		strlcpy(text, who, sizeof(text));
		r->prompt_width = strlen(who) + 2;
	}
	if (r->color)
		snprintf(r->prompt, sizeof(r->prompt), "%c%s%c%s%c%s%c> ",
		    RL_PROMPT_START_IGNORE, C_BOLD, RL_PROMPT_END_IGNORE, text,
		    RL_PROMPT_START_IGNORE, C_RESET, RL_PROMPT_END_IGNORE);
	else
		snprintf(r->prompt, sizeof(r->prompt), "%s> ", text);
	if (r->installed)
		rl_set_prompt(r->prompt);
}

/*
 * Prints one line above the line being typed, which is then drawn again
 * below it, intact.
 */
static void
repl_print(struct repl *r, const char *fmt, ...)
{
	va_list	ap;
	size_t	up;

	if (r->installed) {
		up = repl_cursor_row(r, NULL);
		if (up > 0)
			printf("\033[%zuA", up);
		fputs("\r\033[J", stdout);
	} else if (askpass_active(r->ask))
		fputs("\r\033[J", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	if (r->installed)
		rl_forced_update_display();
	else
		askpass_prompt(r->ask);
}

/* The local time as HH:MM. */
static void
repl_clock(char out[8])
{
	time_t		now = time(NULL);
	struct tm	tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(out, 8, "%H:%M", &tm) == 0)
		strlcpy(out, "--:--", 8);
}

/* ok: signed up or logged in. */
static void
repl_out_ok(void *arg, const char *cmd, const char *user)
{
	struct repl		*r = arg;
	const struct command	*k;
	char			 t[8];
	int			 sign;

	k = commands_find(cmd, strlen(cmd));
	sign = k != NULL && k->msg_type == SC_MSG_SIGN;
	repl_clock(t);
	repl_set_prompt(r);
	repl_print(r, "%s[%s]%s %s%s as %s%s", repl_c(r, C_DIM), t,
	    repl_c(r, C_RESET), repl_c(r, C_GREEN), sign ?
	    "signed up and logged in" : "logged in", user, repl_c(r, C_RESET));
}

/* users: who is online. */
static void
repl_out_users(void *arg, const char *const *names, size_t n)
{
	struct repl	*r = arg;
	char		 line[REPL_TEXT_MAX];
	size_t		 i;

	if (n == 0) {
		repl_print(r, "nobody else is online");
		return;
	}
	strlcpy(line, "online:", sizeof(line));
	for (i = 0; i < n; i++) {
		strlcat(line, i == 0 ? " " : ", ", sizeof(line));
		if (strlcat(line, names[i], sizeof(line)) >= sizeof(line))
			break;
	}
	repl_print(r, "%s", line);
}

/* online / offline notices. */
static void
repl_out_presence(void *arg, int online, const char *user)
{
	struct repl	*r = arg;
	char		 t[8];

	repl_clock(t);
	repl_print(r, "%s[%s] %s %s%s", repl_c(r, C_DIM), t, user,
	    online ? "is online" : "went offline", repl_c(r, C_RESET));
}

/* An incoming message. */
static void
repl_out_msg(void *arg, const char *from, const char *text, size_t len)
{
	struct repl	*r = arg;
	char		 t[8];
	char		 clean[SC_TEXT_MAX * 4 + 1];

	repl_clock(t);
	util_escape_term(clean, sizeof(clean), text, len);
	repl_print(r, "%s[%s]%s %s%s%s: %s", repl_c(r, C_DIM), t,
	    repl_c(r, C_RESET), repl_c(r, C_BOLD C_CYAN), from,
	    repl_c(r, C_RESET), clean);
}

/*
 * A message stored while we were offline: the time its sender sent it
 * (the server's time of storing when the sender's clock gave none), with
 * the date, since it may be days old.
 */
static void
repl_out_stored(void *arg, const char *from, const char *text, size_t len,
    uint64_t sent_ms, uint64_t stored)
{
	struct repl	*r = arg;
	struct tm	 tm;
	time_t		 when;
	char		 t[24];
	char		 clean[SC_TEXT_MAX * 4 + 1];

	when = sent_ms != 0 ? (time_t)(sent_ms / 1000) : (time_t)stored;
	if (localtime_r(&when, &tm) == NULL ||
	    strftime(t, sizeof(t), "%Y-%m-%d %H:%M", &tm) == 0)
		strlcpy(t, "----------", sizeof(t));
	util_escape_term(clean, sizeof(clean), text, len);
	repl_print(r, "%s[%s]%s %s%s%s: %s %s(sent while you were offline)%s",
	    repl_c(r, C_DIM), t, repl_c(r, C_RESET), repl_c(r, C_BOLD C_CYAN),
	    from, repl_c(r, C_RESET), clean, repl_c(r, C_DIM),
	    repl_c(r, C_RESET));
}

/* A message was stored for a user offline. */
static void
repl_out_queued(void *arg, const char *to)
{
	struct repl	*r = arg;
	char		 t[8];

	repl_clock(t);
	repl_print(r, "%s[%s] queued for %s, who is offline: delivered at "
	    "their next login%s", repl_c(r, C_DIM), t, to, repl_c(r, C_RESET));
}

/* A message was acknowledged. */
static void
repl_out_delivered(void *arg, const char *to)
{
	struct repl	*r = arg;
	char		 t[8];

	repl_clock(t);
	repl_print(r, "%s[%s] delivered to %s%s", repl_c(r, C_DIM), t, to,
	    repl_c(r, C_RESET));
}

/* The peers and their paths, as a table. */
static void
repl_out_peers(void *arg, const struct output_peer *rows, size_t n)
{
	struct repl	*r = arg;
	char		 rtt[16];
	int		 wu = 4, wa = 7, len;
	size_t		 i;

	if (n == 0) {
		repl_print(r, "no peers yet: a first message to a user "
		    "makes one");
		return;
	}
	for (i = 0; i < n; i++) {
		if ((len = (int)strlen(rows[i].user)) > wu)
			wu = len;
		if ((len = (int)strlen(rows[i].address)) > wa)
			wa = len;
	}
	repl_print(r, "%s%-*s  %-8s  %-*s  %s%s", repl_c(r, C_DIM), wu, "peer",
	    "path", wa, "address", "rtt", repl_c(r, C_RESET));
	for (i = 0; i < n; i++) {
		if (rows[i].rtt_ms < 0)
			strlcpy(rtt, "-", sizeof(rtt));
		else
			snprintf(rtt, sizeof(rtt), "%d ms", rows[i].rtt_ms);
		repl_print(r, "%-*s  %-8s  %-*s  %s", wu, rows[i].user,
		    rows[i].path, wa, rows[i].address, rtt);
	}
}

/*
 * A peer's identity key changed: a warning that cannot be missed, and
 * what to do; or the new key is trusted now.
 */
static void
repl_out_identity(void *arg, const char *user, const char *what)
{
	struct repl	*r = arg;
	char		 t[8];

	repl_clock(t);
	if (strcmp(what, "changed") != 0) {
		repl_print(r, "%s[%s] the new identity key of %s is trusted: "
		    "the conversation goes on%s", repl_c(r, C_DIM), t, user,
		    repl_c(r, C_RESET));
		return;
	}
	repl_print(r, "%s%s[%s] WARNING: the identity key of %s changed.%s",
	    repl_c(r, C_BOLD), repl_c(r, C_RED), t, user, repl_c(r, C_RESET));
	repl_print(r, "%sA new device of %s, or someone (the server too) "
	    "posing as %s.%s", repl_c(r, C_RED), user, user,
	    repl_c(r, C_RESET));
	repl_print(r, "%sNothing goes to or comes from %s until you type "
	    "`trust %s`; first compare `verify %s` with %s, in person or "
	    "by phone.%s", repl_c(r, C_RED), user, user, user, user,
	    repl_c(r, C_RESET));
}

/* A safety number, in two lines of six groups for reading aloud. */
static void
repl_out_verify(void *arg, const char *user, const char *number)
{
	struct repl	*r = arg;

	repl_print(r, "safety number with %s (the same on both sides):", user);
	if (strlen(number) != IDENTITY_NUMBER_LEN - 1) {
		repl_print(r, "  %s", number);
		return;
	}
	/* Six groups of five and their five spaces, then a space. */
	repl_print(r, "  %s%.35s%s", repl_c(r, C_BOLD), number,
	    repl_c(r, C_RESET));
	repl_print(r, "  %s%s%s", repl_c(r, C_BOLD), number + 36,
	    repl_c(r, C_RESET));
}

/* A command failed. */
static void
repl_out_error(void *arg, const char *cmd, const char *reason)
{
	struct repl	*r = arg;
	char		 word[REPL_TEXT_MAX];
	char		 clean[REPL_TEXT_MAX];

	/* The command word is an unknown one as typed: show it safely. */
	util_escape_term(word, sizeof(word), cmd, strlen(cmd));
	util_escape_term(clean, sizeof(clean), reason, strlen(reason));
	repl_print(r, "%serror: %s: %s%s", repl_c(r, C_RED), word, clean,
	    repl_c(r, C_RESET));
}

/* The session with the server was lost; the client reconnects. */
static void
repl_out_disconnected(void *arg, const char *reason)
{
	struct repl	*r = arg;
	char		 t[8];
	char		 clean[REPL_TEXT_MAX];

	repl_clock(t);
	util_escape_term(clean, sizeof(clean), reason, strlen(reason));
	repl_print(r, "%s[%s] disconnected: %s; reconnecting%s",
	    repl_c(r, C_YELLOW), t, clean, repl_c(r, C_RESET));
}

/* A message of ours, as a chat line: "[12:04] alice → bob: hi". */
static void
repl_out_sent(void *arg, const char *to, const char *text, size_t len)
{
	struct repl	*r = arg;
	const char	*arrow;
	char		 t[8];
	char		 clean[SC_TEXT_MAX * 4 + 1];
	size_t		 cells;

	repl_clock(t);
	arrow = repl_arrow(&cells);
	util_escape_term(clean, sizeof(clean), text, len);
	repl_print(r, "%s[%s]%s %s%s%s %s %s: %s", repl_c(r, C_DIM), t,
	    repl_c(r, C_RESET), repl_c(r, C_BOLD), client_self(r->client),
	    repl_c(r, C_RESET), arrow, to, clean);
}

/* A note (ignore, /query). */
static void
repl_out_info(void *arg, const char *text)
{
	struct repl	*r = arg;
	char		 clean[REPL_TEXT_MAX];

	util_escape_term(clean, sizeof(clean), text, strlen(text));
	repl_print(r, "%s%s%s", repl_c(r, C_DIM), clean, repl_c(r, C_RESET));
}

/* One line of help. */
static void
repl_out_help(void *arg, const char *usage, const char *text)
{
	struct repl	*r = arg;

	repl_print(r, "  %-24s %s", usage, text);
}

/* A diagnostic (lost server, key trouble, ...). */
static void
repl_out_diag(void *arg, const char *text)
{
	struct repl	*r = arg;
	char		 clean[REPL_TEXT_MAX];

	util_escape_term(clean, sizeof(clean), text, strlen(text));
	repl_print(r, "%s%s%s", repl_c(r, C_YELLOW), clean,
	    repl_c(r, C_RESET));
}

static const struct output_ops repl_output_ops = {
	.ok = repl_out_ok,
	.users = repl_out_users,
	.presence = repl_out_presence,
	.msg = repl_out_msg,
	.stored = repl_out_stored,
	.queued = repl_out_queued,
	.delivered = repl_out_delivered,
	.peers = repl_out_peers,
	.identity = repl_out_identity,
	.verify = repl_out_verify,
	.error = repl_out_error,
	.disconnected = repl_out_disconnected,
	.sent = repl_out_sent,
	.info = repl_out_info,
	.help = repl_out_help,
	.diag = repl_out_diag,
	.free = NULL,		/* the repl owns itself */
};

/*
 * Generator of command words for completion: each command's name, then its
 * aliases.  i counts words: 1 + COMMANDS_ALIASES per row of the table.
 */
static char *
repl_gen_command(const char *text, int state)
{
	static size_t		 i;
	size_t			 len = strlen(text), k;
	const struct command	*cmd;
	const char		*word;

	if (state == 0)
		i = 0;
	while ((cmd = &commands_table[i / (1 + COMMANDS_ALIASES)])->name !=
	    NULL) {
		k = i % (1 + COMMANDS_ALIASES);
		word = k == 0 ? cmd->name : cmd->alias[k - 1];
		i++;
		if (word != NULL && strncmp(word, text, len) == 0)
			return (strdup(word));
	}
	return (NULL);
}

/* Generator of online user names (and ourselves) for completion. */
static char *
repl_gen_user(const char *text, int state)
{
	static size_t		 i;
	const char *const	*names;
	size_t			 n, len = strlen(text);
	struct repl		*r = repl_current;
	const char		*self;

	if (state == 0)
		i = 0;
	if (r == NULL || r->client == NULL)
		return (NULL);
	names = client_online(r->client, &n);
	while (i < n) {
		if (strncmp(names[i], text, len) == 0)
			return (strdup(names[i++]));
		i++;
	}
	self = client_self(r->client);
	if (i == n && self[0] != '\0') {
		i++;
		if (strncmp(self, text, len) == 0)
			return (strdup(self));
	}
	return (NULL);
}

/* Tab: the first word is a command, the word after `send` a user name. */
static char **
repl_complete(const char *text, int start, int end)
{
	const char		*line = rl_line_buffer;
	const struct command	*c;
	size_t			 i = 0, word, wlen;

	(void)end;
	rl_attempted_completion_over = 1;
	while (line[i] == ' ' || line[i] == '\t')
		i++;
	if ((size_t)start <= i)
		return (rl_completion_matches(text, repl_gen_command));
	word = i;
	while (line[i] != '\0' && line[i] != ' ' && line[i] != '\t')
		i++;
	wlen = i - word;
	while (line[i] == ' ' || line[i] == '\t')
		i++;
	if ((size_t)start != i)
		return (NULL);
	if ((c = commands_find(line + word, wlen)) == NULL ||
	    (c->shape != CMD_ARGS_USER_TEXT && c->shape != CMD_ARGS_USER &&
	    c->shape != CMD_ARGS_USER_OR_NONE))
		return (NULL);
	return (rl_completion_matches(text, repl_gen_user));
}

/* Reads the history file, if any, making its folders when missing. */
static void
repl_history_load(struct repl *r)
{
	char	dir[PATH_MAX];

	using_history();
	stifle_history(REPL_HISTORY_MAX);
	if (repl_history_path(r->history, sizeof(r->history)) != 0 ||
	    util_dirname(dir, sizeof(dir), r->history) != 0 ||
	    util_mkdirs(dir, 1) != 0)
		return;
	r->history_ok = 1;
	(void)read_history(r->history);
}

/* Writes the history file, private to the user. */
static void
repl_history_save(struct repl *r)
{
	mode_t	old;

	if (!r->history_ok)
		return;
	old = umask(077);
	if (write_history(r->history) == 0)
		(void)chmod(r->history, 0600);
	umask(old);
}

/* The path of the history file: $XDG_STATE_HOME/sealchat/history. */
int
repl_history_path(char *out, size_t len)
{
	char	dir[PATH_MAX];
	int	n;

	if (util_xdg_dir(dir, sizeof(dir), UTIL_XDG_STATE) != 0)
		return (-1);
	n = snprintf(out, len, "%s/history", dir);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

/*
 * At the end, with a line still on the screen: puts the cursor below the
 * (possibly wrapped) line, so that what comes next (the shell's prompt)
 * starts on a row of its own and the typed text stays readable.
 */
static void
repl_leave_line(struct repl *r)
{
	size_t	cur, last;

	if (!r->installed)
		return;
	cur = repl_cursor_row(r, &last);
	if (last > cur)
		printf("\033[%zuB", last - cur);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/*
 * Stops reading lines (a command runs, or the end): keys wait, unseen, in
 * the hold mode.
 */
static void
repl_uninstall(struct repl *r)
{
	if (!r->installed)
		return;
	rl_callback_handler_remove();
	r->installed = 0;
	if (r->stdin_ev != NULL)
		event_del(r->stdin_ev);
	repl_hold(r);
}

/*
 * Runs a typed line.  In a conversation (/query) a line that does not
 * start with '/' is a message to the partner, as typed, and "//" sends a
 * line that starts with '/'; a blank line sends nothing.  Else the line
 * is a command.
 */
static enum cmd_status
repl_run(struct repl *r, const char *line, size_t len)
{
	size_t	i;

	if (r->query[0] == '\0' || (len > 0 && line[0] == '/' &&
	    (len == 1 || line[1] != '/')))
		return (commands_run(r->client, line, len));
	if (len > 0 && line[0] == '/') {
		line++;
		len--;
	}
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len)
		return (CMD_OK);
	return (client_send(r->client, r->query, line, len));
}

/* One whole line typed (NULL at end of input). */
static void
repl_line_cb(char *line)
{
	struct repl	*r = repl_current;
	enum cmd_status	 st;
	size_t		 len;

	if (r == NULL) {
		free(line);
		return;
	}
	if (line == NULL) {
		repl_uninstall(r);
		fputc('\n', stdout);
		fflush(stdout);
		r->done = 1;
		client_end_of_input(r->client);
		return;
	}
	len = strlen(line);
	if (commands_history_ok(line, len))
		add_history(line);
	/* The handler goes while the command runs; done puts it back. */
	repl_uninstall(r);
	st = repl_run(r, line, len);
	sc_wipe(line, len);
	free(line);
	if (st != CMD_PENDING && !r->done)
		repl_install(r);
}

/* Keys arrived on the terminal. */
static void
repl_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct repl	*r = arg;

	(void)fd;
	(void)what;
	if (r->installed)
		rl_callback_read_char();
}

/*
 * Ctrl-Z: the line stays on the screen, the terminal goes back to the mode
 * the shell gave, and the process stops; continued (fg), it takes the
 * terminal again and draws the prompt and the line, or the password
 * prompt, as they were.
 */
static void
repl_tstp_cb(evutil_socket_t sig, short what, void *arg)
{
	struct repl	*r = arg;
	int		 installed = r->installed;
	int		 asking = askpass_active(r->ask);

	(void)sig;
	(void)what;
	if (installed) {
		repl_leave_line(r);
		rl_deprep_terminal();
	} else if (asking) {
		fputc('\n', stdout);
		askpass_pause(r->ask);
	}
	fflush(stdout);
	if (r->tty_ok)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &r->orig);
	(void)kill(getpid(), SIGSTOP);
	/* Here again after SIGCONT. */
	if (installed && r->installed) {
		rl_prep_terminal(0);
		rl_forced_update_display();
	} else if (asking && askpass_active(r->ask))
		askpass_resume(r->ask);
	else
		repl_hold(r);
}

/* The terminal changed size. */
static void
repl_winch_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	rl_resize_terminal();
}

/* Shows the prompt and reads keys again. */
static void
repl_install(struct repl *r)
{
	if (r->installed || r->done || !r->started)
		return;
	repl_set_prompt(r);
	rl_callback_handler_install(r->prompt, repl_line_cb);
	r->installed = 1;
	if (r->stdin_ev != NULL)
		event_add(r->stdin_ev, NULL);
}

/* The server channel is up: the login of -u, then lines are read. */
static void
repl_ready(void *arg)
{
	struct repl	*r = arg;
	enum cmd_status	 st;

	r->started = 1;
	repl_print(r, "%sconnected; type help for the commands%s",
	    repl_c(r, C_DIM), repl_c(r, C_RESET));
	if (r->first[0] != '\0') {
		st = commands_run(r->client, r->first, strlen(r->first));
		r->first[0] = '\0';
		if (st == CMD_PENDING)
			return;
	}
	repl_install(r);
}

/* The running command finished. */
static void
repl_done(void *arg, int failed)
{
	struct repl	*r = arg;

	(void)failed;
	repl_install(r);
}

/* /query: the conversation's partner, or its end. */
static int
repl_query(void *arg, const char *user, char *err, size_t errlen)
{
	struct repl	*r = arg;

	(void)err;
	(void)errlen;
	if (user[0] == '\0') {
		if (r->query[0] != '\0')
			repl_print(r, "%sno longer talking to %s%s",
			    repl_c(r, C_DIM), r->query, repl_c(r, C_RESET));
		r->query[0] = '\0';
	} else {
		strlcpy(r->query, user, sizeof(r->query));
		repl_print(r, "%stalking to %s: plain lines go to %s; /query "
		    "alone ends it%s", repl_c(r, C_DIM), user, user,
		    repl_c(r, C_RESET));
	}
	repl_set_prompt(r);
	return (0);
}

/* The password prompt is over: the login goes on. */
static void
repl_password_read(void *arg, const char *pass, size_t len, const char *err)
{
	struct repl	*r = arg;

	client_password_done(r->client, pass, len, err);
}

/*
 * Asks for a password with echo off, on the loop: the answer comes
 * through repl_password_read().
 */
static int
repl_password(void *arg, char *buf, size_t cap, size_t *len, char *err,
    size_t errlen)
{
	struct repl	*r = arg;

	(void)buf;
	(void)cap;
	(void)len;
	if (askpass_start(r->ask, "Password: ", repl_password_read, r) != 0) {
		snprintf(err, errlen, "cannot read the password from the "
		    "terminal");
		return (-1);
	}
	return (1);
}

/*
 * The run is ending: the line being typed stays on the screen and the
 * cursor goes below it, so that the last words (a lost server, a session
 * ended elsewhere) come under it and no prompt is drawn again.
 */
static void
repl_ending(void *arg)
{
	struct repl	*r = arg;

	if (askpass_active(r->ask)) {
		askpass_cancel(r->ask);
		fputc('\n', stdout);
		fflush(stdout);
	}
	repl_leave_line(r);
	repl_uninstall(r);
	r->done = 1;
}

/* Makes the terminal front end. */
struct repl *
repl_new(struct event_base *base, int color)
{
	struct repl	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	r->base = base;
	r->color = color;
	if ((r->out = output_new(&repl_output_ops, r)) == NULL)
		goto fail;
	r->stdin_ev = event_new(base, STDIN_FILENO, EV_READ | EV_PERSIST,
	    repl_stdin_cb, r);
	r->winch_ev = evsignal_new(base, SIGWINCH, repl_winch_cb, r);
	r->tstp_ev = evsignal_new(base, SIGTSTP, repl_tstp_cb, r);
	r->ask = askpass_new(base, STDIN_FILENO, stdout);
	if (r->stdin_ev == NULL || r->winch_ev == NULL || r->tstp_ev == NULL ||
	    r->ask == NULL || event_add(r->winch_ev, NULL) != 0 ||
	    event_add(r->tstp_ev, NULL) != 0)
		goto fail;
	rl_readline_name = "sealchat";
	rl_catch_signals = 0;
	rl_attempted_completion_function = repl_complete;
	r->tty_ok = tcgetattr(STDIN_FILENO, &r->orig) == 0;
	repl_history_load(r);
	/*
	 * libedit learns the terminal's special characters (EOF, erase) only
	 * when it goes raw from a canonical mode: once now, before the hold
	 * mode, or Ctrl-D would be taken for a character to insert.
	 */
	if (r->tty_ok) {
		rl_prep_terminal(0);
		rl_deprep_terminal();
	}
	repl_current = r;
	repl_set_prompt(r);
	repl_hold(r);
	return (r);
fail:
	repl_free(r);
	return (NULL);
}

/* The printer. */
struct output *
repl_output(struct repl *r)
{
	return (r->out);
}

/* Hooks the front end into the client; user (or NULL) logs in first. */
void
repl_attach(struct repl *r, struct client *client, const char *user)
{
	struct client_frontend	fe;

	r->client = client;
	if (user != NULL)
		snprintf(r->first, sizeof(r->first), "auth %s", user);
	memset(&fe, 0, sizeof(fe));
	fe.ready = repl_ready;
	fe.done = repl_done;
	fe.password = repl_password;
	fe.ending = repl_ending;
	fe.query = repl_query;
	fe.arg = r;
	client_set_frontend(client, &fe);
}

/* Restores the terminal and saves the history. */
void
repl_free(struct repl *r)
{
	if (r == NULL)
		return;
	repl_leave_line(r);
	repl_uninstall(r);
	askpass_free(r->ask);
	if (r->tty_ok)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &r->orig);
	repl_history_save(r);
	if (r->stdin_ev != NULL)
		event_free(r->stdin_ev);
	if (r->winch_ev != NULL)
		event_free(r->winch_ev);
	if (r->tstp_ev != NULL)
		event_free(r->tstp_ev);
	output_free(r->out);
	if (repl_current == r)
		repl_current = NULL;
	free(r);
}
