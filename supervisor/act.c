/*
 * Actions and policy. Decisions are pure functions of the finding, what the
 * supervisor knows about the process (struct act_target), the snapshot and
 * the history of actions; side effects go through struct act_ops.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/sbuf.h"
#include "probes/procmap.h"
#include "probes/snapshot.h"
#include "probes/sockdiag.h"
#include "supervisor/act.h"
#include "supervisor/statsrc.h"

#define ACT_RATE_MAX 3u
#define ACT_RATE_WINDOW_MS 60000u
#define ACT_KILL_GRACE_MS 5000u
#define ACT_DESTROY_IDLE_MS 30000u
#define ACT_DESTROY_MAX 1000u
#define ACT_STALE_IDLE_MS 60000u
#define ACT_HIST_SLOTS 8u
#define ACT_STATS_TIMEOUT_MS 1000u

static const char *const act_names[ACT_NKINDS] = {
	[ACT_OBSERVE] = "observe",
	[ACT_DRAIN] = "drain",
	[ACT_KILL] = "kill",
	[ACT_DESTROY] = "destroy",
	[ACT_SHUTDOWN_SESSIONS] = "shutdown-sessions",
};

const char *act_name(enum act_kind a)
{
	return (unsigned)a < ACT_NKINDS ? act_names[a] : "unknown";
}

const char *act_result_name(enum act_result r)
{
	switch (r) {
	case AR_OK: return "ok";
	case AR_FAILED: return "failed";
	case AR_SKIPPED: return "skipped";
	case AR_RATE_LIMITED: return "rate-limited";
	}
	return "unknown";
}

int act_parse(const char *s, enum act_kind *out)
{
	unsigned k;

	for (k = 0; k < ACT_NKINDS; k++)
		if (strcmp(s, act_names[k]) == 0) {
			*out = (enum act_kind)k;
			return 0;
		}
	return -1;
}

void act_policy_defaults(struct act_policy *p)
{
	size_t k;

	memset(p, 0, sizeof(*p));
	for (k = 0; k < DK_NKINDS; k++) {
		p->kind[k].action = ACT_OBSERVE;
		p->kind[k].rate_max = ACT_RATE_MAX;
		p->kind[k].rate_window_ms = ACT_RATE_WINDOW_MS;
	}
	p->kind[DK_DUPLICATE_LISTENER].action = ACT_KILL;
	p->kind[DK_STALE_GENERATION].action = ACT_KILL;
	p->kind[DK_HALF_CLOSE_BUILDUP].action = ACT_DESTROY;
	p->kind[DK_SESSION_ON_DOWN_SERVER].action = ACT_SHUTDOWN_SESSIONS;
	p->kill_grace_ms = ACT_KILL_GRACE_MS;
	p->destroy_idle_ms = ACT_DESTROY_IDLE_MS;
	p->destroy_max = ACT_DESTROY_MAX;
	p->stale_reason = ASR_DEADLINE;
	p->stale_idle_ms = ACT_STALE_IDLE_MS;
}

/* ---- the real side effects ---- */

static int act_sys_pidfd_open(void *ctx, pid_t pid)
{
	(void)ctx;
	return procmap_pidfd(pid);
}

static int act_sys_pidfd_signal(void *ctx, int pidfd, int sig)
{
	(void)ctx;
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	(void)pidfd;
	(void)sig;
	errno = ENOSYS;
	return -1;
#endif
}

static int act_sys_pidfd_exited(void *ctx, int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	(void)ctx;
	for (;;) {
		int rc = poll(&p, 1, 0);

		if (rc == -1 && errno == EINTR)
			continue;
		return rc > 0;
	}
}

static void act_sys_close(void *ctx, int fd)
{
	(void)ctx;
	close(fd);
}

static int act_sys_destroy(void *ctx, const struct sd_sock *s, char *err, size_t errlen)
{
	if (!ctx) {
		snprintf(err, errlen, "no sock_diag handle");
		errno = ENOTCONN;
		return -1;
	}
	return sockdiag_destroy(ctx, s, err, errlen);
}

static int act_sys_stats_cmd(void *ctx, const char *path, const char *cmd, char *err,
			     size_t errlen)
{
	struct sbuf out;
	int rc;

	(void)ctx;
	sb_init(&out);
	rc = stats_query(path, cmd, ACT_STATS_TIMEOUT_MS, &out, err, errlen);
	/* The stats socket answers errors in words; a successful shutdown
	 * answers an empty line. */
	if (rc == 0 && out.len > 0 && strspn(sb_cstr(&out), "\r\n") != out.len) {
		snprintf(err, errlen, "%.*s", (int)strcspn(sb_cstr(&out), "\n"), sb_cstr(&out));
		errno = EPROTO;
		rc = -1;
	}
	sb_free(&out);
	return rc;
}

void act_ops_system(struct act_ops *ops, struct sockdiag *sd)
{
	ops->pidfd_open = act_sys_pidfd_open;
	ops->pidfd_signal = act_sys_pidfd_signal;
	ops->pidfd_exited = act_sys_pidfd_exited;
	ops->close_fd = act_sys_close;
	ops->destroy = act_sys_destroy;
	ops->stats_cmd = act_sys_stats_cmd;
	ops->ctx = sd;
}

void actor_init(struct actor *a, const struct act_policy *p, const struct act_ops *ops)
{
	memset(a, 0, sizeof(*a));
	a->pol = *p;
	if (ops)
		a->ops = *ops;
	else
		act_ops_system(&a->ops, NULL);
}

void actor_free(struct actor *a)
{
	size_t i;

	for (i = 0; i < a->npend; i++)
		a->ops.close_fd(a->ops.ctx, a->pend[i].pidfd);
	free(a->pend);
	free(a->hist);
	memset(a, 0, sizeof(*a));
}

/* ---- rate limits ---- */

/* The newest action time of h. */
static uint64_t act_hist_last(const struct act_hist *h)
{
	return h->n ? h->t[(h->n - 1) % ACT_HIST_SLOTS] : 0;
}

static struct act_hist *act_hist_get(struct actor *a, enum detect_kind k, const char *subject,
				     uint64_t now)
{
	struct act_hist *h;
	size_t i, w;

	for (i = 0; i < a->nhist; i++)
		if (a->hist[i].kind == k && strcmp(a->hist[i].subject, subject) == 0)
			return &a->hist[i];
	/* Forget subjects whose actions are all out of their window (pids and
	 * servers come and go; the history must not grow with them). */
	if (a->nhist == a->cap_hist) {
		for (i = 0, w = 0; i < a->nhist; i++) {
			const struct act_hist *o = &a->hist[i];
			uint32_t win = a->pol.kind[o->kind].rate_window_ms;

			if (act_hist_last(o) + win > now || o->limited_at + win > now)
				a->hist[w++] = *o;
		}
		a->nhist = w;
	}
	if (a->nhist == a->cap_hist) {
		size_t ncap = a->cap_hist ? a->cap_hist * 2 : 16;
		struct act_hist *nv = realloc(a->hist, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		a->hist = nv;
		a->cap_hist = ncap;
	}
	h = &a->hist[a->nhist++];
	memset(h, 0, sizeof(*h));
	h->kind = k;
	snprintf(h->subject, sizeof(h->subject), "%s", subject);
	return h;
}

/* Actions recorded in (now - window, now]. */
static uint32_t act_hist_count(const struct act_hist *h, uint64_t now, uint32_t window)
{
	uint32_t i, n = 0, have = h->n < ACT_HIST_SLOTS ? h->n : ACT_HIST_SLOTS;

	for (i = 0; i < have; i++)
		if (h->t[i] + window > now)
			n++;
	return n;
}

static void act_hist_add(struct act_hist *h, uint64_t now)
{
	h->t[h->n % ACT_HIST_SLOTS] = now;
	h->n++;
}

/* ---- records ---- */

struct act_out {
	struct act_record *v;
	size_t len, max;
};

static struct act_record *act_rec(struct act_out *o, enum act_kind action, const char *target,
				  int dry, enum act_result res)
{
	struct act_record *r;

	if (o->len >= o->max)
		return NULL;
	r = &o->v[o->len++];
	memset(r, 0, sizeof(*r));
	r->action = action;
	snprintf(r->target, sizeof(r->target), "%s", target);
	r->dry_run = dry;
	r->result = res;
	return r;
}

static void act_rec_err(struct act_out *o, enum act_kind action, const char *target, int dry,
			enum act_result res, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void act_rec_err(struct act_out *o, enum act_kind action, const char *target, int dry,
			enum act_result res, const char *fmt, ...)
{
	struct act_record *r = act_rec(o, action, target, dry, res);
	va_list ap;

	if (!r)
		return;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/* ---- targets ---- */

static int act_owned(const struct snapshot *s, uint32_t ino, pid_t pid)
{
	const struct pm_owner *o, *end = s->owners.v + s->owners.len;

	if (ino == 0)
		return 0;
	for (o = pm_owners_find(&s->owners, ino); o && o < end && o->ino == ino; o++)
		if (o->pid == pid)
			return 1;
	return 0;
}

static uint32_t act_idle(const struct sd_sock *s)
{
	uint32_t m = s->info.last_data_recv;

	if (s->info.last_data_sent < m)
		m = s->info.last_data_sent;
	if (s->info.last_ack_recv < m)
		m = s->info.last_ack_recv;
	return m;
}

size_t act_destroy_targets(const struct act_policy *p, const struct snapshot *cur, pid_t pid,
			   size_t *idx, size_t max)
{
	size_t i, n = 0;

	if (!cur || pid <= 0)
		return 0;
	for (i = 0; i < cur->socks.len && (!idx || n < max); i++) {
		const struct sd_sock *s = &cur->socks.socks[i];

		if ((s->state != SD_FIN_WAIT2 && s->state != SD_CLOSE_WAIT) || !s->has_info ||
		    act_idle(s) < p->destroy_idle_ms || !snapshot_port_listened(cur, s->lport) ||
		    !act_owned(cur, s->ino, pid))
			continue;
		if (idx)
			idx[n] = i;
		n++;
	}
	return n;
}

int act_stale_reason_ok(const struct act_policy *p, const struct snapshot *cur, pid_t pid,
			const struct act_target *t, char *why, size_t len)
{
	uint32_t half = 0, idle = 0, busy = 0, out_peers = 0;
	const struct sd_sock *peer = NULL;
	size_t i;

	if (t->past_deadline) {
		snprintf(why, len, "past its drain deadline");
		return 1;
	}
	if (p->stale_reason == ASR_DEADLINE || !cur) {
		snprintf(why, len, "within its drain deadline (stale-kill deadline)");
		return 0;
	}
	for (i = 0; i < cur->socks.len; i++) {
		const struct sd_sock *s = &cur->socks.socks[i];

		if (s->state == SD_LISTEN || !act_owned(cur, s->ino, pid))
			continue;
		if (SD_STATE_BIT(s->state) & SD_STATES_HALF_CLOSED)
			half++;
		else if (s->has_info && act_idle(s) >= p->stale_idle_ms)
			idle++;
		else
			busy++;
		if (!snapshot_port_listened(cur, s->lport) && s->state == SD_ESTABLISHED) {
			if (!peer) {
				peer = s;
				out_peers = 1;
			} else if (peer->family != s->family || peer->rport != s->rport ||
				   memcmp(peer->raddr, s->raddr, 16) != 0) {
				out_peers = 2;
			}
		}
	}
	if (busy == 0) {
		snprintf(why, len, "holds only idle or half-closed sessions (%" PRIu32 " idle, %"
			 PRIu32 " half-closed)", idle, half);
		return 1;
	}
	if (p->stale_reason == ASR_PEER && out_peers == 1) {
		char a[64];

		snprintf(why, len, "holds only sessions to one server (%s)",
			 sd_addr_fmt(peer->family, peer->raddr, peer->rport, a, sizeof(a)));
		return 1;
	}
	snprintf(why, len, "still holds %" PRIu32 " active session%s", busy, busy == 1 ? "" : "s");
	return 0;
}

/* ---- actions ---- */

static int act_signal(struct actor *a, pid_t pid, int sig, int *pidfd_out, char *err, size_t len)
{
	int fd = a->ops.pidfd_open(a->ops.ctx, pid);

	if (fd == -1) {
		snprintf(err, len, "pidfd_open %ld: %s", (long)pid, strerror(errno));
		return -1;
	}
	if (a->ops.pidfd_signal(a->ops.ctx, fd, sig) == -1) {
		snprintf(err, len, "pidfd_send_signal %ld %s: %s", (long)pid, strsignal(sig),
			 strerror(errno));
		a->ops.close_fd(a->ops.ctx, fd);
		return -1;
	}
	if (pidfd_out)
		*pidfd_out = fd;
	else
		a->ops.close_fd(a->ops.ctx, fd);
	return 0;
}

static int act_pending_has(const struct actor *a, pid_t pid)
{
	size_t i;

	for (i = 0; i < a->npend; i++)
		if (a->pend[i].pid == pid)
			return 1;
	return 0;
}

static void act_do_kill(struct actor *a, pid_t pid, const char *target, uint64_t now,
			struct act_out *o)
{
	char err[160];
	int fd;

	if (a->npend == a->cap_pend) {
		size_t ncap = a->cap_pend ? a->cap_pend * 2 : 8;
		struct act_pending *nv = realloc(a->pend, ncap * sizeof(*nv));

		if (!nv) {
			act_rec_err(o, ACT_KILL, target, 0, AR_FAILED, "out of memory");
			return;
		}
		a->pend = nv;
		a->cap_pend = ncap;
	}
	if (act_signal(a, pid, SIGTERM, &fd, err, sizeof(err)) == -1) {
		act_rec_err(o, ACT_KILL, target, 0, AR_FAILED, "%s", err);
		return;
	}
	a->pend[a->npend].pid = pid;
	a->pend[a->npend].pidfd = fd;
	a->pend[a->npend].kill_at_ms = now + a->pol.kill_grace_ms;
	a->npend++;
	act_rec(o, ACT_KILL, target, 0, AR_OK);
}

size_t act_poll(struct actor *a, uint64_t now_ms, struct act_record *out, size_t max)
{
	struct act_out o = { out, 0, max };
	size_t i = 0;

	while (i < a->npend) {
		struct act_pending *p = &a->pend[i];
		char target[32];
		int gone = a->ops.pidfd_exited(a->ops.ctx, p->pidfd);

		if (!gone && now_ms < p->kill_at_ms) {
			i++;
			continue;
		}
		if (!gone) {
			if (o.len >= o.max) {
				i++;
				continue;
			}
			snprintf(target, sizeof(target), "pid:%ld", (long)p->pid);
			if (a->ops.pidfd_signal(a->ops.ctx, p->pidfd, SIGKILL) == -1 &&
			    errno != ESRCH)
				act_rec_err(&o, ACT_KILL, target, 0, AR_FAILED,
					    "SIGKILL after %" PRIu32 " ms grace: %s",
					    a->pol.kill_grace_ms, strerror(errno));
			else
				act_rec_err(&o, ACT_KILL, target, 0, AR_OK,
					    "SIGKILL after %" PRIu32 " ms grace", a->pol.kill_grace_ms);
		}
		a->ops.close_fd(a->ops.ctx, p->pidfd);
		*p = a->pend[--a->npend];
	}
	return o.len;
}

static void act_do_destroy(struct actor *a, const struct snapshot *cur, pid_t pid,
			   const char *subject, int dry, struct act_out *o)
{
	size_t max = a->pol.destroy_max ? a->pol.destroy_max : ACT_DESTROY_MAX;
	size_t *idx, n, i, ok = 0, fail = 0, gone = 0;
	char target[128], err[160] = "", first[160] = "";

	idx = malloc(max * sizeof(*idx));
	if (!idx) {
		act_rec_err(o, ACT_DESTROY, subject, dry, AR_FAILED, "out of memory");
		return;
	}
	n = act_destroy_targets(&a->pol, cur, pid, idx, max);
	snprintf(target, sizeof(target), "pid:%ld:sockets:%zu", (long)pid, n);
	if (n == 0) {
		act_rec_err(o, ACT_DESTROY, target, dry, AR_SKIPPED,
			    "no client-side FIN_WAIT2/CLOSE_WAIT socket idle >= %" PRIu32 " ms",
			    a->pol.destroy_idle_ms);
		goto out;
	}
	if (dry) {
		act_rec(o, ACT_DESTROY, target, 1, AR_OK);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (a->ops.destroy(a->ops.ctx, &cur->socks.socks[idx[i]], err, sizeof(err)) == 0) {
			ok++;
		} else if (errno == ENOENT) {
			gone++;
		} else {
			if (!fail++)
				snprintf(first, sizeof(first), "%s", err);
			if (errno == EOPNOTSUPP || errno == EPERM)
				break;
		}
	}
	if (fail)
		act_rec_err(o, ACT_DESTROY, target, 0, AR_FAILED, "%zu destroyed, %zu gone, %zu"
			    " failed: %s", ok, gone, fail, first);
	else
		act_rec_err(o, ACT_DESTROY, target, 0, AR_OK, "%zu destroyed, %zu already gone",
			    ok, gone);
out:
	free(idx);
}

size_t act_apply(struct actor *a, const struct finding *f, const struct act_target *t,
		 const struct snapshot *cur, uint64_t now_ms, int opened,
		 struct act_record *out, size_t max)
{
	const struct act_kind_policy *kp;
	struct act_out o = { out, 0, max };
	enum act_kind act;
	struct act_hist *h;
	char target[128], why[160], err[192];
	int dry = a->pol.dry_run;

	if ((unsigned)f->kind >= DK_NKINDS)
		return 0;
	kp = &a->pol.kind[f->kind];
	act = kp->action;
	if (f->pid > 0 && act != ACT_SHUTDOWN_SESSIONS)
		snprintf(target, sizeof(target), "pid:%ld", (long)f->pid);
	else
		snprintf(target, sizeof(target), "%s", f->subject);

	if (act == ACT_OBSERVE) {
		if (opened)
			act_rec(&o, ACT_OBSERVE, f->subject, dry, AR_OK);
		return o.len;
	}
	/* Policy gates: skipped, recorded at the opening only. */
	if (!t->own && !a->pol.act_on_foreign) {
		if (opened)
			act_rec_err(&o, ACT_OBSERVE, target, dry, AR_OK, "%s not done: not a process"
				    " of the supervisor (act-on-foreign off)", act_name(act));
		return o.len;
	}
	if ((act == ACT_KILL || act == ACT_DRAIN || act == ACT_DESTROY) && f->pid <= 0) {
		if (opened)
			act_rec_err(&o, act, target, dry, AR_SKIPPED, "no process to act on");
		return o.len;
	}
	if (act == ACT_DESTROY && act_destroy_targets(&a->pol, cur, f->pid, NULL, 0) == 0) {
		if (opened)
			act_rec_err(&o, act, target, dry, AR_SKIPPED, "no client-side FIN_WAIT2/"
				    "CLOSE_WAIT socket idle >= %" PRIu32 " ms", a->pol.destroy_idle_ms);
		return o.len;
	}
	if ((act == ACT_KILL || act == ACT_DRAIN) && t->own && t->active) {
		if (opened)
			act_rec_err(&o, act, target, dry, AR_SKIPPED, "the active generation");
		return o.len;
	}
	/* A duplicate listener names the stuck owner only when critical; a
	 * warning names the older of two accepting groups, which is no target. */
	if ((act == ACT_KILL || act == ACT_DRAIN) && f->kind == DK_DUPLICATE_LISTENER &&
	    f->severity != DS_CRITICAL) {
		if (opened)
			act_rec_err(&o, act, target, dry, AR_SKIPPED, "no stuck listener identified"
				    " (every group accepts)");
		return o.len;
	}
	if (act == ACT_KILL && act_pending_has(a, f->pid))
		return o.len;
	if (act == ACT_KILL && f->kind == DK_STALE_GENERATION &&
	    !act_stale_reason_ok(&a->pol, cur, f->pid, t, why, sizeof(why)))
		return o.len;
	if (act == ACT_SHUTDOWN_SESSIONS &&
	    (strncmp(f->subject, "server:", 7) != 0 || !t->stats_path)) {
		if (opened)
			act_rec_err(&o, act, target, dry, AR_SKIPPED, "%s",
				    t->stats_path ? "not about a server" : "no stats socket");
		return o.len;
	}

	h = act_hist_get(a, f->kind, f->subject, now_ms);
	if (!h) {
		act_rec_err(&o, act, target, dry, AR_FAILED, "out of memory");
		return o.len;
	}
	if (kp->rate_max && act_hist_count(h, now_ms, kp->rate_window_ms) >= kp->rate_max) {
		if (!h->limited_at || h->limited_at + kp->rate_window_ms <= now_ms) {
			h->limited_at = now_ms;
			act_rec_err(&o, act, target, dry, AR_RATE_LIMITED, "%" PRIu32 " actions in %"
				    PRIu32 " ms already", kp->rate_max, kp->rate_window_ms);
		}
		return o.len;
	}
	act_hist_add(h, now_ms);

	switch (act) {
	case ACT_DRAIN:
		if (dry)
			act_rec(&o, act, target, 1, AR_OK);
		else if (act_signal(a, f->pid, SIGUSR1, NULL, err, sizeof(err)) == -1)
			act_rec_err(&o, act, target, 0, AR_FAILED, "%s", err);
		else
			act_rec(&o, act, target, 0, AR_OK);
		break;
	case ACT_KILL:
		if (dry)
			act_rec(&o, act, target, 1, AR_OK);
		else
			act_do_kill(a, f->pid, target, now_ms, &o);
		if (f->kind == DK_STALE_GENERATION && o.len) {
			struct act_record *r = &o.v[o.len - 1];

			struct sbuf m;

			sb_init(&m);
			sb_printf(&m, "%s%sreason: %s", r->error, r->error[0] ? "; " : "", why);
			snprintf(r->error, sizeof(r->error), "%s", sb_cstr(&m));
			sb_free(&m);
		}
		break;
	case ACT_DESTROY:
		act_do_destroy(a, cur, f->pid, target, dry, &o);
		break;
	case ACT_SHUTDOWN_SESSIONS: {
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "shutdown sessions server %s", f->subject + 7);
		if (dry)
			act_rec(&o, act, f->subject, 1, AR_OK);
		else if (a->ops.stats_cmd(a->ops.ctx, t->stats_path, cmd, err, sizeof(err)) == -1)
			act_rec_err(&o, act, f->subject, 0, AR_FAILED, "%s", err);
		else
			act_rec(&o, act, f->subject, 0, AR_OK);
		break;
	}
	case ACT_OBSERVE:
	case ACT_NKINDS:
		break;
	}
	return o.len;
}
