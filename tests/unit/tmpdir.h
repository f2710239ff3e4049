/* SPDX-License-Identifier: ISC */
/*
 * A temporary folder for the unit tests that work on files: made fresh for
 * a test under /tmp with its canonical path (so that the paths the code
 * builds from it compare as strings), filled with tmpdir_write(), and
 * removed with all it holds.  /tmp rather than $TMPDIR keeps a socket's
 * path in the folder within sun_path.  Included after <cmocka.h> by the
 * tests that need it; each test is one program, and not every one uses
 * every function.
 */
#ifndef SEALCHAT_TEST_TMPDIR_H
#define SEALCHAT_TEST_TMPDIR_H

#include <sys/types.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void	tmpdir_make(char *, const char *) __attribute__((unused));
static void	tmpdir_remove(const char *) __attribute__((unused));
static void	tmpdir_write(const char *, const char *, size_t, mode_t)
		    __attribute__((unused));

/*
 * Makes the folder /tmp/sealchat-test-NAME-XXXXXX and puts its canonical
 * path in dir (PATH_MAX bytes); fails the test when it cannot.
 */
static void
tmpdir_make(char *dir, const char *name)
{
	char	tmpl[PATH_MAX];
	int	n;

	n = snprintf(tmpl, sizeof(tmpl), "/tmp/sealchat-test-%s-XXXXXX",
	    name);
	assert_true(n > 0 && (size_t)n < sizeof(tmpl));
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, dir));
}

/* Removes one entry during the walk of tmpdir_remove(). */
static int
tmpdir_remove_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path) == 0 ? 0 : -1);
}

/* Removes dir and everything in it; fails the test when it cannot. */
static void
tmpdir_remove(const char *dir)
{
	if (nftw(dir, tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fail_msg("could not remove %s", dir);
}

/* Writes len bytes of text to path, a new file with the given mode. */
static void
tmpdir_write(const char *path, const char *text, size_t len, mode_t mode)
{
	int	fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd != -1);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

#endif
