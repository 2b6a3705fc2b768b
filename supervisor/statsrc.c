/*
 * statsrc: reading a proxy's stats socket.
 *
 * What is computable for stock HAProxy: `show stat` reports qcur, scur,
 * slim (a server's maxconn, a frontend's maxconn, a backend's fullconn),
 * status, check_status and addr, but neither minconn nor the effective
 * (dynamic) limit; `show servers state` gives the numeric address, port,
 * operational and administrative states. With the proxy's configuration
 * (stats_view_apply_cfg), the effective limit is computed as HAProxy does
 * outside slowstart. Without it, a server whose minconn differs from its
 * maxconn has no known effective limit (SE_NONE) and server_queue_starvation
 * cannot judge it. proxyd reports eff_maxconn, minconn and fullconn itself.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "supervisor/statsrc.h"

#define STATS_MAX_COLS 256

/* ---- client ---- */

static int stats_wait(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		uint64_t now = clock_mono_ms();
		int rc;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (rc > 0)
			return 0;
	}
}

int stats_query(const char *path, const char *cmd, unsigned timeout_ms, struct sbuf *out,
		char *err, size_t errlen)
{
	uint64_t deadline = clock_mono_ms() + timeout_ms;
	struct sockaddr_un sun;
	size_t off = 0, clen, start = out->len;
	char *line = NULL;
	int fd, rc = -1, e = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		socklen_t sl = sizeof(e);

		if (errno != EINPROGRESS && errno != EAGAIN) {
			e = errno;
			snprintf(err, errlen, "connect %s: %s", path, strerror(e));
			goto out;
		}
		if (stats_wait(fd, POLLOUT, deadline) == -1) {
			e = errno;
			snprintf(err, errlen, "connect %s: %s", path, strerror(e));
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
			e = errno;
		if (e) {
			snprintf(err, errlen, "connect %s: %s", path, strerror(e));
			goto out;
		}
	}
	clen = strlen(cmd);
	line = malloc(clen + 2);
	if (!line) {
		e = ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(line, cmd, clen);
	line[clen++] = '\n';
	while (off < clen) {
		ssize_t n = send(fd, line + off, clen - off, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && stats_wait(fd, POLLOUT, deadline) == 0)
				continue;
			e = errno;
			snprintf(err, errlen, "write %s: %s", path, strerror(e));
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n;

		if (sb_reserve(out, 16384) == -1 || out->err) {
			e = ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		n = read(fd, out->p + out->len, out->cap - out->len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && stats_wait(fd, POLLIN, deadline) == 0)
				continue;
			e = errno;
			snprintf(err, errlen, "read %s: %s", path, strerror(e));
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->p[out->len] = '\0';
		if (out->len - start > STATS_MAX_ANSWER) {
			e = EMSGSIZE;
			snprintf(err, errlen, "%s: answer longer than %u bytes", path,
				 STATS_MAX_ANSWER);
			goto out;
		}
	}
	rc = 0;
out:
	free(line);
	if (fd != -1)
		close(fd);
	if (rc == -1)
		errno = e;
	return rc;
}

/* ---- views ---- */

struct stats_row *stats_view_push(struct stats_view *v)
{
	struct stats_row *r;

	if (v->len == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 16;
		struct stats_row *nv = realloc(v->rows, ncap * sizeof(*nv));

		if (!nv) {
			errno = ENOMEM;
			return NULL;
		}
		v->rows = nv;
		v->cap = ncap;
	}
	r = &v->rows[v->len++];
	memset(r, 0, sizeof(*r));
	r->qcur = r->qmax = r->scur = r->smax = r->slim = r->stot = -1;
	r->lastchg = r->minconn = r->fullconn = r->eff_maxconn = -1;
	r->since_change = -1;
	r->op_state = -1;
	r->admin_state = -1;
	return r;
}

void stats_view_reset(struct stats_view *v)
{
	v->len = 0;
	v->has_eff_col = 0;
	v->have_info = 0;
	v->info_maxconn = v->info_curconns = v->info_pid = -1;
}

void stats_view_free(struct stats_view *v)
{
	free(v->rows);
	v->rows = NULL;
	v->len = v->cap = 0;
}

const struct stats_row *stats_find(const struct stats_view *v, const char *px, const char *sv)
{
	size_t i;

	if (!sv)
		return stats_backend_row(v, px);
	for (i = 0; i < v->len; i++)
		if (strcmp(v->rows[i].pxname, px) == 0 && strcmp(v->rows[i].svname, sv) == 0)
			return &v->rows[i];
	return NULL;
}

const struct stats_row *stats_backend_row(const struct stats_view *v, const char *px)
{
	size_t i;

	for (i = 0; i < v->len; i++)
		if (v->rows[i].type == ST_BACKEND && strcmp(v->rows[i].pxname, px) == 0)
			return &v->rows[i];
	return NULL;
}

int stats_row_is_down(const struct stats_row *r)
{
	if (r->type != ST_SERVER)
		return 0;
	if (r->status[0])
		return strncmp(r->status, "DOWN", 4) == 0;
	return r->have_state && r->op_state == 0;
}

/* ---- parsing helpers ---- */

/* The next line of [*p, end) without its newline (and '\r'). 0 at the end. */
static int stats_line(const char **p, const char *end, const char **ls, size_t *ll)
{
	const char *nl;

	if (*p >= end)
		return 0;
	*ls = *p;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl) {
		*ll = (size_t)(nl - *p);
		*p = nl + 1;
	} else {
		*ll = (size_t)(end - *p);
		*p = end;
	}
	if (*ll && (*ls)[*ll - 1] == '\r')
		(*ll)--;
	return 1;
}

/* Splits s (n bytes) at sep into at most max fields (start, length). */
static size_t stats_split(const char *s, size_t n, char sep, int skip_empty,
			  const char **fs, size_t *fl, size_t max)
{
	size_t nf = 0, i = 0;

	while (i <= n && nf < max) {
		size_t j = i;

		while (j < n && s[j] != sep)
			j++;
		if (!(skip_empty && j == i)) {
			fs[nf] = s + i;
			fl[nf] = j - i;
			nf++;
		}
		if (j >= n)
			break;
		i = j + 1;
	}
	return nf;
}

static void stats_copy(char *dst, size_t dlen, const char *s, size_t n)
{
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A non-negative decimal, or -1 when empty or not a number. */
static int64_t stats_num(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int stats_col(const char *const *names, size_t nnames, const char **hs, const size_t *hl,
		     size_t nh, int *idx)
{
	size_t i, k;

	for (k = 0; k < nnames; k++) {
		idx[k] = -1;
		for (i = 0; i < nh; i++)
			if (hl[i] == strlen(names[k]) && memcmp(hs[i], names[k], hl[i]) == 0) {
				idx[k] = (int)i;
				break;
			}
	}
	return 0;
}

enum {
	C_PXNAME, C_SVNAME, C_QCUR, C_QMAX, C_SCUR, C_SMAX, C_SLIM, C_STOT, C_STATUS,
	C_LASTCHG, C_TYPE, C_CHECK_STATUS, C_ADDR, C_EFF, C_MINCONN, C_FULLCONN, C_N
};

static const char *const stats_csv_cols[C_N] = {
	"pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "status",
	"lastchg", "type", "check_status", "addr", "eff_maxconn", "minconn", "fullconn",
};

#define FLD(k) (idx[k] >= 0 && (size_t)idx[k] < nf ? fs[idx[k]] : "")
#define FLN(k) (idx[k] >= 0 && (size_t)idx[k] < nf ? fl[idx[k]] : 0)

int stats_parse_csv(const char *text, size_t len, struct stats_view *v, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *ls;
	const char **fs = NULL;
	size_t *fl = NULL, ll, nf;
	int idx[C_N], have_hdr = 0, rc = -1;

	v->len = 0;
	v->has_eff_col = 0;
	fs = calloc(STATS_MAX_COLS, sizeof(*fs));
	fl = calloc(STATS_MAX_COLS, sizeof(*fl));
	if (!fs || !fl) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		goto out;
	}
	while (stats_line(&p, end, &ls, &ll)) {
		struct stats_row *r;
		int64_t t;

		if (ll == 0)
			continue;
		if (ls[0] == '#') {
			size_t o = 1;

			while (o < ll && ls[o] == ' ')
				o++;
			nf = stats_split(ls + o, ll - o, ',', 0, fs, fl, STATS_MAX_COLS);
			stats_col(stats_csv_cols, C_N, fs, fl, nf, idx);
			if (idx[C_PXNAME] < 0 || idx[C_SVNAME] < 0) {
				snprintf(err, errlen, "show stat: header without pxname/svname");
				errno = EBADMSG;
				goto out;
			}
			v->has_eff_col = idx[C_EFF] >= 0;
			have_hdr = 1;
			continue;
		}
		if (!have_hdr) {
			snprintf(err, errlen, "show stat: no '# pxname,svname,...' header");
			errno = EBADMSG;
			goto out;
		}
		nf = stats_split(ls, ll, ',', 0, fs, fl, STATS_MAX_COLS);
		r = stats_view_push(v);
		if (!r) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		stats_copy(r->pxname, sizeof(r->pxname), FLD(C_PXNAME), FLN(C_PXNAME));
		stats_copy(r->svname, sizeof(r->svname), FLD(C_SVNAME), FLN(C_SVNAME));
		t = stats_num(FLD(C_TYPE), FLN(C_TYPE));
		if (t >= ST_FRONTEND && t <= ST_LISTENER)
			r->type = (enum stats_type)t;
		else if (strcmp(r->svname, "FRONTEND") == 0)
			r->type = ST_FRONTEND;
		else if (strcmp(r->svname, "BACKEND") == 0)
			r->type = ST_BACKEND;
		else
			r->type = ST_SERVER;
		stats_copy(r->status, sizeof(r->status), FLD(C_STATUS), FLN(C_STATUS));
		stats_copy(r->check_status, sizeof(r->check_status), FLD(C_CHECK_STATUS),
			   FLN(C_CHECK_STATUS));
		stats_copy(r->addr, sizeof(r->addr), FLD(C_ADDR), FLN(C_ADDR));
		r->qcur = stats_num(FLD(C_QCUR), FLN(C_QCUR));
		r->qmax = stats_num(FLD(C_QMAX), FLN(C_QMAX));
		r->scur = stats_num(FLD(C_SCUR), FLN(C_SCUR));
		r->smax = stats_num(FLD(C_SMAX), FLN(C_SMAX));
		r->slim = stats_num(FLD(C_SLIM), FLN(C_SLIM));
		r->stot = stats_num(FLD(C_STOT), FLN(C_STOT));
		r->lastchg = stats_num(FLD(C_LASTCHG), FLN(C_LASTCHG));
		r->minconn = stats_num(FLD(C_MINCONN), FLN(C_MINCONN));
		r->fullconn = stats_num(FLD(C_FULLCONN), FLN(C_FULLCONN));
		r->eff_maxconn = stats_num(FLD(C_EFF), FLN(C_EFF));
		if (r->type == ST_SERVER && idx[C_EFF] >= 0)
			r->eff_src = r->eff_maxconn >= 0 ? SE_REPORTED : SE_UNLIMITED;
	}
	if (!have_hdr) {
		snprintf(err, errlen, "show stat: no '# pxname,svname,...' header");
		errno = EBADMSG;
		goto out;
	}
	rc = 0;
out:
	free(fl);
	free(fs);
	return rc;
}

enum {
	S_BE_NAME, S_SRV_NAME, S_ADDR, S_OP, S_ADMIN, S_SINCE, S_PORT, S_N
};

static const char *const stats_state_cols[S_N] = {
	"be_name", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state",
	"srv_time_since_last_change", "srv_port",
};

int stats_parse_servers_state(const char *text, size_t len, struct stats_view *v,
			      char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *ls;
	const char *fs[64];
	size_t fl[64], ll, nf, i;
	int idx[S_N], have_hdr = 0, have_ver = 0;

	while (stats_line(&p, end, &ls, &ll)) {
		struct stats_row *r = NULL;
		char be[64], sv[64];

		if (ll == 0)
			continue;
		if (!have_ver) {
			if (ll != 1 || ls[0] != '1') {
				snprintf(err, errlen, "show servers state: not format version 1");
				errno = EBADMSG;
				return -1;
			}
			have_ver = 1;
			continue;
		}
		if (ls[0] == '#') {
			nf = stats_split(ls + 1, ll - 1, ' ', 1, fs, fl, 64);
			stats_col(stats_state_cols, S_N, fs, fl, nf, idx);
			if (idx[S_BE_NAME] < 0 || idx[S_SRV_NAME] < 0) {
				snprintf(err, errlen, "show servers state: header without "
					 "be_name/srv_name");
				errno = EBADMSG;
				return -1;
			}
			have_hdr = 1;
			continue;
		}
		if (!have_hdr) {
			snprintf(err, errlen, "show servers state: no '# be_id ...' header");
			errno = EBADMSG;
			return -1;
		}
		nf = stats_split(ls, ll, ' ', 1, fs, fl, 64);
		stats_copy(be, sizeof(be), FLD(S_BE_NAME), FLN(S_BE_NAME));
		stats_copy(sv, sizeof(sv), FLD(S_SRV_NAME), FLN(S_SRV_NAME));
		for (i = 0; i < v->len; i++)
			if (v->rows[i].type == ST_SERVER && strcmp(v->rows[i].pxname, be) == 0 &&
			    strcmp(v->rows[i].svname, sv) == 0) {
				r = &v->rows[i];
				break;
			}
		if (!r) {
			r = stats_view_push(v);
			if (!r) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			snprintf(r->pxname, sizeof(r->pxname), "%s", be);
			snprintf(r->svname, sizeof(r->svname), "%s", sv);
			r->type = ST_SERVER;
		}
		r->have_state = 1;
		r->op_state = (int)stats_num(FLD(S_OP), FLN(S_OP));
		r->admin_state = (int)stats_num(FLD(S_ADMIN), FLN(S_ADMIN));
		r->since_change = stats_num(FLD(S_SINCE), FLN(S_SINCE));
		stats_copy(r->srv_addr, sizeof(r->srv_addr), FLD(S_ADDR), FLN(S_ADDR));
		{
			int64_t port = stats_num(FLD(S_PORT), FLN(S_PORT));

			r->srv_port = port > 0 && port < 65536 ? (unsigned)port : 0;
		}
	}
	if (!have_hdr) {
		snprintf(err, errlen, "show servers state: no header");
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int stats_parse_info(const char *text, size_t len, struct stats_view *v)
{
	const char *p = text, *end = text + len, *ls;
	size_t ll;

	v->info_maxconn = v->info_curconns = v->info_pid = -1;
	while (stats_line(&p, end, &ls, &ll)) {
		const char *c = memchr(ls, ':', ll);
		size_t kl, o;

		if (!c)
			continue;
		kl = (size_t)(c - ls);
		o = kl + 1;
		while (o < ll && ls[o] == ' ')
			o++;
		if (kl == 7 && memcmp(ls, "Maxconn", 7) == 0)
			v->info_maxconn = stats_num(ls + o, ll - o);
		else if (kl == 9 && memcmp(ls, "CurrConns", 9) == 0)
			v->info_curconns = stats_num(ls + o, ll - o);
		else if (kl == 3 && memcmp(ls, "Pid", 3) == 0)
			v->info_pid = stats_num(ls + o, ll - o);
	}
	v->have_info = 1;
	return 0;
}

/* The next answer of a multi-command reply: up to an empty line. */
static int stats_section(const char **p, const char *end, const char **s, size_t *len)
{
	const char *q = *p;

	if (q >= end)
		return 0;
	*s = q;
	for (;;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));

		if (!nl) {
			*len = (size_t)(end - *s);
			*p = end;
			return 1;
		}
		if (nl + 1 < end && nl[1] == '\n') {
			*len = (size_t)(nl + 1 - *s);
			*p = nl + 2;
			return 1;
		}
		q = nl + 1;
	}
}

int stats_read(const char *path, unsigned timeout_ms, struct stats_view *v, struct sbuf *scratch,
	       char *err, size_t errlen)
{
	const char *p, *end, *sec[3];
	size_t len[3], n;

	sb_reset(scratch);
	if (stats_query(path, STATS_READ_CMD, timeout_ms, scratch, err, errlen) == -1)
		return -1;
	p = sb_cstr(scratch);
	end = p + scratch->len;
	for (n = 0; n < 3 && stats_section(&p, end, &sec[n], &len[n]); n++)
		;
	if (n < 3) {
		snprintf(err, errlen, "%s: %zu answers to '%s', 3 expected", path, n,
			 STATS_READ_CMD);
		errno = EBADMSG;
		return -1;
	}
	stats_parse_info(sec[0], len[0], v);
	if (v->pid == 0 && v->info_pid > 0)
		v->pid = (pid_t)v->info_pid;
	if (stats_parse_csv(sec[1], len[1], v, err, errlen) == -1 ||
	    stats_parse_servers_state(sec[2], len[2], v, err, errlen) == -1)
		return -1;
	return 0;
}
