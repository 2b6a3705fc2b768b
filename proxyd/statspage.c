/* The HTTP statistics page (see statspage.h). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxyd/statspage.h"

#define MAXCOLS 160

/* One CSV line split in place: fields[i] points into a copy, NUL-ended. */
struct row {
	char *f[MAXCOLS];
	size_t n;
};

static void row_split(struct row *r, char *line)
{
	char *p = line, *c;

	r->n = 0;
	while (r->n < MAXCOLS) {
		r->f[r->n++] = p;
		c = strchr(p, ',');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
}

/* Column indexes by name, from the header line. */
enum col {
	C_PX, C_SV, C_QCUR, C_QMAX, C_SCUR, C_SMAX, C_SLIM, C_STOT, C_BIN, C_BOUT, C_DREQ,
	C_DRESP, C_EREQ, C_ECON, C_ERESP, C_WRETR, C_WREDIS, C_STATUS, C_WEIGHT, C_ACT, C_BCK,
	C_CHKFAIL, C_DOWNTIME, C_LASTCHG, C_THROTTLE, C_RATE, C_RATE_MAX, C_CHECK_STATUS,
	C_CHECK_CODE, C_LASTSESS, C_COUNT
};

static const char *const col_names[C_COUNT] = {
	[C_PX] = "pxname", [C_SV] = "svname", [C_QCUR] = "qcur", [C_QMAX] = "qmax",
	[C_SCUR] = "scur", [C_SMAX] = "smax", [C_SLIM] = "slim", [C_STOT] = "stot",
	[C_BIN] = "bin", [C_BOUT] = "bout", [C_DREQ] = "dreq", [C_DRESP] = "dresp",
	[C_EREQ] = "ereq", [C_ECON] = "econ", [C_ERESP] = "eresp", [C_WRETR] = "wretr",
	[C_WREDIS] = "wredis", [C_STATUS] = "status", [C_WEIGHT] = "weight", [C_ACT] = "act",
	[C_BCK] = "bck", [C_CHKFAIL] = "chkfail", [C_DOWNTIME] = "downtime",
	[C_LASTCHG] = "lastchg", [C_THROTTLE] = "throttle", [C_RATE] = "rate",
	[C_RATE_MAX] = "rate_max", [C_CHECK_STATUS] = "check_status",
	[C_CHECK_CODE] = "check_code", [C_LASTSESS] = "lastsess",
};

/* The table's columns: a heading and one or two CSV columns ("a/b"). */
static const struct {
	const char *head;
	enum col a, b;          /* b == C_COUNT: one value */
} cells[] = {
	{ "Queue cur/max", C_QCUR, C_QMAX },
	{ "Sessions cur/max", C_SCUR, C_SMAX },
	{ "Limit", C_SLIM, C_COUNT },
	{ "Total", C_STOT, C_COUNT },
	{ "Rate cur/max", C_RATE, C_RATE_MAX },
	{ "Bytes in", C_BIN, C_COUNT },
	{ "Bytes out", C_BOUT, C_COUNT },
	{ "Denied req/resp", C_DREQ, C_DRESP },
	{ "Errors req", C_EREQ, C_COUNT },
	{ "Errors conn/resp", C_ECON, C_ERESP },
	{ "Retr/Redis", C_WRETR, C_WREDIS },
	{ "Status", C_STATUS, C_COUNT },
	{ "Last chk", C_CHECK_STATUS, C_CHECK_CODE },
	{ "Wght", C_WEIGHT, C_COUNT },
	{ "Act", C_ACT, C_COUNT },
	{ "Bck", C_BCK, C_COUNT },
	{ "Chk fail", C_CHKFAIL, C_COUNT },
	{ "Downtime s", C_DOWNTIME, C_COUNT },
	{ "Last change s", C_LASTCHG, C_COUNT },
	{ "Thrtle %", C_THROTTLE, C_COUNT },
};

static void put_esc(struct sbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': sb_puts(out, "&lt;"); break;
		case '>': sb_puts(out, "&gt;"); break;
		case '&': sb_puts(out, "&amp;"); break;
		case '"': sb_puts(out, "&quot;"); break;
		case '\'': sb_puts(out, "&#39;"); break;
		default: sb_putc(out, *s); break;
		}
	}
}

static const char *field(const struct row *r, const int *idx, enum col c)
{
	return idx[c] >= 0 && (size_t)idx[c] < r->n ? r->f[idx[c]] : "";
}

/* A CSS class for a row from its status ("UP 1/3", "DOWN", "MAINT", ...). */
static const char *row_class(const char *status, const char *svname)
{
	if (!strcmp(svname, "FRONTEND") || !strcmp(svname, "BACKEND"))
		return strncmp(status, "DOWN", 4) ? "px" : "down";
	if (!strncmp(status, "UP", 2))
		return strchr(status, '/') ? "going" : "up";
	if (!strncmp(status, "DOWN", 4))
		return strchr(status, '/') ? "going" : "down";
	if (!strncmp(status, "MAINT", 5) || !strncmp(status, "DRAIN", 5))
		return "maint";
	return "nochk";
}

static void table_open(struct sbuf *out, const char *name)
{
	size_t i;

	sb_puts(out, "<h2>");
	put_esc(out, name);
	sb_puts(out, "</h2>\n<table>\n<tr><th>Name</th>");
	for (i = 0; i < sizeof(cells) / sizeof(cells[0]); i++)
		sb_printf(out, "<th>%s</th>", cells[i].head);
	sb_puts(out, "</tr>\n");
}

static void table_row(struct sbuf *out, const struct row *r, const int *idx)
{
	size_t i;

	sb_printf(out, "<tr class=\"%s\"><td>", row_class(field(r, idx, C_STATUS),
							   field(r, idx, C_SV)));
	put_esc(out, field(r, idx, C_SV));
	sb_puts(out, "</td>");
	for (i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		sb_puts(out, "<td>");
		put_esc(out, field(r, idx, cells[i].a));
		if (cells[i].b != C_COUNT && *field(r, idx, cells[i].b)) {
			sb_putc(out, '/');
			put_esc(out, field(r, idx, cells[i].b));
		}
		sb_puts(out, "</td>");
	}
	sb_puts(out, "</tr>\n");
}

void statspage_html(struct sbuf *out, const char *csv, size_t len,
		    const struct statspage_opts *o)
{
	char *copy = malloc(len + 1), *line, *next, *cur_px = NULL;
	int idx[C_COUNT];
	struct row r;
	size_t i, k;

	sb_puts(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>Statistics "
		"Report for ");
	put_esc(out, o->title);
	sb_puts(out, "</title>\n");
	if (o->refresh_s)
		sb_printf(out, "<meta http-equiv=\"refresh\" content=\"%u\">\n", o->refresh_s);
	sb_puts(out, "<style>\nbody{font-family:sans-serif;font-size:12px}\n"
		"table{border-collapse:collapse;margin-bottom:1em}\n"
		"th,td{border:1px solid #999;padding:2px 4px;text-align:right}\n"
		"td:first-child{text-align:left}\nth{background:#ddd}\n"
		"tr.px{background:#eee}\ntr.up{background:#c0ffc0}\n"
		"tr.going{background:#ffffa0}\ntr.down{background:#ffb0b0}\n"
		"tr.maint{background:#c0c0ff}\ntr.nochk{background:#fff}\n</style>\n</head><body>\n"
		"<h1>Statistics Report for ");
	put_esc(out, o->title);
	sb_puts(out, "</h1>\n<p>");
	if (o->info) {
		put_esc(out, o->info);
		sb_puts(out, " &middot; ");
	}
	sb_puts(out, "<a href=\"");
	put_esc(out, o->uri);
	sb_puts(out, ";csv\">CSV export</a></p>\n");
	if (!copy) {
		sb_puts(out, "<p>out of memory</p>\n</body></html>\n");
		return;
	}
	memcpy(copy, csv, len);
	copy[len] = '\0';
	for (k = 0; k < C_COUNT; k++)
		idx[k] = -1;
	for (line = copy; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#') {
			row_split(&r, line + (line[1] == ' ' ? 2 : 1));
			for (i = 0; i < r.n; i++)
				for (k = 0; k < C_COUNT; k++)
					if (!strcmp(r.f[i], col_names[k]))
						idx[k] = (int)i;
			continue;
		}
		if (!line[0] || idx[C_PX] < 0)
			continue;
		row_split(&r, line);
		if (!cur_px || strcmp(cur_px, field(&r, idx, C_PX))) {
			if (cur_px)
				sb_puts(out, "</table>\n");
			cur_px = r.f[idx[C_PX]];
			table_open(out, cur_px);
		}
		table_row(out, &r, idx);
	}
	if (cur_px)
		sb_puts(out, "</table>\n");
	sb_puts(out, "</body></html>\n");
	free(copy);
}

int statspage_wants_csv(const char *target, size_t len)
{
	size_t i;

	for (i = 0; i + 4 <= len; i++)
		if (!strncasecmp(target + i, ";csv", 4))
			return 1;
	return 0;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes standard base64 (padding optional) into out: the length, or -1. */
static long b64_decode(const char *s, size_t len, char *out, size_t outsz)
{
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0, v;

	while (len && s[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		v = b64_val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outsz)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	return (long)n;
}

int statspage_auth_ok(const char *value, size_t len, char *const *users, size_t nusers)
{
	char cred[512];
	long n;
	size_t i;

	while (len && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	if (len < 6 || strncasecmp(value, "Basic ", 6))
		return 0;
	value += 6;
	len -= 6;
	while (len && *value == ' ') {
		value++;
		len--;
	}
	while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	n = b64_decode(value, len, cred, sizeof(cred));
	if (n <= 0)
		return 0;
	for (i = 0; i < nusers; i++)
		if (strlen(users[i]) == (size_t)n && !memcmp(users[i], cred, (size_t)n))
			return 1;
	return 0;
}
