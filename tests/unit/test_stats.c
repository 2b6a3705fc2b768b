#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend_fake.h"
#include "proxyd/cfg.h"
#include "proxyd/check.h"
#include "proxyd/proxy.h"
#include "proxyd/queue.h"
#include "proxyd/stats.h"

/* Captured from HAProxy 2.6.12 (Debian 12) with `echo "show stat" | socat
 * stdio UNIX:...`: fe -> be { s1 check maxconn 5 slowstart (25% into it),
 * s2 backup maxconn 10 maxqueue 5 } and be2 { n2 check, DOWN; n3 disabled }. */
static const char hap_header[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n";
static const char hap_fe[] =
	"fe,FRONTEND,,,0,1,9984,1,6,6,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,1,0,1,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,1,1,1,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,";
static const char hap_srv_starting[] =
	"be,s1,0,0,0,1,5,1,6,6,,0,,0,0,0,0,UP,1,1,0,3,4,2,14,,1,3,1,25,1,,2,1,,1,L4OK,,0,,,,,,,,,,,0,0,,,,,0,,,0,0,0,2,,,,Layer4 check passed,,2,3,4,,,,127.0.0.1:22991,,tcp,,,,,,,,0,1,0,,,0,,0,0,0,2,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,";
static const char hap_srv_nocheck_backup[] =
	"be,s2,0,0,0,0,10,0,0,0,,0,,0,0,0,0,no check,1,0,1,,,16,,5,1,3,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:22992,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,";
static const char hap_be[] =
	"be,BACKEND,0,0,0,1,10000,1,6,6,0,0,,0,0,0,0,UP,1,1,1,,1,16,0,,1,3,0,,1,,1,1,,1,,,,,,,,,,,,,,0,0,0,0,0,0,0,,,0,0,0,2,,,,,,,,,,,,,,tcp,roundrobin,,,,,,,0,1,0,,,,,0,0,0,2,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,";
static const char hap_srv_down[] =
	"be2,n2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,2,2,,1,2,2,,0,,2,0,,0,L4CON,,0,,,,,,,,,,,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,3,0,,,,[::1]:22994,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,";
static const char hap_srv_maint[] =
	"be2,n3,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,2,,,1,2,3,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:22995,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,";

/* ---- fakes: the event loop and the event log ----------------------------- */

void plog_event(int severity, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char last_event[512];

void plog_event(int severity, const char *fmt, ...)
{
	va_list ap;

	(void)severity;
	va_start(ap, fmt);
	vsnprintf(last_event, sizeof(last_event), fmt, ap);
	va_end(ap);
}

void loop_fd_init(struct loop_fd *lf, int fd, loop_fd_cb cb, void *arg)
{
	lf->fd = fd;
	lf->cb = cb;
	lf->arg = arg;
}

int loop_fd_add(struct loop_fd *lf, uint32_t events)
{
	lf->events = events;
	return 0;
}

int loop_fd_mod(struct loop_fd *lf, uint32_t events)
{
	lf->events = events;
	return 0;
}

void loop_fd_del(struct loop_fd *lf)
{
	lf->events = 0;
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg)
{
	t->cb = cb;
	t->arg = arg;
	t->idx = 0;
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

static int teardown(void **state)
{
	(void)state;
	proxy_free_all();
	fake_cfg_free(&cfg);
	fake_now = 1000000;
	fake_sessions = NULL;
	fake_nsessions = 0;
	return 0;
}

/* fe -> be { s1 check maxconn 5 slowstart 10s, s2 backup maxconn 10 maxqueue 5 } */
static void build_sample(void)
{
	struct cfg_proxy *be;
	char err[128];

	memset(&cfg, 0, sizeof(cfg));
	fake_cfg_frontend(&cfg, "fe", 1);
	cfg.proxies[0].maxconn = 9984;
	be = fake_cfg_backend(&cfg, "be", 2, CFG_BALANCE_ROUNDROBIN);
	be->fullconn = 10000;
	be->servers[0].flags |= CFG_SRV_CHECK;
	be->servers[0].maxconn = 5;
	be->servers[0].minconn = 5;
	be->servers[0].slowstart = 10000;
	be->servers[1].flags |= CFG_SRV_BACKUP;
	be->servers[1].maxconn = 10;
	be->servers[1].minconn = 10;
	be->servers[1].maxqueue = 5;
	assert_int_equal(proxy_build(&cfg, fake_now, err, sizeof(err)), 0);
}

/* Splits a CSV line into fields (in place); returns the count. */
static unsigned csv_split(char *line, char **f, unsigned max)
{
	unsigned n = 0;
	char *p = line;

	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		f[n++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

/* Every HAProxy column of ours is empty exactly where HAProxy's is, except
 * the listed ones (values that depend on state we do not reproduce). */
static void assert_same_shape(const char *ours, const char *theirs, const int *except)
{
	char a[4096], b[4096], *fa[200], *fb[200];
	unsigned na, nb, i;

	snprintf(a, sizeof(a), "%s", ours);
	snprintf(b, sizeof(b), "%s", theirs);
	na = csv_split(a, fa, 200);
	nb = csv_split(b, fb, 200);
	/* HAProxy's line ends with ',' after its last column: nb = 128 + 1. */
	assert_int_equal(nb, STAT_F_HAPROXY_LAST + 2);
	assert_int_equal(na, STAT_F_COUNT + 1);
	for (i = 0; i <= STAT_F_HAPROXY_LAST; i++) {
		const int *e;
		int skip = 0;

		for (e = except; e && *e >= 0; e++)
			if ((unsigned)*e == i)
				skip = 1;
		if (skip)
			continue;
		if ((fa[i][0] == '\0') != (fb[i][0] == '\0'))
			fail_msg("column %u (%s): ours '%s', HAProxy's '%s'", i, stat_cols[i].name,
				 fa[i], fb[i]);
	}
	assert_string_equal(fa[STAT_F_COUNT], "");
}

/* The value of a named column in a CSV line. */
static void csv_get(const char *line, const char *name, char *out, size_t outlen)
{
	char buf[4096], *f[200];
	unsigned n, i;

	snprintf(buf, sizeof(buf), "%s", line);
	n = csv_split(buf, f, 200);
	for (i = 0; i < STAT_F_COUNT && i < n; i++) {
		if (strcmp(stat_cols[i].name, name) == 0) {
			snprintf(out, outlen, "%s", f[i]);
			return;
		}
	}
	fail_msg("no column %s", name);
}

static char *run(const char *line, enum cfg_stats_level level)
{
	struct sbuf out;

	sb_init(&out);
	stats_exec_line(line, level, &out, NULL, NULL);
	return sb_take(&out);
}

/* ---- tests --------------------------------------------------------------- */

static void test_stats_header_equals_haproxy(void **state)
{
	struct sbuf out;
	const char *h;

	(void)state;
	sb_init(&out);
	stats_csv_header(&out);
	h = sb_cstr(&out);
	/* HAProxy's header exactly, then ours, appended. */
	assert_int_equal(strncmp(h, hap_header, strlen(hap_header) - 1), 0);
	assert_string_equal(h + strlen(hap_header) - 1, "eff_maxconn,minconn,fullconn,\n");
	sb_free(&out);
}

static void test_stats_column_table(void **state)
{
	unsigned i, j;

	(void)state;
	assert_int_equal(STAT_F_HAPROXY_LAST, 127);
	for (i = 0; i < STAT_F_COUNT; i++) {
		assert_non_null(stat_cols[i].name);
		assert_non_null(stat_cols[i].desc);
		assert_true(stat_cols[i].desc[0] != '\0');
		assert_null(strchr(stat_cols[i].name, ','));
		for (j = 0; j < i; j++)
			assert_string_not_equal(stat_cols[i].name, stat_cols[j].name);
	}
	assert_string_equal(stat_cols[STAT_F_PXNAME].name, "pxname");
	assert_string_equal(stat_cols[STAT_F_SLIM].name, "slim");
	assert_string_equal(stat_cols[STAT_F_SEP].name, "-");
	assert_string_equal(stat_cols[STAT_F_EFF_MAXCONN].name, "eff_maxconn");
}

static void test_stats_csv_shape_matches_haproxy(void **state)
{
	/* throttle: s1 is not starting here; check columns of s1 come later. */
	static const int srv_except[] = { STAT_F_THROTTLE, STAT_F_CHECK_STATUS,
		STAT_F_CHECK_DURATION, STAT_F_CHECK_DESC, -1 };
	static const int none[] = { -1 };
	struct proxy *fe, *be;
	struct sbuf out;
	char v[80];

	(void)state;
	build_sample();
	fe = proxy_find("fe", CFG_CAP_FE);
	be = proxy_find("be", CFG_CAP_BE);
	sb_init(&out);

	stats_csv_frontend(&out, fe, fake_now);
	assert_same_shape(sb_cstr(&out), hap_fe, none);
	csv_get(sb_cstr(&out), "status", v, sizeof(v));
	assert_string_equal(v, "OPEN");
	csv_get(sb_cstr(&out), "slim", v, sizeof(v));
	assert_string_equal(v, "9984");
	sb_reset(&out);

	stats_csv_server(&out, &be->srvs[1], fake_now);
	assert_same_shape(sb_cstr(&out), hap_srv_nocheck_backup, none);
	csv_get(sb_cstr(&out), "status", v, sizeof(v));
	assert_string_equal(v, "no check");
	csv_get(sb_cstr(&out), "qlimit", v, sizeof(v));
	assert_string_equal(v, "5");
	csv_get(sb_cstr(&out), "addr", v, sizeof(v));
	assert_string_equal(v, "127.0.0.1:22901");
	csv_get(sb_cstr(&out), "bck", v, sizeof(v));
	assert_string_equal(v, "1");
	sb_reset(&out);

	stats_csv_backend(&out, be, fake_now);
	assert_same_shape(sb_cstr(&out), hap_be, none);
	csv_get(sb_cstr(&out), "slim", v, sizeof(v));
	assert_string_equal(v, "10000");
	csv_get(sb_cstr(&out), "algo", v, sizeof(v));
	assert_string_equal(v, "roundrobin");
	csv_get(sb_cstr(&out), "act", v, sizeof(v));
	assert_string_equal(v, "1");
	sb_reset(&out);

	/* s1 in its slowstart, 25% into it, after a passed check. */
	be->srvs[0].op = SRV_OP_STARTING;
	be->srvs[0].op_since = fake_now - 2500;
	be->srvs[0].chk.status = CHK_STATUS_L4OK;
	be->srvs[0].chk.duration = 0;
	be->srvs[0].chk.health = 4;
	snprintf(be->srvs[0].chk.desc, sizeof(be->srvs[0].chk.desc), "Layer4 check passed");
	stats_csv_server(&out, &be->srvs[0], fake_now);
	assert_same_shape(sb_cstr(&out), hap_srv_starting, none);
	csv_get(sb_cstr(&out), "throttle", v, sizeof(v));
	assert_string_equal(v, "25");
	csv_get(sb_cstr(&out), "check_desc", v, sizeof(v));
	assert_string_equal(v, "Layer4 check passed");
	csv_get(sb_cstr(&out), "status", v, sizeof(v));
	assert_string_equal(v, "UP");
	sb_reset(&out);

	/* s1 DOWN after a refused connect. */
	be->srvs[0].op = SRV_OP_DOWN;
	be->srvs[0].down_since = fake_now;
	be->srvs[0].chk.status = CHK_STATUS_L4CON;
	be->srvs[0].chk.health = 0;
	snprintf(be->srvs[0].chk.desc, sizeof(be->srvs[0].chk.desc), "Layer4 connection problem");
	snprintf(be->srvs[0].chk.info, sizeof(be->srvs[0].chk.info), "Connection refused");
	be->srvs[0].maxconn = 0;
	stats_csv_server(&out, &be->srvs[0], fake_now);
	assert_same_shape(sb_cstr(&out), hap_srv_down, none);
	csv_get(sb_cstr(&out), "last_chk", v, sizeof(v));
	assert_string_equal(v, "Connection refused");
	csv_get(sb_cstr(&out), "check_status", v, sizeof(v));
	assert_string_equal(v, "L4CON");
	sb_reset(&out);

	/* s2 in maintenance, no check, no maxconn. */
	be->srvs[1].admin = SRV_ADMIN_MAINT;
	be->srvs[1].maxconn = 0;
	be->srvs[1].maxqueue = 0;
	stats_csv_server(&out, &be->srvs[1], fake_now);
	assert_same_shape(sb_cstr(&out), hap_srv_maint, srv_except);
	csv_get(sb_cstr(&out), "status", v, sizeof(v));
	assert_string_equal(v, "MAINT");
	sb_free(&out);
}

static void test_stats_server_status_texts(void **state)
{
	struct proxy *be;
	struct server *s1;
	struct sbuf out;
	char v[80];

	(void)state;
	build_sample();
	be = proxy_find("be", CFG_CAP_BE);
	s1 = &be->srvs[0];
	sb_init(&out);
#define STATUS_IS(want) do { \
		sb_reset(&out); \
		stats_csv_server(&out, s1, fake_now); \
		csv_get(sb_cstr(&out), "status", v, sizeof(v)); \
		assert_string_equal(v, want); \
	} while (0)
	s1->chk.health = s1->chk.rise;          /* as after start: one failure from DOWN */
	STATUS_IS("UP 1/3");
	s1->chk.health = s1->chk.rise + s1->chk.fall - 1;
	STATUS_IS("UP");
	s1->admin = SRV_ADMIN_DRAIN;
	STATUS_IS("DRAIN");
	s1->chk.health = s1->chk.rise + 1;
	STATUS_IS("DRAIN 2/3");
	s1->admin = SRV_ADMIN_READY;
	s1->op = SRV_OP_DOWN;
	s1->chk.health = 1;
	STATUS_IS("DOWN 1/2");
	s1->chk.health = 0;
	STATUS_IS("DOWN");
	s1->admin = SRV_ADMIN_MAINT;
	STATUS_IS("MAINT");
#undef STATUS_IS
	sb_free(&out);
}

/* Incident 3: the effective limit is in the CSV (eff_maxconn) and in
 * `show servers limits`, where operators look. */
static void test_stats_effective_maxconn_visible(void **state)
{
	struct cfg_proxy *p;
	struct proxy *be;
	struct sbuf out;
	char err[128], v[80], *txt;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	p = fake_cfg_backend(&cfg, "rmi", 1, CFG_BALANCE_ROUNDROBIN);
	p->fullconn = 10000;
	p->servers[0].minconn = 1;
	p->servers[0].maxconn = 100;
	assert_int_equal(proxy_build(&cfg, fake_now, err, sizeof(err)), 0);
	be = proxy_find("rmi", CFG_CAP_BE);
	sb_init(&out);
	stats_csv_server(&out, &be->srvs[0], fake_now);
	csv_get(sb_cstr(&out), "slim", v, sizeof(v));
	assert_string_equal(v, "100");
	csv_get(sb_cstr(&out), "eff_maxconn", v, sizeof(v));
	assert_string_equal(v, "1");
	csv_get(sb_cstr(&out), "minconn", v, sizeof(v));
	assert_string_equal(v, "1");
	csv_get(sb_cstr(&out), "fullconn", v, sizeof(v));
	assert_string_equal(v, "10000");
	sb_free(&out);

	txt = run("show servers limits", CFG_STATS_LEVEL_USER);
	assert_non_null(strstr(txt, "rmi/s1 UP 0 0 1 100 1 10000 0 - 100% dynamic(beconn<fullconn)\n"));
	free(txt);
	txt = run("show servers limits nosuch", CFG_STATS_LEVEL_USER);
	assert_string_equal(txt, "Can't find backend.\n\n");
	free(txt);
}

static void test_stats_levels(void **state)
{
	struct proxy *be;
	char *txt;

	(void)state;
	build_sample();
	be = proxy_find("be", CFG_CAP_BE);

	txt = run("show sess", CFG_STATS_LEVEL_USER);
	assert_string_equal(txt, "Permission denied\n\n");
	free(txt);
	txt = run("disable server be/s1", CFG_STATS_LEVEL_USER);
	assert_string_equal(txt, "Permission denied\n\n");
	free(txt);
	txt = run("set server be/s1 state maint", CFG_STATS_LEVEL_OPERATOR);
	assert_string_equal(txt, "Permission denied\n\n");
	free(txt);
	txt = run("shutdown sessions server be/s1", CFG_STATS_LEVEL_OPERATOR);
	assert_string_equal(txt, "Permission denied\n\n");
	free(txt);
	txt = run("set maxconn server be/s1 3", CFG_STATS_LEVEL_OPERATOR);
	assert_string_equal(txt, "Permission denied\n\n");
	free(txt);
	assert_int_equal(be->srvs[0].admin, SRV_ADMIN_READY);
	assert_int_equal(be->srvs[0].maxconn, 5);

	txt = run("show sess", CFG_STATS_LEVEL_OPERATOR);
	assert_string_equal(txt, "\n");
	free(txt);
	txt = run("show stat", CFG_STATS_LEVEL_USER);
	assert_true(strncmp(txt, "# pxname,svname,", 16) == 0);
	free(txt);

	/* `user` lowers the level for the rest of the line. */
	txt = run("user; set server be/s1 state maint", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "\nPermission denied\n\n");
	free(txt);
	txt = run("show cli level; operator; show cli level", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "admin\n\n\noperator\n\n");
	free(txt);

	/* help lists only what the level allows. */
	txt = run("help", CFG_STATS_LEVEL_USER);
	assert_non_null(strstr(txt, "show stat"));
	assert_null(strstr(txt, "disable server"));
	free(txt);
	txt = run("help", CFG_STATS_LEVEL_ADMIN);
	assert_non_null(strstr(txt, "\n  disable server <bk>/<srv>               : put a server"));
	free(txt);
}

static void test_stats_server_commands(void **state)
{
	struct proxy *be;
	struct server *s1;
	char *txt;

	(void)state;
	build_sample();
	be = proxy_find("be", CFG_CAP_BE);
	s1 = &be->srvs[0];

	txt = run("set server be/s1 state maint", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "\n");
	free(txt);
	assert_int_equal(server_status(s1), SRV_STATUS_MAINT);
	assert_non_null(strstr(last_event, "event=server_state backend=be server=s1 from=UP to=MAINT"));

	txt = run("set server be/s1 state drain", CFG_STATS_LEVEL_ADMIN);
	free(txt);
	assert_int_equal(server_status(s1), SRV_STATUS_DRAIN);
	assert_false(server_usable(s1));
	txt = run("enable server be/s1", CFG_STATS_LEVEL_ADMIN);
	free(txt);
	/* Out of maintenance (through drain): in its 10 s slowstart. */
	assert_int_equal(server_status(s1), SRV_STATUS_STARTING);
	fake_now += 10000;
	server_refresh(s1, fake_now);
	assert_int_equal(server_status(s1), SRV_STATUS_UP);
	txt = run("disable server be/s1", CFG_STATS_LEVEL_ADMIN);
	free(txt);
	assert_int_equal(server_status(s1), SRV_STATUS_MAINT);
	txt = run("set server be/s1 state ready", CFG_STATS_LEVEL_ADMIN);
	free(txt);
	assert_int_equal(server_status(s1), SRV_STATUS_STARTING);      /* slowstart 10s */
	assert_int_equal(s1->chk.health, s1->chk.rise);

	txt = run("set server be/s1 state bogus", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
	free(txt);
	txt = run("set server be/nosuch state maint", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "No such server.\n\n");
	free(txt);
	txt = run("disable server nosuch/s1", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "No such backend.\n\n");
	free(txt);
	txt = run("disable server bes1", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "Require 'backend/server'.\n\n");
	free(txt);
	txt = run("disable server", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "Require 'backend/server'.\n\n");
	free(txt);

	txt = run("set maxconn server be/s1 42", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "\n");
	free(txt);
	assert_int_equal(s1->maxconn, 42);
	txt = run("set maxconn server be/s1 4x", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "maxconn string empty or preceded by garbage\n\n");
	free(txt);
	txt = run("set maxconn server be/s1", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "Require <maxconn>.\n\n");
	free(txt);
	assert_int_equal(s1->maxconn, 42);
	txt = run("set server be/s1 weight 7", CFG_STATS_LEVEL_ADMIN);
	free(txt);
	assert_int_equal(s1->uweight, 7);

	txt = run("frobnicate", CFG_STATS_LEVEL_ADMIN);
	assert_true(strncmp(txt, "Unknown command", 15) == 0);
	free(txt);
}

static void test_stats_shutdown_sessions(void **state)
{
	static struct session sess[4];
	static struct session *list[4];
	struct proxy *be;
	struct server *srv;
	char *txt;
	int i;

	(void)state;
	build_sample();
	be = proxy_find("be", CFG_CAP_BE);
	be->srvs[0].maxconn = 2;
	be->srvs[0].minconn = 2;
	for (i = 0; i < 4; i++) {
		fake_session_init(&sess[i], i);
		sess[i].release_on_shutdown = 1;
		list[i] = &sess[i];
	}
	fake_sessions = list;
	fake_nsessions = 4;
	assert_int_equal(backend_assign(be, &sess[0], 0, &srv), ASSIGN_ASSIGNED);
	assert_int_equal(backend_assign(be, &sess[1], 0, &srv), ASSIGN_ASSIGNED);
	assert_int_equal(backend_assign(be, &sess[2], 0, &srv), ASSIGN_QUEUED);
	assert_int_equal(be->srvs[0].c.scur, 2);

	txt = run("show sess", CFG_STATS_LEVEL_OPERATOR);
	assert_non_null(strstr(txt, "sess id=0 srv=s1\n"));
	assert_non_null(strstr(txt, "sess id=2 srv=-\n"));
	free(txt);

	txt = run("shutdown sessions server be/s1", CFG_STATS_LEVEL_ADMIN);
	assert_string_equal(txt, "\n");
	free(txt);
	/* Both sessions present were ended; the queued one got a slot and lives. */
	assert_int_equal(sess[0].shut, 1);
	assert_int_equal(sess[1].shut, 1);
	assert_string_equal(sess[0].why, "shutdown sessions server");
	assert_int_equal(sess[2].shut, 0);
	assert_int_equal(sess[2].ready, 1);
	assert_int_equal(be->srvs[0].c.scur, 1);
	for (i = 0; i < 4; i++)
		backend_sess_end(&sess[i]);
}

/* Incident 2: on-marked-down shutdown-sessions ends the server's sessions
 * when it goes DOWN; without it they stay. */
static void test_stats_marked_down_shutdown(void **state)
{
	static struct session sess[2];
	struct proxy *be;
	struct server *srv;
	int i;

	(void)state;
	build_sample();
	be = proxy_find("be", CFG_CAP_BE);
	for (i = 0; i < 2; i++) {
		fake_session_init(&sess[i], i);
		sess[i].release_on_shutdown = 1;
	}
	assert_int_equal(backend_assign(be, &sess[0], 0, &srv), ASSIGN_ASSIGNED);
	assert_ptr_equal(srv, &be->srvs[0]);
	server_set_down(srv, "Layer4 timeout");
	assert_int_equal(sess[0].shut, 0);
	assert_non_null(strstr(last_event, "from=UP to=DOWN reason=\"Layer4 timeout\""));
	server_set_up(srv, "Layer4 check passed");
	assert_int_equal(server_status(srv), SRV_STATUS_STARTING);

	srv->flags |= CFG_SRV_SHUTDOWN_ON_DOWN;
	srv->op = SRV_OP_UP;
	assert_int_equal(backend_assign(be, &sess[1], 0, &srv), ASSIGN_ASSIGNED);
	server_set_down(srv, "Layer4 connection problem");
	assert_int_equal(sess[0].shut, 1);
	assert_int_equal(sess[1].shut, 1);
	assert_string_equal(sess[1].why, "server down");
	assert_int_equal(srv->c.scur, 0);
	assert_int_equal(srv->chkdown, 2);
	for (i = 0; i < 2; i++)
		backend_sess_end(&sess[i]);
}

static void test_stats_backup_sessions_shut_on_up(void **state)
{
	static struct session sess;
	struct proxy *be;
	struct server *srv;

	(void)state;
	build_sample();
	be = proxy_find("be", CFG_CAP_BE);
	be->srvs[0].flags |= CFG_SRV_SHUTDOWN_BACKUP_ON_UP;
	be->srvs[0].slowstart = 0;
	fake_session_init(&sess, 0);
	sess.release_on_shutdown = 1;
	server_set_down(&be->srvs[0], "Layer4 timeout");
	assert_int_equal(backend_assign(be, &sess, 0, &srv), ASSIGN_ASSIGNED);
	assert_ptr_equal(srv, &be->srvs[1]);    /* the backup */
	server_set_up(&be->srvs[0], "Layer4 check passed");
	assert_int_equal(sess.shut, 1);
	assert_string_equal(sess.why, "server up");
	backend_sess_end(&sess);
}

static void test_stats_servers_state(void **state)
{
	char *txt, *row;
	unsigned n = 0;

	(void)state;
	build_sample();
	txt = run("show servers state", CFG_STATS_LEVEL_USER);
	assert_true(strncmp(txt, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
			    "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
			    "srv_check_status srv_check_result srv_check_health srv_check_state "
			    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
			    "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n", 300) == 0);
	row = strstr(txt, "\n2 be 1 s1 127.0.0.1 2 0 1 1 0 1 0 2 6 0 0 0 - 22900 - 0 0 - - 0\n");
	assert_non_null(row);
	assert_non_null(strstr(txt, "\n2 be 2 s2 127.0.0.1 2 0 1 1 0 1 0 2 0 0 0 0 - 22901 - 0 0 - - 0\n"));
	for (row = txt; *row; row++)
		n += *row == '\n';
	assert_int_equal(n, 5);         /* version, header, 2 rows, empty line */
	free(txt);
	txt = run("show servers state nosuch", CFG_STATS_LEVEL_USER);
	assert_string_equal(txt, "Can't find backend.\n\n");
	free(txt);
}

static void test_stats_show_info_and_multi(void **state)
{
	char *txt;

	(void)state;
	build_sample();
	proxy_info.maxconn = 4000;
	proxy_info.curconn = 3;
	proxy_info.cumconn = 17;
	txt = run("show info;show stat -1 2 -1", CFG_STATS_LEVEL_USER);
	assert_non_null(strstr(txt, "Name: proxyd\n"));
	assert_non_null(strstr(txt, "Maxconn: 4000\n"));
	assert_non_null(strstr(txt, "CurrConns: 3\n"));
	assert_non_null(strstr(txt, "CumConns: 17\n"));
	assert_non_null(strstr(txt, "Uptime_sec: "));
	assert_non_null(strstr(txt, "Stopping: 0\n"));
	/* show info's answer ends with an empty line, then the CSV: backends only. */
	assert_non_null(strstr(txt, "\n\n# pxname,"));
	assert_non_null(strstr(txt, "\nbe,BACKEND,"));
	assert_null(strstr(txt, "FRONTEND"));
	assert_null(strstr(txt, "\nbe,s1,"));
	free(txt);
	txt = run("show stat be 4 2", CFG_STATS_LEVEL_USER);
	assert_non_null(strstr(txt, "\nbe,s2,"));
	assert_null(strstr(txt, "\nbe,s1,"));
	free(txt);
	memset(&proxy_info, 0, sizeof(proxy_info));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stats_header_equals_haproxy, teardown),
		cmocka_unit_test_teardown(test_stats_column_table, teardown),
		cmocka_unit_test_teardown(test_stats_csv_shape_matches_haproxy, teardown),
		cmocka_unit_test_teardown(test_stats_server_status_texts, teardown),
		cmocka_unit_test_teardown(test_stats_effective_maxconn_visible, teardown),
		cmocka_unit_test_teardown(test_stats_levels, teardown),
		cmocka_unit_test_teardown(test_stats_server_commands, teardown),
		cmocka_unit_test_teardown(test_stats_shutdown_sessions, teardown),
		cmocka_unit_test_teardown(test_stats_marked_down_shutdown, teardown),
		cmocka_unit_test_teardown(test_stats_backup_sessions_shut_on_up, teardown),
		cmocka_unit_test_teardown(test_stats_servers_state, teardown),
		cmocka_unit_test_teardown(test_stats_show_info_and_multi, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
