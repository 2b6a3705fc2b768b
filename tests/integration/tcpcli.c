/* A TCP client for proxyd's integration tests. Connects to 127.0.0.1:PORT.
 *
 *   echo    send N bytes of the seeded stream while reading them back,
 *           checking every byte; then shutdown(SHUT_WR) and expect the end
 *           of stream right after N bytes; -d MS waits that long after
 *           connecting before sending
 *   source  read and check N bytes of the seeded stream, then expect the
 *           end of stream; -r KB/s reads no faster than that (16 KB at a
 *           time); -b BYTES sets the socket's receive buffer
 *   sink    send N bytes, shutdown(SHUT_WR), print the server's answer
 *   hold    send N bytes (default 0), with -S shutdown(SHUT_WR), then read
 *           and discard until the connection ends or -t ms pass; with -K
 *           the socket stays open after an end of stream until -t ms pass
 *           (a client that never answers the proxy's FIN); with -X the
 *           client resets the connection after -t ms instead of closing
 *   notify  (no TCP) bind a unix datagram socket at -u PATH and print every
 *           datagram until one contains READY=1 or -t ms pass
 *   recv    (no TCP) bind a datagram socket, UDP on 127.0.0.1:PORT (-p) or
 *           unix at -u PATH, and print datagrams until N (-n, default 1)
 *           have come or -t ms pass
 *
 * Each mode prints one line, e.g.
 *   "ok sent=N recv=N ms=T", "closed=eof|rst|timeout ms=T recv=N"
 * and exits 0 on success, 1 on a check failure, 2 on a usage or system
 * error. Every wait is bounded by -t (default 60000 ms). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/tcpstream.h"

static int port;
static uint64_t nbytes;
static uint32_t seed = 1;
static int timeout_ms = 60000;
static int shut_wr;
static int keep_open;
static int delay_ms;
static int reset_at_end;
static int rate_kbps;
static int rcvbuf;
static const char *upath;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fail(int code, const char *what)
{
	printf("error %s: %s\n", what, strerror(errno));
	exit(code);
}

static int tcp_connect(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		fail(2, "socket");
	/* A small receive buffer makes a slow reader push back on the proxy
	 * instead of the kernel absorbing everything. */
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == -1)
		fail(2, "SO_RCVBUF");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fail(1, "connect");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Waits for events on fd until the global deadline; 0 on timeout. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t now = now_ms();
	int r;

	if (now >= deadline)
		return 0;
	r = poll(&p, 1, (int)(deadline - now));
	if (r == -1 && errno != EINTR)
		fail(2, "poll");
	return r > 0 ? p.revents : -1;
}

static int mode_echo(void)
{
	struct tcpstream tx, rx;
	static char out[65536], in[65536], exp[65536];
	uint64_t sent = 0, recvd = 0, start = now_ms(), deadline = start + (uint64_t)timeout_ms;
	size_t opos = 0, olen = 0;
	int fd = tcp_connect(), done_wr = 0;

	tcpstream_init(&tx, seed);
	tcpstream_init(&rx, seed);
	if (delay_ms)
		usleep((useconds_t)delay_ms * 1000u);
	for (;;) {
		short ev = POLLIN;
		int r;

		if (!done_wr)
			ev |= POLLOUT;
		r = wait_fd(fd, ev, deadline);
		if (r == 0) {
			printf("timeout sent=%llu recv=%llu\n", (unsigned long long)sent,
			       (unsigned long long)recvd);
			return 1;
		}
		if (r > 0 && (r & POLLOUT) && !done_wr) {
			if (opos == olen) {
				size_t n = nbytes - sent < sizeof(out) ? (size_t)(nbytes - sent) : sizeof(out);

				tcpstream_fill(&tx, out, n);
				opos = 0;
				olen = n;
			}
			if (olen > opos) {
				ssize_t n = send(fd, out + opos, olen - opos, MSG_NOSIGNAL);

				if (n > 0) {
					opos += (size_t)n;
					sent += (uint64_t)n;
				} else if (n == -1 && errno != EAGAIN && errno != EINTR) {
					fail(1, "send");
				}
			}
			if (sent == nbytes && opos == olen) {
				shutdown(fd, SHUT_WR);
				done_wr = 1;
			}
		}
		if (r > 0 && (r & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = recv(fd, in, sizeof(in), 0);

			if (n == 0) {
				if (recvd != nbytes || !done_wr) {
					printf("short sent=%llu recv=%llu\n", (unsigned long long)sent,
					       (unsigned long long)recvd);
					return 1;
				}
				break;
			}
			if (n == -1) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				fail(1, "recv");
			}
			tcpstream_fill(&rx, exp, (size_t)n);
			if (memcmp(in, exp, (size_t)n) != 0) {
				printf("mismatch near offset %llu\n", (unsigned long long)recvd);
				return 1;
			}
			recvd += (uint64_t)n;
			if (recvd > nbytes) {
				printf("too much recv=%llu\n", (unsigned long long)recvd);
				return 1;
			}
		}
	}
	printf("ok sent=%llu recv=%llu ms=%llu\n", (unsigned long long)sent,
	       (unsigned long long)recvd, (unsigned long long)(now_ms() - start));
	close(fd);
	return 0;
}

static int mode_source(void)
{
	struct tcpstream rx;
	static char in[65536], exp[65536];
	uint64_t recvd = 0, start = now_ms(), deadline = start + (uint64_t)timeout_ms;
	int fd = tcp_connect();

	tcpstream_init(&rx, seed);
	if (shut_wr)
		shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n;
		int r = wait_fd(fd, POLLIN, deadline);

		if (r == 0) {
			printf("timeout recv=%llu\n", (unsigned long long)recvd);
			return 1;
		}
		n = recv(fd, in, rate_kbps ? 16384 : sizeof(in), 0);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fail(1, "recv");
		}
		tcpstream_fill(&rx, exp, (size_t)n);
		if (memcmp(in, exp, (size_t)n) != 0) {
			printf("mismatch near offset %llu\n", (unsigned long long)recvd);
			return 1;
		}
		recvd += (uint64_t)n;
		if (rate_kbps) {
			/* Sleep until the average rate is back under the limit. */
			uint64_t due = start + recvd / (uint64_t)rate_kbps;

			if (due > now_ms())
				usleep((useconds_t)(due - now_ms()) * 1000u);
		}
	}
	if (recvd != nbytes) {
		printf("short recv=%llu\n", (unsigned long long)recvd);
		return 1;
	}
	printf("ok recv=%llu ms=%llu\n", (unsigned long long)recvd,
	       (unsigned long long)(now_ms() - start));
	close(fd);
	return 0;
}

static int mode_sink(void)
{
	struct tcpstream tx;
	static char out[65536];
	char ans[128];
	uint64_t sent = 0, start = now_ms(), deadline = start + (uint64_t)timeout_ms;
	size_t alen = 0;
	int fd = tcp_connect();

	tcpstream_init(&tx, seed);
	while (sent < nbytes) {
		size_t n = nbytes - sent < sizeof(out) ? (size_t)(nbytes - sent) : sizeof(out);
		size_t off = 0;

		tcpstream_fill(&tx, out, n);
		while (off < n) {
			ssize_t w;

			if (wait_fd(fd, POLLOUT, deadline) == 0) {
				printf("timeout sent=%llu\n", (unsigned long long)sent);
				return 1;
			}
			w = send(fd, out + off, n - off, MSG_NOSIGNAL);
			if (w == -1) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				fail(1, "send");
			}
			off += (size_t)w;
			sent += (uint64_t)w;
		}
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) == 0) {
			printf("timeout waiting for the answer\n");
			return 1;
		}
		n = recv(fd, ans + alen, sizeof(ans) - 1 - alen, 0);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fail(1, "recv");
		}
		alen += (size_t)n;
		if (alen == sizeof(ans) - 1)
			break;
	}
	ans[alen] = '\0';
	printf("sent=%llu ms=%llu answer=%s", (unsigned long long)sent,
	       (unsigned long long)(now_ms() - start), alen ? ans : "none\n");
	return strncmp(ans, "OK ", 3) == 0 && strtoull(ans + 3, NULL, 10) == nbytes ? 0 : 1;
}

static int mode_hold(void)
{
	static char buf[65536];
	uint64_t recvd = 0, start = now_ms(), deadline = start + (uint64_t)timeout_ms;
	int fd = tcp_connect();
	const char *how = "timeout";

	memset(buf, 'x', sizeof(buf));
	if (nbytes) {
		size_t n = nbytes < sizeof(buf) ? (size_t)nbytes : sizeof(buf);

		if (send(fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
			fail(1, "send");
	}
	if (shut_wr)
		shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n;
		int r = wait_fd(fd, POLLIN, deadline);

		if (r == 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0) {
			how = "eof";
			if (keep_open) {
				/* Until the deadline, also when the end of stream came
				 * within the first millisecond (left == timeout_ms). */
				uint64_t now = now_ms();

				if (now < deadline)
					usleep((useconds_t)(deadline - now) * 1000u);
			}
			break;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			how = errno == ECONNRESET ? "rst" : "error";
			break;
		}
		recvd += (uint64_t)n;
	}
	printf("closed=%s ms=%llu recv=%llu\n", how, (unsigned long long)(now_ms() - start),
	       (unsigned long long)recvd);
	if (reset_at_end) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	return 0;
}

static int dgram_bind(void)
{
	int fd;

	if (upath) {
		struct sockaddr_un sun;

		if (strlen(upath) >= sizeof(sun.sun_path))
			fail(2, "path too long");
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			fail(2, "socket");
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		strcpy(sun.sun_path, upath);
		unlink(upath);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			fail(2, "bind");
	} else {
		struct sockaddr_in sin;

		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			fail(2, "socket");
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			fail(2, "bind");
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int mode_recv(void)
{
	char buf[2048];
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms, want = nbytes ? nbytes : 1, got = 0;
	int fd = dgram_bind();

	/* The socket is bound: tell the test it may start the sender. */
	printf("bound\n");
	while (got < want) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) == 0) {
			printf("timeout got=%llu\n", (unsigned long long)got);
			return 1;
		}
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fail(2, "recv");
		}
		buf[n] = '\0';
		printf("dgram %s\n", buf);
		got++;
	}
	if (upath)
		unlink(upath);
	return 0;
}

static int mode_notify(void)
{
	struct sockaddr_un sun;
	char buf[512];
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	int fd;

	if (!upath || strlen(upath) >= sizeof(sun.sun_path)) {
		printf("error: -u PATH required\n");
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fail(2, "socket");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, upath);
	/* "@name": the abstract namespace, as NOTIFY_SOCKET allows. */
	if (upath[0] == '@')
		sun.sun_path[0] = '\0';
	else
		unlink(upath);
	if (bind(fd, (struct sockaddr *)&sun,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(upath))) == -1)
		fail(2, "bind");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	printf("bound\n");
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) == 0) {
			printf("timeout\n");
			if (upath[0] != '@')
				unlink(upath);
			return 1;
		}
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fail(2, "recv");
		}
		buf[n] = '\0';
		printf("notify %s\n", buf);
		fflush(stdout);
		if (strstr(buf, "READY=1"))
			break;
	}
	if (upath[0] != '@')
		unlink(upath);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "p:m:n:s:t:SKXu:d:r:b:")) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			nbytes = strtoull(optarg, NULL, 10);
			break;
		case 's':
			seed = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'S':
			shut_wr = 1;
			break;
		case 'K':
			keep_open = 1;
			break;
		case 'd':
			delay_ms = atoi(optarg);
			break;
		case 'X':
			reset_at_end = 1;
			break;
		case 'r':
			rate_kbps = atoi(optarg);
			break;
		case 'b':
			rcvbuf = atoi(optarg);
			break;
		case 'u':
			upath = optarg;
			break;
		default:
			fprintf(stderr, "usage: tcpcli -m MODE [-p PORT] [-n BYTES] [-s SEED] "
				"[-t MS] [-S] [-u PATH]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mode) {
		fprintf(stderr, "tcpcli: -m is required\n");
		return 2;
	}
	if (strcmp(mode, "notify") == 0)
		return mode_notify();
	if (strcmp(mode, "recv") == 0)
		return mode_recv();
	if (!port) {
		fprintf(stderr, "tcpcli: -p is required\n");
		return 2;
	}
	if (strcmp(mode, "echo") == 0)
		return mode_echo();
	if (strcmp(mode, "source") == 0)
		return mode_source();
	if (strcmp(mode, "sink") == 0)
		return mode_sink();
	if (strcmp(mode, "hold") == 0)
		return mode_hold();
	fprintf(stderr, "tcpcli: unknown mode %s\n", mode);
	return 2;
}
