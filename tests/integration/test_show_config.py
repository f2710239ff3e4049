# SPDX-License-Identifier: ISC
"""sealchatd -T against the real binary: it prints one "key: value" line for
every server key that sealchat.yaml(5) describes, in that order, with the
defaults and absolute paths; its output is a configuration file that gives
the same output again; it needs no key files; a bad file stops it with 78
and FILE:LINE; -t and -T exclude each other; -l ADDRESS[:PORT] replaces the
file's server_address and server_port (udp_port follows the port unless
the file sets it), and a bad one is 64.

Run by ctest with SEALCHATD and SEALCHAT_SRC set.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sealchat_harness import SEALCHATD, SRC  # noqa


def manual_server_keys():
    """The keys of SERVER KEYS in sealchat.yaml(5), in the page's order."""
    with open(os.path.join(SRC, "docs", "man", "sealchat.yaml.5.scd")) as f:
        page = f.read()
    sect = page.split("\n# SERVER KEYS\n", 1)[1].split("\n# ", 1)[0]
    return re.findall(r"^\*([a-z0-9_]+)\* \(", sect, re.M)


def parse(out):
    """[(key, value)] of -T's output; every line must be "key: value"."""
    pairs = []
    for line in out.splitlines():
        m = re.match(r"^([a-z0-9_]+): (.+)$", line)
        if m is None:
            raise AssertionError("not a key: value line: %r" % line)
        pairs.append((m.group(1), m.group(2)))
    return pairs


class ShowConfig(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="sealchat-T-"))
        self.addCleanup(shutil.rmtree, self.dir, True)

    def run_daemon(self, args, cwd=None):
        env = dict(os.environ)
        env.pop("STATE_DIRECTORY", None)
        env.pop("NOTIFY_SOCKET", None)
        p = subprocess.run([SEALCHATD] + list(args), cwd=cwd or self.dir,
                           env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_defaults_give_every_documented_key_once_in_order(self):
        rc, out, err = self.run_daemon(["-T"])
        self.assertEqual((rc, err), (0, ""))
        pairs = parse(out)
        self.assertEqual([k for k, _ in pairs], manual_server_keys())
        got = dict(pairs)
        self.assertEqual(got["server_address"], "127.0.0.1")
        self.assertEqual(got["server_port"], "10000")
        self.assertEqual(got["log_level"], "info")
        self.assertEqual(got["hash_cost"], "interactive")
        self.assertEqual(got["max_frame"], "65536")
        self.assertEqual(got["keepalive_timeout"], "45")
        # Without $STATE_DIRECTORY the files are in the working directory.
        self.assertEqual(got["server_public_key"],
                         os.path.join(self.dir, "server.pub"))
        self.assertEqual(got["data_base"],
                         os.path.join(self.dir, "sealchat.db"))
        # Nothing was made.
        self.assertEqual(os.listdir(self.dir), [])

    def test_output_is_a_file_that_gives_the_same_output(self):
        conf = self.write("etc/d.yaml",
                          "server_address: \"::1\"\n"
                          "server_public_key: keys/server.pub\n"
                          "server_private_key: ../state/server.key\n"
                          "data_base: 'a b/#1: x.db'\n"
                          "log_level: debug\n"
                          "hash_cost: min\n"
                          "keepalive_timeout: 65535\n")
        rc, out, err = self.run_daemon(["-T", "-c", conf])
        self.assertEqual((rc, err), (0, ""))
        got = dict(parse(out))
        self.assertEqual(got["server_address"], "\"::1\"")
        self.assertEqual(got["server_public_key"],
                         os.path.join(self.dir, "etc", "keys", "server.pub"))
        self.assertEqual(got["server_private_key"],
                         os.path.join(self.dir, "state", "server.key"))
        self.assertEqual(got["data_base"],
                         "\"%s\"" % os.path.join(self.dir, "etc",
                                                 "a b/#1: x.db"))
        self.assertEqual(got["log_level"], "debug")
        self.assertEqual(got["hash_cost"], "min")
        self.assertEqual(got["keepalive_timeout"], "65535")

        # Loaded from another folder, the printed file gives the same text.
        again = self.write("elsewhere/printed.yaml", out)
        rc, out2, err = self.run_daemon(["-T", "-c", again])
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out2, out)

        # So do the defaults.
        rc, out, err = self.run_daemon(["-T"])
        printed = self.write("defaults.yaml", out)
        rc, out2, err = self.run_daemon(["--show-config", "-c", printed],
                                        cwd="/")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out2, out)

    def test_key_files_need_not_exist(self):
        conf = self.write("d.yaml", "server_public_key: k.pub\n"
                          "server_private_key: k.key\ndata_base: x.db\n")
        rc, out, err = self.run_daemon(["-t", "-c", conf])
        self.assertEqual(rc, 78)
        rc, out, err = self.run_daemon(["-T", "-c", conf])
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("server_public_key: %s\n"
                      % os.path.join(self.dir, "k.pub"), out)
        self.assertEqual(sorted(os.listdir(self.dir)), ["d.yaml"])

    def test_bad_file_exits_78_with_file_and_line(self):
        conf = self.write("d.yaml", "server_port: 10000\n"
                          "keepalive_timeout: 65536\n")
        rc, out, err = self.run_daemon(["-T", "-c", conf])
        self.assertEqual((rc, out), (78, ""))
        self.assertIn("%s:2: keepalive_timeout: 65536 is out of range "
                      "2..65535" % conf, err)
        conf = self.write("d.yaml", "keepalive_interval: 30\n"
                          "keepalive_timeout: 20\n")
        rc, out, err = self.run_daemon(["-T", "-c", conf])
        self.assertEqual((rc, out), (78, ""))
        self.assertIn("keepalive_interval", err)
        rc, out, err = self.run_daemon(["-T", "-c",
                                        os.path.join(self.dir, "none")])
        self.assertEqual((rc, out), (78, ""))

    def test_l_replaces_the_listen_address_of_the_file(self):
        conf = self.write("l.yaml", "server_address: 127.0.0.1\n"
                          "server_port: 10000\n")
        for arg, want in (("127.0.0.2:4444", ("127.0.0.2", "4444")),
                          ("[::1]:4445", ('"::1"', "4445")),
                          ("0.0.0.0", ("0.0.0.0", "10000"))):
            rc, out, err = self.run_daemon(["-T", "-c", conf, "-l", arg])
            self.assertEqual(rc, 0, err)
            got = dict(parse(out))
            self.assertEqual((got["server_address"], got["server_port"]),
                             want, arg)
            self.assertEqual(got["udp_port"], want[1])
        # A udp_port the file sets stays.
        conf = self.write("u.yaml", "udp_port: 9999\n")
        rc, out, err = self.run_daemon(["-T", "-c", conf, "-l", "::1"])
        self.assertEqual(dict(parse(out))["udp_port"], "9999")
        for bad in ("127.0.0.1:0", "[::1", "host:port", ""):
            rc, out, err = self.run_daemon(["-T", "-l", bad])
            self.assertEqual((rc, out), (64, ""), bad)
            self.assertIn("-l", err)

    def test_t_and_T_exclude_each_other(self):
        rc, out, err = self.run_daemon(["-t", "-T"])
        self.assertEqual((rc, out), (64, ""))
        self.assertIn("usage:", err)
        rc, out, err = self.run_daemon(["--help"])
        self.assertEqual(rc, 0)
        self.assertIn("-T, --show-config", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
