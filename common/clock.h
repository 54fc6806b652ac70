/* clock — the two clocks anomesh uses: wall time for timestamps in messages
 * (UNIX seconds, the contract's unit) and monotonic time for intervals and
 * deadlines, which must not jump when NTP steps the wall clock. */
#ifndef ANOMESH_CLOCK_H
#define ANOMESH_CLOCK_H

#include <stdint.h>

/* Wall clock, UNIX seconds with sub-microsecond resolution. */
double clock_now(void);

/* Monotonic milliseconds and nanoseconds since an arbitrary origin. */
int64_t clock_mono_ms(void);
int64_t clock_mono_ns(void);

/* Sleep for ms milliseconds, resuming after signals only if no stop flag
 * would care: returns early (-1) when interrupted by a signal. */
int clock_sleep_ms(int64_t ms);

#endif
