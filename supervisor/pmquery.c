/* proxyctl incidents | incident | samples (pmquery.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/sbuf.h"
#include "supervisor/pmquery.h"
#include "supervisor/store.h"

#define PMQ_MAX_KINDS 16

int pmq_parse_when(const char *s, int64_t now_ms, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 }, { "w", 7 * 86400000LL },
	};
	struct tm tm;
	const char *e;
	char *end;
	int64_t v;
	size_t i, n = strspn(s, "0123456789");

	if (n == 0)
		return -1;
	if (s[n] == '-') {
		/* ISO 8601, UTC. */
		memset(&tm, 0, sizeof(tm));
		e = strptime(s, "%Y-%m-%d", &tm);
		if (!e)
			return -1;
		if (*e == 'T' || *e == ' ') {
			const char *f = strptime(e + 1, "%H:%M:%S", &tm);

			if (!f)
				f = strptime(e + 1, "%H:%M", &tm);
			if (!f)
				return -1;
			e = f;
		}
		if (*e == 'Z')
			e++;
		if (*e)
			return -1;
		*out = (int64_t)timegm(&tm) * 1000;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v < 0)
		return -1;
	if (!*end) {
		/* Bare digits: epoch ms. */
		*out = v;
		return 0;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			*out = now_ms - v * units[i].ms;
			return 0;
		}
	return -1;
}

static void pmq_iso(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0)
		snprintf(buf, len, "-");
	else
		clock_fmt_iso((uint64_t)ms, buf, (unsigned)len);
}

static void pmq_dur(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (s >= 86400)
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 ".%01" PRId64 "s", s, ms % 1000 / 100);
}

static void pmq_csv_str(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static struct store *pmq_open(const char *db)
{
	char err[256];
	struct store *st = store_open(db, STORE_RDONLY, NULL, err, sizeof(err));

	if (!st)
		fprintf(stderr, "proxyctl: %s\n", err);
	return st;
}

enum pmq_fmt { PMQ_TEXT, PMQ_JSON, PMQ_CSV };

/* ---- incidents ---- */

static int pmq_inc_text(const struct store_incident *i, void *arg)
{
	char opened[40], dur[32];
	int64_t end = i->resolved_ms ? i->resolved_ms : i->updated_ms;

	(void)arg;
	pmq_iso(i->opened_ms, opened, sizeof(opened));
	pmq_dur(end > i->opened_ms ? end - i->opened_ms : 0, dur, sizeof(dur));
	printf("%-6" PRId64 " %-24s %-8s %-28s %-24s %-8s %-8s %10g  %s\n", i->id, i->kind,
	       i->severity, i->subject, opened, dur, i->resolved_ms ? "resolved" : "open",
	       i->peak, i->summary ? i->summary : "");
	return 0;
}

static int pmq_inc_csv(const struct store_incident *i, void *arg)
{
	(void)arg;
	printf("%" PRId64 ",", i->id);
	pmq_csv_str(stdout, i->kind);
	putchar(',');
	pmq_csv_str(stdout, i->severity);
	putchar(',');
	pmq_csv_str(stdout, i->subject);
	printf(",%" PRId64 ",%" PRId64 ",", i->opened_ms, i->updated_ms);
	if (i->resolved_ms)
		printf("%" PRId64, i->resolved_ms);
	printf(",%.17g,%.17g,%" PRId64 ",%" PRId64 ",%d,%" PRId64 ",", i->peak, i->last_value,
	       i->generation, i->pid, i->port, i->ticks);
	pmq_csv_str(stdout, i->summary);
	putchar('\n');
	return 0;
}

static void pmq_incidents_usage(FILE *f)
{
	fprintf(f, "usage: proxyctl incidents [--db DBFILE] [--since DUR|TIME] [--until DUR|TIME]\n"
		   "                          [--kind KIND]... [--open] [--json|--csv]\n"
		   "  incidents open at any time in [since, until), oldest first\n");
}

int pmq_incidents_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "kind", required_argument, NULL, 'k' },
		{ "open", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kinds[PMQ_MAX_KINDS];
	struct store_incident_filter flt;
	const char *db = PMQ_DB_DEFAULT;
	enum pmq_fmt fmt = PMQ_TEXT;
	int64_t now = (int64_t)clock_real_ms();
	struct store *st;
	int c, rc = 2, n;

	memset(&flt, 0, sizeof(flt));
	flt.active = 1;
	flt.kinds = kinds;
	optind = 0; /* a full reinit: the global parse stopped at the command */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 's':
		case 'u':
			if (pmq_parse_when(optarg, now, c == 's' ? &flt.since_ms : &flt.until_ms) == -1) {
				fprintf(stderr, "proxyctl incidents: bad time '%s'\n", optarg);
				return 2;
			}
			break;
		case 'k':
			if (flt.nkinds == PMQ_MAX_KINDS) {
				fprintf(stderr, "proxyctl incidents: at most %d --kind\n", PMQ_MAX_KINDS);
				return 2;
			}
			kinds[flt.nkinds++] = optarg;
			break;
		case 'o': flt.open_only = 1; break;
		case 'j': fmt = PMQ_JSON; break;
		case 'c': fmt = PMQ_CSV; break;
		case 'h': pmq_incidents_usage(stdout); return 0;
		default:
			fprintf(stderr, "proxyctl incidents: unknown option '%s'\n", argv[optind - 1]);
			pmq_incidents_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		pmq_incidents_usage(stderr);
		return 2;
	}
	st = pmq_open(db);
	if (!st)
		return 2;
	if (fmt == PMQ_JSON) {
		struct sbuf out;

		sb_init(&out);
		n = store_incidents_json(st, &flt, &out);
		if (n >= 0 && !out.err)
			printf("%s\n", sb_cstr(&out));
		sb_free(&out);
	} else if (fmt == PMQ_CSV) {
		printf("id,kind,severity,subject,opened_ms,updated_ms,resolved_ms,peak,last_value,"
		       "generation,pid,port,ticks,summary\n");
		n = store_incidents_query(st, &flt, pmq_inc_csv, NULL);
	} else {
		printf("%-6s %-24s %-8s %-28s %-24s %-8s %-8s %10s  %s\n", "ID", "KIND", "SEVERITY",
		       "SUBJECT", "OPENED", "LASTED", "STATE", "PEAK", "SUMMARY");
		n = store_incidents_query(st, &flt, pmq_inc_text, NULL);
	}
	if (n == -1) {
		struct store_status ss;

		store_status(st, &ss);
		fprintf(stderr, "proxyctl incidents: query failed: %s\n",
			ss.last_error[0] ? ss.last_error : strerror(errno));
	} else {
		rc = 0;
	}
	store_close(st);
	return rc;
}

/* ---- incident ID ---- */

static int pmq_one_text(const struct store_incident *i, void *arg)
{
	char a[40], b[40], c[40];

	(void)arg;
	pmq_iso(i->opened_ms, a, sizeof(a));
	pmq_iso(i->updated_ms, b, sizeof(b));
	pmq_iso(i->resolved_ms, c, sizeof(c));
	printf("incident %" PRId64 ": %s (%s) %s\n", i->id, i->kind, i->severity, i->subject);
	printf("  %s\n", i->summary ? i->summary : "");
	printf("  opened %s, last seen %s, %s%s\n", a, b, i->resolved_ms ? "resolved " : "open",
	       i->resolved_ms ? c : "");
	printf("  peak %g, last %g, %" PRId64 " ticks", i->peak, i->last_value, i->ticks);
	if (i->generation)
		printf(", generation %" PRId64, i->generation);
	if (i->pid)
		printf(", pid %" PRId64, i->pid);
	if (i->port)
		printf(", port %d", i->port);
	printf("\n  evidence: %s\n", i->evidence ? i->evidence : "{}");
	return 0;
}

static int pmq_act_text(const struct store_action *a, void *arg)
{
	char t[40];

	(void)arg;
	pmq_iso(a->t_ms, t, sizeof(t));
	printf("  %s %s %s%s -> %s%s%s\n", t, a->action, a->target, a->dry_run ? " (dry run)" : "",
	       a->result, a->error ? ": " : "", a->error ? a->error : "");
	return 0;
}

static int pmq_sample_text(const struct store_sample *s, void *arg)
{
	char t[40];

	(void)arg;
	pmq_iso(s->t_ms, t, sizeof(t));
	printf("  %s %-28s %-16s %g", t, s->subject, s->metric, s->value);
	if (s->n > 1)
		printf(" (min %g, max %g over %" PRId64 ")", s->vmin, s->vmax, s->n);
	putchar('\n');
	return 0;
}

int pmq_incident_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = PMQ_DB_DEFAULT;
	struct store *st;
	int64_t id;
	char *end;
	int c, json = 0, rc = 2, n;

	optind = 0; /* a full reinit: the global parse stopped at the command */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: proxyctl incident ID [--db DBFILE] [--json]\n");
			return 0;
		default:
			fprintf(stderr, "usage: proxyctl incident ID [--db DBFILE] [--json]\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: proxyctl incident ID [--db DBFILE] [--json]\n");
		return 2;
	}
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno || *end || id <= 0) {
		fprintf(stderr, "proxyctl incident: bad id '%s'\n", argv[optind]);
		return 2;
	}
	st = pmq_open(db);
	if (!st)
		return 2;
	if (json) {
		struct sbuf out;

		sb_init(&out);
		n = store_incident_json(st, id, 0, &out);
		if (n == 1 && !out.err)
			printf("%s\n", sb_cstr(&out));
		sb_free(&out);
	} else {
		n = store_incident_get(st, id, pmq_one_text, NULL);
		if (n == 1) {
			printf("actions:\n");
			if (store_actions_query(st, id, pmq_act_text, NULL) == 0)
				printf("  (none)\n");
			printf("samples around it:\n");
			if (store_incident_samples(st, id, 0, pmq_sample_text, NULL) == 0)
				printf("  (none)\n");
		}
	}
	if (n == 1)
		rc = 0;
	else if (n == 0) {
		fprintf(stderr, "proxyctl incident: no incident %" PRId64 "\n", id);
		rc = 1;
	} else {
		fprintf(stderr, "proxyctl incident: query failed\n");
	}
	store_close(st);
	return rc;
}

/* ---- samples ---- */

static int pmq_sample_csv(const struct store_sample *s, void *arg)
{
	(void)arg;
	printf("%" PRId64 ",", s->t_ms);
	pmq_csv_str(stdout, s->subject);
	putchar(',');
	pmq_csv_str(stdout, s->metric);
	printf(",%.17g,%.17g,%.17g,%" PRId64 ",%" PRId64 "\n", s->value, s->vmin, s->vmax, s->n,
	       s->res_ms);
	return 0;
}

int pmq_samples_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "subject", required_argument, NULL, 'S' },
		{ "metric", required_argument, NULL, 'm' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
		"usage: proxyctl samples --subject S --metric M [--since DUR|TIME] [--until DUR|TIME]\n"
		"                        [--db DBFILE]\n"
		"  CSV: t_ms,subject,metric,value,min,max,n,res_ms\n";
	struct store_sample_filter flt;
	const char *db = PMQ_DB_DEFAULT;
	int64_t now = (int64_t)clock_real_ms();
	struct store *st;
	int c, n;

	memset(&flt, 0, sizeof(flt));
	optind = 0; /* a full reinit: the global parse stopped at the command */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'S': flt.subject = optarg; break;
		case 'm': flt.metric = optarg; break;
		case 's':
		case 'u':
			if (pmq_parse_when(optarg, now, c == 's' ? &flt.since_ms : &flt.until_ms) == -1) {
				fprintf(stderr, "proxyctl samples: bad time '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc || !flt.subject || !flt.metric) {
		fputs(usage, stderr);
		return 2;
	}
	st = pmq_open(db);
	if (!st)
		return 2;
	printf("t_ms,subject,metric,value,min,max,n,res_ms\n");
	n = store_samples_query(st, &flt, pmq_sample_csv, NULL);
	store_close(st);
	if (n == -1) {
		fprintf(stderr, "proxyctl samples: query failed\n");
		return 2;
	}
	return 0;
}
