/* policy: the detection and action keys of the `supervisor` section.
 *
 *   act-on-foreign on|off          off: processes proxysv did not start are
 *                                  only observed
 *   dry-run on|off                 off: on records what would be done
 *   action KIND ACTION             ACTION: observe, drain, kill, destroy,
 *                                  shutdown-sessions (defaults: see
 *                                  act_policy_defaults)
 *   hysteresis KIND K M            open after K bad ticks, resolve after M
 *                                  clean ones (default 2 3; 1 3 for
 *                                  config_lint, reload_failed, generation_crash)
 *   rate-limit KIND N WINDOW       at most N actions per (kind, subject) per
 *                                  WINDOW (default 3 60s; N 0: no limit)
 *   destroy-idle TIME              half-closed sockets idle this long may be
 *                                  destroyed (30s)
 *   destroy-max N                  sockets per destroy action (1000)
 *   stale-kill deadline|idle|peer  when a stale generation may be killed
 *                                  (deadline)
 *   stale-idle TIME                an established session idle this long
 *                                  counts as idle for stale-kill idle (60s)
 *   threshold NAME VALUE           detector thresholds, NAME one of
 *                                  backlog-pct (80), half-close-min (10),
 *                                  half-close-age (60s), half-close-pct (5:
 *                                  the count threshold is at least this % of
 *                                  the proxy's maxconn; not applied when
 *                                  half-close-min is set and half-close-pct
 *                                  is not), group-window (2s),
 *                                  down-grace (5s), starve-pct (50),
 *                                  maxconn-pct (90), lossy-retrans (3),
 *                                  lossy-min (3)
 *   allow-listener ENTRY...        duplicate_listener allow-list: ADDR:PORT,
 *                                  :PORT or a program name
 *   watch-stats PATH               also read this stats socket (a proxy
 *                                  proxysv did not start), repeatable
 * KIND is a kind name (detect_kind_name) or `all`. TIME as in proxyd.cfg(5).
 * Library-like: errors go to the caller's buffer. */
#ifndef SUPERVISOR_POLICY_H
#define SUPERVISOR_POLICY_H

#include <stddef.h>

#include "proxyd/cfg-t.h"
#include "supervisor/act-t.h"
#include "supervisor/detect-t.h"
#include "supervisor/incident-t.h"

struct sv_policy {
	struct detect_opts det;
	struct inc_params inc[DK_NKINDS];   /* 0: the tracker's default */
	struct act_policy act;
	char **allow;                       /* owned; det.allow points here */
	size_t nallow;
	char **watch_stats;                 /* owned */
	size_t nwatch;
};

void policy_init(struct sv_policy *p);
void policy_free(struct sv_policy *p);

/* 1 when key is one of the keys above. */
int policy_is_key(const char *key);

/* Applies one entry. 1 applied, 0 not a policy key (nothing done), -1 a
 * bad value, with err "file:line: 'key': message". */
int policy_apply_entry(struct sv_policy *p, const struct cfg_sup_entry *e, char *err,
		       size_t errlen);

/* Applies every policy entry of c (other keys are left to their owner).
 * 0, or -1 at the first bad one. */
int policy_load(struct sv_policy *p, const struct cfg *c, char *err, size_t errlen);

/* Copies the hysteresis settings into t. */
void policy_apply_tracker(const struct sv_policy *p, struct inc_tracker *t);

#endif
