/* The HTTP statistics page of a proxy with `stats enable` / `stats uri`:
 * HAProxy's CSV (the `show stat` text, with ";csv" in the URI), or an HTML
 * page with one table per proxy made from that same CSV, so that both
 * always say the same thing.
 *
 * Pure text work: the caller produces the CSV (with the other threads
 * isolated) and sends the result. */
#ifndef PROXYD_STATSPAGE_H
#define PROXYD_STATSPAGE_H

#include <stddef.h>

#include "common/sbuf.h"

struct statspage_opts {
	unsigned refresh_s;     /* stats refresh: seconds, 0 = no automatic reload */
	const char *title;      /* "proxyd" or "proxyd 1.2.3" (hide-version) */
	const char *info;       /* one line under the title (pid, uptime, ...), or NULL */
	const char *uri;        /* the page's own URI prefix (for the CSV link) */
};

/* Appends the HTML page for csv (header line "# pxname,svname,..." first,
 * then one line per frontend, server and backend) to out. Every value is
 * HTML-escaped. */
void statspage_html(struct sbuf *out, const char *csv, size_t len,
		    const struct statspage_opts *o);

/* 1 when the request target asks for the CSV form (";csv" after the
 * prefix, as HAProxy's "/haproxy?stats;csv"). */
int statspage_wants_csv(const char *target, size_t len);

/* Basic authentication: 1 when the value of an Authorization header
 * ("Basic base64(user:pass)") names one of the nusers "user:pass"
 * strings. */
int statspage_auth_ok(const char *value, size_t len, char *const *users, size_t nusers);

#endif
