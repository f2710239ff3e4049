#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs shellcheck over every shell script of the source tree: each file
# named *.sh or whose first line starts sh or bash (#!/bin/sh,
# #!/usr/bin/env bash...), wherever it is, outside .git and build folders
# (a folder that holds a CMakeCache.txt).
#
# Usage: shellcheck.sh SOURCE_DIR   (exit 77, a skip, without shellcheck)
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 SOURCE_DIR" >&2
	exit 64
fi
top=$1
sc=${SHELLCHECK:-shellcheck}
if ! command -v "$sc" >/dev/null 2>&1; then
	echo "shellcheck is not installed (apt-get install shellcheck): skipped"
	exit 77
fi

list=$(mktemp "${TMPDIR:-/tmp}/sealchat-shellcheck.XXXXXX")
trap 'rm -f "$list"' EXIT
trap 'exit 1' INT TERM HUP

find "$top" \( -name .git -o -type d -exec test -e '{}/CMakeCache.txt' \; \) \
    -prune -o -type f -exec awk '
	FILENAME ~ /\.sh$/ || /^#!.*[\/ ](ba)?sh([ \t]|$)/ { print FILENAME }
	{ nextfile }' '{}' + | sort >"$list"

set --
while IFS= read -r f; do
	set -- "$@" "$f"
done <"$list"
if [ $# -eq 0 ]; then
	echo "no shell script under $top"
	exit 1
fi
echo "$("$sc" --version | sed -n 's/^version: /shellcheck /p') on $# scripts:"
for f in "$@"; do
	echo "  ${f#"$top"/}"
done
"$sc" "$@"
echo "shellcheck finds nothing to say"
