#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonparse.h"
#include "common/sbuf.h"
#include "tui/draw.h"
#include "tui/input.h"
#include "tui/model.h"
#include "tui/panel.h"

static const char line1[] =
	"{\"v\":1,\"t\":1763700000000,\"tick\":42,\"tick_ms\":3.2,\"host\":\"web-1\","
	"\"started\":1763690000000,\"active_gen\":3,\"reloads\":2,\"reloads_failed\":0,"
	"\"future_key\":{\"x\":[1,2,3]},"
	"\"generations\":[{\"gen\":3,\"pid\":1234,\"state\":\"active\",\"started\":1763699000000,"
	"\"ready\":1763699001000,\"drain_since\":null,\"deadline\":null,\"sessions\":12,"
	"\"states\":{\"ESTAB\":10,\"CLOSE-WAIT\":2,\"WEIRD\":5},\"peers\":{\"10.0.0.1:80\":3},\"new\":1},"
	"{\"gen\":2,\"pid\":1200,\"state\":\"draining\",\"started\":1763690000000,"
	"\"drain_since\":1763699500000,\"deadline\":1763700030000,\"sessions\":4}],"
	"\"listeners\":[{\"addr\":\"127.0.0.1:8080\",\"queue\":5,\"backlog\":128,\"overflows\":10,"
	"\"sockets\":[{\"ino\":5678,\"queue\":5,\"backlog\":128,\"owners\":[1,1234]},"
	"{\"ino\":5679,\"queue\":0,\"backlog\":128,\"owners\":[999]}],\"duplicate\":true},"
	"{\"addr\":\"0.0.0.0:443\",\"queue\":0,\"backlog\":511,\"overflows\":0,\"sockets\":[],"
	"\"duplicate\":false}],"
	"\"ports\":[{\"port\":8080,\"pid\":1234,\"states\":{\"ESTAB\":10,\"FIN-WAIT-2\":1},"
	"\"oldest_ms\":{\"FIN-WAIT-2\":3000}}],"
	"\"servers\":[{\"gen\":3,\"backend\":\"app\",\"server\":\"s1\",\"status\":\"UP\",\"scur\":3,"
	"\"smax\":9,\"slim\":100,\"eff_maxconn\":100,\"qcur\":0,\"qmax\":0,\"check\":\"L4OK\","
	"\"weight\":1}],"
	"\"incidents\":[{\"id\":7,\"kind\":\"half_close_buildup\",\"severity\":\"warning\","
	"\"subject\":\"pid:1234\",\"opened\":1763699900000,\"updated\":1763700000000,"
	"\"summary\":\"12 CLOSE-WAIT on :8080\"}],"
	"\"store\":{\"path\":\"/run/proxysv/incidents.db\",\"dropped_writes\":0,\"errors\":0,"
	"\"last_error\":null}}";

static const char line2[] =
	"{\"v\":1,\"t\":1763700002000,\"tick\":44,\"host\":\"web-1\",\"active_gen\":3,"
	"\"generations\":[],\"listeners\":[{\"addr\":\"127.0.0.1:8080\",\"queue\":9,"
	"\"backlog\":128,\"overflows\":16,\"sockets\":[],\"duplicate\":false}],"
	"\"ports\":[{\"port\":8080,\"pid\":1234,\"states\":{\"ESTAB\":10,\"FIN-WAIT-2\":4}}],"
	"\"servers\":[],\"incidents\":[],\"store\":null}";

struct fx {
	struct tm_model m[2];
	struct jp_doc d;
};

static int fx_setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	tm_model_init(&f.m[0]);
	tm_model_init(&f.m[1]);
	jp_init(&f.d);
	*state = &f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	tm_model_free(&f->m[0]);
	tm_model_free(&f->m[1]);
	jp_free(&f->d);
	return 0;
}

static int load(struct fx *f, int which, const struct tm_model *prev, const char *s)
{
	char err[200];

	return tm_model_from_json(&f->m[which], prev, &f->d, s, strlen(s), err, sizeof(err));
}

static void test_model_from_json_full(void **state)
{
	struct fx *f = *state;
	struct tm_model *m = &f->m[0];

	assert_int_equal(load(f, 0, NULL, line1), 0);
	assert_true(m->valid);
	assert_string_equal(m->host, "web-1");
	assert_int_equal(m->tick, 42);
	assert_int_equal(m->active_gen, 3);
	assert_int_equal(m->unknown_keys, 1);
	assert_int_equal(m->ngens, 2);
	assert_int_equal(m->gens[0].states[TM_ESTAB], 10);
	assert_int_equal(m->gens[0].states[TM_CLOSE_WAIT], 2);
	assert_int_equal(m->gens[0].drain_since_ms, 0);
	assert_int_equal(m->gens[1].deadline_ms, 1763700030000LL);
	assert_int_equal(tm_model_alive(m), 2);
	assert_int_equal(tm_model_sessions(m), 16);
	/* listeners sorted by address */
	assert_int_equal(m->nlisteners, 2);
	assert_string_equal(m->listeners[0].addr, "0.0.0.0:443");
	assert_string_equal(m->listeners[1].addr, "127.0.0.1:8080");
	assert_int_equal(m->listeners[1].nsockets, 2);
	assert_int_equal(m->listeners[1].nowners, 3);
	assert_int_equal(m->listeners[1].owners[2], 999);
	assert_true(m->listeners[1].duplicate);
	assert_true(m->listeners[1].ovf_rate < 0); /* no previous tick */
	assert_int_equal(m->nports, 1);
	assert_int_equal(m->ports[0].n[TM_FIN_WAIT2], 1);
	assert_int_equal(m->ports[0].oldest_ms[TM_FIN_WAIT2], 3000);
	assert_int_equal(m->ports[0].half, 1);
	assert_int_equal(m->nservers, 1);
	assert_string_equal(m->servers[0].check, "L4OK");
	assert_int_equal(m->nincidents, 1);
	assert_int_equal(m->incidents[0].id, 7);
	assert_int_equal(tm_model_open_incidents(m), 1);
	assert_true(m->have_store);
	assert_string_equal(m->store_path, "/run/proxysv/incidents.db");
}

static void test_model_history_and_rates(void **state)
{
	struct fx *f = *state;
	struct tm_listener *l;

	assert_int_equal(load(f, 0, NULL, line1), 0);
	assert_int_equal(load(f, 1, &f->m[0], line2), 0);
	l = &f->m[1].listeners[0];
	assert_string_equal(l->addr, "127.0.0.1:8080");
	assert_int_equal(l->hist.n, 2);
	assert_true(tm_hist_get(&l->hist, 0) == 5.0f);
	assert_true(tm_hist_get(&l->hist, 1) == 9.0f);
	/* 6 overflows in 2 s */
	assert_true(l->ovf_rate > 2.99 && l->ovf_rate < 3.01);
	assert_int_equal(f->m[1].ports[0].half_delta, 3);
	assert_true(f->m[1].ports[0].have_prev);
	assert_false(f->m[1].have_store);
}

/* Store history goes before the live values; the ring keeps the newest. */
static void test_hist_prepend(void **state)
{
	struct fx *f = *state;
	struct tm_listener *l;
	float old[TM_HIST + 10];
	size_t i;

	assert_int_equal(load(f, 0, NULL, line1), 0);
	assert_null(tm_listener_find(&f->m[0], "127.0.0.1:9999"));
	assert_null(tm_listener_find(&f->m[0], "127.0.0.1:808"));
	l = tm_listener_find(&f->m[0], "127.0.0.1:8080");
	assert_non_null(l);
	assert_string_equal(l->addr, "127.0.0.1:8080");
	assert_non_null(tm_listener_find(&f->m[0], "0.0.0.0:443"));
	assert_int_equal(l->hist.n, 1);
	for (i = 0; i < 3; i++)
		old[i] = (float)(i + 1);
	tm_hist_prepend(&l->hist, old, 3);
	assert_int_equal(l->hist.n, 4);
	assert_true(tm_hist_get(&l->hist, 0) == 1.0f);
	assert_true(tm_hist_get(&l->hist, 2) == 3.0f);
	assert_true(tm_hist_get(&l->hist, 3) == 5.0f);  /* the live value, last */
	/* the live one carries over to the next tick, after the store's */
	assert_int_equal(load(f, 1, &f->m[0], line2), 0);
	l = tm_listener_find(&f->m[1], "127.0.0.1:8080");
	assert_int_equal(l->hist.n, 5);
	assert_true(tm_hist_get(&l->hist, 0) == 1.0f);
	assert_true(tm_hist_get(&l->hist, 4) == 9.0f);
	/* more than fits: the oldest fall out, the newest stay */
	for (i = 0; i < TM_HIST + 10; i++)
		old[i] = (float)(100 + i);
	tm_hist_prepend(&l->hist, old, TM_HIST + 10);
	assert_int_equal(l->hist.n, TM_HIST);
	assert_true(tm_hist_get(&l->hist, TM_HIST - 1) == 9.0f);
	assert_true(tm_hist_get(&l->hist, TM_HIST - 6) == (float)(100 + TM_HIST + 9));
	assert_true(tm_hist_get(&l->hist, 0) == (float)(100 + 15));
	/* nothing to add changes nothing */
	tm_hist_prepend(&l->hist, old, 0);
	assert_int_equal(l->hist.n, TM_HIST);
	assert_true(tm_hist_get(&l->hist, TM_HIST - 1) == 9.0f);
}

static void test_model_malformed_lines(void **state)
{
	static const char *const bad[] = {
		"", "{", "[1,2]", "{\"v\":1}", "{\"tick\":1}", "{\"v\":1,\"tick\":1,}",
		"{\"v\":\"1\",\"tick\":1}", "garbage", "{\"v\":1,\"tick\":1} trailing",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load(f, 0, NULL, bad[i]) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_false(f->m[0].valid);
		assert_int_equal(f->m[0].nlisteners, 0);
	}
	/* wrong types inside are tolerated (defaults), not fatal */
	assert_int_equal(load(f, 0, NULL, "{\"v\":1,\"tick\":1,\"generations\":{},"
			      "\"listeners\":[1,\"x\",{\"addr\":5,\"queue\":\"q\"}]}"), 0);
	assert_int_equal(f->m[0].ngens, 0);
	assert_int_equal(f->m[0].nlisteners, 1);
	assert_string_equal(f->m[0].listeners[0].addr, "");
	assert_int_equal(f->m[0].listeners[0].queue, 0);
}

static void test_linebuf_partial_lines(void **state)
{
	struct tm_linebuf lb;
	char *line, big[64];
	size_t len;

	(void)state;
	tm_linebuf_init(&lb, 32);
	assert_int_equal(tm_linebuf_feed(&lb, "{\"a\":", 5), 0);
	assert_int_equal(tm_linebuf_next(&lb, &line, &len), 0);
	assert_int_equal(tm_linebuf_feed(&lb, "1}\r\n{\"b\"", 8), 0);
	assert_int_equal(tm_linebuf_next(&lb, &line, &len), 1);
	assert_string_equal(line, "{\"a\":1}");
	assert_int_equal(len, 7);
	assert_int_equal(tm_linebuf_next(&lb, &line, &len), 0);
	assert_int_equal(tm_linebuf_feed(&lb, ":2}\n", 4), 0);
	assert_int_equal(tm_linebuf_next(&lb, &line, &len), 1);
	assert_string_equal(line, "{\"b\":2}");
	/* an overlong line is dropped whole, the next one survives */
	memset(big, 'x', sizeof(big));
	assert_int_equal(tm_linebuf_feed(&lb, big, sizeof(big)), 0);
	assert_int_equal(tm_linebuf_feed(&lb, big, 10), 0);
	assert_int_equal(tm_linebuf_feed(&lb, "tail\nok\n", 8), 0);
	assert_int_equal(tm_linebuf_next(&lb, &line, &len), 1);
	assert_string_equal(line, "ok");
	assert_int_equal(lb.dropped, 1);
	tm_linebuf_free(&lb);
}

static void test_rows_sort_and_filter(void **state)
{
	struct fx *f = *state;
	struct tv_ctx x = { .m = &f->m[0], .now_ms = 1763700000000LL, .ascii = 1 };
	struct tv_rows r = { 0 };
	struct tu_state u;

	assert_int_equal(load(f, 0, NULL, line1), 0);
	tu_init(&u, 0);
	/* generations: gen descending by default */
	assert_int_equal(tv_rows_build(&r, &x, TP_GENERATIONS, &u), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(f->m[0].gens[r.idx[0]].gen, 3);
	u.rev[TP_GENERATIONS] = 0;
	assert_int_equal(tv_rows_build(&r, &x, TP_GENERATIONS, &u), 0);
	assert_int_equal(f->m[0].gens[r.idx[0]].gen, 2);
	/* listeners by port: 443 before 8080; by queue descending: 8080 first */
	assert_int_equal(tv_rows_build(&r, &x, TP_LISTENERS, &u), 0);
	assert_string_equal(f->m[0].listeners[r.idx[0]].addr, "0.0.0.0:443");
	u.sort[TP_LISTENERS] = 3;
	u.rev[TP_LISTENERS] = 1;
	assert_int_equal(tv_rows_build(&r, &x, TP_LISTENERS, &u), 0);
	assert_string_equal(f->m[0].listeners[r.idx[0]].addr, "127.0.0.1:8080");
	/* filter on any column's text */
	snprintf(u.filter[TP_LISTENERS], TU_FILTER_LEN, "443");
	assert_int_equal(tv_rows_build(&r, &x, TP_LISTENERS, &u), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(f->m[0].listeners[r.idx[0]].addr, "0.0.0.0:443");
	snprintf(u.filter[TP_LISTENERS], TU_FILTER_LEN, "DUP 999");
	assert_int_equal(tv_rows_build(&r, &x, TP_LISTENERS, &u), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(f->m[0].listeners[r.idx[0]].addr, "127.0.0.1:8080");
	snprintf(u.filter[TP_LISTENERS], TU_FILTER_LEN, "nothing-like-this");
	assert_int_equal(tv_rows_build(&r, &x, TP_LISTENERS, &u), 0);
	assert_int_equal(r.n, 0);
	tv_rows_free(&r);
}

static void test_render_text_frame(void **state)
{
	struct fx *f = *state;
	struct tv_frame fr = { 0 };
	struct tu_state u;
	struct sbuf out;
	const char *s;

	assert_int_equal(load(f, 0, NULL, line1), 0);
	f->m[0].rx_mono_ms = 1000;
	fr.m = &f->m[0];
	fr.now_ms = 1763700000000LL;
	fr.mono_ms = 1000;
	fr.connected = 1;
	fr.ascii = 1;
	tu_init(&u, 0);
	sb_init(&out);
	assert_int_equal(tv_render_text(&out, &fr, &u, -1, 120), 0);
	s = sb_cstr(&out);
	assert_non_null(strstr(s, "web-1"));
	assert_non_null(strstr(s, "gen 3 (2 alive)"));
	assert_non_null(strstr(s, "incidents 1"));
	assert_non_null(strstr(s, "1 Generations(2)"));
	assert_non_null(strstr(s, "draining"));
	assert_non_null(strstr(s, "127.0.0.1:8080"));
	assert_non_null(strstr(s, "1,1234,999"));
	assert_non_null(strstr(s, "DUP"));
	assert_non_null(strstr(s, "half_close_buildup"));
	assert_non_null(strstr(s, "app/s1"));
	/* the draining generation's deadline is 30 s away */
	assert_non_null(strstr(s, "30s"));
	/* no line wider than asked */
	for (const char *p = s; *p;) {
		const char *e = strchr(p, '\n');

		assert_true(e - p <= 120);
		p = e + 1;
	}
	/* one panel only */
	sb_reset(&out);
	assert_int_equal(tv_render_text(&out, &fr, &u, TP_SERVERS, 100), 0);
	assert_null(strstr(sb_cstr(&out), "127.0.0.1:8080"));
	assert_non_null(strstr(sb_cstr(&out), "L4OK"));
	sb_free(&out);
}

static void test_render_small_and_stale(void **state)
{
	struct fx *f = *state;
	struct tv_grid g = { 0 };
	struct tv_rows r = { 0 };
	struct tv_frame fr = { 0 };
	struct tu_state u;
	struct sbuf out;
	size_t i;
	int found = 0;

	assert_int_equal(load(f, 0, NULL, line1), 0);
	f->m[0].rx_mono_ms = 1000;
	fr.m = &f->m[0];
	fr.now_ms = 1763700000000LL;
	fr.mono_ms = 1000 + 5000;     /* 5 ticks old */
	fr.interval_ms = 1000;
	fr.connected = 1;
	tu_init(&u, 0);
	sb_init(&out);
	assert_int_equal(tv_grid_resize(&g, 79, 30), 0);
	assert_int_equal(tv_render(&g, &fr, &u, &r), 0);
	tv_grid_text(&g, &out);
	assert_non_null(strstr(sb_cstr(&out), "terminal too small"));
	assert_int_equal(tv_grid_resize(&g, 100, 30), 0);
	assert_int_equal(tv_render(&g, &fr, &u, &r), 0);
	assert_true(tv_tick_age(&fr) > 4.9);
	/* the age is drawn red and bold */
	for (i = 0; i < (size_t)g.w; i++)
		if (g.c[i].ch == 'a' && g.c[i + 1].ch == 'g' && g.c[i + 2].ch == 'e') {
			assert_int_equal(TV_COLOR_OF(g.c[i].attr), TV_C_RED);
			assert_true(g.c[i].attr & TV_BOLD);
			found = 1;
		}
	assert_true(found);
	tv_rows_free(&r);
	tv_grid_free(&g);
	sb_free(&out);
}

static void test_keys_actions(void **state)
{
	struct fx *f = *state;
	struct tv_ctx x = { .m = &f->m[0], .now_ms = 1763700000000LL };
	struct tv_rows r = { 0 };
	struct tu_state u;
	int fl;

	assert_int_equal(load(f, 0, NULL, line1), 0);
	tu_init(&u, 0);
	assert_int_equal(tv_rows_build(&r, &x, TP_GENERATIONS, &u), 0);
	/* drain the selected (second: gen 2) generation, confirmed */
	tu_key(&u, &f->m[0], &r, TU_KEY_DOWN, 10);
	fl = tu_key(&u, &f->m[0], &r, 'd', 10);
	assert_int_equal(u.mode, TU_CONFIRM);
	assert_false(fl & TU_SEND);
	fl = tu_key(&u, &f->m[0], &r, 'y', 10);
	assert_true(fl & TU_SEND);
	assert_string_equal(u.send, "drain 2");
	/* n cancels */
	tu_key(&u, &f->m[0], &r, 'k', 10);
	fl = tu_key(&u, &f->m[0], &r, 'n', 10);
	assert_false(fl & TU_SEND);
	assert_int_equal(u.mode, TU_NORMAL);
	/* panels by number and Tab; x on the sockets panel */
	tu_key(&u, &f->m[0], &r, '3', 10);
	assert_int_equal(u.panel, TP_SOCKETS);
	assert_int_equal(tv_rows_build(&r, &x, TP_SOCKETS, &u), 0);
	tu_key(&u, &f->m[0], &r, 'x', 10);
	tu_key(&u, &f->m[0], &r, 'y', 10);
	assert_string_equal(u.send, "destroy 8080");
	tu_key(&u, &f->m[0], &r, '\t', 10);
	assert_int_equal(u.panel, TP_SERVERS);
	/* filter typing */
	tu_key(&u, &f->m[0], &r, '/', 10);
	tu_key(&u, &f->m[0], &r, 'a', 10);
	tu_key(&u, &f->m[0], &r, 'b', 10);
	tu_key(&u, &f->m[0], &r, TU_KEY_BACKSPACE, 10);
	tu_key(&u, &f->m[0], &r, TU_KEY_ENTER, 10);
	assert_string_equal(u.filter[TP_SERVERS], "a");
	assert_true(tu_key(&u, &f->m[0], &r, 'q', 10) & TU_QUIT);
	/* standalone: no actions */
	tu_init(&u, 1);
	tu_key(&u, &f->m[0], &r, 'r', 10);
	assert_int_equal(u.mode, TU_NORMAL);
	assert_string_equal(u.msg, "no supervisor: actions unavailable");
	assert_int_equal(tu_panel_parse("listeners"), TP_LISTENERS);
	assert_int_equal(tu_panel_parse("5"), TP_INCIDENTS);
	assert_int_equal(tu_panel_parse("bogus"), -1);
	tv_rows_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_model_from_json_full, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_model_history_and_rates, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hist_prepend, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_model_malformed_lines, fx_setup, fx_teardown),
		cmocka_unit_test(test_linebuf_partial_lines),
		cmocka_unit_test_setup_teardown(test_rows_sort_and_filter, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_render_text_frame, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_render_small_and_stale, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_actions, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
