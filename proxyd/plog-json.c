#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "proxyd/plog-json.h"

static const char *const severities[8] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

const char *plog_severity_name(int severity)
{
	return severity >= 0 && severity < 8 ? severities[severity] : "info";
}

static void put_ts(struct json *j, uint64_t ts_ms)
{
	char ts[40];

	clock_fmt_iso(ts_ms, ts, sizeof(ts));
	json_str(j, "ts", ts);
}

void plog_json_record(struct sbuf *out, const struct plog_rec *r)
{
	struct json j;

	json_init(&j, out);
	json_obj_open(&j, NULL);
	put_ts(&j, r->ts_ms);
	json_str(&j, "type", r->http ? "http" : "tcp");
	json_int(&j, "pid", r->pid);
	json_str(&j, "client_ip", r->client_ip);
	json_uint(&j, "client_port", r->client_port);
	json_str(&j, "frontend", r->frontend);
	json_str(&j, "backend", r->backend);
	json_str(&j, "server", r->server);
	if (r->http)
		json_int(&j, "request_ms", r->request_ms);
	json_int(&j, "queue_ms", r->queue_ms);
	json_int(&j, "connect_ms", r->connect_ms);
	if (r->http)
		json_int(&j, "response_ms", r->response_ms);
	json_int(&j, "total_ms", r->total_ms);
	if (r->http) {
		if (r->status < 0)
			json_null(&j, "status");
		else
			json_int(&j, "status", r->status);
	}
	json_uint(&j, "bytes_read", r->bytes_read);
	json_str(&j, "termination_state", r->termination_state);
	json_uint(&j, "actconn", r->actconn);
	json_uint(&j, "feconn", r->feconn);
	json_uint(&j, "beconn", r->beconn);
	json_uint(&j, "srv_conn", r->srv_conn);
	json_uint(&j, "retries", r->retries);
	json_bool(&j, "redispatched", r->redispatched);
	json_uint(&j, "srv_queue", r->srv_queue);
	json_uint(&j, "backend_queue", r->backend_queue);
	if (r->http)
		json_str(&j, "request", r->request);
	json_obj_close(&j);
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static int all_digits(const char *s, size_t n)
{
	size_t i = (n > 1 && s[0] == '-') ? 1 : 0;

	if (n == i || n - i > 18)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Parses one value at *pp into val (unescaped); advances *pp. 0, -1 on a
 * malformed quoted value. */
static int kv_value(const char **pp, struct sbuf *val, int *quoted)
{
	const char *p = *pp;

	sb_reset(val);
	*quoted = *p == '"';
	if (!*quoted) {
		while (*p && *p != ' ')
			p++;
		sb_putn(val, *pp, (size_t)(p - *pp));
		*pp = p;
		return 0;
	}
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		sb_putc(val, *p);
	}
	if (*p != '"')
		return -1;
	*pp = p + 1;
	return 0;
}

void plog_json_event(struct sbuf *out, uint64_t ts_ms, long pid, int severity, const char *line)
{
	static const char *const reserved[] = { "ts", "type", "severity", "pid" };
	struct sbuf val, key;
	struct json j;
	const char *p = line;

	sb_init(&val);
	sb_init(&key);
	json_init(&j, out);
	json_obj_open(&j, NULL);
	put_ts(&j, ts_ms);
	json_str(&j, "type", "event");
	json_str(&j, "severity", plog_severity_name(severity));
	json_int(&j, "pid", pid);
	for (;;) {
		const char *k;
		size_t kn, i;
		int quoted, skip = 0;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		k = p;
		while (key_char(*p))
			p++;
		kn = (size_t)(p - k);
		if (kn == 0 || *p != '=') {
			json_str(&j, "msg", k);
			break;
		}
		p++;
		if (kv_value(&p, &val, &quoted) == -1 || (*p && *p != ' ')) {
			json_str(&j, "msg", k);
			break;
		}
		sb_reset(&key);
		sb_putn(&key, k, kn);
		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
			if (strcmp(sb_cstr(&key), reserved[i]))
				continue;
			if (i == 3 && !quoted && strtol(sb_cstr(&val), NULL, 10) == pid)
				skip = 1;
			sb_reset(&key);
			sb_printf(&key, "event_%.*s", (int)kn, k);
		}
		if (skip)
			continue;
		if (!quoted && all_digits(val.p ? val.p : "", val.len))
			json_int(&j, sb_cstr(&key), strtoll(sb_cstr(&val), NULL, 10));
		else
			json_strn(&j, sb_cstr(&key), val.p ? val.p : "", val.len);
	}
	json_obj_close(&j);
	sb_free(&key);
	sb_free(&val);
}
