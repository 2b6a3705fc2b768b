/* The detection and action keys of the supervisor section (policy.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyd/cfg.h"
#include "supervisor/act.h"
#include "supervisor/incident.h"
#include "supervisor/policy.h"

static const char *const policy_keys[] = {
	"act-on-foreign", "dry-run", "action", "hysteresis", "rate-limit", "destroy-idle",
	"destroy-max", "stale-kill", "stale-idle", "threshold", "allow-listener", "watch-stats",
};

void policy_init(struct sv_policy *p)
{
	memset(p, 0, sizeof(*p));
	act_policy_defaults(&p->act);
}

static void policy_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void policy_free(struct sv_policy *p)
{
	policy_strv_free(p->allow, p->nallow);
	policy_strv_free(p->watch_stats, p->nwatch);
	memset(p, 0, sizeof(*p));
}

int policy_is_key(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(policy_keys) / sizeof(policy_keys[0]); i++)
		if (strcmp(key, policy_keys[i]) == 0)
			return 1;
	return 0;
}

static int policy_err(const struct cfg_sup_entry *e, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int policy_err(const struct cfg_sup_entry *e, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: '%s': %s", e->loc.file ? e->loc.file : "?", e->loc.line,
		 e->key, msg);
	errno = EINVAL;
	return -1;
}

static int policy_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int policy_bool(const char *s, uint8_t *out)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "off") == 0 || strcmp(s, "no") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* A kind name or "all": [*lo, *hi). */
static int policy_kinds(const char *s, unsigned *lo, unsigned *hi)
{
	enum detect_kind k;

	if (strcmp(s, "all") == 0) {
		*lo = 0;
		*hi = DK_NKINDS;
		return 0;
	}
	k = inc_kind_parse(s);
	if (k == DK_NKINDS)
		return -1;
	*lo = (unsigned)k;
	*hi = (unsigned)k + 1;
	return 0;
}

static int policy_strv_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -1;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -1;
	(*n)++;
	return 0;
}

static int policy_threshold(struct sv_policy *p, const struct cfg_sup_entry *e, char *err,
			    size_t errlen)
{
	static const struct {
		const char *name;
		int is_time;
		unsigned max;
		size_t off;
	} th[] = {
		{ "backlog-pct", 0, 100, offsetof(struct detect_opts, backlog_pct) },
		{ "half-close-min", 0, 1000000, offsetof(struct detect_opts, half_close_min) },
		{ "half-close-age", 1, 0, offsetof(struct detect_opts, half_close_age_ms) },
		{ "half-close-pct", 0, 100, offsetof(struct detect_opts, half_close_pct) },
		{ "group-window", 1, 0, offsetof(struct detect_opts, group_window_ms) },
		{ "down-grace", 1, 0, offsetof(struct detect_opts, down_grace_ms) },
		{ "starve-pct", 0, 100, offsetof(struct detect_opts, starve_pct) },
		{ "maxconn-pct", 0, 100, offsetof(struct detect_opts, maxconn_pct) },
		{ "lossy-retrans", 0, 255, offsetof(struct detect_opts, lossy_retrans) },
		{ "lossy-min", 0, 1000000, offsetof(struct detect_opts, lossy_min) },
	};
	char terr[128];
	unsigned v;
	size_t i;

	if (e->nargs != 2)
		return policy_err(e, err, errlen, "expects NAME VALUE");
	for (i = 0; i < sizeof(th) / sizeof(th[0]); i++) {
		if (strcmp(e->args[0], th[i].name) != 0)
			continue;
		if (th[i].is_time) {
			if (cfg_parse_time(e->args[1], &v, terr, sizeof(terr)) == -1)
				return policy_err(e, err, errlen, "%s: %s", th[i].name, terr);
		} else if (policy_uint(e->args[1], th[i].max, &v) == -1 || v == 0) {
			return policy_err(e, err, errlen, "%s: expects an integer in 1..%u",
					  th[i].name, th[i].max);
		}
		if (v == 0)
			return policy_err(e, err, errlen, "%s: must not be 0", th[i].name);
		*(uint32_t *)((char *)&p->det + th[i].off) = v;
		return 1;
	}
	return policy_err(e, err, errlen, "unknown threshold '%s'", e->args[0]);
}

int policy_apply_entry(struct sv_policy *p, const struct cfg_sup_entry *e, char *err,
		       size_t errlen)
{
	const char *k = e->key;
	char terr[128];
	unsigned lo, hi, i, a, b;
	enum act_kind act;

	if (!policy_is_key(k))
		return 0;
	if (strcmp(k, "allow-listener") == 0 || strcmp(k, "watch-stats") == 0) {
		if (e->nargs == 0 || (k[0] == 'w' && e->nargs != 1))
			return policy_err(e, err, errlen, "expects %s",
					  k[0] == 'w' ? "one PATH" : "at least one entry");
		for (i = 0; i < e->nargs; i++) {
			int rc = k[0] == 'w' ? policy_strv_add(&p->watch_stats, &p->nwatch, e->args[i])
				: policy_strv_add(&p->allow, &p->nallow, e->args[i]);

			if (rc == -1)
				return policy_err(e, err, errlen, "out of memory");
		}
		p->det.allow = (const char *const *)p->allow;
		p->det.nallow = p->nallow;
		return 1;
	}
	if (strcmp(k, "threshold") == 0)
		return policy_threshold(p, e, err, errlen);
	if (strcmp(k, "act-on-foreign") == 0 || strcmp(k, "dry-run") == 0) {
		uint8_t *dst = k[0] == 'a' ? &p->act.act_on_foreign : &p->act.dry_run;

		if (e->nargs != 1 || policy_bool(e->args[0], dst) == -1)
			return policy_err(e, err, errlen, "expects on or off");
		return 1;
	}
	if (strcmp(k, "action") == 0) {
		if (e->nargs != 2)
			return policy_err(e, err, errlen, "expects KIND ACTION");
		if (policy_kinds(e->args[0], &lo, &hi) == -1)
			return policy_err(e, err, errlen, "unknown kind '%s'", e->args[0]);
		if (act_parse(e->args[1], &act) == -1)
			return policy_err(e, err, errlen, "unknown action '%s' (observe, drain, kill,"
					  " destroy, shutdown-sessions)", e->args[1]);
		for (i = lo; i < hi; i++)
			p->act.kind[i].action = act;
		return 1;
	}
	if (strcmp(k, "hysteresis") == 0 || strcmp(k, "rate-limit") == 0) {
		int hys = k[0] == 'h';

		if (e->nargs != 3)
			return policy_err(e, err, errlen, hys ? "expects KIND K M" : "expects KIND N WINDOW");
		if (policy_kinds(e->args[0], &lo, &hi) == -1)
			return policy_err(e, err, errlen, "unknown kind '%s'", e->args[0]);
		if (policy_uint(e->args[1], 1000, &a) == -1 || (hys && a == 0))
			return policy_err(e, err, errlen, "bad count '%s'", e->args[1]);
		if (hys) {
			if (policy_uint(e->args[2], 1000, &b) == -1 || b == 0)
				return policy_err(e, err, errlen, "bad count '%s'", e->args[2]);
		} else if (cfg_parse_time(e->args[2], &b, terr, sizeof(terr)) == -1 || b == 0) {
			return policy_err(e, err, errlen, "bad window '%s'", e->args[2]);
		}
		for (i = lo; i < hi; i++) {
			if (hys) {
				p->inc[i].open_ticks = a;
				p->inc[i].resolve_ticks = b;
			} else {
				p->act.kind[i].rate_max = a;
				p->act.kind[i].rate_window_ms = b;
			}
		}
		return 1;
	}
	if (strcmp(k, "destroy-idle") == 0 || strcmp(k, "stale-idle") == 0) {
		if (e->nargs != 1 || cfg_parse_time(e->args[0], &a, terr, sizeof(terr)) == -1)
			return policy_err(e, err, errlen, "expects a time");
		if (k[0] == 'd')
			p->act.destroy_idle_ms = a;
		else
			p->act.stale_idle_ms = a;
		return 1;
	}
	if (strcmp(k, "destroy-max") == 0) {
		if (e->nargs != 1 || policy_uint(e->args[0], 1000000, &a) == -1 || a == 0)
			return policy_err(e, err, errlen, "expects an integer in 1..1000000");
		p->act.destroy_max = a;
		return 1;
	}
	/* stale-kill */
	if (e->nargs != 1)
		return policy_err(e, err, errlen, "expects deadline, idle or peer");
	if (strcmp(e->args[0], "deadline") == 0)
		p->act.stale_reason = ASR_DEADLINE;
	else if (strcmp(e->args[0], "idle") == 0)
		p->act.stale_reason = ASR_IDLE;
	else if (strcmp(e->args[0], "peer") == 0)
		p->act.stale_reason = ASR_PEER;
	else
		return policy_err(e, err, errlen, "expects deadline, idle or peer");
	return 1;
}

int policy_load(struct sv_policy *p, const struct cfg *c, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < c->nsup; i++)
		if (policy_apply_entry(p, &c->sup[i], err, errlen) == -1)
			return -1;
	/* The proxies proxysv runs use this configuration: their maxconn scales
	 * the half-closed threshold where no stats view tells it. A count set
	 * with half-close-min alone is meant as it is written. */
	p->det.half_close_maxconn = c->global.maxconn ? c->global.maxconn :
				    c->global.maxconn_eff;
	p->det.half_close_abs = p->det.half_close_min && !p->det.half_close_pct;
	return 0;
}

void policy_apply_tracker(const struct sv_policy *p, struct inc_tracker *t)
{
	size_t k;

	for (k = 0; k < DK_NKINDS; k++)
		inc_tracker_set(t, (enum detect_kind)k, p->inc[k].open_ticks, p->inc[k].resolve_ticks);
}
