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
	pm_owners_free(&p->cache);
	free(p->known);
	p->known = NULL;
	p->nknown = 0;
	p->cap_known = 0;
	p->cache_ok = 0;
	p->since_full = 0;
	free(p->inos_tmp);
	p->inos_tmp = NULL;
	p->cap_inos_tmp = 0;
	free(p->inos);
	p->inos = NULL;
	p->ninos = 0;
	p->cap_inos = 0;
	p->open = 0;
	p->pm_ready = 0;
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

#define SNAP_FULL_EVERY 10u

static int snap_cmp_owner(const void *a, const void *b);

static int snap_cmp_fdcount(const void *a, const void *b)
{
	const struct pm_fdcount *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
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

/* The states whose owners the detectors need from every process. */
static int snap_state_needs_owner(unsigned st)
{
	return st < SD_NSTATES &&
	       ((SD_STATE_BIT(SD_LISTEN) | SD_STATES_HALF_CLOSED) & SD_STATE_BIT(st));
}

/* Records the result of a full scan (s->owners, p->inos) as the cache. */
static int snap_cache_fill(struct snap_probe *p, const struct pm_owners *o)
{
	struct pm_owners *c = &p->cache;

	if (snap_grow((void **)&c->v, &c->cap, o->len ? o->len : 1, sizeof(*c->v)) == -1 ||
	    snap_grow((void **)&c->scanned, &c->cap_scanned, o->nscanned ? o->nscanned : 1,
		      sizeof(*c->scanned)) == -1 ||
	    snap_grow((void **)&p->known, &p->cap_known, p->ninos ? p->ninos : 1,
		      sizeof(*p->known)) == -1)
		return -1;
	memcpy(c->v, o->v, o->len * sizeof(*c->v));
	c->len = o->len;
	memcpy(c->scanned, o->scanned, o->nscanned * sizeof(*c->scanned));
	c->nscanned = o->nscanned;
	memcpy(p->known, p->inos, p->ninos * sizeof(*p->known));
	p->nknown = p->ninos;
	p->cache_ok = 1;
	p->since_full = 0;
	p->full_scans++;
	return 0;
}

/* Adds to out the cached owners (and fd counts) of processes outside
 * o->scan_pids, for the inodes still dumped; out is then sorted. */
static int snap_cache_merge(struct snap_probe *p, const struct snap_opts *o,
			    struct pm_owners *out)
{
	struct pm_owners *c = &p->cache;
	size_t i;

	snap_owners_keep(c, p->inos, p->ninos);
	snap_u32_keep(p->known, &p->nknown, p->inos, p->ninos);
	for (i = 0; i < c->len; i++) {
		if (snap_pid_in(o->scan_pids, o->nscan_pids, c->v[i].pid))
			continue;
		if (snap_grow((void **)&out->v, &out->cap, out->len + 1, sizeof(*out->v)) == -1)
			return -1;
		out->v[out->len++] = c->v[i];
	}
	for (i = 0; i < c->nscanned; i++) {
		if (snap_pid_in(o->scan_pids, o->nscan_pids, c->scanned[i].pid))
			continue;
		if (snap_grow((void **)&out->scanned, &out->cap_scanned, out->nscanned + 1,
			      sizeof(*out->scanned)) == -1)
			return -1;
		out->scanned[out->nscanned++] = c->scanned[i];
	}
	qsort(out->v, out->len, sizeof(*out->v), snap_cmp_owner);
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

/* Owners for a take with o->scan_pids (see snapshot_take): s->owners and
 * s->owners_partial. */
static int snap_full_due(const struct snap_probe *p, const struct snap_opts *o)
{
	unsigned every = o->full_every ? o->full_every : SNAP_FULL_EVERY;

	return !p->cache_ok || p->since_full + 1 >= every;
}

/* full_done: s->owners already holds a full scan's (run beside the dump). */
static int snap_owners_partial(struct snap_probe *p, const struct snap_opts *o,
			       struct snapshot *s, uint64_t netns_ino, int full_done,
			       char *err, size_t errlen)
{
	int full = full_done || snap_full_due(p, o);
	size_t i;

	if (!full) {
		if (procmap_owners(&p->pm, p->inos, p->ninos, netns_ino, o->scan_pids,
				   o->nscan_pids, &s->owners, err, errlen) == -1)
			return -1;
		for (i = 0; i < s->socks.len && !full; i++) {
			const struct sd_sock *k = &s->socks.socks[i];

			if (k->ino == 0 || !snap_state_needs_owner(k->state))
				continue;
			if (!snap_u32_has(p->known, p->nknown, k->ino) &&
			    !pm_owners_find(&s->owners, k->ino))
				full = 1;
		}
	}
	if (full) {
		if (!full_done && procmap_owners(&p->pm, p->inos, p->ninos, netns_ino, NULL, 0,
						 &s->owners, err, errlen) == -1)
			return -1;
		if (snap_cache_fill(p, &s->owners) == -1)
			goto nomem;
		s->owners_partial = 0;
		return 0;
	}
	p->since_full++;
	if (snap_cache_merge(p, o, &s->owners) == -1)
		goto nomem;
	s->owners_partial = 1;
	return 0;
nomem:
	snprintf(err, errlen, "snapshot: %s", strerror(errno));
	return -1;
}

/* The /proc scan, run beside the sock_diag dump: it reads the owners of
 * every socket, the dump tells afterwards which ones are wanted. */
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

int snapshot_take(struct snap_probe *p, const struct snap_opts *o, struct snapshot *s,
		  char *err, size_t errlen)
{
	struct sd_filter f;
	struct snap_scan scan;
	pthread_t scan_tid;
	uint64_t ns_ino = 0;
	size_t i;
	int scanning = 0, dumped;

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
	/* Only processes of the dumped namespace can own its sockets (short
	 * of fd passing across namespaces, which is not followed). Under an
	 * injected /proc root the namespace inodes of the fake tree are not
	 * comparable to ours, so the scan is not restricted. */
	memset(&scan, 0, sizeof(scan));
	scan.pm = &p->pm;
	scan.netns_ino = o->procroot ? 0 : ns_ino;
	scan.out = &s->owners;
	scan.rc = -1;
	/* The two costs of a pass, the dump and the /proc scan, are both CPU
	 * in the kernel: they run at once. */
	if (o->want_owners && (o->nscan_pids == 0 || snap_full_due(p, o)))
		scanning = pthread_create(&scan_tid, NULL, snap_scan_run, &scan) == 0;
	dumped = sockdiag_dump(&p->sd, &f, &s->socks, err, errlen);
	if (scanning)
		pthread_join(scan_tid, NULL);
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
		}
		if (o->nscan_pids) {
			if (snap_owners_partial(p, o, s, scan.netns_ino, scanning, err,
						errlen) == -1)
				return -1;
		} else if (!scanning &&
			   procmap_owners(&p->pm, p->inos, p->ninos, scan.netns_ino, NULL, 0,
					  &s->owners, err, errlen) == -1) {
			return -1;
		}
		s->denied = p->pm.denied;
		if (procmap_procs(&p->pm, &s->owners, &s->procs) == -1) {
			snprintf(err, errlen, "snapshot: process facts: %s", strerror(errno));
			return -1;
		}
		if (s->owners_partial) {
			snap_owners_alive(&s->owners, &s->procs);
			snap_owners_alive(&p->cache, &s->procs);
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
