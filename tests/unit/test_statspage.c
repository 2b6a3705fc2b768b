/* Tests for the HTTP statistics page (proxyd/statspage.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxyd/statspage.h"

static const char csv[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"
	"wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,\n"
	"web,FRONTEND,,,3,9,2000,120,5000,90000,1,0,2,,,,,OPEN,,,,,,,,\n"
	"app,a<b>,0,1,2,4,,100,4000,80000,,0,,0,1,0,0,UP,1,1,0,0,0,35,0,\n"
	"app,b,0,0,0,0,,10,100,200,,0,,3,0,1,0,DOWN,1,1,0,5,1,3,12,\n"
	"app,BACKEND,0,1,2,4,200,110,4100,80200,0,0,,3,1,1,0,UP,2,2,0,,1,35,0,\n"
	"\n";

/* One table per proxy, rows in order, values escaped, statuses as classes,
 * the refresh and the CSV link. */
static void test_html(void **state)
{
	struct statspage_opts o = { 5, "proxyd 1.0", "pid 7", "/stats" };
	struct sbuf out;
	const char *p, *web, *app, *a, *b, *be;

	(void)state;
	sb_init(&out);
	statspage_html(&out, csv, sizeof(csv) - 1, &o);
	p = sb_cstr(&out);
	assert_non_null(strstr(p, "<title>Statistics Report for proxyd 1.0</title>"));
	assert_non_null(strstr(p, "<meta http-equiv=\"refresh\" content=\"5\">"));
	assert_non_null(strstr(p, "pid 7"));
	assert_non_null(strstr(p, "<a href=\"/stats;csv\">"));
	web = strstr(p, "<h2>web</h2>");
	app = strstr(p, "<h2>app</h2>");
	assert_non_null(web);
	assert_non_null(app);
	assert_true(web < app);
	/* the server name is escaped */
	a = strstr(p, "<tr class=\"up\"><td>a&lt;b&gt;</td>");
	b = strstr(p, "<tr class=\"down\"><td>b</td>");
	be = strstr(p, "<tr class=\"px\"><td>BACKEND</td>");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(be);
	assert_true(app < a && a < b && b < be);
	/* two-value cells: sessions cur/max, errors conn/resp */
	assert_non_null(strstr(a, "<td>2/4</td>"));
	assert_non_null(strstr(b, "<td>3/0</td>"));
	assert_null(strstr(p, "<b>"));
	assert_int_equal(out.err, 0);
	sb_free(&out);

	/* no refresh asked: no meta refresh */
	o.refresh_s = 0;
	sb_init(&out);
	statspage_html(&out, csv, sizeof(csv) - 1, &o);
	assert_null(strstr(sb_cstr(&out), "http-equiv"));
	sb_free(&out);
}

static void test_wants_csv(void **state)
{
	(void)state;
	assert_true(statspage_wants_csv("/haproxy?stats;csv", 18));
	assert_true(statspage_wants_csv("/s;CSV;norefresh", 16));
	assert_false(statspage_wants_csv("/haproxy?stats", 14));
	assert_false(statspage_wants_csv("/s;cs", 5));
}

/* "admin:secret" is YWRtaW46c2VjcmV0. */
static void test_auth(void **state)
{
	char u1[] = "admin:secret", u2[] = "ops:x";
	char *const users[] = { u1, u2 };

	(void)state;
	assert_true(statspage_auth_ok("Basic YWRtaW46c2VjcmV0", 22, users, 2));
	assert_true(statspage_auth_ok("  basic  YWRtaW46c2VjcmV0 ", 26, users, 2));
	assert_true(statspage_auth_ok("Basic b3BzOng=", 14, users, 2));
	assert_false(statspage_auth_ok("Basic b3BzOnk=", 14, users, 2));        /* ops:y */
	assert_false(statspage_auth_ok("Basic YWRtaW46c2VjcmV", 21, users, 2)); /* cut */
	assert_false(statspage_auth_ok("Bearer YWRtaW46c2VjcmV0", 23, users, 2));
	assert_false(statspage_auth_ok("Basic ****", 10, users, 2));
	assert_false(statspage_auth_ok("Basic YWRtaW46c2VjcmV0", 22, users, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_wants_csv),
		cmocka_unit_test(test_auth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
