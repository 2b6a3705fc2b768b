/* Listening sockets: bound here or inherited with the systemd socket
 * activation convention, accepting in bounded bursts, with global and
 * frontend maxconn enforcement and a pause on fd exhaustion; sd_notify.
 *
 * Inherited sockets: LISTEN_PID must equal getpid(); LISTEN_FDS gives the
 * count of fds starting at 3; LISTEN_FDNAMES (optional) is a colon-separated
 * list of names, one per fd. A bind's name is its `name` when it has one,
 * else its address as ADDR:PORT (IPv6 in brackets) with every ':' written
 * '_', since names cannot hold colons: "127.0.0.1_8080", "0.0.0.0_80",
 * "[__]_443". An fd whose name is empty or "unknown" matches on its address
 * alone. An fd is given to the first bind whose name matches (when it has
 * one) and whose address equals the
 * socket's own (getsockname), once verified to be a listening TCP socket
 * (SO_ACCEPTCONN). Unmatched fds are closed and logged; binds left without
 * an fd are bound here. The LISTEN_* variables are removed afterwards.
 *
 * Return conventions: int functions return 0, or -1 with a message in err. */
#ifndef PROXYD_LISTENER_H
#define PROXYD_LISTENER_H

#include <stddef.h>

#include "proxyd/cfg-t.h"
#include "proxyd/listener-t.h"

/* Creates one listener per bind of every frontend of c, takes inherited
 * fds from the environment and binds the rest. Frontends are found with
 * proxy_find() (proxy_build() must have run). Nothing is registered with
 * the loop yet. */
int listener_setup_all(const struct cfg *c, char *err, size_t errlen);
/* Registers every listener with the loop: accepting starts. */
int listener_start_all(char *err, size_t errlen);
/* Closes this process's copies of every listening socket (graceful stop,
 * or exit). */
void listener_close_all(void);
/* Frees the listeners (after listener_close_all). */
void listener_free_all(void);
unsigned listener_count(void);
struct listener *listener_at(unsigned i);

/* A client connection ended (fe's scur and the global count have been
 * decremented): resumes listeners paused by a connection limit. */
void listener_conn_released(struct proxy *fe);

/* The process ran out of fds (or memory) outside accept (a server socket
 * could not be created): accepting pauses as it does on EMFILE in accept,
 * so that waiting clients stay in the kernel's queue. */
void listener_fd_exhausted(int err);

/* Global connection limit in force (0 = none); set by main. */
void listener_set_maxconn(unsigned maxconn);

/* Sends msg ("READY=1", "STOPPING=1", "STATUS=...") to $NOTIFY_SOCKET when
 * it is set (a unix datagram socket path, or "@name" for the abstract
 * namespace). 1 sent, 0 not configured, -1 failed (errno). */
int listener_sd_notify(const char *msg);

#endif
