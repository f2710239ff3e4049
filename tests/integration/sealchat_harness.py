"""Shared helpers for the client integration tests (test_client_script.py,
test_messaging.py): a real sealchatd on 127.0.0.1 in a temporary folder,
real sealchat clients driven through pipes, and a raw protocol client built
from docs/protocol.md with PyNaCl, which can also forge peer datagrams.

Every wait is bounded; nothing talks to anything but 127.0.0.1.
"""

import itertools
import os
import queue
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import nacl.bindings as nb

_names = itertools.count(1)


def uname(prefix="u"):
    """A fresh user name for one test (unique within the test run)."""
    return "%s%d" % (prefix, next(_names))


HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SEALCHAT_SRC", os.path.dirname(os.path.dirname(HERE)))
BUILD = os.environ.get("SEALCHAT_BUILD", os.path.join(SRC, "build"))
SEALCHATD = os.environ.get("SEALCHATD", os.path.join(BUILD, "sealchatd"))
SEALCHAT = os.environ.get("SEALCHAT", os.path.join(BUILD, "sealchat"))

WAIT = 10.0          # seconds for any one expected event


def free_port(kind=socket.SOCK_STREAM):
    """A port that was free on 127.0.0.1 a moment ago."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def write_yaml(path, items):
    with open(path, "w") as f:
        for k, v in items.items():
            f.write("%s: %s\n" % (k, v))


class Daemon:
    """sealchatd in its own temporary folder, on an ephemeral port."""

    def __init__(self, **extra):
        self.dir = tempfile.mkdtemp(prefix="sealchat-it-")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "sealchatd.yaml")
        self.pub = os.path.join(self.dir, "server.pub")
        items = {
            "server_address": "127.0.0.1",
            "server_port": self.port,
            "server_public_key": "server.pub",
            "server_private_key": "server.key",
            "data_base": "sealchat.db",
            "hash_cost": "min",
            "log_level": "debug",
        }
        items.update(extra)
        write_yaml(self.conf, items)
        self.proc = None
        self.logf = None

    def start(self):
        self.logf = open(os.path.join(self.dir, "sealchatd.log"), "wb")
        self.proc = subprocess.Popen(
            [SEALCHATD, "-c", self.conf], stdin=subprocess.DEVNULL,
            stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sealchatd exited: %s" % self.log())
            if os.path.exists(self.pub) and "listening" in self.log():
                return self
            time.sleep(0.05)
        raise RuntimeError("sealchatd did not start: %s" % self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "sealchatd.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        if self.logf is not None:
            self.logf.close()
            self.logf = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def client_conf(self, name="sealchat.yaml", **extra):
        """A client configuration that pins this daemon's key."""
        path = os.path.join(self.dir, name)
        items = {
            "server_address": "127.0.0.1",
            "server_port": self.port,
            "server_public_key": "server.pub",
            "connect_timeout": 5,
            "reply_timeout": 10,
        }
        items.update(extra)
        write_yaml(path, items)
        return path


def split_record(line):
    """One stdout line (bytes) as a tuple of str fields."""
    if line.endswith(b"\n"):
        line = line[:-1]
    return tuple(line.decode("utf-8", "surrogateescape").split("\t"))


def run_script(conf, text, args=(), env=None, timeout=30):
    """Runs sealchat on a script; returns (status, records, stderr)."""
    if isinstance(text, str):
        text = text.encode()
    full_env = dict(os.environ)
    full_env.pop("SEALCHAT_PASSWORD", None)
    if env:
        full_env.update(env)
    cmd = [SEALCHAT] + (["-c", conf] if conf else []) + list(args)
    p = subprocess.run(cmd, input=text, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=full_env,
                       timeout=timeout)
    recs = [split_record(l) for l in p.stdout.splitlines(keepends=True)]
    return p.returncode, recs, p.stderr.decode("utf-8", "replace")


class Client:
    """A sealchat process in script mode, fed line by line through a pipe;
    its records are read as they come."""

    def __init__(self, conf, args=(), env=None, debug=False):
        full_env = dict(os.environ)
        full_env.pop("SEALCHAT_PASSWORD", None)
        if env:
            full_env.update(env)
        cmd = [SEALCHAT, "-c", conf] + (["-d"] if debug else []) + list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=full_env)
        self.q = queue.Queue()
        self.seen = []
        self.err = []
        self._t1 = threading.Thread(target=self._read_out, daemon=True)
        self._t2 = threading.Thread(target=self._read_err, daemon=True)
        self._t1.start()
        self._t2.start()

    def _read_out(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.q.put(split_record(line))
        self.q.put(None)

    def _read_err(self):
        for line in iter(self.proc.stderr.readline, b""):
            self.err.append(line.decode("utf-8", "replace"))

    def send(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def next(self, timeout=WAIT):
        """The next record, strictly in order."""
        try:
            rec = self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no record within %.1f s; seen %r; "
                                 "stderr %r" % (timeout, self.seen,
                                                self.stderr()))
        if rec is None:
            self.q.put(None)
            raise AssertionError("output ended; seen %r; stderr %r"
                                 % (self.seen, self.stderr()))
        self.seen.append(rec)
        return rec

    def expect(self, *fields, timeout=WAIT):
        """The next record must be exactly fields."""
        rec = self.next(timeout)
        if rec != tuple(fields):
            raise AssertionError("expected %r, got %r; seen %r"
                                 % (tuple(fields), rec, self.seen))
        return rec

    def wait_for(self, *fields, timeout=WAIT):
        """Skips records until one equals fields."""
        deadline = time.monotonic() + timeout
        want = tuple(fields)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("never saw %r; seen %r" % (want,
                                                                self.seen))
            if self.next(left) == want:
                return

    def quiet(self, period=0.5):
        """Records that arrive within period (normally none)."""
        out = []
        deadline = time.monotonic() + period
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                rec = self.q.get(timeout=left)
            except queue.Empty:
                return out
            if rec is None:
                self.q.put(None)
                return out
            self.seen.append(rec)
            out.append(rec)

    def rest(self, timeout=WAIT):
        """Every record until the output ends."""
        out = []
        while True:
            try:
                rec = self.q.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("output did not end; seen %r"
                                     % (self.seen + out,))
            if rec is None:
                self.q.put(None)
                self.seen.extend(out)
                return out
            out.append(rec)

    def wait(self, timeout=WAIT):
        """The exit status, once the process and its output have ended."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(WAIT)
            raise AssertionError("sealchat did not exit within %.1f s"
                                 % timeout)
        self._t1.join(WAIT)
        self._t2.join(WAIT)
        return rc

    def running(self):
        return self.proc.poll() is None

    def stderr(self):
        return "".join(self.err)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)

    def finish(self):
        """Ends the process whatever its state (test clean-up)."""
        self.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


# --- The raw protocol (docs/protocol.md), for forging and observing. ---

def kdf(key, subkey_id, ctx):
    """crypto_kdf_derive_from_key(32, id, ctx, key)."""
    return nb.crypto_generichash_blake2b_salt_personal(
        b"", digest_size=32, key=key,
        salt=struct.pack("<Q", subkey_id) + b"\0" * 8,
        person=ctx + b"\0" * 8)


def blake2b(data, key=b""):
    return nb.crypto_generichash_blake2b_salt_personal(
        data, digest_size=32, key=key)


def nonce(counter):
    return b"\0" * 4 + struct.pack("<Q", counter)


def peer_keys(kxy, me, other):
    """(tx, rx) of `me` for a pair with `other` (section 8)."""
    low = kdf(kxy, 1, b"SCpeerv1")
    high = kdf(kxy, 2, b"SCpeerv1")
    if me == other:
        return low, low
    if me.encode() < other.encode():
        return low, high
    return high, low


def dgram_seal(key, pair_id, counter, kind, msg_id, text=b""):
    hdr = b"\x01" + struct.pack(">QQ", pair_id, counter)
    payload = bytes([kind]) + struct.pack(">Q", msg_id) + text
    return hdr + nb.crypto_aead_chacha20poly1305_ietf_encrypt(
        payload, hdr, nonce(counter), key)


def dgram_open(key, d):
    """(pair_id, counter, kind, msg_id, text) or None."""
    if len(d) < 17 + 16 + 9:
        return None
    hdr = d[:17]
    pair_id, counter = struct.unpack(">QQ", d[1:17])
    try:
        p = nb.crypto_aead_chacha20poly1305_ietf_decrypt(
            d[17:], hdr, nonce(counter), key)
    except Exception:
        return None
    return pair_id, counter, p[0], struct.unpack(">Q", p[1:9])[0], p[9:]


MSG_SIGN, MSG_AUTH, MSG_LIST, MSG_UDP, MSG_PAIR, MSG_PING, MSG_LOGOUT = \
    range(1, 8)
MSG_WELCOME, MSG_OK, MSG_ERROR, MSG_USERS, MSG_PRESENCE, MSG_PAIRKEY, \
    MSG_PONG, MSG_GOODBYE = range(0x81, 0x89)


def str8(s):
    if isinstance(s, str):
        s = s.encode()
    return bytes([len(s)]) + s


class RawClient:
    """A protocol client in Python: handshake, login, UDP, pair keys."""

    def __init__(self, port, server_pub_path):
        with open(server_pub_path, "rb") as f:
            import base64
            self.spk = base64.b64decode(f.read().strip())
        self.sock = socket.create_connection(("127.0.0.1", port), WAIT)
        self.sock.settimeout(WAIT)
        self.buf = b""
        self.tx = 0
        self.rx = 0
        self.udp = None
        self._handshake()

    def _frame(self, body):
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _read_frame(self, timeout=WAIT):
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    body = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk

    def _handshake(self):
        k = os.urandom(32)
        e_pk, e_sk = nb.crypto_box_keypair()
        hello = b"\x01" + nb.crypto_box_seal(k + e_pk, self.spk)
        self._frame(hello)
        body = self._read_frame()
        if len(body) == 2:
            raise RuntimeError("REJECT %d" % body[1])
        e_s = body[:32]
        dh = nb.crypto_scalarmult(e_sk, e_s)
        h = blake2b(b"sealchat/1 handshake" + self.spk + hello + e_s)
        master = blake2b(dh + h, key=k)
        self.k_c2s = kdf(master, 1, b"SCchanv1")
        self.k_s2c = kdf(master, 2, b"SCchanv1")
        welcome = self._open(body[32:])
        assert welcome[0] == MSG_WELCOME

    def _open(self, body):
        m = nb.crypto_aead_chacha20poly1305_ietf_decrypt(
            body, b"", nonce(self.rx), self.k_s2c)
        self.rx += 1
        return m

    def send(self, msg):
        body = nb.crypto_aead_chacha20poly1305_ietf_encrypt(
            msg, b"", nonce(self.tx), self.k_c2s)
        self.tx += 1
        self._frame(body)

    def recv(self, timeout=WAIT):
        return self._open(self._read_frame(timeout))

    def recv_until(self, mtype, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no message 0x%02x" % mtype)
            m = self.recv(left)
            if m[0] == mtype or m[0] == MSG_ERROR:
                return m

    def login(self, kind, name, password):
        pw = password.encode()
        self.send(bytes([kind]) + str8(name) + struct.pack(">H", len(pw)) + pw)
        m = self.recv_until(MSG_OK)
        if m[0] != MSG_OK:
            raise AssertionError("login failed: code %d" % m[2])
        self.name = name

    def open_udp(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(WAIT)
        self.send(bytes([MSG_UDP]) + struct.pack(">H",
                                                 self.udp.getsockname()[1]))

    def pair(self, peer):
        """Asks for a pair key; returns (pair_id, kxy, (host, port))."""
        self.send(bytes([MSG_PAIR]) + str8(peer))
        return self.wait_pairkey(peer)

    def wait_pairkey(self, peer, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            m = self.recv_until(MSG_PAIRKEY, deadline - time.monotonic())
            if m[0] == MSG_ERROR:
                raise AssertionError("pair refused: code %d" % m[2])
            n = m[1]
            name = m[2:2 + n].decode()
            off = 2 + n
            pair_id = struct.unpack(">Q", m[off:off + 8])[0]
            kxy = m[off + 8:off + 40]
            af = m[off + 40]
            alen = 4 if af == 4 else 16
            addr = m[off + 41:off + 41 + alen]
            port = struct.unpack(">H", m[off + 41 + alen:off + 43 + alen])[0]
            host = socket.inet_ntop(socket.AF_INET if af == 4 else
                                    socket.AF_INET6, addr)
            if name == peer:
                return pair_id, kxy, (host, port)

    def udp_recv(self, timeout=WAIT):
        """One datagram, or None after timeout."""
        self.udp.settimeout(timeout)
        try:
            return self.udp.recv(2048)
        except socket.timeout:
            return None

    def close(self):
        for s in (self.sock, self.udp):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


class RawPeer:
    """The raw client's side of one pair key: its counter and keys."""

    def __init__(self, raw, me, peer, pair_id, kxy, addr):
        self.raw = raw
        self.tx, self.rx = peer_keys(kxy, me, peer)
        self.pair_id = pair_id
        self.addr = addr
        self.ctr = 0

    def seal(self, kind, msg_id, text=b"", counter=None, key=None):
        """A datagram under the next counter (or the one given)."""
        if counter is None:
            counter = self.ctr
            self.ctr += 1
        return dgram_seal(key or self.tx, self.pair_id, counter, kind,
                          msg_id, text)

    def put(self, d):
        self.raw.udp.sendto(d, self.addr)

    def recv(self, timeout=WAIT):
        """The next datagram that opens: (datagram, fields) or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            d = self.raw.udp_recv(left)
            if d is None:
                return None
            f = dgram_open(self.rx, d)
            if f is not None:
                return d, f

    def send_until_ack(self, msg_id, text, tries=20, wait=0.25):
        """Sends a MSG (again, new counter, as a client does) until it is
        acknowledged; returns (the datagram that got the ACK, the ACK)."""
        for _ in range(tries):
            d = self.seal(1, msg_id, text)
            self.put(d)
            deadline = time.monotonic() + wait
            while True:
                got = self.recv(max(0.0, deadline - time.monotonic()))
                if got is None:
                    break
                if got[1][2] == 2 and got[1][3] == msg_id:
                    return d, got[0]
        raise AssertionError("no ACK for msg_id %d" % msg_id)


class FakeServer:
    """A one-connection server in Python for what the real daemon never
    does: refuse, forge, stall.  `script(link)` runs in a thread with a
    FakeLink once a client connects; the link records what it received."""

    def __init__(self, script):
        pk, sk = nb.crypto_box_keypair()
        self.pk, self.sk = pk, sk
        self.dir = tempfile.mkdtemp(prefix="sealchat-fake-")
        self.pub = os.path.join(self.dir, "fake.pub")
        import base64
        with open(self.pub, "w") as f:
            f.write(base64.b64encode(pk).decode() + "\n")
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.lsock.settimeout(WAIT)
        self.port = self.lsock.getsockname()[1]
        self.script = script
        self.link = None
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            s, _ = self.lsock.accept()
            s.settimeout(WAIT)
            self.link = FakeLink(self, s)
            self.script(self.link)
        except Exception as e:      # reported by join()
            self.error = e

    def client_conf(self, **extra):
        path = os.path.join(self.dir, "client.yaml")
        items = {"server_address": "127.0.0.1", "server_port": self.port,
                 "server_public_key": "fake.pub", "connect_timeout": 5,
                 "reply_timeout": 5}
        items.update(extra)
        write_yaml(path, items)
        return path

    def join(self):
        self.thread.join(WAIT)
        if self.link is not None:
            self.link.close()
        self.lsock.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.error is not None:
            raise self.error


class FakeLink:
    """The server side of one connection (docs/protocol.md, 2 and 3)."""

    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.buf = b""
        self.tx = 0
        self.rx = 0
        self.after_hello = b""      # every byte received after HELLO

    def frame(self, body):
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def read_frame(self, timeout=WAIT):
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    body = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("client closed")
            self.buf += chunk

    def hello(self):
        """Reads the HELLO and returns it."""
        body = self.read_frame()
        assert len(body) == 113 and body[0] == 1
        return body

    def accept(self, welcome=None):
        """Answers the HELLO with a CONFIRM (a good WELCOME by default)."""
        hello = self.hello()
        plain = nb.crypto_box_seal_open(hello[1:], self.server.pk,
                                        self.server.sk)
        k, e_c = plain[:32], plain[32:]
        e_pk, e_sk = nb.crypto_box_keypair()
        dh = nb.crypto_scalarmult(e_sk, e_c)
        h = blake2b(b"sealchat/1 handshake" + self.server.pk + hello + e_pk)
        master = blake2b(dh + h, key=k)
        self.k_c2s = kdf(master, 1, b"SCchanv1")
        self.k_s2c = kdf(master, 2, b"SCchanv1")
        if welcome is None:
            welcome = bytes([MSG_WELCOME, 1]) + struct.pack(">IHH", 65536,
                                                            15, 45)
        self.frame(e_pk + self.seal(welcome))

    def seal(self, msg):
        body = nb.crypto_aead_chacha20poly1305_ietf_encrypt(
            msg, b"", nonce(self.tx), self.k_s2c)
        self.tx += 1
        return body

    def send(self, msg):
        self.frame(self.seal(msg))

    def recv(self, timeout=WAIT):
        body = self.read_frame(timeout)
        m = nb.crypto_aead_chacha20poly1305_ietf_decrypt(
            body, b"", nonce(self.rx), self.k_c2s)
        self.rx += 1
        return m

    def drain(self, timeout=2.0):
        """Collects raw bytes until the client closes or goes quiet."""
        self.sock.settimeout(timeout)
        got = self.buf
        self.buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, OSError):
            pass
        return got

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
