/* Listening sockets. One struct listener per bind address (ranges are
 * expanded by the configuration).
 *
 *   INIT --bind or inherit--> READY <--resume-- FULL    (maxconn reached)
 *                               |  ^
 *                               |  +--resume-- PAUSED   (fd limit, ~100 ms)
 *                               v
 *                             CLOSED                    (graceful or fast stop)
 *
 * A listener's fd is registered level-triggered: accepting stops after a
 * bounded burst and the next round resumes it, so one busy listener cannot
 * starve the others. */
#ifndef PROXYD_LISTENER_T_H
#define PROXYD_LISTENER_T_H

#include <stdint.h>
#include <sys/socket.h>

#include "proxyd/cfg-t.h"
#include "proxyd/loop-t.h"

struct proxy;

enum li_state {
	LI_ST_INIT = 0,
	LI_ST_READY,
	LI_ST_FULL,
	LI_ST_PAUSED,
	LI_ST_CLOSED,
};

struct listener {
	int fd;
	enum li_state state;
	struct loop_fd lfd;
	struct proxy *fe;
	char name[128];         /* LISTEN_FDNAMES name: the bind's `name`, else ADDR_PORT */
	char addr_text[64];     /* "127.0.0.1:8080", "[::1]:443" */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned backlog;
	enum cfg_v6 v6;
	int inherited;          /* 1 if the fd came through LISTEN_FDS */
	uint64_t accepted;
	struct cfg_loc loc;
};

#endif
