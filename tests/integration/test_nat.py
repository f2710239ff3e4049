#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""sealchat across real NATs (docs/protocol.md, sections 8 to 10).

Each test builds a topology of its own with netlab: network namespaces,
veth pairs, a core router, home routers with nftables masquerade and a
forward chain that drops what nobody inside asked for.  The real sealchatd
runs on the public host, listening on its public address; real sealchat
clients run in script mode on hosts behind the home routers.  All traffic
stays between the namespaces' own addresses.

What each test asserts about the path, it asserts twice: with the clients'
own `peers` records (direct or relay, and where to), and with packet
counters on the routers.  The core counts the UDP it forwards between two
homes (netlab's udp_A_B: it never passes the daemon) and between a home and
the public segment; the tests add counters of message-sized datagrams only
(a message's text here is TEXT_LEN bytes, so its datagram is longer than
any PROBE, PROBE_ACK, ACK or REGISTER), so that they see messages and not
the checks that look for a path.

Needs root, iproute2 and nftables (conntrack to watch a mapping expire):
elsewhere every test says skipped and the module exits 77.
"""

import datetime
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netlab  # noqa: E402
from sealchat_harness import (  # noqa: E402
    Client, Daemon, KEEP, SEALCHATD, SKIPPED, WAIT, main, run_script,
    write_yaml)

PORT = 10000            # the daemon's TCP and UDP port, in its namespace
PW = "pw-nat"
TEXT_LEN = 500          # a message's text, in bytes
# A MSG datagram is 42 bytes and its text: with TEXT_LEN, past this UDP
# length (8 bytes of header included); every other datagram is shorter.
MSG_UDP_LEN = 300
TEST_TIMEOUT = 90       # seconds a test may take
PY = "/usr/bin/python3"

# The relay abuse tests' forged datagrams: lengths nothing else has.
FORGED_LEN = 777
FLOOD_LEN = 600

# A raw member of the protocol, run in a namespace: it signs up, registers
# its UDP endpoint, and then, one command a line on its standard input,
# asks for pair keys and sends what a real client never would.
RAW_PEER = r"""
import os, socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
import sealchat_harness as H

host, port, pub, user, pw = sys.argv[2:7]
raw = H.RawClient(int(port), pub, host=host)
raw.login(H.MSG_SIGN, user, pw)
raw.open_udp(register=True)
server = raw.server_udp
print("registered", flush=True)


def forged(pair_id, counter, size):
    return (b"\x01" + struct.pack(">QQ", pair_id, counter) +
            os.urandom(size - 17))


for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    if w[0] == "pair":
        pair_id = raw.pair(w[1])[0]
        print("paired %016x" % pair_id, flush=True)
    elif w[0] == "forge":
        # From the registered endpoint, then from a socket of its own.
        pair_id, n, size = int(w[1], 16), int(w[2]), int(w[3])
        other = socket.socket(raw.udp.family, socket.SOCK_DGRAM)
        for s in (raw.udp, other):
            for i in range(n):
                s.sendto(forged(pair_id, 1000000 + i, size), server)
                if i % 10 == 9:
                    time.sleep(0.01)
        other.close()
        print("forged %d" % (2 * n), flush=True)
    elif w[0] == "flood":
        # n datagrams at rate a second, paced in batches of 10.
        pair_id, n, rate, size = (int(w[1], 16), int(w[2]), int(w[3]),
                                  int(w[4]))
        t0 = time.monotonic()
        for i in range(n):
            raw.udp.sendto(forged(pair_id, 2000000 + i, size), server)
            if i % 10 == 9:
                ahead = t0 + (i + 1) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        print("flooded %d %.3f" % (n, time.monotonic() - t0), flush=True)
    elif w[0] == "quit":
        break
raw.close()
"""


def text(tag):
    """A message of TEXT_LEN bytes that starts with tag."""
    return (tag + " ").ljust(TEXT_LEN, "x")


def short(recs):
    """Records with their long fields cut, for a failure's message."""
    return [tuple(f if len(f) <= 40 else f[:36] + "..." for f in r)
            for r in recs]


def tail(s, lines=40):
    return "\n".join(s.splitlines()[-lines:])


def sanitizer_report(s):
    """Whether a program's output holds a sanitizer's report."""
    return "AddressSanitizer" in s or "runtime error:" in s or \
        "LeakSanitizer" in s


class LabDaemon:
    """sealchatd on a lab host, listening on one of its addresses, in a
    temporary folder of its own (configuration, keys, database, log)."""

    def __init__(self, host, address, **conf):
        self.host = host
        self.address = address
        # The harness's settings: the limits per address out of the way,
        # since the clients of one home share its NAT's address.
        self.conf = dict(Daemon.SETTINGS)
        self.conf.update(conf)
        self.dir = tempfile.mkdtemp(prefix="sealchat-nat-")
        self.proc = None
        self.logf = None
        self.status = None

    @property
    def log_path(self):
        return os.path.join(self.dir, "sealchatd.log")

    def start(self):
        path = os.path.join(self.dir, "sealchatd.yaml")
        items = {"server_address": '"%s"' % self.address,
                 "server_port": PORT,
                 "server_public_key": "server.pub",
                 "server_private_key": "server.key",
                 "data_base": "sealchat.db"}
        items.update(self.conf)
        write_yaml(path, items)
        self.logf = open(self.log_path, "wb")
        self.proc = self.host.spawn([os.path.abspath(SEALCHATD), "-c", path],
                                    cwd=self.dir,
                                    stdout=self.logf, name="sealchatd")
        deadline = time.monotonic() + WAIT
        while "listening address=" not in self.log():
            if not self.proc.alive() or time.monotonic() > deadline:
                raise AssertionError("sealchatd did not start: %s"
                                     % tail(self.log()))
            time.sleep(0.02)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def client_conf(self, name, **extra):
        """A client configuration that pins this daemon's key."""
        path = os.path.join(self.dir, "%s.yaml" % name)
        items = {"server_address": '"%s"' % self.address,
                 "server_port": PORT,
                 "server_public_key": "server.pub",
                 "connect_timeout": 5,
                 "reply_timeout": 10}
        items.update(extra)
        write_yaml(path, items)
        return path

    def pair_id(self, a, b):
        """The pair_id the daemon gave users a and b (from its log)."""
        m = re.search(r"pair: new sid=\d+ user=(%s|%s) peer=(%s|%s) "
                      r"pair_id=([0-9a-f]{16})" % (a, b, a, b), self.log())
        assert m and m.group(1) != m.group(2), tail(self.log())
        return int(m.group(3), 16)

    def stop(self):
        """SIGTERM; the exit status (None when it had to be killed)."""
        if self.proc is not None and self.status is None:
            self.proc.signal(signal.SIGTERM)
            try:
                self.status = self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.stop(timeout=1)
            self.proc.stop()
        if self.logf is not None:
            self.logf.close()
            self.logf = None
        return self.status

    def totals(self):
        """The UDP fates of the daemon's last totals line, by name."""
        lines = [ln for ln in self.log().splitlines() if "udp: totals" in ln]
        if not lines:
            return {}
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}

    def cleanup(self):
        status = self.stop()
        if KEEP or status != 0:
            print("daemon folder kept: %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


@netlab.skip_unless_netns()
class NatTest(unittest.TestCase):
    """One topology per test: a public host "srv" with the daemon, homes
    behind routers, and users on their hosts."""

    def setUp(self):
        self.lab = netlab.Lab()
        self.addCleanup(self.lab.close)
        self.srv = self.lab.add_public_host("srv")
        self.d = None
        self.clients = []
        self.sent = []          # (from, to, text) of every message
        self.addCleanup(self._kill_clients)

    def _kill_clients(self):
        for c in self.clients:
            c.finish()

    # --- the daemon, users, records ---

    def start_daemon(self, ipv6=False, **conf):
        self.d = LabDaemon(self.srv, self.srv.ipv6 if ipv6 else
                           self.srv.ipv4, **conf)
        self.addCleanup(self.d.cleanup)
        self.d.start()
        return self.d

    def diag(self):
        """The ends of the logs, for a failure's message."""
        out = ["--- sealchatd:", tail(self.d.log() if self.d else "", 30)]
        for c in self.clients:
            out += ["--- %s:" % c.user, tail(c.stderr(), 30)]
        return "\n".join(out)

    def login(self, host, user, **conf):
        """A user signed up, then logged in on host by a script-mode client
        that stays (--listen), with a debug log on its standard error."""
        path = self.d.client_conf(user, **conf)
        wrap = host.cmd([])
        rc, recs, err = run_script(path, "sign %s %s\n" % (user, PW),
                                   wrap=wrap)
        self.assertEqual((rc, recs[:1]), (0, [("ok", "sign", user)]), err)
        c = Client(path, args=("--listen",), debug=True, wrap=wrap)
        c.user = user
        self.clients.append(c)
        c.send("auth %s %s" % (user, PW))
        self.expect(c, [("ok", "auth", user)])
        rec = self.next(c)
        self.assertEqual(rec[0], "users", rec)
        return c

    def next(self, c, timeout=WAIT):
        """c's next record; a failure shows the logs' ends."""
        try:
            rec = c.q.get(timeout=timeout)
        except Exception:
            self.fail("%s: no record within %.1f s; seen %r\n%s"
                      % (c.user, timeout, short(c.seen[-10:]), self.diag()))
        if rec is None:
            c.q.put(None)
            self.fail("%s: output ended; seen %r\n%s"
                      % (c.user, short(c.seen[-10:]), self.diag()))
        c.seen.append(rec)
        if rec[0] == "error":
            self.fail("%s: %r\n%s" % (c.user, short([rec]), self.diag()))
        return rec

    def expect(self, c, wanted, timeout=WAIT):
        """Reads c's records until each of wanted (a list, repeats
        counted) has come, whatever comes between."""
        want = list(wanted)
        deadline = time.monotonic() + timeout
        while want:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("%s never saw %r; seen %r\n%s"
                          % (c.user, short(want), short(c.seen[-10:]),
                             self.diag()))
            rec = self.next(c, left)
            if rec in want:
                want.remove(rec)

    def converse(self, src, dst, tag, n=1, timeout=WAIT):
        """src sends dst n messages: dst shows each, src hears each
        delivered, within timeout."""
        texts = [text("%s-%d" % (tag, i)) for i in range(n)]
        for t in texts:
            src.send("send %s %s" % (dst.user, t))
            self.sent.append((src, dst, t))
        self.expect(dst, [("msg", src.user, t) for t in texts], timeout)
        self.expect(src, [("delivered", dst.user)] * n, timeout)

    def path(self, c, peer):
        """c's `peers` record for peer: (peer, USER, PATH, ADDRESS, RTT)."""
        c.send("peers")
        while True:
            rec = self.next(c)
            if rec[0] == "peer" and rec[1] == peer.user:
                return rec

    def wait_path(self, c, peer, want, timeout=20):
        """c's record for peer once its path is want (polled)."""
        deadline = time.monotonic() + timeout
        while True:
            rec = self.path(c, peer)
            if rec[2] == want:
                return rec
            if time.monotonic() > deadline:
                self.fail("%s: the path to %s is %r, not %s\n%s"
                          % (c.user, peer.user, rec, want, self.diag()))
            time.sleep(0.2)

    def finish(self):
        """Every client logs out (SIGTERM) and exits 0, every message was
        shown once, the daemon exits 0 on SIGTERM; nothing a sanitizer
        would report.  The daemon's UDP totals."""
        for c in self.clients:
            c.quiet(0.3)
            self.assertEqual([r for r in c.seen if r[0] == "error"], [])
            for src, dst, t in self.sent:
                if dst is c:
                    self.assertEqual(c.seen.count(("msg", src.user, t)), 1,
                                     "%s: %s... shown %d times"
                                     % (c.user, t[:20],
                                        c.seen.count(("msg", src.user, t))))
        for c in self.clients:
            if c.running():
                c.proc.send_signal(signal.SIGTERM)
            rc = c.wait(WAIT)
            self.assertFalse(sanitizer_report(c.stderr()), tail(c.stderr()))
            self.assertEqual(rc, 0, "%s: %s" % (c.user, tail(c.stderr())))
        status = self.d.stop()
        log = self.d.log()
        self.assertFalse(sanitizer_report(log), tail(log))
        self.assertEqual(status, 0, tail(log))
        return self.d.totals()

    # --- counters ---

    def count_messages(self):
        """Core counters of message-sized UDP datagrams, msg_X_Y for
        every two of the homes and the public segment ("pub")."""
        ends = {h.label: h.core_ifname for h in self.lab.homes.values()}
        ends["pub"] = "pub"
        for x, ix in ends.items():
            for y, iy in ends.items():
                if x != y:
                    self.lab.core.add_counter(
                        "msg_%s_%s" % (x, y), 'iifname "%s" oifname "%s" '
                        'udp length > %d' % (ix, iy, MSG_UDP_LEN))

    def counters(self):
        """{name: packets} of netlab's core counters and ours."""
        c = {k: v[0] for k, v in self.lab.core_counters().items()}
        c.update({k: v[0] for k, v in self.lab.core.counters().items()})
        return c

    def reset_counters(self):
        self.lab.reset_core_counters()
        self.lab.core.reset_counters()

    @staticmethod
    def rounds(c):
        """The times (seconds since the epoch) at which c began its
        rounds of checks, from its debug log."""
        out = []
        for ln in list(c.err):
            if "path: round peer=" in ln:
                t = datetime.datetime.strptime(ln.split(" ", 1)[0],
                                               "%Y-%m-%dT%H:%M:%S.%fZ")
                out.append(t.replace(tzinfo=datetime.timezone.utc)
                           .timestamp())
        return out

    def settle(self, a, b):
        """Waits until no round of checks runs in a or b: a round lasts
        direct_timeout (1 s here) from the last one begun."""
        deadline = time.monotonic() + 20
        while True:
            last = max(self.rounds(a) + self.rounds(b) + [0.0])
            left = last + 1.2 - time.time()
            if left <= 0:
                return
            self.assertLess(time.monotonic(), deadline, self.diag())
            time.sleep(min(left, 0.5))

    def window(self, a, b, exchange, tries=3):
        """The core's counts over exchange() between a and b alone.  A
        round of checks sends PROBEs by design, between the homes and
        through the relay (on a new path, on CANDIDATES; a relayed pair
        tries a direct path again after 5 s, then 10, 20...): the window
        opens when none runs, and is taken again when one began in it."""
        for _ in range(tries):
            self.settle(a, b)
            before = (len(self.rounds(a)), len(self.rounds(b)))
            self.reset_counters()
            exchange()
            counts = self.counters()
            # A client logs a round before the records that follow it;
            # once these records are read, its log has come too, but
            # through another pipe: a moment for its reader.
            self.path(a, b)
            self.path(b, a)
            time.sleep(0.2)
            if (len(self.rounds(a)), len(self.rounds(b))) == before:
                return counts
        self.fail("a round of checks ran in each of %d windows\n%s"
                  % (tries, self.diag()))

    # --- the tests ---

    def direct_between_homes(self, input_policy):
        """Two users behind two port-keeping NATs whose routers keep no
        door open: a direct path, both ways, packets home to home."""
        A = self.lab.add_home("a", input_policy=input_policy)
        B = self.lab.add_home("b", input_policy=input_policy)
        a1, b1 = A.add_host(), B.add_host()
        self.count_messages()
        self.start_daemon()
        # No keepalive within the test (udp_keepalive), and time for a
        # busy machine to answer (retry_interval_ms): a late ACK would
        # rightly count as a lost path, but is not what is measured here.
        conf = {"udp_keepalive": 120, "retry_interval_ms": 2000}
        alice = self.login(a1, "alice", **conf)
        bob = self.login(b1, "bob", **conf)
        self.converse(alice, bob, "a2b")
        self.converse(bob, alice, "b2a")
        pa = self.wait_path(alice, bob, "direct")
        pb = self.wait_path(bob, alice, "direct")
        # Where the other's NAT maps its socket: the router's address.
        self.assertTrue(pa[3].startswith(B.wan_ipv4 + ":"), pa)
        self.assertTrue(pb[3].startswith(A.wan_ipv4 + ":"), pb)
        self.assertTrue(pa[4].isdigit() and pb[4].isdigit(), (pa, pb))

        def exchange():
            self.converse(alice, bob, "a2b-counted", 3)
            self.converse(bob, alice, "b2a-counted", 3)
        n = self.window(alice, bob, exchange)
        # Messages and their ACKs went from home to home, never by the
        # server: nothing at all went to the public segment.
        self.assertGreaterEqual(n["udp_a_b"], 6, n)
        self.assertGreaterEqual(n["udp_b_a"], 6, n)
        self.assertGreaterEqual(n["msg_a_b"], 3, n)
        self.assertGreaterEqual(n["msg_b_a"], 3, n)
        for k in ("udp_a_pub", "udp_b_pub", "udp_pub_a", "udp_pub_b"):
            self.assertEqual(n[k], 0, (k, n))
        self.finish()

    def test_port_keeping_nats_direct_both_ways(self):
        self.direct_between_homes("accept")

    def test_port_keeping_nats_dropping_input_direct_both_ways(self):
        self.direct_between_homes("drop")

    def test_symmetric_nat_relay_both_ways(self):
        """One user behind a NAT that gives each flow a port of its own
        (masquerade random): no direct path can form; the relay carries
        the messages both ways, and none crosses from home to home."""
        A = self.lab.add_home("a", nat="random")
        B = self.lab.add_home("b")
        a1, b1 = A.add_host(), B.add_host()
        self.count_messages()
        self.start_daemon()
        alice = self.login(a1, "alice")
        bob = self.login(b1, "bob")
        self.converse(alice, bob, "a2b")
        self.converse(bob, alice, "b2a")
        relay = "%s:%d" % (self.srv.ipv4, PORT)
        self.assertEqual(self.wait_path(alice, bob, "relay")[3], relay)
        self.assertEqual(self.wait_path(bob, alice, "relay")[3], relay)

        def exchange():
            self.converse(alice, bob, "a2b-counted", 3)
            self.converse(bob, alice, "b2a-counted", 3)
        n = self.window(alice, bob, exchange)
        # Each message went up to the server and down to the other home,
        # and nothing at all from one home to the other.
        for k in ("msg_a_pub", "msg_pub_b", "msg_b_pub", "msg_pub_a"):
            self.assertGreaterEqual(n[k], 3, (k, n))
        for k in ("udp_a_pub", "udp_pub_b", "udp_b_pub", "udp_pub_a"):
            self.assertGreaterEqual(n[k], 6, (k, n))
        self.assertEqual((n["udp_a_b"], n["udp_b_a"]), (0, 0), n)
        # Nor did any message, ever.
        n = self.counters()
        self.assertEqual((n["msg_a_b"], n["msg_b_a"]), (0, 0), n)
        totals = self.finish()
        self.assertGreaterEqual(totals.get("relayed", 0), 12, totals)

    def test_same_nat_without_hairpin_lan_both_ways(self):
        """Two users behind one router that does not hairpin: the path
        is the LAN, and no message leaves the home."""
        A = self.lab.add_home("a")
        a1, a2 = A.add_host(), A.add_host()
        self.count_messages()
        for h, other in ((a1, a2), (a2, a1)):
            h.add_counter("msg_in", 'ip saddr %s udp length > %d'
                          % (other.ipv4, MSG_UDP_LEN), hook="input")
        self.start_daemon()
        conf = {"udp_keepalive": 120, "retry_interval_ms": 2000}
        alice = self.login(a1, "alice", **conf)
        bob = self.login(a2, "bob", **conf)
        self.converse(alice, bob, "a2b")
        self.converse(bob, alice, "b2a")
        pa = self.wait_path(alice, bob, "direct")
        pb = self.wait_path(bob, alice, "direct")
        self.assertTrue(pa[3].startswith(a2.ipv4 + ":"), pa)
        self.assertTrue(pb[3].startswith(a1.ipv4 + ":"), pb)
        def exchange():
            for h in (a1, a2):
                h.reset_counters()
            self.converse(alice, bob, "a2b-counted", 3)
            self.converse(bob, alice, "b2a-counted", 3)
        n = self.window(alice, bob, exchange)
        # Each message came from the other's LAN address; nothing went
        # through the router to the server.
        self.assertGreaterEqual(a2.counters()["msg_in"][0], 3)
        self.assertGreaterEqual(a1.counters()["msg_in"][0], 3)
        self.assertEqual((n["udp_a_pub"], n["udp_pub_a"]), (0, 0), n)
        self.finish()

    @staticmethod
    def mappings(home, host):
        """home's router's UDP connection-tracking entries from host."""
        return [e for e in home.conntrack_list("udp", "ipv4")
                if e["orig"].get("src") == host.ipv4]

    def wait_expired(self, home, host):
        """Waits until home's router has forgotten every UDP mapping of
        host, which it had."""
        self.assertTrue(self.mappings(home, host))
        deadline = time.monotonic() + 20
        while True:
            left = self.mappings(home, host)
            if not left:
                return
            if time.monotonic() > deadline:
                self.fail("mappings still there: %r" % left)
            time.sleep(0.25)

    @unittest.skipUnless(netlab.find_tool("conntrack"),
                         "not installed: conntrack")
    def test_mapping_expires_mid_conversation_nothing_lost(self):
        """alice's router forgets UDP mappings after 3 s without traffic
        (nf_conntrack_udp_timeout in its namespace); the conversation
        pauses past that, then goes on both ways, bob's side (whose
        router remembers) first, then alice's: every message delivered,
        none shown twice."""
        A = self.lab.add_home("a")
        B = self.lab.add_home("b")
        a1, b1 = A.add_host(), B.add_host()
        A.set_udp_timeout(unreplied=3, stream=3)
        self.start_daemon()
        # No keepalive in the test's time: it would keep the mappings.
        # A message sent into the dead mapping needs a few resends: one
        # finds the direct path lost (RECHECK), one or two go while
        # alice re-registers and the pair finds a path again (about a
        # second here); 20 leave room for a busy machine.
        conf = {"udp_keepalive": 120, "send_retries": 20}
        alice = self.login(a1, "alice", **conf)
        bob = self.login(b1, "bob", **conf)
        self.converse(alice, bob, "a2b")
        self.converse(bob, alice, "b2a")
        self.wait_path(alice, bob, "direct")
        self.wait_path(bob, alice, "direct")

        self.wait_expired(A, a1)
        self.assertNotIn("pair: recheck", self.d.log())
        self.converse(bob, alice, "b2a-after-expiry", 2, timeout=20)
        # bob's first try went into the dead mapping: he lost the path.
        self.assertIn("pair: recheck", self.d.log())
        self.converse(alice, bob, "a2b-after-expiry", 2, timeout=20)

        self.wait_expired(A, a1)
        self.converse(alice, bob, "a2b-after-second-expiry", 2, timeout=20)
        self.converse(bob, alice, "b2a-after-second-expiry", 2, timeout=20)
        self.finish()

    def test_ipv6_without_nat_direct_both_ways(self):
        """IPv6 end to end, no NAT, behind stateful firewalls that drop
        unsolicited inbound: a direct path to the peer's own address."""
        A = self.lab.add_home("a", ipv6=True)
        B = self.lab.add_home("b", ipv6=True)
        a1, b1 = A.add_host(), B.add_host()
        self.count_messages()
        self.start_daemon(ipv6=True)
        conf = {"udp_keepalive": 120, "retry_interval_ms": 2000}
        alice = self.login(a1, "alice", **conf)
        bob = self.login(b1, "bob", **conf)
        self.converse(alice, bob, "a2b")
        self.converse(bob, alice, "b2a")
        pa = self.wait_path(alice, bob, "direct")
        pb = self.wait_path(bob, alice, "direct")
        self.assertTrue(pa[3].startswith("[%s]:" % b1.ipv6), pa)
        self.assertTrue(pb[3].startswith("[%s]:" % a1.ipv6), pb)

        def exchange():
            self.converse(alice, bob, "a2b-counted", 3)
            self.converse(bob, alice, "b2a-counted", 3)
        n = self.window(alice, bob, exchange)
        self.assertGreaterEqual(n["msg_a_b"], 3, n)
        self.assertGreaterEqual(n["msg_b_a"], 3, n)
        for k in ("udp_a_pub", "udp_b_pub", "udp_pub_a", "udp_pub_b"):
            self.assertEqual(n[k], 0, (k, n))
        self.finish()

    # --- the relay, abused ---

    def raw_peer(self, host, user):
        """A raw member (RAW_PEER) on host, signed up and registered."""
        script = os.path.join(self.d.dir, "raw_peer.py")
        with open(script, "w") as f:
            f.write(RAW_PEER)
        p = host.spawn([PY, script, HERE, self.d.address, PORT,
                        os.path.join(self.d.dir, "server.pub"), user, PW],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       name="raw-%s" % user)
        self.addCleanup(p.stop)
        self.assertEqual(self.raw_line(p), "registered")
        return p

    def raw_line(self, p, timeout=30):
        """The raw member's next line (its commands end with one)."""
        r, _, _ = select.select([p.stdout], [], [], timeout)
        line = p.stdout.readline() if r else ""
        if not line:
            p.stop()
            self.fail("the raw member said nothing\n%s" % self.diag())
        return line.strip()

    def raw_do(self, p, command, timeout=30):
        p.stdin.write(command + "\n")
        p.stdin.flush()
        return self.raw_line(p, timeout).split()

    def rcvbuf_errors(self):
        """UDP datagrams the server host dropped for a full socket buffer
        (its namespace's /proc/net/snmp)."""
        lines = [ln.split() for ln in self.srv.run(
            ["cat", "/proc/net/snmp"]).stdout.splitlines()
            if ln.startswith("Udp:")]
        return int(lines[1][lines[0].index("RcvbufErrors")])

    def raw_quit(self, p):
        """Ends the raw member: it logs out and exits 0."""
        p.stdin.write("quit\n")
        p.stdin.flush()
        self.assertEqual(p.wait(WAIT), 0)

    def relayed_pair(self):
        """alice behind a symmetric NAT, bob behind a port-keeping one:
        talking through the relay."""
        A = self.lab.add_home("a", nat="random")
        B = self.lab.add_home("b")
        a1, b1 = A.add_host(), B.add_host()
        alice = self.login(a1, "alice")
        bob = self.login(b1, "bob")
        self.converse(alice, bob, "a2b")
        self.converse(bob, alice, "b2a")
        self.wait_path(alice, bob, "relay")
        self.wait_path(bob, alice, "relay")
        return alice, bob, a1, b1

    def test_relay_forwards_nothing_for_a_user_outside_the_pair(self):
        """mallory, logged in and registered from a third home, sends
        datagrams with alice and bob's live pair_id to the relay, from
        her registered endpoint and from another socket: the server gets
        them all and forwards none."""
        self.start_daemon()
        alice, bob, a1, b1 = self.relayed_pair()
        C = self.lab.add_home("c")
        c1 = C.add_host()
        for h in (a1, b1):
            h.add_counter("forged_in", "udp length %d" % (FORGED_LEN + 8),
                          hook="input")
        self.srv.add_counter("forged_in", "udp dport %d udp length %d"
                             % (PORT, FORGED_LEN + 8), hook="input")
        mallory = self.raw_peer(c1, "mallory")
        pair_id = self.d.pair_id("alice", "bob")
        dropped = self.rcvbuf_errors()
        n = 200
        self.assertEqual(self.raw_do(mallory, "forge %016x %d %d"
                                     % (pair_id, n, FORGED_LEN)),
                         ["forged", str(2 * n)])
        deadline = time.monotonic() + WAIT
        while self.srv.counters()["forged_in"][0] < 2 * n:
            self.assertLess(time.monotonic(), deadline,
                            self.srv.counters())
            time.sleep(0.05)
        # The pair still talks through the relay; after that exchange,
        # anything forwarded would have arrived.
        self.converse(alice, bob, "a2b-after")
        self.converse(bob, alice, "b2a-after")
        self.assertEqual(a1.counters()["forged_in"][0], 0)
        self.assertEqual(b1.counters()["forged_in"][0], 0)
        self.raw_quit(mallory)
        # Each one the daemon's socket took was refused: not from an
        # endpoint of the pair.
        dropped = self.rcvbuf_errors() - dropped
        totals = self.finish()
        self.assertGreaterEqual(totals.get("relay_wrong_source", 0),
                                2 * n - dropped, (totals, dropped))

    def test_relay_flood_cut_at_relay_rate_other_pairs_served(self):
        """mallory, in a pair with carol, floods the relay at 20 times
        relay_rate: about relay_rate a second reaches carol, the rest is
        dropped; meanwhile alice and bob, another relayed pair, talk on."""
        rate = 50
        self.start_daemon(relay_rate=rate)
        alice, bob, a1, b1 = self.relayed_pair()
        C = self.lab.add_home("c")
        D = self.lab.add_home("d")
        c1, d1 = C.add_host(), D.add_host()
        carol = self.login(d1, "carol")
        d1.add_counter("flood_in", "ip saddr %s udp sport %d udp length %d"
                       % (self.srv.ipv4, PORT, FLOOD_LEN + 8), hook="input")
        self.srv.add_counter("flood_in", "udp dport %d udp length %d"
                             % (PORT, FLOOD_LEN + 8), hook="input")
        mallory = self.raw_peer(c1, "mallory")
        dropped = self.rcvbuf_errors()
        w = self.raw_do(mallory, "pair carol")
        self.assertEqual(w[0], "paired")
        pair_id = w[1]
        self.expect(carol, [("online", "mallory")])
        n, speed = 3000, 20 * rate
        t0 = time.monotonic()
        mallory.stdin.write("flood %s %d %d %d\n" % (pair_id, n, speed,
                                                     FLOOD_LEN))
        mallory.stdin.flush()
        # During the flood, the other pair's messages go as ever.
        for i in range(3):
            self.converse(alice, bob, "a2b-flood-%d" % i, timeout=5)
            self.converse(bob, alice, "b2a-flood-%d" % i, timeout=5)
        w = self.raw_line(mallory)
        self.assertEqual(w.split()[:2], ["flooded", str(n)])
        deadline = time.monotonic() + WAIT
        while self.srv.counters()["flood_in"][0] < n:
            self.assertLess(time.monotonic(), deadline, self.srv.counters())
            time.sleep(0.05)
        self.converse(alice, bob, "a2b-after")
        self.converse(bob, alice, "b2a-after")
        elapsed = time.monotonic() - t0
        got = d1.counters()["flood_in"][0]
        # A burst of one second's worth, then relay_rate a second.
        self.assertGreaterEqual(got, rate)
        self.assertLessEqual(got, rate * (elapsed + 1) + 5, elapsed)
        self.assertEqual(self.path(alice, bob)[2], "relay")
        self.assertEqual(self.path(bob, alice)[2], "relay")
        self.raw_quit(mallory)
        dropped = self.rcvbuf_errors() - dropped
        totals = self.finish()
        self.assertGreaterEqual(totals.get("relay_rate_limited", 0),
                                n - got - dropped, (totals, dropped))


if __name__ == "__main__":
    reason = netlab.netns_unavailable_reason()
    if reason is not None:
        print("skipped: %s" % reason)
        sys.exit(SKIPPED)
    sys.exit(main(timeout=TEST_TIMEOUT))
