/* procmap: which processes own which socket inodes, and facts about those
 * processes, from /proc. Vanished processes are skipped, not errors. */
#ifndef PROBES_PROCMAP_H
#define PROBES_PROCMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/procmap-t.h"

#define PM_ALL_SOCKETS SIZE_MAX

/* root: NULL for "/proc". Reads btime. Returns 0 or -1 with err filled. */
int procmap_init(struct procmap *pm, const char *root, char *err, size_t errlen);

/* Scans ROOT/[0-9]*\/fd and records, in out (replacing it), the owners of
 * the socket inodes listed in inos (sorted ascending, n entries); sockets not
 * asked for are ignored. When netns_ino is not 0, only processes in that
 * network namespace are scanned; when pids/npids is set, only those pids.
 * Processes whose fds cannot be read are counted in pm->denied.
 * n == PM_ALL_SOCKETS (inos ignored) records the owners of every socket
 * inode, for a caller that learns which ones it wants only later (a dump
 * running meanwhile); it filters the table itself.
 * The fd tables are read by up to one thread per CPU (the caller's
 * included), each writing only its own arrays; they are merged once all
 * have stopped.
 * Returns 0, or -1 with err filled (ROOT unreadable). */
int procmap_owners(struct procmap *pm, const uint32_t *inos, size_t n, uint64_t netns_ino,
		   const pid_t *pids, size_t npids, struct pm_owners *out,
		   char *err, size_t errlen);

/* What one process visit of a sweep costs in budget units (opening its
 * directories and checking its namespace), on top of one unit per fd. */
#define PM_SWEEP_PROC_COST 2

/* Starts a pass of sw over every process of ROOT (a pass in progress is
 * dropped), in the order o asks for; sw must be zeroed before its first
 * use. Returns 0, or -1 with err (ROOT unreadable, ENOMEM). */
int procmap_sweep_begin(struct procmap *pm, struct pm_sweep *sw, const struct pm_sweep_opts *o,
			char *err, size_t errlen);

/* Reads on from where the pass stopped, until *budget (decremented: one
 * unit per fd listed, PM_SWEEP_PROC_COST per process opened) is spent or the
 * pass ends; the budget is never overspent, so one below PM_SWEEP_PROC_COST
 * opens no process. Processes in skip (nskip pids, any order) are passed over.
 * Appends to out, neither replacing nor sorting it: in out->scanned, every
 * process whose fd table was read to its end by this step, with its fd
 * count; in out->v, every socket fd of those processes (also the ones an
 * earlier step read), and the sockets this step read of a process it did
 * not finish. Processes that cannot be read are counted in sw->denied or
 * sw->vanished. Returns 1 when the pass has ended (sw is no longer active),
 * 0 when there is more to read, -1 with err (ENOMEM; the pass is dropped). */
int procmap_sweep_step(struct procmap *pm, struct pm_sweep *sw, size_t *budget,
		       const pid_t *skip, size_t nskip, struct pm_owners *out,
		       char *err, size_t errlen);

/* Ends the pass (if any) and keeps the buffers for the next one. */
void procmap_sweep_end(struct pm_sweep *sw);
void procmap_sweep_free(struct pm_sweep *sw);

/* The fd count of pid in a table procmap_owners or procmap_sweep_step
 * filled (o->scanned, sorted by pid): 1 with *nfds, or 0 when pid was not
 * read. */
int pm_owners_nfds(const struct pm_owners *o, pid_t pid, uint32_t *nfds);

/* Reads the facts of one process. Returns 0, or -1 with errno ENOENT when it
 * has gone (or ESRCH), EACCES when it cannot be read at all. Fields that alone
 * are denied (exe of another user's process) are left empty and flagged. */
int procmap_proc(struct procmap *pm, pid_t pid, struct pm_proc *out);

/* Fills out (sorted by pid, replacing it) with the facts of every distinct
 * pid in owners, skipping vanished ones. A process that exists but cannot be
 * read is kept with only its pid set and exe_denied. nfds comes from
 * owners->scanned. Returns 0 or -1 (ENOMEM). */
int procmap_procs(struct procmap *pm, const struct pm_owners *owners, struct pm_procs *out);

/* Lookup helpers on sorted tables: first owner entry of ino (NULL if none),
 * and the process with this pid (NULL if none). */
const struct pm_owner *pm_owners_find(const struct pm_owners *o, uint32_t ino);
const struct pm_proc *pm_procs_find(const struct pm_procs *p, pid_t pid);

void pm_owners_free(struct pm_owners *o);
void pm_procs_free(struct pm_procs *p);

/* pidfd_open(2) of pid; -1 with errno (ENOSYS on old kernels). */
int procmap_pidfd(pid_t pid);

#endif
