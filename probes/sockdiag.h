/* sock_diag (NETLINK_INET_DIAG) TCP dumps and SOCK_DESTROY, with libmnl.
 * Library code: errors go to the caller's buffer, nothing is logged. */
#ifndef PROBES_SOCKDIAG_H
#define PROBES_SOCKDIAG_H

#include <stddef.h>

#include "probes/sockdiag-t.h"

/* Opens the dump socket in namespace nsfd (NETNS_SELF for ours; the fd is
 * borrowed and must outlive sd). Returns 0, or -1 with err filled. */
int sockdiag_open(struct sockdiag *sd, int nsfd, char *err, size_t errlen);
void sockdiag_close(struct sockdiag *sd);

/* Dumps the TCP sockets that match f (IPv4 then IPv6 when f->family is 0)
 * into t, replacing its contents. Restarts the dump when the kernel flags it
 * NLM_F_DUMP_INTR (a bounded number of times), retries on EINTR, and on
 * ENOBUFS restarts with a larger receive buffer. Returns 0 or -1. */
int sockdiag_dump(struct sockdiag *sd, const struct sd_filter *f, struct sd_table *t,
		  char *err, size_t errlen);

/* The parser, apart from the I/O so that recorded or constructed messages can
 * drive it: consumes one datagram of netlink messages for the dump with
 * sequence seq and appends matching sockets to t.
 * Returns 1 when more datagrams are expected, 0 on NLMSG_DONE, -1 on error
 * with errno set: EINTR-like restart needed -> errno = EAGAIN (NLM_F_DUMP_INTR),
 * a netlink error message -> its errno, malformed/truncated -> EBADMSG. */
int sockdiag_parse(const void *buf, size_t len, unsigned seq, unsigned portid,
		   const struct sd_filter *f, struct sd_table *t);

/* Appends a blank socket to t (growing it), for the parser and for tests. */
struct sd_sock *sd_table_push(struct sd_table *t);
void sd_table_reset(struct sd_table *t);
void sd_table_free(struct sd_table *t);

/* Builds the bytecode for f's ports into buf; returns its length, 0 when f
 * has no ports, or -1 (ENOSPC) when buf is too small. */
int sockdiag_bytecode(const struct sd_filter *f, void *buf, size_t len);

/* SOCK_DESTROY of socket s (identified by family, tuple and cookie).
 * Returns 0, or -1 with errno and err: EOPNOTSUPP when the kernel lacks
 * CONFIG_INET_DIAG_DESTROY, EPERM without CAP_NET_ADMIN, ENOENT when the
 * socket is already gone. */
int sockdiag_destroy(struct sockdiag *sd, const struct sd_sock *s, char *err, size_t errlen);

/* "ESTAB", "CLOSE-WAIT", ... as ss prints them. */
const char *sd_state_name(unsigned state);
/* "127.0.0.1:80" or "[::1]:80" into buf; returns buf. */
char *sd_addr_fmt(unsigned family, const uint8_t *addr, unsigned port, char *buf, size_t len);

#endif
