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

/* The /proc root is injectable so that unit tests run against a fake tree. */
struct procmap {
	char root[PATH_MAX]; /* "/proc" by default */
	uint64_t btime_ms;   /* boot time, epoch ms, from ROOT/stat "btime" */
	long clk_tck;
	unsigned denied;     /* processes whose fds could not be read (last scan) */
	unsigned vanished;   /* processes that exited during the last scan */
};

#endif
