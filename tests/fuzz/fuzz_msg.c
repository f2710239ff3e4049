/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: wire_msg_decode() and the list iterators on arbitrary bytes.
 * Whatever decodes is encoded again from the decoded fields and must give
 * the same bytes (SIGN and AUTH names compared after case folding), so the
 * decoder accepts only what the encoders produce.  A refusal says why, and
 * only a SIGN or AUTH may be refused for its name or its password.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealchat/wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Re-encodes a USERS or PRESENCE list through the iterators. */
static void
fuzz_msg_list(struct wbuf *wb, const struct sc_msg *m)
{
	char	name[SC_NAME_MAX + 1];
	size_t	off = 0;
	int	online;

	if (m->type == SC_MSG_USERS) {
		wire_enc_users_begin(wb, m->flags);
		while (wire_users_next(m, &off, name) == 1)
			wire_enc_users_entry(wb, name, strlen(name));
	} else {
		wire_enc_presence_begin(wb);
		while (wire_presence_next(m, &off, &online, name) == 1)
			wire_enc_presence_entry(wb, online, name, strlen(name));
	}
	if (off != m->list_len)
		__builtin_trap();
}

/* Encodes a decoded message again. */
static void
fuzz_msg_encode(struct wbuf *wb, const struct sc_msg *m)
{
	switch (m->type) {
	case SC_MSG_SIGN:
	case SC_MSG_AUTH:
		wire_enc_cred(wb, m->type, m->name, m->pass, m->pass_len);
		break;
	case SC_MSG_LIST:
	case SC_MSG_LOGOUT:
		wire_enc_empty(wb, m->type);
		break;
	case SC_MSG_UDP:
		wire_enc_udp(wb, m->port, m->cand, m->ncand);
		break;
	case SC_MSG_RECHECK:
		wire_enc_recheck(wb, m->pair_id);
		break;
	case SC_MSG_IDENTITY:
		wire_enc_identity(wb, m->idkey);
		break;
	case SC_MSG_PAIR:
		wire_enc_pair(wb, m->name);
		break;
	case SC_MSG_PING:
	case SC_MSG_PONG:
		wire_enc_ping(wb, m->type, m->token);
		break;
	case SC_MSG_WELCOME:
		wire_enc_welcome(wb, m->max_frame, m->ka_interval,
		    m->ka_timeout);
		break;
	case SC_MSG_OK:
		wire_enc_ok(wb, m->req, m->name);
		break;
	case SC_MSG_ERROR:
		wire_enc_error(wb, m->req, m->code, m->name);
		break;
	case SC_MSG_USERS:
	case SC_MSG_PRESENCE:
		fuzz_msg_list(wb, m);
		break;
	case SC_MSG_PAIRKEY:
		wire_enc_pairkey(wb, m->name, m->pair_id, m->key, m->idkey,
		    m->flags, m->cand, m->ncand);
		break;
	case SC_MSG_CANDIDATES:
		wire_enc_candidates(wb, m->pair_id, m->flags, m->cand,
		    m->ncand);
		break;
	case SC_MSG_UDPREG:
		wire_enc_udpreg(wb, m->port, m->flags, m->reg_id, m->key);
		break;
	case SC_MSG_GOODBYE:
		wire_enc_goodbye(wb, m->code);
		break;
	case SC_MSG_RCPT:
		wire_enc_rcpt(wb, m->name);
		break;
	case SC_MSG_STORE:
		wire_enc_store(wb, m->name, m->mailid, m->box, m->box_len);
		break;
	case SC_MSG_STOREACK:
		wire_enc_storeack(wb, m->mailid);
		break;
	case SC_MSG_STOREKEEP:
		wire_enc_storekeep(wb, m->mailid);
		break;
	case SC_MSG_RCPTKEY:
		wire_enc_rcptkey(wb, m->name, m->idkey);
		break;
	case SC_MSG_QUEUED:
		wire_enc_queued(wb, m->name, m->mailid);
		break;
	case SC_MSG_STORED:
		wire_enc_stored(wb, m->mailid, m->name, m->idkey, m->stime,
		    m->box, m->box_len);
		break;
	case SC_MSG_STORENOTE:
		wire_enc_storenote(wb, m->code, m->name, m->mailid);
		break;
	default:
		__builtin_trap();	/* decoded an unknown type */
	}
}

/* Byte comparison, folding A-Z in the name of SIGN and AUTH. */
static int
fuzz_msg_same(const struct sc_msg *m, const uint8_t *a, const uint8_t *b,
    size_t len)
{
	size_t	i;
	uint8_t	c;

	for (i = 0; i < len; i++) {
		c = a[i];
		if ((m->type == SC_MSG_SIGN || m->type == SC_MSG_AUTH) &&
		    i >= 2 && i < 2 + m->name_len && c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != b[i])
			return (0);
	}
	return (1);
}

/* One fuzz input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_msg	m, m2;
	struct wbuf	wb;
	int		rc;

	rc = wire_msg_decode(&m, data, size);
	if (rc == WIRE_MSG_BAD_NAME || rc == WIRE_MSG_BAD_PASS) {
		if (size < 1 || (data[0] != SC_MSG_SIGN &&
		    data[0] != SC_MSG_AUTH) || m.pass != NULL ||
		    m.name_len != 0 || m.type != data[0])
			__builtin_trap();
		return (0);
	}
	if (rc == WIRE_MSG_MALFORMED)
		return (0);
	if (rc != WIRE_MSG_OK)
		__builtin_trap();
	if (m.name[m.name_len] != '\0' || strlen(m.name) != m.name_len)
		__builtin_trap();
	wbuf_init(&wb);
	fuzz_msg_encode(&wb, &m);
	if (wb.oom || wb.len != size || !fuzz_msg_same(&m, data, wb.data, size))
		__builtin_trap();
	if (wire_msg_decode(&m2, wb.data, wb.len) != 0 || m2.type != m.type ||
	    strcmp(m2.name, m.name) != 0)
		__builtin_trap();
	wbuf_free(&wb);
	return (0);
}
