/* clock — thin wrappers over clock_gettime(2) so callers never mix clocks. */
#include "clock.h"

#include <errno.h>
#include <time.h>

double clock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t clock_mono_ms(void) { return clock_mono_ns() / 1000000LL; }

int clock_sleep_ms(int64_t ms)
{
	struct timespec ts;
	if (ms <= 0)
		return 0;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (nanosleep(&ts, NULL) != 0 && errno == EINTR)
		return -1;
	return 0;
}
