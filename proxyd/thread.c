#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "proxyd/cfg-t.h"
#include "proxyd/loop.h"
#include "proxyd/thread.h"

unsigned thread_count = 1;
__thread unsigned thread_id;

struct mailbox {
	pthread_mutex_t mtx;
	struct thread_msg *q;   /* posted, not yet taken */
	size_t len, cap;
	int kicked;             /* the eventfd was written since the last take */
	int efd;
	struct loop_fd lfd;     /* registered in the owner's loop */
	pthread_t tid;
	int started;
};

static struct {
	struct mailbox *mb;
	unsigned n;
	const struct thread_hooks *hooks;
	/* thread_start: how many inits finished, and whether one failed */
	pthread_mutex_t start_mtx;
	pthread_cond_t start_cv;
	unsigned started;
	int start_failed;
	/* isolation */
	pthread_mutex_t iso_mtx;
	pthread_cond_t iso_cv;
	int iso_want;           /* read without the lock to decide to park */
	unsigned iso_parked;
	unsigned iso_depth;     /* thread 0's nesting */
} T = {
	.start_mtx = PTHREAD_MUTEX_INITIALIZER,
	.start_cv = PTHREAD_COND_INITIALIZER,
	.iso_mtx = PTHREAD_MUTEX_INITIALIZER,
	.iso_cv = PTHREAD_COND_INITIALIZER,
};

/* ---- isolation ---------------------------------------------------------- */

/* A thread other than 0 parks here while thread 0 is isolated. */
static void iso_park(void)
{
	if (!__atomic_load_n(&T.iso_want, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&T.iso_mtx);
	T.iso_parked++;
	pthread_cond_broadcast(&T.iso_cv);
	while (T.iso_want)
		pthread_cond_wait(&T.iso_cv, &T.iso_mtx);
	T.iso_parked--;
	pthread_mutex_unlock(&T.iso_mtx);
}

static void mb_kick(struct mailbox *mb)
{
	uint64_t one = 1;

	while (write(mb->efd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
	/* EAGAIN: the counter is at its maximum, the owner will wake anyway. */
}

void thread_isolate(void)
{
	unsigned i;

	if (thread_count == 1 || T.iso_depth++ > 0)
		return;
	pthread_mutex_lock(&T.iso_mtx);
	__atomic_store_n(&T.iso_want, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&T.iso_mtx);
	for (i = 1; i < T.n; i++)
		mb_kick(&T.mb[i]);
	pthread_mutex_lock(&T.iso_mtx);
	while (T.iso_parked < T.n - 1)
		pthread_cond_wait(&T.iso_cv, &T.iso_mtx);
	pthread_mutex_unlock(&T.iso_mtx);
}

void thread_release(void)
{
	if (thread_count == 1 || --T.iso_depth > 0)
		return;
	pthread_mutex_lock(&T.iso_mtx);
	__atomic_store_n(&T.iso_want, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&T.iso_cv);
	pthread_mutex_unlock(&T.iso_mtx);
}

/* ---- mailboxes ---------------------------------------------------------- */

static void mb_run(struct loop_fd *lf, uint32_t ev)
{
	struct mailbox *mb = lf->arg;
	struct thread_msg *q;
	uint64_t v;
	size_t len, i;

	(void)ev;
	if (read(mb->efd, &v, sizeof(v)) == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("event=mailbox_read thread=%u", thread_id);
	if (thread_id != 0)
		iso_park();
	pthread_mutex_lock(&mb->mtx);
	q = mb->q;
	len = mb->len;
	mb->q = NULL;
	mb->len = 0;
	mb->cap = 0;
	mb->kicked = 0;
	pthread_mutex_unlock(&mb->mtx);
	for (i = 0; i < len; i++)
		q[i].fn(&q[i]);
	free(q);
}

int thread_send(unsigned tid, const struct thread_msg *m)
{
	struct mailbox *mb = &T.mb[tid];
	int kick = 0;

	pthread_mutex_lock(&mb->mtx);
	if (mb->len == mb->cap) {
		size_t ncap = mb->cap ? mb->cap * 2 : 16;
		struct thread_msg *nq = realloc(mb->q, ncap * sizeof(*nq));

		if (!nq) {
			pthread_mutex_unlock(&mb->mtx);
			errno = ENOMEM;
			return -1;
		}
		mb->q = nq;
		mb->cap = ncap;
	}
	mb->q[mb->len++] = *m;
	if (!mb->kicked) {
		mb->kicked = 1;
		kick = 1;
	}
	pthread_mutex_unlock(&mb->mtx);
	if (kick)
		mb_kick(mb);
	return 0;
}

unsigned thread_send_others(const struct thread_msg *m)
{
	unsigned i, failed = 0;

	for (i = 0; i < T.n; i++)
		if (i != thread_id && thread_send(i, m) == -1)
			failed++;
	return failed;
}

static int mb_register(struct mailbox *mb)
{
	loop_fd_init(&mb->lfd, mb->efd, mb_run, mb);
	return loop_fd_add(&mb->lfd, LOOP_IN);
}

/* Before each sleep of threads other than 0: park when asked. */
static void park_hook(void *arg)
{
	(void)arg;
	iso_park();
}

int thread_setup(unsigned n)
{
	unsigned i;

	if (n < 1 || n > CFG_MAX_THREADS) {
		errno = EINVAL;
		return -1;
	}
	T.mb = calloc(n, sizeof(*T.mb));
	if (!T.mb)
		return -1;
	T.n = n;
	for (i = 0; i < n; i++) {
		pthread_mutex_init(&T.mb[i].mtx, NULL);
		T.mb[i].efd = -1;
	}
	for (i = 0; i < n; i++) {
		T.mb[i].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (T.mb[i].efd == -1) {
			int e = errno;

			thread_free();
			errno = e;
			return -1;
		}
	}
	thread_count = n;
	thread_id = 0;
	if (mb_register(&T.mb[0]) == -1) {
		int e = errno;

		thread_free();
		errno = e;
		return -1;
	}
	return 0;
}

static void start_done(int failed)
{
	pthread_mutex_lock(&T.start_mtx);
	T.started++;
	if (failed)
		T.start_failed = 1;
	pthread_cond_broadcast(&T.start_cv);
	pthread_mutex_unlock(&T.start_mtx);
}

static void *thread_main(void *arg)
{
	unsigned tid = (unsigned)(uintptr_t)arg;
	int failed = 0;

	thread_id = tid;
	if (loop_init() == -1) {
		log_warn("event=thread_start thread=%u step=loop_init", tid);
		start_done(1);
		return NULL;
	}
	if (mb_register(&T.mb[tid]) == -1 || loop_hook_add(park_hook, NULL) == -1) {
		log_warn("event=thread_start thread=%u step=mailbox", tid);
		failed = 1;
	} else if (T.hooks->init && T.hooks->init() == -1) {
		log_warnx("event=thread_start thread=%u step=init", tid);
		failed = 1;
	}
	start_done(failed);
	if (!failed && loop_run() == -1)
		log_warn("event=loop_run thread=%u", tid);
	if (!failed && T.hooks->fini)
		T.hooks->fini();
	loop_fd_del(&T.mb[tid].lfd);
	loop_free();
	return NULL;
}

static void stop_cb(struct thread_msg *m)
{
	(void)m;
	loop_stop();
}

int thread_start(const struct thread_hooks *hooks)
{
	unsigned i;
	int err;

	T.hooks = hooks;
	T.started = 0;
	T.start_failed = 0;
	for (i = 1; i < T.n; i++) {
		err = pthread_create(&T.mb[i].tid, NULL, thread_main, (void *)(uintptr_t)i);
		if (err) {
			errno = err;
			T.start_failed = 1;
			break;
		}
		T.mb[i].started = 1;
		pthread_mutex_lock(&T.start_mtx);
		while (T.started < i && !T.start_failed)
			pthread_cond_wait(&T.start_cv, &T.start_mtx);
		pthread_mutex_unlock(&T.start_mtx);
		if (T.start_failed)
			break;
	}
	if (T.start_failed) {
		err = errno;
		thread_stop_join();
		errno = err ? err : EAGAIN;
		return -1;
	}
	return 0;
}

void thread_stop_join(void)
{
	struct thread_msg m = { .fn = stop_cb };
	unsigned i;

	for (i = 1; i < T.n; i++) {
		if (!T.mb[i].started)
			continue;
		if (thread_send(i, &m) == -1)
			log_warn("event=thread_stop thread=%u", i);
		pthread_join(T.mb[i].tid, NULL);
		T.mb[i].started = 0;
	}
}

void thread_free(void)
{
	unsigned i;

	if (!T.mb)
		return;
	if (T.mb[0].lfd.registered)
		loop_fd_del(&T.mb[0].lfd);
	for (i = 0; i < T.n; i++) {
		if (T.mb[i].efd != -1)
			close(T.mb[i].efd);
		free(T.mb[i].q);
		pthread_mutex_destroy(&T.mb[i].mtx);
	}
	free(T.mb);
	T.mb = NULL;
	T.n = 0;
	thread_count = 1;
}

unsigned thread_pick(const unsigned *counts, unsigned n, unsigned *rr)
{
	unsigned i, best = *rr % n;

	for (i = 1; i < n; i++) {
		unsigned t = (*rr + i) % n;

		if (counts[t] < counts[best])
			best = t;
	}
	*rr = best + 1;
	return best;
}
