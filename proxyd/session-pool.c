#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxyd/session-pool.h"

#define SESS_CHUNK 64
#define BUF_CHUNK_BYTES (256 * 1024)     /* buffers allocated at once */
#define HTTP_CHUNK 32
#define PIPE_CACHE 256
#ifndef SESS_PIPE_SIZE
#define SESS_PIPE_SIZE (256 * 1024)
#endif

/* A chunk of objects; chunks are chained for release at exit. */
struct chunk {
	struct chunk *next;
	max_align_t align[];
};

/* Free sessions are chained through their first bytes. */
struct free_sess {
	struct free_sess *next;
};

/* One pool per thread; `all` lists them for sess_pool_stats. */
struct pool {
	struct chunk *chunks;
	struct free_sess *free_sess;
	struct sess_buf *free_buf;
	struct sess_http_io *free_http;
	unsigned sess_alloc, sess_used;
	unsigned http_alloc, http_used;
	unsigned buf_alloc, buf_used;
	int pipes[PIPE_CACHE][2];
	unsigned npipes;        /* cached (empty, open) */
	unsigned pipes_used;
	unsigned maxpipes;
	int registered;
};

static __thread struct pool P;

size_t sess_bufsize = SESS_BUFSIZE_DEF;

void sess_pool_set_bufsize(size_t n)
{
	sess_bufsize = n ? n : SESS_BUFSIZE_DEF;
}

/* Bytes from one object to the next in a chunk: n rounded up so that
 * every object stays aligned. */
static size_t stride_of(size_t n)
{
	return (n + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
}

#define POOLS_MAX 64
static struct {
	pthread_mutex_t mtx;
	struct pool *all[POOLS_MAX];
} R = { .mtx = PTHREAD_MUTEX_INITIALIZER };

void sess_pool_init(unsigned maxpipes)
{
	unsigned i;

	P.maxpipes = maxpipes;
	pthread_mutex_lock(&R.mtx);
	for (i = 0; i < POOLS_MAX && !P.registered; i++)
		if (!R.all[i]) {
			R.all[i] = &P;
			P.registered = 1;
		}
	pthread_mutex_unlock(&R.mtx);
}

void sess_pool_free(void)
{
	struct chunk *c, *n;
	unsigned i;

	for (c = P.chunks; c; c = n) {
		n = c->next;
		free(c);
	}
	for (i = 0; i < P.npipes; i++) {
		close(P.pipes[i][0]);
		close(P.pipes[i][1]);
	}
	pthread_mutex_lock(&R.mtx);
	for (i = 0; i < POOLS_MAX; i++)
		if (R.all[i] == &P)
			R.all[i] = NULL;
	pthread_mutex_unlock(&R.mtx);
	memset(&P, 0, sizeof(P));
}

static void *chunk_new(size_t objsize, unsigned n)
{
	struct chunk *c = malloc(sizeof(*c) + objsize * n);

	if (!c)
		return NULL;
	c->next = P.chunks;
	P.chunks = c;
	return c->align;
}

struct session *sess_pool_get(void)
{
	struct free_sess *f;

	if (!P.free_sess) {
		size_t sz = stride_of(sizeof(struct session));
		char *base = chunk_new(sz, SESS_CHUNK);
		unsigned i;

		if (!base)
			return NULL;
		for (i = 0; i < SESS_CHUNK; i++) {
			f = (struct free_sess *)(void *)(base + i * sz);
			f->next = P.free_sess;
			P.free_sess = f;
		}
		P.sess_alloc += SESS_CHUNK;
	}
	f = P.free_sess;
	P.free_sess = f->next;
	P.sess_used++;
	memset(f, 0, sizeof(struct session));
	return (struct session *)(void *)f;
}

void sess_pool_put(struct session *s)
{
	struct free_sess *f = (struct free_sess *)(void *)s;

	f->next = P.free_sess;
	P.free_sess = f;
	P.sess_used--;
}

struct sess_http_io *sess_http_io_get(void)
{
	struct sess_http_io *x;

	if (!P.free_http) {
		struct sess_http_io *base = chunk_new(sizeof(*base), HTTP_CHUNK);
		unsigned i;

		if (!base)
			return NULL;
		for (i = 0; i < HTTP_CHUNK; i++) {
			base[i].next = P.free_http;
			P.free_http = &base[i];
		}
		P.http_alloc += HTTP_CHUNK;
	}
	x = P.free_http;
	P.free_http = x->next;
	P.http_used++;
	memset(x, 0, sizeof(*x));
	return x;
}

void sess_http_io_put(struct sess_http_io *x)
{
	x->next = P.free_http;
	P.free_http = x;
	P.http_used--;
}

struct sess_buf *sess_buf_get(void)
{
	struct sess_buf *b;

	if (!P.free_buf) {
		size_t stride = stride_of(sizeof(struct sess_buf) + sess_bufsize);
		unsigned i, n = (unsigned)(BUF_CHUNK_BYTES / stride);
		char *base;

		if (n == 0)
			n = 1;
		base = chunk_new(stride, n);
		if (!base)
			return NULL;
		for (i = 0; i < n; i++) {
			b = (struct sess_buf *)(void *)(base + i * stride);
			b->next = P.free_buf;
			P.free_buf = b;
		}
		P.buf_alloc += n;
	}
	b = P.free_buf;
	P.free_buf = b->next;
	P.buf_used++;
	return b;
}

void sess_buf_put(struct sess_buf *b)
{
	b->next = P.free_buf;
	P.free_buf = b;
	P.buf_used--;
}

int sess_pipe_get(int p[2])
{
	if (P.npipes > 0) {
		P.npipes--;
		p[0] = P.pipes[P.npipes][0];
		p[1] = P.pipes[P.npipes][1];
		P.pipes_used++;
		return 0;
	}
	if (P.pipes_used >= P.maxpipes) {
		errno = ENOSPC;
		return -1;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	/* A larger pipe moves more per splice pair; when the kernel refuses
	 * (per-user pipe memory limits) the default size is kept. */
	(void)fcntl(p[1], F_SETPIPE_SZ, SESS_PIPE_SIZE);
	P.pipes_used++;
	return 0;
}

void sess_pipe_put(int p[2])
{
	P.pipes_used--;
	if (P.npipes < PIPE_CACHE) {
		P.pipes[P.npipes][0] = p[0];
		P.pipes[P.npipes][1] = p[1];
		P.npipes++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = -1;
	p[1] = -1;
}

void sess_pipe_close(int p[2])
{
	P.pipes_used--;
	close(p[0]);
	close(p[1]);
	p[0] = -1;
	p[1] = -1;
}

void sess_pool_stats(struct sess_pool_stats *st)
{
	unsigned i;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&R.mtx);
	for (i = 0; i < POOLS_MAX; i++) {
		const struct pool *p = R.all[i];

		if (!p)
			continue;
		st->sess_alloc += p->sess_alloc;
		st->sess_used += p->sess_used;
		st->buf_alloc += p->buf_alloc;
		st->buf_used += p->buf_used;
		st->http_alloc += p->http_alloc;
		st->http_used += p->http_used;
		st->pipes_used += p->pipes_used;
		st->pipes_free += p->npipes;
		st->maxpipes += p->maxpipes;
	}
	pthread_mutex_unlock(&R.mtx);
}
