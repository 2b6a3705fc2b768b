/* Load-balancing algorithms. Each picks among the servers of a backend:
 *
 *   roundrobin  smooth weighted round robin (each pick adds every candidate's
 *               effective weight to its current weight, takes the largest,
 *               and subtracts the total from it): over any window of
 *               sum(weights) picks each server gets its share, interleaved.
 *   leastconn   fewest (sessions + queued + 1) / weight; ties go round robin.
 *   source      rendezvous hashing of the client address hash: every server
 *               gets `weight` scores hash(src, server, k), the highest wins.
 *               A client keeps its server while that server is usable; when
 *               a server goes away only its clients move, and they come back
 *               when it returns. (HAProxy's default map-based hash moves most
 *               clients instead.)
 *   first       the first server in configuration order with a free slot.
 *
 * Candidates are the usable active servers; only when none is usable, the
 * backup servers: the first usable backup in configuration order (HAProxy's
 * default without `option allbackups`). Weights are effective weights
 * (slowstart ramp). Except for source, only servers below their effective
 * maxconn are candidates. */
#ifndef PROXYD_LB_H
#define PROXYD_LB_H

#include <stdint.h>

#include "proxyd/proxy-t.h"

enum lb_result {
	LB_OK = 0,      /* *out chosen */
	LB_FULL,        /* usable servers exist but all are at their limit */
	LB_NOSRV,       /* no usable server */
};

/* Picks a server for a new session. With source balance the chosen server
 * may be full: the caller queues on it. */
enum lb_result lb_pick(struct proxy *be, uint32_t src_hash, uint64_t now, struct server **out);
/* 1 if srv has a free slot now (cur sessions below the effective limit). */
int lb_server_has_slot(const struct server *srv, uint64_t now);
/* Hash of a client address for source balance (address only, not port). */
uint32_t lb_hash_addr(const void *sockaddr, unsigned len);

#endif
