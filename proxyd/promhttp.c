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
#include "proxyd/promhttp.h"

#define REQ_MAX 4096
#define PAUSE_MS 100

struct promhttp_client;

struct promhttp {
	struct promhttp_conf conf;
	int fd;
	struct loop_fd lfd;
	struct loop_timer pause;
	struct promhttp_client *clients;
	unsigned nclients;
};

struct promhttp_client {
	struct promhttp *h;
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
	struct promhttp_client *next;
	struct promhttp_client **pprev;
};

static void client_close(struct promhttp_client *c)
{
	loop_fd_del(&c->lfd);
	loop_timer_cancel(&c->timer);
	close(c->fd);
	sb_free(&c->body);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->h->nclients--;
	free(c);
}

static void answer(struct promhttp_client *c, const char *status, const char *ctype, int head_only)
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

static void answer_text(struct promhttp_client *c, const char *status, const char *text)
{
	sb_reset(&c->body);
	sb_puts(&c->body, text);
	answer(c, status, "text/plain; charset=utf-8", 0);
}

/* The request head is complete in c->req: choose the answer. */
static void client_request(struct promhttp_client *c)
{
	const struct promhttp_conf *conf = &c->h->conf;
	char method[16], target[256], err[256];
	const char *q;
	size_t plen;
	int head, rc;

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
	err[0] = '\0';
	rc = conf->render(&c->body, conf->arg, err, sizeof(err));
	if (rc == -1 || c->body.err) {
		log_warnx("event=prometheus_scrape error=\"%s\"", rc == -1 ? err : "out of memory");
		answer_text(c, "500 Internal Server Error", "rendering failed\n");
		return;
	}
	if (conf->max_body && c->body.len > conf->max_body) {
		answer_text(c, "503 Service Unavailable", "answer too large\n");
		return;
	}
	answer(c, "200 OK", PROM_CONTENT_TYPE, head);
}

/* Reads the request head; 0, -1 when the client is gone (closed here). */
static int client_read(struct promhttp_client *c)
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
static void client_write(struct promhttp_client *c)
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
	struct promhttp_client *c = lf->arg;

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
	struct promhttp *h = lf->arg;

	(void)events;
	for (;;) {
		struct promhttp_client *c;
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors: pause rather than spin. */
			if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
			    loop_fd_mod(&h->lfd, 0) == 0)
				loop_timer_arm_in(&h->pause, PAUSE_MS);
			return;
		}
		if (h->nclients >= h->conf.max_clients || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->h = h;
		c->fd = fd;
		sb_init(&c->body);
		loop_fd_init(&c->lfd, fd, client_cb, c);
		loop_timer_init(&c->timer, client_timeout_cb, c);
		c->next = h->clients;
		c->pprev = &h->clients;
		if (h->clients)
			h->clients->pprev = &c->next;
		h->clients = c;
		h->nclients++;
		if (loop_fd_add(&c->lfd, LOOP_IN | LOOP_RDHUP) == -1 ||
		    loop_timer_arm_in(&c->timer, PROMHTTP_CLIENT_TIMEOUT_MS) == -1)
			client_close(c);
	}
}

static void listener_resume_cb(struct loop_timer *t)
{
	struct promhttp *h = t->arg;

	if (h->fd != -1 && loop_fd_mod(&h->lfd, LOOP_IN) == -1)
		loop_timer_arm_in(&h->pause, PAUSE_MS);
}

struct promhttp *promhttp_start(const struct promhttp_conf *conf, char *err, size_t errlen)
{
	struct promhttp *h;
	int one = 1, fd = -1, e;

	h = calloc(1, sizeof(*h));
	if (!h)
		goto syserr;
	h->conf = *conf;
	h->fd = -1;
	loop_timer_init(&h->pause, listener_resume_cb, h);
	fd = socket(conf->addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto syserr;
	loop_fd_init(&h->lfd, fd, listener_cb, h);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (conf->reuseport &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)conf->addr, conf->addrlen) == -1 ||
	    listen(fd, 64) == -1 || loop_fd_add(&h->lfd, LOOP_IN) == -1)
		goto syserr;
	h->fd = fd;
	return h;
syserr:
	e = errno;
	if (fd != -1)
		close(fd);
	free(h);
	snprintf(err, errlen, "stats prometheus %s: %s", conf->text, strerror(e));
	return NULL;
}

void promhttp_close_listener(struct promhttp *h)
{
	if (!h || h->fd == -1)
		return;
	loop_fd_del(&h->lfd);
	loop_timer_cancel(&h->pause);
	close(h->fd);
	h->fd = -1;
}

void promhttp_stop(struct promhttp *h)
{
	if (!h)
		return;
	promhttp_close_listener(h);
	while (h->clients)
		client_close(h->clients);
	free(h);
}
