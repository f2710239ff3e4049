#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Messages for users who are offline (docs/security.md, property 13), with
the real sealchatd, its real database and real sealchat clients.

- A send to a user offline prints "queued USER" once the daemon has stored
  it; the daemon killed with SIGKILL and started again still has it; the
  user logs in and gets "msg FROM TEXT"; the sender, still online, gets
  "delivered USER".
- 100 messages arrive in the order they were sent.
- The database file (and its WAL) holds none of the texts.
- A recipient whose connection ends before its acknowledgement gets the
  messages again, and a client shows each one once: a raw client that
  reads them and hangs up, then the real client; and the same rows put
  back after the real client showed them (its acknowledgement lost).
- A user who never registered an identity key cannot get stored
  messages (a clear error); an unknown user gets the error of today.
- The bounds: messages and bytes per recipient, the sender's rate, and
  the age past which a message is deleted unread (its sender is told).
- sealchatctl status counts the messages and bytes stored.
"""

import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sealchat_harness as H  # noqa: E402
from sealchat_harness import (Daemon, RawClient, WAIT,  # noqa: E402
                              ctl, main, module_fixture, run_script, uname)

MSG_STORED = 0x8d

# The module's daemon: no rate in the way of 100 messages.
D = Daemon(queue_rate=10000)
setUpModule, tearDownModule = module_fixture(D)


def sign(daemon, user, password="pw-x"):
    """An account with its identity key stored beside it."""
    rc, recs, err = run_script(daemon.client_conf(), "sign %s %s\n"
                               % (user, password))
    assert rc == 0 and recs[0] == ("ok", "sign", user), (rc, recs, err)
    H.wait_identity(user, daemon)


def stored_rows(daemon):
    """The mailbox rows: (recipient, sender, size) in order."""
    db = sqlite3.connect("file:%s?mode=ro" % daemon.db, uri=True)
    try:
        return db.execute("SELECT recipient, sender, size FROM mailbox "
                          "ORDER BY seq").fetchall()
    finally:
        db.close()


def db_bytes(daemon):
    """The database file and its WAL, as bytes."""
    out = b""
    for suffix in ("", "-wal"):
        try:
            with open(daemon.db + suffix, "rb") as f:
                out += f.read()
        except FileNotFoundError:
            pass
    return out


def send_script(daemon, user, lines, password="pw-x"):
    """Logs user in, runs the lines, logs out; (status, records)."""
    rc, recs, err = run_script(daemon.client_conf(), "auth %s %s\n%s"
                               % (user, password, "".join(l + "\n"
                                                          for l in lines)))
    return rc, recs[2:], err


def status(daemon):
    rc, out, err = ctl(daemon, "status")
    assert rc == 0, (rc, out, err)
    return dict(l.split("\t", 1) for l in out.splitlines() if "\t" in l)


class Offline(unittest.TestCase):
    def test_queued_message_survives_sigkill_and_is_delivered(self):
        """queued, SIGKILL, restart; the recipient's login shows the
        message and the sender, online all along, gets delivered."""
        alice, bob = uname("oa"), uname("ob")
        sign(D, alice)
        sign(D, bob)
        a = H.listener(alice, "pw-x", conf=D.client_conf())
        try:
            a.send("send %s kept through a crash" % bob)
            a.expect("queued", bob)
            self.assertEqual(stored_rows(D)[-1][:2], (bob, alice))
            D.kill()
            D.start_again()
            a.wait_for("ok", "auth", alice, timeout=20)
            b = H.listener(bob, "pw-x", conf=D.client_conf())
            try:
                b.expect("msg", alice, "kept through a crash")
                a.wait_for("delivered", bob)
                self.assertEqual(b.quiet(0.5), [])
            finally:
                b.end()
        finally:
            a.end()
        self.assertNotIn(bob, [r[0] for r in stored_rows(D)])

    def test_hundred_messages_keep_their_order_and_no_plaintext_is_stored(
            self):
        """100 messages, queued one by one, arrive in the order sent;
        meanwhile neither the database nor its WAL holds any text, and
        status counts them."""
        alice, bob = uname("oa"), uname("ob")
        sign(D, alice)
        sign(D, bob)
        texts = ["%03d plain-%s" % (i, os.urandom(8).hex())
                 for i in range(100)]
        rc, recs, err = send_script(D, alice, ["send %s %s" % (bob, t)
                                               for t in texts])
        self.assertEqual(rc, 0, (recs, err))
        self.assertEqual(recs, [("queued", bob)] * 100)
        rows = [r for r in stored_rows(D) if r[0] == bob]
        self.assertEqual(len(rows), 100)
        raw = db_bytes(D)
        for t in texts:
            self.assertNotIn(t.encode(), raw)
            self.assertNotIn(t.split()[1].encode(), raw)
        st = status(D)
        self.assertGreaterEqual(int(st["queued_messages"]), 100)
        self.assertGreaterEqual(int(st["queued_bytes"]),
                                sum(r[2] for r in rows))

        b = H.listener(bob, "pw-x", conf=D.client_conf())
        try:
            got = [b.next() for _ in range(100)]
            self.assertEqual(got, [("msg", alice, t) for t in texts])
            self.assertEqual(b.quiet(0.5), [])
        finally:
            b.end()
        deadline = time.monotonic() + WAIT
        while [r for r in stored_rows(D) if r[0] == bob]:
            self.assertLess(time.monotonic(), deadline, "not all deleted")
            time.sleep(0.05)

    def test_recipient_that_drops_before_acknowledging_sees_each_once(self):
        """A connection that reads the stored messages and ends without an
        acknowledgement leaves them stored; the real client then shows
        each once.  Rows put back as they were (an acknowledgement that
        never arrived) are acknowledged again, not shown again."""
        alice, carol = uname("oa"), uname("oc")
        sign(D, alice)
        sign(D, carol)
        texts = ["first", "second", "third"]
        rc, recs, err = send_script(D, alice, ["send %s %s" % (carol, t)
                                               for t in texts])
        self.assertEqual((rc, recs), (0, [("queued", carol)] * 3), err)
        db = sqlite3.connect("file:%s?mode=ro" % D.db, uri=True)
        try:
            saved = db.execute(
                "SELECT recipient, id, sender, sender_key, created, size, "
                "box FROM mailbox WHERE recipient = ? ORDER BY seq",
                (carol,)).fetchall()
        finally:
            db.close()
        self.assertEqual(len(saved), 3)

        # A connection that reads them and hangs up without a word.
        raw = RawClient(D.port, D.pub, identity=False)
        raw.login(H.MSG_AUTH, carol, "pw-x")
        seen = [raw.recv_until(MSG_STORED) for _ in range(3)]
        self.assertTrue(all(m[0] == MSG_STORED for m in seen))
        raw.sock.close()
        self.assertEqual(len([r for r in stored_rows(D) if r[0] == carol]),
                         3)

        c = H.listener(carol, "pw-x", conf=D.client_conf())
        try:
            for t in texts:
                c.expect("msg", alice, t)
            self.assertEqual(c.quiet(0.5), [])
        finally:
            c.end()
        self.assertEqual([r for r in stored_rows(D) if r[0] == carol], [])

        # The same messages again, as if the acknowledgements were lost.
        db = sqlite3.connect(D.db, timeout=WAIT)
        try:
            db.executemany(
                "INSERT INTO mailbox (recipient, id, sender, sender_key, "
                "created, size, box) VALUES (?, ?, ?, ?, ?, ?, ?)", saved)
            db.commit()
        finally:
            db.close()
        c = H.listener(carol, "pw-x", conf=D.client_conf())
        try:
            self.assertEqual(c.quiet(1.0), [])
        finally:
            c.end()
        deadline = time.monotonic() + WAIT
        while [r for r in stored_rows(D) if r[0] == carol]:
            self.assertLess(time.monotonic(), deadline,
                            "not acknowledged again")
            time.sleep(0.05)

    def test_user_without_identity_key_and_unknown_user(self):
        """A user who never registered an identity key cannot get stored
        messages, and the error says so; an unknown user gets the error a
        send to a user offline gave before messages could be stored."""
        alice, noid = uname("oa"), uname("on")
        sign(D, alice)
        raw = RawClient(D.port, D.pub, identity=False)
        raw.login(H.MSG_SIGN, noid, "pw-x")
        raw.sock.close()
        ghost = uname("ghost")
        rc, recs, err = send_script(D, alice, ["send %s hello" % noid,
                                               "send %s hello" % ghost])
        self.assertEqual(rc, 1)
        self.assertEqual(recs, [
            ("error", "send", "user cannot get messages while offline "
             "(no identity key registered): %s" % noid),
            ("error", "send", "user offline: %s" % ghost)])
        self.assertEqual([r for r in stored_rows(D) if r[0] in
                          (noid, ghost)], [])


class Bounds(unittest.TestCase):
    def test_messages_and_bytes_per_recipient(self):
        """queue_max_messages and queue_max_bytes, each with its error;
        what was refused is not stored."""
        d = Daemon(queue_max_messages=3, queue_max_bytes=2200,
                   queue_rate=1000).start()
        try:
            alice, bob, carol = uname("oa"), uname("ob"), uname("oc")
            for u in (alice, bob, carol):
                sign(d, u)
            big = "x" * 1000
            rc, recs, err = send_script(d, alice, [
                "send %s one" % bob, "send %s two" % bob,
                "send %s three" % bob, "send %s four" % bob,
                "send %s %s" % (carol, big), "send %s %s" % (carol, big),
                "send %s %s" % (carol, big)])
            self.assertEqual(rc, 1, err)
            self.assertEqual(recs, [
                ("queued", bob), ("queued", bob), ("queued", bob),
                ("error", "send", "too many messages queued for user: %s"
                 % bob),
                ("queued", carol), ("queued", carol),
                ("error", "send", "too many bytes queued for user: %s"
                 % carol)])
            rows = stored_rows(d)
            self.assertEqual([r[0] for r in rows], [bob] * 3 + [carol] * 2)
        finally:
            d.cleanup()

    def test_sender_rate_and_age(self):
        """queue_rate refuses the sender's third message in a row; the two
        stored expire after queue_max_age, and the sender, still online,
        is told of each; the recipient then gets nothing."""
        d = Daemon(queue_rate=2, queue_max_age=1).start()
        try:
            alice, bob = uname("oa"), uname("ob")
            sign(d, alice)
            sign(d, bob)
            a = H.listener(alice, "pw-x", conf=d.client_conf())
            try:
                for word in ("one", "two", "three"):
                    a.send("send %s %s" % (bob, word))
                a.expect("queued", bob)
                a.expect("queued", bob)
                a.expect("error", "send", "too many messages queued, try "
                         "later: %s" % bob)
                a.expect("error", "send", "message to %s expired unread"
                         % bob, timeout=10)
                a.expect("error", "send", "message to %s expired unread"
                         % bob, timeout=10)
            finally:
                a.end()
            self.assertEqual(stored_rows(d), [])
            self.assertEqual(status(d)["queued_messages"], "0")
            b = H.listener(bob, "pw-x", conf=d.client_conf())
            try:
                self.assertEqual(b.quiet(0.5), [])
            finally:
                b.end()
        finally:
            d.cleanup()


if __name__ == "__main__":
    sys.exit(main())
