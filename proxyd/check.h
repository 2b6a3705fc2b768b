/* Health checks and server state transitions.
 *
 * A TCP connect check runs every `inter` (fastinter while transitional,
 * downinter while fully DOWN) for each server with `check`. Its timeout is
 * min(timeout connect, inter) when `timeout check` is set (HAProxy uses the
 * check timeout as a read timeout after the connect, and a TCP check has
 * nothing to read), else inter. The first checks are spread over the first
 * interval so that they do not all fire together. fall consecutive
 * failures mark a server DOWN, rise successes UP (STARTING with slowstart).
 *
 * Every status change is logged as one line:
 *   event=server_state backend=B server=S from=UP to=DOWN reason="Layer4 timeout"
 *   check_duration=1001ms sessions=3 queued=0
 * On DOWN with `on-marked-down shutdown-sessions`, every session of the
 * server is ended; on UP with `on-marked-up shutdown-backup-sessions`, the
 * sessions of the backend's backup servers are (only for an active server). */
#ifndef PROXYD_CHECK_H
#define PROXYD_CHECK_H

#include "proxyd/proxy-t.h"

/* Arms the checks of every server of every proxy. Call after loop_init()
 * and proxy_build(). 0, -1 (errno). */
int check_start_all(void);
/* Stops every check (closes sockets, disarms timers). */
void check_stop_all(void);

/* Operational transitions (checks). reason is for the log line. */
void server_set_down(struct server *srv, const char *reason);
void server_set_up(struct server *srv, const char *reason);
/* Administrative transitions (stats socket). */
void server_set_admin(struct server *srv, enum srv_admin admin, const char *why);
/* Ends every session holding a slot on srv; returns how many. */
unsigned server_shutdown_sessions(struct server *srv, const char *why);
/* `set maxconn server`: new limit in force, queued sessions served if it grew. */
void server_set_maxconn(struct server *srv, unsigned maxconn);

#endif
