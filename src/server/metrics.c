/* SPDX-License-Identifier: ISC */
/*
 * The daemon's figures as rows, and their two readers: the Prometheus text
 * exposition format (version 0.0.4) served at /metrics by libevent's own
 * HTTP server, and the key-value lines of sealchatctl status.
 *
 * Names follow Prometheus' conventions: sealchat_ prefix, counters end in
 * _total, times are in seconds, sizes in bytes.  Rows of one family follow
 * each other, differ by their label, and share the family's HELP and TYPE
 * lines, written before the first of them.
 *
 * The HTTP side answers GET and HEAD of /metrics and nothing else, with
 * small limits on what a request may hold and a timeout.  libevent 2.1's
 * server has no cap on connections, so the listener pauses for a second
 * after METRICS_ACCEPTS_PER_SEC connections in one second: with the
 * timeout, that bounds the descriptors a client there can hold.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "sealchat/log.h"
#include "sealchat/util.h"
#include "metrics.h"

#define METRICS_ACCEPTS_PER_SEC	32
#define METRICS_TIMEOUT_SEC	10
#define METRICS_HEADERS_MAX	8192
#define METRICS_BODY_MAX	1024
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

/*
 * One line (or, for a histogram, one series of lines) of the exposition.
 * help is on the first row of a family; label and value make its one
 * label (none when label is NULL); off is the offset of a uint64_t, or of
 * a struct metrics_hist, in struct metrics; status, when set, is the key
 * of sealchatctl status that sums this row with the others of that key.
 */
struct metrics_row {
	const char		*name;
	enum metrics_type	 type;
	const char		*help;
	const char		*label;
	const char		*value;
	size_t			 off;
	const char		*status;
};

#define M(f)		offsetof(struct metrics, f)
#define M_LOGIN(v, i, st)						\
	{ "sealchat_logins_total", METRICS_COUNTER,			\
	    "Logins (AUTH) by result.", "result", v, M(logins[i]), st }
#define M_SIGNUP(v, i, st)						\
	{ "sealchat_signups_total", METRICS_COUNTER,			\
	    "Sign-ups (SIGN) by result.", "result", v, M(signups[i]), st }
#define M_STATE(v, i)							\
	{ "sealchat_sessions", METRICS_GAUGE,				\
	    "Open sessions by state.", "state", v, M(sessions[i]),	\
	    "sessions" }
#define M_REFUSED(v, f)							\
	{ "sealchat_connections_refused_total", METRICS_COUNTER,	\
	    "Connections refused at accept, by reason.", "reason", v,	\
	    M(f), "connections_refused" }
#define M_CLOSED(v, f)							\
	{ "sealchat_connections_closed_total", METRICS_COUNTER,	\
	    "Connections not logged in that the daemon closed, by "	\
	    "reason.", "reason", v, M(f), "connections_closed" }
#define M_BUSY(v, f)							\
	{ "sealchat_logins_busy_total", METRICS_COUNTER,		\
	    "Sign-ups and logins answered busy, by reason.", "reason",	\
	    v, M(f), NULL }

/* *INDENT-OFF* */
static const struct metrics_row metrics_rows[] = {
	{ "sealchat_build_info", METRICS_GAUGE,
	    "The daemon's version, as a label.", "version", SC_VERSION_STR,
	    M(one), NULL },
	{ "sealchat_start_time_seconds", METRICS_GAUGE,
	    "When the daemon started, in Unix time.", NULL, NULL,
	    M(start_time), NULL },
	M_STATE("handshake", 0),
	M_STATE("greeted", 1),
	M_STATE("hashing", 2),
	M_STATE("online", 3),
	M_STATE("closing", 4),
	{ "sealchat_users_online", METRICS_GAUGE,
	    "Users logged in.", NULL, NULL, M(users_online), "users_online" },
	M_LOGIN("ok", 0, "logins_ok"),
	M_LOGIN("bad_credentials", SC_ERR_CREDENTIALS, "logins_failed"),
	M_LOGIN("bad_name", SC_ERR_BAD_NAME, "logins_failed"),
	M_LOGIN("bad_password", SC_ERR_BAD_PASS, "logins_failed"),
	M_LOGIN("busy", SC_ERR_BUSY, "logins_failed"),
	M_LOGIN("locked", SC_ERR_LOCKED, "logins_failed"),
	M_LOGIN("error", SC_ERR_INTERNAL, "logins_failed"),
	M_SIGNUP("ok", 0, "signups_ok"),
	M_SIGNUP("taken", SC_ERR_TAKEN, "signups_failed"),
	M_SIGNUP("bad_name", SC_ERR_BAD_NAME, "signups_failed"),
	M_SIGNUP("bad_password", SC_ERR_BAD_PASS, "signups_failed"),
	M_SIGNUP("busy", SC_ERR_BUSY, "signups_failed"),
	M_SIGNUP("closed", SC_ERR_CLOSED, "signups_failed"),
	M_SIGNUP("error", SC_ERR_INTERNAL, "signups_failed"),
	M_BUSY("max_logins_per_addr", busy_per_addr),
	M_BUSY("signups_per_hour", busy_signups),
	M_BUSY("failed_logins", busy_line),
	M_BUSY("hash_queue", busy_queue),
	{ "sealchat_login_delay_seconds", METRICS_HISTOGRAM,
	    "Waits imposed on logins after failures.", NULL, NULL,
	    M(login_delay), NULL },
	{ "sealchat_hash_jobs", METRICS_GAUGE,
	    "Password-hash jobs waiting or running.", NULL, NULL,
	    M(hash_jobs), "hash_queue" },
	{ "sealchat_queued_messages", METRICS_GAUGE,
	    "Sealed messages stored for offline users.", NULL, NULL,
	    M(queued_messages), "queued_messages" },
	{ "sealchat_queued_bytes", METRICS_GAUGE,
	    "Bytes of the sealed messages stored for offline users.", NULL,
	    NULL, M(queued_bytes), "queued_bytes" },
	{ "sealchat_queue_stored_total", METRICS_COUNTER,
	    "Messages stored for offline users.", NULL, NULL,
	    M(queue_stored), NULL },
	{ "sealchat_queue_refused_total", METRICS_COUNTER,
	    "Messages for offline users refused (a bound, an error).", NULL,
	    NULL, M(queue_refused), NULL },
	{ "sealchat_queue_delivered_total", METRICS_COUNTER,
	    "Stored messages acknowledged by their recipient and deleted.",
	    NULL, NULL, M(queue_delivered), NULL },
	{ "sealchat_queue_expired_total", METRICS_COUNTER,
	    "Stored messages deleted unread at queue_max_age.", NULL, NULL,
	    M(queue_expired), NULL },
	{ "sealchat_hash_seconds", METRICS_HISTOGRAM,
	    "Time a hash worker spent on one password hash.", NULL, NULL,
	    M(hash_time), NULL },
	{ "sealchat_frames_received_total", METRICS_COUNTER,
	    "TCP frames received from clients.", NULL, NULL,
	    M(frames_in), NULL },
	{ "sealchat_frames_sent_total", METRICS_COUNTER,
	    "TCP frames sent to clients.", NULL, NULL, M(frames_out), NULL },
	{ "sealchat_received_bytes_total", METRICS_COUNTER,
	    "Bytes received from clients over TCP.", NULL, NULL,
	    M(bytes_in), NULL },
	{ "sealchat_sent_bytes_total", METRICS_COUNTER,
	    "Bytes sent to clients over TCP.", NULL, NULL,
	    M(bytes_out), NULL },
	{ "sealchat_presence_deliveries_total", METRICS_COUNTER,
	    "Presence events delivered, one per event and client told.",
	    NULL, NULL, M(presence_deliveries), "presence_deliveries" },
	M_REFUSED("max_sessions", refused_max_sessions),
	M_REFUSED("max_sessions_per_addr", refused_max_sessions_per_addr),
	M_REFUSED("max_unauth", refused_max_unauth),
	M_REFUSED("max_unauth_per_addr", refused_max_unauth_per_addr),
	M_REFUSED("other", refused_other),
	M_CLOSED("evicted", closed_evicted),
	M_CLOSED("hello_timeout", closed_hello_timeout),
	M_CLOSED("login_timeout", closed_login_timeout),
	{ "sealchat_sessions_ended_total", METRICS_COUNTER,
	    "Sessions the operator ended (kick, delete, lock).", NULL, NULL,
	    M(sessions_ended), "sessions_ended" },
	{ "sealchat_udp_registrations_total", METRICS_COUNTER,
	    "UDP endpoint registrations answered.", NULL, NULL,
	    M(udp_registrations), "udp_registrations" },
	{ "sealchat_relay_datagrams_total", METRICS_COUNTER,
	    "Datagrams the relay forwarded.", NULL, NULL,
	    M(relay_datagrams), "relay_datagrams" },
	{ "sealchat_relay_bytes_total", METRICS_COUNTER,
	    "Bytes the relay forwarded.", NULL, NULL, M(relay_bytes),
	    "relay_bytes" },
	{ "sealchat_relay_refused_total", METRICS_COUNTER,
	    "Datagrams sent to the relay and not forwarded.", NULL, NULL,
	    M(relay_refused), "relay_refused" },
	{ NULL, 0, NULL, NULL, NULL, 0, NULL }
};
/* *INDENT-ON* */

/* Histogram bounds, in microseconds. */
static const uint64_t metrics_delay_bounds[] = {
	250000, 500000, 1000000, 2000000, 4000000, 8000000, 16000000,
};
static const uint64_t metrics_hash_bounds[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};

struct metrics_http {
	struct event_base		*base;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;
	struct event			*resume_ev;
	struct metrics			*m;
	uint64_t			 second;	/* of the accepts */
	unsigned			 accepts;
};

/* Sets m to zero and its histograms' bounds, the start time now. */
void
metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->login_delay.bounds_us = metrics_delay_bounds;
	m->login_delay.nbounds = sizeof(metrics_delay_bounds) /
	    sizeof(metrics_delay_bounds[0]);
	m->hash_time.bounds_us = metrics_hash_bounds;
	m->hash_time.nbounds = sizeof(metrics_hash_bounds) /
	    sizeof(metrics_hash_bounds[0]);
	m->start_time = (uint64_t)time(NULL);
	m->one = 1;
}

/* Counts one observation in its bucket. */
void
metrics_observe(struct metrics_hist *h, uint64_t us)
{
	size_t	i;

	for (i = 0; i < h->nbounds && us > h->bounds_us[i]; i++)
		;
	h->bucket[i]++;
	h->count++;
	h->sum_us += us;
}

/* Counts a SIGN or AUTH outcome. */
void
metrics_login(struct metrics *m, uint8_t op, int code)
{
	if (code < 0 || code >= METRICS_RESULTS)
		code = SC_ERR_INTERNAL;
	if (op == SC_MSG_SIGN)
		m->signups[code]++;
	else
		m->logins[code]++;
}

/* Counts a refused connection under its reason's row, else "other". */
void
metrics_refused(struct metrics *m, const char *reason)
{
	const struct metrics_row	*r;
	size_t				 off = M(refused_other);

	for (r = metrics_rows; r->name != NULL; r++) {
		if (strcmp(r->name, "sealchat_connections_refused_total") ==
		    0 && strcmp(r->value, reason) == 0) {
			off = r->off;
			break;
		}
	}
	(*(uint64_t *)(void *)((char *)m + off))++;
}

/* The uint64_t of a row. */
static uint64_t
metrics_value(const struct metrics *m, const struct metrics_row *r)
{
	uint64_t	v;

	memcpy(&v, (const char *)m + r->off, sizeof(v));
	return (v);
}

/* Writes us as seconds, without trailing zeros ("0.25", "8"). */
static void
metrics_seconds(char *out, size_t len, uint64_t us)
{
	size_t	n;

	snprintf(out, len, "%" PRIu64 ".%06" PRIu64, us / 1000000,
	    us % 1000000);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

/* The lines of one histogram row. */
static int
metrics_render_hist(const struct metrics *m, const struct metrics_row *r,
    struct evbuffer *out)
{
	const struct metrics_hist	*h;
	char				 le[32];
	uint64_t			 cum = 0;
	size_t				 i;
	int				 rc = 0;

	h = (const struct metrics_hist *)(const void *)((const char *)m +
	    r->off);
	for (i = 0; i <= h->nbounds; i++) {
		cum += h->bucket[i];
		if (i < h->nbounds)
			metrics_seconds(le, sizeof(le), h->bounds_us[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		if (evbuffer_add_printf(out, "%s_bucket{le=\"%s\"} %" PRIu64
		    "\n", r->name, le, cum) < 0)
			rc = -1;
	}
	metrics_seconds(le, sizeof(le), h->sum_us);
	if (evbuffer_add_printf(out, "%s_sum %s\n%s_count %" PRIu64 "\n",
	    r->name, le, r->name, h->count) < 0)
		rc = -1;
	return (rc);
}

/* Appends every row in the text exposition format. */
int
metrics_render(struct metrics *m, struct evbuffer *out)
{
	static const char *const types[] = {
		[METRICS_COUNTER] = "counter",
		[METRICS_GAUGE] = "gauge",
		[METRICS_HISTOGRAM] = "histogram",
	};
	const struct metrics_row	*r;
	const char			*family = NULL;
	int				 rc = 0;

	if (m->sample != NULL)
		m->sample(m, m->sample_arg);
	for (r = metrics_rows; r->name != NULL; r++) {
		if (family == NULL || strcmp(family, r->name) != 0) {
			family = r->name;
			if (evbuffer_add_printf(out, "# HELP %s %s\n"
			    "# TYPE %s %s\n", r->name, r->help, r->name,
			    types[r->type]) < 0)
				rc = -1;
		}
		if (r->type == METRICS_HISTOGRAM) {
			if (metrics_render_hist(m, r, out) != 0)
				rc = -1;
		} else if (r->label != NULL) {
			if (evbuffer_add_printf(out, "%s{%s=\"%s\"} %" PRIu64
			    "\n", r->name, r->label, r->value,
			    metrics_value(m, r)) < 0)
				rc = -1;
		} else if (evbuffer_add_printf(out, "%s %" PRIu64 "\n",
		    r->name, metrics_value(m, r)) < 0)
			rc = -1;
	}
	return (rc);
}

/* Each status key once, with the sum of its rows. */
void
metrics_status(struct metrics *m,
    void (*cb)(const char *key, uint64_t value, void *arg), void *arg)
{
	const struct metrics_row	*r, *q;
	uint64_t			 sum;
	int				 seen;

	if (m->sample != NULL)
		m->sample(m, m->sample_arg);
	for (r = metrics_rows; r->name != NULL; r++) {
		if (r->status == NULL || r->type == METRICS_HISTOGRAM)
			continue;
		for (seen = 0, q = metrics_rows; q < r && !seen; q++)
			seen = q->status != NULL &&
			    strcmp(q->status, r->status) == 0;
		if (seen)
			continue;
		for (sum = 0, q = r; q->name != NULL; q++) {
			if (q->status != NULL &&
			    strcmp(q->status, r->status) == 0)
				sum += metrics_value(m, q);
		}
		cb(r->status, sum, arg);
	}
}

/* GET or HEAD /metrics: the rows. */
static void
metrics_http_cb(struct evhttp_request *req, void *arg)
{
	struct metrics_http	*mh = arg;
	struct evbuffer		*body;
	struct evkeyvalq	*hdr;

	if ((body = evbuffer_new()) == NULL ||
	    metrics_render(mh->m, body) != 0) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	hdr = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(hdr, "Content-Type", METRICS_CONTENT_TYPE) !=
	    0 || evhttp_add_header(hdr, "Cache-Control", "no-store") != 0) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	evhttp_send_reply(req, HTTP_OK, "OK", body);
out:
	if (body != NULL)
		evbuffer_free(body);
}

/* Any other path: 404. */
static void
metrics_http_other_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

/* The second after a burst of connections: listen again. */
static void
metrics_http_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http	*mh = arg;

	(void)fd;
	(void)what;
	if (evconnlistener_enable(evhttp_bound_socket_get_listener(
	    mh->bound)) != 0)
		log_warnx("metrics: cannot listen again");
}

/*
 * A connection was accepted: counted, and past METRICS_ACCEPTS_PER_SEC
 * in one second the listener pauses until the next.  Returns the
 * bufferevent evhttp would make itself.
 */
static struct bufferevent *
metrics_http_bev_cb(struct event_base *base, void *arg)
{
	struct metrics_http	*mh = arg;
	struct timeval		 tv = { 1, 0 };
	uint64_t		 sec = util_now_ms() / 1000;

	if (sec != mh->second) {
		mh->second = sec;
		mh->accepts = 0;
	}
	if (++mh->accepts == METRICS_ACCEPTS_PER_SEC) {
		log_warnx("metrics: %d connections in one second, pausing",
		    METRICS_ACCEPTS_PER_SEC);
		if (evconnlistener_disable(evhttp_bound_socket_get_listener(
		    mh->bound)) != 0 || evtimer_add(mh->resume_ev, &tv) != 0)
			log_warnx("metrics: cannot pause the listener");
	}
	return (bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE));
}

/* Parses "IPv4:PORT" or "[IPv6]:PORT" into ss. */
static int
metrics_parse(const char *address, struct sockaddr_storage *ss, int *sslen,
    char *err, size_t errlen)
{
	*sslen = (int)sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (evutil_parse_sockaddr_port(address, (struct sockaddr *)ss,
	    sslen) != 0 || (ss->ss_family != AF_INET &&
	    ss->ss_family != AF_INET6) || strchr(address, ':') == NULL) {
		snprintf(err, errlen, "metrics_address %s: not an address "
		    "and port (127.0.0.1:9187, [::1]:9187)", address);
		return (-1);
	}
	if ((ss->ss_family == AF_INET &&
	    ((struct sockaddr_in *)ss)->sin_port == 0) ||
	    (ss->ss_family == AF_INET6 &&
	    ((struct sockaddr_in6 *)ss)->sin6_port == 0)) {
		snprintf(err, errlen, "metrics_address %s: the port must not "
		    "be 0", address);
		return (-1);
	}
	return (0);
}

/* Checks an address, and with local that it is this machine's. */
int
metrics_address_check(const char *address, int local, char *err,
    size_t errlen)
{
	struct sockaddr_storage	ss;
	int			sslen, fd, rc = 0;

	if (metrics_parse(address, &ss, &sslen, err, errlen) != 0)
		return (-1);
	if (!local)
		return (0);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) != 0) {
		snprintf(err, errlen, "metrics_address %s: %s", address,
		    strerror(errno));
		rc = -1;
	}
	if (fd != -1)
		close(fd);
	return (rc);
}

/* Opens the listening socket; -1 with a message in err. */
static int
metrics_listen(const char *address, char *err, size_t errlen)
{
	struct sockaddr_storage	ss;
	int			sslen, fd, one = 1;

	if (metrics_parse(address, &ss, &sslen, err, errlen) != 0)
		return (-1);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		snprintf(err, errlen, "metrics_address %s: %s", address,
		    strerror(errno));
		return (-1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) !=
	    0 || bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) != 0 ||
	    listen(fd, 64) != 0) {
		snprintf(err, errlen, "metrics_address %s: %s", address,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Serves m on address. */
struct metrics_http *
metrics_http_new(struct event_base *base, const char *address,
    struct metrics *m, char *err, size_t errlen)
{
	struct metrics_http	*mh;
	int			 fd;

	if ((mh = calloc(1, sizeof(*mh))) == NULL) {
		snprintf(err, errlen, "metrics: out of memory");
		return (NULL);
	}
	mh->base = base;
	mh->m = m;
	if ((fd = metrics_listen(address, err, errlen)) == -1)
		goto fail;
	if ((mh->http = evhttp_new(base)) == NULL ||
	    (mh->resume_ev = evtimer_new(base, metrics_http_resume_cb,
	    mh)) == NULL) {
		close(fd);
		snprintf(err, errlen, "metrics: out of memory");
		goto fail;
	}
	if ((mh->bound = evhttp_accept_socket_with_handle(mh->http, fd)) ==
	    NULL) {
		close(fd);
		snprintf(err, errlen, "metrics: cannot serve %s", address);
		goto fail;
	}
	evhttp_set_allowed_methods(mh->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(mh->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(mh->http, METRICS_BODY_MAX);
	evhttp_set_timeout(mh->http, METRICS_TIMEOUT_SEC);
	evhttp_set_bevcb(mh->http, metrics_http_bev_cb, mh);
	evhttp_set_gencb(mh->http, metrics_http_other_cb, mh);
	if (evhttp_set_cb(mh->http, "/metrics", metrics_http_cb, mh) != 0) {
		snprintf(err, errlen, "metrics: cannot serve /metrics");
		goto fail;
	}
	log_info("metrics: serving address=%s path=/metrics", address);
	return (mh);
fail:
	metrics_http_free(mh);
	return (NULL);
}

/* Stops serving; open HTTP connections close. */
void
metrics_http_free(struct metrics_http *mh)
{
	if (mh == NULL)
		return;
	if (mh->http != NULL)
		evhttp_free(mh->http);
	if (mh->resume_ev != NULL)
		event_free(mh->resume_ev);
	free(mh);
}
