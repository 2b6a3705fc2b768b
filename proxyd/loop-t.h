/* The event loop's types: fd registrations and timers are embedded by their
 * owners (sessions, listeners, checks), so registering allocates nothing.
 *
 * A struct loop_fd is either idle (not registered) or registered with a set
 * of wanted events:
 *
 *   IDLE --loop_fd_add--> REGISTERED --loop_fd_del--> IDLE
 *                          |  ^
 *                          +--+ loop_fd_mod (no syscall when unchanged)
 *
 * A struct loop_timer is either disarmed (idx == 0) or armed in the heap:
 *
 *   DISARMED --loop_timer_arm--> ARMED --fires or loop_timer_cancel--> DISARMED
 *                                  |  ^
 *                                  +--+ loop_timer_arm again: moved, O(log n)
 */
#ifndef PROXYD_LOOP_T_H
#define PROXYD_LOOP_T_H

#include <stdint.h>

/* Event bits, numerically equal to epoll's (checked in loop.c), so that the
 * loop passes them through without translation. */
#define LOOP_IN     0x001u       /* readable (or a listener has connections) */
#define LOOP_OUT    0x004u       /* writable (or a connect completed) */
#define LOOP_ERR    0x008u       /* error pending: always reported */
#define LOOP_HUP    0x010u       /* both directions closed: always reported */
#define LOOP_RDHUP  0x2000u      /* peer shut down its writing side */
#define LOOP_EDGE   0x80000000u  /* edge-triggered registration (flag, not an event) */

struct loop_fd;
struct loop_timer;

/* Called with the events that occurred (LOOP_IN|LOOP_OUT|LOOP_ERR|LOOP_HUP|
 * LOOP_RDHUP). The callback may loop_fd_del and close this or any other fd,
 * and reuse the memory of the struct loop_fd: events already collected for a
 * deleted registration are dropped. */
typedef void (*loop_fd_cb)(struct loop_fd *lf, uint32_t events);

/* Called once when the timer expires; the timer is disarmed by then, and the
 * callback may re-arm it. */
typedef void (*loop_timer_cb)(struct loop_timer *t);

typedef void (*loop_signal_cb)(int signo, void *arg);
typedef void (*loop_hook_cb)(void *arg);

struct loop_fd {
	int fd;
	uint32_t events;    /* registered set incl. LOOP_EDGE; 0 when idle */
	uint8_t registered; /* 1 between loop_fd_add and loop_fd_del */
	loop_fd_cb cb;
	void *arg;          /* owner, for the callback */
};

struct loop_timer {
	uint64_t expire;    /* monotonic ms, valid when armed */
	uint64_t seq;       /* arming order: equal expiries fire first-armed first */
	uint32_t idx;       /* 1-based position in the heap; 0 = disarmed */
	loop_timer_cb cb;
	void *arg;
};

#endif
