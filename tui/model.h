/* View model: building it from a watch line and keeping per-row history. */
#ifndef TUI_MODEL_H
#define TUI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/jsonparse.h"
#include "tui/model-t.h"

void tm_model_init(struct tm_model *m);
void tm_model_free(struct tm_model *m);
/* Empties the arrays (keeping their memory) and the header fields. */
void tm_model_clear(struct tm_model *m);

/* Fills m from one `watch` line (without its newline). prev (may be NULL or
 * invalid) gives the history and the previous counters. Unknown keys are
 * ignored; a malformed line or a line without "v" and "tick" is refused
 * (-1 with err) and leaves m cleared. doc is scratch, reused between calls. */
int tm_model_from_json(struct tm_model *m, const struct tm_model *prev, struct jp_doc *doc,
		       const char *line, size_t len, char *err, size_t errlen);

/* Sorts listeners by address and ports by (port, pid), then carries the
 * history of rows that prev had too and appends the current value; computes
 * the rates. Called by the builders; exposed for tests and standalone mode. */
void tm_model_finish(struct tm_model *m, const struct tm_model *prev);

/* Grows an array of elements of size sz to hold need; 0 or -1 (ENOMEM). */
int tm_grow(void **p, size_t *cap, size_t need, size_t sz);

/* Index of a state name ("ESTAB", "FIN-WAIT-2"...; '_' accepted for '-'),
 * or -1. tm_state_name gives the stream's spelling. */
int tm_state_index(const char *name);
const char *tm_state_name(enum tm_state s);

void tm_hist_push(struct tm_hist *h, float v);
/* Value i, 0 being the oldest held (i < h->n). */
float tm_hist_get(const struct tm_hist *h, size_t i);

/* Puts n older values (oldest first) before those h holds; of the whole,
 * the newest TM_HIST are kept. Fills history from the store. */
void tm_hist_prepend(struct tm_hist *h, const float *v, size_t n);

/* The listener on addr (m's listeners are sorted, see tm_model_finish), or
 * NULL. */
struct tm_listener *tm_listener_find(const struct tm_model *m, const char *addr);

/* Counts of alive generations / open incidents / sessions of all gens. */
size_t tm_model_alive(const struct tm_model *m);
size_t tm_model_open_incidents(const struct tm_model *m);
int64_t tm_model_sessions(const struct tm_model *m);

void tm_linebuf_init(struct tm_linebuf *lb, size_t max);
void tm_linebuf_free(struct tm_linebuf *lb);
/* Appends n bytes. 0 or -1 (ENOMEM). */
int tm_linebuf_feed(struct tm_linebuf *lb, const char *data, size_t n);
/* The next complete line (NUL-terminated in place, newline removed, "\r"
 * too): 1 with *line and *len set, 0 when no complete line is held. The line is
 * valid until the next feed. Lines longer than max are skipped and counted. */
int tm_linebuf_next(struct tm_linebuf *lb, char **line, size_t *len);
void tm_linebuf_reset(struct tm_linebuf *lb);

#endif
