/* mqtt_connect — anomesh's connect settings as Paho's options (see
 * mqtt_connect.h). TLS: Paho's enableServerCertAuth checks the chain
 * against trustStore/CApath (or OpenSSL's default store when neither is
 * given) and verify checks after the handshake that the certificate names
 * the host of the URI (X509_check_host, then X509_check_ip_asc); both are
 * always on: a broker that cannot prove who it is gets no password. TLS
 * 1.2 at least (OpenSSL's default in Debian 12), so sslVersion stays
 * MQTT_SSL_VERSION_DEFAULT. */
#include "mqtt_connect.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

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

/* Why: Paho opens its socket with Nagle's algorithm on and offers no way
 * to change it. An MQTT client writes one small packet per publish; with
 * Nagle a packet written while an earlier one is unacknowledged waits for
 * the peer's ACK, which Linux delays up to 40 ms: measured with
 * scripts/bench-mesh.sh at 100 sensors (500 raw messages/s, QoS 0, CPU
 * under 10 % everywhere) a window's prediction arrived p50 2.6 ms, p99
 * 42 ms after its last sample. Mosquitto sets TCP_NODELAY on its side
 * (set_tcp_nodelay in the configs under mosquitto/); this is the client's side. Paho
 * does not say which descriptor is its socket, so every connected TCP
 * socket of the process gets the option: in anomesh's programs these are
 * the MQTT connections, plus sockets that already ask for it (ingest-bt's
 * emulator link, libcurl's webhooks). Idempotent, cheap (one pass over
 * /proc/self/fd per connect). */
int mqtt_connect_nodelay(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		int type = 0, dom = 0, one = 1;
		socklen_t len = sizeof(type);
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct stat st;

		if (*end || end == e->d_name || fd == dirfd(d) ||
		    fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
		    type != SOCK_STREAM)
			continue;
		len = sizeof(dom);
		if (getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) != 0 ||
		    (dom != AF_INET && dom != AF_INET6))
			continue;
		if (getpeername((int)fd, (struct sockaddr *)&peer, &plen) != 0)
			continue; /* listening or not connected */
		if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
			n++;
	}
	closedir(d);
	return n;
}
