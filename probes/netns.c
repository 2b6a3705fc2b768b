#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes/netns.h"

int netns_open(const char *spec, char *err, size_t errlen)
{
	char path[512];
	int fd;

	if (strchr(spec, '/') != NULL)
		snprintf(path, sizeof(path), "%s", spec);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", spec);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "netns %s: %s", path, strerror(errno));
		return -1;
	}
	return fd;
}

int netns_open_pid(pid_t pid, char *err, size_t errlen)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/ns/net", (long)pid);
	return netns_open(path, err, errlen);
}

int netns_ino(int nsfd, uint64_t *ino)
{
	struct stat st;
	int rc;

	if (nsfd == NETNS_SELF)
		rc = stat("/proc/thread-self/ns/net", &st);
	else
		rc = fstat(nsfd, &st);
	if (rc == -1)
		return -1;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

struct netns_job {
	int nsfd;
	int (*fn)(void *);
	void *arg;
	int rc;
	int err;
};

/* Runs in its own thread: the namespace switch dies with the thread. */
static void *netns_thread(void *p)
{
	struct netns_job *j = p;

	if (setns(j->nsfd, CLONE_NEWNET) == -1) {
		j->rc = -1;
		j->err = errno;
		return NULL;
	}
	errno = 0;
	j->rc = j->fn(j->arg);
	j->err = errno;
	return NULL;
}

int netns_call(int nsfd, int (*fn)(void *arg), void *arg)
{
	struct netns_job j = { .nsfd = nsfd, .fn = fn, .arg = arg };
	pthread_t th;
	int rc;

	if (nsfd == NETNS_SELF)
		return fn(arg);
	rc = pthread_create(&th, NULL, netns_thread, &j);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	rc = pthread_join(th, NULL);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	errno = j.err;
	return j.rc;
}
