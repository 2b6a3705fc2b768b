#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonparse.h"

static int parse(struct jp_doc *d, const char *s)
{
	char err[128];

	return jp_parse(d, s, strlen(s), err, sizeof(err));
}

static void test_jp_parse_nested(void **state)
{
	struct jp_doc d;
	char buf[64];
	int64_t v;
	double dv;
	int b, i, n = 0;

	(void)state;
	jp_init(&d);
	assert_int_equal(parse(&d, " {\"a\": [1, 2, {\"b\": \"x\\ny\"}], \"c\": {\"d\": -3.5e2},"
			     " \"e\": true, \"f\": null, \"g\": []} "), 0);
	assert_true(jp_is(&d, 0, JP_OBJ));
	assert_int_equal(d.t[0].n, 5);
	assert_int_equal(jp_int(&d, jp_path(&d, 0, "a.1"), &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(jp_str(&d, jp_path(&d, 0, "a.2.b"), buf, sizeof(buf)), 3);
	assert_string_equal(buf, "x\ny");
	assert_int_equal(jp_double(&d, jp_path(&d, 0, "c.d"), &dv), 0);
	assert_true(dv == -350.0);
	assert_int_equal(jp_int(&d, jp_path(&d, 0, "c.d"), &v), 0);
	assert_int_equal(v, -350);
	assert_int_equal(jp_bool(&d, jp_get(&d, 0, "e"), &b), 0);
	assert_int_equal(b, 1);
	assert_true(jp_is(&d, jp_get(&d, 0, "f"), JP_NULL));
	assert_int_equal(jp_first(&d, jp_get(&d, 0, "g")), -1);
	assert_int_equal(jp_get(&d, 0, "zz"), -1);
	assert_int_equal(jp_path(&d, 0, "a.3"), -1);
	/* siblings skip whole subtrees */
	for (i = jp_first(&d, 0); i != -1; i = jp_sibling(&d, 0, i))
		n++;
	assert_int_equal(n, 5);
	n = 0;
	for (i = jp_first(&d, jp_get(&d, 0, "a")); i != -1; i = jp_sibling(&d, jp_get(&d, 0, "a"), i))
		n++;
	assert_int_equal(n, 3);
	jp_free(&d);
}

static void test_jp_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]",
		"01", "1.", "-", "1e", "\"abc", "\"a\\x\"", "\"\\u12G4\"", "tru", "nul",
		"{} {}", "[1]]", "\"a\x01\"", "\"\xff\"", "\"\xc3\"", "{\"a\":}", "[,1]",
		"NaN", "[-]",
	};
	struct jp_doc d;
	char err[128];
	size_t i;

	(void)state;
	jp_init(&d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (jp_parse(&d, bad[i], strlen(bad[i]), err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
	jp_free(&d);
}

static void test_jp_parse_depth(void **state)
{
	char s[2 * (JP_MAX_DEPTH + 1) + 1];
	struct jp_doc d;
	int i;

	(void)state;
	jp_init(&d);
	for (i = 0; i < JP_MAX_DEPTH; i++) {
		s[i] = '[';
		s[2 * JP_MAX_DEPTH - 1 - i] = ']';
	}
	s[2 * JP_MAX_DEPTH] = '\0';
	assert_int_equal(parse(&d, s), 0);
	memmove(s + 1, s, strlen(s) + 1);
	s[0] = '[';
	strcat(s, "]");
	assert_int_equal(parse(&d, s), -1);
	jp_free(&d);
}

static void test_jp_str_unicode(void **state)
{
	struct jp_doc d;
	char buf[16], small[4];

	(void)state;
	jp_init(&d);
	assert_int_equal(parse(&d, "\"\\u00e9\\ud83d\\ude00\\/\""), 0);
	assert_int_equal(jp_str(&d, 0, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "\xc3\xa9\xf0\x9f\x98\x80/");
	/* truncation stops at a character boundary */
	assert_int_equal(jp_str(&d, 0, small, sizeof(small)), 7);
	assert_string_equal(small, "\xc3\xa9");
	assert_int_equal(parse(&d, "\"h\xc3\xa9\""), 0);
	assert_int_equal(jp_str(&d, 0, buf, sizeof(buf)), 3);
	jp_free(&d);
}

static void test_jp_int_range(void **state)
{
	struct jp_doc d;
	int64_t v = 7;

	(void)state;
	jp_init(&d);
	assert_int_equal(parse(&d, "[9223372036854775807, 99999999999999999999, 1.5, \"1\", 1e3]"), 0);
	assert_int_equal(jp_int(&d, jp_index(&d, 0, 0), &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(jp_int(&d, jp_index(&d, 0, 1), &v), -1);
	assert_int_equal(jp_int(&d, jp_index(&d, 0, 2), &v), -1);
	assert_int_equal(jp_int(&d, jp_index(&d, 0, 3), &v), -1);
	assert_int_equal(jp_int(&d, jp_index(&d, 0, 4), &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(jp_get_int(&d, 0, "x", 42), 42);
	jp_free(&d);
}

static void test_jp_reuse(void **state)
{
	struct jp_doc d;
	char big[4096];
	size_t i, o = 0;
	size_t cap;

	(void)state;
	jp_init(&d);
	big[o++] = '[';
	for (i = 0; i < 500; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%s%zu", i ? "," : "", i);
	big[o++] = ']';
	big[o] = '\0';
	assert_int_equal(parse(&d, big), 0);
	assert_int_equal(d.ntok, 501);
	cap = d.cap;
	assert_int_equal(parse(&d, "[1,2]"), 0);
	assert_int_equal(d.ntok, 3);
	assert_int_equal(d.cap, cap);
	jp_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jp_parse_nested),
		cmocka_unit_test(test_jp_parse_malformed),
		cmocka_unit_test(test_jp_parse_depth),
		cmocka_unit_test(test_jp_str_unicode),
		cmocka_unit_test(test_jp_int_range),
		cmocka_unit_test(test_jp_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
