/* The parsed proxyd configuration: plain data, no behaviour.
 *
 * cfg_load() fills a struct cfg from an HAProxy-syntax file. `defaults`
 * sections are folded into each proxy that follows them, `default-server`
 * settings into each server, and the values HAProxy derives when a keyword
 * is absent (fullconn, frontend maxconn, bind backlog, server minconn) are
 * computed, so that the runtime reads final values. Where a lint or a message
 * must tell "unset" from "set to 0", a CFG_*_SET bit says which.
 *
 * Every object keeps the file and line it came from (struct cfg_loc) so that
 * later messages can point at the configuration. Strings are owned by the
 * struct cfg and freed by cfg_free(); loc.file points at cfg->path.
 *
 * Times are in milliseconds, 0 meaning "not set / no limit" unless stated.
 */
#ifndef PROXYD_CFG_T_H
#define PROXYD_CFG_T_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxyd/http-rules-t.h"

struct cfg_loc {
	const char *file;       /* cfg->path, or NULL for built-in defaults */
	int line;               /* 1-based; 0 when not from the file */
};

/* ---- diagnostics ------------------------------------------------------- */

enum cfg_sev {
	CFG_SEV_WARNING = 0,
	CFG_SEV_ERROR,
};

/* One message. text is "file:line: 'keyword': message" (without severity);
 * when there is no line (e.g. cannot open the file) it is "file: message". */
struct cfg_msg {
	enum cfg_sev sev;
	int line;
	char *text;
};

struct cfg_diag {
	struct cfg_msg *msgs;
	size_t nmsgs;
	size_t cap;
	unsigned errors;
	unsigned warnings;
	int nomem;              /* a message was lost to ENOMEM (errors still counted) */
};

/* ---- global section ---------------------------------------------------- */

enum cfg_stats_level {
	CFG_STATS_LEVEL_USER = 0,
	CFG_STATS_LEVEL_OPERATOR,
	CFG_STATS_LEVEL_ADMIN,
};

struct cfg_stats_socket {
	char *path;
	unsigned mode;          /* permission bits; 0600 when not given */
	enum cfg_stats_level level;     /* operator when not given (HAProxy's default) */
	struct cfg_loc loc;
};

enum cfg_log_kind {
	CFG_LOG_STDERR = 0,     /* `log stderr ...` */
	CFG_LOG_STDOUT,         /* `log stdout ...` */
	CFG_LOG_UNIX,           /* `log /dev/log local0`: syslog over a unix dgram socket */
	CFG_LOG_UDP,            /* `log 127.0.0.1:514 local0`: syslog over UDP (port 514 by default) */
};

struct cfg_log {
	enum cfg_log_kind kind;
	char *target;           /* as written: "stderr", "/dev/log", "127.0.0.1:514" */
	struct sockaddr_storage addr;   /* CFG_LOG_UDP (AF_INET/AF_INET6) or CFG_LOG_UNIX (AF_UNIX) */
	socklen_t addrlen;
	int facility;           /* 0..23 as syslog(3) numbers them (local0 = 16); -1 when not
				 * given (allowed for stderr/stdout only) */
	int level;              /* highest severity sent, 0 (emerg) .. 7 (debug); 7 when not given */
	int json;               /* `format json`: one JSON object per line (other formats: text) */
	struct cfg_loc loc;
};

/* Most event loops (`nbthread`) proxyd runs. */
#define CFG_MAX_THREADS 64

#define CFG_GLOBAL_SET_MAXCONN          0x01u
#define CFG_GLOBAL_SET_HARD_STOP_AFTER  0x02u
#define CFG_GLOBAL_SET_ULIMIT_N         0x04u
#define CFG_GLOBAL_SET_BUFSIZE          0x08u
#define CFG_GLOBAL_SET_MAXREWRITE       0x10u
#define CFG_GLOBAL_SET_MAXHDR           0x20u
#define CFG_GLOBAL_SET_NBTHREAD         0x40u

struct cfg_global {
	unsigned set;                   /* CFG_GLOBAL_SET_* */
	unsigned maxconn;               /* as written; 0 = not set */
	unsigned maxconn_eff;           /* in force: maxconn, else derived from the fd limit
					 * (cfg_global_maxconn_auto); see cfg_finalize_limits */
	unsigned hard_stop_after;       /* ms; 0 = not set (no limit) */
	unsigned ulimit_n;              /* 0 = not set */
	unsigned nbthread;              /* event loops; 0 = not set (one per CPU the process may use) */
	unsigned stats_timeout;         /* `stats timeout`, ms; 10000 when not set */
	unsigned bufsize;               /* tune.bufsize, bytes; 16384 when not set */
	unsigned maxrewrite;            /* tune.maxrewrite, bytes; 1024 when not set (and at
					 * most bufsize / 2, as HAProxy caps it) */
	unsigned maxhdr;                /* tune.http.maxhdr; 101 when not set */
	struct cfg_stats_socket *stats; /* `stats socket` lines, in order */
	size_t nstats;
	struct cfg_log *logs;
	size_t nlogs;
	char *user;                     /* NULL = not set */
	char *group;
	char *chroot;
	char *pidfile;
	/* `stats prometheus ADDR:PORT`: the metrics endpoint; prom_text is
	 * NULL when not configured. */
	char *prom_text;
	struct sockaddr_storage prom_addr;
	socklen_t prom_addrlen;
	struct cfg_loc prom_loc;
	struct cfg_loc loc;             /* the `global` line (line 0 when absent) */
	struct cfg_loc maxconn_loc;
	struct cfg_loc hard_stop_after_loc;
};

/* ---- proxies ----------------------------------------------------------- */

#define CFG_CAP_FE      0x1u    /* frontend: has binds, accepts */
#define CFG_CAP_BE      0x2u    /* backend: has servers */
#define CFG_CAP_DEF     0x4u    /* a `defaults` section (never in cfg->proxies) */

enum cfg_mode {
	CFG_MODE_TCP = 0,
	CFG_MODE_HTTP,
};

enum cfg_balance {
	CFG_BALANCE_ROUNDROBIN = 0,     /* default */
	CFG_BALANCE_LEASTCONN,
	CFG_BALANCE_SOURCE,
	CFG_BALANCE_FIRST,
};

/* Indexes into cfg_timeouts.ms[]; also the bit (1u << i) in cfg_timeouts.set. */
enum cfg_timeout {
	CFG_TO_CONNECT = 0,
	CFG_TO_CLIENT,
	CFG_TO_SERVER,
	CFG_TO_CLIENT_FIN,
	CFG_TO_SERVER_FIN,
	CFG_TO_TUNNEL,
	CFG_TO_QUEUE,
	CFG_TO_CHECK,
	CFG_TO_HTTP_REQUEST,    /* whole request head; unset: client applies */
	CFG_TO_HTTP_KEEP_ALIVE, /* idle between requests; unset: http-request applies */
	CFG_TO_COUNT,
};

/* Raw values as written. The value in force when one is unset (client-fin
 * falls back to client, queue to connect, ...) is cfg_timeout_get(). */
struct cfg_timeouts {
	unsigned set;                   /* bit (1u << enum cfg_timeout) */
	unsigned ms[CFG_TO_COUNT];      /* ms; 0 when unset or set to 0 (no timeout) */
	struct cfg_loc loc[CFG_TO_COUNT];
};

#define CFG_OPT_REDISPATCH      0x01u
#define CFG_OPT_TCPKA           0x02u
#define CFG_OPT_DONTLOGNULL     0x04u
#define CFG_OPT_TCPLOG          0x08u
#define CFG_OPT_HTTPLOG         0x10u   /* option httplog */
#define CFG_OPT_FORWARDFOR      0x20u   /* option forwardfor (see cfg_proxy.ff_*) */
#define CFG_OPT_HTTPCHK         0x40u   /* option httpchk (see cfg_proxy.chk_*) */
#define CFG_OPT_ABORTONCLOSE    0x80u   /* option abortonclose */

/* HTTP connection mode: option http-keep-alive (default) / http-server-close
 * / httpclose; the last one given wins within a proxy. Between a frontend
 * and its backend the strongest applies: close over server-close over
 * keep-alive (cfg_http_conn_mode). */
enum cfg_http_conn {
	CFG_HTTP_KAL = 0,       /* keep-alive on both sides */
	CFG_HTTP_SCL,           /* http-server-close: keep-alive with the client only */
	CFG_HTTP_CLO,           /* httpclose: one request per connection on both sides */
};

/* http-reuse; safe by default (HAProxy's). */
enum cfg_http_reuse {
	CFG_REUSE_SAFE = 0,
	CFG_REUSE_NEVER,
	CFG_REUSE_AGGRESSIVE,
	CFG_REUSE_ALWAYS,
};

/* http-check expect [!] status|rstatus PATTERN. status: a list of codes and
 * ranges, "200", "200-399", "200,301-302"; rstatus: a POSIX extended regex
 * on the three-digit status (checked with regcomp at load time). Unset:
 * any 2xx or 3xx passes (HAProxy's default). */
enum cfg_expect_kind {
	CFG_EXPECT_NONE = 0,
	CFG_EXPECT_STATUS,
	CFG_EXPECT_RSTATUS,
};

struct cfg_http_expect {
	enum cfg_expect_kind kind;
	int neg;                /* `!` given */
	char *pattern;
};

/* errorfile CODE PATH: the file's bytes, loaded and checked by cfg_load. */
struct cfg_errorfile {
	unsigned status;
	char *path;
	char *data;             /* a complete HTTP response */
	size_t len;
	struct cfg_loc loc;
};

/* capture request|response header NAME len N: logged in the httplog line. */
struct cfg_capture {
	char *name;
	unsigned len;           /* bytes kept of the value, 1..1024 */
};

#define CFG_CAPTURE_MAXLEN 1024

enum cfg_v6 {
	CFG_V6_DEFAULT = 0,     /* the system's net.ipv6.bindv6only */
	CFG_V6_V4V6,            /* IPV6_V6ONLY off */
	CFG_V6_V6ONLY,          /* IPV6_V6ONLY on */
};

/* One listening address. A bind line "A:1-3,B:5" gives four entries
 * (ranges are expanded), each keeping the element it came from. */
struct cfg_bind {
	struct sockaddr_storage addr;   /* AF_INET or AF_INET6, port set */
	socklen_t addrlen;
	char *text;             /* the element as written, e.g. "0.0.0.0:8000-8002" */
	char *name;             /* `name NAME`, or NULL */
	unsigned backlog;       /* final: `backlog` on the line, else the proxy's backlog */
	unsigned backlog_cfg;   /* as written on the bind line; 0 = not set */
	enum cfg_v6 v6;
	struct cfg_loc loc;
};

#define CFG_SRV_CHECK                   0x01u
#define CFG_SRV_BACKUP                  0x02u
#define CFG_SRV_DISABLED                0x04u
#define CFG_SRV_SHUTDOWN_ON_DOWN        0x08u   /* on-marked-down shutdown-sessions */
#define CFG_SRV_SHUTDOWN_BACKUP_ON_UP   0x10u   /* on-marked-up shutdown-backup-sessions */

/* Which settings were given (on the server line or by default-server). */
#define CFG_SRV_SET_MINCONN     0x01u
#define CFG_SRV_SET_MAXCONN     0x02u
#define CFG_SRV_SET_FASTINTER   0x04u
#define CFG_SRV_SET_DOWNINTER   0x08u

/* Defaults (HAProxy's): inter 2000 ms, fall 3, rise 2, weight 1, maxconn 0
 * (no limit), minconn = maxconn when unset, maxqueue 0 (no limit),
 * slowstart 0 (none). fastinter/downinter equal inter when unset. */
struct cfg_server {
	char *name;             /* NULL in a default-server template */
	char *addr_text;        /* "ADDR:PORT" as written */
	struct sockaddr_storage addr;   /* AF_INET or AF_INET6, port set */
	socklen_t addrlen;
	unsigned flags;         /* CFG_SRV_* */
	unsigned set;           /* CFG_SRV_SET_* */
	unsigned inter;         /* ms */
	unsigned fastinter;     /* ms */
	unsigned downinter;     /* ms */
	unsigned fall;
	unsigned rise;
	unsigned weight;        /* 0..256 */
	unsigned maxconn;       /* 0 = no limit */
	unsigned minconn;
	unsigned maxqueue;      /* 0 = no limit */
	unsigned slowstart;     /* ms; 0 = none */
	char *cookie;           /* cookie VALUE (persistence); NULL = none */
	struct cfg_loc loc;     /* the `server` line */
};

/* cookie NAME insert [options]: persistence by a cookie proxyd inserts. */
#define CFG_CK_INDIRECT         0x01u   /* no Set-Cookie to a client that has the right one;
					 * the cookie is removed from requests */
#define CFG_CK_NOCACHE          0x02u   /* Cache-Control: private with an inserted cookie */
#define CFG_CK_HTTPONLY         0x04u
#define CFG_CK_SECURE           0x08u
#define CFG_CK_PRESERVE         0x10u   /* a server's own cookie of that name is kept (and
					 * none inserted then) */

#define CFG_PX_SET_MAXCONN      0x01u
#define CFG_PX_SET_BACKLOG      0x02u
#define CFG_PX_SET_FULLCONN     0x04u
#define CFG_PX_SET_RETRIES      0x08u
#define CFG_PX_SET_BALANCE      0x10u
#define CFG_PX_SET_MODE         0x20u
#define CFG_PX_SET_HTTP_CONN    0x40u   /* an option choosing the HTTP connection mode */
#define CFG_PX_SET_HTTP_REUSE   0x80u

struct cfg_proxy {
	char *name;
	unsigned cap;           /* CFG_CAP_FE and/or CFG_CAP_BE */
	enum cfg_mode mode;
	unsigned set;           /* CFG_PX_SET_*: given here or by the defaults */

	/* frontend side */
	struct cfg_bind *binds;
	size_t nbinds;
	unsigned maxconn;       /* final: as set, else the global maxconn in force */
	unsigned backlog;       /* final: as set, else maxconn */
	char *default_backend;  /* NULL = none */
	int default_backend_idx;        /* index in cfg->proxies, -1 = none */
	struct cfg_loc default_backend_loc;

	/* backend side */
	enum cfg_balance balance;
	unsigned fullconn;      /* final: as set, else 10% (rounded up, at least 1) of the
				 * maxconn sum of the frontends routing here */
	unsigned retries;       /* default 3 */
	struct cfg_server defsrv;       /* default-server settings as folded */
	struct cfg_server *servers;
	size_t nservers;

	unsigned options;       /* CFG_OPT_* */
	struct cfg_timeouts to;
	int log_global;         /* `log global` given */
	struct cfg_log *logs;   /* proxy's own log targets */
	size_t nlogs;

	/* HTTP (meaningful in mode http; kept as written otherwise) */
	enum cfg_http_conn http_conn;
	enum cfg_http_reuse http_reuse;
	char *ff_header;        /* option forwardfor header; NULL = "X-Forwarded-For" */
	struct http_net ff_except;      /* `except NET`: family AF_UNSPEC when none */
	int ff_if_none;         /* `if-none`: add only when the request has none */
	char *monitor_uri;      /* monitor-uri: answered 200 by proxyd, not logged; NULL = none */
	/* stats enable | uri | realm | auth | refresh | hide-version: the HTTP
	 * statistics page (any of them enables it). */
	int st_enabled;
	char *st_uri;           /* URI prefix; NULL = "/haproxy?stats" */
	char *st_realm;         /* NULL = "HAProxy Statistics" */
	char **st_auth;         /* "user:password"; none = no authentication */
	size_t st_nauth;
	unsigned st_refresh;    /* ms; 0 = none */
	int st_hide_version;
	char *ck_name;          /* cookie NAME insert ...; NULL = no persistence cookie */
	unsigned ck_opts;       /* CFG_CK_* */
	char *ck_domain;        /* cookie ... domain D; NULL = none */
	char *chk_method;       /* option httpchk [METHOD] [URI] [VERSION]: "OPTIONS", "/", */
	char *chk_uri;          /* "HTTP/1.0" by default (HAProxy's); only set with */
	char *chk_version;      /* CFG_OPT_HTTPCHK */
	char *chk_hdrs;         /* http-check send hdr N V ...: "N: V\r\n" lines; NULL = none */
	struct cfg_http_expect chk_expect;
	struct cfg_errorfile *errorfiles;
	size_t nerrorfiles;
	struct cfg_capture *cap_req;    /* capture request header, in order */
	size_t ncap_req;
	struct cfg_capture *cap_res;    /* capture response header, in order */
	size_t ncap_res;
	struct http_rules rules;        /* acl, http-request, http-response, use_backend
					 * (not inherited from defaults, as in HAProxy) */

	struct cfg_loc loc;     /* the section line */
	struct cfg_loc maxconn_loc;
	struct cfg_loc fullconn_loc;
	struct cfg_loc mode_loc;
	struct cfg_loc http_conn_loc;
	struct cfg_loc http_reuse_loc;
};

/* ---- supervisor section (read by proxysv, ignored by proxyd) ----------- */

/* One line of a `supervisor` section, split into words and unquoted but not
 * interpreted: "drain-deadline 30s" gives key "drain-deadline", args {"30s"}. */
struct cfg_sup_entry {
	char *key;
	char **args;
	size_t nargs;
	struct cfg_loc loc;
};

/* ---- the whole file ---------------------------------------------------- */

struct cfg {
	char *path;             /* the file given to cfg_load */
	struct cfg_global global;
	struct cfg_proxy *proxies;      /* frontends, backends, listens, in file order */
	size_t nproxies;
	struct cfg_sup_entry *sup;      /* all `supervisor` sections, in file order */
	size_t nsup;
};

#endif
