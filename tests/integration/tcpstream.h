/* A seeded pseudo-random byte stream shared by the test helpers: the same
 * seed gives the same bytes however the stream is cut into chunks, so that
 * each end can check what it receives without storing what was sent. */
#ifndef TESTS_TCPSTREAM_H
#define TESTS_TCPSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct tcpstream {
	uint64_t x;             /* xorshift64 state */
	uint64_t word;          /* current 8 bytes */
	unsigned left;          /* bytes of word not used yet */
};

static inline void tcpstream_init(struct tcpstream *st, uint32_t seed)
{
	st->x = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 1) ^ 1u;
	st->left = 0;
}

static inline void tcpstream_fill(struct tcpstream *st, char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (st->left == 0) {
			st->x ^= st->x << 13;
			st->x ^= st->x >> 7;
			st->x ^= st->x << 17;
			st->word = st->x;
			st->left = 8;
		}
		buf[i++] = (char)(st->word & 0xff);
		st->word >>= 8;
		st->left--;
	}
}

#endif
