#ifndef PROBES_KERNEL_T_H
#define PROBES_KERNEL_T_H

#include <stdint.h>

/* Counters from /proc/net/netstat (TcpExt) and /proc/net/snmp (Tcp), of one
 * network namespace. Monotonic since boot or since the namespace was made. */
struct kn_counters {
	uint64_t listen_overflows;    /* TcpExt ListenOverflows */
	uint64_t listen_drops;        /* TcpExt ListenDrops */
	uint64_t tcp_abort_on_timeout;/* TcpExt TCPAbortOnTimeout */
	uint64_t tcp_abort_on_close;  /* TcpExt TCPAbortOnClose */
	uint64_t tcp_abort_on_memory; /* TcpExt TCPAbortOnMemory */
	uint64_t tcp_retrans_segs;    /* Tcp RetransSegs */
	uint64_t tcp_out_segs;        /* Tcp OutSegs */
	uint64_t tcp_active_opens;    /* Tcp ActiveOpens */
	uint64_t tcp_passive_opens;   /* Tcp PassiveOpens */
	uint64_t tcp_attempt_fails;   /* Tcp AttemptFails */
	uint64_t tcp_estab_resets;    /* Tcp EstabResets */
};

/* /proc/net/sockstat, TCP line. */
struct kn_sockstat {
	uint32_t inuse;
	uint32_t orphan;
	uint32_t tw;
	uint32_t alloc;
	uint32_t mem_pages;
};

/* sysctls that shaped the field incidents; -1 where absent on this kernel. */
struct kn_sysctls {
	int64_t somaxconn;            /* net.core.somaxconn */
	int64_t tcp_max_syn_backlog;  /* net.ipv4.tcp_max_syn_backlog */
	int64_t tcp_fin_timeout;      /* net.ipv4.tcp_fin_timeout (s) */
	int64_t tcp_orphan_retries;   /* net.ipv4.tcp_orphan_retries (0 means 8) */
	int64_t tcp_max_orphans;      /* net.ipv4.tcp_max_orphans (host-wide) */
	int64_t tcp_migrate_req;      /* net.ipv4.tcp_migrate_req */
	int64_t tcp_abort_on_overflow;/* net.ipv4.tcp_abort_on_overflow */
	int64_t tcp_keepalive_time;   /* net.ipv4.tcp_keepalive_time (s) */
	int64_t port_range_lo;        /* net.ipv4.ip_local_port_range */
	int64_t port_range_hi;
};

struct kn_state {
	struct kn_counters counters;
	struct kn_sockstat sockstat;
	struct kn_sysctls sysctls;
	uint8_t have_counters;
	uint8_t have_sockstat;
};

#endif
