/* SPDX-License-Identifier: ISC */
/*
 * The fixture of the configuration tests (test_conf.c, the loader, and
 * test_config.c, the rows): a temporary folder holding sealchatd.yaml and
 * the daemon's settings at their defaults, with the helpers both use to
 * load a text and to check an error.  Included after <cmocka.h>; not every
 * test uses every function.
 */
#ifndef SEALCHAT_TEST_CONF_FIXTURE_H
#define SEALCHAT_TEST_CONF_FIXTURE_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealchat/conf.h"
#include "server/config.h"

#include "tmpdir.h"

/* A temporary folder (canonical path) holding the files of one test. */
struct conf_fixture {
	char	dir[PATH_MAX];
	char	file[PATH_MAX + 32];	/* dir/sealchatd.yaml */
	char	err[CONF_ERR_MAX];
	struct server_conf sc;
};

static int	conf_fixture_setup(void **) __attribute__((unused));
static int	conf_fixture_teardown(void **) __attribute__((unused));
static int	conf_fixture_load(struct conf_fixture *, const char *)
		    __attribute__((unused));
static void	conf_fixture_assert_error(struct conf_fixture *, int,
		    const char *) __attribute__((unused));
static char	*conf_fixture_print(const struct conf_key *, const void *)
		    __attribute__((unused));

/* A test run in the fixture. */
#define CONF_FIXTURE_TEST(test)						\
	cmocka_unit_test_setup_teardown(test, conf_fixture_setup,	\
	    conf_fixture_teardown)

/* Makes the folder; the settings start at the daemon's defaults. */
static int
conf_fixture_setup(void **state)
{
	struct conf_fixture	*f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	tmpdir_make(f->dir, "conf");
	snprintf(f->file, sizeof(f->file), "%s/sealchatd.yaml", f->dir);
	server_config_defaults(&f->sc);
	*state = f;
	return (0);
}

/* Removes the folder with all it holds. */
static int
conf_fixture_teardown(void **state)
{
	struct conf_fixture	*f = *state;

	tmpdir_remove(f->dir);
	free(f);
	return (0);
}

/* Writes text as the fixture's file and loads it with the server rows. */
static int
conf_fixture_load(struct conf_fixture *f, const char *text)
{
	tmpdir_write(f->file, text, strlen(text), 0644);
	return (conf_load(f->file, server_config_rows, &f->sc, f->err));
}

/* Asserts err is exactly "FILE:LINE: " followed by text starting with msg. */
static void
conf_fixture_assert_error(struct conf_fixture *f, int line, const char *msg)
{
	char	want[CONF_ERR_MAX + PATH_MAX];

	snprintf(want, sizeof(want), "%s:%d: %s", f->file, line, msg);
	if (strncmp(f->err, want, strlen(want)) != 0)
		fail_msg("error is\n  %s\nexpected it to start with\n  %s",
		    f->err, want);
}

/* What conf_print() writes of conf (malloc'd, NUL-terminated). */
static char *
conf_fixture_print(const struct conf_key *rows, const void *conf)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f;

	assert_non_null(f = open_memstream(&text, &len));
	assert_int_equal(conf_print(f, rows, conf), 0);
	fclose(f);
	return (text);
}

#endif
