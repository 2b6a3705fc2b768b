/* Internals shared by the session layer's own files (session.c: the TCP
 * core; session-http.c: the HTTP layer between the two sides). Nothing
 * outside the session layer includes this. */
#ifndef PROXYD_SESSION_INT_H
#define PROXYD_SESSION_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "proxyd/cfg-t.h"
#include "proxyd/session-t.h"

/* Result of moving data on one channel. */
enum pump {
	PUMP_OK = 0,
	PUMP_ERR_PROD,          /* reading from the producer failed (reset) */
	PUMP_ERR_CONS,          /* writing to the consumer failed (reset) */
	PUMP_ERR_RES,           /* no buffer could be had */
};

/* Bytes one session may read per wakeup and direction before it yields to
 * the other fds and timers of the round (it resumes in the next round). */
#define SESS_BUDGET (512u * 1024u)

/* session.c */
void session_end(struct session *s, enum sess_cause cause, int rst_cli, int rst_srv);
void session_connect(struct session *s, struct server *srv);
void session_assign(struct session *s);
void session_timer_update(struct session *s);
/* Runs both channels as plain TCP; 1 if the session ended. */
int session_forward(struct session *s);
void session_side_close(struct sess_side *sd, int rst);
/* close(fd), with a reset to the peer when rst is set. */
void session_fd_close(int fd, int rst);
void session_chan_release(struct sess_chan *c);
/* 1 when c may forward through a pipe (splicing is on and has not failed
 * on c's sockets). */
int session_splice_ok(const struct sess_chan *c);
void session_count_bytes(struct session *s, int req, uint64_t n);
/* 1 when a session whose request has not reached a server yet (queued,
 * waiting to retry, connecting) is to be dropped because of its client:
 * the connection failed, or it ended its side under option abortonclose. */
int session_cli_gone(const struct session *s);
/* Writes as much of buf as the consumer takes: bytes written, or -1. */
ssize_t session_cons_send(struct sess_side *cons, const char *buf, size_t len);
/* Splices as much of c's pipe as the consumer takes: bytes moved, or -1. */
ssize_t session_pipe_send(struct sess_chan *c, struct sess_side *cons);
void session_side_note_events(struct sess_side *sd, uint32_t ev);
/* Arms the resume timer (budget used up with data still readable). */
void session_resume_soon(struct session *s);
void session_srv_io_cb(struct loop_fd *lf, uint32_t ev);
/* Routes s to be: its server-side timeouts become be's. */
void session_set_backend(struct session *s, struct proxy *be);

/* session-http.c */
int http_layer_init(const struct cfg *c);
void http_layer_free(void);
/* Each thread's HTTP part (http_layer_init does thread 0's). */
int http_thread_init(void);
void http_thread_free(void);
/* A new client connection on a mode http frontend (sides set up). */
void http_session_start(struct session *s);
/* Events or a resume on an HTTP session. */
void http_run(struct session *s);
/* Called by session_connect before connecting to srv: 1 if an idle
 * connection to srv was taken instead (the session is then in DATA). */
int http_conn_reuse(struct session *s, struct server *srv);
/* The server connection of an HTTP session was just established. */
void http_srv_connected(struct session *s);
/* An HTTP timer expired (SESS_EXP_HTTP_*). */
void http_timeout(struct session *s, enum sess_exp what);
/* First step of session_end for an HTTP session: the error answer when the
 * client got no response yet, the last log line, the server connection
 * parked for reuse when it may be. */
void http_session_end(struct session *s, enum sess_cause cause);
void http_session_free(struct session *s);

#endif
