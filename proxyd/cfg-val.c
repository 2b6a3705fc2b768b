/* Value parsers, diagnostics, names and the derived limits of the
 * configuration library. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/sbuf.h"
#include "proxyd/cfg.h"

/* HAProxy's timers are signed 32-bit milliseconds. */
#define CFG_TIME_MAX 2147483647u

/* ---- diagnostics ------------------------------------------------------- */

void cfg_diag_init(struct cfg_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void cfg_diag_free(struct cfg_diag *d)
{
	size_t i;

	for (i = 0; i < d->nmsgs; i++)
		free(d->msgs[i].text);
	free(d->msgs);
	memset(d, 0, sizeof(*d));
}

static void diag_vadd(struct cfg_diag *d, enum cfg_sev sev, const char *file, int line,
		      const char *kw, const char *fmt, va_list ap)
{
	struct sbuf b;
	char *text;

	if (sev == CFG_SEV_ERROR)
		d->errors++;
	else
		d->warnings++;

	sb_init(&b);
	if (file && line > 0)
		sb_printf(&b, "%s:%d: ", file, line);
	else if (file)
		sb_printf(&b, "%s: ", file);
	if (kw)
		sb_printf(&b, "'%s': ", kw);
	sb_vprintf(&b, fmt, ap);
	text = sb_take(&b);
	if (!text)
		goto nomem;

	if (d->nmsgs == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		struct cfg_msg *n = realloc(d->msgs, ncap * sizeof(*n));

		if (!n) {
			free(text);
			goto nomem;
		}
		d->msgs = n;
		d->cap = ncap;
	}
	d->msgs[d->nmsgs].sev = sev;
	d->msgs[d->nmsgs].line = line;
	d->msgs[d->nmsgs].text = text;
	d->nmsgs++;
	return;
nomem:
	d->nomem = 1;
}

void cfg_diag_add(struct cfg_diag *d, enum cfg_sev sev, const char *file, int line,
		  const char *kw, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, sev, file, line, kw, fmt, ap);
	va_end(ap);
}

void cfg_diag_print(const struct cfg_diag *d, FILE *fp)
{
	size_t i;

	for (i = 0; i < d->nmsgs; i++)
		fprintf(fp, "%s: %s\n", d->msgs[i].sev == CFG_SEV_ERROR ? "error" : "warning",
			d->msgs[i].text);
	if (d->nomem)
		fprintf(fp, "error: out of memory: some messages were lost\n");
}

/* ---- numbers, times, sizes --------------------------------------------- */

/* Leading decimal digits of s into *v; returns the first non-digit, or NULL
 * if there is no digit or the value overflows 64 bits (*ovf set). */
static const char *parse_digits(const char *s, uint64_t *v, int *ovf)
{
	uint64_t x = 0;
	const char *p = s;

	*ovf = 0;
	while (*p >= '0' && *p <= '9') {
		unsigned dg = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - dg) / 10) {
			*ovf = 1;
			return NULL;
		}
		x = x * 10 + dg;
		p++;
	}
	if (p == s)
		return NULL;
	*v = x;
	return p;
}

int cfg_parse_time(const char *s, unsigned *ms, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		uint64_t mult;  /* microseconds per unit */
	} units[] = {
		{ "us", 1 },
		{ "ms", 1000 },
		{ "s", 1000000 },
		{ "m", 60000000ull },
		{ "h", 3600000000ull },
		{ "d", 86400000000ull },
	};
	uint64_t v, us;
	const char *p;
	size_t i;
	int ovf;

	p = parse_digits(s, &v, &ovf);
	if (!p) {
		if (ovf)
			snprintf(err, errlen, "'%s': too large (at most %u ms)", s, CFG_TIME_MAX);
		else
			snprintf(err, errlen, "'%s': not a time (digits with a unit among us, ms, s, m, h, d)",
				 s);
		return -1;
	}
	if (!*p) {
		us = v > UINT64_MAX / 1000 ? UINT64_MAX : v * 1000;
	} else {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(p, units[i].unit))
				break;
		if (i == sizeof(units) / sizeof(units[0])) {
			snprintf(err, errlen, "'%s': unknown unit '%s' (us, ms, s, m, h, d)", s, p);
			return -1;
		}
		us = v > UINT64_MAX / units[i].mult ? UINT64_MAX : v * units[i].mult;
	}
	/* microseconds round up to the next millisecond, as HAProxy does */
	if (us == UINT64_MAX || (us + 999) / 1000 > CFG_TIME_MAX) {
		snprintf(err, errlen, "'%s': too large (at most %u ms, about 24.8 days)", s,
			 CFG_TIME_MAX);
		return -1;
	}
	*ms = (unsigned)((us + 999) / 1000);
	return 0;
}

int cfg_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	uint64_t v, mult = 1;
	const char *p;
	int ovf;

	p = parse_digits(s, &v, &ovf);
	if (!p) {
		if (ovf)
			snprintf(err, errlen, "'%s': too large", s);
		else
			snprintf(err, errlen, "'%s': not a size (digits with an optional unit k, m, g)", s);
		return -1;
	}
	if (*p) {
		if (p[1]) {
			snprintf(err, errlen, "'%s': unknown unit '%s' (k, m, g)", s, p);
			return -1;
		}
		switch (*p) {
		case 'k': case 'K':
			mult = 1024;
			break;
		case 'm': case 'M':
			mult = 1024 * 1024;
			break;
		case 'g': case 'G':
			mult = 1024 * 1024 * 1024;
			break;
		default:
			snprintf(err, errlen, "'%s': unknown unit '%s' (k, m, g)", s, p);
			return -1;
		}
	}
	if (v > UINT64_MAX / mult) {
		snprintf(err, errlen, "'%s': too large", s);
		return -1;
	}
	*out = v * mult;
	return 0;
}

void cfg_format_time(unsigned ms, char *buf, size_t len)
{
	if (ms && ms % 86400000u == 0)
		snprintf(buf, len, "%ud", ms / 86400000u);
	else if (ms && ms % 3600000u == 0)
		snprintf(buf, len, "%uh", ms / 3600000u);
	else if (ms && ms % 60000u == 0)
		snprintf(buf, len, "%um", ms / 60000u);
	else if (ms && ms % 1000u == 0)
		snprintf(buf, len, "%us", ms / 1000u);
	else
		snprintf(buf, len, "%ums", ms);
}

/* ---- addresses --------------------------------------------------------- */

static int parse_port(const char *s, unsigned *port)
{
	uint64_t v;
	const char *p;
	int ovf;

	p = parse_digits(s, &v, &ovf);
	if (!p || *p || v < 1 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int cfg_parse_addr(const char *s, unsigned flags, struct sockaddr_storage *ss, socklen_t *len,
		   unsigned *port_lo, unsigned *port_hi, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *ports = NULL;
	const char *dash;
	size_t hl;
	unsigned lo = 0, hi = 0;
	int bracket = 0;

	if (*s == '/' || !strncmp(s, "unix@", 5) || !strncmp(s, "abns@", 5)) {
		snprintf(err, errlen, "'%s': unix sockets are not supported", s);
		return -1;
	}
	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end) {
			snprintf(err, errlen, "'%s': missing ']'", s);
			return -1;
		}
		hl = (size_t)(end - s - 1);
		if (hl >= sizeof(host))
			goto bad_host;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		bracket = 1;
		if (end[1] == ':')
			ports = end + 2;
		else if (end[1]) {
			snprintf(err, errlen, "'%s': expected ':' after ']'", s);
			return -1;
		}
	} else {
		const char *colon = strrchr(s, ':');

		if (colon) {
			hl = (size_t)(colon - s);
			ports = colon + 1;
		} else {
			hl = strlen(s);
		}
		if (hl >= sizeof(host))
			goto bad_host;
		memcpy(host, s, hl);
		host[hl] = '\0';
	}

	if (!ports || !*ports) {
		if (!(flags & CFG_ADDR_PORT_OPTIONAL)) {
			snprintf(err, errlen, "'%s': missing port", s);
			return -1;
		}
	} else {
		dash = strchr(ports, '-');
		if (dash) {
			char tmp[16];
			size_t n = (size_t)(dash - ports);

			if (!(flags & CFG_ADDR_RANGE)) {
				snprintf(err, errlen, "'%s': port ranges are only allowed on bind lines", s);
				return -1;
			}
			if (n >= sizeof(tmp) || (memcpy(tmp, ports, n), tmp[n] = '\0',
						 parse_port(tmp, &lo) == -1) ||
			    parse_port(dash + 1, &hi) == -1 || hi < lo) {
				snprintf(err, errlen, "'%s': bad port range (P1-P2 with 1 <= P1 <= P2 <= 65535)", s);
				return -1;
			}
		} else {
			if (parse_port(ports, &lo) == -1) {
				snprintf(err, errlen, "'%s': bad port '%s' (1..65535)", s, ports);
				return -1;
			}
			hi = lo;
		}
	}

	memset(ss, 0, sizeof(*ss));
	if (!bracket && (!host[0] || !strcmp(host, "*"))) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (!(flags & CFG_ADDR_BIND)) {
			snprintf(err, errlen, "'%s': missing address", s);
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons((uint16_t)lo);
		*len = sizeof(*sin);
	} else if (!bracket && inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)lo);
		*len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (!(flags & CFG_ADDR_BIND) &&
		    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
			snprintf(err, errlen, "'%s': missing address", s);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)lo);
		*len = sizeof(*sin6);
	} else {
		goto bad_host;
	}
	if (!(flags & CFG_ADDR_BIND) && ss->ss_family == AF_INET &&
	    ((struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY)) {
		snprintf(err, errlen, "'%s': missing address", s);
		return -1;
	}
	*port_lo = lo;
	*port_hi = hi;
	return 0;

bad_host:
	snprintf(err, errlen, "'%s': not a numeric IPv4 or IPv6 address (host names are not resolved)",
		 s);
	return -1;
}

void cfg_addr_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		if (!inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)))
			break;
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
		return;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		if (!inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)))
			break;
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
		return;
	}
	case AF_UNIX: {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;

		snprintf(buf, len, "unix:%.*s", (int)sizeof(sun->sun_path), sun->sun_path);
		return;
	}
	default:
		break;
	}
	snprintf(buf, len, "?");
}

/* ---- lookups and names ------------------------------------------------- */

int cfg_proxy_find(const struct cfg *c, const char *name, unsigned cap)
{
	size_t i;

	for (i = 0; i < c->nproxies; i++)
		if ((c->proxies[i].cap & cap) == cap && !strcmp(c->proxies[i].name, name))
			return (int)i;
	return -1;
}

const struct cfg_sup_entry *cfg_sup_get(const struct cfg *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->nsup; i++)
		if (!strcmp(c->sup[i].key, key))
			return &c->sup[i];
	return NULL;
}

unsigned cfg_timeout_get(const struct cfg_proxy *px, enum cfg_timeout t)
{
	const struct cfg_timeouts *to = &px->to;

#define IS_SET(x) (to->set & (1u << (x)))
	switch (t) {
	case CFG_TO_CLIENT_FIN:
		return IS_SET(CFG_TO_CLIENT_FIN) ? to->ms[t] : to->ms[CFG_TO_CLIENT];
	case CFG_TO_SERVER_FIN:
		return IS_SET(CFG_TO_SERVER_FIN) ? to->ms[t] : to->ms[CFG_TO_SERVER];
	case CFG_TO_QUEUE:
		return IS_SET(CFG_TO_QUEUE) ? to->ms[t] : to->ms[CFG_TO_CONNECT];
	case CFG_TO_HTTP_KEEP_ALIVE:
		/* HAProxy: unset, http-request applies, then client */
		if (IS_SET(CFG_TO_HTTP_KEEP_ALIVE))
			return to->ms[t];
		return IS_SET(CFG_TO_HTTP_REQUEST) ? to->ms[CFG_TO_HTTP_REQUEST] :
		       to->ms[CFG_TO_CLIENT];
	case CFG_TO_HTTP_REQUEST:
		return IS_SET(CFG_TO_HTTP_REQUEST) ? to->ms[t] : to->ms[CFG_TO_CLIENT];
	case CFG_TO_CONNECT:
	case CFG_TO_CLIENT:
	case CFG_TO_SERVER:
	case CFG_TO_TUNNEL:
	case CFG_TO_CHECK:
		return to->ms[t];
	case CFG_TO_COUNT:
		break;
	}
#undef IS_SET
	return 0;
}

const char *cfg_timeout_name(enum cfg_timeout t)
{
	static const char *const names[CFG_TO_COUNT] = {
		[CFG_TO_CONNECT] = "connect",
		[CFG_TO_CLIENT] = "client",
		[CFG_TO_SERVER] = "server",
		[CFG_TO_CLIENT_FIN] = "client-fin",
		[CFG_TO_SERVER_FIN] = "server-fin",
		[CFG_TO_TUNNEL] = "tunnel",
		[CFG_TO_QUEUE] = "queue",
		[CFG_TO_CHECK] = "check",
		[CFG_TO_HTTP_REQUEST] = "http-request",
		[CFG_TO_HTTP_KEEP_ALIVE] = "http-keep-alive",
	};

	return (unsigned)t < CFG_TO_COUNT ? names[t] : "?";
}

const char *cfg_balance_name(enum cfg_balance b)
{
	switch (b) {
	case CFG_BALANCE_ROUNDROBIN:
		return "roundrobin";
	case CFG_BALANCE_LEASTCONN:
		return "leastconn";
	case CFG_BALANCE_SOURCE:
		return "source";
	case CFG_BALANCE_FIRST:
		return "first";
	}
	return "?";
}

const char *cfg_mode_name(enum cfg_mode m)
{
	switch (m) {
	case CFG_MODE_TCP:
		return "tcp";
	case CFG_MODE_HTTP:
		return "http";
	}
	return "?";
}

const char *cfg_stats_level_name(enum cfg_stats_level l)
{
	switch (l) {
	case CFG_STATS_LEVEL_USER:
		return "user";
	case CFG_STATS_LEVEL_OPERATOR:
		return "operator";
	case CFG_STATS_LEVEL_ADMIN:
		return "admin";
	}
	return "?";
}

/* ---- HTTP -------------------------------------------------------------- */

enum cfg_http_conn cfg_http_conn_mode(const struct cfg_proxy *fe, const struct cfg_proxy *be)
{
	enum cfg_http_conn m = fe->http_conn;

	if (be && be->http_conn > m)
		m = be->http_conn;
	return m;
}

const char *cfg_http_conn_name(enum cfg_http_conn m)
{
	switch (m) {
	case CFG_HTTP_KAL:
		return "http-keep-alive";
	case CFG_HTTP_SCL:
		return "http-server-close";
	case CFG_HTTP_CLO:
		return "httpclose";
	}
	return "?";
}

const char *cfg_http_reuse_name(enum cfg_http_reuse r)
{
	switch (r) {
	case CFG_REUSE_SAFE:
		return "safe";
	case CFG_REUSE_NEVER:
		return "never";
	case CFG_REUSE_AGGRESSIVE:
		return "aggressive";
	case CFG_REUSE_ALWAYS:
		return "always";
	}
	return "?";
}

/* "200", "200-399", "200,301-302": 1 when status is listed. */
static int status_list_match(const char *p, unsigned status)
{
	unsigned long lo, hi;
	char *end;

	while (*p) {
		lo = strtoul(p, &end, 10);
		if (end == p)
			return 0;
		hi = lo;
		p = end;
		if (*p == '-') {
			hi = strtoul(p + 1, &end, 10);
			if (end == p + 1)
				return 0;
			p = end;
		}
		if (status >= lo && status <= hi)
			return 1;
		if (*p != ',')
			return 0;
		p++;
	}
	return 0;
}

int cfg_http_expect_match(const struct cfg_http_expect *e, unsigned status)
{
	char code[16];
	regex_t re;
	int r;

	switch (e->kind) {
	case CFG_EXPECT_NONE:
		return status >= 200 && status < 400;
	case CFG_EXPECT_STATUS:
		r = status_list_match(e->pattern, status);
		break;
	case CFG_EXPECT_RSTATUS:
		if (regcomp(&re, e->pattern, REG_EXTENDED | REG_NOSUB) != 0)
			return 0;
		snprintf(code, sizeof(code), "%u", status);
		r = regexec(&re, code, 0, NULL, 0) == 0;
		regfree(&re);
		break;
	default:
		return 0;
	}
	return e->neg ? !r : r;
}

unsigned cfg_http_max_head(const struct cfg *c)
{
	return c->global.bufsize - c->global.maxrewrite;
}

/* ---- derived limits ---------------------------------------------------- */

unsigned cfg_srv_dynmaxconn(unsigned minconn, unsigned maxconn, unsigned fullconn, unsigned beconn)
{
	uint64_t ramp;

	if (!maxconn)
		return 0;
	if (beconn >= fullconn)
		return maxconn;
	if (minconn == maxconn)
		return maxconn;
	/* 64-bit product: beconn * maxconn overflows 32 bits for large limits */
	ramp = (uint64_t)beconn * maxconn / fullconn;
	return ramp > minconn ? (unsigned)ramp : minconn;
}

unsigned cfg_srv_slowstart_maxconn(unsigned limit, unsigned slowstart_ms, unsigned elapsed_ms)
{
	uint64_t pct, v;

	if (!limit || !slowstart_ms || elapsed_ms >= slowstart_ms)
		return limit;
	pct = 100ull * elapsed_ms / slowstart_ms;
	v = limit * pct / 100;
	return v > 1 ? (unsigned)v : 1;
}

unsigned cfg_srv_slowstart_weight(unsigned weight, unsigned slowstart_ms, unsigned elapsed_ms)
{
	uint64_t v;

	if (!weight || !slowstart_ms || elapsed_ms >= slowstart_ms)
		return weight;
	/* rounded up: a server coming back is never left out entirely */
	v = ((uint64_t)weight * elapsed_ms + slowstart_ms - 1) / slowstart_ms;
	return v > 1 ? (unsigned)v : 1;
}
