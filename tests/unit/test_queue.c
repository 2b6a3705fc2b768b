#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend_fake.h"
#include "proxyd/cfg.h"
#include "proxyd/lb.h"
#include "proxyd/proxy.h"
#include "proxyd/queue.h"

void fake_session_end(struct session *s)
{
	backend_sess_end(s);
}

#define NSESS 300

static struct cfg cfg;
static struct session sess[NSESS];

static int setup(void **state)
{
	int i;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	for (i = 0; i < NSESS; i++)
		fake_session_init(&sess[i], i);
	fake_ready_calls = 0;
	return 0;
}

static int teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NSESS; i++)
		backend_sess_end(&sess[i]);
	proxy_free_all();
	fake_cfg_free(&cfg);
	fake_now = 1000000;
	return 0;
}

static struct proxy *build_one(struct cfg_proxy *p)
{
	char err[128];

	(void)p;
	assert_int_equal(proxy_build(&cfg, fake_now, err, sizeof(err)), 0);
	return proxy_find("be", CFG_CAP_BE);
}

static void limit(struct cfg_proxy *p, unsigned i, unsigned minconn, unsigned maxconn)
{
	p->servers[i].minconn = minconn;
	p->servers[i].maxconn = maxconn;
}

static void test_queue_assign_queue_release(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 2, CFG_BALANCE_ROUNDROBIN);
	struct proxy *be;
	struct server *srv;

	(void)state;
	limit(p, 0, 1, 1);
	limit(p, 1, 1, 1);
	be = build_one(p);

	assert_int_equal(backend_assign(be, &sess[0], 0, &srv), ASSIGN_ASSIGNED);
	assert_ptr_equal(srv, &be->srvs[0]);
	assert_int_equal(backend_assign(be, &sess[1], 0, &srv), ASSIGN_ASSIGNED);
	assert_ptr_equal(srv, &be->srvs[1]);
	assert_int_equal(backend_assign(be, &sess[2], 0, &srv), ASSIGN_QUEUED);
	assert_null(srv);
	assert_int_equal(backend_assign(be, &sess[3], 0, &srv), ASSIGN_QUEUED);
	assert_int_equal(be->be.qcur, 2);
	assert_int_equal(be->be.qmax, 2);
	assert_int_equal(be->be.scur, 4);       /* queued sessions count in beconn */
	assert_int_equal(be->srvs[0].c.scur, 1);

	/* The slot of s2 goes to the oldest waiting session. */
	backend_release(&be->srvs[1], &sess[1]);
	assert_int_equal(sess[2].ready, 1);
	assert_ptr_equal(sess[2].ready_srv, &be->srvs[1]);
	assert_ptr_equal(sess[2].lb.srv, &be->srvs[1]);
	assert_int_equal(sess[3].ready, 0);
	assert_int_equal(be->be.qcur, 1);
	assert_int_equal(be->srvs[1].c.scur, 1);

	/* Releasing twice, or a slot not held, changes nothing. */
	backend_release(&be->srvs[1], &sess[1]);
	backend_release(&be->srvs[0], &sess[2]);
	assert_int_equal(be->srvs[1].c.scur, 1);
	assert_int_equal(be->be.qcur, 1);

	backend_sess_end(&sess[0]);
	assert_int_equal(sess[3].ready, 1);
	assert_ptr_equal(sess[3].ready_srv, &be->srvs[0]);
	assert_int_equal(be->be.qcur, 0);
	assert_int_equal(be->be.scur, 3);
	assert_int_equal(be->be.stot, 4);
	assert_int_equal(be->be.lbtot, 4);
}

/* A slot freed in one thread for a session of another: the session
 * learns it in its own thread, through its mailbox; a session that ended
 * meanwhile (its memory now another session's) is left alone. */
static void test_queue_grant_other_thread(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 1, CFG_BALANCE_ROUNDROBIN);
	struct proxy *be;
	struct server *srv;

	(void)state;
	limit(p, 0, 1, 1);
	be = build_one(p);
	thread_count = 2;
	assert_int_equal(backend_assign(be, &sess[0], 0, &srv), ASSIGN_ASSIGNED);
	sess[1].lb.tid = 1;
	sess[1].lb.sid = 101;
	assert_int_equal(backend_assign(be, &sess[1], 0, &srv), ASSIGN_QUEUED);
	sess[2].lb.tid = 1;
	sess[2].lb.sid = 102;
	assert_int_equal(backend_assign(be, &sess[2], 0, &srv), ASSIGN_QUEUED);

	/* Thread 0 frees the slot: sess[1] holds it, and hears of it later. */
	backend_sess_end(&sess[0]);
	assert_ptr_equal(sess[1].lb.srv, &be->srvs[0]);
	assert_int_equal(sess[1].ready, 0);
	assert_int_equal(fake_nmsgs, 1);
	assert_int_equal(fake_msg_tid[0], 1);
	assert_int_equal(fake_msgs_run(), 1);
	assert_int_equal(sess[1].ready, 1);
	assert_ptr_equal(sess[1].ready_srv, &be->srvs[0]);

	/* sess[1] ends; sess[2] gets the slot, but ends before its thread
	 * runs the message and its memory goes to a new session. */
	backend_sess_end(&sess[1]);
	assert_ptr_equal(sess[2].lb.srv, &be->srvs[0]);
	assert_int_equal(fake_nmsgs, 1);
	backend_sess_end(&sess[2]);
	fake_session_init(&sess[2], 2);
	sess[2].lb.tid = 1;
	sess[2].lb.sid = 103;
	assert_int_equal(fake_msgs_run(), 1);
	assert_int_equal(sess[2].ready, 0);
	assert_int_equal(be->srvs[0].c.scur, 0);
	assert_int_equal(be->be.qcur, 0);
	thread_count = 1;
}

static void test_queue_fifo_order(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 1, CFG_BALANCE_LEASTCONN);
	struct proxy *be;
	struct server *srv;
	int i;

	(void)state;
	limit(p, 0, 1, 1);
	be = build_one(p);
	assert_int_equal(backend_assign(be, &sess[0], 0, &srv), ASSIGN_ASSIGNED);
	for (i = 1; i <= 5; i++) {
		fake_now += 10;
		assert_int_equal(backend_assign(be, &sess[i], 0, &srv), ASSIGN_QUEUED);
	}
	backend_dequeue(&sess[3]);      /* gave up: queue timeout */
	assert_int_equal(be->be.qcur, 4);
	assert_false(sess[3].lb.queued);
	backend_dequeue(&sess[3]);
	assert_int_equal(be->be.qcur, 4);

	{
		static const int order[] = { 1, 2, 4, 5 };
		int prev = 0;

		for (i = 0; i < 4; i++) {
			backend_sess_end(&sess[prev]);
			assert_int_equal(sess[order[i]].ready, 1);
			if (i + 1 < 4)
				assert_int_equal(sess[order[i + 1]].ready, 0);
			prev = order[i];
		}
	}
	assert_int_equal(sess[3].ready, 0);
	assert_int_equal(be->be.qcur, 0);
	assert_int_equal(be->be.qmax, 5);
}

/* Incident 3: minconn 1, maxconn 100, fullconn 10000. At low load the
 * server's effective limit is 1 and the queue builds behind it. */
static void test_queue_incident3_dynamic_maxconn(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 1, CFG_BALANCE_ROUNDROBIN);
	struct proxy *be;
	struct server *srv;
	int i;

	(void)state;
	limit(p, 0, 1, 100);
	p->fullconn = 10000;
	be = build_one(p);
	srv = &be->srvs[0];
	assert_int_equal(server_eff_maxconn(srv, fake_now), 1);

	for (i = 0; i < 10; i++) {
		struct server *got;

		assert_int_equal(backend_assign(be, &sess[i], 0, &got),
				 i == 0 ? ASSIGN_ASSIGNED : ASSIGN_QUEUED);
	}
	assert_int_equal(srv->c.scur, 1);
	assert_int_equal(be->be.qcur, 9);
	assert_int_equal(be->be.scur, 10);
	assert_int_equal(server_eff_maxconn(srv, fake_now), 1);

	/* With 200 sessions on the backend the limit is 200 * 100 / 10000 = 2. */
	for (i = 10; i < 200; i++) {
		struct server *got;

		backend_assign(be, &sess[i], 0, &got);
	}
	assert_int_equal(be->be.scur, 200);
	assert_int_equal(server_eff_maxconn(srv, fake_now), 2);
	assert_int_equal(srv->c.scur, 2);
	assert_int_equal(be->be.qcur, 198);
	/* The second slot went to the oldest waiting session. */
	assert_int_equal(sess[1].ready, 1);
	assert_int_equal(sess[2].ready, 0);

	/* minconn == maxconn (the fix) makes the limit static. */
	srv->minconn = 100;
	assert_int_equal(server_eff_maxconn(srv, fake_now), 100);
	queue_process_backend(be);
	assert_int_equal(srv->c.scur, 100);
	assert_int_equal(be->be.qcur, 100);
}

static void test_queue_maxqueue_source(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 2, CFG_BALANCE_SOURCE);
	struct proxy *be;
	struct server *srv, *first;
	uint32_t h = 12345;

	(void)state;
	limit(p, 0, 1, 1);
	limit(p, 1, 1, 1);
	p->servers[0].maxqueue = 2;
	p->servers[1].maxqueue = 2;
	be = build_one(p);

	assert_int_equal(backend_assign(be, &sess[0], h, &first), ASSIGN_ASSIGNED);
	assert_int_equal(backend_assign(be, &sess[1], h, &srv), ASSIGN_QUEUED);
	assert_int_equal(backend_assign(be, &sess[2], h, &srv), ASSIGN_QUEUED);
	assert_int_equal(first->c.qcur, 2);
	assert_int_equal(be->be.qcur, 0);
	assert_ptr_equal(sess[1].lb.qsrv, first);
	/* The server's queue is full: refused, not redispatched. */
	assert_int_equal(backend_assign(be, &sess[3], h, &srv), ASSIGN_FULL);
	assert_int_equal(first->c.qcur, 2);

	/* With option redispatch the other server takes it. */
	be->options |= CFG_OPT_REDISPATCH;
	assert_int_equal(backend_assign(be, &sess[3], h, &srv), ASSIGN_ASSIGNED);
	assert_ptr_not_equal(srv, first);

	/* The server queue is served when the slot frees. */
	backend_sess_end(&sess[0]);
	assert_int_equal(sess[1].ready, 1);
	assert_ptr_equal(sess[1].ready_srv, first);
	assert_int_equal(first->c.qcur, 1);
}

static void test_queue_redistribute_on_down(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 2, CFG_BALANCE_SOURCE);
	struct proxy *be;
	struct server *srv, *a, *b;
	uint32_t h = 777;
	int i;

	(void)state;
	limit(p, 0, 1, 1);
	limit(p, 1, 1, 1);
	be = build_one(p);
	assert_int_equal(backend_assign(be, &sess[0], h, &a), ASSIGN_ASSIGNED);
	for (i = 1; i <= 3; i++) {
		fake_now++;
		assert_int_equal(backend_assign(be, &sess[i], h, &srv), ASSIGN_QUEUED);
	}
	b = a == &be->srvs[0] ? &be->srvs[1] : &be->srvs[0];
	/* b is busy with a session of another client. */
	for (i = 10; i < 1000; i++) {
		struct sockaddr_in sin;
		uint32_t oh;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(0x0a000000u + (unsigned)i);
		oh = lb_hash_addr(&sin, sizeof(sin));
		if (lb_pick(be, oh, fake_now, &srv) == LB_OK && srv == b) {
			assert_int_equal(backend_assign(be, &sess[10], oh, &srv), ASSIGN_ASSIGNED);
			break;
		}
	}
	assert_int_equal(b->c.scur, 1);

	a->admin = SRV_ADMIN_MAINT;
	queue_redistribute(a);
	assert_int_equal(a->c.qcur, 0);
	assert_int_equal(be->be.qcur, 3);
	/* b's slot frees: the backend queue is served in arrival order. */
	backend_sess_end(&sess[10]);
	assert_int_equal(sess[1].ready, 1);
	assert_ptr_equal(sess[1].ready_srv, b);
	assert_int_equal(sess[2].ready, 0);
	backend_sess_end(&sess[1]);
	assert_int_equal(sess[2].ready, 1);
}

/* A persistence cookie's server is used while usable, whatever roundrobin
 * says; at its limit the session waits in that server's queue; once the
 * server is down, load balancing decides again. */
static void test_queue_cookie_persist(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 3, CFG_BALANCE_ROUNDROBIN);
	struct proxy *be;
	struct server *srv;
	int i;

	(void)state;
	limit(p, 1, 2, 2);
	be = build_one(p);
	for (i = 0; i < 2; i++) {
		sess[i].lb.persist = &be->srvs[1];
		assert_int_equal(backend_assign(be, &sess[i], 0, &srv), ASSIGN_ASSIGNED);
		assert_ptr_equal(srv, &be->srvs[1]);
	}
	/* Full: the third waits for that server, not for any. */
	sess[2].lb.persist = &be->srvs[1];
	assert_int_equal(backend_assign(be, &sess[2], 0, &srv), ASSIGN_QUEUED);
	assert_ptr_equal(sess[2].lb.qsrv, &be->srvs[1]);
	backend_sess_end(&sess[0]);
	assert_int_equal(sess[2].ready, 1);
	assert_ptr_equal(sess[2].ready_srv, &be->srvs[1]);
	/* Without a cookie: roundrobin over the three. */
	assert_int_equal(backend_assign(be, &sess[3], 0, &srv), ASSIGN_ASSIGNED);
	/* Down: the cookie is ignored. */
	be->srvs[1].admin = SRV_ADMIN_MAINT;
	sess[4].lb.persist = &be->srvs[1];
	assert_int_equal(backend_assign(be, &sess[4], 0, &srv), ASSIGN_ASSIGNED);
	assert_ptr_not_equal(srv, &be->srvs[1]);
}

static void test_queue_retry_releases_slot(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 2, CFG_BALANCE_ROUNDROBIN);
	struct proxy *be;
	struct server *s1, *s2;

	(void)state;
	limit(p, 0, 1, 1);
	limit(p, 1, 1, 1);
	be = build_one(p);
	assert_int_equal(backend_assign(be, &sess[0], 0, &s1), ASSIGN_ASSIGNED);
	assert_int_equal(backend_assign(be, &sess[0], 0, &s2), ASSIGN_ASSIGNED);
	assert_ptr_not_equal(s1, s2);
	assert_int_equal(s1->c.scur, 0);
	assert_int_equal(s2->c.scur, 1);
	assert_int_equal(be->be.scur, 1);       /* still one session */
	assert_int_equal(be->be.stot, 1);
}

static void test_queue_nosrv(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 1, CFG_BALANCE_ROUNDROBIN);
	struct proxy *be;
	struct server *srv;

	(void)state;
	p->servers[0].flags |= CFG_SRV_DISABLED;
	be = build_one(p);
	assert_int_equal(server_status(&be->srvs[0]), SRV_STATUS_MAINT);
	assert_int_equal(backend_assign(be, &sess[0], 0, &srv), ASSIGN_NOSRV);
	backend_sess_end(&sess[0]);
	assert_int_equal(be->be.scur, 0);
}

/* The session layer ends a session from within session_queue_ready (its
 * connect failed at once): the queue pass goes on without recursing. */
static void test_queue_reentrant_ready(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 1, CFG_BALANCE_ROUNDROBIN);
	struct proxy *be;
	struct server *srv;
	int i;

	(void)state;
	limit(p, 0, 1, 1);
	be = build_one(p);
	assert_int_equal(backend_assign(be, &sess[0], 0, &srv), ASSIGN_ASSIGNED);
	for (i = 1; i <= 50; i++) {
		sess[i].end_on_ready = i < 50;
		assert_int_equal(backend_assign(be, &sess[i], 0, &srv), ASSIGN_QUEUED);
	}
	backend_sess_end(&sess[0]);
	for (i = 1; i <= 50; i++)
		assert_int_equal(sess[i].ready, 1);
	assert_ptr_equal(sess[50].lb.srv, &be->srvs[0]);
	assert_int_equal(be->srvs[0].c.scur, 1);
	assert_int_equal(be->be.qcur, 0);
	assert_int_equal(be->be.scur, 1);
}

static void test_queue_backup_serves_backend_queue(void **state)
{
	struct cfg_proxy *p = fake_cfg_backend(&cfg, "be", 2, CFG_BALANCE_ROUNDROBIN);
	struct proxy *be;
	struct server *srv;

	(void)state;
	limit(p, 0, 1, 1);
	limit(p, 1, 1, 1);
	p->servers[1].flags |= CFG_SRV_BACKUP;
	be = build_one(p);
	assert_int_equal(backend_assign(be, &sess[0], 0, &srv), ASSIGN_ASSIGNED);
	assert_ptr_equal(srv, &be->srvs[0]);
	/* The backup is not used while the active server is up, even full. */
	assert_int_equal(backend_assign(be, &sess[1], 0, &srv), ASSIGN_QUEUED);
	be->srvs[0].op = SRV_OP_DOWN;
	queue_process_backend(be);
	assert_int_equal(sess[1].ready, 1);
	assert_ptr_equal(sess[1].ready_srv, &be->srvs[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_assign_queue_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_grant_other_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_fifo_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_incident3_dynamic_maxconn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_maxqueue_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_redistribute_on_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_cookie_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_retry_releases_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_nosrv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_reentrant_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_backup_serves_backend_queue, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
