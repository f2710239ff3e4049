/* SPDX-License-Identifier: ISC */
/*
 * sealchat: the client.  Reads the options and the configuration, pins the
 * server's key, and runs the event loop with a front end: the REPL when
 * standard input and output are a terminal (or with --interactive), script
 * mode otherwise (or with --batch).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sealchat/conf.h"
#include "sealchat/crypto.h"
#include "sealchat/keys.h"
#include "sealchat/log.h"
#include "sealchat/util.h"

#include "client.h"
#include "commands.h"
#include "config.h"
#include "output.h"
#include "repl.h"
#include "script.h"

struct main_opts {
	const char	*conf_path;
	const char	*password_file;
	int		 batch;
	int		 interactive;
	int		 listen;
	int		 debug;
};

/* Prints the usage summary; the commands come from the command table. */
static void
main_usage(FILE *f)
{
	struct output	*out;

	fprintf(f,
	    "usage: sealchat [-dhV] [-c FILE] [--batch | --interactive] "
	    "[--listen]\n"
	    "                [--password-file FILE]\n"
	    "\n"
	    "  -c, --config FILE      configuration file (YAML)\n"
	    "      --batch            script mode even on a terminal\n"
	    "      --interactive      interactive mode\n"
	    "      --listen           keep running after the end of input,\n"
	    "                         until SIGINT or SIGTERM\n"
	    "      --password-file FILE\n"
	    "                         password for sign/auth lines without "
	    "one\n"
	    "                         (first line; else $SEALCHAT_PASSWORD)\n"
	    "  -d, --debug            debug log on standard error\n"
	    "  -h, --help             this help\n"
	    "  -V, --version          the version\n"
	    "\n"
	    "Commands, one per line:\n");
	if ((out = output_script_new(f, f)) != NULL) {
		commands_help(out);
		output_free(out);
	}
}

/* Parses the command line; exits on --help, --version and usage errors. */
static void
main_parse(int argc, char **argv, struct main_opts *o)
{
	enum { OPT_BATCH = 256, OPT_INTERACTIVE, OPT_LISTEN, OPT_PASSFILE };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "batch", no_argument, NULL, OPT_BATCH },
		{ "interactive", no_argument, NULL, OPT_INTERACTIVE },
		{ "listen", no_argument, NULL, OPT_LISTEN },
		{ "password-file", required_argument, NULL, OPT_PASSFILE },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "c:dhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf_path = optarg;
			break;
		case 'd':
			o->debug = 1;
			break;
		case 'h':
			main_usage(stdout);
			exit(0);
		case 'V':
			printf("sealchat %s\n", SC_VERSION_STR);
			exit(0);
		case OPT_BATCH:
			o->batch = 1;
			break;
		case OPT_INTERACTIVE:
			o->interactive = 1;
			break;
		case OPT_LISTEN:
			o->listen = 1;
			break;
		case OPT_PASSFILE:
			o->password_file = optarg;
			break;
		default:
			main_usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sealchat: unexpected argument: %s\n",
		    argv[optind]);
		main_usage(stderr);
		exit(EXIT_USAGE);
	}
	/*
	 * The REPL draws on the terminal it reads: with its output elsewhere
	 * (a pipe to tee, a file) there would be no prompt on the screen and
	 * no way to keep a password off it.  Script mode is for that.
	 */
	if (o->interactive && (!isatty(STDIN_FILENO) ||
	    !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "sealchat: --interactive needs a terminal on "
		    "standard input and output; to keep a record of a session "
		    "use script mode (--batch) or script(1)\n");
		exit(EXIT_USAGE);
	}
	if (o->batch && o->interactive) {
		fprintf(stderr, "sealchat: --batch and --interactive exclude "
		    "each other\n");
		exit(EXIT_USAGE);
	}
}

/* An event base that can watch a regular file or /dev/null on stdin. */
static struct event_base *
main_event_base(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		return (NULL);
	/* epoll refuses regular files and /dev/null (EPERM). */
	event_config_avoid_method(cfg, "epoll");
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return (base);
}

/* Options, configuration, pinned key, front end, then the loop. */
int
main(int argc, char **argv)
{
	struct main_opts	 o;
	struct client_conf	 conf;
	struct client_opts	 copts;
	struct event_base	*base = NULL;
	struct output		*out = NULL;
	struct client		*client = NULL;
	struct script		*script = NULL;
	struct repl		*repl = NULL;
	struct output		*rec;
	const char		*no_color;
	int			 interactive;
	uint8_t			 pk[SC_KEY_BYTES];
	char			 err[CONF_ERR_MAX > KEYS_ERR_MAX ?
				    CONF_ERR_MAX : KEYS_ERR_MAX];
	int			 status = EXIT_SOFTWARE;

	setlocale(LC_ALL, "");
	main_parse(argc, argv, &o);
	log_init("sealchat", LOG_LVL_WARN);
	if (sc_crypto_init() != 0) {
		fprintf(stderr, "sealchat: cannot initialise libsodium\n");
		return (EXIT_SOFTWARE);
	}
	if (client_config_load(&conf, o.conf_path, err) != 0) {
		fprintf(stderr, "sealchat: %s\n", err);
		return (EXIT_CONFIG);
	}
	log_set_level(o.debug ? LOG_LVL_DEBUG : (enum log_level)conf.log_level);
	if (keys_public_load(pk, conf.server_public_key, err) != 0) {
		fprintf(stderr, "sealchat: %s\n", err);
		return (EXIT_CONFIG);
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if ((base = main_event_base()) == NULL) {
		fprintf(stderr, "sealchat: cannot start the event loop\n");
		goto out;
	}
	interactive = o.interactive || (!o.batch && isatty(STDIN_FILENO) &&
	    isatty(STDOUT_FILENO));
	if (interactive) {
		no_color = getenv("NO_COLOR");
		if ((repl = repl_new(base, isatty(STDOUT_FILENO) &&
		    (no_color == NULL || no_color[0] == '\0'))) == NULL)
			goto oom;
		rec = repl_output(repl);
	} else {
		if ((out = output_script_new(stdout, stderr)) == NULL)
			goto oom;
		rec = out;
	}
	memset(&copts, 0, sizeof(copts));
	/* At the terminal the end of input is the person leaving. */
	copts.listen = o.listen && !interactive;
	/* A person at the terminal, and a listener, keep going. */
	copts.persist = interactive || o.listen;
	copts.interactive = interactive;
	copts.key_path = conf.server_public_key;
	if ((client = client_new(base, &conf, pk, &copts, rec)) == NULL)
		goto oom;
	if (repl != NULL)
		repl_attach(repl, client, NULL);
	else if ((script = script_new(base, client, STDIN_FILENO,
	    o.password_file)) == NULL)
		goto oom;
	if (client_start(client) != 0)
		goto oom;
	event_base_dispatch(base);
	status = client_exit_status(client);
	/*
	 * At the terminal a failed command was shown to the person who typed
	 * it; only scripts learn of it from the exit status.
	 */
	if (repl != NULL && status == 1)
		status = 0;
	goto out;
oom:
	fprintf(stderr, "sealchat: out of memory\n");
	status = EXIT_SOFTWARE;
out:
	fflush(stdout);
	sc_wipe(pk, sizeof(pk));
	script_free(script);
	client_free(client);
	repl_free(repl);
	output_free(out);
	if (base != NULL)
		event_base_free(base);
	return (status);
}
