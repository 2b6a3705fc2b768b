#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/sbuf.h"
#include "common/util.h"
#include "probes/kernel.h"
#include "probes/netns.h"
#include "probes/snapshot.h"
#include "probes/sockdiag.h"
#include "supervisor/detect.h"
#include "supervisor/diagnose.h"

const char diagnose_usage[] =
	"usage: proxyctl diagnose [--port P]... [--pid PID]... [--netns NAME|PATH]\n"
	"                         [--interval MS] [--allow ADDR:PORT|:PORT|EXE]...\n"
	"                         [--json] [--timing]\n"
	"  -p, --port P        only sockets whose local or remote port is P\n"
	"                      (repeatable, up to 32 ports)\n"
	"  -P, --pid PID       only findings about process PID (repeatable, up to 64);\n"
	"                      look in its network namespace (all must share one)\n"
	"  -n, --netns NAME|PATH\n"
	"                      look in the namespace /run/netns/NAME, or the one whose\n"
	"                      nsfs file is PATH (such as /proc/PID/ns/net)\n"
	"  -i, --interval MS   time between the two snapshots, 0 to 3600000\n"
	"                      (default 1000)\n"
	"  -a, --allow ADDR:PORT|:PORT|EXE\n"
	"                      never report duplicate listeners on this address and\n"
	"                      port, on this port, or owned by this executable\n"
	"                      (basename); repeatable\n"
	"  -j, --json          print one JSON object instead of the report\n"
	"  -t, --timing        print the time each phase took on standard error\n"
	"  -h, --help          print this text\n"
	"exit status: 0 no findings, 1 findings, 2 error\n";

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v;

	if (parse_uint(s, 65535, &v) == -1 || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* ADDR:PORT (IPv4), [ADDR]:PORT (IPv6), :PORT, or an executable, whose
 * basename is kept. Returns the string to hand to the detector, or NULL. */
static const char *parse_allow(const char *s)
{
	const char *colon = strrchr(s, ':');
	const char *slash;
	char addr[INET6_ADDRSTRLEN + 2];
	uint8_t buf[16];
	uint16_t port;
	size_t alen;

	if (*s == '\0')
		return NULL;
	if (!colon) {
		slash = strrchr(s, '/');
		if (slash)
			s = slash + 1;
		return *s ? s : NULL;
	}
	if (parse_port(colon + 1, &port) == -1)
		return NULL;
	alen = (size_t)(colon - s);
	if (alen == 0)
		return s;
	if (alen >= sizeof(addr))
		return NULL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (addr[0] == '[') {
		if (alen < 3 || addr[alen - 1] != ']')
			return NULL;
		addr[alen - 1] = '\0';
		return inet_pton(AF_INET6, addr + 1, buf) == 1 ? s : NULL;
	}
	return inet_pton(AF_INET, addr, buf) == 1 ? s : NULL;
}

int diagnose_parse_args(int argc, char **argv, struct diag_args *a, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "pid", required_argument, NULL, 'P' },
		{ "netns", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ "allow", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "timing", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	uint16_t port;
	size_t i;
	int c;

	memset(a, 0, sizeof(*a));
	a->interval_ms = DIAG_INTERVAL_DEFAULT_MS;
	optind = 0; /* full reinitialisation: callers may parse more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:P:n:i:a:jth", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_port(optarg, &port) == -1) {
				snprintf(err, errlen, "--port: '%s' is not a port (1-65535)", optarg);
				return -1;
			}
			for (i = 0; i < a->nports && a->ports[i] != port; i++)
				;
			if (i < a->nports)
				break;
			if (a->nports == DIAG_MAX_PORTS) {
				snprintf(err, errlen, "--port: at most %d ports", DIAG_MAX_PORTS);
				return -1;
			}
			a->ports[a->nports++] = port;
			break;
		case 'P':
			if (parse_uint(optarg, 0x7fffffff, &v) == -1 || v == 0) {
				snprintf(err, errlen, "--pid: '%s' is not a process id", optarg);
				return -1;
			}
			if (a->npids == DIAG_MAX_PIDS) {
				snprintf(err, errlen, "--pid: at most %d processes", DIAG_MAX_PIDS);
				return -1;
			}
			a->pids[a->npids++] = (pid_t)v;
			break;
		case 'n':
			if (a->netns) {
				snprintf(err, errlen, "--netns: given twice");
				return -1;
			}
			if (*optarg == '\0') {
				snprintf(err, errlen, "--netns: empty name");
				return -1;
			}
			a->netns = optarg;
			break;
		case 'i':
			if (parse_uint(optarg, DIAG_INTERVAL_MAX_MS, &v) == -1) {
				snprintf(err, errlen, "--interval: '%s' is not a number of "
					 "milliseconds (0-%u)", optarg, DIAG_INTERVAL_MAX_MS);
				return -1;
			}
			a->interval_ms = (uint32_t)v;
			break;
		case 'a':
			if (a->nallow == DIAG_MAX_ALLOW) {
				snprintf(err, errlen, "--allow: at most %d entries", DIAG_MAX_ALLOW);
				return -1;
			}
			a->allow[a->nallow] = parse_allow(optarg);
			if (!a->allow[a->nallow]) {
				snprintf(err, errlen, "--allow: '%s' is not ADDR:PORT, :PORT "
					 "or an executable name", optarg);
				return -1;
			}
			a->nallow++;
			break;
		case 'j':
			a->json = 1;
			break;
		case 't':
			a->timing = 1;
			break;
		case 'h':
			a->help = 1;
			break;
		case ':':
			snprintf(err, errlen, "%s: needs a value", argv[optind - 1]);
			return -1;
		default:
			if (optopt)
				snprintf(err, errlen, "-%c: unknown option", optopt);
			else
				snprintf(err, errlen, "%s: unknown option", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "%s: unexpected argument", argv[optind]);
		return -1;
	}
	return 0;
}

void diagnose_sort(struct finding_list *l)
{
	struct finding tmp;
	size_t i, j;

	/* Insertion sort: stable, and lists are short. */
	for (i = 1; i < l->len; i++) {
		tmp = l->v[i];
		for (j = i; j > 0 && l->v[j - 1].severity < tmp.severity; j--)
			l->v[j] = l->v[j - 1];
		l->v[j] = tmp;
	}
}

int diagnose_exit_status(const struct finding_list *l)
{
	return l->len > 0 ? 1 : 0;
}

static int port_wanted(const struct diag_report *r, uint16_t port)
{
	size_t i;

	if (r->nports == 0)
		return 1;
	for (i = 0; i < r->nports; i++)
		if (r->ports[i] == port)
			return 1;
	return 0;
}

static void put_indented(struct sbuf *out, const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		sb_puts(out, "    ");
		if (!nl) {
			sb_puts(out, p);
			sb_putc(out, '\n');
			break;
		}
		sb_putn(out, p, (size_t)(nl - p + 1));
		p = nl + 1;
	}
}

void diagnose_format_human(struct sbuf *out, const struct diag_report *r)
{
	const struct finding_list *l = r->findings;
	unsigned nsev[DS_CRITICAL + 1] = { 0 };
	char when[32];
	size_t i;

	clock_fmt_iso(r->t_real_ms, when, sizeof(when));
	sb_printf(out, "host %s, netns %" PRIu64, r->host ? r->host : "?", r->netns_ino);
	if (r->netns)
		sb_printf(out, " (%s)", r->netns);
	sb_printf(out, ", %zu sockets, %zu listeners, %zu processes, %s (snapshots %" PRIu32
		  " ms apart)\n", r->nsockets, r->nlisteners, r->nprocs, when, r->interval_ms);
	if (r->nports > 0) {
		sb_puts(out, "ports:");
		for (i = 0; i < r->nports; i++)
			sb_printf(out, " %u", (unsigned)r->ports[i]);
		sb_putc(out, '\n');
	}

	for (i = 0; i < l->len; i++) {
		const struct finding *f = &l->v[i];

		if (f->severity <= DS_CRITICAL)
			nsev[f->severity]++;
		sb_printf(out, "\n%s %s %s: %s\n", detect_kind_name(f->kind),
			  detect_severity_name(f->severity), f->subject,
			  f->summary ? f->summary : "");
		if (f->detail)
			put_indented(out, f->detail);
	}

	if (!r->have_owners || r->denied > 0 || r->unowned_lsocks > 0)
		sb_putc(out, '\n');
	if (!r->have_owners)
		sb_puts(out, "not seen: socket owners (the process map could not be read)\n");
	if (r->denied > 0)
		sb_printf(out, "not seen: the sockets of %u process%s whose file descriptors "
			  "could not be read%s\n", r->denied, r->denied == 1 ? "" : "es",
			  r->privileged ? "" : " (run as root to see them)");
	if (r->unowned_lsocks > 0)
		sb_printf(out, "not seen: the owner of %u listening socket%s\n",
			  r->unowned_lsocks, r->unowned_lsocks == 1 ? "" : "s");

	if (l->len == 0) {
		sb_puts(out, "\nno findings\n");
		return;
	}
	sb_printf(out, "\n%zu finding%s: %u critical, %u warning, %u info\n", l->len,
		  l->len == 1 ? "" : "s", nsev[DS_CRITICAL], nsev[DS_WARNING], nsev[DS_INFO]);
}

static void json_listeners(struct json *j, const struct diag_report *r)
{
	const struct snapshot *s = r->snap;
	char addr[INET6_ADDRSTRLEN];
	size_t i, k, m;

	json_arr_open(j, "listeners");
	for (i = 0; s && i < s->nlisteners; i++) {
		const struct snap_listener *li = &s->listeners[i];

		if (!port_wanted(r, li->port))
			continue;
		if (!inet_ntop(li->family, li->addr, addr, sizeof(addr)))
			snprintf(addr, sizeof(addr), "?");
		json_obj_open(j, NULL);
		json_str(j, "family", li->family == AF_INET6 ? "ipv6" : "ipv4");
		json_str(j, "addr", addr);
		json_uint(j, "port", li->port);
		json_arr_open(j, "sockets");
		for (k = li->first_lsock; k < li->first_lsock + li->nlsocks && k < s->nlsocks; k++) {
			const struct snap_lsock *ls = &s->lsocks[k];

			json_obj_open(j, NULL);
			json_uint(j, "ino", ls->ino);
			json_uint(j, "queue", ls->rqueue);
			json_uint(j, "backlog", ls->wqueue);
			json_uint(j, "uid", ls->uid);
			json_arr_open(j, "pids");
			for (m = ls->first_owner;
			     m < ls->first_owner + ls->nowners && m < s->nowner_pids; m++)
				json_int(j, NULL, s->owner_pids[m]);
			json_arr_close(j);
			json_obj_close(j);
		}
		json_arr_close(j);
		json_obj_close(j);
	}
	json_arr_close(j);
}

void diagnose_format_json(struct sbuf *out, const struct diag_report *r)
{
	const struct finding_list *l = r->findings;
	struct json j;
	char when[32];
	size_t i;

	clock_fmt_iso(r->t_real_ms, when, sizeof(when));
	json_init(&j, out);
	json_obj_open(&j, NULL);
	json_int(&j, "version", 1);
	json_str(&j, "host", r->host);
	json_str(&j, "netns", r->netns);
	json_uint(&j, "netns_ino", r->netns_ino);
	json_str(&j, "time", when);
	json_uint(&j, "interval_ms", r->interval_ms);
	json_uint(&j, "sockets", r->nsockets);
	json_uint(&j, "processes", r->nprocs);
	json_arr_open(&j, "ports");
	for (i = 0; i < r->nports; i++)
		json_uint(&j, NULL, r->ports[i]);
	json_arr_close(&j);
	json_listeners(&j, r);
	json_arr_open(&j, "findings");
	for (i = 0; i < l->len; i++) {
		const struct finding *f = &l->v[i];

		json_obj_open(&j, NULL);
		json_str(&j, "kind", detect_kind_name(f->kind));
		json_str(&j, "severity", detect_severity_name(f->severity));
		json_str(&j, "subject", f->subject);
		json_int(&j, "pid", f->pid);
		json_uint(&j, "port", f->port);
		json_double(&j, "value", f->value);
		json_str(&j, "summary", f->summary ? f->summary : "");
		json_raw(&j, "evidence", f->evidence && *f->evidence ? f->evidence : "{}");
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_open(&j, "limits");
	json_uint(&j, "processes_not_visible", r->denied);
	json_uint(&j, "listening_sockets_without_owner", r->unowned_lsocks);
	json_bool(&j, "owners_mapped", r->have_owners);
	json_bool(&j, "privileged", r->privileged);
	json_obj_close(&j);
	json_obj_close(&j);
	sb_putc(out, '\n');
}

/* The namespace to look in: --netns, else that of the --pid processes when
 * it is not ours. *nsfd is NETNS_SELF or an fd the caller closes. */
static int diag_open_netns(const struct diag_args *a, int *nsfd, uint64_t *ino,
			   char *label, size_t labellen, char *err, size_t errlen)
{
	uint64_t self_ino = 0, want = 0, pino;
	char e[256];
	pid_t first = 0;
	size_t i;
	int fd = NETNS_SELF, pfd;

	*nsfd = NETNS_SELF;
	label[0] = '\0';
	if (netns_ino(NETNS_SELF, &self_ino) == -1) {
		snprintf(err, errlen, "own network namespace: %s", strerror(errno));
		return -1;
	}
	if (a->netns) {
		fd = netns_open(a->netns, e, sizeof(e));
		if (fd == -1) {
			snprintf(err, errlen, "--netns: %s", e);
			return -1;
		}
		if (netns_ino(fd, &want) == -1) {
			snprintf(err, errlen, "--netns: %s: %s", a->netns, strerror(errno));
			goto err;
		}
		snprintf(label, labellen, "%s", a->netns);
	}
	for (i = 0; i < a->npids; i++) {
		pfd = netns_open_pid(a->pids[i], e, sizeof(e));
		if (pfd == -1) {
			snprintf(err, errlen, "--pid %ld: %s", (long)a->pids[i],
				 errno == ENOENT ? "no such process" : e);
			goto err;
		}
		if (netns_ino(pfd, &pino) == -1) {
			snprintf(err, errlen, "--pid %ld: %s", (long)a->pids[i], strerror(errno));
			close(pfd);
			goto err;
		}
		if (want == 0) {
			want = pino;
			first = a->pids[i];
			fd = pfd;
			snprintf(label, labellen, "/proc/%ld/ns/net", (long)first);
			continue;
		}
		close(pfd);
		if (pino != want) {
			if (a->netns)
				snprintf(err, errlen, "--pid %ld: not in the namespace of --netns %s",
					 (long)a->pids[i], a->netns);
			else
				snprintf(err, errlen, "--pid %ld: in another network namespace "
					 "than pid %ld", (long)a->pids[i], (long)first);
			goto err;
		}
	}
	if (want == 0 || want == self_ino) {
		/* Ours: no need to enter it (nor the privilege to). */
		if (fd != NETNS_SELF)
			close(fd);
		fd = NETNS_SELF;
		want = self_ino;
	}
	*nsfd = fd;
	*ino = want;
	return 0;
err:
	if (fd != NETNS_SELF)
		close(fd);
	return -1;
}

/* The first snapshot: the detectors use it only for trends, the queues of
 * listening sockets (by inode) and the kernel's counters. So it dumps the
 * listening sockets alone (the kernel then skips the established table),
 * without tcp_info or owners, and reads the counters; snapshot_group builds
 * the same listener views as snapshot_take would. */
static int diag_take_listeners(struct snap_probe *p, const struct snap_opts *o,
			       struct snapshot *s, char *err, size_t errlen)
{
	struct sd_filter f;
	size_t i;

	memset(&f, 0, sizeof(f));
	f.states = SD_STATE_BIT(SD_LISTEN);
	f.port_match = SD_PORT_LOCAL;
	f.nports = (unsigned)o->nports;
	for (i = 0; i < o->nports && i < SD_MAX_PORTS; i++)
		f.ports[i] = o->ports[i];
	if (netns_ino(o->nsfd, &s->netns_ino) == -1) {
		snprintf(err, errlen, "network namespace inode: %s", strerror(errno));
		return -1;
	}
	if (sockdiag_dump(&p->sd, &f, &s->socks, err, errlen) == -1)
		return -1;
	s->t_mono_ms = clock_mono_ms();
	s->t_real_ms = clock_real_ms();
	s->owners.len = 0;
	s->procs.len = 0;
	s->have_owners = 0;
	s->denied = 0;
	if (kernel_read(o->nsfd, o->procroot, &s->kernel, err, errlen) == -1)
		return -1;
	if (snapshot_group(s) == -1) {
		snprintf(err, errlen, "grouping: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int diagnose_main(int argc, char **argv)
{
	struct diag_args a;
	struct snap_opts so = { .nsfd = NETNS_SELF };
	struct snap_probe probe;
	struct snapshot snap[2];
	struct finding_list fl = { 0 };
	struct detect_opts dopts = { 0 };
	struct diag_report r = { 0 };
	struct sbuf out;
	char host[256], label[300], err[512];
	uint64_t t0, t1, t2, t3, t4, t5;
	uint64_t ino = 0;
	size_t i;
	int nsfd = NETNS_SELF, status = 2;

	memset(&probe, 0, sizeof(probe));
	memset(snap, 0, sizeof(snap));
	sb_init(&out);
	if (diagnose_parse_args(argc, argv, &a, err, sizeof(err)) == -1) {
		fprintf(stderr, "proxyctl diagnose: %s\n", err);
		return 2;
	}
	if (a.help) {
		fputs(diagnose_usage, stdout);
		return 0;
	}
	if (diag_open_netns(&a, &nsfd, &ino, label, sizeof(label), err, sizeof(err)) == -1) {
		fprintf(stderr, "proxyctl diagnose: %s\n", err);
		return 2;
	}

	so.nsfd = nsfd;
	so.want_info = 1;
	so.want_owners = 1;
	so.want_links = 0;
	so.ports = a.nports ? a.ports : NULL;
	so.nports = a.nports;

	t0 = clock_mono_us();
	if (snap_probe_open(&probe, &so, err, sizeof(err)) == -1) {
		fprintf(stderr, "proxyctl diagnose: %s%s\n", err,
			nsfd != NETNS_SELF && geteuid() != 0 ?
			" (entering another namespace needs root)" : "");
		goto out;
	}
	t1 = clock_mono_us();
	if (diag_take_listeners(&probe, &so, &snap[0], err, sizeof(err)) == -1) {
		fprintf(stderr, "proxyctl diagnose: snapshot: %s\n", err);
		goto out;
	}
	t2 = clock_mono_us();
	util_sleep_ms(a.interval_ms);
	t3 = clock_mono_us();
	if (snapshot_take(&probe, &so, &snap[1], err, sizeof(err)) == -1) {
		fprintf(stderr, "proxyctl diagnose: snapshot: %s\n", err);
		goto out;
	}
	t4 = clock_mono_us();

	dopts.ports = a.nports ? a.ports : NULL;
	dopts.nports = a.nports;
	dopts.pids = a.npids ? a.pids : NULL;
	dopts.npids = a.npids;
	dopts.allow = a.nallow ? a.allow : NULL;
	dopts.nallow = a.nallow;
	if (detect_run(&snap[0], &snap[1], &dopts, &fl) == -1) {
		fprintf(stderr, "proxyctl diagnose: detectors: %s\n", strerror(errno));
		goto out;
	}
	diagnose_sort(&fl);

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	r.host = host;
	r.netns = label[0] ? label : NULL;
	r.netns_ino = snap[1].netns_ino ? snap[1].netns_ino : ino;
	r.t_real_ms = snap[1].t_real_ms ? snap[1].t_real_ms : clock_real_ms();
	r.interval_ms = a.interval_ms;
	r.nsockets = snap[1].socks.len;
	r.nlisteners = 0;
	r.ports = a.ports;
	r.nports = a.nports;
	for (i = 0; i < snap[1].nlisteners; i++)
		if (port_wanted(&r, snap[1].listeners[i].port))
			r.nlisteners++;
	r.nprocs = snap[1].procs.len;
	r.denied = snap[1].denied;
	for (i = 0; i < snap[1].nlsocks; i++)
		if (snap[1].lsocks[i].nowners == 0)
			r.unowned_lsocks++;
	r.have_owners = snap[1].have_owners;
	r.privileged = geteuid() == 0;
	r.snap = &snap[1];
	r.findings = &fl;

	if (a.json)
		diagnose_format_json(&out, &r);
	else
		diagnose_format_human(&out, &r);
	t5 = clock_mono_us();
	if (out.err) {
		fprintf(stderr, "proxyctl diagnose: %s\n", strerror(out.err));
		goto out;
	}
	if (util_write_all(STDOUT_FILENO, sb_cstr(&out), out.len) == -1) {
		fprintf(stderr, "proxyctl diagnose: stdout: %s\n", strerror(errno));
		goto out;
	}
	if (a.timing)
		fprintf(stderr, "timing: open=%.3fms snapshot1=%.3fms snapshot2=%.3fms "
			"detect+format=%.3fms sockets=%zu total=%.3fms (without interval)\n",
			(double)(t1 - t0) / 1e3, (double)(t2 - t1) / 1e3, (double)(t4 - t3) / 1e3,
			(double)(t5 - t4) / 1e3, snap[1].socks.len,
			(double)((t5 - t0) - (t3 - t2)) / 1e3);
	status = diagnose_exit_status(&fl);
out:
	sb_free(&out);
	finding_list_free(&fl);
	snapshot_free(&snap[1]);
	snapshot_free(&snap[0]);
	if (probe.open)
		snap_probe_close(&probe);
	if (nsfd != NETNS_SELF)
		close(nsfd);
	return status;
}
