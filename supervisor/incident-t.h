#ifndef SUPERVISOR_INCIDENT_T_H
#define SUPERVISOR_INCIDENT_T_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/detect-t.h"

/* Hysteresis per kind: an incident opens after open_ticks consecutive ticks
 * with a finding of (kind, subject), and resolves after resolve_ticks
 * consecutive ticks without one. */
struct inc_params {
	uint32_t open_ticks;     /* K, >= 1 */
	uint32_t resolve_ticks;  /* M, >= 1 */
};

/* One (kind, subject) being watched: a candidate (not open yet) or an open
 * incident. */
struct inc_entry {
	enum detect_kind kind;
	char subject[96];
	int64_t id;              /* store id once the caller stored it, else 0 */
	uint8_t open;
	uint8_t reloaded;        /* seeded from the store at a restart */
	uint8_t dead;            /* resolved or dropped: removed at the next tick */
	uint8_t reopen;          /* open, but its id was forgotten: next bad tick is IE_OPENED */
	uint32_t bad;            /* consecutive ticks with a finding */
	uint32_t clean;          /* consecutive ticks without one */
	uint64_t first_ms;       /* first bad tick of the current run (open time) */
	uint64_t last_ms;        /* last bad tick */
	char summary[200];       /* of the last finding, truncated */
	double value;            /* this tick's value */
	double peak;
	enum detect_severity severity;
	pid_t pid;
	uint16_t port;
};

enum inc_event_type {
	IE_OPENED = 0,
	IE_UPDATED,
	IE_RESOLVED,
};

/* What changed in one tick. entry indexes the tracker's entries and stays
 * valid until the next inc_tracker_tick; finding indexes the finding list
 * given to that tick (the one with the highest value of the subject),
 * SIZE_MAX for IE_RESOLVED. */
struct inc_event {
	enum inc_event_type type;
	size_t entry;
	size_t finding;
};

struct inc_tracker {
	struct inc_params params[DK_NKINDS];
	struct inc_entry *v;
	size_t len, cap;
	struct inc_event *ev;
	size_t nev, cap_ev;
	size_t *best;            /* scratch: per entry, the finding of this tick */
	size_t cap_best;
};

#endif
