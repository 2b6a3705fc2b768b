#ifndef SUPERVISOR_STATSRC_T_H
#define SUPERVISOR_STATSRC_T_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The proxy's own view of itself, read from a stats socket (proxyd's or
 * stock HAProxy's 2.x): one row per frontend, backend and server of
 * `show stat`, merged with `show servers state` and `show info`.
 *
 * Numbers are -1 when the column is absent or empty (HAProxy leaves a
 * column empty when it does not apply, e.g. slim of an unlimited server). */

enum stats_type {
	ST_FRONTEND = 0,
	ST_BACKEND,
	ST_SERVER,
	ST_LISTENER,
};

/* Where a server's effective limit comes from. */
enum stats_eff_src {
	SE_NONE = 0,       /* unknown (stock HAProxy without the configuration) */
	SE_REPORTED,       /* the proxy's eff_maxconn column (proxyd) */
	SE_COMPUTED,       /* cfg_srv_dynmaxconn(minconn, maxconn, fullconn, backend scur) */
	SE_UNLIMITED,      /* maxconn 0: no limit */
};

struct stats_row {
	char pxname[64];
	char svname[64];
	enum stats_type type;
	char status[32];       /* "UP", "DOWN", "no check", "OPEN", "MAINT", "UP 1/3"... */
	int64_t qcur, qmax, scur, smax, slim, stot;
	int64_t lastchg;       /* s since the last status change */
	int64_t minconn;       /* server; -1 unless reported or known from the configuration */
	int64_t fullconn;      /* backend and server; idem */
	int64_t eff_maxconn;   /* server: see eff_src; backend: as reported */
	enum stats_eff_src eff_src;
	char check_status[16]; /* "L4CON", "L7OK"... */
	char addr[80];         /* the addr column ("127.0.0.1:8080"), "" if absent */

	/* From `show servers state` (servers only). */
	uint8_t have_state;
	int op_state;          /* 0 stopped (DOWN), 1 starting, 2 running, 3 stopping */
	int admin_state;       /* bit field, 0 = none (1/2/4: maintenance, 8: drain...) */
	int64_t since_change;  /* srv_time_since_last_change, s */
	char srv_addr[64];     /* numeric address, no port */
	unsigned srv_port;
};

/* One process's view at one time. */
struct stats_view {
	pid_t pid;             /* the proxy process the socket belongs to (0 if unknown) */
	int64_t gen;           /* its generation for proxysv, 0 for a foreign proxy */
	uint64_t t_mono_ms;
	uint8_t has_eff_col;   /* the CSV had eff_maxconn (proxyd) */
	uint8_t have_info;     /* show info was parsed */
	int64_t info_maxconn;  /* show info Maxconn / CurrConns, -1 unknown */
	int64_t info_curconns;
	int64_t info_pid;
	struct stats_row *rows;
	size_t len;
	size_t cap;
};

#endif
