/* The `supervisor` section of the proxyd configuration: proxysv's own keys.
 * Every key, with its default (see proxysv(8)):
 *
 *   runtime-dir PATH          /run/proxysv
 *   db PATH|none              RUNTIME-DIR/incidents.db
 *   ctl-socket PATH           RUNTIME-DIR/control.sock
 *   proxyd PATH               the proxyd installed beside proxysv
 *   tick TIME                 1s
 *   start-timeout TIME        10s
 *   drain-timeout TIME        30s (the global hard-stop-after wins when set)
 *   kill-grace TIME           5s
 *   max-generations N         4 (0: no limit)
 *   shutdown-delay TIME       0
 *   shutdown-timeout TIME     30s
 *   fd-guard refuse|end-oldest|off   refuse
 *   fd-budget N               0 (no budget: only the per-process limit is checked)
 *   restart-backoff MIN MAX   1s 30s
 *   restart-stable TIME       60s
 *   crash-loop N              3
 *   stats prometheus ADDR:PORT  none (no metrics endpoint; read at start only)
 *   log-format text|json      text (proxysv's own event lines; -J is json)
 *
 * The detection and action keys (act-on-foreign, dry-run, action,
 * hysteresis, rate-limit, destroy-idle, destroy-max, stale-kill,
 * stale-idle, threshold, allow-listener, watch-stats) belong to policy.h:
 * svcfg_apply skips them, policy_load checks them.
 *
 * Library-like: fills err ("file:line: 'key': message"), never logs. */
#ifndef SUPERVISOR_SVCFG_H
#define SUPERVISOR_SVCFG_H

#include <stddef.h>
#include <sys/socket.h>

#include "proxyd/cfg-t.h"

enum svcfg_fd_guard {
	SVCFG_FDG_REFUSE = 0,
	SVCFG_FDG_END_OLDEST,
	SVCFG_FDG_OFF,
};

#define SVCFG_PATH_MAX 512

struct svcfg {
	char runtime_dir[SVCFG_PATH_MAX];
	char db[SVCFG_PATH_MAX];        /* "" when none */
	char ctl_socket[SVCFG_PATH_MAX];
	char proxyd[SVCFG_PATH_MAX];
	unsigned tick_ms;
	unsigned start_timeout_ms;
	unsigned drain_timeout_ms;
	unsigned kill_grace_ms;
	unsigned max_generations;
	unsigned shutdown_delay_ms;
	unsigned shutdown_timeout_ms;
	enum svcfg_fd_guard fd_guard;
	unsigned long fd_budget;
	unsigned backoff_min_ms;
	unsigned backoff_max_ms;
	unsigned stable_ms;
	unsigned crash_loop;
	char prom_text[64];             /* "" when no metrics endpoint */
	struct sockaddr_storage prom_addr;
	socklen_t prom_addrlen;
	int log_json;                   /* log-format json */
};

/* Defaults; proxyd_default is the proxyd path when the key is absent. */
void svcfg_defaults(struct svcfg *o, const char *proxyd_default);
/* Applies c's supervisor entries over o. Reports the first error (-1). */
int svcfg_apply(struct svcfg *o, const struct cfg *c, char *err, size_t errlen);
const char *svcfg_fd_guard_name(enum svcfg_fd_guard g);

#endif
