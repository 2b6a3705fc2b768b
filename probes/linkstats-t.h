#ifndef PROBES_LINKSTATS_T_H
#define PROBES_LINKSTATS_T_H

#include <stddef.h>
#include <stdint.h>

struct ls_link {
	int ifindex;
	char name[16];
	uint8_t up;
	uint64_t rx_packets, tx_packets;
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_dropped, tx_dropped;
	uint64_t rx_errors, tx_errors;
};

struct ls_table {
	struct ls_link *v;
	size_t len;
	size_t cap;
};

#endif
