#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/procmap.h"
#include "probes/snapshot.h"
#include "probes/sockdiag.h"
#include "supervisor/detect.h"
#include "tui/model.h"
#include "tui/model_snap.h"

/* Kernel state -> column; -1 for states not shown. */
static int tms_state(unsigned sd)
{
	switch (sd) {
	case SD_ESTABLISHED: return TM_ESTAB;
	case SD_SYN_RECV: case SD_NEW_SYN_RECV: return TM_SYN_RECV;
	case SD_CLOSE_WAIT: return TM_CLOSE_WAIT;
	case SD_FIN_WAIT1: return TM_FIN_WAIT1;
	case SD_FIN_WAIT2: return TM_FIN_WAIT2;
	case SD_TIME_WAIT: return TM_TIME_WAIT;
	case SD_LAST_ACK: return TM_LAST_ACK;
	case SD_CLOSING: return TM_CLOSING;
	default: return -1;
	}
}

static const char *tms_proc_state(char c)
{
	switch (c) {
	case 'R': return "running";
	case 'S': return "sleeping";
	case 'D': return "disk-wait";
	case 'Z': return "zombie";
	case 'T': case 't': return "stopped";
	case 'I': return "idle";
	default: return "?";
	}
}

static int tms_gen_add(struct tm_model *m, const struct snapshot *s, pid_t pid)
{
	const struct pm_proc *p;
	struct tm_gen *g;
	size_t i;

	for (i = 0; i < m->ngens; i++)
		if (m->gens[i].pid == pid)
			return 0;
	if (tm_grow((void **)&m->gens, &m->cap_gens, m->ngens + 1, sizeof(*g)) == -1)
		return -1;
	g = &m->gens[m->ngens++];
	memset(g, 0, sizeof(*g));
	g->pid = pid;
	p = pm_procs_find(&s->procs, pid);
	if (p) {
		snprintf(g->state, sizeof(g->state), "%s", tms_proc_state(p->state));
		snprintf(g->name, sizeof(g->name), "%s", p->comm);
		g->started_ms = (int64_t)p->start_ms;
	} else {
		snprintf(g->state, sizeof(g->state), "?");
	}
	return 0;
}

static int tms_listeners(struct tm_model *m, const struct snapshot *s,
			 const struct finding_list *fl)
{
	struct tm_listener *l;
	const struct snap_listener *sl;
	const struct snap_lsock *ls;
	char subj[96];
	pid_t pid;
	size_t i, j, k, o;

	for (i = 0; i < s->nlisteners; i++) {
		sl = &s->listeners[i];
		if (tm_grow((void **)&m->listeners, &m->cap_listeners, m->nlisteners + 1,
			    sizeof(*l)) == -1)
			return -1;
		l = &m->listeners[m->nlisteners++];
		memset(l, 0, sizeof(*l));
		sd_addr_fmt(sl->family, sl->addr, sl->port, l->addr, sizeof(l->addr));
		l->overflows = -1;
		l->nsockets = (uint32_t)sl->nlsocks;
		for (j = 0; j < sl->nlsocks; j++) {
			ls = &s->lsocks[sl->first_lsock + j];
			l->queue += ls->rqueue;
			if ((int64_t)ls->wqueue > l->backlog)
				l->backlog = ls->wqueue;
			for (k = 0; k < ls->nowners; k++) {
				pid = s->owner_pids[ls->first_owner + k];
				for (o = 0; o < l->nowners && o < TM_MAX_OWNERS; o++)
					if (l->owners[o] == pid)
						break;
				if (o < l->nowners && o < TM_MAX_OWNERS)
					continue;
				if (l->nowners < TM_MAX_OWNERS)
					l->owners[l->nowners] = pid;
				l->nowners++;
				if (tms_gen_add(m, s, pid) == -1)
					return -1;
			}
		}
		snprintf(subj, sizeof(subj), "tcp:%s", l->addr);
		for (j = 0; fl && j < fl->len; j++)
			if (fl->v[j].kind == DK_DUPLICATE_LISTENER &&
			    strcmp(fl->v[j].subject, subj) == 0)
				l->duplicate = 1;
	}
	return 0;
}

static struct tm_port *tms_port_row(struct tm_model *m, int64_t port, int64_t pid,
				    const struct snapshot *s)
{
	const struct pm_proc *p;
	struct tm_port *r;

	/* counts are sorted by (pid, lport): a process's rows are adjacent,
	 * so its port-0 row, if any, is among the last ones added */
	if (m->nports > 0) {
		r = &m->ports[m->nports - 1];
		if (r->port == port && r->pid == pid)
			return r;
		if (port == 0) {
			size_t i;

			for (i = m->nports; i-- > 0 && m->ports[i].pid == pid;)
				if (m->ports[i].port == 0)
					return &m->ports[i];
		}
	}
	if (tm_grow((void **)&m->ports, &m->cap_ports, m->nports + 1, sizeof(*r)) == -1)
		return NULL;
	r = &m->ports[m->nports++];
	memset(r, 0, sizeof(*r));
	r->port = port;
	r->pid = pid;
	p = pid > 0 ? pm_procs_find(&s->procs, (pid_t)pid) : NULL;
	if (p)
		snprintf(r->name, sizeof(r->name), "%s", p->comm);
	return r;
}

static int tms_ports(struct tm_model *m, const struct snapshot *s)
{
	const struct snap_count *c;
	struct tm_port *r;
	struct tm_gen *g;
	size_t i, k;
	int64_t port;
	int st;

	for (i = 0; i < s->ncounts; i++) {
		c = &s->counts[i];
		if (c->pid > 0)
			port = c->is_listen_port ? c->lport : 0;
		else
			port = snapshot_port_listened(s, c->lport) ? c->lport : 0;
		r = tms_port_row(m, port, c->pid, s);
		if (!r)
			return -1;
		for (k = 0; k < SD_NSTATES; k++) {
			st = tms_state((unsigned)k);
			if (st < 0)
				continue;
			r->n[st] += c->n[k];
			if ((int64_t)c->oldest_idle_ms[k] > r->oldest_ms[st])
				r->oldest_ms[st] = c->oldest_idle_ms[k];
		}
		for (k = 0; k < m->ngens; k++) {
			g = &m->gens[k];
			if (g->pid != c->pid)
				continue;
			for (st = 0; st < (int)SD_NSTATES; st++)
				if (tms_state((unsigned)st) >= 0)
					g->states[tms_state((unsigned)st)] += c->n[st];
			g->sessions = g->states[TM_ESTAB];
		}
	}
	return 0;
}

static int tms_incidents(struct tm_model *m, const struct tm_model *prev,
			 const struct finding_list *fl)
{
	struct tm_incident *in;
	const struct finding *f;
	size_t i, j;

	for (i = 0; fl && i < fl->len; i++) {
		f = &fl->v[i];
		if (tm_grow((void **)&m->incidents, &m->cap_incidents, m->nincidents + 1,
			    sizeof(*in)) == -1)
			return -1;
		in = &m->incidents[m->nincidents++];
		memset(in, 0, sizeof(*in));
		snprintf(in->kind, sizeof(in->kind), "%s", detect_kind_name(f->kind));
		snprintf(in->severity, sizeof(in->severity), "%s",
			 detect_severity_name(f->severity));
		snprintf(in->subject, sizeof(in->subject), "%s", f->subject);
		snprintf(in->summary, sizeof(in->summary), "%s", f->summary ? f->summary : "");
		snprintf(in->detail, sizeof(in->detail), "%s", f->detail ? f->detail :
			 f->evidence ? f->evidence : "");
		in->opened_ms = m->t_ms;
		in->updated_ms = m->t_ms;
		for (j = 0; prev && j < prev->nincidents; j++)
			if (strcmp(prev->incidents[j].kind, in->kind) == 0 &&
			    strcmp(prev->incidents[j].subject, in->subject) == 0) {
				in->opened_ms = prev->incidents[j].opened_ms;
				break;
			}
	}
	return 0;
}

int tm_model_from_snapshot(struct tm_model *m, const struct tm_model *prev,
			   const struct snapshot *s, const struct finding_list *fl,
			   const char *host, int64_t started_ms)
{
	tm_model_clear(m);
	m->standalone = 1;
	m->version = 1;
	snprintf(m->host, sizeof(m->host), "%s", host ? host : "");
	m->t_ms = (int64_t)s->t_real_ms;
	m->started_ms = started_ms;
	m->tick = prev && prev->valid ? prev->tick + 1 : 1;
	if (tms_listeners(m, s, fl) == -1 || tms_ports(m, s) == -1 ||
	    tms_incidents(m, prev && prev->valid ? prev : NULL, fl) == -1) {
		tm_model_clear(m);
		errno = ENOMEM;
		return -1;
	}
	tm_model_finish(m, prev);
	return 0;
}
