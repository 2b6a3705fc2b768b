/* JSON session and event log lines: one object per line, stable keys,
 * ISO-8601 UTC timestamps with milliseconds. Selected per log target with
 * `log <target> format json ...`; the keys are documented in proxyd(8),
 * LOGGING. Pure formatting: no I/O, no session layer types. */
#ifndef PROXYD_PLOG_JSON_H
#define PROXYD_PLOG_JSON_H

#include <stdint.h>

#include "common/sbuf.h"

/* One session (tcplog) or one HTTP transaction (httplog), as plog.c reads
 * it from the session. Times in ms, -1 for a phase not reached; the
 * request_ms and response_ms phases and status/request exist for HTTP
 * only. */
struct plog_rec {
	int http;
	uint64_t ts_ms;                 /* accept (tcp) or request start (http), epoch ms */
	long pid;
	const char *client_ip;
	unsigned client_port;
	const char *frontend;
	const char *backend;
	const char *server;             /* NULL: none reached */
	long request_ms;                /* TR */
	long queue_ms;                  /* Tw */
	long connect_ms;                /* Tc */
	long response_ms;               /* Tr */
	long total_ms;                  /* Tt (tcp), Ta (http) */
	int status;                     /* -1: none sent */
	uint64_t bytes_read;
	const char *termination_state;
	unsigned actconn, feconn, beconn, srv_conn, retries;
	int redispatched;
	unsigned srv_queue, backend_queue;
	const char *request;            /* request line; NULL: none parsed */
};

/* Appends r as one JSON object (no newline) to out. */
void plog_json_record(struct sbuf *out, const struct plog_rec *r);

/* Appends an event line as one JSON object (no newline): ts, type
 * "event", severity, pid, then the line's key=value pairs (values may be
 * double-quoted with \" and \\ escapes) as members, digits-only values as
 * numbers. A pair whose key is ts, type, severity or pid is renamed
 * event_<key> unless it repeats the pid. Text that is not key=value ends
 * the pairs and goes, whole, to "msg". */
void plog_json_event(struct sbuf *out, uint64_t ts_ms, long pid, int severity, const char *line);

/* "emerg" ... "debug" for 0..7. */
const char *plog_severity_name(int severity);

#endif
