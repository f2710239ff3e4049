/* SPDX-License-Identifier: ISC */
/*
 * The daemon's figures (src/server/metrics.c): the text exposition format
 * as Prometheus reads it (one HELP and TYPE per family, the label of each
 * row, cumulative histogram buckets with their sum and count in seconds),
 * the sums of sealchatctl status, the counting helpers, and the HTTP
 * server on a real socket: /metrics answered, other paths and methods not.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sealchat/log.h"
#include "sealchat/proto.h"
#include "sealchat/util.h"
#include "metrics.h"
#include "session.h"

/* The sample function of the tests: sets the gauges to known values. */
static void
sample(struct metrics *m, void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; i < METRICS_STATES; i++)
		m->sessions[i] = (uint64_t)i + 1;
	m->users_online = 4;
	m->hash_jobs = 7;
}

/* The rendered text of m, NUL-terminated (malloc'd). */
static char *
render(struct metrics *m)
{
	struct evbuffer	*b;
	char		*text;
	size_t		 len;

	assert_non_null(b = evbuffer_new());
	assert_int_equal(metrics_render(m, b), 0);
	len = evbuffer_get_length(b);
	assert_non_null(text = calloc(1, len + 1));
	assert_int_equal(evbuffer_remove(b, text, len), (int)len);
	evbuffer_free(b);
	return (text);
}

/* Fails unless text holds line as a whole line. */
static void
has_line(const char *text, const char *line)
{
	const char	*p;
	size_t		 n = strlen(line);

	for (p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	}
	fail_msg("no line \"%s\" in\n%s", line, text);
}

/* Counts the lines of text that start with prefix. */
static int
count_lines(const char *text, const char *prefix)
{
	const char	*p;
	int		 n = 0;

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL) {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	}
	return (n);
}

/*
 * Counters, gauges and labels come out as Prometheus reads them; each
 * family has one HELP and one TYPE; every line is a comment or a sample.
 */
static void
test_render_names_types_labels_and_values(void **state)
{
	struct metrics	 m;
	char		*text, want[128];
	const char	*p;

	(void)state;
	metrics_init(&m);
	m.sample = sample;
	metrics_login(&m, SC_MSG_AUTH, 0);
	metrics_login(&m, SC_MSG_AUTH, 0);
	metrics_login(&m, SC_MSG_AUTH, 0);
	metrics_login(&m, SC_MSG_AUTH, SC_ERR_CREDENTIALS);
	metrics_login(&m, SC_MSG_SIGN, SC_ERR_CLOSED);
	metrics_login(&m, SC_MSG_SIGN, 99);
	m.frames_in = 12;
	m.queue_expired = 2;
	text = render(&m);

	has_line(text, "# TYPE sealchat_logins_total counter");
	has_line(text, "sealchat_logins_total{result=\"ok\"} 3");
	has_line(text, "sealchat_logins_total{result=\"bad_credentials\"} 1");
	has_line(text, "sealchat_signups_total{result=\"closed\"} 1");
	has_line(text, "sealchat_signups_total{result=\"error\"} 1");
	has_line(text, "# TYPE sealchat_sessions gauge");
	has_line(text, "sealchat_sessions{state=\"handshake\"} 1");
	has_line(text, "sealchat_sessions{state=\"online\"} 4");
	has_line(text, "sealchat_users_online 4");
	has_line(text, "sealchat_hash_jobs 7");
	has_line(text, "# TYPE sealchat_queued_messages gauge");
	has_line(text, "sealchat_queued_messages 0");
	has_line(text, "# TYPE sealchat_queued_bytes gauge");
	has_line(text, "sealchat_queued_bytes 0");
	has_line(text, "# TYPE sealchat_queue_expired_total counter");
	has_line(text, "sealchat_queue_expired_total 2");
	has_line(text, "sealchat_frames_received_total 12");
	has_line(text, "sealchat_connections_refused_total"
	    "{reason=\"max_sessions\"} 0");
	snprintf(want, sizeof(want), "sealchat_build_info{version=\"%s\"} 1",
	    SC_VERSION_STR);
	has_line(text, want);
	assert_int_equal(count_lines(text, "# HELP sealchat_logins_total "),
	    1);
	assert_int_equal(count_lines(text, "# TYPE sealchat_sessions "), 1);
	assert_int_equal(count_lines(text, "sealchat_sessions{"),
	    SESSION_STATES);

	/* Each line: a comment, or NAME[{LABEL="VALUE"}] NUMBER. */
	for (p = text; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (p[0] == '#')
			continue;
		if (strncmp(p, "sealchat_", 9) != 0)
			fail_msg("not a sample: %.60s", p);
		if (strcspn(p, " ") > strcspn(p, "\n"))
			fail_msg("no value: %.60s", p);
	}
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
}

/* The state labels are the session set's own names, in its order. */
static void
test_session_state_labels_follow_session_c(void **state)
{
	struct metrics	 m;
	char		*text, want[96];
	int		 i;

	(void)state;
	metrics_init(&m);
	m.sample = sample;
	text = render(&m);
	for (i = 0; i < SESSION_STATES; i++) {
		snprintf(want, sizeof(want), "sealchat_sessions{state=\"%s\"} "
		    "%d", session_state_name(i), i + 1);
		has_line(text, want);
	}
	free(text);
}

/*
 * Histogram buckets are cumulative, bounded in seconds, with +Inf, the
 * sum in seconds and the count.
 */
static void
test_histograms_are_cumulative_in_seconds(void **state)
{
	struct metrics	 m;
	char		*text;

	(void)state;
	metrics_init(&m);
	metrics_observe(&m.hash_time, 800);		/* 0.0008 s */
	metrics_observe(&m.hash_time, 100000);		/* 0.1 s, on a bound */
	metrics_observe(&m.hash_time, 120000);
	metrics_observe(&m.hash_time, 60000000);	/* past every bound */
	metrics_observe(&m.login_delay, 250000);
	text = render(&m);
	has_line(text, "# TYPE sealchat_hash_seconds histogram");
	has_line(text, "sealchat_hash_seconds_bucket{le=\"0.001\"} 1");
	has_line(text, "sealchat_hash_seconds_bucket{le=\"0.05\"} 1");
	has_line(text, "sealchat_hash_seconds_bucket{le=\"0.1\"} 2");
	has_line(text, "sealchat_hash_seconds_bucket{le=\"0.25\"} 3");
	has_line(text, "sealchat_hash_seconds_bucket{le=\"5\"} 3");
	has_line(text, "sealchat_hash_seconds_bucket{le=\"+Inf\"} 4");
	has_line(text, "sealchat_hash_seconds_sum 60.2208");
	has_line(text, "sealchat_hash_seconds_count 4");
	has_line(text, "sealchat_login_delay_seconds_bucket{le=\"0.25\"} 1");
	has_line(text, "sealchat_login_delay_seconds_bucket{le=\"8\"} 1");
	has_line(text, "sealchat_login_delay_seconds_bucket{le=\"16\"} 1");
	has_line(text, "sealchat_login_delay_seconds_sum 0.25");
	free(text);
}

struct status {
	char	text[1024];
};

/* Collects status lines as "key=value;". */
static void
status_cb(const char *key, uint64_t value, void *arg)
{
	struct status	*st = arg;
	size_t		 n = strlen(st->text);

	snprintf(st->text + n, sizeof(st->text) - n, "%s=%llu;", key,
	    (unsigned long long)value);
}

/*
 * Status sums the rows of one key: every state into sessions, every
 * failure into logins_failed; refusals by reason, the unknown one as
 * other; each key once, in the order of its first row.
 */
static void
test_status_sums_rows_by_key(void **state)
{
	struct metrics	m;
	struct status	st;

	(void)state;
	metrics_init(&m);
	m.sample = sample;
	metrics_login(&m, SC_MSG_AUTH, 0);
	metrics_login(&m, SC_MSG_AUTH, SC_ERR_BUSY);
	metrics_login(&m, SC_MSG_AUTH, SC_ERR_LOCKED);
	metrics_login(&m, SC_MSG_SIGN, 0);
	metrics_refused(&m, "max_unauth");
	metrics_refused(&m, "max_unauth");
	metrics_refused(&m, "a reason of tomorrow");
	metrics_refused(&m, "max_sessions_per_addr");
	assert_true(m.refused_max_unauth == 2 && m.refused_other == 1 &&
	    m.refused_max_sessions_per_addr == 1);
	m.closed_evicted = 2;
	m.closed_hello_timeout = 1;
	m.busy_line = 5;
	m.queued_messages = 3;
	m.queued_bytes = 4096;
	memset(&st, 0, sizeof(st));
	metrics_status(&m, status_cb, &st);
	assert_string_equal(st.text, "sessions=15;users_online=4;"
	    "logins_ok=1;logins_failed=2;signups_ok=1;signups_failed=0;"
	    "hash_queue=7;queued_messages=3;queued_bytes=4096;"
	    "presence_deliveries=0;connections_refused=4;"
	    "connections_closed=3;sessions_ended=0;udp_registrations=0;"
	    "relay_datagrams=0;relay_bytes=0;relay_refused=0;");
}

/*
 * The hardening's reasons have rows of their own: a refusal per address,
 * the connections closed before their login, the logins answered busy.
 */
static void
test_reasons_of_the_limits_have_rows(void **state)
{
	struct metrics	 m;
	char		*text;

	(void)state;
	metrics_init(&m);
	m.sample = sample;
	metrics_refused(&m, "max_sessions_per_addr");
	m.closed_evicted = 2;
	m.closed_hello_timeout = 3;
	m.closed_login_timeout = 4;
	m.busy_per_addr = 5;
	m.busy_signups = 6;
	m.busy_line = 7;
	m.busy_queue = 8;
	text = render(&m);
	has_line(text, "sealchat_connections_refused_total"
	    "{reason=\"max_sessions_per_addr\"} 1");
	has_line(text, "sealchat_connections_refused_total"
	    "{reason=\"other\"} 0");
	has_line(text, "# TYPE sealchat_connections_closed_total counter");
	has_line(text, "sealchat_connections_closed_total"
	    "{reason=\"evicted\"} 2");
	has_line(text, "sealchat_connections_closed_total"
	    "{reason=\"hello_timeout\"} 3");
	has_line(text, "sealchat_connections_closed_total"
	    "{reason=\"login_timeout\"} 4");
	has_line(text, "# TYPE sealchat_logins_busy_total counter");
	has_line(text, "sealchat_logins_busy_total"
	    "{reason=\"max_logins_per_addr\"} 5");
	has_line(text, "sealchat_logins_busy_total"
	    "{reason=\"signups_per_hour\"} 6");
	has_line(text, "sealchat_logins_busy_total"
	    "{reason=\"failed_logins\"} 7");
	has_line(text, "sealchat_logins_busy_total"
	    "{reason=\"hash_queue\"} 8");
	free(text);
}

/* Reads one HTTP answer from fd until the server closes (bounded). */
static void
http_get(struct event_base *base, int port, const char *request,
    char *out, size_t len)
{
	struct sockaddr_in	sin;
	struct pollfd		pfd;
	uint64_t		deadline = util_now_ms() + 5000;
	size_t			got = 0;
	ssize_t			n;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(write(fd, request, strlen(request)),
	    (ssize_t)strlen(request));
	for (;;) {
		assert_true(util_now_ms() < deadline);
		event_base_loop(base, EVLOOP_NONBLOCK);
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10) != 1)
			continue;
		n = read(fd, out + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fd);
}

/* A free TCP port on 127.0.0.1. */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

/*
 * The HTTP server answers GET /metrics with the text format's content
 * type and the rows; another path is 404, another method is refused; a
 * bad address is refused before anything is bound.
 */
static void
test_http_serves_metrics_only(void **state)
{
	struct event_base	*base;
	struct metrics_http	*mh;
	struct metrics		 m;
	char			 addr[64], err[256];
	static char		 out[65536];
	int			 port;

	(void)state;
	assert_non_null(base = event_base_new());
	metrics_init(&m);
	metrics_login(&m, SC_MSG_AUTH, 0);
	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	mh = metrics_http_new(base, addr, &m, err, sizeof(err));
	if (mh == NULL)
		fail_msg("%s", err);

	http_get(base, port, "GET /metrics HTTP/1.0\r\n\r\n", out,
	    sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(out, "Content-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(out, "\nsealchat_logins_total{result=\"ok\"} "
	    "1\n"));
	http_get(base, port, "GET /other HTTP/1.0\r\n\r\n", out,
	    sizeof(out));
	assert_non_null(strstr(out, " 404 "));
	http_get(base, port, "POST /metrics HTTP/1.0\r\n"
	    "Content-Length: 0\r\n\r\n", out, sizeof(out));
	assert_null(strstr(out, " 200 "));
	metrics_http_free(mh);

	assert_null(metrics_http_new(base, "localhost:1", &m, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "metrics_address localhost:1"));
	assert_int_equal(metrics_address_check("[::1]:9187", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(metrics_address_check("127.0.0.1:9187", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(metrics_address_check("192.0.2.1:9187", 1, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "Cannot assign requested address"));
	metrics_http_free(NULL);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_names_types_labels_and_values),
		cmocka_unit_test(test_session_state_labels_follow_session_c),
		cmocka_unit_test(test_histograms_are_cumulative_in_seconds),
		cmocka_unit_test(test_status_sums_rows_by_key),
		cmocka_unit_test(test_reasons_of_the_limits_have_rows),
		cmocka_unit_test(test_http_serves_metrics_only),
	};

	log_init("test_metrics", LOG_LVL_ERROR);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
