/* One epoll event loop per thread (the state is thread-local: every call
 * acts on the calling thread's loop): fd events, timers in a binary heap
 * keyed by monotonic milliseconds, a cached "now", before-sleep hooks, and
 * signals delivered through a signalfd (thread 0 only). Callbacks run in the loop's thread and must
 * never block. proxyd/loop.c is the only file that includes <sys/epoll.h>.
 *
 * Return conventions: int functions return 0, or -1 with errno set. */
#ifndef PROXYD_LOOP_H
#define PROXYD_LOOP_H

#include <stdint.h>

#include "proxyd/loop-t.h"

/* Creates the epoll instance and the timer heap. Must be called once before
 * anything else; loop_free undoes it (registrations are dropped, fds are
 * not closed, armed timers are disarmed). Both may be called again, as unit
 * tests do. */
int loop_init(void);
void loop_free(void);

/* Cached monotonic time in ms, refreshed after every wakeup. Stable during
 * one round of callbacks, so that timeouts computed in one round agree. */
uint64_t loop_now(void);
/* Cached wall-clock time in ms since the epoch, refreshed with loop_now. */
uint64_t loop_now_real(void);
/* Refreshes both cached clocks now (for code that ran for long). */
void loop_now_update(void);

/* --- fds --- */

/* Fills a registration; it is not registered yet. */
void loop_fd_init(struct loop_fd *lf, int fd, loop_fd_cb cb, void *arg);
/* Registers lf->fd for `events` (LOOP_IN and/or LOOP_OUT, LOOP_RDHUP, plus
 * LOOP_EDGE for edge-triggered). LOOP_ERR and LOOP_HUP are always reported.
 * events may be 0 (registered but silent except for errors). */
int loop_fd_add(struct loop_fd *lf, uint32_t events);
/* Changes the wanted events; no syscall when they are unchanged. */
int loop_fd_mod(struct loop_fd *lf, uint32_t events);
/* Unregisters (a no-op when idle). Call before closing the fd. Events already
 * collected in the current round for lf are discarded. */
void loop_fd_del(struct loop_fd *lf);
/* Same as loop_fd_del for an fd about to be closed that has no duplicate
 * (no dup, no fork): closing it is what removes it from epoll, which saves
 * a syscall. Close it right after. */
void loop_fd_forget(struct loop_fd *lf);

/* --- timers --- */

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg);
/* Arms (or moves, when already armed) t to fire at monotonic ms `expire`.
 * O(log n). Fails only when the heap cannot grow (ENOMEM). */
int loop_timer_arm(struct loop_timer *t, uint64_t expire);
/* Same, relative to loop_now(). */
int loop_timer_arm_in(struct loop_timer *t, uint64_t ms);
/* Disarms t; a no-op when it is not armed. O(log n). */
void loop_timer_cancel(struct loop_timer *t);
/* 1 if armed, else 0. */
int loop_timer_armed(const struct loop_timer *t);
/* Number of armed timers (for stats and tests). */
unsigned loop_timer_count(void);

/* --- hooks and signals --- */

/* Adds a function called before every sleep (after the round's callbacks and
 * expired timers, before the next epoll_wait); hooks may arm timers.
 * At most 8 hooks (ENOSPC). */
int loop_hook_add(loop_hook_cb cb, void *arg);
/* Blocks `signo` for normal delivery and routes it to cb through the
 * loop's signalfd; a later call for the same signal replaces cb. */
int loop_signal(int signo, loop_signal_cb cb, void *arg);

/* --- running --- */

/* One round: before-sleep hooks, wait for events for at most max_wait_ms
 * (-1: until the next timer or forever), dispatch fd events, then expired
 * timers. Returns the number of callbacks run, or -1 on a failing
 * epoll_wait (EINTR is not a failure). */
int loop_run_once(int max_wait_ms);
/* Runs rounds until loop_stop(). Returns 0, or -1 if epoll_wait failed. */
int loop_run(void);
/* Makes loop_run() return after the current round; callable from any
 * callback or hook (the round's wait then does not block). */
void loop_stop(void);

#endif
