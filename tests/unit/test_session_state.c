#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxyd/session-state.h"

static void sess_init(struct session *s, enum sess_state st)
{
	memset(s, 0, sizeof(*s));
	s->state = st;
	s->req.pipe[0] = s->req.pipe[1] = -1;
	s->res.pipe[0] = s->res.pipe[1] = -1;
	s->to.client = 30000;
	s->to.server = 20000;
	s->to.connect = 5000;
	s->to.queue = 7000;
}

/* --- timeout selection --- */

static void test_side_timeout_plain(void **state)
{
	struct session s;

	sess_init(&s, SESS_ST_DATA);
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_CLIENT), 30000);
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_SERVER), 20000);
}

static void test_side_timeout_tunnel(void **state)
{
	struct session s;

	sess_init(&s, SESS_ST_DATA);
	s.to.tunnel = 3600000;
	/* Not a tunnel yet (not connected): client/server apply. */
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_CLIENT), 30000);
	s.tunnel = 1;
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_CLIENT), 3600000);
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_SERVER), 3600000);
}

/* The first incident: the server closed (FIN), the proxy shut the client's
 * write side; client-fin must then bound the client side, not the tunnel
 * or client timeout. */
static void test_side_timeout_client_fin(void **state)
{
	struct session s;

	sess_init(&s, SESS_ST_DATA);
	s.tunnel = 1;
	s.to.tunnel = 86400000;
	s.to.client_fin = 3000;
	s.to.server_fin = 2000;
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_CLIENT), 86400000);
	s.res.flags |= SESS_CH_SHUTR;           /* server sent FIN */
	/* The server side is half-closed: server-fin. The client side is
	 * not yet (its write side is still open). */
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_SERVER), 2000);
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_CLIENT), 86400000);
	s.res.flags |= SESS_CH_SHUTW;           /* FIN forwarded to the client */
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_CLIENT), 3000);
}

static void test_side_timeout_client_sent_fin(void **state)
{
	struct session s;

	sess_init(&s, SESS_ST_DATA);
	s.to.client_fin = 1000;
	s.req.flags |= SESS_CH_SHUTR;           /* client sent FIN */
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_CLIENT), 1000);
	/* The server side: only once the FIN was forwarded; no server-fin
	 * set, so `timeout server` stays. */
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_SERVER), 20000);
	s.req.flags |= SESS_CH_SHUTW;
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_SERVER), 20000);
	s.to.server_fin = 500;
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_SERVER), 500);
}

/* An unset -fin timeout lets the tunnel timeout apply on a half-closed
 * side (HAProxy: "half-closed connections will use the other timeouts"). */
static void test_side_timeout_fin_unset_tunnel(void **state)
{
	struct session s;

	sess_init(&s, SESS_ST_DATA);
	s.tunnel = 1;
	s.to.tunnel = 60000;
	s.res.flags |= SESS_CH_SHUTR | SESS_CH_SHUTW;
	assert_int_equal(session_side_timeout(&s, SESS_SIDE_CLIENT), 60000);
}

/* --- deadlines --- */

static void test_timer_next_data_idle(void **state)
{
	struct session s;
	enum sess_exp what;

	sess_init(&s, SESS_ST_DATA);
	s.cli.last_rd = 1000;
	s.srvs.last_rd = 1500;
	/* client: 1000 + 30000, server: 1500 + 20000 -> server first. */
	assert_int_equal(session_timer_next(&s, &what), 21500);
	assert_int_equal(what, SESS_EXP_SERVER);
	s.srvs.last_rd = 20000;
	assert_int_equal(session_timer_next(&s, &what), 31000);
	assert_int_equal(what, SESS_EXP_CLIENT);
}

static void test_timer_next_write_pending(void **state)
{
	struct session s;
	enum sess_exp what;

	sess_init(&s, SESS_ST_DATA);
	s.to.client = 0;        /* no client timeout at all */
	s.to.server = 20000;
	s.cli.last_rd = 0;
	s.srvs.last_rd = 100000;
	/* Data waits for the server (req pending) since t=5000, while the
	 * server keeps sending: the write deadline still runs. */
	s.req.len = 10;
	s.srvs.last_wr = 5000;
	assert_int_equal(session_timer_next(&s, &what), 25000);
	assert_int_equal(what, SESS_EXP_SERVER);
	/* The client is held back by the full channel: no client read
	 * deadline (and none anyway with client timeout 0). */
	s.req.len = 0;
	s.req.pipe_bytes = 4096;
	s.req.flags |= SESS_CH_SPLICE | SESS_CH_WAITROOM;
	assert_int_equal(session_timer_next(&s, &what), 25000);
}

static void test_timer_next_blocked_reader(void **state)
{
	struct session s;
	enum sess_exp what;

	sess_init(&s, SESS_ST_DATA);
	s.to.server = 0;
	s.cli.last_rd = 1000;
	/* Client's data waits in a copy buffer: reading from the client is
	 * suspended, so its read deadline does not run. */
	s.req.len = 100;
	assert_int_equal(session_timer_next(&s, &what), UINT64_MAX);
	assert_int_equal(what, SESS_EXP_NONE);
}

static void test_timer_next_connect_queue(void **state)
{
	struct session s;
	enum sess_exp what;

	sess_init(&s, SESS_ST_CONNECTING);
	s.cli.last_rd = 0;
	s.t_connect = 100;
	assert_int_equal(session_timer_next(&s, &what), 5100);
	assert_int_equal(what, SESS_EXP_CONNECT);

	sess_init(&s, SESS_ST_QUEUED);
	s.t_queue = 200;
	assert_int_equal(session_timer_next(&s, &what), 7200);
	assert_int_equal(what, SESS_EXP_QUEUE);
	/* A short client timeout strikes first while queued (cQ). */
	s.to.client = 300;
	assert_int_equal(session_timer_next(&s, &what), 300);
	assert_int_equal(what, SESS_EXP_CLIENT);

	sess_init(&s, SESS_ST_TURNAROUND);
	s.t_turnaround = 900;
	assert_int_equal(session_timer_next(&s, &what), 900);
	assert_int_equal(what, SESS_EXP_TURNAROUND);
}

static void test_timer_next_half_closed_shortens(void **state)
{
	struct session s;
	enum sess_exp what;

	sess_init(&s, SESS_ST_DATA);
	s.tunnel = 1;
	s.to.tunnel = 86400000;
	s.to.client_fin = 3000;
	s.cli.last_rd = 50000;
	s.srvs.last_rd = 50000;
	assert_int_equal(session_timer_next(&s, &what), 50000 + 86400000ull);
	/* Server finished and its FIN went to the client. */
	s.res.flags |= SESS_CH_SHUTR | SESS_CH_SHUTW;
	s.req.flags |= SESS_CH_SHUTW;
	assert_int_equal(session_timer_next(&s, &what), 53000);
	assert_int_equal(what, SESS_EXP_CLIENT);
}

/* --- termination state --- */

static void test_fin_now(void **state)
{
	struct session s;

	sess_init(&s, SESS_ST_DATA);
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_NONE), SESS_FIN_NONE);
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_CLI_TO), SESS_FIN_DATA);
	s.state = SESS_ST_QUEUED;
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_SRV_TO), SESS_FIN_QUEUE);
	s.state = SESS_ST_CONNECTING;
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_SRV_ABORT), SESS_FIN_CONNECT);
	s.state = SESS_ST_TURNAROUND;
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_CLI_ABORT), SESS_FIN_CONNECT);
	s.state = SESS_ST_ASSIGN;
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_SRV_ABORT), SESS_FIN_CONNECT);
	/* Server done in both directions, client still receiving: L. */
	s.state = SESS_ST_DATA;
	s.res.flags = SESS_CH_SHUTR;
	s.req.flags = SESS_CH_SHUTR | SESS_CH_SHUTW;
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_CLI_ABORT), SESS_FIN_LAST);
	s.res.flags |= SESS_CH_SHUTW;
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_CLI_TO), SESS_FIN_DATA);
}

static void test_term_str(void **state)
{
	static const struct {
		enum sess_cause c;
		enum sess_fin f;
		const char *s;
	} t[] = {
		{ SESS_CAUSE_NONE, SESS_FIN_NONE, "--" },
		{ SESS_CAUSE_CLI_TO, SESS_FIN_DATA, "cD" },
		{ SESS_CAUSE_SRV_TO, SESS_FIN_DATA, "sD" },
		{ SESS_CAUSE_SRV_TO, SESS_FIN_QUEUE, "sQ" },
		{ SESS_CAUSE_SRV_TO, SESS_FIN_CONNECT, "sC" },
		{ SESS_CAUSE_SRV_ABORT, SESS_FIN_CONNECT, "SC" },
		{ SESS_CAUSE_SRV_ABORT, SESS_FIN_QUEUE, "SQ" },
		{ SESS_CAUSE_CLI_ABORT, SESS_FIN_QUEUE, "CQ" },
		{ SESS_CAUSE_CLI_ABORT, SESS_FIN_LAST, "CL" },
		{ SESS_CAUSE_SRV_ABORT, SESS_FIN_DATA, "SD" },
		{ SESS_CAUSE_DOWN, SESS_FIN_DATA, "DD" },
		{ SESS_CAUSE_BACKUP, SESS_FIN_DATA, "UD" },
		{ SESS_CAUSE_KILLED, SESS_FIN_DATA, "KD" },
		{ SESS_CAUSE_PROXY, SESS_FIN_CONNECT, "PC" },
		{ SESS_CAUSE_RESOURCE, SESS_FIN_CONNECT, "RC" },
		{ SESS_CAUSE_INTERNAL, SESS_FIN_CONNECT, "IC" },
	};
	struct session s;
	char out[3];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sess_init(&s, SESS_ST_CLOSED);
		s.cause = (uint8_t)t[i].c;
		s.fin = (uint8_t)t[i].f;
		session_term_str(&s, out);
		assert_string_equal(out, t[i].s);
	}
}

/* --- HTTP --- */

static void test_http_timer_first_request(void **state)
{
	struct session s;
	enum sess_exp what;

	sess_init(&s, SESS_ST_ASSIGN);
	s.http.on = 1;
	s.http.rq = HTTP_RQ_IDLE;
	s.http.t_rq = 1000;
	s.cli.last_rd = 1000;
	/* No http-request timeout: timeout client from the last read. */
	assert_int_equal(session_timer_next(&s, &what), 31000);
	assert_int_equal(what, SESS_EXP_CLIENT);
	/* With it: from the accept, for the first request. */
	s.to.http_request = 5000;
	s.to.http_keep_alive = 5000;
	assert_int_equal(session_timer_next(&s, &what), 6000);
	assert_int_equal(what, SESS_EXP_HTTP_REQ);
	s.http.rq = HTTP_RQ_HEAD;
	assert_int_equal(session_timer_next(&s, &what), 6000);
	assert_int_equal(what, SESS_EXP_HTTP_REQ);
}

static void test_http_timer_keep_alive(void **state)
{
	struct session s;
	enum sess_exp what;

	sess_init(&s, SESS_ST_ASSIGN);
	s.http.on = 1;
	s.http.rq = HTTP_RQ_IDLE;
	s.http.nreq = 3;
	s.http.t_rq = 2000;
	s.to.http_request = 5000;
	s.to.http_keep_alive = 800;
	assert_int_equal(session_timer_next(&s, &what), 2800);
	assert_int_equal(what, SESS_EXP_HTTP_KA);
	/* Closing: client-fin, else client, from the last read. */
	s.http.rq = HTTP_RQ_CLOSING;
	s.cli.last_rd = 3000;
	assert_int_equal(session_timer_next(&s, &what), 33000);
	s.to.client_fin = 1000;
	assert_int_equal(session_timer_next(&s, &what), 4000);
	assert_int_equal(what, SESS_EXP_CLIENT);
}

static void test_http_timer_wait_response(void **state)
{
	struct session s;
	enum sess_exp what;

	sess_init(&s, SESS_ST_DATA);
	s.http.on = 1;
	s.http.rq = HTTP_RQ_DONE;
	s.http.rs = HTTP_RS_HEAD;
	s.cli.last_rd = 100;
	s.srvs.last_rd = 500;
	/* The request is complete: only timeout server runs (504). */
	assert_int_equal(session_timer_next(&s, &what), 20500);
	assert_int_equal(what, SESS_EXP_SERVER);
}

static void test_http_fin(void **state)
{
	struct session s;
	char t[3];

	sess_init(&s, SESS_ST_ASSIGN);
	s.http.on = 1;
	s.http.rq = HTTP_RQ_HEAD;
	s.cause = SESS_CAUSE_CLI_TO;
	s.fin = session_fin_now(&s, SESS_CAUSE_CLI_TO);
	session_term_str(&s, t);
	assert_string_equal(t, "cR");
	s.state = SESS_ST_DATA;
	s.http.rq = HTTP_RQ_DONE;
	s.http.rs = HTTP_RS_HEAD;
	s.cause = SESS_CAUSE_SRV_TO;
	s.fin = session_fin_now(&s, SESS_CAUSE_SRV_TO);
	session_term_str(&s, t);
	assert_string_equal(t, "sH");
	s.http.rs = HTTP_RS_BODY;
	s.fin = session_fin_now(&s, SESS_CAUSE_SRV_TO);
	session_term_str(&s, t);
	assert_string_equal(t, "sD");
	assert_int_equal(session_fin_now(&s, SESS_CAUSE_NONE), SESS_FIN_NONE);
}

static void test_why_cause(void **state)
{
	assert_int_equal(session_why_cause(SESS_WHY_DOWN), SESS_CAUSE_DOWN);
	assert_int_equal(session_why_cause("server down"), SESS_CAUSE_DOWN);
	assert_int_equal(session_why_cause("server up"), SESS_CAUSE_BACKUP);
	assert_int_equal(session_why_cause("shutdown sessions server"), SESS_CAUSE_KILLED);
	assert_int_equal(session_why_cause(NULL), SESS_CAUSE_KILLED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_side_timeout_plain),
		cmocka_unit_test(test_side_timeout_tunnel),
		cmocka_unit_test(test_side_timeout_client_fin),
		cmocka_unit_test(test_side_timeout_client_sent_fin),
		cmocka_unit_test(test_side_timeout_fin_unset_tunnel),
		cmocka_unit_test(test_timer_next_data_idle),
		cmocka_unit_test(test_timer_next_write_pending),
		cmocka_unit_test(test_timer_next_blocked_reader),
		cmocka_unit_test(test_timer_next_connect_queue),
		cmocka_unit_test(test_timer_next_half_closed_shortens),
		cmocka_unit_test(test_fin_now),
		cmocka_unit_test(test_term_str),
		cmocka_unit_test(test_why_cause),
		cmocka_unit_test(test_http_timer_first_request),
		cmocka_unit_test(test_http_timer_keep_alive),
		cmocka_unit_test(test_http_timer_wait_response),
		cmocka_unit_test(test_http_fin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
