/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the client's command lines, src/client/commands.c: the
 * split, the table, argument checks and the records of refused commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "sealchat/conf.h"
#include "sealchat/crypto.h"
#include "sealchat/log.h"

#include "client.h"
#include "commands.h"
#include "output.h"

#include "capture.h"

/* A client that is not connected, printing into a capture. */
struct fixture {
	struct event_base	*base;
	struct output		*out;
	struct client		*client;
	struct capture		 cap;
};

/* An unconnected client printing into a capture. */
static int
fixture_setup(void **state)
{
	struct fixture		*f;
	struct client_conf	 conf;
	struct client_opts	 opts;
	uint8_t			 pk[SC_KEY_BYTES];

	assert_int_equal(sc_crypto_init(), 0);
	log_init("test_commands", LOG_LVL_ERROR);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->out = output_new(&capture_ops, &f->cap);
	assert_non_null(f->out);
	client_config_defaults(&conf);
	memset(&opts, 0, sizeof(opts));
	memset(pk, 7, sizeof(pk));
	f->client = client_new(f->base, &conf, pk, &opts, f->out);
	assert_non_null(f->client);
	*state = f;
	return (0);
}

/* Frees the fixture. */
static int
fixture_teardown(void **state)
{
	struct fixture	*f = *state;

	client_free(f->client);
	output_free(f->out);
	event_base_free(f->base);
	free(f);
	return (0);
}

/* Runs a NUL-terminated line through the command table. */
static enum cmd_status
run(struct fixture *f, const char *line)
{
	return (commands_run(f->client, line, strlen(line)));
}

static void
test_split_send_keeps_the_text_exactly(void **state)
{
	struct cmd_args	a;
	const char	*line;

	(void)state;
	line = "send bob hello  world ";
	assert_int_equal(commands_split(&a, line, strlen(line)), 0);
	assert_int_equal(a.word_len, 4);
	assert_memory_equal(a.word, "send", 4);
	assert_int_equal(a.user_len, 3);
	assert_memory_equal(a.user, "bob", 3);
	assert_int_equal(a.rest_len, strlen("hello  world "));
	assert_memory_equal(a.rest, "hello  world ", a.rest_len);

	/* Only one separator is taken: further blanks belong to the text. */
	line = "send bob   three\tblanks\\n";
	assert_int_equal(commands_split(&a, line, strlen(line)), 0);
	assert_int_equal(a.rest_len, strlen("  three\tblanks\\n"));
	assert_memory_equal(a.rest, "  three\tblanks\\n", a.rest_len);

	/* Blanks before the command and between command and user. */
	line = " \tsend \t bob x";
	assert_int_equal(commands_split(&a, line, strlen(line)), 0);
	assert_memory_equal(a.user, "bob", 3);
	assert_int_equal(a.rest_len, 1);
	assert_memory_equal(a.rest, "x", 1);

	/* "send bob " is an empty text; "send bob" has none. */
	line = "send bob ";
	assert_int_equal(commands_split(&a, line, strlen(line)), 0);
	assert_non_null(a.rest);
	assert_int_equal(a.rest_len, 0);
	line = "send bob";
	assert_int_equal(commands_split(&a, line, strlen(line)), 0);
	assert_null(a.rest);
}

static void
test_split_drops_one_cr_and_keeps_bytes(void **state)
{
	struct cmd_args	a;
	const char	line[] = "send bob a\0b\r";

	(void)state;
	assert_int_equal(commands_split(&a, line, sizeof(line) - 1), 0);
	assert_int_equal(a.rest_len, 3);
	assert_memory_equal(a.rest, "a\0b", 3);
	/* Only one CR ends the line: the other belongs to the word. */
	assert_int_equal(commands_split(&a, "list\r\r", 6), 0);
	assert_int_equal(a.word_len, 5);
	assert_null(commands_find(a.word, a.word_len));
}

static void
test_split_blank_and_comment_lines(void **state)
{
	struct cmd_args	a;

	(void)state;
	assert_int_equal(commands_split(&a, "", 0), 1);
	assert_int_equal(commands_split(&a, " \t ", 3), 1);
	assert_int_equal(commands_split(&a, "\r", 1), 1);
	assert_int_equal(commands_split(&a, "# send bob x", 12), 1);
	assert_int_equal(commands_split(&a, "  # note", 8), 1);
	assert_int_equal(commands_split(&a, "list # no", 9), 0);
	assert_int_equal(a.extra, 1);
}

static void
test_table_lookup(void **state)
{
	const struct command	*cmd;

	(void)state;
	assert_non_null(cmd = commands_find("send", 4));
	assert_int_equal(cmd->shape, CMD_ARGS_USER_TEXT);
	assert_true(cmd->flags & CMD_NEEDS_LOGIN);
	assert_non_null(cmd = commands_find("auth", 4));
	assert_true(cmd->flags & CMD_TAKES_PASSWORD);
	assert_non_null(cmd = commands_find("?", 1));
	assert_ptr_equal(cmd->handler, commands_find("help", 4)->handler);
	/* An alias is the same row, not a row of its own. */
	assert_ptr_equal(cmd, commands_find("help", 4));
	assert_string_equal(cmd->alias[0], "?");
	/* irssi's words: /NAME is NAME, and its aliases. */
	assert_ptr_equal(commands_find("/help", 5), cmd);
	assert_ptr_equal(commands_find("/msg", 4), commands_find("send", 4));
	assert_ptr_equal(commands_find("/who", 4), commands_find("list", 4));
	assert_ptr_equal(commands_find("/quit", 5), commands_find("quit", 4));
	assert_ptr_equal(commands_find("/q", 2), commands_find("query", 5));
	assert_ptr_equal(commands_find("/query", 6),
	    commands_find("query", 5));
	assert_ptr_equal(commands_find("/peers", 6),
	    commands_find("peers", 5));
	assert_true(commands_find("query", 5)->flags & CMD_TERMINAL);
	assert_null(commands_find("msg", 3));
	assert_null(commands_find("//help", 6));
	assert_null(commands_find("/", 1));
	/* sign and auth share a handler and differ in their request. */
	assert_int_equal(commands_find("sign", 4)->msg_type, SC_MSG_SIGN);
	assert_int_equal(commands_find("auth", 4)->msg_type, SC_MSG_AUTH);
	assert_ptr_equal(commands_find("sign", 4)->handler,
	    commands_find("auth", 4)->handler);
	assert_null(commands_find("HELP", 4));
	assert_null(commands_find("sen", 3));
	assert_null(commands_find("sendx", 5));
	assert_null(commands_find("", 0));
}

static void
test_unknown_command_and_usage_errors(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(run(f, "bogus x y"), CMD_FAILED);
	assert_int_equal(run(f, "send"), CMD_FAILED);
	assert_int_equal(run(f, "send bob"), CMD_FAILED);
	assert_int_equal(run(f, "list now"), CMD_FAILED);
	assert_int_equal(run(f, "auth"), CMD_FAILED);
	assert_int_equal(run(f, "quit now"), CMD_FAILED);
	assert_int_equal(run(f, "ignore"), CMD_FAILED);
	assert_int_equal(run(f, "ignore bob now"), CMD_FAILED);
	assert_int_equal(run(f, "/query bob hi"), CMD_FAILED);
	assert_int_equal(run(f, "verify"), CMD_FAILED);
	assert_int_equal(run(f, "verify bob now"), CMD_FAILED);
	assert_int_equal(run(f, "trust"), CMD_FAILED);
	assert_int_equal(run(f, "trust bob "), CMD_FAILED);
	assert_string_equal(f->cap.text,
	    "error\tbogus\tunknown command\n"
	    "error\tsend\tusage: send USER TEXT...\n"
	    "error\tsend\tusage: send USER TEXT...\n"
	    "error\tlist\tusage: list\n"
	    "error\tauth\tusage: auth USER [PASS]\n"
	    "error\tquit\tusage: quit\n"
	    "error\tignore\tusage: ignore USER\n"
	    "error\tignore\tusage: ignore USER\n"
	    "error\tquery\tusage: /query [USER]\n"
	    "error\tverify\tusage: verify USER\n"
	    "error\tverify\tusage: verify USER\n"
	    "error\ttrust\tusage: trust USER\n"
	    "error\ttrust\tusage: trust USER\n");
}

static void
test_unknown_command_suggests_the_nearest(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(run(f, "lsit"), CMD_FAILED);
	assert_int_equal(run(f, "sned bob hi"), CMD_FAILED);
	assert_int_equal(run(f, "/qiut"), CMD_FAILED);
	assert_int_equal(run(f, "hepl"), CMD_FAILED);
	/* Too far from anything, or too short to tell. */
	assert_int_equal(run(f, "frobnicate"), CMD_FAILED);
	assert_int_equal(run(f, "x"), CMD_FAILED);
	assert_string_equal(f->cap.text,
	    "error\tlsit\tunknown command (did you mean list?)\n"
	    "error\tsned\tunknown command (did you mean send?)\n"
	    "error\t/qiut\tunknown command (did you mean /quit?)\n"
	    "error\thepl\tunknown command (did you mean help?)\n"
	    "error\tfrobnicate\tunknown command\n"
	    "error\tx\tunknown command\n");
	assert_string_equal(commands_suggest("peer", 4), "peers");
	assert_string_equal(commands_suggest("ignor", 5), "ignore");
	assert_string_equal(commands_suggest("/lsit", 5), "/list");
	assert_string_equal(commands_suggest("/qery", 5), "/query");
	assert_null(commands_suggest("zzzzzz", 6));
}

static void
test_ignore_query_and_bad_names_say_the_rule(void **state)
{
	struct fixture	*f = *state;

	/* ignore needs no login; a second time changes nothing. */
	assert_int_equal(run(f, "ignore Bob"), CMD_OK);
	assert_int_equal(run(f, "ignore bob"), CMD_OK);
	assert_int_equal(run(f, "unignore bob"), CMD_OK);
	assert_int_equal(run(f, "unignore bob"), CMD_OK);
	assert_string_equal(f->cap.text,
	    "info\tignoring bob: their messages are dropped unseen until "
	    "unignore bob\n"
	    "info\tignoring bob: their messages are dropped unseen until "
	    "unignore bob\n"
	    "info\tno longer ignoring bob\n"
	    "info\tno longer ignoring bob\n");
	capture_clear(&f->cap);
	/* /query is the terminal's: scripts get an error. */
	assert_int_equal(run(f, "/query bob"), CMD_FAILED);
	assert_int_equal(run(f, "ignore b@d"), CMD_FAILED);
	assert_int_equal(run(f, "/q -x"), CMD_FAILED);
	assert_string_equal(f->cap.text,
	    "error\tquery\tonly at the terminal (the REPL)\n"
	    "error\tignore\tbad name: b@d (" COMMANDS_NAME_RULE ")\n"
	    "error\tquery\tbad name: -x (" COMMANDS_NAME_RULE ")\n");
}

static void
test_commands_before_login_are_refused(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(run(f, "list"), CMD_FAILED);
	assert_int_equal(run(f, "send bob hi there"), CMD_FAILED);
	assert_int_equal(run(f, "peers"), CMD_FAILED);
	assert_int_equal(run(f, "peers bob"), CMD_FAILED);
	assert_int_equal(run(f, "verify bob"), CMD_FAILED);
	assert_int_equal(run(f, "trust bob"), CMD_FAILED);
	assert_string_equal(f->cap.text,
	    "error\tlist\tnot logged in\n"
	    "error\tsend\tnot logged in\n"
	    "error\tpeers\tnot logged in\n"
	    "error\tpeers\tusage: peers\n"
	    "error\tverify\tnot logged in\n"
	    "error\ttrust\tnot logged in\n");
}

static void
test_login_checks_name_and_password_without_echo(void **state)
{
	struct fixture	*f = *state;
	char		 line[400];

	assert_int_equal(run(f, "auth b@d secret1"), CMD_FAILED);
	assert_int_equal(run(f, "sign .dot secret2"), CMD_FAILED);
	/* No PASS and no front end to ask: no password. */
	assert_int_equal(run(f, "auth bob"), CMD_FAILED);
	/* A password over 256 bytes is refused before anything is sent. */
	snprintf(line, sizeof(line), "auth bob %0300d", 7);
	assert_int_equal(run(f, line), CMD_FAILED);
	/* A good line, but no connection. */
	assert_int_equal(run(f, "auth Bob secret3"), CMD_FAILED);
	assert_string_equal(f->cap.text,
	    "error\tauth\tbad name: b@d (" COMMANDS_NAME_RULE ")\n"
	    "error\tsign\tbad name: .dot (" COMMANDS_NAME_RULE ")\n"
	    "error\tauth\tno password\n"
	    "error\tauth\tbad password\n"
	    "error\tauth\tnot connected\n");
	assert_null(strstr(f->cap.text, "secret"));
	assert_null(strstr(f->cap.text, "0000"));
}

static void
test_has_password_only_for_sign_and_auth_with_pass(void **state)
{
	(void)state;
	assert_int_equal(commands_has_password("auth bob pw", 11), 1);
	assert_int_equal(commands_has_password("  sign bob pw", 13), 1);
	assert_int_equal(commands_has_password("auth bob", 8), 0);
	assert_int_equal(commands_has_password("auth bob ", 9), 0);
	assert_int_equal(commands_has_password("send bob pw", 11), 0);
	assert_int_equal(commands_has_password("# auth bob pw", 13), 0);
}

/*
 * The history keeps known commands without a password, only: a mistyped
 * command word may hide one.
 */
static void
test_history_keeps_only_known_commands_without_password(void **state)
{
	(void)state;
	assert_int_equal(commands_history_ok("auth bob", 8), 1);
	assert_int_equal(commands_history_ok("send bob pw", 11), 1);
	assert_int_equal(commands_history_ok("list", 4), 1);
	assert_int_equal(commands_history_ok("auth bob pw", 11), 0);
	assert_int_equal(commands_history_ok("Auth bob pw", 11), 0);
	assert_int_equal(commands_history_ok("sing bob pw", 11), 0);
	assert_int_equal(commands_history_ok("bob pw", 6), 0);
	assert_int_equal(commands_history_ok("# auth bob", 10), 0);
	assert_int_equal(commands_history_ok("   ", 3), 0);
	assert_int_equal(commands_history_ok("", 0), 0);
}

static void
test_help_lists_every_command_blank_lines_do_nothing(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(run(f, "help"), CMD_OK);
	assert_int_equal(f->cap.help_lines, 12);
	assert_non_null(strstr(f->cap.text, "help\tverify USER\t"
	    "the safety number to compare with USER\n"));
	assert_non_null(strstr(f->cap.text, "help\ttrust USER\t"
	    "accept USER's new identity key\n"));
	assert_non_null(strstr(f->cap.text, "help\tsend USER TEXT...\t"
	    "send TEXT (the rest of the line) to USER (also /msg)\n"));
	assert_non_null(strstr(f->cap.text, "help\tsign USER [PASS]\t"
	    "create an account and log in\n"));
	assert_non_null(strstr(f->cap.text, "help\tquit\t"
	    "log out and exit; the end of input does the same (also /quit)\n"));
	assert_non_null(strstr(f->cap.text,
	    "help\thelp\tthis list (also ?, /help)\n"));
	assert_non_null(strstr(f->cap.text, "help\t/query [USER]\t"
	    "plain lines go to USER; /query alone ends it (also /q)\n"));
	assert_null(strstr(f->cap.text, "help\t?"));
	assert_int_equal(run(f, "?"), CMD_OK);
	assert_int_equal(f->cap.help_lines, 24);
	assert_null(strstr(f->cap.text, "error"));
	capture_clear(&f->cap);
	assert_int_equal(run(f, ""), CMD_OK);
	assert_int_equal(run(f, "   "), CMD_OK);
	assert_int_equal(run(f, "# comment"), CMD_OK);
	assert_string_equal(f->cap.text, "");
}

/* Runs the splitter and table tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_send_keeps_the_text_exactly),
		cmocka_unit_test(test_split_drops_one_cr_and_keeps_bytes),
		cmocka_unit_test(test_split_blank_and_comment_lines),
		cmocka_unit_test(test_table_lookup),
		cmocka_unit_test_setup_teardown(
		    test_unknown_command_and_usage_errors,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_unknown_command_suggests_the_nearest,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_ignore_query_and_bad_names_say_the_rule,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_commands_before_login_are_refused,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_login_checks_name_and_password_without_echo,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test(
		    test_has_password_only_for_sign_and_auth_with_pass),
		cmocka_unit_test(
		    test_history_keeps_only_known_commands_without_password),
		cmocka_unit_test_setup_teardown(
		    test_help_lists_every_command_blank_lines_do_nothing,
		    fixture_setup, fixture_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
