/* SPDX-License-Identifier: ISC */
/*
 * systemd service notification (sd_notify) without libsystemd: each call is
 * one datagram to $NOTIFY_SOCKET.  Everything is a no-op when the variable is
 * unset, and a failed send is never fatal (logged at debug level).
 */
#ifndef SEALCHATD_NOTIFY_H
#define SEALCHATD_NOTIFY_H

#include <event2/event.h>

/*
 * Reads $NOTIFY_SOCKET (an absolute path, or "@name" in the abstract
 * namespace) and opens the socket.  When $WATCHDOG_USEC is set (and
 * $WATCHDOG_PID, if set, is this process), sends WATCHDOG=1 from a timer on
 * the loop at half that interval.  Returns 0, also when the variable is
 * unset; -1 (logged) when it is malformed or the socket cannot be made, in
 * which case later calls are no-ops.
 */
int	notify_init(struct event_base *);
void	notify_ready(void);		/* READY=1 */
void	notify_stopping(void);		/* STOPPING=1 */
void	notify_reloading(void);		/* RELOADING=1 */
/* STATUS=...; newlines in the text become spaces. */
void	notify_status(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
/* Stops the watchdog timer and closes the socket. */
void	notify_free(void);

#endif
