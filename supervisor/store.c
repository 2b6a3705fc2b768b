/* The incident store, writer side: schema and migrations, the tick's
 * transaction, incidents, actions, generations, samples, maintenance.
 * Failure policy: nothing here waits longer than the busy timeout, nothing
 * is retried; a failed tick is rolled back and counted (see store.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "supervisor/store.h"

/* Migration steps, append only: step v takes a version v-1 database to v.
 * Steps only add (tables, columns, indexes), never drop or rename, so that
 * an older reader can still read a newer file. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* v1: the tables, raw samples only. */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT"
	");"
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  opened_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  resolved_ms INTEGER,"
	"  peak REAL,"
	"  last_value REAL,"
	"  generation INTEGER,"
	"  pid INTEGER,"
	"  port INTEGER,"
	"  summary TEXT NOT NULL DEFAULT '',"
	"  evidence TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(evidence)),"
	"  ticks INTEGER NOT NULL DEFAULT 1"
	");"
	"CREATE INDEX incidents_kind_opened ON incidents(kind, opened_ms);"
	"CREATE INDEX incidents_opened ON incidents(opened_ms);"
	"CREATE INDEX incidents_subject ON incidents(subject, opened_ms);"
	"CREATE UNIQUE INDEX incidents_open ON incidents(kind, subject)"
	"  WHERE resolved_ms IS NULL;"
	"CREATE INDEX incidents_open_opened ON incidents(opened_ms)"
	"  WHERE resolved_ms IS NULL;"
	"CREATE TABLE actions ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER REFERENCES incidents(id) ON DELETE CASCADE,"
	"  t_ms INTEGER NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL DEFAULT '',"
	"  dry_run INTEGER NOT NULL DEFAULT 0,"
	"  result TEXT NOT NULL,"
	"  error TEXT"
	");"
	"CREATE INDEX actions_incident ON actions(incident_id);"
	"CREATE INDEX actions_t ON actions(t_ms);"
	"CREATE TABLE generations ("
	"  id INTEGER PRIMARY KEY,"
	"  gen INTEGER NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  started_ms INTEGER NOT NULL,"
	"  ready_ms INTEGER,"
	"  drain_ms INTEGER,"
	"  exit_ms INTEGER,"
	"  exit_status TEXT,"
	"  config_sha256 TEXT"
	");"
	"CREATE INDEX generations_gen ON generations(gen, pid);"
	"CREATE INDEX generations_started ON generations(started_ms);"
	"CREATE TABLE samples ("
	"  t_ms INTEGER NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  metric TEXT NOT NULL,"
	"  value REAL NOT NULL"
	");"
	"CREATE INDEX samples_series ON samples(subject, metric, t_ms);",

	/* v2: downsampled samples. A row stands for n raw samples starting at
	 * t_ms over res_ms (0 = raw); value is their mean, vmax/vmin their
	 * extremes (NULL on raw rows: equal to value). */
	"ALTER TABLE samples ADD COLUMN res_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE samples ADD COLUMN vmax REAL;"
	"ALTER TABLE samples ADD COLUMN vmin REAL;"
	"ALTER TABLE samples ADD COLUMN n INTEGER NOT NULL DEFAULT 1;"
	"CREATE INDEX samples_res_t ON samples(res_ms, t_ms);"
	"CREATE UNIQUE INDEX samples_bucket ON samples(subject, metric, res_ms, t_ms)"
	"  WHERE res_ms > 0;",
};

/* Statements kept for the life of the handle, prepared on first use. */
enum {
	ST_BEGIN = 0,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INC_OPEN,
	ST_INC_UPDATE,
	ST_INC_RESOLVE,
	ST_ACTION_ADD,
	ST_GEN_START,
	ST_GEN_READY,
	ST_GEN_DRAIN,
	ST_GEN_EXIT,
	ST_GEN_LAST,
	ST_SAMPLE_ADD,
	ST_ROLLUP_MIN,
	ST_ROLLUP_INSERT,
	ST_ROLLUP_DELETE,
	ST_RET_SAMPLES,
	ST_RET_INCIDENTS,
	ST_RET_GENERATIONS,
	ST_COUNT,
};

_Static_assert(ST_COUNT <= STORE_NSTMT, "STORE_NSTMT too small");

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* An open (kind, subject) is merged into rather than duplicated. */
	[ST_INC_OPEN] =
		"INSERT INTO incidents (kind, severity, subject, opened_ms, updated_ms,"
		"  peak, last_value, generation, pid, port, summary, evidence, ticks)"
		" VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, 1)"
		" ON CONFLICT (kind, subject) WHERE resolved_ms IS NULL DO UPDATE SET"
		"  severity = excluded.severity, updated_ms = excluded.updated_ms,"
		"  peak = max(coalesce(peak, excluded.peak), coalesce(excluded.peak, peak)),"
		"  last_value = excluded.last_value,"
		"  generation = coalesce(excluded.generation, generation),"
		"  pid = coalesce(excluded.pid, pid), port = coalesce(excluded.port, port),"
		"  summary = excluded.summary, evidence = excluded.evidence,"
		"  ticks = ticks + 1"
		" RETURNING id",
	[ST_INC_UPDATE] =
		"UPDATE incidents SET updated_ms = ?2, last_value = ?3,"
		"  peak = max(coalesce(peak, ?3), coalesce(?3, peak)),"
		"  severity = coalesce(?4, severity), summary = coalesce(?5, summary),"
		"  evidence = coalesce(?6, evidence), ticks = ticks + 1"
		" WHERE id = ?1 AND resolved_ms IS NULL",
	[ST_INC_RESOLVE] =
		"UPDATE incidents SET resolved_ms = ?2, updated_ms = max(updated_ms, ?2)"
		" WHERE id = ?1 AND resolved_ms IS NULL",
	[ST_ACTION_ADD] =
		"INSERT INTO actions (incident_id, t_ms, action, target, dry_run, result, error)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_GEN_START] =
		"INSERT INTO generations (gen, pid, started_ms, config_sha256)"
		" VALUES (?1, ?2, ?3, ?4)",
	[ST_GEN_READY] =
		"UPDATE generations SET ready_ms = ?3 WHERE id ="
		" (SELECT max(id) FROM generations WHERE gen = ?1 AND pid = ?2)",
	[ST_GEN_DRAIN] =
		"UPDATE generations SET drain_ms = ?3 WHERE id ="
		" (SELECT max(id) FROM generations WHERE gen = ?1 AND pid = ?2)",
	[ST_GEN_EXIT] =
		"UPDATE generations SET exit_ms = ?3, exit_status = ?4 WHERE id ="
		" (SELECT max(id) FROM generations WHERE gen = ?1 AND pid = ?2)",
	[ST_GEN_LAST] = "SELECT coalesce(max(gen), 0) FROM generations",
	[ST_SAMPLE_ADD] =
		"INSERT INTO samples (t_ms, subject, metric, value) VALUES (?1, ?2, ?3, ?4)",
	[ST_ROLLUP_MIN] = "SELECT min(t_ms) FROM samples WHERE res_ms = ?1",
	/* Folds the rows of resolution ?1 in [?3, ?4) into buckets of ?2,
	 * merging into a bucket row that exists already (late samples). */
	[ST_ROLLUP_INSERT] =
		"INSERT INTO samples (t_ms, subject, metric, value, vmax, vmin, n, res_ms)"
		" SELECT (t_ms / ?2) * ?2 AS b, subject, metric,"
		"  sum(value * n) / sum(n), max(coalesce(vmax, value)),"
		"  min(coalesce(vmin, value)), sum(n), ?2"
		" FROM samples WHERE res_ms = ?1 AND t_ms >= ?3 AND t_ms < ?4"
		" GROUP BY b, subject, metric"
		" ON CONFLICT (subject, metric, res_ms, t_ms) WHERE res_ms > 0 DO UPDATE SET"
		"  value = (value * n + excluded.value * excluded.n) / (n + excluded.n),"
		"  vmax = max(vmax, excluded.vmax), vmin = min(vmin, excluded.vmin),"
		"  n = n + excluded.n",
	[ST_ROLLUP_DELETE] =
		"DELETE FROM samples WHERE res_ms = ?1 AND t_ms >= ?2 AND t_ms < ?3",
	[ST_RET_SAMPLES] =
		"DELETE FROM samples WHERE rowid IN (SELECT rowid FROM samples"
		" WHERE res_ms = ?1 AND t_ms < ?2 LIMIT ?3)",
	[ST_RET_INCIDENTS] =
		"DELETE FROM incidents WHERE id IN (SELECT id FROM incidents"
		" WHERE opened_ms < ?1 AND resolved_ms < ?1 LIMIT ?2)",
	[ST_RET_GENERATIONS] =
		"DELETE FROM generations WHERE exit_ms < ?1",
};

static void store_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void store_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int store_rc_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EAGAIN;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_READONLY:
		return EROFS;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
	case SQLITE_ERROR:
		return EINVAL;
	default:
		return EIO;
	}
}

/* Errors after which the transaction cannot be trusted to hold the tick's
 * earlier writes (sqlite may have rolled it back itself): the whole tick
 * goes. Others (a constraint) only fail the one statement. */
static int store_rc_drops_tick(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_INTERRUPT:
	case SQLITE_ABORT:
		return 1;
	default:
		return 0;
	}
}

/* Records a failed database call on the handle and sets errno. */
static void store_fail(struct store *st, int rc, const char *what)
{
	st->errors++;
	st->last_rc = rc;
	st->last_error_ms = (int64_t)clock_real_ms();
	snprintf(st->last_error, sizeof(st->last_error), "%s: %s (%s)", what,
		 sqlite3_errmsg(st->db), sqlite3_errstr(rc));
	errno = store_rc_errno(rc);
}

static sqlite3_stmt *store_stmt(struct store *st, int idx)
{
	sqlite3_stmt *s = st->stmt[idx];
	int rc;

	if (s)
		return s;
	rc = sqlite3_prepare_v3(st->db, stmt_sql[idx], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		store_fail(st, rc, "prepare");
		sqlite3_finalize(s);
		return NULL;
	}
	st->stmt[idx] = s;
	return s;
}

static void store_rollback_now(struct store *st)
{
	sqlite3_stmt *s;

	if (sqlite3_get_autocommit(st->db))
		return;
	s = store_stmt(st, ST_ROLLBACK);
	if (s) {
		sqlite3_step(s);
		sqlite3_reset(s);
	}
	/* Last resort: a ROLLBACK statement that could not even be prepared. */
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Marks the current tick dropped: rolls it back and counts its writes. */
static void store_tick_drop(struct store *st, uint32_t extra)
{
	store_rollback_now(st);
	st->tick_dropped = 1;
	st->ticks_dropped++;
	st->dropped_writes += st->tick_writes + extra;
	st->tick_writes = 0;
}

/* Gate for every write: refuses at once in a dropped tick or on a reader. */
static int store_write_ok(struct store *st)
{
	if (st->flags & STORE_RDONLY) {
		errno = EROFS;
		return 0;
	}
	if (st->in_tick && st->tick_dropped) {
		st->dropped_writes++;
		errno = EAGAIN;
		return 0;
	}
	return 1;
}

/* Runs a bound write statement to completion. Returns 0, or -1 (errno).
 * *rowid gets the first column of the first row (RETURNING) or the last
 * insert rowid; *changes the rows changed. Applies the failure policy. */
static int store_exec_write(struct store *st, sqlite3_stmt *s, const char *what,
			    int64_t *rowid, int *changes)
{
	int64_t id = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	if (rc != SQLITE_DONE) {
		store_fail(st, rc, what);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if (st->in_tick && store_rc_drops_tick(rc))
			store_tick_drop(st, 1);
		else
			st->dropped_writes++;
		errno = store_rc_errno(rc);
		return -1;
	}
	if (rowid)
		*rowid = id ? id : sqlite3_last_insert_rowid(st->db);
	if (changes)
		*changes = sqlite3_changes(st->db);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (st->in_tick)
		st->tick_writes++;
	else
		st->writes_committed++;
	return 0;
}

/* A statement that could not be prepared counts as a failed write. */
static sqlite3_stmt *store_write_stmt(struct store *st, int idx)
{
	sqlite3_stmt *s = store_stmt(st, idx);

	if (!s)
		st->dropped_writes++;
	return s;
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static void bind_int_or_null(sqlite3_stmt *s, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

/* NaN/inf cannot be compared for a peak; they are stored as NULL. */
static void bind_real(sqlite3_stmt *s, int i, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

/* Runs SQL text; errors read "<what>: <sqlite's message>" (what defaults
 * to the SQL itself, fine for one-line statements). */
static int store_exec_simple(sqlite3 *db, const char *sql, const char *what, char *err,
			     size_t errlen)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		store_seterr(err, errlen, "%s: %s", what ? what : sql,
			     msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		errno = store_rc_errno(rc);
		return -1;
	}
	return 0;
}

/* Reads meta.schema_version: 0 for an empty database, -1 on error (or a
 * database that holds tables but is not an incident store). */
static int store_read_version(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int version = -1;
	int rc, ntables = 0, has_meta = 0;

	rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table'",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);

		ntables++;
		if (name && strcmp(name, "meta") == 0)
			has_meta = 1;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	s = NULL;
	if (!has_meta) {
		if (ntables == 0)
			return 0;
		store_seterr(err, errlen, "not an incident store (no meta table)");
		errno = EINVAL;
		return -1;
	}
	rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		version = sqlite3_column_int(s, 0);
		rc = SQLITE_DONE;
	} else if (rc == SQLITE_DONE) {
		version = 0;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	if (version < 1) {
		store_seterr(err, errlen, "not an incident store (no schema_version in meta)");
		errno = EINVAL;
		return -1;
	}
	return version;
fail:
	store_seterr(err, errlen, "reading the schema version: %s", sqlite3_errmsg(db));
	errno = store_rc_errno(rc);
	sqlite3_finalize(s);
	return -1;
}

static int store_meta_set(sqlite3 *db, const char *key, const char *value, char *err,
			  size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "INSERT INTO meta (key, value) VALUES (?1, ?2)"
				" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
				-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		store_seterr(err, errlen, "meta %s: %s", key, sqlite3_errmsg(db));
		errno = store_rc_errno(rc);
		return -1;
	}
	return 0;
}

/* Brings a writer's database to STORE_SCHEMA_VERSION in one transaction. */
static int store_migrate(struct store *st, char *err, size_t errlen)
{
	char buf[128];
	int version, v;

	if (store_exec_simple(st->db, "BEGIN IMMEDIATE", NULL, err, errlen) == -1)
		return -1;
	version = store_read_version(st->db, err, errlen);
	if (version == -1)
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		store_seterr(err, errlen,
			     "database schema version %d is newer than this program's (%d):"
			     " refusing to write it; use a newer proxysv, or read it read-only",
			     version, STORE_SCHEMA_VERSION);
		errno = EPROTONOSUPPORT;
		goto fail;
	}
	for (v = version + 1; v <= STORE_SCHEMA_VERSION; v++) {
		char what[48];

		snprintf(what, sizeof(what), "migration to schema version %d", v);
		if (store_exec_simple(st->db, migrations[v - 1], what, err, errlen) == -1)
			goto fail;
		snprintf(buf, sizeof(buf), "%d", v);
		if (store_meta_set(st->db, "schema_version", buf, err, errlen) == -1)
			goto fail;
		snprintf(buf, sizeof(buf), "%" PRIu64, clock_real_ms());
		if (v == 1) {
			char host[256];

			if (store_meta_set(st->db, "created", buf, err, errlen) == -1)
				goto fail;
			if (gethostname(host, sizeof(host)) == -1)
				snprintf(host, sizeof(host), "unknown");
			host[sizeof(host) - 1] = '\0';
			if (store_meta_set(st->db, "host", host, err, errlen) == -1 ||
			    store_meta_set(st->db, "created_by", PACKAGE_STRING, err, errlen) == -1)
				goto fail;
		} else {
			char key[32];

			snprintf(key, sizeof(key), "migrated_v%d", v);
			if (store_meta_set(st->db, key, buf, err, errlen) == -1)
				goto fail;
		}
	}
	if (store_exec_simple(st->db, "COMMIT", NULL, err, errlen) == -1)
		goto fail;
	st->schema_version = STORE_SCHEMA_VERSION;
	return 0;
fail:
	v = errno;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	errno = v;
	return -1;
}

const char *store_migration_sql(int version)
{
	if (version < 1 || version > STORE_SCHEMA_VERSION)
		return NULL;
	return migrations[version - 1];
}

static void store_opts_fill(struct store_opts *o, const struct store_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (o->raw_keep_ms == 0)
		o->raw_keep_ms = STORE_RAW_KEEP_MS;
	if (o->m1_keep_ms == 0)
		o->m1_keep_ms = STORE_1M_KEEP_MS;
	if (o->retention_ms == 0)
		o->retention_ms = STORE_RETENTION_MS;
	if (o->incident_retention_ms == 0)
		o->incident_retention_ms = STORE_INCIDENT_RETENTION_MS;
	if (o->busy_ms <= 0)
		o->busy_ms = STORE_BUSY_MS;
	if (o->open_busy_ms <= 0)
		o->open_busy_ms = STORE_OPEN_BUSY_MS;
	if (o->maintain_rows <= 0)
		o->maintain_rows = STORE_MAINTAIN_ROWS;
}

struct store *store_open(const char *path, unsigned flags, const struct store_opts *o,
			 char *err, size_t errlen)
{
	struct store *st;
	int rc, oflags, saved;

	st = calloc(1, sizeof(*st));
	if (!st) {
		store_seterr(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	store_opts_fill(&st->o, o);
	st->flags = flags;
	if (flags & STORE_RDONLY)
		oflags = SQLITE_OPEN_READONLY;
	else
		oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	/* One handle per thread of use; sqlite's own mutexes are not needed. */
	oflags |= SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(path, &st->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		store_seterr(err, errlen, "%s: %s", path,
			     st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		errno = store_rc_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, st->o.open_busy_ms);
	if (flags & STORE_RDONLY) {
		st->schema_version = store_read_version(st->db, err, errlen);
		if (st->schema_version == -1)
			goto fail;
		if (st->schema_version == 0) {
			store_seterr(err, errlen, "%s: empty database, not an incident store", path);
			errno = EINVAL;
			goto fail;
		}
		if (st->schema_version < STORE_SCHEMA_VERSION) {
			store_seterr(err, errlen,
				     "%s: schema version %d is older than %d: let proxysv open it"
				     " once to migrate it", path, st->schema_version,
				     STORE_SCHEMA_VERSION);
			errno = EPROTONOSUPPORT;
			goto fail;
		}
		if (store_exec_simple(st->db, "PRAGMA query_only = ON", NULL, err, errlen) == -1)
			goto fail;
	} else {
		/* journal_mode answers "memory" for ":memory:"; that is fine. */
		if (store_exec_simple(st->db, "PRAGMA journal_mode = WAL", NULL, err, errlen) == -1 ||
		    store_exec_simple(st->db, "PRAGMA synchronous = NORMAL", NULL, err, errlen) == -1 ||
		    store_exec_simple(st->db, "PRAGMA foreign_keys = ON", NULL, err, errlen) == -1 ||
		    store_exec_simple(st->db, "PRAGMA journal_size_limit = 67108864", NULL, err,
				      errlen) == -1)
			goto fail;
		if (store_migrate(st, err, errlen) == -1)
			goto fail;
	}
	sqlite3_busy_timeout(st->db, st->o.busy_ms);
	return st;
fail:
	saved = errno;
	store_close(st);
	errno = saved;
	return NULL;
}

void store_close(struct store *st)
{
	int i;

	if (!st)
		return;
	if (st->db && st->in_tick)
		store_rollback_now(st);
	for (i = 0; i < STORE_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

int store_tick_begin(struct store *st)
{
	sqlite3_stmt *s;
	int rc;

	if (st->flags & STORE_RDONLY) {
		errno = EROFS;
		return -1;
	}
	if (st->in_tick) {
		errno = EINVAL;
		return -1;
	}
	st->in_tick = 1;
	st->tick_dropped = 0;
	st->tick_writes = 0;
	s = store_stmt(st, ST_BEGIN);
	if (!s) {
		store_tick_drop(st, 0);
		return -1;
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_fail(st, rc, "begin tick");
		store_tick_drop(st, 0);
		errno = store_rc_errno(rc);
		return -1;
	}
	return 0;
}

int store_tick_commit(struct store *st)
{
	sqlite3_stmt *s;
	int rc;

	if (!st->in_tick) {
		errno = EINVAL;
		return -1;
	}
	if (st->tick_dropped) {
		st->in_tick = 0;
		errno = EAGAIN;
		return -1;
	}
	s = store_stmt(st, ST_COMMIT);
	if (!s) {
		store_tick_drop(st, 0);
		st->in_tick = 0;
		return -1;
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_fail(st, rc, "commit tick");
		store_tick_drop(st, 0);
		st->in_tick = 0;
		errno = store_rc_errno(rc);
		return -1;
	}
	st->in_tick = 0;
	st->ticks_committed++;
	st->writes_committed += st->tick_writes;
	st->tick_writes = 0;
	return 0;
}

void store_tick_rollback(struct store *st)
{
	if (!st->in_tick)
		return;
	store_rollback_now(st);
	st->in_tick = 0;
	st->tick_dropped = 0;
	st->tick_writes = 0;
}

int64_t store_incident_open(struct store *st, const struct store_incident_new *n)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (!n->kind || !n->severity || !n->subject) {
		errno = EINVAL;
		return -1;
	}
	if (!store_write_ok(st) || !(s = store_write_stmt(st, ST_INC_OPEN)))
		return -1;
	sqlite3_bind_text(s, 1, n->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, n->severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, n->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, n->t_ms);
	bind_real(s, 5, n->value);
	bind_int_or_null(s, 6, n->generation);
	bind_int_or_null(s, 7, n->pid);
	bind_int_or_null(s, 8, n->port);
	sqlite3_bind_text(s, 9, n->summary ? n->summary : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, n->evidence ? n->evidence : "{}", -1, SQLITE_STATIC);
	if (store_exec_write(st, s, "incident open", &id, NULL) == -1)
		return -1;
	return id;
}

int store_incident_update(struct store *st, int64_t id, int64_t t_ms, double value,
			  const char *severity, const char *summary, const char *evidence)
{
	sqlite3_stmt *s;
	int changes = 0;

	if (!store_write_ok(st) || !(s = store_write_stmt(st, ST_INC_UPDATE)))
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, t_ms);
	bind_real(s, 3, value);
	bind_text_or_null(s, 4, severity);
	bind_text_or_null(s, 5, summary);
	bind_text_or_null(s, 6, evidence);
	if (store_exec_write(st, s, "incident update", NULL, &changes) == -1)
		return -1;
	if (changes == 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int store_incident_resolve(struct store *st, int64_t id, int64_t t_ms)
{
	sqlite3_stmt *s;
	int changes = 0;

	if (!store_write_ok(st) || !(s = store_write_stmt(st, ST_INC_RESOLVE)))
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, t_ms);
	if (store_exec_write(st, s, "incident resolve", NULL, &changes) == -1)
		return -1;
	if (changes == 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int64_t store_action_add(struct store *st, int64_t incident_id, int64_t t_ms,
			 const char *action, const char *target, int dry_run,
			 const char *result, const char *error)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (!action || !result) {
		errno = EINVAL;
		return -1;
	}
	if (!store_write_ok(st) || !(s = store_write_stmt(st, ST_ACTION_ADD)))
		return -1;
	bind_int_or_null(s, 1, incident_id);
	sqlite3_bind_int64(s, 2, t_ms);
	sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, target ? target : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, dry_run ? 1 : 0);
	sqlite3_bind_text(s, 6, result, -1, SQLITE_STATIC);
	bind_text_or_null(s, 7, error);
	if (store_exec_write(st, s, "action add", &id, NULL) == -1)
		return -1;
	return id;
}

int store_generation_start(struct store *st, int64_t gen, int64_t pid, int64_t t_ms,
			   const char *config_sha256)
{
	sqlite3_stmt *s;

	if (!store_write_ok(st) || !(s = store_write_stmt(st, ST_GEN_START)))
		return -1;
	sqlite3_bind_int64(s, 1, gen);
	sqlite3_bind_int64(s, 2, pid);
	sqlite3_bind_int64(s, 3, t_ms);
	bind_text_or_null(s, 4, config_sha256);
	return store_exec_write(st, s, "generation start", NULL, NULL);
}

static int store_generation_set(struct store *st, int idx, const char *what, int64_t gen,
				int64_t pid, int64_t t_ms, const char *exit_status)
{
	sqlite3_stmt *s;
	int changes = 0;

	if (!store_write_ok(st) || !(s = store_write_stmt(st, idx)))
		return -1;
	sqlite3_bind_int64(s, 1, gen);
	sqlite3_bind_int64(s, 2, pid);
	sqlite3_bind_int64(s, 3, t_ms);
	if (idx == ST_GEN_EXIT)
		bind_text_or_null(s, 4, exit_status);
	if (store_exec_write(st, s, what, NULL, &changes) == -1)
		return -1;
	if (changes == 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int store_generation_ready(struct store *st, int64_t gen, int64_t pid, int64_t t_ms)
{
	return store_generation_set(st, ST_GEN_READY, "generation ready", gen, pid, t_ms, NULL);
}

int store_generation_drain(struct store *st, int64_t gen, int64_t pid, int64_t t_ms)
{
	return store_generation_set(st, ST_GEN_DRAIN, "generation drain", gen, pid, t_ms, NULL);
}

int store_generation_exit(struct store *st, int64_t gen, int64_t pid, int64_t t_ms,
			  const char *exit_status)
{
	return store_generation_set(st, ST_GEN_EXIT, "generation exit", gen, pid, t_ms,
				    exit_status);
}

int64_t store_generation_last(struct store *st)
{
	sqlite3_stmt *s = store_stmt(st, ST_GEN_LAST);
	int64_t last = -1;
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		last = sqlite3_column_int64(s, 0);
	else
		store_fail(st, rc, "generation last");
	sqlite3_reset(s);
	return last;
}

int store_sample_add(struct store *st, int64_t t_ms, const char *subject,
		     const char *metric, double value)
{
	sqlite3_stmt *s;

	if (!subject || !metric || !isfinite(value)) {
		errno = EINVAL;
		return -1;
	}
	if (!store_write_ok(st) || !(s = store_write_stmt(st, ST_SAMPLE_ADD)))
		return -1;
	sqlite3_bind_int64(s, 1, t_ms);
	sqlite3_bind_text(s, 2, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, metric, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 4, value);
	return store_exec_write(st, s, "sample add", NULL, NULL);
}

/* Oldest row of resolution res, 0 if none, -1 on error. */
static int64_t store_rollup_oldest(struct store *st, int64_t res)
{
	sqlite3_stmt *s = store_stmt(st, ST_ROLLUP_MIN);
	int64_t t = -1;
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, res);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		t = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 0);
	else
		store_fail(st, rc, "maintain");
	sqlite3_reset(s);
	return t;
}

/* Folds whole buckets of `to` older than cutoff from resolution `from`,
 * oldest first, until *budget rows are used. 1: more left, 0: done, -1. */
static int store_rollup(struct store *st, int64_t from, int64_t to, int64_t cutoff,
			int64_t *budget)
{
	while (*budget > 0) {
		sqlite3_stmt *s;
		int64_t lo, a, b;
		int changes = 0;

		lo = store_rollup_oldest(st, from);
		if (lo == -1)
			return -1;
		if (lo == 0)
			return 0;
		a = lo - lo % to;
		b = a + to;
		if (b > cutoff)
			return 0;
		if (!(s = store_write_stmt(st, ST_ROLLUP_INSERT)))
			return -1;
		sqlite3_bind_int64(s, 1, from);
		sqlite3_bind_int64(s, 2, to);
		sqlite3_bind_int64(s, 3, a);
		sqlite3_bind_int64(s, 4, b);
		if (store_exec_write(st, s, "maintain rollup", NULL, NULL) == -1)
			return -1;
		if (!(s = store_write_stmt(st, ST_ROLLUP_DELETE)))
			return -1;
		sqlite3_bind_int64(s, 1, from);
		sqlite3_bind_int64(s, 2, a);
		sqlite3_bind_int64(s, 3, b);
		if (store_exec_write(st, s, "maintain rollup", NULL, &changes) == -1)
			return -1;
		*budget -= changes > 0 ? changes : 1;
	}
	return 1;
}

/* Deletes up to *budget rows with stmt idx (?1.. bound by the caller's
 * values a, b; the limit last). 1: more may be left, 0: done, -1. */
static int store_retire(struct store *st, int idx, int nargs, int64_t a, int64_t b,
			int64_t *budget)
{
	sqlite3_stmt *s;
	int changes = 0;

	if (*budget <= 0)
		return 1;
	if (!(s = store_write_stmt(st, idx)))
		return -1;
	sqlite3_bind_int64(s, 1, a);
	if (nargs == 2) {
		sqlite3_bind_int64(s, 2, *budget);
	} else {
		sqlite3_bind_int64(s, 2, b);
		sqlite3_bind_int64(s, 3, *budget);
	}
	if (store_exec_write(st, s, "maintain retention", NULL, &changes) == -1)
		return -1;
	*budget -= changes;
	return *budget <= 0;
}

static int store_maintain_body(struct store *st, int64_t now)
{
	static const int64_t tiers[] = { STORE_RES_RAW, STORE_RES_1M, STORE_RES_10M };
	int64_t budget = st->o.maintain_rows;
	int more = 0, r;
	size_t i;

	if (st->o.retention_ms > 0) {
		for (i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++) {
			r = store_retire(st, ST_RET_SAMPLES, 3, tiers[i], now - st->o.retention_ms,
					 &budget);
			if (r == -1)
				return -1;
			more |= r;
		}
	}
	if (st->o.incident_retention_ms > 0) {
		int64_t cut = now - st->o.incident_retention_ms;

		r = store_retire(st, ST_RET_INCIDENTS, 2, cut, 0, &budget);
		if (r == -1)
			return -1;
		more |= r;
		if (budget > 0) {
			sqlite3_stmt *s = store_write_stmt(st, ST_RET_GENERATIONS);

			if (!s)
				return -1;
			sqlite3_bind_int64(s, 1, cut);
			if (store_exec_write(st, s, "maintain retention", NULL, NULL) == -1)
				return -1;
		}
	}
	r = store_rollup(st, STORE_RES_RAW, STORE_RES_1M, now - st->o.raw_keep_ms, &budget);
	if (r == -1)
		return -1;
	more |= r;
	r = store_rollup(st, STORE_RES_1M, STORE_RES_10M, now - st->o.m1_keep_ms, &budget);
	if (r == -1)
		return -1;
	return more | r;
}

int store_maintain(struct store *st, int64_t now_ms)
{
	int own, r;

	if (!store_write_ok(st))
		return -1;
	own = !st->in_tick;
	if (own && store_tick_begin(st) == -1) {
		st->in_tick = 0;
		return -1;
	}
	r = store_maintain_body(st, now_ms);
	if (own) {
		if (r == -1) {
			/* Rolls back and counts the maintenance pass as a dropped tick. */
			if (!st->tick_dropped)
				store_tick_drop(st, 0);
			st->in_tick = 0;
			return -1;
		}
		if (store_tick_commit(st) == -1)
			return -1;
		/* Outside the tick's path: the checkpoint is where WAL pages reach
		 * the database file (and the only fsync with synchronous=NORMAL). */
		sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	return r;
}

void store_status(const struct store *st, struct store_status *out)
{
	memset(out, 0, sizeof(*out));
	out->schema_version = st->schema_version;
	out->in_tick = st->in_tick;
	out->ticks_committed = st->ticks_committed;
	out->ticks_dropped = st->ticks_dropped;
	out->writes_committed = st->writes_committed;
	out->dropped_writes = st->dropped_writes;
	out->errors = st->errors;
	out->last_rc = st->last_rc;
	out->last_error_ms = st->last_error_ms;
	memcpy(out->last_error, st->last_error, sizeof(out->last_error));
}

void store_status_json(const struct store *st, struct json *j, const char *key)
{
	json_obj_open(j, key);
	json_int(j, "schema_version", st->schema_version);
	json_uint(j, "ticks_committed", st->ticks_committed);
	json_uint(j, "ticks_dropped", st->ticks_dropped);
	json_uint(j, "writes_committed", st->writes_committed);
	json_uint(j, "dropped_writes", st->dropped_writes);
	json_uint(j, "errors", st->errors);
	if (st->errors) {
		json_int(j, "last_error_ms", st->last_error_ms);
		json_str(j, "last_error", st->last_error);
	} else {
		json_null(j, "last_error_ms");
		json_null(j, "last_error");
	}
	json_obj_close(j);
}
