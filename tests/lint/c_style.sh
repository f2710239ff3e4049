#!/bin/sh
# SPDX-License-Identifier: ISC
# The style check: every .c and .h file under src/, include/ and tests/
# (outside build folders, those that hold a CMakeCache.txt), or the files
# named, against the house style of HACKING.md.
#
# uncrustify, with the settings of .uncrustify.cfg (which say what it checks
# and what it leaves alone), formats each file; any line it would change is
# reported, except for the layout that style(9) leaves to the author and
# uncrustify cannot reproduce: the blanks between tokens (tab alignment,
# compared as one blank), and the indentation of a continuation line (tabs
# then four spaces, below a line that does not end a statement, a block or a
# label) or of a line inside a comment.  The script itself checks what
# uncrustify does not: the SPDX line first, lines of at most 80 columns (tabs
# of 8), no trailing blank, and no spaces where a tab would do (a space
# before a tab, or eight spaces, in the indentation).
#
# Usage: c_style.sh SOURCE_DIR [FILE...]
# Exit: 0 clean, 1 a file breaks the style, 77 (a skip) without uncrustify.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 SOURCE_DIR [FILE...]" >&2
	exit 64
fi
top=$1
shift
uc=${UNCRUSTIFY:-uncrustify}
cfg=$top/.uncrustify.cfg
if ! command -v "$uc" >/dev/null 2>&1; then
	echo "uncrustify is not installed (apt-get install uncrustify): skipped"
	exit 77
fi
if [ ! -f "$cfg" ]; then
	echo "$0: no $cfg" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealchat-c_style.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

if [ $# -eq 0 ]; then
	find "$top/src" "$top/include" "$top/tests" \
	    -type d -exec test -e '{}/CMakeCache.txt' \; -prune -o \
	    -type f \( -name '*.c' -o -name '*.h' \) -print | sort >"$tmp/list"
	set --
	while IFS= read -r f; do
		set -- "$@" "$f"
	done <"$tmp/list"
	if [ $# -eq 0 ]; then
		echo "no C file under $top"
		exit 1
	fi
fi

# What the tool does not check: FILE:LINE: what is wrong.  (The $ of the
# awk programs are awk's.)
# shellcheck disable=SC2016
lines_awk='
FNR == 1 && $0 !~ /^\/\* SPDX-License-Identifier: ISC \*\/$/ {
	print file ":1: the first line is not /* SPDX-License-Identifier: ISC */"
	bad = 1
}
/[ \t\r]$/ {
	print file ":" FNR ": trailing blank"
	bad = 1
}
/^[ \t]* \t/ || /^\t*        / {
	print file ":" FNR ": spaces where a tab would do in the indentation"
	bad = 1
}
{
	# The width with tabs of 8 columns.
	w = 0
	n = length($0)
	for (i = 1; i <= n; i++)
		w = substr($0, i, 1) == "\t" ? w + 8 - w % 8 : w + 1
	if (w > 80) {
		print file ":" FNR ": " w " columns, more than 80"
		bad = 1
	}
}
END { exit (bad) }'

# Reads a file, then the diff -U0 of it against uncrustify's output; prints
# each change that is more than the author's alignment or continuation.
# shellcheck disable=SC2016
diff_awk='
function blanks(s,	lead) {
	match(s, /^[ \t]*/)
	lead = substr(s, 1, RLENGTH)
	s = substr(s, RLENGTH + 1)
	gsub(/[ \t]+/, " ", s)
	return (lead s)
}
function text(s) {
	sub(/^[ \t]+/, "", s)
	gsub(/[ \t]+/, " ", s)
	return (s)
}
# Whether line n goes on from the line above: that one does not end a
# statement, a block, a label or a preprocessor line.
function continues(n,	p) {
	for (n--; n > 0 && orig[n] ~ /^[ \t]*$/; n--)
		;
	if (n == 0)
		return (0)
	p = orig[n]
	sub(/[ \t]*\/\*.*\*\/[ \t]*$/, "", p)
	if (p ~ /^[ \t]*$/ || (p ~ /^[ \t]*#/ && p !~ /\\$/))
		return (0)
	if (p ~ /^[ \t]*(case[ \t].*|default|[A-Za-z_][A-Za-z_0-9]*):[ \t]*$/)
		return (0)
	return (p !~ /[;{}][ \t]*$/)
}
function kept(a, b, n) {
	if (blanks(a) == blanks(b))
		return (1)
	if (text(a) != text(b))
		return (0)
	if (incmt[n])
		return (1)
	return (a ~ /^\t*    [^ \t]/ && continues(n))
}
function flush(	i, ok) {
	if (nm + np == 0)
		return
	ok = nm == np
	for (i = 1; ok && i <= nm; i++)
		ok = kept(m[i], p[i], line + i - 1)
	if (!ok) {
		printf "%s:%d: uncrustify would write this otherwise:\n", file,
		    (nm > 0 ? line : line + 1)
		for (i = 1; i <= nm; i++)
			print "-" m[i]
		for (i = 1; i <= np; i++)
			print "+" p[i]
		bad = 1
	}
	nm = np = 0
}
FNR == NR {
	orig[FNR] = $0
	incmt[FNR] = cmt
	# Strings and character constants out, then where comments open and
	# close.
	s = $0
	gsub(q "(\\\\.|[^\\\\" q "])" q, "", s)
	gsub(/"([^"\\]|\\.)*"/, "", s)
	while (s != "") {
		if ((i = index(s, cmt ? "*/" : "/*")) == 0)
			break
		cmt = !cmt
		s = substr(s, i + 2)
	}
	next
}
/^@@/ {
	flush()
	split($2, a, ",")
	line = substr(a[1], 2) + 0
	next
}
FNR <= 2 && /^(---|\+\+\+) / { next }
/^-/ { m[++nm] = substr($0, 2); next }
/^\+/ { p[++np] = substr($0, 2); next }
END { flush(); exit (bad) }'

bad=0
for f in "$@"; do
	name=${f#"$top"/}
	awk -v file="$name" "$lines_awk" "$f" || bad=1
	if ! "$uc" -q -c "$cfg" -l C -f "$f" >"$tmp/out" 2>"$tmp/err"; then
		echo "$name: uncrustify fails:"
		cat "$tmp/err"
		bad=1
		continue
	fi
	diff -U0 "$f" "$tmp/out" >"$tmp/diff" || true
	awk -v q="'" -v file="$name" "$diff_awk" "$f" "$tmp/diff" || bad=1
done
if [ "$bad" -ne 0 ]; then
	echo "$("$uc" --version) ($cfg): the files above break the house style"
	exit 1
fi
echo "$("$uc" --version) and the line checks find nothing to say on $# files"
