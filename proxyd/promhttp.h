/* The HTTP side of a Prometheus endpoint, shared by proxyd's and proxysv's:
 * a small HTTP/1.x server on the event loop of proxyd/loop.h. GET (or
 * HEAD) /metrics (a query string is ignored) answers what the render
 * callback appends, as the text exposition format 0.0.4; any other path
 * 404, any other method 405, a request line that does not parse 400, a
 * request head over 4 KiB 431, a failed rendering 500 and, when a body
 * limit is set, a larger answer 503. Every answer closes the connection.
 *
 * Sockets are non-blocking and partial writes are handled; a client has
 * PROMHTTP_CLIENT_TIMEOUT_MS to send its request and read the answer; at
 * most max_clients are served at once (more are closed at accept); when
 * accept runs out of descriptors the listener pauses for 100 ms rather
 * than spin. Nothing here blocks the loop. A failed rendering is logged
 * (common/log.h, event=prometheus_scrape). */
#ifndef PROXYD_PROMHTTP_H
#define PROXYD_PROMHTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/sbuf.h"

#define PROMHTTP_CLIENT_TIMEOUT_MS 10000

/* Called for each scrape with an empty out: appends the exposition to out
 * and returns 0, or returns -1 with a message in err. Runs on the loop. */
typedef int (*promhttp_render_fn)(struct sbuf *out, void *arg, char *err, size_t errlen);

struct promhttp_conf {
	const struct sockaddr_storage *addr;
	socklen_t addrlen;
	const char *text;               /* names the endpoint in errors */
	int reuseport;                  /* 1: SO_REUSEPORT as well as SO_REUSEADDR */
	unsigned max_clients;
	size_t max_body;                /* 0: no limit; larger answers get 503 */
	promhttp_render_fn render;
	void *arg;                      /* passed to render */
};

struct promhttp;

/* Opens the listening socket and registers it with the loop (after
 * loop_init()). conf is copied (conf->text is used by this call only);
 * conf->arg must outlive the endpoint. Returns the endpoint, or NULL with
 * "stats prometheus TEXT: <reason>" in err. */
struct promhttp *promhttp_start(const struct promhttp_conf *conf, char *err, size_t errlen);
/* Closes the listening socket only (a graceful stop): clients being served
 * finish. A no-op when h is NULL or already closed. */
void promhttp_close_listener(struct promhttp *h);
/* Closes the listening socket and every client, and frees h (NULL: no-op). */
void promhttp_stop(struct promhttp *h);

#endif
