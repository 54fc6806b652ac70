/* log — stderr lines "2026-11-26T10:50:16.123Z scorer[123] WARN: text".
 * One fprintf per line under the stdio lock, so lines from Paho's threads
 * and the main loop never interleave mid-line. */
#include "log.h"

#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char log_service[64] = "anomesh";
static enum log_level log_threshold = LOG_LVL_INFO;

static const char *const log_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_init(const char *service, enum log_level level)
{
	if (service)
		snprintf(log_service, sizeof(log_service), "%s", service);
	log_threshold = level;
}

enum log_level log_get_level(void) { return log_threshold; }

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		if (s && strcasecmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void log__vwrite(enum log_level level, const char *suffix, const char *fmt,
			va_list ap)
{
	char text[1024];
	char stamp[32];
	struct timespec ts;
	struct tm tm;

	vsnprintf(text, sizeof(text), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%ld] %s: %s%s\n", stamp, ts.tv_nsec / 1000000L,
		log_service, (long)getpid(), log_names[level], text,
		suffix ? suffix : "");
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	log__vwrite(level, NULL, fmt, ap);
	va_end(ap);
}

int log_every_msg(log_every *le, int64_t interval_ms, enum log_level level,
		  const char *fmt, ...)
{
	va_list ap;
	char suffix[64] = "";
	int64_t now = clock_mono_ms();

	if (le->last_ms != 0 && now - le->last_ms < interval_ms) {
		le->suppressed++;
		return 0;
	}
	if (le->suppressed)
		snprintf(suffix, sizeof(suffix), " (+%llu similar suppressed)",
			 (unsigned long long)le->suppressed);
	le->last_ms = now ? now : 1;
	le->suppressed = 0;
	if (level > log_threshold)
		return 1;
	va_start(ap, fmt);
	log__vwrite(level, suffix, fmt, ap);
	va_end(ap);
	return 1;
}
