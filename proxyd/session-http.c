/* The HTTP/1 layer of a session: between the client side and the server
 * side of the same struct session, it parses each request head (h1.c),
 * applies the rules and routing (http-rules.c), rewrites the head, gets a
 * server connection (the session's own idle one, one from the server's idle
 * pool, or a new one through the TCP core's assign/queue/connect), forwards
 * the body as framed, parses the response head, rewrites it, forwards its
 * body, logs the transaction, and then waits for the next request
 * (keep-alive) or closes. A protocol switch (101, 2xx to CONNECT) hands the
 * session back to the TCP core's forwarding (a tunnel).
 *
 * Head parsing uses one header index per direction for the whole process:
 * a head that arrives in several pieces is parsed again from its start
 * each time, and a complete head is analysed and rewritten at once, so
 * the index never has to outlive one call.
 *
 * Closing: when the last response has been sent, the client side is shut
 * for writing and read until its end of stream (bounded by timeout
 * client-fin or client), so that a reset never destroys the response in
 * flight. While proxyd drains (SIGUSR1), every response carries
 * "Connection: close"; an idle keep-alive connection is left to its
 * keep-alive timeout (or to the next request, which is then served and
 * answered with close), since closing it could race with a request the
 * client is sending at that very moment. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxyd/cfg.h"
#include "proxyd/h1.h"
#include "proxyd/http-rules.h"
#include "proxyd/httperr.h"
#include "proxyd/loop.h"
#include "proxyd/plog.h"
#include "proxyd/proxy.h"
#include "proxyd/queue.h"
#include "proxyd/session-int.h"
#include "proxyd/session-pool.h"
#include "proxyd/session-state.h"
#include "proxyd/stats.h"
#include "proxyd/statspage.h"
#include "proxyd/thread.h"

/* Header edits one head may collect: the rules' and, reserved beyond
 * them, proxyd's own (X-Forwarded-For, Connection removed and set). */
#define HTTP_MAX_OPS 64
#define HTTP_RULE_OPS (HTTP_MAX_OPS - 6)    /* room for proxyd's own edits */
/* Idle server connections are closed after this long unused (HAProxy's
 * pool-purge-delay default). */
#define HTTP_POOL_PURGE_MS 5000u

/* Body forwarding failures (http_fwd). */
#define FWD_ERR_PROD  -1        /* reading the producer failed */
#define FWD_ERR_CONS  -2        /* writing the consumer failed */
#define FWD_ERR_BODY  -3        /* invalid framing */
#define FWD_ERR_TRUNC -4        /* end of stream inside the body */
#define FWD_ERR_RES   -5        /* no buffer */

/* A server connection parked for reuse by any session. */
struct idle_conn {
	struct px_list link;    /* in srv->idle[thread_id].conns */
	struct px_list glink;   /* in G.idle_all, oldest first */
	struct server *srv;
	int fd;
	struct loop_fd lfd;
	uint64_t since;
};

/* What the HTTP layer needs of each proxy, by position (uuid - 1). */
struct http_px {
	const struct cfg_proxy *cp;     /* the configuration (kept by main until exit) */
};

/* Set up once, read by every thread. */
static struct {
	struct http_px *px;
	unsigned npx;
	uint32_t max_head;
	uint32_t maxhdr;
	uint32_t maxrewrite;
	unsigned idle_max;      /* per thread */
} HG;

/* Each thread's: parse space, and its pool of idle server connections
 * (a connection is registered in one thread's loop, so each thread
 * reuses only its own). */
static __thread struct {
	struct h1_hdr *reqhdrs;
	struct h1_hdr *reshdrs;
	struct px_list idle_all;
	unsigned idle_total;
	struct loop_timer purge;
	struct session *freed;  /* the last session freed (see ended()) */
	int more;               /* a body forward used its budget up */
	char *scratch;          /* sess_bufsize bytes */
} G;

static const struct cfg_proxy *cfg_of(const struct proxy *px)
{
	if (!px || px->uuid == 0 || px->uuid > HG.npx)
		return NULL;
	return HG.px[px->uuid - 1].cp;
}

/* ---- idle server connections ---------------------------------------- */

/* Closes the server connection with a reset, as HAProxy does: proxyd
 * only drops one it has no more use for (the response was read, or the
 * transaction failed), and a reset leaves no TIME_WAIT socket holding
 * one of the proxy's local ports (loopback and busy servers run out of
 * them at a few thousand connections per second otherwise). */
static void srv_close(struct session *s)
{
	session_side_close(&s->srvs, 1);
}

static void idle_free(struct idle_conn *ic)
{
	px_list_del(&ic->link);
	px_list_del(&ic->glink);
	loop_fd_forget(&ic->lfd);
	session_fd_close(ic->fd, 1);    /* a reset: see srv_close */
	ic->srv->idle[thread_id].cur--;
	G.idle_total--;
	free(ic);
}

/* Any event on an idle connection (data, end of stream, error) makes it
 * unusable: the server closed it or broke the protocol. */
static void idle_io_cb(struct loop_fd *lf, uint32_t ev)
{
	(void)ev;
	idle_free(lf->arg);
}

static void purge_cb(struct loop_timer *t)
{
	uint64_t now = loop_now();

	(void)t;
	while (!px_list_empty(&G.idle_all)) {
		struct idle_conn *ic = px_container_of(G.idle_all.next, struct idle_conn, glink);

		if (ic->since + HTTP_POOL_PURGE_MS > now)
			break;
		idle_free(ic);
	}
	if (G.idle_total)
		loop_timer_arm_in(&G.purge, 1000);
}

/* 1 when nothing is waiting on fd (no data, no end of stream). */
static int sock_quiet(int fd)
{
	char c;
	ssize_t n;

	do
		n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Moves the session's idle server connection to its server's pool, or
 * closes it when it may not be kept. */
static void pool_park(struct session *s)
{
	struct server *srv = s->http.idle_srv;
	const struct cfg_proxy *bcp = srv ? cfg_of(srv->be) : NULL;
	struct idle_conn *ic = NULL;
	int fd = s->srvs.fd;

	s->http.idle_srv = NULL;
	if (fd == -1)
		return;
	/* Idle connections never take the fds live sessions need (two
	 * each, as the connection limits were computed). */
	if (!srv || !bcp || bcp->http_reuse == CFG_REUSE_NEVER || G.idle_total >= HG.idle_max ||
	    (proxy_info.maxsock &&
	     (uint64_t)PX_LOAD(proxy_info.curconn) * 2 + G.idle_total * thread_count + 64 >=
		     proxy_info.maxsock) ||
	    !server_usable_locked(srv) || (s->srvs.flags & SESS_SD_RDHUP) || !sock_quiet(fd))
		goto drop;
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		goto drop;
	loop_fd_del(&s->srvs.lfd);
	ic->fd = fd;
	ic->srv = srv;
	ic->since = loop_now();
	loop_fd_init(&ic->lfd, fd, idle_io_cb, ic);
	if (loop_fd_add(&ic->lfd, LOOP_IN | LOOP_RDHUP) == -1) {
		free(ic);
		close(fd);
		s->srvs.fd = -1;
		s->srvs.flags = 0;
		return;
	}
	if (!srv->idle[thread_id].conns.next)
		px_list_init(&srv->idle[thread_id].conns);
	px_list_add_tail(&srv->idle[thread_id].conns, &ic->link);
	px_list_add_tail(&G.idle_all, &ic->glink);
	srv->idle[thread_id].cur++;
	G.idle_total++;
	if (!loop_timer_armed(&G.purge))
		loop_timer_arm_in(&G.purge, 1000);
	s->srvs.fd = -1;
	s->srvs.flags = 0;
	return;
drop:
	srv_close(s);
}

/* Takes the most recently parked connection to srv into s->srvs. */
static int pool_take(struct session *s, struct server *srv)
{
	struct idle_conn *ic;
	int fd;

	if (!srv->idle[thread_id].conns.next || px_list_empty(&srv->idle[thread_id].conns))
		return 0;
	ic = px_container_of(srv->idle[thread_id].conns.prev, struct idle_conn, link);
	fd = ic->fd;
	loop_fd_del(&ic->lfd);
	px_list_del(&ic->link);
	px_list_del(&ic->glink);
	srv->idle[thread_id].cur--;
	G.idle_total--;
	free(ic);
	s->srvs.fd = fd;
	s->srvs.flags = SESS_SD_CAN_SEND;
	loop_fd_init(&s->srvs.lfd, fd, session_srv_io_cb, s);
	if (loop_fd_add(&s->srvs.lfd, LOOP_IN | LOOP_OUT | LOOP_RDHUP | LOOP_EDGE) == -1) {
		close(fd);
		s->srvs.fd = -1;
		s->srvs.flags = 0;
		return 0;
	}
	return 1;
}

/* ---- layer setup ------------------------------------------------------ */

int http_thread_init(void)
{
	px_list_init(&G.idle_all);
	G.idle_total = 0;
	loop_timer_init(&G.purge, purge_cb, NULL);
	G.reqhdrs = calloc(HG.maxhdr, sizeof(*G.reqhdrs));
	G.reshdrs = calloc(HG.maxhdr, sizeof(*G.reshdrs));
	G.scratch = malloc(sess_bufsize);
	if (!G.reqhdrs || !G.reshdrs || !G.scratch) {
		http_thread_free();
		return -1;
	}
	return 0;
}

void http_thread_free(void)
{
	while (G.idle_all.next && !px_list_empty(&G.idle_all))
		idle_free(px_container_of(G.idle_all.next, struct idle_conn, glink));
	if (G.purge.cb)
		loop_timer_cancel(&G.purge);
	free(G.scratch);
	free(G.reshdrs);
	free(G.reqhdrs);
	G.scratch = NULL;
	G.reshdrs = NULL;
	G.reqhdrs = NULL;
}

int http_layer_init(const struct cfg *c)
{
	size_t i;
	unsigned p, k;
	uint32_t max_head;

	memset(&HG, 0, sizeof(HG));
	HG.npx = (unsigned)c->nproxies;
	HG.px = calloc(HG.npx ? HG.npx : 1, sizeof(*HG.px));
	if (!HG.px)
		return -1;
	HG.maxhdr = c->global.maxhdr ? c->global.maxhdr : H1_DEF_MAXHDR;
	for (i = 0; i < c->nproxies; i++)
		HG.px[i].cp = &c->proxies[i];
	/* Each server's idle connections, one list per thread. */
	for (p = 0; p < proxy_count(); p++) {
		struct proxy *px = proxy_at(p);

		for (k = 0; k < px->nsrvs; k++) {
			px->srvs[k].idle = calloc(thread_count, sizeof(*px->srvs[k].idle));
			if (!px->srvs[k].idle) {
				http_layer_free();
				return -1;
			}
		}
	}
	HG.maxrewrite = c->global.maxrewrite ? c->global.maxrewrite : H1_DEF_MAXREWRITE;
	/* Heads are parsed in one session buffer of tune.bufsize bytes,
	 * tune.maxrewrite of which stay free for rewriting. */
	max_head = cfg_http_max_head(c);
	if (max_head == 0 || max_head > sess_bufsize - HG.maxrewrite)
		max_head = (uint32_t)(sess_bufsize - HG.maxrewrite);
	HG.max_head = max_head;
	/* Idle connections hold fds: at most half the connection budget,
	 * shared out between the threads. */
	HG.idle_max = c->global.maxconn_eff / 2 / thread_count;
	if (!HG.idle_max)
		HG.idle_max = 1;
	if (http_thread_init() == -1) {
		http_layer_free();
		return -1;
	}
	return 0;
}

void http_layer_free(void)
{
	unsigned p, k;

	http_thread_free();
	for (p = 0; p < proxy_count(); p++) {
		struct proxy *px = proxy_at(p);

		for (k = 0; k < px->nsrvs; k++) {
			free(px->srvs[k].idle);
			px->srvs[k].idle = NULL;
		}
	}
	free(HG.px);
	memset(&HG, 0, sizeof(HG));
}

/* ---- small helpers ----------------------------------------------------- */

/* 1 when the call that just returned ended (and freed) s. */
static int ended(const struct session *s)
{
	return G.freed == s;
}

static void hrsp_count(struct session *s, unsigned status)
{
	unsigned k = status >= 100 && status < 600 ? status / 100 - 1 : 5;

	PX_INC(s->fe->fe.hrsp[k]);
	if (s->be)
		PX_INC(s->be->be.hrsp[k]);
	if (s->srv && s->state == SESS_ST_DATA)
		PX_INC(s->srv->c.hrsp[k]);
}

static int buf_ensure(struct sess_buf **b)
{
	if (!*b)
		*b = sess_buf_get();
	return *b ? 0 : -1;
}

static void buf_drop(struct sess_buf **b, uint32_t *off, uint32_t *len)
{
	if (*b)
		sess_buf_put(*b);
	*b = NULL;
	*off = 0;
	*len = 0;
}

/* Appends len bytes to the output pending on channel c. -1 when they do
 * not fit (or no buffer). */
static int chan_append(struct sess_chan *c, const char *p, size_t len)
{
	if (!c->buf) {
		c->buf = sess_buf_get();
		if (!c->buf)
			return -1;
		c->off = 0;
		c->len = 0;
	}
	if (c->off && c->off + c->len + len > sess_bufsize) {
		memmove(c->buf->data, c->buf->data + c->off, c->len);
		c->off = 0;
	}
	if (c->off + c->len + len > sess_bufsize)
		return -1;
	memcpy(c->buf->data + c->off + c->len, p, len);
	c->len += (uint32_t)len;
	return 0;
}

/* Sends what is pending on c to cons. <0 on a write error, else 1 when
 * bytes moved. */
/* Bytes of c not delivered to its consumer yet. */
static uint64_t chan_pending(const struct sess_chan *c)
{
	return (uint64_t)c->len + c->pipe_bytes;
}

/* Moves the pipe's bytes to the consumer: 0 or 1 (progress), or -1. An
 * emptied pipe goes back to the pool. */
static int pipe_flush(struct sess_chan *c, struct sess_side *cons)
{
	ssize_t n = session_pipe_send(c, cons);

	if (n == -1)
		return -1;
	if (!c->pipe_bytes && c->pipe[0] != -1)
		sess_pipe_put(c->pipe);
	return n > 0;
}

/* Sends what c holds, the pipe first (the buffer only ever fills after it
 * was drained): 0 or 1 (progress), or -1. */
static int chan_flush(struct sess_chan *c, struct sess_side *cons)
{
	ssize_t w;
	int r = 0;

	if (c->pipe_bytes) {
		r = pipe_flush(c, cons);
		if (r < 0 || c->pipe_bytes)
			return r;
	}
	if (!c->len)
		return r;
	w = session_cons_send(cons, c->buf->data + c->off, c->len);
	if (w == -1)
		return -1;
	c->off += (uint32_t)w;
	c->len -= (uint32_t)w;
	if (!c->len) {
		sess_buf_put(c->buf);
		c->buf = NULL;
		c->off = 0;
	}
	return r | (w > 0);
}

static void fmt_ip(const struct sockaddr_storage *ss, char *ip, size_t len)
{
	ip[0] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, (socklen_t)len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip,
			  (socklen_t)len);
}

/* ---- header captures (capture request|response header) ------------------ */

/* Fills the block at out ("{v1|v2...}") with the last occurrence of each
 * captured header of m, at most len bytes of each, bytes that would break
 * the log line ('"', '{', '|', '}', '#', controls) written #XX as HAProxy. */
static void capture_block(char *out, const struct cfg_capture *c, size_t n,
			  const struct h1_msg *m, const char *buf)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, k, o = 0;
	int idx, last;

	out[o++] = '{';
	for (i = 0; i < n; i++) {
		if (i)
			out[o++] = '|';
		for (last = -1, idx = -1; m && (idx = h1_hdr_find(m, buf, c[i].name, idx + 1)) != -1;)
			last = idx;
		if (last == -1)
			continue;
		for (k = 0; k < m->hdrs[last].value.len && k < c[i].len; k++) {
			unsigned char ch = (unsigned char)buf[m->hdrs[last].value.off + k];

			if (ch < 0x20 || ch >= 0x7f || strchr("\"#{|}", ch)) {
				out[o++] = '#';
				out[o++] = hex[ch >> 4];
				out[o++] = hex[ch & 15];
			} else {
				out[o++] = (char)ch;
			}
		}
	}
	out[o++] = '}';
	out[o] = '\0';
}

/* The capture blocks of the transaction: empty ("{|}") until filled; the
 * buffer is allocated with the first one. 0, or -1 without memory (then
 * nothing is captured). */
static int capture_begin(struct session *s)
{
	const struct cfg_proxy *cp = cfg_of(s->fe);
	size_t rq = s->fe->cap_req_size, rs = s->fe->cap_res_size;

	if (!rq && !rs)
		return 0;
	if (!s->http.cap && !(s->http.cap = malloc(rq + rs)))
		return -1;
	if (rq)
		capture_block(s->http.cap, cp->cap_req, cp->ncap_req, NULL, NULL);
	if (rs)
		capture_block(s->http.cap + rq, cp->cap_res, cp->ncap_res, NULL, NULL);
	return 0;
}

/* ---- transactions ------------------------------------------------------ */

static void retry_drop(struct sess_http *h)
{
	if (h->io->retry)
		sess_buf_put(h->io->retry);
	h->io->retry = NULL;
	h->io->retry_len = 0;
}

/* A reused server connection failed before any byte of the response: the
 * server closed it while the request was on its way (the race every idle
 * connection has). A request without a body is sent again over a new
 * connection, keeping the slot. 1 when retried (the session may have
 * ended: see ended()), 0 when it cannot be. */
static int retry_fresh(struct session *s)
{
	struct sess_http *h = &s->http;

	if (!(h->flags & HTTP_F_REUSED) || (h->flags & HTTP_F_RES_SEEN) || !h->io->retry || !s->srv)
		return 0;
	srv_close(s);
	session_chan_release(&s->req);
	s->req.buf = h->io->retry;
	s->req.off = 0;
	s->req.len = h->io->retry_len;
	h->io->retry = NULL;
	h->io->retry_len = 0;
	s->req.flags = 0;
	s->res.flags = 0;
	buf_drop(&h->io->sbuf, &h->io->soff, &h->io->slen);
	h->flags = (h->flags & ~HTTP_F_REUSED) | HTTP_F_NOREUSE;
	h->rq = HTTP_RQ_WAIT_SRV;
	h->rs = HTTP_RS_NONE;
	PX_INC(s->be->be.wretr);
	PX_INC(s->srv->c.wretr);
	G.freed = NULL;
	session_connect(s, s->srv);
	return 1;
}

static void txn_begin(struct session *s)
{
	struct sess_http *h = &s->http;

	h->flags = (h->flags & HTTP_F_SRV_USED) | HTTP_F_TXN;
	retry_drop(h);
	h->status = 0;
	h->tr = -1;
	h->t_head = 0;
	h->io->t_sent = 0;
	h->io->reason = NULL;
	h->io->rline[0] = '\0';
	h->res_bytes0 = s->res.bytes;
	h->req_bytes0 = s->req.bytes;
	h->ck_req = '-';
	h->ck_res = '-';
	s->lb.persist = NULL;
	if (capture_begin(s) == -1) {
		free(h->cap);
		h->cap = NULL;
	}
	s->tw = -1;
	s->tc = -1;
	s->t_first_connect = 0;
	s->retries = 0;
	s->redispatched = 0;
	s->srv_queue_pos = 0;
	s->be_queue_pos = 0;
	s->cause = SESS_CAUSE_NONE;
	s->fin = SESS_FIN_NONE;
}

/* The bytes read with the head go to the transaction's backend and server
 * (not to the default backend the session started with). */
static void bin_head_flush(struct session *s)
{
	struct sess_http *h = &s->http;

	if (!h->bin_head)
		return;
	if (s->be)
		PX_ADD(s->be->be.bin, h->bin_head);
	if (s->srv)
		PX_ADD(s->srv->c.bin, h->bin_head);
	h->bin_head = 0;
}

/* Logs the open transaction with the termination cause given. */
static void txn_log(struct session *s, enum sess_cause cause)
{
	bin_head_flush(s);
	if (!(s->http.flags & HTTP_F_TXN))
		return;
	s->cause = (uint8_t)cause;
	s->fin = (uint8_t)session_fin_now(s, cause);
	plog_http(s);
	s->http.flags &= ~HTTP_F_TXN;
}

/* An answer proxyd makes: its status and length for the log, counted. */
static void answer_note(struct session *s, unsigned status, size_t len)
{
	s->http.status = status;
	s->http.flags |= HTTP_F_ERRSENT;
	s->http.err_bytes = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
	hrsp_count(s, status);
}

/* Sends an answer proxyd made (error page, redirect) and counts it. */
static void cli_answer(struct session *s, unsigned status, const char *page, size_t len)
{
	answer_note(s, status, len);
	if (s->cli.fd != -1) {
		ssize_t w;

		s->cli.flags |= SESS_SD_CAN_SEND;
		w = session_cons_send(&s->cli, page, len);
		/* What the socket did not take waits in the response channel
		 * (flushed while closing); lost only when no buffer is left. */
		if (w >= 0 && (size_t)w < len)
			(void)chan_append(&s->res, page + w, len - (size_t)w);
	}
}

/* The same for an answer in a malloc'd blob, which the session then owns:
 * what neither the socket nor the response buffer takes waits in it (a
 * stats page may be larger than a buffer). */
static void cli_answer_blob(struct session *s, unsigned status, char *blob, size_t len)
{
	struct sess_http_io *x = s->http.io;
	ssize_t w = 0;

	answer_note(s, status, len);
	if (s->cli.fd != -1) {
		s->cli.flags |= SESS_SD_CAN_SEND;
		w = session_cons_send(&s->cli, blob, len);
	}
	if (w < 0 || (size_t)w == len) {
		free(blob);
		return;
	}
	free(x->blob);
	x->blob = blob;
	x->blob_off = (size_t)w;
	x->blob_len = len;
}

/* Sends an error answer and counts it. */
static void send_error(struct session *s, unsigned status)
{
	const struct cfg_proxy *cp = cfg_of(s->be ? s->be : s->fe);
	const char *page;
	size_t len;

	if (!cp)
		cp = cfg_of(s->fe);
	page = cp ? httperr_get(cp->errorfiles, cp->nerrorfiles, status, &len)
		  : httperr_builtin(status, &len);
	cli_answer(s, status, page, len);
}

/* Drops the server connection of the transaction and its slot. */
static void srv_drop(struct session *s)
{
	if (s->srvs.fd != -1)
		srv_close(s);
	s->http.idle_srv = NULL;
	if (s->srv)
		backend_release(s->srv, s);
	if (s->state == SESS_ST_QUEUED)
		backend_dequeue(s);
	session_chan_release(&s->req);
	s->req.flags = 0;
	s->res.flags = 0;
	buf_drop(&s->http.io->sbuf, &s->http.io->soff, &s->http.io->slen);
	s->state = SESS_ST_ASSIGN;
}

/* The client gets no more: shut our side, then read until its end of
 * stream so that closing never resets the last response. */
static void cli_closing(struct session *s)
{
	struct sess_http *h = &s->http;

	h->rq = HTTP_RQ_CLOSING;
	h->rs = HTTP_RS_NONE;
	buf_drop(&h->io->ibuf, &h->io->ioff, &h->io->ilen);
	s->res.flags &= ~SESS_CH_SHUTW;
	s->cli.last_rd = loop_now();
}

/* The transaction ended with an answer proxyd sent: log it (when it is
 * still open) with cause, drop the server side, and close the client
 * connection once the answer is out. Returns 1. */
static int answered(struct session *s, enum sess_cause cause)
{
	txn_log(s, cause);
	srv_drop(s);
	cli_closing(s);
	return 1;
}

/* An error answered by proxyd: page, log line, then the connection closes
 * (HAProxy closes after every error it generates). Returns -1 when the
 * session ended. */
static int http_error(struct session *s, unsigned status, enum sess_cause cause,
		      const char *reason)
{
	s->http.io->reason = reason;
	if (chan_pending(&s->res)) {
		/* Part of a response is out already: a page cannot follow. */
		txn_log(s, cause);
		session_end(s, cause, 0, 0);
		return -1;
	}
	send_error(s, status);
	return answered(s, cause);
}

/* A redirect rule matched: its answer (built in the scratch buffer), log
 * line "LR", then the connection closes, as after an error. */
static int http_redirect(struct session *s, const struct http_rule *ru)
{
	struct sess_http *h = &s->http;
	const char *buf = h->io->ibuf->data + h->io->ioff;
	long n = http_redirect_head(ru, &h->io->req, buf, 1, G.scratch, sess_bufsize);

	if (n < 0)
		return http_error(s, 500, SESS_CAUSE_INTERNAL, "redirect location too long");
	cli_answer(s, ru->redir_code, G.scratch, (size_t)n);
	return answered(s, SESS_CAUSE_LOCAL);
}

/* ---- statistics page (stats enable / stats uri) ------------------------ */

#define STATS_URI_DEFAULT "/haproxy?stats"
#define STATS_REALM_DEFAULT "HAProxy Statistics"

static const char *stats_uri(const struct cfg_proxy *cp)
{
	return cp->st_uri ? cp->st_uri : STATS_URI_DEFAULT;
}

/* The proxy whose statistics page the request target asks for (the
 * frontend's first, as HAProxy), or NULL. */
static const struct cfg_proxy *stats_page_of(const struct cfg_proxy *fcp,
					     const struct cfg_proxy *bcp,
					     const struct h1_msg *m, const char *buf)
{
	const struct cfg_proxy *c[2] = { fcp, bcp };
	const char *u = buf + m->uri.off;
	size_t i, n;

	for (i = 0; i < 2; i++) {
		if (!c[i] || !c[i]->st_enabled)
			continue;
		n = strlen(stats_uri(c[i]));
		if (m->uri.len >= n && !memcmp(u, stats_uri(c[i]), n))
			return c[i];
	}
	return NULL;
}

/* The whole answer (head and body) in a malloc'd string: HAProxy's CSV or
 * the HTML page, read with the other threads parked. Thread 0 only. */
static char *stats_page_make(const struct cfg_proxy *cp, int csv, size_t *len)
{
	struct statspage_opts o;
	struct sbuf text, body, all;
	char info[160], title[64];
	int prompt = 0, quit = 0;
	uint64_t up = (loop_now() - proxy_info.start_mono) / 1000;

	sb_init(&text);
	sb_init(&body);
	sb_init(&all);
	thread_isolate();
	stats_exec_line("show stat", CFG_STATS_LEVEL_USER, &text, &prompt, &quit);
	thread_release();
	if (csv) {
		sb_putn(&body, text.p ? text.p : "", text.len);
	} else {
		snprintf(title, sizeof(title), "proxyd%s%s", cp->st_hide_version ? "" : " ",
			 cp->st_hide_version ? "" : PACKAGE_VERSION);
		snprintf(info, sizeof(info), "pid %ld, up %llus, %u threads, %u connections "
			 "(maxconn %u)", (long)getpid(), (unsigned long long)up, thread_count,
			 PX_LOAD(proxy_info.curconn), proxy_info.maxconn);
		o.refresh_s = (cp->st_refresh + 999) / 1000;
		o.title = title;
		o.info = info;
		o.uri = stats_uri(cp);
		statspage_html(&body, text.p ? text.p : "", text.len, &o);
	}
	sb_printf(&all, "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nConnection: close\r\n"
		  "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		  csv ? "text/plain" : "text/html", body.len);
	sb_putn(&all, body.p ? body.p : "", body.len);
	sb_free(&body);
	sb_free(&text);
	if (all.err) {
		sb_free(&all);
		return NULL;
	}
	*len = all.len;
	return sb_take(&all);
}

/* The page is ready (in the session's thread): send it, log, close. */
static void stats_page_send(struct session *s, char *page, size_t len)
{
	if (!page) {
		(void)http_error(s, 500, SESS_CAUSE_RESOURCE, "stats page: out of memory");
		return;
	}
	cli_answer_blob(s, 200, page, len);
	(void)answered(s, SESS_CAUSE_LOCAL);
}

static void stats_page_done_cb(struct thread_msg *m)
{
	struct session *s = m->a;

	/* The session may have ended (and its slot been reused) meanwhile. */
	if (s->lb.sid != (uint32_t)m->u || s->state == SESS_ST_CLOSED ||
	    s->http.rq != HTTP_RQ_LOCAL) {
		free(m->b);
		return;
	}
	stats_page_send(s, m->b, (size_t)m->fd);
	http_run(s);
}

/* In thread 0, for a session of thread m->len: the page, sent back. */
static void stats_page_build_cb(struct thread_msg *m)
{
	const struct cfg_proxy *cp = m->b;
	struct thread_msg r = { .fn = stats_page_done_cb, .a = m->a, .u = m->u };
	size_t len = 0;

	r.b = stats_page_make(cp, m->fd, &len);
	if (len > INT_MAX) {
		free(r.b);
		r.b = NULL;
	}
	r.fd = (int)len;
	if (thread_send(m->len, &r) == -1)
		free(r.b);      /* the session ends at its client timeout */
}

/* A request for the statistics page of cp: authentication, then the page
 * (made in thread 0, which alone may park the others). 1, or -1 when the
 * session ended. */
static int stats_page_request(struct session *s, const struct cfg_proxy *cp,
			      const struct h1_msg *m, const char *buf)
{
	struct sess_http *h = &s->http;
	int csv = statspage_wants_csv(buf + m->uri.off, m->uri.len);
	size_t len = 0;
	char *page;

	if (cp->st_nauth) {
		int idx = h1_hdr_find(m, buf, "authorization", 0);

		if (idx == -1 || !statspage_auth_ok(buf + m->hdrs[idx].value.off,
						    m->hdrs[idx].value.len, cp->st_auth,
						    cp->st_nauth)) {
			static const char body[] = "<html><body><h1>401 Unauthorized</h1>\n"
						   "You need a valid user and password to access "
						   "this content.\n</body></html>\n";
			struct sbuf a;

			sb_init(&a);
			sb_printf(&a, "HTTP/1.1 401 Unauthorized\r\nContent-Length: %zu\r\n"
				  "Cache-Control: no-cache\r\nConnection: close\r\n"
				  "Content-Type: text/html\r\nWWW-Authenticate: Basic realm=\"%s\"\r\n"
				  "\r\n%s", sizeof(body) - 1,
				  cp->st_realm ? cp->st_realm : STATS_REALM_DEFAULT, body);
			if (a.err) {
				sb_free(&a);
				return http_error(s, 500, SESS_CAUSE_RESOURCE, "out of memory");
			}
			len = a.len;
			h->io->reason = "stats page: authentication";
			cli_answer_blob(s, 401, sb_take(&a), len);
			return answered(s, SESS_CAUSE_PROXY);
		}
	}
	if (thread_id == 0) {
		page = stats_page_make(cp, csv, &len);
		stats_page_send(s, page, len);
		return ended(s) ? -1 : 1;
	}
	{
		struct thread_msg q = { .fn = stats_page_build_cb, .a = s, .b = (void *)cp,
					.u = s->lb.sid, .fd = csv, .len = thread_id };

		if (thread_send(0, &q) == -1)
			return http_error(s, 500, SESS_CAUSE_RESOURCE, "out of memory");
	}
	h->rq = HTTP_RQ_LOCAL;
	return 1;
}

/* ---- session entry points ---------------------------------------------- */

/* The transaction state (struct sess_http_io): 0, or -1 when none can be
 * had. */
static int io_take(struct session *s)
{
	struct sess_http *h = &s->http;

	if (h->io)
		return 0;
	h->io = sess_http_io_get();
	if (!h->io)
		return -1;
	h->rline = h->io->rline;
	return 0;
}

/* Gives the transaction state back when nothing needs it: between
 * requests, nothing buffered or pending either way. */
static void io_release_idle(struct session *s)
{
	struct sess_http *h = &s->http;
	struct sess_http_io *x = h->io;

	if (!x || h->rq != HTTP_RQ_IDLE || h->rs != HTTP_RS_NONE || (h->flags & HTTP_F_TXN) ||
	    x->ibuf || x->sbuf || x->retry || chan_pending(&s->req) || chan_pending(&s->res))
		return;
	sess_http_io_put(x);
	h->io = NULL;
	h->rline = "";
}

void http_session_start(struct session *s)
{
	struct sess_http *h = &s->http;

	h->rline = "";
	h->on = 1;
	h->rq = HTTP_RQ_IDLE;
	h->rs = HTTP_RS_NONE;
	h->t_rq = s->t_accept;
	h->t_rq_real = s->t_accept_real;
	h->tr = -1;
	s->state = SESS_ST_ASSIGN;
	session_timer_update(s);
}

void http_session_free(struct session *s)
{
	struct sess_http *h = &s->http;

	if (h->io) {
		buf_drop(&h->io->ibuf, &h->io->ioff, &h->io->ilen);
		buf_drop(&h->io->sbuf, &h->io->soff, &h->io->slen);
		retry_drop(h);
		free(h->io->blob);
		sess_http_io_put(h->io);
		h->io = NULL;
	}
	free(h->cap);
	h->cap = NULL;
	h->rline = "";
	h->on = 0;
	G.freed = s;
}

/* The answer for a transaction the session ends without a response. */
static unsigned end_status(const struct session *s, enum sess_cause cause)
{
	const struct sess_http *h = &s->http;

	switch (cause) {
	case SESS_CAUSE_CLI_TO:
		return h->rq < HTTP_RQ_DONE ? 408 : 0;
	case SESS_CAUSE_SRV_TO:
		return s->state == SESS_ST_DATA ? 504 : 503;
	case SESS_CAUSE_SRV_ABORT:
		return s->state == SESS_ST_DATA ? 502 : 503;
	case SESS_CAUSE_PROXY:
	case SESS_CAUSE_RESOURCE:
		return 503;
	case SESS_CAUSE_INTERNAL:
		return 500;
	default:
		return 0;
	}
}

void http_session_end(struct session *s, enum sess_cause cause)
{
	struct sess_http *h = &s->http;

	if ((h->flags & HTTP_F_TXN) && !h->status && h->rq != HTTP_RQ_TUNNEL &&
	    chan_pending(&s->res) == 0 && !(h->flags & HTTP_F_ERRSENT)) {
		unsigned st = end_status(s, cause);

		if (st)
			send_error(s, st);
	}
	txn_log(s, cause);
	if (s->state != SESS_ST_DATA && s->srvs.fd != -1 && h->idle_srv)
		pool_park(s);
	/* A tunnel's ends close as the peers did; otherwise the server
	 * connection is of no more use (see srv_close). */
	if (h->rq != HTTP_RQ_TUNNEL && s->srvs.fd != -1)
		srv_close(s);
}

int http_conn_reuse(struct session *s, struct server *srv)
{
	struct sess_http *h = &s->http;
	const struct cfg_proxy *bcp = cfg_of(srv->be);
	int taken = 0;

	if (h->flags & HTTP_F_NOREUSE)
		return 0;
	/* The session's own connection serves its next request to the same
	 * server in every mode (HAProxy's private connection); http-reuse
	 * decides who else may take it once it is in the server's pool.
	 * safe: the first request of a session gets its own connection,
	 * later ones may take any idle one; aggressive and always: any
	 * request may; never: none. */
	if (s->srvs.fd != -1 && s->state != SESS_ST_DATA) {
		if (h->idle_srv == srv)
			taken = 1;
		else
			pool_park(s);
	}
	if (!taken && bcp && bcp->http_reuse != CFG_REUSE_NEVER &&
	    (bcp->http_reuse != CFG_REUSE_SAFE || h->nreq > 1))
		taken = pool_take(s, srv);
	if (!taken)
		return 0;
	h->idle_srv = NULL;
	h->flags |= HTTP_F_REUSED;
	/* Keep what is needed to send a bodiless request again. */
	if (h->io->req.state == H1_ST_DONE && s->req.len && !h->io->retry &&
	    (h->io->retry = sess_buf_get()) != NULL) {
		memcpy(h->io->retry->data, s->req.buf->data + s->req.off, s->req.len);
		h->io->retry_len = s->req.len;
	}
	s->srv = srv;
	bin_head_flush(s);
	s->state = SESS_ST_DATA;
	s->t_connect = loop_now();
	if (!s->t_first_connect)
		s->t_first_connect = s->t_connect;
	s->tc = (int)(s->t_connect - s->t_first_connect);
	s->srvs.last_rd = s->t_connect;
	s->srvs.last_wr = s->t_connect;
	s->req.flags = 0;
	s->res.flags = 0;
	h->rq = HTTP_RQ_BODY;
	h->rs = HTTP_RS_HEAD;
	h->io->t_sent = s->t_connect;
	/* The caller (assign or queue) returns to the session's driver,
	 * which sends the head; a queue handing the slot over from another
	 * session's callback needs a resume. */
	session_resume_soon(s);
	return 1;
}

void http_srv_connected(struct session *s)
{
	struct sess_http *h = &s->http;

	h->flags &= ~HTTP_F_REUSED;
	h->rq = HTTP_RQ_BODY;
	h->rs = HTTP_RS_HEAD;
	h->io->t_sent = loop_now();
	bin_head_flush(s);
	http_run(s);
}

void http_timeout(struct session *s, enum sess_exp what)
{
	struct sess_http *h = &s->http;

	if (what == SESS_EXP_HTTP_KA || (h->rq == HTTP_RQ_IDLE && !(h->flags & HTTP_F_TXN))) {
		/* Nothing of a request arrived. A first request that never
		 * came is answered 408 like HAProxy does; an idle keep-alive
		 * connection is closed silently. */
		if (what == SESS_EXP_HTTP_KA || h->nreq) {
			session_end(s, SESS_CAUSE_NONE, 0, 0);
			return;
		}
		if (io_take(s) == -1) {
			session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
			return;
		}
		txn_begin(s);
	}
	if (http_error(s, 408, SESS_CAUSE_CLI_TO, "timeout http-request") > 0)
		http_run(s);
}

/* ---- request ----------------------------------------------------------- */

/* A request the parser refused (head or body): counted and logged with
 * the reason, as an event line beside the session's own line. */
static void bad_request_log(struct session *s)
{
	char ip[INET6_ADDRSTRLEN];

	PX_INC(s->fe->fe.ereq);
	fmt_ip(&s->cli_addr, ip, sizeof(ip));
	plog_event(PLOG_NOTICE, "event=http_bad_request frontend=%s client=%s reason=\"%s\" "
		   "pos=%u", s->fe->name, ip, h1_err_str(s->http.io->req.err), s->http.io->req.err_pos);
}

static void rline_capture(struct sess_http *h, const char *buf)
{
	const struct h1_msg *m = &h->io->req;
	uint32_t end = m->version.off + m->version.len;
	uint32_t len = end > m->start ? end - m->start : 0;
	uint32_t i;

	if (len >= sizeof(h->io->rline))
		len = sizeof(h->io->rline) - 1;
	memcpy(h->io->rline, buf + m->start, len);
	for (i = 0; i < len; i++)
		if (h->io->rline[i] == '"' || (unsigned char)h->io->rline[i] < 0x20)
			h->io->rline[i] = '#';
	h->io->rline[len] = '\0';
}

static void op_add(struct http_hdr_op *ops, size_t *nops, enum http_hop_kind k,
		   const char *name, const char *value)
{
	if (*nops >= HTTP_MAX_OPS)
		return;
	ops[*nops].kind = k;
	ops[*nops].name = name;
	ops[*nops].namelen = strlen(name);
	ops[*nops].value = value;
	ops[*nops].valuelen = value ? strlen(value) : 0;
	(*nops)++;
}

/* ---- persistence cookie (cookie NAME insert) ---------------------------- */

/* The next "name=value" of a Cookie header value from *pos (';'
 * separated, spaces trimmed): 1 with the spans set, 0 at the end. */
static int ck_next(const char *v, uint32_t len, uint32_t *pos, uint32_t *b, uint32_t *e)
{
	while (*pos < len) {
		*b = *pos;
		while (*pos < len && v[*pos] != ';')
			(*pos)++;
		*e = *pos;
		(*pos)++;
		while (*b < *e && (v[*b] == ' ' || v[*b] == '\t'))
			(*b)++;
		while (*e > *b && (v[*e - 1] == ' ' || v[*e - 1] == '\t'))
			(*e)--;
		if (*e > *b)
			return 1;
	}
	return 0;
}

/* Request side: the backend's cookie names the server to use (s->lb.persist
 * while it is usable); with indirect, the Cookie headers are sent without
 * it (rebuilt in out, outsz bytes, referenced by an added op). */
static void ck_request(struct session *s, struct proxy *be, struct h1_msg *m, const char *buf,
		       struct http_hdr_op *ops, size_t *nops, char *out, size_t outsz)
{
	struct sess_http *h = &s->http;
	size_t olen = 0;
	int idx = -1, strip = (be->ck_opts & CFG_CK_INDIRECT) != 0, stripped = 0;
	uint32_t pos, b, e;
	unsigned i;

	h->ck_req = 'N';
	while ((idx = h1_hdr_find(m, buf, "cookie", idx + 1)) != -1) {
		const char *v = buf + m->hdrs[idx].value.off;
		uint32_t len = m->hdrs[idx].value.len;
		size_t start = olen;
		int here = 0;

		for (pos = 0; ck_next(v, len, &pos, &b, &e);) {
			if (e - b > be->ck_namelen && v[b + be->ck_namelen] == '=' &&
			    !memcmp(v + b, be->ck_name, be->ck_namelen)) {
				const char *val = v + b + be->ck_namelen + 1;
				size_t vlen = e - b - be->ck_namelen - 1;

				here = 1;
				h->ck_req = 'I';
				for (i = 0; i < be->nsrvs; i++) {
					struct server *srv = &be->srvs[i];

					if (srv->cookie && srv->cookielen == vlen &&
					    !memcmp(srv->cookie, val, vlen)) {
						h->ck_req = server_usable_locked(srv) ? 'V' : 'D';
						s->lb.persist = h->ck_req == 'V' ? srv : NULL;
						break;
					}
				}
				continue;
			}
			/* Another cookie: kept in the rebuilt header. */
			if (strip && olen + (e - b) + 2 < outsz) {
				if (olen) {
					memcpy(out + olen, "; ", 2);
					olen += 2;
				}
				memcpy(out + olen, v + b, e - b);
				olen += e - b;
			}
		}
		if (strip && here) {
			m->hdrs[idx].flags |= H1_HDR_SKIP;
			stripped = 1;
		} else {
			/* Kept as it is: nothing of it goes into the rebuilt one. */
			olen = start;
		}
	}
	if (stripped && olen) {
		out[olen] = '\0';
		op_add(ops, nops, HTTP_HOP_ADD, "Cookie", out);
	}
}

/* Response side: a server's own cookie of that name is dropped (kept with
 * preserve, and then none is inserted); proxyd's is inserted unless
 * indirect and the client sent the right one. */
static void ck_response(struct session *s, struct h1_msg *m, const char *buf,
			struct http_hdr_op *ops, size_t *nops)
{
	struct sess_http *h = &s->http;
	const struct proxy *be = s->be;
	const struct server *srv = s->srv;
	int idx = -1, own = 0;

	h->ck_res = 'N';
	while ((idx = h1_hdr_find(m, buf, "set-cookie", idx + 1)) != -1) {
		const char *v = buf + m->hdrs[idx].value.off;

		if (m->hdrs[idx].value.len > be->ck_namelen && v[be->ck_namelen] == '=' &&
		    !memcmp(v, be->ck_name, be->ck_namelen)) {
			own = 1;
			if (!(be->ck_opts & CFG_CK_PRESERVE))
				m->hdrs[idx].flags |= H1_HDR_SKIP;
		}
	}
	if (own && (be->ck_opts & CFG_CK_PRESERVE)) {
		h->ck_res = 'P';
		return;
	}
	if (!srv->ck_set || ((be->ck_opts & CFG_CK_INDIRECT) && h->ck_req == 'V' &&
			     s->lb.persist == srv))
		return;
	op_add(ops, nops, HTTP_HOP_ADD, "Set-Cookie", srv->ck_set);
	if (be->ck_opts & CFG_CK_NOCACHE)
		op_add(ops, nops, HTTP_HOP_ADD, "Cache-Control", "private");
	h->ck_res = 'I';
}

/* A complete request head is in ibuf: rules, routing, rewrite, then a
 * server. Returns -1 when the session ended, else 1. */
static int req_analyse(struct session *s)
{
	struct sess_http *h = &s->http;
	struct h1_msg *m = &h->io->req;
	const char *buf = h->io->ibuf->data + h->io->ioff;
	const struct cfg_proxy *fcp = cfg_of(s->fe), *bcp;
	const struct http_smp x = { m, buf, m, buf, &s->cli_addr };
	const struct http_rule *hit = NULL;
	struct http_hdr_op ops[HTTP_MAX_OPS];
	size_t nops = 0;
	unsigned status = 0;
	struct proxy *be = NULL;
	enum cfg_http_conn mode;
	enum http_verdict v;
	char ip[INET6_ADDRSTRLEN];
	int idx, cli_ka, srv_ka;
	long n;
	size_t room;

	h->t_head = loop_now();
	h->nreq++;
	PX_INC(s->fe->fe.req_tot);
	px_mtrate_add(&s->fe->req_rate, h->t_head);
	rline_capture(h, buf);
	if (h->cap && s->fe->cap_req_size)
		capture_block(h->cap, fcp->cap_req, fcp->ncap_req, m, buf);
	if (m->meth == H1_METH_CONNECT ||
	    ((m->flags & H1_MF_UPGRADE) && (m->flags & H1_MF_CONN_UPGRADE)))
		h->flags |= HTTP_F_UPGRADE;

	if (fcp->monitor_uri && m->uri.len == strlen(fcp->monitor_uri) &&
	    !memcmp(buf + m->uri.off, fcp->monitor_uri, m->uri.len)) {
		/* monitor-uri: "200 OK", not logged (HAProxy's). */
		size_t len;
		const char *page = httperr_builtin(200, &len);

		cli_answer(s, 200, page, len);
		h->flags &= ~HTTP_F_TXN;        /* nothing to log */
		return answered(s, SESS_CAUSE_LOCAL);
	}
	v = http_rules_run(&fcp->rules, 0, &x, ops, HTTP_RULE_OPS, &nops, &status, &hit);
	if (v == HTTP_VERDICT_DENY) {
		PX_INC(s->fe->fe.dreq);
		return http_error(s, status ? status : 403, SESS_CAUSE_PROXY, "denied");
	}
	if (v == HTTP_VERDICT_REDIRECT)
		return http_redirect(s, hit);
	if (v == HTTP_VERDICT_ERROR)
		return http_error(s, 500, SESS_CAUSE_INTERNAL, "too many header edits");
	idx = http_rules_backend(&fcp->rules, &x);
	if (idx >= 0)
		be = proxy_at((unsigned)idx);
	else if (s->fe->defbe)
		be = s->fe->defbe;
	else if (s->fe->cap & CFG_CAP_BE)
		be = s->fe;
	if (!be || !(be->cap & CFG_CAP_BE))
		return http_error(s, 503, SESS_CAUSE_INTERNAL, "no backend");
	if (be != s->be)
		session_set_backend(s, be);
	bcp = cfg_of(be);
	if (be != s->fe) {
		v = http_rules_run(&bcp->rules, 0, &x, ops, HTTP_RULE_OPS, &nops, &status, &hit);
		if (v == HTTP_VERDICT_DENY) {
			PX_INC(be->be.dreq);
			PX_INC(s->fe->fe.dreq);
			return http_error(s, status ? status : 403, SESS_CAUSE_PROXY, "denied");
		}
		if (v == HTTP_VERDICT_REDIRECT)
			return http_redirect(s, hit);
		if (v == HTTP_VERDICT_ERROR)
			return http_error(s, 500, SESS_CAUSE_INTERNAL, "too many header edits");
	}
	PX_INC(be->be.req_tot);
	{
		const struct cfg_proxy *stp = stats_page_of(fcp, bcp, m, buf);

		if (stp)
			return stats_page_request(s, stp, m, buf);
	}
	if (be->ck_name)
		ck_request(s, be, m, buf, ops, &nops, G.scratch, sess_bufsize);

	mode = cfg_http_conn_mode(fcp, bcp);
	cli_ka = mode != CFG_HTTP_CLO && h1_msg_keepalive(m) && !PX_LOAD(proxy_info.stopping);
	srv_ka = mode == CFG_HTTP_KAL && !(h->flags & HTTP_F_UPGRADE);
	h->flags &= ~(HTTP_F_CLI_KA | HTTP_F_SRV_KA);
	if (cli_ka)
		h->flags |= HTTP_F_CLI_KA;
	if (srv_ka)
		h->flags |= HTTP_F_SRV_KA;

	if (((s->fe->options | be->options) & CFG_OPT_FORWARDFOR)) {
		const struct cfg_proxy *ffp = (be->options & CFG_OPT_FORWARDFOR) ? bcp : fcp;
		const char *name = ffp->ff_header ? ffp->ff_header : "X-Forwarded-For";

		fmt_ip(&s->cli_addr, ip, sizeof(ip));
		if (ip[0] && !http_net_match(&ffp->ff_except, &s->cli_addr) &&
		    !(ffp->ff_if_none && h1_hdr_find(m, buf, name, 0) >= 0))
			op_add(ops, &nops, HTTP_HOP_ADD, name, ip);
	}
	if (m->flags & (H1_MF_CONN_CLOSE | H1_MF_CONN_KAL | H1_MF_CONN_UPGRADE) ||
	    h1_hdr_find(m, buf, "connection", 0) >= 0)
		op_add(ops, &nops, HTTP_HOP_DEL, "Connection", NULL);
	if (h->flags & HTTP_F_UPGRADE) {
		if (m->meth != H1_METH_CONNECT)
			op_add(ops, &nops, HTTP_HOP_ADD, "Connection", "upgrade");
	} else if (!srv_ka) {
		if (m->flags & H1_MF_VER11)
			op_add(ops, &nops, HTTP_HOP_ADD, "Connection", "close");
	} else if (!(m->flags & H1_MF_VER11)) {
		op_add(ops, &nops, HTTP_HOP_ADD, "Connection", "keep-alive");
	}

	if (!s->req.buf) {
		s->req.buf = sess_buf_get();
		if (!s->req.buf)
			return http_error(s, 500, SESS_CAUSE_RESOURCE, "out of memory");
	}
	s->req.off = 0;
	s->req.len = 0;
	room = sess_bufsize;
	if (room > (size_t)m->head_len + HG.maxrewrite)
		room = (size_t)m->head_len + HG.maxrewrite;
	n = http_head_rewrite(m, buf, ops, nops, s->req.buf->data, room);
	if (n < 0)
		return http_error(s, 500, SESS_CAUSE_INTERNAL, "head rewrite overflow");
	s->req.len = (uint32_t)n;
	h->io->ioff += m->head_len;
	h->io->ilen -= m->head_len;
	if (!h->io->ilen)
		h->io->ioff = 0;
	h->rq = HTTP_RQ_WAIT_SRV;
	G.freed = NULL;
	session_assign(s);
	if (ended(s))
		return -1;
	return 1;
}

/* Reads and parses the request head. */
static int req_head(struct session *s)
{
	struct sess_http *h = &s->http;
	int progress = 0, r;
	ssize_t n;

	if (io_take(s) == -1) {
		session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
		return -1;
	}

	for (;;) {
		if (h->io->ilen) {
			if (h->rq == HTTP_RQ_IDLE) {
				h->rq = HTTP_RQ_HEAD;
				if (h->nreq) {
					h->t_rq = loop_now();
					h->t_rq_real = loop_now_real();
				}
				txn_begin(s);
				progress = 1;
			}
			h1_msg_init(&h->io->req, 0, HG.max_head, G.reqhdrs, HG.maxhdr);
			r = h1_head_parse(&h->io->req, h->io->ibuf->data + h->io->ioff, h->io->ilen);
			if (r == 1)
				return req_analyse(s);
			if (r < 0) {
				bad_request_log(s);
				return http_error(s, h1_err_status(h->io->req.err), SESS_CAUSE_PROXY,
						  h1_err_str(h->io->req.err));
			}
			if (h->io->ioff + h->io->ilen >= sess_bufsize) {
				if (h->io->ioff == 0) {
					PX_INC(s->fe->fe.ereq);
					return http_error(s, 400, SESS_CAUSE_PROXY,
							  "head too big");
				}
				memmove(h->io->ibuf->data, h->io->ibuf->data + h->io->ioff, h->io->ilen);
				h->io->ioff = 0;
			}
		}
		if (!(s->cli.flags & SESS_SD_CAN_RECV))
			return progress;
		if (buf_ensure(&h->io->ibuf) == -1)
			return http_error(s, 500, SESS_CAUSE_RESOURCE, "out of memory");
		n = recv(s->cli.fd, h->io->ibuf->data + h->io->ioff + h->io->ilen,
			 sess_bufsize - h->io->ioff - h->io->ilen, MSG_DONTWAIT);
		if (n == 0) {
			if (h->rq == HTTP_RQ_IDLE) {
				/* Closed between requests: a normal end. */
				session_end(s, SESS_CAUSE_NONE, 0, 0);
				return -1;
			}
			txn_log(s, SESS_CAUSE_CLI_ABORT);
			session_end(s, SESS_CAUSE_CLI_ABORT, 0, 0);
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				s->cli.flags &= ~SESS_SD_CAN_RECV;
				if (!h->io->ilen)
					buf_drop(&h->io->ibuf, &h->io->ioff, &h->io->ilen);
				return progress;
			}
			session_end(s, h->rq == HTTP_RQ_IDLE ? SESS_CAUSE_NONE : SESS_CAUSE_CLI_ABORT,
				    0, 0);
			return -1;
		}
		s->cli.last_rd = loop_now();
		s->req.bytes += (uint64_t)n;
		PX_ADD(s->fe->fe.bin, (uint64_t)n);
		h->bin_head += (uint64_t)n;
		if ((size_t)n < sess_bufsize - h->io->ioff - h->io->ilen &&
		    !(s->cli.flags & SESS_SD_RDHUP))
			s->cli.flags &= ~SESS_SD_CAN_RECV;      /* drained (see chan_copy) */
		h->io->ilen += (uint32_t)n;
		progress = 1;
	}
}

/* ---- bodies ------------------------------------------------------------ */

/* Body bytes the framing allows forwarding unparsed (either direction)
 * above which they go through a pipe (splice) rather than the copy
 * buffer. */
#define HTTP_SPLICE_MIN (64u * 1024u)
#define HTTP_SPLICE_CHUNK (1u << 20)

/* One splice of body bytes (at most h1_body_direct) from the producer into
 * c's pipe, then as much of the pipe as the consumer takes. Only called
 * with nothing buffered on c. 1 progress, 0 nothing moved (no data, no
 * pipe, or splicing unsupported: c is then marked), or a FWD_ERR_* code. */
static int body_splice(struct session *s, int req, struct h1_msg *m, struct sess_chan *c,
		       struct sess_side *prod, struct sess_side *cons, uint32_t *budget)
{
	uint64_t d = h1_body_direct(m);
	size_t want = d < HTTP_SPLICE_CHUNK ? (size_t)d : HTTP_SPLICE_CHUNK;
	ssize_t n;

	if (c->pipe[0] == -1 && sess_pipe_get(c->pipe) == -1)
		return 0;
	do
		n = splice(prod->fd, NULL, c->pipe[1], NULL, want,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n == -1 && errno == EINTR);
	if (n == 0) {
		sess_pipe_put(c->pipe);
		c->flags |= SESS_CH_SHUTR;
		return h1_msg_eof(m) == -1 ? FWD_ERR_TRUNC : 0;
	}
	if (n == -1) {
		int e = errno;

		sess_pipe_put(c->pipe);
		if (e == EAGAIN || e == EWOULDBLOCK) {
			prod->flags &= ~SESS_SD_CAN_RECV;
			return 0;
		}
		if (e == EINVAL || e == ENOSYS) {
			c->flags |= SESS_CH_NOSPLICE;
			return 0;
		}
		return FWD_ERR_PROD;
	}
	h1_body_skip(m, (uint64_t)n);
	c->pipe_bytes += (uint32_t)n;
	c->bytes += (uint64_t)n;
	session_count_bytes(s, req, (uint64_t)n);
	prod->last_rd = loop_now();
	cons->last_wr = prod->last_rd;
	*budget = (uint32_t)n < *budget ? *budget - (uint32_t)n : 0;
	if (pipe_flush(c, cons) < 0)
		return FWD_ERR_CONS;
	return 1;
}

/* Forwards body bytes of one message: first those already buffered, then
 * straight from the producer, each checked by the framing parser; bytes
 * beyond the message stay buffered (the next message). Returns 0 or 1
 * (progress), or a FWD_ERR_* code. */
static int http_fwd(struct session *s, int req)
{
	struct sess_http *h = &s->http;
	struct h1_msg *m = req ? &h->io->req : &h->io->res;
	struct sess_side *prod = req ? &s->cli : &s->srvs;
	struct sess_side *cons = req ? &s->srvs : &s->cli;
	struct sess_chan *c = req ? &s->req : &s->res;
	struct sess_buf **ib = req ? &h->io->ibuf : &h->io->sbuf;
	uint32_t *ioff = req ? &h->io->ioff : &h->io->soff;
	uint32_t *ilen = req ? &h->io->ilen : &h->io->slen;
	uint32_t budget = SESS_BUDGET;
	int progress = 0, r;

	/* Body bytes already read go out in the same write as the pending
	 * head when they fit behind it. */
	if (c->len && *ilen && m->state == H1_ST_BODY &&
	    c->off + c->len + *ilen <= sess_bufsize) {
		ssize_t a = h1_body_parse(m, (*ib)->data + *ioff, *ilen);

		if (a < 0)
			return FWD_ERR_BODY;
		memcpy(c->buf->data + c->off + c->len, (*ib)->data + *ioff, (size_t)a);
		c->len += (uint32_t)a;
		*ioff += (uint32_t)a;
		*ilen -= (uint32_t)a;
		if (!*ilen)
			*ioff = 0;
	}
	r = chan_flush(c, cons);
	if (r < 0)
		return FWD_ERR_CONS;
	progress |= r;
	if (chan_pending(c))
		return progress;
	while (m->state == H1_ST_BODY) {
		const char *src;
		ssize_t a, n, w;

		if (*ilen) {
			src = (*ib)->data + *ioff;
			a = h1_body_parse(m, src, *ilen);
			if (a < 0)
				return FWD_ERR_BODY;
			*ioff += (uint32_t)a;
			*ilen -= (uint32_t)a;
			if (!*ilen)
				*ioff = 0;
		} else {
			size_t want = sess_bufsize;
			uint64_t d = h1_body_direct(m);

			if (!(prod->flags & SESS_SD_CAN_RECV) || (c->flags & SESS_CH_SHUTR))
				break;
			if (budget == 0) {
				G.more = 1;
				break;
			}
			if (d >= HTTP_SPLICE_MIN && session_splice_ok(c)) {
				r = body_splice(s, req, m, c, prod, cons, &budget);
				if (r < 0)
					return r;
				if (r > 0) {
					progress = 1;
					if (chan_pending(c))
						break;
					continue;
				}
				if (!(prod->flags & SESS_SD_CAN_RECV) || (c->flags & SESS_CH_SHUTR))
					break;
				/* No pipe or splicing unsupported: copy. */
			}
			if (d && d < want)
				want = (size_t)d;
			n = recv(prod->fd, G.scratch, want, MSG_DONTWAIT);
			if (n == 0) {
				c->flags |= SESS_CH_SHUTR;
				if (h1_msg_eof(m) == -1)
					return FWD_ERR_TRUNC;
				break;
			}
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					prod->flags &= ~SESS_SD_CAN_RECV;
					break;
				}
				return FWD_ERR_PROD;
			}
			prod->last_rd = loop_now();
			c->bytes += (uint64_t)n;
			session_count_bytes(s, req, (uint64_t)n);
			budget = (uint32_t)n < budget ? budget - (uint32_t)n : 0;
			/* A short read drained the socket: the next arrival is
			 * an edge of its own (as in chan_copy). */
			if ((size_t)n < want && !(prod->flags & SESS_SD_RDHUP))
				prod->flags &= ~SESS_SD_CAN_RECV;
			src = G.scratch;
			a = h1_body_parse(m, src, (size_t)n);
			if (a < 0)
				return FWD_ERR_BODY;
			if (a < n) {
				/* Beyond the message: the next one. */
				if (buf_ensure(ib) == -1)
					return FWD_ERR_RES;
				memcpy((*ib)->data, src + a, (size_t)(n - a));
				*ioff = 0;
				*ilen = (uint32_t)(n - a);
			}
		}
		progress = 1;
		if (!a)
			continue;
		w = session_cons_send(cons, src, (size_t)a);
		if (w == -1)
			return FWD_ERR_CONS;
		if (w < a) {
			if (chan_append(c, src + w, (size_t)(a - w)) == -1)
				return FWD_ERR_RES;
			if (w == 0)
				cons->last_wr = loop_now();
			break;
		}
	}
	return progress;
}

static int req_body(struct session *s)
{
	struct sess_http *h = &s->http;
	int r = http_fwd(s, 1);

	if (r < 0) {
		switch (r) {
		case FWD_ERR_CONS:
			if (retry_fresh(s))
				return ended(s) ? -1 : 1;
			session_end(s, SESS_CAUSE_SRV_ABORT, 1, 0);
			return -1;
		case FWD_ERR_RES:
			session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
			return -1;
		case FWD_ERR_BODY:
			bad_request_log(s);
			if (chan_pending(&s->res) == 0 && h->rs == HTTP_RS_HEAD &&
			    !(h->flags & HTTP_F_RES_SEEN))
				return http_error(s, 400, SESS_CAUSE_PROXY, h1_err_str(h->io->req.err));
			/* fall through */
		default:
			txn_log(s, SESS_CAUSE_CLI_ABORT);
			session_end(s, SESS_CAUSE_CLI_ABORT, 0, 1);
			return -1;
		}
	}
	if (h->io->req.state == H1_ST_DONE && chan_pending(&s->req) == 0) {
		h->rq = HTTP_RQ_DONE;
		return 1;
	}
	return r;
}

/* ---- response ----------------------------------------------------------- */

/* A complete response head is in sbuf. */
static int res_analyse(struct session *s)
{
	struct sess_http *h = &s->http;
	struct h1_msg *m = &h->io->res;
	const char *buf = h->io->sbuf->data + h->io->soff;
	const struct cfg_proxy *fcp = cfg_of(s->fe), *bcp = cfg_of(s->be);
	const struct http_smp x = { NULL, NULL, m, buf, &s->cli_addr };
	const struct http_rule *hit = NULL;
	struct http_hdr_op ops[HTTP_MAX_OPS];
	size_t nops = 0, room;
	unsigned status = 0;
	enum http_verdict v;
	int tunnel, cli_ka;
	long n;

	if (h1_msg_is_interim(m)) {
		/* 100 Continue and friends go to the client as they are. */
		if (chan_append(&s->res, buf, m->head_len) == -1)
			return http_error(s, 502, SESS_CAUSE_RESOURCE, "interim response");
		h->io->soff += m->head_len;
		h->io->slen -= m->head_len;
		return 1;
	}
	tunnel = h1_msg_is_tunnel(m);
	h->tr = (int)(loop_now() - h->io->t_sent);
	if (h->cap && s->fe->cap_res_size)
		capture_block(h->cap + s->fe->cap_req_size, fcp->cap_res, fcp->ncap_res, m, buf);
	v = http_rules_run(&bcp->rules, 1, &x, ops, HTTP_RULE_OPS, &nops, &status, &hit);
	if (v == HTTP_VERDICT_CONTINUE && fcp != bcp)
		v = http_rules_run(&fcp->rules, 1, &x, ops, HTTP_RULE_OPS, &nops, &status, &hit);
	if (v == HTTP_VERDICT_DENY) {
		PX_INC(s->be->be.dresp);
		if (s->srv)
			PX_INC(s->srv->c.dresp);
		return http_error(s, 502, SESS_CAUSE_PROXY, "response denied");
	}
	if (v == HTTP_VERDICT_ERROR)
		return http_error(s, 500, SESS_CAUSE_INTERNAL, "too many header edits");
	if (s->be->ck_name && s->srv)
		ck_response(s, m, buf, ops, &nops);

	cli_ka = (h->flags & HTTP_F_CLI_KA) && m->framing != H1_BODY_CLOSE && !tunnel &&
		 !PX_LOAD(proxy_info.stopping) && h->rq == HTTP_RQ_DONE;
	if (!cli_ka)
		h->flags &= ~HTTP_F_CLI_KA;
	if (!h1_msg_keepalive(m) || tunnel)
		h->flags &= ~HTTP_F_SRV_KA;
	if (m->flags & (H1_MF_CONN_CLOSE | H1_MF_CONN_KAL | H1_MF_CONN_UPGRADE) ||
	    h1_hdr_find(m, buf, "connection", 0) >= 0)
		op_add(ops, &nops, HTTP_HOP_DEL, "Connection", NULL);
	if (tunnel) {
		if (m->status == 101)
			op_add(ops, &nops, HTTP_HOP_ADD, "Connection", "upgrade");
	} else if (!cli_ka) {
		if (h->io->req.flags & H1_MF_VER11)
			op_add(ops, &nops, HTTP_HOP_ADD, "Connection", "close");
		h->flags |= HTTP_F_CLOSE_SENT;
	} else if (!(h->io->req.flags & H1_MF_VER11)) {
		op_add(ops, &nops, HTTP_HOP_ADD, "Connection", "keep-alive");
	}
	if (!s->res.buf) {
		s->res.buf = sess_buf_get();
		if (!s->res.buf)
			return http_error(s, 502, SESS_CAUSE_RESOURCE, "out of memory");
		s->res.off = 0;
		s->res.len = 0;
	}
	if (s->res.off) {
		memmove(s->res.buf->data, s->res.buf->data + s->res.off, s->res.len);
		s->res.off = 0;
	}
	room = sess_bufsize - s->res.len;
	if (room > (size_t)m->head_len + HG.maxrewrite)
		room = (size_t)m->head_len + HG.maxrewrite;
	n = http_head_rewrite(m, buf, ops, nops, s->res.buf->data + s->res.len, room);
	if (n < 0)
		return http_error(s, 502, SESS_CAUSE_INTERNAL, "head rewrite overflow");
	s->res.len += (uint32_t)n;
	h->status = m->status;
	hrsp_count(s, m->status);
	h->io->soff += m->head_len;
	h->io->slen -= m->head_len;
	if (!h->io->slen)
		h->io->soff = 0;
	if (tunnel) {
		/* Bytes already read on either side go first, then the TCP
		 * core forwards (timeout tunnel). */
		if (h->io->slen && chan_append(&s->res, h->io->sbuf->data + h->io->soff, h->io->slen) == -1)
			return http_error(s, 502, SESS_CAUSE_RESOURCE, "tunnel");
		if (h->io->ilen && chan_append(&s->req, h->io->ibuf->data + h->io->ioff, h->io->ilen) == -1)
			return http_error(s, 502, SESS_CAUSE_RESOURCE, "tunnel");
		buf_drop(&h->io->sbuf, &h->io->soff, &h->io->slen);
		buf_drop(&h->io->ibuf, &h->io->ioff, &h->io->ilen);
		h->rq = HTTP_RQ_TUNNEL;
		h->rs = HTTP_RS_TUNNEL;
		s->tunnel = 1;
		s->cli.last_rd = s->cli.last_wr = loop_now();
		s->srvs.last_rd = s->srvs.last_wr = loop_now();
		s->cli.flags |= SESS_SD_CAN_RECV;
		s->srvs.flags |= SESS_SD_CAN_RECV;
		return 1;
	}
	h->rs = m->state == H1_ST_DONE ? HTTP_RS_DONE : HTTP_RS_BODY;
	return 1;
}

static int res_head(struct session *s)
{
	struct sess_http *h = &s->http;
	int progress = 0, r;
	ssize_t n;

	r = chan_flush(&s->res, &s->cli);
	if (r < 0) {
		session_end(s, SESS_CAUSE_CLI_ABORT, 0, 1);
		return -1;
	}
	progress |= r;
	for (;;) {
		if (h->io->slen) {
			uint32_t fl = H1_MF_RESP;

			if (h->io->req.meth == H1_METH_HEAD)
				fl |= H1_MF_REQ_HEAD;
			if (h->io->req.meth == H1_METH_CONNECT)
				fl |= H1_MF_REQ_CONNECT;
			h1_msg_init(&h->io->res, fl, HG.max_head, G.reshdrs, HG.maxhdr);
			r = h1_head_parse(&h->io->res, h->io->sbuf->data + h->io->soff, h->io->slen);
			if (r == 1) {
				r = res_analyse(s);
				if (r < 0 || h->rs != HTTP_RS_HEAD)
					return r;
				progress = 1;
				continue;
			}
			if (r < 0) {
				PX_INC(s->be->be.eresp);
				if (s->srv)
					PX_INC(s->srv->c.eresp);
				plog_event(PLOG_NOTICE, "event=http_bad_response backend=%s server=%s "
					   "reason=\"%s\" pos=%u", s->be->name,
					   s->srv ? s->srv->name : "-", h1_err_str(h->io->res.err),
					   h->io->res.err_pos);
				return http_error(s, 502, SESS_CAUSE_PROXY, h1_err_str(h->io->res.err));
			}
			if (h->io->soff + h->io->slen >= sess_bufsize) {
				if (h->io->soff == 0) {
					PX_INC(s->be->be.eresp);
					return http_error(s, 502, SESS_CAUSE_PROXY,
							  "response head too big");
				}
				memmove(h->io->sbuf->data, h->io->sbuf->data + h->io->soff, h->io->slen);
				h->io->soff = 0;
			}
		}
		if (!(s->srvs.flags & SESS_SD_CAN_RECV))
			return progress;
		if (buf_ensure(&h->io->sbuf) == -1) {
			session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
			return -1;
		}
		n = recv(s->srvs.fd, h->io->sbuf->data + h->io->soff + h->io->slen,
			 sess_bufsize - h->io->soff - h->io->slen, MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN &&
			       errno != EWOULDBLOCK)) {
			if (h->io->slen == 0 && retry_fresh(s))
				return ended(s) ? -1 : 1;
			PX_INC(s->be->be.eresp);
			if (s->srv)
				PX_INC(s->srv->c.eresp);
			session_end(s, SESS_CAUSE_SRV_ABORT, 0, 0);
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			s->srvs.flags &= ~SESS_SD_CAN_RECV;
			return progress;
		}
		h->flags |= HTTP_F_RES_SEEN;
		retry_drop(h);
		s->srvs.last_rd = loop_now();
		s->res.bytes += (uint64_t)n;
		session_count_bytes(s, 0, (uint64_t)n);
		if ((size_t)n < sess_bufsize - h->io->soff - h->io->slen &&
		    !(s->srvs.flags & SESS_SD_RDHUP))
			s->srvs.flags &= ~SESS_SD_CAN_RECV;     /* drained */
		h->io->slen += (uint32_t)n;
		progress = 1;
	}
}

static int res_body(struct session *s)
{
	struct sess_http *h = &s->http;
	int r = http_fwd(s, 0);

	if (r < 0) {
		switch (r) {
		case FWD_ERR_CONS:
			txn_log(s, SESS_CAUSE_CLI_ABORT);
			session_end(s, SESS_CAUSE_CLI_ABORT, 0, 1);
			return -1;
		case FWD_ERR_RES:
			session_end(s, SESS_CAUSE_RESOURCE, 0, 0);
			return -1;
		default:
			PX_INC(s->be->be.eresp);
			txn_log(s, SESS_CAUSE_SRV_ABORT);
			session_end(s, SESS_CAUSE_SRV_ABORT, 1, 0);
			return -1;
		}
	}
	if (h->io->res.state == H1_ST_DONE) {
		h->rs = HTTP_RS_DONE;
		if (h->io->slen || (s->res.flags & SESS_CH_SHUTR))
			h->flags &= ~HTTP_F_SRV_KA;
		return 1;
	}
	return r;
}

/* The response was read and sent: log, keep or drop the server connection,
 * then the next request or the close. */
static int txn_end(struct session *s)
{
	struct sess_http *h = &s->http;
	struct server *srv = s->srv;
	int keep_srv;

	if (h->rq != HTTP_RQ_DONE)
		h->flags &= ~(HTTP_F_CLI_KA | HTTP_F_SRV_KA);
	txn_log(s, SESS_CAUSE_NONE);
	retry_drop(h);
	if (s->be) {
		px_counters_times(&s->be->be, s->tw < 0 ? -1u : (unsigned)s->tw,
				  s->tc < 0 ? -1u : (unsigned)s->tc,
				  (unsigned)(loop_now() - h->t_rq));
		if (srv)
			px_counters_times(&srv->c, s->tw < 0 ? -1u : (unsigned)s->tw,
					  s->tc < 0 ? -1u : (unsigned)s->tc,
					  (unsigned)(loop_now() - h->t_rq));
	}
	keep_srv = (h->flags & HTTP_F_SRV_KA) && s->srvs.fd != -1 && !h->io->slen &&
		   !(s->srvs.flags & SESS_SD_RDHUP) && srv;
	if (keep_srv) {
		/* Everything of the response was read: any later arrival
		 * comes as a new edge and closes the idle connection. */
		s->srvs.flags &= ~SESS_SD_CAN_RECV;
		h->idle_srv = srv;
		h->flags |= HTTP_F_SRV_USED;
		s->state = SESS_ST_ASSIGN;
		s->req.flags = 0;
		s->res.flags = 0;
		backend_release(srv, s);
		buf_drop(&h->io->sbuf, &h->io->soff, &h->io->slen);
	} else {
		srv_drop(s);
	}
	h->rs = HTTP_RS_NONE;
	h->flags &= ~(HTTP_F_REUSED | HTTP_F_RES_SEEN | HTTP_F_UPGRADE | HTTP_F_ERRSENT);
	if (h->flags & HTTP_F_CLI_KA) {
		h->rq = HTTP_RQ_IDLE;
		h->t_rq = loop_now();
		h->t_rq_real = loop_now_real();
		if (!h->io->ilen)
			buf_drop(&h->io->ibuf, &h->io->ioff, &h->io->ilen);
		/* A request may be waiting in the socket: edge-triggered
		 * epoll does not say it again. */
		return 1;
	}
	cli_closing(s);
	if (s->cli.flags & SESS_SD_RDHUP) {
		session_end(s, SESS_CAUSE_NONE, 0, 0);
		return -1;
	}
	return 1;
}

/* Discards what the client still sends after its last response. */
static int cli_drain(struct session *s)
{
	struct sess_http_io *x = s->http.io;
	ssize_t n;
	int r;

	if (x->blob) {
		n = session_cons_send(&s->cli, x->blob + x->blob_off, x->blob_len - x->blob_off);
		if (n < 0) {
			session_end(s, SESS_CAUSE_NONE, 0, 0);
			return -1;
		}
		x->blob_off += (size_t)n;
		if (x->blob_off < x->blob_len)
			return n > 0;
		free(x->blob);
		x->blob = NULL;
	}
	r = chan_flush(&s->res, &s->cli);
	if (r < 0) {
		session_end(s, SESS_CAUSE_NONE, 0, 0);
		return -1;
	}
	if (chan_pending(&s->res))
		return r;
	if (!(s->res.flags & SESS_CH_SHUTW)) {
		s->res.flags |= SESS_CH_SHUTW;
		if (shutdown(s->cli.fd, SHUT_WR) == -1 && errno != ENOTCONN) {
			session_end(s, SESS_CAUSE_NONE, 0, 0);
			return -1;
		}
	}
	while (s->cli.flags & SESS_SD_CAN_RECV) {
		n = recv(s->cli.fd, G.scratch, sess_bufsize, MSG_DONTWAIT);
		if (n > 0) {
			s->cli.last_rd = loop_now();
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			s->cli.flags &= ~SESS_SD_CAN_RECV;
			break;
		}
		session_end(s, SESS_CAUSE_NONE, 0, 0);
		return -1;
	}
	return 0;
}

/* One pass over both directions: <0 ended, 0 nothing moved, 1 progress. */
static int http_step(struct session *s)
{
	struct sess_http *h = &s->http;
	int progress = 0, r = 0;

	if (h->rq == HTTP_RQ_WAIT_SRV && session_cli_gone(s)) {
		/* Gone before its request reached a server (CQ / CC): nothing
		 * is sent, nothing answered. */
		txn_log(s, SESS_CAUSE_CLI_ABORT);
		session_end(s, SESS_CAUSE_CLI_ABORT, 0, 0);
		return -1;
	}

	if (s->state == SESS_ST_DATA) {
		if (h->rs == HTTP_RS_HEAD)
			r = res_head(s);
		else if (h->rs == HTTP_RS_BODY)
			r = res_body(s);
		else if (h->rs == HTTP_RS_DONE)
			r = chan_flush(&s->res, &s->cli) < 0 ? -2 : 0;
		if (r == -2) {
			session_end(s, SESS_CAUSE_CLI_ABORT, 0, 1);
			return -1;
		}
		if (r < 0)
			return -1;
		progress |= r;
		if (h->rq == HTTP_RQ_TUNNEL)
			return 1;
	}
	if (h->rs == HTTP_RS_DONE && chan_pending(&s->res) == 0) {
		if (h->rq == HTTP_RQ_BODY && s->state == SESS_ST_DATA) {
			/* Early response: the rest of the request body cannot
			 * follow on this connection. */
			h->flags &= ~(HTTP_F_CLI_KA | HTTP_F_SRV_KA);
		}
		r = txn_end(s);
		if (r < 0)
			return -1;
		progress = 1;
	}
	switch (h->rq) {
	case HTTP_RQ_IDLE:
	case HTTP_RQ_HEAD:
		r = req_head(s);
		break;
	case HTTP_RQ_BODY:
		r = s->state == SESS_ST_DATA ? req_body(s) : 0;
		break;
	case HTTP_RQ_DONE:
		r = 0;
		break;
	case HTTP_RQ_CLOSING:
		r = cli_drain(s);
		break;
	default:
		r = 0;
		break;
	}
	if (r < 0)
		return -1;
	progress |= r;
	/* The session's own idle server connection: anything arriving on it
	 * means the server closed it (or broke the protocol). */
	if (s->state != SESS_ST_DATA && s->srvs.fd != -1 &&
	    (s->srvs.flags & (SESS_SD_CAN_RECV | SESS_SD_RDHUP)) && h->idle_srv) {
		srv_close(s);
		h->idle_srv = NULL;
	}
	return progress;
}

void http_run(struct session *s)
{
	struct sess_http *h = &s->http;
	int i, r;

	G.more = 0;
	for (i = 0; i < 32; i++) {
		if (h->rq == HTTP_RQ_TUNNEL) {
			if (session_forward(s))
				return;
			break;
		}
		r = http_step(s);
		if (r < 0)
			return;
		if (r == 0)
			break;
	}
	if (G.more || i == 32)
		session_resume_soon(s);
	io_release_idle(s);
	session_timer_update(s);
}
