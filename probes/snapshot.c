#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "probes/kernel.h"
#include "probes/linkstats.h"
#include "probes/netns.h"
#include "probes/procmap.h"
#include "probes/snapshot.h"
#include "probes/sockdiag.h"

/* One (owner, local port, state) observation; sorted by (pid, lport) and
 * folded into snap_count entries. */
struct snap_key {
	pid_t pid;
	uint16_t lport;
	uint8_t state;
	uint8_t has_idle;
	uint32_t idle_ms;
};

/* Grows *v to hold at least need elements of size sz; 0 or -1 (ENOMEM). */
static int snap_grow(void **v, size_t *cap, size_t need, size_t sz)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / sz) {
			errno = ENOMEM;
			return -1;
		}
		ncap *= 2;
	}
	p = realloc(*v, ncap * sz);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	*v = p;
	*cap = ncap;
	return 0;
}

int snap_probe_open(struct snap_probe *p, const struct snap_opts *o, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (sockdiag_open(&p->sd, o->nsfd, err, errlen) == -1)
		return -1;
	if (o->want_owners) {
		if (procmap_init(&p->pm, o->procroot, err, errlen) == -1) {
			sockdiag_close(&p->sd);
			return -1;
		}
		p->pm_ready = 1;
	}
	p->open = 1;
	return 0;
}

void snap_probe_close(struct snap_probe *p)
{
	if (p->open)
		sockdiag_close(&p->sd);
	procmap_sweep_free(&p->hunt);
	procmap_sweep_free(&p->sweep);
	free(p->merge);
	free(p->u32_tmp);
	free(p->unknown);
	free(p->targets);
	free(p->prev_inos);
	free(p->cycle);
	pm_owners_free(&p->found);
	pm_owners_free(&p->cache);
	free(p->known);
	free(p->inos_tmp);
	free(p->inos);
	memset(p, 0, sizeof(*p));
}

/* LSD radix sort of n 32-bit values, a byte a pass, skipping the bytes
 * every value shares; tmp holds n. Returns the array with the result. */
static uint32_t *snap_radix_u32(uint32_t *v, uint32_t *tmp, size_t n)
{
	size_t count[256];
	uint32_t all_or = 0, all_and = UINT32_MAX;
	unsigned shift;
	size_t i;

	for (i = 0; i < n; i++) {
		all_or |= v[i];
		all_and &= v[i];
	}
	for (shift = 0; shift < 32; shift += 8) {
		uint32_t *t;
		size_t sum = 0;

		if ((((all_or ^ all_and) >> shift) & 0xff) == 0)
			continue;
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(v[i] >> shift) & 0xff]++;
		for (i = 0; i < 256; i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[(v[i] >> shift) & 0xff]++] = v[i];
		t = v;
		v = tmp;
		tmp = t;
	}
	return v;
}

/* The distinct non-zero inodes of s->socks, sorted, into p->inos. */
static int snap_collect_inos(struct snap_probe *p, const struct sd_table *t)
{
	uint32_t *sorted;
	size_t i, n = 0;

	if (snap_grow((void **)&p->inos, &p->cap_inos, t->len ? t->len : 1,
		      sizeof(*p->inos)) == -1 ||
	    snap_grow((void **)&p->inos_tmp, &p->cap_inos_tmp, t->len ? t->len : 1,
		      sizeof(*p->inos_tmp)) == -1)
		return -1;
	for (i = 0; i < t->len; i++)
		if (t->socks[i].ino != 0)
			p->inos[n++] = t->socks[i].ino;
	sorted = snap_radix_u32(p->inos, p->inos_tmp, n);
	p->ninos = 0;
	for (i = 0; i < n; i++)
		if (p->ninos == 0 || p->inos[p->ninos - 1] != sorted[i])
			p->inos[p->ninos++] = sorted[i];
	return 0;
}

/* Keeps the owner entries (sorted by inode) of the inodes in inos
 * (ascending, distinct). */
static void snap_owners_keep(struct pm_owners *o, const uint32_t *inos, size_t n)
{
	size_t i, j = 0, k = 0;

	for (i = 0; i < o->len; i++) {
		while (j < n && inos[j] < o->v[i].ino)
			j++;
		if (j == n)
			break;
		if (inos[j] == o->v[i].ino)
			o->v[k++] = o->v[i];
	}
	o->len = k;
}

static int snap_cmp_owner(const void *a, const void *b);

static int snap_cmp_fdcount(const void *a, const void *b)
{
	const struct pm_fdcount *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int snap_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int snap_pid_in(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return 1;
	return 0;
}

static int snap_u32_has(const uint32_t *v, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == x)
			return 1;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Keeps the values of v (ascending) that are also in inos (ascending). */
static void snap_u32_keep(uint32_t *v, size_t *nv, const uint32_t *inos, size_t n)
{
	size_t i, j = 0, k = 0;

	for (i = 0; i < *nv; i++) {
		while (j < n && inos[j] < v[i])
			j++;
		if (j == n)
			break;
		if (inos[j] == v[i])
			v[k++] = v[i];
	}
	*nv = k;
}

/* *v (ascending, distinct) becomes its union with add (n values, ascending,
 * distinct), merged through *tmp. 0 or -1 (ENOMEM). */
static int snap_u32_union(uint32_t **v, size_t *nv, size_t *cap, const uint32_t *add, size_t n,
			  uint32_t **tmp, size_t *cap_tmp)
{
	size_t i = 0, j = 0, k = 0, c;
	uint32_t *t;

	if (n == 0)
		return 0;
	if (snap_grow((void **)tmp, cap_tmp, *nv + n, sizeof(**tmp)) == -1)
		return -1;
	t = *tmp;
	while (i < *nv || j < n) {
		if (j == n || (i < *nv && (*v)[i] < add[j]))
			t[k++] = (*v)[i++];
		else if (i == *nv || add[j] < (*v)[i])
			t[k++] = add[j++];
		else {
			t[k++] = (*v)[i++];
			j++;
		}
	}
	*tmp = *v;
	c = *cap_tmp;
	*cap_tmp = *cap;
	*v = t;
	*cap = c;
	*nv = k;
	return 0;
}

/* The states whose owners the detectors need from every process. */
static int snap_state_needs_owner(unsigned st)
{
	return st < SD_NSTATES &&
	       ((SD_STATE_BIT(SD_LISTEN) | SD_STATES_HALF_CLOSED) & SD_STATE_BIT(st));
}

/* ---- incremental owners (snap_opts.scan_pids) ----
 *
 * Other processes' fd tables are read by two passes of procmap_sweep, each
 * a budget of fds at a time, beside the sock_diag dump:
 *
 *   the sweep  every process in pid order; begins every full_every takes at
 *              most; when it ends, every inode dumped before it began has
 *              been looked for in every process ("known"), found or not;
 *   the hunt   begins when a listening or half-closed socket has an inode
 *              that is neither known nor owned in the cache; processes the
 *              sweep has not read yet first, then the fewest fds first;
 *              ends as soon as it has seen every inode it hunts (else,
 *              having read every process, it makes them known).
 *
 * Both write into p->cache, the inode -> owner table that persists between
 * takes: a process read to the end of its table replaces its entries; a
 * process read in part adds its sockets; entries leave when their inode
 * leaves the dump or their process has exited. */

/* The /proc scan of a take without o->scan_pids, run beside the sock_diag
 * dump: it reads the owners of every socket, the dump tells afterwards
 * which ones are wanted. */
struct snap_scan {
	struct procmap *pm;
	uint64_t netns_ino;
	struct pm_owners *out;
	int rc;
	int err_no;
	char err[256];
};

static void *snap_scan_run(void *arg)
{
	struct snap_scan *sc = arg;

	sc->rc = procmap_owners(sc->pm, NULL, PM_ALL_SOCKETS, sc->netns_ino, NULL, 0, sc->out,
				sc->err, sizeof(sc->err));
	sc->err_no = errno;
	return NULL;
}

struct snap_bg {
	struct snap_probe *p;
	const struct snap_opts *o;
	uint64_t netns_ino;
	size_t budget;          /* in: for this take; out: what is left */
	int begin_sweep;
	int began, sweep_ended, hunt_ended;
	int rc;
	int err_no;
	char err[256];
};

/* Enough for the hunt's half to open a process and read from it. */
#define SNAP_SCAN_BUDGET_MIN (4 * PM_SWEEP_PROC_COST)

static size_t snap_budget(const struct snap_opts *o)
{
	size_t b = o->scan_budget ? o->scan_budget : SNAP_SCAN_BUDGET;

	return b < SNAP_SCAN_BUDGET_MIN ? SNAP_SCAN_BUDGET_MIN : b;
}

/* The steps that need no dump: the hunt from the last take on (half the
 * budget when the sweep also reads), then the sweep. */
static void snap_bg_steps(struct snap_bg *bg)
{
	struct snap_probe *p = bg->p;
	const struct snap_opts *o = bg->o;
	int rc;

	bg->rc = 0;
	if (p->hunt.active) {
		size_t share = p->sweep.active || bg->begin_sweep ? bg->budget / 2 : bg->budget;
		size_t left = share;

		rc = procmap_sweep_step(&p->pm, &p->hunt, &left, o->scan_pids, o->nscan_pids,
					&p->found, bg->err, sizeof(bg->err));
		bg->budget -= share - left;
		if (rc == -1)
			goto fail;
		bg->hunt_ended = rc == 1;
	}
	if (bg->begin_sweep) {
		struct pm_sweep_opts so = { .netns_ino = bg->netns_ino, .order = PM_SWEEP_BY_PID };

		if (procmap_sweep_begin(&p->pm, &p->sweep, &so, bg->err, sizeof(bg->err)) == -1)
			goto fail;
		bg->began = 1;
	}
	if (p->sweep.active && bg->budget > 0) {
		rc = procmap_sweep_step(&p->pm, &p->sweep, &bg->budget, o->scan_pids,
					o->nscan_pids, &p->found, bg->err, sizeof(bg->err));
		if (rc == -1)
			goto fail;
		bg->sweep_ended = rc == 1;
	}
	return;
fail:
	bg->rc = -1;
	bg->err_no = errno;
}

static void *snap_bg_run(void *arg)
{
	snap_bg_steps(arg);
	return NULL;
}

/* Folds what the passes read (p->found) into p->cache: see above. Entries of
 * o->scan_pids are left out (each take reads those processes itself). */
static int snap_cache_update(struct snap_probe *p, const struct snap_opts *o)
{
	struct pm_owners *c = &p->cache, *f = &p->found;
	size_t i, k = 0;

	if (f->nscanned > 1)
		qsort(f->scanned, f->nscanned, sizeof(*f->scanned), snap_cmp_fdcount);
	for (i = 0; i < c->len; i++) {
		const struct pm_owner *e = &c->v[i];
		uint32_t nfds;

		if (!snap_u32_has(p->inos, p->ninos, e->ino) ||
		    snap_pid_in(o->scan_pids, o->nscan_pids, e->pid) ||
		    pm_owners_nfds(f, e->pid, &nfds))
			continue;
		c->v[k++] = *e;
	}
	c->len = k;
	for (i = 0; i < f->len; i++) {
		const struct pm_owner *e = &f->v[i];

		if (!snap_u32_has(p->inos, p->ninos, e->ino) ||
		    snap_pid_in(o->scan_pids, o->nscan_pids, e->pid))
			continue;
		if (snap_grow((void **)&c->v, &c->cap, c->len + 1, sizeof(*c->v)) == -1)
			return -1;
		c->v[c->len++] = *e;
	}
	/* Filtering kept the order: only additions need a sort. A process
	 * read twice in one take (hunt and sweep) gives its sockets twice. */
	if (c->len > k) {
		qsort(c->v, c->len, sizeof(*c->v), snap_cmp_owner);
		for (i = k = 0; i < c->len; i++)
			if (k == 0 || snap_cmp_owner(&c->v[k - 1], &c->v[i]) != 0 ||
			    c->v[k - 1].fd != c->v[i].fd)
				c->v[k++] = c->v[i];
		c->len = k;
	}

	/* The fd counts: the latest of each process. */
	if (f->nscanned > 0) {
		size_t n = c->nscanned, j;

		if (snap_grow((void **)&c->scanned, &c->cap_scanned, n + f->nscanned,
			      sizeof(*c->scanned)) == -1)
			return -1;
		for (j = 0; j < f->nscanned; j++) {
			size_t lo = 0, hi = n;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (c->scanned[mid].pid < f->scanned[j].pid)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < n && c->scanned[lo].pid == f->scanned[j].pid)
				c->scanned[lo].nfds = f->scanned[j].nfds;
			else
				c->scanned[c->nscanned++] = f->scanned[j];
		}
		if (c->nscanned > n) {
			qsort(c->scanned, c->nscanned, sizeof(*c->scanned), snap_cmp_fdcount);
			for (i = k = 0; i < c->nscanned; i++)
				if (k == 0 || c->scanned[k - 1].pid != c->scanned[i].pid)
					c->scanned[k++] = c->scanned[i];
			c->nscanned = k;
		}
	}
	f->len = 0;
	f->nscanned = 0;
	return 0;
}

/* Whether some process is known to hold ino: in the take's own scan (s->owners,
 * sorted) or in the cache. */
static int snap_ino_owned(const struct snap_probe *p, const struct snapshot *s, uint32_t ino)
{
	return pm_owners_find(&s->owners, ino) != NULL || pm_owners_find(&p->cache, ino) != NULL;
}

/* The listening and half-closed inodes of the dump that no process is known
 * to hold and that no completed pass has looked for, into p->unknown
 * (ascending, distinct). */
static int snap_unknown(struct snap_probe *p, const struct snapshot *s)
{
	size_t i, k;

	p->nunknown = 0;
	for (i = 0; i < s->socks.len; i++) {
		const struct sd_sock *sk = &s->socks.socks[i];

		if (sk->ino == 0 || !snap_state_needs_owner(sk->state) ||
		    snap_u32_has(p->known, p->nknown, sk->ino) || snap_ino_owned(p, s, sk->ino))
			continue;
		if (snap_grow((void **)&p->unknown, &p->cap_unknown, p->nunknown + 1,
			      sizeof(*p->unknown)) == -1)
			return -1;
		p->unknown[p->nunknown++] = sk->ino;
	}
	if (p->nunknown > 1)
		qsort(p->unknown, p->nunknown, sizeof(*p->unknown), snap_cmp_u32);
	for (i = k = 0; i < p->nunknown; i++)
		if (k == 0 || p->unknown[k - 1] != p->unknown[i])
			p->unknown[k++] = p->unknown[i];
	p->nunknown = k;
	return 0;
}

/* A hunt has ended: the targets it did not see are known (looked for
 * everywhere). */
static int snap_hunt_ended(struct snap_probe *p)
{
	int rc = 0;

	if (p->hunt.nstop_left > 0)
		rc = snap_u32_union(&p->known, &p->nknown, &p->cap_known, p->targets,
				    p->ntargets, &p->u32_tmp, &p->cap_u32_tmp);
	p->ntargets = 0;
	return rc;
}

/* Ends the hunt early when every target is owned or gone. */
static void snap_hunt_check(struct snap_probe *p, const struct snapshot *s)
{
	size_t i;

	if (!p->hunt.active)
		return;
	for (i = 0; i < p->ntargets; i++)
		if (snap_u32_has(p->inos, p->ninos, p->targets[i]) &&
		    !snap_ino_owned(p, s, p->targets[i]))
			return;
	procmap_sweep_end(&p->hunt);
	p->ntargets = 0;
}

/* Adds the cache's owners (and fd counts) of processes outside
 * o->scan_pids to out (sorted, from the take's scan), keeping it sorted:
 * two sorted tables merged through p->merge. */
static int snap_cache_merge(struct snap_probe *p, const struct snap_opts *o,
			    struct pm_owners *out)
{
	const struct pm_owners *c = &p->cache;
	struct pm_owner *m;
	size_t i = 0, j = 0, k = 0, cap, n = out->nscanned;

	if (snap_grow((void **)&p->merge, &p->cap_merge, out->len + c->len + 1,
		      sizeof(*p->merge)) == -1)
		return -1;
	m = p->merge;
	while (i < out->len || j < c->len) {
		if (j < c->len && snap_pid_in(o->scan_pids, o->nscan_pids, c->v[j].pid)) {
			j++;
			continue;
		}
		if (j == c->len || (i < out->len && snap_cmp_owner(&out->v[i], &c->v[j]) <= 0))
			m[k++] = out->v[i++];
		else
			m[k++] = c->v[j++];
	}
	p->merge = out->v;
	cap = p->cap_merge;
	p->cap_merge = out->cap;
	out->v = m;
	out->cap = cap;
	out->len = k;
	for (i = 0; i < c->nscanned; i++) {
		if (snap_pid_in(o->scan_pids, o->nscan_pids, c->scanned[i].pid))
			continue;
		if (snap_grow((void **)&out->scanned, &out->cap_scanned, out->nscanned + 1,
			      sizeof(*out->scanned)) == -1)
			return -1;
		out->scanned[out->nscanned++] = c->scanned[i];
	}
	if (out->nscanned > n)
		qsort(out->scanned, out->nscanned, sizeof(*out->scanned), snap_cmp_fdcount);
	return 0;
}

/* Drops the owner entries of processes that are not in procs (exited). */
static void snap_owners_alive(struct pm_owners *o, const struct pm_procs *procs)
{
	size_t i, k = 0;

	for (i = 0; i < o->len; i++)
		if (pm_procs_find(procs, o->v[i].pid))
			o->v[k++] = o->v[i];
	o->len = k;
}

/* The cache after procmap_procs: entries of exited processes leave it, and
 * a known inode that thereby lost its last owner is known no more (the
 * socket lives on, so some other process holds it). */
static void snap_cache_alive(struct snap_probe *p, const struct snapshot *s)
{
	struct pm_owners *c = &p->cache;
	size_t i, k = 0, u = 0;

	for (i = 0; i < c->len; i++) {
		const struct pm_owner *e = &c->v[i];

		if (pm_procs_find(&s->procs, e->pid)) {
			c->v[k++] = *e;
			continue;
		}
		if (snap_u32_has(p->known, p->nknown, e->ino) &&
		    !pm_owners_find(&s->owners, e->ino)) {
			/* Marked for removal below; known stays sorted. */
			if (snap_grow((void **)&p->unknown, &p->cap_unknown, u + 1,
				      sizeof(*p->unknown)) == 0)
				p->unknown[u++] = e->ino;
		}
	}
	c->len = k;
	if (u == 0)
		return;
	qsort(p->unknown, u, sizeof(*p->unknown), snap_cmp_u32);
	for (i = k = 0; i < p->nknown; i++) {
		size_t lo = 0, hi = u;
		int drop = 0;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (p->unknown[mid] == p->known[i]) {
				drop = 1;
				break;
			}
			if (p->unknown[mid] < p->known[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!drop || pm_owners_find(c, p->known[i]))
			p->known[k++] = p->known[i];
	}
	p->nknown = k;
	p->nunknown = 0;
}

/* The owners of a take with o->scan_pids, after the dump (bg: the steps
 * run beside it): s->owners from the take's own scan and the cache. */
static int snap_owners_incremental(struct snap_probe *p, const struct snap_opts *o,
				   struct snapshot *s, struct snap_bg *bg,
				   char *err, size_t errlen)
{
	size_t left = bg->budget;
	int rc;

	if (bg->rc == -1) {
		snprintf(err, errlen, "%s", bg->err);
		errno = bg->err_no;
		return -1;
	}
	if (procmap_owners(&p->pm, p->inos, p->ninos, bg->netns_ino, o->scan_pids,
			   o->nscan_pids, &s->owners, err, errlen) == -1)
		return -1;
	if (bg->began) {
		/* What the sweep will have looked for everywhere: the inodes
		 * dumped before it began (at the first take, the ones it
		 * races with too). The fd counts of processes gone since the
		 * last sweep go. */
		const uint32_t *from = p->took ? p->prev_inos : p->inos;
		size_t n = p->took ? p->nprev_inos : p->ninos;
		size_t i, k = 0;

		if (snap_grow((void **)&p->cycle, &p->cap_cycle, n ? n : 1,
			      sizeof(*p->cycle)) == -1)
			goto nomem;
		if (n > 0)
			memcpy(p->cycle, from, n * sizeof(*p->cycle));
		p->ncycle = n;
		for (i = 0; i < p->cache.nscanned; i++) {
			pid_t pid = p->cache.scanned[i].pid;
			size_t lo = 0, hi = p->sweep.npids;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (p->sweep.pids[mid] < pid)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < p->sweep.npids && p->sweep.pids[lo] == pid)
				p->cache.scanned[k++] = p->cache.scanned[i];
		}
		p->cache.nscanned = k;
		p->since_full = 0;
	}
	if (snap_cache_update(p, o) == -1)
		goto nomem;
	if (bg->sweep_ended) {
		if (snap_u32_union(&p->known, &p->nknown, &p->cap_known, p->cycle, p->ncycle,
				   &p->u32_tmp, &p->cap_u32_tmp) == -1)
			goto nomem;
		p->ncycle = 0;
		p->cache_ok = 1;
		p->full_scans++;
		p->sweep_denied = p->sweep.denied;
	}
	if (bg->hunt_ended && snap_hunt_ended(p) == -1)
		goto nomem;
	snap_u32_keep(p->known, &p->nknown, p->inos, p->ninos);
	snap_hunt_check(p, s);

	/* A new hunt, with what is left of the budget. Inodes found unknown
	 * while a hunt runs wait for it to end (it has passed processes by
	 * already). */
	if (!p->hunt.active && snap_unknown(p, s) == -1)
		goto nomem;
	if (!p->hunt.active && p->nunknown > 0) {
		struct pm_sweep_opts ho = {
			.netns_ino = bg->netns_ino, .order = PM_SWEEP_BY_SIZE,
			.hint = p->cache.scanned, .nhint = p->cache.nscanned,
			.stop = p->unknown, .nstop = p->nunknown,
		};

		if (procmap_sweep_begin(&p->pm, &p->hunt, &ho, err, errlen) == -1)
			return -1;
		if (snap_grow((void **)&p->targets, &p->cap_targets, p->nunknown,
			      sizeof(*p->targets)) == -1)
			goto nomem;
		memcpy(p->targets, p->unknown, p->nunknown * sizeof(*p->targets));
		p->ntargets = p->nunknown;
		p->hunts++;
		if (left > 0) {
			rc = procmap_sweep_step(&p->pm, &p->hunt, &left, o->scan_pids,
						o->nscan_pids, &p->found, err, errlen);
			if (rc == -1)
				return -1;
			if (snap_cache_update(p, o) == -1)
				goto nomem;
			if (rc == 1 && snap_hunt_ended(p) == -1)
				goto nomem;
			snap_hunt_check(p, s);
		}
	}
	p->last_read = snap_budget(o) - left;
	p->since_full++;
	if (snap_cache_merge(p, o, &s->owners) == -1)
		goto nomem;
	s->owners_partial = 1;
	return 0;
nomem:
	snprintf(err, errlen, "snapshot: %s", strerror(errno));
	return -1;
}

int snapshot_take(struct snap_probe *p, const struct snap_opts *o, struct snapshot *s,
		  char *err, size_t errlen)
{
	struct sd_filter f;
	struct snap_scan scan;
	struct snap_bg bg;
	pthread_t tid;
	uint64_t ns_ino = 0;
	size_t i;
	int incremental, scanning = 0, stepping = 0, dumped;

	if (!p->open) {
		snprintf(err, errlen, "snapshot: probe not open");
		errno = EINVAL;
		return -1;
	}
	if (o->nports > SD_MAX_PORTS) {
		snprintf(err, errlen, "snapshot: at most %d ports", SD_MAX_PORTS);
		errno = EINVAL;
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.family = 0;
	f.want_info = o->want_info ? 1 : 0;
	f.states = SD_STATES_ALL;
	f.port_match = SD_PORT_LOCAL | SD_PORT_REMOTE;
	f.nports = (unsigned)o->nports;
	for (i = 0; i < o->nports; i++)
		f.ports[i] = o->ports[i];

	if (netns_ino(o->nsfd, &ns_ino) == -1) {
		snprintf(err, errlen, "snapshot: network namespace inode: %s", strerror(errno));
		return -1;
	}
	s->owners.len = 0;
	s->procs.len = 0;
	s->have_owners = 0;
	s->owners_partial = 0;
	s->denied = 0;
	if (o->want_owners && !p->pm_ready) {
		if (procmap_init(&p->pm, o->procroot, err, errlen) == -1)
			return -1;
		p->pm_ready = 1;
	}
	incremental = o->want_owners && o->nscan_pids > 0;
	/* Only processes of the dumped namespace can own its sockets (short
	 * of fd passing across namespaces, which is not followed). Under an
	 * injected /proc root the namespace inodes of the fake tree are not
	 * comparable to ours, so the scan is not restricted. */
	memset(&scan, 0, sizeof(scan));
	scan.pm = &p->pm;
	scan.netns_ino = o->procroot ? 0 : ns_ino;
	scan.out = &s->owners;
	scan.rc = -1;
	memset(&bg, 0, sizeof(bg));
	bg.p = p;
	bg.o = o;
	bg.netns_ino = scan.netns_ino;
	bg.budget = snap_budget(o);
	/* The costs of a pass, the dump and the /proc reads, are both CPU in
	 * the kernel: they run at once. */
	if (incremental) {
		unsigned every = o->full_every ? o->full_every : SNAP_FULL_EVERY;

		bg.begin_sweep = !p->sweep.active && (!p->sweep_begun || p->since_full >= every);
		if (bg.begin_sweep) {
			/* The inodes dumped before the sweep begins: the last take's. */
			if (snap_grow((void **)&p->prev_inos, &p->cap_prev_inos,
				      p->ninos ? p->ninos : 1, sizeof(*p->prev_inos)) == -1) {
				snprintf(err, errlen, "snapshot: %s", strerror(errno));
				return -1;
			}
			if (p->ninos > 0)
				memcpy(p->prev_inos, p->inos, p->ninos * sizeof(*p->inos));
			p->nprev_inos = p->ninos;
			p->sweep_begun = 1;
		}
		p->found.len = 0;
		p->found.nscanned = 0;
		stepping = pthread_create(&tid, NULL, snap_bg_run, &bg) == 0;
	} else if (o->want_owners) {
		scanning = pthread_create(&tid, NULL, snap_scan_run, &scan) == 0;
	}
	dumped = sockdiag_dump(&p->sd, &f, &s->socks, err, errlen);
	if (scanning || stepping)
		pthread_join(tid, NULL);
	else if (incremental)
		snap_bg_steps(&bg);
	if (dumped == -1)
		return -1;
	s->t_mono_ms = clock_mono_ms();
	s->t_real_ms = clock_real_ms();
	s->netns_ino = ns_ino;

	if (o->want_owners) {
		if (snap_collect_inos(p, &s->socks) == -1) {
			snprintf(err, errlen, "snapshot: %s", strerror(errno));
			return -1;
		}
		if (scanning) {
			if (scan.rc == -1) {
				snprintf(err, errlen, "%s", scan.err);
				errno = scan.err_no;
				return -1;
			}
			snap_owners_keep(&s->owners, p->inos, p->ninos);
		} else if (incremental) {
			if (snap_owners_incremental(p, o, s, &bg, err, errlen) == -1)
				return -1;
		} else if (procmap_owners(&p->pm, p->inos, p->ninos, scan.netns_ino, NULL, 0,
					  &s->owners, err, errlen) == -1) {
			return -1;
		}
		p->took = 1;
		s->denied = p->pm.denied + (incremental ? p->sweep_denied : 0);
		if (procmap_procs(&p->pm, &s->owners, &s->procs) == -1) {
			snprintf(err, errlen, "snapshot: process facts: %s", strerror(errno));
			return -1;
		}
		if (incremental) {
			snap_owners_alive(&s->owners, &s->procs);
			snap_cache_alive(p, s);
		}
		s->have_owners = 1;
	}
	if (kernel_read(o->nsfd, o->procroot, &s->kernel, err, errlen) == -1)
		return -1;
	s->links.len = 0;
	if (o->want_links && linkstats_read(o->nsfd, &s->links, err, errlen) == -1)
		return -1;
	if (snapshot_group(s) == -1) {
		snprintf(err, errlen, "snapshot: grouping: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int snap_cmp_owner(const void *a, const void *b)
{
	const struct pm_owner *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int snap_cmp_proc(const void *a, const void *b)
{
	const struct pm_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Orders listening addresses by (port, family, addr) and then by inode. */
static int snap_cmp_laddr(const struct sd_sock *x, unsigned family, const uint8_t *addr,
			  unsigned port)
{
	int c;

	if (x->lport != port)
		return x->lport < port ? -1 : 1;
	if (x->family != family)
		return x->family < family ? -1 : 1;
	c = memcmp(x->laddr, addr, sizeof(x->laddr));
	return (c > 0) - (c < 0);
}

/* Sorts indices into the socket table (the qsort_r context). */
static int snap_cmp_lidx(const void *a, const void *b, void *ctx)
{
	const struct sd_sock *socks = ctx;
	const struct sd_sock *x = &socks[*(const size_t *)a];
	const struct sd_sock *y = &socks[*(const size_t *)b];
	int c;

	c = snap_cmp_laddr(x, y->family, y->laddr, y->lport);
	if (c != 0)
		return c;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

static int snap_owners_sorted(const struct pm_owners *o)
{
	size_t i;

	for (i = 1; i < o->len; i++)
		if (snap_cmp_owner(&o->v[i - 1], &o->v[i]) > 0)
			return 0;
	return 1;
}

static int snap_procs_sorted(const struct pm_procs *p)
{
	size_t i;

	for (i = 1; i < p->len; i++)
		if (p->v[i - 1].pid > p->v[i].pid)
			return 0;
	return 1;
}

/* First owner entry of ino in the sorted owners table, or its length. */
static size_t snap_owner_first(const struct pm_owners *o, uint32_t ino)
{
	size_t lo = 0, hi = o->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->v[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int snap_group_listeners(struct snapshot *s)
{
	size_t i, nl = 0;

	for (i = 0; i < s->socks.len; i++)
		if (s->socks.socks[i].state == SD_LISTEN)
			nl++;
	if (snap_grow((void **)&s->lidx, &s->cap_lidx, nl ? nl : 1, sizeof(*s->lidx)) == -1 ||
	    snap_grow((void **)&s->lsocks, &s->cap_lsocks, nl ? nl : 1, sizeof(*s->lsocks)) == -1 ||
	    snap_grow((void **)&s->listeners, &s->cap_listeners, nl ? nl : 1,
		      sizeof(*s->listeners)) == -1)
		return -1;
	nl = 0;
	for (i = 0; i < s->socks.len; i++)
		if (s->socks.socks[i].state == SD_LISTEN)
			s->lidx[nl++] = i;
	if (nl > 1)
		qsort_r(s->lidx, nl, sizeof(*s->lidx), snap_cmp_lidx, s->socks.socks);

	s->nlisteners = 0;
	s->nlsocks = 0;
	s->nowner_pids = 0;
	for (i = 0; i < nl; i++) {
		const struct sd_sock *k = &s->socks.socks[s->lidx[i]];
		struct snap_listener *l;
		struct snap_lsock *ls;
		size_t j;

		l = s->nlisteners ? &s->listeners[s->nlisteners - 1] : NULL;
		if (!l || snap_cmp_laddr(k, l->family, l->addr, l->port) != 0) {
			l = &s->listeners[s->nlisteners++];
			memset(l, 0, sizeof(*l));
			l->family = k->family;
			memcpy(l->addr, k->laddr, sizeof(l->addr));
			l->port = k->lport;
			l->first_lsock = s->nlsocks;
		}
		l->nlsocks++;
		ls = &s->lsocks[s->nlsocks++];
		memset(ls, 0, sizeof(*ls));
		ls->ino = k->ino;
		ls->cookie = k->cookie;
		ls->rqueue = k->rqueue;
		ls->wqueue = k->wqueue;
		ls->uid = k->uid;
		ls->first_owner = s->nowner_pids;
		if (!s->have_owners || k->ino == 0)
			continue;
		for (j = snap_owner_first(&s->owners, k->ino);
		     j < s->owners.len && s->owners.v[j].ino == k->ino; j++) {
			pid_t pid = s->owners.v[j].pid;

			if (ls->nowners && s->owner_pids[s->nowner_pids - 1] == pid)
				continue;
			if (snap_grow((void **)&s->owner_pids, &s->cap_owner_pids,
				      s->nowner_pids + 1, sizeof(*s->owner_pids)) == -1)
				return -1;
			s->owner_pids[s->nowner_pids++] = pid;
			ls->nowners++;
		}
	}
	return 0;
}

/* LSD radix sort of the keys by (pid, lport), a byte a pass, skipping the
 * bytes every key shares. Returns the array with the result. */
static struct snap_key *snap_radix_keys(struct snap_key *v, struct snap_key *tmp, size_t n)
{
	size_t count[256];
	uint64_t all_or = 0, all_and = UINT64_MAX, k;
	unsigned shift;
	size_t i;

#define SNAP_KEY(e) ((uint64_t)(uint32_t)(e).pid << 16 | (e).lport)
	for (i = 0; i < n; i++) {
		k = SNAP_KEY(v[i]);
		all_or |= k;
		all_and &= k;
	}
	for (shift = 0; shift < 48; shift += 8) {
		struct snap_key *t;
		size_t sum = 0;

		if ((((all_or ^ all_and) >> shift) & 0xff) == 0)
			continue;
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(SNAP_KEY(v[i]) >> shift) & 0xff]++;
		for (i = 0; i < 256; i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[(SNAP_KEY(v[i]) >> shift) & 0xff]++] = v[i];
		t = v;
		v = tmp;
		tmp = t;
	}
#undef SNAP_KEY
	return v;
}

/* s->sock_order: the sockets with an inode, as (ino << 32 | index), sorted
 * by inode, so that they meet the owner table (sorted by inode) in one
 * walk rather than a search each. Returns how many. */
static int snap_sock_order(struct snapshot *s, size_t *n)
{
	uint64_t *v, *tmp, *t;
	size_t count[256];
	uint32_t all_or = 0, all_and = UINT32_MAX;
	unsigned shift;
	size_t i, m = 0;

	if (s->socks.len > UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if (snap_grow((void **)&s->sock_order, &s->cap_sock_order,
		      s->socks.len ? 2 * s->socks.len : 2, sizeof(*s->sock_order)) == -1)
		return -1;
	v = s->sock_order;
	tmp = v + s->socks.len;
	for (i = 0; i < s->socks.len; i++) {
		uint32_t ino = s->socks.socks[i].ino;

		if (ino == 0)
			continue;
		v[m++] = (uint64_t)ino << 32 | i;
		all_or |= ino;
		all_and &= ino;
	}
	for (shift = 32; shift < 64; shift += 8) {
		size_t sum = 0;

		if ((((all_or ^ all_and) >> (shift - 32)) & 0xff) == 0)
			continue;
		memset(count, 0, sizeof(count));
		for (i = 0; i < m; i++)
			count[(v[i] >> shift) & 0xff]++;
		for (i = 0; i < 256; i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < m; i++)
			tmp[count[(v[i] >> shift) & 0xff]++] = v[i];
		t = v;
		v = tmp;
		tmp = t;
	}
	if (v != s->sock_order)
		memcpy(s->sock_order, v, m * sizeof(*v));
	*n = m;
	return 0;
}

/* Appends key for socket k with owner pid to s->keys. */
static int snap_key_push(struct snapshot *s, size_t *nk, const struct sd_sock *k, pid_t pid)
{
	struct snap_key *key;

	if (*nk == s->cap_keys &&
	    snap_grow((void **)&s->keys, &s->cap_keys, *nk + 1, sizeof(*s->keys)) == -1)
		return -1;
	key = &s->keys[(*nk)++];
	memset(key, 0, sizeof(*key));
	key->pid = pid;
	key->lport = k->lport;
	key->state = k->state;
	if (k->has_info) {
		uint32_t idle = k->info.last_data_recv;

		if (k->info.last_data_sent < idle)
			idle = k->info.last_data_sent;
		if (k->info.last_ack_recv < idle)
			idle = k->info.last_ack_recv;
		key->idle_ms = idle;
		key->has_idle = 1;
	}
	return 0;
}

/* One key per (socket, distinct owner pid), pid 0 for a socket without a
 * visible owner; sorted by (pid, lport) and folded into s->counts. */
static int snap_group_counts(struct snapshot *s)
{
	const struct pm_owners *o = &s->owners;
	struct snap_key *sorted;
	size_t i, j = 0, m = 0, nk = 0;

	memset(s->state_total, 0, sizeof(s->state_total));
	s->ncounts = 0;
	for (i = 0; i < s->socks.len; i++) {
		const struct sd_sock *k = &s->socks.socks[i];

		if (k->state >= SD_NSTATES)
			continue;
		s->state_total[k->state]++;
		if (s->have_owners && k->ino != 0)
			continue; /* below, in inode order */
		if (snap_key_push(s, &nk, k, 0) == -1)
			return -1;
	}
	if (s->have_owners) {
		if (snap_sock_order(s, &m) == -1)
			return -1;
		for (i = 0; i < m; i++) {
			const struct sd_sock *k = &s->socks.socks[(uint32_t)s->sock_order[i]];
			uint32_t ino = (uint32_t)(s->sock_order[i] >> 32);
			size_t nown = 0, e;

			if (k->state >= SD_NSTATES)
				continue;
			while (j < o->len && o->v[j].ino < ino)
				j++;
			for (e = j; e < o->len && o->v[e].ino == ino; e++) {
				if (nown && o->v[e].pid == o->v[e - 1].pid)
					continue;
				if (snap_key_push(s, &nk, k, o->v[e].pid) == -1)
					return -1;
				nown++;
			}
			if (nown == 0 && snap_key_push(s, &nk, k, 0) == -1)
				return -1;
		}
	}
	if (snap_grow((void **)&s->keys_tmp, &s->cap_keys_tmp, nk ? nk : 1,
		      sizeof(*s->keys_tmp)) == -1)
		return -1;
	sorted = snap_radix_keys(s->keys, s->keys_tmp, nk);
	for (i = 0; i < nk; i++) {
		const struct snap_key *key = &sorted[i];
		struct snap_count *c;

		c = s->ncounts ? &s->counts[s->ncounts - 1] : NULL;
		if (!c || c->pid != key->pid || c->lport != key->lport) {
			if (snap_grow((void **)&s->counts, &s->cap_counts, s->ncounts + 1,
				      sizeof(*s->counts)) == -1)
				return -1;
			c = &s->counts[s->ncounts++];
			memset(c, 0, sizeof(*c));
			c->pid = key->pid;
			c->lport = key->lport;
		}
		c->n[key->state]++;
		if (key->has_idle && key->idle_ms > c->oldest_idle_ms[key->state])
			c->oldest_idle_ms[key->state] = key->idle_ms;
		if (key->state == SD_LISTEN)
			c->is_listen_port = 1;
	}
	return 0;
}

int snapshot_group(struct snapshot *s)
{
	if (s->have_owners && !snap_owners_sorted(&s->owners))
		qsort(s->owners.v, s->owners.len, sizeof(*s->owners.v), snap_cmp_owner);
	if (!snap_procs_sorted(&s->procs))
		qsort(s->procs.v, s->procs.len, sizeof(*s->procs.v), snap_cmp_proc);
	if (snap_group_listeners(s) == -1)
		return -1;
	return snap_group_counts(s);
}

void snapshot_free(struct snapshot *s)
{
	free(s->sock_order);
	free(s->keys_tmp);
	free(s->lidx);
	free(s->keys);
	free(s->counts);
	free(s->owner_pids);
	free(s->lsocks);
	free(s->listeners);
	ls_table_free(&s->links);
	pm_procs_free(&s->procs);
	pm_owners_free(&s->owners);
	sd_table_free(&s->socks);
	memset(s, 0, sizeof(*s));
}

const struct snap_count *snapshot_count_find(const struct snapshot *s, pid_t pid, uint16_t lport)
{
	size_t lo = 0, hi = s->ncounts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct snap_count *c = &s->counts[mid];

		if (c->pid == pid && c->lport == lport)
			return c;
		if (c->pid < pid || (c->pid == pid && c->lport < lport))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct snap_listener *snapshot_listener_find(const struct snapshot *s, unsigned family,
						   const uint8_t *addr, uint16_t port)
{
	size_t lo = 0, hi = s->nlisteners;
	struct sd_sock key;

	memset(&key, 0, sizeof(key));
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct snap_listener *l = &s->listeners[mid];
		int c;

		key.family = l->family;
		key.lport = l->port;
		memcpy(key.laddr, l->addr, sizeof(key.laddr));
		c = snap_cmp_laddr(&key, family, addr, port);
		if (c == 0)
			return l;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int snapshot_port_listened(const struct snapshot *s, uint16_t port)
{
	size_t lo = 0, hi = s->nlisteners;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->listeners[mid].port == port)
			return 1;
		if (s->listeners[mid].port < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}
