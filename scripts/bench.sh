#!/bin/bash
# SPDX-License-Identifier: ISC
# Runs the benchmarks of docs/performance.md on this machine and prints a
# table: the login storm (presence fan-out) against sealchatd and, side by
# side in the same run, against InspIRCd with every client joining one
# channel; logins per second at the interactive hash cost with the LIST
# latency meanwhile; libsodium's own argon2id verification rate; peer
# datagrams, direct and through the daemon's relay; an honest user's login
# time at the interactive cost, unattacked and while another host runs
# each attack of docs/security.md (property 14) at full speed from other
# addresses of 127.0.0.0/8; and, as root, the time a new pair of real
# clients takes to its first `delivered`, direct, relayed and on one LAN,
# between home networks behind NAT routers in network namespaces
# (tests/bench/reach.py).  Every process it starts is stopped at the end,
# and all the traffic stays on 127.0.0.0/8 or between the namespaces it
# makes.
#
# Environment (all optional):
#   BENCH_PARTS      which parts run (default "storm peer logins attack
#                    reach")
#   BENCH_N          storm sizes (default "1000 2000 5000 10000")
#   BENCH_RUNS       runs per size, the median is shown (default 3)
#   BENCH_IRC        1: also run InspIRCd (installed when missing); 0: skip
#   BENCH_DURATION   seconds of the logins, pwhash and peer runs (default 10)
#   BENCH_CLIENTS    concurrent clients of the logins run (default 4)
#   BENCH_TIMEOUT    deadline of one storm, seconds (default 900)
#   BENCH_WINDOW     connections awaiting the server's first answer (256)
#   BENCH_PIN        1: during the storms, the server on CPU 0 and the load
#                    generator on CPU 1 (taskset); default 0, the scheduler
#                    decides.  The logins, pwhash and attack runs never
#                    pin; the peer runs always do (below).
#   BENCH_PEER_RUNS  peer runs of each kind, direct and relayed alternating,
#                    the median is shown (default 3)
#   BENCH_ATTACK_DURATION  seconds the user's login is measured, each
#                    time (default 10)
#   BENCH_ATTACK_RUNS  rounds of all the attacks, the median is shown
#                    (default 3)
#   BENCH_RAMP       seconds the sessions attack gets to take its sessions
#                    before the user is measured (default 60)
#   BENCH_REACH_PAIRS  new pairs of each kind for the time to the first
#                    `delivered` (default 50; root only)
#   BENCH_BUILD      build directory (default build-bench)
#   BENCH_RESULTS    file that also keeps every raw result line
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
parts=${BENCH_PARTS:-"storm peer logins attack reach"}
sizes=${BENCH_N:-"1000 2000 5000 10000"}
runs=${BENCH_RUNS:-3}
irc=${BENCH_IRC:-1}
duration=${BENCH_DURATION:-10}
clients=${BENCH_CLIENTS:-4}
attack_duration=${BENCH_ATTACK_DURATION:-10}
attack_runs=${BENCH_ATTACK_RUNS:-3}
ramp=${BENCH_RAMP:-60}
timeout=${BENCH_TIMEOUT:-900}
window=${BENCH_WINDOW:-256}
build=${BENCH_BUILD:-$top/build-bench}
pin=${BENCH_PIN:-0}
peer_runs=${BENCH_PEER_RUNS:-3}
reach_pairs=${BENCH_REACH_PAIRS:-50}
srv_pin=()
lg_pin=()

# want PART: whether BENCH_PARTS names it.
want() {
	case " $parts " in
	*" $1 "*) return 0 ;;
	*) return 1 ;;
	esac
}

# pinning on|off|always: applies BENCH_PIN (always: as if it were 1) to
# the processes started from now on; a machine of one CPU never pins.
pinning() {
	srv_pin=()
	lg_pin=()
	if [ "$(nproc)" -ge 2 ] && { [ "$1" = always ] ||
	    { [ "$pin" = 1 ] && [ "$1" = on ]; }; }; then
		srv_pin=(taskset -c 0)
		lg_pin=(taskset -c 1)
	fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/sealchat-bench.XXXXXX")
results=$work/results.txt
started=()

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }

# Stops one process this script started: TERM, then KILL after 30 s.
stop() {
	local pid=$1 i p rest=()
	for p in "${started[@]}"; do
		[ "$p" != "$pid" ] && rest+=("$p")
	done
	started=("${rest[@]}")
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop on SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local pid
	for pid in "${started[@]}"; do
		stop "$pid"
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

# Waits until pid $1 listens on port $2; fails if it dies.
wait_listen() {
	local pid=$1 port=$2 i
	for i in $(seq 200); do
		if listening "$port"; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.05
	done
	return 1
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		log "run as root to install $*"
		return 77
	fi
}

# --- prerequisites ------------------------------------------------------
"$top/scripts/deps.sh" test
if ! want storm; then
	irc=0
fi
if [ "$irc" = 1 ] && ! command -v inspircd >/dev/null 2>&1 &&
    [ ! -x /usr/sbin/inspircd ]; then
	log "installing inspircd"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends inspircd >&2
fi
inspircd_bin=$(command -v inspircd || echo /usr/sbin/inspircd)

log "building a release sealchatd and the load generator in $build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEALCHAT_TESTS=ON \
	>/dev/null
cmake --build "$build" --target sealchatd sealchat loadgen -j2 >/dev/null
sealchatd=$build/sealchatd
sealchat=$build/sealchat
loadgen=$build/tests/bench/loadgen

maxn=0
for n in $sizes; do
	[ "$n" -gt "$maxn" ] && maxn=$n
done
[ "$maxn" -lt $((clients + 1)) ] && maxn=$((clients + 1))
want=$((maxn * 2 + 1024))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want" ]; then
	ulimit -Hn "$want" 2>/dev/null || true
fi
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$want" ]; then
	ulimit -Sn "$want"
else
	ulimit -Sn "$(ulimit -Hn)"
fi
log "descriptors per process: $(ulimit -Sn)"

# --- sealchatd ----------------------------------------------------------
# sc_conf DIR COST [LEVEL]: a configuration for the benchmark (limits out
# of the way), logging at LEVEL (default warn).
sc_conf() {
	local d=$1 cost=$2 level=${3:-warn}
	mkdir -p "$d"
	chmod 700 "$d"
	cat >"$d/sealchatd.yaml" <<EOF
server_address: 127.0.0.1
server_port: $(free_port)
server_public_key: server.pub
server_private_key: server.key
data_base: sealchat.db
log_level: $level
hash_cost: $cost
hash_workers: 2
hash_queue: 50000
max_sessions: 1000000
max_unauth: 1000000
max_unauth_per_addr: 1000000
max_sessions_per_addr: 1000000
max_logins_per_addr: 100000
signups_per_hour: 1000000
login_timeout: 3600
keepalive_interval: 15
keepalive_timeout: 3600
output_cap: 268435456
EOF
}

# sc_start DIR: starts sealchatd on DIR's configuration; sets pid, port.
sc_start() {
	local d=$1
	port=$(sed -n 's/^server_port: //p' "$d/sealchatd.yaml")
	"${srv_pin[@]}" "$sealchatd" -c "$d/sealchatd.yaml" </dev/null \
		>>"$d/sealchatd.log" 2>&1 &
	pid=$!
	started+=("$pid")
	if ! wait_listen "$pid" "$port"; then
		log "sealchatd did not start:"
		cat "$d/sealchatd.log" >&2
		exit 1
	fi
}

# --- InspIRCd -----------------------------------------------------------
# irc_start DIR: starts InspIRCd with a generated configuration (one
# connect class for 127.0.0.1 with flood and clone limits out of the way);
# sets pid and port.
irc_start() {
	local d=$1 asroot=
	mkdir -p "$d"
	port=$(free_port)
	echo "sealchat benchmark" >"$d/motd.txt"
	cat >"$d/inspircd.conf" <<EOF
<config format="xml">
<server name="bench.irc.local" description="sealchat benchmark" network="Bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="$port" type="clients">
<power diepass="$RANDOM$RANDOM$RANDOM" restartpass="$RANDOM$RANDOM$RANDOM">
<connect name="bench" allow="127.0.0.1" timeout="600" pingfreq="3600"
         hardsendq="1073741824" softsendq="1073741824" recvq="1048576"
         threshold="100000000" commandrate="100000000" fakelag="no"
         localmax="1000000" globalmax="1000000" maxconnwarn="no"
         limit="1000000" maxchans="20" useident="no"
         resolvehostnames="no" modes="">
<files motd="$d/motd.txt">
<channels users="20" opers="60">
<dns server="127.0.0.1" timeout="5">
<pid file="$d/inspircd.pid">
<options syntaxhints="no" announcets="yes" hostintopic="yes"
         pingwarning="15" splitwhois="no" exemptchanops="">
<security hideserver="" userstats="Pu" customversion="" flatlinks="no"
          hidesplits="no" hideulines="no" hidebans="no" maxtargets="20">
<performance quietbursts="yes" somaxconn="4096" netbuffersize="10240">
EOF
	[ "$(id -u)" -eq 0 ] && asroot=--runasroot
	"${srv_pin[@]}" "$inspircd_bin" --nofork $asroot \
		--config "$d/inspircd.conf" \
		</dev/null >>"$d/inspircd.log" 2>&1 &
	pid=$!
	started+=("$pid")
	if ! wait_listen "$pid" "$port"; then
		log "inspircd did not start:"
		cat "$d/inspircd.log" >&2
		exit 1
	fi
}

# run LABEL COMMAND...: runs a loadgen mode, records its result line.
run() {
	local label=$1 out
	shift
	if out=$("${lg_pin[@]}" "$@" 2>>"$work/loadgen.err"); then
		printf '%s\n' "$out" | tee -a "$results" >&2
	else
		log "$label failed:"
		tail -n 3 "$work/loadgen.err" >&2
		echo "$label failed" >>"$results"
	fi
}

: >"$results"
{
	echo "# machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
	echo "# date: $(date -u +%FT%TZ), load average before: $(cut -d' ' -f1-3 /proc/loadavg), pinned: $pin"
} >>"$results"

# --- storms -------------------------------------------------------------
if want storm; then
	sc=$work/sc
	sc_conf "$sc" min
	sc_start "$sc"
	log "signing up $maxn users (hash_cost min)"
	run mkusers "$loadgen" mkusers --port "$port" --key "$sc/server.pub" \
		-n "$maxn" --timeout "$timeout"
	stop "$pid"

	pinning on
	for n in $sizes; do
		for r in $(seq "$runs"); do
			log "storm n=$n run $r/$runs: sealchatd"
			sc_start "$sc"
			run "storm n=$n" "$loadgen" storm --port "$port" \
				--key "$sc/server.pub" -n "$n" \
				--server-pid "$pid" --window "$window" \
				--timeout "$timeout"
			stop "$pid"
			if [ "$irc" = 1 ]; then
				log "storm n=$n run $r/$runs: inspircd"
				irc_start "$work/irc"
				run "irc n=$n" "$loadgen" irc --port "$port" \
					-n "$n" --server-pid "$pid" \
					--window "$window" --timeout "$timeout"
				stop "$pid"
			fi
		done
	done
	pinning off
fi

# --- peer datagrams, direct and through the relay ------------------------
# Always pinned, the daemon on CPU 0 and the load generator on CPU 1: the
# relay's figure is what one core of the daemon forwards.  The daemon's
# relay_rate and relay_bytes are at their highest, so that the limits per
# session never cap the measurement; its totals, logged when it stops,
# say how many datagrams they refused (relay_rate_limited, to be 0).
if want peer; then
	pe=$work/peer
	sc_conf "$pe" min info
	cat >>"$pe/sealchatd.yaml" <<EOF
relay_rate: 100000
relay_bytes: 1073741824
EOF
	pinning always
	sc_start "$pe"
	run mkusers "$loadgen" mkusers --port "$port" --key "$pe/server.pub" \
		-n 2 --timeout 60
	for r in $(seq "$peer_runs"); do
		log "peer datagrams run $r/$peer_runs: direct, then relayed"
		run "peer path=direct" "$loadgen" peer --port "$port" \
			--key "$pe/server.pub" --duration "$duration" \
			--server-pid "$pid" --timeout $((duration * 3 + 60))
		run "peer path=relay" "$loadgen" peer --relay --port "$port" \
			--key "$pe/server.pub" --duration "$duration" \
			--server-pid "$pid" --timeout $((duration * 3 + 60))
	done
	stop "$pid"
	pinning off
	totals=$(grep 'udp: totals' "$pe/sealchatd.log" | tail -n 1 || true)
	limited=$(printf '%s\n' "$totals" |
		sed -n 's/.* relay_rate_limited=\([0-9]*\).*/\1/p')
	relayed=$(printf '%s\n' "$totals" |
		sed -n 's/.* relayed=\([0-9]*\).*/\1/p')
	echo "relaytotals relayed=${relayed:-0} relay_rate_limited=${limited:-0}" |
		tee -a "$results" >&2
fi

# --- logins at the interactive cost ---------------------------------------
if want logins; then
	log "logins at hash_cost interactive ($clients clients)"
	li=$work/logins
	sc_conf "$li" interactive
	sc_start "$li"
	run mkusers "$loadgen" mkusers --port "$port" --key "$li/server.pub" \
		-n $((clients + 1)) --timeout 120
	run logins "$loadgen" logins --port "$port" --key "$li/server.pub" \
		--clients "$clients" --duration "$duration" --server-pid "$pid" \
		--timeout $((duration * 3 + 60))
	stop "$pid"

	log "libsodium argon2id verification rate"
	run pwhash "$loadgen" pwhash --threads 2 --duration "$duration" \
		--timeout $((duration * 3 + 60))
fi

# --- a user's login time under attack -------------------------------------
# at_conf DIR: DIR's configuration again, with every limit at its default
# (the defences measured) and the interactive hash cost.
at_conf() {
	local d=$1 p
	p=$(sed -n 's/^server_port: //p' "$d/sealchatd.yaml")
	cat >"$d/sealchatd.yaml" <<EOF
server_address: 127.0.0.1
server_port: $p
server_public_key: server.pub
server_private_key: server.key
data_base: sealchat.db
log_level: warn
hash_cost: interactive
EOF
}

# attack_args KIND ROUND: the load generator's options for one attack.
# Each round attacks from addresses of its own, so that what one round's
# attack leaves counted against its addresses does not weigh on the next.
attack_args() {
	case $1 in
	abandon) echo --attack abandon --source "127.0.1.$2" --window 64 ;;
	guess) echo --attack guess --source "127.0.2.$((4 * $2))" \
		--sources 4 --clients 32 --prefix user --first 0 ;;
	idle) echo --attack idle --source "127.0.3.$((16 * $2))" --sources 16 \
		--window 32 ;;
	sessions) echo --attack sessions --source "127.0.4.$2" -n 300 \
		--prefix atk ;;
	esac
}

# under KIND ROUND: the user's logins while attack KIND runs ("none":
# alone; "cpu": while one thread of argon2id keeps a core busy, for
# comparison).
under() {
	local kind=$1 apid='' lead=2 out args
	if [ "$kind" = cpu ]; then
		"$loadgen" pwhash --threads 1 \
			--duration $((lead + attack_duration + 1)) \
			>/dev/null 2>>"$work/loadgen.err" &
		apid=$!
		started+=("$apid")
		sleep "$lead"
	elif [ "$kind" != none ]; then
		[ "$kind" = sessions ] && lead=$ramp
		read -r -a args <<<"$(attack_args "$kind" "$2")"
		"$loadgen" attack --port "$port" --key "$at/server.pub" \
			"${args[@]}" --duration $((lead + attack_duration + 1)) \
			--timeout $((lead + attack_duration + 60)) \
			>"$work/attack.out" 2>>"$work/loadgen.err" &
		apid=$!
		started+=("$apid")
		sleep "$lead"
	fi
	if out=$("$loadgen" user --port "$port" --key "$at/server.pub" \
	    --prefix user --first 0 --source 127.0.0.1 \
	    --duration "$attack_duration" \
	    --timeout $((attack_duration + 60)) 2>>"$work/loadgen.err"); then
		printf '%s\n' "$out" | sed "s/^user /user under=$kind /" |
			tee -a "$results" >&2
	else
		log "the user's logins under $kind failed:"
		tail -n 3 "$work/loadgen.err" >&2
		echo "user under=$kind failed" >>"$results"
	fi
	if [ -n "$apid" ]; then
		# It ends by itself a second after the user's logins.
		wait "$apid" || true
		stop "$apid"
		[ "$kind" = cpu ] ||
			sed "s/^attack /attack under=$kind /" \
			"$work/attack.out" | tee -a "$results" >&2
	fi
}

if want attack; then
	log "a user's login time under attack (hash_cost interactive)"
	at=$work/attack
	# The accounts are made at the interactive cost already, so that the
	# sessions attack's logins cost what real ones do and no more.
	sc_conf "$at" interactive
	sc_start "$at"
	run mkusers "$loadgen" mkusers --port "$port" --key "$at/server.pub" \
		-n 1 --prefix user --timeout 120
	run mkusers "$loadgen" mkusers --port "$port" --key "$at/server.pub" \
		-n 300 --prefix atk --timeout 300
	stop "$pid"
	at_conf "$at"
	sc_start "$at"
	# A first login records the user's address as one it logs in from.
	"$loadgen" user --port "$port" --key "$at/server.pub" --prefix user \
		--first 0 --source 127.0.0.1 --duration 2 >/dev/null \
		2>>"$work/loadgen.err" || true
	for r in $(seq "$attack_runs"); do
		for kind in none cpu abandon guess idle sessions; do
			log "user's logins under $kind, round $r/$attack_runs"
			under "$kind" "$r"
		done
	done
	stop "$pid"
fi

# --- time to the first delivered of a new pair ----------------------------
# The real client between network namespaces (tests/bench/reach.py), which
# only root can make.
reach_note=
if want reach && [ "$reach_pairs" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		reach_note="skipped: network namespaces need root"
	else
		log "time to the first delivered: $reach_pairs new pairs of" \
			"each kind"
		rc=0
		out=$(/usr/bin/python3 "$top/tests/bench/reach.py" \
			--sealchatd "$sealchatd" --sealchat "$sealchat" \
			--loadgen "$loadgen" --pairs "$reach_pairs" \
			--timeout $((reach_pairs * 20 + 120)) \
			2>>"$work/reach.err") || rc=$?
		if [ "$rc" -eq 77 ]; then
			reach_note=$(printf '%s\n' "$out" | grep '^skipped' |
				head -n 1)
		elif [ "$rc" -ne 0 ]; then
			reach_note="failed (exit $rc): $(tail -n 1 "$work/reach.err")"
			printf '%s\n' "$out" | grep '^reach ' >>"$results" || true
		else
			printf '%s\n' "$out" | tee -a "$results" >&2
		fi
	fi
	if [ -n "$reach_note" ]; then
		log "time to the first delivered: $reach_note"
	fi
fi

# --- the table ----------------------------------------------------------
# median RE KEY: the median of KEY over the result lines that match RE.
median() {
	local vals
	vals=$(grep -E "$1" "$results" |
		sed -n "s/.* $2=\\([-0-9.]*\\).*/\\1/p" | sort -g)
	[ -z "$vals" ] && { echo "-"; return; }
	printf '%s\n' "$vals" | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# field MODE N KEY: the median of KEY over the result lines of MODE n=N.
field() {
	median "^$1 n=$2 " "$3"
}
# ufield MODE KIND KEY: the median of KEY over the lines "MODE under=KIND".
ufield() {
	median "^$1 under=$2 " "$3"
}
one() {	# one RE KEY: KEY of the last result line that begins with RE
	local v
	v=$(grep -E "^$1 " "$results" | tail -n 1 |
		sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p")
	echo "${v:--}"
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0)
		printf "%.1fx", b / a; else print "-" }'
}
share() {	# share A B: A / B with two decimals
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0)
		printf "%.2f", a / b; else print "-" }'
}

{
	echo
	grep '^# ' "$results" | sed 's/^# //'
	if want storm; then
		echo "login storm, medians of $runs runs (seconds from the first connect until every client knows all N)"
		printf '%-6s %10s %10s %8s %9s %9s %11s %11s %10s %10s\n' N \
			sealchatd inspircd speedup sc_cpu irc_cpu sc_peak_kb \
			irc_peak_kb sc_B/sess irc_B/sess
		for n in $sizes; do
			s=$(field storm "$n" seconds)
			i=$(field irc "$n" seconds)
			printf '%-6s %10s %10s %8s %9s %9s %11s %11s %10s %10s\n' \
				"$n" "$s" "$i" "$(ratio "$s" "$i")" \
				"$(field storm "$n" server_cpu)" \
				"$(field irc "$n" server_cpu)" \
				"$(field storm "$n" peak_rss_kb)" \
				"$(field irc "$n" peak_rss_kb)" \
				"$(field storm "$n" rss_per_session_b)" \
				"$(field irc "$n" rss_per_session_b)"
		done
		echo
	fi
	if want logins; then
		echo "logins (hash_cost interactive, $clients clients): $(one logins logins_per_s)/s," \
			"login p50 $(one logins login_p50_ms) ms p99 $(one logins login_p99_ms) ms;" \
			"LIST meanwhile p50 $(one logins list_p50_ms) ms p99 $(one logins list_p99_ms) ms max $(one logins list_max_ms) ms"
		echo "pwhash (libsodium, 2 threads, interactive): $(one pwhash verifies_per_s) verifications/s"
	fi
	if want attack; then
		echo
		echo "a user's login (hash_cost interactive, default limits), medians of $attack_runs rounds of $attack_duration s"
		printf '%-9s %9s %9s %9s %13s %10s %8s %6s\n' under \
			login_p50 login_p99 p99_ratio attack_conn/s auth_sent \
			guesses held
		base=$(ufield user none login_p99_ms)
		for kind in none cpu abandon guess idle sessions; do
			p99=$(ufield user "$kind" login_p99_ms)
			printf '%-9s %9s %9s %9s %13s %10s %8s %6s\n' "$kind" \
				"$(ufield user "$kind" login_p50_ms)" "$p99" \
				"$(awk -v a="$p99" -v b="$base" 'BEGIN {
				    if (a + 0 > 0 && b + 0 > 0)
					printf "%.1fx", a / b; else print "-" }')" \
				"$(ufield attack "$kind" opened_per_s)" \
				"$(ufield attack "$kind" auth_sent)" \
				"$(ufield attack "$kind" guesses)" \
				"$(ufield attack "$kind" sessions_held)"
		done
	fi
	if want peer; then
		d='^peer path=direct '
		r='^peer path=relay '
		echo "peer datagrams ($(one peer size) B, window $(one peer window)), medians of $peer_runs runs of each, alternating;" \
			"daemon on CPU 0, load generator on CPU 1; relay_rate 100000/s and relay_bytes 1 GiB/s a session," \
			"which refused $(one relaytotals relay_rate_limited) datagrams"
		echo "  direct:  $(median "$d" msgs_per_s) messages/s acknowledged;" \
			"round trip with ACK p50 $(median "$d" rtt_p50_us) us p99 $(median "$d" rtt_p99_us) us;" \
			"daemon CPU $(median "$d" server_cpu_pct) % of a core"
		echo "  relayed: $(median "$r" msgs_per_s) messages/s acknowledged," \
			"$(share "$(median "$r" msgs_per_s)" "$(median "$d" msgs_per_s)") of direct;" \
			"round trip with ACK p50 $(median "$r" rtt_p50_us) us p99 $(median "$r" rtt_p99_us) us;" \
			"daemon CPU $(median "$r" server_cpu_pct) % of a core, $(median "$r" server_us_per_msg) us a message"
	fi
	if want reach && [ "$reach_pairs" -gt 0 ]; then
		if [ -n "$reach_note" ]; then
			echo "time to the first delivered of a new pair: $reach_note"
		fi
		if grep -q '^reach ' "$results"; then
			echo "time to the first delivered of a new pair (the real client, between network namespaces;" \
				"$(one 'reach path=direct' pairs) new pairs of each kind, alternating):"
			echo "  direct (two port-keeping NATs): p50 $(one 'reach path=direct' first_delivered_p50_ms) ms" \
				"p99 $(one 'reach path=direct' first_delivered_p99_ms) ms; paths $(one 'reach path=direct' paths)"
			echo "  relayed (one symmetric NAT): p50 $(one 'reach path=relay' first_delivered_p50_ms) ms" \
				"p99 $(one 'reach path=relay' first_delivered_p99_ms) ms, of which" \
				"$(one 'reach path=relay' direct_timeout_ms) ms are the configured direct_timeout;" \
				"paths $(one 'reach path=relay' paths)"
			echo "  lan (two hosts behind one router): p50 $(one 'reach path=lan' first_delivered_p50_ms) ms" \
				"p99 $(one 'reach path=lan' first_delivered_p99_ms) ms; paths $(one 'reach path=lan' paths)"
		fi
	fi
	echo
	echo "raw result lines:"
	grep -v '^#' "$results"
}
if [ -n "${BENCH_RESULTS:-}" ]; then
	cp "$results" "$BENCH_RESULTS"
fi
