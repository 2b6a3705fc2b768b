/* Pools for the session layer, one per thread (every function acts on
 * the calling thread's; sess_pool_stats sums them, read it while the
 * other threads are isolated): sessions, HTTP states and copy buffers come from free
 * lists that grow in chunks and are only released at exit, so that no
 * malloc happens per session once the pools are warm; pipes (for splice)
 * are kept open in a bounded cache.
 *
 * Return conventions: getters return NULL (or -1) when the pool cannot
 * grow (ENOMEM, EMFILE, limit reached). */
#ifndef PROXYD_SESSION_POOL_H
#define PROXYD_SESSION_POOL_H

#include <stddef.h>

#include "proxyd/session-t.h"

/* Size of a copy buffer, and of the largest single read: tune.bufsize.
 * Set once with sess_pool_set_bufsize before any thread uses a pool;
 * read-only afterwards. */
#define SESS_BUFSIZE_DEF 16384
extern size_t sess_bufsize;
void sess_pool_set_bufsize(size_t n);

struct sess_buf {
	struct sess_buf *next;  /* free list link */
	char data[];            /* sess_bufsize bytes */
};

/* maxpipes: how many pipes may exist at once (0 disables splicing). */
void sess_pool_init(unsigned maxpipes);
/* Releases every chunk and closes cached pipes. Sessions still in use
 * become invalid. */
void sess_pool_free(void);

/* A zeroed session. */
struct session *sess_pool_get(void);
void sess_pool_put(struct session *s);

/* The HTTP state of a mode http session, zeroed. */
struct sess_http_io *sess_http_io_get(void);
void sess_http_io_put(struct sess_http_io *x);

struct sess_buf *sess_buf_get(void);
void sess_buf_put(struct sess_buf *b);

/* A non-blocking pipe in p[0] (read) and p[1] (write), 0, or -1. */
int sess_pipe_get(int p[2]);
/* Gives back an EMPTY pipe (for reuse); sess_pipe_close for a pipe that
 * may still hold data. */
void sess_pipe_put(int p[2]);
void sess_pipe_close(int p[2]);

/* Figures for show info / tests. */
struct sess_pool_stats {
	unsigned sess_alloc;    /* sessions allocated (free + used) */
	unsigned sess_used;
	unsigned buf_alloc;
	unsigned buf_used;
	unsigned http_alloc;    /* HTTP states (struct sess_http_io) */
	unsigned http_used;
	unsigned pipes_used;
	unsigned pipes_free;
	unsigned maxpipes;
};
void sess_pool_stats(struct sess_pool_stats *st);

#endif
