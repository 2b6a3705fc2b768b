#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/sbuf.h"
#include "proxyd/cfg.h"
#include "proxyd/check.h"
#include "proxyd/loop.h"
#include "proxyd/proxy.h"
#include "proxyd/queue.h"
#include "proxyd/stats.h"
#include "proxyd/thread.h"

/* ---- columns ------------------------------------------------------------- */

const struct stat_col stat_cols[STAT_F_COUNT] = {
	[STAT_F_PXNAME] = { "pxname", "proxy name" },
	[STAT_F_SVNAME] = { "svname", "FRONTEND, BACKEND or the server name" },
	[STAT_F_QCUR] = { "qcur", "sessions queued now (backend: waiting for any server)" },
	[STAT_F_QMAX] = { "qmax", "highest qcur" },
	[STAT_F_SCUR] = { "scur", "current sessions" },
	[STAT_F_SMAX] = { "smax", "highest scur" },
	[STAT_F_SLIM] = { "slim", "configured session limit (server: maxconn in force)" },
	[STAT_F_STOT] = { "stot", "cumulative sessions" },
	[STAT_F_BIN] = { "bin", "bytes received from clients" },
	[STAT_F_BOUT] = { "bout", "bytes sent to clients" },
	[STAT_F_DREQ] = { "dreq", "requests denied" },
	[STAT_F_DRESP] = { "dresp", "responses denied" },
	[STAT_F_EREQ] = { "ereq", "request errors" },
	[STAT_F_ECON] = { "econ", "errors connecting to a server" },
	[STAT_F_ERESP] = { "eresp", "response errors" },
	[STAT_F_WRETR] = { "wretr", "connection retries" },
	[STAT_F_WREDIS] = { "wredis", "redispatches to another server" },
	[STAT_F_STATUS] = { "status", "OPEN/STOP/FULL, UP/DOWN/MAINT/DRAIN, UP 1/3 while transitional, no check" },
	[STAT_F_WEIGHT] = { "weight", "effective weight (backend: sum over usable servers)" },
	[STAT_F_ACT] = { "act", "active server (backend: usable active servers)" },
	[STAT_F_BCK] = { "bck", "backup server (backend: usable backup servers)" },
	[STAT_F_CHKFAIL] = { "chkfail", "failed checks while not DOWN" },
	[STAT_F_CHKDOWN] = { "chkdown", "UP to DOWN transitions" },
	[STAT_F_LASTCHG] = { "lastchg", "seconds since the last status change" },
	[STAT_F_DOWNTIME] = { "downtime", "total seconds DOWN" },
	[STAT_F_QLIMIT] = { "qlimit", "maxqueue, empty when unlimited" },
	[STAT_F_PID] = { "pid", "process number (1)" },
	[STAT_F_IID] = { "iid", "proxy id" },
	[STAT_F_SID] = { "sid", "server id" },
	[STAT_F_THROTTLE] = { "throttle", "slowstart percentage while starting" },
	[STAT_F_LBTOT] = { "lbtot", "times selected by the load balancer" },
	[STAT_F_TRACKED] = { "tracked", "tracked server (unused)" },
	[STAT_F_TYPE] = { "type", "0 frontend, 1 backend, 2 server" },
	[STAT_F_RATE] = { "rate", "sessions in the last second" },
	[STAT_F_RATE_LIM] = { "rate_lim", "session rate limit (unused: 0)" },
	[STAT_F_RATE_MAX] = { "rate_max", "highest rate" },
	[STAT_F_CHECK_STATUS] = { "check_status", "last check status (L4OK, L4TOUT, L4CON, L7OK, L7STS, L7RSP, L7TOUT, SOCKERR, INI)" },
	[STAT_F_CHECK_CODE] = { "check_code", "layer 5-7 code: the HTTP status of the last check (httpchk)" },
	[STAT_F_CHECK_DURATION] = { "check_duration", "ms taken by the last check" },
	[STAT_F_HRSP_1XX] = { "hrsp_1xx", "HTTP 1xx responses (mode http)" },
	[STAT_F_HRSP_2XX] = { "hrsp_2xx", "HTTP 2xx responses (mode http)" },
	[STAT_F_HRSP_3XX] = { "hrsp_3xx", "HTTP 3xx responses (mode http)" },
	[STAT_F_HRSP_4XX] = { "hrsp_4xx", "HTTP 4xx responses (mode http)" },
	[STAT_F_HRSP_5XX] = { "hrsp_5xx", "HTTP 5xx responses (mode http)" },
	[STAT_F_HRSP_OTHER] = { "hrsp_other", "other HTTP responses (mode http)" },
	[STAT_F_HANAFAIL] = { "hanafail", "failed health analyses (unused)" },
	[STAT_F_REQ_RATE] = { "req_rate", "HTTP requests in the last second (frontend)" },
	[STAT_F_REQ_RATE_MAX] = { "req_rate_max", "highest req_rate" },
	[STAT_F_REQ_TOT] = { "req_tot", "HTTP requests (mode http)" },
	[STAT_F_CLI_ABRT] = { "cli_abrt", "transfers aborted by the client" },
	[STAT_F_SRV_ABRT] = { "srv_abrt", "transfers aborted by the server" },
	[STAT_F_COMP_IN] = { "comp_in", "compressor input bytes (unused)" },
	[STAT_F_COMP_OUT] = { "comp_out", "compressor output bytes (unused)" },
	[STAT_F_COMP_BYP] = { "comp_byp", "bytes that bypassed compression (unused)" },
	[STAT_F_COMP_RSP] = { "comp_rsp", "compressed responses (unused)" },
	[STAT_F_LASTSESS] = { "lastsess", "seconds since the last session (-1: never)" },
	[STAT_F_LAST_CHK] = { "last_chk", "last check detail" },
	[STAT_F_LAST_AGT] = { "last_agt", "last agent check (unused)" },
	[STAT_F_QTIME] = { "qtime", "average queue time, ms" },
	[STAT_F_CTIME] = { "ctime", "average connect time, ms" },
	[STAT_F_RTIME] = { "rtime", "average response time, ms (0 in tcp)" },
	[STAT_F_TTIME] = { "ttime", "average session time, ms" },
	[STAT_F_AGENT_STATUS] = { "agent_status", "agent check status (unused)" },
	[STAT_F_AGENT_CODE] = { "agent_code", "agent code (unused)" },
	[STAT_F_AGENT_DURATION] = { "agent_duration", "agent check duration (unused)" },
	[STAT_F_CHECK_DESC] = { "check_desc", "last check status in words" },
	[STAT_F_AGENT_DESC] = { "agent_desc", "agent status in words (unused)" },
	[STAT_F_CHECK_RISE] = { "check_rise", "rise" },
	[STAT_F_CHECK_FALL] = { "check_fall", "fall" },
	[STAT_F_CHECK_HEALTH] = { "check_health", "check health, 0 .. rise+fall-1" },
	[STAT_F_AGENT_RISE] = { "agent_rise", "agent rise (unused)" },
	[STAT_F_AGENT_FALL] = { "agent_fall", "agent fall (unused)" },
	[STAT_F_AGENT_HEALTH] = { "agent_health", "agent health (unused)" },
	[STAT_F_ADDR] = { "addr", "server address:port" },
	[STAT_F_COOKIE] = { "cookie", "cookie (unused)" },
	[STAT_F_MODE] = { "mode", "proxy mode" },
	[STAT_F_ALGO] = { "algo", "load-balancing algorithm" },
	[STAT_F_CONN_RATE] = { "conn_rate", "connections in the last second" },
	[STAT_F_CONN_RATE_MAX] = { "conn_rate_max", "highest conn_rate" },
	[STAT_F_CONN_TOT] = { "conn_tot", "accepted connections" },
	[STAT_F_INTERCEPTED] = { "intercepted", "intercepted requests (unused)" },
	[STAT_F_DCON] = { "dcon", "connections refused at accept" },
	[STAT_F_DSES] = { "dses", "sessions denied (unused)" },
	[STAT_F_WREW] = { "wrew", "failed header rewrites (unused)" },
	[STAT_F_CONNECT] = { "connect", "connection attempts to servers" },
	[STAT_F_REUSE] = { "reuse", "connection reuses (unused: 0)" },
	[STAT_F_CACHE_LOOKUPS] = { "cache_lookups", "cache lookups (unused)" },
	[STAT_F_CACHE_HITS] = { "cache_hits", "cache hits (unused)" },
	[STAT_F_SRV_ICUR] = { "srv_icur", "idle connections (unused: 0)" },
	[STAT_F_SRC_ILIM] = { "src_ilim", "idle connection limit (unused)" },
	[STAT_F_QTIME_MAX] = { "qtime_max", "highest queue time, ms" },
	[STAT_F_CTIME_MAX] = { "ctime_max", "highest connect time, ms" },
	[STAT_F_RTIME_MAX] = { "rtime_max", "highest response time, ms" },
	[STAT_F_TTIME_MAX] = { "ttime_max", "highest session time, ms" },
	[STAT_F_EINT] = { "eint", "internal errors" },
	[STAT_F_IDLE_CONN_CUR] = { "idle_conn_cur", "unsafe idle connections (unused: 0)" },
	[STAT_F_SAFE_CONN_CUR] = { "safe_conn_cur", "safe idle connections (unused: 0)" },
	[STAT_F_USED_CONN_CUR] = { "used_conn_cur", "server connections in use" },
	[STAT_F_NEED_CONN_EST] = { "need_conn_est", "estimated connections needed" },
	[STAT_F_UWEIGHT] = { "uweight", "weight in force (backend: sum)" },
	[STAT_F_AGG_SERVER_STATUS] = { "agg_server_status", "aggregated server status (unused: 0)" },
	[STAT_F_AGG_SERVER_CHECK_STATUS] = { "agg_server_check_status", "aggregated check status (unused: 0)" },
	[STAT_F_AGG_CHECK_STATUS] = { "agg_check_status", "aggregated check status (unused: 0)" },
	[STAT_F_SEP] = { "-", "separator before module columns, always -" },
	[STAT_F_SSL_SESS] = { "ssl_sess", "protocol module counter (unused)" },
	[STAT_F_SSL_REUSED_SESS] = { "ssl_reused_sess", "protocol module counter (unused)" },
	[STAT_F_SSL_FAILED_HANDSHAKE] = { "ssl_failed_handshake", "protocol module counter (unused)" },
	[STAT_F_H2_HEADERS_RCVD] = { "h2_headers_rcvd", "protocol module counter (unused)" },
	[STAT_F_H2_DATA_RCVD] = { "h2_data_rcvd", "protocol module counter (unused)" },
	[STAT_F_H2_SETTINGS_RCVD] = { "h2_settings_rcvd", "protocol module counter (unused)" },
	[STAT_F_H2_RST_STREAM_RCVD] = { "h2_rst_stream_rcvd", "protocol module counter (unused)" },
	[STAT_F_H2_GOAWAY_RCVD] = { "h2_goaway_rcvd", "protocol module counter (unused)" },
	[STAT_F_H2_DETECTED_CONN_PROTOCOL_ERRORS] = { "h2_detected_conn_protocol_errors", "protocol module counter (unused)" },
	[STAT_F_H2_DETECTED_STRM_PROTOCOL_ERRORS] = { "h2_detected_strm_protocol_errors", "protocol module counter (unused)" },
	[STAT_F_H2_RST_STREAM_RESP] = { "h2_rst_stream_resp", "protocol module counter (unused)" },
	[STAT_F_H2_GOAWAY_RESP] = { "h2_goaway_resp", "protocol module counter (unused)" },
	[STAT_F_H2_OPEN_CONNECTIONS] = { "h2_open_connections", "protocol module counter (unused)" },
	[STAT_F_H2_BACKEND_OPEN_STREAMS] = { "h2_backend_open_streams", "protocol module counter (unused)" },
	[STAT_F_H2_TOTAL_CONNECTIONS] = { "h2_total_connections", "protocol module counter (unused)" },
	[STAT_F_H2_BACKEND_TOTAL_STREAMS] = { "h2_backend_total_streams", "protocol module counter (unused)" },
	[STAT_F_H1_OPEN_CONNECTIONS] = { "h1_open_connections", "protocol module counter (unused)" },
	[STAT_F_H1_OPEN_STREAMS] = { "h1_open_streams", "protocol module counter (unused)" },
	[STAT_F_H1_TOTAL_CONNECTIONS] = { "h1_total_connections", "protocol module counter (unused)" },
	[STAT_F_H1_TOTAL_STREAMS] = { "h1_total_streams", "protocol module counter (unused)" },
	[STAT_F_H1_BYTES_IN] = { "h1_bytes_in", "protocol module counter (unused)" },
	[STAT_F_H1_BYTES_OUT] = { "h1_bytes_out", "protocol module counter (unused)" },
	[STAT_F_H1_SPLICED_BYTES_IN] = { "h1_spliced_bytes_in", "protocol module counter (unused)" },
	[STAT_F_H1_SPLICED_BYTES_OUT] = { "h1_spliced_bytes_out", "protocol module counter (unused)" },
	[STAT_F_EFF_MAXCONN] = { "eff_maxconn", "server: effective connection limit now (dynamic maxconn with slowstart), empty when unlimited; backend: sum over servers" },
	[STAT_F_MINCONN] = { "minconn", "server: minconn" },
	[STAT_F_FULLCONN] = { "fullconn", "backend and server: the backend fullconn" },
};

/* One CSV line being filled: every field starts empty. */
struct stat_line {
	char v[STAT_F_COUNT][72];
};

static void line_clear(struct stat_line *l)
{
	unsigned i;

	for (i = 0; i < STAT_F_COUNT; i++)
		l->v[i][0] = '\0';
	snprintf(l->v[STAT_F_SEP], sizeof(l->v[STAT_F_SEP]), "-");
}

static void put_u(struct stat_line *l, enum stat_field f, uint64_t v)
{
	snprintf(l->v[f], sizeof(l->v[f]), "%llu", (unsigned long long)v);
}

static void put_i(struct stat_line *l, enum stat_field f, int64_t v)
{
	snprintf(l->v[f], sizeof(l->v[f]), "%lld", (long long)v);
}

/* Commas would shift the columns: they become spaces. */
static void put_s(struct stat_line *l, enum stat_field f, const char *s)
{
	char *p;

	snprintf(l->v[f], sizeof(l->v[f]), "%s", s);
	for (p = l->v[f]; *p; p++)
		if (*p == ',' || *p == '\n')
			*p = ' ';
}

/* Zeros where HAProxy 2.6 prints zeros for a proxy of this kind in tcp mode
 * (protocol-module counters we do not have: nothing ever counted). */
static void put_zeros(struct stat_line *l, enum stat_field from, enum stat_field to)
{
	unsigned f;

	for (f = from; f <= to; f++)
		put_u(l, (enum stat_field)f, 0);
}

static void line_emit(struct sbuf *out, const struct stat_line *l)
{
	unsigned i;

	for (i = 0; i < STAT_F_COUNT; i++) {
		sb_puts(out, l->v[i]);
		sb_putc(out, ',');
	}
	sb_putc(out, '\n');
}

void stats_csv_header(struct sbuf *out)
{
	unsigned i;

	sb_puts(out, "# ");
	for (i = 0; i < STAT_F_COUNT; i++) {
		sb_puts(out, stat_cols[i].name);
		sb_putc(out, ',');
	}
	sb_putc(out, '\n');
}

static uint64_t secs_since(uint64_t then, uint64_t now)
{
	return now > then ? (now - then) / 1000 : 0;
}

static void put_common(struct stat_line *l, const struct proxy *px, const struct px_counters *c,
		       uint64_t now)
{
	put_s(l, STAT_F_PXNAME, px->name);
	put_u(l, STAT_F_SCUR, c->scur);
	put_u(l, STAT_F_SMAX, c->smax);
	put_u(l, STAT_F_STOT, c->stot);
	put_u(l, STAT_F_BIN, c->bin);
	put_u(l, STAT_F_BOUT, c->bout);
	put_u(l, STAT_F_PID, 1);
	put_u(l, STAT_F_IID, px->uuid);
	put_u(l, STAT_F_RATE, px_rate_get(&c->rate, now));
	put_u(l, STAT_F_RATE_MAX, c->rate_max);
	put_s(l, STAT_F_MODE, cfg_mode_name(px->mode));
	put_u(l, STAT_F_EINT, c->eint);
}

/* HTTP response classes and the request count: mode http only (HAProxy
 * leaves them empty in tcp mode). */
static void put_http(struct stat_line *l, const struct proxy *px, const struct px_counters *c)
{
	unsigned i;

	if (px->mode != CFG_MODE_HTTP)
		return;
	for (i = 0; i < 6; i++)
		put_u(l, (enum stat_field)(STAT_F_HRSP_1XX + i), c->hrsp[i]);
	put_u(l, STAT_F_REQ_TOT, c->req_tot);
}

/* Backend and server columns shared by both. */
static void put_be_srv(struct stat_line *l, const struct px_counters *c, uint64_t now)
{
	put_u(l, STAT_F_QCUR, c->qcur);
	put_u(l, STAT_F_QMAX, c->qmax);
	put_u(l, STAT_F_DRESP, c->dresp);
	put_u(l, STAT_F_ECON, c->econ);
	put_u(l, STAT_F_ERESP, c->eresp);
	put_u(l, STAT_F_WRETR, c->wretr);
	put_u(l, STAT_F_WREDIS, c->wredis);
	put_u(l, STAT_F_LBTOT, c->lbtot);
	put_u(l, STAT_F_CLI_ABRT, c->cli_abrt);
	put_u(l, STAT_F_SRV_ABRT, c->srv_abrt);
	put_i(l, STAT_F_LASTSESS, c->lastsess ? (int64_t)secs_since(c->lastsess, now) : -1);
	put_u(l, STAT_F_QTIME, c->qtime);
	put_u(l, STAT_F_CTIME, c->ctime);
	put_u(l, STAT_F_RTIME, 0);
	put_u(l, STAT_F_TTIME, c->ttime);
	put_u(l, STAT_F_WREW, 0);
	put_u(l, STAT_F_CONNECT, c->connect);
	put_u(l, STAT_F_REUSE, 0);
	put_u(l, STAT_F_QTIME_MAX, c->qtime_max);
	put_u(l, STAT_F_CTIME_MAX, c->ctime_max);
	put_u(l, STAT_F_RTIME_MAX, 0);
	put_u(l, STAT_F_TTIME_MAX, c->ttime_max);
}

void stats_csv_frontend(struct sbuf *out, const struct proxy *px, uint64_t now)
{
	const struct px_counters *c = &px->fe;
	struct stat_line l;
	const char *st = "OPEN";

	line_clear(&l);
	put_common(&l, px, c, now);
	put_s(&l, STAT_F_SVNAME, "FRONTEND");
	put_u(&l, STAT_F_SLIM, px->maxconn);
	put_u(&l, STAT_F_DREQ, c->dreq);
	put_u(&l, STAT_F_DRESP, c->dresp);
	put_u(&l, STAT_F_EREQ, c->ereq);
	if (px->stopped || proxy_info.stopping)
		st = "STOP";
	else if (px->maxconn && c->scur >= px->maxconn)
		st = "FULL";
	put_s(&l, STAT_F_STATUS, st);
	put_u(&l, STAT_F_SID, 0);
	put_u(&l, STAT_F_TYPE, 0);
	put_u(&l, STAT_F_RATE_LIM, 0);
	put_zeros(&l, STAT_F_REQ_RATE, STAT_F_REQ_TOT);
	if (px->mode == CFG_MODE_HTTP) {
		put_u(&l, STAT_F_REQ_RATE, px_mtrate_get(&px->req_rate, now));
		put_u(&l, STAT_F_REQ_RATE_MAX, px_mtrate_max(&px->req_rate));
	}
	put_http(&l, px, c);
	put_zeros(&l, STAT_F_COMP_IN, STAT_F_COMP_RSP);
	put_u(&l, STAT_F_CONN_RATE, px_rate_get(&c->rate, now));
	put_u(&l, STAT_F_CONN_RATE_MAX, c->rate_max);
	put_u(&l, STAT_F_CONN_TOT, c->conn_tot);
	put_u(&l, STAT_F_DCON, c->denied_conn);
	put_u(&l, STAT_F_DSES, 0);
	put_u(&l, STAT_F_WREW, 0);
	put_zeros(&l, STAT_F_SSL_SESS, STAT_F_H1_SPLICED_BYTES_OUT);
	line_emit(out, &l);
}

static int srv_in_farm_counts(const struct proxy *be, unsigned *act, unsigned *bck,
			      uint64_t *wact, uint64_t *wbck, uint64_t now)
{
	unsigned i;

	*act = *bck = 0;
	*wact = *wbck = 0;
	for (i = 0; i < be->nsrvs; i++) {
		const struct server *srv = &be->srvs[i];

		if (!server_usable(srv))
			continue;
		if (srv->flags & CFG_SRV_BACKUP) {
			(*bck)++;
			*wbck += server_eweight(srv, now);
		} else {
			(*act)++;
			*wact += server_eweight(srv, now);
		}
	}
	return *act + *bck > 0;
}

void stats_csv_backend(struct sbuf *out, const struct proxy *px, uint64_t now)
{
	const struct px_counters *c = &px->be;
	struct stat_line l;
	unsigned act, bck, i;
	uint64_t wact, wbck, uw = 0, eff = 0;
	int up, unlimited = 0;

	line_clear(&l);
	put_common(&l, px, c, now);
	put_be_srv(&l, c, now);
	put_s(&l, STAT_F_SVNAME, "BACKEND");
	put_u(&l, STAT_F_SLIM, px->fullconn);
	put_u(&l, STAT_F_DREQ, c->dreq);
	up = srv_in_farm_counts(px, &act, &bck, &wact, &wbck, now);
	put_s(&l, STAT_F_STATUS, up ? "UP" : "DOWN");
	put_u(&l, STAT_F_WEIGHT, act ? wact : wbck);
	put_u(&l, STAT_F_ACT, act);
	put_u(&l, STAT_F_BCK, bck);
	put_u(&l, STAT_F_CHKDOWN, px->chkdown);
	put_u(&l, STAT_F_LASTCHG, secs_since(px->last_change, now));
	put_u(&l, STAT_F_DOWNTIME, (px->down_total + (px->up ? 0 : now - px->down_since)) / 1000);
	put_u(&l, STAT_F_SID, 0);
	put_u(&l, STAT_F_TYPE, 1);
	put_http(&l, px, c);
	put_zeros(&l, STAT_F_COMP_IN, STAT_F_COMP_RSP);
	put_s(&l, STAT_F_ALGO, cfg_balance_name(px->balance));
	for (i = 0; i < px->nsrvs; i++) {
		unsigned e = server_eff_maxconn(&px->srvs[i], now);

		uw += px->srvs[i].uweight;
		if (!e)
			unlimited = 1;
		eff += e;
	}
	put_u(&l, STAT_F_UWEIGHT, uw);
	put_zeros(&l, STAT_F_AGG_SERVER_STATUS, STAT_F_AGG_CHECK_STATUS);
	put_zeros(&l, STAT_F_SSL_SESS, STAT_F_H1_SPLICED_BYTES_OUT);
	if (!unlimited && px->nsrvs)
		put_u(&l, STAT_F_EFF_MAXCONN, eff);
	put_u(&l, STAT_F_FULLCONN, px->fullconn);
	line_emit(out, &l);
}

/* HAProxy's status text for a server: "UP", "DOWN", "UP 1/3" (going down),
 * "DOWN 1/2" (going up), "DRAIN", "MAINT", "no check". */
static void srv_status_text(const struct server *srv, char *buf, size_t len)
{
	const struct srv_check *chk = &srv->chk;

	if (srv->admin == SRV_ADMIN_MAINT) {
		snprintf(buf, len, "MAINT");
	} else if (srv->op != SRV_OP_DOWN) {
		int going_down = chk->configured && chk->health < chk->rise + chk->fall - 1;
		const char *word = srv->admin == SRV_ADMIN_DRAIN ? "DRAIN" : "UP";

		if (going_down)
			snprintf(buf, len, "%s %u/%u", word, chk->health - chk->rise + 1, chk->fall);
		else if (!chk->configured && srv->admin != SRV_ADMIN_DRAIN)
			snprintf(buf, len, "no check");
		else
			snprintf(buf, len, "%s", word);
	} else if (chk->configured && chk->health > 0) {
		snprintf(buf, len, "DOWN %u/%u", chk->health, chk->rise);
	} else {
		snprintf(buf, len, "DOWN");
	}
}

const char *stats_check_status_name(enum chk_status st)
{
	switch (st) {
	case CHK_STATUS_UNKNOWN:
		return "UNK";
	case CHK_STATUS_INI:
		return "INI";
	case CHK_STATUS_START:
		return "START";
	case CHK_STATUS_CHECKED:
		return "CHECKED";
	case CHK_STATUS_HANA:
		return "HANA";
	case CHK_STATUS_SOCKERR:
		return "SOCKERR";
	case CHK_STATUS_L4OK:
		return "L4OK";
	case CHK_STATUS_L4TOUT:
		return "L4TOUT";
	case CHK_STATUS_L4CON:
		return "L4CON";
	case CHK_STATUS_L6OK:
		return "L6OK";
	case CHK_STATUS_L6TOUT:
		return "L6TOUT";
	case CHK_STATUS_L6RSP:
		return "L6RSP";
	case CHK_STATUS_L7TOUT:
		return "L7TOUT";
	case CHK_STATUS_L7RSP:
		return "L7RSP";
	case CHK_STATUS_L57DATA:
		return "L57DATA";
	case CHK_STATUS_L7OKD:
		return "L7OK";
	case CHK_STATUS_L7OKCD:
		return "L7OKC";
	case CHK_STATUS_L7STS:
		return "L7STS";
	}
	return "UNK";
}

static void srv_addr_text(const struct server *srv, char *buf, size_t len)
{
	cfg_addr_format(&srv->addr, buf, len);
}

void stats_csv_server(struct sbuf *out, const struct server *srv, uint64_t now)
{
	const struct px_counters *c = &srv->c;
	const struct srv_check *chk = &srv->chk;
	const struct proxy *be = srv->be;
	struct stat_line l;
	char buf[72];
	unsigned eff;

	line_clear(&l);
	put_common(&l, be, c, now);
	put_be_srv(&l, c, now);
	put_s(&l, STAT_F_SVNAME, srv->name);
	if (srv->maxconn)
		put_u(&l, STAT_F_SLIM, srv->maxconn);
	srv_status_text(srv, buf, sizeof(buf));
	put_s(&l, STAT_F_STATUS, buf);
	put_u(&l, STAT_F_WEIGHT, server_usable(srv) ? server_eweight(srv, now) : srv->uweight);
	put_u(&l, STAT_F_ACT, !(srv->flags & CFG_SRV_BACKUP));
	put_u(&l, STAT_F_BCK, !!(srv->flags & CFG_SRV_BACKUP));
	put_u(&l, STAT_F_LASTCHG, secs_since(srv->last_change, now));
	if (chk->configured) {
		put_u(&l, STAT_F_CHKFAIL, chk->failed);
		put_u(&l, STAT_F_CHKDOWN, srv->chkdown);
		put_u(&l, STAT_F_DOWNTIME, (srv->down_total +
					    (srv->op == SRV_OP_DOWN ? now - srv->down_since : 0)) / 1000);
		if (chk->status != CHK_STATUS_INI && chk->status != CHK_STATUS_UNKNOWN) {
			snprintf(buf, sizeof(buf), "%s%s", chk->running ? "* " : "",
				 stats_check_status_name(chk->status));
			put_s(&l, STAT_F_CHECK_STATUS, buf);
			put_u(&l, STAT_F_CHECK_DURATION, chk->duration);
			put_s(&l, STAT_F_LAST_CHK, chk->info);
			if (chk->status >= CHK_STATUS_L57DATA)
				put_u(&l, STAT_F_CHECK_CODE, chk->code);
			put_s(&l, STAT_F_CHECK_DESC, chk->desc);
		} else {
			snprintf(buf, sizeof(buf), "%sINI", chk->running ? "* " : "");
			put_s(&l, STAT_F_CHECK_STATUS, buf);
			put_s(&l, STAT_F_CHECK_DESC, "Initializing");
		}
		put_u(&l, STAT_F_CHECK_RISE, chk->rise);
		put_u(&l, STAT_F_CHECK_FALL, chk->fall);
		put_u(&l, STAT_F_CHECK_HEALTH, chk->health);
	}
	if (srv->maxqueue)
		put_u(&l, STAT_F_QLIMIT, srv->maxqueue);
	put_u(&l, STAT_F_SID, srv->puid);
	if (srv->op == SRV_OP_STARTING && server_throttle(srv, now) < 100)
		put_u(&l, STAT_F_THROTTLE, server_throttle(srv, now));
	put_u(&l, STAT_F_TYPE, 2);
	put_http(&l, be, c);
	srv_addr_text(srv, buf, sizeof(buf));
	put_s(&l, STAT_F_ADDR, buf);
	put_u(&l, STAT_F_SRV_ICUR, 0);
	put_zeros(&l, STAT_F_IDLE_CONN_CUR, STAT_F_SAFE_CONN_CUR);
	put_u(&l, STAT_F_USED_CONN_CUR, c->scur);
	put_u(&l, STAT_F_NEED_CONN_EST, c->scur);
	put_u(&l, STAT_F_UWEIGHT, srv->uweight);
	put_zeros(&l, STAT_F_SSL_SESS, STAT_F_SSL_FAILED_HANDSHAKE);
	eff = server_eff_maxconn(srv, now);
	if (eff)
		put_u(&l, STAT_F_EFF_MAXCONN, eff);
	put_u(&l, STAT_F_MINCONN, srv->minconn < srv->maxconn ? srv->minconn : srv->maxconn);
	put_u(&l, STAT_F_FULLCONN, be->fullconn);
	line_emit(out, &l);
}

/* ---- commands ------------------------------------------------------------ */

#define STATS_MAX_ARGS 16

struct stats_ctx {
	enum cfg_stats_level level;
	struct sbuf *out;
	int prompt_toggle;
	int quit;
};

struct stats_cmd {
	const char *kw[4];              /* leading words, NULL-terminated */
	enum cfg_stats_level level;     /* lowest level allowed */
	const char *usage;
	const char *help;
	/* args: the words after the keyword; nargs of them. */
	void (*fn)(struct stats_ctx *ctx, char **args, int nargs);
};

static const struct stats_cmd stats_cmds[];

static void cmd_help(struct stats_ctx *ctx, char **args, int nargs);

static void show_stat_px(struct sbuf *out, const struct proxy *px, unsigned types, int sid,
			 int no_maint, int up_only, uint64_t now)
{
	unsigned i;

	if ((px->cap & CFG_CAP_FE) && (types & 1) && sid < 1)
		stats_csv_frontend(out, px, now);
	if (!(px->cap & CFG_CAP_BE))
		return;
	if (types & 4) {
		for (i = 0; i < px->nsrvs; i++) {
			const struct server *srv = &px->srvs[i];
			enum srv_status st = server_status(srv);

			if (sid > 0 && srv->puid != (unsigned)sid)
				continue;
			if (no_maint && st == SRV_STATUS_MAINT)
				continue;
			if (up_only && st != SRV_STATUS_UP && st != SRV_STATUS_STARTING)
				continue;
			stats_csv_server(out, srv, now);
		}
	}
	if ((types & 2) && sid < 1)
		stats_csv_backend(out, px, now);
}

/* show stat [{<iid>|<proxy>} <type> <sid>] [up|no-maint]: type is a mask,
 * 1 frontends, 2 backends, 4 servers, -1 all; sid -1 for all servers. */
static void cmd_show_stat(struct stats_ctx *ctx, char **args, int nargs)
{
	uint64_t now = loop_now();
	const struct proxy *only = NULL;
	unsigned types = 7, i;
	int sid = -1, no_maint = 0, up_only = 0, iid = -1, a = 0;

	while (a < nargs) {
		if (strcmp(args[a], "up") == 0) {
			up_only = 1;
			a++;
		} else if (strcmp(args[a], "no-maint") == 0) {
			no_maint = 1;
			a++;
		} else if (strcmp(args[a], "typed") == 0 || strcmp(args[a], "json") == 0) {
			sb_printf(ctx->out, "Output format '%s' is not supported: CSV only.\n", args[a]);
			return;
		} else if (strcmp(args[a], "desc") == 0) {
			a++;
		} else if (a + 3 <= nargs) {
			char *end;
			long v;

			v = strtol(args[a], &end, 10);
			if (*end == '\0' && end != args[a]) {
				iid = (int)v;
			} else {
				only = proxy_find(args[a], 0);
				if (!only) {
					sb_puts(ctx->out, "No such proxy.\n");
					return;
				}
			}
			v = strtol(args[a + 1], &end, 10);
			types = (*end || end == args[a + 1] || v < 0) ? 7 : (unsigned)v;
			sid = atoi(args[a + 2]);
			a += 3;
		} else {
			sb_puts(ctx->out, "Require <iid>|<proxy> <type> <sid>.\n");
			return;
		}
	}
	stats_csv_header(ctx->out);
	for (i = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);

		if (only && px != only)
			continue;
		if (iid > 0 && px->uuid != (unsigned)iid)
			continue;
		show_stat_px(ctx->out, px, types, sid, no_maint, up_only, now);
	}
}

static void fmt_uptime(char *buf, size_t len, uint64_t secs)
{
	snprintf(buf, len, "%llud %uh%02um%02us", (unsigned long long)(secs / 86400),
		 (unsigned)(secs % 86400 / 3600), (unsigned)(secs % 3600 / 60), (unsigned)(secs % 60));
}

static void cmd_show_info(struct stats_ctx *ctx, char **args, int nargs)
{
	struct sbuf *o = ctx->out;
	uint64_t now = loop_now();
	uint64_t up = secs_since(proxy_info.start_mono, now);
	char buf[64], host[256];
	unsigned i, sessrate = 0, sessmax = 0;

	(void)args;
	(void)nargs;
	for (i = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);

		if (px->cap & CFG_CAP_FE) {
			sessrate += px_rate_get(&px->fe.rate, now);
			sessmax += px->fe.rate_max;
		}
	}
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	fmt_uptime(buf, sizeof(buf), up);
	sb_printf(o, "Name: proxyd\n");
	sb_printf(o, "Version: %s\n", PACKAGE_VERSION);
	sb_printf(o, "Nbthread: 1\nNbproc: 1\nProcess_num: 1\n");
	sb_printf(o, "Pid: %ld\n", (long)getpid());
	sb_printf(o, "Uptime: %s\n", buf);
	sb_printf(o, "Uptime_sec: %llu\n", (unsigned long long)up);
	sb_printf(o, "Memmax_MB: 0\n");
	sb_printf(o, "Ulimit-n: %u\n", proxy_info.maxsock);
	sb_printf(o, "Maxsock: %u\n", proxy_info.maxsock);
	sb_printf(o, "Maxconn: %u\n", proxy_info.maxconn);
	sb_printf(o, "Hard_maxconn: %u\n", proxy_info.hard_maxconn ? proxy_info.hard_maxconn
								: proxy_info.maxconn);
	sb_printf(o, "CurrConns: %u\n", proxy_info.curconn);
	sb_printf(o, "CumConns: %llu\n", (unsigned long long)proxy_info.cumconn);
	sb_printf(o, "ConnRate: %u\n", px_rate_get(&proxy_info.conn_rate, now));
	sb_printf(o, "ConnRateLimit: 0\n");
	sb_printf(o, "MaxConnRate: %u\n", proxy_info.conn_rate_max);
	sb_printf(o, "SessRate: %u\n", sessrate);
	sb_printf(o, "SessRateLimit: 0\n");
	sb_printf(o, "MaxSessRate: %u\n", sessmax);
	sb_printf(o, "node: %s\n", host);
	sb_printf(o, "Stopping: %d\n", proxy_info.stopping ? 1 : 0);
	sb_printf(o, "Jobs: %u\n", proxy_info.curconn + proxy_info.listeners);
	sb_printf(o, "Unstoppable Jobs: 0\n");
	sb_printf(o, "Listeners: %u\n", proxy_info.listeners);
	sb_printf(o, "TotalBytesOut: %llu\n", (unsigned long long)proxy_info.bytes_out);
	sb_printf(o, "Start_time_sec: %llu\n", (unsigned long long)(proxy_info.start_real / 1000));
}

/* HAProxy's numbers: op state 0 stopped, 1 starting, 2 running; admin
 * flags 0x1 forced maintenance, 0x4 maintenance from the configuration,
 * 0x8 forced drain; check state flags 0x2 configured, 0x4 enabled, 0x8
 * paused. */
static unsigned srv_state_op(const struct server *srv)
{
	if (srv->op == SRV_OP_DOWN || srv->admin == SRV_ADMIN_MAINT)
		return 0;
	return srv->op == SRV_OP_STARTING ? 1 : 2;
}

static unsigned srv_state_admin(const struct server *srv)
{
	if (srv->admin == SRV_ADMIN_MAINT)
		return (srv->flags & CFG_SRV_DISABLED) ? 0x5 : 0x1;
	if (srv->admin == SRV_ADMIN_DRAIN)
		return 0x8;
	return 0;
}

static unsigned srv_state_chk(const struct server *srv)
{
	unsigned st = 0;

	if (srv->chk.configured)
		st |= 0x2 | 0x4;
	if (srv->admin == SRV_ADMIN_MAINT)
		st |= 0x8;
	return st;
}

static void srv_ip_port(const struct server *srv, char *ip, size_t iplen, unsigned *port)
{
	char buf[96], *p;

	cfg_addr_format(&srv->addr, buf, sizeof(buf));
	*port = 0;
	p = strrchr(buf, ':');
	if (p) {
		*port = (unsigned)atoi(p + 1);
		*p = '\0';
	}
	p = buf;
	if (*p == '[') {
		p++;
		p[strcspn(p, "]")] = '\0';
	}
	snprintf(ip, iplen, "%s", p);
}

static const struct proxy *arg_backend(struct stats_ctx *ctx, char **args, int nargs, int *bad)
{
	const struct proxy *be = NULL;

	*bad = 0;
	if (nargs >= 1) {
		be = proxy_find(args[0], CFG_CAP_BE);
		if (!be) {
			sb_puts(ctx->out, "Can't find backend.\n");
			*bad = 1;
		}
	}
	return be;
}

static void cmd_show_servers_state(struct stats_ctx *ctx, char **args, int nargs)
{
	uint64_t now = loop_now();
	const struct proxy *only;
	unsigned i, j;
	int bad;

	only = arg_backend(ctx, args, nargs, &bad);
	if (bad)
		return;
	sb_puts(ctx->out, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
		"srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
		"srv_check_status srv_check_result srv_check_health srv_check_state "
		"srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
		"srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n");
	for (i = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);

		if (!(px->cap & CFG_CAP_BE) || (only && px != only))
			continue;
		for (j = 0; j < px->nsrvs; j++) {
			const struct server *srv = &px->srvs[j];
			char ip[96];
			unsigned port;

			srv_ip_port(srv, ip, sizeof(ip), &port);
			sb_printf(ctx->out, "%u %s %u %s %s %u %u %u %u %llu %u %u %u %u 0 0 0 - %u - 0 0 - - 0\n",
				  px->uuid, px->name, srv->puid, srv->name, ip, srv_state_op(srv),
				  srv_state_admin(srv), srv->uweight, srv->iweight,
				  (unsigned long long)secs_since(srv->last_change, now),
				  srv->chk.status, srv->chk.result, srv->chk.health,
				  srv_state_chk(srv), port);
		}
	}
}

/* Ours: what limits each server now, in words, for people. */
static void cmd_show_servers_limits(struct stats_ctx *ctx, char **args, int nargs)
{
	uint64_t now = loop_now();
	const struct proxy *only;
	unsigned i, j;
	int bad;

	only = arg_backend(ctx, args, nargs, &bad);
	if (bad)
		return;
	sb_puts(ctx->out, "# backend/server status scur qcur eff_maxconn maxconn minconn "
		"fullconn beconn maxqueue throttle limited_by\n");
	for (i = 0; i < proxy_count(); i++) {
		const struct proxy *px = proxy_at(i);

		if (!(px->cap & CFG_CAP_BE) || (only && px != only))
			continue;
		for (j = 0; j < px->nsrvs; j++) {
			const struct server *srv = &px->srvs[j];
			unsigned eff = server_eff_maxconn(srv, now);
			unsigned minc = srv->minconn < srv->maxconn ? srv->minconn : srv->maxconn;
			unsigned thr = server_throttle(srv, now);
			unsigned dyn = cfg_srv_dynmaxconn(minc, srv->maxconn, px->fullconn, px->be.scur);
			const char *why;
			char effs[16], maxs[16], qs[16];

			if (!srv->maxconn)
				why = "none";
			else if (thr < 100)
				why = "slowstart";
			else if (dyn < srv->maxconn)
				why = "dynamic(beconn<fullconn)";
			else
				why = "maxconn";
			snprintf(effs, sizeof(effs), eff ? "%u" : "-", eff);
			snprintf(maxs, sizeof(maxs), srv->maxconn ? "%u" : "-", srv->maxconn);
			snprintf(qs, sizeof(qs), srv->maxqueue ? "%u" : "-", srv->maxqueue);
			sb_printf(ctx->out, "%s/%s %s %u %u %s %s %u %u %u %s %u%% %s\n",
				  px->name, srv->name, server_status_name(server_status(srv)),
				  srv->c.scur, srv->c.qcur, effs, maxs, minc, px->fullconn,
				  px->be.scur, qs, thr, why);
		}
		sb_printf(ctx->out, "%s/- BACKEND %u %u - - - %u %u - - queue\n", px->name,
			  px->be.scur, px->be.qcur, px->fullconn, px->be.scur);
	}
}

static void show_sess_one(struct session *s, void *arg)
{
	struct sbuf *out = arg;

	session_show(s, out);
	sb_putc(out, '\n');
}

static void cmd_show_sess(struct stats_ctx *ctx, char **args, int nargs)
{
	(void)args;
	(void)nargs;
	session_foreach(show_sess_one, ctx->out);
}

static struct server *arg_server(struct stats_ctx *ctx, char **args, int nargs)
{
	struct proxy *be;
	struct server *srv;
	char err[64];

	if (proxy_server_parse(nargs >= 1 ? args[0] : NULL, &be, &srv, err, sizeof(err)) == -1) {
		sb_printf(ctx->out, "%s\n", err);
		return NULL;
	}
	return srv;
}

static void cmd_disable_server(struct stats_ctx *ctx, char **args, int nargs)
{
	struct server *srv = arg_server(ctx, args, nargs);

	if (srv)
		server_set_admin(srv, SRV_ADMIN_MAINT, "disable server");
}

static void cmd_enable_server(struct stats_ctx *ctx, char **args, int nargs)
{
	struct server *srv = arg_server(ctx, args, nargs);

	if (srv)
		server_set_admin(srv, SRV_ADMIN_READY, "enable server");
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void cmd_set_server(struct stats_ctx *ctx, char **args, int nargs)
{
	struct server *srv = arg_server(ctx, args, nargs);
	unsigned w;

	if (!srv)
		return;
	if (nargs < 2) {
		sb_puts(ctx->out, "usage: set server <backend>/<server> state | weight\n");
		return;
	}
	if (strcmp(args[1], "state") == 0) {
		const char *st = nargs >= 3 ? args[2] : "";

		if (strcmp(st, "ready") == 0)
			server_set_admin(srv, SRV_ADMIN_READY, "set server state ready");
		else if (strcmp(st, "drain") == 0)
			server_set_admin(srv, SRV_ADMIN_DRAIN, "set server state drain");
		else if (strcmp(st, "maint") == 0)
			server_set_admin(srv, SRV_ADMIN_MAINT, "set server state maint");
		else
			sb_puts(ctx->out, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
		return;
	}
	if (strcmp(args[1], "weight") == 0) {
		if (nargs < 3 || parse_uint(args[2], 256, &w) == -1) {
			sb_puts(ctx->out, "Require <weight> between 0 and 256.\n");
			return;
		}
		srv->uweight = w;
		queue_process_backend(srv->be);
		return;
	}
	sb_puts(ctx->out, "usage: set server <backend>/<server> state | weight\n");
}

static void cmd_shutdown_sessions(struct stats_ctx *ctx, char **args, int nargs)
{
	struct server *srv = arg_server(ctx, args, nargs);

	if (srv)
		server_shutdown_sessions(srv, "shutdown sessions server");
}

/* "set <what> server <backend>/<server> <n>": the server and n, or NULL
 * with the error (HAProxy's words) written. */
static struct server *arg_server_uint(struct stats_ctx *ctx, char **args, int nargs,
				      const char *what, unsigned *v)
{
	struct server *srv = arg_server(ctx, args, nargs);

	if (!srv)
		return NULL;
	if (nargs < 2) {
		sb_printf(ctx->out, "Require <%s>.\n", what);
		return NULL;
	}
	if (parse_uint(args[1], 1000000000u, v) == -1) {
		sb_printf(ctx->out, "%s string empty or preceded by garbage\n", what);
		return NULL;
	}
	return srv;
}

static void cmd_set_maxconn_server(struct stats_ctx *ctx, char **args, int nargs)
{
	unsigned v;
	struct server *srv = arg_server_uint(ctx, args, nargs, "maxconn", &v);

	if (srv)
		server_set_maxconn(srv, v);
}

/* Ours: the runtime remedy for a dynamic limit that is too low (incident 3):
 * with minconn = maxconn the limit no longer follows the backend's load. */
static void cmd_set_minconn_server(struct stats_ctx *ctx, char **args, int nargs)
{
	unsigned v;
	struct server *srv = arg_server_uint(ctx, args, nargs, "minconn", &v);

	if (!srv)
		return;
	srv->minconn = v;
	queue_process_backend(srv->be);
}

static void cmd_prompt(struct stats_ctx *ctx, char **args, int nargs)
{
	(void)args;
	(void)nargs;
	ctx->prompt_toggle = !ctx->prompt_toggle;
}

static void cmd_quit(struct stats_ctx *ctx, char **args, int nargs)
{
	(void)args;
	(void)nargs;
	ctx->quit = 1;
}

static void cmd_operator(struct stats_ctx *ctx, char **args, int nargs)
{
	(void)args;
	(void)nargs;
	if (ctx->level > CFG_STATS_LEVEL_OPERATOR)
		ctx->level = CFG_STATS_LEVEL_OPERATOR;
}

static void cmd_user(struct stats_ctx *ctx, char **args, int nargs)
{
	(void)args;
	(void)nargs;
	ctx->level = CFG_STATS_LEVEL_USER;
}

static void cmd_show_cli_level(struct stats_ctx *ctx, char **args, int nargs)
{
	(void)args;
	(void)nargs;
	sb_printf(ctx->out, "%s\n", cfg_stats_level_name(ctx->level));
}

/* Levels as in HAProxy 2.6: user may only look, operator may also see the
 * sessions, admin may change servers. */
static const struct stats_cmd stats_cmds[] = {
	{ { "disable", "server", NULL }, CFG_STATS_LEVEL_ADMIN,
	  "disable server <bk>/<srv>", "put a server in maintenance (as 'set server ... state maint')",
	  cmd_disable_server },
	{ { "enable", "server", NULL }, CFG_STATS_LEVEL_ADMIN,
	  "enable server <bk>/<srv>", "take a server out of maintenance (as 'state ready')",
	  cmd_enable_server },
	{ { "help", NULL }, CFG_STATS_LEVEL_USER,
	  "help", "list the commands valid at this level", cmd_help },
	{ { "operator", NULL }, CFG_STATS_LEVEL_USER,
	  "operator", "lower the level of this session to operator", cmd_operator },
	{ { "prompt", NULL }, CFG_STATS_LEVEL_USER,
	  "prompt", "toggle interactive mode with prompt", cmd_prompt },
	{ { "quit", NULL }, CFG_STATS_LEVEL_USER,
	  "quit", "disconnect", cmd_quit },
	{ { "set", "maxconn", "server", NULL }, CFG_STATS_LEVEL_ADMIN,
	  "set maxconn server <bk>/<srv> <n>", "change a server's maxconn (0 = no limit)",
	  cmd_set_maxconn_server },
	{ { "set", "minconn", "server", NULL }, CFG_STATS_LEVEL_ADMIN,
	  "set minconn server <bk>/<srv> <n>", "change a server's minconn (= maxconn: no dynamic limit)",
	  cmd_set_minconn_server },
	{ { "set", "server", NULL }, CFG_STATS_LEVEL_ADMIN,
	  "set server <bk>/<srv> state|weight ..", "state ready|drain|maint, or weight 0..256",
	  cmd_set_server },
	{ { "show", "cli", "level", NULL }, CFG_STATS_LEVEL_USER,
	  "show cli level", "display the level of this session", cmd_show_cli_level },
	{ { "show", "info", NULL }, CFG_STATS_LEVEL_USER,
	  "show info", "report information about the running process", cmd_show_info },
	{ { "show", "servers", "limits", NULL }, CFG_STATS_LEVEL_USER,
	  "show servers limits [<backend>]", "effective (dynamic) maxconn of each server and why",
	  cmd_show_servers_limits },
	{ { "show", "servers", "state", NULL }, CFG_STATS_LEVEL_USER,
	  "show servers state [<backend>]", "dump volatile server information",
	  cmd_show_servers_state },
	{ { "show", "sess", NULL }, CFG_STATS_LEVEL_OPERATOR,
	  "show sess", "report the list of current sessions", cmd_show_sess },
	{ { "show", "stat", NULL }, CFG_STATS_LEVEL_USER,
	  "show stat [<px> <type> <sid>] [up|no-maint]", "report counters for each proxy and server (CSV)",
	  cmd_show_stat },
	{ { "shutdown", "sessions", "server", NULL }, CFG_STATS_LEVEL_ADMIN,
	  "shutdown sessions server <bk>/<srv>", "kill the sessions on a server",
	  cmd_shutdown_sessions },
	{ { "user", NULL }, CFG_STATS_LEVEL_USER,
	  "user", "lower the level of this session to user", cmd_user },
	{ { NULL }, CFG_STATS_LEVEL_USER, NULL, NULL, NULL },
};

static void cmd_help(struct stats_ctx *ctx, char **args, int nargs)
{
	const struct stats_cmd *c;

	(void)args;
	(void)nargs;
	sb_puts(ctx->out, "The following commands are valid at this level:\n");
	for (c = stats_cmds; c->fn; c++)
		if (c->level <= ctx->level)
			sb_printf(ctx->out, "  %-40s: %s\n", c->usage, c->help);
}

static int tokenize(char *s, char **args, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || n == max)
			break;
		args[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

static void stats_exec_one(struct stats_ctx *ctx, char *cmd)
{
	char *args[STATS_MAX_ARGS];
	const struct stats_cmd *c, *best = NULL;
	int n = tokenize(cmd, args, STATS_MAX_ARGS), best_len = 0;

	if (n == 0)
		return;
	for (c = stats_cmds; c->fn; c++) {
		int k;

		for (k = 0; c->kw[k]; k++)
			if (k >= n || strcmp(c->kw[k], args[k]) != 0)
				break;
		if (!c->kw[k] && k > best_len) {
			best = c;
			best_len = k;
		}
	}
	if (!best) {
		sb_puts(ctx->out, "Unknown command, but maybe one of the following ones is a better match:\n");
		cmd_help(ctx, NULL, 0);
		sb_putc(ctx->out, '\n');
		return;
	}
	if (best->level > ctx->level) {
		sb_puts(ctx->out, "Permission denied\n\n");
		return;
	}
	/* Commands read (and change) what every thread uses: the others
	 * wait meanwhile. */
	thread_isolate();
	best->fn(ctx, args + best_len, n - best_len);
	thread_release();
	if (!ctx->quit && best->fn != cmd_prompt)
		sb_putc(ctx->out, '\n');
}

/* Runs a line with a level that the `operator`/`user` commands may lower
 * for the rest of the line. */
static void stats_exec_line_ctx(struct stats_ctx *ctx, const char *line)
{
	char *copy = strdup(line), *p, *start;

	if (!copy) {
		sb_puts(ctx->out, "Out of memory.\n\n");
		return;
	}
	for (start = p = copy; ; p++) {
		if (*p == ';' || *p == '\0') {
			int end = *p == '\0';

			*p = '\0';
			stats_exec_one(ctx, start);
			if (end || ctx->quit)
				break;
			start = p + 1;
		}
	}
	free(copy);
}

void stats_exec_line(const char *line, enum cfg_stats_level level, struct sbuf *out,
		     int *prompt_toggle, int *quit)
{
	struct stats_ctx ctx = { .level = level, .out = out };

	stats_exec_line_ctx(&ctx, line);
	if (prompt_toggle)
		*prompt_toggle = ctx.prompt_toggle;
	if (quit)
		*quit = ctx.quit;
}

/* ---- the sockets --------------------------------------------------------- */

#define STATS_MAX_CLIENTS 64
#define STATS_LINE_MAX 16384
#define STATS_IDLE_MS 10000     /* HAProxy's default `stats timeout` */

static unsigned stats_idle_ms = STATS_IDLE_MS;

struct stats_listener {
	int fd;
	struct loop_fd lfd;
	struct loop_timer pause;        /* out of fds: accept again later */
	char *path;
	enum cfg_stats_level level;
	dev_t dev;
	ino_t ino;
};

struct stats_client {
	int fd;
	struct loop_fd lfd;
	struct loop_timer timer;
	enum cfg_stats_level level;
	int prompt;
	int closing;            /* close once the output is sent */
	int eof;
	char in[STATS_LINE_MAX + 1];   /* + the NUL of the last line */
	size_t inlen;
	struct sbuf out;
	size_t outoff;
	struct stats_client *next;
	struct stats_client **pprev;
};

static struct stats_listener *listeners;
static size_t nlisteners;
static struct stats_client *clients;
static unsigned nclients;

static void client_close(struct stats_client *c)
{
	loop_fd_del(&c->lfd);
	loop_timer_cancel(&c->timer);
	close(c->fd);
	sb_free(&c->out);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	nclients--;
	free(c);
}

/* Sends what is pending. Returns -1 when the client is gone (closed here). */
static int client_flush(struct stats_client *c)
{
	while (c->outoff < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->outoff, c->out.len - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (loop_fd_mod(&c->lfd, LOOP_IN | LOOP_OUT) == -1) {
					client_close(c);
					return -1;
				}
				return 0;
			}
			client_close(c);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	sb_reset(&c->out);
	c->outoff = 0;
	if (c->out.err || c->closing || (c->eof && !c->prompt)) {
		client_close(c);
		return -1;
	}
	if (loop_fd_mod(&c->lfd, LOOP_IN) == -1) {
		client_close(c);
		return -1;
	}
	return 0;
}

static void client_line(struct stats_client *c, char *line)
{
	struct stats_ctx ctx = { .level = c->level, .out = &c->out };
	size_t len = strlen(line);

	if (len && line[len - 1] == '\r')
		line[len - 1] = '\0';
	stats_exec_line_ctx(&ctx, line);
	c->level = ctx.level;
	if (ctx.prompt_toggle)
		c->prompt = !c->prompt;
	if (ctx.quit || !c->prompt)
		c->closing = 1;
	else
		sb_puts(&c->out, "> ");
}

static void client_read(struct stats_client *c)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (c->inlen == STATS_LINE_MAX) {
			sb_puts(&c->out, "Line too long.\n\n");
			c->closing = 1;
			return;
		}
		n = read(c->fd, c->in + c->inlen, STATS_LINE_MAX - c->inlen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->closing = 1;
			return;
		}
		if (n == 0) {
			/* A last line without its newline still counts. */
			c->eof = 1;
			if (c->inlen && !c->closing) {
				c->in[c->inlen] = '\0';
				client_line(c, c->in);
				c->inlen = 0;
			}
			c->closing = 1;
			return;
		}
		c->inlen += (size_t)n;
		while (!c->closing && (nl = memchr(c->in, '\n', c->inlen)) != NULL) {
			size_t used = (size_t)(nl - c->in) + 1;

			*nl = '\0';
			client_line(c, c->in);
			memmove(c->in, c->in + used, c->inlen - used);
			c->inlen -= used;
		}
		if (c->closing)
			return;
	}
}

static void client_cb(struct loop_fd *lf, uint32_t events)
{
	struct stats_client *c = lf->arg;

	if (events & (LOOP_IN | LOOP_RDHUP | LOOP_HUP | LOOP_ERR)) {
		if (!c->closing)
			client_read(c);
		else if (events & (LOOP_HUP | LOOP_ERR)) {
			client_close(c);
			return;
		}
		if (loop_timer_arm_in(&c->timer, stats_idle_ms) == -1) {
			client_close(c);
			return;
		}
	}
	client_flush(c);
}

static void client_timeout_cb(struct loop_timer *t)
{
	client_close(t->arg);
}

static void listener_cb(struct loop_fd *lf, uint32_t events)
{
	struct stats_listener *l = lf->arg;

	(void)events;
	for (;;) {
		struct stats_client *c;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors: the socket stays readable, so stop
			 * watching it for a moment rather than spin. */
			if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
			    loop_fd_mod(&l->lfd, 0) == 0)
				loop_timer_arm_in(&l->pause, 100);
			return;
		}
		if (nclients >= STATS_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->level = l->level;
		sb_init(&c->out);
		loop_fd_init(&c->lfd, fd, client_cb, c);
		loop_timer_init(&c->timer, client_timeout_cb, c);
		c->next = clients;
		c->pprev = &clients;
		if (clients)
			clients->pprev = &c->next;
		clients = c;
		nclients++;
		if (loop_fd_add(&c->lfd, LOOP_IN | LOOP_RDHUP) == -1 ||
		    loop_timer_arm_in(&c->timer, stats_idle_ms) == -1)
			client_close(c);
	}
}

static void listener_resume_cb(struct loop_timer *t)
{
	struct stats_listener *l = t->arg;

	if (l->fd != -1 && loop_fd_mod(&l->lfd, LOOP_IN) == -1)
		loop_timer_arm_in(&l->pause, 100);
}

/* Binds to a temporary name then renames over path: a stale socket file is
 * replaced, and a running process's socket is taken over atomically (the
 * old process keeps serving its already-accepted clients). */
static int listener_open(struct stats_listener *l, const struct cfg_stats_socket *ss,
			 char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char tmp[sizeof(sun.sun_path)];
	struct stat st;
	int fd = -1, n;

	l->fd = -1;
	l->level = ss->level;
	loop_timer_init(&l->pause, listener_resume_cb, l);
	l->path = strdup(ss->path);
	if (!l->path) {
		snprintf(err, errlen, "stats socket %s: %s", ss->path, strerror(ENOMEM));
		return -1;
	}
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", ss->path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp) || strlen(ss->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "stats socket %s: path too long (max %zu)", ss->path,
			 sizeof(sun.sun_path) - 16);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, tmp, strlen(tmp) + 1);
	if (unlink(tmp) == -1 && errno != ENOENT)
		goto syserr;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto syserr;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto syserr;
	if (chmod(tmp, ss->mode ? ss->mode : 0600) == -1 || listen(fd, 16) == -1 ||
	    rename(tmp, ss->path) == -1) {
		int e = errno;

		unlink(tmp);
		errno = e;
		goto syserr;
	}
	if (stat(ss->path, &st) == -1)
		goto syserr;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->fd = fd;
	loop_fd_init(&l->lfd, fd, listener_cb, l);
	if (loop_fd_add(&l->lfd, LOOP_IN) == -1) {
		l->fd = -1;
		goto syserr;
	}
	return 0;
syserr:
	snprintf(err, errlen, "stats socket %s: %s", ss->path, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

int stats_start(const struct cfg *c, char *err, size_t errlen)
{
	size_t i;

	stats_idle_ms = c->global.stats_timeout ? c->global.stats_timeout : STATS_IDLE_MS;
	if (!c->global.nstats)
		return 0;
	listeners = calloc(c->global.nstats, sizeof(*listeners));
	if (!listeners) {
		snprintf(err, errlen, "stats sockets: %s", strerror(ENOMEM));
		return -1;
	}
	for (i = 0; i < c->global.nstats; i++) {
		nlisteners = i + 1;
		if (listener_open(&listeners[i], &c->global.stats[i], err, errlen) == -1) {
			stats_stop();
			return -1;
		}
	}
	return 0;
}

static void listeners_close(int unlink_files)
{
	size_t i;

	for (i = 0; i < nlisteners; i++) {
		struct stats_listener *l = &listeners[i];
		struct stat st;

		loop_timer_cancel(&l->pause);
		if (l->fd != -1) {
			loop_fd_del(&l->lfd);
			close(l->fd);
			l->fd = -1;
			/* Only our own file: a newer process may have replaced it. */
			if (unlink_files && stat(l->path, &st) == 0 && st.st_dev == l->dev &&
			    st.st_ino == l->ino)
				unlink(l->path);
		}
	}
}

void stats_close_listeners(void)
{
	listeners_close(0);
}

void stats_stop(void)
{
	size_t i;

	listeners_close(1);
	while (clients)
		client_close(clients);
	for (i = 0; i < nlisteners; i++)
		free(listeners[i].path);
	free(listeners);
	listeners = NULL;
	nlisteners = 0;
}
