#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "supervisor/gen.h"

/* A fake process layer: pids are handed out in order, signals and notes are
 * recorded; a fake clock is just the `now` passed to each call. */
struct fake {
	pid_t next_pid;
	int fail_spawn;
	struct { pid_t pid; int sig; } sigs[64];
	size_t nsigs;
	struct { int64_t gen; enum gen_note what; char detail[128]; } notes[128];
	size_t nnotes;
};

static int fake_spawn(void *arg, struct gen *g, char *err, size_t errlen)
{
	struct fake *f = arg;

	if (f->fail_spawn) {
		snprintf(err, errlen, "fork: fake failure");
		return -1;
	}
	g->pid = f->next_pid++;
	return 0;
}

static int fake_signal(void *arg, struct gen *g, int signo)
{
	struct fake *f = arg;

	assert_true(f->nsigs < 64);
	f->sigs[f->nsigs].pid = g->pid;
	f->sigs[f->nsigs].sig = signo;
	f->nsigs++;
	return 0;
}

static void fake_note(void *arg, struct gen *g, enum gen_note what, const char *detail)
{
	struct fake *f = arg;

	assert_true(f->nnotes < 128);
	f->notes[f->nnotes].gen = g ? g->num : 0;
	f->notes[f->nnotes].what = what;
	snprintf(f->notes[f->nnotes].detail, sizeof(f->notes[0].detail), "%s", detail ? detail : "");
	f->nnotes++;
}

static const struct gen_ops fake_ops = { fake_spawn, fake_signal, fake_note };

static const struct gen_opts opts = {
	.start_timeout_ms = 5000,
	.drain_timeout_ms = 30000,
	.kill_grace_ms = 2000,
	.max_generations = 3,
	.backoff_min_ms = 1000,
	.backoff_max_ms = 30000,
	.stable_ms = 60000,
	.crash_loop = 3,
};

struct fix {
	struct fake f;
	struct gen_set s;
	char err[256];
};

static int setup(void **state)
{
	static struct fix x;

	memset(&x, 0, sizeof(x));
	x.f.next_pid = 100;
	gen_set_init(&x.s, &fake_ops, &x.f, &opts, 1);
	*state = &x;
	return 0;
}

static int teardown(void **state)
{
	struct fix *x = *state;

	gen_set_free(&x->s);
	return 0;
}

static int last_sig_for(const struct fake *f, pid_t pid)
{
	for (size_t i = f->nsigs; i-- > 0;)
		if (f->sigs[i].pid == pid)
			return f->sigs[i].sig;
	return 0;
}

static size_t count_notes(const struct fake *f, enum gen_note what)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nnotes; i++)
		n += f->notes[i].what == what;
	return n;
}

static struct gen *start_ready(struct fix *x, uint64_t now)
{
	int lis[2] = { 1, 2 };
	struct gen *g = gen_start(&x->s, now, lis, 2, "ab", x->err, sizeof(x->err));

	assert_non_null(g);
	assert_int_equal(g->state, GEN_ST_STARTING);
	assert_int_equal(gen_dispatch(&x->s, g, GEN_EV_READY, now + 10), 0);
	assert_int_equal(g->state, GEN_ST_ACTIVE);
	return g;
}

static void test_gen_start_ready(void **state)
{
	struct fix *x = *state;
	struct gen *g;

	g = start_ready(x, 1000);
	assert_int_equal(g->num, 1);
	assert_int_equal(g->pid, 100);
	assert_ptr_equal(x->s.active, g);
	assert_null(x->s.starting);
	assert_int_equal(g->ready_ms, 1010);
	assert_int_equal(g->deadline_ms, 0);
	assert_int_equal(x->f.nsigs, 0);
	assert_int_equal(count_notes(&x->f, GEN_NOTE_READY), 1);
	assert_true(gen_uses_listener(&x->s, 2));
	assert_false(gen_uses_listener(&x->s, 3));
}

/* Ready is not spawned: the active generation changes only on READY, and
 * only then does the previous one get SIGUSR1 with a drain deadline. */
static void test_gen_reload_drains_previous(void **state)
{
	struct fix *x = *state;
	struct gen *g1, *g2;

	g1 = start_ready(x, 1000);
	g2 = gen_start(&x->s, 2000, NULL, 0, NULL, x->err, sizeof(x->err));
	assert_non_null(g2);
	assert_ptr_equal(x->s.active, g1);
	assert_int_equal(g1->state, GEN_ST_ACTIVE);
	assert_int_equal(x->f.nsigs, 0);

	gen_dispatch(&x->s, g2, GEN_EV_READY, 2005);
	assert_ptr_equal(x->s.active, g2);
	assert_int_equal(g1->state, GEN_ST_DRAINING);
	assert_int_equal(last_sig_for(&x->f, g1->pid), SIGUSR1);
	assert_int_equal(g1->deadline_ms, 2005 + 30000);
	assert_int_equal(x->s.reloads, 1);
	assert_int_equal(gen_next_deadline(&x->s), 2005 + 30000);

	/* Drained on its own: exits 0 before the deadline. */
	gen_exited(&x->s, g1, 0, 5000);
	assert_int_equal(g1->state, GEN_ST_EXITED);
	assert_false(g1->cut);
	assert_int_equal(count_notes(&x->f, GEN_NOTE_CRASH), 0);
	gen_sweep(&x->s);
	assert_int_equal(x->s.len, 1);
	assert_int_equal(gen_live(&x->s), 1);
}

/* Drain deadline -> SIGTERM; kill grace -> SIGKILL; the cut is recorded. */
static void test_gen_deadline_term_then_kill(void **state)
{
	struct fix *x = *state;
	struct gen *g1, *g2;

	g1 = start_ready(x, 0);
	g2 = gen_start(&x->s, 100, NULL, 0, NULL, x->err, sizeof(x->err));
	gen_dispatch(&x->s, g2, GEN_EV_READY, 200);

	gen_expire(&x->s, 200 + 29999);
	assert_int_equal(g1->state, GEN_ST_DRAINING);
	gen_expire(&x->s, 200 + 30000);
	assert_int_equal(g1->state, GEN_ST_STOPPING);
	assert_int_equal(last_sig_for(&x->f, g1->pid), SIGTERM);
	assert_true(g1->cut);
	assert_int_equal(g1->deadline_ms, 30200 + 2000);

	gen_expire(&x->s, 32199);
	assert_int_equal(last_sig_for(&x->f, g1->pid), SIGTERM);
	gen_expire(&x->s, 32200);
	assert_int_equal(last_sig_for(&x->f, g1->pid), SIGKILL);
	assert_true(g1->killed);
	assert_int_equal(g1->deadline_ms, 0);
	assert_int_equal(gen_next_deadline(&x->s), 0);

	gen_exited(&x->s, g1, SIGKILL, 32210);
	assert_int_equal(g1->state, GEN_ST_EXITED);
	assert_ptr_equal(x->s.active, g2);
	assert_int_equal(count_notes(&x->f, GEN_NOTE_CRASH), 0);
}

static void test_gen_start_timeout(void **state)
{
	struct fix *x = *state;
	struct gen *g1, *g2;

	g1 = start_ready(x, 0);
	g2 = gen_start(&x->s, 1000, NULL, 0, NULL, x->err, sizeof(x->err));
	gen_expire(&x->s, 1000 + 5000);
	assert_int_equal(g2->state, GEN_ST_STOPPING);
	assert_int_equal(last_sig_for(&x->f, g2->pid), SIGTERM);
	assert_ptr_equal(x->s.active, g1);
	assert_int_equal(g1->state, GEN_ST_ACTIVE);
	assert_null(x->s.starting);
	assert_int_equal(x->s.reloads_failed, 1);
	assert_int_equal(count_notes(&x->f, GEN_NOTE_START_FAILED), 1);
	/* The old one was never signalled. */
	assert_int_equal(last_sig_for(&x->f, g1->pid), 0);
}

static void test_gen_exit_before_ready(void **state)
{
	struct fix *x = *state;
	struct gen *g1, *g2;

	g1 = start_ready(x, 0);
	g2 = gen_start(&x->s, 1000, NULL, 0, NULL, x->err, sizeof(x->err));
	gen_exited(&x->s, g2, 1 << 8, 1100);
	assert_int_equal(g2->state, GEN_ST_EXITED);
	assert_ptr_equal(x->s.active, g1);
	assert_int_equal(x->s.restart_at, 0);
	assert_int_equal(x->s.reloads_failed, 1);
	assert_string_equal(x->f.notes[x->f.nnotes - 1].detail, "exited before READY: exit 1");
}

/* Active crash: restart after 1 s, then 2, 4, ... capped at 30 s, and a
 * crash loop is reported from the third consecutive crash. */
static void test_gen_crash_backoff(void **state)
{
	struct fix *x = *state;
	struct gen *g;
	uint64_t now = 0;
	unsigned expect[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };

	g = start_ready(x, now);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		now += 50;
		gen_exited(&x->s, g, SIGKILL, now);
		assert_null(x->s.active);
		assert_int_equal(x->s.crashes, i + 1);
		assert_int_equal(x->s.restart_at, now + expect[i]);
		assert_false(gen_restart_due(&x->s, now + expect[i] - 1));
		assert_true(gen_restart_due(&x->s, now + expect[i]));
		assert_int_equal(gen_next_deadline(&x->s), now + expect[i]);
		if (i + 1 >= 3)
			assert_non_null(strstr(x->f.notes[x->f.nnotes - 2].detail, "crash_loop=1"));
		else
			assert_null(strstr(x->f.notes[x->f.nnotes - 2].detail, "crash_loop"));
		now += expect[i];
		g = start_ready(x, now);
		gen_sweep(&x->s);
	}
	/* Stable for stable_ms: the next crash starts over at 1 s. */
	now += 10 + 60000;
	gen_exited(&x->s, g, SIGSEGV, now);
	assert_int_equal(x->s.crashes, 1);
	assert_int_equal(x->s.restart_at, now + 1000);
}

/* An exit after a drain request is not a crash. */
static void test_gen_drain_command_no_crash(void **state)
{
	struct fix *x = *state;
	struct gen *g = start_ready(x, 0);

	gen_dispatch(&x->s, g, GEN_EV_DRAIN, 10);
	assert_int_equal(g->state, GEN_ST_DRAINING);
	assert_null(x->s.active);
	gen_exited(&x->s, g, 0, 20);
	assert_int_equal(count_notes(&x->f, GEN_NOTE_CRASH), 0);
	assert_int_equal(x->s.restart_at, 0);
}

static void test_gen_kill_command(void **state)
{
	struct fix *x = *state;
	struct gen *g = start_ready(x, 0);

	gen_dispatch(&x->s, g, GEN_EV_KILL, 10);
	assert_int_equal(g->state, GEN_ST_STOPPING);
	assert_int_equal(last_sig_for(&x->f, g->pid), SIGTERM);
	/* READY or DRAIN mean nothing to a stopping generation. */
	gen_dispatch(&x->s, g, GEN_EV_READY, 11);
	gen_dispatch(&x->s, g, GEN_EV_DRAIN, 11);
	assert_int_equal(g->state, GEN_ST_STOPPING);
	gen_exited(&x->s, g, SIGTERM, 20);
	assert_int_equal(count_notes(&x->f, GEN_NOTE_CRASH), 0);
}

static void test_gen_max_generations(void **state)
{
	struct fix *x = *state;
	struct gen *g[4];

	g[0] = start_ready(x, 0);
	g[1] = start_ready(x, 100);
	g[2] = start_ready(x, 200);
	assert_int_equal(g[0]->state, GEN_ST_DRAINING);
	assert_int_equal(g[1]->state, GEN_ST_DRAINING);
	/* A fourth one: beyond 3, the oldest draining one is ended. */
	g[3] = gen_start(&x->s, 300, NULL, 0, NULL, x->err, sizeof(x->err));
	assert_non_null(g[3]);
	assert_int_equal(g[0]->state, GEN_ST_STOPPING);
	assert_true(g[0]->cut);
	assert_int_equal(g[1]->state, GEN_ST_DRAINING);
	assert_int_equal(last_sig_for(&x->f, g[0]->pid), SIGTERM);
}

static void test_gen_coalesce(void **state)
{
	struct fix *x = *state;
	struct gen *g;

	start_ready(x, 0);
	assert_int_equal(gen_reload_request(&x->s), 1);
	g = gen_start(&x->s, 10, NULL, 0, NULL, x->err, sizeof(x->err));
	assert_non_null(g);
	/* Two more requests while starting: coalesced into one. */
	assert_int_equal(gen_reload_request(&x->s), 0);
	assert_int_equal(gen_reload_request(&x->s), 0);
	assert_null(gen_start(&x->s, 11, NULL, 0, NULL, x->err, sizeof(x->err)));
	assert_int_equal(gen_take_pending(&x->s), 0);
	gen_dispatch(&x->s, g, GEN_EV_READY, 20);
	assert_int_equal(gen_take_pending(&x->s), 1);
	assert_int_equal(gen_take_pending(&x->s), 0);
}

static void test_gen_spawn_failure(void **state)
{
	struct fix *x = *state;

	x->f.fail_spawn = 1;
	assert_null(gen_start(&x->s, 0, NULL, 0, NULL, x->err, sizeof(x->err)));
	assert_string_equal(x->err, "fork: fake failure");
	assert_int_equal(x->s.len, 0);
	/* Nothing serves: retried after the backoff. */
	assert_int_equal(x->s.restart_at, 1000);
	x->f.fail_spawn = 0;
	assert_true(gen_restart_due(&x->s, 1000));
	start_ready(x, 1000);
	assert_int_equal(x->s.restart_at, 0);
}

static void test_gen_shutdown(void **state)
{
	struct fix *x = *state;
	struct gen *g1, *g2, *g3;

	g1 = start_ready(x, 0);
	g2 = start_ready(x, 10);
	g3 = gen_start(&x->s, 20, NULL, 0, NULL, x->err, sizeof(x->err));
	gen_shutdown(&x->s, 100, 5000);
	assert_int_equal(g3->state, GEN_ST_STOPPING);
	assert_int_equal(g2->state, GEN_ST_DRAINING);
	assert_int_equal(g2->deadline_ms, 5100);
	/* g1 was draining with a later deadline: brought closer. */
	assert_int_equal(g1->deadline_ms, 5100);
	assert_null(gen_start(&x->s, 200, NULL, 0, NULL, x->err, sizeof(x->err)));
	gen_exited(&x->s, g2, 0, 300);
	gen_exited(&x->s, g1, 0, 300);
	gen_exited(&x->s, g3, SIGTERM, 300);
	assert_int_equal(gen_live(&x->s), 0);
	assert_int_equal(x->s.restart_at, 0);
	assert_int_equal(gen_next_deadline(&x->s), 0);
}

static void test_gen_fd_fits(void **state)
{
	char why[256] = "";

	assert_int_equal(gen_fd_fits(100, 200, 0, why, sizeof(why)), 1);
	assert_int_equal(gen_fd_fits(100, 200, 300, why, sizeof(why)), 1);
	assert_int_equal(gen_fd_fits(101, 200, 300, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "hold 101 fds"));
	assert_non_null(strstr(why, "needs 200"));
	assert_non_null(strstr(why, "budget 300"));
}

static void test_gen_status_text(void **state)
{
	char b[64];

	gen_status_text(3 << 8, b, sizeof(b));
	assert_string_equal(b, "exit 3");
	gen_status_text(SIGKILL, b, sizeof(b));
	assert_string_equal(b, "signal 9 (SIGKILL)");
	assert_string_equal(gen_state_name(GEN_ST_DRAINING), "draining");
	assert_string_equal(gen_state_name((enum gen_state)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gen_start_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_reload_drains_previous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_deadline_term_then_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_start_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_exit_before_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_crash_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_drain_command_no_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_kill_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_max_generations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_spawn_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_shutdown, setup, teardown),
		cmocka_unit_test(test_gen_fd_fits),
		cmocka_unit_test(test_gen_status_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
