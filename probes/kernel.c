#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sbuf.h"
#include "probes/kernel.h"
#include "probes/netns.h"

/* A counter named in a header line, and where it goes. */
struct kn_field {
	const char *name;
	size_t off;
};

#define KN_C(name, member) { name, offsetof(struct kn_counters, member) }

static const struct kn_field kn_tcpext_fields[] = {
	KN_C("ListenOverflows", listen_overflows),
	KN_C("ListenDrops", listen_drops),
	KN_C("TCPAbortOnTimeout", tcp_abort_on_timeout),
	KN_C("TCPAbortOnClose", tcp_abort_on_close),
	KN_C("TCPAbortOnMemory", tcp_abort_on_memory),
};

static const struct kn_field kn_tcp_fields[] = {
	KN_C("RetransSegs", tcp_retrans_segs),
	KN_C("OutSegs", tcp_out_segs),
	KN_C("ActiveOpens", tcp_active_opens),
	KN_C("PassiveOpens", tcp_passive_opens),
	KN_C("AttemptFails", tcp_attempt_fails),
	KN_C("EstabResets", tcp_estab_resets),
};

#define KN_NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Length of the token at p (up to a blank or end of line). */
static size_t kn_toklen(const char *p)
{
	size_t n = 0;

	while (p[n] != '\0' && p[n] != ' ' && p[n] != '\t' && p[n] != '\n')
		n++;
	return n;
}

static const char *kn_skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Unsigned decimal of exactly len characters; -1 otherwise (negative
 * values such as Tcp MaxConn -1 are not counters). */
static int kn_parse_u64(const char *p, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		unsigned d = (unsigned)(p[i] - '0');

		if (x > UINT64_MAX / 10 || (x == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* Start of the line after p, or NULL at the end of the text. */
static const char *kn_next_line(const char *p)
{
	p = strchr(p, '\n');
	return p != NULL ? p + 1 : NULL;
}

/* Does the line at p begin with "prefix:"? Returns what follows, or NULL. */
static const char *kn_line_prefix(const char *p, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(p, prefix, n) != 0 || p[n] != ':')
		return NULL;
	return p + n + 1;
}

/* Files such as /proc/net/netstat and /proc/net/snmp hold pairs of lines:
 * "Prefix: Name1 Name2 ..." then "Prefix: value1 value2 ...". Values are
 * matched to names by position within the pair, fields by name, so new or
 * reordered kernel columns are harmless. Fields of the table are zeroed
 * first and left zero when absent. Returns 0 when the pair was found. */
static int kn_parse_pairs(const char *text, const char *prefix, const struct kn_field *f,
			  size_t nf, struct kn_counters *out)
{
	const char *line, *names, *vals;
	size_t i;

	for (i = 0; i < nf; i++)
		*(uint64_t *)((char *)out + f[i].off) = 0;
	for (line = text; line != NULL && *line != '\0'; line = kn_next_line(line)) {
		const char *next;

		names = kn_line_prefix(line, prefix);
		if (names == NULL)
			continue;
		next = kn_next_line(line);
		if (next == NULL)
			break;
		vals = kn_line_prefix(next, prefix);
		if (vals == NULL)
			continue;
		for (;;) {
			size_t nlen, vlen;

			names = kn_skip_blanks(names);
			vals = kn_skip_blanks(vals);
			nlen = kn_toklen(names);
			vlen = kn_toklen(vals);
			if (nlen == 0 || vlen == 0)
				break;
			for (i = 0; i < nf; i++) {
				uint64_t v;

				if (strlen(f[i].name) != nlen || memcmp(f[i].name, names, nlen) != 0)
					continue;
				if (kn_parse_u64(vals, vlen, &v) == 0)
					*(uint64_t *)((char *)out + f[i].off) = v;
				break;
			}
			names += nlen;
			vals += vlen;
		}
		return 0;
	}
	errno = ENOENT;
	return -1;
}

int kernel_parse_netstat(const char *text, struct kn_counters *out)
{
	return kn_parse_pairs(text, "TcpExt", kn_tcpext_fields, KN_NFIELDS(kn_tcpext_fields), out);
}

int kernel_parse_snmp(const char *text, struct kn_counters *out)
{
	return kn_parse_pairs(text, "Tcp", kn_tcp_fields, KN_NFIELDS(kn_tcp_fields), out);
}

/* "TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 328": name/value pairs. */
int kernel_parse_sockstat(const char *text, struct kn_sockstat *out)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{ "inuse", offsetof(struct kn_sockstat, inuse) },
		{ "orphan", offsetof(struct kn_sockstat, orphan) },
		{ "tw", offsetof(struct kn_sockstat, tw) },
		{ "alloc", offsetof(struct kn_sockstat, alloc) },
		{ "mem", offsetof(struct kn_sockstat, mem_pages) },
	};
	const char *line, *p;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (line = text; line != NULL && *line != '\0'; line = kn_next_line(line)) {
		p = kn_line_prefix(line, "TCP");
		if (p == NULL)
			continue;
		for (;;) {
			size_t klen, vlen;
			const char *val;
			uint64_t v;

			p = kn_skip_blanks(p);
			klen = kn_toklen(p);
			if (klen == 0)
				break;
			val = kn_skip_blanks(p + klen);
			vlen = kn_toklen(val);
			if (vlen == 0)
				break;
			for (i = 0; i < KN_NFIELDS(keys); i++) {
				if (strlen(keys[i].name) != klen || memcmp(keys[i].name, p, klen) != 0)
					continue;
				if (kn_parse_u64(val, vlen, &v) == 0)
					*(uint32_t *)((char *)out + keys[i].off) =
						v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
				break;
			}
			p = val + vlen;
		}
		return 0;
	}
	errno = ENOENT;
	return -1;
}

/* Reads the whole file into b (NUL-terminated). -1 with errno. */
static int kn_slurp(const char *path, struct sbuf *b)
{
	ssize_t n;
	int fd;
	int e;

	sb_reset(b);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	for (;;) {
		if (sb_reserve(b, 4096) == -1) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		n = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	close(fd);
	b->p[b->len] = '\0';
	return 0;
}

/* Signed decimal of a sysctl file; p advanced past it. */
static int kn_parse_i64(const char **pp, int64_t *v)
{
	const char *p = kn_skip_blanks(*pp);
	char *end;
	long long x;

	errno = 0;
	x = strtoll(p, &end, 10);
	if (end == p || errno != 0)
		return -1;
	*v = x;
	*pp = end;
	return 0;
}

struct kn_job {
	const char *netdir;   /* per-namespace /proc/net files */
	const char *sysdir;   /* /proc/sys/net */
	struct kn_state *out;
	struct sbuf buf;
	char path[4200];
	int nomem;
};

static int kn_read_file(struct kn_job *j, const char *dir, const char *name)
{
	snprintf(j->path, sizeof(j->path), "%s/%s", dir, name);
	if (kn_slurp(j->path, &j->buf) == -1) {
		if (errno == ENOMEM)
			j->nomem = 1;
		return -1;
	}
	return 0;
}

static void kn_read_sysctl(struct kn_job *j, const char *name, int64_t *v, int64_t *v2)
{
	const char *p;

	*v = -1;
	if (v2 != NULL)
		*v2 = -1;
	if (kn_read_file(j, j->sysdir, name) == -1)
		return;
	p = j->buf.p;
	if (kn_parse_i64(&p, v) == -1) {
		*v = -1;
		return;
	}
	if (v2 != NULL && kn_parse_i64(&p, v2) == -1)
		*v2 = -1;
}

/* Runs inside the namespace: /proc/thread-self/net and /proc/sys/net are
 * resolved against the calling thread's namespace when they are opened. */
static int kn_read_fn(void *arg)
{
	struct kn_job *j = arg;
	struct kn_state *o = j->out;
	struct kn_sysctls *s = &o->sysctls;
	int have_netstat = 0, have_snmp = 0;

	if (kn_read_file(j, j->netdir, "netstat") == 0 &&
	    kernel_parse_netstat(j->buf.p, &o->counters) == 0)
		have_netstat = 1;
	if (kn_read_file(j, j->netdir, "snmp") == 0 &&
	    kernel_parse_snmp(j->buf.p, &o->counters) == 0)
		have_snmp = 1;
	o->have_counters = have_netstat || have_snmp;
	if (kn_read_file(j, j->netdir, "sockstat") == 0 &&
	    kernel_parse_sockstat(j->buf.p, &o->sockstat) == 0)
		o->have_sockstat = 1;

	kn_read_sysctl(j, "core/somaxconn", &s->somaxconn, NULL);
	kn_read_sysctl(j, "ipv4/tcp_max_syn_backlog", &s->tcp_max_syn_backlog, NULL);
	kn_read_sysctl(j, "ipv4/tcp_fin_timeout", &s->tcp_fin_timeout, NULL);
	kn_read_sysctl(j, "ipv4/tcp_orphan_retries", &s->tcp_orphan_retries, NULL);
	kn_read_sysctl(j, "ipv4/tcp_max_orphans", &s->tcp_max_orphans, NULL);
	kn_read_sysctl(j, "ipv4/tcp_migrate_req", &s->tcp_migrate_req, NULL);
	kn_read_sysctl(j, "ipv4/tcp_abort_on_overflow", &s->tcp_abort_on_overflow, NULL);
	kn_read_sysctl(j, "ipv4/tcp_keepalive_time", &s->tcp_keepalive_time, NULL);
	kn_read_sysctl(j, "ipv4/ip_local_port_range", &s->port_range_lo, &s->port_range_hi);
	if (j->nomem) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static void kn_sysctls_unset(struct kn_sysctls *s)
{
	s->somaxconn = -1;
	s->tcp_max_syn_backlog = -1;
	s->tcp_fin_timeout = -1;
	s->tcp_orphan_retries = -1;
	s->tcp_max_orphans = -1;
	s->tcp_migrate_req = -1;
	s->tcp_abort_on_overflow = -1;
	s->tcp_keepalive_time = -1;
	s->port_range_lo = -1;
	s->port_range_hi = -1;
}

int kernel_read(int nsfd, const char *procroot, struct kn_state *out, char *err, size_t errlen)
{
	struct kn_job j = { .out = out };
	char netdir[4096], sysdir[4096];
	int rc;

	memset(out, 0, sizeof(*out));
	kn_sysctls_unset(&out->sysctls);
	if (procroot != NULL && nsfd != NETNS_SELF) {
		snprintf(err, errlen, "kernel: a fake proc root is only read for our own namespace");
		errno = EINVAL;
		return -1;
	}
	if (procroot != NULL) {
		snprintf(netdir, sizeof(netdir), "%s/net", procroot);
		snprintf(sysdir, sizeof(sysdir), "%s/sys/net", procroot);
	} else {
		/* /proc/net follows the thread group leader; thread-self follows
		 * the thread that opens it, which is the one in nsfd. */
		snprintf(netdir, sizeof(netdir), "/proc/thread-self/net");
		snprintf(sysdir, sizeof(sysdir), "/proc/sys/net");
	}
	j.netdir = netdir;
	j.sysdir = sysdir;
	sb_init(&j.buf);
	rc = netns_call(nsfd, kn_read_fn, &j);
	if (rc == -1) {
		snprintf(err, errlen, "kernel: %s", strerror(errno));
		goto out;
	}
	/* tcp_max_orphans is host-wide and shown only in the initial
	 * namespace: take it from ours when the other one hides it. */
	if (nsfd != NETNS_SELF && out->sysctls.tcp_max_orphans == -1)
		kn_read_sysctl(&j, "ipv4/tcp_max_orphans", &out->sysctls.tcp_max_orphans, NULL);
	if (j.nomem) {
		snprintf(err, errlen, "kernel: %s", strerror(ENOMEM));
		errno = ENOMEM;
		rc = -1;
	}
out:
	sb_free(&j.buf);
	return rc;
}
