# SPDX-License-Identifier: ISC
"""How sealchat reaches its server, in script mode: a name that does not
resolve ends at once with 69; an address that never answers (a blackhole:
a listening socket whose queue is full, so that the kernel drops the SYNs)
ends within connect_timeout with 69; a server that never answers the
handshake ends within reply_timeout; and SIGINT or SIGTERM ends the client
at every stage: connecting, in the handshake, and waiting for a login's
answer.  Where it finds the server: the default configuration file
($XDG_CONFIG_HOME/sealchat/sealchat.yaml) without -c, -s HOST[:PORT] over
the file (IPv6 in brackets), and a missing pinned key says where to get
it.

Run by ctest with SEALCHATD, SEALCHAT, SEALCHAT_SRC and SEALCHAT_BUILD set.
Nothing but 127.0.0.1 is contacted; "nonexistent.invalid" is a reserved
name (RFC 2606) that no resolver answers with an address.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import shutil
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (D, setUpModule, tearDownModule,  # noqa: F401
                              main, Client, Daemon, FakeServer, free_port,
                              run_script, write_yaml, SEALCHATD, WAIT)


class Blackhole:
    """A TCP port on 127.0.0.1 where a connect never completes: a listening
    socket with a backlog of 0 whose queue is filled by connections never
    accepted, so that the kernel drops every further SYN."""

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(0)
        self.port = self.lsock.getsockname()[1]
        self.fill = []
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fill.append(s)
        time.sleep(0.2)

    def close(self):
        for s in self.fill:
            s.close()
        self.lsock.close()


class Silent:
    """A TCP port on 127.0.0.1 that accepts (the kernel does, from the
    backlog) and never says a word."""

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]

    def close(self):
        self.lsock.close()


class Reach(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sealchat-connect-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def conf(self, **items):
        """A client configuration pinning the module daemon's key."""
        path = os.path.join(self.dir, "c%d.yaml" % len(os.listdir(self.dir)))
        conf = {"server_address": "127.0.0.1", "server_port": D.port,
                "server_public_key": '"%s"' % D.pub,
                "connect_timeout": 2, "reply_timeout": 2}
        conf.update(items)
        write_yaml(path, conf)
        return path

    def timed(self, path, text, timeout=WAIT):
        t0 = time.monotonic()
        rc, recs, err = run_script(path, text, timeout=timeout)
        return rc, recs, err, time.monotonic() - t0

    def test_unresolvable_name_exits_69_at_once(self):
        path = self.conf(server_address="nonexistent.invalid")
        rc, recs, err, took = self.timed(path, "auth alice pw\n")
        self.assertEqual((rc, recs), (69, []), err)
        self.assertIn("cannot resolve nonexistent.invalid:%d" % D.port, err)
        self.assertLess(took, 3.0)

    def test_blackholed_address_ends_within_connect_timeout_69(self):
        bh = Blackhole()
        try:
            path = self.conf(server_port=bh.port, connect_timeout=2)
            rc, recs, err, took = self.timed(path, "auth alice pw\n")
        finally:
            bh.close()
        self.assertEqual((rc, recs), (69, []), err)
        self.assertIn("cannot connect to 127.0.0.1:%d: timed out after 2 s"
                      % bh.port, err)
        self.assertGreater(took, 1.5)
        self.assertLess(took, 5.0)

    def test_silent_server_ends_within_reply_timeout_69(self):
        srv = Silent()
        try:
            path = self.conf(server_port=srv.port, reply_timeout=2)
            rc, recs, err, took = self.timed(path, "auth alice pw\n")
        finally:
            srv.close()
        self.assertEqual((rc, recs), (69, []), err)
        self.assertIn("no answer to the handshake", err)
        self.assertLess(took, 5.0)

    def interrupted(self, path, sig, wait=0.5, within=2.0):
        """Starts a client on path, signals it after wait seconds; returns
        its status, records and standard error once it ended, within
        seconds of the signal."""
        c = Client(path)
        try:
            c.send("auth alice pw")
            time.sleep(wait)
            self.assertTrue(c.running(), c.stderr())
            t0 = time.monotonic()
            c.proc.send_signal(sig)
            rc = c.wait(within + 3)
            self.assertLess(time.monotonic() - t0, within, c.stderr())
            return rc, c.rest(), c.stderr()
        finally:
            c.finish()

    def test_signals_end_a_connect_that_never_answers(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            bh = Blackhole()
            try:
                path = self.conf(server_port=bh.port, connect_timeout=30)
                rc, recs, err = self.interrupted(path, sig)
            finally:
                bh.close()
            self.assertEqual((rc, recs), (1, []), (sig, err))

    def test_signals_end_a_handshake_that_never_answers(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            srv = Silent()
            try:
                path = self.conf(server_port=srv.port, reply_timeout=30)
                rc, recs, err = self.interrupted(path, sig)
            finally:
                srv.close()
            self.assertEqual((rc, recs), (1, []), (sig, err))

    def test_signals_end_a_login_that_never_gets_an_answer(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            def script(link):
                link.accept()
                link.recv()
                link.drain(6)
            srv = FakeServer(script)
            try:
                # The logout after the signal waits reply_timeout at most.
                path = srv.client_conf(reply_timeout=1)
                rc, recs, err = self.interrupted(path, sig, within=3.0)
            finally:
                srv.join()
            self.assertEqual(rc, 1, err)
            self.assertEqual(recs, [("error", "auth", "interrupted")])


class WhereTheServerIs(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sealchat-where-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.user = "w%d" % os.getpid()
        run_script(D.client_conf(), "sign %s pw\n" % self.user)

    def env(self):
        return {"XDG_CONFIG_HOME": self.dir, "HOME": self.dir,
                "SEALCHAT_PASSWORD": "pw"}

    def test_default_configuration_file_is_read_without_c(self):
        folder = os.path.join(self.dir, "sealchat")
        os.mkdir(folder)
        shutil.copy(D.pub, os.path.join(folder, "server.pub"))
        write_yaml(os.path.join(folder, "sealchat.yaml"),
                   {"server_address": "127.0.0.1", "server_port": D.port})
        rc, recs, err = run_script(None, "auth %s\n" % self.user,
                                   env=self.env())
        self.assertEqual(rc, 0, err)
        self.assertEqual(recs[0], ("ok", "auth", self.user))
        # A broken one stops the client, naming it.
        with open(os.path.join(folder, "sealchat.yaml"), "a") as f:
            f.write("no_such_key: 1\n")
        rc, recs, err = run_script(None, "auth %s\n" % self.user,
                                   env=self.env())
        self.assertEqual(rc, 78)
        self.assertIn("%s/sealchat.yaml:3: unknown key" % folder, err)

    def test_s_overrides_the_configured_server(self):
        # The file names a port where nothing listens.
        path = D.client_conf("wrongport.yaml", server_port=1)
        for server in ("127.0.0.1:%d" % D.port, "[127.0.0.1]:%d" % D.port):
            rc, recs, err = run_script(path, "auth %s pw\n" % self.user,
                                       args=("-s", server))
            self.assertEqual(rc, 0, (server, err))
        # A host alone keeps the file's port.
        path = D.client_conf("wronghost.yaml",
                             server_address="nonexistent.invalid")
        rc, recs, err = run_script(path, "auth %s pw\n" % self.user,
                                   args=("-s", "127.0.0.1"))
        self.assertEqual(rc, 0, err)
        for bad in ("127.0.0.1:0", "127.0.0.1:x", "[::1", ":10000"):
            rc, recs, err = run_script(path, "", args=("-s", bad))
            self.assertEqual(rc, 64, bad)
            self.assertIn("-s", err)

    def test_s_takes_an_ipv6_address_in_brackets(self):
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            self.skipTest("no IPv6 loopback here")
        d = Daemon(host="::1").start()
        try:
            run_script(d.client_conf(), "sign %s pw\n" % self.user)
            path = os.path.join(self.dir, "v6.yaml")
            write_yaml(path, {"server_public_key": '"%s"' % d.pub,
                              "server_port": 1})
            rc, recs, err = run_script(path, "auth %s pw\n" % self.user,
                                       args=("-s", "[::1]:%d" % d.port))
            self.assertEqual(rc, 0, err)
        finally:
            d.cleanup()

    def test_sealchatd_l_listens_where_it_says(self):
        d = Daemon()
        d.start()
        d.stop()
        port = free_port()
        logf = open(os.path.join(self.dir, "d.log"), "wb")
        p = subprocess.Popen([SEALCHATD, "-c", d.path, "-l",
                              "127.0.0.1:%d" % port], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=subprocess.STDOUT,
                             cwd=d.dir)
        try:
            deadline = time.monotonic() + WAIT
            rc = None
            while rc != 0 and time.monotonic() < deadline:
                time.sleep(0.1)
                rc, recs, err = run_script(
                    d.client_conf("l.yaml", server_port=port),
                    "sign %s pw\n" % self.user)
            self.assertEqual(rc, 0, err)
        finally:
            p.terminate()
            p.wait(WAIT)
            logf.close()
            d.cleanup()

    def test_missing_pinned_key_says_where_to_get_it_78(self):
        path = os.path.join(self.dir, "nokey.yaml")
        write_yaml(path, {"server_public_key": "absent.pub"})
        rc, recs, err = run_script(path, "auth a pw\n")
        self.assertEqual(rc, 78)
        self.assertIn("absent.pub is missing: get server.pub from the "
                      "server's operator", err)


if __name__ == "__main__":
    sys.exit(main())
