#!/bin/sh
# SPDX-License-Identifier: ISC
# Quick start: installs what is missing, builds, and runs sealchatd in the
# foreground on conf/sealchatd.yaml (127.0.0.1:10000, key pair and database
# created on first start in state/).  Extra arguments go to sealchatd.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" build
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALCHAT_TESTS=OFF >/dev/null
cmake --build "$top/build" -j"$(nproc)"
mkdir -p "$top/state"
chmod 700 "$top/state"
exec "$top/build/sealchatd" -c "$top/conf/sealchatd.yaml" "$@"
