/* SPDX-License-Identifier: ISC */
/*
 * Key files.  One line of standard base64 of the 32 key bytes, then a
 * newline (as WireGuard's keys).  The private key file must not be readable
 * by group or others.  Functions fill err with a message that names the file.
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
 * private key readable by group or others, a file of the wrong length or
 * not base64, one of the pair missing, and a public key that does not match
 * the private one.
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
