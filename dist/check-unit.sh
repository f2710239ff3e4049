#!/bin/sh
# SPDX-License-Identifier: ISC
# Checks the sealchatd unit with systemd-analyze.  The unit is checked as it
# is installed, except that ExecStart points at the built binary: verify
# wants the program to exist.
#
# Usage: check-unit.sh verify UNIT SEALCHATD MANDIR|none
#            passes when systemd-analyze verify prints nothing; MANDIR holds
#            man8/sealchatd.8 and the others, for the Documentation= links
#        check-unit.sh security UNIT SEALCHATD THRESHOLD
#            passes when the exposure score is at most THRESHOLD tenths
#        check-unit.sh limits UNIT SEALCHATD CONFIG
#            passes when MemoryMax= and TasksMax= hold what the daemon may
#            use with the settings CONFIG gives (docs/operations.md, 12)
# Exit 77, a skip, when systemd-analyze ($SYSTEMD_ANALYZE) is missing for
# verify or security.
set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 verify|security|limits UNIT SEALCHATD" \
	    "MANDIR|THRESHOLD|CONFIG" >&2
	exit 64
fi
mode=$1
unit=$2
bin=$3
arg=$4
sa=${SYSTEMD_ANALYZE:-systemd-analyze}
if [ "$mode" != limits ] && ! command -v "$sa" >/dev/null 2>&1; then
	echo "systemd-analyze is not installed (apt-get install systemd): skipped"
	exit 77
fi

[ -f "$unit" ] || { echo "$0: $unit: no such unit" >&2; exit 1; }
[ -x "$bin" ] || { echo "$0: $bin: not an executable" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealchat-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# The unit must keep its name for systemd to load it.
copy=$tmp/sealchatd.service
awk -v bin="$bin" '
	/^ExecStart=/ { sub(/^ExecStart=[^ ]*/, "ExecStart=" bin); n++ }
	{ print }
	END { exit n == 1 ? 0 : 1 }' "$unit" >"$copy" || {
	echo "$0: $unit: expected exactly one ExecStart= line" >&2
	exit 1
}

case $mode in
verify)
	if [ "$arg" != none ] && ! command -v man >/dev/null 2>&1; then
		echo "man is not installed: Documentation= links not checked"
		arg=none
	fi
	if [ "$arg" = none ]; then
		out=$("$sa" verify --man=no "$copy" 2>&1) || rc=$?
	else
		out=$(MANPATH=$arg "$sa" verify "$copy" 2>&1) || rc=$?
	fi
	if [ "${rc:-0}" -ne 0 ] || [ -n "$out" ]; then
		echo "systemd-analyze verify failed (exit ${rc:-0}):"
		printf '%s\n' "$out"
		exit 1
	fi
	echo "systemd-analyze verify: nothing to report"
	;;
security)
	out=$(LC_ALL=C "$sa" security --offline=true --threshold="$arg" \
	    "$copy" 2>&1) || rc=$?
	line=$(printf '%s\n' "$out" | grep 'Overall exposure level' || true)
	score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9][0-9]*\.[0-9]\).*/\1/p')
	if [ -z "$score" ]; then
		printf '%s\n' "$out"
		echo "no exposure score in the output of systemd-analyze security"
		exit 1
	fi
	echo "exposure score: $score (threshold $arg tenths)"
	# Compare in tenths as well, should the exit status ever say less.
	tenths=$(printf '%s\n' "$score" | tr -d .)
	if [ "${rc:-0}" -ne 0 ] || [ "$tenths" -gt "$arg" ]; then
		printf '%s\n' "$out"
		echo "the exposure score $score is above $arg tenths"
		exit 1
	fi
	;;
limits)
	# The unit's values, in bytes and tasks.
	mem=$(sed -n 's/^MemoryMax=//p' "$unit" | tail -n 1)
	tasks=$(sed -n 's/^TasksMax=//p' "$unit" | tail -n 1)
	case $mem in
	*[0-9]K) mem=$((${mem%K} * 1024)) ;;
	*[0-9]M) mem=$((${mem%M} * 1024 * 1024)) ;;
	*[0-9]G) mem=$((${mem%G} * 1024 * 1024 * 1024)) ;;
	*[0-9]) ;;
	*) echo "MemoryMax= is not a size in the unit: '$mem'"; exit 1 ;;
	esac
	case $tasks in
	''|*[!0-9]*) echo "TasksMax= is not a number in the unit: '$tasks'"
		exit 1 ;;
	esac
	conf=$("$bin" -T -c "$arg") || { echo "$bin -T -c $arg failed"; exit 1; }
	get() { printf '%s\n' "$conf" | sed -n "s/^$1: //p"; }
	case $(get hash_cost) in
	min) hash=$((8 * 1024)) ;;
	interactive) hash=$((64 * 1024 * 1024)) ;;
	moderate) hash=$((256 * 1024 * 1024)) ;;
	*) hash=$((1024 * 1024 * 1024)) ;;
	esac
	sessions=$(get max_sessions)
	workers=$(get hash_workers)
	# Per session: its output with the kernel's, three frames of input
	# with the kernel's, 16 KiB of its own, and its initial list of users
	# (34 bytes a name at most).
	per=$(($(get output_cap) + 3 * $(get max_frame) + 16384 + 34 * sessions))
	need=$((32 * 1024 * 1024 + sessions * per + workers * hash))
	echo "MemoryMax=$mem bytes, needed $need; TasksMax=$tasks," \
	    "needed $((workers + 3))"
	if [ "$mem" -lt "$need" ] || [ "$tasks" -lt $((workers + 3)) ]; then
		echo "the unit's limits are below what the settings of $arg need"
		exit 1
	fi
	;;
*)
	echo "$0: unknown mode $mode" >&2
	exit 64
	;;
esac
