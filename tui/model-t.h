/* The view model of proxytop: plain data, filled either from one line of
 * proxysv's `watch` stream (model.c) or from a standalone probe snapshot
 * (model_snap.c). Panels only read it. Each refresh builds a new model from
 * the previous one, which hands over the per-row history (sparklines) and
 * the counters that rates are computed from. */
#ifndef TUI_MODEL_T_H
#define TUI_MODEL_T_H

#include <stddef.h>
#include <stdint.h>

/* Samples kept per row for sparklines: two minutes at the default tick. */
#define TM_HIST 120

/* The socket states shown, in column order (ss's names in the stream). */
enum tm_state {
	TM_ESTAB = 0,
	TM_SYN_RECV,
	TM_CLOSE_WAIT,
	TM_FIN_WAIT1,
	TM_FIN_WAIT2,
	TM_TIME_WAIT,
	TM_LAST_ACK,
	TM_CLOSING,
	TM_NSTATES,
};

#define TM_MAX_OWNERS 8

/* A ring of the last TM_HIST values, oldest first through tm_hist_get(). */
struct tm_hist {
	float v[TM_HIST];
	uint16_t n;     /* values held */
	uint16_t head;  /* next slot written */
};

/* Generation states as proxysv names them: starting, active, draining,
 * stopping, exited. Standalone mode lists the processes that own listening
 * sockets here instead (gen 0, state from /proc, name from comm). */
struct tm_gen {
	int64_t gen;
	int64_t pid;
	char state[16];
	char name[16];
	int64_t started_ms;
	int64_t ready_ms;
	int64_t drain_since_ms;  /* 0: not draining */
	int64_t deadline_ms;     /* 0: none */
	int64_t sessions;
	int64_t states[TM_NSTATES];
};

struct tm_listener {
	char addr[64];           /* "127.0.0.1:8080", "[::1]:443" */
	int64_t queue;           /* accept queue (sum over its sockets) */
	int64_t backlog;
	int64_t overflows;       /* cumulative; -1 unknown */
	double ovf_rate;         /* per second since the previous tick; -1 unknown */
	uint8_t duplicate;
	uint32_t nsockets;       /* listening sockets (inodes) on the address */
	int64_t owners[TM_MAX_OWNERS];
	uint32_t nowners;        /* may exceed TM_MAX_OWNERS; only those are kept */
	struct tm_hist hist;     /* accept queue */
};

/* Sockets of one process on one local port. */
struct tm_port {
	int64_t port;
	int64_t pid;
	char name[16];
	int64_t n[TM_NSTATES];
	int64_t oldest_ms[TM_NSTATES];  /* 0: unknown */
	int64_t half;            /* CLOSE-WAIT + FIN-WAIT-1/2 + LAST-ACK + CLOSING */
	int64_t half_delta;      /* change since the previous tick */
	uint8_t have_prev;       /* half_delta is meaningful */
	struct tm_hist hist;     /* half-closed total */
};

struct tm_server {
	int64_t gen;
	char backend[48];
	char server[48];
	char status[16];
	int64_t scur, smax, slim, eff_maxconn, qcur, qmax, weight;
	char check[24];
};

struct tm_incident {
	int64_t id;              /* 0 in standalone mode (not stored) */
	char kind[32];
	char severity[12];
	char subject[96];
	int64_t opened_ms;
	int64_t updated_ms;
	int64_t resolved_ms;     /* 0 while open */
	char summary[256];
	char detail[2048];       /* evidence for a person (may be "") */
};

struct tm_model {
	uint8_t valid;           /* filled at least once */
	uint8_t standalone;
	int64_t version;         /* "v" */
	char host[64];
	int64_t t_ms;            /* producer's time of the tick, epoch ms */
	int64_t started_ms;      /* supervisor (or host, standalone) start */
	int64_t tick;
	double tick_ms;          /* how long the producer's tick took */
	int64_t active_gen;
	int64_t reloads, reloads_failed;
	uint64_t rx_mono_ms;     /* when this model was received / taken */
	uint32_t tick_interval_ms; /* producer's tick period, measured; 0 unknown */

	uint8_t have_store;
	char store_path[128];
	int64_t store_dropped, store_errors;
	char store_error[128];

	uint32_t unknown_keys;   /* top-level members ignored (newer producer) */

	struct tm_gen *gens;
	size_t ngens, cap_gens;
	struct tm_listener *listeners;  /* sorted by addr */
	size_t nlisteners, cap_listeners;
	struct tm_port *ports;          /* sorted by (port, pid) */
	size_t nports, cap_ports;
	struct tm_server *servers;
	size_t nservers, cap_servers;
	struct tm_incident *incidents;
	size_t nincidents, cap_incidents;
};

/* Accumulates bytes from a non-blocking stream and hands out whole lines. */
struct tm_linebuf {
	char *p;
	size_t len;              /* bytes held */
	size_t off;              /* start of the first line not handed out */
	size_t cap;
	size_t max;              /* a longer line is dropped (counted) */
	uint32_t dropped;
	uint8_t skipping;        /* inside an overlong line */
};

#endif
