/* Runtime proxies, servers, their counters and states.
 *
 * proxy_build() turns a struct cfg into an array of struct proxy (frontends,
 * backends, listens: one object per section, with the FE and/or BE
 * capability) each owning an array of struct server. Everything needed at
 * runtime is copied: the struct cfg may be freed after proxy_build().
 *
 * Who changes which counter is written beside each field: "session layer"
 * means the code that owns sessions (listener/session): any thread, with
 * PX_ADD/PX_INC; "backend layer" means queue.c/check.c, under px_lock()
 * (proxyd/thread.h says what threads share and how).
 *
 * Server state is two independent parts, as in HAProxy:
 *
 *   operational (checks, slowstart)         administrative (operator)
 *
 *        fall failed checks                   set server state drain
 *   UP ----------------------> DOWN         READY <--------------> DRAIN
 *   ^ ^                        |  ^           ^  \   state ready     |
 *   | | slowstart elapsed      |  |           |   \                  |
 *   | +-- STARTING <-----------+  |   ready / |    \ maint / disable |
 *   |     (rise checks passed,    |   enable  |     v                v
 *   |      slowstart > 0)         |         MAINT <------------------+
 *   +-----------------------------+
 *      rise checks passed (no slowstart)
 *
 * The state shown to operators (enum srv_status) is derived from both:
 * MAINT if the admin part is MAINT, else DOWN if the operational part is
 * DOWN, else DRAIN if draining, else STARTING or UP. Entering MAINT forces
 * the operational part DOWN; leaving it makes the server UP again (STARTING
 * when it has a slowstart) with its check health at `rise`, so that one
 * failed check marks it DOWN, which is what HAProxy does.
 *
 * A server is usable for new sessions when it is UP or STARTING, READY and
 * its effective weight is not 0.
 */
#ifndef PROXYD_PROXY_T_H
#define PROXYD_PROXY_T_H

#include <stdint.h>
#include <sys/socket.h>

#include "proxyd/cfg-t.h"
#include "proxyd/loop-t.h"

struct session;         /* the session layer's; only pointers here */
struct proxy;
struct server;

/* Intrusive doubly linked list: an empty head points at itself. */
struct px_list {
	struct px_list *next;
	struct px_list *prev;
};

/* Events per second: the count in the current second and in the previous
 * one; the rate shown is the previous full second's count, or the current
 * one when it is already larger. */
struct px_rate {
	uint64_t sec;           /* monotonic second of `curr` */
	unsigned curr;
	unsigned prev;
};

/* A rate counted by every thread without a lock: each thread adds to its
 * own slot (a cache line each; relaxed atomics, so that a reader in
 * another thread sees whole values, at worst one of them a second late:
 * the sum may then be low for an instant, never high); the rate is the
 * sum of the slots. */
struct px_rate_slot {
	_Alignas(64) struct px_rate r;
};
struct px_mtrate {
	struct px_rate_slot *slot;      /* one per thread */
	unsigned nslots;
	unsigned max;                   /* highest rate seen (atomic) */
};

/* One set of counters; a proxy has one for its frontend side and one for
 * its backend side, a server has one. Fields not meaningful for an object
 * stay 0 and are printed empty where HAProxy prints them empty. */
struct px_counters {
	unsigned scur;          /* current sessions (backend: sessions attached, queued ones included) */
	unsigned smax;
	uint64_t stot;          /* cumulative sessions */
	uint64_t bin;           /* bytes from the client (session layer) */
	uint64_t bout;          /* bytes to the client (session layer) */
	uint64_t dreq;          /* requests denied (session layer) */
	uint64_t dresp;         /* responses denied (session layer) */
	uint64_t ereq;          /* request errors, frontend (session layer) */
	uint64_t econ;          /* connection errors to a server (session layer) */
	uint64_t eresp;         /* response errors (session layer) */
	uint64_t wretr;         /* connect retries (session layer) */
	uint64_t wredis;        /* redispatches (session layer) */
	uint64_t cli_abrt;      /* transfers aborted by the client (session layer) */
	uint64_t srv_abrt;      /* transfers aborted by the server (session layer) */
	uint64_t connect;       /* connection attempts to servers (session layer) */
	uint64_t conn_tot;      /* frontend: accepted connections (session layer) */
	uint64_t denied_conn;   /* frontend: refused at accept (session layer) */
	uint64_t eint;          /* internal errors (either layer) */
	uint64_t lbtot;         /* times selected by the load balancer (backend layer) */
	unsigned qcur;          /* sessions queued (backend layer) */
	unsigned qmax;
	uint64_t lastsess;      /* loop_now() of the last session; 0 = never */
	struct px_rate rate;    /* new sessions per second */
	unsigned rate_max;
	/* Averages over about the last 1024 sessions and maxima, in ms, fed by
	 * px_counters_times() when a session ends (session layer). */
	unsigned qtime, ctime, ttime;
	unsigned qtime_max, ctime_max, ttime_max;
	unsigned qsamples, csamples, tsamples;  /* samples fed, up to 1024 */
	/* HTTP (session layer): requests, and responses by class: [0] 1xx ..
	 * [4] 5xx, [5] other. Counted on the frontend, backend and server
	 * that saw them; error answers proxyd makes count too, as HAProxy's. */
	uint64_t req_tot;
	uint64_t hrsp[6];
};

/* ---- servers ------------------------------------------------------------ */

enum srv_op {
	SRV_OP_DOWN = 0,        /* failed its checks, or in maintenance */
	SRV_OP_STARTING,        /* up, within its slowstart ramp */
	SRV_OP_UP,
};

enum srv_admin {
	SRV_ADMIN_READY = 0,
	SRV_ADMIN_DRAIN,        /* no new sessions; existing ones and checks go on */
	SRV_ADMIN_MAINT,        /* no new sessions, checks paused */
};

/* What operators see; see the diagram above. */
enum srv_status {
	SRV_STATUS_DOWN = 0,
	SRV_STATUS_STARTING,
	SRV_STATUS_UP,
	SRV_STATUS_DRAIN,
	SRV_STATUS_MAINT,
};

/* HAProxy's check status numbers (healthcheck_status), which `show servers
 * state` prints as numbers: keep the values. */
enum chk_status {
	CHK_STATUS_UNKNOWN = 0,
	CHK_STATUS_INI = 1,
	CHK_STATUS_START = 2,
	CHK_STATUS_CHECKED = 3,
	CHK_STATUS_HANA = 4,
	CHK_STATUS_SOCKERR = 5,
	CHK_STATUS_L4OK = 6,
	CHK_STATUS_L4TOUT = 7,
	CHK_STATUS_L4CON = 8,
	CHK_STATUS_L6OK = 9,
	CHK_STATUS_L6TOUT = 10,
	CHK_STATUS_L6RSP = 11,
	CHK_STATUS_L7TOUT = 12,     /* HTTP check: no (complete) status line in time */
	CHK_STATUS_L7RSP = 13,      /* HTTP check: not an HTTP response */
	CHK_STATUS_L57DATA = 14,    /* (statuses from here on carry a code) */
	CHK_STATUS_L7OKD = 15,      /* HTTP check passed ("L7OK") */
	CHK_STATUS_L7OKCD = 16,
	CHK_STATUS_L7STS = 17,      /* HTTP check: status refused by http-check expect */
};

/* HAProxy's check result numbers (CHK_RES_*). */
enum chk_result {
	CHK_RES_UNKNOWN = 0,
	CHK_RES_NEUTRAL = 1,
	CHK_RES_FAILED = 2,
	CHK_RES_PASSED = 3,
};

/* One TCP connect health check. health runs from 0 to rise+fall-1: the
 * server is UP at rise and above, as in HAProxy. A check is
 *
 *   IDLE --timer--> CONNECTING --connected/refused/timeout--> IDLE
 *
 * and the next one is armed `inter` (or fastinter/downinter) after the
 * previous one started. */
struct srv_check {
	int configured;         /* `check` on the server line */
	int running;            /* a connect is in flight */
	unsigned inter;         /* ms */
	unsigned fastinter;     /* ms, while transitional */
	unsigned downinter;     /* ms, while fully DOWN */
	unsigned timeout;       /* ms: `timeout check` if set (connect: min(connect, inter)), else inter */
	unsigned rise;
	unsigned fall;
	unsigned health;
	enum chk_status status;
	enum chk_result result;
	unsigned duration;      /* ms taken by the last check; -1u before the first one */
	char desc[64];          /* "Layer4 check passed", "Layer4 timeout", ... */
	char info[64];          /* detail: "Connection refused", or "" */
	unsigned code;          /* HTTP status of the last HTTP check (check_code) */
	int sent;               /* HTTP check: the request was written */
	char rbuf[128];         /* HTTP check: start of the response */
	unsigned rlen;
	uint64_t started;       /* loop_now() when the running check began */
	uint64_t last;          /* loop_now() when the last check ended; 0 = never */
	uint64_t failed;        /* failed checks while the server was not DOWN (chkfail) */
	int fd;                 /* -1 when not running */
	struct loop_fd lfd;
	struct loop_timer timer;
};

struct server {
	char *name;
	char *addr_text;        /* "127.0.0.1:80" as written */
	char *cookie;           /* persistence cookie value; NULL = none */
	size_t cookielen;
	char *ck_set;           /* the Set-Cookie value proxyd inserts for it (cookie ... insert) */
	size_t ck_setlen;
	struct sockaddr_storage addr;   /* where the session layer connects */
	socklen_t addrlen;
	struct proxy *be;
	unsigned puid;          /* 1-based position in its backend (sid) */
	unsigned flags;         /* CFG_SRV_* as configured */

	unsigned iweight;       /* weight in the configuration */
	unsigned uweight;       /* weight in force (operator may change it) */
	unsigned maxconn;       /* in force: `set maxconn server` changes it; 0 = no limit */
	unsigned maxconn_cfg;
	unsigned minconn;
	unsigned maxqueue;      /* 0 = no limit */
	unsigned slowstart;     /* ms */

	enum srv_op op;
	enum srv_admin admin;
	uint64_t op_since;      /* loop_now() when `op` last changed (slowstart base) */
	uint64_t last_change;   /* loop_now() of the last status change (lastchg) */
	uint64_t down_since;    /* loop_now() when it went DOWN; valid while DOWN */
	uint64_t down_total;    /* ms spent DOWN before down_since */
	uint64_t chkdown;       /* UP -> DOWN transitions */

	int64_t swrr_cw;        /* smooth weighted round robin: current weight */
	struct loop_timer warmup;       /* while STARTING: lets the queue follow the ramp */

	struct px_counters c;   /* c.scur = sessions holding a slot */
	struct px_list sessions;        /* struct sess_lb.srv_link of those sessions */
	struct px_list queue;           /* struct sess_lb.q_link, FIFO; c.qcur entries */
	struct srv_check chk;
	/* HTTP (session layer): idle connections to this server that any
	 * session of the same thread may reuse (http-reuse), most recently
	 * parked last; one entry per thread (NULL outside mode http's
	 * runtime). A list head is all zero until its first connection is
	 * parked. */
	struct srv_idle {
		struct px_list conns;
		unsigned cur;
	} *idle;
};

/* ---- proxies ------------------------------------------------------------ */

struct proxy {
	char *name;
	unsigned cap;           /* CFG_CAP_FE and/or CFG_CAP_BE */
	unsigned uuid;          /* 1-based, configuration order (iid) */
	enum cfg_mode mode;
	enum cfg_balance balance;
	unsigned options;       /* CFG_OPT_* */
	unsigned maxconn;       /* frontend limit in force */
	unsigned fullconn;      /* as configured or derived by the configuration */
	unsigned retries;
	unsigned timeout[CFG_TO_COUNT];  /* in force (cfg_timeout_get), ms, 0 = none */
	struct proxy *defbe;    /* frontend's default_backend, NULL if none */
	char *chk_req;          /* option httpchk: the request to send; NULL = TCP checks */
	size_t chk_reqlen;
	struct cfg_http_expect chk_expect;      /* http-check expect (pattern owned) */
	char *ck_name;          /* cookie NAME insert ...: persistence; NULL = none */
	size_t ck_namelen;
	size_t cap_req_size;    /* frontend: room for the "{v1|v2}" block of capture request
				 * header lines (escaping included); 0 = none */
	size_t cap_res_size;    /* the same for capture response header */
	unsigned ck_opts;       /* CFG_CK_* */
	int stopped;            /* frontend no longer accepts (session layer) */

	struct server *srvs;
	unsigned nsrvs;

	struct px_counters fe;  /* frontend side */
	struct px_mtrate req_rate;      /* frontend: HTTP requests per second */
	struct px_counters be;  /* backend side; be.scur is the backend's connection count (beconn) */
	struct px_list queue;   /* sessions waiting for any server, FIFO; be.qcur entries */
	unsigned lb_next;       /* leastconn/first: where the next tie-break scan starts */
	uint64_t last_change;   /* loop_now() when the backend last went UP or DOWN */
	uint64_t down_since;
	uint64_t down_total;
	uint64_t chkdown;       /* backend UP -> DOWN transitions */
	int up;                 /* has a usable server */
	int q_pending;          /* queue.c: waiting for a queue pass */
	struct proxy *q_next;   /* queue.c: next backend waiting for a pass */
};

/* ---- what a session carries for the backend layer ---------------------- */

/* Embedded in the session layer's struct session and reached through
 * session_lb(). Initialised with sess_lb_init(); owned by queue.c after. */
struct sess_lb {
	struct session *sess;   /* back pointer */
	struct proxy *be;       /* backend the session is counted in; NULL before backend_assign */
	struct server *srv;     /* server holding a slot for it, or NULL */
	struct px_list srv_link;        /* in srv->sessions while srv != NULL */
	struct server *qsrv;    /* queued on this server (NULL: on the backend, see queued) */
	struct px_list q_link;  /* in qsrv->queue or be->queue while queued */
	int queued;
	uint64_t queued_at;     /* loop_now() when queued */
	uint32_t src_hash;      /* as given to backend_assign (source balance) */
	struct server *persist; /* cookie persistence: this server while it is usable */
	unsigned tid;           /* the thread the session lives in */
	uint32_t sid;           /* the session's id (unique in the process) */
};

/* ---- process-wide figures for `show info` ----------------------------- */

/* Filled by the session layer / main; read by the stats socket. */
struct proxy_info {
	unsigned maxconn;       /* global limit in force */
	unsigned hard_maxconn;
	unsigned curconn;       /* current client connections */
	uint64_t cumconn;       /* accepted since start */
	unsigned maxsock;       /* fd limit */
	int stopping;           /* graceful stop under way */
	unsigned listeners;
	uint64_t start_mono;    /* loop_now() at start */
	uint64_t start_real;    /* epoch ms at start */
	uint64_t bytes_out;     /* total bytes sent to clients */
	struct px_rate conn_rate;
	unsigned conn_rate_max;
};

#endif
