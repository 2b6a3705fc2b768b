/* tcpkit: loopback helpers for bench/tcp.sh (not a test).
 *
 *   tcpkit sink PORT [SECONDS]
 *       A server on 127.0.0.1:PORT (one thread, epoll) that accepts every
 *       connection and reads and discards whatever arrives; it closes a
 *       connection at its end of stream. Prints "ready" once listening.
 *   tcpkit send PORT BYTES
 *       One connection to 127.0.0.1:PORT: writes BYTES, shuts its write side
 *       down and waits for the peer's end of stream (so the time covers the
 *       last byte reaching the far end). Prints "bytes=N us=N MBps=N".
 *   tcpkit hold PORT N [SECONDS]
 *       Opens N connections to 127.0.0.1:PORT (at most 256 connects pending
 *       at a time) and holds them, idle, until SIGTERM/SIGINT or SECONDS.
 *       Prints "ready conns=N" once all are established, or fails.
 *
 * SECONDS defaults to 600; every wait is bounded by it. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TK_PENDING_MAX 256
#define TK_BUF (256 * 1024)

static volatile sig_atomic_t tk_stop;

static void tk_on_signal(int sig)
{
	(void)sig;
	tk_stop = 1;
}

static void __attribute__((noreturn)) tk_die(const char *what)
{
	fprintf(stderr, "tcpkit[%ld]: %s: %s\n", (long)getpid(), what, strerror(errno));
	exit(1);
}

static void __attribute__((noreturn)) tk_usage(void)
{
	fprintf(stderr, "usage: tcpkit sink PORT [SECONDS] | send PORT BYTES | "
		"hold PORT N [SECONDS]\n");
	exit(2);
}

static uint64_t tk_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned long tk_num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end)
		tk_usage();
	return v;
}

static void tk_addr(struct sockaddr_in *sin, unsigned long port)
{
	if (port == 0 || port > 65535)
		tk_usage();
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static void tk_signals(unsigned long seconds)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tk_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGALRM, &sa, NULL) == -1)
		tk_die("sigaction");
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)seconds);
}

/* Raises the soft fd limit to the hard one: hold needs N + a few fds. */
static void tk_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		tk_die("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		tk_die("setrlimit");
}

static int tk_sink(unsigned long port, unsigned long seconds)
{
	static char buf[TK_BUF];
	struct epoll_event ev, evs[64];
	struct sockaddr_in sin;
	int lfd, ep, one = 1, n, i, fd;
	ssize_t r;

	tk_fd_limit();
	tk_signals(seconds);
	tk_addr(&sin, port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		tk_die("socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		tk_die("SO_REUSEADDR");
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		tk_die("bind");
	if (listen(lfd, 4096) == -1)
		tk_die("listen");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1)
		tk_die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		tk_die("epoll_ctl");
	printf("ready\n");
	fflush(stdout);
	while (!tk_stop) {
		n = epoll_wait(ep, evs, 64, 1000);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			tk_die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd) {
				for (;;) {
					fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd == -1)
						break;
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.fd = fd;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
						tk_die("epoll_ctl");
				}
				continue;
			}
			fd = evs[i].data.fd;
			for (;;) {
				r = read(fd, buf, sizeof(buf));
				if (r > 0)
					continue;
				if (r == -1 && (errno == EAGAIN || errno == EINTR))
					break;
				/* End of stream or error: the epoll entry goes with the fd. */
				close(fd);
				break;
			}
		}
	}
	return 0;
}

static int tk_send(unsigned long port, unsigned long long bytes)
{
	static char buf[TK_BUF];
	struct sockaddr_in sin;
	unsigned long long left = bytes;
	uint64_t t0, us;
	ssize_t r;
	size_t len;
	int fd;

	tk_signals(600);
	tk_addr(&sin, port);
	memset(buf, 'x', sizeof(buf));
	t0 = tk_now_us();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		tk_die("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		tk_die("connect");
	while (left && !tk_stop) {
		len = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		r = write(fd, buf, len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			tk_die("write");
		}
		left -= (unsigned long long)r;
	}
	if (left)
		tk_die("timed out");
	if (shutdown(fd, SHUT_WR) == -1)
		tk_die("shutdown");
	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r == 0)
			break;
		if (r == -1 && errno == EINTR && !tk_stop)
			continue;
		if (r == -1)
			tk_die("read");
	}
	us = tk_now_us() - t0;
	close(fd);
	printf("bytes=%llu us=%llu MBps=%llu\n", bytes, (unsigned long long)us,
	       (unsigned long long)(us ? bytes / us : 0));
	return 0;
}

static int tk_hold(unsigned long port, unsigned long n, unsigned long seconds)
{
	struct epoll_event ev, evs[64];
	struct sockaddr_in sin;
	unsigned long opened = 0, done = 0;
	int ep, fd, k, i, err;
	socklen_t elen;

	tk_fd_limit();
	tk_signals(seconds);
	tk_addr(&sin, port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1)
		tk_die("epoll_create1");
	while (done < n && !tk_stop) {
		while (opened < n && opened - done < TK_PENDING_MAX) {
			fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd == -1)
				tk_die("socket");
			if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
			    errno != EINPROGRESS)
				tk_die("connect");
			ev.events = EPOLLOUT;
			ev.data.fd = fd;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
				tk_die("epoll_ctl");
			opened++;
		}
		k = epoll_wait(ep, evs, 64, 1000);
		if (k == -1) {
			if (errno == EINTR)
				continue;
			tk_die("epoll_wait");
		}
		for (i = 0; i < k; i++) {
			fd = evs[i].data.fd;
			elen = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
				tk_die("getsockopt");
			if (err) {
				errno = err;
				tk_die("connect");
			}
			/* Established: no more events wanted; the fd stays open. */
			if (epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == -1)
				tk_die("epoll_ctl");
			done++;
		}
	}
	if (done < n) {
		errno = ETIMEDOUT;
		tk_die("hold");
	}
	printf("ready conns=%lu\n", done);
	fflush(stdout);
	while (!tk_stop)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		tk_usage();
	if (strcmp(argv[1], "sink") == 0 && argc <= 4)
		return tk_sink(tk_num(argv[2]), argc == 4 ? tk_num(argv[3]) : 600);
	if (strcmp(argv[1], "send") == 0 && argc == 4)
		return tk_send(tk_num(argv[2]), strtoull(argv[3], NULL, 10));
	if (strcmp(argv[1], "hold") == 0 && (argc == 4 || argc == 5))
		return tk_hold(tk_num(argv[2]), tk_num(argv[3]),
			       argc == 5 ? tk_num(argv[4]) : 600);
	tk_usage();
}
