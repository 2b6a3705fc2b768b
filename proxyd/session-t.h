/* A TCP session: one client connection, at most one server connection at a
 * time, and the two channels between them.
 *
 *   request channel  (req): client --> server
 *   response channel (res): server --> client
 *
 * Lifecycle (enum sess_state):
 *
 *   ASSIGN --assigned--> CONNECTING --connected--> DATA --both sides closed--> CLOSED
 *     |  ^                 |    ^                              (or error/timeout/kill)
 *     |  |                 | failed, retries left
 *     |  |                 v    |
 *     |  +-- redispatch -- TURNAROUND (min(timeout connect, 1s) when refused)
 *     +--queued--> QUEUED --session_queue_ready--> CONNECTING
 *
 * Any state may go to CLOSED (client abort, timeout, kill). A session is
 * freed (back to its pool) when it reaches CLOSED; nothing refers to it after.
 *
 * Each channel forwards either through a kernel pipe with splice(2) (taken
 * from the pipe pool when a read fills a whole buffer, given back when
 * drained) or through a copy buffer (taken from the buffer pool only while
 * data is pending). An idle session holds neither.
 *
 * Half-close: end of stream read on a channel's producer becomes
 * shutdown(SHUT_WR) on its consumer once the channel is drained. A side
 * (client or server) is "half-closed" once either of its directions is shut;
 * its inactivity timeout is then its -fin timeout when one is set (HAProxy's
 * semantics for timeout client-fin / server-fin). */
#ifndef PROXYD_SESSION_T_H
#define PROXYD_SESSION_T_H

#include <stdint.h>
#include <sys/socket.h>

#include "proxyd/h1-t.h"
#include "proxyd/loop-t.h"
#include "proxyd/proxy-t.h"

struct listener;

enum sess_state {
	SESS_ST_ASSIGN = 0,     /* accepted; no server yet */
	SESS_ST_QUEUED,         /* waiting in a queue for a slot */
	SESS_ST_TURNAROUND,     /* waiting before retrying a refused connect */
	SESS_ST_CONNECTING,     /* connect() in flight */
	SESS_ST_DATA,           /* connected: forwarding */
	SESS_ST_CLOSED,
};

/* Who or what ended the session: the first character of the termination
 * state, as HAProxy's tcplog prints it. */
enum sess_cause {
	SESS_CAUSE_NONE = 0,    /* '-': normal completion */
	SESS_CAUSE_CLI_ABORT,   /* 'C': client aborted (reset, error, left while queued/connecting) */
	SESS_CAUSE_SRV_ABORT,   /* 'S': server aborted or refused, or no server */
	SESS_CAUSE_PROXY,       /* 'P': a proxy limit (fd limit while connecting) */
	SESS_CAUSE_RESOURCE,    /* 'R': a resource exhausted (memory, ports) */
	SESS_CAUSE_INTERNAL,    /* 'I': an internal error */
	SESS_CAUSE_DOWN,        /* 'D': server marked down with shutdown-sessions */
	SESS_CAUSE_BACKUP,      /* 'U': backup session cut when an active server came up */
	SESS_CAUSE_KILLED,      /* 'K': killed by an operator, or at hard-stop-after */
	SESS_CAUSE_CLI_TO,      /* 'c': client-side timeout */
	SESS_CAUSE_SRV_TO,      /* 's': server-side timeout (incl. connect and queue) */
	SESS_CAUSE_LOCAL,       /* 'L': answered by proxyd itself (redirect) */
};

/* The second character: the state when the session ended. */
enum sess_fin {
	SESS_FIN_NONE = 0,      /* '-': normal completion */
	SESS_FIN_QUEUE,         /* 'Q' */
	SESS_FIN_CONNECT,       /* 'C' */
	SESS_FIN_DATA,          /* 'D' */
	SESS_FIN_LAST,          /* 'L': the server had finished, the client had not */
	SESS_FIN_REQ,           /* 'R': HTTP, waiting for (or receiving) the request head */
	SESS_FIN_HDRS,          /* 'H': HTTP, waiting for the response head */
};

/* What a session's timer found expired (session_timer_next). */
enum sess_exp {
	SESS_EXP_NONE = 0,
	SESS_EXP_CLIENT,        /* client-side inactivity (client, client-fin or tunnel) */
	SESS_EXP_SERVER,        /* server-side inactivity (server, server-fin or tunnel) */
	SESS_EXP_CONNECT,       /* timeout connect */
	SESS_EXP_QUEUE,         /* timeout queue */
	SESS_EXP_TURNAROUND,    /* end of the pause before a retry (not an error) */
	SESS_EXP_HTTP_REQ,      /* HTTP: timeout http-request (head not complete in time) */
	SESS_EXP_HTTP_KA,       /* HTTP: timeout http-keep-alive (idle between requests) */
};

/* Channel flags. */
#define SESS_CH_SHUTR     0x01u /* end of stream read from the producer */
#define SESS_CH_SHUTW     0x02u /* shutdown(SHUT_WR) done on the consumer */
#define SESS_CH_WAITROOM  0x04u /* pipe may be full: read again once drained */
#define SESS_CH_SPLICE    0x08u /* forwarding through a pipe (else buffer) */
#define SESS_CH_NOSPLICE  0x10u /* splice failed with EINVAL: never again */

struct sess_buf;

/* The timeouts that apply to one session, in ms, 0 = none. client and
 * client_fin come from the frontend, the rest from the backend. The -fin
 * values are raw (0 when not set) because an unset -fin timeout lets
 * `timeout tunnel` apply, as in HAProxy; queue is in force (falls back to
 * connect). */
struct sess_timeouts {
	unsigned client;
	unsigned client_fin;
	unsigned server;
	unsigned server_fin;
	unsigned tunnel;
	unsigned connect;
	unsigned queue;
	unsigned http_request;  /* frontend's timeout http-request, 0 = none */
	unsigned http_keep_alive;       /* frontend's in force (falls back to http-request) */
};

struct sess_chan {
	unsigned flags;         /* SESS_CH_* */
	int pipe[2];            /* [0] read end, [1] write end; -1 when none */
	uint32_t pipe_bytes;    /* bytes in the pipe */
	struct sess_buf *buf;   /* pending bytes when not splicing; NULL when empty */
	uint32_t off;           /* first pending byte in buf */
	uint32_t len;           /* pending bytes in buf */
	uint64_t bytes;         /* forwarded from producer (read) */
};

/* Side flags. */
#define SESS_SD_CAN_RECV  0x01u /* an edge said readable and recv has not said EAGAIN */
#define SESS_SD_CAN_SEND  0x02u /* an edge said writable and send has not said EAGAIN */
#define SESS_SD_RDHUP     0x04u /* the peer's end of stream (or an error) was signalled */
#define SESS_SD_FIN       0x08u /* the peer's end of stream was signalled without an error:
				 * every byte it sent is queued, so a short read has read
				 * them all and the next read would return 0 */

struct sess_side {
	int fd;                 /* -1 when closed */
	unsigned flags;         /* SESS_SD_* */
	struct loop_fd lfd;
	uint64_t last_rd;       /* loop_now() of the last read (or write) progress on this side,
				 * or when reading resumed after the channel was full */
	uint64_t last_wr;       /* loop_now() of the last write progress, or when data started
				 * waiting for this side */
};

/* HTTP transaction, request side (struct sess_http.rq):
 *
 *   IDLE --first byte--> HEAD --head parsed--> WAIT_SRV --server ready--> BODY
 *    ^                    |  (400/403/408)        |  (503)                 |
 *    |                    v                       v                        v
 *    |                  CLOSING <--- error page / Connection: close ---- DONE
 *    +------ response forwarded, keep-alive ---------------------------------+
 *
 * and any state may become TUNNEL (101, 2xx to CONNECT): plain TCP
 * forwarding from then on. Response side (rs): NONE -> HEAD -> BODY -> DONE,
 * with interim 1xx heads forwarded while in HEAD. */
enum http_rq {
	HTTP_RQ_IDLE = 0,       /* between requests (or before the first one) */
	HTTP_RQ_HEAD,           /* some bytes of a head received */
	HTTP_RQ_WAIT_SRV,       /* head analysed and rewritten; no server connection yet */
	HTTP_RQ_BODY,           /* head sent; body bytes being forwarded */
	HTTP_RQ_DONE,           /* the whole request was forwarded */
	HTTP_RQ_CLOSING,        /* last response sent: draining the client before close */
	HTTP_RQ_TUNNEL,
	HTTP_RQ_LOCAL,          /* waiting for an answer proxyd makes in thread 0 (stats page) */
};

enum http_rs {
	HTTP_RS_NONE = 0,       /* no request outstanding */
	HTTP_RS_HEAD,           /* waiting for (the rest of) a response head */
	HTTP_RS_BODY,
	HTTP_RS_DONE,           /* the response was read; waits until it is flushed */
	HTTP_RS_TUNNEL,
};

/* struct sess_http.flags */
#define HTTP_F_CLI_KA       0x0001u /* the client connection stays open after this response */
#define HTTP_F_SRV_KA       0x0002u /* the server connection may carry another request */
#define HTTP_F_TXN          0x0004u /* a transaction is open (not logged yet) */
#define HTTP_F_REUSED       0x0008u /* this request went over an already used server connection */
#define HTTP_F_ERRSENT      0x0010u /* an error page was sent for this transaction */
#define HTTP_F_SRV_USED     0x0020u /* the server connection carried a request already */
#define HTTP_F_RES_SEEN     0x0040u /* a byte of the response arrived */
#define HTTP_F_UPGRADE      0x0080u /* the request asks for a protocol switch or CONNECT */
#define HTTP_F_CLOSE_SENT   0x0100u /* "Connection: close" told the client */
#define HTTP_F_NOREUSE      0x0200u /* retrying after a reused connection failed: connect anew */

#define HTTP_RLINE_MAX 192

/* The HTTP state that only a transaction in progress needs: taken from its
 * own pool (session-pool.h) when the first byte of a request arrives (or a
 * first request times out) and given back once the session is idle again
 * with nothing buffered, or ends. Sessions in mode tcp and idle keep-alive
 * connections carry none of it. */
struct sess_http_io {
	struct sess_http_io *next;      /* the pool's free list */
	struct sess_buf *ibuf;  /* bytes from the client not forwarded yet: the head being
				 * parsed, then pipelined data; NULL when empty */
	uint32_t ioff, ilen;
	struct sess_buf *sbuf;  /* bytes from the server not forwarded yet (response head) */
	uint32_t soff, slen;
	struct h1_msg req;
	struct h1_msg res;
	uint64_t t_sent;        /* request head handed to the server connection */
	const char *reason;     /* why a request was refused (log), or NULL */
	struct sess_buf *retry; /* copy of a bodiless request sent over a reused
				 * connection, until the response starts: sent again over
				 * a new connection if the server had closed the old one */
	uint32_t retry_len;
	char *blob;             /* an answer larger than a buffer (stats page), malloc'd */
	size_t blob_off, blob_len;
	char rline[HTTP_RLINE_MAX];     /* request line for the log ("" = none) */
};

/* Embedded in every session: what the session core, the timers and the log
 * line read. All of it is zero in mode tcp; io is NULL while idle. */
struct sess_http {
	uint8_t on;             /* the frontend is in mode http */
	uint8_t rq;             /* enum http_rq */
	uint8_t rs;             /* enum http_rs */
	unsigned flags;         /* HTTP_F_* */
	unsigned status;        /* status sent to the client; 0 = none yet */
	int tr;                 /* ms from the request sent to the response head; -1 = none */
	uint32_t err_bytes;     /* length of the error answer sent, if any */
	unsigned nreq;          /* requests received on this connection */
	uint64_t t_rq;          /* when the wait for this request began (accept, or the end of
				 * the previous response) */
	uint64_t t_rq_real;     /* same, epoch ms (log date) */
	uint64_t t_head;        /* head complete; 0 = not yet */
	uint64_t res_bytes0;    /* s->res.bytes when this transaction began */
	uint64_t req_bytes0;
	char ck_req;            /* persistence cookie in the request, for the log: '-' (none
				 * configured), N (none), V (valid), D (its server down), I (no
				 * such server) */
	char ck_res;            /* in the response: '-', N (none set), I (inserted), P (the
				 * server's own, preserved) */
	char *cap;              /* capture blocks (request, then response), "{...}" strings
				 * of fe->cap_req_size and cap_res_size bytes; malloc'd once */
	uint64_t bin_head;      /* bytes read with request heads, counted on the frontend only
				 * until the transaction's backend and server are known */
	const char *rline;      /* io->rline, or "" without io (request line for the log) */
	struct server *idle_srv;        /* server of the session's own idle connection */
	struct sess_http_io *io;
};

struct session {
	struct px_list link;    /* in the list of live sessions, or the pool's free list */
	struct sess_lb lb;      /* the backend layer's part (queue.c) */
	enum sess_state state;
	uint32_t id;            /* unique, for `show sess` */

	struct listener *li;
	struct proxy *fe;
	struct proxy *be;       /* NULL until a backend is known */
	struct server *srv;     /* the server connected or connecting to (the last one tried) */

	struct sess_side cli;
	struct sess_side srvs;  /* the server side */
	struct sess_chan req;   /* client -> server */
	struct sess_chan res;   /* server -> client */

	struct sockaddr_storage cli_addr;
	socklen_t cli_addrlen;

	struct sess_timeouts to;
	struct loop_timer timer;        /* timeouts (session_timer_next) */
	struct loop_timer resume;       /* due now: forwarding yielded, go on next round */
	uint64_t t_accept;      /* loop_now() at accept */
	uint64_t t_accept_real; /* epoch ms at accept (log date) */
	uint64_t t_queue;       /* when queued; 0 = never */
	uint64_t t_connect;     /* when the current connect attempt began */
	uint64_t t_turnaround;  /* end of the turnaround pause */
	int tw;                 /* ms spent queued; -1 = never reached a queue */
	int tc;                 /* ms to connect (all attempts); -1 = not connected */
	uint64_t t_first_connect;       /* when the first connect attempt began */

	unsigned retries;       /* connect attempts that failed */
	uint8_t redispatched;   /* moved to another server after failures */
	uint8_t tunnel;         /* both sides established: timeout tunnel applies */
	uint8_t cause;          /* enum sess_cause, set once */
	uint8_t fin;            /* enum sess_fin, set with cause */
	unsigned srv_queue_pos; /* sessions ahead when queued on a server */
	unsigned be_queue_pos;  /* sessions ahead when queued on the backend */
	const char *why;        /* reason for a kill (session_shutdown) */
	struct sess_http http;  /* mode http only (http.on) */
};

#endif
