#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonparse.h"
#include "common/util.h"
#include "tui/model.h"

static const char *const tm_state_names[TM_NSTATES] = {
	[TM_ESTAB] = "ESTAB",
	[TM_SYN_RECV] = "SYN-RECV",
	[TM_CLOSE_WAIT] = "CLOSE-WAIT",
	[TM_FIN_WAIT1] = "FIN-WAIT-1",
	[TM_FIN_WAIT2] = "FIN-WAIT-2",
	[TM_TIME_WAIT] = "TIME-WAIT",
	[TM_LAST_ACK] = "LAST-ACK",
	[TM_CLOSING] = "CLOSING",
};

void tm_model_init(struct tm_model *m)
{
	memset(m, 0, sizeof(*m));
}

void tm_model_free(struct tm_model *m)
{
	free(m->incidents);
	free(m->servers);
	free(m->ports);
	free(m->listeners);
	free(m->gens);
	memset(m, 0, sizeof(*m));
}

void tm_model_clear(struct tm_model *m)
{
	struct tm_model keep = *m;

	memset(m, 0, sizeof(*m));
	m->gens = keep.gens;
	m->cap_gens = keep.cap_gens;
	m->listeners = keep.listeners;
	m->cap_listeners = keep.cap_listeners;
	m->ports = keep.ports;
	m->cap_ports = keep.cap_ports;
	m->servers = keep.servers;
	m->cap_servers = keep.cap_servers;
	m->incidents = keep.incidents;
	m->cap_incidents = keep.cap_incidents;
}

int tm_grow(void **p, size_t *cap, size_t need, size_t sz)
{
	return util_grow(p, cap, need, sz);
}

int tm_state_index(const char *name)
{
	size_t i, k;

	for (i = 0; i < TM_NSTATES; i++) {
		const char *a = tm_state_names[i];

		for (k = 0; a[k] && name[k]; k++)
			if (a[k] != name[k] && !(a[k] == '-' && name[k] == '_'))
				break;
		if (!a[k] && !name[k])
			return (int)i;
	}
	/* ss says ESTAB, the kernel ESTABLISHED */
	if (strcmp(name, "ESTABLISHED") == 0)
		return TM_ESTAB;
	return -1;
}

const char *tm_state_name(enum tm_state s)
{
	return (unsigned)s < TM_NSTATES ? tm_state_names[s] : "?";
}

void tm_hist_push(struct tm_hist *h, float v)
{
	h->v[h->head] = v;
	h->head = (uint16_t)((h->head + 1) % TM_HIST);
	if (h->n < TM_HIST)
		h->n++;
}

float tm_hist_get(const struct tm_hist *h, size_t i)
{
	size_t start = (h->head + TM_HIST - h->n) % TM_HIST;

	return h->v[(start + i) % TM_HIST];
}

void tm_hist_prepend(struct tm_hist *h, const float *v, size_t n)
{
	struct tm_hist old = *h;
	size_t i;

	/* only the newest TM_HIST of the whole fit: skip what would fall out */
	if (n + old.n > TM_HIST) {
		size_t drop = n + old.n - TM_HIST;

		v += drop < n ? drop : n;
		n -= drop < n ? drop : n;
	}
	h->n = 0;
	h->head = 0;
	for (i = 0; i < n; i++)
		tm_hist_push(h, v[i]);
	for (i = 0; i < old.n; i++)
		tm_hist_push(h, tm_hist_get(&old, i));
}

size_t tm_model_alive(const struct tm_model *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->ngens; i++)
		if (strcmp(m->gens[i].state, "exited") != 0)
			n++;
	return n;
}

size_t tm_model_open_incidents(const struct tm_model *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nincidents; i++)
		if (m->incidents[i].resolved_ms == 0)
			n++;
	return n;
}

int64_t tm_model_sessions(const struct tm_model *m)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < m->ngens; i++)
		n += m->gens[i].sessions;
	return n;
}

static int tm_listener_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tm_listener *)a)->addr, ((const struct tm_listener *)b)->addr);
}

struct tm_listener *tm_listener_find(const struct tm_model *m, const char *addr)
{
	struct tm_listener key;

	if (!m->nlisteners || snprintf(key.addr, sizeof(key.addr), "%s", addr) >=
	    (int)sizeof(key.addr))
		return NULL;
	return bsearch(&key, m->listeners, m->nlisteners, sizeof(key), tm_listener_cmp);
}

static int tm_port_cmp(const void *a, const void *b)
{
	const struct tm_port *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return 0;
}

static int64_t tm_half(const struct tm_port *p)
{
	return p->n[TM_CLOSE_WAIT] + p->n[TM_FIN_WAIT1] + p->n[TM_FIN_WAIT2] +
	       p->n[TM_LAST_ACK] + p->n[TM_CLOSING];
}

void tm_model_finish(struct tm_model *m, const struct tm_model *prev)
{
	const struct tm_listener *pl;
	const struct tm_port *pp;
	double dt = 0;
	size_t i;

	if (m->nlisteners > 1)
		qsort(m->listeners, m->nlisteners, sizeof(*m->listeners), tm_listener_cmp);
	if (m->nports > 1)
		qsort(m->ports, m->nports, sizeof(*m->ports), tm_port_cmp);
	if (prev && !prev->valid)
		prev = NULL;
	if (prev && m->t_ms > prev->t_ms)
		dt = (double)(m->t_ms - prev->t_ms) / 1000.0;
	m->tick_interval_ms = prev ? prev->tick_interval_ms : 0;
	if (prev && dt > 0 && m->tick > prev->tick)
		m->tick_interval_ms = (uint32_t)(dt * 1000.0 / (double)(m->tick - prev->tick));
	for (i = 0; i < m->nlisteners; i++) {
		struct tm_listener *l = &m->listeners[i];

		pl = prev && prev->nlisteners ? bsearch(l, prev->listeners, prev->nlisteners, sizeof(*l),
				    tm_listener_cmp) : NULL;
		if (pl)
			l->hist = pl->hist;
		else
			memset(&l->hist, 0, sizeof(l->hist));
		tm_hist_push(&l->hist, (float)l->queue);
		l->ovf_rate = -1;
		if (pl && l->overflows >= 0 && pl->overflows >= 0 && dt > 0 &&
		    l->overflows >= pl->overflows)
			l->ovf_rate = (double)(l->overflows - pl->overflows) / dt;
	}
	for (i = 0; i < m->nports; i++) {
		struct tm_port *p = &m->ports[i];

		p->half = tm_half(p);
		pp = prev && prev->nports ? bsearch(p, prev->ports, prev->nports, sizeof(*p), tm_port_cmp) : NULL;
		if (pp) {
			p->hist = pp->hist;
			p->half_delta = p->half - pp->half;
			p->have_prev = 1;
		} else {
			memset(&p->hist, 0, sizeof(p->hist));
			p->half_delta = 0;
			p->have_prev = prev != NULL;
			if (prev)
				p->half_delta = p->half;
		}
		tm_hist_push(&p->hist, (float)p->half);
	}
	m->valid = 1;
}

/* Reads {"STATE": n, ...} into out (unknown states ignored). */
static void tm_json_states(const struct jp_doc *d, int obj, int64_t *out)
{
	char name[32];
	int64_t v;
	int k, s;

	if (!jp_is(d, obj, JP_OBJ))
		return;
	for (k = jp_first(d, obj); k != -1; k = jp_sibling(d, obj, k)) {
		if (jp_str(d, k, name, sizeof(name)) == -1)
			continue;
		s = tm_state_index(name);
		if (s >= 0 && jp_int(d, k + 1, &v) == 0)
			out[s] = v;
	}
}

static int tm_json_gens(struct tm_model *m, const struct jp_doc *d, int arr)
{
	struct tm_gen *g;
	int e;

	for (e = jp_first(d, arr); e != -1; e = jp_sibling(d, arr, e)) {
		if (!jp_is(d, e, JP_OBJ))
			continue;
		if (tm_grow((void **)&m->gens, &m->cap_gens, m->ngens + 1, sizeof(*g)) == -1)
			return -1;
		g = &m->gens[m->ngens++];
		memset(g, 0, sizeof(*g));
		g->gen = jp_get_int(d, e, "gen", 0);
		g->pid = jp_get_int(d, e, "pid", 0);
		jp_get_str(d, e, "state", g->state, sizeof(g->state));
		jp_get_str(d, e, "name", g->name, sizeof(g->name));
		g->started_ms = jp_get_int(d, e, "started", 0);
		g->ready_ms = jp_get_int(d, e, "ready", 0);
		g->drain_since_ms = jp_get_int(d, e, "drain_since", 0);
		g->deadline_ms = jp_get_int(d, e, "deadline", 0);
		g->sessions = jp_get_int(d, e, "sessions", 0);
		tm_json_states(d, jp_get(d, e, "states"), g->states);
	}
	return 0;
}

static int tm_json_listeners(struct tm_model *m, const struct jp_doc *d, int arr)
{
	struct tm_listener *l;
	int e, s, o, dup;
	int64_t pid;
	size_t k;

	for (e = jp_first(d, arr); e != -1; e = jp_sibling(d, arr, e)) {
		if (!jp_is(d, e, JP_OBJ))
			continue;
		if (tm_grow((void **)&m->listeners, &m->cap_listeners, m->nlisteners + 1,
			    sizeof(*l)) == -1)
			return -1;
		l = &m->listeners[m->nlisteners++];
		memset(l, 0, sizeof(*l));
		jp_get_str(d, e, "addr", l->addr, sizeof(l->addr));
		l->queue = jp_get_int(d, e, "queue", 0);
		l->backlog = jp_get_int(d, e, "backlog", 0);
		l->overflows = jp_get_int(d, e, "overflows", -1);
		dup = 0;
		if (jp_bool(d, jp_get(d, e, "duplicate"), &dup) == 0)
			l->duplicate = (uint8_t)dup;
		s = jp_get(d, e, "sockets");
		for (s = jp_first(d, s); s != -1; s = jp_sibling(d, jp_get(d, e, "sockets"), s)) {
			l->nsockets++;
			o = jp_get(d, s, "owners");
			for (o = jp_first(d, o); o != -1;
			     o = jp_sibling(d, jp_get(d, s, "owners"), o)) {
				if (jp_int(d, o, &pid) == -1)
					continue;
				for (k = 0; k < l->nowners && k < TM_MAX_OWNERS; k++)
					if (l->owners[k] == pid)
						break;
				if (k < l->nowners && k < TM_MAX_OWNERS)
					continue;
				if (l->nowners < TM_MAX_OWNERS)
					l->owners[l->nowners] = pid;
				l->nowners++;
			}
		}
	}
	return 0;
}

static int tm_json_ports(struct tm_model *m, const struct jp_doc *d, int arr)
{
	struct tm_port *p;
	int e;

	for (e = jp_first(d, arr); e != -1; e = jp_sibling(d, arr, e)) {
		if (!jp_is(d, e, JP_OBJ))
			continue;
		if (tm_grow((void **)&m->ports, &m->cap_ports, m->nports + 1, sizeof(*p)) == -1)
			return -1;
		p = &m->ports[m->nports++];
		memset(p, 0, sizeof(*p));
		p->port = jp_get_int(d, e, "port", 0);
		p->pid = jp_get_int(d, e, "pid", 0);
		jp_get_str(d, e, "name", p->name, sizeof(p->name));
		tm_json_states(d, jp_get(d, e, "states"), p->n);
		tm_json_states(d, jp_get(d, e, "oldest_ms"), p->oldest_ms);
	}
	return 0;
}

static int tm_json_servers(struct tm_model *m, const struct jp_doc *d, int arr)
{
	struct tm_server *s;
	int e;

	for (e = jp_first(d, arr); e != -1; e = jp_sibling(d, arr, e)) {
		if (!jp_is(d, e, JP_OBJ))
			continue;
		if (tm_grow((void **)&m->servers, &m->cap_servers, m->nservers + 1,
			    sizeof(*s)) == -1)
			return -1;
		s = &m->servers[m->nservers++];
		memset(s, 0, sizeof(*s));
		s->gen = jp_get_int(d, e, "gen", 0);
		jp_get_str(d, e, "backend", s->backend, sizeof(s->backend));
		jp_get_str(d, e, "server", s->server, sizeof(s->server));
		jp_get_str(d, e, "status", s->status, sizeof(s->status));
		s->scur = jp_get_int(d, e, "scur", 0);
		s->smax = jp_get_int(d, e, "smax", 0);
		s->slim = jp_get_int(d, e, "slim", 0);
		s->eff_maxconn = jp_get_int(d, e, "eff_maxconn", 0);
		s->qcur = jp_get_int(d, e, "qcur", 0);
		s->qmax = jp_get_int(d, e, "qmax", 0);
		s->weight = jp_get_int(d, e, "weight", 0);
		jp_get_str(d, e, "check", s->check, sizeof(s->check));
	}
	return 0;
}

static int tm_json_incidents(struct tm_model *m, const struct jp_doc *d, int arr)
{
	struct tm_incident *in;
	int e, ev;
	size_t n;

	for (e = jp_first(d, arr); e != -1; e = jp_sibling(d, arr, e)) {
		if (!jp_is(d, e, JP_OBJ))
			continue;
		if (tm_grow((void **)&m->incidents, &m->cap_incidents, m->nincidents + 1,
			    sizeof(*in)) == -1)
			return -1;
		in = &m->incidents[m->nincidents++];
		memset(in, 0, sizeof(*in));
		in->id = jp_get_int(d, e, "id", 0);
		jp_get_str(d, e, "kind", in->kind, sizeof(in->kind));
		jp_get_str(d, e, "severity", in->severity, sizeof(in->severity));
		jp_get_str(d, e, "subject", in->subject, sizeof(in->subject));
		in->opened_ms = jp_get_int(d, e, "opened", 0);
		in->updated_ms = jp_get_int(d, e, "updated", 0);
		in->resolved_ms = jp_get_int(d, e, "resolved", 0);
		jp_get_str(d, e, "summary", in->summary, sizeof(in->summary));
		jp_get_str(d, e, "detail", in->detail, sizeof(in->detail));
		ev = jp_get(d, e, "evidence");
		if (!in->detail[0] && ev != -1 && !jp_is(d, ev, JP_NULL)) {
			n = d->t[ev].len < sizeof(in->detail) - 1 ? d->t[ev].len :
			    sizeof(in->detail) - 1;
			memcpy(in->detail, d->s + d->t[ev].start, n);
			in->detail[n] = '\0';
		}
	}
	return 0;
}

static const char *const tm_known_keys[] = {
	"v", "t", "tick", "tick_ms", "host", "started", "active_gen", "reloads",
	"reloads_failed", "generations", "listeners", "ports", "servers", "incidents", "store",
};

int tm_model_from_json(struct tm_model *m, const struct tm_model *prev, struct jp_doc *doc,
		       const char *line, size_t len, char *err, size_t errlen)
{
	char e[128];
	int k, st;
	size_t i;

	tm_model_clear(m);
	if (jp_parse(doc, line, len, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "bad JSON: %s", e);
		return -1;
	}
	if (!jp_is(doc, 0, JP_OBJ)) {
		snprintf(err, errlen, "not a JSON object");
		errno = EINVAL;
		return -1;
	}
	if (jp_int(doc, jp_get(doc, 0, "v"), &m->version) == -1 ||
	    jp_int(doc, jp_get(doc, 0, "tick"), &m->tick) == -1) {
		snprintf(err, errlen, "not a watch line (no \"v\" or \"tick\")");
		errno = EINVAL;
		return -1;
	}
	m->t_ms = jp_get_int(doc, 0, "t", 0);
	m->tick_ms = jp_get_double(doc, 0, "tick_ms", 0);
	jp_get_str(doc, 0, "host", m->host, sizeof(m->host));
	m->started_ms = jp_get_int(doc, 0, "started", 0);
	m->active_gen = jp_get_int(doc, 0, "active_gen", 0);
	m->reloads = jp_get_int(doc, 0, "reloads", 0);
	m->reloads_failed = jp_get_int(doc, 0, "reloads_failed", 0);
	for (k = jp_first(doc, 0); k != -1; k = jp_sibling(doc, 0, k)) {
		for (i = 0; i < sizeof(tm_known_keys) / sizeof(tm_known_keys[0]); i++)
			if (jp_str_eq(doc, k, tm_known_keys[i]))
				break;
		if (i == sizeof(tm_known_keys) / sizeof(tm_known_keys[0]))
			m->unknown_keys++;
	}
	if (tm_json_gens(m, doc, jp_get(doc, 0, "generations")) == -1 ||
	    tm_json_listeners(m, doc, jp_get(doc, 0, "listeners")) == -1 ||
	    tm_json_ports(m, doc, jp_get(doc, 0, "ports")) == -1 ||
	    tm_json_servers(m, doc, jp_get(doc, 0, "servers")) == -1 ||
	    tm_json_incidents(m, doc, jp_get(doc, 0, "incidents")) == -1) {
		snprintf(err, errlen, "out of memory");
		tm_model_clear(m);
		return -1;
	}
	st = jp_get(doc, 0, "store");
	if (jp_is(doc, st, JP_OBJ)) {
		m->have_store = 1;
		jp_get_str(doc, st, "path", m->store_path, sizeof(m->store_path));
		m->store_dropped = jp_get_int(doc, st, "dropped_writes", 0);
		m->store_errors = jp_get_int(doc, st, "errors", 0);
		jp_get_str(doc, st, "last_error", m->store_error, sizeof(m->store_error));
	}
	tm_model_finish(m, prev);
	return 0;
}

void tm_linebuf_init(struct tm_linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

void tm_linebuf_free(struct tm_linebuf *lb)
{
	free(lb->p);
	memset(lb, 0, sizeof(*lb));
}

void tm_linebuf_reset(struct tm_linebuf *lb)
{
	lb->len = 0;
	lb->off = 0;
	lb->skipping = 0;
}

int tm_linebuf_feed(struct tm_linebuf *lb, const char *data, size_t n)
{
	if (lb->off > 0) {
		memmove(lb->p, lb->p + lb->off, lb->len - lb->off);
		lb->len -= lb->off;
		lb->off = 0;
	}
	if (tm_grow((void **)&lb->p, &lb->cap, lb->len + n + 1, 1) == -1)
		return -1;
	memcpy(lb->p + lb->len, data, n);
	lb->len += n;
	/* A line that cannot end within max: drop what is held and skip up to
	 * the next newline, so memory stays bounded by a misbehaving peer. */
	if (lb->max && lb->len > lb->max && !memchr(lb->p, '\n', lb->len)) {
		lb->dropped++;
		lb->len = 0;
		lb->skipping = 1;
	}
	return 0;
}

int tm_linebuf_next(struct tm_linebuf *lb, char **line, size_t *len)
{
	char *start, *nl;
	size_t n;

	for (;;) {
		if (lb->off >= lb->len)
			return 0;
		start = lb->p + lb->off;
		nl = memchr(start, '\n', lb->len - lb->off);
		if (!nl)
			return 0;
		n = (size_t)(nl - start);
		lb->off += n + 1;
		if (lb->skipping) {
			/* the end of an overlong line, counted already */
			lb->skipping = 0;
			continue;
		}
		if (lb->max && n > lb->max) {
			lb->dropped++;
			continue;
		}
		if (n > 0 && start[n - 1] == '\r')
			n--;
		start[n] = '\0';
		*line = start;
		*len = n;
		return 1;
	}
}
