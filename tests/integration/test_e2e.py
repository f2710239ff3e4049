#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""End to end (docs/security.md, property 11): real sealchat clients and a
server that knows every pair key.

Most tests run the clients against E2EServer, a server written here from
docs/protocol.md (sections 2 to 9) with PyNaCl: it logs in anyone, hands
out pair keys Kxy of its choosing, and relays every datagram of every pair
through its own UDP socket, where it records them (its PAIRKEYs carry no
candidate, so the relay is the only path).  So the test holds everything
the server holds, Kxy included, and sees every datagram the clients
exchange.  What it proves:

- no datagram the clients exchange opens with Kxy or any key derived from
  it alone, the handshake's included (the server's best try with every
  public value), while the messages still arrive;
- a server that hands out another identity key for a known peer: the
  client prints "identity USER changed", sends nothing at all to the
  substitute, and after "trust USER" the conversation goes on, with the
  substitute (a Python peer that speaks the handshake);
- the first INIT lost, the RESP duplicated, and every handshake datagram
  replayed later: the conversation starts, and the replays open nothing.

With the real sealchatd: "verify" gives the same number on both sides,
and another once a user logs in from a new device (a fresh XDG_DATA_HOME),
which the peer sees as a change; the daemon stores that public key, and no
secret, beside the account.
"""

import base64
import os
import re
import shutil
import socket
import sqlite3
import struct
import sys
import tempfile
import threading
import time
import unittest

import nacl.bindings as nb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sealchat_harness as H  # noqa: E402
from sealchat_harness import (D, setUpModule, tearDownModule,  # noqa: E402,F401
                              Client, FakeLink, WAIT, main, uname)

SIGN, AUTH, LIST, UDP, PAIR, PING, LOGOUT, RECHECK, IDENTITY = range(1, 10)
OK, ERROR, USERS, PRESENCE, PAIRKEY, PONG, GOODBYE, UDPREG = range(0x82, 0x8a)
RELAY = 0x01
INIT, RESP = 0x04, 0x05

# Every way a key could be made of Kxy alone: Kxy itself, and each subkey
# of it in every context of the protocol.
KDF_CONTEXTS = (b"SCpeerv1", b"SCphsv1_", b"SCchanv1", b"SCregv1_")


def kxy_keys(kxy):
    """Kxy and its subkeys 1 to 8 in every context of the protocol."""
    return [kxy] + [H.kdf(kxy, i, ctx) for ctx in KDF_CONTEXTS
                    for i in range(1, 9)]


def opens(key, d):
    """Whether a datagram of section 8.2 opens under key."""
    if len(d) < 17 + 16:
        return False
    try:
        nb.crypto_aead_chacha20poly1305_ietf_decrypt(
            d[17:], d[:17], H.nonce(struct.unpack(">Q", d[9:17])[0]), key)
        return True
    except Exception:
        return False


def tag_opens(key, ad, tag):
    """Whether a handshake tag (an AEAD of nothing, nonce 0) opens."""
    try:
        nb.crypto_aead_chacha20poly1305_ietf_decrypt(tag, ad, H.nonce(0),
                                                     key)
        return True
    except Exception:
        return False


def str8(s):
    s = s.encode() if isinstance(s, str) else s
    return bytes([len(s)]) + s


class User:
    """One logged-in connection to the E2E server."""

    def __init__(self, link, name):
        self.link = link
        self.name = name
        self.idkey = None
        self.reg_id = None
        self.k_reg = None
        self.endpoint = None
        self.lock = threading.Lock()

    def send(self, msg):
        with self.lock:
            self.link.send(msg)


class E2EServer:
    """A server of docs/protocol.md that hands out pair keys it chose and
    relays (and records) every datagram of every pair.  substitute maps
    (to, peer) to the identity key to hand `to` for `peer` instead of the
    one `peer` registered; hook(d, src, dst) returns the datagrams to
    forward for d (default: d itself)."""

    def __init__(self):
        self.pk, self.sk = nb.crypto_box_keypair()
        self.dir = tempfile.mkdtemp(prefix="sealchat-e2e-")
        self.pub = os.path.join(self.dir, "fake.pub")
        with open(self.pub, "w") as f:
            f.write(base64.b64encode(self.pk).decode() + "\n")
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.1)
        self.udp_port = self.udp.getsockname()[1]
        self.lock = threading.Lock()
        self.users = {}          # name -> User
        self.pairs = {}          # pair_id -> (name, name)
        self.kxys = {}           # pair_id -> Kxy
        self.recorded = []       # (from name, to name, datagram)
        self.substitute = {}
        self.hook = None
        self.errors = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True),
                        threading.Thread(target=self._relay, daemon=True)]
        for t in self.threads:
            t.start()

    def client_conf(self, name, **extra):
        path = os.path.join(self.dir, name + ".yaml")
        items = {"server_address": "127.0.0.1", "server_port": self.port,
                 "server_public_key": "fake.pub", "connect_timeout": 5,
                 "reply_timeout": 5, "direct_timeout": 100}
        items.update(extra)
        H.write_yaml(path, items)
        return path

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(WAIT)
        self.lsock.close()
        self.udp.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- TCP ---

    def _accept(self):
        while not self.stop.is_set():
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(WAIT)
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            t.start()

    def _serve(self, sock):
        link = FakeLink(self, sock)
        user = None
        try:
            link.accept()
            while not self.stop.is_set():
                try:
                    m = link.recv(timeout=0.2)
                except socket.timeout:
                    continue
                user = self._request(link, user, m)
                if user == "gone":
                    return
        except (EOFError, OSError):
            pass
        except Exception as e:          # reported at the end of the test
            self.errors.append(repr(e))
        finally:
            if isinstance(user, User):
                self._leave(user)
            link.close()

    def _presence(self, user, online):
        """PRESENCE of user to everyone else online."""
        with self.lock:
            others = [u for u in self.users.values() if u is not user]
        for u in others:
            try:
                u.send(bytes([PRESENCE, online]) + str8(user.name))
            except OSError:
                pass

    def _leave(self, user):
        """user is gone: its pairs die, the others hear of it."""
        with self.lock:
            if self.users.get(user.name) is not user:
                return
            del self.users[user.name]
            for pid in [p for p, n in self.pairs.items()
                        if user.name in n]:
                del self.pairs[pid]
        self._presence(user, 0)

    def _request(self, link, user, m):
        t = m[0]
        if t in (SIGN, AUTH):
            n = m[1]
            name = m[2:2 + n].decode().lower()
            user = User(link, name)
            with self.lock:
                old = self.users.get(name)
            if old is not None:
                self._leave(old)
            with self.lock:
                self.users[name] = user
                others = [u for u in self.users if u != name]
            user.send(bytes([OK, t]) + str8(name))
            user.send(bytes([USERS, 0]) + b"".join(str8(o) for o in
                                                     sorted(others)))
            self._presence(user, 1)
        elif t == IDENTITY:
            user.idkey = m[1:33]
        elif t == UDP:
            user.reg_id = struct.unpack(">Q", os.urandom(8))[0]
            user.k_reg = os.urandom(32)
            user.send(bytes([UDPREG]) + struct.pack(">HBQ", self.udp_port,
                                                    RELAY, user.reg_id) +
                      user.k_reg)
        elif t == PAIR:
            self._pair(user, m[2:2 + m[1]].decode())
        elif t == PING:
            user.send(bytes([PONG]) + m[1:9])
        elif t == LOGOUT:
            (user or User(link, "")).send(bytes([GOODBYE, 5]))
            if isinstance(user, User):
                self._leave(user)
            return "gone"
        elif t == LIST:
            with self.lock:
                others = [u for u in self.users if u != user.name]
            user.send(bytes([USERS, 2]) + b"".join(str8(o) for o in
                                                     sorted(others)))
        return user

    def _pairkey(self, to, peer, pair_id, kxy):
        idkey = self.substitute.get((to.name, peer.name), peer.idkey)
        to.send(bytes([PAIRKEY]) + str8(peer.name) +
                struct.pack(">Q", pair_id) + kxy + idkey + bytes([RELAY]))

    def _pair(self, user, name):
        with self.lock:
            peer = self.users.get(name)
        if peer is None:
            user.send(bytes([ERROR, PAIR, 7]) + str8(name))
            return
        if peer.reg_id is None or user.reg_id is None:
            # The peer just logged in: the client asks again (section 5).
            user.send(bytes([ERROR, PAIR, 8]) + str8(name))
            return
        if peer.idkey is None or user.idkey is None:
            user.send(bytes([ERROR, PAIR, 12]) + str8(name))
            return
        pair_id = struct.unpack(">Q", os.urandom(8))[0]
        kxy = os.urandom(32)
        with self.lock:
            self.pairs[pair_id] = (user.name, peer.name)
            self.kxys[pair_id] = kxy
        if peer is not user:
            self._pairkey(peer, user, pair_id, kxy)
        self._pairkey(user, peer, pair_id, kxy)

    # --- UDP ---

    def _relay(self):
        while not self.stop.is_set():
            try:
                d, src = self.udp.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                if d[:1] == b"\x02" and len(d) == 53:
                    self._register(d, src)
                elif d[:1] in (b"\x01", b"\x04", b"\x05") and len(d) > 9:
                    self._forward(d, src)
            except Exception as e:      # reported at the end of the test
                self.errors.append(repr(e))

    def _register(self, d, src):
        reg_id, counter = struct.unpack(">QQ", d[1:17])
        with self.lock:
            user = [u for u in self.users.values() if u.reg_id == reg_id]
        if not user:
            return
        user = user[0]
        k_rc = H.kdf(user.k_reg, 1, b"SCregv1_")
        k_rs = H.kdf(user.k_reg, 2, b"SCregv1_")
        nb.crypto_aead_chacha20poly1305_ietf_decrypt(d[17:], d[:17],
                                                     H.nonce(counter), k_rc)
        user.endpoint = src
        hdr = b"\x03" + d[1:17]
        self.udp.sendto(hdr + nb.crypto_aead_chacha20poly1305_ietf_encrypt(
            H.endpoint(src) + b"\0", hdr, H.nonce(counter), k_rs), src)

    def _forward(self, d, src):
        pair_id = struct.unpack(">Q", d[1:9])[0]
        with self.lock:
            names = self.pairs.get(pair_id)
            users = [self.users.get(n) for n in names or ()]
        if not names or None in users or names[0] == names[1]:
            return
        a, b = users
        if a.endpoint == src:
            frm, to = a, b
        elif b.endpoint == src:
            frm, to = b, a
        else:
            return
        with self.lock:
            self.recorded.append((frm.name, to.name, d))
        out = [d] if self.hook is None else self.hook(d, frm.name, to.name)
        for x in out:
            if to.endpoint is not None:
                self.udp.sendto(x, to.endpoint)

    def datagrams(self, frm=None, first=None):
        """The datagrams recorded (from a user, of a first byte)."""
        with self.lock:
            return [d for f, t, d in self.recorded
                    if (frm is None or f == frm) and
                    (first is None or d[0] == first)]

    def pair_of(self, a, b):
        """(pair_id, Kxy) of the last live pair between a and b."""
        with self.lock:
            for pid in reversed(list(self.pairs)):
                if set(self.pairs[pid]) == {a, b}:
                    return pid, self.kxys[pid]
        return None


def server_best_try(init, resp, pair_id, kxy, name_i, pk_i, name_r, pk_r):
    """What a server can compute of a handshake from Kxy and every public
    value: the state before the first DH and after the ephemeral keys,
    and every key derived of Kxy.  Returns whether any of them opens
    either tag."""
    hs = H.PeerHandshake(True, pair_id, name_i, pk_i, name_r, pk_r, kxy)
    keys = kxy_keys(kxy) + [hs.k, hs.ck, hs.h]
    e_i = init[9:41]
    hs.mix_hash(e_i)
    hs.mix_key(e_i)
    keys += [hs.k, hs.ck]
    for key in keys:
        for ad in (hs.h, b"", init[:41]):
            if tag_opens(key, ad, init[41:57]):
                return True
    hs.mix_hash(init[41:57])
    e_r = resp[9:41]
    hs.mix_hash(e_r)
    hs.mix_key(e_r)
    for key in keys + [hs.k, hs.ck]:
        for ad in (hs.h, b"", resp[:41]):
            if tag_opens(key, ad, resp[41:57]):
                return True
    return False


class WithE2EServer(unittest.TestCase):
    """Tests against E2EServer: two real clients (script mode, kept
    running) whose every datagram the server relays and records."""

    def setUp(self):
        self.srv = E2EServer()
        self.clients = []
        self.addCleanup(self.cleanup)

    def cleanup(self):
        for c in self.clients:
            c.end()
        self.srv.close()
        self.assertEqual(self.srv.errors, [])

    def login(self, name, debug=True, env=None):
        c = Client(self.srv.client_conf(name), args=("--listen",),
                   debug=debug, env=env)
        c.user = name
        self.clients.append(c)
        c.send("auth %s pw" % name)
        c.expect("ok", "auth", name)
        c.next()                        # users
        return c

    def test_no_datagram_opens_with_keys_of_kxy_alone(self):
        """The server knows every Kxy and relays every datagram: none
        opens with Kxy or any key derived from it alone, nor do the
        handshake's tags with all it can compute; the messages still
        arrive, both ways."""
        a, b = uname("alice"), uname("bob")
        ca, cb = self.login(a), self.login(b)
        for i in range(3):
            ca.send("send %s from a %d" % (b, i))
            cb.wait_for("msg", a, "from a %d" % i)
            ca.wait_for("delivered", b)
        cb.send("send %s from b" % a)
        ca.wait_for("msg", b, "from b")
        cb.wait_for("delivered", a)
        pair_id, kxy = self.srv.pair_of(a, b)
        init = self.srv.datagrams(first=INIT)
        resp = self.srv.datagrams(first=RESP)
        data = self.srv.datagrams(first=1)
        self.assertTrue(init and resp, "the handshake crossed the relay")
        self.assertGreaterEqual(len(data), 8, "messages, ACKs, PROBEs")
        for d in data:
            for key in kxy_keys(kxy):
                self.assertFalse(opens(key, d), "a key of Kxy alone opened "
                                 "a datagram")
        # The initiator is the name that sorts first.
        (ni, ci), (nr, cr) = sorted([(a, ca), (b, cb)])
        with self.srv.lock:
            pk = {u.name: u.idkey for u in self.srv.users.values()}
        for d in init + resp:
            self.assertEqual(struct.unpack(">Q", d[1:9])[0], pair_id)
        self.assertFalse(server_best_try(init[0], resp[0], pair_id, kxy,
                                         ni, pk[ni], nr, pk[nr]))
        # Every INIT is the same bytes (sent again, never remade).
        self.assertEqual(len(set(init)), 1)

    def test_substituted_identity_key_shown_nothing_sent_then_trust(self):
        """alice has talked to bob; then the server hands her another key
        for bob, a substitute's: she prints "identity bob changed", sends
        it nothing at all while told to send, and after "trust bob" talks
        with the substitute, a peer written in Python."""
        a, b = uname("alice"), uname("bob")
        ca, cb = self.login(a), self.login(b)
        ca.send("send %s hello" % b)
        cb.wait_for("msg", a, "hello")
        ca.wait_for("delivered", b)
        cb.send("quit")
        self.assertEqual(cb.wait(), 0)
        ca.wait_for("offline", b)
        # A substitute logs in as bob, with an identity key of its own.
        raw = H.RawClient(self.srv.port, self.srv.pub)
        self.addCleanup(raw.close)
        raw.login(SIGN, b, "pw")
        raw.open_udp(register=True)
        with self.srv.lock:
            before = len(self.srv.recorded)
        ca.send("send %s are you there" % b)
        ca.wait_for("identity", b, "changed")
        rec = ca.next()
        self.assertEqual(rec[0], "error")
        self.assertEqual(rec[1], "send")
        self.assertIn("identity key of %s changed" % b, rec[2])
        ca.send("peers")
        self.assertEqual(ca.next()[:3], ("peer", b, "blocked"))
        pair = H.RawPeer(raw, b, a, *raw.wait_pairkey(a))
        # Nothing at all from alice: not to the substitute's socket, not
        # through the relay.
        self.assertIsNone(raw.udp_recv(1.5))
        with self.srv.lock:
            self.assertEqual([f for f, t, d in self.srv.recorded[before:]
                              if f == a], [])
        # What the substitute sends is dropped unanswered.
        forged = bytes([INIT]) + struct.pack(">Q", pair.pair_id) + \
            os.urandom(48)
        raw.udp.sendto(forged, raw.server_udp)
        deadline = time.monotonic() + WAIT
        while "reason=not-trusted" not in "".join(ca.err):
            self.assertLess(time.monotonic(), deadline, ca.stderr())
            time.sleep(0.05)
        self.assertIsNone(raw.udp_recv(0.3))
        ca.send("trust %s" % b)
        ca.wait_for("identity", b, "trusted")
        ca.send("send %s after trust" % b)
        got = pair.recv(5)
        while got is not None and got[1][2] != 1:
            got = pair.recv(5)
        self.assertIsNotNone(got, "the message reached the substitute")
        self.assertEqual(got[1][4], b"after trust")
        pair.put(pair.seal(2, got[1][3]))
        ca.wait_for("delivered", b)
        pair.send_until_ack(1, b"from the substitute")
        ca.wait_for("msg", b, "from the substitute")

    def test_lost_init_duplicated_resp_and_replays_open_nothing(self):
        """The relay drops the first INIT and sends every RESP twice: the
        conversation starts.  Then every handshake datagram is replayed to
        both sides: nothing opens, nothing is shown, and the conversation
        goes on under the same keys."""
        a, b = uname("alice"), uname("bob")
        seen = {"init": 0}

        def hook(d, frm, to):
            if d[0] == INIT:
                seen["init"] += 1
                if seen["init"] == 1:
                    return []
            if d[0] == RESP:
                return [d, d]
            return [d]

        self.srv.hook = hook
        ca, cb = self.login(a), self.login(b)
        ca.send("send %s through the losses" % b)
        cb.wait_for("msg", a, "through the losses")
        ca.wait_for("delivered", b)
        self.assertGreaterEqual(seen["init"], 2)
        self.srv.hook = None
        time.sleep(0.3)
        with self.srv.lock:
            users = dict(self.srv.users)
        for d in self.srv.datagrams(first=INIT) + \
                self.srv.datagrams(first=RESP):
            for u in users.values():
                self.srv.udp.sendto(d, u.endpoint)
        time.sleep(0.5)
        # Replayed INIT and RESP: taken by no one (the responder's copy
        # of INIT no longer answered once the keys were in use).
        for c in (ca, cb):
            err = "".join(c.err)
            self.assertGreaterEqual(len(re.findall(
                r"reason=handshake-not-taken", err)), 1, err[-2000:])
            self.assertEqual(len(re.findall(r"handshake done", err)), 1)
        self.assertEqual(ca.quiet(0.2) + cb.quiet(0.2), [])
        cb.send("send %s still here" % a)
        ca.wait_for("msg", b, "still here")
        cb.wait_for("delivered", a)


def key_of(data_home, server_pk, user):
    """The identity public key a client keeps under data_home."""
    fpr = base64.b64encode(nb.crypto_hash_sha256(server_pk)).decode()
    folder = fpr.rstrip("=").replace("+", "-").replace("/", "_")
    path = os.path.join(data_home, "sealchat", folder, user, "identity")
    with open(path) as f:
        sk = base64.b64decode(f.read().strip())
    st = os.stat(path)
    return nb.crypto_scalarmult_base(sk), sk, st.st_mode & 0o777


class WithTheDaemon(unittest.TestCase):
    """Safety numbers and a new device, with the real sealchatd."""

    def test_verify_equal_both_sides_new_device_changes_it(self):
        """alice and bob verify: the same number.  bob logs in from a new
        device (another XDG_DATA_HOME): alice sees "identity bob changed",
        her number for him changes and equals his new one; after trust
        the conversation goes on.  The daemon keeps bob's new public key
        beside his account, and no secret key."""
        a, b = uname("alice"), uname("bob")
        H.signed(a)
        H.signed(b)
        ca = H.listener(a, "pw-x", args=("-d",))
        cb = H.listener(b, "pw-x")
        try:
            ca.send("send %s hi" % b)
            cb.wait_for("msg", a, "hi")
            ca.wait_for("delivered", b)
            ca.send("verify %s" % b)
            cb.send("verify %s" % a)
            na = ca.next()
            nb_ = cb.next()
            self.assertEqual(na[:2], ("verify", b))
            self.assertEqual(nb_[:2], ("verify", a))
            self.assertRegex(na[2], r"^(\d{5} ){11}\d{5}$")
            self.assertEqual(na[2], nb_[2])
            old_pk, _, mode = key_of(H.DATA_HOME, D.pk, b)
            self.assertEqual(mode, 0o600)
            cb.end()
            ca.wait_for("offline", b)
            # bob on a new device.
            home = tempfile.mkdtemp(prefix="sealchat-device-")
            self.addCleanup(shutil.rmtree, home, True)
            cb = Client(D.client_conf(), args=("--listen",),
                        env={"XDG_DATA_HOME": home})
            cb.send("auth %s pw-x" % b)
            cb.expect("ok", "auth", b)
            cb.next()
            new_pk, new_sk, _ = key_of(home, D.pk, b)
            self.assertNotEqual(new_pk, old_pk)
            ca.wait_for("online", b)
            ca.send("send %s are you still you" % b)
            ca.wait_for("identity", b, "changed")
            self.assertEqual(ca.next()[:2], ("error", "send"))
            self.assertEqual(cb.quiet(0.5), [])
            ca.send("verify %s" % b)
            cb.send("verify %s" % a)
            na2, nb2 = ca.next(), cb.next()
            self.assertNotEqual(na2[2], na[2])
            self.assertEqual(na2[2], nb2[2])
            ca.send("trust %s" % b)
            ca.expect("identity", b, "trusted")
            ca.send("send %s welcome back" % b)
            cb.wait_for("msg", a, "welcome back")
            ca.wait_for("delivered", b)
            # The daemon: the new public key beside the account, and the
            # secret key nowhere in its files.
            self.assertTrue(D.wait_log("identity key changed"))
            db = sqlite3.connect("file:%s?mode=ro" % D.db, uri=True)
            row = db.execute("SELECT identity FROM accounts WHERE name = ?",
                             (b,)).fetchone()
            db.close()
            self.assertEqual(bytes(row[0]), new_pk)
            for name in os.listdir(D.dir):
                p = os.path.join(D.dir, name)
                if os.path.isfile(p):
                    with open(p, "rb") as f:
                        self.assertNotIn(new_sk, f.read(), name)
        finally:
            ca.end()
            cb.end()


if __name__ == "__main__":
    sys.exit(main())
