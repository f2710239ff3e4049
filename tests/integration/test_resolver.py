# SPDX-License-Identifier: ISC
"""A resolver that never answers.  sealchat looks the server's name up on a
thread of its own (src/client/resolve.c), so a lookup that hangs neither
stops the client's loop nor outlives connect_timeout: script mode ends with
69 and says so, and SIGINT and SIGTERM end it at once.

In a network namespace of its own (tests/integration/netlab.py, root
only), whose /etc/resolv.conf (bind-mounted by `ip netns exec` from
/etc/netns/NS/) names 127.0.0.1 as the only nameserver, with a long
timeout; a UDP socket there takes every query and answers none.
"hang.example" is a reserved name (RFC 2606), so the host's own
/etc/hosts never has it.  Nothing leaves the namespace, which the test
removes with its files under /etc/netns.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netlab  # noqa: E402
from sealchat_harness import (Client, run_script, write_yaml,  # noqa: E402
                              SEALCHATD, WAIT)

NAME = "hang.example"
# Takes every DNS query on 127.0.0.1:53 and answers none.
SWALLOW = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("listening", flush=True)
while True:
    s.recv(4096)
    print("query", flush=True)
"""


@netlab.skip_unless_netns()
class HangingResolver(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sealchat-resolver-")
        cls.lab = netlab.Lab()
        try:
            cls.node = cls.lab.add_public_host("dns")
            cls.etc = os.path.join("/etc/netns", cls.node.ns)
            cls.made_netns_etc = not os.path.isdir("/etc/netns")
            os.makedirs(cls.etc)
            with open(os.path.join(cls.etc, "resolv.conf"), "w") as f:
                f.write("nameserver 127.0.0.1\n"
                        "options timeout:30 attempts:2\n")
            cls.dns = cls.node.spawn(["/usr/bin/python3", "-c", SWALLOW],
                                     name="dns")
            cls.dns.wait_log("listening")
            # A server key for the client to pin; no server ever runs.
            conf = os.path.join(cls.dir, "sealchatd.yaml")
            write_yaml(conf, {
                "server_public_key": os.path.join(cls.dir, "server.pub"),
                "server_private_key": os.path.join(cls.dir, "server.key"),
                "data_base": os.path.join(cls.dir, "db.sqlite")})
            subprocess.run([SEALCHATD, "-c", conf, "--genkey"], check=True,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=WAIT)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()
        if getattr(cls, "etc", None):
            shutil.rmtree(cls.etc, True)
            if cls.made_netns_etc:
                try:
                    os.rmdir("/etc/netns")
                except OSError:
                    pass
        shutil.rmtree(cls.dir, True)

    def conf(self, **items):
        path = os.path.join(self.dir, "c%d.yaml" % len(os.listdir(self.dir)))
        conf = {"server_address": NAME, "server_port": 10000,
                "server_public_key": os.path.join(self.dir, "server.pub"),
                "connect_timeout": 2, "reply_timeout": 2}
        conf.update(items)
        write_yaml(path, conf)
        return path

    def queries(self):
        return self.dns.log().count("query")

    def test_lookup_that_never_ends_stops_at_connect_timeout_69(self):
        before = self.queries()
        t0 = time.monotonic()
        rc, recs, err = run_script(self.conf(connect_timeout=2),
                                   "auth alice pw-alice-1\n",
                                   wrap=self.node.cmd([]), timeout=WAIT)
        took = time.monotonic() - t0
        self.assertEqual((rc, recs), (69, []), err)
        self.assertIn("cannot resolve %s:10000: no answer within 2 s" % NAME,
                      err)
        self.assertGreater(took, 1.5)
        self.assertLess(took, 6.0)
        # The lookup did reach the resolver, and was still waiting on it.
        self.assertGreater(self.queries(), before)

    def test_signals_end_a_lookup_that_never_ends(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            before = self.queries()
            c = Client(self.conf(connect_timeout=60),
                       wrap=self.node.cmd([]))
            try:
                c.send("auth alice pw-alice-1")
                deadline = time.monotonic() + WAIT
                while self.queries() == before and \
                        time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertGreater(self.queries(), before)
                self.assertTrue(c.running(), c.stderr())
                t0 = time.monotonic()
                c.proc.send_signal(sig)
                rc = c.wait(5)
                self.assertLess(time.monotonic() - t0, 2.0, c.stderr())
                self.assertEqual((rc, c.rest()), (1, []),
                                 (sig, c.stderr()))
            finally:
                c.finish()


if __name__ == "__main__":
    netlab.main()
