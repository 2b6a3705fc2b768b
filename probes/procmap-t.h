#ifndef PROBES_PROCMAP_T_H
#define PROBES_PROCMAP_T_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Facts about one process, from /proc/PID/{stat,status,exe,cmdline}. */
struct pm_proc {
	pid_t pid;
	pid_t ppid;
	uid_t uid;           /* real uid */
	char state;          /* R S D Z T t X I ... as in /proc/PID/stat */
	uint8_t exe_denied;  /* exe could not be read (permission) */
	uint64_t start_ms;   /* start time, epoch ms (from starttime ticks + btime) */
	uint64_t netns_ino;  /* inode of /proc/PID/ns/net, 0 if unreadable */
	uint32_t nfds;       /* open fds counted while mapping (0 if not scanned) */
	char comm[16];
	char exe[256];       /* readlink of /proc/PID/exe, "" if denied */
	char cmdline[256];   /* NULs replaced by spaces, truncated */
};

/* One (socket inode, owning process, fd) triple. A socket shared by several
 * processes (inherited across fork) has one entry per process. */
struct pm_owner {
	uint32_t ino;
	pid_t pid;
	int fd;
};

/* Number of open fds of one process whose fd table was read. */
struct pm_fdcount {
	pid_t pid;
	uint32_t nfds;
};

struct pm_owners {
	struct pm_owner *v;  /* sorted by (ino, pid) after procmap_owners() */
	size_t len;
	size_t cap;
	/* Every process whose fds procmap_owners() read, sorted by pid, with
	 * its fd count; procmap_procs() copies it into pm_proc.nfds. Empty in
	 * tables built by hand. */
	struct pm_fdcount *scanned;
	size_t nscanned;
	size_t cap_scanned;
};

struct pm_procs {
	struct pm_proc *v;   /* sorted by pid */
	size_t len;
	size_t cap;
	/* procmap_procs() scratch (the distinct owner pids), kept so that
	 * the next call reuses it; freed by pm_procs_free(). */
	void *scratch;
	size_t cap_scratch;  /* bytes */
};

/* The order in which a sweep visits processes. */
enum pm_sweep_order {
	PM_SWEEP_BY_PID = 0,
	PM_SWEEP_BY_SIZE,    /* processes without a hint first, then fewest fds first */
};

struct pm_sweep_opts {
	uint64_t netns_ino;  /* only processes of this network namespace; 0: any */
	enum pm_sweep_order order;
	/* BY_SIZE: fd counts from an earlier visit, sorted by pid. A process
	 * without one is ordered by the size the kernel reports for its fd
	 * directory (the number of open fds since Linux 6.2). */
	const struct pm_fdcount *hint;
	size_t nhint;
	/* Sorted inodes (copied): the pass ends as soon as each has been
	 * seen. None: it ends when every process has been read. */
	const uint32_t *stop;
	size_t nstop;
};

struct pm_sweep_stop {
	uint32_t ino;
	uint8_t seen;
};

/* An incremental reading of the fd tables of every process
 * (procmap_sweep_begin/step), a bounded number of fds at a time:
 *
 *   begin -> step (budget spent: 0) -> step ... -> step (read all: 1) -> idle
 *
 * The process being read keeps its fd directory open between steps, and the
 * part of its listing not read yet, so that the next step goes on where the
 * last one stopped. */
struct pm_sweep {
	int active;          /* begun and not ended */
	int rootfd;          /* -1 when not active */
	uint64_t netns_ino;
	pid_t *pids;         /* the processes to visit, in order */
	size_t npids, cap_pids;
	size_t next;         /* index of the next one to open */
	pid_t cur;           /* the process being read, 0 when none */
	int fddir;           /* its fd directory, -1 when none */
	char *dents;         /* its listing; bytes dents_off..dents_len not read */
	size_t dents_len, dents_off;
	uint32_t cur_nfds;   /* its fds listed so far */
	struct pm_owner *pend; /* its sockets read so far, npend_out of them
				* already handed out by earlier steps */
	size_t npend, npend_out, cap_pend;
	struct pm_sweep_stop *stop; /* pm_sweep_opts.stop, sorted */
	size_t nstop, nstop_left, cap_stop;
	unsigned denied;     /* processes of this pass that could not be read */
	unsigned vanished;   /* processes that exited before they were read */
	uint64_t fds;        /* fd entries listed by this pass */
};

/* The /proc root is injectable so that unit tests run against a fake tree. */
struct procmap {
	char root[PATH_MAX]; /* "/proc" by default */
	uint64_t btime_ms;   /* boot time, epoch ms, from ROOT/stat "btime" */
	long clk_tck;
	unsigned denied;     /* processes whose fds could not be read (last scan) */
	unsigned vanished;   /* processes that exited during the last scan */
};

#endif
