/* The incident store: types. The schema itself is a public interface,
 * documented in proxyd-incidents(5); these structs are its C view.
 *
 * Times are epoch milliseconds, UTC. In the structs below a column that is
 * NULL in the database reads as 0 (resolved_ms of an open incident,
 * generation/pid/port when unknown), because 0 is never a meaningful value
 * for any of them.
 *
 * A writer handle lives through ticks:
 *
 *   idle --tick_begin--> in tick --commit ok--> idle
 *                          |   \--write fails (busy, full, I/O)--> dropped
 *                          |                                         |
 *                          \---------- commit (-1) <-----------------/
 *
 * In a dropped tick every further write is refused at once (counted, no
 * database call), so a stuck disk costs the caller at most one busy timeout
 * per tick. */
#ifndef SUPERVISOR_STORE_T_H
#define SUPERVISOR_STORE_T_H

#include <stddef.h>
#include <stdint.h>

struct sqlite3;
struct sqlite3_stmt;

/* The schema version this code writes; see store_migration_sql(). */
#define STORE_SCHEMA_VERSION 2

/* Sample resolutions (samples.res_ms). */
#define STORE_RES_RAW 0
#define STORE_RES_1M 60000
#define STORE_RES_10M 600000

/* Defaults for struct store_opts (0 there means these). */
#define STORE_RAW_KEEP_MS (3600 * 1000LL)            /* raw samples: 1 hour */
#define STORE_1M_KEEP_MS (24 * 3600 * 1000LL)        /* 1-minute rows: 1 day */
#define STORE_RETENTION_MS (7 * 24 * 3600 * 1000LL)  /* any sample: 7 days */
#define STORE_INCIDENT_RETENTION_MS (90 * 24 * 3600 * 1000LL)
#define STORE_BUSY_MS 50          /* per tick: the tick must not wait long */
#define STORE_OPEN_BUSY_MS 2000   /* at open (migrations, WAL recovery) */
#define STORE_MAINTAIN_ROWS 20000 /* rows moved or deleted per store_maintain() */
#define STORE_AROUND_MS (5 * 60 * 1000LL)

/* store_open() flags. */
#define STORE_RDONLY 0x1   /* reader: SQLITE_OPEN_READONLY, no migration */

/* Zero fields take the defaults above. A negative retention keeps forever. */
struct store_opts {
	int64_t raw_keep_ms;
	int64_t m1_keep_ms;
	int64_t retention_ms;
	int64_t incident_retention_ms;
	int busy_ms;
	int open_busy_ms;
	int maintain_rows;
};

/* Kept for the life of the handle. Statements are prepared on first use. */
#define STORE_NSTMT 32
#define STORE_ERRLEN 256

struct store {
	struct sqlite3 *db;
	struct sqlite3_stmt *stmt[STORE_NSTMT];
	struct store_opts o;
	unsigned flags;
	int schema_version;        /* as found in the file (after migration) */
	uint8_t in_tick;
	uint8_t tick_dropped;
	uint32_t tick_writes;      /* writes done in the current tick */
	/* counters for `status` */
	uint64_t ticks_committed;
	uint64_t ticks_dropped;
	uint64_t writes_committed;
	uint64_t dropped_writes;   /* writes asked for that did not land */
	uint64_t errors;           /* failed database calls */
	int last_rc;               /* sqlite extended result code of the last error */
	int64_t last_error_ms;
	char last_error[STORE_ERRLEN];
};

struct store_status {
	int schema_version;
	uint8_t in_tick;
	uint64_t ticks_committed;
	uint64_t ticks_dropped;
	uint64_t writes_committed;
	uint64_t dropped_writes;
	uint64_t errors;
	int last_rc;
	int64_t last_error_ms;
	char last_error[STORE_ERRLEN];
};

/* A new incident. kind is one of detect_kind_name()'s strings, severity one
 * of detect_severity_name()'s; evidence is a JSON object (NULL: "{}"). */
struct store_incident_new {
	const char *kind;
	const char *severity;
	const char *subject;
	int64_t t_ms;
	double value;
	int64_t generation;   /* 0: none */
	int64_t pid;          /* 0: none */
	int port;             /* 0: none */
	const char *summary;
	const char *evidence;
};

/* One row of `incidents`. Strings are valid during the callback only. */
struct store_incident {
	int64_t id;
	const char *kind;
	const char *severity;
	const char *subject;
	int64_t opened_ms;
	int64_t updated_ms;
	int64_t resolved_ms;  /* 0 while open */
	double peak;
	double last_value;
	int64_t generation;
	int64_t pid;
	int port;
	const char *summary;
	const char *evidence;
	int64_t ticks;
};

struct store_action {
	int64_t id;
	int64_t incident_id;  /* 0: not tied to an incident */
	int64_t t_ms;
	const char *action;   /* observe, drain, kill, destroy, shutdown-sessions */
	const char *target;
	int dry_run;
	const char *result;   /* ok, failed, skipped, rate-limited */
	const char *error;    /* NULL when none */
};

struct store_generation {
	int64_t id;
	int64_t gen;
	int64_t pid;
	int64_t started_ms;
	int64_t ready_ms;     /* 0: never became ready */
	int64_t drain_ms;     /* 0: never drained */
	int64_t exit_ms;      /* 0: still running (or never seen to exit) */
	const char *exit_status;
	const char *config_sha256;
};

struct store_sample {
	int64_t t_ms;         /* raw: the tick; downsampled: bucket start */
	const char *subject;
	const char *metric;
	double value;         /* raw: the value; downsampled: the mean */
	double vmax;
	double vmin;
	int64_t n;            /* raw samples folded into this row */
	int64_t res_ms;       /* STORE_RES_RAW, STORE_RES_1M or STORE_RES_10M */
};

/* Query filters. 0 / NULL fields do not filter. */
struct store_incident_filter {
	int64_t since_ms;
	int64_t until_ms;
	uint8_t active;          /* 0: opened in [since, until); 1: open at any
	                          * time in [since, until) (overlap) */
	uint8_t open_only;       /* resolved_ms IS NULL */
	const char *const *kinds;
	size_t nkinds;
	const char *subject;
	int64_t min_id;          /* id >= min_id (paging) */
	size_t limit;
};

struct store_sample_filter {
	const char *subject;
	const char *metric;
	int64_t since_ms;
	int64_t until_ms;
	size_t limit;
};

struct store_generation_filter {
	int64_t since_ms;        /* still running at or after since */
	int64_t until_ms;        /* started before until */
	uint8_t running_only;    /* exit_ms IS NULL */
};

/* Callbacks return 0 to go on, non-zero to stop the query there. */
typedef int store_incident_cb(const struct store_incident *inc, void *arg);
typedef int store_action_cb(const struct store_action *act, void *arg);
typedef int store_generation_cb(const struct store_generation *g, void *arg);
typedef int store_sample_cb(const struct store_sample *s, void *arg);

#endif
