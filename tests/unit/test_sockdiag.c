#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include "common/clock.h"
#include "probes/netns.h"
#include "probes/sockdiag.h"

/*
 * recvmsg is wrapped at link time (-Wl,--wrap=recvmsg): the dump code's
 * calls come here, so that real dumps can be made to meet EINTR, ENOBUFS and
 * NLM_F_DUMP_INTR.
 */
ssize_t __real_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t __wrap_recvmsg(int fd, struct msghdr *msg, int flags);

static int inj_eintr;   /* the next N calls fail with EINTR */
static int inj_enobufs; /* then the next N with ENOBUFS */
static int inj_intr;    /* the next N datagrams get NLM_F_DUMP_INTR */
static int inj_ack;     /* rewrites the error of the next NLMSG_ERROR */
static unsigned rx_diag; /* socket messages the kernel sent (SOCK_DIAG_BY_FAMILY,
			  * or TCPDIAG_GETSOCK for a both-families dump) */
static unsigned rx_onewalk; /* of which TCPDIAG_GETSOCK */

ssize_t __wrap_recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t n;

	if (inj_eintr > 0) {
		inj_eintr--;
		errno = EINTR;
		return -1;
	}
	if (inj_enobufs > 0) {
		inj_enobufs--;
		errno = ENOBUFS;
		return -1;
	}
	n = __real_recvmsg(fd, msg, flags);
	if (n > 0 && (size_t)n <= msg->msg_iov[0].iov_len) {
		const struct nlmsghdr *h = msg->msg_iov[0].iov_base;
		int rem = (int)n;

		for (; mnl_nlmsg_ok(h, rem); h = mnl_nlmsg_next(h, &rem)) {
			rx_diag += h->nlmsg_type == SOCK_DIAG_BY_FAMILY ||
				   h->nlmsg_type == TCPDIAG_GETSOCK;
			rx_onewalk += h->nlmsg_type == TCPDIAG_GETSOCK;
		}
	}
	if (inj_intr > 0 && n >= (ssize_t)sizeof(struct nlmsghdr) &&
	    (size_t)n <= msg->msg_iov[0].iov_len) {
		struct nlmsghdr *nlh = msg->msg_iov[0].iov_base;

		inj_intr--;
		nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	}
	if (inj_ack != 0 && n >= (ssize_t)(NLMSG_HDRLEN + sizeof(struct nlmsgerr)) &&
	    (size_t)n <= msg->msg_iov[0].iov_len) {
		struct nlmsghdr *nlh = msg->msg_iov[0].iov_base;
		struct nlmsgerr *e = NLMSG_DATA(nlh);

		if (nlh->nlmsg_type == NLMSG_ERROR) {
			e->error = inj_ack;
			inj_ack = 0;
		}
	}
	return n;
}

/* ---- constructed messages ---- */

#define SEQ 4242u
#define PORTID 777u

static char mbuf[65536] __attribute__((aligned(8)));

struct spec {
	uint8_t family;
	uint8_t state;
	uint16_t sport;
	uint16_t dport;
	const char *src;
	const char *dst;
	uint32_t ino;
	size_t info_len; /* 0: no INET_DIAG_INFO */
	uint16_t flags;
	unsigned seq;
	unsigned portid;
};

static void addr_parse(uint8_t family, const char *s, void *dst)
{
	assert_int_equal(inet_pton(family, s, dst), 1);
}

/* Appends one SOCK_DIAG_BY_FAMILY message at off; returns the new end. */
static size_t put_diag(size_t off, const struct spec *sp)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mbuf + off);
	struct inet_diag_msg *m;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_MULTI | sp->flags;
	nlh->nlmsg_seq = sp->seq ? sp->seq : SEQ;
	nlh->nlmsg_pid = sp->portid ? sp->portid : PORTID;
	m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
	m->idiag_family = sp->family;
	m->idiag_state = sp->state;
	m->idiag_timer = 1;
	m->idiag_retrans = 2;
	m->id.idiag_sport = htons(sp->sport);
	m->id.idiag_dport = htons(sp->dport);
	addr_parse(sp->family, sp->src, m->id.idiag_src);
	addr_parse(sp->family, sp->dst, m->id.idiag_dst);
	m->id.idiag_if = 3;
	m->id.idiag_cookie[0] = 0x11223344;
	m->id.idiag_cookie[1] = 0x55667788;
	m->idiag_expires = 200;
	m->idiag_rqueue = 10;
	m->idiag_wqueue = 20;
	m->idiag_uid = 1000;
	m->idiag_inode = sp->ino;
	if (sp->info_len > 0) {
		unsigned char raw[sizeof(struct tcp_info) + 16];
		struct tcp_info ti;

		assert_true(sp->info_len <= sizeof(raw));
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_retransmits = 1;
		ti.tcpi_probes = 2;
		ti.tcpi_backoff = 3;
		ti.tcpi_unacked = 4;
		ti.tcpi_last_data_sent = 5;
		ti.tcpi_last_data_recv = 6;
		ti.tcpi_last_ack_recv = 7;
		ti.tcpi_rtt = 800;
		ti.tcpi_rttvar = 90;
		ti.tcpi_total_retrans = 11;
		memset(raw, 0xee, sizeof(raw));
		memcpy(raw, &ti, sizeof(ti));
		mnl_attr_put(nlh, INET_DIAG_INFO, sp->info_len, raw);
	}
	return off + nlh->nlmsg_len;
}

static size_t put_done(size_t off, unsigned seq, int v)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mbuf + off);
	int *p;

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = PORTID;
	p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
	*p = v;
	return off + nlh->nlmsg_len;
}

static size_t put_error(size_t off, unsigned seq, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mbuf + off);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = PORTID;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_seq = seq;
	return off + nlh->nlmsg_len;
}

static const struct spec v4_estab = {
	.family = AF_INET, .state = SD_ESTABLISHED, .sport = 8080, .dport = 51000,
	.src = "127.0.0.1", .dst = "10.1.2.3", .ino = 1234,
};

static const struct sd_filter filter_all = { .states = SD_STATES_ALL };

static void check_v4_estab(const struct sd_sock *s)
{
	static const uint8_t src[16] = { 127, 0, 0, 1 };
	static const uint8_t dst[16] = { 10, 1, 2, 3 };

	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->state, SD_ESTABLISHED);
	assert_int_equal(s->lport, 8080);
	assert_int_equal(s->rport, 51000);
	assert_memory_equal(s->laddr, src, 16);
	assert_memory_equal(s->raddr, dst, 16);
	assert_int_equal(s->ino, 1234);
	assert_int_equal(s->uid, 1000);
	assert_int_equal(s->rqueue, 10);
	assert_int_equal(s->wqueue, 20);
	assert_int_equal(s->timer, 1);
	assert_int_equal(s->retrans, 2);
	assert_int_equal(s->ifindex, 3);
	assert_int_equal(s->expires_ms, 200);
	assert_true(s->cookie == 0x5566778811223344ull);
}

static void test_sockdiag_parse_single(void **state)
{
	struct sd_table t = { 0 };
	size_t off;

	off = put_diag(0, &v4_estab);
	off = put_done(off, SEQ, 0);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 0);
	assert_int_equal(t.len, 1);
	check_v4_estab(&t.socks[0]);
	assert_int_equal(t.socks[0].has_info, 0);
	assert_int_equal(t.socks[0].info.rtt_us, 0);
	sd_table_free(&t);
}

/* Replies to the both-families request carry its message type. */
static void test_sockdiag_parse_onewalk_type(void **state)
{
	struct sd_table t = { 0 };
	struct nlmsghdr *nlh = (struct nlmsghdr *)mbuf;
	size_t off;

	(void)state;
	off = put_diag(0, &v4_estab);
	nlh->nlmsg_type = TCPDIAG_GETSOCK;
	off = put_done(off, SEQ, 0);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 0);
	assert_int_equal(t.len, 1);
	check_v4_estab(&t.socks[0]);
	sd_table_free(&t);
}

static void test_sockdiag_parse_info(void **state)
{
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	const struct sd_tcpinfo *i;
	size_t off;

	sp.info_len = sizeof(struct tcp_info);
	off = put_diag(0, &sp);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 1);
	assert_int_equal(t.len, 1);
	check_v4_estab(&t.socks[0]);
	assert_int_equal(t.socks[0].has_info, 1);
	i = &t.socks[0].info;
	assert_int_equal(i->retransmits, 1);
	assert_int_equal(i->probes, 2);
	assert_int_equal(i->backoff, 3);
	assert_int_equal(i->unacked, 4);
	assert_int_equal(i->last_data_sent, 5);
	assert_int_equal(i->last_data_recv, 6);
	assert_int_equal(i->last_ack_recv, 7);
	assert_int_equal(i->rtt_us, 800);
	assert_int_equal(i->rttvar_us, 90);
	assert_int_equal(i->total_retrans, 11);
	sd_table_free(&t);
}

/* An older kernel's tcp_info is shorter: what is there is used, the rest is 0.
 * A newer kernel's is longer: the extra bytes are ignored. */
static void test_sockdiag_parse_short_info(void **state)
{
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	size_t off;

	sp.info_len = offsetof(struct tcp_info, tcpi_rtt); /* ends just before rtt */
	off = put_diag(0, &sp);
	sp.info_len = sizeof(struct tcp_info) + 16;
	off = put_diag(off, &sp);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 1);
	assert_int_equal(t.len, 2);
	assert_int_equal(t.socks[0].has_info, 1);
	assert_int_equal(t.socks[0].info.retransmits, 1);
	assert_int_equal(t.socks[0].info.last_ack_recv, 7);
	assert_int_equal(t.socks[0].info.rtt_us, 0);
	assert_int_equal(t.socks[0].info.rttvar_us, 0);
	assert_int_equal(t.socks[0].info.total_retrans, 0);
	assert_int_equal(t.socks[1].info.rtt_us, 800);
	assert_int_equal(t.socks[1].info.total_retrans, 11);
	sd_table_free(&t);
}

static void test_sockdiag_parse_several(void **state)
{
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	size_t off = 0;
	unsigned i;

	for (i = 0; i < 5; i++) {
		sp.ino = 100 + i;
		sp.info_len = i % 2 ? sizeof(struct tcp_info) : 0;
		off = put_diag(off, &sp);
	}
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 1);
	assert_int_equal(t.len, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(t.socks[i].ino, 100 + i);
		assert_int_equal(t.socks[i].has_info, i % 2);
	}
	sd_table_free(&t);
}

static void test_sockdiag_parse_two_datagrams(void **state)
{
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	size_t off;

	sp.ino = 1;
	off = put_diag(0, &sp);
	sp.ino = 2;
	off = put_diag(off, &sp);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 1);
	sp.ino = 3;
	off = put_diag(0, &sp);
	off = put_done(off, SEQ, 0);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 0);
	assert_int_equal(t.len, 3);
	assert_int_equal(t.socks[0].ino, 1);
	assert_int_equal(t.socks[2].ino, 3);
	/* A datagram with only NLMSG_DONE ends the dump too. */
	off = put_done(0, SEQ, 0);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 0);
	assert_int_equal(t.len, 3);
	sd_table_free(&t);
}

static void test_sockdiag_parse_dump_intr(void **state)
{
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	size_t off;

	off = put_diag(0, &v4_estab);
	sp.flags = NLM_F_DUMP_INTR;
	off = put_diag(off, &sp);
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EAGAIN);
	/* The flag on NLMSG_DONE counts as well. */
	off = put_done(0, SEQ, 0);
	((struct nlmsghdr *)mbuf)->nlmsg_flags |= NLM_F_DUMP_INTR;
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EAGAIN);
	sd_table_free(&t);
}

static void test_sockdiag_parse_error(void **state)
{
	struct sd_table t = { 0 };
	size_t off;

	off = put_error(0, SEQ, -EPERM);
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EPERM);

	off = put_diag(0, &v4_estab);
	off = put_error(off, SEQ, -EINVAL);
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EINVAL);

	/* An error met in the middle of a dump comes in NLMSG_DONE. */
	off = put_done(0, SEQ, -ENOMEM);
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, ENOMEM);

	/* An NLMSG_ERROR too short to hold struct nlmsgerr. */
	off = put_error(0, SEQ, -EPERM);
	((struct nlmsghdr *)mbuf)->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, MNL_NLMSG_HDRLEN + 4, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EBADMSG);
	sd_table_free(&t);
}

static void test_sockdiag_parse_truncated_message(void **state)
{
	struct sd_table t = { 0 };
	size_t off, one;

	one = put_diag(0, &v4_estab);
	off = put_diag(one, &v4_estab);
	/* The second message cut in the middle. */
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off - 20, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EBADMSG);
	/* Less than a header left over. */
	t.len = 0;
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, one + 8, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EBADMSG);
	/* A message whose length does not cover struct inet_diag_msg. */
	off = put_diag(0, &v4_estab);
	((struct nlmsghdr *)mbuf)->nlmsg_len = MNL_NLMSG_HDRLEN + 16;
	t.len = 0;
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, MNL_NLMSG_HDRLEN + 16, SEQ, PORTID, &filter_all, &t),
			 -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(t.len, 0);
	sd_table_free(&t);
}

static void test_sockdiag_parse_truncated_attribute(void **state)
{
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	struct nlattr *a;
	size_t off;

	sp.info_len = sizeof(struct tcp_info);
	off = put_diag(0, &sp);
	a = (struct nlattr *)(mbuf + MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct inet_diag_msg)));
	assert_int_equal(mnl_attr_get_type(a), INET_DIAG_INFO);
	a->nla_len += 8; /* claims more than the message holds */
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(t.len, 0);
	/* An attribute header cut short. */
	off = put_diag(0, &v4_estab);
	((struct nlmsghdr *)mbuf)->nlmsg_len += 4;
	memset(mbuf + off, 0, 4);
	((struct nlattr *)(mbuf + off))->nla_len = 20;
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off + 4, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EBADMSG);
	/* A malformed u8 attribute fails mnl_attr_validate. */
	off = put_diag(0, &v4_estab);
	mnl_attr_put_u32((struct nlmsghdr *)mbuf, INET_DIAG_SHUTDOWN, 0);
	((struct nlattr *)(mbuf + off))->nla_len = 4; /* no payload */
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, ((struct nlmsghdr *)mbuf)->nlmsg_len, SEQ, PORTID,
					&filter_all, &t), -1);
	assert_int_equal(errno, EBADMSG);
	sd_table_free(&t);
}

/* Policy: messages of another sequence or port id are skipped (left over
 * from an abandoned dump); zero on either side is a wildcard. */
static void test_sockdiag_parse_foreign_seq(void **state)
{
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	size_t off;

	sp.seq = SEQ - 1;
	off = put_diag(0, &sp);
	sp.seq = SEQ;
	sp.portid = PORTID + 1;
	off = put_diag(off, &sp);
	off = put_done(off, SEQ - 1, 0); /* an old dump's end does not end ours */
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 1);
	assert_int_equal(t.len, 0);
	off = put_diag(0, &v4_estab);
	off = put_done(off, SEQ, 0);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 0);
	assert_int_equal(t.len, 1);
	/* seq 0 given by the caller accepts any sequence. */
	sp = v4_estab;
	sp.seq = 99;
	off = put_diag(0, &sp);
	assert_int_equal(sockdiag_parse(mbuf, off, 0, PORTID, &filter_all, &t), 1);
	assert_int_equal(t.len, 2);
	sd_table_free(&t);
}

static void test_sockdiag_parse_filter_state(void **state)
{
	static const uint8_t states[] = { SD_LISTEN, SD_ESTABLISHED, SD_CLOSE_WAIT, SD_FIN_WAIT2,
					  SD_TIME_WAIT, SD_SYN_RECV };
	struct sd_filter f = { .states = SD_STATE_BIT(SD_LISTEN) | SD_STATES_HALF_CLOSED };
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	size_t off = 0;
	unsigned i;

	for (i = 0; i < sizeof(states); i++) {
		sp.state = states[i];
		sp.ino = i;
		off = put_diag(off, &sp);
	}
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &f, &t), 1);
	assert_int_equal(t.len, 3);
	assert_int_equal(t.socks[0].state, SD_LISTEN);
	assert_int_equal(t.socks[1].state, SD_CLOSE_WAIT);
	assert_int_equal(t.socks[2].state, SD_FIN_WAIT2);
	/* states 0 means every state; NULL filter too. */
	sd_table_reset(&t);
	f.states = 0;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &f, &t), 1);
	assert_int_equal(t.len, sizeof(states));
	sd_table_reset(&t);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, NULL, &t), 1);
	assert_int_equal(t.len, sizeof(states));
	/* A family filter. */
	sd_table_reset(&t);
	f.family = AF_INET6;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &f, &t), 1);
	assert_int_equal(t.len, 0);
	sd_table_free(&t);
}

static void test_sockdiag_parse_filter_port(void **state)
{
	static const uint16_t pairs[][2] = { { 80, 50000 }, { 443, 50001 }, { 50002, 80 },
					     { 50003, 443 }, { 8080, 9090 }, { 81, 79 } };
	struct sd_filter f = { .states = SD_STATES_ALL, .nports = 2, .ports = { 80, 443 } };
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	size_t off = 0;
	unsigned i;

	for (i = 0; i < 6; i++) {
		sp.sport = pairs[i][0];
		sp.dport = pairs[i][1];
		sp.ino = i;
		off = put_diag(off, &sp);
	}
	/* port_match 0 is the local side. */
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &f, &t), 1);
	assert_int_equal(t.len, 2);
	assert_int_equal(t.socks[0].ino, 0);
	assert_int_equal(t.socks[1].ino, 1);
	sd_table_reset(&t);
	f.port_match = SD_PORT_REMOTE;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &f, &t), 1);
	assert_int_equal(t.len, 2);
	assert_int_equal(t.socks[0].ino, 2);
	assert_int_equal(t.socks[1].ino, 3);
	sd_table_reset(&t);
	f.port_match = SD_PORT_LOCAL | SD_PORT_REMOTE;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &f, &t), 1);
	assert_int_equal(t.len, 4);
	sd_table_free(&t);
}

static void test_sockdiag_parse_ipv6(void **state)
{
	struct spec sp = {
		.family = AF_INET6, .state = SD_LISTEN, .sport = 8443, .dport = 0,
		.src = "::1", .dst = "::", .ino = 9,
	};
	struct sd_table t = { 0 };
	uint8_t want[16];
	char a[64];
	size_t off;

	off = put_diag(0, &sp);
	sp.state = SD_ESTABLISHED;
	sp.src = "::ffff:127.0.0.1";
	sp.dst = "::ffff:10.0.0.2";
	sp.dport = 40000;
	off = put_diag(off, &sp);
	sp.src = "2001:db8::1";
	sp.dst = "fe80::1:2";
	off = put_diag(off, &sp);
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), 1);
	assert_int_equal(t.len, 3);
	assert_int_equal(t.socks[0].family, AF_INET6);
	addr_parse(AF_INET6, "::1", want);
	assert_memory_equal(t.socks[0].laddr, want, 16);
	assert_string_equal(sd_addr_fmt(AF_INET6, t.socks[0].laddr, t.socks[0].lport, a, sizeof(a)),
			    "[::1]:8443");
	assert_string_equal(sd_addr_fmt(AF_INET6, t.socks[0].raddr, t.socks[0].rport, a, sizeof(a)),
			    "[::]:*");
	addr_parse(AF_INET6, "::ffff:127.0.0.1", want);
	assert_memory_equal(t.socks[1].laddr, want, 16);
	assert_string_equal(sd_addr_fmt(AF_INET6, t.socks[1].laddr, t.socks[1].lport, a, sizeof(a)),
			    "[::ffff:127.0.0.1]:8443");
	assert_string_equal(sd_addr_fmt(AF_INET6, t.socks[1].raddr, t.socks[1].rport, a, sizeof(a)),
			    "[::ffff:10.0.0.2]:40000");
	assert_string_equal(sd_addr_fmt(AF_INET6, t.socks[2].raddr, t.socks[2].rport, a, sizeof(a)),
			    "[fe80::1:2]:40000");
	sd_table_free(&t);
}

static void test_sockdiag_parse_bad_family(void **state)
{
	struct spec sp = v4_estab;
	struct sd_table t = { 0 };
	size_t off;

	off = put_diag(0, &sp);
	((struct inet_diag_msg *)(mbuf + MNL_NLMSG_HDRLEN))->idiag_family = AF_UNIX;
	errno = 0;
	assert_int_equal(sockdiag_parse(mbuf, off, SEQ, PORTID, &filter_all, &t), -1);
	assert_int_equal(errno, EBADMSG);
	sd_table_free(&t);
}

static void test_sd_state_name_all(void **state)
{
	assert_string_equal(sd_state_name(SD_ESTABLISHED), "ESTAB");
	assert_string_equal(sd_state_name(SD_SYN_SENT), "SYN-SENT");
	assert_string_equal(sd_state_name(SD_SYN_RECV), "SYN-RECV");
	assert_string_equal(sd_state_name(SD_FIN_WAIT1), "FIN-WAIT-1");
	assert_string_equal(sd_state_name(SD_FIN_WAIT2), "FIN-WAIT-2");
	assert_string_equal(sd_state_name(SD_TIME_WAIT), "TIME-WAIT");
	assert_string_equal(sd_state_name(SD_CLOSE), "UNCONN");
	assert_string_equal(sd_state_name(SD_CLOSE_WAIT), "CLOSE-WAIT");
	assert_string_equal(sd_state_name(SD_LAST_ACK), "LAST-ACK");
	assert_string_equal(sd_state_name(SD_LISTEN), "LISTEN");
	assert_string_equal(sd_state_name(SD_CLOSING), "CLOSING");
	assert_string_equal(sd_state_name(SD_NEW_SYN_RECV), "NEW-SYN-RECV");
	assert_string_equal(sd_state_name(0), "UNKNOWN");
	assert_string_equal(sd_state_name(13), "UNKNOWN");
	assert_string_equal(sd_state_name(~0u), "UNKNOWN");
}

static void test_sd_addr_fmt_cases(void **state)
{
	uint8_t a[16] = { 127, 0, 0, 1 };
	char buf[64];
	char small[8];

	assert_string_equal(sd_addr_fmt(AF_INET, a, 80, buf, sizeof(buf)), "127.0.0.1:80");
	assert_string_equal(sd_addr_fmt(AF_INET, a, 0, buf, sizeof(buf)), "127.0.0.1:*");
	memset(a, 0, sizeof(a));
	assert_string_equal(sd_addr_fmt(AF_INET, a, 65535, buf, sizeof(buf)), "0.0.0.0:65535");
	a[15] = 1;
	assert_string_equal(sd_addr_fmt(AF_INET6, a, 80, buf, sizeof(buf)), "[::1]:80");
	/* Truncated, still a C string. */
	assert_ptr_equal(sd_addr_fmt(AF_INET6, a, 8080, small, sizeof(small)), small);
	assert_string_equal(small, "[::1]:8");
	buf[0] = 'x';
	sd_addr_fmt(AF_INET6, a, 80, buf, 0);
	assert_int_equal(buf[0], 'x');
}

static void test_sd_table_push_grows(void **state)
{
	struct sd_table t = { 0 };
	struct sd_sock *s, *first;
	size_t cap, i;

	for (i = 0; i < 1000; i++) {
		s = sd_table_push(&t);
		assert_non_null(s);
		assert_int_equal(s->ino, 0);
		s->ino = (uint32_t)i + 1;
	}
	assert_int_equal(t.len, 1000);
	assert_true(t.cap >= 1000 && t.cap < 4000);
	for (i = 0; i < 1000; i++)
		assert_int_equal(t.socks[i].ino, i + 1);
	cap = t.cap;
	first = t.socks;
	sd_table_reset(&t);
	assert_int_equal(t.len, 0);
	for (i = 0; i < 1000; i++) {
		s = sd_table_push(&t);
		assert_int_equal(s->ino, 0); /* blank again */
	}
	assert_int_equal(t.cap, cap);
	assert_ptr_equal(t.socks, first);
	sd_table_free(&t);
	assert_null(t.socks);
	assert_int_equal(t.cap, 0);
}

/* ---- bytecode, checked by the kernel's own rules ---- */

static int bc_is_port_op(uint8_t code)
{
	switch (code) {
	case INET_DIAG_BC_S_GE:
	case INET_DIAG_BC_S_LE:
	case INET_DIAG_BC_D_GE:
	case INET_DIAG_BC_D_LE:
	case INET_DIAG_BC_S_EQ:
	case INET_DIAG_BC_D_EQ:
		return 1;
	}
	return 0;
}

/* inet_diag_bc_run for the port ops: a true op advances by yes, a false one
 * by no; matched when the walk ends exactly at the end. */
static int bc_run(const uint8_t *bc, int len, unsigned sport, unsigned dport)
{
	const uint8_t *p = bc;
	unsigned steps = 0;

	while (len > 0) {
		struct inet_diag_bc_op op, arg = { 0 };
		int yes = 1;

		assert_true(++steps < 100000);
		assert_true(p >= bc);
		memcpy(&op, p, sizeof(op));
		if (bc_is_port_op(op.code))
			memcpy(&arg, p + 4, sizeof(arg));
		switch (op.code) {
		case INET_DIAG_BC_NOP:
			break;
		case INET_DIAG_BC_JMP:
			yes = 0;
			break;
		case INET_DIAG_BC_S_EQ:
			yes = sport == arg.no;
			break;
		case INET_DIAG_BC_S_GE:
			yes = sport >= arg.no;
			break;
		case INET_DIAG_BC_S_LE:
			yes = sport <= arg.no;
			break;
		case INET_DIAG_BC_D_EQ:
			yes = dport == arg.no;
			break;
		case INET_DIAG_BC_D_GE:
			yes = dport >= arg.no;
			break;
		case INET_DIAG_BC_D_LE:
			yes = dport <= arg.no;
			break;
		default:
			fail_msg("unexpected op %u", op.code);
		}
		if (yes) {
			len -= op.yes;
			p += op.yes;
		} else {
			len -= op.no;
			p += op.no;
		}
	}
	return len == 0;
}

/* valid_cc: is cc (bytes left at the target) on the chain of yes jumps? */
static int bc_valid_cc(const uint8_t *bc, int len, int cc)
{
	while (len >= 0) {
		struct inet_diag_bc_op op;

		if (cc > len)
			return 0;
		if (cc == len)
			return 1;
		memcpy(&op, bc, sizeof(op));
		if (op.yes < 4 || op.yes & 3)
			return 0;
		len -= op.yes;
		bc += op.yes;
	}
	return 0;
}

/* inet_diag_bc_audit, for the ops a port filter may use. */
static int bc_audit(const uint8_t *bc, int bclen)
{
	const uint8_t *p = bc;
	int len = bclen;

	if (len < 4)
		return -1;
	while (len > 0) {
		struct inet_diag_bc_op op;
		int min_len = 4;

		memcpy(&op, p, sizeof(op));
		if (bc_is_port_op(op.code)) {
			min_len += 4;
			if (len < min_len)
				return -1;
		} else if (op.code != INET_DIAG_BC_JMP && op.code != INET_DIAG_BC_NOP) {
			return -1;
		}
		if (op.code != INET_DIAG_BC_NOP) {
			if (op.no < min_len || op.no > len + 4 || op.no & 3)
				return -1;
			if (op.no < len && !bc_valid_cc(bc, bclen, len - op.no))
				return -1;
		}
		if (op.yes < min_len || op.yes > len + 4 || op.yes & 3)
			return -1;
		p += op.yes;
		len -= op.yes;
	}
	return len == 0 ? 0 : -1;
}

static int port_in(const struct sd_filter *f, unsigned port)
{
	unsigned i;

	for (i = 0; i < f->nports; i++)
		if (f->ports[i] == port)
			return 1;
	return 0;
}

/* Runs the bytecode of f against sample (sport, dport) pairs around every
 * port of f and compares with the intended meaning. */
static void bc_check(const struct sd_filter *f)
{
	uint8_t bc[2048];
	unsigned sides = f->port_match ? f->port_match : SD_PORT_LOCAL;
	unsigned samples[3 * SD_MAX_PORTS + 6];
	unsigned ns = 0, i, j, matched = 0;
	int len;

	len = sockdiag_bytecode(f, bc, sizeof(bc));
	assert_true(len > 0);
	assert_int_equal(len % 4, 0);
	assert_int_equal(bc_audit(bc, len), 0);
	samples[ns++] = 0;
	samples[ns++] = 1;
	samples[ns++] = 65535;
	samples[ns++] = 65534;
	samples[ns++] = 12345;
	samples[ns++] = 31000;
	for (i = 0; i < f->nports; i++) {
		samples[ns++] = f->ports[i];
		samples[ns++] = (f->ports[i] + 1) & 0xffff;
		samples[ns++] = (f->ports[i] - 1) & 0xffff;
	}
	for (i = 0; i < ns; i++) {
		for (j = 0; j < ns; j++) {
			unsigned sp = samples[i], dp = samples[j];
			int want = ((sides & SD_PORT_LOCAL) && port_in(f, sp)) ||
				   ((sides & SD_PORT_REMOTE) && port_in(f, dp));
			int got = bc_run(bc, len, sp, dp);

			if (got != want)
				fail_msg("sport %u dport %u: bytecode says %d, want %d", sp, dp, got,
					 want);
			matched += (unsigned)got;
		}
	}
	assert_true(matched > 0);
}

static void test_sockdiag_bytecode_one_port(void **state)
{
	struct sd_filter f = { .nports = 1, .ports = { 8080 } };

	bc_check(&f);
	f.port_match = SD_PORT_LOCAL;
	bc_check(&f);
	f.port_match = SD_PORT_REMOTE;
	bc_check(&f);
	f.ports[0] = 1;
	bc_check(&f);
	f.ports[0] = 65535;
	bc_check(&f);
}

static void test_sockdiag_bytecode_several_ports(void **state)
{
	struct sd_filter f = { .nports = 4, .ports = { 80, 443, 81, 8080 } };

	bc_check(&f);
	f.port_match = SD_PORT_REMOTE;
	bc_check(&f);
}

static void test_sockdiag_bytecode_both_sides(void **state)
{
	struct sd_filter f = { .nports = 3, .ports = { 22, 80, 443 },
			       .port_match = SD_PORT_LOCAL | SD_PORT_REMOTE };
	unsigned i;

	bc_check(&f);
	f.nports = 1;
	bc_check(&f);
	f.nports = SD_MAX_PORTS;
	for (i = 0; i < SD_MAX_PORTS; i++)
		f.ports[i] = (uint16_t)(1000 + 7 * i);
	bc_check(&f);
}

static void test_sockdiag_bytecode_limits(void **state)
{
	struct sd_filter f = { .nports = 0 };
	uint8_t bc[64];

	assert_int_equal(sockdiag_bytecode(&f, bc, sizeof(bc)), 0);
	f.nports = 3;
	f.ports[0] = 1;
	f.ports[1] = 2;
	f.ports[2] = 3;
	errno = 0;
	assert_int_equal(sockdiag_bytecode(&f, bc, 3 * 20 - 5), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(sockdiag_bytecode(&f, bc, 3 * 20 - 4), 3 * 20 - 4);
	f.nports = SD_MAX_PORTS + 1;
	assert_int_equal(sockdiag_bytecode(&f, bc, sizeof(bc)), -1);
}

/* The evaluator itself must reject a broken program, or the checks above
 * prove nothing. */
static void test_sockdiag_bytecode_audit_rejects(void **state)
{
	struct sd_filter f = { .nports = 2, .ports = { 80, 443 } };
	uint8_t bc[256];
	int len;

	len = sockdiag_bytecode(&f, bc, sizeof(bc));
	assert_int_equal(bc_audit(bc, len), 0);
	bc[2] = 24; /* first op's `no` 4 bytes off its target (low byte, little endian) */
	bc[3] = 0;
	assert_int_equal(bc_audit(bc, len), -1);
	len = sockdiag_bytecode(&f, bc, sizeof(bc));
	assert_int_equal(bc_audit(bc, len - 4), -1);
}

/* ---- live sockets on loopback ---- */

static int tcp_listen(int family, const char *addr, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		addr_parse(AF_INET, addr, &sin->sin_addr);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		addr_parse(AF_INET6, addr, &sin6->sin6_addr);
		sl = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (family == AF_INET6) {
		int zero = 0;

		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
	}
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, backlog) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	sl = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int tcp_connect(int family, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		addr_parse(AF_INET, addr, &sin->sin_addr);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		addr_parse(AF_INET6, addr, &sin6->sin6_addr);
		sl = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	while (connect(fd, (struct sockaddr *)&ss, sl) == -1) {
		assert_int_equal(errno, EINTR);
	}
	return fd;
}

static uint16_t sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static uint32_t sock_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint32_t)st.st_ino;
}

/* Closes with RST so that the tests leave no TIME-WAIT behind. */
static void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static const struct sd_sock *find_sock(const struct sd_table *t, unsigned st, unsigned lport,
				       unsigned rport)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (t->socks[i].state == st && t->socks[i].lport == lport &&
		    t->socks[i].rport == rport)
			return &t->socks[i];
	return NULL;
}

static void sd_open_ok(struct sockdiag *sd)
{
	char err[256] = "";

	if (sockdiag_open(sd, NETNS_SELF, err, sizeof(err)) == -1)
		fail_msg("sockdiag_open: %s", err);
}

static void dump_ok(struct sockdiag *sd, const struct sd_filter *f, struct sd_table *t)
{
	char err[256] = "";

	if (sockdiag_dump(sd, f, t, err, sizeof(err)) == -1)
		fail_msg("sockdiag_dump: %s", err);
}

/* Dumps until the listener on port shows want accept-queue entries (the
 * last handshake ACK may still be on its way), for at most 2 s. */
static const struct sd_sock *dump_wait_listener(struct sockdiag *sd, const struct sd_filter *f,
						struct sd_table *t, uint16_t port, uint32_t want)
{
	uint64_t deadline = clock_mono_ms() + 2000;
	const struct sd_sock *l;

	for (;;) {
		dump_ok(sd, f, t);
		l = find_sock(t, SD_LISTEN, port, 0);
		if ((l != NULL && l->rqueue == want) || clock_mono_ms() > deadline)
			return l;
		usleep(10000);
	}
}

struct pairs {
	int lfd;
	uint16_t port;
	int cfd[3];
};

static void test_sockdiag_dump_listener_queue(void **state)
{
	struct sd_filter f = { .states = SD_STATES_ALL, .want_info = 1, .nports = 1,
			       .port_match = SD_PORT_LOCAL | SD_PORT_REMOTE };
	struct sd_table t = { 0 };
	struct sockdiag sd;
	struct pairs p;
	const struct sd_sock *l, *c;
	struct tcp_info ti;
	socklen_t tl;
	unsigned i, children = 0;
	char a[64], b[64];

	p.lfd = tcp_listen(AF_INET, "127.0.0.1", 7, &p.port);
	assert_true(p.lfd != -1);
	for (i = 0; i < 3; i++)
		p.cfd[i] = tcp_connect(AF_INET, "127.0.0.1", p.port);
	f.ports[0] = p.port;
	sd_open_ok(&sd);
	l = dump_wait_listener(&sd, &f, &t, p.port, 3);
	assert_non_null(l);
	assert_int_equal(t.len, 7);
	assert_int_equal(l->family, AF_INET);
	assert_int_equal(l->rqueue, 3);
	assert_int_equal(l->wqueue, 7);
	assert_int_equal(l->ino, sock_ino(p.lfd));
	assert_int_equal(l->uid, getuid());
	assert_true(l->cookie != 0);
	snprintf(a, sizeof(a), "127.0.0.1:%u", p.port);
	assert_string_equal(sd_addr_fmt(l->family, l->laddr, l->lport, b, sizeof(b)), a);
	for (i = 0; i < 3; i++) {
		c = find_sock(&t, SD_ESTABLISHED, sock_port(p.cfd[i]), p.port);
		assert_non_null(c);
		assert_int_equal(c->ino, sock_ino(p.cfd[i]));
		assert_int_equal(c->raddr[0], 127);
		assert_int_equal(c->has_info, 1);
		tl = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		assert_int_equal(getsockopt(p.cfd[i], IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
		/* No traffic since the handshake: the same figures as getsockopt. */
		assert_int_equal(c->info.rtt_us, ti.tcpi_rtt);
		assert_int_equal(c->info.rttvar_us, ti.tcpi_rttvar);
		assert_int_equal(c->info.total_retrans, ti.tcpi_total_retrans);
		assert_true(c->info.rtt_us < 1000000);
		assert_true(c->info.rttvar_us > 0);
	}
	for (i = 0; i < t.len; i++) {
		if (t.socks[i].state == SD_ESTABLISHED && t.socks[i].lport == p.port) {
			/* Not accepted yet: no file, no inode. */
			assert_int_equal(t.socks[i].ino, 0);
			children++;
		}
	}
	assert_int_equal(children, 3);

	/* The kernel did the port filtering: it sent only these, both
	 * families from one request. */
	rx_diag = 0;
	rx_onewalk = 0;
	dump_ok(&sd, &f, &t);
	assert_int_equal(t.len, 7);
	assert_int_equal(rx_diag, 7);
	assert_int_equal(rx_onewalk, 7);
	assert_int_equal(sd.no_onewalk, 0);

	/* Only the listener: state filter in the kernel and here. */
	f.states = SD_STATE_BIT(SD_LISTEN);
	rx_diag = 0;
	dump_ok(&sd, &f, &t);
	assert_int_equal(rx_diag, 1);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.socks[0].ino, sock_ino(p.lfd));

	for (i = 0; i < 3; i++)
		close_rst(p.cfd[i]);
	close(p.lfd);
	sockdiag_close(&sd);
	sd_table_free(&t);
}

/* The kernel filters on its own: a request carrying the bytecode and parsed
 * with no port filter in userspace returns only the matching sockets. */
static void test_sockdiag_bytecode_kernel_accepts(void **state)
{
	struct sd_filter f = { .states = SD_STATES_ALL, .nports = 3,
			       .port_match = SD_PORT_LOCAL | SD_PORT_REMOTE };
	struct sd_table t = { 0 };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct inet_diag_req_v2 *r;
	uint8_t bc[1024];
	char req[2048];
	uint16_t port1, port2;
	int l1, l2, c1, c2, a1, bclen, rc;
	unsigned seq = 77, portid, guard = 0;
	ssize_t n;
	size_t i;

	l1 = tcp_listen(AF_INET, "127.0.0.1", 8, &port1);
	l2 = tcp_listen(AF_INET, "127.0.0.1", 8, &port2);
	assert_true(l1 != -1 && l2 != -1);
	c1 = tcp_connect(AF_INET, "127.0.0.1", port1);
	c2 = tcp_connect(AF_INET, "127.0.0.1", port2);
	a1 = accept(l1, NULL, NULL);
	assert_true(a1 != -1);
	/* port1 and two ports nobody uses; port2's sockets must not show. */
	f.ports[0] = 1;
	f.ports[1] = port1;
	f.ports[2] = 2;
	bclen = sockdiag_bytecode(&f, bc, sizeof(bc));
	assert_true(bclen > 0);

	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	assert_non_null(nl);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = AF_INET;
	r->sdiag_protocol = IPPROTO_TCP;
	r->idiag_states = SD_STATES_ALL;
	mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, (size_t)bclen, bc);
	assert_int_equal(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), (ssize_t)nlh->nlmsg_len);
	do {
		assert_true(++guard < 10000);
		n = mnl_socket_recvfrom(nl, mbuf, sizeof(mbuf));
		assert_true(n > 0);
		rc = sockdiag_parse(mbuf, (size_t)n, seq, portid, &filter_all, &t);
		if (rc == -1)
			fail_msg("kernel answer: %s", strerror(errno));
	} while (rc == 1);
	/* listener, client, accepted socket */
	assert_int_equal(t.len, 3);
	for (i = 0; i < t.len; i++)
		assert_true(t.socks[i].lport == port1 || t.socks[i].rport == port1);
	assert_non_null(find_sock(&t, SD_LISTEN, port1, 0));
	assert_non_null(find_sock(&t, SD_ESTABLISHED, sock_port(c1), port1));
	assert_non_null(find_sock(&t, SD_ESTABLISHED, port1, sock_port(c1)));

	mnl_socket_close(nl);
	close_rst(a1);
	close_rst(c1);
	close_rst(c2);
	close(l1);
	close(l2);
	sd_table_free(&t);
}

static void test_sockdiag_dump_ipv6(void **state)
{
	struct sd_filter f = { .family = AF_INET6, .states = SD_STATES_ALL, .nports = 1,
			       .port_match = SD_PORT_LOCAL };
	struct sd_table t = { 0 };
	struct sockdiag sd;
	const struct sd_sock *s;
	uint16_t port;
	int lfd, cfd, afd;
	char a[64], want[64];

	sd_open_ok(&sd);

	/* Dual-stack listener on ::, IPv4 client: the accepted socket is
	 * AF_INET6 with IPv4-mapped addresses. */
	lfd = tcp_listen(AF_INET6, "::", 4, &port);
	if (lfd == -1) {
		sockdiag_close(&sd);
		skip();
	}
	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd != -1);
	f.ports[0] = port;
	dump_ok(&sd, &f, &t);
	assert_int_equal(t.len, 2);
	s = find_sock(&t, SD_ESTABLISHED, port, sock_port(cfd));
	assert_non_null(s);
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->ino, sock_ino(afd));
	snprintf(want, sizeof(want), "[::ffff:127.0.0.1]:%u", port);
	assert_string_equal(sd_addr_fmt(s->family, s->laddr, s->lport, a, sizeof(a)), want);
	/* The IPv4 side is in the AF_INET dump, not here. */
	f.family = AF_INET;
	f.port_match = SD_PORT_REMOTE;
	dump_ok(&sd, &f, &t);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.socks[0].ino, sock_ino(cfd));
	/* Both families: one request, one walk of the kernel's tables. */
	f.family = 0;
	f.port_match = SD_PORT_LOCAL | SD_PORT_REMOTE;
	rx_onewalk = 0;
	dump_ok(&sd, &f, &t);
	assert_int_equal(t.len, 3);
	assert_int_equal(rx_onewalk, 3);
	assert_non_null(find_sock(&t, SD_LISTEN, port, 0));
	s = find_sock(&t, SD_ESTABLISHED, sock_port(cfd), port);
	assert_non_null(s);
	assert_int_equal(s->family, AF_INET);
	s = find_sock(&t, SD_ESTABLISHED, port, sock_port(cfd));
	assert_non_null(s);
	assert_int_equal(s->family, AF_INET6);
	close_rst(afd);
	close_rst(cfd);
	close(lfd);

	/* A ::1 listener, when the host has ::1. */
	lfd = tcp_listen(AF_INET6, "::1", 4, &port);
	if (lfd != -1) {
		f.family = 0;
		f.port_match = SD_PORT_LOCAL;
		f.ports[0] = port;
		dump_ok(&sd, &f, &t);
		assert_int_equal(t.len, 1);
		s = &t.socks[0];
		assert_int_equal(s->family, AF_INET6);
		assert_int_equal(s->state, SD_LISTEN);
		assert_int_equal(s->ino, sock_ino(lfd));
		snprintf(want, sizeof(want), "[::1]:%u", port);
		assert_string_equal(sd_addr_fmt(s->family, s->laddr, s->lport, a, sizeof(a)), want);
		close(lfd);
	}
	sockdiag_close(&sd);
	sd_table_free(&t);
}

#define MANY 3000

/* MANY connections (2 * MANY + 1 sockets): every one comes back, over many
 * datagrams, and a second dump allocates nothing. */
static void test_sockdiag_dump_many(void **state)
{
	struct sd_filter f = { .states = SD_STATES_ALL, .nports = 1,
			       .port_match = SD_PORT_LOCAL | SD_PORT_REMOTE };
	static uint8_t seen[65536];
	static int cfd[MANY], afd[MANY];
	static uint8_t cport[65536];
	struct sd_table t = { 0 };
	struct sockdiag sd;
	struct sd_sock *socks;
	char *buf;
	uint64_t t0, t1;
	size_t cap, i, nclients = 0, naccepted = 0, nlisten = 0;
	uint16_t port;
	int lfd;

	memset(seen, 0, sizeof(seen));
	memset(cport, 0, sizeof(cport));
	lfd = tcp_listen(AF_INET, "127.0.0.1", 128, &port);
	assert_true(lfd != -1);
	for (i = 0; i < MANY; i++) {
		cfd[i] = tcp_connect(AF_INET, "127.0.0.1", port);
		afd[i] = accept(lfd, NULL, NULL);
		assert_true(afd[i] != -1);
		cport[sock_port(cfd[i])] = 1;
	}
	f.ports[0] = port;
	sd_open_ok(&sd);
	t0 = clock_mono_us();
	dump_ok(&sd, &f, &t);
	t1 = clock_mono_us();
	assert_int_equal(t.len, 2 * MANY + 1);
	for (i = 0; i < t.len; i++) {
		const struct sd_sock *s = &t.socks[i];

		if (s->state == SD_LISTEN) {
			nlisten++;
			continue;
		}
		assert_int_equal(s->state, SD_ESTABLISHED);
		assert_true(s->ino != 0);
		if (s->rport == port) {
			assert_int_equal(cport[s->lport], 1);
			assert_int_equal(seen[s->lport] & 1, 0);
			seen[s->lport] |= 1;
			nclients++;
		} else {
			assert_int_equal(s->lport, port);
			assert_int_equal(cport[s->rport], 1);
			assert_int_equal(seen[s->rport] & 2, 0);
			seen[s->rport] |= 2;
			naccepted++;
		}
	}
	assert_int_equal(nlisten, 1);
	assert_int_equal(nclients, MANY);
	assert_int_equal(naccepted, MANY);
	print_message("dump of %zu sockets (port filter, %u bytes buffer): %llu us\n", t.len,
		      (unsigned)sd.buflen, (unsigned long long)(t1 - t0));

	cap = t.cap;
	socks = t.socks;
	buf = sd.buf;
	dump_ok(&sd, &f, &t);
	assert_int_equal(t.len, 2 * MANY + 1);
	assert_int_equal(t.cap, cap);
	assert_ptr_equal(t.socks, socks);
	assert_ptr_equal(sd.buf, buf);

	for (i = 0; i < MANY; i++) {
		close_rst(cfd[i]);
		close_rst(afd[i]);
	}
	close(lfd);
	sockdiag_close(&sd);
	sd_table_free(&t);
}

struct live {
	int lfd;
	uint16_t port;
	int cfd[3];
	struct sd_filter f;
};

static void live_setup(struct live *lv, int want_info)
{
	unsigned i;

	memset(lv, 0, sizeof(*lv));
	lv->lfd = tcp_listen(AF_INET, "127.0.0.1", 7, &lv->port);
	assert_true(lv->lfd != -1);
	for (i = 0; i < 3; i++)
		lv->cfd[i] = tcp_connect(AF_INET, "127.0.0.1", lv->port);
	lv->f.states = SD_STATES_ALL;
	lv->f.want_info = (uint8_t)want_info;
	lv->f.nports = 1;
	lv->f.ports[0] = lv->port;
	lv->f.port_match = SD_PORT_LOCAL | SD_PORT_REMOTE;
}

static void live_teardown(struct live *lv)
{
	unsigned i;

	for (i = 0; i < 3; i++)
		close_rst(lv->cfd[i]);
	close(lv->lfd);
}

/* A receive buffer smaller than the kernel's datagrams: MSG_TRUNC, a bigger
 * buffer, a restart, and the whole answer. */
static void test_sockdiag_dump_small_buffer(void **state)
{
	struct sd_table t = { 0 };
	struct sockdiag sd;
	struct live lv;

	live_setup(&lv, 1);
	sd_open_ok(&sd);
	free(sd.buf);
	sd.buflen = 256;
	sd.buf = malloc(sd.buflen);
	assert_non_null(sd.buf);
	assert_non_null(dump_wait_listener(&sd, &lv.f, &t, lv.port, 3));
	assert_int_equal(t.len, 7);
	assert_true(sd.buflen > 256);
	sockdiag_close(&sd);
	live_teardown(&lv);
	sd_table_free(&t);
}

static void test_sockdiag_dump_eintr(void **state)
{
	struct sd_table t = { 0 };
	struct sockdiag sd;
	struct live lv;

	live_setup(&lv, 0);
	sd_open_ok(&sd);
	assert_non_null(dump_wait_listener(&sd, &lv.f, &t, lv.port, 3));
	inj_eintr = 3;
	dump_ok(&sd, &lv.f, &t);
	assert_int_equal(inj_eintr, 0);
	assert_int_equal(t.len, 7);
	assert_int_equal(sd.dump_retries, 0);
	sockdiag_close(&sd);
	live_teardown(&lv);
	sd_table_free(&t);
}

static int rcvbuf_of(const struct sockdiag *sd)
{
	int v = 0;
	socklen_t sl = sizeof(v);

	assert_int_equal(getsockopt(mnl_socket_get_fd(sd->nl), SOL_SOCKET, SO_RCVBUF, &v, &sl), 0);
	return v;
}

static void test_sockdiag_dump_enobufs(void **state)
{
	struct sd_table t = { 0 };
	struct sockdiag sd;
	struct live lv;
	int before;

	live_setup(&lv, 0);
	sd_open_ok(&sd);
	assert_non_null(dump_wait_listener(&sd, &lv.f, &t, lv.port, 3));
	before = rcvbuf_of(&sd);
	assert_true(before >= 256 * 1024); /* at least rmem_max-ish, asked 4 MiB */
	inj_enobufs = 1;
	dump_ok(&sd, &lv.f, &t);
	assert_int_equal(inj_enobufs, 0);
	assert_int_equal(t.len, 7);
	/* SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it rmem_max caps both. */
	if (geteuid() == 0)
		assert_true(rcvbuf_of(&sd) > before);
	sockdiag_close(&sd);
	live_teardown(&lv);
	sd_table_free(&t);
}

static void test_sockdiag_dump_intr_restart(void **state)
{
	struct sd_table t = { 0 };
	struct sockdiag sd;
	struct live lv;
	char err[256] = "";

	live_setup(&lv, 0);
	sd_open_ok(&sd);
	assert_non_null(dump_wait_listener(&sd, &lv.f, &t, lv.port, 3));
	inj_intr = 1;
	dump_ok(&sd, &lv.f, &t);
	assert_int_equal(inj_intr, 0);
	assert_int_equal(sd.dump_retries, 1);
	assert_int_equal(t.len, 7); /* nothing twice */

	inj_intr = 1000;
	errno = 0;
	assert_int_equal(sockdiag_dump(&sd, &lv.f, &t, err, sizeof(err)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(sd.dump_retries, 5);
	assert_non_null(strstr(err, "interrupted"));
	inj_intr = 0;
	/* The handle recovers. */
	dump_ok(&sd, &lv.f, &t);
	assert_int_equal(t.len, 7);
	assert_int_equal(sd.dump_retries, 0);
	sockdiag_close(&sd);
	live_teardown(&lv);
	sd_table_free(&t);
}

static void test_sockdiag_dump_bad_filter(void **state)
{
	struct sd_filter f = { .family = 99, .states = SD_STATES_ALL };
	struct sd_table t = { 0 };
	struct sockdiag sd;
	char err[256] = "";

	sd_open_ok(&sd);
	errno = 0;
	assert_int_equal(sockdiag_dump(&sd, &f, &t, err, sizeof(err)), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	assert_true(err[0] != '\0');
	f.family = AF_INET;
	f.nports = SD_MAX_PORTS + 1;
	err[0] = '\0';
	assert_int_equal(sockdiag_dump(&sd, &f, &t, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(err[0] != '\0');
	sockdiag_close(&sd);
	sd_table_free(&t);
}

/* Waits up to 2 s for fd to become readable; returns what recv says. */
static ssize_t recv_wait(int fd, int *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 2000), 1);
	n = recv(fd, &c, 1, MSG_DONTWAIT);
	*err = n == -1 ? errno : 0;
	return n;
}

static void test_sockdiag_destroy_pair(void **state)
{
	struct sd_filter f = { .states = SD_STATES_ALL, .nports = 1,
			       .port_match = SD_PORT_LOCAL | SD_PORT_REMOTE };
	struct sd_table t = { 0 };
	struct sockdiag sd;
	struct sd_sock victim, fake;
	const struct sd_sock *s;
	uint16_t port;
	int lfd, c1, a1, c2, a2, e;
	char err[256] = "";
	ssize_t n;

	lfd = tcp_listen(AF_INET, "127.0.0.1", 4, &port);
	assert_true(lfd != -1);
	c1 = tcp_connect(AF_INET, "127.0.0.1", port);
	a1 = accept(lfd, NULL, NULL);
	c2 = tcp_connect(AF_INET, "127.0.0.1", port);
	a2 = accept(lfd, NULL, NULL);
	assert_true(a1 != -1 && a2 != -1);
	f.ports[0] = port;
	sd_open_ok(&sd);
	dump_ok(&sd, &f, &t);
	s = find_sock(&t, SD_ESTABLISHED, sock_port(c1), port);
	assert_non_null(s);
	assert_int_equal(s->ino, sock_ino(c1));
	victim = *s;
	s = find_sock(&t, SD_ESTABLISHED, port, sock_port(c2));
	assert_non_null(s);
	fake = *s;

	if (sockdiag_destroy(&sd, &victim, err, sizeof(err)) == -1) {
		e = errno;
		if (e == EPERM || e == EOPNOTSUPP) {
			print_message("skipped: %s\n", err);
			sockdiag_close(&sd);
			skip();
		}
		fail_msg("sockdiag_destroy: %s", err);
	}
	/* The destroyed side reads ECONNABORTED, the peer got a RST. */
	n = recv_wait(c1, &e);
	assert_int_equal(n, -1);
	assert_int_equal(e, ECONNABORTED);
	n = recv_wait(a1, &e);
	assert_true(n == 0 || (n == -1 && e == ECONNRESET));

	/* Gone now. */
	err[0] = '\0';
	errno = 0;
	assert_int_equal(sockdiag_destroy(&sd, &victim, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "socket already gone"));

	/* A live tuple with a made-up cookie names no socket, and that socket
	 * stays alive. */
	fake.cookie ^= 0x5a5a5a5a00000001ull;
	err[0] = '\0';
	errno = 0;
	assert_int_equal(sockdiag_destroy(&sd, &fake, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "socket already gone"));
	assert_int_equal(send(c2, "x", 1, MSG_NOSIGNAL), 1);
	n = recv_wait(a2, &e);
	assert_int_equal(n, 1);

	sockdiag_close(&sd);
	close_rst(c1);
	close_rst(a1);
	close_rst(c2);
	close_rst(a2);
	close(lfd);
	sd_table_free(&t);
}

/* What each kernel answer becomes: a tuple nobody uses, with the kernel's
 * ENOENT rewritten on its way in. */
static void test_sockdiag_destroy_errors(void **state)
{
	static const struct {
		int kerr;
		int want;
		const char *msg;
	} cases[] = {
		{ -EOPNOTSUPP, EOPNOTSUPP, "kernel lacks CONFIG_INET_DIAG_DESTROY" },
		{ -EPERM, EPERM, "SOCK_DESTROY needs CAP_NET_ADMIN" },
		{ -EACCES, EPERM, "SOCK_DESTROY needs CAP_NET_ADMIN" },
		{ -ESTALE, ENOENT, "socket already gone" },
		{ -EINVAL, EINVAL, "Invalid argument" },
	};
	struct sd_sock s = { .family = AF_INET, .state = SD_ESTABLISHED, .lport = 1, .rport = 2,
			     .laddr = { 127, 0, 0, 1 }, .raddr = { 127, 0, 0, 1 },
			     .cookie = 0x1234 };
	struct sockdiag sd;
	char err[256];
	unsigned i;

	sd_open_ok(&sd);
	err[0] = '\0';
	errno = 0;
	assert_int_equal(sockdiag_destroy(&sd, &s, err, sizeof(err)), -1);
	if (errno == EPERM || errno == EOPNOTSUPP) {
		sockdiag_close(&sd);
		skip();
	}
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "127.0.0.1:1"));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		inj_ack = cases[i].kerr;
		err[0] = '\0';
		errno = 0;
		assert_int_equal(sockdiag_destroy(&sd, &s, err, sizeof(err)), -1);
		assert_int_equal(inj_ack, 0);
		assert_int_equal(errno, cases[i].want);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("kernel %d: \"%s\"", cases[i].kerr, err);
	}
	/* IPv6 goes the same way. */
	s.family = AF_INET6;
	memset(s.laddr, 0, 16);
	s.laddr[15] = 1;
	errno = 0;
	assert_int_equal(sockdiag_destroy(&sd, &s, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	sockdiag_close(&sd);
}

static void test_sockdiag_close_twice(void **state)
{
	struct sockdiag sd;

	sd_open_ok(&sd);
	assert_non_null(sd.nl);
	assert_null(sd.nl_kill);
	assert_int_equal(sd.nsfd, NETNS_SELF);
	assert_true(sd.buflen >= 32 * 1024);
	sockdiag_close(&sd);
	assert_null(sd.nl);
	assert_null(sd.buf);
	sockdiag_close(&sd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockdiag_parse_single),
		cmocka_unit_test(test_sockdiag_parse_onewalk_type),
		cmocka_unit_test(test_sockdiag_parse_info),
		cmocka_unit_test(test_sockdiag_parse_short_info),
		cmocka_unit_test(test_sockdiag_parse_several),
		cmocka_unit_test(test_sockdiag_parse_two_datagrams),
		cmocka_unit_test(test_sockdiag_parse_dump_intr),
		cmocka_unit_test(test_sockdiag_parse_error),
		cmocka_unit_test(test_sockdiag_parse_truncated_message),
		cmocka_unit_test(test_sockdiag_parse_truncated_attribute),
		cmocka_unit_test(test_sockdiag_parse_foreign_seq),
		cmocka_unit_test(test_sockdiag_parse_filter_state),
		cmocka_unit_test(test_sockdiag_parse_filter_port),
		cmocka_unit_test(test_sockdiag_parse_ipv6),
		cmocka_unit_test(test_sockdiag_parse_bad_family),
		cmocka_unit_test(test_sd_state_name_all),
		cmocka_unit_test(test_sd_addr_fmt_cases),
		cmocka_unit_test(test_sd_table_push_grows),
		cmocka_unit_test(test_sockdiag_bytecode_one_port),
		cmocka_unit_test(test_sockdiag_bytecode_several_ports),
		cmocka_unit_test(test_sockdiag_bytecode_both_sides),
		cmocka_unit_test(test_sockdiag_bytecode_limits),
		cmocka_unit_test(test_sockdiag_bytecode_audit_rejects),
		cmocka_unit_test(test_sockdiag_bytecode_kernel_accepts),
		cmocka_unit_test(test_sockdiag_dump_listener_queue),
		cmocka_unit_test(test_sockdiag_dump_ipv6),
		cmocka_unit_test(test_sockdiag_dump_many),
		cmocka_unit_test(test_sockdiag_dump_small_buffer),
		cmocka_unit_test(test_sockdiag_dump_eintr),
		cmocka_unit_test(test_sockdiag_dump_enobufs),
		cmocka_unit_test(test_sockdiag_dump_intr_restart),
		cmocka_unit_test(test_sockdiag_dump_bad_filter),
		cmocka_unit_test(test_sockdiag_destroy_pair),
		cmocka_unit_test(test_sockdiag_destroy_errors),
		cmocka_unit_test(test_sockdiag_close_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
