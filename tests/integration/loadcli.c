/* Load, echo and hold helpers for the supervisor's reload tests.
 *
 *   loadcli echo -l PORT [-R READYFILE]
 *       An echo server on 127.0.0.1:PORT (one thread, poll), for backends.
 *   loadcli load -p PORT [-c CLIENTS] [-r REQS] (-d SECONDS | -S STOPFILE)
 *       CLIENTS threads, each in a loop: connect to 127.0.0.1:PORT, send REQS
 *       requests of 32 bytes one after the other, each checked against its
 *       echo, then close. Counts every failure: a connection that could not
 *       be made (refused, reset, timed out) and a request that did not come
 *       back whole and intact. Runs for SECONDS, or until STOPFILE exists.
 *       Prints one line: conns=N conn_fail=N reqs=N req_fail=N, and the
 *       first errors seen. Exit status 0 (the counts are the result).
 *       With -P, also one "progress ms=N conns=N conn_fail=N reqs=N req_fail=N"
 *       line per second (cumulative), for throughput over time.
 *   loadcli hold -p PORT [-i MS] [-t SECONDS]
 *       One connection, one request every MS (500) ms; prints
 *       "held_ms=N cut=0|1 reqs=N" when the connection is cut or after
 *       SECONDS (cut=0).
 *
 * Every wait is bounded (2 s per connect/read/write). */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define REQ_LEN 32
#define IO_TIMEOUT_S 2

static uint16_t port;
static int nclients = 8, nreqs = 1, duration_s, interval_ms = 500, progress;
static const char *stopfile, *readyfile;
static atomic_ullong conns, conn_fail, reqs, req_fail;
static atomic_int stop;
static pthread_mutex_t errlock = PTHREAD_MUTEX_INITIALIZER;
static char errs[4][128];
static int nerrs;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void note_err(const char *what, int e)
{
	pthread_mutex_lock(&errlock);
	if (nerrs < 4)
		snprintf(errs[nerrs++], sizeof(errs[0]), "%s: %s", what, e ? strerror(e) : "short");
	pthread_mutex_unlock(&errlock);
}

static int connect_lo(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd == -1)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One request and its echo. 0 ok, -1 failed (errno, 0 for short/mismatch). */
static int request(int fd, unsigned long long n)
{
	char out[REQ_LEN + 1], in[REQ_LEN];
	size_t got = 0;

	snprintf(out, sizeof(out), "req %026llu\n", n);
	if (send(fd, out, REQ_LEN, MSG_NOSIGNAL) != REQ_LEN)
		return -1;
	while (got < REQ_LEN) {
		ssize_t r = recv(fd, in + got, REQ_LEN - got, 0);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		got += (size_t)r;
	}
	if (memcmp(in, out, REQ_LEN)) {
		errno = 0;
		return -1;
	}
	return 0;
}

static void *client_main(void *arg)
{
	unsigned long long n = (unsigned long long)(uintptr_t)arg * 1000000000ULL;

	while (!atomic_load(&stop)) {
		int fd = connect_lo();

		atomic_fetch_add(&conns, 1);
		if (fd == -1) {
			atomic_fetch_add(&conn_fail, 1);
			note_err("connect", errno);
			usleep(1000);
			continue;
		}
		for (int i = 0; i < nreqs; i++) {
			atomic_fetch_add(&reqs, 1);
			if (request(fd, n++) == -1) {
				atomic_fetch_add(&req_fail, 1);
				note_err("request", errno);
				break;
			}
		}
		close(fd);
	}
	return NULL;
}

static int run_load(void)
{
	pthread_t th[256];
	uint64_t t0 = now_ms(), end = t0 + (uint64_t)duration_s * 1000, next = t0 + 1000;
	int i;

	if (nclients > 256)
		nclients = 256;
	for (i = 0; i < nclients; i++)
		if (pthread_create(&th[i], NULL, client_main, (void *)(uintptr_t)(i + 1)) != 0)
			break;
	nclients = i;
	for (;;) {
		if (duration_s && now_ms() >= end)
			break;
		if (stopfile && access(stopfile, F_OK) == 0)
			break;
		/* A bound for STOPFILE mode too: ten minutes. */
		if (!duration_s && now_ms() >= end + 600000)
			break;
		if (progress && now_ms() >= next) {
			printf("progress ms=%llu conns=%llu conn_fail=%llu reqs=%llu req_fail=%llu\n",
			       (unsigned long long)(now_ms() - t0), atomic_load(&conns),
			       atomic_load(&conn_fail), atomic_load(&reqs), atomic_load(&req_fail));
			fflush(stdout);
			next += 1000;
		}
		usleep(20000);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < nclients; i++)
		pthread_join(th[i], NULL);
	printf("conns=%llu conn_fail=%llu reqs=%llu req_fail=%llu\n", atomic_load(&conns),
	       atomic_load(&conn_fail), atomic_load(&reqs), atomic_load(&req_fail));
	for (i = 0; i < nerrs; i++)
		printf("error: %s\n", errs[i]);
	return 0;
}

static int run_hold(void)
{
	uint64_t t0 = now_ms(), end = t0 + (uint64_t)(duration_s ? duration_s : 600) * 1000;
	unsigned long long n = 0;
	int fd = connect_lo(), cut = 0;

	if (fd == -1) {
		printf("held_ms=0 cut=1 reqs=0 error=connect:%s\n", strerror(errno));
		return 1;
	}
	while (now_ms() < end) {
		if (request(fd, n) == -1) {
			cut = 1;
			break;
		}
		n++;
		usleep((useconds_t)interval_ms * 1000);
	}
	printf("held_ms=%llu cut=%d reqs=%llu\n", (unsigned long long)(now_ms() - t0), cut, n);
	close(fd);
	return 0;
}

#define ECHO_MAX 1024

static int run_echo(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct pollfd pf[ECHO_MAX];
	int lfd, one = 1;
	nfds_t n = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd == -1 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(lfd, 4096) == -1) {
		perror("loadcli echo: listen");
		return 1;
	}
	if (readyfile) {
		FILE *f = fopen(readyfile, "w");

		if (f)
			fclose(f);
	}
	pf[0].fd = lfd;
	pf[0].events = POLLIN;
	for (;;) {
		if (poll(pf, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			perror("loadcli echo: poll");
			return 1;
		}
		for (nfds_t i = 1; i < n; i++) {
			char buf[4096];
			ssize_t r;

			if (!pf[i].revents)
				continue;
			r = recv(pf[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			/* Loopback sends of this size do not block in practice; a
			 * short send closes the connection (the client sees it). */
			if (r <= 0 || send(pf[i].fd, buf, (size_t)r, MSG_NOSIGNAL) != r) {
				close(pf[i].fd);
				pf[i] = pf[--n];
				i--;
			}
		}
		if (pf[0].revents & POLLIN) {
			for (;;) {
				int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

				if (c == -1)
					break;
				if (n == ECHO_MAX) {
					close(c);
					continue;
				}
				pf[n].fd = c;
				pf[n].events = POLLIN;
				pf[n].revents = 0;
				n++;
			}
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: loadcli echo -l PORT [-R READYFILE]\n"
			"       loadcli load -p PORT [-c CLIENTS] [-r REQS] [-P] (-d SECONDS | -S STOPFILE)\n"
			"       loadcli hold -p PORT [-i MS] [-t SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd;
	int opt;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "l:p:c:r:d:S:R:i:t:P")) != -1) {
		switch (opt) {
		case 'l':
		case 'p': port = (uint16_t)atoi(optarg); break;
		case 'c': nclients = atoi(optarg); break;
		case 'r': nreqs = atoi(optarg); break;
		case 'd':
		case 't': duration_s = atoi(optarg); break;
		case 'S': stopfile = optarg; break;
		case 'R': readyfile = optarg; break;
		case 'i': interval_ms = atoi(optarg); break;
		case 'P': progress = 1; break;
		default: usage();
		}
	}
	if (!port || nclients < 1 || nreqs < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "echo"))
		return run_echo();
	if (!strcmp(cmd, "load")) {
		if (!duration_s && !stopfile)
			usage();
		return run_load();
	}
	if (!strcmp(cmd, "hold"))
		return run_hold();
	usage();
	return 2;
}
