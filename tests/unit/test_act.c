/* Unit tests of actions and policy: decisions with fake side effects, the
 * choice of sockets to destroy, and the policy keys of the supervisor
 * section. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "probes/snapshot.h"
#include "probes/sockdiag.h"
#include "proxyd/cfg.h"
#include "supervisor/act.h"
#include "supervisor/incident.h"
#include "supervisor/policy.h"

/* ---- fake side effects ---- */

struct fake {
	int next_fd;
	pid_t opened[256];
	int nopened;
	int sigs[256];
	int nsigs;
	int exited;           /* pidfd_exited answer */
	int closed;
	int fail_open;        /* errno for pidfd_open, 0 ok */
	uint16_t destroyed[64];
	int ndestroyed;
	int destroy_errno;    /* for every destroy, 0 ok */
	char cmd[160];
	char path[160];
	int ncmd;
};

static int f_open(void *ctx, pid_t pid)
{
	struct fake *f = ctx;

	if (f->fail_open) {
		errno = f->fail_open;
		return -1;
	}
	f->opened[f->nopened++] = pid;
	return f->next_fd++;
}

static int f_signal(void *ctx, int fd, int sig)
{
	struct fake *f = ctx;

	(void)fd;
	f->sigs[f->nsigs++] = sig;
	return 0;
}

static int f_exited(void *ctx, int fd)
{
	(void)fd;
	return ((struct fake *)ctx)->exited;
}

static void f_close(void *ctx, int fd)
{
	(void)fd;
	((struct fake *)ctx)->closed++;
}

static int f_destroy(void *ctx, const struct sd_sock *s, char *err, size_t errlen)
{
	struct fake *f = ctx;

	if (f->destroy_errno) {
		snprintf(err, errlen, "destroy: %s", strerror(f->destroy_errno));
		errno = f->destroy_errno;
		return -1;
	}
	f->destroyed[f->ndestroyed++] = s->rport;
	return 0;
}

static int f_stats(void *ctx, const char *path, const char *cmd, char *err, size_t errlen)
{
	struct fake *f = ctx;

	(void)err;
	(void)errlen;
	snprintf(f->cmd, sizeof(f->cmd), "%s", cmd);
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->ncmd++;
	return 0;
}

static void setup_actor(struct actor *a, struct fake *f, const struct act_policy *p)
{
	struct act_ops ops = {
		.pidfd_open = f_open, .pidfd_signal = f_signal, .pidfd_exited = f_exited,
		.close_fd = f_close, .destroy = f_destroy, .stats_cmd = f_stats, .ctx = f,
	};

	memset(f, 0, sizeof(*f));
	f->next_fd = 100;
	actor_init(a, p, &ops);
}

static struct finding mkf(enum detect_kind k, const char *subject, pid_t pid)
{
	struct finding f;

	memset(&f, 0, sizeof(f));
	f.kind = k;
	f.severity = DS_CRITICAL;
	snprintf(f.subject, sizeof(f.subject), "%s", subject);
	f.pid = pid;
	return f;
}

/* ---- synthetic snapshot ---- */

static struct sd_sock *sock(struct snapshot *s, unsigned st, uint16_t lport, uint16_t rport,
			    uint32_t ino, pid_t pid, uint32_t idle_ms)
{
	struct sd_sock *k = sd_table_push(&s->socks);
	struct pm_owners *o = &s->owners;

	assert_non_null(k);
	k->family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", k->laddr), 1);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.2", k->raddr), 1);
	k->state = (uint8_t)st;
	k->lport = lport;
	k->rport = rport;
	k->ino = ino;
	if (idle_ms) {
		k->has_info = 1;
		k->info.last_data_recv = idle_ms;
		k->info.last_data_sent = idle_ms;
		k->info.last_ack_recv = idle_ms;
	}
	if (pid) {
		if (o->len == o->cap) {
			size_t ncap = o->cap ? o->cap * 2 : 8;
			struct pm_owner *v = realloc(o->v, ncap * sizeof(*v));

			assert_non_null(v);
			o->v = v;
			o->cap = ncap;
		}
		o->v[o->len].ino = ino;
		o->v[o->len].pid = pid;
		o->v[o->len].fd = (int)o->len + 3;
		o->len++;
	}
	return k;
}

/* pid 100 listens on :80 and holds: client-side FIN_WAIT2 idle 40 s
 * (rport 1001), client-side FIN_WAIT2 idle 5 s (1002), client-side
 * CLOSE_WAIT idle 45 s (1003), server-side CLOSE_WAIT idle 40 s (8080 from
 * port 40000), an established client session idle 2 s (1005). pid 200 holds
 * a client-side FIN_WAIT2 idle 50 s (1006). */
static void build(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->have_owners = 1;
	sock(s, SD_LISTEN, 80, 0, 10, 100, 0);
	sock(s, SD_FIN_WAIT2, 80, 1001, 11, 100, 40000);
	sock(s, SD_FIN_WAIT2, 80, 1002, 12, 100, 5000);
	sock(s, SD_CLOSE_WAIT, 80, 1003, 13, 100, 45000);
	sock(s, SD_CLOSE_WAIT, 40000, 8080, 14, 100, 40000);
	sock(s, SD_ESTABLISHED, 80, 1005, 15, 100, 2000);
	sock(s, SD_FIN_WAIT2, 80, 1006, 16, 200, 50000);
	assert_int_equal(snapshot_group(s), 0);
}

/* ---- tests ---- */

static void test_names(void **state)
{
	enum act_kind a;

	(void)state;
	assert_string_equal(act_name(ACT_SHUTDOWN_SESSIONS), "shutdown-sessions");
	assert_string_equal(act_result_name(AR_RATE_LIMITED), "rate-limited");
	assert_int_equal(act_parse("destroy", &a), 0);
	assert_int_equal(a, ACT_DESTROY);
	assert_int_equal(act_parse("nuke", &a), -1);
}

static void test_foreign_observed_only(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_DUPLICATE_LISTENER, "tcp:0.0.0.0:80", 555);
	struct act_target t = { 0 };

	(void)state;
	act_policy_defaults(&p);
	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].action, ACT_OBSERVE);
	assert_int_equal(r[0].result, AR_OK);
	assert_non_null(strstr(r[0].error, "act-on-foreign"));
	assert_string_equal(r[0].target, "pid:555");
	/* Not at every tick. */
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 2000, 0, r, 4), 0);
	assert_int_equal(f.nopened, 0);
	assert_int_equal(f.nsigs, 0);
	actor_free(&a);
}

static void test_kill_term_grace_kill(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_DUPLICATE_LISTENER, "tcp:0.0.0.0:80", 555);
	struct act_target t = { 0 };

	(void)state;
	act_policy_defaults(&p);
	p.act_on_foreign = 1;
	p.kill_grace_ms = 2000;
	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].action, ACT_KILL);
	assert_int_equal(r[0].result, AR_OK);
	assert_int_equal(r[0].dry_run, 0);
	assert_int_equal(f.nopened, 1);
	assert_int_equal(f.opened[0], 555);
	assert_int_equal(f.nsigs, 1);
	assert_int_equal(f.sigs[0], SIGTERM);
	/* Pending: no second SIGTERM while it runs. */
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1500, 0, r, 4), 0);
	assert_int_equal(act_poll(&a, 2000, r, 4), 0);
	assert_int_equal(f.nsigs, 1);
	assert_int_equal(act_poll(&a, 3000, r, 4), 1);
	assert_int_equal(f.nsigs, 2);
	assert_int_equal(f.sigs[1], SIGKILL);
	assert_int_equal(r[0].action, ACT_KILL);
	assert_non_null(strstr(r[0].error, "SIGKILL"));
	assert_int_equal(f.closed, 1);
	assert_int_equal(a.npend, 0);
	actor_free(&a);
}

static void test_duplicate_warning_not_killed(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_DUPLICATE_LISTENER, "tcp:0.0.0.0:80", 555);
	struct act_target t = { 0 };

	(void)state;
	act_policy_defaults(&p);
	p.act_on_foreign = 1;
	setup_actor(&a, &f, &p);
	fi.severity = DS_WARNING;
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].result, AR_SKIPPED);
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 2000, 0, r, 4), 0);
	assert_int_equal(f.nsigs, 0);
	actor_free(&a);
}

static void test_kill_exits_in_grace(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_DUPLICATE_LISTENER, "tcp:0.0.0.0:80", 555);
	struct act_target t = { .own = 1, .gen = 3 };

	(void)state;
	act_policy_defaults(&p);
	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	f.exited = 1;
	assert_int_equal(act_poll(&a, 1100, r, 4), 0);
	assert_int_equal(f.nsigs, 1);
	assert_int_equal(f.closed, 1);
	/* A failing pidfd_open is a failed record. */
	f.fail_open = ESRCH;
	fi.pid = 556;
	strcpy(fi.subject, "tcp:0.0.0.0:81");
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1200, 1, r, 4), 1);
	assert_int_equal(r[0].result, AR_FAILED);
	assert_non_null(strstr(r[0].error, "pidfd_open"));
	actor_free(&a);
}

static void test_active_generation_spared(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_DUPLICATE_LISTENER, "tcp:0.0.0.0:80", 555);
	struct act_target t = { .own = 1, .active = 1, .gen = 4 };

	(void)state;
	act_policy_defaults(&p);
	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].result, AR_SKIPPED);
	assert_string_equal(r[0].error, "the active generation");
	assert_int_equal(f.nsigs, 0);
	actor_free(&a);
}

static void test_dry_run(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_SESSION_ON_DOWN_SERVER, "server:be/s1", 100);
	struct act_target t = { .own = 1, .active = 1, .gen = 2, .stats_path = "/run/s.sock" };

	(void)state;
	act_policy_defaults(&p);
	p.dry_run = 1;
	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].action, ACT_SHUTDOWN_SESSIONS);
	assert_int_equal(r[0].dry_run, 1);
	assert_int_equal(r[0].result, AR_OK);
	assert_string_equal(r[0].target, "server:be/s1");
	assert_int_equal(f.ncmd, 0);
	actor_free(&a);
}

static void test_shutdown_sessions(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_SESSION_ON_DOWN_SERVER, "server:be/s1", 100);
	struct act_target t = { .own = 1, .active = 1, .gen = 2, .stats_path = "/run/s.sock" };

	(void)state;
	act_policy_defaults(&p);
	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].result, AR_OK);
	assert_string_equal(f.cmd, "shutdown sessions server be/s1");
	assert_string_equal(f.path, "/run/s.sock");
	t.stats_path = NULL;
	strcpy(fi.subject, "server:be/s2");
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].result, AR_SKIPPED);
	assert_string_equal(r[0].error, "no stats socket");
	assert_int_equal(f.ncmd, 1);
	actor_free(&a);
}

static void test_rate_limit(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_ACCEPT_BACKLOG, "tcp:0.0.0.0:80:ino:5", 555);
	struct act_target t = { .own = 1, .gen = 2 };
	uint64_t now;
	int ok = 0, limited = 0;

	(void)state;
	act_policy_defaults(&p);
	p.kind[DK_ACCEPT_BACKLOG].action = ACT_DRAIN;
	p.kind[DK_ACCEPT_BACKLOG].rate_max = 2;
	p.kind[DK_ACCEPT_BACKLOG].rate_window_ms = 10000;
	setup_actor(&a, &f, &p);
	/* A flapping detector calling every second for 9 s. */
	for (now = 1000; now < 10000; now += 1000) {
		size_t n = act_apply(&a, &fi, &t, NULL, now, now == 1000, r, 4), i;

		for (i = 0; i < n; i++) {
			ok += r[i].result == AR_OK;
			limited += r[i].result == AR_RATE_LIMITED;
		}
	}
	assert_int_equal(ok, 2);
	assert_int_equal(limited, 1);
	assert_int_equal(f.nsigs, 2);
	assert_int_equal(f.sigs[0], SIGUSR1);
	/* After the window, allowed again. */
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 11500, 0, r, 4), 1);
	assert_int_equal(r[0].result, AR_OK);
	/* Another subject has its own budget. */
	strcpy(fi.subject, "tcp:0.0.0.0:81:ino:6");
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 11600, 1, r, 4), 1);
	assert_int_equal(r[0].result, AR_OK);
	/* Many subjects over time: the history keeps only those still in their
	 * window. */
	{
		char subj[64];
		int k;

		for (k = 0; k < 100; k++) {
			snprintf(subj, sizeof(subj), "tcp:0.0.0.0:80:ino:%d", 1000 + k);
			strcpy(fi.subject, subj);
			assert_int_equal(act_apply(&a, &fi, &t, NULL, 20000 + (uint64_t)k * 20000, 1,
						   r, 4), 1);
		}
		assert_true(a.nhist <= 32);
	}
	actor_free(&a);
}

static void test_destroy_targets_client_side(void **state)
{
	struct act_policy p;
	struct snapshot s;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_HALF_CLOSE_BUILDUP, "pid:100", 100);
	struct act_target t = { .own = 1, .gen = 1 };
	size_t idx[8], n;

	(void)state;
	build(&s);
	act_policy_defaults(&p);
	n = act_destroy_targets(&p, &s, 100, idx, 8);
	assert_int_equal(n, 2);
	assert_int_equal(s.socks.socks[idx[0]].rport, 1001);
	assert_int_equal(s.socks.socks[idx[1]].rport, 1003);
	/* A shorter idle limit takes the 5 s one too, never the server side. */
	p.destroy_idle_ms = 4000;
	assert_int_equal(act_destroy_targets(&p, &s, 100, idx, 8), 3);
	assert_int_equal(act_destroy_targets(&p, &s, 100, idx, 1), 1);
	assert_int_equal(act_destroy_targets(&p, &s, 100, NULL, 0), 3);
	p.destroy_idle_ms = 30000;

	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, &s, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].action, ACT_DESTROY);
	assert_int_equal(r[0].result, AR_OK);
	assert_string_equal(r[0].target, "pid:100:sockets:2");
	assert_int_equal(f.ndestroyed, 2);
	assert_int_equal(f.destroyed[0], 1001);
	assert_int_equal(f.destroyed[1], 1003);
	/* Already gone counts as done; EPERM fails. */
	f.destroy_errno = ENOENT;
	assert_int_equal(act_apply(&a, &fi, &t, &s, 2000, 0, r, 4), 1);
	assert_int_equal(r[0].result, AR_OK);
	assert_non_null(strstr(r[0].error, "2 already gone"));
	f.destroy_errno = EPERM;
	assert_int_equal(act_apply(&a, &fi, &t, &s, 3000, 0, r, 4), 1);
	assert_int_equal(r[0].result, AR_FAILED);
	assert_non_null(strstr(r[0].error, "destroy:"));
	actor_free(&a);

	/* Nothing to destroy: skipped, recorded at the opening only, and no
	 * budget of the rate limit spent. */
	p.destroy_idle_ms = 60000;
	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, &s, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].result, AR_SKIPPED);
	assert_int_equal(act_apply(&a, &fi, &t, &s, 2000, 0, r, 4), 0);
	assert_int_equal(act_apply(&a, &fi, &t, &s, 3000, 0, r, 4), 0);
	assert_int_equal(act_apply(&a, &fi, &t, &s, 4000, 0, r, 4), 0);
	a.pol.destroy_idle_ms = 30000;
	assert_int_equal(act_apply(&a, &fi, &t, &s, 5000, 0, r, 4), 1);
	assert_int_equal(r[0].result, AR_OK);
	actor_free(&a);
	snapshot_free(&s);
}

static void test_stale_kill_by_reason(void **state)
{
	struct act_policy p;
	struct snapshot s;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_STALE_GENERATION, "pid:200", 200);
	struct act_target t = { .own = 1, .gen = 1 };
	char why[160];

	(void)state;
	build(&s);
	act_policy_defaults(&p);
	setup_actor(&a, &f, &p);
	/* Default: within the deadline nothing happens, past it a kill. */
	assert_int_equal(act_apply(&a, &fi, &t, &s, 1000, 1, r, 4), 0);
	t.past_deadline = 1;
	assert_int_equal(act_apply(&a, &fi, &t, &s, 2000, 0, r, 4), 1);
	assert_int_equal(r[0].action, ACT_KILL);
	assert_non_null(strstr(r[0].error, "reason: past its drain deadline"));
	actor_free(&a);

	/* stale-kill idle: pid 200 holds one half-closed socket only. */
	t.past_deadline = 0;
	p.stale_reason = ASR_IDLE;
	assert_int_equal(act_stale_reason_ok(&p, &s, 200, &t, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "idle or half-closed"));
	/* pid 100 has an established session idle 2 s: held. */
	assert_int_equal(act_stale_reason_ok(&p, &s, 100, &t, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "1 active session"));
	p.stale_idle_ms = 1000;
	assert_int_equal(act_stale_reason_ok(&p, &s, 100, &t, why, sizeof(why)), 1);
	snapshot_free(&s);
}

static void test_stale_kill_one_peer(void **state)
{
	struct act_policy p;
	struct snapshot s;
	struct act_target t = { .own = 1, .gen = 1 };
	char why[160];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.have_owners = 1;
	sock(&s, SD_LISTEN, 80, 0, 10, 300, 0);
	sock(&s, SD_ESTABLISHED, 80, 2001, 11, 301, 10);
	sock(&s, SD_ESTABLISHED, 40001, 9000, 12, 301, 10);
	sock(&s, SD_ESTABLISHED, 40002, 9000, 13, 301, 10);
	assert_int_equal(snapshot_group(&s), 0);
	act_policy_defaults(&p);
	p.stale_reason = ASR_PEER;
	assert_int_equal(act_stale_reason_ok(&p, &s, 301, &t, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "127.0.0.2:9000"));
	sock(&s, SD_ESTABLISHED, 40003, 9001, 14, 301, 10);
	assert_int_equal(snapshot_group(&s), 0);
	assert_int_equal(act_stale_reason_ok(&p, &s, 301, &t, why, sizeof(why)), 0);
	snapshot_free(&s);
}

static void test_observe_recorded_at_open(void **state)
{
	struct act_policy p;
	struct actor a;
	struct fake f;
	struct act_record r[4];
	struct finding fi = mkf(DK_LOSSY_PEER, "peer:10.0.0.9", 0);
	struct act_target t = { 0 };

	(void)state;
	act_policy_defaults(&p);
	setup_actor(&a, &f, &p);
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 1000, 1, r, 4), 1);
	assert_int_equal(r[0].action, ACT_OBSERVE);
	assert_string_equal(r[0].target, "peer:10.0.0.9");
	assert_int_equal(act_apply(&a, &fi, &t, NULL, 2000, 0, r, 4), 0);
	actor_free(&a);
}

/* ---- policy keys ---- */

static const char base_cfg[] =
	"global\n"
	"    maxconn 100\n"
	"defaults\n"
	"    mode tcp\n"
	"    timeout connect 1s\n"
	"    timeout client 10s\n"
	"    timeout server 10s\n"
	"listen l\n"
	"    bind 127.0.0.1:26100\n"
	"    server s 127.0.0.1:26101\n"
	"supervisor\n";

static int load_policy(const char *extra, struct sv_policy *p, char *err, size_t errlen)
{
	struct cfg c;
	struct cfg_diag d;
	size_t len = strlen(base_cfg) + strlen(extra) + 1;
	char *text = malloc(len);
	int rc;

	assert_non_null(text);
	snprintf(text, len, "%s%s", base_cfg, extra);
	cfg_diag_init(&d);
	if (cfg_load_mem("p.cfg", text, strlen(text), &c, &d) != 0) {
		size_t i;

		for (i = 0; i < d.nmsgs; i++)
			print_message("%s\n", d.msgs[i].text);
		fail();
	}
	policy_init(p);
	rc = policy_load(p, &c, err, errlen);
	cfg_free(&c);
	cfg_diag_free(&d);
	free(text);
	return rc;
}

static void test_policy_keys(void **state)
{
	struct sv_policy p;
	struct inc_tracker t;
	char err[256] = "";

	(void)state;
	if (load_policy("    tick 1s\n"
			"    act-on-foreign on\n"
			"    dry-run yes\n"
			"    action lossy_peer kill\n"
			"    action all observe\n"
			"    action half_close_buildup destroy\n"
			"    hysteresis all 3 4\n"
			"    hysteresis config_lint 1 1\n"
			"    rate-limit stale_generation 5 2m\n"
			"    destroy-idle 90s\n"
			"    destroy-max 50\n"
			"    stale-kill peer\n"
			"    stale-idle 5m\n"
			"    threshold maxconn-pct 75\n"
			"    threshold down-grace 2s\n"
			"    threshold half-close-pct 3\n"
			"    allow-listener :22 sshd\n"
			"    watch-stats /run/haproxy.sock\n", &p, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(p.act.act_on_foreign, 1);
	assert_int_equal(p.act.dry_run, 1);
	assert_int_equal(p.act.kind[DK_LOSSY_PEER].action, ACT_OBSERVE);
	assert_int_equal(p.act.kind[DK_STALE_GENERATION].action, ACT_OBSERVE);
	assert_int_equal(p.act.kind[DK_HALF_CLOSE_BUILDUP].action, ACT_DESTROY);
	assert_int_equal(p.act.kind[DK_STALE_GENERATION].rate_max, 5);
	assert_int_equal(p.act.kind[DK_STALE_GENERATION].rate_window_ms, 120000);
	assert_int_equal(p.act.kind[DK_LOSSY_PEER].rate_max, 3);
	assert_int_equal(p.act.destroy_idle_ms, 90000);
	assert_int_equal(p.act.destroy_max, 50);
	assert_int_equal(p.act.stale_reason, ASR_PEER);
	assert_int_equal(p.act.stale_idle_ms, 300000);
	assert_int_equal(p.det.maxconn_pct, 75);
	assert_int_equal(p.det.down_grace_ms, 2000);
	assert_int_equal(p.det.half_close_pct, 3);
	assert_int_equal(p.det.half_close_min, 0);
	/* The configuration's global maxconn scales the half-closed threshold. */
	assert_int_equal(p.det.half_close_maxconn, 100);
	assert_int_equal(p.det.nallow, 2);
	assert_string_equal(p.det.allow[0], ":22");
	assert_string_equal(p.det.allow[1], "sshd");
	assert_int_equal(p.nwatch, 1);
	assert_string_equal(p.watch_stats[0], "/run/haproxy.sock");
	inc_tracker_init(&t);
	policy_apply_tracker(&p, &t);
	assert_int_equal(t.params[DK_ACCEPT_BACKLOG].open_ticks, 3);
	assert_int_equal(t.params[DK_ACCEPT_BACKLOG].resolve_ticks, 4);
	assert_int_equal(t.params[DK_CONFIG_LINT].open_ticks, 1);
	assert_int_equal(t.params[DK_CONFIG_LINT].resolve_ticks, 1);
	inc_tracker_free(&t);
	policy_free(&p);
	assert_true(policy_is_key("watch-stats"));
	assert_false(policy_is_key("tick"));
}

/* half-close-min alone is an absolute count; with half-close-pct, or with
 * neither, the threshold follows the configuration's maxconn. */
static void test_policy_half_close_relative(void **state)
{
	static const struct {
		const char *lines;
		uint32_t min, pct;
		uint8_t abs;
	} c[] = {
		{ "", 0, 0, 0 },
		{ "    threshold half-close-min 25\n", 25, 0, 1 },
		{ "    threshold half-close-min 25\n    threshold half-close-pct 10\n", 25, 10, 0 },
		{ "    threshold half-close-pct 10\n", 0, 10, 0 },
	};
	struct sv_policy p;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		err[0] = '\0';
		if (load_policy(c[i].lines, &p, err, sizeof(err)) == -1)
			fail_msg("%s", err);
		assert_int_equal(p.det.half_close_min, c[i].min);
		assert_int_equal(p.det.half_close_pct, c[i].pct);
		assert_int_equal(p.det.half_close_abs, c[i].abs);
		assert_int_equal(p.det.half_close_maxconn, 100);
		policy_free(&p);
	}
}

static void test_policy_errors(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} bad[] = {
		{ "    action nosuch kill\n", "p.cfg:12: 'action': unknown kind 'nosuch'" },
		{ "    action lossy_peer nuke\n", "unknown action 'nuke'" },
		{ "    hysteresis all 0 3\n", "bad count '0'" },
		{ "    rate-limit all 3 soon\n", "bad window 'soon'" },
		{ "    dry-run maybe\n", "expects on or off" },
		{ "    stale-kill never\n", "expects deadline, idle or peer" },
		{ "    threshold maxconn-pct 101\n", "expects an integer in 1..100" },
		{ "    threshold nosuch 1\n", "unknown threshold 'nosuch'" },
		{ "    threshold half-close-pct 0\n", "half-close-pct: expects an integer in 1..100" },
		{ "    threshold half-close-pct 101\n", "half-close-pct: expects an integer in 1..100" },
		{ "    watch-stats\n", "expects one PATH" },
		{ "    destroy-max 0\n", "expects an integer" },
	};
	struct sv_policy p;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (load_policy(bad[i].line, &p, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].line);
		if (!strstr(err, bad[i].msg))
			fail_msg("%s: got '%s'", bad[i].line, err);
		policy_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_foreign_observed_only),
		cmocka_unit_test(test_kill_term_grace_kill),
		cmocka_unit_test(test_duplicate_warning_not_killed),
		cmocka_unit_test(test_kill_exits_in_grace),
		cmocka_unit_test(test_active_generation_spared),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_shutdown_sessions),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_destroy_targets_client_side),
		cmocka_unit_test(test_stale_kill_by_reason),
		cmocka_unit_test(test_stale_kill_one_peer),
		cmocka_unit_test(test_observe_recorded_at_open),
		cmocka_unit_test(test_policy_keys),
		cmocka_unit_test(test_policy_half_close_relative),
		cmocka_unit_test(test_policy_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
