#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyd/cfg.h"
#include "supervisor/policy.h"
#include "supervisor/svcfg.h"

struct svkw {
	const char *key;
	size_t nargs;           /* exact number of arguments */
	int (*parse)(struct svcfg *o, char **args, char *err, size_t errlen);
};

static int parse_path(char *dst, const char *src, char *err, size_t errlen)
{
	if (!src[0] || strlen(src) >= SVCFG_PATH_MAX) {
		snprintf(err, errlen, "path empty or longer than %d bytes", SVCFG_PATH_MAX - 1);
		return -1;
	}
	snprintf(dst, SVCFG_PATH_MAX, "%s", src);
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out, char *err,
		      size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		snprintf(err, errlen, "'%s' is not a number in 0..%lu", s, max);
		return -1;
	}
	*out = v;
	return 0;
}

#define TIME_KW(fn, field) \
	static int fn(struct svcfg *o, char **a, char *err, size_t errlen) \
	{ \
		return cfg_parse_time(a[0], &o->field, err, errlen); \
	}

TIME_KW(kw_tick, tick_ms)
TIME_KW(kw_start_timeout, start_timeout_ms)
TIME_KW(kw_drain_timeout, drain_timeout_ms)
TIME_KW(kw_kill_grace, kill_grace_ms)
TIME_KW(kw_shutdown_delay, shutdown_delay_ms)
TIME_KW(kw_shutdown_timeout, shutdown_timeout_ms)
TIME_KW(kw_restart_stable, stable_ms)

static int kw_runtime_dir(struct svcfg *o, char **a, char *err, size_t errlen)
{
	return parse_path(o->runtime_dir, a[0], err, errlen);
}

static int kw_db(struct svcfg *o, char **a, char *err, size_t errlen)
{
	if (!strcmp(a[0], "none")) {
		snprintf(o->db, sizeof(o->db), "none");
		return 0;
	}
	return parse_path(o->db, a[0], err, errlen);
}

static int kw_ctl_socket(struct svcfg *o, char **a, char *err, size_t errlen)
{
	if (strlen(a[0]) >= 108) {
		snprintf(err, errlen, "a unix socket path has at most 107 bytes");
		return -1;
	}
	return parse_path(o->ctl_socket, a[0], err, errlen);
}

static int kw_proxyd(struct svcfg *o, char **a, char *err, size_t errlen)
{
	return parse_path(o->proxyd, a[0], err, errlen);
}

static int kw_max_generations(struct svcfg *o, char **a, char *err, size_t errlen)
{
	unsigned long v;

	if (parse_uint(a[0], 1000, &v, err, errlen) == -1)
		return -1;
	if (v == 1) {
		snprintf(err, errlen, "must be 0 (no limit) or at least 2: a reload needs two");
		return -1;
	}
	o->max_generations = (unsigned)v;
	return 0;
}

static int kw_crash_loop(struct svcfg *o, char **a, char *err, size_t errlen)
{
	unsigned long v;

	if (parse_uint(a[0], 1000, &v, err, errlen) == -1)
		return -1;
	o->crash_loop = (unsigned)v;
	return 0;
}

static int kw_fd_budget(struct svcfg *o, char **a, char *err, size_t errlen)
{
	return parse_uint(a[0], 1UL << 40, &o->fd_budget, err, errlen);
}

static int kw_fd_guard(struct svcfg *o, char **a, char *err, size_t errlen)
{
	if (!strcmp(a[0], "refuse"))
		o->fd_guard = SVCFG_FDG_REFUSE;
	else if (!strcmp(a[0], "end-oldest"))
		o->fd_guard = SVCFG_FDG_END_OLDEST;
	else if (!strcmp(a[0], "off"))
		o->fd_guard = SVCFG_FDG_OFF;
	else {
		snprintf(err, errlen, "'%s': expected refuse, end-oldest or off", a[0]);
		return -1;
	}
	return 0;
}

static int kw_restart_backoff(struct svcfg *o, char **a, char *err, size_t errlen)
{
	unsigned lo, hi;

	if (cfg_parse_time(a[0], &lo, err, errlen) == -1 ||
	    cfg_parse_time(a[1], &hi, err, errlen) == -1)
		return -1;
	if (lo < 1000 || hi < lo) {
		snprintf(err, errlen, "expected MIN >= 1s and MAX >= MIN");
		return -1;
	}
	o->backoff_min_ms = lo;
	o->backoff_max_ms = hi;
	return 0;
}

static int kw_stats(struct svcfg *o, char **a, char *err, size_t errlen)
{
	unsigned lo, hi;

	if (strcmp(a[0], "prometheus")) {
		snprintf(err, errlen, "'%s': expected 'stats prometheus ADDR:PORT'", a[0]);
		return -1;
	}
	if (o->prom_text[0]) {
		snprintf(err, errlen, "given twice");
		return -1;
	}
	if (strlen(a[1]) >= sizeof(o->prom_text)) {
		snprintf(err, errlen, "address longer than %zu bytes", sizeof(o->prom_text) - 1);
		return -1;
	}
	if (cfg_parse_addr(a[1], CFG_ADDR_BIND, &o->prom_addr, &o->prom_addrlen, &lo, &hi, err,
			   errlen) == -1)
		return -1;
	snprintf(o->prom_text, sizeof(o->prom_text), "%s", a[1]);
	return 0;
}

static int kw_log_format(struct svcfg *o, char **a, char *err, size_t errlen)
{
	if (!strcmp(a[0], "json"))
		o->log_json = 1;
	else if (!strcmp(a[0], "text"))
		o->log_json = 0;
	else {
		snprintf(err, errlen, "'%s': expected text or json", a[0]);
		return -1;
	}
	return 0;
}

/* Sorted by key (bsearch). */
static const struct svkw svkws[] = {
	{ "crash-loop", 1, kw_crash_loop },
	{ "ctl-socket", 1, kw_ctl_socket },
	{ "db", 1, kw_db },
	{ "drain-timeout", 1, kw_drain_timeout },
	{ "fd-budget", 1, kw_fd_budget },
	{ "fd-guard", 1, kw_fd_guard },
	{ "kill-grace", 1, kw_kill_grace },
	{ "log-format", 1, kw_log_format },
	{ "max-generations", 1, kw_max_generations },
	{ "proxyd", 1, kw_proxyd },
	{ "restart-backoff", 2, kw_restart_backoff },
	{ "restart-stable", 1, kw_restart_stable },
	{ "runtime-dir", 1, kw_runtime_dir },
	{ "shutdown-delay", 1, kw_shutdown_delay },
	{ "shutdown-timeout", 1, kw_shutdown_timeout },
	{ "start-timeout", 1, kw_start_timeout },
	{ "stats", 2, kw_stats },
	{ "tick", 1, kw_tick },
};

static int svkw_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct svkw *)e)->key);
}

void svcfg_defaults(struct svcfg *o, const char *proxyd_default)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->runtime_dir, sizeof(o->runtime_dir), "/run/proxysv");
	snprintf(o->proxyd, sizeof(o->proxyd), "%s", proxyd_default);
	o->tick_ms = 1000;
	o->start_timeout_ms = 10000;
	o->drain_timeout_ms = 30000;
	o->kill_grace_ms = 5000;
	o->max_generations = 4;
	o->shutdown_timeout_ms = 30000;
	o->fd_guard = SVCFG_FDG_REFUSE;
	o->backoff_min_ms = 1000;
	o->backoff_max_ms = 30000;
	o->stable_ms = 60000;
	o->crash_loop = 3;
}

int svcfg_apply(struct svcfg *o, const struct cfg *c, char *err, size_t errlen)
{
	char e[256];

	for (size_t i = 0; i < c->nsup; i++) {
		const struct cfg_sup_entry *en = &c->sup[i];
		const struct svkw *kw = bsearch(en->key, svkws, sizeof(svkws) / sizeof(svkws[0]),
						sizeof(svkws[0]), svkw_cmp);

		/* Detection and action keys belong to policy.c (policy_load). */
		if (!kw && policy_is_key(en->key))
			continue;
		if (!kw) {
			snprintf(err, errlen, "%s:%d: '%s': unknown supervisor keyword",
				 en->loc.file ? en->loc.file : c->path, en->loc.line, en->key);
			return -1;
		}
		if (en->nargs != kw->nargs) {
			snprintf(err, errlen, "%s:%d: '%s': expects %zu argument%s",
				 en->loc.file ? en->loc.file : c->path, en->loc.line, en->key,
				 kw->nargs, kw->nargs > 1 ? "s" : "");
			return -1;
		}
		if (kw->parse(o, en->args, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s:%d: '%s': %s",
				 en->loc.file ? en->loc.file : c->path, en->loc.line, en->key, e);
			return -1;
		}
	}
	if (o->tick_ms < 10) {
		snprintf(err, errlen, "%s: 'tick': at least 10ms", c->path);
		return -1;
	}
	return 0;
}

const char *svcfg_fd_guard_name(enum svcfg_fd_guard g)
{
	switch (g) {
	case SVCFG_FDG_REFUSE: return "refuse";
	case SVCFG_FDG_END_OLDEST: return "end-oldest";
	case SVCFG_FDG_OFF: return "off";
	}
	return "?";
}
