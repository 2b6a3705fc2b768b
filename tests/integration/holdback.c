/* An echo backend whose listening socket can be closed and reopened while
 * its established connections live on: what a health check sees of a server
 * that stopped accepting (or was cut off) while old sessions still hang on.
 *
 *   SIGUSR1  close the listening socket (new connections are refused)
 *   SIGUSR2  listen again on the same port
 *   SIGTERM  exit
 *
 * Usage: holdback -p PORT [-R READYFILE]
 * READYFILE is created once the socket listens. Single process, poll(2),
 * at most 256 connections. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MAXCONN 256

static volatile sig_atomic_t want_close, want_open, want_exit;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_close = 1;
	else if (sig == SIGUSR2)
		want_open = 1;
	else
		want_exit = 1;
}

static int listen_on(unsigned port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fd, 128) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[MAXCONN + 1];
	struct sigaction sa;
	const char *ready = NULL;
	unsigned port = 0;
	int lfd, nconn = 0, opt, i;

	while ((opt = getopt(argc, argv, "p:R:")) != -1) {
		if (opt == 'p')
			port = (unsigned)atoi(optarg);
		else if (opt == 'R')
			ready = optarg;
		else
			return 2;
	}
	if (!port) {
		fprintf(stderr, "usage: holdback -p PORT [-R READYFILE]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(port);
	if (lfd == -1) {
		fprintf(stderr, "holdback: listen on %u: %s\n", port, strerror(errno));
		return 1;
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd == -1)
			return 1;
		close(fd);
	}
	while (!want_exit) {
		int n;

		if (want_close) {
			want_close = 0;
			if (lfd != -1)
				close(lfd);
			lfd = -1;
		}
		if (want_open) {
			want_open = 0;
			if (lfd == -1)
				lfd = listen_on(port);
		}
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		n = poll(pfd, (nfds_t)nconn + 1, 50);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (i = 1; i <= nconn; i++) {
			char buf[16384];
			ssize_t r;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(pfd[i].fd, buf, sizeof(buf));
			if (r > 0 && write(pfd[i].fd, buf, (size_t)r) == r)
				continue;
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			close(pfd[i].fd);
			pfd[i] = pfd[nconn];
			nconn--;
			i--;
		}
		if (lfd != -1 && (pfd[0].revents & POLLIN)) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd != -1) {
				if (nconn == MAXCONN) {
					close(fd);
				} else {
					nconn++;
					pfd[nconn].fd = fd;
					pfd[nconn].events = POLLIN;
					pfd[nconn].revents = 0;
				}
			}
		}
	}
	return 0;
}
