/* sockpeer: makes the socket shapes the diagnose integration tests look for,
 * on loopback, and holds them until told to stop.
 *
 *   sockpeer listen  ADDR:PORT [-r] [-b BACKLOG] [-n SOCKETS]
 *       listen on SOCKETS sockets (SO_REUSEPORT with -r) and never accept
 *   sockpeer serve   ADDR:PORT [-r] [-b BACKLOG] [-f] [-c N]
 *       accept and hold every connection; -f: half-close (shutdown SHUT_WR)
 *       each one at once; -c N: close the listener after N connections and
 *       keep them
 *   sockpeer connect ADDR:PORT [-n N]
 *       connect N clients and hold them, never reading nor closing
 *   sockpeer proxy   LISTEN_ADDR:PORT BACKEND_ADDR:PORT [-n N] [-b BACKLOG]
 *       accept N clients and connect each to the backend; when the backend
 *       half-closes, half-close the client side too and keep both: the
 *       client side ends in FIN_WAIT2, the backend side in CLOSE_WAIT
 *
 * Common options: -t SECONDS lifetime (default 120), after which it exits.
 * Every mode prints "ready pid=PID ..." on stdout once its shape is in place
 * (serve -c also prints "closed pid=PID accepted=N" when it closes its
 * listener), then waits for SIGTERM, SIGINT or SIGHUP and exits 0. Errors
 * exit 1 with one line on stderr. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SP_MAX_FDS 16384
#define SP_IO_TIMEOUT_MS 10000

static volatile sig_atomic_t sp_stop;

static void sp_on_signal(int sig)
{
	(void)sig;
	sp_stop = 1;
}

static void __attribute__((noreturn, format(printf, 1, 2))) sp_die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "sockpeer[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e)
		fprintf(stderr, ": %s", strerror(e));
	fputc('\n', stderr);
	exit(1);
}

static void sp_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	unsigned long port;
	size_t hlen;
	char *end;

	errno = 0;
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		sp_die("%s: not ADDR:PORT", s);
	port = strtoul(colon + 1, &end, 10);
	if (*end || port > 65535)
		sp_die("%s: bad port", s);
	hlen = (size_t)(colon - s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			sp_die("%s: bad IPv6 address", s);
		*len = sizeof(*sin6);
		return;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		sp_die("%s: bad IPv4 address", s);
	*len = sizeof(*sin);
}

static int sp_listen(const char *addr, int reuseport, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	sp_parse_addr(addr, &ss, &len);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		sp_die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		sp_die("SO_REUSEADDR");
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		sp_die("SO_REUSEPORT");
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		sp_die("bind %s", addr);
	if (listen(fd, backlog) == -1)
		sp_die("listen %s", addr);
	return fd;
}

/* Blocking connect bounded by SO_SNDTIMEO. */
static int sp_connect(const char *addr)
{
	struct timeval tv = { .tv_sec = SP_IO_TIMEOUT_MS / 1000 };
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	sp_parse_addr(addr, &ss, &len);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		sp_die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		sp_die("SO_SNDTIMEO");
	while (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno == EINTR && !sp_stop)
			continue;
		sp_die("connect %s", addr);
	}
	return fd;
}

/* Waits until fd is readable; 0 when it is, -1 on timeout or stop. */
static int sp_wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;

	while (!sp_stop) {
		rc = poll(&p, 1, timeout_ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			sp_die("poll");
		return rc == 0 ? -1 : 0;
	}
	return -1;
}

static int sp_accept(int lfd)
{
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd != -1)
			return fd;
		if (errno == EINTR && !sp_stop)
			continue;
		if (errno == EINTR)
			return -1;
		sp_die("accept");
	}
}

static void sp_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sp_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fflush(stdout) == EOF)
		sp_die("stdout");
}

static void sp_hold(void)
{
	while (!sp_stop)
		pause();
}

struct sp_opts {
	int reuseport;
	int backlog;
	int n;
	int n_set;
	int half_close;
	int close_after;
};

static int mode_listen(const struct sp_opts *o, char **args)
{
	int i, n = o->n_set ? o->n : 1;

	if (n < 1 || n > 64)
		sp_die("listen: -n between 1 and 64");
	for (i = 0; i < n; i++)
		sp_listen(args[0], o->reuseport, o->backlog);
	sp_ready("ready pid=%ld listen=%s sockets=%d", (long)getpid(), args[0], n);
	sp_hold();
	return 0;
}

static int mode_serve(const struct sp_opts *o, char **args)
{
	int lfd = sp_listen(args[0], o->reuseport, o->backlog);
	int accepted = 0, fd;

	sp_ready("ready pid=%ld serve=%s", (long)getpid(), args[0]);
	while (!sp_stop) {
		if (sp_wait_readable(lfd, 1000) == -1)
			continue;
		fd = sp_accept(lfd);
		if (fd == -1)
			continue;
		if (++accepted > SP_MAX_FDS)
			sp_die("serve: too many connections");
		if (o->half_close && shutdown(fd, SHUT_WR) == -1)
			sp_die("shutdown");
		if (o->close_after > 0 && accepted == o->close_after) {
			close(lfd);
			sp_ready("closed pid=%ld accepted=%d", (long)getpid(), accepted);
			sp_hold();
			break;
		}
	}
	return 0;
}

static int mode_connect(const struct sp_opts *o, char **args)
{
	int i, n = o->n_set ? o->n : 1;

	if (n < 1 || n > SP_MAX_FDS)
		sp_die("connect: -n between 1 and %d", SP_MAX_FDS);
	for (i = 0; i < n && !sp_stop; i++)
		sp_connect(args[0]);
	sp_ready("ready pid=%ld connected=%d", (long)getpid(), n);
	sp_hold();
	return 0;
}

static int mode_proxy(const struct sp_opts *o, char **args)
{
	int lfd = sp_listen(args[0], 0, o->backlog);
	int i, n = o->n_set ? o->n : 1, cfd, bfd;
	char buf[256];
	ssize_t r;

	if (n < 1 || n > SP_MAX_FDS / 2)
		sp_die("proxy: -n between 1 and %d", SP_MAX_FDS / 2);
	sp_ready("listening pid=%ld proxy=%s backend=%s", (long)getpid(), args[0], args[1]);
	for (i = 0; i < n && !sp_stop; i++) {
		errno = 0;
		if (sp_wait_readable(lfd, SP_IO_TIMEOUT_MS) == -1)
			sp_die("proxy: no client %d within %d ms", i + 1, SP_IO_TIMEOUT_MS);
		cfd = sp_accept(lfd);
		if (cfd == -1)
			break;
		bfd = sp_connect(args[1]);
		/* Wait for the backend's FIN, then pass it on to the client,
		 * and close neither socket. */
		for (;;) {
			errno = 0;
			if (sp_wait_readable(bfd, SP_IO_TIMEOUT_MS) == -1)
				sp_die("proxy: backend did not half-close");
			r = read(bfd, buf, sizeof(buf));
			if (r == 0)
				break;
			if (r == -1 && errno != EINTR && errno != EAGAIN)
				sp_die("read backend");
		}
		if (shutdown(cfd, SHUT_WR) == -1)
			sp_die("shutdown client");
	}
	sp_ready("ready pid=%ld pairs=%d", (long)getpid(), i);
	sp_hold();
	return 0;
}

static void sp_usage(void)
{
	fputs("usage: sockpeer listen ADDR:PORT [-r] [-b BACKLOG] [-n SOCKETS] [-t SECONDS]\n"
	      "       sockpeer serve ADDR:PORT [-r] [-b BACKLOG] [-f] [-c N] [-t SECONDS]\n"
	      "       sockpeer connect ADDR:PORT [-n N] [-t SECONDS]\n"
	      "       sockpeer proxy LISTEN BACKEND [-n N] [-b BACKLOG] [-t SECONDS]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct sp_opts o = { .backlog = 128 };
	struct sigaction sa;
	const char *mode;
	unsigned long lifetime = 120;
	int c, nargs;

	if (argc < 2)
		sp_usage();
	mode = argv[1];
	optind = 1;
	while ((c = getopt(argc - 1, argv + 1, "rb:n:fc:t:")) != -1) {
		switch (c) {
		case 'r': o.reuseport = 1; break;
		case 'b': o.backlog = atoi(optarg); break;
		case 'n': o.n = atoi(optarg); o.n_set = 1; break;
		case 'f': o.half_close = 1; break;
		case 'c': o.close_after = atoi(optarg); break;
		case 't': lifetime = strtoul(optarg, NULL, 10); break;
		default: sp_usage();
		}
	}
	nargs = argc - 1 - optind;
	argv += 1 + optind;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sp_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 || sigaction(SIGALRM, &sa, NULL) == -1)
		sp_die("sigaction");
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)lifetime);

	if (strcmp(mode, "listen") == 0 && nargs == 1)
		return mode_listen(&o, argv);
	if (strcmp(mode, "serve") == 0 && nargs == 1)
		return mode_serve(&o, argv);
	if (strcmp(mode, "connect") == 0 && nargs == 1)
		return mode_connect(&o, argv);
	if (strcmp(mode, "proxy") == 0 && nargs == 2)
		return mode_proxy(&o, argv);
	sp_usage();
}
