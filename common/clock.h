/* Time helpers: monotonic for intervals and deadlines, realtime for display. */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

uint64_t clock_mono_us(void);
uint64_t clock_mono_ms(void);
uint64_t clock_real_ms(void);
/* Formats epoch milliseconds as ISO-8601 UTC ("2026-11-21T06:30:00.123Z"). */
void clock_fmt_iso(uint64_t epoch_ms, char *buf, unsigned len);

#endif
