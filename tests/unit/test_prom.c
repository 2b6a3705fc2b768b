#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/prom.h"
#include "common/sbuf.h"

static void test_escape(void **state)
{
	struct sbuf b;
	struct prom p;
	char err[200];

	(void)state;
	sb_init(&b);
	prom_escape_label(&b, "a\\b\"c\nd");
	assert_string_equal(sb_cstr(&b), "a\\\\b\\\"c\\nd");
	sb_reset(&b);
	prom_init(&p, &b);
	assert_int_equal(prom_family(&p, "x_bytes", PROM_GAUGE, "Help with \\ and\nnewline."), 0);
	prom_u64(&p, (const char *[]){ "proxy", "we\"ird\\na\nme", NULL }, 7);
	assert_int_equal(prom_end(&p, err, sizeof(err)), 0);
	assert_string_equal(sb_cstr(&b),
			    "# HELP x_bytes Help with \\\\ and\\nnewline.\n"
			    "# TYPE x_bytes gauge\n"
			    "x_bytes{proxy=\"we\\\"ird\\\\na\\nme\"} 7\n");
	assert_int_equal(prom_check(b.p, b.len, NULL, NULL, err, sizeof(err)), 0);
	sb_free(&b);
}

static void test_help_type_and_names(void **state)
{
	struct sbuf b;
	struct prom p;
	char err[200];

	(void)state;
	sb_init(&b);
	prom_init(&p, &b);
	assert_int_equal(prom_family(&p, "px_sessions", PROM_COUNTER, "Sessions."), 0);
	prom_u64(&p, NULL, 1);
	assert_int_equal(prom_family(&p, "px_up", PROM_GAUGE, "Up."), 0);
	prom_dbl(&p, (const char *[]){ "a", "1", "b", "2", NULL }, 0.5);
	assert_int_equal(prom_end(&p, err, sizeof(err)), 0);
	assert_string_equal(sb_cstr(&b),
			    "# HELP px_sessions_total Sessions.\n"
			    "# TYPE px_sessions_total counter\n"
			    "px_sessions_total 1\n"
			    "# HELP px_up Up.\n"
			    "# TYPE px_up gauge\n"
			    "px_up{a=\"1\",b=\"2\"} 0.5\n");

	/* Invalid names, non-base units, repeated families, bad labels. */
	prom_init(&p, &b);
	assert_int_equal(prom_family(&p, "9bad", PROM_GAUGE, ""), -1);
	assert_int_equal(prom_end(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid metric name"));
	prom_init(&p, &b);
	assert_int_equal(prom_family(&p, "q_time_ms", PROM_GAUGE, ""), -1);
	assert_int_equal(prom_end(&p, err, sizeof(err)), -1);
	prom_init(&p, &b);
	assert_int_equal(prom_family(&p, "busy_milliseconds_total", PROM_COUNTER, ""), -1);
	assert_int_equal(prom_end(&p, err, sizeof(err)), -1);
	prom_init(&p, &b);
	assert_int_equal(prom_family(&p, "a", PROM_GAUGE, ""), 0);
	assert_int_equal(prom_family(&p, "b", PROM_GAUGE, ""), 0);
	assert_int_equal(prom_family(&p, "a", PROM_GAUGE, ""), -1);
	assert_int_equal(prom_end(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	prom_init(&p, &b);
	assert_int_equal(prom_family(&p, "a", PROM_GAUGE, ""), 0);
	sb_reset(&b);
	prom_u64(&p, (const char *[]){ "__x", "1", NULL }, 1);
	prom_u64(&p, (const char *[]){ "x", "1", "x", "2", NULL }, 1);
	assert_int_equal(b.len, 0);
	assert_int_equal(prom_end(&p, err, sizeof(err)), -1);
	assert_true(prom_name_valid("a:b_c9"));
	assert_false(prom_name_valid("a-b"));
	assert_false(prom_label_name_valid("a:b"));
	sb_free(&b);
}

static int check(const char *text)
{
	char err[200];
	int rc = prom_check(text, strlen(text), NULL, NULL, err, sizeof(err));

	if (rc)
		print_message("  rejected: %s\n", err);
	return rc;
}

static void test_checker(void **state)
{
	(void)state;
	assert_int_equal(check("# HELP a_total x\n# TYPE a_total counter\na_total 1\n"
			       "a_total{x=\"1\",} 2 1700000000000\n# other comment\n\n"
			       "b NaN\nc +Inf\nd -1.5e3\n"), 0);
	/* Each of these breaks one rule. */
	assert_int_equal(check("a 1"), -1);                                 /* no final newline */
	assert_int_equal(check("a 1\nb 1\na 2\n"), -1);                     /* not grouped */
	assert_int_equal(check("a 1\n# TYPE a gauge\n"), -1);               /* TYPE after samples */
	assert_int_equal(check("# TYPE a gauge\n# TYPE a gauge\n"), -1);    /* second TYPE */
	assert_int_equal(check("# HELP a x\n# HELP a y\n"), -1);            /* second HELP */
	assert_int_equal(check("# TYPE a counter\na 1\n"), -1);             /* counter without _total */
	assert_int_equal(check("# TYPE a histo\n"), -1);                    /* unknown type */
	assert_int_equal(check("a{x=\"1\"} 1\na{x=\"1\"} 2\n"), -1);        /* duplicate series */
	assert_int_equal(check("a{x=\"1\",x=\"2\"} 1\n"), -1);              /* duplicate label */
	assert_int_equal(check("a{x=\"\\t\"} 1\n"), -1);                    /* bad escape */
	assert_int_equal(check("a{x=\"1} 1\n"), -1);                        /* unterminated */
	assert_int_equal(check("a{__x=\"1\"} 1\n"), -1);                    /* reserved label */
	assert_int_equal(check("a 1x\n"), -1);                              /* bad value */
	assert_int_equal(check("a inf\n"), -1);                             /* not the format's Inf */
	assert_int_equal(check("a 1 2 3\n"), -1);                           /* junk after timestamp */
	assert_int_equal(check("-a 1\n"), -1);                              /* bad name */
	assert_int_equal(check("a\n"), -1);                                 /* no value */
}

/* A source that changes between scrapes, as proxyd's counters do. */
struct source {
	uint64_t bytes[3];
	unsigned cur[3];
};

static void scrape(const struct source *src, struct sbuf *out)
{
	static const char *const names[3] = { "s1", "s\"2", "s\n3" };
	struct prom p;
	char err[200];
	int i;

	sb_reset(out);
	prom_init(&p, out);
	prom_family(&p, "t_server_bytes_in", PROM_COUNTER, "Bytes.");
	for (i = 0; i < 3; i++)
		prom_u64(&p, (const char *[]){ "proxy", "be", "server", names[i], NULL }, src->bytes[i]);
	prom_family(&p, "t_server_current_sessions", PROM_GAUGE, "Sessions.");
	for (i = 0; i < 3; i++)
		prom_u64(&p, (const char *[]){ "proxy", "be", "server", names[i], NULL }, src->cur[i]);
	assert_int_equal(prom_end(&p, err, sizeof(err)), 0);
}

struct series {
	char key[160];
	double v;
	enum prom_type type;
};

struct collected {
	struct series s[16];
	unsigned n;
};

static void collect(const char *name, const char *labels, double v, enum prom_type type, void *arg)
{
	struct collected *c = arg;

	assert_true(c->n < 16);
	snprintf(c->s[c->n].key, sizeof(c->s[0].key), "%s{%s}", name, labels);
	c->s[c->n].v = v;
	c->s[c->n].type = type;
	c->n++;
}

static void test_monotonic(void **state)
{
	struct source src = { .bytes = { 10, 20, 30 }, .cur = { 5, 6, 7 } };
	struct collected a = { .n = 0 }, b = { .n = 0 };
	struct sbuf out;
	char err[200];
	unsigned i, j, counters = 0, gauges_down = 0;

	(void)state;
	sb_init(&out);
	scrape(&src, &out);
	assert_int_equal(prom_check(out.p, out.len, collect, &a, err, sizeof(err)), 0);
	/* Traffic moves bytes forward; sessions end, so gauges may fall. */
	for (i = 0; i < 3; i++) {
		src.bytes[i] += 100 * (i + 1);
		src.cur[i] -= 2;
	}
	scrape(&src, &out);
	assert_int_equal(prom_check(out.p, out.len, collect, &b, err, sizeof(err)), 0);
	assert_int_equal(a.n, 6);
	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		for (j = 0; j < b.n && strcmp(a.s[i].key, b.s[j].key); j++)
			;
		assert_true(j < b.n);
		if (a.s[i].type == PROM_COUNTER) {
			assert_true(b.s[j].v > a.s[i].v);
			counters++;
		} else if (b.s[j].v < a.s[i].v) {
			gauges_down++;
		}
	}
	assert_int_equal(counters, 3);
	assert_int_equal(gauges_down, 3);
	sb_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_help_type_and_names),
		cmocka_unit_test(test_checker),
		cmocka_unit_test(test_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
