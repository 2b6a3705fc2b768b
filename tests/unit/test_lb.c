#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "backend_fake.h"
#include "proxyd/cfg.h"
#include "proxyd/lb.h"
#include "proxyd/proxy.h"
#include "proxyd/thread.h"

void fake_session_end(struct session *s)
{
	(void)s;
}

static struct cfg cfg;

static int teardown(void **state)
{
	(void)state;
	proxy_free_all();
	fake_cfg_free(&cfg);
	fake_now = 1000000;
	return 0;
}

/* Builds one backend "be" with the given weights. */
static struct proxy *build(enum cfg_balance bal, const unsigned *w, unsigned n)
{
	struct cfg_proxy *p;
	char err[128];
	unsigned i;

	memset(&cfg, 0, sizeof(cfg));
	p = fake_cfg_backend(&cfg, "be", n, bal);
	for (i = 0; i < n; i++)
		p->servers[i].weight = w[i];
	assert_int_equal(proxy_build(&cfg, fake_now, err, sizeof(err)), 0);
	return proxy_find("be", CFG_CAP_BE);
}

static unsigned idx_of(const struct proxy *be, const struct server *srv)
{
	return (unsigned)(srv - be->srvs);
}

static void test_lb_roundrobin_smooth_sequence(void **state)
{
	static const unsigned w[] = { 5, 1, 1 };
	/* nginx's smooth weighted round robin gives a a b a c a a for 5,1,1. */
	static const unsigned expect[] = { 0, 0, 1, 0, 2, 0, 0 };
	struct proxy *be = build(CFG_BALANCE_ROUNDROBIN, w, 3);
	struct server *srv;
	unsigned i;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		assert_int_equal(idx_of(be, srv), expect[i]);
	}
}

static void test_lb_roundrobin_distribution(void **state)
{
	static const unsigned w[] = { 10, 3, 1, 6 };
	struct proxy *be = build(CFG_BALANCE_ROUNDROBIN, w, 4);
	unsigned count[4] = { 0 };
	struct server *srv;
	unsigned i;

	(void)state;
	for (i = 0; i < 20 * 1000; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		count[idx_of(be, srv)]++;
	}
	/* Exact shares over whole cycles of sum(weights) = 20 picks. */
	assert_int_equal(count[0], 10000);
	assert_int_equal(count[1], 3000);
	assert_int_equal(count[2], 1000);
	assert_int_equal(count[3], 6000);
}

static void test_lb_roundrobin_skips_unusable_and_full(void **state)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct proxy *be = build(CFG_BALANCE_ROUNDROBIN, w, 3);
	struct server *srv;
	unsigned i;

	(void)state;
	be->srvs[0].op = SRV_OP_DOWN;
	be->srvs[1].maxconn = 1;
	be->srvs[1].minconn = 1;
	be->srvs[1].c.scur = 1;
	for (i = 0; i < 10; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		assert_ptr_equal(srv, &be->srvs[2]);
	}
	be->srvs[2].admin = SRV_ADMIN_DRAIN;
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_FULL);
	be->srvs[1].admin = SRV_ADMIN_MAINT;
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_NOSRV);
	assert_null(srv);
}

static void test_lb_leastconn_picks_least_loaded(void **state)
{
	static const unsigned w[] = { 1, 1, 2 };
	struct proxy *be = build(CFG_BALANCE_LEASTCONN, w, 3);
	struct server *srv;

	(void)state;
	be->srvs[0].c.scur = 3;
	be->srvs[1].c.scur = 1;
	be->srvs[2].c.scur = 3;         /* (3+1)/2 = 2 = s2's (1+1)/1: a tie */
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
	assert_true(srv == &be->srvs[1] || srv == &be->srvs[2]);
	be->srvs[1].c.scur = 2;         /* s2: 3, s3: 2 */
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
	assert_ptr_equal(srv, &be->srvs[2]);
	be->srvs[2].c.scur = 0;
	be->srvs[2].c.qcur = 10;        /* queued sessions count as load */
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
	assert_ptr_equal(srv, &be->srvs[1]);
}

static void test_lb_leastconn_ties_rotate(void **state)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct proxy *be = build(CFG_BALANCE_LEASTCONN, w, 3);
	unsigned seen[3] = { 0 };
	struct server *srv;
	unsigned i;

	(void)state;
	for (i = 0; i < 30; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		seen[idx_of(be, srv)]++;
	}
	assert_int_equal(seen[0], 10);
	assert_int_equal(seen[1], 10);
	assert_int_equal(seen[2], 10);
}

static void test_lb_leastconn_balances_with_sessions(void **state)
{
	static const unsigned w[] = { 1, 3 };
	struct proxy *be = build(CFG_BALANCE_LEASTCONN, w, 2);
	struct server *srv;
	unsigned i;

	(void)state;
	/* Sessions that stay open: loads follow the weights, 1:3. */
	for (i = 0; i < 400; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		srv->c.scur++;
	}
	assert_in_range(be->srvs[0].c.scur, 99, 101);
	assert_in_range(be->srvs[1].c.scur, 299, 301);
}

static void test_lb_source_stable(void **state)
{
	static const unsigned w[] = { 1, 1, 1, 1 };
	struct proxy *be = build(CFG_BALANCE_SOURCE, w, 4);
	struct server *first[64], *srv;
	unsigned count[4] = { 0 };
	uint32_t h;
	unsigned i;

	(void)state;
	for (i = 0; i < 64; i++) {
		h = i * 2654435761u;
		assert_int_equal(lb_pick(be, h, fake_now, &first[i]), LB_OK);
		assert_int_equal(lb_pick(be, h, fake_now, &srv), LB_OK);
		assert_ptr_equal(srv, first[i]);
	}
	for (i = 0; i < 4000; i++) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(0x0a000000u + i);
		assert_int_equal(lb_pick(be, lb_hash_addr(&sin, sizeof(sin)), fake_now, &srv), LB_OK);
		count[idx_of(be, srv)]++;
	}
	for (i = 0; i < 4; i++)
		assert_in_range(count[i], 800, 1200);

	/* s2 goes away: only its clients move; when it returns they come back. */
	be->srvs[1].admin = SRV_ADMIN_MAINT;
	for (i = 0; i < 64; i++) {
		assert_int_equal(lb_pick(be, i * 2654435761u, fake_now, &srv), LB_OK);
		if (first[i] != &be->srvs[1])
			assert_ptr_equal(srv, first[i]);
		else
			assert_ptr_not_equal(srv, &be->srvs[1]);
	}
	be->srvs[1].admin = SRV_ADMIN_READY;
	for (i = 0; i < 64; i++) {
		assert_int_equal(lb_pick(be, i * 2654435761u, fake_now, &srv), LB_OK);
		assert_ptr_equal(srv, first[i]);
	}
}

static void test_lb_source_weights(void **state)
{
	static const unsigned w[] = { 1, 3 };
	struct proxy *be = build(CFG_BALANCE_SOURCE, w, 2);
	unsigned count[2] = { 0 };
	struct server *srv;
	unsigned i;

	(void)state;
	for (i = 0; i < 8000; i++) {
		assert_int_equal(lb_pick(be, i * 2654435761u + 7, fake_now, &srv), LB_OK);
		count[idx_of(be, srv)]++;
	}
	assert_in_range(count[0], 1700, 2300);
	assert_in_range(count[1], 5700, 6300);
}

static void test_lb_hash_addr_ignores_port(void **state)
{
	struct sockaddr_in a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(0x7f000001);
	a.sin_port = htons(1000);
	b = a;
	b.sin_port = htons(2000);
	assert_int_equal(lb_hash_addr(&a, sizeof(a)), lb_hash_addr(&b, sizeof(b)));
	b.sin_addr.s_addr = htonl(0x7f000002);
	assert_int_not_equal(lb_hash_addr(&a, sizeof(a)), lb_hash_addr(&b, sizeof(b)));
}

static void test_lb_first_fills_in_order(void **state)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct proxy *be = build(CFG_BALANCE_FIRST, w, 3);
	struct server *srv;
	unsigned i;

	(void)state;
	for (i = 0; i < 3; i++) {
		be->srvs[i].maxconn = 2;
		be->srvs[i].minconn = 2;
	}
	for (i = 0; i < 6; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		assert_int_equal(idx_of(be, srv), i / 2);
		srv->c.scur++;
	}
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_FULL);
	be->srvs[0].c.scur--;
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
	assert_ptr_equal(srv, &be->srvs[0]);
}

static void test_lb_backup_only_when_no_active(void **state)
{
	static const unsigned w[] = { 1, 1, 1, 1 };
	struct proxy *be = build(CFG_BALANCE_ROUNDROBIN, w, 4);
	struct server *srv;
	unsigned i;

	(void)state;
	be->srvs[2].flags |= CFG_SRV_BACKUP;
	be->srvs[3].flags |= CFG_SRV_BACKUP;
	for (i = 0; i < 20; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		assert_false(srv->flags & CFG_SRV_BACKUP);
	}
	be->srvs[0].op = SRV_OP_DOWN;
	be->srvs[1].admin = SRV_ADMIN_MAINT;
	for (i = 0; i < 5; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		assert_ptr_equal(srv, &be->srvs[2]);       /* the first backup only */
	}
	be->srvs[2].op = SRV_OP_DOWN;
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
	assert_ptr_equal(srv, &be->srvs[3]);
	be->srvs[0].op = SRV_OP_UP;
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
	assert_ptr_equal(srv, &be->srvs[0]);
}

static void test_lb_slowstart_ramp(void **state)
{
	static const unsigned w[] = { 100, 100 };
	struct proxy *be = build(CFG_BALANCE_ROUNDROBIN, w, 2);
	struct server *s1 = &be->srvs[0], *srv;
	unsigned count = 0, i, prev_w = 0, prev_m = 0;
	uint64_t t;

	(void)state;
	s1->slowstart = 10000;
	s1->maxconn = 100;
	s1->minconn = 100;
	s1->op = SRV_OP_STARTING;
	s1->op_since = fake_now;

	/* Weight and limit grow with time, from about nothing to full. */
	for (t = 0; t <= 10000; t += 1000) {
		unsigned ew = server_eweight(s1, fake_now + t);
		unsigned em = server_eff_maxconn(s1, fake_now + t);

		assert_true(ew >= 1 && ew <= 100);
		assert_true(em >= 1 && em <= 100);
		assert_true(ew >= prev_w);
		assert_true(em >= prev_m);
		prev_w = ew;
		prev_m = em;
	}
	assert_true(server_eweight(s1, fake_now) <= 2);
	assert_int_equal(server_eff_maxconn(s1, fake_now), 1);
	assert_in_range(server_eweight(s1, fake_now + 5000), 45, 55);
	assert_in_range(server_eff_maxconn(s1, fake_now + 5000), 45, 55);
	assert_int_equal(server_throttle(s1, fake_now + 2500), 25);

	/* At half time s1 gets about a third of the picks (50 vs 100). */
	fake_now += 5000;
	for (i = 0; i < 1500; i++) {
		assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
		if (srv == s1)
			count++;
	}
	assert_in_range(count, 450, 550);

	/* After slowstart the server is plainly UP. */
	fake_now += 5000;
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_OK);
	assert_int_equal(s1->op, SRV_OP_UP);
	assert_int_equal(server_eweight(s1, fake_now), 100);
	assert_int_equal(server_throttle(s1, fake_now), 100);
}

static void test_lb_no_servers(void **state)
{
	struct proxy *be = build(CFG_BALANCE_ROUNDROBIN, NULL, 0);
	struct server *srv;

	(void)state;
	assert_int_equal(lb_pick(be, 0, fake_now, &srv), LB_NOSRV);
}

static void test_proxy_counters_and_rates(void **state)
{
	struct px_counters c;
	struct px_rate r;

	(void)state;
	memset(&c, 0, sizeof(c));
	px_counters_open(&c, 5000);
	px_counters_open(&c, 5100);
	px_counters_close(&c);
	px_counters_open(&c, 5200);
	assert_int_equal(c.scur, 2);
	assert_int_equal(c.smax, 2);
	assert_int_equal(c.stot, 3);
	assert_int_equal(c.lastsess, 5200);
	assert_int_equal(c.rate_max, 3);
	px_counters_close(&c);
	px_counters_close(&c);
	px_counters_close(&c);          /* never below 0 */
	assert_int_equal(c.scur, 0);

	px_counters_times(&c, -1u, 10, 10);
	assert_int_equal(c.ttime, 10);
	assert_int_equal(c.qtime, 0);
	assert_int_equal(c.qsamples, 0);
	px_counters_times(&c, 4, 20, 21);
	assert_int_equal(c.ctime, 15);
	assert_int_equal(c.ttime, 16);  /* 15.5 rounded */
	assert_int_equal(c.ttime_max, 21);
	assert_int_equal(c.qtime, 4);

	memset(&r, 0, sizeof(r));
	px_rate_add(&r, 7000);
	px_rate_add(&r, 7100);
	px_rate_add(&r, 7999);
	assert_int_equal(px_rate_get(&r, 7999), 3);
	assert_int_equal(px_rate_get(&r, 8500), 3);     /* the last full second */
	px_rate_add(&r, 8600);
	assert_int_equal(px_rate_get(&r, 8600), 3);
	assert_int_equal(px_rate_get(&r, 9100), 1);
	assert_int_equal(px_rate_get(&r, 11000), 0);
}

/* A rate counted in three threads' slots: the sum by second, the maximum
 * kept when a thread starts a new second, and nothing counted twice. */
static void test_proxy_mtrate(void **state)
{
	struct px_mtrate m;
	unsigned i;

	(void)state;
	assert_int_equal(px_mtrate_init(&m, 3), 0);
	assert_int_equal((uintptr_t)&m.slot[1] - (uintptr_t)&m.slot[0], 64);
	thread_id = 0;
	px_mtrate_add(&m, 1000);
	px_mtrate_add(&m, 1100);
	thread_id = 1;
	for (i = 0; i < 3; i++)
		px_mtrate_add(&m, 1200);
	assert_int_equal(px_mtrate_get(&m, 1500), 5);
	assert_int_equal(px_mtrate_max(&m), 5);
	/* Second 2: thread 0 moves on first, thread 1 later. */
	thread_id = 0;
	px_mtrate_add(&m, 2100);
	assert_int_equal(m.max, 5);
	assert_int_equal(px_mtrate_get(&m, 2100), 5);   /* second 1 is larger */
	thread_id = 1;
	px_mtrate_add(&m, 2200);
	thread_id = 0;
	for (i = 0; i < 10; i++)
		px_mtrate_add(&m, 2300);
	assert_int_equal(px_mtrate_get(&m, 2300), 12);  /* 11 + 1, not 11 + 3 */
	assert_int_equal(px_mtrate_max(&m), 12);
	/* Idle: the rate falls to 0, the maximum stays. */
	assert_int_equal(px_mtrate_get(&m, 9000), 0);
	assert_int_equal(px_mtrate_max(&m), 12);
	thread_id = 1;
	px_mtrate_add(&m, 9000);        /* folds second 2 */
	assert_int_equal(m.max, 12);
	assert_int_equal(px_mtrate_get(&m, 9000), 1);
	assert_int_equal(px_mtrate_get(&m, 10500), 1);
	thread_id = 0;
	px_mtrate_free(&m);
	assert_null(m.slot);
	assert_int_equal(px_mtrate_get(&m, 9000), 0);
}

/* What proxy_build derives from the configuration for HTTP: the check
 * request (http-check send) and each server's Set-Cookie value. */
static void test_proxy_http_build(void **state)
{
	static char meth[] = "GET", uri[] = "/health", ver[] = "HTTP/1.1",
		    hdrs[] = "Host: chk.example\r\n", ck[] = "SRV", dom[] = ".example",
		    va[] = "a1";
	struct cfg_proxy *p;
	struct proxy *be;
	char err[128];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	p = fake_cfg_backend(&cfg, "be", 2, CFG_BALANCE_ROUNDROBIN);
	p->options |= CFG_OPT_HTTPCHK;
	p->chk_method = meth;
	p->chk_uri = uri;
	p->chk_version = ver;
	p->chk_hdrs = hdrs;
	p->ck_name = ck;
	p->ck_domain = dom;
	p->ck_opts = CFG_CK_HTTPONLY | CFG_CK_SECURE;
	p->servers[0].cookie = va;
	assert_int_equal(proxy_build(&cfg, fake_now, err, sizeof(err)), 0);
	be = proxy_find("be", CFG_CAP_BE);
	assert_string_equal(be->chk_req, "GET /health HTTP/1.1\r\nHost: chk.example\r\n"
			    "Connection: close\r\n\r\n");
	assert_int_equal(be->chk_reqlen, strlen(be->chk_req));
	assert_string_equal(be->ck_name, "SRV");
	assert_string_equal(be->srvs[0].cookie, "a1");
	assert_string_equal(be->srvs[0].ck_set, "SRV=a1; path=/; domain=.example; HttpOnly; Secure");
	assert_null(be->srvs[1].ck_set);
	/* the strings belong to this test, not to fake_cfg_free */
	p->chk_method = p->chk_uri = p->chk_version = p->chk_hdrs = NULL;
	p->ck_name = p->ck_domain = NULL;
	p->servers[0].cookie = NULL;
}

static void test_proxy_server_parse(void **state)
{
	static const unsigned w[] = { 1 };
	struct proxy *be = build(CFG_BALANCE_ROUNDROBIN, w, 1), *pbe;
	struct server *srv;
	char err[64];

	(void)state;
	assert_int_equal(proxy_server_parse("be/s1", &pbe, &srv, err, sizeof(err)), 0);
	assert_ptr_equal(pbe, be);
	assert_ptr_equal(srv, &be->srvs[0]);
	assert_int_equal(proxy_server_parse("be/s9", &pbe, &srv, err, sizeof(err)), -1);
	assert_string_equal(err, "No such server.");
	assert_int_equal(proxy_server_parse("zz/s1", &pbe, &srv, err, sizeof(err)), -1);
	assert_string_equal(err, "No such backend.");
	assert_int_equal(proxy_server_parse("bes1", &pbe, &srv, err, sizeof(err)), -1);
	assert_string_equal(err, "Require 'backend/server'.");
	assert_int_equal(proxy_server_parse("be/", &pbe, &srv, err, sizeof(err)), -1);
	assert_int_equal(proxy_server_parse(NULL, &pbe, &srv, err, sizeof(err)), -1);
	assert_null(proxy_find("be", CFG_CAP_FE));
	assert_int_equal(proxy_count(), 1);
	assert_null(proxy_at(1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_lb_roundrobin_smooth_sequence, teardown),
		cmocka_unit_test_teardown(test_lb_roundrobin_distribution, teardown),
		cmocka_unit_test_teardown(test_lb_roundrobin_skips_unusable_and_full, teardown),
		cmocka_unit_test_teardown(test_lb_leastconn_picks_least_loaded, teardown),
		cmocka_unit_test_teardown(test_lb_leastconn_ties_rotate, teardown),
		cmocka_unit_test_teardown(test_lb_leastconn_balances_with_sessions, teardown),
		cmocka_unit_test_teardown(test_lb_source_stable, teardown),
		cmocka_unit_test_teardown(test_lb_source_weights, teardown),
		cmocka_unit_test_teardown(test_lb_hash_addr_ignores_port, teardown),
		cmocka_unit_test_teardown(test_lb_first_fills_in_order, teardown),
		cmocka_unit_test_teardown(test_lb_backup_only_when_no_active, teardown),
		cmocka_unit_test_teardown(test_lb_slowstart_ramp, teardown),
		cmocka_unit_test_teardown(test_lb_no_servers, teardown),
		cmocka_unit_test_teardown(test_proxy_counters_and_rates, teardown),
		cmocka_unit_test(test_proxy_mtrate),
		cmocka_unit_test_teardown(test_proxy_http_build, teardown),
		cmocka_unit_test_teardown(test_proxy_server_parse, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
