#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""reach: time to the first `delivered` for new pairs of the real client.

Part of scripts/bench.sh (docs/performance.md).  In network namespaces made
by tests/integration/netlab.py, so for root only: sealchatd on a public
host; home "a" and home "b" behind port-keeping NAT routers (masquerade),
home "c" behind a symmetric one (masquerade random), each with one host.

For every pair, two fresh users (signed up beforehand with the load
generator) and two fresh `sealchat` processes in script mode: the receiver
(--listen) and the sender log in and register their UDP endpoints, then
the clock starts when the sender is given `send PEER TEXT` and stops when
it prints `delivered PEER`.  That covers PAIR and PAIRKEY, the search for a
path (protocol.md section 10), the peers' handshake (section 8.1), the
message and its acknowledgement.  A `peers` afterwards says which path
carried it.

  direct   sender in home a, receiver in home b: the two NATs keep ports,
           the clients open a direct path through both;
  relay    sender in home a, receiver in home c: the symmetric NAT lets no
           direct path form, and the relay carries the message once
           direct_timeout ms have passed without one: the figure includes
           that configured wait.
  lan      sender and receiver on two hosts of home a: a host candidate
           of one LAN, no NAT on the way.

The kinds alternate, pair after pair, so that the load of the machine
falls on both alike.  The links have no added delay: the figures are the
clients' and the daemon's own time, not a network's.

Prints one line per kind:

  reach path=direct pairs=N delivered=N first_delivered_p50_ms=... ...

and exits 0; 1 when something failed; 77, after "skipped: WHY", when
network namespaces cannot be used here.  Every process and namespace it
makes is gone when it returns (netlab.Lab), and it stops at --timeout.
"""

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import netlab  # noqa: E402

PASSWORD = "bench-password-1"   # the load generator's (loadgen.h)
PREFIX = "reach"
PORT = 10000
WAIT = 15.0                     # one login, registration or answer
TEXT = "the first message of a new pair"


class ReachError(RuntimeError):
    """A pair did not get as far as it should have."""


class Client:
    """One `sealchat --batch` in a namespace; its records are timestamped
    as they are read, its standard error kept."""

    def __init__(self, host, sealchat, conf, listen):
        argv = [sealchat, "--batch", "-c", conf] + (["--listen"] if listen else [])
        self.proc = host.spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, name="sealchat")
        self.records = queue.Queue()
        self.err = []
        self.registered = threading.Event()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self):
        for line in self.proc.stdout:
            self.records.put((time.monotonic(), line.rstrip("\n").split("\t")))
        self.records.put((time.monotonic(), None))

    def _read_err(self):
        for line in self.proc.popen.stderr:
            self.err.append(line.rstrip("\n"))
            if "udp: registered with the server" in line:
                self.registered.set()

    def send(self, line):
        """Writes one command line; returns the time it went."""
        t = time.monotonic()
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return t

    def expect(self, *fields, timeout=WAIT):
        """The time and fields of the first record that begins with fields
        (others are skipped); ReachError when none comes in time."""
        end = time.monotonic() + timeout
        while True:
            try:
                t, rec = self.records.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise ReachError(f"no {' '.join(fields)} within {timeout} s; stderr: "
                                 f"{' | '.join(self.err[-3:])}") from None
            if rec is None:
                raise ReachError(f"sealchat exited before {' '.join(fields)}; stderr: "
                                 f"{' | '.join(self.err[-3:])}")
            if tuple(rec[:len(fields)]) == fields:
                return t, rec
            if rec[0] == "error":
                raise ReachError(f"sealchat: {' '.join(rec)}")

    def wait_registered(self, timeout=WAIT):
        """Waits for the log line of the client's first REGISTERED."""
        if not self.registered.wait(timeout):
            raise ReachError(f"no registration within {timeout} s")

    def stop(self):
        """quit, then SIGTERM (a listener) if it has not exited."""
        try:
            if self.proc.alive():
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=0.5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.proc.stop(timeout=2)


def one_pair(sealchat, conf, sender_host, receiver_host, sender, receiver):
    """Milliseconds from `send` to `delivered` for a new pair, and the
    path `peers` names."""
    r = Client(receiver_host, sealchat, conf, listen=True)
    s = Client(sender_host, sealchat, conf, listen=False)
    try:
        r.send(f"auth {receiver} {PASSWORD}")
        s.send(f"auth {sender} {PASSWORD}")
        r.expect("ok", "auth", receiver)
        s.expect("ok", "auth", sender)
        r.wait_registered()
        s.wait_registered()
        t0 = s.send(f"send {receiver} {TEXT}")
        t1, _ = s.expect("delivered", receiver)
        s.send("peers")
        _, rec = s.expect("peer", receiver)
        return (t1 - t0) * 1000.0, rec[2] if len(rec) > 2 else "?"
    finally:
        s.stop()
        r.stop()


def pct(values, p):
    """The p-th percentile (nearest rank, as the load generator's)."""
    v = sorted(values)
    if not v:
        return 0.0
    return v[min(len(v) - 1, int(p / 100.0 * (len(v) - 1) + 0.5))]


def summary(kind, n, times, paths, failed, direct_timeout):
    """The result line of one kind."""
    counts = ",".join(f"{k}:{paths.count(k)}" for k in sorted(set(paths))) or "-"
    fields = [f"reach path={kind}", f"pairs={n}", f"delivered={len(times)}", f"failed={failed}"]
    if times:
        fields += [f"first_delivered_p50_ms={pct(times, 50):.0f}",
                   f"first_delivered_p99_ms={pct(times, 99):.0f}",
                   f"min_ms={min(times):.0f}", f"max_ms={max(times):.0f}",
                   f"mean_ms={sum(times) / len(times):.0f}"]
    fields += [f"paths={counts}", f"direct_timeout_ms={direct_timeout}"]
    return " ".join(fields)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sealchatd", required=True)
    ap.add_argument("--sealchat", required=True)
    ap.add_argument("--loadgen", required=True, help="signs the users up")
    ap.add_argument("--pairs", type=int, default=50, help="new pairs of each kind (default 50)")
    ap.add_argument("--direct-timeout", type=int, default=1000,
                    help="the clients' direct_timeout in ms (default 1000, the client's own default)")
    ap.add_argument("--timeout", type=float, default=900, help="deadline of the whole run, seconds")
    ap.add_argument("--raw", help="file that gets one line per pair")
    ap.add_argument("--data-dir", help="where the clients keep their identity keys and pinned "
                    "peers (XDG_DATA_HOME; default: a fresh folder under the system's temporary "
                    "directory); on tmpfs, the first "
                    "contact's fsync of known_peers leaves the figures")
    a = ap.parse_args()
    if not 1 <= a.pairs <= 1000:
        ap.error("--pairs: 1 to 1000")
    progs = [os.path.abspath(p) for p in (a.sealchatd, a.sealchat, a.loadgen)]
    for p in progs:
        if not os.access(p, os.X_OK):
            ap.error(f"not a program: {p}")
    sealchatd, sealchat, loadgen = progs

    why = netlab.netns_unavailable_reason()
    if why is not None:
        print(f"skipped: {why}", flush=True)
        return netlab.SKIP_EXIT_CODE

    deadline = time.monotonic() + a.timeout
    work = tempfile.mkdtemp(prefix="sealchat-reach-")
    os.chmod(work, 0o700)
    # The clients' identity keys and pinned peers, removed at the end.
    data = tempfile.mkdtemp(prefix="sealchat-reach-data-", dir=a.data_dir)
    os.environ["XDG_DATA_HOME"] = data
    raw = open(a.raw, "w") if a.raw else None
    try:
        with netlab.Lab() as lab:
            srv = lab.add_public_host("srv", ipv6=False)
            home_a = lab.add_home("a")
            home_b = lab.add_home("b")
            home_c = lab.add_home("c", nat="random")
            host_a, host_b, host_c = home_a.add_host(), home_b.add_host(), home_c.add_host()
            host_a2 = home_a.add_host()

            with open(os.path.join(work, "sealchatd.yaml"), "w") as f:
                f.write(f"server_address: 0.0.0.0\nserver_port: {PORT}\n"
                        "server_public_key: server.pub\nserver_private_key: server.key\n"
                        "data_base: sealchat.db\nlog_level: info\nhash_cost: min\n"
                        # One address signs every user up, and the clients of
                        # a home share its NAT's: the limits per address aside.
                        "max_sessions_per_addr: 1000000\nmax_logins_per_addr: 100000\n"
                        "signups_per_hour: 1000000\n")
            d = srv.spawn([sealchatd, "-c", os.path.join(work, "sealchatd.yaml")], name="sealchatd")
            d.wait_log(r"listening address=", timeout=WAIT)
            pub = os.path.join(work, "server.pub")
            srv.run([loadgen, "mkusers", "--port", PORT, "--key", pub, "--prefix", PREFIX,
                     "-n", 6 * a.pairs, "--timeout", 120], timeout=150)
            conf = os.path.join(work, "sealchat.yaml")
            with open(conf, "w") as f:
                f.write(f"server_address: {srv.ipv4}\nserver_port: {PORT}\n"
                        f"server_public_key: {pub}\nlog_level: info\n"
                        f"direct_timeout: {a.direct_timeout}\n")

            # kind: the receiver's host; users 6i, 6i+1 direct, 6i+2, 6i+3
            # relay, 6i+4, 6i+5 lan
            kinds = {"direct": (host_b, 0), "relay": (host_c, 2), "lan": (host_a2, 4)}
            times = {k: [] for k in kinds}
            paths = {k: [] for k in kinds}
            failed = {k: 0 for k in kinds}
            for i in range(a.pairs):
                for k, (rhost, off) in kinds.items():
                    if time.monotonic() > deadline:
                        raise ReachError(f"deadline of {a.timeout} s passed at pair {i}")
                    if not d.alive():
                        raise ReachError(f"sealchatd exited: {d.log()[-300:]}")
                    sender, receiver = f"{PREFIX}{6 * i + off}", f"{PREFIX}{6 * i + off + 1}"
                    try:
                        ms, path = one_pair(sealchat, conf, host_a, rhost, sender, receiver)
                    except ReachError as e:
                        failed[k] += 1
                        print(f"reach: {k} pair {i}: {e}", file=sys.stderr, flush=True)
                        if raw:
                            print(f"{k} {i} failed", file=raw, flush=True)
                        if failed[k] >= 3 and not times[k]:
                            raise ReachError(f"{k}: the first three pairs failed") from None
                        continue
                    times[k].append(ms)
                    paths[k].append(path)
                    if raw:
                        print(f"{k} {i} {ms:.1f} {path}", file=raw, flush=True)
            for k in kinds:
                print(summary(k, a.pairs, times[k], paths[k], failed[k], a.direct_timeout), flush=True)
            d.stop()
            return 1 if sum(failed.values()) else 0
    except (ReachError, netlab.NetlabError) as e:
        print(f"reach: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        if raw:
            raw.close()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
