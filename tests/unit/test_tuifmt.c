#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tui/fmt.h"

static void test_fmt_human_values(void **state)
{
	char b[16];

	(void)state;
	fmt_human(0, b, sizeof(b)); assert_string_equal(b, "0");
	fmt_human(999, b, sizeof(b)); assert_string_equal(b, "999");
	fmt_human(1000, b, sizeof(b)); assert_string_equal(b, "1.0k");
	fmt_human(1234, b, sizeof(b)); assert_string_equal(b, "1.2k");
	fmt_human(12345, b, sizeof(b)); assert_string_equal(b, "12k");
	fmt_human(999999, b, sizeof(b)); assert_string_equal(b, "1.0M");
	fmt_human(100000, b, sizeof(b)); assert_string_equal(b, "100k");
	fmt_human(3400000000LL, b, sizeof(b)); assert_string_equal(b, "3.4G");
	fmt_human(-1500, b, sizeof(b)); assert_string_equal(b, "-1.5k");
}

static void test_fmt_duration_values(void **state)
{
	char b[16];

	(void)state;
	fmt_duration(-5, b, sizeof(b)); assert_string_equal(b, "-");
	fmt_duration(850, b, sizeof(b)); assert_string_equal(b, "850ms");
	fmt_duration(12000, b, sizeof(b)); assert_string_equal(b, "12s");
	fmt_duration(312000, b, sizeof(b)); assert_string_equal(b, "5m12s");
	fmt_duration(3 * 3600000 + 4 * 60000, b, sizeof(b)); assert_string_equal(b, "3h04m");
	fmt_duration(2 * 86400000LL + 3 * 3600000, b, sizeof(b)); assert_string_equal(b, "2d03h");
}

static void test_fmt_trunc_marks_cut(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(fmt_trunc("abcdef", 10, b, sizeof(b)), 6);
	assert_string_equal(b, "abcdef");
	assert_int_equal(fmt_trunc("abcdef", 6, b, sizeof(b)), 6);
	assert_string_equal(b, "abcdef");
	assert_int_equal(fmt_trunc("abcdef", 4, b, sizeof(b)), 4);
	assert_string_equal(b, "abc~");
	assert_int_equal(fmt_trunc("abcdef", 0, b, sizeof(b)), 0);
	assert_string_equal(b, "");
	/* UTF-8 counts characters, never cuts one */
	assert_int_equal(fmt_trunc("\xe2\x96\x81\xe2\x96\x82\xe2\x96\x83", 2, b, sizeof(b)), 2);
	assert_string_equal(b, "\xe2\x96\x81~");
	assert_int_equal(fmt_width("h\xc3\xa9llo"), 5);
	/* sparklines keep their newest end */
	assert_int_equal(fmt_tail("  _+@", 3, b, sizeof(b)), 3);
	assert_string_equal(b, "_+@");
	assert_int_equal(fmt_tail("\xe2\x96\x81\xe2\x96\x82\xe2\x96\x83", 1, b, sizeof(b)), 1);
	assert_string_equal(b, "\xe2\x96\x83");
	/* a small output buffer is never overrun */
	fmt_trunc("abcdefgh", 8, b, 4);
	assert_string_equal(b, "abc");
}

static void test_fmt_widths_distribute(void **state)
{
	static const struct fmt_col cols[] = {
		{ "A", 4, 10, 0, 0 }, { "B", 6, 6, 1, 0 }, { "C", 5, 20, 0, 0 },
	};
	unsigned w[3];

	(void)state;
	/* mins 4+6+5 + 2 gaps = 17; extra 13 goes first to A (+6) then C (+7) */
	assert_int_equal(fmt_widths(cols, 3, 30, w), 3);
	assert_int_equal(w[0], 10);
	assert_int_equal(w[1], 6);
	assert_int_equal(w[2], 12);
	/* plenty of room: everyone at max */
	assert_int_equal(fmt_widths(cols, 3, 200, w), 3);
	assert_int_equal(w[2], 20);
	/* too narrow for C: hidden */
	assert_int_equal(fmt_widths(cols, 3, 15, w), 2);
	assert_int_equal(w[2], 0);
	assert_int_equal(w[0] + 1 + w[1] <= 15, 1);
	assert_int_equal(fmt_widths(cols, 3, 3, w), 0);
}

static void test_fmt_spark_scale_levels(void **state)
{
	const float v[] = { 0, 1, 50, 100, 200 };
	uint8_t l[5];

	(void)state;
	fmt_spark_scale(v, 5, 0, 8, l);
	assert_int_equal(l[0], 0);
	assert_int_equal(l[1], 1);  /* small but not zero */
	assert_int_equal(l[2], 2);  /* 50/200*7 = 1.75 -> 2 */
	assert_int_equal(l[3], 4);  /* 3.5 -> 4 */
	assert_int_equal(l[4], 7);
	/* vmax above the data keeps low values low */
	fmt_spark_scale(v, 5, 1000, 8, l);
	assert_int_equal(l[4], 1);
	/* all zero */
	fmt_spark_scale((const float[]){ 0, 0 }, 2, 0, 8, l);
	assert_int_equal(l[0], 0);
	assert_int_equal(l[1], 0);
}

static void test_fmt_spark_text(void **state)
{
	const float v[] = { 0, 4, 8 };
	char b[64];

	(void)state;
	fmt_spark(v, 3, 0, 5, 1, b, sizeof(b));
	assert_string_equal(b, "  _+@");
	fmt_spark(v, 3, 0, 2, 1, b, sizeof(b));
	assert_string_equal(b, "+@");
	fmt_spark(v, 3, 0, 3, 0, b, sizeof(b));
	assert_string_equal(b, "\xe2\x96\x81\xe2\x96\x85\xe2\x96\x88");
	fmt_spark(v, 0, 0, 3, 0, b, sizeof(b));
	assert_string_equal(b, "   ");
}

static void test_fmt_match_words(void **state)
{
	(void)state;
	assert_true(fmt_match("127.0.0.1:8080 1234", ""));
	assert_true(fmt_match("127.0.0.1:8080 1234", "8080"));
	assert_true(fmt_match("Half_Close_Buildup pid:12", "half pid:12"));
	assert_false(fmt_match("127.0.0.1:8080 1234", "8081"));
	assert_false(fmt_match("abc", "abc x"));
	assert_int_equal(fmt_cmp_i64(1, 2), -1);
	assert_int_equal(fmt_cmp_i64(2, 2), 0);
	assert_int_equal(fmt_cmp_dbl(3.5, 2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_human_values),
		cmocka_unit_test(test_fmt_duration_values),
		cmocka_unit_test(test_fmt_trunc_marks_cut),
		cmocka_unit_test(test_fmt_widths_distribute),
		cmocka_unit_test(test_fmt_spark_scale_levels),
		cmocka_unit_test(test_fmt_spark_text),
		cmocka_unit_test(test_fmt_match_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
