/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/common/keys.c: the key file format, the first start
 * that makes the server's pair, and every kind of bad key file, each refused
 * with a message that names the file.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealchat/crypto.h"
#include "sealchat/keys.h"

#include "tmpdir.h"

/* A temporary folder and the key paths of one test. */
struct fixture {
	char	dir[PATH_MAX];
	char	state[PATH_MAX + 16];	/* dir/state, not made yet */
	char	pub[PATH_MAX + 32];	/* dir/state/server.pub */
	char	priv[PATH_MAX + 32];	/* dir/state/server.key */
	char	err[KEYS_ERR_MAX];
	struct sc_keypair kp;
};

/* Makes the folder; the key paths are in a folder not made yet. */
static int
setup(void **state)
{
	struct fixture	*f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	tmpdir_make(f->dir, "keys");
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->pub, sizeof(f->pub), "%s/server.pub", f->state);
	snprintf(f->priv, sizeof(f->priv), "%s/server.key", f->state);
	*state = f;
	return (0);
}

/* Frees the key pair and removes the folder. */
static int
teardown(void **state)
{
	struct fixture	*f = *state;

	sc_keypair_free(&f->kp);
	tmpdir_remove(f->dir);
	free(f);
	return (0);
}

static void	format(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* snprintf that fails the test when out is too small. */
static void
format(char *out, size_t len, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

/* Writes the key file text of len bytes of key material to path. */
static void
write_key(const char *path, const uint8_t *key, size_t len, mode_t mode)
{
	char	text[256];

	assert_true(sc_b64_len(len) + 1 < sizeof(text));
	sc_b64_encode(text, sizeof(text), key, len);
	strcat(text, "\n");
	tmpdir_write(path, text, strlen(text), mode);
}

/* Returns the permission bits of path. */
static unsigned
mode_of(const char *path)
{
	struct stat	sb;

	assert_int_equal(lstat(path, &sb), 0);
	return ((unsigned)(sb.st_mode & 07777));
}

/* Counts the entries of a folder, "." and ".." aside. */
static int
count_entries(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return (n);
}

/* Asserts that err starts with want. */
static void
assert_prefix(const char *err, const char *want)
{
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error is\n  %s\nexpected it to start with\n  %s", err,
		    want);
}

/* Makes the fixture's pair through a first start. */
static void
make_pair(struct fixture *f)
{
	int	created = -1;

	if (keys_server_load(&f->kp, f->pub, f->priv, &created, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(created, 1);
	assert_non_null(f->kp.sk);
}

/* Expects the fixture's pair to be refused with a message starting so. */
static void
expect_refused(struct fixture *f, const char *want)
{
	struct sc_keypair	kp;
	int			created = -1;

	assert_int_equal(keys_server_load(&kp, f->pub, f->priv, &created,
	    f->err), -1);
	assert_int_equal(created, 0);
	assert_null(kp.sk);
	assert_prefix(f->err, want);
	assert_int_equal(keys_server_check(&kp, f->pub, f->priv, f->err), -1);
	assert_prefix(f->err, want);
}

static void
test_parse_accepts_one_line_of_base64(void **state)
{
	uint8_t		 key[SC_KEY_BYTES], out[SC_KEY_BYTES];
	char		 b64[64], text[128];
	/* What goes before and after the key on its line. */
	const char	*forms[][2] = { { "", "\n" }, { "", "" },
	    { "  ", " \r\n" }, { "\n", "\n\n" }, { "\t", "\t" } };
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	sc_b64_encode(b64, sizeof(b64), key, sizeof(key));
	assert_int_equal(strlen(b64), 44);
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		memset(out, 0, sizeof(out));
		snprintf(text, sizeof(text), "%s%s%s", forms[i][0], b64,
		    forms[i][1]);
		assert_int_equal(keys_parse(out, text, strlen(text)), 0);
		assert_memory_equal(out, key, sizeof(key));
	}
}

static void
test_parse_refuses_anything_else(void **state)
{
	uint8_t	key[SC_KEY_BYTES + 1], out[SC_KEY_BYTES];
	char	b64[64], text[160];

	(void)state;
	memset(key, 0x5a, sizeof(key));
	sc_b64_encode(b64, sizeof(b64), key, SC_KEY_BYTES);

	assert_int_equal(keys_parse(out, "", 0), -1);
	assert_int_equal(keys_parse(out, "\n \n", 3), -1);
	assert_int_equal(keys_parse(out, NULL, 0), -1);
	/* Two copies on one line, or on two lines. */
	snprintf(text, sizeof(text), "%s %s\n", b64, b64);
	assert_int_equal(keys_parse(out, text, strlen(text)), -1);
	snprintf(text, sizeof(text), "%s\n%s\n", b64, b64);
	assert_int_equal(keys_parse(out, text, strlen(text)), -1);
	/* Padding missing. */
	snprintf(text, sizeof(text), "%.43s\n", b64);
	assert_int_equal(keys_parse(out, text, strlen(text)), -1);
	/* URL-safe alphabet and stray characters. */
	snprintf(text, sizeof(text), "%s\n", b64);
	text[0] = '-';
	assert_int_equal(keys_parse(out, text, strlen(text)), -1);
	text[0] = '*';
	assert_int_equal(keys_parse(out, text, strlen(text)), -1);
	/* A NUL inside. */
	snprintf(text, sizeof(text), "%s\n", b64);
	text[10] = '\0';
	assert_int_equal(keys_parse(out, text, 45), -1);
	/* 31 and 33 bytes. */
	sc_b64_encode(text, sizeof(text), key, SC_KEY_BYTES - 1);
	assert_int_equal(keys_parse(out, text, strlen(text)), -1);
	sc_b64_encode(text, sizeof(text), key, SC_KEY_BYTES + 1);
	assert_int_equal(keys_parse(out, text, strlen(text)), -1);
}

static void
test_first_start_creates_pair_with_safe_modes(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 pk[SC_KEY_BYTES];
	struct stat	 sb;
	mode_t		 old;

	/* A umask of 0 must not widen the private key, 077 not narrow pub. */
	old = umask(0);
	make_pair(f);
	umask(old);
	assert_int_equal(mode_of(f->state), 0700);
	assert_int_equal(mode_of(f->priv), 0600);
	assert_int_equal(mode_of(f->pub), 0644);
	/* Two files of one line each, no temporary file left behind. */
	assert_int_equal(count_entries(f->state), 2);
	assert_int_equal(stat(f->priv, &sb), 0);
	assert_int_equal(sb.st_size, 45);
	assert_int_equal(stat(f->pub, &sb), 0);
	assert_int_equal(sb.st_size, 45);
	assert_int_equal(keys_public_load(pk, f->pub, f->err), 0);
	assert_memory_equal(pk, f->kp.pk, SC_KEY_BYTES);

	sc_keypair_free(&f->kp);
	assert_int_equal(unlink(f->pub), 0);
	assert_int_equal(unlink(f->priv), 0);
	old = umask(077);
	make_pair(f);
	umask(old);
	assert_int_equal(mode_of(f->priv), 0600);
	assert_int_equal(mode_of(f->pub), 0644);
}

static void
test_reload_gives_the_same_key(void **state)
{
	struct fixture		*f = *state;
	struct sc_keypair	 kp;
	int			 created = -1;

	make_pair(f);
	if (keys_server_load(&kp, f->pub, f->priv, &created, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(created, 0);
	assert_memory_equal(kp.pk, f->kp.pk, SC_KEY_BYTES);
	assert_memory_equal(kp.sk, f->kp.sk, SC_KEY_BYTES);
	sc_keypair_free(&kp);
	/* The check of -t agrees, and created may be left out. */
	if (keys_server_check(&kp, f->pub, f->priv, f->err) != 0)
		fail_msg("%s", f->err);
	assert_memory_equal(kp.pk, f->kp.pk, SC_KEY_BYTES);
	sc_keypair_free(&kp);
	if (keys_server_load(&kp, f->pub, f->priv, NULL, f->err) != 0)
		fail_msg("%s", f->err);
	sc_keypair_free(&kp);
}

static void
test_existing_folder_keeps_its_mode(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(mkdir(f->state, 0755), 0);
	assert_int_equal(chmod(f->state, 0755), 0);
	make_pair(f);
	assert_int_equal(mode_of(f->state), 0755);
	assert_int_equal(mode_of(f->priv), 0600);
}

static void
test_check_never_creates(void **state)
{
	struct fixture		*f = *state;
	struct sc_keypair	 kp;
	char			 want[PATH_MAX + 64];

	assert_int_equal(keys_server_check(&kp, f->pub, f->priv, f->err), -1);
	format(want, sizeof(want), "%s: %s", f->priv, strerror(ENOENT));
	assert_prefix(f->err, want);
	assert_int_equal(access(f->state, F_OK), -1);
	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(keys_server_check(&kp, f->pub, f->priv, f->err), -1);
	assert_int_equal(count_entries(f->state), 0);
}

static void
test_only_one_file_present_is_refused(void **state)
{
	struct fixture	*f = *state;
	char		 want[2 * PATH_MAX + 64];

	make_pair(f);
	assert_int_equal(unlink(f->pub), 0);
	format(want, sizeof(want), "%s exists but %s is missing", f->priv,
	    f->pub);
	expect_refused(f, want);
	/* Nothing was made to fill the gap. */
	assert_int_equal(access(f->pub, F_OK), -1);
	assert_int_equal(count_entries(f->state), 1);

	write_key(f->pub, f->kp.pk, SC_KEY_BYTES, 0644);
	assert_int_equal(unlink(f->priv), 0);
	format(want, sizeof(want), "%s exists but %s is missing", f->pub,
	    f->priv);
	expect_refused(f, want);
	assert_int_equal(access(f->priv, F_OK), -1);
}

static void
test_private_key_open_to_group_or_others_is_refused(void **state)
{
	struct fixture		*f = *state;
	struct sc_keypair	 kp;
	const mode_t		 bad[] = { 0640, 0604, 0660, 0644, 0610, 0601 };
	char			 want[2 * PATH_MAX + 128];
	size_t			 i;

	make_pair(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(f->priv, bad[i]), 0);
		format(want, sizeof(want), "%s: private key is accessible "
		    "by group or others (mode %04o); run: chmod 600 %s",
		    f->priv, (unsigned)bad[i], f->priv);
		expect_refused(f, want);
		assert_string_equal(f->err, want);
	}
	/* Read-only for the owner is fine. */
	assert_int_equal(chmod(f->priv, 0400), 0);
	if (keys_server_check(&kp, f->pub, f->priv, f->err) != 0)
		fail_msg("%s", f->err);
	sc_keypair_free(&kp);
}

/*
 * A private key reached through a symbolic link is refused, and so is one
 * owned by another user (checked as root, who can give it away).
 */
static void
test_private_key_symlink_or_other_owner_is_refused(void **state)
{
	struct fixture		*f = *state;
	struct sc_keypair	 kp;
	char			 real[PATH_MAX + 32];
	char			 want[2 * PATH_MAX + 128];

	make_pair(f);
	format(real, sizeof(real), "%s/real.key", f->state);
	assert_int_equal(rename(f->priv, real), 0);
	assert_int_equal(symlink(real, f->priv), 0);
	format(want, sizeof(want), "%s: private key is a symbolic link; it "
	    "must be a file of its own", f->priv);
	expect_refused(f, want);
	assert_string_equal(f->err, want);
	assert_int_equal(unlink(f->priv), 0);
	assert_int_equal(rename(real, f->priv), 0);
	if (keys_server_check(&kp, f->pub, f->priv, f->err) != 0)
		fail_msg("%s", f->err);
	sc_keypair_free(&kp);

	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(f->priv, 65534, (gid_t)-1), 0);
	format(want, sizeof(want), "%s: private key is owned by uid 65534, "
	    "not by this user (uid 0); run: chown 0 %s", f->priv, f->priv);
	expect_refused(f, want);
	assert_string_equal(f->err, want);
	/* The public key may belong to anyone. */
	assert_int_equal(chown(f->priv, 0, (gid_t)-1), 0);
	assert_int_equal(chown(f->pub, 65534, (gid_t)-1), 0);
	if (keys_server_check(&kp, f->pub, f->priv, f->err) != 0)
		fail_msg("%s", f->err);
	sc_keypair_free(&kp);
}

static void
test_wrong_length_is_refused(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 key[64];
	char		 want[PATH_MAX + 64];

	make_pair(f);
	memset(key, 0x42, sizeof(key));
	write_key(f->pub, key, 16, 0644);
	format(want, sizeof(want), "%s: key is 16 bytes long, expected 32",
	    f->pub);
	expect_refused(f, want);
	write_key(f->priv, key, 33, 0600);
	format(want, sizeof(want), "%s: key is 33 bytes long, expected 32",
	    f->priv);
	expect_refused(f, want);
	/* The pinned public key of the client is held to the same rule. */
	write_key(f->pub, key, 31, 0644);
	assert_int_equal(keys_public_load(key, f->pub, f->err), -1);
	format(want, sizeof(want), "%s: key is 31 bytes long, expected 32",
	    f->pub);
	assert_string_equal(f->err, want);
}

static void
test_not_base64_is_refused(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 pk[SC_KEY_BYTES];
	char		 want[PATH_MAX + 64];

	make_pair(f);
	tmpdir_write(f->priv, "not a key at all\n", 17, 0600);
	format(want, sizeof(want), "%s: not a key file (expected one line "
	    "of base64)", f->priv);
	expect_refused(f, want);
	tmpdir_write(f->priv, "", 0, 0600);
	format(want, sizeof(want), "%s: key file is empty", f->priv);
	expect_refused(f, want);
	tmpdir_write(f->pub, "-----BEGIN PUBLIC KEY-----\n", 27, 0644);
	assert_int_equal(keys_public_load(pk, f->pub, f->err), -1);
	format(want, sizeof(want), "%s: not a key file", f->pub);
	assert_prefix(f->err, want);
}

static void
test_mismatched_pair_is_refused(void **state)
{
	struct fixture		*f = *state;
	struct sc_keypair	 other;
	char			 want[2 * PATH_MAX + 64];

	make_pair(f);
	assert_int_equal(sc_keypair_generate(&other), 0);
	write_key(f->pub, other.pk, SC_KEY_BYTES, 0644);
	sc_keypair_free(&other);
	format(want, sizeof(want), "%s does not match the private key in %s",
	    f->pub, f->priv);
	expect_refused(f, want);
}

static void
test_not_a_regular_file_is_refused(void **state)
{
	struct fixture	*f = *state;
	char		 want[PATH_MAX + 64];

	make_pair(f);
	assert_int_equal(unlink(f->priv), 0);
	assert_int_equal(mkdir(f->priv, 0700), 0);
	format(want, sizeof(want), "%s: not a regular file", f->priv);
	expect_refused(f, want);
	assert_int_equal(rmdir(f->priv), 0);
	/* A FIFO neither blocks nor passes. */
	write_key(f->priv, f->kp.sk, SC_KEY_BYTES, 0600);
	assert_int_equal(unlink(f->pub), 0);
	assert_int_equal(mkfifo(f->pub, 0644), 0);
	format(want, sizeof(want), "%s: not a regular file", f->pub);
	expect_refused(f, want);
}

static void
test_too_large_file_is_refused(void **state)
{
	struct fixture	*f = *state;
	char		 big[2000], want[PATH_MAX + 64];

	make_pair(f);
	memset(big, 'A', sizeof(big));
	tmpdir_write(f->priv, big, sizeof(big), 0600);
	format(want, sizeof(want), "%s: too large for a key file", f->priv);
	expect_refused(f, want);
}

static void
test_only_one_folder_level_is_made(void **state)
{
	struct fixture		*f = *state;
	struct sc_keypair	 kp;
	char			 pub[PATH_MAX + 64], priv[PATH_MAX + 64];
	char			 want[PATH_MAX + 64];

	snprintf(pub, sizeof(pub), "%s/a/b/server.pub", f->dir);
	snprintf(priv, sizeof(priv), "%s/a/b/server.key", f->dir);
	assert_int_equal(keys_server_load(&kp, pub, priv, NULL, f->err), -1);
	format(want, sizeof(want), "%s/a/b: cannot create the folder: ",
	    f->dir);
	assert_prefix(f->err, want);
	assert_int_equal(count_entries(f->dir), 0);
}

static void
test_public_load_names_a_missing_file(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 pk[SC_KEY_BYTES];
	char		 want[PATH_MAX + 64];

	assert_int_equal(keys_public_load(pk, f->pub, f->err), -1);
	format(want, sizeof(want), "%s: %s", f->pub, strerror(ENOENT));
	assert_string_equal(f->err, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts_one_line_of_base64),
		cmocka_unit_test(test_parse_refuses_anything_else),
		cmocka_unit_test_setup_teardown(
		    test_first_start_creates_pair_with_safe_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload_gives_the_same_key,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_existing_folder_keeps_its_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_never_creates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_only_one_file_present_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_private_key_symlink_or_other_owner_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_private_key_open_to_group_or_others_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_length_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_base64_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mismatched_pair_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_not_a_regular_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_too_large_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_only_one_folder_level_is_made, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_public_load_names_a_missing_file, setup, teardown),
	};

	if (sc_crypto_init() != 0)
		return (1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
