/* mqtt_connect — Paho's connect options made from a client's checked
 * options (mqtt_conf.h): keepalive, clean start or a persistent session
 * with its expiry, credentials, the retained last will, automatic
 * reconnect with its backoff, and TLS (ssl://, mqtts://) with the
 * broker's certificate and host name always verified. Private to mqtt.c;
 * the one place where anomesh's connect settings meet Paho's structures.
 *
 * Ownership: mqtt_connect_opts() fills caller-owned structures (cn points
 * into the others, and at strings of k, which must outlive the connect
 * call); props must be freed by the caller with MQTTProperties_free.
 *
 * Codes it returns (tree-wide, error.h): AM_ENOMEM. */
#ifndef ANOMESH_MQTT_CONNECT_H
#define ANOMESH_MQTT_CONNECT_H

#include "mqtt_conf.h"

#include <MQTTAsync.h>

typedef struct mqtt_connect {
	MQTTAsync_connectOptions cn;
	MQTTAsync_willOptions will;
	MQTTAsync_SSLOptions ssl;
} mqtt_connect;

/* Fill m from k (props: the CONNECT properties, owned by the caller, empty
 * on entry). ssl_error_cb (may be NULL) gets OpenSSL's error lines, with
 * ud. The caller sets cn's callbacks and context. Returns 0 or AM_ENOMEM
 * with err filled. */
int mqtt_connect_opts(mqtt_connect *m, const mqtt_conf *k, MQTTProperties *props,
		      int (*ssl_error_cb)(const char *str, size_t len, void *u), void *ud,
		      char *err, size_t errlen);

/* Paho's trace at errors only, once per process, unless MQTT_C_CLIENT_TRACE
 * or MQTT_C_CLIENT_TRACE_LEVEL asks for more (why: mqtt_connect.c). */
void mqtt_connect_quiet_trace(void);

/* TCP_NODELAY on every connected TCP socket of the process (Paho's among
 * them, which Paho leaves with Nagle's algorithm on; why: mqtt_connect.c).
 * Call after each connect. Returns how many sockets it set. */
int mqtt_connect_nodelay(void);

#endif
