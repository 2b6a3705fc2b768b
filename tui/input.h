/* Keyboard handling of proxytop: pure state transitions on struct tu_state,
 * independent of curses (proxytop.c maps curses keys to TU_KEY_*). */
#ifndef TUI_INPUT_H
#define TUI_INPUT_H

#include "tui/view-t.h"

enum {
	TU_KEY_UP = 0x1000,
	TU_KEY_DOWN,
	TU_KEY_PGUP,
	TU_KEY_PGDN,
	TU_KEY_HOME,
	TU_KEY_END,
	TU_KEY_BTAB,
	TU_KEY_BACKSPACE,
	TU_KEY_ENTER,
	TU_KEY_ESC,
	TU_KEY_LEFT,
	TU_KEY_RIGHT,
	TU_KEY_NONE,     /* an unrecognised sequence, ignored */
};

void tu_init(struct tu_state *u, int standalone);
/* Handles one key against the rows shown last (rows may be NULL); page is
 * the number of rows a page moves. Returns TU_* flags. */
int tu_key(struct tu_state *u, const struct tm_model *m, const struct tv_rows *rows, int key,
	   size_t page);
/* Sets the status line message. */
void tu_msg(struct tu_state *u, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Panel by name or number ("listeners", "2", "list"...); -1 if none. */
int tu_panel_parse(const char *s);

#endif
