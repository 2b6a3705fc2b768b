/* svtick: proxysv's detection pipeline for one tick, after the probes:
 * the stats sockets -> detectors -> hysteresis -> actions (policy) -> the
 * store (incidents, actions, samples), and the JSON of what is open. */
#ifndef SUPERVISOR_SVTICK_H
#define SUPERVISOR_SVTICK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/json.h"
#include "common/sbuf.h"
#include "probes/snapshot-t.h"
#include "proxyd/cfg-t.h"
#include "supervisor/act-t.h"
#include "supervisor/detect-t.h"
#include "supervisor/incident-t.h"
#include "supervisor/policy.h"
#include "supervisor/statsrc-t.h"

struct store;
struct sockdiag;

#define SVT_NRESULTS (AR_RATE_LIMITED + 1)

/* One of the supervisor's generations, as the tick sees it. */
struct svt_gen {
	int64_t gen;
	pid_t pid;
	uint8_t live;          /* not exited */
	uint8_t active;
	uint8_t past_deadline; /* draining past its deadline, or being stopped */
};

struct svt_in {
	const struct snapshot *prev;   /* NULL on the first tick */
	const struct snapshot *cur;    /* NULL when the probes failed */
	const struct svt_gen *gens;
	size_t ngens;
	struct store *store;           /* NULL: no store; else inside its tick */
	uint64_t now_ms;               /* epoch ms */
	const uint16_t *listen_ports;  /* the supervisor's listening ports */
	size_t nlisten_ports;
};

struct svtick {
	struct sv_policy pol;
	struct cfg_diag lint;
	char **stats_paths;            /* the proxy's own stats sockets (config) */
	size_t nstats;
	struct stats_view *views, *prev_views;
	size_t nviews, nprev, cap_views, cap_prev;
	char **view_paths;             /* the socket each view was read from */
	size_t cap_paths;
	struct sbuf scratch;
	struct inc_tracker tr;
	struct actor act;
	unsigned stats_errors;         /* stats socket reads that failed */
	char last_stats_error[160];
	unsigned actions;              /* action records written */
	/* For the metrics: incidents opened by the tracker, action decisions
	 * by [action][incident kind][result] (a kill's SIGKILL after its
	 * grace is part of the kill, not counted again). Kept across
	 * svtick_configure. */
	uint64_t inc_opened[DK_NKINDS];
	uint64_t act_count[ACT_NKINDS][DK_NKINDS][SVT_NRESULTS];
};

/* Sets up the pipeline for configuration c: policy keys, lint, stats
 * sockets. sd is the sock_diag handle destroy uses (may be NULL). On a
 * reload call svtick_configure again. 0, or -1 with err (a bad policy key). */
int svtick_init(struct svtick *t, const struct cfg *c, struct sockdiag *sd, char *err,
		size_t errlen);
int svtick_configure(struct svtick *t, const struct cfg *c, char *err, size_t errlen);
void svtick_free(struct svtick *t);

/* Restart: seeds the tracker with the store's open incidents. Returns how
 * many, or -1. */
int svtick_seed(struct svtick *t, struct store *st);

/* One tick. Store writes go into the caller's store tick. */
void svtick_run(struct svtick *t, const struct svt_in *in);

/* The caller's store tick was dropped: its incident ids are void. */
void svtick_store_dropped(struct svtick *t);

/* The watch JSON arrays "incidents" (open ones) and "servers" (the views). */
void svtick_incidents_json(const struct svtick *t, struct json *j, uint64_t now_ms);
void svtick_servers_json(const struct svtick *t, const struct svt_gen *gens, size_t ngens,
			 struct json *j);

#endif
