#include "config.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxyd/lb.h"
#include "proxyd/proxy.h"

int lb_server_has_slot(const struct server *srv, uint64_t now)
{
	unsigned lim = server_eff_maxconn(srv, now);

	return lim == 0 || srv->c.scur < lim;
}

/* 64-bit mixer (splitmix64's finaliser): cheap, and every input bit
 * affects every output bit, which rendezvous hashing needs. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint32_t lb_hash_addr(const void *sockaddr, unsigned len)
{
	const struct sockaddr *sa = sockaddr;
	const unsigned char *p = NULL;
	unsigned n = 0, i;
	uint32_t h = 2166136261u;       /* FNV-1a */

	if (sa && len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)sockaddr)->sin_addr;
		n = 4;
	} else if (sa && len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)sockaddr)->sin6_addr;
		n = 16;
	}
	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* Candidates for a pick: the usable active servers, or, when there is none,
 * the first usable backup server. Returns 1 if the active set is used, 0 for
 * the backup, -1 when nothing is usable (*bck set to the backup otherwise). */
static int lb_farm(struct proxy *be, struct server **bck)
{
	unsigned i;

	*bck = NULL;
	for (i = 0; i < be->nsrvs; i++) {
		struct server *srv = &be->srvs[i];

		if (!(srv->flags & CFG_SRV_BACKUP) && server_usable(srv))
			return 1;
	}
	for (i = 0; i < be->nsrvs; i++) {
		struct server *srv = &be->srvs[i];

		if ((srv->flags & CFG_SRV_BACKUP) && server_usable(srv)) {
			*bck = srv;
			return 0;
		}
	}
	return -1;
}

static int lb_candidate(const struct server *srv, int active)
{
	return !(srv->flags & CFG_SRV_BACKUP) == !!active && server_usable(srv);
}

static enum lb_result lb_roundrobin(struct proxy *be, uint64_t now, struct server **out)
{
	struct server *best = NULL;
	int64_t total = 0;
	unsigned i;
	int usable = 0;

	for (i = 0; i < be->nsrvs; i++) {
		struct server *srv = &be->srvs[i];
		unsigned w;

		if (!lb_candidate(srv, 1))
			continue;
		usable = 1;
		w = server_eweight(srv, now);
		if (!w || !lb_server_has_slot(srv, now))
			continue;
		srv->swrr_cw += w;
		total += w;
		if (!best || srv->swrr_cw > best->swrr_cw)
			best = srv;
	}
	if (!best)
		return usable ? LB_FULL : LB_NOSRV;
	best->swrr_cw -= total;
	*out = best;
	return LB_OK;
}

/* (a->scur + a->qcur + 1) / wa < (b->scur + b->qcur + 1) / wb, without division. */
static int lc_less(const struct server *a, unsigned wa, const struct server *b, unsigned wb)
{
	uint64_t la = (uint64_t)(a->c.scur + a->c.qcur + 1) * wb;
	uint64_t lb = (uint64_t)(b->c.scur + b->c.qcur + 1) * wa;

	return la < lb;
}

static enum lb_result lb_leastconn(struct proxy *be, uint64_t now, struct server **out)
{
	struct server *best = NULL;
	unsigned bestw = 0, i, k;
	int usable = 0;

	/* Scanning from lb_next makes equal loads go round robin. */
	for (k = 0; k < be->nsrvs; k++) {
		struct server *srv;
		unsigned w;

		i = (be->lb_next + k) % be->nsrvs;
		srv = &be->srvs[i];
		if (!lb_candidate(srv, 1))
			continue;
		usable = 1;
		w = server_eweight(srv, now);
		if (!w || !lb_server_has_slot(srv, now))
			continue;
		if (!best || lc_less(srv, w, best, bestw)) {
			best = srv;
			bestw = w;
		}
	}
	if (!best)
		return usable ? LB_FULL : LB_NOSRV;
	be->lb_next = best->puid % be->nsrvs;
	*out = best;
	return LB_OK;
}

static enum lb_result lb_first(struct proxy *be, uint64_t now, struct server **out)
{
	unsigned i;
	int usable = 0;

	for (i = 0; i < be->nsrvs; i++) {
		struct server *srv = &be->srvs[i];

		if (!lb_candidate(srv, 1))
			continue;
		usable = 1;
		if (server_eweight(srv, now) && lb_server_has_slot(srv, now)) {
			*out = srv;
			return LB_OK;
		}
	}
	return usable ? LB_FULL : LB_NOSRV;
}

/* Weighted rendezvous hashing with `weight` virtual entries per server:
 * the configured weight is used (not the slowstart ramp) so that a client's
 * server does not change while a server warms up. */
static enum lb_result lb_source(struct proxy *be, uint32_t src_hash, struct server **out)
{
	struct server *best = NULL;
	uint64_t best_score = 0;
	unsigned i, k;

	for (i = 0; i < be->nsrvs; i++) {
		struct server *srv = &be->srvs[i];
		uint64_t base;

		if (!lb_candidate(srv, 1))
			continue;
		base = ((uint64_t)src_hash << 32) ^ mix64((uint64_t)srv->puid * 0x9e3779b97f4a7c15ULL);
		for (k = 0; k < srv->uweight; k++) {
			uint64_t score = mix64(base + k);

			if (!best || score > best_score) {
				best = srv;
				best_score = score;
			}
		}
	}
	if (!best)
		return LB_NOSRV;
	*out = best;
	return LB_OK;
}

enum lb_result lb_pick(struct proxy *be, uint32_t src_hash, uint64_t now, struct server **out)
{
	struct server *bck;
	unsigned i;
	int farm;

	*out = NULL;
	if (!be->nsrvs)
		return LB_NOSRV;
	for (i = 0; i < be->nsrvs; i++)
		server_refresh(&be->srvs[i], now);
	farm = lb_farm(be, &bck);
	if (farm < 0)
		return LB_NOSRV;
	if (farm == 0) {
		if (be->balance != CFG_BALANCE_SOURCE && !lb_server_has_slot(bck, now))
			return LB_FULL;
		*out = bck;
		return LB_OK;
	}
	switch (be->balance) {
	case CFG_BALANCE_LEASTCONN:
		return lb_leastconn(be, now, out);
	case CFG_BALANCE_SOURCE:
		return lb_source(be, src_hash, out);
	case CFG_BALANCE_FIRST:
		return lb_first(be, now, out);
	case CFG_BALANCE_ROUNDROBIN:
		break;
	}
	return lb_roundrobin(be, now, out);
}
