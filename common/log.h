/* Logging: one line per event, key=value after a fixed prefix.
 *
 *   2026-11-21T06:30:00.123Z proxyd[4242] level=warn msg...
 *
 * log_warn appends ": <strerror(errno)>" as err="..."; fatal/fatalx log then exit(1).
 * Library code (probes/, the config parser) never logs: it fills an error buffer. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ident: program name; to_syslog: 1 to send to syslog(3) instead of stderr. */
void log_init(const char *ident, int to_syslog, enum log_level level);
void log_set_level(enum log_level level);
int log_get_level(void);

/* A sink receives every event line in place of stderr (or syslog), e.g. to
 * write it in another format. Contract:
 * - lvl is the line's level; only lines at or below the current level
 *   reach the sink.
 * - line is the event text that would follow "level=L " on stderr: the
 *   formatted message, with err="..." appended by log_warn and fatal; no
 *   timestamp, ident, pid, level or newline. line[len] is '\0'. A line is
 *   at most 2047 bytes (longer ones are truncated).
 * - It is called synchronously by the thread that logs, fatal and fatalx
 *   included (before exit), with errno restored afterwards: it must be
 *   safe in every thread that logs and must not call the log functions.
 * log_set_sink(NULL, NULL) restores the default output. Set or change it
 * while the process has a single thread. */
typedef void (*log_sink_fn)(enum log_level lvl, const char *line, size_t len, void *arg);
void log_set_sink(log_sink_fn fn, void *arg);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
