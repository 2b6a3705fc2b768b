#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "common/json.h"

void json_init(struct json *j, struct sbuf *out)
{
	j->out = out;
	j->depth = 0;
	j->first[0] = 1;
}

void json_escape(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	sb_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[6];

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
				u[4] = hex[c >> 4]; u[5] = hex[c & 15];
				sb_putn(b, s + i - run, run);
				run = 0;
				sb_putn(b, u, 6);
				continue;
			}
		}
		if (esc) {
			sb_putn(b, s + i - run, run);
			run = 0;
			sb_puts(b, esc);
			continue;
		}
		run++;
	}
	sb_putn(b, s + n - run, run);
	sb_putc(b, '"');
}

/* Comma and key before a value at the current depth. */
static void json_member(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		sb_putc(j->out, ',');
	j->first[j->depth] = 0;
	if (key) {
		json_escape(j->out, key, strlen(key));
		sb_putc(j->out, ':');
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_member(j, key);
	sb_putc(j->out, c);
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = 1;
}

static void json_close(struct json *j, char c)
{
	sb_putc(j->out, c);
	if (j->depth > 0)
		j->depth--;
}

void json_obj_open(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_obj_close(struct json *j)
{
	json_close(j, '}');
}

void json_arr_open(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_arr_close(struct json *j)
{
	json_close(j, ']');
}

void json_strn(struct json *j, const char *key, const char *val, size_t n)
{
	json_member(j, key);
	json_escape(j->out, val, n);
}

void json_str(struct json *j, const char *key, const char *val)
{
	if (!val) {
		json_null(j, key);
		return;
	}
	json_strn(j, key, val, strlen(val));
}

void json_int(struct json *j, const char *key, int64_t v)
{
	json_member(j, key);
	sb_printf(j->out, "%" PRId64, v);
}

void json_uint(struct json *j, const char *key, uint64_t v)
{
	json_member(j, key);
	sb_printf(j->out, "%" PRIu64, v);
}

void json_double(struct json *j, const char *key, double v)
{
	json_member(j, key);
	if (!isfinite(v))
		sb_puts(j->out, "null");
	else
		sb_printf(j->out, "%.6g", v);
}

void json_bool(struct json *j, const char *key, int v)
{
	json_member(j, key);
	sb_puts(j->out, v ? "true" : "false");
}

void json_null(struct json *j, const char *key)
{
	json_member(j, key);
	sb_puts(j->out, "null");
}

void json_raw(struct json *j, const char *key, const char *json)
{
	json_member(j, key);
	sb_puts(j->out, json);
}
