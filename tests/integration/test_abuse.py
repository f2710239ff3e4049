#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""One hostile host must not keep anyone else out: the real sealchatd on
127.0.0.1, attacked from other addresses of 127.0.0.0/8 (each client binds
its own source address), while an honest user logs in.

- logins that are asked for and abandoned cost no hash and count as
  failures of their address;
- hash_queue bounds the logins waiting, exactly;
- guessing one account is slowed however many connections and addresses
  it uses, while the account's owner gets in at once;
- connections that never send a HELLO are closed after hello_timeout, and
  a full pre-login table makes room fairly, even against a host that
  reconnects as fast as it can;
- one address cannot take every session slot, nor sign up without end;
- output_cap holds the kernel's send buffer too;
- the daemon and its hash helper are not dumpable, the helper has a title
  of its own, and a login held by the failed-login delay keeps its
  password out of the heap;
- every signal an operator or systemd may send is handled or ignored.

Run: SEALCHATD=/path/to/sealchatd /usr/bin/python3 THIS_FILE [WORD...]
"""

import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sealchat_harness as harness  # noqa: E402
import test_protocol_raw as raw  # noqa: E402

check = raw.check
TEST_TIMEOUT = 120
NOBODY = 65534


def client(d, src=None, **kw):
    """A raw protocol client from src, through the handshake."""
    c = raw.Client(d.port, d.pk, src=src, **kw)
    c.handshake()
    return c


def signed_up(d, name, password, src=None):
    """Signs name up and logs out."""
    c = client(d, src)
    m = c.login(raw.SIGN, name, password)
    check(m == ("OK", raw.SIGN, name), "sign-up of %s: %r" % (name, m))
    c.close()


def login_time(d, name, password, src=None, timeout=30.0):
    """Connects, logs in; returns (seconds, answer)."""
    t0 = time.monotonic()
    c = raw.Client(d.port, d.pk, src=src, timeout=timeout)
    c.handshake()
    c.send_msg(raw.enc_cred(raw.AUTH, name, password))
    m = c.recv_msg(timeout)
    took = time.monotonic() - t0
    c.close()
    return took, m


def count_log(d, text):
    """Lines of the daemon's log that hold text."""
    return sum(1 for line in d.log_text().splitlines() if text in line)


def helper_pid(pid):
    """The hash helper: the daemon's child process."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        kids = [int(k) for k in f.read().split()]
    check(len(kids) == 1, "one child process: %r" % kids)
    return kids[0]


def proc_state(pid):
    """The state letter of /proc/PID/stat (R, S, T...)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


class Logins(unittest.TestCase):
    """Logins: abandoned ones, the queue bound, guessing."""

    def test_abandoned_logins_cost_no_hash_and_count_as_failures(self):
        """200 AUTHs with made-up names, each hung up at once, from
        127.0.0.2: the jobs are withdrawn before they are hashed (a handful
        at most run), the owner's login from 127.0.0.1 right after gets in
        as if nothing happened, and the attacker's address is slowed."""
        d = raw.Daemon(hash_cost="interactive", hash_workers=2,
                       login_timeout=30, fail_free=3, fail_delay_ms=250,
                       max_logins_per_addr=8, max_unauth_per_addr=1000,
                       max_unauth=2000, max_sessions=4000).start()
        try:
            signed_up(d, "owner", "owner-password")
            for i in range(200):
                c = client(d, "127.0.0.2")
                c.send_msg(raw.enc_cred(raw.AUTH, "ghost%d" % i, "guess"))
                c.close()
            took, m = login_time(d, "owner", "owner-password")
            check(m == ("OK", raw.AUTH, "owner"), "owner in: %r" % (m,))
            print("     owner in after %.2f s" % took)
            check(took < 4.0, "owner in without waiting behind the "
                  "abandoned logins: %.2f s" % took)
            time.sleep(1.0)
            hashed = count_log(d, "op=auth name=ghost")
            print("     %d of 200 abandoned logins hashed" % hashed)
            check(hashed <= 20, "abandoned logins withdrawn: %d hashed"
                  % hashed)
            probe = client(d, "127.0.0.2")
            probe.send_msg(raw.enc_cred(raw.AUTH, "probe", "guess"))
            m = probe.recv_msg(30)
            check(m[0] == "ERROR", "probe answered: %r" % (m,))
            check(d.wait_log("user=probe delay_ms=") or
                  count_log(d, "user=probe reason=failed logins") > 0,
                  "the abandoned logins counted: the address is slowed")
            probe.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_hash_queue_bounds_waiting_logins_exactly(self):
        """One worker, hash_queue 1, 36 AUTHs at once: exactly 2 are taken
        (one hashed, one waiting) and 34 get ERROR 5, whatever the
        pipeline to the helper holds."""
        d = raw.Daemon(hash_cost="interactive", hash_workers=1,
                       hash_queue=1, fail_free=1000, login_timeout=30,
                       max_logins_per_addr=1000,
                       max_unauth_per_addr=1000).start()
        conns = []
        try:
            conns = [client(d) for _ in range(36)]
            for i, c in enumerate(conns):
                c.send_msg(raw.enc_cred(raw.AUTH, "nobody%d" % i, "guess"))
            codes = [c.recv_msg(30) for c in conns]
            busy = sum(1 for m in codes if m == ("ERROR", raw.AUTH, 5, ""))
            wrong = sum(1 for m in codes if m == ("ERROR", raw.AUTH, 1, ""))
            check(busy == 34 and wrong == 2,
                  "34 busy, 2 checked: %d busy, %d checked" % (busy, wrong))
        finally:
            for c in conns:
                c.close()
            check(d.cleanup() == 0, "clean stop")

    def test_guessing_one_account_slowed_owner_gets_in(self):
        """32 connections from 4 addresses guess one account's password for
        8 s: after fail_free they wait in one line, at most a dozen or so
        guesses in all (1 per 8 s once the waits have doubled); the owner,
        from an address that never failed, logs in at once meanwhile."""
        d = raw.Daemon(hash_cost="min", fail_free=3, fail_delay_ms=250,
                       max_logins_per_addr=32, max_unauth_per_addr=100,
                       login_timeout=60).start()
        stop = time.monotonic() + 8.0
        lock = threading.Lock()
        guesses = [0]
        errors = []

        def guess(src):
            try:
                c = client(d, src, timeout=20.0)
                while time.monotonic() < stop:
                    c.send_msg(raw.enc_cred(raw.AUTH, "victim", "wrong"))
                    m = c.recv_msg(20)
                    if m == ("ERROR", raw.AUTH, 1, ""):
                        with lock:
                            guesses[0] += 1
                    elif m == ("ERROR", raw.AUTH, 5, ""):
                        time.sleep(0.1)
                    else:
                        raise AssertionError("guess answered %r" % (m,))
                c.close()
            except Exception as e:      # reported below
                errors.append(e)

        try:
            signed_up(d, "victim", "right-one")
            threads = [threading.Thread(target=guess, daemon=True,
                                        args=("127.0.0.%d" % (20 + i % 4),))
                       for i in range(32)]
            for t in threads:
                t.start()
            time.sleep(4.0)
            took, m = login_time(d, "victim", "right-one", src="127.0.0.9")
            check(m == ("OK", raw.AUTH, "victim"), "owner in: %r" % (m,))
            for t in threads:
                t.join(30)
            check(not errors, "attackers ran: %r" % errors[:1])
            print("     %d guesses in 8 s; owner in after %.2f s"
                  % (guesses[0], took))
            check(guesses[0] <= 20, "guessing slowed: %d in 8 s"
                  % guesses[0])
            check(took < 2.0, "owner not held behind the guesses: %.2f s"
                  % took)
        finally:
            check(d.cleanup() == 0, "clean stop")


class Connections(unittest.TestCase):
    """The pre-login table, the sessions per address, the output cap."""

    def test_silent_connection_closed_after_hello_timeout(self):
        """A connection that sends nothing is closed after hello_timeout
        (2 s here), long before login_timeout (30 s)."""
        d = raw.Daemon(hello_timeout=2, login_timeout=30).start()
        try:
            q = raw.Conn(d.port, src="127.0.0.50")
            t0 = time.monotonic()
            check(q.wait_closed(10), "closed without a word")
            took = time.monotonic() - t0
            check(1.5 <= took <= 6.0, "after about 2 s: %.2f s" % took)
            q.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_full_prelogin_table_makes_room_for_a_newcomer(self):
        """16 addresses hold all 64 pre-login slots with silent
        connections: a newcomer from another address is let in (one silent
        connection is closed for it) and logs in."""
        d = raw.Daemon(max_unauth=64, max_unauth_per_addr=4,
                       hello_timeout=20, login_timeout=30).start()
        held = []
        try:
            for i in range(64):
                held.append(raw.Conn(d.port, src="127.0.0.%d" % (60 + i % 16)))
            time.sleep(0.3)
            c = client(d, "127.0.0.200")
            m = c.login(raw.SIGN, "newcomer", "pw")
            check(m == ("OK", raw.SIGN, "newcomer"), "logged in: %r" % (m,))
            closed = sum(1 for h in held if h.wait_closed(0.05))
            check(closed >= 1, "a silent connection made room")
            c.close()
        finally:
            for h in held:
                h.close()
            check(d.cleanup() == 0, "clean stop")

    def test_connection_that_sent_hello_never_closed_for_a_newcomer(self):
        """With every pre-login slot held by connections that sent their
        HELLO, a newcomer is refused (REJECT 3), and they all stay."""
        d = raw.Daemon(max_unauth=8, max_unauth_per_addr=8,
                       login_timeout=30).start()
        greeted = []
        try:
            greeted = [client(d, "127.0.0.30") for _ in range(8)]
            extra = raw.Conn(d.port, src="127.0.0.31")
            check(extra.recv_frame() == b"\x00\x03", "newcomer: REJECT 3")
            extra.close()
            for i, g in enumerate(greeted):
                g.ping(i)
                check(g.recv_msg() == ("PONG", i), "greeted one stays")
        finally:
            for g in greeted:
                g.close()
            check(d.cleanup() == 0, "clean stop")

    def test_logins_succeed_while_a_host_reconnects_as_fast_as_it_can(self):
        """16 addresses keep the pre-login table full, opening a new
        connection (and dropping their oldest) as fast as they can for 6 s;
        meanwhile a user from another address logs in five times, each
        within a few seconds."""
        d = raw.Daemon(max_unauth=64, max_unauth_per_addr=4,
                       hello_timeout=5, login_timeout=30,
                       log_level="info").start()
        stop = time.monotonic() + 6.0
        opened = [0]

        def flood():
            socks = {i: [] for i in range(16)}
            i = 0
            while time.monotonic() < stop:
                s = socket.socket()
                s.setblocking(False)
                s.bind(("127.0.0.%d" % (100 + i % 16), 0))
                try:
                    s.connect((raw.HOST, d.port))
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    continue
                opened[0] += 1
                q = socks[i % 16]
                q.append(s)
                if len(q) > 4:
                    q.pop(0).close()
                i += 1
            for q in socks.values():
                for s in q:
                    s.close()

        t = threading.Thread(target=flood, daemon=True)
        try:
            signed_up(d, "steady", "steady-pw", src="127.0.0.250")
            t.start()
            time.sleep(0.5)
            worst = 0.0
            for _ in range(5):
                took, m = login_time(d, "steady", "steady-pw",
                                     src="127.0.0.250", timeout=15.0)
                check(m == ("OK", raw.AUTH, "steady"), "in: %r" % (m,))
                worst = max(worst, took)
            t.join(30)
            print("     %d connections opened; slowest login %.2f s"
                  % (opened[0], worst))
            check(worst < 5.0, "each login within 5 s: %.2f s" % worst)
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_one_address_cannot_take_every_session(self):
        """max_sessions_per_addr 8: the ninth connection from 127.0.0.40 is
        refused, while another address still gets in."""
        d = raw.Daemon(max_sessions=20, max_sessions_per_addr=8).start()
        mine = []
        try:
            for i in range(8):
                c = client(d, "127.0.0.40")
                check(c.login(raw.SIGN, "many%d" % i, "pw")[0] == "OK",
                      "login %d" % i)
                mine.append(c)
            extra = raw.Conn(d.port, src="127.0.0.40")
            check(extra.recv_frame() == b"\x00\x03", "ninth: REJECT 3")
            extra.close()
            other = client(d, "127.0.0.41")
            m = other.login(raw.SIGN, "other", "pw")
            check(m == ("OK", raw.SIGN, "other"), "another address: %r"
                  % (m,))
            other.close()
        finally:
            for c in mine:
                c.close()
            check(d.cleanup() == 0, "clean stop")

    def test_signups_per_hour_per_address(self):
        """signups_per_hour 3: a fourth sign-up from one address gets
        ERROR 5; a taken name uses none up; another address signs up."""
        d = raw.Daemon(signups_per_hour=3).start()
        try:
            for i in range(3):
                signed_up(d, "s%d" % i, "pw", src="127.0.0.42")
            c = client(d, "127.0.0.42")
            check(c.login(raw.SIGN, "s0", "pw") == ("ERROR", raw.SIGN, 5,
                                                     ""),
                  "fourth: ERROR 5")
            c.close()
            signed_up(d, "s3", "pw", src="127.0.0.43")
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_kernel_send_buffer_counts_toward_output_cap(self):
        """A logged-in client sends 4000 LISTs and reads nothing, with 30
        users online (about 1 kB per answer): the daemon drops it before
        its socket's kernel send queue holds more than a fraction of
        output_cap, and all it ever sent is within the cap and the client's
        own receive buffer.  The kernel holds at most twice the send buffer
        the daemon sets (output_cap / 4): half the cap."""
        cap = 1048576
        d = raw.Daemon(output_cap=cap).start()
        others = []
        try:
            others = [d.user("o%02d-%s" % (i, "n" * 28)) for i in range(30)]
            slow = client(d)
            check(slow.login(raw.SIGN, "slow", "pw")[0] == "OK", "login")
            slow.read_users()
            port = slow.sock.getsockname()[1]
            try:
                for _ in range(4000):
                    slow.list()
            except OSError:
                pass
            worst = 0
            for _ in range(20):
                worst = max(worst, tx_queue(d.port, port))
                time.sleep(0.1)
            total = len(slow.buf)
            slow.sock.settimeout(5)
            try:
                while True:
                    chunk = slow.sock.recv(1 << 20)
                    if not chunk:
                        break
                    total += len(chunk)
            except (socket.timeout, ConnectionResetError):
                pass
            print("     kernel queue at most %d B, %d B received in all"
                  % (worst, total))
            check(worst <= cap * 5 // 8, "kernel send queue %d B" % worst)
            check(total <= cap + 512 * 1024, "sent in all %d B" % total)
            for o in others:
                o.close()
        finally:
            check(d.cleanup() == 0, "clean stop")


def tx_queue(lport, rport):
    """Bytes in the kernel's send queue of the TCP socket from 127.0.0.1
    port lport to port rport (/proc/net/tcp), 0 when there is none."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            loc, rem = fields[1], fields[2]
            if (int(loc.split(":")[1], 16) == lport and
                    int(rem.split(":")[1], 16) == rport):
                return int(fields[4].split(":")[0], 16)
    return 0


class Process(unittest.TestCase):
    """The daemon's process: memory, title, signals."""

    def test_daemon_and_helper_not_dumpable_helper_titled(self):
        """The daemon and its hash helper are not dumpable: their /proc
        files belong to root although they run as another user, so no
        process of that user can read their memory.  The helper's title is
        'sealchatd: hash helper'."""
        d = raw.Daemon()
        if os.geteuid() == 0:
            d.dir = harness.tempfile.mkdtemp(prefix="sealchat-it-")
            os.chown(d.dir, NOBODY, NOBODY)

            def drop():
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            d.preexec = drop
        d.start()
        try:
            me = os.geteuid()
            for pid in (d.proc.pid, helper_pid(d.proc.pid)):
                with open("/proc/%d/status" % pid) as f:
                    uid = int([l for l in f if l.startswith("Uid:")][0]
                              .split()[1])
                check(uid == (NOBODY if me == 0 else me),
                      "runs as %d" % uid)
                owner = os.stat("/proc/%d/mem" % pid).st_uid
                check(owner == 0, "pid %d not dumpable (mem owned by %d)"
                      % (pid, owner))
            with open("/proc/%d/cmdline" % helper_pid(d.proc.pid),
                      "rb") as f:
                title = f.read().split(b"\0")[0]
            check(title == b"sealchatd: hash helper", "title %r" % title)
        finally:
            check(d.cleanup() == 0, "clean stop")

    @harness.needs_root("reads the daemon's memory")
    def test_login_held_by_delay_keeps_password_out_of_heap(self):
        """While a login waits out the failed-login delay, its password is
        nowhere in the daemon's heap: it waits in the hash pool's guarded
        memory."""
        d = raw.Daemon(fail_free=1, fail_delay_ms=3000,
                       login_timeout=30).start()
        try:
            secret = b"held-" + os.urandom(8).hex().encode()
            c = client(d)
            check(c.login(raw.AUTH, "heldback", "first") ==
                  ("ERROR", raw.AUTH, 1, ""), "a first failure")
            c.send_msg(raw.enc_cred(raw.AUTH, "heldback", secret.decode()))
            check(d.wait_log("user=heldback delay_ms="), "login held")
            found = heap_holds(d.proc.pid, secret)
            check(not found, "password in the heap while held")
            m = c.recv_msg(10)
            check(m == ("ERROR", raw.AUTH, 1, ""), "then checked: %r"
                  % (m,))
            c.close()
        finally:
            check(d.cleanup() == 0, "clean stop")

    def test_signals_handled_or_ignored(self):
        """SIGUSR1 logs a status line; SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
        SIGTSTP, SIGTTIN, SIGTTOU, SIGXFSZ, SIGPIPE, SIGWINCH and SIGCONT
        neither end nor stop the daemon, and every one of them, SIGTERM,
        SIGINT, SIGQUIT, SIGHUP and SIGUSR1 included, leaves the hash
        helper running; a user logs in after all that.  SIGQUIT stops the
        daemon cleanly."""
        d = raw.Daemon().start()
        try:
            helper = helper_pid(d.proc.pid)
            os.kill(d.proc.pid, signal.SIGUSR1)
            check(d.wait_log("status sessions="), "SIGUSR1: status line")
            quiet = [signal.SIGUSR2, signal.SIGALRM, signal.SIGVTALRM,
                     signal.SIGPROF, signal.SIGTSTP, signal.SIGTTIN,
                     signal.SIGTTOU, signal.SIGXFSZ, signal.SIGPIPE,
                     signal.SIGWINCH, signal.SIGCONT]
            for sig in quiet:
                os.kill(d.proc.pid, sig)
            for sig in quiet + [signal.SIGTERM, signal.SIGINT,
                                signal.SIGQUIT, signal.SIGHUP,
                                signal.SIGUSR1]:
                os.kill(helper, sig)
            time.sleep(0.5)
            check(d.proc.poll() is None, "daemon alive")
            check(proc_state(d.proc.pid) != "T", "daemon not stopped")
            check(proc_state(helper) not in ("T", "Z"), "helper running")
            check(helper_pid(d.proc.pid) == helper, "the same helper")
            c = client(d)
            check(c.login(raw.SIGN, "after", "pw")[0] == "OK",
                  "login after the signals")
            c.close()
            os.kill(d.proc.pid, signal.SIGQUIT)
            check(d.proc.wait(10) == 0, "SIGQUIT: clean stop")
            check(d.wait_log("stopping signal=QUIT"), "logged")
        finally:
            d.cleanup()


def heap_holds(pid, needle):
    """Whether the [heap] mapping of pid holds needle."""
    with open("/proc/%d/maps" % pid) as f:
        heaps = [l.split()[0] for l in f if l.rstrip().endswith("[heap]")]
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for span in heaps:
            lo, hi = (int(x, 16) for x in span.split("-"))
            mem.seek(lo)
            if needle in mem.read(hi - lo):
                return True
    return False


if __name__ == "__main__":
    sys.exit(harness.main(TEST_TIMEOUT))
