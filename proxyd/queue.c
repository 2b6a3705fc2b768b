#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "proxyd/lb.h"
#include "proxyd/loop.h"
#include "proxyd/proxy.h"
#include "proxyd/queue.h"
#include "proxyd/thread.h"

/* Backends waiting for a queue pass, and whether a pass is running: a pass
 * calls session_queue_ready(), which may come back here; the nested request
 * is recorded and served by the running pass instead of recursing. */
static struct proxy *q_pend_head;
static int q_busy;

static struct sess_lb *q_entry(struct px_list *l)
{
	return px_container_of(l, struct sess_lb, q_link);
}

static void q_add(struct proxy *be, struct server *srv, struct sess_lb *lb, uint64_t now)
{
	struct px_counters *c = srv ? &srv->c : &be->be;

	lb->queued = 1;
	lb->qsrv = srv;
	lb->queued_at = now;
	px_list_add_tail(srv ? &srv->queue : &be->queue, &lb->q_link);
	c->qcur++;
	if (c->qcur > c->qmax)
		c->qmax = c->qcur;
}

static void q_del(struct sess_lb *lb)
{
	struct px_counters *c;

	if (!lb->queued)
		return;
	c = lb->qsrv ? &lb->qsrv->c : &lb->be->be;
	px_list_del(&lb->q_link);
	if (c->qcur)
		c->qcur--;
	lb->queued = 0;
	lb->qsrv = NULL;
}

static void slot_take(struct server *srv, struct sess_lb *lb, uint64_t now)
{
	lb->srv = srv;
	px_list_add_tail(&srv->sessions, &lb->srv_link);
	px_counters_open(&srv->c, now);
	srv->c.lbtot++;
	srv->be->be.lbtot++;
}

static void slot_release(struct sess_lb *lb)
{
	struct server *srv = lb->srv;

	px_list_del(&lb->srv_link);
	px_counters_close(&srv->c);
	lb->srv = NULL;
}

/* In the session's own thread: it got a slot while queued (unless it ended
 * meanwhile and its memory went to another session: the id tells). */
static void q_grant_cb(struct thread_msg *m)
{
	struct session *s = m->a;
	struct sess_lb *lb = session_lb(s);

	if (lb->sid != (uint32_t)m->u || lb->srv != m->b)
		return;
	session_queue_ready(s, m->b);
}

/* lb got a slot on srv: its session connects now, in its own thread. */
static void q_grant(struct sess_lb *lb, struct server *srv)
{
	struct thread_msg m = { .fn = q_grant_cb, .a = lb->sess, .b = srv, .u = lb->sid };

	if (lb->tid == thread_id) {
		session_queue_ready(lb->sess, srv);
		return;
	}
	/* Without memory the session keeps its slot until its queue
	 * timeout ends it, which releases the slot. */
	(void)thread_send(lb->tid, &m);
}

/* May srv take sessions from its backend's queue? Active servers when some
 * active server is usable, else the first usable backup (lb.c's rule). */
static int q_serves_backend(const struct proxy *be, const struct server *srv)
{
	unsigned i;
	int active_up = 0;

	if (!server_usable(srv))
		return 0;
	for (i = 0; i < be->nsrvs; i++)
		if (!(be->srvs[i].flags & CFG_SRV_BACKUP) && server_usable(&be->srvs[i]))
			active_up = 1;
	if (!(srv->flags & CFG_SRV_BACKUP))
		return active_up;
	if (active_up)
		return 0;
	for (i = 0; i < be->nsrvs; i++)
		if ((be->srvs[i].flags & CFG_SRV_BACKUP) && server_usable(&be->srvs[i]))
			return &be->srvs[i] == srv;
	return 0;
}

/* Serves the queues of one backend until no free slot or no queued session
 * is left. Returns how many sessions got a slot. */
static unsigned q_run(struct proxy *be)
{
	unsigned served = 0, i;
	int progress = 1;

	while (progress) {
		progress = 0;
		for (i = 0; i < be->nsrvs; i++) {
			struct server *srv = &be->srvs[i];
			int from_be = q_serves_backend(be, srv);
			uint64_t now = loop_now();

			if (!server_usable(srv))
				continue;
			server_refresh(srv, now);
			while (lb_server_has_slot(srv, now)) {
				struct sess_lb *a = NULL, *b = NULL, *lb;

				if (!px_list_empty(&srv->queue))
					a = q_entry(srv->queue.next);
				if (from_be && !px_list_empty(&be->queue))
					b = q_entry(be->queue.next);
				if (!a && !b)
					break;
				lb = a && (!b || a->queued_at <= b->queued_at) ? a : b;
				q_del(lb);
				slot_take(srv, lb, now);
				served++;
				progress = 1;
				q_grant(lb, srv);
				if (!server_usable(srv))
					break;
				from_be = q_serves_backend(be, srv);
			}
		}
	}
	return served;
}

void queue_process_backend(struct proxy *be)
{
	px_lock();
	if (!be->q_pending) {
		be->q_pending = 1;
		be->q_next = q_pend_head;
		q_pend_head = be;
	}
	if (q_busy) {
		px_unlock();
		return;
	}
	q_busy = 1;
	while (q_pend_head) {
		struct proxy *p = q_pend_head;

		q_pend_head = p->q_next;
		p->q_next = NULL;
		p->q_pending = 0;
		q_run(p);
	}
	q_busy = 0;
	px_unlock();
}

void queue_process_server(struct server *srv)
{
	px_lock();
	if (!px_list_empty(&srv->queue) || !px_list_empty(&srv->be->queue))
		queue_process_backend(srv->be);
	px_unlock();
}

void queue_redistribute(struct server *srv)
{
	struct proxy *be = srv->be;

	px_lock();
	while (!px_list_empty(&srv->queue)) {
		struct sess_lb *lb = q_entry(srv->queue.next);
		struct px_list *pos;
		uint64_t at = lb->queued_at;

		q_del(lb);
		/* Insert before the first entry that arrived later: FIFO by arrival. */
		for (pos = be->queue.next; pos != &be->queue; pos = pos->next)
			if (q_entry(pos)->queued_at > at)
				break;
		lb->queued = 1;
		lb->qsrv = NULL;
		lb->queued_at = at;
		px_list_add_tail(pos, &lb->q_link);
		be->be.qcur++;
		if (be->be.qcur > be->be.qmax)
			be->be.qmax = be->be.qcur;
	}
	px_unlock();
}

static void be_detach(struct sess_lb *lb)
{
	if (!lb->be)
		return;
	px_counters_close(&lb->be->be);
	lb->be = NULL;
}

static int q_any_server_queue(const struct proxy *be)
{
	unsigned i;

	for (i = 0; i < be->nsrvs; i++)
		if (be->srvs[i].c.qcur)
			return 1;
	return 0;
}

static enum assign_result assign_locked(struct proxy *be, struct session *s, uint32_t src_hash,
					struct server **out)
{
	struct sess_lb *lb = session_lb(s);
	uint64_t now = loop_now();
	struct server *srv = NULL;
	enum lb_result r;

	*out = NULL;
	q_del(lb);
	if (lb->srv) {
		struct server *old = lb->srv;

		slot_release(lb);
		queue_process_server(old);
	}
	if (lb->be != be) {
		be_detach(lb);
		lb->be = be;
		px_counters_open(&be->be, now);
	}
	lb->src_hash = src_hash;

	/* Sessions already waiting go first: serve them before picking, so
	 * that a newcomer never takes a slot an older session waits for (the
	 * backend's load just grew, which may have raised dynamic limits). */
	if (be->be.qcur || q_any_server_queue(be))
		queue_process_backend(be);

	/* A persistence cookie names a server: that one while it is usable,
	 * with a slot or in its queue, as a source-balanced session. */
	if (lb->persist && lb->persist->be == be && server_usable(lb->persist)) {
		srv = lb->persist;
		r = LB_OK;
	} else {
		r = lb_pick(be, src_hash, now, &srv);
	}
	if (r == LB_NOSRV)
		return ASSIGN_NOSRV;
	if (r == LB_FULL) {
		q_add(be, NULL, lb, now);
		return ASSIGN_QUEUED;
	}
	if (lb_server_has_slot(srv, now) && px_list_empty(&srv->queue) &&
	    (px_list_empty(&be->queue) || !q_serves_backend(be, srv))) {
		slot_take(srv, lb, now);
		*out = srv;
		return ASSIGN_ASSIGNED;
	}
	/* Only source balance (or a backup) returns a full server: wait for
	 * that server, within its maxqueue. */
	if (srv->maxqueue && srv->c.qcur >= srv->maxqueue) {
		struct server *alt = NULL;
		unsigned i;

		if (!(be->options & CFG_OPT_REDISPATCH))
			return ASSIGN_FULL;
		/* Redispatch: the least loaded server with a free slot, else
		 * the backend queue. */
		for (i = 0; i < be->nsrvs; i++) {
			struct server *o = &be->srvs[i];

			if (o != srv && q_serves_backend(be, o) && lb_server_has_slot(o, now) &&
			    (!alt || o->c.scur < alt->c.scur))
				alt = o;
		}
		if (alt) {
			slot_take(alt, lb, now);
			*out = alt;
			return ASSIGN_ASSIGNED;
		}
		q_add(be, NULL, lb, now);
		return ASSIGN_QUEUED;
	}
	q_add(be, srv, lb, now);
	return ASSIGN_QUEUED;
}

enum assign_result backend_assign(struct proxy *be, struct session *s, uint32_t src_hash,
				  struct server **out)
{
	enum assign_result r;

	px_lock();
	r = assign_locked(be, s, src_hash, out);
	px_unlock();
	return r;
}

void backend_dequeue(struct session *s)
{
	px_lock();
	q_del(session_lb(s));
	px_unlock();
}

void backend_release(struct server *srv, struct session *s)
{
	struct sess_lb *lb = session_lb(s);

	px_lock();
	if (srv && lb->srv == srv) {
		slot_release(lb);
		queue_process_server(srv);
	}
	px_unlock();
}

void backend_sess_end(struct session *s)
{
	struct sess_lb *lb = session_lb(s);

	px_lock();
	q_del(lb);
	if (lb->srv)
		backend_release(lb->srv, s);
	be_detach(lb);
	px_unlock();
}
