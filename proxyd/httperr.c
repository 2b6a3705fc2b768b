/* HTTP error responses (see httperr.h). The built-in bodies are HAProxy's
 * wording, so that clients and monitoring that match on them keep working. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxyd/h1.h"
#include "proxyd/httperr.h"

struct errmsg {
	unsigned status;
	const char *reason;
	const char *text;
};

static const struct errmsg errmsgs[] = {
	{ 200, "OK", "Service ready." },
	{ 400, "Bad request", "Your browser sent an invalid request." },
	{ 401, "Unauthorized", "You need a valid user and password to access this content." },
	{ 403, "Forbidden", "Request forbidden by administrative rules." },
	{ 404, "Not Found", "The resource could not be found." },
	{ 405, "Method Not Allowed",
	  "A request was made of a resource using a request method not supported by that resource" },
	{ 407, "Unauthorized", "You need a valid user and password to access this content." },
	{ 408, "Request Time-out", "Your browser didn't send a complete request in time." },
	{ 410, "Gone", "The resource is no longer available and will not be available again." },
	{ 413, "Payload Too Large", "The request entity exceeds the maximum allowed." },
	{ 425, "Too Early", "Your browser sent early data." },
	{ 429, "Too Many Requests", "You have sent too many requests in a given amount of time." },
	{ 500, "Internal Server Error", "An internal server error occurred." },
	{ 501, "Not Implemented",
	  "The server does not support the functionality required to fulfill the request." },
	{ 502, "Bad Gateway", "The server returned an invalid or incomplete response." },
	{ 503, "Service Unavailable", "No server is available to handle this request." },
	{ 504, "Gateway Time-out", "The server didn't respond in time." },
};

#define NMSGS (sizeof(errmsgs) / sizeof(errmsgs[0]))

static int msg_index(unsigned status)
{
	size_t i;

	for (i = 0; i < NMSGS; i++)
		if (errmsgs[i].status == status)
			return (int)i;
	return -1;
}

int httperr_known(unsigned status)
{
	return msg_index(status) != -1;
}

static char built[NMSGS][512];
static size_t builtlen[NMSGS];
static pthread_once_t built_once = PTHREAD_ONCE_INIT;

/* Every built-in answer, once, whichever thread asks first. */
static void build_all(void)
{
	char body[300];
	size_t i;
	int bl, n;

	for (i = 0; i < NMSGS; i++) {
		const struct errmsg *e = &errmsgs[i];

		bl = snprintf(body, sizeof(body), "<html><body><h1>%u %s</h1>\n%s\n</body></html>\n",
			      e->status, e->reason, e->text);
		n = snprintf(built[i], sizeof(built[i]),
			     "HTTP/1.1 %u %s\r\n"
			     "Content-Length: %d\r\n"
			     "Cache-Control: no-cache\r\n"
			     "Content-Type: text/html\r\n"
			     "Connection: close\r\n"
			     "\r\n%s", e->status, e->reason, bl, body);
		builtlen[i] = (size_t)n;
	}
}

const char *httperr_builtin(unsigned status, size_t *len)
{
	int i = msg_index(status);

	pthread_once(&built_once, build_all);
	if (i == -1)
		i = msg_index(500);
	*len = builtlen[i];
	return built[i];
}

const char *httperr_get(const struct cfg_errorfile *efs, size_t nef, unsigned status,
			size_t *len)
{
	size_t i;

	for (i = nef; i-- > 0;) {
		if (efs[i].status == status && efs[i].data) {
			*len = efs[i].len;
			return efs[i].data;
		}
	}
	return httperr_builtin(status, len);
}

/* The file must hold a valid response head (the body is sent as is). */
static int check_response(const char *buf, size_t len, size_t maxlen, const char *path,
			  char *err, size_t errlen)
{
	struct h1_hdr hdrs[H1_DEF_MAXHDR];
	struct h1_msg m;

	h1_msg_init(&m, H1_MF_RESP, (uint32_t)maxlen + 1, hdrs, H1_DEF_MAXHDR);
	switch (h1_head_parse(&m, buf, len)) {
	case 1:
		return 0;
	case 0:
		snprintf(err, errlen, "'%s': incomplete HTTP response head (no empty line)", path);
		return -1;
	default:
		snprintf(err, errlen, "'%s': invalid HTTP response: %s at byte %u", path,
			 h1_err_str(m.err), m.err_pos);
		return -1;
	}
}

int httperr_load(const char *path, size_t maxlen, char **data, size_t *len,
		 char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		goto err;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s': not a regular file", path);
		goto err;
	}
	if ((uint64_t)st.st_size > maxlen) {
		snprintf(err, errlen, "'%s': %lld bytes, larger than the %zu bytes a message head "
			 "may take (tune.bufsize - tune.maxrewrite)", path, (long long)st.st_size,
			 maxlen);
		goto err;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	/* read to the end: the file may have changed since fstat */
	for (;;) {
		r = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "'%s': %s", path, strerror(errno));
			goto err;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > (size_t)st.st_size) {
			snprintf(err, errlen, "'%s': file grew while being read", path);
			goto err;
		}
	}
	if (got < 8 || memcmp(buf, "HTTP/1.", 7) != 0) {
		snprintf(err, errlen, "'%s': not an HTTP response (must begin with \"HTTP/1.\")", path);
		goto err;
	}
	if (check_response(buf, got, maxlen, path, err, errlen) == -1)
		goto err;
	close(fd);
	*data = buf;
	*len = got;
	return 0;
err:
	free(buf);
	close(fd);
	return -1;
}
