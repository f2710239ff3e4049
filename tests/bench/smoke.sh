#!/bin/bash
# SPDX-License-Identifier: ISC
# Smoke run of the benchmark load generator, so that it never rots: starts
# the built sealchatd on an ephemeral 127.0.0.1 port with a temporary
# configuration (hash_cost min), then runs mkusers and storm with N=50,
# a short peer exchange, direct and through the daemon's relay, a short
# logins run, a short pwhash run, a user's logins and each attack for a
# second, from other addresses of 127.0.0.0/8.  It checks that each mode
# completes and prints its result line; the figures themselves are not
# asserted.
# Environment: SEALCHATD and LOADGEN, the two built programs.
set -euo pipefail

: "${SEALCHATD:?set SEALCHATD to the sealchatd binary}"
: "${LOADGEN:?set LOADGEN to the loadgen binary}"

dir=$(mktemp -d "${TMPDIR:-/tmp}/sealchat-bench-smoke.XXXXXX")
pid=
passed=0
failed=0

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

# A TCP port that is free on 127.0.0.1 right now.
free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Whether something listens on 127.0.0.1:$1.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port=$(free_port)
cat >"$dir/sealchatd.yaml" <<EOF
server_address: 127.0.0.1
server_port: $port
server_public_key: server.pub
server_private_key: server.key
data_base: sealchat.db
log_level: warn
hash_cost: min
max_sessions: 1000
max_unauth: 1000
max_unauth_per_addr: 1000
max_sessions_per_addr: 1000
max_logins_per_addr: 100000
signups_per_hour: 1000000
relay_rate: 100000
relay_bytes: 1073741824
EOF

"$SEALCHATD" -c "$dir/sealchatd.yaml" </dev/null >"$dir/sealchatd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	if [ -s "$dir/server.pub" ] && listening "$port"; then
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "bench smoke: sealchatd exited at start-up:" >&2
		cat "$dir/sealchatd.log" >&2
		exit 1
	fi
	sleep 0.1
done
if ! listening "$port"; then
	echo "bench smoke: sealchatd does not listen on port $port" >&2
	exit 1
fi

common=(--port "$port" --key "$dir/server.pub" --server-pid "$pid"
	--timeout 20)

# check NAME PATTERN COMMAND...: runs a mode, wants its result line.
check() {
	local name=$1 pattern=$2 out
	shift 2
	if out=$("$@" 2>"$dir/err"); then
		if printf '%s\n' "$out" | grep -Eq "$pattern"; then
			printf 'ok   %s: %s\n' "$name" "$out"
			passed=$((passed + 1))
			return
		fi
	fi
	printf 'FAIL %s: %s\n' "$name" "$out"
	cat "$dir/err" >&2
	failed=$((failed + 1))
}

check mkusers '^mkusers n=50 created=50 existed=0 ' \
	"$LOADGEN" mkusers "${common[@]}" -n 50
check storm '^storm n=50 seconds=[0-9.]+ server_cpu=[0-9.]+ .*rss_per_session_b=' \
	"$LOADGEN" storm "${common[@]}" -n 50
check peer '^peer path=direct rtt_n=100 rtt_p50_us=[0-9]+ .*msgs_per_s=[0-9]+ ' \
	"$LOADGEN" peer "${common[@]}" --count 100 --duration 1
check 'peer --relay' '^peer path=relay rtt_n=100 rtt_p50_us=[0-9]+ .*msgs_per_s=[0-9]+ .*server_cpu=[0-9.]+ ' \
	"$LOADGEN" peer "${common[@]}" --count 100 --duration 1 --relay
check logins '^logins clients=2 seconds=[0-9.]+ logins=[0-9]+ .*list_p99_ms=' \
	"$LOADGEN" logins "${common[@]}" --clients 2 --duration 1
check pwhash '^pwhash threads=1 cost=interactive seconds=[0-9.]+ verifies=[0-9]+ ' \
	"$LOADGEN" pwhash --threads 1 --duration 0.5
check user '^user logins=[0-9]+ login_p50_ms=[0-9]+ login_p99_ms=' \
	"$LOADGEN" user "${common[@]}" --source 127.0.0.1 --duration 1
src=10
for kind in abandon guess idle sessions; do
	check "attack $kind" "^attack kind=$kind sources=[0-9]+ seconds=" \
		"$LOADGEN" attack "${common[@]}" --attack "$kind" \
		--source "127.0.0.$src" --sources 2 --window 4 --clients 4 \
		-n 5 --duration 1
	src=$((src + 2))
done

if ! kill -0 "$pid" 2>/dev/null; then
	echo "bench smoke: sealchatd died during the run:" >&2
	cat "$dir/sealchatd.log" >&2
	failed=$((failed + 1))
fi
echo "bench smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
