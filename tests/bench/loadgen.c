/* SPDX-License-Identifier: ISC */
/*
 * sealchat-loadgen: the benchmark load generator (docs/performance.md).
 *
 *   loadgen mkusers --port P --key FILE -n N     sign up users prefix0..N-1
 *   loadgen storm   --port P --key FILE -n N     N logins, presence fan-out
 *   loadgen irc     --port P -n N                the same workload on IRC
 *   loadgen logins  --port P --key FILE ...      logins/s, LIST latency
 *   loadgen pwhash  [--threads T]                argon2id verifications/s
 *   loadgen peer    --port P --key FILE          peer datagrams
 *   loadgen peer    --port P --key FILE --relay  ... through the relay
 *   loadgen attack  --port P --key FILE --attack KIND --source ADDR
 *                                                one attack, full speed
 *   loadgen user    --port P --key FILE          one user's login times
 *
 * Only loopback addresses are accepted, every mode stops at a global
 * deadline, and each prints one "MODE key=value ..." result line on
 * standard output.  Diagnostics go to standard error.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sealchat/keys.h"
#include "sealchat/util.h"

#include "loadgen.h"

#define LOADGEN_FD_SPARE	256

/* Prints the usage text and exits with the usage code. */
static void __attribute__((noreturn))
loadgen_usage(void)
{
	/* *INDENT-OFF* */
	fprintf(stderr,
"usage: loadgen MODE [options]\n"
"modes: mkusers storm irc logins pwhash peer attack user\n"
"  --host ADDR          server address, loopback only (127.0.0.1)\n"
"  --port PORT          server port\n"
"  --key FILE           the server's public key file (sealchat modes)\n"
"  -n N                 users / clients (mkusers, storm, irc)\n"
"  --window W           logins in flight at once (default 256)\n"
"  --prefix NAME        user names are NAME0, NAME1, ... (default bench)\n"
"  --first I            mkusers: first index (default 0)\n"
"  --server-pid PID     read the server's CPU time and memory from /proc\n"
"  --timeout S          global deadline in seconds (default 300)\n"
"  --duration S         logins, pwhash, peer: seconds to run (default 10)\n"
"  --clients M          logins: concurrent clients (default 4)\n"
"  --threads T          pwhash: threads (default 2)\n"
"  --list-interval MS   logins: gap between two LISTs (default 10)\n"
"  --count K            peer: round trips measured (default 2000)\n"
"  --size B             peer: bytes of text per message (default 64)\n"
"  --peer-window W      peer: messages in flight (default 32)\n"
"  --relay              peer: register with the server's UDP side and send\n"
"                       every datagram through its relay\n"
"  --attack KIND        attack: abandon, guess, idle or sessions\n"
"  --source ADDR        attack, user: source address (127.0.0.0/8)\n"
"  --sources N          attack: N addresses from --source (default 1)\n");
	/* *INDENT-ON* */
	exit(EXIT_USAGE);
}

/* Records a run failure; the first message wins. */
void
loadgen_fail(struct lg *lg, const char *fmt, ...)
{
	va_list	ap;

	if (!lg->failed) {
		va_start(ap, fmt);
		vsnprintf(lg->error, sizeof(lg->error), fmt, ap);
		va_end(ap);
		lg->failed = 1;
	}
	event_base_loopbreak(lg->base);
}

/* Whether the global deadline has passed. */
int
loadgen_deadline_passed(struct lg *lg)
{
	return (util_now_ms() - lg->t_start_ms >=
	    (uint64_t)(lg->o.timeout * 1000.0));
}

/* The global deadline: ends the run whatever it is doing. */
static void
loadgen_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg	*lg = arg;

	(void)fd;
	(void)what;
	loadgen_fail(lg, "deadline of %g s passed", lg->o.timeout);
}

/* Writes user name number i. */
void
loadgen_user_name(const struct lg *lg, char *out, size_t len, int i)
{
	snprintf(out, len, "%s%d", lg->o.prefix, i);
}

/* The index in a user name made by loadgen_user_name, or -1. */
int
loadgen_user_index(const struct lg *lg, const char *name, size_t len)
{
	size_t		 plen = lg->prefix_len;
	const char	*p, *end = name + len;
	long		 v = 0;

	if (len <= plen)
		return (-1);
	for (p = name; p < name + plen; p++)
		if (*p != lg->o.prefix[p - name])
			return (-1);
	if (*p == '0' && len > plen + 1)
		return (-1);
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || v > INT_MAX / 10)
			return (-1);
		v = v * 10 + (*p - '0');
	}
	if (v > INT_MAX)
		return (-1);
	return ((int)v);
}

/* Compares two doubles for qsort. */
static int
loadgen_cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* The p-th percentile (0..100) of v (sorted in place); 0 when empty. */
double
loadgen_pct(double *v, size_t n, double p)
{
	size_t	i;

	if (n == 0)
		return (0);
	qsort(v, n, sizeof(*v), loadgen_cmp_double);
	i = (size_t)((p / 100.0) * (double)(n - 1) + 0.5);
	if (i >= n)
		i = n - 1;
	return (v[i]);
}

/* The CPU time (user + system, all threads) of pid in seconds. */
int
loadgen_proc_cpu(pid_t pid, double *sec)
{
	char		 path[64], buf[2048], *p;
	FILE		*f;
	unsigned long	 ut, st;
	size_t		 n;
	long		 hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields follow the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	/* Fields 3..13 are skipped; 14 and 15 are utime and stime. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return (-1);
	*sec = (double)(ut + st) / (double)(hz > 0 ? hz : 100);
	return (0);
}

/* VmRSS and VmHWM of pid, in kB. */
int
loadgen_proc_mem(pid_t pid, long *rss_kb, long *hwm_kb)
{
	char	 path[64], line[256];
	FILE	*f;
	int	 got = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld", rss_kb) == 1)
			got |= 1;
		else if (sscanf(line, "VmHWM: %ld", hwm_kb) == 1)
			got |= 2;
	}
	fclose(f);
	return (got == 3 ? 0 : -1);
}

/* This process's own CPU time in seconds. */
double
loadgen_self_cpu(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return (0);
	return ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

/*
 * Waits (blocking, at most max_s) until the server's CPU time stops
 * growing: two samples 100 ms apart that differ by at most one clock tick.
 */
int
loadgen_settle(struct lg *lg, double max_s)
{
	struct timespec	ts = { 0, 100 * 1000 * 1000 };
	double		prev, cur;
	uint64_t	end = util_now_ms() + (uint64_t)(max_s * 1000);
	int		quiet = 0;

	if (lg->o.server_pid <= 0)
		return (0);
	if (loadgen_proc_cpu(lg->o.server_pid, &prev) == -1)
		return (-1);
	while (util_now_ms() < end && !loadgen_deadline_passed(lg)) {
		nanosleep(&ts, NULL);
		if (loadgen_proc_cpu(lg->o.server_pid, &cur) == -1)
			return (-1);
		if (cur - prev <= 0.0101) {
			if (++quiet >= 2)
				return (0);
		} else
			quiet = 0;
		prev = cur;
	}
	return (0);
}

/* Parses a decimal integer option within [min, max]. */
static long
loadgen_num(const char *opt, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "loadgen: %s: not a number in [%ld, %ld]: %s\n",
		    opt, min, max, s);
		exit(EXIT_USAGE);
	}
	return (v);
}

/* Parses a positive number of seconds. */
static double
loadgen_secs(const char *opt, const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400) {
		fprintf(stderr, "loadgen: %s: bad number of seconds: %s\n",
		    opt, s);
		exit(EXIT_USAGE);
	}
	return (v);
}

/* Resolves the numeric server address and refuses anything off loopback. */
static int
loadgen_resolve(struct lg *lg)
{
	struct addrinfo		 hints, *res = NULL;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char			 port[16];
	int			 loop = 0, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", lg->o.port);
	if ((e = getaddrinfo(lg->o.host, port, &hints, &res)) != 0) {
		fprintf(stderr, "loadgen: --host %s: %s (a numeric loopback "
		    "address is needed)\n", lg->o.host, gai_strerror(e));
		return (-1);
	}
	if (res->ai_family == AF_INET) {
		sin = (const struct sockaddr_in *)res->ai_addr;
		loop = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (res->ai_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)res->ai_addr;
		loop = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
	}
	if (!loop) {
		fprintf(stderr, "loadgen: refusing %s: only loopback "
		    "addresses may be loaded\n", lg->o.host);
		freeaddrinfo(res);
		return (-1);
	}
	memcpy(&lg->addr, res->ai_addr, res->ai_addrlen);
	lg->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

/*
 * Raises RLIMIT_NOFILE for want descriptors: the soft limit to the hard
 * one, and the hard one too when this process may (root).  Returns the
 * soft limit in force.
 */
static long
loadgen_nofile(long want)
{
	struct rlimit	rl;
	FILE		*f;
	long		nr_open = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (-1);
	if ((rlim_t)want > rl.rlim_max) {
		if ((f = fopen("/proc/sys/fs/nr_open", "r")) != NULL) {
			if (fscanf(f, "%ld", &nr_open) != 1)
				nr_open = 0;
			fclose(f);
		}
		if (nr_open > 0 && want > nr_open)
			want = nr_open;
		rl.rlim_cur = rl.rlim_max = (rlim_t)want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return (want);
	}
	return (util_raise_nofile());
}

/*
 * Parses the options, sets up limits, the loop and the deadline, runs a
 * mode.
 */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "window", required_argument, NULL, 'w' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "first", required_argument, NULL, 'f' },
		{ "server-pid", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "clients", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 'T' },
		{ "list-interval", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'z' },
		{ "peer-window", required_argument, NULL, 'W' },
		{ "relay", no_argument, NULL, 'R' },
		{ "attack", required_argument, NULL, 'a' },
		{ "source", required_argument, NULL, 'S' },
		{ "sources", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg	 lg;
	struct timeval	 tv;
	char		 err[KEYS_ERR_MAX];
	const char	*mode;
	long		 fds, need;
	int		 ch, rc = 1, net = 1, sc = 1;

	memset(&lg, 0, sizeof(lg));
	snprintf(lg.o.host, sizeof(lg.o.host), "127.0.0.1");
	lg.o.n = 100;
	lg.o.window = 256;
	lg.o.prefix = LG_NAME_PREFIX;
	lg.o.timeout = 300;
	lg.o.duration = 10;
	lg.o.clients = 4;
	lg.o.threads = 2;
	lg.o.count = 2000;
	lg.o.size = 64;
	lg.o.peer_window = 32;
	lg.o.list_interval_ms = 10;
	lg.o.nsources = 1;
	if (argc < 2 || argv[1][0] == '-')
		loadgen_usage();
	mode = lg.o.mode = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			if (strlen(optarg) >= sizeof(lg.o.host))
				loadgen_usage();
			snprintf(lg.o.host, sizeof(lg.o.host), "%s", optarg);
			break;
		case 'p':
			lg.o.port = (int)loadgen_num("--port", optarg, 1,
			    65535);
			break;
		case 'k':
			if (strlen(optarg) >= sizeof(lg.o.key_path))
				loadgen_usage();
			snprintf(lg.o.key_path, sizeof(lg.o.key_path), "%s",
			    optarg);
			break;
		case 'n':
			lg.o.n = (int)loadgen_num("-n", optarg, 1,
			    LG_MAX_CLIENTS);
			break;
		case 'w':
			lg.o.window = (int)loadgen_num("--window", optarg, 1,
			    LG_MAX_CLIENTS);
			break;
		case 'P':
			if (strlen(optarg) < 1 || strlen(optarg) > 16 ||
			    !wire_name_valid(optarg, strlen(optarg)) ||
			    !isalpha((unsigned char)optarg[0]))
				loadgen_usage();
			lg.o.prefix = optarg;
			break;
		case 'f':
			lg.o.first = (int)loadgen_num("--first", optarg, 0,
			    LG_MAX_CLIENTS);
			break;
		case 's':
			lg.o.server_pid = (pid_t)loadgen_num("--server-pid",
			    optarg, 1, INT_MAX);
			break;
		case 't':
			lg.o.timeout = loadgen_secs("--timeout", optarg);
			break;
		case 'd':
			lg.o.duration = loadgen_secs("--duration", optarg);
			break;
		case 'm':
			lg.o.clients = (int)loadgen_num("--clients", optarg, 1,
			    1000);
			break;
		case 'T':
			lg.o.threads = (int)loadgen_num("--threads", optarg, 1,
			    64);
			break;
		case 'l':
			lg.o.list_interval_ms = (int)loadgen_num(
			    "--list-interval", optarg, 0, 10000);
			break;
		case 'c':
			lg.o.count = (int)loadgen_num("--count", optarg, 1,
			    10000000);
			break;
		case 'z':
			lg.o.size = (int)loadgen_num("--size", optarg, 0,
			    SC_TEXT_MAX);
			break;
		case 'W':
			lg.o.peer_window = (int)loadgen_num("--peer-window",
			    optarg, 1, 64);
			break;
		case 'R':
			lg.o.relay = 1;
			break;
		case 'a':
			if ((lg.o.attack = lgattack_kind(optarg)) == 0)
				loadgen_usage();
			break;
		case 'S':
			if (strlen(optarg) >= sizeof(lg.o.source))
				loadgen_usage();
			snprintf(lg.o.source, sizeof(lg.o.source), "%s",
			    optarg);
			break;
		case 'N':
			lg.o.nsources = (int)loadgen_num("--sources", optarg,
			    1, 250);
			break;
		default:
			loadgen_usage();
		}
	}
	if (optind != argc)
		loadgen_usage();
	lg.prefix_len = strlen(lg.o.prefix);

	if (strcmp(mode, "pwhash") == 0)
		net = sc = 0;
	else if (strcmp(mode, "irc") == 0)
		sc = 0;
	else if (strcmp(mode, "mkusers") != 0 && strcmp(mode, "storm") != 0 &&
	    strcmp(mode, "logins") != 0 && strcmp(mode, "peer") != 0 &&
	    strcmp(mode, "attack") != 0 && strcmp(mode, "user") != 0) {
		fprintf(stderr, "loadgen: unknown mode %s\n", mode);
		loadgen_usage();
	}
	if (net && lg.o.port == 0) {
		fprintf(stderr, "loadgen: %s needs --port\n", mode);
		loadgen_usage();
	}
	if (sc && lg.o.key_path[0] == '\0') {
		fprintf(stderr, "loadgen: %s needs --key\n", mode);
		loadgen_usage();
	}

	signal(SIGPIPE, SIG_IGN);
	if (sc_crypto_init() != 0) {
		fprintf(stderr, "loadgen: cannot initialise libsodium\n");
		return (EXIT_SOFTWARE);
	}
	if (net && loadgen_resolve(&lg) == -1)
		return (EXIT_USAGE);
	if (sc && keys_public_load(lg.server_pk, lg.o.key_path, err) == -1) {
		fprintf(stderr, "loadgen: %s\n", err);
		return (EXIT_CONFIG);
	}
	if (strcmp(mode, "attack") == 0 && lg.o.attack == 0) {
		fprintf(stderr, "loadgen: attack needs --attack\n");
		loadgen_usage();
	}
	need = (long)(strcmp(mode, "logins") == 0 ? lg.o.clients + 1 :
	    lg.o.n) + LOADGEN_FD_SPARE;
	if (strcmp(mode, "attack") == 0)
		need = (long)lg.o.nsources * lg.o.window + lg.o.window +
		    lg.o.clients + lg.o.n + LOADGEN_FD_SPARE;
	fds = loadgen_nofile(need);
	if (net && fds < need) {
		fprintf(stderr, "loadgen: %ld descriptors allowed, %ld "
		    "needed\n", fds, need);
		return (EXIT_USAGE);
	}

	if ((lg.base = event_base_new()) == NULL) {
		fprintf(stderr, "loadgen: cannot make the event loop\n");
		return (EXIT_SOFTWARE);
	}
	lg.t_start_ms = util_now_ms();
	tv.tv_sec = (time_t)lg.o.timeout;
	tv.tv_usec = (suseconds_t)((lg.o.timeout - (double)tv.tv_sec) * 1e6);
	lg.deadline_ev = evtimer_new(lg.base, loadgen_deadline_cb, &lg);
	if (lg.deadline_ev == NULL || evtimer_add(lg.deadline_ev, &tv) == -1) {
		fprintf(stderr, "loadgen: cannot arm the deadline\n");
		return (EXIT_SOFTWARE);
	}

	if (strcmp(mode, "mkusers") == 0)
		rc = lgstorm_mkusers(&lg);
	else if (strcmp(mode, "storm") == 0)
		rc = lgstorm_storm(&lg);
	else if (strcmp(mode, "irc") == 0)
		rc = lgstorm_irc(&lg);
	else if (strcmp(mode, "logins") == 0)
		rc = lglogins_logins(&lg);
	else if (strcmp(mode, "pwhash") == 0)
		rc = lglogins_pwhash(&lg);
	else if (strcmp(mode, "attack") == 0)
		rc = lgattack_attack(&lg);
	else if (strcmp(mode, "user") == 0)
		rc = lgattack_user(&lg);
	else
		rc = lgpeer_peer(&lg);

	if (rc != 0 || lg.failed) {
		fprintf(stderr, "loadgen: %s failed: %s\n", mode,
		    lg.error[0] ? lg.error : "error");
		rc = lg.error[0] && strstr(lg.error, "refused") != NULL ?
		    EXIT_UNAVAIL : 1;
	}
	event_free(lg.deadline_ev);
	event_base_free(lg.base);
	lgconn_cleanup();
	sc_wipe(lg.server_pk, sizeof(lg.server_pk));
	return (rc);
}
