#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/json.h"
#include "supervisor/ctlclient.h"

const char *ctlclient_default_path(void)
{
	const char *p = getenv("PROXYSV_SOCKET");

	return p && p[0] ? p : "/run/proxysv/control.sock";
}

int ctlclient_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == ENOENT || errno == ECONNREFUSED ? " (is proxysv running?)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n, char *err, size_t errlen)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads more into b, waiting at most until end (mono ms). 1 data, 0 EOF, -1. */
static int read_more(int fd, struct sbuf *b, uint64_t end, char *err, size_t errlen)
{
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		uint64_t now = clock_mono_ms();
		char buf[4096];
		ssize_t n;
		int r;

		if (now >= end) {
			snprintf(err, errlen, "no answer in time");
			return -1;
		}
		r = poll(&pf, 1, (int)(end - now));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (r == 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			snprintf(err, errlen, "recv: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		sb_putn(b, buf, (size_t)n);
		if (b->err) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 1;
	}
}

int ctlclient_request(int fd, const char *line, struct sbuf *out, unsigned timeout_ms,
		      char *err, size_t errlen)
{
	uint64_t end = clock_mono_ms() + timeout_ms;
	struct sbuf b;
	char *stop;
	int rc = -1;

	sb_init(&b);
	if (send_all(fd, line, strlen(line), err, errlen) == -1 ||
	    send_all(fd, "\n", 1, err, errlen) == -1)
		goto out;
	for (;;) {
		int r;

		stop = b.len ? strstr(sb_cstr(&b), "\n\n") : NULL;
		if (stop || (b.len == 1 && b.p[0] == '\n'))
			break;
		r = read_more(fd, &b, end, err, errlen);
		if (r == -1)
			goto out;
		if (r == 0) {
			if (!b.len) {
				snprintf(err, errlen, "connection closed without an answer");
				goto out;
			}
			stop = b.p + b.len;
			break;
		}
	}
	if (!stop)
		stop = b.p;     /* an empty answer: only the blank line */
	sb_putn(out, b.p, (size_t)(stop - b.p));
	rc = strncmp(sb_cstr(out), "error: ", 7) == 0 ? 1 : 0;
out:
	sb_free(&b);
	return rc;
}

int ctlclient_watch(int fd, int (*cb)(const char *line, void *arg), void *arg,
		    unsigned idle_ms, char *err, size_t errlen)
{
	struct sbuf b;
	int rc = -1;

	sb_init(&b);
	if (send_all(fd, "watch\n", 6, err, errlen) == -1)
		goto out;
	for (;;) {
		char *nl;
		int r;

		while ((nl = b.len ? memchr(b.p, '\n', b.len) : NULL)) {
			size_t l = (size_t)(nl - b.p);

			*nl = '\0';
			if (l && cb(b.p, arg)) {
				rc = 0;
				goto out;
			}
			memmove(b.p, nl + 1, b.len - l - 1);
			b.len -= l + 1;
		}
		r = read_more(fd, &b, clock_mono_ms() + idle_ms, err, errlen);
		if (r == -1)
			goto out;
		if (r == 0) {
			snprintf(err, errlen, "connection closed");
			goto out;
		}
	}
out:
	sb_free(&b);
	return rc;
}

/* ---- proxyctl subcommands ------------------------------------------------ */

/* The reload may wait for validation and a start (start-timeout, 10 s by
 * default) and for a coalesced reload before it. */
#define CTLCLIENT_RELOAD_MS 60000
#define CTLCLIENT_MS 10000

static void usage_control(FILE *f)
{
	fprintf(f, "usage: proxyctl [-S PATH] status [--json]\n"
		   "       proxyctl [-S PATH] show generations|listeners [--json]\n"
		   "       proxyctl [-S PATH] reload [--json]\n"
		   "       proxyctl [-S PATH] drain|kill GEN [--json]\n"
		   "       proxyctl [-S PATH] watch [--json] [-n COUNT]\n");
}

/* A JSON number member of a watch line, crudely (keys are unique at the top
 * level for those read here, and come before any nested object). */
static long long json_top_num(const char *line, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(line, k);
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

struct watch_state {
	int json;
	long count;     /* lines left to print; -1: until interrupted */
};

static int watch_print(const char *line, void *arg)
{
	struct watch_state *w = arg;

	if (w->json) {
		printf("%s\n", line);
	} else {
		char ts[32] = "";
		long long t = json_top_num(line, "t");
		const char *p;
		unsigned live = 0, draining = 0;

		if (t > 0)
			clock_fmt_iso((uint64_t)t, ts, sizeof(ts));
		for (p = line; (p = strstr(p, "\"state\":\"")); p += 9) {
			live += strncmp(p + 9, "exited", 6) != 0;
			draining += strncmp(p + 9, "draining", 8) == 0;
		}
		printf("%s tick=%lld active_gen=%lld generations=%u draining=%u reloads=%lld "
		       "reloads_failed=%lld\n", ts, json_top_num(line, "tick"),
		       json_top_num(line, "active_gen"), live, draining,
		       json_top_num(line, "reloads"), json_top_num(line, "reloads_failed"));
	}
	fflush(stdout);
	return w->count > 0 && --w->count == 0;
}

int ctlclient_main(const char *sockpath, int argc, char **argv)
{
	struct sbuf req, out;
	char err[512];
	int json = 0, fd = -1, rc = 2, i;
	long count = -1;
	const char *cmd = argc > 0 ? argv[0] : "";
	unsigned timeout = CTLCLIENT_MS;

	sb_init(&req);
	sb_init(&out);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage_control(stdout);
			rc = 0;
			goto out;
		} else if (!strcmp(argv[i], "-n") && !strcmp(cmd, "watch") && i + 1 < argc) {
			count = strtol(argv[++i], NULL, 10);
			if (count <= 0)
				goto usage;
		} else if (argv[i][0] == '-') {
			goto usage;
		} else {
			sb_printf(&req, " %s", argv[i]);
		}
	}
	if (!strcmp(cmd, "status") || !strcmp(cmd, "reload") || !strcmp(cmd, "watch")) {
		if (req.len)
			goto usage;
	} else if (!strcmp(cmd, "show")) {
		if (strcmp(sb_cstr(&req), " generations") && strcmp(sb_cstr(&req), " listeners"))
			goto usage;
	} else if (!strcmp(cmd, "drain") || !strcmp(cmd, "kill")) {
		if (!req.len || strchr(req.p + 1, ' '))
			goto usage;
	} else {
		goto usage;
	}

	fd = ctlclient_connect(sockpath, err, sizeof(err));
	if (fd == -1) {
		fprintf(stderr, "proxyctl: %s\n", err);
		goto out;
	}
	if (!strcmp(cmd, "watch")) {
		struct watch_state w = { json, count };

		/* No tick for 30 s: proxysv is stuck or gone. */
		if (ctlclient_watch(fd, watch_print, &w, 30000, err, sizeof(err)) == -1) {
			fprintf(stderr, "proxyctl: watch: %s\n", err);
			goto out;
		}
		rc = 0;
		goto out;
	}
	{
		struct sbuf line;
		int server_json = json && (!strcmp(cmd, "status") || !strcmp(cmd, "show"));

		sb_init(&line);
		sb_printf(&line, "%s%s%s", cmd, sb_cstr(&req), server_json ? " --json" : "");
		if (!strcmp(cmd, "reload"))
			timeout = CTLCLIENT_RELOAD_MS;
		rc = ctlclient_request(fd, sb_cstr(&line), &out, timeout, err, sizeof(err));
		sb_free(&line);
	}
	if (rc == -1) {
		fprintf(stderr, "proxyctl: %s: %s\n", cmd, err);
		rc = 2;
		goto out;
	}
	if (json && !(rc == 0 && (!strcmp(cmd, "status") || !strcmp(cmd, "show")))) {
		/* Answers that are text on the socket, as one JSON object. */
		struct sbuf j;
		struct json jw;
		const char *a = sb_cstr(&out);

		sb_init(&j);
		json_init(&jw, &j);
		json_obj_open(&jw, NULL);
		json_bool(&jw, "ok", rc == 0);
		if (rc == 0 && !strcmp(cmd, "reload")) {
			const char *g = strstr(a, "gen="), *p = strstr(a, "pid="),
				   *m = strstr(a, "reload_ms=");

			if (g)
				json_int(&jw, "gen", strtoll(g + 4, NULL, 10));
			if (p)
				json_int(&jw, "pid", strtoll(p + 4, NULL, 10));
			if (m)
				json_double(&jw, "reload_ms", strtod(m + 10, NULL));
		}
		json_str(&jw, rc == 0 ? "message" : "error", rc == 0 ? a : a + 7);
		json_obj_close(&jw);
		printf("%s\n", sb_cstr(&j));
		sb_free(&j);
	} else if (rc == 0) {
		printf("%s\n", sb_cstr(&out));
	} else {
		fprintf(stderr, "proxyctl: %s\n", sb_cstr(&out) + 7);
	}
	goto out;
usage:
	usage_control(stderr);
	rc = 2;
out:
	if (fd != -1)
		close(fd);
	sb_free(&out);
	sb_free(&req);
	return rc;
}
