/* Session and event log lines, to stderr or to syslog servers.
 *
 * One line per session when it ends, in HAProxy's tcplog format:
 *
 *   127.0.0.1:41234 [21/Nov/2026:06:30:00.123] fe be/srv1 0/1/5007 212 -- 3/2/2/1/0 0/0
 *
 *   client_ip:port [accept_date] frontend backend/server Tw/Tc/Tt bytes_read
 *   termination_state actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue
 *
 * Tw: ms queued (-1 when the session ended before reaching a queue),
 * Tc: ms to connect including retries (-1 when never connected), Tt: ms
 * from accept to end; bytes_read: bytes from the server to the client;
 * retries is prefixed with '+' after a redispatch; server is <NOSRV> when
 * none was reached. With `option dontlognull`, a session in which the
 * client sent nothing is not logged (as HAProxy does).
 *
 * Targets follow the `log` keyword: a proxy logs to its own targets and,
 * with `log global`, to the global section's; a proxy with none logs no
 * sessions. `log stderr` writes the bare line to stderr; other targets get
 * RFC 3164 syslog datagrams ("<PRI>Mmm dd hh:mm:ss proxyd[pid]: line") over
 * UDP or a unix datagram socket such as /dev/log, sent without blocking and
 * dropped when the socket is full. Event lines (server state changes,
 * start, stop) go to the global targets, or through common/log when there
 * are none. */
#ifndef PROXYD_PLOG_H
#define PROXYD_PLOG_H

#include <stddef.h>

#include "proxyd/cfg-t.h"
#include "proxyd/proxy-t.h"
#include "proxyd/session-t.h"

/* syslog severities, as RFC 5424 numbers them. */
#define PLOG_EMERG   0
#define PLOG_ALERT   1
#define PLOG_CRIT    2
#define PLOG_ERR     3
#define PLOG_WARNING 4
#define PLOG_NOTICE  5
#define PLOG_INFO    6
#define PLOG_DEBUG   7

/* Opens the targets of c's global section and proxies (proxies in the same
 * order as proxy_build() made them). Call before chroot: /dev/log is
 * connected here. 0, -1 with a message in err. */
int plog_init(const struct cfg *c, char *err, size_t errlen);
void plog_free(void);

/* 1 if sessions of this frontend are logged anywhere. */
int plog_enabled(const struct proxy *fe);

/* Formats s's tcplog line (no newline) into buf; returns its length
 * (truncated to len - 1). now = loop_now() at the end of the session. */
size_t plog_format_session(const struct session *s, uint64_t now, unsigned actconn,
			   char *buf, size_t len);
/* Emits s's line to its frontend's targets (honouring dontlognull). */
void plog_session(const struct session *s);

/* HTTP: one line per transaction. With `option httplog`, HAProxy's httplog
 * format:
 *
 *   127.0.0.1:41234 [21/Nov/2026:06:30:00.123] fe be/srv1 0/0/1/2/3 200 612 - - ----
 *   1/1/0/0/0 0/0 "GET / HTTP/1.1"
 *
 *   client_ip:port [request_date] frontend backend/server TR/Tw/Tc/Tr/Ta status
 *   bytes_read captured_request_cookie captured_response_cookie termination_state
 *   actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue "request line"
 *
 * TR: ms to receive the request head (from its first byte, or from the
 * accept for the first request), Tw: queued, Tc: connect (0 over a reused
 * connection), Tr: server response time (request sent to response head),
 * Ta: from the request start to the end of the response; -1 for a phase
 * not reached. status is the one sent to the client (-1 if none), bytes
 * what was read from the server for it (or the error page's length). The
 * termination state has 4 characters (cookie states always "--"); the
 * request line is "<BADREQ>" when none was parsed. Without httplog the
 * tcplog format is used, one line per transaction too. */
size_t plog_format_http(const struct session *s, uint64_t now, unsigned actconn,
			char *buf, size_t len);
void plog_http(const struct session *s);

/* An event line at a syslog severity, to the global targets. */
void plog_event(int severity, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
