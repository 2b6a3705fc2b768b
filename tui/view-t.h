/* proxytop's view: a grid of cells (one renderer for curses and plain
 * text), the panel table and the interface state. */
#ifndef TUI_VIEW_T_H
#define TUI_VIEW_T_H

#include <stddef.h>
#include <stdint.h>

#include "tui/fmt.h"
#include "tui/model-t.h"

/* Cell attributes: style bits, and a colour in bits 8..11. */
#define TV_BOLD 0x01u
#define TV_REV 0x02u
#define TV_DIM 0x04u
#define TV_UL 0x08u
#define TV_COLOR(c) ((unsigned)(c) << 8)
#define TV_COLOR_OF(a) (((a) >> 8) & 0xfu)

enum tv_color {
	TV_C_DEFAULT = 0,
	TV_C_RED,
	TV_C_YELLOW,
	TV_C_GREEN,
	TV_C_CYAN,
	TV_C_MAGENTA,
	TV_C_BLUE,
	TV_NCOLORS,
};

/* Every character occupies one cell (code points are taken as one column
 * wide, true of everything proxytop writes itself). */
struct tv_cell {
	uint32_t ch;
	uint16_t attr;
};

struct tv_grid {
	struct tv_cell *c;
	int w, h;
	size_t cap;
};

/* The smallest terminal proxytop draws into. */
#define TV_MIN_W 80
#define TV_MIN_H 24

enum tp_id {
	TP_GENERATIONS = 0,
	TP_LISTENERS,
	TP_SOCKETS,
	TP_SERVERS,
	TP_INCIDENTS,
	TP_NPANELS,
};

/* What a panel callback sees. now_ms is the wall clock the ages are
 * computed against (the model's own time, so a frame is reproducible). */
struct tv_ctx {
	const struct tm_model *m;
	int64_t now_ms;
	int ascii;
};

/* One panel: a const table of callbacks over the model's rows. */
struct tp_panel {
	const char *name;
	const struct fmt_col *cols;
	size_t ncols;
	uint8_t def_sort;        /* column sorted on at start */
	uint8_t def_rev;         /* descending at start */
	size_t (*count)(const struct tm_model *m);
	/* Text (UTF-8) of column col of row r; returns extra attributes for
	 * that cell (0 for none). */
	unsigned (*cell)(const struct tv_ctx *x, size_t r, size_t col, char *buf, size_t len);
	/* Attributes of a whole row (a duplicate listener, an open incident). */
	unsigned (*row_attr)(const struct tv_ctx *x, size_t r);
	int (*cmp)(const struct tm_model *m, size_t a, size_t b, size_t col);
};

/* Interface modes: one at a time, Escape returns to normal. */
enum tu_mode {
	TU_NORMAL = 0,
	TU_FILTER,      /* typing a filter */
	TU_CONFIRM,     /* y/n on an action */
	TU_HELP,
	TU_DETAIL,      /* an incident's evidence */
};

/* Key handler results. */
#define TU_HANDLED 0x1
#define TU_REDRAW 0x2
#define TU_QUIT 0x4
#define TU_SEND 0x8     /* u->send holds a confirmed control command */

#define TU_FILTER_LEN 64

struct tu_state {
	enum tp_id panel;
	enum tu_mode mode;
	uint8_t sort[TP_NPANELS];
	uint8_t rev[TP_NPANELS];
	char filter[TP_NPANELS][TU_FILTER_LEN];
	size_t sel[TP_NPANELS];    /* selected row, in the sorted, filtered view */
	size_t top[TP_NPANELS];    /* first row shown */
	uint8_t standalone;        /* no supervisor: actions unavailable */
	char confirm[128];         /* the question asked in TU_CONFIRM */
	char pending[96];          /* the command confirmed by 'y' */
	char send[96];             /* set with TU_SEND */
	char msg[160];             /* status line message */
	uint8_t msg_error;
	char detail_key[160];      /* kind + subject of the incident shown */
	size_t detail_scroll;
};

/* The rows of a panel as shown: filtered and sorted indices into the
 * model's array. Reused frame to frame. */
struct tv_rows {
	size_t *idx;
	size_t n, cap;
};

#endif
