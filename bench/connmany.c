/* connmany: holds N established TCP connections to itself on loopback, for
 * the diagnose benchmark.
 *
 *   connmany ADDR PORT N [SECONDS]
 *
 * Listens on ADDR:PORT (IPv4), connects N clients to it and accepts them, so
 * that it owns 2*N sockets plus the listener; prints "ready pid=PID conns=N"
 * and holds them until SIGTERM/SIGINT or SECONDS (default 600) have passed.
 * Each process uses its own ADDR (127.0.0.x) so that the kernel's ephemeral
 * ports, unique per destination, last for N up to the local port range. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t cm_stop;

static void cm_on_signal(int sig)
{
	(void)sig;
	cm_stop = 1;
}

static void __attribute__((noreturn)) cm_die(const char *what)
{
	fprintf(stderr, "connmany[%ld]: %s: %s\n", (long)getpid(), what, strerror(errno));
	exit(1);
}

/* Accepts whatever is queued (the listener is non-blocking). */
static long cm_accept_all(int lfd)
{
	long n = 0;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return n;
			if (errno == EINTR)
				continue;
			cm_die("accept");
		}
		n++;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sigaction sa;
	struct rlimit rl;
	long n, i, accepted = 0;
	unsigned long lifetime = 600;
	int lfd, fd, one = 1;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: connmany ADDR PORT N [SECONDS]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "connmany: %s: not an IPv4 address\n", argv[1]);
		return 2;
	}
	sin.sin_port = htons((uint16_t)strtoul(argv[2], NULL, 10));
	n = strtol(argv[3], NULL, 10);
	if (argc == 5)
		lifetime = strtoul(argv[4], NULL, 10);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		cm_die("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		cm_die("setrlimit");
	if (n < 1 || (rlim_t)(2 * n + 16) > rl.rlim_cur) {
		fprintf(stderr, "connmany: N must be 1..%ld with this fd limit\n",
			(long)(rl.rlim_cur - 16) / 2);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cm_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGALRM, &sa, NULL) == -1)
		cm_die("sigaction");
	alarm((unsigned)lifetime);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		cm_die("socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		cm_die("SO_REUSEADDR");
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		cm_die("bind");
	if (listen(lfd, 4096) == -1)
		cm_die("listen");

	/* On loopback a blocking connect completes as soon as the handshake
	 * is queued; accepting every 256 keeps the accept queue from
	 * overflowing (a dropped SYN would cost a 1 s retransmission). */
	for (i = 0; i < n && !cm_stop; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			cm_die("socket");
		while (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
			if (errno != EINTR || cm_stop)
				cm_die("connect");
		}
		if (i % 256 == 255)
			accepted += cm_accept_all(lfd);
	}
	while (accepted < n && !cm_stop) {
		accepted += cm_accept_all(lfd);
		if (accepted < n)
			usleep(1000);
	}
	printf("ready pid=%ld conns=%ld\n", (long)getpid(), accepted);
	if (fflush(stdout) == EOF)
		cm_die("stdout");
	while (!cm_stop)
		pause();
	return 0;
}
