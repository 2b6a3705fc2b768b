#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/util.h"
#include "tui/draw.h"
#include "tui/fmt.h"
#include "tui/model.h"
#include "tui/panel.h"

#define TV_CELL_MAX 512

int tv_grid_resize(struct tv_grid *g, int w, int h)
{
	size_t need;
	void *p;

	if (w < 1 || h < 1) {
		errno = EINVAL;
		return -1;
	}
	need = (size_t)w * (size_t)h;
	if (need > g->cap) {
		p = realloc(g->c, need * sizeof(*g->c));
		if (!p) {
			errno = ENOMEM;
			return -1;
		}
		g->c = p;
		g->cap = need;
	}
	g->w = w;
	g->h = h;
	tv_grid_clear(g);
	return 0;
}

void tv_grid_free(struct tv_grid *g)
{
	free(g->c);
	memset(g, 0, sizeof(*g));
}

void tv_grid_clear(struct tv_grid *g)
{
	size_t i, n = (size_t)g->w * (size_t)g->h;

	for (i = 0; i < n; i++) {
		g->c[i].ch = ' ';
		g->c[i].attr = 0;
	}
}

void tv_fill(struct tv_grid *g, int x, int y, int n, uint32_t ch, unsigned attr)
{
	int i;

	if (y < 0 || y >= g->h)
		return;
	for (i = 0; i < n && x + i < g->w; i++) {
		if (x + i < 0)
			continue;
		g->c[y * g->w + x + i].ch = ch;
		g->c[y * g->w + x + i].attr = (uint16_t)attr;
	}
}

/* Decodes one UTF-8 character; stray bytes become '?'. */
static uint32_t tv_u8next(const char **sp)
{
	const unsigned char *s = (const unsigned char *)*sp;
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80) {
		*sp += 1;
		return s[0];
	}
	n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (n == 0) {
		*sp += 1;
		return '?';
	}
	cp = s[0] & (0x3f >> (n - 1));
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*sp += i;
			return '?';
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	*sp += n;
	return cp;
}

int tv_put(struct tv_grid *g, int x, int y, const char *s, unsigned attr, int maxw)
{
	int n = 0;
	uint32_t ch;

	if (y < 0 || y >= g->h)
		return 0;
	while (*s && x + n < g->w && (maxw < 0 || n < maxw)) {
		ch = tv_u8next(&s);
		if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		if (x + n >= 0) {
			g->c[y * g->w + x + n].ch = ch;
			g->c[y * g->w + x + n].attr = (uint16_t)attr;
		}
		n++;
	}
	return n;
}

void tv_grid_text(const struct tv_grid *g, struct sbuf *out)
{
	char u[4];
	int x, y, end;

	for (y = 0; y < g->h; y++) {
		end = g->w;
		while (end > 0 && g->c[y * g->w + end - 1].ch == ' ')
			end--;
		for (x = 0; x < end; x++)
			sb_putn(out, u, util_utf8_encode(g->c[y * g->w + x].ch, u));
		sb_putc(out, '\n');
	}
}

double tv_tick_age(const struct tv_frame *f)
{
	uint32_t iv = f->m && f->m->tick_interval_ms ? f->m->tick_interval_ms :
		      f->interval_ms ? f->interval_ms : 1000;

	if (!f->m || !f->m->valid || f->mono_ms <= f->m->rx_mono_ms)
		return 0;
	return (double)(f->mono_ms - f->m->rx_mono_ms) / (double)iv;
}

/* ---- rows: filter and sort ---- */

struct tv_sort_ctx {
	const struct tp_panel *p;
	const struct tm_model *m;
	size_t col;
	int rev;
};

static int tv_row_cmp(const void *a, const void *b, void *arg)
{
	const struct tv_sort_ctx *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = c->p->cmp(c->m, x, y, c->col);

	if (r == 0)
		r = fmt_cmp_i64((int64_t)x, (int64_t)y); /* stable on ties */
	else if (c->rev)
		r = -r;
	return r;
}

static int tv_row_matches(const struct tv_ctx *x, const struct tp_panel *p, size_t r,
			  const char *filter)
{
	char hay[1024], cell[TV_CELL_MAX];
	size_t c, o = 0, n;

	for (c = 0; c < p->ncols; c++) {
		p->cell(x, r, c, cell, sizeof(cell));
		n = strlen(cell);
		if (o + n + 2 > sizeof(hay))
			n = sizeof(hay) - o - 2;
		memcpy(hay + o, cell, n);
		o += n;
		hay[o++] = ' ';
		if (o + 2 >= sizeof(hay))
			break;
	}
	hay[o] = '\0';
	return fmt_match(hay, filter);
}

int tv_rows_build(struct tv_rows *r, const struct tv_ctx *x, enum tp_id panel,
		  const struct tu_state *u)
{
	const struct tp_panel *p = tp_panels[panel];
	struct tv_sort_ctx sc = { .p = p, .m = x->m, .col = u->sort[panel], .rev = u->rev[panel] };
	size_t n = p->count(x->m), i;
	const char *filter = u->filter[panel];

	if (tm_grow((void **)&r->idx, &r->cap, n ? n : 1, sizeof(*r->idx)) == -1)
		return -1;
	r->n = 0;
	for (i = 0; i < n; i++)
		if (!filter[0] || tv_row_matches(x, p, i, filter))
			r->idx[r->n++] = i;
	if (sc.col >= p->ncols)
		sc.col = 0;
	if (r->n > 1)
		qsort_r(r->idx, r->n, sizeof(*r->idx), tv_row_cmp, &sc);
	return 0;
}

void tv_rows_free(struct tv_rows *r)
{
	free(r->idx);
	memset(r, 0, sizeof(*r));
}

/* ---- drawing ---- */

static void tv_draw_header(struct tv_grid *g, int y, const struct tv_frame *f)
{
	const struct tm_model *m = f->m;
	char buf[256], up[32], *p = buf;
	size_t open;
	double age;
	int x = 0;
	unsigned attr;

	tv_fill(g, 0, y, g->w, ' ', TV_REV);
	x += tv_put(g, x, y, " proxytop ", TV_REV | TV_BOLD, -1);
	if (!m || !m->valid) {
		snprintf(buf, sizeof(buf), " %s: %s", f->source ? f->source : "",
			 f->note ? f->note : "waiting for data");
		tv_put(g, x, y, buf, TV_REV | TV_COLOR(TV_C_RED) | TV_BOLD, -1);
		return;
	}
	fmt_duration(m->started_ms > 0 ? m->t_ms - m->started_ms : -1, up, sizeof(up));
	x += tv_put(g, x, y, m->host[0] ? m->host : "?", TV_REV | TV_BOLD, 24);
	snprintf(p, sizeof(buf), "  up %s  ", up);
	x += tv_put(g, x, y, buf, TV_REV, -1);
	if (m->standalone) {
		snprintf(buf, sizeof(buf), "standalone: %zu procs  ", m->ngens);
	} else {
		snprintf(buf, sizeof(buf), "gen %" PRId64 " (%zu alive)  reloads %" PRId64,
			 m->active_gen, tm_model_alive(m), m->reloads);
		x += tv_put(g, x, y, buf, TV_REV, -1);
		if (m->reloads_failed) {
			snprintf(buf, sizeof(buf), " (%" PRId64 " failed)", m->reloads_failed);
			x += tv_put(g, x, y, buf, TV_REV | TV_COLOR(TV_C_RED), -1);
		}
		snprintf(buf, sizeof(buf), "  sessions %" PRId64 "  ", tm_model_sessions(m));
	}
	x += tv_put(g, x, y, buf, TV_REV, -1);
	open = tm_model_open_incidents(m);
	snprintf(buf, sizeof(buf), "incidents %zu", open);
	x += tv_put(g, x, y, buf, TV_REV | (open ? TV_COLOR(TV_C_RED) | TV_BOLD : 0), -1);
	age = tv_tick_age(f);
	snprintf(buf, sizeof(buf), "  tick %" PRId64 " age %.1fs", m->tick,
		 f->mono_ms > m->rx_mono_ms ? (double)(f->mono_ms - m->rx_mono_ms) / 1000.0 : 0.0);
	attr = TV_REV;
	if (age > 3 || !f->connected)
		attr |= TV_COLOR(TV_C_RED) | TV_BOLD;
	x += tv_put(g, x, y, buf, attr, -1);
	if (!f->connected)
		tv_put(g, x, y, f->note ? "  (stale: reconnecting)" : "  (stale)",
		       TV_REV | TV_COLOR(TV_C_RED) | TV_BOLD, -1);
	if (m->have_store && (m->store_errors || m->store_dropped)) {
		snprintf(buf, sizeof(buf), " store: %" PRId64 " errors ", m->store_errors);
		tv_put(g, g->w - (int)strlen(buf), y, buf, TV_REV | TV_COLOR(TV_C_YELLOW), -1);
	}
}

static void tv_draw_tabs(struct tv_grid *g, int y, const struct tv_frame *f,
			 const struct tu_state *u, enum tp_id only)
{
	char buf[96];
	size_t i, n;
	int x = 0;
	unsigned attr;
	const struct tp_panel *p;

	for (i = 0; i < TP_NPANELS; i++) {
		p = tp_panels[i];
		n = f->m ? p->count(f->m) : 0;
		snprintf(buf, sizeof(buf), " %zu %s(%zu) ", i + 1, p->name, n);
		attr = i == only ? TV_REV | TV_BOLD | TV_COLOR(TV_C_CYAN) : 0;
		if (i == TP_INCIDENTS && f->m && tm_model_open_incidents(f->m) && i != only)
			attr |= TV_COLOR(TV_C_RED) | TV_BOLD;
		x += tv_put(g, x, y, buf, attr, -1);
	}
	if (u->filter[only][0] && u->mode != TU_FILTER) {
		snprintf(buf, sizeof(buf), " filter: %s", u->filter[only]);
		tv_put(g, x, y, buf, TV_COLOR(TV_C_YELLOW) | TV_BOLD, -1);
	}
}

/* The table of one panel: a title row and up to height - 1 rows of r
 * starting at top; sel is highlighted (-1: none). */
static void tv_draw_table(struct tv_grid *g, int y, int height, const struct tv_ctx *x,
			  enum tp_id panel, const struct tu_state *u, const struct tv_rows *r,
			  size_t top, long sel)
{
	const struct tp_panel *p = tp_panels[panel];
	unsigned w[32], attr, rattr;
	char cell[TV_CELL_MAX], cut[TV_CELL_MAX], title[64];
	size_t shown, c, i, len;
	int cx, row;

	shown = fmt_widths(p->cols, p->ncols, (size_t)g->w, w);
	tv_fill(g, 0, y, g->w, ' ', TV_REV | TV_BOLD);
	cx = 0;
	for (c = 0; c < shown; c++) {
		snprintf(title, sizeof(title), "%s%s", p->cols[c].title,
			 c == u->sort[panel] ? (u->rev[panel] ? (x->ascii ? "v" : "\xe2\x96\xbc") :
						(x->ascii ? "^" : "\xe2\x96\xb2")) : "");
		len = fmt_trunc(title, w[c], cut, sizeof(cut));
		tv_put(g, cx + (p->cols[c].right ? (int)(w[c] - len) : 0), y, cut,
		       TV_REV | TV_BOLD | (c == u->sort[panel] ? TV_COLOR(TV_C_CYAN) : 0), -1);
		cx += (int)w[c] + 1;
	}
	for (row = 1; row < height && top + (size_t)(row - 1) < r->n; row++) {
		i = r->idx[top + (size_t)row - 1];
		rattr = p->row_attr ? p->row_attr(x, i) : 0;
		if (sel >= 0 && (size_t)sel == top + (size_t)row - 1) {
			rattr = (rattr & ~0xf00u) | TV_REV;
			tv_fill(g, 0, y + row, g->w, ' ', rattr);
		}
		cx = 0;
		for (c = 0; c < shown; c++) {
			attr = p->cell(x, i, c, cell, sizeof(cell));
			if (rattr & TV_REV)
				attr &= ~0xf00u; /* keep the selection readable */
			if (TV_COLOR_OF(rattr) && TV_COLOR_OF(attr) == 0)
				attr |= rattr & 0xf00u;
			if (p->cols[c].tail)
				len = fmt_tail(cell, w[c], cut, sizeof(cut));
			else
				len = fmt_trunc(cell, w[c], cut, sizeof(cut));
			tv_put(g, cx + (p->cols[c].right ? (int)(w[c] - len) : 0), y + row, cut,
			       attr | (rattr & ~0xf00u), -1);
			cx += (int)w[c] + 1;
		}
	}
	if (r->n == 0 && height > 1)
		tv_put(g, 1, y + 1, u->filter[panel][0] ? "(no row matches the filter)" :
		       "(none)", TV_DIM, -1);
}

static const char *const tv_help[] = {
	"proxytop keys",
	"",
	"  Tab / Shift-Tab   next / previous panel",
	"  1 2 3 4 5         Generations Listeners Sockets Servers Incidents",
	"  Up Down PgUp PgDn Home End   move the selection",
	"  < >  or  s        sort column left / right (s: next column)",
	"  i                 invert the sort order",
	"  /                 filter rows (words must all match; Enter keeps, Esc clears)",
	"  Enter             Incidents: open the evidence of the selected incident",
	"  r                 reload (new generation)",
	"  d                 drain the selected generation",
	"  k                 kill the selected generation",
	"  x                 destroy the half-closed sockets of the selected port",
	"  h  ?              this help",
	"  q                 quit",
	"",
	"Actions are sent to proxysv's control socket after a y/n confirmation.",
	"Header: tick age turns red when the data is more than 3 ticks old.",
	"",
	"Press any key to go back.",
};

static void tv_draw_help(struct tv_grid *g, int y0, int h)
{
	size_t i;

	for (i = 0; i < sizeof(tv_help) / sizeof(tv_help[0]) && (int)i < h; i++)
		tv_put(g, 2, y0 + (int)i, tv_help[i], i == 0 ? TV_BOLD : 0, -1);
}

static const struct tm_incident *tv_find_incident(const struct tm_model *m, const char *key)
{
	char k[160];
	size_t i;

	for (i = 0; m && i < m->nincidents; i++) {
		snprintf(k, sizeof(k), "%s %s", m->incidents[i].kind, m->incidents[i].subject);
		if (strcmp(k, key) == 0)
			return &m->incidents[i];
	}
	return NULL;
}

static void tv_draw_detail(struct tv_grid *g, int y0, int h, const struct tv_frame *f,
			   const struct tu_state *u)
{
	const struct tm_incident *in = tv_find_incident(f->m, u->detail_key);
	char buf[512], iso[40];
	const char *p, *e;
	int y = y0;
	size_t line = 0;

	if (!in) {
		tv_put(g, 2, y, "the incident is no longer in the data (Esc: back)", TV_BOLD, -1);
		return;
	}
	snprintf(buf, sizeof(buf), "%s  %s  %s  (%s)", in->severity, in->kind, in->subject,
		 in->resolved_ms ? "resolved" : "open");
	tv_put(g, 2, y++, buf, TV_BOLD | (tp_severity_rank(in->severity) == 2 ?
					  TV_COLOR(TV_C_RED) : TV_COLOR(TV_C_YELLOW)), -1);
	if (in->opened_ms > 0) {
		clock_fmt_iso((uint64_t)in->opened_ms, iso, sizeof(iso));
		snprintf(buf, sizeof(buf), "opened %s", iso);
		tv_put(g, 2, y++, buf, 0, -1);
	}
	tv_put(g, 2, y++, in->summary, 0, -1);
	y++;
	tv_put(g, 2, y++, "evidence:", TV_UL, -1);
	p = in->detail[0] ? in->detail : "(no evidence in the live data; give --db for it)";
	while (*p && y < y0 + h - 3) {
		e = strchr(p, '\n');
		if (!e)
			e = p + strlen(p);
		if (line++ >= u->detail_scroll) {
			snprintf(buf, sizeof(buf), "%.*s", (int)(e - p), p);
			tv_put(g, 4, y++, buf, 0, g->w - 6);
		}
		p = *e ? e + 1 : e;
	}
	y = y0 + h - 2;
	tv_put(g, 2, y, "actions: d drain / k kill (Generations), x destroy (Sockets), "
	       "Esc back", TV_DIM, -1);
}

static void tv_draw_status(struct tv_grid *g, int y, const struct tv_frame *f,
			   const struct tu_state *u, size_t nrows)
{
	char buf[256];

	tv_fill(g, 0, y, g->w, ' ', 0);
	switch (u->mode) {
	case TU_FILTER:
		snprintf(buf, sizeof(buf), "filter: %s_", u->filter[u->panel]);
		tv_put(g, 0, y, buf, TV_BOLD | TV_COLOR(TV_C_YELLOW), -1);
		tv_put(g, (int)strlen(buf) + 2, y, "(Enter keep, Esc clear)", TV_DIM, -1);
		return;
	case TU_CONFIRM:
		snprintf(buf, sizeof(buf), "%s [y/n]", u->confirm);
		tv_put(g, 0, y, buf, TV_REV | TV_BOLD | TV_COLOR(TV_C_YELLOW), -1);
		return;
	default:
		break;
	}
	if (u->msg[0]) {
		tv_put(g, 0, y, u->msg, u->msg_error ? TV_COLOR(TV_C_RED) | TV_BOLD :
		       TV_COLOR(TV_C_GREEN), -1);
		return;
	}
	snprintf(buf, sizeof(buf), "%s  %zu rows  Tab panels  / filter  <> sort  "
		 "Enter details  r reload d drain k kill x destroy  h help  q quit",
		 f->source ? f->source : "", nrows);
	tv_put(g, 0, y, buf, TV_DIM, -1);
}

int tv_render(struct tv_grid *g, const struct tv_frame *f, struct tu_state *u,
	      struct tv_rows *rows)
{
	struct tv_ctx x = { .m = f->m, .now_ms = f->now_ms, .ascii = f->ascii };
	struct tm_model empty;
	enum tp_id panel = u->panel;
	size_t vis, *sel, *top;
	int body;

	tv_grid_clear(g);
	if (g->w < TV_MIN_W || g->h < TV_MIN_H) {
		char buf[96];

		snprintf(buf, sizeof(buf), "terminal too small (%dx%d, need %dx%d)", g->w, g->h,
			 TV_MIN_W, TV_MIN_H);
		tv_put(g, 0, 0, buf, TV_BOLD, -1);
		return 0;
	}
	if (!f->m) {
		tm_model_init(&empty);
		x.m = &empty;
	}
	tv_draw_header(g, 0, f);
	tv_draw_tabs(g, 1, f, u, panel);
	body = g->h - 3;
	if (u->mode == TU_HELP) {
		tv_draw_help(g, 2, body);
		tv_draw_status(g, g->h - 1, f, u, 0);
		return 0;
	}
	if (u->mode == TU_DETAIL) {
		tv_draw_detail(g, 2, body, f, u);
		tv_draw_status(g, g->h - 1, f, u, 0);
		return 0;
	}
	if (tv_rows_build(rows, &x, panel, u) == -1)
		return -1;
	vis = (size_t)(body - 1);
	sel = &u->sel[panel];
	top = &u->top[panel];
	if (rows->n == 0)
		*sel = 0;
	else if (*sel >= rows->n)
		*sel = rows->n - 1;
	if (*sel < *top)
		*top = *sel;
	if (*sel >= *top + vis)
		*top = *sel - vis + 1;
	if (*top + vis > rows->n)
		*top = rows->n > vis ? rows->n - vis : 0;
	tv_draw_table(g, 2, body, &x, panel, u, rows, *top, rows->n ? (long)*sel : -1);
	tv_draw_status(g, g->h - 1, f, u, rows->n);
	return 0;
}

int tv_render_text(struct sbuf *out, const struct tv_frame *f, struct tu_state *u, int panel,
		   int width)
{
	struct tv_ctx x = { .m = f->m, .now_ms = f->now_ms, .ascii = f->ascii };
	struct tv_grid g = { 0 };
	struct tv_rows rows = { 0 };
	int p, rc = -1;

	if (width < TV_MIN_W)
		width = TV_MIN_W;
	if (tv_grid_resize(&g, width, 1) == -1)
		goto out;
	tv_draw_header(&g, 0, f);
	tv_grid_text(&g, out);
	if (!f->m || !f->m->valid) {
		rc = 0;
		goto out;
	}
	for (p = 0; p < TP_NPANELS; p++) {
		if (panel >= 0 && p != panel)
			continue;
		if (tv_rows_build(&rows, &x, (enum tp_id)p, u) == -1)
			goto out;
		if (tv_grid_resize(&g, width, (int)rows.n + 3 + (rows.n == 0)) == -1)
			goto out;
		tv_fill(&g, 0, 0, width, ' ', 0);
		tv_draw_tabs(&g, 1, f, u, (enum tp_id)p);
		tv_draw_table(&g, 2, (int)rows.n + 1 + (rows.n == 0), &x, (enum tp_id)p, u,
			      &rows, 0, -1);
		tv_grid_text(&g, out);
	}
	rc = out->err ? -1 : 0;
out:
	tv_rows_free(&rows);
	tv_grid_free(&g);
	return rc;
}
