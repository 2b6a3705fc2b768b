/*
 * Detectors: pure functions of (previous snapshot or NULL, current snapshot,
 * settings) -> findings. They never observe and never act.
 *
 * Defaults (a zero in struct detect_opts selects them):
 *   group_window_ms   2000   siblings started within this are one group
 *   backlog_pct         80   an accept queue >= this % of its backlog is "near"
 *   half_close_min      10   half-closed sockets of one process worth a finding
 *   half_close_age_ms 60000  ... or any half-closed socket idle this long
 *   half_close_pct       5   ... counts relative to the process's maxconn
 *
 * Filters. With opts->ports set, a finding is kept only when it concerns one
 * of the ports: its listener's port, or a local port whose sockets it
 * counts. With opts->pids set, only when one of the pids is among the
 * processes it concerns (the owners of a listener, the process of a
 * half-closed or stale-generation finding). A kernel_tuning finding concerns
 * the listeners it names (their ports and owners) or the local ports of the
 * orphans it counts. Findings that concern no port or no process
 * (namespace-wide counters, orphaned sockets) are dropped by the
 * corresponding filter.
 *
 * duplicate_listener (subject "tcp:ADDR:PORT")
 *   For each listening address (family, addr, port) with more than one
 *   listening socket (inode), the sockets are put into cooperating groups.
 *   Two listening sockets are related when
 *     - their owner sets share a process (one process with several
 *       SO_REUSEPORT sockets; a master and workers that inherited the same
 *       sockets), or
 *     - every owner of both is one sibling set started together: the same
 *       parent pid, the same executable (the exe path without a " (deleted)"
 *       suffix; the comm when either exe is unreadable) and start times
 *       within group_window_ms of each other (nginx "reuseport" workers).
 *   Groups are the connected components of that relation (so workers each
 *   started within the window of the previous one form one group); a socket
 *   whose owner is not visible (another user's process, without root) is a
 *   group of its own. More than one group is a finding: two generations of
 *   one program started separately, or two different programs, are
 *   duplicates.
 *   Severity critical when some group is not accepting while another one is:
 *   one of its sockets has a non-zero queue that grew since the previous
 *   snapshot (from >= 1), or is >= backlog_pct % of its backlog, or all its
 *   owners are stopped or zombies (incident 5: the kernel keeps hashing a
 *   share of new connections to the stuck socket); else warning.
 *   pid is the owner of the stuck socket when critical, else the owner that
 *   started first; value is the number of groups.
 *   Limits: only the exact (family, addr, port) is compared: a wildcard
 *   listener (0.0.0.0 or ::) and a specific address on the same port, or an
 *   IPv4 and a dual-stack IPv6 listener, are not reported.
 *   Allow-list (opts->allow): "ADDR:PORT" (IPv6 as "[ADDR]:PORT") or ":PORT"
 *   suppresses the findings of that listener; any other entry is a program
 *   name, matched against the exe basename (without " (deleted)") or the
 *   comm, and suppresses a listener only when every one of its sockets has
 *   visible owners and every owner matches. Program names also suppress
 *   stale_generation findings.
 *
 * accept_backlog (subject "tcp:ADDR:PORT:ino:INODE")
 *   A listening socket whose accept queue (Recv-Q) is
 *     - near: queue >= backlog_pct % of its backlog (Send-Q), or
 *     - growing: the same inode had a queue >= 1 in the previous snapshot and
 *       a larger one now (a single connection racing accept() is no
 *       finding; a queue seen non-empty twice and larger the second time is
 *       not being drained), or
 *     - not drained by its owners: queue >= 1 and every owner is stopped
 *       (T, t) or a zombie (Z).
 *   Evidence has the owners' states and the ListenOverflows / ListenDrops
 *   deltas between the snapshots; those counters are namespace-wide, not
 *   per socket. Severity critical when the queue is full (queue >= backlog)
 *   or ListenOverflows rose, else warning. When ListenOverflows rose and no
 *   socket qualified, one warning with subject "tcp:listen_overflows" is
 *   reported (it concerns no port or pid).
 *
 * half_close_buildup (subject "pid:N"; "pid:0" for sockets without a
 * visible owner)
 *   Half-closed states: CLOSE_WAIT, FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING.
 *   A process is reported when it owns >= MIN half-closed sockets, or when
 *   any of them has an idle time >= half_close_age_ms. MIN is half_close_min,
 *   raised to half_close_pct % of the process's maxconn when that is known:
 *   the Maxconn of the process's stats view (half_close_views, show info;
 *   else the sum of its frontends' slim), else half_close_maxconn (the
 *   configuration the supervisor runs). A proxy allowed 20000 connections
 *   holding 50 half-closed sockets is no finding; one allowed 100 is. With
 *   half_close_abs, and for the unowned ("pid:0") finding, MIN is
 *   half_close_min alone. The idle time
 *   is min(last_data_recv, last_data_sent, last_ack_recv) of tcp_info: a
 *   lower bound of the time spent in the state, not the socket's age (only
 *   known when the snapshot asked for tcp_info).
 *   Possible pairs (incidents 1 and 4): min(CLOSE_WAIT on the process's
 *   outgoing side, FIN_WAIT2 on its client side), where the client side is a
 *   local port that the process or any other socket of the namespace listens
 *   on (an old generation that closed its listeners still holds client
 *   connections on the listened port) and the outgoing side every other local
 *   port. Pairs are inferred from counts, not matched socket to socket.
 *   Severity critical when possible pairs >= MIN or the count is
 *   >= 10 * MIN, else warning.
 *   Sockets with no visible owner are one finding, "pid:0", under the same
 *   thresholds: orphans (no inode; owned by the kernel, bounded by
 *   tcp_fin_timeout in FIN_WAIT2 and by tcp_orphan_retries in FIN_WAIT1,
 *   LAST_ACK and CLOSING) are counted apart from sockets whose owner could not
 *   be seen (needs root). A CLOSE_WAIT socket without an inode is not an
 *   orphan but a connection never accepted from an accept queue whose client
 *   closed first: shown, not counted. Severity info when only orphans
 *   qualify, warning when the not-visible ones do.
 *
 * stale_generation (subject "pid:N")
 *   A process P is an older generation of a listener owner O when P runs the
 *   same executable as O (as for duplicate_listener), started before O, is
 *   not O's parent, owns no listening socket on O's port, and still holds TCP
 *   connections (non-LISTEN sockets it owns): how a "-sf" reload chain looks.
 *   One finding per P, naming the newest such O. Severity critical when the
 *   program has more than 2 such older generations or P's age (now - start)
 *   exceeds one hour, else warning. value is the age in seconds. Limits: the
 *   detector knows no drain deadline, so a generation draining within its
 *   deadline is reported as well (the supervisor weighs it against its own
 *   generation table and hysteresis); a server that forks one process per
 *   connection (sshd) and was restarted matches too: allow-list its name.
 *
 * kernel_tuning (subject "sysctl:NAME"). Default settings give no warning
 * unless an accept queue is building up at a small somaxconn.
 *   - net.ipv4.tcp_fin_timeout > 60 while orphaned FIN_WAIT2 sockets exist:
 *     info. It bounds orphans only; FIN_WAIT2 sockets a process still owns are
 *     bounded by the proxy's own timeouts (timeout client-fin / server-fin).
 *   - net.ipv4.tcp_orphan_retries 0 (which means 8, about 100 s or more of
 *     FIN retransmission with a 200 ms initial RTO) while orphans in
 *     FIN_WAIT1, LAST_ACK or CLOSING exist: info.
 *   - net.core.somaxconn < 1024 and equal to the backlog (Send-Q) of a
 *     listening socket whose queue is near its backlog or growing (as in
 *     accept_backlog): warning; the listener's listen() backlog was capped.
 *   - net.ipv4.tcp_migrate_req 0 while several listening sockets share one
 *     address (SO_REUSEPORT): info; when one of them closes, the connections
 *     queued on it are reset instead of migrated to the others.
 *   Rising ListenOverflows is reported by accept_backlog.
 *
 * The detectors of the proxy's view read struct detect_stats: the views of
 * the stats sockets read this tick and at the previous one (statsrc.h).
 *
 * session_on_down_server (subject "server:BACKEND/SERVER")
 *   A server the proxy reports DOWN (status "DOWN...", or op_state 0 of
 *   `show servers state` without a status) for at least down_grace_ms
 *   (default 5000; srv_time_since_last_change, else lastchg), with
 *   ESTABLISHED sockets of the view's process (any process when the view's
 *   pid is 0 or owners were not mapped) whose remote address and port are
 *   the server's (from `show servers state`). Incident 2: tunnels kept to a
 *   dead server because nothing shut them down. value: the sessions.
 *
 * server_queue_starvation (subject "server:BACKEND/SERVER")
 *   A server with requests waiting for it (its own queue, qcur > 0, or, when
 *   it is full at its effective limit, its backend's queue: requests not
 *   bound to one server wait there), not fewer than in the previous view of
 *   the same process, and an effective maxconn below
 *   starve_pct % (default 50) of its configured maxconn (slim). The
 *   effective limit is the proxy's eff_maxconn (proxyd) or the one computed
 *   from the configuration (stats_view_apply_cfg); servers whose limit is
 *   unknown are not judged. Incident 3: minconn/maxconn/fullconn throttling
 *   a server while the backend is far below fullconn. value: the requests
 *   waiting; critical when they are >= maxconn.
 *
 * maxconn_saturation (subject "frontend:NAME", or "pid:N" for the process)
 *   A frontend whose current sessions are >= maxconn_pct % (default 90) of
 *   its maxconn (slim), or a process whose CurrConns are >= maxconn_pct % of
 *   its Maxconn (`show info`). value: current sessions; critical at 100%.
 *
 * lossy_peer (subject "peer:ADDR")
 *   Per remote address, sockets with tcp_info whose retransmissions are
 *   heavy: tcpi_retransmits (consecutive RTO retransmissions now) >=
 *   lossy_retrans (default 3), or FIN_WAIT1 with unacknowledged data (its
 *   FIN) being retransmitted. A peer with >= lossy_min (default 3) such
 *   sockets is reported. value: the number of lossy sockets; critical when
 *   they are half or more of the peer's sockets. Sockets without tcp_info
 *   are not judged.
 *
 * config_lint (subject "cfg:FILE:LINE")
 *   One finding per warning of cfg_lint's diagnostics (errors are not
 *   findings: such a configuration is not loaded). The file name is the
 *   message's prefix; the filters never drop these findings.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/sbuf.h"
#include "probes/procmap.h"
#include "probes/snapshot.h"
#include "probes/sockdiag.h"
#include "proxyd/cfg-t.h"
#include "supervisor/detect.h"
#include "supervisor/statsrc.h"

#define DETECT_GROUP_WINDOW_MS 2000u
#define DETECT_BACKLOG_PCT 80u
#define DETECT_HALF_CLOSE_MIN 10u
#define DETECT_HALF_CLOSE_PCT 5u
#define DETECT_HALF_CLOSE_AGE_MS 60000u
#define DETECT_STALE_MAX_GENS 2u
#define DETECT_STALE_AGE_MS 3600000u
#define DETECT_SOMAXCONN_SMALL 1024
#define DETECT_FIN_TIMEOUT_DEFAULT 60
#define DETECT_STALE_PORTS 8

static const char *const detect_kind_names[DK_NKINDS] = {
	[DK_DUPLICATE_LISTENER] = "duplicate_listener",
	[DK_ACCEPT_BACKLOG] = "accept_backlog",
	[DK_STALE_GENERATION] = "stale_generation",
	[DK_HALF_CLOSE_BUILDUP] = "half_close_buildup",
	[DK_SESSION_ON_DOWN_SERVER] = "session_on_down_server",
	[DK_SERVER_QUEUE_STARVATION] = "server_queue_starvation",
	[DK_MAXCONN_SATURATION] = "maxconn_saturation",
	[DK_LOSSY_PEER] = "lossy_peer",
	[DK_KERNEL_TUNING] = "kernel_tuning",
	[DK_CONFIG_LINT] = "config_lint",
	[DK_RELOAD_FAILED] = "reload_failed",
	[DK_GENERATION_CRASH] = "generation_crash",
};

/* State names as JSON keys. */
static const char *const detect_state_keys[SD_NSTATES] = {
	[SD_ESTABLISHED] = "ESTABLISHED",
	[SD_SYN_SENT] = "SYN_SENT",
	[SD_SYN_RECV] = "SYN_RECV",
	[SD_FIN_WAIT1] = "FIN_WAIT1",
	[SD_FIN_WAIT2] = "FIN_WAIT2",
	[SD_TIME_WAIT] = "TIME_WAIT",
	[SD_CLOSE] = "CLOSE",
	[SD_CLOSE_WAIT] = "CLOSE_WAIT",
	[SD_LAST_ACK] = "LAST_ACK",
	[SD_LISTEN] = "LISTEN",
	[SD_CLOSING] = "CLOSING",
	[SD_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

static const uint8_t detect_half_states[] = {
	SD_CLOSE_WAIT, SD_FIN_WAIT1, SD_FIN_WAIT2, SD_LAST_ACK, SD_CLOSING,
};
#define DETECT_NHALF (sizeof(detect_half_states) / sizeof(detect_half_states[0]))

const char *detect_kind_name(enum detect_kind k)
{
	if ((unsigned)k >= DK_NKINDS)
		return "unknown";
	return detect_kind_names[k];
}

const char *detect_severity_name(enum detect_severity s)
{
	switch (s) {
	case DS_INFO:
		return "info";
	case DS_WARNING:
		return "warning";
	case DS_CRITICAL:
		return "critical";
	}
	return "unknown";
}

void finding_list_free(struct finding_list *l)
{
	size_t i;

	for (i = 0; i < l->len; i++) {
		free(l->v[i].summary);
		free(l->v[i].detail);
		free(l->v[i].evidence);
	}
	free(l->v);
	l->v = NULL;
	l->len = 0;
	l->cap = 0;
}

static uint32_t detect_opt(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

/* ---- building one finding ---- */

/* The three texts of a finding being built, and which ports and processes it
 * concerns as far as the filters go. */
struct fbuild {
	struct sbuf sum;
	struct sbuf det;
	struct sbuf ev;
	struct json j;
	uint8_t port_ok;
	uint8_t pid_ok;
};

static void fb_init(struct fbuild *b)
{
	sb_init(&b->sum);
	sb_init(&b->det);
	sb_init(&b->ev);
	json_init(&b->j, &b->ev);
	b->port_ok = 0;
	b->pid_ok = 0;
}

static void fb_free(struct fbuild *b)
{
	sb_free(&b->ev);
	sb_free(&b->det);
	sb_free(&b->sum);
}

static void fb_port(struct fbuild *b, const struct detect_opts *o, uint16_t port)
{
	size_t i;

	for (i = 0; i < o->nports && !b->port_ok; i++)
		if (o->ports[i] == port)
			b->port_ok = 1;
}

static void fb_pid(struct fbuild *b, const struct detect_opts *o, pid_t pid)
{
	size_t i;

	for (i = 0; i < o->npids && !b->pid_ok; i++)
		if (o->pids[i] == pid)
			b->pid_ok = 1;
}

static int fb_wanted(const struct fbuild *b, const struct detect_opts *o)
{
	return (o->nports == 0 || b->port_ok) && (o->npids == 0 || b->pid_ok);
}

/* Appends the finding built in b to out (when the filters keep it) and
 * frees b. 0, or -1 with errno ENOMEM. */
static int fb_emit(struct fbuild *b, const struct detect_opts *o, struct finding_list *out,
		   enum detect_kind kind, enum detect_severity sev, const char *subject,
		   pid_t pid, uint16_t port, double value)
{
	struct finding *f;
	int rc = -1;

	if (!fb_wanted(b, o)) {
		rc = 0;
		goto out;
	}
	if (b->sum.err || b->det.err || b->ev.err)
		goto out;
	if (out->len == out->cap) {
		size_t ncap = out->cap ? out->cap * 2 : 8;
		struct finding *nv = realloc(out->v, ncap * sizeof(*nv));

		if (!nv)
			goto out;
		out->v = nv;
		out->cap = ncap;
	}
	f = &out->v[out->len];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->severity = sev;
	snprintf(f->subject, sizeof(f->subject), "%s", subject);
	f->pid = pid;
	f->port = port;
	f->value = value;
	f->summary = sb_take(&b->sum);
	f->detail = sb_take(&b->det);
	f->evidence = sb_take(&b->ev);
	if (!f->summary || !f->detail || !f->evidence) {
		free(f->summary);
		free(f->detail);
		free(f->evidence);
		goto out;
	}
	out->len++;
	rc = 0;
out:
	fb_free(b);
	if (rc == -1)
		errno = ENOMEM;
	return rc;
}

/* ---- small helpers on snapshots ---- */

static void detect_fmt_dur(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (ms >= 1000)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else
		snprintf(buf, len, "%" PRIu64 "ms", ms);
}

static const char *detect_pstate_name(char st)
{
	switch (st) {
	case 'R': return "running";
	case 'S': return "sleeping";
	case 'D': return "uninterruptible";
	case 'T': return "stopped";
	case 't': return "tracing stop";
	case 'Z': return "zombie";
	case 'X': return "dead";
	case 'I': return "idle";
	default: return "unknown";
	}
}

static int detect_pstate_stuck(char st)
{
	return st == 'T' || st == 't' || st == 'Z';
}

/* The exe path without the " (deleted)" that /proc adds once the binary was
 * replaced (an upgrade between two generations). */
static size_t detect_exe_len(const char *exe)
{
	static const char del[] = " (deleted)";
	size_t n = strlen(exe);

	if (n > sizeof(del) - 1 && strcmp(exe + n - (sizeof(del) - 1), del) == 0)
		n -= sizeof(del) - 1;
	return n;
}

/* Same program: same exe when both are readable, else same comm. */
static int detect_same_program(const struct pm_proc *a, const struct pm_proc *b)
{
	size_t na, nb;

	if (a->exe[0] && b->exe[0]) {
		na = detect_exe_len(a->exe);
		nb = detect_exe_len(b->exe);
		return na == nb && memcmp(a->exe, b->exe, na) == 0;
	}
	return a->comm[0] && strncmp(a->comm, b->comm, sizeof(a->comm)) == 0;
}

static const char *detect_comm(const struct pm_proc *p)
{
	return p && p->comm[0] ? p->comm : "?";
}

static const pid_t *detect_lsock_owners(const struct snapshot *s, const struct snap_lsock *ls)
{
	return ls->nowners ? &s->owner_pids[ls->first_owner] : NULL;
}

/* The same listening socket in the previous snapshot, or NULL. */
static const struct snap_lsock *detect_prev_lsock(const struct snapshot *prev,
						  const struct snap_listener *l,
						  const struct snap_lsock *ls)
{
	const struct snap_listener *pl;
	size_t i;

	if (!prev)
		return NULL;
	pl = snapshot_listener_find(prev, l->family, l->addr, l->port);
	if (!pl)
		return NULL;
	for (i = 0; i < pl->nlsocks; i++)
		if (prev->lsocks[pl->first_lsock + i].ino == ls->ino)
			return &prev->lsocks[pl->first_lsock + i];
	return NULL;
}

static int detect_lsock_near(const struct snap_lsock *ls, uint32_t pct)
{
	return ls->rqueue > 0 && (uint64_t)ls->rqueue * 100 >= (uint64_t)ls->wqueue * pct;
}

static int detect_lsock_growing(const struct snap_lsock *ls, const struct snap_lsock *pls)
{
	return pls && pls->rqueue >= 1 && ls->rqueue > pls->rqueue;
}

static int detect_lsock_owners_stuck(const struct snapshot *s, const struct snap_lsock *ls)
{
	const pid_t *own = detect_lsock_owners(s, ls);
	size_t i;

	if (!ls->nowners)
		return 0;
	for (i = 0; i < ls->nowners; i++) {
		const struct pm_proc *p = pm_procs_find(&s->procs, own[i]);

		if (!p || !detect_pstate_stuck(p->state))
			return 0;
	}
	return 1;
}

/* A listening socket its owners do not drain. */
static int detect_lsock_stuck(const struct snapshot *s, const struct snap_lsock *ls,
			      const struct snap_lsock *pls, uint32_t pct)
{
	if (ls->rqueue == 0)
		return 0;
	return detect_lsock_near(ls, pct) || detect_lsock_growing(ls, pls) ||
	       detect_lsock_owners_stuck(s, ls);
}

/* The owners of ls are processes the finding concerns. */
static void detect_fb_owners(struct fbuild *b, const struct detect_opts *o,
			     const struct snapshot *s, const struct snap_lsock *ls)
{
	const pid_t *own = detect_lsock_owners(s, ls);
	size_t i;

	for (i = 0; i < ls->nowners; i++)
		fb_pid(b, o, own[i]);
}

static void detect_listener_name(const struct snap_listener *l, char *buf, size_t len)
{
	sd_addr_fmt(l->family, l->addr, l->port, buf, len);
}

/* Evidence object of one process. */
static void detect_ev_proc(struct json *j, const char *key, const struct snapshot *s, pid_t pid)
{
	const struct pm_proc *p = pm_procs_find(&s->procs, pid);
	char iso[40], st[2];

	json_obj_open(j, key);
	json_int(j, "pid", pid);
	if (!p) {
		json_bool(j, "visible", 0);
		json_obj_close(j);
		return;
	}
	json_int(j, "ppid", p->ppid);
	json_uint(j, "uid", p->uid);
	json_str(j, "comm", p->comm);
	if (p->exe_denied && !p->exe[0])
		json_null(j, "exe");
	else
		json_str(j, "exe", p->exe);
	json_str(j, "cmdline", p->cmdline);
	if (p->start_ms) {
		json_uint(j, "start_ms", p->start_ms);
		clock_fmt_iso(p->start_ms, iso, sizeof(iso));
		json_str(j, "start", iso);
		if (s->t_real_ms >= p->start_ms)
			json_uint(j, "age_ms", s->t_real_ms - p->start_ms);
	} else {
		json_null(j, "start_ms");
	}
	st[0] = p->state ? p->state : '?';
	st[1] = '\0';
	json_str(j, "state", st);
	json_str(j, "state_name", detect_pstate_name(p->state));
	json_obj_close(j);
}

/* One detail line for a process. */
static void detect_det_proc(struct sbuf *b, const char *indent, const struct snapshot *s,
			    pid_t pid)
{
	const struct pm_proc *p = pm_procs_find(&s->procs, pid);
	char iso[40];

	if (!p) {
		sb_printf(b, "%spid %ld: process facts not readable\n", indent, (long)pid);
		return;
	}
	sb_printf(b, "%spid %ld (%s) state %c %s, ppid %ld, uid %lu", indent, (long)pid,
		  detect_comm(p), p->state ? p->state : '?', detect_pstate_name(p->state),
		  (long)p->ppid, (unsigned long)p->uid);
	if (p->start_ms) {
		clock_fmt_iso(p->start_ms, iso, sizeof(iso));
		sb_printf(b, ", started %s", iso);
	}
	sb_printf(b, ", exe %s", p->exe[0] ? p->exe : "(not readable)");
	if (p->cmdline[0])
		sb_printf(b, ", cmd: %s", p->cmdline);
	sb_putc(b, '\n');
}

/* ---- allow-list ---- */

/* 1 when entry is an address form ("ADDR:PORT", "[ADDR]:PORT", ":PORT")
 * matching l. */
static int detect_allow_addr(const char *entry, const struct snap_listener *l)
{
	const char *colon = strrchr(entry, ':');
	char host[64], *end;
	uint8_t a[16];
	unsigned long port;
	size_t hl;

	if (!colon)
		return 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || port > 65535 || port != l->port)
		return 0;
	hl = (size_t)(colon - entry);
	if (hl == 0 || (hl == 1 && entry[0] == '*'))
		return 1;
	if (entry[0] == '[' && hl >= 2 && entry[hl - 1] == ']') {
		entry++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return 0;
	memcpy(host, entry, hl);
	host[hl] = '\0';
	memset(a, 0, sizeof(a));
	if (inet_pton(AF_INET, host, a) == 1)
		return l->family == AF_INET && memcmp(a, l->addr, 4) == 0;
	if (inet_pton(AF_INET6, host, a) == 1)
		return l->family == AF_INET6 && memcmp(a, l->addr, 16) == 0;
	return 0;
}

static int detect_is_name_entry(const char *entry)
{
	return strchr(entry, ':') == NULL;
}

static int detect_allow_proc(const struct detect_opts *o, const struct pm_proc *p)
{
	size_t i;

	if (!p)
		return 0;
	for (i = 0; i < o->nallow; i++) {
		const char *e = o->allow[i];
		const char *base;

		if (!e || !detect_is_name_entry(e))
			continue;
		if (p->exe[0]) {
			char exe[sizeof(p->exe)];
			size_t n = detect_exe_len(p->exe);

			memcpy(exe, p->exe, n);
			exe[n] = '\0';
			base = strrchr(exe, '/');
			base = base ? base + 1 : exe;
			if (strcmp(base, e) == 0)
				return 1;
		}
		if (p->comm[0] && strncmp(p->comm, e, sizeof(p->comm)) == 0 &&
		    strlen(e) < sizeof(p->comm))
			return 1;
	}
	return 0;
}

static int detect_allow_listener(const struct detect_opts *o, const struct snapshot *s,
				 const struct snap_listener *l)
{
	size_t i, k;
	int have_names = 0;

	for (i = 0; i < o->nallow; i++) {
		if (!o->allow[i])
			continue;
		if (detect_is_name_entry(o->allow[i]))
			have_names = 1;
		else if (detect_allow_addr(o->allow[i], l))
			return 1;
	}
	if (!have_names)
		return 0;
	for (i = 0; i < l->nlsocks; i++) {
		const struct snap_lsock *ls = &s->lsocks[l->first_lsock + i];
		const pid_t *own = detect_lsock_owners(s, ls);

		if (!ls->nowners)
			return 0;
		for (k = 0; k < ls->nowners; k++)
			if (!detect_allow_proc(o, pm_procs_find(&s->procs, own[k])))
				return 0;
	}
	return 1;
}

/* ---- duplicate_listener ---- */

static int detect_owners_share(const struct snapshot *s, const struct snap_lsock *a,
			       const struct snap_lsock *b)
{
	const pid_t *pa = detect_lsock_owners(s, a), *pb = detect_lsock_owners(s, b);
	size_t i = 0, k = 0;

	/* Both lists are ascending. */
	while (i < a->nowners && k < b->nowners) {
		if (pa[i] == pb[k])
			return 1;
		if (pa[i] < pb[k])
			i++;
		else
			k++;
	}
	return 0;
}

/* Every owner of a and b: same parent, same program, started within window. */
static int detect_owners_siblings(const struct snapshot *s, const struct snap_lsock *a,
				  const struct snap_lsock *b, uint32_t window)
{
	const struct snap_lsock *set[2] = { a, b };
	const struct pm_proc *ref = NULL;
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		const pid_t *own = detect_lsock_owners(s, set[k]);

		for (i = 0; i < set[k]->nowners; i++) {
			const struct pm_proc *p = pm_procs_find(&s->procs, own[i]);

			if (!p || p->start_ms == 0)
				return 0;
			if (!ref)
				ref = p;
			else if (p->ppid != ref->ppid || !detect_same_program(p, ref))
				return 0;
			if (p->start_ms < lo)
				lo = p->start_ms;
			if (p->start_ms > hi)
				hi = p->start_ms;
		}
	}
	return ref != NULL && hi - lo <= window;
}

static size_t detect_uf_find(size_t *parent, size_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Earliest start among a socket's owners (UINT64_MAX when unknown). */
static uint64_t detect_lsock_first_start(const struct snapshot *s, const struct snap_lsock *ls,
					 pid_t *pid)
{
	const pid_t *own = detect_lsock_owners(s, ls);
	uint64_t best = UINT64_MAX;
	size_t i;

	for (i = 0; i < ls->nowners; i++) {
		const struct pm_proc *p = pm_procs_find(&s->procs, own[i]);

		if (p && p->start_ms && p->start_ms < best) {
			best = p->start_ms;
			*pid = own[i];
		}
	}
	return best;
}

static int detect_dup_one(const struct snapshot *prev, const struct snapshot *cur,
			  const struct detect_opts *o, const struct snap_listener *l,
			  struct finding_list *out)
{
	uint32_t window = detect_opt(o->group_window_ms, DETECT_GROUP_WINDOW_MS);
	uint32_t pct = detect_opt(o->backlog_pct, DETECT_BACKLOG_PCT);
	const struct snap_lsock *ls0 = &cur->lsocks[l->first_lsock];
	size_t n = l->nlsocks, i, k, ngroups = 0;
	size_t *parent = NULL, *gid = NULL;
	uint8_t *gstuck = NULL;
	size_t nstuck = 0, stuck_idx = SIZE_MAX;
	pid_t main_pid = 0;
	uint64_t first = UINT64_MAX;
	char name[64], subject[96];
	struct fbuild b;
	enum detect_severity sev;
	int rc = -1;

	fb_init(&b);
	parent = calloc(n, sizeof(*parent));
	gid = calloc(n, sizeof(*gid));
	gstuck = calloc(n, sizeof(*gstuck));
	if (!parent || !gid || !gstuck)
		goto out;
	for (i = 0; i < n; i++)
		parent[i] = i;
	for (i = 0; i < n; i++) {
		for (k = i + 1; k < n; k++) {
			const struct snap_lsock *a = &ls0[i], *c = &ls0[k];
			size_t ra, rc2;

			if (!a->nowners || !c->nowners)
				continue;
			ra = detect_uf_find(parent, i);
			rc2 = detect_uf_find(parent, k);
			if (ra == rc2)
				continue;
			if (detect_owners_share(cur, a, c) ||
			    detect_owners_siblings(cur, a, c, window))
				parent[rc2] = ra;
		}
	}
	/* Number groups in order of their first socket. */
	for (i = 0; i < n; i++)
		gid[i] = SIZE_MAX;
	for (i = 0; i < n; i++) {
		size_t r = detect_uf_find(parent, i);

		if (gid[r] == SIZE_MAX)
			gid[r] = ngroups++;
		gid[i] = gid[r];
	}
	if (ngroups < 2) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct snap_lsock *pls = detect_prev_lsock(prev, l, &ls0[i]);

		if (detect_lsock_stuck(cur, &ls0[i], pls, pct) && !gstuck[gid[i]]) {
			gstuck[gid[i]] = 1;
			nstuck++;
			if (stuck_idx == SIZE_MAX)
				stuck_idx = i;
		}
	}
	sev = nstuck > 0 && nstuck < ngroups ? DS_CRITICAL : DS_WARNING;
	if (sev == DS_CRITICAL) {
		if (ls0[stuck_idx].nowners)
			main_pid = detect_lsock_owners(cur, &ls0[stuck_idx])[0];
	} else {
		for (i = 0; i < n; i++) {
			pid_t p = 0;
			uint64_t t = detect_lsock_first_start(cur, &ls0[i], &p);

			if (t < first) {
				first = t;
				main_pid = p;
			}
		}
	}

	detect_listener_name(l, name, sizeof(name));
	snprintf(subject, sizeof(subject), "tcp:%s", name);
	fb_port(&b, o, l->port);
	for (i = 0; i < n; i++)
		for (k = 0; k < ls0[i].nowners; k++)
			fb_pid(&b, o, detect_lsock_owners(cur, &ls0[i])[k]);

	sb_printf(&b.sum, "%zu separate owner groups listen on %s", ngroups, name);
	if (sev == DS_CRITICAL) {
		const struct pm_proc *p = pm_procs_find(&cur->procs, main_pid);

		sb_printf(&b.sum, "; one owner is not accepting: ");
		if (main_pid)
			sb_printf(&b.sum, "pid %ld (%s) ", (long)main_pid, detect_comm(p));
		else
			sb_printf(&b.sum, "owner not visible, ");
		sb_printf(&b.sum, "ino %" PRIu32 " queue %" PRIu32 "/%" PRIu32,
			  ls0[stuck_idx].ino, ls0[stuck_idx].rqueue, ls0[stuck_idx].wqueue);
	} else {
		sb_puts(&b.sum, ": the kernel spreads new connections across all of them");
	}

	json_obj_open(&b.j, NULL);
	json_str(&b.j, "listener", name);
	json_str(&b.j, "family", l->family == AF_INET6 ? "inet6" : "inet");
	json_uint(&b.j, "port", l->port);
	json_uint(&b.j, "groups", ngroups);
	json_uint(&b.j, "group_window_ms", window);
	json_arr_open(&b.j, "sockets");
	for (i = 0; i < n; i++) {
		const struct snap_lsock *ls = &ls0[i];
		const struct snap_lsock *pls = detect_prev_lsock(prev, l, ls);
		const pid_t *own = detect_lsock_owners(cur, ls);

		json_obj_open(&b.j, NULL);
		json_uint(&b.j, "inode", ls->ino);
		json_uint(&b.j, "cookie", ls->cookie);
		json_uint(&b.j, "group", gid[i]);
		json_uint(&b.j, "queue", ls->rqueue);
		json_uint(&b.j, "backlog", ls->wqueue);
		if (pls)
			json_uint(&b.j, "queue_prev", pls->rqueue);
		else
			json_null(&b.j, "queue_prev");
		json_bool(&b.j, "not_accepting", gstuck[gid[i]] &&
			  detect_lsock_stuck(cur, ls, pls, pct));
		json_uint(&b.j, "uid", ls->uid);
		json_arr_open(&b.j, "owners");
		for (k = 0; k < ls->nowners; k++)
			detect_ev_proc(&b.j, NULL, cur, own[k]);
		json_arr_close(&b.j);
		if (!ls->nowners)
			json_str(&b.j, "owner", "not visible (needs root)");
		json_obj_close(&b.j);

		sb_printf(&b.det, "group %zu: socket ino %" PRIu32 " queue %" PRIu32 "/%" PRIu32,
			  gid[i], ls->ino, ls->rqueue, ls->wqueue);
		if (pls)
			sb_printf(&b.det, " (previous %" PRIu32 ")", pls->rqueue);
		sb_printf(&b.det, " uid %" PRIu32 "%s\n", ls->uid,
			  ls->nowners ? "" : ": owner not visible (needs root)");
		for (k = 0; k < ls->nowners; k++)
			detect_det_proc(&b.det, "  ", cur, own[k]);
	}
	json_arr_close(&b.j);
	json_obj_close(&b.j);
	rc = fb_emit(&b, o, out, DK_DUPLICATE_LISTENER, sev, subject, main_pid, l->port,
		     (double)ngroups);
out:
	free(gstuck);
	free(gid);
	free(parent);
	fb_free(&b);
	if (rc == -1)
		errno = ENOMEM;
	return rc;
}

int detect_duplicate_listener(const struct snapshot *prev, const struct snapshot *cur,
			      const struct detect_opts *o, struct finding_list *out)
{
	size_t i;

	for (i = 0; i < cur->nlisteners; i++) {
		const struct snap_listener *l = &cur->listeners[i];

		if (l->nlsocks < 2 || detect_allow_listener(o, cur, l))
			continue;
		if (detect_dup_one(prev, cur, o, l, out) == -1)
			return -1;
	}
	return 0;
}

/* ---- accept_backlog ---- */

struct detect_deltas {
	int have;
	uint64_t overflows;
	uint64_t drops;
	uint64_t interval_ms;
};

static void detect_counter_deltas(const struct snapshot *prev, const struct snapshot *cur,
				  struct detect_deltas *d)
{
	const struct kn_counters *p, *c;

	memset(d, 0, sizeof(*d));
	if (!prev || !prev->kernel.have_counters || !cur->kernel.have_counters)
		return;
	p = &prev->kernel.counters;
	c = &cur->kernel.counters;
	d->have = 1;
	d->overflows = c->listen_overflows > p->listen_overflows ?
		       c->listen_overflows - p->listen_overflows : 0;
	d->drops = c->listen_drops > p->listen_drops ? c->listen_drops - p->listen_drops : 0;
	d->interval_ms = cur->t_mono_ms > prev->t_mono_ms ? cur->t_mono_ms - prev->t_mono_ms : 0;
}

static void detect_ev_deltas(struct json *j, const struct detect_deltas *d)
{
	if (d->have) {
		json_uint(j, "listen_overflows_delta", d->overflows);
		json_uint(j, "listen_drops_delta", d->drops);
		json_uint(j, "interval_ms", d->interval_ms);
	} else {
		json_null(j, "listen_overflows_delta");
		json_null(j, "listen_drops_delta");
		json_null(j, "interval_ms");
	}
	json_str(j, "counters_scope", "namespace");
}

static int detect_backlog_one(const struct snapshot *prev, const struct snapshot *cur,
			      const struct detect_opts *o, const struct snap_listener *l,
			      const struct snap_lsock *ls, const struct detect_deltas *d,
			      struct finding_list *out, int *fired)
{
	uint32_t pct = detect_opt(o->backlog_pct, DETECT_BACKLOG_PCT);
	const struct snap_lsock *pls = detect_prev_lsock(prev, l, ls);
	const pid_t *own = detect_lsock_owners(cur, ls);
	int near, growing, stopped, full;
	enum detect_severity sev;
	char name[64], subject[96];
	struct fbuild b;
	size_t k;

	if (ls->rqueue == 0)
		return 0;
	near = detect_lsock_near(ls, pct);
	growing = detect_lsock_growing(ls, pls);
	stopped = detect_lsock_owners_stuck(cur, ls);
	if (!near && !growing && !stopped)
		return 0;
	*fired = 1;
	full = ls->rqueue >= ls->wqueue;
	sev = full || (d->have && d->overflows > 0) ? DS_CRITICAL : DS_WARNING;

	fb_init(&b);
	detect_listener_name(l, name, sizeof(name));
	snprintf(subject, sizeof(subject), "tcp:%s:ino:%" PRIu32, name, ls->ino);
	fb_port(&b, o, l->port);
	for (k = 0; k < ls->nowners; k++)
		fb_pid(&b, o, own[k]);

	sb_printf(&b.sum, "accept queue of %s (ino %" PRIu32 ") at %" PRIu32 "/%" PRIu32 "%s",
		  name, ls->ino, ls->rqueue, ls->wqueue, full ? ", full" : "");
	if (growing)
		sb_printf(&b.sum, ", growing from %" PRIu32, pls->rqueue);
	if (stopped) {
		const struct pm_proc *p = pm_procs_find(&cur->procs, own[0]);

		sb_printf(&b.sum, "; owner pid %ld (%s) is %s", (long)own[0], detect_comm(p),
			  detect_pstate_name(p ? p->state : 0));
	} else if (!ls->nowners) {
		sb_puts(&b.sum, "; owner not visible (needs root)");
	} else {
		sb_puts(&b.sum, "; its owner is not accepting fast enough");
	}
	if (d->have && d->overflows > 0)
		sb_printf(&b.sum, "; ListenOverflows +%" PRIu64 " in the namespace", d->overflows);

	sb_printf(&b.det, "socket ino %" PRIu32 " queue %" PRIu32 " backlog %" PRIu32,
		  ls->ino, ls->rqueue, ls->wqueue);
	if (pls)
		sb_printf(&b.det, ", previous queue %" PRIu32, pls->rqueue);
	sb_putc(&b.det, '\n');
	for (k = 0; k < ls->nowners; k++)
		detect_det_proc(&b.det, "", cur, own[k]);
	if (!ls->nowners)
		sb_puts(&b.det, "owner not visible (needs root)\n");
	if (d->have)
		sb_printf(&b.det, "namespace-wide: ListenOverflows +%" PRIu64
			  ", ListenDrops +%" PRIu64 " in %" PRIu64 " ms\n",
			  d->overflows, d->drops, d->interval_ms);

	json_obj_open(&b.j, NULL);
	json_str(&b.j, "listener", name);
	json_uint(&b.j, "port", l->port);
	json_uint(&b.j, "inode", ls->ino);
	json_uint(&b.j, "cookie", ls->cookie);
	json_uint(&b.j, "queue", ls->rqueue);
	json_uint(&b.j, "backlog", ls->wqueue);
	if (pls)
		json_uint(&b.j, "queue_prev", pls->rqueue);
	else
		json_null(&b.j, "queue_prev");
	json_uint(&b.j, "backlog_pct", pct);
	json_bool(&b.j, "full", full);
	json_arr_open(&b.j, "rules");
	if (near)
		json_str(&b.j, NULL, "near_backlog");
	if (growing)
		json_str(&b.j, NULL, "growing");
	if (stopped)
		json_str(&b.j, NULL, "owner_stopped");
	json_arr_close(&b.j);
	json_arr_open(&b.j, "owners");
	for (k = 0; k < ls->nowners; k++)
		detect_ev_proc(&b.j, NULL, cur, own[k]);
	json_arr_close(&b.j);
	if (!ls->nowners)
		json_str(&b.j, "owner", "not visible (needs root)");
	detect_ev_deltas(&b.j, d);
	json_obj_close(&b.j);
	return fb_emit(&b, o, out, DK_ACCEPT_BACKLOG, sev, subject, ls->nowners ? own[0] : 0,
		       l->port, (double)ls->rqueue);
}

int detect_accept_backlog(const struct snapshot *prev, const struct snapshot *cur,
			  const struct detect_opts *o, struct finding_list *out)
{
	struct detect_deltas d;
	struct fbuild b;
	int fired = 0;
	size_t i, k;

	detect_counter_deltas(prev, cur, &d);
	for (i = 0; i < cur->nlisteners; i++) {
		const struct snap_listener *l = &cur->listeners[i];

		for (k = 0; k < l->nlsocks; k++)
			if (detect_backlog_one(prev, cur, o, l, &cur->lsocks[l->first_lsock + k], &d,
					       out, &fired) == -1)
				return -1;
	}
	if (fired || !d.have || d.overflows == 0)
		return 0;
	fb_init(&b);
	sb_printf(&b.sum, "ListenOverflows rose by %" PRIu64 " in %" PRIu64
		  " ms: connections were dropped at a full accept queue, although no"
		  " listening socket's queue is high now", d.overflows, d.interval_ms);
	sb_printf(&b.det, "namespace-wide: ListenOverflows +%" PRIu64 ", ListenDrops +%" PRIu64
		  " in %" PRIu64 " ms\n", d.overflows, d.drops, d.interval_ms);
	json_obj_open(&b.j, NULL);
	detect_ev_deltas(&b.j, &d);
	json_obj_close(&b.j);
	return fb_emit(&b, o, out, DK_ACCEPT_BACKLOG, DS_WARNING, "tcp:listen_overflows", 0, 0,
		       (double)d.overflows);
}

/* ---- half_close_buildup ---- */

struct detect_half {
	uint32_t n[SD_NSTATES];
	uint32_t oldest[SD_NSTATES];
	uint32_t total;
	uint32_t oldest_all;
};

static void detect_half_add(struct detect_half *h, unsigned st, uint32_t n, uint32_t idle)
{
	h->n[st] += n;
	h->total += n;
	if (idle > h->oldest[st])
		h->oldest[st] = idle;
	if (idle > h->oldest_all)
		h->oldest_all = idle;
}

static uint32_t detect_half_of(const struct snap_count *c)
{
	uint32_t t = 0;
	size_t i;

	for (i = 0; i < DETECT_NHALF; i++)
		t += c->n[detect_half_states[i]];
	return t;
}

/* The half-closed sockets of a count on a listening port (the client
 * side of the proxy's connections) in h: 1, or 0 when c is not one. */
static int detect_listen_half(const struct snapshot *cur, const struct snap_count *c,
			      struct detect_half *h)
{
	size_t k;

	if (!detect_half_of(c) || !(c->is_listen_port || snapshot_port_listened(cur, c->lport)))
		return 0;
	memset(h, 0, sizeof(*h));
	for (k = 0; k < DETECT_NHALF; k++)
		detect_half_add(h, detect_half_states[k], c->n[detect_half_states[k]],
				c->oldest_idle_ms[detect_half_states[k]]);
	return 1;
}

static void detect_ev_half_states(struct json *j, const char *key, const struct detect_half *h,
				  int with_age)
{
	size_t i;

	json_obj_open(j, key);
	for (i = 0; i < DETECT_NHALF; i++) {
		unsigned st = detect_half_states[i];

		if (!with_age) {
			json_uint(j, detect_state_keys[st], h->n[st]);
			continue;
		}
		json_obj_open(j, detect_state_keys[st]);
		json_uint(j, "count", h->n[st]);
		json_uint(j, "oldest_idle_ms", h->oldest[st]);
		json_obj_close(j);
	}
	json_obj_close(j);
}

static void detect_det_half_states(struct sbuf *b, const struct detect_half *h, int with_age)
{
	const char *sep = "";
	char dur[32];
	size_t i;

	for (i = 0; i < DETECT_NHALF; i++) {
		unsigned st = detect_half_states[i];

		if (!h->n[st])
			continue;
		sb_printf(b, "%s%" PRIu32 " %s", sep, h->n[st], detect_state_keys[st]);
		if (with_age && h->oldest[st]) {
			detect_fmt_dur(h->oldest[st], dur, sizeof(dur));
			sb_printf(b, " (idle up to %s)", dur);
		}
		sep = ", ";
	}
}

#define DETECT_PEER_SLOTS 64
#define DETECT_PEERS_SHOWN 8

/* Half-closed sockets of one process towards one peer (remote address). */
struct detect_peer {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint32_t n[SD_NSTATES];
	uint32_t total;
};

struct detect_peers {
	struct detect_peer v[DETECT_PEER_SLOTS];
	size_t len;
	uint32_t other;        /* sockets towards peers beyond the slots */
};

static int detect_owned_by(const struct snapshot *s, uint32_t ino, pid_t pid)
{
	const struct pm_owner *o, *end = s->owners.v + s->owners.len;

	if (ino == 0 || !s->have_owners)
		return 0;
	for (o = pm_owners_find(&s->owners, ino); o && o < end && o->ino == ino; o++)
		if (o->pid == pid)
			return 1;
	return 0;
}

static int detect_peer_cmp(const void *a, const void *b)
{
	const struct detect_peer *x = a, *y = b;

	return (x->total < y->total) - (x->total > y->total);
}

/* The outgoing sockets of pid (local port not listened on) in the states of
 * mask, by peer, most sockets first. */
static void detect_peers_collect(const struct snapshot *s, pid_t pid, uint32_t mask,
				 struct detect_peers *pp)
{
	size_t i, j;

	pp->len = 0;
	pp->other = 0;
	for (i = 0; i < s->socks.len; i++) {
		const struct sd_sock *k = &s->socks.socks[i];
		struct detect_peer *e = NULL;

		if (k->state >= SD_NSTATES || !(mask & SD_STATE_BIT(k->state)) ||
		    snapshot_port_listened(s, k->lport) || !detect_owned_by(s, k->ino, pid))
			continue;
		for (j = 0; j < pp->len && !e; j++)
			if (pp->v[j].family == k->family && pp->v[j].port == k->rport &&
			    memcmp(pp->v[j].addr, k->raddr, sizeof(k->raddr)) == 0)
				e = &pp->v[j];
		if (!e && pp->len == DETECT_PEER_SLOTS) {
			pp->other++;
			continue;
		}
		if (!e) {
			e = &pp->v[pp->len++];
			memset(e, 0, sizeof(*e));
			e->family = k->family;
			e->port = k->rport;
			memcpy(e->addr, k->raddr, sizeof(e->addr));
		}
		e->n[k->state]++;
		e->total++;
	}
	qsort(pp->v, pp->len, sizeof(pp->v[0]), detect_peer_cmp);
	for (i = DETECT_PEERS_SHOWN; i < pp->len; i++)
		pp->other += pp->v[i].total;
	if (pp->len > DETECT_PEERS_SHOWN)
		pp->len = DETECT_PEERS_SHOWN;
}

static void detect_peer_state_line(struct sbuf *b, const struct detect_peer *e)
{
	const char *sep = "";
	unsigned st;

	for (st = 1; st < SD_NSTATES; st++) {
		if (!e->n[st])
			continue;
		sb_printf(b, "%s%" PRIu32 " %s", sep, e->n[st], detect_state_keys[st]);
		sep = ", ";
	}
	sb_putc(b, '\n');
}

static void detect_ev_peer_states(struct json *j, const struct detect_peer *e)
{
	unsigned st;

	for (st = 1; st < SD_NSTATES; st++)
		if (e->n[st])
			json_uint(j, detect_state_keys[st], e->n[st]);
}

/* Peers as a JSON array and detail lines. */
static void detect_peers_put(struct fbuild *b, const struct detect_peers *pp)
{
	size_t i;

	json_arr_open(&b->j, "peers");
	for (i = 0; i < pp->len; i++) {
		const struct detect_peer *e = &pp->v[i];
		char pname[64];

		sd_addr_fmt(e->family, e->addr, e->port, pname, sizeof(pname));
		json_obj_open(&b->j, NULL);
		json_str(&b->j, "peer", pname);
		detect_ev_peer_states(&b->j, e);
		json_obj_close(&b->j);
		sb_printf(&b->det, "  to %s: ", pname);
		detect_peer_state_line(&b->det, e);
	}
	json_arr_close(&b->j);
	json_uint(&b->j, "other_peers_sockets", pp->other);
	if (pp->other)
		sb_printf(&b->det, "  to other peers: %" PRIu32 "\n", pp->other);
}

/* The maxconn of process pid as the detectors know it, 0 unknown: its stats
 * view's show info Maxconn, else the sum of its frontends' slim, else the
 * configured o->half_close_maxconn. */
static uint64_t detect_half_maxconn(const struct detect_opts *o, pid_t pid)
{
	const struct detect_stats *st = o->half_close_views;
	size_t i, r;

	for (i = 0; st && pid > 0 && i < st->ncur; i++) {
		const struct stats_view *v = &st->cur[i];
		uint64_t fe = 0;

		if (v->pid != pid)
			continue;
		if (v->have_info && v->info_maxconn > 0)
			return (uint64_t)v->info_maxconn;
		for (r = 0; r < v->len; r++)
			if (v->rows[r].type == ST_FRONTEND && v->rows[r].slim > 0)
				fe += (uint64_t)v->rows[r].slim;
		if (fe)
			return fe;
	}
	return o->half_close_maxconn;
}

/* The count threshold for process pid: half_close_min, raised to
 * half_close_pct % of its maxconn when known. */
static uint32_t detect_half_min(const struct detect_opts *o, pid_t pid, uint64_t *maxconn)
{
	uint32_t min = detect_opt(o->half_close_min, DETECT_HALF_CLOSE_MIN);
	uint32_t pct = detect_opt(o->half_close_pct, DETECT_HALF_CLOSE_PCT);
	uint64_t rel;

	*maxconn = o->half_close_abs ? 0 : detect_half_maxconn(o, pid);
	rel = (*maxconn * pct + 99) / 100;
	if (rel > UINT32_MAX)
		rel = UINT32_MAX;
	return rel > min ? (uint32_t)rel : min;
}

static int detect_half_pid(const struct snapshot *cur, const struct detect_opts *o,
			   size_t first, size_t end, struct finding_list *out)
{
	uint64_t maxconn;
	uint32_t min = detect_half_min(o, cur->counts[first].pid, &maxconn);
	uint32_t age = detect_opt(o->half_close_age_ms, DETECT_HALF_CLOSE_AGE_MS);
	pid_t pid = cur->counts[first].pid;
	const struct pm_proc *p = pm_procs_find(&cur->procs, pid);
	struct detect_peers pbuf, *peers = &pbuf;
	struct detect_half all, outgoing;
	uint32_t cw_out = 0, fw2_in = 0, pairs, best = 0;
	size_t i, k, nout_ports = 0;
	uint16_t port = 0;
	enum detect_severity sev;
	char subject[96], dur[32];
	struct fbuild b;

	memset(&all, 0, sizeof(all));
	memset(&outgoing, 0, sizeof(outgoing));
	peers->len = 0;
	peers->other = 0;
	for (i = first; i < end; i++) {
		const struct snap_count *c = &cur->counts[i];
		int listened = c->is_listen_port || snapshot_port_listened(cur, c->lport);
		uint32_t nh = detect_half_of(c);

		if (!nh)
			continue;
		for (k = 0; k < DETECT_NHALF; k++) {
			unsigned st = detect_half_states[k];

			detect_half_add(&all, st, c->n[st], c->oldest_idle_ms[st]);
			if (!listened)
				detect_half_add(&outgoing, st, c->n[st], c->oldest_idle_ms[st]);
		}
		if (listened) {
			fw2_in += c->n[SD_FIN_WAIT2];
			if (nh > best) {
				best = nh;
				port = c->lport;
			}
		} else {
			cw_out += c->n[SD_CLOSE_WAIT];
			nout_ports++;
		}
	}
	if (all.total == 0 || (all.total < min && all.oldest_all < age))
		return 0;
	pairs = cw_out < fw2_in ? cw_out : fw2_in;
	sev = pairs >= min || (uint64_t)all.total >= (uint64_t)min * 10 ? DS_CRITICAL : DS_WARNING;

	fb_init(&b);
	fb_pid(&b, o, pid);
	for (i = first; i < end; i++)
		if (detect_half_of(&cur->counts[i]))
			fb_port(&b, o, cur->counts[i].lport);
	snprintf(subject, sizeof(subject), "pid:%ld", (long)pid);

	sb_printf(&b.sum, "pid %ld (%s) holds %" PRIu32 " half-closed sockets: ", (long)pid,
		  detect_comm(p), all.total);
	detect_det_half_states(&b.sum, &all, 0);
	if (pairs > 0)
		sb_printf(&b.sum, "; %" PRIu32 " possible CLOSE_WAIT<->FIN_WAIT2 pairs: the client"
			  " side waits in FIN_WAIT2 held by the proxy while the server side sits"
			  " in CLOSE_WAIT not closed; timeout client-fin / server-fin bound them",
			  pairs);
	else if (fw2_in > 0)
		sb_puts(&b.sum, "; FIN_WAIT2 on the client side: this process closed and the"
			" client has not answered (a proxy's timeout client-fin bounds them)");
	else if (all.n[SD_CLOSE_WAIT] > 0)
		sb_puts(&b.sum, "; CLOSE_WAIT: the peer closed and this process has not closed"
			" its socket");
	if (all.oldest_all >= age) {
		detect_fmt_dur(all.oldest_all, dur, sizeof(dur));
		sb_printf(&b.sum, "; idle up to %s", dur);
	}

	detect_det_proc(&b.det, "", cur, pid);
	if (maxconn)
		sb_printf(&b.det, "threshold: %" PRIu32 " half-closed sockets (half-close-min %"
			  PRIu32 ", %" PRIu32 "%% of maxconn %" PRIu64 ")\n", min,
			  detect_opt(o->half_close_min, DETECT_HALF_CLOSE_MIN),
			  detect_opt(o->half_close_pct, DETECT_HALF_CLOSE_PCT), maxconn);
	sb_puts(&b.det, "total: ");
	detect_det_half_states(&b.det, &all, 1);
	sb_putc(&b.det, '\n');
	for (i = first; i < end; i++) {
		const struct snap_count *c = &cur->counts[i];
		struct detect_half h;

		if (!detect_listen_half(cur, c, &h))
			continue;
		sb_printf(&b.det, "listening port %u (client side): ", c->lport);
		detect_det_half_states(&b.det, &h, 1);
		sb_putc(&b.det, '\n');
	}
	if (outgoing.total) {
		sb_printf(&b.det, "outgoing connections (%zu local ports): ", nout_ports);
		detect_det_half_states(&b.det, &outgoing, 1);
		sb_putc(&b.det, '\n');
		detect_peers_collect(cur, pid, SD_STATES_HALF_CLOSED, peers);
		for (i = 0; i < peers->len; i++) {
			char pname[64];

			sd_addr_fmt(peers->v[i].family, peers->v[i].addr, peers->v[i].port, pname,
				    sizeof(pname));
			sb_printf(&b.det, "  to %s: ", pname);
			detect_peer_state_line(&b.det, &peers->v[i]);
		}
		if (peers->other)
			sb_printf(&b.det, "  to other peers: %" PRIu32 "\n", peers->other);
	}
	if (pairs)
		sb_printf(&b.det, "possible pairs: %" PRIu32 " = min(CLOSE_WAIT outgoing %" PRIu32
			  ", FIN_WAIT2 on listening ports %" PRIu32 "), inferred from counts\n",
			  pairs, cw_out, fw2_in);

	json_obj_open(&b.j, NULL);
	detect_ev_proc(&b.j, "process", cur, pid);
	json_uint(&b.j, "half_closed", all.total);
	json_uint(&b.j, "half_close_min", min);
	json_uint(&b.j, "half_close_min_abs", detect_opt(o->half_close_min, DETECT_HALF_CLOSE_MIN));
	json_uint(&b.j, "half_close_pct", detect_opt(o->half_close_pct, DETECT_HALF_CLOSE_PCT));
	json_uint(&b.j, "maxconn", maxconn);
	json_uint(&b.j, "half_close_age_ms", age);
	detect_ev_half_states(&b.j, "states", &all, 1);
	json_arr_open(&b.j, "listening_ports");
	for (i = first; i < end; i++) {
		const struct snap_count *c = &cur->counts[i];
		struct detect_half h;

		if (!detect_listen_half(cur, c, &h))
			continue;
		json_obj_open(&b.j, NULL);
		json_uint(&b.j, "port", c->lport);
		json_bool(&b.j, "own_listener", c->is_listen_port);
		detect_ev_half_states(&b.j, "states", &h, 1);
		json_obj_close(&b.j);
	}
	json_arr_close(&b.j);
	json_obj_open(&b.j, "outgoing");
	json_uint(&b.j, "local_ports", nout_ports);
	detect_ev_half_states(&b.j, "states", &outgoing, 1);
	json_arr_open(&b.j, "peers");
	for (i = 0; i < peers->len; i++) {
		const struct detect_peer *e = &peers->v[i];
		char pname[64];

		json_obj_open(&b.j, NULL);
		json_str(&b.j, "peer", sd_addr_fmt(e->family, e->addr, e->port, pname,
						   sizeof(pname)));
		detect_ev_peer_states(&b.j, e);
		json_obj_close(&b.j);
	}
	json_arr_close(&b.j);
	json_uint(&b.j, "other_peers_sockets", peers->other);
	json_obj_close(&b.j);
	json_uint(&b.j, "possible_pairs", pairs);
	json_str(&b.j, "pairs_rule", "inferred from counts, not matched socket to socket: "
		 "min(CLOSE_WAIT on outgoing connections, FIN_WAIT2 on listening ports)");
	json_str(&b.j, "idle_note", "idle time from tcp_info (last data or ack), a lower "
		 "bound of the time spent in the state, not the socket's age; 0 when unknown "
		 "(no tcp_info)");
	json_obj_close(&b.j);
	return fb_emit(&b, o, out, DK_HALF_CLOSE_BUILDUP, sev, subject, pid, port,
		       (double)all.total);
}

/* Half-closed sockets that no visible process owns. A CLOSE_WAIT socket
 * without an inode is no orphan (closing it would have moved it to LAST_ACK):
 * it waits in an accept queue, never accepted, and its client has closed
 * already; those are shown but do not make a finding (accept_backlog covers
 * the listener). */
static int detect_half_unowned(const struct snapshot *cur, const struct detect_opts *o,
			       struct finding_list *out)
{
	uint32_t min = detect_opt(o->half_close_min, DETECT_HALF_CLOSE_MIN);
	uint32_t age = detect_opt(o->half_close_age_ms, DETECT_HALF_CLOSE_AGE_MS);
	const char *unseen_why = cur->have_owners ? "owner not visible (needs root)" :
				 "owners not mapped";
	struct detect_half orph, unseen, queued;
	int orph_bad, unseen_bad;
	struct fbuild b;
	size_t i;

	memset(&orph, 0, sizeof(orph));
	memset(&unseen, 0, sizeof(unseen));
	memset(&queued, 0, sizeof(queued));
	fb_init(&b);
	for (i = 0; i < cur->socks.len; i++) {
		const struct sd_sock *k = &cur->socks.socks[i];
		struct detect_half *h;
		uint32_t idle = 0;

		if (k->state >= SD_NSTATES || !(SD_STATES_HALF_CLOSED & SD_STATE_BIT(k->state)))
			continue;
		if (k->ino != 0 && cur->have_owners && pm_owners_find(&cur->owners, k->ino))
			continue;
		if (k->has_info) {
			idle = k->info.last_data_recv;
			if (k->info.last_data_sent < idle)
				idle = k->info.last_data_sent;
			if (k->info.last_ack_recv < idle)
				idle = k->info.last_ack_recv;
		}
		if (k->ino != 0)
			h = &unseen;
		else if (k->state == SD_CLOSE_WAIT)
			h = &queued;
		else
			h = &orph;
		detect_half_add(h, k->state, 1, idle);
		if (h != &queued)
			fb_port(&b, o, k->lport);
	}
	orph_bad = orph.total && (orph.total >= min || orph.oldest_all >= age);
	unseen_bad = unseen.total && (unseen.total >= min || unseen.oldest_all >= age);
	if (!orph_bad && !unseen_bad) {
		fb_free(&b);
		return 0;
	}
	fb_pid(&b, o, 0);
	sb_printf(&b.sum, "%" PRIu32 " half-closed sockets without a visible owner",
		  orph.total + unseen.total);
	if (orph.total) {
		sb_printf(&b.sum, "; %" PRIu32 " orphaned (kernel-owned: ", orph.total);
		detect_det_half_states(&b.sum, &orph, 0);
		sb_puts(&b.sum, "), bounded by tcp_fin_timeout in FIN_WAIT2 and tcp_orphan_retries"
			" otherwise");
	}
	if (unseen.total)
		sb_printf(&b.sum, "; %" PRIu32 " with an %s", unseen.total, unseen_why);
	if (orph.total) {
		sb_puts(&b.det, "orphaned (no inode, kernel-owned): ");
		detect_det_half_states(&b.det, &orph, 1);
		sb_putc(&b.det, '\n');
	}
	if (unseen.total) {
		sb_printf(&b.det, "%s: ", unseen_why);
		detect_det_half_states(&b.det, &unseen, 1);
		sb_putc(&b.det, '\n');
	}
	if (queued.total)
		sb_printf(&b.det, "not counted: %" PRIu32 " CLOSE_WAIT never accepted from an accept"
			  " queue (the client closed first)\n", queued.total);
	json_obj_open(&b.j, NULL);
	json_uint(&b.j, "half_closed", orph.total + unseen.total);
	detect_ev_half_states(&b.j, "orphaned", &orph, 1);
	detect_ev_half_states(&b.j, "owner_not_visible", &unseen, 1);
	json_bool(&b.j, "owners_mapped", cur->have_owners);
	json_uint(&b.j, "unaccepted_close_wait", queued.total);
	json_str(&b.j, "orphan_note", "orphans have no owning process: tcp_fin_timeout bounds "
		 "them in FIN_WAIT2, tcp_orphan_retries in FIN_WAIT1, LAST_ACK and CLOSING");
	json_str(&b.j, "idle_note", "idle time from tcp_info (last data or ack), a lower "
		 "bound of the time spent in the state, not the socket's age; 0 when unknown "
		 "(no tcp_info)");
	json_obj_close(&b.j);
	return fb_emit(&b, o, out, DK_HALF_CLOSE_BUILDUP, unseen_bad ? DS_WARNING : DS_INFO,
		       "pid:0", 0, 0, (double)(orph.total + unseen.total));
}

int detect_half_close(const struct snapshot *prev, const struct snapshot *cur,
		      const struct detect_opts *o, struct finding_list *out)
{
	size_t i = 0;

	(void)prev;
	while (i < cur->ncounts) {
		size_t end = i;

		while (end < cur->ncounts && cur->counts[end].pid == cur->counts[i].pid)
			end++;
		if (cur->counts[i].pid != 0 && detect_half_pid(cur, o, i, end, out) == -1)
			return -1;
		i = end;
	}
	return detect_half_unowned(cur, o, out);
}

/* ---- stale_generation ---- */

struct detect_stale {
	pid_t newer;           /* newest listener owner this process is older than */
	uint64_t newer_start;
	uint16_t ports[DETECT_STALE_PORTS];
	size_t nports;
};

/* Index range of pid's entries in counts (sorted by pid). */
static void detect_counts_range(const struct snapshot *s, pid_t pid, size_t *first, size_t *end)
{
	size_t lo = 0, hi = s->ncounts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->counts[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < s->ncounts && s->counts[lo].pid == pid)
		lo++;
	*end = lo;
}

static uint32_t detect_conns_of(const struct snapshot *s, pid_t pid, uint32_t *by_state)
{
	size_t first, end, i, st;
	uint32_t t = 0;

	detect_counts_range(s, pid, &first, &end);
	for (i = first; i < end; i++)
		for (st = 1; st < SD_NSTATES; st++) {
			if (st == SD_LISTEN)
				continue;
			t += s->counts[i].n[st];
			if (by_state)
				by_state[st] += s->counts[i].n[st];
		}
	return t;
}

static int detect_listens_on(const struct snapshot *s, pid_t pid, uint16_t port)
{
	const struct snap_count *c = snapshot_count_find(s, pid, port);

	return c && c->n[SD_LISTEN] > 0;
}

static void detect_stale_mark(const struct snapshot *cur, const struct detect_opts *o,
			      const struct pm_proc *owner, uint16_t port, struct detect_stale *st)
{
	size_t i, k;

	for (i = 0; i < cur->procs.len; i++) {
		const struct pm_proc *p = &cur->procs.v[i];
		struct detect_stale *e = &st[i];

		if (p->pid == owner->pid || p->pid == owner->ppid || p->start_ms == 0 ||
		    p->start_ms >= owner->start_ms || !detect_same_program(p, owner) ||
		    detect_listens_on(cur, p->pid, port) || detect_conns_of(cur, p->pid, NULL) == 0 ||
		    detect_allow_proc(o, p))
			continue;
		if (!e->newer || owner->start_ms > e->newer_start) {
			e->newer = owner->pid;
			e->newer_start = owner->start_ms;
		}
		for (k = 0; k < e->nports; k++)
			if (e->ports[k] == port)
				break;
		if (k == e->nports && e->nports < DETECT_STALE_PORTS)
			e->ports[e->nports++] = port;
	}
}

static int detect_stale_emit(const struct snapshot *cur, const struct detect_opts *o,
			     const struct pm_proc *p, const struct detect_stale *e, size_t ngens,
			     struct finding_list *out)
{
	const struct pm_proc *np = pm_procs_find(&cur->procs, e->newer);
	struct detect_peers pbuf, *peers = &pbuf;
	uint32_t by_state[SD_NSTATES];
	uint64_t age = cur->t_real_ms > p->start_ms ? cur->t_real_ms - p->start_ms : 0;
	uint64_t ahead = e->newer_start - p->start_ms;
	enum detect_severity sev;
	char subject[96], dur[32], dur2[32], iso[40];
	uint32_t conns;
	struct fbuild b;
	size_t i, st;

	memset(by_state, 0, sizeof(by_state));
	conns = detect_conns_of(cur, p->pid, by_state);
	sev = ngens > DETECT_STALE_MAX_GENS || age > DETECT_STALE_AGE_MS ? DS_CRITICAL : DS_WARNING;

	fb_init(&b);
	fb_pid(&b, o, p->pid);
	for (i = 0; i < e->nports; i++)
		fb_port(&b, o, e->ports[i]);
	{
		size_t first, end;

		detect_counts_range(cur, p->pid, &first, &end);
		for (i = first; i < end; i++)
			fb_port(&b, o, cur->counts[i].lport);
	}
	snprintf(subject, sizeof(subject), "pid:%ld", (long)p->pid);
	detect_fmt_dur(age, dur, sizeof(dur));
	detect_fmt_dur(ahead, dur2, sizeof(dur2));

	sb_printf(&b.sum, "pid %ld (%s) is an older generation: started %s before pid %ld, which"
		  " now listens on :%u; it listens on none of those ports and still holds %" PRIu32
		  " TCP connections (age %s", (long)p->pid, detect_comm(p), dur2, (long)e->newer,
		  e->ports[0], conns, dur);
	if (ngens > 1)
		sb_printf(&b.sum, ", one of %zu older generations", ngens);
	sb_putc(&b.sum, ')');

	detect_det_proc(&b.det, "", cur, p->pid);
	sb_puts(&b.det, "newer listener owner: ");
	detect_det_proc(&b.det, "", cur, e->newer);
	sb_puts(&b.det, "connections:");
	for (st = 1; st < SD_NSTATES; st++)
		if (by_state[st])
			sb_printf(&b.det, " %s %" PRIu32, detect_state_keys[st], by_state[st]);
	sb_putc(&b.det, '\n');

	json_obj_open(&b.j, NULL);
	detect_ev_proc(&b.j, "process", cur, p->pid);
	json_uint(&b.j, "age_ms", age);
	json_uint(&b.j, "connections_total", conns);
	json_obj_open(&b.j, "connections");
	for (st = 1; st < SD_NSTATES; st++)
		if (by_state[st])
			json_uint(&b.j, detect_state_keys[st], by_state[st]);
	json_obj_close(&b.j);
	/* Outgoing connections (to backends) by peer; the detail lines follow
	 * the "connections:" line. */
	json_obj_open(&b.j, "outgoing");
	detect_peers_collect(cur, p->pid, SD_STATES_ALL & ~SD_STATE_BIT(SD_LISTEN), peers);
	detect_peers_put(&b, peers);
	json_obj_close(&b.j);
	json_arr_open(&b.j, "ports");
	for (i = 0; i < e->nports; i++)
		json_uint(&b.j, NULL, e->ports[i]);
	json_arr_close(&b.j);
	json_obj_open(&b.j, "newer");
	json_int(&b.j, "pid", e->newer);
	json_uint(&b.j, "start_ms", e->newer_start);
	clock_fmt_iso(e->newer_start, iso, sizeof(iso));
	json_str(&b.j, "start", iso);
	json_str(&b.j, "comm", np ? np->comm : NULL);
	json_obj_close(&b.j);
	json_uint(&b.j, "older_generations", ngens);
	json_obj_close(&b.j);
	return fb_emit(&b, o, out, DK_STALE_GENERATION, sev, subject, p->pid, e->ports[0],
		       (double)(age / 1000));
}

int detect_stale_generation(const struct snapshot *prev, const struct snapshot *cur,
			    const struct detect_opts *o, struct finding_list *out)
{
	struct detect_stale *st;
	size_t i, k, n;
	int rc = -1;

	(void)prev;
	if (cur->procs.len == 0 || cur->nlisteners == 0)
		return 0;
	st = calloc(cur->procs.len, sizeof(*st));
	if (!st) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < cur->nlisteners; i++) {
		const struct snap_listener *l = &cur->listeners[i];

		for (k = 0; k < l->nlsocks; k++) {
			const struct snap_lsock *ls = &cur->lsocks[l->first_lsock + k];
			const pid_t *own = detect_lsock_owners(cur, ls);

			for (n = 0; n < ls->nowners; n++) {
				const struct pm_proc *op = pm_procs_find(&cur->procs, own[n]);

				if (op && op->start_ms)
					detect_stale_mark(cur, o, op, l->port, st);
			}
		}
	}
	for (i = 0; i < cur->procs.len; i++) {
		if (!st[i].newer)
			continue;
		/* Older generations of the same program. */
		for (n = 0, k = 0; k < cur->procs.len; k++)
			if (st[k].newer && detect_same_program(&cur->procs.v[k], &cur->procs.v[i]))
				n++;
		if (detect_stale_emit(cur, o, &cur->procs.v[i], &st[i], n, out) == -1)
			goto out;
	}
	rc = 0;
out:
	free(st);
	return rc;
}

/* ---- kernel_tuning ---- */

struct detect_orphans {
	uint32_t fw2;
	uint32_t fw1_la;       /* FIN_WAIT1, LAST_ACK, CLOSING */
};

static int detect_kernel_emit(const struct detect_opts *o, struct fbuild *b, const char *sysctl,
			      int64_t value, enum detect_severity sev, uint16_t port,
			      struct finding_list *out)
{
	char subject[96];

	snprintf(subject, sizeof(subject), "sysctl:%s", sysctl);
	return fb_emit(b, o, out, DK_KERNEL_TUNING, sev, subject, 0, port, (double)value);
}

int detect_kernel_tuning(const struct snapshot *prev, const struct snapshot *cur,
			 const struct detect_opts *o, struct finding_list *out)
{
	const struct kn_sysctls *sc = &cur->kernel.sysctls;
	uint32_t pct = detect_opt(o->backlog_pct, DETECT_BACKLOG_PCT);
	struct detect_orphans orph = { 0, 0 };
	struct fbuild b, bfw2, bfw1;
	uint16_t first_port = 0;
	size_t i, k, nhit = 0;

	fb_init(&bfw2);
	fb_init(&bfw1);
	for (i = 0; i < cur->socks.len; i++) {
		const struct sd_sock *s = &cur->socks.socks[i];

		if (s->ino != 0)
			continue;
		if (s->state == SD_FIN_WAIT2) {
			orph.fw2++;
			fb_port(&bfw2, o, s->lport);
		} else if (s->state == SD_FIN_WAIT1 || s->state == SD_LAST_ACK ||
			   s->state == SD_CLOSING) {
			orph.fw1_la++;
			fb_port(&bfw1, o, s->lport);
		}
	}

	if (sc->tcp_fin_timeout > DETECT_FIN_TIMEOUT_DEFAULT && orph.fw2 > 0) {
		sb_printf(&bfw2.sum, "net.ipv4.tcp_fin_timeout is %" PRId64 " s and %" PRIu32
			  " orphaned FIN_WAIT2 sockets exist: it bounds orphans only (sockets a"
			  " process still owns are bounded by its own timeouts, e.g. timeout"
			  " client-fin / server-fin)", sc->tcp_fin_timeout, orph.fw2);
		sb_printf(&bfw2.det, "orphaned FIN_WAIT2 sockets: %" PRIu32 "; the default is %d s\n",
			  orph.fw2, DETECT_FIN_TIMEOUT_DEFAULT);
		json_obj_open(&bfw2.j, NULL);
		json_str(&bfw2.j, "sysctl", "net.ipv4.tcp_fin_timeout");
		json_int(&bfw2.j, "value", sc->tcp_fin_timeout);
		json_uint(&bfw2.j, "orphaned_fin_wait2", orph.fw2);
		json_str(&bfw2.j, "why", "tcp_fin_timeout applies only to orphaned FIN_WAIT2 "
			 "sockets; a large value keeps them longer");
		json_obj_close(&bfw2.j);
		if (detect_kernel_emit(o, &bfw2, "net.ipv4.tcp_fin_timeout", sc->tcp_fin_timeout,
				       DS_INFO, 0, out) == -1)
			goto err_fw1;
	} else {
		fb_free(&bfw2);
	}

	if (sc->tcp_orphan_retries == 0 && orph.fw1_la > 0) {
		sb_printf(&bfw1.sum, "net.ipv4.tcp_orphan_retries is 0, which means 8: %" PRIu32
			  " orphaned sockets in FIN_WAIT1/LAST_ACK/CLOSING may retransmit their FIN"
			  " for about 100 s or more (200 ms initial RTO, doubling); 1 to 3 bounds"
			  " them to seconds", orph.fw1_la);
		sb_printf(&bfw1.det, "orphaned FIN_WAIT1, LAST_ACK or CLOSING sockets: %" PRIu32 "\n",
			  orph.fw1_la);
		json_obj_open(&bfw1.j, NULL);
		json_str(&bfw1.j, "sysctl", "net.ipv4.tcp_orphan_retries");
		json_int(&bfw1.j, "value", sc->tcp_orphan_retries);
		json_int(&bfw1.j, "effective_retries", 8);
		json_uint(&bfw1.j, "orphaned_fin_wait1_last_ack_closing", orph.fw1_la);
		json_str(&bfw1.j, "why", "0 means 8 retries of an unacknowledged FIN of an orphan, "
			 "about 100 s or more with the default RTO");
		json_obj_close(&bfw1.j);
		if (detect_kernel_emit(o, &bfw1, "net.ipv4.tcp_orphan_retries",
				       sc->tcp_orphan_retries, DS_INFO, 0, out) == -1)
			return -1;
	} else {
		fb_free(&bfw1);
	}

	/* somaxconn capping the backlog of a listener whose queue builds up. */
	if (sc->somaxconn > 0 && sc->somaxconn < DETECT_SOMAXCONN_SMALL) {
		fb_init(&b);
		json_obj_open(&b.j, NULL);
		json_str(&b.j, "sysctl", "net.core.somaxconn");
		json_int(&b.j, "value", sc->somaxconn);
		json_arr_open(&b.j, "listeners");
		for (i = 0; i < cur->nlisteners; i++) {
			const struct snap_listener *l = &cur->listeners[i];

			for (k = 0; k < l->nlsocks; k++) {
				const struct snap_lsock *ls = &cur->lsocks[l->first_lsock + k];
				const struct snap_lsock *pls = detect_prev_lsock(prev, l, ls);
				char name[64];

				if ((int64_t)ls->wqueue != sc->somaxconn ||
				    !(detect_lsock_near(ls, pct) || detect_lsock_growing(ls, pls)))
					continue;
				detect_listener_name(l, name, sizeof(name));
				json_obj_open(&b.j, NULL);
				json_str(&b.j, "listener", name);
				json_uint(&b.j, "inode", ls->ino);
				json_uint(&b.j, "queue", ls->rqueue);
				json_uint(&b.j, "backlog", ls->wqueue);
				json_obj_close(&b.j);
				sb_printf(&b.det, "%s ino %" PRIu32 ": queue %" PRIu32 ", backlog %"
					  PRIu32 " = somaxconn\n", name, ls->ino, ls->rqueue,
					  ls->wqueue);
				fb_port(&b, o, l->port);
				detect_fb_owners(&b, o, cur, ls);
				if (!nhit++)
					first_port = l->port;
			}
		}
		json_arr_close(&b.j);
		json_str(&b.j, "why", "listen() backlogs are capped at somaxconn; a listener "
			 "whose queue fills at exactly somaxconn probably asked for more");
		json_obj_close(&b.j);
		if (nhit) {
			sb_printf(&b.sum, "net.core.somaxconn is %" PRId64 " and caps the backlog of"
				  " %zu listening socket%s whose accept queue is building up",
				  sc->somaxconn, nhit, nhit == 1 ? "" : "s");
			if (detect_kernel_emit(o, &b, "net.core.somaxconn", sc->somaxconn,
					       DS_WARNING, first_port, out) == -1)
				return -1;
		} else {
			fb_free(&b);
		}
	}

	/* tcp_migrate_req 0 with several sockets on one address. */
	if (sc->tcp_migrate_req == 0) {
		nhit = 0;
		fb_init(&b);
		json_obj_open(&b.j, NULL);
		json_str(&b.j, "sysctl", "net.ipv4.tcp_migrate_req");
		json_int(&b.j, "value", sc->tcp_migrate_req);
		json_arr_open(&b.j, "listeners");
		for (i = 0; i < cur->nlisteners; i++) {
			const struct snap_listener *l = &cur->listeners[i];
			char name[64];

			if (l->nlsocks < 2)
				continue;
			detect_listener_name(l, name, sizeof(name));
			json_obj_open(&b.j, NULL);
			json_str(&b.j, "listener", name);
			json_uint(&b.j, "sockets", l->nlsocks);
			json_obj_close(&b.j);
			sb_printf(&b.det, "%s: %zu listening sockets\n", name, l->nlsocks);
			fb_port(&b, o, l->port);
			for (k = 0; k < l->nlsocks; k++) {
				const struct snap_lsock *ls = &cur->lsocks[l->first_lsock + k];

				detect_fb_owners(&b, o, cur, ls);
			}
			if (!nhit++)
				first_port = l->port;
		}
		json_arr_close(&b.j);
		json_str(&b.j, "why", "when one of several SO_REUSEPORT sockets closes, the "
			 "connections queued on it are reset; net.ipv4.tcp_migrate_req=1 migrates "
			 "them to the others");
		json_obj_close(&b.j);
		if (nhit) {
			sb_printf(&b.sum, "net.ipv4.tcp_migrate_req is 0 and %zu address%s ha%s several"
				  " listening sockets: connections queued on one that closes are reset"
				  " (tcp_migrate_req=1 migrates them)", nhit, nhit == 1 ? "" : "es",
				  nhit == 1 ? "s" : "ve");
			if (detect_kernel_emit(o, &b, "net.ipv4.tcp_migrate_req", 0, DS_INFO,
					       first_port, out) == -1)
				return -1;
		} else {
			fb_free(&b);
		}
	}
	return 0;
err_fw1:
	fb_free(&bfw1);
	return -1;
}

int detect_run(const struct snapshot *prev, const struct snapshot *cur,
	       const struct detect_opts *o, struct finding_list *out)
{
	if (detect_duplicate_listener(prev, cur, o, out) == -1 ||
	    detect_accept_backlog(prev, cur, o, out) == -1 ||
	    detect_stale_generation(prev, cur, o, out) == -1 ||
	    detect_half_close(prev, cur, o, out) == -1 ||
	    detect_kernel_tuning(prev, cur, o, out) == -1)
		return -1;
	return 0;
}

/* ---- the proxy's view: session_on_down_server ---- */

static uint32_t detect_stats_view_count(const struct detect_stats *st)
{
	return st ? (uint32_t)st->ncur : 0;
}

/* 1 when pid owns socket inode ino in s; any socket when pid is 0 or the
 * owners were not mapped. */
static int detect_owned_or_any(const struct snapshot *s, uint32_t ino, pid_t pid)
{
	if (pid == 0 || !s->have_owners)
		return 1;
	return detect_owned_by(s, ino, pid);
}

static void detect_ev_view(struct json *j, const struct stats_view *v)
{
	json_int(j, "pid", v->pid);
	json_int(j, "generation", v->gen);
}

#define DETECT_DOWN_GRACE_MS 5000u
#define DETECT_STARVE_PCT 50u
#define DETECT_MAXCONN_PCT 90u
#define DETECT_LOSSY_RETRANS 3u
#define DETECT_LOSSY_MIN 3u
#define DETECT_SHOW_SOCKS 8

static int detect_down_one(const struct snapshot *cur, const struct stats_view *v,
			   const struct stats_row *r, const struct detect_opts *o,
			   struct finding_list *out)
{
	uint8_t addr[16];
	int family;
	int64_t down_s = r->since_change >= 0 ? r->since_change : r->lastchg;
	uint32_t n = 0;
	char subject[160], name[64];
	struct fbuild b;
	size_t i;

	memset(addr, 0, sizeof(addr));
	family = strchr(r->srv_addr, ':') ? AF_INET6 : AF_INET;
	if (!r->srv_port || inet_pton(family, r->srv_addr, addr) != 1)
		return 0;
	if (down_s < 0 || (uint64_t)down_s * 1000 < detect_opt(o->down_grace_ms, DETECT_DOWN_GRACE_MS))
		return 0;
	fb_init(&b);
	json_obj_open(&b.j, NULL);
	json_str(&b.j, "backend", r->pxname);
	json_str(&b.j, "server", r->svname);
	sd_addr_fmt((unsigned)family, addr, r->srv_port, name, sizeof(name));
	json_str(&b.j, "address", name);
	json_str(&b.j, "status", r->status[0] ? r->status : "DOWN");
	json_str(&b.j, "check_status", r->check_status);
	json_int(&b.j, "down_for_s", down_s);
	detect_ev_view(&b.j, v);
	json_arr_open(&b.j, "sessions");
	for (i = 0; i < cur->socks.len; i++) {
		const struct sd_sock *s = &cur->socks.socks[i];
		char la[64];

		if (s->state != SD_ESTABLISHED || s->family != family || s->rport != r->srv_port ||
		    memcmp(s->raddr, addr, family == AF_INET ? 4 : 16) != 0 ||
		    !detect_owned_or_any(cur, s->ino, v->pid))
			continue;
		if (n++ < DETECT_SHOW_SOCKS) {
			sd_addr_fmt(s->family, s->laddr, s->lport, la, sizeof(la));
			json_obj_open(&b.j, NULL);
			json_str(&b.j, "local", la);
			json_uint(&b.j, "inode", s->ino);
			if (s->has_info)
				json_uint(&b.j, "idle_ms", s->info.last_data_recv);
			json_obj_close(&b.j);
			sb_printf(&b.det, "session %s -> %s inode %" PRIu32 "\n", la, name, s->ino);
		}
		fb_port(&b, o, s->lport);
	}
	json_arr_close(&b.j);
	json_uint(&b.j, "sessions_total", n);
	json_obj_close(&b.j);
	if (n == 0) {
		fb_free(&b);
		return 0;
	}
	fb_port(&b, o, (uint16_t)r->srv_port);
	fb_pid(&b, o, v->pid);
	sb_printf(&b.sum, "%" PRIu32 " established session%s of pid %ld to server %s/%s (%s),"
		  " DOWN for %" PRId64 " s", n, n == 1 ? "" : "s", (long)v->pid, r->pxname,
		  r->svname, name, down_s);
	snprintf(subject, sizeof(subject), "server:%s/%s", r->pxname, r->svname);
	return fb_emit(&b, o, out, DK_SESSION_ON_DOWN_SERVER, DS_WARNING, subject, v->pid,
		       (uint16_t)r->srv_port, (double)n);
}

int detect_session_on_down_server(const struct snapshot *cur, const struct detect_stats *st,
				  const struct detect_opts *o, struct finding_list *out)
{
	size_t i, k;

	if (!cur)
		return 0;
	for (i = 0; i < detect_stats_view_count(st); i++) {
		const struct stats_view *v = &st->cur[i];

		for (k = 0; k < v->len; k++)
			if (stats_row_is_down(&v->rows[k]) &&
			    detect_down_one(cur, v, &v->rows[k], o, out) == -1)
				return -1;
	}
	return 0;
}

/* ---- server_queue_starvation ---- */

static const struct stats_view *detect_prev_view(const struct detect_stats *st, pid_t pid)
{
	size_t i;

	for (i = 0; i < st->nprev; i++)
		if (st->prev[i].pid == pid)
			return &st->prev[i];
	return NULL;
}

static const char *detect_eff_src_name(enum stats_eff_src s)
{
	switch (s) {
	case SE_REPORTED: return "reported";
	case SE_COMPUTED: return "computed";
	case SE_UNLIMITED: return "unlimited";
	case SE_NONE: break;
	}
	return "unknown";
}

/* The requests waiting for server r: its own queue, or, when it is full at
 * its effective limit, the backend's queue (requests not bound to a server
 * wait there, as HAProxy queues them). */
static int64_t detect_srv_queued(const struct stats_row *r, const struct stats_row *be)
{
	if (r->qcur > 0)
		return r->qcur;
	if (be && be->qcur > 0 && r->scur >= 0 && r->eff_maxconn >= 0 &&
	    r->scur >= r->eff_maxconn)
		return be->qcur;
	return 0;
}

int detect_server_queue_starvation(const struct detect_stats *st, const struct detect_opts *o,
				   struct finding_list *out)
{
	uint32_t pct = detect_opt(o->starve_pct, DETECT_STARVE_PCT);
	size_t i, k;

	for (i = 0; i < detect_stats_view_count(st); i++) {
		const struct stats_view *v = &st->cur[i];
		const struct stats_view *pv = detect_prev_view(st, v->pid);

		for (k = 0; k < v->len; k++) {
			const struct stats_row *r = &v->rows[k], *pr, *be, *pbe;
			int64_t q, pq;
			char subject[160];
			struct fbuild b;

			if (r->type != ST_SERVER || r->slim <= 0 ||
			    (r->eff_src != SE_REPORTED && r->eff_src != SE_COMPUTED) ||
			    r->eff_maxconn < 0 ||
			    (uint64_t)r->eff_maxconn * 100 >= (uint64_t)r->slim * pct)
				continue;
			be = stats_backend_row(v, r->pxname);
			q = detect_srv_queued(r, be);
			if (q <= 0)
				continue;
			pr = pv ? stats_find(pv, r->pxname, r->svname) : NULL;
			pbe = pv ? stats_backend_row(pv, r->pxname) : NULL;
			pq = pr ? detect_srv_queued(pr, pbe) : 0;
			if (pq <= 0 || q < pq)
				continue;
			fb_init(&b);
			fb_pid(&b, o, v->pid);
			sb_printf(&b.sum, "server %s/%s of pid %ld: %" PRId64 " requests queued (was %"
				  PRId64 ") while its effective maxconn is %" PRId64 " of a configured %"
				  PRId64 " (%" PRId64 " sessions)", r->pxname, r->svname,
				  (long)v->pid, q, pq, r->eff_maxconn, r->slim, r->scur);
			sb_printf(&b.det, "minconn %" PRId64 ", maxconn %" PRId64 ", fullconn %" PRId64
				  ", backend sessions %" PRId64 ": the dynamic limit is max(minconn,"
				  " maxconn * backend sessions / fullconn) until the backend reaches"
				  " fullconn\n", r->minconn, r->slim, r->fullconn, be ? be->scur : -1);
			json_obj_open(&b.j, NULL);
			json_str(&b.j, "backend", r->pxname);
			json_str(&b.j, "server", r->svname);
			detect_ev_view(&b.j, v);
			json_int(&b.j, "queued", q);
			json_int(&b.j, "queued_prev", pq);
			json_int(&b.j, "qcur", r->qcur);
			json_int(&b.j, "qmax", r->qmax);
			json_int(&b.j, "backend_qcur", be ? be->qcur : -1);
			json_int(&b.j, "scur", r->scur);
			json_int(&b.j, "eff_maxconn", r->eff_maxconn);
			json_str(&b.j, "eff_maxconn_source", detect_eff_src_name(r->eff_src));
			json_int(&b.j, "maxconn", r->slim);
			json_int(&b.j, "minconn", r->minconn);
			json_int(&b.j, "fullconn", r->fullconn);
			json_int(&b.j, "backend_scur", be ? be->scur : -1);
			json_obj_close(&b.j);
			snprintf(subject, sizeof(subject), "server:%s/%s", r->pxname, r->svname);
			if (fb_emit(&b, o, out, DK_SERVER_QUEUE_STARVATION,
				    q >= r->slim ? DS_CRITICAL : DS_WARNING, subject, v->pid, 0,
				    (double)q) == -1)
				return -1;
		}
	}
	return 0;
}

/* ---- maxconn_saturation ---- */

static int detect_sat_emit(const struct stats_view *v, const char *what, const char *subject,
			   int64_t cur, int64_t max, const struct detect_opts *o,
			   struct finding_list *out)
{
	struct fbuild b;

	fb_init(&b);
	fb_pid(&b, o, v->pid);
	sb_printf(&b.sum, "%s of pid %ld: %" PRId64 " current connections of a maxconn of %"
		  PRId64 " (%" PRId64 "%%)", what, (long)v->pid, cur, max, cur * 100 / max);
	json_obj_open(&b.j, NULL);
	json_str(&b.j, "what", what);
	detect_ev_view(&b.j, v);
	json_int(&b.j, "current", cur);
	json_int(&b.j, "maxconn", max);
	json_obj_close(&b.j);
	return fb_emit(&b, o, out, DK_MAXCONN_SATURATION, cur >= max ? DS_CRITICAL : DS_WARNING,
		       subject, v->pid, 0, (double)cur);
}

int detect_maxconn_saturation(const struct detect_stats *st, const struct detect_opts *o,
			      struct finding_list *out)
{
	uint32_t pct = detect_opt(o->maxconn_pct, DETECT_MAXCONN_PCT);
	size_t i, k;

	for (i = 0; i < detect_stats_view_count(st); i++) {
		const struct stats_view *v = &st->cur[i];
		char subject[96], what[96];

		if (v->have_info && v->info_maxconn > 0 && v->info_curconns >= 0 &&
		    (uint64_t)v->info_curconns * 100 >= (uint64_t)v->info_maxconn * pct) {
			snprintf(subject, sizeof(subject), "pid:%ld", (long)v->pid);
			if (detect_sat_emit(v, "process", subject, v->info_curconns,
					    v->info_maxconn, o, out) == -1)
				return -1;
		}
		for (k = 0; k < v->len; k++) {
			const struct stats_row *r = &v->rows[k];

			if (r->type != ST_FRONTEND || r->slim <= 0 || r->scur < 0 ||
			    (uint64_t)r->scur * 100 < (uint64_t)r->slim * pct)
				continue;
			snprintf(subject, sizeof(subject), "frontend:%s", r->pxname);
			snprintf(what, sizeof(what), "frontend %s", r->pxname);
			if (detect_sat_emit(v, what, subject, r->scur, r->slim, o, out) == -1)
				return -1;
		}
	}
	return 0;
}

int detect_run_stats(const struct snapshot *cur, const struct detect_stats *st,
		     const struct detect_opts *o, struct finding_list *out)
{
	if (detect_session_on_down_server(cur, st, o, out) == -1 ||
	    detect_server_queue_starvation(st, o, out) == -1 ||
	    detect_maxconn_saturation(st, o, out) == -1)
		return -1;
	return 0;
}

/* ---- lossy_peer ---- */

struct detect_peer_key {
	uint8_t family;
	uint8_t addr[16];
	uint32_t idx;          /* socket index */
};

static int detect_peer_key_cmp(const void *a, const void *b)
{
	const struct detect_peer_key *x = a, *y = b;
	int c = (int)x->family - (int)y->family;

	if (c)
		return c;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int detect_sock_lossy(const struct sd_sock *s, uint32_t min_rto)
{
	if (!s->has_info)
		return 0;
	if (s->info.retransmits >= min_rto)
		return 1;
	/* A FIN not acknowledged and being retransmitted. */
	return s->state == SD_FIN_WAIT1 && s->info.unacked > 0 && s->info.retransmits >= 1;
}

static int detect_lossy_emit(const struct snapshot *cur, const struct detect_opts *o,
			     const struct detect_peer_key *k, size_t n, uint32_t min_rto,
			     struct finding_list *out)
{
	uint32_t lossy = 0, fw1 = 0, total_retrans = 0, max_rto = 0, max_backoff = 0, unacked = 0;
	uint32_t rtt_max = 0;
	char peer[64], subject[96];
	struct fbuild b;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct sd_sock *s = &cur->socks.socks[k[i].idx];

		if (!detect_sock_lossy(s, min_rto))
			continue;
		lossy++;
		if (s->state == SD_FIN_WAIT1)
			fw1++;
		total_retrans += s->info.total_retrans;
		unacked += s->info.unacked;
		if (s->info.retransmits > max_rto)
			max_rto = s->info.retransmits;
		if (s->info.backoff > max_backoff)
			max_backoff = s->info.backoff;
		if (s->info.rtt_us > rtt_max)
			rtt_max = s->info.rtt_us;
	}
	if (lossy < detect_opt(o->lossy_min, DETECT_LOSSY_MIN))
		return 0;
	fb_init(&b);
	for (i = 0; i < n; i++) {
		const struct sd_sock *s = &cur->socks.socks[k[i].idx];
		const struct pm_owner *ow = s->ino ? pm_owners_find(&cur->owners, s->ino) : NULL;

		fb_port(&b, o, s->lport);
		if (ow)
			fb_pid(&b, o, ow->pid);
	}
	inet_ntop(k->family, k->addr, peer, sizeof(peer));
	snprintf(subject, sizeof(subject), "peer:%s", peer);
	sb_printf(&b.sum, "peer %s: %" PRIu32 " of %zu sockets retransmitting (%" PRIu32
		  " FIN_WAIT1 with an unacknowledged FIN), up to %" PRIu32 " consecutive RTOs",
		  peer, lossy, n, fw1, max_rto);
	sb_printf(&b.det, "total retransmissions of those sockets: %" PRIu32 ", unacked segments %"
		  PRIu32 ", max backoff %" PRIu32 ", max rtt %" PRIu32 " us\n", total_retrans,
		  unacked, max_backoff, rtt_max);
	json_obj_open(&b.j, NULL);
	json_str(&b.j, "peer", peer);
	json_uint(&b.j, "sockets", n);
	json_uint(&b.j, "lossy_sockets", lossy);
	json_uint(&b.j, "fin_wait1_unacked", fw1);
	json_uint(&b.j, "total_retrans", total_retrans);
	json_uint(&b.j, "unacked", unacked);
	json_uint(&b.j, "max_retransmits", max_rto);
	json_uint(&b.j, "max_backoff", max_backoff);
	json_uint(&b.j, "max_rtt_us", rtt_max);
	json_obj_close(&b.j);
	return fb_emit(&b, o, out, DK_LOSSY_PEER, lossy * 2 >= n ? DS_CRITICAL : DS_WARNING,
		       subject, 0, 0, (double)lossy);
}

int detect_lossy_peer(const struct snapshot *prev, const struct snapshot *cur,
		      const struct detect_opts *o, struct finding_list *out)
{
	uint32_t min_rto = detect_opt(o->lossy_retrans, DETECT_LOSSY_RETRANS);
	struct detect_peer_key *keys;
	size_t i, n = 0, start;
	int any = 0, rc = -1;

	(void)prev;
	for (i = 0; i < cur->socks.len && !any; i++)
		any = detect_sock_lossy(&cur->socks.socks[i], min_rto);
	if (!any)
		return 0;
	keys = malloc(cur->socks.len * sizeof(*keys));
	if (!keys) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < cur->socks.len; i++) {
		const struct sd_sock *s = &cur->socks.socks[i];

		if (s->state == SD_LISTEN || !s->has_info)
			continue;
		keys[n].family = s->family;
		memcpy(keys[n].addr, s->raddr, 16);
		keys[n].idx = (uint32_t)i;
		n++;
	}
	qsort(keys, n, sizeof(*keys), detect_peer_key_cmp);
	for (start = 0; start < n;) {
		size_t end = start + 1;

		while (end < n && keys[end].family == keys[start].family &&
		       memcmp(keys[end].addr, keys[start].addr, 16) == 0)
			end++;
		if (detect_lossy_emit(cur, o, &keys[start], end - start, min_rto, out) == -1)
			goto out;
		start = end;
	}
	rc = 0;
out:
	free(keys);
	return rc;
}

/* ---- config_lint ---- */

int detect_config_lint(const struct cfg_diag *d, const struct detect_opts *o,
		       struct finding_list *out)
{
	size_t i;

	for (i = 0; i < d->nmsgs; i++) {
		const struct cfg_msg *m = &d->msgs[i];
		char needle[24], subject[96], file[80];
		const char *at = NULL;
		struct fbuild b;
		size_t fl;

		if (m->sev != CFG_SEV_WARNING || !m->text)
			continue;
		if (m->line > 0) {
			snprintf(needle, sizeof(needle), ":%d:", m->line);
			at = strstr(m->text, needle);
		}
		if (!at)
			at = strchr(m->text, ':');
		fl = at ? (size_t)(at - m->text) : strlen(m->text);
		if (fl >= sizeof(file))
			fl = sizeof(file) - 1;
		memcpy(file, m->text, fl);
		file[fl] = '\0';
		snprintf(subject, sizeof(subject), "cfg:%s:%d", file, m->line);
		fb_init(&b);
		b.port_ok = 1;
		b.pid_ok = 1;
		sb_puts(&b.sum, m->text);
		json_obj_open(&b.j, NULL);
		json_str(&b.j, "file", file);
		json_int(&b.j, "line", m->line);
		json_str(&b.j, "warning", m->text);
		json_obj_close(&b.j);
		if (fb_emit(&b, o, out, DK_CONFIG_LINT, DS_WARNING, subject, 0, 0, 1.0) == -1)
			return -1;
	}
	return 0;
}
