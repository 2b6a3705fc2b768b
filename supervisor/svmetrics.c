#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/prom.h"
#include "proxyd/loop.h"
#include "supervisor/act.h"
#include "supervisor/detect.h"
#include "supervisor/svmetrics.h"

#define REQ_MAX 4096
#define CLIENT_TIMEOUT_MS 10000

/* ---- rendering ------------------------------------------------------------ */

static void render_gens(struct prom *p, const struct svm_data *d)
{
	prom_family(p, "proxysv_generations", PROM_GAUGE, "proxyd generations alive, by state.");
	prom_u64(p, (const char *[]){ "state", "serving", NULL }, d->gens_serving);
	prom_u64(p, (const char *[]){ "state", "draining", NULL }, d->gens_draining);
	prom_family(p, "proxysv_current_generation", PROM_GAUGE,
		    "Number of the serving generation (0: none).");
	prom_u64(p, NULL, d->current_gen > 0 ? (uint64_t)d->current_gen : 0);
	prom_family(p, "proxysv_generation_start_time_seconds", PROM_GAUGE,
		    "Start time of the serving generation, seconds since the epoch.");
	prom_dbl(p, NULL, d->current_gen_start_s);
	prom_family(p, "proxysv_reloads", PROM_COUNTER, "Reloads attempted.");
	prom_u64(p, NULL, d->reloads);
	prom_family(p, "proxysv_reloads_failed", PROM_COUNTER,
		    "Reloads that failed (configuration invalid, new generation not ready).");
	prom_u64(p, NULL, d->reloads_failed);
	prom_family(p, "proxysv_generation_crashes", PROM_COUNTER,
		    "proxyd generations that exited abnormally.");
	prom_u64(p, NULL, d->crashes);
}

static void render_sockets(struct prom *p, const struct svm_data *d)
{
	char port[16];
	size_t i;

	prom_family(p, "proxysv_listener_accept_queue", PROM_GAUGE,
		    "Connections waiting in the accept queue (ss Recv-Q of the listening socket).");
	for (i = 0; i < d->nlis; i++)
		prom_u64(p, (const char *[]){ "listener", d->lis[i].name, NULL }, d->lis[i].queue);
	prom_family(p, "proxysv_listener_backlog", PROM_GAUGE,
		    "Backlog of the listening socket (ss Send-Q).");
	for (i = 0; i < d->nlis; i++)
		prom_u64(p, (const char *[]){ "listener", d->lis[i].name, NULL }, d->lis[i].backlog);
	prom_family(p, "proxysv_listener_sockets", PROM_GAUGE,
		    "Listening sockets on the address (more than 1: a duplicate listener).");
	for (i = 0; i < d->nlis; i++)
		prom_u64(p, (const char *[]){ "listener", d->lis[i].name, NULL }, d->lis[i].sockets);
	prom_family(p, "proxysv_half_closed_sockets", PROM_GAUGE,
		    "Half-closed sockets of the generations by TCP state and local port.");
	for (i = 0; i < d->nhalf; i++) {
		snprintf(port, sizeof(port), "%u", d->half[i].port);
		prom_u64(p, (const char *[]){ "state", d->half[i].state, "port", port, NULL },
			 d->half[i].n);
	}
}

static void render_incidents(struct prom *p, const struct svm_data *d)
{
	unsigned k, a, r;

	prom_family(p, "proxysv_incidents_open", PROM_GAUGE, "Incidents open now, by kind.");
	for (k = 0; k < DK_NKINDS; k++)
		prom_u64(p, (const char *[]){ "kind", detect_kind_name(k), NULL }, d->inc_open[k]);
	prom_family(p, "proxysv_incidents", PROM_COUNTER, "Incidents opened, by kind.");
	for (k = 0; k < DK_NKINDS; k++)
		prom_u64(p, (const char *[]){ "kind", detect_kind_name(k), NULL }, d->inc_total[k]);
	prom_family(p, "proxysv_actions", PROM_COUNTER,
		    "Actions decided on incidents, by action, incident kind and result.");
	for (a = 0; a < ACT_NKINDS; a++)
		for (k = 0; k < DK_NKINDS; k++)
			for (r = 0; r < SVM_NRESULTS; r++)
				prom_u64(p, (const char *[]){ "action", act_name(a),
					 "kind", detect_kind_name(k),
					 "result", act_result_name(r), NULL },
					 d->actions ? d->actions[a][k][r] : 0);
}

static void render_self(struct prom *p, const struct svm_data *d)
{
	prom_family(p, "proxysv_tick_duration_seconds", PROM_GAUGE,
		    "How long the last detection tick took.");
	prom_dbl(p, NULL, d->tick_s);
	prom_family(p, "proxysv_tick_duration_seconds_max", PROM_GAUGE,
		    "Longest detection tick since start.");
	prom_dbl(p, NULL, d->tick_max_s);
	prom_family(p, "proxysv_ticks", PROM_COUNTER, "Detection ticks run.");
	prom_u64(p, NULL, d->ticks);
	prom_family(p, "proxysv_store_errors", PROM_COUNTER, "Failed incident store calls.");
	prom_u64(p, NULL, d->store_errors);
	prom_family(p, "proxysv_store_dropped_writes", PROM_COUNTER,
		    "Store writes dropped (store busy, full or failing).");
	prom_u64(p, NULL, d->store_dropped);
	prom_family(p, "proxysv_process_start_time_seconds", PROM_GAUGE,
		    "proxysv's start time, seconds since the epoch.");
	prom_dbl(p, NULL, d->start_s);
	prom_family(p, "proxysv_build_info", PROM_GAUGE, "Always 1; the version as a label.");
	prom_u64(p, (const char *[]){ "version", PACKAGE_VERSION, NULL }, 1);
}

int svmetrics_render(struct sbuf *out, const struct svm_data *d, char *err, size_t errlen)
{
	struct prom p;

	prom_init(&p, out);
	render_gens(&p, d);
	render_sockets(&p, d);
	render_incidents(&p, d);
	render_self(&p, d);
	return prom_end(&p, err, errlen);
}

/* ---- the HTTP side ---------------------------------------------------------- */

struct svm_client {
	int fd;
	struct loop_fd lfd;
	struct loop_timer timer;
	char req[REQ_MAX];
	size_t reqlen;
	char head[256];
	size_t headlen;
	struct sbuf body;
	size_t off;             /* bytes of head + body sent */
	int answering;
	struct svm_client *next;
	struct svm_client **pprev;
};

static struct {
	int fd;
	struct loop_fd lfd;
	struct loop_timer pause;
	struct svm_client *clients;
	unsigned nclients;
	svm_render_fn fn;
	void *arg;
} M = { .fd = -1 };

static void client_close(struct svm_client *c)
{
	loop_fd_del(&c->lfd);
	loop_timer_cancel(&c->timer);
	close(c->fd);
	sb_free(&c->body);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	M.nclients--;
	free(c);
}

static void answer(struct svm_client *c, const char *status, const char *ctype, int head_only)
{
	int n;

	n = snprintf(c->head, sizeof(c->head),
		     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
		     status, ctype, c->body.len);
	c->headlen = n > 0 && (size_t)n < sizeof(c->head) ? (size_t)n : 0;
	if (head_only)
		sb_reset(&c->body);
	c->answering = 1;
}

static void answer_text(struct svm_client *c, const char *status, const char *text)
{
	sb_reset(&c->body);
	sb_puts(&c->body, text);
	answer(c, status, "text/plain; charset=utf-8", 0);
}

/* The request head is complete in c->req: choose the answer. */
static void client_request(struct svm_client *c)
{
	char method[16], target[256], err[256];
	const char *q;
	size_t plen;
	int head;

	if (sscanf(c->req, "%15s %255s HTTP/1.%*c", method, target) != 2) {
		answer_text(c, "400 Bad Request", "bad request\n");
		return;
	}
	head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head) {
		answer_text(c, "405 Method Not Allowed", "GET /metrics\n");
		return;
	}
	q = strchr(target, '?');
	plen = q ? (size_t)(q - target) : strlen(target);
	if (plen != 8 || memcmp(target, "/metrics", 8)) {
		answer_text(c, "404 Not Found", "GET /metrics\n");
		return;
	}
	sb_reset(&c->body);
	if (M.fn(&c->body, M.arg, err, sizeof(err)) == -1 || c->body.err) {
		log_warnx("event=prometheus_scrape error=\"%s\"", c->body.err ? "out of memory" : err);
		answer_text(c, "500 Internal Server Error", "rendering failed\n");
		return;
	}
	answer(c, "200 OK", PROM_CONTENT_TYPE, head);
}

/* Reads the request head; 0, -1 when the client is gone (closed here). */
static int client_read(struct svm_client *c)
{
	for (;;) {
		ssize_t n;

		if (c->reqlen == REQ_MAX - 1) {
			answer_text(c, "431 Request Header Fields Too Large", "request too large\n");
			return 0;
		}
		n = read(c->fd, c->req + c->reqlen, REQ_MAX - 1 - c->reqlen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			client_close(c);
			return -1;
		}
		if (n == 0) {
			client_close(c);
			return -1;
		}
		c->reqlen += (size_t)n;
		c->req[c->reqlen] = '\0';
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
			client_request(c);
			return 0;
		}
	}
}

/* Sends what is pending, partial writes included; closes when all is sent. */
static void client_write(struct svm_client *c)
{
	size_t total = c->headlen + c->body.len;

	while (c->off < total) {
		struct iovec iov[2];
		int niov = 0;
		ssize_t n;

		if (c->off < c->headlen) {
			iov[niov].iov_base = c->head + c->off;
			iov[niov++].iov_len = c->headlen - c->off;
			iov[niov].iov_base = c->body.p;
			iov[niov++].iov_len = c->body.len;
		} else {
			iov[niov].iov_base = c->body.p + (c->off - c->headlen);
			iov[niov++].iov_len = total - c->off;
		}
		n = writev(c->fd, iov, niov);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && loop_fd_mod(&c->lfd, LOOP_OUT) == 0)
				return;
			client_close(c);
			return;
		}
		c->off += (size_t)n;
	}
	client_close(c);
}

static void client_cb(struct loop_fd *lf, uint32_t events)
{
	struct svm_client *c = lf->arg;

	if (!c->answering) {
		if (client_read(c) == -1)
			return;
	} else if (events & (LOOP_ERR | LOOP_HUP)) {
		client_close(c);
		return;
	}
	if (c->answering)
		client_write(c);
}

static void client_timeout_cb(struct loop_timer *t)
{
	client_close(t->arg);
}

static void listener_cb(struct loop_fd *lf, uint32_t events)
{
	(void)lf;
	(void)events;
	for (;;) {
		struct svm_client *c;
		int fd = accept4(M.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors: pause rather than spin. */
			if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
			    loop_fd_mod(&M.lfd, 0) == 0)
				loop_timer_arm_in(&M.pause, 100);
			return;
		}
		if (M.nclients >= SVM_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		sb_init(&c->body);
		loop_fd_init(&c->lfd, fd, client_cb, c);
		loop_timer_init(&c->timer, client_timeout_cb, c);
		c->next = M.clients;
		c->pprev = &M.clients;
		if (M.clients)
			M.clients->pprev = &c->next;
		M.clients = c;
		M.nclients++;
		if (loop_fd_add(&c->lfd, LOOP_IN | LOOP_RDHUP) == -1 ||
		    loop_timer_arm_in(&c->timer, CLIENT_TIMEOUT_MS) == -1)
			client_close(c);
	}
}

static void listener_resume_cb(struct loop_timer *t)
{
	(void)t;
	if (M.fd != -1 && loop_fd_mod(&M.lfd, LOOP_IN) == -1)
		loop_timer_arm_in(&M.pause, 100);
}

int svmetrics_start(const struct sockaddr_storage *ss, socklen_t sslen, const char *text,
		    svm_render_fn fn, void *arg, char *err, size_t errlen)
{
	int one = 1, fd, e;

	M.fn = fn;
	M.arg = arg;
	loop_timer_init(&M.pause, listener_resume_cb, NULL);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto syserr;
	loop_fd_init(&M.lfd, fd, listener_cb, NULL);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (const struct sockaddr *)ss, sslen) == -1 || listen(fd, 64) == -1 ||
	    loop_fd_add(&M.lfd, LOOP_IN) == -1)
		goto syserr;
	M.fd = fd;
	return 0;
syserr:
	e = errno;
	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "stats prometheus %s: %s", text, strerror(e));
	return -1;
}

void svmetrics_stop(void)
{
	if (M.fd != -1) {
		loop_fd_del(&M.lfd);
		loop_timer_cancel(&M.pause);
		close(M.fd);
		M.fd = -1;
	}
	while (M.clients)
		client_close(M.clients);
}
