#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "probes/kernel.h"
#include "probes/linkstats.h"
#include "probes/netns.h"
#include "probes/procmap.h"
#include "probes/snapshot.h"
#include "probes/sockdiag.h"

/* ---- hand-built tables ---- */

static struct sd_sock *add_sock(struct snapshot *s, unsigned state, const char *laddr,
				uint16_t lport, uint16_t rport, uint32_t ino)
{
	struct sd_sock *k = sd_table_push(&s->socks);

	assert_non_null(k);
	if (strchr(laddr, ':')) {
		k->family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, laddr, k->laddr), 1);
	} else {
		k->family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, laddr, k->laddr), 1);
	}
	k->state = (uint8_t)state;
	k->lport = lport;
	k->rport = rport;
	k->ino = ino;
	return k;
}

static void set_idle(struct sd_sock *k, uint32_t recv, uint32_t sent, uint32_t ack)
{
	k->has_info = 1;
	k->info.last_data_recv = recv;
	k->info.last_data_sent = sent;
	k->info.last_ack_recv = ack;
}

static void add_owner(struct snapshot *s, uint32_t ino, pid_t pid)
{
	struct pm_owners *o = &s->owners;

	if (o->len == o->cap) {
		size_t ncap = o->cap ? o->cap * 2 : 4;
		struct pm_owner *v = realloc(o->v, ncap * sizeof(*v));

		assert_non_null(v);
		o->v = v;
		o->cap = ncap;
	}
	o->v[o->len].ino = ino;
	o->v[o->len].pid = pid;
	o->v[o->len].fd = 3;
	o->len++;
	s->have_owners = 1;
}

static void add_proc(struct snapshot *s, pid_t pid, const char *comm)
{
	struct pm_procs *p = &s->procs;

	if (p->len == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 4;
		struct pm_proc *v = realloc(p->v, ncap * sizeof(*v));

		assert_non_null(v);
		p->v = v;
		p->cap = ncap;
	}
	memset(&p->v[p->len], 0, sizeof(p->v[p->len]));
	p->v[p->len].pid = pid;
	snprintf(p->v[p->len].comm, sizeof(p->v[p->len].comm), "%s", comm);
	p->len++;
}

static const struct snap_listener *find4(const struct snapshot *s, const char *addr,
					 uint16_t port)
{
	uint8_t a[16];

	memset(a, 0, sizeof(a));
	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	return snapshot_listener_find(s, AF_INET, a, port);
}

static const struct snap_listener *find6(const struct snapshot *s, const char *addr,
					 uint16_t port)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	return snapshot_listener_find(s, AF_INET6, a, port);
}

static const pid_t *owners_of(const struct snapshot *s, const struct snap_lsock *ls)
{
	return &s->owner_pids[ls->first_owner];
}

/* ---- snapshot_group ---- */

static void test_snapshot_group_reuseport_sockets(void **state)
{
	struct snapshot s = { 0 };
	const struct snap_listener *l;
	size_t i;

	(void)state;
	/* One process with three SO_REUSEPORT sockets on 0.0.0.0:80, given out
	 * of inode order, plus [::]:80 and 127.0.0.1:8080. */
	add_sock(&s, SD_LISTEN, "127.0.0.1", 8080, 0, 40)->rqueue = 1;
	add_sock(&s, SD_LISTEN, "0.0.0.0", 80, 0, 30)->wqueue = 511;
	add_sock(&s, SD_LISTEN, "::", 80, 0, 35);
	add_sock(&s, SD_LISTEN, "0.0.0.0", 80, 0, 10)->rqueue = 7;
	add_sock(&s, SD_LISTEN, "0.0.0.0", 80, 0, 20);
	add_sock(&s, SD_ESTABLISHED, "10.0.0.1", 80, 50000, 99);
	add_owner(&s, 30, 100);
	add_owner(&s, 10, 100);
	add_owner(&s, 20, 100);
	add_owner(&s, 35, 100);
	add_owner(&s, 40, 101);
	add_proc(&s, 101, "other");
	add_proc(&s, 100, "haproxy");
	assert_int_equal(snapshot_group(&s), 0);

	assert_int_equal(s.nlisteners, 3);
	assert_int_equal(s.nlsocks, 5);
	/* Sorted by (port, family, addr). */
	assert_int_equal(s.listeners[0].port, 80);
	assert_int_equal(s.listeners[0].family, AF_INET);
	assert_int_equal(s.listeners[1].port, 80);
	assert_int_equal(s.listeners[1].family, AF_INET6);
	assert_int_equal(s.listeners[2].port, 8080);

	l = find4(&s, "0.0.0.0", 80);
	assert_ptr_equal(l, &s.listeners[0]);
	assert_int_equal(l->nlsocks, 3);
	for (i = 0; i < 3; i++) {
		const struct snap_lsock *ls = &s.lsocks[l->first_lsock + i];

		assert_int_equal(ls->ino, 10 * (i + 1));
		assert_int_equal(ls->nowners, 1);
		assert_int_equal(owners_of(&s, ls)[0], 100);
	}
	assert_int_equal(s.lsocks[l->first_lsock].rqueue, 7);
	assert_int_equal(s.lsocks[l->first_lsock + 2].wqueue, 511);
	l = find4(&s, "127.0.0.1", 8080);
	assert_non_null(l);
	assert_int_equal(s.lsocks[l->first_lsock].rqueue, 1);
	assert_int_equal(owners_of(&s, &s.lsocks[l->first_lsock])[0], 101);
	assert_non_null(find6(&s, "::", 80));
	/* Procs were sorted by pid. */
	assert_int_equal(s.procs.v[0].pid, 100);
	snapshot_free(&s);
}

static void test_snapshot_group_shared_owners(void **state)
{
	struct snapshot s = { 0 };
	const struct snap_listener *l;
	const struct snap_lsock *ls;

	(void)state;
	/* A master and two workers that inherited one socket; one process has
	 * it twice (dup'ed fd). Owners given unsorted. */
	add_sock(&s, SD_LISTEN, "0.0.0.0", 443, 0, 77);
	add_owner(&s, 77, 202);
	add_owner(&s, 77, 200);
	add_owner(&s, 77, 201);
	add_owner(&s, 77, 200);
	assert_int_equal(snapshot_group(&s), 0);
	l = find4(&s, "0.0.0.0", 443);
	assert_non_null(l);
	ls = &s.lsocks[l->first_lsock];
	assert_int_equal(ls->nowners, 3);
	assert_int_equal(owners_of(&s, ls)[0], 200);
	assert_int_equal(owners_of(&s, ls)[1], 201);
	assert_int_equal(owners_of(&s, ls)[2], 202);
	/* The listening socket counts once under each owner. */
	assert_int_equal(snapshot_count_find(&s, 200, 443)->n[SD_LISTEN], 1);
	assert_int_equal(snapshot_count_find(&s, 202, 443)->n[SD_LISTEN], 1);
	assert_int_equal(s.state_total[SD_LISTEN], 1);
	snapshot_free(&s);
}

static void test_snapshot_group_unknown_owner(void **state)
{
	struct snapshot s = { 0 };
	const struct snap_listener *l;
	const struct snap_count *c;

	(void)state;
	add_sock(&s, SD_LISTEN, "0.0.0.0", 80, 0, 11);
	add_sock(&s, SD_LISTEN, "0.0.0.0", 80, 0, 12);
	add_sock(&s, SD_ESTABLISHED, "10.0.0.1", 80, 40000, 13);
	add_owner(&s, 11, 300);
	assert_int_equal(snapshot_group(&s), 0);
	l = find4(&s, "0.0.0.0", 80);
	assert_int_equal(l->nlsocks, 2);
	assert_int_equal(s.lsocks[l->first_lsock].nowners, 1);
	assert_int_equal(s.lsocks[l->first_lsock + 1].ino, 12);
	assert_int_equal(s.lsocks[l->first_lsock + 1].nowners, 0);
	c = snapshot_count_find(&s, 0, 80);
	assert_non_null(c);
	assert_int_equal(c->n[SD_LISTEN], 1);
	assert_int_equal(c->n[SD_ESTABLISHED], 1);
	/* pid 0 owns a listening socket of unknown owners: is_listen_port is a
	 * fact about the counted sockets. */
	assert_true(c->is_listen_port);
	snapshot_free(&s);
}

static void test_snapshot_group_counts_and_idle(void **state)
{
	struct snapshot s = { 0 };
	const struct snap_count *c;
	struct sd_sock *k;
	int i;

	(void)state;
	add_sock(&s, SD_LISTEN, "0.0.0.0", 80, 0, 1);
	add_owner(&s, 1, 500);
	for (i = 0; i < 5; i++) {
		add_sock(&s, SD_ESTABLISHED, "10.0.0.1", 80, (uint16_t)(40000 + i),
			 (uint32_t)(100 + i));
		add_owner(&s, (uint32_t)(100 + i), 500);
	}
	/* Two CLOSE_WAIT on the listening port: idle = min of the three. */
	k = add_sock(&s, SD_FIN_WAIT2, "10.0.0.1", 80, 41000, 200);
	set_idle(k, 9000, 7000, 8000);
	add_owner(&s, 200, 500);
	k = add_sock(&s, SD_FIN_WAIT2, "10.0.0.1", 80, 41001, 201);
	set_idle(k, 3000, 2000, 65000);
	add_owner(&s, 201, 500);
	/* An outgoing connection in CLOSE_WAIT. */
	k = add_sock(&s, SD_CLOSE_WAIT, "10.0.0.1", 45000, 8080, 300);
	set_idle(k, 120000, 130000, 125000);
	add_owner(&s, 300, 500);
	/* Mini-sockets without an inode and an unowned socket: pid 0. */
	add_sock(&s, SD_TIME_WAIT, "10.0.0.1", 80, 42000, 0);
	add_sock(&s, SD_TIME_WAIT, "10.0.0.1", 80, 42001, 0);
	add_sock(&s, SD_NEW_SYN_RECV, "10.0.0.1", 80, 42002, 0);
	add_sock(&s, SD_FIN_WAIT2, "10.0.0.1", 80, 42003, 0);
	assert_int_equal(snapshot_group(&s), 0);

	c = snapshot_count_find(&s, 500, 80);
	assert_non_null(c);
	assert_true(c->is_listen_port);
	assert_int_equal(c->n[SD_LISTEN], 1);
	assert_int_equal(c->n[SD_ESTABLISHED], 5);
	assert_int_equal(c->n[SD_FIN_WAIT2], 2);
	assert_int_equal(c->oldest_idle_ms[SD_FIN_WAIT2], 7000);
	assert_int_equal(c->oldest_idle_ms[SD_ESTABLISHED], 0);
	c = snapshot_count_find(&s, 500, 45000);
	assert_non_null(c);
	assert_false(c->is_listen_port);
	assert_int_equal(c->n[SD_CLOSE_WAIT], 1);
	assert_int_equal(c->oldest_idle_ms[SD_CLOSE_WAIT], 120000);
	c = snapshot_count_find(&s, 0, 80);
	assert_non_null(c);
	assert_false(c->is_listen_port);
	assert_int_equal(c->n[SD_TIME_WAIT], 2);
	assert_int_equal(c->n[SD_NEW_SYN_RECV], 1);
	assert_int_equal(c->n[SD_FIN_WAIT2], 1);
	assert_null(snapshot_count_find(&s, 500, 81));
	assert_null(snapshot_count_find(&s, 501, 80));

	assert_int_equal(s.state_total[SD_ESTABLISHED], 5);
	assert_int_equal(s.state_total[SD_FIN_WAIT2], 3);
	assert_int_equal(s.state_total[SD_TIME_WAIT], 2);
	assert_int_equal(s.state_total[SD_LISTEN], 1);
	/* Sorted by (pid, lport). */
	assert_int_equal(s.ncounts, 3);
	assert_int_equal(s.counts[0].pid, 0);
	assert_int_equal(s.counts[1].lport, 80);
	assert_int_equal(s.counts[2].lport, 45000);
	snapshot_free(&s);
}

static void test_snapshot_group_shared_socket_counts(void **state)
{
	struct snapshot s = { 0 };

	(void)state;
	add_sock(&s, SD_CLOSE_WAIT, "10.0.0.1", 50000, 80, 9);
	add_owner(&s, 9, 20);
	add_owner(&s, 9, 10);
	assert_int_equal(snapshot_group(&s), 0);
	assert_int_equal(snapshot_count_find(&s, 10, 50000)->n[SD_CLOSE_WAIT], 1);
	assert_int_equal(snapshot_count_find(&s, 20, 50000)->n[SD_CLOSE_WAIT], 1);
	assert_null(snapshot_count_find(&s, 0, 50000));
	assert_int_equal(s.state_total[SD_CLOSE_WAIT], 1);
	snapshot_free(&s);
}

static void test_snapshot_group_without_owners(void **state)
{
	struct snapshot s = { 0 };
	const struct snap_listener *l;

	(void)state;
	add_sock(&s, SD_LISTEN, "0.0.0.0", 80, 0, 5);
	add_sock(&s, SD_ESTABLISHED, "10.0.0.1", 80, 40000, 6);
	add_owner(&s, 5, 1);
	s.have_owners = 0; /* procmap did not run: owners are ignored */
	assert_int_equal(snapshot_group(&s), 0);
	l = find4(&s, "0.0.0.0", 80);
	assert_int_equal(s.lsocks[l->first_lsock].nowners, 0);
	assert_int_equal(snapshot_count_find(&s, 0, 80)->n[SD_ESTABLISHED], 1);
	assert_null(snapshot_count_find(&s, 1, 80));
	snapshot_free(&s);
}

static void test_snapshot_listener_find_lookups(void **state)
{
	struct snapshot s = { 0 };
	uint16_t port;

	(void)state;
	for (port = 1000; port < 1100; port += 3) {
		add_sock(&s, SD_LISTEN, "127.0.0.1", port, 0, port);
		add_sock(&s, SD_LISTEN, "::1", port, 0, 100000u + port);
	}
	assert_int_equal(snapshot_group(&s), 0);
	for (port = 1000; port < 1100; port++) {
		int present = (port - 1000) % 3 == 0;
		const struct snap_listener *l = find4(&s, "127.0.0.1", port);

		assert_int_equal(l != NULL, present);
		assert_int_equal(find6(&s, "::1", port) != NULL, present);
		assert_int_equal(snapshot_port_listened(&s, port), present);
		if (l)
			assert_int_equal(s.lsocks[l->first_lsock].ino, port);
	}
	assert_null(find4(&s, "127.0.0.2", 1000));
	assert_null(find6(&s, "::", 1000));
	snapshot_free(&s);

	/* Empty snapshot. */
	assert_null(find4(&s, "127.0.0.1", 1000));
	assert_null(snapshot_count_find(&s, 1, 1));
	assert_false(snapshot_port_listened(&s, 1000));
}

static void test_snapshot_group_regroup_reuses_arrays(void **state)
{
	struct snapshot s = { 0 };
	void *listeners, *lsocks, *counts, *owner_pids;
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		add_sock(&s, SD_LISTEN, "0.0.0.0", (uint16_t)(2000 + i), 0, (uint32_t)(i + 1));
		add_owner(&s, (uint32_t)(i + 1), 7);
		add_sock(&s, SD_ESTABLISHED, "10.0.0.1", (uint16_t)(2000 + i), 40000,
			 (uint32_t)(i + 1000));
	}
	assert_int_equal(snapshot_group(&s), 0);
	assert_int_equal(s.nlisteners, 50);
	listeners = s.listeners;
	lsocks = s.lsocks;
	counts = s.counts;
	owner_pids = s.owner_pids;
	for (i = 0; i < 3; i++) {
		assert_int_equal(snapshot_group(&s), 0);
		assert_ptr_equal(s.listeners, listeners);
		assert_ptr_equal(s.lsocks, lsocks);
		assert_ptr_equal(s.counts, counts);
		assert_ptr_equal(s.owner_pids, owner_pids);
		assert_int_equal(s.nlisteners, 50);
		assert_int_equal(s.ncounts, 100); /* pid 7 and pid 0 per port */
		assert_int_equal(s.nowner_pids, 50);
	}
	snapshot_free(&s);
	assert_null(s.listeners);
	assert_int_equal(s.cap_counts, 0);
}

/* ---- snapshot_take, with the probes mocked (or live) ---- */

int __wrap_sockdiag_open(struct sockdiag *sd, int nsfd, char *err, size_t errlen);
int __real_sockdiag_open(struct sockdiag *sd, int nsfd, char *err, size_t errlen);
void __wrap_sockdiag_close(struct sockdiag *sd);
void __real_sockdiag_close(struct sockdiag *sd);
int __wrap_sockdiag_dump(struct sockdiag *sd, const struct sd_filter *f, struct sd_table *t,
			 char *err, size_t errlen);
int __real_sockdiag_dump(struct sockdiag *sd, const struct sd_filter *f, struct sd_table *t,
			 char *err, size_t errlen);
int __wrap_procmap_init(struct procmap *pm, const char *root, char *err, size_t errlen);
int __real_procmap_init(struct procmap *pm, const char *root, char *err, size_t errlen);
int __wrap_procmap_owners(struct procmap *pm, const uint32_t *inos, size_t n, uint64_t netns_ino,
			  const pid_t *pids, size_t npids, struct pm_owners *out,
			  char *err, size_t errlen);
int __real_procmap_owners(struct procmap *pm, const uint32_t *inos, size_t n, uint64_t netns_ino,
			  const pid_t *pids, size_t npids, struct pm_owners *out,
			  char *err, size_t errlen);
int __wrap_procmap_procs(struct procmap *pm, const struct pm_owners *owners,
			 struct pm_procs *out);
int __real_procmap_procs(struct procmap *pm, const struct pm_owners *owners,
			 struct pm_procs *out);
int __wrap_kernel_read(int nsfd, const char *procroot, struct kn_state *out, char *err,
		       size_t errlen);
int __real_kernel_read(int nsfd, const char *procroot, struct kn_state *out, char *err,
		       size_t errlen);
int __wrap_linkstats_read(int nsfd, struct ls_table *t, char *err, size_t errlen);
int __real_linkstats_read(int nsfd, struct ls_table *t, char *err, size_t errlen);
int __wrap_netns_ino(int nsfd, uint64_t *ino);
int __real_netns_ino(int nsfd, uint64_t *ino);

static struct {
	int live;               /* pass every call through to the real probes */
	int fake;               /* dump fake_socks; procmap reads the (fake) tree */
	struct sd_sock fake_socks[80];
	size_t nfake;
	int dump_fail;
	struct sd_filter filter;
	size_t owners_n;        /* n given to procmap_owners */
	uint64_t owners_netns;
	unsigned ndumps, nowners, nprocs, nkernel, nlinks, nopen, nclose, npminit;
} mock;

int __wrap_sockdiag_open(struct sockdiag *sd, int nsfd, char *err, size_t errlen)
{
	if (mock.live)
		return __real_sockdiag_open(sd, nsfd, err, errlen);
	mock.nopen++;
	memset(sd, 0, sizeof(*sd));
	return 0;
}

void __wrap_sockdiag_close(struct sockdiag *sd)
{
	if (mock.live) {
		__real_sockdiag_close(sd);
		return;
	}
	mock.nclose++;
}

int __wrap_sockdiag_dump(struct sockdiag *sd, const struct sd_filter *f, struct sd_table *t,
			 char *err, size_t errlen)
{
	static const uint32_t inos[] = { 70, 50, 0, 60, 0, 50 };
	size_t i;

	if (mock.live)
		return __real_sockdiag_dump(sd, f, t, err, errlen);
	mock.ndumps++;
	mock.filter = *f;
	if (mock.dump_fail) {
		snprintf(err, errlen, "dump failed");
		errno = EIO;
		return -1;
	}
	sd_table_reset(t);
	if (mock.fake) {
		for (i = 0; i < mock.nfake; i++) {
			struct sd_sock *k = sd_table_push(t);

			if (!k)
				return -1;
			*k = mock.fake_socks[i];
		}
		return 0;
	}
	for (i = 0; i < sizeof(inos) / sizeof(inos[0]); i++) {
		struct sd_sock *k = sd_table_push(t);

		if (!k)
			return -1;
		k->family = AF_INET;
		k->state = i == 1 ? SD_LISTEN : inos[i] ? SD_ESTABLISHED : SD_TIME_WAIT;
		k->lport = 80;
		k->ino = inos[i];
	}
	return 0;
}

int __wrap_procmap_init(struct procmap *pm, const char *root, char *err, size_t errlen)
{
	if (mock.live || mock.fake)
		return __real_procmap_init(pm, root, err, errlen);
	mock.npminit++;
	memset(pm, 0, sizeof(*pm));
	pm->denied = 0;
	return 0;
}

int __wrap_procmap_owners(struct procmap *pm, const uint32_t *inos, size_t n, uint64_t netns_ino,
			  const pid_t *pids, size_t npids, struct pm_owners *out,
			  char *err, size_t errlen)
{
	struct pm_owner *v;

	if (mock.live || mock.fake)
		return __real_procmap_owners(pm, inos, n, netns_ino, pids, npids, out, err, errlen);
	/* Runs in snapshot_take's scan thread: no cmocka assertion here, the
	 * test checks what was recorded. */
	(void)pids;
	(void)npids;
	mock.nowners++;
	mock.owners_n = n;
	(void)inos;
	mock.owners_netns = netns_ino;
	if (out->cap < 3) {
		v = realloc(out->v, 3 * sizeof(*v));
		if (v == NULL) {
			snprintf(err, errlen, "mock: out of memory");
			errno = ENOMEM;
			return -1;
		}
		out->v = v;
		out->cap = 3;
	}
	/* Every socket of the process: ino 90 is not in the dump, so the
	 * snapshot drops it. */
	out->v[0] = (struct pm_owner){ .ino = 50, .pid = 4242, .fd = 3 };
	out->v[1] = (struct pm_owner){ .ino = 70, .pid = 4242, .fd = 4 };
	out->v[2] = (struct pm_owner){ .ino = 90, .pid = 4242, .fd = 5 };
	out->len = 3;
	pm->denied = 3;
	return 0;
}

int __wrap_procmap_procs(struct procmap *pm, const struct pm_owners *owners,
			 struct pm_procs *out)
{
	if (mock.live || mock.fake)
		return __real_procmap_procs(pm, owners, out);
	mock.nprocs++;
	if (out->cap < 1) {
		out->v = calloc(1, sizeof(*out->v));
		assert_non_null(out->v);
		out->cap = 1;
	}
	memset(out->v, 0, sizeof(*out->v));
	out->v[0].pid = 4242;
	snprintf(out->v[0].comm, sizeof(out->v[0].comm), "proxyd");
	out->len = 1;
	return 0;
}

int __wrap_kernel_read(int nsfd, const char *procroot, struct kn_state *out, char *err,
		       size_t errlen)
{
	if (mock.live)
		return __real_kernel_read(nsfd, procroot, out, err, errlen);
	mock.nkernel++;
	memset(out, 0, sizeof(*out));
	out->sysctls.somaxconn = 4096;
	return 0;
}

int __wrap_linkstats_read(int nsfd, struct ls_table *t, char *err, size_t errlen)
{
	if (mock.live)
		return __real_linkstats_read(nsfd, t, err, errlen);
	mock.nlinks++;
	if (t->cap < 1) {
		t->v = calloc(1, sizeof(*t->v));
		assert_non_null(t->v);
		t->cap = 1;
	}
	t->v[0].ifindex = 1;
	t->len = 1;
	return 0;
}

int __wrap_netns_ino(int nsfd, uint64_t *ino)
{
	if (mock.live)
		return __real_netns_ino(nsfd, ino);
	*ino = 4026531840u;
	return 0;
}

static void test_snapshot_take_mocked(void **state)
{
	static const uint16_t ports[] = { 80, 8080 };
	struct snap_opts o = { .nsfd = NETNS_SELF, .want_info = 1, .want_owners = 1,
			       .ports = ports, .nports = 2 };
	struct snap_probe p;
	struct snapshot s = { 0 };
	char err[256] = "";
	void *inos, *socks, *counts;
	const struct snap_count *c;
	int i;

	(void)state;
	memset(&mock, 0, sizeof(mock));
	assert_int_equal(snap_probe_open(&p, &o, err, sizeof(err)), 0);
	assert_int_equal(mock.nopen, 1);
	assert_int_equal(mock.npminit, 1);
	assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);

	/* Every state, both sides' ports, tcp_info as asked. */
	assert_int_equal(mock.filter.states, SD_STATES_ALL);
	assert_int_equal(mock.filter.port_match, SD_PORT_LOCAL | SD_PORT_REMOTE);
	assert_int_equal(mock.filter.nports, 2);
	assert_int_equal(mock.filter.ports[1], 8080);
	assert_int_equal(mock.filter.want_info, 1);
	/* The scan, beside the dump, reads every socket of the namespace's
	 * processes; the snapshot keeps the owners of the non-zero inodes
	 * dumped (sorted and deduplicated). */
	assert_int_equal(mock.owners_n, PM_ALL_SOCKETS);
	assert_int_equal(mock.owners_netns, 4026531840u);
	assert_int_equal(p.ninos, 3);
	assert_int_equal(p.inos[0], 50);
	assert_int_equal(p.inos[1], 60);
	assert_int_equal(p.inos[2], 70);
	assert_int_equal(s.owners.len, 2);
	assert_int_equal(s.owners.v[0].ino, 50);
	assert_int_equal(s.owners.v[1].ino, 70);
	assert_null(pm_owners_find(&s.owners, 90));
	assert_int_equal(s.netns_ino, 4026531840u);
	assert_true(s.have_owners);
	assert_int_equal(s.denied, 3);
	assert_int_equal(mock.nkernel, 1);
	assert_int_equal(s.kernel.sysctls.somaxconn, 4096);
	assert_int_equal(mock.nlinks, 0);
	assert_int_equal(s.links.len, 0);
	assert_true(s.t_mono_ms > 0);
	assert_true(s.t_real_ms > 1600000000000ull);
	/* Grouped. */
	assert_int_equal(s.nlisteners, 1);
	assert_int_equal(s.owner_pids[0], 4242);
	c = snapshot_count_find(&s, 4242, 80);
	assert_non_null(c);
	assert_int_equal(c->n[SD_ESTABLISHED], 2); /* ino 70, and the second 50 */
	assert_int_equal(c->n[SD_LISTEN], 1);      /* ino 50 */
	c = snapshot_count_find(&s, 0, 80);
	assert_int_equal(c->n[SD_TIME_WAIT], 2);
	assert_int_equal(c->n[SD_ESTABLISHED], 1); /* ino 60: no owner */

	/* The steady state reuses every array. */
	inos = p.inos;
	socks = s.socks.socks;
	counts = s.counts;
	for (i = 0; i < 3; i++) {
		assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);
		assert_ptr_equal(p.inos, inos);
		assert_ptr_equal(s.socks.socks, socks);
		assert_ptr_equal(s.counts, counts);
	}

	/* An injected /proc tree: its namespace inodes are not ours to compare. */
	o.procroot = "/nonexistent/proc";
	assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);
	assert_int_equal(mock.owners_netns, 0);
	o.procroot = NULL;

	/* Links when asked; no owners when not asked. */
	o.want_links = 1;
	o.want_owners = 0;
	assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);
	assert_int_equal(mock.nlinks, 1);
	assert_int_equal(s.links.len, 1);
	assert_false(s.have_owners);
	assert_int_equal(s.lsocks[0].nowners, 0);
	assert_int_equal(mock.nowners, 5);

	/* Errors come back with the probe's message. */
	mock.dump_fail = 1;
	assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "dump failed");
	mock.dump_fail = 0;
	o.nports = SD_MAX_PORTS + 1;
	assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ports"));

	snap_probe_close(&p);
	assert_int_equal(mock.nclose, 1);
	assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), -1);
	snapshot_free(&s);
}

/* One real pass over a loopback listener of ours with a connection that was
 * never accepted: the listener, its owner and its accept queue show up. */
static void test_snapshot_take_live_listener(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct snap_opts o = { .nsfd = NETNS_SELF, .want_info = 1, .want_owners = 1 };
	struct snap_probe p;
	struct snapshot s = { 0 };
	const struct snap_listener *l;
	const struct snap_lsock *ls;
	const struct snap_count *c;
	char err[256] = "";
	uint16_t port;
	int lfd, cfd, tries;

	(void)state;
	memset(&mock, 0, sizeof(mock));
	mock.live = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(lfd, -1);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 7), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(cfd, -1);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	o.ports = &port;
	o.nports = 1;

	if (snap_probe_open(&p, &o, err, sizeof(err)) == -1) {
		close(cfd);
		close(lfd);
		mock.live = 0;
		fail_msg("snap_probe_open: %s", err);
	}
	/* The handshake completes in the kernel; allow it a few rounds. */
	for (tries = 0; tries < 50; tries++) {
		assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);
		l = find4(&s, "127.0.0.1", port);
		if (l && s.lsocks[l->first_lsock].rqueue == 1)
			break;
		poll(NULL, 0, 10);
	}
	l = find4(&s, "127.0.0.1", port);
	assert_non_null(l);
	assert_int_equal(l->nlsocks, 1);
	ls = &s.lsocks[l->first_lsock];
	assert_int_equal(ls->rqueue, 1);
	assert_int_equal(ls->wqueue, 7);
	assert_int_equal(ls->nowners, 1);
	assert_int_equal(owners_of(&s, ls)[0], getpid());
	assert_non_null(pm_procs_find(&s.procs, getpid()));
	c = snapshot_count_find(&s, getpid(), port);
	assert_non_null(c);
	assert_int_equal(c->n[SD_LISTEN], 1);
	/* The client side is ours too (matched on its remote port); the
	 * accepted side has no owner yet (queued, no file): pid 0. */
	sl = sizeof(sa);
	assert_int_equal(getsockname(cfd, (struct sockaddr *)&sa, &sl), 0);
	c = snapshot_count_find(&s, getpid(), ntohs(sa.sin_port));
	assert_non_null(c);
	assert_int_equal(c->n[SD_ESTABLISHED], 1);
	assert_false(c->is_listen_port);
	c = snapshot_count_find(&s, 0, port);
	assert_non_null(c);
	assert_int_equal(c->n[SD_ESTABLISHED], 1);
	assert_true(s.state_total[SD_ESTABLISHED] >= 2);
	snap_probe_close(&p);
	snapshot_free(&s);
	close(cfd);
	close(lfd);
	mock.live = 0;
}

/* A child process listening on 127.0.0.1 (kernel-chosen port) until
 * *hold is closed, without our fd drop; its pid and port, or -1. */
static pid_t listener_child(uint16_t *port, int *hold, int drop)
{
	int up[2], down[2];
	pid_t pid;
	char c;

	if (pipe(up) == -1)
		return -1;
	if (pipe(down) == -1) {
		close(up[0]);
		close(up[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);
		uint16_t pt = 0;
		int fd;

		close(up[0]);
		close(down[1]);
		close(drop);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd != -1 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(fd, 4) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
			pt = ntohs(sa.sin_port);
		if (write(up[1], &pt, sizeof(pt)) != (ssize_t)sizeof(pt))
			_exit(1);
		while (read(down[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	if (pid == -1 || read(up[0], port, sizeof(*port)) != (ssize_t)sizeof(*port) ||
	    *port == 0) {
		close(up[0]);
		close(down[1]);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	close(up[0]);
	*hold = down[1];
	return pid;
}

/* Stops it even when another child holds a copy of its pipe. */
static void listener_child_stop(pid_t pid, int hold)
{
	close(hold);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The owner of the only listening socket on port, or -1. */
static pid_t listen_owner(const struct snapshot *s, uint16_t port)
{
	const struct snap_listener *l = find4(s, "127.0.0.1", port);
	const struct snap_lsock *ls;

	if (!l || l->nlsocks != 1)
		return -1;
	ls = &s->lsocks[l->first_lsock];
	if (ls->nowners != 1)
		return -1;
	return owners_of(s, ls)[0];
}

/* scan_pids on the real /proc: our own listener's owner every take; a
 * foreign listener's within 3 takes (the hunt), also one that appears
 * later; an exited owner leaves the cache. */
static void test_snapshot_take_incremental_live(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct snap_opts o = { .nsfd = NETNS_SELF, .want_owners = 1 };
	struct snap_probe p;
	struct snapshot s = { 0 };
	char err[256] = "";
	uint16_t ports[3];
	pid_t self = getpid(), c1, c2;
	int lfd, h1 = -1, h2 = -1, t;

	(void)state;
	memset(&mock, 0, sizeof(mock));
	mock.live = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(lfd, -1);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	ports[0] = ntohs(sa.sin_port);
	c1 = listener_child(&ports[1], &h1, lfd);
	assert_true(c1 > 0);
	o.ports = ports;
	o.nports = 2;
	o.scan_pids = &self;
	o.nscan_pids = 1;
	assert_int_equal(snap_probe_open(&p, &o, err, sizeof(err)), 0);

	for (t = 0; t < 3; t++) {
		assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);
		assert_true(s.owners_partial);
		assert_true(p.last_read <= SNAP_SCAN_BUDGET);
		assert_int_equal(listen_owner(&s, ports[0]), self);
		if (listen_owner(&s, ports[1]) == c1)
			break;
	}
	assert_int_equal(listen_owner(&s, ports[1]), c1);
	assert_non_null(pm_procs_find(&s.procs, c1));
	assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);
	assert_int_equal(listen_owner(&s, ports[1]), c1);

	/* A listener of another process that appears later. */
	c2 = listener_child(&ports[2], &h2, lfd);
	assert_true(c2 > 0);
	o.nports = 3;
	for (t = 0; t < 3; t++) {
		assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);
		if (listen_owner(&s, ports[2]) == c2)
			break;
	}
	assert_int_equal(listen_owner(&s, ports[2]), c2);
	assert_int_equal(listen_owner(&s, ports[1]), c1);

	/* c1 exits: its listener leaves the dump, and its cached entry. */
	listener_child_stop(c1, h1);
	assert_int_equal(snapshot_take(&p, &o, &s, err, sizeof(err)), 0);
	assert_null(find4(&s, "127.0.0.1", ports[1]));
	assert_null(pm_procs_find(&s.procs, c1));
	for (size_t i = 0; i < p.cache.len; i++)
		assert_int_not_equal(p.cache.v[i].pid, c1);
	assert_int_equal(listen_owner(&s, ports[2]), c2);
	assert_int_equal(listen_owner(&s, ports[0]), self);

	listener_child_stop(c2, h2);
	snap_probe_close(&p);
	snapshot_free(&s);
	close(lfd);
	mock.live = 0;
}

/* ---- incremental owners, on a fake /proc tree ---- */

static char tree[64];

static void tree_put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A process with nfds fds, every one a socket: inode ino0 + i at fd i. */
static void tree_proc(pid_t pid, unsigned nfds, uint32_t ino0)
{
	char path[256], text[256];

	snprintf(path, sizeof(path), "%s/%d", tree, (int)pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/fd", tree, (int)pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%d/stat", (int)pid);
	snprintf(text, sizeof(text), "%d (p%d) S 1 %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 "
		 "0 0\n", (int)pid, (int)pid, (int)pid, (int)pid);
	tree_put(path, text);
	snprintf(path, sizeof(path), "%d/status", (int)pid);
	tree_put(path, "Name:\tp\nUid:\t0\t0\t0\t0\n");
	for (unsigned i = 0; i < nfds; i++) {
		char link[32];

		snprintf(path, sizeof(path), "%s/%d/fd/%u", tree, (int)pid, i);
		snprintf(link, sizeof(link), "socket:[%u]", ino0 + i);
		assert_int_equal(symlink(link, path), 0);
	}
}

static void tree_close_fd(pid_t pid, unsigned fd)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%d/fd/%u", tree, (int)pid, fd);
	assert_int_equal(unlink(path), 0);
}

static int tree_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tree_rm(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	assert_int_equal(nftw(path, tree_rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static int tree_setup(void **state)
{
	(void)state;
	snprintf(tree, sizeof(tree), "/tmp/test_snapshot.XXXXXX");
	if (!mkdtemp(tree))
		return -1;
	tree_put("stat", "cpu  1 2 3 4\nbtime 1700000000\n");
	memset(&mock, 0, sizeof(mock));
	mock.fake = 1;
	return 0;
}

static int tree_teardown(void **state)
{
	(void)state;
	mock.fake = 0;
	return nftw(tree, tree_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void fake_sock(unsigned state, uint16_t lport, uint32_t ino)
{
	struct sd_sock *k;

	assert_true(mock.nfake < sizeof(mock.fake_socks) / sizeof(mock.fake_socks[0]));
	k = &mock.fake_socks[mock.nfake++];
	memset(k, 0, sizeof(*k));
	k->family = AF_INET;
	k->laddr[0] = 127;
	k->laddr[3] = 1;
	k->state = (uint8_t)state;
	k->lport = lport;
	k->rport = state == SD_LISTEN ? 0 : 40000;
	k->ino = ino;
}

static void fake_unsock(uint32_t ino)
{
	for (size_t i = 0; i < mock.nfake; i++)
		if (mock.fake_socks[i].ino == ino) {
			mock.fake_socks[i] = mock.fake_socks[--mock.nfake];
			return;
		}
	fail_msg("no socket %u", ino);
}

/* The owner pids of ino in s, as one number (a single owner: its pid; none: 0). */
static pid_t owner_of(const struct snapshot *s, uint32_t ino)
{
	const struct pm_owner *o = pm_owners_find(&s->owners, ino);

	if (!o)
		return 0;
	assert_true(o + 1 == s->owners.v + s->owners.len || o[1].ino != ino);
	return o->pid;
}

static uint32_t count_of(const struct snapshot *s, pid_t pid, uint16_t lport, unsigned state)
{
	const struct snap_count *c = snapshot_count_find(s, pid, lport);

	return c ? c->n[state] : 0;
}

/*
 * pid 5      the supervisor (scan_pids): socket 500, listening on :80
 * pid 10     3 fds, sockets 1000-1002, established on :80
 * pid 20     40 fds, sockets 2000-2039, established on :80
 * pid 30     5 fds, sockets 3000-3004, established on :80
 * A sweep costs (2 + 3) + (2 + 40) + (2 + 5) = 54 units (5 is skipped).
 */
static void tree_standard(void)
{
	uint32_t i;

	tree_proc(5, 1, 500);
	tree_proc(10, 3, 1000);
	tree_proc(20, 40, 2000);
	tree_proc(30, 5, 3000);
	mock.nfake = 0;
	fake_sock(SD_LISTEN, 80, 500);
	for (i = 0; i < 3; i++)
		fake_sock(SD_ESTABLISHED, 80, 1000 + i);
	for (i = 0; i < 40; i++)
		fake_sock(SD_ESTABLISHED, 80, 2000 + i);
	for (i = 0; i < 5; i++)
		fake_sock(SD_ESTABLISHED, 80, 3000 + i);
}

static int u32_has(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

static void take(struct snap_probe *p, const struct snap_opts *o, struct snapshot *s)
{
	char err[256] = "";

	if (snapshot_take(p, o, s, err, sizeof(err)) == -1)
		fail_msg("snapshot_take: %s", err);
}

/* Budget 10 a take: no take reads more; the sweep goes on where it stopped,
 * inside the 40 fds of pid 20 too, and ends after 54 units; the next one
 * begins full_every takes after it began. */
static void test_snapshot_incremental_budget_resumes(void **state)
{
	static const pid_t self = 5;
	struct snap_opts o = { .nsfd = NETNS_SELF, .want_owners = 1, .procroot = tree,
			       .scan_pids = &self, .nscan_pids = 1, .scan_budget = 10,
			       .full_every = 8 };
	static const uint32_t pid20[] = { 3, 13, 23, 33, 40, 40 };
	static const uint32_t pid30[] = { 0, 0, 0, 0, 1, 5 };
	struct snap_probe p;
	struct snapshot s = { 0 };
	char err[256] = "";
	int t;

	(void)state;
	tree_standard();
	assert_int_equal(snap_probe_open(&p, &o, err, sizeof(err)), 0);
	for (t = 0; t < 6; t++) {
		take(&p, &o, &s);
		assert_true(s.owners_partial);
		assert_true(p.last_read <= 10);
		/* Our own fds, every take. */
		assert_int_equal(owner_of(&s, 500), 5);
		assert_int_equal(count_of(&s, 5, 80, SD_LISTEN), 1);
		assert_int_equal(owner_of(&s, 1000), 10);
		assert_int_equal(count_of(&s, 20, 80, SD_ESTABLISHED), pid20[t]);
		assert_int_equal(count_of(&s, 30, 80, SD_ESTABLISHED), pid30[t]);
		assert_int_equal(count_of(&s, 0, 80, SD_ESTABLISHED),
				 40 - pid20[t] + 5 - pid30[t]);
		assert_int_equal(p.full_scans, t < 5 ? 0 : 1);
		assert_int_equal(p.hunts, 0);
	}
	assert_int_equal(owner_of(&s, 3004), 30);
	assert_int_equal(count_of(&s, 30, 80, SD_ESTABLISHED), 5);
	assert_non_null(pm_procs_find(&s.procs, 20));
	assert_int_equal(pm_procs_find(&s.procs, 20)->nfds, 40);
	assert_false(p.sweep.active);
	/* Until full_every (8) takes after the sweep began, nothing is read;
	 * the owners stay. */
	take(&p, &o, &s);
	assert_int_equal(p.last_read, 0);
	assert_int_equal(count_of(&s, 20, 80, SD_ESTABLISHED), 40);
	take(&p, &o, &s);
	assert_int_equal(p.last_read, 0);
	take(&p, &o, &s);
	assert_true(p.sweep.active);
	assert_int_equal(p.last_read, 10);
	assert_int_equal(count_of(&s, 20, 80, SD_ESTABLISHED), 40);

	snap_probe_close(&p);
	snapshot_free(&s);
	tree_rm("5");
	tree_rm("10");
	tree_rm("20");
	tree_rm("30");
}

/* Entries leave the cache when their socket leaves the dump, when their
 * process exits, and when their process, read again, no longer holds them. */
static void test_snapshot_incremental_ages_out(void **state)
{
	static const pid_t self = 5;
	struct snap_opts o = { .nsfd = NETNS_SELF, .want_owners = 1, .procroot = tree,
			       .scan_pids = &self, .nscan_pids = 1, .scan_budget = 1000,
			       .full_every = 2 };
	struct snap_probe p;
	struct snapshot s = { 0 };
	char err[256] = "";

	(void)state;
	tree_standard();
	assert_int_equal(snap_probe_open(&p, &o, err, sizeof(err)), 0);
	take(&p, &o, &s);
	assert_int_equal(p.full_scans, 1);
	assert_int_equal(owner_of(&s, 3000), 30);
	assert_int_equal(owner_of(&s, 2007), 20);
	assert_non_null(pm_owners_find(&p.cache, 1002));

	/* The socket closes: out of the dump, out of the cache at once. */
	fake_unsock(1002);
	take(&p, &o, &s);
	assert_int_equal(p.last_read, 0);
	assert_null(pm_owners_find(&p.cache, 1002));
	assert_null(pm_owners_find(&s.owners, 1002));
	assert_int_equal(count_of(&s, 10, 80, SD_ESTABLISHED), 2);

	/* Process 30 exits (its sockets linger in the dump): its entries go
	 * with it. */
	tree_rm("30");
	take(&p, &o, &s);
	assert_int_equal(p.full_scans, 2);
	assert_null(pm_procs_find(&s.procs, 30));
	assert_null(pm_owners_find(&p.cache, 3000));
	assert_int_equal(count_of(&s, 0, 80, SD_ESTABLISHED), 5);

	/* Process 20 drops fd 7 while socket 2007 lives on elsewhere: the next
	 * sweep that reads 20 to its end drops the entry. */
	tree_close_fd(20, 7);
	take(&p, &o, &s);
	assert_int_equal(p.last_read, 0);
	assert_int_equal(owner_of(&s, 2007), 20);
	take(&p, &o, &s);
	assert_int_equal(p.full_scans, 3);
	assert_int_equal(owner_of(&s, 2007), 0);
	assert_int_equal(owner_of(&s, 2008), 20);
	assert_int_equal(count_of(&s, 20, 80, SD_ESTABLISHED), 39);

	snap_probe_close(&p);
	snapshot_free(&s);
	tree_rm("5");
	tree_rm("10");
	tree_rm("20");
	for (uint32_t i = 0; i < 5; i++)
		fake_unsock(3000 + i);
}

/* A new listening socket gets its owner from the hunt in the next take,
 * while the sweep is busy in pid 20; a listening socket nobody holds is
 * looked for once, then known. */
static void test_snapshot_incremental_new_listener(void **state)
{
	static const pid_t self = 5;
	struct snap_opts o = { .nsfd = NETNS_SELF, .want_owners = 1, .procroot = tree,
			       .scan_pids = &self, .nscan_pids = 1, .scan_budget = 10,
			       .full_every = 8 };
	struct snap_probe p;
	struct snapshot s = { 0 };
	char err[256] = "";
	int t;

	(void)state;
	tree_standard();
	assert_int_equal(snap_probe_open(&p, &o, err, sizeof(err)), 0);
	for (t = 0; t < 6; t++)
		take(&p, &o, &s);
	assert_int_equal(p.full_scans, 1);
	for (t = 0; t < 3; t++)
		take(&p, &o, &s);
	/* The second sweep has begun and is in pid 20. */
	assert_true(p.sweep.active);
	assert_int_equal(p.sweep.cur, 20);

	/* Process 40 (3 fds) listens on :8080. The take that dumps it has
	 * spent its budget on the sweep: the hunt begins and reads in the next
	 * take, 40 first (no pass has read it). */
	tree_proc(40, 3, 4000);
	fake_sock(SD_LISTEN, 8080, 4000);
	take(&p, &o, &s);
	assert_int_equal(p.hunts, 1);
	assert_true(p.hunt.active);
	take(&p, &o, &s);
	assert_int_equal(owner_of(&s, 4000), 40);
	assert_non_null(find4(&s, "127.0.0.1", 8080));
	assert_int_equal(s.lsocks[find4(&s, "127.0.0.1", 8080)->first_lsock].nowners, 1);
	assert_false(p.hunt.active);
	assert_true(p.sweep.active);
	assert_true(p.last_read <= 10);

	/* A half-closed socket nobody holds: one hunt reads every process,
	 * then the inode is known and hunted no more. */
	fake_sock(SD_CLOSE_WAIT, 80, 9000);
	for (t = 0; t < 20 && (p.hunts < 2 || p.hunt.active); t++) {
		take(&p, &o, &s);
		assert_true(p.last_read <= 10);
	}
	assert_int_equal(p.hunts, 2);
	assert_false(p.hunt.active);
	assert_true(u32_has(p.known, p.nknown, 9000));
	for (t = 0; t < 3; t++)
		take(&p, &o, &s);
	assert_int_equal(p.hunts, 2);
	assert_int_equal(owner_of(&s, 9000), 0);
	assert_int_equal(count_of(&s, 0, 80, SD_CLOSE_WAIT), 1);

	/* When the listener's owner exits and the socket lingers (held by a
	 * process no pass has read), it is hunted again. */
	tree_rm("40");
	tree_proc(41, 1, 4000);
	take(&p, &o, &s);
	take(&p, &o, &s);
	take(&p, &o, &s);
	assert_int_equal(owner_of(&s, 4000), 41);
	assert_int_equal(p.hunts, 3);

	snap_probe_close(&p);
	snapshot_free(&s);
	tree_rm("5");
	tree_rm("10");
	tree_rm("20");
	tree_rm("30");
	tree_rm("41");
	mock.nfake = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_group_reuseport_sockets),
		cmocka_unit_test(test_snapshot_group_shared_owners),
		cmocka_unit_test(test_snapshot_group_unknown_owner),
		cmocka_unit_test(test_snapshot_group_counts_and_idle),
		cmocka_unit_test(test_snapshot_group_shared_socket_counts),
		cmocka_unit_test(test_snapshot_group_without_owners),
		cmocka_unit_test(test_snapshot_listener_find_lookups),
		cmocka_unit_test(test_snapshot_group_regroup_reuses_arrays),
		cmocka_unit_test(test_snapshot_take_mocked),
		cmocka_unit_test(test_snapshot_take_live_listener),
		cmocka_unit_test(test_snapshot_take_incremental_live),
	};
	const struct CMUnitTest fake[] = {
		cmocka_unit_test(test_snapshot_incremental_budget_resumes),
		cmocka_unit_test(test_snapshot_incremental_ages_out),
		cmocka_unit_test(test_snapshot_incremental_new_listener),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rc += cmocka_run_group_tests_name("snapshot_incremental", fake, tree_setup, tree_teardown);
	return rc != 0;
}
