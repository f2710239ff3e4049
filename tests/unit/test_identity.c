/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/client/identity.c: the identity key made once per
 * user and server (mode 0600) and read again; known_peers pinning on
 * first use, a changed key kept aside and not trusted until identity_trust,
 * the file written whole and read back, every damaged line refused with
 * its number; safety numbers equal both ways, known answers of an
 * independent implementation, and different for any other key or name.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"

#include "identity.h"
#include "tmpdir.h"
#include "vectors.h"

/* A temporary data folder per test. */
struct fixture {
	char	dir[PATH_MAX];
	uint8_t	server[SC_KEY_BYTES];
};

/* Makes the data folder and a server key. */
static int
fixture_setup(void **state)
{
	static struct fixture	f;

	memset(&f, 0, sizeof(f));
	tmpdir_make(f.dir, "identity");
	memcpy(f.server, kat_S, SC_KEY_BYTES);
	*state = &f;
	return (0);
}

/* Removes the data folder. */
static int
fixture_teardown(void **state)
{
	struct fixture	*f = *state;

	tmpdir_remove(f->dir);
	return (0);
}

/* Opens alice's identity in the fixture's folder, or fails the test. */
static struct identity *
open_alice(struct fixture *f)
{
	struct identity	*id;
	char		 err[512];

	id = identity_open(f->dir, f->server, "alice", err, sizeof(err));
	if (id == NULL)
		fail_msg("identity_open: %s", err);
	return (id);
}

/* The key file's path: DATA/SERVER/alice/identity. */
static void
key_path(const struct identity *id, char out[PATH_MAX], const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", identity_dir(id), name);
}

/* Made once (0600, in a 0700 folder per server), then read again. */
static void
test_identity_key_made_once_private_and_per_server(void **state)
{
	struct fixture	*f = *state;
	struct identity	*a, *b, *c;
	struct stat	 sb;
	char		 path[PATH_MAX], err[512];
	uint8_t		 pk[SC_KEY_BYTES];

	a = open_alice(f);
	assert_true(identity_created(a));
	memcpy(pk, identity_keypair(a)->pk, SC_KEY_BYTES);
	key_path(a, path, "identity");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(identity_dir(a), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	/* The folder is named by the server key's URL-safe fingerprint. */
	assert_non_null(strstr(identity_dir(a),
	    "/qqj_9wO1CyKX9PbhNQj3JCDZb9Aeu4TLB0RJyq72QEE/alice"));
	identity_free(a);
	b = open_alice(f);
	assert_false(identity_created(b));
	assert_memory_equal(identity_keypair(b)->pk, pk, SC_KEY_BYTES);
	identity_free(b);
	/* Another server: another key. */
	f->server[0] ^= 1;
	c = open_alice(f);
	assert_true(identity_created(c));
	assert_memory_not_equal(identity_keypair(c)->pk, pk, SC_KEY_BYTES);
	identity_free(c);
	/* A key file others can read is refused. */
	assert_int_equal(chmod(path, 0644), 0);
	f->server[0] ^= 1;
	assert_null(identity_open(f->dir, f->server, "alice", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(identity_open(f->dir, f->server, "Alice", err,
	    sizeof(err)));
}

/* First use pins; the same key is known; another is a change kept aside. */
static void
test_identity_pins_on_first_use_and_keeps_changes_aside(void **state)
{
	struct fixture	*f = *state;
	struct identity	*a;
	uint8_t		 k1[SC_KEY_BYTES], k2[SC_KEY_BYTES];
	uint8_t		 got[SC_KEY_BYTES];
	char		 err[256];

	sc_random(k1, sizeof(k1));
	sc_random(k2, sizeof(k2));
	a = open_alice(f);
	assert_int_equal(identity_key(a, "bob", got), -1);
	assert_int_equal(identity_trust(a, "bob", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no key of bob"));
	assert_false(identity_differs(a, "bob", k1));
	assert_int_equal(identity_seen(a, "bob", k1, err, sizeof(err)),
	    IDENTITY_NEW);
	assert_int_equal(identity_seen(a, "bob", k1, err, sizeof(err)),
	    IDENTITY_KNOWN);
	assert_false(identity_differs(a, "bob", k1));
	assert_true(identity_differs(a, "bob", k2));
	assert_false(identity_changed(a, "bob"));
	assert_int_equal(identity_trust(a, "bob", err, sizeof(err)), 0);
	assert_int_equal(identity_seen(a, "bob", k2, err, sizeof(err)),
	    IDENTITY_CHANGED);
	assert_true(identity_changed(a, "bob"));
	/* The key to verify is the new one; the pin stays until trusted. */
	assert_int_equal(identity_key(a, "bob", got), 0);
	assert_memory_equal(got, k2, SC_KEY_BYTES);
	identity_free(a);
	a = open_alice(f);
	assert_false(identity_changed(a, "bob"));
	assert_int_equal(identity_key(a, "bob", got), 0);
	assert_memory_equal(got, k1, SC_KEY_BYTES);
	assert_int_equal(identity_seen(a, "bob", k2, err, sizeof(err)),
	    IDENTITY_CHANGED);
	/* The pinned key coming back makes the change moot. */
	assert_int_equal(identity_seen(a, "bob", k1, err, sizeof(err)),
	    IDENTITY_KNOWN);
	assert_false(identity_changed(a, "bob"));
	assert_int_equal(identity_seen(a, "bob", k2, err, sizeof(err)),
	    IDENTITY_CHANGED);
	assert_int_equal(identity_trust(a, "bob", err, sizeof(err)), 1);
	assert_false(identity_changed(a, "bob"));
	identity_free(a);
	a = open_alice(f);
	assert_int_equal(identity_key(a, "bob", got), 0);
	assert_memory_equal(got, k2, SC_KEY_BYTES);
	assert_int_equal(identity_seen(a, "bob", k2, err, sizeof(err)),
	    IDENTITY_KNOWN);
	identity_free(a);
}

/* known_peers: written sorted, mode 0600, and read back whole. */
static void
test_identity_known_peers_written_and_read_back(void **state)
{
	struct fixture	*f = *state;
	struct identity	*a;
	struct stat	 sb;
	char		 path[PATH_MAX], err[256], name[16];
	uint8_t		 k[SC_KEY_BYTES], got[SC_KEY_BYTES];
	int		 i;

	a = open_alice(f);
	for (i = 40; i >= 0; i--) {
		memset(k, i + 1, sizeof(k));
		snprintf(name, sizeof(name), "peer%02d", i);
		assert_int_equal(identity_seen(a, name, k, err, sizeof(err)),
		    IDENTITY_NEW);
	}
	key_path(a, path, "known_peers");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	identity_free(a);
	a = open_alice(f);
	for (i = 0; i <= 40; i++) {
		snprintf(name, sizeof(name), "peer%02d", i);
		assert_int_equal(identity_key(a, name, got), 0);
		memset(k, i + 1, sizeof(k));
		assert_memory_equal(got, k, SC_KEY_BYTES);
	}
	identity_free(a);
}

/* Each kind of damage is refused with its line; the pins stay as they were. */
static void
test_identity_damaged_known_peers_refused_with_its_line(void **state)
{
	static const struct {
		const char	*text;
		const char	*why;
	} bad[] = {
		{ "bob\n", "1: expected NAME KEY" },
		{ "# c\nBob AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		    "2: not a user name" },
		{ "bob AAAA\n", "1: not the base64" },
		{ "bob AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "1: no "
		    "newline" },
		{ "bob  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		    "1: not the base64" },
		{ "bob AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
		    "bob AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		    "3: bob is listed twice" },
	};
	struct fixture	*f = *state;
	struct identity	*a;
	static const char good[] = "# none\n\ncarol "
	    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";
	char		 path[PATH_MAX], err[512];
	uint8_t		 got[SC_KEY_BYTES];
	size_t		 i;

	a = open_alice(f);
	key_path(a, path, "known_peers");
	assert_int_equal(identity_parse(a, good, strlen(good), err,
	    sizeof(err)), 0);
	assert_int_equal(identity_key(a, "carol", got), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(identity_parse(a, bad[i].text,
		    strlen(bad[i].text), err, sizeof(err)), -1);
		if (strncmp(err, bad[i].why, strlen(bad[i].why)) != 0)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(identity_key(a, "carol", got), 0);
	}
	identity_free(a);
	/* On disk, the login stops with the file and the line. */
	tmpdir_write(path, bad[0].text, strlen(bad[0].text), 0600);
	assert_null(identity_open(f->dir, f->server, "alice", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "known_peers:1: expected NAME KEY"));
}

/* The known answers, and the same number from either side. */
static void
test_identity_safety_number_known_answers_both_ways(void **state)
{
	char	ab[IDENTITY_NUMBER_LEN], ba[IDENTITY_NUMBER_LEN];

	(void)state;
	assert_int_equal(identity_number(ab, "alice", kat_phs_S_i, "bob",
	    kat_phs_S_r), 0);
	assert_string_equal(ab, kat_safety);
	assert_int_equal(identity_number(ba, "bob", kat_phs_S_r, "alice",
	    kat_phs_S_i), 0);
	assert_string_equal(ba, kat_safety);
	assert_int_equal(strlen(ab), 71);
	assert_int_equal(identity_number(ab, "alice", kat_phs_S_i, "alice",
	    kat_phs_S_i), 0);
	assert_string_equal(ab, kat_safety_self);
}

/* Another key on either side, or another name, gives another number. */
static void
test_identity_safety_number_differs_for_any_other_key(void **state)
{
	char	n0[IDENTITY_NUMBER_LEN], n1[IDENTITY_NUMBER_LEN];
	uint8_t	k[SC_KEY_BYTES];

	(void)state;
	assert_int_equal(identity_number(n0, "alice", kat_phs_S_i, "bob",
	    kat_phs_S_r), 0);
	memcpy(k, kat_phs_S_r, sizeof(k));
	k[31] ^= 0x01;
	assert_int_equal(identity_number(n1, "alice", kat_phs_S_i, "bob", k),
	    0);
	assert_string_not_equal(n0, n1);
	memcpy(k, kat_phs_S_i, sizeof(k));
	k[0] ^= 0x80;
	assert_int_equal(identity_number(n1, "alice", k, "bob", kat_phs_S_r),
	    0);
	assert_string_not_equal(n0, n1);
	assert_int_equal(identity_number(n1, "alicf", kat_phs_S_i, "bob",
	    kat_phs_S_r), 0);
	assert_string_not_equal(n0, n1);
	/* The keys swapped between the names: not the same pair. */
	assert_int_equal(identity_number(n1, "alice", kat_phs_S_r, "bob",
	    kat_phs_S_i), 0);
	assert_string_not_equal(n0, n1);
}

/* Runs every test of this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_identity_key_made_once_private_and_per_server,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_pins_on_first_use_and_keeps_changes_aside,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_known_peers_written_and_read_back,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_damaged_known_peers_refused_with_its_line,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test(
		    test_identity_safety_number_known_answers_both_ways),
		cmocka_unit_test(
		    test_identity_safety_number_differs_for_any_other_key),
	};

	log_init("test_identity", LOG_LVL_ERROR);
	return (cmocka_run_group_tests(tests, vectors_group_setup, NULL));
}
