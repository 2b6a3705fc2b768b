#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "proxyd/logsink.h"
#include "proxyd/plog-json.h"

static const int level_severity[] = {
	[LOG_LVL_ERR] = 3,
	[LOG_LVL_WARN] = 4,
	[LOG_LVL_INFO] = 6,
	[LOG_LVL_DEBUG] = 7,
};

/* Best effort, as common/log.c: a line that cannot be written is dropped. */
static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void logsink_json(enum log_level lvl, const char *line, size_t len, void *arg)
{
	struct sbuf pairs, out;

	sb_init(&pairs);
	sb_init(&out);
	sb_printf(&pairs, "program=%s %.*s", (const char *)arg, (int)len, line);
	if (!pairs.err)
		plog_json_event(&out, clock_real_ms(), (long)getpid(), level_severity[lvl],
				sb_cstr(&pairs));
	sb_putc(&out, '\n');
	if (pairs.err || out.err) {
		/* Out of memory: the text as it came rather than nothing. */
		write_all(line, len);
		write_all("\n", 1);
	} else {
		write_all(out.p, out.len);
	}
	sb_free(&out);
	sb_free(&pairs);
}
