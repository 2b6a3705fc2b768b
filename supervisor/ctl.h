/* The control socket: a unix stream socket (mode 0600) speaking a line
 * protocol in the manner of HAProxy's runtime API. The peer's uid
 * (SO_PEERCRED) must be root or proxysv's own.
 *
 * Each request is one line; each answer is text lines ended by one empty
 * line, and the connection stays open for the next request. An answer
 * whose first line starts with "error: " is a failure. `watch` answers with
 * one JSON line per tick (see WATCH format in proxysv(8)) until the client
 * closes. `quit` closes.
 *
 *   help | status [--json] | show generations [--json] | show listeners [--json]
 *   reload | drain GEN | kill GEN | watch | quit
 */
#ifndef SUPERVISOR_CTL_H
#define SUPERVISOR_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "common/sbuf.h"

#define CTL_LINE_MAX 1024

enum ctl_verb {
	CTL_HELP = 0,
	CTL_STATUS,
	CTL_SHOW_GENERATIONS,
	CTL_SHOW_LISTENERS,
	CTL_RELOAD,
	CTL_DRAIN,
	CTL_KILL,
	CTL_WATCH,
	CTL_QUIT,
};

struct ctl_cmd {
	enum ctl_verb verb;
	int json;               /* --json given */
	int64_t gen;            /* drain/kill: the generation number */
};

/* Parses one request line (without its newline; a trailing '\r' is
 * ignored). 0, or -1 with a message for the client in err. */
int ctl_parse(const char *line, struct ctl_cmd *cmd, char *err, size_t errlen);
const char *ctl_help_text(void);

/* ---- the server (runs in proxyd/loop) ------------------------------------ */

struct ctl_conn;

#define CTL_DONE 0      /* out holds the whole answer */
#define CTL_DEFER 1     /* answered later by ctl_reply_waiting; ctl_conn_wait was called */

/* Executes cmd for connection c, appending the answer (without the final
 * empty line) to out. */
typedef int ctl_exec_fn(void *arg, struct ctl_conn *c, const struct ctl_cmd *cmd,
			struct sbuf *out);

/* Creates the socket at path (a stale one is replaced), mode 0600, and adds
 * a before-sleep hook to the loop (once per loop_init). 0, -1. */
int ctl_server_open(const char *path, ctl_exec_fn *fn, void *arg, char *err, size_t errlen);
/* Closes every connection and the socket, and unlinks it. */
void ctl_server_close(void);

/* Marks c as waiting for the answer of ticket (a reload number). */
void ctl_conn_wait(struct ctl_conn *c, uint64_t ticket);
/* Answers every connection waiting for a ticket <= done with text. */
void ctl_reply_waiting(uint64_t done, const char *text);
/* Sends line (one JSON object, no newline) to every `watch` client. */
void ctl_watch_send(const char *line);
size_t ctl_watchers(void);
size_t ctl_conns(void);

#endif
