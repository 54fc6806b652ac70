/* mqtt_connect — anomesh's connect settings as Paho's options (see
 * mqtt_connect.h). TLS: Paho's enableServerCertAuth checks the chain
 * against trustStore/CApath (or OpenSSL's default store when neither is
 * given) and verify checks after the handshake that the certificate names
 * the host of the URI (X509_check_host, then X509_check_ip_asc); both are
 * always on: a broker that cannot prove who it is gets no password. TLS
 * 1.2 at least (OpenSSL's default in Debian 12), so sslVersion stays
 * MQTT_SSL_VERSION_DEFAULT. */
#include "mqtt_connect.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MQTT_WILL_QOS 1

int mqtt_connect_opts(mqtt_connect *m, const mqtt_conf *k, MQTTProperties *props,
		      int (*ssl_error_cb)(const char *str, size_t len, void *u), void *ud,
		      char *err, size_t errlen)
{
	const MQTTAsync_connectOptions cn0 = MQTTAsync_connectOptions_initializer5;
	const MQTTAsync_willOptions will0 = MQTTAsync_willOptions_initializer;
	const MQTTAsync_SSLOptions ssl0 = MQTTAsync_SSLOptions_initializer;
	char host[TLS_HOST_MAX + 1];
	int port, secure = 0;

	m->cn = cn0;
	m->will = will0;
	m->ssl = ssl0;
	if (k->will_topic) {
		m->will.topicName = k->will_topic;
		m->will.message = k->will_payload;
		m->will.retained = 1;
		m->will.qos = MQTT_WILL_QOS;
		m->cn.will = &m->will;
	}
	m->cn.keepAliveInterval = k->o.keepalive_s;
	m->cn.cleanstart = !k->o.persistent;
	m->cn.username = k->username;
	m->cn.password = k->password;
	m->cn.connectTimeout = k->o.connect_timeout_s;
	m->cn.automaticReconnect = 1;
	m->cn.minRetryInterval = k->o.reconnect_min_s;
	m->cn.maxRetryInterval = k->o.reconnect_max_s;
	m->cn.MQTTVersion = MQTTVERSION_5;
	if (k->o.persistent) {
		MQTTProperty p;
		memset(&p, 0, sizeof(p));
		p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
		p.value.integer4 = k->o.session_expiry_s;
		if (MQTTProperties_add(props, &p) != 0)
			return am_fail(err, errlen, AM_ENOMEM,
				       "mqtt: cannot set session expiry");
		m->cn.connectProperties = props;
	}
	if (tls_uri_parse(k->uri, host, sizeof(host), &port, &secure) == 0 && secure) {
		m->ssl.trustStore = k->cafile;
		m->ssl.CApath = k->capath;
		m->ssl.keyStore = k->certfile;
		m->ssl.privateKey = k->keyfile;
		m->ssl.enableServerCertAuth = 1;
		m->ssl.verify = 1;
		m->ssl.sslVersion = MQTT_SSL_VERSION_DEFAULT;
		m->ssl.ssl_error_cb = ssl_error_cb;
		m->ssl.ssl_error_context = ud;
		m->cn.ssl = &m->ssl;
	}
	return 0;
}

/* Paho's trace level, once per process, after its first MQTTAsync_create
 * (which reads MQTT_C_CLIENT_TRACE*): unless someone asked for Paho's trace
 * through that environment, only errors. Paho's default level formats a
 * protocol trace line (vsnprintf, payload excerpt included) into its
 * in-memory ring for every packet sent and received, under a process-wide
 * mutex: measured, printf_positional and that mutex were the top libc
 * symbols on Paho's receive thread at 2,000 sensors. Nobody reads that ring
 * (no trace callback is set). */
static void quiet_paho_trace_once(void)
{
	const char *t = getenv("MQTT_C_CLIENT_TRACE"),
		   *l = getenv("MQTT_C_CLIENT_TRACE_LEVEL");
	if ((t && *t) || (l && *l))
		return;
	MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
}

void mqtt_connect_quiet_trace(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, quiet_paho_trace_once);
}
