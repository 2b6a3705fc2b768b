/* proxyd configuration: parser, checks, lint, and the limits HAProxy derives
 * from the configuration (dynamic maxconn, slowstart ramp).
 *
 * Library code: never logs, never exits. Messages go into a struct cfg_diag;
 * small helpers fill a caller-supplied (err, errlen) buffer.
 *
 * Typical use (what `proxyd -c -f FILE` does):
 *
 *	struct cfg c;
 *	struct cfg_diag d;
 *	int rc;
 *
 *	cfg_diag_init(&d);
 *	rc = cfg_load(path, &c, &d);
 *	if (rc == 0)
 *		cfg_lint(&c, &d);
 *	cfg_diag_print(&d, stderr);
 *	exit status: rc == 0 ? 0 : 1   (warnings do not change it)
 *	cfg_free(&c);
 *	cfg_diag_free(&d);
 */
#ifndef PROXYD_CFG_H
#define PROXYD_CFG_H

#include <stdint.h>
#include <stdio.h>

#include "proxyd/cfg-t.h"

/* ---- loading ----------------------------------------------------------- */

/* Parses the file at path into *out (which need not be initialised), then
 * runs the cross-checks (default_backend exists and is a backend, unique
 * names, frontends have binds, minconn <= maxconn, ...). Every error and
 * parser warning is appended to diag; parsing goes on after an error so that
 * one run reports them all. Returns 0 when no error was found, -1 otherwise;
 * on -1, *out is left empty. cfg_free(out) is safe after either. */
int cfg_load(const char *path, struct cfg *out, struct cfg_diag *diag);

/* Same, from memory; name is used as the file name in messages and locs. */
int cfg_load_mem(const char *name, const char *text, size_t len,
		 struct cfg *out, struct cfg_diag *diag);

/* The global maxconn HAProxy derives when none is set: from the fd limit
 * (ulimit-n if set, else the soft RLIMIT_NOFILE of the calling process),
 * (fds - 32) / 2, at least 1: two fds per proxied connection, 32 kept for
 * listeners, logs, checks and the stats socket. */
unsigned cfg_global_maxconn_auto(const struct cfg *c);

/* Fills what HAProxy derives from the global maxconn: global.maxconn_eff,
 * each frontend's maxconn when not set, each bind's backlog when not set
 * (the frontend's backlog, else its maxconn), and each backend's fullconn
 * when not set (10% of the sum of the maxconn of the frontends whose
 * default_backend it is, a listen without default_backend counting for
 * itself; rounded up, at least 1). cfg_load calls it with global.maxconn or
 * cfg_global_maxconn_auto(); the runtime calls it again if it settles on
 * another global limit (explicit settings are kept). */
void cfg_finalize_limits(struct cfg *c, unsigned global_maxconn);

void cfg_init(struct cfg *c);
void cfg_free(struct cfg *c);

/* Appends lint warnings (settings behind the field incidents) to diag.
 * Never adds errors. Intended for a configuration that cfg_load accepted. */
void cfg_lint(const struct cfg *c, struct cfg_diag *diag);

/* ---- diagnostics ------------------------------------------------------- */

void cfg_diag_init(struct cfg_diag *d);
void cfg_diag_free(struct cfg_diag *d);
/* Appends "file:line: 'kw': message" (or "file:line: message" when kw is
 * NULL, "file: message" when line is 0). */
void cfg_diag_add(struct cfg_diag *d, enum cfg_sev sev, const char *file, int line,
		  const char *kw, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* One line per message, "error: TEXT" or "warning: TEXT", in the order added. */
void cfg_diag_print(const struct cfg_diag *d, FILE *fp);

/* ---- value parsers (exported for the runtime and the stats socket) ----- */

/* A time: digits with an optional unit us, ms, s, m, h, d (no unit = ms).
 * Result in ms, microseconds rounded up. Values above 2147483647 ms (about
 * 24.8 days, the limit of HAProxy's timers) are an overflow. 0, -1. */
int cfg_parse_time(const char *s, unsigned *ms, char *err, size_t errlen);

/* A size: digits with an optional unit k, m, g (powers of 1024, case
 * insensitive). 0, -1 (bad syntax, bad unit, overflow of 64 bits). */
int cfg_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);

/* Flags for cfg_parse_addr. */
#define CFG_ADDR_BIND           0x1u    /* wildcard hosts allowed: "*:80", ":80", "[::]:80", ":::80" */
#define CFG_ADDR_RANGE          0x2u    /* "ADDR:P1-P2" allowed */
#define CFG_ADDR_PORT_OPTIONAL  0x4u    /* "ADDR" alone allowed: port 0 */

/* Parses "HOST:PORT" where HOST is a numeric IPv4 address, an IPv6 address
 * in brackets ("[::1]:80") or bare before the last colon (":::80"), or,
 * with CFG_ADDR_BIND only, "*" or empty (IPv4 any) and the unspecified
 * addresses. Hostnames are refused (no resolver). Port 1..65535. port_lo and port_hi receive the range (equal when
 * no range); ss holds port_lo. 0, -1. */
int cfg_parse_addr(const char *s, unsigned flags, struct sockaddr_storage *ss, socklen_t *len,
		   unsigned *port_lo, unsigned *port_hi, char *err, size_t errlen);

/* A time in ms as the largest unit that divides it: "1d", "90s", "1500ms". */
void cfg_format_time(unsigned ms, char *buf, size_t len);

/* "1.2.3.4:80", "[::1]:80", "unix:/path". Always NUL-terminates (len > 0). */
void cfg_addr_format(const struct sockaddr_storage *ss, char *buf, size_t len);

/* ---- lookups and names ------------------------------------------------- */

/* Index in c->proxies of the proxy with this name having all of cap's bits
 * (0 = any), or -1. */
int cfg_proxy_find(const struct cfg *c, const char *name, unsigned cap);

/* The first supervisor entry with this key, or NULL. */
const struct cfg_sup_entry *cfg_sup_get(const struct cfg *c, const char *key);

/* The timeout in force, in ms (0 = none), applying HAProxy's fallbacks:
 * client-fin -> client, server-fin -> server, queue -> connect,
 * tunnel -> none (client/server stay in force), check -> the server's inter
 * (returned as 0 here: the caller uses inter). */
unsigned cfg_timeout_get(const struct cfg_proxy *px, enum cfg_timeout t);

const char *cfg_timeout_name(enum cfg_timeout t);       /* "client-fin" */
const char *cfg_balance_name(enum cfg_balance b);       /* "roundrobin" */
const char *cfg_mode_name(enum cfg_mode m);             /* "tcp" */
const char *cfg_stats_level_name(enum cfg_stats_level l);       /* "admin" */

/* ---- HTTP -------------------------------------------------------------- */

/* The connection mode in force for a frontend and the backend it routes to
 * (be may equal fe): httpclose if either says so, else http-server-close if
 * either says so, else keep-alive. */
enum cfg_http_conn cfg_http_conn_mode(const struct cfg_proxy *fe, const struct cfg_proxy *be);
const char *cfg_http_conn_name(enum cfg_http_conn m);  /* "http-keep-alive" */
const char *cfg_http_reuse_name(enum cfg_http_reuse r); /* "safe" */

/* 1 when a health check response status passes `http-check expect` (e),
 * 0 otherwise. CFG_EXPECT_NONE: 2xx and 3xx pass. */
int cfg_http_expect_match(const struct cfg_http_expect *e, unsigned status);

/* The largest message head accepted: tune.bufsize - tune.maxrewrite. */
unsigned cfg_http_max_head(const struct cfg *c);

/* ---- limits derived from the configuration ----------------------------- */

/* HAProxy's dynamic server limit (srv_dynamic_maxconn without slowstart):
 *   maxconn == 0                -> 0 (no limit)
 *   beconn >= fullconn          -> maxconn
 *   minconn == maxconn          -> maxconn
 *   else max(minconn, beconn * maxconn / fullconn)
 * beconn is the backend's current number of connections. */
unsigned cfg_srv_dynmaxconn(unsigned minconn, unsigned maxconn, unsigned fullconn, unsigned beconn);

/* The slowstart ramp. elapsed_ms is the time since the server came UP; when
 * slowstart_ms is 0 or elapsed_ms >= slowstart_ms the value is unchanged.
 * Weight: grows linearly from about weight/slowstart, never 0 for a
 * non-zero weight. Limit: max(1, limit * pct / 100), pct the whole percent
 * of slowstart elapsed, as HAProxy applies it to the dynamic maxconn
 * (limit 0 = no limit stays 0). */
unsigned cfg_srv_slowstart_weight(unsigned weight, unsigned slowstart_ms, unsigned elapsed_ms);
unsigned cfg_srv_slowstart_maxconn(unsigned limit, unsigned slowstart_ms, unsigned elapsed_ms);

#endif
