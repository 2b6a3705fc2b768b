/* HTTP routing and rewriting rules: types.
 *
 * Compiled at configuration time from `acl`, `http-request`,
 * `http-response` and `use_backend` lines into flat arrays owned by one
 * struct http_rules per proxy (in struct cfg_proxy). Evaluation reads a
 * parsed message (struct h1_msg over the caller's buffer) and never
 * allocates.
 *
 * ACLs: several `acl` lines with one name form one ACL that matches when any
 * of them matches (HAProxy's rule); within a line, any pattern matching is a
 * match. Conditions: `if` / `unless` followed by terms; adjacent terms are
 * ANDed, `||` (or `or`) separates alternatives, `!` negates one term; an
 * ACL must be declared before the condition that names it. */
#ifndef PROXYD_HTTP_RULES_T_H
#define PROXYD_HTTP_RULES_T_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What an ACL line samples. */
enum http_fetch {
	HTTP_FETCH_PATH = 0,    /* the path of the request target (no query) */
	HTTP_FETCH_HDR,         /* each value of a header (comma-separated elements too) */
	HTTP_FETCH_METHOD,      /* the request method */
	HTTP_FETCH_URL,         /* the request target as received */
	HTTP_FETCH_QUERY,       /* the query string (after '?'; absent: no sample) */
	HTTP_FETCH_SRC,         /* the client's address (patterns: addresses, CIDR blocks) */
	HTTP_FETCH_TRUE,        /* always_true */
	HTTP_FETCH_FALSE,       /* always_false, ssl_fc (proxyd has no TLS) */
};

/* How a sample is compared with the patterns (HAProxy's -m methods). */
enum http_match {
	HTTP_MATCH_STR = 0,     /* equal */
	HTTP_MATCH_BEG,         /* the sample begins with the pattern */
	HTTP_MATCH_END,         /* ends with it */
	HTTP_MATCH_SUB,         /* contains it */
	HTTP_MATCH_DOM,         /* contains it between delimiters ('/', '?', '.', ':') or ends */
	HTTP_MATCH_REG,         /* POSIX extended regular expression */
	HTTP_MATCH_FOUND,       /* the sample exists (no pattern) */
	HTTP_MATCH_IP,          /* address or CIDR block (src) */
};

#define HTTP_ACL_ICASE  0x1u    /* -i: compare case-insensitively */

/* A src pattern: family, address bytes, prefix length. */
struct http_net {
	sa_family_t family;
	uint8_t addr[16];
	unsigned bits;
};

/* One `acl` line: acl NAME CRITERION [-i] [-m METHOD] [--] PATTERN...; an
 * anonymous ACL ('{ CRITERION ... }' in a condition) is one too, under a
 * name of its own no `acl` line can use. */
struct http_acl {
	unsigned id;            /* index in http_rules.acl_names: lines sharing a name share it */
	enum http_fetch fetch;
	enum http_match match;
	unsigned flags;         /* HTTP_ACL_* */
	char *hdr;              /* header name (HTTP_FETCH_HDR), else NULL */
	size_t hdrlen;
	char **pats;
	size_t *patlens;
	regex_t *regs;          /* HTTP_MATCH_REG: compiled pats */
	struct http_net *nets;  /* HTTP_MATCH_IP: parsed pats */
	size_t npats;
	int line;
};

/* What conditions sample: the request (path, url, query and method
 * fetches; NULL: those match nothing), the message whose headers hdr()
 * reads (the request, or the response), the client's address (src; NULL:
 * matches nothing). */
struct http_smp {
	const struct h1_msg *req;
	const char *reqbuf;
	const struct h1_msg *msg;
	const char *buf;
	const struct sockaddr_storage *src;
};

/* One term of a condition. or_before: the term starts a new alternative
 * (a `||` precedes it). */
struct http_term {
	unsigned acl_id;
	uint8_t neg;
	uint8_t or_before;
};

enum http_cond_kind {
	HTTP_COND_NONE = 0,     /* no condition: always true */
	HTTP_COND_IF,
	HTTP_COND_UNLESS,
};

struct http_cond {
	enum http_cond_kind kind;
	struct http_term *terms;
	size_t nterms;
};

enum http_act {
	HTTP_ACT_ALLOW = 0,     /* stop evaluating this list, go on with the message */
	HTTP_ACT_DENY,          /* answer deny_status (request) / 502 (response) and stop */
	HTTP_ACT_SET_HDR,       /* remove every NAME header, add NAME: VALUE */
	HTTP_ACT_ADD_HDR,       /* add NAME: VALUE */
	HTTP_ACT_DEL_HDR,       /* remove every NAME header */
	HTTP_ACT_REDIRECT,      /* answer redir_code with a Location (request rules only) */
};

/* redirect location|prefix|scheme <value> */
enum http_redir {
	HTTP_REDIR_LOCATION = 0,        /* Location: value */
	HTTP_REDIR_PREFIX,              /* Location: value + the request target */
	HTTP_REDIR_SCHEME,              /* Location: value "://" Host + the request target */
};

#define HTTP_REDIR_DROP_QUERY   0x1u    /* prefix, scheme: the target without its query */

/* One http-request / http-response line. Values are literal strings (no
 * log-format expressions). */
struct http_rule {
	enum http_act act;
	unsigned deny_status;   /* HTTP_ACT_DENY: 403 unless deny_status given */
	char *name;             /* header name for the *_HDR actions */
	size_t namelen;
	char *value;            /* SET/ADD; REDIRECT: the location, prefix or scheme */
	size_t valuelen;
	enum http_redir redir;
	unsigned redir_code;    /* 301, 302 (default), 303, 307, 308 */
	unsigned redir_flags;   /* HTTP_REDIR_* */
	struct http_cond cond;
	int line;
};

/* use_backend NAME [if|unless COND] */
struct http_use_backend {
	char *name;
	int be_idx;             /* index in cfg->proxies, resolved by cfg_load; -1 before */
	struct http_cond cond;
	int line;
};

struct http_rules {
	char **acl_names;       /* distinct ACL names, indexed by http_acl.id */
	size_t nacl_names;
	struct http_acl *acls;
	size_t nacls;
	struct http_rule *req;  /* http-request, in order */
	size_t nreq;
	struct http_rule *res;  /* http-response, in order */
	size_t nres;
	struct http_use_backend *ub;    /* use_backend, in order */
	size_t nub;
};

/* A header edit to apply when the head is rewritten (http_head_rewrite).
 * Pointers refer to the rules (or to the caller's strings); nothing owned. */
enum http_hop_kind {
	HTTP_HOP_SET = 0,       /* remove every NAME, then append NAME: VALUE */
	HTTP_HOP_ADD,           /* append NAME: VALUE */
	HTTP_HOP_DEL,           /* remove every NAME */
};

struct http_hdr_op {
	enum http_hop_kind kind;
	const char *name;
	size_t namelen;
	const char *value;
	size_t valuelen;
};

/* Result of running a rule list. */
enum http_verdict {
	HTTP_VERDICT_CONTINUE = 0,      /* no terminal rule matched (or allow) */
	HTTP_VERDICT_DENY,              /* a deny matched: answer *status */
	HTTP_VERDICT_REDIRECT,          /* a redirect matched (see http_redirect_head) */
	HTTP_VERDICT_ERROR,             /* more header edits than the caller's array holds */
};

#endif
