/* Network namespaces. Probes enter another namespace only to create their
 * netlink sockets or open per-namespace /proc files, in a short-lived thread,
 * never for the whole process. */
#ifndef PROBES_NETNS_H
#define PROBES_NETNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/netns-t.h"

/* spec: a name under /run/netns, or a path (/proc/PID/ns/net, /run/netns/x).
 * Returns an O_RDONLY|O_CLOEXEC fd, or -1 with err filled. */
int netns_open(const char *spec, char *err, size_t errlen);
/* The namespace of process pid (/proc/PID/ns/net). */
int netns_open_pid(pid_t pid, char *err, size_t errlen);
/* Inode number identifying the namespace (nsfd may be NETNS_SELF). 0 or -1. */
int netns_ino(int nsfd, uint64_t *ino);
/* Runs fn(arg) with the calling context in namespace nsfd: directly when
 * nsfd == NETNS_SELF, else in a thread that setns()es first and then exits.
 * Returns fn's result; -1 with errno set if the namespace could not be
 * entered (EPERM without CAP_SYS_ADMIN). errno from fn is preserved. */
int netns_call(int nsfd, int (*fn)(void *arg), void *arg);

#endif
