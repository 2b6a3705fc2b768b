/* Lint: settings that are valid but were the root causes of the field
 * incidents (see the "LINT WARNINGS" section of proxyd.cfg(5)). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/sbuf.h"
#include "proxyd/cfg.h"

/* Thresholds; the man page quotes them. */
#define LINT_FIN_AFTER_MS       30000u          /* client/server above: half-close lint */
#define LINT_TUNNEL_MS          60000u          /* session idle timeout above: down-server lint */
#define LINT_HARD_STOP_MS       3600000u        /* any timeout above: hard-stop-after lint */
#define LINT_TINY_MAXCONN       10u             /* effective maxconn below: "tiny" */
#define LINT_MAX_NAMES          5

static const char *px_kind(const struct cfg_proxy *px)
{
	if ((px->cap & (CFG_CAP_FE | CFG_CAP_BE)) == (CFG_CAP_FE | CFG_CAP_BE))
		return "listen";
	return px->cap & CFG_CAP_FE ? "frontend" : "backend";
}

static int to_set(const struct cfg_proxy *px, enum cfg_timeout t)
{
	return (px->to.set & (1u << t)) != 0;
}

static int to_line(const struct cfg_proxy *px, enum cfg_timeout t)
{
	return to_set(px, t) ? px->to.loc[t].line : px->loc.line;
}

/* "1h", or "no limit" for 0. */
static void fmt_to(unsigned ms, char *buf, size_t len)
{
	if (ms)
		cfg_format_time(ms, buf, len);
	else
		snprintf(buf, len, "no limit");
}

/* Half-closed connections: with client-fin (server-fin) unset, the side
 * that already sent its FIN waits for the peer as long as the full idle
 * timeout (incidents 1 and 4). */
static void lint_fin(const struct cfg *c, const struct cfg_proxy *px, struct cfg_diag *d,
		     enum cfg_timeout idle, enum cfg_timeout fin, const char *side)
{
	unsigned ms = px->to.ms[idle];
	char t[32], kw[32];

	if (to_set(px, fin) || (ms && ms <= LINT_FIN_AFTER_MS))
		return;
	fmt_to(ms, t, sizeof(t));
	snprintf(kw, sizeof(kw), "timeout %s", cfg_timeout_name(idle));
	cfg_diag_add(d, CFG_SEV_WARNING, c->path, to_line(px, idle), kw,
		     "%s %s: 'timeout %s' is not set, so half-closed %s connections "
		     "(FIN_WAIT2 on one side, CLOSE_WAIT on the other) live as long as "
		     "'timeout %s' (%s); set 'timeout %s' (e.g. 3s)",
		     px_kind(px), px->name, cfg_timeout_name(fin), side, cfg_timeout_name(idle), t,
		     cfg_timeout_name(fin));
}

/* A session on a server marked DOWN lives until its idle timeout unless the
 * server has on-marked-down shutdown-sessions (incident 2). In TCP mode the
 * idle timeout of an established session is `timeout tunnel` when set, else
 * `timeout server`/`client`. */
static void lint_down_sessions(const struct cfg *c, const struct cfg_proxy *px,
			       struct cfg_diag *d)
{
	enum cfg_timeout t = to_set(px, CFG_TO_TUNNEL) ? CFG_TO_TUNNEL : CFG_TO_SERVER;
	unsigned ms = px->to.ms[t];
	struct sbuf names;
	size_t i, n = 0;
	char ts[32], kw[32];

	if (!px->nservers || (ms && ms <= LINT_TUNNEL_MS))
		return;
	sb_init(&names);
	for (i = 0; i < px->nservers; i++) {
		if (px->servers[i].flags & CFG_SRV_SHUTDOWN_ON_DOWN)
			continue;
		if (n < LINT_MAX_NAMES)
			sb_printf(&names, "%s%s", n ? ", " : "", px->servers[i].name);
		n++;
	}
	if (n > LINT_MAX_NAMES)
		sb_printf(&names, " and %zu more", n - LINT_MAX_NAMES);
	if (n) {
		fmt_to(ms, ts, sizeof(ts));
		snprintf(kw, sizeof(kw), "timeout %s", cfg_timeout_name(t));
		cfg_diag_add(d, CFG_SEV_WARNING, c->path, to_line(px, t), kw,
			     "%s %s: sessions on a server marked DOWN stay open until this timeout (%s) "
			     "because %s %s no 'on-marked-down shutdown-sessions' (%s); add it to the "
			     "servers or to 'default-server'",
			     px_kind(px), px->name, ts, n == 1 ? "server" : "servers",
			     n == 1 ? "has" : "have", sb_cstr(&names));
	}
	sb_free(&names);
}

/* The dynamic limit at the lowest load (one connection on the backend)
 * (incident 3). */
static void lint_dynmaxconn(const struct cfg *c, const struct cfg_proxy *px, struct cfg_diag *d)
{
	size_t i;

	for (i = 0; i < px->nservers; i++) {
		const struct cfg_server *s = &px->servers[i];
		unsigned eff, upto;

		if (!s->maxconn || s->minconn >= s->maxconn)
			continue;
		eff = cfg_srv_dynmaxconn(s->minconn, s->maxconn, px->fullconn, 1);
		if (eff >= s->maxconn ||
		    (eff >= LINT_TINY_MAXCONN && (unsigned long long)eff * 10 >= s->maxconn))
			continue;
		/* the lowest backend load at which the limit rises above eff */
		upto = (unsigned)(((unsigned long long)(eff + 1) * px->fullconn + s->maxconn - 1) /
				  s->maxconn);
		cfg_diag_add(d, CFG_SEV_WARNING, c->path, s->loc.line, NULL,
			     "server %s/%s: effective maxconn is %u while the backend has fewer than %u "
			     "connections (minconn %u, maxconn %u, fullconn %u%s); raise minconn, or set "
			     "minconn equal to maxconn",
			     px->name, s->name, eff, upto, s->minconn, s->maxconn, px->fullconn,
			     px->set & CFG_PX_SET_FULLCONN ? "" :
			     " computed as 10% of the frontends' maxconn");
	}
}

/* HTTP: a client sending its request head a byte at a time is only cut by
 * `timeout http-request`; without it `timeout client` applies between
 * bytes, so a few hundred slow clients hold every connection (slowloris). */
static void lint_http(const struct cfg *c, const struct cfg_proxy *px, struct cfg_diag *d)
{
	char ts[32];

	if (px->mode != CFG_MODE_HTTP)
		return;
	if ((px->cap & CFG_CAP_FE) && !to_set(px, CFG_TO_HTTP_REQUEST)) {
		fmt_to(px->to.ms[CFG_TO_CLIENT], ts, sizeof(ts));
		cfg_diag_add(d, CFG_SEV_WARNING, c->path, px->loc.line, "timeout http-request",
			     "%s %s: not set in mode http: a client sending its request slowly is "
			     "only cut by 'timeout client' (%s) between bytes, so slow clients can "
			     "hold every connection (slowloris); set it (e.g. 10s)",
			     px_kind(px), px->name, ts);
	}
	if (!(px->cap & CFG_CAP_BE))
		return;
	if (px->http_reuse == CFG_REUSE_ALWAYS)
		cfg_diag_add(d, CFG_SEV_WARNING, c->path, px->http_reuse_loc.line, "http-reuse",
			     "backend %s: 'always' sends a client's first request over an idle "
			     "connection the server may be closing at that moment; the request then "
			     "fails and is not retried; 'safe' avoids it", px->name);
	if ((px->set & CFG_PX_SET_HTTP_REUSE) && px->http_reuse != CFG_REUSE_NEVER &&
	    px->http_conn != CFG_HTTP_KAL)
		cfg_diag_add(d, CFG_SEV_WARNING, c->path, px->http_reuse_loc.line, "http-reuse",
			     "backend %s: no effect with 'option %s': server connections are closed "
			     "after each response, none is ever reused", px->name,
			     cfg_http_conn_name(px->http_conn));
}

void cfg_lint(const struct cfg *c, struct cfg_diag *d)
{
	const struct cfg_proxy *worst_px = NULL;
	enum cfg_timeout worst_t = CFG_TO_CLIENT;
	unsigned worst = 0;
	size_t i;
	int t;

	for (i = 0; i < c->nproxies; i++) {
		const struct cfg_proxy *px = &c->proxies[i];

		if (px->cap & CFG_CAP_FE)
			lint_fin(c, px, d, CFG_TO_CLIENT, CFG_TO_CLIENT_FIN, "client");
		if (px->cap & CFG_CAP_BE) {
			lint_fin(c, px, d, CFG_TO_SERVER, CFG_TO_SERVER_FIN, "server");
			lint_down_sessions(c, px, d);
			lint_dynmaxconn(c, px, d);
		}
		lint_http(c, px, d);
		for (t = 0; t < CFG_TO_COUNT; t++) {
			if (t == CFG_TO_CONNECT || t == CFG_TO_QUEUE || t == CFG_TO_CHECK)
				continue;
			if (to_set(px, t) && px->to.ms[t] > worst) {
				worst = px->to.ms[t];
				worst_px = px;
				worst_t = t;
			}
		}
	}

	/* An old generation lives as long as its longest session: with
	 * timeouts of hours and no hard-stop-after, for days (incident 1). */
	if (!(c->global.set & CFG_GLOBAL_SET_HARD_STOP_AFTER) && worst > LINT_HARD_STOP_MS) {
		char ts[32], kw[32];

		cfg_format_time(worst, ts, sizeof(ts));
		snprintf(kw, sizeof(kw), "timeout %s", cfg_timeout_name(worst_t));
		cfg_diag_add(d, CFG_SEV_WARNING, c->path, worst_px->to.loc[worst_t].line, kw,
			     "%s %s: %s with no 'hard-stop-after' in 'global': after a reload the old "
			     "process stays until its last session ends, and any traffic renews this "
			     "timeout, so old generations can live for days; set 'hard-stop-after'",
			     px_kind(worst_px), worst_px->name, ts);
	}
}
