#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tui/ctl.h"
#include "tui/model.h"

#define PC_LINE_MAX (16u << 20)

void pc_init(struct pc_conn *c, const char *path, const char *request)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fd = -1;
	c->request = request;
	c->backoff_ms = PC_BACKOFF_MIN;
	tm_linebuf_init(&c->lb, PC_LINE_MAX);
}

static void pc_drop(struct pc_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = PC_IDLE;
	c->sent = 0;
	tm_linebuf_reset(&c->lb);
}

void pc_close(struct pc_conn *c)
{
	pc_drop(c);
	tm_linebuf_free(&c->lb);
}

void pc_fail(struct pc_conn *c, uint64_t now_ms, const char *why)
{
	snprintf(c->err, sizeof(c->err), "%s", why);
	pc_drop(c);
	c->next_try_ms = now_ms + c->backoff_ms;
	c->backoff_ms = c->backoff_ms * 2 > PC_BACKOFF_MAX ? PC_BACKOFF_MAX : c->backoff_ms * 2;
	c->reconnects++;
}

static void pc_fail_errno(struct pc_conn *c, uint64_t now_ms, const char *what)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "%s: %s", what, strerror(errno));
	pc_fail(c, now_ms, buf);
}

void pc_kick(struct pc_conn *c, uint64_t now_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (c->state != PC_IDLE || now_ms < c->next_try_ms)
		return;
	if (strlen(c->path) >= sizeof(sa.sun_path)) {
		pc_fail(c, now_ms, "socket path too long");
		return;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	tm_linebuf_reset(&c->lb);
	c->sent = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		pc_fail_errno(c, now_ms, "socket");
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR) {
			pc_fail_errno(c, now_ms, c->path);
			return;
		}
		c->state = PC_CONNECTING;
		return;
	}
	c->state = PC_CONNECTING; /* connected at once: the write completes it */
}

short pc_events(const struct pc_conn *c)
{
	if (c->fd == -1)
		return 0;
	if (c->state == PC_CONNECTING || (c->request && c->sent < strlen(c->request)))
		return POLLOUT;
	return POLLIN;
}

static int pc_send(struct pc_conn *c, uint64_t now_ms)
{
	size_t n = c->request ? strlen(c->request) : 0;
	ssize_t w;

	while (c->sent < n) {
		w = send(c->fd, c->request + c->sent, n - c->sent, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			pc_fail_errno(c, now_ms, "send");
			return -1;
		}
		c->sent += (size_t)w;
	}
	return 0;
}

int pc_service(struct pc_conn *c, short revents, uint64_t now_ms)
{
	char buf[65536];
	ssize_t r;
	int soerr = 0, got = 0;
	socklen_t sl = sizeof(soerr);

	if (c->fd == -1 || revents == 0)
		return 0;
	if (c->state == PC_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1) {
			pc_fail_errno(c, now_ms, "connect");
			return 0;
		}
		if (soerr) {
			errno = soerr;
			pc_fail_errno(c, now_ms, c->path);
			return 0;
		}
		c->state = PC_UP;
		c->err[0] = '\0';
	}
	if (pc_send(c, now_ms) == -1)
		return 0;
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	/* Bounded: at most a few reads per wakeup so a flood cannot starve
	 * the keyboard. */
	for (int i = 0; i < 16; i++) {
		r = read(c->fd, buf, sizeof(buf));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			pc_fail_errno(c, now_ms, "read");
			return got;
		}
		if (r == 0) {
			/* keep complete lines already read: feed nothing more */
			snprintf(c->err, sizeof(c->err), "connection closed by proxysv");
			if (c->fd != -1)
				close(c->fd);
			c->fd = -1;
			c->state = PC_IDLE;
			c->sent = 0;
			c->next_try_ms = now_ms + c->backoff_ms;
			c->backoff_ms = c->backoff_ms * 2 > PC_BACKOFF_MAX ? PC_BACKOFF_MAX :
					c->backoff_ms * 2;
			c->reconnects++;
			return 1;
		}
		if (tm_linebuf_feed(&c->lb, buf, (size_t)r) == -1) {
			pc_fail(c, now_ms, "out of memory");
			return 0;
		}
		got = 1;
		c->backoff_ms = PC_BACKOFF_MIN;
	}
	return got;
}
