/* act: the supervisor's actions and the policy that chooses them. Every
 * side effect goes through struct act_ops; every decision returns records
 * for the store. */
#ifndef SUPERVISOR_ACT_H
#define SUPERVISOR_ACT_H

#include <stddef.h>
#include <stdint.h>

#include "probes/snapshot-t.h"
#include "supervisor/act-t.h"
#include "supervisor/detect-t.h"

struct sockdiag;

/* "observe", "drain", "kill", "destroy", "shutdown-sessions". */
const char *act_name(enum act_kind a);
/* "ok", "failed", "skipped", "rate-limited". */
const char *act_result_name(enum act_result r);
/* 0, or -1 for an unknown name. */
int act_parse(const char *s, enum act_kind *out);

/* Safe defaults: kill for duplicate_listener and stale_generation, destroy
 * for half_close_buildup, shutdown-sessions for session_on_down_server,
 * observe for the rest; at most 3 actions per (kind, subject) per 60 s;
 * foreign processes observed only; kill grace 5 s; destroy half-closed
 * sockets idle 30 s or more, at most 1000 per action; stale generations
 * killed past their deadline only. */
void act_policy_defaults(struct act_policy *p);

/* The real side effects: pidfd_open(2), pidfd_send_signal(2), poll(2) on
 * the pidfd, sockdiag_destroy on sd (may be NULL: destroy then fails with
 * ENOTCONN), stats_query with a 1 s deadline. */
void act_ops_system(struct act_ops *ops, struct sockdiag *sd);

void actor_init(struct actor *a, const struct act_policy *p, const struct act_ops *ops);
/* Closes the pidfds of kills still pending (they are not finished). */
void actor_free(struct actor *a);

/* Applies the policy of f's kind to f. opened: the incident opened at this
 * tick (an observe record, and records of actions skipped by policy, are
 * given then only, not at every tick). cur: the snapshot f came from (for
 * the targets of destroy and the reasons of a stale-generation kill).
 *   - foreign process (t->own 0) and act_on_foreign off: observe only;
 *   - the active generation is never drained or killed;
 *   - a duplicate_listener finding is acted on only when critical (then its
 *     pid is the owner of the stuck socket);
 *   - kill and drain need f->pid; destroy needs f->pid and chooses the
 *     process's client-side (a port listened on in the namespace) FIN_WAIT2
 *     and CLOSE_WAIT sockets idle >= destroy_idle_ms (destroying the
 *     proxy's client side makes it close both sockets of the session; the
 *     server-side CLOSE_WAIT alone does not release the pair);
 *   - shutdown-sessions needs a "server:B/S" subject and t->stats_path;
 *   - a stale generation is killed only for a reason of the policy
 *     (stale_reason): past its deadline, or idle/half-closed only, or
 *     sessions to one peer only;
 *   - rate limit per (kind, subject): past rate_max actions in the window
 *     one rate-limited record is given per window, nothing is done;
 *   - dry_run: records with dry_run set and result ok, nothing is done.
 * Appends at most max records to out and returns how many. */
size_t act_apply(struct actor *a, const struct finding *f, const struct act_target *t,
		 const struct snapshot *cur, uint64_t now_ms, int opened,
		 struct act_record *out, size_t max);

/* Second half of kills: SIGKILL to the processes still running past their
 * grace. One record per SIGKILL sent (or failed). */
size_t act_poll(struct actor *a, uint64_t now_ms, struct act_record *out, size_t max);

/* The reason a stale generation pid may be killed now under the policy, in
 * why; 1 if it may, 0 if not (why says what holds it). */
int act_stale_reason_ok(const struct act_policy *p, const struct snapshot *cur, pid_t pid,
			const struct act_target *t, char *why, size_t len);

/* The sockets destroy would target for pid (indexes into cur->socks), at
 * most max; returns how many. idx NULL: only counts them (max ignored). */
size_t act_destroy_targets(const struct act_policy *p, const struct snapshot *cur, pid_t pid,
			   size_t *idx, size_t max);

#endif
