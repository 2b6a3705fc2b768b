/* Tests for HTTP ACLs, rules, head rewriting (proxyd/http-rules.c) and the
 * error responses (proxyd/httperr.c). */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxyd/h1.h"
#include "proxyd/http-rules.h"
#include "proxyd/httperr.h"

#define MAXHDR 32

/* ---- helpers ----------------------------------------------------------- */

/* Splits a line into words at spaces (no quoting needed here). */
static int words(char *line, char **argv, int max)
{
	int n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(line, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	return n;
}

/* Feeds configuration lines ("acl ...", "http-request ...", ...) into r;
 * returns -1 and the message on the first failure. */
static int load_rules(struct http_rules *r, const char *const *lines, char *err, size_t errlen)
{
	char buf[512], *argv[32];
	size_t i;
	int n, rc;

	for (i = 0; lines[i]; i++) {
		snprintf(buf, sizeof(buf), "%s", lines[i]);
		n = words(buf, argv, 32);
		if (!strcmp(argv[0], "acl"))
			rc = http_acl_parse(r, argv, n, (int)i + 1, err, errlen);
		else if (!strcmp(argv[0], "http-request") || !strcmp(argv[0], "redirect"))
			rc = http_rule_parse(r, 0, argv, n, (int)i + 1, err, errlen);
		else if (!strcmp(argv[0], "http-response"))
			rc = http_rule_parse(r, 1, argv, n, (int)i + 1, err, errlen);
		else
			rc = http_use_backend_parse(r, argv, n, (int)i + 1, err, errlen);
		if (rc == -1)
			return -1;
	}
	return 0;
}

struct req {
	struct h1_msg m;
	struct h1_hdr hdrs[MAXHDR];
	const char *buf;
};

static void req_parse(struct req *q, const char *text, uint32_t flags)
{
	q->buf = text;
	h1_msg_init(&q->m, flags, 8192, q->hdrs, MAXHDR);
	assert_int_equal(h1_head_parse(&q->m, text, strlen(text)), 1);
}

/* The client address of the samples: 192.0.2.7. */
static const struct sockaddr_storage *client(void)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;

	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &sin->sin_addr);
	return &ss;
}

/* Samples of a request q (or none) and a message msg. */
static struct http_smp smp(const struct req *q, const struct req *msg)
{
	struct http_smp x = { q ? &q->m : NULL, q ? q->buf : NULL, &msg->m, msg->buf, client() };

	return x;
}

/* Evaluates the condition of the first http-request rule on a request. */
static int cond_on(const struct http_rules *r, const char *text)
{
	struct req q;
	struct http_smp x;

	req_parse(&q, text, 0);
	x = smp(&q, &q);
	return http_cond_eval(r, &r->req[0].cond, &x);
}

/* Runs a rule list: the request's (response 0, msg the request) or the
 * response's. */
static enum http_verdict run(const struct http_rules *r, int response, const struct req *q,
			     const struct req *msg, struct http_hdr_op *ops, size_t maxops,
			     size_t *nops, unsigned *status)
{
	struct http_smp x = smp(q, msg);
	const struct http_rule *hit = NULL;

	return http_rules_run(r, response, &x, ops, maxops, nops, status, &hit);
}

static int backend_of(const struct http_rules *r, const struct req *q)
{
	struct http_smp x = smp(q, q);

	return http_rules_backend(r, &x);
}

/* ---- ACLs and conditions ----------------------------------------------- */

static void test_acl_fetches(void **state)
{
	static const char *const lines[] = {
		"acl api path_beg /api/ /v2/",
		"acl root path /",
		"acl host hdr(host) example.com",
		"acl hosti hdr(host) -i example.com",
		"acl static hdr_beg(host) static.",
		"acl post method POST",
		"acl lang hdr(accept-language) fr",
		NULL,
	};
	struct http_rules r;
	char err[256];
	struct {
		const char *acl;
		const char *req;
		int want;
	} cases[] = {
		{ "api", "GET /api/x HTTP/1.1\r\n\r\n", 1 },
		{ "api", "GET /v2/ HTTP/1.1\r\n\r\n", 1 },
		{ "api", "GET /ap HTTP/1.1\r\n\r\n", 0 },
		{ "api", "GET /API/x HTTP/1.1\r\n\r\n", 0 },
		{ "api", "GET http://h/api/x?q HTTP/1.1\r\n\r\n", 1 },
		{ "root", "GET /?x=1 HTTP/1.1\r\n\r\n", 1 },
		{ "root", "GET /a HTTP/1.1\r\n\r\n", 0 },
		/* hdr(host) matches the whole value, port included, as HAProxy */
		{ "host", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 1 },
		{ "host", "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", 0 },
		{ "host", "GET / HTTP/1.1\r\nHost: EXAMPLE.com\r\n\r\n", 0 },
		{ "hosti", "GET / HTTP/1.1\r\nHost: EXAMPLE.com\r\n\r\n", 1 },
		{ "host", "GET / HTTP/1.1\r\n\r\n", 0 },
		{ "static", "GET / HTTP/1.1\r\nHost: static.example.com\r\n\r\n", 1 },
		{ "static", "GET / HTTP/1.1\r\nHost: www.static.com\r\n\r\n", 0 },
		{ "post", "POST / HTTP/1.1\r\n\r\n", 1 },
		{ "post", "post / HTTP/1.1\r\n\r\n", 0 },
		/* hdr() looks at each comma-separated value of each header */
		{ "lang", "GET / HTTP/1.1\r\nAccept-Language: en, fr\r\n\r\n", 1 },
		{ "lang", "GET / HTTP/1.1\r\nAccept-Language: en\r\nAccept-Language: fr\r\n\r\n", 1 },
		{ "lang", "GET / HTTP/1.1\r\nAccept-Language: en, fra\r\n\r\n", 0 },
	};
	size_t i;

	http_rules_init(&r);
	assert_int_equal(load_rules(&r, lines, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_rules one;
		char line[64];
		const char *l2[] = { line, NULL };
		int got;

		/* a rule using only this ACL, evaluated with the shared ACL table */
		http_rules_init(&one);
		one.acls = r.acls;
		one.nacls = r.nacls;
		one.acl_names = r.acl_names;
		one.nacl_names = r.nacl_names;
		snprintf(line, sizeof(line), "http-request deny if %s", cases[i].acl);
		assert_int_equal(load_rules(&one, l2, err, sizeof(err)), 0);
		got = cond_on(&one, cases[i].req);
		if (got != cases[i].want) {
			print_message("case %zu: acl %s on %s: got %d\n", i, cases[i].acl, cases[i].req,
				      got);
			fail();
		}
		one.acls = NULL;
		one.nacls = 0;
		one.acl_names = NULL;
		one.nacl_names = 0;
		http_rules_free(&one);
	}
	http_rules_free(&r);
}

/* Several `acl` lines with one name are ORed; terms are ANDed; `||`
 * separates alternatives; `!` negates; unless inverts. */
static void test_conditions(void **state)
{
	static const char *const acls[] = {
		"acl a path_beg /a",
		"acl a path_beg /alt",
		"acl b method GET",
		"acl c hdr(x-c) 1",
		NULL,
	};
	static const struct {
		const char *rule;
		const char *req;
		int want;
	} cases[] = {
		{ "http-request deny if a b", "GET /a HTTP/1.1\r\n\r\n", 1 },
		{ "http-request deny if a b", "POST /a HTTP/1.1\r\n\r\n", 0 },
		{ "http-request deny if a !b", "POST /a HTTP/1.1\r\n\r\n", 1 },
		{ "http-request deny if ! b", "POST /a HTTP/1.1\r\n\r\n", 1 },
		{ "http-request deny if !!b", "GET /a HTTP/1.1\r\n\r\n", 1 },
		{ "http-request deny if a b || c", "POST /x HTTP/1.1\r\nX-C: 1\r\n\r\n", 1 },
		{ "http-request deny if a b || c", "POST /a HTTP/1.1\r\n\r\n", 0 },
		{ "http-request deny if c || a b", "GET /a HTTP/1.1\r\n\r\n", 1 },
		{ "http-request deny if c or !a", "GET /z HTTP/1.1\r\n\r\n", 1 },
		{ "http-request deny if a c || b c", "GET /z HTTP/1.1\r\nX-C: 1\r\n\r\n", 1 },
		{ "http-request deny if a c || b c", "GET /z HTTP/1.1\r\n\r\n", 0 },
		{ "http-request deny unless a", "GET /z HTTP/1.1\r\n\r\n", 1 },
		{ "http-request deny unless a", "GET /a HTTP/1.1\r\n\r\n", 0 },
		{ "http-request deny unless a || c", "GET /z HTTP/1.1\r\nX-C: 1\r\n\r\n", 0 },
		{ "http-request deny", "GET /z HTTP/1.1\r\n\r\n", 1 },
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *lines[] = { acls[0], acls[1], acls[2], acls[3], cases[i].rule, NULL };
		struct http_rules r;
		int got;

		http_rules_init(&r);
		assert_int_equal(load_rules(&r, lines, err, sizeof(err)), 0);
		assert_int_equal(r.nacl_names, 3);
		got = cond_on(&r, cases[i].req);
		if (got != cases[i].want) {
			print_message("case %zu: %s on %s: got %d\n", i, cases[i].rule, cases[i].req,
				      got);
			fail();
		}
		http_rules_free(&r);
	}
}

static void test_rule_errors(void **state)
{
	static const struct {
		const char *line;
		const char *err;
	} cases[] = {
		{ "http-request deny if nope", "unknown ACL 'nope' (declare it with 'acl' before use)" },
		{ "http-request deny if", "missing condition after 'if'" },
		{ "http-request deny when x", "'when': unexpected word (expected 'if' or 'unless')" },
		{ "http-request deny if || x", "'||' without a condition before it" },
		{ "http-request deny if { path /", "'{' without a closing '}'" },
		{ "http-request deny if { }", "empty anonymous ACL '{ }'" },
		{ "http-request deny if {path}", "'{path}': put spaces around the braces of an anonymous ACL ('{ criterion pattern }')" },
		{ "http-request deny if { path_nope / }", "'path_nope': unknown or unsupported criterion (path, path_beg, path_end, path_sub, path_dom, path_reg, url, url_beg, url_end, url_sub, url_reg, query, method, hdr(<name>), hdr_beg, hdr_end, hdr_sub, hdr_dom, hdr_reg, src, always_true, always_false, ssl_fc)" },
		{ "http-request deny if !", "'!' without an ACL after it" },
		{ "http-request tarpit", "'tarpit': unknown or unsupported action (allow, deny, set-header, add-header, del-header, redirect)" },
		{ "http-response tarpit", "'tarpit': unknown or unsupported action (allow, deny, set-header, add-header, del-header)" },
		{ "http-response redirect location /x", "'redirect': not supported in http-response (use http-request redirect)" },
		{ "http-request redirect location /x code 200", "code: expected 301, 302, 303, 307 or 308" },
		{ "http-request redirect where /x", "'where': expected location, prefix or scheme" },
		{ "http-request redirect scheme", "usage: redirect location|prefix|scheme <value> [code 301|302|303|307|308] [drop-query] [if|unless <cond>]" },
		{ "http-request redirect prefix /x append-slash", "'append-slash': unsupported redirect option (code, drop-query)" },
		{ "redirect scheme h/s", "'h/s': invalid scheme" },
		{ "http-request del-header", "missing header name (usage: http-request del-header <name> [if|unless <cond>])" },
		{ "acl 1*2 path /", "'1*2': invalid ACL name (letters, digits, '-', '_', '.', ':')" },
		{ "acl a path -m foo /", "-m foo: not a match method for 'path' (str, beg, end, sub, dom, reg, found; ip for src)" },
		{ "acl a src -m beg 1.2.3.4", "-m beg: not a match method for 'src' (str, beg, end, sub, dom, reg, found; ip for src)" },
		{ "acl a path -x /", "'-x': unsupported flag (-i, -m, --)" },
		{ "acl a src 300.1.1.1", "'300.1.1.1': expected an address or a CIDR block" },
		{ "acl a src 10.0.0.0/33", "'10.0.0.0/33': expected an address or a CIDR block" },
		{ "acl a always_true x", "'x': always_true takes no pattern" },
		{ "acl a", "missing criterion (usage: acl <name> <criterion> [-i] [-m <method>] <pattern>...)" },
		{ "acl a path", "missing pattern" },
		{ "acl a hdr_beg x", "'hdr_beg': expected hdr_beg(<header name>)" },
		{ "acl a hdr() x", "'hdr()': expected hdr(<header name>)" },
		{ "use_backend", "missing backend name (usage: use_backend <backend> [if|unless <cond>])" },
	};
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *lines[] = { cases[i].line, NULL };
		struct http_rules r;

		http_rules_init(&r);
		assert_int_equal(load_rules(&r, lines, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
		http_rules_free(&r);
	}
}

/* The other criteria and match methods, -m, anonymous ACLs. */
static void test_acl_more(void **state)
{
	static const struct {
		const char *cond;
		const char *req;
		int want;
	} cases[] = {
		{ "{ path_end -i .jpg .png }", "GET /a/B.JPG?x HTTP/1.1\r\n\r\n", 1 },
		{ "{ path_end .jpg }", "GET /a.jpg/x HTTP/1.1\r\n\r\n", 0 },
		{ "{ path_sub /img/ }", "GET /static/img/a HTTP/1.1\r\n\r\n", 1 },
		{ "{ path_sub /img/ }", "GET /static/im HTTP/1.1\r\n\r\n", 0 },
		{ "{ path_dom api }", "GET /v1/api/x HTTP/1.1\r\n\r\n", 1 },
		{ "{ path_dom api }", "GET /v1/apis/x HTTP/1.1\r\n\r\n", 0 },
		{ "{ path_reg ^/user/[0-9]+$ }", "GET /user/42 HTTP/1.1\r\n\r\n", 1 },
		{ "{ path_reg ^/user/[0-9]+$ }", "GET /user/42a HTTP/1.1\r\n\r\n", 0 },
		{ "{ path -m beg /a }", "GET /abc HTTP/1.1\r\n\r\n", 1 },
		{ "{ path -m reg -i ^/ABC }", "GET /abc HTTP/1.1\r\n\r\n", 1 },
		{ "{ url_beg /a?x }", "GET /a?x=1 HTTP/1.1\r\n\r\n", 1 },
		{ "{ url_sub =1 }", "GET /a?x=1 HTTP/1.1\r\n\r\n", 1 },
		{ "{ query x=1 }", "GET /a?x=1#f HTTP/1.1\r\n\r\n", 1 },
		{ "{ query -m found }", "GET /a HTTP/1.1\r\n\r\n", 0 },
		{ "{ query -m found }", "GET /a? HTTP/1.1\r\n\r\n", 1 },
		{ "{ hdr_end(host) .example.com }", "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", 1 },
		{ "{ hdr_dom(host) -i example.com }", "GET / HTTP/1.1\r\nHost: WWW.Example.com:80\r\n\r\n", 1 },
		{ "{ hdr_dom(host) example.com }", "GET / HTTP/1.1\r\nHost: notexample.com\r\n\r\n", 0 },
		{ "{ hdr_sub(user-agent) bot }", "GET / HTTP/1.1\r\nUser-Agent: a-bot/1\r\n\r\n", 1 },
		{ "{ hdr_reg(x-id) ^[a-f0-9]{4}$ }", "GET / HTTP/1.1\r\nX-Id: beef\r\n\r\n", 1 },
		{ "{ hdr(x-id) -m found }", "GET / HTTP/1.1\r\nX-Id:\r\n\r\n", 1 },
		{ "{ hdr(x-id) -m found }", "GET / HTTP/1.1\r\n\r\n", 0 },
		{ "{ src 192.0.2.0/24 }", "GET / HTTP/1.1\r\n\r\n", 1 },
		{ "{ src 192.0.2.6 192.0.2.7 }", "GET / HTTP/1.1\r\n\r\n", 1 },
		{ "{ src 192.0.2.128/25 10.0.0.0/8 ::1 }", "GET / HTTP/1.1\r\n\r\n", 0 },
		{ "{ src 192.0.0.0/13 }", "GET / HTTP/1.1\r\n\r\n", 1 },
		{ "{ src 0.0.0.0/0 }", "GET / HTTP/1.1\r\n\r\n", 1 },
		{ "{ ssl_fc }", "GET / HTTP/1.1\r\n\r\n", 0 },
		{ "!{ ssl_fc }", "GET / HTTP/1.1\r\n\r\n", 1 },
		{ "{ always_true } { always_false }", "GET / HTTP/1.1\r\n\r\n", 0 },
		{ "{ always_false } || { method GET }", "GET / HTTP/1.1\r\n\r\n", 1 },
	};
	char line[256], err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *lines[] = { line, NULL };
		struct http_rules r;
		int got;

		snprintf(line, sizeof(line), "http-request deny if %s", cases[i].cond);
		http_rules_init(&r);
		if (load_rules(&r, lines, err, sizeof(err)) == -1) {
			print_message("case %zu: %s: %s\n", i, line, err);
			fail();
		}
		got = cond_on(&r, cases[i].req);
		if (got != cases[i].want) {
			print_message("case %zu: %s on %s: got %d\n", i, cases[i].cond, cases[i].req,
				      got);
			fail();
		}
		http_rules_free(&r);
	}
}

/* An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) matches
 * IPv4 patterns; IPv6 blocks match IPv6 clients. */
static void test_acl_src_v6(void **state)
{
	static const char *const lines[] = {
		"acl v4 src 192.0.2.0/24",
		"acl v6 src 2001:db8::/32",
		"http-request deny if v4",
		"http-request deny if v6",
		NULL,
	};
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
	struct http_rules r;
	struct http_smp x;
	struct req q;
	char err[256];

	http_rules_init(&r);
	assert_int_equal(load_rules(&r, lines, err, sizeof(err)), 0);
	req_parse(&q, "GET / HTTP/1.1\r\n\r\n", 0);
	x = smp(&q, &q);
	x.src = &ss;
	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &sin6->sin6_addr);
	assert_true(http_cond_eval(&r, &r.req[0].cond, &x));
	assert_false(http_cond_eval(&r, &r.req[1].cond, &x));
	inet_pton(AF_INET6, "2001:db8:1::5", &sin6->sin6_addr);
	assert_false(http_cond_eval(&r, &r.req[0].cond, &x));
	assert_true(http_cond_eval(&r, &r.req[1].cond, &x));
	x.src = NULL;
	assert_false(http_cond_eval(&r, &r.req[1].cond, &x));
	http_rules_free(&r);
}

/* A bad regular expression is refused with the library's reason. */
static void test_acl_bad_regex(void **state)
{
	static const char *const lines[] = { "acl a path_reg ^/(x", NULL };
	struct http_rules r;
	char err[256];

	http_rules_init(&r);
	assert_int_equal(load_rules(&r, lines, err, sizeof(err)), -1);
	assert_memory_equal(err, "'^/(x': invalid regular expression: ", 36);
	http_rules_free(&r);
}

/* redirect: the verdict, then the answer for each kind. */
static void test_redirect(void **state)
{
	static const char *const lines[] = {
		"acl old path_beg /old",
		"acl plain path_beg /plain",
		"acl root path /",
		"http-request redirect location /new code 301 if old",
		"http-request redirect prefix https://b.example drop-query if plain",
		"http-request redirect prefix / if root",
		"redirect scheme https code 308 unless { ssl_fc } || { path /x }",
		NULL,
	};
	struct http_hdr_op ops[4];
	const struct http_rule *hit = NULL;
	struct http_rules r;
	struct http_smp x;
	struct req q;
	unsigned status = 0;
	size_t nops = 0;
	char err[256], out[512];
	long n;

	http_rules_init(&r);
	assert_int_equal(load_rules(&r, lines, err, sizeof(err)), 0);

	req_parse(&q, "GET /old/page?a=1 HTTP/1.1\r\nHost: a.example\r\n\r\n", 0);
	x = smp(&q, &q);
	assert_int_equal(http_rules_run(&r, 0, &x, ops, 4, &nops, &status, &hit),
			 HTTP_VERDICT_REDIRECT);
	assert_int_equal(status, 301);
	assert_ptr_equal(hit, &r.req[0]);
	n = http_redirect_head(hit, &q.m, q.buf, 1, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "HTTP/1.1 301 Moved Permanently\r\nLocation: /new\r\n"
			    "Content-Length: 0\r\nCache-Control: no-cache\r\n"
			    "Connection: close\r\n\r\n");
	/* too small a buffer: -1, nothing half-written is used */
	assert_int_equal(http_redirect_head(hit, &q.m, q.buf, 1, out, 20), -1);

	req_parse(&q, "GET /plain/p?q=1 HTTP/1.1\r\n\r\n", 0);
	x = smp(&q, &q);
	assert_int_equal(http_rules_run(&r, 0, &x, ops, 4, &nops, &status, &hit),
			 HTTP_VERDICT_REDIRECT);
	assert_int_equal(status, 302);
	n = http_redirect_head(hit, &q.m, q.buf, 0, out, sizeof(out));
	out[n] = '\0';
	assert_string_equal(out, "HTTP/1.1 302 Found\r\nLocation: https://b.example/plain/p\r\n"
			    "Content-Length: 0\r\nCache-Control: no-cache\r\n\r\n");

	req_parse(&q, "GET http://h/?x HTTP/1.1\r\n\r\n", 0);
	x = smp(&q, &q);
	assert_int_equal(http_rules_run(&r, 0, &x, ops, 4, &nops, &status, &hit),
			 HTTP_VERDICT_REDIRECT);
	n = http_redirect_head(hit, &q.m, q.buf, 0, out, sizeof(out));
	out[n] = '\0';
	assert_non_null(strstr(out, "\r\nLocation: /?x\r\n"));

	/* the frontend keyword, scheme: Host and the whole target */
	req_parse(&q, "GET /a/b?c=d HTTP/1.1\r\nHost: www.example:8080\r\n\r\n", 0);
	x = smp(&q, &q);
	assert_int_equal(http_rules_run(&r, 0, &x, ops, 4, &nops, &status, &hit),
			 HTTP_VERDICT_REDIRECT);
	assert_int_equal(status, 308);
	n = http_redirect_head(hit, &q.m, q.buf, 0, out, sizeof(out));
	out[n] = '\0';
	assert_non_null(strstr(out, "HTTP/1.1 308 Permanent Redirect\r\n"
				    "Location: https://www.example:8080/a/b?c=d\r\n"));
	http_rules_free(&r);
}

/* ---- rule lists -------------------------------------------------------- */

static void test_rules_run_and_backend(void **state)
{
	static const char *const lines[] = {
		"acl api path_beg /api",
		"acl admin path_beg /admin",
		"acl internal hdr(x-internal) yes",
		"http-request deny deny_status 404 if admin !internal",
		"http-request set-header X-Api 1 if api",
		"http-request add-header X-Seen a",
		"http-request allow if internal",
		"http-request add-header X-External 1",
		"http-response del-header Server",
		"http-response deny if api",
		"use_backend be_api if api",
		"use_backend be_admin if admin",
		NULL,
	};
	struct http_hdr_op ops[4];
	struct http_rules r;
	struct req q, res;
	unsigned status = 0;
	size_t nops;
	char err[256];

	http_rules_init(&r);
	assert_int_equal(load_rules(&r, lines, err, sizeof(err)), 0);
	r.ub[0].be_idx = 7;
	r.ub[1].be_idx = 9;

	req_parse(&q, "GET /admin HTTP/1.1\r\n\r\n", 0);
	nops = 0;
	assert_int_equal(run(&r, 0, &q, &q, ops, 4, &nops, &status),
			 HTTP_VERDICT_DENY);
	assert_int_equal(status, 404);
	assert_int_equal(backend_of(&r, &q), 9);

	req_parse(&q, "GET /api/x HTTP/1.1\r\nX-Internal: yes\r\n\r\n", 0);
	nops = 0;
	assert_int_equal(run(&r, 0, &q, &q, ops, 4, &nops, &status),
			 HTTP_VERDICT_CONTINUE);
	/* allow stopped the list before X-External */
	assert_int_equal(nops, 2);
	assert_int_equal(ops[0].kind, HTTP_HOP_SET);
	assert_string_equal(ops[0].name, "X-Api");
	assert_int_equal(ops[1].kind, HTTP_HOP_ADD);
	assert_int_equal(backend_of(&r, &q), 7);

	req_parse(&q, "GET /other HTTP/1.1\r\n\r\n", 0);
	nops = 0;
	assert_int_equal(run(&r, 0, &q, &q, ops, 4, &nops, &status),
			 HTTP_VERDICT_CONTINUE);
	assert_int_equal(nops, 2);
	assert_string_equal(ops[1].name, "X-External");
	assert_int_equal(backend_of(&r, &q), -1);
	/* too small an array is an error, not a silent drop */
	nops = 0;
	assert_int_equal(run(&r, 0, &q, &q, ops, 1, &nops, &status),
			 HTTP_VERDICT_ERROR);

	/* response rules: path from the request, headers from the response */
	req_parse(&res, "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", H1_MF_RESP);
	nops = 0;
	assert_int_equal(run(&r, 1, &q, &res, ops, 4, &nops, &status),
			 HTTP_VERDICT_CONTINUE);
	assert_int_equal(nops, 1);
	assert_int_equal(ops[0].kind, HTTP_HOP_DEL);
	req_parse(&q, "GET /api HTTP/1.1\r\n\r\n", 0);
	nops = 0;
	assert_int_equal(run(&r, 1, &q, &res, ops, 4, &nops, &status),
			 HTTP_VERDICT_DENY);
	assert_int_equal(status, 502);
	/* without the request, path ACLs match nothing */
	nops = 0;
	assert_int_equal(run(&r, 1, NULL, &res, ops, 4, &nops, &status),
			 HTTP_VERDICT_CONTINUE);
	http_rules_free(&r);
}

/* ---- head rewriting ---------------------------------------------------- */

static void test_rewrite(void **state)
{
	static const char req[] = "POST /p HTTP/1.1\nHost: a\nX-Drop: 1\nContent-Length: 3, 3\n"
				  "x-drop: 2\nContent-Length: 3\nKeep:  v  \n\n";
	static const char want[] = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
				   "Keep: v\r\nX-Forwarded-For: 10.0.0.1\r\nconnection: close\r\n\r\n";
	const struct http_hdr_op ops[] = {
		{ HTTP_HOP_DEL, "x-DROP", 6, NULL, 0 },
		{ HTTP_HOP_ADD, "X-Forwarded-For", 15, "10.0.0.1", 8 },
		{ HTTP_HOP_ADD, "Connection", 10, "keep-alive", 10 },
		{ HTTP_HOP_SET, "connection", 10, "close", 5 },
	};
	struct req q, again;
	char out[512];
	long n;

	req_parse(&q, req, 0);
	n = http_head_rewrite(&q.m, q.buf, ops, 4, out, sizeof(out));
	assert_int_equal(n, (long)strlen(want));
	assert_memory_equal(out, want, (size_t)n);
	out[n] = '\0';
	req_parse(&again, out, 0);
	assert_int_equal(again.m.content_length, 3);
	assert_false(again.m.flags & H1_MF_LF_ONLY);
	assert_true(again.m.flags & H1_MF_CONN_CLOSE);

	/* no edits: normalised copy */
	n = http_head_rewrite(&q.m, q.buf, NULL, 0, out, sizeof(out));
	assert_true(n > 0);
	assert_null(memchr(out, '\0', (size_t)n));
	assert_memory_equal(out, "POST /p HTTP/1.1\r\nHost: a\r\nX-Drop: 1\r\n", 38);
}

static void test_rewrite_response_and_set_then_del(void **state)
{
	static const char res[] = "HTTP/1.1 404\r\nContent-Length: 5\r\n"
				  "Transfer-Encoding: chunked\r\nServer: s\r\n\r\n";
	const struct http_hdr_op ops[] = {
		{ HTTP_HOP_SET, "X-A", 3, "1", 1 },
		{ HTTP_HOP_DEL, "x-a", 3, NULL, 0 },
		{ HTTP_HOP_ADD, "X-B", 3, "2", 1 },
	};
	static const char want[] = "HTTP/1.1 404\r\nTransfer-Encoding: chunked\r\nServer: s\r\n"
				   "X-B: 2\r\n\r\n";
	struct req q;
	char out[256];
	long n;

	req_parse(&q, res, H1_MF_RESP);
	n = http_head_rewrite(&q.m, q.buf, ops, 3, out, sizeof(out));
	assert_int_equal(n, (long)strlen(want));
	assert_memory_equal(out, want, (size_t)n);
}

/* The output limit (head + tune.maxrewrite) is respected exactly. */
static void test_rewrite_maxrewrite_overflow(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	char big[200], out[512];
	struct http_hdr_op op = { HTTP_HOP_ADD, "X-Big", 5, big, sizeof(big) };
	struct req q;
	size_t need;
	long n;

	memset(big, 'z', sizeof(big));
	req_parse(&q, req, 0);
	need = strlen(req) + 5 + 2 + sizeof(big) + 2;
	n = http_head_rewrite(&q.m, q.buf, &op, 1, out, need);
	assert_int_equal(n, (long)need);
	assert_int_equal(http_head_rewrite(&q.m, q.buf, &op, 1, out, need - 1), -1);
	/* the way the session calls it: head_len + maxrewrite */
	assert_int_equal(http_head_rewrite(&q.m, q.buf, &op, 1, out, q.m.head_len + 100), -1);
	assert_true(http_head_rewrite(&q.m, q.buf, &op, 1, out, q.m.head_len + 1024) > 0);
}

/* ---- error responses --------------------------------------------------- */

static void test_httperr_builtin(void **state)
{
	static const unsigned codes[] = { 400, 403, 408, 500, 502, 503, 504 };
	struct h1_hdr hdrs[MAXHDR];
	struct h1_msg m;
	const char *r;
	size_t len, i;
	char want[64];

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		r = httperr_builtin(codes[i], &len);
		snprintf(want, sizeof(want), "HTTP/1.1 %u ", codes[i]);
		assert_memory_equal(r, want, strlen(want));
		h1_msg_init(&m, H1_MF_RESP, 8192, hdrs, MAXHDR);
		assert_int_equal(h1_head_parse(&m, r, len), 1);
		assert_int_equal(m.status, codes[i]);
		assert_int_equal(m.framing, H1_BODY_CL);
		assert_int_equal(m.head_len + m.content_length, len);
		assert_true(m.flags & H1_MF_CONN_CLOSE);
		assert_true(h1_hdr_find(&m, r, "cache-control", 0) >= 0);
		assert_true(h1_hdr_find(&m, r, "content-type", 0) >= 0);
		assert_non_null(memmem(r, len, "</html>\n", 8));
	}
	r = httperr_builtin(503, &len);
	assert_non_null(memmem(r, len, "No server is available to handle this request.", 46));
	/* unknown code: the 500 response */
	r = httperr_builtin(418, &len);
	assert_memory_equal(r, "HTTP/1.1 500 ", 13);
	assert_true(httperr_known(429));
	assert_false(httperr_known(418));
}

static void test_httperr_errorfile(void **state)
{
	static const char resp[] = "HTTP/1.0 503 Busy\r\nContent-Length: 0\r\n\r\n";
	char path[] = "/tmp/test_httperr_XXXXXX", err[256];
	struct cfg_errorfile ef;
	const char *r;
	size_t len;
	char *data;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, resp, sizeof(resp) - 1), (ssize_t)(sizeof(resp) - 1));
	close(fd);
	assert_int_equal(httperr_load(path, 100, &data, &len, err, sizeof(err)), 0);
	assert_int_equal(len, sizeof(resp) - 1);
	memset(&ef, 0, sizeof(ef));
	ef.status = 503;
	ef.data = data;
	ef.len = len;
	r = httperr_get(&ef, 1, 503, &len);
	assert_ptr_equal(r, data);
	r = httperr_get(&ef, 1, 504, &len);
	assert_memory_equal(r, "HTTP/1.1 504 ", 13);
	free(data);
	/* size limit */
	assert_int_equal(httperr_load(path, 10, &data, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than the 10 bytes"));
	/* invalid head */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "HTTP/1.1 200 OK\r\nBadHeader\r\n\r\n", 30), 30);
	close(fd);
	assert_int_equal(httperr_load(path, 100, &data, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "header without colon"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acl_fetches),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_acl_more),
		cmocka_unit_test(test_acl_src_v6),
		cmocka_unit_test(test_acl_bad_regex),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_rules_run_and_backend),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_rewrite_response_and_set_then_del),
		cmocka_unit_test(test_rewrite_maxrewrite_overflow),
		cmocka_unit_test(test_httperr_builtin),
		cmocka_unit_test(test_httperr_errorfile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
