/* Unit tests for common/sbuf.c and common/json.c. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/sbuf.h"

static void test_sb_putn_grows(void **state)
{
	struct sbuf b;
	size_t i;

	(void)state;
	sb_init(&b);
	assert_string_equal(sb_cstr(&b), "");
	for (i = 0; i < 1000; i++)
		sb_putc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 1000);
	assert_true(b.cap > 1000);
	assert_int_equal(b.p[1000], '\0');
	assert_int_equal(b.p[0], 'a');
	assert_int_equal(b.p[999], 'a' + 999 % 26);
	assert_int_equal(b.err, 0);
	sb_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

static void test_sb_printf_long(void **state)
{
	struct sbuf b;
	char big[600];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sb_init(&b);
	sb_printf(&b, "%d-", 42);
	/* Longer than the space left: the second vsnprintf path. */
	sb_printf(&b, "%s|%u", big, 7u);
	assert_int_equal(b.len, 3 + 599 + 2);
	assert_memory_equal(b.p, "42-xxx", 6);
	assert_string_equal(b.p + b.len - 2, "|7");
	sb_free(&b);
}

static void test_sb_reset_and_take(void **state)
{
	struct sbuf b;
	char *s;

	(void)state;
	sb_init(&b);
	sb_puts(&b, "hello");
	sb_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(sb_cstr(&b), "");
	sb_puts(&b, "world");
	s = sb_take(&b);
	assert_string_equal(s, "world");
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	free(s);
	/* An empty buffer still hands over a valid string. */
	s = sb_take(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void test_sb_sticky_error(void **state)
{
	struct sbuf b;

	(void)state;
	sb_init(&b);
	sb_puts(&b, "keep");
	b.err = 12; /* as after a failed allocation */
	sb_puts(&b, "lost");
	sb_printf(&b, "%s", "lost");
	assert_int_equal(b.len, 4);
	assert_string_equal(b.p, "keep");
	assert_int_equal(sb_reserve(&b, 1), -1);
	assert_null(sb_take(&b));
	assert_null(b.p);
}

static void test_json_nested(void **state)
{
	struct sbuf b;
	struct json j;

	(void)state;
	sb_init(&b);
	json_init(&j, &b);
	json_obj_open(&j, NULL);
	json_str(&j, "kind", "duplicate_listener");
	json_int(&j, "pid", -3);
	json_uint(&j, "ino", 18446744073709551615ull);
	json_arr_open(&j, "pids");
	json_int(&j, NULL, 12);
	json_int(&j, NULL, 13);
	json_arr_close(&j);
	json_arr_open(&j, "empty");
	json_arr_close(&j);
	json_obj_open(&j, "o");
	json_bool(&j, "t", 1);
	json_bool(&j, "f", 0);
	json_null(&j, "n");
	json_str(&j, "s", NULL);
	json_obj_close(&j);
	json_raw(&j, "raw", "{\"a\":[1]}");
	json_obj_close(&j);
	assert_string_equal(sb_cstr(&b),
		"{\"kind\":\"duplicate_listener\",\"pid\":-3,\"ino\":18446744073709551615,"
		"\"pids\":[12,13],\"empty\":[],\"o\":{\"t\":true,\"f\":false,\"n\":null,"
		"\"s\":null},\"raw\":{\"a\":[1]}}");
	sb_free(&b);
}

static void test_json_escape(void **state)
{
	struct sbuf b;
	struct json j;
	const char in[] = "a\"b\\c\nd\te\r\x01\x7f/\xc3\xa9";

	(void)state;
	sb_init(&b);
	json_init(&j, &b);
	json_arr_open(&j, NULL);
	json_str(&j, NULL, in);
	json_strn(&j, NULL, "ab\0cd", 5);
	json_arr_close(&j);
	assert_string_equal(sb_cstr(&b),
		"[\"a\\\"b\\\\c\\nd\\te\\r\\u0001\\u007f/\xc3\xa9\",\"ab\\u0000cd\"]");
	sb_free(&b);
}

static void test_json_double(void **state)
{
	struct sbuf b;
	struct json j;

	(void)state;
	sb_init(&b);
	json_init(&j, &b);
	json_obj_open(&j, NULL);
	json_double(&j, "a", 1.5);
	json_double(&j, "b", 0);
	json_double(&j, "nan", NAN);
	json_double(&j, "inf", INFINITY);
	json_obj_close(&j);
	assert_string_equal(sb_cstr(&b), "{\"a\":1.5,\"b\":0,\"nan\":null,\"inf\":null}");
	sb_free(&b);
}

static void test_json_key_escaped(void **state)
{
	struct sbuf b;
	struct json j;

	(void)state;
	sb_init(&b);
	json_init(&j, &b);
	json_obj_open(&j, NULL);
	json_int(&j, "a\"b", 1);
	json_obj_close(&j);
	assert_string_equal(sb_cstr(&b), "{\"a\\\"b\":1}");
	sb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sb_putn_grows),
		cmocka_unit_test(test_sb_printf_long),
		cmocka_unit_test(test_sb_reset_and_take),
		cmocka_unit_test(test_sb_sticky_error),
		cmocka_unit_test(test_json_nested),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_json_double),
		cmocka_unit_test(test_json_key_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
