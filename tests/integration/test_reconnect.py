# SPDX-License-Identifier: ISC
"""A client that keeps going (--listen here; the REPL in test_repl.py): the
real daemon stopped with SIGTERM or killed with SIGKILL and started again,
or the connection of one client cut by a proxy, while the others stay.

Proves: a --listen client prints "disconnected REASON", reconnects, logs in
again as the same user and prints "ok auth USER" and a fresh "users"; a
message sent to it after the restart arrives, and one it sends does; a
send issued during the outage waits for the session and goes, or fails
after reply_timeout with a clear error; the password file is read again
for the new login; a server that does not hold the pinned key is never
accepted on reconnect (exit 76); a refused new login ends the run with 1.

Run by ctest with SEALCHATD, SEALCHAT, SEALCHAT_SRC and SEALCHAT_BUILD set.
Every wait is bounded; the proxy listens on 127.0.0.1 only.
"""

import os
import re
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (D, setUpModule, tearDownModule,  # noqa: F401
                              uname, main, signed, listener, ctl, Client,
                              Daemon, run_script, write_yaml, WAIT)

# Reconnect attempts come after about 1, 2, 4 s: an outage of a second or
# two is over well within this.
BACK = 3 * WAIT


class Proxy:
    """A TCP relay on 127.0.0.1 in front of a daemon, whose connections a
    test can cut (and refuse new ones) to make an outage for the clients
    behind it alone, and point at another daemon."""

    def __init__(self, port):
        self.target = port
        self.port = None
        self.lsock = None
        self.conns = []
        self.lock = threading.Lock()
        self.resume()

    def resume(self):
        """Accepts again, on the same port as before."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port or 0))
        s.listen(16)
        s.settimeout(0.1)
        self.port = s.getsockname()[1]
        self.lsock = s
        self.open = threading.Event()
        self.open.set()
        self.acceptor = threading.Thread(target=self._accept,
                                         args=(s, self.open), daemon=True)
        self.acceptor.start()

    def _accept(self, lsock, open_):
        while open_.is_set():
            try:
                c, _ = lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(None)
            try:
                u = socket.create_connection(("127.0.0.1", self.target),
                                             WAIT)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Closes every connection and refuses new ones until resume()."""
        self.open.clear()
        self.acceptor.join(WAIT)
        self.lsock.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.cut()


class Reconnect(unittest.TestCase):

    def setUp(self):
        self.clients = []
        self.dir = tempfile.mkdtemp(prefix="sealchat-reconnect-")

    def tearDown(self):
        for c in self.clients:
            c.finish()
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)

    def add(self, c):
        self.clients.append(c)
        return c

    def proxied(self, port, pub=None, **extra):
        """A client configuration that reaches the daemon through a proxy
        on port, pinning the module daemon's key (or pub)."""
        path = os.path.join(self.dir, "c%d.yaml" % len(os.listdir(self.dir)))
        items = {"server_address": "127.0.0.1", "server_port": port,
                 "server_public_key": '"%s"' % (pub or D.pub),
                 "connect_timeout": 5, "reply_timeout": 10}
        items.update(extra)
        write_yaml(path, items)
        return path

    def restarted(self, kill):
        d = Daemon().start()
        try:
            a, b = uname("alice"), uname("bob")
            signed(a, "pw-a", daemon=d)
            signed(b, "pw-b", daemon=d)
            ca = self.add(listener(a, "pw-a", conf=d.client_conf()))
            ca.close()
            if kill:
                d.kill()
                rec = ca.next()
                self.assertEqual(rec[0], "disconnected")
                self.assertRegex(rec[1], r"^(the server 127\.0\.0\.1:\d+ "
                                 r"closed the connection|lost the server "
                                 r"127\.0\.0\.1:\d+: Connection reset by "
                                 r"peer)$")
            else:
                d.stop()
                ca.expect("disconnected", "server closed the session: "
                          "server shutting down")
            self.assertTrue(ca.running())
            d.start_again()
            ca.expect("ok", "auth", a, timeout=BACK)
            ca.expect("users")
            # A message to alice after the restart arrives; hers to bob
            # sets up a fresh pair key and arrives too.
            cb = self.add(listener(b, "pw-b", conf=d.client_conf()))
            ca.expect("online", b)
            cb.send("send %s after the restart" % a)
            ca.expect("msg", b, "after the restart")
            cb.wait_for("delivered", a)
            rc, recs, err = run_script(d.client_conf(), "auth %s pw-a\nsend "
                                       "%s from a new alice\n" % (a, b))
            self.assertEqual(rc, 0, err)
            cb.wait_for("msg", a, "from a new alice")
            # That login replaced alice's listener: for good, 69.
            self.assertEqual(ca.wait(), 69)
            self.assertIn("logged in elsewhere", ca.stderr())
            cb.end()
            self.assertEqual(cb.wait(), 0)
        finally:
            d.cleanup()

    def test_listen_comes_back_after_the_daemon_is_stopped(self):
        self.restarted(kill=False)

    def test_listen_comes_back_after_the_daemon_is_killed(self):
        self.restarted(kill=True)

    def test_send_during_an_outage_waits_for_the_session_and_goes(self):
        a, b = uname("alice"), uname("bob")
        signed(a, "pw-a")
        signed(b, "pw-b")
        px = Proxy(D.port)
        try:
            cb = self.add(listener(b, "pw-b"))
            ca = self.add(listener(a, "pw-a", conf=self.proxied(px.port)))
            cb.expect("online", a)
            px.cut()
            rec = ca.next()
            self.assertEqual(rec[0], "disconnected")
            cb.expect("offline", a)
            ca.send("send %s sent while cut off" % b)
            time.sleep(1.0)
            px.resume()
            ca.expect("ok", "auth", a, timeout=BACK)
            ca.expect("users", b)
            cb.expect("online", a)
            cb.expect("msg", a, "sent while cut off")
            ca.expect("delivered", b)
            ca.end()
            self.assertEqual(ca.wait(), 0)
        finally:
            px.close()

    def test_send_during_an_outage_fails_after_reply_timeout(self):
        a, b = uname("alice"), uname("bob")
        signed(a, "pw-a")
        signed(b, "pw-b")
        px = Proxy(D.port)
        try:
            ca = self.add(listener(a, "pw-a", conf=self.proxied(
                px.port, reply_timeout=2)))
            px.cut()
            self.assertEqual(ca.next()[0], "disconnected")
            t0 = time.monotonic()
            ca.send("send %s never" % b)
            ca.expect("error", "send", "no connection to the server "
                      "(reconnecting)", timeout=5)
            self.assertGreater(time.monotonic() - t0, 1.5)
            px.resume()
            ca.expect("ok", "auth", a, timeout=BACK)
            ca.expect("users")
            ca.end()
            self.assertEqual(ca.wait(), 1)
        finally:
            px.close()

    def test_password_file_is_read_again_for_the_new_login(self):
        a = uname("alice")
        signed(a, "first")
        pwf = os.path.join(self.dir, "pw")
        with open(pwf, "w") as f:
            f.write("first\n")
        os.chmod(pwf, 0o600)
        px = Proxy(D.port)
        try:
            ca = self.add(Client(self.proxied(px.port),
                                 args=("--listen", "--password-file", pwf)))
            ca.send("auth %s" % a)
            ca.expect("ok", "auth", a)
            ca.expect("users")
            px.cut()
            self.assertEqual(ca.next()[0], "disconnected")
            rc, out, err = ctl(D, "user", "passwd", a, stdin=b"second\n")
            self.assertEqual(rc, 0, err)
            with open(pwf, "w") as f:
                f.write("second\n")
            px.resume()
            ca.expect("ok", "auth", a, timeout=BACK)
        finally:
            px.close()

    def test_refused_new_login_ends_the_listener_with_1(self):
        a = uname("alice")
        signed(a, "pw-a")
        px = Proxy(D.port)
        try:
            ca = self.add(listener(a, "pw-a", conf=self.proxied(px.port)))
            px.cut()
            self.assertEqual(ca.next()[0], "disconnected")
            rc, out, err = ctl(D, "user", "passwd", a, stdin=b"changed\n")
            self.assertEqual(rc, 0, err)
            px.resume()
            ca.expect("error", "auth", "wrong user or password",
                      timeout=BACK)
            self.assertEqual(ca.wait(), 1)
            self.assertIn("cannot log in again as %s" % a, ca.stderr())
        finally:
            px.close()

    def test_another_server_key_is_never_accepted_on_reconnect_76(self):
        other = Daemon().start()
        a = uname("alice")
        signed(a, "pw-a")
        signed(a, "pw-a", daemon=other)
        px = Proxy(D.port)
        try:
            ca = self.add(listener(a, "pw-a", conf=self.proxied(px.port)))
            px.cut()
            self.assertEqual(ca.next()[0], "disconnected")
            px.target = other.port
            px.resume()
            self.assertEqual(ca.wait(BACK), 76)
            self.assertEqual(ca.rest(), [])
            self.assertIn("does not hold the pinned key", ca.stderr())
            # The only login there is the sign-up of this test.
            self.assertEqual(len(re.findall(r"login sid=\d+ user=%s op="
                                            % a, other.log_text())), 1)
        finally:
            px.close()
            other.cleanup()


if __name__ == "__main__":
    sys.exit(main())
