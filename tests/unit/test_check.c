#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_fake.h"
#include "proxyd/cfg.h"
#include "proxyd/check.h"
#include "proxyd/proxy.h"
#include "proxyd/queue.h"

/* ---- fakes: a loop the test drives by hand, and the event log ---------- */

void plog_event(int severity, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char events[8][512];
static unsigned nevents;

void plog_event(int severity, const char *fmt, ...)
{
	va_list ap;

	(void)severity;
	va_start(ap, fmt);
	vsnprintf(events[nevents % 8], sizeof(events[0]), fmt, ap);
	va_end(ap);
	nevents++;
}

static struct loop_fd *reg_fd;          /* the one check fd registered */
static struct loop_timer *timers[8];
static unsigned ntimers;

void loop_fd_init(struct loop_fd *lf, int fd, loop_fd_cb cb, void *arg)
{
	lf->fd = fd;
	lf->cb = cb;
	lf->arg = arg;
	lf->registered = 0;
}

int loop_fd_add(struct loop_fd *lf, uint32_t ev)
{
	lf->events = ev;
	lf->registered = 1;
	reg_fd = lf;
	return 0;
}

int loop_fd_mod(struct loop_fd *lf, uint32_t ev)
{
	lf->events = ev;
	return 0;
}

void loop_fd_del(struct loop_fd *lf)
{
	lf->registered = 0;
	if (reg_fd == lf)
		reg_fd = NULL;
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg)
{
	t->cb = cb;
	t->arg = arg;
	t->idx = 0;
	if (ntimers < 8)
		timers[ntimers++] = t;
}

int loop_timer_arm(struct loop_timer *t, uint64_t expire)
{
	t->expire = expire;
	t->idx = 1;
	return 0;
}

int loop_timer_arm_in(struct loop_timer *t, uint64_t ms)
{
	return loop_timer_arm(t, fake_now + ms);
}

void loop_timer_cancel(struct loop_timer *t)
{
	t->idx = 0;
}

void fake_session_end(struct session *s)
{
	backend_sess_end(s);
}

/* ---- helpers ------------------------------------------------------------- */

static struct cfg cfg;
static int lfd = -1;
static unsigned lport;

static int listen_any(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_not_equal(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lport)
		sin.sin_port = htons((uint16_t)lport);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	lport = ntohs(sin.sin_port);
	return fd;
}

/* One backend, one checked server (inter 1000, fall 2, rise 3) pointing at a
 * listening socket on a kernel-chosen port. */
static struct server *build(unsigned flags)
{
	struct cfg_proxy *p;
	char err[128];

	memset(&cfg, 0, sizeof(cfg));
	lport = 0;
	lfd = listen_any();
	p = fake_cfg_backend(&cfg, "be", 1, CFG_BALANCE_ROUNDROBIN);
	p->servers[0].flags |= CFG_SRV_CHECK | flags;
	p->servers[0].inter = p->servers[0].fastinter = p->servers[0].downinter = 1000;
	p->servers[0].fall = 2;
	p->servers[0].rise = 3;
	fake_addr(&p->servers[0].addr, &p->servers[0].addrlen, "127.0.0.1", lport);
	assert_int_equal(proxy_build(&cfg, fake_now, err, sizeof(err)), 0);
	ntimers = 0;
	nevents = 0;
	reg_fd = NULL;
	assert_int_equal(check_start_all(), 0);
	assert_int_equal(ntimers, 2);          /* the server's warmup and check timers */
	return &proxy_find("be", CFG_CAP_BE)->srvs[0];
}

static int teardown(void **state)
{
	(void)state;
	check_stop_all();
	proxy_free_all();
	fake_cfg_free(&cfg);
	if (lfd != -1)
		close(lfd);
	lfd = -1;
	fake_now = 1000000;
	return 0;
}

/* Runs one check: fires the timer, then delivers the connect's outcome. */
static void run_check(struct server *srv)
{
	struct loop_timer *t = &srv->chk.timer;

	assert_true(loop_timer_armed(t) || t->idx);
	fake_now = t->expire > fake_now ? t->expire : fake_now;
	t->idx = 0;
	t->cb(t);
	if (srv->chk.running) {
		struct pollfd pfd = { .fd = srv->chk.fd, .events = POLLOUT };

		assert_non_null(reg_fd);
		assert_int_equal(poll(&pfd, 1, 2000), 1);
		fake_now += 3;
		reg_fd->cb(reg_fd, LOOP_OUT | (pfd.revents & POLLERR ? LOOP_ERR : 0) |
			   (pfd.revents & POLLHUP ? LOOP_HUP : 0));
	}
	assert_false(srv->chk.running);
	assert_int_equal(srv->chk.fd, -1);
}

int loop_timer_armed(const struct loop_timer *t)
{
	return t->idx != 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_check_pass_then_fall_then_rise(void **state)
{
	struct server *srv = build(0);
	unsigned i;

	(void)state;
	/* Starts UP at health rise: a pass brings it to rise + fall - 1. */
	assert_int_equal(srv->chk.health, 3);
	run_check(srv);
	assert_int_equal(srv->chk.status, CHK_STATUS_L4OK);
	assert_int_equal(srv->chk.result, CHK_RES_PASSED);
	assert_string_equal(srv->chk.desc, "Layer4 check passed");
	assert_int_equal(srv->chk.health, 4);
	assert_int_equal(server_status(srv), SRV_STATUS_UP);
	assert_int_equal(nevents, 0);

	/* The next check comes one inter after the previous one started. */
	assert_true(srv->chk.timer.expire >= fake_now + 1000 - 10);

	/* Refused: fall (2) failures mark it DOWN, not one. */
	close(lfd);
	lfd = -1;
	run_check(srv);
	assert_int_equal(srv->chk.status, CHK_STATUS_L4CON);
	assert_string_equal(srv->chk.info, "Connection refused");
	assert_int_equal(server_status(srv), SRV_STATUS_UP);
	assert_int_equal(srv->chk.failed, 1);
	run_check(srv);
	assert_int_equal(server_status(srv), SRV_STATUS_DOWN);
	assert_int_equal(srv->chk.health, 0);
	assert_int_equal(srv->chkdown, 1);
	assert_int_equal(nevents, 2);   /* the server, then its backend */
	assert_non_null(strstr(events[0], "event=server_state backend=be server=s1 from=UP to=DOWN "
			       "reason=\"Layer4 connection problem\" check_duration="));
	assert_non_null(strstr(events[0], "ms info=\"Connection refused\" active_left=0 backup_left=0"));
	assert_non_null(strstr(events[1], "event=backend_state backend=be from=UP to=DOWN"));
	/* Failures while DOWN are not counted in chkfail. */
	run_check(srv);
	assert_int_equal(srv->chk.failed, 2);
	run_check(srv);
	assert_int_equal(srv->chk.failed, 2);

	/* Back: rise (3) passes mark it UP. */
	lfd = listen_any();
	for (i = 0; i < 2; i++) {
		run_check(srv);
		assert_int_equal(server_status(srv), SRV_STATUS_DOWN);
		assert_int_equal(srv->chk.health, i + 1);
	}
	run_check(srv);
	assert_int_equal(server_status(srv), SRV_STATUS_UP);
	assert_int_equal(srv->chk.health, 4);
	assert_non_null(strstr(events[(nevents - 2) % 8], "from=DOWN to=UP reason=\"Layer4 check passed\""));
}

static void test_check_timeout(void **state)
{
	struct server *srv = build(0);
	struct loop_timer *t = &srv->chk.timer;

	(void)state;
	/* A connect in flight when its timeout fires: Layer4 timeout. */
	fake_now = t->expire;
	t->idx = 0;
	t->cb(t);
	assert_true(srv->chk.running);
	assert_int_equal(t->expire, fake_now + 1000);  /* timeout = inter */
	fake_now = t->expire;
	t->idx = 0;
	t->cb(t);
	assert_false(srv->chk.running);
	assert_int_equal(srv->chk.status, CHK_STATUS_L4TOUT);
	assert_string_equal(srv->chk.desc, "Layer4 timeout");
	assert_int_equal(srv->chk.duration, 1000);
	/* health was rise: one failure is enough at start, as in HAProxy. */
	assert_int_equal(server_status(srv), SRV_STATUS_DOWN);
	assert_non_null(strstr(events[0], "reason=\"Layer4 timeout\" check_duration=1000ms"));
}

static void test_check_marked_down_shuts_sessions(void **state)
{
	static struct session sess[3];
	struct server *srv = build(CFG_SRV_SHUTDOWN_ON_DOWN);
	struct server *got;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		fake_session_init(&sess[i], i);
		sess[i].release_on_shutdown = 1;
		assert_int_equal(backend_assign(srv->be, &sess[i], 0, &got), ASSIGN_ASSIGNED);
	}
	assert_int_equal(srv->c.scur, 3);
	close(lfd);
	lfd = -1;
	run_check(srv);
	assert_int_equal(server_status(srv), SRV_STATUS_DOWN);
	for (i = 0; i < 3; i++) {
		assert_int_equal(sess[i].shut, 1);
		assert_string_equal(sess[i].why, "server down");
	}
	assert_int_equal(srv->c.scur, 0);
	assert_true(px_list_empty(&srv->sessions));
}

static void test_check_paused_in_maint(void **state)
{
	struct server *srv = build(0);
	struct loop_timer *t = &srv->chk.timer;

	(void)state;
	server_set_admin(srv, SRV_ADMIN_MAINT, "test");
	close(lfd);
	lfd = -1;
	fake_now = t->expire;
	t->idx = 0;
	t->cb(t);
	assert_false(srv->chk.running);
	assert_int_equal(srv->chk.status, CHK_STATUS_INI);     /* no check ran */
	assert_int_equal(t->idx, 1);                           /* looked again later */
	server_set_admin(srv, SRV_ADMIN_READY, "test");
	assert_int_equal(server_status(srv), SRV_STATUS_UP);
	run_check(srv);                                         /* refused */
	assert_int_equal(server_status(srv), SRV_STATUS_DOWN);
}

/* Slowstart: while the limit ramps up, the warmup timer serves the queue. */
static void test_check_warmup_serves_queue(void **state)
{
	static struct session sess[12];
	struct server *srv = build(0), *got;
	int i;

	(void)state;
	srv->slowstart = 10000;
	srv->maxconn = srv->minconn = 10;
	server_set_admin(srv, SRV_ADMIN_MAINT, "test");
	server_set_admin(srv, SRV_ADMIN_READY, "test");
	assert_int_equal(server_status(srv), SRV_STATUS_STARTING);
	assert_true(loop_timer_armed(&srv->warmup));
	assert_int_equal(srv->warmup.expire, fake_now + 1000);
	for (i = 0; i < 12; i++) {
		fake_session_init(&sess[i], i);
		backend_assign(srv->be, &sess[i], 0, &got);
	}
	assert_int_equal(srv->c.scur, 1);       /* 1 at the start of the ramp */
	assert_int_equal(srv->be->be.qcur, 11);
	for (i = 1; i <= 10; i++) {
		fake_now = srv->warmup.expire;
		srv->warmup.idx = 0;
		srv->warmup.cb(&srv->warmup);
		assert_int_equal(srv->c.scur, i < 10 ? (unsigned)i : 10u);
	}
	assert_int_equal(server_status(srv), SRV_STATUS_UP);
	assert_false(loop_timer_armed(&srv->warmup));
	assert_int_equal(srv->be->be.qcur, 2);
	for (i = 0; i < 12; i++)
		backend_sess_end(&sess[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_check_pass_then_fall_then_rise, teardown),
		cmocka_unit_test_teardown(test_check_timeout, teardown),
		cmocka_unit_test_teardown(test_check_marked_down_shuts_sessions, teardown),
		cmocka_unit_test_teardown(test_check_paused_in_maint, teardown),
		cmocka_unit_test_teardown(test_check_warmup_serves_queue, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
