# SPDX-License-Identifier: ISC
"""The sealchat REPL in a real terminal: tmux runs it in an 80x24 pane, keys
are typed with send-keys and the screen is read with capture-pane.  The
daemon is the real sealchatd on 127.0.0.1; the other users are real
sealchat clients in script mode.

Proves: a message or notice that arrives while a line is half typed (short,
wrapped over several rows, or UTF-8) is printed above it and leaves it
intact, and Enter then runs exactly that line; Tab completes command names
and online user names; `auth USER` asks for the password with echo off; the
history file holds the commands but never a password, with mode 0600; the
prompt shows who you are; NO_COLOR turns colour off; help, quit, end of
input, SIGTERM and SIGINT end cleanly and give the terminal back in its
normal mode; a daemon stopped or killed and started again is reconnected
to, the half-typed line kept, and messages flow again both ways.

Run by ctest with SEALCHATD, SEALCHAT, SEALCHAT_SRC and SEALCHAT_BUILD set.
Every wait is bounded.
"""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (D, setUpModule, tearDownModule,  # noqa: F401
                              uname, main, needs_programs, signed, listener,
                              run_script, Client, Daemon, SEALCHAT, WAIT,
                              wait_identity)

TMUX = shutil.which("tmux")
PROMPT0 = "sealchat> "
SANITIZER_REPORT = re.compile(r"(Address|Leak|UndefinedBehavior)Sanitizer|"
                              r"runtime error:")


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


class Online:
    """Another user, logged in with a script-mode client kept running; env
    is added to its environment (another XDG_DATA_HOME: another device)."""

    def __init__(self, user, password, conf=None, env=None):
        self.user = user
        if env is None:
            self.c = listener(user, password, conf)
        else:
            self.c = Client(conf or D.client_conf(), args=("--listen",),
                            env=env)
            self.c.send("auth %s %s" % (user, password))
            self.c.expect("ok", "auth", user)
            self.c.next()

    def say(self, to, text):
        """Sends text to a user and waits until it is acknowledged."""
        self.c.send("send %s %s" % (to, text))
        self.c.wait_for("delivered", to)

    def finish(self):
        self.c.end()


class Repl:
    """sealchat at a terminal: a tmux server of its own, one 80x24 pane
    running `sh -c 'sealchat ...'; echo EXIT=$?; stty -a; sleep 30`."""

    seq = 0

    def __init__(self, conf, state=None, color=False, trap_int=False,
                 xdg=True, args=(), job_control=False):
        Repl.seq += 1
        self.dir = tempfile.mkdtemp(prefix="sealchat-repl-")
        self.sock = "sealchat-repl-%d-%d" % (os.getpid(), Repl.seq)
        self.state = state or os.path.join(self.dir, "state")
        self.pidfile = os.path.join(self.dir, "pid")
        self.errfile = os.path.join(self.dir, "stderr")
        tconf = os.path.join(self.dir, "tmux.conf")
        with open(tconf, "w") as f:
            f.write("set -g remain-on-exit on\nset -g status off\n"
                    "set -g history-limit 5000\n")
        lines = [
            "export LC_ALL=C.UTF-8 HOME=%s" % sh_quote(self.dir),
            "export XDG_STATE_HOME=%s" % sh_quote(self.state) if xdg else
            "unset XDG_STATE_HOME",
            "unset SEALCHAT_PASSWORD",
            "export NO_COLOR=1" if not color else "unset NO_COLOR",
        ]
        if trap_int:
            # The shell around sealchat must outlive a ^C to report.
            lines.append("trap '' INT")
        # sealchat's standard error goes to a file: only log lines and
        # sanitizer reports would land there; the REPL shows the rest.
        run = "sh -c %s" % sh_quote("echo $$ > %s; exec %s -c %s %s 2>%s" % (
            sh_quote(self.pidfile), sh_quote(SEALCHAT), sh_quote(conf),
            " ".join(sh_quote(a) for a in args), sh_quote(self.errfile)))
        if job_control:
            # An interactive shell with job control, where sealchat is a
            # job of its own that Ctrl-Z stops and fg continues.
            lines += ["export PS1='$ ' HISTFILE=/dev/null",
                      "exec bash --norc --noprofile -i"]
        else:
            lines += [run, "echo EXIT=$?", "stty -a", "sleep 30"]
        script = os.path.join(self.dir, "run.sh")
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.tmux("-f", tconf, "new-session", "-d", "-x", "80", "-y", "24",
                  "-s", "repl", "sh %s" % sh_quote(script))
        self.socket = self.tmux("display-message", "-p",
                                "#{socket_path}").strip()
        if job_control:
            # The test continues the job with "fg; echo EXIT=$?; stty -a"
            # (fg's status is the job's): EXIT= shows once it ends.
            self.wait_for("$")
            self.type(run)
            self.key("Enter")

    def tmux(self, *args):
        env = dict(os.environ)
        env.pop("TMUX", None)           # the tests may run inside tmux
        p = subprocess.run([TMUX, "-u", "-L", self.sock] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=WAIT)
        if p.returncode != 0:
            raise AssertionError("tmux %r: %s" % (args, p.stderr))
        return p.stdout.decode("utf-8", "replace")

    def type(self, text):
        """Types text literally (no key names, no Enter)."""
        self.tmux("send-keys", "-t", "repl", "-l", text)

    def key(self, *names):
        """Presses keys by name: Enter, Tab, Home, C-d..."""
        self.tmux("send-keys", "-t", "repl", *names)

    def screen(self, escapes=False, join=False, scrollback=True):
        """The pane's text: rows as shown, or wrapped rows joined."""
        args = ["capture-pane", "-p", "-t", "repl"]
        if escapes:
            args.append("-e")
        if join:
            args.append("-J")
        if scrollback:
            args += ["-S", "-"]
        return self.tmux(*args)

    def cursor(self):
        """(x, y) of the cursor in the visible pane."""
        x, y = self.tmux("display-message", "-p", "-t", "repl",
                         "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def wait_for(self, what, timeout=WAIT, join=False):
        """Polls the screen until what (a string or a predicate) holds."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen(join=join)
            if (what(s) if callable(what) else what in s):
                return s
            if time.monotonic() > deadline:
                raise AssertionError("never saw %r on the screen:\n%s%s"
                                     % (what, s, self.stderr()))
            time.sleep(0.05)

    def wait_notice(self, notice, last, join=False):
        """Waits until notice is on the screen and the redraw below it is
        done: the last non-blank line reads last.  Returns the screen."""
        def done(s):
            lines = [l.rstrip() for l in s.split("\n") if l.strip()]
            return notice in s and bool(lines) and lines[-1] == last
        return self.wait_for(done, join=join)

    def input_line(self, join=True):
        """The last non-blank line on the screen: the line being typed."""
        lines = [l for l in self.screen(join=join).split("\n") if l.strip()]
        return lines[-1] if lines else ""

    def wait_input(self, want, timeout=WAIT):
        """Waits until the line being typed reads exactly want."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.input_line()
            if got.rstrip() == want:
                return
            if time.monotonic() > deadline:
                raise AssertionError("input line %r, wanted %r:\n%s"
                                     % (got, want, self.screen()))
            time.sleep(0.05)

    def login(self, user, password):
        """Logs in with the password typed at the prompt."""
        self.wait_for(PROMPT0.rstrip())
        self.type("auth %s" % user)
        self.key("Enter")
        self.wait_for("Password:")
        self.type(password)
        self.key("Enter")
        self.wait_for("%s>" % user)

    def pid(self):
        deadline = time.monotonic() + WAIT
        while True:
            try:
                with open(self.pidfile) as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def exit_status(self, timeout=WAIT):
        """sealchat's exit status, once the shell around it printed it."""
        s = self.wait_for(lambda s: re.search(r"^EXIT=\d+", s, re.M) and
                          "speed " in s and " echo" in s, timeout)
        return int(re.search(r"^EXIT=(\d+)", s, re.M).group(1))

    def stty_flags(self):
        """The settings `stty -a` printed after sealchat ended."""
        s = self.screen()
        return set(re.split(r"[\s;]+", s[s.index("speed "):]))

    def stderr(self):
        try:
            with open(self.errfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self):
        try:
            self.tmux("kill-server")
        except (AssertionError, subprocess.TimeoutExpired):
            pass
        # tmux leaves its socket file behind.
        if self.socket.endswith("/" + self.sock):
            try:
                os.unlink(self.socket)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@needs_programs("tmux")
class ReplCase(unittest.TestCase):
    """Each test gets its own users and a REPL that is torn down after."""

    def setUp(self):
        self.repls = []
        self.others = []

    def tearDown(self):
        for o in self.others:
            o.finish()
        for r in self.repls:
            err = r.stderr()
            r.close()
            self.assertIsNone(SANITIZER_REPORT.search(err), err)

    def repl(self, conf=None, **kw):
        r = Repl(conf or D.client_conf(), **kw)
        self.repls.append(r)
        return r

    def online(self, user, password, conf=None, env=None):
        o = Online(user, password, conf, env)
        self.others.append(o)
        return o

    def pair(self):
        """alice at the REPL, logged in; bob online in script mode."""
        a, b = uname("alice"), uname("bob")
        signed(a, "pw-a")
        signed(b, "pw-b")
        bob = self.online(b, "pw-b")
        r = self.repl()
        r.login(a, "pw-a")
        return r, a, bob

    def stty_ok(self, r):
        flags = r.stty_flags()
        for want in ("icanon", "echo", "isig", "icrnl", "opost"):
            self.assertIn(want, flags, "terminal not restored: %s"
                          % r.screen())
        return flags


class TypedLineSurvives(ReplCase):

    def test_message_above_half_typed_line_then_enter_runs_it(self):
        r, a, bob = self.pair()
        typed = "send %s half typed, not sent yet" % bob.user
        r.type(typed)
        r.wait_input("%s> %s" % (a, typed))
        bob.say(a, "hello while you type")
        s = r.wait_notice("%s: hello while you type" % bob.user,
                          "%s> %s" % (a, typed), join=True)
        lines = [l.rstrip() for l in s.split("\n") if l.strip()]
        # The message is above the line being typed, which is intact.
        self.assertEqual(lines[-1], "%s> %s" % (a, typed), s)
        self.assertRegex(lines[-2], r"^\[\d\d:\d\d\] %s: hello while you "
                         r"type$" % bob.user)
        self.assertEqual(s.count("half typed"), 1, s)
        r.key("Enter")
        bob.c.wait_for("msg", a, "half typed, not sent yet")
        r.wait_for("delivered to %s" % bob.user)

    def test_presence_notice_above_half_typed_line(self):
        r, a, bob = self.pair()
        c = uname("carol")
        signed(c, "pw-c")
        r.type("list")
        r.wait_input("%s> list" % a)
        self.online(c, "pw-c")
        s = r.wait_notice("%s is online" % c, "%s> list" % a, join=True)
        self.assertEqual(s.count("%s> list" % a), 1, s)
        r.key("Enter")
        r.wait_for(lambda s: re.search(r"^online: (%s, %s|%s, %s)$"
                                       % (bob.user, c, c, bob.user), s,
                                       re.M))

    def test_wrapped_line_stays_intact_wherever_the_cursor_is(self):
        r, a, bob = self.pair()
        text = "".join("w%02d-" % i for i in range(40))     # 160 bytes
        typed = "send %s %s" % (bob.user, text)
        r.type(typed)
        r.wait_input("%s> %s" % (a, typed))
        # At 80 columns the line takes three rows of the screen.
        rows = [l for l in r.screen().split("\n") if l.strip()]
        self.assertEqual("".join(rows[-3:]), "%s> %s" % (a, typed))
        self.assertTrue(rows[-3].startswith("%s> send" % a))
        # Cursor at the end (third row), then at the start (first row).
        bob.say(a, "first notice")
        r.wait_for("%s: first notice" % bob.user)
        r.wait_input("%s> %s" % (a, typed))
        r.key("Home")
        r.wait_for(lambda s: r.cursor()[0] == len(a) + 2)
        bob.say(a, "second notice")
        s = r.wait_notice("%s: second notice" % bob.user,
                          "%s> %s" % (a, typed), join=True)
        lines = [l.rstrip() for l in s.split("\n") if l.strip()]
        self.assertEqual(lines[-1], "%s> %s" % (a, typed), s)
        self.assertRegex(lines[-2], r"%s: second notice$" % bob.user)
        self.assertRegex(lines[-3], r"%s: first notice$" % bob.user)
        # Nothing of the line was left behind on the rows it moved from.
        self.assertEqual(s.count("w00-"), 1, s)
        self.assertEqual(s.count("w39-"), 1, s)
        # The cursor is still at the start of the line, on the prompt's row.
        rows = r.screen(scrollback=False).split("\n")
        prompt_row = max(i for i, l in enumerate(rows)
                         if l.startswith("%s> " % a))
        self.assertEqual(r.cursor(), (len(a) + 2, prompt_row))
        r.key("End", "Enter")
        bob.c.wait_for("msg", a, text)

    def test_utf8_in_typed_line_stays_intact(self):
        r, a, bob = self.pair()
        text = "héllo wörld ñ 日本語 テキスト ✓ ünïcödé"
        typed = "send %s %s" % (bob.user, text)
        r.type(typed)
        r.wait_input("%s> %s" % (a, typed))
        bob.say(a, "Grüße 你好")
        s = r.wait_notice("%s: Grüße 你好" % bob.user, "%s> %s" % (a, typed),
                          join=True)
        self.assertEqual(r.input_line().rstrip(), "%s> %s" % (a, typed), s)
        self.assertEqual(s.count("テキスト"), 1, s)
        # Editing still works on whole characters after the redraw.
        r.key("BSpace")
        r.type("é")
        typed = typed[:-1] + "é"
        r.wait_input("%s> %s" % (a, typed))
        r.key("Enter")
        bob.c.wait_for("msg", a, text[:-1] + "é")

    def test_wide_character_at_row_end_stays_intact(self):
        r, a, bob = self.pair()
        # A double-width character that does not fit in the last column
        # goes to the next row: the line then takes one more row than its
        # width divided by 80, and the cursor is on the third row.
        prefix = "%s> send %s " % (a, bob.user)
        text = "x" * (79 - len(prefix)) + "日" + "y" * 78
        r.type("send %s %s" % (bob.user, text))
        r.wait_for(lambda s: [l for l in s.split("\n") if l.strip()][-2:]
                   == ["日" + "y" * 78, ""] or s.rstrip().endswith(
                       "日" + "y" * 78))
        bob.say(a, "wide notice")
        s = r.wait_notice("%s: wide notice" % bob.user, "日" + "y" * 78)
        rows = [l.rstrip() for l in s.split("\n") if l.strip()]
        self.assertEqual(rows[-2], prefix + "x" * (79 - len(prefix)), s)
        self.assertEqual(rows[-1], "日" + "y" * 78, s)
        self.assertRegex(rows[-3], r"%s: wide notice$" % bob.user)
        # Nothing of the line was left behind on the rows it moved from.
        self.assertEqual(s.count(prefix), 1, s)
        self.assertEqual(s.count("日"), 1, s)
        # The cursor on the wide character: libedit shows it on the second
        # row, at the start.
        r.key("-N", "79", "Left")
        r.wait_for(lambda s: r.cursor()[0] == 0 and
                   r.screen(scrollback=False).split("\n")[r.cursor()[1]]
                   .startswith("日"))
        bob.say(a, "second wide notice")
        s = r.wait_notice("%s: second wide notice" % bob.user,
                          "日" + "y" * 78)
        rows = [l.rstrip() for l in s.split("\n") if l.strip()]
        self.assertEqual(rows[-2:], [prefix + "x" * (79 - len(prefix)),
                                     "日" + "y" * 78], s)
        self.assertEqual(s.count(prefix), 1, s)
        self.assertEqual(s.count("日"), 1, s)
        r.key("Enter")
        bob.c.wait_for("msg", a, text)


class Completion(ReplCase):

    def test_tab_completes_user_after_send(self):
        r, a, bob = self.pair()
        r.type("send %s" % bob.user[:2])
        r.key("Tab")
        r.wait_input("%s> send %s" % (a, bob.user))
        r.type("completed")
        r.wait_input("%s> send %s completed" % (a, bob.user))
        r.key("Enter")
        bob.c.wait_for("msg", a, "completed")

    def test_tab_completes_command_names(self):
        r, a, bob = self.pair()
        r.type("li")
        r.key("Tab")
        r.wait_input("%s> list" % a)
        r.key("Enter")
        r.wait_for("online: %s" % bob.user)
        r.type("he")
        r.key("Tab")
        r.wait_input("%s> help" % a)
        r.key("Enter")
        usages = ("sign USER [PASS]", "auth USER [PASS]", "send USER TEXT...",
                  "list", "quit")
        r.wait_for(lambda s: all(u in s for u in usages))


class Conversation(ReplCase):

    def test_query_sends_plain_lines_and_shows_them_as_chat_lines(self):
        r, a, bob = self.pair()
        r.type("/query %s" % bob.user)
        r.key("Enter")
        r.wait_for("talking to %s" % bob.user)
        r.wait_input("%s \u2192 %s>" % (a, bob.user))
        r.type("hello there")
        r.key("Enter")
        bob.c.wait_for("msg", a, "hello there")
        # Our own message as a chat line, with the local time.
        r.wait_for(lambda s: re.search(r"^\[\d\d:\d\d\] %s \u2192 %s: "
                                       r"hello there$" % (a, bob.user), s,
                                       re.M))
        r.wait_for("delivered to %s" % bob.user)
        # A line that starts with / is a command; // sends one.
        r.type("/who")
        r.key("Enter")
        r.wait_for("online: %s" % bob.user)
        r.type("//not a command")
        r.key("Enter")
        bob.c.wait_for("msg", a, "/not a command")
        # /msg to someone else; /query alone ends the conversation.
        r.type("/msg %s and with send" % bob.user)
        r.key("Enter")
        bob.c.wait_for("msg", a, "and with send")
        r.type("/query")
        r.key("Enter")
        r.wait_for("no longer talking to %s" % bob.user)
        r.wait_input("%s>" % a)
        r.type("list")
        r.key("Enter")
        # The list at login, /who, and this one.
        r.wait_for(lambda s: s.count("online: %s" % bob.user) == 3)
        r.type("/quit")
        r.key("Enter")
        self.assertEqual(r.exit_status(), 0, r.screen())

    def test_unknown_command_suggests_the_nearest(self):
        r, a, bob = self.pair()
        r.type("lsit")
        r.key("Enter")
        r.wait_for("error: lsit: unknown command (did you mean list?)")
        r.type("/qurey %s" % bob.user)
        r.key("Enter")
        r.wait_for("error: /qurey: unknown command (did you mean /query?)")

    def test_ignore_drops_messages_unseen_until_unignore(self):
        r, a, bob = self.pair()
        r.type("ignore %s" % bob.user)
        r.key("Enter")
        r.wait_for("ignoring %s" % bob.user)
        bob.c.send("send %s you will not see this" % a)
        bob.c.wait_for("error", "send", "no acknowledgement from %s" % a,
                       timeout=3 * WAIT)
        self.assertNotIn("you will not see this", r.screen())
        r.type("unignore %s" % bob.user)
        r.key("Enter")
        r.wait_for("no longer ignoring %s" % bob.user)
        bob.say(a, "heard again")
        r.wait_for("%s: heard again" % bob.user)


class Peers(ReplCase):

    def test_peers_table_shows_path_address_and_round_trip(self):
        r, a, bob = self.pair()
        r.type("peers")
        r.key("Enter")
        r.wait_for("no peers yet")
        r.type("send %s hello" % bob.user)
        r.key("Enter")
        r.wait_for("delivered to %s" % bob.user)
        r.type("peers")
        r.key("Enter")
        s = r.wait_for(lambda s: re.search(
            r"%s +direct +127\.0\.0\.1:[0-9]+ +[0-9]+ ms" % bob.user, s))
        self.assertRegex(s, r"peer +path +address +rtt")


class Identity(ReplCase):

    def test_changed_key_warns_holds_back_verify_then_trust(self):
        """bob comes back from another device: alice's REPL warns in red
        that his identity key changed, refuses to send, shows the safety
        number on two rows of six groups, and after trust the message
        goes."""
        r, a, bob = self.pair()
        r.type("send %s hello" % bob.user)
        r.key("Enter")
        r.wait_for("delivered to %s" % bob.user)
        bob.finish()
        self.others.remove(bob)
        r.wait_for("%s went offline" % bob.user)
        home = tempfile.mkdtemp(prefix="sealchat-device-")
        self.addCleanup(shutil.rmtree, home, True)
        bob = self.online(bob.user, "pw-b", env={"XDG_DATA_HOME": home})
        r.wait_for("%s is online" % bob.user)
        r.type("send %s are you still you" % bob.user)
        r.key("Enter")
        s = r.wait_for("error: send: the identity key of %s changed"
                       % bob.user, join=True)
        self.assertRegex(s, r"\[\d\d:\d\d\] WARNING: the identity key of "
                         r"%s changed\." % bob.user)
        self.assertIn("Nothing goes to or comes from %s until you type "
                      "`trust %s`" % (bob.user, bob.user), s)
        r.type("verify %s" % bob.user)
        r.key("Enter")
        s = r.wait_for(lambda s: re.search(
            r"safety number with %s .*\n  (\d{5} ){5}\d{5}\n"
            r"  (\d{5} ){5}\d{5}" % bob.user, s))
        r.type("trust %s" % bob.user)
        r.key("Enter")
        r.wait_for("the new identity key of %s is trusted" % bob.user)
        r.type("send %s welcome back" % bob.user)
        r.key("Enter")
        bob.c.wait_for("msg", a, "welcome back")
        r.wait_for(lambda s: s.count("delivered to %s" % bob.user) == 2)


class OfflineMessages(ReplCase):

    def test_queued_then_shown_with_the_date_it_was_sent(self):
        """A send to a user offline says it is queued; that user's login
        shows the message with the date and time it was sent, and the
        sender's REPL then says it was delivered."""
        a, b = uname("alice"), uname("bob")
        signed(a, "pw-a")
        signed(b, "pw-b")
        wait_identity(a)
        rb = self.repl()
        rb.login(b, "pw-b")
        rb.type("send %s see you tomorrow" % a)
        rb.key("Enter")
        rb.wait_for("queued for %s, who is offline" % a)
        ra = self.repl()
        ra.login(a, "pw-a")
        ra.wait_for(lambda s: re.search(
            r"\[\d{4}-\d\d-\d\d \d\d:\d\d\] %s: see you tomorrow "
            r"\(sent while you were offline\)" % b, s))
        rb.wait_for("delivered to %s" % a)


class Passwords(ReplCase):

    def test_auth_prompts_with_echo_off_and_prompt_shows_user(self):
        a = uname("alice")
        signed(a, "Secret-Pa55")
        r = self.repl()
        r.wait_for(PROMPT0.rstrip())
        self.assertEqual(r.input_line().rstrip(), PROMPT0.rstrip())
        r.type("auth %s" % a)
        r.key("Enter")
        r.wait_for("Password:")
        r.type("Secret-Pa55")
        time.sleep(0.3)
        self.assertNotIn("Secret-Pa55", r.screen())
        r.key("Enter")
        s = r.wait_for("logged in as %s" % a)
        r.wait_input("%s>" % a)
        self.assertNotIn("Secret-Pa55", r.screen())
        self.assertNotIn("Pa55", s)

    def test_u_logs_in_at_start_asking_the_password(self):
        a = uname("alice")
        signed(a, "At-5tart")
        r = self.repl(args=("-u", a))
        r.wait_for("Password:")
        r.type("At-5tart")
        r.key("Enter")
        r.wait_for("logged in as %s" % a)
        r.wait_input("%s>" % a)
        self.assertNotIn("At-5tart", r.screen())

    def test_history_keeps_commands_but_no_password_mode_0600(self):
        a, b = uname("alice"), uname("bob")
        signed(a, "OnTheLine-1")
        signed(b, "pw-b")
        state = tempfile.mkdtemp(prefix="sealchat-state-")
        try:
            # First run: the password on the command line.
            r = self.repl(state=state)
            r.wait_for(PROMPT0.rstrip())
            r.type("auth %s OnTheLine-1" % a)
            r.key("Enter")
            r.wait_for("logged in as %s" % a)
            r.type("list")
            r.key("Enter")
            r.wait_for("nobody else is online")
            r.type("quit")
            r.key("Enter")
            self.assertEqual(r.exit_status(), 0, r.screen())
            # Second run: the history is back; the password is prompted.
            r = self.repl(state=state)
            r.wait_for(PROMPT0.rstrip())
            r.key("Up")
            r.wait_input(PROMPT0 + "quit")
            r.key("C-u")
            r.wait_input(PROMPT0.rstrip())
            r.type("auth %s" % a)
            r.key("Enter")
            r.wait_for("Password:")
            r.type("OnTheLine-1")
            r.key("Enter")
            r.wait_for("logged in as %s" % a)
            self.online(b, "pw-b")
            r.wait_for("%s is online" % b)
            r.type("send %s from the repl" % b)
            r.key("Enter")
            r.wait_for("delivered to %s" % b)
            r.key("C-d")
            self.assertEqual(r.exit_status(), 0, r.screen())
            path = os.path.join(state, "sealchat", "history")
            st = os.stat(path)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            with open(path, "rb") as f:
                hist = f.read()
            self.assertNotIn(b"OnTheLine", hist)
            # libedit stores lines vis(3)-encoded: a space is \040.
            text = hist.decode().replace("\\040", " ")
            for line in ("list", "quit", "auth %s" % a,
                         "send %s from the repl" % b):
                self.assertIn("\n" + line + "\n", text)
        finally:
            shutil.rmtree(state, ignore_errors=True)


    def test_mistyped_command_with_password_not_in_history(self):
        """A line whose command word is mistyped may hold a password: it
        never enters the history, a known command without one does."""
        state = tempfile.mkdtemp(prefix="sealchat-state-")
        try:
            r = self.repl(state=state)
            r.wait_for(PROMPT0.rstrip())
            for line in ("Auth bob Mistyped-Secret1", "sing bob Secret2",
                         "help"):
                r.type(line)
                r.key("Enter")
            r.wait_for("send USER TEXT...")
            r.type("quit")
            r.key("Enter")
            self.assertEqual(r.exit_status(), 0, r.screen())
            with open(os.path.join(state, "sealchat", "history"), "rb") as f:
                hist = f.read()
            self.assertNotIn(b"Secret", hist)
            self.assertIn(b"\nhelp\n", hist)
        finally:
            shutil.rmtree(state, ignore_errors=True)

    def test_history_default_folders_are_made_private(self):
        r = self.repl(xdg=False)
        r.wait_for(PROMPT0.rstrip())
        r.type("help")
        r.key("Enter")
        r.wait_for("send USER TEXT...")
        r.type("quit")
        r.key("Enter")
        self.assertEqual(r.exit_status(), 0, r.screen())
        # $HOME/.local/state/sealchat/history, every folder made 0700.
        path = os.path.join(r.dir, ".local", "state", "sealchat", "history")
        with open(path) as f:
            self.assertIn("\nhelp\n", f.read())
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        for sub in (".local", ".local/state", ".local/state/sealchat"):
            mode = stat.S_IMODE(os.stat(os.path.join(r.dir, sub)).st_mode)
            self.assertEqual(mode, 0o700, sub)


class HostileText(ReplCase):

    def test_c1_lone_c1_bidi_and_bytes_not_utf8_shown_escaped(self):
        """A message with CSI as U+009B, a lone 8-bit CSI, a byte that is
        not UTF-8 and a right-to-left override is shown with \\xHH in their
        place: nothing clears the screen or reorders the line."""
        r, a, bob = self.pair()
        bob.c.send(b"send " + a.encode() + b" A\xc2\x9b" b"2J B\x9b" b"2J "
                   b"C\xff D\xe2\x80\xae" b"E caf\xc3\xa9")
        bob.c.wait_for("delivered", a)
        want = ("A\\xc2\\x9b2J B\\x9b2J C\\xff D\\xe2\\x80\\xaeE "
                "caf\u00e9")
        s = r.wait_for(want, join=True)
        self.assertIn("%s> " % a, s)

class KeysTypedAhead(ReplCase):

    def test_password_typed_ahead_is_taken_and_never_shown(self):
        a = uname("alice")
        signed(a, "Ahead-0f-Time")
        r = self.repl()
        r.wait_for(PROMPT0.rstrip())
        # All at once, before any prompt for the password shows.
        r.type("auth %s\rAhead-0f-Time\rlist\r" % a)
        r.wait_for("logged in as %s" % a)
        r.wait_for("nobody else is online\n%s> list" % a)
        r.wait_for(lambda s: s.count("nobody else is online") == 2)
        self.assertNotIn("Ahead-0f-Time", r.screen())
        self.assertNotIn("0f-Time", r.stderr())

    def test_keys_typed_while_a_command_runs_show_once_at_the_prompt(self):
        d = Daemon().start()
        try:
            a = uname("alice")
            signed(a, "pw", daemon=d)
            r = self.repl(conf=d.client_conf())
            r.login(a, "pw")
            d.proc.send_signal(signal.SIGSTOP)
            try:
                r.type("list")
                r.key("Enter")
                time.sleep(0.3)
                r.type("typed ahead")
                time.sleep(0.5)
                # Not echoed by the terminal while list waits.
                self.assertNotIn("typed ahead", r.screen())
            finally:
                d.proc.send_signal(signal.SIGCONT)
            r.wait_input("%s> typed ahead" % a)
            self.assertEqual(r.screen().count("typed ahead"), 1, r.screen())
            r.key("C-u")
            r.type("quit")
            r.key("Enter")
            self.assertEqual(r.exit_status(), 0, r.screen())
        finally:
            d.cleanup()


class LoginDeadline(ReplCase):

    def test_login_deadline_never_hits_a_person_at_a_prompt(self):
        d = Daemon(login_timeout=1).start()
        try:
            a = uname("alice")
            signed(a, "slow-typist", daemon=d)
            r = self.repl(conf=d.client_conf())
            r.wait_for(PROMPT0.rstrip())
            # Reading the help for longer than the server waits.
            r.type("help")
            r.key("Enter")
            r.wait_for("send USER TEXT...")
            time.sleep(2.0)
            r.type("auth %s" % a)
            r.key("Enter")
            r.wait_for("Password:")
            # Sitting at the prompt for longer than that too.
            time.sleep(2.0)
            r.type("slow-typist")
            r.key("Enter")
            r.wait_for("logged in as %s" % a)
            self.assertNotIn("deadline", r.screen())
            r.type("quit")
            r.key("Enter")
            self.assertEqual(r.exit_status(), 0, r.screen())
        finally:
            d.cleanup()


@needs_programs("bash")
class Suspend(ReplCase):

    def test_ctrl_z_then_fg_draws_the_prompt_and_line_again(self):
        a = uname("alice")
        signed(a, "pw-a")
        r = self.repl(job_control=True)
        r.login(a, "pw-a")
        r.type("half typed")
        r.wait_input("%s> half typed" % a)
        r.key("C-z")
        r.wait_for("Stopped")
        r.type("fg; echo EXIT=$?; stty -a")
        r.key("Enter")
        r.wait_input("%s> half typed" % a)
        # The line editor has the terminal again.
        r.type(" and more")
        r.wait_input("%s> half typed and more" % a)
        r.key("C-u")
        r.type("quit")
        r.key("Enter")
        self.assertEqual(r.exit_status(), 0, r.screen())
        self.stty_ok(r)

    def test_ctrl_z_at_the_password_prompt(self):
        a = uname("alice")
        signed(a, "pw-a")
        r = self.repl(job_control=True)
        r.wait_for(PROMPT0.rstrip())
        r.type("auth %s" % a)
        r.key("Enter")
        r.wait_for("Password:")
        r.key("C-z")
        r.wait_for("Stopped")
        r.type("fg; echo EXIT=$?; stty -a")
        r.key("Enter")
        r.wait_for(lambda s: s.rstrip().endswith("Password:"))
        r.type("pw-a")
        r.key("Enter")
        r.wait_for("logged in as %s" % a)
        self.assertNotIn("pw-a", r.screen())
        r.key("C-d")
        self.assertEqual(r.exit_status(), 0, r.screen())


class Colour(ReplCase):

    def session(self, color):
        """Logs in, gets a message and makes an error: every kind of line."""
        a, b = uname("alice"), uname("bob")
        signed(a, "pw-a")
        signed(b, "pw-b")
        bob = self.online(b, "pw-b")
        r = self.repl(color=color)
        r.login(a, "pw-a")
        bob.say(a, "colourful?")
        r.wait_for("%s: colourful?" % b)
        r.type("bogus")
        r.key("Enter")
        r.wait_for("error: bogus: unknown command")
        return r.screen(escapes=True)

    def test_no_color_means_no_escape_sequences(self):
        s = self.session(color=False)
        self.assertNotIn("\x1b", s)

    def test_colour_without_no_color(self):
        s = self.session(color=True)
        self.assertIn("\x1b[", s)
        # The error line is red (SGR 31).
        self.assertRegex(s, r"\x1b\[[0-9;]*31[0-9;]*merror: bogus")


class Ending(ReplCase):

    def test_quit_logs_out_exits_0_and_restores_terminal(self):
        r, a, bob = self.pair()
        # A failed command was shown at the terminal: it does not make the
        # exit status 1 as it would in script mode.
        r.type("frobnicate")
        r.key("Enter")
        r.wait_for("error: frobnicate: unknown command")
        r.type("quit")
        r.key("Enter")
        self.assertEqual(r.exit_status(), 0, r.screen())
        self.stty_ok(r)
        bob.c.wait_for("offline", a)

    def test_end_of_input_logs_out_and_exits_0(self):
        r, a, bob = self.pair()
        r.key("C-d")
        self.assertEqual(r.exit_status(), 0, r.screen())
        self.stty_ok(r)
        bob.c.wait_for("offline", a)

    def test_sigterm_restores_terminal_and_keeps_typed_text(self):
        r, a, bob = self.pair()
        r.type("half a thought")
        r.wait_input("%s> half a thought" % a)
        os.kill(r.pid(), signal.SIGTERM)
        self.assertEqual(r.exit_status(), 0, r.screen())
        self.stty_ok(r)
        # The shell's output starts on a row of its own.
        self.assertRegex(r.screen(), r"%s> half a thought *\nEXIT=0" % a)
        bob.c.wait_for("offline", a)

    def test_ctrl_c_quits_cleanly(self):
        a = uname("alice")
        signed(a, "pw-a")
        r = self.repl(trap_int=True)
        r.login(a, "pw-a")
        r.type("typed")
        r.wait_input("%s> typed" % a)
        r.key("C-c")
        self.assertEqual(r.exit_status(), 0, r.screen())
        self.stty_ok(r)

    def restarted(self, kill):
        """alice at the REPL with a half-typed line while the daemon is
        stopped (or killed) and started again: she is told, logged in
        again, her line is intact, and messages flow both ways."""
        d = Daemon().start()
        try:
            a, b = uname("alice"), uname("bob")
            signed(a, "pw", daemon=d)
            signed(b, "pw-b", daemon=d)
            r = self.repl(conf=d.client_conf())
            r.login(a, "pw")
            r.type("half typed")
            r.wait_input("%s> half typed" % a)
            if kill:
                d.kill()
                r.wait_for(lambda s: re.search(
                    r"disconnected: (the server 127\.0\.0\.1:\d+ closed the "
                    r"connection|lost the server 127\.0\.0\.1:\d+: "
                    r"Connection reset by peer); reconnecting", s),
                    join=True)
            else:
                d.stop()
                r.wait_for("disconnected: server closed the session: "
                           "server shutting down; reconnecting", join=True)
            r.wait_input("%s> half typed" % a)
            d.start_again()
            r.wait_for(lambda s: s.count("logged in as %s" % a) == 2,
                       timeout=3 * WAIT)
            r.wait_input("%s> half typed" % a)
            bob = self.online(b, "pw-b", conf=d.client_conf())
            r.wait_for("%s is online" % b)
            bob.say(a, "after the restart")
            r.wait_for("%s: after the restart" % b)
            r.key("C-u")
            r.type("send %s and back" % b)
            r.key("Enter")
            bob.c.wait_for("msg", a, "and back")
            r.wait_for("delivered to %s" % b)
            r.type("quit")
            r.key("Enter")
            self.assertEqual(r.exit_status(), 0, r.screen())
            self.stty_ok(r)
        finally:
            for o in self.others:
                o.finish()
            self.others = []
            d.cleanup()

    def test_daemon_stopped_and_started_again_session_restored(self):
        self.restarted(kill=False)

    def test_daemon_killed_and_started_again_session_restored(self):
        self.restarted(kill=True)

    def test_unresolvable_server_name_69_at_once(self):
        path = D.client_conf("unresolvable.yaml",
                             server_address="nonexistent.invalid")
        t0 = time.monotonic()
        r = self.repl(conf=path)
        self.assertEqual(r.exit_status(), 69, r.screen())
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("cannot resolve nonexistent.invalid", r.screen())
        self.stty_ok(r)

    def test_ctrl_c_while_connecting_ends_at_once(self):
        # A port where the kernel drops every SYN: a full accept queue.
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        port = lsock.getsockname()[1]
        fill = []
        try:
            for _ in range(3):
                f = socket.socket()
                f.setblocking(False)
                try:
                    f.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
                fill.append(f)
            path = D.client_conf("blackhole.yaml", server_port=port,
                                 connect_timeout=60)
            r = self.repl(conf=path, trap_int=True)
            r.pid()
            time.sleep(0.5)
            t0 = time.monotonic()
            r.key("C-c")
            r.exit_status()
            self.assertLess(time.monotonic() - t0, 5)
            self.stty_ok(r)
        finally:
            for f in fill:
                f.close()
            lsock.close()

    def test_logged_in_elsewhere_says_why_without_a_prompt_after(self):
        a = uname("alice")
        signed(a, "pw-a")
        r = self.repl()
        r.login(a, "pw-a")
        r.type("half typed")
        r.wait_input("%s> half typed" % a)
        rc, recs, err = run_script(D.client_conf(), "auth %s pw-a\n" % a)
        self.assertEqual(rc, 0, err)
        self.assertEqual(r.exit_status(), 69, r.screen())
        s = r.screen()
        lines = [l.rstrip() for l in s[:s.index("EXIT=")].split("\n")
                 if l.strip()]
        # The line typed stays; the reason comes below it, and no prompt
        # is drawn after it.
        self.assertEqual(lines[-2:], ["%s> half typed" % a,
                                      "server closed the session: logged "
                                      "in elsewhere"], s)
        self.stty_ok(r)

    def test_unreachable_server_at_start_69(self):
        d = Daemon().start()
        conf = d.client_conf()
        d.stop()
        try:
            r = self.repl(conf=conf)
            self.assertEqual(r.exit_status(), 69, r.screen())
            self.assertRegex(r.screen(), r"cannot connect to 127\.0\.0\.1:"
                             r"\d+: Connection refused")
            self.stty_ok(r)
        finally:
            d.cleanup()


if __name__ == "__main__":
    sys.exit(main())
