/* HTTP/1.0 and 1.1 message parser (requests and responses).
 *
 * Strict in the way HAProxy is by default; every rejection has a reason
 * code (h1_err_str for the log, h1_err_status for the answer):
 *  - request line: method a token, one SP, a non-empty target of visible
 *    ASCII, one SP, exactly "HTTP/1.0" or "HTTP/1.1"; status line: version,
 *    SP, three digits 100..599, then SP and a reason or nothing;
 *  - head lines end in CRLF or LF alone (accepted, as HAProxy does; the
 *    rewriter emits CRLF); a CR not followed by LF, a control character
 *    other than HTAB in a value, a header name that is not a token or is
 *    followed by whitespace before ':', and obs-fold are rejected; empty
 *    lines before a request line are skipped (RFC 9112 2.2);
 *  - Content-Length: digits only; duplicates (repeated headers or a
 *    comma-separated list) with one value are merged, differing values are
 *    rejected; a request carrying both Content-Length and Transfer-Encoding
 *    is rejected, a response carrying both uses Transfer-Encoding and the
 *    Content-Length header is dropped (H1_HDR_SKIP);
 *  - Transfer-Encoding: in a request, chunked must be the last coding
 *    (else rejected), and any Transfer-Encoding in an HTTP/1.0 request is
 *    rejected; chunked twice is rejected; a response whose last coding is
 *    not chunked is read until close;
 *  - chunked bodies: hex size (at most 15 digits, no sign, no space before
 *    the extension's ';'), extensions skipped but checked for control
 *    characters, CRLF required after the size line and after the data
 *    (bodies are forwarded verbatim, so no LF-only leniency there),
 *    trailers checked like headers and limited to max_head bytes;
 *  - a head larger than max_head, or more than maxhdr headers: rejected
 *    like any other invalid request with 400, as HAProxy 2.6 does (it
 *    answers neither 414 nor 431); the reason code tells which limit.
 *
 * Return conventions: h1_head_parse returns 1 (head complete), 0 (need more
 * bytes) or -1 (error: state ERROR, m->err set). */
#ifndef PROXYD_H1_H
#define PROXYD_H1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxyd/h1-t.h"

/* HAProxy's defaults. */
#define H1_DEF_BUFSIZE          16384u
#define H1_DEF_MAXREWRITE       1024u
#define H1_DEF_MAXHDR           101u

/* Prepares m for a new message. flags: H1_MF_RESP, and for a response
 * H1_MF_REQ_HEAD / H1_MF_REQ_CONNECT from the request it answers.
 * max_head: the largest head accepted (tune.bufsize - tune.maxrewrite).
 * hdrs: an array of maxhdr entries, owned by the caller, kept until the
 * message is done with. */
void h1_msg_init(struct h1_msg *m, uint32_t flags, uint32_t max_head,
		 struct h1_hdr *hdrs, uint32_t maxhdr);

/* Parses the head from buf[0..len), len being all the bytes of the message
 * received so far (the same buf, grown). Resumes where it stopped. On 1 the
 * head is complete: m->head_len bytes, state BODY (or DONE when the message
 * has no body); the bytes after head_len are body or the next message.
 * 0: incomplete, call again with more. -1: invalid. */
int h1_head_parse(struct h1_msg *m, const char *buf, size_t len);

/* Parses body bytes: buf[0..len) are the bytes following those accepted so
 * far. Returns how many belong to this message (they may be forwarded as
 * they are), 0..len; fewer than len only when the message ended (state
 * DONE) or on error (-1, state ERROR). For H1_BODY_CLOSE all bytes are
 * accepted. */
ssize_t h1_body_parse(struct h1_msg *m, const char *buf, size_t len);

/* How many of the next body bytes are payload that needs no parsing (rest
 * of a Content-Length body, or of the current chunk); UINT64_MAX for a body
 * read until close. The session may splice that many bytes and then call
 * h1_body_skip(m, n) with what was forwarded (n <= h1_body_direct(m)). */
uint64_t h1_body_direct(const struct h1_msg *m);
void h1_body_skip(struct h1_msg *m, uint64_t n);

/* The producer closed its side. Returns 0 when that ends the message
 * properly (H1_BODY_CLOSE: state becomes DONE) or the message was already
 * DONE; -1 otherwise (state ERROR, H1_ERR_TRUNCATED), also when nothing of
 * a new message had arrived: the caller, which knows whether any byte came,
 * tells a clean close between messages from a truncated one. */
int h1_msg_eof(struct h1_msg *m);

/* Predicates, valid once the head is complete. */
/* The connection may carry another message after this one: HTTP/1.1 without
 * "Connection: close", or HTTP/1.0 with "Connection: keep-alive"; never
 * for a response read until close. */
int h1_msg_keepalive(const struct h1_msg *m);
/* Response status 101, or 2xx to CONNECT: the connection becomes a tunnel
 * after this head. */
int h1_msg_is_tunnel(const struct h1_msg *m);
/* 1xx other than 101: an interim response; the final one follows (reset m
 * with the same flags and parse again). */
int h1_msg_is_interim(const struct h1_msg *m);

/* Index of the first header named name (case-insensitive) at index >= from,
 * or -1. Skipped headers (H1_HDR_SKIP) are not returned. */
int h1_hdr_find(const struct h1_msg *m, const char *buf, const char *name, int from);

/* The path of the request target: for "/a/b?x" -> "/a/b"; for an absolute
 * form "http://h:1/a?x" -> "/a"; for "*" or authority form, the whole
 * target. Span relative to the message start. */
struct h1_span h1_uri_path(const struct h1_msg *m, const char *buf);

/* "content-length and transfer-encoding", for the log. */
const char *h1_err_str(enum h1_err e);
/* The status to answer a request rejected for e: 400 for every reason, as
 * HAProxy 2.6 does (limits included). A response rejected by the parser is
 * answered 502 by the session; h1_err_status is for requests. */
unsigned h1_err_status(enum h1_err e);
const char *h1_meth_name(enum h1_meth m);

#endif
