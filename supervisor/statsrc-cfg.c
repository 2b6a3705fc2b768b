/* The effective server limits of a stock HAProxy, computed from its
 * configuration (apart from statsrc.c so that the detectors do not pull the
 * configuration library in). */
#include "config.h"

#include <string.h>

#include "proxyd/cfg.h"
#include "supervisor/statsrc.h"

size_t stats_view_apply_cfg(struct stats_view *v, const struct cfg *c)
{
	size_t i, k, n = 0;

	for (i = 0; i < v->len; i++) {
		struct stats_row *r = &v->rows[i];
		const struct stats_row *be;
		const struct cfg_proxy *px;
		const struct cfg_server *srv = NULL;
		unsigned maxconn;
		int pi;

		if (r->type != ST_SERVER || r->eff_src != SE_NONE)
			continue;
		pi = cfg_proxy_find(c, r->pxname, CFG_CAP_BE);
		if (pi < 0)
			continue;
		px = &c->proxies[pi];
		for (k = 0; k < px->nservers; k++)
			if (px->servers[k].name && strcmp(px->servers[k].name, r->svname) == 0)
				srv = &px->servers[k];
		if (!srv)
			continue;
		maxconn = r->slim >= 0 ? (unsigned)r->slim : srv->maxconn;
		r->minconn = srv->minconn;
		r->fullconn = px->fullconn;
		if (maxconn == 0) {
			r->eff_src = SE_UNLIMITED;
			r->eff_maxconn = -1;
		} else {
			be = stats_backend_row(v, r->pxname);
			r->eff_maxconn = cfg_srv_dynmaxconn(srv->minconn, maxconn, px->fullconn,
							    be && be->scur > 0 ?
							    (unsigned)be->scur : 0);
			r->eff_src = SE_COMPUTED;
		}
		n++;
	}
	return n;
}
