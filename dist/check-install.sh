#!/bin/sh
# SPDX-License-Identifier: ISC
# Checks `cmake --install` into a temporary DESTDIR: every expected file is
# in place with a fitting mode, the installed unit starts the installed
# daemon on the installed configuration, and a second install keeps an
# edited configuration.
#
# Usage: check-install.sh BUILD_DIR SEALCHATD_PATH PATH:KIND...
#   KIND  x  an executable file
#         f  a regular file, readable by all
#         c  the live configuration: mode 0644, kept across installs
#         u  the systemd unit
set -eu

if [ $# -lt 3 ]; then
	echo "usage: $0 BUILD_DIR SEALCHATD_PATH PATH:KIND..." >&2
	exit 64
fi
build=$1
daemon=$2
shift 2
cmake=${CMAKE:-cmake}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealchat-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
root=$tmp/root

install_once() {
	if ! DESTDIR=$root "$cmake" --install "$build" >"$tmp/install.log" 2>&1; then
		cat "$tmp/install.log"
		echo "cmake --install failed"
		exit 1
	fi
}

fail=0
bad() {
	echo "FAIL: $*"
	fail=1
}

mode_of() {
	stat -c %a "$1"
}

install_once
conf=
for spec in "$@"; do
	path=${spec%:*}
	kind=${spec##*:}
	file=$root$path
	if [ ! -f "$file" ]; then
		bad "$path is not installed"
		continue
	fi
	case $kind in
	x)
		[ -x "$file" ] || bad "$path is not executable"
		;;
	f)
		case $(mode_of "$file") in
		644|444) ;;
		*) bad "$path has mode $(mode_of "$file"), not 644" ;;
		esac
		;;
	c)
		[ "$(mode_of "$file")" = 644 ] ||
			bad "$path has mode $(mode_of "$file"), not 644"
		conf=$path
		;;
	u)
		[ "$(mode_of "$file")" = 644 ] ||
			bad "$path has mode $(mode_of "$file"), not 644"
		exec_line=$(grep '^ExecStart=' "$file" || true)
		want="ExecStart=$daemon -c "
		case $exec_line in
		"$want"*) ;;
		*) bad "$path: '$exec_line' does not start $daemon -c" ;;
		esac
		unit_conf=${exec_line#"$want"}
		[ -f "$root$unit_conf" ] ||
			bad "$path names $unit_conf, which is not installed"
		if grep -n '@[A-Z_]*@' "$file"; then
			bad "$path has unfilled @VARIABLES@"
		fi
		;;
	*)
		bad "$spec: unknown kind $kind"
		;;
	esac
	echo "installed: $path"
done

# An operator's edit to the live configuration survives a reinstall.
if [ -n "$conf" ]; then
	echo "# edited by the operator" >>"$root$conf"
	install_once
	grep -q '^# edited by the operator$' "$root$conf" ||
		bad "a second install overwrote the edited $conf"
	grep -q "Kept: $root$conf" "$tmp/install.log" ||
		bad "a second install did not say it kept $conf"
else
	bad "no configuration (kind c) given"
fi

[ "$fail" -eq 0 ] || exit 1
echo "every file is in place"
