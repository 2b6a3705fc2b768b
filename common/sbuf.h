/* A growable string buffer. Allocation failure is sticky: the buffer keeps
 * its last good contents, err is set, and later appends do nothing, so that
 * callers check once at the end. */
#ifndef COMMON_SBUF_H
#define COMMON_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *p;     /* NUL-terminated when len > 0 or after sb_cstr() */
	size_t len;
	size_t cap;
	int err;     /* ENOMEM after a failed allocation */
};

void sb_init(struct sbuf *b);
void sb_free(struct sbuf *b);
void sb_reset(struct sbuf *b);
int sb_reserve(struct sbuf *b, size_t extra);
void sb_putc(struct sbuf *b, char c);
void sb_putn(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap);
/* Always a valid C string ("" when empty). */
const char *sb_cstr(struct sbuf *b);
/* Hands the string to the caller (malloc'd, never NULL unless b->err) and resets b. */
char *sb_take(struct sbuf *b);

#endif
