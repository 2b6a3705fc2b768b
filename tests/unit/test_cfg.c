/* Unit tests of the configuration library: value parsers, the parser (good
 * and bad configurations with their exact messages), defaults, lint, and
 * the dynamic limits against HAProxy's documented rules. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxyd/cfg.h"

#define FIXTURE(name) CFG_FIXTURES "/" name

/* ---- helpers ----------------------------------------------------------- */

static int load(const char *text, struct cfg *c, struct cfg_diag *d)
{
	cfg_diag_init(d);
	return cfg_load_mem("t.cfg", text, strlen(text), c, d);
}

static void dump(const struct cfg_diag *d)
{
	size_t i;

	for (i = 0; i < d->nmsgs; i++)
		print_message("  [%s] %s\n", d->msgs[i].sev == CFG_SEV_ERROR ? "E" : "W",
			      d->msgs[i].text);
}

/* The messages of severity sev are exactly want[] (NULL-terminated), in order. */
static void check_msgs(const struct cfg_diag *d, enum cfg_sev sev, const char *const *want)
{
	size_t i, k = 0;

	for (i = 0; i < d->nmsgs; i++) {
		if (d->msgs[i].sev != sev)
			continue;
		if (!want[k] || strcmp(want[k], d->msgs[i].text)) {
			print_message("message %zu: got\n  %s\nwant\n  %s\nall:\n", k, d->msgs[i].text,
				      want[k] ? want[k] : "(nothing)");
			dump(d);
			fail();
		}
		k++;
	}
	if (want[k]) {
		print_message("missing message: %s\nall:\n", want[k]);
		dump(d);
		fail();
	}
}

static int has_msg(const struct cfg_diag *d, enum cfg_sev sev, const char *needle)
{
	size_t i;

	for (i = 0; i < d->nmsgs; i++)
		if (d->msgs[i].sev == sev && strstr(d->msgs[i].text, needle))
			return 1;
	return 0;
}

static const struct cfg_proxy *px_get(const struct cfg *c, const char *name, unsigned cap)
{
	int i = cfg_proxy_find(c, name, cap);

	assert_true(i >= 0);
	return &c->proxies[i];
}

static unsigned port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* ---- value parsers ----------------------------------------------------- */

static void test_parse_time_units(void **state)
{
	static const struct {
		const char *s;
		unsigned ms;
	} ok[] = {
		{ "0", 0 }, { "100", 100 }, { "100ms", 100 }, { "1s", 1000 }, { "1m", 60000 },
		{ "1h", 3600000 }, { "1d", 86400000 }, { "1500us", 2 }, { "1us", 1 }, { "1000us", 1 },
		{ "24d", 2073600000u }, { "2147483647", 2147483647u }, { "2147483s", 2147483000u },
	};
	char err[256];
	unsigned v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		assert_int_equal(cfg_parse_time(ok[i].s, &v, err, sizeof(err)), 0);
		assert_int_equal(v, ok[i].ms);
	}
}

static void test_parse_time_errors(void **state)
{
	static const struct {
		const char *s;
		const char *err;
	} bad[] = {
		{ "10x", "'10x': unknown unit 'x' (us, ms, s, m, h, d)" },
		{ "1.5s", "'1.5s': unknown unit '.5s' (us, ms, s, m, h, d)" },
		{ "10 s", "'10 s': unknown unit ' s' (us, ms, s, m, h, d)" },
		{ "1S", "'1S': unknown unit 'S' (us, ms, s, m, h, d)" },
		{ "", "'': not a time (digits with a unit among us, ms, s, m, h, d)" },
		{ "-1", "'-1': not a time (digits with a unit among us, ms, s, m, h, d)" },
		{ "s", "'s': not a time (digits with a unit among us, ms, s, m, h, d)" },
		{ "25d", "'25d': too large (at most 2147483647 ms, about 24.8 days)" },
		{ "2147483648", "'2147483648': too large (at most 2147483647 ms, about 24.8 days)" },
		{ "99999999999999999999d", "'99999999999999999999d': too large (at most 2147483647 ms)" },
		{ "18446744073709551615d",
		  "'18446744073709551615d': too large (at most 2147483647 ms, about 24.8 days)" },
	};
	char err[256];
	unsigned v = 7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cfg_parse_time(bad[i].s, &v, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].err);
		assert_int_equal(v, 7);
	}
}

static void test_parse_size(void **state)
{
	char err[256];
	uint64_t v;

	assert_int_equal(cfg_parse_size("0", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cfg_parse_size("16384", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 16384);
	assert_int_equal(cfg_parse_size("16k", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 16384);
	assert_int_equal(cfg_parse_size("2M", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2 * 1024 * 1024);
	assert_int_equal(cfg_parse_size("3g", &v, err, sizeof(err)), 0);
	assert_true(v == 3ull * 1024 * 1024 * 1024);
	assert_int_equal(cfg_parse_size("16777215g", &v, err, sizeof(err)), 0);
	assert_true(v == 16777215ull << 30);

	assert_int_equal(cfg_parse_size("1t", &v, err, sizeof(err)), -1);
	assert_string_equal(err, "'1t': unknown unit 't' (k, m, g)");
	assert_int_equal(cfg_parse_size("1kb", &v, err, sizeof(err)), -1);
	assert_string_equal(err, "'1kb': unknown unit 'kb' (k, m, g)");
	assert_int_equal(cfg_parse_size("k", &v, err, sizeof(err)), -1);
	assert_string_equal(err, "'k': not a size (digits with an optional unit k, m, g)");
	assert_int_equal(cfg_parse_size("17179869184g", &v, err, sizeof(err)), -1);
	assert_string_equal(err, "'17179869184g': too large");
	assert_int_equal(cfg_parse_size("18446744073709551616", &v, err, sizeof(err)), -1);
	assert_string_equal(err, "'18446744073709551616': too large");
}

static void test_parse_addr_good(void **state)
{
	static const struct {
		const char *s;
		unsigned flags;
		const char *fmt;
		unsigned lo, hi;
	} ok[] = {
		{ "127.0.0.1:80", 0, "127.0.0.1:80", 80, 80 },
		{ "[::1]:443", 0, "[::1]:443", 443, 443 },
		{ "::1:443", 0, "[::1]:443", 443, 443 },
		{ "[2001:db8::5]:8080", 0, "[2001:db8::5]:8080", 8080, 8080 },
		{ "*:80", CFG_ADDR_BIND, "0.0.0.0:80", 80, 80 },
		{ ":80", CFG_ADDR_BIND, "0.0.0.0:80", 80, 80 },
		{ "[::]:80", CFG_ADDR_BIND, "[::]:80", 80, 80 },
		{ ":::80", CFG_ADDR_BIND, "[::]:80", 80, 80 },
		{ "0.0.0.0:65535", CFG_ADDR_BIND, "0.0.0.0:65535", 65535, 65535 },
		{ "10.0.0.1:8000-8010", CFG_ADDR_BIND | CFG_ADDR_RANGE, "10.0.0.1:8000", 8000, 8010 },
		{ "10.0.0.1", CFG_ADDR_PORT_OPTIONAL, "10.0.0.1:0", 0, 0 },
	};
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned lo, hi;
	char err[256], buf[80];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (cfg_parse_addr(ok[i].s, ok[i].flags, &ss, &len, &lo, &hi, err, sizeof(err)) != 0) {
			print_message("%s: %s\n", ok[i].s, err);
			fail();
		}
		cfg_addr_format(&ss, buf, sizeof(buf));
		assert_string_equal(buf, ok[i].fmt);
		assert_int_equal(lo, ok[i].lo);
		assert_int_equal(hi, ok[i].hi);
		assert_int_equal(len, ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
				 sizeof(struct sockaddr_in6));
	}
}

static void test_parse_addr_bad(void **state)
{
	static const struct {
		const char *s;
		unsigned flags;
		const char *err;
	} bad[] = {
		{ "1.2.3.4", 0, "'1.2.3.4': missing port" },
		{ "1.2.3.4:", 0, "'1.2.3.4:': missing port" },
		{ "1.2.3.4:0", 0, "'1.2.3.4:0': bad port '0' (1..65535)" },
		{ "1.2.3.4:65536", 0, "'1.2.3.4:65536': bad port '65536' (1..65535)" },
		{ "1.2.3.4:http", 0, "'1.2.3.4:http': bad port 'http' (1..65535)" },
		{ "db.example:5432", 0,
		  "'db.example:5432': not a numeric IPv4 or IPv6 address (host names are not resolved)" },
		{ "1.2.3.256:80", 0,
		  "'1.2.3.256:80': not a numeric IPv4 or IPv6 address (host names are not resolved)" },
		{ "[1.2.3.4]:80", 0,
		  "'[1.2.3.4]:80': not a numeric IPv4 or IPv6 address (host names are not resolved)" },
		{ "*:80", 0, "'*:80': missing address" },
		{ ":80", 0, "':80': missing address" },
		{ "[::]:80", 0, "'[::]:80': missing address" },
		{ "0.0.0.0:80", 0, "'0.0.0.0:80': missing address" },
		{ "[::1:80", 0, "'[::1:80': missing ']'" },
		{ "[::1]80", 0, "'[::1]80': expected ':' after ']'" },
		{ "1.2.3.4:80-81", CFG_ADDR_BIND,
		  "'1.2.3.4:80-81': port ranges are only allowed on bind lines" },
		{ "1.2.3.4:81-80", CFG_ADDR_BIND | CFG_ADDR_RANGE,
		  "'1.2.3.4:81-80': bad port range (P1-P2 with 1 <= P1 <= P2 <= 65535)" },
		{ "1.2.3.4:0-80", CFG_ADDR_BIND | CFG_ADDR_RANGE,
		  "'1.2.3.4:0-80': bad port range (P1-P2 with 1 <= P1 <= P2 <= 65535)" },
		{ "/run/x.sock", CFG_ADDR_BIND, "'/run/x.sock': unix sockets are not supported" },
	};
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned lo, hi;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cfg_parse_addr(bad[i].s, bad[i].flags, &ss, &len, &lo, &hi, err,
						sizeof(err)), -1);
		assert_string_equal(err, bad[i].err);
	}
}

static void test_format_time(void **state)
{
	char b[32];

	cfg_format_time(86400000, b, sizeof(b));
	assert_string_equal(b, "1d");
	cfg_format_time(7200000, b, sizeof(b));
	assert_string_equal(b, "2h");
	cfg_format_time(90000, b, sizeof(b));
	assert_string_equal(b, "90s");
	cfg_format_time(1500, b, sizeof(b));
	assert_string_equal(b, "1500ms");
	cfg_format_time(0, b, sizeof(b));
	assert_string_equal(b, "0ms");
}

/* ---- dynamic limits ---------------------------------------------------- */

/* HAProxy's "fullconn" example: servers with minconn 100, maxconn 1000 and
 * a backend fullconn of 10000 accept between 100 and 1000 connections each,
 * 1000 being reached at 10000 backend connections. */
static void test_dynmaxconn_documented(void **state)
{
	assert_int_equal(cfg_srv_dynmaxconn(100, 1000, 10000, 0), 100);
	assert_int_equal(cfg_srv_dynmaxconn(100, 1000, 10000, 1), 100);
	assert_int_equal(cfg_srv_dynmaxconn(100, 1000, 10000, 1000), 100);
	assert_int_equal(cfg_srv_dynmaxconn(100, 1000, 10000, 1010), 101);
	assert_int_equal(cfg_srv_dynmaxconn(100, 1000, 10000, 5000), 500);
	assert_int_equal(cfg_srv_dynmaxconn(100, 1000, 10000, 9999), 999);
	assert_int_equal(cfg_srv_dynmaxconn(100, 1000, 10000, 10000), 1000);
	assert_int_equal(cfg_srv_dynmaxconn(100, 1000, 10000, 50000), 1000);
}

static void test_dynmaxconn_rules(void **state)
{
	/* incident 3: the limit is 1 at low load */
	assert_int_equal(cfg_srv_dynmaxconn(1, 100, 10000, 1), 1);
	assert_int_equal(cfg_srv_dynmaxconn(1, 100, 10000, 199), 1);
	assert_int_equal(cfg_srv_dynmaxconn(1, 100, 10000, 200), 2);
	/* static limit when minconn == maxconn (the default when minconn is unset) */
	assert_int_equal(cfg_srv_dynmaxconn(100, 100, 10000, 1), 100);
	/* no limit stays no limit */
	assert_int_equal(cfg_srv_dynmaxconn(0, 0, 10000, 1), 0);
	/* fullconn 0 (never left by cfg_load, but safe): always maxconn */
	assert_int_equal(cfg_srv_dynmaxconn(1, 100, 0, 0), 100);
	/* no 32-bit overflow of beconn * maxconn */
	assert_int_equal(cfg_srv_dynmaxconn(0, 100000, 4000000000u, 3000000000u), 75000);
}

static void test_slowstart(void **state)
{
	/* maxconn grows from 1 to 100% of the dynamic limit */
	assert_int_equal(cfg_srv_slowstart_maxconn(100, 10000, 0), 1);
	assert_int_equal(cfg_srv_slowstart_maxconn(100, 10000, 99), 1);
	assert_int_equal(cfg_srv_slowstart_maxconn(100, 10000, 2500), 25);
	assert_int_equal(cfg_srv_slowstart_maxconn(100, 10000, 5000), 50);
	assert_int_equal(cfg_srv_slowstart_maxconn(100, 10000, 9999), 99);
	assert_int_equal(cfg_srv_slowstart_maxconn(100, 10000, 10000), 100);
	assert_int_equal(cfg_srv_slowstart_maxconn(100, 0, 0), 100);
	assert_int_equal(cfg_srv_slowstart_maxconn(0, 10000, 10), 0);
	/* the weight grows linearly from 1 to 100% */
	assert_int_equal(cfg_srv_slowstart_weight(10, 10000, 0), 1);
	assert_int_equal(cfg_srv_slowstart_weight(10, 10000, 1), 1);
	assert_int_equal(cfg_srv_slowstart_weight(10, 10000, 5000), 5);
	assert_int_equal(cfg_srv_slowstart_weight(10, 10000, 5001), 6);
	assert_int_equal(cfg_srv_slowstart_weight(10, 10000, 10000), 10);
	assert_int_equal(cfg_srv_slowstart_weight(256, 60000, 30000), 128);
	assert_int_equal(cfg_srv_slowstart_weight(0, 10000, 5000), 0);
	assert_int_equal(cfg_srv_slowstart_weight(10, 0, 0), 10);
}

/* ---- the parser: good configurations ----------------------------------- */

static void test_load_good_full(void **state)
{
	const struct cfg_proxy *web, *app, *db;
	const struct cfg_server *s;
	const struct cfg_sup_entry *e;
	struct cfg c;
	struct cfg_diag d;
	char buf[80];

	cfg_diag_init(&d);
	assert_int_equal(cfg_load(FIXTURE("good-full.cfg"), &c, &d), 0);
	cfg_lint(&c, &d);
	if (d.nmsgs)
		dump(&d);
	assert_int_equal(d.nmsgs, 0);

	assert_int_equal(c.global.maxconn, 2000);
	assert_int_equal(c.global.maxconn_eff, 2000);
	assert_int_equal(c.global.ulimit_n, 5000);
	assert_int_equal(c.global.hard_stop_after, 60000);
	assert_true(c.global.set & CFG_GLOBAL_SET_HARD_STOP_AFTER);
	assert_int_equal(c.global.hard_stop_after_loc.line, 5);
	assert_int_equal(c.global.nlogs, 3);
	assert_int_equal(c.global.logs[0].kind, CFG_LOG_STDERR);
	assert_int_equal(c.global.logs[0].facility, -1);
	assert_int_equal(c.global.logs[1].kind, CFG_LOG_UNIX);
	assert_int_equal(c.global.logs[1].facility, 16);
	assert_int_equal(c.global.logs[1].level, 6);
	assert_int_equal(c.global.logs[1].addr.ss_family, AF_UNIX);
	assert_int_equal(c.global.logs[2].kind, CFG_LOG_UDP);
	assert_int_equal(c.global.logs[2].facility, 17);
	assert_int_equal(c.global.logs[2].level, 5);
	cfg_addr_format(&c.global.logs[2].addr, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:514");
	assert_int_equal(c.global.nstats, 2);
	assert_string_equal(c.global.stats[0].path, "/run/proxyd/admin.sock");
	assert_int_equal(c.global.stats[0].mode, 0660);
	assert_int_equal(c.global.stats[0].level, CFG_STATS_LEVEL_ADMIN);
	assert_int_equal(c.global.stats[1].mode, 0600);
	assert_int_equal(c.global.stats[1].level, CFG_STATS_LEVEL_USER);
	assert_int_equal(c.global.stats_timeout, 30000);
	assert_string_equal(c.global.user, "proxy");
	assert_string_equal(c.global.group, "proxy");
	assert_string_equal(c.global.chroot, "/var/empty");
	assert_string_equal(c.global.pidfile, "/run/proxyd.pid");

	assert_int_equal(c.nproxies, 3);
	web = px_get(&c, "web", CFG_CAP_FE);
	assert_int_equal(web->cap, CFG_CAP_FE);
	assert_int_equal(web->nbinds, 4);
	cfg_addr_format(&web->binds[0].addr, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:8000");
	cfg_addr_format(&web->binds[1].addr, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:8000");
	assert_int_equal(web->binds[1].v6, CFG_V6_V6ONLY);
	assert_int_equal(web->binds[0].backlog, 64);
	assert_string_equal(web->binds[0].name, "web");
	assert_string_equal(web->binds[1].text, "[::1]:8000");
	assert_int_equal(port_of(&web->binds[2].addr), 8100);
	assert_int_equal(port_of(&web->binds[3].addr), 8101);
	assert_string_equal(web->binds[3].text, ":8100-8101");
	assert_null(web->binds[3].name);
	assert_int_equal(web->binds[3].backlog, 256);
	assert_int_equal(web->binds[3].loc.line, 36);
	assert_int_equal(web->maxconn, 500);
	assert_int_equal(web->options, CFG_OPT_TCPKA | CFG_OPT_TCPLOG);
	assert_true(web->log_global);
	assert_int_equal(web->default_backend_idx, cfg_proxy_find(&c, "app", CFG_CAP_BE));
	assert_int_equal(cfg_timeout_get(web, CFG_TO_CLIENT_FIN), 3000);

	app = px_get(&c, "app", CFG_CAP_BE);
	assert_int_equal(app->cap, CFG_CAP_BE);
	assert_int_equal(app->balance, CFG_BALANCE_LEASTCONN);
	assert_int_equal(app->fullconn, 400);
	assert_int_equal(app->retries, 2);
	assert_int_equal(app->maxconn, 0);
	assert_true(app->options & CFG_OPT_REDISPATCH);
	assert_int_equal(app->to.ms[CFG_TO_CONNECT], 3000);
	assert_int_equal(app->to.ms[CFG_TO_TUNNEL], 60000);
	assert_int_equal(app->to.ms[CFG_TO_QUEUE], 10000);
	assert_int_equal(app->to.ms[CFG_TO_CHECK], 2000);
	assert_int_equal(app->to.loc[CFG_TO_CHECK].line, 30);
	assert_int_equal(app->nservers, 3);
	s = &app->servers[0];
	assert_string_equal(s->name, "s1");
	assert_string_equal(s->addr_text, "127.0.0.1:9001");
	assert_int_equal(s->flags, CFG_SRV_CHECK | CFG_SRV_SHUTDOWN_ON_DOWN);
	assert_int_equal(s->inter, 1000);
	assert_int_equal(s->fastinter, 500);
	assert_int_equal(s->downinter, 5000);
	assert_int_equal(s->fall, 2);
	assert_int_equal(s->rise, 3);
	assert_int_equal(s->weight, 10);
	assert_int_equal(s->maxconn, 50);
	assert_int_equal(s->minconn, 10);
	assert_int_equal(s->maxqueue, 20);
	assert_int_equal(s->slowstart, 10000);
	assert_int_equal(s->loc.line, 46);
	s = &app->servers[1];
	assert_int_equal(s->addr.ss_family, AF_INET6);
	assert_int_equal(s->flags, CFG_SRV_CHECK | CFG_SRV_BACKUP | CFG_SRV_SHUTDOWN_ON_DOWN |
			 CFG_SRV_SHUTDOWN_BACKUP_ON_UP);
	assert_int_equal(s->maxconn, 0);
	s = &app->servers[2];
	assert_int_equal(s->flags, CFG_SRV_DISABLED | CFG_SRV_SHUTDOWN_ON_DOWN);
	assert_int_equal(s->weight, 0);

	db = px_get(&c, "db", CFG_CAP_FE | CFG_CAP_BE);
	assert_int_equal(db->balance, CFG_BALANCE_FIRST);
	cfg_addr_format(&db->binds[0].addr, buf, sizeof(buf));
	assert_string_equal(buf, "[::]:5432");
	assert_int_equal(db->binds[0].v6, CFG_V6_V4V6);
	/* a listen without default_backend counts its own maxconn: 10% of 500 */
	assert_int_equal(db->fullconn, 50);
	assert_int_equal(db->servers[0].minconn, 10);
	assert_int_equal(db->servers[0].inter, 2000);

	assert_int_equal(c.nsup, 2);
	e = cfg_sup_get(&c, "detector");
	assert_non_null(e);
	assert_int_equal(e->nargs, 3);
	assert_string_equal(e->args[0], "half_close_buildup");
	assert_string_equal(e->args[2], "100");
	assert_int_equal(e->loc.line, 57);
	assert_null(cfg_sup_get(&c, "nothing"));

	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_defaults_inheritance(void **state)
{
	static const char text[] =
		"defaults\n"                            /* 1 */
		"  timeout client 10s\n"
		"  option redispatch\n"
		"  retries 5\n"
		"  default-server check fall 4\n"       /* 5 */
		"backend a\n"
		"  server s 1.1.1.1:1\n"
		"defaults\n"
		"  timeout server 20s\n"
		"backend b\n"                           /* 10 */
		"  server s 1.1.1.1:1\n"
		"defaults named\n"
		"  retries 7\n"
		"  timeout client 1s\n"
		"defaults\n"                            /* 15 */
		"  retries 9\n"
		"backend c from named\n"
		"backend d\n"
		"defaults more from named\n"
		"  timeout server 2s\n"                 /* 20 */
		"  option redispatch\n"
		"backend e\n"
		"  no option redispatch\n"
		"  retries 0\n"
		"  option abortonclose\n";
	const struct cfg_proxy *px;
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load(text, &c, &d), 0);
	px = px_get(&c, "a", 0);
	assert_int_equal(px->to.ms[CFG_TO_CLIENT], 10000);
	assert_int_equal(px->to.loc[CFG_TO_CLIENT].line, 2);
	assert_true(px->options & CFG_OPT_REDISPATCH);
	assert_false(px->options & CFG_OPT_ABORTONCLOSE);
	assert_int_equal(px->retries, 5);
	assert_int_equal(px->servers[0].fall, 4);
	assert_true(px->servers[0].flags & CFG_SRV_CHECK);

	/* a new defaults section starts from the built-in values */
	px = px_get(&c, "b", 0);
	assert_false(px->to.set & (1u << CFG_TO_CLIENT));
	assert_int_equal(px->to.ms[CFG_TO_SERVER], 20000);
	assert_false(px->options & CFG_OPT_REDISPATCH);
	assert_int_equal(px->retries, 3);
	assert_int_equal(px->servers[0].fall, 3);
	assert_false(px->servers[0].flags & CFG_SRV_CHECK);

	px = px_get(&c, "c", 0);
	assert_int_equal(px->retries, 7);
	assert_int_equal(px->to.ms[CFG_TO_CLIENT], 1000);

	px = px_get(&c, "d", 0);
	assert_int_equal(px->retries, 9);

	px = px_get(&c, "e", 0);
	assert_int_equal(px->retries, 0);
	assert_int_equal(px->to.ms[CFG_TO_CLIENT], 1000);
	assert_int_equal(px->to.ms[CFG_TO_SERVER], 2000);
	assert_int_equal(px->options, CFG_OPT_ABORTONCLOSE);

	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_default_server(void **state)
{
	static const char text[] =
		"defaults\n"
		"  default-server maxqueue 3\n"
		"backend b\n"
		"  server s0 1.1.1.1:1\n"
		"  default-server inter 3s fall 5 weight 20 check\n"
		"  server s1 1.1.1.1:2\n"
		"  server s2 1.1.1.1:3 weight 1 no-check inter 100\n"
		"  default-server on-marked-down shutdown-sessions maxconn 40\n"
		"  server s3 1.1.1.1:4\n"
		"  server s4 1.1.1.1:5 minconn 10\n"
		"  server s5 1.1.1.1:6 maxconn 0 minconn 20\n";
	const struct cfg_proxy *px;
	const struct cfg_server *s;
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load(text, &c, &d), 0);
	px = px_get(&c, "b", CFG_CAP_BE);
	assert_int_equal(px->nservers, 6);
	s = &px->servers[0];
	assert_int_equal(s->inter, 2000);
	assert_int_equal(s->fall, 3);
	assert_int_equal(s->rise, 2);
	assert_int_equal(s->weight, 1);
	assert_int_equal(s->flags, 0);
	assert_int_equal(s->maxqueue, 3);
	s = &px->servers[1];
	assert_int_equal(s->inter, 3000);
	assert_int_equal(s->fastinter, 3000);
	assert_int_equal(s->downinter, 3000);
	assert_int_equal(s->fall, 5);
	assert_int_equal(s->weight, 20);
	assert_int_equal(s->flags, CFG_SRV_CHECK);
	s = &px->servers[2];
	assert_int_equal(s->inter, 100);
	assert_int_equal(s->fastinter, 100);
	assert_int_equal(s->weight, 1);
	assert_int_equal(s->flags, 0);
	s = &px->servers[3];
	assert_int_equal(s->inter, 3000);
	assert_int_equal(s->flags, CFG_SRV_CHECK | CFG_SRV_SHUTDOWN_ON_DOWN);
	/* maxconn alone: minconn = maxconn (a static limit) */
	assert_int_equal(s->maxconn, 40);
	assert_int_equal(s->minconn, 40);
	s = &px->servers[4];
	assert_int_equal(s->maxconn, 40);
	assert_int_equal(s->minconn, 10);
	/* minconn alone: maxconn = minconn, as HAProxy does */
	s = &px->servers[5];
	assert_int_equal(s->maxconn, 20);
	assert_int_equal(s->minconn, 20);
	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_limits_computed(void **state)
{
	static const char text[] =
		"global\n"
		"  maxconn 3000\n"
		"frontend f1\n"
		"  bind :1\n"
		"  maxconn 1000\n"
		"  default_backend b\n"
		"frontend f2\n"
		"  bind :2\n"
		"  maxconn 2001\n"
		"  default_backend b\n"
		"frontend f3\n"
		"  bind :3\n"
		"  default_backend c\n"
		"backend b\n"
		"backend c\n"
		"listen l\n"
		"  bind :4\n"
		"  maxconn 7\n"
		"listen l2\n"
		"  bind :5\n"
		"  maxconn 100\n"
		"  default_backend c\n"
		"frontend c\n"
		"  bind :6\n"
		"  default_backend b\n";
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load(text, &c, &d), 0);
	assert_int_equal(c.global.maxconn_eff, 3000);
	assert_int_equal(px_get(&c, "f3", 0)->maxconn, 3000);
	assert_int_equal(px_get(&c, "f3", 0)->binds[0].backlog, 3000);
	/* (1000 + 2001 + 3000) / 10 rounded up */
	assert_int_equal(px_get(&c, "b", CFG_CAP_BE)->fullconn, 601);
	/* (3000 + 100) / 10: a listen with a default_backend counts for it */
	assert_int_equal(px_get(&c, "c", CFG_CAP_BE)->fullconn, 310);
	assert_int_equal(px_get(&c, "l", 0)->fullconn, 1);
	/* l2 sends everything to c: no frontend routes to it, fullconn 1 */
	assert_int_equal(px_get(&c, "l2", 0)->fullconn, 1);
	/* a frontend and a backend may share a name */
	assert_int_equal(px_get(&c, "c", CFG_CAP_FE)->default_backend_idx,
			 cfg_proxy_find(&c, "b", CFG_CAP_BE));
	assert_int_equal(px_get(&c, "f3", 0)->default_backend_idx,
			 cfg_proxy_find(&c, "c", CFG_CAP_BE));

	/* the runtime settles on another global limit */
	cfg_finalize_limits(&c, 5000);
	assert_int_equal(c.global.maxconn_eff, 5000);
	assert_int_equal(px_get(&c, "f3", 0)->maxconn, 5000);
	assert_int_equal(px_get(&c, "f1", 0)->maxconn, 1000);
	assert_int_equal(px_get(&c, "b", CFG_CAP_BE)->fullconn, 801);
	assert_int_equal(px_get(&c, "c", CFG_CAP_BE)->fullconn, 510);
	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_timeout_fallbacks(void **state)
{
	static const char text[] =
		"defaults\n"
		"  timeout connect 4s\n"
		"  timeout client 1m\n"
		"  timeout server 2m\n"
		"backend a\n"
		"backend b\n"
		"  timeout client-fin 1s\n"
		"  timeout server-fin 0\n"
		"  timeout queue 9s\n";
	const struct cfg_proxy *px;
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load(text, &c, &d), 0);
	px = px_get(&c, "a", 0);
	assert_int_equal(cfg_timeout_get(px, CFG_TO_CLIENT_FIN), 60000);
	assert_int_equal(cfg_timeout_get(px, CFG_TO_SERVER_FIN), 120000);
	assert_int_equal(cfg_timeout_get(px, CFG_TO_QUEUE), 4000);
	assert_int_equal(cfg_timeout_get(px, CFG_TO_TUNNEL), 0);
	px = px_get(&c, "b", 0);
	assert_int_equal(cfg_timeout_get(px, CFG_TO_CLIENT_FIN), 1000);
	/* set to 0: no timeout, not the fallback */
	assert_int_equal(cfg_timeout_get(px, CFG_TO_SERVER_FIN), 0);
	assert_true(px->to.set & (1u << CFG_TO_SERVER_FIN));
	assert_int_equal(cfg_timeout_get(px, CFG_TO_QUEUE), 9000);
	assert_string_equal(cfg_timeout_name(CFG_TO_SERVER_FIN), "server-fin");
	assert_string_equal(cfg_balance_name(CFG_BALANCE_SOURCE), "source");
	assert_string_equal(cfg_mode_name(CFG_MODE_TCP), "tcp");
	assert_string_equal(cfg_stats_level_name(CFG_STATS_LEVEL_OPERATOR), "operator");
	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_quoting_supervisor_raw(void **state)
{
	static const char text[] =
		"supervisor\n"
		"  k1 \"a b\" 'c d' e\\ f \"x\\\"y\" 'q\"r' \"\\x41\\t\" \\#h \"#x\" # comment\n"
		"  k2 \"\" '' a\"b c\"d\n"
		"  k3 \"$H5_CFG_TEST\" \"${H5_CFG_TEST}x\" '$H5_CFG_TEST' \\$H5 $H5_CFG_TEST\n"
		"  k4 'a\\b' \"\\q\"\r\n"
		"  # only a comment\n"
		"\n"
		"  mode http\n";
	static const char *const k1[] = { "a b", "c d", "e f", "x\"y", "q\"r", "A\t", "#h", "#x" };
	static const char *const k2[] = { "", "", "ab cd" };
	static const char *const k3[] = { "val", "valx", "$H5_CFG_TEST", "$H5", "$H5_CFG_TEST" };
	static const char *const k4[] = { "a\\b", "\\q" };
	const struct cfg_sup_entry *e;
	struct cfg c;
	struct cfg_diag d;
	size_t i;

	setenv("H5_CFG_TEST", "val", 1);
	assert_int_equal(load(text, &c, &d), 0);
	assert_int_equal(d.nmsgs, 0);
	assert_int_equal(c.nsup, 5);
	e = &c.sup[0];
	assert_string_equal(e->key, "k1");
	assert_int_equal(e->nargs, 8);
	for (i = 0; i < 8; i++)
		assert_string_equal(e->args[i], k1[i]);
	e = &c.sup[1];
	assert_int_equal(e->nargs, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(e->args[i], k2[i]);
	e = &c.sup[2];
	assert_int_equal(e->nargs, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(e->args[i], k3[i]);
	e = &c.sup[3];
	assert_int_equal(e->nargs, 2);
	for (i = 0; i < 2; i++)
		assert_string_equal(e->args[i], k4[i]);
	/* the supervisor section is not interpreted: "mode http" is data */
	e = cfg_sup_get(&c, "mode");
	assert_non_null(e);
	assert_string_equal(e->args[0], "http");
	assert_int_equal(e->loc.line, 8);
	assert_int_equal(c.nproxies, 0);
	cfg_free(&c);
	cfg_diag_free(&d);
	unsetenv("H5_CFG_TEST");
}

static void test_quoted_keywords(void **state)
{
	static const char text[] =
		"backend \"app\"\n"
		"  'server' s1 \"127.0.0.1:80\" we\"ight\" '5'\n"
		"  timeout   \tserver\t\"1\"s\n";
	const struct cfg_proxy *px;
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load(text, &c, &d), 0);
	px = px_get(&c, "app", CFG_CAP_BE);
	assert_int_equal(px->servers[0].weight, 5);
	assert_int_equal(px->to.ms[CFG_TO_SERVER], 1000);
	cfg_free(&c);
	cfg_diag_free(&d);
}

/* Accepted with a warning: what HAProxy configurations often carry but has
 * no effect here. */
static void test_load_warnings(void **state)
{
	static const char text[] =
		"global\n"
		"  daemon\n"
		"  nbthread 4\n"
		"  stats socket /run/a.sock mode 600 level admin expose-fd listeners\n"
		"  ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n"
		"defaults\n"
		"  mode tcp\n"
		"  option httplog\n"
		"  timeout http-request 10s\n"
		"  timeout connect 1s\n"
		"  timeout client 1s\n"
		"  timeout server 1s\n"
		"frontend f\n"
		"  bind :1\n"
		"  option redispatch\n"
		"  default_backend b\n"
		"backend b\n"
		"frontend lonely\n"
		"  bind :2\n";
	static const char *const want[] = {
		"t.cfg:2: 'daemon': ignored: proxyd runs in the foreground",
		"t.cfg:4: 'stats socket': 'expose-fd listeners' ignored: proxysv passes the listeners to each generation",
		"t.cfg:5: 'ssl-default-bind-options': ignored: proxyd has no TLS",
		"t.cfg:8: 'option httplog': HTTP option: 'option tcplog' is used in mode tcp",
		"t.cfg:9: 'timeout http-request': HTTP timeout, no effect in mode tcp",
		"t.cfg:15: 'option redispatch': no effect in a 'frontend' section",
		"t.cfg:18: 'frontend lonely': no 'default_backend': connections will be closed at once",
		NULL,
	};
	static const char *const none[] = { NULL };
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load(text, &c, &d), 0);
	check_msgs(&d, CFG_SEV_WARNING, want);
	check_msgs(&d, CFG_SEV_ERROR, none);
	assert_true(px_get(&c, "f", 0)->options & CFG_OPT_TCPLOG);
	assert_int_equal(c.global.nbthread, 4);
	assert_true(c.global.set & CFG_GLOBAL_SET_NBTHREAD);
	assert_int_equal(d.warnings, 7);
	assert_int_equal(d.errors, 0);
	cfg_free(&c);
	cfg_diag_free(&d);
}

/* cookie NAME insert ...: inherited from defaults; server values; the
 * lint's warnings for halves without the other. */
static void test_cookie_config(void **state)
{
	static const char text[] =
		"defaults\n"
		"  mode http\n"
		"  timeout connect 1s\n"
		"  timeout client 1s\n"
		"  timeout server 1s\n"
		"  cookie SRV insert indirect nocache httponly domain .example.com\n"     /* 6 */
		"backend b\n"
		"  server s 1.1.1.1:1 cookie x\n"
		"  server t 1.1.1.1:2\n"
		"backend c\n"                                                     /* 10 */
		"  server u 1.1.1.1:3\n"
		"defaults\n"
		"  mode http\n"
		"  timeout connect 1s\n"
		"  timeout client 1s\n"                                           /* 15 */
		"  timeout server 1s\n"
		"backend d\n"
		"  server v 1.1.1.1:4 cookie y\n";
	static const char *const want[] = {
		"t.cfg:10: 'backend c': 'cookie SRV': no server has a 'cookie <value>': nothing to persist",
		"t.cfg:18: 'server': v: 'cookie y' ignored: the backend has no 'cookie <name> insert' line",
		NULL,
	};
	const struct cfg_proxy *b;
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load(text, &c, &d), 0);
	check_msgs(&d, CFG_SEV_WARNING, want);
	b = px_get(&c, "b", 0);
	assert_string_equal(b->ck_name, "SRV");
	assert_int_equal(b->ck_opts, CFG_CK_INDIRECT | CFG_CK_NOCACHE | CFG_CK_HTTPONLY);
	assert_string_equal(b->ck_domain, ".example.com");
	assert_string_equal(b->servers[0].cookie, "x");
	assert_null(b->servers[1].cookie);
	assert_null(px_get(&c, "d", 0)->ck_name);
	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_missing_timeouts_warn(void **state)
{
	static const char text[] =
		"listen l\n"
		"  bind :1\n";
	static const char *const want[] = {
		"t.cfg:1: 'listen l': 'timeout client' is not set: idle clients are never closed",
		"t.cfg:1: 'listen l': 'timeout server' is not set: idle servers are never closed",
		"t.cfg:1: 'listen l': 'timeout connect' is not set: connection attempts wait for the kernel (minutes)",
		NULL,
	};
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load(text, &c, &d), 0);
	check_msgs(&d, CFG_SEV_WARNING, want);
	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_crlf_and_empty(void **state)
{
	struct cfg c;
	struct cfg_diag d;

	assert_int_equal(load("global\r\n  maxconn 5\r\n", &c, &d), 0);
	assert_int_equal(c.global.maxconn, 5);
	cfg_free(&c);
	cfg_diag_free(&d);

	assert_int_equal(load("", &c, &d), 0);
	assert_int_equal(c.nproxies, 0);
	assert_true(c.global.maxconn_eff > 0);
	assert_int_equal(c.global.stats_timeout, 10000);
	cfg_free(&c);
	cfg_diag_free(&d);
}

/* Every entry of every keyword table is found: the tables are sorted for
 * bsearch, and a misplaced entry would make its keyword unknown. */
static void test_keyword_tables_sorted(void **state)
{
	static const char *const opts[] = {
		"dontlognull", "forwardfor", "http-keep-alive", "http-server-close", "httpclose",
		"httplog", "redispatch", "tcpka", "tcplog",
	};
	static const char *const tos[] = {
		"check", "client", "client-fin", "connect", "http-keep-alive", "http-request", "queue",
		"server", "server-fin", "tarpit", "tunnel",
	};
	char text[4096];
	struct cfg c;
	struct cfg_diag d;
	size_t i, off;
	const struct cfg_server *s;

	off = (size_t)snprintf(text, sizeof(text), "%s",
			       "global\n  chroot /x\n  daemon\n  group g\n  hard-stop-after 1s\n"
			       "  log stderr\n  maxconn 9\n  nbthread 1\n  pidfile /p\n"
			       "  stats timeout 1s\n  ulimit-n 99\n  user u\n"
			       "listen l\n  backlog 1\n  balance source\n  bind :1\n"
			       "  default-server enabled\n  fullconn 1\n  log global\n  maxconn 1\n"
			       "  mode tcp\n  retries 1\n"
			       "  server s 1.1.1.1:1 backup check disabled downinter 1 enabled fall 1 "
			       "fastinter 1 inter 1 maxconn 1 maxqueue 1 minconn 1 no-backup no-check "
			       "on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions "
			       "rise 1 slowstart 1 weight 1\n");
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "  option %s\n", opts[i]);
	for (i = 0; i < sizeof(tos) / sizeof(tos[0]); i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "  timeout %s 1s\n", tos[i]);
	assert_true(off < sizeof(text));
	if (load(text, &c, &d) != 0) {
		dump(&d);
		fail();
	}
	s = &px_get(&c, "l", 0)->servers[0];
	assert_int_equal(s->flags, CFG_SRV_SHUTDOWN_ON_DOWN | CFG_SRV_SHUTDOWN_BACKUP_ON_UP);
	assert_int_equal(px_get(&c, "l", 0)->balance, CFG_BALANCE_SOURCE);
	assert_false(has_msg(&d, CFG_SEV_ERROR, "unknown"));
	cfg_free(&c);
	cfg_diag_free(&d);
}

/* ---- the parser: bad configurations ------------------------------------ */

struct bad_case {
	const char *text;
	const char *errors[4];
};

static const struct bad_case bad_cases[] = {
	{ "global\n  nbthread 0\n",
	  { "t.cfg:2: 'nbthread': '0': out of range 1..64" } },
	{ "global\n  nbthread 65\n",
	  { "t.cfg:2: 'nbthread': '65': out of range 1..64" } },
	{ "backend app\n  balanse roundrobin\n",
	  { "t.cfg:2: 'balanse': unknown keyword in 'backend' section" } },
	{ "frontend web\n  bind :80\n  server s1 1.2.3.4:80\n  default_backend web\nbackend web\n",
	  { "t.cfg:3: 'server': not allowed in 'frontend' section" } },
	{ "backend b\n  hard-stop-after 1s\n",
	  { "t.cfg:2: 'hard-stop-after': not allowed in 'backend' section" } },
	{ "global\n  bind :80\n",
	  { "t.cfg:2: 'bind': not allowed in 'global' section" } },
	{ "defaults\n  bind :80\n",
	  { "t.cfg:2: 'bind': not allowed in 'defaults' section" } },
	{ "backend b\n  default_backend x\n",
	  { "t.cfg:2: 'default_backend': not allowed in 'backend' section" } },
	{ "maxconn 10\n",
	  { "t.cfg:1: 'maxconn': keyword outside of any section" } },
	{ "frontend f\n  bind :1\n  mode http\n  use_backend nope\n",
	  { "t.cfg:4: 'use_backend': 'nope': no such backend" } },
	{ "frontend f\n  bind :1\n  mode http\n  default_backend b\nbackend b\n  mode tcp\n",
	  { "t.cfg:4: 'default_backend': 'b' is in mode tcp but frontend 'f' is in mode http (both must be the same)" } },
	{ "frontend f\n  bind :1\n  mode http\n  use_backend b if is_api\nbackend b\n  mode http\n",
	  { "t.cfg:4: 'use_backend': unknown ACL 'is_api' (declare it with 'acl' before use)" } },
	{ "defaults\n  acl a path /\n",
	  { "t.cfg:2: 'acl': not allowed in 'defaults' section" } },
	{ "listen l\n  bind :1\n  mode http\n  acl a url_param x\n",
	  { "t.cfg:4: 'acl': 'url_param': unknown or unsupported criterion (path, path_beg, path_end, path_sub, path_dom, path_reg, url, url_beg, url_end, url_sub, url_reg, query, method, hdr(<name>), hdr_beg, hdr_end, hdr_sub, hdr_dom, hdr_reg, src, always_true, always_false, ssl_fc)" } },
	{ "listen l\n  bind :1\n  mode http\n  acl a path\n",
	  { "t.cfg:4: 'acl': missing pattern" } },
	{ "listen l\n  bind :1\n  mode http\n  acl a hdr(ho st) x\n",
	  { "t.cfg:4: 'acl': 'hdr(ho': expected hdr(<header name>)" } },
	{ "listen l\n  bind :1\n  mode http\n  acl a path /\n  http-request deny if a ||\n",
	  { "t.cfg:5: 'http-request': '||' without a condition after it" } },
	{ "listen l\n  bind :1\n  mode http\n  http-request deny deny_status 999\n",
	  { "t.cfg:4: 'http-request': deny_status: expected one of 200 400 401 403 404 405 407 408 410 413 425 429 500 501 502 503 504" } },
	{ "listen l\n  bind :1\n  mode http\n  http-request tarpit\n",
	  { "t.cfg:4: 'http-request': 'tarpit': unknown or unsupported action (allow, deny, set-header, add-header, del-header, redirect)" } },
	{ "listen l\n  bind :1\n  mode http\n  redirect scheme https code 200\n",
	  { "t.cfg:4: 'redirect': code: expected 301, 302, 303, 307 or 308" } },
	{ "listen l\n  bind :1\n  mode http\n  http-request set-header X-A\n",
	  { "t.cfg:4: 'http-request': missing header value (usage: http-request set-header <name> <value> [if|unless <cond>])" } },
	{ "listen l\n  bind :1\n  mode http\n  http-response set-header X-A %[src]\n",
	  { "t.cfg:4: 'http-response': '%[src]': log-format expressions are not supported (values are literal strings)" } },
	{ "listen l\n  bind :1\n  mode http\n  http-request set-header Content-Length 0\n",
	  { "t.cfg:4: 'http-request': 'Content-Length': the message framing headers cannot be edited" } },
	{ "listen l\n  bind :1\n  mode http\n  http-request set-header \"Bad Name\" 1\n",
	  { "t.cfg:4: 'http-request': 'Bad Name': invalid header name" } },
	{ "backend b\n  cookie\n",
	  { "t.cfg:2: 'cookie': missing name (usage: cookie <name> insert [indirect] [nocache] [httponly] [secure] [preserve] [domain <d>])" } },
	{ "backend b\n  cookie S rewrite\n",
	  { "t.cfg:2: 'cookie': 'rewrite': unsupported mode (only insert)" } },
	{ "backend b\n  cookie S indirect\n",
	  { "t.cfg:2: 'cookie': 'insert' is required (rewrite and prefix modes are not supported)" } },
	{ "backend b\n  cookie S=1 insert\n",
	  { "t.cfg:2: 'cookie': 'S=1': not a valid cookie name" } },
	{ "backend b\n  cookie S insert postonly\n",
	  { "t.cfg:2: 'cookie': 'postonly': unknown or unsupported option (insert, indirect, nocache, httponly, secure, preserve, domain <d>)" } },
	{ "backend b\n  default-server cookie x\n",
	  { "t.cfg:2: 'default-server': 'cookie': a value for one server, not for default-server" } },
	{ "backend b\n  cookie S insert\n  server s 1.1.1.1:1 cookie a;b\n",
	  { "t.cfg:3: 'server s': cookie 'a;b': not a valid cookie value" } },
	{ "listen l\n  stats uri stats\n",
	  { "t.cfg:2: 'stats uri': 'stats': must begin with '/'" } },
	{ "listen l\n  stats auth admin\n",
	  { "t.cfg:2: 'stats auth': 'admin': expected <user>:<password>" } },
	{ "listen l\n  stats socket /x\n",
	  { "t.cfg:2: 'stats': 'stats socket' belongs in the global section" } },
	{ "listen l\n  stats refresh soon\n",
	  { "t.cfg:2: 'stats refresh': 'soon': not a time (digits with a unit among us, ms, s, m, h, d)" } },
	{ "listen l\n  stats bogus x\n",
	  { "t.cfg:2: 'stats': 'bogus': unknown or unsupported (enable, uri, realm, auth, refresh, hide-version)" } },
	{ "backend b\n  http-reuse sometimes\n",
	  { "t.cfg:2: 'http-reuse': 'sometimes': unknown mode (never, safe, aggressive, always)" } },
	{ "frontend f\n  bind :1\n  capture cookie x len 3\n",
	  { "t.cfg:3: 'capture cookie': not supported (capture request header Cookie len <n> logs the whole header)" } },
	{ "frontend f\n  bind :1\n  capture request header Host\n",
	  { "t.cfg:3: 'capture': usage: capture request|response header <name> len <length>" } },
	{ "frontend f\n  bind :1\n  capture response header Host len 2000\n",
	  { "t.cfg:3: 'capture': '2000': out of range 1..1024" } },
	{ "frontend f\n  bind :1\n  capture request header Ho:st len 3\n",
	  { "t.cfg:3: 'capture': 'Ho:st': invalid header name" } },
	{ "backend b\n  http-check connect\n",
	  { "t.cfg:2: 'http-check': connect: only 'http-check send' and 'http-check expect' are supported" } },
	{ "backend b\n  http-check send meth GET body x\n",
	  { "t.cfg:2: 'http-check send': 'body': unsupported or incomplete (meth <m>, uri <u>, ver <v>, hdr <name> <value>)" } },
	{ "backend b\n  http-check send uri health\n",
	  { "t.cfg:2: 'http-check send': uri 'health': invalid (the URI begins with '/', the version is HTTP/1.0 or HTTP/1.1)" } },
	{ "backend b\n  http-check send hdr Bad:Name x\n",
	  { "t.cfg:2: 'http-check send': hdr 'Bad:Name': invalid header name or value" } },
	{ "backend b\n  http-check expect rstatus (\n",
	  { "t.cfg:2: 'http-check expect': rstatus '(': invalid regular expression" } },
	{ "backend b\n  http-check expect string OK\n",
	  { "t.cfg:2: 'http-check expect': 'string': unsupported match (status, rstatus)" } },
	{ "backend b\n  option httpchk GET / HTTP/2\n",
	  { "t.cfg:2: 'option httpchk': 'HTTP/2': version must be HTTP/1.0 or HTTP/1.1" } },
	{ "defaults\n  option forwardfor except 10.0.0.0/33\n",
	  { "t.cfg:2: 'option forwardfor': except '10.0.0.0/33': expected an address or a CIDR block" } },
	{ "defaults\n  option forwardfor header\n",
	  { "t.cfg:2: 'option forwardfor': 'header': unexpected argument (usage: option forwardfor [except <network>] [header <name>] [if-none])" } },
	{ "defaults\n  errorfile 503 /nonexistent/503.http\n",
	  { "t.cfg:2: 'errorfile': '/nonexistent/503.http': No such file or directory" } },
	{ "defaults\n  errorfile 418 /dev/null\n",
	  { "t.cfg:2: 'errorfile': '418': status not supported (200 400 401 403 404 405 407 408 410 413 425 429 500 501 502 503 504)" } },
	{ "global\n  tune.bufsize 100\n",
	  { "t.cfg:2: 'tune.bufsize': '100': out of range 1024..1073741824" } },
	{ "global\n  tune.http.maxhdr 0\n",
	  { "t.cfg:2: 'tune.http.maxhdr': '0': out of range 1..32767" } },
	{ "backend b\n  mode udp\n",
	  { "t.cfg:2: 'mode': 'udp': unknown mode (tcp, http)" } },
	{ "defaults\n  timeout client 10x\n",
	  { "t.cfg:2: 'timeout client': '10x': unknown unit 'x' (us, ms, s, m, h, d)" } },
	{ "defaults\n  timeout server 25d\n",
	  { "t.cfg:2: 'timeout server': '25d': too large (at most 2147483647 ms, about 24.8 days)" } },
	{ "defaults\n  timeout foo 1s\n",
	  { "t.cfg:2: 'timeout foo': unknown timeout (connect, client, server, client-fin, server-fin, tunnel, queue, check, http-request, http-keep-alive)" } },
	{ "defaults\n  timeout client\n",
	  { "t.cfg:2: 'timeout client': missing value (usage: timeout client <time>)" } },
	{ "backend b\n  server s1 127.0.0.1:80 weight 300\n",
	  { "t.cfg:2: 'server s1': weight '300': out of range 0..256" } },
	{ "backend b\n  server s1 127.0.0.1:65536\n",
	  { "t.cfg:2: 'server s1': '127.0.0.1:65536': bad port '65536' (1..65535)" } },
	{ "backend b\n  server s1 db.example:5432\n",
	  { "t.cfg:2: 'server s1': 'db.example:5432': not a numeric IPv4 or IPv6 address (host names are not resolved)" } },
	{ "backend b\n  server s1 1.1.1.1:80-81\n",
	  { "t.cfg:2: 'server s1': '1.1.1.1:80-81': port ranges are only allowed on bind lines" } },
	{ "backend b\n  server s1\n",
	  { "t.cfg:2: 'server': missing address (usage: server <name> <addr>:<port> [options])" } },
	{ "backend b\n  server 's 1' 1.1.1.1:1\n",
	  { "t.cfg:2: 'server': 's 1': invalid name (letters, digits, '-', '_', '.', ':')" } },
	{ "backend b\n  server s 1.1.1.1:1 ssl verify none\n",
	  { "t.cfg:2: 'server s': 'ssl': unknown or unsupported server option" } },
	{ "backend b\n  server s 1.1.1.1:1 inter\n",
	  { "t.cfg:2: 'server s': inter: missing value" } },
	{ "backend b\n  server s 1.1.1.1:1 inter 0\n",
	  { "t.cfg:2: 'server s': inter '0': must be a positive delay" } },
	{ "backend b\n  server s 1.1.1.1:1 fall 0 rise x\n",
	  { "t.cfg:2: 'server s': fall '0': out of range 1..2147483647",
	    "t.cfg:2: 'server s': rise 'x': not a number" } },
	{ "backend b\n  server s 1.1.1.1:1 on-marked-down kill\n",
	  { "t.cfg:2: 'server s': on-marked-down 'kill': unknown action (shutdown-sessions)" } },
	{ "backend b\n  default-server slowstart 1y\n",
	  { "t.cfg:2: 'default-server': slowstart '1y': unknown unit 'y' (us, ms, s, m, h, d)" } },
	{ "backend b\n  server s 1.1.1.1:1 minconn 10 maxconn 5\n",
	  { "t.cfg:2: 'server s': minconn 10 is greater than maxconn 5" } },
	{ "backend a\n  server s 1.1.1.1:1\n  server s 1.1.1.1:2\n",
	  { "t.cfg:3: 'server s': duplicate server name in backend 'a' (first at line 2)" } },
	{ "backend a\nlisten a\n  bind :1\n",
	  { "t.cfg:2: 'listen a': name already used by the backend at line 1" } },
	{ "frontend f\n  default_backend b\nbackend b\n",
	  { "t.cfg:1: 'frontend f': no 'bind' line" } },
	{ "frontend f\n  bind :80\n  default_backend nope\n",
	  { "t.cfg:3: 'default_backend': 'nope': no such backend" } },
	{ "frontend f\n  bind :80\n  default_backend g\nfrontend g\n  bind :81\n  default_backend f\n",
	  { "t.cfg:3: 'default_backend': 'g': no such backend (a frontend has this name)",
	    "t.cfg:6: 'default_backend': 'f': no such backend (a frontend has this name)" } },
	{ "frontend f\n  bind :80 ssl crt /x.pem\n  default_backend b\nbackend b\n",
	  { "t.cfg:2: 'bind': 'ssl': unknown or unsupported bind option" } },
	{ "frontend f\n  bind 1.2.3.4:80,foo:81,:82\n  default_backend b\nbackend b\n",
	  { "t.cfg:2: 'bind': 'foo:81': not a numeric IPv4 or IPv6 address (host names are not resolved)" } },
	{ "frontend f\n  bind ,\n  default_backend b\nbackend b\n",
	  { "t.cfg:2: 'bind': missing address" } },
	{ "backend b\n  balance uri\n",
	  { "t.cfg:2: 'balance': 'uri': unsupported algorithm (roundrobin, leastconn, source, first)" } },
	{ "backend b\n  balance fastest\n",
	  { "t.cfg:2: 'balance': 'fastest': unknown algorithm (roundrobin, leastconn, source, first)" } },
	{ "supervisor\n  key \"abc\n",
	  { "t.cfg:2: unterminated double quote" } },
	{ "supervisor\n  key 'abc\n",
	  { "t.cfg:2: unterminated single quote" } },
	{ "supervisor\n  key abc \\\n",
	  { "t.cfg:2: backslash at end of line (line continuation is not supported)" } },
	{ "supervisor\n  key \"\\x4g\"\n",
	  { "t.cfg:2: invalid '\\x' escape (two hex digits expected)" } },
	{ "defaults\n  option httpcheck\n",
	  { "t.cfg:2: 'option httpcheck': unknown or unsupported option" } },
	{ "defaults\n  no option nothing\n",
	  { "t.cfg:2: 'no option nothing': unknown or unsupported option" } },
	{ "backend b\n  no balance\n",
	  { "t.cfg:2: 'balance': 'no' is not supported for this keyword" } },
	{ "global\n  stats socket /run/x.sock level root\n",
	  { "t.cfg:2: 'stats socket': level 'root': unknown level (user, operator, admin)" } },
	{ "global\n  stats socket /run/x.sock mode 999\n",
	  { "t.cfg:2: 'stats socket': mode '999': not an octal mode (e.g. 600)" } },
	{ "global\n  stats socket ipv4@127.0.0.1:9999\n",
	  { "t.cfg:2: 'stats socket': 'ipv4@127.0.0.1:9999': only unix socket paths are supported" } },
	{ "global\n  stats enable\n",
	  { "t.cfg:2: 'stats': unknown 'stats' keyword (stats socket <path> ..., stats timeout <time>)" } },
	{ "global\n  log 127.0.0.1\n",
	  { "t.cfg:2: 'log': '127.0.0.1': missing facility (e.g. local0)" } },
	{ "global\n  log /dev/log local9\n",
	  { "t.cfg:2: 'log': 'local9': unknown facility (kern ... local7)" } },
	{ "global\n  log global\n",
	  { "t.cfg:2: 'log': 'log global' is only valid in proxies" } },
	{ "global\n  maxconn 1 2\n",
	  { "t.cfg:2: 'maxconn': too many arguments (usage: maxconn <number>)" } },
	{ "global\n  maxconn 0\n",
	  { "t.cfg:2: 'maxconn': '0': out of range 1..2147483647" } },
	{ "global\n  hard-stop-after\n",
	  { "t.cfg:2: 'hard-stop-after': missing argument (usage: hard-stop-after <time>)" } },
	{ "peers p\n  peer a 1.1.1.1:1\n",
	  { "t.cfg:1: 'peers': unsupported section" } },
	{ "backend b from nope\n",
	  { "t.cfg:1: 'backend': 'from nope': no defaults section with this name before" } },
	{ "frontend\n",
	  { "t.cfg:1: 'frontend': missing name" } },
	{ "backend 'a b'\n",
	  { "t.cfg:1: 'backend': 'a b': invalid name (letters, digits, '-', '_', '.', ':')" } },
	{ "backend b extra\n",
	  { "t.cfg:1: 'backend': 'extra': unexpected argument" } },
};

static void test_bad_configs(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const char *want[5];
		struct cfg c;
		struct cfg_diag d;
		size_t k;

		for (k = 0; k < 4 && bad_cases[i].errors[k]; k++)
			want[k] = bad_cases[i].errors[k];
		want[k] = NULL;
		assert_int_equal(load(bad_cases[i].text, &c, &d), -1);
		check_msgs(&d, CFG_SEV_ERROR, want);
		assert_int_equal(d.errors, k);
		/* on failure the result is empty */
		assert_int_equal(c.nproxies, 0);
		assert_null(c.proxies);
		cfg_free(&c);
		cfg_diag_free(&d);
	}
}

/* Every error of a file comes out of one run, in line order, then the
 * cross-checks. */
static void test_all_errors_one_run(void **state)
{
	const char *f = FIXTURE("bad-many.cfg");
	char want_buf[9][300];
	const char *want[10];
	static const char *const tail[] = {
		"3: 'maxconn': 'lots': not a number",
		"4: 'stats socket': level 'root': unknown level (user, operator, admin)",
		"8: 'timeout client': '10x': unknown unit 'x' (us, ms, s, m, h, d)",
		"11: 'bind': '1.2.3.4': missing port",
		"12: 'server': not allowed in 'frontend' section",
		"16: 'balanse': unknown keyword in 'backend' section",
		"17: 'server s1': weight '300': out of range 0..256",
		"18: 'server s1': '127.0.0.1:0': bad port '0' (1..65535)",
		"13: 'default_backend': 'nowhere': no such backend",
	};
	struct cfg c;
	struct cfg_diag d;
	size_t i;

	for (i = 0; i < 9; i++) {
		snprintf(want_buf[i], sizeof(want_buf[i]), "%s:%s", f, tail[i]);
		want[i] = want_buf[i];
	}
	want[9] = NULL;
	cfg_diag_init(&d);
	assert_int_equal(cfg_load(f, &c, &d), -1);
	check_msgs(&d, CFG_SEV_ERROR, want);
	assert_int_equal(d.errors, 9);
	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_load_missing_file(void **state)
{
	static const char *const want[] = {
		"/nonexistent/proxyd.cfg: cannot open: No such file or directory", NULL,
	};
	struct cfg c;
	struct cfg_diag d;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	cfg_diag_init(&d);
	assert_int_equal(cfg_load("/nonexistent/proxyd.cfg", &c, &d), -1);
	check_msgs(&d, CFG_SEV_ERROR, want);

	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	cfg_diag_add(&d, CFG_SEV_WARNING, "x.cfg", 3, NULL, "note %d", 1);
	cfg_diag_print(&d, fp);
	fclose(fp);
	assert_string_equal(buf, "error: /nonexistent/proxyd.cfg: cannot open: No such file or directory\n"
			    "warning: x.cfg:3: note 1\n");
	free(buf);
	cfg_free(&c);
	cfg_diag_free(&d);
}

/* ---- lint -------------------------------------------------------------- */

/* Loads text (which must be valid), lints it, compares the lint warnings. */
static void lint_case(const char *text, const char *const *want)
{
	struct cfg c;
	struct cfg_diag d, l;

	if (load(text, &c, &d) != 0) {
		dump(&d);
		fail();
	}
	cfg_diag_init(&l);
	cfg_lint(&c, &l);
	check_msgs(&l, CFG_SEV_WARNING, want);
	assert_int_equal(l.errors, 0);
	cfg_free(&c);
	cfg_diag_free(&d);
	cfg_diag_free(&l);
}

#define BASE_TO "  timeout connect 5s\n"

static void test_lint_client_fin(void **state)
{
	static const char *const fires[] = {
		"t.cfg:4: 'timeout client': frontend f: 'timeout client-fin' is not set, so half-closed "
		"client connections (FIN_WAIT2 on one side, CLOSE_WAIT on the other) live as long as "
		"'timeout client' (31s); set 'timeout client-fin' (e.g. 3s)",
		NULL,
	};
	static const char *const none[] = { NULL };

	lint_case("frontend f\n  bind :1\n  default_backend b\n  timeout client 31s\n"
		  "backend b\n" BASE_TO "  timeout server 30s\n", fires);
	lint_case("frontend f\n  bind :1\n  default_backend b\n  timeout client 30s\n"
		  "backend b\n" BASE_TO "  timeout server 30s\n", none);
	lint_case("frontend f\n  bind :1\n  default_backend b\n  timeout client 1h\n"
		  "  timeout client-fin 3s\n"
		  "backend b\n" BASE_TO "  timeout server 30s\n", none);
}

static void test_lint_server_fin(void **state)
{
	static const char *const fires[] = {
		"t.cfg:3: 'timeout server': backend b: 'timeout server-fin' is not set, so half-closed "
		"server connections (FIN_WAIT2 on one side, CLOSE_WAIT on the other) live as long as "
		"'timeout server' (50s); set 'timeout server-fin' (e.g. 3s)",
		NULL,
	};
	static const char *const none[] = { NULL };

	lint_case("backend b\n" BASE_TO "  timeout server 50s\n", fires);
	lint_case("backend b\n" BASE_TO "  timeout server 50s\n  timeout server-fin 1s\n", none);
}

static void test_lint_down_sessions(void **state)
{
	static const char *const fires[] = {
		"t.cfg:4: 'timeout tunnel': backend b: sessions on a server marked DOWN stay open until "
		"this timeout (61s) because server has no 'on-marked-down shutdown-sessions' (s2); add "
		"it to the servers or to 'default-server'",
		NULL,
	};
	static const char *const many[] = {
		"t.cfg:4: 'timeout tunnel': backend b: sessions on a server marked DOWN stay open until "
		"this timeout (1h) because servers have no 'on-marked-down shutdown-sessions' (a1, a2, "
		"a3, a4, a5 and 2 more); add it to the servers or to 'default-server'",
		NULL,
	};
	static const char *const none[] = { NULL };

	lint_case("backend b\n" BASE_TO "  timeout server 30s\n  timeout tunnel 61s\n"
		  "  server s1 1.1.1.1:1 check on-marked-down shutdown-sessions\n"
		  "  server s2 1.1.1.1:2 check\n", fires);
	lint_case("backend b\n" BASE_TO "  timeout server 30s\n  timeout tunnel 1m\n"
		  "  server s2 1.1.1.1:2 check\n", none);
	lint_case("backend b\n" BASE_TO "  timeout server 30s\n  timeout tunnel 1h\n"
		  "  default-server on-marked-down shutdown-sessions\n"
		  "  server s2 1.1.1.1:2 check\n", none);
	/* no servers: nothing to say */
	lint_case("backend b\n" BASE_TO "  timeout server 30s\n  timeout tunnel 1h\n", none);
	lint_case("backend b\n" BASE_TO "  timeout server 30s\n  timeout tunnel 1h\n"
		  "  server a1 1.1.1.1:1\n  server a2 1.1.1.1:2\n  server a3 1.1.1.1:3\n"
		  "  server a4 1.1.1.1:4\n  server a5 1.1.1.1:5\n  server a6 1.1.1.1:6\n"
		  "  server a7 1.1.1.1:7\n", many);
}

static void test_lint_dynmaxconn(void **state)
{
	static const char *const fires[] = {
		"t.cfg:4: server b/s1: effective maxconn is 1 while the backend has fewer than 200 "
		"connections (minconn 1, maxconn 100, fullconn 10000); raise minconn, or set minconn "
		"equal to maxconn",
		NULL,
	};
	static const char *const computed[] = {
		"t.cfg:9: server b/s1: effective maxconn is 2 while the backend has fewer than 75 "
		"connections (minconn 2, maxconn 40, fullconn 1000 computed as 10% of the frontends' "
		"maxconn); raise minconn, or set minconn equal to maxconn",
		NULL,
	};
	static const char *const none[] = { NULL };

	lint_case("backend b\n" BASE_TO "  fullconn 10000\n"
		  "  server s1 1.1.1.1:1 minconn 1 maxconn 100\n  timeout server 1s\n", fires);
	static const char *const small[] = {
		"t.cfg:4: server b/s1: effective maxconn is 5 while the backend has fewer than 300 "
		"connections (minconn 5, maxconn 20, fullconn 1000); raise minconn, or set minconn "
		"equal to maxconn",
		NULL,
	};

	/* under 10 connections is tiny even when close to maxconn */
	lint_case("backend b\n" BASE_TO "  fullconn 1000\n"
		  "  server s1 1.1.1.1:1 minconn 5 maxconn 20\n  timeout server 1s\n", small);
	lint_case("backend b\n" BASE_TO "  fullconn 1000\n"
		  "  server s1 1.1.1.1:1 minconn 10 maxconn 20\n  timeout server 1s\n", none);
	/* HAProxy's own example: 100 at low load is not tiny */
	lint_case("backend b\n" BASE_TO "  fullconn 10000\n"
		  "  server s1 1.1.1.1:1 minconn 100 maxconn 1000\n  timeout server 1s\n", none);
	/* static limit */
	lint_case("backend b\n" BASE_TO "  fullconn 10000\n"
		  "  server s1 1.1.1.1:1 minconn 100 maxconn 100\n  timeout server 1s\n", none);
	/* maxconn alone is static too */
	lint_case("backend b\n" BASE_TO "  fullconn 10000\n"
		  "  server s1 1.1.1.1:1 maxconn 100\n  timeout server 1s\n", none);
	lint_case("global\n  maxconn 10000\n"
		  "frontend f\n  bind :1\n  timeout client 1s\n  default_backend b\n"
		  "backend b\n" BASE_TO "  server s1 1.1.1.1:1 minconn 2 maxconn 40\n"
		  "  timeout server 1s\n", computed);
}

static void test_lint_hard_stop_after(void **state)
{
	static const char *const fires[] = {
		"t.cfg:3: 'timeout server': backend b: 2h with no 'hard-stop-after' in 'global': after "
		"a reload the old process stays until its last session ends, and any traffic renews "
		"this timeout, so old generations can live for days; set 'hard-stop-after'",
		NULL,
	};
	static const char *const none[] = { NULL };

	lint_case("backend b\n" BASE_TO "  timeout server 2h\n  timeout server-fin 1s\n", fires);
	lint_case("backend b\n" BASE_TO "  timeout server 1h\n  timeout server-fin 1s\n", none);
	lint_case("global\n  hard-stop-after 10m\n"
		  "backend b\n" BASE_TO "  timeout server 2h\n  timeout server-fin 1s\n", none);
}

/* The incidents' configurations: each lint fires where its incident began. */
/* ---- HTTP -------------------------------------------------------------- */

static void test_http_keywords(void **state)
{
	static const char text[] =
		"global\n"
		"  tune.bufsize 32768\n"
		"  tune.maxrewrite 2048\n"
		"  tune.http.maxhdr 50\n"
		"defaults\n"
		"  mode http\n"
		"  option http-server-close\n"
		"  option forwardfor except 127.0.0.0/8 header X-Real-IP if-none\n"
		"  timeout connect 1s\n"
		"  timeout client 30s\n"
		"  timeout server 30s\n"
		"  timeout http-request 5s\n"
		"frontend web\n"
		"  bind :8080\n"
		"  option httplog\n"
		"  acl is_api path_beg /api/ /v2/\n"
		"  acl is_api hdr(host) -i api.example.com\n"
		"  acl is_post method POST\n"
		"  acl static hdr_beg(host) static.\n"
		"  http-request deny deny_status 400 if is_post !is_api\n"
		"  http-request set-header X-Proxy proxyd unless static\n"
		"  http-response set-header X-Frame-Options DENY\n"
		"  use_backend api if is_api || static\n"
		"  default_backend app\n"
		"backend api\n"
		"  option httpchk GET /health HTTP/1.1\n"
		"  http-check expect ! rstatus ^5\n"
		"  http-reuse never\n"
		"  option httpclose\n"
		"  server a1 127.0.0.1:9001 check\n"
		"backend app\n"
		"  option http-keep-alive\n"
		"  timeout http-keep-alive 2s\n"
		"  option httpchk /ping\n"
		"  http-check expect status 200-299,304\n"
		"  server s1 127.0.0.1:9002\n";
	const struct cfg_proxy *fe, *api, *app;
	struct cfg c;
	struct cfg_diag d;

	if (load(text, &c, &d) != 0) {
		dump(&d);
		fail();
	}
	assert_int_equal(c.global.bufsize, 32768);
	assert_int_equal(c.global.maxrewrite, 2048);
	assert_int_equal(c.global.maxhdr, 50);
	assert_int_equal(cfg_http_max_head(&c), 32768 - 2048);
	fe = px_get(&c, "web", CFG_CAP_FE);
	api = px_get(&c, "api", CFG_CAP_BE);
	app = px_get(&c, "app", CFG_CAP_BE);
	assert_int_equal(fe->mode, CFG_MODE_HTTP);
	assert_true(fe->options & CFG_OPT_HTTPLOG);
	assert_true(fe->options & CFG_OPT_FORWARDFOR);
	assert_string_equal(fe->ff_header, "X-Real-IP");
	assert_int_equal(fe->ff_except.family, AF_INET);
	assert_int_equal(fe->ff_except.bits, 8);
	assert_int_equal(fe->ff_if_none, 1);
	assert_int_equal(fe->http_conn, CFG_HTTP_SCL);
	assert_int_equal(fe->rules.nacls, 4);
	assert_int_equal(fe->rules.nacl_names, 3);
	assert_int_equal(fe->rules.nreq, 2);
	assert_int_equal(fe->rules.req[0].deny_status, 400);
	assert_int_equal(fe->rules.req[0].cond.nterms, 2);
	assert_int_equal(fe->rules.req[0].cond.terms[1].neg, 1);
	assert_int_equal(fe->rules.req[1].cond.kind, HTTP_COND_UNLESS);
	assert_int_equal(fe->rules.nres, 1);
	assert_int_equal(fe->rules.nub, 1);
	assert_int_equal(fe->rules.ub[0].be_idx, cfg_proxy_find(&c, "api", CFG_CAP_BE));
	assert_int_equal(fe->rules.ub[0].cond.terms[1].or_before, 1);
	/* inherited from defaults */
	assert_int_equal(api->mode, CFG_MODE_HTTP);
	assert_int_equal(cfg_timeout_get(api, CFG_TO_HTTP_REQUEST), 5000);
	assert_int_equal(cfg_timeout_get(api, CFG_TO_HTTP_KEEP_ALIVE), 5000);
	assert_int_equal(cfg_timeout_get(app, CFG_TO_HTTP_KEEP_ALIVE), 2000);
	assert_string_equal(api->ff_header, "X-Real-IP");
	assert_int_equal(api->http_conn, CFG_HTTP_CLO);
	assert_int_equal(app->http_conn, CFG_HTTP_KAL);
	assert_int_equal(cfg_http_conn_mode(fe, app), CFG_HTTP_SCL);
	assert_int_equal(cfg_http_conn_mode(fe, api), CFG_HTTP_CLO);
	assert_int_equal(api->http_reuse, CFG_REUSE_NEVER);
	assert_int_equal(app->http_reuse, CFG_REUSE_SAFE);
	assert_string_equal(api->chk_method, "GET");
	assert_string_equal(api->chk_uri, "/health");
	assert_string_equal(api->chk_version, "HTTP/1.1");
	assert_string_equal(app->chk_method, "OPTIONS");
	assert_string_equal(app->chk_uri, "/ping");
	assert_string_equal(app->chk_version, "HTTP/1.0");
	assert_true(cfg_http_expect_match(&api->chk_expect, 404));
	assert_false(cfg_http_expect_match(&api->chk_expect, 503));
	assert_true(cfg_http_expect_match(&app->chk_expect, 204));
	assert_true(cfg_http_expect_match(&app->chk_expect, 304));
	assert_false(cfg_http_expect_match(&app->chk_expect, 301));
	assert_int_equal(d.errors, 0);
	cfg_free(&c);
	cfg_diag_free(&d);
}

/* Defaults (no expect): 2xx and 3xx pass; tune.maxrewrite above half the
 * buffer is capped with a warning; httplog in mode tcp becomes tcplog. */
static void test_http_defaults_and_caps(void **state)
{
	static const char text[] =
		"global\n"
		"  tune.bufsize 4096\n"
		"  tune.maxrewrite 4000\n"
		"listen l\n"
		"  mode tcp\n"
		"  bind :1\n"
		"  option httplog\n"
		"  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n"
		"  server s 127.0.0.1:1\n";
	struct cfg_http_expect none = { CFG_EXPECT_NONE, 0, NULL };
	const struct cfg_proxy *l;
	struct cfg c;
	struct cfg_diag d;

	assert_true(cfg_http_expect_match(&none, 200));
	assert_true(cfg_http_expect_match(&none, 302));
	assert_false(cfg_http_expect_match(&none, 404));
	assert_false(cfg_http_expect_match(&none, 101));
	assert_int_equal(load(text, &c, &d), 0);
	assert_int_equal(c.global.maxrewrite, 2048);
	assert_true(has_msg(&d, CFG_SEV_WARNING, "'tune.maxrewrite': 4000 is more than half"));
	assert_true(has_msg(&d, CFG_SEV_WARNING, "'option httplog': HTTP option: 'option tcplog' is used in mode tcp"));
	l = px_get(&c, "l", 0);
	assert_true(l->options & CFG_OPT_TCPLOG);
	assert_false(l->options & CFG_OPT_HTTPLOG);
	assert_int_equal(c.global.maxhdr, 101);
	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_http_errorfile(void **state)
{
	char path[] = "/tmp/test_cfg_errXXXXXX", text[512];
	static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n"
				   "Connection: close\r\n\r\nbusy";
	struct cfg c;
	struct cfg_diag d;
	const struct cfg_proxy *b;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, resp, sizeof(resp) - 1), (ssize_t)(sizeof(resp) - 1));
	close(fd);
	snprintf(text, sizeof(text), "defaults\n  mode http\n  errorfile 503 %s\nbackend b\n", path);
	if (load(text, &c, &d) != 0) {
		dump(&d);
		fail();
	}
	b = px_get(&c, "b", 0);
	assert_int_equal(b->nerrorfiles, 1);
	assert_int_equal(b->errorfiles[0].status, 503);
	assert_int_equal(b->errorfiles[0].len, sizeof(resp) - 1);
	assert_memory_equal(b->errorfiles[0].data, resp, sizeof(resp) - 1);
	cfg_free(&c);
	cfg_diag_free(&d);

	/* larger than the head limit: refused */
	snprintf(text, sizeof(text), "global\n  tune.bufsize 1024\n  tune.maxrewrite 1000\n"
		 "defaults\n  errorfile 503 %s\n", path);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	{
		char pad[600];

		memset(pad, 'x', sizeof(pad));
		assert_int_equal(write(fd, pad, sizeof(pad)), (ssize_t)sizeof(pad));
	}
	close(fd);
	assert_int_equal(load(text, &c, &d), -1);
	assert_true(has_msg(&d, CFG_SEV_ERROR, "larger than the 512 bytes"));
	cfg_free(&c);
	cfg_diag_free(&d);

	/* not an HTTP response */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "<html>\n", 7), 7);
	close(fd);
	snprintf(text, sizeof(text), "defaults\n  errorfile 503 %s\n", path);
	assert_int_equal(load(text, &c, &d), -1);
	assert_true(has_msg(&d, CFG_SEV_ERROR, "not an HTTP response"));
	cfg_free(&c);
	cfg_diag_free(&d);
	unlink(path);
}

static void test_lint_http(void **state)
{
	static const char text[] =
		"global\n  hard-stop-after 1m\n"
		"defaults\n  mode http\n  timeout connect 1s\n  timeout client 1m\n"
		"  timeout server 10s\n  timeout client-fin 1s\n  timeout server-fin 1s\n"
		"frontend f\n  bind :1\n  default_backend b\n"
		"backend b\n  http-reuse always\n  server s 127.0.0.1:1\n"
		"backend c\n  option httpclose\n  http-reuse safe\n  server s 127.0.0.1:1\n"
		"frontend g\n  bind :2\n  timeout http-request 5s\n  default_backend b\n";
	static const char *const want[] = {
		"t.cfg:10: 'timeout http-request': frontend f: not set in mode http: a client "
		"sending its request slowly is only cut by 'timeout client' (1m) between bytes, so "
		"slow clients can hold every connection (slowloris); set it (e.g. 10s)",
		"t.cfg:14: 'http-reuse': backend b: 'always' sends a client's first request over an "
		"idle connection the server may be closing at that moment; the request then fails "
		"and is not retried; 'safe' avoids it",
		"t.cfg:18: 'http-reuse': backend c: no effect with 'option httpclose': server "
		"connections are closed after each response, none is ever reused",
		NULL,
	};
	struct cfg c;
	struct cfg_diag d;

	if (load(text, &c, &d) != 0) {
		dump(&d);
		fail();
	}
	cfg_diag_free(&d);
	cfg_diag_init(&d);
	cfg_lint(&c, &d);
	check_msgs(&d, CFG_SEV_WARNING, want);
	cfg_free(&c);
	cfg_diag_free(&d);
}

static void test_lint_incidents(void **state)
{
	static const struct {
		const char *file;
		const char *needles[5];
	} cases[] = {
		{ "incident1-reload-halfclose.cfg",
		  { ":13: 'timeout client': frontend fe_tls: 'timeout client-fin' is not set",
		    ":14: 'timeout server': backend be_tls: 'timeout server-fin' is not set",
		    ":14: 'timeout server': backend be_tls: sessions on a server marked DOWN",
		    ":13: 'timeout client': frontend fe_tls: 1d with no 'hard-stop-after'" } },
		{ "incident2-no-failover.cfg",
		  { ":9: 'timeout tunnel': listen ldap: sessions on a server marked DOWN stay open until this timeout (1h) because servers have no 'on-marked-down shutdown-sessions' (a, b)" } },
		{ "incident3-dynmaxconn.cfg",
		  { ":18: server rmi/registry: effective maxconn is 1 while the backend has fewer than 200 connections (minconn 1, maxconn 100, fullconn 10000)" } },
		{ "incident4-finwait-maxconn.cfg",
		  { ":10: 'timeout client': frontend web: 'timeout client-fin' is not set",
		    ":11: 'timeout server': backend ingress: 'timeout server-fin' is not set",
		    ":11: 'timeout server': backend ingress: sessions on a server marked DOWN" } },
		{ "incident-fixed.cfg", { NULL } },
	};
	char path[512];
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg c;
		struct cfg_diag d;

		snprintf(path, sizeof(path), CFG_FIXTURES "/%s", cases[i].file);
		cfg_diag_init(&d);
		if (cfg_load(path, &c, &d) != 0 || d.nmsgs) {
			print_message("%s must load without messages:\n", path);
			dump(&d);
			fail();
		}
		cfg_lint(&c, &d);
		for (k = 0; k < 5 && cases[i].needles[k]; k++) {
			if (!has_msg(&d, CFG_SEV_WARNING, cases[i].needles[k])) {
				print_message("%s: no warning with: %s\n", path, cases[i].needles[k]);
				dump(&d);
				fail();
			}
		}
		assert_int_equal(d.warnings, k);
		cfg_free(&c);
		cfg_diag_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time_units),
		cmocka_unit_test(test_parse_time_errors),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_addr_good),
		cmocka_unit_test(test_parse_addr_bad),
		cmocka_unit_test(test_format_time),
		cmocka_unit_test(test_dynmaxconn_documented),
		cmocka_unit_test(test_dynmaxconn_rules),
		cmocka_unit_test(test_slowstart),
		cmocka_unit_test(test_load_good_full),
		cmocka_unit_test(test_defaults_inheritance),
		cmocka_unit_test(test_default_server),
		cmocka_unit_test(test_limits_computed),
		cmocka_unit_test(test_timeout_fallbacks),
		cmocka_unit_test(test_quoting_supervisor_raw),
		cmocka_unit_test(test_quoted_keywords),
		cmocka_unit_test(test_load_warnings),
		cmocka_unit_test(test_missing_timeouts_warn),
		cmocka_unit_test(test_cookie_config),
		cmocka_unit_test(test_crlf_and_empty),
		cmocka_unit_test(test_keyword_tables_sorted),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_all_errors_one_run),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_lint_client_fin),
		cmocka_unit_test(test_lint_server_fin),
		cmocka_unit_test(test_lint_down_sessions),
		cmocka_unit_test(test_lint_dynmaxconn),
		cmocka_unit_test(test_lint_hard_stop_after),
		cmocka_unit_test(test_lint_incidents),
		cmocka_unit_test(test_http_keywords),
		cmocka_unit_test(test_http_defaults_and_caps),
		cmocka_unit_test(test_http_errorfile),
		cmocka_unit_test(test_lint_http),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
