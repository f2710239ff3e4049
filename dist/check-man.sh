#!/bin/sh
# SPDX-License-Identifier: ISC
# Checks that each man page renders: man -l formats it, the output has the
# usual sections, and groff has no warning about the source.
# Usage: check-man.sh PAGE...   (exit 77, a skip, when man or groff is missing)
set -eu

if [ $# -eq 0 ]; then
	echo "usage: $0 PAGE..." >&2
	exit 64
fi
for tool in man groff; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$tool is not installed (apt-get install man-db): skipped"
		exit 77
	fi
done

status=0
for page in "$@"; do
	name=$(basename "$page")
	if [ ! -s "$page" ]; then
		echo "$name: missing or empty"
		status=1
		continue
	fi
	text=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" \
	    2>&1 </dev/null) || {
		echo "$name: man -l failed"
		status=1
		continue
	}
	for section in NAME DESCRIPTION "SEE ALSO"; do
		if ! printf '%s\n' "$text" | grep -q "^$section\$"; then
			echo "$name: no $section section in the rendered page"
			status=1
		fi
	done
	warn=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1 </dev/null) || true
	if [ -n "$warn" ]; then
		echo "$name: groff warns:"
		printf '%s\n' "$warn"
		status=1
	fi
	printf '%s\n' "$text" | head -n 3
done
[ "$status" -eq 0 ] && echo "every page renders cleanly"
exit "$status"
