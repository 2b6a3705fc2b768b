#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "probes/netns.h"
#include "probes/procmap.h"
#include "probes/snapshot.h"
#include "proxyd/cfg.h"
#include "proxyd/loop.h"
#include "proxyd/logsink.h"
#include "supervisor/ctl.h"
#include "supervisor/gen.h"
#include "supervisor/spawn.h"
#include "supervisor/store.h"
#include "supervisor/incident.h"
#include "supervisor/policy.h"
#include "supervisor/svcfg.h"
#include "supervisor/svmetrics.h"
#include "supervisor/svtick.h"

#ifndef SBINDIR_PROXYD
#define SBINDIR_PROXYD "/usr/local/sbin/proxyd"
#endif

/* Exit statuses (proxysv(8)). */
#define SV_EXIT_OK 0            /* every generation drained and exited in time */
#define SV_EXIT_FATAL 1         /* could not start: configuration, bind, socket */
#define SV_EXIT_CUT 2           /* shutdown had to terminate or kill a generation */

static struct {
	char cfg_path[PATH_MAX];
	struct cfg cfg;                 /* the configuration in force */
	char sha256[65];
	struct svcfg o;
	struct sv_listener *lis;
	size_t nlis, caplis;
	int next_lis_id;
	struct gen_set gens;
	int notify_fd;
	char notify_path[108];
	struct loop_fd notify_lf;
	struct loop_timer gen_timer;
	struct loop_timer tick_timer;
	struct loop_timer delay_timer;
	struct store *store;
	struct snap_probe probe;
	int probe_ok;
	struct snapshot snap;
	int have_snap;
	struct snapshot snap_prev;      /* the previous tick's, for trends */
	int have_prev;
	struct svtick svt;              /* detectors, hysteresis, actions */
	int svt_ok;
	struct {
		int64_t gen;
		int64_t id;
	} stale[16];                    /* stale_generation incidents of cut generations */
	uint16_t ports[SD_MAX_PORTS];   /* probed: our listeners' and servers' ports */
	size_t nports;
	uint64_t started_real;
	uint64_t tick;
	double tick_ms;
	double tick_max_ms;
	uint64_t inc_opened[DK_NKINDS]; /* incidents proxysv records itself */
	uint64_t crashes_total;
	int metrics_on;
	uint64_t req_seq;               /* reload requests (tickets) */
	uint64_t start_ticket;          /* requests covered by the starting generation */
	uint64_t reload_t0;             /* mono us when the reload being started was asked */
	double last_reload_ms;          /* request -> ready of the last reload */
	int shutting_down;
	int stopped;
	int cut_at_shutdown;
	int fatal;
	char host[64];
} S;

/* ---- helpers ------------------------------------------------------------ */

static uint64_t real_of(uint64_t mono)
{
	uint64_t now = clock_mono_ms();

	return mono ? clock_real_ms() - (now - mono) : 0;
}

/* SHA-256 (FIPS 180-4) of the configuration file, for the generations
 * table: computed in-process, as a reload must not wait for a helper. */
static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha_k[i] + w[i];
		uint32_t t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));

		hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

/* out: 64 hex digits, or "" when the file cannot be read. */
static void config_digest(const char *path, char *out, size_t len)
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	unsigned char buf[64 * 64 + 128];
	uint64_t total = 0;
	size_t n, fill = 0;
	FILE *fp;

	out[0] = '\0';
	if (len < 65)
		return;
	fp = fopen(path, "re");
	if (!fp)
		return;
	while ((n = fread(buf + fill, 1, 64 * 64 - fill, fp)) > 0) {
		size_t off = 0;

		total += n;
		fill += n;
		for (; fill - off >= 64; off += 64)
			sha256_block(h, buf + off);
		memmove(buf, buf + off, fill - off);
		fill -= off;
	}
	if (ferror(fp)) {
		fclose(fp);
		return;
	}
	fclose(fp);
	buf[fill++] = 0x80;
	while (fill % 64 != 56)
		buf[fill++] = 0;
	for (int i = 7; i >= 0; i--)
		buf[fill++] = (unsigned char)((total * 8) >> (8 * i));
	for (size_t off = 0; off < fill; off += 64)
		sha256_block(h, buf + off);
	for (int i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", h[i]);
}

static void record_incident(const char *kind, const char *severity, const char *subject,
			    int64_t gen, int64_t pid, const char *summary, const char *evidence)
{
	struct store_incident_new n = {
		.kind = kind, .severity = severity, .subject = subject,
		.t_ms = (int64_t)clock_real_ms(), .value = 1, .generation = gen, .pid = pid,
		.summary = summary, .evidence = evidence,
	};
	enum detect_kind k = inc_kind_parse(kind);
	int64_t id;

	if (k < DK_NKINDS)
		S.inc_opened[k]++;
	if (k == DK_GENERATION_CRASH)
		S.crashes_total++;
	if (!S.store)
		return;
	id = store_incident_open(S.store, &n);
	if (id == -1 || store_incident_resolve(S.store, id, n.t_ms) == -1)
		log_warnx("event=store_error what=incident kind=%s", kind);
}

/* ---- listeners ---------------------------------------------------------- */

static struct sv_listener *lis_find(const struct sockaddr_storage *ss, socklen_t len)
{
	for (size_t i = 0; i < S.nlis; i++)
		if (S.lis[i].fd != -1 && S.lis[i].sslen == len && !memcmp(&S.lis[i].ss, ss, len))
			return &S.lis[i];
	return NULL;
}

static struct sv_listener *lis_by_id(int id)
{
	for (size_t i = 0; i < S.nlis; i++)
		if (S.lis[i].id == id)
			return &S.lis[i];
	return NULL;
}

/* Binds what c names and we do not hold yet; marks in_config. On failure
 * the listeners bound by this call are closed again and nothing changes. */
static int lis_reconcile(const struct cfg *c, char *err, size_t errlen)
{
	size_t first_new = S.nlis;
	size_t nbinds = 0;

	for (size_t p = 0; p < c->nproxies; p++)
		nbinds += c->proxies[p].nbinds;
	if (S.nlis + nbinds > S.caplis) {
		size_t ncap = S.nlis + nbinds + 8;
		struct sv_listener *nv = realloc(S.lis, ncap * sizeof(*nv));

		if (!nv) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		S.lis = nv;
		S.caplis = ncap;
	}
	for (size_t i = 0; i < S.nlis; i++)
		S.lis[i].in_config = 2;         /* 2: not (yet) seen in c */
	for (size_t p = 0; p < c->nproxies; p++) {
		const struct cfg_proxy *px = &c->proxies[p];

		for (size_t b = 0; b < px->nbinds; b++) {
			const struct cfg_bind *bd = &px->binds[b];
			struct sv_listener *l = lis_find(&bd->addr, bd->addrlen);
			char addr[64];

			cfg_addr_format(&bd->addr, addr, sizeof(addr));
			if (!l) {
				l = &S.lis[S.nlis];
				memset(l, 0, sizeof(*l));
				l->id = ++S.next_lis_id;
				l->fd = -1;
				l->ss = bd->addr;
				l->sslen = bd->addrlen;
				l->backlog = bd->backlog;
				l->v6only = bd->v6 == CFG_V6_V4V6 ? 0 : bd->v6 == CFG_V6_V6ONLY ? 1 : -1;
				snprintf(l->addr, sizeof(l->addr), "%s", addr);
				if (spawn_listen(l, err, errlen) == -1)
					goto fail;
				S.nlis++;
				log_info("event=listener_bound id=%d addr=%s fd=%d", l->id, addr, l->fd);
			}
			snprintf(l->name, sizeof(l->name), "%s", bd->name ? bd->name : addr);
			l->named = bd->name != NULL;
			l->in_config = 1;
		}
	}
	for (size_t i = 0; i < S.nlis; i++)
		if (S.lis[i].in_config == 2)
			S.lis[i].in_config = 0;
	return 0;
fail:
	for (size_t i = first_new; i < S.nlis; i++) {
		close(S.lis[i].fd);
		S.lis[i].fd = -1;
	}
	S.nlis = first_new;
	for (size_t i = 0; i < S.nlis; i++)
		if (S.lis[i].in_config == 2)
			S.lis[i].in_config = 1;
	return -1;
}

/* Closes listeners the configuration dropped once no generation uses them. */
static void lis_close_unused(void)
{
	size_t j = 0;

	for (size_t i = 0; i < S.nlis; i++) {
		struct sv_listener *l = &S.lis[i];

		if (!l->in_config && l->fd != -1 && !gen_uses_listener(&S.gens, l->id)) {
			log_info("event=listener_closed id=%d addr=%s reason=\"dropped by the "
				 "configuration, no generation uses it\"", l->id, l->addr);
			close(l->fd);
			l->fd = -1;
		}
		if (l->fd != -1)
			S.lis[j++] = *l;
	}
	S.nlis = j;
}

/* ---- the process layer -------------------------------------------------- */

static int ops_spawn(void *arg, struct gen *g, char *err, size_t errlen)
{
	const struct sv_listener *ptrs[256];
	struct spawn_req r = {
		.proxyd = S.o.proxyd, .cfg_path = S.cfg_path, .lis = ptrs,
		.notify_path = S.notify_path,
	};

	for (size_t i = 0; i < g->nlis && i < 256; i++) {
		ptrs[i] = lis_by_id(g->lis[i]);
		if (!ptrs[i] || ptrs[i]->fd == -1) {
			snprintf(err, errlen, "listener %d is gone", g->lis[i]);
			return -1;
		}
	}
	r.nlis = g->nlis;
	return spawn_proxyd(&r, &g->pid, &g->pidfd, err, errlen);
}

static int ops_signal(void *arg, struct gen *g, int signo)
{
	if (spawn_signal(g->pidfd, g->pid, signo) == -1) {
		log_warn("event=signal_failed gen=%" PRId64 " pid=%d sig=%d", g->num, (int)g->pid,
			 signo);
		return -1;
	}
	return 0;
}

static void reply_reload(uint64_t done, const char *text)
{
	ctl_reply_waiting(done, text);
}

struct gen_socks;
static void gen_socks_count(pid_t pid, struct gen_socks *o);
static void gen_sessions_json(struct json *j, pid_t pid);

/* A generation cut at its drain deadline is a stale_generation incident
 * (subject pid:P), opened with the kill and resolved when it exits; the
 * detectors' stale_generation of the same process, if any, is the same
 * incident (the store keeps one open per kind and subject). */
static int64_t stale_incident_open(const struct gen *g, int64_t now)
{
	char subj[32], sum[256];
	struct sbuf ev;
	struct json j;
	int64_t id;
	uint64_t age = clock_mono_ms() - g->started_ms;

	snprintf(subj, sizeof(subj), "pid:%d", (int)g->pid);
	snprintf(sum, sizeof(sum), "generation %" PRId64 " (pid %d) still held sessions at its drain"
		 " deadline (%u ms): cut", g->num, (int)g->pid, g->drain_timeout_ms);
	sb_init(&ev);
	json_init(&j, &ev);
	json_obj_open(&j, NULL);
	json_int(&j, "generation", g->num);
	json_int(&j, "pid", g->pid);
	json_uint(&j, "age_ms", age);
	json_uint(&j, "drain_timeout_ms", g->drain_timeout_ms);
	gen_sessions_json(&j, g->pid);
	json_obj_close(&j);
	{
		struct store_incident_new n = {
			.kind = "stale_generation", .severity = "critical", .subject = subj,
			.t_ms = now, .value = (double)(age / 1000), .generation = g->num,
			.pid = g->pid, .summary = sum, .evidence = ev.err ? NULL : sb_cstr(&ev),
		};

		id = store_incident_open(S.store, &n);
	}
	sb_free(&ev);
	S.inc_opened[DK_STALE_GENERATION]++;
	if (id == -1) {
		log_warnx("event=store_error what=incident kind=stale_generation");
		return -1;
	}
	for (size_t i = 0; i < sizeof(S.stale) / sizeof(S.stale[0]); i++)
		if (!S.stale[i].id) {
			S.stale[i].gen = g->num;
			S.stale[i].id = id;
			break;
		}
	return id;
}

static void stale_incident_resolve(const struct gen *g, int64_t now)
{
	for (size_t i = 0; i < sizeof(S.stale) / sizeof(S.stale[0]); i++) {
		if (!S.stale[i].id || S.stale[i].gen != g->num)
			continue;
		if (S.store && store_incident_resolve(S.store, S.stale[i].id, now) == -1 &&
		    errno != ENOENT)
			log_warnx("event=store_error what=incident_resolve");
		S.stale[i].id = 0;
	}
}

static void ops_note(void *arg, struct gen *g, enum gen_note what, const char *detail)
{
	int64_t now = (int64_t)clock_real_ms();
	char subj[64], txt[512], st[160];

	if (!g) {
		log_warnx("event=generation_%s %s", gen_note_name(what), detail ? detail : "");
		return;
	}
	snprintf(subj, sizeof(subj), "gen:%" PRId64, g->num);
	log_info("event=generation_%s gen=%" PRId64 " pid=%d state=%s%s%s", gen_note_name(what),
		 g->num, (int)g->pid, gen_state_name(g->state), detail ? " detail=" : "",
		 detail ? detail : "");
	switch (what) {
	case GEN_NOTE_STARTED:
		if (S.store && store_generation_start(S.store, g->num, g->pid, now,
						      g->sha256[0] ? g->sha256 : NULL) == -1)
			log_warnx("event=store_error what=generation_start");
		break;
	case GEN_NOTE_READY:
		if (S.store && store_generation_ready(S.store, g->num, g->pid, now) == -1)
			log_warnx("event=store_error what=generation_ready");
		if (S.reload_t0)
			S.last_reload_ms = (double)(clock_mono_us() - S.reload_t0) / 1000.0;
		S.reload_t0 = 0;
		snprintf(txt, sizeof(txt), "ok gen=%" PRId64 " pid=%d reload_ms=%.1f", g->num,
			 (int)g->pid, S.last_reload_ms);
		reply_reload(S.start_ticket, txt);
		break;
	case GEN_NOTE_DRAIN:
		if (S.store && store_generation_drain(S.store, g->num, g->pid, now) == -1)
			log_warnx("event=store_error what=generation_drain");
		break;
	case GEN_NOTE_TERM:
		if (S.store && g->cut) {
			int64_t id = stale_incident_open(g, now);

			snprintf(txt, sizeof(txt), "gen:%" PRId64 " pid:%d", g->num, (int)g->pid);
			store_action_add(S.store, id > 0 ? id : 0, now, "kill", txt, 0, "ok", detail);
		}
		break;
	case GEN_NOTE_KILL:
		if (S.store) {
			snprintf(txt, sizeof(txt), "gen:%" PRId64 " pid:%d", g->num, (int)g->pid);
			store_action_add(S.store, 0, now, "kill", txt, 0, "ok", "SIGKILL after kill-grace");
		}
		break;
	case GEN_NOTE_EXIT:
		snprintf(st, sizeof(st), "%s%s", detail ? detail : "?",
			 g->cut ? "; cut at its deadline" : "");
		if (S.store && store_generation_exit(S.store, g->num, g->pid, now, st) == -1)
			log_warnx("event=store_error what=generation_exit");
		stale_incident_resolve(g, now);
		if (g->pidfd != -1) {
			close(g->pidfd);
			g->pidfd = -1;
		}
		if (S.shutting_down && (g->cut || g->killed))
			S.cut_at_shutdown = 1;
		break;
	case GEN_NOTE_START_FAILED:
		snprintf(txt, sizeof(txt), "generation %" PRId64 " did not become ready: %s",
			 g->num, detail ? detail : "");
		{
			struct sbuf ev;
			struct json j;

			sb_init(&ev);
			json_init(&j, &ev);
			json_obj_open(&j, NULL);
			json_str(&j, "error", txt);
			json_obj_close(&j);
			record_incident("reload_failed", "warning", subj, g->num, g->pid, txt,
					ev.err ? NULL : sb_cstr(&ev));
			sb_free(&ev);
		}
		{
			struct sbuf a;

			sb_init(&a);
			sb_printf(&a, "error: reload failed: %s", txt);
			reply_reload(S.start_ticket, a.err ? "error: reload failed" : sb_cstr(&a));
			sb_free(&a);
		}
		S.reload_t0 = 0;
		break;
	case GEN_NOTE_CRASH:
		snprintf(txt, sizeof(txt), "active generation %" PRId64 " pid %d died: %s", g->num,
			 (int)g->pid, detail ? detail : "");
		{
			struct sbuf ev;
			struct json j;
			char stat[64];

			gen_status_text(g->wstatus, stat, sizeof(stat));
			sb_init(&ev);
			json_init(&j, &ev);
			json_obj_open(&j, NULL);
			json_str(&j, "exit_status", stat);
			json_uint(&j, "uptime_ms", clock_mono_ms() - g->started_ms);
			json_uint(&j, "consecutive_crashes", S.gens.crashes);
			json_bool(&j, "crash_loop", S.o.crash_loop && S.gens.crashes >= S.o.crash_loop);
			json_obj_close(&j);
			record_incident("generation_crash",
					S.o.crash_loop && S.gens.crashes >= S.o.crash_loop ?
					"critical" : "warning",
					subj, g->num, g->pid, txt, ev.err ? NULL : sb_cstr(&ev));
			sb_free(&ev);
		}
		break;
	default:
		break;
	}
}

static const struct gen_ops sv_ops = { ops_spawn, ops_signal, ops_note };

/* ---- generations -------------------------------------------------------- */

static void sv_settle(void);

static unsigned drain_timeout_of(const struct cfg *c)
{
	return c->global.hard_stop_after ? c->global.hard_stop_after : S.o.drain_timeout_ms;
}

static void gens_apply_opts(void)
{
	S.gens.o.start_timeout_ms = S.o.start_timeout_ms;
	S.gens.o.drain_timeout_ms = drain_timeout_of(&S.cfg);
	S.gens.o.kill_grace_ms = S.o.kill_grace_ms;
	S.gens.o.max_generations = S.o.max_generations;
	S.gens.o.backoff_min_ms = S.o.backoff_min_ms;
	S.gens.o.backoff_max_ms = S.o.backoff_max_ms;
	S.gens.o.stable_ms = S.o.stable_ms;
	S.gens.o.crash_loop = S.o.crash_loop;
}

static struct gen *gens_start(char *err, size_t errlen)
{
	int ids[256];
	size_t n = 0;

	for (size_t i = 0; i < S.nlis && n < 256; i++)
		if (S.lis[i].in_config && S.lis[i].fd != -1)
			ids[n++] = S.lis[i].id;
	return gen_start(&S.gens, clock_mono_ms(), ids, n, S.sha256, err, errlen);
}

/* The reload guard: fds of the live generations plus the new one's needs
 * against the budget; per policy, refuse or end the oldest draining ones. */
static int fd_guard(const struct cfg *c, const struct svcfg *o, char *err, size_t errlen)
{
	uint64_t live = 0, need;
	struct rlimit rl;

	if (o->fd_guard == SVCFG_FDG_OFF)
		return 0;
	need = 2ull * c->global.maxconn_eff + S.nlis + 32;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    need > rl.rlim_cur && !c->global.ulimit_n) {
		snprintf(err, errlen, "maxconn %u needs %" PRIu64 " fds per process, the fd "
			 "limit is %llu", c->global.maxconn_eff, need,
			 (unsigned long long)rl.rlim_cur);
		return -1;
	}
	for (size_t i = 0; i < S.gens.len; i++) {
		struct gen *g = S.gens.v[i];
		long n;

		if (g->state == GEN_ST_EXITED)
			continue;
		n = spawn_fd_count(g->pid);
		live += n > 0 ? (uint64_t)n : 0;
	}
	while (!gen_fd_fits(live, need, o->fd_budget, err, errlen)) {
		struct gen *old = NULL;
		long n;

		if (o->fd_guard != SVCFG_FDG_END_OLDEST)
			return -1;
		for (size_t i = 0; i < S.gens.len && !old; i++)
			if (S.gens.v[i]->state == GEN_ST_DRAINING)
				old = S.gens.v[i];
		if (!old)
			return -1;
		n = spawn_fd_count(old->pid);
		log_warnx("event=fd_guard action=end_oldest gen=%" PRId64 " pid=%d fds=%ld",
			  old->num, (int)old->pid, n);
		if (S.store) {
			char t[64];

			snprintf(t, sizeof(t), "gen:%" PRId64 " pid:%d", old->num, (int)old->pid);
			store_action_add(S.store, 0, (int64_t)clock_real_ms(), "kill", t, 0, "ok",
					 "fd guard: ended to make room");
		}
		gen_dispatch(&S.gens, old, GEN_EV_KILL, clock_mono_ms());
		live -= n > 0 && (uint64_t)n <= live ? (uint64_t)n : 0;
	}
	return 0;
}

/* Validates and starts the next generation; an error is reported to every
 * waiting client and recorded. Returns 0 when a generation is starting. */
/* The policy keys of the supervisor section (svtick/policy.h), checked
 * apart from svcfg's. */
static int policy_check(const struct cfg *c, char *err, size_t errlen)
{
	struct sv_policy p;
	int rc;

	policy_init(&p);
	rc = policy_load(&p, c, err, errlen);
	policy_free(&p);
	return rc;
}

static int sv_reload_now(void)
{
	struct cfg nc;
	struct cfg_diag d;
	struct svcfg no;
	struct sbuf msg, out;
	char err[512];
	int rc = -1, st;
	size_t i;

	cfg_diag_init(&d);
	sb_init(&msg);
	sb_init(&out);
	S.start_ticket = S.req_seq;
	if (!S.reload_t0)
		S.reload_t0 = clock_mono_us();
	if (cfg_load(S.cfg_path, &nc, &d) == -1) {
		for (i = 0; i < d.nmsgs; i++)
			if (d.msgs[i].sev == CFG_SEV_ERROR)
				sb_printf(&msg, "%s%s", msg.len ? "\n" : "", d.msgs[i].text);
		goto fail;
	}
	/* The supervisor section anew, from defaults; the paths and the proxyd
	 * program stay as started (flags win, sockets stay where they are). */
	svcfg_defaults(&no, S.o.proxyd);
	if (svcfg_apply(&no, &nc, err, sizeof(err)) == -1 ||
	    policy_check(&nc, err, sizeof(err)) == -1) {
		sb_puts(&msg, err);
		cfg_free(&nc);
		goto fail;
	}
	memcpy(no.runtime_dir, S.o.runtime_dir, sizeof(no.runtime_dir));
	memcpy(no.db, S.o.db, sizeof(no.db));
	memcpy(no.ctl_socket, S.o.ctl_socket, sizeof(no.ctl_socket));
	memcpy(no.proxyd, S.o.proxyd, sizeof(no.proxyd));
	log_debug("event=reload_phase phase=parsed us=%llu",
		  (unsigned long long)(clock_mono_us() - S.reload_t0));
	st = spawn_validate(S.o.proxyd, S.cfg_path, 10000, &out, err, sizeof(err));
	log_debug("event=reload_phase phase=validated us=%llu",
		  (unsigned long long)(clock_mono_us() - S.reload_t0));
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (st == -1)
			sb_puts(&msg, err);
		else
			sb_printf(&msg, "%s -c: %s", S.o.proxyd, out.len ? sb_cstr(&out) : "failed");
		while (msg.len && msg.p[msg.len - 1] == '\n')
			msg.p[--msg.len] = '\0';
		cfg_free(&nc);
		goto fail;
	}
	if (lis_reconcile(&nc, err, sizeof(err)) == -1) {
		sb_printf(&msg, "bind: %s", err);
		cfg_free(&nc);
		goto fail;
	}
	if (fd_guard(&nc, &no, err, sizeof(err)) == -1) {
		sb_printf(&msg, "reload guard: %s", err);
		cfg_free(&nc);
		/* The new listeners are kept marked; put the old config back. */
		if (lis_reconcile(&S.cfg, err, sizeof(err)) == -1)
			log_warnx("event=listener_reconcile err=\"%s\"", err);
		lis_close_unused();
		goto fail;
	}
	cfg_free(&S.cfg);
	S.cfg = nc;
	S.o = no;
	config_digest(S.cfg_path, S.sha256, sizeof(S.sha256));
	if (S.svt_ok && svtick_configure(&S.svt, &S.cfg, err, sizeof(err)) == -1)
		log_warnx("event=policy err=\"%s\" msg=\"the previous policy stays\"", err);
	if (S.svt_ok)
		S.svt.act.pol.kill_grace_ms = S.o.kill_grace_ms;
	gens_apply_opts();
	if (!gens_start(err, sizeof(err))) {
		/* gen_start counted it (or scheduled a restart). */
		if (S.gens.active)
			S.gens.reloads_failed--;
		sb_printf(&msg, "start: %s", err);
		goto fail;
	}
	log_debug("event=reload_phase phase=spawned us=%llu",
		  (unsigned long long)(clock_mono_us() - S.reload_t0));
	rc = 0;
	goto out;
fail:
	S.gens.reloads_failed++;
	S.reload_t0 = 0;
	{
		const char *m = msg.err ? "out of memory" : sb_cstr(&msg);
		struct sbuf ev, ans;
		struct json j;

		log_warnx("event=reload_failed err=\"%s\"", m);
		sb_init(&ev);
		json_init(&j, &ev);
		json_obj_open(&j, NULL);
		json_str(&j, "config", S.cfg_path);
		json_str(&j, "error", m);
		json_obj_close(&j);
		record_incident("reload_failed", "warning", "config", 0, 0, m,
				ev.err ? NULL : sb_cstr(&ev));
		sb_free(&ev);
		sb_init(&ans);
		sb_printf(&ans, "error: reload failed, generation %" PRId64 " keeps serving\n%s",
			  S.gens.active ? S.gens.active->num : 0, m);
		reply_reload(S.start_ticket, sb_cstr(&ans));
		sb_free(&ans);
	}
out:
	sb_free(&out);
	sb_free(&msg);
	cfg_diag_free(&d);
	return rc;
}

/* A reload request: returns its ticket; the answer goes to waiters. */
static uint64_t sv_reload(const char *why)
{
	uint64_t t = ++S.req_seq;

	log_info("event=reload_requested by=%s", why);
	if (S.shutting_down) {
		reply_reload(t, "error: shutting down");
		return t;
	}
	if (gen_reload_request(&S.gens)) {
		S.reload_t0 = clock_mono_us();
		(void)sv_reload_now();
	}
	sv_settle();
	return t;
}

static void gen_timer_cb(struct loop_timer *t)
{
	uint64_t now = clock_mono_ms();
	char err[256];

	gen_expire(&S.gens, now);
	if (gen_restart_due(&S.gens, now)) {
		log_info("event=restart gen=%" PRId64, S.gens.next_num);
		S.start_ticket = S.req_seq;
		if (!gens_start(err, sizeof(err)))
			log_warnx("event=restart_failed err=\"%s\"", err);
	}
	sv_settle();
}

static void status_file_write(void)
{
	char path[SVCFG_PATH_MAX + 32];
	struct sbuf b;

	sb_init(&b);
	sb_puts(&b, "# gen pid state\n");
	for (size_t i = 0; i < S.gens.len; i++) {
		const struct gen *g = S.gens.v[i];

		if (g->state != GEN_ST_EXITED)
			sb_printf(&b, "%" PRId64 " %d %s\n", g->num, (int)g->pid,
				  gen_state_name(g->state));
	}
	snprintf(path, sizeof(path), "%s/generations", S.o.runtime_dir);
	if (!b.err && spawn_write_atomic(path, b.p ? b.p : "", b.len) == -1)
		log_warn("event=status_file path=%s", path);
	sb_free(&b);
}

/* After every event: forget exited generations, close unused listeners,
 * run a coalesced reload, re-arm the generation timer, end a shutdown. */
static void sv_settle(void)
{
	uint64_t d;
	int changed = 0;

	for (size_t i = 0; i < S.gens.len; i++)
		changed |= S.gens.v[i]->state == GEN_ST_EXITED;
	gen_sweep(&S.gens);
	if (changed)
		lis_close_unused();
	if (gen_take_pending(&S.gens)) {
		S.reload_t0 = clock_mono_us();
		(void)sv_reload_now();
	}
	d = gen_next_deadline(&S.gens);
	if (d) {
		if (loop_timer_arm(&S.gen_timer, d) == -1)
			log_warn("event=timer");
	} else {
		loop_timer_cancel(&S.gen_timer);
	}
	status_file_write();
	if (S.shutting_down == 2 && gen_live(&S.gens) == 0 && !S.stopped) {
		S.stopped = 1;
		log_info("event=shutdown_complete cut=%d", S.cut_at_shutdown);
		loop_stop();
	}
}

/* ---- readiness and children -------------------------------------------- */

static void notify_cb(struct loop_fd *lf, uint32_t ev)
{
	for (;;) {
		char buf[512];
		pid_t pid;
		ssize_t n = spawn_notify_recv(lf->fd, &pid, buf, sizeof(buf));
		struct gen *g;

		if (n <= 0) {
			if (n == -1)
				log_warn("event=notify_recv");
			break;
		}
		g = pid ? gen_find_pid(&S.gens, pid) : NULL;
		if (!g) {
			/* Also a draining generation's STOPPING=1 read after its exit. */
			log_debug("event=notify_ignored pid=%d reason=\"not a live generation\"",
				  (int)pid);
			continue;
		}
		for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			if (!strcmp(l, "READY=1"))
				gen_dispatch(&S.gens, g, GEN_EV_READY, clock_mono_ms());
			else
				log_debug("event=notify gen=%" PRId64 " msg=\"%s\"", g->num, l);
		}
	}
	sv_settle();
}

/* Reaps every child, orphans included (PID 1 or subreaper). */
static void sigchld_cb(int signo, void *arg)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		struct gen *g;

		if (p == -1 && errno == EINTR)
			continue;
		if (p <= 0)
			break;
		g = gen_find_pid(&S.gens, p);
		if (g) {
			gen_exited(&S.gens, g, st, clock_mono_ms());
		} else {
			char t[64];

			gen_status_text(st, t, sizeof(t));
			log_info("event=reaped pid=%d status=\"%s\"", (int)p, t);
		}
	}
	sv_settle();
}

static void sighup_cb(int signo, void *arg)
{
	(void)sv_reload(signo == SIGHUP ? "SIGHUP" : "SIGUSR2");
}

static void shutdown_begin(void)
{
	unsigned t = S.o.shutdown_timeout_ms ? S.o.shutdown_timeout_ms : 1;

	/* Generations drain for at most shutdown-timeout, then SIGTERM, then
	 * SIGKILL after kill-grace. */
	S.shutting_down = 2;
	log_info("event=shutdown_drain timeout_ms=%u", S.o.shutdown_timeout_ms);
	/* Nothing will accept any more: new connections are refused at once
	 * rather than left in an accept queue until the end. */
	for (size_t i = 0; i < S.nlis; i++) {
		if (S.lis[i].fd != -1) {
			close(S.lis[i].fd);
			S.lis[i].fd = -1;
		}
		S.lis[i].in_config = 0;
	}
	gen_shutdown(&S.gens, clock_mono_ms(), t);
	reply_reload(S.req_seq, "error: shutting down");
	sv_settle();
}

static void delay_cb(struct loop_timer *t)
{
	shutdown_begin();
}

static void sigterm_cb(int signo, void *arg)
{
	if (S.shutting_down) {
		/* A second signal: stop now. */
		log_info("event=shutdown_fast signal=%d", signo);
		loop_timer_cancel(&S.delay_timer);
		S.shutting_down = 2;
		for (size_t i = 0; i < S.gens.len; i++)
			gen_dispatch(&S.gens, S.gens.v[i], GEN_EV_KILL, clock_mono_ms());
		S.gens.shutting_down = 1;
		S.cut_at_shutdown = 1;
		sv_settle();
		return;
	}
	S.shutting_down = 1;
	if (S.o.shutdown_delay_ms) {
		/* Keep accepting while a load balancer deregisters us. */
		log_info("event=shutdown_delay ms=%u", S.o.shutdown_delay_ms);
		loop_timer_init(&S.delay_timer, delay_cb, NULL);
		if (loop_timer_arm_in(&S.delay_timer, S.o.shutdown_delay_ms) == 0)
			return;
	}
	shutdown_begin();
}

/* ---- the tick: probes -> snapshot -> [detectors -> actions] -> store -> watch */

static const char *const ss_state[SD_NSTATES] = {
	[SD_ESTABLISHED] = "ESTAB", [SD_SYN_SENT] = "SYN-SENT", [SD_SYN_RECV] = "SYN-RECV",
	[SD_FIN_WAIT1] = "FIN-WAIT-1", [SD_FIN_WAIT2] = "FIN-WAIT-2",
	[SD_TIME_WAIT] = "TIME-WAIT", [SD_CLOSE] = "UNCONN", [SD_CLOSE_WAIT] = "CLOSE-WAIT",
	[SD_LAST_ACK] = "LAST-ACK", [SD_LISTEN] = "LISTEN", [SD_CLOSING] = "CLOSING",
	[SD_NEW_SYN_RECV] = "SYN-RECV",
};

static void addr_text(uint8_t family, const uint8_t *a, int port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, a, ip, sizeof(ip));
	if (port < 0)
		snprintf(buf, len, "%s", ip);
	else if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%d", ip, port);
	else
		snprintf(buf, len, "%s:%d", ip, port);
}

/* Whether pid holds socket ino. The snapshot reads our generations' fds on
 * every tick (snap_opts.scan_pids), so its owner table answers this. */
static int owner_has(const struct snapshot *s, uint32_t ino, pid_t pid)
{
	const struct pm_owner *o = pm_owners_find(&s->owners, ino);
	const struct pm_owner *end = s->owners.v + s->owners.len;

	for (; o && o < end && o->ino == ino; o++)
		if (o->pid == pid)
			return 1;
	return 0;
}

/* The open fds of a live generation: the count the last snapshot took
 * while reading its fd table (every tick reads our generations'), else
 * (no snapshot yet, or it failed) a listing of /proc/PID/fd. */
static long gen_fd_count(pid_t pid)
{
	uint32_t n;

	if (S.have_snap && S.snap.have_owners && pm_owners_nfds(&S.snap.owners, pid, &n))
		return (long)n;
	return spawn_fd_count(pid);
}

/* The ports the tick probes (kernel-filtered): every listener's, and every
 * server's (the generations' connections to their backends). */
static void ports_refresh(void)
{
	S.nports = 0;
	for (size_t i = 0; i < S.nlis; i++) {
		const struct sockaddr_storage *ss = &S.lis[i].ss;
		uint16_t p = ss->ss_family == AF_INET ?
			     ntohs(((const struct sockaddr_in *)ss)->sin_port) :
			     ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		size_t k;

		for (k = 0; k < S.nports && S.ports[k] != p; k++)
			;
		if (k == S.nports && S.nports < SD_MAX_PORTS)
			S.ports[S.nports++] = p;
	}
	for (size_t x = 0; x < S.cfg.nproxies; x++) {
		const struct cfg_proxy *px = &S.cfg.proxies[x];

		for (size_t v = 0; v < px->nservers; v++) {
			const struct sockaddr_storage *ss = &px->servers[v].addr;
			uint16_t p = ss->ss_family == AF_INET ?
				     ntohs(((const struct sockaddr_in *)ss)->sin_port) :
				     ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
			size_t k;

			for (k = 0; k < S.nports && S.ports[k] != p; k++)
				;
			if (k == S.nports && S.nports < SD_MAX_PORTS)
				S.ports[S.nports++] = p;
		}
	}
}

static int is_our_port(uint16_t port)
{
	for (size_t i = 0; i < S.nlis; i++) {
		const struct sockaddr_storage *ss = &S.lis[i].ss;
		uint16_t p = ss->ss_family == AF_INET ?
			     ntohs(((const struct sockaddr_in *)ss)->sin_port) :
			     ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);

		if (p == port)
			return 1;
	}
	return 0;
}

#define SV_MAX_PEERS 64

struct peer_count {
	char key[64];
	unsigned n;
};

/* What one process holds, from the last snapshot. */
struct gen_socks {
	unsigned by_state[SD_NSTATES];
	unsigned sessions;      /* client connections: on a port we listen on */
	unsigned sockets;       /* every non-listening socket */
	struct peer_count peers[SV_MAX_PEERS];
	size_t npeers;
	unsigned other;         /* sockets beyond SV_MAX_PEERS peers */
};

/* Clients are grouped by address, servers by address:port. */
static void gen_socks_count(pid_t pid, struct gen_socks *o)
{
	const struct snapshot *s = &S.snap;

	memset(o, 0, sizeof(*o));
	if (!S.have_snap)
		return;
	for (size_t i = 0; i < s->socks.len; i++) {
		const struct sd_sock *k = &s->socks.socks[i];
		int client;
		char key[64];
		size_t p;

		if (!k->ino || k->state == SD_LISTEN || k->state >= SD_NSTATES ||
		    !owner_has(s, k->ino, pid))
			continue;
		client = is_our_port(k->lport);
		o->by_state[k->state]++;
		o->sockets++;
		o->sessions += client;
		addr_text(k->family, k->raddr, client ? -1 : k->rport, key, sizeof(key));
		for (p = 0; p < o->npeers && strcmp(o->peers[p].key, key); p++)
			;
		if (p == o->npeers && o->npeers < SV_MAX_PEERS) {
			snprintf(o->peers[p].key, sizeof(o->peers[p].key), "%s", key);
			o->npeers++;
		}
		if (p < o->npeers)
			o->peers[p].n++;
		else
			o->other++;
	}
}

/* "sessions" counts a generation's client connections, "sockets" every
 * non-listening socket it owns; states and peers cover all of them. */
static void gen_sessions_json(struct json *j, pid_t pid)
{
	struct gen_socks c;

	gen_socks_count(pid, &c);
	json_uint(j, "sessions", c.sessions);
	json_uint(j, "sockets", c.sockets);
	json_obj_open(j, "states");
	for (int st = 1; st < SD_NSTATES; st++)
		if (c.by_state[st])
			json_uint(j, ss_state[st], c.by_state[st]);
	json_obj_close(j);
	json_obj_open(j, "peers");
	for (size_t p = 0; p < c.npeers; p++)
		json_uint(j, c.peers[p].key, c.peers[p].n);
	if (c.other)
		json_uint(j, "other", c.other);
	json_obj_close(j);
}

static void time_or_null(struct json *j, const char *k, uint64_t mono)
{
	if (mono)
		json_uint(j, k, real_of(mono));
	else
		json_null(j, k);
}

static void gens_json(struct json *j)
{
	json_arr_open(j, "generations");
	for (size_t i = S.gens.len; i-- > 0;) {
		const struct gen *g = S.gens.v[i];

		json_obj_open(j, NULL);
		json_int(j, "gen", g->num);
		json_int(j, "pid", g->pid);
		json_str(j, "state", gen_state_name(g->state));
		time_or_null(j, "started", g->started_ms);
		time_or_null(j, "ready", g->ready_ms);
		time_or_null(j, "drain_since", g->drain_ms);
		time_or_null(j, "deadline", g->deadline_ms);
		gen_sessions_json(j, g->pid);
		if (g->state != GEN_ST_EXITED) {
			long n = gen_fd_count(g->pid);

			if (n >= 0)
				json_int(j, "fds", n);
		}
		json_obj_close(j);
	}
	json_arr_close(j);
}

static void listeners_json(struct json *j)
{
	const struct snapshot *s = &S.snap;

	json_arr_open(j, "listeners");
	for (size_t i = 0; i < S.nlis; i++) {
		const struct sv_listener *l = &S.lis[i];
		const struct snap_listener *sl = NULL;
		uint8_t a[16] = { 0 };
		uint16_t port;
		unsigned q = 0, bl = l->backlog;

		if (l->ss.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)&l->ss;

			memcpy(a, &in->sin_addr, 4);
			port = ntohs(in->sin_port);
		} else {
			const struct sockaddr_in6 *in6 = (const void *)&l->ss;

			memcpy(a, &in6->sin6_addr, 16);
			port = ntohs(in6->sin6_port);
		}
		if (S.have_snap)
			sl = snapshot_listener_find(s, l->ss.ss_family, a, port);
		json_obj_open(j, NULL);
		json_str(j, "addr", l->addr);
		json_str(j, "name", l->name);
		json_int(j, "fd", l->fd);
		json_bool(j, "in_config", l->in_config);
		if (sl) {
			for (size_t k = 0; k < sl->nlsocks; k++) {
				q += s->lsocks[sl->first_lsock + k].rqueue;
				bl = s->lsocks[sl->first_lsock + k].wqueue;
			}
		}
		json_uint(j, "queue", q);
		json_uint(j, "backlog", bl);
		json_uint(j, "overflows", S.have_snap ? s->kernel.counters.listen_overflows : 0);
		json_arr_open(j, "sockets");
		for (size_t k = 0; sl && k < sl->nlsocks; k++) {
			const struct snap_lsock *ls = &s->lsocks[sl->first_lsock + k];

			json_obj_open(j, NULL);
			json_uint(j, "ino", ls->ino);
			json_uint(j, "queue", ls->rqueue);
			json_uint(j, "backlog", ls->wqueue);
			json_arr_open(j, "owners");
			json_int(j, NULL, getpid());
			for (size_t g = 0; g < S.gens.len; g++)
				if (S.gens.v[g]->state != GEN_ST_EXITED &&
				    owner_has(s, ls->ino, S.gens.v[g]->pid))
					json_int(j, NULL, S.gens.v[g]->pid);
			json_arr_close(j);
			json_obj_close(j);
		}
		json_arr_close(j);
		json_bool(j, "duplicate", sl && sl->nlsocks > 1);
		json_obj_close(j);
	}
	json_arr_close(j);
}

static uint32_t sock_idle_ms(const struct sd_sock *k)
{
	uint32_t m = k->info.last_data_recv;

	if (k->info.last_data_sent < m)
		m = k->info.last_data_sent;
	if (k->info.last_ack_recv < m)
		m = k->info.last_ack_recv;
	return k->has_info ? m : 0;
}

/* Per live generation and listening port: its client sockets by state,
 * with the longest idle time seen per state. */
static void ports_json(struct json *j)
{
	const struct snapshot *s = &S.snap;

	json_arr_open(j, "ports");
	for (size_t gi = 0; S.have_snap && gi < S.gens.len; gi++) {
		const struct gen *g = S.gens.v[gi];

		if (g->state == GEN_ST_EXITED)
			continue;
		for (size_t pi = 0; pi < S.nports; pi++) {
			uint32_t n[SD_NSTATES] = { 0 }, idle[SD_NSTATES] = { 0 };
			uint16_t port = S.ports[pi];
			unsigned total = 0;

			if (!is_our_port(port))
				continue;
			for (size_t i = 0; i < s->socks.len; i++) {
				const struct sd_sock *k = &s->socks.socks[i];

				if (k->lport != port || !k->ino || k->state == SD_LISTEN ||
				    k->state >= SD_NSTATES || !owner_has(s, k->ino, g->pid))
					continue;
				n[k->state]++;
				total++;
				if (sock_idle_ms(k) > idle[k->state])
					idle[k->state] = sock_idle_ms(k);
			}
			if (!total)
				continue;
			json_obj_open(j, NULL);
			json_uint(j, "port", port);
			json_int(j, "pid", g->pid);
			json_int(j, "gen", g->num);
			json_obj_open(j, "states");
			for (int st = 1; st < SD_NSTATES; st++)
				if (n[st])
					json_uint(j, ss_state[st], n[st]);
			json_obj_close(j);
			json_obj_open(j, "oldest_ms");
			for (int st = 1; st < SD_NSTATES; st++)
				if (n[st] && idle[st])
					json_uint(j, ss_state[st], idle[st]);
			json_obj_close(j);
			json_obj_close(j);
		}
	}
	json_arr_close(j);
}

/* One watch line (WATCH format). */
static void summary_json(struct sbuf *out)
{
	struct json j;

	json_init(&j, out);
	json_obj_open(&j, NULL);
	json_int(&j, "v", 1);
	json_uint(&j, "t", clock_real_ms());
	json_uint(&j, "tick", S.tick);
	json_double(&j, "tick_ms", S.tick_ms);
	json_str(&j, "host", S.host);
	json_uint(&j, "started", S.started_real);
	json_int(&j, "pid", getpid());
	if (S.gens.active)
		json_int(&j, "active_gen", S.gens.active->num);
	else
		json_null(&j, "active_gen");
	json_uint(&j, "reloads", S.gens.reloads);
	json_uint(&j, "reloads_failed", S.gens.reloads_failed);
	json_double(&j, "last_reload_ms", S.last_reload_ms);
	json_uint(&j, "crashes", S.gens.crashes);
	json_bool(&j, "shutting_down", S.shutting_down != 0);
	json_str(&j, "config", S.cfg_path);
	gens_json(&j);
	listeners_json(&j);
	ports_json(&j);
	if (S.svt_ok) {
		svtick_servers_json(&S.svt, NULL, 0, &j);
		svtick_incidents_json(&S.svt, &j, clock_real_ms());
	} else {
		json_arr_open(&j, "servers");
		json_arr_close(&j);
		json_arr_open(&j, "incidents");
		json_arr_close(&j);
	}
	if (S.store)
		store_status_json(S.store, &j, "store");
	else
		json_null(&j, "store");
	json_obj_close(&j);
}

static void tick_cb(struct loop_timer *t)
{
	uint64_t t0 = clock_mono_us();
	struct snap_opts so = { .nsfd = NETNS_SELF, .want_info = 1, .want_owners = 1 };
	struct svt_gen gv[64];
	pid_t spids[64];
	uint16_t lports[SD_MAX_PORTS];
	size_t ngv = 0, nlp = 0, nsp = 0;
	uint64_t now_mono = clock_mono_ms();
	char err[256];

	S.tick++;
	/* probes -> snapshot: only our ports */
	ports_refresh();
	so.ports = S.ports;
	so.nports = S.nports;
	/* Our own fds (the listeners we hold) and our generations' are read
	 * every tick; other processes' a budget of fds a tick, so that no tick
	 * reads every process at once (snapshot_take, scan_pids). */
	spids[nsp++] = getpid();
	for (size_t i = 0; i < S.gens.len && nsp < sizeof(spids) / sizeof(spids[0]); i++)
		if (S.gens.v[i]->state != GEN_ST_EXITED && S.gens.v[i]->pid > 0)
			spids[nsp++] = S.gens.v[i]->pid;
	so.scan_pids = spids;
	so.nscan_pids = nsp;
	if (S.probe_ok) {
		/* The current snapshot becomes the previous one; the take reuses
		 * the arrays of the one before. */
		struct snapshot tmp = S.snap_prev;

		S.snap_prev = S.snap;
		S.have_prev = S.have_snap;
		S.snap = tmp;
		if (snapshot_take(&S.probe, &so, &S.snap, err, sizeof(err)) == -1) {
			log_warnx("event=snapshot_failed err=\"%s\"", err);
			S.have_snap = 0;
		} else {
			S.have_snap = 1;
		}
	}
	for (size_t i = 0; i < S.gens.len && ngv < sizeof(gv) / sizeof(gv[0]); i++) {
		const struct gen *g = S.gens.v[i];

		gv[ngv].gen = g->num;
		gv[ngv].pid = g->pid;
		gv[ngv].live = g->state != GEN_ST_EXITED && g->pid > 0;
		gv[ngv].active = g == S.gens.active;
		gv[ngv].past_deadline = g->state == GEN_ST_STOPPING ||
			(g->state == GEN_ST_DRAINING && g->deadline_ms && now_mono >= g->deadline_ms);
		ngv++;
	}
	for (size_t i = 0; i < S.nports && nlp < SD_MAX_PORTS; i++)
		if (is_our_port(S.ports[i]))
			lports[nlp++] = S.ports[i];
	/* Detectors and actions run here, between the snapshot and the store. */
	if (!S.store && S.svt_ok) {
		struct svt_in in = {
			.prev = S.have_prev && S.have_snap ? &S.snap_prev : NULL,
			.cur = S.have_snap ? &S.snap : NULL, .gens = gv, .ngens = ngv,
			.now_ms = clock_real_ms(), .listen_ports = lports, .nlisten_ports = nlp,
		};

		svtick_run(&S.svt, &in);
	}
	if (S.store) {
		int64_t now = (int64_t)clock_real_ms();

		if (store_tick_begin(S.store) == 0) {
			char subj[32];

			for (size_t i = 0; i < S.gens.len; i++) {
				const struct gen *g = S.gens.v[i];

				if (g->state == GEN_ST_EXITED || g->pid <= 0)
					continue;
				snprintf(subj, sizeof(subj), "gen:%" PRId64, g->num);
				store_sample_add(S.store, now, subj, "fds",
						 (double)gen_fd_count(g->pid));
			}
			if (S.tick % 60 == 0)
				(void)store_maintain(S.store, now);
		}
		if (S.svt_ok) {
			struct svt_in in = {
				.prev = S.have_prev && S.have_snap ? &S.snap_prev : NULL,
				.cur = S.have_snap ? &S.snap : NULL, .gens = gv, .ngens = ngv,
				.store = S.store, .now_ms = (uint64_t)now, .listen_ports = lports,
				.nlisten_ports = nlp,
			};

			svtick_run(&S.svt, &in);
		}
		if (store_tick_commit(S.store) == -1 && S.svt_ok)
			svtick_store_dropped(&S.svt);
	}
	S.tick_ms = (double)(clock_mono_us() - t0) / 1000.0;
	if (S.tick_ms > S.tick_max_ms)
		S.tick_max_ms = S.tick_ms;
	if (ctl_watchers()) {
		struct sbuf b;

		sb_init(&b);
		summary_json(&b);
		if (!b.err)
			ctl_watch_send(sb_cstr(&b));
		sb_free(&b);
	}
	if (loop_timer_arm_in(&S.tick_timer, S.o.tick_ms) == -1)
		log_warn("event=tick_timer");
}

/* ---- metrics -------------------------------------------------------------- */

static const int half_states[] = {
	SD_FIN_WAIT2, SD_CLOSE_WAIT, SD_LAST_ACK, SD_CLOSING, SD_TIME_WAIT,
};
#define NHALF (sizeof(half_states) / sizeof(half_states[0]))

static uint16_t lis_port(const struct sv_listener *l)
{
	return l->ss.ss_family == AF_INET ?
	       ntohs(((const struct sockaddr_in *)&l->ss)->sin_port) :
	       ntohs(((const struct sockaddr_in6 *)&l->ss)->sin6_port);
}

/* The listeners' queues from the last snapshot. */
static void metrics_listeners(struct svm_listener *v)
{
	for (size_t i = 0; i < S.nlis; i++) {
		const struct sv_listener *l = &S.lis[i];
		const struct snap_listener *sl = NULL;
		uint8_t a[16] = { 0 };

		if (l->ss.ss_family == AF_INET)
			memcpy(a, &((const struct sockaddr_in *)&l->ss)->sin_addr, 4);
		else
			memcpy(a, &((const struct sockaddr_in6 *)&l->ss)->sin6_addr, 16);
		if (S.have_snap)
			sl = snapshot_listener_find(&S.snap, l->ss.ss_family, a, lis_port(l));
		v[i] = (struct svm_listener){ .name = l->name, .backlog = l->backlog };
		for (size_t k = 0; sl && k < sl->nlsocks; k++) {
			v[i].queue += S.snap.lsocks[sl->first_lsock + k].rqueue;
			v[i].backlog = S.snap.lsocks[sl->first_lsock + k].wqueue;
		}
		v[i].sockets = sl ? sl->nlsocks : 0;
	}
}

/* Every half-closed state for every listening port (0 included); returns
 * how many entries. */
static size_t metrics_half(struct svm_half *v)
{
	size_t n = 0;

	for (size_t i = 0; i < S.nlis; i++) {
		uint16_t port = lis_port(&S.lis[i]);
		size_t first = n, j;

		for (j = 0; j < i && lis_port(&S.lis[j]) != port; j++)
			;
		if (j < i)
			continue;
		for (size_t h = 0; h < NHALF; h++)
			v[n++] = (struct svm_half){ .state = ss_state[half_states[h]],
						    .port = port };
		for (size_t k = 0; S.have_snap && k < S.snap.socks.len; k++) {
			const struct sd_sock *so = &S.snap.socks.socks[k];

			if (so->lport != port)
				continue;
			for (size_t h = 0; h < NHALF; h++)
				if (so->state == half_states[h])
					v[first + h].n++;
		}
	}
	return n;
}

static int metrics_render_cb(struct sbuf *out, void *arg, char *err, size_t errlen)
{
	struct svm_data d = { .current_gen = 0 };
	struct svm_listener *lis;
	struct svm_half *half;
	int rc = -1;

	(void)arg;
	lis = calloc(S.nlis + 1, sizeof(*lis));
	half = calloc(S.nlis * NHALF + 1, sizeof(*half));
	if (!lis || !half) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < S.gens.len; i++) {
		const struct gen *g = S.gens.v[i];

		if (g->state == GEN_ST_EXITED)
			continue;
		if (g == S.gens.active)
			d.gens_serving++;
		else if (g->state == GEN_ST_DRAINING || g->state == GEN_ST_STOPPING)
			d.gens_draining++;
	}
	if (S.gens.active) {
		d.current_gen = S.gens.active->num;
		d.current_gen_start_s = (double)real_of(S.gens.active->started_ms) / 1000.0;
	}
	d.reloads = (uint64_t)S.gens.reloads + S.gens.reloads_failed;
	d.reloads_failed = S.gens.reloads_failed;
	d.crashes = S.crashes_total;
	metrics_listeners(lis);
	d.lis = lis;
	d.nlis = S.nlis;
	d.half = half;
	d.nhalf = metrics_half(half);
	for (unsigned k = 0; k < DK_NKINDS; k++)
		d.inc_total[k] = S.inc_opened[k] + (S.svt_ok ? S.svt.inc_opened[k] : 0);
	for (size_t i = 0; S.svt_ok && i < S.svt.tr.len; i++) {
		const struct inc_entry *e = &S.svt.tr.v[i];

		if (e->open && !e->dead && e->kind < DK_NKINDS)
			d.inc_open[e->kind]++;
	}
	for (size_t i = 0; i < sizeof(S.stale) / sizeof(S.stale[0]); i++)
		if (S.stale[i].id)
			d.inc_open[DK_STALE_GENERATION]++;
	d.actions = S.svt_ok ? (const uint64_t (*)[DK_NKINDS][SVM_NRESULTS])S.svt.act_count : NULL;
	d.tick_s = S.tick_ms / 1000.0;
	d.tick_max_s = S.tick_max_ms / 1000.0;
	d.ticks = S.tick;
	if (S.store) {
		struct store_status st;

		store_status(S.store, &st);
		d.store_errors = st.errors;
		d.store_dropped = st.dropped_writes;
	}
	d.start_s = (double)S.started_real / 1000.0;
	rc = svmetrics_render(out, &d, err, errlen);
out:
	free(half);
	free(lis);
	return rc;
}

/* ---- control commands --------------------------------------------------- */

/* The text view: one line per generation, then its states and peers. */
static void show_generations_text(struct sbuf *out)
{
	uint64_t now = clock_mono_ms();

	sb_printf(out, "%-5s %-8s %-9s %8s %9s %9s %8s\n", "GEN", "PID", "STATE", "AGE_S",
		  "DEADLN_S", "SESSIONS", "SOCKETS");
	for (size_t i = S.gens.len; i-- > 0;) {
		const struct gen *g = S.gens.v[i];
		struct gen_socks c;
		char dl[32];

		if (g->deadline_ms)
			snprintf(dl, sizeof(dl), "%.1f",
				 g->deadline_ms > now ? (double)(g->deadline_ms - now) / 1000.0 : 0.0);
		else
			snprintf(dl, sizeof(dl), "-");
		gen_socks_count(g->pid, &c);
		sb_printf(out, "%-5" PRId64 " %-8d %-9s %8.1f %9s %9u %8u\n", g->num, (int)g->pid,
			  gen_state_name(g->state), (double)(now - g->started_ms) / 1000.0, dl,
			  c.sessions, c.sockets);
		if (!c.sockets)
			continue;
		sb_puts(out, "      states:");
		for (int st = 1; st < SD_NSTATES; st++)
			if (c.by_state[st])
				sb_printf(out, " %s=%u", ss_state[st], c.by_state[st]);
		sb_puts(out, "\n      peers: ");
		for (size_t p = 0; p < c.npeers; p++)
			sb_printf(out, " %s=%u", c.peers[p].key, c.peers[p].n);
		if (c.other)
			sb_printf(out, " other=%u", c.other);
		sb_putc(out, '\n');
	}
	if (!S.have_snap)
		sb_puts(out, "(no snapshot yet: sessions appear after the first tick)\n");
}

static int ctl_exec(void *arg, struct ctl_conn *c, const struct ctl_cmd *cmd, struct sbuf *out)
{
	struct gen *g;
	struct json j;

	switch (cmd->verb) {
	case CTL_STATUS:
		if (cmd->json) {
			summary_json(out);
			return CTL_DONE;
		}
		sb_printf(out, "pid %d, up %.0fs, config %s\n", (int)getpid(),
			  (double)(clock_real_ms() - S.started_real) / 1000.0, S.cfg_path);
		if (S.gens.active)
			sb_printf(out, "active generation %" PRId64 " (pid %d)\n", S.gens.active->num,
				  (int)S.gens.active->pid);
		else
			sb_puts(out, "no active generation\n");
		sb_printf(out, "generations live %zu, reloads %u, failed %u, last reload %.1f ms, "
			  "consecutive crashes %u%s\n", gen_live(&S.gens), S.gens.reloads,
			  S.gens.reloads_failed, S.last_reload_ms, S.gens.crashes,
			  S.shutting_down ? ", shutting down" : "");
		sb_printf(out, "listeners %zu, store %s", S.nlis, S.store ? S.o.db : "none");
		return CTL_DONE;
	case CTL_SHOW_GENERATIONS:
		if (cmd->json) {
			json_init(&j, out);
			json_obj_open(&j, NULL);
			gens_json(&j);
			json_obj_close(&j);
		} else {
			show_generations_text(out);
		}
		return CTL_DONE;
	case CTL_SHOW_LISTENERS:
		if (cmd->json) {
			json_init(&j, out);
			json_obj_open(&j, NULL);
			listeners_json(&j);
			json_obj_close(&j);
			return CTL_DONE;
		}
		sb_printf(out, "%-4s %-4s %-24s %-24s %-6s %s\n", "ID", "FD", "ADDR", "NAME",
			  "CONFIG", "USED_BY");
		for (size_t i = 0; i < S.nlis; i++) {
			const struct sv_listener *l = &S.lis[i];

			sb_printf(out, "%-4d %-4d %-24s %-24s %-6s", l->id, l->fd, l->addr, l->name,
				  l->in_config ? "yes" : "no");
			for (size_t k = 0; k < S.gens.len; k++)
				for (size_t m = 0; m < S.gens.v[k]->nlis; m++)
					if (S.gens.v[k]->lis[m] == l->id)
						sb_printf(out, " gen%" PRId64, S.gens.v[k]->num);
			sb_putc(out, '\n');
		}
		return CTL_DONE;
	case CTL_RELOAD:
		/* The ticket sv_reload is about to take. */
		ctl_conn_wait(c, S.req_seq + 1);
		(void)sv_reload("ctl");
		return CTL_DEFER;
	case CTL_DRAIN:
	case CTL_KILL:
		g = gen_find_num(&S.gens, cmd->gen);
		if (!g || g->state == GEN_ST_EXITED) {
			sb_printf(out, "error: no live generation %" PRId64, cmd->gen);
			return CTL_DONE;
		}
		if (cmd->verb == CTL_DRAIN && g->state != GEN_ST_ACTIVE &&
		    g->state != GEN_ST_DRAINING) {
			sb_printf(out, "error: generation %" PRId64 " is %s", g->num,
				  gen_state_name(g->state));
			return CTL_DONE;
		}
		if (cmd->verb == CTL_DRAIN && g == S.gens.active)
			sb_printf(out, "warning: generation %" PRId64 " was the active one: "
				  "nothing accepts new connections until a reload\n", g->num);
		gen_dispatch(&S.gens, g, cmd->verb == CTL_DRAIN ? GEN_EV_DRAIN : GEN_EV_KILL,
			     clock_mono_ms());
		sb_printf(out, "ok gen=%" PRId64 " state=%s", g->num, gen_state_name(g->state));
		sv_settle();
		return CTL_DONE;
	default:
		sb_puts(out, "error: unsupported");
		return CTL_DONE;
	}
}

/* ---- JSON logs ------------------------------------------------------------ */

/* log-format json (or -J): proxysv's event lines go through logsink_json
 * (one JSON object per line: ts, type "event", severity, pid, program,
 * then the pairs), and the generations are asked to do the same with
 * PROXYD_LOG_JSON=1 in the environment they inherit (proxyd(8),
 * ENVIRONMENT). Lines of another shape (proxyd's session logs, messages
 * written before logging starts) are written as they are. Called before
 * any thread is started. */
static void jlog_start(void)
{
	log_set_sink(logsink_json, (void *)"proxysv");
	if (setenv("PROXYD_LOG_JSON", "1", 1) == -1)
		log_warn("event=log_json msg=\"generations log text\"");
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *fp)
{
	fprintf(fp, "usage: proxysv -f FILE [-S CTLSOCK] [--db DBFILE|none] [--proxyd PATH]\n"
		    "               [--runtime-dir DIR] [-J|--log-json] [-d] [-h] [-v]\n");
}

static int mkdir_p(const char *dir)
{
	char tmp[SVCFG_PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static int path_join(char *dst, size_t len, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb >= len)
		return -1;
	memcpy(dst, a, la);
	memcpy(dst + la, b, lb + 1);
	return 0;
}

static const char *default_proxyd(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("PROXYD");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && env[0])
		return env;
	/* Beside proxysv first (an installed tree, or the build tree). */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (path_join(path, sizeof(path), self, "/proxyd") == 0 &&
			    access(path, X_OK) == 0)
				return path;
			if (path_join(path, sizeof(path), self, "/../proxyd/proxyd") == 0 &&
			    access(path, X_OK) == 0)
				return path;
		}
	}
	return SBINDIR_PROXYD;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "proxyd", required_argument, NULL, 'P' },
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "log-json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *f = NULL, *ctl = NULL, *db = NULL, *pxd = NULL, *rdir = NULL;
	struct cfg_diag d;
	char err[512];
	int opt, debug = 0, json = 0, rc = SV_EXIT_FATAL;

	while ((opt = getopt_long(argc, argv, "f:S:dhvJ", lopts, NULL)) != -1) {
		switch (opt) {
		case 'f': f = optarg; break;
		case 'S': ctl = optarg; break;
		case 'D': db = optarg; break;
		case 'P': pxd = optarg; break;
		case 'R': rdir = optarg; break;
		case 'd': debug = 1; break;
		case 'J': json = 1; break;
		case 'v': printf("proxysv %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return SV_EXIT_FATAL;
		}
	}
	if (!f || optind != argc) {
		usage(stderr);
		return SV_EXIT_FATAL;
	}
	log_init("proxysv", 0, debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (!realpath(f, S.cfg_path))
		fatal("event=config path=%s", f);
	S.notify_fd = -1;
	S.started_real = clock_real_ms();
	if (gethostname(S.host, sizeof(S.host)) == -1)
		snprintf(S.host, sizeof(S.host), "?");
	S.host[sizeof(S.host) - 1] = '\0';

	cfg_diag_init(&d);
	if (cfg_load(S.cfg_path, &S.cfg, &d) == -1) {
		cfg_diag_print(&d, stderr);
		cfg_diag_free(&d);
		cfg_free(&S.cfg);
		return SV_EXIT_FATAL;
	}
	cfg_diag_free(&d);
	svcfg_defaults(&S.o, default_proxyd());
	if (svcfg_apply(&S.o, &S.cfg, err, sizeof(err)) == -1 ||
	    policy_check(&S.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "proxysv: %s\n", err);
		cfg_free(&S.cfg);
		return SV_EXIT_FATAL;
	}
	if (json || S.o.log_json)
		jlog_start();
	if (rdir)
		snprintf(S.o.runtime_dir, sizeof(S.o.runtime_dir), "%s", rdir);
	if (pxd)
		snprintf(S.o.proxyd, sizeof(S.o.proxyd), "%s", pxd);
	if (db)
		snprintf(S.o.db, sizeof(S.o.db), "%s", db);
	if (ctl)
		snprintf(S.o.ctl_socket, sizeof(S.o.ctl_socket), "%s", ctl);
	if ((!S.o.db[0] &&
	     path_join(S.o.db, sizeof(S.o.db), S.o.runtime_dir, "/incidents.db") == -1) ||
	    (!S.o.ctl_socket[0] && path_join(S.o.ctl_socket, sizeof(S.o.ctl_socket),
					     S.o.runtime_dir, "/control.sock") == -1)) {
		log_warnx("event=runtime_dir path=%s err=\"path too long\"", S.o.runtime_dir);
		goto out_cfg;
	}
	config_digest(S.cfg_path, S.sha256, sizeof(S.sha256));

	if (mkdir_p(S.o.runtime_dir) == -1) {
		log_warn("event=runtime_dir path=%s", S.o.runtime_dir);
		goto out_cfg;
	}
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		log_warn("event=subreaper");
	signal(SIGPIPE, SIG_IGN);
	if (loop_init() == -1) {
		log_warn("event=loop_init");
		goto out_cfg;
	}
	if (loop_signal(SIGCHLD, sigchld_cb, NULL) == -1 ||
	    loop_signal(SIGHUP, sighup_cb, NULL) == -1 ||
	    loop_signal(SIGUSR2, sighup_cb, NULL) == -1 ||
	    loop_signal(SIGTERM, sigterm_cb, NULL) == -1 ||
	    loop_signal(SIGINT, sigterm_cb, NULL) == -1) {
		log_warn("event=signals");
		goto out_loop;
	}
	if (strcmp(S.o.db, "none")) {
		S.store = store_open(S.o.db, 0, NULL, err, sizeof(err));
		if (!S.store)
			log_warnx("event=store_unavailable path=%s err=\"%s\" msg=\"generations go "
				  "to the log only\"", S.o.db, err);
	}
	if (snap_probe_open(&S.probe, &(struct snap_opts){ .nsfd = NETNS_SELF, .want_info = 1 },
			    err, sizeof(err)) == 0)
		S.probe_ok = 1;
	else
		log_warnx("event=probes_unavailable err=\"%s\"", err);
	if (svtick_init(&S.svt, &S.cfg, S.probe_ok ? &S.probe.sd : NULL, err, sizeof(err)) == 0) {
		S.svt_ok = 1;
		/* Kills by policy use the generations' kill-grace. */
		S.svt.act.pol.kill_grace_ms = S.o.kill_grace_ms;
		if (S.store) {
			int n = svtick_seed(&S.svt, S.store);

			if (n > 0)
				log_info("event=incidents_reloaded open=%d", n);
		}
	} else {
		log_warnx("event=detectors_unavailable err=\"%s\"", err);
	}

	snprintf(S.notify_path, sizeof(S.notify_path), "@proxysv/%d/%llu/notify", (int)getpid(),
		 (unsigned long long)clock_mono_us());
	S.notify_fd = spawn_notify_open(S.notify_path, err, sizeof(err));
	if (S.notify_fd == -1) {
		log_warnx("event=notify_socket err=\"%s\"", err);
		goto out_store;
	}
	loop_fd_init(&S.notify_lf, S.notify_fd, notify_cb, NULL);
	if (loop_fd_add(&S.notify_lf, LOOP_IN) == -1) {
		log_warn("event=notify_socket");
		goto out_notify;
	}
	if (ctl_server_open(S.o.ctl_socket, ctl_exec, NULL, err, sizeof(err)) == -1) {
		log_warnx("event=ctl_socket err=\"%s\"", err);
		goto out_notify;
	}
	if (S.o.prom_text[0]) {
		if (svmetrics_start(&S.o.prom_addr, S.o.prom_addrlen, S.o.prom_text,
				    metrics_render_cb, NULL, err, sizeof(err)) == -1) {
			log_warnx("event=bind_failed err=\"%s\"", err);
			goto out_ctl;
		}
		S.metrics_on = 1;
		log_info("event=prometheus_listening addr=%s", S.o.prom_text);
	}
	if (lis_reconcile(&S.cfg, err, sizeof(err)) == -1) {
		log_warnx("event=bind_failed err=\"%s\"", err);
		goto out_ctl;
	}
	gen_set_init(&S.gens, &sv_ops, NULL, &(struct gen_opts){ 0 },
		     S.store ? store_generation_last(S.store) + 1 : 1);
	gens_apply_opts();
	loop_timer_init(&S.gen_timer, gen_timer_cb, NULL);
	loop_timer_init(&S.tick_timer, tick_cb, NULL);
	log_info("event=start pid=%d config=%s proxyd=%s ctl=%s db=%s listeners=%zu pid1=%d",
		 (int)getpid(), S.cfg_path, S.o.proxyd, S.o.ctl_socket,
		 S.store ? S.o.db : "none", S.nlis, getpid() == 1);
	if (!gens_start(err, sizeof(err)))
		log_warnx("event=start_failed err=\"%s\"", err);
	sv_settle();
	if (loop_timer_arm_in(&S.tick_timer, S.o.tick_ms) == -1)
		log_warn("event=tick_timer");
	if (loop_run() == -1)
		log_warn("event=loop");
	rc = S.cut_at_shutdown ? SV_EXIT_CUT : SV_EXIT_OK;
	if (!S.shutting_down)
		rc = SV_EXIT_FATAL;
	log_info("event=exit status=%d", rc);

	gen_set_free(&S.gens);
	for (size_t i = 0; i < S.nlis; i++)
		if (S.lis[i].fd != -1)
			close(S.lis[i].fd);
out_ctl:
	if (S.metrics_on)
		svmetrics_stop();
	ctl_server_close();
out_notify:
	loop_fd_del(&S.notify_lf);
	close(S.notify_fd);
out_store:
	if (S.probe_ok)
		snap_probe_close(&S.probe);
	if (S.svt_ok)
		svtick_free(&S.svt);
	snapshot_free(&S.snap);
	snapshot_free(&S.snap_prev);
	store_close(S.store);
out_loop:
	loop_free();
out_cfg:
	free(S.lis);
	cfg_free(&S.cfg);
	return rc;
}
