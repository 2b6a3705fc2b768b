/* proxytop's side of proxysv's control socket: a non-blocking `watch`
 * subscription that reconnects with backoff, and one-shot commands on
 * their own connections. Nothing here ever blocks. */
#ifndef TUI_CTL_H
#define TUI_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "tui/model-t.h"

enum pc_state {
	PC_IDLE = 0,       /* not connected; retry at next_try_ms */
	PC_CONNECTING,     /* connect() in progress */
	PC_UP,             /* subscribed; reading lines */
};

struct pc_conn {
	char path[108];
	int fd;
	enum pc_state state;
	const char *request;      /* sent once connected ("watch\n") */
	size_t sent;
	uint64_t next_try_ms;     /* monotonic */
	uint32_t backoff_ms;
	uint64_t deadline_ms;     /* one-shot: give up at */
	struct tm_linebuf lb;
	char err[160];            /* why it is down */
	uint32_t reconnects;
};

#define PC_BACKOFF_MIN 250
#define PC_BACKOFF_MAX 5000

void pc_init(struct pc_conn *c, const char *path, const char *request);
void pc_close(struct pc_conn *c);
/* Starts a connection if none and one is due. */
void pc_kick(struct pc_conn *c, uint64_t now_ms);
/* poll() events wanted (0 when no fd). */
short pc_events(const struct pc_conn *c);
/* Handles readiness: completes the connect, sends the request, reads.
 * Returns 1 when lines may be waiting in c->lb, 0 otherwise; on a failure
 * the connection goes back to PC_IDLE with backoff and c->err set. */
int pc_service(struct pc_conn *c, short revents, uint64_t now_ms);
/* Drops the connection and schedules a retry (e.g. after a garbage line). */
void pc_fail(struct pc_conn *c, uint64_t now_ms, const char *why);

#endif
