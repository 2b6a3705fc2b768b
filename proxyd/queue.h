/* Server slots and queues.
 *
 * A session that needs a server calls backend_assign(). It gets a slot on a
 * server (ASSIGNED), or waits in a queue (QUEUED) until a slot frees, when
 * the backend layer calls session_queue_ready(s, srv) with the slot already
 * taken. Queues are FIFO:
 *   - the backend queue holds sessions for which every usable server was at
 *     its effective limit (roundrobin, leastconn, first); it takes the first
 *     slot that frees on any server; it has no length limit (timeout queue
 *     bounds it, as in HAProxy);
 *   - a server queue holds sessions bound to that server (source balance):
 *     at most maxqueue (0 = no limit), beyond which backend_assign says FULL,
 *     unless `option redispatch` lets another server or the backend queue
 *     take the session.
 * When a slot frees on a server, the older of the server queue's head and
 * the backend queue's head gets it.
 *
 * The effective limit of a server is HAProxy's dynamic maxconn
 * (cfg_srv_dynmaxconn with the backend's current connection count, queued
 * sessions included) ramped by slowstart: see server_eff_maxconn().
 *
 * Re-entrancy: session_queue_ready() and session_shutdown() may call back
 * into backend_release()/backend_sess_end()/backend_assign(); queue
 * processing does not recurse (a nested request is folded into the running
 * pass). */
#ifndef PROXYD_QUEUE_H
#define PROXYD_QUEUE_H

#include <stdint.h>

#include "proxyd/proxy-t.h"

enum assign_result {
	ASSIGN_ASSIGNED = 0,    /* *out holds a slot for s: connect */
	ASSIGN_QUEUED,          /* s waits; session_queue_ready() comes later */
	ASSIGN_FULL,            /* the server's queue is at maxqueue: refuse (503-like) */
	ASSIGN_NOSRV,           /* no usable server: refuse */
};

/* Picks a server for s in be and takes a slot on it, or queues s. The
 * first call attaches s to be (be.scur is the backend's connection count);
 * a slot s still holds is released first (retry, redispatch). src_hash is
 * the hash of the client address (source balance). now = loop_now(). */
enum assign_result backend_assign(struct proxy *be, struct session *s, uint32_t src_hash,
				  struct server **out);
/* s leaves the queue it waits in (queue timeout, client gone). A no-op when
 * s is not queued. */
void backend_dequeue(struct session *s);
/* The server connection of s ended: frees its slot on srv and gives it to
 * the next queued session. A no-op when s holds no slot on srv. */
void backend_release(struct server *srv, struct session *s);
/* The session ends: dequeues it, releases its slot, and detaches it from its
 * backend. Idempotent; call it once when a session is freed. */
void backend_sess_end(struct session *s);

/* Hands free slots of srv (or of every server of be) to queued sessions:
 * after a server came UP, its maxconn was raised, or the backend's load
 * changed. */
void queue_process_server(struct server *srv);
void queue_process_backend(struct proxy *be);
/* Moves the sessions queued on srv to its backend's queue (srv went DOWN or
 * to maintenance), keeping their order of arrival. */
void queue_redistribute(struct server *srv);

#endif
