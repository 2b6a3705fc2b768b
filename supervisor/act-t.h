#ifndef SUPERVISOR_ACT_T_H
#define SUPERVISOR_ACT_T_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/detect-t.h"

struct sd_sock;

/* The actions; the names (act_name) are stored in the actions table. */
enum act_kind {
	ACT_OBSERVE = 0,
	ACT_DRAIN,              /* SIGUSR1 to the process (a generation drains) */
	ACT_KILL,               /* SIGTERM, grace, SIGKILL, through a pidfd */
	ACT_DESTROY,            /* SOCK_DESTROY of the offending sockets */
	ACT_SHUTDOWN_SESSIONS,  /* `shutdown sessions server B/S` on the stats socket */
	ACT_NKINDS,
};

enum act_result {
	AR_OK = 0,
	AR_FAILED,
	AR_SKIPPED,
	AR_RATE_LIMITED,
};

/* When a stale generation may be killed (policy stale-kill). */
enum act_stale_reason {
	ASR_DEADLINE = 0,       /* only past its drain deadline (the default) */
	ASR_IDLE,               /* also as soon as all it holds is idle or half-closed */
	ASR_PEER,               /* also as soon as it holds only sessions to one peer
				 * address:port (a single backend server) */
};

/* One action done (or not), for store_action_add. */
struct act_record {
	enum act_kind action;
	char target[128];       /* a subject: "pid:P", "server:B/S", "pid:P:sockets:N" */
	int dry_run;
	enum act_result result;
	char error[192];        /* why skipped or failed, "" when ok */
};

struct act_kind_policy {
	enum act_kind action;
	uint32_t rate_max;      /* at most this many actions per (kind, subject) ... */
	uint32_t rate_window_ms;/* ... in this window */
};

struct act_policy {
	struct act_kind_policy kind[DK_NKINDS];
	uint8_t act_on_foreign; /* act on processes the supervisor did not start */
	uint8_t dry_run;        /* record what would be done, do nothing */
	uint32_t kill_grace_ms; /* SIGTERM -> SIGKILL */
	uint32_t destroy_idle_ms;/* a half-closed socket idle this long may be destroyed */
	uint32_t destroy_max;   /* sockets destroyed per action */
	enum act_stale_reason stale_reason;
	uint32_t stale_idle_ms; /* ASR_IDLE: an established session idle this long is idle */
};

/* Side effects, as a table so that tests use fakes. Each returns 0 or -1
 * with errno (and err for destroy / stats_cmd). */
struct act_ops {
	int (*pidfd_open)(void *ctx, pid_t pid);
	int (*pidfd_signal)(void *ctx, int pidfd, int sig);
	/* 1 when the process behind pidfd has exited, 0 when it runs. */
	int (*pidfd_exited)(void *ctx, int pidfd);
	void (*close_fd)(void *ctx, int fd);
	int (*destroy)(void *ctx, const struct sd_sock *s, char *err, size_t errlen);
	int (*stats_cmd)(void *ctx, const char *path, const char *cmd, char *err, size_t errlen);
	void *ctx;
};

/* What the supervisor knows about the process a finding concerns. */
struct act_target {
	uint8_t own;            /* one of the supervisor's generations */
	uint8_t active;         /* the active generation: never drained or killed */
	uint8_t past_deadline;  /* draining past its deadline */
	int64_t gen;            /* 0 if foreign */
	const char *stats_path; /* its stats socket, NULL if none */
};

/* A kill waiting for its grace period. */
struct act_pending {
	pid_t pid;
	int pidfd;
	uint64_t kill_at_ms;
};

/* Actions taken per (kind, subject), for the rate limits. */
struct act_hist {
	enum detect_kind kind;
	char subject[96];
	uint64_t t[8];          /* ring of the last action times */
	uint32_t n;
	uint64_t limited_at;    /* start of the window a rate-limited record was given in */
};

struct actor {
	struct act_policy pol;
	struct act_ops ops;
	struct act_pending *pend;
	size_t npend, cap_pend;
	struct act_hist *hist;
	size_t nhist, cap_hist;
};

#endif
