/* proxytop: the live dashboard of proxysv. The loop is fetch -> update ->
 * draw -> input, around one poll() that never waits past the next refresh;
 * sockets are non-blocking and the store is read-only. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/jsonparse.h"
#include "common/sbuf.h"
#include "common/util.h"
#include "probes/netns.h"
#include "probes/snapshot.h"
#include "supervisor/detect.h"
#include "supervisor/store.h"
#include "tui/ctl.h"
#include "tui/draw.h"
#include "tui/input.h"
#include "tui/model.h"
#include "tui/model_snap.h"
#include "tui/panel.h"
#include "tui/screen.h"

#define PT_DEFAULT_SOCK "/run/proxysv/control.sock"
#define PT_DEFAULT_DELAY 1000
#define PT_DB_EVERY_MS 5000
#define PT_DB_RECENT_MS (24 * 3600 * 1000LL)
#define PT_DB_LIMIT 50
#define PT_PREFILL_MS (2LL * TM_HIST * PT_DEFAULT_DELAY)
#define PT_REQ_TIMEOUT_MS 5000
#define PT_ONCE_TIMEOUT_MS 5000
#define PT_PROBE_DUTY 10      /* standalone: probe interval >= 10x its cost */

static const char pt_usage[] =
	"usage: proxytop [-S CTLSOCK] [--db DBFILE] [--standalone [--netns NAME|PATH]]\n"
	"                [--once [--panel P]] [-d DELAY_ms] [--ascii] [--help]\n"
	"\n"
	"  -S, --socket PATH   proxysv control socket (default " PT_DEFAULT_SOCK ")\n"
	"      --db FILE       incident store to read history from (read-only)\n"
	"      --standalone    no supervisor: run the probes every refresh\n"
	"      --netns NS      standalone: observe this network namespace\n"
	"      --once          print one frame as text and exit\n"
	"      --panel P       with --once: only this panel (name or 1-5)\n"
	"  -d, --delay MS      refresh interval (default 1000)\n"
	"      --ascii         ASCII sparklines and markers only\n"
	"  -h, --help          this help\n"
	"\n"
	"Keys: Tab/1-5 panels, / filter, < > sort, i invert, Enter details,\n"
	"r reload, d drain, k kill, x destroy, h help, q quit. See proxytop(1).\n"
	"Exit status: 0 ok, 1 no data (--once), 2 usage or setup error.\n";

struct pt_args {
	const char *sock;
	const char *db;
	const char *netns;
	int standalone;
	int once;
	int panel;         /* -1: all (with --once) */
	uint32_t delay_ms;
	int ascii;
};

/* Everything the loop owns. */
struct pt {
	struct pt_args a;
	struct tm_model model[2];
	int cur;               /* model[cur] is shown; the other is built next */
	struct jp_doc doc;
	struct pc_conn watch;
	struct pc_conn req;    /* one action at a time */
	int req_active;
	struct store *st;
	struct tm_incident *dbinc;  /* recent incidents from the store */
	size_t ndbinc, cap_dbinc;
	uint64_t next_db_ms;
	int prefilled;         /* listener history taken from the store */
	/* standalone */
	struct snap_probe probe;
	struct snap_opts so;
	struct snapshot snap[2];
	int snap_cur;
	int nsfd;
	uint64_t next_probe_ms;
	char host[64];
	int64_t boot_ms;
	char note[320];
};

static volatile sig_atomic_t pt_stop;

static void pt_on_signal(int sig)
{
	(void)sig;
	pt_stop = 1;
}

static int pt_parse_args(int argc, char **argv, struct pt_args *a)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "db", required_argument, NULL, 'D' },
		{ "standalone", no_argument, NULL, 's' },
		{ "netns", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ "panel", required_argument, NULL, 'p' },
		{ "delay", required_argument, NULL, 'd' },
		{ "ascii", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	unsigned long v;
	int c;

	memset(a, 0, sizeof(*a));
	a->sock = PT_DEFAULT_SOCK;
	a->panel = -1;
	a->delay_ms = PT_DEFAULT_DELAY;
	while ((c = getopt_long(argc, argv, "S:d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'S': a->sock = optarg; break;
		case 'D': a->db = optarg; break;
		case 's': a->standalone = 1; break;
		case 'n': a->netns = optarg; break;
		case 'o': a->once = 1; break;
		case 'p':
			a->panel = tu_panel_parse(optarg);
			if (a->panel < 0) {
				fprintf(stderr, "proxytop: --panel: unknown panel '%s'\n", optarg);
				return -1;
			}
			break;
		case 'd':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || v < 100 || v > 3600000) {
				fprintf(stderr, "proxytop: -d: want 100..3600000 ms\n");
				return -1;
			}
			a->delay_ms = (uint32_t)v;
			break;
		case 'a': a->ascii = 1; break;
		case 'h':
			fputs(pt_usage, stdout);
			exit(0);
		default:
			fputs(pt_usage, stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "proxytop: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (a->netns && !a->standalone) {
		fprintf(stderr, "proxytop: --netns needs --standalone\n");
		return -1;
	}
	if (a->panel >= 0 && !a->once) {
		fprintf(stderr, "proxytop: --panel needs --once\n");
		return -1;
	}
	return 0;
}

/* ---- store (history) ---- */

static int pt_db_incident_cb(const struct store_incident *inc, void *arg)
{
	struct pt *pt = arg;
	struct tm_incident *in;

	if (tm_grow((void **)&pt->dbinc, &pt->cap_dbinc, pt->ndbinc + 1, sizeof(*in)) == -1)
		return 1;
	in = &pt->dbinc[pt->ndbinc++];
	memset(in, 0, sizeof(*in));
	in->id = inc->id;
	snprintf(in->kind, sizeof(in->kind), "%s", inc->kind ? inc->kind : "");
	snprintf(in->severity, sizeof(in->severity), "%s", inc->severity ? inc->severity : "");
	snprintf(in->subject, sizeof(in->subject), "%s", inc->subject ? inc->subject : "");
	snprintf(in->summary, sizeof(in->summary), "%s", inc->summary ? inc->summary : "");
	snprintf(in->detail, sizeof(in->detail), "%s", inc->evidence ? inc->evidence : "");
	in->opened_ms = inc->opened_ms;
	in->updated_ms = inc->updated_ms;
	in->resolved_ms = inc->resolved_ms;
	return 0;
}

/* Re-reads the recent incidents (open and resolved in the last day). A
 * reader on a WAL database never waits for the writer. */
static void pt_db_refresh(struct pt *pt, uint64_t now_mono)
{
	struct store_incident_filter f = { 0 };
	char err[256];

	if (!pt->a.db || now_mono < pt->next_db_ms)
		return;
	pt->next_db_ms = now_mono + PT_DB_EVERY_MS;
	if (!pt->st) {
		pt->st = store_open(pt->a.db, STORE_RDONLY, NULL, err, sizeof(err));
		if (!pt->st) {
			snprintf(pt->note, sizeof(pt->note), "--db: %s", err);
			return;
		}
	}
	f.since_ms = (int64_t)clock_real_ms() - PT_DB_RECENT_MS;
	f.active = 1;
	f.limit = PT_DB_LIMIT;
	pt->ndbinc = 0;
	if (store_incidents_query(pt->st, &f, pt_db_incident_cb, pt) == -1)
		snprintf(pt->note, sizeof(pt->note), "--db: query failed: %s", strerror(errno));
}

/* Adds the store's incidents to the model: evidence for the live ones (same
 * id), the resolved ones as history. */
static void pt_db_merge(struct pt *pt, struct tm_model *m)
{
	struct tm_incident *in;
	size_t i, j;

	for (i = 0; i < pt->ndbinc; i++) {
		for (j = 0; j < m->nincidents; j++) {
			in = &m->incidents[j];
			if ((in->id && in->id == pt->dbinc[i].id) ||
			    (!in->id && strcmp(in->kind, pt->dbinc[i].kind) == 0 &&
			     strcmp(in->subject, pt->dbinc[i].subject) == 0 &&
			     !pt->dbinc[i].resolved_ms))
				break;
		}
		if (j < m->nincidents) {
			if (!m->incidents[j].detail[0])
				memcpy(m->incidents[j].detail, pt->dbinc[i].detail,
				       sizeof(m->incidents[j].detail));
			continue;
		}
		if (!pt->dbinc[i].resolved_ms && !m->standalone)
			continue; /* open in the store, no longer in the live data */
		if (tm_grow((void **)&m->incidents, &m->cap_incidents, m->nincidents + 1,
			    sizeof(*in)) == -1)
			return;
		m->incidents[m->nincidents++] = pt->dbinc[i];
	}
}

/* ---- data sources ---- */
/* History before proxytop started: the store's accept_queue samples of
 * each listener (subject "tcp:ADDR", proxyd-incidents(5)), one value per
 * sample as the live ticks give one per tick. */
struct pt_prefill {
	const struct tm_model *m;
	float *v;          /* TM_HIST - 1 per listener, a ring each */
	uint32_t *n;       /* samples seen per listener */
	int64_t until_ms;
};

static int pt_prefill_cb(const struct store_sample *smp, void *arg)
{
	struct pt_prefill *p = arg;
	const struct tm_listener *l;
	size_t i;

	if (strncmp(smp->subject, "tcp:", 4) != 0 || smp->t_ms >= p->until_ms)
		return 0;
	l = tm_listener_find(p->m, smp->subject + 4);
	if (!l)
		return 0;
	i = (size_t)(l - p->m->listeners);
	p->v[i * (TM_HIST - 1) + p->n[i] % (TM_HIST - 1)] = (float)smp->value;
	p->n[i]++;
	return 0;
}

/* Once, on the first model: what the store holds of the last minutes goes
 * before the live values. A failure only costs the history. */
static void pt_db_prefill(struct pt *pt, struct tm_model *m)
{
	struct store_sample_filter f = { 0 };
	struct pt_prefill p = { 0 };
	float tmp[TM_HIST - 1];
	char err[256];
	size_t i, k, n;

	if (!pt->a.db || pt->prefilled || !m->nlisteners)
		return;
	pt->prefilled = 1;
	if (!pt->st) {
		pt->st = store_open(pt->a.db, STORE_RDONLY, NULL, err, sizeof(err));
		if (!pt->st) {
			snprintf(pt->note, sizeof(pt->note), "--db: %s", err);
			return;
		}
	}
	p.m = m;
	p.until_ms = m->t_ms;
	p.v = calloc(m->nlisteners * (TM_HIST - 1), sizeof(*p.v));
	p.n = calloc(m->nlisteners, sizeof(*p.n));
	if (!p.v || !p.n)
		goto out;
	f.metric = "accept_queue";
	f.since_ms = m->t_ms - PT_PREFILL_MS;
	f.until_ms = m->t_ms;
	if (store_samples_query(pt->st, &f, pt_prefill_cb, &p) == -1) {
		snprintf(pt->note, sizeof(pt->note), "--db: samples query failed: %s",
			 strerror(errno));
		goto out;
	}
	for (i = 0; i < m->nlisteners; i++) {
		n = p.n[i] < TM_HIST - 1 ? p.n[i] : TM_HIST - 1;
		for (k = 0; k < n; k++)
			tmp[k] = p.v[i * (TM_HIST - 1) + (p.n[i] - n + k) % (TM_HIST - 1)];
		tm_hist_prepend(&m->listeners[i].hist, tmp, n);
	}
out:
	free(p.n);
	free(p.v);
}


static struct tm_model *pt_shown(struct pt *pt)
{
	return &pt->model[pt->cur];
}

/* The model just built (the one not shown) becomes the shown one, with the
 * store's history and incidents added. */
static void pt_model_take(struct pt *pt, uint64_t now_mono)
{
	struct tm_model *next = &pt->model[!pt->cur];

	next->rx_mono_ms = now_mono;
	pt->note[0] = '\0';
	pt_db_prefill(pt, next);
	pt_db_merge(pt, next);
	pt->cur = !pt->cur;
}

/* Takes the lines waiting on the watch connection; the last good one
 * becomes the model. Returns 1 if the model changed. */
static int pt_watch_lines(struct pt *pt, uint64_t now_mono)
{
	struct tm_model *next;
	char *line, err[200];
	size_t len;
	int changed = 0;

	while (tm_linebuf_next(&pt->watch.lb, &line, &len) == 1) {
		if (len == 0)
			continue;
		next = &pt->model[!pt->cur];
		if (tm_model_from_json(next, pt_shown(pt), &pt->doc, line, len, err,
				       sizeof(err)) == -1) {
			snprintf(pt->note, sizeof(pt->note), "bad line from proxysv: %s", err);
			continue;
		}
		pt_model_take(pt, now_mono);
		changed = 1;
	}
	return changed;
}

static int pt_standalone_open(struct pt *pt)
{
	char err[256];
	struct sysinfo si;

	pt->nsfd = NETNS_SELF;
	if (pt->a.netns) {
		pt->nsfd = netns_open(pt->a.netns, err, sizeof(err));
		if (pt->nsfd == -1) {
			fprintf(stderr, "proxytop: --netns: %s\n", err);
			return -1;
		}
	}
	pt->so.nsfd = pt->nsfd;
	pt->so.want_info = 1;
	pt->so.want_owners = 1;
	if (snap_probe_open(&pt->probe, &pt->so, err, sizeof(err)) == -1) {
		fprintf(stderr, "proxytop: %s\n", err);
		return -1;
	}
	if (gethostname(pt->host, sizeof(pt->host)) == -1)
		snprintf(pt->host, sizeof(pt->host), "?");
	pt->host[sizeof(pt->host) - 1] = '\0';
	if (sysinfo(&si) == 0)
		pt->boot_ms = (int64_t)clock_real_ms() - (int64_t)si.uptime * 1000;
	return 0;
}

/* One probe pass: snapshot, detectors on (previous, this), new model. */
static int pt_standalone_take(struct pt *pt, uint64_t now_mono)
{
	struct snapshot *cur = &pt->snap[!pt->snap_cur], *prev = &pt->snap[pt->snap_cur];
	struct finding_list fl = { 0 };
	struct detect_opts dopts = { 0 };
	struct tm_model *next;
	char err[256];
	int rc = -1;

	if (snapshot_take(&pt->probe, &pt->so, cur, err, sizeof(err)) == -1) {
		snprintf(pt->note, sizeof(pt->note), "snapshot: %s", err);
		return -1;
	}
	if (detect_run(prev->t_mono_ms ? prev : NULL, cur, &dopts, &fl) == -1) {
		snprintf(pt->note, sizeof(pt->note), "detectors: %s", strerror(errno));
		goto out;
	}
	pt->snap_cur = !pt->snap_cur;
	next = &pt->model[!pt->cur];
	if (tm_model_from_snapshot(next, pt_shown(pt), cur, &fl, pt->host, pt->boot_ms) == -1) {
		snprintf(pt->note, sizeof(pt->note), "out of memory");
		goto out;
	}
	pt_model_take(pt, now_mono);
	rc = 0;
out:
	finding_list_free(&fl);
	return rc;
}

/* ---- actions ---- */

static void pt_req_start(struct pt *pt, struct tu_state *u, uint64_t now_mono)
{
	static char line[128];

	if (pt->req_active) {
		tu_msg(u, 1, "an action is still waiting for its answer");
		return;
	}
	snprintf(line, sizeof(line), "%s\n", u->send);
	pc_init(&pt->req, pt->a.sock, line);
	pt->req.deadline_ms = now_mono + PT_REQ_TIMEOUT_MS;
	pc_kick(&pt->req, now_mono);
	if (pt->req.state == PC_IDLE) {
		tu_msg(u, 1, "%s: %s", u->send, pt->req.err);
		pc_close(&pt->req);
		return;
	}
	pt->req_active = 1;
}

/* The answer: a line starting with "ok" is success; anything else is shown. */
static void pt_req_poll(struct pt *pt, struct tu_state *u, short rev, uint64_t now_mono)
{
	char *line;
	size_t len;

	if (!pt->req_active)
		return;
	pc_service(&pt->req, rev, now_mono);
	if (tm_linebuf_next(&pt->req.lb, &line, &len) == 1) {
		if (strncmp(line, "ok", 2) == 0)
			tu_msg(u, 0, "%.*s: %s", (int)strcspn(pt->req.request, "\n"),
			       pt->req.request, line);
		else
			tu_msg(u, 1, "%.*s: %s", (int)strcspn(pt->req.request, "\n"),
			       pt->req.request, line);
	} else if (pt->req.state == PC_IDLE) {
		tu_msg(u, 1, "%.*s: %s", (int)strcspn(pt->req.request, "\n"), pt->req.request,
		       pt->req.err[0] ? pt->req.err : "no answer");
	} else if (now_mono >= pt->req.deadline_ms) {
		tu_msg(u, 1, "%.*s: no answer within %d s", (int)strcspn(pt->req.request, "\n"),
		       pt->req.request, PT_REQ_TIMEOUT_MS / 1000);
	} else {
		return;
	}
	pc_close(&pt->req);
	pt->req_active = 0;
}

/* ---- frames ---- */

static void pt_frame(struct pt *pt, struct tv_frame *f, uint64_t now_mono)
{
	struct tm_model *m = pt_shown(pt);

	memset(f, 0, sizeof(*f));
	f->m = m;
	f->now_ms = m->valid ? m->t_ms + (int64_t)(now_mono - m->rx_mono_ms) :
		    (int64_t)clock_real_ms();
	f->mono_ms = now_mono;
	f->interval_ms = pt->a.delay_ms;
	f->ascii = pt->a.ascii;
	f->source = pt->a.standalone ? "standalone" : pt->a.sock;
	f->connected = pt->a.standalone ? pt->note[0] == '\0' : pt->watch.state == PC_UP;
	f->note = pt->note[0] ? pt->note : pt->watch.err[0] ? pt->watch.err : NULL;
	if (!pt->a.standalone && pt->watch.state != PC_UP && !m->valid && !f->note)
		f->note = "connecting";
}

static int pt_once(struct pt *pt)
{
	struct tu_state u;
	struct tv_frame f;
	struct sbuf out;
	struct pollfd pfd;
	uint64_t now, deadline;
	const char *cols = getenv("COLUMNS");
	int width = cols && atoi(cols) > 0 ? atoi(cols) : 120, rc = 1;

	sb_init(&out);
	tu_init(&u, pt->a.standalone);
	now = clock_mono_ms();
	pt_db_refresh(pt, now);
	if (pt->a.standalone) {
		/* two passes, so that rates and trends have a previous value */
		if (pt_standalone_take(pt, now) == -1) {
			fprintf(stderr, "proxytop: %s\n", pt->note);
			goto out;
		}
		util_sleep_ms(pt->a.delay_ms);
		if (pt_standalone_take(pt, clock_mono_ms()) == -1) {
			fprintf(stderr, "proxytop: %s\n", pt->note);
			goto out;
		}
	} else {
		deadline = now + PT_ONCE_TIMEOUT_MS;
		pc_init(&pt->watch, pt->a.sock, "watch\n");
		pc_kick(&pt->watch, now);
		while (!pt_shown(pt)->valid && pt->watch.fd != -1 && !pt_stop) {
			now = clock_mono_ms();
			if (now >= deadline) {
				snprintf(pt->watch.err, sizeof(pt->watch.err), "no data within %d s",
					 PT_ONCE_TIMEOUT_MS / 1000);
				break;
			}
			pfd.fd = pt->watch.fd;
			pfd.events = pc_events(&pt->watch);
			pfd.revents = 0;
			if (poll(&pfd, 1, (int)(deadline - now)) == -1 && errno != EINTR)
				break;
			if (pc_service(&pt->watch, pfd.revents, clock_mono_ms()))
				pt_watch_lines(pt, clock_mono_ms());
		}
		if (!pt_shown(pt)->valid) {
			fprintf(stderr, "proxytop: %s: %s\n", pt->a.sock,
				pt->note[0] ? pt->note : pt->watch.err[0] ? pt->watch.err :
				"no data");
			goto out;
		}
	}
	pt_frame(pt, &f, clock_mono_ms());
	f.connected = 1;
	if (tv_render_text(&out, &f, &u, pt->a.panel, width) == -1 ||
	    util_write_all(STDOUT_FILENO, sb_cstr(&out), out.len) == -1) {
		fprintf(stderr, "proxytop: output: %s\n", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sb_free(&out);
	return rc;
}

static int pt_interactive(struct pt *pt)
{
	struct tu_state u;
	struct tv_grid g = { 0 };
	struct tv_rows rows = { 0 };
	struct tv_frame f;
	struct pollfd pfd[3];
	uint64_t now, next_draw = 0, wake;
	const char *nc = getenv("NO_COLOR");
	int w, h, key, fl, dirty = 1, rc = 2, timeout;
	nfds_t n;

	tu_init(&u, pt->a.standalone);
	if (!pt->a.standalone)
		pc_init(&pt->watch, pt->a.sock, "watch\n");
	if (ts_open(!(nc && nc[0])) == -1) {
		fprintf(stderr, "proxytop: cannot initialise the terminal\n");
		goto out;
	}
	ts_size(&w, &h);
	if (tv_grid_resize(&g, w, h) == -1)
		goto out_screen;
	while (!pt_stop) {
		/* fetch */
		now = clock_mono_ms();
		if (pt->a.standalone && now >= pt->next_probe_ms) {
			uint64_t took;

			pt_standalone_take(pt, now);
			/* A probe pass over a very busy host can take a large part
			 * of a second: space them so that probing stays under a
			 * tenth of a core. */
			took = clock_mono_ms() - now;
			pt->next_probe_ms = now + (took * PT_PROBE_DUTY > pt->a.delay_ms ?
						   took * PT_PROBE_DUTY : pt->a.delay_ms);
			dirty = 1;
		}
		if (!pt->a.standalone)
			pc_kick(&pt->watch, now);
		if (pt->a.db && now >= pt->next_db_ms) {
			pt_db_refresh(pt, now);
			pt_db_merge(pt, pt_shown(pt));
			dirty = 1;
		}
		if (pt->req_active)
			pt_req_poll(pt, &u, 0, now);
		/* draw: on change, and once per interval so ages move on */
		if (dirty || now >= next_draw) {
			pt_frame(pt, &f, now);
			if (tv_render(&g, &f, &u, &rows) == 0)
				ts_blit(&g);
			dirty = 0;
			next_draw = now + pt->a.delay_ms;
		}
		/* input: wait for keys, the socket or the next due event */
		n = 0;
		pfd[n].fd = STDIN_FILENO;
		pfd[n++].events = POLLIN;
		if (pt->watch.fd != -1) {
			pfd[n].fd = pt->watch.fd;
			pfd[n++].events = pc_events(&pt->watch);
		}
		if (pt->req_active && pt->req.fd != -1) {
			pfd[n].fd = pt->req.fd;
			pfd[n++].events = pc_events(&pt->req);
		}
		wake = next_draw;
		if (pt->a.standalone && pt->next_probe_ms < wake)
			wake = pt->next_probe_ms;
		if (!pt->a.standalone && pt->watch.state == PC_IDLE && pt->watch.next_try_ms < wake)
			wake = pt->watch.next_try_ms;
		if (pt->req_active && pt->req.deadline_ms < wake)
			wake = pt->req.deadline_ms;
		now = clock_mono_ms();
		timeout = wake > now ? (int)(wake - now) : 0;
		if (poll(pfd, n, timeout) == -1 && errno != EINTR)
			break;
		now = clock_mono_ms();
		for (nfds_t i = 1; i < n; i++) {
			if (pt->watch.fd != -1 && pfd[i].fd == pt->watch.fd) {
				int was_up = pt->watch.state == PC_UP;

				if (pc_service(&pt->watch, pfd[i].revents, now) &&
				    pt_watch_lines(pt, now))
					dirty = 1;
				if (was_up != (pt->watch.state == PC_UP))
					dirty = 1;
			} else if (pt->req_active && pfd[i].fd == pt->req.fd) {
				pt_req_poll(pt, &u, pfd[i].revents, now);
				dirty = 1;
			}
		}
		while ((key = ts_key()) != -1) {
			if (key == 0) {
				ts_size(&w, &h);
				if (tv_grid_resize(&g, w, h) == -1)
					goto out_screen;
				dirty = 1;
				continue;
			}
			fl = tu_key(&u, pt_shown(pt), &rows, key, h > 4 ? (size_t)(h - 4) : 1);
			if (fl & TU_QUIT) {
				rc = 0;
				goto out_screen;
			}
			if (fl & TU_SEND)
				pt_req_start(pt, &u, now);
			if (fl & TU_REDRAW) {
				/* the next key of a burst must see this one's
				 * panel, filter and order */
				struct tv_ctx x = { .m = pt_shown(pt), .now_ms = f.now_ms,
						    .ascii = pt->a.ascii };

				tv_rows_build(&rows, &x, u.panel, &u);
				dirty = 1;
			}
		}
	}
	rc = 0;
out_screen:
	ts_close();
out:
	tv_rows_free(&rows);
	tv_grid_free(&g);
	return rc;
}

int main(int argc, char **argv)
{
	struct pt *pt;
	struct sigaction sa;
	const char *cs;
	int rc = 2;

	setlocale(LC_ALL, "");
	pt = calloc(1, sizeof(*pt));
	if (!pt) {
		fprintf(stderr, "proxytop: out of memory\n");
		return 2;
	}
	if (pt_parse_args(argc, argv, &pt->a) == -1)
		goto out;
	cs = nl_langinfo(CODESET);
	if (!cs || strcmp(cs, "UTF-8") != 0)
		pt->a.ascii = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pt_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	tm_model_init(&pt->model[0]);
	tm_model_init(&pt->model[1]);
	jp_init(&pt->doc);
	pt->watch.fd = -1;
	pt->nsfd = NETNS_SELF;
	if (pt->a.standalone && pt_standalone_open(pt) == -1)
		goto out;
	rc = pt->a.once ? pt_once(pt) : pt_interactive(pt);
out:
	if (pt->req_active)
		pc_close(&pt->req);
	if (!pt->a.standalone)
		pc_close(&pt->watch);
	if (pt->st)
		store_close(pt->st);
	free(pt->dbinc);
	snapshot_free(&pt->snap[1]);
	snapshot_free(&pt->snap[0]);
	if (pt->probe.open)
		snap_probe_close(&pt->probe);
	if (pt->nsfd != NETNS_SELF)
		close(pt->nsfd);
	jp_free(&pt->doc);
	tm_model_free(&pt->model[1]);
	tm_model_free(&pt->model[0]);
	free(pt);
	return rc;
}
