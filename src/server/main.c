/* SPDX-License-Identifier: ISC */
/*
 * sealchatd: options, configuration, keys, then the event loop.  -t, -T
 * and --genkey stop after the configuration: -t checks what start-up
 * would (the key pair, the database, the addresses), -T prints the
 * settings the daemon would run with, --genkey makes the key pair.
 *
 * First of all, the daemon makes itself not dumpable: no core file, and no
 * other process of its user may read its memory (the server's private
 * key, the channel keys, the passwords of logins) through /proc or
 * ptrace.  The hash helper it forks is not dumpable either.
 *
 * The owner rule (keys.h) holds for every file -t checks: a file in a
 * folder that belongs to a user other than root belongs to that user, who
 * is the one the daemon runs as there (systemd's StateDirectory= makes the
 * folder its service's), so that root checks the service's files as the
 * service would read them.  keys.c holds the private key to it at every
 * load; -t holds the public key and the database to it too.  A key pair
 * that root makes there, with --genkey or at a first start, is given to
 * that user.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealchat/conf.h"
#include "sealchat/crypto.h"
#include "sealchat/keys.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "config.h"
#include "hashhelper.h"
#include "metrics.h"
#include "server.h"

#define MAIN_GENKEY	256	/* --genkey, which has no short form */
#define MAIN_ERR_MAX	(2 * PATH_MAX + 256)

static const struct option main_longopts[] = {
	{ "config",	required_argument,	NULL,	'c' },
	{ "listen",	required_argument,	NULL,	'l' },
	{ "test",	no_argument,		NULL,	't' },
	{ "show-config", no_argument,		NULL,	'T' },
	{ "genkey",	no_argument,		NULL,	MAIN_GENKEY },
	{ "debug",	no_argument,		NULL,	'd' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

/* Prints the usage line (and with full, what each option does). */
static void
main_usage(FILE *f, int full)
{
	fprintf(f, "usage: sealchatd [-d] [-t | -T | --genkey] [-c file] "
	    "[-l address[:port]]\n"
	    "       sealchatd -h | -V\n");
	if (!full)
		return;
	fprintf(f, "\n"
	    "The sealchat server: accounts, login, presence and pair keys\n"
	    "over an encrypted channel; on UDP, endpoint registration and a\n"
	    "relay for clients that find no direct path.  Runs in the\n"
	    "foreground.\n\n"
	    "  -c, --config FILE  read the configuration from FILE\n"
	    "                     (default: the embedded defaults)\n"
	    "  -l, --listen ADDRESS[:PORT]\n"
	    "                     listen there, whatever the file says\n"
	    "                     (server_address, server_port; an IPv6\n"
	    "                     address in brackets)\n"
	    "  -t, --test         check what start-up would (configuration,\n"
	    "                     key files, database, addresses), print\n"
	    "                     the key fingerprint, and exit\n"
	    "      --genkey       make the key pair when there is none, print\n"
	    "                     its fingerprint, and exit\n"
	    "  -T, --show-config  check the configuration, print every "
	    "setting\n"
	    "                     it gives (as a configuration file), "
	    "and exit\n"
	    "  -d, --debug        log at debug level\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n\n"
	    "Signals: TERM, INT or QUIT stop (clients are told), HUP reloads\n"
	    "the configuration file, USR1 logs a status line; the others an\n"
	    "operator may send are ignored.  Exit status: 0 stopped cleanly,\n"
	    "64 usage, 69 cannot listen (TCP or UDP), 78 configuration or key\n"
	    "files.\n");
}

/* The owner rule (keys.h) for an existing file: 0, or -1 with a message. */
static int
main_owner_ok(const char *key, const char *path, char *err, size_t len)
{
	struct stat	sb;
	uid_t		uid;
	gid_t		gid;

	if (lstat(path, &sb) != 0 || keys_folder_owner(path, &uid, &gid) != 0)
		return (0);
	if (sb.st_uid == uid)
		return (0);
	snprintf(err, len, "%s %s: owned by uid %u, but its folder by uid %u, "
	    "the user the daemon runs as there (chown %u:%u %s)", key, path,
	    (unsigned)sb.st_uid, (unsigned)uid, (unsigned)uid, (unsigned)gid,
	    path);
	return (-1);
}

/* Gives a file root just made to the owner of its folder (the rule). */
static int
main_give(const char *path)
{
	uid_t	uid;
	gid_t	gid;

	if (geteuid() != 0 || keys_folder_owner(path, &uid, &gid) != 0)
		return (0);
	if (lchown(path, uid, gid) != 0) {
		fprintf(stderr, "sealchatd: %s: chown: %s\n", path,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * -t: the database as start-up would open it: its folder exists, and the
 * file is absent (made at start), empty, or an SQLite database.
 */
static int
main_check_db(const char *path, char *err, size_t len)
{
	struct stat	sb;
	char		dir[PATH_MAX], head[16];
	ssize_t		n;
	int		fd, rc = -1;

	if (util_dirname(dir, sizeof(dir), path) != 0 || stat(dir, &sb) != 0) {
		snprintf(err, len, "data_base %s: the folder %s: %s", path,
		    dir, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, len, "data_base %s: %s is not a folder", path,
		    dir);
		return (-1);
	}
	if (lstat(path, &sb) != 0 && errno == ENOENT)
		return (0);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		snprintf(err, len, "data_base %s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, len, "data_base %s: not a regular file", path);
		goto out;
	}
	if (sb.st_size > 0 && ((n = read(fd, head, sizeof(head))) !=
	    (ssize_t)sizeof(head) ||
	    memcmp(head, "SQLite format 3", sizeof(head)) != 0)) {
		snprintf(err, len, "data_base %s: not an SQLite database",
		    path);
		goto out;
	}
	rc = main_owner_ok("data_base", path, err, len);
out:
	close(fd);
	return (rc);
}

/*
 * -t: whether address is one of this machine's, by binding it on a port
 * of the system's choice (the configured one may be the running
 * daemon's).
 */
static int
main_check_listen(const char *address, char *err, size_t len)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	int		 fd, rc, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(address, "0", &hints, &res)) != 0) {
		snprintf(err, len, "server_address %s: %s", address,
		    gai_strerror(rc));
		return (-1);
	}
	rc = -1;
	for (ai = res; ai != NULL && rc != 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd != -1 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			rc = 0;
		else
			saved = errno;
		if (fd != -1)
			close(fd);
	}
	freeaddrinfo(res);
	if (rc != 0)
		snprintf(err, len, "server_address %s: %s%s", address,
		    strerror(saved), saved == EADDRNOTAVAIL ?
		    " (not an address of this machine)" : "");
	return (rc);
}

/*
 * -t: checks what start-up would, creating nothing: the key pair, the
 * database, the addresses, the control group.  Each problem is printed;
 * 78 when there was one.
 */
static int
main_test(const struct server_conf *conf)
{
	struct sc_keypair	kp;
	char			err[MAIN_ERR_MAX];
	char			fpr[SC_FPR_LEN];
	int			bad = 0, keys = 0;

	if (keys_server_check(&kp, conf->server_public_key,
	    conf->server_private_key, err) != 0) {
		fprintf(stderr, "sealchatd: %s\n", err);
		bad = 1;
	} else {
		keys = 1;
		sc_fingerprint(fpr, kp.pk);
		sc_keypair_free(&kp);
	}
	/* keys.c held the private key to the owner rule; the public too. */
	if (keys && main_owner_ok("server_public_key",
	    conf->server_public_key, err, sizeof(err)) != 0) {
		fprintf(stderr, "sealchatd: %s\n", err);
		bad = 1;
	}
	if (main_check_db(conf->data_base, err, sizeof(err)) != 0) {
		fprintf(stderr, "sealchatd: %s\n", err);
		bad = 1;
	}
	if (main_check_listen(conf->server_address, err, sizeof(err)) != 0) {
		fprintf(stderr, "sealchatd: %s\n", err);
		bad = 1;
	}
	if (strcmp(conf->metrics_address, SERVER_CONFIG_OFF) != 0 &&
	    metrics_address_check(conf->metrics_address, 1, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "sealchatd: %s\n", err);
		bad = 1;
	}
	if (strcmp(conf->control_group, SERVER_CONFIG_NO_GROUP) != 0 &&
	    getgrnam(conf->control_group) == NULL) {
		fprintf(stderr, "sealchatd: control_group %s: no such group\n",
		    conf->control_group);
		bad = 1;
	}
	if (bad)
		return (EXIT_CONFIG);
	printf("configuration ok\nfingerprint %s\n", fpr);
	return (0);
}

/*
 * --genkey: makes the key pair when neither file exists (as ssh-keygen -A
 * makes missing host keys), leaves a whole pair alone, refuses half of
 * one; prints the files and the fingerprint.
 */
static int
main_genkey(const struct server_conf *conf)
{
	struct sc_keypair	kp;
	char			err[KEYS_ERR_MAX];
	char			fpr[SC_FPR_LEN];
	int			created = 0;

	if (keys_server_load(&kp, conf->server_public_key,
	    conf->server_private_key, &created, err) != 0) {
		fprintf(stderr, "sealchatd: %s\n", err);
		return (EXIT_CONFIG);
	}
	sc_fingerprint(fpr, kp.pk);
	sc_keypair_free(&kp);
	if (created && (main_give(conf->server_private_key) != 0 ||
	    main_give(conf->server_public_key) != 0))
		return (EXIT_CONFIG);
	printf("%s\npublic %s\nprivate %s\nfingerprint %s\n", created ?
	    "new key pair" : "key pair exists, unchanged",
	    conf->server_public_key, conf->server_private_key, fpr);
	return (0);
}

/* -T: prints the effective configuration, one row a line. */
static int
main_show(const struct server_conf *conf)
{
	if (conf_print(stdout, server_config_rows, conf) != 0) {
		fprintf(stderr, "sealchatd: cannot write the configuration\n");
		return (EXIT_SOFTWARE);
	}
	return (0);
}

/* -l ADDRESS[:PORT]: where to listen, over the file; 0 or -1 (said). */
static int
main_listen(const char *arg)
{
	char	host[CONF_STR_MAX], err[CONF_STR_MAX + 64];
	long	port;

	if (util_hostport(arg, host, sizeof(host), &port, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "sealchatd: -l %s\n", err);
		return (-1);
	}
	if (server_config_listen(host, port) != 0) {
		fprintf(stderr, "sealchatd: -l %s: address too long\n", arg);
		return (-1);
	}
	return (0);
}

/* Options, configuration, keys, then the loop. */
int
main(int argc, char **argv)
{
	struct server_conf	 conf;
	struct sc_keypair	 kp;
	const char		*conf_path = NULL;
	char			 err[CONF_ERR_MAX], kerr[KEYS_ERR_MAX];
	char			 fpr[SC_FPR_LEN];
	int			 ch, test = 0, show = 0, debug = 0, created, rc;
	int			 genkey = 0;

	if (prctl(PR_SET_DUMPABLE, 0) == -1) {
		perror("sealchatd: prctl(PR_SET_DUMPABLE)");
		return (EXIT_SOFTWARE);
	}
	hashhelper_title_init(argc, argv, environ);
	while ((ch = getopt_long(argc, argv, "c:dhl:tTV", main_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'l':
			if (main_listen(optarg) != 0) {
				main_usage(stderr, 0);
				return (EXIT_USAGE);
			}
			break;
		case 'd':
			debug = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'T':
			show = 1;
			break;
		case MAIN_GENKEY:
			genkey = 1;
			break;
		case 'h':
			main_usage(stdout, 1);
			return (0);
		case 'V':
			printf("sealchatd %s\n", SC_VERSION_STR);
			return (0);
		default:
			main_usage(stderr, 0);
			return (EXIT_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sealchatd: unexpected argument: %s\n",
		    argv[optind]);
		main_usage(stderr, 0);
		return (EXIT_USAGE);
	}
	if (test + show + genkey > 1) {
		fprintf(stderr, "sealchatd: -t, -T and --genkey exclude each "
		    "other\n");
		main_usage(stderr, 0);
		return (EXIT_USAGE);
	}

	log_init("sealchatd", debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (sc_crypto_init() != 0) {
		fprintf(stderr, "sealchatd: cannot initialise libsodium\n");
		return (EXIT_SOFTWARE);
	}
	if (server_config_load(&conf, conf_path, err) != 0) {
		fprintf(stderr, "sealchatd: %s\n", err);
		return (EXIT_CONFIG);
	}
	if (test)
		return (main_test(&conf));
	if (show)
		return (main_show(&conf));
	if (genkey)
		return (main_genkey(&conf));
	log_set_level(debug ? LOG_LVL_DEBUG : (enum log_level)conf.log_level);

	if (keys_server_load(&kp, conf.server_public_key,
	    conf.server_private_key, &created, kerr) != 0) {
		log_errorx("%s", kerr);
		return (EXIT_CONFIG);
	}
	sc_fingerprint(fpr, kp.pk);
	log_info("server key fingerprint=%s created=%d", fpr, created);
	if (created) {
		log_info("new key pair public=%s private=%s",
		    conf.server_public_key, conf.server_private_key);
		if (main_give(conf.server_private_key) != 0 ||
		    main_give(conf.server_public_key) != 0) {
			sc_keypair_free(&kp);
			return (EXIT_CONFIG);
		}
	}
	log_info("starting version=%s config=%s", SC_VERSION_STR,
	    conf_path != NULL ? conf_path : "(defaults)");

	rc = server_run(&conf, conf_path, &kp, debug);
	sc_keypair_free(&kp);
	return (rc);
}
