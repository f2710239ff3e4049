/* SPDX-License-Identifier: ISC */
/*
 * Protocol constants shared by sealchatd and sealchat.  docs/protocol.md is
 * the normative description; every number here appears there.
 */
#ifndef SEALCHAT_PROTO_H
#define SEALCHAT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SC_PROTO_VERSION	1

/* Key and MAC sizes (equal to libsodium's, checked in crypto.c). */
#define SC_KEY_BYTES		32	/* X25519 keys, symmetric keys */
#define SC_MAC_BYTES		16	/* Poly1305 tag */
#define SC_SEAL_BYTES		48	/* crypto_box_SEALBYTES */
/* "SHA256:" + 43 base64 chars + NUL, rounded */
#define SC_FPR_LEN		52

/* TCP framing: 4-byte big-endian body length, then the body. */
#define SC_FRAME_HDR		4
#define SC_FRAME_MIN		1024 /* smallest max_frame a server may set */
#define SC_FRAME_DEFAULT	65536
#define SC_FRAME_LIMIT		1048576	/* largest max_frame a server may set */

/* Handshake. */
#define SC_HELLO_PLAIN		(2 * SC_KEY_BYTES)		/* K || e_c */
#define SC_HELLO_BODY		(1 + SC_SEAL_BYTES + SC_HELLO_PLAIN) /* 113 */
#define SC_REJECT_BODY		2	/* 0x00, reason */
/* REJECT 2 with the server's public key after the reason, to show. */
#define SC_REJECT_KEY_BODY	(SC_REJECT_BODY + SC_KEY_BYTES)

/* Names and passwords. */
#define SC_NAME_MIN		1
#define SC_NAME_MAX		32
#define SC_PASS_MIN		1
#define SC_PASS_MAX		256

/* Peer datagrams. */
#define SC_DGRAM_VERSION	1
#define SC_DGRAM_HDR		17	/* version, pair id (8), counter (8) */
#define SC_TEXT_MAX		1000	/* bytes of message text per datagram */
#define SC_DGRAM_MAX		(SC_DGRAM_HDR + 9 + SC_TEXT_MAX + SC_MAC_BYTES)

/* Reasons in a plaintext REJECT frame (handshake stage only). */
enum sc_reject {
	SC_REJECT_VERSION = 1,	/* unknown protocol version */
	SC_REJECT_KEY = 2,	/* sealed box did not open: wrong pinned key */
	SC_REJECT_BUSY = 3,	/* too many sessions */
};

/* Message types.  Client to server below 0x80, server to client above. */
enum sc_msg_type {
	SC_MSG_SIGN = 0x01,
	SC_MSG_AUTH = 0x02,
	SC_MSG_LIST = 0x03,
	SC_MSG_UDP = 0x04,
	SC_MSG_PAIR = 0x05,
	SC_MSG_PING = 0x06,
	SC_MSG_LOGOUT = 0x07,
	SC_MSG_RECHECK = 0x08,
	SC_MSG_IDENTITY = 0x09,	/* the user's identity public key */
	SC_MSG_RCPT = 0x0a,	/* an offline user's identity key, to seal */
	SC_MSG_STORE = 0x0b,	/* a sealed message for an offline user */
	SC_MSG_STOREACK = 0x0c,	/* a stored message shown: delete it */
	SC_MSG_STOREKEEP = 0x0d, /* a stored message held back: keep it */
	SC_MSG_CLIENT_LAST = SC_MSG_STOREKEEP,	/* client requests end here */

	SC_MSG_WELCOME = 0x81,
	SC_MSG_OK = 0x82,
	SC_MSG_ERROR = 0x83,
	SC_MSG_USERS = 0x84,
	SC_MSG_PRESENCE = 0x85,
	SC_MSG_PAIRKEY = 0x86,
	SC_MSG_PONG = 0x87,
	SC_MSG_GOODBYE = 0x88,
	SC_MSG_UDPREG = 0x89,
	SC_MSG_CANDIDATES = 0x8a,
	SC_MSG_RCPTKEY = 0x8b,	/* answers RCPT: the recipient's key */
	SC_MSG_QUEUED = 0x8c,	/* answers STORE: stored, committed */
	SC_MSG_STORED = 0x8d,	/* a stored message, to its recipient */
	SC_MSG_STORENOTE = 0x8e, /* to the sender: delivered or expired */
};

/* Error codes carried by SC_MSG_ERROR. */
enum sc_err {
	SC_ERR_CREDENTIALS = 1,	/* unknown user or wrong password */
	SC_ERR_TAKEN = 2,	/* sign: name already registered */
	SC_ERR_BAD_NAME = 3,	/* name breaks the name rules */
	SC_ERR_BAD_PASS = 4,	/* password empty or too long */
	SC_ERR_BUSY = 5,	/* hash queue full, try again */
	SC_ERR_STATE = 6,	/* request not allowed in this state */
	SC_ERR_OFFLINE = 7,	/* pair: no such user online */
	SC_ERR_NO_UDP = 8,	/* pair: a side has not registered UDP */
	SC_ERR_INTERNAL = 9,	/* server-side failure (database) */
	SC_ERR_CLOSED = 10,	/* sign: the server takes no sign-ups */
	SC_ERR_LOCKED = 11,	/* auth: right password, account locked */
	SC_ERR_NO_IDENTITY = 12, /* pair: a side has no identity key */
	SC_ERR_NO_MAILBOX = 13,	/* rcpt, store: user has no identity key */
	SC_ERR_QUEUE_FULL = 14,	/* store: the recipient's queue_max_messages */
	SC_ERR_QUEUE_BYTES = 15, /* store: the recipient's queue_max_bytes */
	SC_ERR_QUEUE_RATE = 16,	/* store: the sender's queue_rate */
	SC_ERR_MAX = 16,
};

/*
 * Stored messages (docs/protocol.md, section 12).  A message for an offline
 * user is a crypto_box from the sender's identity key to the recipient's:
 * a random nonce, then the box of the plaintext (u8 version, the message
 * id, u64 time sent in Unix milliseconds, the text).
 */
#define SC_MAIL_ID_BYTES	16	/* random, chosen by the sender */
#define SC_MAIL_VERSION		1
#define SC_BOX_NONCE_BYTES	24	/* crypto_box_NONCEBYTES */
#define SC_MAIL_PLAIN_HDR	(1 + SC_MAIL_ID_BYTES + 8)
#define SC_MAIL_BOX_MIN		(SC_BOX_NONCE_BYTES + SC_MAC_BYTES + \
				    SC_MAIL_PLAIN_HDR)
#define SC_MAIL_BOX_MAX		(SC_MAIL_BOX_MIN + SC_TEXT_MAX)

/* Events of SC_MSG_STORENOTE. */
enum sc_storenote {
	SC_NOTE_DELIVERED = 1,	/* the recipient acknowledged it */
	SC_NOTE_EXPIRED = 2,	/* deleted unread at queue_max_age */
};

/* Presence events inside SC_MSG_PRESENCE. */
enum sc_presence {
	SC_PRESENCE_OFFLINE = 0,
	SC_PRESENCE_ONLINE = 1,
};

/* Reasons in SC_MSG_GOODBYE. */
enum sc_goodbye {
	SC_BYE_SHUTDOWN = 1,	/* server stopping */
	SC_BYE_REPLACED = 2,	/* same user logged in elsewhere */
	SC_BYE_TIMEOUT = 3,	/* keepalive timeout */
	SC_BYE_SLOW = 4,	/* output cap exceeded */
	SC_BYE_LOGOUT = 5,	/* answer to LOGOUT */
	SC_BYE_DEADLINE = 6,	/* login not finished in time */
	SC_BYE_KICKED = 7,	/* ended by the server's operator */
	SC_BYE_DELETED = 8,	/* the account was deleted */
	SC_BYE_LOCKED = 9,	/* the account was locked */
	SC_BYE_MAX = 9,
};

/* Datagram kinds inside the sealed datagram payload. */
enum sc_dgram_kind {
	SC_DGRAM_MSG = 1,
	SC_DGRAM_ACK = 2,
	SC_DGRAM_PROBE = 3,	/* connectivity check, answered at its source */
	SC_DGRAM_PROBE_ACK = 4,	/* the answer: where the probe came from */
};

/* Address families in endpoints (UDP, PAIRKEY, CANDIDATES, REGISTERED). */
#define SC_AF_INET	4
#define SC_AF_INET6	6
/* An endpoint on the wire: af, 16 address bytes (IPv4: 4, then zeros), port. */
#define SC_ENDPOINT_BYTES	19

/*
 * Candidates: where a peer may be reached.  A UDP request carries the
 * client's local addresses (HOST); the server adds the address and port it
 * saw on the client's REGISTER (SRFLX) and hands both to the peer.
 */
enum sc_cand_kind {
	SC_CAND_HOST = 1,
	SC_CAND_SRFLX = 2,
};
#define SC_HOST_MAX		8	/* local addresses in one UDP request */
#define SC_CAND_MAX		(SC_HOST_MAX + 1)

/* Flags of PAIRKEY and CANDIDATES, and of UDPREG. */
#define SC_PAIR_RELAY		0x01	/* the server relays this pair */
#define SC_UDPREG_RELAY		0x01	/* the server relays */

/*
 * The first byte of every UDP datagram says what it is: a peer datagram
 * (SC_DGRAM_VERSION), endpoint registration with the server, or the
 * peers' handshake.
 */
#define SC_UDP_REGISTER		0x02	/* client to server */
#define SC_UDP_REGISTERED	0x03	/* server to client */
/* The peers' handshake (include/sealchat/peerhs.h), relayed as the rest. */
#define SC_UDP_INIT		0x04	/* initiator to responder */
#define SC_UDP_RESP		0x05	/* responder to initiator */
#define SC_REG_PLAIN		20	/* sealed bytes of either */
#define SC_REG_LEN		(SC_DGRAM_HDR + SC_REG_PLAIN + SC_MAC_BYTES)

#endif
