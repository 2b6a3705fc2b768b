#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "supervisor/gen.h"

static const char *const state_names[GEN_ST_COUNT] = {
	[GEN_ST_STARTING] = "starting",
	[GEN_ST_ACTIVE] = "active",
	[GEN_ST_DRAINING] = "draining",
	[GEN_ST_STOPPING] = "stopping",
	[GEN_ST_EXITED] = "exited",
};

static const char *const note_names[GEN_NOTE_COUNT] = {
	[GEN_NOTE_STARTED] = "started",
	[GEN_NOTE_READY] = "ready",
	[GEN_NOTE_DRAIN] = "drain",
	[GEN_NOTE_TERM] = "term",
	[GEN_NOTE_KILL] = "kill",
	[GEN_NOTE_EXIT] = "exit",
	[GEN_NOTE_START_FAILED] = "start_failed",
	[GEN_NOTE_CRASH] = "crash",
	[GEN_NOTE_RESTART] = "restart",
};

const char *gen_state_name(enum gen_state st)
{
	return (unsigned)st < GEN_ST_COUNT ? state_names[st] : "?";
}

const char *gen_note_name(enum gen_note n)
{
	return (unsigned)n < GEN_NOTE_COUNT ? note_names[n] : "?";
}

void gen_status_text(int wstatus, char *buf, size_t len)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, len, "exit %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "signal %d (SIG%s)", WTERMSIG(wstatus),
			 sigabbrev_np(WTERMSIG(wstatus)) ? sigabbrev_np(WTERMSIG(wstatus)) : "?");
	else
		snprintf(buf, len, "status 0x%x", (unsigned)wstatus);
}

static void note(struct gen_set *s, struct gen *g, enum gen_note what, const char *detail)
{
	if (s->ops.note)
		s->ops.note(s->arg, g, what, detail);
}

static void sig(struct gen_set *s, struct gen *g, int signo)
{
	if (g->pid > 0 && s->ops.signal)
		(void)s->ops.signal(s->arg, g, signo);
}

/* Schedules the next crash restart and doubles the delay, capped. */
static void restart_schedule(struct gen_set *s, uint64_t now)
{
	char d[64];

	if (s->shutting_down)
		return;
	if (s->backoff_ms < s->o.backoff_min_ms)
		s->backoff_ms = s->o.backoff_min_ms;
	s->restart_at = now + s->backoff_ms;
	snprintf(d, sizeof(d), "delay_ms=%u crashes=%u", s->backoff_ms, s->crashes);
	note(s, NULL, GEN_NOTE_RESTART, d);
	s->backoff_ms = s->backoff_ms * 2 > s->o.backoff_max_ms ? s->o.backoff_max_ms
								 : s->backoff_ms * 2;
}

/* A start that never reached READY. With no active generation serving,
 * this is a failed restart and counts as a crash for the backoff; otherwise
 * it is a failed reload and the active generation keeps serving. */
static void start_failed(struct gen_set *s, struct gen *g, uint64_t now, const char *why)
{
	if (s->starting == g)
		s->starting = NULL;
	note(s, g, GEN_NOTE_START_FAILED, why);
	if (!s->active) {
		s->crashes++;
		restart_schedule(s, now);
	} else {
		s->reloads_failed++;
	}
}

static void to_stopping(struct gen_set *s, struct gen *g, uint64_t now, const char *why)
{
	g->state = GEN_ST_STOPPING;
	g->asked_to_stop = 1;
	g->deadline_ms = now + s->o.kill_grace_ms;
	sig(s, g, SIGTERM);
	note(s, g, GEN_NOTE_TERM, why);
}

/* ---- the transitions ---------------------------------------------------- */

typedef void gen_fn(struct gen_set *s, struct gen *g, uint64_t now);

/* STARTING + READY: it serves now; the previous active one drains. */
static void starting_ready(struct gen_set *s, struct gen *g, uint64_t now)
{
	struct gen *prev = s->active;

	g->state = GEN_ST_ACTIVE;
	g->ready_ms = now;
	g->deadline_ms = 0;
	s->active = g;
	if (s->starting == g)
		s->starting = NULL;
	if (prev)
		s->reloads++;
	s->restart_at = 0;
	note(s, g, GEN_NOTE_READY, NULL);
	if (prev && prev != g)
		gen_dispatch(s, prev, GEN_EV_DRAIN, now);
}

static void starting_deadline(struct gen_set *s, struct gen *g, uint64_t now)
{
	char why[80];

	snprintf(why, sizeof(why), "no READY within %ums", s->o.start_timeout_ms);
	to_stopping(s, g, now, "start timeout");
	start_failed(s, g, now, why);
}

static void starting_kill(struct gen_set *s, struct gen *g, uint64_t now)
{
	to_stopping(s, g, now, "stopped while starting");
	start_failed(s, g, now, "stopped while starting");
}

static void active_drain(struct gen_set *s, struct gen *g, uint64_t now)
{
	g->state = GEN_ST_DRAINING;
	g->asked_to_stop = 1;
	g->drain_ms = now;
	g->deadline_ms = g->drain_timeout_ms ? now + g->drain_timeout_ms : 0;
	if (s->active == g)
		s->active = NULL;
	sig(s, g, SIGUSR1);
	note(s, g, GEN_NOTE_DRAIN, NULL);
}

static void live_kill(struct gen_set *s, struct gen *g, uint64_t now)
{
	if (s->active == g)
		s->active = NULL;
	if (g->state == GEN_ST_DRAINING)
		g->cut = 1;
	to_stopping(s, g, now, "stop requested");
}

/* A draining generation can be asked again (shutdown): only the deadline
 * may come closer. */
static void draining_drain(struct gen_set *s, struct gen *g, uint64_t now)
{
	uint64_t d = g->drain_timeout_ms ? now + g->drain_timeout_ms : 0;

	if (d && (!g->deadline_ms || d < g->deadline_ms))
		g->deadline_ms = d;
}

static void draining_deadline(struct gen_set *s, struct gen *g, uint64_t now)
{
	g->cut = 1;
	to_stopping(s, g, now, "drain deadline passed");
}

static void stopping_deadline(struct gen_set *s, struct gen *g, uint64_t now)
{
	g->killed = 1;
	g->deadline_ms = 0;
	sig(s, g, SIGKILL);
	note(s, g, GEN_NOTE_KILL, "kill grace passed");
}

static void any_exit(struct gen_set *s, struct gen *g, uint64_t now)
{
	enum gen_state was = g->state;
	char st[64], d[128];

	g->state = GEN_ST_EXITED;
	g->deadline_ms = 0;
	gen_status_text(g->wstatus, st, sizeof(st));
	note(s, g, GEN_NOTE_EXIT, st);

	if (was == GEN_ST_STARTING) {
		snprintf(d, sizeof(d), "exited before READY: %s", st);
		start_failed(s, g, now, d);
		return;
	}
	if (s->starting == g)
		s->starting = NULL;
	if (s->active != g)
		return;
	s->active = NULL;
	if (g->asked_to_stop)
		return;
	/* A crash. A generation that served long enough starts a new series. */
	if (g->ready_ms && now - g->ready_ms >= s->o.stable_ms) {
		s->crashes = 0;
		s->backoff_ms = s->o.backoff_min_ms;
	}
	s->crashes++;
	snprintf(d, sizeof(d), "%s crashes=%u%s", st, s->crashes,
		 s->o.crash_loop && s->crashes >= s->o.crash_loop ? " crash_loop=1" : "");
	note(s, g, GEN_NOTE_CRASH, d);
	/* A generation already starting (a reload) takes over when ready. */
	if (!s->starting)
		restart_schedule(s, now);
}

static gen_fn *const gen_fsm[GEN_ST_COUNT][GEN_EV_COUNT] = {
	[GEN_ST_STARTING] = {
		[GEN_EV_READY] = starting_ready,
		[GEN_EV_KILL] = starting_kill,
		[GEN_EV_DEADLINE] = starting_deadline,
		[GEN_EV_EXIT] = any_exit,
	},
	[GEN_ST_ACTIVE] = {
		[GEN_EV_DRAIN] = active_drain,
		[GEN_EV_KILL] = live_kill,
		[GEN_EV_EXIT] = any_exit,
	},
	[GEN_ST_DRAINING] = {
		[GEN_EV_DRAIN] = draining_drain,
		[GEN_EV_KILL] = live_kill,
		[GEN_EV_DEADLINE] = draining_deadline,
		[GEN_EV_EXIT] = any_exit,
	},
	[GEN_ST_STOPPING] = {
		[GEN_EV_DEADLINE] = stopping_deadline,
		[GEN_EV_EXIT] = any_exit,
	},
	[GEN_ST_EXITED] = { 0 },
};

int gen_dispatch(struct gen_set *s, struct gen *g, enum gen_event ev, uint64_t now)
{
	gen_fn *fn;

	if (!g || (unsigned)g->state >= GEN_ST_COUNT || (unsigned)ev >= GEN_EV_COUNT) {
		errno = EINVAL;
		return -1;
	}
	fn = gen_fsm[g->state][ev];
	if (fn)
		fn(s, g, now);
	return 0;
}

/* ---- the set ------------------------------------------------------------- */

void gen_set_init(struct gen_set *s, const struct gen_ops *ops, void *arg,
		  const struct gen_opts *o, int64_t first_num)
{
	memset(s, 0, sizeof(*s));
	s->ops = *ops;
	s->arg = arg;
	s->o = *o;
	if (!s->o.backoff_min_ms)
		s->o.backoff_min_ms = 1000;
	if (s->o.backoff_max_ms < s->o.backoff_min_ms)
		s->o.backoff_max_ms = s->o.backoff_min_ms;
	s->backoff_ms = s->o.backoff_min_ms;
	s->next_num = first_num > 0 ? first_num : 1;
}

static void gen_free(struct gen *g)
{
	free(g->lis);
	free(g);
}

void gen_set_free(struct gen_set *s)
{
	for (size_t i = 0; i < s->len; i++)
		gen_free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

size_t gen_live(const struct gen_set *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->len; i++)
		n += s->v[i]->state != GEN_ST_EXITED;
	return n;
}

/* Generations that count against max-generations: those not being ended. */
static size_t gen_counted(const struct gen_set *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->len; i++)
		n += s->v[i]->state <= GEN_ST_DRAINING;
	return n;
}

struct gen *gen_start(struct gen_set *s, uint64_t now, const int *lis, size_t nlis,
		      const char *sha256, char *err, size_t errlen)
{
	struct gen *g = NULL;

	if (s->shutting_down) {
		snprintf(err, errlen, "shutting down");
		return NULL;
	}
	if (s->starting) {
		snprintf(err, errlen, "generation %" PRId64 " is starting", s->starting->num);
		return NULL;
	}
	if (s->len == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		struct gen **nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv)
			goto nomem;
		s->v = nv;
		s->cap = ncap;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		goto nomem;
	if (nlis) {
		g->lis = malloc(nlis * sizeof(*g->lis));
		if (!g->lis)
			goto nomem;
		memcpy(g->lis, lis, nlis * sizeof(*lis));
		g->nlis = nlis;
	}
	/* Room for the new one: end the oldest draining generations early. */
	while (s->o.max_generations && gen_counted(s) + 1 > s->o.max_generations) {
		struct gen *old = NULL;

		for (size_t i = 0; i < s->len && !old; i++)
			if (s->v[i]->state == GEN_ST_DRAINING)
				old = s->v[i];
		if (!old)
			break;
		old->cut = 1;
		to_stopping(s, old, now, "max-generations reached");
	}
	g->num = s->next_num;
	g->pidfd = -1;
	g->state = GEN_ST_STARTING;
	g->started_ms = now;
	g->drain_timeout_ms = s->o.drain_timeout_ms;
	g->deadline_ms = s->o.start_timeout_ms ? now + s->o.start_timeout_ms : 0;
	if (sha256)
		snprintf(g->sha256, sizeof(g->sha256), "%s", sha256);
	if (s->ops.spawn(s->arg, g, err, errlen) == -1) {
		gen_free(g);
		s->restart_at = 0;
		if (!s->active) {
			s->crashes++;
			restart_schedule(s, now);
		} else {
			s->reloads_failed++;
		}
		return NULL;
	}
	s->next_num++;
	s->v[s->len++] = g;
	s->starting = g;
	s->restart_at = 0;
	note(s, g, GEN_NOTE_STARTED, NULL);
	return g;
nomem:
	if (g)
		gen_free(g);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void gen_exited(struct gen_set *s, struct gen *g, int wstatus, uint64_t now)
{
	g->wstatus = wstatus;
	gen_dispatch(s, g, GEN_EV_EXIT, now);
}

void gen_expire(struct gen_set *s, uint64_t now)
{
	/* A transition may append nothing but can reorder nothing either: the
	 * array only grows in gen_start, so indexing stays valid. */
	for (size_t i = 0; i < s->len; i++) {
		struct gen *g = s->v[i];

		if (g->deadline_ms && g->deadline_ms <= now)
			gen_dispatch(s, g, GEN_EV_DEADLINE, now);
	}
}

uint64_t gen_next_deadline(const struct gen_set *s)
{
	uint64_t d = s->restart_at;

	for (size_t i = 0; i < s->len; i++) {
		uint64_t x = s->v[i]->deadline_ms;

		if (x && (!d || x < d))
			d = x;
	}
	return d;
}

int gen_restart_due(const struct gen_set *s, uint64_t now)
{
	return s->restart_at && s->restart_at <= now && !s->starting && !s->active &&
	       !s->shutting_down;
}

int gen_reload_request(struct gen_set *s)
{
	if (s->starting) {
		s->reload_pending = 1;
		return 0;
	}
	return 1;
}

int gen_take_pending(struct gen_set *s)
{
	int p = s->reload_pending && !s->starting && !s->shutting_down;

	if (p)
		s->reload_pending = 0;
	return p;
}

void gen_shutdown(struct gen_set *s, uint64_t now, unsigned timeout_ms)
{
	s->shutting_down = 1;
	s->restart_at = 0;
	s->reload_pending = 0;
	for (size_t i = 0; i < s->len; i++) {
		struct gen *g = s->v[i];

		g->drain_timeout_ms = timeout_ms;
		if (g->state == GEN_ST_STARTING)
			gen_dispatch(s, g, GEN_EV_KILL, now);
		else if (g->state == GEN_ST_ACTIVE || g->state == GEN_ST_DRAINING)
			gen_dispatch(s, g, GEN_EV_DRAIN, now);
	}
}

void gen_sweep(struct gen_set *s)
{
	size_t j = 0;

	for (size_t i = 0; i < s->len; i++) {
		if (s->v[i]->state == GEN_ST_EXITED)
			gen_free(s->v[i]);
		else
			s->v[j++] = s->v[i];
	}
	s->len = j;
}

struct gen *gen_find_pid(const struct gen_set *s, pid_t pid)
{
	for (size_t i = 0; i < s->len; i++)
		if (s->v[i]->pid == pid && s->v[i]->state != GEN_ST_EXITED)
			return s->v[i];
	return NULL;
}

struct gen *gen_find_num(const struct gen_set *s, int64_t num)
{
	for (size_t i = 0; i < s->len; i++)
		if (s->v[i]->num == num)
			return s->v[i];
	return NULL;
}

int gen_uses_listener(const struct gen_set *s, int id)
{
	for (size_t i = 0; i < s->len; i++) {
		const struct gen *g = s->v[i];

		if (g->state == GEN_ST_EXITED)
			continue;
		for (size_t k = 0; k < g->nlis; k++)
			if (g->lis[k] == id)
				return 1;
	}
	return 0;
}

int gen_fd_fits(uint64_t live_fds, uint64_t need, uint64_t budget, char *why, size_t len)
{
	if (!budget || live_fds + need <= budget)
		return 1;
	snprintf(why, len, "fd budget exceeded: live generations hold %" PRIu64
		 " fds, the new one needs %" PRIu64 ", total %" PRIu64 " > budget %" PRIu64,
		 live_fds, need, live_fds + need, budget);
	return 0;
}
