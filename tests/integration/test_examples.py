# SPDX-License-Identifier: ISC
"""The shell examples of docs/user-guide.md, scripts/examples/notify.sh and
scripts/examples/echo-bot.sh, run against the real sealchatd with real
sealchat clients.

Proves: the notifier delivers a message and exits 0 silently, turns a
multi-line text into one message (never a second command), and exits
non-zero with the reason when the user is offline or the password is wrong;
the bot answers a real client's message, passes its own input on as
commands, and logs out and exits 0 when its input ends or on SIGTERM,
leaving no sealchat process behind; when the server restarts the bot comes
back and answers again, and when its session is ended for good (by the
server's operator) it exits with sealchat's 69.

Run by ctest with SEALCHATD, SEALCHAT, SEALCHAT_SRC and SEALCHAT_BUILD set.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (D, setUpModule, tearDownModule,  # noqa: F401
                              uname, main, signed, listener, ctl, Daemon,
                              SEALCHAT, SRC, WAIT, wait_identity)

EXAMPLES = os.path.join(SRC, "scripts", "examples")
NOTIFY = os.path.join(EXAMPLES, "notify.sh")
BOT = os.path.join(EXAMPLES, "echo-bot.sh")


def script_env(password):
    env = dict(os.environ)
    env["SEALCHAT"] = SEALCHAT
    env["SEALCHAT_PASSWORD"] = password
    return env


def children(pid):
    """The pids whose parent is pid."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(entry))
    return out


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


class Notify(unittest.TestCase):

    def notify(self, *args, password="pw-n", conf=None):
        return subprocess.run(
            ["sh", NOTIFY, "-c", conf or D.client_conf()] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=script_env(password), timeout=30)

    def test_delivers_and_exits_0_silently(self):
        a, b = uname("cron"), uname("admin")
        signed(a, "pw-n")
        signed(b, "pw-b")
        bc = listener(b, "pw-b")
        try:
            p = self.notify(a, b, "backup", "of", "/srv finished: 0 errors")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, b"")
            self.assertEqual(p.stderr, b"")
            bc.wait_for("msg", a, "backup of /srv finished: 0 errors")
        finally:
            bc.end()

    def test_multiline_text_is_one_message_never_a_command(self):
        a, b = uname("cron"), uname("admin")
        signed(a, "pw-n")
        signed(b, "pw-b")
        bc = listener(b, "pw-b")
        try:
            p = self.notify(a, b, "line one\nlist\nquit")
            self.assertEqual(p.returncode, 0, p.stderr)
            bc.wait_for("msg", a, "line one list quit")
            self.assertEqual([r for r in bc.quiet(0.5) if r[0] == "msg"], [])
        finally:
            bc.end()

    def test_password_file(self):
        a, b = uname("cron"), uname("admin")
        signed(a, "from-a-file")
        signed(b, "pw-b")
        bc = listener(b, "pw-b")
        with tempfile.NamedTemporaryFile("w", suffix=".pw") as f:
            f.write("from-a-file\n")
            f.flush()
            try:
                p = self.notify("-p", f.name, a, b, "via file",
                                password="not-this-one")
                self.assertEqual(p.returncode, 0, p.stderr)
                bc.wait_for("msg", a, "via file")
            finally:
                bc.end()

    def test_offline_user_gets_it_later_exit_0(self):
        """A user offline: the server stores the message (queued), which
        is success; the user gets it at the next login."""
        a, b = uname("cron"), uname("away")
        signed(a, "pw-n")
        signed(b, "pw-b")
        wait_identity(b)
        p = self.notify(a, b, "anyone there?")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((p.stdout, p.stderr), (b"", b""))
        bc = listener(b, "pw-b")
        try:
            bc.expect("msg", a, "anyone there?")
        finally:
            bc.end()

    def test_unknown_user_exits_1_with_reason(self):
        a, b = uname("cron"), uname("nobody")
        signed(a, "pw-n")
        p = self.notify(a, b, "anyone there?")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"notify.sh: send: user offline: " + b.encode(),
                      p.stderr)

    def test_wrong_password_exits_1(self):
        a, b = uname("cron"), uname("admin")
        signed(a, "pw-n")
        p = self.notify(a, b, "hi", password="wrong")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"notify.sh: auth: wrong user or password", p.stderr)

    def test_server_down_exits_69(self):
        d = Daemon().start()
        try:
            conf = d.client_conf()
            d.stop()
            p = self.notify("a", "b", "hi", conf=conf)
            self.assertEqual(p.returncode, 69, p.stderr)
            self.assertIn(b"cannot connect to 127.0.0.1:%d" % d.port,
                          p.stderr)
        finally:
            d.cleanup()

    def test_bad_name_or_missing_text_is_usage_64(self):
        for args in (["a b", "c", "hi"], ["a", "c\nlist", "hi"], ["a", "c"]):
            p = self.notify(*args)
            self.assertEqual(p.returncode, 64, (args, p.stderr))

    def test_runs_as_documented_with_the_client_on_path_or_not(self):
        """Run as the user guide shows, without SEALCHAT: with sealchat on
        PATH it delivers; with no client anywhere it says how to name one
        and exits 127, the shell's status for a command not found."""
        a, b = uname("cron"), uname("admin")
        signed(a, "pw-n")
        signed(b, "pw-b")
        bindir = tempfile.mkdtemp(prefix="sealchat-bin-")
        self.addCleanup(lambda: (os.unlink(os.path.join(bindir,
                                                        "sealchat")),
                                 os.rmdir(bindir)))
        os.symlink(SEALCHAT, os.path.join(bindir, "sealchat"))
        env = script_env("pw-n")
        del env["SEALCHAT"]
        bc = listener(b, "pw-b")
        try:
            env["PATH"] = bindir + ":/usr/bin:/bin"
            p = subprocess.run([NOTIFY, "-c", D.client_conf(), a, b,
                                "on the path"], env=env, capture_output=True,
                               timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            bc.wait_for("msg", a, "on the path")
        finally:
            bc.end()
        env["PATH"] = "/usr/bin:/bin"
        p = subprocess.run([NOTIFY, "-c", D.client_conf(), a, b, "hi"],
                           env=env, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 127)
        self.assertEqual(p.stderr, b"notify.sh: sealchat not found: install "
                         b"sealchat, or set SEALCHAT to the client's "
                         b"path\n")


class EchoBot(unittest.TestCase):

    def start(self, user, password, args=(), stdin=subprocess.PIPE,
              daemon=None):
        d = daemon or D
        errf = tempfile.TemporaryFile()
        p = subprocess.Popen(["bash", BOT, "-c", d.client_conf()] +
                             list(args) + [user], stdin=stdin,
                             stdout=subprocess.DEVNULL, stderr=errf,
                             env=script_env(password))
        self.addCleanup(self.cleanup, p, errf)
        deadline = time.monotonic() + WAIT
        while b"logged in as %s" % user.encode() not in self.err(errf):
            if p.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the bot did not log in: %r"
                                     % self.err(errf))
            time.sleep(0.05)
        return p, errf

    @staticmethod
    def err(errf):
        errf.seek(0)
        return errf.read()

    @staticmethod
    def cleanup(p, errf):
        if p.poll() is None:
            # The bot's sealchat too: with --listen it would outlive the
            # bot, reconnecting for ever to a daemon that is gone.
            for c in children(p.pid):
                try:
                    os.kill(c, signal.SIGKILL)
                except OSError:
                    pass
            p.kill()
            p.wait(WAIT)
        if p.stdin is not None:
            p.stdin.close()
        errf.close()

    def wait_exit(self, p, errf):
        try:
            return p.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError("the bot did not exit: %r" % self.err(errf))

    def test_answers_and_exits_0_when_its_input_ends(self):
        bot, a = uname("bot"), uname("alice")
        signed(bot, "pw-bot")
        signed(a, "pw-a")
        p, errf = self.start(bot, "pw-bot")
        ac = listener(a, "pw-a")
        try:
            ac.send("send %s hello bot" % bot)
            ac.wait_for("msg", bot, "echo: hello bot")
            # Text with a TAB comes back as the record showed it: escaped,
            # on one line.
            ac.send("send %s a\tb" % bot)
            ac.wait_for("msg", bot, "echo: a\\\\tb")
            # Its own input is passed on as commands.
            p.stdin.write(b"send %s note from the operator\n" % a.encode())
            p.stdin.flush()
            ac.wait_for("msg", bot, "note from the operator")
            sc = children(p.pid)
            p.stdin.close()
            self.assertEqual(self.wait_exit(p, errf), 0, self.err(errf))
            ac.wait_for("offline", bot)
            self.assertTrue(all(gone(c) for c in sc), sc)
        finally:
            ac.end()

    def test_sigterm_logs_out_and_exits_0(self):
        bot, a = uname("bot"), uname("alice")
        signed(bot, "pw-bot")
        signed(a, "pw-a")
        p, errf = self.start(bot, "pw-bot", args=("-l",),
                             stdin=subprocess.DEVNULL)
        ac = listener(a, "pw-a")
        try:
            ac.send("send %s still there?" % bot)
            ac.wait_for("msg", bot, "echo: still there?")
            sc = children(p.pid)
            self.assertTrue(sc)
            time.sleep(0.3)
            # -l: the end of its (empty) input did not stop it.
            self.assertIsNone(p.poll())
            p.send_signal(signal.SIGTERM)
            self.assertEqual(self.wait_exit(p, errf), 0, self.err(errf))
            ac.wait_for("offline", bot)
            self.assertTrue(all(gone(c) for c in sc), sc)
        finally:
            ac.end()

    def test_bot_answers_again_after_the_server_restarts(self):
        d = Daemon().start()
        ac = None
        try:
            bot, a = uname("bot"), uname("alice")
            signed(bot, "pw-bot", daemon=d)
            signed(a, "pw-a", daemon=d)
            p, errf = self.start(bot, "pw-bot", args=("-l",),
                                 stdin=subprocess.DEVNULL, daemon=d)
            d.stop()
            d.start_again()
            deadline = time.monotonic() + 3 * WAIT
            while self.err(errf).count(b"logged in as %s" %
                                       bot.encode()) < 2:
                self.assertIsNone(p.poll(), self.err(errf))
                self.assertLess(time.monotonic(), deadline, self.err(errf))
                time.sleep(0.1)
            self.assertIn(b"disconnected: server closed the session",
                          self.err(errf))
            ac = listener(a, "pw-a", conf=d.client_conf())
            ac.send("send %s back?" % bot)
            ac.wait_for("msg", bot, "echo: back?")
            sc = children(p.pid)
            p.send_signal(signal.SIGTERM)
            self.assertEqual(self.wait_exit(p, errf), 0, self.err(errf))
            self.assertTrue(all(gone(c) for c in sc), sc)
        finally:
            if ac is not None:
                ac.end()
            d.cleanup()

    def test_session_ended_by_the_operator_ends_the_bot_with_69(self):
        bot = uname("bot")
        signed(bot, "pw-bot")
        p, errf = self.start(bot, "pw-bot", args=("-l",),
                             stdin=subprocess.DEVNULL)
        rc, out, err = ctl(D, "kick", bot)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.wait_exit(p, errf), 69, self.err(errf))


if __name__ == "__main__":
    sys.exit(main())
