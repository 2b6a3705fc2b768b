/* Generations of proxyd run by proxysv: types only.
 *
 * One generation is one proxyd process started with the supervisor's
 * listening fds. Its lifecycle, driven by events (gen_dispatch):
 *
 *              READY                 DRAIN                  DEADLINE
 *   STARTING --------> ACTIVE --------------> DRAINING --------------> STOPPING
 *      |                 |   (SIGUSR1, drain      |   (SIGTERM, kill-grace   |
 *      | DEADLINE        |    deadline armed)     |    deadline armed)       | DEADLINE:
 *      | (start timeout) | KILL                   | KILL                     | SIGKILL
 *      +-> STOPPING      +-> STOPPING             +-> STOPPING               |
 *                                                                            |
 *   any state --EXIT--> EXITED  (the process was reaped) <-------------------+
 *
 * "Ready is not spawned": a generation is ACTIVE only once it said READY=1.
 * An ACTIVE generation that exits without having been asked to is a crash:
 * the set restarts one after a backoff (1 s doubling to 30 s). */
#ifndef SUPERVISOR_GEN_T_H
#define SUPERVISOR_GEN_T_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum gen_state {
	GEN_ST_STARTING = 0,
	GEN_ST_ACTIVE,
	GEN_ST_DRAINING,
	GEN_ST_STOPPING,
	GEN_ST_EXITED,
	GEN_ST_COUNT,
};

enum gen_event {
	GEN_EV_READY = 0,       /* READY=1 from the process */
	GEN_EV_DRAIN,           /* superseded by a newer generation, or `drain GEN` */
	GEN_EV_KILL,            /* `kill GEN`, max-generations, fd guard, fast shutdown */
	GEN_EV_DEADLINE,        /* the state's deadline passed */
	GEN_EV_EXIT,            /* the process was reaped */
	GEN_EV_COUNT,
};

/* What the set tells its owner (for the store, the log, control clients). */
enum gen_note {
	GEN_NOTE_STARTED = 0,   /* spawned; pid known */
	GEN_NOTE_READY,
	GEN_NOTE_DRAIN,         /* SIGUSR1 sent */
	GEN_NOTE_TERM,          /* SIGTERM sent; detail says why */
	GEN_NOTE_KILL,          /* SIGKILL sent */
	GEN_NOTE_EXIT,          /* reaped; detail is the exit status text */
	GEN_NOTE_START_FAILED,  /* never became ready; detail says why */
	GEN_NOTE_CRASH,         /* the active generation died; detail has the count */
	GEN_NOTE_RESTART,       /* a crash restart is scheduled; detail has the delay */
	GEN_NOTE_COUNT,
};

struct gen {
	int64_t num;            /* 1, 2, ... */
	pid_t pid;              /* 0 before spawn */
	int pidfd;              /* -1 when none (owned by the process layer) */
	enum gen_state state;
	uint64_t started_ms;    /* monotonic ms, as every time here */
	uint64_t ready_ms;      /* 0 until ready */
	uint64_t drain_ms;      /* 0 until draining */
	uint64_t deadline_ms;   /* 0: none armed */
	int wstatus;            /* waitpid status once EXITED */
	uint8_t asked_to_stop;  /* DRAIN/KILL/shutdown was requested: an exit is no crash */
	uint8_t cut;            /* ended by a deadline or early (sessions were cut) */
	uint8_t killed;         /* SIGKILL sent */
	unsigned drain_timeout_ms;      /* drain deadline for this generation */
	int *lis;               /* listener ids it was given (owned; freed with the gen) */
	size_t nlis;
	char sha256[65];        /* config digest, "" when unknown */
};

struct gen_set;

/* The process layer: real fork/exec/pidfd in proxysv, fakes in unit tests.
 * spawn fills g->pid and g->pidfd, or returns -1 with err. signal returns
 * 0 or -1 (a process already gone is not an error: ESRCH returns 0). */
struct gen_ops {
	int (*spawn)(void *arg, struct gen *g, char *err, size_t errlen);
	int (*signal)(void *arg, struct gen *g, int signo);
	void (*note)(void *arg, struct gen *g, enum gen_note what, const char *detail);
};

struct gen_opts {
	unsigned start_timeout_ms;      /* STARTING -> stop when not ready by then */
	unsigned drain_timeout_ms;      /* DRAINING deadline */
	unsigned kill_grace_ms;         /* SIGTERM -> SIGKILL */
	unsigned max_generations;       /* live generations, the new one included; 0 = no limit */
	unsigned backoff_min_ms;        /* first crash restart delay (1000) */
	unsigned backoff_max_ms;        /* cap (30000) */
	unsigned stable_ms;             /* active this long resets the backoff */
	unsigned crash_loop;            /* consecutive crashes that make a crash loop */
};

struct gen_set {
	struct gen **v;         /* live and recently exited generations, oldest first */
	size_t len;
	size_t cap;
	int64_t next_num;       /* the number the next generation gets */
	struct gen *active;     /* NULL when none */
	struct gen *starting;   /* the one being started, NULL when none */
	struct gen_ops ops;
	void *arg;
	struct gen_opts o;
	uint64_t restart_at;    /* monotonic; 0: no crash restart scheduled */
	unsigned backoff_ms;    /* delay of the next crash restart */
	unsigned crashes;       /* consecutive crashes of the active generation */
	unsigned reloads;       /* generations that became active by a reload */
	unsigned reloads_failed;
	uint8_t reload_pending; /* a reload came while one was starting: coalesced */
	uint8_t shutting_down;  /* no more starts */
};

#endif
