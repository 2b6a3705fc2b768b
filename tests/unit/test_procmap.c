#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "probes/procmap.h"

#define NS_A 4026531993ULL
#define NS_B 4026532000ULL
#define BTIME 1700000000ULL

static char root[256];

static void put_file(const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put_str(const char *rel, const char *s)
{
	put_file(rel, s, strlen(s));
}

static void put_dir(const char *rel)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void put_link(const char *rel, const char *target)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* stat line with the given comm, state, ppid and starttime (field 22). */
static void put_stat(pid_t pid, const char *comm, char state, pid_t ppid, unsigned long long start)
{
	char rel[64], line[512];

	snprintf(rel, sizeof(rel), "%ld/stat", (long)pid);
	snprintf(line, sizeof(line),
		 "%ld (%s) %c %ld %ld %ld 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 %llu "
		 "1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		 (long)pid, comm, state, (long)ppid, (long)pid, (long)pid, start);
	put_str(rel, line);
}

static void put_status(pid_t pid, unsigned uid)
{
	char rel[64], text[512];

	snprintf(rel, sizeof(rel), "%ld/status", (long)pid);
	snprintf(text, sizeof(text),
		 "Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%ld\nNgid:\t0\n"
		 "Pid:\t%ld\nPPid:\t1\nTracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\n"
		 "Gid:\t0\t0\t0\t0\nFDSize:\t64\n",
		 (long)pid, (long)pid, uid, uid + 1, uid + 2, uid + 3);
	put_str(rel, text);
}

/*
 * ROOT/stat         btime BTIME
 * ROOT/100          comm "we ) (ird x", uid 1000, netns A,
 *                   fds 0 /dev/null, 3 socket:[123], 4 pipe:[9], 6 socket:[456],
 *                   7 socket:[4294967296] (not a 32-bit inode)
 * ROOT/200          comm longer than 15, netns B, no exe, long cmdline,
 *                   fds 7 socket:[123] (shared with 100), 8 socket:[789], 9 "socket:[456"
 * ROOT/300          netns A, no fd directory: exited while being scanned
 * ROOT/400          an empty directory: exited before anything was read
 * ROOT/self, ROOT/net, ROOT/12ab: not processes
 */
static int setup_tree(void **state)
{
	static const char cmdline[] = "fake\0-x\0arg one\0";
	char longcmd[600];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_procmap.XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	put_str("stat", "cpu  10 20 30 40\ncpu0 10 20 30 40\nintr 5 1 2 3\nctxt 99\n"
		"btime 1700000000\nprocesses 400\nprocs_running 1\n");
	put_dir("net");
	put_dir("12ab");
	put_link("self", "100");

	put_dir("100");
	put_stat(100, "we ) (ird x", 'S', 1, 12345);
	put_status(100, 1000);
	put_file("100/cmdline", cmdline, sizeof(cmdline) - 1);
	put_link("100/exe", "/usr/bin/fake");
	put_dir("100/ns");
	put_link("100/ns/net", "net:[4026531993]");
	put_dir("100/fd");
	put_link("100/fd/0", "/dev/null");
	put_link("100/fd/3", "socket:[123]");
	put_link("100/fd/4", "pipe:[9]");
	put_link("100/fd/6", "socket:[456]");
	put_link("100/fd/7", "socket:[4294967296]");

	put_dir("200");
	put_stat(200, "a-very-long-command-name", 'R', 100, 500);
	put_status(200, 0);
	memset(longcmd, 'c', sizeof(longcmd));
	longcmd[10] = '\0';
	put_file("200/cmdline", longcmd, sizeof(longcmd));
	put_dir("200/ns");
	put_link("200/ns/net", "net:[4026532000]");
	put_dir("200/fd");
	put_link("200/fd/7", "socket:[123]");
	put_link("200/fd/8", "socket:[789]");
	put_link("200/fd/9", "socket:[456");

	put_dir("300");
	put_stat(300, "gone", 'Z', 1, 700);
	put_status(300, 0);
	put_dir("300/ns");
	put_link("300/ns/net", "net:[4026531993]");
	put_dir("400");
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown_tree(void **state)
{
	(void)state;
	return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void init_fake(struct procmap *pm)
{
	char err[256] = "";

	assert_int_equal(procmap_init(pm, root, err, sizeof(err)), 0);
}

static void assert_owner(const struct pm_owner *o, uint32_t ino, pid_t pid, int fd)
{
	assert_int_equal(o->ino, ino);
	assert_int_equal(o->pid, pid);
	assert_int_equal(o->fd, fd);
}

static void test_procmap_init_btime(void **state)
{
	struct procmap pm;

	(void)state;
	init_fake(&pm);
	assert_int_equal(pm.btime_ms, BTIME * 1000);
	assert_true(pm.clk_tck > 0);
	assert_string_equal(pm.root, root);
}

static void test_procmap_init_no_btime(void **state)
{
	struct procmap pm;
	char err[256] = "";
	char sub[PATH_MAX + 16];

	(void)state;
	/* ROOT/100 has no "stat" with btime in it: its stat is a process's. */
	snprintf(sub, sizeof(sub), "%s/100", root);
	assert_int_equal(procmap_init(&pm, sub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "btime"));
	snprintf(sub, sizeof(sub), "%s/absent", root);
	assert_int_equal(procmap_init(&pm, sub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent"));
}

static void test_procmap_owners_asked_only(void **state)
{
	static const uint32_t inos[] = { 123, 456 };
	struct pm_owners o = { 0 };
	struct procmap pm;
	const struct pm_owner *f;
	char err[256] = "";

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_owners(&pm, inos, 2, 0, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 3);
	assert_owner(&o.v[0], 123, 100, 3);
	assert_owner(&o.v[1], 123, 200, 7);
	assert_owner(&o.v[2], 456, 100, 6);
	assert_int_equal(pm.vanished, 2);
	assert_int_equal(pm.denied, 0);

	/* Shared socket: the first entry, then the next owner right after. */
	f = pm_owners_find(&o, 123);
	assert_ptr_equal(f, &o.v[0]);
	assert_int_equal(f[1].ino, 123);
	assert_int_equal(f[1].pid, 200);
	assert_ptr_equal(pm_owners_find(&o, 456), &o.v[2]);
	assert_null(pm_owners_find(&o, 789));
	assert_null(pm_owners_find(&o, 9));
	assert_null(pm_owners_find(&o, 1));

	/* Every scanned process with its fd count. */
	assert_int_equal(o.nscanned, 2);
	assert_int_equal(o.scanned[0].pid, 100);
	assert_int_equal(o.scanned[0].nfds, 5);
	assert_int_equal(o.scanned[1].pid, 200);
	assert_int_equal(o.scanned[1].nfds, 3);
	pm_owners_free(&o);
	assert_null(o.v);
	assert_int_equal(o.len, 0);
}

static void test_procmap_owners_other_inode(void **state)
{
	static const uint32_t inos[] = { 789 };
	static const uint32_t none[] = { 5 };
	struct pm_owners o = { 0 };
	struct procmap pm;
	char err[256] = "";

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_owners(&pm, inos, 1, 0, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 1);
	assert_owner(&o.v[0], 789, 200, 8);
	/* The table is replaced, not appended to. */
	assert_int_equal(procmap_owners(&pm, none, 1, 0, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 0);
	assert_int_equal(procmap_owners(&pm, NULL, 0, 0, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 0);
	assert_int_equal(o.nscanned, 2);
	pm_owners_free(&o);
}

static void test_procmap_owners_netns(void **state)
{
	static const uint32_t inos[] = { 123, 456, 789 };
	struct pm_owners o = { 0 };
	struct procmap pm;
	char err[256] = "";

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_owners(&pm, inos, 3, NS_A, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 2);
	assert_owner(&o.v[0], 123, 100, 3);
	assert_owner(&o.v[1], 456, 100, 6);
	assert_int_equal(pm.vanished, 2);
	assert_int_equal(o.nscanned, 1);

	assert_int_equal(procmap_owners(&pm, inos, 3, NS_B, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 2);
	assert_owner(&o.v[0], 123, 200, 7);
	assert_owner(&o.v[1], 789, 200, 8);
	/* 300 is in A: skipped before its fd directory is looked at; 400 has
	 * no namespace link any more. */
	assert_int_equal(pm.vanished, 1);

	assert_int_equal(procmap_owners(&pm, inos, 3, 42, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 0);
	pm_owners_free(&o);
}

static void test_procmap_owners_pids(void **state)
{
	static const uint32_t inos[] = { 123, 456, 789 };
	static const pid_t pids[] = { 200, 999, 200 };
	static const pid_t one[] = { 100 };
	struct pm_owners o = { 0 };
	struct procmap pm;
	char err[256] = "";

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_owners(&pm, inos, 3, 0, pids, 3, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 2);
	assert_owner(&o.v[0], 123, 200, 7);
	assert_owner(&o.v[1], 789, 200, 8);
	assert_int_equal(pm.vanished, 1);
	assert_int_equal(o.nscanned, 1);

	/* pid and namespace filters together. */
	assert_int_equal(procmap_owners(&pm, inos, 3, NS_B, one, 1, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 0);
	assert_int_equal(procmap_owners(&pm, inos, 3, NS_A, one, 1, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 2);
	pm_owners_free(&o);
}

/* Without privilege an unreadable fd directory is counted as denied; root
 * reads it anyway, so the case can only be made when not root. */
static void test_procmap_owners_denied(void **state)
{
	static const uint32_t inos[] = { 123 };
	struct pm_owners o = { 0 };
	struct procmap pm;
	char err[256] = "";
	char path[512];

	(void)state;
	if (geteuid() == 0)
		skip();
	init_fake(&pm);
	put_dir("500");
	put_dir("500/fd");
	snprintf(path, sizeof(path), "%s/500/fd", root);
	assert_int_equal(chmod(path, 0), 0);
	assert_int_equal(procmap_owners(&pm, inos, 1, 0, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(pm.denied, 1);
	assert_int_equal(pm.vanished, 2);
	assert_int_equal(o.len, 2);
	assert_int_equal(rmdir(path), 0);
	snprintf(path, sizeof(path), "%s/500", root);
	assert_int_equal(rmdir(path), 0);
	pm_owners_free(&o);
}

static void test_procmap_owners_bad_root(void **state)
{
	static const uint32_t inos[] = { 123 };
	struct pm_owners o = { 0 };
	struct procmap pm;
	char err[256] = "";

	(void)state;
	init_fake(&pm);
	snprintf(pm.root, sizeof(pm.root), "%s/absent", root);
	assert_int_equal(procmap_owners(&pm, inos, 1, 0, NULL, 0, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent"));
	pm_owners_free(&o);
}

static void test_procmap_proc_fake(void **state)
{
	struct procmap pm;
	struct pm_proc p;

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_proc(&pm, 100, &p), 0);
	assert_int_equal(p.pid, 100);
	assert_int_equal(p.ppid, 1);
	assert_int_equal(p.state, 'S');
	assert_int_equal(p.uid, 1000);
	assert_string_equal(p.comm, "we ) (ird x");
	assert_string_equal(p.exe, "/usr/bin/fake");
	assert_int_equal(p.exe_denied, 0);
	assert_string_equal(p.cmdline, "fake -x arg one");
	assert_int_equal(p.netns_ino, NS_A);
	assert_int_equal(p.nfds, 0);
	assert_int_equal(p.start_ms, BTIME * 1000 + 12345ULL * 1000 / (uint64_t)pm.clk_tck);
}

static void test_procmap_proc_start_ms(void **state)
{
	struct procmap pm;
	struct pm_proc p;

	(void)state;
	init_fake(&pm);
	pm.clk_tck = 250;
	assert_int_equal(procmap_proc(&pm, 100, &p), 0);
	/* 12345 ticks at 250 Hz = 49.38 s after boot. */
	assert_int_equal(p.start_ms, 1700000000000ULL + 49380);
	pm.clk_tck = 100;
	assert_int_equal(procmap_proc(&pm, 200, &p), 0);
	assert_int_equal(p.start_ms, 1700000000000ULL + 5000);
}

static void test_procmap_proc_truncated(void **state)
{
	struct procmap pm;
	struct pm_proc p;
	size_t i;

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_proc(&pm, 200, &p), 0);
	assert_int_equal(p.ppid, 100);
	assert_int_equal(p.state, 'R');
	assert_int_equal(p.uid, 0);
	assert_int_equal(strlen(p.comm), sizeof(p.comm) - 1);
	assert_memory_equal(p.comm, "a-very-long-com", sizeof(p.comm) - 1);
	/* No exe link: empty, but not for lack of permission. */
	assert_string_equal(p.exe, "");
	assert_int_equal(p.exe_denied, 0);
	assert_int_equal(strlen(p.cmdline), sizeof(p.cmdline) - 1);
	for (i = 0; i < sizeof(p.cmdline) - 1; i++)
		assert_int_equal(p.cmdline[i], i == 10 ? ' ' : 'c');
	assert_int_equal(p.netns_ino, NS_B);
}

static void test_procmap_proc_gone(void **state)
{
	struct procmap pm;
	struct pm_proc p;

	(void)state;
	init_fake(&pm);
	errno = 0;
	assert_int_equal(procmap_proc(&pm, 999, &p), -1);
	assert_int_equal(errno, ENOENT);
	/* A pid directory without a stat file has gone as well. */
	errno = 0;
	assert_int_equal(procmap_proc(&pm, 400, &p), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_procmap_procs_sorted(void **state)
{
	static const uint32_t inos[] = { 123, 456, 789 };
	struct pm_owners o = { 0 };
	struct pm_procs ps = { 0 };
	struct procmap pm;
	const struct pm_proc *p;
	char err[256] = "";

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_owners(&pm, inos, 3, 0, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 4);
	assert_int_equal(procmap_procs(&pm, &o, &ps), 0);
	assert_int_equal(ps.len, 2);
	assert_int_equal(ps.v[0].pid, 100);
	assert_int_equal(ps.v[1].pid, 200);
	assert_int_equal(ps.v[0].nfds, 5);
	assert_int_equal(ps.v[1].nfds, 3);
	p = pm_procs_find(&ps, 200);
	assert_ptr_equal(p, &ps.v[1]);
	assert_int_equal(p->ppid, 100);
	assert_ptr_equal(pm_procs_find(&ps, 100), &ps.v[0]);
	assert_null(pm_procs_find(&ps, 150));
	assert_null(pm_procs_find(&ps, 1));
	assert_null(pm_procs_find(&ps, 300));
	pm_owners_free(&o);
	pm_procs_free(&ps);
	assert_null(ps.v);
}

static void test_procmap_procs_by_hand(void **state)
{
	/* Not sorted by pid, one vanished pid, one pid twice. */
	struct pm_owner v[] = {
		{ .ino = 1, .pid = 300, .fd = 3 }, /* stat present, but a zombie */
		{ .ino = 2, .pid = 999, .fd = 4 }, /* gone */
		{ .ino = 3, .pid = 200, .fd = 5 },
		{ .ino = 4, .pid = 100, .fd = 6 },
		{ .ino = 5, .pid = 200, .fd = 7 },
	};
	struct pm_owners o = { .v = v, .len = 5, .cap = 5 };
	struct pm_procs ps = { 0 };
	struct pm_procs empty_out = { 0 };
	struct pm_owners empty = { 0 };
	struct procmap pm;

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_procs(&pm, &o, &ps), 0);
	assert_int_equal(ps.len, 3);
	assert_int_equal(ps.v[0].pid, 100);
	assert_int_equal(ps.v[1].pid, 200);
	assert_int_equal(ps.v[2].pid, 300);
	assert_int_equal(ps.v[2].state, 'Z');
	assert_int_equal(ps.v[0].nfds, 0);
	assert_null(pm_procs_find(&ps, 999));
	/* Replaced on a second call. */
	assert_int_equal(procmap_procs(&pm, &empty, &ps), 0);
	assert_int_equal(ps.len, 0);
	assert_null(pm_procs_find(&ps, 100));
	assert_int_equal(procmap_procs(&pm, &empty, &empty_out), 0);
	pm_procs_free(&ps);
	pm_procs_free(&empty_out);
}

/* A tree of PAR_PROCS processes, enough for every worker thread to take
 * some: process i (pid 1000 + i) holds socket PAR_INO0 + i at fd 5, the
 * shared socket PAR_SHARED at fd 3, and (odd i) its own socket a second time
 * at fd 4 (a dup). The merged table must come out sorted by (ino, pid, fd)
 * whatever thread read what. */
#define PAR_PROCS 64
#define PAR_INO0 5000u
#define PAR_SHARED 90000u

static void par_tree(char dir[sizeof(root)])
{
	char saved[sizeof(root)], rel[64], target[64];
	int i;

	memcpy(saved, root, sizeof(root));
	snprintf(dir, sizeof(root), "%.200s/par", saved);
	put_dir("par");
	memcpy(root, dir, sizeof(root));
	put_str("stat", "btime 1700000000\n");
	for (i = 0; i < PAR_PROCS; i++) {
		snprintf(rel, sizeof(rel), "%d", 1000 + i);
		put_dir(rel);
		snprintf(rel, sizeof(rel), "%d/fd", 1000 + i);
		put_dir(rel);
		snprintf(rel, sizeof(rel), "%d/fd/3", 1000 + i);
		snprintf(target, sizeof(target), "socket:[%u]", PAR_SHARED);
		put_link(rel, target);
		snprintf(rel, sizeof(rel), "%d/fd/5", 1000 + i);
		snprintf(target, sizeof(target), "socket:[%u]", PAR_INO0 + (unsigned)i);
		put_link(rel, target);
		if (i % 2) {
			snprintf(rel, sizeof(rel), "%d/fd/4", 1000 + i);
			put_link(rel, target);
		}
	}
	memcpy(root, saved, sizeof(root));
}

static void test_procmap_owners_parallel(void **state)
{
	uint32_t inos[PAR_PROCS / 2 + 1];
	struct pm_owners o = { 0 };
	struct procmap pm;
	char dir[sizeof(root)], err[256] = "";
	size_t i, n = 0, nshared = 0;
	int k;

	(void)state;
	par_tree(dir);
	assert_int_equal(procmap_init(&pm, dir, err, sizeof(err)), 0);

	/* Every socket. */
	assert_int_equal(procmap_owners(&pm, NULL, PM_ALL_SOCKETS, 0, NULL, 0, &o, err,
					sizeof(err)), 0);
	assert_int_equal(o.len, PAR_PROCS * 2 + PAR_PROCS / 2);
	for (i = 1; i < o.len; i++) {
		const struct pm_owner *a = &o.v[i - 1], *b = &o.v[i];

		assert_true(a->ino < b->ino || (a->ino == b->ino && a->pid < b->pid) ||
			    (a->ino == b->ino && a->pid == b->pid && a->fd < b->fd));
	}
	assert_int_equal(o.nscanned, PAR_PROCS);
	for (i = 0; i < o.nscanned; i++) {
		assert_int_equal(o.scanned[i].pid, 1000 + (pid_t)i);
		assert_int_equal(o.scanned[i].nfds, i % 2 ? 3 : 2);
	}
	assert_int_equal(pm.vanished, 0);
	assert_int_equal(pm.denied, 0);

	/* Asked for: the even processes' sockets and the shared one. */
	for (k = 0; k < PAR_PROCS; k += 2)
		inos[n++] = PAR_INO0 + (unsigned)k;
	inos[n++] = PAR_SHARED;
	assert_int_equal(procmap_owners(&pm, inos, n, 0, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, PAR_PROCS / 2 + PAR_PROCS);
	for (i = 0; i < PAR_PROCS / 2; i++)
		assert_owner(&o.v[i], PAR_INO0 + 2 * (unsigned)i, 1000 + 2 * (pid_t)i, 5);
	for (; i < o.len; i++) {
		assert_owner(&o.v[i], PAR_SHARED, 1000 + (pid_t)nshared, 3);
		nshared++;
	}
	assert_int_equal(nshared, PAR_PROCS);
	pm_owners_free(&o);
}

/* ---- sweeps ---- */

/* Whether out holds (ino, pid, fd). */
static int has_owner(const struct pm_owners *o, uint32_t ino, pid_t pid, int fd)
{
	for (size_t i = 0; i < o->len; i++)
		if (o->v[i].ino == ino && o->v[i].pid == pid && o->v[i].fd == fd)
			return 1;
	return 0;
}

static uint32_t scanned_nfds(const struct pm_owners *o, pid_t pid)
{
	uint32_t n = 0;

	for (size_t i = 0; i < o->nscanned; i++)
		if (o->scanned[i].pid == pid)
			n = o->scanned[i].nfds;
	return n;
}

/* Budget 3 a step: no step spends more, the pass goes on where the last
 * step stopped (inside a process too), and a process read in full hands
 * out every socket with its fd count. */
static void test_procmap_sweep_budget_resumes(void **state)
{
	struct pm_sweep_opts so = { .order = PM_SWEEP_BY_PID };
	struct pm_sweep sw = { 0 };
	struct pm_owners o = { 0 };
	struct procmap pm;
	char err[256] = "";
	int rc = 0, steps = 0;

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_sweep_begin(&pm, &sw, &so, err, sizeof(err)), 0);
	assert_true(sw.active);
	assert_int_equal(sw.npids, 4);
	assert_int_equal(sw.pids[0], 100);
	assert_int_equal(sw.pids[3], 400);
	/* 100: 2 + 5 fds, 200: 2 + 3, 300 and 400: 2 each (no fd directory):
	 * 16 units. */
	while (rc == 0) {
		size_t budget = 3;

		rc = procmap_sweep_step(&pm, &sw, &budget, NULL, 0, &o, err, sizeof(err));
		assert_true(rc == 0 || rc == 1);
		assert_true(budget <= 3);
		if (rc == 0)
			assert_true(budget < PM_SWEEP_PROC_COST);
		steps++;
		assert_true(steps <= 7);
		if (steps == 1) {
			/* Inside 100: it is not finished yet. */
			assert_int_equal(sw.cur, 100);
			assert_int_equal(o.nscanned, 0);
		}
	}
	assert_true(steps >= 6);
	assert_false(sw.active);
	assert_int_equal(sw.fds, 8);
	assert_int_equal(sw.vanished, 2);
	assert_int_equal(sw.denied, 0);
	assert_int_equal(o.nscanned, 2);
	assert_int_equal(scanned_nfds(&o, 100), 5);
	assert_int_equal(scanned_nfds(&o, 200), 3);
	assert_true(has_owner(&o, 123, 100, 3));
	assert_true(has_owner(&o, 456, 100, 6));
	assert_true(has_owner(&o, 123, 200, 7));
	assert_true(has_owner(&o, 789, 200, 8));
	/* Nothing else: the malformed links are not sockets. */
	for (size_t i = 0; i < o.len; i++)
		assert_true(o.v[i].ino == 123 || o.v[i].ino == 456 || o.v[i].ino == 789);
	/* An ended pass steps no more. */
	{
		size_t budget = 3;

		assert_int_equal(procmap_sweep_step(&pm, &sw, &budget, NULL, 0, &o, err,
						    sizeof(err)), 1);
		assert_int_equal(budget, 3);
	}
	procmap_sweep_free(&sw);
	pm_owners_free(&o);
}

/* By size: processes without a hint first; stop inodes end the pass as soon
 * as they are seen; skipped pids and other namespaces are not read. */
static void test_procmap_sweep_by_size_stop(void **state)
{
	static const struct pm_fdcount hint[] = { { 100, 5 } };
	static const uint32_t stop[] = { 789 };
	static const pid_t skip[] = { 100 };
	struct pm_sweep_opts so = {
		.order = PM_SWEEP_BY_SIZE, .hint = hint, .nhint = 1, .stop = stop, .nstop = 1,
	};
	struct pm_sweep sw = { 0 };
	struct pm_owners o = { 0 };
	struct procmap pm;
	char err[256] = "";
	size_t budget = 100;

	(void)state;
	init_fake(&pm);
	assert_int_equal(procmap_sweep_begin(&pm, &sw, &so, err, sizeof(err)), 0);
	assert_int_equal(sw.npids, 4);
	assert_int_equal(sw.pids[3], 100);
	assert_int_equal(procmap_sweep_step(&pm, &sw, &budget, NULL, 0, &o, err, sizeof(err)), 1);
	assert_int_equal(sw.nstop_left, 0);
	assert_true(has_owner(&o, 789, 200, 8));
	/* 100, hinted, comes last: never opened. */
	for (size_t i = 0; i < o.len; i++)
		assert_int_equal(o.v[i].pid, 200);
	assert_true(sw.fds <= 3);
	assert_true(budget >= 100 - 4 * PM_SWEEP_PROC_COST - 3);

	/* An inode nobody holds: every process is read, then the pass ends. */
	o.len = 0;
	o.nscanned = 0;
	so.stop = (const uint32_t[]){ 999 };
	assert_int_equal(procmap_sweep_begin(&pm, &sw, &so, err, sizeof(err)), 0);
	budget = 100;
	assert_int_equal(procmap_sweep_step(&pm, &sw, &budget, NULL, 0, &o, err, sizeof(err)), 1);
	assert_int_equal(sw.nstop_left, 1);
	assert_int_equal(o.nscanned, 2);
	assert_int_equal(sw.fds, 8);

	/* Skipped pid; then a namespace filter. */
	o.len = 0;
	o.nscanned = 0;
	so.nstop = 0;
	assert_int_equal(procmap_sweep_begin(&pm, &sw, &so, err, sizeof(err)), 0);
	budget = 100;
	assert_int_equal(procmap_sweep_step(&pm, &sw, &budget, skip, 1, &o, err, sizeof(err)), 1);
	assert_int_equal(o.nscanned, 1);
	assert_int_equal(o.scanned[0].pid, 200);
	o.len = 0;
	o.nscanned = 0;
	so.order = PM_SWEEP_BY_PID;
	so.netns_ino = NS_A;
	assert_int_equal(procmap_sweep_begin(&pm, &sw, &so, err, sizeof(err)), 0);
	budget = 100;
	assert_int_equal(procmap_sweep_step(&pm, &sw, &budget, NULL, 0, &o, err, sizeof(err)), 1);
	assert_int_equal(o.nscanned, 1);
	assert_int_equal(o.scanned[0].pid, 100);
	assert_int_equal(o.len, 2);
	/* A pass begun again drops the one in progress. */
	assert_int_equal(procmap_sweep_begin(&pm, &sw, &so, err, sizeof(err)), 0);
	budget = 3;
	assert_int_equal(procmap_sweep_step(&pm, &sw, &budget, NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(sw.cur, 100);
	assert_int_equal(procmap_sweep_begin(&pm, &sw, &so, err, sizeof(err)), 0);
	assert_int_equal(sw.cur, 0);
	assert_int_equal(sw.next, 0);
	procmap_sweep_end(&sw);
	assert_false(sw.active);
	procmap_sweep_free(&sw);
	pm_owners_free(&o);

	/* A root that cannot be read. */
	snprintf(pm.root, sizeof(pm.root), "%s/absent", root);
	assert_int_equal(procmap_sweep_begin(&pm, &sw, &so, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent"));
	assert_false(sw.active);
	procmap_sweep_free(&sw);
}

static void test_procmap_owners_nfds(void **state)
{
	struct pm_fdcount sc[] = { { 10, 4 }, { 20, 0 }, { 30, 9 } };
	struct pm_owners o = { .scanned = sc, .nscanned = 3 };
	uint32_t n = 77;

	(void)state;
	assert_int_equal(pm_owners_nfds(&o, 30, &n), 1);
	assert_int_equal(n, 9);
	assert_int_equal(pm_owners_nfds(&o, 20, &n), 1);
	assert_int_equal(n, 0);
	assert_int_equal(pm_owners_nfds(&o, 15, &n), 0);
	assert_int_equal(pm_owners_nfds(&o, 40, &n), 0);
}

static uint64_t self_netns(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	return (uint64_t)st.st_ino;
}

static void test_procmap_owners_live(void **state)
{
	struct pm_owners o = { 0 };
	struct procmap pm;
	const struct pm_owner *f;
	struct stat st;
	uint32_t inos[2];
	pid_t me = getpid();
	char err[256] = "";
	int s1, s2;

	(void)state;
	s1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s1 >= 0);
	s2 = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s2 >= 0);
	assert_int_equal(fstat(s1, &st), 0);
	inos[0] = (uint32_t)st.st_ino;
	assert_int_equal(fstat(s2, &st), 0);
	inos[1] = (uint32_t)st.st_ino;
	if (inos[0] > inos[1]) {
		uint32_t t = inos[0];

		inos[0] = inos[1];
		inos[1] = t;
	}
	assert_int_equal(procmap_init(&pm, NULL, err, sizeof(err)), 0);
	assert_string_equal(pm.root, "/proc");

	/* Whole /proc, in our namespace. */
	assert_int_equal(procmap_owners(&pm, inos, 2, self_netns(), NULL, 0, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 2);
	f = pm_owners_find(&o, (uint32_t)st.st_ino);
	assert_non_null(f);
	assert_int_equal(f->pid, me);
	assert_int_equal(f->fd, s2);
	assert_int_equal(o.v[0].pid, me);
	assert_int_equal(o.v[1].pid, me);

	/* Only our pid. */
	assert_int_equal(procmap_owners(&pm, inos, 2, 0, &me, 1, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 2);
	assert_int_equal(o.nscanned, 1);
	assert_true(o.scanned[0].nfds >= 5);
	close(s2);
	/* Closed socket: no longer found. */
	assert_int_equal(procmap_owners(&pm, inos, 2, 0, &me, 1, &o, err, sizeof(err)), 0);
	assert_int_equal(o.len, 1);
	assert_int_equal(o.v[0].fd, s1);
	close(s1);
	pm_owners_free(&o);
}

static void test_procmap_proc_live(void **state)
{
	struct procmap pm;
	struct pm_proc p;
	struct timeval tv;
	uint64_t now_ms;
	const char *base;
	char err[256] = "";

	(void)state;
	assert_int_equal(procmap_init(&pm, NULL, err, sizeof(err)), 0);
	assert_int_equal(procmap_proc(&pm, getpid(), &p), 0);
	assert_int_equal(p.pid, getpid());
	assert_int_equal(p.ppid, getppid());
	assert_int_equal(p.uid, getuid());
	assert_int_equal(p.state, 'R');
	assert_string_equal(p.comm, "test_procmap");
	base = strrchr(p.exe, '/');
	assert_non_null(base);
	assert_string_equal(base, "/test_procmap");
	assert_non_null(strstr(p.cmdline, "test_procmap"));
	assert_int_equal(p.netns_ino, self_netns());
	gettimeofday(&tv, NULL);
	now_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	/* Started after boot and not in the future (btime is rounded down to
	 * a second, ticks to 1/clk_tck). */
	assert_true(p.start_ms >= pm.btime_ms);
	assert_true(p.start_ms <= now_ms + 1000);
	assert_true(p.start_ms + 600 * 1000 > now_ms);
}

static void test_procmap_pidfd_live(void **state)
{
	int fd;

	(void)state;
	fd = procmap_pidfd(getpid());
	if (fd == -1 && errno == ENOSYS)
		skip();
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	errno = 0;
	assert_int_equal(procmap_pidfd(-5), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest fake[] = {
		cmocka_unit_test(test_procmap_init_btime),
		cmocka_unit_test(test_procmap_init_no_btime),
		cmocka_unit_test(test_procmap_owners_asked_only),
		cmocka_unit_test(test_procmap_owners_other_inode),
		cmocka_unit_test(test_procmap_owners_netns),
		cmocka_unit_test(test_procmap_owners_pids),
		cmocka_unit_test(test_procmap_owners_denied),
		cmocka_unit_test(test_procmap_owners_bad_root),
		cmocka_unit_test(test_procmap_proc_fake),
		cmocka_unit_test(test_procmap_proc_start_ms),
		cmocka_unit_test(test_procmap_proc_truncated),
		cmocka_unit_test(test_procmap_proc_gone),
		cmocka_unit_test(test_procmap_procs_sorted),
		cmocka_unit_test(test_procmap_procs_by_hand),
		cmocka_unit_test(test_procmap_owners_parallel),
		cmocka_unit_test(test_procmap_sweep_budget_resumes),
		cmocka_unit_test(test_procmap_sweep_by_size_stop),
		cmocka_unit_test(test_procmap_owners_nfds),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_procmap_owners_live),
		cmocka_unit_test(test_procmap_proc_live),
		cmocka_unit_test(test_procmap_pidfd_live),
	};
	int rc;

	rc = cmocka_run_group_tests_name("procmap_fake", fake, setup_tree, teardown_tree);
	rc += cmocka_run_group_tests_name("procmap_live", live, NULL, NULL);
	return rc != 0;
}
