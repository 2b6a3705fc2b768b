#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxyd/session-pool.h"

static int teardown(void **state)
{
	sess_pool_free();
	return 0;
}

/* Sessions come zeroed and aligned, the pool grows in chunks, and a
 * released session is reused before the pool grows again. */
static void test_sessions_grow_and_reuse(void **state)
{
	struct session *s[200];
	struct sess_pool_stats st;
	unsigned i;

	sess_pool_init(0);
	for (i = 0; i < 200; i++) {
		s[i] = sess_pool_get();
		assert_non_null(s[i]);
		assert_int_equal((uintptr_t)s[i] % _Alignof(max_align_t), 0);
		assert_int_equal(s[i]->state, 0);
		assert_int_equal(s[i]->req.bytes, 0);
		s[i]->id = i + 1;
		s[i]->req.bytes = 12345;
	}
	sess_pool_stats(&st);
	assert_int_equal(st.sess_used, 200);
	assert_true(st.sess_alloc >= 200 && st.sess_alloc < 200 + 64);
	for (i = 0; i < 200; i++)
		assert_int_equal(s[i]->id, i + 1);     /* no overlap */
	sess_pool_put(s[7]);
	{
		struct session *again = sess_pool_get();

		assert_ptr_equal(again, s[7]);
		assert_int_equal(again->req.bytes, 0);
		s[7] = again;
	}
	for (i = 0; i < 200; i++)
		sess_pool_put(s[i]);
	sess_pool_stats(&st);
	assert_int_equal(st.sess_used, 0);
	/* Everything comes back from the free list: no growth. */
	for (i = 0; i < 200; i++)
		s[i] = sess_pool_get();
	sess_pool_stats(&st);
	assert_true(st.sess_alloc < 200 + 64);
	for (i = 0; i < 200; i++)
		sess_pool_put(s[i]);
}

/* Buffers of the configured size (tune.bufsize), distinct and aligned,
 * at every size; the pool keeps the size it was given. */
static void buffers_of(size_t size, unsigned count)
{
	struct sess_buf *b[40];
	struct sess_pool_stats st;
	unsigned i;

	assert_true(count <= 40);
	sess_pool_set_bufsize(size);
	assert_int_equal(sess_bufsize, size);
	sess_pool_init(0);
	for (i = 0; i < count; i++) {
		b[i] = sess_buf_get();
		assert_non_null(b[i]);
		assert_int_equal((uintptr_t)b[i] % _Alignof(max_align_t), 0);
		memset(b[i]->data, (int)i, size);
	}
	for (i = 0; i < count; i++) {
		assert_int_equal((unsigned char)b[i]->data[0], i);
		assert_int_equal((unsigned char)b[i]->data[size - 1], i);
	}
	sess_pool_stats(&st);
	assert_int_equal(st.buf_used, count);
	assert_true(st.buf_alloc >= count);
	for (i = 0; i < count; i++)
		sess_buf_put(b[i]);
	sess_pool_stats(&st);
	assert_int_equal(st.buf_used, 0);
	sess_pool_free();
}

static void test_buffers(void **state)
{
	buffers_of(SESS_BUFSIZE_DEF, 40);
	buffers_of(1024, 40);
	buffers_of(1027, 33);           /* odd size: later buffers stay aligned */
	buffers_of(1u << 20, 3);        /* larger than a chunk: one at a time */
	sess_pool_set_bufsize(0);
	assert_int_equal(sess_bufsize, SESS_BUFSIZE_DEF);
	sess_pool_init(0);
}

/* HTTP states: zeroed (also when reused), distinct, counted, and the
 * pool only grows when its free list is empty. */
static void test_http_states(void **state)
{
	struct sess_http_io *x[70];
	struct sess_pool_stats st;
	unsigned i, alloc;

	sess_pool_init(0);
	for (i = 0; i < 70; i++) {
		x[i] = sess_http_io_get();
		assert_non_null(x[i]);
		assert_int_equal(x[i]->ilen, 0);
		assert_null(x[i]->ibuf);
		assert_int_equal(x[i]->rline[0], '\0');
		x[i]->ilen = i + 1;
		memset(x[i]->rline, 'x', sizeof(x[i]->rline));
	}
	for (i = 0; i < 70; i++)
		assert_int_equal(x[i]->ilen, i + 1);    /* no overlap */
	sess_pool_stats(&st);
	assert_int_equal(st.http_used, 70);
	assert_true(st.http_alloc >= 70 && st.http_alloc < 70 + 32);
	alloc = st.http_alloc;
	sess_http_io_put(x[3]);
	x[3] = sess_http_io_get();
	assert_int_equal(x[3]->ilen, 0);
	assert_int_equal(x[3]->rline[0], '\0');
	assert_int_equal(x[3]->rline[HTTP_RLINE_MAX - 1], '\0');
	for (i = 0; i < 70; i++)
		sess_http_io_put(x[i]);
	sess_pool_stats(&st);
	assert_int_equal(st.http_used, 0);
	for (i = 0; i < 70; i++)
		x[i] = sess_http_io_get();
	sess_pool_stats(&st);
	assert_int_equal(st.http_alloc, alloc);
	for (i = 0; i < 70; i++)
		sess_http_io_put(x[i]);
}

/* Pipes: bounded by maxpipes, empty ones cached and handed out again,
 * non-blocking. */
static void test_pipes(void **state)
{
	int p[3][2], q[2];
	struct sess_pool_stats st;
	char c = 'x';

	sess_pool_init(2);
	assert_int_equal(sess_pipe_get(p[0]), 0);
	assert_int_equal(sess_pipe_get(p[1]), 0);
	assert_int_equal(sess_pipe_get(p[2]), -1);
	assert_int_equal(errno, ENOSPC);
	assert_true(fcntl(p[0][0], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(p[0][1], F_GETFL) & O_NONBLOCK);
	assert_int_equal(read(p[0][0], &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
	q[0] = p[0][0];
	q[1] = p[0][1];
	sess_pipe_put(p[0]);
	assert_int_equal(p[0][0], -1);
	sess_pool_stats(&st);
	assert_int_equal(st.pipes_used, 1);
	assert_int_equal(st.pipes_free, 1);
	/* The cached pipe comes back. */
	assert_int_equal(sess_pipe_get(p[2]), 0);
	assert_int_equal(p[2][0], q[0]);
	assert_int_equal(p[2][1], q[1]);
	/* A pipe with data is closed, not cached. */
	assert_int_equal(write(p[1][1], &c, 1), 1);
	sess_pipe_close(p[1]);
	sess_pool_stats(&st);
	assert_int_equal(st.pipes_used, 1);
	assert_int_equal(st.pipes_free, 0);
	sess_pipe_put(p[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sessions_grow_and_reuse, teardown),
		cmocka_unit_test_teardown(test_buffers, teardown),
		cmocka_unit_test_teardown(test_http_states, teardown),
		cmocka_unit_test_teardown(test_pipes, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
