#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonparse.h"
#include "common/util.h"

struct jp_state {
	struct jp_doc *d;
	const char *s;
	size_t len;
	size_t pos;
	char *err;
	size_t errlen;
};

void jp_init(struct jp_doc *d)
{
	memset(d, 0, sizeof(*d));
}

void jp_free(struct jp_doc *d)
{
	free(d->t);
	memset(d, 0, sizeof(*d));
}

static int jp_fail(struct jp_state *st, const char *what)
{
	snprintf(st->err, st->errlen, "offset %zu: %s", st->pos, what);
	errno = EINVAL;
	return -1;
}

static int jp_push(struct jp_state *st, enum jp_type type, size_t start, uint32_t parent)
{
	struct jp_doc *d = st->d;
	struct jp_tok *t;
	size_t ncap;

	if (d->ntok == d->cap) {
		ncap = d->cap ? d->cap * 2 : 64;
		t = realloc(d->t, ncap * sizeof(*t));
		if (!t) {
			snprintf(st->err, st->errlen, "out of memory");
			errno = ENOMEM;
			return -1;
		}
		d->t = t;
		d->cap = ncap;
	}
	t = &d->t[d->ntok];
	t->type = (uint8_t)type;
	t->start = (uint32_t)start;
	t->len = 0;
	t->n = 0;
	t->next = 0;
	t->parent = parent;
	return (int)d->ntok++;
}

static void jp_ws(struct jp_state *st)
{
	while (st->pos < st->len) {
		char c = st->s[st->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		st->pos++;
	}
}

static int jp_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Validates a string starting at the opening quote; the token covers the
 * raw bytes between the quotes. UTF-8 is checked for well-formedness. */
static int jp_string(struct jp_state *st, uint32_t parent)
{
	size_t start = ++st->pos;
	unsigned cp;
	int i;

	while (st->pos < st->len) {
		unsigned char c = (unsigned char)st->s[st->pos];

		if (c == '"') {
			i = jp_push(st, JP_STR, start, parent);
			if (i == -1)
				return -1;
			st->d->t[i].len = (uint32_t)(st->pos - start);
			st->pos++;
			st->d->t[i].next = (uint32_t)i + 1;
			return i;
		}
		if (c < 0x20)
			return jp_fail(st, "control character in string");
		if (c == '\\') {
			if (st->pos + 1 >= st->len)
				return jp_fail(st, "unterminated string");
			c = (unsigned char)st->s[st->pos + 1];
			if (c == 'u') {
				if (st->pos + 6 > st->len || jp_hex4(st->s + st->pos + 2, &cp) == -1)
					return jp_fail(st, "bad \\u escape");
				st->pos += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c))
				return jp_fail(st, "bad escape");
			st->pos += 2;
			continue;
		}
		if (c < 0x80) {
			st->pos++;
			continue;
		}
		/* multi-byte UTF-8 */
		{
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
			size_t k;

			if (n == 0 || c > 0xf4 || st->pos + n > st->len)
				return jp_fail(st, "invalid UTF-8");
			for (k = 1; k < n; k++)
				if (((unsigned char)st->s[st->pos + k] & 0xc0) != 0x80)
					return jp_fail(st, "invalid UTF-8");
			st->pos += n;
		}
	}
	return jp_fail(st, "unterminated string");
}

static int jp_digits(struct jp_state *st)
{
	size_t p0 = st->pos;

	while (st->pos < st->len && st->s[st->pos] >= '0' && st->s[st->pos] <= '9')
		st->pos++;
	return st->pos > p0 ? 0 : -1;
}

static int jp_number(struct jp_state *st, uint32_t parent)
{
	size_t start = st->pos;
	int i;

	if (st->s[st->pos] == '-')
		st->pos++;
	if (st->pos < st->len && st->s[st->pos] == '0')
		st->pos++;
	else if (jp_digits(st) == -1)
		return jp_fail(st, "bad number");
	if (st->pos < st->len && st->s[st->pos] == '.') {
		st->pos++;
		if (jp_digits(st) == -1)
			return jp_fail(st, "bad number");
	}
	if (st->pos < st->len && (st->s[st->pos] == 'e' || st->s[st->pos] == 'E')) {
		st->pos++;
		if (st->pos < st->len && (st->s[st->pos] == '+' || st->s[st->pos] == '-'))
			st->pos++;
		if (jp_digits(st) == -1)
			return jp_fail(st, "bad number");
	}
	i = jp_push(st, JP_NUM, start, parent);
	if (i == -1)
		return -1;
	st->d->t[i].len = (uint32_t)(st->pos - start);
	st->d->t[i].next = (uint32_t)i + 1;
	return i;
}

static int jp_word(struct jp_state *st, const char *w, enum jp_type type, uint32_t parent)
{
	size_t n = strlen(w);
	int i;

	if (st->len - st->pos < n || memcmp(st->s + st->pos, w, n) != 0)
		return jp_fail(st, "unexpected character");
	i = jp_push(st, type, st->pos, parent);
	if (i == -1)
		return -1;
	st->d->t[i].len = (uint32_t)n;
	st->d->t[i].next = (uint32_t)i + 1;
	st->pos += n;
	return i;
}

/* Iterative: an explicit stack of open containers bounds the depth without
 * recursion. After each value, the enclosing container decides what may
 * follow (',' or its closing bracket). */
int jp_parse(struct jp_doc *d, const char *s, size_t len, char *err, size_t errlen)
{
	struct jp_state st = { .d = d, .s = s, .len = len, .err = err, .errlen = errlen };
	int stack[JP_MAX_DEPTH];
	int depth = 0, i, top;
	int want_value = 1;   /* a value is expected next */
	int in_key = 0;       /* expecting an object key (or '}' when empty) */
	char c;

	d->s = s;
	d->slen = len;
	d->ntok = 0;
	if (len >= UINT32_MAX) {
		snprintf(err, errlen, "text too long");
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		jp_ws(&st);
		if (st.pos >= len)
			return jp_fail(&st, "unexpected end");
		c = s[st.pos];
		top = depth ? stack[depth - 1] : -1;
		if (in_key) {
			if (c == '}' && d->t[top].n == 0)
				goto close;
			if (c != '"')
				return jp_fail(&st, "expected a member name");
			if (jp_string(&st, (uint32_t)top) == -1)
				return -1;
			jp_ws(&st);
			if (st.pos >= len || s[st.pos] != ':')
				return jp_fail(&st, "expected ':'");
			st.pos++;
			in_key = 0;
			want_value = 1;
			continue;
		}
		if (want_value) {
			uint32_t parent = top == -1 ? 0 : (uint32_t)top;

			if (c == '{' || c == '[') {
				if (depth == JP_MAX_DEPTH)
					return jp_fail(&st, "nesting too deep");
				i = jp_push(&st, c == '{' ? JP_OBJ : JP_ARR, st.pos, parent);
				if (i == -1)
					return -1;
				if (top != -1)
					d->t[top].n++;
				stack[depth++] = i;
				st.pos++;
				if (c == '{') {
					in_key = 1;
				} else {
					jp_ws(&st);
					if (st.pos < len && s[st.pos] == ']') {
						top = i;
						c = ']';
						goto close;
					}
				}
				continue;
			}
			if (c == ']' && top != -1 && d->t[top].type == JP_ARR && d->t[top].n == 0)
				goto close;
			if (c == '"')
				i = jp_string(&st, parent);
			else if (c == '-' || (c >= '0' && c <= '9'))
				i = jp_number(&st, parent);
			else if (c == 't')
				i = jp_word(&st, "true", JP_BOOL, parent);
			else if (c == 'f')
				i = jp_word(&st, "false", JP_BOOL, parent);
			else if (c == 'n')
				i = jp_word(&st, "null", JP_NULL, parent);
			else
				return jp_fail(&st, "expected a value");
			if (i == -1)
				return -1;
			if (top != -1)
				d->t[top].n++;
			want_value = 0;
			goto after_value;
		}
		/* after a value inside a container */
		if (c == ',') {
			st.pos++;
			if (d->t[top].type == JP_OBJ)
				in_key = 1;
			else
				want_value = 1;
			continue;
		}
		if ((c == '}' && d->t[top].type == JP_OBJ) || (c == ']' && d->t[top].type == JP_ARR))
			goto close;
		return jp_fail(&st, "expected ',' or a closing bracket");
close:
		st.pos++;
		d->t[top].len = (uint32_t)(st.pos - d->t[top].start);
		d->t[top].next = (uint32_t)d->ntok;
		depth--;
		in_key = 0;
		want_value = 0;
after_value:
		if (depth == 0) {
			jp_ws(&st);
			if (st.pos != len)
				return jp_fail(&st, "trailing characters");
			return 0;
		}
	}
}

int jp_is(const struct jp_doc *d, int i, enum jp_type type)
{
	return i >= 0 && (size_t)i < d->ntok && d->t[i].type == type;
}

int jp_first(const struct jp_doc *d, int i)
{
	if (i < 0 || (size_t)i >= d->ntok)
		return -1;
	if ((d->t[i].type != JP_OBJ && d->t[i].type != JP_ARR) || d->t[i].n == 0)
		return -1;
	return i + 1;
}

int jp_sibling(const struct jp_doc *d, int c, int i)
{
	uint32_t n;

	if (c < 0 || i < 0 || (size_t)i >= d->ntok)
		return -1;
	if (d->t[c].type == JP_OBJ)
		i++; /* the value of key i */
	n = d->t[i].next;
	return n < d->t[c].next ? (int)n : -1;
}

int jp_get(const struct jp_doc *d, int obj, const char *key)
{
	int k;

	if (!jp_is(d, obj, JP_OBJ))
		return -1;
	for (k = jp_first(d, obj); k != -1; k = jp_sibling(d, obj, k))
		if (jp_str_eq(d, k, key))
			return k + 1;
	return -1;
}

int jp_index(const struct jp_doc *d, int arr, size_t idx)
{
	int e;

	if (!jp_is(d, arr, JP_ARR))
		return -1;
	for (e = jp_first(d, arr); e != -1; e = jp_sibling(d, arr, e))
		if (idx-- == 0)
			return e;
	return -1;
}

int jp_path(const struct jp_doc *d, int i, const char *path)
{
	char part[128];
	const char *p = path, *dot;
	size_t n;
	char *end;
	unsigned long idx;

	while (i != -1 && *p) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(part))
			return -1;
		memcpy(part, p, n);
		part[n] = '\0';
		if (jp_is(d, i, JP_ARR)) {
			errno = 0;
			idx = strtoul(part, &end, 10);
			if (n == 0 || *end || errno)
				return -1;
			i = jp_index(d, i, idx);
		} else {
			i = jp_get(d, i, part);
		}
		p += n;
		if (*p == '.')
			p++;
	}
	return i;
}

int jp_double(const struct jp_doc *d, int i, double *out)
{
	char buf[64];
	char *end;
	double v;

	if (!jp_is(d, i, JP_NUM) || d->t[i].len >= sizeof(buf))
		return -1;
	memcpy(buf, d->s + d->t[i].start, d->t[i].len);
	buf[d->t[i].len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (*end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int jp_int(const struct jp_doc *d, int i, int64_t *out)
{
	char buf[32];
	char *end;
	long long v;
	double dv;

	if (!jp_is(d, i, JP_NUM))
		return -1;
	if (d->t[i].len < sizeof(buf) &&
	    !memchr(d->s + d->t[i].start, '.', d->t[i].len) &&
	    !memchr(d->s + d->t[i].start, 'e', d->t[i].len) &&
	    !memchr(d->s + d->t[i].start, 'E', d->t[i].len)) {
		memcpy(buf, d->s + d->t[i].start, d->t[i].len);
		buf[d->t[i].len] = '\0';
		errno = 0;
		v = strtoll(buf, &end, 10);
		if (errno || *end)
			return -1;
		*out = v;
		return 0;
	}
	/* 1e3 or 2.0: integral values written as floats */
	if (jp_double(d, i, &dv) == -1 || dv != floor(dv) || dv < -9.2e18 || dv > 9.2e18)
		return -1;
	*out = (int64_t)dv;
	return 0;
}

int jp_bool(const struct jp_doc *d, int i, int *out)
{
	if (!jp_is(d, i, JP_BOOL))
		return -1;
	*out = d->s[d->t[i].start] == 't';
	return 0;
}

int jp_str(const struct jp_doc *d, int i, char *buf, size_t buflen)
{
	const char *p, *end;
	char tmp[4];
	size_t n, out = 0, k;
	unsigned cp, lo;
	int full = 0;

	if (!jp_is(d, i, JP_STR))
		return -1;
	if (buflen > 0)
		buf[0] = '\0';
	p = d->s + d->t[i].start;
	end = p + d->t[i].len;
	while (p < end) {
		if (*p != '\\') {
			unsigned char c = (unsigned char)*p;

			n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
			memcpy(tmp, p, n);
			p += n;
		} else {
			char e = p[1];

			p += 2;
			switch (e) {
			case 'b': tmp[0] = '\b'; n = 1; break;
			case 'f': tmp[0] = '\f'; n = 1; break;
			case 'n': tmp[0] = '\n'; n = 1; break;
			case 'r': tmp[0] = '\r'; n = 1; break;
			case 't': tmp[0] = '\t'; n = 1; break;
			case 'u':
				jp_hex4(p, &cp);
				p += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' &&
				    p[1] == 'u' && jp_hex4(p + 2, &lo) == 0 &&
				    lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				} else if (cp >= 0xd800 && cp < 0xe000) {
					cp = 0xfffd; /* lone surrogate */
				}
				n = util_utf8_encode(cp, tmp);
				break;
			default: tmp[0] = e; n = 1; break;
			}
		}
		if (!full && buflen > 0 && out + n < buflen) {
			for (k = 0; k < n; k++)
				buf[out + k] = tmp[k];
		} else {
			full = 1;
		}
		if (!full)
			buf[out + n] = '\0';
		out += n;
	}
	return out > INT32_MAX ? INT32_MAX : (int)out;
}

int jp_str_eq(const struct jp_doc *d, int i, const char *s)
{
	size_t n = strlen(s);

	return jp_is(d, i, JP_STR) && d->t[i].len == n && memcmp(d->s + d->t[i].start, s, n) == 0;
}

int64_t jp_get_int(const struct jp_doc *d, int obj, const char *key, int64_t def)
{
	int64_t v;

	return jp_int(d, jp_get(d, obj, key), &v) == 0 ? v : def;
}

double jp_get_double(const struct jp_doc *d, int obj, const char *key, double def)
{
	double v;

	return jp_double(d, jp_get(d, obj, key), &v) == 0 ? v : def;
}

void jp_get_str(const struct jp_doc *d, int obj, const char *key, char *buf, size_t buflen)
{
	if (buflen == 0)
		return;
	if (jp_str(d, jp_get(d, obj, key), buf, buflen) == -1)
		buf[0] = '\0';
}
