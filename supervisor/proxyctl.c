/* proxyctl: the operator's command line. Global options come before the
 * command; each command parses its own arguments. The control commands
 * (status, show, reload, drain, kill, watch) talk to proxysv through its
 * control socket (-S). Exit status: 0 success (or
 * nothing found), 1 the command's "something found / refused", 2 usage or
 * runtime error. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "supervisor/ctlclient.h"
#include "supervisor/diagnose.h"
#include "supervisor/pmquery.h"

#define CTL_SOCKET_DEFAULT "/run/proxysv/control.sock"

struct ctl_global {
	const char *sockpath; /* control socket of proxysv */
};

struct ctl_cmd {
	const char *name;
	int (*run)(const struct ctl_global *g, int argc, char **argv);
	const char *brief;
};

static int cmd_diagnose(const struct ctl_global *g, int argc, char **argv)
{
	(void)g; /* diagnose observes the host directly, not through proxysv */
	return diagnose_main(argc, argv);
}

/* The commands that talk to proxysv (ctlclient.h). */
static int cmd_control(const struct ctl_global *g, int argc, char **argv)
{
	return ctlclient_main(g->sockpath, argc, argv);
}

/* The postmortem commands read the incident store directly (--db). */
static int cmd_incidents(const struct ctl_global *g, int argc, char **argv)
{
	(void)g;
	return pmq_incidents_main(argc, argv);
}

static int cmd_incident(const struct ctl_global *g, int argc, char **argv)
{
	(void)g;
	return pmq_incident_main(argc, argv);
}

static int cmd_samples(const struct ctl_global *g, int argc, char **argv)
{
	(void)g;
	return pmq_samples_main(argc, argv);
}

/* Sorted by name: looked up with bsearch. */
static const struct ctl_cmd ctl_cmds[] = {
	{ "diagnose", cmd_diagnose,
	  "find duplicate listeners, full accept queues, half-closed sockets,\n"
	  "             old generations and risky kernel settings, once" },
	{ "drain", cmd_control, "drain GEN: SIGUSR1 to that generation (proxysv)" },
	{ "incident", cmd_incident, "incident ID: summary, evidence, actions, samples around it" },
	{ "incidents", cmd_incidents, "incidents of the store, by time and kind (--json, --csv)" },
	{ "kill", cmd_control, "kill GEN: SIGTERM, then SIGKILL, to that generation (proxysv)" },
	{ "reload", cmd_control, "validate, start a new generation, drain the old (proxysv)" },
	{ "samples", cmd_samples, "samples --subject S --metric M: one metric over time, CSV" },
	{ "show", cmd_control, "show generations|listeners: sessions by state and peer (proxysv)" },
	{ "status", cmd_control, "the supervisor's summary (proxysv)" },
	{ "watch", cmd_control, "one summary line per tick until interrupted (proxysv)" },
};

static void ctl_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: proxyctl [-S PATH] COMMAND [ARGS...]\n"
		   "       proxyctl -h | --help\n"
		   "  -S PATH    control socket of proxysv (default " CTL_SOCKET_DEFAULT ")\n"
		   "commands:\n");
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", ctl_cmds[i].name, ctl_cmds[i].brief);
	fprintf(f, "'proxyctl COMMAND --help' describes a command.\n");
}

static int ctl_cmd_cmp(const void *key, const void *elem)
{
	const struct ctl_cmd *c = elem;

	return strcmp(key, c->name);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_global g = { .sockpath = CTL_SOCKET_DEFAULT };
	const struct ctl_cmd *cmd;
	int c;

	log_init("proxyctl", 0, LOG_LVL_WARN);
	opterr = 0;
	/* '+': stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+hS:", longopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			g.sockpath = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			if (optopt == 'S')
				fprintf(stderr, "proxyctl: -S needs a PATH\n");
			else if (optopt)
				fprintf(stderr, "proxyctl: unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, "proxyctl: unknown option '%s'\n", argv[optind - 1]);
			ctl_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "proxyctl: no command given\n");
		ctl_usage(stderr);
		return 2;
	}
	cmd = bsearch(argv[optind], ctl_cmds, sizeof(ctl_cmds) / sizeof(ctl_cmds[0]),
		      sizeof(ctl_cmds[0]), ctl_cmd_cmp);
	if (!cmd) {
		fprintf(stderr, "proxyctl: unknown command '%s'\n", argv[optind]);
		ctl_usage(stderr);
		return 2;
	}
	return cmd->run(&g, argc - optind, argv + optind);
}
