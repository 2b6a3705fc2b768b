#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <wchar.h>

#include "tui/input.h"
#include "tui/screen.h"

static int ts_color;

int ts_open(int want_color)
{
	static const short fg[TV_NCOLORS] = {
		[TV_C_RED] = COLOR_RED, [TV_C_YELLOW] = COLOR_YELLOW,
		[TV_C_GREEN] = COLOR_GREEN, [TV_C_CYAN] = COLOR_CYAN,
		[TV_C_MAGENTA] = COLOR_MAGENTA, [TV_C_BLUE] = COLOR_BLUE,
	};
	short i, bg = COLOR_BLACK;

	if (!initscr())
		return -1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	ts_color = 0;
	if (want_color && has_colors() && start_color() != ERR) {
		if (use_default_colors() != ERR)
			bg = -1;
		for (i = 1; i < TV_NCOLORS; i++)
			init_pair(i, fg[i], bg);
		ts_color = 1;
	}
	return 0;
}

void ts_close(void)
{
	if (!isendwin())
		endwin();
}

void ts_size(int *w, int *h)
{
	getmaxyx(stdscr, *h, *w);
}

static attr_t ts_attr(unsigned a, short *pair)
{
	attr_t r = 0;
	unsigned c = TV_COLOR_OF(a);

	if (a & TV_BOLD)
		r |= A_BOLD;
	if (a & TV_REV)
		r |= A_REVERSE;
	if (a & TV_DIM)
		r |= A_DIM;
	if (a & TV_UL)
		r |= A_UNDERLINE;
	*pair = 0;
	if (c && c < TV_NCOLORS) {
		if (ts_color)
			*pair = (short)c;
		else if (c == TV_C_RED || c == TV_C_YELLOW)
			r |= A_BOLD; /* monochrome: what matters stays emphasised */
	}
	return r;
}

void ts_blit(const struct tv_grid *g)
{
	cchar_t cc;
	wchar_t wc[2] = { 0, 0 };
	attr_t at;
	short pair;
	int x, y;

	for (y = 0; y < g->h; y++)
		for (x = 0; x < g->w; x++) {
			const struct tv_cell *c = &g->c[y * g->w + x];

			wc[0] = (wchar_t)c->ch;
			at = ts_attr(c->attr, &pair);
			setcchar(&cc, wc, at, pair, NULL);
			mvadd_wch(y, x, &cc);
		}
	refresh();
}

/* An escape sequence curses did not recognise (a terminal whose terminfo
 * lacks a key) must not turn into Escape plus stray keys such as a digit
 * that switches panels: swallow CSI/SS3 sequences whole. */
static int ts_escape(void)
{
	int k = getch(), i;

	if (k == ERR)
		return TU_KEY_ESC;
	if (k != '[' && k != 'O') {
		ungetch(k);
		return TU_KEY_ESC;
	}
	for (i = 0; i < 16; i++) {
		k = getch();
		if (k == ERR || (k >= 0x40 && k <= 0x7e))
			break;
	}
	return TU_KEY_NONE;
}

int ts_key(void)
{
	int k = getch();

	switch (k) {
	case ERR: return -1;
	case KEY_RESIZE: return 0;
	case KEY_UP: return TU_KEY_UP;
	case KEY_DOWN: return TU_KEY_DOWN;
	case KEY_PPAGE: return TU_KEY_PGUP;
	case KEY_NPAGE: return TU_KEY_PGDN;
	case KEY_HOME: return TU_KEY_HOME;
	case KEY_END: return TU_KEY_END;
	case KEY_BTAB: return TU_KEY_BTAB;
	case KEY_LEFT: return TU_KEY_LEFT;
	case KEY_RIGHT: return TU_KEY_RIGHT;
	case KEY_BACKSPACE: case 127: case 8: return TU_KEY_BACKSPACE;
	case KEY_ENTER: case '\r': case '\n': return TU_KEY_ENTER;
	case 27: return ts_escape();
	default: return k;
	}
}
