/* bench/sv_tick: the cost of proxysv's tick after the probes, on synthetic
 * snapshots of 10k and 100k sockets: grouping (snapshot_group), the
 * detectors, the hysteresis and one store transaction (samples and the
 * incident updates), median of ROUNDS ticks; then 10k incidents inserted
 * and queried back by kind and by time. Not a test. The probes themselves
 * (the sock_diag dump and /proc) are measured by bench/diagnose.sh, and
 * with -p on this host as proxysv takes them: ROUNDS takes with this
 * process as scan_pids (at least 10, so that a pass over every process
 * begins), sock_diag filtered to the -P ports (default 21998, as in
 * bench/sv_cpu.sh), /proc budget -b; the median and the max of each take's
 * wall time and CPU time (both threads), the /proc budget spent, the passes
 * over every process that ended and the hunts; then as many full takes (no
 * scan_pids: every process's fds, as proxyctl diagnose reads them). Needs
 * root to see every process.
 *
 * Usage: sv_tick [-r ROUNDS] [-d DBFILE] [LEVEL...]   (default 10000 100000)
 *        sv_tick -p [-r ROUNDS] [-b BUDGET] [-P PORT]... */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "probes/netns.h"
#include "probes/snapshot.h"
#include "probes/sockdiag.h"
#include "supervisor/detect.h"
#include "supervisor/incident.h"
#include "supervisor/store.h"

static void own(struct snapshot *s, uint32_t ino, pid_t pid)
{
	struct pm_owners *o = &s->owners;

	if (o->len == o->cap) {
		size_t ncap = o->cap ? o->cap * 2 : 1024;
		struct pm_owner *v = realloc(o->v, ncap * sizeof(*v));

		if (!v)
			exit(1);
		o->v = v;
		o->cap = ncap;
	}
	o->v[o->len].ino = ino;
	o->v[o->len].pid = pid;
	o->v[o->len].fd = (int)o->len;
	o->len++;
}

static struct pm_proc *proc(struct snapshot *s, pid_t pid, uint64_t start)
{
	struct pm_procs *p = &s->procs;
	struct pm_proc *r;

	if (p->len == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		struct pm_proc *v = realloc(p->v, ncap * sizeof(*v));

		if (!v)
			exit(1);
		p->v = v;
		p->cap = ncap;
	}
	r = &p->v[p->len++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->ppid = 1;
	r->state = 'S';
	r->start_ms = start;
	snprintf(r->comm, sizeof(r->comm), "proxyd");
	snprintf(r->exe, sizeof(r->exe), "/usr/sbin/proxyd");
	return r;
}

/* n sockets: half client side on :80, half to 64 backends on :8080, owned
 * by two generations; 2% half-closed; one listener. */
static void build(struct snapshot *s, size_t n, uint64_t now)
{
	uint32_t ino = 10;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->t_real_ms = now;
	s->have_owners = 1;
	s->kernel.sysctls.somaxconn = 4096;
	s->kernel.sysctls.tcp_fin_timeout = 60;
	s->kernel.sysctls.tcp_migrate_req = 0;
	proc(s, 100, now - 3600000);
	proc(s, 101, now - 60000);
	{
		struct sd_sock *k = sd_table_push(&s->socks);

		k->family = AF_INET;
		k->state = SD_LISTEN;
		k->lport = 80;
		k->ino = ino;
		k->wqueue = 4096;
		own(s, ino++, 1);
		own(s, ino - 1, 101);
	}
	for (i = 0; i < n; i++) {
		struct sd_sock *k = sd_table_push(&s->socks);
		int client = i % 2 == 0;

		if (!k)
			exit(1);
		k->family = AF_INET;
		k->state = i % 50 == 0 ? (client ? SD_FIN_WAIT2 : SD_CLOSE_WAIT) : SD_ESTABLISHED;
		inet_pton(AF_INET, "10.0.0.1", k->laddr);
		k->raddr[0] = 10;
		k->raddr[1] = client ? 1 : 2;
		k->raddr[2] = (uint8_t)(i >> 8);
		k->raddr[3] = (uint8_t)(client ? i : i % 64);
		k->lport = client ? 80 : (uint16_t)(20000 + i % 40000);
		k->rport = client ? (uint16_t)(30000 + i % 30000) : 8080;
		k->ino = ino;
		k->has_info = 1;
		k->info.last_data_recv = (uint32_t)(i % 5000);
		k->info.last_data_sent = (uint32_t)(i % 5000);
		k->info.last_ack_recv = (uint32_t)(i % 5000);
		k->info.retransmits = i % 997 == 0 ? 4 : 0;
		own(s, ino++, i % 10 == 0 ? 100 : 101);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int count_cb(const struct store_incident *inc, void *arg)
{
	(void)inc;
	(*(size_t *)arg)++;
	return 0;
}

/* CPU time of this process (every thread), us. */
static uint64_t cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void print_ms(const char *what, uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("  %-14s median %8.2f ms   max %8.2f ms\n", what, v[n / 2] / 1000.0,
	       v[n - 1] / 1000.0);
}

/* -p: the probes on this host, incremental takes then full ones. */
static int probes_bench(unsigned rounds, size_t budget, const uint16_t *ports, size_t nports)
{
	uint64_t *wall = calloc(rounds, sizeof(*wall)), *cpu = calloc(rounds, sizeof(*cpu));
	uint64_t *rd = calloc(rounds, sizeof(*rd));
	pid_t self = getpid();
	struct snap_opts o = {
		.nsfd = NETNS_SELF, .want_info = 1, .want_owners = 1, .ports = ports,
		.nports = nports, .scan_pids = &self, .nscan_pids = 1, .scan_budget = budget,
	};
	struct snap_probe p;
	struct snapshot s = { 0 };
	char err[256];
	int rc = 1;

	if (!wall || !cpu || !rd)
		goto out;
	if (snap_probe_open(&p, &o, err, sizeof(err)) == -1) {
		fprintf(stderr, "sv_tick: %s\n", err);
		goto out;
	}
	for (int full = 0; full < 2; full++) {
		o.nscan_pids = full ? 0 : 1;
		for (unsigned r = 0; r < rounds; r++) {
			uint64_t w0 = clock_mono_us(), c0 = cpu_us();

			if (snapshot_take(&p, &o, &s, err, sizeof(err)) == -1) {
				fprintf(stderr, "sv_tick: %s\n", err);
				snap_probe_close(&p);
				goto out;
			}
			wall[r] = clock_mono_us() - w0;
			cpu[r] = cpu_us() - c0;
			rd[r] = full ? 0 : p.last_read;
			/* proxysv's 1 s tick, shortened: the passes count takes. */
			usleep(100000);
		}
		printf("%s takes: %u, %zu sockets dumped, %zu owners\n",
		       full ? "full" : "incremental", rounds, s.socks.len, s.owners.len);
		print_ms("take (wall)", wall, rounds);
		print_ms("take (cpu)", cpu, rounds);
		if (!full) {
			qsort(rd, rounds, sizeof(*rd), cmp_u64);
			printf("  /proc budget spent: median %" PRIu64 " max %" PRIu64 " of %zu;"
			       " passes over every process ended %" PRIu64 ", hunts %" PRIu64 "\n",
			       rd[rounds / 2], rd[rounds - 1],
			       budget ? budget : (size_t)SNAP_SCAN_BUDGET, p.full_scans, p.hunts);
		}
	}
	snap_probe_close(&p);
	rc = 0;
out:
	snapshot_free(&s);
	free(rd);
	free(cpu);
	free(wall);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "half_close_buildup", "lossy_peer", "stale_generation" };
	const char *dbpath = "/tmp/sv_tick_bench.db";
	size_t levels[8] = { 10000, 100000 }, nlevels = 2;
	unsigned rounds = 7;
	uint16_t ports[SD_MAX_PORTS];
	size_t nports = 0, budget = 0;
	int probes = 0;
	char err[256];
	int c;

	while ((c = getopt(argc, argv, "r:d:pb:P:")) != -1) {
		if (c == 'r')
			rounds = (unsigned)atoi(optarg);
		else if (c == 'd')
			dbpath = optarg;
		else if (c == 'p')
			probes = 1;
		else if (c == 'b')
			budget = strtoul(optarg, NULL, 10);
		else if (c == 'P' && nports < SD_MAX_PORTS)
			ports[nports++] = (uint16_t)strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (probes) {
		if (nports == 0)
			ports[nports++] = 21998;
		if (rounds < 10 || rounds > 1000)
			rounds = 30;
		return probes_bench(rounds, budget, ports, nports);
	}
	if (optind < argc) {
		nlevels = 0;
		for (; optind < argc && nlevels < 8; optind++)
			levels[nlevels++] = strtoul(argv[optind], NULL, 10);
	}
	if (rounds < 1 || rounds > 1000)
		rounds = 7;
	for (size_t l = 0; l < nlevels; l++) {
		uint64_t *tg = calloc(rounds, sizeof(*tg)), *td = calloc(rounds, sizeof(*td));
		uint64_t *ts = calloc(rounds, sizeof(*ts)), *tt = calloc(rounds, sizeof(*tt));
		uint64_t now = clock_real_ms();
		struct snapshot prev, cur;
		struct inc_tracker tr;
		struct store *st;
		size_t nf = 0;

		unlink(dbpath);
		st = store_open(dbpath, 0, NULL, err, sizeof(err));
		if (!st || !tg || !td || !ts || !tt) {
			fprintf(stderr, "sv_tick: %s\n", st ? "out of memory" : err);
			return 1;
		}
		inc_tracker_init(&tr);
		build(&prev, levels[l], now);
		snapshot_group(&prev);
		build(&cur, levels[l], now + 1000);
		for (unsigned r = 0; r < rounds; r++) {
			struct detect_opts o = { 0 };
			struct finding_list fl = { 0 };
			uint64_t t0 = clock_mono_us(), t1, t2, t3;

			if (snapshot_group(&cur) == -1)
				return 1;
			t1 = clock_mono_us();
			detect_run(&prev, &cur, &o, &fl);
			detect_lossy_peer(&prev, &cur, &o, &fl);
			inc_tracker_tick(&tr, &fl, now + r * 1000);
			t2 = clock_mono_us();
			store_tick_begin(st);
			for (size_t i = 0; i < tr.nev; i++) {
				const struct inc_event *ev = &tr.ev[i];
				struct inc_entry *e = &tr.v[ev->entry];
				const struct finding *f = &fl.v[ev->finding];

				if (ev->type == IE_OPENED) {
					struct store_incident_new nw = {
						.kind = detect_kind_name(f->kind), .severity = "warning",
						.subject = f->subject, .t_ms = (int64_t)(now + r * 1000),
						.value = f->value, .summary = f->summary,
						.evidence = f->evidence,
					};

					e->id = store_incident_open(st, &nw);
				} else if (ev->type == IE_UPDATED) {
					store_incident_update(st, e->id, (int64_t)(now + r * 1000), f->value,
							      NULL, f->summary, f->evidence);
				}
			}
			for (size_t i = 0; i < cur.nlisteners; i++)
				store_sample_add(st, (int64_t)(now + r * 1000), "tcp:0.0.0.0:80",
						 "accept_queue", 0);
			store_sample_add(st, (int64_t)(now + r * 1000), "port:80", "half_closed",
					 cur.state_total[SD_FIN_WAIT2]);
			store_sample_add(st, (int64_t)(now + r * 1000), "gen:1", "sessions", 1);
			store_sample_add(st, (int64_t)(now + r * 1000), "gen:2", "sessions", 1);
			store_tick_commit(st);
			t3 = clock_mono_us();
			tg[r] = t1 - t0;
			td[r] = t2 - t1;
			ts[r] = t3 - t2;
			tt[r] = t3 - t0;
			nf = fl.len;
			finding_list_free(&fl);
		}
		qsort(tg, rounds, sizeof(*tg), cmp_u64);
		qsort(td, rounds, sizeof(*td), cmp_u64);
		qsort(ts, rounds, sizeof(*ts), cmp_u64);
		qsort(tt, rounds, sizeof(*tt), cmp_u64);
		printf("sockets=%zu findings=%zu median_ms: group=%.2f detect+hysteresis=%.2f "
		       "store=%.2f tick=%.2f (rounds %u)\n", levels[l], nf, tg[rounds / 2] / 1000.0,
		       td[rounds / 2] / 1000.0, ts[rounds / 2] / 1000.0, tt[rounds / 2] / 1000.0,
		       rounds);
		inc_tracker_free(&tr);
		snapshot_free(&prev);
		snapshot_free(&cur);
		store_close(st);
		free(tg);
		free(td);
		free(ts);
		free(tt);
	}

	/* 10k incidents, inserted one transaction per 100, then queried. */
	{
		struct store *st;
		uint64_t t0, t1, t2, t3;
		size_t n = 0, m = 0;
		int64_t base = (int64_t)clock_real_ms() - 10000LL * 60000;

		unlink(dbpath);
		st = store_open(dbpath, 0, NULL, err, sizeof(err));
		if (!st) {
			fprintf(stderr, "sv_tick: %s\n", err);
			return 1;
		}
		t0 = clock_mono_us();
		for (int i = 0; i < 10000; i++) {
			char subj[32];
			struct store_incident_new nw = {
				.kind = kinds[i % 3], .severity = "warning", .subject = subj,
				.t_ms = base + (int64_t)i * 60000, .value = i, .summary = "bench",
				.evidence = "{\"n\":1}",
			};
			int64_t id;

			if (i % 100 == 0)
				store_tick_begin(st);
			snprintf(subj, sizeof(subj), "pid:%d", i);
			id = store_incident_open(st, &nw);
			if (id > 0)
				store_incident_resolve(st, id, nw.t_ms + 30000);
			if (i % 100 == 99)
				store_tick_commit(st);
		}
		t1 = clock_mono_us();
		{
			const char *k[] = { "lossy_peer" };
			struct store_incident_filter f = { .kinds = k, .nkinds = 1 };

			store_incidents_query(st, &f, count_cb, &n);
		}
		t2 = clock_mono_us();
		{
			struct store_incident_filter f = {
				.since_ms = base + 5000LL * 60000, .until_ms = base + 6000LL * 60000,
			};

			store_incidents_query(st, &f, count_cb, &m);
		}
		t3 = clock_mono_us();
		printf("incidents=10000 insert_ms=%.1f query_by_kind_ms=%.2f (rows %zu) "
		       "query_by_time_ms=%.2f (rows %zu)\n", (t1 - t0) / 1000.0, (t2 - t1) / 1000.0,
		       n, (t3 - t2) / 1000.0, m);
		store_close(st);
		unlink(dbpath);
	}
	return 0;
}
