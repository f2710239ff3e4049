/* SPDX-License-Identifier: ISC */
/*
 * The hash helper process, forked by the hash pool (hashpool.c): a few
 * worker threads, each with its own store handle, that take jobs from one
 * socket, do them (look up, argon2id hash or verify, store) and send the
 * results back.  It runs in an address space of its own so that argon2id's
 * large mappings never take the daemon's address-space lock.
 */
#ifndef SEALCHATD_HASHHELPER_H
#define SEALCHATD_HASHHELPER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "sealchat/crypto.h"

/* What a new helper takes from the daemon; read in the child only. */
struct hashhelper_conf {
	const char	*db_path;	/* each worker opens its own handle */
	int		 workers;	/* threads, one start report each */
	enum sc_cost	 cost;		/* of the first dummy hash */
	const int	*stop;		/* shared page: set when stopping */
	const uint64_t	*live;		/* shared: session id per job slot, */
	size_t		 nlive;		/* 0 once the job is withdrawn */
	uint8_t		*slots;		/* the daemon's password slots, */
	size_t		 slots_len;	/* cleared in the child at start */
};

/*
 * Lets helpers show a process title of their own ("sealchatd: hash
 * helper"): call it once from main() with its arguments, before anything
 * reads the environment's pointers.  Without it a helper keeps the
 * daemon's title.
 */
void	hashhelper_title_init(int argc, char **argv, char **envp);

/*
 * Forks a helper with conf over a new socketpair(AF_UNIX, SOCK_SEQPACKET);
 * returns its pid, with the daemon's end (blocking, close-on-exec) in
 * *sock, or -1 with a message in err.  The helper keeps no descriptor but
 * its socket end and 0-2, ignores every signal an operator or systemd may
 * send and ends when its socket reaches end of file (PR_SET_PDEATHSIG
 * covers a killed daemon); no other process of its user may read its
 * memory (PR_SET_DUMPABLE 0).  Every worker reports once (hashmsg.h)
 * before it takes jobs, and skips a job whose slot in live no longer
 * holds its session id, answering HASHMSG_WITHDRAWN.
 */
pid_t	hashhelper_spawn(const struct hashhelper_conf *, int *sock,
	    char *err, size_t errlen);

#endif
