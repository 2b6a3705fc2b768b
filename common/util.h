/* Small helpers that programs and libraries share: whole writes, sleeping,
 * UTF-8 encoding and growing arrays. None of them logs. */
#ifndef COMMON_UTIL_H
#define COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Writes all n bytes, retrying on EINTR and partial writes; on EAGAIN
 * (a non-blocking fd) it waits in poll(2) for room. 0, or -1 with errno. */
int util_write_all(int fd, const void *p, size_t n);

/* Sleeps ms milliseconds, resuming after signals. */
void util_sleep_ms(uint32_t ms);

/* Encodes code point cp (<= 0x10ffff) as UTF-8 into out (4 bytes room);
 * returns the bytes written. */
size_t util_utf8_encode(uint32_t cp, char *out);

/* Grows the array *p of elements of size sz so that it holds at least need
 * (capacity doubled from 16); *cap is updated. 0, or -1 with ENOMEM and *p
 * untouched. */
int util_grow(void **p, size_t *cap, size_t need, size_t sz);

#endif
