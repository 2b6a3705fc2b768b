#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "proxyd/loop.h"

_Static_assert(LOOP_IN == EPOLLIN, "LOOP_IN");
_Static_assert(LOOP_OUT == EPOLLOUT, "LOOP_OUT");
_Static_assert(LOOP_ERR == EPOLLERR, "LOOP_ERR");
_Static_assert(LOOP_HUP == EPOLLHUP, "LOOP_HUP");
_Static_assert(LOOP_RDHUP == EPOLLRDHUP, "LOOP_RDHUP");
_Static_assert(LOOP_EDGE == EPOLLET, "LOOP_EDGE");

#define LOOP_BATCH 256
#define LOOP_HOOKS 8
#define LOOP_NSIG 65

struct loop_hook {
	loop_hook_cb cb;
	void *arg;
};

struct loop_sig {
	loop_signal_cb cb;
	void *arg;
};

/* Each thread has its own loop (proxyd/thread.h). */
static __thread struct {
	int epfd;
	int running;
	int stop_pending;       /* loop_stop() called: the next wait must not block */
	uint64_t now;
	uint64_t now_real;
	/* Timer heap: heap[0..len-1], ordered by (expire, seq). */
	struct loop_timer **heap;
	uint32_t len;
	uint32_t cap;
	uint64_t seq;
	/* Events of the current round; loop_fd_del clears entries after cur. */
	struct epoll_event ev[LOOP_BATCH];
	int nev;
	int cur;
	struct loop_hook hooks[LOOP_HOOKS];
	unsigned nhooks;
	int sigfd;
	sigset_t sigmask;
	struct loop_fd sigfd_reg;
	struct loop_sig sigs[LOOP_NSIG];
} L = { .epfd = -1, .sigfd = -1 };

static uint64_t loop_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void loop_now_update(void)
{
	L.now = loop_clock_ms(CLOCK_MONOTONIC);
	L.now_real = loop_clock_ms(CLOCK_REALTIME);
}

uint64_t loop_now(void)
{
	return L.now;
}

uint64_t loop_now_real(void)
{
	return L.now_real;
}

int loop_init(void)
{
	L.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (L.epfd == -1)
		return -1;
	L.running = 0;
	L.stop_pending = 0;
	L.len = 0;
	L.seq = 0;
	L.nev = 0;
	L.cur = 0;
	L.nhooks = 0;
	L.sigfd = -1;
	sigemptyset(&L.sigmask);
	memset(L.sigs, 0, sizeof(L.sigs));
	loop_now_update();
	return 0;
}

void loop_free(void)
{
	uint32_t i;

	for (i = 0; i < L.len; i++)
		L.heap[i]->idx = 0;
	free(L.heap);
	L.heap = NULL;
	L.len = 0;
	L.cap = 0;
	if (L.sigfd != -1) {
		sigprocmask(SIG_UNBLOCK, &L.sigmask, NULL);
		close(L.sigfd);
		L.sigfd = -1;
	}
	if (L.epfd != -1) {
		close(L.epfd);
		L.epfd = -1;
	}
	L.nev = 0;
	L.nhooks = 0;
}

/* --- fds --- */

void loop_fd_init(struct loop_fd *lf, int fd, loop_fd_cb cb, void *arg)
{
	lf->fd = fd;
	lf->events = 0;
	lf->registered = 0;
	lf->cb = cb;
	lf->arg = arg;
}

static int loop_ctl(struct loop_fd *lf, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = lf };

	return epoll_ctl(L.epfd, op, lf->fd, &ev);
}

int loop_fd_add(struct loop_fd *lf, uint32_t events)
{
	if (lf->registered) {
		errno = EEXIST;
		return -1;
	}
	if (loop_ctl(lf, EPOLL_CTL_ADD, events) == -1)
		return -1;
	lf->events = events;
	lf->registered = 1;
	return 0;
}

int loop_fd_mod(struct loop_fd *lf, uint32_t events)
{
	if (!lf->registered) {
		errno = ENOENT;
		return -1;
	}
	if (lf->events == events)
		return 0;
	if (loop_ctl(lf, EPOLL_CTL_MOD, events) == -1)
		return -1;
	lf->events = events;
	return 0;
}

static void loop_fd_unlink(struct loop_fd *lf)
{
	int i;

	lf->registered = 0;
	lf->events = 0;
	for (i = L.cur + 1; i < L.nev; i++)
		if (L.ev[i].data.ptr == lf)
			L.ev[i].data.ptr = NULL;
}

void loop_fd_del(struct loop_fd *lf)
{
	if (!lf->registered)
		return;
	/* Fails only if the fd was closed already, which removed it anyway. */
	(void)epoll_ctl(L.epfd, EPOLL_CTL_DEL, lf->fd, NULL);
	loop_fd_unlink(lf);
}

void loop_fd_forget(struct loop_fd *lf)
{
	if (lf->registered)
		loop_fd_unlink(lf);
}

/* --- timers --- */

static int timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->expire < b->expire || (a->expire == b->expire && a->seq < b->seq);
}

static void heap_set(uint32_t i, struct loop_timer *t)
{
	L.heap[i] = t;
	t->idx = i + 1;
}

static void heap_up(uint32_t i)
{
	struct loop_timer *t = L.heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (!timer_before(t, L.heap[p]))
			break;
		heap_set(i, L.heap[p]);
		i = p;
	}
	heap_set(i, t);
}

static void heap_down(uint32_t i)
{
	struct loop_timer *t = L.heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= L.len)
			break;
		if (c + 1 < L.len && timer_before(L.heap[c + 1], L.heap[c]))
			c++;
		if (!timer_before(L.heap[c], t))
			break;
		heap_set(i, L.heap[c]);
		i = c;
	}
	heap_set(i, t);
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg)
{
	t->expire = 0;
	t->seq = 0;
	t->idx = 0;
	t->cb = cb;
	t->arg = arg;
}

int loop_timer_arm(struct loop_timer *t, uint64_t expire)
{
	if (t->idx) {
		uint64_t old = t->expire;

		t->expire = expire;
		t->seq = L.seq++;
		if (expire < old)
			heap_up(t->idx - 1);
		else
			heap_down(t->idx - 1);
		return 0;
	}
	if (L.len == L.cap) {
		uint32_t ncap = L.cap ? L.cap * 2 : 256;
		struct loop_timer **nh = realloc(L.heap, ncap * sizeof(*nh));

		if (!nh) {
			errno = ENOMEM;
			return -1;
		}
		L.heap = nh;
		L.cap = ncap;
	}
	t->expire = expire;
	t->seq = L.seq++;
	L.heap[L.len] = t;
	t->idx = ++L.len;
	heap_up(L.len - 1);
	return 0;
}

int loop_timer_arm_in(struct loop_timer *t, uint64_t ms)
{
	return loop_timer_arm(t, L.now + ms);
}

void loop_timer_cancel(struct loop_timer *t)
{
	uint32_t i;
	struct loop_timer *last;

	if (!t->idx)
		return;
	i = t->idx - 1;
	t->idx = 0;
	last = L.heap[--L.len];
	if (i == L.len)
		return;
	heap_set(i, last);
	if (i > 0 && timer_before(last, L.heap[(i - 1) / 2]))
		heap_up(i);
	else
		heap_down(i);
}

int loop_timer_armed(const struct loop_timer *t)
{
	return t->idx != 0;
}

unsigned loop_timer_count(void)
{
	return L.len;
}

/* Runs the timers due at L.now. A callback that re-arms its timer at or
 * before now runs again in the next round, not in this one, so that a
 * misbehaving timer cannot starve fd events. */
static int loop_timers_run(void)
{
	uint64_t limit = L.seq;
	int n = 0;

	while (L.len > 0) {
		struct loop_timer *t = L.heap[0];

		if (t->expire > L.now || t->seq >= limit)
			break;
		loop_timer_cancel(t);
		t->cb(t);
		n++;
	}
	return n;
}

/* --- hooks and signals --- */

int loop_hook_add(loop_hook_cb cb, void *arg)
{
	if (L.nhooks == LOOP_HOOKS) {
		errno = ENOSPC;
		return -1;
	}
	L.hooks[L.nhooks].cb = cb;
	L.hooks[L.nhooks].arg = arg;
	L.nhooks++;
	return 0;
}

static void loop_sigfd_read(struct loop_fd *lf, uint32_t events)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	for (;;) {
		n = read(lf->fd, si, sizeof(si));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			unsigned signo = si[i].ssi_signo;

			if (signo < LOOP_NSIG && L.sigs[signo].cb)
				L.sigs[signo].cb((int)signo, L.sigs[signo].arg);
		}
		if ((size_t)n < sizeof(si))
			return;
	}
}

int loop_signal(int signo, loop_signal_cb cb, void *arg)
{
	sigset_t one;
	int fd;

	if (signo <= 0 || signo >= LOOP_NSIG) {
		errno = EINVAL;
		return -1;
	}
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) == -1)
		return -1;
	sigaddset(&L.sigmask, signo);
	fd = signalfd(L.sigfd, &L.sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		return -1;
	if (L.sigfd == -1) {
		L.sigfd = fd;
		loop_fd_init(&L.sigfd_reg, fd, loop_sigfd_read, NULL);
		if (loop_fd_add(&L.sigfd_reg, LOOP_IN) == -1) {
			int e = errno;

			close(fd);
			L.sigfd = -1;
			errno = e;
			return -1;
		}
	}
	L.sigs[signo].cb = cb;
	L.sigs[signo].arg = arg;
	return 0;
}

/* --- running --- */

static int loop_wait_ms(int max_wait_ms)
{
	uint64_t until;
	int ms;

	if (L.stop_pending)
		return 0;
	if (L.len == 0)
		return max_wait_ms;
	until = L.heap[0]->expire;
	if (until <= L.now)
		return 0;
	/* Both the cached clock and epoll's timeout are whole ms truncated
	 * down and rounded up respectively, so no wakeup comes early. */
	ms = until - L.now > 86400000u ? 86400000 : (int)(until - L.now);
	if (max_wait_ms >= 0 && max_wait_ms < ms)
		return max_wait_ms;
	return ms;
}

int loop_run_once(int max_wait_ms)
{
	unsigned h;
	int n, ran = 0;

	for (h = 0; h < L.nhooks; h++)
		L.hooks[h].cb(L.hooks[h].arg);
	loop_now_update();
	n = epoll_wait(L.epfd, L.ev, LOOP_BATCH, loop_wait_ms(max_wait_ms));
	if (n == -1 && errno != EINTR)
		return -1;
	loop_now_update();
	if (n > 0) {
		L.nev = n;
		for (L.cur = 0; L.cur < L.nev; L.cur++) {
			struct loop_fd *lf = L.ev[L.cur].data.ptr;

			if (!lf)
				continue;
			lf->cb(lf, L.ev[L.cur].events);
			ran++;
		}
		L.nev = 0;
		L.cur = 0;
	}
	ran += loop_timers_run();
	return ran;
}

int loop_run(void)
{
	L.running = 1;
	L.stop_pending = 0;
	while (L.running)
		if (loop_run_once(-1) == -1)
			return -1;
	return 0;
}

void loop_stop(void)
{
	L.running = 0;
	L.stop_pending = 1;
}
