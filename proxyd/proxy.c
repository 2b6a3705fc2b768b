#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyd/cfg.h"
#include "proxyd/proxy.h"
#include "proxyd/thread.h"

struct proxy_info proxy_info;

static struct proxy *proxies;
static unsigned nproxies;

static void server_free(struct server *srv)
{
	free(srv->ck_set);
	free(srv->cookie);
	free(srv->addr_text);
	free(srv->name);
	srv->ck_set = NULL;
	srv->cookie = NULL;
	srv->addr_text = NULL;
	srv->name = NULL;
}

/* The Set-Cookie value for srv: NAME=VALUE; path=/ and the options. */
static int server_cookie_init(struct server *srv, const struct cfg_proxy *cp,
			      const struct cfg_server *cs)
{
	int n;

	if (!cs->cookie)
		return 0;
	srv->cookie = strdup(cs->cookie);
	if (!srv->cookie)
		return -1;
	srv->cookielen = strlen(srv->cookie);
	if (!cp->ck_name)
		return 0;
	n = asprintf(&srv->ck_set, "%s=%s; path=/%s%s%s%s", cp->ck_name, cs->cookie,
		     cp->ck_domain ? "; domain=" : "", cp->ck_domain ? cp->ck_domain : "",
		     (cp->ck_opts & CFG_CK_HTTPONLY) ? "; HttpOnly" : "",
		     (cp->ck_opts & CFG_CK_SECURE) ? "; Secure" : "");
	if (n < 0) {
		srv->ck_set = NULL;
		return -1;
	}
	srv->ck_setlen = (size_t)n;
	return 0;
}

static void proxy_free_one(struct proxy *px)
{
	unsigned i;

	for (i = 0; i < px->nsrvs; i++)
		server_free(&px->srvs[i]);
	free(px->srvs);
	free(px->chk_expect.pattern);
	free(px->chk_req);
	free(px->ck_name);
	px->ck_name = NULL;
	px->chk_expect.pattern = NULL;
	px->chk_req = NULL;
	free(px->name);
	px_mtrate_free(&px->req_rate);
	px->srvs = NULL;
	px->name = NULL;
}

void proxy_free_all(void)
{
	unsigned i;

	for (i = 0; i < nproxies; i++)
		proxy_free_one(&proxies[i]);
	free(proxies);
	proxies = NULL;
	nproxies = 0;
}

static int server_init(struct server *srv, struct proxy *be, unsigned puid,
		       const struct cfg_proxy *cp, const struct cfg_server *cs, uint64_t now)
{
	memset(srv, 0, sizeof(*srv));
	srv->name = strdup(cs->name ? cs->name : "");
	srv->addr_text = strdup(cs->addr_text ? cs->addr_text : "");
	if (!srv->name || !srv->addr_text)
		return -1;
	memcpy(&srv->addr, &cs->addr, sizeof(srv->addr));
	srv->addrlen = cs->addrlen;
	srv->be = be;
	srv->puid = puid;
	srv->flags = cs->flags;
	srv->iweight = cs->weight;
	srv->uweight = cs->weight;
	srv->maxconn = cs->maxconn;
	srv->maxconn_cfg = cs->maxconn;
	srv->minconn = cs->minconn;
	srv->maxqueue = cs->maxqueue;
	srv->slowstart = cs->slowstart;
	srv->op = SRV_OP_UP;
	srv->admin = (cs->flags & CFG_SRV_DISABLED) ? SRV_ADMIN_MAINT : SRV_ADMIN_READY;
	if (srv->admin == SRV_ADMIN_MAINT) {
		srv->op = SRV_OP_DOWN;
		srv->down_since = now;
	}
	srv->op_since = now;
	srv->last_change = now;
	px_list_init(&srv->sessions);
	px_list_init(&srv->queue);

	srv->chk.configured = !!(cs->flags & CFG_SRV_CHECK);
	srv->chk.inter = cs->inter ? cs->inter : 2000;
	srv->chk.fastinter = cs->fastinter ? cs->fastinter : srv->chk.inter;
	srv->chk.downinter = cs->downinter ? cs->downinter : srv->chk.inter;
	srv->chk.rise = cs->rise ? cs->rise : 2;
	srv->chk.fall = cs->fall ? cs->fall : 3;
	/* HAProxy: rise (one failure from DOWN) when running, 0 in maintenance. */
	srv->chk.health = srv->admin == SRV_ADMIN_MAINT ? 0 : srv->chk.rise;
	if (cp->to.set & (1u << CFG_TO_CHECK)) {
		unsigned conn = cfg_timeout_get(cp, CFG_TO_CONNECT);

		srv->chk.timeout = conn && conn < srv->chk.inter ? conn : srv->chk.inter;
	} else {
		srv->chk.timeout = srv->chk.inter;
	}
	srv->chk.status = CHK_STATUS_INI;
	srv->chk.result = CHK_RES_UNKNOWN;
	srv->chk.duration = -1u;
	srv->chk.fd = -1;
	return server_cookie_init(srv, cp, cs);
}

/* "{" v1 "|" v2 ... "}" NUL, each value at most len bytes escaped three to
 * one (see http capture). */
static size_t capture_block_size(const struct cfg_capture *c, size_t n)
{
	size_t i, sz = 3 + (n ? n - 1 : 0);

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		sz += 3 * (size_t)c[i].len;
	return sz;
}

static int proxy_init(struct proxy *px, unsigned uuid, const struct cfg_proxy *cp, uint64_t now)
{
	unsigned i;

	memset(px, 0, sizeof(*px));
	px->name = strdup(cp->name ? cp->name : "");
	if (!px->name)
		return -1;
	px->cap = cp->cap;
	px->uuid = uuid;
	px->mode = cp->mode;
	px->balance = cp->balance;
	px->options = cp->options;
	px->maxconn = cp->maxconn;
	px->fullconn = cp->fullconn;
	px->retries = cp->retries;
	for (i = 0; i < CFG_TO_COUNT; i++)
		px->timeout[i] = cfg_timeout_get(cp, (enum cfg_timeout)i);
	px_list_init(&px->queue);
	px->last_change = now;
	if (cp->ck_name && (cp->cap & CFG_CAP_BE)) {
		px->ck_name = strdup(cp->ck_name);
		if (!px->ck_name)
			return -1;
		px->ck_namelen = strlen(px->ck_name);
		px->ck_opts = cp->ck_opts;
	}
	if ((cp->cap & CFG_CAP_FE) && px_mtrate_init(&px->req_rate, thread_count) == -1)
		return -1;
	px->cap_req_size = capture_block_size(cp->cap_req, cp->ncap_req);
	px->cap_res_size = capture_block_size(cp->cap_res, cp->ncap_res);
	if ((cp->options & CFG_OPT_HTTPCHK) && (cp->cap & CFG_CAP_BE)) {
		/* option httpchk [METHOD] [URI] [VERSION]: HAProxy's defaults
		 * OPTIONS / HTTP/1.0; the connection closes after the answer. */
		const char *m = cp->chk_method ? cp->chk_method : "OPTIONS";
		const char *u = cp->chk_uri ? cp->chk_uri : "/";
		const char *v = cp->chk_version ? cp->chk_version : "HTTP/1.0";
		int n = asprintf(&px->chk_req, "%s %s %s\r\n%sConnection: close\r\n\r\n", m, u, v,
				 cp->chk_hdrs ? cp->chk_hdrs : "");

		if (n < 0) {
			px->chk_req = NULL;
			return -1;
		}
		px->chk_reqlen = (size_t)n;
		px->chk_expect.kind = cp->chk_expect.kind;
		px->chk_expect.neg = cp->chk_expect.neg;
		if (cp->chk_expect.pattern) {
			px->chk_expect.pattern = strdup(cp->chk_expect.pattern);
			if (!px->chk_expect.pattern)
				return -1;
		}
	}
	if (cp->nservers) {
		px->srvs = calloc(cp->nservers, sizeof(*px->srvs));
		if (!px->srvs)
			return -1;
		for (i = 0; i < cp->nservers; i++) {
			px->nsrvs = i + 1;
			if (server_init(&px->srvs[i], px, i + 1, cp, &cp->servers[i], now) == -1)
				return -1;
		}
	}
	px->up = 0;
	for (i = 0; i < px->nsrvs; i++)
		if (server_usable(&px->srvs[i]))
			px->up = 1;
	if ((px->cap & CFG_CAP_BE) && !px->up)
		px->down_since = now;
	return 0;
}

int proxy_build(const struct cfg *c, uint64_t now, char *err, size_t errlen)
{
	size_t i;

	if (nproxies) {
		snprintf(err, errlen, "proxies already built");
		return -1;
	}
	if (c->nproxies) {
		proxies = calloc(c->nproxies, sizeof(*proxies));
		if (!proxies)
			goto nomem;
	}
	for (i = 0; i < c->nproxies; i++) {
		nproxies = (unsigned)i + 1;
		if (proxy_init(&proxies[i], (unsigned)i + 1, &c->proxies[i], now) == -1)
			goto nomem;
	}
	for (i = 0; i < c->nproxies; i++) {
		int idx = c->proxies[i].default_backend_idx;

		if (idx >= 0 && (size_t)idx < c->nproxies)
			proxies[i].defbe = &proxies[idx];
	}
	return 0;
nomem:
	snprintf(err, errlen, "building proxies: %s", strerror(ENOMEM));
	proxy_free_all();
	return -1;
}

unsigned proxy_count(void)
{
	return nproxies;
}

struct proxy *proxy_at(unsigned i)
{
	return i < nproxies ? &proxies[i] : NULL;
}

struct proxy *proxy_find(const char *name, unsigned cap)
{
	unsigned i;

	for (i = 0; i < nproxies; i++)
		if ((proxies[i].cap & cap) == cap && strcmp(proxies[i].name, name) == 0)
			return &proxies[i];
	return NULL;
}

struct server *proxy_server_find(const struct proxy *be, const char *name)
{
	unsigned i;

	for (i = 0; i < be->nsrvs; i++)
		if (strcmp(be->srvs[i].name, name) == 0)
			return &be->srvs[i];
	return NULL;
}

int proxy_server_parse(const char *arg, struct proxy **be, struct server **srv,
		       char *err, size_t errlen)
{
	const char *slash = arg ? strchr(arg, '/') : NULL;
	char bname[256];
	size_t blen;

	if (!slash || slash == arg || !slash[1]) {
		snprintf(err, errlen, "Require 'backend/server'.");
		return -1;
	}
	blen = (size_t)(slash - arg);
	if (blen >= sizeof(bname)) {
		snprintf(err, errlen, "No such backend.");
		return -1;
	}
	memcpy(bname, arg, blen);
	bname[blen] = '\0';
	*be = proxy_find(bname, CFG_CAP_BE);
	if (!*be) {
		snprintf(err, errlen, "No such backend.");
		return -1;
	}
	*srv = proxy_server_find(*be, slash + 1);
	if (!*srv) {
		snprintf(err, errlen, "No such server.");
		return -1;
	}
	return 0;
}

/* ---- the backend layer's lock ------------------------------------------ */

static pthread_mutex_t px_mtx;
static pthread_once_t px_once = PTHREAD_ONCE_INIT;

static void px_mtx_init(void)
{
	pthread_mutexattr_t a;

	if (pthread_mutexattr_init(&a) != 0 ||
	    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE) != 0 ||
	    pthread_mutex_init(&px_mtx, &a) != 0)
		abort();
	pthread_mutexattr_destroy(&a);
}

void px_lock(void)
{
	pthread_once(&px_once, px_mtx_init);
	pthread_mutex_lock(&px_mtx);
}

void px_unlock(void)
{
	pthread_mutex_unlock(&px_mtx);
}

/* ---- counters ------------------------------------------------------------ */

void px_rate_add(struct px_rate *r, uint64_t now)
{
	uint64_t sec = now / 1000;

	if (sec != r->sec) {
		r->prev = sec == r->sec + 1 ? r->curr : 0;
		r->curr = 0;
		r->sec = sec;
	}
	r->curr++;
}

unsigned px_rate_get(const struct px_rate *r, uint64_t now)
{
	uint64_t sec = now / 1000;
	unsigned prev;

	if (sec == r->sec)
		prev = r->prev;
	else if (sec == r->sec + 1)
		prev = r->curr;
	else
		return 0;
	if (sec == r->sec && r->curr > prev)
		return r->curr;
	return prev;
}

int px_mtrate_init(struct px_mtrate *m, unsigned nslots)
{
	memset(m, 0, sizeof(*m));
	if (!nslots)
		nslots = 1;
	m->slot = aligned_alloc(_Alignof(struct px_rate_slot), nslots * sizeof(*m->slot));
	if (!m->slot)
		return -1;
	memset(m->slot, 0, nslots * sizeof(*m->slot));
	m->nslots = nslots;
	return 0;
}

void px_mtrate_free(struct px_mtrate *m)
{
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* The events counted in second `sec` over every slot (whole values: see
 * struct px_mtrate). A slot holds its current second and the one before. */
static unsigned mtrate_count(const struct px_mtrate *m, uint64_t sec)
{
	unsigned i, sum = 0;

	for (i = 0; i < m->nslots; i++) {
		const struct px_rate *r = &m->slot[i].r;
		uint64_t rs = __atomic_load_n(&r->sec, __ATOMIC_ACQUIRE);

		if (rs == sec)
			sum += LD(r->curr);
		else if (rs == sec + 1)
			sum += LD(r->prev);
	}
	return sum;
}

void px_mtrate_add(struct px_mtrate *m, uint64_t now)
{
	struct px_rate *r;
	uint64_t sec = now / 1000, old;
	unsigned sum, max;

	if (!m->slot || thread_id >= m->nslots)
		return;
	r = &m->slot[thread_id].r;
	if (sec == r->sec) {
		ST(r->curr, r->curr + 1);
		return;
	}
	/* A new second in this thread: the one it last counted in is over
	 * here (and about over in the other threads), so its total goes into
	 * max. prev and curr are written before sec (release): a reader that
	 * sees the new second sees the new counts. */
	old = r->sec;
	sum = mtrate_count(m, old);
	max = LD(m->max);
	while (sum > max &&
	       !__atomic_compare_exchange_n(&m->max, &max, sum, 1, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	ST(r->prev, sec == old + 1 ? r->curr : 0);
	ST(r->curr, 1);
	__atomic_store_n(&r->sec, sec, __ATOMIC_RELEASE);
}

/* As px_rate_get: the last full second, or the current one when larger. */
unsigned px_mtrate_get(const struct px_mtrate *m, uint64_t now)
{
	uint64_t sec = now / 1000;
	unsigned cur, prev;

	if (!m->slot)
		return 0;
	cur = mtrate_count(m, sec);
	prev = sec ? mtrate_count(m, sec - 1) : 0;
	return cur > prev ? cur : prev;
}

/* The seconds not folded yet are the ones the slots count in now. */
unsigned px_mtrate_max(const struct px_mtrate *m)
{
	unsigned i, max = LD(m->max), n;

	for (i = 0; i < m->nslots; i++) {
		n = mtrate_count(m, __atomic_load_n(&m->slot[i].r.sec, __ATOMIC_ACQUIRE));
		if (n > max)
			max = n;
	}
	return max;
}

void px_counters_open(struct px_counters *c, uint64_t now)
{
	unsigned rate, cur;

	px_lock();
	cur = c->scur + 1;
	__atomic_store_n(&c->scur, cur, __ATOMIC_RELAXED);
	if (cur > c->smax)
		c->smax = cur;
	c->stot++;
	c->lastsess = now ? now : 1;
	px_rate_add(&c->rate, now);
	rate = px_rate_get(&c->rate, now);
	if (rate > c->rate_max)
		c->rate_max = rate;
	px_unlock();
}

void px_counters_close(struct px_counters *c)
{
	px_lock();
	if (c->scur)
		__atomic_store_n(&c->scur, c->scur - 1, __ATOMIC_RELAXED);
	px_unlock();
}

/* Running mean over the first 1024 samples, then a sliding average over
 * about the last 1024: avg += (v - avg) / n, rounded to the nearest. */
static void avg_feed(unsigned *avg, unsigned *max, unsigned *n, unsigned v)
{
	int64_t d = (int64_t)v - (int64_t)*avg;
	int64_t half;

	if (*n < 1024)
		(*n)++;
	half = *n / 2;
	*avg = (unsigned)((int64_t)*avg + (d >= 0 ? (d + half) / *n : -((-d + half) / *n)));
	if (v > *max)
		*max = v;
}

void px_counters_times(struct px_counters *c, unsigned qtime, unsigned ctime, unsigned ttime)
{
	px_lock();
	if (qtime != -1u)
		avg_feed(&c->qtime, &c->qtime_max, &c->qsamples, qtime);
	if (ctime != -1u)
		avg_feed(&c->ctime, &c->ctime_max, &c->csamples, ctime);
	if (ttime != -1u)
		avg_feed(&c->ttime, &c->ttime_max, &c->tsamples, ttime);
	px_unlock();
}

/* ---- server state -------------------------------------------------------- */

int server_usable_locked(const struct server *srv)
{
	int r;

	px_lock();
	r = server_usable(srv);
	px_unlock();
	return r;
}

enum srv_status server_status(const struct server *srv)
{
	if (srv->admin == SRV_ADMIN_MAINT)
		return SRV_STATUS_MAINT;
	if (srv->op == SRV_OP_DOWN)
		return SRV_STATUS_DOWN;
	if (srv->admin == SRV_ADMIN_DRAIN)
		return SRV_STATUS_DRAIN;
	if (srv->op == SRV_OP_STARTING)
		return SRV_STATUS_STARTING;
	return SRV_STATUS_UP;
}

const char *server_status_name(enum srv_status st)
{
	switch (st) {
	case SRV_STATUS_DOWN:
		return "DOWN";
	case SRV_STATUS_STARTING:
		return "STARTING";
	case SRV_STATUS_UP:
		return "UP";
	case SRV_STATUS_DRAIN:
		return "DRAIN";
	case SRV_STATUS_MAINT:
		return "MAINT";
	}
	return "UNKNOWN";
}

int server_usable(const struct server *srv)
{
	return srv->admin == SRV_ADMIN_READY && srv->op != SRV_OP_DOWN && srv->uweight > 0;
}

static unsigned server_elapsed(const struct server *srv, uint64_t now)
{
	uint64_t e = now > srv->op_since ? now - srv->op_since : 0;

	return e > 0xffffffffu ? 0xffffffffu : (unsigned)e;
}

unsigned server_eweight(const struct server *srv, uint64_t now)
{
	if (!server_usable(srv))
		return 0;
	if (srv->op == SRV_OP_STARTING)
		return cfg_srv_slowstart_weight(srv->uweight, srv->slowstart, server_elapsed(srv, now));
	return srv->uweight;
}

unsigned server_eff_maxconn(const struct server *srv, uint64_t now)
{
	unsigned fullconn = srv->be ? srv->be->fullconn : 0;
	unsigned beconn = srv->be ? srv->be->be.scur : 0;
	unsigned minconn = srv->minconn < srv->maxconn ? srv->minconn : srv->maxconn;
	unsigned lim;

	/* minconn follows a lowered maxconn (`set maxconn server`), as HAProxy's
	 * minconn is never above maxconn. */
	lim = cfg_srv_dynmaxconn(minconn, srv->maxconn, fullconn, beconn);
	if (srv->op == SRV_OP_STARTING)
		lim = cfg_srv_slowstart_maxconn(lim, srv->slowstart, server_elapsed(srv, now));
	return lim;
}

unsigned server_throttle(const struct server *srv, uint64_t now)
{
	unsigned e;

	if (srv->op != SRV_OP_STARTING || !srv->slowstart)
		return 100;
	e = server_elapsed(srv, now);
	if (e >= srv->slowstart)
		return 100;
	return (unsigned)((uint64_t)e * 100 / srv->slowstart);
}

void server_refresh(struct server *srv, uint64_t now)
{
	if (srv->op == SRV_OP_STARTING &&
	    (!srv->slowstart || server_elapsed(srv, now) >= srv->slowstart)) {
		srv->op = SRV_OP_UP;
		srv->op_since = now;
	}
}

void sess_lb_init(struct sess_lb *lb, struct session *s)
{
	memset(lb, 0, sizeof(*lb));
	lb->sess = s;
	lb->tid = thread_id;
	px_list_init(&lb->srv_link);
	px_list_init(&lb->q_link);
}
