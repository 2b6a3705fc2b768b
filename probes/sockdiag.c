#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include "probes/netns.h"
#include "probes/sockdiag.h"

/* The kernel builds dump datagrams up to about 32 KiB (netlink caps its dump
 * skbs there); a larger datagram means truncation and a restart with a
 * buffer the size the kernel reported. */
#define SD_BUF_MIN (32u * 1024)
#define SD_BUF_MAX (16u * 1024 * 1024)
/* Socket receive buffer: a few MiB so that a burst of dump datagrams never
 * overruns; doubled after ENOBUFS. */
#define SD_RCVBUF_DEFAULT (4 * 1024 * 1024)
#define SD_RCVBUF_MAX (64 * 1024 * 1024)
#define SD_INTR_TRIES 5      /* NLM_F_DUMP_INTR restarts before giving up */
#define SD_GROW_TRIES 6      /* ENOBUFS / truncation restarts */
#define SD_RECV_TIMEOUT_S 5  /* a dump or an ack never takes this long */
#define SD_TABLE_MIN 256
#define SD_FOREIGN_MAX 64    /* datagrams not from the kernel, or stale acks */
#define SD_REQ_BUFLEN 4096   /* request + the largest bytecode (1276 bytes) */

/* One port condition in the bytecode: S_GE(port) then S_LE(port), each with
 * its port in a follow-on op (16 bytes), then a JMP to the end (4 bytes)
 * except after the last condition. GE/LE pairs work on every kernel that
 * has inet_diag; the EQ ops came much later. */
#define SD_BC_COND 16u
#define SD_BC_STRIDE (SD_BC_COND + 4u)

const char *sd_state_name(unsigned state)
{
	static const char *const names[] = {
		[SD_ESTABLISHED] = "ESTAB",
		[SD_SYN_SENT] = "SYN-SENT",
		[SD_SYN_RECV] = "SYN-RECV",
		[SD_FIN_WAIT1] = "FIN-WAIT-1",
		[SD_FIN_WAIT2] = "FIN-WAIT-2",
		[SD_TIME_WAIT] = "TIME-WAIT",
		[SD_CLOSE] = "UNCONN",
		[SD_CLOSE_WAIT] = "CLOSE-WAIT",
		[SD_LAST_ACK] = "LAST-ACK",
		[SD_LISTEN] = "LISTEN",
		[SD_CLOSING] = "CLOSING",
		[SD_NEW_SYN_RECV] = "NEW-SYN-RECV",
	};

	if (state >= sizeof(names) / sizeof(names[0]) || names[state] == NULL)
		return "UNKNOWN";
	return names[state];
}

/* As ss prints them: IPv6 in brackets (an IPv4-mapped address stays in its
 * ::ffff:a.b.c.d form), port 0 as "*". */
char *sd_addr_fmt(unsigned family, const uint8_t *addr, unsigned port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	char p[8];

	if (len == 0)
		return buf;
	if (port == 0)
		snprintf(p, sizeof(p), "*");
	else
		snprintf(p, sizeof(p), "%u", port & 0xffff);
	if (family == AF_INET6) {
		if (inet_ntop(AF_INET6, addr, a, sizeof(a)) == NULL)
			snprintf(a, sizeof(a), "?");
		snprintf(buf, len, "[%s]:%s", a, p);
	} else if (family == AF_INET) {
		if (inet_ntop(AF_INET, addr, a, sizeof(a)) == NULL)
			snprintf(a, sizeof(a), "?");
		snprintf(buf, len, "%s:%s", a, p);
	} else {
		snprintf(buf, len, "?:%s", p);
	}
	return buf;
}

struct sd_sock *sd_table_push(struct sd_table *t)
{
	struct sd_sock *s;

	if (t->len == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : SD_TABLE_MIN;
		struct sd_sock *p;

		if (ncap > SIZE_MAX / sizeof(*p)) {
			errno = ENOMEM;
			return NULL;
		}
		p = realloc(t->socks, ncap * sizeof(*p));
		if (p == NULL)
			return NULL;
		t->socks = p;
		t->cap = ncap;
	}
	s = &t->socks[t->len++];
	memset(s, 0, sizeof(*s));
	return s;
}

/* Keeps the capacity: the next dump reuses the same array. */
void sd_table_reset(struct sd_table *t)
{
	t->len = 0;
}

void sd_table_free(struct sd_table *t)
{
	free(t->socks);
	t->socks = NULL;
	t->len = 0;
	t->cap = 0;
}

/* Which sides a port filter looks at: port_match 0 (or no known bit) means
 * the local side. */
static unsigned sd_port_sides(const struct sd_filter *f)
{
	unsigned sides = f->port_match & (SD_PORT_LOCAL | SD_PORT_REMOTE);

	return sides ? sides : SD_PORT_LOCAL;
}

static void sd_bc_put(uint8_t *p, uint8_t code, uint8_t yes, uint16_t no)
{
	struct inet_diag_bc_op op = { .code = code, .yes = yes, .no = no };

	memcpy(p, &op, sizeof(op));
}

/* The kernel runs the program from offset 0: a true condition advances by
 * `yes`, a false one by `no`; the socket matches when the walk ends exactly
 * at the end, and a jump 4 bytes past the end rejects it. The audit
 * (inet_diag_bc_audit) wants every `yes` to be the op's own length, every
 * `no` a multiple of 4 landing on an op boundary of the yes-chain or at most
 * 4 bytes past the end. For conditions c0..cn-1 OR'ed:
 *
 *   ci:  GE(yes 8, no 20) port  LE(yes 8, no 12) port  JMP(yes 4, no -> end)
 *
 * a failed GE or LE skips to c(i+1) (for the last one, 4 past the end: reject);
 * a passed LE falls on the JMP, which always takes `no` to the end: accept. */
int sockdiag_bytecode(const struct sd_filter *f, void *buf, size_t len)
{
	unsigned sides = sd_port_sides(f);
	unsigned nside = (sides & SD_PORT_LOCAL ? 1 : 0) + (sides & SD_PORT_REMOTE ? 1 : 0);
	uint8_t *p = buf;
	size_t need, off = 0;
	unsigned i, s, n = 0, ncond;

	if (f->nports == 0)
		return 0;
	if (f->nports > SD_MAX_PORTS) {
		errno = EINVAL;
		return -1;
	}
	ncond = f->nports * nside;
	need = (size_t)ncond * SD_BC_STRIDE - 4;
	if (need > len) {
		errno = ENOSPC;
		return -1;
	}
	for (s = 0; s < 2; s++) {
		unsigned side = s == 0 ? SD_PORT_LOCAL : SD_PORT_REMOTE;
		uint8_t ge = s == 0 ? INET_DIAG_BC_S_GE : INET_DIAG_BC_D_GE;
		uint8_t le = s == 0 ? INET_DIAG_BC_S_LE : INET_DIAG_BC_D_LE;

		if (!(sides & side))
			continue;
		for (i = 0; i < f->nports; i++) {
			sd_bc_put(p + off, ge, 8, SD_BC_STRIDE);
			sd_bc_put(p + off + 4, 0, 0, f->ports[i]);
			sd_bc_put(p + off + 8, le, 8, SD_BC_STRIDE - 8);
			sd_bc_put(p + off + 12, 0, 0, f->ports[i]);
			off += SD_BC_COND;
			if (++n < ncond) {
				sd_bc_put(p + off, INET_DIAG_BC_JMP, 4, (uint16_t)(need - off));
				off += 4;
			}
		}
	}
	return (int)need;
}

/* The userspace twin of the kernel filter. */
static int sd_filter_match(const struct sd_filter *f, unsigned family, unsigned state,
			   unsigned lport, unsigned rport)
{
	unsigned states = f->states ? f->states : SD_STATES_ALL;
	unsigned sides, i;

	if (f->family != 0 && family != f->family)
		return 0;
	if (state >= 32 || !(states & (1u << state)))
		return 0;
	if (f->nports == 0)
		return 1;
	sides = sd_port_sides(f);
	for (i = 0; i < f->nports && i < SD_MAX_PORTS; i++) {
		if ((sides & SD_PORT_LOCAL) && lport == f->ports[i])
			return 1;
		if ((sides & SD_PORT_REMOTE) && rport == f->ports[i])
			return 1;
	}
	return 0;
}

struct sd_attrs {
	const struct nlattr *info;
	const char *end; /* end of the last attribute parsed */
};

static int sd_attr_cb(const struct nlattr *attr, void *data)
{
	struct sd_attrs *a = data;

	a->end = (const char *)attr + MNL_ALIGN(attr->nla_len);
	switch (mnl_attr_get_type(attr)) {
	case INET_DIAG_INFO:
		if (mnl_attr_validate(attr, MNL_TYPE_BINARY) == -1)
			return MNL_CB_ERROR;
		a->info = attr;
		break;
	case INET_DIAG_SHUTDOWN:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == -1)
			return MNL_CB_ERROR;
		break;
	default:
		/* Other extensions, and types newer than these headers. */
		break;
	}
	return MNL_CB_OK;
}

/* A tcp_info from an older kernel is shorter: what it lacks stays zero. */
static void sd_info_fill(struct sd_sock *s, const struct nlattr *attr)
{
	struct tcp_info ti;
	size_t n = mnl_attr_get_payload_len(attr);

	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, mnl_attr_get_payload(attr), n < sizeof(ti) ? n : sizeof(ti));
	s->has_info = 1;
	s->info.retransmits = ti.tcpi_retransmits;
	s->info.probes = ti.tcpi_probes;
	s->info.backoff = ti.tcpi_backoff;
	s->info.total_retrans = ti.tcpi_total_retrans;
	s->info.unacked = ti.tcpi_unacked;
	s->info.last_data_sent = ti.tcpi_last_data_sent;
	s->info.last_data_recv = ti.tcpi_last_data_recv;
	s->info.last_ack_recv = ti.tcpi_last_ack_recv;
	s->info.rtt_us = ti.tcpi_rtt;
	s->info.rttvar_us = ti.tcpi_rttvar;
}

static int sd_parse_diag(const struct nlmsghdr *nlh, const struct sd_filter *f,
			 struct sd_table *t)
{
	const struct inet_diag_msg *m;
	struct sd_attrs a;
	struct sd_sock *s;
	unsigned lport, rport;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*m)) {
		errno = EBADMSG;
		return -1;
	}
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6) {
		errno = EBADMSG;
		return -1;
	}
	a.info = NULL;
	a.end = (const char *)mnl_nlmsg_get_payload_offset(nlh, sizeof(*m));
	/* mnl_attr_parse stops quietly at an attribute that overruns the
	 * message: one that did is caught by where the parsed ones ended. */
	if (mnl_attr_parse(nlh, sizeof(*m), sd_attr_cb, &a) != MNL_CB_OK ||
	    a.end != (const char *)mnl_nlmsg_get_payload_tail(nlh)) {
		errno = EBADMSG;
		return -1;
	}
	lport = ntohs(m->id.idiag_sport);
	rport = ntohs(m->id.idiag_dport);
	if (!sd_filter_match(f, m->idiag_family, m->idiag_state, lport, rport))
		return 0;
	s = sd_table_push(t);
	if (s == NULL)
		return -1;
	s->family = m->idiag_family;
	s->state = m->idiag_state;
	s->timer = m->idiag_timer;
	s->retrans = m->idiag_retrans;
	s->lport = (uint16_t)lport;
	s->rport = (uint16_t)rport;
	if (m->idiag_family == AF_INET) {
		memcpy(s->laddr, m->id.idiag_src, 4);
		memcpy(s->raddr, m->id.idiag_dst, 4);
	} else {
		memcpy(s->laddr, m->id.idiag_src, 16);
		memcpy(s->raddr, m->id.idiag_dst, 16);
	}
	s->ino = m->idiag_inode;
	s->uid = m->idiag_uid;
	s->rqueue = m->idiag_rqueue;
	s->wqueue = m->idiag_wqueue;
	s->ifindex = m->id.idiag_if;
	s->expires_ms = m->idiag_expires;
	s->cookie = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
	if (a.info != NULL)
		sd_info_fill(s, a.info);
	return 0;
}

/* Messages of another sequence or port id (left over from an interrupted
 * dump, or not meant for this socket) are skipped, not rejected: the dump
 * they belong to was abandoned. Zero on either side is a wildcard, as in
 * mnl_nlmsg_seq_ok/mnl_nlmsg_portid_ok. NLMSG_DONE ends the dump even when
 * more bytes follow in the datagram; a negative errno in its payload (an
 * error met in the middle of the dump) is returned as such. */
int sockdiag_parse(const void *buf, size_t len, unsigned seq, unsigned portid,
		   const struct sd_filter *f, struct sd_table *t)
{
	static const struct sd_filter all = { .states = SD_STATES_ALL };
	const struct nlmsghdr *nlh = buf;
	const struct nlmsgerr *e;
	int rem, v;

	if (f == NULL)
		f = &all;
	if (len > INT_MAX) {
		errno = EBADMSG;
		return -1;
	}
	rem = (int)len;
	while (mnl_nlmsg_ok(nlh, rem)) {
		if (!mnl_nlmsg_seq_ok(nlh, seq) || !mnl_nlmsg_portid_ok(nlh, portid))
			goto next;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			errno = EAGAIN;
			return -1;
		}
		switch (nlh->nlmsg_type) {
		case NLMSG_DONE:
			if (nlh->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof(int)) {
				memcpy(&v, mnl_nlmsg_get_payload(nlh), sizeof(v));
				if (v < 0) {
					errno = -v;
					return -1;
				}
			}
			return 0;
		case NLMSG_ERROR:
			if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e)) {
				errno = EBADMSG;
				return -1;
			}
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error == 0)
				return 0; /* an ack: nothing more comes */
			errno = e->error < 0 ? -e->error : e->error;
			return -1;
		case NLMSG_OVERRUN:
			errno = ENOBUFS;
			return -1;
		case SOCK_DIAG_BY_FAMILY:
		case TCPDIAG_GETSOCK:
			if (sd_parse_diag(nlh, f, t) == -1)
				return -1;
			break;
		default:
			break;
		}
next:
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	if (rem > 0) {
		errno = EBADMSG;
		return -1;
	}
	return 1;
}

/* SO_RCVBUFFORCE goes past net.core.rmem_max but needs CAP_NET_ADMIN;
 * without it the kernel clamps SO_RCVBUF to rmem_max, which is fine. */
static int sd_rcvbuf_set(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != -1)
		return 0;
	return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* Runs inside the target namespace: the socket belongs to the namespace it
 * was created in, whatever thread uses it later. */
static int sd_socket_new(void *arg)
{
	struct mnl_socket **nlp = arg;

	*nlp = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	return *nlp == NULL ? -1 : 0;
}

static struct mnl_socket *sd_nl_open(int nsfd, int rcvbuf, char *err, size_t errlen)
{
	struct mnl_socket *nl = NULL;
	struct timeval tv = { .tv_sec = SD_RECV_TIMEOUT_S, .tv_usec = 0 };
	int fd;

	if (netns_call(nsfd, sd_socket_new, &nl) == -1) {
		snprintf(err, errlen, "sock_diag: netlink socket: %s", strerror(errno));
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		snprintf(err, errlen, "sock_diag: bind: %s", strerror(errno));
		goto err;
	}
	fd = mnl_socket_get_fd(nl);
	if (rcvbuf > 0 && sd_rcvbuf_set(fd, rcvbuf) == -1) {
		snprintf(err, errlen, "sock_diag: SO_RCVBUF: %s", strerror(errno));
		goto err;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1) {
		snprintf(err, errlen, "sock_diag: SO_RCVTIMEO: %s", strerror(errno));
		goto err;
	}
	return nl;
err:
	mnl_socket_close(nl);
	return NULL;
}

static void sd_nl_drop(struct sockdiag *sd)
{
	if (sd->nl != NULL)
		mnl_socket_close(sd->nl);
	sd->nl = NULL;
	sd->portid = 0;
}

/* A fresh dump socket: after an error the previous dump may still be running
 * in the kernel (a new one would get EBUSY) or have lost datagrams. */
static int sd_nl_reopen(struct sockdiag *sd, int rcvbuf, char *err, size_t errlen)
{
	sd_nl_drop(sd);
	sd->nl = sd_nl_open(sd->nsfd, rcvbuf, err, errlen);
	if (sd->nl == NULL)
		return -1;
	sd->portid = mnl_socket_get_portid(sd->nl);
	return 0;
}

int sockdiag_open(struct sockdiag *sd, int nsfd, char *err, size_t errlen)
{
	memset(sd, 0, sizeof(*sd));
	sd->nsfd = nsfd;
	sd->seq = (unsigned)time(NULL);
	sd->buf = malloc(SD_BUF_MIN);
	if (sd->buf == NULL) {
		snprintf(err, errlen, "sock_diag: %s", strerror(errno));
		return -1;
	}
	sd->buflen = SD_BUF_MIN;
	if (sd_nl_reopen(sd, SD_RCVBUF_DEFAULT, err, errlen) == -1) {
		free(sd->buf);
		sd->buf = NULL;
		sd->buflen = 0;
		return -1;
	}
	return 0;
}

void sockdiag_close(struct sockdiag *sd)
{
	if (sd->nl_kill != NULL)
		mnl_socket_close(sd->nl_kill);
	sd->nl_kill = NULL;
	sd_nl_drop(sd);
	free(sd->buf);
	sd->buf = NULL;
	sd->buflen = 0;
}

static unsigned sd_seq_next(struct sockdiag *sd)
{
	if (++sd->seq == 0)
		sd->seq = 1;
	return sd->seq;
}

static int sd_send(struct mnl_socket *nl, const struct nlmsghdr *nlh)
{
	ssize_t n;

	do
		n = mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != nlh->nlmsg_len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* One datagram from the kernel. A datagram larger than len is reported as
 * EMSGSIZE with its real size in *need (MSG_TRUNC makes recvmsg return it);
 * datagrams from other senders are dropped, a bounded number of them. */
static ssize_t sd_recv(struct mnl_socket *nl, void *buf, size_t len, size_t *need)
{
	struct sockaddr_nl sa;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg;
	ssize_t n;
	unsigned foreign = 0;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &sa;
		msg.msg_namelen = sizeof(sa);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		n = recvmsg(mnl_socket_get_fd(nl), &msg, MSG_TRUNC);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if ((size_t)n > len || (msg.msg_flags & MSG_TRUNC)) {
			*need = (size_t)n;
			errno = EMSGSIZE;
			return -1;
		}
		if (msg.msg_namelen != sizeof(sa) || sa.nl_pid != 0) {
			if (++foreign > SD_FOREIGN_MAX) {
				errno = EPROTO;
				return -1;
			}
			continue;
		}
		return n;
	}
}

/* family AF_UNSPEC asks for both families in one request: the legacy
 * TCPDIAG_GETSOCK form, which the kernel serves with one walk of its socket
 * tables for IPv4 and IPv6 together (the per-family form walks them once
 * per family). Its replies carry that message type. */
static int sd_dump_family(struct sockdiag *sd, uint8_t family, const struct sd_filter *f,
			  struct sd_table *t, size_t *need)
{
	char req[SD_REQ_BUFLEN];
	uint8_t bc[SD_REQ_BUFLEN / 2];
	struct nlmsghdr *nlh;
	uint8_t ext = 0;
	ssize_t n;
	int bclen, rc;

	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = sd_seq_next(sd);
	if (f->want_info)
		ext |= 1 << (INET_DIAG_INFO - 1);
	if (family == AF_UNSPEC) {
		struct inet_diag_req *r1;

		nlh->nlmsg_type = TCPDIAG_GETSOCK;
		r1 = mnl_nlmsg_put_extra_header(nlh, sizeof(*r1));
		r1->idiag_family = AF_INET; /* ignored: the kernel dumps both */
		r1->idiag_states = f->states ? f->states : SD_STATES_ALL;
		r1->idiag_ext = ext;
	} else {
		struct inet_diag_req_v2 *r;

		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
		r->sdiag_family = family;
		r->sdiag_protocol = IPPROTO_TCP;
		r->idiag_states = f->states ? f->states : SD_STATES_ALL;
		r->idiag_ext = ext;
	}
	bclen = sockdiag_bytecode(f, bc, sizeof(bc));
	if (bclen == -1)
		return -1;
	if (bclen > 0 &&
	    !mnl_attr_put_check(nlh, sizeof(req), INET_DIAG_REQ_BYTECODE, (size_t)bclen, bc)) {
		errno = EMSGSIZE;
		return -1;
	}
	if (sd_send(sd->nl, nlh) == -1)
		return -1;
	for (;;) {
		n = sd_recv(sd->nl, sd->buf, sd->buflen, need);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		rc = sockdiag_parse(sd->buf, (size_t)n, sd->seq, sd->portid, f, t);
		if (rc <= 0)
			return rc;
	}
}

static int sd_rcvbuf_next(const struct sockdiag *sd)
{
	int cur = 0;
	socklen_t sl = sizeof(cur);

	/* getsockopt reports twice what was asked for: asking for that
	 * doubles the buffer. */
	if (getsockopt(mnl_socket_get_fd(sd->nl), SOL_SOCKET, SO_RCVBUF, &cur, &sl) == -1 ||
	    cur < SD_RCVBUF_DEFAULT)
		cur = SD_RCVBUF_DEFAULT;
	return cur > SD_RCVBUF_MAX ? SD_RCVBUF_MAX : cur;
}

static int sd_buf_grow(struct sockdiag *sd, size_t need)
{
	size_t n = sd->buflen * 2;
	char *p;

	while (n < need && n < SD_BUF_MAX)
		n *= 2;
	if (n > SD_BUF_MAX)
		n = SD_BUF_MAX;
	if (n <= sd->buflen) {
		errno = EMSGSIZE;
		return -1;
	}
	p = malloc(n);
	if (p == NULL)
		return -1;
	free(sd->buf);
	sd->buf = p;
	sd->buflen = n;
	return 0;
}

/* Every restart starts the whole dump again (both families), so that t is
 * one consistent pass. Both families come from one request when the kernel
 * takes it (sd_dump_family). */
int sockdiag_dump(struct sockdiag *sd, const struct sd_filter *f, struct sd_table *t,
		  char *err, size_t errlen)
{
	static const struct sd_filter all = { .states = SD_STATES_ALL };
	uint8_t fams[2];
	unsigned nfam, i, grows = 0;
	size_t need = 0;
	int rc = 0, e, rcvbuf = SD_RCVBUF_DEFAULT;

	if (f == NULL)
		f = &all;
	if (f->family == 0 && !sd->no_onewalk) {
		fams[0] = AF_UNSPEC;
		nfam = 1;
	} else if (f->family == 0) {
		fams[0] = AF_INET;
		fams[1] = AF_INET6;
		nfam = 2;
	} else if (f->family == AF_INET || f->family == AF_INET6) {
		fams[0] = f->family;
		nfam = 1;
	} else {
		snprintf(err, errlen, "sock_diag: family %u is not AF_INET or AF_INET6", f->family);
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (f->nports > SD_MAX_PORTS) {
		snprintf(err, errlen, "sock_diag: %u ports, at most %d", f->nports, SD_MAX_PORTS);
		errno = EINVAL;
		return -1;
	}
	sd->dump_retries = 0;
	for (;;) {
		if (sd->nl == NULL && sd_nl_reopen(sd, rcvbuf, err, errlen) == -1)
			return -1;
		sd_table_reset(t);
		for (i = 0; i < nfam; i++) {
			rc = sd_dump_family(sd, fams[i], f, t, &need);
			/* A kernel without IPv6 has no AF_INET6 handler. */
			if (rc == -1 && fams[i] == AF_INET6 && f->family == 0 &&
			    (errno == ENOENT || errno == EAFNOSUPPORT))
				rc = 0;
			if (rc == -1)
				break;
		}
		if (rc == 0)
			return 0;
		e = errno;
		/* A kernel without the both-families request: one dump per
		 * family from now on (the error ended that request). */
		if (fams[0] == AF_UNSPEC && (e == EINVAL || e == ENOENT || e == EOPNOTSUPP)) {
			sd->no_onewalk = 1;
			fams[0] = AF_INET;
			fams[1] = AF_INET6;
			nfam = 2;
			continue;
		}
		if (e == EAGAIN) {
			if (++sd->dump_retries >= SD_INTR_TRIES) {
				snprintf(err, errlen, "sock_diag: dump interrupted %u times in a row",
					 sd->dump_retries);
				goto fail;
			}
			sd_nl_drop(sd);
			continue;
		}
		if ((e == ENOBUFS || e == EMSGSIZE) && grows++ < SD_GROW_TRIES) {
			if (e == EMSGSIZE && sd_buf_grow(sd, need) == -1) {
				e = errno;
				snprintf(err, errlen, "sock_diag: receive buffer (%zu bytes): %s",
					 need, strerror(e));
				goto fail;
			}
			rcvbuf = e == ENOBUFS ? sd_rcvbuf_next(sd) : rcvbuf;
			sd_nl_drop(sd);
			continue;
		}
		switch (e) {
		case EBADMSG:
			snprintf(err, errlen, "sock_diag: malformed message from the kernel");
			break;
		case ETIMEDOUT:
			snprintf(err, errlen, "sock_diag: no answer from the kernel in %d s",
				 SD_RECV_TIMEOUT_S);
			break;
		case EINVAL:
			snprintf(err, errlen, "sock_diag: the kernel rejected the dump request%s",
				 f->nports ? " (port filter bytecode)" : "");
			break;
		default:
			snprintf(err, errlen, "sock_diag: dump: %s", strerror(e));
			break;
		}
		goto fail;
	}
fail:
	/* The dump may still be running: the next one starts on a new socket. */
	sd_nl_drop(sd);
	errno = e;
	return -1;
}

static int sd_ack_read(struct mnl_socket *nl, unsigned seq)
{
	char buf[8192];
	const struct nlmsghdr *nlh;
	const struct nlmsgerr *e;
	size_t need = 0;
	ssize_t n;
	unsigned stale;
	int rem;

	for (stale = 0; stale < SD_FOREIGN_MAX; stale++) {
		n = sd_recv(nl, buf, sizeof(buf), &need);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		rem = (int)n;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e)) {
				errno = EBADMSG;
				return -1;
			}
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error == 0)
				return 0;
			errno = e->error < 0 ? -e->error : e->error;
			return -1;
		}
	}
	errno = EPROTO;
	return -1;
}

int sockdiag_destroy(struct sockdiag *sd, const struct sd_sock *s, char *err, size_t errlen)
{
	char req[512];
	char a[64];
	struct nlmsghdr *nlh;
	struct inet_diag_req_v2 *r;
	unsigned seq;
	int e;

	if (s->family != AF_INET && s->family != AF_INET6) {
		snprintf(err, errlen, "sock_diag: destroy: family %u is not AF_INET or AF_INET6",
			 s->family);
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (sd->nl_kill == NULL) {
		sd->nl_kill = sd_nl_open(sd->nsfd, 0, err, errlen);
		if (sd->nl_kill == NULL)
			return -1;
	}
	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = SOCK_DESTROY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq = sd_seq_next(sd);
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = s->family;
	r->sdiag_protocol = IPPROTO_TCP;
	r->idiag_states = SD_STATES_ALL;
	r->id.idiag_sport = htons(s->lport);
	r->id.idiag_dport = htons(s->rport);
	memcpy(r->id.idiag_src, s->laddr, s->family == AF_INET ? 4 : 16);
	memcpy(r->id.idiag_dst, s->raddr, s->family == AF_INET ? 4 : 16);
	r->id.idiag_if = s->ifindex;
	r->id.idiag_cookie[0] = (uint32_t)s->cookie;
	r->id.idiag_cookie[1] = (uint32_t)(s->cookie >> 32);
	if (sd_send(sd->nl_kill, nlh) == 0 && sd_ack_read(sd->nl_kill, seq) == 0)
		return 0;
	e = errno;
	sd_addr_fmt(s->family, s->laddr, s->lport, a, sizeof(a));
	switch (e) {
	case EOPNOTSUPP:
		snprintf(err, errlen, "SOCK_DESTROY %s: kernel lacks CONFIG_INET_DIAG_DESTROY", a);
		break;
	case EPERM:
	case EACCES:
		e = EPERM;
		snprintf(err, errlen, "SOCK_DESTROY %s: SOCK_DESTROY needs CAP_NET_ADMIN", a);
		break;
	case ENOENT:
	case ESTALE: /* the tuple now names another socket (cookie differs) */
		e = ENOENT;
		snprintf(err, errlen, "SOCK_DESTROY %s: socket already gone", a);
		break;
	default:
		snprintf(err, errlen, "SOCK_DESTROY %s: %s", a, strerror(e));
		/* A lost or late ack would confuse the next request. */
		mnl_socket_close(sd->nl_kill);
		sd->nl_kill = NULL;
		break;
	}
	errno = e;
	return -1;
}
