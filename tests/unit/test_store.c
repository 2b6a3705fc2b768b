/* Unit tests for supervisor/store.c and supervisor/store_query.c, on
 * ":memory:" and on files in a private temporary directory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/sbuf.h"
#include "supervisor/store.h"

#define T0 1763700000000LL /* 2025-11-21T04:40:00Z, a whole minute */
#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* A private directory per test, removed with what sqlite left in it. */
struct tmpdb {
	char dir[64];
	char path[96];
};

static void tmpdb_make(struct tmpdb *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/incidents.db", t->dir);
}

static void tmpdb_remove(struct tmpdb *t)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, sfx[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(t->dir), 0);
}

static struct store *open_ok(const char *path, unsigned flags, const struct store_opts *o)
{
	char err[256] = "";
	struct store *st = store_open(path, flags, o, err, sizeof(err));

	if (!st)
		fail_msg("store_open(%s): %s", path, err);
	return st;
}

/* One integer from SQL on the store's own connection. */
static int64_t sql_int(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void sql_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fail_msg("%s: %s", sql, msg ? msg : "?");
	}
}

static struct store_incident_new inc_new(const char *kind, const char *subject, int64_t t,
					 double value)
{
	struct store_incident_new n;

	memset(&n, 0, sizeof(n));
	n.kind = kind;
	n.severity = "warning";
	n.subject = subject;
	n.t_ms = t;
	n.value = value;
	n.summary = "summary";
	n.evidence = "{\"queue\":[1,2,3]}";
	return n;
}

/* Collects copies of what the queries hand out. */
struct got {
	int n;
	int64_t ids[64];
	char kinds[64][32];
	struct store_incident last;
	char last_evidence[256];
	char last_summary[128];
	char last_severity[32];
};

static int got_incident(const struct store_incident *inc, void *arg)
{
	struct got *g = arg;

	if (g->n < 64) {
		g->ids[g->n] = inc->id;
		snprintf(g->kinds[g->n], sizeof(g->kinds[0]), "%s", inc->kind);
	}
	g->n++;
	g->last = *inc;
	snprintf(g->last_evidence, sizeof(g->last_evidence), "%s", inc->evidence);
	snprintf(g->last_summary, sizeof(g->last_summary), "%s", inc->summary);
	snprintf(g->last_severity, sizeof(g->last_severity), "%s", inc->severity);
	g->last.kind = g->last.subject = g->last.summary = g->last.evidence = NULL;
	g->last.severity = NULL;
	return 0;
}

static void test_store_open_memory_schema(void **state)
{
	struct store *st;
	struct store_status ss;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	assert_int_equal(st->schema_version, STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(st, "SELECT value FROM meta WHERE key = 'schema_version'"),
			 STORE_SCHEMA_VERSION);
	assert_true(sql_int(st, "SELECT value FROM meta WHERE key = 'created'") > T0);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM meta WHERE key = 'host'"), 1);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
				 " AND name IN ('meta','incidents','actions','generations','samples')"), 5);
	assert_int_equal(sql_int(st, "PRAGMA foreign_keys"), 1);
	store_status(st, &ss);
	assert_int_equal(ss.errors, 0);
	assert_int_equal(ss.schema_version, STORE_SCHEMA_VERSION);
	assert_null(store_migration_sql(0));
	assert_null(store_migration_sql(STORE_SCHEMA_VERSION + 1));
	assert_non_null(store_migration_sql(1));
	store_close(st);
}

static void test_store_incident_open_update_resolve(void **state)
{
	struct store_incident_new n;
	struct store *st;
	struct got g;
	int64_t id, id2, id3;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	assert_int_equal(store_tick_begin(st), 0);
	n = inc_new("accept_backlog", "tcp:0.0.0.0:80", T0, 100);
	n.port = 80;
	n.pid = 4242;
	n.generation = 3;
	id = store_incident_open(st, &n);
	assert_true(id > 0);
	assert_int_equal(store_tick_commit(st), 0);

	/* peak is the maximum; last_value the latest; NULL keeps. */
	assert_int_equal(store_tick_begin(st), 0);
	assert_int_equal(store_incident_update(st, id, T0 + 1000, 300, "critical", NULL,
					       "{\"queue\":[300]}"), 0);
	assert_int_equal(store_tick_commit(st), 0);
	assert_int_equal(store_tick_begin(st), 0);
	assert_int_equal(store_incident_update(st, id, T0 + 2000, 50, NULL, "lower now", NULL), 0);
	assert_int_equal(store_tick_commit(st), 0);

	memset(&g, 0, sizeof(g));
	assert_int_equal(store_incident_get(st, id, got_incident, &g), 1);
	assert_int_equal(g.last.opened_ms, T0);
	assert_int_equal(g.last.updated_ms, T0 + 2000);
	assert_int_equal(g.last.resolved_ms, 0);
	assert_true(g.last.peak == 300);
	assert_true(g.last.last_value == 50);
	assert_int_equal(g.last.ticks, 3);
	assert_int_equal(g.last.port, 80);
	assert_int_equal(g.last.pid, 4242);
	assert_int_equal(g.last.generation, 3);
	assert_string_equal(g.last_severity, "critical");
	assert_string_equal(g.last_summary, "lower now");
	assert_string_equal(g.last_evidence, "{\"queue\":[300]}");

	/* One open incident per (kind, subject): opening again merges. */
	n.t_ms = T0 + 3000;
	n.value = 400;
	id2 = store_incident_open(st, &n);
	assert_int_equal(id2, id);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM incidents"), 1);
	assert_int_equal(sql_int(st, "SELECT peak FROM incidents"), 400);
	assert_int_equal(sql_int(st, "SELECT opened_ms FROM incidents"), T0);

	assert_int_equal(store_incident_resolve(st, id, T0 + 5000), 0);
	errno = 0;
	assert_int_equal(store_incident_resolve(st, id, T0 + 6000), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(store_incident_update(st, id, T0 + 6000, 1, NULL, NULL, NULL), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(sql_int(st, "SELECT resolved_ms FROM incidents WHERE id = 1"), T0 + 5000);

	/* After resolution the same (kind, subject) opens a new incident. */
	n.t_ms = T0 + 7000;
	id3 = store_incident_open(st, &n);
	assert_true(id3 > id);

	/* Evidence must be JSON: the one write fails, the tick goes on. */
	assert_int_equal(store_tick_begin(st), 0);
	n = inc_new("config_lint", "cfg:timeout client-fin", T0 + 8000, 1);
	n.evidence = "{not json";
	errno = 0;
	assert_int_equal(store_incident_open(st, &n), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(st->last_error, "CHECK"));
	n.evidence = NULL;
	assert_true(store_incident_open(st, &n) > 0);
	assert_int_equal(store_tick_commit(st), 0);
	assert_int_equal(st->errors, 1);
	assert_int_equal(st->dropped_writes, 1);
	assert_int_equal(st->ticks_dropped, 0);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM incidents WHERE evidence = '{}'"), 1);

	/* Non-finite values are stored as NULL, never compared. */
	assert_int_equal(store_incident_update(st, id3, T0 + 9000, NAN, NULL, NULL, NULL), 0);
	assert_int_equal(sql_int(st, "SELECT last_value IS NULL AND peak = 400 FROM incidents"
				 " WHERE id = 2"), 1);
	store_close(st);
}

static int got_action(const struct store_action *a, void *arg)
{
	struct sbuf *b = arg;

	sb_printf(b, "%" PRId64 "|%" PRId64 "|%s|%s|%d|%s|%s;", a->incident_id, a->t_ms,
		  a->action, a->target, a->dry_run, a->result, a->error ? a->error : "-");
	return 0;
}

static void test_store_action_roundtrip(void **state)
{
	struct store_incident_new n;
	struct store *st;
	struct sbuf b;
	int64_t id;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	n = inc_new("stale_generation", "pid:77", T0, 600);
	id = store_incident_open(st, &n);
	assert_true(id > 0);
	assert_true(store_action_add(st, id, T0 + 1, "drain", "pid:77", 0, "ok", NULL) > 0);
	assert_true(store_action_add(st, id, T0 + 2, "kill", "pid:77", 1, "skipped",
				     "dry run") > 0);
	assert_true(store_action_add(st, 0, T0 + 3, "observe", "", 0, "rate-limited", NULL) > 0);
	/* An action for an incident that does not exist (a void id). */
	errno = 0;
	assert_int_equal(store_action_add(st, id + 100, T0 + 4, "kill", "pid:1", 0, "ok", NULL),
			 -1);
	assert_int_equal(errno, EINVAL);

	sb_init(&b);
	assert_int_equal(store_actions_query(st, id, got_action, &b), 2);
	assert_string_equal(sb_cstr(&b), "1|1763700000001|drain|pid:77|0|ok|-;"
			    "1|1763700000002|kill|pid:77|1|skipped|dry run;");
	sb_reset(&b);
	assert_int_equal(store_actions_query(st, 0, got_action, &b), 3);
	assert_non_null(strstr(sb_cstr(&b), "0|1763700000003|observe||0|rate-limited|-;"));
	sb_free(&b);

	/* Deleting an incident takes its actions with it. */
	sql_exec(st->db, "DELETE FROM incidents");
	assert_int_equal(sql_int(st, "SELECT count(*) FROM actions"), 1);
	store_close(st);
}

static int got_generation(const struct store_generation *g, void *arg)
{
	struct sbuf *b = arg;

	sb_printf(b, "%" PRId64 "/%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
		  " %s %s;", g->gen, g->pid, g->started_ms, g->ready_ms, g->drain_ms,
		  g->exit_ms, g->exit_status ? g->exit_status : "-",
		  g->config_sha256 ? g->config_sha256 : "-");
	return 0;
}

static void test_store_generation_roundtrip(void **state)
{
	struct store_generation_filter f;
	struct store *st;
	struct sbuf b;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	assert_int_equal(store_generation_last(st), 0);
	assert_int_equal(store_generation_start(st, 1, 100, 1000, "ab12"), 0);
	assert_int_equal(store_generation_ready(st, 1, 100, 1100), 0);
	assert_int_equal(store_generation_start(st, 2, 200, 2000, NULL), 0);
	assert_int_equal(store_generation_ready(st, 2, 200, 2100), 0);
	assert_int_equal(store_generation_drain(st, 1, 100, 2100), 0);
	assert_int_equal(store_generation_exit(st, 1, 100, 9000, "exit 0"), 0);
	errno = 0;
	assert_int_equal(store_generation_ready(st, 3, 300, 3000), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(store_generation_last(st), 2);

	sb_init(&b);
	assert_int_equal(store_generations_query(st, NULL, got_generation, &b), 2);
	assert_string_equal(sb_cstr(&b), "1/100 1000 1100 2100 9000 exit 0 ab12;"
			    "2/200 2000 2100 0 0 - -;");
	sb_reset(&b);
	memset(&f, 0, sizeof(f));
	f.running_only = 1;
	assert_int_equal(store_generations_query(st, &f, got_generation, &b), 1);
	assert_string_equal(sb_cstr(&b), "2/200 2000 2100 0 0 - -;");
	sb_reset(&b);
	f.running_only = 0;
	f.since_ms = 9500;
	assert_int_equal(store_generations_query(st, &f, got_generation, &b), 1);
	sb_free(&b);
	store_close(st);
}

static int got_sample(const struct store_sample *s, void *arg)
{
	struct sbuf *b = arg;

	sb_printf(b, "%" PRId64 " %s %s %g %g %g %" PRId64 " %" PRId64 ";", s->t_ms, s->subject,
		  s->metric, s->value, s->vmax, s->vmin, s->n, s->res_ms);
	return 0;
}

static void test_store_sample_roundtrip(void **state)
{
	struct store_sample_filter f;
	struct store *st;
	struct sbuf b;
	int i;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	assert_int_equal(store_tick_begin(st), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(store_sample_add(st, T0 + i * 1000, "tcp:0.0.0.0:80",
						  "accept_queue", i * 10), 0);
		assert_int_equal(store_sample_add(st, T0 + i * 1000, "port:80", "close_wait", i),
				 0);
	}
	assert_int_equal(store_tick_commit(st), 0);
	assert_int_equal(st->writes_committed, 10);
	errno = 0;
	assert_int_equal(store_sample_add(st, T0, "x", "y", INFINITY), -1);
	assert_int_equal(errno, EINVAL);

	memset(&f, 0, sizeof(f));
	f.subject = "tcp:0.0.0.0:80";
	f.metric = "accept_queue";
	f.since_ms = T0 + 1000;
	f.until_ms = T0 + 4000;
	sb_init(&b);
	assert_int_equal(store_samples_query(st, &f, got_sample, &b), 3);
	assert_string_equal(sb_cstr(&b),
			    "1763700001000 tcp:0.0.0.0:80 accept_queue 10 10 10 1 0;"
			    "1763700002000 tcp:0.0.0.0:80 accept_queue 20 20 20 1 0;"
			    "1763700003000 tcp:0.0.0.0:80 accept_queue 30 30 30 1 0;");
	memset(&f, 0, sizeof(f));
	f.limit = 4;
	assert_int_equal(store_samples_query(st, &f, got_sample, &b), 4);
	sb_free(&b);
	store_close(st);
}

/* Builds a version 1 file the way the first release wrote it. */
static void make_v1(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql_exec(db, "PRAGMA journal_mode = WAL");
	sql_exec(db, store_migration_sql(1));
	sql_exec(db, "INSERT INTO meta VALUES ('schema_version', '1'), ('created', '1')");
	sql_exec(db, "INSERT INTO incidents (kind, severity, subject, opened_ms, updated_ms,"
		 " peak, last_value) VALUES ('lossy_peer', 'info', 'peer:10.0.0.1', 5, 6, 7, 7)");
	sql_exec(db, "INSERT INTO samples VALUES (1000, 'port:80', 'fin_wait2', 3),"
		 " (2000, 'port:80', 'fin_wait2', 5)");
	sqlite3_close(db);
}

static void test_store_migrate_v1(void **state)
{
	struct tmpdb t;
	struct store *st;
	char err[256];

	(void)state;
	tmpdb_make(&t);
	make_v1(t.path);

	/* A reader cannot use a file older than itself. */
	errno = 0;
	assert_null(store_open(t.path, STORE_RDONLY, NULL, err, sizeof(err)));
	assert_int_equal(errno, EPROTONOSUPPORT);
	assert_non_null(strstr(err, "older"));

	st = open_ok(t.path, 0, NULL);
	assert_int_equal(st->schema_version, STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(st, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM meta WHERE key = 'migrated_v2'"), 1);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM incidents WHERE kind = 'lossy_peer'"),
			 1);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 0 AND n = 1"
				 " AND vmax IS NULL"), 2);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM sqlite_schema WHERE name ="
				 " 'samples_bucket'"), 1);
	assert_int_equal(sql_int(st, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	assert_int_equal(sql_int(st, "SELECT synchronous FROM pragma_synchronous"), 1);
	/* The migrated file takes new rows of the new shape. */
	assert_int_equal(store_sample_add(st, 3000, "port:80", "fin_wait2", 4), 0);
	assert_int_equal(store_maintain(st, 10 * HOUR), 0);
	assert_int_equal(sql_int(st, "SELECT n FROM samples WHERE res_ms = 60000"), 3);
	store_close(st);

	/* Opening again is a no-op; now a reader can open it too. */
	st = open_ok(t.path, 0, NULL);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM meta WHERE key LIKE 'migrated_%'"), 1);
	store_close(st);
	st = open_ok(t.path, STORE_RDONLY, NULL);
	assert_int_equal(st->schema_version, STORE_SCHEMA_VERSION);
	errno = 0;
	assert_int_equal(store_tick_begin(st), -1);
	assert_int_equal(errno, EROFS);
	errno = 0;
	assert_int_equal(store_sample_add(st, 1, "a", "b", 1), -1);
	assert_int_equal(errno, EROFS);
	store_close(st);
	tmpdb_remove(&t);
}

/* A migration that fails leaves the file as it was: one transaction. */
static void test_store_migrate_failure_atomic(void **state)
{
	struct tmpdb t;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char err[256] = "";

	(void)state;
	tmpdb_make(&t);
	make_v1(t.path);
	/* Something of the same name as an object version 2 creates. */
	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	sql_exec(db, "CREATE INDEX samples_res_t ON samples(t_ms)");
	sqlite3_close(db);

	errno = 0;
	assert_null(store_open(t.path, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "migration to schema version 2"));
	assert_non_null(strstr(err, "samples_res_t"));

	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT value FROM meta WHERE key ="
					    " 'schema_version'), (SELECT count(*) FROM"
					    " pragma_table_info('samples') WHERE name = 'res_ms'),"
					    " (SELECT count(*) FROM samples)", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);
	assert_int_equal(sqlite3_column_int(s, 1), 0);
	assert_int_equal(sqlite3_column_int(s, 2), 2);
	sqlite3_finalize(s);
	sqlite3_close(db);
	tmpdb_remove(&t);
}

static void test_store_open_errors(void **state)
{
	struct store *st;
	char err[256] = "";

	(void)state;
	errno = 0;
	assert_null(store_open("/nonexistent-dir/x/incidents.db", 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir/x/incidents.db"));
	assert_true(errno != 0);
	err[0] = '\0';
	assert_null(store_open("/nonexistent-dir/x/incidents.db", STORE_RDONLY, NULL, err,
			       sizeof(err)));
	assert_true(err[0] != '\0');

	/* Tick misuse is refused without touching the database. */
	st = open_ok(":memory:", 0, NULL);
	errno = 0;
	assert_int_equal(store_tick_commit(st), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(store_tick_begin(st), 0);
	errno = 0;
	assert_int_equal(store_tick_begin(st), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(store_sample_add(st, T0, "port:80", "close_wait", 1), 0);
	store_tick_rollback(st);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples"), 0);
	assert_int_equal(st->ticks_dropped, 0);
	assert_int_equal(st->errors, 0);
	assert_int_equal(store_tick_begin(st), 0);
	assert_int_equal(store_sample_add(st, T0, "port:80", "close_wait", 1), 0);
	assert_int_equal(store_tick_commit(st), 0);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples"), 1);
	store_close(st);
}

static void test_store_newer_schema_refused(void **state)
{
	struct tmpdb t;
	struct store *st;
	sqlite3 *db = NULL;
	struct got g;
	char err[256];

	(void)state;
	tmpdb_make(&t);
	st = open_ok(t.path, 0, NULL);
	{
		struct store_incident_new n = inc_new("kernel_tuning", "sysctl:x", T0, 1);

		assert_true(store_incident_open(st, &n) > 0);
	}
	store_close(st);
	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	sql_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
	sqlite3_close(db);

	err[0] = '\0';
	errno = 0;
	assert_null(store_open(t.path, 0, NULL, err, sizeof(err)));
	assert_int_equal(errno, EPROTONOSUPPORT);
	assert_non_null(strstr(err, "newer"));
	assert_non_null(strstr(err, "99"));

	st = open_ok(t.path, STORE_RDONLY, NULL);
	assert_int_equal(st->schema_version, 99);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_incidents_query(st, NULL, got_incident, &g), 1);
	assert_string_equal(g.kinds[0], "kernel_tuning");
	store_close(st);

	/* Not an incident store at all. */
	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	sql_exec(db, "DROP TABLE meta");
	sqlite3_close(db);
	assert_null(store_open(t.path, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not an incident store"));
	tmpdb_remove(&t);
}

static void test_store_busy_tick_dropped(void **state)
{
	struct store_incident_new n;
	struct store_status ss;
	struct tmpdb t;
	struct store *st;
	sqlite3 *other = NULL;
	uint64_t t0, dt;

	(void)state;
	tmpdb_make(&t);
	st = open_ok(t.path, 0, NULL);
	assert_int_equal(sqlite3_open(t.path, &other), SQLITE_OK);
	sql_exec(other, "BEGIN IMMEDIATE");
	sql_exec(other, "INSERT INTO meta VALUES ('lock', 'held')");

	t0 = clock_mono_us();
	errno = 0;
	assert_int_equal(store_tick_begin(st), -1);
	dt = clock_mono_us() - t0;
	assert_int_equal(errno, EAGAIN);
	printf("# busy database: tick dropped after %.1f ms (busy timeout %d ms)\n",
	       dt / 1000.0, STORE_BUSY_MS);
	/* Bounded, far from an unbounded wait; generous for loaded machines. */
	assert_true(dt < 1000000);
	n = inc_new("accept_backlog", "tcp:0.0.0.0:80", T0, 1);
	assert_int_equal(store_incident_open(st, &n), -1);
	assert_int_equal(store_sample_add(st, T0, "port:80", "close_wait", 1), -1);
	assert_int_equal(store_tick_commit(st), -1);
	store_status(st, &ss);
	assert_int_equal(ss.ticks_dropped, 1);
	assert_int_equal(ss.dropped_writes, 2);
	assert_int_equal(ss.errors, 1);
	assert_int_equal(ss.last_rc & 0xff, SQLITE_BUSY);
	assert_non_null(strstr(ss.last_error, "begin tick"));

	/* A write outside a tick is its own transaction: dropped the same way. */
	errno = 0;
	assert_int_equal(store_sample_add(st, T0, "port:80", "close_wait", 2), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(st->dropped_writes, 3);
	assert_int_equal(st->ticks_dropped, 1);

	/* Maintenance outside a tick is dropped the same way, and leaves no
	 * tick open behind it. */
	errno = 0;
	assert_int_equal(store_maintain(st, T0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(st->in_tick, 0);
	assert_int_equal(st->ticks_dropped, 2);

	sql_exec(other, "COMMIT");
	assert_int_equal(store_tick_begin(st), 0);
	assert_true(store_incident_open(st, &n) > 0);
	assert_int_equal(store_tick_commit(st), 0);
	assert_int_equal(st->ticks_committed, 1);

	/* A reader holding a read transaction does not block the writer (WAL). */
	sql_exec(other, "BEGIN");
	assert_int_equal(sql_int(st, "SELECT count(*) FROM incidents"), 1);
	{
		sqlite3_stmt *s = NULL;

		assert_int_equal(sqlite3_prepare_v2(other, "SELECT count(*) FROM incidents", -1,
						    &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(s, 0), 1);
		assert_int_equal(store_tick_begin(st), 0);
		assert_int_equal(store_incident_resolve(st, 1, T0 + 10), 0);
		assert_int_equal(store_tick_commit(st), 0);
		sqlite3_finalize(s);
	}
	sql_exec(other, "COMMIT");
	sqlite3_close(other);
	store_close(st);
	tmpdb_remove(&t);
}

static void test_store_full_disk_dropped(void **state)
{
	struct store_incident_new n;
	struct tmpdb t;
	struct store *st;
	char subject[200], sql[64];
	int64_t pages, id;
	int i, rc = 0, fails = 0;

	(void)state;
	tmpdb_make(&t);
	st = open_ok(t.path, 0, NULL);
	n = inc_new("half_close_buildup", "pid:9:port:8686", T0, 10);
	assert_int_equal(store_tick_begin(st), 0);
	id = store_incident_open(st, &n);
	assert_true(id > 0);
	assert_int_equal(store_tick_commit(st), 0);

	pages = sql_int(st, "PRAGMA page_count");
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRId64, pages + 2);
	sql_exec(st->db, sql);

	assert_int_equal(store_tick_begin(st), 0);
	assert_int_equal(store_incident_update(st, id, T0 + 1000, 20, NULL, NULL, NULL), 0);
	for (i = 0; i < 2000 && rc == 0; i++) {
		snprintf(subject, sizeof(subject), "tcp:10.0.0.%d:%d/%0150d", i % 250, i, i);
		rc = store_sample_add(st, T0 + i, subject, "accept_queue", i);
	}
	assert_int_equal(rc, -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(st->last_rc & 0xff, SQLITE_FULL);
	assert_int_equal(st->ticks_dropped, 1);
	/* Everything asked for in the tick is counted as dropped. */
	assert_int_equal(st->dropped_writes, (uint64_t)i + 1);
	/* The rest of the tick is refused without touching the database. */
	errno = 0;
	assert_int_equal(store_incident_resolve(st, id, T0 + 2000), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(store_tick_commit(st), -1);
	assert_int_equal(st->errors, 1);

	/* Committed data is intact, the tick's update is gone. */
	assert_int_equal(sql_int(st, "SELECT updated_ms FROM incidents"), T0);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples"), 0);

	/* Still full: the next tick fails the same way, without a crash. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(store_tick_begin(st), 0);
		for (rc = 0; rc == 0 && fails < 10000; fails++) {
			snprintf(subject, sizeof(subject), "s%0180d", fails);
			rc = store_sample_add(st, T0, subject, "m", 1);
		}
		assert_int_equal(rc, -1);
		assert_int_equal(store_tick_commit(st), -1);
	}
	assert_int_equal(st->ticks_dropped, 4);

	/* Room again: the next tick goes through. */
	sql_exec(st->db, "PRAGMA max_page_count = 1000000");
	assert_int_equal(store_tick_begin(st), 0);
	assert_int_equal(store_incident_update(st, id, T0 + 3000, 30, NULL, NULL, NULL), 0);
	assert_int_equal(store_sample_add(st, T0, "port:8686", "fin_wait2", 3), 0);
	assert_int_equal(store_tick_commit(st), 0);
	assert_int_equal(sql_int(st, "SELECT peak FROM incidents"), 30);
	store_close(st);
	tmpdb_remove(&t);
}

static void test_store_reader_sees_committed_only(void **state)
{
	struct store_incident_new n;
	struct store_incident_filter f;
	struct tmpdb t;
	struct store *w, *r;
	struct got g;
	uint64_t t0;

	(void)state;
	tmpdb_make(&t);
	w = open_ok(t.path, 0, NULL);
	n = inc_new("duplicate_listener", "tcp:0.0.0.0:80", T0, 2);
	assert_true(store_incident_open(w, &n) > 0);
	r = open_ok(t.path, STORE_RDONLY, NULL);

	assert_int_equal(store_tick_begin(w), 0);
	n = inc_new("accept_backlog", "tcp:0.0.0.0:80", T0 + 1, 3285);
	assert_true(store_incident_open(w, &n) > 0);
	assert_int_equal(store_incident_resolve(w, 1, T0 + 2), 0);

	t0 = clock_mono_us();
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_incidents_query(r, NULL, got_incident, &g), 1);
	assert_string_equal(g.kinds[0], "duplicate_listener");
	assert_int_equal(g.last.resolved_ms, 0);
	printf("# reader during a write transaction: %.2f ms\n",
	       (clock_mono_us() - t0) / 1000.0);
	assert_int_equal(r->errors, 0);

	assert_int_equal(store_tick_commit(w), 0);
	memset(&g, 0, sizeof(g));
	memset(&f, 0, sizeof(f));
	f.open_only = 1;
	assert_int_equal(store_incidents_query(r, &f, got_incident, &g), 1);
	assert_string_equal(g.kinds[0], "accept_backlog");
	store_close(r);
	store_close(w);
	tmpdb_remove(&t);
}

static void test_store_query_filters(void **state)
{
	static const char *const kinds[] = { "accept_backlog", "lossy_peer" };
	struct store_incident_filter f;
	struct store_incident_new n;
	struct store *st;
	struct got g;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	n = inc_new("accept_backlog", "tcp:0.0.0.0:80", T0, 1);
	assert_int_equal(store_incident_open(st, &n), 1);
	assert_int_equal(store_incident_resolve(st, 1, T0 + HOUR), 0);
	n = inc_new("lossy_peer", "peer:10.0.0.9", T0 + 2 * HOUR, 1);
	assert_int_equal(store_incident_open(st, &n), 2);
	n = inc_new("kernel_tuning", "sysctl:net.ipv4.tcp_fin_timeout", T0 + 3 * HOUR, 1);
	assert_int_equal(store_incident_open(st, &n), 3);
	assert_int_equal(store_incident_resolve(st, 3, T0 + 4 * HOUR), 0);

	memset(&f, 0, sizeof(f));
	memset(&g, 0, sizeof(g));
	f.kinds = kinds;
	f.nkinds = 2;
	assert_int_equal(store_incidents_query(st, &f, got_incident, &g), 2);
	assert_int_equal(g.ids[0], 1);
	assert_int_equal(g.ids[1], 2);

	/* opened in [since, until) */
	memset(&f, 0, sizeof(f));
	memset(&g, 0, sizeof(g));
	f.since_ms = T0 + 30 * MIN;
	f.until_ms = T0 + 3 * HOUR;
	assert_int_equal(store_incidents_query(st, &f, got_incident, &g), 1);
	assert_int_equal(g.ids[0], 2);
	/* ... or active in it */
	memset(&g, 0, sizeof(g));
	f.active = 1;
	assert_int_equal(store_incidents_query(st, &f, got_incident, &g), 2);
	assert_int_equal(g.ids[0], 1);
	assert_int_equal(g.ids[1], 2);

	memset(&f, 0, sizeof(f));
	memset(&g, 0, sizeof(g));
	f.subject = "sysctl:net.ipv4.tcp_fin_timeout";
	assert_int_equal(store_incidents_query(st, &f, got_incident, &g), 1);
	assert_int_equal(g.ids[0], 3);

	memset(&f, 0, sizeof(f));
	memset(&g, 0, sizeof(g));
	f.min_id = 2;
	f.limit = 1;
	assert_int_equal(store_incidents_query(st, &f, got_incident, &g), 1);
	assert_int_equal(g.ids[0], 2);

	memset(&g, 0, sizeof(g));
	assert_int_equal(store_open_incidents(st, got_incident, &g), 1);
	assert_int_equal(g.ids[0], 2);
	assert_int_equal(store_incident_get(st, 42, got_incident, &g), 0);
	store_close(st);
}

/* Stops after the first row: the query reports one. */
static int stop_first(const struct store_incident *inc, void *arg)
{
	(void)inc;
	(*(int *)arg)++;
	return 1;
}

static void test_store_callback_stops(void **state)
{
	struct store_incident_new n;
	struct store *st;
	int calls = 0;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	n = inc_new("lossy_peer", "peer:a", T0, 1);
	assert_true(store_incident_open(st, &n) > 0);
	n.subject = "peer:b";
	assert_true(store_incident_open(st, &n) > 0);
	assert_int_equal(store_incidents_query(st, NULL, stop_first, &calls), 1);
	assert_int_equal(calls, 1);
	store_close(st);
}

static void test_store_incident_samples_around(void **state)
{
	struct store_incident_new n;
	struct store *st;
	struct sbuf b;
	int64_t id;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	n = inc_new("half_close_buildup", "pid:4242:port:8686", T0 + 10 * MIN, 900);
	n.pid = 4242;
	n.port = 8686;
	n.generation = 7;
	id = store_incident_open(st, &n);
	assert_int_equal(store_incident_resolve(st, id, T0 + 20 * MIN), 0);

	assert_int_equal(store_sample_add(st, T0 + 4 * MIN, "port:8686", "fin_wait2", 1), 0);
	assert_int_equal(store_sample_add(st, T0 + 6 * MIN, "port:8686", "fin_wait2", 2), 0);
	assert_int_equal(store_sample_add(st, T0 + 11 * MIN, "pid:4242:port:8686",
					  "close_wait", 3), 0);
	assert_int_equal(store_sample_add(st, T0 + 12 * MIN, "pid:4242", "sessions", 4), 0);
	assert_int_equal(store_sample_add(st, T0 + 13 * MIN, "gen:7", "sessions", 5), 0);
	assert_int_equal(store_sample_add(st, T0 + 14 * MIN, "tcp:0.0.0.0:8686",
					  "accept_queue", 6), 0);
	assert_int_equal(store_sample_add(st, T0 + 15 * MIN, "port:80", "fin_wait2", 99), 0);
	assert_int_equal(store_sample_add(st, T0 + 15 * MIN, "pid:42420", "sessions", 99), 0);
	assert_int_equal(store_sample_add(st, T0 + 15 * MIN, "gen:70", "sessions", 99), 0);
	assert_int_equal(store_sample_add(st, T0 + 24 * MIN, "port:8686", "fin_wait2", 7), 0);
	assert_int_equal(store_sample_add(st, T0 + 26 * MIN, "port:8686", "fin_wait2", 99), 0);

	sb_init(&b);
	assert_int_equal(store_incident_samples(st, id, 0, got_sample, &b), 6);
	assert_string_equal(sb_cstr(&b),
			    "1763700360000 port:8686 fin_wait2 2 2 2 1 0;"
			    "1763700660000 pid:4242:port:8686 close_wait 3 3 3 1 0;"
			    "1763700720000 pid:4242 sessions 4 4 4 1 0;"
			    "1763700780000 gen:7 sessions 5 5 5 1 0;"
			    "1763700840000 tcp:0.0.0.0:8686 accept_queue 6 6 6 1 0;"
			    "1763701440000 port:8686 fin_wait2 7 7 7 1 0;");
	sb_reset(&b);
	assert_int_equal(store_incident_samples(st, id, 7 * MIN, got_sample, &b), 8);
	sb_free(&b);
	store_close(st);
}

/* Asks sqlite whether text is valid JSON and evaluates path expressions. */
static int64_t json_check(const char *json, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void test_store_json_valid(void **state)
{
	struct store_incident_filter f;
	struct store_incident_new n;
	struct store *st;
	struct sbuf b;
	struct json j;
	int64_t id;

	(void)state;
	st = open_ok(":memory:", 0, NULL);
	n = inc_new("duplicate_listener", "tcp:0.0.0.0:80", T0, 2);
	n.summary = "two listeners on :80, \"one\" stuck\n";
	n.evidence = "{\"inodes\":[11,12],\"owners\":[{\"pid\":1,\"queue\":3285}]}";
	n.port = 80;
	id = store_incident_open(st, &n);
	assert_true(store_action_add(st, id, T0 + 1, "kill", "pid:1", 0, "failed",
				     "EPERM: \"foreign\"") > 0);
	assert_true(store_action_add(st, id, T0 + 2, "observe", "pid:1", 1, "ok", NULL) > 0);
	assert_int_equal(store_sample_add(st, T0, "tcp:0.0.0.0:80", "accept_queue", 3285), 0);
	n = inc_new("lossy_peer", "peer:10.0.0.2", T0 + 5, 0.25);
	assert_true(store_incident_open(st, &n) > 0);

	sb_init(&b);
	assert_int_equal(store_incidents_json(st, NULL, &b), 2);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_valid(?1)"), 1);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_array_length(?1)"), 2);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_type(?1, '$[0].evidence') ="
				    " 'object'"), 1);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_extract(?1,"
				    " '$[0].evidence.owners[0].queue')"), 3285);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_array_length(?1,"
				    " '$[0].actions')"), 2);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_type(?1, '$[0].actions[1].dry_run')"
				    " = 'true' AND json_type(?1, '$[0].open') = 'true'"), 1);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_extract(?1, '$[0].opened') ="
				    " '2025-11-21T04:40:00.000Z'"), 1);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_array_length(?1,"
				    " '$[1].actions')"), 0);

	/* An empty result is an empty array. */
	sb_reset(&b);
	memset(&f, 0, sizeof(f));
	f.since_ms = T0 + DAY;
	assert_int_equal(store_incidents_json(st, &f, &b), 0);
	assert_string_equal(sb_cstr(&b), "[]");

	sb_reset(&b);
	assert_int_equal(store_incident_json(st, id, 0, &b), 1);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_valid(?1) AND"
				    " json_type(?1) = 'object'"), 1);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_array_length(?1, '$.samples')"), 1);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_extract(?1,"
				    " '$.samples[0].max')"), 3285);
	sb_reset(&b);
	assert_int_equal(store_incident_json(st, 999, 0, &b), 0);
	assert_int_equal(b.len, 0);

	/* The status object for `status`. */
	sb_reset(&b);
	json_init(&j, &b);
	store_status_json(st, &j, NULL);
	assert_int_equal(json_check(sb_cstr(&b), "SELECT json_valid(?1) AND"
				    " json_extract(?1, '$.schema_version') = 2"), 1);
	sb_free(&b);
	store_close(st);
}

/* Synthetic samples over 9 days, one per 10 s per series, then
 * maintenance to the end: tiers and retention as documented. */
static void test_store_maintain_downsample(void **state)
{
	struct store_opts o;
	struct store *st;
	int64_t now = T0 + 9 * DAY, t, rounds = 0, old_id, new_id;
	int r, i;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.maintain_rows = 3000;
	st = open_ok(":memory:", 0, &o);
	assert_int_equal(store_tick_begin(st), 0);
	for (t = T0; t < now; t += 10000) {
		assert_int_equal(store_sample_add(st, t, "tcp:0.0.0.0:80", "accept_queue",
						  (double)((t / 10000) % 6)), 0);
		if (t >= now - 2 * DAY)
			assert_int_equal(store_sample_add(st, t, "port:80", "close_wait", 1), 0);
	}
	assert_int_equal(store_tick_commit(st), 0);
	/* An old resolved incident with an action, an old one still open. */
	{
		struct store_incident_new n = inc_new("stale_generation", "pid:5", T0, 1);

		old_id = store_incident_open(st, &n);
		assert_true(store_action_add(st, old_id, T0, "kill", "pid:5", 0, "ok", NULL) > 0);
		assert_int_equal(store_incident_resolve(st, old_id, T0 + MIN), 0);
		n.subject = "pid:6";
		new_id = store_incident_open(st, &n);
	}
	o.incident_retention_ms = 8 * DAY;
	st->o.incident_retention_ms = o.incident_retention_ms;

	while ((r = store_maintain(st, now)) == 1 && rounds < 10000)
		rounds++;
	assert_int_equal(r, 0);
	assert_true(rounds > 1); /* incremental: the budget was hit */
	printf("# maintenance: %" PRId64 " rounds of <= %d rows\n", rounds + 1, o.maintain_rows);

	/* raw rows: only the last hour */
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 0 AND"
				 " t_ms < 1764477600000 - 3600000"), 0);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 0 AND"
				 " subject = 'tcp:0.0.0.0:80'"), 360);
	/* 1-minute rows: from a day ago to an hour ago, whole minutes */
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 60000 AND"
				 " subject = 'tcp:0.0.0.0:80'"), 23 * 60);
	assert_int_equal(sql_int(st, "SELECT min(t_ms) FROM samples WHERE res_ms = 60000"),
			 now - DAY);
	/* One minute of values 0..5: mean 2.5, max 5, min 0, n 6. */
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 60000 AND"
				 " value = 2.5 AND vmax = 5 AND vmin = 0 AND n = 6"),
			 sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 60000 AND"
				 " subject = 'tcp:0.0.0.0:80'"));
	/* 10-minute rows: from retention (7 days) to a day ago */
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 600000 AND"
				 " subject = 'tcp:0.0.0.0:80'"), 6 * 24 * 6);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 600000 AND"
				 " n = 60 AND value = 2.5 AND vmax = 5 AND vmin = 0"), 6 * 24 * 6);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM samples WHERE res_ms = 600000 AND"
				 " subject = 'port:80' AND n = 60 AND value = 1"), 24 * 6);
	assert_int_equal(sql_int(st, "SELECT min(t_ms) FROM samples"), now - 7 * DAY);
	/* Incident retention: the old resolved one and its action went. */
	assert_int_equal(sql_int(st, "SELECT count(*) FROM incidents"), 1);
	assert_int_equal(sql_int(st, "SELECT id FROM incidents"), new_id);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM actions"), 0);

	/* A late raw sample for a minute already folded is merged into it. */
	t = now - 2 * HOUR;
	assert_int_equal(store_sample_add(st, t + 5000, "tcp:0.0.0.0:80", "accept_queue", 100),
			 0);
	assert_int_equal(store_maintain(st, now), 0);
	{
		char sql[200];

		snprintf(sql, sizeof(sql), "SELECT n * 1000 + vmax FROM samples WHERE res_ms = 60000"
			 " AND subject = 'tcp:0.0.0.0:80' AND t_ms = %" PRId64, t);
		assert_int_equal(sql_int(st, sql), 7 * 1000 + 100);
	}
	/* Nothing left to do: a cheap no-op. */
	for (i = 0; i < 3; i++)
		assert_int_equal(store_maintain(st, now), 0);
	assert_int_equal(st->errors, 0);
	store_close(st);
}

/* The child writer of the kill -9 test: one incident, one action and a
 * sample per tick, maintenance every 50 ticks; each committed id goes down
 * the pipe after its commit. */
static void kill9_child(const char *path, int round, int wfd)
{
	char err[256];
	struct store *st;
	uint64_t end = clock_mono_ms() + 20000;
	int64_t i;

	st = store_open(path, 0, NULL, err, sizeof(err));
	if (!st)
		_exit(2);
	for (i = 0; clock_mono_ms() < end; i++) {
		struct store_incident_new n;
		char subject[48];
		int64_t id;

		snprintf(subject, sizeof(subject), "gen:%d:pid:%" PRId64, round, i);
		memset(&n, 0, sizeof(n));
		n.kind = "stale_generation";
		n.severity = "warning";
		n.subject = subject;
		n.t_ms = T0 + i;
		n.value = (double)i;
		n.evidence = "{\"sessions\":1}";
		if (store_tick_begin(st) == -1)
			continue;
		id = store_incident_open(st, &n);
		if (id > 0 && store_action_add(st, id, T0 + i, "kill", subject, 0, "ok", NULL) > 0 &&
		    store_sample_add(st, T0 + i, subject, "sessions", 1) == 0 &&
		    store_tick_commit(st) == 0) {
			if (write(wfd, &id, sizeof(id)) != (ssize_t)sizeof(id))
				_exit(3);
		} else {
			store_tick_rollback(st);
		}
		if (i % 50 == 49)
			store_maintain(st, T0 + i);
	}
	_exit(0);
}

/* Runs one child writer, kills it with SIGKILL at a random point after
 * it has reported `after` commits, and appends the ids it reported. */
static void kill9_round(const char *path, int round, size_t after, int64_t **ids,
			size_t *nids, size_t *cap)
{
	size_t got = 0, i;
	int fds[2], status, killed = 0;
	uint64_t deadline;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(fds[0]);
		kill9_child(path, round, fds[1]);
	}
	close(fds[1]);

	deadline = clock_mono_ms() + 30000;
	while (clock_mono_ms() < deadline) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int64_t buf[64];
		ssize_t n;

		if (poll(&pfd, 1, 1000) == -1) {
			assert_int_equal(errno, EINTR);
			continue;
		}
		if (!pfd.revents)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		if (n == -1) {
			assert_int_equal(errno, EINTR);
			continue;
		}
		if (n == 0)
			break;
		/* Writes of 8 bytes to a pipe are atomic: whole ids only. */
		assert_int_equal(n % (ssize_t)sizeof(int64_t), 0);
		for (i = 0; i < (size_t)n / sizeof(int64_t); i++) {
			if (*nids == *cap) {
				*cap = *cap ? *cap * 2 : 1024;
				*ids = realloc(*ids, *cap * sizeof(**ids));
				assert_non_null(*ids);
			}
			(*ids)[(*nids)++] = buf[i];
			got++;
		}
		if (got >= after && !killed) {
			/* Anywhere in a tick: between statements, in a commit, in
			 * maintenance or a checkpoint. */
			usleep((useconds_t)(rand() % 3000));
			assert_int_equal(kill(pid, SIGKILL), 0);
			killed = 1;
		}
	}
	close(fds[0]);
	if (!killed)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(killed);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_store_kill9_loses_nothing(void **state)
{
	const int rounds = 3;
	struct tmpdb t;
	struct store *st;
	int64_t *ids = NULL, rows = 0;
	size_t nids = 0, cap = 0, i;
	unsigned seed = (unsigned)clock_mono_us();
	int r;

	(void)state;
	srand(seed);
	tmpdb_make(&t);
	/* Create the file first so that the children only write. */
	st = open_ok(t.path, 0, NULL);
	store_close(st);
	for (r = 0; r < rounds; r++) {
		sqlite3_stmt *s = NULL;

		kill9_round(t.path, r, 200 + (size_t)(rand() % 300), &ids, &nids, &cap);

		/* Restart: every committed row is there, the file is sound. */
		st = open_ok(t.path, 0, NULL);
		assert_int_equal(sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s,
						    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
		sqlite3_finalize(s);
		assert_int_equal(sqlite3_prepare_v2(st->db, "SELECT count(*) FROM incidents i"
						    " JOIN actions a ON a.incident_id = i.id"
						    " WHERE i.id = ?1 AND i.resolved_ms IS NULL",
						    -1, &s, NULL), SQLITE_OK);
		for (i = 0; i < nids; i++) {
			sqlite3_bind_int64(s, 1, ids[i]);
			assert_int_equal(sqlite3_step(s), SQLITE_ROW);
			if (sqlite3_column_int(s, 0) != 1)
				fail_msg("committed incident %" PRId64 " lost", ids[i]);
			sqlite3_reset(s);
		}
		sqlite3_finalize(s);
		/* At most the one tick per round committed but not yet reported. */
		rows = sql_int(st, "SELECT count(*) FROM incidents");
		assert_true(rows >= (int64_t)nids);
		assert_true(rows <= (int64_t)nids + r + 1);
		/* The killed writers' incidents are open: a restart reloads them. */
		{
			struct got g;

			memset(&g, 0, sizeof(g));
			assert_int_equal(store_open_incidents(st, got_incident, &g), rows);
		}
		store_close(st);
	}
	printf("# kill -9: %d rounds (seed %u), %zu committed ticks reported, %" PRId64
	       " incidents after restart, integrity ok\n", rounds, seed, nids, rows);
	free(ids);
	tmpdb_remove(&t);
}

static int count_cb(const struct store_incident *inc, void *arg)
{
	(void)inc;
	(*(int *)arg)++;
	return 0;
}

/* 10k incidents over ten kinds, written 100 per tick, then read back by
 * kind and time. Figures are printed, not asserted. */
static void test_store_bench_10k(void **state)
{
	static const char *const kinds[] = {
		"duplicate_listener", "accept_backlog", "stale_generation",
		"half_close_buildup", "session_on_down_server", "server_queue_starvation",
		"maxconn_saturation", "lossy_peer", "kernel_tuning", "config_lint",
	};
	struct store_incident_filter f;
	struct tmpdb t;
	struct store *st;
	struct sbuf b;
	uint64_t t0, t_ins, t_q, t_json;
	int i, k, cnt = 0, total = 0;

	(void)state;
	tmpdb_make(&t);
	st = open_ok(t.path, 0, NULL);
	t0 = clock_mono_us();
	for (i = 0; i < 10000; i += 100) {
		assert_int_equal(store_tick_begin(st), 0);
		for (k = i; k < i + 100; k++) {
			struct store_incident_new n;
			char subject[48];
			int64_t id;

			snprintf(subject, sizeof(subject), "tcp:10.%d.%d.%d:80", k / 65536,
				 (k / 256) % 256, k % 256);
			n = inc_new(kinds[k % 10], subject, T0 + (int64_t)k * 1000, k);
			id = store_incident_open(st, &n);
			assert_true(id > 0);
			if (k % 2)
				assert_int_equal(store_incident_resolve(st, id, T0 + k * 1000LL + 500),
						 0);
		}
		assert_int_equal(store_tick_commit(st), 0);
	}
	t_ins = clock_mono_us() - t0;

	/* One kind over the middle half of the time range, each kind once. */
	t0 = clock_mono_us();
	for (k = 0; k < 10; k++) {
		memset(&f, 0, sizeof(f));
		f.kinds = &kinds[k];
		f.nkinds = 1;
		f.since_ms = T0 + 2500 * 1000LL;
		f.until_ms = T0 + 7500 * 1000LL;
		cnt = 0;
		assert_int_equal(store_incidents_query(st, &f, count_cb, &cnt), 500);
		total += cnt;
	}
	t_q = clock_mono_us() - t0;
	assert_int_equal(total, 5000);

	sb_init(&b);
	t0 = clock_mono_us();
	assert_int_equal(store_incidents_json(st, NULL, &b), 10000);
	t_json = clock_mono_us() - t0;
	sb_free(&b);
	printf("# 10k incidents: insert %.1f ms (%.1f us each, 100 per tick, file+WAL);"
	       " 10 queries by kind+time (500 rows each) %.2f ms (%.3f ms each);"
	       " all 10k as JSON %.1f ms\n", t_ins / 1000.0, t_ins / 10000.0, t_q / 1000.0,
	       t_q / 10000.0, t_json / 1000.0);

	/* A supervisor-like tick: 500 samples and 10 incident updates. */
	t0 = clock_mono_us();
	for (i = 0; i < 100; i++) {
		assert_int_equal(store_tick_begin(st), 0);
		for (k = 0; k < 500; k++) {
			char subject[32];

			snprintf(subject, sizeof(subject), "port:%d", 10000 + k / 5);
			assert_int_equal(store_sample_add(st, T0 + DAY + i * 1000LL, subject,
							  kinds[k % 5], k), 0);
		}
		for (k = 0; k < 10; k++)
			assert_int_equal(store_incident_update(st, 2 * k + 1, T0 + DAY + i * 1000LL,
							       i, NULL, NULL, NULL), 0);
		assert_int_equal(store_tick_commit(st), 0);
	}
	t_ins = clock_mono_us() - t0;
	printf("# tick of 500 samples + 10 incident updates: %.2f ms average over 100 ticks\n",
	       t_ins / 100000.0);
	store_close(st);
	tmpdb_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_open_memory_schema),
		cmocka_unit_test(test_store_incident_open_update_resolve),
		cmocka_unit_test(test_store_action_roundtrip),
		cmocka_unit_test(test_store_generation_roundtrip),
		cmocka_unit_test(test_store_sample_roundtrip),
		cmocka_unit_test(test_store_migrate_v1),
		cmocka_unit_test(test_store_migrate_failure_atomic),
		cmocka_unit_test(test_store_open_errors),
		cmocka_unit_test(test_store_newer_schema_refused),
		cmocka_unit_test(test_store_busy_tick_dropped),
		cmocka_unit_test(test_store_full_disk_dropped),
		cmocka_unit_test(test_store_reader_sees_committed_only),
		cmocka_unit_test(test_store_query_filters),
		cmocka_unit_test(test_store_callback_stops),
		cmocka_unit_test(test_store_incident_samples_around),
		cmocka_unit_test(test_store_json_valid),
		cmocka_unit_test(test_store_maintain_downsample),
		cmocka_unit_test(test_store_kill9_loses_nothing),
		cmocka_unit_test(test_store_bench_10k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
