/* Unit tests of proxyctl's postmortem commands: times, and the three
 * commands against a store written here. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervisor/pmquery.h"
#include "supervisor/store.h"

#define NOW 1800000000000LL

static void test_parse_when(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(pmq_parse_when("1700000000123", NOW, &t), 0);
	assert_int_equal(t, 1700000000123LL);
	assert_int_equal(pmq_parse_when("90s", NOW, &t), 0);
	assert_int_equal(t, NOW - 90000);
	assert_int_equal(pmq_parse_when("15m", NOW, &t), 0);
	assert_int_equal(t, NOW - 900000);
	assert_int_equal(pmq_parse_when("2h", NOW, &t), 0);
	assert_int_equal(t, NOW - 7200000);
	assert_int_equal(pmq_parse_when("7d", NOW, &t), 0);
	assert_int_equal(t, NOW - 7 * 86400000LL);
	assert_int_equal(pmq_parse_when("500ms", NOW, &t), 0);
	assert_int_equal(t, NOW - 500);
	assert_int_equal(pmq_parse_when("2026-11-21T07:00:00Z", NOW, &t), 0);
	assert_int_equal(t, 1795244400000LL);
	assert_int_equal(pmq_parse_when("2026-11-21 07:00", NOW, &t), 0);
	assert_int_equal(t, 1795244400000LL);
	assert_int_equal(pmq_parse_when("2026-11-21", NOW, &t), 0);
	assert_int_equal(t, 1795219200000LL);
	assert_int_equal(pmq_parse_when("", NOW, &t), -1);
	assert_int_equal(pmq_parse_when("h", NOW, &t), -1);
	assert_int_equal(pmq_parse_when("5y", NOW, &t), -1);
	assert_int_equal(pmq_parse_when("2026-11-21T07:00:00+01", NOW, &t), -1);
	assert_int_equal(pmq_parse_when("-5s", NOW, &t), -1);
}

/* Runs a command with stdout into a file; returns its exit status and the
 * output (malloc'd) in *out. */
static int run(int (*fn)(int, char **), char **argv, char **out)
{
	char path[] = "/tmp/test_pmquery.out.XXXXXX";
	int fd = mkstemp(path), saved, rc, argc = 0;
	FILE *f;
	long n;

	assert_true(fd >= 0);
	while (argv[argc])
		argc++;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	rc = fn(argc, argv);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*out = calloc(1, (size_t)n + 1);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return rc;
}

static void test_commands(void **state)
{
	char db[] = "/tmp/test_pmquery.db.XXXXXX";
	char err[256];
	struct store *st;
	int64_t a, b;
	char *out;
	int fd;

	(void)state;
	fd = mkstemp(db);
	assert_true(fd >= 0);
	close(fd);
	unlink(db);
	st = store_open(db, 0, NULL, err, sizeof(err));
	if (!st)
		fail_msg("%s", err);
	{
		struct store_incident_new n1 = {
			.kind = "half_close_buildup", .severity = "critical", .subject = "pid:7",
			.t_ms = NOW - 3600000, .value = 40, .generation = 2, .pid = 7, .port = 80,
			.summary = "pid 7 holds 40, \"half\"-closed", .evidence = "{\"n\":40}",
		};
		struct store_incident_new n2 = {
			.kind = "lossy_peer", .severity = "warning", .subject = "peer:10.0.0.9",
			.t_ms = NOW - 60000, .value = 3, .summary = "peer 10.0.0.9", .evidence = "{}",
		};

		a = store_incident_open(st, &n1);
		b = store_incident_open(st, &n2);
	}
	assert_true(a > 0 && b > 0);
	assert_true(store_action_add(st, a, NOW - 3590000, "destroy", "pid:7:sockets:40", 0, "ok",
				     "40 destroyed") > 0);
	assert_int_equal(store_incident_resolve(st, a, NOW - 3500000), 0);
	assert_int_equal(store_sample_add(st, NOW - 3595000, "port:80", "half_closed", 40), 0);
	store_close(st);

	{
		char *argv[] = { "incidents", "--db", db, "--csv", "--since",
				 "1700000000000", NULL };

		assert_int_equal(run(pmq_incidents_main, argv, &out), 0);
		assert_non_null(strstr(out, "id,kind,severity,subject,opened_ms"));
		assert_non_null(strstr(out, ",half_close_buildup,critical,pid:7,"));
		/* CSV quoting of the summary. */
		assert_non_null(strstr(out, "\"pid 7 holds 40, \"\"half\"\"-closed\""));
		assert_non_null(strstr(out, ",lossy_peer,warning,peer:10.0.0.9,"));
		free(out);
	}
	{
		char *argv[] = { "incidents", "--db", db, "--json", "--kind", "lossy_peer", NULL };

		assert_int_equal(run(pmq_incidents_main, argv, &out), 0);
		assert_non_null(strstr(out, "\"kind\":\"lossy_peer\""));
		assert_null(strstr(out, "half_close_buildup"));
		free(out);
	}
	{
		char *argv[] = { "incidents", "--db", db, "--open", NULL };

		assert_int_equal(run(pmq_incidents_main, argv, &out), 0);
		assert_non_null(strstr(out, "lossy_peer"));
		assert_null(strstr(out, "half_close_buildup"));
		free(out);
	}
	{
		char *argv[] = { "incident", "1", "--db", db, NULL };

		assert_int_equal(run(pmq_incident_main, argv, &out), 0);
		assert_non_null(strstr(out, "incident 1: half_close_buildup (critical) pid:7"));
		assert_non_null(strstr(out, "destroy pid:7:sockets:40 -> ok: 40 destroyed"));
		assert_non_null(strstr(out, "port:80"));
		assert_non_null(strstr(out, "half_closed"));
		free(out);
	}
	{
		char *argv[] = { "incident", "99", "--db", db, NULL };

		assert_int_equal(run(pmq_incident_main, argv, &out), 1);
		free(out);
	}
	{
		char *argv[] = { "samples", "--db", db, "--subject", "port:80", "--metric",
				 "half_closed", NULL };

		assert_int_equal(run(pmq_samples_main, argv, &out), 0);
		assert_non_null(strstr(out, "t_ms,subject,metric,value,min,max,n,res_ms\n"));
		assert_non_null(strstr(out, ",port:80,half_closed,40,"));
		free(out);
	}
	{
		char *argv[] = { "samples", "--db", db, "--subject", "port:80", NULL };

		assert_int_equal(run(pmq_samples_main, argv, &out), 2);
		free(out);
	}
	{
		char *argv[] = { "incidents", "--db", db, "--since", "yesterday", NULL };

		assert_int_equal(run(pmq_incidents_main, argv, &out), 2);
		free(out);
	}
	unlink(db);
	{
		char wal[64];

		snprintf(wal, sizeof(wal), "%s-wal", db);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", db);
		unlink(wal);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_when),
		cmocka_unit_test(test_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
