/* SPDX-License-Identifier: ISC */
/*
 * sealchatd: options, configuration, keys, then the event loop.  -t and -T
 * stop after the configuration: -t checks the key pair too, -T prints the
 * settings the daemon would run with.
 *
 * First of all, the daemon makes itself not dumpable: no core file, and no
 * other process of its user may read its memory (the server's private
 * key, the channel keys, the passwords of logins) through /proc or
 * ptrace.  The hash helper it forks is not dumpable either.
 */
#include <sys/prctl.h>

#include <getopt.h>
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
#include "server.h"

static const struct option main_longopts[] = {
	{ "config",	required_argument,	NULL,	'c' },
	{ "test",	no_argument,		NULL,	't' },
	{ "show-config", no_argument,		NULL,	'T' },
	{ "debug",	no_argument,		NULL,	'd' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

/* Prints the usage line (and with full, what each option does). */
static void
main_usage(FILE *f, int full)
{
	fprintf(f, "usage: sealchatd [-d] [-t | -T] [-c file]\n"
	    "       sealchatd -h | -V\n");
	if (!full)
		return;
	fprintf(f, "\n"
	    "The sealchat server: accounts, login, presence and pair keys\n"
	    "over an encrypted channel.  Runs in the foreground.\n\n"
	    "  -c, --config FILE  read the configuration from FILE\n"
	    "                     (default: the embedded defaults)\n"
	    "  -t, --test         check the configuration and the key files,\n"
	    "                     print the key fingerprint, and exit\n"
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
	    "64 usage, 69 cannot listen, 78 configuration or key files.\n");
}

/* -t: checks the key pair without creating anything. */
static int
main_test(const struct server_conf *conf)
{
	struct sc_keypair	kp;
	char			err[KEYS_ERR_MAX];
	char			fpr[SC_FPR_LEN];

	if (keys_server_check(&kp, conf->server_public_key,
	    conf->server_private_key, err) != 0) {
		fprintf(stderr, "sealchatd: %s\n", err);
		return (EXIT_CONFIG);
	}
	sc_fingerprint(fpr, kp.pk);
	sc_keypair_free(&kp);
	printf("configuration ok\nfingerprint %s\n", fpr);
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

	if (prctl(PR_SET_DUMPABLE, 0) == -1) {
		perror("sealchatd: prctl(PR_SET_DUMPABLE)");
		return (EXIT_SOFTWARE);
	}
	hashhelper_title_init(argc, argv, environ);
	while ((ch = getopt_long(argc, argv, "c:dhtTV", main_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
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
	if (test && show) {
		fprintf(stderr, "sealchatd: -t and -T exclude each other\n");
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
	log_set_level(debug ? LOG_LVL_DEBUG : (enum log_level)conf.log_level);

	if (keys_server_load(&kp, conf.server_public_key,
	    conf.server_private_key, &created, kerr) != 0) {
		log_errorx("%s", kerr);
		return (EXIT_CONFIG);
	}
	sc_fingerprint(fpr, kp.pk);
	log_info("server key fingerprint=%s created=%d", fpr, created);
	if (created)
		log_info("new key pair public=%s private=%s",
		    conf.server_public_key, conf.server_private_key);
	log_info("starting version=%s config=%s", SC_VERSION_STR,
	    conf_path != NULL ? conf_path : "(defaults)");

	rc = server_run(&conf, conf_path, &kp, debug);
	sc_keypair_free(&kp);
	return (rc);
}
