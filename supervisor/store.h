/* The incident store (sqlite3, WAL): one writer (proxysv, one transaction
 * per tick) and any number of read-only readers (proxyctl, proxytop) that
 * never block it. Library code: errors go to the caller's buffer or to the
 * handle's counters, never to a log.
 *
 * Return conventions: functions returning int give 0 (or a count) on
 * success and -1 with errno set on failure:
 *   EAGAIN  the database was busy/locked, or the tick had already been
 *           dropped (the write was not attempted)
 *   ENOSPC  the disk (or max_page_count) is full
 *   EIO     an I/O error or a corrupt file
 *   ENOENT  no such (open) incident / running generation
 *   EINVAL  a bad argument or a constraint (evidence not JSON...)
 *   EROFS   a write on a read-only handle
 *   ENOMEM
 * On a writer, every failure is counted (errors, dropped_writes) and
 * described in last_error; see store_status(). */
#ifndef SUPERVISOR_STORE_H
#define SUPERVISOR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/json.h"
#include "common/sbuf.h"
#include "supervisor/store-t.h"

/* Opens (creating if needed) the database at path (":memory:" works for a
 * writer). A writer sets WAL, synchronous=NORMAL, foreign_keys and the busy
 * timeouts, then applies the missing migrations in one transaction. A file
 * whose schema is newer than STORE_SCHEMA_VERSION is refused for writing;
 * a reader (STORE_RDONLY) may open it, and may not open an older one (it
 * needs migrating by a writer first). o may be NULL (defaults). */
struct store *store_open(const char *path, unsigned flags, const struct store_opts *o,
			 char *err, size_t errlen);
void store_close(struct store *st);

/* The tick's transaction (BEGIN IMMEDIATE ... COMMIT). If the lock cannot
 * be had within busy_ms, or any write in it fails with busy/full/I/O, the
 * tick is dropped: rolled back, counted, and the rest of its writes are
 * refused at once. store_tick_commit returns -1 for a dropped tick: every
 * write of that tick is void, including the ids store_incident_open
 * returned in it. The caller then treats the store as after a restart
 * (store_open_incidents) on its next tick. Nothing is retried here.
 * A tick whose store_tick_begin failed is open and dropped already: its
 * writes are refused and counted, and store_tick_commit ends it.
 * Writes outside a tick are each their own transaction. */
int store_tick_begin(struct store *st);
int store_tick_commit(struct store *st);
/* Abandons the tick on purpose (not counted as dropped). */
void store_tick_rollback(struct store *st);

/* Opens an incident and returns its id (> 0), or -1. At most one incident
 * per (kind, subject) is open: opening one that is open already updates
 * it (as store_incident_update would) and returns its id. */
int64_t store_incident_open(struct store *st, const struct store_incident_new *n);
/* Records one more tick of an open incident: last_value = value, peak =
 * max(peak, value), updated_ms = t, ticks + 1. severity, summary and
 * evidence replace the stored ones unless NULL. -1/ENOENT if id is not an
 * open incident. */
int store_incident_update(struct store *st, int64_t id, int64_t t_ms, double value,
			  const char *severity, const char *summary, const char *evidence);
/* Closes an open incident at t. -1/ENOENT if not open. */
int store_incident_resolve(struct store *st, int64_t id, int64_t t_ms);

/* incident_id 0: an action not tied to an incident. error may be NULL.
 * Returns the action's id or -1. */
int64_t store_action_add(struct store *st, int64_t incident_id, int64_t t_ms,
			 const char *action, const char *target, int dry_run,
			 const char *result, const char *error);

/* Generations are named by (gen, pid). sha256 / exit_status may be NULL.
 * ready/drain/exit apply to the newest row of that (gen, pid). */
int store_generation_start(struct store *st, int64_t gen, int64_t pid, int64_t t_ms,
			   const char *config_sha256);
int store_generation_ready(struct store *st, int64_t gen, int64_t pid, int64_t t_ms);
int store_generation_drain(struct store *st, int64_t gen, int64_t pid, int64_t t_ms);
int store_generation_exit(struct store *st, int64_t gen, int64_t pid, int64_t t_ms,
			  const char *exit_status);
/* The highest generation number recorded (0 if none), to go on numbering
 * after a restart. -1 on error. */
int64_t store_generation_last(struct store *st);

/* One raw sample. Subjects name what is measured; the naming convention
 * ("tcp:ADDR:PORT", "port:N", "pid:P", "gen:G") lets incident queries find
 * the samples related to an incident (proxyd-incidents(5)). */
int store_sample_add(struct store *st, int64_t t_ms, const char *subject,
		     const char *metric, double value);

/* Downsampling (raw -> 1 min after raw_keep_ms, 1 min -> 10 min after
 * m1_keep_ms) and retention (samples older than retention_ms, resolved
 * incidents and exited generations older than incident_retention_ms), at
 * most maintain_rows rows per call, then a passive WAL checkpoint when
 * outside a tick. Inside a tick it is part of the tick; outside it runs in
 * its own transaction. Returns 1 if work is left (call again soon), 0 if
 * done, -1 on error (as for writes). */
int store_maintain(struct store *st, int64_t now_ms);

void store_status(const struct store *st, struct store_status *out);
/* Writes the status as a JSON object member named key (NULL in arrays). */
void store_status_json(const struct store *st, struct json *j, const char *key);

/* Schema: STORE_SCHEMA_VERSION steps, step v (1-based) takes a version v-1
 * database to version v. NULL outside [1, STORE_SCHEMA_VERSION]. */
const char *store_migration_sql(int version);

/* Readers (any handle). Each returns the number of rows given to the
 * callback (a callback returning non-zero stops the query early) or -1. */
int store_incidents_query(struct store *st, const struct store_incident_filter *f,
			  store_incident_cb *cb, void *arg);
/* The incidents still open (restart: re-check each, then update or resolve). */
int store_open_incidents(struct store *st, store_incident_cb *cb, void *arg);
/* One incident; 1 if found, 0 if not, -1 on error. */
int store_incident_get(struct store *st, int64_t id, store_incident_cb *cb, void *arg);
int store_actions_query(struct store *st, int64_t incident_id, store_action_cb *cb,
			void *arg);
int store_generations_query(struct store *st, const struct store_generation_filter *f,
			    store_generation_cb *cb, void *arg);
int store_samples_query(struct store *st, const struct store_sample_filter *f,
			store_sample_cb *cb, void *arg);
/* The samples related to incident id (by subject, pid, port, generation)
 * in [opened - margin, (resolved or last update) + margin]; margin_ms 0
 * means STORE_AROUND_MS. Ordered by time. */
int store_incident_samples(struct store *st, int64_t id, int64_t margin_ms,
			   store_sample_cb *cb, void *arg);

/* JSON built by sqlite's JSON functions. The list is an array of incident
 * objects, each with its actions; one incident also carries the samples
 * around it. Appended to out. Return as the queries above (the list: its
 * length; one: 1 found, 0 not found, nothing appended). On -1, what was
 * appended is incomplete. */
int store_incidents_json(struct store *st, const struct store_incident_filter *f,
			 struct sbuf *out);
int store_incident_json(struct store *st, int64_t id, int64_t margin_ms, struct sbuf *out);

#endif
