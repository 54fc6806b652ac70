/* Shared set-up of the mqtt integration tests (test_mqtt.c, test_mqtt_flow.c,
 * test_presence.c): a broker per test, clients with their presence, and
 * collecting what a client dispatches. Header-only (static inline) so each
 * test program takes what it uses without a library.
 *
 * Ownership: the fixture owns the presences client_new() makes (freed by
 * teardown, after the test freed its clients). */
#ifndef ANOMESH_TEST_MQTT_H
#define ANOMESH_TEST_MQTT_H

#include "../harness/harness.h"
#include "metrics.h"
#include "mqtt.h"
#include "presence.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define WAIT_MS 15000
#define FIXTURE_PRESENCES 16

typedef struct fixture {
	harness_broker broker;
	metrics *m;
	presence *pres[FIXTURE_PRESENCES]; /* of the clients made, in order */
	size_t n_pres;
} fixture;

/* A broker with conf added to the harness's (NULL: none). */
static inline int setup_with(void **state, const char *conf)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f || harness_broker_start(&f->broker, conf) != 0)
		return -1;
	f->m = metrics_new();
	*state = f;
	return 0;
}

static inline int setup_plain(void **state) { return setup_with(state, NULL); }

/* Broker persistence: sessions and their queues survive a broker restart. */
static inline int setup_persist(void **state)
{
	return setup_with(state, "persistence true\n");
}

static inline int teardown(void **state)
{
	fixture *f = *state;
	if (f) {
		harness_broker_stop(&f->broker);
		for (size_t i = 0; i < f->n_pres; i++)
			presence_free(f->pres[i]);
		metrics_free(f->m);
		free(f);
	}
	return 0;
}

static inline void opts_for(mqtt_options *o, const char *uri, const char *service,
			    const char *instance)
{
	mqtt_options_default(o);
	o->uri = uri;
	o->root = "factory";
	o->service = service;
	o->instance = instance;
	o->metrics_interval_ms = 0;
	o->reconnect_min_s = 1;
	o->reconnect_max_s = 1;
	o->connect_timeout_s = 3;
}

/* A client with its presence (status, will, metrics), as a service has. */
static inline mqtt_client *client_presence_new(const mqtt_options *o, metrics *m,
					       presence **pp)
{
	char err[256] = "";
	mqtt_options po = *o;
	presence *p = presence_new(&po, m, err, sizeof(err));
	mqtt_client *c = p ? mqtt_new(&po, m, err, sizeof(err)) : NULL;
	if (!c)
		fprintf(stderr, "mqtt_new: %s\n", err);
	assert_non_null(c);
	presence_attach(p, c);
	*pp = p;
	return c;
}

static inline mqtt_client *client_new(fixture *f, const mqtt_options *o, metrics *m)
{
	assert_true(f->n_pres < FIXTURE_PRESENCES);
	return client_presence_new(o, m, &f->pres[f->n_pres++]);
}

static inline int64_t metric(metrics *m, const char *name)
{
	return metrics_read(metrics_get(m, name));
}

/* ---- collecting what our client dispatches --------------------------------- */

typedef struct collected {
	harness_msg *v;
	size_t n, cap;
} collected;

static inline int collect(void *ud, const mqtt_message *msg)
{
	collected *col = ud;
	harness_msg *hm;
	if (col->n == col->cap) {
		col->cap = col->cap ? col->cap * 2 : 64;
		col->v = realloc(col->v, col->cap * sizeof(*col->v));
		assert_non_null(col->v);
	}
	hm = &col->v[col->n++];
	hm->topic = strdup(msg->topic);
	hm->payload = malloc(msg->len + 1);
	assert_non_null(hm->topic);
	assert_non_null(hm->payload);
	/* the header promises a NUL after the payload */
	assert_int_equal(((const char *)msg->payload)[msg->len], '\0');
	memcpy(hm->payload, msg->payload, msg->len + 1);
	hm->len = msg->len;
	hm->qos = msg->qos;
	hm->retained = msg->retained;
	return 0;
}

static inline void collected_free(collected *col)
{
	for (size_t i = 0; i < col->n; i++)
		harness_msg_cleanup(&col->v[i]);
	free(col->v);
	memset(col, 0, sizeof(*col));
}

static inline long find_topic(const collected *col, const char *topic)
{
	for (size_t i = 0; i < col->n; i++)
		if (strcmp(col->v[i].topic, topic) == 0)
			return (long)i;
	return -1;
}

/* Run c's loop until topic has been dispatched or the deadline passes. */
static inline long pump_until_topic(mqtt_client *c, collected *col, const char *topic,
				    int ms)
{
	long long deadline = harness_now_ms() + ms;
	long i;
	while ((i = find_topic(col, topic)) < 0 && harness_now_ms() < deadline)
		mqtt_poll(c, 50, collect, col);
	return i;
}

/* Make sure consumer's subscription to probe_topic's filter is in force:
 * publish probes from pub until one is dispatched by consumer. */
static inline void sync_subscription(mqtt_client *consumer, mqtt_client *pub,
				     const char *probe_topic, collected *col)
{
	long long deadline = harness_now_ms() + WAIT_MS;
	while (find_topic(col, probe_topic) < 0) {
		assert_true(harness_now_ms() < deadline);
		assert_int_equal(mqtt_publish(pub, probe_topic, "probe", 5, 1, 0), 0);
		for (int i = 0; i < 4 && find_topic(col, probe_topic) < 0; i++)
			mqtt_poll(consumer, 50, collect, col);
	}
}

/* seq of a raw payload built by raw_payload(), or -1 */
static inline long seq_of(const char *payload)
{
	const char *p = strstr(payload, "\"seq\":");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

static inline int raw_payload(char *out, size_t len, const char *sensor, long seq)
{
	return snprintf(out, len,
			"{\"v\":1,\"sensor\":\"%s\",\"run\":\"6f2a91c0\",\"seq\":%ld,"
			"\"t0\":1764151200.120,\"rate_hz\":50,\"frame0\":52100,"
			"\"channels\":[\"linacc_x\",\"linacc_y\",\"linacc_z\"],"
			"\"samples\":[[0.0011,-0.0088,0.0049],[0.0016,-0.0081,0.0044]]}",
			sensor, seq);
}

#endif
