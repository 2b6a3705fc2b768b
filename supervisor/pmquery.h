/* pmquery: proxyctl's postmortem commands over the incident store, read
 * only: incidents, incident ID, samples. */
#ifndef SUPERVISOR_PMQUERY_H
#define SUPERVISOR_PMQUERY_H

#include <stdint.h>

#define PMQ_DB_DEFAULT "/run/proxysv/incidents.db"

/* argv[0] is the command name. Exit status: 0, or 2 (usage, database),
 * or 1 for `incident ID` when there is no such incident. */
int pmq_incidents_main(int argc, char **argv);
int pmq_incident_main(int argc, char **argv);
int pmq_samples_main(int argc, char **argv);

/* A point in time: epoch ms digits, an ISO 8601 UTC time
 * ("2026-11-21T07:00:00Z", seconds and Z optional, a space for the T), or
 * a duration before now ("90s", "15m", "2h", "7d", "500ms"). 0 or -1. */
int pmq_parse_when(const char *s, int64_t now_ms, int64_t *out);

#endif
