#!/bin/sh
# SPDX-License-Identifier: ISC
# Shows that the style check (c_style.sh) catches what it claims to: a small
# file in the house style, tab-aligned declarations and continuation lines
# included, passes; each variant of it that breaks one rule fails.
#
# Usage: c_style_catches.sh SOURCE_DIR   (exit 77, a skip, without uncrustify)
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 SOURCE_DIR" >&2
	exit 64
fi
top=$1
check=$top/tests/lint/c_style.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealchat-c_style_catches.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

cat >"$tmp/good.c" <<'EOF'
/* SPDX-License-Identifier: ISC */
/* A sample in the house style. */
#include <stddef.h>
#include <stdint.h>

#define SAMPLE_MIN	4	/* shorter names do not count */

struct sample {
	const char	*name;
	size_t		 len;
	uint8_t		 flags;
};

/* Counts the names longer than min and clears their flag bit. */
static size_t
sample_count(struct sample *s, size_t n,
    size_t min, uint8_t bit)
{
	size_t	i, count = 0;

	for (i = 0; i < n; i++) {
		if (s[i].name == NULL ||
		    s[i].len <= min || s[i].len < SAMPLE_MIN)
			continue;
		s[i].flags &= (uint8_t)~bit;
		count++;
	}
	if (count > 0 && s[0].name != NULL) {
		s[0].flags |= bit;
		s[0].len = min;
	} else {
		count = 0;
	}
	switch (count) {
	case 0:
		return (0);
	default:
		break;
	}
	return (count);
}
EOF

# A name, then the sed program that makes the variant from good.c.
cases='
brace_of_a_function_on_its_line	/^    size_t min, uint8_t bit)$/{N;s/)\n{/) {/;}
return_type_on_the_name_line	/^static size_t$/{N;s/\n/ /;}
return_without_parentheses	s/return (count);/return count;/
no_space_after_if	s/if (s\[i\]/if(s[i]/
space_before_a_call_paren	s/^sample_count(/sample_count (/
brace_of_a_for_on_a_line_of_its_own	s/^\t\(for (.*)\) {$/\t\1\n\t{/
else_on_a_line_of_its_own	s/^\t} else {$/\t}\n\telse {/
spaces_for_a_tab	s/^\tsize_t\ti, count = 0;/        size_t\ti, count = 0;/
four_spaces_for_a_tab	s/^\t\tcount++;/\t    count++;/
trailing_blank	s/count++;/count++;\t/
line_over_80_columns	s/^\/\* A sample in the house style. \*\//\/* A sample of a file that keeps the house style, as HACKING.md says it, to the last. *\//
no_spdx_line	1d
'

status=0
echo "checked: good.c"
rc=0
sh "$check" "$top" "$tmp/good.c" >"$tmp/out" 2>&1 || rc=$?
if [ "$rc" -eq 77 ]; then
	cat "$tmp/out"
	exit 77
elif [ "$rc" -ne 0 ]; then
	cat "$tmp/out"
	echo "FAIL: the file in the house style does not pass"
	status=1
fi

printf '%s\n' "$cases" | while IFS='	' read -r name prog; do
	[ -n "$name" ] || continue
	sed "$prog" "$tmp/good.c" >"$tmp/$name.c"
	if cmp -s "$tmp/good.c" "$tmp/$name.c"; then
		echo "FAIL: $name: the variant is the same file"
		exit 1
	fi
	if sh "$check" "$top" "$tmp/$name.c" >"$tmp/out" 2>&1; then
		echo "FAIL: $name: not caught"
		exit 1
	fi
	echo "caught: $(sed -n "1s|^$tmp/||p" "$tmp/out")"
done || status=1
n=$(printf '%s\n' "$cases" | grep -c .)
if [ "$status" -ne 0 ]; then
	echo "the style check misses a break it should catch"
	exit 1
fi
echo "the style check passes the good file and catches all $n breaks"
