#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Self-tests of netlab.py.  Run as root: /usr/bin/python3 test_netlab.py
(prints "skipped: ..." and exits 77 when namespaces are unusable)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netlab  # noqa: E402

PY = "/usr/bin/python3"


def netns_names():
    r = subprocess.run([netlab.find_tool("ip") or "ip", "netns", "list"], capture_output=True, text=True)
    return {line.split()[0] for line in r.stdout.splitlines() if line.strip()}


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@netlab.skip_unless_netns()
class TopologyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = netlab.Lab()
        lab = cls.lab
        cls.srv = lab.add_public_host("srv")
        cls.A = lab.add_home("a")                                 # port-keeping NAT
        cls.B = lab.add_home("b", nat="random", input_policy="drop")
        cls.C = lab.add_home("c", input_policy="drop", ipv6=True)  # IPv6 with stateful firewall
        cls.D = lab.add_home("d", ipv6=True, firewall6=False)       # IPv6, open
        cls.a1, cls.a2 = cls.A.add_host(), cls.A.add_host()
        cls.b1 = cls.B.add_host()
        cls.c1 = cls.C.add_host()
        cls.d1 = cls.D.add_host()
        cls.srv.spawn_udp_echo(3478)
        cls.srv.spawn_udp_echo(3479)

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def setUp(self):
        self.lab.flush_conntrack()

    def test_names_unique_and_short(self):
        self.assertTrue(all(n.startswith(self.lab.run_id + "-") for n in self.lab.namespaces))
        self.assertEqual(len(set(self.lab.namespaces)), len(self.lab.namespaces))
        self.assertTrue(all(len(n) <= 20 for n in self.lab.namespaces))
        self.assertTrue(set(self.lab.namespaces) <= netns_names())

    def test_port_keeping_masquerade(self):
        r = self.a1.udp_exchange(self.srv.ipv4, 3478, src_port=40100)
        self.assertIsNotNone(r)
        self.assertEqual(r[0].decode(), f"{self.A.wan_ipv4} 40100")
        # the same local port toward another destination keeps the same mapping
        r2 = self.a1.udp_exchange(self.srv.ipv4, 3479, src_port=40100)
        self.assertEqual(r2[0].decode(), f"{self.A.wan_ipv4} 40100")

    def test_random_masquerade_is_symmetric(self):
        ports = set()
        for dport in (3478, 3479):
            r = self.b1.udp_exchange(self.srv.ipv4, dport, src_port=40200)
            ip, port = r[0].decode().split()
            self.assertEqual(ip, self.B.wan_ipv4)
            ports.add(int(port))
        self.assertEqual(len(ports), 2, "random masquerade should map each flow to its own port")

    def test_unsolicited_inbound_dropped(self):
        listener = self.a1.spawn_udp_echo(40300, bind="0.0.0.0")
        try:
            # from the public side to the router's public address: no port forward -> nothing
            self.assertIsNone(self.srv.udp_exchange(self.A.wan_ipv4, 40300, timeout=0.5))
            # the LAN addresses are not routed on the "internet"
            self.assertIsNone(self.srv.udp_exchange(self.a1.ipv4, 40300, timeout=0.5))
            # the LAN works
            self.assertIsNotNone(self.a2.udp_exchange(self.a1.ipv4, 40300, timeout=1))
        finally:
            listener.stop()

    def test_no_hairpin(self):
        listener = self.a1.spawn_udp_echo(40400, bind="0.0.0.0")
        try:
            self.assertIsNotNone(self.a1.udp_exchange(self.srv.ipv4, 3478, src_port=40400 + 1))
            # a1's echo socket opens its own mapping toward the server first
            self.assertIsNone(self.a2.udp_exchange(self.A.wan_ipv4, 40400, timeout=0.5))
        finally:
            listener.stop()

    def test_hole_punch_and_core_counter(self):
        """A (port-keeping) and C (port-keeping, input drop) punch a hole; the
        core counters prove the packets went home to home."""
        self.lab.reset_core_counters()
        echo = self.c1.spawn_udp_echo(40502, bind="0.0.0.0")
        try:
            # echo socket has not sent anything: a1's first datagram is dropped by C's router
            self.assertIsNone(self.a1.udp_exchange(self.C.wan_ipv4, 40502, src_port=40503, timeout=0.3))
        finally:
            echo.stop()
        # now a proper exchange: c1 sends first from 40504 toward a1's mapping, then a1 answers
        p = self.c1.spawn([PY, "-c", textwrap.dedent(f"""
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 40504))
            s.settimeout(3)
            # TTL 2: opens C's mapping, dies at the core (A's router accepts input, so a full-TTL
            # opening packet would poison it: see the experiments)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 2)
            s.sendto(b"open", ("{self.A.wan_ipv4}", 40505))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 64)
            print("sent", flush=True)
            d, a = s.recvfrom(100); s.sendto(b"reply:" + d, a); print("got", d, a, flush=True)
        """)], name="c1peer")
        p.wait_log("sent")
        r = self.a1.udp_exchange(self.C.wan_ipv4, 40504, b"hello", src_port=40505, timeout=2)
        p.wait(5)
        self.assertEqual(r, (b"reply:hello", (self.C.wan_ipv4, 40504)))
        self.assertEqual(self.lab.udp_packets("a", "c"), 2)      # the dropped datagram + "hello"
        self.assertEqual(self.lab.udp_packets("c", "a"), 1)      # the TTL-2 packet never crossed
        self.assertEqual(self.lab.udp_packets("a", "pub"), 0)
        self.assertEqual(self.lab.udp_packets("b", "a"), 0)
        # conntrack on A's router shows the mapping, replied
        es = [e for e in self.A.conntrack_list("udp", "ipv4") if e["orig"].get("sport") == 40505]
        self.assertEqual(len(es), 1)
        self.assertFalse(es[0]["unreplied"])

    def test_ipv6_firewall(self):
        # outbound works, the address is not translated
        r = self.c1.udp_exchange(self.srv.ipv6, 3478, src_port=40600)
        self.assertEqual(r[0].decode(), f"{self.c1.ipv6} 40600")
        e1 = self.c1.spawn_udp_echo(40601)
        e2 = self.d1.spawn_udp_echo(40601)
        try:
            self.assertIsNone(self.srv.udp_exchange(self.c1.ipv6, 40601, timeout=0.5))      # firewalled
            self.assertIsNotNone(self.srv.udp_exchange(self.d1.ipv6, 40601, timeout=1))     # open
        finally:
            e1.stop()
            e2.stop()

    def test_ttl_helper(self):
        # TTL 1 dies at the home router: no reply, and no mapping is made
        self.assertIsNone(self.a1.udp_exchange(self.srv.ipv4, 3478, src_port=40700, ttl=1, timeout=0.3))
        self.assertFalse([e for e in self.A.conntrack_list("udp", "ipv4") if e["orig"].get("sport") == 40700])
        # TTL 2 passes the home router and dies at the core: mapping exists, UNREPLIED
        self.assertIsNone(self.a1.udp_exchange(self.srv.ipv4, 3478, src_port=40701, ttl=2, timeout=0.3))
        es = [e for e in self.A.conntrack_list("udp", "ipv4") if e["orig"].get("sport") == 40701]
        self.assertEqual(len(es), 1)
        self.assertTrue(es[0]["unreplied"])
        self.assertIsNotNone(self.a1.udp_exchange(self.srv.ipv4, 3478, src_port=40702, ttl=3, timeout=1))

    def test_udp_timeout_per_namespace(self):
        self.A.set_udp_timeout(unreplied=3, stream=4)
        try:
            self.assertEqual(self.A.sysctl_get("net.netfilter.nf_conntrack_udp_timeout"), "3")
            self.assertEqual(self.A.sysctl_get("net.netfilter.nf_conntrack_udp_timeout_stream"), "4")
            self.assertEqual(self.B.sysctl_get("net.netfilter.nf_conntrack_udp_timeout"), "30")
        finally:
            self.A.set_udp_timeout(30, 120)

    def test_conntrack_flush(self):
        self.a1.udp_exchange(self.srv.ipv4, 3478, src_port=40800)
        self.assertTrue(self.A.conntrack_list("udp"))
        self.assertTrue(self.A.conntrack_flush())
        self.assertFalse(self.A.conntrack_list("udp"))

    def test_generic_counter(self):
        self.A.add_counter("wan_in_udp", 'iifname "wan" meta l4proto udp', hook="forward")
        self.a1.udp_exchange(self.srv.ipv4, 3478, src_port=40900)
        self.assertEqual(self.A.counters()["wan_in_udp"][0], 1)


@netlab.skip_unless_netns()
class CleanupTest(unittest.TestCase):
    def test_cleanup_on_exception(self):
        names, pids = [], []
        with self.assertRaises(ZeroDivisionError):
            with netlab.Lab() as lab:
                h = lab.add_home("a").add_host()
                p = h.spawn(["sleep", "300"])
                # a process the lab did not spawn itself, started in the background by a command
                h.run(["sh", "-c", "setsid sleep 301 </dev/null >/dev/null 2>&1 &"])
                names = list(lab.namespaces)
                pids = [p.pid]
                time.sleep(0.1)
                pids += [int(x) for x in subprocess.run([lab.ip, "netns", "pids", h.ns], capture_output=True,
                                                        text=True).stdout.split()]
                1 / 0
        self.assertTrue(names)
        self.assertFalse(set(names) & netns_names())
        self.assertGreaterEqual(len(set(pids)), 2)
        for pid in pids:
            self.assertFalse(pid_alive(pid), pid)

    def _child(self, body):
        script = textwrap.dedent(f"""
            import json, sys, time
            sys.path.insert(0, {HERE!r})
            import netlab
            lab = netlab.Lab()
            h = lab.add_home("a").add_host()
            p = h.spawn(["sleep", "300"])
            print(json.dumps({{"ns": lab.namespaces, "pid": p.pid}}), flush=True)
            {body}
        """)
        return subprocess.Popen([PY, "-c", script], stdout=subprocess.PIPE, text=True)

    def test_sigterm_cleans_up(self):
        c = self._child("time.sleep(60)")
        info = json.loads(c.stdout.readline())
        c.send_signal(signal.SIGTERM)
        rc = c.wait(30)
        c.stdout.close()
        self.assertEqual(rc, -signal.SIGTERM)
        self.assertFalse(set(info["ns"]) & netns_names())
        self.assertFalse(pid_alive(info["pid"]))

    def test_sigkill_then_cleanup_stale(self):
        c = self._child("time.sleep(60)")
        info = json.loads(c.stdout.readline())
        c.kill()
        c.wait(10)
        c.stdout.close()
        self.assertTrue(set(info["ns"]) <= netns_names())       # left behind
        netlab.cleanup_stale()        # (a parallel run may have reaped them already)
        self.assertFalse(set(info["ns"]) & netns_names())
        self.assertFalse(pid_alive(info["pid"]))

    def test_parallel_labs_do_not_collide(self):
        with netlab.Lab() as l1, netlab.Lab() as l2:
            l1.add_home("a").add_host()
            l2.add_home("a").add_host()
            self.assertNotEqual(l1.run_id, l2.run_id)
            self.assertFalse(set(l1.namespaces) & set(l2.namespaces))


class SkipTest(unittest.TestCase):
    def test_not_root_prints_skipped_77(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to drop to nobody")
        d = tempfile.mkdtemp()
        os.chmod(d, 0o755)
        with open(os.path.join(HERE, "netlab.py")) as src, open(os.path.join(d, "netlab.py"), "w") as dst:
            dst.write(src.read())
        os.chmod(os.path.join(d, "netlab.py"), 0o644)

        def drop():
            os.setgid(65534)
            os.setuid(65534)
        r = subprocess.run([PY, "-c", "import netlab; netlab.main()"], cwd=d, capture_output=True, text=True,
                           preexec_fn=drop, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": d})
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertIn("skipped", r.stdout)
        self.assertIn("not running as root", r.stdout)


if __name__ == "__main__":
    netlab.main()
