#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxyd/loop.h"

/* Records the order in which timers fire. */
static int fired[64];
static int nfired;

static void timer_record(struct loop_timer *t)
{
	if (nfired < 64)
		fired[nfired++] = (int)(intptr_t)t->arg;
}

static int setup(void **state)
{
	nfired = 0;
	return loop_init() == -1 ? -1 : 0;
}

static int teardown(void **state)
{
	loop_free();
	return 0;
}

/* Runs rounds until cond() or deadline_ms of wall time have passed. */
static void run_until(int (*cond)(void), uint64_t deadline_ms)
{
	uint64_t end;

	loop_now_update();
	end = loop_now() + deadline_ms;
	while (!cond() && loop_now() < end)
		assert_int_not_equal(loop_run_once(10), -1);
}

static int want_fired;

static int enough_fired(void)
{
	return nfired >= want_fired;
}

static void test_timer_order(void **state)
{
	struct loop_timer t[6];
	static const int delay[6] = { 50, 10, 30, 10, 0, 20 };
	static const int expect[6] = { 4, 1, 3, 5, 2, 0 };
	uint64_t base = loop_now();
	int i;

	for (i = 0; i < 6; i++) {
		loop_timer_init(&t[i], timer_record, (void *)(intptr_t)i);
		assert_int_equal(loop_timer_arm(&t[i], base + (uint64_t)delay[i]), 0);
	}
	assert_int_equal(loop_timer_count(), 6);
	want_fired = 6;
	run_until(enough_fired, 2000);
	assert_int_equal(nfired, 6);
	/* Equal expiries (1 and 3 at +10) fire in arming order. */
	for (i = 0; i < 6; i++)
		assert_int_equal(fired[i], expect[i]);
	assert_int_equal(loop_timer_count(), 0);
	for (i = 0; i < 6; i++)
		assert_false(loop_timer_armed(&t[i]));
}

static void test_timer_not_early(void **state)
{
	struct loop_timer t;
	uint64_t start;

	loop_timer_init(&t, timer_record, (void *)(intptr_t)7);
	loop_now_update();
	start = loop_now();
	assert_int_equal(loop_timer_arm_in(&t, 30), 0);
	want_fired = 1;
	run_until(enough_fired, 2000);
	assert_int_equal(nfired, 1);
	assert_true(loop_now() >= start + 30);
}

static void test_timer_cancel(void **state)
{
	struct loop_timer t[5];
	int i;

	for (i = 0; i < 5; i++) {
		loop_timer_init(&t[i], timer_record, (void *)(intptr_t)i);
		assert_int_equal(loop_timer_arm_in(&t[i], (uint64_t)(5 + i)), 0);
	}
	loop_timer_cancel(&t[0]);      /* the root */
	loop_timer_cancel(&t[3]);      /* an inner node */
	loop_timer_cancel(&t[3]);      /* twice: a no-op */
	assert_false(loop_timer_armed(&t[0]));
	assert_true(loop_timer_armed(&t[1]));
	assert_int_equal(loop_timer_count(), 3);
	want_fired = 3;
	run_until(enough_fired, 2000);
	/* Give a cancelled timer the chance to fire if it were still there. */
	loop_run_once(20);
	assert_int_equal(nfired, 3);
	assert_int_equal(fired[0], 1);
	assert_int_equal(fired[1], 2);
	assert_int_equal(fired[2], 4);
}

static void test_timer_rearm(void **state)
{
	struct loop_timer a, b, c;
	uint64_t base = loop_now();

	loop_timer_init(&a, timer_record, (void *)(intptr_t)0);
	loop_timer_init(&b, timer_record, (void *)(intptr_t)1);
	loop_timer_init(&c, timer_record, (void *)(intptr_t)2);
	assert_int_equal(loop_timer_arm(&a, base + 10), 0);
	assert_int_equal(loop_timer_arm(&b, base + 20), 0);
	assert_int_equal(loop_timer_arm(&c, base + 30), 0);
	/* a later, c earlier: order becomes c, b, a; count unchanged. */
	assert_int_equal(loop_timer_arm(&a, base + 40), 0);
	assert_int_equal(loop_timer_arm(&c, base + 5), 0);
	assert_int_equal(loop_timer_count(), 3);
	want_fired = 3;
	run_until(enough_fired, 2000);
	assert_int_equal(nfired, 3);
	assert_int_equal(fired[0], 2);
	assert_int_equal(fired[1], 1);
	assert_int_equal(fired[2], 0);
}

/* A periodic timer re-arms itself from its callback. */
static int periodic_runs;

static void timer_periodic(struct loop_timer *t)
{
	if (++periodic_runs < 5)
		assert_int_equal(loop_timer_arm_in(t, 2), 0);
}

static int periodic_done(void)
{
	return periodic_runs >= 5;
}

static void test_timer_rearm_from_callback(void **state)
{
	struct loop_timer t;

	periodic_runs = 0;
	loop_timer_init(&t, timer_periodic, NULL);
	assert_int_equal(loop_timer_arm_in(&t, 0), 0);
	run_until(periodic_done, 2000);
	assert_int_equal(periodic_runs, 5);
	assert_false(loop_timer_armed(&t));
}

/* A timer re-armed in the past from its own callback runs at most once per
 * round, so it cannot starve the loop. */
static int starve_runs;

static void timer_starve(struct loop_timer *t)
{
	starve_runs++;
	assert_int_equal(loop_timer_arm(t, 0), 0);
}

static void test_timer_no_starvation(void **state)
{
	struct loop_timer t;

	starve_runs = 0;
	loop_timer_init(&t, timer_starve, NULL);
	assert_int_equal(loop_timer_arm(&t, 0), 0);
	assert_int_equal(loop_run_once(0), 1);
	assert_int_equal(starve_runs, 1);
	assert_int_equal(loop_run_once(0), 1);
	assert_int_equal(starve_runs, 2);
	loop_timer_cancel(&t);
}

/* Many timers with pseudo-random expiries fire in non-decreasing order,
 * with random cancels and moves along the way (heap invariants). */
static uint64_t last_expire;
static int order_ok = 1;
static int order_fired;

static void timer_check_order(struct loop_timer *t)
{
	if (t->expire < last_expire)
		order_ok = 0;
	last_expire = t->expire;
	order_fired++;
}

static void test_timer_heap_random(void **state)
{
	enum { N = 2000 };
	struct loop_timer *t = calloc(N, sizeof(*t));
	unsigned seed = 12345, expect = N;
	int i;

	assert_non_null(t);
	for (i = 0; i < N; i++) {
		loop_timer_init(&t[i], timer_check_order, NULL);
		seed = seed * 1103515245u + 12345u;
		assert_int_equal(loop_timer_arm(&t[i], (seed >> 8) % 5000), 0);
	}
	for (i = 0; i < N; i += 3) {
		seed = seed * 1103515245u + 12345u;
		if (seed & 0x100) {
			loop_timer_cancel(&t[i]);
			expect--;
		} else {
			assert_int_equal(loop_timer_arm(&t[i], (seed >> 8) % 5000), 0);
		}
	}
	assert_int_equal(loop_timer_count(), expect);
	/* All expiries are in the past (absolute ms < 5000): one round. */
	last_expire = 0;
	order_ok = 1;
	order_fired = 0;
	loop_run_once(0);
	assert_int_equal(order_fired, (int)expect);
	assert_true(order_ok);
	assert_int_equal(loop_timer_count(), 0);
	free(t);
}

/* --- fds --- */

static uint32_t got_events;
static int got_calls;
static char got_buf[64];
static size_t got_len;

static void fd_reader(struct loop_fd *lf, uint32_t events)
{
	ssize_t n;

	got_events |= events;
	got_calls++;
	if (!(events & LOOP_IN))
		return;
	/* Edge-triggered: read until EAGAIN. */
	for (;;) {
		n = read(lf->fd, got_buf + got_len, sizeof(got_buf) - got_len);
		if (n > 0) {
			got_len += (size_t)n;
			continue;
		}
		break;
	}
}

static void test_fd_pipe(void **state)
{
	struct loop_fd lf;
	int p[2];

	got_events = 0;
	got_calls = 0;
	got_len = 0;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	loop_fd_init(&lf, p[0], fd_reader, NULL);
	assert_int_equal(loop_fd_add(&lf, LOOP_IN | LOOP_EDGE), 0);
	assert_int_equal(loop_fd_add(&lf, LOOP_IN), -1);
	assert_int_equal(errno, EEXIST);
	/* Nothing to read: the round times out with no callback. */
	assert_int_equal(loop_run_once(10), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	assert_int_equal(loop_run_once(1000), 1);
	assert_int_equal(got_len, 5);
	assert_memory_equal(got_buf, "hello", 5);
	assert_true(got_events & LOOP_IN);
	/* Edge-triggered and drained: no further event without new data. */
	assert_int_equal(loop_run_once(10), 0);
	/* Disabled: data waits. */
	assert_int_equal(loop_fd_mod(&lf, 0), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(loop_run_once(10), 0);
	assert_int_equal(loop_fd_mod(&lf, LOOP_IN), 0);
	assert_int_equal(loop_run_once(1000), 1);
	assert_int_equal(got_len, 8);
	/* Writer closes: HUP reported. */
	close(p[1]);
	assert_int_equal(loop_run_once(1000), 1);
	assert_true(got_events & LOOP_HUP);
	loop_fd_del(&lf);
	loop_fd_del(&lf);
	assert_int_equal(loop_run_once(10), 0);
	close(p[0]);
}

static void fd_writer(struct loop_fd *lf, uint32_t events)
{
	got_events |= events;
	got_calls++;
}

static void test_fd_level_out(void **state)
{
	struct loop_fd lf;
	int p[2];

	got_events = 0;
	got_calls = 0;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	loop_fd_init(&lf, p[1], fd_writer, NULL);
	assert_int_equal(loop_fd_add(&lf, LOOP_OUT), 0);
	/* Level-triggered: reported every round while writable. */
	assert_int_equal(loop_run_once(1000), 1);
	assert_int_equal(loop_run_once(1000), 1);
	assert_int_equal(got_calls, 2);
	assert_true(got_events & LOOP_OUT);
	loop_fd_del(&lf);
	close(p[0]);
	close(p[1]);
}

/* Two fds ready in the same round; the first callback deletes the second:
 * its pending event must not be delivered. */
static struct loop_fd del_a, del_b;
static int del_b_calls;

static void fd_del_other(struct loop_fd *lf, uint32_t events)
{
	struct loop_fd *other = lf == &del_a ? &del_b : &del_a;

	if (lf == &del_b)
		del_b_calls++;
	if (other->registered)
		loop_fd_del(other);
	loop_fd_del(lf);
}

static void test_fd_del_pending(void **state)
{
	int p[2], q[2];

	del_b_calls = 0;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(pipe2(q, O_NONBLOCK | O_CLOEXEC), 0);
	loop_fd_init(&del_a, p[0], fd_del_other, NULL);
	loop_fd_init(&del_b, q[0], fd_del_other, NULL);
	assert_int_equal(loop_fd_add(&del_a, LOOP_IN), 0);
	assert_int_equal(loop_fd_add(&del_b, LOOP_IN), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(write(q[1], "y", 1), 1);
	/* Exactly one of the two callbacks runs. */
	assert_int_equal(loop_run_once(1000), 1);
	assert_false(del_a.registered);
	assert_false(del_b.registered);
	assert_int_equal(loop_run_once(10), 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* loop_fd_forget + close: the fd leaves epoll without EPOLL_CTL_DEL, and a
 * pending event of the round is dropped. */
static void test_fd_forget(void **state)
{
	int p[2], q[2];

	del_b_calls = 0;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(pipe2(q, O_NONBLOCK | O_CLOEXEC), 0);
	loop_fd_init(&del_a, p[0], fd_reader, NULL);
	assert_int_equal(loop_fd_add(&del_a, LOOP_IN), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	loop_fd_forget(&del_a);
	assert_false(del_a.registered);
	close(p[0]);
	got_calls = 0;
	assert_int_equal(loop_run_once(10), 0);
	assert_int_equal(got_calls, 0);
	/* The same fd number reused by a new pipe registers cleanly. */
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	loop_fd_init(&del_a, p[0], fd_reader, NULL);
	assert_int_equal(loop_fd_add(&del_a, LOOP_IN), 0);
	loop_fd_del(&del_a);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* --- hooks, signals, stop --- */

static int hook_calls;

static void hook_count(void *arg)
{
	hook_calls += (int)(intptr_t)arg;
}

static void test_hook(void **state)
{
	hook_calls = 0;
	assert_int_equal(loop_hook_add(hook_count, (void *)(intptr_t)1), 0);
	assert_int_equal(loop_hook_add(hook_count, (void *)(intptr_t)10), 0);
	loop_run_once(0);
	loop_run_once(0);
	assert_int_equal(hook_calls, 22);
}

static int sig_seen[3];

static void sig_record(int signo, void *arg)
{
	int *slot = arg;

	*slot = signo;
}

static void test_signal(void **state)
{
	int i;

	memset(sig_seen, 0, sizeof(sig_seen));
	assert_int_equal(loop_signal(SIGUSR1, sig_record, &sig_seen[0]), 0);
	assert_int_equal(loop_signal(SIGUSR2, sig_record, &sig_seen[1]), 0);
	assert_int_equal(loop_signal(0, sig_record, NULL), -1);
	assert_int_equal(kill(getpid(), SIGUSR2), 0);
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	for (i = 0; i < 100 && !(sig_seen[0] && sig_seen[1]); i++)
		loop_run_once(10);
	assert_int_equal(sig_seen[0], SIGUSR1);
	assert_int_equal(sig_seen[1], SIGUSR2);
}

static void timer_stop(struct loop_timer *t)
{
	loop_stop();
}

static void test_run_stop(void **state)
{
	struct loop_timer t;
	uint64_t start;

	loop_timer_init(&t, timer_stop, NULL);
	loop_now_update();
	start = loop_now();
	assert_int_equal(loop_timer_arm_in(&t, 20), 0);
	assert_int_equal(loop_run(), 0);
	loop_now_update();
	assert_true(loop_now() >= start + 20);
	assert_true(loop_now() < start + 2000);
}

/* loop_stop() from a before-sleep hook: the round's wait must not block
 * (nothing else would ever wake the loop). */
static void hook_stop(void *arg)
{
	int *runs = arg;

	if (++*runs == 3)
		loop_stop();
}

static void test_stop_from_hook(void **state)
{
	int runs = 0;
	uint64_t start;

	assert_int_equal(loop_hook_add(hook_stop, &runs), 0);
	loop_now_update();
	start = loop_now();
	/* A timer 5 s away would be the next wakeup if the stop were not
	 * honoured: the test would then fail on the elapsed time. */
	{
		struct loop_timer t;

		loop_timer_init(&t, timer_record, NULL);
		assert_int_equal(loop_timer_arm_in(&t, 5000), 0);
		/* Two rounds that do not wait (max 0 ms), then loop_run. */
		assert_int_equal(loop_run_once(0), 0);
		assert_int_equal(loop_run_once(0), 0);
		assert_int_equal(loop_run(), 0);
		loop_timer_cancel(&t);
	}
	loop_now_update();
	assert_int_equal(runs, 3);
	assert_true(loop_now() - start < 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timer_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_not_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_rearm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_rearm_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_no_starvation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_heap_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_level_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_del_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_from_hook, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
