#ifndef PROBES_SNAPSHOT_T_H
#define PROBES_SNAPSHOT_T_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/kernel-t.h"
#include "probes/linkstats-t.h"
#include "probes/procmap-t.h"
#include "probes/sockdiag-t.h"

/* A snapshot is plain data: one probe pass over one network namespace.
 * Everything is in flat arrays that index each other, so a history of
 * snapshots is cheap to keep and trivial to build by hand in tests.
 *
 *   listeners[i] --(first_lsock, nlsocks)--> lsocks[] --(first_owner, nowners)--> owner_pids[]
 *   counts[]     per (owner pid, local port): sockets by TCP state
 *   procs[]      every owner process, sorted by pid
 */

/* One listening socket (one inode) of a listener address. */
struct snap_lsock {
	uint32_t ino;
	uint64_t cookie;
	uint32_t rqueue;       /* accept queue length */
	uint32_t wqueue;       /* backlog limit */
	uint32_t uid;
	size_t first_owner;    /* index into owner_pids */
	size_t nowners;        /* 0 when the owner could not be seen */
};

/* Grouping scratch, private to snapshot.c. */
struct snap_key;

/* One listening address: (family, addr, port) in this namespace. listeners[]
 * is sorted by (port, family, addr), so one port's listeners are adjacent;
 * the lsocks of a listener are sorted by inode, and the owner pids of an
 * lsock ascending. */
struct snap_listener {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	size_t first_lsock;    /* index into lsocks */
	size_t nlsocks;
};

/* Sockets of one owner on one local port, by state. pid 0: owner unknown
 * (another user's process without privilege, an orphaned socket, or a
 * TIME_WAIT / NEW_SYN_RECV mini-socket, which have no inode). A socket
 * shared by several processes counts once under each of them.
 * oldest_idle_ms is an idle time, min(last_data_recv, last_data_sent,
 * last_ack_recv) of tcp_info: a lower bound of the time a socket has spent
 * in its state, not its age; 0 when no socket of that state had tcp_info. */
struct snap_count {
	pid_t pid;
	uint16_t lport;
	uint8_t is_listen_port; /* lport is a port this pid listens on */
	uint32_t n[SD_NSTATES];
	uint32_t oldest_idle_ms[SD_NSTATES]; /* max tcp_info idle time seen, per state */
};

struct snapshot {
	uint64_t t_mono_ms;
	uint64_t t_real_ms;
	uint64_t netns_ino;
	uint8_t have_owners;   /* procmap ran */
	uint8_t owners_partial; /* owners from a scan of snap_opts.scan_pids plus the
				 * incremental scan's (see snapshot_take); 0 after
				 * a scan of every process */
	unsigned denied;       /* processes we could not inspect */

	struct sd_table socks; /* every TCP socket dumped */
	struct pm_owners owners;
	struct pm_procs procs;

	struct snap_listener *listeners;
	size_t nlisteners;
	struct snap_lsock *lsocks;
	size_t nlsocks;
	pid_t *owner_pids;
	size_t nowner_pids;
	struct snap_count *counts; /* sorted by (pid, lport) */
	size_t ncounts;

	uint32_t state_total[SD_NSTATES]; /* namespace-wide counts, one per socket */

	/* Capacities of the arrays above and grouping scratch, kept so that
	 * regrouping allocates nothing once they have grown. All zero in a
	 * blank snapshot. */
	size_t cap_listeners, cap_lsocks, cap_owner_pids, cap_counts;
	struct snap_key *keys; /* opaque, snapshot.c */
	size_t cap_keys;
	size_t *lidx;
	size_t cap_lidx;
	struct snap_key *keys_tmp; /* radix sort of keys */
	size_t cap_keys_tmp;
	uint64_t *sock_order;  /* (inode << 32 | socket index), sorted by inode,
				* twice the sockets (the second half is the sort's
				* scratch) */
	size_t cap_sock_order;

	struct kn_state kernel;
	struct ls_table links;
};

/* What to observe. */
struct snap_opts {
	int nsfd;              /* NETNS_SELF or a namespace fd (borrowed) */
	uint8_t want_info;     /* tcp_info for ages and retransmissions */
	uint8_t want_owners;   /* map inodes to processes through /proc */
	uint8_t want_links;    /* interface statistics */
	const char *procroot;  /* NULL for /proc */
	const uint16_t *ports; /* only sockets with these local or remote ports
				* (at most SD_MAX_PORTS) */
	size_t nports;
	/* When nscan_pids is set (with want_owners), a take reads the fds of
	 * these processes in full, and other processes' incrementally, at
	 * most scan_budget fd entries a take; a pass over every process
	 * begins every full_every takes at most (see snapshot_take). */
	const pid_t *scan_pids;
	size_t nscan_pids;
	unsigned full_every;   /* 0: SNAP_FULL_EVERY (10) */
	size_t scan_budget;    /* 0: SNAP_SCAN_BUDGET (4096); at least 8 */
};

#endif
