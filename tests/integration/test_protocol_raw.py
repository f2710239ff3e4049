#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Speaks the sealchat wire protocol, written from docs/protocol.md alone,
with PyNaCl and the standard library, against the real sealchatd.

The codec below is this file's own, on purpose: it is what an independent
implementation of the document would write.  The daemon it talks to, and
the runner, are the harness's (sealchat_harness.py): each test starts from
a daemon on 127.0.0.1 with an ephemeral port and a temporary folder
(configuration, keys, database), either the module's or one of its own
with special settings, and names the behaviour it proves.
Run: SEALCHATD=/path/to/sealchatd /usr/bin/python3 THIS_FILE [WORD...]
"""

import base64
import hashlib
import os
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import nacl.bindings as nb
import nacl.exceptions
import nacl.public

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sealchat_harness as harness  # noqa: E402

TEST_TIMEOUT = 40          # seconds per test, so a bug cannot hang ctest
HOST = "127.0.0.1"

# Message types (section 4).
SIGN, AUTH, LIST, UDP, PAIR, PING, LOGOUT, RECHECK, IDENTITY = range(1, 10)
WELCOME, OK, ERROR, USERS, PRESENCE, PAIRKEY, PONG, GOODBYE, UDPREG, \
    CANDIDATES = range(0x81, 0x8b)
RCPT, STORE, STOREACK, STOREKEEP = range(0x0a, 0x0e)   # section 12
RCPTKEY, QUEUED, STORED, STORENOTE = range(0x8b, 0x8f)
MORE, REPLY = 0x01, 0x02
RELAY = 0x01                # PAIRKEY, CANDIDATES and UDPREG flag
CAND_HOST, CAND_SRFLX = 1, 2   # candidate kinds
HELLO_BODY = 113


class TestFailure(AssertionError):
    """A check() that did not hold."""


class Closed(Exception):
    """The server closed the connection."""


class Rejected(Exception):
    def __init__(self, reason, key=None):
        super().__init__("REJECT reason %d" % reason)
        self.reason = reason
        self.key = key


def check(cond, what):
    if not cond:
        raise TestFailure(what)


# ---------------------------------------------------------------- crypto

def blake2b_256(data, key=b""):
    return hashlib.blake2b(data, digest_size=32, key=key).digest()


def kdf(key, subkey_id, ctx):
    """crypto_kdf_derive_from_key(32, id, ctx, key), as section 2.3 says."""
    salt = struct.pack("<Q", subkey_id) + b"\0" * 8
    person = ctx + b"\0" * 8
    return hashlib.blake2b(b"", digest_size=32, key=key, salt=salt,
                           person=person).digest()


def nonce(counter):
    return b"\0\0\0\0" + struct.pack("<Q", counter)


def aead_seal(key, counter, msg):
    return nb.crypto_aead_chacha20poly1305_ietf_encrypt(msg, None,
                                                        nonce(counter), key)


def aead_open(key, counter, body):
    return nb.crypto_aead_chacha20poly1305_ietf_decrypt(body, None,
                                                        nonce(counter), key)


def aead_seal_ad(key, counter, msg, ad):
    return nb.crypto_aead_chacha20poly1305_ietf_encrypt(msg, ad,
                                                        nonce(counter), key)


def aead_open_ad(key, counter, body, ad):
    return nb.crypto_aead_chacha20poly1305_ietf_decrypt(body, ad,
                                                        nonce(counter), key)


# ---------------------------------------------------------------- codec

def str8(s):
    b = s.encode() if isinstance(s, str) else s
    return bytes([len(b)]) + b


def frame(body):
    return struct.pack(">I", len(body)) + body


def enc_cred(op, name, password):
    p = password.encode() if isinstance(password, str) else password
    return bytes([op]) + str8(name) + struct.pack(">H", len(p)) + p


def read_cands(msg, off):
    """Candidate entries to the end: (kind, af, address bytes, port)."""
    cands = []
    while off < len(msg):
        kind, af = msg[off], msg[off + 1]
        check(kind in (1, 2) and af in (4, 6), "candidate kind and family")
        alen = 4 if af == 4 else 16
        addr = msg[off + 2:off + 2 + alen]
        port, = struct.unpack(">H", msg[off + 2 + alen:off + 4 + alen])
        check(len(addr) == alen and port != 0, "candidate length and port")
        cands.append((kind, af, addr, port))
        off += 4 + alen
    check(off == len(msg), "candidate entries length")
    return cands


def read_str8(b, off):
    n = b[off]
    return b[off + 1:off + 1 + n].decode(), off + 1 + n


def decode(msg):
    """Decodes a server message into a tuple whose first item is its type."""
    t = msg[0]
    if t == OK:
        name, off = read_str8(msg, 2)
        check(off == len(msg), "OK length")
        return ("OK", msg[1], name)
    if t == ERROR:
        subj, off = read_str8(msg, 3)
        check(off == len(msg), "ERROR length")
        return ("ERROR", msg[1], msg[2], subj)
    if t == USERS:
        flags, off, names = msg[1], 2, []
        while off < len(msg):
            name, off = read_str8(msg, off)
            names.append(name)
        return ("USERS", flags, names)
    if t == PRESENCE:
        off, events = 1, []
        while off < len(msg):
            ev = msg[off]
            name, off = read_str8(msg, off + 1)
            events.append((ev, name))
        check(events, "PRESENCE without entries")
        return ("PRESENCE", events)
    if t == PAIRKEY:
        peer, off = read_str8(msg, 1)
        pair_id, = struct.unpack(">Q", msg[off:off + 8])
        key = msg[off + 8:off + 40]
        idkey = msg[off + 40:off + 72]
        check(len(idkey) == 32 and idkey != bytes(32), "PAIRKEY identity")
        flags = msg[off + 72]
        cands = read_cands(msg, off + 73)
        check(cands, "PAIRKEY without a candidate")
        kind, af, addr, port = cands[0]
        return ("PAIRKEY", peer, pair_id, key, af, addr, port, flags, cands,
                idkey)
    if t == PONG:
        check(len(msg) == 9, "PONG length")
        return ("PONG", struct.unpack(">Q", msg[1:])[0])
    if t == GOODBYE:
        check(len(msg) == 2, "GOODBYE length")
        return ("GOODBYE", msg[1])
    if t == UDPREG:
        check(len(msg) == 44, "UDPREG length")
        port, flags, reg_id = struct.unpack(">HBQ", msg[1:12])
        check(port != 0 and flags & ~RELAY == 0, "UDPREG port and flags")
        return ("UDPREG", port, flags, reg_id, msg[12:44])
    if t == CANDIDATES:
        pair_id, flags = struct.unpack(">QB", msg[1:10])
        check(flags & ~RELAY == 0, "CANDIDATES flags")
        return ("CANDIDATES", pair_id, flags, read_cands(msg, 10))
    if t == RCPTKEY:
        name, off = read_str8(msg, 1)
        check(len(msg) == off + 32 and msg[off:] != bytes(32), "RCPTKEY")
        return ("RCPTKEY", name, msg[off:])
    if t == QUEUED:
        name, off = read_str8(msg, 1)
        check(len(msg) == off + 16, "QUEUED length")
        return ("QUEUED", name, msg[off:])
    if t == STORED:
        mid = msg[1:17]
        sender, off = read_str8(msg, 17)
        key = msg[off:off + 32]
        stime, blen = struct.unpack(">QH", msg[off + 32:off + 42])
        box = msg[off + 42:]
        check(len(key) == 32 and len(box) == blen and 65 <= blen <= 1065,
              "STORED layout")
        return ("STORED", mid, sender, key, stime, box)
    if t == STORENOTE:
        name, off = read_str8(msg, 2)
        check(msg[1] in (1, 2) and len(msg) == off + 16, "STORENOTE")
        return ("STORENOTE", msg[1], name, msg[off:])
    if t == WELCOME:
        check(len(msg) == 10, "WELCOME length")
        ver, maxf, kai, kat = struct.unpack(">BIHH", msg[1:])
        return ("WELCOME", ver, maxf, kai, kat)
    raise TestFailure("unknown server message type 0x%02x" % t)


# ---------------------------------------------------------------- UDP

REGISTER, REGISTERED = 0x02, 0x03
REG_LEN = 53


def reg_keys(k_reg):
    """(k_rc, k_rs) of section 9.1."""
    return kdf(k_reg, 1, b"SCregv1_"), kdf(k_reg, 2, b"SCregv1_")


def enc_register(reg_id, counter, k_rc, plain=b"\0" * 20, first=REGISTER):
    """A REGISTER of section 9.2 (or, with first, its shape)."""
    hdr = bytes([first]) + struct.pack(">QQ", reg_id, counter)
    return hdr + aead_seal_ad(k_rc, counter, plain, hdr)


def endpoint(data):
    """A 19-byte endpoint (section 8): (af, address bytes, port)."""
    af, port = data[0], struct.unpack(">H", data[17:19])[0]
    check(af in (4, 6), "endpoint af")
    if af == 4:
        check(data[5:17] == b"\0" * 12, "IPv4 endpoint padding")
        return (4, data[1:5], port)
    return (6, data[1:17], port)


def dec_registered(d, k_rs):
    """(reg_id, counter, endpoint) of a REGISTERED."""
    check(len(d) == REG_LEN and d[0] == REGISTERED, "REGISTERED shape")
    reg_id, counter = struct.unpack(">QQ", d[1:17])
    plain = aead_open_ad(k_rs, counter, d[17:], d[:17])
    check(len(plain) == 20 and plain[19] == 0, "REGISTERED plaintext")
    return reg_id, counter, endpoint(plain[:19])


INIT, RESP = 0x04, 0x05
PEERHS_LEN = 57


class PeerHandshake:
    """One side of the peers' handshake of section 8.1 (Noise KKpsk0 on
    BLAKE2b): me and peer are (name, identity public key), s_sk my
    identity secret, psk the Kxy of PAIRKEY."""

    def __init__(self, pair_id, me, peer, s_sk, psk):
        self.initiator = me[0].encode() < peer[0].encode()
        (ni, pki), (nr, pkr) = (me, peer) if self.initiator else (peer, me)
        self.pair_id, self.s_sk, self.peer_pk = pair_id, s_sk, peer[1]
        self.h = blake2b_256(b"sealchat/1 peer handshake KKpsk0")
        self.ck = self.h
        self.mix_hash(struct.pack(">Q", pair_id) + str8(ni) + str8(nr))
        self.mix_hash(pki)
        self.mix_hash(pkr)
        t = blake2b_256(psk, key=self.ck)
        self.ck = kdf(t, 1, b"SCphsv1_")
        self.mix_hash(kdf(t, 2, b"SCphsv1_"))

    def mix_hash(self, data):
        self.h = blake2b_256(self.h + data)

    def mix_key(self, data):
        t = blake2b_256(data, key=self.ck)
        self.ck, self.k = kdf(t, 1, b"SCphsv1_"), kdf(t, 2, b"SCphsv1_")

    def tag(self, seal, c=None):
        if seal:
            c = aead_seal_ad(self.k, 0, b"", self.h)
        else:
            aead_open_ad(self.k, 0, c, self.h)
        self.mix_hash(c)
        return c

    def keys(self):
        """(my sending key, my receiving key)."""
        t = blake2b_256(b"", key=self.ck)
        i2r, r2i = kdf(t, 1, b"SCphsv1_"), kdf(t, 2, b"SCphsv1_")
        return (i2r, r2i) if self.initiator else (r2i, i2r)

    def init(self):
        e_pk, self.e_sk = nb.crypto_box_keypair()
        self.mix_hash(e_pk)
        self.mix_key(e_pk)
        self.mix_key(nb.crypto_scalarmult(self.e_sk, self.peer_pk))
        self.mix_key(nb.crypto_scalarmult(self.s_sk, self.peer_pk))
        return bytes([INIT]) + struct.pack(">Q", self.pair_id) + e_pk + \
            self.tag(True)

    def resp(self, init):
        """The RESP to an INIT; raises when it does not open."""
        check(len(init) == PEERHS_LEN and init[0] == INIT, "INIT shape")
        e_i = init[9:41]
        self.mix_hash(e_i)
        self.mix_key(e_i)
        self.mix_key(nb.crypto_scalarmult(self.s_sk, e_i))
        self.mix_key(nb.crypto_scalarmult(self.s_sk, self.peer_pk))
        self.tag(False, init[41:])
        e_pk, e_sk = nb.crypto_box_keypair()
        self.mix_hash(e_pk)
        self.mix_key(e_pk)
        self.mix_key(nb.crypto_scalarmult(e_sk, e_i))
        self.mix_key(nb.crypto_scalarmult(e_sk, self.peer_pk))
        return bytes([RESP]) + struct.pack(">Q", self.pair_id) + e_pk + \
            self.tag(True)

    def finish(self, resp):
        """Takes a RESP; raises when it does not open."""
        check(len(resp) == PEERHS_LEN and resp[0] == RESP, "RESP shape")
        e_r = resp[9:41]
        self.mix_hash(e_r)
        self.mix_key(e_r)
        self.mix_key(nb.crypto_scalarmult(self.e_sk, e_r))
        self.mix_key(nb.crypto_scalarmult(self.s_sk, e_r))
        self.tag(False, resp[41:])


def enc_dgram(key, pair_id, counter, kind, msg_id, body=b""):
    """A peer datagram of section 8."""
    hdr = bytes([1]) + struct.pack(">QQ", pair_id, counter)
    payload = bytes([kind]) + struct.pack(">Q", msg_id) + body
    return hdr + aead_seal_ad(key, counter, payload, hdr)


def v4(text):
    return (4, socket.inet_aton(text))


class Udp:
    """A client's UDP socket on 127.0.0.1."""

    def __init__(self, ip=HOST):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.addr = self.sock.getsockname()
        self.counter = 0

    def close(self):
        self.sock.close()

    def send(self, data, port):
        self.sock.sendto(data, (HOST, port))

    def recv(self, timeout=2.0):
        """(datagram, source), or None after timeout."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recvfrom(4096)
        except socket.timeout:
            return None

    def register(self, reg, port, counter=None):
        """Sends a REGISTER for UDPREG reg; returns the REGISTERED's
        (reg_id, counter, endpoint), checking its source and size."""
        if counter is None:
            counter = self.counter
            self.counter += 1
        k_rc, k_rs = reg_keys(reg[4])
        self.send(enc_register(reg[3], counter, k_rc), port)
        got = self.recv()
        check(got is not None, "REGISTERED came back")
        d, src = got
        check(src == (HOST, port), "REGISTERED from the server's port")
        check(len(d) == REG_LEN, "REGISTERED as long as REGISTER")
        return dec_registered(d, k_rs)


# ---------------------------------------------------------------- connections

class Conn:
    """A TCP connection that reads whole frames."""

    def __init__(self, port, src=None, timeout=5.0, host=HOST, rcvbuf=None):
        if rcvbuf is None:
            self.sock = socket.create_connection(
                (host, port), timeout=timeout,
                source_address=(src, 0) if src else None)
        else:
            # A small window must be set before connecting.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        self.buf = b""
        self.opened = time.monotonic()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no frame in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk

    def recv_frame(self, timeout=5.0, limit=1048576):
        deadline = time.monotonic() + timeout
        while len(self.buf) < 4:
            self._fill(deadline)
        n, = struct.unpack(">I", self.buf[:4])
        check(1 <= n <= limit, "frame length %d out of bounds" % n)
        while len(self.buf) < 4 + n:
            self._fill(deadline)
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return body

    def wait_closed(self, timeout):
        """True when the server closes within timeout with no frame sent."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill(deadline)
            except Closed:
                return not self.buf
            except socket.timeout:
                return False
            if self.buf:
                return False


class Client(Conn):
    """A sealchat client: handshake, then the encrypted channel."""

    def __init__(self, port, server_pk, src=None, timeout=5.0, host=HOST,
                 rcvbuf=None):
        super().__init__(port, src, timeout, host, rcvbuf)
        self.server_pk = server_pk
        self.tx = self.rx = None
        self.tx_ctr = self.rx_ctr = 0
        self.max_frame = 1048576
        self.welcome = None
        self.hello = None
        self.sent = []          # raw frames sent after the handshake
        self.id_pk, self.id_sk = nb.crypto_box_keypair()   # identity

    def make_hello(self):
        self.k = os.urandom(32)
        self.e_pk, self.e_sk = nb.crypto_box_keypair()
        sealed = nb.crypto_box_seal(self.k + self.e_pk, self.server_pk)
        self.hello = b"\x01" + sealed
        check(len(self.hello) == HELLO_BODY, "HELLO is 113 bytes")
        return frame(self.hello)

    def derive(self, e_s):
        dh = nb.crypto_scalarmult(self.e_sk, e_s)
        h = blake2b_256(b"sealchat/1 handshake" + self.server_pk +
                        self.hello + e_s)
        master = blake2b_256(dh + h, key=self.k)
        return kdf(master, 1, b"SCchanv1"), kdf(master, 2, b"SCchanv1")

    def handshake(self, hello_frame=None):
        self.send_raw(hello_frame or self.make_hello())
        body = self.recv_frame(timeout=5.0)
        if len(body) == 2 and body[0] == 0:
            raise Rejected(body[1])
        if len(body) == 34 and body[0] == 0 and body[1] == 2:
            raise Rejected(body[1], body[2:])
        check(len(body) >= 49, "CONFIRM is at least 49 bytes")
        e_s = body[:32]
        self.tx, self.rx = self.derive(e_s)
        msg = aead_open(self.rx, 0, body[32:])
        self.rx_ctr = 1
        self.welcome = decode(msg)
        check(self.welcome[0] == "WELCOME" and self.welcome[1] == 1,
              "WELCOME version 1")
        self.max_frame = self.welcome[2]
        return self.welcome

    def send_msg(self, msg):
        body = aead_seal(self.tx, self.tx_ctr, msg)
        self.tx_ctr += 1
        raw = frame(body)
        self.sent.append(raw)
        self.send_raw(raw)

    def recv_msg(self, timeout=5.0):
        body = self.recv_frame(timeout, self.max_frame)
        msg = aead_open(self.rx, self.rx_ctr, body)
        self.rx_ctr += 1
        return decode(msg)

    def expect(self, kind, timeout=5.0):
        m = self.recv_msg(timeout)
        check(m[0] == kind, "expected %s, got %r" % (kind, m))
        return m

    def login(self, op, name, password):
        self.send_msg(enc_cred(op, name, password))
        return self.recv_msg(timeout=10.0)

    def ping(self, token=7):
        self.send_msg(bytes([PING]) + struct.pack(">Q", token))

    def list(self):
        self.send_msg(bytes([LIST]))

    def udp(self, port, hosts=()):
        """UDP with the port and local addresses [(af, address bytes)];
        returns the UDPREG that answers it (PRESENCE before it is
        dropped)."""
        body = bytes([UDP]) + struct.pack(">H", port)
        for af, addr in hosts:
            body += bytes([af]) + addr
        self.send_msg(body)
        return self.expect_past("UDPREG")

    def pair(self, name):
        self.send_msg(bytes([PAIR]) + str8(name))

    def identity(self):
        """IDENTITY: the user's identity public key (section 4)."""
        self.send_msg(bytes([IDENTITY]) + self.id_pk)

    def recheck(self, pair_id):
        self.send_msg(bytes([RECHECK]) + struct.pack(">Q", pair_id))

    def expect_past(self, kind, timeout=5.0):
        """The next message that is not PRESENCE, which must be kind."""
        m = self.recv_msg(timeout)
        while m[0] == "PRESENCE":
            m = self.recv_msg(timeout)
        check(m[0] == kind, "expected %s, got %r" % (kind, m))
        return m

    def quiet(self):
        """Nothing but PRESENCE is waiting: a PING's PONG comes next."""
        self.ping(77)
        check(self.expect_past("PONG") == ("PONG", 77), "nothing else came")

    def read_users(self, timeout=5.0):
        """Reads one whole USERS list (frames up to the one without MORE)."""
        names, flags_seen = [], []
        while True:
            m = self.expect("USERS", timeout)
            flags_seen.append(m[1])
            names += m[2]
            if not m[1] & MORE:
                return names, flags_seen

    def presence_until(self, want, timeout=5.0):
        """Collects PRESENCE events until every (event, name) in want."""
        got, deadline = [], time.monotonic() + timeout
        while not all(w in got for w in want):
            m = self.recv_msg(max(0.01, deadline - time.monotonic()))
            check(m[0] == "PRESENCE", "expected PRESENCE, got %r" % (m,))
            got += m[1]
        return got


# ---------------------------------------------------------------- daemon

class Daemon(harness.Daemon):
    """The harness's sealchatd, with the settings these tests count on (a
    login deadline of 3 s, no delay after a failed login), reached through
    this file's codec.  Nothing runs until start()."""

    def __init__(self, host=HOST, env=None, **conf):
        settings = {"login_timeout": 3, "fail_delay_ms": 0}
        settings.update(conf)
        super().__init__(host=host, env=env, **settings)

    def client(self, **kw):
        c = Client(self.port, self.pk, host=self.host, **kw)
        c.handshake()
        return c

    def user(self, name, password="pw-" + "x" * 8, op=SIGN, identity=True):
        """A logged-in client; its initial USERS list is in .initial.
        With identity, it registers its identity key, as a client does
        before it can pair."""
        c = self.client()
        m = c.login(op, name, password)
        check(m == ("OK", op, name.lower()), "login of %s: %r" % (name, m))
        c.name = name.lower()
        c.initial, _ = c.read_users()
        if identity:
            c.identity()
        return c


# ---------------------------------------------------------------- tests
# The module's daemon D serves the tests that need no special settings.

D = Daemon(max_frame=65536)
setUpModule, tearDownModule = harness.module_fixture(D)


def run_daemon(args, cwd):
    p = subprocess.run([harness.SEALCHATD] + args, cwd=cwd,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=20)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise TestFailure("no VmRSS")


def drain(clients):
    for c in clients:
        c.sock.setblocking(False)
        try:
            while c.sock.recv(1 << 20):
                pass
        except (BlockingIOError, OSError):
            pass


class Accounts(unittest.TestCase):
    """Sign-up, login and their errors, on the module's daemon."""

    def test_signup_login_and_list(self):
        """SIGN logs in with OK, the initial USERS list excludes oneself and
        is sorted, LIST answers with REPLY, AUTH folds upper case."""
        a = D.user("alice", "secret-a")
        check("alice" not in a.initial,
              "the list never includes the receiver")
        b = D.user("bob", "secret-b")
        check("alice" in b.initial and "bob" not in b.initial,
              "bob sees alice")
        a.presence_until([(1, "bob")])
        a.list()
        names, flags = a.read_users()
        check(flags[-1] & REPLY, "LIST answer has REPLY")
        check("bob" in names and "alice" not in names, "LIST: bob, not alice")
        check(names == sorted(names, key=lambda s: s.encode()), "byte order")
        c = D.client()
        m = c.login(AUTH, "BoB", "secret-b")
        check(m == ("OK", AUTH, "bob"), "AUTH folds the name: %r" % (m,))
        for x in (a, b, c):
            x.close()

    def test_wrong_password_and_unknown_user_same_error(self):
        """AUTH with a wrong password and with an unknown name both get
        ERROR 1, byte for byte the same answer."""
        D.user("dora", "right").close()
        c = D.client()
        m1 = c.login(AUTH, "dora", "wrong")
        m2 = c.login(AUTH, "nobody-here", "wrong")
        check(m1 == ("ERROR", AUTH, 1, "") and m2 == m1,
              "same ERROR 1: %r %r" % (m1, m2))
        m3 = c.login(AUTH, "dora", "right")
        check(m3 == ("OK", AUTH, "dora"), "login after failures still works")
        c.close()

    def test_taken_name(self):
        """SIGN of a registered name gets ERROR 2; the old password still
        works."""
        D.user("erin", "one").close()
        c = D.client()
        check(c.login(SIGN, "Erin", "two") == ("ERROR", SIGN, 2, ""),
              "name taken")
        check(c.login(AUTH, "erin", "two") == ("ERROR", AUTH, 1, ""),
              "no second password")
        check(c.login(AUTH, "erin", "one")[0] == "OK", "first password works")
        c.close()

    def test_bad_name_and_password_rules(self):
        """A well-formed SIGN breaking the name rules gets ERROR 3, an empty
        or overlong password ERROR 4, and the session stays usable."""
        c = D.client()
        check(c.login(SIGN, "-bad", "pw") == ("ERROR", SIGN, 3, ""),
              "bad name")
        check(c.login(SIGN, "x" * 33, "pw") == ("ERROR", SIGN, 3, ""), "long")
        check(c.login(AUTH, "frank", "") == ("ERROR", AUTH, 4, ""), "empty pw")
        check(c.login(SIGN, "frank", "p" * 257) == ("ERROR", SIGN, 4, ""),
              "long password")
        check(c.login(SIGN, "frank", "p" * 256)[0] == "OK",
              "256 bytes is fine")
        c.close()

    def test_state_rules(self):
        """Requests outside their state get ERROR 6 and change nothing."""
        c = D.client()
        c.list()
        check(c.expect("ERROR")[1:3] == (LIST, 6), "LIST before login")
        c.pair("alice")
        check(c.recv_msg() == ("ERROR", PAIR, 6, "alice"), "PAIR before login")
        c.ping(99)
        check(c.recv_msg() == ("PONG", 99), "PING before login")
        check(c.login(SIGN, "gina", "pw")[0] == "OK", "then SIGN works")
        c.read_users()
        check(c.login(AUTH, "gina", "pw") == ("ERROR", AUTH, 6, ""),
              "AUTH while logged in")
        c.ping(5)
        check(c.recv_msg() == ("PONG", 5), "still online")
        c.close()

    def test_logout_goodbye(self):
        """LOGOUT is answered with GOODBYE 5 and the server closes."""
        c = D.user("hank")
        c.send_msg(bytes([LOGOUT]))
        check(c.recv_msg() == ("GOODBYE", 5), "GOODBYE 5")
        check(c.wait_closed(2), "closed after GOODBYE")

    def test_no_secret_in_log(self):
        """Passwords made here never show in the daemon's debug log, as they
        are or in hex: not at a sign-up, a login with the name in upper
        case, a wrong password, a sign-up under a taken name, nor a login
        that replaces an older session."""
        good, wrong, taken = ("pw-%s" % os.urandom(12).hex()
                              for _ in range(3))
        first = D.user("keeper", good)
        c = D.client()
        check(c.login(AUTH, "KEEPER", wrong) == ("ERROR", AUTH, 1, ""),
              "wrong password refused")
        check(c.login(SIGN, "keeper", taken) == ("ERROR", SIGN, 2, ""),
              "name taken")
        check(c.login(AUTH, "Keeper", good) == ("OK", AUTH, "keeper"),
              "login with the right password")
        m = first.recv_msg()
        while m[0] == "PRESENCE":
            m = first.recv_msg()
        check(m == ("GOODBYE", 2), "the older session replaced: %r" % (m,))
        c.close()
        first.close()
        time.sleep(0.3)
        text = D.log_text()
        check("keeper" in text, "the logins are in the log")
        for pw in (good, wrong, taken):
            for form in (pw, pw.encode().hex()):
                check(form not in text, "a password in the log: %s" % form)


class Channel(unittest.TestCase):
    """The handshake and the encrypted channel: what does not open,
    replays, bad lengths, garbage, and the login deadline."""

    def test_replayed_handshake_and_auth_achieve_nothing(self):
        """A recorded HELLO and AUTH replayed on a new connection: the
        answer does not open with the old keys, no OK comes, the connection
        closes, and a watching client sees no presence change."""
        D.user("ivan", "ivan-pw").close()
        w = D.user("watcher1")
        rec = Client(D.port, D.pk)
        hello_frame = rec.make_hello()
        rec.handshake(hello_frame)
        old_rx = rec.rx
        m = rec.login(AUTH, "ivan", "ivan-pw")
        check(m == ("OK", AUTH, "ivan"), "recorded login works")
        auth_frame = rec.sent[-1]
        rec.read_users()
        w.presence_until([(1, "ivan")])
        rec.send_msg(bytes([LOGOUT]))
        rec.expect("GOODBYE")
        rec.close()
        w.presence_until([(0, "ivan")])

        rep = Conn(D.port)
        rep.send_raw(hello_frame)
        confirm = rep.recv_frame()
        check(len(confirm) >= 49, "replayed HELLO gets a CONFIRM")
        try:
            aead_open(old_rx, 0, confirm[32:])
            opened = True
        except Exception:
            opened = False
        check(not opened, "the answer does not open with the recorded keys")
        rep.send_raw(auth_frame)
        check(rep.wait_closed(3), "replayed AUTH: closed without any answer")
        w.ping(42)
        check(w.recv_msg() == ("PONG", 42),
              "no presence event reached watcher")
        w.close()

    def test_wrong_server_key_rejected(self):
        """A client pinning another key gets REJECT 2, with the server's
        public key, and never sends a credential."""
        other = bytes(nacl.public.PrivateKey.generate().public_key)
        c = Client(D.port, other)
        try:
            c.handshake()
            raise TestFailure("handshake with a wrong key succeeded")
        except Rejected as e:
            check(e.reason == 2, "REJECT reason 2")
            check(e.key == D.pk, "REJECT 2 names the server's key")
        check(c.sent == [], "no credential sent")
        check(c.wait_closed(2), "closed after REJECT")

    def test_unknown_version_rejected(self):
        """A HELLO with version byte 2 gets REJECT 1."""
        c = Client(D.port, D.pk)
        body = bytearray(c.make_hello()[4:])
        body[0] = 2
        c.send_raw(frame(bytes(body)))
        check(c.recv_frame() == b"\x00\x01", "REJECT 1")
        check(c.wait_closed(2), "closed")

    def test_bad_hello_length_closed(self):
        """A first frame whose length is not 113 closes the connection."""
        for n in (112, 114, 1):
            c = Conn(D.port)
            c.send_raw(struct.pack(">I", n) + b"\x01" * min(n, 8))
            check(c.wait_closed(2), "hello of %d bytes: closed" % n)

    def test_tampered_frame_closes(self):
        """A frame with one flipped bit ends the session without an answer."""
        c = D.client()
        body = bytearray(aead_seal(c.tx, c.tx_ctr, bytes([PING]) + b"\0" * 8))
        body[3] ^= 0x01
        c.send_raw(frame(bytes(body)))
        check(c.wait_closed(2), "tampered frame: closed, no answer")

    def test_reflected_frame_closes(self):
        """The server's own frame sent back to it does not open (keys per
        direction): the session ends."""
        c = D.client()
        c.ping(1)
        raw = c.recv_frame()
        c.send_raw(frame(raw))
        check(c.wait_closed(2), "reflected frame: closed")

    def test_replayed_frame_closes(self):
        """A frame sent twice does not open the second time (implicit
        counter)."""
        c = D.client()
        c.ping(3)
        check(c.recv_msg() == ("PONG", 3), "first PING answered")
        c.send_raw(c.sent[-1])
        check(c.wait_closed(2), "duplicated frame: closed, no answer")

    def test_oversize_length_closes_promptly(self):
        """A length above max_frame (and 0) closes at once, before any body."""
        for n in (0, D.conf.get("max_frame", 65536) + 1, 0xFFFFFFFF):
            c = D.client()
            t = time.monotonic()
            c.send_raw(struct.pack(">I", n))
            check(c.wait_closed(2), "length %d: closed" % n)
            check(time.monotonic() - t < 1.5, "closed promptly")
        c = Conn(D.port)
        c.send_raw(b"\xff\xff\xff\xff")
        check(c.wait_closed(2), "oversize length during the handshake: closed")

    def test_garbage_closes(self):
        """Random bytes instead of a HELLO close the connection."""
        c = Conn(D.port)
        junk = b"GET / HTTP/1.0\r\n\r\n" + os.urandom(64)
        c.send_raw(junk)
        check(c.wait_closed(2), "garbage: closed")
        c = D.client()
        c.send_raw(struct.pack(">I", 40) + os.urandom(40))
        check(c.wait_closed(2), "garbage frame after the handshake: closed")

    def test_short_and_malformed_messages_close(self):
        """A body shorter than 17 bytes, a server-only type, an unknown type,
        and trailing bytes all end the session."""
        c = D.client()
        c.send_raw(frame(b"\x06" * 16))
        check(c.wait_closed(2), "16-byte body: closed")
        for msg in (bytes([PONG]) + b"\0" * 8, b"\x42", bytes([LIST, 0]),
                    bytes([UDP, 0, 0])):
            c = D.user("mal%d" % msg[0] if msg[0] != UDP else "mal-udp")
            c.send_msg(msg)
            check(c.wait_closed(2), "message %r: closed" % msg)

    def test_trickling_handshake_hits_deadline(self):
        """A client sending one HELLO byte every 0.5 s is closed at about
        login_timeout (3 s) after connecting: a trickle is no extension."""
        c = Client(D.port, D.pk)
        data = c.make_hello()
        closed_at = None
        for b in data:
            try:
                c.send_raw(bytes([b]))
            except OSError:
                closed_at = time.monotonic()
                break
            r, _, _ = select.select([c.sock], [], [], 0.5)
            if r:
                check(c.wait_closed(0.5), "closed without an answer")
                closed_at = time.monotonic()
                break
        check(closed_at is not None, "closed at all")
        took = closed_at - c.opened
        check(2.5 <= took <= 4.5, "closed at the deadline (%.2f s)" % took)

    def test_trickling_login_gets_goodbye_6(self):
        """After the handshake, trickling a SIGN frame byte by byte gets
        GOODBYE 6 at the login deadline."""
        c = D.client()
        body = aead_seal(c.tx, 0, enc_cred(SIGN, "slowpoke", "pw"))
        data = frame(body)
        got = None
        for b in data:
            try:
                c.send_raw(bytes([b]))
            except OSError:
                break
            r, _, _ = select.select([c.sock], [], [], 0.5)
            if r:
                got = c.recv_msg()
                break
        took = time.monotonic() - c.opened
        check(got == ("GOODBYE", 6), "GOODBYE 6, got %r" % (got,))
        check(2.5 <= took <= 4.5, "at the deadline (%.2f s)" % took)
        check(c.wait_closed(2), "closed after GOODBYE")


class PresenceAndPairs(unittest.TestCase):
    """Who is online, and pair keys."""

    def test_presence_online_offline(self):
        """Two clients see each other come and go; nobody sees its own
        events."""
        p = D.user("pia")
        q = D.user("quinn")
        check("pia" in q.initial, "quinn's list has pia")
        got = p.presence_until([(1, "quinn")])
        check((1, "pia") not in got, "no own event")
        q.send_msg(bytes([LOGOUT]))
        q.expect("GOODBYE")
        p.presence_until([(0, "quinn")])
        q2 = D.user("quinn", op=AUTH)
        p.presence_until([(1, "quinn")])
        q2.close()
        p.presence_until([(0, "quinn")])
        p.close()

    def test_newer_login_wins(self):
        """A second login of the same user: the old session gets GOODBYE 2 and
        others see offline then online."""
        w = D.user("watcher2")
        old = D.user("rita", "rpw")
        w.presence_until([(1, "rita")])
        new = D.client()
        check(new.login(AUTH, "rita", "rpw")[0] == "OK", "second login")
        new.read_users()
        check(old.recv_msg() == ("GOODBYE", 2), "old session told")
        check(old.wait_closed(2), "old session closed")
        got = w.presence_until([(0, "rita"), (1, "rita")])
        last_online = max(i for i, e in enumerate(got) if e == (1, "rita"))
        check(got.index((0, "rita")) < last_online,
              "offline before online: %r" % got)
        new.ping(1)
        check(new.recv_msg() == ("PONG", 1), "new session works")
        for x in (w, new):
            x.close()

    def test_pair_keys(self):
        """PAIR gives both sides the same key and pair id, each with the
        other's address as observed (127.0.0.1) and the UDP port it sent
        (a client that reports no address); asking again returns the same
        key to the requester only; errors 7 and 8."""
        s = D.user("sam")
        t = D.user("tess")
        s.presence_until([(1, "tess")])
        s.pair("nobody-online")
        check(s.recv_msg() == ("ERROR", PAIR, 7, "nobody-online"), "offline")
        s.pair("tess")
        check(s.recv_msg() == ("ERROR", PAIR, 8, "tess"), "no udp yet")
        s.udp(40001)
        s.pair("tess")
        check(s.recv_msg() == ("ERROR", PAIR, 8, "tess"), "peer has no udp")
        t.udp(40002)
        time.sleep(0.1)
        s.pair("tess")
        ks = s.expect("PAIRKEY")
        kt = t.expect("PAIRKEY")
        check(ks[1] == "tess" and kt[1] == "sam", "peer names")
        check(ks[2] == kt[2] and ks[3] == kt[3], "same pair id and key")
        check(ks[4] == 4 and ks[5] == socket.inet_aton("127.0.0.1"), "v4 addr")
        check(ks[6] == 40002 and kt[6] == 40001, "registered ports")
        t.pair("sam")
        again = t.expect("PAIRKEY")
        check(again[2:4] == kt[2:4], "existing key sent again")
        s.ping(8)
        check(s.recv_msg() == ("PONG", 8), "nothing sent to the other side")
        check(ks[9] == t.id_pk and kt[9] == s.id_pk,
              "each gets the other's identity key")
        s.pair("sam")
        me = s.expect("PAIRKEY")
        check(me[1] == "sam" and me[6] == 40001, "self pair, own endpoint")
        check(me[2] != ks[2], "self pair has its own id")
        check(me[9] == s.id_pk, "self pair, own identity key")
        # The pair dies with a session: a new login gets a new key.
        t.send_msg(bytes([LOGOUT]))
        t.expect("GOODBYE")
        t2 = D.user("tess", op=AUTH)
        t2.udp(40003)
        s.presence_until([(0, "tess"), (1, "tess")])
        s.pair("tess")
        ks2 = s.expect("PAIRKEY")
        check(ks2[2] != ks[2] and ks2[3] != ks[3], "new key after re-login")
        check(ks2[6] == 40003, "new port")
        s.close()
        t2.close()

    def test_identity_once_per_session_and_needed_to_pair(self):
        """IDENTITY is taken once, when logged in (another gets ERROR 6);
        PAIR with a side that registered none gets ERROR 12; an all-zero
        or short key ends the session."""
        c = D.client()
        c.identity()
        check(c.recv_msg() == ("ERROR", IDENTITY, 6, ""), "before login")
        c.close()
        a = D.user(harness.uname("ida"), identity=False)
        b = D.user(harness.uname("idb"))
        # b's arrival first: the UDPREG that udp() waits for drops the
        # PRESENCE before it.
        a.presence_until([(1, b.name)])
        a.udp(40011)
        b.udp(40012)
        a.pair(b.name)
        check(a.recv_msg() == ("ERROR", PAIR, 12, b.name), "no identity")
        b.pair(a.name)
        check(b.expect_past("ERROR") == ("ERROR", PAIR, 12, a.name),
              "the peer has no identity")
        a.identity()
        a.identity()
        check(a.recv_msg() == ("ERROR", IDENTITY, 6, ""), "once only")
        a.pair(b.name)
        ka, kb = a.expect("PAIRKEY"), b.expect_past("PAIRKEY")
        check(ka[9] == b.id_pk and kb[9] == a.id_pk, "keys handed over")
        for bad in (bytes([IDENTITY]) + bytes(32),
                    bytes([IDENTITY]) + b"\x01" * 31):
            x = D.user(harness.uname("idx"), identity=False)
            x.send_msg(bad)
            check(x.wait_closed(2), "IDENTITY %r: closed" % bad[:3])
        for x in (a, b):
            x.close()

    def test_users_list_split_with_more(self):
        """With max_frame 1024 a long USERS list comes in several frames, each
        within max_frame, all but the last with MORE, complete and sorted."""
        d = Daemon(max_frame=1024).start()
        try:
            names = ["u%02d-%s" % (i, "n" * 28) for i in range(40)]
            users = [d.user(n) for n in names]
            last = d.client()
            check(last.login(SIGN, "zz-last", "pw")[0] == "OK", "login")
            got, flags = last.read_users()
            check(len(flags) >= 2, "split into %d frames" % len(flags))
            check(all(f & MORE for f in flags[:-1]) and not flags[-1] & MORE,
                  "MORE on all but the last")
            check(got == sorted(names), "complete and in order")
            for u in users:
                u.close()
            last.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_ipv6_listener_and_pairkey_address(self):
        """Listening on ::1, the observed address in PAIRKEY is IPv6 (af 6)."""
        d = Daemon(host="::1").start()
        try:
            c = d.user("six")
            c.udp(5000)
            c.pair("six")
            m = c.expect("PAIRKEY")
            check(m[4] == 6 and
                  m[5] == socket.inet_pton(socket.AF_INET6, "::1"),
                  "af 6, ::1")
            c.close()
        finally:
            check(d.cleanup() == 0, "clean stop")


class Reach(unittest.TestCase):
    """The server's UDP side (sections 4, 9): UDPREG, REGISTER and
    REGISTERED byte for byte, candidates in PAIRKEY and CANDIDATES, the
    relay, RECHECK."""

    def two_paired(self, d=None):
        """Two users who sent UDP (no address) and a pair between them:
        (u, v, UDPREG of u, UDPREG of v, PAIRKEY u got, PAIRKEY v got)."""
        d = d or D
        u = d.user(harness.uname("reach"))
        v = d.user(harness.uname("reach"))
        ru, rv = u.udp(41000), v.udp(41001)
        u.pair(v.name)
        ku, kv = u.expect_past("PAIRKEY"), v.expect_past("PAIRKEY")
        check(ku[2] == kv[2], "one pair id")
        return u, v, ru, rv, ku, kv

    def test_udp_answered_with_udpreg_the_same_for_the_session(self):
        """Every UDP gets UDPREG: the server's UDP port (the TCP port's
        number by default), RELAY, and one reg_id and k_reg per session;
        another session gets others."""
        c = D.user("regone")
        r1 = c.udp(40100)
        r2 = c.udp(40101)
        check(r1[1] == D.port and r1[2] == RELAY, "port and RELAY: %r"
              % (r1[:3],))
        check(r1[3:] == r2[3:], "the same reg_id and k_reg")
        o = D.user("regtwo")
        r3 = o.udp(40102)
        check(r3[3] != r1[3] and r3[4] != r1[4], "another session: others")
        c.close()
        o.close()

    def test_register_gets_registered_with_the_endpoint_seen(self):
        """REGISTER (section 9.2) sealed with k_rc gets REGISTERED of the
        same 53 bytes from the server's UDP port: the same reg_id and
        counter, sealed with k_rs, holding the endpoint the REGISTER came
        from and a zero byte."""
        c = D.user("regbytes")
        reg = c.udp(40200)
        s = Udp()
        reg_id, counter, ep = s.register(reg, D.port, counter=5)
        check(reg_id == reg[3] and counter == 5, "reg_id and counter")
        check(ep == (4, socket.inet_aton(HOST), s.addr[1]),
              "the endpoint seen: %r" % (ep,))
        s.close()
        c.close()

    def test_unauthenticated_register_gets_no_answer(self):
        """No answer, ever, to a REGISTER with another key, an unknown
        reg_id, a wrong length, one replayed, bytes that are not zero, a
        REGISTERED sent to the server, an unknown first byte; a good one
        is still answered after them."""
        c = D.user("regforged")
        reg = c.udp(40300)
        k_rc, k_rs = reg_keys(reg[4])
        s = Udp()
        s.register(reg, D.port, counter=1)
        good = enc_register(reg[3], 1, k_rc)
        bad = [
            enc_register(reg[3], 2, os.urandom(32)),
            enc_register(reg[3] ^ 1, 3, k_rc),
            enc_register(reg[3], 4, k_rc)[:52],
            enc_register(reg[3], 4, k_rc) + b"\0",
            good,
            enc_register(reg[3], 6, k_rc, plain=b"\1" + b"\0" * 19),
            enc_register(reg[3], 7, k_rs, first=REGISTERED),
            b"\x09" + good[1:],
        ]
        for d in bad:
            s.send(d, D.port)
            check(s.recv(0.3) is None, "no answer to %r" % d[:20])
        s.register(reg, D.port, counter=8)
        s.close()
        c.close()

    def test_pairkey_carries_host_and_srflx_and_relay(self):
        """After a REGISTER, the peer's PAIRKEY carries RELAY and two
        candidates: HOST (the address seen on the TCP connection, for a
        client that reported none, with its UDP port) then SRFLX (where
        its REGISTER came from)."""
        u = D.user("cand-u")
        v = D.user("cand-v")
        ru = u.udp(41100)
        v.udp(41101)
        s = Udp()
        s.register(ru, D.port)
        v.pair("cand-u")
        kv, ku = v.expect_past("PAIRKEY"), u.expect_past("PAIRKEY")
        ip = socket.inet_aton(HOST)
        check(kv[7] == RELAY and ku[7] == RELAY, "RELAY")
        check(kv[8] == [(CAND_HOST, 4, ip, 41100),
                        (CAND_SRFLX, 4, ip, s.addr[1])],
              "u's candidates: %r" % (kv[8],))
        check(ku[8] == [(CAND_HOST, 4, ip, 41101)],
              "v's candidates: %r" % (ku[8],))
        u.pair("cand-u")
        me = u.expect_past("PAIRKEY")
        check(me[7] == 0, "no RELAY for a pair with oneself")
        s.close()
        u.close()
        v.close()

    def test_reported_addresses_become_host_candidates(self):
        """The addresses of a UDP request become HOST candidates in their
        order, with its port, less link-local, multicast and repeats (an
        IPv4-mapped address is the IPv4 one); loopback stays, since this
        daemon listens on loopback."""
        u = D.user("hosts-u")
        v = D.user("hosts-v")
        mapped = (6, b"\0" * 10 + b"\xff\xff" +
                  socket.inet_aton("10.1.2.3"))
        u.udp(41200, [v4("10.1.2.3"), v4("169.254.9.9"), v4("224.0.0.5"),
                      v4("127.0.0.1"), mapped,
                      (6, socket.inet_pton(socket.AF_INET6, "fe80::1"))])
        v.udp(41201)
        v.pair("hosts-u")
        kv = v.expect_past("PAIRKEY")
        check(kv[8] == [(CAND_HOST, 4, socket.inet_aton("10.1.2.3"), 41200),
                        (CAND_HOST, 4, socket.inet_aton("127.0.0.1"),
                         41200)], "hosts: %r" % (kv[8],))
        u.close()
        v.close()

    def test_candidates_when_a_registered_endpoint_changes(self):
        """A first registration and a move to another socket (a higher
        counter) send CANDIDATES to both sides of the pair, each with the
        other's list; a late REGISTER (a lower counter) from the old socket
        is answered and moves nothing."""
        u, v, ru, rv, ku, kv = self.two_paired()
        pair_id = ku[2]
        s1, s2 = Udp(), Udp()
        ip = socket.inet_aton(HOST)
        s1.register(ru, D.port, counter=10)
        cv, cu = v.expect_past("CANDIDATES"), u.expect_past("CANDIDATES")
        check(cv[1] == pair_id and cu[1] == pair_id, "the pair's id")
        check(cv[2] == RELAY, "RELAY")
        check(cv[3][-1] == (CAND_SRFLX, 4, ip, s1.addr[1]), "u's SRFLX")
        check(cu[3] == [(CAND_HOST, 4, ip, 41001)], "v's list to u")
        s2.register(ru, D.port, counter=20)
        cv = v.expect_past("CANDIDATES")
        check(cv[3][-1] == (CAND_SRFLX, 4, ip, s2.addr[1]), "moved")
        u.expect_past("CANDIDATES")
        reg_id, counter, ep = s1.register(ru, D.port, counter=15)
        check(ep[2] == s1.addr[1], "a late one answered with its source")
        u.quiet()
        v.quiet()
        for x in (s1, s2, u, v):
            x.close()

    def test_relay_forwards_between_registered_clients_only(self):
        """The peers' handshake (INIT, RESP) and then a peer datagram
        sent to the server's UDP port by one registered side come out
        unchanged at the other's registered socket, from the server's UDP
        port; the datagram opens there with the handshake's key, both ways,
        and not with any key of Kxy alone; the same bytes from a third
        socket go nowhere."""
        u, v, ru, rv, ku, kv = self.two_paired()
        su, sv, sx = Udp(), Udp(), Udp("127.0.0.2")
        su.register(ru, D.port)
        sv.register(rv, D.port)
        pair_id, kxy = ku[2], ku[3]
        hu = PeerHandshake(pair_id, (u.name, u.id_pk), (v.name, ku[9]),
                           u.id_sk, kxy)
        hv = PeerHandshake(pair_id, (v.name, v.id_pk), (u.name, kv[9]),
                           v.id_sk, kv[3])
        (hi, si), (hr, sr) = ((hu, su), (hv, sv)) if hu.initiator else \
            ((hv, sv), (hu, su))
        init = hi.init()
        si.send(init, D.port)
        got = sr.recv()
        check(got == (init, (HOST, D.port)), "INIT relayed unchanged")
        resp = hr.resp(init)
        sr.send(resp, D.port)
        got = si.recv()
        check(got == (resp, (HOST, D.port)), "RESP relayed unchanged")
        hi.finish(resp)
        check(hi.keys()[0] == hr.keys()[1] and hi.keys()[1] == hr.keys()[0],
              "the same keys on both sides")
        tx_u, rx_u = hu.keys()
        tx_v, rx_v = hv.keys()
        d = enc_dgram(tx_u, pair_id, 0, 1, 1, b"through the relay")
        su.send(d, D.port)
        got = sv.recv()
        check(got == (d, (HOST, D.port)), "relayed unchanged: %r" % (got,))
        body = aead_open_ad(rx_v, 0, d[17:], d[:17])
        check(body[9:] == b"through the relay", "opens at the peer")
        for k in [kxy] + [kdf(kxy, i, ctx) for i in (1, 2)
                          for ctx in (b"SCpeerv1", b"SCphsv1_")]:
            try:
                aead_open_ad(k, 0, d[17:], d[:17])
                raise TestFailure("a key of Kxy alone opened it")
            except nacl.exceptions.CryptoError:
                pass
        back = enc_dgram(tx_v, pair_id, 0, 2, 1)
        sv.send(back, D.port)
        check(su.recv() == (back, (HOST, D.port)), "and back")
        check(aead_open_ad(rx_u, 0, back[17:], back[:17])[0] == 2, "ACK")
        sx.send(d, D.port)
        sx.send(init, D.port)
        check(sv.recv(0.3) is None and su.recv(0.1) is None,
              "a third address is not relayed")
        for x in (su, sv, sx, u, v):
            x.close()

    def test_recheck(self):
        """RECHECK of a live pair: CANDIDATES of the peer to the requester,
        then of the requester to the peer; again within a second, nothing;
        a pair id not one's own gets ERROR 7 without a subject."""
        u, v, ru, rv, ku, kv = self.two_paired()
        u.recheck(ku[2] ^ 1)
        check(u.expect_past("ERROR") == ("ERROR", RECHECK, 7, ""),
              "ERROR 7 for a pair not one's own")
        u.recheck(ku[2])
        cu, cv = u.expect_past("CANDIDATES"), v.expect_past("CANDIDATES")
        check(cu[1] == ku[2] and cv[1] == ku[2], "the pair")
        check(cu[3][0][3] == 41001 and cv[3][0][3] == 41000,
              "each gets the other's")
        u.recheck(ku[2])
        v.recheck(ku[2])
        u.quiet()
        v.quiet()
        time.sleep(1.1)
        v.recheck(ku[2])
        v.expect_past("CANDIDATES")
        u.expect_past("CANDIDATES")
        u.close()
        v.close()

    def test_relay_off_then_on_by_reload(self):
        """With relay: off, UDPREG and PAIRKEY carry no RELAY and nothing is
        relayed; a reload turning it on tells both sides (CANDIDATES with
        RELAY) and the relay works.  udp_port sets the UDP port."""
        udp_port = harness.free_port(socket.SOCK_DGRAM)
        d = Daemon(relay="off", udp_port=udp_port).start()
        try:
            u, v, ru, rv, ku, kv = self.two_paired(d)
            check(ru[1] == udp_port, "UDPREG names udp_port")
            check(ru[2] == 0 and ku[7] == 0 and kv[7] == 0, "no RELAY")
            su, sv = Udp(), Udp()
            su.register(ru, udp_port)
            sv.register(rv, udp_port)
            for c in (u, v):
                c.expect_past("CANDIDATES")
                c.expect_past("CANDIDATES")
            data = enc_dgram(os.urandom(32), ku[2], 0, 1, 1)
            su.send(data, udp_port)
            check(sv.recv(0.3) is None, "not relayed while off")
            d.conf["relay"] = "on"
            d.write_conf()
            d.proc.send_signal(signal.SIGHUP)
            check(u.expect_past("CANDIDATES")[2] == RELAY, "told u")
            check(v.expect_past("CANDIDATES")[2] == RELAY, "told v")
            su.send(data, udp_port)
            check(sv.recv() == (data, (HOST, udp_port)), "relayed when on")
            for x in (su, sv, u, v):
                x.close()
        finally:
            check(d.cleanup() == 0, "clean stop")


class Limits(unittest.TestCase):
    """What keeps one client from hurting the others: caps, keepalive,
    failed-login slowing, the output cap, memory per session."""

    def test_flood_refused_while_online_client_served(self):
        """Connections past max_unauth_per_addr and past max_sessions get
        REJECT 3 while a logged-in client still gets PONG and USERS."""
        d = Daemon(max_sessions=8, max_unauth_per_addr=4,
                   max_unauth=100).start()
        held = []
        try:
            lee = d.user("lee")
            for _ in range(4):
                held.append(Conn(d.port))
            time.sleep(0.2)
            extra = Conn(d.port)
            check(extra.recv_frame() == b"\x00\x03",
                  "per-address cap: REJECT 3")
            check(extra.wait_closed(2), "then closed")
            for _ in range(3):
                held.append(Conn(d.port, src="127.0.0.2"))
            time.sleep(0.2)
            extra = Conn(d.port, src="127.0.0.2")
            check(extra.recv_frame() == b"\x00\x03", "session cap: REJECT 3")
            lee.ping(11)
            check(lee.recv_msg() == ("PONG", 11), "PONG while flooded")
            lee.list()
            names, flags = lee.read_users()
            check(flags[-1] & REPLY and names == [], "USERS while flooded")
            for h in held:
                h.close()
            time.sleep(0.3)
            ok = d.client()
            check(ok.welcome[0] == "WELCOME", "accepted again after the flood")
            ok.close()
            lee.close()
        finally:
            for h in held:
                h.close()
            check(d.cleanup() == 0, "clean stop")

    def test_keepalive_timeout_announces_offline(self):
        """A client silent for keepalive_timeout gets GOODBYE 3 and the others
        see it offline; a client that pings stays."""
        d = Daemon(keepalive_interval=1, keepalive_timeout=3).start()
        try:
            w = d.user("pinger")
            check(w.welcome == ("WELCOME", 1, 65536, 1, 3),
                  "WELCOME announces the keepalive: %r" % (w.welcome,))
            s = d.user("silent")
            t0 = time.monotonic()
            w.presence_until([(1, "silent")])
            seen = []
            while time.monotonic() - t0 < 6 and (0, "silent") not in seen:
                w.ping(1)
                while True:
                    m = w.recv_msg(2)
                    if m[0] == "PONG":
                        break
                    check(m[0] == "PRESENCE",
                          "only PRESENCE and PONG: %r" % (m,))
                    seen += m[1]
                time.sleep(0.5)
            check((0, "silent") in seen, "offline announced")
            took = time.monotonic() - t0
            check(2.0 <= took <= 5.0, "after about 3 s (%.2f)" % took)
            check(s.recv_msg() == ("GOODBYE", 3), "silent client told")
            w.ping(2)
            check(w.recv_msg() == ("PONG", 2), "pinging client still online")
            w.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_failed_logins_slowed_not_locked(self):
        """After fail_free failures each AUTH waits longer before its answer,
        PING is still answered meanwhile, and the right password still
        works."""
        d = Daemon(fail_free=2, fail_delay_ms=300).start()
        try:
            d.user("vera", "good").close()
            c = d.client()
            times = []
            for _ in range(4):
                t = time.monotonic()
                check(c.login(AUTH, "vera", "bad") == ("ERROR", AUTH, 1, ""),
                      "still ERROR 1")
                times.append(time.monotonic() - t)
            check(times[0] < 0.25 and times[1] < 0.25,
                  "first two fast %r" % times)
            check(times[2] >= 0.28 and times[3] >= 0.55,
                  "then slowed %r" % times)
            c.send_msg(enc_cred(AUTH, "vera", "good"))
            c.ping(4)
            check(c.recv_msg(2) == ("PONG", 4),
                  "PING answered during the wait")
            c.send_msg(enc_cred(AUTH, "vera", "good"))
            check(c.recv_msg(2) == ("ERROR", AUTH, 6, ""),
                  "one login at a time")
            check(c.recv_msg(10) == ("OK", AUTH, "vera"), "not locked out")
            c.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_output_cap_drops_slow_reader(self):
        """A client that stops reading while answers pile up past output_cap is
        dropped: what it finally reads ends with GOODBYE 4, the others see it
        offline, and they are served as before."""
        d = Daemon(output_cap=4096).start()
        try:
            w = d.user("watch")
            others = [d.user("o%02d-%s" % (i, "n" * 28)) for i in range(30)]
            slow = Client(d.port, d.pk, rcvbuf=4096)
            slow.handshake()
            check(slow.login(SIGN, "slow", "pw")[0] == "OK", "login")
            slow.read_users()
            try:
                for _ in range(3000):
                    slow.list()
            except OSError:
                pass                        # dropped while still sending
            w.presence_until([(1, "slow"), (0, "slow")], timeout=10)
            last = None
            try:
                while True:
                    last = slow.recv_msg(5)
                    check(last[0] in ("USERS", "GOODBYE"), "got %r" % (last,))
            except Closed:
                pass
            check(last == ("GOODBYE", 4), "ends with GOODBYE 4: %r" % (last,))
            w.ping(3)
            m = w.recv_msg()
            while m[0] == "PRESENCE":
                m = w.recv_msg()
            check(m == ("PONG", 3), "others still served")
            for o in others + [w]:
                o.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_idle_session_memory_under_3kb(self):
        """An idle logged-in session costs the server at most 3 kB (resident
        memory growth per session, measured over 600 sessions).  Skipped for
        a sanitizer build, whose allocator keeps freed memory on purpose."""
        if harness.sanitizer_build():
            self.skipTest("sanitizer build: its allocator keeps freed memory")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 2000:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        d = Daemon(log_level="info").start()
        clients = []
        try:
            def grow(n):
                for _ in range(n):
                    c = d.client()
                    m = c.login(SIGN, "m%05d" % len(clients), "pw")
                    check(m[0] == "OK", "login")
                    c.read_users()
                    clients.append(c)
            grow(200)
            time.sleep(0.5)
            drain(clients)
            time.sleep(0.3)
            before = rss_kb(d.proc.pid)
            grow(600)
            time.sleep(0.5)
            drain(clients)
            time.sleep(0.5)
            per = (rss_kb(d.proc.pid) - before) * 1024 / 600
            print("     %.0f bytes per idle session" % per)
            check(per <= 3072, "%.0f bytes per idle session" % per)
        finally:
            for c in clients:
                c.close()
            check(d.cleanup() == 0, "clean stop")


class StoredMessages(unittest.TestCase):
    """Section 12, from the document alone: RCPT, STORE, STORED, STOREACK,
    STOREKEEP, STORENOTE, and the box made and opened with crypto_box."""

    def test_store_fetch_open_acknowledge(self):
        """A message sealed to an offline user's key (RCPTKEY) is QUEUED,
        comes at that user's login after the USERS list as STORED, opens
        with the sender's key and holds its id, and the STOREACK tells the
        sender DELIVERED; one held back with STOREKEEP comes again at the
        next login; unknown users and users without a key get 7 and 13, and
        a bad box length closes the session."""
        a = D.user(harness.uname("sa"))
        bname = harness.uname("sb")
        b = D.user(bname)
        b_pk, b_sk = b.id_pk, b.id_sk
        b.send_msg(bytes([LOGOUT]))
        b.expect_past("GOODBYE")
        b.close()
        noid = D.user(harness.uname("sn"), identity=False)
        noid.close()
        deadline = time.monotonic() + 5
        while True:
            a.send_msg(bytes([RCPT]) + str8(bname))
            m = a.recv_msg()
            while m[0] == "PRESENCE":
                m = a.recv_msg()
            if m[0] == "RCPTKEY" or time.monotonic() > deadline:
                break
            time.sleep(0.05)     # the key is stored a moment after login
        check(m == ("RCPTKEY", bname, b_pk), "RCPTKEY %r" % (m,))
        a.send_msg(bytes([RCPT]) + str8("nobody-here"))
        check(a.expect_past("ERROR") == ("ERROR", RCPT, 7, "nobody-here"),
              "unknown user")
        a.send_msg(bytes([RCPT]) + str8(noid.name))
        check(a.expect_past("ERROR") == ("ERROR", RCPT, 13, noid.name),
              "no identity key")

        mid = os.urandom(16)
        plain = b"\x01" + mid + struct.pack(">Q", 1700000000123) + b"hi bob"
        nonce = os.urandom(24)
        box = nonce + nb.crypto_box(plain, nonce, b_pk, a.id_sk)
        check(len(box) == 24 + 16 + 25 + 6, "box length")
        a.send_msg(bytes([STORE]) + str8(bname) + mid +
                   struct.pack(">H", len(box)) + box)
        check(a.expect_past("QUEUED") == ("QUEUED", bname, mid), "QUEUED")
        kept = os.urandom(16)
        plain2 = b"\x01" + kept + struct.pack(">Q", 1700000000456) + b"later"
        nonce2 = os.urandom(24)
        box2 = nonce2 + nb.crypto_box(plain2, nonce2, b_pk, a.id_sk)
        a.send_msg(bytes([STORE]) + str8(bname) + kept +
                   struct.pack(">H", len(box2)) + box2)
        check(a.expect_past("QUEUED") == ("QUEUED", bname, kept), "QUEUED 2")

        b = D.client()
        b.id_pk, b.id_sk = b_pk, b_sk
        check(b.login(AUTH, bname, "pw-" + "x" * 8)[0] == "OK", "login")
        b.read_users()
        m = b.expect("STORED")
        check(m[1] == mid and m[2] == a.name and m[3] == a.id_pk,
              "STORED names the id, the sender and its key")
        check(abs(m[4] - time.time()) < 60, "STORED time")
        opened = nb.crypto_box_open(m[5][24:], m[5][:24], m[3], b_sk)
        check(opened == plain, "the box opens with the sender's key")
        check(b.expect("STORED")[1] == kept, "the second, in order")
        b.send_msg(bytes([STOREKEEP]) + kept)
        b.send_msg(bytes([STOREACK]) + mid)
        check(a.expect_past("STORENOTE") == ("STORENOTE", 1, bname, mid),
              "DELIVERED")
        b.quiet()
        # Held back, it comes again at the next login.
        b.send_msg(bytes([LOGOUT]))
        b.expect_past("GOODBYE")
        b.close()
        b = D.client()
        check(b.login(AUTH, bname, "pw-" + "x" * 8)[0] == "OK", "login 2")
        b.read_users()
        check(b.expect("STORED")[1] == kept, "the one kept, again")
        b.send_msg(bytes([STOREACK]) + kept)
        check(a.expect_past("STORENOTE") == ("STORENOTE", 1, bname, kept),
              "DELIVERED 2")
        b.quiet()
        # A box shorter than 65 bytes is malformed: the session ends.
        a.send_msg(bytes([STORE]) + str8(bname) + mid +
                   struct.pack(">H", 64) + bytes(64))
        check(a.wait_closed(2), "bad box length: closed")
        for x in (a, b):
            x.close()


class Lifecycle(unittest.TestCase):
    """The daemon's own life: shutdown, reload, systemd, -t and options."""

    def test_shutdown_says_goodbye(self):
        """SIGTERM: logged-in clients get GOODBYE 1 and the daemon exits 0."""
        d = Daemon().start()
        c = d.user("wanda")
        g = d.client()
        d.proc.send_signal(signal.SIGTERM)
        check(c.recv_msg() == ("GOODBYE", 1), "online client told")
        check(g.recv_msg() == ("GOODBYE", 1), "greeted client told")
        c.close()
        g.close()
        check(d.proc.wait(timeout=10) == 0, "exit status 0")
        check(d.cleanup() == 0, "stopped")

    def test_reload_applies_and_reports(self):
        """SIGHUP applies a changed limit at once, reports keys that need a
        restart, and a broken file changes nothing."""
        d = Daemon(max_unauth_per_addr=32).start()
        try:
            d.conf["max_unauth_per_addr"] = 1
            d.write_conf("max_frame: 2048\n")
            d.proc.send_signal(signal.SIGHUP)
            check(d.wait_log("reload: configuration applied", 5),
                  "reload logged")
            check("reload: max_frame changed, restart to apply" in
                  d.log_text(), "restart-only key reported")
            a = Conn(d.port)
            time.sleep(0.1)
            b = Conn(d.port)
            check(b.recv_frame() == b"\x00\x03", "new per-address cap applied")
            a.close()
            time.sleep(0.3)
            c = d.client()
            check(c.max_frame == 65536, "max_frame unchanged until restart")
            c.close()
            with open(d.path, "a") as f:
                f.write("no_such_key: 1\n")
            d.proc.send_signal(signal.SIGHUP)
            check(d.wait_log("configuration unchanged", 5),
                  "bad reload logged")
            time.sleep(0.3)
            e = d.client()
            check(e.welcome[0] == "WELCOME", "still serving after a bad file")
            e.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_reload_changes_the_log_level_of_daemon_and_hash_helper(self):
        """SIGHUP with log_level: debug turns on the debug lines of the daemon
        and of its hash helper at once; before it, at info, there are none."""
        d = Daemon(log_level="info").start()
        try:
            c = d.client()
            check(c.login(SIGN, "loudness", "pw")[0] == "OK",
                  "sign-up at info")
            c.close()
            time.sleep(0.3)
            check(" debug: " not in d.log_text(), "no debug line at info")
            d.conf["log_level"] = "debug"
            d.write_conf()
            d.proc.send_signal(signal.SIGHUP)
            check(d.wait_log("reload: configuration applied", 5),
                  "reload logged")
            c = d.client()
            check(c.login(AUTH, "loudness", "pw")[0] == "OK", "login at debug")
            c.close()
            check(d.wait_log("auth: session=", 5),
                  "the hash helper logs at debug after the reload")
            check("state handshake -> greeted" in d.log_text(),
                  "the daemon logs at debug after the reload")
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_systemd_notifications(self):
        """With $NOTIFY_SOCKET the daemon reports READY=1, a STATUS line with
        the counts (updated), RELOADING=1 on SIGHUP and STOPPING=1."""
        tmp = tempfile.mkdtemp(prefix="sealchat-notify-")
        path = os.path.join(tmp, "notify")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(path)
        ns.settimeout(5)
        got = []

        def wait_for(pred, what):
            deadline = time.monotonic() + 5
            while not any(pred(m) for m in got):
                check(time.monotonic() < deadline, "notification: " + what)
                ns.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    got.append(ns.recv(4096).decode())
                except socket.timeout:
                    pass

        d = Daemon(env={"NOTIFY_SOCKET": path}).start()
        try:
            wait_for(lambda m: "READY=1" in m, "READY=1")
            wait_for(lambda m: "STATUS=0 sessions, 0 online" in m, "status")
            u = d.user("nora")
            wait_for(lambda m: "STATUS=1 sessions, 1 online" in m, "status 1")
            d.proc.send_signal(signal.SIGHUP)
            wait_for(lambda m: "RELOADING=1" in m, "RELOADING=1")
            u.close()
        finally:
            rc = d.cleanup()
        wait_for(lambda m: "STOPPING=1" in m, "STOPPING=1")
        ns.close()
        shutil.rmtree(tmp, ignore_errors=True)
        check(rc == 0, "clean stop")

    def test_check_mode_version_help_and_usage(self):
        """-t checks configuration and keys without creating anything and
        prints the fingerprint; errors exit 78 with FILE:LINE; -V, -h, bad
        options (64)."""
        tmp = tempfile.mkdtemp(prefix="sealchat-t-")
        conf = os.path.join(tmp, "d.yaml")
        with open(conf, "w") as f:
            f.write("server_public_key: k.pub\nserver_private_key: k.key\n"
                    "data_base: x.db\n")
        rc, out, err = run_daemon(["-t", "-c", conf], tmp)
        check(rc == 78, "-t without keys: 78 (%d)" % rc)
        check(sorted(os.listdir(tmp)) == ["d.yaml"], "-t created nothing")
        d = Daemon().start()
        try:
            rc, out, err = run_daemon(["-t", "-c", d.path], d.dir)
            check(rc == 0 and out.startswith("configuration ok\n"),
                  "ok: " + out)
            fpr = hashlib.sha256(d.pk).digest()
            want = "fingerprint SHA256:" + \
                base64.b64encode(fpr).decode().rstrip("=")
            check(want in out, "fingerprint printed: %r vs %r" % (out, want))
            check("server key fingerprint=" + want[len("fingerprint "):]
                  in d.log_text(), "fingerprint logged at start")
        finally:
            check(d.cleanup() == 0, "clean stop")
        with open(conf, "w") as f:
            f.write("server_port: 99999\n")
        rc, out, err = run_daemon(["-t", "-c", conf], tmp)
        check(rc == 78 and "d.yaml:1:" in err, "FILE:LINE error: %r" % err)
        rc, out, err = run_daemon(["-c", conf], tmp)
        check(rc == 78, "start with a bad file: 78")
        with open(conf, "w") as f:
            f.write("keepalive_interval: 30\nkeepalive_timeout: 20\n")
        rc, out, err = run_daemon(["-t", "-c", conf], tmp)
        check(rc == 78 and "keepalive_interval" in err, "relation checked")
        rc, out, err = run_daemon(["-V"], tmp)
        check(rc == 0 and out.startswith("sealchatd "), "version")
        rc, out, err = run_daemon(["--help"], tmp)
        check(rc == 0 and "usage:" in out and "-t" in out, "help")
        rc, out, err = run_daemon(["--bogus"], tmp)
        check(rc == 64 and "usage:" in err, "bad option: 64")
        rc, out, err = run_daemon(["extra"], tmp)
        check(rc == 64, "stray argument: 64")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(harness.main(TEST_TIMEOUT))
