/* mqtt_conf — checking and copying an MQTT client's options (mqtt_conf.h),
 * and their defaults (mqtt_options_default, declared in mqtt.h).
 * The names that become topic levels (root, service, instance) are checked
 * with text.h's one validator, so a client can never be made that would
 * publish under a topic the contract does not allow. */
#include "mqtt_conf.h"

#include "topic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mqtt_options_default(mqtt_options *o)
{
	memset(o, 0, sizeof(*o));
	o->keepalive_s = 20;
	o->persistent = 0;
	o->session_expiry_s = 7u * 24u * 3600u;
	o->max_buffered = 10000;
	o->inbox_max = 10000;
	o->metrics_interval_ms = 10000;
	o->reconnect_min_s = 1;
	o->reconnect_max_s = 30;
	o->connect_timeout_s = 10;
}

char *mqtt_conf_instance_default(char *out, size_t cap)
{
	char host[256];

	/* Hostnames are [A-Za-z0-9.-]; anything else becomes '_'. */
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "host");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789.-",
			    *p))
			*p = '_';
	if (!host[0])
		snprintf(host, sizeof(host), "host");
	snprintf(out, cap, "%.64s-%ld", host, (long)getpid());
	return out;
}

static char *dup_or_null(const char *s, int *fail)
{
	char *d;
	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = 1;
	return d;
}

static char *printf_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *printf_dup(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int mqtt_conf__check(const mqtt_options *o, char *err, size_t errlen)
{
	if (!o || !o->uri || !*o->uri) {
		am_errf(err, errlen, "mqtt: broker uri required");
		return AM_EINVAL;
	}
	if (!text_level_valid(o->root, TOPIC_ROOT_MAX, 1) || o->root[0] == '/' ||
	    o->root[0] == '$') {
		am_errf(err, errlen, "mqtt: bad topic root '%s'",
			o->root ? o->root : "(null)");
		return AM_EINVAL;
	}
	if (!text_level_valid(o->service, TOPIC_NAME_MAX, 0)) {
		am_errf(err, errlen, "mqtt: bad service name");
		return AM_EINVAL;
	}
	if (o->instance && !text_level_valid(o->instance, TOPIC_NAME_MAX, 0)) {
		am_errf(err, errlen, "mqtt: bad instance name '%s'", o->instance);
		return AM_EINVAL;
	}
	if (o->client_id &&
	    (!*o->client_id || strlen(o->client_id) > TOPIC_NAME_MAX * 2)) {
		am_errf(err, errlen, "mqtt: bad client id");
		return AM_EINVAL;
	}
	if (o->will_topic && (!topic_name_valid(o->will_topic) || !o->will_payload)) {
		am_errf(err, errlen, "mqtt: bad will");
		return AM_EINVAL;
	}
	if (o->keepalive_s < 1 || o->max_buffered < 1 || o->inbox_max < 1 ||
	    o->metrics_interval_ms < 0 || o->reconnect_min_s < 1 ||
	    o->reconnect_max_s < o->reconnect_min_s || o->connect_timeout_s < 1) {
		am_errf(
		    err, errlen,
		    "mqtt: option out of range (keepalive %d, max_buffered %d, inbox_max "
		    "%zu, "
		    "metrics_interval_ms %d, reconnect %d..%d s, connect_timeout %d s)",
		    o->keepalive_s, o->max_buffered, o->inbox_max, o->metrics_interval_ms,
		    o->reconnect_min_s, o->reconnect_max_s, o->connect_timeout_s);
		return AM_EINVAL;
	}
	if (o->tls.cafile || o->tls.capath || o->tls.certfile || o->tls.keyfile) {
		char host[TLS_HOST_MAX + 1];
		int port, secure = 0;
		if (tls_uri_parse(o->uri, host, sizeof(host), &port, &secure) ||
		    !secure) {
			am_errf(err, errlen,
				"mqtt: TLS options given, but the broker URI '%s' is not "
				"TLS (use ssl://HOST:8883)",
				o->uri);
			return AM_EINVAL;
		}
		if (tls_options_check(&o->tls, err, errlen))
			return AM_EINVAL;
	}
	if (o->persistent && o->session_expiry_s == 0) {
		am_errf(err, errlen,
			"mqtt: persistent session needs session_expiry_s > 0");
		return AM_EINVAL;
	}
	return 0;
}

static int mqtt_conf__copy(mqtt_conf *c, const mqtt_options *o)
{
	int fail = 0;
	char inst[TOPIC_NAME_MAX + 1];

	c->o = *o;
	c->uri = dup_or_null(o->uri, &fail);
	c->root = dup_or_null(o->root, &fail);
	c->service = dup_or_null(o->service, &fail);
	c->username = dup_or_null(o->username, &fail);
	c->password = dup_or_null(o->password, &fail);
	c->will_topic = dup_or_null(o->will_topic, &fail);
	c->will_payload = dup_or_null(o->will_payload, &fail);
	c->cafile = dup_or_null(o->tls.cafile, &fail);
	c->capath = dup_or_null(o->tls.capath, &fail);
	c->certfile = dup_or_null(o->tls.certfile, &fail);
	c->keyfile = dup_or_null(o->tls.keyfile, &fail);
	c->instance = dup_or_null(
	    o->instance ? o->instance : mqtt_conf_instance_default(inst, sizeof(inst)),
	    &fail);
	if (fail)
		return AM_ENOMEM;
	c->client_id = o->client_id ? strdup(o->client_id)
				    : printf_dup("%s-%s", c->service, c->instance);
	c->prefix =
	    printf_dup("%s/%s/%s/%s", c->root, TOPIC_SVC, c->service, c->instance);
	if (!c->client_id || !c->prefix)
		return AM_ENOMEM;
	/* the copies own these now; keep o's pointers out of reach */
	c->o.uri = c->uri;
	c->o.root = c->root;
	c->o.service = c->service;
	c->o.instance = c->instance;
	c->o.client_id = c->client_id;
	c->o.username = c->username;
	c->o.password = c->password;
	c->o.will_topic = c->will_topic;
	c->o.will_payload = c->will_payload;
	c->o.tls.cafile = c->cafile;
	c->o.tls.capath = c->capath;
	c->o.tls.certfile = c->certfile;
	c->o.tls.keyfile = c->keyfile;
	return 0;
}

int mqtt_conf_init(mqtt_conf *k, const mqtt_options *o, char *err, size_t errlen)
{
	int rc;

	memset(k, 0, sizeof(*k));
	rc = mqtt_conf__check(o, err, errlen);
	if (!rc)
		rc = mqtt_conf__copy(k, o);
	if (rc == AM_ENOMEM)
		am_errf(err, errlen, "mqtt: out of memory");
	if (rc)
		mqtt_conf_cleanup(k);
	return rc;
}

void mqtt_conf_cleanup(mqtt_conf *k)
{
	if (!k)
		return;
	free(k->uri);
	free(k->root);
	free(k->service);
	free(k->instance);
	free(k->client_id);
	free(k->username);
	free(k->password);
	free(k->will_topic);
	free(k->will_payload);
	free(k->cafile);
	free(k->capath);
	free(k->certfile);
	free(k->keyfile);
	free(k->prefix);
	memset(k, 0, sizeof(*k));
}
