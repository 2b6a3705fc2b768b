/* snapshot: one probe pass (sockdiag + procmap + kernel + linkstats) turned
 * into plain, grouped data. */
#ifndef PROBES_SNAPSHOT_H
#define PROBES_SNAPSHOT_H

#include <stddef.h>

#include "probes/snapshot-t.h"
#include "probes/sockdiag-t.h"
#include "probes/procmap-t.h"

/* The incremental owner scan of takes with snap_opts.scan_pids (see
 * snapshot_take): fd entries read from other processes' /proc/PID/fd per
 * take, and the fewest takes from the beginning of one pass over every
 * process to the next. At about 3 to 4 us an fd (listing and link, CPU in
 * the kernel), the default budget is 12 to 16 ms a take; a host with F fds
 * in the namespace is read once every max(full_every, F / budget) takes. */
#define SNAP_SCAN_BUDGET 4096u
#define SNAP_FULL_EVERY 10u

/* Reusable probe state (netlink socket, buffers), so that taking snapshot
 * after snapshot allocates nothing in the steady state. */
struct snap_probe {
	struct sockdiag sd;
	struct procmap pm;
	uint32_t *inos;        /* scratch: sorted inodes to map */
	size_t ninos, cap_inos;
	uint32_t *inos_tmp;    /* scratch: radix sort of inos */
	size_t cap_inos_tmp;
	int open;
	int pm_ready;          /* procmap_init done (on first want_owners) */
	/* Incremental owners (snap_opts.scan_pids). cache: the owners other
	 * processes were last seen to have, sorted by (ino, pid), for dumped
	 * inodes, and (scanned) the fd count of every process read, by pid. */
	struct pm_owners cache;
	uint32_t *known;       /* inodes every process was looked at for, sorted */
	size_t nknown, cap_known;
	unsigned since_full;   /* takes since the sweep last began */
	int cache_ok;          /* a sweep has ended: cache and known are complete */
	uint64_t full_scans;   /* sweeps that ended (passes over every process) */
	struct pm_sweep sweep; /* every process, pid order */
	struct pm_sweep hunt;  /* after unknown listening or half-closed inodes */
	struct pm_owners found; /* scratch: what a take's steps read */
	uint32_t *cycle;       /* inodes dumped before the running sweep began */
	size_t ncycle, cap_cycle;
	uint32_t *prev_inos;   /* the last take's inodes */
	size_t nprev_inos, cap_prev_inos;
	uint32_t *targets;     /* the running hunt's inodes, sorted */
	size_t ntargets, cap_targets;
	uint32_t *unknown;     /* scratch */
	size_t nunknown, cap_unknown;
	uint32_t *u32_tmp;     /* scratch: merges */
	size_t cap_u32_tmp;
	struct pm_owner *merge; /* scratch: the take's owners merged with the cache */
	size_t cap_merge;
	int took;              /* a take has mapped owners (inos is its) */
	int sweep_begun;
	unsigned sweep_denied; /* processes the last sweep could not read */
	uint64_t hunts;        /* hunts begun */
	size_t last_read;      /* budget units the last take's sweep and hunt spent */
};

int snap_probe_open(struct snap_probe *p, const struct snap_opts *o, char *err, size_t errlen);
void snap_probe_close(struct snap_probe *p);

/* Takes a snapshot into s (reusing its arrays): a sock_diag dump of every TCP
 * state (with tcp_info when o->want_info; when o->ports is set, sockets with
 * one of those ports on the local or the remote side), the owners of the
 * dumped inodes among the processes of the same network namespace
 * (o->want_owners; /proc is read by another thread while the dump runs),
 * kernel counters and settings, link statistics (o->want_links), the times,
 * and the grouped views.
 *
 * Without o->scan_pids, every process's fds are read (a full scan, as a
 * one-shot diagnosis wants). With o->scan_pids (a supervisor's repeated
 * takes), the fds of those processes are read in full every take, and other
 * processes' incrementally, at most o->scan_budget fd entries a take
 * (SNAP_SCAN_BUDGET when 0; a process opened costs PM_SWEEP_PROC_COST more):
 *   - a sweep reads every process in pid order, resuming each take where
 *     the last one stopped (within a process too); a new sweep begins when
 *     the last one has ended and o->full_every takes (SNAP_FULL_EVERY when
 *     0) have passed since it began;
 *   - a hunt begins when a listening or half-closed socket (CLOSE_WAIT,
 *     FIN_WAIT1/2, LAST_ACK, CLOSING) has an inode that no process is known
 *     to hold and that no finished sweep or hunt has looked for: processes
 *     no pass has read yet first (the usual owner of a new socket), then the
 *     fewest fds first; it ends once it has seen every inode it was after,
 *     and takes up to half the budget while a sweep runs. A hunt that begins
 *     after the dump uses what the take has left of the budget at once.
 * Owners found persist between takes (snap_probe.cache): a process read to
 * the end replaces its entries, one read in part adds to them; entries go
 * when their inode leaves the dump or their process has exited (a known
 * inode whose last owner exited is hunted again). So a new listening socket
 * of a small process gets its owner in the take that first dumps it or the
 * next; one of a process with many fds once the hunt has read every process
 * with fewer fds and that one, at half the budget a take while a sweep runs;
 * an established socket of another process counts under pid 0 until the
 * sweep reaches its owner. The /proc reads of a take are bounded by the
 * budget plus the fd tables of o->scan_pids. s->owners_partial is 1 for such
 * takes. 0, or -1 with err; after -1 the contents of s are unspecified until
 * the next successful take (it can still be freed). */
int snapshot_take(struct snap_probe *p, const struct snap_opts *o, struct snapshot *s,
		  char *err, size_t errlen);

/* Rebuilds the grouped views (listeners, lsocks, owner_pids, counts,
 * state_total) from s->socks, s->owners and s->procs. snapshot_take calls
 * it; tests fill the raw tables by hand and call it. owners and procs are
 * sorted first when they are not (by (ino, pid) and by pid). Owners are used
 * only when s->have_owners is set. 0 or -1 (ENOMEM). */
int snapshot_group(struct snapshot *s);

void snapshot_free(struct snapshot *s);

/* Lookups (binary search). addr is 16 bytes, as in struct sd_sock. */
const struct snap_count *snapshot_count_find(const struct snapshot *s, pid_t pid, uint16_t lport);
const struct snap_listener *snapshot_listener_find(const struct snapshot *s, unsigned family,
						   const uint8_t *addr, uint16_t port);
/* 1 when some socket of the snapshot listens on port (any address), else 0. */
int snapshot_port_listened(const struct snapshot *s, uint16_t port);

#endif
