/* HTTP error responses: HAProxy-like built-in answers and `errorfile`.
 *
 * A response is a complete raw HTTP/1.x message (status line, headers,
 * body) sent as is, after which the session closes the connection. The
 * built-in ones carry `Content-Length`, `Cache-Control: no-cache`,
 * `Connection: close` and `Content-Type: text/html` and a short HTML body,
 * as HAProxy's. */
#ifndef PROXYD_HTTPERR_H
#define PROXYD_HTTPERR_H

#include <stddef.h>

#include "proxyd/cfg-t.h"

/* 1 when status is one `errorfile` and `deny_status` accept (HAProxy's
 * list: 200 400 401 403 404 405 407 408 410 413 425 429 500 501 502 503
 * 504), else 0. */
int httperr_known(unsigned status);

/* The built-in response for status (one of httperr_known), *len its
 * length; for any other status the 500 response. Static storage. */
const char *httperr_builtin(unsigned status, size_t *len);

/* The response to send: the proxy's `errorfile` for status when it has one
 * (efs/nef from struct cfg_proxy), else the built-in one. */
const char *httperr_get(const struct cfg_errorfile *efs, size_t nef, unsigned status,
			size_t *len);

/* Reads an errorfile at configuration time: the whole file, at most maxlen
 * bytes (tune.bufsize - tune.maxrewrite, as HAProxy requires it to fit),
 * beginning with "HTTP/1.". On success *data is malloc'd (caller frees) and
 * 0 is returned; -1 with err filled otherwise. */
int httperr_load(const char *path, size_t maxlen, char **data, size_t *len,
		 char *err, size_t errlen);

#endif
