# SPDX-License-Identifier: ISC
"""What the integration tests share.

- Daemon: a real sealchatd on 127.0.0.1 (or ::1) in a temporary folder of
  its own, on an ephemeral port.
- The module fixture: D, setUpModule and tearDownModule, one daemon for all
  the tests of a module; module_fixture() makes the same pair for another
  daemon.
- Real sealchat clients: run_script() for a whole script, Client for one
  driven line by line, listener() for a user kept online, signed() for an
  account; ctl() runs sealchatctl against a daemon, in a pipe or on a
  terminal, as another user if asked.
- A raw protocol client built from docs/protocol.md with PyNaCl, which can
  also forge peer datagrams (RawClient, RawPeer: the peers' handshake of
  section 8.1 included, PeerHandshake), and a fake server for what the
  real daemon never does (FakeServer).
- Every client of a test module keeps its identity key and known_peers in
  one temporary data folder (XDG_DATA_HOME), made at import and removed
  at exit, so that users keep their keys from one process to the next as
  on one device; a test that wants another device passes another
  XDG_DATA_HOME.
- The runner every test module ends with (main), and the skip machinery: a
  test that cannot run here says skipped, and a module where nothing could
  run exits with SKIPPED, which ctest shows as skipped.

Every wait is bounded; nothing talks to anything but 127.0.0.1 and ::1, or
the addresses of network namespaces a test made (the clients' and the raw
client's wrap and host arguments, for test_nat.py).
"""

import atexit
import base64
import functools
import itertools
import os
import queue
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

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
SEALCHATCTL = os.environ.get("SEALCHATCTL",
                             os.path.join(BUILD, "sealchatctl"))
KEEP = bool(os.environ.get("SEALCHAT_KEEP"))    # keep daemon folders

# The clients' data folder (identity keys, known_peers), one per module.
DATA_HOME = tempfile.mkdtemp(prefix="sealchat-data-")
os.environ["XDG_DATA_HOME"] = DATA_HOME
atexit.register(shutil.rmtree, DATA_HOME, True)


def project_version():
    """The version of CMakeLists.txt's project(), the one number."""
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        m = re.search(r"project\(sealchat VERSION ([0-9.]+)", f.read())
    assert m, "no version in CMakeLists.txt"
    return m.group(1)

WAIT = 10.0          # seconds for any one expected event
TEST_TIMEOUT = 120   # seconds a test may take before the runner fails it
SKIPPED = 77         # exit status of a module where no test could run


# --- Skipping: a test that cannot run here says so. ---

@functools.lru_cache(maxsize=None)
def sanitizer_build():
    """Whether sealchatd was built with AddressSanitizer."""
    with open(SEALCHATD, "rb") as f:
        return b"AddressSanitizer" in f.read()


def needs_root(why):
    """Skips a test (or a class of tests) unless it runs as root; why says
    what needs root."""
    return unittest.skipUnless(os.geteuid() == 0, "needs root: %s" % why)


def needs_programs(*names):
    """Skips a test (or a class of tests) unless every program named is on
    PATH."""
    missing = [n for n in names if shutil.which(n) is None]
    return unittest.skipIf(bool(missing), "not installed: %s"
                           % " ".join(missing))


# --- The daemon. ---

def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """A port that was free on host a moment ago."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                      kind)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def write_yaml(path, items):
    with open(path, "w") as f:
        for k, v in items.items():
            f.write("%s: %s\n" % (k, v))


class Daemon:
    """sealchatd in a temporary folder of its own (configuration, key pair,
    database, log), on an ephemeral port of host.  conf holds the settings
    written after the five that place the daemon; env is added to its
    environment.  Nothing runs until start()."""

    # Every client of a test comes from 127.0.0.1: the limits per address
    # are out of the way unless a test sets them.
    SETTINGS = {"hash_cost": "min", "log_level": "debug",
                "max_sessions_per_addr": 1000000,
                "max_logins_per_addr": 100000, "signups_per_hour": 1000000}

    def __init__(self, host="127.0.0.1", env=None, **conf):
        self.host = host
        self.env = env
        self.conf = dict(self.SETTINGS)
        self.conf.update(conf)
        self.dir = None
        self.port = None
        self.pk = None              # the server's public key, 32 bytes
        self.proc = None
        self.logf = None
        self.killed = False         # the test ended it with kill()
        self.preexec = None         # run in the daemon's process first

    @property
    def path(self):
        """The daemon's configuration file."""
        return os.path.join(self.dir, "sealchatd.yaml")

    @property
    def pub(self):
        """The file of the server's public key, which clients pin."""
        return os.path.join(self.dir, "server.pub")

    @property
    def sock(self):
        """The daemon's control socket."""
        return os.path.join(self.dir, "sealchatd.sock")

    @property
    def db(self):
        """The daemon's database."""
        return os.path.join(self.dir, "sealchat.db")

    @property
    def log_path(self):
        """The daemon's standard output and error, from every start."""
        return os.path.join(self.dir, "sealchatd.log")

    def write_conf(self, extra=""):
        """Writes the configuration file; extra is appended as it is."""
        items = {
            "server_address": '"%s"' % self.host,
            "server_port": self.port,
            "server_public_key": "server.pub",
            "server_private_key": "server.key",
            "data_base": "sealchat.db",
            "control_socket": "sealchatd.sock",
        }
        items.update(self.conf)
        write_yaml(self.path, items)
        with open(self.path, "a") as f:
            f.write(extra)

    def start(self):
        """Starts the daemon on a free port and waits until its log says it
        listens (so log_level is info or debug); returns self.  The first
        start makes the folder; a start after stop() or kill() keeps it:
        the same keys and database."""
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="sealchat-it-")
        for _ in range(8):
            if self._start_on_a_free_port():
                return self
        raise RuntimeError("sealchatd found no free port: %s"
                           % self.log_text()[-2000:])

    def start_again(self):
        """Starts the daemon again after stop() or kill(), on the same port
        and with the same keys and database, so that clients find it again;
        returns self."""
        deadline = time.monotonic() + WAIT
        while not self._start_on_a_free_port(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("sealchatd could not listen on port %d "
                                   "again" % self.port)
            time.sleep(0.1)
        return self

    def _start_on_a_free_port(self, port=None):
        """One start (on port, else a free one); False when the port was
        taken in between."""
        self.port = port or free_port(host=self.host)
        self.write_conf()
        self.killed = False
        try:
            offset = os.path.getsize(self.log_path)
        except OSError:
            offset = 0
        env = dict(os.environ)
        env.update(self.env or {})
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [SEALCHATD, "-c", self.path], stdin=subprocess.DEVNULL,
            stdout=self.logf, stderr=subprocess.STDOUT, cwd=self.dir,
            env=env, preexec_fn=self.preexec)
        deadline = time.monotonic() + WAIT
        while True:
            text = self.log_text(offset)
            if self.proc.poll() is not None:
                self._close_log()
                if "Address already in use" in text:
                    return False
                raise RuntimeError("sealchatd exited with status %d: %s"
                                   % (self.proc.returncode, text))
            if "listening address=" in text:
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait(WAIT)
                self._close_log()
                raise RuntimeError("sealchatd did not start within %.0f s: "
                                   "%s" % (WAIT, text))
            time.sleep(0.02)
        with open(self.pub) as f:
            self.pk = base64.b64decode(f.read().strip())
        return True

    def log_text(self, offset=0):
        """What the daemon wrote (from offset on), as text."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def wait_log(self, text, timeout=WAIT):
        """Whether text shows in the log within timeout seconds."""
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _close_log(self):
        if self.logf is not None:
            self.logf.close()
            self.logf = None

    def stop(self):
        """Stops the daemon with SIGTERM, unless it already ended; returns
        its exit status, or None when it had to be killed."""
        if self.proc is None:
            return None
        status = self.proc.poll()
        if status is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
                status = None
        self._close_log()
        return status

    def kill(self):
        """Ends the daemon with SIGKILL, as a crash would."""
        self.killed = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT)
        self._close_log()

    def cleanup(self):
        """Stops the daemon and removes its folder; returns stop()'s status.
        The folder stays for a look, and its path is printed, when
        SEALCHAT_KEEP is set or the daemon ended badly without kill()."""
        status = self.stop()
        if self.dir is None:
            return status
        if KEEP or (status != 0 and not self.killed):
            print("daemon folder kept: %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        return status

    def client_conf(self, name="sealchat.yaml", **extra):
        """A client configuration that pins this daemon's key."""
        path = os.path.join(self.dir, name)
        items = {
            "server_address": '"%s"' % self.host,
            "server_port": self.port,
            "server_public_key": "server.pub",
            "connect_timeout": 5,
            "reply_timeout": 10,
        }
        items.update(extra)
        write_yaml(path, items)
        return path


def module_fixture(daemon):
    """setUpModule and tearDownModule for a test module whose tests share
    daemon: it starts before the first test and stops after the last, when
    it must exit 0 on SIGTERM."""

    def setUpModule():
        daemon.start()

    def tearDownModule():
        tail = daemon.log_text()[-4000:]
        status = daemon.cleanup()
        if status != 0:
            raise AssertionError("the module's sealchatd exited with status "
                                 "%r on SIGTERM; its log ends with:\n%s"
                                 % (status, tail))

    return setUpModule, tearDownModule


# The module fixture: a test module that imports D, setUpModule and
# tearDownModule from here shares this daemon among its tests.
D = Daemon()
setUpModule, tearDownModule = module_fixture(D)


# --- Clients. ---

def split_record(line):
    """One stdout line (bytes) as a tuple of str fields."""
    if line.endswith(b"\n"):
        line = line[:-1]
    return tuple(line.decode("utf-8", "surrogateescape").split("\t"))


def run_script(conf, text, args=(), env=None, timeout=30, wrap=()):
    """Runs sealchat on a script; returns (status, records, stderr).  wrap
    is put before the command (a network namespace: ip netns exec NS)."""
    if isinstance(text, str):
        text = text.encode()
    full_env = dict(os.environ)
    full_env.pop("SEALCHAT_PASSWORD", None)
    if env:
        full_env.update(env)
    cmd = list(wrap) + [SEALCHAT] + (["-c", conf] if conf else []) + \
        list(args)
    p = subprocess.run(cmd, input=text, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=full_env,
                       timeout=timeout)
    recs = [split_record(l) for l in p.stdout.splitlines(keepends=True)]
    return p.returncode, recs, p.stderr.decode("utf-8", "replace")


class Client:
    """A sealchat process in script mode, fed line by line through a pipe;
    its records are read as they come.  wrap is put before the command (a
    network namespace: ip netns exec NS, which runs sealchat in the same
    process, so that signals reach it)."""

    def __init__(self, conf, args=(), env=None, debug=False, wrap=()):
        full_env = dict(os.environ)
        full_env.pop("SEALCHAT_PASSWORD", None)
        if env:
            full_env.update(env)
        cmd = list(wrap) + [SEALCHAT, "-c", conf] + \
            (["-d"] if debug else []) + list(args)
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

    def end(self):
        """Logs a client out with SIGTERM (a --listen client waits for it),
        then cleans up as finish() does."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
        self.finish()

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


def signed(user, password="pw-x", daemon=D):
    """Creates an account (and logs out), on the module's daemon unless
    another is given."""
    rc, recs, err = run_script(daemon.client_conf(), "sign %s %s\n"
                               % (user, password))
    assert rc == 0 and recs[0] == ("ok", "sign", user), (rc, recs, err)


def wait_identity(user, daemon=D):
    """Waits until the daemon has stored user's identity key beside the
    account (the session does not wait for that write), so that messages
    for user while offline can be sealed to it."""
    deadline = time.monotonic() + WAIT
    while True:
        db = sqlite3.connect("file:%s?mode=ro" % daemon.db, uri=True)
        try:
            row = db.execute("SELECT identity FROM accounts WHERE name = ?",
                             (user,)).fetchone()
        finally:
            db.close()
        if row is not None and row[0] is not None:
            return
        if time.monotonic() > deadline:
            raise AssertionError("the identity key of %s was never stored"
                                 % user)
        time.sleep(0.05)


def _ctl_preexec(uid, gid, groups=()):
    """A function that makes the child run as uid and gid, with the
    supplementary groups given (for ctl() as another user)."""
    def become():
        os.setgroups(list(groups))
        os.setgid(gid)
        os.setuid(uid)
    return become


def ctl(daemon, *args, stdin=b"", tty=False, user=None, sock=False,
        timeout=60):
    """Runs sealchatctl -c on daemon's configuration (with sock, -s on its
    socket instead) with args; returns (status, stdout, stderr) as text.
    stdin is its standard input (a password line); with tty, standard
    output is a terminal (a pty), else a pipe; user is (uid, gid) or
    (uid, gid, supplementary groups) to run as."""
    cmd = [SEALCHATCTL] + (["-s", daemon.sock] if sock else
                           ["-c", daemon.path]) + list(args)
    pre = _ctl_preexec(*user) if user is not None else None
    if not tty:
        p = subprocess.run(cmd, input=stdin, capture_output=True,
                           timeout=timeout, preexec_fn=pre)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=slave,
                             stderr=subprocess.PIPE, preexec_fn=pre)
        os.close(slave)
        slave = -1
        p.stdin.write(stdin)
        p.stdin.close()
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        err = p.stderr.read()
        p.stderr.close()
        rc = p.wait(WAIT)
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    return (rc, out.decode("utf-8", "replace").replace("\r\n", "\n"),
            err.decode("utf-8", "replace"))


def listener(user, password, conf=None, args=()):
    """A script-mode client logged in as user that stays online (--listen)
    until end(); the users record that follows the login is read."""
    c = Client(conf or D.client_conf(), args=("--listen",) + tuple(args))
    c.send("auth %s %s" % (user, password))
    c.expect("ok", "auth", user)
    c.next()
    return c


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


def phs_kdf(t, i):
    return kdf(t, i, b"SCphsv1_")


class PeerHandshake:
    """The peers' handshake (docs/protocol.md, section 8.1): Noise KKpsk0
    on BLAKE2b, X25519 and ChaCha20-Poly1305, Kxy as the pre-shared key.
    initiator: this side begins (its name sorts first)."""

    NAME = b"sealchat/1 peer handshake KKpsk0"

    def __init__(self, initiator, pair_id, name_i, pk_i, name_r, pk_r, psk):
        self.initiator = initiator
        self.pair_id = pair_id
        self.peer_pk = pk_r if initiator else pk_i
        self.h = blake2b(self.NAME)
        self.ck = self.h
        self.mix_hash(struct.pack(">Q", pair_id) + str8(name_i) +
                      str8(name_r))
        self.mix_hash(pk_i)
        self.mix_hash(pk_r)
        t = blake2b(psk, key=self.ck)
        self.ck = phs_kdf(t, 1)
        self.mix_hash(phs_kdf(t, 2))
        self.k = phs_kdf(t, 3)
        self.e_sk = None

    def mix_hash(self, x):
        self.h = blake2b(self.h + x)

    def mix_key(self, x):
        t = blake2b(x, key=self.ck)
        self.ck, self.k = phs_kdf(t, 1), phs_kdf(t, 2)

    def seal_tag(self):
        c = nb.crypto_aead_chacha20poly1305_ietf_encrypt(
            b"", self.h, nonce(0), self.k)
        self.mix_hash(c)
        return c

    def open_tag(self, c):
        nb.crypto_aead_chacha20poly1305_ietf_decrypt(c, self.h, nonce(0),
                                                     self.k)
        self.mix_hash(c)

    def split(self):
        """(tx, rx) of this side."""
        t = blake2b(b"", key=self.ck)
        i2r, r2i = phs_kdf(t, 1), phs_kdf(t, 2)
        return (i2r, r2i) if self.initiator else (r2i, i2r)

    def write_init(self, s_sk):
        e_pk, self.e_sk = nb.crypto_box_keypair()
        self.mix_hash(e_pk)
        self.mix_key(e_pk)
        self.mix_key(nb.crypto_scalarmult(self.e_sk, self.peer_pk))
        self.mix_key(nb.crypto_scalarmult(s_sk, self.peer_pk))
        return b"\x04" + struct.pack(">Q", self.pair_id) + e_pk + \
            self.seal_tag()

    def read_init(self, d, s_sk):
        """(RESP, (tx, rx)); raises when d does not open."""
        assert len(d) == 57 and d[0] == 4
        e_i = d[9:41]
        self.mix_hash(e_i)
        self.mix_key(e_i)
        self.mix_key(nb.crypto_scalarmult(s_sk, e_i))
        self.mix_key(nb.crypto_scalarmult(s_sk, self.peer_pk))
        self.open_tag(d[41:57])
        e_pk, e_sk = nb.crypto_box_keypair()
        self.mix_hash(e_pk)
        self.mix_key(e_pk)
        self.mix_key(nb.crypto_scalarmult(e_sk, e_i))
        self.mix_key(nb.crypto_scalarmult(e_sk, self.peer_pk))
        resp = b"\x05" + struct.pack(">Q", self.pair_id) + e_pk + \
            self.seal_tag()
        return resp, self.split()

    def read_resp(self, d, s_sk):
        """(tx, rx); raises when d does not open."""
        assert len(d) == 57 and d[0] == 5
        e_r = d[9:41]
        self.mix_hash(e_r)
        self.mix_key(e_r)
        self.mix_key(nb.crypto_scalarmult(self.e_sk, e_r))
        self.mix_key(nb.crypto_scalarmult(s_sk, e_r))
        self.open_tag(d[41:57])
        return self.split()


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


MSG_SIGN, MSG_AUTH, MSG_LIST, MSG_UDP, MSG_PAIR, MSG_PING, MSG_LOGOUT, \
    MSG_RECHECK, MSG_IDENTITY = range(1, 10)
MSG_WELCOME, MSG_OK, MSG_ERROR, MSG_USERS, MSG_PRESENCE, MSG_PAIRKEY, \
    MSG_PONG, MSG_GOODBYE, MSG_UDPREG, MSG_CANDIDATES = range(0x81, 0x8b)


def str8(s):
    if isinstance(s, str):
        s = s.encode()
    return bytes([len(s)]) + s


class RawClient:
    """A protocol client in Python: handshake, login, its identity key
    (IDENTITY after OK, unless identity is False; id_keys (pk, sk) are
    another client's, as on one device, else a fresh pair), UDP, pair
    keys."""

    def __init__(self, port, server_pub_path, host="127.0.0.1",
                 identity=True, id_keys=None):
        with open(server_pub_path, "rb") as f:
            self.spk = base64.b64decode(f.read().strip())
        self.host = host
        self.sock = socket.create_connection((host, port), WAIT)
        self.sock.settimeout(WAIT)
        self.buf = b""
        self.tx = 0
        self.rx = 0
        self.udp = None
        self.identity = identity
        self.id_pk, self.id_sk = id_keys or nb.crypto_box_keypair()
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
        if self.identity:
            self.send(bytes([MSG_IDENTITY]) + self.id_pk)

    def open_udp(self, register=True):
        """A UDP socket, announced with UDP; with register, the endpoint
        is registered with the server (section 9) as a client does, so that
        the relay can reach it."""
        self.udp = socket.socket(self.sock.family, socket.SOCK_DGRAM)
        self.udp.bind((self.sock.getsockname()[0], 0))
        self.udp.settimeout(WAIT)
        self.send(bytes([MSG_UDP]) + struct.pack(">H",
                                                 self.udp.getsockname()[1]))
        if register:
            self.register()

    def register(self):
        """Waits for UDPREG, then REGISTER until REGISTERED comes back."""
        m = self.recv_until(MSG_UDPREG)
        if m[0] != MSG_UDPREG:
            raise AssertionError("UDP refused: code %d" % m[2])
        port, _, reg_id = struct.unpack(">HBQ", m[1:12])
        k_rc = kdf(m[12:44], 1, b"SCregv1_")
        k_rs = kdf(m[12:44], 2, b"SCregv1_")
        server = (self.host, port)
        for counter in range(10):
            hdr = b"\x02" + struct.pack(">QQ", reg_id, counter)
            self.udp.sendto(hdr + nb.crypto_aead_chacha20poly1305_ietf_encrypt(
                bytes(20), hdr, nonce(counter), k_rc), server)
            got = self.udp_recv_from(0.5)
            if got is None or got[1][:2] != server or got[0][:17] != \
                    b"\x03" + hdr[1:]:
                continue
            nb.crypto_aead_chacha20poly1305_ietf_decrypt(
                got[0][17:], got[0][:17], nonce(counter), k_rs)
            self.server_udp = server
            return
        raise AssertionError("no REGISTERED from the server")

    def pair(self, peer):
        """Asks for a pair key; returns (pair_id, kxy, (host, port),
        the peer's identity key)."""
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
            idkey = m[off + 40:off + 72]
            # flags at off + 72, then candidates: kind, af, address, port;
            # with none, the relay (the server's UDP endpoint) is the way.
            if len(m) <= off + 73:
                where = getattr(self, "server_udp", None)
            else:
                af = m[off + 74]
                alen = 4 if af == 4 else 16
                addr = m[off + 75:off + 75 + alen]
                port = struct.unpack(">H", m[off + 75 + alen:
                                             off + 77 + alen])[0]
                where = (socket.inet_ntop(socket.AF_INET if af == 4 else
                                          socket.AF_INET6, addr), port)
            if name == peer:
                return pair_id, kxy, where, idkey

    def udp_recv(self, timeout=WAIT):
        """One datagram, or None after timeout."""
        got = self.udp_recv_from(timeout)
        return None if got is None else got[0]

    def udp_recv_from(self, timeout=WAIT):
        """(datagram, source address), or None after timeout."""
        self.udp.settimeout(timeout)
        try:
            return self.udp.recvfrom(2048)
        except socket.timeout:
            return None

    def close(self):
        for s in (self.sock, self.udp):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


def endpoint(addr):
    """The 19-byte endpoint of a socket address (section 8)."""
    host, port = addr[0], addr[1]
    if ":" in host:
        packed = socket.inet_pton(socket.AF_INET6, host)
        if packed.startswith(b"\0" * 10 + b"\xff\xff"):
            return b"\x04" + packed[12:] + b"\0" * 12 + \
                struct.pack(">H", port)
        return b"\x06" + packed + struct.pack(">H", port)
    return (b"\x04" + socket.inet_aton(host) + b"\0" * 12 +
            struct.pack(">H", port))


class RawPeer:
    """The raw client's side of one pair key: the handshake (section 8.1),
    its counter and keys.  The side whose name sorts first begins: its
    INIT goes to addr until a RESP comes; the other answers each INIT
    (copies with the same RESP).  Like any client (section 8) it answers
    each PROBE that opens with a PROBE_ACK to the PROBE's source, unless
    answer_probes is cleared: the sealchat client sends messages only on a
    path so confirmed."""

    def __init__(self, raw, me, peer, pair_id, kxy, addr, idkey):
        self.raw = raw
        self.me, self.peer = me, peer
        self.initiator = me.encode() < peer.encode()
        if self.initiator:
            args = (me, raw.id_pk, peer, idkey)
        else:
            args = (peer, idkey, me, raw.id_pk)
        self.hs = PeerHandshake(self.initiator, pair_id, args[0], args[1],
                                args[2], args[3], kxy)
        self.pair_id = pair_id
        self.addr = addr
        self.tx = self.rx = None
        self.init = self.init_in = self.resp = None
        if self.initiator:
            self.init = self.hs.write_init(raw.id_sk)
        self.ctr = 0
        self.answer_probes = True
        self.probes = 0
        self.hs_seen = 0            # handshake datagrams taken

    def _handshake_in(self, d, src):
        """Takes an INIT or RESP: the keys, an answer, or nothing."""
        if d[0] == 4 and not self.initiator:
            if self.tx is None:
                try:
                    self.resp, (self.tx, self.rx) = self.hs.read_init(
                        d, self.raw.id_sk)
                except Exception:
                    return
                self.init_in = d
            elif d != self.init_in:
                return
            self.hs_seen += 1
            self.raw.udp.sendto(self.resp, src)
        elif d[0] == 5 and self.initiator and self.tx is None:
            try:
                self.tx, self.rx = self.hs.read_resp(d, self.raw.id_sk)
            except Exception:
                return
            self.hs_seen += 1

    def handshake(self, timeout=WAIT):
        """Until the keys exist: INIT to addr (the initiator, every 0.2 s),
        or the peer's INIT answered."""
        deadline = time.monotonic() + timeout
        while self.tx is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no handshake with %s" % self.peer)
            if self.initiator:
                self.raw.udp.sendto(self.init, self.addr)
            self.recv(min(left, 0.2), until_keys=True)

    def seal(self, kind, msg_id, text=b"", counter=None, key=None):
        """A datagram under the next counter (or the one given)."""
        self.handshake()
        if counter is None:
            counter = self.ctr
            self.ctr += 1
        return dgram_seal(key or self.tx, self.pair_id, counter, kind,
                          msg_id, text)

    def put(self, d):
        self.raw.udp.sendto(d, self.addr)

    def recv(self, timeout=WAIT, until_keys=False):
        """The next datagram that opens, the handshake and PROBEs aside
        (answered): (datagram, fields) or None.  until_keys: return as
        soon as the keys exist."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (until_keys and self.tx is not None):
                return None
            got = self.raw.udp_recv_from(left)
            if got is None:
                return None
            d, src = got
            if d[:1] in (b"\x04", b"\x05"):
                self._handshake_in(d, src)
                continue
            if self.rx is None:
                continue
            f = dgram_open(self.rx, d)
            if f is None:
                continue
            if f[2] == 3 and self.answer_probes:
                self.probes += 1
                self.raw.udp.sendto(self.seal(4, f[3], endpoint(src)), src)
                continue
            return d, f

    def send_until_ack(self, msg_id, text, tries=20, wait=0.25):
        """Sends a MSG (again, new counter, as a client does) until it is
        acknowledged; returns (the datagram that got the ACK, the ACK)."""
        self.handshake()
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


class MutePeer:
    """A raw client's side of a pair, in a thread: it answers PROBEs, so
    the sealchat client finds a path to it, but never acknowledges a
    message; it keeps the fields of every MSG that reaches it."""

    def __init__(self, raw, me, peer):
        self.raw, self.me, self.peer = raw, me, peer
        self.msgs = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        rp = RawPeer(self.raw, self.me, self.peer,
                     *self.raw.wait_pairkey(self.peer))
        while not self.stop.is_set():
            if rp.initiator and rp.tx is None:
                rp.put(rp.init)
            got = rp.recv(0.1)
            if got is not None and got[1][2] == 1:
                self.msgs.append(got[1])

    def finish(self, quiet=0.5):
        """The messages, once nothing came for a while."""
        n = -1
        while n != len(self.msgs):
            n = len(self.msgs)
            time.sleep(quiet)
        self.stop.set()
        self.thread.join(WAIT)
        return self.msgs


class FakeServer:
    """A one-connection server in Python for what the real daemon never
    does: refuse, forge, stall.  `script(link)` runs in a thread with a
    FakeLink once a client connects; the link records what it received."""

    def __init__(self, script):
        pk, sk = nb.crypto_box_keypair()
        self.pk, self.sk = pk, sk
        self.dir = tempfile.mkdtemp(prefix="sealchat-fake-")
        self.pub = os.path.join(self.dir, "fake.pub")
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


# --- The runner. ---

class TestTimeout(AssertionError):
    """A test ran past its time."""


class _TimedResult(unittest.TextTestResult):
    """Puts each test under an alarm, so that a test that hangs fails
    instead of holding ctest until its own timeout, and counts the tests
    that passed (a skipped one does not)."""

    timeout = TEST_TIMEOUT

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.passed = 0

    def startTest(self, test):
        super().startTest(test)
        signal.alarm(self.timeout)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main(timeout=TEST_TIMEOUT):
    """Runs the tests of the __main__ module, or those whose names hold one
    of the words given on the command line, each within timeout seconds.
    Returns the exit status: 0 when the tests that ran passed, SKIPPED when
    none could run here (each skipped one says why), 1 otherwise."""
    loader = unittest.TestLoader()
    if sys.argv[1:]:
        loader.testNamePatterns = ["*%s*" % w for w in sys.argv[1:]]
    suite = loader.loadTestsFromModule(sys.modules["__main__"])

    def on_alarm(signum, frame_):
        raise TestTimeout("the test took more than %d s" % timeout)

    signal.signal(signal.SIGALRM, on_alarm)
    result_class = type("TimedResult", (_TimedResult,), {"timeout": timeout})
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=result_class)
    result = runner.run(suite)
    if not result.wasSuccessful():
        return 1
    if result.passed == 0:
        if result.skipped:
            print("no test could run here: skipped")
            return SKIPPED
        print("no test matched")
        return 1
    return 0
