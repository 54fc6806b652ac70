/* connwatch — says why a service is not connected to its broker, in words
 * a person can act on, without flooding the log. The MQTT client reconnects
 * by itself and reports little (tls.h): connwatch looks at it once a
 * second; when a connect failed or the connection was lost, and again
 * every CONNWATCH_REPEAT_MS while it stays down, it finds the cause (for a
 * TLS broker by tls_probe(): unknown CA, name mismatch, expired ...) and
 * hands back one line to log; one more when the connection is back. The
 * probe blocks the caller's loop (CONNWATCH_PROBE_MS at most), and only
 * while the service is disconnected.
 *
 * Leaf code: it returns lines, the service logs them.
 *
 * Ownership: connwatch_new() copies the URI and the TLS options' strings
 * are borrowed (they must outlive it: svc's config owns them); the client
 * is borrowed. connwatch_free() is NULL-safe. */
#ifndef ANOMESH_CONNWATCH_H
#define ANOMESH_CONNWATCH_H

#include "mqtt.h"
#include "tls.h"

#include <stddef.h>
#include <stdint.h>

#define CONNWATCH_PERIOD_MS 1000
#define CONNWATCH_REPEAT_MS 60000
#define CONNWATCH_PROBE_MS 3000

enum connwatch_level { CONNWATCH_NONE, CONNWATCH_INFO, CONNWATCH_WARN, CONNWATCH_ERROR };

typedef struct connwatch connwatch;

/* NULL when out of memory. */
connwatch *connwatch_new(mqtt_client *c, const char *uri, const tls_options *tls);
void connwatch_free(connwatch *w);

/* Look at the client now (now_ms: a monotonic clock). Returns the level of
 * the line written into line (CONNWATCH_NONE: nothing to say). */
enum connwatch_level connwatch_check(connwatch *w, int64_t now_ms, char *line,
				     size_t len);

#endif
