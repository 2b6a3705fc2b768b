/*
 * proxysv's detection pipeline (svtick.h).
 *
 * Stats sockets: every `stats socket` of the configuration and every
 * `watch-stats PATH` of the supervisor section is read each tick with one
 * round trip (STATS_READ_CMD) and a short deadline, so a stopped proxy
 * costs at most that deadline. A generation's socket path is shared by all
 * generations (each new one takes the path over), so the view is the
 * newest generation's; show info's Pid says whose it is.
 *
 * Findings about the supervisor's own draining generations
 * (stale_generation) are kept only past their drain deadline, or when the
 * policy's stale-kill reason already holds: a generation draining within
 * its deadline is the normal course of a reload, not an incident.
 *
 * Socket owners: a tick reads the fds of the supervisor and its
 * generations in full, other processes' incrementally (snapshot_take with
 * scan_pids): a budget of fd entries a tick, a pass over every process
 * every tenth tick at most, and a hunt, processes not read yet and small
 * ones first, for any listening or half-closed socket whose owner is not
 * known. Owners found stay while the inode is dumped and the process lives.
 * So the owners of listening sockets (duplicate_listener, stopped owners)
 * and of half-closed sockets are those a full scan would give, once the
 * hunt has read their process: a tick or two for a small process, more for
 * one with many fds. Until then such a socket counts under pid 0:
 * half_close_buildup's "pid:0" finding can count it, which the hysteresis
 * (K ticks) absorbs for short hunts. A foreign established socket that
 * appeared since the sweep last read its process counts under pid 0 until
 * the sweep gets there; no detector reports pid 0 for states other than
 * the half-closed ones.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "probes/snapshot.h"
#include "probes/sockdiag.h"
#include "proxyd/cfg.h"
#include "supervisor/act.h"
#include "supervisor/detect.h"
#include "supervisor/incident.h"
#include "supervisor/statsrc.h"
#include "supervisor/store.h"
#include "supervisor/svtick.h"

#define SVT_STATS_TIMEOUT_MS 250u
#define SVT_MAX_RECORDS 16

static void svt_paths_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int svt_paths_add(char ***v, size_t *n, const char *p)
{
	char **nv;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], p) == 0)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	*v = nv;
	nv[*n] = strdup(p);
	if (!nv[*n])
		return -1;
	(*n)++;
	return 0;
}

int svtick_configure(struct svtick *t, const struct cfg *c, char *err, size_t errlen)
{
	struct sv_policy np;
	char **paths = NULL;
	size_t npaths = 0, i;

	policy_init(&np);
	if (policy_load(&np, c, err, errlen) == -1) {
		policy_free(&np);
		return -1;
	}
	for (i = 0; i < c->global.nstats; i++)
		if (c->global.stats[i].path && svt_paths_add(&paths, &npaths,
							     c->global.stats[i].path) == -1)
			goto nomem;
	for (i = 0; i < np.nwatch; i++)
		if (svt_paths_add(&paths, &npaths, np.watch_stats[i]) == -1)
			goto nomem;
	policy_free(&t->pol);
	t->pol = np;
	svt_paths_free(t->stats_paths, t->nstats);
	t->stats_paths = paths;
	t->nstats = npaths;
	inc_tracker_reset_params(&t->tr);
	policy_apply_tracker(&t->pol, &t->tr);
	/* The actor keeps its history and pending kills; only the policy changes. */
	t->act.pol = t->pol.act;
	cfg_diag_free(&t->lint);
	cfg_diag_init(&t->lint);
	cfg_lint(c, &t->lint);
	return 0;
nomem:
	svt_paths_free(paths, npaths);
	policy_free(&np);
	snprintf(err, errlen, "out of memory");
	errno = ENOMEM;
	return -1;
}

int svtick_init(struct svtick *t, const struct cfg *c, struct sockdiag *sd, char *err,
		size_t errlen)
{
	struct act_ops ops;
	struct act_policy p;

	memset(t, 0, sizeof(*t));
	sb_init(&t->scratch);
	cfg_diag_init(&t->lint);
	inc_tracker_init(&t->tr);
	policy_init(&t->pol);
	act_policy_defaults(&p);
	act_ops_system(&ops, sd);
	actor_init(&t->act, &p, &ops);
	if (svtick_configure(t, c, err, errlen) == -1) {
		svtick_free(t);
		return -1;
	}
	return 0;
}

static void svt_views_free(struct stats_view *v, size_t cap)
{
	for (size_t i = 0; i < cap; i++)
		stats_view_free(&v[i]);
	free(v);
}

void svtick_free(struct svtick *t)
{
	actor_free(&t->act);
	inc_tracker_free(&t->tr);
	svt_views_free(t->views, t->cap_views);
	svt_views_free(t->prev_views, t->cap_prev);
	svt_paths_free(t->view_paths, t->cap_paths);
	svt_paths_free(t->stats_paths, t->nstats);
	cfg_diag_free(&t->lint);
	policy_free(&t->pol);
	sb_free(&t->scratch);
	memset(t, 0, sizeof(*t));
}

static int svt_seed_cb(const struct store_incident *inc, void *arg)
{
	struct svtick *t = arg;
	enum detect_kind k = inc_kind_parse(inc->kind);

	if (k == DK_NKINDS || k == DK_RELOAD_FAILED || k == DK_GENERATION_CRASH)
		return 0;
	if (inc_tracker_seed(&t->tr, k, inc->subject, inc->id, inc->peak,
			     (uint64_t)inc->opened_ms) == -1)
		return 1;
	return 0;
}

int svtick_seed(struct svtick *t, struct store *st)
{
	return store_open_incidents(st, svt_seed_cb, t);
}

void svtick_store_dropped(struct svtick *t)
{
	inc_tracker_forget_ids(&t->tr);
}

/* ---- stats ---- */

static const struct svt_gen *svt_gen_of(const struct svt_in *in, pid_t pid)
{
	for (size_t i = 0; i < in->ngens; i++)
		if (in->gens[i].pid == pid && in->gens[i].live)
			return &in->gens[i];
	return NULL;
}

static void svt_stats(struct svtick *t, const struct svt_in *in)
{
	struct stats_view *sv;
	char **sp;
	size_t n = 0;

	/* The current views become the previous ones. */
	sv = t->prev_views;
	t->prev_views = t->views;
	t->views = sv;
	n = t->cap_prev;
	t->cap_prev = t->cap_views;
	t->cap_views = n;
	t->nprev = t->nviews;
	t->nviews = 0;
	if (t->cap_views < t->nstats) {
		sv = realloc(t->views, t->nstats * sizeof(*sv));
		if (!sv)
			return;
		memset(sv + t->cap_views, 0, (t->nstats - t->cap_views) * sizeof(*sv));
		t->views = sv;
		t->cap_views = t->nstats;
	}
	if (t->cap_paths < t->nstats) {
		sp = realloc(t->view_paths, t->nstats * sizeof(*sp));
		if (!sp)
			return;
		memset(sp + t->cap_paths, 0, (t->nstats - t->cap_paths) * sizeof(*sp));
		t->view_paths = sp;
		t->cap_paths = t->nstats;
	}
	/* view_paths[i] is the socket of views[i], written as each is read. */
	for (size_t i = 0; i < t->nstats; i++) {
		struct stats_view *v = &t->views[t->nviews];
		const struct svt_gen *g;
		char err[160];

		stats_view_reset(v);
		v->pid = 0;
		v->gen = 0;
		if (stats_read(t->stats_paths[i], SVT_STATS_TIMEOUT_MS, v, &t->scratch, err,
			       sizeof(err)) == -1) {
			t->stats_errors++;
			if (strcmp(err, t->last_stats_error))
				log_warnx("event=stats_read_failed err=\"%s\"", err);
			snprintf(t->last_stats_error, sizeof(t->last_stats_error), "%s", err);
			continue;
		}
		t->last_stats_error[0] = '\0';
		v->t_mono_ms = clock_mono_ms();
		g = svt_gen_of(in, v->pid);
		v->gen = g ? g->gen : 0;
		free(t->view_paths[t->nviews]);
		t->view_paths[t->nviews] = strdup(t->stats_paths[i]);
		t->nviews++;
	}
}

/* The socket a process's view was read from, or NULL. */
static const char *svt_stats_path_of(const struct svtick *t, pid_t pid)
{
	for (size_t i = 0; i < t->nviews; i++)
		if (t->views[i].pid == pid && pid > 0)
			return t->view_paths[i];
	return NULL;
}

/* ---- findings ---- */

/* Drops findings the supervisor's own state explains (see the top). */
static void svt_filter(struct svtick *t, const struct svt_in *in, struct finding_list *fl)
{
	size_t i, w = 0;

	for (i = 0; i < fl->len; i++) {
		struct finding *f = &fl->v[i];
		const struct svt_gen *g = svt_gen_of(in, f->pid);
		int keep = 1;

		if (f->kind == DK_STALE_GENERATION && g && !g->past_deadline) {
			struct act_target at = { .own = 1, .gen = g->gen };
			char why[160];

			keep = t->pol.act.stale_reason != ASR_DEADLINE && in->cur &&
			       act_stale_reason_ok(&t->pol.act, in->cur, f->pid, &at, why,
						   sizeof(why));
		}
		if (keep) {
			fl->v[w++] = *f;
		} else {
			free(f->summary);
			free(f->detail);
			free(f->evidence);
		}
	}
	fl->len = w;
}

static void svt_detect(struct svtick *t, const struct svt_in *in, struct finding_list *fl)
{
	struct detect_stats st = { t->views, t->nviews, t->prev_views, t->nprev };
	int rc = 0;

	struct detect_opts o = t->pol.det;

	o.half_close_views = &st;
	if (in->cur) {
		rc |= detect_run(in->prev, in->cur, &o, fl);
		rc |= detect_lossy_peer(in->prev, in->cur, &t->pol.det, fl);
	}
	rc |= detect_run_stats(in->cur, &st, &t->pol.det, fl);
	rc |= detect_config_lint(&t->lint, &t->pol.det, fl);
	if (rc)
		log_warnx("event=detect_failed err=\"out of memory\"");
	svt_filter(t, in, fl);
}

/* ---- store and actions ---- */

/* kind: the incident's, DK_NKINDS for the second half of a kill. */
static void svt_records(struct svtick *t, const struct svt_in *in, enum detect_kind kind,
			int64_t id, const struct act_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (kind < DK_NKINDS && (unsigned)r[i].action < ACT_NKINDS &&
		    (unsigned)r[i].result < SVT_NRESULTS)
			t->act_count[r[i].action][kind][r[i].result]++;
		log_info("event=action action=%s target=%s dry_run=%d result=%s incident=%" PRId64
			 "%s%s%s", act_name(r[i].action), r[i].target, r[i].dry_run,
			 act_result_name(r[i].result), id, r[i].error[0] ? " detail=\"" : "",
			 r[i].error, r[i].error[0] ? "\"" : "");
		t->actions++;
		if (in->store && store_action_add(in->store, id, (int64_t)in->now_ms,
						  act_name(r[i].action), r[i].target, r[i].dry_run,
						  act_result_name(r[i].result),
						  r[i].error[0] ? r[i].error : NULL) == -1)
			log_warnx("event=store_error what=action");
	}
}

static void svt_events(struct svtick *t, const struct svt_in *in, const struct finding_list *fl)
{
	struct act_record rec[SVT_MAX_RECORDS];
	size_t n;

	for (size_t i = 0; i < t->tr.nev; i++) {
		const struct inc_event *ev = &t->tr.ev[i];
		struct inc_entry *e = &t->tr.v[ev->entry];
		const char *kind = detect_kind_name(e->kind);
		const struct finding *f = ev->finding < fl->len ? &fl->v[ev->finding] : NULL;
		const struct svt_gen *g = f ? svt_gen_of(in, f->pid) : NULL;

		if (ev->type == IE_RESOLVED) {
			log_info("event=incident_resolved kind=%s subject=%s id=%" PRId64, kind,
				 e->subject, e->id);
			/* ENOENT: resolved already (the supervisor resolves the
			 * incidents it records itself when their cause ends). */
			if (in->store && e->id > 0 &&
			    store_incident_resolve(in->store, e->id, (int64_t)in->now_ms) == -1 &&
			    errno != ENOENT)
				log_warnx("event=store_error what=incident_resolve");
			continue;
		}
		if (!f)
			continue;
		if (ev->type == IE_OPENED) {
			struct store_incident_new nw = {
				.kind = kind, .severity = detect_severity_name(f->severity),
				.subject = f->subject, .t_ms = (int64_t)in->now_ms, .value = f->value,
				.generation = g ? g->gen : 0, .pid = f->pid, .port = f->port,
				.summary = f->summary, .evidence = f->evidence,
			};

			if (e->kind < DK_NKINDS)
				t->inc_opened[e->kind]++;
			log_info("event=incident_opened kind=%s severity=%s subject=%s summary=\"%s\"",
				 kind, nw.severity, f->subject, f->summary);
			if (in->store) {
				int64_t id = store_incident_open(in->store, &nw);

				if (id == -1)
					log_warnx("event=store_error what=incident_open");
				else
					e->id = id;
			}
		} else if (in->store && e->id > 0 &&
			   store_incident_update(in->store, e->id, (int64_t)in->now_ms, f->value,
						 detect_severity_name(f->severity), f->summary,
						 f->evidence) == -1) {
			log_warnx("event=store_error what=incident_update");
		}
		{
			struct act_target at = {
				.own = g != NULL, .active = g && g->active,
				.past_deadline = g && g->past_deadline, .gen = g ? g->gen : 0,
				.stats_path = svt_stats_path_of(t, f->pid),
			};

			n = act_apply(&t->act, f, &at, in->cur, in->now_ms, ev->type == IE_OPENED,
				      rec, SVT_MAX_RECORDS);
			svt_records(t, in, e->kind, e->id, rec, n);
		}
	}
	n = act_poll(&t->act, in->now_ms, rec, SVT_MAX_RECORDS);
	svt_records(t, in, DK_NKINDS, 0, rec, n);
}

/* Samples: accept queue per listener, half-closed sockets per listening
 * port, sessions per generation. */
static void svt_samples(const struct svt_in *in)
{
	const struct snapshot *s = in->cur;
	char subj[96], a[80];
	int64_t now = (int64_t)in->now_ms;

	if (!in->store || !s)
		return;
	for (size_t i = 0; i < s->nlisteners; i++) {
		const struct snap_listener *l = &s->listeners[i];
		uint32_t q = 0;

		for (size_t k = 0; k < l->nlsocks; k++)
			q += s->lsocks[l->first_lsock + k].rqueue;
		snprintf(subj, sizeof(subj), "tcp:%s",
			 sd_addr_fmt(l->family, l->addr, l->port, a, sizeof(a)));
		store_sample_add(in->store, now, subj, "accept_queue", q);
	}
	for (size_t p = 0; p < in->nlisten_ports; p++) {
		uint32_t half = 0;

		for (size_t i = 0; i < s->socks.len; i++) {
			const struct sd_sock *k = &s->socks.socks[i];

			if (k->lport == in->listen_ports[p] &&
			    (SD_STATE_BIT(k->state) & SD_STATES_HALF_CLOSED))
				half++;
		}
		snprintf(subj, sizeof(subj), "port:%u", in->listen_ports[p]);
		store_sample_add(in->store, now, subj, "half_closed", half);
	}
	for (size_t g = 0; g < in->ngens; g++) {
		uint32_t n = 0;

		if (!in->gens[g].live)
			continue;
		for (size_t i = 0; i < s->ncounts; i++) {
			const struct snap_count *c = &s->counts[i];

			if (c->pid != in->gens[g].pid || !c->is_listen_port)
				continue;
			for (int st = 1; st < SD_NSTATES; st++)
				if (st != SD_LISTEN)
					n += c->n[st];
		}
		snprintf(subj, sizeof(subj), "gen:%" PRId64, in->gens[g].gen);
		store_sample_add(in->store, now, subj, "sessions", n);
	}
}

void svtick_run(struct svtick *t, const struct svt_in *in)
{
	struct finding_list fl = { 0 };

	svt_stats(t, in);
	svt_detect(t, in, &fl);
	if (inc_tracker_tick(&t->tr, &fl, in->now_ms) == -1)
		log_warnx("event=incident_tracker err=\"out of memory\"");
	else
		svt_events(t, in, &fl);
	svt_samples(in);
	finding_list_free(&fl);
}

/* ---- JSON ---- */

void svtick_incidents_json(const struct svtick *t, struct json *j, uint64_t now_ms)
{
	(void)now_ms;
	json_arr_open(j, "incidents");
	for (size_t i = 0; i < t->tr.len; i++) {
		const struct inc_entry *e = &t->tr.v[i];

		if (!e->open || e->dead)
			continue;
		json_obj_open(j, NULL);
		if (e->id > 0)
			json_int(j, "id", e->id);
		else
			json_null(j, "id");
		json_str(j, "kind", detect_kind_name(e->kind));
		json_str(j, "severity", detect_severity_name(e->severity));
		json_str(j, "subject", e->subject);
		json_uint(j, "opened", e->first_ms);
		json_uint(j, "updated", e->last_ms ? e->last_ms : e->first_ms);
		json_double(j, "value", e->value);
		json_double(j, "peak", e->peak);
		json_str(j, "summary", e->summary);
		json_obj_close(j);
	}
	json_arr_close(j);
}

void svtick_servers_json(const struct svtick *t, const struct svt_gen *gens, size_t ngens,
			 struct json *j)
{
	(void)gens;
	(void)ngens;
	json_arr_open(j, "servers");
	for (size_t i = 0; i < t->nviews; i++) {
		const struct stats_view *v = &t->views[i];

		for (size_t k = 0; k < v->len; k++) {
			const struct stats_row *r = &v->rows[k];

			if (r->type != ST_SERVER)
				continue;
			json_obj_open(j, NULL);
			json_int(j, "gen", v->gen);
			json_int(j, "pid", v->pid);
			json_str(j, "backend", r->pxname);
			json_str(j, "server", r->svname);
			json_str(j, "status", r->status);
			json_int(j, "scur", r->scur);
			json_int(j, "smax", r->smax);
			if (r->slim >= 0)
				json_int(j, "slim", r->slim);
			else
				json_null(j, "slim");
			if (r->eff_maxconn >= 0)
				json_int(j, "eff_maxconn", r->eff_maxconn);
			else
				json_null(j, "eff_maxconn");
			json_int(j, "qcur", r->qcur);
			json_int(j, "qmax", r->qmax);
			json_str(j, "check", r->check_status);
			json_obj_close(j);
		}
	}
	json_arr_close(j);
}
