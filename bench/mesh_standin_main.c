/* mesh-standin — a process that does on the wire what one service of the
 * mesh does, and nothing else: the broker-only ceiling of the mesh's
 * topology for scripts/bench-mesh.sh. With the load generator
 * (bin/scorer-load --mode score) as publisher and meter, three stand-ins
 * make the same flows through the broker as the real mesh:
 *
 *   --role relay   the scorer's place: subscribes {root}/+/raw at QoS 1 in
 *                  a persistent session and publishes, for every window the
 *                  scorer would cut (--window, --hop samples), one
 *                  prediction-sized message on {root}/{sensor}/prediction
 *                  carrying the window's last sample time t (no model, no
 *                  JSON decoding: the few header fields are found by a
 *                  scan), at --qos;
 *   --role sink    the archiver's place (--kinds raw,prediction,alert
 *                  --persistent 1) or the alerter's (--kinds prediction):
 *                  subscribes and counts.
 *
 * On SIGTERM it prints one line "role=... in=... raw=... prediction=...
 * alert=... out=... out_failed=..." and exits 0. */
#include "clock.h"
#include "log.h"
#include "mqtt.h"
#include "signals.h"
#include "svc.h"
#include "topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct standin {
	svc s;
	int relay;
	long window, hop, qos;
	size_t in, by_kind[3], out, out_failed;
} standin;

/* The number after "key": in a JSON payload (NUL-terminated), or -1. */
static double field_num(const char *json, const char *key)
{
	const char *p = strstr(json, key);
	if (!p)
		return -1;
	p += strlen(key);
	return strtod(p, NULL);
}

/* Samples in a raw payload: the rows of "samples" ('[' after it, less one). */
static long count_rows(const char *json)
{
	const char *p = strstr(json, "\"samples\":");
	long n = -1;
	if (!p)
		return 0;
	for (; *p; p++)
		n += *p == '[';
	return n > 0 ? n : 0;
}

static void relay(standin *st, const char *sensor, const char *payload)
{
	double t0 = field_num(payload, "\"t0\":"),
	       hz = field_num(payload, "\"rate_hz\":");
	double f0 = field_num(payload, "\"frame0\":");
	long n = count_rows(payload);
	char out[512];

	if (t0 < 0 || hz <= 0 || f0 < 0)
		return;
	for (long j = 0; j < n; j++) {
		long end = (long)f0 + j + 1; /* samples up to this one */
		int len;
		if (end < st->window || (end - st->window) % st->hop)
			continue;
		/* the fields and size of a real prediction */
		len = snprintf(out, sizeof(out),
			       "{\"v\":1,\"sensor\":\"%s\",\"t\":%.6f,\"t_start\":%.6f,"
			       "\"n\":%ld,\"score\":0.0123456,\"threshold\":0.0456789,"
			       "\"anomaly\":false,\"model\":\"lpms-linacc@1a2b3c4d\","
			       "\"latency_ms\":0.123,\"top\":[[\"linacc_x\",0.512],"
			       "[\"linacc_y\",0.301],[\"linacc_z\",0.187]]}",
			       sensor, t0 + (double)j / hz,
			       t0 + (double)(j + 1 - st->window) / hz, st->window);
		if (mqtt_publish_sensor(st->s.mqtt, sensor, "prediction", out,
					(size_t)len, (int)st->qos, 0))
			st->out_failed++;
		else
			st->out++;
	}
}

static int on_message(void *ud, const mqtt_message *m)
{
	standin *st = ud;
	topic_ref t;
	enum topic_kind k = topic_parse(m->topic, st->s.root, &t);

	st->in++;
	if (k == TOPIC_RAW)
		st->by_kind[0]++;
	else if (k == TOPIC_PREDICTION)
		st->by_kind[1]++;
	else if (k == TOPIC_ALERT)
		st->by_kind[2]++;
	if (st->relay && k == TOPIC_RAW)
		relay(st, t.sensor, m->payload);
	return 0;
}

int main(int argc, char **argv)
{
	standin st;
	char *role = NULL;
	config_list kinds;
	long persistent;
	int rc;
	const config_opt opts[] = {
	    {"role", CONFIG_STR, &role, "sink", 0, -1,
	     "relay (the scorer's place) or sink (the archiver's, the alerter's)", 0, 0},
	    {"kinds", CONFIG_LIST, &kinds, "raw", 0, -1,
	     "sink: the sensor kinds subscribed ({root}/+/KIND, QoS 1)", 0, 0},
	    {"persistent", CONFIG_INT, &persistent, "0", 0, 1,
	     "sink: a persistent session (the archiver's); the relay always has one", 0,
	     0},
	    {"window", CONFIG_INT, &st.window, "200", 1, 100000, "relay: window, samples",
	     0, 0},
	    {"hop", CONFIG_INT, &st.hop, "10", 1, 100000, "relay: hop, samples", 0, 0},
	    {"qos", CONFIG_INT, &st.qos, "0", 0, 1, "relay: QoS of the predictions", 0,
	     0},
	};
	svc_params p = {.name = "mesh-standin",
			.summary = "mesh-standin: the wire side of one mesh service, for "
				   "the broker-only ceiling (scripts/bench-mesh.sh)",
			.opts = opts,
			.n_opts = sizeof(opts) / sizeof(opts[0]),
			.inbox_max = 50000,
			.defer_mqtt = 1};
	mqtt_options o;
	char filter[256];

	memset(&st, 0, sizeof(st));
	rc = svc_init(&st.s, &p, argc, argv);
	if (rc)
		return svc_exit_code(rc);
	st.relay = strcmp(role, "relay") == 0;
	p.persistent = st.relay || persistent;
	svc_mqtt_options(&st.s, &p, &o);
	rc = -1;
	if (svc_connect(&st.s, &o) || svc_watch_inbox(&st.s, on_message, &st))
		goto out;
	for (size_t i = 0; i < (st.relay ? 1 : kinds.n); i++) {
		snprintf(filter, sizeof(filter), "%s/+/%s", st.s.root,
			 st.relay ? "raw" : kinds.items[i]);
		if (mqtt_subscribe(st.s.mqtt, filter, 1))
			goto out;
	}
	rc = loop_run(st.s.loop);
	mqtt_dispatch(st.s.mqtt, on_message, &st, 0);
	printf("role=%s in=%zu raw=%zu prediction=%zu alert=%zu out=%zu out_failed=%zu\n",
	       role, st.in, st.by_kind[0], st.by_kind[1], st.by_kind[2], st.out,
	       st.out_failed);
	fflush(stdout);
out:
	svc_cleanup(&st.s);
	return rc ? 1 : 0;
}
