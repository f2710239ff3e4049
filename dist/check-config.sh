#!/bin/sh
# SPDX-License-Identifier: ISC
# Checks that the service configuration shipped in dist/ is accepted by
# `sealchatd -t`, and that -t prints the fingerprint of the key pair the file
# names.  The file's /var/lib/sealchat paths are moved to a temporary folder
# holding a key pair made here (with PyNaCl), so nothing outside it is read.
#
# Usage: check-config.sh SEALCHATD CONFIG
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 SEALCHATD CONFIG" >&2
	exit 64
fi
bin=$1
conf=$2
python=${PYTHON:-/usr/bin/python3}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealchat-conf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

grep -q '/var/lib/sealchat/' "$conf" || {
	echo "$conf: expected the service's paths in /var/lib/sealchat" >&2
	exit 1
}
sed "s|/var/lib/sealchat/|$tmp/|g" "$conf" >"$tmp/sealchatd.yaml"

# A key pair in the key file format (base64 line), and its fingerprint as
# the documentation defines it: SHA256: and unpadded base64 of SHA-256(pk).
fpr=$(umask 077 && "$python" - "$tmp" <<'PY'
import base64, hashlib, sys
from nacl.public import PrivateKey
d = sys.argv[1]
sk = PrivateKey.generate()
pk = bytes(sk.public_key)
with open(d + "/server.key", "w") as f:
    f.write(base64.b64encode(bytes(sk)).decode() + "\n")
with open(d + "/server.pub", "w") as f:
    f.write(base64.b64encode(pk).decode() + "\n")
print("SHA256:" + base64.b64encode(hashlib.sha256(pk).digest()).decode().rstrip("="))
PY
)
chmod 644 "$tmp/server.pub"

rc=0
out=$(cd "$tmp" && env -u STATE_DIRECTORY -u NOTIFY_SOCKET \
    "$bin" -t -c "$tmp/sealchatd.yaml" </dev/null 2>&1) || rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
	echo "sealchatd -t rejected the service configuration (exit $rc)"
	exit 1
fi
case $out in
*"$fpr"*) ;;
*)
	echo "sealchatd -t did not print the key's fingerprint $fpr"
	exit 1
	;;
esac
echo "service configuration accepted; fingerprint $fpr"
