#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "proxyd/cfg.h"
#include "proxyd/listener.h"
#include "proxyd/loop.h"
#include "proxyd/proxy.h"
#include "proxyd/session.h"
#include "proxyd/thread.h"

/* Connections accepted per listener and wakeup: fairness between
 * listeners and with established sessions. */
#define ACCEPT_BURST 64
/* Pause after the process ran out of fds (or kernel memory). */
#define ACCEPT_PAUSE_MS 100
#define SD_LISTEN_FDS_START 3

static struct {
	struct listener *li;
	unsigned n;
	unsigned maxconn;       /* global; 0 = none */
	unsigned nfull;         /* listeners in LI_ST_FULL */
	struct loop_timer pause_timer;
	int paused;             /* stopped by fd exhaustion */
} L;

unsigned listener_count(void)
{
	return L.n;
}

struct listener *listener_at(unsigned i)
{
	return &L.li[i];
}

void listener_set_maxconn(unsigned maxconn)
{
	L.maxconn = maxconn;
}

/* ---- accepting ---------------------------------------------------------- */

static void li_enable(struct listener *li, int on)
{
	if (li->fd == -1 || !li->lfd.registered)
		return;
	if (loop_fd_mod(&li->lfd, on ? LOOP_IN : 0) == -1)
		log_warn("event=listener_mod addr=%s", li->addr_text);
}

static int fe_full(const struct proxy *fe)
{
	return fe->maxconn && PX_LOAD(fe->fe.scur) >= fe->maxconn;
}

static int global_full(void)
{
	return L.maxconn && PX_LOAD(proxy_info.curconn) >= L.maxconn;
}

static void li_set_state(struct listener *li, enum li_state st)
{
	/* nfull is read by other threads (listener_conn_released). */
	if (li->state == LI_ST_FULL)
		__atomic_sub_fetch(&L.nfull, 1, __ATOMIC_RELAXED);
	if (st == LI_ST_FULL)
		__atomic_add_fetch(&L.nfull, 1, __ATOMIC_RELAXED);
	li->state = st;
	li_enable(li, st == LI_ST_READY);
}

/* Resumes every listener that no limit holds back any more. */
static void listeners_resume(void)
{
	unsigned i;

	if (L.paused || global_full())
		return;
	for (i = 0; i < L.n && L.nfull; i++) {
		struct listener *li = &L.li[i];

		if (li->state == LI_ST_FULL && !fe_full(li->fe))
			li_set_state(li, LI_ST_READY);
	}
}

/* Stops every accepting listener; st is FULL (global limit) or PAUSED (fd
 * exhaustion, which also takes over listeners already FULL). */
static void listeners_stop_all(enum li_state st)
{
	unsigned i;

	for (i = 0; i < L.n; i++) {
		struct listener *li = &L.li[i];

		if (li->state == LI_ST_READY || (st == LI_ST_PAUSED && li->state == LI_ST_FULL))
			li_set_state(li, st);
	}
}

static void pause_timer_cb(struct loop_timer *t)
{
	unsigned i;

	L.paused = 0;
	for (i = 0; i < L.n; i++)
		if (L.li[i].state == LI_ST_PAUSED)
			li_set_state(&L.li[i], LI_ST_FULL);
	log_info("event=accept_resume curconn=%u", PX_LOAD(proxy_info.curconn));
	listeners_resume();
}

/* Out of fds or memory: accepting would spin on the same error, so every
 * listener stops for a moment; logged once per pause. */
static void listeners_pause(int err)
{
	if (L.paused)
		return;
	L.paused = 1;
	errno = err;
	log_warn("event=accept_pause pause_ms=%u curconn=%u", ACCEPT_PAUSE_MS,
		 PX_LOAD(proxy_info.curconn));
	listeners_stop_all(LI_ST_PAUSED);
	if (loop_timer_arm_in(&L.pause_timer, ACCEPT_PAUSE_MS) == -1)
		pause_timer_cb(&L.pause_timer);
}

static void exhausted_cb(struct thread_msg *m)
{
	listeners_pause((int)m->u);
}

void listener_fd_exhausted(int err)
{
	struct thread_msg m = { .fn = exhausted_cb, .u = (uint64_t)err };

	if (thread_id == 0)
		listeners_pause(err);
	else
		(void)thread_send(0, &m);
}

static void resume_cb(struct thread_msg *m)
{
	(void)m;
	if (L.nfull)
		listeners_resume();
}

void listener_conn_released(struct proxy *fe)
{
	struct thread_msg m = { .fn = resume_cb };

	if (!__atomic_load_n(&L.nfull, __ATOMIC_RELAXED))
		return;
	if (thread_id == 0)
		listeners_resume();
	else
		(void)thread_send(0, &m);
}

static void listener_accept_cb(struct loop_fd *lf, uint32_t ev)
{
	struct listener *li = lf->arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	for (i = 0; i < ACCEPT_BURST; i++) {
		if (global_full()) {
			listeners_stop_all(LI_ST_FULL);
			return;
		}
		if (fe_full(li->fe)) {
			unsigned j;

			for (j = 0; j < L.n; j++)
				if (L.li[j].fe == li->fe && L.li[j].state == LI_ST_READY)
					li_set_state(&L.li[j], LI_ST_FULL);
			return;
		}
		len = sizeof(ss);
		fd = accept4(li->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
			case EPERM:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				listeners_pause(errno);
				return;
			default:
				log_warn("event=accept_error addr=%s", li->addr_text);
				return;
			}
		}
		session_accept(li, fd, &ss, len);
	}
}

/* ---- setup -------------------------------------------------------------- */

static int addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

/* Socket options every accepted connection inherits from its listener, so
 * that no per-connection setsockopt is needed. */
static void li_set_inherited_opts(struct listener *li)
{
	int one = 1;

	(void)setsockopt(li->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (li->fe->options & CFG_OPT_TCPKA)
		(void)setsockopt(li->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

static int li_bind(struct listener *li, char *err, size_t errlen)
{
	int fd, one = 1;

	fd = socket(li->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1) {
		snprintf(err, errlen, "%s:%d: bind %s: socket: %s", li->loc.file ? li->loc.file : "?",
			 li->loc.line, li->addr_text, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (li->addr.ss_family == AF_INET6 && li->v6 != CFG_V6_DEFAULT) {
		int v6only = li->v6 == CFG_V6_V6ONLY;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) == -1)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&li->addr, li->addrlen) == -1)
		goto fail;
	if (listen(fd, li->backlog ? (int)li->backlog : SOMAXCONN) == -1)
		goto fail;
	li->fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "%s:%d: bind %s: %s", li->loc.file ? li->loc.file : "?", li->loc.line,
		 li->addr_text, strerror(errno));
	close(fd);
	return -1;
}

/* 1 if fd is a listening TCP socket bound to an address (filled in). */
static int fd_is_listener(int fd, struct sockaddr_storage *ss)
{
	int acc = 0, type = 0;
	socklen_t len = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1 || !acc)
		return 0;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 || type != SOCK_STREAM)
		return 0;
	len = sizeof(*ss);
	if (getsockname(fd, (struct sockaddr *)ss, &len) == -1)
		return 0;
	return ss->ss_family == AF_INET || ss->ss_family == AF_INET6;
}

static void env_unset(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/* Takes the sockets passed with LISTEN_FDS and gives each to a listener
 * (see listener.h for the rules). Unmatched sockets are closed. */
static void listeners_inherit(void)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	const char *names_s = getenv("LISTEN_FDNAMES");
	char *names = NULL, *save = NULL, *tok;
	char **name_of = NULL;
	long pid, nfds, i;
	unsigned j;
	char *end;

	if (!pid_s || !fds_s)
		goto out;
	pid = strtol(pid_s, &end, 10);
	if (*end || pid != (long)getpid()) {
		log_info("event=listen_fds_ignored reason=\"LISTEN_PID is %s, not ours\"", pid_s);
		goto out;
	}
	nfds = strtol(fds_s, &end, 10);
	if (*end || nfds <= 0 || nfds > 65536) {
		log_warnx("event=listen_fds_ignored reason=\"bad LISTEN_FDS '%s'\"", fds_s);
		goto out;
	}
	name_of = calloc((size_t)nfds, sizeof(*name_of));
	if (!name_of)
		fatalx("event=listen_fds out of memory");
	if (names_s) {
		names = strdup(names_s);
		if (!names)
			fatalx("event=listen_fds out of memory");
		/* strsep keeps empty fields, so positions stay aligned. */
		save = names;
		for (i = 0; i < nfds && (tok = strsep(&save, ":")) != NULL; i++)
			name_of[i] = tok;
	}
	for (i = 0; i < nfds; i++) {
		int fd = SD_LISTEN_FDS_START + (int)i;
		struct sockaddr_storage ss;
		struct listener *match = NULL;

		if (!fd_is_listener(fd, &ss)) {
			log_warnx("event=listen_fd_closed fd=%d name=%s reason=\"not a listening TCP socket\"",
				  fd, name_of[i] ? name_of[i] : "-");
			close(fd);
			continue;
		}
		for (j = 0; j < L.n; j++) {
			struct listener *li = &L.li[j];

			if (li->fd != -1 || !addr_equal(&li->addr, &ss))
				continue;
			if (name_of[i] && name_of[i][0] && strcmp(name_of[i], "unknown") != 0 &&
			    strcmp(name_of[i], li->name) != 0)
				continue;
			match = li;
			break;
		}
		if (!match) {
			char a[64];

			cfg_addr_format(&ss, a, sizeof(a));
			log_warnx("event=listen_fd_closed fd=%d name=%s addr=%s reason=\"no bind matches\"",
				  fd, name_of[i] ? name_of[i] : "-", a);
			close(fd);
			continue;
		}
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		match->fd = fd;
		match->inherited = 1;
		log_info("event=listen_fd_inherited fd=%d name=%s addr=%s", fd, match->name,
			 match->addr_text);
	}
out:
	free(name_of);
	free(names);
	env_unset();
}

int listener_setup_all(const struct cfg *c, char *err, size_t errlen)
{
	size_t i, k, n = 0;
	unsigned j;

	for (i = 0; i < c->nproxies; i++)
		if (c->proxies[i].cap & CFG_CAP_FE)
			n += c->proxies[i].nbinds;
	L.li = calloc(n ? n : 1, sizeof(*L.li));
	if (!L.li) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	L.n = 0;
	loop_timer_init(&L.pause_timer, pause_timer_cb, NULL);
	for (i = 0; i < c->nproxies; i++) {
		const struct cfg_proxy *cp = &c->proxies[i];
		struct proxy *fe;

		if (!(cp->cap & CFG_CAP_FE))
			continue;
		fe = proxy_find(cp->name, CFG_CAP_FE);
		if (!fe) {
			snprintf(err, errlen, "frontend '%s' has no runtime proxy", cp->name);
			return -1;
		}
		for (k = 0; k < cp->nbinds; k++) {
			const struct cfg_bind *b = &cp->binds[k];
			struct listener *li = &L.li[L.n++];

			li->fd = -1;
			li->fe = fe;
			memcpy(&li->addr, &b->addr, sizeof(li->addr));
			li->addrlen = b->addrlen;
			li->backlog = b->backlog;
			li->v6 = b->v6;
			li->loc = b->loc;
			cfg_addr_format(&b->addr, li->addr_text, sizeof(li->addr_text));
			if (b->name) {
				snprintf(li->name, sizeof(li->name), "%s", b->name);
			} else {
				char *ch;

				/* LISTEN_FDNAMES is colon-separated: no colon
				 * in a name. */
				snprintf(li->name, sizeof(li->name), "%s", li->addr_text);
				for (ch = li->name; *ch; ch++)
					if (*ch == ':')
						*ch = '_';
			}
		}
	}
	listeners_inherit();
	for (j = 0; j < L.n; j++) {
		struct listener *li = &L.li[j];

		if (li->fd == -1 && li_bind(li, err, errlen) == -1)
			return -1;
		li_set_inherited_opts(li);
	}
	proxy_info.listeners = L.n;
	return 0;
}

int listener_start_all(char *err, size_t errlen)
{
	unsigned j;

	for (j = 0; j < L.n; j++) {
		struct listener *li = &L.li[j];

		loop_fd_init(&li->lfd, li->fd, listener_accept_cb, li);
		if (loop_fd_add(&li->lfd, LOOP_IN) == -1) {
			snprintf(err, errlen, "bind %s: epoll: %s", li->addr_text, strerror(errno));
			return -1;
		}
		li->state = LI_ST_READY;
	}
	return 0;
}

void listener_close_all(void)
{
	unsigned j;

	loop_timer_cancel(&L.pause_timer);
	for (j = 0; j < L.n; j++) {
		struct listener *li = &L.li[j];

		if (li->fd == -1)
			continue;
		if (li->state == LI_ST_FULL)
			L.nfull--;
		loop_fd_del(&li->lfd);
		close(li->fd);
		li->fd = -1;
		li->state = LI_ST_CLOSED;
		if (li->fe)
			li->fe->stopped = 1;
	}
	proxy_info.listeners = 0;
}

void listener_free_all(void)
{
	free(L.li);
	memset(&L, 0, sizeof(L));
}

/* ---- sd_notify ---------------------------------------------------------- */

int listener_sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;
	int fd, rc = -1;

	if (!path || !path[0])
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) != -1)
		rc = 1;
	close(fd);
	return rc;
}
