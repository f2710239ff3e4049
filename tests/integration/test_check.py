# SPDX-License-Identifier: ISC
"""sealchatd -t and --genkey as an operator uses them before the first start
and beside a running daemon, against the real binary: --genkey makes the
key pair that -t then passes with and the daemon starts with; -t finds what
start-up would fail on (a database in a missing folder, a file that is not
SQLite, an address the machine does not have, a key owned by the wrong
user) and says each; a fatal start-up error is logged once, at error.

Run: SEALCHATD=... /usr/bin/python3 THIS_FILE
"""

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import (SEALCHATD, Daemon, free_port, main,  # noqa
                              needs_root)

FPR = re.compile(r"^fingerprint (SHA256:[A-Za-z0-9+/]{43})$", re.M)


class Check(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="sealchat-t-"))
        self.addCleanup(shutil.rmtree, self.dir, True)

    def conf(self, text, name="sealchatd.yaml", keys="",
             db="sealchat.db"):
        """Writes a configuration with the key pair in the folder keys (of
        the test's folder), the database db, and text after; returns its
        path."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("server_port: %d\nhash_cost: min\n"
                    "server_public_key: %sserver.pub\n"
                    "server_private_key: %sserver.key\n"
                    "data_base: %s\n"
                    "control_socket: sealchatd.sock\n%s"
                    % (free_port(), keys, keys, db, text))
        return path

    def daemon(self, *args):
        env = dict(os.environ)
        for k in ("STATE_DIRECTORY", "RUNTIME_DIRECTORY", "NOTIFY_SOCKET"):
            env.pop(k, None)
        p = subprocess.run([SEALCHATD] + list(args), cwd=self.dir, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_genkey_before_the_first_start_then_t_passes(self):
        """Before the first start -t fails and names --genkey; --genkey
        makes the pair (private key 0600), prints its fingerprint, and
        leaves a whole pair alone when run again; -t then passes with that
        fingerprint, and the daemon starts with it."""
        path = self.conf("")
        rc, out, err = self.daemon("-t", "-c", path)
        self.assertEqual(rc, 78)
        self.assertIn("sealchatd --genkey", err)
        key = os.path.join(self.dir, "server.key")
        self.assertFalse(os.path.exists(key))

        rc, out, err = self.daemon("--genkey", "-c", path)
        self.assertEqual((rc, err), (0, ""))
        self.assertTrue(out.startswith("new key pair\n"), out)
        fpr = FPR.search(out).group(1)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        with open(key) as f:
            secret = f.read()

        rc, out, err = self.daemon("--genkey", "-c", path)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("key pair exists, unchanged\n"))
        self.assertEqual(FPR.search(out).group(1), fpr)
        with open(key) as f:
            self.assertEqual(f.read(), secret)

        rc, out, err = self.daemon("-t", "-c", path)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "configuration ok\nfingerprint %s\n" % fpr)

        d = Daemon()
        d.dir = self.dir
        d.start()
        try:
            self.assertIn("fingerprint=%s created=0" % fpr, d.log_text())
            rc, out, err = self.daemon("-t", "-c", d.path)
            self.assertEqual(rc, 0, "beside the running daemon: " + err)
        finally:
            d.stop()

        os.unlink(os.path.join(self.dir, "server.pub"))
        rc, out, err = self.daemon("--genkey", "-c", path)
        self.assertEqual(rc, 78)
        self.assertIn("server.pub is missing", err)

    def test_t_finds_what_start_up_would_fail_on(self):
        """-t says, one line each and all at once, what would stop the
        start: a database in a missing folder, an address the machine does
        not have, a metrics address likewise, an unknown control group;
        then a database file that is not SQLite.  Exit 78."""
        path = self.conf('server_address: 192.0.2.1\n'
                         'metrics_address: "192.0.2.1:9187"\n'
                         'control_group: no-such-group-here\n',
                         name="bad.yaml", db="nowhere/sealchat.db")
        # The keys come from --genkey on a good file of the same paths.
        good = self.conf("")
        self.assertEqual(self.daemon("--genkey", "-c", good)[0], 0)
        rc, out, err = self.daemon("-t", "-c", path)
        self.assertEqual((rc, out), (78, ""))
        lines = err.splitlines()
        self.assertEqual(len(lines), 4, err)
        self.assertRegex(lines[0], r"^sealchatd: data_base .*/nowhere/"
                         r"sealchat\.db: the folder .*/nowhere: No such "
                         r"file or directory$")
        self.assertEqual(lines[1], "sealchatd: server_address 192.0.2.1: "
                         "Cannot assign requested address (not an address "
                         "of this machine)")
        self.assertEqual(lines[2], "sealchatd: metrics_address "
                         "192.0.2.1:9187: Cannot assign requested address")
        self.assertEqual(lines[3], "sealchatd: control_group "
                         "no-such-group-here: no such group")

        with open(os.path.join(self.dir, "sealchat.db"), "w") as f:
            f.write("not a database\n" * 100)
        rc, out, err = self.daemon("-t", "-c", good)
        self.assertEqual(rc, 78)
        self.assertIn("data_base %s/sealchat.db: not an SQLite database"
                      % self.dir, err)
        # And an empty file is a database still to be made.
        open(os.path.join(self.dir, "sealchat.db"), "w").close()
        self.assertEqual(self.daemon("-t", "-c", good)[0], 0)

    @needs_root("to own files as another user")
    def test_keys_follow_the_owner_of_their_folder(self):
        """In a folder of another user (as systemd's StateDirectory= is the
        service's), --genkey run by root gives the pair to that user, -t
        run by root passes on it (the owner rule: the folder's owner is the
        user the daemon runs as there), and refuses a key there that root
        owns, saying how to fix it."""
        keys = os.path.join(self.dir, "keys")
        os.mkdir(keys, 0o700)
        os.chown(keys, 65534, 65534)
        path = self.conf("", keys="keys/")
        rc, out, err = self.daemon("--genkey", "-c", path)
        self.assertEqual(rc, 0, err)
        for name in ("server.key", "server.pub"):
            st = os.stat(os.path.join(keys, name))
            self.assertEqual((st.st_uid, st.st_gid), (65534, 65534))
        self.assertEqual(self.daemon("-t", "-c", path)[0], 0)
        key = os.path.join(keys, "server.key")
        os.chown(key, 0, 0)
        rc, out, err = self.daemon("-t", "-c", path)
        self.assertEqual(rc, 78)
        self.assertIn("%s: private key is owned by uid 0, but its folder "
                      "by uid 65534, the user the daemon runs as there; "
                      "run: chown 65534:65534 %s" % (key, key), err)
        # The public key is held to the same rule by -t.
        os.chown(key, 65534, 65534)
        pub = os.path.join(keys, "server.pub")
        os.chown(pub, 0, 0)
        rc, out, err = self.daemon("-t", "-c", path)
        self.assertEqual(rc, 78)
        self.assertIn("server_public_key %s: owned by uid 0, but its "
                      "folder by uid 65534" % pub, err)
        self.assertIn("chown 65534:65534 %s" % pub, err)


class StartErrors(unittest.TestCase):
    def test_fatal_start_errors_are_logged_once_at_error(self):
        """A port in use and a database in a missing folder stop the start
        with one line at level error, which names the path once."""
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        tmp = os.path.realpath(tempfile.mkdtemp(prefix="sealchat-se-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        try:
            for text, status, want in (
                    ("server_port: %d\n" % port, 69,
                     "listen on 127.0.0.1 port %d: Address already in use"
                     % port),
                    ("server_port: %d\ndata_base: gone/x.db\n"
                     % free_port(), 78,
                     "database %s/gone/x.db: No such file or directory"
                     % tmp)):
                with open(os.path.join(tmp, "c.yaml"), "w") as f:
                    f.write("hash_cost: min\n" + text)
                p = subprocess.run([SEALCHATD, "-c", "c.yaml"], cwd=tmp,
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True,
                                   timeout=60)
                self.assertEqual(p.returncode, status, p.stderr)
                errors = [l for l in p.stderr.splitlines()
                          if " error: " in l]
                self.assertEqual(len(errors), 1, p.stderr)
                self.assertTrue(errors[0].endswith("error: " + want),
                                errors[0])
                self.assertNotIn(" warn: ", p.stderr.replace(
                    "readable by group", ""))
        finally:
            holder.close()


if __name__ == "__main__":
    sys.exit(main())
