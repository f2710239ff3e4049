#!/bin/bash
# SPDX-License-Identifier: ISC
# echo-bot.sh: a sealchat user that answers every message it receives.
#
#   SEALCHAT_PASSWORD=... echo-bot.sh [-l] [-c CONFIG] [-p PASSWORD_FILE] USER
#
# Logs in as USER (the password from -p FILE, else $SEALCHAT_PASSWORD) and
# answers each message "TEXT" from anyone with "echo: TEXT".  Lines typed on
# its standard input are passed on as commands (say "send alice back soon");
# when that input ends it logs out and exits, like sealchat itself.  With -l
# it keeps answering after the end of its input, for running unattended.
# SIGTERM or SIGINT: logs out and exits.  When the server restarts, sealchat
# (--listen) connects and logs in again by itself, and the bot goes on.  The
# exit status is sealchat's: 0 after a clean log-out, 69 when the session
# ended for good (logged in elsewhere, ended by the server's operator), and
# so on; 127 when the client cannot be found.  $SEALCHAT names the client
# (default: sealchat, found on $PATH).

set -u
prog=echo-bot.sh

usage() {
	echo "usage: $prog [-l] [-c CONFIG] [-p PASSWORD_FILE] USER" >&2
	exit 64
}

listen=0
args=(--batch --listen)
while getopts lc:p:h opt; do
	case $opt in
	l) listen=1 ;;
	c) args+=(-c "$OPTARG") ;;
	p) args+=(--password-file "$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
user=$1
case $user in
'' | *[!A-Za-z0-9._-]*)
	echo "$prog: bad user name: $user" >&2
	exit 64
	;;
esac

client=${SEALCHAT:-sealchat}
if ! command -v "$client" >/dev/null 2>&1; then
	echo "$prog: $client not found: install sealchat, or set SEALCHAT" \
	    "to the client's path" >&2
	exit 127
fi

# sealchat runs beside the script: its records come in on ${SC[0]}, our
# commands go out on fd $to (a copy that the input forwarder inherits).
coproc SC { exec "$client" "${args[@]}"; }
exec {to}>&"${SC[1]}"
from=${SC[0]}
# shellcheck disable=SC2153 # SC_PID is set by coproc
sc_pid=$SC_PID

# Writes one command line; sealchat may be gone already (no SIGPIPE death).
trap '' PIPE
say() {
	{ printf '%s\n' "$1" 1>&"$to"; } 2>/dev/null
}

# Our standard input, line by line, then "quit" (unless -l).  A background
# job's input would be /dev/null without the explicit redirection.
forwarder=
if [ "$listen" -eq 0 ]; then
	{
		while IFS= read -r line; do
			say "$line"
		done
		say quit
	} <&0 &
	forwarder=$!
fi

# SIGTERM, SIGINT: log out; the loop below ends with sealchat's output.
trap 'say quit' TERM INT

say "auth $user"
while :; do
	IFS=$'\t' read -r kind who text <&"$from"
	rc=$?
	# A signal interrupts read (status > 128): its trap ran; read on.
	[ "$rc" -gt 128 ] && continue
	[ "$rc" -eq 0 ] || break
	case $kind in
	ok)
		echo "$prog: logged in as $text" >&2
		;;
	msg)
		# TEXT stays escaped as sealchat printed it (\t, \n, \\, \xHH),
		# so a newline in a message can never split our reply in two.
		# Never answer an answer: two bots would talk forever.
		case $text in
		'echo: '*) ;;
		*) say "send $who echo: $text" ;;
		esac
		;;
	error)
		echo "$prog: $who: $text" >&2
		;;
	disconnected)
		echo "$prog: disconnected: $who; reconnecting" >&2
		;;
	esac
done

# A signal that interrupts wait (status > 128) leaves sealchat running.
while :; do
	wait "$sc_pid"
	status=$?
	if [ "$status" -le 128 ] || ! kill -0 "$sc_pid" 2>/dev/null; then
		break
	fi
done
if [ -n "$forwarder" ]; then
	kill "$forwarder" 2>/dev/null
	wait "$forwarder" 2>/dev/null
fi
exit "$status"
