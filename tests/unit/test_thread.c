/* Threads: mailboxes deliver in order to the right thread, isolation
 * really stops the others, thread picking, start/stop. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxyd/loop.h"
#include "proxyd/thread.h"

#define NT 3

static unsigned inits, finis;
static unsigned seen_tid[64];
static unsigned nseen[NT];
static unsigned order[NT][64];
static unsigned ticks[NT];      /* per thread, bumped by a 1 ms timer */
static __thread struct loop_timer tick_timer;

static void tick_cb(struct loop_timer *t)
{
	__atomic_add_fetch(&ticks[thread_id], 1, __ATOMIC_RELAXED);
	loop_timer_arm_in(t, 1);
}

static int hook_init(void)
{
	__atomic_add_fetch(&inits, 1, __ATOMIC_RELAXED);
	loop_timer_init(&tick_timer, tick_cb, NULL);
	return loop_timer_arm_in(&tick_timer, 1);
}

static void hook_fini(void)
{
	loop_timer_cancel(&tick_timer);
	__atomic_add_fetch(&finis, 1, __ATOMIC_RELAXED);
}

static void record_cb(struct thread_msg *m)
{
	unsigned i = (unsigned)m->u;

	seen_tid[i] = thread_id;
	order[thread_id][__atomic_fetch_add(&nseen[thread_id], 1, __ATOMIC_RELAXED)] = i;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs thread 0's loop until cond holds or 5 s passed. */
static int run_until(int (*cond)(void))
{
	uint64_t end = ms_now() + 5000;

	while (!cond() && ms_now() < end)
		loop_run_once(10);
	return cond();
}

static int all_seen(void)
{
	return __atomic_load_n(&nseen[0], __ATOMIC_ACQUIRE) == 10 &&
	       __atomic_load_n(&nseen[1], __ATOMIC_ACQUIRE) == 10 &&
	       __atomic_load_n(&nseen[2], __ATOMIC_ACQUIRE) == 10;
}

static int others_ticking(void)
{
	return __atomic_load_n(&ticks[1], __ATOMIC_RELAXED) > 20 &&
	       __atomic_load_n(&ticks[2], __ATOMIC_RELAXED) > 20;
}

static void test_threads(void **state)
{
	static const struct thread_hooks hooks = { .init = hook_init, .fini = hook_fini };
	struct thread_msg m = { .fn = record_cb };
	unsigned i, k, t1, t2;

	(void)state;
	assert_int_equal(loop_init(), 0);
	assert_int_equal(thread_setup(NT), 0);
	assert_int_equal(thread_count, NT);
	assert_int_equal(thread_start(&hooks), 0);
	assert_int_equal(__atomic_load_n(&inits, __ATOMIC_ACQUIRE), NT - 1);

	/* Ten messages to each thread (0 included), interleaved: each runs
	 * in its thread, in the order posted. */
	for (i = 0; i < 30; i++) {
		m.u = i;
		assert_int_equal(thread_send(i % NT, &m), 0);
	}
	assert_true(run_until(all_seen));
	for (i = 0; i < 30; i++)
		assert_int_equal(seen_tid[i], i % NT);
	for (k = 0; k < NT; k++)
		for (i = 0; i < 10; i++)
			assert_int_equal(order[k][i], i * NT + k);

	/* Isolation: the others' timers stop while thread 0 holds it. */
	assert_true(run_until(others_ticking));
	thread_isolate();
	thread_isolate();               /* nests */
	t1 = __atomic_load_n(&ticks[1], __ATOMIC_RELAXED) + __atomic_load_n(&ticks[2], __ATOMIC_RELAXED);
	usleep(50000);
	t2 = __atomic_load_n(&ticks[1], __ATOMIC_RELAXED) + __atomic_load_n(&ticks[2], __ATOMIC_RELAXED);
	assert_int_equal(t1, t2);
	thread_release();
	usleep(50000);
	t2 = __atomic_load_n(&ticks[1], __ATOMIC_RELAXED) + __atomic_load_n(&ticks[2], __ATOMIC_RELAXED);
	assert_int_equal(t1, t2);       /* still isolated: one level left */
	thread_release();
	usleep(50000);
	t2 = __atomic_load_n(&ticks[1], __ATOMIC_RELAXED) + __atomic_load_n(&ticks[2], __ATOMIC_RELAXED);
	assert_true(t2 > t1);

	/* Messages to the others only. */
	m.u = 0;
	assert_int_equal(thread_send_others(&m), 0);

	thread_stop_join();
	assert_int_equal(__atomic_load_n(&finis, __ATOMIC_ACQUIRE), NT - 1);
	thread_free();
	assert_int_equal(thread_count, 1);
	loop_free();
}

static void test_pick(void **state)
{
	unsigned counts[4] = { 5, 2, 2, 9 };
	unsigned rr = 0;

	(void)state;
	/* The least loaded; ties go to the next in turn. */
	assert_int_equal(thread_pick(counts, 4, &rr), 1);
	assert_int_equal(thread_pick(counts, 4, &rr), 2);
	assert_int_equal(thread_pick(counts, 4, &rr), 1);
	counts[0] = 0;
	assert_int_equal(thread_pick(counts, 4, &rr), 0);
	counts[0] = counts[1] = counts[2] = counts[3] = 1;
	rr = 0;
	assert_int_equal(thread_pick(counts, 4, &rr), 0);
	assert_int_equal(thread_pick(counts, 4, &rr), 1);
	assert_int_equal(thread_pick(counts, 4, &rr), 2);
	assert_int_equal(thread_pick(counts, 4, &rr), 3);
	assert_int_equal(thread_pick(counts, 4, &rr), 0);
}

static void test_setup_bad(void **state)
{
	(void)state;
	assert_int_equal(thread_setup(0), -1);
	assert_int_equal(thread_setup(65), -1);
	assert_int_equal(thread_count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_setup_bad),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
