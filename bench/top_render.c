/* top_render: time proxytop's rendering of a large synthetic model into the
 * text grid (1,000 listeners, 100k sockets summarised per port and process)
 * and print the median per panel and per full frame. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/sbuf.h"
#include "tui/draw.h"
#include "tui/input.h"
#include "tui/model.h"
#include "tui/panel.h"

#define NLISTENERS 1000
#define NSOCKETS 100000
#define NPROCS 4
#define RUNS 51

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* 1,000 listeners on 1,000 ports, each owned by one of NPROCS processes;
 * 100k sockets spread over those (port, pid) rows in every state. */
static int build(struct tm_model *m, const struct tm_model *prev, unsigned seed)
{
	size_t i, s, total = 0;

	tm_model_clear(m);
	m->version = 1;
	snprintf(m->host, sizeof(m->host), "bench");
	m->t_ms = 1763700000000LL + seed * 1000LL;
	m->started_ms = 1763690000000LL;
	m->tick = seed;
	m->active_gen = 5;
	if (tm_grow((void **)&m->gens, &m->cap_gens, NPROCS, sizeof(*m->gens)) == -1 ||
	    tm_grow((void **)&m->listeners, &m->cap_listeners, NLISTENERS,
		    sizeof(*m->listeners)) == -1 ||
	    tm_grow((void **)&m->ports, &m->cap_ports, NLISTENERS, sizeof(*m->ports)) == -1 ||
	    tm_grow((void **)&m->incidents, &m->cap_incidents, 20, sizeof(*m->incidents)) == -1)
		return -1;
	for (i = 0; i < NPROCS; i++) {
		struct tm_gen *g = &m->gens[m->ngens++];

		memset(g, 0, sizeof(*g));
		g->gen = 5 - (int64_t)i;
		g->pid = 1000 + (int64_t)i;
		snprintf(g->state, sizeof(g->state), "%s", i ? "draining" : "active");
		g->started_ms = m->started_ms + (int64_t)i * 1000;
		g->sessions = NSOCKETS / NPROCS;
	}
	for (i = 0; i < NLISTENERS; i++) {
		struct tm_listener *l = &m->listeners[m->nlisteners++];
		struct tm_port *p = &m->ports[m->nports++];

		memset(l, 0, sizeof(*l));
		snprintf(l->addr, sizeof(l->addr), "10.%zu.%zu.1:%zu", i / 250, i % 250, 10000 + i);
		l->queue = (int64_t)((i * 7 + seed) % 130);
		l->backlog = 128;
		l->overflows = (int64_t)(i * seed);
		l->nsockets = 1 + (i % 97 == 0);
		l->duplicate = i % 97 == 0;
		l->owners[0] = 1000 + (int64_t)(i % NPROCS);
		l->nowners = 1;
		memset(p, 0, sizeof(*p));
		p->port = 10000 + (int64_t)i;
		p->pid = 1000 + (int64_t)(i % NPROCS);
		for (s = 0; s < TM_NSTATES; s++) {
			p->n[s] = (int64_t)((NSOCKETS / NLISTENERS / TM_NSTATES) + ((i + s + seed) % 3));
			total += (size_t)p->n[s];
		}
	}
	for (i = 0; i < 20; i++) {
		struct tm_incident *in = &m->incidents[m->nincidents++];

		memset(in, 0, sizeof(*in));
		in->id = (int64_t)i + 1;
		snprintf(in->kind, sizeof(in->kind), "half_close_buildup");
		snprintf(in->severity, sizeof(in->severity), i % 3 ? "warning" : "critical");
		snprintf(in->subject, sizeof(in->subject), "pid:%zu", 1000 + i);
		snprintf(in->summary, sizeof(in->summary), "%zu sockets half-closed", total / 20);
		in->opened_ms = m->t_ms - (int64_t)i * 60000;
		in->resolved_ms = i > 10 ? m->t_ms - 1000 : 0;
	}
	tm_model_finish(m, prev);
	return 0;
}

int main(void)
{
	struct tm_model m[2];
	struct tv_grid g = { 0 };
	struct tv_rows rows = { 0 };
	struct tv_frame f = { 0 };
	struct tu_state u;
	struct sbuf out;
	uint64_t t[TP_NPANELS][RUNS], tt[RUNS], t0;
	size_t nsock = 0, i;
	int p, r, cur = 0, rc = 1;

	tm_model_init(&m[0]);
	tm_model_init(&m[1]);
	sb_init(&out);
	/* two minutes of history, so every sparkline is full */
	for (r = 0; r < 121; r++) {
		if (build(&m[!cur], &m[cur], (unsigned)r + 1) == -1)
			goto out;
		cur = !cur;
	}
	for (i = 0; i < m[cur].nports; i++)
		for (p = 0; p < TM_NSTATES; p++)
			nsock += (size_t)m[cur].ports[i].n[p];
	if (tv_grid_resize(&g, 200, 60) == -1)
		goto out;
	f.m = &m[cur];
	f.now_ms = m[cur].t_ms;
	f.connected = 1;
	tu_init(&u, 0);
	for (r = 0; r < RUNS; r++) {
		uint64_t a = clock_mono_us();

		for (p = 0; p < TP_NPANELS; p++) {
			u.panel = (enum tp_id)p;
			/* sort on a number column, as a busy operator would */
			u.sort[p] = p == TP_LISTENERS ? 3 : u.sort[p];
			t0 = clock_mono_us();
			if (tv_render(&g, &f, &u, &rows) == -1)
				goto out;
			sb_reset(&out);
			tv_grid_text(&g, &out);
			t[p][r] = clock_mono_us() - t0;
		}
		tt[r] = clock_mono_us() - a;
	}
	printf("top_render: %zu listeners, %zu sockets in %zu (port, pid) rows, "
	       "grid 200x60, %d runs\n", m[cur].nlisteners, nsock, m[cur].nports, RUNS);
	for (p = 0; p < TP_NPANELS; p++) {
		qsort(t[p], RUNS, sizeof(t[p][0]), cmp_u64);
		printf("  %-12s median %.3f ms  max %.3f ms\n", tp_panels[p]->name,
		       (double)t[p][RUNS / 2] / 1e3, (double)t[p][RUNS - 1] / 1e3);
	}
	qsort(tt, RUNS, sizeof(tt[0]), cmp_u64);
	printf("  slowest frame (listeners) median %.3f ms; target < 10 ms: %s\n",
	       (double)t[TP_LISTENERS][RUNS / 2] / 1e3,
	       t[TP_LISTENERS][RUNS / 2] < 10000 && t[TP_SOCKETS][RUNS / 2] < 10000 ? "ok" : "MISSED");
	rc = 0;
out:
	sb_free(&out);
	tv_rows_free(&rows);
	tv_grid_free(&g);
	tm_model_free(&m[1]);
	tm_model_free(&m[0]);
	return rc;
}
