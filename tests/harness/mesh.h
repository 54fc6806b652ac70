/* mesh — the parts of the integration tests' set-up that know anomesh's own
 * programs: a publisher that speaks through common/mqtt (the code the
 * services use, with its flow control and offline buffer), a raw message
 * filled from rows, and bin/lpms-emu started on a free TCP port or a pty.
 * The observer side stays the harness's independent Paho subscriber
 * (harness.h), so what a test sees never depends on common/mqtt.
 *
 * Ownership: a harness_pub is embedded by the caller; harness_pub_open()
 * allocates its client, buffer and metrics, harness_pub_close() frees them
 * (safe on a zeroed or already closed one). A harness_pub belongs to one
 * thread. Returns follow harness.h: 0 or -1 with a line on stderr. */
#ifndef ANOMESH_HARNESS_MESH_H
#define ANOMESH_HARNESS_MESH_H

#include "metrics.h"
#include "mqtt.h"
#include "msg.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct harness_pub {
	mqtt_client *c; /* for mqtt_publish_sensor() and the like */
	metrics *m;     /* the client's counters (overflow_dropped, ...) */
	char *buf;      /* MSG_MAX_PAYLOAD + 1 bytes: encoding scratch */
} harness_pub;

/* Connect a publisher to uri under root "factory" as service `service`
 * (its _svc topics; instance "t"), metrics messages off, and wait up to
 * 30 s for the connection. client_id NULL: "<service>-<pid>-<n>".
 * persistent: a persistent session, reconnecting within 1 s, with an offline
 * buffer of 1,000,000 messages, for QoS 1 streams that must survive a broker
 * restart. Returns 0 or -1. */
int harness_pub_open(harness_pub *p, const char *uri, const char *service,
		     const char *client_id, int persistent);
/* Encode r and publish it on factory/<r->sensor>/raw at QoS 1. 0 or -1. */
int harness_pub_raw(harness_pub *p, const msg_raw *r);
/* Publish len bytes as they are on factory/<sensor>/<kind> at QoS 1 (bad
 * payloads, on purpose). 0 or -1. */
int harness_pub_text(harness_pub *p, const char *sensor, const char *kind,
		     const char *payload, size_t len);
/* Wait up to timeout_ms for every QoS 1 publish to be acknowledged, then
 * disconnect and free. Returns 0, or -1 when some were not. */
int harness_pub_close(harness_pub *p, int timeout_ms);

/* Fill r (msg_raw_init()ed by the caller; msg_raw_cleanup() it) with n rows
 * of n_ch channels named ch (row-major floats), as sensor/run/seq starting
 * at t0, rate_hz apart. Returns 0 or -1 (no memory, bad shape). */
int harness_raw_fill(msg_raw *r, const char *sensor, const char *run, uint64_t seq,
		     double t0, double rate_hz, const char *const *ch, size_t n_ch,
		     const float *rows, size_t n);

/* Start bin/lpms-emu with extra arguments (NULL-ended, may be NULL) on a
 * free TCP port (--listen-port 0 --port-file) or, with pty set, on a pty
 * (--pty --pty-file), and wait up to 10 s for the file: its first line (the
 * port, or the pty's path) goes to where (len bytes). The emulator's log
 * path goes to log (loglen bytes). Returns its pid, or -1. */
pid_t harness_emu_start(const char *const extra[], int pty, char *where, size_t len,
			char *log, size_t loglen);

#endif
