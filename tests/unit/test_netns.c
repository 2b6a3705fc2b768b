#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <spawn.h>
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

#include "probes/netns.h"
#include "probes/sockdiag.h"

extern char **environ;

/* Runs `ip netns <verb> <name>`; returns its exit status, or -1. */
static int ip_netns(const char *verb, const char *name)
{
	char *argv[] = { "ip", "netns", (char *)verb, (char *)name, NULL };
	pid_t pid;
	int st, rc;

	rc = posix_spawnp(&pid, "ip", NULL, NULL, argv, environ);
	if (rc != 0)
		return -1;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct lsn {
	int fd;
	uint16_t port;
};

/* Runs inside the namespace: a listener on the wildcard address (a fresh
 * namespace's lo is down, so no 127.0.0.1). */
static int lsn_make(void *arg)
{
	struct lsn *l = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd == -1)
		return -1;
	if (bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(l->fd, 5) == -1 ||
	    getsockname(l->fd, (struct sockaddr *)&sin, &sl) == -1) {
		close(l->fd);
		l->fd = -1;
		return -1;
	}
	l->port = ntohs(sin.sin_port);
	return 0;
}

static uint32_t fd_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint32_t)st.st_ino;
}

static int has_ino(const struct sd_table *t, uint32_t ino)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (t->socks[i].ino == ino)
			return 1;
	return 0;
}

static void test_netns_call_self(void **state)
{
	struct lsn l = { .fd = -1 };

	assert_int_equal(netns_call(NETNS_SELF, lsn_make, &l), 0);
	assert_true(l.fd != -1);
	close(l.fd);
}

static void test_sockdiag_open_bad_netns(void **state)
{
	struct sockdiag sd;
	char err[256] = "";
	int fd;

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_int_equal(sockdiag_open(&sd, fd, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_null(sd.buf);
	close(fd);
}

static char ns_name[64];
static int ns_made;

/* Deletes the namespace whatever the test's outcome. */
static int ns_teardown(void **state)
{
	if (ns_made && ip_netns("del", ns_name) != 0)
		return -1;
	ns_made = 0;
	return 0;
}

/* A dump in a namespace sees that namespace's sockets, not ours. */
static void test_sockdiag_dump_other_netns(void **state)
{
	struct sd_filter f = { .states = SD_STATE_BIT(SD_LISTEN) };
	struct sd_table t = { 0 };
	struct sockdiag sd;
	struct lsn in = { .fd = -1 }, host = { .fd = -1 };
	char err[256] = "";
	uint64_t ino_ns, ino_self;
	int nsfd, rc;

	if (geteuid() != 0)
		skip();
	snprintf(ns_name, sizeof(ns_name), "pt-sockdiag-%ld", (long)getpid());
	if (ip_netns("add", ns_name) != 0) {
		print_message("skipped: ip netns add %s failed\n", ns_name);
		skip();
	}
	ns_made = 1;
	nsfd = netns_open(ns_name, err, sizeof(err));
	if (nsfd == -1)
		fail_msg("%s", err);
	assert_int_equal(netns_ino(nsfd, &ino_ns), 0);
	assert_int_equal(netns_ino(NETNS_SELF, &ino_self), 0);
	assert_true(ino_ns != ino_self);

	rc = netns_call(nsfd, lsn_make, &in);
	assert_int_equal(rc, 0);
	assert_int_equal(lsn_make(&host), 0);

	if (sockdiag_open(&sd, nsfd, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	if (sockdiag_dump(&sd, &f, &t, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_true(has_ino(&t, fd_ino(in.fd)));
	assert_false(has_ino(&t, fd_ino(host.fd)));
	/* With a port filter too. */
	f.nports = 1;
	f.ports[0] = in.port;
	if (sockdiag_dump(&sd, &f, &t, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.socks[0].ino, fd_ino(in.fd));
	sockdiag_close(&sd);

	/* And our own namespace the other way round. */
	f.nports = 0;
	if (sockdiag_open(&sd, NETNS_SELF, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	if (sockdiag_dump(&sd, &f, &t, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_false(has_ino(&t, fd_ino(in.fd)));
	assert_true(has_ino(&t, fd_ino(host.fd)));
	sockdiag_close(&sd);

	close(in.fd);
	close(host.fd);
	close(nsfd);
	sd_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netns_call_self),
		cmocka_unit_test(test_sockdiag_open_bad_netns),
		cmocka_unit_test_teardown(test_sockdiag_dump_other_netns, ns_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
