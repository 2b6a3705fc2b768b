/* Standalone mode: the view model from probe snapshots and detector
 * findings, without a supervisor. */
#ifndef TUI_MODEL_SNAP_H
#define TUI_MODEL_SNAP_H

#include <stdint.h>

#include "probes/snapshot-t.h"
#include "supervisor/detect-t.h"
#include "tui/model-t.h"

/* Fills m from snapshot s and the findings of detect_run on it. The
 * "generations" are the processes that own listening sockets; sockets are
 * summarised per (listening port, process), and each process's other
 * sockets (outgoing connections) in one row with port 0. Incidents keep the
 * time they were first seen in prev. 0 or -1 (ENOMEM). */
int tm_model_from_snapshot(struct tm_model *m, const struct tm_model *prev,
			   const struct snapshot *s, const struct finding_list *fl,
			   const char *host, int64_t started_ms);

#endif
