# SPDX-License-Identifier: ISC
"""netlab: network-namespace topologies with home NAT routers, for tests.

Standard library only; meant for Debian's /usr/bin/python3 (3.11), run as root.

Topology (everything lives in namespaces this module makes; nothing touches
the host's own network):

    [public host(s)] --bridge "pub"-- [ core ] --wan link--> [home router A] --bridge "lan"-- hosts
                                           \\--wan link--> [home router B] --bridge "lan"-- hosts

* core: a plain router (no conntrack, no NAT).  It carries an nftables table
  "inet netlab" whose forward chain counts UDP packets per (ingress, egress)
  pair: home->home, home->pub, pub->home.
* home router: WAN on its own veth link to the core (so two home routers are
  always separated by one routed hop), LAN on a bridge.  nftables:
  masquerade on WAN (port-keeping, or ``random`` = symmetric NAT), a forward
  chain with policy drop accepting ``ct state established,related`` and what
  comes from the LAN, no hairpin, and optionally an input chain (policy drop
  or reject for what arrives on the WAN).
* IPv6 (optional per home; always on the public segment): global-style
  addresses from 2001:db8::/32, routed by the core, no NAT, optionally behind
  a stateful firewall that drops unsolicited inbound.

Address plan (documentation/private ranges; checked against the host's own):
    public segment   203.0.113.0/24      core .1, hosts .10, .11, ...
                     2001:db8:ffff::/64  core ::1, hosts ::10, ::11, ...
    home i WAN link  198.51.100.4i/30    core .4i+1, router .4i+2   (i = 1..63)
                     2001:db8:fffe:i::/64 core ::1, router ::2
    home i LAN       10.99.i.0/24        router .1, hosts .10, .11, ...
                     2001:db8:0:i::/64   router ::1, hosts ::10, ...

Usage::

    import netlab, unittest

    @netlab.skip_unless_netns()
    class T(unittest.TestCase):
        def test_x(self):
            with netlab.Lab() as lab:
                srv = lab.add_public_host("srv")
                A = lab.add_home("a")                          # port-keeping NAT
                B = lab.add_home("b", nat="random")            # symmetric NAT
                a, b = A.add_host(), B.add_host()
                d = srv.spawn(["./sealchatd", "--listen", srv.ipv4])   # flags illustrative
                d.wait_log("listening")
                a.run(["./sealchat", "--server", srv.ipv4, "..."])
                self.assertEqual(lab.udp_packets("a", "b"), 0)  # nothing went home to home

    if __name__ == "__main__":
        netlab.main()          # prints "skipped: ..." and exits 77 when unusable

Note: home routers default to input_policy="accept" (no input chain), the
harsh case: an inbound packet that reaches the router before its host has
opened the mapping leaves an UNREPLIED conntrack entry that makes the later
outgoing flow use another port.  "drop"/"reject" model routers that filter
their WAN input (no such entry is kept).
"""

from __future__ import annotations

import atexit
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

__all__ = [
    "NetlabError", "Lab", "Node", "Router", "Home", "Host", "Proc",
    "netns_unavailable_reason", "skip_unless_netns", "require_netns",
    "NetlabTestCase", "main", "cleanup_stale", "find_tool", "SKIP_EXIT_CODE",
]

SKIP_EXIT_CODE = 77
STATE_DIR = "/run/netlab"
_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin")

PUBLIC_NET4 = ipaddress.ip_network("203.0.113.0/24")
PUBLIC_NET6 = ipaddress.ip_network("2001:db8:ffff::/64")
WAN_SUPERNET4 = ipaddress.ip_network("198.51.100.0/24")
WAN_SUPERNET6 = ipaddress.ip_network("2001:db8:fffe::/48")
LAN_SUPERNET4 = ipaddress.ip_network("10.99.0.0/16")
LAN_SUPERNET6 = ipaddress.ip_network("2001:db8::/48")
MAX_HOMES = 63
_LABEL_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")


class NetlabError(RuntimeError):
    """A command that builds or inspects the lab failed."""


# --------------------------------------------------------------------------
# tools and availability

def find_tool(name: str) -> str | None:
    """Absolute path of a tool, looking in PATH and the sbin directories."""
    path = shutil.which(name)
    if path:
        return path
    for d in _SBIN_DIRS:
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


_reason_cache: list = []


def netns_unavailable_reason() -> str | None:
    """None when namespaces, veth, bridges and nftables NAT can be used here;
    otherwise a short human-readable reason.  The result is cached."""
    if _reason_cache:
        return _reason_cache[0]
    reason = _probe_netns()
    _reason_cache.append(reason)
    return reason


def _probe_netns() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not running as root"
    ip, nft = find_tool("ip"), find_tool("nft")
    if not ip:
        return "'ip' (iproute2) not found"
    if not nft:
        return "'nft' (nftables) not found"
    ns = f"nlprobe{os.getpid()}{secrets.token_hex(2)}"
    ns2 = ns + "x"
    cmds = [
        [ip, "netns", "add", ns],
        [ip, "netns", "add", ns2],
        [ip, "-n", ns, "link", "add", "name", "va", "type", "veth", "peer", "name", "vb", "netns", ns2],
        [ip, "-n", ns, "link", "add", "name", "br0", "type", "bridge"],
        [ip, "netns", "exec", ns, nft,
         "add table ip t; add chain ip t p { type nat hook postrouting priority srcnat; }; "
         "add rule ip t p oifname \"va\" masquerade random"],
    ]
    try:
        for c in cmds:
            r = subprocess.run(c, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
            if r.returncode != 0:
                return f"cannot set up a network namespace ({' '.join(c[:4])}...: {r.stderr.strip()[:200]})"
    except (OSError, subprocess.SubprocessError) as e:
        return f"cannot set up a network namespace: {e}"
    finally:
        for n in (ns, ns2):
            subprocess.run([ip, "netns", "del", n], stdin=subprocess.DEVNULL, capture_output=True)
    return None


def skip_unless_netns():
    """Decorator for a TestCase class or method: skip (with the reason) unless
    network namespaces with nftables NAT are usable."""
    reason = netns_unavailable_reason()
    return unittest.skipIf(reason is not None, reason or "")


def require_netns() -> None:
    """Raise unittest.SkipTest (with the reason) unless namespaces are usable."""
    reason = netns_unavailable_reason()
    if reason is not None:
        raise unittest.SkipTest(reason)


def main(module: str | None = "__main__", argv: list | None = None, **kw) -> None:
    """unittest.main() with the project's skip convention: print "skipped: ..."
    and exit 77 when namespaces are unusable or every test was skipped."""
    reason = netns_unavailable_reason()
    if reason is not None:
        print(f"skipped: {reason}", flush=True)
        sys.exit(SKIP_EXIT_CODE)
    prog = unittest.main(module=module, argv=argv, exit=False, **kw)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    if res.testsRun and len(res.skipped) == res.testsRun:
        print("skipped: every test was skipped", flush=True)
        sys.exit(SKIP_EXIT_CODE)
    sys.exit(0)


# --------------------------------------------------------------------------
# stale-run reaping

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_netns_pids(ip: str, ns: str) -> None:
    """SIGKILL every process whose network namespace is ns (only namespaces
    this module made are ever passed here)."""
    for _ in range(5):
        r = subprocess.run([ip, "netns", "pids", ns], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        pids = [int(x) for x in r.stdout.split() if x.isdigit()]
        pids = [p for p in pids if p != os.getpid()]
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def cleanup_stale() -> list:
    """Remove namespaces (and their processes) left by netlab runs whose
    owning process is gone (e.g. killed with SIGKILL).  Returns their names."""
    ip = find_tool("ip")
    if not ip:
        return []
    removed = _reap_stale_probes(ip, _list_netns(ip))
    if not os.path.isdir(STATE_DIR):
        return removed
    for fn in os.listdir(STATE_DIR):
        if fn.endswith(".tmp"):
            continue
        path = os.path.join(STATE_DIR, fn)
        try:
            with open(path) as f:
                st = json.load(f)
        except (OSError, ValueError):
            continue
        if _pid_alive(int(st.get("pid", 0))):
            continue
        existing = set(_list_netns(ip))
        for ns in st.get("namespaces", []):
            if ns in existing:
                _kill_netns_pids(ip, ns)
                subprocess.run([ip, "netns", "del", ns], stdin=subprocess.DEVNULL, capture_output=True)
                removed.append(ns)
        ld = st.get("log_dir")
        if ld and os.path.basename(ld).startswith("netlab-") and os.path.dirname(ld) == tempfile.gettempdir():
            shutil.rmtree(ld, ignore_errors=True)
        try:
            os.unlink(path)
        except OSError:
            pass
    return removed


def _reap_stale_probes(ip: str, names: list) -> list:
    removed = []
    for ns in names:
        m = re.match(r"^nlprobe(\d+)[0-9a-f]{4}x?$", ns)
        if m and not _pid_alive(int(m.group(1))):
            subprocess.run([ip, "netns", "del", ns], stdin=subprocess.DEVNULL, capture_output=True)
            removed.append(ns)
    return removed


def _list_netns(ip: str) -> list:
    r = subprocess.run([ip, "netns", "list"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------
# processes

class Proc:
    """A long-running process started in a namespace (see Node.spawn)."""

    def __init__(self, lab: "Lab", node: "Node", argv: list, popen: subprocess.Popen, log_path: str | None):
        self.lab, self.node, self.argv, self.popen, self.log_path = lab, node, argv, popen, log_path
        self.pid = popen.pid

    # file objects when spawned with stdin/stdout=subprocess.PIPE
    @property
    def stdin(self):
        return self.popen.stdin

    @property
    def stdout(self):
        return self.popen.stdout

    def poll(self):
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 3.0) -> int | None:
        """SIGTERM the process group, wait up to timeout, then SIGKILL."""
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                try:
                    self.popen.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        # also end any leftovers of the group (children that ignored TERM)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for f in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if f:
                try:
                    f.close()
                except OSError:
                    pass
        if self in self.lab._procs:
            self.lab._procs.remove(self)
        return self.popen.returncode

    def log(self) -> str:
        """Contents of the log file (stdout+stderr) if it went to the lab's log dir."""
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern: str, timeout: float = 10.0) -> str:
        """Wait until the log file matches the regular expression pattern;
        returns the log.  Raises NetlabError on timeout or if the process ends."""
        end = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            text = self.log()
            if rx.search(text):
                return text
            if self.popen.poll() is not None:
                raise NetlabError(f"{self!r} exited (rc={self.popen.returncode}) before /{pattern}/: {text[-500:]}")
            if time.monotonic() > end:
                raise NetlabError(f"{self!r}: no /{pattern}/ within {timeout}s: {text[-500:]}")
            time.sleep(0.02)

    def __repr__(self):
        return f"<Proc pid={self.pid} ns={self.node.ns} argv={self.argv[:3]}>"


# --------------------------------------------------------------------------
# nodes

class Node:
    """A network namespace.  ns is the namespace name; ipv4/ipv6 the main
    address (None when absent)."""

    def __init__(self, lab: "Lab", label: str, ns: str):
        self.lab, self.label, self.ns = lab, label, ns
        self.ipv4: str | None = None
        self.ipv6: str | None = None

    def __repr__(self):
        return f"<{type(self).__name__} {self.label} ns={self.ns} ipv4={self.ipv4} ipv6={self.ipv6}>"

    def cmd(self, argv: list) -> list:
        """argv wrapped so that it runs inside this namespace."""
        return [self.lab.ip, "netns", "exec", self.ns] + [str(a) for a in argv]

    def run(self, argv: list, check: bool = True, timeout: float = 60, input: str | None = None,
            capture: bool = True) -> subprocess.CompletedProcess:
        """Run a command to completion in this namespace (text mode)."""
        full = self.cmd(argv)
        try:
            r = subprocess.run(full, input=input, stdin=None if input is not None else subprocess.DEVNULL,
                               capture_output=capture, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise NetlabError(f"[{self.ns}] timed out after {timeout}s: {' '.join(map(str, argv))}") from e
        if check and r.returncode != 0:
            raise NetlabError(f"[{self.ns}] {' '.join(map(str, argv))} -> rc={r.returncode}: "
                              f"{(r.stderr or '').strip()}")
        return r

    def spawn(self, argv: list, stdin=subprocess.DEVNULL, stdout=None, stderr=None,
              env: dict | None = None, cwd: str | None = None, text: bool = True,
              name: str | None = None) -> Proc:
        """Start a long-running process in this namespace.  Its PID is tracked
        and it is stopped by Lab.close().  By default stdout and stderr go to
        a log file in lab.log_dir (Proc.log()).  Pass subprocess.PIPE for
        stdin/stdout to talk to it."""
        log_path = None
        logf = None
        if stdout is None:
            name = name or os.path.basename(str(argv[0]))
            log_path = os.path.join(self.lab.log_dir, f"{self.label}-{name}-{len(self.lab._all_procs)}.log")
            logf = open(log_path, "w")
            stdout = logf
            if stderr is None:
                stderr = subprocess.STDOUT
        elif stderr is None:
            stderr = subprocess.DEVNULL if stdout is subprocess.PIPE else stdout
        try:
            popen = subprocess.Popen(self.cmd(argv), stdin=stdin, stdout=stdout, stderr=stderr,
                                     env=env, cwd=cwd, text=text, start_new_session=True,
                                     bufsize=1 if text else -1)
        finally:
            if logf:
                logf.close()
        p = Proc(self.lab, self, list(argv), popen, log_path)
        self.lab._procs.append(p)
        self.lab._all_procs.append(p)
        return p

    def udp_exchange(self, dst: str, port: int, payload: bytes = b"ping", src_port: int = 0,
                     timeout: float = 1.0, ttl: int | None = None, src: str | None = None):
        """Send one UDP datagram from this namespace (optionally from src_port,
        with an IP TTL / IPv6 hop limit) and wait up to timeout for one reply.
        Returns (reply_bytes, (ip, port)) or None."""
        r = self.run([_PY, "-c", _UDP_EXCHANGE, dst, port, payload.hex(), src_port, timeout, ttl or 0,
                      src or ""], timeout=timeout + 30)
        out = json.loads(r.stdout)
        if out is None:
            return None
        return bytes.fromhex(out[0]), (out[1], out[2])

    def spawn_udp_echo(self, port: int, bind: str = "::") -> "Proc":
        """A UDP server that answers each datagram with "<ip> <port>" of its
        observed source (like STUN), on a dual-stack socket by default."""
        p = self.spawn([_PY, "-c", _UDP_ECHO, bind, port], name=f"udpecho{port}")
        p.wait_log("ready", timeout=10)
        return p

    def sysctl(self, key: str, value) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        self.run(["sh", "-c", f"echo {value} > {path}"])

    def sysctl_get(self, key: str) -> str:
        path = "/proc/sys/" + key.replace(".", "/")
        return self.run(["cat", path]).stdout.strip()

    def nft(self, script: str) -> str:
        """Apply an nft script (several commands separated by newlines or ';')."""
        return self.run([self.lab.nft, "-f", "-"], input=script).stdout

    def add_counter(self, name: str, match: str, hook: str = "forward") -> None:
        """Named counter `name` on packets matching `match` (nft expression,
        e.g. 'iifname "wan" meta l4proto udp') at hook forward/input/output/
        prerouting/postrouting; table "inet netlab_cnt"."""
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ValueError("counter names: letters, digits, _")
        chain = f"cnt_{hook}"
        if chain not in getattr(self, "_cnt_chains", set()):
            self.nft(f"add table inet netlab_cnt\n"
                     f"add chain inet netlab_cnt {chain} {{ type filter hook {hook} priority -10; policy accept; }}\n")
            self._cnt_chains = getattr(self, "_cnt_chains", set()) | {chain}
        self.nft(f"add counter inet netlab_cnt {name}\n"
                 f"add rule inet netlab_cnt {chain} {match} counter name \"{name}\"\n")

    def counters(self, table: str = "netlab_cnt", family: str = "inet") -> dict:
        """All named counters of a table: {name: (packets, bytes)}."""
        r = self.run([self.lab.nft, "-j", "list", "counters", "table", family, table], check=False)
        if r.returncode != 0:
            return {}
        out = {}
        for item in json.loads(r.stdout).get("nftables", []):
            c = item.get("counter")
            if c:
                out[c["name"]] = (int(c["packets"]), int(c["bytes"]))
        return out

    def reset_counters(self, table: str = "netlab_cnt", family: str = "inet") -> None:
        self.run([self.lab.nft, "reset", "counters", "table", family, table], check=False)

    # conntrack is meaningful on routers but can be read anywhere
    def conntrack_list(self, proto: str | None = "udp", family: str | None = None) -> list:
        """Entries of this namespace's conntrack table, parsed.  family: "ipv4",
        "ipv6" or None for both.  Each entry is a dict: proto, timeout, state
        (tcp), orig {src,dst,sport,dport}, reply {...}, unreplied, assured, raw.
        Raises NetlabError without the `conntrack` tool."""
        tool = self.lab.conntrack
        if not tool:
            raise NetlabError("conntrack tool not installed (apt-get install conntrack)")
        out = []
        for fam in ([family] if family else ["ipv4", "ipv6"]):
            argv = [tool, "-L", "-f", fam] + (["-p", proto] if proto else [])
            r = self.run(argv, check=False)
            if r.returncode != 0:
                raise NetlabError(f"conntrack -L failed: {r.stderr.strip()}")
            out += [parse_conntrack_line(line) for line in r.stdout.splitlines() if line.strip()]
        return out

    def conntrack_flush(self) -> bool:
        """Flush this namespace's conntrack table (IPv4 and IPv6); False when
        the tool is missing."""
        if not self.lab.conntrack:
            return False
        for fam in ("ipv4", "ipv6"):
            self.run([self.lab.conntrack, "-F", "-f", fam], check=False)
        return True

    def set_udp_timeout(self, unreplied: int | None = None, stream: int | None = None) -> None:
        """net.netfilter.nf_conntrack_udp_timeout(_stream), per namespace."""
        if unreplied is not None:
            self.sysctl("net.netfilter.nf_conntrack_udp_timeout", int(unreplied))
        if stream is not None:
            self.sysctl("net.netfilter.nf_conntrack_udp_timeout_stream", int(stream))


def parse_conntrack_line(line: str) -> dict:
    toks = line.split()
    e: dict = {"raw": line, "proto": toks[0] if toks else "", "unreplied": "[UNREPLIED]" in toks,
               "assured": "[ASSURED]" in toks, "orig": {}, "reply": {}, "timeout": None, "state": None}
    if len(toks) > 2 and toks[2].isdigit():
        e["timeout"] = int(toks[2])
    side = "orig"
    for t in toks[3:]:
        if "=" not in t:
            if t.isupper() and not t.startswith("["):
                e["state"] = t
            continue
        k, v = t.split("=", 1)
        if k in ("src", "dst", "sport", "dport"):
            d = e[side]
            if k in d:               # second tuple begins
                side = "reply"
                d = e[side]
            d[k] = int(v) if k in ("sport", "dport") else v
    return e


_PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else (sys.executable or "python3")

_UDP_EXCHANGE = r"""
import json, socket, sys
dst, port, payload, sport, timeout, ttl, src = sys.argv[1:8]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), int(sport)))
if int(ttl):
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(ttl))
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(ttl))
s.settimeout(float(timeout))
s.sendto(bytes.fromhex(payload), (dst, int(port)))
try:
    d, a = s.recvfrom(65535)
    print(json.dumps([d.hex(), a[0], a[1]]))
except (socket.timeout, OSError):
    print("null")
"""

_UDP_ECHO = r"""
import socket, sys
bind, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET, socket.SOCK_DGRAM)
if ":" in bind:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind((bind, port))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(65535)
    ip = a[0][7:] if a[0].startswith("::ffff:") else a[0]
    s.sendto(f"{ip} {a[1]}".encode(), a)
"""


class Host(Node):
    """An end host (home host or public host)."""

    def __init__(self, lab, label, ns, home: "Home | None" = None):
        super().__init__(lab, label, ns)
        self.home = home
        self.gateway4: str | None = None
        self.gateway6: str | None = None


class Router(Node):
    """A router namespace (the core, or a home router)."""


class Home(Router):
    """A home network: the home router namespace plus its hosts.
    wan_ipv4 is the router's public address (what peers see after NAT)."""

    def __init__(self, lab, label, ns, index: int, nat: str, input_policy: str, ipv6: bool, firewall6: bool):
        super().__init__(lab, label, ns)
        self.index, self.nat, self.input_policy = index, nat, input_policy
        self.has_ipv6, self.firewall6 = ipv6, firewall6
        self.hosts: list = []
        base = WAN_SUPERNET4.network_address + 4 * index
        self.core_wan_ipv4 = str(base + 1)
        self.wan_ipv4 = str(base + 2)
        self.lan_net4 = ipaddress.ip_network(f"10.99.{index}.0/24")
        self.lan_ipv4 = str(self.lan_net4.network_address + 1)
        self.wan_net6 = ipaddress.ip_network(f"2001:db8:fffe:{index:x}::/64")
        self.core_wan_ipv6 = str(self.wan_net6.network_address + 1)
        self.wan_ipv6 = str(self.wan_net6.network_address + 2)
        self.lan_net6 = ipaddress.ip_network(f"2001:db8:0:{index:x}::/64")
        self.lan_ipv6 = str(self.lan_net6.network_address + 1)
        self.ipv4 = self.wan_ipv4
        self.ipv6 = self.wan_ipv6 if ipv6 else None
        self.core_ifname = f"h{index}"

    def add_host(self, label: str | None = None) -> Host:
        """A host on this home's LAN bridge (default routes via the router)."""
        return self.lab._add_home_host(self, label)

    def ruleset(self) -> str:
        masq = "masquerade random" if self.nat == "random" else "masquerade"
        lines = [
            "table ip netlab_nat {",
            "  chain postrouting { type nat hook postrouting priority srcnat; policy accept;",
            f"    oifname \"wan\" {masq}",
            "  }",
            "}",
            "table inet netlab_fw {",
            "  chain forward_filter { type filter hook forward priority filter; policy drop;",
            "    ct state established,related accept",
            "    iifname \"lan\" accept",
        ]
        if self.has_ipv6 and not self.firewall6:
            lines.append("    meta nfproto ipv6 accept")
        lines.append("  }")
        if self.input_policy in ("drop", "reject"):
            lines += [
                "  chain input_filter { type filter hook input priority filter; policy drop;",
                "    ct state established,related accept",
                "    iifname { \"lo\", \"lan\" } accept",
                "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
                "nd-router-advert } accept",
            ]
            if self.input_policy == "reject":
                lines.append("    iifname \"wan\" reject")
            lines.append("  }")
        lines.append("}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# the lab

_live_labs: list = []
_atexit_done = [False]
_prev_handlers: dict = {}


def _close_all_labs():
    for lab in list(_live_labs):
        try:
            lab.close()
        except Exception:
            pass


def _on_signal(signum, frame):
    """SIGTERM/SIGHUP: remove every live lab, then behave as before netlab
    (call the previous Python handler, or die by the signal)."""
    _close_all_labs()
    prev = _prev_handlers.get(signum)
    if callable(prev):
        prev(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_signal_handlers():
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if sig in _prev_handlers:
            continue
        try:
            cur = signal.getsignal(sig)
            if cur is signal.SIG_IGN or cur is None:
                continue
            _prev_handlers[sig] = cur
            signal.signal(sig, _on_signal)
        except (ValueError, OSError):
            pass


class Lab:
    """A topology of namespaces; a context manager.  close() (also run on
    exceptions, at interpreter exit and on SIGTERM/SIGHUP when
    handle_signals) stops every spawned process, kills whatever else still
    runs in the lab's namespaces and deletes them.

    run_id: namespace-name prefix, random by default ("nl" + 4 chars), so
    parallel runs never collide.  log_dir: where spawned processes log
    (a fresh temporary directory by default; kept when keep_logs)."""

    def __init__(self, run_id: str | None = None, log_dir: str | None = None, keep_logs: bool = False,
                 handle_signals: bool = True, reap_stale: bool = True, check_host_overlap: bool = True):
        reason = netns_unavailable_reason()
        if reason:
            raise NetlabError(f"network namespaces unavailable: {reason}")
        self.ip = find_tool("ip")
        self.nft = find_tool("nft")
        self.conntrack = find_tool("conntrack")
        if check_host_overlap:
            self._check_host_overlap()
        if reap_stale:
            cleanup_stale()
        self._state_path = None
        self.run_id = self._claim_run_id(run_id)
        self.keep_logs = keep_logs
        self._own_log_dir = log_dir is None
        self.log_dir = log_dir or tempfile.mkdtemp(prefix=f"netlab-{self.run_id}-")
        os.makedirs(self.log_dir, exist_ok=True)
        self.namespaces: list = []
        self._procs: list = []
        self._all_procs: list = []
        self.homes: dict = {}
        self.public_hosts: list = []
        self._closed = False
        _live_labs.append(self)
        if not _atexit_done[0]:
            atexit.register(_close_all_labs)
            _atexit_done[0] = True
        if handle_signals:
            _install_signal_handlers()
        try:
            self._build_core()
        except BaseException:
            self.close()
            raise

    # -- context manager / cleanup
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        """Stop all processes and delete all namespaces.  Idempotent and
        re-entrant: a signal arriving in the middle of close() finishes the
        remaining work itself."""
        self._closed = True
        for p in list(self._procs):
            try:
                p.stop(timeout=2)
            except Exception:
                pass
        for ns in list(reversed(self.namespaces)):
            try:
                _kill_netns_pids(self.ip, ns)
            except Exception:
                pass
        for ns in list(reversed(self.namespaces)):
            subprocess.run([self.ip, "netns", "del", ns], stdin=subprocess.DEVNULL, capture_output=True)
            try:
                self.namespaces.remove(ns)
            except ValueError:
                pass
        if self._state_path:
            try:
                os.unlink(self._state_path)
            except OSError:
                pass
        if self._own_log_dir and not self.keep_logs:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        if self in _live_labs:
            _live_labs.remove(self)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- internals
    def _check_host_overlap(self):
        r = subprocess.run([self.ip, "-j", "addr", "show"], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True)
        try:
            data = json.loads(r.stdout or "[]")
        except ValueError:
            return
        ours = [PUBLIC_NET4, PUBLIC_NET6, WAN_SUPERNET4, WAN_SUPERNET6, LAN_SUPERNET4, LAN_SUPERNET6]
        for link in data:
            for a in link.get("addr_info", []):
                try:
                    net = ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}").network
                except (KeyError, ValueError):
                    continue
                for o in ours:
                    if o.version == net.version and o.overlaps(net):
                        raise NetlabError(f"host address {a['local']} overlaps lab range {o}")

    def _claim_run_id(self, wanted: str | None) -> str:
        """A run id no other live run uses: the state file is created with
        O_EXCL and no namespace may already carry the prefix."""
        existing = _list_netns(self.ip)
        for _ in range(50):
            rid = wanted or ("nl" + "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789")
                                            for _ in range(4)))
            if any(n.startswith(rid + "-") for n in existing):
                if wanted:
                    raise NetlabError(f"namespaces with prefix {rid}- already exist")
                continue
            try:
                os.makedirs(STATE_DIR, exist_ok=True)
                fd = os.open(os.path.join(STATE_DIR, rid), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if wanted:
                    raise NetlabError(f"run id {rid} in use")
                continue
            except OSError:
                return rid            # no state dir: still unique enough, stale reaping disabled
            with os.fdopen(fd, "w") as f:
                json.dump({"pid": os.getpid(), "namespaces": []}, f)
            self._state_path = os.path.join(STATE_DIR, rid)
            return rid
        raise NetlabError("could not pick a free run id")

    def _save_state(self):
        if not self._state_path:
            return
        try:
            tmp = self._state_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"pid": os.getpid(), "namespaces": self.namespaces,
                           "log_dir": self.log_dir if self._own_log_dir and not self.keep_logs else None}, f)
            os.replace(tmp, self._state_path)
        except OSError:
            pass

    def _ipc(self, *argv):
        r = subprocess.run([self.ip] + [str(a) for a in argv], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise NetlabError(f"ip {' '.join(map(str, argv))}: {r.stderr.strip()}")
        return r.stdout

    def _new_ns(self, suffix: str, cls, *args, **kw):
        if self._closed:
            raise NetlabError("lab is closed")
        ns = f"{self.run_id}-{suffix}"
        self._ipc("netns", "add", ns)
        self.namespaces.append(ns)
        self._save_state()
        node = cls(self, suffix, ns, *args, **kw)
        script = ("echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; "
                  "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad; "
                  "for f in /proc/sys/net/bridge/bridge-nf-call-*; do [ -e $f ] && echo 0 > $f; done; "
                  "ip link set lo up")
        node.run(["sh", "-c", script])
        return node

    def _build_core(self):
        self.core = self._new_ns("core", Router)
        c = self.core
        c.sysctl("net.ipv4.ip_forward", 1)
        c.sysctl("net.ipv6.conf.all.forwarding", 1)
        self._ipc("-n", c.ns, "link", "add", "name", "pub", "type", "bridge")
        self._ipc("-n", c.ns, "addr", "add", f"{PUBLIC_NET4.network_address + 1}/24", "dev", "pub")
        self._ipc("-n", c.ns, "addr", "add", f"{PUBLIC_NET6.network_address + 1}/64", "dev", "pub", "nodad")
        self._ipc("-n", c.ns, "link", "set", "pub", "up")
        c.ipv4 = str(PUBLIC_NET4.network_address + 1)
        c.ipv6 = str(PUBLIC_NET6.network_address + 1)
        c.nft("add table inet netlab\n"
              "add chain inet netlab count_forward { type filter hook forward priority filter; policy accept; }\n")

    def _core_counter(self, name: str, iif: str, oif: str):
        self.core.nft(f"add counter inet netlab {name}\n"
                      f"add rule inet netlab count_forward iifname \"{iif}\" oifname \"{oif}\" "
                      f"meta l4proto udp counter name \"{name}\"\n")

    # -- topology
    def add_public_host(self, label: str | None = None, ipv6: bool = True) -> Host:
        """A server host on the public segment (203.0.113.10+, 2001:db8:ffff::10+)."""
        k = len(self.public_hosts)
        label = label or f"s{k}"
        self._check_label(label)
        h = self._new_ns(label, Host)
        self._ipc("-n", h.ns, "link", "add", "name", "eth0", "type", "veth", "peer", "name", f"p{k}",
                  "netns", self.core.ns)
        self._ipc("-n", self.core.ns, "link", "set", f"p{k}", "master", "pub", "up")
        h.ipv4 = str(PUBLIC_NET4.network_address + 10 + k)
        self._ipc("-n", h.ns, "addr", "add", f"{h.ipv4}/24", "dev", "eth0")
        self._ipc("-n", h.ns, "link", "set", "eth0", "up")
        h.gateway4 = self.core.ipv4
        self._ipc("-n", h.ns, "route", "add", "default", "via", h.gateway4)
        if ipv6:
            h.ipv6 = str(PUBLIC_NET6.network_address + 0x10 + k)
            self._ipc("-n", h.ns, "addr", "add", f"{h.ipv6}/64", "dev", "eth0", "nodad")
            h.gateway6 = self.core.ipv6
            self._ipc("-n", h.ns, "-6", "route", "add", "default", "via", h.gateway6)
        self.public_hosts.append(h)
        return h

    def add_home(self, label: str | None = None, nat: str = "masquerade", input_policy: str = "accept",
                 ipv6: bool = False, firewall6: bool = True) -> Home:
        """A home network with its router.

        nat: "masquerade" (keeps the source port when free: endpoint-
             independent mapping) or "random" (masquerade random: symmetric).
        input_policy: "accept" (no input chain: packets to the router itself
             reach its stack, which answers ICMP port unreachable), "drop"
             or "reject" (input chain, policy drop, accepting established/
             related and the LAN; "reject" answers what comes on the WAN).
        ipv6: hosts also get global-style IPv6 addresses, routed, no NAT.
        firewall6: with ipv6, the forward chain drops unsolicited inbound
             IPv6 (stateful firewall); False lets all IPv6 through."""
        if nat not in ("masquerade", "random"):
            raise ValueError("nat must be 'masquerade' or 'random'")
        if input_policy not in ("accept", "drop", "reject"):
            raise ValueError("input_policy must be 'accept', 'drop' or 'reject'")
        index = len(self.homes) + 1
        if index > MAX_HOMES:
            raise NetlabError("too many homes")
        label = label or f"h{index}"
        self._check_label(label)
        if label in self.homes:
            raise ValueError(f"home {label!r} exists")
        r = self._new_ns(label, Home, index, nat, input_policy, ipv6, firewall6)
        c = self.core
        r.sysctl("net.ipv4.ip_forward", 1)
        r.sysctl("net.ipv6.conf.all.forwarding", 1)
        self._ipc("-n", r.ns, "link", "add", "name", "wan", "type", "veth", "peer", "name", r.core_ifname,
                  "netns", c.ns)
        self._ipc("-n", r.ns, "addr", "add", f"{r.wan_ipv4}/30", "dev", "wan")
        self._ipc("-n", c.ns, "addr", "add", f"{r.core_wan_ipv4}/30", "dev", r.core_ifname)
        self._ipc("-n", r.ns, "link", "set", "wan", "up")
        self._ipc("-n", c.ns, "link", "set", r.core_ifname, "up")
        self._ipc("-n", r.ns, "route", "add", "default", "via", r.core_wan_ipv4)
        self._ipc("-n", r.ns, "link", "add", "name", "lan", "type", "bridge")
        self._ipc("-n", r.ns, "addr", "add", f"{r.lan_ipv4}/24", "dev", "lan")
        self._ipc("-n", r.ns, "link", "set", "lan", "up")
        if ipv6:
            self._ipc("-n", r.ns, "addr", "add", f"{r.wan_ipv6}/64", "dev", "wan", "nodad")
            self._ipc("-n", c.ns, "addr", "add", f"{r.core_wan_ipv6}/64", "dev", r.core_ifname, "nodad")
            self._ipc("-n", r.ns, "-6", "route", "add", "default", "via", r.core_wan_ipv6)
            self._ipc("-n", r.ns, "addr", "add", f"{r.lan_ipv6}/64", "dev", "lan", "nodad")
            self._ipc("-n", c.ns, "-6", "route", "add", str(r.lan_net6), "via", r.wan_ipv6)
        r.nft(r.ruleset())
        # core counters: UDP forwarded between this home and every other one, and the public segment
        for other in self.homes.values():
            self._core_counter(f"udp_{other.label}_{label}", other.core_ifname, r.core_ifname)
            self._core_counter(f"udp_{label}_{other.label}", r.core_ifname, other.core_ifname)
        self._core_counter(f"udp_{label}_pub", r.core_ifname, "pub")
        self._core_counter(f"udp_pub_{label}", "pub", r.core_ifname)
        self.homes[label] = r
        return r

    def _add_home_host(self, home: Home, label: str | None) -> Host:
        k = len(home.hosts)
        if k >= 200:
            raise NetlabError("too many hosts in one home")
        if label is None:
            label = "abcdefghijklmnopqrstuvwxyz"[k] if k < 26 else f"x{k}"
        full = f"{home.label}{label}"
        self._check_label(full, maxlen=12)
        h = self._new_ns(full, Host, home)
        port = f"l{k}"
        self._ipc("-n", h.ns, "link", "add", "name", "eth0", "type", "veth", "peer", "name", port, "netns", home.ns)
        self._ipc("-n", home.ns, "link", "set", port, "master", "lan", "up")
        h.ipv4 = str(home.lan_net4.network_address + 10 + k)
        self._ipc("-n", h.ns, "addr", "add", f"{h.ipv4}/24", "dev", "eth0")
        self._ipc("-n", h.ns, "link", "set", "eth0", "up")
        h.gateway4 = home.lan_ipv4
        self._ipc("-n", h.ns, "route", "add", "default", "via", h.gateway4)
        if home.has_ipv6:
            h.ipv6 = str(home.lan_net6.network_address + 0x10 + k)
            self._ipc("-n", h.ns, "addr", "add", f"{h.ipv6}/64", "dev", "eth0", "nodad")
            h.gateway6 = home.lan_ipv6
            self._ipc("-n", h.ns, "-6", "route", "add", "default", "via", h.gateway6)
        h.label = full
        home.hosts.append(h)
        return h

    @staticmethod
    def _check_label(label: str, maxlen: int = 8):
        if not re.match(r"^[a-z][a-z0-9]*$", label) or len(label) > maxlen:
            raise ValueError(f"label {label!r}: lowercase letter then letters/digits, at most {maxlen}")

    # -- helpers over the whole lab
    def home(self, label: str) -> Home:
        return self.homes[label]

    def spawn(self, node: Node, argv: list, **kw) -> Proc:
        return node.spawn(argv, **kw)

    def core_counters(self) -> dict:
        """{name: (packets, bytes)} of the core's UDP counters: udp_A_B (home A
        WAN -> home B WAN), udp_A_pub, udp_pub_A."""
        return self.core.counters(table="netlab", family="inet")

    def udp_packets(self, src_home: str, dst_home: str) -> int:
        """UDP packets the core forwarded from home src's WAN link to home dst's
        WAN link ("pub" for the public segment)."""
        name = f"udp_{src_home}_{dst_home}"
        c = self.core_counters()
        if name not in c:
            raise KeyError(name)
        return c[name][0]

    def reset_core_counters(self) -> None:
        self.core.reset_counters(table="netlab", family="inet")

    def flush_conntrack(self) -> bool:
        """Flush conntrack in every home router; False if the tool is missing."""
        ok = True
        for h in self.homes.values():
            ok = h.conntrack_flush() and ok
        return ok

    def stop_all(self) -> None:
        for p in list(self._procs):
            p.stop()


class NetlabTestCase(unittest.TestCase):
    """TestCase with a fresh Lab per test in self.lab (skipped when unusable)."""

    lab_kwargs: dict = {}

    def setUp(self):
        require_netns()
        self.lab = Lab(**self.lab_kwargs)
        self.addCleanup(self.lab.close)
