/* Rendering into a cell grid, shared by the curses screen and --once. */
#ifndef TUI_DRAW_H
#define TUI_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "common/sbuf.h"
#include "tui/view-t.h"

/* Everything one frame depends on besides the interface state. */
struct tv_frame {
	const struct tm_model *m;
	int64_t now_ms;          /* wall clock for ages */
	uint64_t mono_ms;        /* monotonic now, for the tick age */
	uint32_t interval_ms;    /* expected time between ticks, when the model
				  * has not measured it (tick_interval_ms) */
	int ascii;
	const char *source;      /* control socket path, or "standalone" */
	int connected;           /* the data source is up */
	const char *note;        /* why there is no data (may be NULL) */
};

int tv_grid_resize(struct tv_grid *g, int w, int h);
void tv_grid_free(struct tv_grid *g);
void tv_grid_clear(struct tv_grid *g);
/* Writes UTF-8 text at (x, y), at most maxw cells (-1: to the edge).
 * Returns the cells written. */
int tv_put(struct tv_grid *g, int x, int y, const char *s, unsigned attr, int maxw);
void tv_fill(struct tv_grid *g, int x, int y, int n, uint32_t ch, unsigned attr);
/* Appends the grid as text, one line per row, trailing blanks removed. */
void tv_grid_text(const struct tv_grid *g, struct sbuf *out);

/* Age of the data in producer ticks (0 when fresh); stale above 3. */
double tv_tick_age(const struct tv_frame *f);

/* The panel's rows after the filter, in sort order. 0 or -1 (ENOMEM). */
int tv_rows_build(struct tv_rows *r, const struct tv_ctx *x, enum tp_id panel,
		  const struct tu_state *u);
void tv_rows_free(struct tv_rows *r);

/* A full interactive frame of g->w x g->h (including the too-small
 * message). Keeps u's selection and scroll within the rows. */
int tv_render(struct tv_grid *g, const struct tv_frame *f, struct tu_state *u,
	      struct tv_rows *rows);
/* The --once text: header, then the panel (or every panel when panel < 0)
 * with all its rows, width columns wide. 0 or -1 (ENOMEM). */
int tv_render_text(struct sbuf *out, const struct tv_frame *f, struct tu_state *u,
		   int panel, int width);

#endif
