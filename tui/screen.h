/* The curses side: terminal setup, blitting a cell grid, reading keys. The
 * only file that includes curses. */
#ifndef TUI_SCREEN_H
#define TUI_SCREEN_H

#include "tui/view-t.h"

/* Initialises the terminal; colour unless want_color is 0 or the terminal
 * has none. 0 or -1 (not a terminal). */
int ts_open(int want_color);
void ts_close(void);
void ts_size(int *w, int *h);
/* Draws the grid and refreshes (curses sends only what changed). */
void ts_blit(const struct tv_grid *g);
/* The next key (TU_KEY_* for special keys), -1 when none is waiting, or
 * 0 after a terminal resize. Never blocks. */
int ts_key(void);

#endif
