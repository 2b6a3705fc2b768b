#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "proxyd/cfg.h"
#include "proxyd/lb.h"
#include "proxyd/listener.h"
#include "proxyd/loop.h"
#include "proxyd/plog.h"
#include "proxyd/proxy.h"
#include "proxyd/queue.h"
#include "proxyd/session-int.h"
#include "proxyd/session-pool.h"
#include "proxyd/session-state.h"
#include "proxyd/session.h"
#include "proxyd/thread.h"

/* Largest single splice into a pipe: the kernel stops at the pipe's
 * capacity anyway. */
#define SPLICE_CHUNK (1u << 20)
/* Longest pause before retrying a connect the server refused. */
#define TURNAROUND_MAX_MS 1000u
/* Timeouts per proxy, by position (uuid - 1). */
struct px_to {
	unsigned client, client_fin, server, server_fin, tunnel, connect, queue;
	unsigned http_request, http_keep_alive;
};

/* Set up once, read by every thread. */
static struct {
	struct px_to *pxto;
	unsigned npx;
	int splice;             /* pipes may be used */
	unsigned maxpipes;
	uint32_t next_id;       /* atomic */
	unsigned total;         /* live sessions in every thread (atomic) */
	unsigned counts[CFG_MAX_THREADS];       /* per thread (atomic) */
	unsigned pick_rr;       /* thread 0 only */
} SG;

/* Each thread's sessions and scratch space. */
struct sess_thread {
	struct px_list live;
	unsigned count;
	uint32_t budget;        /* left for the channel being pumped */
	int more;               /* the budget ran out with data still readable */
	char *scratch;          /* sess_bufsize bytes */
};

static __thread struct sess_thread S;
/* Every thread's S, for session_foreach under isolation. */
static struct sess_thread *S_all[CFG_MAX_THREADS];


static unsigned to_raw(const struct cfg_proxy *cp, enum cfg_timeout t)
{
	return (cp->to.set & (1u << t)) ? cp->to.ms[t] : 0;
}

int session_layer_init(const struct cfg *c, unsigned maxpipes)
{
	size_t i;

	SG.next_id = 0;
	SG.total = 0;
	memset(SG.counts, 0, sizeof(SG.counts));
	SG.npx = (unsigned)c->nproxies;
	SG.pxto = calloc(SG.npx ? SG.npx : 1, sizeof(*SG.pxto));
	if (!SG.pxto)
		return -1;
	for (i = 0; i < c->nproxies; i++) {
		const struct cfg_proxy *cp = &c->proxies[i];
		struct px_to *t = &SG.pxto[i];

		t->client = to_raw(cp, CFG_TO_CLIENT);
		t->client_fin = to_raw(cp, CFG_TO_CLIENT_FIN);
		t->server = to_raw(cp, CFG_TO_SERVER);
		t->server_fin = to_raw(cp, CFG_TO_SERVER_FIN);
		t->tunnel = to_raw(cp, CFG_TO_TUNNEL);
		t->connect = to_raw(cp, CFG_TO_CONNECT);
		t->queue = cfg_timeout_get(cp, CFG_TO_QUEUE);
		t->http_request = to_raw(cp, CFG_TO_HTTP_REQUEST);
		t->http_keep_alive = to_raw(cp, CFG_TO_HTTP_KEEP_ALIVE);
		if (!t->http_keep_alive)
			t->http_keep_alive = t->http_request;
	}
	sess_pool_set_bufsize(c->global.bufsize);
	if (http_layer_init(c) == -1) {
		free(SG.pxto);
		SG.pxto = NULL;
		return -1;
	}
	SG.splice = maxpipes > 0;
	SG.maxpipes = maxpipes;
	if (session_thread_init() == -1) {
		http_layer_free();
		free(SG.pxto);
		SG.pxto = NULL;
		return -1;
	}
	return 0;
}

int session_thread_init(void)
{
	/* The pipe budget is shared out between the threads. */
	unsigned pipes = SG.maxpipes / (thread_count ? thread_count : 1);

	px_list_init(&S.live);
	S.count = 0;
	S.scratch = malloc(sess_bufsize);
	if (!S.scratch)
		return -1;
	S_all[thread_id] = &S;
	sess_pool_init(SG.maxpipes && !pipes ? 1 : pipes);
	if (thread_id != 0 && http_thread_init() == -1) {
		S_all[thread_id] = NULL;
		sess_pool_free();
		free(S.scratch);
		S.scratch = NULL;
		return -1;
	}
	return 0;
}

void session_thread_free(void)
{
	session_kill_all(SESS_WHY_STOP);
	if (thread_id != 0)
		http_thread_free();
	sess_pool_free();
	S_all[thread_id] = NULL;
	free(S.scratch);
	S.scratch = NULL;
}

void session_layer_free(void)
{
	http_layer_free();
	sess_pool_free();
	S_all[0] = NULL;
	free(S.scratch);
	S.scratch = NULL;
	free(SG.pxto);
	SG.pxto = NULL;
	SG.npx = 0;
}

unsigned session_count(void)
{
	return __atomic_load_n(&SG.total, __ATOMIC_ACQUIRE);
}

static const struct px_to *px_to_of(const struct proxy *px)
{
	static const struct px_to none;

	if (!px || px->uuid == 0 || px->uuid > SG.npx)
		return &none;
	return &SG.pxto[px->uuid - 1];
}

void session_set_backend(struct session *s, struct proxy *be)
{
	const struct px_to *bto = px_to_of(be);

	s->be = be;
	s->to.server = bto->server;
	s->to.server_fin = bto->server_fin;
	s->to.tunnel = bto->tunnel;
	s->to.connect = bto->connect;
	s->to.queue = bto->queue;
}

/* ---- functions the backend layer calls --------------------------------- */

struct sess_lb *session_lb(struct session *s)
{
	return &s->lb;
}

void session_foreach(void (*fn)(struct session *s, void *arg), void *arg)
{
	struct px_list *l, *n;
	unsigned t;

	/* Other threads' lists: the caller isolated (thread_isolate). */
	for (t = 0; t < thread_count; t++) {
		struct sess_thread *st = S_all[t];

		if (!st)
			continue;
		for (l = st->live.next; l != &st->live; l = n) {
			n = l->next;
			fn(px_container_of(l, struct session, link), arg);
		}
	}
}

static const char *const state_names[] = {
	[SESS_ST_ASSIGN] = "assign",
	[SESS_ST_QUEUED] = "queued",
	[SESS_ST_TURNAROUND] = "turnaround",
	[SESS_ST_CONNECTING] = "connecting",
	[SESS_ST_DATA] = "data",
	[SESS_ST_CLOSED] = "closed",
};

void session_show(struct session *s, struct sbuf *out)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	uint64_t now = loop_now();

	if (s->cli_addr.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&s->cli_addr;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
	} else if (s->cli_addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s->cli_addr;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		port = ntohs(sin6->sin6_port);
	}
	sb_printf(out, "%#x: proto=tcpv%c src=%s:%u fe=%s be=%s srv=%s state=%s age=%llums "
		  "cli_fd=%d srv_fd=%d req_bytes=%llu res_bytes=%llu retries=%u%s%s",
		  s->id, s->cli_addr.ss_family == AF_INET6 ? '6' : '4', ip, port,
		  s->fe ? s->fe->name : "-", s->be ? s->be->name : "-",
		  s->srv ? s->srv->name : "<NOSRV>", state_names[s->state],
		  (unsigned long long)(now - s->t_accept), s->cli.fd, s->srvs.fd,
		  (unsigned long long)s->req.bytes, (unsigned long long)s->res.bytes, s->retries,
		  session_side_half_closed(s, SESS_SIDE_CLIENT) ? " cli_half_closed" : "",
		  s->state == SESS_ST_DATA && session_side_half_closed(s, SESS_SIDE_SERVER) ?
			  " srv_half_closed" : "");
	if (s->http.on) {
		static const char *const rq[] = { "idle", "head", "wait_srv", "body", "done",
						  "closing", "tunnel" };
		static const char *const rs[] = { "none", "head", "body", "done", "tunnel" };

		sb_printf(out, " http_req=%s http_res=%s requests=%u%s", rq[s->http.rq],
			  rs[s->http.rs], s->http.nreq, s->http.idle_srv ? " srv_idle" : "");
	}
}

void session_shutdown(struct session *s, const char *why)
{
	if (s->state == SESS_ST_CLOSED)
		return;
	s->why = why;
	session_end(s, session_why_cause(why), 0, 0);
}

void session_kill_all(const char *why)
{
	while (!px_list_empty(&S.live))
		session_shutdown(px_container_of(S.live.next, struct session, link), why);
}

void session_queue_ready(struct session *s, struct server *srv)
{
	if (s->state != SESS_ST_QUEUED)
		return;
	s->tw += (int)(loop_now() - s->t_queue);
	session_connect(s, srv);
}

/* ---- helpers ------------------------------------------------------------ */

void session_fd_close(int fd, int rst)
{
	if (rst) {
		/* A zero linger makes close() send a reset, so that the peer
		 * sees the other side's abort rather than a clean end. */
		static const struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

void session_side_close(struct sess_side *sd, int rst)
{
	if (sd->fd == -1)
		return;
	/* Session sockets are never duplicated: close() unregisters them. */
	loop_fd_forget(&sd->lfd);
	session_fd_close(sd->fd, rst);
	sd->fd = -1;
	sd->flags = 0;
}

int session_splice_ok(const struct sess_chan *c)
{
	return SG.splice && !(c->flags & SESS_CH_NOSPLICE);
}

void session_chan_release(struct sess_chan *c)
{
	if (c->buf) {
		sess_buf_put(c->buf);
		c->buf = NULL;
	}
	c->off = 0;
	c->len = 0;
	if (c->pipe[0] != -1) {
		if (c->pipe_bytes)
			sess_pipe_close(c->pipe);
		else
			sess_pipe_put(c->pipe);
	}
	c->pipe_bytes = 0;
}

static void chan_init(struct sess_chan *c)
{
	c->pipe[0] = -1;
	c->pipe[1] = -1;
}

/* Counts n bytes read on a channel in every place that shows them. */
void session_count_bytes(struct session *s, int req, uint64_t n)
{
	if (req) {
		PX_ADD(s->fe->fe.bin, n);
		if (s->be)
			PX_ADD(s->be->be.bin, n);
		if (s->srv)
			PX_ADD(s->srv->c.bin, n);
	} else {
		PX_ADD(s->fe->fe.bout, n);
		if (s->be)
			PX_ADD(s->be->be.bout, n);
		if (s->srv)
			PX_ADD(s->srv->c.bout, n);
		PX_ADD(proxy_info.bytes_out, n);
	}
}

/* ---- forwarding --------------------------------------------------------- */

/* Writes to the consumer from buf, or from c's pipe when buf is NULL, until
 * len bytes went or it takes no more: bytes written, or -1 on a write error
 * (errno set). */
static ssize_t cons_write(struct sess_side *cons, struct sess_chan *c, const char *buf,
			  size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len && (cons->flags & SESS_SD_CAN_SEND)) {
		if (buf)
			n = send(cons->fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = splice(c->pipe[0], NULL, cons->fd, NULL, len - done,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			cons->flags &= ~SESS_SD_CAN_SEND;
			break;
		}
		return -1;
	}
	if (done) {
		cons->last_wr = loop_now();
		cons->last_rd = cons->last_wr;
	}
	return (ssize_t)done;
}

ssize_t session_cons_send(struct sess_side *cons, const char *buf, size_t len)
{
	return cons_write(cons, NULL, buf, len);
}

ssize_t session_pipe_send(struct sess_chan *c, struct sess_side *cons)
{
	ssize_t n = cons_write(cons, c, NULL, c->pipe_bytes);

	if (n > 0)
		c->pipe_bytes -= (uint32_t)n;
	return n;
}

/* Copy mode: flush what is pending, then read into the scratch buffer and
 * write straight through; only a remainder the consumer did not take is
 * kept, in a pooled buffer. A read that fills the whole scratch buffer
 * switches the channel to splicing. */
static enum pump chan_copy(struct session *s, struct sess_chan *c, struct sess_side *prod,
			   struct sess_side *cons, int req)
{
	ssize_t n, w;

	if (c->len) {
		w = session_cons_send(cons, c->buf->data + c->off, c->len);
		if (w == -1)
			return PUMP_ERR_CONS;
		c->off += (uint32_t)w;
		c->len -= (uint32_t)w;
		if (c->len)
			return PUMP_OK;
		sess_buf_put(c->buf);
		c->buf = NULL;
		c->off = 0;
		/* Reading resumes: its timeout starts again (HAProxy re-arms
		 * the read timeout when a full buffer makes room). */
		prod->last_rd = loop_now();
	}
	while (!(c->flags & (SESS_CH_SHUTR | SESS_CH_SPLICE)) && (prod->flags & SESS_SD_CAN_RECV)) {
		if (S.budget == 0) {
			S.more = 1;
			break;
		}
		n = recv(prod->fd, S.scratch, sess_bufsize, MSG_DONTWAIT);
		if (n == 0) {
			c->flags |= SESS_CH_SHUTR;
			prod->last_rd = loop_now();
			break;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				prod->flags &= ~SESS_SD_CAN_RECV;
				break;
			}
			return PUMP_ERR_PROD;
		}
		prod->last_rd = loop_now();
		c->bytes += (uint64_t)n;
		session_count_bytes(s, req, (uint64_t)n);
		S.budget = (uint32_t)n < S.budget ? S.budget - (uint32_t)n : 0;
		w = session_cons_send(cons, S.scratch, (size_t)n);
		if (w == -1)
			return PUMP_ERR_CONS;
		if (w < n) {
			c->buf = sess_buf_get();
			if (!c->buf)
				return PUMP_ERR_RES;
			c->off = 0;
			c->len = (uint32_t)(n - w);
			memcpy(c->buf->data, S.scratch + w, c->len);
			/* Data starts waiting for the consumer: its write
			 * timeout runs from now. */
			if (w == 0)
				cons->last_wr = loop_now();
		}
		if ((size_t)n == sess_bufsize && SG.splice && !(c->flags & SESS_CH_NOSPLICE))
			c->flags |= SESS_CH_SPLICE;
		if (c->len)
			break;
		/* A short read drained the socket: edge-triggered epoll reports
		 * the next arrival. When the peer's end of stream came with
		 * this edge, it is that end (no read of 0 needed) unless an
		 * error came too: then the next read tells which. */
		if ((size_t)n < sess_bufsize && (prod->flags & SESS_SD_FIN)) {
			c->flags |= SESS_CH_SHUTR;
			break;
		}
		if ((size_t)n < sess_bufsize && !(prod->flags & SESS_SD_RDHUP)) {
			prod->flags &= ~SESS_SD_CAN_RECV;
			break;
		}
	}
	return PUMP_OK;
}

/* Splice mode: producer -> pipe -> consumer. EAGAIN on the way in means
 * either "nothing to read" or "pipe full"; with data in the pipe it is
 * taken as full and reading waits until the pipe is drained (as HAProxy
 * does). Falls back to copying when no pipe can be had or the sockets do
 * not support splicing. */
static enum pump chan_splice(struct session *s, struct sess_chan *c, struct sess_side *prod,
			     struct sess_side *cons, int req)
{
	ssize_t n;
	int progress;

	do {
		progress = 0;
		n = session_pipe_send(c, cons);
		if (n == -1)
			return PUMP_ERR_CONS;
		if (n > 0)
			progress = 1;
		if (c->pipe_bytes == 0 && (c->flags & SESS_CH_WAITROOM)) {
			c->flags &= ~SESS_CH_WAITROOM;
			prod->last_rd = loop_now();
		}
		if ((c->flags & (SESS_CH_SHUTR | SESS_CH_WAITROOM)) || !(prod->flags & SESS_SD_CAN_RECV))
			continue;
		if (S.budget == 0) {
			S.more = 1;
			continue;
		}
		if (c->pipe[0] == -1 && sess_pipe_get(c->pipe) == -1) {
			c->flags &= ~SESS_CH_SPLICE;
			return PUMP_OK;
		}
		n = splice(prod->fd, NULL, c->pipe[1], NULL, SPLICE_CHUNK,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			if (c->pipe_bytes == 0)
				cons->last_wr = loop_now();
			c->pipe_bytes += (uint32_t)n;
			c->bytes += (uint64_t)n;
			session_count_bytes(s, req, (uint64_t)n);
			prod->last_rd = loop_now();
			S.budget = (uint32_t)n < S.budget ? S.budget - (uint32_t)n : 0;
			progress = 1;
		} else if (n == 0) {
			c->flags |= SESS_CH_SHUTR;
			prod->last_rd = loop_now();
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (c->pipe_bytes)
				c->flags |= SESS_CH_WAITROOM;
			else
				prod->flags &= ~SESS_SD_CAN_RECV;
		} else if (errno == EINVAL || errno == ENOSYS) {
			c->flags = (c->flags & ~SESS_CH_SPLICE) | SESS_CH_NOSPLICE;
			if (c->pipe_bytes == 0)
				sess_pipe_put(c->pipe);
			return PUMP_OK;
		} else if (errno != EINTR) {
			return PUMP_ERR_PROD;
		}
	} while (progress);
	/* An idle, empty pipe goes back to the pool. */
	if (c->pipe[0] != -1 && c->pipe_bytes == 0 &&
	    ((c->flags & SESS_CH_SHUTR) || !(prod->flags & SESS_SD_CAN_RECV)))
		sess_pipe_put(c->pipe);
	return PUMP_OK;
}

/* Moves what can be moved on c, then forwards an end of stream once the
 * channel is drained. */
static enum pump chan_pump(struct session *s, struct sess_chan *c, struct sess_side *prod,
			   struct sess_side *cons, const struct sess_chan *other, int req)
{
	enum pump r;

	if (c->flags & SESS_CH_SHUTW)
		return PUMP_OK;
	S.budget = SESS_BUDGET;
	for (;;) {
		if (c->flags & SESS_CH_SPLICE) {
			r = chan_splice(s, c, prod, cons, req);
			if (r != PUMP_OK || (c->flags & SESS_CH_SPLICE) || c->pipe_bytes ||
			    S.budget == 0)
				break;
			/* Fell back to copying: go on in copy mode. */
			continue;
		}
		r = chan_copy(s, c, prod, cons, req);
		if (r != PUMP_OK || !(c->flags & SESS_CH_SPLICE) || c->len || S.budget == 0)
			break;
		/* Switched to splicing with nothing pending: go on there. */
	}
	if (r != PUMP_OK)
		return r;
	if ((c->flags & SESS_CH_SHUTR) && c->len == 0 && c->pipe_bytes == 0) {
		c->flags |= SESS_CH_SHUTW;
		/* When the other direction is over too, the session ends now
		 * and close() sends this FIN (nothing is left unread on that
		 * socket: its end of stream was read). */
		if ((other->flags & (SESS_CH_SHUTR | SESS_CH_SHUTW)) ==
		    (SESS_CH_SHUTR | SESS_CH_SHUTW))
			return PUMP_OK;
		if (shutdown(cons->fd, SHUT_WR) == -1 && errno != ENOTCONN)
			return PUMP_ERR_CONS;
	}
	return PUMP_OK;
}

/* Runs both channels; ends the session on error or when both directions
 * are closed. A failing side is aborted, and the other one gets a reset so
 * that the abort propagates. Returns 1 if the session ended. */
int session_forward(struct session *s)
{
	enum pump r;

	S.more = 0;
	r = chan_pump(s, &s->req, &s->cli, &s->srvs, &s->res, 1);
	if (r == PUMP_ERR_PROD) {
		session_end(s, SESS_CAUSE_CLI_ABORT, 0, 1);
		return 1;
	}
	if (r == PUMP_ERR_CONS) {
		session_end(s, SESS_CAUSE_SRV_ABORT, 1, 0);
		return 1;
	}
	if (r == PUMP_OK)
		r = chan_pump(s, &s->res, &s->srvs, &s->cli, &s->req, 0);
	if (r == PUMP_ERR_PROD) {
		session_end(s, SESS_CAUSE_SRV_ABORT, 1, 0);
		return 1;
	}
	if (r == PUMP_ERR_CONS) {
		session_end(s, SESS_CAUSE_CLI_ABORT, 0, 1);
		return 1;
	}
	if (r == PUMP_ERR_RES) {
		session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
		return 1;
	}
	if ((s->req.flags & SESS_CH_SHUTW) && (s->res.flags & SESS_CH_SHUTW)) {
		session_end(s, SESS_CAUSE_NONE, 0, 0);
		return 1;
	}
	/* Edge-triggered: no new event comes for data already readable, so a
	 * session that used up its budget is resumed by a timer due now
	 * (timers run after the fd events of the next round). */
	if (S.more)
		session_resume_soon(s);
	return 0;
}

void session_resume_soon(struct session *s)
{
	if (!loop_timer_armed(&s->resume))
		loop_timer_arm(&s->resume, loop_now());
}

static void session_resume_cb(struct loop_timer *t)
{
	struct session *s = t->arg;

	if (s->http.on) {
		http_run(s);
		return;
	}
	if (s->state != SESS_ST_DATA)
		return;
	if (session_forward(s))
		return;
	session_timer_update(s);
}

/* ---- server connection -------------------------------------------------- */

static void session_connected(struct session *s)
{
	uint64_t now = loop_now();

	s->state = SESS_ST_DATA;
	s->tunnel = !s->http.on;
	s->tc = (int)(now - s->t_first_connect);
	s->srvs.flags |= SESS_SD_CAN_SEND;
	s->srvs.last_rd = now;
	s->srvs.last_wr = now;
	/* The tunnel timeouts start now, as HAProxy re-arms them. */
	s->cli.last_rd = now;
	s->cli.last_wr = now;
}

/* A connect attempt failed: retry on the same server, redispatch, or give
 * up. `timeout` tells a connect timeout from a refusal. */
static void session_connect_failed(struct session *s, int timeout)
{
	struct server *srv = s->srv;
	struct proxy *be = s->be;

	session_side_close(&s->srvs, 0);
	PX_INC(srv->c.econ);
	PX_INC(be->be.econ);
	if (s->retries >= be->retries) {
		session_end(s, timeout ? SESS_CAUSE_SRV_TO : SESS_CAUSE_SRV_ABORT, 0, 0);
		return;
	}
	s->retries++;
	/* HAProxy redispatches on the last retry, or at once when the
	 * server is no longer usable. */
	if ((be->options & CFG_OPT_REDISPATCH) &&
	    (s->retries == be->retries || !server_usable_locked(srv))) {
		s->redispatched = 1;
		s->lb.persist = NULL;   /* elsewhere, whatever the cookie says */
		PX_INC(srv->c.wredis);
		PX_INC(be->be.wredis);
		backend_release(srv, s);
		session_assign(s);
		return;
	}
	PX_INC(srv->c.wretr);
	PX_INC(be->be.wretr);
	if (!timeout) {
		/* Do not hammer a server that refuses: wait
		 * min(timeout connect, 1s) before trying it again. */
		unsigned d = TURNAROUND_MAX_MS;

		if (s->to.connect && s->to.connect < d)
			d = s->to.connect;
		s->state = SESS_ST_TURNAROUND;
		s->t_turnaround = loop_now() + d;
		session_timer_update(s);
		return;
	}
	session_connect(s, srv);
}

static void session_srv_io(struct loop_fd *lf, uint32_t ev);

void session_connect(struct session *s, struct server *srv)
{
	struct proxy *be = s->be;
	int fd, one = 1;

	if (s->http.on && http_conn_reuse(s, srv))
		return;
	s->srv = srv;
	s->state = SESS_ST_CONNECTING;
	s->t_connect = loop_now();
	if (!s->t_first_connect)
		s->t_first_connect = s->t_connect;
	PX_INC(srv->c.connect);
	PX_INC(be->be.connect);
	fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1) {
		int e = errno;

		if (e == EMFILE || e == ENFILE)
			listener_fd_exhausted(e);
		session_end(s, e == EMFILE || e == ENFILE ? SESS_CAUSE_PROXY : SESS_CAUSE_RESOURCE,
			    0, 0);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (be->options & CFG_OPT_TCPKA)
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	s->srvs.fd = fd;
	s->srvs.flags = 0;
	loop_fd_init(&s->srvs.lfd, fd, session_srv_io, s);
	if (loop_fd_add(&s->srvs.lfd, LOOP_IN | LOOP_OUT | LOOP_RDHUP | LOOP_EDGE) == -1) {
		session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		if (errno == EADDRNOTAVAIL || errno == ENOBUFS || errno == ENOMEM ||
		    errno == EAGAIN) {
			session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
			return;
		}
		session_connect_failed(s, 0);
		return;
	}
	/* Completion (or failure) is reported by a writable/error edge. */
	session_timer_update(s);
}

void session_assign(struct session *s)
{
	struct server *srv = NULL;
	uint32_t hash = 0;

	s->state = SESS_ST_ASSIGN;
	if (s->be->balance == CFG_BALANCE_SOURCE)
		hash = lb_hash_addr(&s->cli_addr, s->cli_addrlen);
	switch (backend_assign(s->be, s, hash, &srv)) {
	case ASSIGN_ASSIGNED:
		if (s->tw < 0)
			s->tw = 0;
		session_connect(s, srv);
		return;
	case ASSIGN_QUEUED:
		if (s->tw < 0)
			s->tw = 0;
		s->state = SESS_ST_QUEUED;
		s->t_queue = loop_now();
		/* Another thread may have served or moved it already. */
		px_lock();
		if (s->lb.queued && s->lb.qsrv)
			s->srv_queue_pos += s->lb.qsrv->c.qcur ? s->lb.qsrv->c.qcur - 1 : 0;
		else if (s->lb.queued)
			s->be_queue_pos += s->be->be.qcur ? s->be->be.qcur - 1 : 0;
		px_unlock();
		session_timer_update(s);
		return;
	case ASSIGN_FULL:
		/* Remember the state for the log: refused at the queue. */
		s->state = SESS_ST_QUEUED;
		s->t_queue = loop_now();
		session_end(s, SESS_CAUSE_SRV_ABORT, 0, 0);
		return;
	case ASSIGN_NOSRV:
		session_end(s, SESS_CAUSE_SRV_ABORT, 0, 0);
		return;
	}
}

/* ---- events ------------------------------------------------------------- */

void session_side_note_events(struct sess_side *sd, uint32_t ev)
{
	if (ev & (LOOP_IN | LOOP_RDHUP | LOOP_HUP | LOOP_ERR))
		sd->flags |= SESS_SD_CAN_RECV;
	if (ev & (LOOP_RDHUP | LOOP_HUP | LOOP_ERR))
		sd->flags |= SESS_SD_RDHUP;
	if (ev & LOOP_ERR)
		sd->flags &= ~SESS_SD_FIN;
	else if (ev & LOOP_RDHUP)
		sd->flags |= SESS_SD_FIN;
	if (ev & (LOOP_OUT | LOOP_HUP | LOOP_ERR))
		sd->flags |= SESS_SD_CAN_SEND;
}

/* An error or hangup that the forwarding did not turn into an end (no I/O
 * was due on that socket): 1 if the socket reports an error. */
static int side_has_error(const struct sess_side *sd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(sd->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return 1;
	return err != 0;
}

int session_cli_gone(const struct session *s)
{
	if (s->state == SESS_ST_DATA || s->state == SESS_ST_CLOSED ||
	    !(s->cli.flags & SESS_SD_RDHUP))
		return 0;
	if (!(s->cli.flags & SESS_SD_FIN))
		return 1;       /* error or hangup */
	return s->be && (s->be->options & CFG_OPT_ABORTONCLOSE);
}

static void session_cli_io(struct loop_fd *lf, uint32_t ev)
{
	struct session *s = lf->arg;

	session_side_note_events(&s->cli, ev);
	if (s->http.on) {
		http_run(s);
		return;
	}
	if (s->state != SESS_ST_DATA) {
		/* Not connected yet: the request waits in the socket; only the
		 * client's going ends the session (CQ / CC). */
		if ((ev & (LOOP_ERR | LOOP_HUP)) || session_cli_gone(s)) {
			if (s->state == SESS_ST_QUEUED)
				backend_dequeue(s);
			session_end(s, SESS_CAUSE_CLI_ABORT, 0, 0);
		}
		return;
	}
	if (session_forward(s))
		return;
	if ((ev & LOOP_ERR) && side_has_error(&s->cli)) {
		session_end(s, SESS_CAUSE_CLI_ABORT, 0, 1);
		return;
	}
	session_timer_update(s);
}

static void session_srv_io(struct loop_fd *lf, uint32_t ev)
{
	struct session *s = lf->arg;

	session_side_note_events(&s->srvs, ev);
	if (s->state == SESS_ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(ev & (LOOP_OUT | LOOP_ERR | LOOP_HUP)))
			return;
		/* Writable without error or hangup: connected, no need to ask. */
		if ((ev & (LOOP_ERR | LOOP_HUP)) &&
		    getsockopt(s->srvs.fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if ((ev & (LOOP_ERR | LOOP_HUP)) && err == 0)
			err = ECONNRESET;
		if (err == 0 && (ev & LOOP_OUT)) {
			session_connected(s);
			if (s->http.on) {
				http_srv_connected(s);
				return;
			}
		} else {
			session_connect_failed(s, 0);
			return;
		}
	} else if (s->http.on) {
		http_run(s);
		return;
	} else if (s->state != SESS_ST_DATA) {
		return;
	}
	if (session_forward(s))
		return;
	if ((ev & LOOP_ERR) && side_has_error(&s->srvs)) {
		session_end(s, SESS_CAUSE_SRV_ABORT, 1, 0);
		return;
	}
	session_timer_update(s);
}

static void session_timer_cb(struct loop_timer *t)
{
	struct session *s = t->arg;
	enum sess_exp what;
	uint64_t d = session_timer_next(s, &what);

	if (d > loop_now()) {
		if (d != UINT64_MAX)
			loop_timer_arm(t, d);
		return;
	}
	switch (what) {
	case SESS_EXP_NONE:
		break;
	case SESS_EXP_CLIENT:
		if (s->state == SESS_ST_QUEUED)
			backend_dequeue(s);
		session_end(s, SESS_CAUSE_CLI_TO, 0, 0);
		break;
	case SESS_EXP_SERVER:
		session_end(s, SESS_CAUSE_SRV_TO, 0, 0);
		break;
	case SESS_EXP_CONNECT:
		session_connect_failed(s, 1);
		break;
	case SESS_EXP_QUEUE:
		backend_dequeue(s);
		session_end(s, SESS_CAUSE_SRV_TO, 0, 0);
		break;
	case SESS_EXP_TURNAROUND:
		session_connect(s, s->srv);
		break;
	case SESS_EXP_HTTP_REQ:
	case SESS_EXP_HTTP_KA:
		http_timeout(s, what);
		break;
	}
}

void session_timer_update(struct session *s)
{
	enum sess_exp what;
	uint64_t d = session_timer_next(s, &what);

	if (d == UINT64_MAX)
		return;
	/* Activity only moves deadlines later; the timer then fires early,
	 * finds nothing expired and is re-armed. Only an earlier deadline
	 * needs the heap now. */
	if (!loop_timer_armed(&s->timer) || d < s->timer.expire)
		loop_timer_arm(&s->timer, d);
}

/* ---- accept and end ----------------------------------------------------- */

static void noop_cb(struct thread_msg *m)
{
	(void)m;
}

/* One session less in the process: during a graceful stop, the last one
 * wakes thread 0, which decides when the process exits. */
static void session_gone(void)
{
	struct thread_msg m = { .fn = noop_cb };

	if (__atomic_sub_fetch(&SG.total, 1, __ATOMIC_ACQ_REL) == 0 && thread_id != 0 &&
	    __atomic_load_n(&proxy_info.stopping, __ATOMIC_ACQUIRE))
		(void)thread_send(0, &m);
}

/* Undoes session_accept's counting for a connection no session took. */
static void accept_uncount(struct listener *li)
{
	px_counters_close(&li->fe->fe);
	__atomic_sub_fetch(&proxy_info.curconn, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&SG.counts[thread_id], 1, __ATOMIC_RELAXED);
	session_gone();
	listener_conn_released(li->fe);
}

/* In the thread chosen for it: the session for an accepted connection. */
static void session_start(struct listener *li, int fd, const struct sockaddr_storage *peer,
			  socklen_t peerlen)
{
	struct proxy *fe = li->fe;
	struct session *s = sess_pool_get();
	const struct px_to *fto, *bto;
	uint64_t now = loop_now();

	if (!s) {
		PX_INC(fe->fe.denied_conn);
		close(fd);
		accept_uncount(li);
		return;
	}
	s->id = __atomic_add_fetch(&SG.next_id, 1, __ATOMIC_RELAXED);
	s->li = li;
	s->fe = fe;
	s->be = fe->defbe ? fe->defbe : ((fe->cap & CFG_CAP_BE) ? fe : NULL);
	s->cli.fd = fd;
	s->srvs.fd = -1;
	chan_init(&s->req);
	chan_init(&s->res);
	memcpy(&s->cli_addr, peer, peerlen < sizeof(s->cli_addr) ? peerlen : sizeof(s->cli_addr));
	s->cli_addrlen = peerlen;
	s->t_accept = now;
	s->t_accept_real = loop_now_real();
	s->cli.last_rd = now;
	s->cli.last_wr = now;
	s->tw = -1;
	s->tc = -1;
	fto = px_to_of(fe);
	bto = px_to_of(s->be);
	s->to.client = fto->client;
	s->to.client_fin = fto->client_fin;
	s->to.server = bto->server;
	s->to.server_fin = bto->server_fin;
	s->to.tunnel = bto->tunnel;
	s->to.connect = bto->connect;
	s->to.queue = bto->queue;
	s->to.http_request = fto->http_request;
	s->to.http_keep_alive = fto->http_keep_alive;
	sess_lb_init(&s->lb, s);
	s->lb.sid = s->id;
	loop_timer_init(&s->timer, session_timer_cb, s);
	loop_timer_init(&s->resume, session_resume_cb, s);
	px_list_add_tail(&S.live, &s->link);
	S.count++;
	s->state = SESS_ST_ASSIGN;

	loop_fd_init(&s->cli.lfd, fd, session_cli_io, s);
	if (loop_fd_add(&s->cli.lfd, LOOP_IN | LOOP_OUT | LOOP_RDHUP | LOOP_EDGE) == -1) {
		session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
		return;
	}
	if (!s->be && fe->mode != CFG_MODE_HTTP) {
		session_end(s, SESS_CAUSE_INTERNAL, 0, 0);
		return;
	}
	if (fe->mode == CFG_MODE_HTTP) {
		http_session_start(s);
		return;
	}
	session_assign(s);
}

static void session_start_cb(struct thread_msg *m)
{
	session_start(m->a, m->fd, &m->ss, m->len);
}

void session_accept(struct listener *li, int fd, const struct sockaddr_storage *peer,
		    socklen_t peerlen)
{
	struct proxy *fe = li->fe;
	uint64_t now = loop_now();
	unsigned t = 0;

	/* Counted here, in the accepting thread, so that the limits hold
	 * exactly while the connection travels to its thread. */
	px_counters_open(&fe->fe, now);
	PX_INC(fe->fe.conn_tot);
	__atomic_add_fetch(&proxy_info.curconn, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&SG.total, 1, __ATOMIC_RELAXED);
	proxy_info.cumconn++;
	px_rate_add(&proxy_info.conn_rate, now);
	li->accepted++;
	if (thread_count > 1) {
		unsigned counts[CFG_MAX_THREADS], i;

		for (i = 0; i < thread_count; i++)
			counts[i] = __atomic_load_n(&SG.counts[i], __ATOMIC_RELAXED);
		t = thread_pick(counts, thread_count, &SG.pick_rr);
	}
	if (t != thread_id) {
		struct thread_msg m = { .fn = session_start_cb, .a = li, .fd = fd,
					.len = peerlen };

		memcpy(&m.ss, peer, peerlen < sizeof(m.ss) ? peerlen : sizeof(m.ss));
		/* Counted as live in that thread from now on, so that the
		 * next picks see it. */
		__atomic_add_fetch(&SG.counts[t], 1, __ATOMIC_RELAXED);
		if (thread_send(t, &m) == 0)
			return;
		__atomic_sub_fetch(&SG.counts[t], 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&SG.counts[thread_id], 1, __ATOMIC_RELAXED);
	session_start(li, fd, peer, peerlen);
}

void session_end(struct session *s, enum sess_cause cause, int rst_cli, int rst_srv)
{
	struct proxy *fe = s->fe, *be;
	struct server *srv;
	uint64_t now = loop_now();
	int data = s->state == SESS_ST_DATA;

	if (s->state == SESS_ST_CLOSED)
		return;
	if (s->http.on) {
		/* The error answer and the last log line need the state as
		 * it is; an idle server connection may be parked for reuse
		 * (srvs is then closed already). */
		http_session_end(s, cause);
		data = s->state == SESS_ST_DATA && s->srvs.fd != -1;
	}
	be = s->be;
	srv = s->srv;
	s->cause = (uint8_t)cause;
	s->fin = (uint8_t)session_fin_now(s, cause);
	if (s->state == SESS_ST_QUEUED && s->t_queue)
		s->tw += (int)(now - s->t_queue);
	if (data && srv) {
		/* HAProxy counts client/server timeouts during the transfer as
		 * aborts of that side. */
		if (cause == SESS_CAUSE_CLI_ABORT || cause == SESS_CAUSE_CLI_TO) {
			PX_INC(fe->fe.cli_abrt);
			PX_INC(be->be.cli_abrt);
			PX_INC(srv->c.cli_abrt);
		} else if (cause == SESS_CAUSE_SRV_ABORT || cause == SESS_CAUSE_SRV_TO) {
			PX_INC(be->be.srv_abrt);
			PX_INC(srv->c.srv_abrt);
		}
	}
	if (cause == SESS_CAUSE_INTERNAL)
		PX_INC(fe->fe.eint);
	s->state = SESS_ST_CLOSED;
	loop_timer_cancel(&s->timer);
	loop_timer_cancel(&s->resume);
	session_side_close(&s->cli, rst_cli);
	session_side_close(&s->srvs, rst_srv);
	session_chan_release(&s->req);
	session_chan_release(&s->res);

	if (!s->http.on)
		plog_session(s);

	if (be && !s->http.on) {
		unsigned tt = (unsigned)(now - s->t_accept);
		unsigned qt = s->tw < 0 ? -1u : (unsigned)s->tw;
		unsigned ct = s->tc < 0 ? -1u : (unsigned)s->tc;

		px_counters_times(&be->be, qt, ct, tt);
		if (srv && s->tc >= 0)
			px_counters_times(&srv->c, qt, ct, tt);
	}
	if (be)
		backend_sess_end(s);
	px_counters_close(&fe->fe);
	__atomic_sub_fetch(&proxy_info.curconn, 1, __ATOMIC_RELAXED);
	px_list_del(&s->link);
	S.count--;
	__atomic_sub_fetch(&SG.counts[thread_id], 1, __ATOMIC_RELAXED);
	session_gone();
	listener_conn_released(fe);
	if (s->http.on)
		http_session_free(s);
	sess_pool_put(s);
}

void session_srv_io_cb(struct loop_fd *lf, uint32_t ev)
{
	session_srv_io(lf, ev);
}
