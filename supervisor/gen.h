/* Generations: the state x event table and the set of generations.
 *
 * Nothing here reads a clock or touches a process: times come in as
 * arguments (monotonic ms) and processes are reached through struct gen_ops,
 * so unit tests drive it with a fake clock and fake processes. The caller's
 * loop only waits and dispatches: it calls gen_dispatch on READY and
 * gen_exited on a reaped child, and gen_expire when gen_next_deadline is due.
 *
 * Return conventions: int functions return 0, or -1 (err filled). */
#ifndef SUPERVISOR_GEN_H
#define SUPERVISOR_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/gen-t.h"

void gen_set_init(struct gen_set *s, const struct gen_ops *ops, void *arg,
		  const struct gen_opts *o, int64_t first_num);
/* Frees every generation record (processes are not touched). */
void gen_set_free(struct gen_set *s);

/* Starts a new generation with the listener ids lis (copied). When
 * max_generations would be exceeded, the oldest draining generations are
 * ended first (KILL). Refused (-1) while another one is starting (the caller
 * coalesces: see gen_reload_request) or while shutting down. */
struct gen *gen_start(struct gen_set *s, uint64_t now, const int *lis, size_t nlis,
		      const char *sha256, char *err, size_t errlen);

/* One event for one generation, through the table. Events a state does not
 * handle are ignored (returns 0); -1 only for an impossible argument. */
int gen_dispatch(struct gen_set *s, struct gen *g, enum gen_event ev, uint64_t now);

/* The process of g was reaped with this waitpid status. */
void gen_exited(struct gen_set *s, struct gen *g, int wstatus, uint64_t now);

/* Fires DEADLINE for every generation whose deadline is <= now. */
void gen_expire(struct gen_set *s, uint64_t now);

/* The earliest pending deadline or crash restart time, 0 when none. */
uint64_t gen_next_deadline(const struct gen_set *s);

/* 1 when a crash restart is due at now (the caller then starts one). */
int gen_restart_due(const struct gen_set *s, uint64_t now);

/* A reload was asked for. Returns 1 when the caller should start a
 * generation now, 0 when one is starting already (the request is
 * coalesced: gen_take_pending() returns 1 once that start has ended). */
int gen_reload_request(struct gen_set *s);
int gen_take_pending(struct gen_set *s);

/* Graceful shutdown: no more starts or restarts; a starting generation is
 * stopped, the others drain with at most timeout_ms left. */
void gen_shutdown(struct gen_set *s, uint64_t now, unsigned timeout_ms);

/* Drops EXITED generations from the set (their records are freed). */
void gen_sweep(struct gen_set *s);

struct gen *gen_find_pid(const struct gen_set *s, pid_t pid);
struct gen *gen_find_num(const struct gen_set *s, int64_t num);
/* Generations not EXITED. */
size_t gen_live(const struct gen_set *s);
/* 1 when some live generation holds listener id. */
int gen_uses_listener(const struct gen_set *s, int id);

const char *gen_state_name(enum gen_state st);
const char *gen_note_name(enum gen_note n);

/* The reload guard's arithmetic: the fds the live generations hold plus
 * what the new one needs must fit budget (0 = no budget). Returns 1 when
 * it fits, 0 when not, with the figures in why. */
int gen_fd_fits(uint64_t live_fds, uint64_t need, uint64_t budget, char *why, size_t len);

/* Formats a waitpid status: "exit 0", "signal 9 (SIGKILL)". */
void gen_status_text(int wstatus, char *buf, size_t len);

#endif
