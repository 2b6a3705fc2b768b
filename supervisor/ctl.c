#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "proxyd/loop.h"
#include "supervisor/ctl.h"

/* ---- parsing -------------------------------------------------------------- */

#define CTL_MAXWORDS 8

static const char ctl_help[] =
	"help                       this list\n"
	"status [--json]            supervisor summary (JSON: one watch line)\n"
	"show generations [--json]  generations with sessions by TCP state and peer\n"
	"show listeners [--json]    listening sockets held by the supervisor\n"
	"reload                     validate, start a new generation, drain the old\n"
	"drain GEN                  SIGUSR1 to generation GEN (deadline applies)\n"
	"kill GEN                   SIGTERM to generation GEN, SIGKILL after kill-grace\n"
	"watch                      one JSON summary line per tick until closed\n"
	"quit                       close this connection";

const char *ctl_help_text(void)
{
	return ctl_help;
}

static int parse_gen(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

int ctl_parse(const char *line, struct ctl_cmd *cmd, char *err, size_t errlen)
{
	char buf[CTL_LINE_MAX], *w[CTL_MAXWORDS], *save = NULL, *t;
	size_t n = 0, len = strlen(line);
	int json = 0;

	memset(cmd, 0, sizeof(*cmd));
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "line too long");
		return -1;
	}
	memcpy(buf, line, len + 1);
	if (len && buf[len - 1] == '\r')
		buf[len - 1] = '\0';
	for (t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (!strcmp(t, "--json")) {
			json = 1;
			continue;
		}
		if (n == CTL_MAXWORDS) {
			snprintf(err, errlen, "too many words");
			return -1;
		}
		w[n++] = t;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty command; try 'help'");
		return -1;
	}
	cmd->json = json;
	if (!strcmp(w[0], "help") && n == 1) {
		cmd->verb = CTL_HELP;
	} else if (!strcmp(w[0], "status") && n == 1) {
		cmd->verb = CTL_STATUS;
	} else if (!strcmp(w[0], "show") && n == 2 && !strcmp(w[1], "generations")) {
		cmd->verb = CTL_SHOW_GENERATIONS;
	} else if (!strcmp(w[0], "show") && n == 2 && !strcmp(w[1], "listeners")) {
		cmd->verb = CTL_SHOW_LISTENERS;
	} else if (!strcmp(w[0], "reload") && n == 1) {
		cmd->verb = CTL_RELOAD;
	} else if ((!strcmp(w[0], "drain") || !strcmp(w[0], "kill")) && n == 2) {
		cmd->verb = w[0][0] == 'd' ? CTL_DRAIN : CTL_KILL;
		if (parse_gen(w[1], &cmd->gen) == -1) {
			snprintf(err, errlen, "%s: '%s' is not a generation number", w[0], w[1]);
			return -1;
		}
	} else if ((!strcmp(w[0], "drain") || !strcmp(w[0], "kill")) && n != 2) {
		snprintf(err, errlen, "usage: %s GEN", w[0]);
		return -1;
	} else if (!strcmp(w[0], "watch") && n == 1) {
		cmd->verb = CTL_WATCH;
	} else if (!strcmp(w[0], "quit") && n == 1) {
		cmd->verb = CTL_QUIT;
	} else {
		snprintf(err, errlen, "unknown command '%s%s%s'; try 'help'", w[0],
			 n > 1 ? " " : "", n > 1 ? w[1] : "");
		return -1;
	}
	if (json && cmd->verb != CTL_STATUS && cmd->verb != CTL_SHOW_GENERATIONS &&
	    cmd->verb != CTL_SHOW_LISTENERS) {
		snprintf(err, errlen, "--json applies to status and show only");
		return -1;
	}
	return 0;
}

/* ---- server --------------------------------------------------------------- */

/* A watch client more than this far behind is dropped. */
#define CTL_OUT_MAX (1u << 20)
#define CTL_MAX_CONNS 64

struct ctl_conn {
	struct loop_fd lf;
	struct ctl_conn *next;
	char in[CTL_LINE_MAX];
	size_t inlen;
	struct sbuf out;
	size_t outoff;
	uint64_t ticket;        /* waiting for this reload when waiting */
	uint8_t waiting;
	uint8_t watching;
	uint8_t closing;        /* close once out is flushed */
	uint8_t discard;        /* skipping the rest of an overlong line */
	uint8_t kick;           /* answered while waiting: resume before the next sleep */
	uint8_t busy;           /* inside conn_process */
	uint8_t eof;            /* the client shut its side: answer what it sent, then close */
};

static struct {
	struct loop_fd lf;
	char path[108];
	ctl_exec_fn *fn;
	void *arg;
	struct ctl_conn *conns;
	size_t nconns;
	int open;
} C;

static void conn_free(struct ctl_conn *c)
{
	struct ctl_conn **pp;

	for (pp = &C.conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	loop_fd_del(&c->lf);
	close(c->lf.fd);
	sb_free(&c->out);
	free(c);
	C.nconns--;
}

/* Writes what it can. Returns -1 when the connection was freed. */
static int conn_flush(struct ctl_conn *c)
{
	while (c->outoff < c->out.len) {
		ssize_t n = send(c->lf.fd, c->out.p + c->outoff, c->out.len - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1) {
			conn_free(c);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->out.len) {
		sb_reset(&c->out);
		c->outoff = 0;
		if (c->closing) {
			conn_free(c);
			return -1;
		}
	}
	if (loop_fd_mod(&c->lf, (c->eof ? 0 : LOOP_IN) | (c->out.len ? LOOP_OUT : 0)) == -1) {
		conn_free(c);
		return -1;
	}
	return 0;
}

static void conn_answer(struct ctl_conn *c, const char *text)
{
	size_t n = strlen(text);

	sb_puts(&c->out, text);
	if (n && text[n - 1] != '\n')
		sb_putc(&c->out, '\n');
	sb_putc(&c->out, '\n');
}

/* Runs complete lines while the connection is not waiting or watching.
 * Returns -1 when the connection was freed. */
static int conn_process(struct ctl_conn *c)
{
	c->busy = 1;
	while (!c->waiting && !c->watching && !c->closing) {
		char *nl = memchr(c->in, '\n', c->inlen);
		char line[CTL_LINE_MAX], err[256];
		struct ctl_cmd cmd;
		struct sbuf ans;
		size_t l;
		int rc;

		if (!nl)
			break;
		l = (size_t)(nl - c->in);
		memcpy(line, c->in, l);
		line[l] = '\0';
		memmove(c->in, nl + 1, c->inlen - l - 1);
		c->inlen -= l + 1;
		if (ctl_parse(line, &cmd, err, sizeof(err)) == -1) {
			sb_printf(&c->out, "error: %s\n\n", err);
			continue;
		}
		if (cmd.verb == CTL_QUIT) {
			c->closing = 1;
			break;
		}
		if (cmd.verb == CTL_HELP) {
			conn_answer(c, ctl_help);
			continue;
		}
		if (cmd.verb == CTL_WATCH) {
			c->watching = 1;
			break;
		}
		sb_init(&ans);
		rc = C.fn(C.arg, c, &cmd, &ans);
		if (rc == CTL_DONE)
			conn_answer(c, ans.err ? "error: out of memory" : sb_cstr(&ans));
		sb_free(&ans);
	}
	c->busy = 0;
	c->kick = 0;
	if (c->eof && !c->waiting && !c->watching)
		c->closing = 1;
	return conn_flush(c);
}

static void conn_cb(struct loop_fd *lf, uint32_t ev)
{
	struct ctl_conn *c = lf->arg;

	if (ev & LOOP_ERR || (ev & LOOP_HUP && !(ev & LOOP_IN))) {
		conn_free(c);
		return;
	}
	if (ev & LOOP_OUT && conn_flush(c) == -1)
		return;
	if (!(ev & LOOP_IN))
		return;
	for (;;) {
		char buf[CTL_LINE_MAX];
		ssize_t n = recv(lf->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1) {
			conn_free(c);
			return;
		}
		if (n == 0) {
			c->eof = 1;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (c->discard) {
				c->discard = buf[i] != '\n';
				continue;
			}
			if (c->inlen == sizeof(c->in) - 1 && buf[i] != '\n') {
				sb_puts(&c->out, "error: line too long\n\n");
				c->inlen = 0;
				c->discard = 1;
				continue;
			}
			c->in[c->inlen++] = buf[i];
		}
		if (c->watching)
			c->inlen = 0;   /* a watcher's input is ignored until it closes */
	}
	(void)conn_process(c);
}

static void kick_hook(void *arg);

static void accept_cb(struct loop_fd *lf, uint32_t ev)
{
	for (;;) {
		struct ucred uc = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
		socklen_t ul = sizeof(uc);
		struct ctl_conn *c;
		int fd = accept4(lf->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("event=ctl_accept");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == -1 ||
		    (uc.uid != 0 && uc.uid != geteuid())) {
			static const char msg[] = "error: permission denied\n\n";

			log_warnx("event=ctl_refused uid=%d pid=%d", (int)uc.uid, (int)uc.pid);
			(void)send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		if (C.nconns >= CTL_MAX_CONNS) {
			static const char msg[] = "error: too many connections\n\n";

			(void)send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		sb_init(&c->out);
		loop_fd_init(&c->lf, fd, conn_cb, c);
		if (loop_fd_add(&c->lf, LOOP_IN) == -1) {
			close(fd);
			free(c);
			continue;
		}
		c->next = C.conns;
		C.conns = c;
		C.nconns++;
	}
}

int ctl_server_open(const char *path, ctl_exec_fn *fn, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT)
		goto fail;
	/* Created 0600 from the start: no window with a wider mode. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (chmod(path, 0600) == -1 || listen(fd, 16) == -1)
		goto fail;
	loop_fd_init(&C.lf, fd, accept_cb, NULL);
	if (loop_fd_add(&C.lf, LOOP_IN) == -1)
		goto fail;
	if (loop_hook_add(kick_hook, NULL) == -1)
		goto fail_del;
	snprintf(C.path, sizeof(C.path), "%s", path);
	C.fn = fn;
	C.arg = arg;
	C.open = 1;
	return 0;
fail_del:
	loop_fd_del(&C.lf);
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	return -1;
}

void ctl_server_close(void)
{
	while (C.conns)
		conn_free(C.conns);
	if (!C.open)
		return;
	loop_fd_del(&C.lf);
	close(C.lf.fd);
	(void)unlink(C.path);
	memset(&C, 0, sizeof(C));
}

void ctl_conn_wait(struct ctl_conn *c, uint64_t ticket)
{
	c->ticket = ticket;
	c->waiting = 1;
}

/* Answers are only queued here: this may run from inside a command's
 * execution, so connections are resumed (flushed, next request run) by the
 * before-sleep hook, one at a time. */
void ctl_reply_waiting(uint64_t done, const char *text)
{
	for (struct ctl_conn *c = C.conns; c; c = c->next) {
		if (!c->waiting || c->ticket > done)
			continue;
		c->waiting = 0;
		c->kick = 1;
		conn_answer(c, text);
	}
}

static void kick_hook(void *arg)
{
	struct ctl_conn *c;

	/* conn_process may free any connection: restart from the head. */
	for (;;) {
		for (c = C.conns; c && !(c->kick && !c->busy); c = c->next)
			;
		if (!c)
			return;
		(void)conn_process(c);
	}
}

void ctl_watch_send(const char *line)
{
	struct ctl_conn *c = C.conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->watching)
			continue;
		if (c->out.len - c->outoff > CTL_OUT_MAX) {
			log_warnx("event=ctl_watch_dropped reason=\"client too slow\"");
			conn_free(c);
			continue;
		}
		sb_puts(&c->out, line);
		sb_putc(&c->out, '\n');
		(void)conn_flush(c);
	}
}

size_t ctl_watchers(void)
{
	size_t n = 0;

	for (struct ctl_conn *c = C.conns; c; c = c->next)
		n += c->watching;
	return n;
}

size_t ctl_conns(void)
{
	return C.nconns;
}
