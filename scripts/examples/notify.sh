#!/bin/sh
# SPDX-License-Identifier: ISC
# notify.sh: sends one message to a sealchat user, for cron jobs and hooks.
#
#   SEALCHAT_PASSWORD=... notify.sh [-c CONFIG] [-p PASSWORD_FILE] FROM TO TEXT...
#
# Logs in as FROM (the password from -p FILE, else $SEALCHAT_PASSWORD), sends
# TEXT to TO, waits until TO's client has acknowledged it (or, when TO is
# offline, until the server has stored it for TO's next login), and logs
# out.  Prints nothing and exits 0 when the message was delivered or
# stored; otherwise says why on standard error and exits with sealchat's
# status: 1 when a command failed (no such user, a wrong password, ...),
# 69 when the server cannot be
# reached, 76 when its key does not match, 78 for a bad configuration, 64
# for a bad command line, 127 when the client cannot be found.  $SEALCHAT
# names the client (default: sealchat, found on $PATH).

set -u
prog=notify.sh

usage() {
	echo "usage: $prog [-c CONFIG] [-p PASSWORD_FILE] FROM TO TEXT..." >&2
	exit 64
}

conf=
pwfile=
while getopts c:p:h opt; do
	case $opt in
	c) conf=$OPTARG ;;
	p) pwfile=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || usage
from=$1
to=$2
shift 2

# A name is one word; anything else could smuggle in a second command.
for name in "$from" "$to"; do
	case $name in
	'' | *[!A-Za-z0-9._-]*)
		echo "$prog: bad user name: $name" >&2
		exit 64
		;;
	esac
done
client=${SEALCHAT:-sealchat}
if ! command -v "$client" >/dev/null 2>&1; then
	echo "$prog: $client not found: install sealchat, or set SEALCHAT" \
	    "to the client's path" >&2
	exit 127
fi

# One message is one line: newlines and carriage returns become spaces.
text=$(printf '%s' "$*" | tr '\r\n' '  ')

set -- --batch
[ -n "$conf" ] && set -- "$@" -c "$conf"
[ -n "$pwfile" ] && set -- "$@" --password-file "$pwfile"

# The records come back on standard output; only errors are shown.
records=$(printf 'auth %s\nsend %s %s\n' "$from" "$to" "$text" |
    "$client" "$@")
status=$?
printf '%s\n' "$records" |
    awk -F '\t' -v prog="$prog" '$1 == "error" { print prog ": " $2 ": " $3 }' >&2
exit $status
