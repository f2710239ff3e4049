/* SPDX-License-Identifier: ISC */
/*
 * The daemon's figures, for Prometheus and for sealchatctl status.
 *
 * struct metrics is plain numbers: counters that the modules add to as
 * things happen (one increment, no call), gauges that the daemon samples
 * just before they are read, and two histograms.  metrics_rows[] in
 * metrics.c says how each number is shown: its Prometheus name, type, help
 * line and label, and the key under which sealchatctl status sums it.  A
 * new figure is a field here and a row there; nothing else changes.
 *
 * metrics_http_new() serves the rows in the Prometheus text format at
 * /metrics with libevent's HTTP server (metrics_address).
 */
#ifndef SEALCHATD_METRICS_H
#define SEALCHATD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "sealchat/proto.h"

#define METRICS_STATES		5		/* session states */
#define METRICS_RESULTS		(SC_ERR_MAX + 1) /* 0 ok, else ERROR code */
#define METRICS_BUCKETS		12		/* most bounds of a histogram */

/* A histogram: counts per bucket (not cumulative), their sum and count. */
struct metrics_hist {
	const uint64_t	*bounds_us;	/* upper bounds, increasing */
	size_t		 nbounds;
	uint64_t	 bucket[METRICS_BUCKETS + 1];	/* the last: +Inf */
	uint64_t	 count;
	uint64_t	 sum_us;
};

struct evbuffer;
struct metrics;

/* Fills the gauges of m from the daemon's state, just before a reading. */
typedef void	(*metrics_sample_fn)(struct metrics *m, void *arg);

struct metrics {
	/* Gauges, filled by sample(). */
	uint64_t	sessions[METRICS_STATES];	/* by session state */
	uint64_t	users_online;
	uint64_t	hash_jobs;		/* waiting or running */
	uint64_t	queued_messages;	/* stored for offline users */
	uint64_t	queued_bytes;		/* their sealed bytes */

	/* Counters since start. */
	uint64_t	logins[METRICS_RESULTS];	/* AUTH, by result */
	uint64_t	signups[METRICS_RESULTS];	/* SIGN, by result */
	uint64_t	frames_in;
	uint64_t	frames_out;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	uint64_t	presence_deliveries;	/* events x clients told */
	uint64_t	refused_max_sessions;	/* connections, by reason */
	uint64_t	refused_max_sessions_per_addr;
	uint64_t	refused_max_unauth;
	uint64_t	refused_max_unauth_per_addr;
	uint64_t	refused_other;
	uint64_t	closed_evicted;		/* not logged in, closed */
	uint64_t	closed_hello_timeout;
	uint64_t	closed_login_timeout;
	uint64_t	busy_per_addr;		/* logins busy, by reason */
	uint64_t	busy_signups;
	uint64_t	busy_line;
	uint64_t	busy_queue;
	uint64_t	sessions_ended;		/* by the operator */
	uint64_t	queue_stored;		/* messages stored */
	uint64_t	queue_refused;		/* STOREs refused, any reason */
	uint64_t	queue_delivered;	/* acknowledged, deleted */
	uint64_t	queue_expired;		/* deleted unread */
	/* The UDP side's, copied by sample() from its own counts. */
	uint64_t	udp_registrations;	/* REGISTERs answered */
	uint64_t	relay_datagrams;	/* relayed */
	uint64_t	relay_bytes;
	uint64_t	relay_refused;		/* not relayed, any reason */

	struct metrics_hist login_delay;	/* failed-login slowing */
	struct metrics_hist hash_time;		/* one password hash */

	uint64_t	start_time;		/* Unix time */
	uint64_t	one;			/* 1, for build_info */
	metrics_sample_fn sample;
	void		*sample_arg;
};

/* Sets m to zero, its histograms' bounds, and the start time now. */
void	metrics_init(struct metrics *);
/* Counts one observation of us microseconds. */
void	metrics_observe(struct metrics_hist *, uint64_t us);
/* Counts a SIGN (op SC_MSG_SIGN) or AUTH outcome: 0 or an ERROR code. */
void	metrics_login(struct metrics *, uint8_t op, int code);
/*
 * Counts a connection refused at accept, by the reason server.c logs
 * ("max_sessions"...); a reason without a row counts as "other".
 */
void	metrics_refused(struct metrics *, const char *reason);

/* Appends every row in the Prometheus text format (0.0.4) to out. */
int	metrics_render(struct metrics *, struct evbuffer *out);
/*
 * Hands cb each key of sealchatctl status with its value: the sum of the
 * rows that name the key, in the order of their first row.
 */
void	metrics_status(struct metrics *,
	    void (*cb)(const char *key, uint64_t value, void *arg), void *arg);

struct metrics_http;

/*
 * Serves m at http://address/metrics, address being "IPv4:PORT" or
 * "[IPv6]:PORT".  NULL with a message in err when the address is bad or
 * cannot be bound.
 */
struct metrics_http *metrics_http_new(struct event_base *,
		    const char *address, struct metrics *m, char *err,
		    size_t errlen);
void		 metrics_http_free(struct metrics_http *);	/* NULL-safe */
/*
 * Checks an address as metrics_http_new() takes it: 0, or -1 with a
 * message in err.  With local set, also that the address is one of this
 * machine's (bound on another port, so a running daemon does not count).
 */
int		 metrics_address_check(const char *address, int local,
		    char *err, size_t errlen);

#endif
