#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_ident = "proxyd-toolkit";
static int log_syslog;
static enum log_level log_level = LOG_LVL_INFO;
static log_sink_fn log_sink;
static void *log_sink_arg;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "err",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

static const int level_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

void log_init(const char *ident, int to_syslog, enum log_level level)
{
	log_ident = ident;
	log_syslog = to_syslog;
	log_level = level;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_set_sink(log_sink_fn fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = fn ? arg : NULL;
}

/* Formats the whole line first so that one event is one write(2). */
static void log_vemit(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	size_t off = 0;
	int saved = errno;
	int n;

	if (lvl > log_level)
		return;
	if (!log_syslog && !log_sink) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line + off, sizeof(line) - off, ".%03ldZ %s[%ld] ",
			     ts.tv_nsec / 1000000, log_ident, (long)getpid());
		if (n > 0)
			off += (size_t)n;
	}
	if (!log_sink) {
		n = snprintf(line + off, sizeof(line) - off, "level=%s ", level_names[lvl]);
		if (n > 0 && (size_t)n < sizeof(line) - off)
			off += (size_t)n;
	}
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	if (n > 0)
		off = off + (size_t)n < sizeof(line) ? off + (size_t)n : sizeof(line) - 1;
	if (with_errno && off < sizeof(line) - 1) {
		n = snprintf(line + off, sizeof(line) - off, " err=\"%s\"", strerror(saved));
		if (n > 0)
			off = off + (size_t)n < sizeof(line) ? off + (size_t)n : sizeof(line) - 1;
	}
	if (log_sink) {
		log_sink(lvl, line, off, log_sink_arg);
	} else if (log_syslog) {
		syslog(level_prio[lvl], "%s", line);
	} else {
		if (off >= sizeof(line) - 1)
			off = sizeof(line) - 2;
		line[off++] = '\n';
		/* Best effort: a log line that cannot be written is dropped. */
		while (write(STDERR_FILENO, line, off) == -1 && errno == EINTR)
			;
	}
	errno = saved;
}

#define LOG_FN(name, lvl, with_errno)                   \
	void name(const char *fmt, ...)                 \
	{                                               \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		log_vemit(lvl, with_errno, fmt, ap);    \
		va_end(ap);                             \
	}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
