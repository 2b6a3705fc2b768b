/* The process side of generations: listening sockets bound once, proxyd
 * started with them (the systemd socket-activation convention: fds from 3,
 * LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES) and a NOTIFY_SOCKET, pidfds for
 * every signal, and the readiness receiver that checks who sent READY=1
 * (SO_PASSCRED).
 *
 * Return conventions: int functions return 0 (or a count), or -1 with err
 * filled (and errno set). */
#ifndef SUPERVISOR_SPAWN_H
#define SUPERVISOR_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/sbuf.h"

/* One listening socket, bound once for the life of proxysv. */
struct sv_listener {
	int id;                 /* stable, never reused */
	int fd;                 /* -1 once closed */
	char name[128];         /* the bind's name, or "ADDR:PORT" when it has none */
	int named;              /* name is the bind's `name` */
	char addr[64];          /* "ADDR:PORT" */
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned backlog;
	int v6only;             /* -1: system default, 0, 1 */
	int in_config;          /* named by the configuration in force */
};

/* Binds and listens (SO_REUSEADDR, CLOEXEC in proxysv). */
int spawn_listen(struct sv_listener *l, char *err, size_t errlen);

struct spawn_req {
	const char *proxyd;     /* program */
	const char *cfg_path;   /* -f */
	const struct sv_listener *const *lis;   /* passed as fds 3, 4, ... in this order */
	size_t nlis;
	const char *notify_path;        /* NOTIFY_SOCKET for the child */
};

/* fork + exec proxyd; the child gets an empty signal mask, default
 * dispositions, only the listening fds beyond 0..2. Fills *pid and a pidfd
 * (-1 if the kernel has none: then signals go by pid). */
int spawn_proxyd(const struct spawn_req *r, pid_t *pid, int *pidfd, char *err, size_t errlen);

/* Sends signo through the pidfd (by pid only when pidfd is -1). A process
 * that is gone is not an error (returns 0). */
int spawn_signal(int pidfd, pid_t pid, int signo);

/* Runs `proxyd -c -f cfg_path`, collecting its stdout and stderr into out,
 * within timeout_ms. Returns its waitpid status, or -1 (err). */
int spawn_validate(const char *proxyd, const char *cfg_path, unsigned timeout_ms,
		   struct sbuf *out, char *err, size_t errlen);

/* The readiness socket: a unix datagram socket bound at path ("@name":
 * abstract, reachable from a chroot), SO_PASSCRED. */
int spawn_notify_open(const char *path, char *err, size_t errlen);
/* Reads one datagram: its text (NUL-terminated, truncated to len - 1) and
 * the sender's pid from the kernel's credentials (0 when none came).
 * Returns the length, 0 when nothing is pending, or -1. */
ssize_t spawn_notify_recv(int fd, pid_t *pid, char *buf, size_t len);

/* Open fds of a process (/proc/PID/fd entries), or -1. */
long spawn_fd_count(pid_t pid);

/* Writes data to path.new and renames it over path. */
int spawn_write_atomic(const char *path, const char *data, size_t len);

#endif
