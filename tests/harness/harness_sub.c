/* harness_sub — the collecting subscriber (see harness.h): a raw Paho
 * MQTT v5 client, independent of common/mqtt.c (the code under test), that
 * records every message on its filter under a lock and wakes waiters
 * through a condition variable on the monotonic clock. Waits are "until a
 * predicate over everything received holds, or a deadline". */
#include "harness.h"
#include "harness_internal.h"

#include <MQTTAsync.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct harness_sub {
	MQTTAsync h;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	harness_msg *msgs;
	size_t n, cap;
	char *filter;
	int persistent;
	int connected;
	int subscribed; /* 1 acked, -1 refused */
	int ever_subscribed;
	int disconnected_done;
};

static void sub_signal(harness_sub *s) { pthread_cond_broadcast(&s->cond); }

static int sub_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	harness_sub *s = ctx;
	size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	size_t pl = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	harness_msg hm;

	hm.topic = malloc(tl + 1);
	hm.payload = malloc(pl + 1);
	if (!hm.topic || !hm.payload) {
		free(hm.topic);
		free(hm.payload);
		return 0;
	}
	memcpy(hm.topic, topic, tl);
	hm.topic[tl] = '\0';
	if (pl)
		memcpy(hm.payload, m->payload, pl);
	hm.payload[pl] = '\0';
	hm.len = pl;
	hm.qos = m->qos;
	hm.retained = m->retained;

	pthread_mutex_lock(&s->lock);
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		harness_msg *nm = realloc(s->msgs, nc * sizeof(*nm));
		if (!nm) {
			pthread_mutex_unlock(&s->lock);
			free(hm.topic);
			free(hm.payload);
			return 0;
		}
		s->msgs = nm;
		s->cap = nc;
	}
	s->msgs[s->n++] = hm;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void sub_ok(void *ctx, MQTTAsync_successData5 *r)
{
	harness_sub *s = ctx;
	pthread_mutex_lock(&s->lock);
	s->subscribed = r && r->reasonCode >= 0x80 ? -1 : 1;
	if (s->subscribed == 1)
		s->ever_subscribed = 1;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
}

static void sub_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	harness_sub *s = ctx;
	(void)r;
	pthread_mutex_lock(&s->lock);
	s->subscribed = -1;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
}

static int sub_subscribe(harness_sub *s)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess5 = sub_ok;
	ro.onFailure5 = sub_fail;
	ro.context = s;
	return MQTTAsync_subscribe(s->h, s->filter, 1, &ro);
}

static void sub_connected(void *ctx, char *cause)
{
	harness_sub *s = ctx;
	int resub;
	(void)cause;
	pthread_mutex_lock(&s->lock);
	s->connected = 1;
	/* a persistent session keeps its subscription across reconnects */
	resub = s->ever_subscribed && !s->persistent;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
	if (resub)
		sub_subscribe(s);
}

static void sub_lost(void *ctx, char *cause)
{
	harness_sub *s = ctx;
	(void)cause;
	pthread_mutex_lock(&s->lock);
	s->connected = 0;
	pthread_mutex_unlock(&s->lock);
}

static void sub_disc_ok(void *ctx, MQTTAsync_successData5 *r)
{
	harness_sub *s = ctx;
	(void)r;
	pthread_mutex_lock(&s->lock);
	s->disconnected_done = 1;
	sub_signal(s);
	pthread_mutex_unlock(&s->lock);
}

static void sub_disc_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	(void)r;
	sub_disc_ok(ctx, NULL);
}

/* Wait under s->lock for *flag != 0, at most until deadline. */
static int sub_wait_flag(harness_sub *s, const int *flag, long long deadline)
{
	while (!*flag) {
		long long now = harness_now_ms();
		struct timespec ts;
		if (now >= deadline)
			return 0;
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	return 1;
}

harness_sub *harness_sub_new(const char *uri, const char *filter, const char *client_id,
			     int persistent)
{
	static int seq;
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	MQTTAsync_connectOptions cn = MQTTAsync_connectOptions_initializer5;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTProperty p;
	pthread_condattr_t ca;
	char idbuf[96];
	harness_sub *s;
	long long deadline = harness_now_ms() + HARNESS_READY_MS;
	int ok;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->filter = strdup(filter);
	s->persistent = persistent;
	if (!client_id) {
		snprintf(idbuf, sizeof(idbuf), "harness-sub-%d-%d", (int)getpid(), ++seq);
		client_id = idbuf;
	}
	if (!s->filter || MQTTAsync_createWithOptions(&s->h, uri, client_id,
						      MQTTCLIENT_PERSISTENCE_NONE, NULL,
						      &co) != MQTTASYNC_SUCCESS) {
		harness__fail("sub: cannot create client for %s", uri);
		free(s->filter);
		free(s);
		return NULL;
	}
	MQTTAsync_setCallbacks(s->h, s, sub_lost, sub_arrived, NULL);
	MQTTAsync_setConnected(s->h, s, sub_connected);
	cn.keepAliveInterval = 20;
	cn.cleanstart = !persistent;
	cn.automaticReconnect = 1;
	cn.minRetryInterval = 1;
	cn.maxRetryInterval = 1;
	cn.connectTimeout = 5;
	if (persistent) {
		memset(&p, 0, sizeof(p));
		p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
		p.value.integer4 = 3600;
		MQTTProperties_add(&props, &p);
		cn.connectProperties = &props;
	}
	if (MQTTAsync_connect(s->h, &cn) != MQTTASYNC_SUCCESS) {
		harness__fail("sub: connect to %s refused", uri);
		MQTTProperties_free(&props);
		harness_sub_free(s);
		return NULL;
	}
	MQTTProperties_free(&props);
	pthread_mutex_lock(&s->lock);
	ok = sub_wait_flag(s, &s->connected, deadline);
	pthread_mutex_unlock(&s->lock);
	if (!ok || sub_subscribe(s) != MQTTASYNC_SUCCESS) {
		harness__fail("sub: not connected to %s", uri);
		harness_sub_free(s);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	ok = sub_wait_flag(s, &s->subscribed, deadline) && s->subscribed == 1;
	pthread_mutex_unlock(&s->lock);
	if (!ok) {
		harness__fail("sub: subscription to '%s' not acknowledged", filter);
		harness_sub_free(s);
		return NULL;
	}
	return s;
}

void harness_msg_cleanup(harness_msg *m)
{
	if (!m)
		return;
	free(m->topic);
	free(m->payload);
	m->topic = NULL;
	m->payload = NULL;
}

void harness_sub_clear(harness_sub *s)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		harness_msg_cleanup(&s->msgs[i]);
	s->n = 0;
	pthread_mutex_unlock(&s->lock);
}

void harness_sub_free(harness_sub *s)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
	if (!s)
		return;
	d.timeout = 1000;
	d.onSuccess5 = sub_disc_ok;
	d.onFailure5 = sub_disc_fail;
	d.context = s;
	if (MQTTAsync_disconnect(s->h, &d) == MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&s->lock);
		sub_wait_flag(s, &s->disconnected_done, harness_now_ms() + 3000);
		pthread_mutex_unlock(&s->lock);
	}
	MQTTAsync_destroy(&s->h);
	harness_sub_clear(s);
	free(s->msgs);
	free(s->filter);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int harness_sub_wait(harness_sub *s, harness_pred pred, void *ud, size_t count,
		     int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	int ok = 0;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct timespec ts;
		ok = pred ? pred(s->msgs, s->n, ud) : s->n >= count;
		if (ok || harness_now_ms() >= deadline)
			break;
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return ok ? 0 : -1;
}

typedef struct topic_query {
	const char *topic;
	const char *contains;
	long found;
} topic_query;

static int topic_pred(const harness_msg *msgs, size_t n, void *ud)
{
	topic_query *q = ud;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(msgs[i].topic, q->topic) == 0 &&
		    (!q->contains || strstr(msgs[i].payload, q->contains))) {
			q->found = (long)i;
			return 1;
		}
	}
	return 0;
}

long harness_sub_wait_topic(harness_sub *s, const char *topic, const char *contains,
			    int timeout_ms)
{
	topic_query q = {topic, contains, -1};
	if (harness_sub_wait(s, topic_pred, &q, 0, timeout_ms) != 0)
		return -1;
	return q.found;
}

size_t harness_sub_count(harness_sub *s)
{
	size_t n;
	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int harness_sub_get(harness_sub *s, size_t i, harness_msg *out)
{
	int rc = -1;
	pthread_mutex_lock(&s->lock);
	if (i < s->n) {
		const harness_msg *m = &s->msgs[i];
		out->topic = strdup(m->topic);
		out->payload = malloc(m->len + 1);
		if (out->topic && out->payload) {
			memcpy(out->payload, m->payload, m->len + 1);
			out->len = m->len;
			out->qos = m->qos;
			out->retained = m->retained;
			rc = 0;
		} else {
			harness_msg_cleanup(out);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int harness_sub_connected(harness_sub *s)
{
	int c;
	pthread_mutex_lock(&s->lock);
	c = s->connected;
	pthread_mutex_unlock(&s->lock);
	return c;
}

/* ---- metrics ------------------------------------------------------------ */

typedef struct harness_metric_want {
	const char *topic;
	const char *name;
	long long min;
	long long value; /* latest seen, -1: none */
} harness_metric_want;

/* Numeric value of name in the latest message on topic (NULL: any), -1 if
 * none or not a number there. */
static long long harness__metric_latest(const harness_msg *msgs, size_t n,
					const char *topic, const char *name)
{
	for (size_t i = n; i-- > 0;) {
		cJSON *j;
		const cJSON *v;
		long long val;
		if (topic && strcmp(msgs[i].topic, topic) != 0)
			continue;
		j = cJSON_ParseWithLength(msgs[i].payload, msgs[i].len);
		v = j ? cJSON_GetObjectItemCaseSensitive(j, name) : NULL;
		val = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
		cJSON_Delete(j);
		return val;
	}
	return -1;
}

static int harness__metric_pred(const harness_msg *msgs, size_t n, void *ud)
{
	harness_metric_want *w = ud;
	w->value = harness__metric_latest(msgs, n, w->topic, w->name);
	return w->value >= w->min;
}

int harness_sub_wait_metric(harness_sub *s, const char *topic, const char *name,
			    long long min, int timeout_ms, long long *value)
{
	harness_metric_want w = {topic, name, min, -1};
	int rc = harness_sub_wait(s, harness__metric_pred, &w, 0, timeout_ms);
	if (value)
		*value = w.value;
	return rc;
}

long long harness_sub_metric(harness_sub *s, const char *topic, const char *name)
{
	harness_metric_want w = {topic, name, -1, -1};
	harness_sub_wait(s, harness__metric_pred, &w, 0, 0);
	return w.value;
}
