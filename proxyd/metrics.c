#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/prom.h"
#include "proxyd/loop.h"
#include "proxyd/metrics.h"
#include "proxyd/promhttp.h"
#include "proxyd/proxy.h"
#include "proxyd/stats.h"
#include "proxyd/thread.h"

/* ---- rendering ------------------------------------------------------------ */

struct fam_px {
	const char *name;
	enum prom_type type;
	const char *help;
	uint64_t (*get)(const struct px_counters *c, const struct proxy *px);
};

struct fam_srv {
	const char *name;
	enum prom_type type;
	const char *help;
	uint64_t (*get)(const struct server *srv, uint64_t now);
};

#define PXGET(field)                                                                    \
	static uint64_t px_##field(const struct px_counters *c, const struct proxy *px)  \
	{                                                                               \
		(void)px;                                                               \
		return c->field;                                                        \
	}
#define SRVGET(field)                                                           \
	static uint64_t srv_##field(const struct server *srv, uint64_t now)     \
	{                                                                       \
		(void)now;                                                      \
		return srv->c.field;                                            \
	}

PXGET(scur) PXGET(smax) PXGET(stot) PXGET(bin) PXGET(bout) PXGET(dreq) PXGET(ereq)
PXGET(econ) PXGET(eresp) PXGET(wretr) PXGET(wredis) PXGET(cli_abrt) PXGET(srv_abrt)
PXGET(conn_tot) PXGET(denied_conn) PXGET(qcur) PXGET(qmax) PXGET(req_tot) PXGET(eint)
SRVGET(scur) SRVGET(smax) SRVGET(stot) SRVGET(bin) SRVGET(bout) SRVGET(econ)
SRVGET(eresp) SRVGET(wretr) SRVGET(wredis) SRVGET(qcur) SRVGET(qmax) SRVGET(req_tot)
SRVGET(cli_abrt) SRVGET(srv_abrt) SRVGET(connect)

static uint64_t px_req_rate_max(const struct px_counters *c, const struct proxy *px)
{
	(void)c;
	return px_mtrate_max(&px->req_rate);
}

static uint64_t px_fe_limit(const struct px_counters *c, const struct proxy *px)
{
	(void)c;
	return px->maxconn;
}

static uint64_t px_up(const struct px_counters *c, const struct proxy *px)
{
	(void)c;
	return px->up ? 1 : 0;
}

static uint64_t px_active(const struct px_counters *c, const struct proxy *px)
{
	unsigned i, n = 0;

	(void)c;
	for (i = 0; i < px->nsrvs; i++)
		n += server_usable(&px->srvs[i]) != 0;
	return n;
}

static uint64_t srv_limit(const struct server *srv, uint64_t now)
{
	(void)now;
	return srv->maxconn;
}

static uint64_t srv_eff_maxconn(const struct server *srv, uint64_t now)
{
	return server_eff_maxconn(srv, now);
}

static uint64_t srv_weight(const struct server *srv, uint64_t now)
{
	return server_eweight(srv, now);
}

static uint64_t srv_up(const struct server *srv, uint64_t now)
{
	(void)now;
	return srv->op != SRV_OP_DOWN;
}

static uint64_t srv_chkfail(const struct server *srv, uint64_t now)
{
	(void)now;
	return srv->chk.failed;
}

static uint64_t srv_chkdown(const struct server *srv, uint64_t now)
{
	(void)now;
	return srv->chkdown;
}

static uint64_t srv_downtime(const struct server *srv, uint64_t now)
{
	uint64_t ms = srv->down_total;

	if (srv->op == SRV_OP_DOWN && now > srv->down_since)
		ms += now - srv->down_since;
	return ms / 1000u;
}

static const struct fam_px fe_fams[] = {
	{ "proxyd_frontend_current_sessions", PROM_GAUGE, "Current sessions.", px_scur },
	{ "proxyd_frontend_max_sessions", PROM_GAUGE, "Highest number of concurrent sessions.", px_smax },
	{ "proxyd_frontend_limit_sessions", PROM_GAUGE, "Configured session limit (maxconn).", px_fe_limit },
	{ "proxyd_frontend_sessions", PROM_COUNTER, "Sessions.", px_stot },
	{ "proxyd_frontend_connections", PROM_COUNTER, "Accepted connections.", px_conn_tot },
	{ "proxyd_frontend_denied_connections", PROM_COUNTER, "Connections refused at accept.", px_denied_conn },
	{ "proxyd_frontend_bytes_in", PROM_COUNTER, "Bytes received from clients.", px_bin },
	{ "proxyd_frontend_bytes_out", PROM_COUNTER, "Bytes sent to clients.", px_bout },
	{ "proxyd_frontend_requests_denied", PROM_COUNTER, "Requests denied by rules.", px_dreq },
	{ "proxyd_frontend_request_errors", PROM_COUNTER, "Request errors.", px_ereq },
	{ "proxyd_frontend_internal_errors", PROM_COUNTER, "Internal errors.", px_eint },
	{ "proxyd_frontend_http_requests", PROM_COUNTER, "HTTP requests (mode http).", px_req_tot },
	{ "proxyd_frontend_http_requests_rate_max", PROM_GAUGE,
	  "Highest number of HTTP requests in one second (mode http).", px_req_rate_max },
};

static const struct fam_px be_fams[] = {
	{ "proxyd_backend_current_sessions", PROM_GAUGE, "Current sessions, queued ones included.", px_scur },
	{ "proxyd_backend_max_sessions", PROM_GAUGE, "Highest number of concurrent sessions.", px_smax },
	{ "proxyd_backend_current_queue", PROM_GAUGE, "Sessions queued for any server.", px_qcur },
	{ "proxyd_backend_max_queue", PROM_GAUGE, "Highest backend queue length.", px_qmax },
	{ "proxyd_backend_sessions", PROM_COUNTER, "Sessions.", px_stot },
	{ "proxyd_backend_bytes_in", PROM_COUNTER, "Bytes received from clients.", px_bin },
	{ "proxyd_backend_bytes_out", PROM_COUNTER, "Bytes sent to clients.", px_bout },
	{ "proxyd_backend_connection_errors", PROM_COUNTER, "Failed connections to servers.", px_econ },
	{ "proxyd_backend_response_errors", PROM_COUNTER, "Response errors.", px_eresp },
	{ "proxyd_backend_retries", PROM_COUNTER, "Connection retries.", px_wretr },
	{ "proxyd_backend_redispatches", PROM_COUNTER, "Redispatches to another server.", px_wredis },
	{ "proxyd_backend_client_aborts", PROM_COUNTER, "Transfers aborted by the client.", px_cli_abrt },
	{ "proxyd_backend_server_aborts", PROM_COUNTER, "Transfers aborted by the server.", px_srv_abrt },
	{ "proxyd_backend_up", PROM_GAUGE, "1 if the backend has a usable server.", px_up },
	{ "proxyd_backend_active_servers", PROM_GAUGE, "Servers usable for new sessions.", px_active },
	{ "proxyd_backend_http_requests", PROM_COUNTER, "HTTP requests (mode http).", px_req_tot },
};

static const struct fam_srv srv_fams[] = {
	{ "proxyd_server_current_sessions", PROM_GAUGE, "Sessions holding a slot.", srv_scur },
	{ "proxyd_server_max_sessions", PROM_GAUGE, "Highest number of concurrent sessions.", srv_smax },
	{ "proxyd_server_limit_sessions", PROM_GAUGE, "maxconn in force (0: no limit).", srv_limit },
	{ "proxyd_server_effective_maxconn", PROM_GAUGE,
	  "Connection limit now: dynamic maxconn and slowstart applied (0: no limit).", srv_eff_maxconn },
	{ "proxyd_server_current_queue", PROM_GAUGE, "Sessions queued for this server.", srv_qcur },
	{ "proxyd_server_max_queue", PROM_GAUGE, "Highest queue length.", srv_qmax },
	{ "proxyd_server_sessions", PROM_COUNTER, "Sessions.", srv_stot },
	{ "proxyd_server_connection_attempts", PROM_COUNTER, "Connection attempts.", srv_connect },
	{ "proxyd_server_bytes_in", PROM_COUNTER, "Bytes received from clients.", srv_bin },
	{ "proxyd_server_bytes_out", PROM_COUNTER, "Bytes sent to clients.", srv_bout },
	{ "proxyd_server_connection_errors", PROM_COUNTER, "Failed connections.", srv_econ },
	{ "proxyd_server_response_errors", PROM_COUNTER, "Response errors.", srv_eresp },
	{ "proxyd_server_retries", PROM_COUNTER, "Connection retries.", srv_wretr },
	{ "proxyd_server_redispatches", PROM_COUNTER, "Redispatches away from this server.", srv_wredis },
	{ "proxyd_server_client_aborts", PROM_COUNTER, "Transfers aborted by the client.", srv_cli_abrt },
	{ "proxyd_server_server_aborts", PROM_COUNTER, "Transfers aborted by the server.", srv_srv_abrt },
	{ "proxyd_server_up", PROM_GAUGE, "1 unless the server is DOWN (checks or maintenance).", srv_up },
	{ "proxyd_server_weight", PROM_GAUGE, "Effective weight now.", srv_weight },
	{ "proxyd_server_check_failures", PROM_COUNTER, "Failed checks while not DOWN.", srv_chkfail },
	{ "proxyd_server_check_down_transitions", PROM_COUNTER, "UP to DOWN transitions.", srv_chkdown },
	{ "proxyd_server_downtime_seconds", PROM_COUNTER, "Time spent DOWN.", srv_downtime },
	{ "proxyd_server_http_requests", PROM_COUNTER, "HTTP requests (mode http).", srv_req_tot },
};

static const char *const hrsp_codes[6] = {
	",code=\"1xx\"", ",code=\"2xx\"", ",code=\"3xx\"", ",code=\"4xx\"", ",code=\"5xx\"",
	",code=\"other\"",
};

static const enum srv_status srv_states[] = {
	SRV_STATUS_DOWN, SRV_STATUS_STARTING, SRV_STATUS_UP, SRV_STATUS_DRAIN, SRV_STATUS_MAINT,
};

static struct {
	struct promhttp *http;
	uint64_t last_us;
	uint64_t scrapes;
	size_t last_len;        /* size of the last exposition: reserved up front */
} MX;

uint64_t metrics_last_render_us(void)
{
	return MX.last_us;
}

/* Labels rendered once per scrape into one buffer: px[i] is the offset
 * of proxy i's, srv[k] of the k-th server's in proxy order. */
struct labels {
	struct sbuf buf;
	size_t *px;
	size_t *srv;
};

static int labels_build(struct labels *l)
{
	unsigned i, j, k = 0, nsrv = 0;

	for (i = 0; i < proxy_count(); i++)
		nsrv += proxy_at(i)->nsrvs;
	l->px = calloc(proxy_count() + 1, sizeof(*l->px));
	l->srv = calloc(nsrv + 1, sizeof(*l->srv));
	if (!l->px || !l->srv)
		return -1;
	for (i = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);

		l->px[i] = l->buf.len;
		if (prom_labels(&l->buf, (const char *[]){ "proxy", px->name, NULL }) == -1)
			return -1;
		sb_putc(&l->buf, '\0');
		for (j = 0; j < px->nsrvs; j++) {
			l->srv[k++] = l->buf.len;
			if (prom_labels(&l->buf, (const char *[]){ "proxy", px->name, "server",
								   px->srvs[j].name, NULL }) == -1)
				return -1;
			sb_putc(&l->buf, '\0');
		}
	}
	return l->buf.err ? -1 : 0;
}

static void labels_free(struct labels *l)
{
	free(l->srv);
	free(l->px);
	sb_free(&l->buf);
}

/* One sample with one more label, already rendered (`,name="value"`),
 * after the object's labels. */
static void sample_extra(struct prom *p, struct sbuf *tmp, const char *base, const char *extra,
			 uint64_t v)
{
	sb_reset(tmp);
	sb_puts(tmp, base);
	sb_puts(tmp, extra);
	prom_u64_r(p, sb_cstr(tmp), v);
}

static void render_px(struct prom *p, const struct labels *l, unsigned cap)
{
	const struct fam_px *fams = cap == CFG_CAP_FE ? fe_fams : be_fams;
	size_t nfams = cap == CFG_CAP_FE ? sizeof(fe_fams) / sizeof(fe_fams[0])
					 : sizeof(be_fams) / sizeof(be_fams[0]);
	struct sbuf tmp;
	size_t f;
	unsigned i, c;

	for (f = 0; f < nfams; f++) {
		prom_family(p, fams[f].name, fams[f].type, fams[f].help);
		for (i = 0; i < proxy_count(); i++) {
			const struct proxy *px = proxy_at(i);

			if (px->cap & cap)
				prom_u64_r(p, l->buf.p + l->px[i],
					   fams[f].get(cap == CFG_CAP_FE ? &px->fe : &px->be, px));
		}
	}
	sb_init(&tmp);
	prom_family(p, cap == CFG_CAP_FE ? "proxyd_frontend_http_responses"
					  : "proxyd_backend_http_responses",
		    PROM_COUNTER, "HTTP responses by status class (mode http).");
	for (i = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);
		const struct px_counters *pc = cap == CFG_CAP_FE ? &px->fe : &px->be;

		if (!(px->cap & cap) || px->mode != CFG_MODE_HTTP)
			continue;
		for (c = 0; c < 6; c++)
			sample_extra(p, &tmp, l->buf.p + l->px[i], hrsp_codes[c], pc->hrsp[c]);
	}
	sb_free(&tmp);
}

static void render_srv(struct prom *p, const struct labels *l, uint64_t now)
{
	char state_labels[sizeof(srv_states) / sizeof(srv_states[0])][32];
	struct sbuf tmp, lab;
	size_t f;
	unsigned i, j, k, s, c;

	for (s = 0; s < sizeof(srv_states) / sizeof(srv_states[0]); s++)
		snprintf(state_labels[s], sizeof(state_labels[s]), ",state=\"%s\"",
			 server_status_name(srv_states[s]));

	for (f = 0; f < sizeof(srv_fams) / sizeof(srv_fams[0]); f++) {
		prom_family(p, srv_fams[f].name, srv_fams[f].type, srv_fams[f].help);
		for (i = 0, k = 0; i < proxy_count(); i++) {
			const struct proxy *px = proxy_at(i);

			for (j = 0; j < px->nsrvs; j++, k++)
				prom_u64_r(p, l->buf.p + l->srv[k], srv_fams[f].get(&px->srvs[j], now));
		}
	}
	sb_init(&tmp);
	sb_init(&lab);
	prom_family(p, "proxyd_server_status", PROM_GAUGE,
		    "Server state as operators see it: 1 for the current state, 0 for the others.");
	for (i = 0, k = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);

		for (j = 0; j < px->nsrvs; j++, k++) {
			enum srv_status st = server_status(&px->srvs[j]);

			for (s = 0; s < sizeof(srv_states) / sizeof(srv_states[0]); s++)
				sample_extra(p, &tmp, l->buf.p + l->srv[k], state_labels[s],
					     st == srv_states[s]);
		}
	}
	prom_family(p, "proxyd_server_check_status", PROM_GAUGE,
		    "Status of the last health check as the state label; servers with checks only.");
	for (i = 0, k = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);

		for (j = 0; j < px->nsrvs; j++, k++)
			if (px->srvs[j].chk.configured) {
				sb_reset(&lab);
				sb_putc(&lab, ',');
				prom_labels(&lab, (const char *[]){ "state",
					    stats_check_status_name(px->srvs[j].chk.status), NULL });
				sample_extra(p, &tmp, l->buf.p + l->srv[k], sb_cstr(&lab), 1);
			}
	}
	prom_family(p, "proxyd_server_http_responses", PROM_COUNTER,
		    "HTTP responses by status class (mode http).");
	for (i = 0, k = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);

		for (j = 0; j < px->nsrvs; j++, k++) {
			if (px->mode != CFG_MODE_HTTP)
				continue;
			for (c = 0; c < 6; c++)
				sample_extra(p, &tmp, l->buf.p + l->srv[k], hrsp_codes[c],
					     px->srvs[j].c.hrsp[c]);
		}
	}
	sb_free(&lab);
	sb_free(&tmp);
}

static void render_process(struct prom *p, uint64_t now)
{
	const struct proxy_info *pi = &proxy_info;

	prom_family(p, "proxyd_process_start_time_seconds", PROM_GAUGE,
		    "Start time, seconds since the epoch.");
	prom_dbl(p, NULL, (double)pi->start_real / 1000.0);
	prom_family(p, "proxyd_process_uptime_seconds", PROM_GAUGE, "Time since start.");
	prom_dbl(p, NULL, now >= pi->start_mono ? (double)(now - pi->start_mono) / 1000.0 : 0.0);
	prom_family(p, "proxyd_process_draining", PROM_GAUGE,
		    "1 once a graceful stop has begun (sessions are served to their end).");
	prom_u64(p, NULL, pi->stopping ? 1 : 0);
	prom_family(p, "proxyd_process_current_connections", PROM_GAUGE, "Current client connections.");
	prom_u64(p, NULL, pi->curconn);
	prom_family(p, "proxyd_process_max_connections", PROM_GAUGE, "Global maxconn in force.");
	prom_u64(p, NULL, pi->maxconn);
	prom_family(p, "proxyd_process_connections", PROM_COUNTER, "Client connections accepted.");
	prom_u64(p, NULL, pi->cumconn);
	prom_family(p, "proxyd_process_max_fds", PROM_GAUGE, "File descriptor limit.");
	prom_u64(p, NULL, pi->maxsock);
	prom_family(p, "proxyd_process_build_info", PROM_GAUGE, "Always 1; the version as a label.");
	prom_u64(p, (const char *[]){ "version", PACKAGE_VERSION, NULL }, 1);
	prom_family(p, "proxyd_exporter_scrapes", PROM_COUNTER, "Scrapes answered, this one included.");
	prom_u64(p, NULL, MX.scrapes);
	prom_family(p, "proxyd_exporter_render_seconds", PROM_GAUGE,
		    "Event-loop time the previous scrape's rendering took.");
	prom_dbl(p, NULL, (double)MX.last_us / 1e6);
}

int metrics_render(struct sbuf *out, uint64_t now, char *err, size_t errlen)
{
	struct labels l = { .px = NULL, .srv = NULL };
	struct prom p;
	uint64_t t0 = clock_mono_us();
	int rc = -1;

	MX.scrapes++;
	sb_init(&l.buf);
	prom_init(&p, out);
	sb_reserve(out, MX.last_len + MX.last_len / 8);
	if (labels_build(&l) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	render_process(&p, now);
	render_px(&p, &l, CFG_CAP_FE);
	render_px(&p, &l, CFG_CAP_BE);
	render_srv(&p, &l, now);
	rc = prom_end(&p, err, errlen);
	MX.last_len = out->len;
out:
	if (rc == -1)
		prom_end(&p, NULL, 0);
	labels_free(&l);
	MX.last_us = clock_mono_us() - t0;
	return rc;
}

/* ---- the HTTP side ---------------------------------------------------------- */

static int metrics_scrape(struct sbuf *out, void *arg, char *err, size_t errlen)
{
	int rc;

	(void)arg;
	thread_isolate();
	rc = metrics_render(out, loop_now(), err, errlen);
	thread_release();
	log_debug("event=prometheus_scrape bytes=%zu render_us=%llu", out->len,
		  (unsigned long long)MX.last_us);
	return rc;
}

int metrics_start(const struct cfg *c, char *err, size_t errlen)
{
	const struct cfg_global *g = &c->global;
	const struct promhttp_conf conf = {
		.addr = &g->prom_addr,
		.addrlen = g->prom_addrlen,
		.text = g->prom_text,
		.reuseport = 1,
		.max_clients = METRICS_MAX_CLIENTS,
		.max_body = METRICS_MAX_BODY,
		.render = metrics_scrape,
		.arg = NULL,
	};

	MX.http = NULL;
	if (!g->prom_text)
		return 0;
	MX.http = promhttp_start(&conf, err, errlen);
	return MX.http ? 0 : -1;
}

void metrics_close_listener(void)
{
	promhttp_close_listener(MX.http);
}

void metrics_stop(void)
{
	promhttp_stop(MX.http);
	MX.http = NULL;
}
