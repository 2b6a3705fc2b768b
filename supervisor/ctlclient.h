/* The client side of proxysv's control socket (see ctl.h for the protocol),
 * for proxyctl and proxytop. Blocking, every wait bounded by a timeout.
 *
 * Return conventions: 0 success, 1 the answer is an error ("error: ..."),
 * -1 a connection or protocol failure with err filled. */
#ifndef SUPERVISOR_CTLCLIENT_H
#define SUPERVISOR_CTLCLIENT_H

#include <stddef.h>

#include "common/sbuf.h"

/* $PROXYSV_SOCKET, else /run/proxysv/control.sock (proxysv's default). */
const char *ctlclient_default_path(void);

/* A connected socket, or -1. */
int ctlclient_connect(const char *path, char *err, size_t errlen);

/* Sends line (no newline) and reads its answer, without the final empty
 * line, into out. timeout_ms bounds the whole exchange (a reload waits for
 * the new generation: give it start-timeout and more). */
int ctlclient_request(int fd, const char *line, struct sbuf *out, unsigned timeout_ms,
		      char *err, size_t errlen);

/* Sends `watch` and calls cb with each line (one JSON object, no newline)
 * until cb returns non-zero (returns 0), the connection ends or no line came
 * for idle_ms (-1). */
int ctlclient_watch(int fd, int (*cb)(const char *line, void *arg), void *arg,
		    unsigned idle_ms, char *err, size_t errlen);

/* proxyctl's control subcommands: argv[0] is one of status, reload, show,
 * drain, kill, watch (argv as typed after the command name, e.g. {"show",
 * "generations", "--json"}). Prints the answer (human, or JSON with
 * --json) to stdout and errors to stderr. Exit status: 0 done, 1 refused
 * by proxysv ("error: ..."), 2 usage or connection error. */
int ctlclient_main(const char *sockpath, int argc, char **argv);

#endif
