#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/sbuf.h"
#include "proxyd/plog-json.h"

/* 2026-11-21T06:30:00.123Z */
#define TS 1795242600123ull

static void test_record_tcp(void **state)
{
	struct plog_rec r = {
		.ts_ms = TS, .pid = 42, .client_ip = "127.0.0.1", .client_port = 41234,
		.frontend = "fe", .backend = "be", .server = NULL, .queue_ms = -1,
		.connect_ms = -1, .total_ms = 5007, .bytes_read = 212,
		.termination_state = "SC", .actconn = 3, .feconn = 2, .beconn = 2,
		.srv_conn = 1, .retries = 3, .redispatched = 1, .srv_queue = 0,
		.backend_queue = 4,
	};
	struct sbuf b;

	(void)state;
	sb_init(&b);
	plog_json_record(&b, &r);
	assert_string_equal(sb_cstr(&b),
			    "{\"ts\":\"2026-11-21T06:30:00.123Z\",\"type\":\"tcp\",\"pid\":42,"
			    "\"client_ip\":\"127.0.0.1\",\"client_port\":41234,\"frontend\":\"fe\","
			    "\"backend\":\"be\",\"server\":null,\"queue_ms\":-1,\"connect_ms\":-1,"
			    "\"total_ms\":5007,\"bytes_read\":212,\"termination_state\":\"SC\","
			    "\"actconn\":3,\"feconn\":2,\"beconn\":2,\"srv_conn\":1,\"retries\":3,"
			    "\"redispatched\":true,\"srv_queue\":0,\"backend_queue\":4}");
	sb_free(&b);
}

static void test_record_http_escaping(void **state)
{
	struct plog_rec r = {
		.http = 1, .ts_ms = TS, .pid = 1, .client_ip = "::1", .client_port = 1,
		.frontend = "f\"e", .backend = "b\\e", .server = "s\n1", .request_ms = 0,
		.queue_ms = 0, .connect_ms = 1, .response_ms = 2, .total_ms = 3,
		.status = -1, .termination_state = "----", .request = "GET /\"x\" HTTP/1.1",
	};
	struct sbuf b;

	(void)state;
	sb_init(&b);
	plog_json_record(&b, &r);
	assert_non_null(strstr(sb_cstr(&b), "\"frontend\":\"f\\\"e\",\"backend\":\"b\\\\e\","
					    "\"server\":\"s\\n1\",\"request_ms\":0"));
	assert_non_null(strstr(sb_cstr(&b), "\"response_ms\":2,\"total_ms\":3,\"status\":null"));
	assert_non_null(strstr(sb_cstr(&b), "\"request\":\"GET /\\\"x\\\" HTTP/1.1\"}"));
	assert_non_null(strstr(sb_cstr(&b), "\"type\":\"http\""));
	sb_free(&b);
}

static void test_event(void **state)
{
	struct sbuf b;

	(void)state;
	sb_init(&b);
	plog_json_event(&b, TS, 7, 5,
			"event=server_down server=be/s1 reason=\"Layer4 \\\"refused\\\"\" "
			"sessions=3 pid=7 ts=x");
	assert_string_equal(sb_cstr(&b),
			    "{\"ts\":\"2026-11-21T06:30:00.123Z\",\"type\":\"event\","
			    "\"severity\":\"notice\",\"pid\":7,\"event\":\"server_down\","
			    "\"server\":\"be/s1\",\"reason\":\"Layer4 \\\"refused\\\"\","
			    "\"sessions\":3,\"event_ts\":\"x\"}");
	sb_reset(&b);
	/* Free text ends the pairs; a quoted number stays a string. */
	plog_json_event(&b, TS, 7, 4, "event=x n=\"12\" then some words");
	assert_string_equal(sb_cstr(&b),
			    "{\"ts\":\"2026-11-21T06:30:00.123Z\",\"type\":\"event\","
			    "\"severity\":\"warning\",\"pid\":7,\"event\":\"x\",\"n\":\"12\","
			    "\"msg\":\"then some words\"}");
	sb_reset(&b);
	plog_json_event(&b, TS, 7, 3, "bad=\"unterminated");
	assert_non_null(strstr(sb_cstr(&b), "\"msg\":\"bad=\\\"unterminated\"}"));
	sb_free(&b);
	assert_string_equal(plog_severity_name(0), "emerg");
	assert_string_equal(plog_severity_name(7), "debug");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_tcp),
		cmocka_unit_test(test_record_http_escaping),
		cmocka_unit_test(test_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
