/* Shared body of the HTTP/1 parser fuzz targets. Properties checked on
 * every input (abort on violation, so that libFuzzer reports it):
 *  - parsing the whole input at once and feeding it in slices (size from
 *    the first byte) give the same result, head length, headers, framing,
 *    error and body bytes (each slice in a buffer of exactly that size, so
 *    that AddressSanitizer sees any read past the bytes received);
 *  - a head that parsed, once rewritten by http_head_rewrite, parses again
 *    with the same start line, header count and framing. */
#ifndef FUZZ_H1_H
#define FUZZ_H1_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyd/h1.h"
#include "proxyd/http-rules.h"

#define FUZZ_MAX_HEAD   2048u
#define FUZZ_MAXHDR     32u

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static int fuzz_feed(struct h1_msg *m, const uint8_t *data, size_t size, size_t step)
{
	size_t len = 0;
	char *copy;
	int r;

	for (;;) {
		len = len + step < size ? len + step : size;
		copy = malloc(len ? len : 1);
		CHECK(copy);
		memcpy(copy, data, len);
		r = h1_head_parse(m, copy, len);
		free(copy);
		if (r != 0 || len == size)
			return r;
	}
}

/* Body bytes accepted from data[0..size), fed in slices of step. */
static long fuzz_body(struct h1_msg *m, const uint8_t *data, size_t size, size_t step)
{
	size_t off = 0, n;
	ssize_t r;
	char *copy;

	while (off < size && m->state == H1_ST_BODY) {
		n = size - off < step ? size - off : step;
		copy = malloc(n);
		CHECK(copy);
		memcpy(copy, data + off, n);
		r = h1_body_parse(m, copy, n);
		free(copy);
		if (r < 0)
			return -1;
		CHECK((size_t)r <= n);
		off += (size_t)r;
		if ((size_t)r < n)
			CHECK(m->state == H1_ST_DONE);
	}
	return (long)off;
}

static void fuzz_one(const uint8_t *data, size_t size, uint32_t flags)
{
	struct h1_hdr ha[FUZZ_MAXHDR], hb[FUZZ_MAXHDR], hc[FUZZ_MAXHDR];
	struct h1_msg a, b, c;
	size_t step;
	long ba, bb, w;
	char *out;
	int ra, rb;

	if (size < 1)
		return;
	step = (size_t)(data[0] & 0x1f) + 1;
	if (data[0] & 0x80)
		flags |= flags & H1_MF_RESP ? H1_MF_REQ_HEAD : 0;
	if (data[0] & 0x40)
		flags |= flags & H1_MF_RESP ? H1_MF_REQ_CONNECT : 0;
	data++;
	size--;

	h1_msg_init(&a, flags, FUZZ_MAX_HEAD, ha, FUZZ_MAXHDR);
	h1_msg_init(&b, flags, FUZZ_MAX_HEAD, hb, FUZZ_MAXHDR);
	ra = fuzz_feed(&a, data, size, size ? size : 1);
	rb = fuzz_feed(&b, data, size, step);
	CHECK(ra == rb);
	if (ra == -1) {
		CHECK(a.err == b.err && a.err != H1_ERR_NONE);
		return;
	}
	if (ra == 0)
		return;
	CHECK(a.head_len == b.head_len && a.head_len <= size && a.head_len <= FUZZ_MAX_HEAD);
	CHECK(a.nhdrs == b.nhdrs && !memcmp(ha, hb, a.nhdrs * sizeof(ha[0])));
	CHECK(a.framing == b.framing && a.flags == b.flags && a.state == b.state);

	ba = fuzz_body(&a, data + a.head_len, size - a.head_len, size);
	bb = fuzz_body(&b, data + b.head_len, size - b.head_len, step);
	CHECK(ba == bb && a.state == b.state && a.payload_bytes == b.payload_bytes);
	if (ba == -1)
		CHECK(a.err == b.err);

	/* the rewritten head parses again, alike */
	out = malloc(FUZZ_MAX_HEAD * 2);
	CHECK(out);
	w = http_head_rewrite(&b, (const char *)data, NULL, 0, out, FUZZ_MAX_HEAD * 2);
	CHECK(w > 0);
	h1_msg_init(&c, flags, FUZZ_MAX_HEAD * 2, hc, FUZZ_MAXHDR);
	CHECK(h1_head_parse(&c, out, (size_t)w) == 1);
	CHECK((long)c.head_len == w);
	CHECK(c.framing == b.framing);
	CHECK(c.status == b.status && c.meth == b.meth);
	free(out);
}

#endif
