/* SPDX-License-Identifier: ISC */
/*
 * Messages between the daemon's hash pool (hashpool.c) and its helper
 * process (hashhelper.c).  They travel over one socketpair(AF_UNIX,
 * SOCK_SEQPACKET), one message per packet, and never leave the machine.
 * Each message is written and read here only, with the codec's wbuf and
 * rbuf, so integers are big-endian as on the wire.  A message is checked
 * for its exact length and every field's range on receipt, on both sides,
 * and the encoders refuse what the decoders would refuse.
 *
 *   job, daemon -> helper:
 *     u64 session id, u32 slot (the job's place in the table of live jobs
 *     the two processes share), u8 op (below), u8 cost (enum sc_cost), u8
 *     log level (enum log_level: the daemon's, so that a reload reaches
 *     the helper), u8 name_len (1..SC_NAME_MAX), name, u16 pass_len
 *     (SC_PASS_MIN..SC_PASS_MAX for an op that hashes, else 0), pass
 *   result, helper -> daemon:
 *     u64 session id, u8 op, u32 status (0, an enum sc_err, or
 *     HASHMSG_WITHDRAWN: the job was withdrawn before it ran), u32 usec
 *     (microseconds the worker spent on the job's password hash; 0 when it
 *     made none: a taken or bad name, an op that does not hash, a job
 *     withdrawn), u8 text_len (1..SC_NAME_MAX), text: the job's id, op
 *     and name
 *   start report, helper -> daemon, one per worker before any result:
 *     the result layout with session id 0, op HASHMSG_OP_START and usec 0;
 *     status 0 when the worker opened its store, else SC_ERR_INTERNAL and
 *     the error text (0..HASHMSG_TEXT_MAX bytes) in place of the name
 *
 * The ops: a client's SIGN and AUTH (their message types), a client's
 * IDENTITY (its message type: store the 32-byte identity public key the
 * job carries in place of a password beside the account, no hash), and
 * the operator's, from the control socket, whose session id is the
 * control request's: ADD (hash the password, add the account without a
 * login), PASSWD (hash it, replace the account's hash), DEL, LOCK and
 * UNLOCK (no password).  For IDENTITY and the operator's ops other than
 * ADD, SC_ERR_CREDENTIALS means that there is no such account.
 *
 * A result names its job by session id, op and name: the daemon finds the
 * job it answers among those in flight, never by position.
 */
#ifndef SEALCHATD_HASHMSG_H
#define SEALCHATD_HASHMSG_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "sealchat/crypto.h"
#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/wire.h"

/* The op of a start report; jobs and their results carry one below. */
#define HASHMSG_OP_START	0
/* The operator's ops (SIGN and AUTH are SC_MSG_SIGN and SC_MSG_AUTH). */
#define HASHMSG_OP_ADD		0x41
#define HASHMSG_OP_PASSWD	0x42
#define HASHMSG_OP_DEL		0x43
#define HASHMSG_OP_LOCK		0x44
#define HASHMSG_OP_UNLOCK	0x45
/* Costs a job may carry: enum sc_cost from 0 up to this, excluded. */
#define HASHMSG_COSTS		(SC_COST_SENSITIVE + 1)
/* Longest text of a result: a name, or a start report's error. */
#define HASHMSG_TEXT_MAX	255

/* The status of a job withdrawn (its session or request gone) unrun. */
#define HASHMSG_WITHDRAWN	0x100

/* A job: id, slot, op, cost, log level, name_len; then name, pass_len, pass. */
#define HASHMSG_JOB_HDR		(8 + 4 + 1 + 1 + 1 + 1)
#define HASHMSG_JOB_MAX		(HASHMSG_JOB_HDR + SC_NAME_MAX + 2 + \
				    SC_PASS_MAX)
/* A result: id, op, status, usec, text_len; then text. */
#define HASHMSG_RESULT_HDR	(8 + 1 + 4 + 4 + 1)
#define HASHMSG_RESULT_MAX	(HASHMSG_RESULT_HDR + HASHMSG_TEXT_MAX)

/* A job, daemon -> helper. */
struct hashmsg_job {
	uint64_t	 session_id;
	uint32_t	 slot;		/* in the shared table of live jobs */
	uint8_t		 op;		/* SIGN, AUTH or HASHMSG_OP_* */
	enum sc_cost	 cost;		/* for a new hash, and the rehash */
	enum log_level	 log_level;	/* the daemon's */
	char		 name[SC_NAME_MAX + 1];
	size_t		 name_len;
	const uint8_t	*pass;		/* decoded: points into the message */
	size_t		 pass_len;	/* 0 for an op that does not hash */
};

/* A result or a start report, helper -> daemon. */
struct hashmsg_result {
	uint64_t	session_id;	/* 0 in a start report */
	uint8_t		op;		/* the job's, or HASHMSG_OP_START */
	int32_t		status;		/* 0, an enum sc_err, WITHDRAWN */
	uint32_t	usec;		/* time of its hash, 0: none */
	char		text[HASHMSG_TEXT_MAX + 1];	/* NUL-terminated */
	size_t		text_len;
};

/* Whether op is an op of a job; whether it takes a password to hash. */
int	hashmsg_op_valid(uint8_t op);
int	hashmsg_op_hashes(uint8_t op);
/*
 * How many bytes a job of op carries after its name, at least *min and at
 * most *max: a password for the ops that hash, IDENTITY's key, else none.
 */
void	hashmsg_op_bytes(uint8_t op, size_t *min, size_t *max);

/*
 * Appends the job to wb, which should be empty (one message per packet).
 * -1, and nothing appended, when a field is out of its range; -1 too when
 * wb ran out of memory.
 */
int	hashmsg_job_put(struct wbuf *, const struct hashmsg_job *);
/*
 * Decodes and checks one job message of exactly len bytes; -1 when it
 * breaks the format.  The password is not copied: j->pass points into msg,
 * which the caller wipes once the job is done.
 */
int	hashmsg_job_get(struct hashmsg_job *j, const uint8_t *msg, size_t len);

/* Fills the result of job j with status and the time it took. */
void	hashmsg_result_for(struct hashmsg_result *,
	    const struct hashmsg_job *j, int32_t status, uint32_t usec);
/* Fills a start report; text is cut to HASHMSG_TEXT_MAX bytes. */
void	hashmsg_result_start(struct hashmsg_result *, int32_t status,
	    const char *text);
/* As hashmsg_job_put(), for a result or a start report. */
int	hashmsg_result_put(struct wbuf *, const struct hashmsg_result *);
/* As hashmsg_job_get(), for a result or a start report. */
int	hashmsg_result_get(struct hashmsg_result *, const uint8_t *msg,
	    size_t len);

/*
 * Sends the message in wb as one packet (flags as send(2), MSG_NOSIGNAL
 * added).  0, or -1 with errno; EMSGSIZE for a packet sent short, ENOMEM
 * when wb ran out of memory while it was written.
 */
int	hashmsg_send(int sock, const struct wbuf *, int flags);
/*
 * Receives one packet into buf, as recv(2) but retried after EINTR.  Give
 * one byte more than the longest message, so that a longer packet shows
 * as too long rather than cut to a valid length.
 */
ssize_t	hashmsg_recv(int sock, uint8_t *buf, size_t len, int flags);

#endif
