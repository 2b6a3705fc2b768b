#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
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
#include "proxyd/cfg-t.h"
#include "supervisor/detect.h"
#include "supervisor/statsrc.h"

#define T0 1800000000000ull /* "now" of the synthetic snapshots, epoch ms */
#define MIN_MS 60000ull
#define HOUR_MS 3600000ull

/* ---- a tiny JSON validator ---- */

static const char *js_value(const char *p, int depth);

static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *js_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *js_number(const char *p)
{
	const char *s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		s = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		s = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	return p;
}

static const char *js_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = js_ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		int obj = *p == '{';

		p = js_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = js_string(js_ws(p));
				if (!p)
					return NULL;
				p = js_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = js_value(p, depth + 1);
			if (!p)
				return NULL;
			p = js_ws(p);
			if (*p == ',') {
				p++;
				continue;
			}
			return *p == close ? p + 1 : NULL;
		}
	}
	if (*p == '"')
		return js_string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	return js_number(p);
}

static int json_valid_object(const char *s)
{
	const char *e;

	if (!s || *js_ws(s) != '{')
		return 0;
	e = js_value(s, 0);
	return e && *js_ws(e) == '\0';
}

static void test_detect_json_validator_self_check(void **state)
{
	(void)state;
	assert_true(json_valid_object("{}"));
	assert_true(json_valid_object("{\"a\":[1,-2.5e3,\"x\\n\",true,null,{\"b\":{}}]}"));
	assert_false(json_valid_object("{\"a\":1,}"));
	assert_false(json_valid_object("{\"a\" 1}"));
	assert_false(json_valid_object("{\"a\":[1,2}"));
	assert_false(json_valid_object("{\"a\":01}"));
	assert_false(json_valid_object("{\"a\":\"\x01\"}"));
	assert_false(json_valid_object("{} x"));
	assert_false(json_valid_object("[1]"));
}

/* ---- synthetic snapshots ---- */

static void snap_init(struct snapshot *s, uint64_t t_real)
{
	memset(s, 0, sizeof(*s));
	s->t_real_ms = t_real;
	s->t_mono_ms = t_real - T0 + 1000000;
	s->have_owners = 1;
	s->kernel.have_counters = 1;
	/* The defaults of a current kernel. */
	s->kernel.sysctls.somaxconn = 4096;
	s->kernel.sysctls.tcp_max_syn_backlog = 1024;
	s->kernel.sysctls.tcp_fin_timeout = 60;
	s->kernel.sysctls.tcp_orphan_retries = 0;
	s->kernel.sysctls.tcp_max_orphans = 65536;
	s->kernel.sysctls.tcp_migrate_req = 0;
	s->kernel.sysctls.tcp_abort_on_overflow = 0;
	s->kernel.sysctls.tcp_keepalive_time = 7200;
	s->kernel.sysctls.port_range_lo = 32768;
	s->kernel.sysctls.port_range_hi = 60999;
}

static struct sd_sock *sock(struct snapshot *s, unsigned st, const char *laddr, uint16_t lport,
			    uint16_t rport, uint32_t ino)
{
	struct sd_sock *k = sd_table_push(&s->socks);

	assert_non_null(k);
	k->family = strchr(laddr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(k->family, laddr, k->laddr), 1);
	k->state = (uint8_t)st;
	k->lport = lport;
	k->rport = rport;
	k->ino = ino;
	return k;
}

static void own(struct snapshot *s, uint32_t ino, pid_t pid)
{
	struct pm_owners *o = &s->owners;

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

static struct pm_proc *proc(struct snapshot *s, pid_t pid, pid_t ppid, const char *comm,
			    const char *exe, uint64_t start_ms, char st)
{
	struct pm_procs *p = &s->procs;
	struct pm_proc *r;

	if (p->len == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		struct pm_proc *v = realloc(p->v, ncap * sizeof(*v));

		assert_non_null(v);
		p->v = v;
		p->cap = ncap;
	}
	r = &p->v[p->len++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->ppid = ppid;
	r->uid = 99;
	r->state = st;
	r->start_ms = start_ms;
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	snprintf(r->exe, sizeof(r->exe), "%s", exe ? exe : "");
	r->exe_denied = exe == NULL;
	snprintf(r->cmdline, sizeof(r->cmdline), "%s -f /etc/%s.cfg", comm, comm);
	return r;
}

/* A listening socket with its accept queue and one owner (0: none seen). */
static void lsock(struct snapshot *s, const char *addr, uint16_t port, uint32_t ino,
		  uint32_t rq, uint32_t wq, pid_t pid)
{
	struct sd_sock *k = sock(s, SD_LISTEN, addr, port, 0, ino);

	k->rqueue = rq;
	k->wqueue = wq;
	if (pid)
		own(s, ino, pid);
}

/* n sockets in state st owned by pid (0: none), local port lport or, when
 * lport is 0, one ephemeral port each; inodes from *ino on (0 stays 0). */
static void conns(struct snapshot *s, unsigned st, uint16_t lport, unsigned n, pid_t pid,
		  uint32_t *ino, uint32_t idle_ms)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct sd_sock *k = sock(s, st, "10.0.0.1", lport ? lport : (uint16_t)(40000 + i),
					 lport ? (uint16_t)(50000 + i) : 8080, *ino ? *ino : 0);

		if (!lport)
			assert_int_equal(inet_pton(AF_INET, "10.0.0.9", k->raddr), 1);
		if (idle_ms) {
			k->has_info = 1;
			k->info.last_data_recv = idle_ms;
			k->info.last_data_sent = idle_ms + 10;
			k->info.last_ack_recv = idle_ms + 20;
		}
		if (*ino) {
			if (pid)
				own(s, *ino, pid);
			(*ino)++;
		}
	}
}

static void group(struct snapshot *s)
{
	assert_int_equal(snapshot_group(s), 0);
}

static size_t count_kind(const struct finding_list *l, enum detect_kind k)
{
	size_t i, n = 0;

	for (i = 0; i < l->len; i++)
		if (l->v[i].kind == k)
			n++;
	return n;
}

static const struct finding *find(const struct finding_list *l, enum detect_kind k,
				  const char *subject)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		if (l->v[i].kind == k && strcmp(l->v[i].subject, subject) == 0)
			return &l->v[i];
	return NULL;
}

/* Every finding is well formed: one-line summary, detail lines ending in a
 * newline, evidence a valid JSON object. */
static void check_findings(const struct finding_list *l)
{
	size_t i;

	for (i = 0; i < l->len; i++) {
		const struct finding *f = &l->v[i];
		size_t dl;

		assert_non_null(f->summary);
		assert_true(f->summary[0] != '\0');
		assert_null(strchr(f->summary, '\n'));
		assert_non_null(f->detail);
		dl = strlen(f->detail);
		if (dl)
			assert_int_equal(f->detail[dl - 1], '\n');
		if (!json_valid_object(f->evidence))
			fail_msg("invalid evidence JSON: %s", f->evidence);
		assert_true(f->subject[0] != '\0');
	}
}

static int has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

static const struct detect_opts no_opts;

/* ---- names ---- */

static void test_detect_kind_name_stable(void **state)
{
	static const char *const want[DK_NKINDS] = {
		"duplicate_listener", "accept_backlog", "stale_generation",
		"half_close_buildup", "session_on_down_server", "server_queue_starvation",
		"maxconn_saturation", "lossy_peer", "kernel_tuning", "config_lint",
		"reload_failed", "generation_crash",
	};
	int k;

	(void)state;
	for (k = 0; k < DK_NKINDS; k++)
		assert_string_equal(detect_kind_name((enum detect_kind)k), want[k]);
	assert_string_equal(detect_kind_name(DK_NKINDS), "unknown");
	assert_string_equal(detect_severity_name(DS_INFO), "info");
	assert_string_equal(detect_severity_name(DS_WARNING), "warning");
	assert_string_equal(detect_severity_name(DS_CRITICAL), "critical");
}

/* ---- duplicate_listener ---- */

static void test_detect_duplicate_listener_reuseport_one_process(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	uint32_t i;

	(void)state;
	snap_init(&s, T0);
	proc(&s, 100, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, 'S');
	for (i = 0; i < 4; i++)
		lsock(&s, "0.0.0.0", 80, 10 + i, 0, 4096, 100);
	group(&s);
	assert_int_equal(detect_duplicate_listener(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_duplicate_listener_master_and_workers(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	uint32_t i;

	(void)state;
	snap_init(&s, T0);
	/* The master holds every socket, each worker inherited them all. */
	proc(&s, 200, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	for (i = 0; i < 3; i++)
		proc(&s, (pid_t)(201 + i), 200, "haproxy", "/usr/sbin/haproxy",
		     T0 - HOUR_MS + 5 * MIN_MS, 'S');
	for (i = 0; i < 2; i++) {
		pid_t w;

		lsock(&s, "0.0.0.0", 80, 20 + i, 0, 4096, 200);
		for (w = 201; w <= 203; w++)
			own(&s, 20 + i, w);
	}
	group(&s);
	assert_int_equal(detect_duplicate_listener(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_duplicate_listener_nginx_sibling_workers(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	uint32_t i;

	(void)state;
	snap_init(&s, T0);
	/* nginx "reuseport": one socket per worker; the master's copies are
	 * not visible here, the workers are siblings started 10 ms apart. */
	proc(&s, 300, 1, "nginx", "/usr/sbin/nginx", T0 - HOUR_MS, 'S');
	for (i = 0; i < 4; i++) {
		proc(&s, (pid_t)(301 + i), 300, "nginx", "/usr/sbin/nginx",
		     T0 - HOUR_MS + 100 + 10 * i, 'S');
		lsock(&s, "::", 443, 30 + i, 0, 511, (pid_t)(301 + i));
	}
	group(&s);
	assert_int_equal(detect_duplicate_listener(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);

	/* Siblings started further apart than the window are not one group. */
	s.procs.v[4].start_ms += 5000;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	assert_int_equal((int)l.v[0].value, 2);
	check_findings(&l);
	finding_list_free(&l);
	/* ... unless the window is widened. */
	{
		struct detect_opts o = { .group_window_ms = 10000 };

		assert_int_equal(detect_duplicate_listener(NULL, &s, &o, &l), 0);
		assert_int_equal(l.len, 0);
	}
	finding_list_free(&l);
	snapshot_free(&s);
}

/* Two haproxy generations an hour apart, each with its own socket on :80. */
static void build_two_generations(struct snapshot *s, uint64_t t, uint32_t q_old, char st_old,
				  uint32_t q_new)
{
	snap_init(s, t);
	proc(s, 400, 1, "haproxy", "/usr/sbin/haproxy", T0 - 2 * HOUR_MS, st_old);
	proc(s, 410, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	lsock(s, "0.0.0.0", 80, 40, q_old, 4096, 400);
	lsock(s, "0.0.0.0", 80, 41, q_new, 4096, 410);
	group(s);
}

static void test_detect_duplicate_listener_two_generations(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	const struct finding *f;

	(void)state;
	build_two_generations(&s, T0, 0, 'S', 0);
	assert_int_equal(detect_duplicate_listener(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	f = find(&l, DK_DUPLICATE_LISTENER, "tcp:0.0.0.0:80");
	assert_non_null(f);
	assert_int_equal(f->severity, DS_WARNING);
	assert_int_equal(f->pid, 400); /* the one started first */
	assert_int_equal(f->port, 80);
	assert_int_equal((int)f->value, 2);
	assert_true(has(f->evidence, "\"groups\":2"));
	assert_true(has(f->evidence, "\"inode\":40"));
	assert_true(has(f->evidence, "\"inode\":41"));
	assert_true(has(f->evidence, "\"pid\":400,\"ppid\":1,\"uid\":99,\"comm\":\"haproxy\","
			"\"exe\":\"/usr/sbin/haproxy\",\"cmdline\":\"haproxy -f /etc/haproxy.cfg\""));
	assert_true(has(f->evidence, "\"start\":\"2027-01-15T06:00:00.000Z\""));
	assert_true(has(f->evidence, "\"state\":\"S\""));
	assert_true(has(f->detail, "pid 410 (haproxy)"));
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_duplicate_listener_two_programs(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };

	(void)state;
	/* Same parent, same moment, different executables: not siblings. */
	snap_init(&s, T0);
	proc(&s, 500, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	proc(&s, 501, 1, "nginx", "/usr/sbin/nginx", T0 - HOUR_MS + 10, 'S');
	lsock(&s, "::", 80, 50, 0, 4096, 500);
	lsock(&s, "::", 80, 51, 0, 4096, 501);
	group(&s);
	assert_int_equal(detect_duplicate_listener(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	assert_non_null(find(&l, DK_DUPLICATE_LISTENER, "tcp:[::]:80"));
	check_findings(&l);
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_duplicate_listener_stuck_owner_critical(void **state)
{
	struct snapshot prev, cur;
	struct finding_list l = { 0 };
	const struct finding *f;

	(void)state;
	/* Incident 5: the old generation is stopped and its queue grows. */
	build_two_generations(&prev, T0 - 1000, 3000, 'T', 0);
	build_two_generations(&cur, T0, 3285, 'T', 0);
	assert_int_equal(detect_duplicate_listener(&prev, &cur, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	f = &l.v[0];
	assert_int_equal(f->severity, DS_CRITICAL);
	assert_int_equal(f->pid, 400);
	assert_true(has(f->summary, "one owner is not accepting"));
	assert_true(has(f->summary, "3285/4096"));
	assert_true(has(f->evidence, "\"queue\":3285,\"backlog\":4096,\"queue_prev\":3000"));
	assert_true(has(f->evidence, "\"state\":\"T\",\"state_name\":\"stopped\""));
	finding_list_free(&l);

	/* Both stuck: not "one of them", a warning (accept_backlog says more). */
	snapshot_free(&cur);
	build_two_generations(&cur, T0, 3285, 'T', 10);
	cur.lsocks[1].rqueue = 4000;
	assert_int_equal(detect_duplicate_listener(&prev, &cur, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	assert_int_equal(l.v[0].severity, DS_WARNING);
	finding_list_free(&l);
	snapshot_free(&cur);
	snapshot_free(&prev);
}

static void test_detect_duplicate_listener_owner_not_visible(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };

	(void)state;
	snap_init(&s, T0);
	proc(&s, 600, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, 'S');
	lsock(&s, "127.0.0.1", 8080, 60, 0, 128, 600);
	lsock(&s, "127.0.0.1", 8080, 61, 0, 128, 0);
	lsock(&s, "127.0.0.1", 8080, 62, 0, 128, 0);
	group(&s);
	assert_int_equal(detect_duplicate_listener(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_int_equal((int)l.v[0].value, 3);
	assert_true(has(l.v[0].evidence, "\"owners\":[],\"owner\":\"not visible (needs root)\""));
	assert_true(has(l.v[0].detail, "owner not visible (needs root)"));
	assert_int_equal(l.v[0].severity, DS_WARNING);
	finding_list_free(&l);

	/* The socket nobody is seen to own fills up: critical, and no pid is
	 * blamed for it. */
	s.lsocks[1].rqueue = 120;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_int_equal(l.v[0].severity, DS_CRITICAL);
	assert_int_equal(l.v[0].pid, 0);
	assert_true(has(l.v[0].summary, "one owner is not accepting: owner not visible, ino 61"));
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_duplicate_listener_allow_list(void **state)
{
	static const char *const port_only[] = { ":80" };
	static const char *const addr_port[] = { "0.0.0.0:80" };
	static const char *const by_name[] = { "haproxy" };
	static const char *const other_name[] = { "nginx" };
	static const char *const other_addr[] = { "127.0.0.1:80" };
	static const char *const other_port[] = { ":8080", "[::]:80" };
	struct detect_opts o = { 0 };
	struct snapshot s;
	struct finding_list l = { 0 };

	(void)state;
	build_two_generations(&s, T0, 0, 'S', 0);
	o.allow = port_only;
	o.nallow = 1;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);
	o.allow = addr_port;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);
	o.allow = by_name;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);

	o.allow = other_name;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	finding_list_free(&l);
	o.allow = other_addr;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	finding_list_free(&l);
	o.allow = other_port;
	o.nallow = 2;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	finding_list_free(&l);
	snapshot_free(&s);

	/* A name does not cover a socket whose owner is not visible. */
	snap_init(&s, T0);
	proc(&s, 400, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	lsock(&s, "0.0.0.0", 80, 40, 0, 4096, 400);
	lsock(&s, "0.0.0.0", 80, 41, 0, 4096, 0);
	group(&s);
	o.allow = by_name;
	o.nallow = 1;
	assert_int_equal(detect_duplicate_listener(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	finding_list_free(&l);
	snapshot_free(&s);
}

/* ---- accept_backlog ---- */

static void build_listener(struct snapshot *s, uint64_t t, uint32_t rq, uint32_t wq, char st,
			   uint64_t overflows)
{
	snap_init(s, t);
	proc(s, 700, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, st);
	lsock(s, "0.0.0.0", 8443, 70, rq, wq, 700);
	s->kernel.counters.listen_overflows = overflows;
	s->kernel.counters.listen_drops = overflows + 5;
	group(s);
}

static void test_detect_accept_backlog_near_backlog(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	const struct finding *f;

	(void)state;
	build_listener(&s, T0, 90, 100, 'S', 0);
	assert_int_equal(detect_accept_backlog(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	f = find(&l, DK_ACCEPT_BACKLOG, "tcp:0.0.0.0:8443:ino:70");
	assert_non_null(f);
	assert_int_equal(f->severity, DS_WARNING);
	assert_int_equal(f->pid, 700);
	assert_int_equal((int)f->value, 90);
	assert_true(has(f->evidence, "\"rules\":[\"near_backlog\"]"));
	assert_true(has(f->evidence, "\"listen_overflows_delta\":null"));
	assert_true(has(f->evidence, "\"counters_scope\":\"namespace\""));
	finding_list_free(&l);
	snapshot_free(&s);

	/* 79 % is below the default 80 %; a custom threshold catches it. */
	build_listener(&s, T0, 79, 100, 'S', 0);
	assert_int_equal(detect_accept_backlog(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	{
		struct detect_opts o = { .backlog_pct = 50 };

		assert_int_equal(detect_accept_backlog(NULL, &s, &o, &l), 0);
		assert_int_equal(l.len, 1);
	}
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_accept_backlog_growing(void **state)
{
	static const struct { uint32_t prev, cur; int fires; } cases[] = {
		{ 3, 6, 1 },   /* non-empty twice and larger */
		{ 1, 2, 1 },
		{ 0, 1, 0 },   /* one connection racing accept() */
		{ 0, 5, 0 },   /* first seen non-empty */
		{ 1, 1, 0 },   /* not growing */
		{ 6, 3, 0 },   /* draining */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snapshot prev, cur;
		struct finding_list l = { 0 };

		build_listener(&prev, T0 - 1000, cases[i].prev, 4096, 'S', 10);
		build_listener(&cur, T0, cases[i].cur, 4096, 'S', 10);
		assert_int_equal(detect_accept_backlog(&prev, &cur, &no_opts, &l), 0);
		if ((int)l.len != cases[i].fires)
			fail_msg("case %zu: %u -> %u: %zu findings", i, cases[i].prev, cases[i].cur,
				 l.len);
		check_findings(&l);
		if (l.len) {
			assert_int_equal(l.v[0].severity, DS_WARNING);
			assert_true(has(l.v[0].evidence, "\"growing\""));
			assert_true(has(l.v[0].evidence, "\"listen_overflows_delta\":0"));
			assert_true(has(l.v[0].evidence, "\"interval_ms\":1000"));
		}
		finding_list_free(&l);
		snapshot_free(&cur);
		snapshot_free(&prev);
	}
}

static void test_detect_accept_backlog_full_or_overflow_critical(void **state)
{
	struct snapshot prev, cur;
	struct finding_list l = { 0 };

	(void)state;
	/* Full. */
	build_listener(&cur, T0, 128, 128, 'S', 0);
	assert_int_equal(detect_accept_backlog(NULL, &cur, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	assert_int_equal(l.v[0].severity, DS_CRITICAL);
	assert_true(has(l.v[0].summary, "full"));
	finding_list_free(&l);
	snapshot_free(&cur);

	/* Growing while ListenOverflows rose. */
	build_listener(&prev, T0 - 1000, 4, 4096, 'S', 100);
	build_listener(&cur, T0, 9, 4096, 'S', 117);
	assert_int_equal(detect_accept_backlog(&prev, &cur, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_int_equal(l.v[0].severity, DS_CRITICAL);
	assert_true(has(l.v[0].evidence, "\"listen_overflows_delta\":17,\"listen_drops_delta\":17"));
	assert_true(has(l.v[0].summary, "ListenOverflows +17"));
	finding_list_free(&l);
	snapshot_free(&cur);
	snapshot_free(&prev);

	/* Overflows alone, no queue: one namespace-wide warning. */
	build_listener(&prev, T0 - 1000, 0, 4096, 'S', 100);
	build_listener(&cur, T0, 0, 4096, 'S', 103);
	assert_int_equal(detect_accept_backlog(&prev, &cur, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_non_null(find(&l, DK_ACCEPT_BACKLOG, "tcp:listen_overflows"));
	assert_int_equal(l.v[0].severity, DS_WARNING);
	assert_int_equal((int)l.v[0].value, 3);
	finding_list_free(&l);
	/* ... and nothing when the counters did not move. */
	assert_int_equal(detect_accept_backlog(&prev, &prev, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&cur);
	snapshot_free(&prev);
}

static void test_detect_accept_backlog_stopped_owner(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };

	(void)state;
	build_listener(&s, T0, 2, 4096, 'T', 0);
	assert_int_equal(detect_accept_backlog(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_true(has(l.v[0].evidence, "\"rules\":[\"owner_stopped\"]"));
	assert_true(has(l.v[0].summary, "is stopped"));
	finding_list_free(&l);
	snapshot_free(&s);

	/* A running owner with the same small queue: nothing. */
	build_listener(&s, T0, 2, 4096, 'S', 0);
	assert_int_equal(detect_accept_backlog(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&s);
}

/* ---- half_close_buildup ---- */

/* pid 800 listens on :8686; n FIN_WAIT2 client side, n CLOSE_WAIT outgoing. */
static void build_half_close(struct snapshot *s, unsigned n, uint32_t idle)
{
	uint32_t ino = 1000;

	snap_init(s, T0);
	proc(s, 800, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	lsock(s, "0.0.0.0", 8686, 80, 0, 4096, 800);
	conns(s, SD_ESTABLISHED, 8686, 5, 800, &ino, 0);
	conns(s, SD_FIN_WAIT2, 8686, n, 800, &ino, idle);
	conns(s, SD_CLOSE_WAIT, 0, n, 800, &ino, idle);
	group(s);
}

static void test_detect_half_close_pairs(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	const struct finding *f;

	(void)state;
	build_half_close(&s, 50, 5000);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	f = find(&l, DK_HALF_CLOSE_BUILDUP, "pid:800");
	assert_non_null(f);
	assert_int_equal(f->severity, DS_CRITICAL);
	assert_int_equal(f->pid, 800);
	assert_int_equal(f->port, 8686);
	assert_int_equal((int)f->value, 100);
	assert_true(has(f->evidence, "\"possible_pairs\":50"));
	assert_true(has(f->evidence, "\"CLOSE_WAIT\":{\"count\":50,\"oldest_idle_ms\":5000}"));
	assert_true(has(f->evidence, "\"FIN_WAIT2\":{\"count\":50,\"oldest_idle_ms\":5000}"));
	assert_true(has(f->evidence, "\"outgoing\":{\"local_ports\":50"));
	assert_true(has(f->evidence, "\"port\":8686,\"own_listener\":true"));
	assert_true(has(f->evidence, "inferred from counts"));
	assert_true(has(f->evidence, "\"peers\":[{\"peer\":\"10.0.0.9:8080\",\"CLOSE_WAIT\":50}],"
			"\"other_peers_sockets\":0"));
	assert_true(has(f->detail, "  to 10.0.0.9:8080: 50 CLOSE_WAIT\n"));
	assert_true(has(f->summary, "50 possible CLOSE_WAIT<->FIN_WAIT2 pairs"));
	assert_true(has(f->summary, "client-fin"));
	assert_true(has(f->summary, "server-fin"));
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_half_close_peers(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	uint32_t ino = 100;
	unsigned peer, i;

	(void)state;
	/* CLOSE_WAIT towards 10 backends, 1..10 sockets each: the 8 largest are
	 * named, the rest summed. */
	snap_init(&s, T0);
	proc(&s, 850, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, 'S');
	for (peer = 1; peer <= 10; peer++)
		for (i = 0; i < peer; i++) {
			struct sd_sock *k = sock(&s, SD_CLOSE_WAIT, "10.0.0.1",
						 (uint16_t)(30000 + ino), 8080, ino);
			char a[32];

			snprintf(a, sizeof(a), "10.1.0.%u", peer);
			assert_int_equal(inet_pton(AF_INET, a, k->raddr), 1);
			own(&s, ino++, 850);
		}
	group(&s);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_true(has(l.v[0].evidence, "\"peers\":[{\"peer\":\"10.1.0.10:8080\",\"CLOSE_WAIT\":10},"
			"{\"peer\":\"10.1.0.9:8080\",\"CLOSE_WAIT\":9}"));
	assert_true(has(l.v[0].evidence, "{\"peer\":\"10.1.0.3:8080\",\"CLOSE_WAIT\":3}],"
			"\"other_peers_sockets\":3"));
	assert_false(has(l.v[0].evidence, "10.1.0.2:8080"));
	assert_true(has(l.v[0].evidence, "\"possible_pairs\":0"));
	assert_true(has(l.v[0].summary, "CLOSE_WAIT: the peer closed"));
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_half_close_few_silent(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };

	(void)state;
	build_half_close(&s, 3, 1000);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&s);

	/* 3 + 3 = 6 half-closed: reported once the limit is 6. */
	build_half_close(&s, 3, 1000);
	{
		struct detect_opts o = { .half_close_min = 6 };

		assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
		assert_int_equal(l.len, 1);
		assert_int_equal(l.v[0].severity, DS_WARNING);
	}
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_half_close_old_idle(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };

	(void)state;
	/* One pair, but idle for two minutes. */
	build_half_close(&s, 1, 120000);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_int_equal(l.v[0].severity, DS_WARNING);
	assert_true(has(l.v[0].summary, "idle up to 2m00s"));
	assert_true(has(l.v[0].evidence, "\"possible_pairs\":1"));
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_half_close_old_generation_pairs(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	uint32_t ino = 5000;

	(void)state;
	/* pid 810 closed its listener; 811 listens now. 810 still holds the
	 * client side on :80 in FIN_WAIT2 and the server side in CLOSE_WAIT. */
	snap_init(&s, T0);
	proc(&s, 810, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	proc(&s, 811, 1, "haproxy", "/usr/sbin/haproxy", T0 - MIN_MS, 'S');
	lsock(&s, "0.0.0.0", 80, 81, 0, 4096, 811);
	conns(&s, SD_FIN_WAIT2, 80, 20, 810, &ino, 0);
	conns(&s, SD_CLOSE_WAIT, 0, 30, 810, &ino, 0);
	group(&s);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_string_equal(l.v[0].subject, "pid:810");
	assert_true(has(l.v[0].evidence, "\"possible_pairs\":20"));
	assert_true(has(l.v[0].evidence, "\"port\":80,\"own_listener\":false"));
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_half_close_orphans_and_unseen(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	uint32_t ino = 0;

	(void)state;
	snap_init(&s, T0);
	conns(&s, SD_FIN_WAIT2, 80, 12, 0, &ino, 0);
	conns(&s, SD_FIN_WAIT1, 80, 2, 0, &ino, 0);
	group(&s);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_string_equal(l.v[0].subject, "pid:0");
	assert_int_equal(l.v[0].severity, DS_INFO);
	assert_true(has(l.v[0].summary, "14 orphaned"));
	assert_true(has(l.v[0].summary, "tcp_fin_timeout"));
	assert_true(has(l.v[0].evidence, "\"orphaned\":{\"CLOSE_WAIT\":{\"count\":0"));
	finding_list_free(&l);
	snapshot_free(&s);

	/* Sockets with an inode but no visible owner (not root). */
	snap_init(&s, T0);
	ino = 900;
	conns(&s, SD_CLOSE_WAIT, 0, 15, 0, &ino, 0);
	group(&s);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_int_equal(l.v[0].severity, DS_WARNING);
	assert_true(has(l.v[0].summary, "15 with an owner not visible (needs root)"));
	finding_list_free(&l);
	snapshot_free(&s);

	/* CLOSE_WAIT without an inode waits in an accept queue, never accepted:
	 * no orphan, and no finding of its own. */
	snap_init(&s, T0);
	ino = 0;
	conns(&s, SD_CLOSE_WAIT, 80, 30, 0, &ino, 0);
	group(&s);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	conns(&s, SD_FIN_WAIT2, 80, 10, 0, &ino, 0);
	group(&s);
	assert_int_equal(detect_half_close(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_true(has(l.v[0].summary, "10 half-closed sockets"));
	assert_true(has(l.v[0].evidence, "\"unaccepted_close_wait\":30"));
	finding_list_free(&l);
	snapshot_free(&s);
}

/* ---- stale_generation ---- */

/* A -sf chain: ngen haproxy processes started 10 min apart, the newest one
 * listening on :80, each older one still holding connections. */
static void build_chain(struct snapshot *s, unsigned ngen, uint64_t oldest_age)
{
	uint32_t ino = 2000;
	unsigned g;

	snap_init(s, T0);
	for (g = 0; g < ngen; g++) {
		pid_t pid = (pid_t)(900 + g);

		proc(s, pid, 1, "haproxy", "/usr/sbin/haproxy",
		     T0 - oldest_age + g * 10 * MIN_MS, 'S');
		if (g == ngen - 1) {
			lsock(s, "0.0.0.0", 80, 90, 0, 4096, pid);
			conns(s, SD_ESTABLISHED, 80, 4, pid, &ino, 0);
		} else {
			conns(s, SD_ESTABLISHED, 80, 2 + g, pid, &ino, 0);
			conns(s, SD_CLOSE_WAIT, 0, 1, pid, &ino, 0);
		}
	}
	group(s);
}

static void test_detect_stale_generation_sf_chain(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	const struct finding *f;

	(void)state;
	build_chain(&s, 3, 30 * MIN_MS);
	assert_int_equal(detect_stale_generation(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 2);
	check_findings(&l);
	f = find(&l, DK_STALE_GENERATION, "pid:900");
	assert_non_null(f);
	assert_int_equal(f->severity, DS_WARNING);
	assert_int_equal(f->pid, 900);
	assert_int_equal(f->port, 80);
	assert_int_equal((int)f->value, 1800);
	assert_true(has(f->evidence, "\"age_ms\":1800000"));
	assert_true(has(f->evidence, "\"connections\":{\"ESTABLISHED\":2,\"CLOSE_WAIT\":1}"));
	assert_true(has(f->evidence, "\"newer\":{\"pid\":902,"));
	assert_true(has(f->evidence, "\"outgoing\":{\"peers\":[{\"peer\":\"10.0.0.9:8080\","
			"\"CLOSE_WAIT\":1}],\"other_peers_sockets\":0}"));
	assert_true(has(f->detail, "connections: ESTABLISHED 2 CLOSE_WAIT 1\n"
			"  to 10.0.0.9:8080: 1 CLOSE_WAIT\n"));
	assert_true(has(f->evidence, "\"older_generations\":2"));
	assert_true(has(f->summary, "started 20m00s before pid 902"));
	f = find(&l, DK_STALE_GENERATION, "pid:901");
	assert_non_null(f);
	assert_true(has(f->evidence, "\"connections_total\":4"));
	assert_null(find(&l, DK_STALE_GENERATION, "pid:902"));
	finding_list_free(&l);
	snapshot_free(&s);

	/* Older than an hour: critical. */
	build_chain(&s, 3, 2 * HOUR_MS);
	assert_int_equal(detect_stale_generation(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 2);
	assert_int_equal(find(&l, DK_STALE_GENERATION, "pid:900")->severity, DS_CRITICAL);
	assert_int_equal(find(&l, DK_STALE_GENERATION, "pid:901")->severity, DS_CRITICAL);
	finding_list_free(&l);
	snapshot_free(&s);

	/* More than two older generations: critical, even when young. */
	build_chain(&s, 4, 35 * MIN_MS);
	assert_int_equal(detect_stale_generation(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 3);
	assert_int_equal(find(&l, DK_STALE_GENERATION, "pid:902")->severity, DS_CRITICAL);
	finding_list_free(&l);
	snapshot_free(&s);
}

static void test_detect_stale_generation_negatives(void **state)
{
	static const char *const allow[] = { "haproxy" };
	struct detect_opts o = { .allow = allow, .nallow = 1 };
	struct snapshot s;
	struct finding_list l = { 0 };
	uint32_t ino = 3000;

	(void)state;
	snap_init(&s, T0);
	/* The listener owner, started last. */
	proc(&s, 950, 1, "haproxy", "/usr/sbin/haproxy", T0 - MIN_MS, 'S');
	lsock(&s, "0.0.0.0", 80, 95, 0, 4096, 950);
	/* Older, same exe, but no TCP connection. */
	proc(&s, 951, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	lsock(&s, "127.0.0.1", 9999, 96, 0, 16, 951);
	/* Older, different program, with connections. */
	proc(&s, 952, 1, "nginx", "/usr/sbin/nginx", T0 - HOUR_MS, 'S');
	conns(&s, SD_ESTABLISHED, 0, 3, 952, &ino, 0);
	/* Older, same program, still listening on :80 too (a duplicate, not a
	 * drained generation). */
	proc(&s, 953, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	lsock(&s, "0.0.0.0", 80, 97, 0, 4096, 953);
	conns(&s, SD_ESTABLISHED, 80, 3, 953, &ino, 0);
	group(&s);
	assert_int_equal(detect_stale_generation(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&s);

	/* The parent of the listener owner is not an older generation of it. */
	snap_init(&s, T0);
	proc(&s, 960, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	proc(&s, 961, 960, "haproxy", "/usr/sbin/haproxy", T0 - MIN_MS, 'S');
	lsock(&s, "0.0.0.0", 80, 98, 0, 4096, 961);
	conns(&s, SD_ESTABLISHED, 0, 1, 960, &ino, 0);
	group(&s);
	assert_int_equal(detect_stale_generation(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&s);

	/* The allow-list names a program. */
	build_chain(&s, 3, 30 * MIN_MS);
	assert_int_equal(detect_stale_generation(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&s);

	/* An upgraded binary shows " (deleted)" in the old generation's exe. */
	build_chain(&s, 2, 30 * MIN_MS);
	snprintf(s.procs.v[0].exe, sizeof(s.procs.v[0].exe), "/usr/sbin/haproxy (deleted)");
	assert_int_equal(detect_stale_generation(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	finding_list_free(&l);
	/* With the exe unreadable, the comm decides. */
	s.procs.v[0].exe[0] = '\0';
	s.procs.v[0].exe_denied = 1;
	assert_int_equal(detect_stale_generation(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_true(has(l.v[0].evidence, "\"exe\":null"));
	finding_list_free(&l);
	snapshot_free(&s);
}

/* ---- kernel_tuning ---- */

static void test_detect_kernel_tuning_defaults_silent(void **state)
{
	struct snapshot prev, cur;
	struct finding_list l = { 0 };
	uint32_t ino = 0;

	(void)state;
	/* A busy but healthy host on defaults: listeners, connections,
	 * TIME_WAIT, a few orphans in FIN_WAIT2. */
	build_listener(&prev, T0 - 1000, 0, 4096, 'S', 0);
	build_listener(&cur, T0, 3, 4096, 'S', 0);
	conns(&cur, SD_TIME_WAIT, 8443, 40, 0, &ino, 0);
	conns(&cur, SD_FIN_WAIT2, 8443, 3, 0, &ino, 0);
	ino = 7000;
	conns(&cur, SD_ESTABLISHED, 8443, 30, 700, &ino, 0);
	group(&cur);
	assert_int_equal(detect_kernel_tuning(&prev, &cur, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	assert_int_equal(detect_run(&prev, &cur, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&cur);
	snapshot_free(&prev);

	/* Sysctls absent on this kernel (-1): silent too. */
	snap_init(&cur, T0);
	cur.kernel.sysctls.tcp_fin_timeout = -1;
	cur.kernel.sysctls.tcp_orphan_retries = -1;
	cur.kernel.sysctls.somaxconn = -1;
	cur.kernel.sysctls.tcp_migrate_req = -1;
	lsock(&cur, "0.0.0.0", 80, 1, 100, 128, 0);
	lsock(&cur, "0.0.0.0", 80, 2, 0, 128, 0);
	ino = 0;
	conns(&cur, SD_FIN_WAIT1, 80, 5, 0, &ino, 0);
	group(&cur);
	assert_int_equal(detect_kernel_tuning(NULL, &cur, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&cur);
}

static void test_detect_kernel_tuning_findings(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };
	const struct finding *f;
	uint32_t ino = 0;
	size_t i;

	(void)state;
	snap_init(&s, T0);
	s.kernel.sysctls.tcp_fin_timeout = 3600;
	s.kernel.sysctls.somaxconn = 128;
	proc(&s, 100, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, 'S');
	lsock(&s, "0.0.0.0", 80, 1, 120, 128, 100);
	lsock(&s, "0.0.0.0", 80, 2, 0, 128, 100);
	conns(&s, SD_FIN_WAIT2, 80, 4, 0, &ino, 0);
	conns(&s, SD_LAST_ACK, 80, 2, 0, &ino, 0);
	group(&s);
	assert_int_equal(detect_kernel_tuning(NULL, &s, &no_opts, &l), 0);
	check_findings(&l);
	assert_int_equal(l.len, 4);
	f = find(&l, DK_KERNEL_TUNING, "sysctl:net.ipv4.tcp_fin_timeout");
	assert_non_null(f);
	assert_int_equal(f->severity, DS_INFO);
	assert_true(has(f->summary, "orphans only"));
	assert_true(has(f->evidence, "\"orphaned_fin_wait2\":4"));
	f = find(&l, DK_KERNEL_TUNING, "sysctl:net.ipv4.tcp_orphan_retries");
	assert_non_null(f);
	assert_int_equal(f->severity, DS_INFO);
	assert_true(has(f->summary, "which means 8"));
	f = find(&l, DK_KERNEL_TUNING, "sysctl:net.core.somaxconn");
	assert_non_null(f);
	assert_int_equal(f->severity, DS_WARNING);
	assert_int_equal(f->port, 80);
	assert_true(has(f->evidence, "\"queue\":120,\"backlog\":128"));
	f = find(&l, DK_KERNEL_TUNING, "sysctl:net.ipv4.tcp_migrate_req");
	assert_non_null(f);
	assert_int_equal(f->severity, DS_INFO);
	assert_true(has(f->evidence, "\"sockets\":2"));
	for (i = 0; i < l.len; i++)
		assert_int_equal(l.v[i].kind, DK_KERNEL_TUNING);
	finding_list_free(&l);

	/* The cap with an empty queue is no finding. */
	s.lsocks[0].rqueue = 0;
	s.kernel.sysctls.tcp_migrate_req = 1;
	s.kernel.sysctls.tcp_orphan_retries = 2;
	s.kernel.sysctls.tcp_fin_timeout = 60;
	assert_int_equal(detect_kernel_tuning(NULL, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&s);
}

/* ---- detect_run and filters ---- */

static void build_mixed(struct snapshot *s)
{
	uint32_t ino = 1000;

	snap_init(s, T0);
	/* Duplicate on :80 (pids 400, 410). */
	proc(s, 400, 1, "haproxy", "/usr/sbin/haproxy", T0 - 2 * HOUR_MS, 'S');
	proc(s, 410, 1, "haproxy", "/usr/sbin/haproxy", T0 - HOUR_MS, 'S');
	lsock(s, "0.0.0.0", 80, 40, 0, 4096, 400);
	lsock(s, "0.0.0.0", 80, 41, 0, 4096, 410);
	/* Half-closed build-up in pid 800 on :8686. */
	proc(s, 800, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, 'S');
	lsock(s, "0.0.0.0", 8686, 80, 0, 4096, 800);
	conns(s, SD_FIN_WAIT2, 8686, 20, 800, &ino, 0);
	conns(s, SD_CLOSE_WAIT, 0, 20, 800, &ino, 0);
	/* Orphans and a tuning remark (namespace-wide). */
	s->kernel.sysctls.tcp_fin_timeout = 600;
	ino = 0;
	conns(s, SD_FIN_WAIT2, 8686, 2, 0, &ino, 0);
	group(s);
}

static void test_detect_run_all_and_filters(void **state)
{
	static const uint16_t p80[] = { 80 }, p8686[] = { 8686 }, p9[] = { 9 };
	static const pid_t pid800[] = { 800 }, pid410[] = { 410 }, pid999[] = { 999 };
	struct detect_opts o = { 0 };
	struct snapshot s;
	struct finding_list l = { 0 };

	(void)state;
	build_mixed(&s);
	assert_int_equal(detect_run(NULL, &s, &no_opts, &l), 0);
	check_findings(&l);
	assert_int_equal(count_kind(&l, DK_DUPLICATE_LISTENER), 1);
	assert_int_equal(count_kind(&l, DK_HALF_CLOSE_BUILDUP), 1);
	assert_int_equal(count_kind(&l, DK_KERNEL_TUNING), 2); /* fin_timeout, migrate_req */
	assert_int_equal(count_kind(&l, DK_STALE_GENERATION), 0);
	assert_int_equal(count_kind(&l, DK_ACCEPT_BACKLOG), 0);
	finding_list_free(&l);

	o.ports = p80;
	o.nports = 1;
	assert_int_equal(detect_run(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 2); /* duplicate, migrate_req on :80 */
	assert_non_null(find(&l, DK_DUPLICATE_LISTENER, "tcp:0.0.0.0:80"));
	assert_non_null(find(&l, DK_KERNEL_TUNING, "sysctl:net.ipv4.tcp_migrate_req"));
	finding_list_free(&l);

	o.ports = p8686;
	assert_int_equal(detect_run(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 2); /* pid 800; fin_timeout for the orphans on :8686 */
	assert_non_null(find(&l, DK_HALF_CLOSE_BUILDUP, "pid:800"));
	assert_non_null(find(&l, DK_KERNEL_TUNING, "sysctl:net.ipv4.tcp_fin_timeout"));
	finding_list_free(&l);

	o.ports = p9;
	assert_int_equal(detect_run(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);

	o.nports = 0;
	o.pids = pid800;
	o.npids = 1;
	assert_int_equal(detect_run(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	assert_non_null(find(&l, DK_HALF_CLOSE_BUILDUP, "pid:800"));
	finding_list_free(&l);

	o.pids = pid410;
	assert_int_equal(detect_run(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 2); /* the duplicate, and migrate_req naming its owners */
	assert_non_null(find(&l, DK_DUPLICATE_LISTENER, "tcp:0.0.0.0:80"));
	finding_list_free(&l);

	o.pids = pid999;
	assert_int_equal(detect_run(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);

	/* Both filters: the finding must match each. */
	o.pids = pid800;
	o.ports = p80;
	o.nports = 1;
	assert_int_equal(detect_run(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&s);
}

static void test_detect_run_empty_snapshot(void **state)
{
	struct snapshot s;
	struct finding_list l = { 0 };

	(void)state;
	snap_init(&s, T0);
	group(&s);
	assert_int_equal(detect_run(&s, &s, &no_opts, &l), 0);
	assert_int_equal(l.len, 0);
	finding_list_free(&l);
	snapshot_free(&s);
}

/* ---- the proxy's view (stats sockets), peers, configuration ---- */

static void view_csv(struct stats_view *v, pid_t pid, const char *csv, const char *state)
{
	char err[256] = "";

	memset(v, 0, sizeof(*v));
	stats_view_reset(v);
	v->pid = pid;
	if (stats_parse_csv(csv, strlen(csv), v, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	if (state && stats_parse_servers_state(state, strlen(state), v, err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

static const char down_csv[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,lastchg,type\n"
	"be,s1,0,0,3,3,,9,DOWN,10,2\n"
	"be,s2,0,0,1,1,,9,UP,100,2\n"
	"be,BACKEND,0,0,4,4,10,18,UP,100,1\n";
static const char down_state[] =
	"1\n"
	"# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
	"srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
	"srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
	"srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
	"srv_agent_addr srv_agent_port\n"
	"3 be 1 s1 10.0.0.5 0 0 1 1 10 8 2 0 6 0 0 0 - 8080 - 0 0 - - 0\n"
	"3 be 2 s2 10.0.0.6 2 0 1 1 100 1 0 2 0 0 0 0 - 8080 - 0 0 - - 0\n";

/* Established sockets of pid towards ADDR:rport. */
static void conns_to(struct snapshot *s, const char *raddr, uint16_t rport, unsigned n, pid_t pid,
		     uint32_t *ino)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct sd_sock *k = sock(s, SD_ESTABLISHED, "10.0.0.1", (uint16_t)(41000 + *ino),
					 rport, *ino);

		assert_int_equal(inet_pton(AF_INET, raddr, k->raddr), 1);
		own(s, *ino, pid);
		(*ino)++;
	}
}

static void test_detect_session_on_down_server(void **state)
{
	struct snapshot s;
	struct stats_view v;
	struct detect_stats st = { &v, 1, NULL, 0 };
	struct detect_opts o = no_opts;
	struct finding_list out = { 0 };
	const struct finding *f;
	uint32_t ino = 100;

	(void)state;
	snap_init(&s, T0);
	proc(&s, 100, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, 'S');
	proc(&s, 200, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, 'S');
	lsock(&s, "0.0.0.0", 80, 1, 0, 128, 100);
	conns_to(&s, "10.0.0.5", 8080, 3, 100, &ino);  /* to the DOWN server */
	conns_to(&s, "10.0.0.5", 8080, 2, 200, &ino);  /* another process's */
	conns_to(&s, "10.0.0.5", 8081, 1, 100, &ino);  /* another port */
	conns_to(&s, "10.0.0.6", 8080, 4, 100, &ino);  /* the UP server */
	group(&s);
	view_csv(&v, 100, down_csv, down_state);

	assert_int_equal(detect_session_on_down_server(&s, &st, &o, &out), 0);
	check_findings(&out);
	assert_int_equal(out.len, 1);
	f = find(&out, DK_SESSION_ON_DOWN_SERVER, "server:be/s1");
	assert_non_null(f);
	assert_true(f->value == 3.0);
	assert_int_equal(f->pid, 100);
	assert_int_equal(f->port, 8080);
	assert_true(has(f->evidence, "\"sessions_total\":3"));
	assert_true(has(f->evidence, "\"address\":\"10.0.0.5:8080\""));
	finding_list_free(&out);

	/* Within the grace period: nothing. */
	o.down_grace_ms = 20000;
	assert_int_equal(detect_session_on_down_server(&s, &st, &o, &out), 0);
	assert_int_equal(out.len, 0);
	o.down_grace_ms = 0;
	/* The view of a process with no session there: nothing. */
	v.pid = 300;
	assert_int_equal(detect_session_on_down_server(&s, &st, &o, &out), 0);
	assert_int_equal(out.len, 0);
	/* No snapshot or no view: nothing. */
	assert_int_equal(detect_session_on_down_server(NULL, &st, &o, &out), 0);
	assert_int_equal(detect_session_on_down_server(&s, NULL, &o, &out), 0);
	assert_int_equal(out.len, 0);
	stats_view_free(&v);
	snapshot_free(&s);
}

static const char starve_prev[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,type,eff_maxconn,minconn,fullconn\n"
	"be,s1,5,5,2,2,20,50,UP,2,2,2,50\n"
	"be,s2,1,1,10,10,20,50,UP,2,15,15,50\n"
	"be,BACKEND,6,6,12,12,50,100,UP,1,17,,50\n";
static const char starve_cur[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,type,eff_maxconn,minconn,fullconn\n"
	"be,s1,8,8,2,2,20,52,UP,2,2,2,50\n"
	"be,s2,3,3,15,15,20,60,UP,2,15,15,50\n"
	"be,BACKEND,11,11,17,17,50,112,UP,1,17,,50\n";
static const char starve_drain[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,type,eff_maxconn,minconn,fullconn\n"
	"be,s1,4,8,2,2,20,58,UP,2,2,2,50\n"
	"be,BACKEND,4,11,17,17,50,112,UP,1,17,,50\n";

static void test_detect_server_queue_starvation(void **state)
{
	struct stats_view prev, cur, drain;
	struct detect_stats st = { &cur, 1, &prev, 1 };
	struct finding_list out = { 0 };
	const struct finding *f;

	(void)state;
	view_csv(&prev, 100, starve_prev, NULL);
	view_csv(&cur, 100, starve_cur, NULL);
	view_csv(&drain, 100, starve_drain, NULL);
	assert_int_equal(detect_server_queue_starvation(&st, &no_opts, &out), 0);
	check_findings(&out);
	/* s2's limit (15 of 20) is not far below its maxconn. */
	assert_int_equal(out.len, 1);
	f = find(&out, DK_SERVER_QUEUE_STARVATION, "server:be/s1");
	assert_non_null(f);
	assert_true(f->value == 8.0);
	assert_true(has(f->evidence, "\"queued\":8"));
	assert_true(has(f->evidence, "\"qcur\":8"));
	assert_true(has(f->evidence, "\"queued_prev\":5"));
	assert_true(has(f->evidence, "\"eff_maxconn\":2"));
	assert_true(has(f->evidence, "\"maxconn\":20"));
	assert_true(has(f->evidence, "\"minconn\":2"));
	assert_true(has(f->evidence, "\"fullconn\":50"));
	assert_true(has(f->evidence, "\"eff_maxconn_source\":\"reported\""));
	finding_list_free(&out);

	/* No history, a shrinking queue, another process's history: nothing. */
	st.nprev = 0;
	assert_int_equal(detect_server_queue_starvation(&st, &no_opts, &out), 0);
	assert_int_equal(out.len, 0);
	st.cur = &drain;
	st.prev = &cur;
	st.nprev = 1;
	assert_int_equal(detect_server_queue_starvation(&st, &no_opts, &out), 0);
	assert_int_equal(out.len, 0);
	st.cur = &cur;
	st.prev = &prev;
	prev.pid = 101;
	assert_int_equal(detect_server_queue_starvation(&st, &no_opts, &out), 0);
	assert_int_equal(out.len, 0);
	prev.pid = 100;
	/* A stricter threshold leaves s1 alone (2 is 10% of 20). */
	{
		struct detect_opts o = no_opts;

		o.starve_pct = 10;
		assert_int_equal(detect_server_queue_starvation(&st, &o, &out), 0);
		assert_int_equal(out.len, 0);
	}
	/* Requests waiting in the backend's queue while the server is full at
	 * its effective limit (HAProxy queues unbound requests there). */
	{
		static const char bq_prev[] =
			"# pxname,svname,qcur,scur,slim,status,type,eff_maxconn,minconn,fullconn\n"
			"be,s1,0,2,20,UP,2,2,2,100\n"
			"be,BACKEND,6,8,100,UP,1,2,,100\n";
		static const char bq_cur[] =
			"# pxname,svname,qcur,scur,slim,status,type,eff_maxconn,minconn,fullconn\n"
			"be,s1,0,2,20,UP,2,2,2,100\n"
			"be,BACKEND,8,10,100,UP,1,2,,100\n";
		static const char bq_notfull[] =
			"# pxname,svname,qcur,scur,slim,status,type,eff_maxconn,minconn,fullconn\n"
			"be,s1,0,1,20,UP,2,2,2,100\n"
			"be,BACKEND,9,10,100,UP,1,2,,100\n";
		struct stats_view bp, bc, bn;
		struct detect_stats bst = { &bc, 1, &bp, 1 };

		view_csv(&bp, 100, bq_prev, NULL);
		view_csv(&bc, 100, bq_cur, NULL);
		view_csv(&bn, 100, bq_notfull, NULL);
		assert_int_equal(detect_server_queue_starvation(&bst, &no_opts, &out), 0);
		check_findings(&out);
		assert_int_equal(out.len, 1);
		f = find(&out, DK_SERVER_QUEUE_STARVATION, "server:be/s1");
		assert_non_null(f);
		assert_true(f->value == 8.0);
		assert_true(has(f->evidence, "\"backend_qcur\":8"));
		assert_true(has(f->evidence, "\"qcur\":0"));
		finding_list_free(&out);
		/* Not full at its limit: the backend's queue is not its. */
		bst.cur = &bn;
		assert_int_equal(detect_server_queue_starvation(&bst, &no_opts, &out), 0);
		assert_int_equal(out.len, 0);
		stats_view_free(&bp);
		stats_view_free(&bc);
		stats_view_free(&bn);
	}
	/* Stock HAProxy without the configuration: the limit is unknown. */
	cur.rows[0].eff_src = SE_NONE;
	assert_int_equal(detect_server_queue_starvation(&st, &no_opts, &out), 0);
	assert_int_equal(out.len, 0);
	stats_view_free(&prev);
	stats_view_free(&cur);
	stats_view_free(&drain);
}

/* The count threshold follows the process's maxconn: max(half-close-min,
 * half-close-pct % of maxconn), from its stats view or the configuration. */
static void test_detect_half_close_relative_to_maxconn(void **state)
{
	static const char csv[] =
		"# pxname,svname,qcur,scur,slim,status,type\n"
		"fe_a,FRONTEND,,5,1500,OPEN,0\n"
		"fe_b,FRONTEND,,5,500,OPEN,0\n";
	static const char info[] = "Pid: 800\nMaxconn: 4000\nCurrConns: 10\n";
	struct stats_view v, other;
	struct detect_stats st = { &v, 1, NULL, 0 };
	struct detect_opts o = no_opts;
	struct finding_list l = { 0 };
	struct snapshot s;

	(void)state;
	/* 60 + 60 = 120 half-closed sockets at 1000 idle. */
	build_half_close(&s, 60, 1000);

	/* Configured maxconn 2000: 5 % is 100 < 120, reported (warning: 60
	 * pairs are under 100, 120 under 10 * 100). */
	o.half_close_maxconn = 2000;
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	check_findings(&l);
	assert_int_equal(l.v[0].severity, DS_WARNING);
	assert_true(has(l.v[0].evidence, "\"half_close_min\":100,"));
	assert_true(has(l.v[0].evidence, "\"half_close_min_abs\":10,"));
	assert_true(has(l.v[0].evidence, "\"half_close_pct\":5,"));
	assert_true(has(l.v[0].evidence, "\"maxconn\":2000,"));
	assert_true(has(l.v[0].detail, "threshold: 100 half-closed sockets"));
	finding_list_free(&l);

	/* Configured maxconn 4000: 5 % is 200 > 120, silent. */
	o.half_close_maxconn = 4000;
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);

	/* half_close_abs: half_close_min alone (10), reported. */
	o.half_close_abs = 1;
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	assert_true(has(l.v[0].evidence, "\"half_close_min\":10,"));
	assert_true(has(l.v[0].evidence, "\"maxconn\":0,"));
	assert_false(has(l.v[0].detail, "threshold:"));
	finding_list_free(&l);
	o.half_close_abs = 0;

	/* The stats view's frontends (1500 + 500 = 2000) beat the configuration. */
	view_csv(&v, 800, csv, NULL);
	o.half_close_views = &st;
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	assert_true(has(l.v[0].evidence, "\"maxconn\":2000,"));
	finding_list_free(&l);

	/* ... and show info's Maxconn (4000) beats the frontends: silent. */
	assert_int_equal(stats_parse_info(info, strlen(info), &v), 0);
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);

	/* half-close-pct 2: 80 < 120 again. */
	o.half_close_pct = 2;
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	assert_true(has(l.v[0].evidence, "\"half_close_min\":80,"));
	finding_list_free(&l);

	/* A view of another process does not apply: the configured 4000 at 2 %
	 * is 80 as well; at 5 % (200) silent, while a tiny maxconn keeps the
	 * absolute minimum: 5 % of 20 is 1, the threshold stays 10. */
	view_csv(&other, 801, csv, NULL);
	st.cur = &other;
	o.half_close_pct = 0;
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);
	o.half_close_maxconn = 20;
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 1);
	assert_int_equal(l.v[0].severity, DS_CRITICAL);
	assert_true(has(l.v[0].evidence, "\"half_close_min\":10,"));
	finding_list_free(&l);
	stats_view_free(&other);
	stats_view_free(&v);
	snapshot_free(&s);

	/* 8 + 8 = 16 stays under the absolute minimum 20 whatever the maxconn. */
	build_half_close(&s, 8, 1000);
	o.half_close_views = NULL;
	o.half_close_min = 20;
	o.half_close_maxconn = 40;
	assert_int_equal(detect_half_close(NULL, &s, &o, &l), 0);
	assert_int_equal(l.len, 0);
	snapshot_free(&s);
}

static void test_detect_maxconn_saturation(void **state)
{
	static const char csv[] =
		"# pxname,svname,qcur,scur,slim,status,type\n"
		"fe_a,FRONTEND,,95,100,OPEN,0\n"
		"fe_b,FRONTEND,,80,100,OPEN,0\n"
		"fe_c,FRONTEND,,7,,OPEN,0\n"
		"be,BACKEND,0,95,10,UP,1\n";
	static const char info[] = "Pid: 100\nMaxconn: 200\nCurrConns: 181\n";
	struct stats_view v;
	struct detect_stats st = { &v, 1, NULL, 0 };
	struct finding_list out = { 0 };
	struct detect_opts o = no_opts;
	const struct finding *f;

	(void)state;
	view_csv(&v, 100, csv, NULL);
	assert_int_equal(detect_maxconn_saturation(&st, &o, &out), 0);
	check_findings(&out);
	assert_int_equal(out.len, 1);
	f = find(&out, DK_MAXCONN_SATURATION, "frontend:fe_a");
	assert_non_null(f);
	assert_true(f->value == 95.0);
	assert_int_equal(f->severity, DS_WARNING);
	finding_list_free(&out);
	assert_int_equal(stats_parse_info(info, strlen(info), &v), 0);
	o.maxconn_pct = 80;
	assert_int_equal(detect_maxconn_saturation(&st, &o, &out), 0);
	check_findings(&out);
	assert_int_equal(out.len, 3);
	assert_non_null(find(&out, DK_MAXCONN_SATURATION, "frontend:fe_b"));
	f = find(&out, DK_MAXCONN_SATURATION, "pid:100");
	assert_non_null(f);
	assert_true(f->value == 181.0);
	finding_list_free(&out);
	stats_view_free(&v);
}

static void lossy(struct snapshot *s, const char *peer, unsigned st, uint8_t rto, uint32_t unacked,
		  uint32_t ino)
{
	struct sd_sock *k = sock(s, st, "10.0.0.1", 80, (uint16_t)(50000 + ino), ino);

	assert_int_equal(inet_pton(AF_INET, peer, k->raddr), 1);
	k->has_info = 1;
	k->info.retransmits = rto;
	k->info.total_retrans = rto * 2u;
	k->info.unacked = unacked;
	own(s, ino, 100);
}

static void test_detect_lossy_peer(void **state)
{
	struct snapshot s;
	struct finding_list out = { 0 };
	const struct finding *f;

	(void)state;
	snap_init(&s, T0);
	proc(&s, 100, 1, "proxyd", "/usr/sbin/proxyd", T0 - HOUR_MS, 'S');
	lsock(&s, "0.0.0.0", 80, 1, 0, 128, 100);
	lossy(&s, "10.0.0.9", SD_ESTABLISHED, 4, 3, 10);
	lossy(&s, "10.0.0.9", SD_ESTABLISHED, 5, 2, 11);
	lossy(&s, "10.0.0.9", SD_FIN_WAIT1, 1, 1, 12);     /* FIN unacknowledged */
	lossy(&s, "10.0.0.9", SD_ESTABLISHED, 0, 0, 13);   /* healthy */
	lossy(&s, "10.0.0.8", SD_ESTABLISHED, 6, 1, 14);   /* one lossy socket only */
	lossy(&s, "10.0.0.8", SD_FIN_WAIT1, 0, 1, 15);     /* FIN not retransmitted yet */
	lossy(&s, "10.0.0.8", SD_ESTABLISHED, 2, 1, 16);   /* below 3 RTOs */
	group(&s);
	assert_int_equal(detect_lossy_peer(NULL, &s, &no_opts, &out), 0);
	check_findings(&out);
	assert_int_equal(out.len, 1);
	f = find(&out, DK_LOSSY_PEER, "peer:10.0.0.9");
	assert_non_null(f);
	assert_true(f->value == 3.0);
	assert_int_equal(f->severity, DS_CRITICAL);
	assert_true(has(f->evidence, "\"fin_wait1_unacked\":1"));
	assert_true(has(f->evidence, "\"sockets\":4"));
	finding_list_free(&out);
	{
		struct detect_opts o = no_opts;

		o.lossy_min = 1;
		o.lossy_retrans = 2;
		assert_int_equal(detect_lossy_peer(NULL, &s, &o, &out), 0);
		assert_int_equal(out.len, 2);
		f = find(&out, DK_LOSSY_PEER, "peer:10.0.0.8");
		assert_non_null(f);
		assert_true(f->value == 2.0);
		finding_list_free(&out);
		/* A port filter without port 80 drops both. */
		o.ports = (const uint16_t[]){ 81 };
		o.nports = 1;
		assert_int_equal(detect_lossy_peer(NULL, &s, &o, &out), 0);
		assert_int_equal(out.len, 0);
	}
	snapshot_free(&s);
}

static void test_detect_config_lint(void **state)
{
	struct cfg_msg m[3] = {
		{ CFG_SEV_WARNING, 12, (char *)"/etc/proxyd.cfg:12: 'timeout client-fin': not set" },
		{ CFG_SEV_ERROR, 14, (char *)"/etc/proxyd.cfg:14: bad" },
		{ CFG_SEV_WARNING, 30, (char *)"/etc/proxyd.cfg:30: server be/s1: effective maxconn is 2" },
	};
	struct cfg_diag d = { m, 3, 3, 1, 2, 0 };
	struct finding_list out = { 0 };
	const struct finding *f;

	(void)state;
	assert_int_equal(detect_config_lint(&d, &no_opts, &out), 0);
	check_findings(&out);
	assert_int_equal(out.len, 2);
	f = find(&out, DK_CONFIG_LINT, "cfg:/etc/proxyd.cfg:12");
	assert_non_null(f);
	assert_true(has(f->summary, "client-fin"));
	assert_true(has(f->evidence, "\"line\":12"));
	assert_non_null(find(&out, DK_CONFIG_LINT, "cfg:/etc/proxyd.cfg:30"));
	finding_list_free(&out);
	d.nmsgs = 0;
	assert_int_equal(detect_config_lint(&d, &no_opts, &out), 0);
	assert_int_equal(out.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_json_validator_self_check),
		cmocka_unit_test(test_detect_kind_name_stable),
		cmocka_unit_test(test_detect_duplicate_listener_reuseport_one_process),
		cmocka_unit_test(test_detect_duplicate_listener_master_and_workers),
		cmocka_unit_test(test_detect_duplicate_listener_nginx_sibling_workers),
		cmocka_unit_test(test_detect_duplicate_listener_two_generations),
		cmocka_unit_test(test_detect_duplicate_listener_two_programs),
		cmocka_unit_test(test_detect_duplicate_listener_stuck_owner_critical),
		cmocka_unit_test(test_detect_duplicate_listener_owner_not_visible),
		cmocka_unit_test(test_detect_duplicate_listener_allow_list),
		cmocka_unit_test(test_detect_accept_backlog_near_backlog),
		cmocka_unit_test(test_detect_accept_backlog_growing),
		cmocka_unit_test(test_detect_accept_backlog_full_or_overflow_critical),
		cmocka_unit_test(test_detect_accept_backlog_stopped_owner),
		cmocka_unit_test(test_detect_half_close_pairs),
		cmocka_unit_test(test_detect_half_close_peers),
		cmocka_unit_test(test_detect_half_close_few_silent),
		cmocka_unit_test(test_detect_half_close_old_idle),
		cmocka_unit_test(test_detect_half_close_old_generation_pairs),
		cmocka_unit_test(test_detect_half_close_orphans_and_unseen),
		cmocka_unit_test(test_detect_half_close_relative_to_maxconn),
		cmocka_unit_test(test_detect_stale_generation_sf_chain),
		cmocka_unit_test(test_detect_stale_generation_negatives),
		cmocka_unit_test(test_detect_kernel_tuning_defaults_silent),
		cmocka_unit_test(test_detect_kernel_tuning_findings),
		cmocka_unit_test(test_detect_run_all_and_filters),
		cmocka_unit_test(test_detect_run_empty_snapshot),
		cmocka_unit_test(test_detect_session_on_down_server),
		cmocka_unit_test(test_detect_server_queue_starvation),
		cmocka_unit_test(test_detect_maxconn_saturation),
		cmocka_unit_test(test_detect_lossy_peer),
		cmocka_unit_test(test_detect_config_lint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
