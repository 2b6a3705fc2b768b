/* incident: hysteresis between findings (per tick) and incidents (per
 * (kind, subject) over time). Pure bookkeeping: the caller turns the events
 * into store calls. */
#ifndef SUPERVISOR_INCIDENT_H
#define SUPERVISOR_INCIDENT_H

#include <stdint.h>

#include "supervisor/detect-t.h"
#include "supervisor/incident-t.h"

/* Defaults: K = 2, M = 3 for the detectors; K = 1 for config_lint,
 * reload_failed and generation_crash (facts, not measurements). */
void inc_tracker_init(struct inc_tracker *t);
void inc_tracker_free(struct inc_tracker *t);
/* Back to the default K and M of every kind (a reload, before applying
 * the new settings). */
void inc_tracker_reset_params(struct inc_tracker *t);
/* Values 0 keep the current setting. */
void inc_tracker_set(struct inc_tracker *t, enum detect_kind k, uint32_t open_ticks,
		     uint32_t resolve_ticks);

/* One tick: the findings of this tick (several of one (kind, subject) count
 * once, with the highest value). Fills t->ev / t->nev:
 *   IE_OPENED    the K-th consecutive bad tick of a candidate;
 *   IE_UPDATED   every further bad tick of an open incident (value, peak);
 *   IE_RESOLVED  the M-th consecutive clean tick of an open incident.
 * A candidate that has a clean tick before opening is dropped. 0, or -1
 * (ENOMEM; the tracker is unchanged). */
int inc_tracker_tick(struct inc_tracker *t, const struct finding_list *fl, uint64_t now_ms);

/* Restart: an incident the store has open. It is open with that id, and
 * goes on (updated by findings) or resolves after M clean ticks. */
int inc_tracker_seed(struct inc_tracker *t, enum detect_kind k, const char *subject, int64_t id,
		     double peak, uint64_t opened_ms);
/* Forgets every incident id (the store dropped a tick: the ids it gave are
 * void); open entries are reopened at their next bad tick. */
void inc_tracker_forget_ids(struct inc_tracker *t);

struct inc_entry *inc_tracker_find(struct inc_tracker *t, enum detect_kind k, const char *subject);
/* The kind named s ("half_close_buildup"), or DK_NKINDS. */
enum detect_kind inc_kind_parse(const char *s);

#endif
