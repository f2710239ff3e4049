#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs the Debian 12 packages sealchat needs, only those missing.
# Usage: scripts/deps.sh [build|test]   (build: to build and run; test: also
# what the test suite needs).  Runs apt-get as root (through sudo if needed).
set -eu

build_pkgs="build-essential cmake pkg-config scdoc libevent-dev libsodium-dev
libsqlite3-dev libyaml-dev libedit-dev libbsd-dev"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev llvm-14 python3 python3-nacl
tmux systemd man-db procps sqlite3 curl
iproute2 nftables conntrack shellcheck uncrustify"

case "${1:-build}" in
build) pkgs=$build_pkgs ;;
test) pkgs="$build_pkgs $test_pkgs" ;;
*) echo "usage: $0 [build|test]" >&2; exit 64 ;;
esac

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "$0: run as root to install:$missing" >&2
	exit 77
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
