/* proxysv's Prometheus endpoint: `stats prometheus ADDR:PORT` in the
 * supervisor section. The metric names are a contract (proxysv(8),
 * METRICS; the alert rules in examples/prometheus/ use them).
 *
 * A small HTTP/1.x server on proxysv's event loop: GET (or HEAD) /metrics
 * answers the text exposition format 0.0.4, any other path 404, any other
 * method 405; every answer closes the connection. Sockets are
 * non-blocking, partial writes are handled, a client has 10 s to send its
 * request and read the answer, at most SVM_MAX_CLIENTS are served at once
 * (more are closed at accept) and a request head is at most 4 KiB: the
 * tick never waits for a scraper (the HTTP side is proxyd/promhttp.h). */
#ifndef SUPERVISOR_SVMETRICS_H
#define SUPERVISOR_SVMETRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/sbuf.h"
#include "supervisor/act-t.h"
#include "supervisor/detect-t.h"

#define SVM_MAX_CLIENTS 8
#define SVM_NRESULTS (AR_RATE_LIMITED + 1)

struct svm_listener {
	const char *name;               /* the bind's name, or "ADDR:PORT" */
	uint64_t queue;                 /* ss Recv-Q */
	uint64_t backlog;               /* ss Send-Q */
	uint64_t sockets;               /* listening sockets on that address */
};

struct svm_half {
	const char *state;              /* "FIN-WAIT-2", ... */
	unsigned port;
	uint64_t n;
};

/* What one scrape shows; filled by proxysv at scrape time. */
struct svm_data {
	uint64_t gens_serving, gens_draining;
	int64_t current_gen;            /* 0: none serving */
	double current_gen_start_s;     /* epoch seconds, 0 when none */
	uint64_t reloads, reloads_failed, crashes;
	const struct svm_listener *lis;
	size_t nlis;
	const struct svm_half *half;
	size_t nhalf;
	uint64_t inc_open[DK_NKINDS];
	uint64_t inc_total[DK_NKINDS];
	/* Action decisions, [action][kind][result] for ACT_NKINDS actions;
	 * NULL: all 0. */
	const uint64_t (*actions)[DK_NKINDS][SVM_NRESULTS];
	double tick_s, tick_max_s;
	uint64_t ticks;
	uint64_t store_errors, store_dropped;
	double start_s;                 /* proxysv's start, epoch seconds */
};

/* Appends the whole exposition to out. 0, -1 with a message in err. */
int svmetrics_render(struct sbuf *out, const struct svm_data *d, char *err, size_t errlen);

/* Called for each scrape: appends the exposition to out (0), or -1 with
 * err. */
typedef int (*svm_render_fn)(struct sbuf *out, void *arg, char *err, size_t errlen);

/* Opens the endpoint on ss (after loop_init()). text names it in errors.
 * 0, -1 with a message in err. */
int svmetrics_start(const struct sockaddr_storage *ss, socklen_t sslen, const char *text,
		    svm_render_fn fn, void *arg, char *err, size_t errlen);
/* Closes the listening socket and every client. */
void svmetrics_stop(void);

#endif
