/* SPDX-License-Identifier: ISC */
/*
 * Wire codec: TCP frames and the messages inside them.  Functions on byte
 * buffers (and on the evbuffers the programs read into), no socket I/O and
 * no crypto, so both programs, the tests and the fuzz targets share one
 * frame reader and one decoder.  Layouts are in docs/protocol.md.
 */
#ifndef SEALCHAT_WIRE_H
#define SEALCHAT_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sealchat/proto.h"

struct evbuffer;

/*
 * Frame decoding.  wire_frame_peek() looks at the bytes received so far:
 * returns 1 and sets *body_len when a whole frame (header + body) is there,
 * 0 when more bytes are needed, -1 when the announced length is 0 or larger
 * than max_body (checked before anything is allocated).
 */
int	wire_frame_peek(const uint8_t *buf, size_t have, size_t max_body,
	    size_t *body_len);
/* Writes the 4-byte big-endian header for a body of body_len bytes. */
void	wire_frame_header(uint8_t hdr[SC_FRAME_HDR], uint32_t body_len);

/* What wire_frame_pull() found at the front of an input buffer. */
#define WIRE_FRAME_NOMEM	(-2)	/* no memory to make it contiguous */
#define WIRE_FRAME_BAD		(-1)	/* length out of bounds: close */
#define WIRE_FRAME_PARTIAL	0	/* more bytes needed */
#define WIRE_FRAME_READY	1	/* a whole frame is there */

/*
 * Takes the frame at the front of in, the one frame reader of a session
 * and of the client's connection.  The announced length is checked from
 * the header alone, before any of the body is gathered: below min_body
 * (at least 1) or above max_body is WIRE_FRAME_BAD.  Once the whole frame
 * is there its body is made contiguous, *body points at it until in
 * changes, and *body_len is set.  body may be NULL: then nothing is moved
 * and the answer only says whether a whole frame waits.
 */
int	wire_frame_pull(struct evbuffer *in, size_t min_body, size_t max_body,
	    const uint8_t **body, size_t *body_len);
/* Drops the frame of body_len bytes just handled from the front of in. */
void	wire_frame_drop(struct evbuffer *in, size_t body_len);

/* Growable output buffer used by the encoders. */
struct wbuf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
	int	 oom;	/* set when an allocation failed; later writes no-ops */
};

void	wbuf_init(struct wbuf *);
void	wbuf_reset(struct wbuf *);	/* len = 0, keeps memory */
void	wbuf_free(struct wbuf *);	/* wipes then frees; NULL-safe */
void	wbuf_put(struct wbuf *, const void *, size_t);
void	wbuf_u8(struct wbuf *, uint8_t);
void	wbuf_u16(struct wbuf *, uint16_t);	/* big-endian */
void	wbuf_u32(struct wbuf *, uint32_t);
void	wbuf_u64(struct wbuf *, uint64_t);
void	wbuf_str8(struct wbuf *, const char *, size_t);	/* u8 len + bytes */

/* Bounds-checked reader.  Any short read sets err and returns zeros. */
struct rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

void		 rbuf_init(struct rbuf *, const uint8_t *, size_t);
uint8_t		 rbuf_u8(struct rbuf *);
uint16_t	 rbuf_u16(struct rbuf *);
uint32_t	 rbuf_u32(struct rbuf *);
uint64_t	 rbuf_u64(struct rbuf *);
const uint8_t	*rbuf_bytes(struct rbuf *, size_t);
size_t		 rbuf_left(const struct rbuf *);

/*
 * Names: 1 to SC_NAME_MAX bytes of [a-z0-9._-], the first a letter or a
 * digit.  Upper-case ASCII letters are accepted by name_canon() and folded to
 * lower case; the canonical form is what the server stores and announces.
 */
int	wire_name_valid(const char *, size_t);		/* canonical form */
int	wire_name_canon(char out[SC_NAME_MAX + 1], const char *, size_t);

/*
 * An endpoint candidate.  In a UDP request the entries are the client's
 * local addresses (kind HOST) and port is the request's port.
 */
struct sc_cand {
	uint8_t		kind;		/* enum sc_cand_kind */
	uint8_t		af;		/* SC_AF_INET or SC_AF_INET6 */
	uint8_t		addr[16];	/* 4 or 16 bytes used */
	uint16_t	port;
};

/* One decoded message.  Pointers refer into the decoded buffer. */
struct sc_msg {
	uint8_t		 type;
	char		 name[SC_NAME_MAX + 1];	/* SIGN AUTH PAIR OK... */
	size_t		 name_len;
	const uint8_t	*pass;			/* SIGN AUTH */
	size_t		 pass_len;
	uint16_t	 port;			/* UDP; UDPREG: server's */
	uint64_t	 token;			/* PING PONG */
	uint8_t		 req;			/* OK ERROR: request type */
	uint8_t		 code;	/* ERROR code, GOODBYE reason, STORENOTE */
	uint8_t		 flags;	/* USERS PAIRKEY CANDIDATES UDPREG */
	uint8_t		 version;		/* WELCOME */
	uint32_t	 max_frame;		/* WELCOME */
	uint16_t	 ka_interval;		/* WELCOME, seconds */
	uint16_t	 ka_timeout;		/* WELCOME, seconds */
	uint64_t	 pair_id;		/* PAIRKEY CANDIDATES RECHECK */
	const uint8_t	*key;			/* PAIRKEY, UDPREG: 32 bytes */
	const uint8_t	*idkey;	/* IDENTITY, PAIRKEY, RCPTKEY, STORED: 32 */
	uint64_t	 reg_id;		/* UDPREG */
	struct sc_cand	 cand[SC_CAND_MAX];	/* UDP PAIRKEY CANDIDATES */
	size_t		 ncand;
	const uint8_t	*list;			/* USERS PRESENCE entries */
	size_t		 list_len;
	const uint8_t	*mailid;	/* STORE STOREACK/KEEP QUEUED STORED */
	const uint8_t	*box;			/* STORE STORED */
	size_t		 box_len;
	uint64_t	 stime;			/* STORED: Unix seconds */
};

#define SC_USERS_MORE	0x01	/* more USERS frames of this list follow */
#define SC_USERS_REPLY	0x02	/* answers LIST (else: sent after login) */

/* Why wire_msg_decode() refused a message. */
#define WIRE_MSG_OK		0
#define WIRE_MSG_MALFORMED	(-1)	/* unknown type, layout, a value */
#define WIRE_MSG_BAD_NAME	(-2)	/* SIGN, AUTH: ERROR 3 */
#define WIRE_MSG_BAD_PASS	(-3)	/* SIGN, AUTH: ERROR 4 */

/*
 * Decodes and fully validates one message (type byte + payload): every
 * length, every name, trailing bytes, list entries.  Returns WIRE_MSG_OK,
 * or why not: a SIGN or AUTH whose layout is right (docs/protocol.md,
 * section 4) but whose password breaks the rules is WIRE_MSG_BAD_PASS,
 * else one whose name breaks them is WIRE_MSG_BAD_NAME; anything else
 * wrong is WIRE_MSG_MALFORMED.
 */
int	wire_msg_decode(struct sc_msg *, const uint8_t *, size_t);

/*
 * Iterators over USERS and PRESENCE entries of a decoded message.  *off
 * starts at 0.  Return 1 with the entry, 0 at the end.  The list was
 * validated by wire_msg_decode().
 */
int	wire_users_next(const struct sc_msg *, size_t *off, char
	    name[SC_NAME_MAX + 1]);
int	wire_presence_next(const struct sc_msg *, size_t *off, int *online,
	    char name[SC_NAME_MAX + 1]);

/* Encoders: each appends one message (type byte + payload) to the wbuf. */
void	wire_enc_cred(struct wbuf *, uint8_t type, const char *name,
	    const uint8_t *pass, size_t pass_len);	/* SIGN, AUTH */
void	wire_enc_empty(struct wbuf *, uint8_t type);	/* LIST, LOGOUT */
/* UDP: port, then the local addresses of hosts[0..n) (n <= SC_HOST_MAX). */
void	wire_enc_udp(struct wbuf *, uint16_t port, const struct sc_cand *hosts,
	    size_t n);
void	wire_enc_recheck(struct wbuf *, uint64_t pair_id);
/* IDENTITY: the user's identity public key. */
void	wire_enc_identity(struct wbuf *, const uint8_t key[SC_KEY_BYTES]);
void	wire_enc_pair(struct wbuf *, const char *name);
/*
 * Stored messages (docs/protocol.md, section 12).  A box of a length out
 * of SC_MAIL_BOX_MIN..SC_MAIL_BOX_MAX sets the wbuf's oom flag.
 */
void	wire_enc_rcpt(struct wbuf *, const char *name);
void	wire_enc_store(struct wbuf *, const char *name,
	    const uint8_t id[SC_MAIL_ID_BYTES], const uint8_t *box, size_t len);
void	wire_enc_storeack(struct wbuf *, const uint8_t id[SC_MAIL_ID_BYTES]);
void	wire_enc_storekeep(struct wbuf *, const uint8_t id[SC_MAIL_ID_BYTES]);
void	wire_enc_rcptkey(struct wbuf *, const char *name,
	    const uint8_t key[SC_KEY_BYTES]);
void	wire_enc_queued(struct wbuf *, const char *name,
	    const uint8_t id[SC_MAIL_ID_BYTES]);
void	wire_enc_stored(struct wbuf *, const uint8_t id[SC_MAIL_ID_BYTES],
	    const char *from, const uint8_t key[SC_KEY_BYTES], uint64_t stime,
	    const uint8_t *box, size_t len);
void	wire_enc_storenote(struct wbuf *, uint8_t event, const char *name,
	    const uint8_t id[SC_MAIL_ID_BYTES]);
void	wire_enc_ping(struct wbuf *, uint8_t type,
	    uint64_t token);	/* PING PONG */
void	wire_enc_welcome(struct wbuf *, uint32_t max_frame,
	    uint16_t ka_interval, uint16_t ka_timeout);
void	wire_enc_ok(struct wbuf *, uint8_t req, const char *name);
void	wire_enc_error(struct wbuf *, uint8_t req, uint8_t code,
	    const char *subject);
void	wire_enc_users_begin(struct wbuf *, uint8_t flags);
void	wire_enc_presence_begin(struct wbuf *);
void	wire_enc_users_entry(struct wbuf *, const char *name, size_t len);
void	wire_enc_presence_entry(struct wbuf *, int online, const char *name,
	    size_t len);
/*
 * PAIRKEY and CANDIDATES carry the peer's candidates c[0..n): at most
 * SC_HOST_MAX HOST and one SRFLX, each with a port.  Anything else sets
 * the wbuf's oom flag (the message is not sent).
 */
void	wire_enc_pairkey(struct wbuf *, const char *peer, uint64_t pair_id,
	    const uint8_t key[SC_KEY_BYTES], const uint8_t idkey[SC_KEY_BYTES],
	    uint8_t flags, const struct sc_cand *c, size_t n);
void	wire_enc_candidates(struct wbuf *, uint64_t pair_id, uint8_t flags,
	    const struct sc_cand *c, size_t n);
void	wire_enc_udpreg(struct wbuf *, uint16_t udp_port, uint8_t flags,
	    uint64_t reg_id, const uint8_t key[SC_KEY_BYTES]);
void	wire_enc_goodbye(struct wbuf *, uint8_t reason);

/*
 * Endpoints as 19 bytes (af, 16 address bytes, port) in REGISTERED and
 * PROBE_ACK.  wire_endpoint_get() refuses an unknown af and an IPv4 address
 * with non-zero padding.
 */
void	wire_endpoint_put(uint8_t out[SC_ENDPOINT_BYTES],
	    const struct sc_cand *);
int	wire_endpoint_get(struct sc_cand *,
	    const uint8_t in[SC_ENDPOINT_BYTES]);
/* A socket address from a candidate (and back: -1 for other families). */
socklen_t wire_cand_to_sa(struct sockaddr_storage *, const struct sc_cand *);
int	wire_cand_from_sa(struct sc_cand *, uint8_t kind,
	    const struct sockaddr *);

/* Short stable text for an error code, as printed in `error CMD REASON`. */
const char *wire_err_str(uint8_t code);
const char *wire_bye_str(uint8_t reason);

#endif
