/* statsrc: a client for a proxy's stats socket and the parsers of what it
 * answers. Library code: errors go to the caller's buffer, nothing is logged. */
#ifndef SUPERVISOR_STATSRC_H
#define SUPERVISOR_STATSRC_H

#include <stddef.h>

#include "common/sbuf.h"
#include "supervisor/statsrc-t.h"

struct cfg;

/* Longest answer read from a stats socket. */
#define STATS_MAX_ANSWER (16u << 20)

/* Sends cmd (one line, the newline is added) to the unix stream socket at
 * path and appends everything it answers, up to EOF, to out. Never blocks
 * longer than timeout_ms in total: the socket is non-blocking and each step
 * (connect, write, read) polls against one deadline. 0, or -1 with errno and
 * err: ETIMEDOUT, EMSGSIZE (answer above STATS_MAX_ANSWER), ENOMEM, or the
 * socket's error (ENOENT, ECONNREFUSED, EACCES...). */
int stats_query(const char *path, const char *cmd, unsigned timeout_ms, struct sbuf *out,
		char *err, size_t errlen);

/* The command stats_read sends: three answers, each ending with an empty
 * line, in one round trip. */
#define STATS_READ_CMD "show info;show stat;show servers state"

/* One view from the socket at path: STATS_READ_CMD, then stats_parse_info,
 * stats_parse_csv and stats_parse_servers_state on the three answers.
 * scratch is a reusable buffer (reset here). v->pid becomes the Pid of
 * show info when v->pid is 0. 0, or -1 with errno and err. */
int stats_read(const char *path, unsigned timeout_ms, struct stats_view *v, struct sbuf *scratch,
	       char *err, size_t errlen);

/* Parses `show stat` CSV into v, replacing its rows. Columns are found by
 * name from the "# pxname,svname,..." header, so stock HAProxy's and
 * proxyd's (which appends eff_maxconn, minconn, fullconn) both parse.
 * Sets has_eff_col; servers get eff_src SE_REPORTED when the proxy gave a
 * number, SE_UNLIMITED when it left it empty, else SE_NONE. 0, or -1
 * (EBADMSG: no header, no pxname/svname; ENOMEM) with err. */
int stats_parse_csv(const char *text, size_t len, struct stats_view *v, char *err, size_t errlen);

/* Parses `show servers state` (format version 1, columns found by name from
 * the "# be_id be_name ..." line) into the server rows of v, adding rows
 * for servers show stat did not list. 0, or -1 (EBADMSG: not version 1,
 * no header; ENOMEM) with err. */
int stats_parse_servers_state(const char *text, size_t len, struct stats_view *v,
			      char *err, size_t errlen);

/* Parses `show info` ("Key: value" lines): Maxconn, CurrConns, Pid. 0 always
 * (unknown keys are ignored). */
int stats_parse_info(const char *text, size_t len, struct stats_view *v);

/* For servers whose eff_src is SE_NONE, fills minconn and fullconn from the
 * configuration c (the proxy's own, loaded and finalized) and computes the
 * effective limit with cfg_srv_dynmaxconn from minconn, maxconn (the slim
 * column, else the configuration), fullconn and the backend's current
 * sessions (its BACKEND row's scur): SE_COMPUTED, or SE_UNLIMITED for
 * maxconn 0. The slowstart ramp is not applied (show stat does not say
 * when a server came up closely enough). Returns the number of servers
 * computed. */
size_t stats_view_apply_cfg(struct stats_view *v, const struct cfg *c);

/* Lookups (linear; a view has tens to hundreds of rows). sv NULL: the
 * BACKEND row of px (type ST_BACKEND); "FRONTEND" finds a frontend row. */
const struct stats_row *stats_find(const struct stats_view *v, const char *px, const char *sv);
/* The row of type ST_BACKEND for px, or NULL. */
const struct stats_row *stats_backend_row(const struct stats_view *v, const char *px);

/* 1 when the server is DOWN for the proxy: the status column starts with
 * "DOWN" (HAProxy writes "DOWN", "DOWN 1/2", "DOWN (agent)") or, without a
 * status, op_state is 0. MAINT is not DOWN here (an operator's choice). */
int stats_row_is_down(const struct stats_row *r);

void stats_view_reset(struct stats_view *v);
void stats_view_free(struct stats_view *v);
/* Appends a blank row (numbers -1), or NULL (ENOMEM). */
struct stats_row *stats_view_push(struct stats_view *v);

#endif
