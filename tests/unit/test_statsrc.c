/* Unit tests of the stats socket client and parsers, on output captured
 * from HAProxy 2.6 and from proxyd with the same configuration. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/sbuf.h"
#include "proxyd/cfg.h"
#include "supervisor/statsrc.h"

#define FIXTURE(name) STATS_FIXTURES "/" name

/* The configuration both fixtures were captured with (the stats socket
 * path aside). */
static const char fixture_cfg[] =
	"global\n"
	"    maxconn 200\n"
	"defaults\n"
	"    mode tcp\n"
	"    timeout connect 1s\n"
	"    timeout client 10s\n"
	"    timeout server 10s\n"
	"frontend fe_main\n"
	"    bind 127.0.0.1:26001\n"
	"    maxconn 100\n"
	"    default_backend be_app\n"
	"backend be_app\n"
	"    fullconn 50\n"
	"    server s1 127.0.0.1:26002 minconn 2 maxconn 20 check inter 500\n"
	"    server s2 127.0.0.1:26003 maxconn 10\n";

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void load_view(struct stats_view *v, const char *csv, const char *state)
{
	char err[256] = "";
	size_t len;
	char *t;

	memset(v, 0, sizeof(*v));
	stats_view_reset(v);
	t = slurp(csv, &len);
	if (stats_parse_csv(t, len, v, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	free(t);
	if (state) {
		t = slurp(state, &len);
		if (stats_parse_servers_state(t, len, v, err, sizeof(err)) == -1)
			fail_msg("%s", err);
		free(t);
	}
}

static void test_haproxy_csv(void **state)
{
	struct stats_view v;
	const struct stats_row *fe, *s1, *s2, *be;

	(void)state;
	load_view(&v, FIXTURE("haproxy26-show-stat.csv"), FIXTURE("haproxy26-servers-state.txt"));
	assert_int_equal(v.len, 4);
	assert_int_equal(v.has_eff_col, 0);
	fe = stats_find(&v, "fe_main", "FRONTEND");
	s1 = stats_find(&v, "be_app", "s1");
	s2 = stats_find(&v, "be_app", "s2");
	be = stats_find(&v, "be_app", NULL);
	assert_non_null(fe);
	assert_non_null(s1);
	assert_non_null(s2);
	assert_non_null(be);
	assert_int_equal(fe->type, ST_FRONTEND);
	assert_int_equal(fe->slim, 100);
	assert_int_equal(fe->scur, 0);
	assert_int_equal(fe->qcur, -1);
	assert_string_equal(fe->status, "OPEN");
	assert_int_equal(be->type, ST_BACKEND);
	assert_int_equal(be->slim, 50);
	assert_int_equal(s1->type, ST_SERVER);
	assert_string_equal(s1->status, "DOWN");
	assert_string_equal(s1->check_status, "L4CON");
	assert_string_equal(s1->addr, "127.0.0.1:26002");
	assert_int_equal(s1->slim, 20);
	assert_int_equal(s1->qcur, 0);
	assert_int_equal(s1->eff_src, SE_NONE);
	assert_int_equal(s1->minconn, -1);
	assert_true(stats_row_is_down(s1));
	assert_false(stats_row_is_down(s2));
	assert_false(stats_row_is_down(be));
	assert_string_equal(s2->status, "no check");
	/* show servers state merged in. */
	assert_true(s1->have_state);
	assert_int_equal(s1->op_state, 0);
	assert_int_equal(s1->admin_state, 0);
	assert_string_equal(s1->srv_addr, "127.0.0.1");
	assert_int_equal(s1->srv_port, 26002);
	assert_int_equal(s1->since_change, 2);
	assert_int_equal(s2->op_state, 2);
	assert_int_equal(s2->srv_port, 26003);
	assert_int_equal(v.len, 4);
	stats_view_free(&v);
}

static void test_haproxy_apply_cfg(void **state)
{
	struct stats_view v;
	struct cfg c;
	struct cfg_diag d;
	const struct stats_row *s1, *s2;

	(void)state;
	load_view(&v, FIXTURE("haproxy26-show-stat.csv"), NULL);
	cfg_diag_init(&d);
	assert_int_equal(cfg_load_mem("h.cfg", fixture_cfg, strlen(fixture_cfg), &c, &d), 0);
	assert_int_equal(stats_view_apply_cfg(&v, &c), 2);
	s1 = stats_find(&v, "be_app", "s1");
	s2 = stats_find(&v, "be_app", "s2");
	/* Backend idle: max(minconn 2, 20 * 0 / 50). */
	assert_int_equal(s1->eff_src, SE_COMPUTED);
	assert_int_equal(s1->eff_maxconn, 2);
	assert_int_equal(s1->minconn, 2);
	assert_int_equal(s1->fullconn, 50);
	/* minconn defaults to maxconn: no dynamic limit. */
	assert_int_equal(s2->eff_maxconn, 10);
	/* Reported or computed already: not again. */
	assert_int_equal(stats_view_apply_cfg(&v, &c), 0);
	cfg_free(&c);
	cfg_diag_free(&d);
	stats_view_free(&v);
}

static void test_haproxy_apply_cfg_busy_backend(void **state)
{
	static const char csv[] =
		"# pxname,svname,qcur,scur,slim,status\n"
		"be_app,s1,7,10,20,UP\n"
		"be_app,BACKEND,7,25,50,UP\n";
	struct stats_view v;
	struct cfg c;
	struct cfg_diag d;
	char err[128];

	(void)state;
	memset(&v, 0, sizeof(v));
	assert_int_equal(stats_parse_csv(csv, strlen(csv), &v, err, sizeof(err)), 0);
	cfg_diag_init(&d);
	assert_int_equal(cfg_load_mem("h.cfg", fixture_cfg, strlen(fixture_cfg), &c, &d), 0);
	assert_int_equal(stats_view_apply_cfg(&v, &c), 1);
	/* 20 * 25 / 50 */
	assert_int_equal(stats_find(&v, "be_app", "s1")->eff_maxconn, 10);
	cfg_free(&c);
	cfg_diag_free(&d);
	stats_view_free(&v);
}

static void test_proxyd_csv(void **state)
{
	struct stats_view v;
	const struct stats_row *s1, *s2, *be;

	(void)state;
	load_view(&v, FIXTURE("proxyd-show-stat.csv"), FIXTURE("proxyd-servers-state.txt"));
	assert_int_equal(v.len, 4);
	assert_int_equal(v.has_eff_col, 1);
	s1 = stats_find(&v, "be_app", "s1");
	s2 = stats_find(&v, "be_app", "s2");
	be = stats_backend_row(&v, "be_app");
	assert_non_null(s1);
	assert_non_null(s2);
	assert_non_null(be);
	assert_int_equal(s1->eff_src, SE_REPORTED);
	assert_int_equal(s1->eff_maxconn, 2);
	assert_int_equal(s1->minconn, 2);
	assert_int_equal(s1->fullconn, 50);
	assert_int_equal(s1->slim, 20);
	assert_int_equal(s2->eff_maxconn, 10);
	assert_int_equal(be->eff_maxconn, 12);
	assert_true(stats_row_is_down(s1));
	assert_int_equal(s1->srv_port, 26002);
	assert_int_equal(s1->op_state, 0);
	stats_view_free(&v);
}

/* Columns are found by name: any order, unknown ones ignored, an empty
 * eff_maxconn is "unlimited", the type column wins over svname. */
static void test_csv_by_name(void **state)
{
	static const char csv[] =
		"# svname,zz_new,pxname,type,eff_maxconn,qcur,slim,status\r\n"
		"a,x,be,2,,3,,UP\r\n"
		"b,x,be,2,4,1,8,DOWN 1/2\r\n"
		"\r\n";
	struct stats_view v;
	char err[128];

	(void)state;
	memset(&v, 0, sizeof(v));
	assert_int_equal(stats_parse_csv(csv, strlen(csv), &v, err, sizeof(err)), 0);
	assert_int_equal(v.len, 2);
	assert_string_equal(v.rows[0].pxname, "be");
	assert_string_equal(v.rows[0].svname, "a");
	assert_int_equal(v.rows[0].eff_src, SE_UNLIMITED);
	assert_int_equal(v.rows[0].qcur, 3);
	assert_int_equal(v.rows[0].slim, -1);
	assert_int_equal(v.rows[0].scur, -1);
	assert_int_equal(v.rows[1].eff_src, SE_REPORTED);
	assert_int_equal(v.rows[1].eff_maxconn, 4);
	assert_true(stats_row_is_down(&v.rows[1]));
	stats_view_free(&v);
}

static void test_parse_errors(void **state)
{
	static const char nohdr[] = "be,s1,1,2\n";
	static const char nopx[] = "# a,b,c\nx,y,z\n";
	static const char v2[] = "2\n# be_id be_name\n";
	static const char st_nohdr[] = "1\n3 be s1 1.2.3.4 2\n";
	struct stats_view v;
	char err[128];

	(void)state;
	memset(&v, 0, sizeof(v));
	errno = 0;
	assert_int_equal(stats_parse_csv(nohdr, strlen(nohdr), &v, err, sizeof(err)), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(stats_parse_csv(nopx, strlen(nopx), &v, err, sizeof(err)), -1);
	assert_int_equal(stats_parse_csv("", 0, &v, err, sizeof(err)), -1);
	assert_int_equal(stats_parse_servers_state(v2, strlen(v2), &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 1"));
	assert_int_equal(stats_parse_servers_state(st_nohdr, strlen(st_nohdr), &v, err,
						   sizeof(err)), -1);
	stats_view_free(&v);
}

static void test_parse_info(void **state)
{
	static const char info[] = "Name: HAProxy\nVersion: 2.6.12\nPid: 4242\nMaxconn: 200\n"
		"Hard_maxconn: 200\nCurrConns: 187\n";
	struct stats_view v;

	(void)state;
	memset(&v, 0, sizeof(v));
	assert_int_equal(stats_parse_info(info, strlen(info), &v), 0);
	assert_true(v.have_info);
	assert_int_equal(v.info_maxconn, 200);
	assert_int_equal(v.info_curconns, 187);
	assert_int_equal(v.info_pid, 4242);
}

/* ---- the client against a unix socket served by a thread ---- */

struct server {
	int lfd;
	int mode;              /* 0 answer, 1 never answer, 2 answer answer[] */
	const char *answer;
	char got[128];
	char path[108];
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	size_t off = 0;
	char big[4096];
	int i;

	if (fd == -1)
		return NULL;
	while (off < sizeof(s->got) - 1) {
		ssize_t n = read(fd, s->got + off, 1);

		if (n <= 0 || s->got[off] == '\n')
			break;
		off++;
	}
	s->got[off] = '\0';
	if (s->mode == 2) {
		size_t n = strlen(s->answer);

		if (write(fd, s->answer, n) != (ssize_t)n)
			goto out;
	} else if (s->mode == 0) {
		memset(big, 'x', sizeof(big));
		big[sizeof(big) - 1] = '\n';
		if (write(fd, "# pxname,svname\n", 16) != 16)
			goto out;
		/* More than one read's worth. */
		for (i = 0; i < 8; i++)
			if (write(fd, big, sizeof(big)) != (ssize_t)sizeof(big))
				goto out;
	} else {
		usleep(600 * 1000);
	}
out:
	close(fd);
	return NULL;
}

static void server_start(struct server *s, pthread_t *th, int mode, const char *answer)
{
	struct sockaddr_un sun;

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->answer = answer;
	snprintf(s->path, sizeof(s->path), "/tmp/test_statsrc.%ld.sock", (long)getpid());
	unlink(s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, s->path, strlen(s->path));
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(pthread_create(th, NULL, serve, s), 0);
}

static void server_stop(struct server *s, pthread_t th)
{
	pthread_join(th, NULL);
	close(s->lfd);
	unlink(s->path);
}

static void test_query_reads_to_eof(void **state)
{
	struct server s;
	pthread_t th;
	struct sbuf out;
	char err[256] = "";

	(void)state;
	server_start(&s, &th, 0, NULL);
	sb_init(&out);
	if (stats_query(s.path, "show stat", 2000, &out, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	server_stop(&s, th);
	assert_string_equal(s.got, "show stat");
	assert_int_equal(out.len, 16 + 8 * 4096);
	assert_memory_equal(out.p, "# pxname,svname\n", 16);
	sb_free(&out);
}

static void test_query_deadline(void **state)
{
	struct server s;
	pthread_t th;
	struct sbuf out;
	char err[256] = "";
	uint64_t t0;

	(void)state;
	server_start(&s, &th, 1, NULL);
	sb_init(&out);
	t0 = clock_mono_ms();
	errno = 0;
	assert_int_equal(stats_query(s.path, "show stat", 150, &out, err, sizeof(err)), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(clock_mono_ms() - t0 < 500);
	server_stop(&s, th);
	sb_free(&out);
}

static void test_read_view(void **state)
{
	struct server s;
	pthread_t th;
	struct sbuf ans, scratch;
	struct stats_view v;
	char err[256] = "";
	size_t len;
	char *t;

	(void)state;
	sb_init(&ans);
	sb_puts(&ans, "Name: HAProxy\nVersion: 2.6.12\nPid: 26434\nMaxconn: 200\nCurrConns: 3\n\n");
	t = slurp(FIXTURE("haproxy26-show-stat.csv"), &len);
	sb_putn(&ans, t, len);
	free(t);
	t = slurp(FIXTURE("haproxy26-servers-state.txt"), &len);
	sb_putn(&ans, t, len);
	free(t);
	server_start(&s, &th, 2, sb_cstr(&ans));
	sb_init(&scratch);
	memset(&v, 0, sizeof(v));
	if (stats_read(s.path, 2000, &v, &scratch, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	server_stop(&s, th);
	assert_string_equal(s.got, STATS_READ_CMD);
	assert_int_equal(v.pid, 26434);
	assert_int_equal(v.info_maxconn, 200);
	assert_int_equal(v.info_curconns, 3);
	assert_int_equal(v.len, 4);
	assert_int_equal(stats_find(&v, "be_app", "s1")->srv_port, 26002);
	stats_view_free(&v);
	sb_free(&scratch);
	sb_free(&ans);

	/* Two answers only: an error. */
	sb_init(&ans);
	sb_puts(&ans, "Pid: 1\n\n# pxname,svname\n\n");
	server_start(&s, &th, 2, sb_cstr(&ans));
	sb_init(&scratch);
	memset(&v, 0, sizeof(v));
	assert_int_equal(stats_read(s.path, 2000, &v, &scratch, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2 answers"));
	server_stop(&s, th);
	stats_view_free(&v);
	sb_free(&scratch);
	sb_free(&ans);
}

static void test_query_no_socket(void **state)
{
	struct sbuf out;
	char err[256] = "";

	(void)state;
	sb_init(&out);
	errno = 0;
	assert_int_equal(stats_query("/nonexistent/stats.sock", "show stat", 100, &out, err,
				     sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent/stats.sock"));
	sb_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_haproxy_csv),
		cmocka_unit_test(test_haproxy_apply_cfg),
		cmocka_unit_test(test_haproxy_apply_cfg_busy_backend),
		cmocka_unit_test(test_proxyd_csv),
		cmocka_unit_test(test_csv_by_name),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_info),
		cmocka_unit_test(test_query_reads_to_eof),
		cmocka_unit_test(test_query_deadline),
		cmocka_unit_test(test_read_view),
		cmocka_unit_test(test_query_no_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
