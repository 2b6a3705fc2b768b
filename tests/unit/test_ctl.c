#include "config.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "proxyd/loop.h"
#include "supervisor/ctl.h"
#include "supervisor/ctlclient.h"
#include <pthread.h>

static void test_ctl_parse_ok(void **state)
{
	struct ctl_cmd c;
	char err[128];

	assert_int_equal(ctl_parse("help", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_HELP);
	assert_int_equal(ctl_parse("status --json\r", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_STATUS);
	assert_int_equal(c.json, 1);
	assert_int_equal(ctl_parse("  show   generations ", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_SHOW_GENERATIONS);
	assert_int_equal(c.json, 0);
	assert_int_equal(ctl_parse("show listeners --json", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_SHOW_LISTENERS);
	assert_int_equal(c.json, 1);
	assert_int_equal(ctl_parse("reload", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_RELOAD);
	assert_int_equal(ctl_parse("drain 41", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_DRAIN);
	assert_int_equal(c.gen, 41);
	assert_int_equal(ctl_parse("kill\t7", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_KILL);
	assert_int_equal(c.gen, 7);
	assert_int_equal(ctl_parse("watch", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_WATCH);
	assert_int_equal(ctl_parse("quit", &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, CTL_QUIT);
}

static void test_ctl_parse_errors(void **state)
{
	struct ctl_cmd c;
	char err[128], big[2000];

	assert_int_equal(ctl_parse("", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(ctl_parse("frobnicate now", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown command 'frobnicate now'; try 'help'");
	assert_int_equal(ctl_parse("drain", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "usage: drain GEN");
	assert_int_equal(ctl_parse("kill 0", &c, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse("kill -3", &c, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse("kill 3x", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a generation number"));
	assert_int_equal(ctl_parse("reload now", &c, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse("show", &c, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse("reload --json", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--json"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ctl_parse(big, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "line too long");
}

/* ---- the server over a real socket ---------------------------------------- */

static int deferred;

static int fake_exec(void *arg, struct ctl_conn *c, const struct ctl_cmd *cmd, struct sbuf *out)
{
	if (cmd->verb == CTL_RELOAD) {
		deferred++;
		ctl_conn_wait(c, 5);
		return CTL_DEFER;
	}
	if (cmd->verb == CTL_KILL && cmd->gen == 99) {
		/* Answered during its own execution (a reload refused at once). */
		ctl_conn_wait(c, 7);
		ctl_reply_waiting(7, "error: refused at once");
		return CTL_DEFER;
	}
	sb_printf(out, "verb=%d json=%d gen=%lld", (int)cmd->verb, cmd->json, (long long)cmd->gen);
	return CTL_DONE;
}

static char sockpath[108];

static int srv_setup(void **state)
{
	char err[256];

	snprintf(sockpath, sizeof(sockpath), "/tmp/test_ctl.%d.sock", (int)getpid());
	assert_int_equal(loop_init(), 0);
	if (ctl_server_open(sockpath, fake_exec, NULL, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	deferred = 0;
	return 0;
}

static int srv_teardown(void **state)
{
	ctl_server_close();
	loop_free();
	assert_int_equal(access(sockpath, F_OK), -1);
	return 0;
}

static int client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_not_equal(fd, -1);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Runs the loop and collects from fd until `until` appears (2 s at most). */
static void collect(int fd, char *buf, size_t len, const char *until)
{
	size_t have = 0;
	uint64_t end = clock_mono_ms() + 2000;

	buf[0] = '\0';
	while (!strstr(buf, until) && clock_mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		loop_run_once(10);
		if (poll(&p, 1, 0) == 1) {
			ssize_t n = recv(fd, buf + have, len - 1 - have, MSG_DONTWAIT);

			if (n > 0) {
				have += (size_t)n;
				buf[have] = '\0';
			} else if (n == 0) {
				break;
			}
		}
	}
}

static void test_ctl_server_answers(void **state)
{
	char buf[4096];
	struct stat st;
	int fd;

	assert_int_equal(stat(sockpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = client();
	/* Two pipelined requests, each answered and ended by an empty line. */
	assert_int_equal(write(fd, "status --json\nkill 3\n", 21), 21);
	collect(fd, buf, sizeof(buf), "gen=3\n\n");
	assert_string_equal(buf, "verb=1 json=1 gen=0\n\nverb=6 json=0 gen=3\n\n");
	assert_int_equal(write(fd, "bogus\n", 6), 6);
	collect(fd, buf, sizeof(buf), "\n\n");
	assert_string_equal(buf, "error: unknown command 'bogus'; try 'help'\n\n");
	assert_int_equal(write(fd, "help\n", 5), 5);
	collect(fd, buf, sizeof(buf), "\n\n");
	assert_non_null(strstr(buf, "show generations"));
	assert_int_equal(write(fd, "quit\n", 5), 5);
	collect(fd, buf, sizeof(buf), "never");
	assert_string_equal(buf, "");
	close(fd);
	loop_run_once(10);
	assert_int_equal(ctl_conns(), 0);
}

static void test_ctl_server_deferred(void **state)
{
	char buf[4096];
	int fd = client();

	assert_int_equal(write(fd, "reload\nstatus\n", 14), 14);
	collect(fd, buf, sizeof(buf), "\n\n");
	/* Nothing until the reload is answered; the next request waits. */
	assert_string_equal(buf, "");
	assert_int_equal(deferred, 1);
	ctl_reply_waiting(4, "too early");
	collect(fd, buf, sizeof(buf), "\n\n");
	assert_string_equal(buf, "");
	ctl_reply_waiting(5, "ok gen=2");
	collect(fd, buf, sizeof(buf), "gen=0\n\n");
	assert_string_equal(buf, "ok gen=2\n\nverb=1 json=0 gen=0\n\n");
	assert_int_equal(write(fd, "kill 99\nkill 4\n", 15), 15);
	collect(fd, buf, sizeof(buf), "gen=4\n\n");
	assert_string_equal(buf, "error: refused at once\n\nverb=6 json=0 gen=4\n\n");
	close(fd);
}

static void test_ctl_server_watch(void **state)
{
	char buf[4096];
	int fd = client(), fd2 = client();

	assert_int_equal(write(fd, "watch\n", 6), 6);
	collect(fd, buf, sizeof(buf), "never");
	assert_int_equal(ctl_watchers(), 1);
	ctl_watch_send("{\"v\":1,\"tick\":1}");
	ctl_watch_send("{\"v\":1,\"tick\":2}");
	collect(fd, buf, sizeof(buf), "\"tick\":2}\n");
	assert_string_equal(buf, "{\"v\":1,\"tick\":1}\n{\"v\":1,\"tick\":2}\n");
	/* The other client is not watching and gets nothing. */
	collect(fd2, buf, sizeof(buf), "never");
	assert_string_equal(buf, "");
	close(fd);
	collect(fd2, buf, sizeof(buf), "never");
	assert_int_equal(ctl_watchers(), 0);
	close(fd2);
}

/* The client library against the server: the client runs in a thread
 * while the loop runs here. */
struct cli_result {
	int rc_status, rc_bad, rc_watch, lines;
	char status[256], bad[256];
};

static int watch_cb(const char *line, void *arg)
{
	struct cli_result *r = arg;

	if (strcmp(line, "{\"tick\":1}") != 0)
		return 0;
	return ++r->lines >= 1;
}

static void *cli_thread(void *arg)
{
	struct cli_result *r = arg;
	char err[256];
	struct sbuf out;
	int fd;

	fd = ctlclient_connect(sockpath, err, sizeof(err));
	if (fd == -1)
		return NULL;
	sb_init(&out);
	r->rc_status = ctlclient_request(fd, "status --json", &out, 2000, err, sizeof(err));
	snprintf(r->status, sizeof(r->status), "%s", sb_cstr(&out));
	sb_reset(&out);
	r->rc_bad = ctlclient_request(fd, "nope", &out, 2000, err, sizeof(err));
	snprintf(r->bad, sizeof(r->bad), "%s", sb_cstr(&out));
	sb_free(&out);
	r->rc_watch = ctlclient_watch(fd, watch_cb, r, 2000, err, sizeof(err));
	close(fd);
	return NULL;
}

static void test_ctlclient_roundtrip(void **state)
{
	struct cli_result r = { -2, -2, -2, 0, "", "" };
	uint64_t end = clock_mono_ms() + 3000;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, cli_thread, &r), 0);
	while (clock_mono_ms() < end && r.rc_watch == -2) {
		loop_run_once(10);
		if (ctl_watchers())
			ctl_watch_send("{\"tick\":1}");
	}
	pthread_join(th, NULL);
	assert_int_equal(r.rc_status, 0);
	assert_string_equal(r.status, "verb=1 json=1 gen=0");
	assert_int_equal(r.rc_bad, 1);
	assert_string_equal(r.bad, "error: unknown command 'nope'; try 'help'");
	assert_int_equal(r.rc_watch, 0);
	assert_int_equal(r.lines, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_parse_ok),
		cmocka_unit_test(test_ctl_parse_errors),
		cmocka_unit_test_setup_teardown(test_ctl_server_answers, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_deferred, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_watch, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_ctlclient_roundtrip, srv_setup, srv_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
