/* SPDX-License-Identifier: ISC */
/*
 * The password prompt on the loop.  Echo and canonical mode go off with
 * TCSANOW, which keeps what is pending (readpassphrase's TCSAFLUSH throws
 * it away); ISIG stays, so Ctrl-C is a SIGINT that the loop handles.  When
 * the terminal is readable, FIONREAD says how many bytes wait, and they
 * are read one by one up to the end of the line, no further: a byte read
 * past it would be lost to the line editor that reads next.  Backspace
 * erases a character (a whole UTF-8 sequence), Ctrl-U the line, Ctrl-D on
 * an empty line gives up.  The bytes live in guarded memory, wiped as soon
 * as the callback returns.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"

#include "askpass.h"

#define ASKPASS_PROMPT_MAX	64

struct askpass {
	int		 fd;
	FILE		*out;
	struct event	*ev;
	char		*buf;		/* sc_secure_alloc(ASKPASS_MAX) */
	size_t		 len;
	int		 active;
	struct termios	 saved;		/* the mode before the prompt */
	char		 prompt[ASKPASS_PROMPT_MAX];
	askpass_fn	 fn;
	void		*arg;
};

static void	askpass_read_cb(evutil_socket_t, short, void *);

/* Makes a prompt reader on fd. */
struct askpass *
askpass_new(struct event_base *base, int fd, FILE *out)
{
	struct askpass	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return (NULL);
	a->fd = fd;
	a->out = out;
	a->buf = sc_secure_alloc(ASKPASS_MAX);
	a->ev = event_new(base, fd, EV_READ | EV_PERSIST, askpass_read_cb, a);
	if (a->buf == NULL || a->ev == NULL) {
		askpass_free(a);
		return (NULL);
	}
	return (a);
}

/* Stops reading and puts the terminal back; the bytes are wiped. */
static void
askpass_stop(struct askpass *a)
{
	if (!a->active)
		return;
	a->active = 0;
	event_del(a->ev);
	(void)tcsetattr(a->fd, TCSANOW, &a->saved);
	sc_wipe(a->buf, ASKPASS_MAX);
	a->len = 0;
}

/* Frees the reader, restoring the terminal first. */
void
askpass_free(struct askpass *a)
{
	if (a == NULL)
		return;
	askpass_stop(a);
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->buf != NULL)
		sc_secure_free(a->buf);
	free(a);
}

/* Echo and line editing off, signals on, one byte at a time. */
static int
askpass_mode(struct askpass *a)
{
	struct termios	t = a->saved;

	t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ICANON);
	t.c_lflag |= ISIG;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	return (tcsetattr(a->fd, TCSANOW, &t));
}

/* Starts reading a password. */
int
askpass_start(struct askpass *a, const char *prompt, askpass_fn fn,
    void *arg)
{
	if (a->active || !isatty(a->fd) || tcgetattr(a->fd, &a->saved) != 0)
		return (-1);
	if (askpass_mode(a) != 0)
		return (-1);
	strlcpy(a->prompt, prompt, sizeof(a->prompt));
	a->fn = fn;
	a->arg = arg;
	a->len = 0;
	a->active = 1;
	event_add(a->ev, NULL);
	askpass_prompt(a);
	return (0);
}

/* Whether a prompt is on. */
int
askpass_active(const struct askpass *a)
{
	return (a != NULL && a->active);
}

/* Writes the prompt (nothing typed is ever shown). */
void
askpass_prompt(struct askpass *a)
{
	if (!askpass_active(a))
		return;
	fputs(a->prompt, a->out);
	fflush(a->out);
}

/* The terminal as before the prompt, for a suspend. */
void
askpass_pause(struct askpass *a)
{
	if (askpass_active(a))
		(void)tcsetattr(a->fd, TCSANOW, &a->saved);
}

/* Back from a suspend: echo off again, the prompt shown. */
void
askpass_resume(struct askpass *a)
{
	if (!askpass_active(a))
		return;
	(void)askpass_mode(a);
	askpass_prompt(a);
}

/* Gives up without a word. */
void
askpass_cancel(struct askpass *a)
{
	if (a != NULL)
		askpass_stop(a);
}

/* The line is over: the callback gets it, then it is wiped. */
static void
askpass_finish(struct askpass *a, const char *err)
{
	askpass_fn	 fn = a->fn;
	void		*arg = a->arg;

	event_del(a->ev);
	(void)tcsetattr(a->fd, TCSANOW, &a->saved);
	fputc('\n', a->out);
	fflush(a->out);
	a->active = 0;
	fn(arg, err == NULL ? a->buf : NULL, err == NULL ? a->len : 0, err);
	sc_wipe(a->buf, ASKPASS_MAX);
	a->len = 0;
}

/*
 * Takes one byte; 1 when it ended the line.  Past ASKPASS_MAX bytes the
 * rest is dropped: the length alone then says "too long".
 */
static int
askpass_byte(struct askpass *a, unsigned char ch)
{
	switch (ch) {
	case '\r':
	case '\n':
		askpass_finish(a, NULL);
		return (1);
	case 0x04:		/* Ctrl-D */
		if (a->len > 0)
			return (0);
		askpass_finish(a, "no password");
		return (1);
	case 0x08:		/* Backspace */
	case 0x7f:
		while (a->len > 0 &&
		    ((unsigned char)a->buf[a->len - 1] & 0xc0) == 0x80)
			a->len--;
		if (a->len > 0)
			a->len--;
		return (0);
	case 0x15:		/* Ctrl-U */
		a->len = 0;
		return (0);
	default:
		break;
	}
	if (ch < 0x20)
		return (0);
	if (a->len < ASKPASS_MAX)
		a->buf[a->len++] = (char)ch;
	return (0);
}

/* Keys arrived: the bytes waiting, up to the end of the line. */
static void
askpass_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct askpass	*a = arg;
	unsigned char	 ch = 0;
	ssize_t		 r;
	int		 n, i;

	(void)what;
	if (ioctl(fd, FIONREAD, &n) != 0 || n < 1)
		n = 1;
	for (i = 0; i < n && a->active; i++) {
		r = read(fd, &ch, 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			goto out;
		if (r <= 0) {
			askpass_finish(a, "no password (the terminal closed)");
			goto out;
		}
		if (askpass_byte(a, ch))
			goto out;
	}
out:
	sc_wipe(&ch, sizeof(ch));
}
