#include "config.h"

#include <stdio.h>
#include <time.h>

#include "common/clock.h"

static uint64_t clock_get_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t clock_mono_us(void)
{
	return clock_get_us(CLOCK_MONOTONIC);
}

uint64_t clock_mono_ms(void)
{
	return clock_get_us(CLOCK_MONOTONIC) / 1000u;
}

uint64_t clock_real_ms(void)
{
	return clock_get_us(CLOCK_REALTIME) / 1000u;
}

void clock_fmt_iso(uint64_t epoch_ms, char *buf, unsigned len)
{
	time_t sec = (time_t)(epoch_ms / 1000u);
	struct tm tm;
	size_t n;

	if (len == 0)
		return;
	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(epoch_ms % 1000u));
}
