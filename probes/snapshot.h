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
	uint32_t *inos_tmp;    /* scratch: radix sort of inos */
	size_t cap_inos_tmp;
	int open;
	int pm_ready;          /* procmap_init done (on first want_owners) */
	/* Partial scans (snap_opts.scan_pids): what the last full scan found,
	 * kept for the sockets still dumped and the processes still alive. */
	struct pm_owners cache; /* owners, sorted by (ino, pid) */
	uint32_t *known;       /* inodes the last full scan looked for, sorted */
	size_t nknown, cap_known;
	unsigned since_full;   /* takes since the last full scan */
	int cache_ok;          /* a full scan has filled cache and known */
	uint64_t full_scans;   /* how many takes scanned every process */
};

int snap_probe_open(struct snap_probe *p, const struct snap_opts *o, char *err, size_t errlen);
void snap_probe_close(struct snap_probe *p);

/* Takes a snapshot into s (reusing its arrays): a sock_diag dump of every TCP
 * state (with tcp_info when o->want_info; when o->ports is set, sockets with
 * one of those ports on the local or the remote side), the owners of the
 * dumped inodes among the processes of the same network namespace
 * (o->want_owners; /proc is read by other threads while the dump runs, see
 * procmap_owners), kernel counters and settings, link statistics
 * (o->want_links), the times, and the grouped views. With o->scan_pids, the
 * owners are those of a scan of these pids, plus, for the inodes of other
 * processes, the owners found by the last scan of every process (dropped
 * when the inode leaves the dump or the process has exited); every process
 * is scanned again when a listening or half-closed socket (CLOSE_WAIT,
 * FIN_WAIT1/2, LAST_ACK, CLOSING) has an inode that neither scan looked
 * for, or every o->full_every takes; s->owners_partial tells which kind
 * of take it was. 0, or -1 with err; after
 * -1 the contents of s are unspecified until the next successful take (it
 * can still be freed). */
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
