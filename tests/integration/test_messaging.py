# SPDX-License-Identifier: ISC
"""Messaging between real sealchat clients through the real sealchatd:
presence in order, messages both ways with delivery reports, messaging
yourself, dead clients and a dead server found by the keepalive, a fresh
pair key after a new login, and forged peer datagrams (replayed, reflected,
tampered, truncated, stale) dropped while the conversation goes on.

The forged datagrams come from a protocol client written in Python from
docs/protocol.md (sealchat_harness.RawClient): it logs in like any user,
gets a pair key with a sealchat client from the server, and then sends that
client whatever datagrams it likes.  What the client dropped, and why, is
read from its debug log (-d), which names each drop's reason.

Run by ctest with SEALCHATD, SEALCHAT, SEALCHAT_SRC and SEALCHAT_BUILD set.
"""

import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (D, setUpModule, tearDownModule,  # noqa: F401
                              uname, main, Client, Daemon, RawClient,
                              RawPeer, run_script, MSG_AUTH, MSG_SIGN)


def login(daemon, user, debug=False, sign=True, path=None):
    """A client logged in as user, kept running on an open stdin."""
    c = Client(path or daemon.client_conf(), debug=debug)
    c.send("%s %s pw-%s" % ("sign" if sign else "auth", user, user))
    c.expect("ok", "sign" if sign else "auth", user)
    return c


def drops(client, reason):
    """How many datagrams the client's debug log says it dropped."""
    return len(re.findall(r"dropped datagram reason=%s\b" % reason,
                          client.stderr()))


def pair_ids(client, peer, at_least=1, timeout=5.0):
    """The pair_ids the client installed for peer, in order, once its
    standard error (read as it comes) shows at least that many."""
    deadline = time.monotonic() + timeout
    while True:
        ids = re.findall(r"pairkey peer=%s pair_id=([0-9a-f]{16})" % peer,
                         client.stderr())
        if len(ids) >= at_least or time.monotonic() > deadline:
            return ids
        time.sleep(0.05)


class ThreeClients(unittest.TestCase):

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.finish()

    def add(self, c):
        self.clients.append(c)
        return c

    def test_presence_lists_and_messages_both_ways(self):
        a, b, c = uname("alice"), uname("bob"), uname("carol")
        ca = self.add(login(D, a))
        ca.expect("users")
        cb = self.add(login(D, b))
        cb.expect("users", a)
        ca.expect("online", b)
        cc = self.add(login(D, c))
        cc.expect("users", a, b)
        ca.expect("online", c)
        cb.expect("online", c)

        # Both ways between each pair, with a delivery report each time.
        for (src, sn), (dst, dn) in (((ca, a), (cb, b)), ((cb, b), (ca, a)),
                                     ((cc, c), (ca, a)), ((ca, a), (cc, c)),
                                     ((cb, b), (cc, c))):
            src.send("send %s from %s to %s" % (dn, sn, dn))
            dst.expect("msg", sn, "from %s to %s" % (sn, dn))
            src.expect("delivered", dn)

        # Yourself: one key both ways.
        ca.send("send %s note to self" % a)
        ca.expect("msg", a, "note to self")
        ca.expect("delivered", a)

        ca.send("list")
        ca.expect("users", b, c)

        # carol quits, bob's input ends: both go, in order, for everyone.
        cc.send("quit")
        self.assertEqual(cc.wait(), 0)
        ca.expect("offline", c)
        cb.expect("offline", c)
        cb.close()
        self.assertEqual(cb.wait(), 0)
        ca.expect("offline", b)
        ca.send("list")
        ca.expect("users")
        self.assertEqual(ca.quiet(0.3), [])
        ca.close()
        self.assertEqual(ca.wait(), 0)

    def test_many_messages_in_a_row_all_delivered_once(self):
        a, b = uname("alice"), uname("bob")
        cb = self.add(login(D, b))
        cb.expect("users")
        lines = "".join("send %s m%03d\n" % (b, i) for i in range(100))
        rc, recs, err = run_script(D.client_conf(), "sign %s pw\n%s"
                                   % (a, lines))
        self.assertEqual(rc, 0, err)
        self.assertEqual(recs.count(("delivered", b)), 100)
        # The server batches presence notices at the end of its loop turn
        # but sends a pair key at once, so the online notice may come
        # among the messages; the offline one comes after the last ack.
        got = [cb.next() for _ in range(101)]
        self.assertIn(("online", a), got)
        got.remove(("online", a))
        self.assertEqual(sorted(got), [("msg", a, "m%03d" % i)
                                       for i in range(100)])
        cb.expect("offline", a)

    def test_fresh_pair_key_after_a_new_login(self):
        a, b = uname("alice"), uname("bob")
        ca = self.add(login(D, a, debug=True))
        ca.expect("users")
        cb = self.add(login(D, b))
        cb.next()
        ca.expect("online", b)
        ca.send("send %s first" % b)
        cb.expect("msg", a, "first")
        ca.expect("delivered", b)
        first = pair_ids(ca, b)
        self.assertEqual(len(first), 1)

        # bob leaves: alice forgets the key; bob comes back.
        cb.close()
        self.assertEqual(cb.wait(), 0)
        ca.expect("offline", b)
        cb2 = self.add(login(D, b, sign=False))
        cb2.next()
        ca.expect("online", b)
        ca.send("send %s second" % b)
        cb2.expect("msg", a, "second")
        ca.expect("delivered", b)
        both = pair_ids(ca, b, at_least=2)
        self.assertEqual(len(both), 2, ca.stderr())
        self.assertNotEqual(both[0], both[1])
        self.assertIn("forget peer=%s pair_id=%s" % (b, first[0]),
                      ca.stderr())


class Keepalive(unittest.TestCase):
    """A daemon with a short keepalive: interval 1 s, timeout 3 s."""

    KA_TIMEOUT = 3

    def setUp(self):
        self.d = Daemon(keepalive_interval=1,
                        keepalive_timeout=self.KA_TIMEOUT).start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            if c.running():
                try:
                    c.proc.send_signal(signal.SIGCONT)
                except OSError:
                    pass
            c.finish()
        if self.d.proc is not None and self.d.proc.poll() is None:
            self.d.proc.send_signal(signal.SIGCONT)
        self.d.cleanup()

    def add(self, c):
        self.clients.append(c)
        return c

    def test_killed_client_shows_offline_within_keepalive_timeout(self):
        a, b = uname("alice"), uname("bob")
        ca = self.add(login(self.d, a))
        ca.expect("users")
        cb = self.add(login(self.d, b))
        cb.next()
        ca.expect("online", b)
        cb.proc.kill()
        cb.proc.wait(5)
        ca.expect("offline", b, timeout=self.KA_TIMEOUT + 2)

    def test_frozen_client_dropped_by_keepalive_then_exits_69(self):
        a, b = uname("alice"), uname("bob")
        ca = self.add(login(self.d, a))
        ca.expect("users")
        cb = self.add(login(self.d, b))
        cb.next()
        ca.expect("online", b)
        # A stopped process keeps its socket open: only silence tells.
        cb.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        ca.expect("offline", b, timeout=self.KA_TIMEOUT + 3)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        cb.proc.send_signal(signal.SIGCONT)
        self.assertEqual(cb.wait(), 69)
        self.assertIn("sealchat:", cb.stderr())

    def test_silent_server_is_lost_after_keepalive_timeout(self):
        a = uname("alice")
        ca = self.add(login(self.d, a))
        ca.expect("users")
        self.d.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        rc = ca.wait(self.KA_TIMEOUT + 5)
        took = time.monotonic() - t0
        self.d.proc.send_signal(signal.SIGCONT)
        self.assertEqual(rc, 69)
        self.assertIn("lost the server", ca.stderr())
        self.assertGreaterEqual(took, self.KA_TIMEOUT - 1.5)


class ForgedDatagrams(unittest.TestCase):

    def test_bad_datagrams_dropped_conversation_goes_on(self):
        a, e = uname("alice"), uname("eve")
        ca = login(D, a, debug=True)
        raw = RawClient(D.port, D.pub)
        try:
            ca.expect("users")
            raw.login(MSG_SIGN, e, "pw")
            raw.open_udp()
            ca.expect("online", e)
            peer = RawPeer(raw, e, a, *raw.pair(a))

            # Start at counter 10, so that alice's own ACK (her counter 0)
            # sent back to her is inside her window and meets the MAC.
            peer.ctr = 10
            d1, ack1 = peer.send_until_ack(1, b"first")
            ca.expect("msg", e, "first")
            time.sleep(0.2)
            base = {r: drops(ca, r) for r in ("replay", "mac", "size",
                                              "version", "unknown-pair")}

            # Replayed: same bytes again; no ACK, nothing shown.
            peer.put(d1)
            self.assertIsNone(peer.recv(0.4))
            # Reflected: alice's own ACK sent back to her.
            peer.put(ack1)
            # Tampered: one ciphertext byte flipped.
            d = bytearray(peer.seal(1, 2, b"tampered"))
            d[20] ^= 0x40
            peer.put(bytes(d))
            # Tampered header: the counter changed under the MAC.
            d = bytearray(peer.seal(1, 2, b"header"))
            d[16] ^= 0x01
            peer.put(bytes(d))
            # Truncated: below the minimum, and one byte short of its tag.
            d = peer.seal(1, 2, b"truncated")
            peer.put(d[:30])
            peer.put(d[:-1])
            # Wrong version byte, unknown pair_id.
            d = peer.seal(1, 2, b"v2")
            peer.put(b"\x02" + d[1:])
            peer.put(d[:1] + b"\xff" * 8 + d[9:])
            # Forged far-ahead counter (a key eve does not send with).
            peer.put(peer.seal(1, 2, b"forged", counter=10 ** 6,
                               key=peer.rx))
            self.assertIsNone(peer.recv(0.4), "nothing is acknowledged")

            # The window did not move: the next counters are accepted.
            peer.send_until_ack(3, b"after forgeries")
            ca.expect("msg", e, "after forgeries")

            # Stale: a jump ahead, then a counter 64 below it.
            peer.ctr = 200
            peer.send_until_ack(4, b"jump")
            ca.expect("msg", e, "jump")
            top = peer.ctr - 1          # 200, or more after a resend
            peer.put(peer.seal(1, 5, b"stale", counter=top - 64))
            self.assertIsNone(peer.recv(0.4))
            # 63 below is still inside the window.
            peer.put(peer.seal(1, 6, b"old but fresh", counter=top - 63))
            got = peer.recv(2)
            self.assertIsNotNone(got)
            self.assertEqual(got[1][2:4], (2, 6))
            ca.expect("msg", e, "old but fresh")

            # A resent message (same msg_id, new counter) is acknowledged
            # again but shown once.
            d, ack = peer.send_until_ack(6, b"old but fresh")

            # And alice can still write to eve, who acknowledges.
            ca.send("send %s reply" % e)
            got = peer.recv(2)
            self.assertIsNotNone(got)
            _, ctr, kind, msg_id, text = got[1]
            self.assertEqual((kind, text), (1, b"reply"))
            peer.put(peer.seal(2, msg_id))
            ca.expect("delivered", e)
            self.assertEqual(ca.quiet(0.3), [])

            time.sleep(0.2)
            now = {r: drops(ca, r) - base[r] for r in base}
            self.assertEqual(now, {"replay": 2, "mac": 5, "size": 1,
                                   "version": 1, "unknown-pair": 1},
                             ca.stderr())
            ca.close()
            self.assertEqual(ca.wait(), 0)
            msgs = [r for r in ca.seen if r[0] == "msg"]
            self.assertEqual(msgs, [("msg", e, "first"),
                                    ("msg", e, "after forgeries"),
                                    ("msg", e, "jump"),
                                    ("msg", e, "old but fresh")])
        finally:
            raw.close()
            ca.finish()

    def test_old_pair_key_dies_with_the_session(self):
        # eve pairs with alice, then logs in again: the old key no longer
        # opens anything at alice's end, the new one does.
        a, e = uname("alice"), uname("eve")
        ca = login(D, a, debug=True)
        raw = RawClient(D.port, D.pub)
        raw2 = None
        try:
            ca.expect("users")
            raw.login(MSG_SIGN, e, "pw")
            raw.open_udp()
            ca.expect("online", e)
            old = RawPeer(raw, e, a, *raw.pair(a))
            old.send_until_ack(1, b"before")
            ca.expect("msg", e, "before")
            time.sleep(0.2)
            base = drops(ca, "unknown-pair")

            # The same device: the same identity key.
            raw2 = RawClient(D.port, D.pub, id_keys=(raw.id_pk, raw.id_sk))
            raw2.login(MSG_AUTH, e, "pw")
            raw2.open_udp()
            ca.expect("offline", e)
            ca.expect("online", e)
            new = RawPeer(raw2, e, a, *raw2.pair(a))
            self.assertNotEqual(new.pair_id, old.pair_id)

            # A datagram under the old key, even from the new session's
            # address: dropped, never shown.
            old.raw = raw2
            old.put(old.seal(1, 2, b"old key"))
            self.assertIsNone(new.recv(0.4), "no ACK for the old key")
            new.send_until_ack(1, b"new key")
            self.assertNotEqual(new.tx, old.tx)
            ca.expect("msg", e, "new key")
            time.sleep(0.2)
            self.assertEqual(drops(ca, "unknown-pair") - base, 1,
                             ca.stderr())
            msgs = [r for r in ca.seen if r[0] == "msg"]
            self.assertEqual(msgs, [("msg", e, "before"),
                                    ("msg", e, "new key")])
        finally:
            raw.close()
            if raw2 is not None:
                raw2.close()
            ca.finish()

    def test_pairkey_goes_to_the_observed_address(self):
        # The server hands out the IP it saw and the port registered with
        # UDP: the raw client finds the sealchat client there.
        a, e = uname("alice"), uname("eve")
        ca = login(D, a)
        raw = RawClient(D.port, D.pub)
        try:
            ca.expect("users")
            raw.login(MSG_SIGN, e, "pw")
            raw.open_udp()
            pair_id, kxy, addr, idkey = raw.pair(a)
            self.assertEqual(addr[0], "127.0.0.1")
            peer = RawPeer(raw, e, a, pair_id, kxy, addr, idkey)
            peer.send_until_ack(1, b"hello")
            ca.wait_for("msg", e, "hello")
        finally:
            raw.close()
            ca.finish()


if __name__ == "__main__":
    sys.exit(main())
