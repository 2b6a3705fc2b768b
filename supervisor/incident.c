/*
 * Hysteresis. Entries are kept in an array searched linearly: a tick has
 * tens of findings and the tracker tens of entries, far below the cost of
 * the probes.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/detect.h"
#include "supervisor/incident.h"

#define INC_OPEN_TICKS 2u
#define INC_RESOLVE_TICKS 3u

void inc_tracker_init(struct inc_tracker *t)
{
	memset(t, 0, sizeof(*t));
	inc_tracker_reset_params(t);
}

void inc_tracker_reset_params(struct inc_tracker *t)
{
	size_t k;

	for (k = 0; k < DK_NKINDS; k++) {
		t->params[k].open_ticks = INC_OPEN_TICKS;
		t->params[k].resolve_ticks = INC_RESOLVE_TICKS;
	}
	t->params[DK_CONFIG_LINT].open_ticks = 1;
	t->params[DK_RELOAD_FAILED].open_ticks = 1;
	t->params[DK_GENERATION_CRASH].open_ticks = 1;
}

void inc_tracker_free(struct inc_tracker *t)
{
	free(t->best);
	free(t->ev);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

void inc_tracker_set(struct inc_tracker *t, enum detect_kind k, uint32_t open_ticks,
		     uint32_t resolve_ticks)
{
	if ((unsigned)k >= DK_NKINDS)
		return;
	if (open_ticks)
		t->params[k].open_ticks = open_ticks;
	if (resolve_ticks)
		t->params[k].resolve_ticks = resolve_ticks;
}

enum detect_kind inc_kind_parse(const char *s)
{
	unsigned k;

	for (k = 0; k < DK_NKINDS; k++)
		if (strcmp(detect_kind_name((enum detect_kind)k), s) == 0)
			return (enum detect_kind)k;
	return DK_NKINDS;
}

static size_t inc_index(const struct inc_tracker *t, enum detect_kind k, const char *subject)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (!t->v[i].dead && t->v[i].kind == k &&
		    strncmp(t->v[i].subject, subject, sizeof(t->v[i].subject) - 1) == 0)
			return i;
	return SIZE_MAX;
}

struct inc_entry *inc_tracker_find(struct inc_tracker *t, enum detect_kind k, const char *subject)
{
	size_t i = inc_index(t, k, subject);

	return i == SIZE_MAX ? NULL : &t->v[i];
}

static int inc_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * size);
	if (!np) {
		errno = ENOMEM;
		return -1;
	}
	*p = np;
	*cap = ncap;
	return 0;
}

static struct inc_entry *inc_add(struct inc_tracker *t, enum detect_kind k, const char *subject)
{
	struct inc_entry *e;

	if (inc_grow((void **)&t->v, &t->cap, t->len + 1, sizeof(*t->v)) == -1)
		return NULL;
	e = &t->v[t->len++];
	memset(e, 0, sizeof(*e));
	e->kind = k;
	strncpy(e->subject, subject, sizeof(e->subject) - 1);
	return e;
}

int inc_tracker_seed(struct inc_tracker *t, enum detect_kind k, const char *subject, int64_t id,
		     double peak, uint64_t opened_ms)
{
	struct inc_entry *e;

	if ((unsigned)k >= DK_NKINDS) {
		errno = EINVAL;
		return -1;
	}
	e = inc_tracker_find(t, k, subject);
	if (!e)
		e = inc_add(t, k, subject);
	if (!e)
		return -1;
	e->id = id;
	e->open = 1;
	e->reloaded = 1;
	e->peak = peak;
	e->first_ms = opened_ms;
	return 0;
}

void inc_tracker_forget_ids(struct inc_tracker *t)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (t->v[i].open && !t->v[i].dead) {
			t->v[i].id = 0;
			t->v[i].reopen = 1;
		}
}

static int inc_event_add(struct inc_tracker *t, enum inc_event_type type, size_t entry,
			 size_t finding)
{
	if (inc_grow((void **)&t->ev, &t->cap_ev, t->nev + 1, sizeof(*t->ev)) == -1)
		return -1;
	t->ev[t->nev].type = type;
	t->ev[t->nev].entry = entry;
	t->ev[t->nev].finding = finding;
	t->nev++;
	return 0;
}

int inc_tracker_tick(struct inc_tracker *t, const struct finding_list *fl, uint64_t now_ms)
{
	size_t i, w;

	/* Drop what ended at the previous tick. */
	for (i = 0, w = 0; i < t->len; i++)
		if (!t->v[i].dead)
			t->v[w++] = t->v[i];
	t->len = w;
	t->nev = 0;

	/* Room for every finding as a new entry, the events, and the scratch,
	 * before anything changes. */
	if (inc_grow((void **)&t->v, &t->cap, t->len + fl->len, sizeof(*t->v)) == -1 ||
	    inc_grow((void **)&t->ev, &t->cap_ev, t->len + fl->len, sizeof(*t->ev)) == -1 ||
	    inc_grow((void **)&t->best, &t->cap_best, t->len + fl->len, sizeof(*t->best)) == -1)
		return -1;
	for (i = 0; i < t->len; i++)
		t->best[i] = SIZE_MAX;

	/* The finding with the highest value per (kind, subject). */
	for (i = 0; i < fl->len; i++) {
		const struct finding *f = &fl->v[i];
		size_t e;

		if ((unsigned)f->kind >= DK_NKINDS)
			continue;
		e = inc_index(t, f->kind, f->subject);
		if (e == SIZE_MAX) {
			if (!inc_add(t, f->kind, f->subject))
				return -1;
			e = t->len - 1;
			t->best[e] = SIZE_MAX;
		}
		if (t->best[e] == SIZE_MAX || fl->v[t->best[e]].value < f->value)
			t->best[e] = i;
	}

	for (i = 0; i < t->len; i++) {
		struct inc_entry *e = &t->v[i];
		const struct inc_params *p = &t->params[e->kind];

		if (t->best[i] != SIZE_MAX) {
			const struct finding *f = &fl->v[t->best[i]];

			if (e->bad == 0 && !e->open)
				e->first_ms = now_ms;
			e->bad++;
			e->clean = 0;
			e->value = f->value;
			e->last_ms = now_ms;
			snprintf(e->summary, sizeof(e->summary), "%s", f->summary ? f->summary : "");
			e->severity = f->severity;
			e->pid = f->pid;
			e->port = f->port;
			if (!e->open) {
				if (e->peak < f->value || e->bad == 1)
					e->peak = f->value;
				if (e->bad >= p->open_ticks) {
					e->open = 1;
					inc_event_add(t, IE_OPENED, i, t->best[i]);
				}
			} else {
				if (e->peak < f->value)
					e->peak = f->value;
				inc_event_add(t, e->reopen ? IE_OPENED : IE_UPDATED, i, t->best[i]);
				e->reopen = 0;
			}
		} else {
			e->bad = 0;
			e->clean++;
			if (!e->open) {
				e->dead = 1;
			} else if (e->clean >= p->resolve_ticks) {
				e->dead = 1;
				inc_event_add(t, IE_RESOLVED, i, SIZE_MAX);
			}
		}
	}
	return 0;
}
