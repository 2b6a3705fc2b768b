/* HTTP ACLs, rules and head rewriting.
 *
 * Configuration side (called by the config parser; errors go to err):
 * parse one line's words into a struct http_rules. Runtime side: evaluate
 * conditions and rule lists on parsed messages, and write a message head
 * with header edits applied into an output buffer.
 *
 * Order, as HAProxy: the frontend's http-request rules, then its
 * use_backend rules (first match wins, else default_backend), then the
 * backend's http-request rules (when the backend is another proxy); for the
 * response, the backend's http-response rules, then the frontend's. A deny
 * stops everything. Header edits are collected and applied in one rewrite,
 * so a condition sees the message as received, not as edited by earlier
 * rules (a difference from HAProxy, which applies each edit at once). */
#ifndef PROXYD_HTTP_RULES_H
#define PROXYD_HTTP_RULES_H

#include <stddef.h>

#include "proxyd/h1-t.h"
#include "proxyd/http-rules-t.h"

/* ---- configuration ----------------------------------------------------- */

void http_rules_init(struct http_rules *r);
void http_rules_free(struct http_rules *r);

/* args[0] is the keyword ("acl", "http-request", "http-response",
 * "use_backend"); line is stored for messages. 0, or -1 with err filled
 * ("unknown ACL 'x'", "missing header value", ...; no "file:line" prefix). */
int http_acl_parse(struct http_rules *r, char **args, int nargs, int line,
		   char *err, size_t errlen);
/* response: 0 for http-request, 1 for http-response. Actions: allow,
 * deny [deny_status N] (N one of httperr_known(); default 403 for a
 * request, 502 for a response), set-header NAME VALUE, add-header NAME
 * VALUE, del-header NAME (not Content-Length / Transfer-Encoding), and for
 * requests redirect location|prefix|scheme VALUE [code 301|302|303|307|308]
 * [drop-query], each with an optional if/unless condition. args[0] may be
 * "redirect" (the frontend keyword of that name): the line is then parsed
 * as "http-request redirect ...". */
int http_rule_parse(struct http_rules *r, int response, char **args, int nargs, int line,
		    char *err, size_t errlen);
int http_use_backend_parse(struct http_rules *r, char **args, int nargs, int line,
			   char *err, size_t errlen);

/* An address block, "ADDR" or "ADDR/BITS", IPv4 or IPv6: 0, or -1. */
int http_net_parse(const char *s, struct http_net *n);

/* ---- evaluation -------------------------------------------------------- */

/* 1 when ss is in n; an IPv4 client on an IPv6 socket (::ffff:a.b.c.d)
 * counts as IPv4. n with family AF_UNSPEC contains nothing. */
int http_net_match(const struct http_net *n, const struct sockaddr_storage *ss);

/* 1 when the condition holds, 0 otherwise. */
int http_cond_eval(const struct http_rules *r, const struct http_cond *c,
		   const struct http_smp *x);

/* Runs the http-request (response == 0, x->msg is the request) or
 * http-response (response == 1) rules. Header edits of matching rules are
 * appended to ops[*nops..maxops). DENY sets *status (the deny_status, or
 * 502 for a response); REDIRECT sets *status to the code and *hit to the
 * rule (see http_redirect_head). */
enum http_verdict http_rules_run(const struct http_rules *r, int response,
				 const struct http_smp *x,
				 struct http_hdr_op *ops, size_t maxops, size_t *nops,
				 unsigned *status, const struct http_rule **hit);

/* The backend index (cfg->proxies / proxy table order) of the first
 * use_backend whose condition holds, or -1 (use default_backend). */
int http_rules_backend(const struct http_rules *r, const struct http_smp *x);

/* The answer of a redirect rule for request req (parsed from buf): status
 * line, Location, "Content-Length: 0", "Cache-Control: no-cache", and
 * "Connection: close" when close is set, written into out. Returns the
 * length, or -1 when it does not fit in outsz. */
long http_redirect_head(const struct http_rule *ru, const struct h1_msg *req, const char *buf,
			int close, char *out, size_t outsz);

/* ---- head rewriting ---------------------------------------------------- */

/* Writes the head of m (parsed from buf) into out: the start line as
 * received, the headers not removed by ops and not marked H1_HDR_SKIP (as
 * "name: value"), the headers appended by ops in order, and the final empty
 * line; every line ends in CRLF (LF-only input is normalised). outsz is the
 * room the caller grants: pass min(free space, m->head_len + maxrewrite) to
 * keep HAProxy's tune.maxrewrite contract. Returns the length written, or
 * -1 when it does not fit (the session answers 500, as HAProxy's strict
 * rewriting does). */
long http_head_rewrite(const struct h1_msg *m, const char *buf,
		       const struct http_hdr_op *ops, size_t nops,
		       char *out, size_t outsz);

#endif
