/* Tests for the HTTP/1 parser (proxyd/h1.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxyd/h1.h"

#define MAXHDR 16
#define MAXHEAD 1024

/* ---- helpers ----------------------------------------------------------- */

static int parse(const char *text, uint32_t flags, struct h1_msg *m, struct h1_hdr *hdrs)
{
	h1_msg_init(m, flags, MAXHEAD, hdrs, MAXHDR);
	return h1_head_parse(m, text, strlen(text));
}

static int span_is(const char *buf, struct h1_span s, const char *want)
{
	return s.len == strlen(want) && !memcmp(buf + s.off, want, s.len);
}

/* Feeds the head split in two at every position, and byte by byte, each
 * slice in a buffer of exactly that size; every way must give the result
 * and the headers of the whole-buffer parse. Returns that result. */
static int parse_split_all(const char *text, uint32_t flags, struct h1_msg *out,
			   struct h1_hdr *outhdrs)
{
	size_t len = strlen(text), k, n;
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	int ref, r;
	char *buf;

	ref = parse(text, flags, out, outhdrs);
	for (k = 0; k <= len; k++) {
		h1_msg_init(&m, flags, MAXHEAD, hdrs, MAXHDR);
		buf = malloc(len + 1);
		assert_non_null(buf);
		memcpy(buf, text, len);
		r = h1_head_parse(&m, buf, k);
		if (r == 0)
			r = h1_head_parse(&m, buf, len);
		free(buf);
		assert_int_equal(r, ref);
		assert_int_equal(m.err, out->err);
		if (r == 1) {
			assert_int_equal(m.head_len, out->head_len);
			assert_int_equal(m.nhdrs, out->nhdrs);
			assert_memory_equal(hdrs, outhdrs, m.nhdrs * sizeof(hdrs[0]));
			assert_int_equal(m.flags, out->flags);
			assert_int_equal(m.framing, out->framing);
		}
	}
	/* one byte more each time */
	h1_msg_init(&m, flags, MAXHEAD, hdrs, MAXHDR);
	r = 0;
	for (n = 1; n <= len && r == 0; n++) {
		buf = malloc(n);
		assert_non_null(buf);
		memcpy(buf, text, n);
		r = h1_head_parse(&m, buf, n);
		free(buf);
	}
	assert_int_equal(r, ref);
	assert_int_equal(m.err, out->err);
	if (r == 1)
		assert_int_equal(m.head_len, out->head_len);
	return ref;
}

/* Body bytes accepted when fed in slices of step. */
static long body_feed(struct h1_msg *m, const char *p, size_t len, size_t step)
{
	size_t off = 0, n;
	ssize_t r;

	while (off < len && m->state == H1_ST_BODY) {
		n = len - off < step ? len - off : step;
		r = h1_body_parse(m, p + off, n);
		if (r < 0)
			return -1;
		off += (size_t)r;
		if ((size_t)r < n)
			break;
	}
	return (long)off;
}

/* ---- valid requests ---------------------------------------------------- */

static void test_h1_get_simple(void **state)
{
	static const char req[] = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\n"
				  "User-Agent:  curl/8 \r\nAccept: */*\r\n\r\nNEXT";
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;

	assert_int_equal(parse_split_all(req, 0, &m, hdrs), 1);
	assert_int_equal(m.state, H1_ST_DONE);
	assert_int_equal(m.framing, H1_BODY_NONE);
	assert_int_equal(m.head_len, strlen(req) - 4);
	assert_int_equal(m.meth, H1_METH_GET);
	assert_true(span_is(req, m.method, "GET"));
	assert_true(span_is(req, m.uri, "/a/b?x=1"));
	assert_true(span_is(req, h1_uri_path(&m, req), "/a/b"));
	assert_true(span_is(req, m.version, "HTTP/1.1"));
	assert_int_equal(m.nhdrs, 3);
	assert_true(span_is(req, hdrs[1].name, "User-Agent"));
	assert_true(span_is(req, hdrs[1].value, "curl/8"));
	assert_int_equal(h1_hdr_find(&m, req, "host", 0), 0);
	assert_int_equal(h1_hdr_find(&m, req, "ACCEPT", 0), 2);
	assert_int_equal(h1_hdr_find(&m, req, "accept", 3), -1);
	assert_int_equal(m.host_idx, 0);
	assert_true(m.flags & H1_MF_VER11);
	assert_true(h1_msg_keepalive(&m));
	assert_false(m.flags & H1_MF_LF_ONLY);
}

static void test_h1_http10_and_connection(void **state)
{
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;

	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", 0, &m, hdrs), 1);
	assert_false(h1_msg_keepalive(&m));
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, &m, hdrs), 1);
	assert_true(h1_msg_keepalive(&m));
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", 0, &m, hdrs), 1);
	assert_true(m.flags & H1_MF_CONN_CLOSE);
	assert_false(h1_msg_keepalive(&m));
	assert_int_equal(parse("GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n"
			       "Upgrade: websocket\r\n\r\n", 0, &m, hdrs), 1);
	assert_true(m.flags & H1_MF_CONN_UPGRADE);
	assert_true(m.flags & H1_MF_CONN_KAL);
	assert_true(m.flags & H1_MF_UPGRADE);
	assert_int_equal(m.upgrade_idx, 1);
}

static void test_h1_lf_only_and_leading_crlf(void **state)
{
	static const char req[] = "\r\n\nGET / HTTP/1.1\nHost: a\n\n";
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;

	/* LF-only line ends are accepted as HAProxy does; empty lines before a
	 * request line are skipped */
	assert_int_equal(parse_split_all(req, 0, &m, hdrs), 1);
	assert_true(m.flags & H1_MF_LF_ONLY);
	assert_int_equal(m.start, 3);
	assert_true(span_is(req, hdrs[0].value, "a"));
	assert_int_equal(m.head_len, strlen(req));
}

static void test_h1_expect_and_methods(void **state)
{
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;

	assert_int_equal(parse("PUT /f HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
			       0, &m, hdrs), 1);
	assert_true(m.flags & H1_MF_EXPECT_100);
	assert_int_equal(m.meth, H1_METH_PUT);
	assert_int_equal(m.framing, H1_BODY_CL);
	assert_int_equal(m.state, H1_ST_BODY);
	assert_int_equal(parse("PROPFIND / HTTP/1.1\r\n\r\n", 0, &m, hdrs), 1);
	assert_int_equal(m.meth, H1_METH_OTHER);
	assert_int_equal(parse("get / HTTP/1.1\r\n\r\n", 0, &m, hdrs), 1);
	assert_int_equal(m.meth, H1_METH_OTHER);    /* methods are case-sensitive */
	assert_string_equal(h1_meth_name(H1_METH_CONNECT), "CONNECT");
}

static void test_h1_uri_path_forms(void **state)
{
	static const struct {
		const char *req;
		const char *path;
	} cases[] = {
		{ "GET http://h:8080/p/q?r HTTP/1.1\r\n\r\n", "/p/q" },
		{ "GET http://h HTTP/1.1\r\n\r\n", "" },
		{ "GET http://h?x HTTP/1.1\r\n\r\n", "" },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", "*" },
		{ "CONNECT h:443 HTTP/1.1\r\n\r\n", "h:443" },
		{ "GET /#frag HTTP/1.1\r\n\r\n", "/" },
	};
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].req, 0, &m, hdrs), 1);
		assert_true(span_is(cases[i].req, h1_uri_path(&m, cases[i].req), cases[i].path));
	}
}

/* ---- bodies ------------------------------------------------------------ */

static void test_h1_content_length_body(void **state)
{
	static const char req[] = "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789GET";
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	size_t step;

	for (step = 1; step <= 13; step++) {
		assert_int_equal(parse(req, 0, &m, hdrs), 1);
		assert_int_equal(m.content_length, 10);
		assert_int_equal(h1_body_direct(&m), 10);
		assert_int_equal(body_feed(&m, req + m.head_len, 13, step), 10);
		assert_int_equal(m.state, H1_ST_DONE);
		assert_int_equal(m.payload_bytes, 10);
	}
	/* splice path */
	assert_int_equal(parse(req, 0, &m, hdrs), 1);
	h1_body_skip(&m, 4);
	assert_int_equal(h1_body_direct(&m), 6);
	h1_body_skip(&m, 100);        /* clamped */
	assert_int_equal(m.state, H1_ST_DONE);
	assert_int_equal(m.payload_bytes, 10);
	/* Content-Length: 0 is done at once */
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, &m, hdrs), 1);
	assert_int_equal(m.state, H1_ST_DONE);
}

static void test_h1_identical_cl_merged(void **state)
{
	static const char req[] = "POST / HTTP/1.1\r\nContent-Length: 3\r\nX: y\r\n"
				  "Content-Length: 3, 3\r\n\r\nabc";
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;

	assert_int_equal(parse_split_all(req, 0, &m, hdrs), 1);
	assert_int_equal(m.content_length, 3);
	assert_true(m.flags & H1_MF_CL_DUP);
	assert_int_equal(m.cl_idx, 0);
	assert_true(hdrs[2].flags & H1_HDR_SKIP);
	assert_int_equal(h1_hdr_find(&m, req, "content-length", 1), -1);
}

static void test_h1_chunked_with_trailers(void **state)
{
	static const char req[] = "POST /up HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
				  "5;name=\"v\"\r\nhello\r\n"
				  "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
				  "0\r\nX-Sum: 1\r\nX-Other:two\r\n\r\n"
				  "GET /next HTTP/1.1\r\n\r\n";
	const char *body;
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	size_t step, blen, want;

	assert_int_equal(parse("x", 0, &m, hdrs), 0);
	for (step = 1; step <= 120; step++) {
		assert_int_equal(parse(req, 0, &m, hdrs), 1);
		assert_int_equal(m.framing, H1_BODY_CHUNKED);
		assert_true(m.flags & H1_MF_CHUNKED);
		body = req + m.head_len;
		blen = strlen(body);
		want = blen - strlen("GET /next HTTP/1.1\r\n\r\n");
		assert_int_equal(body_feed(&m, body, blen, step), (long)want);
		assert_int_equal(m.state, H1_ST_DONE);
		assert_int_equal(m.payload_bytes, 5 + 26);
		assert_int_equal(m.body_bytes, want);
	}
	/* the splice path inside chunk data */
	assert_int_equal(parse(req, 0, &m, hdrs), 1);
	body = req + m.head_len;
	assert_int_equal(h1_body_direct(&m), 0);
	assert_int_equal(h1_body_parse(&m, body, 12), 12);    /* the size line */
	assert_int_equal(h1_body_direct(&m), 5);
	assert_int_equal(h1_body_parse(&m, body + 12, 3), 3);  /* "hel" */
	assert_int_equal(h1_body_direct(&m), 2);
	h1_body_skip(&m, 2);
	assert_int_equal(h1_body_direct(&m), 0);
	assert_int_equal(h1_body_parse(&m, body + 17, strlen(body + 17)),
			 (ssize_t)(strlen(body) - 17 - strlen("GET /next HTTP/1.1\r\n\r\n")));
	assert_int_equal(m.state, H1_ST_DONE);
}

/* ---- responses --------------------------------------------------------- */

static void test_h1_response_framing(void **state)
{
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;

	assert_int_equal(parse_split_all("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", H1_MF_RESP,
					 &m, hdrs), 1);
	assert_int_equal(m.status, 200);
	assert_int_equal(m.framing, H1_BODY_CL);
	assert_true(h1_msg_keepalive(&m));

	assert_int_equal(parse("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", H1_MF_RESP,
			       &m, hdrs), 1);
	assert_int_equal(m.framing, H1_BODY_NONE);
	assert_int_equal(m.state, H1_ST_DONE);
	assert_int_equal(parse("HTTP/1.1 304 Not Modified\r\n\r\n", H1_MF_RESP, &m, hdrs), 1);
	assert_int_equal(m.state, H1_ST_DONE);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n",
			       H1_MF_RESP | H1_MF_REQ_HEAD, &m, hdrs), 1);
	assert_int_equal(m.state, H1_ST_DONE);

	/* interim and tunnel */
	assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\n", H1_MF_RESP, &m, hdrs), 1);
	assert_true(h1_msg_is_interim(&m));
	assert_int_equal(m.state, H1_ST_DONE);
	assert_int_equal(parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
			       H1_MF_RESP, &m, hdrs), 1);
	assert_true(h1_msg_is_tunnel(&m));
	assert_false(h1_msg_is_interim(&m));
	assert_false(h1_msg_keepalive(&m));
	assert_int_equal(parse("HTTP/1.1 200 Connection established\r\n\r\n",
			       H1_MF_RESP | H1_MF_REQ_CONNECT, &m, hdrs), 1);
	assert_true(h1_msg_is_tunnel(&m));
	assert_int_equal(m.framing, H1_BODY_NONE);
	assert_int_equal(parse("HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n",
			       H1_MF_RESP | H1_MF_REQ_CONNECT, &m, hdrs), 1);
	assert_false(h1_msg_is_tunnel(&m));
	assert_int_equal(m.framing, H1_BODY_CL);

	/* status without reason */
	assert_int_equal(parse("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", H1_MF_RESP, &m, hdrs), 1);
	assert_int_equal(m.status, 404);
	assert_int_equal(m.reason.len, 0);
}

static void test_h1_response_until_close(void **state)
{
	static const char res[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc";
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;

	assert_int_equal(parse(res, H1_MF_RESP, &m, hdrs), 1);
	assert_int_equal(m.framing, H1_BODY_CLOSE);
	assert_false(h1_msg_keepalive(&m));
	assert_int_equal(h1_body_direct(&m), UINT64_MAX);
	assert_int_equal(h1_body_parse(&m, res + m.head_len, 3), 3);
	assert_int_equal(m.state, H1_ST_BODY);
	assert_int_equal(h1_msg_eof(&m), 0);
	assert_int_equal(m.state, H1_ST_DONE);

	/* a Content-Length body cut short is truncated */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", H1_MF_RESP, &m, hdrs), 1);
	assert_int_equal(h1_body_parse(&m, "abc", 3), 3);
	assert_int_equal(h1_msg_eof(&m), -1);
	assert_int_equal(m.err, H1_ERR_TRUNCATED);
	assert_string_equal(h1_err_str(m.err), "truncated message");
}

static void test_h1_response_te_overrides_cl(void **state)
{
	static const char res[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n";
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;

	assert_int_equal(parse(res, H1_MF_RESP, &m, hdrs), 1);
	assert_int_equal(m.framing, H1_BODY_CHUNKED);
	assert_true(hdrs[0].flags & H1_HDR_SKIP);
	assert_int_equal(m.cl_idx, -1);
	/* a response whose last coding is not chunked is read until close */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", H1_MF_RESP,
			       &m, hdrs), 1);
	assert_int_equal(m.framing, H1_BODY_CLOSE);
}

/* ---- invalid messages: every rejection has its reason ------------------ */

struct bad {
	const char *text;
	uint32_t flags;
	enum h1_err err;
};

static const struct bad bad_heads[] = {
	/* request smuggling */
	{ "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 0, H1_ERR_CL_TE },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 0, H1_ERR_CL_TE },
	{ "POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", 0, H1_ERR_CL_DIFFER },
	{ "POST / HTTP/1.1\r\nContent-Length: 4, 5\r\n\r\n", 0, H1_ERR_CL_DIFFER },
	{ "POST / HTTP/1.1\r\nContent-Length: +4\r\n\r\n", 0, H1_ERR_CL_INVALID },
	{ "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 0, H1_ERR_CL_INVALID },
	{ "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 0, H1_ERR_CL_INVALID },
	{ "POST / HTTP/1.1\r\nContent-Length: ,\r\n\r\n", 0, H1_ERR_CL_INVALID },
	{ "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, H1_ERR_CL_INVALID },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0, H1_ERR_TE_NOT_CHUNKED },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", 0, H1_ERR_TE_NOT_CHUNKED },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  H1_ERR_TE_DUP_CHUNKED },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, H1_ERR_TE_HTTP10 },
	{ "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 0, H1_ERR_OBS_FOLD },
	{ "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 0, H1_ERR_OBS_FOLD },
	{ "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 0, H1_ERR_OBS_FOLD },
	{ "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 0, H1_ERR_BARE_CR },
	{ "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", 0, H1_ERR_BARE_CR },
	{ "GET / HTTP/1.1\r\nX\r: a\r\n\r\n", 0, H1_ERR_BARE_CR },
	{ "GET /\r HTTP/1.1\r\n\r\n", 0, H1_ERR_BARE_CR },
	{ "GET / HTTP/1.1\r\nX: a\001b\r\n\r\n", 0, H1_ERR_CTL },
	{ "GET / HTTP/1.1\r\nX: a\177\r\n\r\n", 0, H1_ERR_CTL },
	{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, H1_ERR_HDR_NAME },
	{ "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 0, H1_ERR_HDR_NAME },
	{ "GET / HTTP/1.1\r\n: a\r\n\r\n", 0, H1_ERR_HDR_NAME },
	{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 0, H1_ERR_HDR_NO_COLON },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, H1_ERR_HOST_DUP },
	/* request line */
	{ "G(T / HTTP/1.1\r\n\r\n", 0, H1_ERR_METHOD },
	{ " GET / HTTP/1.1\r\n\r\n", 0, H1_ERR_METHOD },
	{ "GET  / HTTP/1.1\r\n\r\n", 0, H1_ERR_URI },
	{ "GET /\tx HTTP/1.1\r\n\r\n", 0, H1_ERR_CTL },
	{ "GET /\x80 HTTP/1.1\r\n\r\n", 0, H1_ERR_URI },
	{ "GET / HTTP/1.2\r\n\r\n", 0, H1_ERR_VERSION },
	{ "GET / HTTP/2.0\r\n\r\n", 0, H1_ERR_VERSION },
	{ "GET / http/1.1\r\n\r\n", 0, H1_ERR_VERSION },
	{ "GET / HTTP/1.1 \r\n\r\n", 0, H1_ERR_VERSION },
	{ "GET /\r\n\r\n", 0, H1_ERR_START_LINE },
	{ "GET\r\n\r\n", 0, H1_ERR_START_LINE },
	/* status line */
	{ "HTTP/1.1 2000 OK\r\n\r\n", H1_MF_RESP, H1_ERR_STATUS },
	{ "HTTP/1.1 099 OK\r\n\r\n", H1_MF_RESP, H1_ERR_STATUS },
	{ "HTTP/1.1 600 OK\r\n\r\n", H1_MF_RESP, H1_ERR_STATUS },
	{ "HTTP/1.1 2x0 OK\r\n\r\n", H1_MF_RESP, H1_ERR_STATUS },
	{ "HTTP/1.1  200 OK\r\n\r\n", H1_MF_RESP, H1_ERR_STATUS },
	{ "HTTP/3 200 OK\r\n\r\n", H1_MF_RESP, H1_ERR_VERSION },
	{ "HTTP/1.1 200 O\001K\r\n\r\n", H1_MF_RESP, H1_ERR_CTL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", H1_MF_RESP,
	  H1_ERR_CL_DIFFER },
};

static void test_h1_bad_heads(void **state)
{
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad_heads) / sizeof(bad_heads[0]); i++) {
		int r = parse_split_all(bad_heads[i].text, bad_heads[i].flags, &m, hdrs);

		if (r != -1 || m.err != bad_heads[i].err) {
			print_message("case %zu: %s: r=%d err=%s, want %s\n", i, bad_heads[i].text,
				      r, h1_err_str(m.err), h1_err_str(bad_heads[i].err));
			fail();
		}
		assert_int_equal(m.state, H1_ST_ERROR);
		assert_int_equal(h1_err_status(m.err), 400);
		/* an error sticks */
		assert_int_equal(h1_head_parse(&m, bad_heads[i].text, strlen(bad_heads[i].text)), -1);
	}
}

static const struct bad bad_bodies[] = {
	{ "zz\r\n", 0, H1_ERR_CHUNK_SIZE },
	{ "\r\n", 0, H1_ERR_CHUNK_SIZE },
	{ "-1\r\n", 0, H1_ERR_CHUNK_SIZE },
	{ " 5\r\n", 0, H1_ERR_CHUNK_SIZE },
	{ "5 \r\nhello\r\n", 0, H1_ERR_CHUNK_SIZE },
	{ "1000000000000000\r\n", 0, H1_ERR_CHUNK_SIZE },      /* 16 digits: overflow guard */
	{ "5\nhello\r\n", 0, H1_ERR_CHUNK_CRLF },
	{ "5\r\nhelloX\r\n", 0, H1_ERR_CHUNK_CRLF },
	{ "5\r\nhello\n0\r\n\r\n", 0, H1_ERR_CHUNK_CRLF },
	{ "5\rhello", 0, H1_ERR_CHUNK_CRLF },
	{ "5;a\001b\r\nhello\r\n", 0, H1_ERR_CHUNK_EXT },
	{ "5;a\nhello\r\n", 0, H1_ERR_CHUNK_CRLF },
	{ "0\r\nX: a\r\n b\r\n\r\n", 0, H1_ERR_TRAILER },
	{ "0\r\nX a\r\n\r\n", 0, H1_ERR_TRAILER },
	{ "0\r\nX: a\rb\r\n\r\n", 0, H1_ERR_TRAILER },
	{ "0\r\nX: a\001\r\n\r\n", 0, H1_ERR_TRAILER },
	{ "0\r\n\rX", 0, H1_ERR_TRAILER },
	{ "0\r\n\n", 0, H1_ERR_TRAILER },
};

static void test_h1_bad_chunked(void **state)
{
	static const char head[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	size_t i, step;

	for (i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		const char *b = bad_bodies[i].text;

		for (step = 1; step <= strlen(b); step++) {
			assert_int_equal(parse(head, 0, &m, hdrs), 1);
			if (body_feed(&m, b, strlen(b), step) != -1 || m.err != bad_bodies[i].err) {
				print_message("case %zu step %zu: err=%s want %s\n", i, step,
					      h1_err_str(m.err), h1_err_str(bad_bodies[i].err));
				fail();
			}
			assert_int_equal(m.state, H1_ST_ERROR);
			assert_int_equal(h1_body_parse(&m, "0\r\n\r\n", 5), -1);
		}
	}
}

static void test_h1_trailer_limit(void **state)
{
	static const char head[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	char body[MAXHEAD + 64];
	size_t n;

	n = (size_t)snprintf(body, sizeof(body), "0\r\nX: ");
	memset(body + n, 'a', MAXHEAD);
	assert_int_equal(parse(head, 0, &m, hdrs), 1);
	assert_int_equal(h1_body_parse(&m, body, n + MAXHEAD), -1);
	assert_int_equal(m.err, H1_ERR_TRAILER);
}

/* ---- limits ------------------------------------------------------------ */

static void test_h1_limits(void **state)
{
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	char buf[4096];
	size_t n, i;

	/* request line alone longer than the head limit */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'a', MAXHEAD);
	buf[n + MAXHEAD] = '\0';
	assert_int_equal(parse(buf, 0, &m, hdrs), -1);
	assert_int_equal(m.err, H1_ERR_URI_TOO_LONG);
	assert_int_equal(h1_err_status(m.err), 400);

	/* headers too large: detected as soon as max_head bytes lack the end */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'b', MAXHEAD - n);
	h1_msg_init(&m, 0, MAXHEAD, hdrs, MAXHDR);
	assert_int_equal(h1_head_parse(&m, buf, MAXHEAD - 1), 0);
	assert_int_equal(h1_head_parse(&m, buf, MAXHEAD), -1);
	assert_int_equal(m.err, H1_ERR_HEAD_TOO_BIG);

	/* a head of exactly max_head bytes fits */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'c', MAXHEAD - n - 4);
	memcpy(buf + MAXHEAD - 4, "\r\n\r\n", 5);
	assert_int_equal(strlen(buf), MAXHEAD);
	assert_int_equal(parse(buf, 0, &m, hdrs), 1);
	assert_int_equal(m.head_len, MAXHEAD);

	/* maxhdr headers fit, one more does not */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (i = 0; i < MAXHDR; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "H%zu: v\r\n", i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	assert_int_equal(parse(buf, 0, &m, hdrs), 1);
	assert_int_equal(m.nhdrs, MAXHDR);
	snprintf(buf + n, sizeof(buf) - n, "One: more\r\n\r\n");
	assert_int_equal(parse(buf, 0, &m, hdrs), -1);
	assert_int_equal(m.err, H1_ERR_TOO_MANY_HDRS);

	/* truncated head */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n", 0, &m, hdrs), 0);
	assert_int_equal(h1_msg_eof(&m), -1);
	assert_int_equal(m.err, H1_ERR_TRUNCATED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_h1_get_simple),
		cmocka_unit_test(test_h1_http10_and_connection),
		cmocka_unit_test(test_h1_lf_only_and_leading_crlf),
		cmocka_unit_test(test_h1_expect_and_methods),
		cmocka_unit_test(test_h1_uri_path_forms),
		cmocka_unit_test(test_h1_content_length_body),
		cmocka_unit_test(test_h1_identical_cl_merged),
		cmocka_unit_test(test_h1_chunked_with_trailers),
		cmocka_unit_test(test_h1_response_framing),
		cmocka_unit_test(test_h1_response_until_close),
		cmocka_unit_test(test_h1_response_te_overrides_cl),
		cmocka_unit_test(test_h1_bad_heads),
		cmocka_unit_test(test_h1_bad_chunked),
		cmocka_unit_test(test_h1_trailer_limit),
		cmocka_unit_test(test_h1_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
