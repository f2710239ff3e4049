/* SPDX-License-Identifier: ISC */
/*
 * sealchat: the client.  Reads the options and the configuration (-c, else
 * $XDG_CONFIG_HOME/sealchat/sealchat.yaml when it exists; -s overrides the
 * server), pins the server's key, and runs the event loop with a front
 * end: the REPL when standard input and output are a terminal (or with
 * --interactive), script mode otherwise (or with --batch), and script mode
 * on the words of a command given on the command line (one-shot, as
 * redis-cli and nmcli run one).  -u logs in first.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "sealchat/conf.h"
#include "sealchat/crypto.h"
#include "sealchat/keys.h"
#include "sealchat/log.h"
#include "sealchat/util.h"
#include "sealchat/wire.h"

#include "client.h"
#include "commands.h"
#include "config.h"
#include "output.h"
#include "repl.h"
#include "script.h"

/* A one-shot command line, the words joined by single spaces. */
#define MAIN_CMD_MAX	SCRIPT_LINE_MAX

struct main_opts {
	const char	*conf_path;
	const char	*password_file;
	const char	*server;		/* -s HOST[:PORT] */
	char		 user[SC_NAME_MAX + 1];	/* -u, canonical */
	char		 cmd[MAIN_CMD_MAX + 1];	/* one-shot, or "" */
	char		 conf_buf[PATH_MAX];	/* the default file */
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
	    "usage: sealchat [-dhV] [-c FILE] [-s HOST[:PORT]] [-u USER]\n"
	    "                [--batch | --interactive] [--listen] "
	    "[--password-file FILE]\n"
	    "                [COMMAND [ARG...]]\n"
	    "\n"
	    "  -c, --config FILE      configuration file (YAML; default\n"
	    "                         $XDG_CONFIG_HOME/sealchat/sealchat.yaml"
	    "\n"
	    "                         when it exists)\n"
	    "  -s, --server HOST[:PORT]\n"
	    "                         the server, whatever the file says\n"
	    "                         (an IPv6 address in brackets)\n"
	    "  -u, --user USER        log in as USER first\n"
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
	    "COMMAND runs that one command in script mode and exits:\n"
	    "  sealchat -u alice send bob the backup finished\n"
	    "\n"
	    "Commands, one per line:\n");
	if ((out = output_script_new(f, f)) != NULL) {
		commands_help(out);
		output_free(out);
	}
}

/* A usage error: the reason, then exit 64. */
static void	main_refuse(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
main_refuse(const char *fmt, ...)
{
	va_list	ap;

	fputs("sealchat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/*
 * The command given on the command line: its words joined by one space,
 * checked as script mode would check the line, so that a typo is a usage
 * error (64) before anything connects.
 */
static void
main_command(struct main_opts *o, int argc, char **argv)
{
	const struct command	*cmd;
	struct cmd_args		 a;
	const char		*near;
	size_t			 len = 0, n;
	int			 i;

	for (i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n") != NULL)
			main_refuse("a line break in the command's words");
		n = strlen(argv[i]);
		if (len + n + (i > 0) > MAIN_CMD_MAX)
			main_refuse("the command is too long (max %d bytes)",
			    MAIN_CMD_MAX);
		if (i > 0)
			o->cmd[len++] = ' ';
		memcpy(o->cmd + len, argv[i], n);
		len += n;
	}
	o->cmd[len] = '\0';
	if (commands_split(&a, o->cmd, len) != 0)
		main_refuse("no command");
	if ((cmd = commands_find(a.word, a.word_len)) == NULL) {
		near = commands_suggest(a.word, a.word_len);
		main_refuse("unknown command: %s%s%s%s", argv[0],
		    near != NULL ? " (did you mean " : "",
		    near != NULL ? near : "", near != NULL ? "?)" : "");
	}
	if (!commands_shape_ok(cmd, &a))
		main_refuse("usage: sealchat [-u USER] %s", cmd->usage);
	if ((cmd->flags & CMD_NEEDS_LOGIN) && o->user[0] == '\0')
		main_refuse("%s needs a login: add -u USER", cmd->name);
	if (cmd->flags & CMD_TERMINAL)
		main_refuse("%s works only at the terminal", cmd->name);
}

/*
 * --password-file is checked before anything connects: a file that cannot
 * be read is a usage error; one that others may read is worth a warning.
 */
static void
main_password_file(const char *path)
{
	struct stat	sb;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		main_refuse("cannot read the password file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		main_refuse("the password file %s is not a regular file",
		    path);
	}
	close(fd);
	if (sb.st_mode & (S_IRWXG | S_IRWXO))
		fprintf(stderr, "sealchat: warning: others can read the "
		    "password file %s (mode %04o): chmod 600 %s\n", path,
		    (unsigned)(sb.st_mode & 07777), path);
}

/* Parses the command line; exits on --help, --version and usage errors. */
static void
main_parse(int argc, char **argv, struct main_opts *o)
{
	enum { OPT_BATCH = 256, OPT_INTERACTIVE, OPT_LISTEN, OPT_PASSFILE };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "server", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "batch", no_argument, NULL, OPT_BATCH },
		{ "interactive", no_argument, NULL, OPT_INTERACTIVE },
		{ "listen", no_argument, NULL, OPT_LISTEN },
		{ "password-file", required_argument, NULL, OPT_PASSFILE },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*user = NULL;
	int		 ch;

	memset(o, 0, sizeof(*o));
	/* '+': the options end at the command, whose words are its own. */
	while ((ch = getopt_long(argc, argv, "+c:dhs:u:V", longopts,
	    NULL)) != -1) {
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
		case 's':
			o->server = optarg;
			break;
		case 'u':
			user = optarg;
			break;
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
	if (user != NULL && wire_name_canon(o->user, user, strlen(user)) != 0)
		main_refuse("-u %s: bad name (%s)", user, COMMANDS_NAME_RULE);
	if (optind < argc)
		main_command(o, argc - optind, argv + optind);
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
	if (o->cmd[0] != '\0' && o->interactive)
		main_refuse("a command on the command line runs in script "
		    "mode: --interactive does not go with it");
	if (o->password_file != NULL)
		main_password_file(o->password_file);
}

/*
 * The configuration file: -c, else $XDG_CONFIG_HOME/sealchat/sealchat.yaml
 * (~/.config/...) when it exists, else none (the embedded defaults).
 */
static const char *
main_conf_path(struct main_opts *o)
{
	char	dir[PATH_MAX];
	int	n;

	if (o->conf_path != NULL)
		return (o->conf_path);
	if (util_xdg_dir(dir, sizeof(dir), UTIL_XDG_CONFIG) != 0)
		return (NULL);
	n = snprintf(o->conf_buf, sizeof(o->conf_buf), "%s/sealchat.yaml",
	    dir);
	if (n < 0 || (size_t)n >= sizeof(o->conf_buf) ||
	    access(o->conf_buf, F_OK) != 0)
		return (NULL);
	return (o->conf_buf);
}

/* -s: the server given on the command line replaces the file's. */
static void
main_server(const struct main_opts *o, struct client_conf *conf)
{
	char	host[CONF_STR_MAX], err[CONF_STR_MAX + 64];
	long	port;

	if (o->server == NULL)
		return;
	if (util_hostport(o->server, host, sizeof(host), &port, err,
	    sizeof(err)) != 0)
		main_refuse("-s %s", err);
	strlcpy(conf->server_address, host, sizeof(conf->server_address));
	if (port != 0)
		conf->server_port = port;
}

/*
 * Loads the pinned key; a missing file says where the key comes from,
 * since that is what a new user meets first.
 */
static int
main_pinned_key(uint8_t pk[SC_KEY_BYTES], const char *path)
{
	char	err[KEYS_ERR_MAX];

	if (access(path, F_OK) != 0 && errno == ENOENT) {
		fprintf(stderr, "sealchat: the server's public key %s is "
		    "missing: get server.pub from the server's operator, "
		    "check its fingerprint with them, and put it there (or "
		    "set server_public_key); see sealchat(1), SERVER KEY\n",
		    path);
		return (-1);
	}
	if (keys_public_load(pk, path, err) != 0) {
		fprintf(stderr, "sealchat: %s\n", err);
		return (-1);
	}
	return (0);
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
	char			 err[CONF_ERR_MAX];
	char			 line[8 + SC_NAME_MAX];
	int			 status = EXIT_SOFTWARE;

	setlocale(LC_ALL, "");
	main_parse(argc, argv, &o);
	log_init("sealchat", LOG_LVL_WARN);
	if (sc_crypto_init() != 0) {
		fprintf(stderr, "sealchat: cannot initialise libsodium\n");
		return (EXIT_SOFTWARE);
	}
	if (client_config_load(&conf, main_conf_path(&o), err) != 0) {
		fprintf(stderr, "sealchat: %s\n", err);
		return (EXIT_CONFIG);
	}
	main_server(&o, &conf);
	log_set_level(o.debug ? LOG_LVL_DEBUG : (enum log_level)conf.log_level);
	if (main_pinned_key(pk, conf.server_public_key) != 0)
		return (EXIT_CONFIG);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if ((base = main_event_base()) == NULL) {
		fprintf(stderr, "sealchat: cannot start the event loop\n");
		goto out;
	}
	interactive = o.interactive || (!o.batch && o.cmd[0] == '\0' &&
	    isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
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
		repl_attach(repl, client, o.user[0] != '\0' ? o.user : NULL);
	else {
		if ((script = script_new(base, client, STDIN_FILENO,
		    o.password_file)) == NULL)
			goto oom;
		/* -u logs in first; a one-shot command reads no input. */
		if (o.user[0] != '\0') {
			snprintf(line, sizeof(line), "auth %s", o.user);
			script_push(script, line);
		}
		if (o.cmd[0] != '\0') {
			script_push(script, o.cmd);
			script_push(script, NULL);
		}
	}
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
