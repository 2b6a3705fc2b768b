/* HTTP/1.x message parser. The rules it enforces are listed in h1.h and in
 * proxyd.cfg(5), section HTTP. The head is parsed a line at a time (a line
 * is only looked at once its LF has arrived, so resuming is exact); the body
 * a byte at a time for chunked framing, so that no byte ever needs to be
 * kept back and everything accepted can be forwarded at once. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "proxyd/h1.h"

/* Largest chunk size accepted: 15 hex digits (below 2^60), far more than
 * any body and safe from overflow. */
#define CHUNK_MAX_DIGITS 15
/* Content-Length: at most 18 decimal digits (below 2^63). */
#define CL_MAX_DIGITS 18

static const char *const err_names[H1_ERR_COUNT] = {
	[H1_ERR_NONE] = "none",
	[H1_ERR_METHOD] = "invalid method",
	[H1_ERR_URI] = "invalid request target",
	[H1_ERR_URI_TOO_LONG] = "request line too long",
	[H1_ERR_VERSION] = "invalid version",
	[H1_ERR_STATUS] = "invalid status",
	[H1_ERR_START_LINE] = "malformed start line",
	[H1_ERR_CTL] = "control character",
	[H1_ERR_BARE_CR] = "bare CR",
	[H1_ERR_HDR_NAME] = "invalid header name",
	[H1_ERR_HDR_NO_COLON] = "header without colon",
	[H1_ERR_OBS_FOLD] = "obsolete line folding",
	[H1_ERR_TOO_MANY_HDRS] = "too many headers",
	[H1_ERR_HEAD_TOO_BIG] = "headers too large",
	[H1_ERR_CL_INVALID] = "invalid content-length",
	[H1_ERR_CL_DIFFER] = "differing content-length",
	[H1_ERR_CL_TE] = "content-length and transfer-encoding",
	[H1_ERR_TE_NOT_CHUNKED] = "transfer-encoding not ending in chunked",
	[H1_ERR_TE_DUP_CHUNKED] = "chunked applied twice",
	[H1_ERR_TE_HTTP10] = "transfer-encoding in HTTP/1.0",
	[H1_ERR_CHUNK_SIZE] = "invalid chunk size",
	[H1_ERR_CHUNK_EXT] = "invalid chunk extension",
	[H1_ERR_CHUNK_CRLF] = "missing CRLF in chunked body",
	[H1_ERR_TRAILER] = "invalid trailer",
	[H1_ERR_TRUNCATED] = "truncated message",
	[H1_ERR_HOST_DUP] = "differing host headers",
};

const char *h1_err_str(enum h1_err e)
{
	return (unsigned)e < H1_ERR_COUNT && err_names[e] ? err_names[e] : "?";
}

unsigned h1_err_status(enum h1_err e)
{
	(void)e;
	return 400;
}

static const struct {
	const char *name;
	size_t len;
	enum h1_meth meth;
} meths[] = {
	{ "GET", 3, H1_METH_GET },
	{ "HEAD", 4, H1_METH_HEAD },
	{ "POST", 4, H1_METH_POST },
	{ "PUT", 3, H1_METH_PUT },
	{ "DELETE", 6, H1_METH_DELETE },
	{ "OPTIONS", 7, H1_METH_OPTIONS },
	{ "CONNECT", 7, H1_METH_CONNECT },
	{ "TRACE", 5, H1_METH_TRACE },
	{ "PATCH", 5, H1_METH_PATCH },
};

const char *h1_meth_name(enum h1_meth m)
{
	size_t i;

	for (i = 0; i < sizeof(meths) / sizeof(meths[0]); i++)
		if (meths[i].meth == m)
			return meths[i].name;
	return "OTHER";
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Control characters forbidden in values: all below 0x20 but HTAB, and DEL. */
static int is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int span_eqi(const char *buf, struct h1_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && !strncasecmp(buf + s.off, lit, n);
}

static int fail(struct h1_msg *m, enum h1_err e, uint32_t pos)
{
	m->state = H1_ST_ERROR;
	m->err = e;
	m->err_pos = pos;
	return -1;
}

void h1_msg_init(struct h1_msg *m, uint32_t flags, uint32_t max_head,
		 struct h1_hdr *hdrs, uint32_t maxhdr)
{
	memset(m, 0, sizeof(*m));
	m->state = H1_ST_HEAD;
	m->flags = flags & (H1_MF_RESP | H1_MF_REQ_HEAD | H1_MF_REQ_CONNECT);
	m->max_head = max_head;
	m->hdrs = hdrs;
	m->maxhdr = maxhdr;
	m->host_idx = -1;
	m->upgrade_idx = -1;
	m->cl_idx = -1;
}

/* Checks that [b, e) holds no CR (a CR right before the LF was already cut
 * off) and no control character; returns the offset of the first bad byte,
 * or -1. */
static long scan_bad(const char *buf, uint32_t b, uint32_t e, enum h1_err *why)
{
	uint32_t i;

	for (i = b; i < e; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\r') {
			*why = H1_ERR_BARE_CR;
			return i;
		}
		if (is_ctl(c)) {
			*why = H1_ERR_CTL;
			return i;
		}
	}
	return -1;
}

static int parse_version(struct h1_msg *m, const char *buf, uint32_t b, uint32_t e)
{
	if (e - b != 8 || memcmp(buf + b, "HTTP/1.", 7) != 0 ||
	    (buf[b + 7] != '0' && buf[b + 7] != '1'))
		return -1;
	m->version.off = b;
	m->version.len = 8;
	if (buf[b + 7] == '1')
		m->flags |= H1_MF_VER11;
	return 0;
}

static int parse_request_line(struct h1_msg *m, const char *buf, uint32_t b, uint32_t e)
{
	uint32_t i = b, u;
	enum h1_err why;
	long bad;
	size_t k;

	while (i < e && is_tchar((unsigned char)buf[i]))
		i++;
	if (i < e && buf[i] != ' ' && (bad = scan_bad(buf, i, i + 1, &why)) != -1)
		return fail(m, why, (uint32_t)bad);
	if (i == b || (i < e && buf[i] != ' '))
		return fail(m, H1_ERR_METHOD, i);
	if (i == e)
		return fail(m, H1_ERR_START_LINE, i);
	m->method.off = b;
	m->method.len = i - b;
	for (k = 0; k < sizeof(meths) / sizeof(meths[0]); k++)
		if (m->method.len == meths[k].len && !memcmp(buf + b, meths[k].name, meths[k].len))
			m->meth = meths[k].meth;
	u = ++i;
	while (i < e && buf[i] != ' ') {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\r')
			return fail(m, H1_ERR_BARE_CR, i);
		if (is_ctl(c) || c == '\t')
			return fail(m, H1_ERR_CTL, i);
		if (c > 0x7e)
			return fail(m, H1_ERR_URI, i);
		i++;
	}
	if (i == u)
		return fail(m, H1_ERR_URI, i);
	if (i == e)
		return fail(m, H1_ERR_START_LINE, i);
	m->uri.off = u;
	m->uri.len = i - u;
	i++;
	if (parse_version(m, buf, i, e) == -1) {
		if ((bad = scan_bad(buf, i, e, &why)) != -1)
			return fail(m, why, (uint32_t)bad);
		return fail(m, H1_ERR_VERSION, i);
	}
	return 0;
}

static int parse_status_line(struct h1_msg *m, const char *buf, uint32_t b, uint32_t e)
{
	enum h1_err why;
	uint32_t i;
	long bad;

	if (e - b < 8 || parse_version(m, buf, b, b + 8) == -1)
		return fail(m, H1_ERR_VERSION, b);
	i = b + 8;
	if (i == e || buf[i] != ' ')
		return fail(m, H1_ERR_START_LINE, i);
	i++;
	if (e - i < 3 || buf[i] < '1' || buf[i] > '5' || buf[i + 1] < '0' || buf[i + 1] > '9' ||
	    buf[i + 2] < '0' || buf[i + 2] > '9')
		return fail(m, H1_ERR_STATUS, i);
	m->status = (unsigned)(buf[i] - '0') * 100 + (unsigned)(buf[i + 1] - '0') * 10 +
		    (unsigned)(buf[i + 2] - '0');
	i += 3;
	if (i < e && buf[i] != ' ')
		return fail(m, H1_ERR_STATUS, i);
	if (i < e)
		i++;
	if ((bad = scan_bad(buf, i, e, &why)) != -1)
		return fail(m, why, (uint32_t)bad);
	m->reason.off = i;
	m->reason.len = e - i;
	return 0;
}

static int parse_header_line(struct h1_msg *m, const char *buf, uint32_t b, uint32_t e)
{
	struct h1_hdr *h;
	enum h1_err why;
	uint32_t i = b, vb, ve;
	long bad;

	while (i < e && is_tchar((unsigned char)buf[i]))
		i++;
	if (i == e)
		return fail(m, H1_ERR_HDR_NO_COLON, i);
	if (buf[i] != ':' || i == b) {
		if ((bad = scan_bad(buf, i, i + 1, &why)) != -1)
			return fail(m, why, (uint32_t)bad);
		return fail(m, H1_ERR_HDR_NAME, i);
	}
	vb = i + 1;
	if ((bad = scan_bad(buf, vb, e, &why)) != -1)
		return fail(m, why, (uint32_t)bad);
	while (vb < e && (buf[vb] == ' ' || buf[vb] == '\t'))
		vb++;
	ve = e;
	while (ve > vb && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
		ve--;
	if (m->nhdrs >= m->maxhdr)
		return fail(m, H1_ERR_TOO_MANY_HDRS, b);
	h = &m->hdrs[m->nhdrs++];
	h->name.off = b;
	h->name.len = i - b;
	h->value.off = vb;
	h->value.len = ve - vb;
	h->flags = 0;
	return 0;
}

/* Calls fn for each comma-separated element of a header value, trimmed of
 * whitespace (empty elements skipped, as list syntax allows). Stops and
 * returns fn's result when it is not 0. */
static int foreach_elem(const char *buf, struct h1_span v,
			int (*fn)(struct h1_msg *m, const char *buf, struct h1_span el, void *arg),
			struct h1_msg *m, void *arg)
{
	uint32_t i = v.off, end = v.off + v.len, b, e;
	struct h1_span el;
	int r;

	while (i <= end) {
		b = i;
		while (i < end && buf[i] != ',')
			i++;
		e = i;
		while (b < e && (buf[b] == ' ' || buf[b] == '\t'))
			b++;
		while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
			e--;
		if (e > b) {
			el.off = b;
			el.len = e - b;
			r = fn(m, buf, el, arg);
			if (r)
				return r;
		}
		i++;
	}
	return 0;
}

static int cl_elem(struct h1_msg *m, const char *buf, struct h1_span el, void *arg)
{
	unsigned *count = arg;
	uint64_t v = 0;
	uint32_t i;

	(*count)++;
	if (el.len > CL_MAX_DIGITS)
		return H1_ERR_CL_INVALID;
	for (i = 0; i < el.len; i++) {
		char c = buf[el.off + i];

		if (c < '0' || c > '9')
			return H1_ERR_CL_INVALID;
		v = v * 10 + (uint64_t)(c - '0');
	}
	if (m->flags & H1_MF_CL) {
		if (v != m->content_length)
			return H1_ERR_CL_DIFFER;
		m->flags |= H1_MF_CL_DUP;
		return 0;
	}
	m->flags |= H1_MF_CL;
	m->content_length = v;
	return 0;
}

static int te_elem(struct h1_msg *m, const char *buf, struct h1_span el, void *arg)
{
	int *last_chunked = arg;
	uint32_t n = 0;

	/* the coding name, without parameters */
	while (n < el.len && buf[el.off + n] != ';' && buf[el.off + n] != ' ' &&
	       buf[el.off + n] != '\t')
		n++;
	if (n == 7 && !strncasecmp(buf + el.off, "chunked", 7)) {
		if (m->flags & H1_MF_CHUNKED)
			return H1_ERR_TE_DUP_CHUNKED;
		m->flags |= H1_MF_CHUNKED;
		*last_chunked = 1;
	} else {
		*last_chunked = 0;
	}
	return 0;
}

static int conn_elem(struct h1_msg *m, const char *buf, struct h1_span el, void *arg)
{
	(void)arg;
	if (span_eqi(buf, el, "close"))
		m->flags |= H1_MF_CONN_CLOSE;
	else if (span_eqi(buf, el, "keep-alive"))
		m->flags |= H1_MF_CONN_KAL;
	else if (span_eqi(buf, el, "upgrade"))
		m->flags |= H1_MF_CONN_UPGRADE;
	return 0;
}

/* Interprets the headers once the head is complete and decides the framing. */
static int head_finish(struct h1_msg *m, const char *buf)
{
	int resp = !!(m->flags & H1_MF_RESP);
	int last_chunked = 0, r;
	uint32_t i;

	for (i = 0; i < m->nhdrs; i++) {
		struct h1_hdr *h = &m->hdrs[i];

		if (span_eqi(buf, h->name, "content-length")) {
			unsigned count = 0;

			r = foreach_elem(buf, h->value, cl_elem, m, &count);
			if (r)
				return fail(m, (enum h1_err)r, h->value.off);
			if (count == 0)
				return fail(m, H1_ERR_CL_INVALID, h->value.off);
			if (m->cl_idx == -1)
				m->cl_idx = (int)i;
			else
				h->flags |= H1_HDR_SKIP;
		} else if (span_eqi(buf, h->name, "transfer-encoding")) {
			m->flags |= H1_MF_TE;
			r = foreach_elem(buf, h->value, te_elem, m, &last_chunked);
			if (r)
				return fail(m, (enum h1_err)r, h->value.off);
		} else if (span_eqi(buf, h->name, "connection")) {
			foreach_elem(buf, h->value, conn_elem, m, NULL);
		} else if (span_eqi(buf, h->name, "upgrade")) {
			if (m->upgrade_idx == -1)
				m->upgrade_idx = (int)i;
			m->flags |= H1_MF_UPGRADE;
		} else if (span_eqi(buf, h->name, "host")) {
			if (m->host_idx == -1) {
				m->host_idx = (int)i;
				m->flags |= H1_MF_HAS_HOST;
			} else if (!resp) {
				struct h1_span a = m->hdrs[m->host_idx].value;

				if (a.len != h->value.len ||
				    strncasecmp(buf + a.off, buf + h->value.off, a.len) != 0)
					return fail(m, H1_ERR_HOST_DUP, h->value.off);
			}
		} else if (!resp && span_eqi(buf, h->name, "expect")) {
			if (span_eqi(buf, h->value, "100-continue"))
				m->flags |= H1_MF_EXPECT_100;
		}
	}

	if (!resp) {
		if (m->flags & H1_MF_TE) {
			if (!(m->flags & H1_MF_VER11))
				return fail(m, H1_ERR_TE_HTTP10, m->start);
			if (m->flags & H1_MF_CL)
				return fail(m, H1_ERR_CL_TE, m->start);
			if (!last_chunked)
				return fail(m, H1_ERR_TE_NOT_CHUNKED, m->start);
			m->framing = H1_BODY_CHUNKED;
		} else if (m->flags & H1_MF_CL) {
			m->framing = H1_BODY_CL;
		} else {
			m->framing = H1_BODY_NONE;
		}
	} else {
		unsigned st = m->status;

		if (st < 200 || st == 204 || st == 304 || (m->flags & H1_MF_REQ_HEAD) ||
		    ((m->flags & H1_MF_REQ_CONNECT) && st < 300)) {
			m->framing = H1_BODY_NONE;
		} else if (m->flags & H1_MF_TE) {
			/* RFC 9112 6.3: Transfer-Encoding overrides Content-Length,
			 * which must not be forwarded */
			if (m->cl_idx != -1) {
				for (i = 0; i < m->nhdrs; i++)
					if (span_eqi(buf, m->hdrs[i].name, "content-length"))
						m->hdrs[i].flags |= H1_HDR_SKIP;
				m->cl_idx = -1;
				m->flags &= ~(H1_MF_CL | H1_MF_CL_DUP);
			}
			m->framing = last_chunked ? H1_BODY_CHUNKED : H1_BODY_CLOSE;
			if (!last_chunked)
				m->flags &= ~H1_MF_CHUNKED;
		} else if (m->flags & H1_MF_CL) {
			m->framing = H1_BODY_CL;
		} else {
			m->framing = H1_BODY_CLOSE;
		}
	}
	if (m->framing == H1_BODY_CL)
		m->body_left = m->content_length;
	if (m->framing == H1_BODY_NONE || (m->framing == H1_BODY_CL && m->content_length == 0))
		m->state = H1_ST_DONE;
	else
		m->state = H1_ST_BODY;
	return 1;
}

int h1_head_parse(struct h1_msg *m, const char *buf, size_t len)
{
	size_t lim;
	uint32_t b, e, lf;
	const char *p;

	if (m->state == H1_ST_ERROR)
		return -1;
	if (m->state != H1_ST_HEAD)
		return 1;
	/* never look beyond the head limit: a head must end within it */
	lim = len < m->max_head ? len : m->max_head;
	for (;;) {
		b = m->pos;
		if (b + m->scan >= lim)
			p = NULL;
		else
			p = memchr(buf + b + m->scan, '\n', lim - b - m->scan);
		if (!p) {
			m->scan = (uint32_t)(lim - b);
			if (len >= m->max_head)
				return fail(m, (m->flags & H1_MF_SL_DONE) ? H1_ERR_HEAD_TOO_BIG :
					    ((m->flags & H1_MF_RESP) ? H1_ERR_HEAD_TOO_BIG :
					     H1_ERR_URI_TOO_LONG), b);
			return 0;
		}
		lf = (uint32_t)(p - buf);
		e = lf;
		if (e > b && buf[e - 1] == '\r')
			e--;
		else
			m->flags |= H1_MF_LF_ONLY;
		m->pos = lf + 1;
		m->scan = 0;

		if (!(m->flags & H1_MF_SL_DONE)) {
			if (e == b && !(m->flags & H1_MF_RESP)) {
				m->start = m->pos;      /* empty line before a request */
				continue;
			}
			m->start = b;
			if (m->flags & H1_MF_RESP) {
				if (parse_status_line(m, buf, b, e) == -1)
					return -1;
			} else if (parse_request_line(m, buf, b, e) == -1) {
				return -1;
			}
			m->flags |= H1_MF_SL_DONE;
			continue;
		}
		if (e == b) {
			m->head_len = m->pos;
			return head_finish(m, buf);
		}
		if (buf[b] == ' ' || buf[b] == '\t')
			return fail(m, H1_ERR_OBS_FOLD, b);
		if (parse_header_line(m, buf, b, e) == -1)
			return -1;
	}
}

static ssize_t body_fail(struct h1_msg *m, enum h1_err e)
{
	m->state = H1_ST_ERROR;
	m->err = e;
	m->err_pos = (uint32_t)(m->body_bytes > UINT32_MAX ? UINT32_MAX : m->body_bytes);
	return -1;
}

/* One step of the chunked state machine on byte c; bytes inside chunk data
 * are handled by the caller. Returns 0, 1 when the message ended with this
 * byte, or -1. */
static int chunk_step(struct h1_msg *m, unsigned char c)
{
	int d;

	switch (m->ck) {
	case H1_CK_SIZE:
		d = hexval(c);
		if (d >= 0) {
			if (++m->ck_digits > CHUNK_MAX_DIGITS)
				return (int)body_fail(m, H1_ERR_CHUNK_SIZE);
			m->body_left = m->body_left * 16 + (uint64_t)d;
			return 0;
		}
		if (m->ck_digits == 0)
			return (int)body_fail(m, H1_ERR_CHUNK_SIZE);
		if (c == ';') {
			m->ck = H1_CK_EXT;
			m->ck_ext = 0;
			return 0;
		}
		if (c == '\r') {
			m->ck = H1_CK_SIZE_LF;
			return 0;
		}
		return (int)body_fail(m, c == '\n' ? H1_ERR_CHUNK_CRLF : H1_ERR_CHUNK_SIZE);
	case H1_CK_EXT:
		if (c == '\r') {
			m->ck = H1_CK_SIZE_LF;
			return 0;
		}
		if (c == '\n')
			return (int)body_fail(m, H1_ERR_CHUNK_CRLF);
		if (is_ctl(c) || ++m->ck_ext > m->max_head)
			return (int)body_fail(m, H1_ERR_CHUNK_EXT);
		return 0;
	case H1_CK_SIZE_LF:
		if (c != '\n')
			return (int)body_fail(m, H1_ERR_CHUNK_CRLF);
		m->ck = m->body_left ? H1_CK_DATA : H1_CK_TRL_START;
		return 0;
	case H1_CK_DATA:
		return 0;       /* not reached: the caller skips data */
	case H1_CK_DATA_CR:
		if (c != '\r')
			return (int)body_fail(m, H1_ERR_CHUNK_CRLF);
		m->ck = H1_CK_DATA_LF;
		return 0;
	case H1_CK_DATA_LF:
		if (c != '\n')
			return (int)body_fail(m, H1_ERR_CHUNK_CRLF);
		m->ck = H1_CK_SIZE;
		m->ck_digits = 0;
		m->body_left = 0;
		return 0;
	case H1_CK_TRL_START:
		if (c == '\r') {
			m->ck = H1_CK_END_LF;
			return 0;
		}
		if (!is_tchar(c))
			return (int)body_fail(m, H1_ERR_TRAILER);
		m->ck = H1_CK_TRL_NAME;
		m->trl_len = 1;
		return 0;
	case H1_CK_TRL_NAME:
		if (c == ':') {
			m->ck = H1_CK_TRL_VALUE;
			return 0;
		}
		if (!is_tchar(c))
			return (int)body_fail(m, H1_ERR_TRAILER);
		m->trl_len++;
		return 0;
	case H1_CK_TRL_VALUE:
		if (c == '\r') {
			m->ck = H1_CK_TRL_LF;
			return 0;
		}
		if (is_ctl(c))
			return (int)body_fail(m, H1_ERR_TRAILER);
		return 0;
	case H1_CK_TRL_LF:
		if (c != '\n')
			return (int)body_fail(m, H1_ERR_TRAILER);
		m->ck = H1_CK_TRL_START;
		return 0;
	case H1_CK_END_LF:
		if (c != '\n')
			return (int)body_fail(m, H1_ERR_TRAILER);
		m->state = H1_ST_DONE;
		return 1;
	}
	return (int)body_fail(m, H1_ERR_TRAILER);
}

ssize_t h1_body_parse(struct h1_msg *m, const char *buf, size_t len)
{
	size_t i = 0, n;
	int r;

	if (m->state == H1_ST_ERROR)
		return -1;
	if (m->state != H1_ST_BODY)
		return 0;
	switch (m->framing) {
	case H1_BODY_CLOSE:
		m->body_bytes += len;
		m->payload_bytes += len;
		return (ssize_t)len;
	case H1_BODY_CL:
		n = len < m->body_left ? len : (size_t)m->body_left;
		m->body_left -= n;
		m->body_bytes += n;
		m->payload_bytes += n;
		if (!m->body_left)
			m->state = H1_ST_DONE;
		return (ssize_t)n;
	case H1_BODY_CHUNKED:
		break;
	case H1_BODY_NONE:
		m->state = H1_ST_DONE;
		return 0;
	}
	while (i < len) {
		if (m->ck == H1_CK_DATA) {
			n = len - i < m->body_left ? len - i : (size_t)m->body_left;
			m->body_left -= n;
			m->payload_bytes += n;
			m->body_bytes += n;
			i += n;
			if (!m->body_left)
				m->ck = H1_CK_DATA_CR;
			continue;
		}
		if (m->ck >= H1_CK_TRL_START && ++m->trl_bytes > m->max_head)
			return body_fail(m, H1_ERR_TRAILER);
		r = chunk_step(m, (unsigned char)buf[i]);
		if (r == -1)
			return -1;
		m->body_bytes++;
		i++;
		if (r == 1)
			break;
	}
	return (ssize_t)i;
}

uint64_t h1_body_direct(const struct h1_msg *m)
{
	if (m->state != H1_ST_BODY)
		return 0;
	switch (m->framing) {
	case H1_BODY_CL:
		return m->body_left;
	case H1_BODY_CHUNKED:
		return m->ck == H1_CK_DATA ? m->body_left : 0;
	case H1_BODY_CLOSE:
		return UINT64_MAX;
	case H1_BODY_NONE:
		break;
	}
	return 0;
}

void h1_body_skip(struct h1_msg *m, uint64_t n)
{
	uint64_t max = h1_body_direct(m);

	if (n > max)
		n = max;
	m->body_bytes += n;
	m->payload_bytes += n;
	if (m->framing == H1_BODY_CLOSE)
		return;
	m->body_left -= n;
	if (m->body_left)
		return;
	if (m->framing == H1_BODY_CL)
		m->state = H1_ST_DONE;
	else if (m->framing == H1_BODY_CHUNKED && n)
		m->ck = H1_CK_DATA_CR;
}

int h1_msg_eof(struct h1_msg *m)
{
	if (m->state == H1_ST_DONE)
		return 0;
	if (m->state == H1_ST_BODY && m->framing == H1_BODY_CLOSE) {
		m->state = H1_ST_DONE;
		return 0;
	}
	if (m->state == H1_ST_ERROR)
		return -1;
	m->state = H1_ST_ERROR;
	m->err = H1_ERR_TRUNCATED;
	m->err_pos = m->pos;
	return -1;
}

int h1_msg_keepalive(const struct h1_msg *m)
{
	if (m->framing == H1_BODY_CLOSE || h1_msg_is_tunnel(m))
		return 0;
	if (m->flags & H1_MF_CONN_CLOSE)
		return 0;
	if (m->flags & H1_MF_VER11)
		return 1;
	return !!(m->flags & H1_MF_CONN_KAL);
}

int h1_msg_is_tunnel(const struct h1_msg *m)
{
	if (!(m->flags & H1_MF_RESP))
		return 0;
	if (m->status == 101)
		return 1;
	return (m->flags & H1_MF_REQ_CONNECT) && m->status >= 200 && m->status < 300;
}

int h1_msg_is_interim(const struct h1_msg *m)
{
	return (m->flags & H1_MF_RESP) && m->status >= 100 && m->status < 200 && m->status != 101;
}

int h1_hdr_find(const struct h1_msg *m, const char *buf, const char *name, int from)
{
	size_t n = strlen(name);
	uint32_t i;

	for (i = from < 0 ? 0 : (uint32_t)from; i < m->nhdrs; i++) {
		const struct h1_hdr *h = &m->hdrs[i];

		if (!(h->flags & H1_HDR_SKIP) && h->name.len == n &&
		    !strncasecmp(buf + h->name.off, name, n))
			return (int)i;
	}
	return -1;
}

struct h1_span h1_uri_path(const struct h1_msg *m, const char *buf)
{
	struct h1_span s = m->uri;
	const char *u = buf + s.off, *p;
	uint32_t i = 0, end;

	if (s.len && u[0] != '/') {
		p = s.len >= 3 ? memmem(u, s.len, "://", 3) : NULL;
		if (!p)
			return s;       /* "*" or authority form */
		i = (uint32_t)(p - u) + 3;
		while (i < s.len && u[i] != '/' && u[i] != '?' && u[i] != '#')
			i++;
	}
	end = i;
	while (end < s.len && u[end] != '?' && u[end] != '#')
		end++;
	s.off += i;
	s.len = end - i;
	return s;
}
