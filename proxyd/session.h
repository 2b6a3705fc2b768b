/* TCP sessions: accept, server assignment and connect with retries and
 * redispatch, splice/buffer forwarding with half-close, timeouts, and the
 * end of a session (log line, counters, slot release).
 *
 * The functions the backend layer calls (session_lb, session_shutdown,
 * session_queue_ready, session_foreach, session_show) are declared in
 * proxyd/proxy.h. */
#ifndef PROXYD_SESSION_H
#define PROXYD_SESSION_H

#include <stdint.h>
#include <sys/socket.h>

#include "proxyd/cfg-t.h"
#include "proxyd/listener-t.h"
#include "proxyd/proxy.h"
#include "proxyd/session-t.h"

/* Reads the raw timeouts of every proxy from c (which proxy_build() was
 * given: proxies in the same order) and prepares the pools. maxpipes bounds
 * the pipes used for splicing (0: copy only). 0, -1 (ENOMEM). */
int session_layer_init(const struct cfg *c, unsigned maxpipes);
/* Frees the pools. Every session must have ended. */
void session_layer_free(void);
/* The calling thread's part (session_layer_init does thread 0's): its
 * pools and list of sessions; 0, -1 (ENOMEM). session_thread_free ends
 * the thread's sessions that are left and frees its part. */
int session_thread_init(void);
void session_thread_free(void);

/* Takes over a freshly accepted, non-blocking client socket (in the
 * accepting thread, 0): counts it, then starts its session in the thread
 * with the fewest sessions. Never fails: when no session can be had, the
 * socket is closed and counted. */
void session_accept(struct listener *li, int fd, const struct sockaddr_storage *peer,
		    socklen_t peerlen);

/* Live sessions, in every thread. */
unsigned session_count(void);
/* Ends every session of the calling thread now (hard-stop-after, fast
 * stop), each logged with why's cause. */
void session_kill_all(const char *why);

#endif
