/* SPDX-License-Identifier: ISC */
/*
 * The ids of the stored messages already shown (shown.h).  In memory a
 * ring of at most SHOWN_MAX ids, the oldest dropped first; on disk the
 * same, one hex id a line, appended one at a time.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealchat/keys.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "shown.h"

#define SHOWN_HEAD	"# sealchat: the stored messages already shown\n"
#define SHOWN_HEX	(2 * SC_MAIL_ID_BYTES)

struct shown {
	uint8_t	ids[SHOWN_MAX][SC_MAIL_ID_BYTES];
	size_t	n;		/* ids held */
	size_t	next;		/* ring: where the next one goes */
	size_t	lines;		/* ids in the file */
	int	cut;		/* its last line was cut short */
	char	path[PATH_MAX];	/* "": no file */
};

/* An empty set. */
struct shown *
shown_new(void)
{
	return (calloc(1, sizeof(struct shown)));
}

/* Frees the set. */
void
shown_free(struct shown *sh)
{
	free(sh);
}

/* Ids held. */
size_t
shown_count(const struct shown *sh)
{
	return (sh->n);
}

/* Puts id in the ring, dropping the oldest when it is full. */
static void
shown_put(struct shown *sh, const uint8_t id[SC_MAIL_ID_BYTES])
{
	memcpy(sh->ids[sh->next], id, SC_MAIL_ID_BYTES);
	sh->next = (sh->next + 1) % SHOWN_MAX;
	if (sh->n < SHOWN_MAX)
		sh->n++;
}

/* Whether id is held. */
int
shown_has(const struct shown *sh, const uint8_t id[SC_MAIL_ID_BYTES])
{
	size_t	i;

	for (i = 0; i < sh->n; i++) {
		if (memcmp(sh->ids[i], id, SC_MAIL_ID_BYTES) == 0)
			return (1);
	}
	return (0);
}

/* The value of one hex digit, or -1. */
static int
shown_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* Reads the text of a shown file; see shown.h. */
int
shown_parse(struct shown *sh, const char *text, size_t len, char *err,
    size_t errlen)
{
	uint8_t		 id[SC_MAIL_ID_BYTES];
	const char	*p, *nl;
	size_t		 off = 0, line = 0, n, i;
	int		 hi, lo;

	sh->n = sh->next = sh->lines = 0;
	sh->cut = 0;
	while (off < len) {
		line++;
		p = text + off;
		nl = memchr(p, '\n', len - off);
		if (nl == NULL) {
			sh->cut = 1;	/* a last line cut short: dropped */
			break;
		}
		n = (size_t)(nl - p);
		off += n + 1;
		if (n == 0 || p[0] == '#')
			continue;
		if (n != SHOWN_HEX)
			goto bad;
		for (i = 0; i < SC_MAIL_ID_BYTES; i++) {
			hi = shown_hexval(p[2 * i]);
			lo = shown_hexval(p[2 * i + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			id[i] = (uint8_t)(hi << 4 | lo);
		}
		shown_put(sh, id);
		sh->lines++;
	}
	return (0);
bad:
	snprintf(err, errlen, "%zu: not a message id", line);
	sh->n = sh->next = sh->lines = 0;
	return (-1);
}

static int	shown_compact(struct shown *, char *, size_t);

/* Opens the set of dir; see shown.h. */
struct shown *
shown_open(const char *dir, char *err, size_t errlen)
{
	struct shown	*sh;
	struct stat	 sb;
	char		*buf = NULL, why[128];
	size_t		 len = 0;
	int		 fd = -1, n;

	if ((sh = shown_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	n = snprintf(sh->path, sizeof(sh->path), "%s/shown", dir);
	if (n < 0 || (size_t)n >= sizeof(sh->path)) {
		snprintf(err, errlen, "%s/shown: name too long", dir);
		goto fail;
	}
	fd = open(sh->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return (sh);
		snprintf(err, errlen, "%s: %s", sh->path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > SHOWN_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes (remove it)", sh->path, SHOWN_FILE_MAX);
		goto fail;
	}
	if ((buf = malloc(SHOWN_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", sh->path);
		goto fail;
	}
	if (util_read_fd(fd, buf, SHOWN_FILE_MAX + 1, &len) != 0) {
		snprintf(err, errlen, "%s: cannot read it whole", sh->path);
		goto fail;
	}
	if (shown_parse(sh, buf, len, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s:%s (remove the file)", sh->path,
		    why);
		goto fail;
	}
	/* Appends must not follow a line cut short: write it anew. */
	if (sh->cut && shown_compact(sh, err, errlen) != 0)
		goto fail;
	free(buf);
	close(fd);
	return (sh);
fail:
	free(buf);
	if (fd != -1)
		close(fd);
	shown_free(sh);
	return (NULL);
}

/* Writes the newest SHOWN_KEEP ids anew, atomically. */
static int
shown_compact(struct shown *sh, char *err, size_t errlen)
{
	char	*buf, kerr[KEYS_ERR_MAX];
	size_t	 keep, off, i, j, k;
	int	 rc = -1;

	keep = sh->n < SHOWN_KEEP ? sh->n : SHOWN_KEEP;
	if ((buf = malloc(sizeof(SHOWN_HEAD) + keep * (SHOWN_HEX + 1))) ==
	    NULL) {
		snprintf(err, errlen, "%s: out of memory", sh->path);
		return (-1);
	}
	off = strlen(SHOWN_HEAD);
	memcpy(buf, SHOWN_HEAD, off);
	for (k = 0; k < keep; k++) {
		/* From the oldest kept to the newest. */
		i = (sh->next + SHOWN_MAX - keep + k) % SHOWN_MAX;
		for (j = 0; j < SC_MAIL_ID_BYTES; j++) {
			buf[off++] = "0123456789abcdef"[sh->ids[i][j] >> 4];
			buf[off++] = "0123456789abcdef"[sh->ids[i][j] & 15];
		}
		buf[off++] = '\n';
	}
	if (keys_write_file(sh->path, buf, off, 0600, kerr) != 0) {
		snprintf(err, errlen, "%s", kerr);
		goto out;
	}
	sh->lines = keep;
	rc = 0;
out:
	free(buf);
	return (rc);
}

/* Remembers id; appends it to the file, synced. */
int
shown_add(struct shown *sh, const uint8_t id[SC_MAIL_ID_BYTES], char *err,
    size_t errlen)
{
	char	line[SHOWN_HEX + 1 + sizeof(SHOWN_HEAD)];
	size_t	off = 0, j;
	off_t	end;
	int	fd, rc = -1;

	shown_put(sh, id);
	if (sh->path[0] == '\0')
		return (0);
	if (sh->lines + 1 >= SHOWN_MAX)
		return (shown_compact(sh, err, errlen));
	fd = open(sh->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", sh->path, strerror(errno));
		return (-1);
	}
	if ((end = lseek(fd, 0, SEEK_END)) == -1) {
		snprintf(err, errlen, "%s: %s", sh->path, strerror(errno));
		goto out;
	}
	if (end == 0) {
		memcpy(line, SHOWN_HEAD, strlen(SHOWN_HEAD));
		off = strlen(SHOWN_HEAD);
	}
	for (j = 0; j < SC_MAIL_ID_BYTES; j++) {
		line[off++] = "0123456789abcdef"[id[j] >> 4];
		line[off++] = "0123456789abcdef"[id[j] & 15];
	}
	line[off++] = '\n';
	if (write(fd, line, off) != (ssize_t)off || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", sh->path, strerror(errno));
		/* No cut line for the next login to refuse. */
		if (ftruncate(fd, end) != 0)
			log_warnx("shown: %s: cannot cut back: %s", sh->path,
			    strerror(errno));
		goto out;
	}
	sh->lines++;
	rc = 0;
out:
	close(fd);
	return (rc);
}
