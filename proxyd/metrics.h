/* The Prometheus endpoint: `stats prometheus ADDR:PORT` in the global
 * section. A small HTTP/1.x server on the event loop: GET (or HEAD)
 * /metrics answers the text exposition format 0.0.4, anything else 404
 * (405 for other methods); every answer closes the connection. Sockets
 * are non-blocking, the answer is written with partial writes handled,
 * a client has 10 s to send its request and read the answer, at most
 * METRICS_MAX_CLIENTS are served at once and an answer larger than
 * METRICS_MAX_BODY is refused with 503 (the HTTP side is
 * proxyd/promhttp.h). See proxyd(8), METRICS. */
#ifndef PROXYD_METRICS_H
#define PROXYD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/sbuf.h"
#include "proxyd/cfg-t.h"

#define METRICS_MAX_CLIENTS 8
#define METRICS_MAX_BODY (64u << 20)

/* Opens the endpoint of c if one is configured (SO_REUSEADDR and
 * SO_REUSEPORT, so that the next generation can bind while this one
 * drains). Call after loop_init() and proxy_build(). 0, -1 with a message
 * in err. */
int metrics_start(const struct cfg *c, char *err, size_t errlen);
/* Closes the listening socket only (graceful stop); clients finish. */
void metrics_close_listener(void);
/* Closes everything. */
void metrics_stop(void);

/* Appends the whole exposition for the running proxies to out. now is
 * loop_now(). 0, -1 with a message in err. */
int metrics_render(struct sbuf *out, uint64_t now, char *err, size_t errlen);

/* Microseconds the last metrics_render() took (0 before the first). */
uint64_t metrics_last_render_us(void);

#endif
