/* notify — tell a person about an alert, beyond the MQTT alert topic:
 * a webhook (HTTP POST of the alert JSON through libcurl) and a command
 * hook (a configured program run with the alert JSON on stdin).
 *
 * Neither may ever hold up the service loop: notify_alert() only copies
 * the alert into a bounded queue and returns. Each sink has its own worker
 * thread. The webhook worker delivers in order and retries a failed POST
 * with exponential backoff (connection errors, timeouts, 5xx, 408, 429)
 * until it succeeds, its attempts run out or it is too old; other 4xx are
 * final. The command worker runs one program at a time (fork/exec, no shell
 * unless asked), writes the JSON to its stdin, and kills its process group
 * when the timeout expires. A full queue drops the new alert and counts it.
 *
 * Repeated alerts are rate-limited per (sensor, transition): at most one
 * notification per rate_limit_s for, say, arm1-lpms OK>FAILURE. This only
 * throttles the webhook and the command; the caller still publishes every
 * alert on MQTT.
 *
 * Metrics (registered in the registry given to notify_new):
 *   webhook_ok, webhook_retried (attempts that failed and will be retried),
 *   webhook_failed (given up), webhook_dropped (queue full or shut down),
 *   command_ok, command_failed (non-zero exit, signal, exec failure or
 *   timeout), command_timeout, command_dropped, notify_rate_limited.
 *
 * Threads: notify_alert() and notify_pending() from one thread (the service
 * loop). Ownership: notify_new() copies every string of the options;
 * notify_alert() copies the JSON; notify_free() stops the workers (an
 * in-flight POST is aborted, a running command is killed, whatever is still
 * queued is counted as dropped) and frees everything; NULL-safe. */
#ifndef ANOMESH_NOTIFY_H
#define ANOMESH_NOTIFY_H

#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL
 *   AM_ENOMEM
 *   AM_ECURL    libcurl could not be set up
 *   AM_ETHREAD  a worker thread could not start
 */
#include "error.h"

#define NOTIFY_JSON_MAX (64 * 1024) /* bytes of one alert payload */

typedef struct notify_options {
	const char *webhook_url;     /* NULL or "": no webhook */
	long webhook_timeout_ms;     /* whole request, per attempt; default 5000 */
	int webhook_max_attempts;    /* default 10 */
	long webhook_max_age_ms;     /* give up on an alert this old; default 600000 */
	long webhook_backoff_min_ms; /* first retry delay; default 500 */
	long webhook_backoff_max_ms; /* cap of the doubling delay; default 30000 */
	const char *command;         /* NULL or "": no command hook */
	int command_shell;           /* 1: run as /bin/sh -c COMMAND */
	long command_timeout_ms;     /* default 10000 */
	size_t queue_max;            /* per sink, alerts; default 256 */
	long rate_limit_s;           /* 0: no rate limit; default 0 */
	/* Optional: told each outcome as one line ("webhook: attempt 2 failed:
	 * Couldn't connect to server; retry in 1000 ms"), level an enum
	 * log_level value. Called from the worker threads: must be
	 * thread-safe (log_msg is). */
	void (*report)(void *ud, int level, const char *line);
	void *report_ud;
} notify_options;

/* Fill o with the defaults above (no webhook, no command). */
void notify_options_default(notify_options *o);

typedef struct notify notify;

/* Start the workers of the configured sinks. m: the service's metrics
 * registry (borrowed; must outlive the notify). Returns NULL with a reason
 * in err on failure. */
notify *notify_new(const notify_options *o, metrics *m, char *err, size_t errlen);
void notify_free(notify *n);

/* What notify_alert() did. */
#define NOTIFY_QUEUED 0  /* handed to every configured sink (or none exist) */
#define NOTIFY_LIMITED 1 /* rate-limited: no sink gets it */
#define NOTIFY_DROPPED 2 /* a sink's queue was full: dropped there, counted */

/* Hand one alert to the sinks. sensor and transition (e.g. "OK>FAILURE")
 * form the rate-limit key; json/len is the alert payload (copied, at most
 * NOTIFY_JSON_MAX bytes); now_ms is the caller's monotonic clock in ms
 * (clock_mono_ms(); tests pass their own). Returns NOTIFY_QUEUED,
 * NOTIFY_LIMITED, NOTIFY_DROPPED or AM_EINVAL. Never blocks on I/O. */
int notify_alert(notify *n, const char *sensor, const char *transition, const char *json,
		 size_t len, int64_t now_ms);

/* Alerts queued or in progress in both sinks together (0: all settled). */
size_t notify_pending(notify *n);

/* 1 if a webhook / command is configured. */
int notify_has_webhook(const notify *n);
int notify_has_command(const notify *n);

#endif
