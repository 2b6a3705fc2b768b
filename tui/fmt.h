/* Pure formatting and layout helpers of proxytop (no terminal, no model). */
#ifndef TUI_FMT_H
#define TUI_FMT_H

#include <stddef.h>
#include <stdint.h>

/* One table column: its title, the width it needs at least and at most,
 * right alignment for numbers. */
struct fmt_col {
	const char *title;
	uint8_t min;
	uint8_t max;
	uint8_t right;
	uint8_t tail;   /* too wide: keep the end (sparklines: the newest) */
};

/* Human counts: 999, 1.2k, 12k, 1.2M, 3.4G. */
void fmt_human(int64_t v, char *buf, size_t len);
/* Durations from milliseconds: 850ms, 12s, 5m12s, 3h04m, 2d03h. Negative:
 * "-". */
void fmt_duration(int64_t ms, char *buf, size_t len);
/* Number of characters (code points) of UTF-8 text. */
size_t fmt_width(const char *s);
/* Copies s into out, cut to at most width characters; a cut string ends in
 * '~' so that a truncated value never passes for a whole one. Returns the
 * width written. */
size_t fmt_trunc(const char *s, size_t width, char *out, size_t outlen);

/* Copies the last width characters of s (no marker). Returns the width. */
size_t fmt_tail(const char *s, size_t width, char *out, size_t outlen);

/* Column widths for a table avail characters wide, one space between
 * columns: every column gets its min; what is left goes, in column order,
 * to the columns up to their max. Columns that do not fit at their min are
 * hidden (width 0), from the last. Returns the number of columns shown. */
size_t fmt_widths(const struct fmt_col *cols, size_t n, size_t avail, unsigned *w);

/* Scales n values to levels 0..nlevels-1 against max(vmax, the largest
 * value): 0 maps to level 0, any positive value to at least level 1 (a
 * small non-zero figure must not look like zero), the maximum to the top. */
void fmt_spark_scale(const float *v, size_t n, float vmax, unsigned nlevels, uint8_t *lvl);
/* A sparkline of the last min(n, width) values (oldest first in v), right
 * aligned in width characters (spaces before): UTF-8 blocks, or the ASCII
 * ramp "_.-=+*#%@" when ascii. Returns bytes written (out NUL-terminated). */
size_t fmt_spark(const float *v, size_t n, float vmax, size_t width, int ascii,
		 char *out, size_t outlen);

/* Case-insensitive substring match of needle in hay; "" matches anything.
 * Several words separated by spaces must all match. */
int fmt_match(const char *hay, const char *needle);

/* Three-way comparisons for sorting callbacks. */
int fmt_cmp_i64(int64_t a, int64_t b);
int fmt_cmp_dbl(double a, double b);

#endif
