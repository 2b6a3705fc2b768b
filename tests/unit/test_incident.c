/* Unit tests of the hysteresis tracker. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/detect.h"
#include "supervisor/incident.h"

static void add(struct finding_list *l, enum detect_kind k, const char *subject, double value)
{
	struct finding *f;

	if (l->len == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		struct finding *v = realloc(l->v, ncap * sizeof(*v));

		assert_non_null(v);
		l->v = v;
		l->cap = ncap;
	}
	f = &l->v[l->len++];
	memset(f, 0, sizeof(*f));
	f->kind = k;
	snprintf(f->subject, sizeof(f->subject), "%s", subject);
	f->value = value;
	f->severity = DS_WARNING;
	f->pid = 42;
	f->summary = strdup("s");
	f->detail = strdup("");
	f->evidence = strdup("{}");
	assert_non_null(f->summary);
}

/* One tick with the given findings (NULL-terminated subject list, one kind). */
static void tick(struct inc_tracker *t, uint64_t now, enum detect_kind k, const char *const *subj,
		 const double *vals)
{
	struct finding_list l = { 0 };
	size_t i;

	for (i = 0; subj && subj[i]; i++)
		add(&l, k, subj[i], vals ? vals[i] : 1.0);
	assert_int_equal(inc_tracker_tick(t, &l, now), 0);
	finding_list_free(&l);
}

static size_t nev(const struct inc_tracker *t, enum inc_event_type type)
{
	size_t i, n = 0;

	for (i = 0; i < t->nev; i++)
		if (t->ev[i].type == type)
			n++;
	return n;
}

static void test_opens_after_k_resolves_after_m(void **state)
{
	static const char *const s[] = { "pid:7", NULL };
	struct inc_tracker t;
	const struct inc_entry *e;
	uint64_t now = 1000;

	(void)state;
	inc_tracker_init(&t);
	inc_tracker_set(&t, DK_HALF_CLOSE_BUILDUP, 3, 2);
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, s, NULL);
	assert_int_equal(t.nev, 0);
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, s, NULL);
	assert_int_equal(t.nev, 0);
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, s, NULL);
	assert_int_equal(t.nev, 1);
	assert_int_equal(t.ev[0].type, IE_OPENED);
	assert_int_equal(t.ev[0].finding, 0);
	e = &t.v[t.ev[0].entry];
	assert_string_equal(e->subject, "pid:7");
	assert_int_equal(e->first_ms, 2000);
	assert_int_equal(e->pid, 42);
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, s, NULL);
	assert_int_equal(nev(&t, IE_UPDATED), 1);
	/* One clean tick: still open. */
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, NULL, NULL);
	assert_int_equal(t.nev, 0);
	/* Bad again resets the clean count. */
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, s, NULL);
	assert_int_equal(nev(&t, IE_UPDATED), 1);
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, NULL, NULL);
	assert_int_equal(t.nev, 0);
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, NULL, NULL);
	assert_int_equal(t.nev, 1);
	assert_int_equal(t.ev[0].type, IE_RESOLVED);
	assert_string_equal(t.v[t.ev[0].entry].subject, "pid:7");
	/* Gone at the next tick. */
	tick(&t, now += 1000, DK_HALF_CLOSE_BUILDUP, NULL, NULL);
	assert_int_equal(t.len, 0);
	inc_tracker_free(&t);
}

static void test_flapping_candidate_never_opens(void **state)
{
	static const char *const s[] = { "tcp:0.0.0.0:80", NULL };
	struct inc_tracker t;
	int i;

	(void)state;
	inc_tracker_init(&t);
	for (i = 0; i < 10; i++) {
		tick(&t, (uint64_t)i * 1000, DK_ACCEPT_BACKLOG, i % 2 ? NULL : s, NULL);
		assert_int_equal(t.nev, 0);
	}
	inc_tracker_free(&t);
}

static void test_one_incident_per_subject_and_peak(void **state)
{
	static const char *const s[] = { "server:be/s1", "server:be/s1", "server:be/s2", NULL };
	static const double v1[] = { 3, 9, 1 };
	static const double v2[] = { 4, 2, 1 };
	static const double v3[] = { 5, 5, 1 };
	struct inc_tracker t;
	struct inc_entry *e;

	(void)state;
	inc_tracker_init(&t);
	tick(&t, 1000, DK_SERVER_QUEUE_STARVATION, s, v1);
	tick(&t, 2000, DK_SERVER_QUEUE_STARVATION, s, v2);
	/* Two subjects open, once each; the highest value of a subject wins. */
	assert_int_equal(nev(&t, IE_OPENED), 2);
	assert_int_equal(t.nev, 2);
	e = inc_tracker_find(&t, DK_SERVER_QUEUE_STARVATION, "server:be/s1");
	assert_non_null(e);
	assert_true(e->open);
	assert_true(e->value == 4.0);
	assert_true(e->peak == 9.0);
	assert_int_equal(t.ev[0].finding, 0); /* value 4 is finding 0 */
	tick(&t, 3000, DK_SERVER_QUEUE_STARVATION, s, v3);
	assert_int_equal(nev(&t, IE_UPDATED), 2);
	assert_true(e->peak == 9.0);
	assert_true(e->value == 5.0);
	/* Same subject, other kind: a separate candidate. */
	{
		static const char *const s1[] = { "server:be/s1", NULL };

		tick(&t, 4000, DK_SESSION_ON_DOWN_SERVER, s1, NULL);
		assert_non_null(inc_tracker_find(&t, DK_SESSION_ON_DOWN_SERVER, "server:be/s1"));
		assert_true(inc_tracker_find(&t, DK_SERVER_QUEUE_STARVATION, "server:be/s1")->open);
	}
	inc_tracker_free(&t);
}

static void test_fact_kinds_open_at_once(void **state)
{
	static const char *const s[] = { "cfg:/etc/p.cfg:12", NULL };
	struct inc_tracker t;

	(void)state;
	inc_tracker_init(&t);
	tick(&t, 1000, DK_CONFIG_LINT, s, NULL);
	assert_int_equal(nev(&t, IE_OPENED), 1);
	inc_tracker_free(&t);
}

static void test_restart_seed(void **state)
{
	static const char *const s[] = { "pid:9", NULL };
	struct inc_tracker t;
	struct inc_entry *e;

	(void)state;
	inc_tracker_init(&t);
	assert_int_equal(inc_tracker_seed(&t, DK_STALE_GENERATION, "pid:9", 17, 30.0, 500), 0);
	assert_int_equal(inc_tracker_seed(&t, DK_HALF_CLOSE_BUILDUP, "pid:3", 18, 5.0, 500), 0);
	/* pid:9 still bad: updated under its old id, no new opening. */
	tick(&t, 1000, DK_STALE_GENERATION, s, NULL);
	assert_int_equal(t.nev, 1);
	assert_int_equal(t.ev[0].type, IE_UPDATED);
	e = &t.v[t.ev[0].entry];
	assert_int_equal(e->id, 17);
	assert_true(e->reloaded);
	assert_true(e->peak == 30.0);
	tick(&t, 2000, DK_STALE_GENERATION, s, NULL);
	/* pid:3 clean since the restart: resolved after M = 3 ticks. */
	tick(&t, 3000, DK_STALE_GENERATION, s, NULL);
	assert_int_equal(nev(&t, IE_RESOLVED), 1);
	assert_int_equal(t.v[t.ev[1].entry].id, 18);
	assert_string_equal(t.v[t.ev[1].entry].subject, "pid:3");
	/* A dropped store tick: the id is forgotten and the next bad tick
	 * opens again. */
	inc_tracker_forget_ids(&t);
	tick(&t, 4000, DK_STALE_GENERATION, s, NULL);
	assert_int_equal(t.nev, 1);
	assert_int_equal(t.ev[0].type, IE_OPENED);
	assert_int_equal(t.v[t.ev[0].entry].id, 0);
	tick(&t, 5000, DK_STALE_GENERATION, s, NULL);
	assert_int_equal(t.ev[0].type, IE_UPDATED);
	assert_int_equal(inc_tracker_seed(&t, DK_NKINDS, "x", 1, 0, 0), -1);
	inc_tracker_free(&t);
}

static void test_kind_parse(void **state)
{
	(void)state;
	assert_int_equal(inc_kind_parse("lossy_peer"), DK_LOSSY_PEER);
	assert_int_equal(inc_kind_parse("generation_crash"), DK_GENERATION_CRASH);
	assert_int_equal(inc_kind_parse("nope"), DK_NKINDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opens_after_k_resolves_after_m),
		cmocka_unit_test(test_flapping_candidate_never_opens),
		cmocka_unit_test(test_one_incident_per_subject_and_peak),
		cmocka_unit_test(test_fact_kinds_open_at_once),
		cmocka_unit_test(test_restart_seed),
		cmocka_unit_test(test_kind_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
