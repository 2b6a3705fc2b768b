#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"

static const char *const type_names[] = {
	[PROM_COUNTER] = "counter",
	[PROM_GAUGE] = "gauge",
	[PROM_UNTYPED] = "untyped",
};

/* Suffixes of names in other than base units. */
static const char *const bad_units[] = {
	"_ms", "_milliseconds", "_microseconds", "_us", "_minutes", "_hours",
	"_kilobytes", "_megabytes",
};

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

static int name_char(char c, int first, int colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return 1;
	if (colon && c == ':')
		return 1;
	return !first && c >= '0' && c <= '9';
}

static int name_ok(const char *s, size_t n, int colon)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char(s[i], i == 0, colon))
			return 0;
	return 1;
}

int prom_name_valid(const char *name)
{
	return name && name_ok(name, strlen(name), 1);
}

int prom_label_name_valid(const char *name)
{
	return name && name_ok(name, strlen(name), 0) && strncmp(name, "__", 2);
}

void prom_escape_label(struct sbuf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = NULL;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '"')
			rep = "\\\"";
		else if (*s == '\n')
			rep = "\\n";
		if (!rep)
			continue;
		sb_putn(b, run, (size_t)(s - run));
		sb_puts(b, rep);
		run = s + 1;
	}
	sb_putn(b, run, (size_t)(s - run));
}

static void escape_help(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_puts(b, "\\\\");
		else if (*s == '\n')
			sb_puts(b, "\\n");
		else
			sb_putc(b, *s);
	}
}

static void prom_fail(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void prom_fail(struct prom *p, const char *fmt, ...)
{
	va_list ap;

	p->open = 0;
	if (p->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

void prom_init(struct prom *p, struct sbuf *out)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
}

static int seen_add(struct prom *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nseen; i++) {
		if (!strcmp(p->seen[i], name)) {
			prom_fail(p, "%s: family written twice", name);
			return -1;
		}
	}
	if (p->nseen == p->capseen) {
		size_t ncap = p->capseen ? p->capseen * 2 : 32;
		char **n = realloc(p->seen, ncap * sizeof(*n));

		if (!n) {
			prom_fail(p, "out of memory");
			return -1;
		}
		p->seen = n;
		p->capseen = ncap;
	}
	p->seen[p->nseen] = strdup(name);
	if (!p->seen[p->nseen]) {
		prom_fail(p, "out of memory");
		return -1;
	}
	p->nseen++;
	return 0;
}

int prom_family(struct prom *p, const char *name, enum prom_type type, const char *help)
{
	size_t i;

	p->open = 0;
	if (!prom_name_valid(name) || strlen(name) > PROM_NAME_MAX) {
		prom_fail(p, "'%s': invalid metric name", name ? name : "(null)");
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (ends_with(p->name, "_total"))
		p->name[strlen(p->name) - 6] = '\0';
	for (i = 0; i < sizeof(bad_units) / sizeof(bad_units[0]); i++) {
		if (ends_with(p->name, bad_units[i])) {
			prom_fail(p, "%s: not in a base unit (seconds, bytes)", name);
			return -1;
		}
	}
	snprintf(p->name, sizeof(p->name), "%s%s", name,
		 type == PROM_COUNTER && !ends_with(name, "_total") ? "_total" : "");
	if (seen_add(p, p->name) == -1)
		return -1;
	sb_printf(p->out, "# HELP %s ", p->name);
	escape_help(p->out, help ? help : "");
	sb_printf(p->out, "\n# TYPE %s %s\n", p->name, type_names[type]);
	p->open = 1;
	return 0;
}

static int labels_check(const char *const *labels)
{
	size_t i, j;

	for (i = 0; labels && labels[i]; i += 2) {
		if (!prom_label_name_valid(labels[i]) || !labels[i + 1])
			return -1;
		for (j = 0; j < i; j += 2)
			if (!strcmp(labels[i], labels[j]))
				return -1;
	}
	return 0;
}

int prom_labels(struct sbuf *b, const char *const *labels)
{
	size_t i;

	if (labels_check(labels) == -1)
		return -1;
	for (i = 0; labels && labels[i]; i += 2) {
		if (i)
			sb_putc(b, ',');
		sb_puts(b, labels[i]);
		sb_puts(b, "=\"");
		prom_escape_label(b, labels[i + 1]);
		sb_putc(b, '"');
	}
	return 0;
}

/* Writes "name{labels} " for the open family; 0, -1 when skipped. */
static int sample_start(struct prom *p, const char *const *labels)
{
	if (!p->open)
		return -1;
	if (labels_check(labels) == -1) {
		prom_fail(p, "%s: invalid or repeated label name", p->name);
		return -1;
	}
	sb_puts(p->out, p->name);
	if (labels && labels[0]) {
		sb_putc(p->out, '{');
		prom_labels(p->out, labels);
		sb_putc(p->out, '}');
	}
	sb_putc(p->out, ' ');
	return 0;
}

static void put_u64(struct sbuf *b, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_putn(b, tmp + n, sizeof(tmp) - n);
}

void prom_u64(struct prom *p, const char *const *labels, uint64_t v)
{
	if (sample_start(p, labels) == 0) {
		put_u64(p->out, v);
		sb_putc(p->out, '\n');
	}
}

void prom_u64_r(struct prom *p, const char *rendered, uint64_t v)
{
	struct sbuf *b = p->out;
	size_t nl = strlen(p->name), rl = rendered ? strlen(rendered) : 0;

	if (!p->open || sb_reserve(b, nl + rl + 24 + 4) == -1)
		return;
	memcpy(b->p + b->len, p->name, nl);
	b->len += nl;
	if (rl) {
		b->p[b->len++] = '{';
		memcpy(b->p + b->len, rendered, rl);
		b->len += rl;
		b->p[b->len++] = '}';
	}
	b->p[b->len++] = ' ';
	put_u64(b, v);
	sb_putc(b, '\n');
}

void prom_dbl(struct prom *p, const char *const *labels, double v)
{
	if (sample_start(p, labels) == -1)
		return;
	if (isnan(v))
		sb_puts(p->out, "NaN\n");
	else if (isinf(v))
		sb_puts(p->out, v > 0 ? "+Inf\n" : "-Inf\n");
	else
		sb_printf(p->out, "%.15g\n", v);
}

int prom_end(struct prom *p, char *err, size_t errlen)
{
	size_t i;
	int rc = 0;

	if (!p->err[0] && p->out->err)
		snprintf(p->err, sizeof(p->err), "out of memory");
	if (p->err[0]) {
		snprintf(err, errlen, "%s", p->err);
		rc = -1;
	}
	for (i = 0; i < p->nseen; i++)
		free(p->seen[i]);
	free(p->seen);
	p->seen = NULL;
	p->nseen = p->capseen = 0;
	p->open = 0;
	return rc;
}

/* ---- checking ------------------------------------------------------------ */

struct chk_family {
	char *name;
	enum prom_type type;
	int help, typed, samples;
};

struct chk {
	struct chk_family *fam;
	size_t nfam, capfam;
	long cur;               /* family of the previous line, -1 none */
	char **series;
	size_t nseries, capseries;
	char *err;
	size_t errlen;
	unsigned line;
};

static int chk_fail(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int chk_fail(struct chk *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(c->err, c->errlen, "line %u: ", c->line);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Finds or adds family `name` (n bytes); its index, -1 on ENOMEM. */
static long chk_family(struct chk *c, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < c->nfam; i++)
		if (strlen(c->fam[i].name) == n && !memcmp(c->fam[i].name, name, n))
			return (long)i;
	if (c->nfam == c->capfam) {
		size_t ncap = c->capfam ? c->capfam * 2 : 32;
		struct chk_family *f = realloc(c->fam, ncap * sizeof(*f));

		if (!f)
			return chk_fail(c, "out of memory");
		c->fam = f;
		c->capfam = ncap;
	}
	memset(&c->fam[c->nfam], 0, sizeof(c->fam[0]));
	c->fam[c->nfam].type = PROM_UNTYPED;
	c->fam[c->nfam].name = strndup(name, n);
	if (!c->fam[c->nfam].name)
		return chk_fail(c, "out of memory");
	return (long)c->nfam++;
}

/* Switching to family f: its lines must be contiguous. */
static int chk_enter(struct chk *c, long f)
{
	if (c->cur != f && (c->fam[f].samples || c->fam[f].help || c->fam[f].typed))
		return chk_fail(c, "%s: lines of the family are not contiguous", c->fam[f].name);
	c->cur = f;
	return 0;
}

static size_t name_len(const char *s, const char *end, int colon)
{
	const char *q = s;

	while (q < end && name_char(*q, q == s, colon))
		q++;
	return (size_t)(q - s);
}

static int chk_comment(struct chk *c, const char *s, const char *end)
{
	const char *q = s + 1;
	size_t n;
	long f;
	int help;

	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if ((size_t)(end - q) > 5 && !memcmp(q, "HELP ", 5))
		help = 1;
	else if ((size_t)(end - q) > 5 && !memcmp(q, "TYPE ", 5))
		help = 0;
	else
		return 0;       /* a plain comment */
	q += 5;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	n = name_len(q, end, 1);
	if (n == 0)
		return chk_fail(c, "%s: invalid metric name", help ? "HELP" : "TYPE");
	f = chk_family(c, q, n);
	if (f < 0 || chk_enter(c, f) == -1)
		return -1;
	if (c->fam[f].samples)
		return chk_fail(c, "%s: %s after samples", c->fam[f].name, help ? "HELP" : "TYPE");
	q += n;
	if (help) {
		if (c->fam[f].help)
			return chk_fail(c, "%s: second HELP", c->fam[f].name);
		c->fam[f].help = 1;
		if (q < end && *q != ' ' && *q != '\t')
			return chk_fail(c, "HELP: invalid metric name");
		for (; q < end; q++)
			if (*q == '\\' && (q + 1 >= end || (q[1] != '\\' && q[1] != 'n')))
				return chk_fail(c, "%s: invalid escape in HELP", c->fam[f].name);
			else if (*q == '\\')
				q++;
		return 0;
	}
	if (c->fam[f].typed)
		return chk_fail(c, "%s: second TYPE", c->fam[f].name);
	c->fam[f].typed = 1;
	if (q >= end || (*q != ' ' && *q != '\t'))
		return chk_fail(c, "TYPE: missing type");
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	n = (size_t)(end - q);
	while (n && (q[n - 1] == ' ' || q[n - 1] == '\t'))
		n--;
	for (int t = 0; t <= PROM_UNTYPED; t++) {
		if (strlen(type_names[t]) == n && !memcmp(q, type_names[t], n)) {
			c->fam[f].type = (enum prom_type)t;
			if (t == PROM_COUNTER && !ends_with(c->fam[f].name, "_total"))
				return chk_fail(c, "%s: counter name without _total", c->fam[f].name);
			return 0;
		}
	}
	return chk_fail(c, "TYPE: '%.*s': unsupported type (counter, gauge, untyped)", (int)n, q);
}

static int value_ok(const char *s, size_t n, double *v)
{
	char buf[64];
	size_t i = 0;
	int digits = 0;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!strcmp(buf, "NaN")) {
		*v = NAN;
		return 1;
	}
	if (!strcmp(buf, "+Inf") || !strcmp(buf, "Inf") || !strcmp(buf, "-Inf")) {
		*v = buf[0] == '-' ? -INFINITY : INFINITY;
		return 1;
	}
	if (buf[i] == '+' || buf[i] == '-')
		i++;
	while (buf[i] >= '0' && buf[i] <= '9')
		i++, digits++;
	if (buf[i] == '.')
		for (i++; buf[i] >= '0' && buf[i] <= '9'; i++)
			digits++;
	if (!digits)
		return 0;
	if (buf[i] == 'e' || buf[i] == 'E') {
		i++;
		if (buf[i] == '+' || buf[i] == '-')
			i++;
		if (!(buf[i] >= '0' && buf[i] <= '9'))
			return 0;
		while (buf[i] >= '0' && buf[i] <= '9')
			i++;
	}
	if (buf[i])
		return 0;
	errno = 0;
	*v = strtod(buf, NULL);
	return 1;
}

static int chk_series_add(struct chk *c, const char *s, size_t n)
{
	if (c->nseries == c->capseries) {
		size_t ncap = c->capseries ? c->capseries * 2 : 256;
		char **a = realloc(c->series, ncap * sizeof(*a));

		if (!a)
			return chk_fail(c, "out of memory");
		c->series = a;
		c->capseries = ncap;
	}
	c->series[c->nseries] = strndup(s, n);
	if (!c->series[c->nseries])
		return chk_fail(c, "out of memory");
	c->nseries++;
	return 0;
}

static int chk_sample(struct chk *c, const char *s, const char *end, prom_sample_cb cb, void *arg)
{
	const char *q = s, *lstart = NULL, *lend = NULL, *vs;
	char lnames[32][64];
	unsigned nl = 0, i;
	size_t n = name_len(s, end, 1);
	double v;
	long f;
	char *name, *labels;

	if (n == 0)
		return chk_fail(c, "invalid metric name");
	q += n;
	if (q < end && *q == '{') {
		lstart = ++q;
		for (;;) {
			size_t ln;

			if (q < end && *q == '}')
				break;
			ln = name_len(q, end, 0);
			if (ln == 0 || (ln >= 2 && q[0] == '_' && q[1] == '_'))
				return chk_fail(c, "invalid label name");
			if (ln >= sizeof(lnames[0]) || nl == 32)
				return chk_fail(c, "label name too long or too many labels");
			for (i = 0; i < nl; i++)
				if (strlen(lnames[i]) == ln && !memcmp(lnames[i], q, ln))
					return chk_fail(c, "label '%.*s' given twice", (int)ln, q);
			memcpy(lnames[nl], q, ln);
			lnames[nl++][ln] = '\0';
			q += ln;
			if (q + 1 >= end || q[0] != '=' || q[1] != '"')
				return chk_fail(c, "label: expected =\"");
			for (q += 2; q < end && *q != '"'; q++) {
				if (*q == '\\') {
					if (q + 1 >= end || (q[1] != '\\' && q[1] != '"' && q[1] != 'n'))
						return chk_fail(c, "invalid escape in label value");
					q++;
				}
			}
			if (q >= end)
				return chk_fail(c, "unterminated label value");
			q++;
			if (q < end && *q == ',')
				q++;
			else if (q >= end || *q != '}')
				return chk_fail(c, "label: expected ',' or '}'");
		}
		lend = q++;
	}
	if (q >= end || (*q != ' ' && *q != '\t'))
		return chk_fail(c, "missing value");
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	vs = q;
	while (q < end && *q != ' ' && *q != '\t')
		q++;
	if (!value_ok(vs, (size_t)(q - vs), &v))
		return chk_fail(c, "'%.*s': invalid value", (int)(q - vs), vs);
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q < end) {
		const char *ts = q;

		if (*q == '-')
			q++;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < end || q == ts)
			return chk_fail(c, "invalid timestamp");
	}
	f = chk_family(c, s, n);
	if (f < 0 || chk_enter(c, f) == -1)
		return -1;
	c->fam[f].samples++;
	if (chk_series_add(c, s, lend ? (size_t)(lend + 1 - s) : n) == -1)
		return -1;
	if (cb) {
		name = strndup(s, n);
		labels = lstart ? strndup(lstart, (size_t)(lend - lstart)) : strdup("");
		if (!name || !labels) {
			free(name);
			free(labels);
			return chk_fail(c, "out of memory");
		}
		cb(name, labels, v, c->fam[f].type, arg);
		free(name);
		free(labels);
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int prom_check(const char *text, size_t len, prom_sample_cb cb, void *arg,
	       char *err, size_t errlen)
{
	struct chk c;
	const char *p = text, *end = text + len;
	size_t i;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.cur = -1;
	c.err = err;
	c.errlen = errlen;
	if (len && text[len - 1] != '\n') {
		c.line = 0;
		rc = chk_fail(&c, "the last line has no newline");
	}
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		c.line++;
		if (memchr(p, '\0', (size_t)(le - p)))
			rc = chk_fail(&c, "NUL byte");
		else if (le == p)
			;       /* empty line */
		else if (*p == '#')
			rc = chk_comment(&c, p, le);
		else
			rc = chk_sample(&c, p, le, cb, arg);
		p = nl ? nl + 1 : end;
	}
	if (rc == 0 && c.nseries) {
		qsort(c.series, c.nseries, sizeof(*c.series), str_cmp);
		for (i = 1; i < c.nseries; i++) {
			if (!strcmp(c.series[i - 1], c.series[i])) {
				c.line = 0;
				rc = chk_fail(&c, "duplicate series %s", c.series[i]);
				break;
			}
		}
	}
	for (i = 0; i < c.nseries; i++)
		free(c.series[i]);
	free(c.series);
	for (i = 0; i < c.nfam; i++)
		free(c.fam[i].name);
	free(c.fam);
	return rc;
}
