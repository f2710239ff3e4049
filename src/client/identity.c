/* SPDX-License-Identifier: ISC */
/*
 * Identity keys, pinned peers and safety numbers (see identity.h).
 *
 * known_peers is read whole at login and written whole, atomically (a
 * temporary file, fsync, rename: keys.c), whenever a pin is added or
 * replaced, so that a crash leaves the old list or the new one.  It is
 * parsed strictly: a line that is not a comment, blank, or "NAME KEY"
 * with a canonical name and the base64 of 32 bytes, or a name twice,
 * stops the login with the file and line named.  A peer whose pin was
 * skipped would be trusted anew on first use, silently: better to say so.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "sealchat/crypto.h"
#include "sealchat/keys.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "identity.h"

/* The label of a safety number's hashes: 24 bytes, no NUL. */
static const char identity_label[] = "sealchat/1 safety number";
_Static_assert(sizeof(identity_label) - 1 == 24, "safety label size");

/* Base64 text of a key: 44 characters with the padding. */
#define IDENTITY_B64	44

/* One peer and its key. */
struct identity_pin {
	char	name[SC_NAME_MAX + 1];
	uint8_t	key[SC_KEY_BYTES];
};

/* A growable list of pins, sorted by name. */
struct identity_pins {
	struct identity_pin	*v;
	size_t			 n;
	size_t			 cap;
};

struct identity {
	char			dir[PATH_MAX];	/* BASE/SERVER/USER */
	char			keyfile[PATH_MAX];
	char			peersfile[PATH_MAX];
	char			self[SC_NAME_MAX + 1];
	int			created;
	struct sc_keypair	kp;
	struct identity_pins	pins;		/* known_peers */
	struct identity_pins	changed;	/* keys not trusted yet */
};

/* Empties a list of pins. */
static void
identity_pins_free(struct identity_pins *l)
{
	if (l->v != NULL) {
		sc_wipe(l->v, l->cap * sizeof(*l->v));
		free(l->v);
	}
	memset(l, 0, sizeof(*l));
}

/* The index of name in a sorted list, or where it would go (*found 0). */
static size_t
identity_pins_find(const struct identity_pins *l, const char *name,
    int *found)
{
	size_t	lo = 0, hi = l->n, mid;
	int	c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(l->v[mid].name, name)) == 0) {
			*found = 1;
			return (mid);
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* The pin of name, or NULL. */
static struct identity_pin *
identity_pins_get(const struct identity_pins *l, const char *name)
{
	size_t	i;
	int	found;

	i = identity_pins_find(l, name, &found);
	return (found ? &l->v[i] : NULL);
}

/* Sets name's key, adding it in order; -1 when full or out of memory. */
static int
identity_pins_set(struct identity_pins *l, const char *name,
    const uint8_t key[SC_KEY_BYTES])
{
	struct identity_pin	*v;
	size_t			 i, cap;
	int			 found;

	i = identity_pins_find(l, name, &found);
	if (!found) {
		if (l->n >= IDENTITY_PEERS_MAX)
			return (-1);
		if (l->n == l->cap) {
			cap = l->cap == 0 ? 16 : l->cap * 2;
			if ((v = calloc(cap, sizeof(*v))) == NULL)
				return (-1);
			if (l->n > 0)
				memcpy(v, l->v, l->n * sizeof(*v));
			if (l->v != NULL) {
				sc_wipe(l->v, l->cap * sizeof(*v));
				free(l->v);
			}
			l->v = v;
			l->cap = cap;
		}
		memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*l->v));
		memset(&l->v[i], 0, sizeof(l->v[i]));
		strlcpy(l->v[i].name, name, sizeof(l->v[i].name));
		l->n++;
	}
	memcpy(l->v[i].key, key, SC_KEY_BYTES);
	return (0);
}

/* Takes name off the list, if it is there. */
static void
identity_pins_del(struct identity_pins *l, const char *name)
{
	size_t	i;
	int	found;

	i = identity_pins_find(l, name, &found);
	if (!found)
		return;
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
	sc_wipe(&l->v[l->n], sizeof(l->v[l->n]));
}

/*
 * The folder name of a server: its key's fingerprint (the base64 of
 * SHA-256) in the URL-safe alphabet, without "SHA256:".
 */
static void
identity_server_dir(char out[SC_FPR_LEN], const uint8_t pk[SC_KEY_BYTES])
{
	char	fpr[SC_FPR_LEN];
	size_t	i;

	sc_fingerprint(fpr, pk);
	strlcpy(out, fpr + 7, SC_FPR_LEN);
	for (i = 0; out[i] != '\0'; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
}

/* Reads one "NAME KEY" line into a pin; -1 with what is wrong in err. */
static int
identity_parse_line(struct identity_pin *pin, const char *s, size_t len,
    char *err, size_t errlen)
{
	const char	*sp;
	uint8_t		 key[SC_KEY_BYTES + 4];
	size_t		 nlen, klen, got;
	int		 rc = -1;

	if ((sp = memchr(s, ' ', len)) == NULL) {
		snprintf(err, errlen, "expected NAME KEY");
		return (-1);
	}
	nlen = (size_t)(sp - s);
	klen = len - nlen - 1;
	if (!wire_name_valid(s, nlen)) {
		snprintf(err, errlen, "not a user name");
		return (-1);
	}
	if (klen != IDENTITY_B64 || sc_b64_decode(key, sizeof(key), &got,
	    sp + 1, klen) != 0 || got != SC_KEY_BYTES) {
		snprintf(err, errlen, "not the base64 of a 32-byte key");
		goto out;
	}
	memset(pin, 0, sizeof(*pin));
	memcpy(pin->name, s, nlen);
	memcpy(pin->key, key, SC_KEY_BYTES);
	rc = 0;
out:
	sc_wipe(key, sizeof(key));
	return (rc);
}

/* Reads the text of known_peers into the pins; see identity.h. */
int
identity_parse(struct identity *id, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct identity_pins	 l;
	struct identity_pin	 pin;
	const char		*s = text, *nl;
	char			 why[128];
	size_t			 n, line = 0;
	int			 found;

	memset(&l, 0, sizeof(l));
	while (len > 0) {
		line++;
		if ((nl = memchr(s, '\n', len)) == NULL) {
			snprintf(err, errlen, "%zu: no newline at the end",
			    line);
			goto fail;
		}
		n = (size_t)(nl - s);
		if (n > 0 && s[0] != '#') {
			if (identity_parse_line(&pin, s, n, why,
			    sizeof(why)) != 0) {
				snprintf(err, errlen, "%zu: %s", line, why);
				goto fail;
			}
			(void)identity_pins_find(&l, pin.name, &found);
			if (found) {
				snprintf(err, errlen, "%zu: %s is listed "
				    "twice", line, pin.name);
				goto fail;
			}
			if (identity_pins_set(&l, pin.name, pin.key) != 0) {
				snprintf(err, errlen, "%zu: more than %d "
				    "peers", line, IDENTITY_PEERS_MAX);
				goto fail;
			}
		}
		s = nl + 1;
		len -= n + 1;
	}
	identity_pins_free(&id->pins);
	id->pins = l;
	sc_wipe(&pin, sizeof(pin));
	return (0);
fail:
	sc_wipe(&pin, sizeof(pin));
	identity_pins_free(&l);
	return (-1);
}

/* Reads known_peers, when there is one. */
static int
identity_read_peers(struct identity *id, char *err, size_t errlen)
{
	struct stat	 sb;
	char		*buf = NULL;
	char		 why[256];
	size_t		 len = 0;
	int		 fd, rc = -1;

	fd = open(id->peersfile, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return (0);
		snprintf(err, errlen, "%s: %s", id->peersfile,
		    strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > IDENTITY_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", id->peersfile, IDENTITY_FILE_MAX);
		goto out;
	}
	if ((buf = malloc(IDENTITY_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", id->peersfile);
		goto out;
	}
	if (util_read_fd(fd, buf, IDENTITY_FILE_MAX + 1, &len) != 0) {
		snprintf(err, errlen, "%s: cannot read it whole",
		    id->peersfile);
		goto out;
	}
	if (identity_parse(id, buf, len, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s:%s (fix or remove the line)",
		    id->peersfile, why);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	return (rc);
}

/* Writes the pins to known_peers, whole and atomically. */
static int
identity_write_peers(struct identity *id, char *err, size_t errlen)
{
	static const char	 head[] = "# sealchat: the identity keys of "
	    "the peers this user trusts, one \"NAME KEY\" a line\n";
	char			*buf, kerr[KEYS_ERR_MAX];
	size_t			 cap, off, i;
	int			 rc = -1;

	cap = sizeof(head) + id->pins.n * (SC_NAME_MAX + IDENTITY_B64 + 3);
	if ((buf = malloc(cap)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", id->peersfile);
		return (-1);
	}
	off = strlcpy(buf, head, cap);
	for (i = 0; i < id->pins.n; i++) {
		off += strlcpy(buf + off, id->pins.v[i].name, cap - off);
		buf[off++] = ' ';
		sc_b64_encode(buf + off, cap - off, id->pins.v[i].key,
		    SC_KEY_BYTES);
		off += strlen(buf + off);
		buf[off++] = '\n';
	}
	if (keys_write_file(id->peersfile, buf, off, 0600, kerr) != 0) {
		snprintf(err, errlen, "%s", kerr);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return (rc);
}

/* Joins a folder and a name into out; -1 when it does not fit. */
static int
identity_path(char out[PATH_MAX], const char *dir, const char *name)
{
	int	n;

	n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return (n < 0 || n >= PATH_MAX ? -1 : 0);
}

/* Opens a user's identity on a server; see identity.h. */
struct identity *
identity_open(const char *base, const uint8_t server_pk[SC_KEY_BYTES],
    const char *user, char *err, size_t errlen)
{
	struct identity	*id;
	char		 data[PATH_MAX], srv[SC_FPR_LEN];
	char		 kerr[KEYS_ERR_MAX];
	int		 n;

	if (!wire_name_valid(user, strnlen(user, SC_NAME_MAX + 1))) {
		snprintf(err, errlen, "not a user name");
		return (NULL);
	}
	if (base == NULL && util_xdg_dir(data, sizeof(data),
	    UTIL_XDG_DATA) != 0) {
		snprintf(err, errlen, "no folder for the identity key "
		    "(set XDG_DATA_HOME or HOME)");
		return (NULL);
	}
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	strlcpy(id->self, user, sizeof(id->self));
	identity_server_dir(srv, server_pk);
	n = snprintf(id->dir, sizeof(id->dir), "%s/%s/%s", base != NULL ?
	    base : data, srv, user);
	if (n < 0 || (size_t)n >= sizeof(id->dir) ||
	    identity_path(id->keyfile, id->dir, "identity") != 0 ||
	    identity_path(id->peersfile, id->dir, "known_peers") != 0) {
		snprintf(err, errlen, "the identity folder's name is too long");
		goto fail;
	}
	if (util_mkdirs(id->dir, 1) != 0) {
		snprintf(err, errlen, "%s: cannot make the folder: %s",
		    id->dir, strerror(errno));
		goto fail;
	}
	if (keys_identity_load(&id->kp, id->keyfile, &id->created,
	    kerr) != 0) {
		snprintf(err, errlen, "%s", kerr);
		goto fail;
	}
	if (identity_read_peers(id, err, errlen) != 0)
		goto fail;
	if (id->created)
		log_info("identity: new key user=%s folder=%s", user, id->dir);
	return (id);
fail:
	identity_free(id);
	return (NULL);
}

/* Wipes and frees an identity. */
void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	sc_keypair_free(&id->kp);
	identity_pins_free(&id->pins);
	identity_pins_free(&id->changed);
	sc_wipe(id, sizeof(*id));
	free(id);
}

/* The user's key pair. */
const struct sc_keypair *
identity_keypair(const struct identity *id)
{
	return (&id->kp);
}

/* Whether the key pair was made by identity_open(). */
int
identity_created(const struct identity *id)
{
	return (id->created);
}

/* The user of the identity. */
const char *
identity_user(const struct identity *id)
{
	return (id->self);
}

/* The identity's folder. */
const char *
identity_dir(const struct identity *id)
{
	return (id->dir);
}

/* A key handed out for a peer: pinned when new, kept aside when changed. */
enum identity_seen
identity_seen(struct identity *id, const char *peer,
    const uint8_t key[SC_KEY_BYTES], char *err, size_t errlen)
{
	struct identity_pin	*pin;

	if ((pin = identity_pins_get(&id->pins, peer)) != NULL) {
		if (sc_memeq(pin->key, key, SC_KEY_BYTES)) {
			/* The pinned key again: an older change is moot. */
			identity_pins_del(&id->changed, peer);
			return (IDENTITY_KNOWN);
		}
		if (identity_pins_set(&id->changed, peer, key) != 0) {
			snprintf(err, errlen, "out of memory");
			return (IDENTITY_ERR);
		}
		log_warnx("identity: key of peer=%s changed; not trusted",
		    peer);
		return (IDENTITY_CHANGED);
	}
	if (identity_pins_set(&id->pins, peer, key) != 0) {
		snprintf(err, errlen, "cannot pin the key of %s: more than %d "
		    "peers, or out of memory", peer, IDENTITY_PEERS_MAX);
		return (IDENTITY_ERR);
	}
	if (identity_write_peers(id, err, errlen) != 0) {
		identity_pins_del(&id->pins, peer);
		return (IDENTITY_ERR);
	}
	log_debug("identity: pinned peer=%s", peer);
	return (IDENTITY_NEW);
}

/* Whether key is another than the one pinned for peer. */
int
identity_differs(const struct identity *id, const char *peer,
    const uint8_t key[SC_KEY_BYTES])
{
	const struct identity_pin	*pin;

	pin = identity_pins_get(&id->pins, peer);
	return (pin != NULL && !sc_memeq(pin->key, key, SC_KEY_BYTES));
}

/* Whether a change of peer's key waits for trust. */
int
identity_changed(const struct identity *id, const char *peer)
{
	return (identity_pins_get(&id->changed, peer) != NULL);
}

/* Trusts the key kept aside for peer. */
int
identity_trust(struct identity *id, const char *peer, char *err,
    size_t errlen)
{
	struct identity_pin	*pin, *ch;
	uint8_t			 old[SC_KEY_BYTES];
	int			 rc = -1;

	if ((ch = identity_pins_get(&id->changed, peer)) == NULL) {
		if (identity_pins_get(&id->pins, peer) != NULL)
			return (0);
		snprintf(err, errlen, "no key of %s known yet (send them a "
		    "message first)", peer);
		return (-1);
	}
	if ((pin = identity_pins_get(&id->pins, peer)) == NULL) {
		snprintf(err, errlen, "no key of %s pinned", peer);
		return (-1);
	}
	memcpy(old, pin->key, SC_KEY_BYTES);
	memcpy(pin->key, ch->key, SC_KEY_BYTES);
	if (identity_write_peers(id, err, errlen) != 0) {
		memcpy(pin->key, old, SC_KEY_BYTES);
		goto out;
	}
	identity_pins_del(&id->changed, peer);
	log_info("identity: trusted the new key of peer=%s", peer);
	rc = 1;
out:
	sc_wipe(old, sizeof(old));
	return (rc);
}

/* The key of a peer: a change kept aside, else the pin. */
int
identity_key(const struct identity *id, const char *peer,
    uint8_t out[SC_KEY_BYTES])
{
	const struct identity_pin	*pin;

	if ((pin = identity_pins_get(&id->changed, peer)) == NULL &&
	    (pin = identity_pins_get(&id->pins, peer)) == NULL)
		return (-1);
	memcpy(out, pin->key, SC_KEY_BYTES);
	return (0);
}

/*
 * One side's 30 digits: d = BLAKE2b-256(label || str8 name || key), then
 * d = BLAKE2b-256(d || key) until IDENTITY_ROUNDS hashes in all; each of
 * the first six 5-byte groups of d, as a big-endian number modulo 100000,
 * gives five digits.
 */
static int
identity_half(char out[31], const char *name, const uint8_t key[SC_KEY_BYTES])
{
	struct sc_hash_part	first[4], next[2];
	uint8_t			d[SC_KEY_BYTES], len;
	uint64_t		v;
	int			i, j;

	len = (uint8_t)strnlen(name, SC_NAME_MAX);
	first[0].p = identity_label;
	first[0].len = sizeof(identity_label) - 1;
	first[1].p = &len;
	first[1].len = 1;
	first[2].p = name;
	first[2].len = len;
	first[3].p = key;
	first[3].len = SC_KEY_BYTES;
	if (sc_hash(d, NULL, first, 4) != 0)
		return (-1);
	next[0].p = d;
	next[0].len = sizeof(d);
	next[1].p = key;
	next[1].len = SC_KEY_BYTES;
	for (i = 1; i < IDENTITY_ROUNDS; i++)
		if (sc_hash(d, NULL, next, 2) != 0)
			return (-1);
	for (i = 0; i < 6; i++) {
		v = 0;
		for (j = 0; j < 5; j++)
			v = v << 8 | d[5 * i + j];
		snprintf(out + 5 * i, 6, "%05u", (unsigned)(v % 100000));
	}
	return (0);
}

/* The safety number of two (name, key) pairs, in name order. */
int
identity_number(char out[IDENTITY_NUMBER_LEN], const char *a,
    const uint8_t ka[SC_KEY_BYTES], const char *b,
    const uint8_t kb[SC_KEY_BYTES])
{
	char	digits[61];
	int	c, i, o = 0;

	c = strcmp(a, b);
	if (c == 0)
		c = memcmp(ka, kb, SC_KEY_BYTES);
	if (identity_half(digits, c <= 0 ? a : b, c <= 0 ? ka : kb) != 0 ||
	    identity_half(digits + 30, c <= 0 ? b : a, c <= 0 ? kb : ka) != 0)
		return (-1);
	for (i = 0; i < 60; i++) {
		if (i > 0 && i % 5 == 0)
			out[o++] = ' ';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	return (0);
}
