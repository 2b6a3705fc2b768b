#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "probes/kernel.h"
#include "probes/netns.h"

/* Parsers: texts in the format of the kernel's files, with columns moved
 * around and missing, and lines that look alike. */

static const char netstat_text[] =
	"TcpExt: SyncookiesSent TCPAbortOnClose ListenDrops EmbryonicRsts "
	"TCPAbortOnTimeout ListenOverflows TCPAbortOnMemory TCPNewField\n"
	"TcpExt: 0 5 17 1 3 16 2 99\n"
	"IpExt: InNoRoutes ListenOverflows ListenDrops\n"
	"IpExt: 1 777 888\n"
	"MPTcpExt: ListenOverflows\n"
	"MPTcpExt: 555\n";

static void test_kernel_parse_netstat_reordered(void **state)
{
	struct kn_counters c;

	(void)state;
	memset(&c, 0xff, sizeof(c));
	assert_int_equal(kernel_parse_netstat(netstat_text, &c), 0);
	assert_int_equal(c.listen_overflows, 16);
	assert_int_equal(c.listen_drops, 17);
	assert_int_equal(c.tcp_abort_on_timeout, 3);
	assert_int_equal(c.tcp_abort_on_close, 5);
	assert_int_equal(c.tcp_abort_on_memory, 2);
	/* Tcp (snmp) fields are not the netstat parser's to touch. */
	assert_int_equal(c.tcp_out_segs, UINT64_MAX);
	assert_int_equal(c.tcp_retrans_segs, UINT64_MAX);
}

static void test_kernel_parse_netstat_missing(void **state)
{
	static const char text[] =
		"IpExt: InNoRoutes\n"
		"IpExt: 4\n"
		"TcpExt: ListenOverflows TCPAbortOnClose\n"
		"TcpExt: 18446744073709551615 12\n";
	static const char short_vals[] =
		"TcpExt: ListenOverflows ListenDrops TCPAbortOnTimeout\n"
		"TcpExt: 7\n";
	struct kn_counters c;

	(void)state;
	memset(&c, 0xff, sizeof(c));
	assert_int_equal(kernel_parse_netstat(text, &c), 0);
	assert_int_equal(c.listen_overflows, UINT64_MAX);
	assert_int_equal(c.tcp_abort_on_close, 12);
	/* Absent from the file: zero, not left over. */
	assert_int_equal(c.listen_drops, 0);
	assert_int_equal(c.tcp_abort_on_timeout, 0);
	assert_int_equal(c.tcp_abort_on_memory, 0);

	/* A value line shorter than its header. */
	memset(&c, 0xff, sizeof(c));
	assert_int_equal(kernel_parse_netstat(short_vals, &c), 0);
	assert_int_equal(c.listen_overflows, 7);
	assert_int_equal(c.listen_drops, 0);
	assert_int_equal(c.tcp_abort_on_timeout, 0);
}

static void test_kernel_parse_netstat_absent(void **state)
{
	static const char no_values[] = "TcpExt: ListenOverflows ListenDrops\n";
	static const char other[] = "IpExt: InNoRoutes\nIpExt: 4\n";
	struct kn_counters c;

	(void)state;
	assert_int_equal(kernel_parse_netstat("", &c), -1);
	assert_int_equal(kernel_parse_netstat(other, &c), -1);
	assert_int_equal(kernel_parse_netstat(no_values, &c), -1);
}

static const char snmp_text[] =
	"Ip: Forwarding DefaultTTL InReceives\n"
	"Ip: 1 64 1000\n"
	"Icmp: InMsgs InErrors\n"
	"Icmp: 3 0\n"
	"TcpExt: OutSegs RetransSegs\n"
	"TcpExt: 4444 5555\n"
	"Tcp: RtoAlgorithm RtoMin RtoMax MaxConn EstabResets ActiveOpens PassiveOpens "
	"AttemptFails CurrEstab InSegs RetransSegs OutSegs InErrs OutRsts InCsumErrors\n"
	"Tcp: 1 200 120000 -1 6 13 2 4 0 528 7 349 0 2 0\n"
	"Udp: InDatagrams NoPorts\n"
	"Udp: 10 0\n";

static void test_kernel_parse_snmp_reordered(void **state)
{
	struct kn_counters c;

	(void)state;
	memset(&c, 0xff, sizeof(c));
	assert_int_equal(kernel_parse_snmp(snmp_text, &c), 0);
	assert_int_equal(c.tcp_retrans_segs, 7);
	assert_int_equal(c.tcp_out_segs, 349);
	assert_int_equal(c.tcp_active_opens, 13);
	assert_int_equal(c.tcp_passive_opens, 2);
	assert_int_equal(c.tcp_attempt_fails, 4);
	assert_int_equal(c.tcp_estab_resets, 6);
	assert_int_equal(c.listen_overflows, UINT64_MAX);
}

static void test_kernel_parse_snmp_missing(void **state)
{
	static const char text[] =
		"Tcp: ActiveOpens OutSegs\n"
		"Tcp: 21 22\n";
	struct kn_counters c;

	(void)state;
	memset(&c, 0xff, sizeof(c));
	assert_int_equal(kernel_parse_snmp(text, &c), 0);
	assert_int_equal(c.tcp_active_opens, 21);
	assert_int_equal(c.tcp_out_segs, 22);
	assert_int_equal(c.tcp_retrans_segs, 0);
	assert_int_equal(c.tcp_estab_resets, 0);
	/* Only a TcpExt pair: not the Tcp table. */
	assert_int_equal(kernel_parse_snmp("TcpExt: OutSegs\nTcpExt: 1\n", &c), -1);
	assert_int_equal(kernel_parse_snmp("Tcp: OutSegs\nUdp: 1\n", &c), -1);
}

static void test_kernel_parse_both(void **state)
{
	struct kn_counters c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(kernel_parse_snmp(snmp_text, &c), 0);
	assert_int_equal(kernel_parse_netstat(netstat_text, &c), 0);
	assert_int_equal(c.tcp_out_segs, 349);
	assert_int_equal(c.listen_overflows, 16);
}

static void test_kernel_parse_sockstat_fields(void **state)
{
	static const char text[] =
		"sockets: used 13\n"
		"TCP6: inuse 91 orphan 92\n"
		"TCP: inuse 1 orphan 2 tw 3 alloc 4 mem 328\n"
		"UDP: inuse 5 mem 6\n"
		"FRAG: inuse 0 memory 0\n";
	static const char moved[] =
		"TCP: mem 9 alloc 8 newkey 100 tw 7 orphan 6 inuse 5\n";
	static const char missing[] = "UDP: inuse 5 mem 6\nTCP: inuse 3\n";
	struct kn_sockstat s;

	(void)state;
	assert_int_equal(kernel_parse_sockstat(text, &s), 0);
	assert_int_equal(s.inuse, 1);
	assert_int_equal(s.orphan, 2);
	assert_int_equal(s.tw, 3);
	assert_int_equal(s.alloc, 4);
	assert_int_equal(s.mem_pages, 328);
	assert_int_equal(kernel_parse_sockstat(moved, &s), 0);
	assert_int_equal(s.inuse, 5);
	assert_int_equal(s.orphan, 6);
	assert_int_equal(s.tw, 7);
	assert_int_equal(s.alloc, 8);
	assert_int_equal(s.mem_pages, 9);
	assert_int_equal(kernel_parse_sockstat(missing, &s), 0);
	assert_int_equal(s.inuse, 3);
	assert_int_equal(s.orphan, 0);
	assert_int_equal(s.mem_pages, 0);
	assert_int_equal(kernel_parse_sockstat("TCP6: inuse 1\nUDP: inuse 2\n", &s), -1);
	assert_int_equal(kernel_parse_sockstat("", &s), -1);
}

/* Live: this host's own namespace. */

static int64_t read_sysctl(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v = -1;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lld", &v), 1);
	fclose(f);
	return v;
}

static void test_kernel_read_live(void **state)
{
	struct kn_state k;
	char err[256] = "";

	(void)state;
	assert_int_equal(kernel_read(NETNS_SELF, NULL, &k, err, sizeof(err)), 0);
	assert_true(k.sysctls.somaxconn > 0);
	assert_true(k.sysctls.tcp_fin_timeout > 0);
	assert_int_equal(k.sysctls.somaxconn, read_sysctl("/proc/sys/net/core/somaxconn"));
	assert_int_equal(k.sysctls.tcp_fin_timeout,
			 read_sysctl("/proc/sys/net/ipv4/tcp_fin_timeout"));
	assert_true(k.sysctls.tcp_max_syn_backlog > 0);
	assert_true(k.sysctls.tcp_keepalive_time > 0);
	assert_true(k.sysctls.tcp_orphan_retries >= 0);
	assert_true(k.sysctls.tcp_abort_on_overflow == 0 || k.sysctls.tcp_abort_on_overflow == 1);
	assert_true(k.sysctls.port_range_lo > 0);
	assert_true(k.sysctls.port_range_lo <= k.sysctls.port_range_hi);
	assert_true(k.sysctls.port_range_hi <= 65535);
	assert_int_equal(k.have_counters, 1);
	assert_int_equal(k.have_sockstat, 1);
	/* mem is in pages and the kernel never reports fewer sockets allocated
	 * than in use. */
	assert_true(k.sockstat.alloc >= k.sockstat.inuse);
}

/* Fake proc root. */

static char fake[256];

static void put_str(const char *rel, const char *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void put_dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", fake, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void test_kernel_read_fake(void **state)
{
	struct kn_state k;
	char err[256] = "";

	(void)state;
	snprintf(fake, sizeof(fake), "/tmp/test_kernel.XXXXXX");
	assert_non_null(mkdtemp(fake));
	put_dir("net");
	put_dir("sys");
	put_dir("sys/net");
	put_dir("sys/net/core");
	put_dir("sys/net/ipv4");
	put_str("net/netstat", netstat_text);
	put_str("net/snmp", snmp_text);
	put_str("sys/net/core/somaxconn", "1234\n");
	put_str("sys/net/ipv4/tcp_fin_timeout", "33\n");
	put_str("sys/net/ipv4/tcp_migrate_req", "0\n");
	put_str("sys/net/ipv4/tcp_keepalive_time", "not a number\n");
	put_str("sys/net/ipv4/ip_local_port_range", "1024\t65000\n");

	assert_int_equal(kernel_read(NETNS_SELF, fake, &k, err, sizeof(err)), 0);
	assert_int_equal(k.have_counters, 1);
	assert_int_equal(k.counters.listen_overflows, 16);
	assert_int_equal(k.counters.tcp_out_segs, 349);
	/* No sockstat file. */
	assert_int_equal(k.have_sockstat, 0);
	assert_int_equal(k.sockstat.inuse, 0);
	assert_int_equal(k.sysctls.somaxconn, 1234);
	assert_int_equal(k.sysctls.tcp_fin_timeout, 33);
	assert_int_equal(k.sysctls.tcp_migrate_req, 0);
	assert_int_equal(k.sysctls.port_range_lo, 1024);
	assert_int_equal(k.sysctls.port_range_hi, 65000);
	assert_int_equal(k.sysctls.tcp_keepalive_time, -1);
	assert_int_equal(k.sysctls.tcp_max_syn_backlog, -1);
	assert_int_equal(k.sysctls.tcp_orphan_retries, -1);
	assert_int_equal(k.sysctls.tcp_max_orphans, -1);
	assert_int_equal(k.sysctls.tcp_abort_on_overflow, -1);

	/* A port range with one number only. */
	put_str("sys/net/ipv4/ip_local_port_range", "1024\n");
	put_str("net/sockstat", "TCP: inuse 4 orphan 0 tw 1 alloc 5 mem 2\n");
	assert_int_equal(kernel_read(NETNS_SELF, fake, &k, err, sizeof(err)), 0);
	assert_int_equal(k.sysctls.port_range_lo, 1024);
	assert_int_equal(k.sysctls.port_range_hi, -1);
	assert_int_equal(k.have_sockstat, 1);
	assert_int_equal(k.sockstat.alloc, 5);

	assert_int_equal(nftw(fake, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);

	/* Nothing there at all: still a result, all unknown. */
	assert_int_equal(kernel_read(NETNS_SELF, fake, &k, err, sizeof(err)), 0);
	assert_int_equal(k.have_counters, 0);
	assert_int_equal(k.have_sockstat, 0);
	assert_int_equal(k.sysctls.somaxconn, -1);
}

static void test_kernel_read_bad_ns(void **state)
{
	struct kn_state k;
	char err[256] = "";
	int fd;

	(void)state;
	/* A fake root is only for our own namespace. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(kernel_read(fd, "/tmp", &k, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	/* Not a namespace file: setns fails, nothing is read. */
	err[0] = '\0';
	assert_int_equal(kernel_read(fd, NULL, &k, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_int_equal(k.have_counters, 0);
	assert_int_equal(k.sysctls.somaxconn, -1);
	close(fd);
}

/* A namespace of our own, when root. */

struct nsctx {
	char name[64];
	int created;
};

static struct nsctx ns;

/* Runs argv with stdout/stderr discarded; its exit status, or -1. */
static int run(char *const argv[])
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null != -1) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup_ns(void **state)
{
	char *add[] = { "ip", "netns", "add", ns.name, NULL };

	(void)state;
	snprintf(ns.name, sizeof(ns.name), "ptk-kernel-%ld", (long)getpid());
	ns.created = 0;
	if (geteuid() != 0)
		return 0;
	setenv("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", 0);
	if (run(add) == 0)
		ns.created = 1;
	return 0;
}

static int teardown_ns(void **state)
{
	char *del[] = { "ip", "netns", "del", ns.name, NULL };

	(void)state;
	if (ns.created && run(del) != 0)
		return -1;
	ns.created = 0;
	return 0;
}

/* Makes one TCP connection over loopback in our namespace, so that our
 * ActiveOpens is not zero. */
static void loopback_connect(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, c;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	close(c);
	close(l);
}

static void test_kernel_read_netns(void **state)
{
	struct kn_state host, in, again;
	char fin[32], somax[32];
	char *set[] = { "ip", "netns", "exec", ns.name, "sysctl", "-q", "-w", fin, somax, NULL };
	char err[256] = "";
	int64_t want_fin;
	int nsfd;

	(void)state;
	if (!ns.created)
		skip();
	loopback_connect();
	assert_int_equal(kernel_read(NETNS_SELF, NULL, &host, err, sizeof(err)), 0);
	assert_true(host.counters.tcp_active_opens >= 1);
	want_fin = host.sysctls.tcp_fin_timeout == 33 ? 34 : 33;
	snprintf(fin, sizeof(fin), "net.ipv4.tcp_fin_timeout=%lld", (long long)want_fin);
	snprintf(somax, sizeof(somax), "net.core.somaxconn=%d",
		 host.sysctls.somaxconn == 777 ? 778 : 777);
	assert_int_equal(run(set), 0);

	nsfd = netns_open(ns.name, err, sizeof(err));
	assert_true(nsfd >= 0);
	assert_int_equal(kernel_read(nsfd, NULL, &in, err, sizeof(err)), 0);
	assert_int_equal(in.sysctls.tcp_fin_timeout, want_fin);
	assert_int_equal(in.sysctls.somaxconn, host.sysctls.somaxconn == 777 ? 778 : 777);
	/* A new namespace has made no connections and holds no sockets. */
	assert_int_equal(in.have_counters, 1);
	assert_int_equal(in.counters.tcp_active_opens, 0);
	assert_int_equal(in.counters.tcp_out_segs, 0);
	assert_int_equal(in.have_sockstat, 1);
	assert_true(in.sysctls.port_range_lo > 0);
	/* Host-wide, shown in the initial namespace only. */
	assert_int_equal(in.sysctls.tcp_max_orphans, host.sysctls.tcp_max_orphans);

	/* Our own thread did not move. */
	assert_int_equal(kernel_read(NETNS_SELF, NULL, &again, err, sizeof(err)), 0);
	assert_int_equal(again.sysctls.tcp_fin_timeout, host.sysctls.tcp_fin_timeout);
	assert_int_equal(again.sysctls.somaxconn, host.sysctls.somaxconn);
	close(nsfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_parse_netstat_reordered),
		cmocka_unit_test(test_kernel_parse_netstat_missing),
		cmocka_unit_test(test_kernel_parse_netstat_absent),
		cmocka_unit_test(test_kernel_parse_snmp_reordered),
		cmocka_unit_test(test_kernel_parse_snmp_missing),
		cmocka_unit_test(test_kernel_parse_both),
		cmocka_unit_test(test_kernel_parse_sockstat_fields),
		cmocka_unit_test(test_kernel_read_live),
		cmocka_unit_test(test_kernel_read_fake),
		cmocka_unit_test(test_kernel_read_bad_ns),
		cmocka_unit_test_setup_teardown(test_kernel_read_netns, setup_ns, teardown_ns),
	};

	return cmocka_run_group_tests_name("kernel", tests, NULL, NULL);
}
