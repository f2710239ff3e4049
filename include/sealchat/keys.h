/* SPDX-License-Identifier: ISC */
/*
 * Key files.  One line of standard base64 of the 32 key bytes, then a
 * newline (as WireGuard's keys).  The private key file must be a file of
 * its own (not a symbolic link), owned by the user the owner rule names,
 * and not readable by group or others.  Functions fill err with a message
 * that names the file.
 *
 * The owner rule: a file in a folder that belongs to a user other than
 * root belongs to that user, the one the daemon runs as there (systemd's
 * StateDirectory= makes the folder its service's), whoever reads it: the
 * daemon itself, or root checking its files (sudo sealchatd -t).  In a
 * folder of root, a private key belongs to the user that reads it.  Root
 * that makes a file in another user's folder gives it to that user.
 */
#ifndef SEALCHAT_KEYS_H
#define SEALCHAT_KEYS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "sealchat/crypto.h"

#define KEYS_ERR_MAX	512

/*
 * Server start: loads the key pair, or, when neither file exists, makes a
 * new one and writes both files atomically (private key 0600, written to a
 * temporary file, fsync'd, renamed).  *created is set to 1 then.  Refuses a
 * private key that is a symbolic link, owned by another user than the
 * owner rule's or readable by group or others, a file of the wrong length
 * or not base64, one of the pair missing, and a public key that does not
 * match the private one.
 */
int	keys_server_load(struct sc_keypair *, const char *pub_path,
	    const char *priv_path, int *created, char err[KEYS_ERR_MAX]);
/* sealchatd -t: loads and checks, never creates. */
int	keys_server_check(struct sc_keypair *, const char *pub_path,
	    const char *priv_path, char err[KEYS_ERR_MAX]);
/* Client: reads the pinned server public key. */
int	keys_public_load(uint8_t pk[SC_KEY_BYTES], const char *path,
	    char err[KEYS_ERR_MAX]);
/*
 * The owner rule's user for a file at path: 0 with the owner of its folder
 * when that is a user other than root, -1 otherwise (a folder of root, or
 * none).
 */
int	keys_folder_owner(const char *path, uid_t *uid, gid_t *gid);
/*
 * Client: loads the identity key pair of a user on this device from its
 * private key file (the public key is derived), or, when the file does
 * not exist, makes a new pair and writes the file (mode 0600, atomically,
 * in a folder that must exist); *created says which.  Refuses a file that
 * group or others can read, as keys_server_load() does.
 */
int	keys_identity_load(struct sc_keypair *, const char *path, int *created,
	    char err[KEYS_ERR_MAX]);
/*
 * Writes len bytes to path atomically with exactly mode: a fresh
 * temporary file beside it, fsync, rename, fsync of the folder.
 */
int	keys_write_file(const char *path, const char *data, size_t len,
	    mode_t mode, char err[KEYS_ERR_MAX]);
/* Parses the text of a key file (fuzzing, tests). */
int	keys_parse(uint8_t key[SC_KEY_BYTES], const char *buf, size_t len);

#endif
