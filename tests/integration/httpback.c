/* httpback: a small HTTP/1.1 origin server for the HTTP integration tests.
 * One process per connection (fork), keep-alive, on 127.0.0.1:PORT.
 *
 *   httpback -p PORT -R READYFILE [-l CONNLOG]
 *
 * Each accepted connection appends "conn N" to CONNLOG. Paths:
 *   /echo          POST: answers 200 with the request body (Content-Length
 *                  or chunked request bodies), Content-Length framing
 * A request with "Expect: 100-continue" gets "100 Continue" first.
 *   /chunked?n=N   200 with N bytes in chunks of at most 1000 bytes
 *   /close?n=N     200 with N bytes and no length: the body ends at close
 *   /slow?ms=N     waits N ms, then 200 "slow\n"
 *   /bad           an invalid status line
 *   /die           no answer: the connection closes (a server that died)
 *   /ws            with "Upgrade:": 101, then echoes every byte until EOF
 *   CONNECT x      200, then echoes every byte until EOF
 *   /hdr           200 with the request head as body (to see rewrites)
 *   /once          200, then the next request on that connection is not
 *                  answered: the connection closes (a server closing an
 *                  idle keep-alive connection just as a request comes)
 *   anything else  200 with N bytes (?n=N, default 5) "hello"...
 * Bodies are the byte pattern i % 251, so a client can check them. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEADMAX 65536

struct conn {
	int fd;
	char buf[HEADMAX];
	size_t len;
};

static int send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads more bytes into c; 0 at EOF or error. */
static int fill(struct conn *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf))
		return 0;
	do
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	return 1;
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Reads exactly n bytes of body into out (malloc'd, grown). */
static int read_n(struct conn *c, char **out, size_t *olen, size_t n)
{
	while (n) {
		size_t k;

		if (!c->len && !fill(c))
			return -1;
		k = c->len < n ? c->len : n;
		*out = realloc(*out, *olen + k + 1);
		if (!*out)
			return -1;
		memcpy(*out + *olen, c->buf, k);
		*olen += k;
		consume(c, k);
		n -= k;
	}
	return 0;
}

static char *find_crlf(struct conn *c)
{
	for (;;) {
		char *p = memmem(c->buf, c->len, "\r\n", 2);

		if (p)
			return p;
		if (!fill(c))
			return NULL;
	}
}

static int read_chunked(struct conn *c, char **out, size_t *olen)
{
	for (;;) {
		char *e = find_crlf(c);
		unsigned long sz;

		if (!e)
			return -1;
		sz = strtoul(c->buf, NULL, 16);
		consume(c, (size_t)(e - c->buf) + 2);
		if (sz == 0) {
			/* trailers up to the empty line */
			for (;;) {
				e = find_crlf(c);
				if (!e)
					return -1;
				if (e == c->buf) {
					consume(c, 2);
					return 0;
				}
				consume(c, (size_t)(e - c->buf) + 2);
			}
		}
		if (read_n(c, out, olen, sz) == -1)
			return -1;
		if (!find_crlf(c))
			return -1;
		consume(c, 2);
	}
}

static const char *hdr(const char *head, const char *name)
{
	size_t n = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p && p[2] != '\r') {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			return p;
		}
		p = strstr(p, "\r\n");
	}
	return NULL;
}

static unsigned long qarg(const char *path, const char *key, unsigned long def)
{
	const char *q = strchr(path, '?');
	size_t n = strlen(key);

	while (q) {
		q++;
		if (strncmp(q, key, n) == 0 && q[n] == '=')
			return strtoul(q + n + 1, NULL, 10);
		q = strchr(q, '&');
	}
	return def;
}

static char *pattern(size_t n)
{
	char *b = malloc(n + 1);
	size_t i;

	if (!b)
		exit(1);
	for (i = 0; i < n; i++)
		b[i] = (char)(i % 251);
	return b;
}

static int answer(int fd, int code, const char *reason, const char *body, size_t len,
		  const char *extra)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s\r\n", code, reason, len,
			 extra ? extra : "");

	if (send_all(fd, head, (size_t)n) == -1)
		return -1;
	return len ? send_all(fd, body, len) : 0;
}

static void serve(int fd)
{
	static struct conn c;
	char head[HEADMAX + 1], path[2048];
	char *body = NULL, *e;
	size_t blen, hlen;
	const char *v;
	int drop_next = 0;

	c.fd = fd;
	c.len = 0;
	for (;;) {
		while (!(e = memmem(c.buf, c.len, "\r\n\r\n", 4)))
			if (!fill(&c))
				return;
		hlen = (size_t)(e - c.buf) + 4;
		memcpy(head, c.buf, hlen);
		head[hlen] = '\0';
		consume(&c, hlen);
		if (sscanf(head, "%*s %2047s", path) != 1 || drop_next)
			return;
		drop_next = strstr(path, "/once") != NULL;
		free(body);
		body = NULL;
		blen = 0;
		if ((v = hdr(head, "Expect")) && strncasecmp(v, "100-continue", 12) == 0 &&
		    send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) == -1)
			return;
		if ((v = hdr(head, "Transfer-Encoding")) && strncasecmp(v, "chunked", 7) == 0) {
			if (read_chunked(&c, &body, &blen) == -1)
				return;
		} else if ((v = hdr(head, "Content-Length"))) {
			if (read_n(&c, &body, &blen, strtoul(v, NULL, 10)) == -1)
				return;
		}
		if (strncmp(head, "CONNECT ", 8) == 0) {
			char b[16384];
			ssize_t n;

			if (send_all(fd, "HTTP/1.1 200 Connection established\r\n\r\n", 39) == -1)
				return;
			if (c.len && send_all(fd, c.buf, c.len) == -1)
				return;
			while ((n = recv(fd, b, sizeof(b), 0)) > 0)
				if (send_all(fd, b, (size_t)n) == -1)
					return;
			return;
		} else if (strstr(path, "/echo")) {
			if (answer(fd, 200, "OK", body, blen, NULL) == -1)
				return;
		} else if (strstr(path, "/hdr")) {
			if (answer(fd, 200, "OK", head, hlen, NULL) == -1)
				return;
		} else if (strstr(path, "/slow")) {
			struct timespec ts;
			unsigned long ms = qarg(path, "ms", 1000);

			ts.tv_sec = (time_t)(ms / 1000);
			ts.tv_nsec = (long)(ms % 1000) * 1000000L;
			nanosleep(&ts, NULL);
			if (answer(fd, 200, "OK", "slow\n", 5, NULL) == -1)
				return;
		} else if (strstr(path, "/die")) {
			return;
		} else if (strstr(path, "/bad")) {
			send_all(fd, "HTTP/1.1 2OO OK\r\n\r\n", 19);
			return;
		} else if (strstr(path, "/ws") && hdr(head, "Upgrade")) {
			char b[16384];
			ssize_t n;

			if (send_all(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				     "Connection: Upgrade\r\n\r\n", 77) == -1)
				return;
			if (c.len && send_all(fd, c.buf, c.len) == -1)
				return;
			while ((n = recv(fd, b, sizeof(b), 0)) > 0)
				if (send_all(fd, b, (size_t)n) == -1)
					return;
			return;
		} else if (strstr(path, "/chunked")) {
			size_t n = qarg(path, "n", 5000), off = 0;
			char *p = pattern(n), line[32];

			if (send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 47) == -1)
				return;
			while (off < n) {
				size_t k = n - off < 1000 ? n - off : 1000;
				int l = snprintf(line, sizeof(line), "%zx\r\n", k);

				if (send_all(fd, line, (size_t)l) == -1 || send_all(fd, p + off, k) == -1 ||
				    send_all(fd, "\r\n", 2) == -1)
					return;
				off += k;
			}
			free(p);
			if (send_all(fd, "0\r\n\r\n", 5) == -1)
				return;
		} else if (strstr(path, "/close")) {
			size_t n = qarg(path, "n", 5000);
			char *p = pattern(n);

			send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 38);
			send_all(fd, p, n);
			free(p);
			return;
		} else {
			size_t n = qarg(path, "n", 0);
			char *p = n ? pattern(n) : NULL;
			int r = n ? answer(fd, 200, "OK", p, n, NULL) : answer(fd, 200, "OK", "hello", 5,
										NULL);

			free(p);
			if (r == -1)
				return;
		}
		if ((v = hdr(head, "Connection")) && strncasecmp(v, "close", 5) == 0)
			return;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	const char *ready = NULL, *connlog = NULL;
	int port = 0, lfd, one = 1, opt;
	unsigned long nconn = 0;
	FILE *f;

	while ((opt = getopt(argc, argv, "p:R:l:")) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'R':
			ready = optarg;
			break;
		case 'l':
			connlog = optarg;
			break;
		default:
			fprintf(stderr, "usage: httpback -p PORT -R READY [-l CONNLOG]\n");
			return 2;
		}
	}
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd == -1)
		return 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(lfd, 128) == -1) {
		perror("httpback: bind/listen");
		return 1;
	}
	if (ready && (f = fopen(ready, "w")))
		fclose(f);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pid_t pid;

		if (fd == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		nconn++;
		/* Heads and bodies go in separate writes: no Nagle delay. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connlog && (f = fopen(connlog, "a"))) {
			fprintf(f, "conn %lu\n", nconn);
			fclose(f);
		}
		pid = fork();
		if (pid == 0) {
			close(lfd);
			serve(fd);
			close(fd);
			_exit(0);
		}
		close(fd);
	}
}
