/* `proxyctl diagnose`: two snapshots an interval apart, the detectors, and a
 * report for a person (human) or a program (--json). The parsing and the
 * formatting are apart from the probing so that unit tests drive them with
 * synthetic arguments and findings. */
#ifndef SUPERVISOR_DIAGNOSE_H
#define SUPERVISOR_DIAGNOSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/sbuf.h"
#include "probes/snapshot-t.h"
#include "probes/sockdiag-t.h"
#include "supervisor/detect-t.h"

#define DIAG_MAX_PORTS SD_MAX_PORTS
#define DIAG_MAX_PIDS 64
#define DIAG_MAX_ALLOW 64
#define DIAG_INTERVAL_DEFAULT_MS 1000u
#define DIAG_INTERVAL_MAX_MS 3600000u

/* The command line, parsed. Strings point into argv. */
struct diag_args {
	uint16_t ports[DIAG_MAX_PORTS];
	size_t nports;
	pid_t pids[DIAG_MAX_PIDS];
	size_t npids;
	const char *allow[DIAG_MAX_ALLOW];
	size_t nallow;
	const char *netns;      /* --netns NAME|PATH, NULL if not given */
	uint32_t interval_ms;
	uint8_t json;
	uint8_t timing;         /* phase timings on stderr */
	uint8_t help;
};

/* What the report shows besides the findings. snap may be NULL (no listener
 * list); the counters are printed as given. */
struct diag_report {
	const char *host;
	const char *netns;        /* as given on the command line, NULL for ours */
	uint64_t netns_ino;
	uint64_t t_real_ms;       /* time of the second snapshot */
	uint32_t interval_ms;
	size_t nsockets;
	size_t nlisteners;
	size_t nprocs;
	unsigned denied;          /* processes whose fds could not be read */
	unsigned unowned_lsocks;  /* listening sockets with no owner seen */
	uint8_t have_owners;      /* the process map ran */
	uint8_t privileged;       /* running as root */
	const struct snapshot *snap;
	const uint16_t *ports;    /* listeners shown: only these ports (if any) */
	size_t nports;
	const struct finding_list *findings; /* sorted by diagnose_sort */
};

/* Parses the arguments after "diagnose" (argv[0] is "diagnose").
 * Returns 0, or -1 with err naming the argument ("--port: ..."). */
int diagnose_parse_args(int argc, char **argv, struct diag_args *a, char *err, size_t errlen);

/* Most severe first; within one severity the detectors' order is kept. */
void diagnose_sort(struct finding_list *l);

/* 0 when there is no finding, 1 otherwise. */
int diagnose_exit_status(const struct finding_list *l);

/* Append the report to out (sticky sbuf errors: check out->err once). */
void diagnose_format_human(struct sbuf *out, const struct diag_report *r);
void diagnose_format_json(struct sbuf *out, const struct diag_report *r);

/* The usage text, identical to the man page's SYNOPSIS and OPTIONS. */
extern const char diagnose_usage[];

/* The command: returns the process exit status (0, 1 or 2). */
int diagnose_main(int argc, char **argv);

#endif
