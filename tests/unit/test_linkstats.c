#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "probes/linkstats.h"
#include "probes/netns.h"

static const struct ls_link *find_link(const struct ls_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

static void test_linkstats_read_lo(void **state)
{
	struct ls_table t = { 0 };
	const struct ls_link *lo;
	char err[256] = "";
	size_t i, len;

	(void)state;
	assert_int_equal(linkstats_read(NETNS_SELF, &t, err, sizeof(err)), 0);
	assert_true(t.len >= 1);
	lo = find_link(&t, "lo");
	assert_non_null(lo);
	assert_int_equal(lo->up, 1);
	assert_true(lo->ifindex > 0);
	for (i = 1; i < t.len; i++)
		assert_true(t.v[i - 1].ifindex < t.v[i].ifindex);
	/* The table is replaced, not appended to. */
	len = t.len;
	assert_int_equal(linkstats_read(NETNS_SELF, &t, err, sizeof(err)), 0);
	assert_int_equal(t.len, len);
	ls_table_free(&t);
	assert_null(t.v);
	assert_int_equal(t.len, 0);
}

/* Sends one UDP datagram over loopback and receives it. */
static void loopback_datagram(size_t size)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	socklen_t alen = sizeof(a);
	char buf[1500];
	int r, s;

	assert_true(size <= sizeof(buf));
	memset(buf, 'x', size);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(r >= 0);
	assert_int_equal(setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(bind(r, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(r, (struct sockaddr *)&a, &alen), 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(sendto(s, buf, size, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)size);
	assert_int_equal(recv(r, buf, sizeof(buf), 0), (ssize_t)size);
	close(s);
	close(r);
}

static void test_linkstats_read_counters_grow(void **state)
{
	struct ls_table t = { 0 };
	const struct ls_link *lo;
	struct ls_link before;
	char err[256] = "";

	(void)state;
	assert_int_equal(linkstats_read(NETNS_SELF, &t, err, sizeof(err)), 0);
	lo = find_link(&t, "lo");
	assert_non_null(lo);
	before = *lo;
	loopback_datagram(1000);
	assert_int_equal(linkstats_read(NETNS_SELF, &t, err, sizeof(err)), 0);
	lo = find_link(&t, "lo");
	assert_non_null(lo);
	assert_int_equal(lo->ifindex, before.ifindex);
	assert_true(lo->rx_packets >= before.rx_packets + 1);
	assert_true(lo->tx_packets >= before.tx_packets + 1);
	assert_true(lo->rx_bytes >= before.rx_bytes + 1000);
	assert_true(lo->tx_bytes >= before.tx_bytes + 1000);
	ls_table_free(&t);
}

static void test_linkstats_read_bad_ns(void **state)
{
	struct ls_table t = { 0 };
	char err[256] = "";
	int fd;

	(void)state;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(linkstats_read(fd, &t, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_int_equal(t.len, 0);
	close(fd);
	ls_table_free(&t);
}

/* A namespace of our own, when root. */

static char nsname[64];
static int ns_created;

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
	char *add[] = { "ip", "netns", "add", nsname, NULL };

	(void)state;
	snprintf(nsname, sizeof(nsname), "ptk-links-%ld", (long)getpid());
	ns_created = 0;
	if (geteuid() != 0)
		return 0;
	setenv("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", 0);
	if (run(add) == 0)
		ns_created = 1;
	return 0;
}

static int teardown_ns(void **state)
{
	char *del[] = { "ip", "netns", "del", nsname, NULL };

	(void)state;
	if (ns_created && run(del) != 0)
		return -1;
	ns_created = 0;
	return 0;
}

static void test_linkstats_read_netns(void **state)
{
	char *up[] = { "ip", "-n", nsname, "link", "set", "lo", "up", NULL };
	struct ls_table t = { 0 };
	char err[256] = "";
	int nsfd;

	(void)state;
	if (!ns_created)
		skip();
	nsfd = netns_open(nsname, err, sizeof(err));
	assert_true(nsfd >= 0);
	assert_int_equal(linkstats_read(nsfd, &t, err, sizeof(err)), 0);
	assert_int_equal(t.len, 1);
	assert_string_equal(t.v[0].name, "lo");
	/* A new namespace's loopback is down and has carried nothing. */
	assert_int_equal(t.v[0].up, 0);
	assert_int_equal(t.v[0].rx_packets, 0);
	assert_int_equal(t.v[0].tx_packets, 0);

	assert_int_equal(run(up), 0);
	assert_int_equal(linkstats_read(nsfd, &t, err, sizeof(err)), 0);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.v[0].up, 1);

	/* Traffic in our namespace is not seen in that one, and ours is still
	 * read as ours. */
	loopback_datagram(10);
	assert_int_equal(linkstats_read(nsfd, &t, err, sizeof(err)), 0);
	assert_int_equal(t.v[0].rx_packets, 0);
	assert_int_equal(linkstats_read(NETNS_SELF, &t, err, sizeof(err)), 0);
	assert_non_null(find_link(&t, "lo"));
	assert_true(find_link(&t, "lo")->rx_packets > 0);
	close(nsfd);
	ls_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linkstats_read_lo),
		cmocka_unit_test(test_linkstats_read_counters_grow),
		cmocka_unit_test(test_linkstats_read_bad_ns),
		cmocka_unit_test_setup_teardown(test_linkstats_read_netns, setup_ns, teardown_ns),
	};

	return cmocka_run_group_tests_name("linkstats", tests, NULL, NULL);
}
