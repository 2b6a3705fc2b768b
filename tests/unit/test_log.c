#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"

struct sink_seen {
	int calls;
	enum log_level lvl;
	char line[256];
};

static void sink_record(enum log_level lvl, const char *line, size_t len, void *arg)
{
	struct sink_seen *s = arg;

	s->calls++;
	s->lvl = lvl;
	if (len >= sizeof(s->line))
		len = sizeof(s->line) - 1;
	memcpy(s->line, line, len);
	s->line[len] = '\0';
}

static void test_log_set_sink_receives_lines(void **state)
{
	struct sink_seen s = { 0 };

	(void)state;
	log_init("test_log", 0, LOG_LVL_INFO);
	log_set_sink(sink_record, &s);
	log_info("event=start port=%d", 80);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.lvl, LOG_LVL_INFO);
	assert_string_equal(s.line, "event=start port=80");

	/* Below the level: not emitted at all. */
	log_debug("event=noise");
	assert_int_equal(s.calls, 1);

	/* log_warn appends the errno text as err="...". */
	errno = ENOENT;
	log_warn("event=open path=/x");
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.lvl, LOG_LVL_WARN);
	assert_non_null(strstr(s.line, "event=open path=/x err=\""));
	assert_non_null(strstr(s.line, strerror(ENOENT)));

	log_set_sink(NULL, NULL);
	log_info("event=after");
	assert_int_equal(s.calls, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_set_sink_receives_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
