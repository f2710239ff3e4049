#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The daemon under load and at its end, against the real sealchatd, with the
protocol client of test_protocol_raw.py:

- while the hash workers are saturated by a storm of logins at the
  interactive cost, a logged-in client's requests are still answered;
- an account acknowledged with OK survives kill -9 of the daemon;
- SIGTERM in the middle of a sign-up storm stops the daemon cleanly and
  quickly, every client is told or closed, and the database is intact and
  holds every account that was acknowledged.

Run: SEALCHATD=/path/to/sealchatd /usr/bin/python3 THIS_FILE [WORD...]
"""

import os
import signal
import socket
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sealchat_harness as harness  # noqa: E402
import test_protocol_raw as raw  # noqa: E402

check = raw.check
TEST_TIMEOUT = 90


def connect_many(d, n):
    """n clients through the handshake, not logged in."""
    return [d.client(timeout=30.0) for _ in range(n)]


class Service(unittest.TestCase):
    """The daemon under a storm of logins, and killed or stopped in the
    middle of one."""

    def test_logged_in_client_answered_while_hashing_is_saturated(self):
        """40 logins at the interactive cost keep both hash workers busy for
        seconds; meanwhile LIST from a logged-in client is answered fast (a
        generous bound: the real figure is the benchmark's)."""
        d = raw.Daemon(hash_cost="interactive", hash_workers=2,
                       fail_free=1000, max_unauth_per_addr=100,
                       login_timeout=60).start()
        storm = []
        try:
            watcher = d.user("watcher", "watcher-password")
            storm = connect_many(d, 40)
            for i, c in enumerate(storm):
                c.send_msg(raw.enc_cred(raw.AUTH, "nobody%d" % i, "guess"))
            t_storm = time.monotonic()
            worst = 0.0
            for i in range(20):
                t = time.monotonic()
                watcher.list()
                names, flags = watcher.read_users(timeout=5.0)
                worst = max(worst, time.monotonic() - t)
                check(flags[-1] & raw.REPLY,
                      "LIST answered with a reply list")
                time.sleep(0.05)
            t_lists = time.monotonic()
            answers, last = 0, t_lists
            for c in storm:
                m = c.recv_msg(timeout=30.0)
                check(m[0] == "ERROR" and m[2] == 1,
                      "the storm's logins fail as they should: %r" % (m,))
                answers += 1
                last = time.monotonic()
            check(answers == 40, "every login of the storm was answered")
            # The storm really was still hashing after the LISTs were served.
            check(last > t_lists, "hashing outlasted the LIST requests")
            print("   LIST worst %.1f ms during %.1f s of hashing" %
                  (worst * 1000, last - t_storm))
            check(worst < 1.0,
                  "LIST answered within 1 s (was %.3f s)" % worst)
            watcher.close()
        finally:
            for c in storm:
                c.close()
            check(d.cleanup() == 0, "clean stop")

    def test_signed_up_account_survives_kill_9(self):
        """OK for SIGN means durable: the account is there after kill -9."""
        d = raw.Daemon().start()
        try:
            c = d.client()
            m = c.login(raw.SIGN, "durable", "durable-password")
            check(m == ("OK", raw.SIGN, "durable"), "sign-up acknowledged")
            d.kill()
            c.close()
            d.start()       # again on the same folder, or it raises
            c = d.client()
            m = c.login(raw.AUTH, "durable", "durable-password")
            check(m == ("OK", raw.AUTH, "durable"),
                  "login after kill -9: %r" % (m,))
            c.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_sigterm_during_signup_storm_is_clean_and_db_intact(self):
        """SIGTERM while 60 sign-ups wait for the hash workers: exit 0
        within a few seconds, every client gets OK, GOODBYE 1 or a closed
        connection, the database passes integrity_check and holds every
        acknowledged account."""
        d = raw.Daemon(hash_cost="interactive", hash_workers=2,
                       fail_free=1000, max_unauth_per_addr=100,
                       login_timeout=60).start()
        storm = []
        try:
            storm = connect_many(d, 60)
            for i, c in enumerate(storm):
                c.send_msg(raw.enc_cred(raw.SIGN, "storm%d" % i, "pw%d" % i))
            time.sleep(0.5)
            t = time.monotonic()
            d.proc.send_signal(signal.SIGTERM)
            rc = d.proc.wait(timeout=15)
            took = time.monotonic() - t
            check(rc == 0, "exit status 0 after SIGTERM (was %r)" % rc)
            check(took < 5.0, "stopped within 5 s (took %.1f s)" % took)
            acked, told = set(), 0
            for i, c in enumerate(storm):
                try:
                    while True:
                        m = c.recv_msg(timeout=2.0)
                        if m[0] == "OK":
                            acked.add("storm%d" % i)
                        elif m[0] == "GOODBYE":
                            check(m[1] == 1,
                                  "GOODBYE 1 on shutdown: %r" % (m,))
                            told += 1
                            break
                except (raw.Closed, socket.timeout, ConnectionError):
                    pass
            check(len(acked) < 60, "queued sign-ups were dropped "
                  "(%d acknowledged)" % len(acked))
            check(told > 0, "clients were told the server is going away")
            db = sqlite3.connect(os.path.join(d.dir, "sealchat.db"))
            try:
                check(db.execute("PRAGMA integrity_check").fetchone()[0] ==
                      "ok", "database integrity_check ok")
                stored = {r[0] for r in
                          db.execute("SELECT name FROM accounts")}
            finally:
                db.close()
            check(acked <= stored, "every acknowledged account is stored")
            # Only the jobs running at the signal may finish after it.
            check(len(stored - acked) <= 2, "no queued sign-up ran after "
                  "the signal (%d unacknowledged)" % len(stored - acked))
            print("   %d acknowledged, %d stored, %d told GOODBYE, "
                  "stop %.2f s" % (len(acked), len(stored), told, took))
        finally:
            for c in storm:
                c.close()
            d.cleanup()


if __name__ == "__main__":
    sys.exit(harness.main(TEST_TIMEOUT))
