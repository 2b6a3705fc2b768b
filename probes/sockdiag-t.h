#ifndef PROBES_SOCKDIAG_T_H
#define PROBES_SOCKDIAG_T_H

#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum sd_state {
	SD_ESTABLISHED = 1,
	SD_SYN_SENT,
	SD_SYN_RECV,
	SD_FIN_WAIT1,
	SD_FIN_WAIT2,
	SD_TIME_WAIT,
	SD_CLOSE,
	SD_CLOSE_WAIT,
	SD_LAST_ACK,
	SD_LISTEN,
	SD_CLOSING,
	SD_NEW_SYN_RECV,
	SD_NSTATES, /* array size for per-state counters; index 0 unused */
};

#define SD_STATE_BIT(s) (1u << (s))
#define SD_STATES_ALL 0xfffu /* bits 0..11 */
#define SD_STATES_HALF_CLOSED \
	(SD_STATE_BIT(SD_CLOSE_WAIT) | SD_STATE_BIT(SD_FIN_WAIT1) | \
	 SD_STATE_BIT(SD_FIN_WAIT2) | SD_STATE_BIT(SD_LAST_ACK) | SD_STATE_BIT(SD_CLOSING))

/* The subset of struct tcp_info the detectors use. Times are in ms, rtt in us. */
struct sd_tcpinfo {
	uint8_t retransmits;      /* tcpi_retransmits: consecutive RTO retransmits now */
	uint8_t probes;           /* tcpi_probes: zero-window / keepalive probes */
	uint8_t backoff;          /* tcpi_backoff */
	uint32_t total_retrans;   /* tcpi_total_retrans */
	uint32_t unacked;         /* tcpi_unacked (segments) */
	uint32_t last_data_sent;  /* ms since last data sent */
	uint32_t last_data_recv;  /* ms since last data received */
	uint32_t last_ack_recv;   /* ms since last ACK received */
	uint32_t rtt_us;          /* tcpi_rtt */
	uint32_t rttvar_us;       /* tcpi_rttvar */
};

/* One socket. Addresses are in network byte order; an IPv4 address sits in
 * the first 4 bytes of laddr/raddr, the rest zero. Ports are host order.
 * For a LISTEN socket, rqueue is the accept-queue length and wqueue the
 * backlog limit (as ss shows them as Recv-Q / Send-Q). */
struct sd_sock {
	uint8_t family;     /* AF_INET or AF_INET6 */
	uint8_t state;      /* enum sd_state */
	uint8_t has_info;   /* info below is valid */
	uint8_t timer;      /* idiag_timer: 0 none, 1 retrans, 2 keepalive, 3 TIME_WAIT, 4 probe */
	uint16_t lport;
	uint16_t rport;
	uint8_t laddr[16];
	uint8_t raddr[16];
	uint32_t ino;       /* 0 for TIME_WAIT / NEW_SYN_RECV mini-sockets */
	uint32_t uid;
	uint32_t rqueue;
	uint32_t wqueue;
	uint32_t ifindex;   /* bound device (id.idiag_if), 0 if none */
	uint32_t expires_ms;/* idiag_expires */
	uint8_t retrans;    /* idiag_retrans */
	uint64_t cookie;    /* id.idiag_cookie, needed by SOCK_DESTROY */
	struct sd_tcpinfo info;
};

/* A growable table of sockets, reused from dump to dump: once it has grown to
 * the host's socket count, a dump allocates nothing. */
struct sd_table {
	struct sd_sock *socks;
	size_t len;
	size_t cap;
};

#define SD_MAX_PORTS 32

enum sd_port_match {
	SD_PORT_LOCAL = 1,  /* match the local (source) port */
	SD_PORT_REMOTE = 2, /* match the remote (destination) port */
};

/* What to dump. families: 0 both, else AF_INET or AF_INET6. states: bit mask
 * of SD_STATE_BIT(). Ports (when nports > 0) are matched in the kernel with
 * inet_diag bytecode, and again in userspace. */
struct sd_filter {
	uint8_t family;
	uint8_t want_info;   /* ask for INET_DIAG_INFO (tcp_info) */
	uint8_t port_match;  /* enum sd_port_match bits; 0 means LOCAL */
	uint32_t states;
	unsigned nports;
	uint16_t ports[SD_MAX_PORTS];
};

/* An open sock_diag handle, bound to one network namespace at creation. */
struct sockdiag {
	struct mnl_socket *nl;      /* dump socket */
	struct mnl_socket *nl_kill; /* SOCK_DESTROY socket, opened on first use */
	int nsfd;                   /* borrowed; NETNS_SELF for ours */
	unsigned portid;
	unsigned seq;
	char *buf;                  /* receive buffer */
	size_t buflen;
	unsigned dump_retries;      /* NLM_F_DUMP_INTR restarts of the last dump */
	uint8_t no_onewalk;         /* the kernel refused the both-families request */
};

#endif
