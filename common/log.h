/* log — leveled logging to stderr, one line per event, tagged with the
 * service name. Leaf modules never log: they return an error code and fill
 * an err buffer, and the service logs once with context (conventions §3).
 * log_every() keeps bad-input floods to one line per interval. */
#ifndef ANOMESH_LOG_H
#define ANOMESH_LOG_H

#include <stdint.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Set the service name (copied) and the lowest level printed. */
void log_init(const char *service, enum log_level level);

/* Parse "error|warn|info|debug" into *out. Returns 0, or -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Rate limiter for repeated events: one per interval, counting the rest. */
typedef struct log_every {
	int64_t last_ms;     /* monotonic ms of the last printed line, 0: never */
	uint64_t suppressed; /* events swallowed since that line */
} log_every;

/* Log like log_msg() if at least interval_ms passed since the last line
 * through *le; otherwise only count. A printed line says how many similar
 * events were suppressed before it. Returns 1 if printed, 0 if counted. */
int log_every_msg(log_every *le, int64_t interval_ms, enum log_level level,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
