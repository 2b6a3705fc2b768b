/* snapshot: one probe pass (sockdiag + procmap + kernel + linkstats) turned
 * into plain, grouped data. */
#ifndef PROBES_SNAPSHOT_H
#define PROBES_SNAPSHOT_H

#include <stddef.h>

#include "probes/snapshot-t.h"
#include "probes/sockdiag-t.h"
#include "probes/procmap-t.h"

/* Reusable probe state (netlink socket, buffers), so that taking snapshot
 * after snapshot allocates nothing in the steady state. */
struct snap_probe {
	struct sockdiag sd;
	struct procmap pm;
	uint32_t *inos;        /* scratch: sorted inodes to map */
	size_t ninos, cap_inos;
	int open;
};

int snap_probe_open(struct snap_probe *p, const struct snap_opts *o, char *err, size_t errlen);
void snap_probe_close(struct snap_probe *p);

/* Takes a snapshot into s (reusing its arrays). 0, or -1 with err. */
int snapshot_take(struct snap_probe *p, const struct snap_opts *o, struct snapshot *s,
		  char *err, size_t errlen);

/* Rebuilds the grouped views (listeners, lsocks, owner_pids, counts,
 * state_total) from s->socks, s->owners and s->procs. snapshot_take calls
 * it; tests fill the raw tables by hand and call it. 0 or -1 (ENOMEM). */
int snapshot_group(struct snapshot *s);

void snapshot_free(struct snapshot *s);

/* Lookups. */
const struct snap_count *snapshot_count_find(const struct snapshot *s, pid_t pid, uint16_t lport);
const struct snap_listener *snapshot_listener_find(const struct snapshot *s, unsigned family,
						   const uint8_t *addr, uint16_t port);

#endif
