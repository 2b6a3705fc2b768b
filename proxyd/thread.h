/* Event loops in several threads (`nbthread`).
 *
 * Thread 0 is the process's main thread: it owns the listeners, the
 * signals, the stats socket, the metrics endpoint and the health checks,
 * and it runs sessions like every other thread. Each thread has its own
 * event loop (loop.c keeps its state per thread), session pools and list
 * of sessions; a session lives and dies in the thread that took it over.
 *
 * What threads share, and how:
 *   - proxies, servers, queues and their counters: the backend layer
 *     (queue.c, lb.c, server state) runs under px_lock(), a recursive
 *     process-wide lock; session-layer event counters (bytes, requests,
 *     errors) are relaxed atomic additions (PX_ADD/PX_INC in proxy.h);
 *   - work for another thread (an accepted connection, a queued session
 *     that got its slot, sessions to shut down) is posted to that thread's
 *     mailbox with thread_send(): a FIFO of messages and an eventfd that
 *     wakes its loop; the message runs there, in order;
 *   - the stats socket and the metrics endpoint read everything (other
 *     threads' sessions included) between thread_isolate() and
 *     thread_release(): every other thread waits, parked at the top of its
 *     loop, holding no lock, until released.
 *
 * Lock order: px_lock, then a mailbox's lock. Nothing blocks while holding
 * a mailbox's lock. Only thread 0 isolates, never while holding px_lock.
 *
 * Return conventions: int functions return 0, or -1 with errno set. */
#ifndef PROXYD_THREAD_H
#define PROXYD_THREAD_H

#include <stdint.h>
#include <sys/socket.h>

/* Set by thread_setup; 1 until then. */
extern unsigned thread_count;
/* The calling thread's number, 0 .. thread_count - 1. */
extern __thread unsigned thread_id;

struct thread_msg;
typedef void (*thread_msg_cb)(struct thread_msg *m);

/* A message; copied into the mailbox, so the sender's copy may be on its
 * stack. Pointers in it must stay valid until the receiver runs it (or
 * the receiver checks they are still what they were, as sessions do
 * with their id). */
struct thread_msg {
	thread_msg_cb fn;
	void *a;
	void *b;
	uint64_t u;
	int fd;
	socklen_t len;
	struct sockaddr_storage ss;
};

/* Functions each thread runs: init at its start (before its loop runs;
 * returns 0 or -1), fini at its end (after its loop stopped). Thread 0's
 * are called by main itself. */
struct thread_hooks {
	int (*init)(void);
	void (*fini)(void);
};

/* Prepares n threads' mailboxes (1 <= n <= 64) and registers thread 0's
 * with its loop (loop_init must have run in the calling thread, which
 * becomes thread 0). */
int thread_setup(unsigned n);
/* Starts threads 1 .. n-1, each running hooks->init, its loop until
 * thread_stop_loops(), then hooks->fini. Waits until each one's init
 * returned: -1 if one failed (the ones started are stopped and joined). */
int thread_start(const struct thread_hooks *hooks);
/* Makes every other thread's loop return (loop_stop in each), then joins
 * them. Call from thread 0 after its own loop returned. */
void thread_stop_join(void);
/* Frees the mailboxes (after thread_stop_join). */
void thread_free(void);

/* Posts m to thread tid's mailbox; it runs there in the order posted. To
 * the calling thread itself, it runs from its loop too (not now). Fails
 * only on ENOMEM. */
int thread_send(unsigned tid, const struct thread_msg *m);
/* Posts m to every thread but the caller; returns how many failed. */
unsigned thread_send_others(const struct thread_msg *m);

/* Parks every other thread (thread 0 only): on return, nothing else runs
 * until thread_release(). Re-entrant calls nest. */
void thread_isolate(void);
void thread_release(void);

/* The backend layer's lock (recursive; in proxy.c, so that the backend
 * layer links without the threads). */
void px_lock(void);
void px_unlock(void);

/* Picks the thread for a new connection: the one with the fewest live
 * sessions, ties to the next in turn. counts[i] is thread i's. */
unsigned thread_pick(const unsigned *counts, unsigned n, unsigned *rr);

#endif
