/* Prometheus text exposition format 0.0.4: a writer and a strict checker.
 *
 * Writer: one family at a time; prom_family() writes its HELP and TYPE
 * lines, then prom_u64()/prom_dbl() write its samples, so samples of one
 * family are always contiguous. A family name may be opened once per
 * scrape. Counter names get "_total" appended when they do not end with
 * it. Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and use base units
 * (seconds, bytes): a name ending in _ms, _milliseconds, _microseconds,
 * _minutes, _hours, _kilobytes or _megabytes is refused. Label values are
 * escaped (backslash, double quote, newline); HELP text escapes backslash
 * and newline.
 *
 *   struct prom p; prom_init(&p, &sb);
 *   prom_family(&p, "proxyd_server_bytes_in", PROM_COUNTER, "Bytes from clients.");
 *   prom_u64(&p, (const char *[]){ "proxy", "be", "server", "s1", NULL }, 123);
 *   ...; if (prom_end(&p, err, sizeof(err)) == -1) the scrape is invalid.
 *
 * Errors are sticky: after an invalid name the family and its samples are
 * skipped and prom_end() reports the first error.
 */
#ifndef COMMON_PROM_H
#define COMMON_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/sbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_NAME_MAX 128

enum prom_type {
	PROM_COUNTER = 0,
	PROM_GAUGE,
	PROM_UNTYPED,
};

struct prom {
	struct sbuf *out;
	char name[PROM_NAME_MAX + 8];   /* the open family, "_total" included */
	int open;                       /* a valid family is open */
	char **seen;                    /* family names opened in this scrape */
	size_t nseen, capseen;
	char err[160];                  /* first error; "" when none */
};

void prom_init(struct prom *p, struct sbuf *out);
/* Opens a family: 0, or -1 (invalid name, unit or a repeated family). */
int prom_family(struct prom *p, const char *name, enum prom_type type, const char *help);
/* One sample of the open family. labels: name, value, name, value, ...,
 * NULL; or NULL for none. Label names must be valid and not start with
 * "__". */
void prom_u64(struct prom *p, const char *const *labels, uint64_t v);
void prom_dbl(struct prom *p, const char *const *labels, double v);
/* For large scrapes: labels rendered once with prom_labels() and reused
 * for every family of an object. */
void prom_u64_r(struct prom *p, const char *rendered, uint64_t v);
/* Appends `name="value",...` (no braces), escaped, to b. 0, -1 when a
 * label name is invalid or repeated (b unchanged). */
int prom_labels(struct sbuf *b, const char *const *labels);
/* Frees the writer's state. 0, or -1 with the first error in err (also
 * when the output buffer ran out of memory). */
int prom_end(struct prom *p, char *err, size_t errlen);

int prom_name_valid(const char *name);
int prom_label_name_valid(const char *name);
/* Appends s with label-value escaping. */
void prom_escape_label(struct sbuf *b, const char *s);

/* ---- checking ------------------------------------------------------------ */

/* Called for each sample: its name, its labels as written between the
 * braces ("" for none; escapes kept), its value and its family's type. */
typedef void (*prom_sample_cb)(const char *name, const char *labels, double v,
			       enum prom_type type, void *arg);

/* Parses text strictly: syntax of every line, HELP/TYPE at most once per
 * family and before its samples, samples of a family contiguous, counter
 * sample names ending with _total, valid label names and escapes, no
 * duplicate label name in a sample, no duplicate series. cb may be NULL.
 * 0, or -1 with "line N: why" in err. */
int prom_check(const char *text, size_t len, prom_sample_cb cb, void *arg,
	       char *err, size_t errlen);

#endif
