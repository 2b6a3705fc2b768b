#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"

void sb_init(struct sbuf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	sb_init(b);
}

void sb_reset(struct sbuf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p)
		b->p[0] = '\0';
}

int sb_reserve(struct sbuf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (sb_reserve(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_putc(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->err)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->err = EINVAL;
		return;
	}
	if (b->p && (size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return;
	}
	if (sb_reserve(b, (size_t)n) == -1)
		return;
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *sb_cstr(struct sbuf *b)
{
	return b->p && b->len ? b->p : "";
}

char *sb_take(struct sbuf *b)
{
	char *p;

	if (b->err) {
		sb_free(b);
		return NULL;
	}
	if (!b->p && sb_reserve(b, 0) == -1)
		return NULL;
	b->p[b->len] = '\0';
	p = b->p;
	sb_init(b);
	return p;
}
