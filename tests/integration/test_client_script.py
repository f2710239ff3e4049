# SPDX-License-Identifier: ISC
"""sealchat in script mode against the real sealchatd: the records it prints,
its exit statuses, passwords from the environment and a file, escaping,
waiting for deliveries at the end of input, and --listen.

Run by ctest with SEALCHATD, SEALCHAT, SEALCHAT_SRC and SEALCHAT_BUILD set.
"""

import base64
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (D, setUpModule, tearDownModule,  # noqa: F401
                              uname, main, signed, listener, Client,
                              project_version,
                              Daemon, FakeServer, MutePeer, RawClient,
                              RawPeer, free_port, run_script, write_yaml,
                              split_record, MSG_AUTH, MSG_OK, MSG_PAIR,
                              MSG_SIGN, MSG_USERS, SEALCHAT, WAIT)


def conf(**extra):
    """A client configuration for the module's daemon."""
    name = "c" + "".join("-%s%s" % kv for kv in sorted(extra.items()))
    return D.client_conf(name + ".yaml", **extra)


@contextlib.contextmanager
def listening(user, password):
    """A logged-in client kept running with --listen, its input closed."""
    c = listener(user, password, conf())
    c.close()
    try:
        yield c
    finally:
        c.end()


class ScriptLogin(unittest.TestCase):

    def test_sign_prints_ok_and_users_then_auth_works(self):
        u = uname()
        rc, recs, err = run_script(conf(), "sign %s secret\n" % u)
        self.assertEqual(rc, 0, err)
        self.assertEqual(recs[0], ("ok", "sign", u))
        self.assertEqual(recs[1][0], "users")
        self.assertNotIn(u, recs[1])
        rc, recs, err = run_script(conf(), "auth %s secret\nlist\n" % u)
        self.assertEqual(rc, 0, err)
        self.assertEqual(recs[0], ("ok", "auth", u))
        self.assertEqual(recs[1][0], "users")
        self.assertEqual(recs[2][0], "users")
        self.assertEqual(len(recs), 3)

    def test_upper_case_name_is_folded(self):
        u = uname("mixed")
        rc, recs, err = run_script(conf(), "sign %s pw\n" % u.upper())
        self.assertEqual(rc, 0, err)
        self.assertEqual(recs[0], ("ok", "sign", u))

    def test_wrong_password_is_an_error_and_exit_1(self):
        u = uname()
        signed(u, "right")
        rc, recs, err = run_script(conf(), "auth %s wrong\n" % u)
        self.assertEqual(rc, 1)
        self.assertEqual(recs, [("error", "auth", "wrong user or password")])
        self.assertNotIn("wrong\n", err)

    def test_unknown_user_gets_the_same_answer(self):
        rc, recs, err = run_script(conf(), "auth %s pw\n" % uname("nosuch"))
        self.assertEqual(rc, 1)
        self.assertEqual(recs, [("error", "auth", "wrong user or password")])

    def test_taken_name_is_refused(self):
        u = uname()
        signed(u)
        rc, recs, err = run_script(conf(), "sign %s other\n" % u)
        self.assertEqual(rc, 1)
        self.assertEqual(recs, [("error", "sign", "name taken")])

    def test_failed_login_can_be_retried_in_the_same_run(self):
        u = uname()
        signed(u, "good")
        rc, recs, err = run_script(conf(), "auth %s bad\nauth %s good\n"
                                   % (u, u))
        self.assertEqual(rc, 1, "one command failed")
        self.assertEqual(recs[0], ("error", "auth", "wrong user or password"))
        self.assertEqual(recs[1], ("ok", "auth", u))

    def test_password_from_environment(self):
        u = uname()
        signed(u, "envpw")
        rc, recs, err = run_script(conf(), "auth %s\n" % u,
                                   env={"SEALCHAT_PASSWORD": "envpw"})
        self.assertEqual(rc, 0, err)
        self.assertEqual(recs[0], ("ok", "auth", u))

    def test_password_from_file_first_line(self):
        u = uname()
        signed(u, "file pw")
        path = os.path.join(D.dir, "pw-%s" % u)
        with open(path, "w") as f:
            f.write("file pw\nsecond line\n")
        rc, recs, err = run_script(conf(), "auth %s\n" % u,
                                   args=("--password-file", path),
                                   env={"SEALCHAT_PASSWORD": "ignored"})
        self.assertEqual(rc, 0, err)
        self.assertEqual(recs[0], ("ok", "auth", u))

    def test_no_password_anywhere_is_an_error(self):
        rc, recs, err = run_script(conf(), "auth %s\n" % uname())
        self.assertEqual(rc, 1)
        self.assertEqual(recs, [("error", "auth", "no password")])

    def test_commands_before_login_and_bad_lines(self):
        rc, recs, err = run_script(
            conf(), "list\nsend bob hi\nbogus cmd\nsend\n# comment\n\n"
            "auth\nlist extra\n")
        self.assertEqual(rc, 1)
        self.assertEqual(recs, [
            ("error", "list", "not logged in"),
            ("error", "send", "not logged in"),
            ("error", "bogus", "unknown command"),
            ("error", "send", "usage: send USER TEXT..."),
            ("error", "auth", "usage: auth USER [PASS]"),
            ("error", "list", "usage: list"),
        ])

    def test_help_goes_to_stderr_only(self):
        rc, recs, err = run_script(conf(), "help\n?\n")
        self.assertEqual(rc, 0)
        self.assertEqual(recs, [])
        self.assertIn("send USER TEXT...", err)
        self.assertIn("auth USER [PASS]", err)

    def test_crlf_lines_and_a_line_too_long(self):
        u = uname()
        signed(u)
        script = ("auth %s pw-x\r\nsend %s %s\r\nlist\r\n"
                  % (u, u, "y" * 5000))
        rc, recs, err = run_script(conf(), script)
        self.assertEqual(rc, 1)
        self.assertEqual(recs[0], ("ok", "auth", u))
        self.assertEqual(recs[2], ("error", "send",
                                   "line too long (max 4096 bytes)"))
        self.assertEqual(recs[3][0], "users")

    def test_empty_input_and_dev_null_exit_0(self):
        rc, recs, err = run_script(conf(), "")
        self.assertEqual((rc, recs), (0, []), err)
        p = subprocess.run([SEALCHAT, "-c", conf()], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"")

    def test_script_from_a_regular_file(self):
        u = uname()
        signed(u)
        path = os.path.join(D.dir, "script-%s.txt" % u)
        with open(path, "w") as f:
            f.write("auth %s pw-x\nlist\nquit\nlist\n" % u)
        with open(path, "rb") as f:
            p = subprocess.run([SEALCHAT, "-c", conf()],
                               stdin=f, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(lines[0], "ok\tauth\t%s" % u)
        self.assertEqual(len(lines), 3, "nothing runs after quit")


class ExitStatus(unittest.TestCase):

    def test_usage_error_64(self):
        rc, recs, err = run_script(None, "", args=("--no-such-option",))
        self.assertEqual(rc, 64)
        rc, recs, err = run_script(None, "", args=("stray",))
        self.assertEqual(rc, 64)
        rc, recs, err = run_script(None, "", args=("--batch",
                                                   "--interactive"))
        self.assertEqual(rc, 64)

    def test_help_and_version(self):
        rc, recs, err = run_script(None, "", args=("--version",))
        self.assertEqual(rc, 0)
        self.assertEqual(recs, [("sealchat " + project_version(),)])
        rc, recs, err = run_script(None, "", args=("-h",))
        self.assertEqual(rc, 0)

    def test_no_server_on_the_port_69(self):
        path = D.client_conf("noserver.yaml", server_port=free_port())
        rc, recs, err = run_script(path, "sign x pw\n")
        self.assertEqual(rc, 69)
        self.assertEqual(recs, [])
        self.assertIn("cannot connect", err)

    def test_wrong_pinned_key_76_before_any_credential(self):
        other = os.path.join(D.dir, "other.pub")
        with open(other, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        path = D.client_conf("wrongkey.yaml", server_public_key="other.pub")
        u = uname("mallory")
        rc, recs, err = run_script(path, "sign %s pw\n" % u)
        self.assertEqual(rc, 76)
        self.assertEqual(recs, [])
        self.assertIn("pinned key SHA256:", err)
        self.assertIn("no credentials were sent", err)
        # Both fingerprints, as ssh shows them: the server's is its own.
        fpr = base64.b64encode(hashlib.sha256(D.pk).digest()).decode()
        self.assertIn("but offers SHA256:%s;" % fpr.rstrip("="), err)
        # The account was never created: the sign line was not sent.
        rc, recs, err = run_script(conf(), "auth %s pw\n" % u)
        self.assertEqual(recs, [("error", "auth", "wrong user or password")])

    def test_bad_configuration_78_names_file_and_line(self):
        path = os.path.join(D.dir, "bad.yaml")
        write_yaml(path, {"server_address": "127.0.0.1",
                          "no_such_key": 1})
        rc, recs, err = run_script(path, "")
        self.assertEqual(rc, 78)
        self.assertIn("bad.yaml:2:", err)
        path2 = D.client_conf("badport.yaml", server_port=70000)
        rc, recs, err = run_script(path2, "")
        self.assertEqual(rc, 78)
        rc, recs, err = run_script(os.path.join(D.dir, "missing.yaml"), "")
        self.assertEqual(rc, 78)

    def test_missing_key_file_78(self):
        path = D.client_conf("nokey.yaml", server_public_key="absent.pub")
        rc, recs, err = run_script(path, "")
        self.assertEqual(rc, 78)
        self.assertIn("absent.pub", err)


class Messaging(unittest.TestCase):

    def test_send_waits_for_delivered_at_end_of_input(self):
        a, b = uname("a"), uname("b")
        signed(a)
        signed(b)
        with listening(b, "pw-x") as bc:
            rc, recs, err = run_script(
                conf(), "auth %s pw-x\nsend %s one\nsend %s two\n"
                % (a, b, b))
            self.assertEqual(rc, 0, err)
            self.assertEqual(recs[0], ("ok", "auth", a))
            self.assertEqual(recs[1], ("users", b))
            self.assertEqual(recs.count(("delivered", b)), 2)
            bc.wait_for("msg", a, "one")
            bc.expect("msg", a, "two")

    def test_peers_shows_the_direct_path_and_its_round_trip(self):
        # On one machine the host candidate the server hands out answers
        # at once: the path is direct, to the peer's UDP socket.
        a, b = uname("a"), uname("b")
        signed(a)
        signed(b)
        with listening(b, "pw-x") as bc:
            ac = listener(a, "pw-x", conf())
            try:
                ac.send("peers")
                ac.send("send %s hi" % b)
                ac.expect("delivered", b)
                ac.send("peers")
                kind, user, path, address, rtt = ac.next()
                bc.wait_for("msg", a, "hi")
            finally:
                ac.end()
        self.assertEqual((kind, user, path), ("peer", b, "direct"))
        self.assertRegex(address, r"^127\.0\.0\.1:[1-9][0-9]*$")
        self.assertRegex(rtt, r"^[0-9]+$")

    def test_received_text_is_escaped(self):
        a, b = uname("a"), uname("b")
        signed(a)
        signed(b)
        text = b"tab\there back\\slash bell\x07 esc\x1b[1m del\x7f cr\rx"
        with listening(b, "pw-x") as bc:
            rc, recs, err = run_script(
                conf(), b"auth " + a.encode() + b" pw-x\nsend " +
                b.encode() + b" " + text + b"\n")
            self.assertEqual(rc, 0, err)
            bc.wait_for("msg", a, "tab\\there back\\\\slash bell\\x07 "
                        "esc\\x1b[1m del\\x7f cr\\x0dx")

    def test_newline_and_nul_from_a_raw_peer_are_escaped(self):
        b, e = uname("b"), uname("raw")
        signed(b)
        with listening(b, "pw-x") as bc:
            raw = RawClient(D.port, D.pub)
            try:
                raw.login(MSG_SIGN, e, "pw")
                raw.open_udp()
                peer = RawPeer(raw, e, b, *raw.pair(b))
                peer.send_until_ack(1, b"line1\nline2\0end\\")
                bc.wait_for("online", e)
                bc.wait_for("msg", e, "line1\\nline2\\x00end\\\\")
            finally:
                raw.close()

    def test_c1_bidi_and_bytes_not_utf8_from_a_raw_peer_are_escaped(self):
        """A hostile peer's CSI as U+009B, a lone 8-bit CSI, a byte that is
        not UTF-8 and a right-to-left override reach standard output as
        \\xHH, never as they are; other UTF-8 passes."""
        b, e = uname("b"), uname("raw")
        signed(b)
        with listening(b, "pw-x") as bc:
            raw = RawClient(D.port, D.pub)
            try:
                raw.login(MSG_SIGN, e, "pw")
                raw.open_udp()
                peer = RawPeer(raw, e, b, *raw.pair(b))
                peer.send_until_ack(1, b"\xc2\x9b2J \x9b2J \xff "
                                    b"\xe2\x80\xaeevil caf\xc3\xa9")
                bc.wait_for("online", e)
                bc.wait_for("msg", e, "\\xc2\\x9b2J \\x9b2J \\xff "
                            "\\xe2\\x80\\xaeevil caf\u00e9")
            finally:
                raw.close()

    def test_send_errors(self):
        a, nobody = uname("a"), uname("nobody")
        signed(a)
        rc, recs, err = run_script(
            conf(), "auth %s pw-x\nsend %s hi\nsend b@d hi\n"
            "send %s %s\nauth %s pw-x\n" % (a, nobody, a, "z" * 1001, a))
        self.assertEqual(rc, 1)
        self.assertEqual(recs[2:], [
            ("error", "send", "user offline: %s" % nobody),
            ("error", "send", "bad name: b@d (1 to 32 characters of a-z, "
             "0-9, '.', '_' and '-', starting with a letter or a digit)"),
            ("error", "send", "message too long (max 1000 bytes)"),
            ("error", "auth", "already logged in as %s" % a),
        ])

    def test_ignore_drops_a_users_messages_without_acknowledging(self):
        a, b, c = uname("a"), uname("b"), uname("c")
        for u in (a, b, c):
            signed(u)
        quick = conf(send_retries=1, retry_interval_ms=100)
        la = Client(conf(), args=("--listen",))
        try:
            la.send("auth %s pw-x" % a)
            la.expect("ok", "auth", a)
            la.next()
            la.send("ignore %s" % b)
            rc, recs, err = run_script(quick, "auth %s pw-x\nsend %s hi\n"
                                       % (b, a))
            self.assertEqual(rc, 1, err)
            self.assertIn(("error", "send", "no acknowledgement from %s"
                           % a), recs)
            rc, recs, err = run_script(quick, "auth %s pw-x\nsend %s hi\n"
                                       % (c, a))
            self.assertEqual(rc, 0, err)
            la.wait_for("msg", c, "hi")
            self.assertNotIn(("msg", b, "hi"), la.seen)
            la.send("unignore %s" % b)
            rc, recs, err = run_script(quick, "auth %s pw-x\nsend %s back\n"
                                       % (b, a))
            self.assertEqual(rc, 0, err)
            la.wait_for("msg", b, "back")
            la.end()
            # ignore and unignore print no record and fail nothing.
            self.assertEqual(la.wait(), 0)
        finally:
            la.finish()

    def test_message_of_1000_bytes_is_delivered(self):
        a = uname("a")
        signed(a)
        rc, recs, err = run_script(conf(), "auth %s pw-x\nsend %s %s\n"
                                   % (a, a, "k" * 1000))
        self.assertEqual(rc, 0, err)
        self.assertIn(("msg", a, "k" * 1000), recs)
        self.assertIn(("delivered", a), recs)

    def test_no_acknowledgement_is_reported(self):
        a, e = uname("a"), uname("mute")
        signed(a)
        raw = RawClient(D.port, D.pub)
        try:
            raw.login(MSG_SIGN, e, "pw")
            raw.open_udp()
            mute = MutePeer(raw, e, a)
            path = conf(send_retries=2, retry_interval_ms=100)
            t0 = time.monotonic()
            rc, recs, err = run_script(path, "auth %s pw-x\nsend %s hi\n"
                                       % (a, e))
            took = time.monotonic() - t0
            self.assertEqual(rc, 1, err)
            self.assertEqual(recs[-1], ("error", "send",
                                        "no acknowledgement from %s" % e))
            self.assertLess(took, 5)
            # The first send and two retransmissions reached the peer
            # (each on a path found again after the last was lost): one
            # msg_id, three counters.
            msgs = mute.finish()
            self.assertEqual([(m[2], m[3], m[4]) for m in msgs],
                             [(1, 1, b"hi")] * 3)
            self.assertEqual(len({m[1] for m in msgs}), 3)
        finally:
            raw.close()

    def test_a_peer_that_never_answers_never_gets_the_text(self):
        # No RESP, so no keys, no path: the message waits and fails, and
        # only the handshake's INIT ever reaches the peer's address.
        a, e = uname("a"), uname("mute")
        signed(a)
        raw = RawClient(D.port, D.pub)
        try:
            raw.login(MSG_SIGN, e, "pw")
            raw.open_udp()
            path = conf(send_retries=2, retry_interval_ms=100)
            rc, recs, err = run_script(path, "auth %s pw-x\nsend %s hi\n"
                                       % (a, e))
            self.assertEqual(rc, 1, err)
            self.assertEqual(recs[-1], ("error", "send",
                                        "no acknowledgement from %s" % e))
            raw.wait_pairkey(a)
            kinds = set()
            while True:
                d = raw.udp_recv(0.5)
                if d is None:
                    break
                kinds.add(d[0])
            self.assertEqual(kinds, {4})
        finally:
            raw.close()

    def test_more_messages_than_may_wait_for_acks_are_sent_in_turn(self):
        # 64 messages may wait for their ACK at once (the receiver's window
        # of message ids); the next send waits for room instead of failing.
        a, e = uname("a"), uname("mute")
        signed(a)
        raw = RawClient(D.port, D.pub)
        try:
            raw.login(MSG_SIGN, e, "pw")
            raw.open_udp()
            mute = MutePeer(raw, e, a)
            path = conf(send_retries=0, retry_interval_ms=300)
            lines = "".join("send %s n%d\n" % (e, i) for i in range(300))
            rc, recs, err = run_script(path, "auth %s pw-x\n%s" % (a, lines))
            self.assertEqual(rc, 1, err)
            fails = [r for r in recs if r[0] == "error"]
            self.assertEqual(len(fails), 300)
            self.assertEqual(set(fails), {("error", "send",
                                           "no acknowledgement from %s"
                                           % e)})
            got = mute.finish()
            self.assertEqual(sorted(m[4] for m in got),
                             sorted(b"n%d" % i for i in range(300)))
        finally:
            raw.close()

    def test_listen_stays_until_sigterm(self):
        a, b = uname("a"), uname("b")
        signed(a)
        signed(b)
        c = Client(conf(), args=("--listen",))
        try:
            c.send("auth %s pw-x" % b)
            c.close()
            c.expect("ok", "auth", b)
            self.assertEqual(c.next()[0], "users")
            time.sleep(1.0)
            self.assertTrue(c.running(), "still running after input ended")
            rc, recs, err = run_script(conf(), "auth %s pw-x\nsend %s late\n"
                                       % (a, b))
            self.assertEqual(rc, 0, err)
            # The server batches presence notices at the end of its loop
            # turn but sends a pair key at once, so the message may be
            # shown before the notice.
            first = sorted([c.next(), c.next()])
            self.assertEqual(first, [("msg", a, "late"), ("online", a)])
            c.expect("offline", a)
            c.proc.send_signal(signal.SIGTERM)
            self.assertEqual(c.wait(), 0)
            self.assertEqual(c.rest(), [])
        finally:
            c.finish()
        # b logged out: a new client sees nobody but itself online.
        rc, recs, err = run_script(conf(), "auth %s pw-x\nlist\n" % a)
        self.assertNotIn(b, recs[2])

    def test_listen_exit_status_1_after_a_failed_command(self):
        c = Client(conf(), args=("--listen",))
        try:
            c.send("list")
            c.close()
            c.expect("error", "list", "not logged in")
            time.sleep(0.3)
            self.assertTrue(c.running())
            c.proc.send_signal(signal.SIGINT)
            self.assertEqual(c.wait(), 1)
        finally:
            c.finish()

    def test_a_second_login_reads_offline_then_online(self):
        """Presence tells one story per user: bob logging in a second time
        is "offline bob" then "online bob", never "online" twice."""
        a, b = uname("a"), uname("b")
        signed(a)
        signed(b)
        with listening(a, "pw-x") as la:
            with listening(b, "pw-x") as lb1:
                la.expect("online", b)
                with listening(b, "pw-x"):
                    la.expect("offline", b)
                    la.expect("online", b)
                    self.assertEqual(lb1.wait(), 69)
                la.expect("offline", b)
            self.assertEqual(la.quiet(0.5), [])

    def test_logged_in_elsewhere_ends_the_old_session_69(self):
        u = uname()
        signed(u)
        c = Client(conf(), args=("--listen",))
        try:
            c.send("auth %s pw-x" % u)
            c.close()
            c.expect("ok", "auth", u)
            rc, recs, err = run_script(conf(), "auth %s pw-x\n" % u)
            self.assertEqual(rc, 0, err)
            self.assertEqual(c.wait(), 69)
            self.assertIn("server closed the session: logged in elsewhere",
                          c.stderr())
        finally:
            c.finish()


def on_a_terminal(args, steps, env=None, timeout=WAIT):
    """Runs sealchat with its standard input a terminal (a pty) and its
    standard output and error pipes, as `sealchat | tee log` does; steps
    are (text to wait for on standard error, or seconds to wait, then bytes
    to type).
    Returns (status, stdout, stderr, what the terminal showed)."""
    import pty
    master, slave = pty.openpty()
    full_env = dict(os.environ)
    full_env.pop("SEALCHAT_PASSWORD", None)
    full_env.update(env or {})
    p = subprocess.Popen([SEALCHAT] + list(args), stdin=slave,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=full_env)
    os.close(slave)
    os.set_blocking(p.stderr.fileno(), False)
    shown, err = b"", b""
    deadline = time.monotonic() + timeout
    try:
        for want, keys in steps:
            if isinstance(want, float):
                time.sleep(want)
                want = b""
            while want not in err:
                if time.monotonic() > deadline or p.poll() is not None:
                    raise AssertionError("never saw %r: %r" % (want, err))
                err += p.stderr.read() or b""
                time.sleep(0.02)
            os.write(master, keys)
        out, more = p.communicate(timeout=timeout)
        err += more
        os.set_blocking(master, False)
        try:
            shown = os.read(master, 65536)
        except OSError:
            pass
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(WAIT)
        os.close(master)
    return p.returncode, out, err, shown


class Terminal(unittest.TestCase):

    def test_interactive_with_output_to_a_pipe_is_refused_64(self):
        rc, out, err, shown = on_a_terminal(["-c", conf(), "--interactive"],
                                            [])
        self.assertEqual(rc, 64)
        self.assertIn(b"--interactive needs a terminal on standard input "
                      b"and output", err)

    def test_password_asked_on_the_terminal_with_echo_off(self):
        u = uname()
        signed(u, "N0t-Sh0wn")
        rc, out, err, shown = on_a_terminal(
            ["-c", conf()], [(b"", b"auth %s\n" % u.encode()),
                             (b"Password: ", b"N0t-Sh0wn\n"),
                             (0.5, b"list\n"), (0.5, b"\x04")])
        self.assertEqual(rc, 0, err)
        recs = [split_record(l) for l in out.splitlines(keepends=True)]
        self.assertEqual(recs[0], ("ok", "auth", u))
        self.assertNotIn(b"N0t-Sh0wn", shown + err + out)


class OneShot(unittest.TestCase):
    """A command on the command line, as redis-cli and nmcli run one."""

    def test_send_logs_in_runs_the_command_and_waits_for_it(self):
        a, b = uname("a"), uname("b")
        signed(a, "pw-a")
        signed(b, "pw-b")
        with listening(b, "pw-b") as lb:
            rc, recs, err = run_script(
                conf(), "send %s not this line\n" % b,
                args=("-u", a, "send", b, "the", "backup", "finished"),
                env={"SEALCHAT_PASSWORD": "pw-a"})
            self.assertEqual(rc, 0, err)
            self.assertEqual(recs, [("ok", "auth", a), ("users", b),
                                    ("delivered", b)])
            lb.wait_for("msg", a, "the backup finished")
            # Standard input is not read.
            self.assertEqual([r for r in lb.quiet(0.5) if r[0] == "msg"],
                             [])

    def test_exit_statuses_of_a_one_shot_command(self):
        a = uname("a")
        signed(a, "pw-a")
        pwf = os.path.join(D.dir, "pw-%s" % a)
        with open(pwf, "w") as f:
            f.write("pw-a\n")
        os.chmod(pwf, 0o600)
        # The command failed: 1, with its error record.
        rc, recs, err = run_script(conf(), "", args=(
            "--password-file", pwf, "-u", a, "send", uname("nobody"), "hi"))
        self.assertEqual(rc, 1, err)
        self.assertEqual(recs[-1][:2], ("error", "send"))
        self.assertEqual(err, "")
        # list needs no text; help needs no login.
        rc, recs, err = run_script(conf(), "", args=(
            "--password-file", pwf, "-u", a, "list"))
        self.assertEqual((rc, recs[0]), (0, ("ok", "auth", a)))
        rc, recs, err = run_script(conf(), "", args=("help",))
        self.assertEqual((rc, recs), (0, []))
        self.assertIn("send USER TEXT...", err)
        # No server: 69.
        path = D.client_conf("oneshot-noserver.yaml", server_port=free_port())
        rc, recs, err = run_script(path, "", args=(
            "--password-file", pwf, "-u", a, "list"))
        self.assertEqual(rc, 69)

    def test_bad_command_lines_are_64_before_connecting(self):
        path = D.client_conf("oneshot-none.yaml", server_port=free_port())
        for args, why in (
                (("sned", "bob", "hi"), "unknown command: sned (did you "
                 "mean send?)"),
                (("frobnicate",), "unknown command: frobnicate\n"),
                (("send", "bob"), "usage: sealchat [-u USER] send USER "
                 "TEXT..."),
                (("send", "bob", "hi"), "send needs a login: add -u USER"),
                (("-u", "Bad Name!", "list"), "-u Bad Name!: bad name (1 to "
                 "32 characters"),
                (("-u", "x", "send", "bob", "two\nlines"), "a line break"),
                (("--interactive", "-u", "x", "list"), "--interactive")):
            rc, recs, err = run_script(path, "", args=args)
            self.assertEqual((rc, recs), (64, []), args)
            self.assertIn(why, err, args)

    def test_u_logs_in_before_the_lines_of_the_input(self):
        a = uname("a")
        signed(a, "pw-a")
        rc, recs, err = run_script(conf(), "list\n", args=("-u", a.upper()),
                                   env={"SEALCHAT_PASSWORD": "pw-a"})
        self.assertEqual(rc, 0, err)
        self.assertEqual([r[0] for r in recs], ["ok", "users", "users"])
        self.assertEqual(recs[0], ("ok", "auth", a))

    def test_one_shot_asks_the_password_on_a_terminal(self):
        a, b = uname("a"), uname("b")
        signed(a, "T3rminal")
        signed(b, "pw-b")
        with listening(b, "pw-b") as lb:
            rc, out, err, shown = on_a_terminal(
                ["-c", conf(), "-u", a, "send", b, "typed", "pw"],
                [(b"Password: ", b"T3rminal\n")])
            self.assertEqual(rc, 0, err)
            lb.wait_for("msg", a, "typed pw")
        self.assertNotIn(b"T3rminal", shown + out + err)


class PasswordFile(unittest.TestCase):

    def test_missing_file_is_64_before_connecting(self):
        path = D.client_conf("pwf-none.yaml", server_port=free_port())
        rc, recs, err = run_script(path, "auth a\n", args=(
            "--password-file", os.path.join(D.dir, "no-such-file")))
        self.assertEqual((rc, recs), (64, []))
        self.assertIn("cannot read the password file", err)
        rc, recs, err = run_script(path, "auth a\n", args=(
            "--password-file", D.dir))
        self.assertEqual(rc, 64)
        self.assertIn("not a regular file", err)

    def test_file_others_can_read_gives_a_warning(self):
        u = uname()
        signed(u, "shared")
        path = os.path.join(D.dir, "pw-open-%s" % u)
        with open(path, "w") as f:
            f.write("shared\n")
        os.chmod(path, 0o644)
        rc, recs, err = run_script(conf(), "auth %s\n" % u,
                                   args=("--password-file", path))
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: others can read the password file %s "
                      "(mode 0644): chmod 600" % path, err)
        os.chmod(path, 0o600)
        rc, recs, err = run_script(conf(), "auth %s\n" % u,
                                   args=("--password-file", path))
        self.assertEqual((rc, err), (0, ""))


class ServerGone(unittest.TestCase):

    def test_server_shutdown_ends_a_plain_script_69_with_a_message(self):
        """A script without --listen does not reconnect: the outage is an
        error, the waiting command says so, and the status is 69."""
        d = Daemon().start()
        c = None
        try:
            path = d.client_conf()
            c = Client(path)
            c.send("sign someone pw")
            c.expect("ok", "sign", "someone")
            c.expect("users")
            d.stop()
            self.assertEqual(c.wait(), 69)
            self.assertEqual(c.rest(), [])
            self.assertIn("server closed the session", c.stderr())
        finally:
            if c is not None:
                c.finish()
            d.cleanup()


def fake_login(link):
    """Handshake, then answers the AUTH with OK and an empty list."""
    link.accept()
    m = link.recv()
    assert m[0] == MSG_AUTH, m
    name = m[2:2 + m[1]]
    link.send(bytes([MSG_OK, MSG_AUTH, len(name)]) + name)
    link.send(bytes([MSG_USERS, 0]))


class OddServers(unittest.TestCase):
    """What the client does with a server that refuses, forges or stalls
    (a Python server, since the real one never does)."""

    def run_fake(self, script, text, **extra):
        srv = FakeServer(script)
        try:
            rc, recs, err = run_script(srv.client_conf(**extra), text)
        finally:
            srv.join()
        return rc, recs, err, srv

    def test_busy_server_is_unreachable_69(self):
        def script(link):
            link.hello()
            link.frame(b"\x00\x03")
        rc, recs, err, _ = self.run_fake(script, "auth a pw\n")
        self.assertEqual((rc, recs), (69, []))
        self.assertIn("busy", err)

    def test_unknown_version_reject_76(self):
        def script(link):
            link.hello()
            link.frame(b"\x00\x01")
        rc, recs, err, _ = self.run_fake(script, "auth a pw\n")
        self.assertEqual((rc, recs), (76, []))

    def test_welcome_that_does_not_open_stops_before_credentials(self):
        seen = {}

        def script(link):
            link.hello()
            link.frame(os.urandom(32) + os.urandom(30))
            seen["after"] = link.drain()
        rc, recs, err, _ = self.run_fake(script, "auth a secret\n")
        self.assertEqual((rc, recs), (76, []))
        self.assertIn("did not prove", err)
        self.assertEqual(seen["after"], b"", "nothing sent after HELLO")

    def test_forged_frame_breaks_the_channel_76(self):
        def script(link):
            fake_login(link)
            link.recv()                 # UDP
            link.frame(os.urandom(40))
            link.drain()
        rc, recs, err, _ = self.run_fake(script,
                                         "auth a pw\nlist\nlist\n")
        self.assertEqual(rc, 76)
        self.assertEqual(recs[:2], [("ok", "auth", "a"), ("users",)])
        self.assertIn("broken channel", err)

    def test_malformed_message_is_a_protocol_failure_76(self):
        def script(link):
            fake_login(link)
            link.send(b"\x99junk")
            link.drain()
        rc, recs, err, _ = self.run_fake(script, "auth a pw\nlist\n")
        self.assertEqual(rc, 76)
        self.assertIn("malformed message", err)

    def test_no_answer_to_a_login_69(self):
        def script(link):
            link.accept()
            link.recv()
            link.drain(4)
        rc, recs, err, _ = self.run_fake(script, "auth a pw\n",
                                         reply_timeout=1)
        self.assertEqual(rc, 69)
        self.assertEqual(recs, [("error", "auth",
                                 "no answer from the server")])

    def test_no_answer_to_the_handshake_69(self):
        def script(link):
            link.hello()
            link.drain(4)
        rc, recs, err, _ = self.run_fake(script, "auth a pw\n",
                                         reply_timeout=1)
        self.assertEqual((rc, recs), (69, []))
        self.assertIn("no answer to the handshake", err)

    def test_no_pair_key_within_pair_timeout(self):
        def script(link):
            fake_login(link)
            while True:
                m = link.recv()
                if m[0] == MSG_PAIR or m[0] == 7:
                    break
            link.drain(4)
        rc, recs, err, _ = self.run_fake(script, "auth a pw\nsend b hi\n",
                                         pair_timeout=1)
        self.assertEqual(rc, 1)
        self.assertEqual(recs, [("ok", "auth", "a"), ("users",),
                                ("error", "send", "no pair key for b")])

    def test_credentials_reach_a_good_server_only_inside_the_channel(self):
        seen = {}

        def script(link):
            link.accept()
            m = link.recv()
            seen["auth"] = m
            link.drain(1)
        srv = FakeServer(script)
        try:
            run_script(srv.client_conf(reply_timeout=1),
                       "auth a s3cret-pw\n")
        finally:
            srv.join()
        self.assertEqual(seen["auth"], bytes([MSG_AUTH, 1]) + b"a" +
                         b"\x00\x09s3cret-pw")


if __name__ == "__main__":
    sys.exit(main())
