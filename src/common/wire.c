/* SPDX-License-Identifier: ISC */
/*
 * Wire codec: TCP frames and the messages inside them (docs/protocol.md,
 * sections 1, 4, 5 and 6).  No socket I/O and no crypto: the frame reader
 * and the decoder check every byte they are given and never trust a length
 * they have not bounded.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "sealchat/crypto.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

/* Largest buffer an encoder may grow to; a larger need is treated as oom. */
#define WBUF_LIMIT	((size_t)64 * 1024 * 1024)
#define WBUF_FIRST	256

/* Reads a big-endian u32. */
static uint32_t
wire_be32(const uint8_t *p)
{
	return (((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
}

/*
 * Checks the header at hdr of a frame of which have bytes arrived: -1 when
 * the announced length is outside [min_body, max_body] (and never 0), 0
 * when the body is not all there yet, 1 (and *body_len) when it is.
 */
static int
wire_frame_check(const uint8_t hdr[SC_FRAME_HDR], size_t have,
    size_t min_body, size_t max_body, size_t *body_len)
{
	uint32_t	len;

	len = wire_be32(hdr);
	if (len == 0 || len < min_body || len > max_body)
		return (-1);
	if (have - SC_FRAME_HDR < len)
		return (0);
	*body_len = len;
	return (1);
}

/* Looks for one whole frame at the start of buf. */
int
wire_frame_peek(const uint8_t *buf, size_t have, size_t max_body,
    size_t *body_len)
{
	if (have < SC_FRAME_HDR)
		return (0);
	return (wire_frame_check(buf, have, 1, max_body, body_len));
}

/*
 * Takes the frame at the front of an input buffer.  The header is copied
 * out, so checking a length never moves or allocates; only a whole frame
 * is made contiguous.
 */
int
wire_frame_pull(struct evbuffer *in, size_t min_body, size_t max_body,
    const uint8_t **body, size_t *body_len)
{
	uint8_t		 hdr[SC_FRAME_HDR];
	const uint8_t	*p;
	size_t		 have, len;
	int		 rc;

	have = evbuffer_get_length(in);
	if (have < SC_FRAME_HDR ||
	    evbuffer_copyout(in, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr))
		return (WIRE_FRAME_PARTIAL);
	if ((rc = wire_frame_check(hdr, have, min_body, max_body, &len)) < 0)
		return (WIRE_FRAME_BAD);
	if (rc == 0)
		return (WIRE_FRAME_PARTIAL);
	*body_len = len;
	if (body == NULL)
		return (WIRE_FRAME_READY);
	if ((p = evbuffer_pullup(in, (ev_ssize_t)(SC_FRAME_HDR + len))) == NULL)
		return (WIRE_FRAME_NOMEM);
	*body = p + SC_FRAME_HDR;
	return (WIRE_FRAME_READY);
}

/* Drops a handled frame, header and body, from the input. */
void
wire_frame_drop(struct evbuffer *in, size_t body_len)
{
	evbuffer_drain(in, SC_FRAME_HDR + body_len);
}

/* Writes the frame header for a body of body_len bytes. */
void
wire_frame_header(uint8_t hdr[SC_FRAME_HDR], uint32_t body_len)
{
	hdr[0] = (uint8_t)(body_len >> 24);
	hdr[1] = (uint8_t)(body_len >> 16);
	hdr[2] = (uint8_t)(body_len >> 8);
	hdr[3] = (uint8_t)body_len;
}

/* Starts an empty buffer; nothing is allocated until the first write. */
void
wbuf_init(struct wbuf *wb)
{
	memset(wb, 0, sizeof(*wb));
}

/* Empties the buffer (wiping what it held) and clears oom; keeps memory. */
void
wbuf_reset(struct wbuf *wb)
{
	if (wb->data != NULL && wb->len > 0)
		sc_wipe(wb->data, wb->len);
	wb->len = 0;
	wb->oom = 0;
}

/* Wipes and frees the buffer's memory; NULL-safe. */
void
wbuf_free(struct wbuf *wb)
{
	if (wb == NULL)
		return;
	if (wb->data != NULL) {
		sc_wipe(wb->data, wb->cap);
		free(wb->data);
	}
	memset(wb, 0, sizeof(*wb));
}

/*
 * Makes room for need more bytes.  Growth doubles so that appends cost
 * amortised constant time; old contents are wiped before they are freed
 * because a buffer may hold a password.
 */
static int
wbuf_reserve(struct wbuf *wb, size_t need)
{
	uint8_t	*p;
	size_t	 cap;

	if (wb->oom)
		return (-1);
	if (need <= wb->cap - wb->len)
		return (0);
	if (need > WBUF_LIMIT - wb->len)
		goto fail;
	cap = wb->cap == 0 ? WBUF_FIRST : wb->cap;
	while (cap - wb->len < need)
		cap = cap > WBUF_LIMIT / 2 ? WBUF_LIMIT : cap * 2;
	if ((p = malloc(cap)) == NULL)
		goto fail;
	if (wb->data != NULL) {
		memcpy(p, wb->data, wb->len);
		sc_wipe(wb->data, wb->cap);
		free(wb->data);
	}
	wb->data = p;
	wb->cap = cap;
	return (0);
fail:
	wb->oom = 1;
	return (-1);
}

/* Appends n raw bytes. */
void
wbuf_put(struct wbuf *wb, const void *src, size_t n)
{
	if (n == 0 || wbuf_reserve(wb, n) != 0)
		return;
	memcpy(wb->data + wb->len, src, n);
	wb->len += n;
}

/* Appends one byte. */
void
wbuf_u8(struct wbuf *wb, uint8_t v)
{
	wbuf_put(wb, &v, 1);
}

/* Appends a big-endian u16. */
void
wbuf_u16(struct wbuf *wb, uint16_t v)
{
	uint8_t	b[2];

	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	wbuf_put(wb, b, sizeof(b));
}

/* Appends a big-endian u32. */
void
wbuf_u32(struct wbuf *wb, uint32_t v)
{
	uint8_t	b[4];

	wire_frame_header(b, v);
	wbuf_put(wb, b, sizeof(b));
}

/* Appends a big-endian u64. */
void
wbuf_u64(struct wbuf *wb, uint64_t v)
{
	uint8_t	b[8];

	util_put_be64(b, v);
	wbuf_put(wb, b, sizeof(b));
}

/* Appends a str8; a string longer than 255 bytes cannot be encoded (oom). */
void
wbuf_str8(struct wbuf *wb, const char *s, size_t len)
{
	if (len > UINT8_MAX) {
		wb->oom = 1;
		return;
	}
	wbuf_u8(wb, (uint8_t)len);
	wbuf_put(wb, s, len);
}

/* Starts reading len bytes at p. */
void
rbuf_init(struct rbuf *rb, const uint8_t *p, size_t len)
{
	rb->p = p;
	rb->len = len;
	rb->off = 0;
	rb->err = 0;
}

/* Bytes not read yet. */
size_t
rbuf_left(const struct rbuf *rb)
{
	return (rb->len - rb->off);
}

/* Returns the next n bytes, or NULL (and sets err) when fewer are left. */
const uint8_t *
rbuf_bytes(struct rbuf *rb, size_t n)
{
	const uint8_t	*p;

	if (rb->err || n > rbuf_left(rb)) {
		rb->err = 1;
		return (NULL);
	}
	p = rb->p + rb->off;
	rb->off += n;
	return (p);
}

/* Reads one byte. */
uint8_t
rbuf_u8(struct rbuf *rb)
{
	const uint8_t	*p;

	if ((p = rbuf_bytes(rb, 1)) == NULL)
		return (0);
	return (p[0]);
}

/* Reads a big-endian u16. */
uint16_t
rbuf_u16(struct rbuf *rb)
{
	const uint8_t	*p;

	if ((p = rbuf_bytes(rb, 2)) == NULL)
		return (0);
	return ((uint16_t)((p[0] << 8) | p[1]));
}

/* Reads a big-endian u32. */
uint32_t
rbuf_u32(struct rbuf *rb)
{
	const uint8_t	*p;

	if ((p = rbuf_bytes(rb, 4)) == NULL)
		return (0);
	return (wire_be32(p));
}

/* Reads a big-endian u64. */
uint64_t
rbuf_u64(struct rbuf *rb)
{
	const uint8_t	*p;

	if ((p = rbuf_bytes(rb, 8)) == NULL)
		return (0);
	return (util_get_be64(p));
}

/* True for a byte allowed anywhere in a canonical name. */
static int
wire_name_char(uint8_t c)
{
	if (c >= 'a' && c <= 'z')
		return (1);
	if (c >= '0' && c <= '9')
		return (1);
	return (c == '.' || c == '_' || c == '-');
}

/* Checks that s[0..len) is a name in canonical (lower-case) form. */
int
wire_name_valid(const char *s, size_t len)
{
	size_t	i;
	uint8_t	c;

	if (s == NULL || len < SC_NAME_MIN || len > SC_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		c = (uint8_t)s[i];
		if (!wire_name_char(c))
			return (0);
	}
	c = (uint8_t)s[0];
	return ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

/*
 * Folds A-Z to lower case and checks the result.  out always ends up
 * NUL-terminated (empty on failure).  Returns 0 or -1.
 */
int
wire_name_canon(char out[SC_NAME_MAX + 1], const char *s, size_t len)
{
	size_t	i;
	char	c;

	out[0] = '\0';
	if (s == NULL || len < SC_NAME_MIN || len > SC_NAME_MAX)
		return (-1);
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = c;
	}
	out[len] = '\0';
	if (!wire_name_valid(out, len)) {
		out[0] = '\0';
		return (-1);
	}
	return (0);
}

/* Reads a str8 name into out; only the canonical form is accepted. */
static int
wire_get_name(struct rbuf *rb, char out[SC_NAME_MAX + 1], size_t *out_len)
{
	const uint8_t	*p;
	size_t		 n;

	n = rbuf_u8(rb);
	if ((p = rbuf_bytes(rb, n)) == NULL)
		return (-1);
	if (!wire_name_valid((const char *)p, n))
		return (-1);
	memcpy(out, p, n);
	out[n] = '\0';
	*out_len = n;
	return (0);
}

/*
 * SIGN, AUTH: str8 name (folded), u16 pass_len, password.  The layout is
 * checked whole first, trailing bytes included: only a message that is
 * well formed gets the reason a rule was broken, the password's before the
 * name's (docs/protocol.md, section 5).
 */
static int
wire_dec_cred(struct sc_msg *m, struct rbuf *rb)
{
	const uint8_t	*name;
	size_t		 nlen;

	nlen = rbuf_u8(rb);
	name = rbuf_bytes(rb, nlen);
	m->pass_len = rbuf_u16(rb);
	m->pass = rbuf_bytes(rb, m->pass_len);
	if (rb->err || rbuf_left(rb) != 0)
		return (WIRE_MSG_MALFORMED);
	if (m->pass_len < SC_PASS_MIN || m->pass_len > SC_PASS_MAX)
		return (WIRE_MSG_BAD_PASS);
	if (wire_name_canon(m->name, (const char *)name, nlen) != 0)
		return (WIRE_MSG_BAD_NAME);
	m->name_len = nlen;
	return (WIRE_MSG_OK);
}

/* An address: u8 af, then 4 or 16 bytes. */
static int
wire_get_addr(struct rbuf *rb, struct sc_cand *c)
{
	const uint8_t	*p;
	size_t		 alen;

	c->af = rbuf_u8(rb);
	if (c->af == SC_AF_INET)
		alen = 4;
	else if (c->af == SC_AF_INET6)
		alen = 16;
	else
		return (-1);
	if ((p = rbuf_bytes(rb, alen)) == NULL)
		return (-1);
	memset(c->addr, 0, sizeof(c->addr));
	memcpy(c->addr, p, alen);
	return (0);
}

/*
 * Candidate entries to the end of the payload: u8 kind, an address, u16
 * port (not 0); at most SC_HOST_MAX HOST and one SRFLX.
 */
static int
wire_get_cands(struct sc_msg *m, struct rbuf *rb)
{
	struct sc_cand	*c;
	size_t		 hosts = 0, srflx = 0;

	while (rbuf_left(rb) > 0) {
		if (m->ncand == SC_CAND_MAX)
			return (-1);
		c = &m->cand[m->ncand++];
		c->kind = rbuf_u8(rb);
		if (c->kind == SC_CAND_HOST)
			hosts++;
		else if (c->kind == SC_CAND_SRFLX)
			srflx++;
		else
			return (-1);
		if (hosts > SC_HOST_MAX || srflx > 1 ||
		    wire_get_addr(rb, c) != 0)
			return (-1);
		c->port = rbuf_u16(rb);
		if (rb->err || c->port == 0)
			return (-1);
	}
	return (0);
}

/* UDP: u16 port, not 0. */
static int
wire_dec_udp(struct sc_msg *m, struct rbuf *rb)
{
	struct sc_cand	*c;

	m->port = rbuf_u16(rb);
	if (rb->err || m->port == 0)
		return (-1);
	while (rbuf_left(rb) > 0) {
		if (m->ncand == SC_HOST_MAX)
			return (-1);
		c = &m->cand[m->ncand++];
		c->kind = SC_CAND_HOST;
		c->port = m->port;
		if (wire_get_addr(rb, c) != 0)
			return (-1);
	}
	return (0);
}

/* RECHECK: u64 pair_id. */
static int
wire_dec_recheck(struct sc_msg *m, struct rbuf *rb)
{
	m->pair_id = rbuf_u64(rb);
	return (rb->err ? -1 : 0);
}

/* IDENTITY: a 32-byte public key, not all zero. */
static int
wire_dec_identity(struct sc_msg *m, struct rbuf *rb)
{
	static const uint8_t	zero[SC_KEY_BYTES];

	if ((m->idkey = rbuf_bytes(rb, SC_KEY_BYTES)) == NULL ||
	    memcmp(m->idkey, zero, SC_KEY_BYTES) == 0)
		return (-1);
	return (0);
}

/* PAIR: str8 canonical name. */
static int
wire_dec_pair(struct sc_msg *m, struct rbuf *rb)
{
	return (wire_get_name(rb, m->name, &m->name_len));
}

/* PING, PONG: u64 token. */
static int
wire_dec_token(struct sc_msg *m, struct rbuf *rb)
{
	m->token = rbuf_u64(rb);
	return (rb->err ? -1 : 0);
}

/* WELCOME: version, max_frame, ka_interval, ka_timeout. */
static int
wire_dec_welcome(struct sc_msg *m, struct rbuf *rb)
{
	m->version = rbuf_u8(rb);
	m->max_frame = rbuf_u32(rb);
	m->ka_interval = rbuf_u16(rb);
	m->ka_timeout = rbuf_u16(rb);
	if (rb->err || m->version != SC_PROTO_VERSION)
		return (-1);
	if (m->max_frame < SC_FRAME_MIN || m->max_frame > SC_FRAME_LIMIT)
		return (-1);
	if (m->ka_interval == 0 || m->ka_timeout == 0)
		return (-1);
	return (0);
}

/* OK: req (SIGN or AUTH), str8 canonical name. */
static int
wire_dec_ok(struct sc_msg *m, struct rbuf *rb)
{
	m->req = rbuf_u8(rb);
	if (m->req != SC_MSG_SIGN && m->req != SC_MSG_AUTH)
		return (-1);
	return (wire_get_name(rb, m->name, &m->name_len));
}

/*
 * ERROR: req, code, str8 subject.  The subject (kept in m->name) is the
 * peer's canonical name when req is PAIR, RCPT or STORE, else empty.
 */
static int
wire_dec_error(struct sc_msg *m, struct rbuf *rb)
{
	m->req = rbuf_u8(rb);
	m->code = rbuf_u8(rb);
	if (rb->err || m->req < SC_MSG_SIGN || m->req > SC_MSG_CLIENT_LAST)
		return (-1);
	if (m->code < 1 || m->code > SC_ERR_MAX)
		return (-1);
	if (m->req == SC_MSG_PAIR || m->req == SC_MSG_RCPT ||
	    m->req == SC_MSG_STORE)
		return (wire_get_name(rb, m->name, &m->name_len));
	return (rbuf_u8(rb) == 0 && !rb->err ? 0 : -1);
}

/* A message id: 16 bytes. */
static int
wire_get_mailid(struct sc_msg *m, struct rbuf *rb)
{
	m->mailid = rbuf_bytes(rb, SC_MAIL_ID_BYTES);
	return (m->mailid == NULL ? -1 : 0);
}

/* A sealed message: u16 box_len (SC_MAIL_BOX_MIN..MAX), the box. */
static int
wire_get_box(struct sc_msg *m, struct rbuf *rb)
{
	m->box_len = rbuf_u16(rb);
	if (rb->err || m->box_len < SC_MAIL_BOX_MIN ||
	    m->box_len > SC_MAIL_BOX_MAX)
		return (-1);
	m->box = rbuf_bytes(rb, m->box_len);
	return (m->box == NULL ? -1 : 0);
}

/* An identity public key: 32 bytes, not all zero. */
static int
wire_get_idkey(struct sc_msg *m, struct rbuf *rb)
{
	static const uint8_t	zero[SC_KEY_BYTES];

	if ((m->idkey = rbuf_bytes(rb, SC_KEY_BYTES)) == NULL ||
	    memcmp(m->idkey, zero, SC_KEY_BYTES) == 0)
		return (-1);
	return (0);
}

/* STORE: str8 recipient, id, u16 box_len, box. */
static int
wire_dec_store(struct sc_msg *m, struct rbuf *rb)
{
	if (wire_get_name(rb, m->name, &m->name_len) != 0 ||
	    wire_get_mailid(m, rb) != 0)
		return (-1);
	return (wire_get_box(m, rb));
}

/* STOREACK and STOREKEEP: id. */
static int
wire_dec_storeack(struct sc_msg *m, struct rbuf *rb)
{
	return (wire_get_mailid(m, rb));
}

/* RCPTKEY: str8 name, the user's identity public key. */
static int
wire_dec_rcptkey(struct sc_msg *m, struct rbuf *rb)
{
	if (wire_get_name(rb, m->name, &m->name_len) != 0)
		return (-1);
	return (wire_get_idkey(m, rb));
}

/* QUEUED: str8 recipient, id. */
static int
wire_dec_queued(struct sc_msg *m, struct rbuf *rb)
{
	if (wire_get_name(rb, m->name, &m->name_len) != 0)
		return (-1);
	return (wire_get_mailid(m, rb));
}

/*
 * STORED: id, str8 sender, the sender's identity public key, u64 time
 * stored (Unix seconds), u16 box_len, box.
 */
static int
wire_dec_stored(struct sc_msg *m, struct rbuf *rb)
{
	if (wire_get_mailid(m, rb) != 0 ||
	    wire_get_name(rb, m->name, &m->name_len) != 0 ||
	    wire_get_idkey(m, rb) != 0)
		return (-1);
	m->stime = rbuf_u64(rb);
	if (rb->err)
		return (-1);
	return (wire_get_box(m, rb));
}

/* STORENOTE: u8 event (DELIVERED or EXPIRED), str8 recipient, id. */
static int
wire_dec_storenote(struct sc_msg *m, struct rbuf *rb)
{
	m->code = rbuf_u8(rb);
	if (rb->err || (m->code != SC_NOTE_DELIVERED &&
	    m->code != SC_NOTE_EXPIRED))
		return (-1);
	if (wire_get_name(rb, m->name, &m->name_len) != 0)
		return (-1);
	return (wire_get_mailid(m, rb));
}

/* Checks a list of str8 names; with events, each is preceded by 0 or 1. */
static int
wire_check_list(struct sc_msg *m, struct rbuf *rb, int events)
{
	char	name[SC_NAME_MAX + 1];
	size_t	n, count = 0;

	m->list = rb->p + rb->off;
	m->list_len = rbuf_left(rb);
	while (rbuf_left(rb) > 0) {
		if (events && rbuf_u8(rb) > SC_PRESENCE_ONLINE)
			return (-1);
		if (wire_get_name(rb, name, &n) != 0)
			return (-1);
		count++;
	}
	if (events && count == 0)
		return (-1);
	return (0);
}

/* USERS: flags (MORE, REPLY only), then zero or more names. */
static int
wire_dec_users(struct sc_msg *m, struct rbuf *rb)
{
	m->flags = rbuf_u8(rb);
	if (rb->err || (m->flags & ~(SC_USERS_MORE | SC_USERS_REPLY)) != 0)
		return (-1);
	return (wire_check_list(m, rb, 0));
}

/* PRESENCE: one or more (event, name) entries. */
static int
wire_dec_presence(struct sc_msg *m, struct rbuf *rb)
{
	return (wire_check_list(m, rb, 1));
}

/*
 * PAIRKEY: peer, pair_id, Kxy, the peer's identity key (not all zero),
 * flags, the peer's candidates.
 */
static int
wire_dec_pairkey(struct sc_msg *m, struct rbuf *rb)
{
	static const uint8_t	zero[SC_KEY_BYTES];

	if (wire_get_name(rb, m->name, &m->name_len) != 0)
		return (-1);
	m->pair_id = rbuf_u64(rb);
	if ((m->key = rbuf_bytes(rb, SC_KEY_BYTES)) == NULL ||
	    (m->idkey = rbuf_bytes(rb, SC_KEY_BYTES)) == NULL ||
	    memcmp(m->idkey, zero, SC_KEY_BYTES) == 0)
		return (-1);
	m->flags = rbuf_u8(rb);
	if (rb->err || (m->flags & ~SC_PAIR_RELAY) != 0)
		return (-1);
	return (wire_get_cands(m, rb));
}

/* CANDIDATES: u64 pair_id, u8 flags, candidate entries. */
static int
wire_dec_candidates(struct sc_msg *m, struct rbuf *rb)
{
	m->pair_id = rbuf_u64(rb);
	m->flags = rbuf_u8(rb);
	if (rb->err || (m->flags & ~SC_PAIR_RELAY) != 0)
		return (-1);
	return (wire_get_cands(m, rb));
}

/* UDPREG: u16 udp_port, u8 flags, u64 reg_id, 32-byte key. */
static int
wire_dec_udpreg(struct sc_msg *m, struct rbuf *rb)
{
	m->port = rbuf_u16(rb);
	m->flags = rbuf_u8(rb);
	m->reg_id = rbuf_u64(rb);
	if ((m->key = rbuf_bytes(rb, SC_KEY_BYTES)) == NULL)
		return (-1);
	if (rb->err || m->port == 0 || (m->flags & ~SC_UDPREG_RELAY) != 0)
		return (-1);
	return (0);
}

/* GOODBYE: reason 1 to SC_BYE_MAX. */
static int
wire_dec_goodbye(struct sc_msg *m, struct rbuf *rb)
{
	m->code = rbuf_u8(rb);
	if (rb->err || m->code < SC_BYE_SHUTDOWN || m->code > SC_BYE_MAX)
		return (-1);
	return (0);
}

/* Messages with an empty payload (LIST, LOGOUT). */
static int
wire_dec_empty(struct sc_msg *m, struct rbuf *rb)
{
	(void)m;
	(void)rb;
	return (0);
}

/* One decoder per message type. */
static const struct wire_decoder {
	uint8_t	  type;
	int	(*dec)(struct sc_msg *, struct rbuf *);
} wire_decoders[] = {
	{ SC_MSG_SIGN, wire_dec_cred },
	{ SC_MSG_AUTH, wire_dec_cred },
	{ SC_MSG_LIST, wire_dec_empty },
	{ SC_MSG_UDP, wire_dec_udp },
	{ SC_MSG_PAIR, wire_dec_pair },
	{ SC_MSG_PING, wire_dec_token },
	{ SC_MSG_LOGOUT, wire_dec_empty },
	{ SC_MSG_RECHECK, wire_dec_recheck },
	{ SC_MSG_IDENTITY, wire_dec_identity },
	{ SC_MSG_RCPT, wire_dec_pair },
	{ SC_MSG_STORE, wire_dec_store },
	{ SC_MSG_STOREACK, wire_dec_storeack },
	{ SC_MSG_STOREKEEP, wire_dec_storeack },
	{ SC_MSG_WELCOME, wire_dec_welcome },
	{ SC_MSG_OK, wire_dec_ok },
	{ SC_MSG_ERROR, wire_dec_error },
	{ SC_MSG_USERS, wire_dec_users },
	{ SC_MSG_PRESENCE, wire_dec_presence },
	{ SC_MSG_PAIRKEY, wire_dec_pairkey },
	{ SC_MSG_PONG, wire_dec_token },
	{ SC_MSG_GOODBYE, wire_dec_goodbye },
	{ SC_MSG_UDPREG, wire_dec_udpreg },
	{ SC_MSG_CANDIDATES, wire_dec_candidates },
	{ SC_MSG_RCPTKEY, wire_dec_rcptkey },
	{ SC_MSG_QUEUED, wire_dec_queued },
	{ SC_MSG_STORED, wire_dec_stored },
	{ SC_MSG_STORENOTE, wire_dec_storenote },
};

/*
 * Decodes one message and checks all of it; any payload that is not exactly
 * as specified (including trailing bytes) is refused.  On failure *m is
 * left zeroed apart from the type.
 */
int
wire_msg_decode(struct sc_msg *m, const uint8_t *buf, size_t len)
{
	struct rbuf	rb;
	size_t		i;
	uint8_t		type;
	int		rc;

	memset(m, 0, sizeof(*m));
	rbuf_init(&rb, buf, len);
	type = rbuf_u8(&rb);
	if (rb.err)
		return (WIRE_MSG_MALFORMED);
	for (i = 0; i < sizeof(wire_decoders) / sizeof(wire_decoders[0]); i++) {
		if (wire_decoders[i].type != type)
			continue;
		m->type = type;
		rc = wire_decoders[i].dec(m, &rb);
		if (rc == WIRE_MSG_OK && (rb.err || rbuf_left(&rb) != 0))
			rc = WIRE_MSG_MALFORMED;
		if (rc != WIRE_MSG_OK)
			goto fail;
		return (WIRE_MSG_OK);
	}
	return (WIRE_MSG_MALFORMED);
fail:
	memset(m, 0, sizeof(*m));
	m->type = type;
	return (rc);
}

/* Reads the next str8 name of a decoded list; 0 at the end or on damage. */
static int
wire_list_name(const struct sc_msg *m, size_t *off, char name[SC_NAME_MAX + 1])
{
	size_t	n;

	if (*off >= m->list_len)
		return (0);
	n = m->list[*off];
	if (n > m->list_len - *off - 1 || !wire_name_valid(
	    (const char *)m->list + *off + 1, n))
		return (0);
	memcpy(name, m->list + *off + 1, n);
	name[n] = '\0';
	*off += 1 + n;
	return (1);
}

/* Next name of a USERS list. */
int
wire_users_next(const struct sc_msg *m, size_t *off,
    char name[SC_NAME_MAX + 1])
{
	if (m->type != SC_MSG_USERS || m->list == NULL)
		return (0);
	return (wire_list_name(m, off, name));
}

/* Next (event, name) of a PRESENCE message. */
int
wire_presence_next(const struct sc_msg *m, size_t *off, int *online,
    char name[SC_NAME_MAX + 1])
{
	size_t	next;
	uint8_t	ev;

	if (m->type != SC_MSG_PRESENCE || m->list == NULL ||
	    *off >= m->list_len)
		return (0);
	ev = m->list[*off];
	if (ev > SC_PRESENCE_ONLINE)
		return (0);
	next = *off + 1;
	if (!wire_list_name(m, &next, name))
		return (0);
	*online = ev == SC_PRESENCE_ONLINE;
	*off = next;
	return (1);
}

/* Length of a C string given to an encoder (NULL counts as empty). */
static size_t
wire_strlen(const char *s)
{
	return (s == NULL ? 0 : strlen(s));
}

/* SIGN or AUTH; a password longer than a u16 cannot be encoded (oom). */
void
wire_enc_cred(struct wbuf *wb, uint8_t type, const char *name,
    const uint8_t *pass, size_t pass_len)
{
	if (pass_len > UINT16_MAX) {
		wb->oom = 1;
		return;
	}
	wbuf_u8(wb, type);
	wbuf_str8(wb, name, wire_strlen(name));
	wbuf_u16(wb, (uint16_t)pass_len);
	wbuf_put(wb, pass, pass_len);
}

/* A message made of its type alone (LIST, LOGOUT). */
void
wire_enc_empty(struct wbuf *wb, uint8_t type)
{
	wbuf_u8(wb, type);
}

/* UDP port registration. */
void
wire_enc_udp(struct wbuf *wb, uint16_t port, const struct sc_cand *hosts,
    size_t n)
{
	size_t	i;

	if (n > SC_HOST_MAX) {
		wb->oom = 1;
		return;
	}
	for (i = 0; i < n; i++)
		if (hosts[i].af != SC_AF_INET && hosts[i].af != SC_AF_INET6) {
			wb->oom = 1;
			return;
		}
	wbuf_u8(wb, SC_MSG_UDP);
	wbuf_u16(wb, port);
	for (i = 0; i < n; i++) {
		wbuf_u8(wb, hosts[i].af);
		wbuf_put(wb, hosts[i].addr, hosts[i].af == SC_AF_INET ? 4 : 16);
	}
}

/* RECHECK for a pair. */
void
wire_enc_recheck(struct wbuf *wb, uint64_t pair_id)
{
	wbuf_u8(wb, SC_MSG_RECHECK);
	wbuf_u64(wb, pair_id);
}

/* IDENTITY: the user's identity public key. */
void
wire_enc_identity(struct wbuf *wb, const uint8_t key[SC_KEY_BYTES])
{
	wbuf_u8(wb, SC_MSG_IDENTITY);
	wbuf_put(wb, key, SC_KEY_BYTES);
}

/* PAIR request for a peer. */
void
wire_enc_pair(struct wbuf *wb, const char *name)
{
	wbuf_u8(wb, SC_MSG_PAIR);
	wbuf_str8(wb, name, wire_strlen(name));
}

/* RCPT: the identity key of an offline recipient. */
void
wire_enc_rcpt(struct wbuf *wb, const char *name)
{
	wbuf_u8(wb, SC_MSG_RCPT);
	wbuf_str8(wb, name, wire_strlen(name));
}

/* A box's length and bytes; one out of bounds sets the oom flag. */
static void
wire_put_box(struct wbuf *wb, const uint8_t *box, size_t len)
{
	if (len < SC_MAIL_BOX_MIN || len > SC_MAIL_BOX_MAX) {
		wb->oom = 1;
		return;
	}
	wbuf_u16(wb, (uint16_t)len);
	wbuf_put(wb, box, len);
}

/* STORE: a sealed message for name. */
void
wire_enc_store(struct wbuf *wb, const char *name,
    const uint8_t id[SC_MAIL_ID_BYTES], const uint8_t *box, size_t len)
{
	wbuf_u8(wb, SC_MSG_STORE);
	wbuf_str8(wb, name, wire_strlen(name));
	wbuf_put(wb, id, SC_MAIL_ID_BYTES);
	wire_put_box(wb, box, len);
}

/* A message of type that carries one stored message id alone. */
static void
wire_enc_mailid(struct wbuf *wb, uint8_t type,
    const uint8_t id[SC_MAIL_ID_BYTES])
{
	wbuf_u8(wb, type);
	wbuf_put(wb, id, SC_MAIL_ID_BYTES);
}

/* STOREACK: the stored message id was shown. */
void
wire_enc_storeack(struct wbuf *wb, const uint8_t id[SC_MAIL_ID_BYTES])
{
	wire_enc_mailid(wb, SC_MSG_STOREACK, id);
}

/* STOREKEEP: the stored message id is held back, to come again. */
void
wire_enc_storekeep(struct wbuf *wb, const uint8_t id[SC_MAIL_ID_BYTES])
{
	wire_enc_mailid(wb, SC_MSG_STOREKEEP, id);
}

/* RCPTKEY: name's identity public key. */
void
wire_enc_rcptkey(struct wbuf *wb, const char *name,
    const uint8_t key[SC_KEY_BYTES])
{
	wbuf_u8(wb, SC_MSG_RCPTKEY);
	wbuf_str8(wb, name, wire_strlen(name));
	wbuf_put(wb, key, SC_KEY_BYTES);
}

/* QUEUED: the message id for name is stored. */
void
wire_enc_queued(struct wbuf *wb, const char *name,
    const uint8_t id[SC_MAIL_ID_BYTES])
{
	wbuf_u8(wb, SC_MSG_QUEUED);
	wbuf_str8(wb, name, wire_strlen(name));
	wbuf_put(wb, id, SC_MAIL_ID_BYTES);
}

/* STORED: one stored message for its recipient. */
void
wire_enc_stored(struct wbuf *wb, const uint8_t id[SC_MAIL_ID_BYTES],
    const char *from, const uint8_t key[SC_KEY_BYTES], uint64_t stime,
    const uint8_t *box, size_t len)
{
	wbuf_u8(wb, SC_MSG_STORED);
	wbuf_put(wb, id, SC_MAIL_ID_BYTES);
	wbuf_str8(wb, from, wire_strlen(from));
	wbuf_put(wb, key, SC_KEY_BYTES);
	wbuf_u64(wb, stime);
	wire_put_box(wb, box, len);
}

/* STORENOTE: what became of a message the sender stored for name. */
void
wire_enc_storenote(struct wbuf *wb, uint8_t event, const char *name,
    const uint8_t id[SC_MAIL_ID_BYTES])
{
	wbuf_u8(wb, SC_MSG_STORENOTE);
	wbuf_u8(wb, event);
	wbuf_str8(wb, name, wire_strlen(name));
	wbuf_put(wb, id, SC_MAIL_ID_BYTES);
}

/* PING or PONG with its token. */
void
wire_enc_ping(struct wbuf *wb, uint8_t type, uint64_t token)
{
	wbuf_u8(wb, type);
	wbuf_u64(wb, token);
}

/* WELCOME with the server's limits. */
void
wire_enc_welcome(struct wbuf *wb, uint32_t max_frame, uint16_t ka_interval,
    uint16_t ka_timeout)
{
	wbuf_u8(wb, SC_MSG_WELCOME);
	wbuf_u8(wb, SC_PROTO_VERSION);
	wbuf_u32(wb, max_frame);
	wbuf_u16(wb, ka_interval);
	wbuf_u16(wb, ka_timeout);
}

/* OK for a SIGN or AUTH. */
void
wire_enc_ok(struct wbuf *wb, uint8_t req, const char *name)
{
	wbuf_u8(wb, SC_MSG_OK);
	wbuf_u8(wb, req);
	wbuf_str8(wb, name, wire_strlen(name));
}

/* ERROR for a request; subject may be NULL (empty). */
void
wire_enc_error(struct wbuf *wb, uint8_t req, uint8_t code,
    const char *subject)
{
	wbuf_u8(wb, SC_MSG_ERROR);
	wbuf_u8(wb, req);
	wbuf_u8(wb, code);
	wbuf_str8(wb, subject, wire_strlen(subject));
}

/* Starts a USERS message; entries follow. */
void
wire_enc_users_begin(struct wbuf *wb, uint8_t flags)
{
	wbuf_u8(wb, SC_MSG_USERS);
	wbuf_u8(wb, flags);
}

/* Starts a PRESENCE message; entries follow. */
void
wire_enc_presence_begin(struct wbuf *wb)
{
	wbuf_u8(wb, SC_MSG_PRESENCE);
}

/* One USERS entry. */
void
wire_enc_users_entry(struct wbuf *wb, const char *name, size_t len)
{
	wbuf_str8(wb, name, len);
}

/* One PRESENCE entry. */
void
wire_enc_presence_entry(struct wbuf *wb, int online, const char *name,
    size_t len)
{
	wbuf_u8(wb, online ? SC_PRESENCE_ONLINE : SC_PRESENCE_OFFLINE);
	wbuf_str8(wb, name, len);
}

/*
 * Appends candidate entries, or sets oom when they break the rules that
 * the decoder checks.
 */
static void
wire_put_cands(struct wbuf *wb, const struct sc_cand *c, size_t n)
{
	size_t	i, hosts = 0, srflx = 0;

	for (i = 0; i < n; i++) {
		if (c[i].kind == SC_CAND_HOST)
			hosts++;
		else if (c[i].kind == SC_CAND_SRFLX)
			srflx++;
		else
			hosts = SC_CAND_MAX;
		if ((c[i].af != SC_AF_INET && c[i].af != SC_AF_INET6) ||
		    c[i].port == 0 || hosts > SC_HOST_MAX || srflx > 1) {
			wb->oom = 1;
			return;
		}
	}
	for (i = 0; i < n; i++) {
		wbuf_u8(wb, c[i].kind);
		wbuf_u8(wb, c[i].af);
		wbuf_put(wb, c[i].addr, c[i].af == SC_AF_INET ? 4 : 16);
		wbuf_u16(wb, c[i].port);
	}
}

/*
 * PAIRKEY: the peer, the pair's id and key, the peer's identity key,
 * flags, the peer's candidates.
 */
void
wire_enc_pairkey(struct wbuf *wb, const char *peer, uint64_t pair_id,
    const uint8_t key[SC_KEY_BYTES], const uint8_t idkey[SC_KEY_BYTES],
    uint8_t flags, const struct sc_cand *c, size_t n)
{
	wbuf_u8(wb, SC_MSG_PAIRKEY);
	wbuf_str8(wb, peer, wire_strlen(peer));
	wbuf_u64(wb, pair_id);
	wbuf_put(wb, key, SC_KEY_BYTES);
	wbuf_put(wb, idkey, SC_KEY_BYTES);
	wbuf_u8(wb, flags);
	wire_put_cands(wb, c, n);
}

/* CANDIDATES: a pair's id, flags, the peer's current candidates. */
void
wire_enc_candidates(struct wbuf *wb, uint64_t pair_id, uint8_t flags,
    const struct sc_cand *c, size_t n)
{
	wbuf_u8(wb, SC_MSG_CANDIDATES);
	wbuf_u64(wb, pair_id);
	wbuf_u8(wb, flags);
	wire_put_cands(wb, c, n);
}

/* UDPREG: where and how to register the client's UDP endpoint. */
void
wire_enc_udpreg(struct wbuf *wb, uint16_t udp_port, uint8_t flags,
    uint64_t reg_id, const uint8_t key[SC_KEY_BYTES])
{
	wbuf_u8(wb, SC_MSG_UDPREG);
	wbuf_u16(wb, udp_port);
	wbuf_u8(wb, flags);
	wbuf_u64(wb, reg_id);
	wbuf_put(wb, key, SC_KEY_BYTES);
}

/* GOODBYE with its reason. */
void
wire_enc_goodbye(struct wbuf *wb, uint8_t reason)
{
	wbuf_u8(wb, SC_MSG_GOODBYE);
	wbuf_u8(wb, reason);
}

/* An endpoint as 19 bytes: af, 16 address bytes, big-endian port. */
void
wire_endpoint_put(uint8_t out[SC_ENDPOINT_BYTES], const struct sc_cand *c)
{
	memset(out, 0, SC_ENDPOINT_BYTES);
	out[0] = c->af;
	memcpy(out + 1, c->addr, c->af == SC_AF_INET ? 4 : 16);
	out[17] = (uint8_t)(c->port >> 8);
	out[18] = (uint8_t)c->port;
}

/* Reads a 19-byte endpoint; -1 for an unknown af or non-zero padding. */
int
wire_endpoint_get(struct sc_cand *c, const uint8_t in[SC_ENDPOINT_BYTES])
{
	static const uint8_t	zero[12];

	memset(c, 0, sizeof(*c));
	c->af = in[0];
	if (c->af == SC_AF_INET) {
		if (memcmp(in + 5, zero, sizeof(zero)) != 0)
			return (-1);
	} else if (c->af != SC_AF_INET6)
		return (-1);
	memcpy(c->addr, in + 1, 16);
	c->port = (uint16_t)(in[17] << 8 | in[18]);
	return (0);
}

/* The socket address of a candidate; 0 for an unknown family. */
socklen_t
wire_cand_to_sa(struct sockaddr_storage *ss, const struct sc_cand *c)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (c->af == SC_AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, c->addr, 4);
		sin->sin_port = htons(c->port);
		return (sizeof(*sin));
	}
	if (c->af == SC_AF_INET6) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, c->addr, 16);
		sin6->sin6_port = htons(c->port);
		return (sizeof(*sin6));
	}
	return (0);
}

/*
 * The candidate of a socket address; an IPv4-mapped IPv6 address (a
 * dual-stack socket's view of an IPv4 peer) becomes IPv4.  -1 for other
 * families.
 */
int
wire_cand_from_sa(struct sc_cand *c, uint8_t kind, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	if (sa->sa_family == AF_INET) {
		c->af = SC_AF_INET;
		memcpy(c->addr, &sin->sin_addr, 4);
		c->port = ntohs(sin->sin_port);
		return (0);
	}
	if (sa->sa_family != AF_INET6)
		return (-1);
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		c->af = SC_AF_INET;
		memcpy(c->addr, sin6->sin6_addr.s6_addr + 12, 4);
	} else {
		c->af = SC_AF_INET6;
		memcpy(c->addr, &sin6->sin6_addr, 16);
	}
	c->port = ntohs(sin6->sin6_port);
	return (0);
}

/* Reason text of an ERROR code, as docs/protocol.md section 5 lists it. */
const char *
wire_err_str(uint8_t code)
{
	static const char *const texts[] = {
		[SC_ERR_CREDENTIALS] = "wrong user or password",
		[SC_ERR_TAKEN] = "name taken",
		[SC_ERR_BAD_NAME] = "bad name",
		[SC_ERR_BAD_PASS] = "bad password",
		[SC_ERR_BUSY] = "server busy",
		[SC_ERR_STATE] = "not allowed now",
		[SC_ERR_OFFLINE] = "user offline",
		[SC_ERR_NO_UDP] = "user has no udp",
		[SC_ERR_INTERNAL] = "server error",
		[SC_ERR_CLOSED] = "sign-up is closed on this server",
		[SC_ERR_LOCKED] = "account locked",
		[SC_ERR_NO_IDENTITY] = "user has no identity key",
		[SC_ERR_NO_MAILBOX] = "user cannot get messages while offline "
		    "(no identity key registered)",
		[SC_ERR_QUEUE_FULL] = "too many messages queued for user",
		[SC_ERR_QUEUE_BYTES] = "too many bytes queued for user",
		[SC_ERR_QUEUE_RATE] = "too many messages queued, try later",
	};

	if (code < 1 || code > SC_ERR_MAX)
		return ("unknown error");
	return (texts[code]);
}

/* Text of a GOODBYE reason. */
const char *
wire_bye_str(uint8_t reason)
{
	static const char *const texts[] = {
		[SC_BYE_SHUTDOWN] = "server shutting down",
		[SC_BYE_REPLACED] = "logged in elsewhere",
		[SC_BYE_TIMEOUT] = "keepalive timeout",
		[SC_BYE_SLOW] = "reading too slowly",
		[SC_BYE_LOGOUT] = "logged out",
		[SC_BYE_DEADLINE] = "login deadline passed",
		[SC_BYE_KICKED] = "ended by the server's operator",
		[SC_BYE_DELETED] = "account deleted",
		[SC_BYE_LOCKED] = "account locked",
	};

	if (reason < SC_BYE_SHUTDOWN || reason > SC_BYE_MAX)
		return ("unknown reason");
	return (texts[reason]);
}
