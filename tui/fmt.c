#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tui/fmt.h"

static const char *const fmt_blocks[8] = {
	"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
	"\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88",
};
static const char fmt_ramp[] = "_.-=+*#%@";

void fmt_human(int64_t v, char *buf, size_t len)
{
	static const char units[] = "kMGTPE";
	double d;
	int u = -1;
	const char *sign = "";

	if (v < 0) {
		sign = "-";
		v = v == INT64_MIN ? INT64_MAX : -v;
	}
	if (v < 1000) {
		snprintf(buf, len, "%s%" PRId64, sign, v);
		return;
	}
	d = (double)v;
	while (d >= 999.5 && u < 5) {
		d /= 1000.0;
		u++;
	}
	if (d < 9.95)
		snprintf(buf, len, "%s%.1f%c", sign, d, units[u]);
	else
		snprintf(buf, len, "%s%.0f%c", sign, d, units[u]);
}

void fmt_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

/* Bytes of the UTF-8 character starting with byte c (1 for stray bytes). */
static size_t fmt_u8len(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

size_t fmt_width(const char *s)
{
	size_t n = 0, k;

	while (*s) {
		k = fmt_u8len((unsigned char)*s);
		while (k-- && *s)
			s++;
		n++;
	}
	return n;
}

size_t fmt_trunc(const char *s, size_t width, char *out, size_t outlen)
{
	size_t total = fmt_width(s), keep, i, o = 0, k;

	if (outlen == 0)
		return 0;
	keep = total <= width ? total : (width ? width - 1 : 0);
	for (i = 0; i < keep && *s; i++) {
		k = fmt_u8len((unsigned char)*s);
		if (o + k >= outlen)
			break;
		while (k-- && *s)
			out[o++] = *s++;
	}
	if (total > width && width > 0 && o + 1 < outlen) {
		out[o++] = '~';
		i++;
	}
	out[o] = '\0';
	return i;
}

size_t fmt_tail(const char *s, size_t width, char *out, size_t outlen)
{
	size_t total = fmt_width(s), k;

	while (total > width && *s) {
		k = fmt_u8len((unsigned char)*s);
		while (k-- && *s)
			s++;
		total--;
	}
	return fmt_trunc(s, width, out, outlen);
}

size_t fmt_widths(const struct fmt_col *cols, size_t n, size_t avail, unsigned *w)
{
	size_t shown = 0, used = 0, i, extra, give;

	for (i = 0; i < n; i++) {
		size_t need = cols[i].min + (shown ? 1 : 0);

		if (used + need > avail)
			break;
		w[i] = cols[i].min;
		used += need;
		shown++;
	}
	for (i = shown; i < n; i++)
		w[i] = 0;
	extra = avail - used;
	for (i = 0; i < shown && extra > 0; i++) {
		give = cols[i].max > w[i] ? cols[i].max - w[i] : 0;
		if (give > extra)
			give = extra;
		w[i] += (unsigned)give;
		extra -= give;
	}
	return shown;
}

void fmt_spark_scale(const float *v, size_t n, float vmax, unsigned nlevels, uint8_t *lvl)
{
	float max = vmax;
	size_t i;
	unsigned l;

	for (i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (i = 0; i < n; i++) {
		if (v[i] <= 0 || max <= 0 || nlevels < 2) {
			lvl[i] = 0;
			continue;
		}
		l = (unsigned)((v[i] / max) * (float)(nlevels - 1) + 0.5f);
		if (l < 1)
			l = 1;
		if (l > nlevels - 1)
			l = nlevels - 1;
		lvl[i] = (uint8_t)l;
	}
}

size_t fmt_spark(const float *v, size_t n, float vmax, size_t width, int ascii,
		 char *out, size_t outlen)
{
	uint8_t lvl[256];
	size_t take = n < width ? n : width, i, o = 0, k;
	const char *c;

	if (outlen == 0)
		return 0;
	if (take > sizeof(lvl))
		take = sizeof(lvl);
	v += n - take;
	fmt_spark_scale(v, take, vmax, ascii ? sizeof(fmt_ramp) - 1 : 8, lvl);
	for (i = take; i < width && o + 1 < outlen; i++)
		out[o++] = ' ';
	for (i = 0; i < take; i++) {
		c = ascii ? (const char[2]){ fmt_ramp[lvl[i]], '\0' } : fmt_blocks[lvl[i]];
		k = strlen(c);
		if (o + k >= outlen)
			break;
		memcpy(out + o, c, k);
		o += k;
	}
	out[o] = '\0';
	return o;
}

static int fmt_match_word(const char *hay, const char *w, size_t wn)
{
	size_t i, j;

	for (i = 0; hay[i]; i++) {
		for (j = 0; j < wn && hay[i + j]; j++)
			if (tolower((unsigned char)hay[i + j]) != tolower((unsigned char)w[j]))
				break;
		if (j == wn)
			return 1;
	}
	return wn == 0;
}

int fmt_match(const char *hay, const char *needle)
{
	const char *p = needle, *e;

	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			return 1;
		e = strchr(p, ' ');
		if (!e)
			e = p + strlen(p);
		if (!fmt_match_word(hay, p, (size_t)(e - p)))
			return 0;
		p = e;
	}
}

int fmt_cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

int fmt_cmp_dbl(double a, double b)
{
	return a < b ? -1 : a > b;
}
