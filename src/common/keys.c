/* SPDX-License-Identifier: ISC */
/*
 * Key files: one line of standard base64 of the 32 key bytes and a newline.
 *
 * The daemon's pair is made on first start when neither file exists.  Each
 * file is written to a fresh temporary name in its own folder (O_EXCL, so
 * nothing planted there is followed or reused), fsync'd, renamed into place,
 * and the folder fsync'd, so that a crash leaves either no file or a whole
 * one.  The private key goes first: a pair is only complete once the public
 * key exists, and a half-made pair is taken back.  A client's identity key
 * is one private key file, made the same way at the first login of a user
 * on the device; its public key is derived from it.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealchat/crypto.h"
#include "sealchat/keys.h"
#include "sealchat/util.h"

#define KEYS_FILE_MAX	1024	/* bytes read from a key file */
#define KEYS_TMP_TRIES	8

enum keys_bad {
	KEYS_OK = 0,
	KEYS_EMPTY,
	KEYS_NOT_B64,
	KEYS_BAD_LEN,
};

static void	keys_error(char *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Formats an error message into err (KEYS_ERR_MAX bytes, truncated). */
static void
keys_error(char *err, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, KEYS_ERR_MAX, fmt, ap);
	va_end(ap);
}

/* Tells whether c is space, tab, CR or LF. */
static int
keys_is_space(char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/*
 * Decodes the text of a key file into key.  Whitespace around the line is
 * tolerated; anything else but base64 of exactly 32 bytes is refused.  On
 * KEYS_BAD_LEN, *got holds the decoded length.
 */
static enum keys_bad
keys_decode(uint8_t key[SC_KEY_BYTES], const char *buf, size_t len,
    size_t *got)
{
	uint8_t		tmp[KEYS_FILE_MAX];
	size_t		i, n = 0;
	enum keys_bad	rc;

	*got = 0;
	while (len > 0 && keys_is_space(buf[0])) {
		buf++;
		len--;
	}
	while (len > 0 && keys_is_space(buf[len - 1]))
		len--;
	if (len == 0)
		return (KEYS_EMPTY);
	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		    c == '='))
			return (KEYS_NOT_B64);
	}
	/* Decode into a large buffer so that a wrong length is reported. */
	if (len > sizeof(tmp) / 3 * 4 ||
	    sc_b64_decode(tmp, sizeof(tmp), &n, buf, len) != 0) {
		rc = KEYS_NOT_B64;
		goto out;
	}
	if (n != SC_KEY_BYTES) {
		*got = n;
		rc = KEYS_BAD_LEN;
		goto out;
	}
	memcpy(key, tmp, SC_KEY_BYTES);
	rc = KEYS_OK;
out:
	sc_wipe(tmp, sizeof(tmp));
	return (rc);
}

/* Parses the text of a key file; 0 or -1. */
int
keys_parse(uint8_t key[SC_KEY_BYTES], const char *buf, size_t len)
{
	size_t	got;

	if (buf == NULL)
		return (-1);
	return (keys_decode(key, buf, len, &got) == KEYS_OK ? 0 : -1);
}

/* The owner of path's folder when it is a user other than root. */
int
keys_folder_owner(const char *path, uid_t *uid, gid_t *gid)
{
	struct stat	sb;
	char		dir[PATH_MAX];

	if (util_dirname(dir, sizeof(dir), path) != 0 ||
	    stat(dir, &sb) != 0 || sb.st_uid == 0)
		return (-1);
	*uid = sb.st_uid;
	*gid = sb.st_gid;
	return (0);
}

/*
 * The owner rule for a private key (keys.h): 0, or -1 with a message that
 * says whom the key must belong to and how to give it.
 */
static int
keys_owner_ok(const char *path, const struct stat *sb,
    char err[KEYS_ERR_MAX])
{
	uid_t	uid;
	gid_t	gid;

	if (keys_folder_owner(path, &uid, &gid) == 0) {
		if (sb->st_uid == uid)
			return (0);
		keys_error(err, "%s: private key is owned by uid %lu, but its "
		    "folder by uid %lu, the user the daemon runs as there; "
		    "run: chown %lu:%lu %s", path, (unsigned long)sb->st_uid,
		    (unsigned long)uid, (unsigned long)uid,
		    (unsigned long)gid, path);
		return (-1);
	}
	if (sb->st_uid == geteuid())
		return (0);
	keys_error(err, "%s: private key is owned by uid %lu, not by this "
	    "user (uid %lu); run: chown %lu %s", path,
	    (unsigned long)sb->st_uid, (unsigned long)geteuid(),
	    (unsigned long)geteuid(), path);
	return (-1);
}

/*
 * Reads a key file into buf (KEYS_FILE_MAX + 1 bytes).  A private key must
 * be a regular file of its own, not a symbolic link (which whoever may
 * write its folder could point elsewhere), owned by the user the owner
 * rule names (another owner could change its mode, or read it already),
 * with no permission for group or others.
 */
static int
keys_read(const char *path, int private, char *buf, size_t *lenp,
    char err[KEYS_ERR_MAX])
{
	struct stat	sb;
	size_t		len = 0;
	int		fd, rc = -1;

	/* O_NONBLOCK: opening a FIFO must not hang start-up. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    (private ? O_NOFOLLOW : 0));
	if (fd == -1 && private && errno == ELOOP) {
		keys_error(err, "%s: private key is a symbolic link; it must "
		    "be a file of its own", path);
		return (-1);
	}
	if (fd == -1) {
		keys_error(err, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) == -1) {
		keys_error(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		keys_error(err, "%s: not a regular file", path);
		goto out;
	}
	if (private && keys_owner_ok(path, &sb, err) != 0)
		goto out;
	if (private && (sb.st_mode & 077) != 0) {
		keys_error(err, "%s: private key is accessible by "
		    "group or others (mode %04o); run: chmod 600 %s", path,
		    (unsigned)(sb.st_mode & 07777), path);
		goto out;
	}
	if (sb.st_size > KEYS_FILE_MAX) {
		keys_error(err, "%s: too large for a key file "
		    "(%lld bytes, at most %d)", path, (long long)sb.st_size,
		    KEYS_FILE_MAX);
		goto out;
	}
	if (util_read_fd(fd, buf, KEYS_FILE_MAX + 1, &len) == -1) {
		keys_error(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (len > KEYS_FILE_MAX) {
		keys_error(err, "%s: too large for a key file "
		    "(more than %d bytes)", path, KEYS_FILE_MAX);
		goto out;
	}
	*lenp = len;
	rc = 0;
out:
	close(fd);
	return (rc);
}

/* Loads one key file into key; the error names the file. */
static int
keys_load_one(uint8_t key[SC_KEY_BYTES], const char *path, int private,
    char err[KEYS_ERR_MAX])
{
	char	buf[KEYS_FILE_MAX + 1];
	size_t	len = 0, got;
	int	rc = -1;

	if (keys_read(path, private, buf, &len, err) == -1)
		goto out;
	switch (keys_decode(key, buf, len, &got)) {
	case KEYS_OK:
		rc = 0;
		break;
	case KEYS_EMPTY:
		keys_error(err, "%s: key file is empty", path);
		break;
	case KEYS_NOT_B64:
		keys_error(err, "%s: not a key file (expected one "
		    "line of base64)", path);
		break;
	case KEYS_BAD_LEN:
		keys_error(err, "%s: key is %zu bytes long, "
		    "expected %d", path, got, SC_KEY_BYTES);
		break;
	}
out:
	sc_wipe(buf, sizeof(buf));
	return (rc);
}

/* Sets *exists for path (a dangling link counts as existing). */
static int
keys_exists(const char *path, int *exists, char err[KEYS_ERR_MAX])
{
	struct stat	sb;

	if (lstat(path, &sb) == 0) {
		*exists = 1;
		return (0);
	}
	if (errno == ENOENT) {
		*exists = 0;
		return (0);
	}
	keys_error(err, "%s: %s", path, strerror(errno));
	return (-1);
}

/* Copies the folder part of path into dir ("." when there is none). */
static int
keys_dirname(char dir[PATH_MAX], const char *path)
{
	return (util_dirname(dir, PATH_MAX, path));
}

/* Creates the folder of path (one level, mode 0700) when it is missing. */
static int
keys_mkparent(const char *path, char err[KEYS_ERR_MAX])
{
	char	dir[PATH_MAX];

	if (keys_dirname(dir, path) == -1) {
		keys_error(err, "%s: %s", path,
		    strerror(ENAMETOOLONG));
		return (-1);
	}
	if (util_mkdirs(dir, 0) == -1) {
		if (errno == ENOTDIR)
			keys_error(err, "%s: not a folder", dir);
		else
			keys_error(err, "%s: cannot create the folder: %s",
			    dir, strerror(errno));
		return (-1);
	}
	return (0);
}

/* fsyncs the folder of path so that a rename or unlink in it is durable. */
static int
keys_sync_dir(const char *path, char err[KEYS_ERR_MAX])
{
	char	dir[PATH_MAX];
	int	fd, rc = 0;

	if (keys_dirname(dir, path) == -1) {
		keys_error(err, "%s: %s", path,
		    strerror(ENAMETOOLONG));
		return (-1);
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		keys_error(err, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	if (fsync(fd) == -1) {
		keys_error(err, "%s: fsync: %s", dir,
		    strerror(errno));
		rc = -1;
	}
	close(fd);
	return (rc);
}

/*
 * Writes data to path atomically with exactly the given mode: a fresh
 * temporary file beside it, fsync, rename, fsync of the folder.
 */
static int
keys_write(const char *path, const char *data, size_t len, mode_t mode,
    char err[KEYS_ERR_MAX])
{
	char	 tmp[PATH_MAX];
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd = -1, i, rc = -1, made = 0;

	for (i = 0; i < KEYS_TMP_TRIES; i++) {
		n = snprintf(tmp, sizeof(tmp), "%s.tmp-%016llx", path,
		    (unsigned long long)sc_random_u64());
		if (n < 0 || (size_t)n >= sizeof(tmp)) {
			keys_error(err, "%s: %s", path,
			    strerror(ENAMETOOLONG));
			return (-1);
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		keys_error(err, "%s: cannot create: %s", tmp,
		    strerror(errno));
		return (-1);
	}
	made = 1;
	/* The umask may have taken bits away; set exactly what is meant. */
	if (fchmod(fd, mode) == -1) {
		keys_error(err, "%s: chmod: %s", tmp,
		    strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			keys_error(err, "%s: write: %s", tmp,
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		keys_error(err, "%s: fsync: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		keys_error(err, "%s: close: %s", tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		keys_error(err, "%s: cannot rename %s into place: "
		    "%s", path, tmp, strerror(errno));
		goto out;
	}
	made = 0;
	if (keys_sync_dir(path, err) == -1)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (made)
		unlink(tmp);
	return (rc);
}

/* Makes a new key pair and writes both files, private key first. */
static int
keys_create(struct sc_keypair *kp, const char *pub_path,
    const char *priv_path, char err[KEYS_ERR_MAX])
{
	struct sc_keypair	tmp;
	char			text[SC_KEY_BYTES * 2 + 2];
	size_t			len;
	int			rc = -1;

	memset(&tmp, 0, sizeof(tmp));
	if (keys_mkparent(priv_path, err) == -1 ||
	    keys_mkparent(pub_path, err) == -1)
		goto out;
	if (sc_keypair_generate(&tmp) != 0) {
		keys_error(err, "%s: cannot generate a key pair",
		    priv_path);
		goto out;
	}

	sc_b64_encode(text, sizeof(text) - 1, tmp.sk, SC_KEY_BYTES);
	len = strlen(text);
	text[len++] = '\n';
	if (keys_write(priv_path, text, len, 0600, err) == -1)
		goto out;

	sc_b64_encode(text, sizeof(text) - 1, tmp.pk, SC_KEY_BYTES);
	len = strlen(text);
	text[len++] = '\n';
	if (keys_write(pub_path, text, len, 0644, err) == -1) {
		/* Take the half-made pair back so the next start retries. */
		if (unlink(priv_path) == 0) {
			char ignored[KEYS_ERR_MAX];

			(void)keys_sync_dir(priv_path, ignored);
		}
		goto out;
	}
	*kp = tmp;
	memset(&tmp, 0, sizeof(tmp));
	rc = 0;
out:
	sc_wipe(text, sizeof(text));
	sc_keypair_free(&tmp);
	return (rc);
}

/* Loads both files of an existing pair and checks that they match. */
static int
keys_load_pair(struct sc_keypair *kp, const char *pub_path,
    const char *priv_path, char err[KEYS_ERR_MAX])
{
	struct sc_keypair	tmp;
	uint8_t			sk[SC_KEY_BYTES], pk[SC_KEY_BYTES];
	int			rc = -1;

	memset(&tmp, 0, sizeof(tmp));
	if (keys_load_one(sk, priv_path, 1, err) == -1)
		goto out;
	if (sc_keypair_from_sk(&tmp, sk) != 0) {
		keys_error(err, "%s: not a usable private key",
		    priv_path);
		goto out;
	}
	if (keys_load_one(pk, pub_path, 0, err) == -1)
		goto out;
	if (!sc_memeq(pk, tmp.pk, SC_KEY_BYTES)) {
		keys_error(err, "%s does not match the private key "
		    "in %s (the two files of a pair belong together)",
		    pub_path, priv_path);
		goto out;
	}
	*kp = tmp;
	memset(&tmp, 0, sizeof(tmp));
	rc = 0;
out:
	sc_wipe(sk, sizeof(sk));
	sc_keypair_free(&tmp);
	return (rc);
}

/*
 * Loads the server's pair; with create set, makes it when neither file
 * exists.  Exactly one of the two files present is refused either way.
 */
static int
keys_server(struct sc_keypair *kp, const char *pub_path,
    const char *priv_path, int create, int *created, char err[KEYS_ERR_MAX])
{
	int	have_pub, have_priv;

	memset(kp, 0, sizeof(*kp));
	err[0] = '\0';
	if (created != NULL)
		*created = 0;
	if (keys_exists(priv_path, &have_priv, err) == -1 ||
	    keys_exists(pub_path, &have_pub, err) == -1)
		return (-1);
	if (have_priv && have_pub)
		return (keys_load_pair(kp, pub_path, priv_path, err));
	if (have_priv || have_pub) {
		keys_error(err, "%s exists but %s is missing: "
		    "restore it, or move %s away to make a new key pair "
		    "(clients must then pin the new public key)",
		    have_priv ? priv_path : pub_path,
		    have_priv ? pub_path : priv_path,
		    have_priv ? priv_path : pub_path);
		return (-1);
	}
	if (!create) {
		keys_error(err, "%s: %s (the key pair is made on "
		    "the daemon's first start, or by sealchatd --genkey)",
		    priv_path, strerror(ENOENT));
		return (-1);
	}
	if (keys_create(kp, pub_path, priv_path, err) == -1)
		return (-1);
	if (created != NULL)
		*created = 1;
	return (0);
}

/* Loads the server's key pair, making it on first start; see keys.h. */
int
keys_server_load(struct sc_keypair *kp, const char *pub_path,
    const char *priv_path, int *created, char err[KEYS_ERR_MAX])
{
	return (keys_server(kp, pub_path, priv_path, 1, created, err));
}

/* Loads and checks the server's key pair without ever making it. */
int
keys_server_check(struct sc_keypair *kp, const char *pub_path,
    const char *priv_path, char err[KEYS_ERR_MAX])
{
	return (keys_server(kp, pub_path, priv_path, 0, NULL, err));
}

/* Writes a file atomically; see keys.h. */
int
keys_write_file(const char *path, const char *data, size_t len, mode_t mode,
    char err[KEYS_ERR_MAX])
{
	err[0] = '\0';
	return (keys_write(path, data, len, mode, err));
}

/* Loads or makes a client's identity key pair; see keys.h. */
int
keys_identity_load(struct sc_keypair *kp, const char *path, int *created,
    char err[KEYS_ERR_MAX])
{
	struct sc_keypair	tmp;
	uint8_t			sk[SC_KEY_BYTES];
	char			text[SC_KEY_BYTES * 2 + 2];
	size_t			len;
	int			exists, rc = -1;

	memset(kp, 0, sizeof(*kp));
	memset(&tmp, 0, sizeof(tmp));
	memset(text, 0, sizeof(text));
	err[0] = '\0';
	*created = 0;
	if (keys_exists(path, &exists, err) == -1)
		goto out;
	if (exists) {
		if (keys_load_one(sk, path, 1, err) == -1)
			goto out;
		if (sc_keypair_from_sk(&tmp, sk) != 0) {
			keys_error(err, "%s: not a usable private key", path);
			goto out;
		}
	} else {
		if (sc_keypair_generate(&tmp) != 0) {
			keys_error(err, "%s: cannot generate a key pair", path);
			goto out;
		}
		sc_b64_encode(text, sizeof(text) - 1, tmp.sk, SC_KEY_BYTES);
		len = strlen(text);
		text[len++] = '\n';
		if (keys_write(path, text, len, 0600, err) == -1)
			goto out;
		*created = 1;
	}
	*kp = tmp;
	memset(&tmp, 0, sizeof(tmp));
	rc = 0;
out:
	sc_wipe(sk, sizeof(sk));
	sc_wipe(text, sizeof(text));
	sc_keypair_free(&tmp);
	return (rc);
}

/* Reads the pinned server public key. */
int
keys_public_load(uint8_t pk[SC_KEY_BYTES], const char *path,
    char err[KEYS_ERR_MAX])
{
	uint8_t	tmp[SC_KEY_BYTES];

	err[0] = '\0';
	if (keys_load_one(tmp, path, 0, err) == -1)
		return (-1);
	memcpy(pk, tmp, SC_KEY_BYTES);
	return (0);
}
