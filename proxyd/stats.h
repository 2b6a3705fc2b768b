/* The stats socket: HAProxy's runtime API over unix stream sockets, for the
 * commands that exist here. See proxyd-stats(7) for commands and columns.
 *
 * A client sends one line; commands in it are separated by ';'. Each
 * command's answer ends with an empty line. Without `prompt` the connection
 * is closed after the line; `prompt` keeps it open and prints "> " before
 * each line. */
#ifndef PROXYD_STATS_H
#define PROXYD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "common/sbuf.h"
#include "proxyd/cfg-t.h"
#include "proxyd/proxy-t.h"
#include "proxyd/stats-t.h"

/* Creates every `stats socket` of c (unlinking a stale socket file, bind,
 * chmod to its mode, listen) and registers them with the loop. Call after
 * loop_init(). 0, -1 with a message in err. */
int stats_start(const struct cfg *c, char *err, size_t errlen);
/* Closes listeners and clients and unlinks the socket files. */
void stats_stop(void);
/* Closes listening sockets only (a new generation took over). */
void stats_close_listeners(void);

/* Runs one command line (commands separated by ';') at the given level and
 * appends the answers to out. Sets *prompt_toggle when `prompt` was seen and
 * *quit on `quit`. Exposed for tests. */
void stats_exec_line(const char *line, enum cfg_stats_level level, struct sbuf *out,
		     int *prompt_toggle, int *quit);

/* The CSV header line "# pxname,...," with a trailing newline. */
void stats_csv_header(struct sbuf *out);
/* One CSV line for a frontend, a backend or a server. */
void stats_csv_frontend(struct sbuf *out, const struct proxy *px, uint64_t now);
void stats_csv_backend(struct sbuf *out, const struct proxy *px, uint64_t now);
void stats_csv_server(struct sbuf *out, const struct server *srv, uint64_t now);

/* HAProxy's short name of a check status: "L4OK", "L4CON", "INI", ... */
const char *stats_check_status_name(enum chk_status st);

/* Column table (name, description), index = enum stat_field. */
extern const struct stat_col stat_cols[STAT_F_COUNT];

#endif
