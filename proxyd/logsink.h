/* A log_set_sink() sink (common/log.h) that writes each event line to
 * stderr as one JSON object, one write(2) per line: plog_json_event()
 * with ts (now), type "event", severity (err 3, warn 4, info 6, debug 7),
 * pid, "program" (arg: the program's name, a string that outlives the
 * sink), then the line's key=value pairs. Used by proxysv's `log-format
 * json` and by proxyd when PROXYD_LOG_JSON is set (proxyd(8),
 * ENVIRONMENT). Safe in any thread: it keeps no state. */
#ifndef PROXYD_LOGSINK_H
#define PROXYD_LOGSINK_H

#include <stddef.h>

#include "common/log.h"

void logsink_json(enum log_level lvl, const char *line, size_t len, void *arg);

#endif
