#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/fmt.h"
#include "tui/model.h"
#include "tui/panel.h"

#define TP_SPARK_W 24

int tp_addr_port(const char *addr)
{
	const char *c = strrchr(addr, ':');

	return c ? atoi(c + 1) : 0;
}

int tp_severity_rank(const char *sev)
{
	if (strcmp(sev, "critical") == 0)
		return 2;
	if (strcmp(sev, "warning") == 0)
		return 1;
	return 0;
}

static void tp_num(int64_t v, char *buf, size_t len)
{
	fmt_human(v, buf, len);
}

static void tp_age(const struct tv_ctx *x, int64_t since_ms, char *buf, size_t len)
{
	if (since_ms <= 0)
		snprintf(buf, len, "-");
	else
		fmt_duration(x->now_ms - since_ms, buf, len);
}

/* ---- generations ---- */

static const struct fmt_col tp_gen_cols[] = {
	{ "GEN", 4, 5, 1, 0 },
	{ "PID", 7, 8, 1, 0 },
	{ "STATE", 9, 10, 0, 0 },
	{ "NAME", 6, 16, 0, 0 },
	{ "AGE", 7, 8, 1, 0 },
	{ "SESS", 6, 7, 1, 0 },
	{ "ESTAB", 6, 7, 1, 0 },
	{ "HALF", 5, 6, 1, 0 },
	{ "DRAINING", 8, 9, 1, 0 },
	{ "DEADLINE", 8, 10, 1, 0 },
};

static size_t tp_gen_count(const struct tm_model *m)
{
	return m->ngens;
}

static int64_t tp_gen_half(const struct tm_gen *g)
{
	return g->states[TM_CLOSE_WAIT] + g->states[TM_FIN_WAIT1] + g->states[TM_FIN_WAIT2] +
	       g->states[TM_LAST_ACK] + g->states[TM_CLOSING];
}

static unsigned tp_gen_cell(const struct tv_ctx *x, size_t r, size_t col, char *buf, size_t len)
{
	const struct tm_gen *g = &x->m->gens[r];

	switch (col) {
	case 0:
		if (g->gen > 0)
			snprintf(buf, len, "%" PRId64, g->gen);
		else
			snprintf(buf, len, "-");
		break;
	case 1: snprintf(buf, len, "%" PRId64, g->pid); break;
	case 2:
		snprintf(buf, len, "%s", g->state);
		if (strcmp(g->state, "active") == 0)
			return TV_COLOR(TV_C_GREEN) | TV_BOLD;
		if (strcmp(g->state, "draining") == 0)
			return TV_COLOR(TV_C_YELLOW);
		if (strcmp(g->state, "stopping") == 0 || strcmp(g->state, "killed") == 0)
			return TV_COLOR(TV_C_RED);
		break;
	case 3: snprintf(buf, len, "%s", g->name[0] ? g->name : "-"); break;
	case 4: tp_age(x, g->started_ms, buf, len); break;
	case 5: tp_num(g->sessions, buf, len); break;
	case 6: tp_num(g->states[TM_ESTAB], buf, len); break;
	case 7: tp_num(tp_gen_half(g), buf, len); break;
	case 8: tp_age(x, g->drain_since_ms, buf, len); break;
	case 9:
		if (g->deadline_ms <= 0) {
			snprintf(buf, len, "-");
		} else if (g->deadline_ms < x->now_ms) {
			char d[24];

			fmt_duration(x->now_ms - g->deadline_ms, d, sizeof(d));
			snprintf(buf, len, "+%s", d);
			return TV_COLOR(TV_C_RED) | TV_BOLD;
		} else {
			fmt_duration(g->deadline_ms - x->now_ms, buf, len);
		}
		break;
	default: buf[0] = '\0';
	}
	return 0;
}

static unsigned tp_gen_row_attr(const struct tv_ctx *x, size_t r)
{
	const struct tm_gen *g = &x->m->gens[r];

	if (strcmp(g->state, "exited") == 0)
		return TV_DIM;
	return 0;
}

static int tp_gen_cmp(const struct tm_model *m, size_t a, size_t b, size_t col)
{
	const struct tm_gen *x = &m->gens[a], *y = &m->gens[b];

	switch (col) {
	case 0: return fmt_cmp_i64(x->gen, y->gen);
	case 1: return fmt_cmp_i64(x->pid, y->pid);
	case 2: return strcmp(x->state, y->state);
	case 3: return strcmp(x->name, y->name);
	case 4: return fmt_cmp_i64(y->started_ms, x->started_ms);
	case 5: return fmt_cmp_i64(x->sessions, y->sessions);
	case 6: return fmt_cmp_i64(x->states[TM_ESTAB], y->states[TM_ESTAB]);
	case 7: return fmt_cmp_i64(tp_gen_half(x), tp_gen_half(y));
	case 8: return fmt_cmp_i64(x->drain_since_ms, y->drain_since_ms);
	default: return fmt_cmp_i64(x->deadline_ms, y->deadline_ms);
	}
}

static const struct tp_panel tp_generations = {
	.name = "Generations",
	.cols = tp_gen_cols,
	.ncols = sizeof(tp_gen_cols) / sizeof(tp_gen_cols[0]),
	.def_sort = 0,
	.def_rev = 1,
	.count = tp_gen_count,
	.cell = tp_gen_cell,
	.row_attr = tp_gen_row_attr,
	.cmp = tp_gen_cmp,
};

/* ---- listeners ---- */

static const struct fmt_col tp_lis_cols[] = {
	{ "ADDRESS", 16, 40, 0, 0 },
	{ "OWNERS", 8, 24, 0, 0 },
	{ "SOCKS", 5, 5, 1, 0 },
	{ "QUEUE", 6, 7, 1, 0 },
	{ "BACKLOG", 7, 8, 1, 0 },
	{ "QUEUE HISTORY", 12, TP_SPARK_W, 0, 1 },
	{ "OVF/S", 6, 7, 1, 0 },
	{ "", 3, 3, 0, 0 },
};

static size_t tp_lis_count(const struct tm_model *m)
{
	return m->nlisteners;
}

static unsigned tp_lis_cell(const struct tv_ctx *x, size_t r, size_t col, char *buf, size_t len)
{
	const struct tm_listener *l = &x->m->listeners[r];
	float v[TM_HIST];
	size_t i, o;

	switch (col) {
	case 0: snprintf(buf, len, "%s", l->addr); break;
	case 1:
		o = 0;
		buf[0] = '\0';
		for (i = 0; i < l->nowners && i < TM_MAX_OWNERS && o + 1 < len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%s%" PRId64, i ? "," : "",
					      l->owners[i]);
		if (l->nowners > TM_MAX_OWNERS && o + 1 < len)
			snprintf(buf + o, len - o, ",+%u", l->nowners - TM_MAX_OWNERS);
		if (l->nowners == 0)
			snprintf(buf, len, "?");
		break;
	case 2: snprintf(buf, len, "%u", l->nsockets); break;
	case 3:
		tp_num(l->queue, buf, len);
		if (l->backlog > 0 && l->queue * 10 >= l->backlog * 8)
			return TV_COLOR(TV_C_RED) | TV_BOLD;
		if (l->queue > 0)
			return TV_COLOR(TV_C_YELLOW);
		break;
	case 4: tp_num(l->backlog, buf, len); break;
	case 5:
		for (i = 0; i < l->hist.n; i++)
			v[i] = tm_hist_get(&l->hist, i);
		fmt_spark(v, l->hist.n, (float)l->backlog / 8.0f, TP_SPARK_W, x->ascii, buf, len);
		return TV_COLOR(TV_C_CYAN);
	case 6:
		if (l->ovf_rate < 0) {
			snprintf(buf, len, "-");
		} else {
			snprintf(buf, len, "%.1f", l->ovf_rate);
			if (l->ovf_rate > 0)
				return TV_COLOR(TV_C_RED) | TV_BOLD;
		}
		break;
	case 7:
		snprintf(buf, len, "%s", l->duplicate ? "DUP" : "");
		break;
	default: buf[0] = '\0';
	}
	return 0;
}

static unsigned tp_lis_row_attr(const struct tv_ctx *x, size_t r)
{
	return x->m->listeners[r].duplicate ? TV_COLOR(TV_C_RED) | TV_BOLD : 0;
}

static int tp_lis_cmp(const struct tm_model *m, size_t a, size_t b, size_t col)
{
	const struct tm_listener *x = &m->listeners[a], *y = &m->listeners[b];
	int c;

	switch (col) {
	case 0:
		c = fmt_cmp_i64(tp_addr_port(x->addr), tp_addr_port(y->addr));
		return c ? c : strcmp(x->addr, y->addr);
	case 1: return fmt_cmp_i64(x->nowners ? x->owners[0] : 0, y->nowners ? y->owners[0] : 0);
	case 2: return fmt_cmp_i64(x->nsockets, y->nsockets);
	case 3: case 5: return fmt_cmp_i64(x->queue, y->queue);
	case 4: return fmt_cmp_i64(x->backlog, y->backlog);
	case 6: return fmt_cmp_dbl(x->ovf_rate, y->ovf_rate);
	default: return fmt_cmp_i64(x->duplicate, y->duplicate);
	}
}

static const struct tp_panel tp_listeners = {
	.name = "Listeners",
	.cols = tp_lis_cols,
	.ncols = sizeof(tp_lis_cols) / sizeof(tp_lis_cols[0]),
	.def_sort = 0,
	.def_rev = 0,
	.count = tp_lis_count,
	.cell = tp_lis_cell,
	.row_attr = tp_lis_row_attr,
	.cmp = tp_lis_cmp,
};

/* ---- sockets ---- */

static const struct fmt_col tp_sock_cols[] = {
	{ "PORT", 5, 6, 1, 0 },
	{ "PID", 7, 8, 1, 0 },
	{ "NAME", 6, 15, 0, 0 },
	{ "ESTAB", 6, 7, 1, 0 },
	{ "SYN-RECV", 8, 8, 1, 0 },
	{ "CLOSE-WAIT", 10, 10, 1, 0 },
	{ "FIN-WAIT-1", 10, 10, 1, 0 },
	{ "FIN-WAIT-2", 10, 10, 1, 0 },
	{ "TIME-WAIT", 9, 9, 1, 0 },
	{ "LAST-ACK", 8, 8, 1, 0 },
	{ "TREND", 5, 6, 1, 0 },
	{ "HALF-CLOSED HISTORY", 8, 20, 0, 1 },
};

/* Column -> state for the count columns. */
static const int tp_sock_state[] = {
	-1, -1, -1, TM_ESTAB, TM_SYN_RECV, TM_CLOSE_WAIT, TM_FIN_WAIT1, TM_FIN_WAIT2,
	TM_TIME_WAIT, TM_LAST_ACK, -1, -1,
};

static size_t tp_sock_count(const struct tm_model *m)
{
	return m->nports;
}

static unsigned tp_sock_cell(const struct tv_ctx *x, size_t r, size_t col, char *buf, size_t len)
{
	const struct tm_port *p = &x->m->ports[r];
	float v[TM_HIST];
	size_t i;
	int s;

	switch (col) {
	case 0: snprintf(buf, len, "%" PRId64, p->port); break;
	case 1:
		if (p->pid > 0)
			snprintf(buf, len, "%" PRId64, p->pid);
		else
			snprintf(buf, len, "-");
		break;
	case 2: snprintf(buf, len, "%s", p->name[0] ? p->name : "-"); break;
	case 10:
		if (!p->have_prev) {
			snprintf(buf, len, "-");
		} else if (p->half_delta > 0) {
			snprintf(buf, len, "+%" PRId64, p->half_delta);
			return TV_COLOR(TV_C_RED) | TV_BOLD;
		} else if (p->half_delta < 0) {
			snprintf(buf, len, "%" PRId64, p->half_delta);
			return TV_COLOR(TV_C_GREEN);
		} else {
			snprintf(buf, len, "=");
		}
		break;
	case 11:
		for (i = 0; i < p->hist.n; i++)
			v[i] = tm_hist_get(&p->hist, i);
		fmt_spark(v, p->hist.n, 1.0f, 20, x->ascii, buf, len);
		return TV_COLOR(TV_C_CYAN);
	default:
		if (col >= sizeof(tp_sock_state) / sizeof(tp_sock_state[0]) ||
		    (s = tp_sock_state[col]) < 0) {
			buf[0] = '\0';
			break;
		}
		tp_num(p->n[s], buf, len);
		if (p->n[s] > 0 && s != TM_ESTAB && s != TM_TIME_WAIT && s != TM_SYN_RECV)
			return TV_COLOR(TV_C_YELLOW);
		if (p->n[s] == 0)
			return TV_DIM;
	}
	return 0;
}

static int tp_sock_cmp(const struct tm_model *m, size_t a, size_t b, size_t col)
{
	const struct tm_port *x = &m->ports[a], *y = &m->ports[b];
	int c;

	switch (col) {
	case 0:
		c = fmt_cmp_i64(x->port, y->port);
		return c ? c : fmt_cmp_i64(x->pid, y->pid);
	case 1: return fmt_cmp_i64(x->pid, y->pid);
	case 2: return strcmp(x->name, y->name);
	case 10: return fmt_cmp_i64(x->half_delta, y->half_delta);
	case 11: return fmt_cmp_i64(x->half, y->half);
	default:
		if (col < sizeof(tp_sock_state) / sizeof(tp_sock_state[0]) && tp_sock_state[col] >= 0)
			return fmt_cmp_i64(x->n[tp_sock_state[col]], y->n[tp_sock_state[col]]);
		return 0;
	}
}

static const struct tp_panel tp_sockets = {
	.name = "Sockets",
	.cols = tp_sock_cols,
	.ncols = sizeof(tp_sock_cols) / sizeof(tp_sock_cols[0]),
	.def_sort = 0,
	.def_rev = 0,
	.count = tp_sock_count,
	.cell = tp_sock_cell,
	.row_attr = NULL,
	.cmp = tp_sock_cmp,
};

/* ---- servers ---- */

static const struct fmt_col tp_srv_cols[] = {
	{ "GEN", 4, 5, 1, 0 },
	{ "BACKEND/SERVER", 16, 40, 0, 0 },
	{ "STATUS", 7, 9, 0, 0 },
	{ "CUR", 5, 6, 1, 0 },
	{ "MAX", 5, 6, 1, 0 },
	{ "LIMIT", 6, 7, 1, 0 },
	{ "EFF.MAXCONN", 11, 11, 1, 0 },
	{ "QCUR", 5, 6, 1, 0 },
	{ "QMAX", 5, 6, 1, 0 },
	{ "WEIGHT", 6, 6, 1, 0 },
	{ "CHECK", 8, 14, 0, 0 },
};

static size_t tp_srv_count(const struct tm_model *m)
{
	return m->nservers;
}

static unsigned tp_srv_cell(const struct tv_ctx *x, size_t r, size_t col, char *buf, size_t len)
{
	const struct tm_server *s = &x->m->servers[r];

	switch (col) {
	case 0: snprintf(buf, len, "%" PRId64, s->gen); break;
	case 1: snprintf(buf, len, "%s/%s", s->backend, s->server); break;
	case 2:
		snprintf(buf, len, "%s", s->status);
		if (strncmp(s->status, "UP", 2) == 0)
			return TV_COLOR(TV_C_GREEN);
		if (strncmp(s->status, "DOWN", 4) == 0)
			return TV_COLOR(TV_C_RED) | TV_BOLD;
		return TV_COLOR(TV_C_YELLOW);
	case 3: tp_num(s->scur, buf, len); break;
	case 4: tp_num(s->smax, buf, len); break;
	case 5: tp_num(s->slim, buf, len); break;
	case 6:
		tp_num(s->eff_maxconn, buf, len);
		if (s->slim > 0 && s->eff_maxconn * 2 < s->slim)
			return TV_COLOR(TV_C_YELLOW);
		break;
	case 7:
		tp_num(s->qcur, buf, len);
		if (s->qcur > 0)
			return TV_COLOR(TV_C_RED) | TV_BOLD;
		break;
	case 8: tp_num(s->qmax, buf, len); break;
	case 9: tp_num(s->weight, buf, len); break;
	case 10: snprintf(buf, len, "%s", s->check); break;
	default: buf[0] = '\0';
	}
	return 0;
}

static int tp_srv_cmp(const struct tm_model *m, size_t a, size_t b, size_t col)
{
	const struct tm_server *x = &m->servers[a], *y = &m->servers[b];
	int c;

	switch (col) {
	case 0: return fmt_cmp_i64(x->gen, y->gen);
	case 1:
		c = strcmp(x->backend, y->backend);
		return c ? c : strcmp(x->server, y->server);
	case 2: return strcmp(x->status, y->status);
	case 3: return fmt_cmp_i64(x->scur, y->scur);
	case 4: return fmt_cmp_i64(x->smax, y->smax);
	case 5: return fmt_cmp_i64(x->slim, y->slim);
	case 6: return fmt_cmp_i64(x->eff_maxconn, y->eff_maxconn);
	case 7: return fmt_cmp_i64(x->qcur, y->qcur);
	case 8: return fmt_cmp_i64(x->qmax, y->qmax);
	case 9: return fmt_cmp_i64(x->weight, y->weight);
	default: return strcmp(x->check, y->check);
	}
}

static const struct tp_panel tp_servers = {
	.name = "Servers",
	.cols = tp_srv_cols,
	.ncols = sizeof(tp_srv_cols) / sizeof(tp_srv_cols[0]),
	.def_sort = 1,
	.def_rev = 0,
	.count = tp_srv_count,
	.cell = tp_srv_cell,
	.row_attr = NULL,
	.cmp = tp_srv_cmp,
};

/* ---- incidents ---- */

static const struct fmt_col tp_inc_cols[] = {
	{ "ID", 4, 6, 1, 0 },
	{ "STATE", 8, 8, 0, 0 },
	{ "SEVERITY", 8, 8, 0, 0 },
	{ "KIND", 18, 22, 0, 0 },
	{ "SUBJECT", 14, 24, 0, 0 },
	{ "SINCE", 7, 8, 1, 0 },
	{ "SUMMARY", 10, 200, 0, 0 },
};

static size_t tp_inc_count(const struct tm_model *m)
{
	return m->nincidents;
}

static unsigned tp_inc_cell(const struct tv_ctx *x, size_t r, size_t col, char *buf, size_t len)
{
	const struct tm_incident *in = &x->m->incidents[r];
	int rank;

	switch (col) {
	case 0:
		if (in->id > 0)
			snprintf(buf, len, "%" PRId64, in->id);
		else
			snprintf(buf, len, "-");
		break;
	case 1:
		if (in->resolved_ms) {
			snprintf(buf, len, "resolved");
			return TV_DIM;
		}
		snprintf(buf, len, "OPEN");
		return TV_BOLD;
	case 2:
		snprintf(buf, len, "%s", in->severity);
		rank = tp_severity_rank(in->severity);
		if (in->resolved_ms)
			return 0;
		return rank == 2 ? TV_COLOR(TV_C_RED) | TV_BOLD :
		       rank == 1 ? TV_COLOR(TV_C_YELLOW) | TV_BOLD : TV_COLOR(TV_C_CYAN);
	case 3: snprintf(buf, len, "%s", in->kind); break;
	case 4: snprintf(buf, len, "%s", in->subject); break;
	case 5: tp_age(x, in->opened_ms, buf, len); break;
	case 6: snprintf(buf, len, "%s", in->summary); break;
	default: buf[0] = '\0';
	}
	return 0;
}

static unsigned tp_inc_row_attr(const struct tv_ctx *x, size_t r)
{
	const struct tm_incident *in = &x->m->incidents[r];

	if (in->resolved_ms)
		return TV_DIM;
	return tp_severity_rank(in->severity) == 2 ? TV_COLOR(TV_C_RED) : 0;
}

/* Open ones first; then the given column. */
static int tp_inc_cmp(const struct tm_model *m, size_t a, size_t b, size_t col)
{
	const struct tm_incident *x = &m->incidents[a], *y = &m->incidents[b];

	switch (col) {
	case 0: return fmt_cmp_i64(x->id, y->id);
	case 1:
		if (!x->resolved_ms != !y->resolved_ms)
			return x->resolved_ms ? -1 : 1;
		if (tp_severity_rank(x->severity) != tp_severity_rank(y->severity))
			return fmt_cmp_i64(tp_severity_rank(x->severity),
					   tp_severity_rank(y->severity));
		return fmt_cmp_i64(x->updated_ms ? x->updated_ms : x->opened_ms,
				   y->updated_ms ? y->updated_ms : y->opened_ms);
	case 2: return fmt_cmp_i64(tp_severity_rank(x->severity), tp_severity_rank(y->severity));
	case 3: return strcmp(x->kind, y->kind);
	case 4: return strcmp(x->subject, y->subject);
	case 5: return fmt_cmp_i64(y->opened_ms, x->opened_ms);
	default: return strcmp(x->summary, y->summary);
	}
}

static const struct tp_panel tp_incidents = {
	.name = "Incidents",
	.cols = tp_inc_cols,
	.ncols = sizeof(tp_inc_cols) / sizeof(tp_inc_cols[0]),
	.def_sort = 1,
	.def_rev = 1,
	.count = tp_inc_count,
	.cell = tp_inc_cell,
	.row_attr = tp_inc_row_attr,
	.cmp = tp_inc_cmp,
};

const struct tp_panel *const tp_panels[TP_NPANELS] = {
	[TP_GENERATIONS] = &tp_generations,
	[TP_LISTENERS] = &tp_listeners,
	[TP_SOCKETS] = &tp_sockets,
	[TP_SERVERS] = &tp_servers,
	[TP_INCIDENTS] = &tp_incidents,
};
