/* HTTP ACLs, rules and head rewriting (see http-rules.h). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxyd/h1.h"
#include "proxyd/http-rules.h"
#include "proxyd/httperr.h"

/* ---- configuration ----------------------------------------------------- */

void http_rules_init(struct http_rules *r)
{
	memset(r, 0, sizeof(*r));
}

static void cond_free(struct http_cond *c)
{
	free(c->terms);
	c->terms = NULL;
	c->nterms = 0;
}

static void rule_free(struct http_rule *ru)
{
	free(ru->name);
	free(ru->value);
	cond_free(&ru->cond);
}

static void acl_clear(struct http_acl *a)
{
	size_t i;

	for (i = 0; i < a->npats; i++) {
		free(a->pats[i]);
		if (a->regs)
			regfree(&a->regs[i]);
	}
	free(a->regs);
	free(a->nets);
	free(a->patlens);
	free(a->pats);
	free(a->hdr);
	memset(a, 0, sizeof(*a));
}

void http_rules_free(struct http_rules *r)
{
	size_t i;

	for (i = 0; i < r->nub; i++) {
		free(r->ub[i].name);
		cond_free(&r->ub[i].cond);
	}
	free(r->ub);
	for (i = 0; i < r->nres; i++)
		rule_free(&r->res[i]);
	free(r->res);
	for (i = 0; i < r->nreq; i++)
		rule_free(&r->req[i]);
	free(r->req);
	for (i = 0; i < r->nacls; i++)
		acl_clear(&r->acls[i]);
	free(r->acls);
	for (i = 0; i < r->nacl_names; i++)
		free(r->acl_names[i]);
	free(r->acl_names);
	memset(r, 0, sizeof(*r));
}

/* Appends one zeroed element; NULL on ENOMEM. */
static void *grow(void *arr, size_t *n, size_t sz)
{
	void **a = arr;
	char *na = realloc(*a, (*n + 1) * sz);

	if (!na)
		return NULL;
	*a = na;
	memset(na + *n * sz, 0, sz);
	return na + (*n)++ * sz;
}

static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int valid_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

static int valid_acl_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.:", *s)))
			return 0;
	return 1;
}

/* A header value given in the configuration: no control characters
 * (they would break the message framing), and no log-format expression,
 * which is not supported and would otherwise be sent literally. */
static int check_value(const char *v, char *err, size_t errlen)
{
	const char *p;

	for (p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(err, errlen, "header value contains a control character");
			return -1;
		}
	}
	if (strstr(v, "%[")) {
		snprintf(err, errlen, "'%s': log-format expressions are not supported "
			 "(values are literal strings)", v);
		return -1;
	}
	return 0;
}

static int acl_name_id(const struct http_rules *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nacl_names; i++)
		if (!strcmp(r->acl_names[i], name))
			return (int)i;
	return -1;
}

/* ACL criteria: a fetch and its default match method (HAProxy's names). */
static const struct {
	const char *name;
	enum http_fetch fetch;
	enum http_match match;
} crits[] = {
	{ "always_false", HTTP_FETCH_FALSE, HTTP_MATCH_FOUND },
	{ "always_true", HTTP_FETCH_TRUE, HTTP_MATCH_FOUND },
	{ "hdr", HTTP_FETCH_HDR, HTTP_MATCH_STR },
	{ "hdr_beg", HTTP_FETCH_HDR, HTTP_MATCH_BEG },
	{ "hdr_dom", HTTP_FETCH_HDR, HTTP_MATCH_DOM },
	{ "hdr_end", HTTP_FETCH_HDR, HTTP_MATCH_END },
	{ "hdr_reg", HTTP_FETCH_HDR, HTTP_MATCH_REG },
	{ "hdr_sub", HTTP_FETCH_HDR, HTTP_MATCH_SUB },
	{ "method", HTTP_FETCH_METHOD, HTTP_MATCH_STR },
	{ "path", HTTP_FETCH_PATH, HTTP_MATCH_STR },
	{ "path_beg", HTTP_FETCH_PATH, HTTP_MATCH_BEG },
	{ "path_dom", HTTP_FETCH_PATH, HTTP_MATCH_DOM },
	{ "path_end", HTTP_FETCH_PATH, HTTP_MATCH_END },
	{ "path_reg", HTTP_FETCH_PATH, HTTP_MATCH_REG },
	{ "path_sub", HTTP_FETCH_PATH, HTTP_MATCH_SUB },
	{ "query", HTTP_FETCH_QUERY, HTTP_MATCH_STR },
	{ "src", HTTP_FETCH_SRC, HTTP_MATCH_IP },
	{ "ssl_fc", HTTP_FETCH_FALSE, HTTP_MATCH_FOUND },   /* no TLS: never true */
	{ "url", HTTP_FETCH_URL, HTTP_MATCH_STR },
	{ "url_beg", HTTP_FETCH_URL, HTTP_MATCH_BEG },
	{ "url_end", HTTP_FETCH_URL, HTTP_MATCH_END },
	{ "url_reg", HTTP_FETCH_URL, HTTP_MATCH_REG },
	{ "url_sub", HTTP_FETCH_URL, HTTP_MATCH_SUB },
};
#define CRIT_LIST "path, path_beg, path_end, path_sub, path_dom, path_reg, url, url_beg, " \
		  "url_end, url_sub, url_reg, query, method, hdr(<name>), hdr_beg, hdr_end, " \
		  "hdr_sub, hdr_dom, hdr_reg, src, always_true, always_false, ssl_fc"

static const char *const match_names[] = {
	[HTTP_MATCH_STR] = "str", [HTTP_MATCH_BEG] = "beg", [HTTP_MATCH_END] = "end",
	[HTTP_MATCH_SUB] = "sub", [HTTP_MATCH_DOM] = "dom", [HTTP_MATCH_REG] = "reg",
	[HTTP_MATCH_FOUND] = "found", [HTTP_MATCH_IP] = "ip",
};

int http_net_parse(const char *s, struct http_net *n)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long bits;
	char *end;

	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, host, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, host, n->addr) == 1)
		n->family = AF_INET6;
	else
		return -1;
	n->bits = n->family == AF_INET ? 32 : 128;
	if (slash) {
		bits = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || bits > n->bits)
			return -1;
		n->bits = (unsigned)bits;
	}
	return 0;
}

/* Compiles the patterns a match method needs (regular expressions,
 * addresses). */
static int pats_compile(struct http_acl *a, char *err, size_t errlen)
{
	size_t i;
	int rc;

	if (a->match == HTTP_MATCH_REG) {
		a->regs = calloc(a->npats, sizeof(*a->regs));
		if (!a->regs)
			goto nomem;
		for (i = 0; i < a->npats; i++) {
			rc = regcomp(&a->regs[i], a->pats[i], REG_EXTENDED | REG_NOSUB |
				     ((a->flags & HTTP_ACL_ICASE) ? REG_ICASE : 0));
			if (rc != 0) {
				char why[128];

				regerror(rc, &a->regs[i], why, sizeof(why));
				snprintf(err, errlen, "'%s': invalid regular expression: %s",
					 a->pats[i], why);
				while (i > 0)
					regfree(&a->regs[--i]);
				free(a->regs);
				a->regs = NULL;
				return -1;
			}
		}
	} else if (a->match == HTTP_MATCH_IP) {
		a->nets = calloc(a->npats, sizeof(*a->nets));
		if (!a->nets)
			goto nomem;
		for (i = 0; i < a->npats; i++)
			if (http_net_parse(a->pats[i], &a->nets[i]) == -1) {
				snprintf(err, errlen, "'%s': expected an address or a CIDR block",
					 a->pats[i]);
				return -1;
			}
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Parses "CRITERION [-i] [-m METHOD] [--] PATTERN..." (args[0] is the
 * criterion) into a. */
static int acl_body_parse(struct http_acl *a, char **args, int nargs, char *err, size_t errlen)
{
	const char *crit = args[0], *open = strchr(crit, '(');
	size_t n, clen = open ? (size_t)(open - crit) : strlen(crit), k;
	int i, npat;

	for (k = 0; k < sizeof(crits) / sizeof(crits[0]); k++)
		if (strlen(crits[k].name) == clen && !strncmp(crits[k].name, crit, clen))
			break;
	if (k == sizeof(crits) / sizeof(crits[0]) || (!!open != (crits[k].fetch == HTTP_FETCH_HDR))) {
		if (k < sizeof(crits) / sizeof(crits[0]) && crits[k].fetch == HTTP_FETCH_HDR)
			snprintf(err, errlen, "'%s': expected %s(<header name>)", crit, crits[k].name);
		else
			snprintf(err, errlen, "'%s': unknown or unsupported criterion (" CRIT_LIST ")",
				 crit);
		return -1;
	}
	a->fetch = crits[k].fetch;
	a->match = crits[k].match;
	if (open) {
		n = strlen(open + 1);
		if (n < 2 || open[n] != ')') {
			snprintf(err, errlen, "'%s': expected %s(<header name>)", crit, crits[k].name);
			return -1;
		}
		a->hdr = strndup(open + 1, n - 1);
		if (!a->hdr) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		a->hdrlen = n - 1;
		if (!valid_token(a->hdr) || strchr(a->hdr, ',')) {
			snprintf(err, errlen, "'%s': invalid header name", crit);
			return -1;
		}
	}
	for (i = 1; i < nargs && args[i][0] == '-' && args[i][1]; i++) {
		if (!strcmp(args[i], "-i")) {
			a->flags |= HTTP_ACL_ICASE;
		} else if (!strcmp(args[i], "-m")) {
			if (++i == nargs) {
				snprintf(err, errlen, "-m: missing match method");
				return -1;
			}
			for (k = 0; k < sizeof(match_names) / sizeof(match_names[0]); k++)
				if (!strcmp(args[i], match_names[k]))
					break;
			if (k == sizeof(match_names) / sizeof(match_names[0]) ||
			    (a->fetch == HTTP_FETCH_SRC) != (k == HTTP_MATCH_IP) ||
			    a->fetch == HTTP_FETCH_TRUE || a->fetch == HTTP_FETCH_FALSE) {
				snprintf(err, errlen, "-m %s: not a match method for '%s' "
					 "(str, beg, end, sub, dom, reg, found; ip for src)",
					 args[i], crit);
				return -1;
			}
			a->match = (enum http_match)k;
		} else if (!strcmp(args[i], "--")) {
			i++;
			break;
		} else {
			snprintf(err, errlen, "'%s': unsupported flag (-i, -m, --)", args[i]);
			return -1;
		}
	}
	npat = nargs - i;
	if (a->match == HTTP_MATCH_FOUND) {
		if (npat > 0) {
			snprintf(err, errlen, "'%s': %s takes no pattern", args[i], crit);
			return -1;
		}
		return 0;
	}
	if (npat <= 0) {
		snprintf(err, errlen, "missing pattern");
		return -1;
	}
	a->pats = calloc((size_t)npat, sizeof(*a->pats));
	a->patlens = calloc((size_t)npat, sizeof(*a->patlens));
	if (!a->pats || !a->patlens) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (; i < nargs; i++) {
		a->pats[a->npats] = strdup(args[i]);
		if (!a->pats[a->npats]) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		a->patlens[a->npats] = strlen(args[i]);
		a->npats++;
	}
	return pats_compile(a, err, errlen);
}

/* Adds one ACL line under name (a new name gets a new id). */
static int acl_add(struct http_rules *r, const char *name, char **args, int nargs, int line,
		   char *err, size_t errlen)
{
	struct http_acl a, *e;
	int id;

	memset(&a, 0, sizeof(a));
	a.line = line;
	if (acl_body_parse(&a, args, nargs, err, errlen) == -1) {
		acl_clear(&a);
		return -1;
	}
	id = acl_name_id(r, name);
	if (id == -1) {
		char **slot = grow(&r->acl_names, &r->nacl_names, sizeof(*r->acl_names));

		if (!slot)
			goto nomem;
		*slot = strdup(name);
		if (!*slot) {
			r->nacl_names--;
			goto nomem;
		}
		id = (int)r->nacl_names - 1;
	}
	a.id = (unsigned)id;
	e = grow(&r->acls, &r->nacls, sizeof(*e));
	if (!e)
		goto nomem;
	*e = a;
	return id;
nomem:
	snprintf(err, errlen, "out of memory");
	acl_clear(&a);
	return -1;
}

int http_acl_parse(struct http_rules *r, char **args, int nargs, int line,
		   char *err, size_t errlen)
{
	if (nargs < 3) {
		snprintf(err, errlen, "%s (usage: acl <name> <criterion> [-i] [-m <method>] "
			 "<pattern>...)", nargs < 2 ? "missing name" : "missing criterion");
		return -1;
	}
	if (!valid_acl_name(args[1])) {
		snprintf(err, errlen, "'%s': invalid ACL name (letters, digits, '-', '_', '.', ':')",
			 args[1]);
		return -1;
	}
	return acl_add(r, args[1], args + 2, nargs - 2, line, err, errlen) == -1 ? -1 : 0;
}

/* Parses "if|unless TERM..." from args[0..nargs) into c. nargs == 0 leaves
 * c as HTTP_COND_NONE. A term is an ACL name or an anonymous ACL
 * "{ CRITERION ... }", added to r under a name no acl line can have. */
static int cond_parse(struct http_rules *r, char **args, int nargs, int line,
		      struct http_cond *c, char *err, size_t errlen)
{
	struct http_term *t;
	int i, j, or_next = 0, neg, id;
	const char *name;
	char anon[32];

	memset(c, 0, sizeof(*c));
	if (nargs == 0)
		return 0;
	if (!strcmp(args[0], "if"))
		c->kind = HTTP_COND_IF;
	else if (!strcmp(args[0], "unless"))
		c->kind = HTTP_COND_UNLESS;
	else {
		snprintf(err, errlen, "'%s': unexpected word (expected 'if' or 'unless')", args[0]);
		return -1;
	}
	if (nargs == 1) {
		snprintf(err, errlen, "missing condition after '%s'", args[0]);
		return -1;
	}
	for (i = 1; i < nargs; i++) {
		if (!strcmp(args[i], "||") || !strcmp(args[i], "or")) {
			if (c->nterms == 0 || or_next) {
				snprintf(err, errlen, "'%s' without a condition before it", args[i]);
				goto err;
			}
			or_next = 1;
			continue;
		}
		neg = 0;
		name = args[i];
		while (name[0] == '!') {
			neg = !neg;
			name++;
		}
		if (!*name) {
			if (i + 1 >= nargs) {
				snprintf(err, errlen, "'!' without an ACL after it");
				goto err;
			}
			name = args[++i];
			while (name[0] == '!') {
				neg = !neg;
				name++;
			}
		}
		if (!strcmp(name, "{")) {
			for (j = i + 1; j < nargs && strcmp(args[j], "}"); j++)
				;
			if (j == nargs || j == i + 1) {
				snprintf(err, errlen, j == nargs ? "'{' without a closing '}'" :
					 "empty anonymous ACL '{ }'");
				goto err;
			}
			snprintf(anon, sizeof(anon), "{%zu}", r->nacls);
			id = acl_add(r, anon, args + i + 1, j - i - 1, line, err, errlen);
			if (id == -1)
				goto err;
			i = j;
		} else if (name[0] == '{') {
			snprintf(err, errlen, "'%s': put spaces around the braces of an anonymous "
				 "ACL ('{ criterion pattern }')", name);
			goto err;
		} else {
			id = acl_name_id(r, name);
			if (id == -1) {
				snprintf(err, errlen, "unknown ACL '%s' (declare it with 'acl' before use)",
					 name);
				goto err;
			}
		}
		t = grow(&c->terms, &c->nterms, sizeof(*t));
		if (!t) {
			snprintf(err, errlen, "out of memory");
			goto err;
		}
		t->acl_id = (unsigned)id;
		t->neg = (uint8_t)neg;
		t->or_before = (uint8_t)or_next;
		or_next = 0;
	}
	if (or_next) {
		snprintf(err, errlen, "'||' without a condition after it");
		goto err;
	}
	return 0;
err:
	cond_free(c);
	return -1;
}

static int status_arg(const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end || !httperr_known((unsigned)v))
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* redirect location|prefix|scheme VALUE [code N] [drop-query]: args[0] is
 * "redirect"; *next is where the condition starts. */
static int redirect_parse(struct http_rule *ru, char **args, int nargs, int *next,
			  char *err, size_t errlen)
{
	int i;

	if (nargs < 3) {
		snprintf(err, errlen, "usage: redirect location|prefix|scheme <value> "
			 "[code 301|302|303|307|308] [drop-query] [if|unless <cond>]");
		return -1;
	}
	if (!strcmp(args[1], "location"))
		ru->redir = HTTP_REDIR_LOCATION;
	else if (!strcmp(args[1], "prefix"))
		ru->redir = HTTP_REDIR_PREFIX;
	else if (!strcmp(args[1], "scheme"))
		ru->redir = HTTP_REDIR_SCHEME;
	else {
		snprintf(err, errlen, "'%s': expected location, prefix or scheme", args[1]);
		return -1;
	}
	if (check_value(args[2], err, errlen) == -1)
		return -1;
	if (ru->redir == HTTP_REDIR_SCHEME && !valid_token(args[2])) {
		snprintf(err, errlen, "'%s': invalid scheme", args[2]);
		return -1;
	}
	ru->redir_code = 302;
	for (i = 3; i < nargs && strcmp(args[i], "if") && strcmp(args[i], "unless"); i++) {
		if (!strcmp(args[i], "code")) {
			char *end;
			unsigned long c = i + 1 < nargs ? strtoul(args[i + 1], &end, 10) : 0;

			if (i + 1 >= nargs || *end || (c != 301 && c != 302 && c != 303 &&
						       c != 307 && c != 308)) {
				snprintf(err, errlen, "code: expected 301, 302, 303, 307 or 308");
				return -1;
			}
			ru->redir_code = (unsigned)c;
			i++;
		} else if (!strcmp(args[i], "drop-query")) {
			ru->redir_flags |= HTTP_REDIR_DROP_QUERY;
		} else {
			snprintf(err, errlen, "'%s': unsupported redirect option (code, drop-query)",
				 args[i]);
			return -1;
		}
	}
	ru->value = strdup(args[2]);
	if (!ru->value) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ru->valuelen = strlen(args[2]);
	ru->act = HTTP_ACT_REDIRECT;
	*next = i;
	return 0;
}

int http_rule_parse(struct http_rules *r, int response, char **args, int nargs, int line,
		    char *err, size_t errlen)
{
	struct http_rule ru, *e;
	const char *act;
	int i = 2;

	memset(&ru, 0, sizeof(ru));
	ru.line = line;
	if (!strcmp(args[0], "redirect")) {
		/* The frontend keyword: "http-request redirect" without the prefix. */
		if (redirect_parse(&ru, args, nargs, &i, err, errlen) == -1) {
			rule_free(&ru);
			return -1;
		}
		goto cond;
	}
	if (nargs < 2) {
		snprintf(err, errlen, "missing action (allow, deny, set-header, add-header, "
			 "del-header%s)", response ? "" : ", redirect");
		return -1;
	}
	act = args[1];
	if (!strcmp(act, "redirect")) {
		if (response) {
			snprintf(err, errlen, "'redirect': not supported in http-response "
				 "(use http-request redirect)");
			return -1;
		}
		if (redirect_parse(&ru, args + 1, nargs - 1, &i, err, errlen) == -1) {
			rule_free(&ru);
			return -1;
		}
		i++;
	} else if (!strcmp(act, "allow")) {
		ru.act = HTTP_ACT_ALLOW;
	} else if (!strcmp(act, "deny")) {
		ru.act = HTTP_ACT_DENY;
		ru.deny_status = response ? 502 : 403;
		if (nargs > 2 && !strcmp(args[2], "deny_status")) {
			if (nargs < 4 || status_arg(args[3], &ru.deny_status) == -1) {
				snprintf(err, errlen, "deny_status: expected one of 200 400 401 403 404 "
					 "405 407 408 410 413 425 429 500 501 502 503 504");
				return -1;
			}
			i = 4;
		}
	} else if (!strcmp(act, "set-header") || !strcmp(act, "add-header") ||
		   !strcmp(act, "del-header")) {
		int del = act[0] == 'd';

		ru.act = del ? HTTP_ACT_DEL_HDR : act[0] == 's' ? HTTP_ACT_SET_HDR : HTTP_ACT_ADD_HDR;
		if (nargs < (del ? 3 : 4)) {
			snprintf(err, errlen, "%s (usage: %s %s <name>%s [if|unless <cond>])",
				 nargs < 3 ? "missing header name" : "missing header value",
				 response ? "http-response" : "http-request", act,
				 del ? "" : " <value>");
			return -1;
		}
		if (!valid_token(args[2])) {
			snprintf(err, errlen, "'%s': invalid header name", args[2]);
			return -1;
		}
		if (!strcasecmp(args[2], "content-length") ||
		    !strcasecmp(args[2], "transfer-encoding")) {
			snprintf(err, errlen, "'%s': the message framing headers cannot be edited",
				 args[2]);
			return -1;
		}
		if (!del && check_value(args[3], err, errlen) == -1)
			return -1;
		ru.name = strdup(args[2]);
		ru.namelen = strlen(args[2]);
		if (!del) {
			ru.value = strdup(args[3]);
			ru.valuelen = strlen(args[3]);
		}
		if (!ru.name || (!del && !ru.value)) {
			snprintf(err, errlen, "out of memory");
			rule_free(&ru);
			return -1;
		}
		i = del ? 3 : 4;
	} else {
		snprintf(err, errlen, "'%s': unknown or unsupported action "
			 "(allow, deny, set-header, add-header, del-header%s)", act,
			 response ? "" : ", redirect");
		return -1;
	}
cond:
	if (cond_parse(r, args + i, nargs - i, line, &ru.cond, err, errlen) == -1) {
		rule_free(&ru);
		return -1;
	}
	e = response ? grow(&r->res, &r->nres, sizeof(*e)) : grow(&r->req, &r->nreq, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		rule_free(&ru);
		return -1;
	}
	*e = ru;
	return 0;
}

int http_use_backend_parse(struct http_rules *r, char **args, int nargs, int line,
			   char *err, size_t errlen)
{
	struct http_use_backend ub, *e;

	memset(&ub, 0, sizeof(ub));
	ub.line = line;
	ub.be_idx = -1;
	if (nargs < 2) {
		snprintf(err, errlen, "missing backend name (usage: use_backend <backend> "
			 "[if|unless <cond>])");
		return -1;
	}
	if (cond_parse(r, args + 2, nargs - 2, line, &ub.cond, err, errlen) == -1)
		return -1;
	ub.name = strdup(args[1]);
	e = ub.name ? grow(&r->ub, &r->nub, sizeof(*e)) : NULL;
	if (!e) {
		snprintf(err, errlen, "out of memory");
		free(ub.name);
		cond_free(&ub.cond);
		return -1;
	}
	*e = ub;
	return 0;
}

/* ---- evaluation -------------------------------------------------------- */

static int bytes_eq(const struct http_acl *a, const char *s, const char *p, size_t n)
{
	return a->flags & HTTP_ACL_ICASE ? !strncasecmp(s, p, n) : !memcmp(s, p, n);
}

/* Where p (n bytes) occurs in s (len bytes) at or after from, or -1. */
static long find_at(const struct http_acl *a, const char *s, size_t len, size_t from,
		    const char *p, size_t n)
{
	size_t i;

	for (i = from; i + n <= len; i++)
		if (bytes_eq(a, s + i, p, n))
			return (long)i;
	return -1;
}

static int is_dom_delim(char c)
{
	return c == '/' || c == '?' || c == '.' || c == ':';
}

/* dom: the pattern occurs between delimiters (or the ends of the sample). */
static int dom_match(const struct http_acl *a, const char *s, size_t len, const char *p, size_t n)
{
	long at = -1;

	while ((at = find_at(a, s, len, (size_t)(at + 1), p, n)) != -1)
		if ((at == 0 || is_dom_delim(s[at - 1])) &&
		    ((size_t)at + n == len || is_dom_delim(s[at + n])))
			return 1;
	return 0;
}

static int pat_match(const struct http_acl *a, const char *s, size_t len)
{
	size_t i, pl;

	for (i = 0; i < a->npats; i++) {
		const char *p = a->pats[i];

		pl = a->patlens[i];
		switch (a->match) {
		case HTTP_MATCH_STR:
			if (len == pl && bytes_eq(a, s, p, pl))
				return 1;
			break;
		case HTTP_MATCH_BEG:
			if (len >= pl && bytes_eq(a, s, p, pl))
				return 1;
			break;
		case HTTP_MATCH_END:
			if (len >= pl && bytes_eq(a, s + len - pl, p, pl))
				return 1;
			break;
		case HTTP_MATCH_SUB:
			if (find_at(a, s, len, 0, p, pl) != -1)
				return 1;
			break;
		case HTTP_MATCH_DOM:
			if (dom_match(a, s, len, p, pl))
				return 1;
			break;
		case HTTP_MATCH_REG: {
			/* REG_STARTEND: the sample need not end in a NUL. */
			regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)len };

			if (regexec(&a->regs[i], s, 1, &m, REG_STARTEND) == 0)
				return 1;
			break;
		}
		case HTTP_MATCH_FOUND:
			return 1;
		case HTTP_MATCH_IP:
			break;
		}
	}
	return a->match == HTTP_MATCH_FOUND;
}

/* Each comma-separated element of each value of the header; found: the
 * header is present. */
static int hdr_match(const struct http_acl *a, const struct h1_msg *m, const char *buf)
{
	int idx = -1;
	uint32_t i, end, b, e;

	while ((idx = h1_hdr_find(m, buf, a->hdr, idx + 1)) != -1) {
		const struct h1_span v = m->hdrs[idx].value;

		if (a->match == HTTP_MATCH_FOUND)
			return 1;
		i = v.off;
		end = v.off + v.len;
		while (i <= end) {
			b = i;
			while (i < end && buf[i] != ',')
				i++;
			e = i;
			while (b < e && (buf[b] == ' ' || buf[b] == '\t'))
				b++;
			while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
				e--;
			if (pat_match(a, buf + b, e - b))
				return 1;
			i++;
		}
	}
	return 0;
}

int http_net_match(const struct http_net *n, const struct sockaddr_storage *ss)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *addr;
	sa_family_t fam = ss->ss_family;
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (fam == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)ss)->sin_addr;
	} else if (fam == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr.s6_addr;
		if (!memcmp(addr, v4mapped, sizeof(v4mapped))) {
			addr += 12;
			fam = AF_INET;
		}
	} else {
		return 0;
	}
	if (n->family != fam || memcmp(addr, n->addr, full))
		return 0;
	return !rest || !((addr[full] ^ n->addr[full]) & (uint8_t)(0xff << (8 - rest)));
}

static int src_match(const struct http_acl *a, const struct sockaddr_storage *ss)
{
	size_t i;

	for (i = 0; i < a->npats; i++)
		if (http_net_match(&a->nets[i], ss))
			return 1;
	return 0;
}

/* The query string of the request target: after '?', up to '#'. */
static int query_of(const struct h1_msg *req, const char *buf, struct h1_span *q)
{
	const char *u = buf + req->uri.off, *p = memchr(u, '?', req->uri.len);
	const char *end, *hash;

	if (!p)
		return 0;
	end = u + req->uri.len;
	hash = memchr(p, '#', (size_t)(end - p));
	q->off = (uint32_t)(p + 1 - buf);
	q->len = (uint32_t)((hash ? hash : end) - (p + 1));
	return 1;
}

static int acl_match(const struct http_acl *a, const struct http_smp *x)
{
	struct h1_span s;

	switch (a->fetch) {
	case HTTP_FETCH_PATH:
		if (!x->req)
			return 0;
		s = h1_uri_path(x->req, x->reqbuf);
		return pat_match(a, x->reqbuf + s.off, s.len);
	case HTTP_FETCH_URL:
		if (!x->req)
			return 0;
		return pat_match(a, x->reqbuf + x->req->uri.off, x->req->uri.len);
	case HTTP_FETCH_QUERY:
		if (!x->req || !query_of(x->req, x->reqbuf, &s))
			return 0;
		return pat_match(a, x->reqbuf + s.off, s.len);
	case HTTP_FETCH_METHOD:
		if (!x->req)
			return 0;
		return pat_match(a, x->reqbuf + x->req->method.off, x->req->method.len);
	case HTTP_FETCH_HDR:
		return x->msg ? hdr_match(a, x->msg, x->buf) : 0;
	case HTTP_FETCH_SRC:
		return x->src ? src_match(a, x->src) : 0;
	case HTTP_FETCH_TRUE:
		return 1;
	case HTTP_FETCH_FALSE:
		return 0;
	}
	return 0;
}

static int acl_id_match(const struct http_rules *r, unsigned id, const struct http_smp *x)
{
	size_t i;

	for (i = 0; i < r->nacls; i++)
		if (r->acls[i].id == id && acl_match(&r->acls[i], x))
			return 1;
	return 0;
}

int http_cond_eval(const struct http_rules *r, const struct http_cond *c,
		   const struct http_smp *x)
{
	int any = 0, all = 1, v;
	size_t i;

	if (c->kind == HTTP_COND_NONE)
		return 1;
	for (i = 0; i < c->nterms; i++) {
		const struct http_term *t = &c->terms[i];

		if (t->or_before) {
			if (all) {
				any = 1;
				break;
			}
			all = 1;
		}
		if (!all)
			continue;       /* this alternative already failed */
		v = acl_id_match(r, t->acl_id, x);
		if (t->neg)
			v = !v;
		if (!v)
			all = 0;
	}
	if (i == c->nterms && all)
		any = 1;
	return c->kind == HTTP_COND_IF ? any : !any;
}

enum http_verdict http_rules_run(const struct http_rules *r, int response,
				 const struct http_smp *x,
				 struct http_hdr_op *ops, size_t maxops, size_t *nops,
				 unsigned *status, const struct http_rule **hit)
{
	const struct http_rule *list = response ? r->res : r->req;
	size_t n = response ? r->nres : r->nreq, i;
	struct http_hdr_op *op;

	for (i = 0; i < n; i++) {
		const struct http_rule *ru = &list[i];

		if (!http_cond_eval(r, &ru->cond, x))
			continue;
		switch (ru->act) {
		case HTTP_ACT_ALLOW:
			return HTTP_VERDICT_CONTINUE;
		case HTTP_ACT_DENY:
			*status = ru->deny_status;
			*hit = ru;
			return HTTP_VERDICT_DENY;
		case HTTP_ACT_REDIRECT:
			*status = ru->redir_code;
			*hit = ru;
			return HTTP_VERDICT_REDIRECT;
		case HTTP_ACT_SET_HDR:
		case HTTP_ACT_ADD_HDR:
		case HTTP_ACT_DEL_HDR:
			if (*nops >= maxops)
				return HTTP_VERDICT_ERROR;
			op = &ops[(*nops)++];
			op->kind = ru->act == HTTP_ACT_SET_HDR ? HTTP_HOP_SET :
				   ru->act == HTTP_ACT_ADD_HDR ? HTTP_HOP_ADD : HTTP_HOP_DEL;
			op->name = ru->name;
			op->namelen = ru->namelen;
			op->value = ru->value;
			op->valuelen = ru->valuelen;
			break;
		}
	}
	return HTTP_VERDICT_CONTINUE;
}

int http_rules_backend(const struct http_rules *r, const struct http_smp *x)
{
	size_t i;

	for (i = 0; i < r->nub; i++)
		if (http_cond_eval(r, &r->ub[i].cond, x))
			return r->ub[i].be_idx;
	return -1;
}

/* ---- head rewriting ---------------------------------------------------- */

struct out {
	char *p;
	size_t len;
	size_t cap;
	int full;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#define out_lit(o, lit) out_put((o), (lit), sizeof(lit) - 1)

static const char *redir_reason(unsigned code)
{
	switch (code) {
	case 301: return "Moved Permanently";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	default: return "Found";
	}
}

long http_redirect_head(const struct http_rule *ru, const struct h1_msg *req, const char *buf,
			int close, char *out, size_t outsz)
{
	struct out o = { out, 0, outsz, 0 };
	struct h1_span path = h1_uri_path(req, buf), q;
	char sl[64];
	int n, has_q = query_of(req, buf, &q) && !(ru->redir_flags & HTTP_REDIR_DROP_QUERY);

	n = snprintf(sl, sizeof(sl), "HTTP/1.1 %u %s\r\n", ru->redir_code,
		     redir_reason(ru->redir_code));
	out_put(&o, sl, (size_t)n);
	out_lit(&o, "Location: ");
	if (ru->redir == HTTP_REDIR_SCHEME) {
		int h = h1_hdr_find(req, buf, "host", 0);

		out_put(&o, ru->value, ru->valuelen);
		out_lit(&o, "://");
		if (h != -1)
			out_put(&o, buf + req->hdrs[h].value.off, req->hdrs[h].value.len);
	} else if (ru->redir == HTTP_REDIR_PREFIX &&
		   !(ru->valuelen == 1 && ru->value[0] == '/')) {
		out_put(&o, ru->value, ru->valuelen);
	}
	if (ru->redir == HTTP_REDIR_LOCATION) {
		out_put(&o, ru->value, ru->valuelen);
	} else {
		/* The path ("*" and authority forms have none: "/"). */
		if (path.len && buf[path.off] == '/')
			out_put(&o, buf + path.off, path.len);
		else
			out_lit(&o, "/");
		if (has_q) {
			out_lit(&o, "?");
			out_put(&o, buf + q.off, q.len);
		}
	}
	out_lit(&o, "\r\nContent-Length: 0\r\nCache-Control: no-cache\r\n");
	if (close)
		out_lit(&o, "Connection: close\r\n");
	out_lit(&o, "\r\n");
	return o.full ? -1 : (long)o.len;
}

static int op_names(const struct http_hdr_op *op, const char *name, size_t len)
{
	return op->namelen == len && !strncasecmp(op->name, name, len);
}

/* Whether a header named name, present (or added by op from) before ops
 * index `from`, is removed by a SET or DEL at index >= from. */
static int removed_after(const struct http_hdr_op *ops, size_t nops, size_t from,
			 const char *name, size_t len)
{
	size_t j;

	for (j = from; j < nops; j++)
		if ((ops[j].kind == HTTP_HOP_SET || ops[j].kind == HTTP_HOP_DEL) &&
		    op_names(&ops[j], name, len))
			return 1;
	return 0;
}

long http_head_rewrite(const struct h1_msg *m, const char *buf,
		       const struct http_hdr_op *ops, size_t nops,
		       char *out, size_t outsz)
{
	struct out o = { out, 0, outsz, 0 };
	uint32_t sl_end, i;
	char num[24];
	size_t j;
	int n;

	if (m->flags & H1_MF_RESP)
		sl_end = m->reason.off + m->reason.len;
	else
		sl_end = m->version.off + m->version.len;
	out_put(&o, buf + m->start, sl_end - m->start);
	out_put(&o, "\r\n", 2);
	for (i = 0; i < m->nhdrs; i++) {
		const struct h1_hdr *h = &m->hdrs[i];

		if (h->flags & H1_HDR_SKIP)
			continue;
		if (removed_after(ops, nops, 0, buf + h->name.off, h->name.len))
			continue;
		out_put(&o, buf + h->name.off, h->name.len);
		out_put(&o, ": ", 2);
		if ((int)i == m->cl_idx) {
			/* merged duplicates ("5, 5") are sent as one value */
			n = snprintf(num, sizeof(num), "%llu", (unsigned long long)m->content_length);
			out_put(&o, num, (size_t)n);
		} else {
			out_put(&o, buf + h->value.off, h->value.len);
		}
		out_put(&o, "\r\n", 2);
	}
	for (j = 0; j < nops; j++) {
		if (ops[j].kind == HTTP_HOP_DEL)
			continue;
		if (removed_after(ops, nops, j + 1, ops[j].name, ops[j].namelen))
			continue;
		out_put(&o, ops[j].name, ops[j].namelen);
		out_put(&o, ": ", 2);
		out_put(&o, ops[j].value, ops[j].valuelen);
		out_put(&o, "\r\n", 2);
	}
	out_put(&o, "\r\n", 2);
	return o.full ? -1 : (long)o.len;
}
