/* The configuration parser: HAProxy syntax, keyword tables, cross-checks.
 *
 * A line is cut into words (quotes, escapes and comments as HAProxy does);
 * a section keyword starts a section; any other first word is looked up in
 * the table of the current section kind (global or proxy), each entry
 * carrying the sections it is allowed in and its parse function. Parse
 * functions report through perr()/pwarn() and return -1 on error; the parser
 * then goes on with the next line so that one run reports every error. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/un.h>

#include "common/sbuf.h"
#include "proxyd/cfg.h"
#include "proxyd/http-rules.h"
#include "proxyd/httperr.h"

#define MAX_WORDS 64

enum section {
	SEC_NONE = 0,
	SEC_GLOBAL = 0x01,
	SEC_DEFAULTS = 0x02,
	SEC_FRONTEND = 0x04,
	SEC_BACKEND = 0x08,
	SEC_LISTEN = 0x10,
	SEC_SUPERVISOR = 0x20,
	SEC_SKIP = 0x40,        /* an unsupported section: its lines are skipped */
};

#define SEC_PX  (SEC_DEFAULTS | SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN)
#define SEC_FE  (SEC_DEFAULTS | SEC_FRONTEND | SEC_LISTEN)
#define SEC_BE  (SEC_DEFAULTS | SEC_BACKEND | SEC_LISTEN)

struct named_defaults {
	char *name;             /* "" for an anonymous defaults section */
	struct cfg_proxy px;
};

struct parser {
	struct cfg *c;
	struct cfg_diag *d;
	const char *file;
	int line;
	enum section sec;
	const char *sec_name;   /* "frontend", for messages */
	struct cfg_proxy *px;   /* current proxy or defaults; NULL elsewhere */
	struct named_defaults *defs;
	size_t ndefs;
	int cur_def;            /* index in defs of the defaults in force, -1 = built-in */
	int bind_failed;        /* the current proxy had a bad bind line */
	unsigned char *no_bind_check;   /* per proxy: skip "no bind" (a bind line failed) */
	size_t no_bind_len;
};

struct kw {
	const char *name;
	unsigned secs;          /* enum section bits where it is allowed */
	int neg_ok;             /* accepts a "no" prefix */
	int (*parse)(struct parser *p, char **args, int nargs, int neg);
};

/* ---- reporting --------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
perr(struct parser *p, const char *kw, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cfg_diag_add(p->d, CFG_SEV_ERROR, p->file, p->line, kw, "%s", buf);
}

static void __attribute__((format(printf, 3, 4)))
pwarn(struct parser *p, const char *kw, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, p->line, kw, "%s", buf);
}

static char *pstrdup(struct parser *p, const char *s)
{
	char *r = strdup(s);

	if (!r)
		perr(p, NULL, "out of memory");
	return r;
}

/* Appends one zeroed element to *arr (n elements of size sz); NULL on ENOMEM. */
static void *push(void *arr, size_t *n, size_t sz)
{
	void **a = arr;
	char *na = realloc(*a, (*n + 1) * sz);

	if (!na)
		return NULL;
	*a = na;
	memset(na + *n * sz, 0, sz);
	return na + (*n)++ * sz;
}

static void *ppush(struct parser *p, void *arr, size_t *n, size_t sz)
{
	void *e = push(arr, n, sz);

	if (!e)
		perr(p, NULL, "out of memory");
	return e;
}

static struct cfg_loc here(const struct parser *p)
{
	struct cfg_loc l = { p->file, p->line };

	return l;
}

/* ---- values ------------------------------------------------------------ */

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out,
		      char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9') {
		snprintf(err, errlen, "'%s': not a number", s);
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end) {
		snprintf(err, errlen, "'%s': not a number", s);
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		snprintf(err, errlen, "'%s': out of range %u..%u", s, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Parses args[i] as an unsigned; kw names the value in the message. */
static int arg_uint(struct parser *p, const char *kw, const char *s, unsigned min, unsigned max,
		    unsigned *out)
{
	char err[256];

	if (parse_uint(s, min, max, out, err, sizeof(err)) == -1) {
		perr(p, kw, "%s", err);
		return -1;
	}
	return 0;
}

static int arg_time(struct parser *p, const char *kw, const char *s, unsigned *out)
{
	char err[256];

	if (cfg_parse_time(s, out, err, sizeof(err)) == -1) {
		perr(p, kw, "%s", err);
		return -1;
	}
	return 0;
}

static int want_args(struct parser *p, char **args, int nargs, int n, const char *usage)
{
	if (nargs == n)
		return 0;
	perr(p, args[0], "%s (usage: %s)", nargs < n ? "missing argument" : "too many arguments",
	     usage);
	return -1;
}

/* ---- tokenizer --------------------------------------------------------- */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Cuts line[0..len) into words in b (NUL-separated); offs[] receives each
 * word's offset. Returns the number of words, or -1 after reporting. */
static int tokenize(struct parser *p, const char *line, size_t len, struct sbuf *b,
		    size_t *offs)
{
	size_t i = 0;
	int n = 0, in_word = 0, sq = 0, dq = 0;

	while (i < len) {
		char ch = line[i];

		if (sq) {
			if (ch == '\'')
				sq = 0;
			else
				sb_putc(b, ch);
			i++;
			continue;
		}
		if (ch == '\\') {
			char nx;
			int h1, h2;

			if (!in_word) {
				if (n == MAX_WORDS) {
					perr(p, NULL, "too many words on the line (at most %d)", MAX_WORDS);
					return -1;
				}
				offs[n++] = b->len;
			}
			if (i + 1 >= len) {
				perr(p, NULL, "backslash at end of line (line continuation is not supported)");
				return -1;
			}
			nx = line[i + 1];
			i += 2;
			switch (nx) {
			case ' ': case '\t': case '#': case '\\': case '\'': case '"': case '$':
				sb_putc(b, nx);
				break;
			case 'n':
				sb_putc(b, '\n');
				break;
			case 'r':
				sb_putc(b, '\r');
				break;
			case 't':
				sb_putc(b, '\t');
				break;
			case 'x':
				h1 = i < len ? hexval(line[i]) : -1;
				h2 = i + 1 < len ? hexval(line[i + 1]) : -1;
				if (h1 < 0 || h2 < 0) {
					perr(p, NULL, "invalid '\\x' escape (two hex digits expected)");
					return -1;
				}
				sb_putc(b, (char)(h1 * 16 + h2));
				i += 2;
				break;
			default:
				/* unknown escapes are kept as written, as HAProxy does */
				sb_putc(b, '\\');
				sb_putc(b, nx);
				break;
			}
			in_word = 1;
			continue;
		}
		if (dq) {
			if (ch == '"') {
				dq = 0;
				i++;
			} else if (ch == '$' && i + 1 < len &&
				   (line[i + 1] == '{' || line[i + 1] == '_' ||
				    (line[i + 1] >= 'A' && line[i + 1] <= 'Z') ||
				    (line[i + 1] >= 'a' && line[i + 1] <= 'z'))) {
				/* "$NAME" / "${NAME}": environment variables, in double quotes only */
				char name[256];
				size_t j = i + 1, k = 0;
				int brace = line[j] == '{';
				const char *val;

				if (brace)
					j++;
				while (j < len && k < sizeof(name) - 1 &&
				       (line[j] == '_' || (line[j] >= 'A' && line[j] <= 'Z') ||
					(line[j] >= 'a' && line[j] <= 'z') ||
					(line[j] >= '0' && line[j] <= '9')))
					name[k++] = line[j++];
				name[k] = '\0';
				if (brace) {
					if (j >= len || line[j] != '}' || !k) {
						perr(p, NULL, "invalid '${...}' variable reference");
						return -1;
					}
					j++;
				}
				val = getenv(name);
				if (val)
					sb_puts(b, val);
				i = j;
			} else {
				sb_putc(b, ch);
				i++;
			}
			continue;
		}
		if (ch == ' ' || ch == '\t') {
			if (in_word) {
				sb_putc(b, '\0');
				in_word = 0;
			}
			i++;
			continue;
		}
		if (ch == '#')
			break;
		if (!in_word) {
			if (n == MAX_WORDS) {
				perr(p, NULL, "too many words on the line (at most %d)", MAX_WORDS);
				return -1;
			}
			offs[n++] = b->len;
			in_word = 1;
		}
		if (ch == '\'')
			sq = 1;
		else if (ch == '"')
			dq = 1;
		else
			sb_putc(b, ch);
		i++;
	}
	if (sq || dq) {
		perr(p, NULL, "unterminated %s quote", sq ? "single" : "double");
		return -1;
	}
	if (in_word)
		sb_putc(b, '\0');
	if (b->err) {
		perr(p, NULL, "out of memory");
		return -1;
	}
	return n;
}

/* ---- defaults ---------------------------------------------------------- */

static void server_defaults(struct cfg_server *s)
{
	memset(s, 0, sizeof(*s));
	s->inter = 2000;
	s->fastinter = 2000;
	s->downinter = 2000;
	s->fall = 3;
	s->rise = 2;
	s->weight = 1;
}

static void proxy_defaults(struct cfg_proxy *px)
{
	memset(px, 0, sizeof(*px));
	px->mode = CFG_MODE_TCP;
	px->balance = CFG_BALANCE_ROUNDROBIN;
	px->retries = 3;
	px->default_backend_idx = -1;
	server_defaults(&px->defsrv);
}

static void log_free(struct cfg_log *l)
{
	free(l->target);
}

static void server_free(struct cfg_server *s)
{
	free(s->name);
	free(s->addr_text);
	free(s->cookie);
}

static void proxy_free(struct cfg_proxy *px)
{
	size_t i;

	free(px->name);
	for (i = 0; i < px->nbinds; i++) {
		free(px->binds[i].text);
		free(px->binds[i].name);
	}
	free(px->binds);
	free(px->default_backend);
	server_free(&px->defsrv);
	for (i = 0; i < px->nservers; i++)
		server_free(&px->servers[i]);
	free(px->servers);
	for (i = 0; i < px->nlogs; i++)
		log_free(&px->logs[i]);
	free(px->logs);
	free(px->ff_header);
	free(px->ck_name);
	free(px->ck_domain);
	for (i = 0; i < px->ncap_req; i++)
		free(px->cap_req[i].name);
	free(px->cap_req);
	for (i = 0; i < px->ncap_res; i++)
		free(px->cap_res[i].name);
	free(px->cap_res);
	free(px->monitor_uri);
	free(px->st_uri);
	free(px->st_realm);
	for (i = 0; i < px->st_nauth; i++)
		free(px->st_auth[i]);
	free(px->st_auth);
	free(px->chk_hdrs);
	free(px->chk_method);
	free(px->chk_uri);
	free(px->chk_version);
	free(px->chk_expect.pattern);
	for (i = 0; i < px->nerrorfiles; i++) {
		free(px->errorfiles[i].path);
		free(px->errorfiles[i].data);
	}
	free(px->errorfiles);
	http_rules_free(&px->rules);
	memset(px, 0, sizeof(*px));
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

/* The HTTP part of proxy_inherit: what a defaults section can hold (rules
 * cannot be in defaults). */
static int proxy_inherit_http(struct cfg_proxy *dst, const struct cfg_proxy *src)
{
	size_t i;

	dst->http_conn = src->http_conn;
	dst->http_conn_loc = src->http_conn_loc;
	dst->http_reuse = src->http_reuse;
	dst->http_reuse_loc = src->http_reuse_loc;
	dst->mode_loc = src->mode_loc;
	dst->ff_except = src->ff_except;
	dst->ff_if_none = src->ff_if_none;
	dst->ck_opts = src->ck_opts;
	dst->st_enabled = src->st_enabled;
	dst->st_refresh = src->st_refresh;
	dst->st_hide_version = src->st_hide_version;
	dst->chk_expect.kind = src->chk_expect.kind;
	dst->chk_expect.neg = src->chk_expect.neg;
	if (dup_opt(&dst->ff_header, src->ff_header) == -1 ||
	    dup_opt(&dst->ck_name, src->ck_name) == -1 ||
	    dup_opt(&dst->ck_domain, src->ck_domain) == -1 ||
	    dup_opt(&dst->st_uri, src->st_uri) == -1 ||
	    dup_opt(&dst->monitor_uri, src->monitor_uri) == -1 ||
	    dup_opt(&dst->st_realm, src->st_realm) == -1 ||
	    dup_opt(&dst->chk_method, src->chk_method) == -1 ||
	    dup_opt(&dst->chk_hdrs, src->chk_hdrs) == -1 ||
	    dup_opt(&dst->chk_uri, src->chk_uri) == -1 ||
	    dup_opt(&dst->chk_version, src->chk_version) == -1 ||
	    dup_opt(&dst->chk_expect.pattern, src->chk_expect.pattern) == -1)
		return -1;
	if (src->st_nauth) {
		dst->st_auth = calloc(src->st_nauth, sizeof(*dst->st_auth));
		if (!dst->st_auth)
			return -1;
		for (i = 0; i < src->st_nauth; i++) {
			dst->st_auth[i] = strdup(src->st_auth[i]);
			if (!dst->st_auth[i])
				return -1;
			dst->st_nauth = i + 1;
		}
	}
	if (src->nerrorfiles) {
		dst->errorfiles = calloc(src->nerrorfiles, sizeof(*dst->errorfiles));
		if (!dst->errorfiles)
			return -1;
		for (i = 0; i < src->nerrorfiles; i++) {
			const struct cfg_errorfile *e = &src->errorfiles[i];
			struct cfg_errorfile *d = &dst->errorfiles[i];

			*d = *e;
			d->path = strdup(e->path);
			d->data = malloc(e->len ? e->len : 1);
			dst->nerrorfiles = i + 1;
			if (!d->path || !d->data)
				return -1;
			memcpy(d->data, e->data, e->len);
		}
	}
	return 0;
}

/* Starts dst from the defaults src (deep copy of what a defaults section
 * can hold). dst is initialised first. 0, -1 on ENOMEM. */
static int proxy_inherit(struct cfg_proxy *dst, const struct cfg_proxy *src)
{
	size_t i;

	proxy_defaults(dst);
	if (!src)
		return 0;
	dst->mode = src->mode;
	dst->set = src->set;
	dst->maxconn = src->maxconn;
	dst->maxconn_loc = src->maxconn_loc;
	dst->backlog = src->backlog;
	dst->balance = src->balance;
	dst->fullconn = src->fullconn;
	dst->fullconn_loc = src->fullconn_loc;
	dst->retries = src->retries;
	dst->options = src->options;
	dst->to = src->to;
	dst->log_global = src->log_global;
	dst->defsrv = src->defsrv;
	dst->defsrv.name = NULL;
	dst->defsrv.addr_text = NULL;
	dst->defsrv.cookie = NULL;
	dst->default_backend_loc = src->default_backend_loc;
	if (src->default_backend) {
		dst->default_backend = strdup(src->default_backend);
		if (!dst->default_backend)
			return -1;
	}
	if (src->nlogs) {
		dst->logs = calloc(src->nlogs, sizeof(*dst->logs));
		if (!dst->logs)
			return -1;
		for (i = 0; i < src->nlogs; i++) {
			dst->logs[i] = src->logs[i];
			dst->logs[i].target = strdup(src->logs[i].target);
			if (!dst->logs[i].target) {
				dst->nlogs = i;
				return -1;
			}
		}
		dst->nlogs = src->nlogs;
	}
	return proxy_inherit_http(dst, src);
}

/* ---- log targets (global and proxies) ---------------------------------- */

static const char *const facility_names[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static int name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return (int)i;
	return -1;
}

/* log <target> [len N] [format F] <facility> [<level> [<minlevel>]]
 * The facility may be omitted for stderr/stdout. */
static int parse_log(struct parser *p, char **args, int nargs, struct cfg_log **logs, size_t *nlogs)
{
	static const char *const formats[] = {
		"iso", "json", "local", "priority", "raw", "rfc3164", "rfc5424", "short", "timed",
	};
	struct cfg_log l;
	const char *target;
	char err[256];
	unsigned lo, hi, len;
	int i = 2, v;

	memset(&l, 0, sizeof(l));
	l.facility = -1;
	l.level = 7;
	l.loc = here(p);
	if (nargs < 2) {
		perr(p, "log", "missing target (usage: log <target> [len N] [format F] <facility> [<level>])");
		return -1;
	}
	target = args[1];
	if (!strcmp(target, "stderr")) {
		l.kind = CFG_LOG_STDERR;
	} else if (!strcmp(target, "stdout")) {
		l.kind = CFG_LOG_STDOUT;
	} else if (target[0] == '/' || !strncmp(target, "unix@", 5)) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&l.addr;
		const char *path = target[0] == '/' ? target : target + 5;

		if (strlen(path) >= sizeof(sun->sun_path)) {
			perr(p, "log", "'%s': socket path too long", target);
			return -1;
		}
		l.kind = CFG_LOG_UNIX;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		l.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	} else {
		const char *a = target;

		if (!strncmp(a, "udp@", 4))
			a += 4;
		else if (!strncmp(a, "udp4@", 5) || !strncmp(a, "udp6@", 5))
			a += 5;
		if (cfg_parse_addr(a, CFG_ADDR_PORT_OPTIONAL, &l.addr, &l.addrlen, &lo, &hi, err,
				   sizeof(err)) == -1) {
			perr(p, "log", "%s", err);
			return -1;
		}
		if (!lo) {
			if (l.addr.ss_family == AF_INET)
				((struct sockaddr_in *)&l.addr)->sin_port = htons(514);
			else
				((struct sockaddr_in6 *)&l.addr)->sin6_port = htons(514);
		}
		l.kind = CFG_LOG_UDP;
	}

	while (i < nargs) {
		if (!strcmp(args[i], "len")) {
			if (i + 1 >= nargs) {
				perr(p, "log", "'len': missing value");
				return -1;
			}
			if (parse_uint(args[i + 1], 80, 65535, &len, err, sizeof(err)) == -1) {
				perr(p, "log", "len %s", err);
				return -1;
			}
			i += 2;
		} else if (!strcmp(args[i], "format")) {
			if (i + 1 >= nargs) {
				perr(p, "log", "'format': missing value");
				return -1;
			}
			if (name_index(formats, sizeof(formats) / sizeof(formats[0]), args[i + 1]) < 0) {
				perr(p, "log", "'%s': unknown format", args[i + 1]);
				return -1;
			}
			l.json = !strcmp(args[i + 1], "json");
			i += 2;
		} else {
			break;
		}
	}
	if (i < nargs) {
		v = name_index(facility_names, 24, args[i]);
		if (v < 0) {
			perr(p, "log", "'%s': unknown facility (kern ... local7)", args[i]);
			return -1;
		}
		l.facility = v;
		i++;
	} else if (l.kind == CFG_LOG_UNIX || l.kind == CFG_LOG_UDP) {
		perr(p, "log", "'%s': missing facility (e.g. local0)", target);
		return -1;
	}
	if (i < nargs) {
		v = name_index(level_names, 8, args[i]);
		if (v < 0) {
			perr(p, "log", "'%s': unknown level (emerg alert crit err warning notice info debug)",
			     args[i]);
			return -1;
		}
		l.level = v;
		i++;
	}
	if (i < nargs) {
		if (name_index(level_names, 8, args[i]) < 0) {
			perr(p, "log", "'%s': unknown minimum level", args[i]);
			return -1;
		}
		i++;
	}
	if (i < nargs) {
		perr(p, "log", "'%s': unexpected argument", args[i]);
		return -1;
	}
	l.target = pstrdup(p, target);
	if (!l.target)
		return -1;
	{
		struct cfg_log *e = ppush(p, logs, nlogs, sizeof(*e));

		if (!e) {
			free(l.target);
			return -1;
		}
		*e = l;
	}
	return 0;
}

/* ---- global keywords --------------------------------------------------- */

static int set_string(struct parser *p, char **args, int nargs, char **dst, const char *usage)
{
	char *s;

	if (want_args(p, args, nargs, 2, usage) == -1)
		return -1;
	s = pstrdup(p, args[1]);
	if (!s)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

static int g_chroot(struct parser *p, char **args, int nargs, int neg)
{
	return set_string(p, args, nargs, &p->c->global.chroot, "chroot <dir>");
}

static int g_daemon(struct parser *p, char **args, int nargs, int neg)
{
	pwarn(p, args[0], "ignored: proxyd runs in the foreground");
	return 0;
}

/* TLS defaults (Debian's stock haproxy.cfg has them): they only matter to
 * 'bind ... ssl' and 'server ... ssl', which are errors here. */
static int g_tls_default(struct parser *p, char **args, int nargs, int neg)
{
	pwarn(p, args[0], "ignored: proxyd has no TLS");
	return 0;
}

static int g_group(struct parser *p, char **args, int nargs, int neg)
{
	return set_string(p, args, nargs, &p->c->global.group, "group <name>");
}

static int g_hard_stop_after(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_global *g = &p->c->global;

	if (want_args(p, args, nargs, 2, "hard-stop-after <time>") == -1 ||
	    arg_time(p, args[0], args[1], &g->hard_stop_after) == -1)
		return -1;
	g->set |= CFG_GLOBAL_SET_HARD_STOP_AFTER;
	g->hard_stop_after_loc = here(p);
	return 0;
}

static int g_log(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_global *g = &p->c->global;

	if (nargs >= 2 && !strcmp(args[1], "global")) {
		perr(p, "log", "'log global' is only valid in proxies");
		return -1;
	}
	return parse_log(p, args, nargs, &g->logs, &g->nlogs);
}

static int g_maxconn(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_global *g = &p->c->global;

	if (want_args(p, args, nargs, 2, "maxconn <number>") == -1 ||
	    arg_uint(p, args[0], args[1], 1, INT_MAX, &g->maxconn) == -1)
		return -1;
	g->set |= CFG_GLOBAL_SET_MAXCONN;
	g->maxconn_loc = here(p);
	return 0;
}

static int g_pidfile(struct parser *p, char **args, int nargs, int neg)
{
	return set_string(p, args, nargs, &p->c->global.pidfile, "pidfile <path>");
}

/* stats prometheus <addr:port>: one metrics endpoint. */
static int g_stats_prometheus(struct parser *p, char **args, int nargs)
{
	struct cfg_global *g = &p->c->global;
	char err[256];
	unsigned lo, hi;

	if (nargs != 3) {
		perr(p, "stats prometheus", "%s (usage: stats prometheus <addr:port>)",
		     nargs < 3 ? "missing address" : "too many arguments");
		return -1;
	}
	if (g->prom_text) {
		perr(p, "stats prometheus", "given twice (first at line %d)", g->prom_loc.line);
		return -1;
	}
	if (cfg_parse_addr(args[2], CFG_ADDR_BIND, &g->prom_addr, &g->prom_addrlen, &lo, &hi,
			   err, sizeof(err)) == -1) {
		perr(p, "stats prometheus", "%s", err);
		return -1;
	}
	g->prom_text = pstrdup(p, args[2]);
	if (!g->prom_text)
		return -1;
	g->prom_loc = here(p);
	return 0;
}

/* stats socket <path> [mode M] [level L] [expose-fd listeners]
 * stats timeout <time>
 * stats prometheus <addr:port> */
static int g_stats(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_global *g = &p->c->global;
	struct cfg_stats_socket s, *e;
	int i;

	if (nargs >= 2 && !strcmp(args[1], "prometheus"))
		return g_stats_prometheus(p, args, nargs);

	if (nargs >= 2 && !strcmp(args[1], "timeout")) {
		if (nargs != 3) {
			perr(p, "stats timeout", "%s (usage: stats timeout <time>)",
			     nargs < 3 ? "missing argument" : "too many arguments");
			return -1;
		}
		return arg_time(p, "stats timeout", args[2], &g->stats_timeout);
	}
	if (nargs < 2 || strcmp(args[1], "socket")) {
		perr(p, "stats", "%s (stats socket <path> ..., stats timeout <time>)",
		     nargs < 2 ? "missing argument" : "unknown 'stats' keyword");
		return -1;
	}
	if (nargs < 3) {
		perr(p, "stats socket", "missing path");
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.mode = 0600;
	s.level = CFG_STATS_LEVEL_OPERATOR;
	s.loc = here(p);
	if (args[2][0] != '/' && strncmp(args[2], "unix@", 5)) {
		perr(p, "stats socket", "'%s': only unix socket paths are supported", args[2]);
		return -1;
	}
	if (strlen(args[2]) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		perr(p, "stats socket", "'%s': path too long", args[2]);
		return -1;
	}
	for (i = 3; i < nargs; i += 2) {
		const char *opt = args[i];

		if (i + 1 >= nargs) {
			perr(p, "stats socket", "'%s': missing value", opt);
			return -1;
		}
		if (!strcmp(opt, "mode")) {
			char *end;
			unsigned long m = strtoul(args[i + 1], &end, 8);

			if (!args[i + 1][0] || *end || m > 0777) {
				perr(p, "stats socket", "mode '%s': not an octal mode (e.g. 600)",
				     args[i + 1]);
				return -1;
			}
			s.mode = (unsigned)m;
		} else if (!strcmp(opt, "level")) {
			if (!strcmp(args[i + 1], "user"))
				s.level = CFG_STATS_LEVEL_USER;
			else if (!strcmp(args[i + 1], "operator"))
				s.level = CFG_STATS_LEVEL_OPERATOR;
			else if (!strcmp(args[i + 1], "admin"))
				s.level = CFG_STATS_LEVEL_ADMIN;
			else {
				perr(p, "stats socket", "level '%s': unknown level (user, operator, admin)",
				     args[i + 1]);
				return -1;
			}
		} else if (!strcmp(opt, "expose-fd")) {
			if (strcmp(args[i + 1], "listeners")) {
				perr(p, "stats socket", "expose-fd '%s': unknown value", args[i + 1]);
				return -1;
			}
			pwarn(p, "stats socket",
			      "'expose-fd listeners' ignored: proxysv passes the listeners to each generation");
		} else {
			perr(p, "stats socket", "'%s': unsupported option (mode, level)", opt);
			return -1;
		}
	}
	s.path = pstrdup(p, args[2][0] == '/' ? args[2] : args[2] + 5);
	if (!s.path)
		return -1;
	e = ppush(p, &g->stats, &g->nstats, sizeof(*e));
	if (!e) {
		free(s.path);
		return -1;
	}
	*e = s;
	return 0;
}

static int g_ulimit_n(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_global *g = &p->c->global;

	if (want_args(p, args, nargs, 2, "ulimit-n <number>") == -1 ||
	    arg_uint(p, args[0], args[1], 1, INT_MAX, &g->ulimit_n) == -1)
		return -1;
	g->set |= CFG_GLOBAL_SET_ULIMIT_N;
	return 0;
}

static int g_nbthread(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_global *g = &p->c->global;

	if (want_args(p, args, nargs, 2, "nbthread <number>") == -1 ||
	    arg_uint(p, args[0], args[1], 1, CFG_MAX_THREADS, &g->nbthread) == -1)
		return -1;
	g->set |= CFG_GLOBAL_SET_NBTHREAD;
	return 0;
}

static int g_tune_uint(struct parser *p, char **args, int nargs, unsigned min, unsigned max,
		       unsigned *dst, unsigned bit)
{
	char usage[128];

	snprintf(usage, sizeof(usage), "%s <number>", args[0]);
	if (want_args(p, args, nargs, 2, usage) == -1 ||
	    arg_uint(p, args[0], args[1], min, max, dst) == -1)
		return -1;
	p->c->global.set |= bit;
	return 0;
}

/* tune.bufsize: at least 1024 (room for a request line and a few headers);
 * at most 1 GB. */
static int g_tune_bufsize(struct parser *p, char **args, int nargs, int neg)
{
	return g_tune_uint(p, args, nargs, 1024, 1u << 30, &p->c->global.bufsize,
			   CFG_GLOBAL_SET_BUFSIZE);
}

static int g_tune_maxhdr(struct parser *p, char **args, int nargs, int neg)
{
	return g_tune_uint(p, args, nargs, 1, 32767, &p->c->global.maxhdr, CFG_GLOBAL_SET_MAXHDR);
}

static int g_tune_maxrewrite(struct parser *p, char **args, int nargs, int neg)
{
	return g_tune_uint(p, args, nargs, 0, 1u << 29, &p->c->global.maxrewrite,
			   CFG_GLOBAL_SET_MAXREWRITE);
}

static int g_user(struct parser *p, char **args, int nargs, int neg)
{
	return set_string(p, args, nargs, &p->c->global.user, "user <name>");
}

/* Sorted by name (bsearch). */
static const struct kw global_kws[] = {
	{ "ca-base", SEC_GLOBAL, 0, g_tls_default },
	{ "chroot", SEC_GLOBAL, 0, g_chroot },
	{ "crt-base", SEC_GLOBAL, 0, g_tls_default },
	{ "daemon", SEC_GLOBAL, 0, g_daemon },
	{ "group", SEC_GLOBAL, 0, g_group },
	{ "hard-stop-after", SEC_GLOBAL, 0, g_hard_stop_after },
	{ "log", SEC_GLOBAL, 0, g_log },
	{ "maxconn", SEC_GLOBAL, 0, g_maxconn },
	{ "nbthread", SEC_GLOBAL, 0, g_nbthread },
	{ "pidfile", SEC_GLOBAL, 0, g_pidfile },
	{ "ssl-default-bind-ciphers", SEC_GLOBAL, 0, g_tls_default },
	{ "ssl-default-bind-ciphersuites", SEC_GLOBAL, 0, g_tls_default },
	{ "ssl-default-bind-options", SEC_GLOBAL, 0, g_tls_default },
	{ "ssl-default-server-ciphers", SEC_GLOBAL, 0, g_tls_default },
	{ "ssl-default-server-ciphersuites", SEC_GLOBAL, 0, g_tls_default },
	{ "ssl-default-server-options", SEC_GLOBAL, 0, g_tls_default },
	{ "ssl-dh-param-file", SEC_GLOBAL, 0, g_tls_default },
	{ "ssl-server-verify", SEC_GLOBAL, 0, g_tls_default },
	{ "stats", SEC_GLOBAL, 0, g_stats },
	{ "tune.bufsize", SEC_GLOBAL, 0, g_tune_bufsize },
	{ "tune.http.maxhdr", SEC_GLOBAL, 0, g_tune_maxhdr },
	{ "tune.maxrewrite", SEC_GLOBAL, 0, g_tune_maxrewrite },
	{ "tune.ssl.default-dh-param", SEC_GLOBAL, 0, g_tls_default },
	{ "ulimit-n", SEC_GLOBAL, 0, g_ulimit_n },
	{ "user", SEC_GLOBAL, 0, g_user },
};

/* ---- server keywords (server and default-server) ----------------------- */

struct srv_kw {
	const char *name;
	int takes_arg;
	int (*parse)(struct parser *p, const char *kw, struct cfg_server *s, const char *arg);
};

static int s_backup(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	s->flags |= CFG_SRV_BACKUP;
	return 0;
}

static int s_check(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	s->flags |= CFG_SRV_CHECK;
	return 0;
}

static int s_disabled(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	s->flags |= CFG_SRV_DISABLED;
	return 0;
}

static int s_enabled(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	s->flags &= ~CFG_SRV_DISABLED;
	return 0;
}

static int s_no_backup(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	s->flags &= ~CFG_SRV_BACKUP;
	return 0;
}

static int s_no_check(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	s->flags &= ~CFG_SRV_CHECK;
	return 0;
}

static int srv_time(struct parser *p, const char *kw, const char *what, const char *arg,
		    unsigned min, unsigned *out)
{
	char err[256];
	unsigned v;

	if (cfg_parse_time(arg, &v, err, sizeof(err)) == -1) {
		perr(p, kw, "%s %s", what, err);
		return -1;
	}
	if (v < min) {
		perr(p, kw, "%s '%s': must be a positive delay", what, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int srv_uint(struct parser *p, const char *kw, const char *what, const char *arg,
		    unsigned min, unsigned max, unsigned *out)
{
	char err[256];

	if (parse_uint(arg, min, max, out, err, sizeof(err)) == -1) {
		perr(p, kw, "%s %s", what, err);
		return -1;
	}
	return 0;
}

static int s_downinter(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	if (srv_time(p, kw, "downinter", arg, 1, &s->downinter) == -1)
		return -1;
	s->set |= CFG_SRV_SET_DOWNINTER;
	return 0;
}

static int s_fall(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	return srv_uint(p, kw, "fall", arg, 1, INT_MAX, &s->fall);
}

static int s_fastinter(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	if (srv_time(p, kw, "fastinter", arg, 1, &s->fastinter) == -1)
		return -1;
	s->set |= CFG_SRV_SET_FASTINTER;
	return 0;
}

static int s_inter(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	if (srv_time(p, kw, "inter", arg, 1, &s->inter) == -1)
		return -1;
	if (!(s->set & CFG_SRV_SET_FASTINTER))
		s->fastinter = s->inter;
	if (!(s->set & CFG_SRV_SET_DOWNINTER))
		s->downinter = s->inter;
	return 0;
}

static int s_maxconn(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	if (srv_uint(p, kw, "maxconn", arg, 0, INT_MAX, &s->maxconn) == -1)
		return -1;
	s->set |= CFG_SRV_SET_MAXCONN;
	return 0;
}

static int s_maxqueue(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	return srv_uint(p, kw, "maxqueue", arg, 0, INT_MAX, &s->maxqueue);
}

static int s_minconn(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	if (srv_uint(p, kw, "minconn", arg, 0, INT_MAX, &s->minconn) == -1)
		return -1;
	s->set |= CFG_SRV_SET_MINCONN;
	return 0;
}

static int s_on_marked_down(struct parser *p, const char *kw, struct cfg_server *s,
			    const char *arg)
{
	if (strcmp(arg, "shutdown-sessions")) {
		perr(p, kw, "on-marked-down '%s': unknown action (shutdown-sessions)", arg);
		return -1;
	}
	s->flags |= CFG_SRV_SHUTDOWN_ON_DOWN;
	return 0;
}

static int s_on_marked_up(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	if (strcmp(arg, "shutdown-backup-sessions")) {
		perr(p, kw, "on-marked-up '%s': unknown action (shutdown-backup-sessions)", arg);
		return -1;
	}
	s->flags |= CFG_SRV_SHUTDOWN_BACKUP_ON_UP;
	return 0;
}

static int s_rise(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	return srv_uint(p, kw, "rise", arg, 1, INT_MAX, &s->rise);
}

static int s_slowstart(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	return srv_time(p, kw, "slowstart", arg, 0, &s->slowstart);
}

static int s_weight(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	return srv_uint(p, kw, "weight", arg, 0, 256, &s->weight);
}

static int s_cookie(struct parser *p, const char *kw, struct cfg_server *s, const char *arg)
{
	const char *c;

	if (!strcmp(kw, "default-server")) {
		perr(p, kw, "'cookie': a value for one server, not for default-server");
		return -1;
	}
	for (c = arg; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr(";,\"\\", *c)) {
			perr(p, kw, "cookie '%s': not a valid cookie value", arg);
			return -1;
		}
	free(s->cookie);
	s->cookie = pstrdup(p, arg);
	return s->cookie ? 0 : -1;
}

/* Sorted by name (bsearch). */
static const struct srv_kw srv_kws[] = {
	{ "backup", 0, s_backup },
	{ "check", 0, s_check },
	{ "cookie", 1, s_cookie },
	{ "disabled", 0, s_disabled },
	{ "downinter", 1, s_downinter },
	{ "enabled", 0, s_enabled },
	{ "fall", 1, s_fall },
	{ "fastinter", 1, s_fastinter },
	{ "inter", 1, s_inter },
	{ "maxconn", 1, s_maxconn },
	{ "maxqueue", 1, s_maxqueue },
	{ "minconn", 1, s_minconn },
	{ "no-backup", 0, s_no_backup },
	{ "no-check", 0, s_no_check },
	{ "on-marked-down", 1, s_on_marked_down },
	{ "on-marked-up", 1, s_on_marked_up },
	{ "rise", 1, s_rise },
	{ "slowstart", 1, s_slowstart },
	{ "weight", 1, s_weight },
};

static int srv_kw_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct srv_kw *)elt)->name);
}

/* Applies server options args[0..nargs) to s; reports each bad one and goes
 * on with the next. Returns -1 if any was bad. */
static int parse_srv_opts(struct parser *p, const char *kw, struct cfg_server *s, char **args,
			  int nargs)
{
	int i = 0, rc = 0;

	while (i < nargs) {
		const struct srv_kw *k = bsearch(args[i], srv_kws, sizeof(srv_kws) / sizeof(srv_kws[0]),
						 sizeof(srv_kws[0]), srv_kw_cmp);

		if (!k) {
			perr(p, kw, "'%s': unknown or unsupported server option", args[i]);
			return -1;
		}
		if (k->takes_arg && i + 1 >= nargs) {
			perr(p, kw, "%s: missing value", args[i]);
			return -1;
		}
		if (k->parse(p, kw, s, k->takes_arg ? args[i + 1] : NULL) == -1)
			rc = -1;
		i += k->takes_arg ? 2 : 1;
	}
	return rc;
}

/* ---- proxy keywords ---------------------------------------------------- */

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.' || *s == ':'))
			return 0;
	return 1;
}

/* An HTTP token (RFC 9110): a header name, a cookie name. */
static int valid_http_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr("()<>@,;:\\\"/[]?={}", *s))
			return 0;
	return 1;
}

static int px_backlog(struct parser *p, char **args, int nargs, int neg)
{
	if (want_args(p, args, nargs, 2, "backlog <conns>") == -1 ||
	    arg_uint(p, args[0], args[1], 0, INT_MAX, &p->px->backlog) == -1)
		return -1;
	if (p->px->backlog)
		p->px->set |= CFG_PX_SET_BACKLOG;
	else
		p->px->set &= ~CFG_PX_SET_BACKLOG;
	return 0;
}

static int px_balance(struct parser *p, char **args, int nargs, int neg)
{
	static const char *const unsupported[] = {
		"hash", "hdr", "random", "rdp-cookie", "static-rr", "uri", "url_param",
	};
	struct cfg_proxy *px = p->px;
	const char *a;
	size_t i;

	if (nargs < 2) {
		perr(p, args[0], "missing argument (usage: balance roundrobin|leastconn|source|first)");
		return -1;
	}
	a = args[1];
	if (!strcmp(a, "roundrobin"))
		px->balance = CFG_BALANCE_ROUNDROBIN;
	else if (!strcmp(a, "leastconn"))
		px->balance = CFG_BALANCE_LEASTCONN;
	else if (!strcmp(a, "source"))
		px->balance = CFG_BALANCE_SOURCE;
	else if (!strcmp(a, "first"))
		px->balance = CFG_BALANCE_FIRST;
	else {
		for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
			if (!strncmp(a, unsupported[i], strlen(unsupported[i])))
				break;
		perr(p, args[0], "'%s': %s algorithm (roundrobin, leastconn, source, first)", a,
		     i < sizeof(unsupported) / sizeof(unsupported[0]) ? "unsupported" : "unknown");
		return -1;
	}
	if (nargs > 2) {
		perr(p, args[0], "'%s': unexpected argument", args[2]);
		return -1;
	}
	px->set |= CFG_PX_SET_BALANCE;
	return 0;
}

static int px_bind(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;
	unsigned backlog = 0;
	enum cfg_v6 v6 = CFG_V6_DEFAULT;
	const char *name = NULL;
	char *list, *tok, *save = NULL;
	int i, ntok = 0, rc = 0;

	if (nargs < 2) {
		perr(p, args[0], "missing address (usage: bind <addr>:<port>[,...] [options])");
		p->bind_failed = 1;
		return -1;
	}
	p->bind_failed = 1;     /* until the line is accepted */
	for (i = 2; i < nargs; i++) {
		if (!strcmp(args[i], "v4v6")) {
			v6 = CFG_V6_V4V6;
		} else if (!strcmp(args[i], "v6only")) {
			v6 = CFG_V6_V6ONLY;
		} else if (!strcmp(args[i], "backlog") || !strcmp(args[i], "name")) {
			if (i + 1 >= nargs) {
				perr(p, args[0], "%s: missing value", args[i]);
				return -1;
			}
			if (args[i][0] == 'b') {
				char err[256];

				if (parse_uint(args[i + 1], 1, INT_MAX, &backlog, err, sizeof(err)) == -1) {
					perr(p, args[0], "backlog %s", err);
					return -1;
				}
			} else {
				name = args[i + 1];
			}
			i++;
		} else {
			perr(p, args[0], "'%s': unknown or unsupported bind option", args[i]);
			return -1;
		}
	}

	list = pstrdup(p, args[1]);
	if (!list)
		return -1;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct sockaddr_storage ss;
		socklen_t len;
		unsigned lo, hi, port;
		char err[256];

		ntok++;
		if (cfg_parse_addr(tok, CFG_ADDR_BIND | CFG_ADDR_RANGE, &ss, &len, &lo, &hi, err,
				   sizeof(err)) == -1) {
			perr(p, args[0], "%s", err);
			rc = -1;
			continue;
		}
		for (port = lo; port <= hi; port++) {
			struct cfg_bind *b = ppush(p, &px->binds, &px->nbinds, sizeof(*b));

			if (!b) {
				rc = -1;
				goto out;
			}
			b->addr = ss;
			b->addrlen = len;
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&b->addr)->sin_port = htons((uint16_t)port);
			else
				((struct sockaddr_in6 *)&b->addr)->sin6_port = htons((uint16_t)port);
			b->backlog_cfg = backlog;
			b->v6 = v6;
			b->loc = here(p);
			b->text = pstrdup(p, tok);
			b->name = name ? pstrdup(p, name) : NULL;
			if (!b->text || (name && !b->name)) {
				rc = -1;
				goto out;
			}
		}
	}
	if (!ntok) {
		perr(p, args[0], "missing address");
		rc = -1;
	}
	if (rc == 0)
		p->bind_failed = 0;
out:
	free(list);
	return rc;
}

static int px_default_backend(struct parser *p, char **args, int nargs, int neg)
{
	char *s;

	if (want_args(p, args, nargs, 2, "default_backend <backend>") == -1)
		return -1;
	s = pstrdup(p, args[1]);
	if (!s)
		return -1;
	free(p->px->default_backend);
	p->px->default_backend = s;
	p->px->default_backend_loc = here(p);
	return 0;
}

static int px_default_server(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_server tmp = p->px->defsrv;

	/* all or nothing: a bad option leaves the previous defaults in force */
	if (parse_srv_opts(p, args[0], &tmp, args + 1, nargs - 1) == -1)
		return -1;
	tmp.loc = here(p);
	p->px->defsrv = tmp;
	return 0;
}

static int px_fullconn(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;

	if (want_args(p, args, nargs, 2, "fullconn <conns>") == -1 ||
	    arg_uint(p, args[0], args[1], 0, INT_MAX, &px->fullconn) == -1)
		return -1;
	if (px->fullconn)
		px->set |= CFG_PX_SET_FULLCONN;
	else
		px->set &= ~CFG_PX_SET_FULLCONN;
	px->fullconn_loc = here(p);
	return 0;
}

static int px_log(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;
	size_t i;

	if (neg) {
		if (nargs != 1) {
			perr(p, "no log", "too many arguments");
			return -1;
		}
		px->log_global = 0;
		for (i = 0; i < px->nlogs; i++)
			log_free(&px->logs[i]);
		free(px->logs);
		px->logs = NULL;
		px->nlogs = 0;
		return 0;
	}
	if (nargs >= 2 && !strcmp(args[1], "global")) {
		if (nargs != 2) {
			perr(p, "log global", "too many arguments");
			return -1;
		}
		px->log_global = 1;
		return 0;
	}
	return parse_log(p, args, nargs, &px->logs, &px->nlogs);
}

static int px_maxconn(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;

	if (want_args(p, args, nargs, 2, "maxconn <conns>") == -1 ||
	    arg_uint(p, args[0], args[1], 0, INT_MAX, &px->maxconn) == -1)
		return -1;
	/* 0 means "the global maxconn", as when unset */
	if (px->maxconn)
		px->set |= CFG_PX_SET_MAXCONN;
	else
		px->set &= ~CFG_PX_SET_MAXCONN;
	px->maxconn_loc = here(p);
	return 0;
}

static int px_mode(struct parser *p, char **args, int nargs, int neg)
{
	if (want_args(p, args, nargs, 2, "mode tcp") == -1)
		return -1;
	if (!strcmp(args[1], "tcp")) {
		p->px->mode = CFG_MODE_TCP;
		p->px->set |= CFG_PX_SET_MODE;
		p->px->mode_loc = here(p);
		return 0;
	}
	if (!strcmp(args[1], "http")) {
		p->px->mode = CFG_MODE_HTTP;
		p->px->set |= CFG_PX_SET_MODE;
		p->px->mode_loc = here(p);
		return 0;
	}
	perr(p, args[0], "'%s': unknown mode (tcp, http)", args[1]);
	return -1;
}

struct opt_kw {
	const char *name;
	unsigned secs;          /* where it has an effect */
	unsigned flag;          /* CFG_OPT_*, 0 = accepted and ignored */
	const char *ignored;    /* why it is ignored (warning), or NULL */
	/* for options with arguments or more than a flag; NULL = a plain flag */
	int (*parse)(struct parser *p, const char *kw, char **args, int nargs, int neg);
};

/* An HTTP setting in a proxy explicitly in mode tcp: accepted (defaults are
 * often shared) but said to have no effect. */
static int explicit_tcp(const struct parser *p)
{
	return p->px->mode == CFG_MODE_TCP && (p->px->set & CFG_PX_SET_MODE);
}

/* option http-keep-alive | http-server-close | httpclose: the last one wins;
 * "no option X" goes back to keep-alive. */
static int opt_http_conn(struct parser *p, const char *kw, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;

	if (nargs > 2) {
		perr(p, kw, "'%s': unexpected argument", args[2]);
		return -1;
	}
	if (neg)
		px->http_conn = CFG_HTTP_KAL;
	else if (!strcmp(args[1], "http-keep-alive"))
		px->http_conn = CFG_HTTP_KAL;
	else if (!strcmp(args[1], "http-server-close"))
		px->http_conn = CFG_HTTP_SCL;
	else
		px->http_conn = CFG_HTTP_CLO;
	px->set |= CFG_PX_SET_HTTP_CONN;
	px->http_conn_loc = here(p);
	if (explicit_tcp(p))
		pwarn(p, kw, "HTTP option, no effect in mode tcp");
	return 0;
}

/* option forwardfor [except NET[/BITS]] [header NAME] [if-none] */
static int opt_forwardfor(struct parser *p, const char *kw, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;
	struct http_net net;
	char *hdr = NULL;
	int i, if_none = 0;

	memset(&net, 0, sizeof(net));
	if (neg) {
		if (nargs > 2) {
			perr(p, kw, "'%s': unexpected argument", args[2]);
			return -1;
		}
		px->options &= ~CFG_OPT_FORWARDFOR;
		return 0;
	}
	for (i = 2; i < nargs; i++) {
		if (!strcmp(args[i], "except") && i + 1 < nargs) {
			if (http_net_parse(args[++i], &net) == -1) {
				perr(p, kw, "except '%s': expected an address or a CIDR block",
				     args[i]);
				goto err;
			}
		} else if (!strcmp(args[i], "header") && i + 1 < nargs) {
			free(hdr);
			hdr = pstrdup(p, args[++i]);
			if (!hdr)
				goto err;
		} else if (!strcmp(args[i], "if-none")) {
			if_none = 1;
		} else {
			perr(p, kw, "'%s': unexpected argument (usage: option forwardfor "
			     "[except <network>] [header <name>] [if-none])", args[i]);
			goto err;
		}
	}
	free(px->ff_header);
	px->ff_header = hdr;
	px->ff_except = net;
	px->ff_if_none = if_none;
	px->options |= CFG_OPT_FORWARDFOR;
	if (explicit_tcp(p))
		pwarn(p, kw, "HTTP option, no effect in mode tcp");
	return 0;
err:
	free(hdr);
	return -1;
}

/* option httpchk [URI] | METHOD URI [VERSION] (HAProxy's forms). */
static int opt_httpchk(struct parser *p, const char *kw, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;
	const char *m = "OPTIONS", *u = "/", *v = "HTTP/1.0";
	char *nm, *nu, *nv;

	if (neg) {
		px->options &= ~CFG_OPT_HTTPCHK;
		return 0;
	}
	if (nargs > 5) {
		perr(p, kw, "'%s': unexpected argument", args[5]);
		return -1;
	}
	if (nargs == 3) {
		u = args[2];
	} else if (nargs >= 4) {
		m = args[2];
		u = args[3];
		if (nargs == 5)
			v = args[4];
	}
	if (strcmp(v, "HTTP/1.0") && strcmp(v, "HTTP/1.1")) {
		perr(p, kw, "'%s': version must be HTTP/1.0 or HTTP/1.1", v);
		return -1;
	}
	if (strpbrk(m, " \t\r\n") || strpbrk(u, " \t\r\n") || !*m || *u != '/') {
		perr(p, kw, "'%s %s': invalid method or URI (the URI must begin with '/')", m, u);
		return -1;
	}
	nm = pstrdup(p, m);
	nu = pstrdup(p, u);
	nv = pstrdup(p, v);
	if (!nm || !nu || !nv) {
		free(nm);
		free(nu);
		free(nv);
		return -1;
	}
	free(px->chk_method);
	free(px->chk_uri);
	free(px->chk_version);
	px->chk_method = nm;
	px->chk_uri = nu;
	px->chk_version = nv;
	px->options |= CFG_OPT_HTTPCHK;
	return 0;
}

/* option httplog: in mode tcp HAProxy falls back to tcplog (check_cfg). */
static int opt_httplog(struct parser *p, const char *kw, char **args, int nargs, int neg)
{
	if (nargs > 2) {
		perr(p, kw, "'%s': unexpected argument", args[2]);
		return -1;
	}
	if (neg) {
		p->px->options &= ~CFG_OPT_HTTPLOG;
		return 0;
	}
	if (!(p->sec & SEC_FE))
		pwarn(p, kw, "no effect in a '%s' section", p->sec_name);
	else if (explicit_tcp(p))
		pwarn(p, kw, "HTTP option: 'option tcplog' is used in mode tcp");
	p->px->options |= CFG_OPT_HTTPLOG;
	return 0;
}

/* Sorted by name (bsearch). */
static const struct opt_kw opt_kws[] = {
	{ "abortonclose", SEC_BE, CFG_OPT_ABORTONCLOSE, NULL, NULL },
	{ "dontlognull", SEC_FE, CFG_OPT_DONTLOGNULL, NULL, NULL },
	{ "forwardfor", SEC_PX, 0, NULL, opt_forwardfor },
	{ "http-keep-alive", SEC_PX, 0, NULL, opt_http_conn },
	{ "http-server-close", SEC_PX, 0, NULL, opt_http_conn },
	{ "httpchk", SEC_BE, 0, NULL, opt_httpchk },
	{ "httpclose", SEC_PX, 0, NULL, opt_http_conn },
	{ "httplog", SEC_FE, 0, NULL, opt_httplog },
	{ "redispatch", SEC_BE, CFG_OPT_REDISPATCH, NULL, NULL },
	{ "tcpka", SEC_PX, CFG_OPT_TCPKA, NULL, NULL },
	{ "tcplog", SEC_FE, CFG_OPT_TCPLOG, NULL, NULL },
};

static int opt_kw_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct opt_kw *)elt)->name);
}

static int px_option(struct parser *p, char **args, int nargs, int neg)
{
	const struct opt_kw *o;
	char kw[128];

	if (nargs < 2) {
		perr(p, neg ? "no option" : "option", "missing option name");
		return -1;
	}
	snprintf(kw, sizeof(kw), "%soption %s", neg ? "no " : "", args[1]);
	o = bsearch(args[1], opt_kws, sizeof(opt_kws) / sizeof(opt_kws[0]), sizeof(opt_kws[0]),
		    opt_kw_cmp);
	if (!o) {
		perr(p, kw, "unknown or unsupported option");
		return -1;
	}
	if (o->parse)
		return o->parse(p, kw, args, nargs, neg);
	if (nargs > 2) {
		perr(p, kw, "'%s': unexpected argument", args[2]);
		return -1;
	}
	if (o->ignored)
		pwarn(p, kw, "%s", o->ignored);
	else if (!(o->secs & p->sec))
		pwarn(p, kw, "no effect in a '%s' section", p->sec_name);
	if (neg)
		p->px->options &= ~o->flag;
	else
		p->px->options |= o->flag;
	return 0;
}

static int px_retries(struct parser *p, char **args, int nargs, int neg)
{
	if (want_args(p, args, nargs, 2, "retries <number>") == -1 ||
	    arg_uint(p, args[0], args[1], 0, INT_MAX, &p->px->retries) == -1)
		return -1;
	p->px->set |= CFG_PX_SET_RETRIES;
	return 0;
}

static int px_server(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;
	struct cfg_server s, *e;
	char kw[160], err[256];
	unsigned lo, hi;
	int rc = 0;

	if (nargs < 3) {
		perr(p, args[0], "%s (usage: server <name> <addr>:<port> [options])",
		     nargs < 2 ? "missing name" : "missing address");
		return -1;
	}
	snprintf(kw, sizeof(kw), "server %s", args[1]);
	if (!valid_name(args[1])) {
		perr(p, "server", "'%s': invalid name (letters, digits, '-', '_', '.', ':')", args[1]);
		return -1;
	}
	s = px->defsrv;
	s.name = NULL;
	s.addr_text = NULL;
	s.loc = here(p);
	if (cfg_parse_addr(args[2], 0, &s.addr, &s.addrlen, &lo, &hi, err, sizeof(err)) == -1) {
		perr(p, kw, "%s", err);
		rc = -1;
	}
	if (parse_srv_opts(p, kw, &s, args + 3, nargs - 3) == -1)
		rc = -1;
	if (rc == -1) {
		free(s.cookie);
		return -1;
	}
	s.name = pstrdup(p, args[1]);
	s.addr_text = pstrdup(p, args[2]);
	e = s.name && s.addr_text ? ppush(p, &px->servers, &px->nservers, sizeof(*e)) : NULL;
	if (!e) {
		server_free(&s);
		return -1;
	}
	*e = s;
	return 0;
}

struct to_kw {
	const char *name;
	int idx;                /* enum cfg_timeout, -1 = accepted and ignored */
};

/* Sorted by name. */
static const struct to_kw to_kws[] = {
	{ "check", CFG_TO_CHECK },
	{ "client", CFG_TO_CLIENT },
	{ "client-fin", CFG_TO_CLIENT_FIN },
	{ "connect", CFG_TO_CONNECT },
	{ "http-keep-alive", CFG_TO_HTTP_KEEP_ALIVE },
	{ "http-request", CFG_TO_HTTP_REQUEST },
	{ "queue", CFG_TO_QUEUE },
	{ "server", CFG_TO_SERVER },
	{ "server-fin", CFG_TO_SERVER_FIN },
	{ "tarpit", -1 },
	{ "tunnel", CFG_TO_TUNNEL },
};

static int to_kw_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct to_kw *)elt)->name);
}

static int px_timeout(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_timeouts *to = &p->px->to;
	const struct to_kw *t;
	char kw[128];
	unsigned v;

	if (nargs < 2) {
		perr(p, "timeout", "missing timeout name");
		return -1;
	}
	snprintf(kw, sizeof(kw), "timeout %s", args[1]);
	t = bsearch(args[1], to_kws, sizeof(to_kws) / sizeof(to_kws[0]), sizeof(to_kws[0]), to_kw_cmp);
	if (!t) {
		perr(p, kw, "unknown timeout (connect, client, server, client-fin, server-fin, tunnel, queue, check, http-request, http-keep-alive)");
		return -1;
	}
	if (nargs != 3) {
		perr(p, kw, "%s (usage: timeout %s <time>)",
		     nargs < 3 ? "missing value" : "too many arguments", args[1]);
		return -1;
	}
	if (arg_time(p, kw, args[2], &v) == -1)
		return -1;
	if (t->idx < 0) {
		pwarn(p, kw, "ignored");
		return 0;
	}
	if ((t->idx == CFG_TO_HTTP_REQUEST || t->idx == CFG_TO_HTTP_KEEP_ALIVE) && explicit_tcp(p))
		pwarn(p, kw, "HTTP timeout, no effect in mode tcp");
	to->ms[t->idx] = v;
	to->set |= 1u << t->idx;
	to->loc[t->idx] = here(p);
	return 0;
}

/* ---- HTTP keywords ----------------------------------------------------- */

static int rules_err(struct parser *p, const char *kw, int rc, const char *err)
{
	if (rc == -1)
		perr(p, kw, "%s", err);
	return rc;
}

static int px_acl(struct parser *p, char **args, int nargs, int neg)
{
	char err[512];

	return rules_err(p, args[0], http_acl_parse(&p->px->rules, args, nargs, p->line, err,
						    sizeof(err)), err);
}

static int px_http_request(struct parser *p, char **args, int nargs, int neg)
{
	char err[512];

	return rules_err(p, args[0], http_rule_parse(&p->px->rules, 0, args, nargs, p->line, err,
						     sizeof(err)), err);
}

static int px_http_response(struct parser *p, char **args, int nargs, int neg)
{
	char err[512];

	return rules_err(p, args[0], http_rule_parse(&p->px->rules, 1, args, nargs, p->line, err,
						     sizeof(err)), err);
}

static int px_use_backend(struct parser *p, char **args, int nargs, int neg)
{
	char err[512];

	return rules_err(p, args[0], http_use_backend_parse(&p->px->rules, args, nargs, p->line,
							    err, sizeof(err)), err);
}

/* The head limit with the values known so far (tune.* come from the global
 * section, which precedes the proxies). */
static unsigned max_head_now(const struct cfg *c)
{
	unsigned mr = c->global.maxrewrite;

	if (mr > c->global.bufsize / 2)
		mr = c->global.bufsize / 2;
	return c->global.bufsize - mr;
}

static int px_errorfile(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;
	struct cfg_errorfile ef, *e;
	char err[512];

	if (want_args(p, args, nargs, 3, "errorfile <code> <file>") == -1)
		return -1;
	memset(&ef, 0, sizeof(ef));
	if (parse_uint(args[1], 100, 599, &ef.status, err, sizeof(err)) == -1 ||
	    !httperr_known(ef.status)) {
		perr(p, args[0], "'%s': status not supported (200 400 401 403 404 405 407 408 410 "
		     "413 425 429 500 501 502 503 504)", args[1]);
		return -1;
	}
	if (httperr_load(args[2], max_head_now(p->c), &ef.data, &ef.len, err, sizeof(err)) == -1) {
		perr(p, args[0], "%s", err);
		return -1;
	}
	ef.path = pstrdup(p, args[2]);
	ef.loc = here(p);
	e = ef.path ? ppush(p, &px->errorfiles, &px->nerrorfiles, sizeof(*e)) : NULL;
	if (!e) {
		free(ef.path);
		free(ef.data);
		return -1;
	}
	*e = ef;
	return 0;
}

/* http-check expect [!] status|rstatus <pattern> */
/* http-check send [meth M] [uri U] [ver V] [hdr NAME VALUE]...: the check
 * request (HAProxy 2.2's form of option httpchk's arguments). */
static int http_check_send(struct parser *p, char **args, int nargs)
{
	struct cfg_proxy *px = p->px;
	const char *kw = "http-check send";
	struct sbuf h;
	char **dst;
	int i;

	sb_init(&h);
	if (px->chk_hdrs)
		sb_puts(&h, px->chk_hdrs);
	for (i = 2; i < nargs; i++) {
		const char *a = args[i];

		if (!strcmp(a, "hdr") && i + 2 < nargs) {
			const char *c;

			for (c = args[i + 1]; *c; c++)
				if ((unsigned char)*c <= 0x20 || *c == ':' || *c == 0x7f)
					break;
			if (*c || !args[i + 1][0] || strpbrk(args[i + 2], "\r\n")) {
				perr(p, kw, "hdr '%s': invalid header name or value", args[i + 1]);
				goto err;
			}
			sb_printf(&h, "%s: %s\r\n", args[i + 1], args[i + 2]);
			i += 2;
			continue;
		}
		if (i + 1 >= nargs || (strcmp(a, "meth") && strcmp(a, "uri") && strcmp(a, "ver"))) {
			perr(p, kw, "'%s': unsupported or incomplete (meth <m>, uri <u>, ver <v>, "
			     "hdr <name> <value>)", a);
			goto err;
		}
		if (strpbrk(args[i + 1], " \t\r\n") || (a[0] == 'u' && args[i + 1][0] != '/') ||
		    (a[0] == 'v' && strcmp(args[i + 1], "HTTP/1.0") &&
		     strcmp(args[i + 1], "HTTP/1.1"))) {
			perr(p, kw, "%s '%s': invalid (the URI begins with '/', the version is "
			     "HTTP/1.0 or HTTP/1.1)", a, args[i + 1]);
			goto err;
		}
		dst = a[0] == 'm' ? &px->chk_method : a[0] == 'u' ? &px->chk_uri : &px->chk_version;
		free(*dst);
		*dst = pstrdup(p, args[i + 1]);
		if (!*dst)
			goto err;
		i++;
	}
	if (h.err)
		goto err;
	free(px->chk_hdrs);
	px->chk_hdrs = h.len ? sb_take(&h) : NULL;
	sb_free(&h);
	return 0;
err:
	sb_free(&h);
	return -1;
}

static int px_http_check(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_http_expect *x = &p->px->chk_expect;
	enum cfg_expect_kind kind;
	int i = 2, inv = 0;
	regex_t re;
	char *pat;

	if (nargs >= 2 && !strcmp(args[1], "send"))
		return http_check_send(p, args, nargs);
	if (nargs < 2 || strcmp(args[1], "expect")) {
		perr(p, args[0], "%s: only 'http-check send' and 'http-check expect' are supported",
		     nargs < 2 ? "missing action" : args[1]);
		return -1;
	}
	if (i < nargs && !strcmp(args[i], "!")) {
		inv = 1;
		i++;
	}
	if (nargs - i != 2) {
		perr(p, "http-check expect", "usage: http-check expect [!] status|rstatus <pattern>");
		return -1;
	}
	if (!strcmp(args[i], "status")) {
		const char *q = args[i + 1];

		kind = CFG_EXPECT_STATUS;
		for (; *q; q++) {
			if (!((*q >= '0' && *q <= '9') || *q == '-' || *q == ',')) {
				perr(p, "http-check expect", "status '%s': expected codes and ranges "
				     "(200, 200-399, 200,302)", args[i + 1]);
				return -1;
			}
		}
	} else if (!strcmp(args[i], "rstatus")) {
		kind = CFG_EXPECT_RSTATUS;
		if (regcomp(&re, args[i + 1], REG_EXTENDED | REG_NOSUB) != 0) {
			perr(p, "http-check expect", "rstatus '%s': invalid regular expression",
			     args[i + 1]);
			return -1;
		}
		regfree(&re);
	} else {
		perr(p, "http-check expect", "'%s': unsupported match (status, rstatus)", args[i]);
		return -1;
	}
	pat = pstrdup(p, args[i + 1]);
	if (!pat)
		return -1;
	free(x->pattern);
	x->pattern = pat;
	x->kind = kind;
	x->neg = inv;
	return 0;
}

static int px_http_reuse(struct parser *p, char **args, int nargs, int neg)
{
	static const char *const names[] = { "safe", "never", "aggressive", "always" };
	size_t i;

	if (want_args(p, args, nargs, 2, "http-reuse never|safe|aggressive|always") == -1)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(args[1], names[i])) {
			p->px->http_reuse = (enum cfg_http_reuse)i;
			p->px->set |= CFG_PX_SET_HTTP_REUSE;
			p->px->http_reuse_loc = here(p);
			return 0;
		}
	}
	perr(p, args[0], "'%s': unknown mode (never, safe, aggressive, always)", args[1]);
	return -1;
}

/* capture request|response header <name> len <n> */
static int px_capture(struct parser *p, char **args, int nargs, int neg)
{
	struct cfg_proxy *px = p->px;
	struct cfg_capture *c;
	unsigned len;
	int res;

	if (nargs >= 2 && !strcmp(args[1], "cookie")) {
		perr(p, "capture cookie", "not supported (capture request header Cookie len <n> "
		     "logs the whole header)");
		return -1;
	}
	if (nargs != 6 || (strcmp(args[1], "request") && strcmp(args[1], "response")) ||
	    strcmp(args[2], "header") || strcmp(args[4], "len")) {
		perr(p, args[0], "usage: capture request|response header <name> len <length>");
		return -1;
	}
	if (!valid_http_token(args[3])) {
		perr(p, "capture", "'%s': invalid header name", args[3]);
		return -1;
	}
	if (arg_uint(p, "capture", args[5], 1, CFG_CAPTURE_MAXLEN, &len) == -1)
		return -1;
	res = args[1][2] == 's';
	c = res ? ppush(p, &px->cap_res, &px->ncap_res, sizeof(*c))
		: ppush(p, &px->cap_req, &px->ncap_req, sizeof(*c));
	if (!c)
		return -1;
	c->len = len;
	c->name = pstrdup(p, args[3]);
	if (!c->name) {
		if (res)
			px->ncap_res--;
		else
			px->ncap_req--;
		return -1;
	}
	return 0;
}

/* monitor-uri <uri>: a health endpoint for whatever checks proxyd itself. */
static int px_monitor_uri(struct parser *p, char **args, int nargs, int neg)
{
	if (want_args(p, args, nargs, 2, "monitor-uri <uri>") == -1)
		return -1;
	if (args[1][0] != '/') {
		perr(p, args[0], "'%s': must begin with '/'", args[1]);
		return -1;
	}
	free(p->px->monitor_uri);
	p->px->monitor_uri = pstrdup(p, args[1]);
	return p->px->monitor_uri ? 0 : -1;
}

/* stats enable | uri <prefix> | realm <realm> | auth <user>:<password> |
 * refresh <time> | hide-version (the HTTP statistics page); the display
 * options of HAProxy's page are accepted and ignored. */
static int px_stats(struct parser *p, char **args, int nargs, int neg)
{
	static const char *const shown[] = {
		"show-desc", "show-legends", "show-modules", "show-node",
	};
	struct cfg_proxy *px = p->px;
	const char *sub = nargs >= 2 ? args[1] : "";
	char **slot;
	size_t k;

	for (k = 0; k < sizeof(shown) / sizeof(shown[0]); k++)
		if (!strcmp(sub, shown[k])) {
			pwarn(p, "stats", "'%s': ignored (proxyd's page has one layout)", sub);
			px->st_enabled = 1;
			return 0;
		}
	if (!strcmp(sub, "admin") || !strcmp(sub, "scope")) {
		pwarn(p, "stats", "'%s': ignored (the page has no actions and shows every proxy; "
		      "use the stats socket)", sub);
		return 0;
	}
	if (!strcmp(sub, "socket") || !strcmp(sub, "timeout") || !strcmp(sub, "prometheus")) {
		perr(p, "stats", "'stats %s' belongs in the global section", sub);
		return -1;
	}
	if (!strcmp(sub, "enable") || !strcmp(sub, "hide-version")) {
		if (nargs > 2) {
			perr(p, "stats", "'%s': unexpected argument", args[2]);
			return -1;
		}
		if (sub[0] == 'h')
			px->st_hide_version = 1;
		px->st_enabled = 1;
		return 0;
	}
	if (nargs != 3) {
		perr(p, "stats", "%s (usage: stats enable | uri <prefix> | realm <realm> | "
		     "auth <user>:<password> | refresh <time> | hide-version)",
		     nargs < 3 && strcmp(sub, "") ? "missing argument" : "unknown or malformed "
		     "stats line");
		return -1;
	}
	if (!strcmp(sub, "uri")) {
		if (args[2][0] != '/') {
			perr(p, "stats uri", "'%s': must begin with '/'", args[2]);
			return -1;
		}
		free(px->st_uri);
		px->st_uri = pstrdup(p, args[2]);
		if (!px->st_uri)
			return -1;
	} else if (!strcmp(sub, "realm")) {
		free(px->st_realm);
		px->st_realm = pstrdup(p, args[2]);
		if (!px->st_realm)
			return -1;
		if (strchr(px->st_realm, '"')) {
			perr(p, "stats realm", "'%s': no '\"' allowed", args[2]);
			return -1;
		}
	} else if (!strcmp(sub, "auth")) {
		if (!strchr(args[2], ':') || args[2][0] == ':') {
			perr(p, "stats auth", "'%s': expected <user>:<password>", args[2]);
			return -1;
		}
		slot = ppush(p, &px->st_auth, &px->st_nauth, sizeof(*slot));
		if (!slot)
			return -1;
		*slot = pstrdup(p, args[2]);
		if (!*slot) {
			px->st_nauth--;
			return -1;
		}
	} else if (!strcmp(sub, "refresh")) {
		if (arg_time(p, "stats refresh", args[2], &px->st_refresh) == -1)
			return -1;
	} else {
		perr(p, "stats", "'%s': unknown or unsupported (enable, uri, realm, auth, refresh, "
		     "hide-version)", sub);
		return -1;
	}
	px->st_enabled = 1;
	return 0;
}

/* cookie NAME insert [indirect] [nocache] [httponly] [secure] [preserve]
 * [domain D]: HAProxy's insert mode (rewrite and prefix are refused). */
static int px_cookie(struct parser *p, char **args, int nargs, int neg)
{
	static const struct {
		const char *name;
		unsigned flag;
	} opts[] = {
		{ "httponly", CFG_CK_HTTPONLY }, { "indirect", CFG_CK_INDIRECT },
		{ "nocache", CFG_CK_NOCACHE }, { "preserve", CFG_CK_PRESERVE },
		{ "secure", CFG_CK_SECURE },
	};
	struct cfg_proxy *px = p->px;
	const char *domain = NULL;
	unsigned o = 0;
	int i, insert = 0;
	size_t k;

	if (nargs < 2) {
		perr(p, args[0], "missing name (usage: cookie <name> insert [indirect] [nocache] "
		     "[httponly] [secure] [preserve] [domain <d>])");
		return -1;
	}
	if (!valid_http_token(args[1])) {
		perr(p, args[0], "'%s': not a valid cookie name", args[1]);
		return -1;
	}
	for (i = 2; i < nargs; i++) {
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (!strcmp(args[i], opts[k].name))
				break;
		if (k < sizeof(opts) / sizeof(opts[0])) {
			o |= opts[k].flag;
		} else if (!strcmp(args[i], "insert")) {
			insert = 1;
		} else if (!strcmp(args[i], "domain") && i + 1 < nargs) {
			domain = args[++i];
		} else if (!strcmp(args[i], "rewrite") || !strcmp(args[i], "prefix")) {
			perr(p, args[0], "'%s': unsupported mode (only insert)", args[i]);
			return -1;
		} else {
			perr(p, args[0], "'%s': unknown or unsupported option (insert, indirect, "
			     "nocache, httponly, secure, preserve, domain <d>)", args[i]);
			return -1;
		}
	}
	if (!insert) {
		perr(p, args[0], "'insert' is required (rewrite and prefix modes are not supported)");
		return -1;
	}
	free(px->ck_name);
	free(px->ck_domain);
	px->ck_name = pstrdup(p, args[1]);
	px->ck_domain = domain ? pstrdup(p, domain) : NULL;
	px->ck_opts = o;
	return px->ck_name && (!domain || px->ck_domain) ? 0 : -1;
}

#define SEC_PXN (SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN)

/* Sorted by name (bsearch). */
static const struct kw proxy_kws[] = {
	{ "acl", SEC_PXN, 0, px_acl },
	{ "backlog", SEC_FE, 0, px_backlog },
	{ "balance", SEC_BE, 0, px_balance },
	{ "bind", SEC_FRONTEND | SEC_LISTEN, 0, px_bind },
	{ "capture", SEC_FRONTEND | SEC_LISTEN, 0, px_capture },
	{ "cookie", SEC_BE, 0, px_cookie },
	{ "default-server", SEC_BE, 0, px_default_server },
	{ "default_backend", SEC_FE, 0, px_default_backend },
	{ "errorfile", SEC_PX, 0, px_errorfile },
	{ "fullconn", SEC_BE, 0, px_fullconn },
	{ "http-check", SEC_BE, 0, px_http_check },
	{ "http-request", SEC_PXN, 0, px_http_request },
	{ "http-response", SEC_PXN, 0, px_http_response },
	{ "http-reuse", SEC_BE, 0, px_http_reuse },
	{ "log", SEC_PX, 1, px_log },
	{ "maxconn", SEC_FE, 0, px_maxconn },
	{ "mode", SEC_PX, 0, px_mode },
	{ "monitor-uri", SEC_FE, 0, px_monitor_uri },
	{ "option", SEC_PX, 1, px_option },
	{ "redirect", SEC_PXN, 0, px_http_request },    /* as http-request redirect */
	{ "retries", SEC_BE, 0, px_retries },
	{ "server", SEC_BACKEND | SEC_LISTEN, 0, px_server },
	{ "stats", SEC_PX, 0, px_stats },
	{ "timeout", SEC_PX, 0, px_timeout },
	{ "use_backend", SEC_FRONTEND | SEC_LISTEN, 0, px_use_backend },
};

static int kw_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct kw *)elt)->name);
}

static const struct kw *kw_find(const struct kw *tab, size_t n, const char *name)
{
	return bsearch(name, tab, n, sizeof(*tab), kw_cmp);
}

/* ---- sections ---------------------------------------------------------- */

static int find_defaults(const struct parser *p, const char *name)
{
	size_t i;

	/* the last one with this name wins, as a later section redefines it */
	for (i = p->ndefs; i-- > 0;)
		if (!strcmp(p->defs[i].name, name))
			return (int)i;
	return -1;
}

/* Starts a proxy or defaults section: "<sec> [name] [from <defaults>]". */
static void start_proxy(struct parser *p, enum section sec, const char *secname, char **args,
			int nargs)
{
	const struct cfg_proxy *base = NULL;
	const char *name = NULL, *from = NULL;
	struct cfg_proxy *px;
	int i = 1;

	p->sec = SEC_SKIP;      /* until the section is valid */
	p->sec_name = secname;
	p->px = NULL;
	if (i < nargs && strcmp(args[i], "from"))
		name = args[i++];
	if (i < nargs && !strcmp(args[i], "from")) {
		if (i + 1 >= nargs) {
			perr(p, secname, "'from': missing defaults name");
			return;
		}
		from = args[i + 1];
		i += 2;
	}
	if (i < nargs) {
		perr(p, secname, "'%s': unexpected argument", args[i]);
		return;
	}
	if (!name && sec != SEC_DEFAULTS) {
		perr(p, secname, "missing name");
		return;
	}
	if (name && !valid_name(name)) {
		perr(p, secname, "'%s': invalid name (letters, digits, '-', '_', '.', ':')", name);
		return;
	}
	if (from) {
		int di = find_defaults(p, from);

		if (di < 0 || !*from) {
			perr(p, secname, "'from %s': no defaults section with this name before", from);
			return;
		}
		base = &p->defs[di].px;
	} else if (p->cur_def >= 0) {
		base = &p->defs[p->cur_def].px;
	}

	if (sec == SEC_DEFAULTS) {
		struct named_defaults *nd;
		struct cfg_proxy tmp;

		/* a defaults section starts from the built-in values unless "from" */
		if (proxy_inherit(&tmp, from ? base : NULL) == -1) {
			proxy_free(&tmp);
			perr(p, NULL, "out of memory");
			return;
		}
		nd = ppush(p, &p->defs, &p->ndefs, sizeof(*nd));
		if (!nd) {
			proxy_free(&tmp);
			return;
		}
		nd->px = tmp;
		nd->name = strdup(name ? name : "");
		if (!nd->name) {
			perr(p, NULL, "out of memory");
			proxy_free(&nd->px);
			p->ndefs--;
			return;
		}
		nd->px.cap = CFG_CAP_DEF;
		nd->px.loc = here(p);
		p->cur_def = (int)(p->ndefs - 1);
		p->px = &nd->px;
		p->sec = sec;
		return;
	}

	px = ppush(p, &p->c->proxies, &p->c->nproxies, sizeof(*px));
	if (!px)
		return;
	if (proxy_inherit(px, base) == -1) {
		perr(p, NULL, "out of memory");
		proxy_free(px);
		p->c->nproxies--;
		return;
	}
	px->cap = sec == SEC_FRONTEND ? CFG_CAP_FE :
		  sec == SEC_BACKEND ? CFG_CAP_BE : CFG_CAP_FE | CFG_CAP_BE;
	/* what a defaults section set for the other side does not apply */
	if (!(px->cap & CFG_CAP_FE)) {
		free(px->default_backend);
		px->default_backend = NULL;
		px->maxconn = 0;
		px->backlog = 0;
		px->set &= ~(CFG_PX_SET_MAXCONN | CFG_PX_SET_BACKLOG);
	}
	if (!(px->cap & CFG_CAP_BE)) {
		px->fullconn = 0;
		px->set &= ~CFG_PX_SET_FULLCONN;
	}
	px->loc = here(p);
	px->name = strdup(name);
	if (!px->name) {
		perr(p, NULL, "out of memory");
		proxy_free(px);
		p->c->nproxies--;
		return;
	}
	p->px = px;
	p->sec = sec;
}

static const char *const unsupported_sections[] = {
	"cache", "dynamic-update", "fcgi-app", "http-errors", "mailers", "peers", "program",
	"resolvers", "ring", "userlist",
};

/* Called before a new section starts and at the end of the file. */
static void end_section(struct parser *p)
{
	if (p->px && p->px->cap != CFG_CAP_DEF && p->bind_failed) {
		size_t idx = (size_t)(p->px - p->c->proxies);
		unsigned char *n = realloc(p->no_bind_check, idx + 1);

		/* without memory the check just runs: one more message */
		if (n) {
			if (idx + 1 > p->no_bind_len)
				memset(n + p->no_bind_len, 0, idx + 1 - p->no_bind_len);
			p->no_bind_check = n;
			p->no_bind_len = idx + 1;
			n[idx] = 1;
		}
	}
	p->bind_failed = 0;
}

/* Returns 1 if args[0] started a section. */
static int section_line(struct parser *p, char **args, int nargs)
{
	const char *k = args[0];
	size_t i;

	if (!strcmp(k, "global") || !strcmp(k, "defaults") || !strcmp(k, "frontend") ||
	    !strcmp(k, "backend") || !strcmp(k, "listen") || !strcmp(k, "supervisor"))
		end_section(p);
	for (i = 0; i < sizeof(unsupported_sections) / sizeof(unsupported_sections[0]); i++)
		if (!strcmp(k, unsupported_sections[i]))
			end_section(p);

	if (!strcmp(k, "global")) {
		if (nargs > 1)
			perr(p, k, "'%s': unexpected argument", args[1]);
		p->sec = SEC_GLOBAL;
		p->sec_name = "global";
		p->px = NULL;
		if (!p->c->global.loc.line)
			p->c->global.loc = here(p);
		return 1;
	}
	if (!strcmp(k, "defaults")) {
		start_proxy(p, SEC_DEFAULTS, "defaults", args, nargs);
		return 1;
	}
	if (!strcmp(k, "frontend")) {
		start_proxy(p, SEC_FRONTEND, "frontend", args, nargs);
		return 1;
	}
	if (!strcmp(k, "backend")) {
		start_proxy(p, SEC_BACKEND, "backend", args, nargs);
		return 1;
	}
	if (!strcmp(k, "listen")) {
		start_proxy(p, SEC_LISTEN, "listen", args, nargs);
		return 1;
	}
	if (!strcmp(k, "supervisor")) {
		if (nargs > 1)
			perr(p, k, "'%s': unexpected argument", args[1]);
		p->sec = SEC_SUPERVISOR;
		p->sec_name = "supervisor";
		p->px = NULL;
		return 1;
	}
	for (i = 0; i < sizeof(unsupported_sections) / sizeof(unsupported_sections[0]); i++) {
		if (!strcmp(k, unsupported_sections[i])) {
			perr(p, k, "unsupported section");
			p->sec = SEC_SKIP;
			p->sec_name = k;
			p->px = NULL;
			return 1;
		}
	}
	return 0;
}

static void supervisor_line(struct parser *p, char **args, int nargs)
{
	struct cfg_sup_entry *e;
	int i;

	e = ppush(p, &p->c->sup, &p->c->nsup, sizeof(*e));
	if (!e)
		return;
	e->loc = here(p);
	e->key = pstrdup(p, args[0]);
	if (nargs > 1) {
		e->args = calloc((size_t)nargs - 1, sizeof(*e->args));
		if (!e->args) {
			perr(p, NULL, "out of memory");
			return;
		}
		for (i = 1; i < nargs; i++) {
			e->args[i - 1] = pstrdup(p, args[i]);
			if (!e->args[i - 1])
				return;
			e->nargs++;
		}
	}
}

static void keyword_line(struct parser *p, char **args, int nargs)
{
	const struct kw *tab, *other, *k;
	size_t ntab, nother;
	int neg = 0;

	if (p->sec == SEC_SKIP)
		return;
	if (p->sec == SEC_SUPERVISOR) {
		supervisor_line(p, args, nargs);
		return;
	}
	if (p->sec == SEC_NONE) {
		perr(p, args[0], "keyword outside of any section");
		return;
	}
	if (p->sec == SEC_GLOBAL) {
		tab = global_kws;
		ntab = sizeof(global_kws) / sizeof(global_kws[0]);
		other = proxy_kws;
		nother = sizeof(proxy_kws) / sizeof(proxy_kws[0]);
	} else {
		tab = proxy_kws;
		ntab = sizeof(proxy_kws) / sizeof(proxy_kws[0]);
		other = global_kws;
		nother = sizeof(global_kws) / sizeof(global_kws[0]);
	}
	if (!strcmp(args[0], "no") && nargs > 1) {
		neg = 1;
		args++;
		nargs--;
	}
	k = kw_find(tab, ntab, args[0]);
	if (!k || !(k->secs & p->sec)) {
		if (k || kw_find(other, nother, args[0]))
			perr(p, args[0], "not allowed in '%s' section", p->sec_name);
		else
			perr(p, args[0], "unknown keyword in '%s' section", p->sec_name);
		return;
	}
	if (neg && !k->neg_ok) {
		perr(p, args[0], "'no' is not supported for this keyword");
		return;
	}
	k->parse(p, args, nargs, neg);
}

/* ---- checks after parsing ---------------------------------------------- */

static const char *cap_name(unsigned cap)
{
	if ((cap & (CFG_CAP_FE | CFG_CAP_BE)) == (CFG_CAP_FE | CFG_CAP_BE))
		return "listen";
	return cap & CFG_CAP_FE ? "frontend" : "backend";
}

/* A frontend and a backend it routes to must agree on the mode: HAProxy
 * refuses an HTTP frontend with a TCP backend; the other way round HAProxy
 * upgrades the stream to HTTP, which proxyd does not do. */
static void check_route_mode(struct parser *p, const struct cfg_proxy *fe,
			     const struct cfg_proxy *be, int line, const char *kw)
{
	if (fe->mode == be->mode)
		return;
	cfg_diag_add(p->d, CFG_SEV_ERROR, p->file, line, kw,
		     "'%s' is in mode %s but %s '%s' is in mode %s (both must be the same)",
		     be->name, cfg_mode_name(be->mode), fe->cap & CFG_CAP_BE ? "listen" : "frontend",
		     fe->name, cfg_mode_name(fe->mode));
}

/* Persistence cookies: a server value without a backend cookie, or the
 * reverse, does nothing; both only work in mode http. */
static void check_cookies(struct parser *p, const struct cfg_proxy *px, const char *kw)
{
	size_t i, with = 0;

	if (!(px->cap & CFG_CAP_BE))
		return;
	for (i = 0; i < px->nservers; i++)
		if (px->servers[i].cookie) {
			with++;
			if (!px->ck_name)
				cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->servers[i].loc.line,
					     "server", "%s: 'cookie %s' ignored: the backend has no "
					     "'cookie <name> insert' line", px->servers[i].name,
					     px->servers[i].cookie);
		}
	if (px->ck_name && px->nservers && !with)
		cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->loc.line, kw,
			     "'cookie %s': no server has a 'cookie <value>': nothing to persist",
			     px->ck_name);
	if (px->ck_name && px->mode == CFG_MODE_TCP)
		cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->loc.line, kw,
			     "'cookie %s' ignored in mode tcp", px->ck_name);
}

static void check_http(struct parser *p, struct cfg_proxy *px, const char *kw)
{
	struct cfg *c = p->c;
	size_t j;
	int bi;

	for (j = 0; j < px->rules.nub; j++) {
		struct http_use_backend *ub = &px->rules.ub[j];

		bi = cfg_proxy_find(c, ub->name, CFG_CAP_BE);
		if (bi < 0) {
			cfg_diag_add(p->d, CFG_SEV_ERROR, p->file, ub->line, "use_backend",
				     "'%s': no such backend", ub->name);
			continue;
		}
		ub->be_idx = bi;
		check_route_mode(p, px, &c->proxies[bi], ub->line, "use_backend");
	}
	if ((px->cap & CFG_CAP_FE) && px->default_backend_idx >= 0)
		check_route_mode(p, px, &c->proxies[px->default_backend_idx],
				 px->default_backend_loc.line, "default_backend");
	if (px->mode == CFG_MODE_TCP) {
		/* HAProxy falls back to tcplog */
		if (px->options & CFG_OPT_HTTPLOG)
			px->options = (px->options & ~CFG_OPT_HTTPLOG) | CFG_OPT_TCPLOG;
		if (px->rules.nreq || px->rules.nres || px->rules.nub)
			cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->loc.line, kw,
				     "http-request, http-response and use_backend rules are ignored "
				     "in mode tcp");
	}
	if (px->chk_expect.kind != CFG_EXPECT_NONE && !(px->options & CFG_OPT_HTTPCHK) &&
	    (px->cap & CFG_CAP_BE))
		cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->loc.line, kw,
			     "'http-check expect' has no effect without 'option httpchk'");
	check_cookies(p, px, kw);
}

static void check_cfg(struct parser *p)
{
	struct cfg *c = p->c;
	size_t i, j, k;

	if (c->global.maxrewrite > c->global.bufsize / 2) {
		if (c->global.set & CFG_GLOBAL_SET_MAXREWRITE)
			cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, c->global.loc.line,
				     "tune.maxrewrite", "%u is more than half of tune.bufsize (%u): "
				     "%u is used", c->global.maxrewrite, c->global.bufsize,
				     c->global.bufsize / 2);
		c->global.maxrewrite = c->global.bufsize / 2;
	}

	for (i = 0; i < c->nproxies; i++) {
		struct cfg_proxy *px = &c->proxies[i];
		char kw[300];

		snprintf(kw, sizeof(kw), "%s %s", cap_name(px->cap), px->name);
		for (j = 0; j < i; j++) {
			const struct cfg_proxy *o = &c->proxies[j];

			if ((o->cap & px->cap) && !strcmp(o->name, px->name)) {
				cfg_diag_add(p->d, CFG_SEV_ERROR, p->file, px->loc.line, kw,
					     "name already used by the %s at line %d",
					     cap_name(o->cap), o->loc.line);
				break;
			}
		}
		if (px->cap == CFG_CAP_FE && !px->nbinds &&
		    !(p->no_bind_check && i < p->no_bind_len && p->no_bind_check[i]))
			cfg_diag_add(p->d, CFG_SEV_ERROR, p->file, px->loc.line, kw, "no 'bind' line");

		if ((px->cap & CFG_CAP_FE) && px->default_backend) {
			int bi = cfg_proxy_find(c, px->default_backend, CFG_CAP_BE);

			if (bi < 0) {
				cfg_diag_add(p->d, CFG_SEV_ERROR, p->file, px->default_backend_loc.line,
					     "default_backend", "'%s': no such backend%s",
					     px->default_backend,
					     cfg_proxy_find(c, px->default_backend, 0) >= 0 ?
					     " (a frontend has this name)" : "");
			} else {
				px->default_backend_idx = bi;
			}
		} else if (px->cap == CFG_CAP_FE && !px->rules.nub) {
			cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->loc.line, kw,
				     "no 'default_backend': connections will be closed at once");
		}

		if ((px->cap & CFG_CAP_FE) && !(px->to.set & (1u << CFG_TO_CLIENT)))
			cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->loc.line, kw,
				     "'timeout client' is not set: idle clients are never closed");
		if ((px->cap & CFG_CAP_BE) && !(px->to.set & (1u << CFG_TO_SERVER)))
			cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->loc.line, kw,
				     "'timeout server' is not set: idle servers are never closed");
		if ((px->cap & CFG_CAP_BE) && !(px->to.set & (1u << CFG_TO_CONNECT)))
			cfg_diag_add(p->d, CFG_SEV_WARNING, p->file, px->loc.line, kw,
				     "'timeout connect' is not set: connection attempts wait for the kernel (minutes)");

		for (j = 0; j < px->nservers; j++) {
			struct cfg_server *s = &px->servers[j];
			char skw[300];

			snprintf(skw, sizeof(skw), "server %s", s->name);
			for (k = 0; k < j; k++) {
				if (!strcmp(px->servers[k].name, s->name)) {
					cfg_diag_add(p->d, CFG_SEV_ERROR, p->file, s->loc.line, skw,
						     "duplicate server name in backend '%s' (first at line %d)",
						     px->name, px->servers[k].loc.line);
					break;
				}
			}
			/* HAProxy's rules: minconn alone raises maxconn to it;
			 * maxconn alone sets minconn to it. */
			if ((s->set & CFG_SRV_SET_MINCONN) && (s->set & CFG_SRV_SET_MAXCONN) &&
			    s->maxconn && s->minconn > s->maxconn) {
				cfg_diag_add(p->d, CFG_SEV_ERROR, p->file, s->loc.line, skw,
					     "minconn %u is greater than maxconn %u", s->minconn, s->maxconn);
			} else if (s->minconn > s->maxconn) {
				s->maxconn = s->minconn;
			} else if (s->maxconn && !s->minconn) {
				s->minconn = s->maxconn;
			}
		}
	}
	/* after every default_backend_idx is resolved */
	for (i = 0; i < c->nproxies; i++) {
		char kw[300];

		snprintf(kw, sizeof(kw), "%s %s", cap_name(c->proxies[i].cap), c->proxies[i].name);
		check_http(p, &c->proxies[i], kw);
	}
}

/* ---- limits ------------------------------------------------------------ */

unsigned cfg_global_maxconn_auto(const struct cfg *c)
{
	struct rlimit rl;
	uint64_t fds;

	if (c->global.ulimit_n) {
		fds = c->global.ulimit_n;
	} else if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY) {
		fds = 1024;
	} else {
		fds = rl.rlim_cur;
	}
	if (fds > (uint64_t)INT_MAX)
		fds = INT_MAX;
	return fds > 34 ? (unsigned)((fds - 32) / 2) : 1;
}

void cfg_finalize_limits(struct cfg *c, unsigned global_maxconn)
{
	uint64_t *tot;
	size_t i, j;

	c->global.maxconn_eff = global_maxconn;
	tot = calloc(c->nproxies ? c->nproxies : 1, sizeof(*tot));
	for (i = 0; i < c->nproxies; i++) {
		struct cfg_proxy *px = &c->proxies[i];

		if (!(px->cap & CFG_CAP_FE))
			continue;
		if (!(px->set & CFG_PX_SET_MAXCONN))
			px->maxconn = global_maxconn;
		if (!(px->set & CFG_PX_SET_BACKLOG))
			px->backlog = px->maxconn;
		for (j = 0; j < px->nbinds; j++)
			px->binds[j].backlog = px->binds[j].backlog_cfg ? px->binds[j].backlog_cfg :
					       px->backlog;
		if (!tot)
			continue;
		if (px->default_backend_idx >= 0)
			tot[px->default_backend_idx] += px->maxconn;
		else if (px->cap & CFG_CAP_BE)
			tot[i] += px->maxconn;
	}
	for (i = 0; i < c->nproxies; i++) {
		struct cfg_proxy *px = &c->proxies[i];
		uint64_t f;

		if (!(px->cap & CFG_CAP_BE) || (px->set & CFG_PX_SET_FULLCONN))
			continue;
		/* without memory for the sums, the safest value is the one
		 * that never lowers a server's limit */
		f = tot ? (tot[i] + 9) / 10 : 1;
		px->fullconn = f ? (f > UINT_MAX ? UINT_MAX : (unsigned)f) : 1;
	}
	free(tot);
}

/* ---- entry points ------------------------------------------------------ */

void cfg_init(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->global.stats_timeout = 10000;
	c->global.bufsize = 16384;
	c->global.maxrewrite = 1024;
	c->global.maxhdr = 101;
}

void cfg_free(struct cfg *c)
{
	size_t i, j;

	for (i = 0; i < c->nproxies; i++)
		proxy_free(&c->proxies[i]);
	free(c->proxies);
	for (i = 0; i < c->nsup; i++) {
		free(c->sup[i].key);
		for (j = 0; j < c->sup[i].nargs; j++)
			free(c->sup[i].args[j]);
		free(c->sup[i].args);
	}
	free(c->sup);
	for (i = 0; i < c->global.nstats; i++)
		free(c->global.stats[i].path);
	free(c->global.stats);
	for (i = 0; i < c->global.nlogs; i++)
		log_free(&c->global.logs[i]);
	free(c->global.logs);
	free(c->global.user);
	free(c->global.group);
	free(c->global.chroot);
	free(c->global.pidfile);
	free(c->global.prom_text);
	free(c->path);
	cfg_init(c);
}

int cfg_load_mem(const char *name, const char *text, size_t len, struct cfg *out,
		 struct cfg_diag *diag)
{
	struct parser p;
	struct sbuf words;
	size_t pos = 0, offs[MAX_WORDS];
	unsigned errors0 = diag->errors;
	size_t i;

	cfg_init(out);
	memset(&p, 0, sizeof(p));
	p.c = out;
	p.d = diag;
	p.cur_def = -1;
	out->path = strdup(name);
	if (!out->path) {
		cfg_diag_add(diag, CFG_SEV_ERROR, name, 0, NULL, "out of memory");
		return -1;
	}
	p.file = out->path;
	sb_init(&words);

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		char *args[MAX_WORDS + 1];
		int n, w;

		pos += ll + (nl ? 1 : 0);
		p.line++;
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (memchr(line, '\0', ll)) {
			perr(&p, NULL, "NUL byte in line");
			continue;
		}
		sb_reset(&words);
		n = tokenize(&p, line, ll, &words, offs);
		if (n <= 0)
			continue;
		for (w = 0; w < n; w++)
			args[w] = words.p + offs[w];
		args[n] = NULL;
		if (!section_line(&p, args, n))
			keyword_line(&p, args, n);
	}
	sb_free(&words);
	end_section(&p);

	check_cfg(&p);
	cfg_finalize_limits(out, out->global.maxconn ? out->global.maxconn :
			    cfg_global_maxconn_auto(out));

	for (i = 0; i < p.ndefs; i++) {
		free(p.defs[i].name);
		proxy_free(&p.defs[i].px);
	}
	free(p.defs);
	free(p.no_bind_check);

	if (diag->errors != errors0) {
		cfg_free(out);
		return -1;
	}
	return 0;
}

int cfg_load(const char *path, struct cfg *out, struct cfg_diag *diag)
{
	struct sbuf b;
	char buf[8192];
	FILE *fp;
	size_t n;
	int rc;

	cfg_init(out);
	fp = fopen(path, "re");
	if (!fp) {
		cfg_diag_add(diag, CFG_SEV_ERROR, path, 0, NULL, "cannot open: %s", strerror(errno));
		return -1;
	}
	sb_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sb_putn(&b, buf, n);
	if (ferror(fp)) {
		cfg_diag_add(diag, CFG_SEV_ERROR, path, 0, NULL, "read error");
		rc = -1;
		goto out;
	}
	if (b.err) {
		cfg_diag_add(diag, CFG_SEV_ERROR, path, 0, NULL, "out of memory");
		rc = -1;
		goto out;
	}
	rc = cfg_load_mem(path, b.p ? b.p : "", b.len, out, diag);
out:
	sb_free(&b);
	fclose(fp);
	return rc;
}
