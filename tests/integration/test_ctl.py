# SPDX-License-Identifier: ISC
"""sealchatctl against the real sealchatd and real clients: every command,
in both output forms (TAB-separated records in a pipe, aligned columns on
a terminal), with the exit statuses of sealchatctl(8); the effects clients
see (a kicked, deleted or locked user's session ends with a reason the
client prints, a locked account's login is refused, closed sign-up); the
refusal of another user; a bad request on the socket; and the account
commands with the daemon stopped, on its database.

Run: SEALCHATD=... SEALCHAT=... SEALCHATCTL=... /usr/bin/python3 THIS_FILE
"""

import grp
import os
import re
import shutil
import socket
import sqlite3
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (D, SEALCHATCTL, Daemon, WAIT, ctl,  # noqa
                              listener, main, needs_root, project_version,
                              run_script, setUpModule, signed,
                              tearDownModule, uname)

NOBODY = (65534, 65534)
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def tsv(out):
    """The records of a pipe's output, as tuples of fields."""
    return [tuple(line.split("\t")) for line in out.splitlines()]


def login(user, password, daemon=D):
    """Runs auth for user; returns (status, records, stderr)."""
    return run_script(daemon.client_conf(), "auth %s %s\n" % (user,
                                                              password))


def add(user, password, daemon=D, tty=False):
    """sealchatctl user add, the password on standard input."""
    return ctl(daemon, "user", "add", user, stdin=password.encode() + b"\n",
               tty=tty)


class Status(unittest.TestCase):
    def test_status_counts_logins_and_failures_in_both_forms(self):
        """status reports the version and uptime, then the daemon's
        figures: a pipe gets key TAB value records, a terminal aligned
        columns of the same values; logins and failures go up by what the
        test did."""
        rc, out, err = ctl(D, "status")
        self.assertEqual((rc, err), (0, ""))
        before = dict(tsv(out))
        self.assertEqual(before["version"], project_version())
        self.assertRegex(before["uptime"], r"^\d+$")
        for key in ("sessions", "users_online", "logins_ok",
                    "logins_failed", "signups_ok", "signups_failed",
                    "hash_queue", "connections_refused"):
            self.assertRegex(before[key], r"^\d+$", key)

        user = uname("st")
        signed(user, "pw1")
        for _ in range(3):
            self.assertEqual(login(user, "pw1")[0], 0)
        self.assertEqual(login(user, "wrong")[0], 1)
        rc, out, err = ctl(D, "status")
        after = dict(tsv(out))
        self.assertEqual(int(after["logins_ok"]) - int(before["logins_ok"]),
                         3)
        self.assertEqual(int(after["logins_failed"]) -
                         int(before["logins_failed"]), 1)
        self.assertEqual(int(after["signups_ok"]) -
                         int(before["signups_ok"]), 1)

        rc, out, err = ctl(D, "status", tty=True)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^version +%s$"
                         % re.escape(project_version()))
        col = lines[0].index(project_version())
        for line in lines:
            self.assertNotIn("\t", line)
            self.assertRegex(line[col:], r"^\S+$", line)
            self.assertEqual(line[col - 1], " ", line)


class Who(unittest.TestCase):
    def test_who_lists_users_online_in_both_forms(self):
        """who lists each user online with address, login time and idle
        seconds; the terminal form has a header and aligned columns; a user
        who logs out leaves the list."""
        a, b = uname("wa"), uname("wb")
        signed(a, "pw")
        signed(b, "pw")
        ca = listener(a, "pw")
        cb = listener(b, "pw")
        try:
            rc, out, err = ctl(D, "who")
            self.assertEqual((rc, err), (0, ""))
            rows = {r[0]: r for r in tsv(out)}
            for u in (a, b):
                self.assertIn(u, rows)
                name, addr, since, idle = rows[u]
                self.assertEqual(addr, "127.0.0.1")
                self.assertRegex(since, "^%s$" % ISO)
                self.assertRegex(idle, r"^\d+$")
                self.assertLess(int(idle), 60)

            rc, out, err = ctl(D, "who", tty=True)
            self.assertEqual(rc, 0, err)
            lines = out.splitlines()
            self.assertRegex(lines[0], r"^NAME +ADDRESS +SINCE +IDLE$")
            col = lines[0].index("ADDRESS")
            mine = [l for l in lines if l.split()[0] in (a, b)]
            self.assertEqual(len(mine), 2)
            for line in mine:
                self.assertEqual(line[col:col + 9], "127.0.0.1")
        finally:
            cb.end()
        deadline = time.monotonic() + WAIT
        while True:
            names = [r[0] for r in tsv(ctl(D, "who")[1])]
            if b not in names:
                break
            self.assertLess(time.monotonic(), deadline, names)
            time.sleep(0.1)
        self.assertIn(a, names)
        ca.end()


class Kick(unittest.TestCase):
    def test_kick_ends_the_session_with_a_reason_the_client_prints(self):
        """kick USER sends the user's client a GOODBYE it prints ("ended
        by the server's operator", exit 69); the others see the user go
        offline; kicking a user not online is exit 67."""
        a, b = uname("ka"), uname("kb")
        signed(a, "pw")
        signed(b, "pw")
        ca = listener(a, "pw")
        cb = listener(b, "pw")
        try:
            rc, out, err = ctl(D, "kick", a.upper(), tty=True)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.strip(), "%s: session ended" % a)
            self.assertEqual(ca.wait(), 69)
            self.assertIn("server closed the session: ended by the "
                          "server's operator", ca.stderr())
            cb.wait_for("offline", a)
            rc, out, err = ctl(D, "kick", a)
            self.assertEqual(rc, 67)
            self.assertEqual(out, "")
            self.assertIn("kick: user offline", err)
        finally:
            ca.finish()
            cb.end()


class Accounts(unittest.TestCase):
    def test_user_add_makes_an_account_that_logs_in(self):
        """user add takes the password from a line of standard input; the
        account logs in with it; the name is folded to lower case; a taken
        name, a bad name and an empty password are exit 65; in a pipe a
        success prints nothing, on a terminal it says so."""
        user = uname("ad")
        rc, out, err = add(user.upper(), "first secret")
        self.assertEqual((rc, out, err), (0, "", ""))
        rc, recs, err = login(user, "first secret")
        self.assertEqual(rc, 0, err)
        self.assertEqual(recs[0], ("ok", "auth", user))
        rc, out, err = add(user, "again")
        self.assertEqual(rc, 65)
        self.assertIn("user add: name taken", err)
        rc, out, err = add("-bad", "pw")
        self.assertEqual(rc, 65)
        self.assertIn("bad name", err)
        rc, out, err = add(uname("ad"), "")
        self.assertEqual(rc, 65)
        self.assertIn("bad password", err)
        other = uname("ad")
        rc, out, err = add(other, "pw", tty=True)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "%s: added" % other)

    def test_user_add_on_a_terminal_asks_twice_without_echo(self):
        """On a terminal user add asks for the password twice, with echo
        off (the password never shows on the terminal); two that differ
        are exit 65 and make no account."""
        import fcntl
        import pty
        import termios

        def run(user, lines):
            master, slave = pty.openpty()

            def own_tty():
                os.setsid()
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            p = subprocess.Popen(
                [SEALCHATCTL, "-c", D.path, "user", "add", user],
                stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                preexec_fn=own_tty)
            os.close(slave)
            out = b""
            for line in lines:
                while b":" not in out.split(b"\n")[-1]:
                    out += os.read(master, 4096)
                os.write(master, line + b"\n")
                out += b"\n"
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            os.close(master)
            return p.wait(WAIT), out.decode("utf-8", "replace")

        user = uname("tt")
        rc, out = run(user, [b"s3cret-typed", b"s3cret-typed"])
        self.assertEqual(rc, 0, out)
        self.assertIn("Password for %s: " % user, out)
        self.assertIn("Again: ", out)
        self.assertNotIn("s3cret-typed", out)
        self.assertIn("%s: added" % user, out)
        self.assertEqual(login(user, "s3cret-typed")[0], 0)
        other = uname("tt")
        rc, out = run(other, [b"one", b"two"])
        self.assertEqual(rc, 65, out)
        self.assertIn("the passwords differ", out)
        self.assertNotIn(other, [r[0] for r in tsv(ctl(D, "user",
                                                       "list")[1])])

    def test_user_passwd_sets_a_new_password(self):
        """user passwd: the new password logs in, the old one no longer; an
        unknown user is exit 67."""
        user = uname("pw")
        signed(user, "old")
        rc, out, err = ctl(D, "user", "passwd", user, stdin=b"new\n")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(login(user, "old")[1][0],
                         ("error", "auth", "wrong user or password"))
        self.assertEqual(login(user, "new")[0], 0)
        rc, out, err = ctl(D, "user", "passwd", uname("none"),
                           stdin=b"x\n")
        self.assertEqual(rc, 67)
        self.assertIn("no such user", err)

    def test_user_del_ends_the_session_and_the_account(self):
        """user del removes the account and ends its session at once
        ("account deleted"); the name no longer logs in and can be signed
        up again; deleting it twice is exit 67."""
        user = uname("dl")
        signed(user, "pw")
        c = listener(user, "pw")
        try:
            rc, out, err = ctl(D, "user", "del", user, tty=True)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.strip(), "%s: deleted; its session ended"
                             % user)
            self.assertEqual(c.wait(), 69)
            self.assertIn("server closed the session: account deleted",
                          c.stderr())
        finally:
            c.finish()
        self.assertEqual(login(user, "pw")[1][0],
                         ("error", "auth", "wrong user or password"))
        self.assertEqual(ctl(D, "user", "del", user)[0], 67)
        signed(user, "fresh")

    def test_user_lock_refuses_logins_and_ends_the_session(self):
        """user lock ends the session ("account locked"); the right password
        then gets "account locked", a wrong one the usual answer; unlock
        lets the user in again; user list shows the lock."""
        user = uname("lk")
        signed(user, "pw")
        c = listener(user, "pw")
        try:
            rc, out, err = ctl(D, "user", "lock", user)
            self.assertEqual((rc, out, err), (0, "", ""))
            self.assertEqual(c.wait(), 69)
            self.assertIn("server closed the session: account locked",
                          c.stderr())
        finally:
            c.finish()
        rc, recs, err = login(user, "pw")
        self.assertEqual((rc, recs[0]), (1, ("error", "auth",
                                             "account locked")))
        rc, recs, err = login(user, "wrong")
        self.assertEqual(recs[0], ("error", "auth",
                                   "wrong user or password"))
        rows = {r[0]: r for r in tsv(ctl(D, "user", "list")[1])}
        self.assertEqual(rows[user][3], "yes")
        self.assertEqual(ctl(D, "user", "unlock", user)[0], 0)
        self.assertEqual(login(user, "pw")[0], 0)
        rows = {r[0]: r for r in tsv(ctl(D, "user", "list")[1])}
        self.assertEqual(rows[user][3], "no")
        self.assertEqual(ctl(D, "user", "lock", uname("none"))[0], 67)

    def test_user_list_shows_every_account_in_both_forms(self):
        """user list: name, created, last login ("-" before the first),
        locked, in name order; the terminal form has a header."""
        a, b = uname("la"), uname("lb")
        signed(a, "pw")
        self.assertEqual(add(b, "pw")[0], 0)
        rc, out, err = ctl(D, "user", "list")
        self.assertEqual((rc, err), (0, ""))
        recs = tsv(out)
        names = [r[0] for r in recs]
        self.assertEqual(names, sorted(names, key=lambda n: n.encode()))
        rows = {r[0]: r for r in recs}
        self.assertRegex(rows[a][1], "^%s$" % ISO)
        self.assertRegex(rows[a][2], "^%s$" % ISO)
        self.assertEqual(rows[b][2], "-")
        self.assertEqual((rows[a][3], rows[b][3]), ("no", "no"))
        rc, out, err = ctl(D, "user", "list", tty=True)
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^NAME +CREATED +LAST LOGIN +LOCKED$")
        self.assertEqual(len(lines), len(recs) + 1)
        col = lines[0].index("LOCKED")
        for line in lines[1:]:
            self.assertIn(line[col:], ("yes", "no"))


class Backup(unittest.TestCase):
    def test_backup_is_a_whole_copy_with_mode_0600(self):
        """backup FILE while the daemon runs: a file of mode 0600 (whatever
        the umask) that SQLite finds sound, holding the accounts, with no
        -wal or -shm beside it; a folder that does not exist is exit 73."""
        user = uname("bk")
        signed(user, "pw")
        tmp = tempfile.mkdtemp(prefix="sealchat-bk-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "copy.db")
        old = os.umask(0)
        try:
            rc, out, err = ctl(D, "backup", path)
        finally:
            os.umask(old)
        self.assertEqual((rc, out, err), (0, "", ""))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check")
                             .fetchone(), ("ok",))
            self.assertIn((user,), db.execute("SELECT name FROM accounts")
                          .fetchall())
        finally:
            db.close()
        self.assertEqual(sorted(os.listdir(tmp)), ["copy.db"])
        rc, out, err = ctl(D, "backup", path, tty=True)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out.strip(), r"^%s: \d+ bytes$" % re.escape(path))
        rc, out, err = ctl(D, "backup", os.path.join(tmp, "no", "x.db"))
        self.assertEqual(rc, 73)
        self.assertIn("No such file or directory", err)


class Refusals(unittest.TestCase):
    @needs_root("to run sealchatctl as another user")
    def test_another_user_is_refused(self):
        """Another user cannot reach the socket (mode 0600: exit 77); with
        the file opened to all, the daemon itself refuses it by its
        credentials (exit 77, "permission denied") before reading a
        byte, and logs the refusal."""
        mode = stat.S_IMODE(os.stat(D.dir).st_mode)
        os.chmod(D.dir, 0o711)
        try:
            rc, out, err = ctl(D, "status", user=NOBODY, sock=True)
            self.assertEqual(rc, 77, err)
            self.assertIn("Permission denied", err)
            self.assertEqual(stat.S_IMODE(os.stat(D.sock).st_mode), 0o600)
            os.chmod(D.sock, 0o666)
            rc, out, err = ctl(D, "user", "list", user=NOBODY, sock=True)
        finally:
            os.chmod(D.sock, 0o600)
            os.chmod(D.dir, mode)
        self.assertEqual(rc, 77, err)
        self.assertIn("permission denied: uid 65534", err)
        self.assertEqual(out, "")
        self.assertTrue(D.wait_log("control: refused uid=65534"))

    @needs_root("to run sealchatctl as other users")
    def test_control_group_admits_its_members(self):
        """With control_group set, the socket is mode 0660 in that group,
        and a user whose primary or supplementary group it is gets in; a
        user in neither is refused (77)."""
        group = grp.getgrgid(NOBODY[1]).gr_name
        d = Daemon(control_group=group)
        d.start()
        try:
            os.chmod(d.dir, 0o711)
            st = os.stat(d.sock)
            self.assertEqual((stat.S_IMODE(st.st_mode), st.st_gid),
                             (0o660, NOBODY[1]))
            rc, out, err = ctl(d, "status", user=NOBODY, sock=True)
            self.assertEqual(rc, 0, err)
            rc, out, err = ctl(d, "who", sock=True,
                               user=(54321, 54321, [NOBODY[1]]))
            self.assertEqual(rc, 0, err)
            rc, out, err = ctl(d, "who", sock=True, user=(54321, 54321))
            self.assertEqual(rc, 77, err)
        finally:
            self.assertEqual(d.cleanup(), 0)

    def test_bad_requests_on_the_socket(self):
        """A request that breaks the format gets END "malformed request"
        and the close; a frame longer than a request is closed the same
        way; the daemon goes on."""
        for body in (b"\x02\x01\x00\x00\x00", b"\x01\x63\x00\x00\x00",
                     b"\x01\x03\x00\x00\x00"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(WAIT)
            s.connect(D.sock)
            s.sendall(struct.pack(">I", len(body)) + body)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            (n,) = struct.unpack(">I", data[:4])
            self.assertEqual(data[4], 3)
            self.assertEqual(data[5], 1, body)
            self.assertEqual(data[14:4 + n], b"malformed request")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        s.connect(D.sock)
        s.sendall(struct.pack(">I", 100000) + b"x" * 64)
        data = s.recv(4096)
        s.close()
        self.assertEqual(data[4:6], b"\x03\x01")
        self.assertEqual(ctl(D, "status")[0], 0)

    def test_usage_errors_are_exit_64(self):
        """An unknown command, a missing or extra argument: exit 64 and
        the usage on standard error."""
        for args in (("frobnicate",), ("kick",), ("status", "x"),
                     ("user",), ("user", "add"), ("backup",)):
            rc, out, err = ctl(D, *args)
            self.assertEqual(rc, 64, args)
            self.assertIn("usage: sealchatctl", err)


class Reload(unittest.TestCase):
    def test_reload_prints_the_outcome_and_closes_sign_up(self):
        """reload as SIGHUP, its outcome printed even in a pipe: sign_up:
        closed is applied (a sign-up is refused with the client's message,
        an added account still logs in), a key that needs a restart is
        named, a broken file is exit 78 and changes nothing."""
        d = Daemon()
        d.start()
        try:
            with open(d.path, "a") as f:
                f.write("sign_up: closed\n")
            rc, out, err = ctl(d, "reload")
            self.assertEqual((rc, out, err), (0, "configuration applied\n",
                                              ""))
            user = uname("rl")
            rc, recs, err = run_script(d.client_conf(), "sign %s pw\n"
                                       % user)
            self.assertEqual((rc, recs[0]), (1, ("error", "sign",
                             "sign-up is closed on this server")))
            self.assertEqual(add(user, "pw", daemon=d)[0], 0)
            self.assertEqual(login(user, "pw", daemon=d)[0], 0)

            with open(d.path, "a") as f:
                f.write("hash_workers: 3\n")
            rc, out, err = ctl(d, "reload")
            self.assertEqual(rc, 0, err)
            self.assertEqual(out, "configuration applied; restart to "
                             "apply: hash_workers\n")
            with open(d.path, "a") as f:
                f.write("no_such_key: 1\n")
            rc, out, err = ctl(d, "reload")
            self.assertEqual(rc, 78)
            self.assertIn("unknown key 'no_such_key'; nothing reloaded",
                          err)
            # The daemon's own answer, when the tool is given the socket.
            rc, out, err = ctl(d, "reload", sock=True)
            self.assertEqual(rc, 78)
            self.assertIn("unknown key 'no_such_key'", err)
            self.assertIn("configuration unchanged", err)
            rc, recs, err = run_script(d.client_conf(), "sign %s pw\n"
                                       % uname("rl"))
            self.assertEqual(recs[0][2], "sign-up is closed on this server")
        finally:
            self.assertEqual(d.cleanup(), 0)


class Stopped(unittest.TestCase):
    def test_user_commands_work_on_the_database_of_a_stopped_daemon(self):
        """With the daemon stopped, user add, passwd, lock, unlock, list
        and del work on its database (saying so on standard error); the
        daemon started again sees the changes; status and who are exit 69
        (not running)."""
        d = Daemon()
        d.start()
        a, b = uname("sa"), uname("sb")
        try:
            signed(a, "pw", daemon=d)
            self.assertEqual(d.stop(), 0)
            rc, out, err = add(b, "bpw", daemon=d)
            self.assertEqual((rc, out), (0, ""))
            self.assertIn("sealchatd is not running; using the database "
                          "%s" % d.db, err)
            self.assertEqual(ctl(d, "user", "passwd", a,
                                 stdin=b"apw\n")[0], 0)
            self.assertEqual(ctl(d, "user", "lock", b)[0], 0)
            rc, out, err = ctl(d, "user", "list")
            self.assertEqual(rc, 0, err)
            rows = {r[0]: r for r in tsv(out)}
            self.assertEqual(rows[b][3], "yes")
            self.assertEqual(ctl(d, "user", "del", uname("none"))[0], 67)
            for args in (("status",), ("who",), ("kick", a),
                         ("reload",)):
                rc, out, err = ctl(d, *args)
                self.assertEqual(rc, 69, args)
                self.assertIn("is sealchatd running?", err)
            rc, out, err = ctl(d, "user", "list", tty=True)
            self.assertRegex(out.splitlines()[0], r"^NAME +CREATED")

            d.start()
            self.assertEqual(login(a, "apw", daemon=d)[0], 0)
            self.assertEqual(login(b, "bpw", daemon=d)[1][0],
                             ("error", "auth", "account locked"))
            self.assertEqual(ctl(d, "user", "unlock", b)[0], 0)
            self.assertEqual(login(b, "bpw", daemon=d)[0], 0)
            self.assertEqual(d.stop(), 0)
            self.assertEqual(ctl(d, "user", "del", b)[0], 0)
            names = [r[0] for r in tsv(ctl(d, "user", "list")[1])]
            self.assertEqual(names, [a])
        finally:
            d.cleanup()

    def test_offline_changes_beside_a_daemon_that_starts(self):
        """user add run while the daemon starts, each one either on the
        database or through the new daemon: all succeed, and the daemon
        then knows every account."""
        d = Daemon()
        d.start()
        d.stop()
        users = [uname("race") for _ in range(6)]
        try:
            procs = [subprocess.Popen([SEALCHATCTL, "-c", d.path, "user",
                                       "add", u], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
                     for u in users[:3]]
            d.start()
            procs += [subprocess.Popen([SEALCHATCTL, "-c", d.path, "user",
                                        "add", u], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
                      for u in users[3:]]
            for p in procs:
                out, err = p.communicate(b"pw\n", timeout=60)
                self.assertEqual(p.returncode, 0, err)
            names = [r[0] for r in tsv(ctl(d, "user", "list")[1])]
            for u in users:
                self.assertIn(u, names)
                self.assertEqual(login(u, "pw", daemon=d)[0], 0)
        finally:
            self.assertEqual(d.cleanup(), 0)

    def test_no_database_and_no_daemon(self):
        """With neither a daemon nor a database, user list says so (exit
        69) and makes no file; user add makes the database."""
        d = Daemon()
        d.dir = tempfile.mkdtemp(prefix="sealchat-it-")
        d.port = 1
        d.write_conf()
        try:
            rc, out, err = ctl(d, "user", "list")
            self.assertEqual(rc, 69)
            self.assertIn("no database at %s" % d.db, err)
            self.assertFalse(os.path.exists(d.db))
            self.assertEqual(add(uname("nd"), "pw", daemon=d)[0], 0)
            self.assertEqual(stat.S_IMODE(os.stat(d.db).st_mode), 0o600)
        finally:
            shutil.rmtree(d.dir, True)
            d.dir = None


if __name__ == "__main__":
    sys.exit(main())
