#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "supervisor/spawn.h"

extern char **environ;

int spawn_listen(struct sv_listener *l, char *err, size_t errlen)
{
	int fd, one = 1;

	fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "%s: socket: %s", l->addr, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (l->ss.ss_family == AF_INET6 && l->v6only >= 0 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &l->v6only, sizeof(l->v6only)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1)
		goto fail;
	if (listen(fd, l->backlog ? (int)l->backlog : SOMAXCONN) == -1)
		goto fail;
	l->fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", l->addr, strerror(errno));
	close(fd);
	return -1;
}

/* Async-signal-safe decimal formatting for the child. */
static void fmt_pid(char *dst, pid_t pid)
{
	char tmp[16];
	size_t n = 0;
	unsigned v = (unsigned)pid;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*dst++ = tmp[--n];
	*dst = '\0';
}

static int env_ours(const char *e)
{
	return !strncmp(e, "LISTEN_", 7) || !strncmp(e, "NOTIFY_SOCKET=", 14);
}

/* Everything the child needs is prepared before fork: after it, only
 * async-signal-safe calls. */
int spawn_proxyd(const struct spawn_req *r, pid_t *pid, int *pidfd, char *err, size_t errlen)
{
	struct sbuf names, nfds, notify;
	char pidenv[32] = "LISTEN_PID=";
	char **envp = NULL;
	const char *argv[] = { "proxyd", "-f", r->cfg_path, NULL };
	size_t nenv = 0, k = 0;
	int srcfd[256];
	pid_t p, parent;
	int rc = -1;

	sb_init(&names);
	sb_init(&nfds);
	sb_init(&notify);
	if (r->nlis > 200) {
		snprintf(err, errlen, "too many listeners (%zu)", r->nlis);
		goto out;
	}
	sb_puts(&names, "LISTEN_FDNAMES=");
	for (size_t i = 0; i < r->nlis; i++) {
		if (i)
			sb_putc(&names, ':');
		/* LISTEN_FDNAMES is ':'-separated. A bind without a name is
		 * named as proxyd names it: its address with '_' for ':'. A
		 * `name` holding a ':' cannot be passed: sent empty, proxyd
		 * then matches the fd on its address. */
		if (!r->lis[i]->named) {
			for (const char *c = r->lis[i]->name; *c; c++)
				sb_putc(&names, *c == ':' ? '_' : *c);
		} else if (!strchr(r->lis[i]->name, ':')) {
			sb_puts(&names, r->lis[i]->name);
		}
		srcfd[i] = r->lis[i]->fd;
	}
	sb_printf(&nfds, "LISTEN_FDS=%zu", r->nlis);
	sb_printf(&notify, "NOTIFY_SOCKET=%s", r->notify_path);
	while (environ && environ[nenv])
		nenv++;
	envp = calloc(nenv + 5, sizeof(*envp));
	if (!envp || names.err || nfds.err || notify.err) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nenv; i++)
		if (!env_ours(environ[i]))
			envp[k++] = environ[i];
	envp[k++] = pidenv;
	envp[k++] = (char *)sb_cstr(&nfds);
	envp[k++] = (char *)sb_cstr(&names);
	envp[k++] = (char *)sb_cstr(&notify);

	parent = getpid();
	p = fork();
	if (p == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (p == 0) {
		sigset_t none;
		int base = 3 + (int)r->nlis, i;

		/* A generation does not outlive its supervisor: nobody would
		 * enforce its deadline, and a new supervisor could not bind. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
			_exit(126);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
		/* Move the sockets above the target range, then down to 3.. */
		for (i = 0; i < (int)r->nlis; i++) {
			srcfd[i] = fcntl(srcfd[i], F_DUPFD_CLOEXEC, base + 16);
			if (srcfd[i] == -1)
				_exit(126);
		}
		for (i = 0; i < (int)r->nlis; i++)
			if (dup2(srcfd[i], 3 + i) == -1)
				_exit(126);
		syscall(SYS_close_range, (unsigned)base, ~0U, 0U);
		fmt_pid(pidenv + 11, getpid());
		execve(r->proxyd, (char *const *)argv, envp);
		_exit(127);
	}
	*pid = p;
	*pidfd = (int)syscall(SYS_pidfd_open, p, 0);
	if (*pidfd != -1)
		(void)fcntl(*pidfd, F_SETFD, FD_CLOEXEC);
	rc = 0;
out:
	free(envp);
	sb_free(&notify);
	sb_free(&nfds);
	sb_free(&names);
	return rc;
}

int spawn_signal(int pidfd, pid_t pid, int signo)
{
	long rc;

	if (pidfd >= 0)
		rc = syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0);
	else
		rc = kill(pid, signo);
	if (rc == -1 && errno == ESRCH)
		return 0;
	return rc == -1 ? -1 : 0;
}

int spawn_validate(const char *proxyd, const char *cfg_path, unsigned timeout_ms,
		   struct sbuf *out, char *err, size_t errlen)
{
	const char *argv[] = { "proxyd", "-c", "-f", cfg_path, NULL };
	uint64_t end = clock_mono_ms() + timeout_ms;
	int pfd[2], status, timed_out = 0;
	pid_t p;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	p = fork();
	if (p == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (p == 0) {
		sigset_t none;
		int devnull = open("/dev/null", O_RDONLY);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (devnull != -1)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		execve(proxyd, (char *const *)argv, environ);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		uint64_t now = clock_mono_ms();
		char buf[4096];
		ssize_t n;
		int pr;

		if (now >= end) {
			timed_out = 1;
			break;
		}
		pr = poll(&pf, 1, (int)(end - now));
		if (pr == -1 && errno == EINTR)
			continue;
		if (pr == -1)
			break;
		if (pr == 0)
			continue;
		n = read(pfd[0], buf, sizeof(buf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		if (out->len < 65536)
			sb_putn(out, buf, (size_t)n);
	}
	close(pfd[0]);
	if (timed_out)
		(void)kill(p, SIGKILL);
	while (waitpid(p, &status, 0) == -1) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (timed_out) {
		snprintf(err, errlen, "%s -c took more than %ums", proxyd, timeout_ms);
		return -1;
	}
	return status;
}

int spawn_notify_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	size_t plen = strlen(path);
	socklen_t slen;
	int fd, one = 1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (plen >= sizeof(sun.sun_path) || plen < 2) {
		snprintf(err, errlen, "%s: bad path", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, plen);
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (path[0] == '@') {
		sun.sun_path[0] = '\0';
	} else if (unlink(path) == -1 && errno != ENOENT) {
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sun, slen) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == -1)
		goto fail;
	/* Anyone may send (proxyd may have dropped its privileges): what
	 * counts is the sender pid the kernel attaches, checked by the caller. */
	if (path[0] != '@' && chmod(path, 0666) == -1)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	return -1;
}

ssize_t spawn_notify_recv(int fd, pid_t *pid, char *buf, size_t len)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 8)];
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.b, .msg_controllen = sizeof(cm.b),
	};
	struct cmsghdr *c;
	ssize_t n;

	*pid = 0;
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN ? 0 : -1;
	buf[n] = '\0';
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			*pid = uc.pid;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			/* Nobody should pass us fds here: close them. */
			size_t nf = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[8];

			memcpy(fds, CMSG_DATA(c), nf * sizeof(int) > sizeof(fds) ? sizeof(fds)
										  : nf * sizeof(int));
			for (size_t i = 0; i < nf && i < 8; i++)
				close(fds[i]);
		}
	}
	return n ? n : 1;
}

long spawn_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int spawn_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	size_t off = 0;
	int fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		off += (size_t)n;
	}
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}
