/* Detectors: pure functions of snapshots and settings -> findings. They never
 * observe and never act; proxysv and `proxyctl diagnose` share them. */
#ifndef SUPERVISOR_DETECT_H
#define SUPERVISOR_DETECT_H

#include "probes/snapshot-t.h"
#include "supervisor/detect-t.h"

struct cfg_diag;

const char *detect_kind_name(enum detect_kind k);
const char *detect_severity_name(enum detect_severity s);

/* Runs every snapshot detector on (prev, cur); prev may be NULL (then the
 * ones that need a trend only use cur). Appends to out. 0, or -1 (ENOMEM). */
int detect_run(const struct snapshot *prev, const struct snapshot *cur,
	       const struct detect_opts *o, struct finding_list *out);

/* The individual detectors (same contract), for tests and for the supervisor. */
int detect_duplicate_listener(const struct snapshot *prev, const struct snapshot *cur,
			      const struct detect_opts *o, struct finding_list *out);
int detect_accept_backlog(const struct snapshot *prev, const struct snapshot *cur,
			  const struct detect_opts *o, struct finding_list *out);
int detect_half_close(const struct snapshot *prev, const struct snapshot *cur,
		      const struct detect_opts *o, struct finding_list *out);
int detect_stale_generation(const struct snapshot *prev, const struct snapshot *cur,
			    const struct detect_opts *o, struct finding_list *out);
int detect_kernel_tuning(const struct snapshot *prev, const struct snapshot *cur,
			 const struct detect_opts *o, struct finding_list *out);

/* The detectors of the proxy's view (snapshot cur may be NULL for the two
 * that do not look at sockets). */
int detect_session_on_down_server(const struct snapshot *cur, const struct detect_stats *st,
				  const struct detect_opts *o, struct finding_list *out);
int detect_server_queue_starvation(const struct detect_stats *st, const struct detect_opts *o,
				   struct finding_list *out);
int detect_maxconn_saturation(const struct detect_stats *st, const struct detect_opts *o,
			      struct finding_list *out);
/* Sockets with heavy retransmission, per peer address (snapshot with tcp_info). */
int detect_lossy_peer(const struct snapshot *prev, const struct snapshot *cur,
		      const struct detect_opts *o, struct finding_list *out);
/* One finding per warning of d (cfg_lint's), subject "cfg:FILE:LINE". */
int detect_config_lint(const struct cfg_diag *d, const struct detect_opts *o,
		       struct finding_list *out);
/* Every detector of the proxy's view: the three above that take st. */
int detect_run_stats(const struct snapshot *cur, const struct detect_stats *st,
		     const struct detect_opts *o, struct finding_list *out);

void finding_list_free(struct finding_list *l);

#endif
