/* Unit tests for supervisor/diagnose.c: argument parsing, ordering, exit
 * status and both report formats, on synthetic findings and a hand-built
 * snapshot (no probing). */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sbuf.h"
#include "probes/snapshot-t.h"
#include "supervisor/detect.h"
#include "supervisor/diagnose.h"

#define ARGV(...) ((char *[]){ "diagnose", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "diagnose", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(a, err, ...) \
	diagnose_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (a), (err), sizeof(err))

static void test_parse_args_defaults(void **state)
{
	struct diag_args a;
	char err[256] = "";
	char *argv[] = { "diagnose", NULL };

	(void)state;
	assert_int_equal(diagnose_parse_args(1, argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a.interval_ms, DIAG_INTERVAL_DEFAULT_MS);
	assert_int_equal(a.nports, 0);
	assert_int_equal(a.npids, 0);
	assert_int_equal(a.nallow, 0);
	assert_null(a.netns);
	assert_int_equal(a.json, 0);
	assert_int_equal(a.help, 0);
}

static void test_parse_args_all(void **state)
{
	struct diag_args a;
	char err[256] = "";

	(void)state;
	assert_int_equal(PARSE(&a, err, "--port", "80", "-p", "443", "--port=80", "--pid", "12",
			       "-P", "13", "--netns", "blue", "--interval", "0", "--allow",
			       "127.0.0.1:80", "--allow", ":8080", "-a", "/usr/sbin/haproxy",
			       "--allow", "[::1]:443", "--json", "--timing"), 0);
	assert_int_equal(a.nports, 2); /* 80 given twice counts once */
	assert_int_equal(a.ports[0], 80);
	assert_int_equal(a.ports[1], 443);
	assert_int_equal(a.npids, 2);
	assert_int_equal(a.pids[0], 12);
	assert_int_equal(a.pids[1], 13);
	assert_string_equal(a.netns, "blue");
	assert_int_equal(a.interval_ms, 0);
	assert_int_equal(a.nallow, 4);
	assert_string_equal(a.allow[0], "127.0.0.1:80");
	assert_string_equal(a.allow[1], ":8080");
	assert_string_equal(a.allow[2], "haproxy"); /* basename kept */
	assert_string_equal(a.allow[3], "[::1]:443");
	assert_int_equal(a.json, 1);
	assert_int_equal(a.timing, 1);
}

static void test_parse_args_errors_name_the_argument(void **state)
{
	static const struct {
		const char *argv[4];
		const char *prefix;
	} cases[] = {
		{ { "--port", "0" }, "--port:" },
		{ { "--port", "65536" }, "--port:" },
		{ { "--port", "http" }, "--port:" },
		{ { "--port", "-1" }, "--port:" },
		{ { "--pid", "abc" }, "--pid:" },
		{ { "--pid", "0" }, "--pid:" },
		{ { "--interval", "3600001" }, "--interval:" },
		{ { "--interval", "1s" }, "--interval:" },
		{ { "--allow", "1.2.3:80" }, "--allow:" },
		{ { "--allow", "127.0.0.1:" }, "--allow:" },
		{ { "--allow", "[::1:80" }, "--allow:" },
		{ { "--allow", "" }, "--allow:" },
		{ { "--netns", "a", "--netns", "b" }, "--netns:" },
		{ { "--bogus" }, "--bogus:" },
		{ { "-x" }, "-x:" },
		{ { "--port" }, "--port:" },
		{ { "extra" }, "extra:" },
	};
	struct diag_args a;
	char err[256];
	char *argv[6];
	size_t i, k;
	int argc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		argv[0] = "diagnose";
		for (k = 0, argc = 1; k < 4 && cases[i].argv[k]; k++)
			argv[argc++] = (char *)cases[i].argv[k];
		argv[argc] = NULL;
		err[0] = '\0';
		assert_int_equal(diagnose_parse_args(argc, argv, &a, err, sizeof(err)), -1);
		if (strncmp(err, cases[i].prefix, strlen(cases[i].prefix)) != 0)
			fail_msg("case %zu: error '%s' does not start with '%s'", i, err,
				 cases[i].prefix);
		assert_null(strchr(err, '\n'));
	}
}

static void test_parse_args_limits(void **state)
{
	struct diag_args a;
	char err[256];
	char *argv[2 * DIAG_MAX_PORTS + 4];
	char ports[DIAG_MAX_PORTS + 1][8];
	int i, argc = 1;

	(void)state;
	argv[0] = "diagnose";
	for (i = 0; i <= DIAG_MAX_PORTS; i++) {
		snprintf(ports[i], sizeof(ports[i]), "%d", 1000 + i);
		argv[argc++] = "--port";
		argv[argc++] = ports[i];
	}
	argv[argc] = NULL;
	assert_int_equal(diagnose_parse_args(argc, argv, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--port"));
	/* One fewer fits. */
	argc -= 2;
	argv[argc] = NULL;
	assert_int_equal(diagnose_parse_args(argc, argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a.nports, DIAG_MAX_PORTS);
}

static void test_parse_args_help(void **state)
{
	struct diag_args a;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&a, err, "--help"), 0);
	assert_int_equal(a.help, 1);
	assert_non_null(strstr(diagnose_usage, "--interval MS"));
}

/* Findings as the detectors would give them; strings are malloc'd because
 * the list owns them. */
static void add_finding(struct finding_list *l, enum detect_kind kind,
			enum detect_severity sev, const char *subject, pid_t pid,
			uint16_t port, const char *summary, const char *detail,
			const char *evidence)
{
	struct finding *f;

	if (l->len == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	f = &l->v[l->len++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->severity = sev;
	snprintf(f->subject, sizeof(f->subject), "%s", subject);
	f->pid = pid;
	f->port = port;
	f->value = 3;
	f->summary = summary ? strdup(summary) : NULL;
	f->detail = detail ? strdup(detail) : NULL;
	f->evidence = evidence ? strdup(evidence) : NULL;
}

static void make_findings(struct finding_list *l)
{
	memset(l, 0, sizeof(*l));
	add_finding(l, DK_KERNEL_TUNING, DS_INFO, "sysctl:net.ipv4.tcp_fin_timeout", 0, 0,
		    "tcp_fin_timeout only applies to orphaned sockets", NULL,
		    "{\"value\":60}");
	add_finding(l, DK_HALF_CLOSE_BUILDUP, DS_WARNING, "pid:40:port:80", 40, 80,
		    "20 CLOSE_WAIT, 20 FIN_WAIT2 held by pid 40 on port 80",
		    "CLOSE_WAIT 20 (oldest idle 61s)\nFIN_WAIT2 20\n", "{\"pairs\":20}");
	add_finding(l, DK_DUPLICATE_LISTENER, DS_CRITICAL, "tcp:127.0.0.1:80", 41, 80,
		    "2 processes listen on 127.0.0.1:80", "pid 41 queue 0/128\npid 42 queue 9/128",
		    NULL);
	add_finding(l, DK_ACCEPT_BACKLOG, DS_WARNING, "tcp:127.0.0.1:80", 42, 80,
		    "queue 9/128 grew by 9", NULL, "");
}

static void test_sort_most_severe_first_stable(void **state)
{
	struct finding_list l;

	(void)state;
	make_findings(&l);
	diagnose_sort(&l);
	assert_int_equal(l.v[0].kind, DK_DUPLICATE_LISTENER);
	assert_int_equal(l.v[1].kind, DK_HALF_CLOSE_BUILDUP); /* given before backlog */
	assert_int_equal(l.v[2].kind, DK_ACCEPT_BACKLOG);
	assert_int_equal(l.v[3].kind, DK_KERNEL_TUNING);
	assert_int_equal(diagnose_exit_status(&l), 1);
	finding_list_free(&l);
}

static void test_exit_status_empty(void **state)
{
	struct finding_list l = { 0 };

	(void)state;
	assert_int_equal(diagnose_exit_status(&l), 0);
}

/* One listener 127.0.0.1:80 with two sockets (pids 41 and 42) and one on
 * port 443 (not owned), built by hand. */
struct fake_snap {
	struct snapshot s;
	struct snap_listener li[2];
	struct snap_lsock ls[3];
	pid_t pids[2];
};

static void make_snapshot(struct fake_snap *f)
{
	memset(f, 0, sizeof(*f));
	f->li[0].family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", f->li[0].addr);
	f->li[0].port = 80;
	f->li[0].first_lsock = 0;
	f->li[0].nlsocks = 2;
	f->li[1].family = AF_INET6;
	inet_pton(AF_INET6, "::1", f->li[1].addr);
	f->li[1].port = 443;
	f->li[1].first_lsock = 2;
	f->li[1].nlsocks = 1;
	f->ls[0] = (struct snap_lsock){ .ino = 1001, .rqueue = 0, .wqueue = 128,
					.first_owner = 0, .nowners = 1 };
	f->ls[1] = (struct snap_lsock){ .ino = 1002, .rqueue = 9, .wqueue = 128,
					.uid = 33, .first_owner = 1, .nowners = 1 };
	f->ls[2] = (struct snap_lsock){ .ino = 1003, .rqueue = 1, .wqueue = 4096 };
	f->pids[0] = 41;
	f->pids[1] = 42;
	f->s.listeners = f->li;
	f->s.nlisteners = 2;
	f->s.lsocks = f->ls;
	f->s.nlsocks = 3;
	f->s.owner_pids = f->pids;
	f->s.nowner_pids = 2;
}

static void make_report(struct diag_report *r, const struct finding_list *l,
			const struct fake_snap *f)
{
	memset(r, 0, sizeof(*r));
	r->host = "web1";
	r->netns_ino = 4026531840u;
	r->t_real_ms = 1795847400123ull; /* 2026-11-28T06:30:00.123Z */
	r->interval_ms = 1000;
	r->nsockets = 57;
	r->nlisteners = 2;
	r->nprocs = 3;
	r->denied = 0;
	r->have_owners = 1;
	r->privileged = 1;
	r->snap = f ? &f->s : NULL;
	r->findings = l;
}

static void test_format_human(void **state)
{
	struct finding_list l;
	struct diag_report r;
	struct sbuf out;

	(void)state;
	make_findings(&l);
	diagnose_sort(&l);
	make_report(&r, &l, NULL);
	sb_init(&out);
	diagnose_format_human(&out, &r);
	assert_int_equal(out.err, 0);
	assert_string_equal(sb_cstr(&out),
		"host web1, netns 4026531840, 57 sockets, 2 listeners, 3 processes, "
		"2026-11-28T06:30:00.123Z (snapshots 1000 ms apart)\n"
		"\n"
		"duplicate_listener critical tcp:127.0.0.1:80: 2 processes listen on 127.0.0.1:80\n"
		"    pid 41 queue 0/128\n"
		"    pid 42 queue 9/128\n"
		"\n"
		"half_close_buildup warning pid:40:port:80: 20 CLOSE_WAIT, 20 FIN_WAIT2 held by "
		"pid 40 on port 80\n"
		"    CLOSE_WAIT 20 (oldest idle 61s)\n"
		"    FIN_WAIT2 20\n"
		"\n"
		"accept_backlog warning tcp:127.0.0.1:80: queue 9/128 grew by 9\n"
		"\n"
		"kernel_tuning info sysctl:net.ipv4.tcp_fin_timeout: tcp_fin_timeout only applies "
		"to orphaned sockets\n"
		"\n"
		"4 findings: 1 critical, 2 warning, 1 info\n");
	sb_free(&out);
	finding_list_free(&l);
}

static void test_format_human_nothing_and_limits(void **state)
{
	struct finding_list l = { 0 };
	struct diag_report r;
	struct sbuf out;
	static const uint16_t ports[] = { 21001, 21002 };

	(void)state;
	make_report(&r, &l, NULL);
	r.netns = "blue";
	r.denied = 5;
	r.privileged = 0;
	r.unowned_lsocks = 1;
	r.ports = ports;
	r.nports = 2;
	sb_init(&out);
	diagnose_format_human(&out, &r);
	assert_string_equal(sb_cstr(&out),
		"host web1, netns 4026531840 (blue), 57 sockets, 2 listeners, 3 processes, "
		"2026-11-28T06:30:00.123Z (snapshots 1000 ms apart)\n"
		"ports: 21001 21002\n"
		"\n"
		"not seen: the sockets of 5 processes whose file descriptors could not be read "
		"(run as root to see them)\n"
		"not seen: the owner of 1 listening socket\n"
		"\n"
		"no findings\n");
	sb_free(&out);
}

static void test_format_json(void **state)
{
	struct finding_list l;
	struct fake_snap f;
	struct diag_report r;
	struct sbuf out;

	(void)state;
	make_findings(&l);
	diagnose_sort(&l);
	make_snapshot(&f);
	make_report(&r, &l, &f);
	r.denied = 2;
	r.unowned_lsocks = 1;
	sb_init(&out);
	diagnose_format_json(&out, &r);
	assert_int_equal(out.err, 0);
	assert_string_equal(sb_cstr(&out),
		"{\"version\":1,\"host\":\"web1\",\"netns\":null,\"netns_ino\":4026531840,"
		"\"time\":\"2026-11-28T06:30:00.123Z\",\"interval_ms\":1000,\"sockets\":57,"
		"\"processes\":3,\"ports\":[],"
		"\"listeners\":["
		"{\"family\":\"ipv4\",\"addr\":\"127.0.0.1\",\"port\":80,\"sockets\":["
		"{\"ino\":1001,\"queue\":0,\"backlog\":128,\"uid\":0,\"pids\":[41]},"
		"{\"ino\":1002,\"queue\":9,\"backlog\":128,\"uid\":33,\"pids\":[42]}]},"
		"{\"family\":\"ipv6\",\"addr\":\"::1\",\"port\":443,\"sockets\":["
		"{\"ino\":1003,\"queue\":1,\"backlog\":4096,\"uid\":0,\"pids\":[]}]}],"
		"\"findings\":["
		"{\"kind\":\"duplicate_listener\",\"severity\":\"critical\","
		"\"subject\":\"tcp:127.0.0.1:80\",\"pid\":41,\"port\":80,\"value\":3,"
		"\"summary\":\"2 processes listen on 127.0.0.1:80\",\"evidence\":{}},"
		"{\"kind\":\"half_close_buildup\",\"severity\":\"warning\","
		"\"subject\":\"pid:40:port:80\",\"pid\":40,\"port\":80,\"value\":3,"
		"\"summary\":\"20 CLOSE_WAIT, 20 FIN_WAIT2 held by pid 40 on port 80\","
		"\"evidence\":{\"pairs\":20}},"
		"{\"kind\":\"accept_backlog\",\"severity\":\"warning\","
		"\"subject\":\"tcp:127.0.0.1:80\",\"pid\":42,\"port\":80,\"value\":3,"
		"\"summary\":\"queue 9/128 grew by 9\",\"evidence\":{}},"
		"{\"kind\":\"kernel_tuning\",\"severity\":\"info\","
		"\"subject\":\"sysctl:net.ipv4.tcp_fin_timeout\",\"pid\":0,\"port\":0,\"value\":3,"
		"\"summary\":\"tcp_fin_timeout only applies to orphaned sockets\","
		"\"evidence\":{\"value\":60}}],"
		"\"limits\":{\"processes_not_visible\":2,\"listening_sockets_without_owner\":1,"
		"\"owners_mapped\":true,\"privileged\":true}}\n");
	sb_free(&out);
	finding_list_free(&l);
}

static void test_format_json_port_filter_and_escaping(void **state)
{
	struct finding_list l = { 0 };
	struct fake_snap f;
	struct diag_report r;
	struct sbuf out;
	static const uint16_t ports[] = { 443 };

	(void)state;
	add_finding(&l, DK_STALE_GENERATION, DS_WARNING, "pid:7", 7, 0,
		    "cmd \"haproxy -sf 6\"\tstill alive", "x\n", "{\"pid\":7}");
	make_snapshot(&f);
	make_report(&r, &l, &f);
	r.host = "a\"b";
	r.ports = ports;
	r.nports = 1;
	sb_init(&out);
	diagnose_format_json(&out, &r);
	assert_non_null(strstr(sb_cstr(&out), "\"host\":\"a\\\"b\""));
	assert_non_null(strstr(sb_cstr(&out), "\"ports\":[443],\"listeners\":[{\"family\":"
					      "\"ipv6\",\"addr\":\"::1\",\"port\":443,"));
	assert_null(strstr(sb_cstr(&out), "127.0.0.1"));
	assert_non_null(strstr(sb_cstr(&out),
			       "\"summary\":\"cmd \\\"haproxy -sf 6\\\"\\tstill alive\""));
	sb_free(&out);
	finding_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_args_defaults),
		cmocka_unit_test(test_parse_args_all),
		cmocka_unit_test(test_parse_args_errors_name_the_argument),
		cmocka_unit_test(test_parse_args_limits),
		cmocka_unit_test(test_parse_args_help),
		cmocka_unit_test(test_sort_most_severe_first_stable),
		cmocka_unit_test(test_exit_status_empty),
		cmocka_unit_test(test_format_human),
		cmocka_unit_test(test_format_human_nothing_and_limits),
		cmocka_unit_test(test_format_json),
		cmocka_unit_test(test_format_json_port_filter_and_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
