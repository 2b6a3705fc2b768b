#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probes/procmap.h"

/* getdents64 buffer: large enough that a process with 100k fds is listed in
 * a few dozen calls. */
#define PM_DENTS_SIZE (64 * 1024)
/* Threads reading fd tables at once: one per CPU (the caller's included),
 * at most this many. Reading /proc/PID/fd costs a few microseconds per fd,
 * all of it CPU in the kernel, so it scales with the CPUs. */
#define PM_MAX_WORKERS 8

struct pm_pass;

/* One thread's share of a pass. Each worker writes only its own arrays; the
 * pass merges them once every worker has stopped. A worker takes pid slots
 * in ascending order, so its sockets come grouped by ascending pid, each
 * process's in fd order (the order /proc lists them). */
struct pm_worker {
	struct pm_pass *pass;
	char *dents;             /* fd directory listing */
	struct pm_owner *v;      /* every socket fd seen: (ino, pid, fd) */
	size_t len, cap;
	struct pm_fdcount *scanned;
	size_t nscanned, cap_scanned;
	unsigned denied, vanished;
	int nomem;
	pthread_t tid;
	int started;
};

/* One procmap_owners() pass. */
struct pm_pass {
	int rootfd;
	uint64_t netns_ino;
	int links;               /* read the fd links (some socket is asked for) */
	pid_t *pids;             /* processes to scan, ascending, distinct */
	size_t npids;
	atomic_size_t next;      /* next pid slot to take */
	atomic_int nomem;        /* some worker ran out of memory: all stop */
	struct pm_worker w[PM_MAX_WORKERS];
	unsigned nworkers;
};

static void pm_err(char *err, size_t errlen, const char *what, const char *path, int e)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
}

/* A process that vanished reports ENOENT or ESRCH depending on where in
 * /proc it was caught. */
static int pm_gone(int e)
{
	return e == ENOENT || e == ESRCH;
}

static void pm_count_failure(struct pm_worker *w, int e)
{
	if (pm_gone(e))
		w->vanished++;
	else
		w->denied++;
}

/* Reads at most len - 1 bytes of dirfd/name and NUL-terminates. Returns the
 * length, or -1 with errno. */
static ssize_t pm_read_at(int dirfd, const char *name, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;
	int e;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	while (off < len - 1) {
		n = read(fd, buf + off, len - 1 - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	return (ssize_t)off;
}

/* Parses a decimal number at *p, advancing p; -1 when there is none. */
static int pm_parse_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');

		if (x > UINT64_MAX / 10 || (x == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		x = x * 10 + d;
		s++;
	}
	*p = s;
	*v = x;
	return 0;
}

/* "net:[4026531993]" -> 4026531993; 0 when the link has another shape. */
static uint64_t pm_parse_nslink(const char *link)
{
	const char *p = link;
	uint64_t v;

	if (strncmp(p, "net:[", 5) != 0)
		return 0;
	p += 5;
	if (pm_parse_u64(&p, &v) == -1 || *p != ']')
		return 0;
	return v;
}

int procmap_init(struct procmap *pm, const char *root, char *err, size_t errlen)
{
	char path[PATH_MAX + 8];
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;
	int rc = -1;

	memset(pm, 0, sizeof(*pm));
	if (root == NULL)
		root = "/proc";
	if (strlen(root) >= sizeof(pm->root)) {
		pm_err(err, errlen, "procmap", root, ENAMETOOLONG);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(pm->root, root);
	pm->clk_tck = sysconf(_SC_CLK_TCK);
	if (pm->clk_tck <= 0)
		pm->clk_tck = 100;

	/* ROOT/stat has per-cpu and interrupt lines of any length before btime. */
	snprintf(path, sizeof(path), "%s/stat", root);
	f = fopen(path, "re");
	if (f == NULL) {
		pm_err(err, errlen, "open", path, errno);
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		const char *p = line;
		uint64_t v;

		if (strncmp(p, "btime ", 6) != 0)
			continue;
		p += 6;
		if (pm_parse_u64(&p, &v) == 0) {
			pm->btime_ms = v * 1000;
			found = 1;
		}
		break;
	}
	if (ferror(f)) {
		pm_err(err, errlen, "read", path, errno);
		goto out;
	}
	if (!found) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: no btime line", path);
		errno = EINVAL;
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}

/* Grows *v to hold at least need elements of size sz; 0 or -1 (ENOMEM). */
static int pm_grow(void **v, size_t *cap, size_t need, size_t sz, size_t min)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : min;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / sz) {
			errno = ENOMEM;
			return -1;
		}
		ncap *= 2;
	}
	p = realloc(*v, ncap * sz);
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	*v = p;
	*cap = ncap;
	return 0;
}

static int pm_owner_push(struct pm_worker *w, uint32_t ino, pid_t pid, int fd)
{
	if (w->len == w->cap &&
	    pm_grow((void **)&w->v, &w->cap, w->len + 1, sizeof(*w->v), 256) == -1)
		return -1;
	w->v[w->len].ino = ino;
	w->v[w->len].pid = pid;
	w->v[w->len].fd = fd;
	w->len++;
	return 0;
}

static int pm_scanned_push(struct pm_worker *w, pid_t pid, uint32_t nfds)
{
	if (w->nscanned == w->cap_scanned &&
	    pm_grow((void **)&w->scanned, &w->cap_scanned, w->nscanned + 1,
		    sizeof(*w->scanned), 64) == -1)
		return -1;
	w->scanned[w->nscanned].pid = pid;
	w->scanned[w->nscanned].nfds = nfds;
	w->nscanned++;
	return 0;
}

/* Whether fd entry name of fddir is a socket: 1 with its inode, else 0 (an
 * fd closed since the listing is simply not there). */
static int pm_fd_socket(int fddir, const char *name, uint32_t *ino)
{
	char link[64];
	const char *p;
	uint64_t v;
	ssize_t n;

	n = readlinkat(fddir, name, link, sizeof(link) - 1);
	if (n == -1 || n < 9 || memcmp(link, "socket:[", 8) != 0)
		return 0;
	link[n] = '\0';
	p = link + 8;
	if (pm_parse_u64(&p, &v) == -1 || *p != ']' || v > UINT32_MAX)
		return 0;
	*ino = (uint32_t)v;
	return 1;
}

/* Whether the process of piddir is in network namespace netns_ino: 1, 0,
 * or -1 with errno. */
static int pm_in_netns(int piddir, uint64_t netns_ino)
{
	char link[64];
	ssize_t n;

	n = readlinkat(piddir, "ns/net", link, sizeof(link) - 1);
	if (n == -1)
		return -1;
	link[n] = '\0';
	return pm_parse_nslink(link) == netns_ino;
}

/* Reads the fd table of one process, recording every socket fd. Failures
 * to open it are counted, not errors; only ENOMEM stops the pass. */
static void pm_scan_pid(struct pm_worker *w, pid_t pid)
{
	const struct pm_pass *ps = w->pass;
	char name[24];
	uint32_t nfds = 0, ino;
	int piddir, fddir = -1;

	snprintf(name, sizeof(name), "%ld", (long)pid);
	piddir = openat(ps->rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (piddir == -1) {
		pm_count_failure(w, errno);
		return;
	}
	/* The namespace check comes first: most processes of a busy host are
	 * skipped here without listing their fds. */
	if (ps->netns_ino != 0) {
		int in = pm_in_netns(piddir, ps->netns_ino);

		if (in == -1)
			pm_count_failure(w, errno);
		if (in != 1)
			goto out;
	}
	fddir = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fddir == -1) {
		pm_count_failure(w, errno);
		goto out;
	}
	for (;;) {
		ssize_t len = getdents64(fddir, w->dents, PM_DENTS_SIZE);
		ssize_t off;

		if (len == -1) {
			if (errno == EINTR)
				continue;
			pm_count_failure(w, errno);
			goto out;
		}
		if (len == 0)
			break;
		for (off = 0; off < len;) {
			struct dirent64 *d = (struct dirent64 *)(w->dents + off);
			const char *p = d->d_name;
			uint64_t fd;

			off += d->d_reclen;
			if (pm_parse_u64(&p, &fd) == -1 || *p != '\0' || fd > INT32_MAX)
				continue;
			nfds++;
			if (!ps->links || !pm_fd_socket(fddir, d->d_name, &ino))
				continue;
			if (pm_owner_push(w, ino, pid, (int)fd) == -1) {
				w->nomem = 1;
				goto out;
			}
		}
	}
	if (pm_scanned_push(w, pid, nfds) == -1)
		w->nomem = 1;
out:
	if (fddir != -1)
		close(fddir);
	close(piddir);
}

/* Takes pid slots until none is left (or memory ran out somewhere). */
static void *pm_work(void *arg)
{
	struct pm_worker *w = arg;
	struct pm_pass *ps = w->pass;
	size_t i;

	while (!atomic_load_explicit(&ps->nomem, memory_order_relaxed)) {
		i = atomic_fetch_add_explicit(&ps->next, 1, memory_order_relaxed);
		if (i >= ps->npids)
			break;
		pm_scan_pid(w, ps->pids[i]);
		if (w->nomem) {
			atomic_store_explicit(&ps->nomem, 1, memory_order_relaxed);
			break;
		}
	}
	return NULL;
}

/* CPUs this process may run on. */
static unsigned pm_ncpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? (unsigned)n : 1;
}

static int pm_pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts the pid list and drops duplicates (a pid given twice is scanned
 * once). /proc lists processes in ascending order: the sort is a check. */
static void pm_pids_normalize(struct pm_pass *ps)
{
	size_t i, j;

	for (i = 1; i < ps->npids; i++)
		if (ps->pids[i - 1] >= ps->pids[i])
			break;
	if (i >= ps->npids)
		return;
	qsort(ps->pids, ps->npids, sizeof(*ps->pids), pm_pid_cmp);
	for (i = j = 0; i < ps->npids; i++)
		if (j == 0 || ps->pids[j - 1] != ps->pids[i])
			ps->pids[j++] = ps->pids[i];
	ps->npids = j;
}

static int pm_pid_name(const char *name, pid_t *pid)
{
	const char *p = name;
	uint64_t v;

	if (pm_parse_u64(&p, &v) == -1 || *p != '\0' || v == 0 || v > INT32_MAX)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* Appends the pids listed in directory rootfd (read from its current
 * position) to *pids. 0, or -1 with errno. */
static int pm_list_pids_at(int rootfd, pid_t **pids, size_t *npids, size_t *cap)
{
	char *dents;
	int rc = -1;

	dents = malloc(PM_DENTS_SIZE);
	if (dents == NULL)
		return -1;
	for (;;) {
		ssize_t len = getdents64(rootfd, dents, PM_DENTS_SIZE);
		ssize_t off;

		if (len == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (len == 0)
			break;
		for (off = 0; off < len;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			pid_t pid;

			off += d->d_reclen;
			if (pm_pid_name(d->d_name, &pid) == -1)
				continue;
			if (*npids == *cap &&
			    pm_grow((void **)pids, cap, *npids + 1, sizeof(**pids), 256) == -1)
				goto out;
			(*pids)[(*npids)++] = pid;
		}
	}
	rc = 0;
out:
	free(dents);
	return rc;
}

/* The pids of ROOT, into ps->pids. 0, or -1 with errno. */
static int pm_list_pids(struct pm_pass *ps)
{
	size_t cap = 0;

	return pm_list_pids_at(ps->rootfd, &ps->pids, &ps->npids, &cap);
}

/* LSD radix sort of n owners by inode, stable: input in (pid, fd) order
 * comes out in (ino, pid, fd) order. tmp holds n entries. Returns the
 * array that holds the result (v or tmp). Bytes that every inode shares
 * take no pass. */
static struct pm_owner *pm_radix_ino(struct pm_owner *v, struct pm_owner *tmp, size_t n)
{
	size_t count[256];
	uint32_t all_or = 0, all_and = UINT32_MAX;
	unsigned shift;
	size_t i;

	for (i = 0; i < n; i++) {
		all_or |= v[i].ino;
		all_and &= v[i].ino;
	}
	for (shift = 0; shift < 32; shift += 8) {
		struct pm_owner *t;
		size_t sum = 0;

		if ((((all_or ^ all_and) >> shift) & 0xff) == 0)
			continue;
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(v[i].ino >> shift) & 0xff]++;
		for (i = 0; i < 256; i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[(v[i].ino >> shift) & 0xff]++] = v[i];
		t = v;
		v = tmp;
		tmp = t;
	}
	return v;
}

/* Every worker's sockets, merged in (pid, fd) order: worker outputs are
 * each in ascending pid order and no pid is in two of them. */
static void pm_merge_by_pid(struct pm_pass *ps, struct pm_owner *dst)
{
	size_t pos[PM_MAX_WORKERS] = { 0 };
	size_t n = 0;
	unsigned k, best;

	for (;;) {
		best = ps->nworkers;
		for (k = 0; k < ps->nworkers; k++)
			if (pos[k] < ps->w[k].len &&
			    (best == ps->nworkers ||
			     ps->w[k].v[pos[k]].pid < ps->w[best].v[pos[best]].pid))
				best = k;
		if (best == ps->nworkers)
			break;
		do
			dst[n++] = ps->w[best].v[pos[best]++];
		while (pos[best] < ps->w[best].len &&
		       ps->w[best].v[pos[best]].pid == dst[n - 1].pid);
	}
}

/* The same for the scanned processes, into out->scanned. */
static void pm_merge_scanned(struct pm_pass *ps, struct pm_owners *out)
{
	size_t pos[PM_MAX_WORKERS] = { 0 };
	unsigned k, best;

	for (;;) {
		best = ps->nworkers;
		for (k = 0; k < ps->nworkers; k++)
			if (pos[k] < ps->w[k].nscanned &&
			    (best == ps->nworkers ||
			     ps->w[k].scanned[pos[k]].pid < ps->w[best].scanned[pos[best]].pid))
				best = k;
		if (best == ps->nworkers)
			break;
		out->scanned[out->nscanned++] = ps->w[best].scanned[pos[best]++];
	}
}

/* Keeps, in out->v, the sockets of v (sorted by inode) whose inode is in
 * inos (ascending); every socket when inos is NULL. */
static void pm_keep_asked(const struct pm_owner *v, size_t n, const uint32_t *inos,
			  size_t ninos, struct pm_owners *out)
{
	size_t i, j = 0;

	for (i = 0; i < n; i++) {
		if (inos != NULL) {
			while (j < ninos && inos[j] < v[i].ino)
				j++;
			if (j == ninos)
				break;
			if (inos[j] != v[i].ino)
				continue;
		}
		out->v[out->len++] = v[i];
	}
}

static int pm_owner_cmp(const void *a, const void *b)
{
	const struct pm_owner *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* /proc lists a process's fds in ascending order, which the radix sort
 * keeps; another tree (a test's) may list them in any order, and then one
 * process holding a socket at two fds needs this sort. */
static void pm_owners_check_order(struct pm_owners *o)
{
	size_t i;

	for (i = 1; i < o->len; i++)
		if (pm_owner_cmp(&o->v[i - 1], &o->v[i]) > 0)
			break;
	if (i < o->len)
		qsort(o->v, o->len, sizeof(*o->v), pm_owner_cmp);
}

/* Merges the workers' findings into out: sorted by (ino, pid, fd), only
 * the sockets asked for, and the scanned processes by pid. */
static int pm_pass_merge(struct pm_pass *ps, const uint32_t *inos, size_t ninos,
			 struct pm_owners *out)
{
	struct pm_owner *all = NULL, *tmp = NULL, *sorted;
	size_t total = 0, nsc = 0;
	unsigned k;
	int rc = -1;

	for (k = 0; k < ps->nworkers; k++) {
		total += ps->w[k].len;
		nsc += ps->w[k].nscanned;
	}
	if (pm_grow((void **)&out->scanned, &out->cap_scanned, nsc, sizeof(*out->scanned),
		    64) == -1)
		return -1;
	pm_merge_scanned(ps, out);
	if (total == 0)
		return 0;
	all = malloc(total * sizeof(*all));
	tmp = malloc(total * sizeof(*tmp));
	if (all == NULL || tmp == NULL)
		goto out;
	pm_merge_by_pid(ps, all);
	sorted = pm_radix_ino(all, tmp, total);
	/* Not bounded by ninos: a shared socket has one entry per owner. */
	if (pm_grow((void **)&out->v, &out->cap, total, sizeof(*out->v), 256) == -1)
		goto out;
	pm_keep_asked(sorted, total, inos, ninos, out);
	pm_owners_check_order(out);
	rc = 0;
out:
	free(tmp);
	free(all);
	if (rc == -1)
		errno = ENOMEM;
	return rc;
}

int procmap_owners(struct procmap *pm, const uint32_t *inos, size_t n, uint64_t netns_ino,
		   const pid_t *pids, size_t npids, struct pm_owners *out,
		   char *err, size_t errlen)
{
	struct pm_pass *ps;
	unsigned k, want;
	int rc = -1, e = ENOMEM;

	out->len = 0;
	out->nscanned = 0;
	pm->denied = 0;
	pm->vanished = 0;
	ps = calloc(1, sizeof(*ps));
	if (ps == NULL) {
		pm_err(err, errlen, "procmap", pm->root, ENOMEM);
		errno = ENOMEM;
		return -1;
	}
	ps->netns_ino = netns_ino;
	ps->links = n == PM_ALL_SOCKETS || n > 0;
	atomic_init(&ps->next, 0);
	atomic_init(&ps->nomem, 0);
	ps->rootfd = open(pm->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ps->rootfd == -1) {
		e = errno;
		pm_err(err, errlen, "open", pm->root, e);
		goto out;
	}
	if (pids != NULL && npids > 0) {
		ps->pids = malloc(npids * sizeof(*ps->pids));
		if (ps->pids == NULL)
			goto nomem;
		memcpy(ps->pids, pids, npids * sizeof(*pids));
		ps->npids = npids;
	} else if (pm_list_pids(ps) == -1) {
		e = errno;
		if (e == ENOMEM)
			goto nomem;
		pm_err(err, errlen, "read", pm->root, e);
		goto out;
	}
	pm_pids_normalize(ps);

	want = pm_ncpus();
	if (want > PM_MAX_WORKERS)
		want = PM_MAX_WORKERS;
	if (want > ps->npids)
		want = ps->npids ? (unsigned)ps->npids : 1;
	for (k = 0; k < want; k++) {
		ps->w[k].pass = ps;
		ps->w[k].dents = malloc(PM_DENTS_SIZE);
		if (ps->w[k].dents == NULL)
			break;
	}
	ps->nworkers = k;
	if (ps->nworkers == 0)
		goto nomem;
	/* Worker 0 is this thread. A thread that cannot be started leaves its
	 * share to the others. */
	for (k = 1; k < ps->nworkers; k++)
		ps->w[k].started = pthread_create(&ps->w[k].tid, NULL, pm_work, &ps->w[k]) == 0;
	pm_work(&ps->w[0]);
	for (k = 1; k < ps->nworkers; k++)
		if (ps->w[k].started)
			pthread_join(ps->w[k].tid, NULL);
	for (k = 0; k < ps->nworkers; k++) {
		pm->denied += ps->w[k].denied;
		pm->vanished += ps->w[k].vanished;
	}
	if (atomic_load(&ps->nomem))
		goto nomem;
	if (pm_pass_merge(ps, n == PM_ALL_SOCKETS ? NULL : inos,
			  n == PM_ALL_SOCKETS ? 0 : n, out) == -1)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	e = ENOMEM;
	pm_err(err, errlen, "procmap", pm->root, e);
	out->len = 0;
	out->nscanned = 0;
out:
	for (k = 0; k < PM_MAX_WORKERS; k++) {
		free(ps->w[k].scanned);
		free(ps->w[k].v);
		free(ps->w[k].dents);
	}
	free(ps->pids);
	if (ps->rootfd != -1)
		close(ps->rootfd);
	free(ps);
	if (rc == -1)
		errno = e;
	return rc;
}

/* Fills comm, state, ppid and start_ms from the text of ROOT/PID/stat:
 * "pid (comm) state ppid ... starttime(22) ...". comm may hold spaces and
 * parentheses, so it ends at the last ')'. */
static int pm_parse_stat(const struct procmap *pm, const char *text, struct pm_proc *out)
{
	const char *open = strchr(text, '(');
	const char *close = strrchr(text, ')');
	const char *p;
	uint64_t v = 0;
	size_t len;
	int field;

	if (open == NULL || close == NULL || close < open)
		return -1;
	len = (size_t)(close - open - 1);
	if (len >= sizeof(out->comm))
		len = sizeof(out->comm) - 1;
	memcpy(out->comm, open + 1, len);
	out->comm[len] = '\0';

	p = close + 1;
	/* Fields from 3 (state) on are separated by single spaces. */
	for (field = 3; field <= 22; field++) {
		if (*p != ' ')
			return -1;
		p++;
		if (field == 3) {
			if (*p == '\0' || *p == ' ')
				return -1;
			out->state = *p;
			p++;
			continue;
		}
		if (field == 4 || field == 22) {
			if (pm_parse_u64(&p, &v) == -1)
				return -1;
			if (field == 4)
				out->ppid = (pid_t)v;
			continue;
		}
		/* Other fields may be negative (tty_nr, tpgid, priority). */
		while (*p != '\0' && *p != ' ')
			p++;
	}
	out->start_ms = pm->btime_ms + v * 1000 / (uint64_t)pm->clk_tck;
	return 0;
}

/* Real uid from the "Uid:\treal\teffective\tsaved\tfs" line of status. */
static int pm_parse_status_uid(const char *text, uid_t *uid)
{
	const char *p = strstr(text, "\nUid:");
	uint64_t v;

	if (p == NULL)
		return -1;
	p += 5;
	while (*p == ' ' || *p == '\t')
		p++;
	if (pm_parse_u64(&p, &v) == -1)
		return -1;
	*uid = (uid_t)v;
	return 0;
}

int procmap_proc(struct procmap *pm, pid_t pid, struct pm_proc *out)
{
	char path[PATH_MAX + 24];
	char buf[4096];
	ssize_t n;
	int piddir;
	int e;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	snprintf(path, sizeof(path), "%s/%ld", pm->root, (long)pid);
	piddir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (piddir == -1)
		goto out;

	if (pm_read_at(piddir, "stat", buf, sizeof(buf)) == -1)
		goto out;
	if (pm_parse_stat(pm, buf, out) == -1) {
		errno = EINVAL;
		goto out;
	}
	if (pm_read_at(piddir, "status", buf, sizeof(buf)) == -1)
		goto out;
	if (pm_parse_status_uid(buf, &out->uid) == -1) {
		errno = EINVAL;
		goto out;
	}

	/* Fields below may be denied alone (another user's process) or absent
	 * (kernel threads have no exe); they stay empty then. */
	n = readlinkat(piddir, "exe", out->exe, sizeof(out->exe) - 1);
	if (n == -1) {
		e = errno;
		if (pm_gone(e) && faccessat(piddir, "stat", F_OK, 0) == -1)
			goto out;
		if (e == EACCES || e == EPERM)
			out->exe_denied = 1;
		out->exe[0] = '\0';
	} else {
		out->exe[n] = '\0';
	}

	n = pm_read_at(piddir, "cmdline", out->cmdline, sizeof(out->cmdline));
	if (n > 0) {
		ssize_t i;

		for (i = 0; i < n; i++)
			if (out->cmdline[i] == '\0')
				out->cmdline[i] = ' ';
		while (n > 0 && out->cmdline[n - 1] == ' ')
			n--;
		out->cmdline[n] = '\0';
	} else {
		out->cmdline[0] = '\0';
	}

	n = readlinkat(piddir, "ns/net", buf, sizeof(buf) - 1);
	if (n != -1) {
		buf[n] = '\0';
		out->netns_ino = pm_parse_nslink(buf);
	}
	rc = 0;
out:
	e = errno;
	if (piddir != -1)
		close(piddir);
	if (rc == -1)
		errno = pm_gone(e) ? ENOENT : e;
	return rc;
}

/* Index of pid in the sorted scanned list, or -1. */
static ssize_t pm_scanned_find(const struct pm_owners *o, pid_t pid)
{
	size_t lo = 0, hi = o->nscanned;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->scanned[mid].pid < pid)
			lo = mid + 1;
		else if (o->scanned[mid].pid > pid)
			hi = mid;
		else
			return (ssize_t)mid;
	}
	return -1;
}

static uint32_t pm_nfds_of(const struct pm_owners *o, pid_t pid)
{
	ssize_t i = pm_scanned_find(o, pid);

	return i == -1 ? 0 : o->scanned[i].nfds;
}

/* The distinct pids of owners, ascending, into out's scratch; their count
 * in *n. When every owner is in the scanned list (a table procmap_owners
 * built), the scanned processes are marked rather than the pids sorted. */
static int pm_owner_pids(const struct pm_owners *owners, struct pm_procs *out, size_t *n)
{
	unsigned char *mark;
	pid_t *pids, last = 0;
	ssize_t at = -1;
	size_t i, need, cnt = 0;

	if (owners->nscanned > 0) {
		need = owners->nscanned * (sizeof(pid_t) + 1);
		if (pm_grow(&out->scratch, &out->cap_scratch, need, 1, 4096) == -1)
			return -1;
		pids = out->scratch;
		mark = (unsigned char *)(pids + owners->nscanned);
		memset(mark, 0, owners->nscanned);
		for (i = 0; i < owners->len; i++) {
			if (at == -1 || owners->v[i].pid != last) {
				last = owners->v[i].pid;
				at = pm_scanned_find(owners, last);
				if (at == -1)
					break;
			}
			mark[at] = 1;
		}
		if (i == owners->len) {
			for (i = 0; i < owners->nscanned; i++)
				if (mark[i])
					pids[cnt++] = owners->scanned[i].pid;
			*n = cnt;
			return 0;
		}
	}
	if (owners->len > SIZE_MAX / sizeof(pid_t) ||
	    pm_grow(&out->scratch, &out->cap_scratch, owners->len * sizeof(pid_t), 1, 4096) == -1)
		return -1;
	pids = out->scratch;
	for (i = 0; i < owners->len; i++)
		pids[i] = owners->v[i].pid;
	qsort(pids, owners->len, sizeof(*pids), pm_pid_cmp);
	for (i = 0; i < owners->len; i++)
		if (cnt == 0 || pids[cnt - 1] != pids[i])
			pids[cnt++] = pids[i];
	*n = cnt;
	return 0;
}

int procmap_procs(struct procmap *pm, const struct pm_owners *owners, struct pm_procs *out)
{
	const pid_t *pids;
	size_t i, n = 0;

	out->len = 0;
	if (owners->len == 0)
		return 0;
	if (pm_owner_pids(owners, out, &n) == -1)
		goto nomem;
	if (out->cap < n) {
		struct pm_proc *nv = realloc(out->v, n * sizeof(*nv));

		if (nv == NULL)
			goto nomem;
		out->v = nv;
		out->cap = n;
	}
	pids = out->scratch;
	for (i = 0; i < n; i++) {
		struct pm_proc *p = &out->v[out->len];

		if (procmap_proc(pm, pids[i], p) == -1) {
			if (errno == ENOENT)
				continue;
			/* Unreadable but present: keep the pid so that lookups
			 * still find the owner. */
			memset(p, 0, sizeof(*p));
			p->pid = pids[i];
			p->exe_denied = 1;
		}
		p->nfds = pm_nfds_of(owners, pids[i]);
		out->len++;
	}
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

const struct pm_owner *pm_owners_find(const struct pm_owners *o, uint32_t ino)
{
	size_t lo = 0, hi = o->len;

	/* Lower bound, so that the first of a shared socket's entries is found. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->v[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < o->len && o->v[lo].ino == ino)
		return &o->v[lo];
	return NULL;
}

const struct pm_proc *pm_procs_find(const struct pm_procs *p, pid_t pid)
{
	size_t lo = 0, hi = p->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->v[mid].pid < pid)
			lo = mid + 1;
		else if (p->v[mid].pid > pid)
			hi = mid;
		else
			return &p->v[mid];
	}
	return NULL;
}

void pm_owners_free(struct pm_owners *o)
{
	free(o->scanned);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

void pm_procs_free(struct pm_procs *p)
{
	free(p->scratch);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int procmap_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* ---- sweeps: the fd tables of every process, a budget at a time ---- */

/* A sweep's listing buffer: small, so that a step lists few fds beyond its
 * budget (the listing costs about a third of reading the links). */
#define PM_SWEEP_DENTS_SIZE (8 * 1024)

/* What reading on in the current process came to. */
enum pm_sweep_res {
	PM_SWR_BUDGET = 0,       /* budget spent, more to read */
	PM_SWR_DONE,             /* its listing ended: the whole table was read */
	PM_SWR_LOST,             /* it could not be read to its end (exited) */
	PM_SWR_STOP,             /* every stop inode has been seen */
	PM_SWR_NOMEM,
};

static void pm_sweep_failure(struct pm_sweep *sw, int e)
{
	if (pm_gone(e))
		sw->vanished++;
	else
		sw->denied++;
}

static int pm_fdcount_find(const struct pm_fdcount *v, size_t n, pid_t pid, uint32_t *nfds)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].pid < pid) {
			lo = mid + 1;
		} else if (v[mid].pid > pid) {
			hi = mid;
		} else {
			*nfds = v[mid].nfds;
			return 1;
		}
	}
	return 0;
}

int pm_owners_nfds(const struct pm_owners *o, pid_t pid, uint32_t *nfds)
{
	return pm_fdcount_find(o->scanned, o->nscanned, pid, nfds);
}

static void pm_sweep_close_cur(struct pm_sweep *sw)
{
	if (sw->cur != 0)
		close(sw->fddir);
	sw->cur = 0;
	sw->fddir = -1;
	sw->dents_len = 0;
	sw->dents_off = 0;
	sw->cur_nfds = 0;
	sw->npend = 0;
	sw->npend_out = 0;
}

void procmap_sweep_end(struct pm_sweep *sw)
{
	if (!sw->active)
		return;
	pm_sweep_close_cur(sw);
	close(sw->rootfd);
	sw->rootfd = -1;
	sw->active = 0;
}

void procmap_sweep_free(struct pm_sweep *sw)
{
	procmap_sweep_end(sw);
	free(sw->stop);
	free(sw->pend);
	free(sw->dents);
	free(sw->pids);
	memset(sw, 0, sizeof(*sw));
	sw->rootfd = -1;
	sw->fddir = -1;
}

/* BY_SIZE sort key: processes without a hint (size below 2^63) first. */
struct pm_sweep_key {
	uint64_t size;
	pid_t pid;
};

static int pm_sweep_key_cmp(const void *a, const void *b)
{
	const struct pm_sweep_key *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int pm_sweep_order_size(struct pm_sweep *sw, const struct pm_sweep_opts *o)
{
	struct pm_sweep_key *k;
	char name[32];
	size_t i;

	if (sw->npids == 0)
		return 0;
	k = malloc(sw->npids * sizeof(*k));
	if (k == NULL)
		return -1;
	for (i = 0; i < sw->npids; i++) {
		struct stat st;
		uint32_t nfds;

		k[i].pid = sw->pids[i];
		if (pm_fdcount_find(o->hint, o->nhint, sw->pids[i], &nfds)) {
			k[i].size = 1ULL << 63 | nfds;
			continue;
		}
		snprintf(name, sizeof(name), "%ld/fd", (long)sw->pids[i]);
		k[i].size = 0;
		if (fstatat(sw->rootfd, name, &st, 0) == 0 && st.st_size > 0)
			k[i].size = (uint64_t)st.st_size & ((1ULL << 63) - 1);
	}
	qsort(k, sw->npids, sizeof(*k), pm_sweep_key_cmp);
	for (i = 0; i < sw->npids; i++)
		sw->pids[i] = k[i].pid;
	free(k);
	return 0;
}

static int pm_stop_cmp(const void *a, const void *b)
{
	const struct pm_sweep_stop *x = a, *y = b;

	return (x->ino > y->ino) - (x->ino < y->ino);
}

int procmap_sweep_begin(struct procmap *pm, struct pm_sweep *sw, const struct pm_sweep_opts *o,
			char *err, size_t errlen)
{
	size_t i;
	int e;

	procmap_sweep_end(sw);
	sw->npids = 0;
	sw->next = 0;
	sw->denied = 0;
	sw->vanished = 0;
	sw->fds = 0;
	sw->nstop = 0;
	sw->nstop_left = 0;
	sw->netns_ino = o->netns_ino;
	if (sw->dents == NULL) {
		sw->dents = malloc(PM_SWEEP_DENTS_SIZE);
		if (sw->dents == NULL)
			goto nomem;
	}
	if (o->nstop > 0) {
		if (pm_grow((void **)&sw->stop, &sw->cap_stop, o->nstop, sizeof(*sw->stop),
			    16) == -1)
			goto nomem;
		for (i = 0; i < o->nstop; i++) {
			sw->stop[i].ino = o->stop[i];
			sw->stop[i].seen = 0;
		}
		qsort(sw->stop, o->nstop, sizeof(*sw->stop), pm_stop_cmp);
		sw->nstop = o->nstop;
		sw->nstop_left = o->nstop;
	}
	sw->rootfd = open(pm->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sw->rootfd == -1) {
		e = errno;
		pm_err(err, errlen, "open", pm->root, e);
		errno = e;
		return -1;
	}
	sw->active = 1;
	sw->cur = 0;
	if (pm_list_pids_at(sw->rootfd, &sw->pids, &sw->npids, &sw->cap_pids) == -1) {
		e = errno;
		procmap_sweep_end(sw);
		if (e == ENOMEM)
			goto nomem;
		pm_err(err, errlen, "read", pm->root, e);
		errno = e;
		return -1;
	}
	qsort(sw->pids, sw->npids, sizeof(*sw->pids), pm_pid_cmp);
	if (o->order == PM_SWEEP_BY_SIZE && pm_sweep_order_size(sw, o) == -1) {
		procmap_sweep_end(sw);
		goto nomem;
	}
	return 0;
nomem:
	pm_err(err, errlen, "procmap", pm->root, ENOMEM);
	errno = ENOMEM;
	return -1;
}

/* Opens the fd directory of pid as the current process: 1, or 0 when it is
 * not to be read (another namespace) or cannot be (counted). */
static int pm_sweep_open(struct pm_sweep *sw, pid_t pid)
{
	char name[24];
	int piddir, fddir, e;

	snprintf(name, sizeof(name), "%ld", (long)pid);
	piddir = openat(sw->rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (piddir == -1) {
		pm_sweep_failure(sw, errno);
		return 0;
	}
	if (sw->netns_ino != 0) {
		int in = pm_in_netns(piddir, sw->netns_ino);

		if (in == -1)
			pm_sweep_failure(sw, errno);
		if (in != 1) {
			close(piddir);
			return 0;
		}
	}
	fddir = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	close(piddir);
	if (fddir == -1) {
		pm_sweep_failure(sw, e);
		return 0;
	}
	sw->cur = pid;
	sw->fddir = fddir;
	sw->dents_len = 0;
	sw->dents_off = 0;
	sw->cur_nfds = 0;
	sw->npend = 0;
	sw->npend_out = 0;
	return 1;
}

/* Marks ino seen when it is a stop inode. */
static void pm_sweep_seen(struct pm_sweep *sw, uint32_t ino)
{
	size_t lo = 0, hi = sw->nstop;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sw->stop[mid].ino < ino) {
			lo = mid + 1;
		} else if (sw->stop[mid].ino > ino) {
			hi = mid;
		} else {
			if (!sw->stop[mid].seen) {
				sw->stop[mid].seen = 1;
				sw->nstop_left--;
			}
			return;
		}
	}
}

/* Lists and reads on in the current process while budget lasts. */
static enum pm_sweep_res pm_sweep_read(struct pm_sweep *sw, size_t *budget)
{
	for (;;) {
		if (sw->dents_off >= sw->dents_len) {
			ssize_t len;

			if (*budget == 0)
				return PM_SWR_BUDGET;
			len = getdents64(sw->fddir, sw->dents, PM_SWEEP_DENTS_SIZE);
			if (len == -1) {
				if (errno == EINTR)
					continue;
				pm_sweep_failure(sw, errno);
				return PM_SWR_LOST;
			}
			if (len == 0)
				return PM_SWR_DONE;
			sw->dents_len = (size_t)len;
			sw->dents_off = 0;
		}
		while (sw->dents_off < sw->dents_len) {
			struct dirent64 *d = (struct dirent64 *)(sw->dents + sw->dents_off);
			const char *p = d->d_name;
			uint64_t fd;
			uint32_t ino;

			if (*budget == 0)
				return PM_SWR_BUDGET;
			sw->dents_off += d->d_reclen;
			if (pm_parse_u64(&p, &fd) == -1 || *p != '\0' || fd > INT32_MAX)
				continue;
			(*budget)--;
			sw->cur_nfds++;
			sw->fds++;
			if (!pm_fd_socket(sw->fddir, d->d_name, &ino))
				continue;
			if (sw->npend == sw->cap_pend &&
			    pm_grow((void **)&sw->pend, &sw->cap_pend, sw->npend + 1,
				    sizeof(*sw->pend), 64) == -1)
				return PM_SWR_NOMEM;
			sw->pend[sw->npend].ino = ino;
			sw->pend[sw->npend].pid = sw->cur;
			sw->pend[sw->npend].fd = (int)fd;
			sw->npend++;
			if (sw->nstop > 0) {
				pm_sweep_seen(sw, ino);
				if (sw->nstop_left == 0)
					return PM_SWR_STOP;
			}
		}
	}
}

/* Hands out the current process's sockets not handed out yet (all of them
 * with its fd count when complete). 0 or -1 (ENOMEM). */
static int pm_sweep_flush(struct pm_sweep *sw, struct pm_owners *out, int complete)
{
	size_t from = complete ? 0 : sw->npend_out, n = sw->npend - from;

	if (n > 0) {
		if (pm_grow((void **)&out->v, &out->cap, out->len + n, sizeof(*out->v), 256) == -1)
			return -1;
		memcpy(out->v + out->len, sw->pend + from, n * sizeof(*out->v));
		out->len += n;
	}
	sw->npend_out = sw->npend;
	if (!complete)
		return 0;
	if (out->nscanned == out->cap_scanned &&
	    pm_grow((void **)&out->scanned, &out->cap_scanned, out->nscanned + 1,
		    sizeof(*out->scanned), 64) == -1)
		return -1;
	out->scanned[out->nscanned].pid = sw->cur;
	out->scanned[out->nscanned].nfds = sw->cur_nfds;
	out->nscanned++;
	return 0;
}

static int pm_pid_in(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return 1;
	return 0;
}

int procmap_sweep_step(struct procmap *pm, struct pm_sweep *sw, size_t *budget,
		       const pid_t *skip, size_t nskip, struct pm_owners *out,
		       char *err, size_t errlen)
{
	enum pm_sweep_res r;

	(void)pm;
	if (!sw->active)
		return 1;
	for (;;) {
		if (sw->cur == 0 && sw->next == sw->npids) {
			procmap_sweep_end(sw);
			return 1;
		}
		if (*budget == 0)
			break;
		if (sw->cur == 0) {
			pid_t pid = sw->pids[sw->next];

			if (pm_pid_in(skip, nskip, pid)) {
				sw->next++;
				continue;
			}
			if (*budget < PM_SWEEP_PROC_COST)
				break;
			sw->next++;
			*budget -= PM_SWEEP_PROC_COST;
			if (!pm_sweep_open(sw, pid))
				continue;
		}
		r = pm_sweep_read(sw, budget);
		switch (r) {
		case PM_SWR_BUDGET:
			break;
		case PM_SWR_DONE:
			if (pm_sweep_flush(sw, out, 1) == -1)
				goto nomem;
			pm_sweep_close_cur(sw);
			break;
		case PM_SWR_LOST:
			pm_sweep_close_cur(sw);
			break;
		case PM_SWR_STOP:
			if (pm_sweep_flush(sw, out, 0) == -1)
				goto nomem;
			procmap_sweep_end(sw);
			return 1;
		case PM_SWR_NOMEM:
			goto nomem;
		}
	}
	if (sw->cur != 0 && pm_sweep_flush(sw, out, 0) == -1)
		goto nomem;
	return 0;
nomem:
	procmap_sweep_end(sw);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "procmap: sweep: %s", strerror(ENOMEM));
	errno = ENOMEM;
	return -1;
}
