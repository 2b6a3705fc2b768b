#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxyd/cfg.h"
#include "proxyd/check.h"
#include "proxyd/loop.h"
#include "proxyd/plog.h"
#include "proxyd/proxy.h"
#include "proxyd/queue.h"
#include "proxyd/thread.h"

static void check_timer_cb(struct loop_timer *t);
static void set_down_locked(struct server *srv, const char *reason);
static void set_up_locked(struct server *srv, const char *reason);
static void set_admin_locked(struct server *srv, enum srv_admin admin, const char *why);
static void check_fd_cb(struct loop_fd *lf, uint32_t events);

/* ---- logging and backend state ------------------------------------------ */

static void count_left(const struct proxy *be, unsigned *act, unsigned *bck)
{
	unsigned i;

	*act = *bck = 0;
	for (i = 0; i < be->nsrvs; i++) {
		if (!server_usable(&be->srvs[i]))
			continue;
		if (be->srvs[i].flags & CFG_SRV_BACKUP)
			(*bck)++;
		else
			(*act)++;
	}
}

static void log_change(const struct server *srv, enum srv_status from, const char *reason,
		       unsigned requeued)
{
	const struct srv_check *chk = &srv->chk;
	enum srv_status to = server_status(srv);
	char dur[32] = "";
	unsigned act, bck;

	count_left(srv->be, &act, &bck);
	if (chk->configured && chk->duration != -1u)
		snprintf(dur, sizeof(dur), " check_duration=%ums", chk->duration);
	plog_event(to == SRV_STATUS_DOWN || to == SRV_STATUS_MAINT ? PLOG_WARNING : PLOG_NOTICE,
		   "event=server_state backend=%s server=%s from=%s to=%s reason=\"%s\"%s%s%s%s"
		   " active_left=%u backup_left=%u sessions=%u requeued=%u queued=%u",
		   srv->be->name, srv->name, server_status_name(from), server_status_name(to),
		   reason, dur, chk->info[0] ? " info=\"" : "", chk->info,
		   chk->info[0] ? "\"" : "", act, bck, srv->c.scur, requeued, srv->be->be.qcur);
}

/* Keeps be->up and its downtime counters in step with its servers. */
static void backend_update(struct proxy *be)
{
	uint64_t now = loop_now();
	unsigned act, bck;
	int up;

	count_left(be, &act, &bck);
	up = act + bck > 0;
	if (up == be->up)
		return;
	be->up = up;
	be->last_change = now;
	if (!up) {
		be->chkdown++;
		be->down_since = now;
		plog_event(PLOG_ALERT, "event=backend_state backend=%s from=UP to=DOWN "
			   "reason=\"no server available\" queued=%u", be->name, be->be.qcur);
	} else {
		be->down_total += now - be->down_since;
		plog_event(PLOG_NOTICE, "event=backend_state backend=%s from=DOWN to=UP", be->name);
	}
}

/* ---- transitions ------------------------------------------------------- */

/* Ends the calling thread's sessions holding a slot on srv (only those
 * present now: slots freed here may go to queued sessions, which are not
 * ended). */
static unsigned shutdown_own(struct server *srv, const char *why)
{
	struct px_list snap, *l, *next;
	unsigned n = 0;

	px_lock();
	px_list_init(&snap);
	for (l = srv->sessions.next; l != &srv->sessions; l = next) {
		next = l->next;
		if (px_container_of(l, struct sess_lb, srv_link)->tid != thread_id)
			continue;
		px_list_del(l);
		px_list_add_tail(&snap, l);
	}
	while (!px_list_empty(&snap)) {
		struct sess_lb *lb = px_container_of(snap.next, struct sess_lb, srv_link);
		struct session *s = lb->sess;

		backend_release(srv, s);
		if (lb->srv_link.next != &lb->srv_link)
			px_list_del(&lb->srv_link);    /* never left on the snapshot */
		session_shutdown(s, why);
		n++;
	}
	px_unlock();
	return n;
}

static void shutdown_cb(struct thread_msg *m)
{
	shutdown_own(m->a, m->b);
}

unsigned server_shutdown_sessions(struct server *srv, const char *why)
{
	struct thread_msg m = { .fn = shutdown_cb, .a = srv, .b = (void *)why };
	struct px_list *l;
	unsigned n = 0;

	if (thread_count == 1)
		return shutdown_own(srv, why);
	/* Each thread ends its own sessions, from its own loop. */
	px_lock();
	for (l = srv->sessions.next; l != &srv->sessions; l = l->next)
		n++;
	px_unlock();
	if (thread_send_others(&m))
		plog_event(PLOG_WARNING, "event=shutdown_sessions server=%s/%s error=\"out of memory\"",
			   srv->be->name, srv->name);
	shutdown_own(srv, why);
	return n;
}

void server_set_down(struct server *srv, const char *reason)
{
	px_lock();
	set_down_locked(srv, reason);
	px_unlock();
}

static void set_down_locked(struct server *srv, const char *reason)
{
	enum srv_status from = server_status(srv);
	uint64_t now = loop_now();
	unsigned requeued;

	if (srv->op == SRV_OP_DOWN)
		return;
	srv->op = SRV_OP_DOWN;
	srv->op_since = now;
	srv->down_since = now;
	srv->last_change = now;
	srv->chkdown++;
	requeued = srv->c.qcur;
	queue_redistribute(srv);
	log_change(srv, from, reason, requeued);
	backend_update(srv->be);
	if (srv->flags & CFG_SRV_SHUTDOWN_ON_DOWN)
		server_shutdown_sessions(srv, "server down");
	queue_process_backend(srv->be);
}

/* HAProxy's warmup step: every slowstart/20, at least every second. */
static unsigned warmup_step(const struct server *srv)
{
	return srv->slowstart / 20 > 1000 ? srv->slowstart / 20 : 1000;
}

/* While a server ramps up, its limit grows with time alone: serve the
 * queue as it does, until the ramp is over. */
static void warmup_cb(struct loop_timer *t)
{
	struct server *srv = t->arg;

	px_lock();
	server_refresh(srv, loop_now());
	queue_process_backend(srv->be);
	if (srv->op == SRV_OP_STARTING)
		loop_timer_arm_in(&srv->warmup, warmup_step(srv));
	px_unlock();
}

static void server_come_up(struct server *srv, uint64_t now)
{
	srv->op = srv->slowstart ? SRV_OP_STARTING : SRV_OP_UP;
	srv->op_since = now;
	srv->last_change = now;
	srv->swrr_cw = 0;
	srv->down_total += now - srv->down_since;
	if (srv->op == SRV_OP_STARTING && srv->warmup.cb)
		loop_timer_arm_in(&srv->warmup, warmup_step(srv));
}

static void shutdown_backups(struct server *srv)
{
	struct proxy *be = srv->be;
	unsigned i;

	if ((srv->flags & CFG_SRV_BACKUP) || !server_eweight(srv, loop_now()))
		return;
	for (i = 0; i < be->nsrvs; i++)
		if (be->srvs[i].flags & CFG_SRV_BACKUP)
			server_shutdown_sessions(&be->srvs[i], "server up");
}

void server_set_up(struct server *srv, const char *reason)
{
	px_lock();
	set_up_locked(srv, reason);
	px_unlock();
}

static void set_up_locked(struct server *srv, const char *reason)
{
	enum srv_status from = server_status(srv);

	if (srv->op != SRV_OP_DOWN || srv->admin == SRV_ADMIN_MAINT)
		return;
	server_come_up(srv, loop_now());
	log_change(srv, from, reason, 0);
	backend_update(srv->be);
	if (srv->flags & CFG_SRV_SHUTDOWN_BACKUP_ON_UP)
		shutdown_backups(srv);
	queue_process_backend(srv->be);
}

static void check_abort(struct server *srv);

void server_set_admin(struct server *srv, enum srv_admin admin, const char *why)
{
	px_lock();
	set_admin_locked(srv, admin, why);
	px_unlock();
}

static void set_admin_locked(struct server *srv, enum srv_admin admin, const char *why)
{
	enum srv_status from = server_status(srv);
	uint64_t now = loop_now();
	unsigned requeued = 0;

	if (srv->admin == admin)
		return;
	if (srv->admin == SRV_ADMIN_MAINT) {
		/* Leaving maintenance: UP at once, health at rise, so that one
		 * failed check marks the server DOWN (HAProxy's behaviour). */
		srv->admin = admin;
		srv->chk.health = srv->chk.rise;
		server_come_up(srv, now);
	} else if (admin == SRV_ADMIN_MAINT) {
		srv->admin = admin;
		check_abort(srv);
		if (srv->op != SRV_OP_DOWN) {
			srv->op = SRV_OP_DOWN;
			srv->op_since = now;
			srv->down_since = now;
		}
		srv->last_change = now;
	} else {
		srv->admin = admin;
		srv->last_change = now;
	}
	if (!server_usable(srv)) {
		requeued = srv->c.qcur;
		queue_redistribute(srv);
	}
	log_change(srv, from, why, requeued);
	backend_update(srv->be);
	if (server_usable(srv) && (srv->flags & CFG_SRV_SHUTDOWN_BACKUP_ON_UP) &&
	    from == SRV_STATUS_MAINT)
		shutdown_backups(srv);
	queue_process_backend(srv->be);
}

void server_set_maxconn(struct server *srv, unsigned maxconn)
{
	px_lock();
	srv->maxconn = maxconn;
	queue_process_backend(srv->be);
	px_unlock();
}

/* ---- checks -------------------------------------------------------------- */

static unsigned check_interval(const struct server *srv)
{
	const struct srv_check *chk = &srv->chk;

	if (srv->op == SRV_OP_DOWN && chk->health == 0)
		return chk->downinter;
	if (chk->health != 0 && chk->health < chk->rise + chk->fall - 1)
		return chk->fastinter;
	return chk->inter;
}

static void check_close(struct srv_check *chk)
{
	if (chk->fd != -1) {
		loop_fd_del(&chk->lfd);
		close(chk->fd);
		chk->fd = -1;
	}
	chk->running = 0;
}

static void check_schedule(struct server *srv)
{
	struct srv_check *chk = &srv->chk;
	uint64_t now = loop_now();
	uint64_t next = chk->started + check_interval(srv);

	if (next <= now)
		next = now + 1;
	if (loop_timer_arm(&chk->timer, next) == -1)
		plog_event(PLOG_ERR, "event=check_error backend=%s server=%s reason=\"cannot arm timer\"",
			   srv->be->name, srv->name);
}

static void check_abort(struct server *srv)
{
	check_close(&srv->chk);
}

/* The end of one check: health bookkeeping as HAProxy does it. */
static void check_done(struct server *srv, enum chk_status status, const char *desc,
		       const char *info)
{
	struct srv_check *chk = &srv->chk;
	uint64_t now = loop_now();

	px_lock();
	check_close(chk);
	chk->status = status;
	chk->duration = (unsigned)(now - chk->started);
	chk->last = now;
	snprintf(chk->desc, sizeof(chk->desc), "%s", desc);
	snprintf(chk->info, sizeof(chk->info), "%s", info ? info : "");
	if (status == CHK_STATUS_L4OK || status == CHK_STATUS_L7OKD) {
		chk->result = CHK_RES_PASSED;
		if (chk->health < chk->rise + chk->fall - 1) {
			chk->health++;
			if (chk->health >= chk->rise)
				chk->health = chk->rise + chk->fall - 1;
		}
		if (srv->op == SRV_OP_DOWN && chk->health >= chk->rise)
			server_set_up(srv, desc);
	} else {
		chk->result = CHK_RES_FAILED;
		if (chk->health > 0) {
			chk->failed++;
			chk->health--;
			if (chk->health < chk->rise)
				chk->health = 0;
		}
		if (srv->op != SRV_OP_DOWN && chk->health == 0)
			server_set_down(srv, desc);
	}
	/* Slowstart: limits and weight grow with time; let the queue follow. */
	if (srv->op == SRV_OP_STARTING) {
		server_refresh(srv, now);
		queue_process_backend(srv->be);
	}
	check_schedule(srv);
	px_unlock();
}

/* The start of an HTTP check's response is in chk->rbuf: judge it once the
 * status line is complete (or the server closed). 1 when judged. */
static int check_http_judge(struct server *srv, int eof)
{
	struct srv_check *chk = &srv->chk;
	char *eol = memchr(chk->rbuf, '\n', chk->rlen);
	unsigned code;
	char line[64];
	size_t n;

	if (!eol && !eof && chk->rlen < sizeof(chk->rbuf) - 1)
		return 0;
	n = eol ? (size_t)(eol - chk->rbuf) : chk->rlen;
	if (n && chk->rbuf[n - 1] == '\r')
		n--;
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, chk->rbuf, n);
	line[n] = '\0';
	if (n < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
	    sscanf(line + 9, "%3u", &code) != 1 || code < 100 || code > 599) {
		check_done(srv, CHK_STATUS_L7RSP, "Layer7 invalid response", line);
		return 1;
	}
	chk->code = code;
	if (cfg_http_expect_match(&srv->be->chk_expect, code))
		check_done(srv, CHK_STATUS_L7OKD, "Layer7 check passed", line + 9);
	else
		check_done(srv, CHK_STATUS_L7STS, "Layer7 wrong status", line + 9);
	return 1;
}

/* HTTP check: the request went out; read the status line. */
static void check_http_read(struct server *srv)
{
	struct srv_check *chk = &srv->chk;
	ssize_t n;

	for (;;) {
		n = recv(chk->fd, chk->rbuf + chk->rlen, sizeof(chk->rbuf) - 1 - chk->rlen,
			 MSG_DONTWAIT);
		if (n > 0) {
			chk->rlen += (unsigned)n;
			if (check_http_judge(srv, 0))
				return;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1 && chk->rlen == 0) {
			check_done(srv, CHK_STATUS_L7RSP, "Layer7 invalid response", strerror(errno));
			return;
		}
		check_http_judge(srv, 1);
		return;
	}
}

static void check_fd_cb(struct loop_fd *lf, uint32_t events)
{
	struct server *srv = lf->arg;
	struct srv_check *chk = &srv->chk;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (chk->sent) {
		check_http_read(srv);
		return;
	}
	if (getsockopt(srv->chk.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr == 0 && (events & (LOOP_ERR | LOOP_HUP)) && !(events & LOOP_OUT))
		soerr = ECONNRESET;
	if (soerr == 0 && srv->be->chk_req) {
		ssize_t n;

		do
			n = send(chk->fd, srv->be->chk_req, srv->be->chk_reqlen, MSG_NOSIGNAL);
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)srv->be->chk_reqlen) {
			check_done(srv, CHK_STATUS_L7RSP, "Layer7 invalid response",
				   n == -1 ? strerror(errno) : "request not sent");
			return;
		}
		chk->sent = 1;
		chk->rlen = 0;
		if (loop_fd_mod(&chk->lfd, LOOP_IN | LOOP_RDHUP) == -1)
			check_done(srv, CHK_STATUS_SOCKERR, "Socket error", strerror(errno));
		return;
	}
	if (soerr == 0)
		check_done(srv, CHK_STATUS_L4OK, "Layer4 check passed", NULL);
	else
		check_done(srv, CHK_STATUS_L4CON, "Layer4 connection problem", strerror(soerr));
}

static void check_start(struct server *srv)
{
	struct srv_check *chk = &srv->chk;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint64_t now = loop_now();
	int fd;

	chk->started = now;
	chk->running = 1;
	chk->sent = 0;
	chk->rlen = 0;
	fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1) {
		check_done(srv, CHK_STATUS_SOCKERR, "Socket error", strerror(errno));
		return;
	}
	chk->fd = fd;
	/* Close with a reset: a check leaves no TIME_WAIT behind, on either side. */
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1) {
		check_done(srv, CHK_STATUS_SOCKERR, "Socket error", strerror(errno));
		return;
	}
	if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		int e = errno;

		if (e == EAGAIN || e == EADDRNOTAVAIL || e == ENOBUFS)
			check_done(srv, CHK_STATUS_SOCKERR, "Socket error", strerror(e));
		else
			check_done(srv, CHK_STATUS_L4CON, "Layer4 connection problem", strerror(e));
		return;
	}
	loop_fd_init(&chk->lfd, fd, check_fd_cb, srv);
	if (loop_fd_add(&chk->lfd, LOOP_OUT) == -1) {
		check_done(srv, CHK_STATUS_SOCKERR, "Socket error", strerror(errno));
		return;
	}
	if (loop_timer_arm(&chk->timer, now + (chk->timeout ? chk->timeout : chk->inter)) == -1)
		check_done(srv, CHK_STATUS_SOCKERR, "Socket error", strerror(errno));
}

static void check_timer_cb(struct loop_timer *t)
{
	struct server *srv = t->arg;
	struct srv_check *chk = &srv->chk;

	if (chk->running) {
		if (chk->sent)
			check_done(srv, CHK_STATUS_L7TOUT, "Layer7 timeout", NULL);
		else
			check_done(srv, CHK_STATUS_L4TOUT, "Layer4 timeout", NULL);
		return;
	}
	if (srv->admin == SRV_ADMIN_MAINT) {
		/* Paused: look again one interval later. */
		chk->started = loop_now();
		check_schedule(srv);
		return;
	}
	check_start(srv);
}

int check_start_all(void)
{
	unsigned i, j, n = 0, k = 0;
	uint64_t now = loop_now();

	for (i = 0; i < proxy_count(); i++) {
		struct proxy *px = proxy_at(i);

		for (j = 0; j < px->nsrvs; j++)
			if (px->srvs[j].chk.configured)
				n++;
	}
	for (i = 0; i < proxy_count(); i++) {
		struct proxy *px = proxy_at(i);

		for (j = 0; j < px->nsrvs; j++) {
			struct server *srv = &px->srvs[j];
			struct srv_check *chk = &srv->chk;

			loop_timer_init(&srv->warmup, warmup_cb, srv);
			if (!chk->configured)
				continue;
			chk->fd = -1;
			loop_timer_init(&chk->timer, check_timer_cb, srv);
			/* Spread the first checks evenly over one interval. */
			if (loop_timer_arm(&chk->timer, now + (uint64_t)chk->inter * k / n) == -1)
				return -1;
			k++;
		}
	}
	return 0;
}

void check_stop_all(void)
{
	unsigned i, j;

	for (i = 0; i < proxy_count(); i++) {
		struct proxy *px = proxy_at(i);

		for (j = 0; j < px->nsrvs; j++) {
			struct srv_check *chk = &px->srvs[j].chk;

			if (px->srvs[j].warmup.cb)
				loop_timer_cancel(&px->srvs[j].warmup);
			if (!chk->configured)
				continue;
			check_close(chk);
			loop_timer_cancel(&chk->timer);
		}
	}
}
