#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "proxyd/loop.h"
#include "proxyd/plog-json.h"
#include "proxyd/plog.h"
#include "proxyd/proxy.h"
#include "proxyd/session-state.h"

#define PLOG_LINE 1024
#define PLOG_SEND_MAX 4096      /* a syslog datagram's message, JSON lines included */

struct plog_target {
	enum cfg_log_kind kind;
	int fd;                 /* -1 for stderr (fd 2 is used) or when not open */
	int facility;
	int level;
	int json;               /* `format json` */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t next_retry;    /* loop_now() before which a failed connect is not retried */
};

/* A proxy's targets: indexes into P.targets. */
struct plog_px {
	unsigned *idx;
	unsigned n;
};

static struct {
	struct plog_target *targets;
	unsigned ntargets;
	unsigned nglobal;       /* the first nglobal targets are the global ones */
	struct plog_px *px;     /* by proxy position (uuid - 1) */
	unsigned npx;
	char tag[32];           /* "proxyd[4242]" */
} P;

static pthread_mutex_t target_mtx = PTHREAD_MUTEX_INITIALIZER;

/* Dates are formatted once per second, by each thread for itself. */
static __thread struct {
	time_t date_sec;
	char date_tcplog[32];   /* "21/Nov/2026:06:30:00" */
	time_t sys_sec;
	char date_syslog[20];   /* "Nov 21 06:30:00" */
} PD;

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int target_open(struct plog_target *t)
{
	int fd;

	if (t->kind == CFG_LOG_STDERR)
		return 0;
	fd = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* Connected, so that each line is one send() and errors surface. */
	if (connect(fd, (struct sockaddr *)&t->addr, t->addrlen) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	t->fd = fd;
	return 0;
}

static int targets_add(const struct cfg_log *l, char *err, size_t errlen)
{
	struct plog_target *t;
	struct plog_target *nt = realloc(P.targets, (P.ntargets + 1) * sizeof(*nt));

	if (!nt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	P.targets = nt;
	t = &P.targets[P.ntargets++];
	memset(t, 0, sizeof(*t));
	t->kind = l->kind;
	t->fd = -1;
	t->facility = l->facility < 0 ? 1 : l->facility;
	t->level = l->level;
	t->json = l->json;
	memcpy(&t->addr, &l->addr, sizeof(t->addr));
	t->addrlen = l->addrlen;
	/* A syslog daemon that is not running yet is not fatal: lines are
	 * dropped and the connect is retried later. */
	if (target_open(t) == -1 && t->kind == CFG_LOG_UDP) {
		snprintf(err, errlen, "%s:%d: log %s: %s", l->loc.file ? l->loc.file : "?",
			 l->loc.line, l->target, strerror(errno));
		return -1;
	}
	return 0;
}

int plog_init(const struct cfg *c, char *err, size_t errlen)
{
	size_t i, j;

	memset(&P, 0, sizeof(P));
	snprintf(P.tag, sizeof(P.tag), "proxyd[%ld]", (long)getpid());
	for (i = 0; i < c->global.nlogs; i++)
		if (targets_add(&c->global.logs[i], err, errlen) == -1)
			goto err;
	P.nglobal = P.ntargets;
	P.npx = (unsigned)c->nproxies;
	P.px = calloc(P.npx ? P.npx : 1, sizeof(*P.px));
	if (!P.px) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	for (i = 0; i < c->nproxies; i++) {
		const struct cfg_proxy *cp = &c->proxies[i];
		unsigned n = (cp->log_global ? P.nglobal : 0) + (unsigned)cp->nlogs;
		struct plog_px *pp = &P.px[i];

		if (n == 0)
			continue;
		pp->idx = calloc(n, sizeof(*pp->idx));
		if (!pp->idx) {
			snprintf(err, errlen, "out of memory");
			goto err;
		}
		if (cp->log_global)
			for (j = 0; j < P.nglobal; j++)
				pp->idx[pp->n++] = (unsigned)j;
		for (j = 0; j < cp->nlogs; j++) {
			if (targets_add(&cp->logs[j], err, errlen) == -1)
				goto err;
			pp->idx[pp->n++] = P.ntargets - 1;
		}
	}
	return 0;
err:
	plog_free();
	return -1;
}

void plog_free(void)
{
	unsigned i;

	for (i = 0; i < P.ntargets; i++)
		if (P.targets[i].fd != -1)
			close(P.targets[i].fd);
	free(P.targets);
	for (i = 0; i < P.npx; i++)
		free(P.px[i].idx);
	free(P.px);
	memset(&P, 0, sizeof(P));
}

static const struct plog_px *plog_px_of(const struct proxy *px)
{
	if (!px || px->uuid == 0 || px->uuid > P.npx)
		return NULL;
	return &P.px[px->uuid - 1];
}

int plog_enabled(const struct proxy *fe)
{
	const struct plog_px *pp = plog_px_of(fe);

	return pp && pp->n > 0;
}

static void plog_dates_update(time_t sec)
{
	struct tm tm;

	if (sec == PD.date_sec && PD.date_tcplog[0])
		return;
	localtime_r(&sec, &tm);
	snprintf(PD.date_tcplog, sizeof(PD.date_tcplog), "%02d/%s/%04d:%02d:%02d:%02d",
		 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
	PD.date_sec = sec;
}

static const char *plog_syslog_date(void)
{
	time_t sec = (time_t)(loop_now_real() / 1000u);
	struct tm tm;

	if (sec != PD.sys_sec || !PD.date_syslog[0]) {
		localtime_r(&sec, &tm);
		snprintf(PD.date_syslog, sizeof(PD.date_syslog), "%s %2d %02d:%02d:%02d",
			 months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		PD.sys_sec = sec;
	}
	return PD.date_syslog;
}

/* Sends one line (no newline) to t; dropped when t cannot take it now. */
static void target_send(struct plog_target *t, int severity, const char *line, size_t len)
{
	char buf[PLOG_SEND_MAX + 64];
	struct iovec iov[2];
	int n;

	if (severity > t->level)
		return;
	if (t->kind == CFG_LOG_STDERR) {
		iov[0].iov_base = (void *)line;
		iov[0].iov_len = len;
		iov[1].iov_base = (void *)"\n";
		iov[1].iov_len = 1;
		while (writev(STDERR_FILENO, iov, 2) == -1 && errno == EINTR)
			;
		return;
	}
	n = snprintf(buf, sizeof(buf), "<%d>%s %s: ", t->facility * 8 + severity,
		     plog_syslog_date(), P.tag);
	if (n < 0)
		return;
	if (len > sizeof(buf) - (size_t)n)
		len = sizeof(buf) - (size_t)n;
	memcpy(buf + n, line, len);
	/* Threads share the target's socket, which may be reopened. */
	pthread_mutex_lock(&target_mtx);
	if (t->fd == -1) {
		if (loop_now() < t->next_retry) {
			pthread_mutex_unlock(&target_mtx);
			return;
		}
		if (target_open(t) == -1) {
			t->next_retry = loop_now() + 1000;
			pthread_mutex_unlock(&target_mtx);
			return;
		}
	}
	if (send(t->fd, buf, (size_t)n + len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1 &&
	    errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	    t->kind == CFG_LOG_UNIX) {
		/* The syslog daemon went away: reconnect later. */
		close(t->fd);
		t->fd = -1;
		t->next_retry = loop_now() + 1000;
	}
	pthread_mutex_unlock(&target_mtx);
}

static void fmt_addr(const struct sockaddr_storage *ss, char *ip, size_t iplen, unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(sin6->sin6_port);
	} else {
		snprintf(ip, iplen, "unix");
		*port = 0;
	}
}

size_t plog_format_session(const struct session *s, uint64_t now, unsigned actconn,
			   char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN], term[3];
	unsigned port;
	uint64_t tt = now >= s->t_accept ? now - s->t_accept : 0;
	const struct server *srv = s->srv;
	int n;

	fmt_addr(&s->cli_addr, ip, sizeof(ip), &port);
	plog_dates_update((time_t)(s->t_accept_real / 1000u));
	session_term_str(s, term);
	n = snprintf(buf, len,
		     "%s:%u [%s.%03u] %s %s/%s %d/%d/%llu %llu %s %u/%u/%u/%u/%s%u %u/%u",
		     ip, port, PD.date_tcplog, (unsigned)(s->t_accept_real % 1000u),
		     s->fe ? s->fe->name : "-",
		     s->be ? s->be->name : (s->fe ? s->fe->name : "-"),
		     srv ? srv->name : "<NOSRV>",
		     s->tw, s->tc, (unsigned long long)tt,
		     (unsigned long long)s->res.bytes, term,
		     actconn, s->fe ? PX_LOAD(s->fe->fe.scur) : 0, s->be ? PX_LOAD(s->be->be.scur) : 0,
		     srv ? PX_LOAD(srv->c.scur) : 0, s->redispatched ? "+" : "", s->retries,
		     s->srv_queue_pos, s->be_queue_pos);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

/* Fills the fields tcplog and httplog share. */
static void rec_fill(struct plog_rec *r, const struct session *s, char *ip, size_t iplen,
		     const char *term)
{
	memset(r, 0, sizeof(*r));
	fmt_addr(&s->cli_addr, ip, iplen, &r->client_port);
	r->pid = (long)getpid();
	r->client_ip = ip;
	r->frontend = s->fe ? s->fe->name : "-";
	r->backend = s->be ? s->be->name : r->frontend;
	r->server = s->srv ? s->srv->name : NULL;
	r->queue_ms = s->tw;
	r->connect_ms = s->tc;
	r->termination_state = term;
	r->actconn = PX_LOAD(proxy_info.curconn);
	r->feconn = s->fe ? PX_LOAD(s->fe->fe.scur) : 0;
	r->beconn = s->be ? PX_LOAD(s->be->be.scur) : 0;
	r->srv_conn = s->srv ? PX_LOAD(s->srv->c.scur) : 0;
	r->retries = s->retries;
	r->redispatched = s->redispatched != 0;
	r->srv_queue = s->srv_queue_pos;
	r->backend_queue = s->be_queue_pos;
}

static int targets_want_json(const struct plog_px *pp)
{
	unsigned i;

	for (i = 0; i < pp->n; i++)
		if (P.targets[pp->idx[i]].json)
			return 1;
	return 0;
}

/* Sends the text line to text targets and the JSON one to JSON targets. */
static void targets_send(const struct plog_px *pp, int severity, const char *line, size_t n,
			 struct sbuf *js)
{
	unsigned i;

	for (i = 0; i < pp->n; i++) {
		struct plog_target *t = &P.targets[pp->idx[i]];

		if (t->json)
			target_send(t, severity, sb_cstr(js), js->len);
		else
			target_send(t, severity, line, n);
	}
}

void plog_session(const struct session *s)
{
	const struct plog_px *pp = plog_px_of(s->fe);
	char line[PLOG_LINE];
	struct sbuf js;
	size_t n;

	if (!pp || pp->n == 0)
		return;
	if ((s->fe->options & CFG_OPT_DONTLOGNULL) && s->req.bytes == 0)
		return;
	n = plog_format_session(s, loop_now(), PX_LOAD(proxy_info.curconn), line, sizeof(line));
	sb_init(&js);
	if (targets_want_json(pp)) {
		struct plog_rec r;
		char ip[INET6_ADDRSTRLEN], term[3];
		uint64_t now = loop_now();

		session_term_str(s, term);
		rec_fill(&r, s, ip, sizeof(ip), term);
		r.ts_ms = s->t_accept_real;
		r.total_ms = now >= s->t_accept ? (long)(now - s->t_accept) : 0;
		r.bytes_read = s->res.bytes;
		plog_json_record(&js, &r);
	}
	targets_send(pp, PLOG_INFO, line, n, &js);
	sb_free(&js);
}

size_t plog_format_http(const struct session *s, uint64_t now, unsigned actconn,
			char *buf, size_t len)
{
	const struct sess_http *h = &s->http;
	const struct server *srv = s->srv;
	char ip[INET6_ADDRSTRLEN], term[3], status[16];
	const char *cap_req = "", *cap_res = "";
	unsigned port;
	uint64_t bytes;
	long tr_head = h->t_head ? (long)(h->t_head - h->t_rq) : -1;
	long ta = now >= h->t_rq ? (long)(now - h->t_rq) : 0;
	int n;

	fmt_addr(&s->cli_addr, ip, sizeof(ip), &port);
	plog_dates_update((time_t)(h->t_rq_real / 1000u));
	session_term_str(s, term);
	bytes = (h->flags & HTTP_F_ERRSENT) ? h->err_bytes : s->res.bytes - h->res_bytes0;
	if (h->cap && s->fe->cap_req_size)
		cap_req = h->cap;
	if (h->cap && s->fe->cap_res_size)
		cap_res = h->cap + s->fe->cap_req_size;
	if (h->status)
		snprintf(status, sizeof(status), "%u", h->status);
	else
		snprintf(status, sizeof(status), "-1");
	if (!(s->fe->options & CFG_OPT_HTTPLOG)) {
		n = snprintf(buf, len,
			     "%s:%u [%s.%03u] %s %s/%s %d/%d/%ld %llu %s %u/%u/%u/%u/%s%u %u/%u",
			     ip, port, PD.date_tcplog, (unsigned)(h->t_rq_real % 1000u),
			     s->fe->name, s->be ? s->be->name : s->fe->name,
			     srv ? srv->name : "<NOSRV>", s->tw, s->tc, ta,
			     (unsigned long long)bytes, term, actconn, PX_LOAD(s->fe->fe.scur),
			     s->be ? PX_LOAD(s->be->be.scur) : 0, srv ? PX_LOAD(srv->c.scur) : 0,
			     s->redispatched ? "+" : "", s->retries, s->srv_queue_pos,
			     s->be_queue_pos);
	} else {
		n = snprintf(buf, len,
			     "%s:%u [%s.%03u] %s %s/%s %ld/%d/%d/%d/%ld %s %llu - - %s%c%c "
			     "%u/%u/%u/%u/%s%u %u/%u %s%s%s%s\"%s\"",
			     ip, port, PD.date_tcplog, (unsigned)(h->t_rq_real % 1000u),
			     s->fe->name, s->be ? s->be->name : s->fe->name,
			     srv ? srv->name : "<NOSRV>", tr_head, s->tw, s->tc, h->tr, ta,
			     status, (unsigned long long)bytes, term, h->ck_req ? h->ck_req : '-',
			     h->ck_res ? h->ck_res : '-', actconn, PX_LOAD(s->fe->fe.scur),
			     s->be ? PX_LOAD(s->be->be.scur) : 0, srv ? PX_LOAD(srv->c.scur) : 0,
			     s->redispatched ? "+" : "", s->retries, s->srv_queue_pos,
			     s->be_queue_pos, cap_req, *cap_req ? " " : "", cap_res,
			     *cap_res ? " " : "", h->rline[0] ? h->rline : "<BADREQ>");
	}
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

void plog_http(const struct session *s)
{
	const struct plog_px *pp = plog_px_of(s->fe);
	char line[PLOG_LINE];
	struct sbuf js;
	size_t n;

	if (!pp || pp->n == 0)
		return;
	if ((s->fe->options & CFG_OPT_DONTLOGNULL) && s->req.bytes == s->http.req_bytes0)
		return;
	n = plog_format_http(s, loop_now(), PX_LOAD(proxy_info.curconn), line, sizeof(line));
	sb_init(&js);
	if (targets_want_json(pp)) {
		const struct sess_http *h = &s->http;
		struct plog_rec r;
		char ip[INET6_ADDRSTRLEN], term[3];
		uint64_t now = loop_now();

		session_term_str(s, term);
		rec_fill(&r, s, ip, sizeof(ip), term);
		r.http = 1;
		r.ts_ms = h->t_rq_real;
		r.request_ms = h->t_head ? (long)(h->t_head - h->t_rq) : -1;
		r.response_ms = h->tr;
		r.total_ms = now >= h->t_rq ? (long)(now - h->t_rq) : 0;
		r.status = h->status ? (int)h->status : -1;
		r.bytes_read = (h->flags & HTTP_F_ERRSENT) ? h->err_bytes
							   : s->res.bytes - h->res_bytes0;
		r.request = h->rline[0] ? h->rline : NULL;
		plog_json_record(&js, &r);
	}
	targets_send(pp, PLOG_INFO, line, n, &js);
	sb_free(&js);
}

void plog_event(int severity, const char *fmt, ...)
{
	char line[PLOG_LINE];
	struct sbuf js;
	va_list ap;
	int n;
	unsigned i;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (P.nglobal == 0) {
		if (severity <= PLOG_WARNING)
			log_warnx("%s", line);
		else if (severity <= PLOG_INFO)
			log_info("%s", line);
		else
			log_debug("%s", line);
		return;
	}
	sb_init(&js);
	for (i = 0; i < P.nglobal; i++) {
		if (!P.targets[i].json) {
			target_send(&P.targets[i], severity, line, (size_t)n);
			continue;
		}
		if (js.len == 0)
			plog_json_event(&js, loop_now_real(), (long)getpid(), severity, line);
		target_send(&P.targets[i], severity, sb_cstr(&js), js.len);
	}
	sb_free(&js);
}
