#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tui/input.h"
#include "tui/panel.h"

void tu_init(struct tu_state *u, int standalone)
{
	size_t i;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < TP_NPANELS; i++) {
		u->sort[i] = tp_panels[i]->def_sort;
		u->rev[i] = tp_panels[i]->def_rev;
	}
	u->standalone = (uint8_t)standalone;
	u->panel = standalone ? TP_LISTENERS : TP_GENERATIONS;
}

void tu_msg(struct tu_state *u, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
	va_end(ap);
	u->msg_error = (uint8_t)error;
}

int tu_panel_parse(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 1 && s[0] >= '1' && s[0] < '1' + TP_NPANELS)
		return s[0] - '1';
	for (i = 0; i < TP_NPANELS && n > 0; i++)
		if (strncasecmp(tp_panels[i]->name, s, n) == 0)
			return (int)i;
	return -1;
}

/* The model index of the selected row, or -1. */
static long tu_selected(const struct tu_state *u, const struct tv_rows *rows)
{
	size_t sel = u->sel[u->panel];

	if (!rows || sel >= rows->n)
		return -1;
	return (long)rows->idx[sel];
}

static int tu_ask(struct tu_state *u, const char *cmd, const char *question)
{
	if (u->standalone) {
		tu_msg(u, 1, "no supervisor: actions unavailable");
		return TU_HANDLED | TU_REDRAW;
	}
	snprintf(u->pending, sizeof(u->pending), "%s", cmd);
	snprintf(u->confirm, sizeof(u->confirm), "%s", question);
	u->mode = TU_CONFIRM;
	return TU_HANDLED | TU_REDRAW;
}

static int tu_action(struct tu_state *u, const struct tm_model *m, const struct tv_rows *rows,
		     int key)
{
	char cmd[64], q[128];
	long i = tu_selected(u, rows);
	int64_t port;

	if (key == 'r')
		return tu_ask(u, "reload", "reload: start a new generation?");
	if (key == 'd' || key == 'k') {
		if (u->panel != TP_GENERATIONS || i < 0 || !m || (size_t)i >= m->ngens) {
			tu_msg(u, 1, "select a generation first (panel 1)");
			return TU_HANDLED | TU_REDRAW;
		}
		if (m->gens[i].gen <= 0) {
			tu_msg(u, 1, u->standalone ? "no supervisor: actions unavailable" :
			       "this process is not a generation");
			return TU_HANDLED | TU_REDRAW;
		}
		snprintf(cmd, sizeof(cmd), "%s %" PRId64, key == 'd' ? "drain" : "kill",
			 m->gens[i].gen);
		snprintf(q, sizeof(q), "%s generation %" PRId64 " (pid %" PRId64 ")?",
			 key == 'd' ? "drain" : "kill", m->gens[i].gen, m->gens[i].pid);
		return tu_ask(u, cmd, q);
	}
	/* x */
	port = 0;
	if (m && i >= 0 && u->panel == TP_SOCKETS && (size_t)i < m->nports)
		port = m->ports[i].port;
	else if (m && i >= 0 && u->panel == TP_LISTENERS && (size_t)i < m->nlisteners)
		port = tp_addr_port(m->listeners[i].addr);
	if (port <= 0) {
		tu_msg(u, 1, "select a port first (panel 2 or 3)");
		return TU_HANDLED | TU_REDRAW;
	}
	snprintf(cmd, sizeof(cmd), "destroy %" PRId64, port);
	snprintf(q, sizeof(q), "destroy the half-closed sockets of port %" PRId64 "?", port);
	return tu_ask(u, cmd, q);
}

static int tu_key_filter(struct tu_state *u, int key)
{
	char *f = u->filter[u->panel];
	size_t n = strlen(f);

	switch (key) {
	case TU_KEY_ENTER:
		u->mode = TU_NORMAL;
		break;
	case TU_KEY_ESC:
		f[0] = '\0';
		u->mode = TU_NORMAL;
		break;
	case TU_KEY_BACKSPACE:
		if (n > 0)
			f[n - 1] = '\0';
		break;
	default:
		if (key >= 0x20 && key < 0x7f && n + 1 < TU_FILTER_LEN) {
			f[n] = (char)key;
			f[n + 1] = '\0';
		}
		break;
	}
	u->sel[u->panel] = 0;
	u->top[u->panel] = 0;
	return TU_HANDLED | TU_REDRAW;
}

static int tu_key_confirm(struct tu_state *u, int key)
{
	if (key == 'y' || key == 'Y') {
		snprintf(u->send, sizeof(u->send), "%s", u->pending);
		u->mode = TU_NORMAL;
		tu_msg(u, 0, "sent: %s", u->pending);
		return TU_HANDLED | TU_REDRAW | TU_SEND;
	}
	u->mode = TU_NORMAL;
	tu_msg(u, 0, "cancelled: %s", u->pending);
	return TU_HANDLED | TU_REDRAW;
}

int tu_key(struct tu_state *u, const struct tm_model *m, const struct tv_rows *rows, int key,
	   size_t page)
{
	size_t *sel = &u->sel[u->panel];
	size_t n = rows ? rows->n : 0;
	const struct tp_panel *p = tp_panels[u->panel];
	long i;

	if (u->mode == TU_FILTER)
		return tu_key_filter(u, key);
	if (u->mode == TU_CONFIRM)
		return tu_key_confirm(u, key);
	if (u->mode == TU_HELP) {
		u->mode = TU_NORMAL;
		return key == 'q' ? TU_QUIT : TU_HANDLED | TU_REDRAW;
	}
	if (u->mode == TU_DETAIL) {
		switch (key) {
		case TU_KEY_DOWN: u->detail_scroll++; break;
		case TU_KEY_UP: if (u->detail_scroll) u->detail_scroll--; break;
		case 'q': return TU_QUIT;
		case 'd': case 'k': case 'x': case 'r':
			u->mode = TU_NORMAL;
			return tu_action(u, m, rows, key);
		default: u->mode = TU_NORMAL; break;
		}
		return TU_HANDLED | TU_REDRAW;
	}
	u->msg[0] = '\0';
	if (page == 0)
		page = 1;
	switch (key) {
	case 'q':
	case 'Q':
		return TU_QUIT;
	case '\t':
		u->panel = (enum tp_id)((u->panel + 1) % TP_NPANELS);
		break;
	case TU_KEY_BTAB:
		u->panel = (enum tp_id)((u->panel + TP_NPANELS - 1) % TP_NPANELS);
		break;
	case '1': case '2': case '3': case '4': case '5':
		u->panel = (enum tp_id)(key - '1');
		break;
	case TU_KEY_UP: if (*sel) (*sel)--; break;
	case TU_KEY_DOWN: if (*sel + 1 < n) (*sel)++; break;
	case TU_KEY_PGUP: *sel = *sel > page ? *sel - page : 0; break;
	case TU_KEY_PGDN: *sel = n ? (*sel + page < n ? *sel + page : n - 1) : 0; break;
	case TU_KEY_HOME: *sel = 0; break;
	case TU_KEY_END: *sel = n ? n - 1 : 0; break;
	case '<': case TU_KEY_LEFT:
		u->sort[u->panel] = (uint8_t)((u->sort[u->panel] + p->ncols - 1) % p->ncols);
		break;
	case '>': case 's': case TU_KEY_RIGHT:
		u->sort[u->panel] = (uint8_t)((u->sort[u->panel] + 1) % p->ncols);
		break;
	case 'i': case 'I':
		u->rev[u->panel] = !u->rev[u->panel];
		break;
	case '/':
		u->mode = TU_FILTER;
		break;
	case 'h': case '?': case 'H':
		u->mode = TU_HELP;
		break;
	case TU_KEY_ESC:
		u->filter[u->panel][0] = '\0';
		break;
	case TU_KEY_ENTER:
		i = tu_selected(u, rows);
		if (u->panel != TP_INCIDENTS || i < 0 || !m || (size_t)i >= m->nincidents) {
			tu_msg(u, 1, "Enter opens an incident (panel 5)");
			break;
		}
		snprintf(u->detail_key, sizeof(u->detail_key), "%s %s", m->incidents[i].kind,
			 m->incidents[i].subject);
		u->detail_scroll = 0;
		u->mode = TU_DETAIL;
		break;
	case 'r': case 'd': case 'k': case 'x':
		return tu_action(u, m, rows, key);
	default:
		return 0;
	}
	return TU_HANDLED | TU_REDRAW;
}
