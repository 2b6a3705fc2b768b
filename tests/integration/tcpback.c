/* A TCP backend for proxyd's integration tests. Listens on 127.0.0.1:PORT
 * and serves every connection in a child process (which dies with its
 * parent) according to the mode:
 *
 *   echo       send back everything read; end of stream answered with one
 *   source     send N bytes of the seeded stream, then close
 *   sink       read until end of stream, check it is the seeded stream, then
 *              write "OK <bytes>\n" or "BAD <offset>\n" and close
 *   halfclose  send N bytes of the seeded stream, shutdown(SHUT_WR), then
 *              read until end of stream and close
 *   hang       accept and do nothing (reads nothing, never closes)
 *   reset      accept, read up to N bytes (0: none), then close with a reset
 *   full       listen with backlog 0 and fill the accept queue, so that
 *              further connection attempts get no answer (connect timeout)
 *   watch      read until the connection ends and append how it ended to
 *              OUTFILE (-o): "eof BYTES" or "rst BYTES"
 *
 * Usage: tcpback -p PORT -m MODE [-n BYTES] [-s SEED] [-R READYFILE] [-o OUTFILE]
 * READYFILE is created once the socket listens. The seeded stream is the
 * one tcpcli generates (tests/integration/tcpstream.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tests/integration/tcpstream.h"

static const char *mode;
static uint64_t nbytes;
static uint32_t seed = 1;
static const char *outfile;

static void die(const char *what)
{
	fprintf(stderr, "tcpback: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void serve_echo(int fd)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (write_all(fd, buf, (size_t)n) == -1)
			return;
	}
	shutdown(fd, SHUT_WR);
	/* Wait for the peer to close too. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static int send_stream(int fd)
{
	struct tcpstream st;
	char buf[65536];
	uint64_t left = nbytes;

	tcpstream_init(&st, seed);
	while (left) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		tcpstream_fill(&st, buf, n);
		if (write_all(fd, buf, n) == -1)
			return -1;
		left -= n;
	}
	return 0;
}

static void serve_sink(int fd)
{
	struct tcpstream st;
	char buf[65536], exp[65536], msg[64];
	uint64_t total = 0;
	ssize_t n;
	int bad = 0;

	tcpstream_init(&st, seed);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (!bad) {
			tcpstream_fill(&st, exp, (size_t)n);
			if (memcmp(buf, exp, (size_t)n) != 0) {
				ssize_t i;

				for (i = 0; i < n && buf[i] == exp[i]; i++)
					;
				snprintf(msg, sizeof(msg), "BAD %llu\n", (unsigned long long)(total + i));
				bad = 1;
			}
		}
		total += (uint64_t)n;
	}
	if (!bad)
		snprintf(msg, sizeof(msg), "OK %llu\n", (unsigned long long)total);
	(void)write_all(fd, msg, strlen(msg));
}

static void serve(int fd)
{
	char buf[65536];

	if (strcmp(mode, "echo") == 0) {
		serve_echo(fd);
	} else if (strcmp(mode, "source") == 0) {
		(void)send_stream(fd);
	} else if (strcmp(mode, "sink") == 0) {
		serve_sink(fd);
	} else if (strcmp(mode, "halfclose") == 0) {
		if (send_stream(fd) == 0) {
			shutdown(fd, SHUT_WR);
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		}
	} else if (strcmp(mode, "watch") == 0) {
		uint64_t got = 0;
		const char *how = "eof";
		char line[64];
		int fd2;

		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n == 0)
				break;
			if (n == -1) {
				if (errno == EINTR)
					continue;
				how = errno == ECONNRESET ? "rst" : "error";
				break;
			}
			got += (uint64_t)n;
		}
		snprintf(line, sizeof(line), "%s %llu\n", how, (unsigned long long)got);
		fd2 = outfile ? open(outfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
		if (fd2 != -1) {
			(void)write_all(fd2, line, strlen(line));
			close(fd2);
		}
	} else if (strcmp(mode, "hang") == 0) {
		for (;;)
			pause();
	} else if (strcmp(mode, "reset") == 0) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		uint64_t got = 0;

		while (got < nbytes) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n <= 0)
				break;
			got += (uint64_t)n;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	const char *ready = NULL;
	int port = 0, opt, lfd, one = 1;

	while ((opt = getopt(argc, argv, "p:m:n:s:R:o:")) != -1) {
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
		case 'R':
			ready = optarg;
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			fprintf(stderr, "usage: tcpback -p PORT -m MODE [-n BYTES] [-s SEED] [-R FILE]\n");
			return 2;
		}
	}
	if (!port || !mode) {
		fprintf(stderr, "tcpback: -p and -m are required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Children are reaped automatically. */
	signal(SIGCHLD, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind");
	if (strcmp(mode, "full") == 0) {
		int i;

		if (listen(lfd, 0) == -1)
			die("listen");
		/* Backlog 0 holds one connection; fill it (and one more in
		 * flight) so that later SYNs are dropped. */
		for (i = 0; i < 2; i++) {
			int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			if (c == -1)
				die("socket");
			if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
			    errno != EINPROGRESS)
				die("connect");
			usleep(50000);
		}
		if (ready)
			close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		for (;;)
			pause();
	}
	if (listen(lfd, 128) == -1)
		die("listen");
	if (ready)
		close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		pid = fork();
		if (pid == -1)
			die("fork");
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(lfd);
			serve(fd);
			_exit(0);
		}
		close(fd);
	}
}
