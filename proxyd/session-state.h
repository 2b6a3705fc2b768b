/* Pure session logic, apart from any I/O so that unit tests drive it:
 * which timeout applies to a side, when the session's timer is due next and
 * for what, and the two-character termination state of the session log. */
#ifndef PROXYD_SESSION_STATE_H
#define PROXYD_SESSION_STATE_H

#include <stdint.h>

#include "proxyd/session-t.h"

#define SESS_SIDE_CLIENT 0
#define SESS_SIDE_SERVER 1

/* 1 if either direction of that side is shut (end of stream read from it,
 * or shutdown(SHUT_WR) done on it). */
int session_side_half_closed(const struct session *s, int side);

/* The inactivity timeout of a side in ms (0 = none), HAProxy's way:
 *   half-closed side with its -fin timeout set -> client-fin / server-fin;
 *   else, once the session is a tunnel (connected, TCP) with timeout
 *   tunnel set -> tunnel;
 *   else client / server. */
unsigned session_side_timeout(const struct session *s, int side);

/* The earliest deadline (monotonic ms) of s and what it is; UINT64_MAX and
 * SESS_EXP_NONE when nothing is armed. A side's inactivity deadline runs
 * from its last read progress while it is expected to send (not at end of
 * stream and not held back by a full channel), and from its last write
 * progress while data waits to be written to it; writing also counts as
 * read activity (HAProxy refreshes the read timeout on writes). Before the
 * session is connected the client side counts from its last read, and the
 * queue, connect or turnaround deadline applies. */
uint64_t session_timer_next(const struct session *s, enum sess_exp *what);

/* The state character for a session ending now for `cause`: '-' when the
 * end is normal, else from the session state (Q, C, D, or L when the server
 * side is already finished while data still goes to the client). */
enum sess_fin session_fin_now(const struct session *s, enum sess_cause cause);

char session_cause_char(enum sess_cause c);
char session_fin_char(enum sess_fin f);
/* "--", "cD", "sQ", ...: writes 2 characters and a NUL. */
void session_term_str(const struct session *s, char out[3]);

/* The cause for a kill by session_shutdown(why): SESS_WHY_DOWN gives 'D',
 * SESS_WHY_BACKUP gives 'U', anything else (SESS_WHY_ADMIN, hard-stop) 'K'. */
enum sess_cause session_why_cause(const char *why);

#define SESS_WHY_ADMIN  "killed by admin"
#define SESS_WHY_DOWN   "server down"
#define SESS_WHY_BACKUP "server up"
#define SESS_WHY_STOP   "hard-stop-after"

#endif
