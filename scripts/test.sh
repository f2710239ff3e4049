#!/bin/sh
# SPDX-License-Identifier: ISC
# The whole test suite: installs what is missing, then builds and runs every
# test twice: a plain build (gcc, -Werror) and a sanitizer build (clang,
# AddressSanitizer + UndefinedBehaviorSanitizer, plus the libFuzzer targets,
# each run briefly).  Exit status 0 only when both pass.  The man pages are
# required here (SEALCHAT_MAN=ON), so that their checks run instead of
# being skipped.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$top/scripts/deps.sh" test

run() {	# run NAME CMAKE-ARGS...
	name=$1; shift
	dir="$top/build-test-$name"
	echo "== $name build" >&2
	cmake -S "$top" -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
	echo "== $name tests" >&2
	(cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 900)
}

run plain -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc \
	-DSEALCHAT_MAN=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	-DSEALCHAT_SANITIZE=ON -DSEALCHAT_FUZZ=ON -DSEALCHAT_MAN=ON
echo "== all tests passed" >&2
