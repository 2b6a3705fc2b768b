#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/util.h"

static void test_util_utf8_encode_lengths(void **state)
{
	char o[4];

	(void)state;
	assert_int_equal(util_utf8_encode(0x41, o), 1);
	assert_memory_equal(o, "A", 1);
	assert_int_equal(util_utf8_encode(0xe9, o), 2);
	assert_memory_equal(o, "\xc3\xa9", 2);
	assert_int_equal(util_utf8_encode(0x2581, o), 3);
	assert_memory_equal(o, "\xe2\x96\x81", 3);
	assert_int_equal(util_utf8_encode(0x1f600, o), 4);
	assert_memory_equal(o, "\xf0\x9f\x98\x80", 4);
}

static void test_util_grow_doubles_and_keeps(void **state)
{
	int *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(util_grow((void **)&v, &cap, 1, sizeof(*v)), 0);
	assert_int_equal(cap, 16);
	v[0] = 42;
	assert_int_equal(util_grow((void **)&v, &cap, 17, sizeof(*v)), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(v[0], 42);
	assert_int_equal(util_grow((void **)&v, &cap, 10, sizeof(*v)), 0);
	assert_int_equal(cap, 32);
	free(v);
}

/* A non-blocking pipe smaller than the payload: util_write_all must wait for
 * the reader instead of failing with EAGAIN, and deliver every byte in order. */
static void test_util_write_all_nonblocking_pipe(void **state)
{
	enum { N = 1 << 20 };
	char *out = malloc(N), *in = malloc(N);
	int fds[2];
	pid_t pid;
	size_t got = 0;
	size_t i;

	(void)state;
	assert_non_null(out);
	assert_non_null(in);
	for (i = 0; i < N; i++)
		out[i] = (char)(i * 7 + 3);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(fds[0]);
		fcntl(fds[1], F_SETFL, O_NONBLOCK);
		_exit(util_write_all(fds[1], out, N) == 0 ? 0 : 1);
	}
	close(fds[1]);
	while (got < N) {
		ssize_t r = read(fds[0], in + got, N - got);

		if (r == -1 && errno == EINTR)
			continue;
		assert_true(r > 0);
		got += (size_t)r;
	}
	close(fds[0]);
	assert_memory_equal(in, out, N);
	{
		int st;

		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	free(in);
	free(out);
}

static void test_util_sleep_ms_sleeps(void **state)
{
	uint64_t t0 = clock_mono_ms();

	(void)state;
	util_sleep_ms(30);
	assert_true(clock_mono_ms() - t0 >= 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_utf8_encode_lengths),
		cmocka_unit_test(test_util_grow_doubles_and_keeps),
		cmocka_unit_test(test_util_write_all_nonblocking_pipe),
		cmocka_unit_test(test_util_sleep_ms_sleeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
