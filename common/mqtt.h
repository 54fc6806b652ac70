/* mqtt — the one way anomesh services talk: a thin layer over Eclipse Paho
 * MQTTAsync speaking MQTT v5.
 *
 * What it adds to Paho:
 *  - automatic reconnect with exponential backoff, and re-subscription of
 *    every mqtt_subscribe()d filter after each (re)connect;
 *  - outbound flow control and a bounded offline buffer (outq.h): QoS>0
 *    publishes beyond the broker's Receive Maximum, and everything
 *    published while disconnected, wait in order in the module's own queue
 *    (gauge "outbound_queued"), so a burst drains at network speed instead
 *    of Paho's ~Receive Maximum messages per second (see mqtt.c); what
 *    overflows the bound is counted ("overflow_dropped"), never silent;
 *  - persistent-session mode for consumers that must not lose data: fixed
 *    client id, clean start off, a session expiry interval, QoS 1;
 *  - an inbox (inbox.h): Paho's threads only copy an arriving message into
 *    a bounded queue and return; the service's own loop takes messages out
 *    with mqtt_dispatch(), on its thread (conventions §6). mqtt_fd() is
 *    readable while the inbox is non-empty, so the loop can poll() it
 *    beside its own file descriptors;
 *  - what a service's presence needs (presence.h): a last will, a hook on
 *    every connect and one at shutdown, and mqtt_publish_now() for control
 *    messages.
 *
 * Threads: mqtt_publish*() may be called from any thread; everything else
 * from the thread that owns the client (the service loop).
 *
 * Ownership: mqtt_new() copies every string of the options it is given.
 * A message handed to the handler is owned by the mqtt module and is valid
 * only during the call. mqtt_free() disconnects (running the shutdown hook
 * first, if connected) and frees all; NULL-safe. */
#ifndef ANOMESH_MQTT_H
#define ANOMESH_MQTT_H

#include "metrics.h"
#include "tls.h"

#include <stddef.h>
#include <stdint.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL     bad options or arguments
 *   AM_ENOMEM
 *   AM_EBROKER    Paho refused the call (err says why)
 *   AM_EOVERFLOW  offline buffer / inflight full: dropped, counted
 *   AM_ETIMEOUT
 *   AM_ESTOPPED   client is shutting down
 */
#include "error.h"

struct mqtt_message;
typedef struct mqtt_client mqtt_client;

typedef struct mqtt_options {
	const char *uri;       /* "tcp://127.0.0.1:1883" (required); ssl:// or
				  mqtts:// for TLS */
	const char *root;      /* topic root, e.g. "factory" (required) */
	const char *service;   /* e.g. "scorer" (required) */
	const char *instance;  /* default: "<hostname>-<pid>" (mqtt_conf.h) */
	const char *client_id; /* default: "<service>-<instance>" */
	const char *username;  /* NULL: anonymous */
	const char *password;
	/* TLS (ssl://, mqtts:// URIs only): the CAs trusted for the broker's
	 * certificate, an optional client certificate. The certificate and
	 * the host name in the URI are always verified. */
	tls_options tls;
	int keepalive_s;           /* default 20 */
	int persistent;            /* 1: clean start off + session expiry */
	uint32_t session_expiry_s; /* persistent mode, default 7 days */
	int max_buffered;          /* offline buffer, messages; default 10000 */
	size_t inbox_max;          /* inbound queue bound; default 10000 */
	int metrics_interval_ms; /* presence.h's metrics period; default 10000, 0: off */
	int reconnect_min_s;     /* default 1 */
	int reconnect_max_s;     /* default 30 */
	int connect_timeout_s;   /* default 10 */
	/* Arrival hook (NULL: none): see mqtt_arrival_hook below. */
	int (*on_arrival)(void *ud, const struct mqtt_message *msg);
	void *on_arrival_ud;
	/* Presence (presence_new() fills these): the retained QoS 1 last will
	 * (will_topic NULL: none); on_connected, run on Paho's thread after
	 * every successful connect, before the re-subscriptions and before
	 * the queued publishes go out; on_shutdown, run by mqtt_shutdown()
	 * while still connected, before it drains and disconnects. Both may
	 * call mqtt_publish_now() and nothing else of this module. */
	const char *will_topic;
	const char *will_payload;
	void (*on_connected)(void *ud, mqtt_client *c);
	void (*on_shutdown)(void *ud, mqtt_client *c);
	void *hook_ud;
} mqtt_options;

/* Fill o with the defaults above (uri/root/service left NULL). Defined in
 * mqtt_conf.c, beside the checks the options must pass. */
void mqtt_options_default(mqtt_options *o);

typedef struct mqtt_message {
	const char *topic;   /* NUL-terminated */
	const void *payload; /* payload bytes, followed by a NUL not in len */
	size_t len;
	int qos;
	int retained;
	int duplicate; /* DUP flag: may have been seen before */
} mqtt_message;

/* Arrival hook (mqtt_options.on_arrival), for consumers that must make a
 * message durable before the broker is told it arrived (the archiver's
 * spool). Called on Paho's receive thread for every arriving message,
 * before Paho acknowledges it: measured with Paho 1.3.12, the PUBACK of a
 * QoS 1 message is sent only after the arrival callback returns, and Paho
 * reads nothing else meanwhile. Return 0: the hook took the message, it
 * bypasses the inbox; 1: queue it in the inbox as usual. The hook may block
 * (e.g. disk full: the message stays unacknowledged and the broker keeps
 * the rest), but Paho holds its client mutex meanwhile, so other mqtt_*
 * calls wait for it; it must not call mqtt_* itself. msg is valid during
 * the call only. */
typedef int (*mqtt_arrival_hook)(void *ud, const mqtt_message *msg);

/* Handler for mqtt_dispatch(). Return value is ignored (reserved). */
typedef int (*mqtt_handler)(void *ud, const mqtt_message *msg);

/* Create the client and start connecting in the background (does not wait
 * for the broker: a service starts even while the broker is down, and
 * buffers). m: the service's metrics registry (borrowed, may be shared with
 * the service's own counters); the module registers msgs_in, msgs_out,
 * malformed_dropped (bumped by services via mqtt_count_malformed),
 * overflow_dropped, inbox_full, reconnects, connected, outbound_queued
 * (gauge: publishes in the module's queue, not yet handed to Paho) and
 * publish_failed (publishes refused for good: by Paho, or by the broker
 * with an error reason code in the PUBACK, or given up OUTQ_MAX_SENDS
 * times) and publish_resent (QoS>0 publishes Paho took and gave up with
 * the connection, a session cleaned on a reconnect: sent again, in their
 * place, so at least once).
 * Returns NULL on failure with a reason in err. */
mqtt_client *mqtt_new(const mqtt_options *o, metrics *m, char *err, size_t errlen);
void mqtt_free(mqtt_client *c);

/* Subscribe to a filter now (if connected) and after every reconnect.
 * Returns 0 or a negative AM_E*. */
int mqtt_subscribe(mqtt_client *c, const char *filter, int qos);

/* Publish. qos 0..2; retained 0/1. Never blocks on the network: while
 * disconnected, or while the broker's Receive Maximum of QoS>0 publishes
 * are unacknowledged, the message is copied into the module's queue and
 * sent in order later; max_buffered bounds that queue plus the QoS>0
 * publishes awaiting acknowledgement; beyond that the message is dropped
 * and counted, and AM_EOVERFLOW returned. The topic must be valid UTF-8
 * without wildcards (else AM_EINVAL). Every refusal is counted once, by
 * the module (overflow_dropped for AM_EOVERFLOW, publish_failed for any
 * other), so the caller logs it but does not count it again. */
int mqtt_publish(mqtt_client *c, const char *topic, const void *payload, size_t len,
		 int qos, int retained);

/* Convenience: topic built as "{root}/{sensor}/{kind}" by topic_sensor();
 * kind is a sensor kind's name ("raw", "prediction", "state", "alert",
 * "ack", "repair"), sensor a contract sensor id (else AM_EINVAL). */
int mqtt_publish_sensor(mqtt_client *c, const char *sensor, const char *kind,
			const void *payload, size_t len, int qos, int retained);

/* Hand a control message (presence: status, metrics) straight to Paho:
 * not queued, not in the window, not counted in msgs_out, possible until
 * the client disconnects (so from the shutdown hook too). Returns 0,
 * AM_EINVAL, AM_EOVERFLOW (Paho's buffer is full: try again later) or
 * AM_EBROKER. */
int mqtt_publish_now(mqtt_client *c, const char *topic, const void *payload, size_t len,
		     int qos, int retained);

/* Connection trouble, for the service's log: the number of failed connects
 * and lost connections so far (Paho reports a failed first connect and
 * each loss; its automatic retries fail silently, see tls.h), with Paho's
 * words for the latest in why (may be empty). */
unsigned mqtt_trouble(mqtt_client *c, char *why, size_t len);

/* Wait until connected, at most timeout_ms. 0 connected, AM_ETIMEOUT. */
int mqtt_wait_connected(mqtt_client *c, int timeout_ms);
int mqtt_is_connected(mqtt_client *c);

/* File descriptor that polls readable while the inbox holds messages. */
int mqtt_fd(mqtt_client *c);

/* Hand up to max inbox messages (0: all present) to handler, on the caller's
 * thread, oldest first; first hands Paho what the outbound queue asked to
 * be pumped. Returns the number handled. */
int mqtt_dispatch(mqtt_client *c, mqtt_handler handler, void *ud, size_t max);

/* poll() the inbox fd up to timeout_ms, then mqtt_dispatch(). For services
 * with no other file descriptors. Returns messages handled or -1 on EINTR. */
int mqtt_poll(mqtt_client *c, int timeout_ms, mqtt_handler handler, void *ud);

/* Count a payload the service refused (bumps malformed_dropped). */
void mqtt_count_malformed(mqtt_client *c);

/* Orderly end: run the shutdown hook (presence: retained "offline") if
 * connected, wait for queued and in-flight QoS>0 publishes up to
 * timeout_ms, disconnect. mqtt_free() calls it if the service did not.
 * Returns 0, or AM_ETIMEOUT if messages remained. */
int mqtt_shutdown(mqtt_client *c, int timeout_ms);

/* Topic root and "{root}/_svc/{service}/{instance}" prefix of this client,
 * and its instance id (the prefix's last level: --instance or the default). */
const char *mqtt_root(const mqtt_client *c);
const char *mqtt_svc_prefix(const mqtt_client *c);
const char *mqtt_instance(const mqtt_client *c);

#endif
