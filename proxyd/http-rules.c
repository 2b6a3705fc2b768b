/* HTTP ACLs, rules and head rewriting (see http-rules.h). */
#include "config.h"

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

void http_rules_free(struct http_rules *r)
{
	size_t i, j;

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
	for (i = 0; i < r->nacls; i++) {
		for (j = 0; j < r->acls[i].npats; j++)
			free(r->acls[i].pats[j]);
		free(r->acls[i].pats);
		free(r->acls[i].patlens);
		free(r->acls[i].hdr);
	}
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

int http_acl_parse(struct http_rules *r, char **args, int nargs, int line,
		   char *err, size_t errlen)
{
	struct http_acl a, *e;
	const char *crit, *open;
	int i, id, npat;
	size_t n;

	memset(&a, 0, sizeof(a));
	a.line = line;
	if (nargs < 3) {
		snprintf(err, errlen, "%s (usage: acl <name> <criterion> [-i] <pattern>...)",
			 nargs < 2 ? "missing name" : "missing criterion");
		return -1;
	}
	if (!valid_acl_name(args[1])) {
		snprintf(err, errlen, "'%s': invalid ACL name (letters, digits, '-', '_', '.', ':')",
			 args[1]);
		return -1;
	}
	crit = args[2];
	open = strchr(crit, '(');
	if (!strcmp(crit, "path")) {
		a.fetch = HTTP_FETCH_PATH;
		a.match = HTTP_MATCH_STR;
	} else if (!strcmp(crit, "path_beg")) {
		a.fetch = HTTP_FETCH_PATH;
		a.match = HTTP_MATCH_BEG;
	} else if (!strcmp(crit, "method")) {
		a.fetch = HTTP_FETCH_METHOD;
		a.match = HTTP_MATCH_STR;
	} else if (open && ((open - crit == 3 && !strncmp(crit, "hdr", 3)) ||
			    (open - crit == 7 && !strncmp(crit, "hdr_beg", 7)))) {
		n = strlen(open + 1);
		if (n < 2 || open[n] != ')') {
			snprintf(err, errlen, "'%s': expected %.*s(<header name>)", crit,
				 (int)(open - crit), crit);
			return -1;
		}
		a.hdr = strndup(open + 1, n - 1);
		if (!a.hdr) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		a.hdrlen = n - 1;
		if (!valid_token(a.hdr) || strchr(a.hdr, ',')) {
			snprintf(err, errlen, "'%s': invalid header name", crit);
			free(a.hdr);
			return -1;
		}
		a.fetch = HTTP_FETCH_HDR;
		a.match = open - crit == 3 ? HTTP_MATCH_STR : HTTP_MATCH_BEG;
	} else {
		snprintf(err, errlen, "'%s': unknown or unsupported criterion "
			 "(path, path_beg, method, hdr(<name>), hdr_beg(<name>))", crit);
		return -1;
	}

	for (i = 3; i < nargs && args[i][0] == '-' && args[i][1]; i++) {
		if (!strcmp(args[i], "-i")) {
			a.flags |= HTTP_ACL_ICASE;
		} else if (!strcmp(args[i], "--")) {
			i++;
			break;
		} else {
			snprintf(err, errlen, "'%s': unsupported flag (-i, --)", args[i]);
			free(a.hdr);
			return -1;
		}
	}
	npat = nargs - i;
	if (npat <= 0) {
		snprintf(err, errlen, "missing pattern");
		free(a.hdr);
		return -1;
	}
	a.pats = calloc((size_t)npat, sizeof(*a.pats));
	a.patlens = calloc((size_t)npat, sizeof(*a.patlens));
	if (!a.pats || !a.patlens)
		goto nomem;
	for (; i < nargs; i++) {
		a.pats[a.npats] = strdup(args[i]);
		if (!a.pats[a.npats])
			goto nomem;
		a.patlens[a.npats] = strlen(args[i]);
		a.npats++;
	}

	id = acl_name_id(r, args[1]);
	if (id == -1) {
		char **slot = grow(&r->acl_names, &r->nacl_names, sizeof(*r->acl_names));

		if (!slot)
			goto nomem;
		*slot = strdup(args[1]);
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
	return 0;

nomem:
	snprintf(err, errlen, "out of memory");
	for (n = 0; n < a.npats; n++)
		free(a.pats[n]);
	free(a.patlens);
	free(a.pats);
	free(a.hdr);
	return -1;
}

/* Parses "if|unless TERM..." from args[0..nargs) into c. nargs == 0 leaves
 * c as HTTP_COND_NONE. */
static int cond_parse(const struct http_rules *r, char **args, int nargs, struct http_cond *c,
		      char *err, size_t errlen)
{
	struct http_term *t;
	int i, or_next = 0, neg;
	const char *name;

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
		if (args[i][0] == '{') {
			snprintf(err, errlen, "anonymous ACLs ('{ ... }') are not supported");
			goto err;
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
		if (acl_name_id(r, name) == -1) {
			snprintf(err, errlen, "unknown ACL '%s' (declare it with 'acl' before use)",
				 name);
			goto err;
		}
		t = grow(&c->terms, &c->nterms, sizeof(*t));
		if (!t) {
			snprintf(err, errlen, "out of memory");
			goto err;
		}
		t->acl_id = (unsigned)acl_name_id(r, name);
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

int http_rule_parse(struct http_rules *r, int response, char **args, int nargs, int line,
		    char *err, size_t errlen)
{
	struct http_rule ru, *e;
	const char *act;
	int i = 2;

	memset(&ru, 0, sizeof(ru));
	ru.line = line;
	if (nargs < 2) {
		snprintf(err, errlen, "missing action (allow, deny, set-header, add-header, del-header)");
		return -1;
	}
	act = args[1];
	if (!strcmp(act, "allow")) {
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
			 "(allow, deny, set-header, add-header, del-header)", act);
		return -1;
	}
	if (cond_parse(r, args + i, nargs - i, &ru.cond, err, errlen) == -1) {
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
	if (cond_parse(r, args + 2, nargs - 2, &ub.cond, err, errlen) == -1)
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

static int pat_match(const struct http_acl *a, const char *s, size_t len)
{
	size_t i, pl;

	for (i = 0; i < a->npats; i++) {
		pl = a->patlens[i];
		if (a->match == HTTP_MATCH_STR ? len != pl : len < pl)
			continue;
		if (a->flags & HTTP_ACL_ICASE ? !strncasecmp(s, a->pats[i], pl) :
		    !memcmp(s, a->pats[i], pl))
			return 1;
	}
	return 0;
}

/* Each comma-separated element of each value of the header. */
static int hdr_match(const struct http_acl *a, const struct h1_msg *m, const char *buf)
{
	int idx = -1;
	uint32_t i, end, b, e;

	while ((idx = h1_hdr_find(m, buf, a->hdr, idx + 1)) != -1) {
		const struct h1_span v = m->hdrs[idx].value;

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

static int acl_match(const struct http_acl *a, const struct h1_msg *req, const char *reqbuf,
		     const struct h1_msg *msg, const char *buf)
{
	struct h1_span s;

	switch (a->fetch) {
	case HTTP_FETCH_PATH:
		if (!req)
			return 0;
		s = h1_uri_path(req, reqbuf);
		return pat_match(a, reqbuf + s.off, s.len);
	case HTTP_FETCH_METHOD:
		if (!req)
			return 0;
		return pat_match(a, reqbuf + req->method.off, req->method.len);
	case HTTP_FETCH_HDR:
		return msg ? hdr_match(a, msg, buf) : 0;
	}
	return 0;
}

static int acl_id_match(const struct http_rules *r, unsigned id, const struct h1_msg *req,
			const char *reqbuf, const struct h1_msg *msg, const char *buf)
{
	size_t i;

	for (i = 0; i < r->nacls; i++)
		if (r->acls[i].id == id && acl_match(&r->acls[i], req, reqbuf, msg, buf))
			return 1;
	return 0;
}

int http_cond_eval(const struct http_rules *r, const struct http_cond *c,
		   const struct h1_msg *req, const char *reqbuf,
		   const struct h1_msg *msg, const char *buf)
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
		v = acl_id_match(r, t->acl_id, req, reqbuf, msg, buf);
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
				 const struct h1_msg *req, const char *reqbuf,
				 const struct h1_msg *msg, const char *buf,
				 struct http_hdr_op *ops, size_t maxops, size_t *nops,
				 unsigned *status)
{
	const struct http_rule *list = response ? r->res : r->req;
	size_t n = response ? r->nres : r->nreq, i;
	struct http_hdr_op *op;

	for (i = 0; i < n; i++) {
		const struct http_rule *ru = &list[i];

		if (!http_cond_eval(r, &ru->cond, req, reqbuf, msg, buf))
			continue;
		switch (ru->act) {
		case HTTP_ACT_ALLOW:
			return HTTP_VERDICT_CONTINUE;
		case HTTP_ACT_DENY:
			*status = ru->deny_status;
			return HTTP_VERDICT_DENY;
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

int http_rules_backend(const struct http_rules *r, const struct h1_msg *req, const char *reqbuf)
{
	size_t i;

	for (i = 0; i < r->nub; i++)
		if (http_cond_eval(r, &r->ub[i].cond, req, reqbuf, req, reqbuf))
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
