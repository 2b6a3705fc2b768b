/* The panels of proxytop, each a const table of callbacks (view-t.h). */
#ifndef TUI_PANEL_H
#define TUI_PANEL_H

#include "tui/view-t.h"

extern const struct tp_panel *const tp_panels[TP_NPANELS];

/* Port number of listener address "addr:port" / "[v6]:port"; 0 if none. */
int tp_addr_port(const char *addr);
/* Severity rank for sorting: critical 2, warning 1, else 0. */
int tp_severity_rank(const char *sev);

#endif
