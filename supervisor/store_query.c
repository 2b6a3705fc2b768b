/* The incident store, read side: the queries behind `proxyctl incidents`,
 * `proxyctl incident ID`, `proxyctl samples`, proxytop, and the restart of
 * proxysv. Statements are built per call (readers are not on a hot path);
 * every value is bound, never pasted into the SQL. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/sbuf.h"
#include "supervisor/store.h"

#define INC_COLS "id, kind, severity, subject, opened_ms, updated_ms, resolved_ms," \
	" peak, last_value, generation, pid, port, summary, evidence, ticks"

#define SAMPLE_COLS "t_ms, subject, metric, value, coalesce(vmax, value)," \
	" coalesce(vmin, value), n, res_ms"

/* The JSON form of one incident row (aliased i), with its actions. Times
 * also as ISO-8601 UTC strings for people. */
#define ISO(col) "strftime('%Y-%m-%dT%H:%M:%fZ', " col " / 1000.0, 'unixepoch')"
#define INC_JSON \
	"json_object('id', i.id, 'kind', i.kind, 'severity', i.severity," \
	" 'subject', i.subject, 'opened_ms', i.opened_ms, 'opened', " ISO("i.opened_ms") "," \
	" 'updated_ms', i.updated_ms, 'resolved_ms', i.resolved_ms," \
	" 'resolved', " ISO("i.resolved_ms") ", 'open', json(iif(i.resolved_ms IS NULL, 'true', 'false'))," \
	" 'peak', i.peak, 'last_value', i.last_value, 'generation', i.generation," \
	" 'pid', i.pid, 'port', i.port, 'summary', i.summary, 'evidence', json(i.evidence)," \
	" 'ticks', i.ticks, 'actions', json((SELECT json_group_array(json_object(" \
	"   'id', a.id, 't_ms', a.t_ms, 't', " ISO("a.t_ms") ", 'action', a.action," \
	"   'target', a.target, 'dry_run', json(iif(a.dry_run, 'true', 'false'))," \
	"   'result', a.result, 'error', a.error))" \
	"  FROM (SELECT * FROM actions WHERE incident_id = i.id ORDER BY t_ms, id) AS a)))"

#define SAMPLE_JSON \
	"json_object('t_ms', s.t_ms, 't', " ISO("s.t_ms") ", 'subject', s.subject," \
	" 'metric', s.metric, 'value', s.value, 'max', coalesce(s.vmax, s.value)," \
	" 'min', coalesce(s.vmin, s.value), 'n', s.n, 'res_ms', s.res_ms)"

/* Samples related to incident i: its subject, its process, its port, its
 * generation (the subject convention of proxyd-incidents(5)). The time
 * range goes through samples_res_t, one range per resolution. */
#define AROUND_WHERE \
	" s.res_ms IN (0, 60000, 600000)" \
	" AND s.t_ms >= i.opened_ms - ?2" \
	" AND s.t_ms <= coalesce(i.resolved_ms, i.updated_ms) + ?2" \
	" AND (s.subject = i.subject" \
	"  OR (i.pid IS NOT NULL AND (s.subject = 'pid:' || i.pid" \
	"      OR s.subject GLOB 'pid:' || i.pid || ':*'))" \
	"  OR (i.port IS NOT NULL AND (s.subject = 'port:' || i.port" \
	"      OR s.subject GLOB '*:' || i.port))" \
	"  OR (i.generation IS NOT NULL AND s.subject = 'gen:' || i.generation))"

static int query_fail(struct store *st, int rc, const char *what)
{
	st->errors++;
	st->last_rc = rc;
	st->last_error_ms = (int64_t)clock_real_ms();
	snprintf(st->last_error, sizeof(st->last_error), "%s: %s", what, sqlite3_errmsg(st->db));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		errno = EAGAIN;
		break;
	case SQLITE_NOMEM:
		errno = ENOMEM;
		break;
	case SQLITE_ERROR:
	case SQLITE_RANGE:
		errno = EINVAL;
		break;
	default:
		errno = EIO;
		break;
	}
	return -1;
}

static sqlite3_stmt *query_prepare(struct store *st, const char *sql, const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		query_fail(st, rc, what);
		return NULL;
	}
	return s;
}

static int64_t col_i64(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, i);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static const char *col_text0(sqlite3_stmt *s, int i)
{
	const char *t = col_text(s, i);

	return t ? t : "";
}

static void row_incident(sqlite3_stmt *s, struct store_incident *inc)
{
	inc->id = sqlite3_column_int64(s, 0);
	inc->kind = col_text0(s, 1);
	inc->severity = col_text0(s, 2);
	inc->subject = col_text0(s, 3);
	inc->opened_ms = col_i64(s, 4);
	inc->updated_ms = col_i64(s, 5);
	inc->resolved_ms = col_i64(s, 6);
	inc->peak = sqlite3_column_double(s, 7);
	inc->last_value = sqlite3_column_double(s, 8);
	inc->generation = col_i64(s, 9);
	inc->pid = col_i64(s, 10);
	inc->port = (int)col_i64(s, 11);
	inc->summary = col_text0(s, 12);
	inc->evidence = col_text0(s, 13);
	inc->ticks = col_i64(s, 14);
}

static void row_sample(sqlite3_stmt *s, struct store_sample *smp)
{
	smp->t_ms = sqlite3_column_int64(s, 0);
	smp->subject = col_text0(s, 1);
	smp->metric = col_text0(s, 2);
	smp->value = sqlite3_column_double(s, 3);
	smp->vmax = sqlite3_column_double(s, 4);
	smp->vmin = sqlite3_column_double(s, 5);
	smp->n = sqlite3_column_int64(s, 6);
	smp->res_ms = sqlite3_column_int64(s, 7);
}

/* Appends the WHERE clause of an incident filter (on alias i);
 * bind its parameters with incident_filter_bind, in the same order. */
static void incident_filter_sql(struct sbuf *b, const struct store_incident_filter *f)
{
	size_t k;

	sb_puts(b, " WHERE 1");
	if (!f)
		return;
	if (f->since_ms) {
		if (f->active)
			sb_puts(b, " AND (i.resolved_ms IS NULL OR i.resolved_ms >= ?)");
		else
			sb_puts(b, " AND i.opened_ms >= ?");
	}
	if (f->until_ms)
		sb_puts(b, " AND i.opened_ms < ?");
	if (f->open_only)
		sb_puts(b, " AND i.resolved_ms IS NULL");
	if (f->nkinds) {
		sb_puts(b, " AND i.kind IN (");
		for (k = 0; k < f->nkinds; k++)
			sb_puts(b, k ? ", ?" : "?");
		sb_puts(b, ")");
	}
	if (f->subject)
		sb_puts(b, " AND i.subject = ?");
	if (f->min_id)
		sb_puts(b, " AND i.id >= ?");
}

static void incident_filter_bind(sqlite3_stmt *s, const struct store_incident_filter *f)
{
	int n = 1;
	size_t k;

	if (!f)
		return;
	if (f->since_ms)
		sqlite3_bind_int64(s, n++, f->since_ms);
	if (f->until_ms)
		sqlite3_bind_int64(s, n++, f->until_ms);
	for (k = 0; k < f->nkinds; k++)
		sqlite3_bind_text(s, n++, f->kinds[k], -1, SQLITE_STATIC);
	if (f->subject)
		sqlite3_bind_text(s, n++, f->subject, -1, SQLITE_STATIC);
	if (f->min_id)
		sqlite3_bind_int64(s, n++, f->min_id);
}

static void incident_filter_tail(struct sbuf *b, const struct store_incident_filter *f)
{
	sb_puts(b, " ORDER BY i.opened_ms, i.id");
	if (f && f->limit)
		sb_printf(b, " LIMIT %zu", f->limit);
}

/* Steps s, handing each row to each(s, cb, arg). Returns the row count or
 * -1. Finalizes s. */
static int query_run(struct store *st, sqlite3_stmt *s, const char *what,
		     int (*each)(sqlite3_stmt *, void *, void *), void *cb, void *arg)
{
	int rc, n = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		n++;
		if (each(s, cb, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return query_fail(st, rc, what);
	return n;
}

static int each_incident(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_incident inc;

	row_incident(s, &inc);
	return ((store_incident_cb *)cb)(&inc, arg);
}

static int each_sample(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_sample smp;

	row_sample(s, &smp);
	return ((store_sample_cb *)cb)(&smp, arg);
}

static int each_action(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_action a;

	a.id = sqlite3_column_int64(s, 0);
	a.incident_id = col_i64(s, 1);
	a.t_ms = sqlite3_column_int64(s, 2);
	a.action = col_text0(s, 3);
	a.target = col_text0(s, 4);
	a.dry_run = sqlite3_column_int(s, 5);
	a.result = col_text0(s, 6);
	a.error = col_text(s, 7);
	return ((store_action_cb *)cb)(&a, arg);
}

static int each_generation(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_generation g;

	g.id = sqlite3_column_int64(s, 0);
	g.gen = sqlite3_column_int64(s, 1);
	g.pid = sqlite3_column_int64(s, 2);
	g.started_ms = col_i64(s, 3);
	g.ready_ms = col_i64(s, 4);
	g.drain_ms = col_i64(s, 5);
	g.exit_ms = col_i64(s, 6);
	g.exit_status = col_text(s, 7);
	g.config_sha256 = col_text(s, 8);
	return ((store_generation_cb *)cb)(&g, arg);
}

static sqlite3_stmt *query_build(struct store *st, struct sbuf *b, const char *what)
{
	sqlite3_stmt *s;

	if (b->err) {
		sb_free(b);
		errno = ENOMEM;
		return NULL;
	}
	s = query_prepare(st, sb_cstr(b), what);
	sb_free(b);
	return s;
}

int store_incidents_query(struct store *st, const struct store_incident_filter *f,
			  store_incident_cb *cb, void *arg)
{
	struct sbuf b;
	sqlite3_stmt *s;

	sb_init(&b);
	sb_puts(&b, "SELECT " INC_COLS " FROM incidents AS i");
	incident_filter_sql(&b, f);
	incident_filter_tail(&b, f);
	if (!(s = query_build(st, &b, "incidents query")))
		return -1;
	incident_filter_bind(s, f);
	return query_run(st, s, "incidents query", each_incident, (void *)cb, arg);
}

int store_open_incidents(struct store *st, store_incident_cb *cb, void *arg)
{
	struct store_incident_filter f;

	memset(&f, 0, sizeof(f));
	f.open_only = 1;
	return store_incidents_query(st, &f, cb, arg);
}

int store_incident_get(struct store *st, int64_t id, store_incident_cb *cb, void *arg)
{
	sqlite3_stmt *s;

	s = query_prepare(st, "SELECT " INC_COLS " FROM incidents WHERE id = ?1", "incident get");
	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return query_run(st, s, "incident get", each_incident, (void *)cb, arg);
}

int store_actions_query(struct store *st, int64_t incident_id, store_action_cb *cb,
			void *arg)
{
	sqlite3_stmt *s;

	if (incident_id)
		s = query_prepare(st, "SELECT id, incident_id, t_ms, action, target, dry_run,"
				  " result, error FROM actions WHERE incident_id = ?1"
				  " ORDER BY t_ms, id", "actions query");
	else
		s = query_prepare(st, "SELECT id, incident_id, t_ms, action, target, dry_run,"
				  " result, error FROM actions ORDER BY t_ms, id", "actions query");
	if (!s)
		return -1;
	if (incident_id)
		sqlite3_bind_int64(s, 1, incident_id);
	return query_run(st, s, "actions query", each_action, (void *)cb, arg);
}

int store_generations_query(struct store *st, const struct store_generation_filter *f,
			    store_generation_cb *cb, void *arg)
{
	sqlite3_stmt *s;

	s = query_prepare(st, "SELECT id, gen, pid, started_ms, ready_ms, drain_ms, exit_ms,"
			  " exit_status, config_sha256 FROM generations"
			  " WHERE (?1 = 0 OR exit_ms IS NULL OR exit_ms >= ?1)"
			  " AND (?2 = 0 OR started_ms < ?2)"
			  " AND (?3 = 0 OR exit_ms IS NULL)"
			  " ORDER BY started_ms, id", "generations query");
	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, f ? f->since_ms : 0);
	sqlite3_bind_int64(s, 2, f ? f->until_ms : 0);
	sqlite3_bind_int(s, 3, f ? f->running_only : 0);
	return query_run(st, s, "generations query", each_generation, (void *)cb, arg);
}

int store_samples_query(struct store *st, const struct store_sample_filter *f,
			store_sample_cb *cb, void *arg)
{
	struct sbuf b;
	sqlite3_stmt *s;
	int n = 1;

	sb_init(&b);
	sb_puts(&b, "SELECT " SAMPLE_COLS " FROM samples WHERE 1");
	if (f && f->subject)
		sb_puts(&b, " AND subject = ?");
	if (f && f->metric)
		sb_puts(&b, " AND metric = ?");
	if (f && f->since_ms)
		sb_puts(&b, " AND t_ms >= ?");
	if (f && f->until_ms)
		sb_puts(&b, " AND t_ms < ?");
	sb_puts(&b, " ORDER BY t_ms, subject, metric");
	if (f && f->limit)
		sb_printf(&b, " LIMIT %zu", f->limit);
	if (!(s = query_build(st, &b, "samples query")))
		return -1;
	if (f && f->subject)
		sqlite3_bind_text(s, n++, f->subject, -1, SQLITE_STATIC);
	if (f && f->metric)
		sqlite3_bind_text(s, n++, f->metric, -1, SQLITE_STATIC);
	if (f && f->since_ms)
		sqlite3_bind_int64(s, n++, f->since_ms);
	if (f && f->until_ms)
		sqlite3_bind_int64(s, n++, f->until_ms);
	return query_run(st, s, "samples query", each_sample, (void *)cb, arg);
}

int store_incident_samples(struct store *st, int64_t id, int64_t margin_ms,
			   store_sample_cb *cb, void *arg)
{
	sqlite3_stmt *s;

	s = query_prepare(st, "SELECT s.t_ms, s.subject, s.metric, s.value,"
			  " coalesce(s.vmax, s.value), coalesce(s.vmin, s.value), s.n, s.res_ms"
			  " FROM incidents AS i, samples AS s WHERE i.id = ?1 AND" AROUND_WHERE
			  " ORDER BY s.t_ms, s.subject, s.metric", "incident samples");
	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, margin_ms > 0 ? margin_ms : STORE_AROUND_MS);
	return query_run(st, s, "incident samples", each_sample, (void *)cb, arg);
}

/* Appends the single text column of each row to out, comma-separated. */
static int each_json(sqlite3_stmt *s, void *out, void *count)
{
	struct sbuf *b = out;
	int *n = count;

	if ((*n)++)
		sb_putc(b, ',');
	sb_puts(b, col_text0(s, 0));
	return b->err ? -1 : 0;
}

int store_incidents_json(struct store *st, const struct store_incident_filter *f,
			 struct sbuf *out)
{
	struct sbuf b;
	sqlite3_stmt *s;
	int n = 0, r;

	sb_init(&b);
	sb_puts(&b, "SELECT " INC_JSON " FROM incidents AS i");
	incident_filter_sql(&b, f);
	incident_filter_tail(&b, f);
	if (!(s = query_build(st, &b, "incidents json")))
		return -1;
	incident_filter_bind(s, f);
	sb_putc(out, '[');
	r = query_run(st, s, "incidents json", each_json, out, &n);
	sb_putc(out, ']');
	if (r != -1 && out->err) {
		errno = ENOMEM;
		return -1;
	}
	return r;
}

int store_incident_json(struct store *st, int64_t id, int64_t margin_ms, struct sbuf *out)
{
	sqlite3_stmt *s;
	int n = 0, r;

	s = query_prepare(st, "SELECT json_set(" INC_JSON ", '$.samples', json(("
			  "  SELECT json_group_array(" SAMPLE_JSON ") FROM ("
			  "   SELECT s.* FROM samples AS s WHERE" AROUND_WHERE
			  "   ORDER BY s.t_ms, s.subject, s.metric) AS s)))"
			  " FROM incidents AS i WHERE i.id = ?1", "incident json");
	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, margin_ms > 0 ? margin_ms : STORE_AROUND_MS);
	r = query_run(st, s, "incident json", each_json, out, &n);
	if (r > 0 && out->err) {
		errno = ENOMEM;
		return -1;
	}
	return r;
}
