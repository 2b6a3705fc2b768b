#include "config.h"

#include <stdio.h>

#include "common/prom.h"
#include "proxyd/promhttp.h"
#include "supervisor/act.h"
#include "supervisor/detect.h"
#include "supervisor/svmetrics.h"

/* ---- rendering ------------------------------------------------------------ */

static void render_gens(struct prom *p, const struct svm_data *d)
{
	prom_family(p, "proxysv_generations", PROM_GAUGE, "proxyd generations alive, by state.");
	prom_u64(p, (const char *[]){ "state", "serving", NULL }, d->gens_serving);
	prom_u64(p, (const char *[]){ "state", "draining", NULL }, d->gens_draining);
	prom_family(p, "proxysv_current_generation", PROM_GAUGE,
		    "Number of the serving generation (0: none).");
	prom_u64(p, NULL, d->current_gen > 0 ? (uint64_t)d->current_gen : 0);
	prom_family(p, "proxysv_generation_start_time_seconds", PROM_GAUGE,
		    "Start time of the serving generation, seconds since the epoch.");
	prom_dbl(p, NULL, d->current_gen_start_s);
	prom_family(p, "proxysv_reloads", PROM_COUNTER, "Reloads attempted.");
	prom_u64(p, NULL, d->reloads);
	prom_family(p, "proxysv_reloads_failed", PROM_COUNTER,
		    "Reloads that failed (configuration invalid, new generation not ready).");
	prom_u64(p, NULL, d->reloads_failed);
	prom_family(p, "proxysv_generation_crashes", PROM_COUNTER,
		    "proxyd generations that exited abnormally.");
	prom_u64(p, NULL, d->crashes);
}

static void render_sockets(struct prom *p, const struct svm_data *d)
{
	char port[16];
	size_t i;

	prom_family(p, "proxysv_listener_accept_queue", PROM_GAUGE,
		    "Connections waiting in the accept queue (ss Recv-Q of the listening socket).");
	for (i = 0; i < d->nlis; i++)
		prom_u64(p, (const char *[]){ "listener", d->lis[i].name, NULL }, d->lis[i].queue);
	prom_family(p, "proxysv_listener_backlog", PROM_GAUGE,
		    "Backlog of the listening socket (ss Send-Q).");
	for (i = 0; i < d->nlis; i++)
		prom_u64(p, (const char *[]){ "listener", d->lis[i].name, NULL }, d->lis[i].backlog);
	prom_family(p, "proxysv_listener_sockets", PROM_GAUGE,
		    "Listening sockets on the address (more than 1: a duplicate listener).");
	for (i = 0; i < d->nlis; i++)
		prom_u64(p, (const char *[]){ "listener", d->lis[i].name, NULL }, d->lis[i].sockets);
	prom_family(p, "proxysv_half_closed_sockets", PROM_GAUGE,
		    "Half-closed sockets of the generations by TCP state and local port.");
	for (i = 0; i < d->nhalf; i++) {
		snprintf(port, sizeof(port), "%u", d->half[i].port);
		prom_u64(p, (const char *[]){ "state", d->half[i].state, "port", port, NULL },
			 d->half[i].n);
	}
}

static void render_incidents(struct prom *p, const struct svm_data *d)
{
	unsigned k, a, r;

	prom_family(p, "proxysv_incidents_open", PROM_GAUGE, "Incidents open now, by kind.");
	for (k = 0; k < DK_NKINDS; k++)
		prom_u64(p, (const char *[]){ "kind", detect_kind_name(k), NULL }, d->inc_open[k]);
	prom_family(p, "proxysv_incidents", PROM_COUNTER, "Incidents opened, by kind.");
	for (k = 0; k < DK_NKINDS; k++)
		prom_u64(p, (const char *[]){ "kind", detect_kind_name(k), NULL }, d->inc_total[k]);
	prom_family(p, "proxysv_actions", PROM_COUNTER,
		    "Actions decided on incidents, by action, incident kind and result.");
	for (a = 0; a < ACT_NKINDS; a++)
		for (k = 0; k < DK_NKINDS; k++)
			for (r = 0; r < SVM_NRESULTS; r++)
				prom_u64(p, (const char *[]){ "action", act_name(a),
					 "kind", detect_kind_name(k),
					 "result", act_result_name(r), NULL },
					 d->actions ? d->actions[a][k][r] : 0);
}

static void render_self(struct prom *p, const struct svm_data *d)
{
	prom_family(p, "proxysv_tick_duration_seconds", PROM_GAUGE,
		    "How long the last detection tick took.");
	prom_dbl(p, NULL, d->tick_s);
	prom_family(p, "proxysv_tick_duration_seconds_max", PROM_GAUGE,
		    "Longest detection tick since start.");
	prom_dbl(p, NULL, d->tick_max_s);
	prom_family(p, "proxysv_ticks", PROM_COUNTER, "Detection ticks run.");
	prom_u64(p, NULL, d->ticks);
	prom_family(p, "proxysv_store_errors", PROM_COUNTER, "Failed incident store calls.");
	prom_u64(p, NULL, d->store_errors);
	prom_family(p, "proxysv_store_dropped_writes", PROM_COUNTER,
		    "Store writes dropped (store busy, full or failing).");
	prom_u64(p, NULL, d->store_dropped);
	prom_family(p, "proxysv_process_start_time_seconds", PROM_GAUGE,
		    "proxysv's start time, seconds since the epoch.");
	prom_dbl(p, NULL, d->start_s);
	prom_family(p, "proxysv_build_info", PROM_GAUGE, "Always 1; the version as a label.");
	prom_u64(p, (const char *[]){ "version", PACKAGE_VERSION, NULL }, 1);
}

int svmetrics_render(struct sbuf *out, const struct svm_data *d, char *err, size_t errlen)
{
	struct prom p;

	prom_init(&p, out);
	render_gens(&p, d);
	render_sockets(&p, d);
	render_incidents(&p, d);
	render_self(&p, d);
	return prom_end(&p, err, errlen);
}

/* ---- the HTTP side ---------------------------------------------------------- */

static struct promhttp *svm_http;

int svmetrics_start(const struct sockaddr_storage *ss, socklen_t sslen, const char *text,
		    svm_render_fn fn, void *arg, char *err, size_t errlen)
{
	const struct promhttp_conf conf = {
		.addr = ss,
		.addrlen = sslen,
		.text = text,
		.reuseport = 0,
		.max_clients = SVM_MAX_CLIENTS,
		.max_body = 0,
		.render = fn,
		.arg = arg,
	};

	svm_http = promhttp_start(&conf, err, errlen);
	return svm_http ? 0 : -1;
}

void svmetrics_stop(void)
{
	promhttp_stop(svm_http);
	svm_http = NULL;
}
