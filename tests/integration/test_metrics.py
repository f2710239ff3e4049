# SPDX-License-Identifier: ISC
"""The daemon's figures, scraped with a real HTTP client (curl) from
metrics_address while real clients log in, sign up and fail: each counter
holds exactly what the test did, the gauges follow who is online, the
histograms count the hashes and the slowed logins, refused connections are
counted by reason, and the endpoint serves nothing but /metrics.

Run: SEALCHATD=... SEALCHAT=... /usr/bin/python3 THIS_FILE
"""

import os
import re
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (WAIT, Daemon, free_port, listener, main,  # noqa
                              module_fixture, needs_programs, run_script,
                              uname, wait_identity)

PORT = free_port()
D = Daemon(metrics_address='"127.0.0.1:%d"' % PORT, fail_free=0,
           fail_delay_ms=50)
setUpModule, tearDownModule = module_fixture(D)

SAMPLE = re.compile(r'^([a-z_]+)(\{[a-z_]+="[^"]*"\})? (\S+)$')


def curl(path="/metrics", *args):
    """(status, headers and body) of curl on the metrics address."""
    p = subprocess.run(["curl", "-sS", "-i", "--max-time", "10"] +
                       list(args) + ["http://127.0.0.1:%d%s" % (PORT, path)],
                       capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def scrape():
    """{name or name{label}: value} of one scrape; every line of the body is
    checked to be a comment or a sample of the text format."""
    rc, out = curl()
    assert rc == 0, out
    head, body = out.split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.1 200"), head
    assert "Content-Type: text/plain; version=0.0.4; charset=utf-8" in head
    values = {}
    for line in body.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        assert m is not None, "not a sample: %r" % line
        values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return values


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


@needs_programs("curl")
class Metrics(unittest.TestCase):
    def test_counters_hold_what_the_clients_did(self):
        """2 sign-ups, 3 logins, 2 wrong passwords, a taken name: exactly
        that in sealchat_signups_total and sealchat_logins_total by result;
        the hash histogram counts the 7 hashes (a taken name makes none);
        the slowed login is in the delay histogram; frames and bytes went
        up both ways."""
        before = scrape()
        a, b = uname("ma"), uname("mb")
        conf = D.client_conf()
        for u in (a, b):
            rc, recs, err = run_script(conf, "sign %s pw\n" % u)
            self.assertEqual(rc, 0, err)
        for _ in range(3):
            rc, recs, err = run_script(conf, "auth %s pw\n" % a)
            self.assertEqual(rc, 0, err)
        rc, recs, err = run_script(conf, "auth %s nope\n" % b)
        self.assertEqual(recs[0], ("error", "auth", "wrong user or password"))
        rc, recs, err = run_script(conf, "auth %s nope\n" % b)
        rc, recs, err = run_script(conf, "sign %s pw\n" % a)
        self.assertEqual(recs[0], ("error", "sign", "name taken"))
        after = scrape()

        def d(key):
            return delta(before, after, key)
        self.assertEqual(d('sealchat_signups_total{result="ok"}'), 2)
        self.assertEqual(d('sealchat_signups_total{result="taken"}'), 1)
        self.assertEqual(d('sealchat_logins_total{result="ok"}'), 3)
        self.assertEqual(d('sealchat_logins_total'
                           '{result="bad_credentials"}'), 2)
        self.assertEqual(d('sealchat_hash_seconds_count'), 7)
        self.assertEqual(d('sealchat_hash_seconds_bucket{le="+Inf"}'), 7)
        self.assertGreater(d('sealchat_hash_seconds_sum'), 0)
        self.assertGreaterEqual(d('sealchat_login_delay_seconds_count'), 1)
        for key in ("sealchat_frames_received_total",
                    "sealchat_frames_sent_total",
                    "sealchat_received_bytes_total",
                    "sealchat_sent_bytes_total"):
            self.assertGreater(d(key), 0, key)
        self.assertEqual(after['sealchat_build_info{version="%s"}'
                               % self.version()], 1)
        self.assertLessEqual(after["sealchat_start_time_seconds"],
                             time.time())

    def version(self):
        p = subprocess.run([os.environ.get("SEALCHATD", "sealchatd"), "-V"],
                           capture_output=True, text=True)
        return p.stdout.split()[1]

    def test_gauges_follow_the_users_online(self):
        """sealchat_users_online and sealchat_sessions{state="online"} go up
        with a user logged in and back down when it leaves; each presence
        event told to a client counts once."""
        a, b = uname("ga"), uname("gb")
        conf = D.client_conf()
        for u in (a, b):
            self.assertEqual(run_script(conf, "sign %s pw\n" % u)[0], 0)
        base = scrape()
        ca = listener(a, "pw", conf)
        cb = listener(b, "pw", conf)
        try:
            ca.wait_for("online", b)
            now = scrape()
            self.assertEqual(delta(base, now, "sealchat_users_online"), 2)
            self.assertEqual(delta(base, now,
                                   'sealchat_sessions{state="online"}'), 2)
            self.assertGreaterEqual(delta(
                base, now, "sealchat_presence_deliveries_total"), 1)
        finally:
            cb.end()
            ca.end()
        deadline = time.monotonic() + WAIT
        while scrape()["sealchat_users_online"] != \
                base["sealchat_users_online"]:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)

    def test_queued_messages_and_bytes_follow_the_queue(self):
        """A message stored for a user offline raises
        sealchat_queued_messages by one and sealchat_queued_bytes by its
        size, and counts as stored; its delivery takes both back down and
        counts as delivered."""
        a, b = uname("qa"), uname("qb")
        conf = D.client_conf()
        for u in (a, b):
            self.assertEqual(run_script(conf, "sign %s pw\n" % u)[0], 0)
        wait_identity(b, D)
        base = scrape()
        rc, recs, err = run_script(conf, "auth %s pw\nsend %s twelve bytes\n"
                                   % (a, b))
        self.assertEqual((rc, recs[-1]), (0, ("queued", b)), err)
        now = scrape()
        self.assertEqual(delta(base, now, "sealchat_queued_messages"), 1)
        # The box: 24 nonce + 16 tag + 25 header + 12 text.
        self.assertEqual(delta(base, now, "sealchat_queued_bytes"), 77)
        self.assertEqual(delta(base, now, "sealchat_queue_stored_total"), 1)
        cb = listener(b, "pw", conf)
        try:
            cb.expect("msg", a, "twelve bytes")
        finally:
            cb.end()
        deadline = time.monotonic() + WAIT
        while scrape()["sealchat_queued_messages"] != \
                base["sealchat_queued_messages"]:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        now = scrape()
        self.assertEqual(delta(base, now, "sealchat_queued_bytes"), 0)
        self.assertEqual(delta(base, now, "sealchat_queue_delivered_total"),
                         1)

    def test_refused_connections_counted_by_reason(self):
        """A connection past max_sessions is refused and counted under
        reason="max_sessions"."""
        d = Daemon(metrics_address='"127.0.0.1:%d"' % free_port(),
                   max_sessions=1)
        d.start()
        try:
            port = int(d.conf["metrics_address"].strip('"').split(":")[1])
            s1 = socket.create_connection(("127.0.0.1", d.port))
            time.sleep(0.2)
            s2 = socket.create_connection(("127.0.0.1", d.port))
            s2.settimeout(WAIT)
            self.assertEqual(s2.recv(16)[:6], b"\0\0\0\x02\0\x03")
            s1.close()
            s2.close()
            p = subprocess.run(["curl", "-sS", "--max-time", "10",
                                "http://127.0.0.1:%d/metrics" % port],
                               capture_output=True, text=True, timeout=30)
            self.assertIn('sealchat_connections_refused_total'
                          '{reason="max_sessions"} 1\n', p.stdout)
        finally:
            self.assertEqual(d.cleanup(), 0)

    def test_the_hardening_reasons_are_counted_apart(self):
        """A connection past max_sessions_per_addr is counted under that
        reason, not "other"; one that sends no HELLO within hello_timeout
        under sealchat_connections_closed_total{reason="hello_timeout"};
        one closed to make room for a newcomer in a full max_unauth under
        reason="evicted"."""
        def metrics(d):
            port = int(d.conf["metrics_address"].strip('"').split(":")[1])
            p = subprocess.run(["curl", "-sS", "--max-time", "10",
                                "http://127.0.0.1:%d/metrics" % port],
                               capture_output=True, text=True, timeout=30)
            return p.stdout

        d = Daemon(metrics_address='"127.0.0.1:%d"' % free_port(),
                   max_sessions_per_addr=1, hello_timeout=1)
        d.start()
        try:
            s1 = socket.create_connection(("127.0.0.1", d.port))
            s1.settimeout(WAIT)
            time.sleep(0.2)
            s2 = socket.create_connection(("127.0.0.1", d.port))
            s2.settimeout(WAIT)
            self.assertEqual(s2.recv(16)[:6], b"\0\0\0\x02\0\x03")
            # s1, silent, is closed at its hello_timeout.
            self.assertEqual(s1.recv(16), b"")
            s1.close()
            s2.close()
            out = metrics(d)
            self.assertIn('sealchat_connections_refused_total'
                          '{reason="max_sessions_per_addr"} 1\n', out)
            self.assertIn('sealchat_connections_refused_total'
                          '{reason="other"} 0\n', out)
            self.assertIn('sealchat_connections_closed_total'
                          '{reason="hello_timeout"} 1\n', out)
        finally:
            self.assertEqual(d.cleanup(), 0)

        d = Daemon(metrics_address='"127.0.0.1:%d"' % free_port(),
                   max_unauth=1)
        d.start()
        try:
            s1 = socket.create_connection(("127.0.0.1", d.port))
            s1.settimeout(WAIT)
            time.sleep(0.2)
            # The table is full: s1, without its HELLO, makes room.
            s2 = socket.create_connection(("127.0.0.1", d.port))
            self.assertEqual(s1.recv(16), b"")
            s1.close()
            s2.close()
            self.assertIn('sealchat_connections_closed_total'
                          '{reason="evicted"} 1\n', metrics(d))
        finally:
            self.assertEqual(d.cleanup(), 0)

    def test_only_metrics_is_served(self):
        """Another path is 404; a POST is refused; HEAD is answered."""
        rc, out = curl("/")
        self.assertTrue(out.startswith("HTTP/1.1 404"), out[:40])
        rc, out = curl("/metrics/x")
        self.assertTrue(out.startswith("HTTP/1.1 404"), out[:40])
        rc, out = curl("/metrics", "-X", "POST", "-d", "x=1")
        self.assertFalse(out.startswith("HTTP/1.1 200"), out[:40])
        rc, out = curl("/metrics", "-I")
        self.assertTrue(out.startswith("HTTP/1.1 200"), out[:40])


class Off(unittest.TestCase):
    def test_metrics_are_off_by_default(self):
        """Without metrics_address nothing is served, and -T says off."""
        p = subprocess.run([os.environ.get("SEALCHATD", "sealchatd"), "-T"],
                           capture_output=True, text=True, cwd="/",
                           env={"PATH": os.environ.get("PATH", "")})
        self.assertIn('metrics_address: "off"\n', p.stdout)


if __name__ == "__main__":
    sys.exit(main())
