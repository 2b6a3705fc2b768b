/* HTTP/1.x message parser: types.
 *
 * A struct h1_msg describes one request or response being parsed from a
 * buffer the caller owns. Nothing is copied and nothing is allocated: the
 * start line and the header index are (offset, length) spans relative to
 * the first byte of the message in that buffer, and the header index is an
 * array the caller supplies (tune.http.maxhdr entries).
 *
 * Lifecycle (enum h1_state):
 *
 *   HEAD --head complete--> BODY --last body byte--> DONE
 *     |                       |                        ^
 *     |                       +-- no body (framing NONE)
 *     +----------------------+-- any violation --> ERROR (err says why)
 *
 * HEAD: h1_head_parse() is called with the bytes received so far (the head
 * must be contiguous from the message start); it resumes at the line where
 * it stopped. BODY: h1_body_parse() is fed the bytes that follow, in any
 * slices, and tells how many of them belong to this message; every byte it
 * accepts may be forwarded verbatim. DONE: the bytes after the message are
 * the next message (pipelining); reset with h1_msg_init(). */
#ifndef PROXYD_H1_T_H
#define PROXYD_H1_T_H

#include <stdint.h>

enum h1_state {
	H1_ST_HEAD = 0,         /* start line and headers not complete yet */
	H1_ST_BODY,             /* head complete; body bytes expected */
	H1_ST_DONE,             /* the whole message was seen */
	H1_ST_ERROR,            /* invalid; m->err tells why; nothing more is accepted */
};

/* Why a message was rejected: a 400 for a request, a 502 for a response. */
enum h1_err {
	H1_ERR_NONE = 0,
	H1_ERR_METHOD,          /* method is not a token, or empty */
	H1_ERR_URI,             /* empty request target, or a byte not allowed in it */
	H1_ERR_URI_TOO_LONG,    /* request line does not fit in the head limit */
	H1_ERR_VERSION,         /* not exactly HTTP/1.0 or HTTP/1.1 */
	H1_ERR_STATUS,          /* status is not three digits 100..599 */
	H1_ERR_START_LINE,      /* malformed request or status line (spaces, missing parts) */
	H1_ERR_CTL,             /* control character (NUL, DEL, ...) in the start line or a header */
	H1_ERR_BARE_CR,         /* CR not followed by LF */
	H1_ERR_HDR_NAME,        /* header name not a token, empty, or whitespace before ':' */
	H1_ERR_HDR_NO_COLON,    /* header line without ':' */
	H1_ERR_OBS_FOLD,        /* line folding (a header line starting with SP/HTAB) */
	H1_ERR_TOO_MANY_HDRS,   /* more than maxhdr headers */
	H1_ERR_HEAD_TOO_BIG,    /* headers do not fit in the head limit */
	H1_ERR_CL_INVALID,      /* Content-Length not digits, or overflows 64 bits */
	H1_ERR_CL_DIFFER,       /* several Content-Length values that differ */
	H1_ERR_CL_TE,           /* both Content-Length and Transfer-Encoding (request) */
	H1_ERR_TE_NOT_CHUNKED,  /* Transfer-Encoding whose last coding is not chunked (request) */
	H1_ERR_TE_DUP_CHUNKED,  /* chunked applied more than once */
	H1_ERR_TE_HTTP10,       /* Transfer-Encoding in an HTTP/1.0 request */
	H1_ERR_CHUNK_SIZE,      /* chunk size empty, not hex, or overflowing */
	H1_ERR_CHUNK_EXT,       /* invalid byte in a chunk extension */
	H1_ERR_CHUNK_CRLF,      /* chunk size line or chunk data not followed by CRLF */
	H1_ERR_TRAILER,         /* invalid trailer line, or trailers too large */
	H1_ERR_TRUNCATED,       /* end of stream inside the message */
	H1_ERR_HOST_DUP,        /* several Host headers with different values (request) */
	H1_ERR_COUNT,
};

/* What delimits the body. */
enum h1_framing {
	H1_BODY_NONE = 0,       /* no body: requests without length, HEAD responses,
				 * 1xx, 204, 304, 2xx to CONNECT */
	H1_BODY_CL,             /* Content-Length bytes */
	H1_BODY_CHUNKED,        /* chunked transfer coding, with optional trailers */
	H1_BODY_CLOSE,          /* response without length: until the server closes */
};

/* Methods HAProxy knows by name; anything else valid is H1_METH_OTHER. */
enum h1_meth {
	H1_METH_OTHER = 0,
	H1_METH_GET,
	H1_METH_HEAD,
	H1_METH_POST,
	H1_METH_PUT,
	H1_METH_DELETE,
	H1_METH_OPTIONS,
	H1_METH_CONNECT,
	H1_METH_TRACE,
	H1_METH_PATCH,
};

/* m->flags. Set by the caller at h1_msg_init(): */
#define H1_MF_RESP          0x0001u /* parse a response (else a request) */
#define H1_MF_REQ_HEAD      0x0002u /* response to a HEAD request: no body */
#define H1_MF_REQ_CONNECT   0x0004u /* response to a CONNECT request: 2xx has no body */
/* Set by the parser once the head is complete: */
#define H1_MF_VER11         0x0010u /* HTTP/1.1 (else 1.0) */
#define H1_MF_CL            0x0020u /* Content-Length present (merged if duplicated) */
#define H1_MF_TE            0x0040u /* Transfer-Encoding present */
#define H1_MF_CHUNKED       0x0080u /* chunked is the final transfer coding */
#define H1_MF_CONN_CLOSE    0x0100u /* Connection: close */
#define H1_MF_CONN_KAL      0x0200u /* Connection: keep-alive */
#define H1_MF_CONN_UPGRADE  0x0400u /* Connection: upgrade */
#define H1_MF_UPGRADE       0x0800u /* an Upgrade header is present (see upgrade_idx) */
#define H1_MF_EXPECT_100    0x1000u /* Expect: 100-continue (request) */
#define H1_MF_LF_ONLY       0x2000u /* at least one head line ended in LF without CR */
#define H1_MF_CL_DUP        0x4000u /* identical duplicate Content-Length merged */
#define H1_MF_HAS_HOST      0x8000u /* a Host header is present (see host_idx) */
/* Internal to the parser: */
#define H1_MF_SL_DONE       0x10000u /* start line parsed */

/* A byte range of the message: buf + off, len bytes. */
struct h1_span {
	uint32_t off;
	uint32_t len;
};

/* One header. value has the surrounding whitespace removed (it may be
 * empty). A header marked H1_HDR_SKIP (a merged duplicate Content-Length)
 * is left out by the rewriter (http_head_rewrite). */
#define H1_HDR_SKIP 0x1u

struct h1_hdr {
	struct h1_span name;
	struct h1_span value;
	uint32_t flags;         /* H1_HDR_* */
};

/* Sub-states of chunked body parsing (internal, exposed for sizing). */
enum h1_chunk_st {
	H1_CK_SIZE = 0,         /* chunk-size hex digits */
	H1_CK_EXT,              /* chunk extension, up to CR */
	H1_CK_SIZE_LF,          /* CR seen after size line; LF expected */
	H1_CK_DATA,             /* chunk data (chunk_left bytes) */
	H1_CK_DATA_CR,          /* CR expected after data */
	H1_CK_DATA_LF,          /* LF expected after data */
	H1_CK_TRL_START,        /* start of a trailer line (or of the final CRLF) */
	H1_CK_TRL_NAME,         /* trailer field name */
	H1_CK_TRL_VALUE,        /* trailer field value */
	H1_CK_TRL_LF,           /* CR seen at end of a trailer line */
	H1_CK_END_LF,           /* CR seen on the empty line ending the message */
};

struct h1_msg {
	enum h1_state state;
	enum h1_err err;        /* H1_ERR_NONE unless state is ERROR */
	uint32_t err_pos;       /* offset of the offending byte (head), or body bytes seen */
	uint32_t flags;         /* H1_MF_* */

	/* limits, from h1_msg_init */
	uint32_t max_head;      /* largest head accepted, bytes (bufsize - maxrewrite) */
	struct h1_hdr *hdrs;    /* caller's array of maxhdr entries */
	uint32_t maxhdr;

	/* head parsing progress */
	uint32_t pos;           /* first byte not yet parsed (start of the current line) */
	uint32_t scan;          /* bytes of the current line already searched for LF */
	uint32_t start;         /* offset of the start line (after leading empty lines) */

	/* the head, valid from state BODY on (spans are valid in HEAD as filled) */
	uint32_t head_len;      /* bytes of the head, final empty line included */
	enum h1_meth meth;      /* request */
	struct h1_span method;  /* request */
	struct h1_span uri;     /* request */
	struct h1_span version; /* "HTTP/1.1" */
	unsigned status;        /* response */
	struct h1_span reason;  /* response (may be empty) */
	uint32_t nhdrs;
	int host_idx;           /* index in hdrs of the first Host header, -1 */
	int upgrade_idx;        /* index in hdrs of the Upgrade header, -1 */
	int cl_idx;             /* index in hdrs of the (first) Content-Length header, -1 */

	/* body framing */
	enum h1_framing framing;
	uint64_t content_length;        /* H1_BODY_CL: the declared length */
	uint64_t body_left;     /* CL: bytes still to come; CHUNKED: of the current chunk */
	uint64_t body_bytes;    /* body bytes accepted so far (framing included for chunked) */
	uint64_t payload_bytes; /* payload only (chunk data, or CL/close body) */
	enum h1_chunk_st ck;    /* chunked sub-state */
	uint32_t ck_digits;     /* hex digits in the current size */
	uint32_t trl_bytes;     /* bytes of trailers so far (limited to max_head) */
	uint32_t trl_len;       /* bytes in the current trailer name (0 = none yet) */
	uint32_t ck_ext;        /* bytes of the current chunk extension (limited to max_head) */
};

#endif
