/* test_mqtt — common/mqtt.c against a real mosquitto (one per test, on a
 * free loopback port): contract payloads round-trip byte for byte, the
 * retained online status and the last will, persistent sessions, offline
 * buffering with counted overflow across a broker restart, a broker that is
 * down at start, the bounded inbox losing nothing, the metrics message, and
 * outbound flow control: QoS 1 bursts (connected, and queued while the
 * broker is down) drain fast and in order against a broker announcing
 * mosquitto's default Receive Maximum of 20.
 *
 * The last-will test needs a client process to SIGKILL: this binary re-execs
 * itself with "--will-child URI" (main() handles that before cmocka), so the
 * child is a fresh process rather than a fork of one running Paho threads.
 * The observer is the harness's raw Paho subscriber, independent of the
 * module under test. */
#include "../harness/harness.h"
#include "metrics.h"
#include "mqtt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS 15000

typedef struct fixture {
	harness_broker broker;
	metrics *m;
} fixture;

static int setup_plain(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f || harness_broker_start(&f->broker, NULL) != 0)
		return -1;
	f->m = metrics_new();
	*state = f;
	return 0;
}

/* Broker persistence: sessions and their queues survive a broker restart. */
static int setup_persist(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f || harness_broker_start(&f->broker, "persistence true\n") != 0)
		return -1;
	f->m = metrics_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f) {
		harness_broker_stop(&f->broker);
		metrics_free(f->m);
		free(f);
	}
	return 0;
}

static void opts_for(mqtt_options *o, const char *uri, const char *service,
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

static mqtt_client *client_new(const mqtt_options *o, metrics *m)
{
	char err[256] = "";
	mqtt_client *c = mqtt_new(o, m, err, sizeof(err));
	if (!c)
		fprintf(stderr, "mqtt_new: %s\n", err);
	assert_non_null(c);
	return c;
}

static int64_t metric(metrics *m, const char *name)
{
	return metrics_read(metrics_get(m, name));
}

/* ---- collecting what our client dispatches --------------------------------- */

typedef struct collected {
	harness_msg *v;
	size_t n, cap;
} collected;

static int collect(void *ud, const mqtt_message *msg)
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

static void collected_free(collected *col)
{
	for (size_t i = 0; i < col->n; i++)
		harness_msg_cleanup(&col->v[i]);
	free(col->v);
	memset(col, 0, sizeof(*col));
}

static long find_topic(const collected *col, const char *topic)
{
	for (size_t i = 0; i < col->n; i++)
		if (strcmp(col->v[i].topic, topic) == 0)
			return (long)i;
	return -1;
}

/* Run c's loop until topic has been dispatched or the deadline passes. */
static long pump_until_topic(mqtt_client *c, collected *col, const char *topic, int ms)
{
	long long deadline = harness_now_ms() + ms;
	long i;
	while ((i = find_topic(col, topic)) < 0 && harness_now_ms() < deadline)
		mqtt_poll(c, 50, collect, col);
	return i;
}

/* Make sure consumer's subscription to probe_topic's filter is in force:
 * publish probes from pub until one is dispatched by consumer. */
static void sync_subscription(mqtt_client *consumer, mqtt_client *pub,
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
static long seq_of(const char *payload)
{
	const char *p = strstr(payload, "\"seq\":");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

static int raw_payload(char *out, size_t len, const char *sensor, long seq)
{
	return snprintf(out, len,
			"{\"v\":1,\"sensor\":\"%s\",\"run\":\"6f2a91c0\",\"seq\":%ld,"
			"\"t0\":1764151200.120,\"rate_hz\":50,\"frame0\":52100,"
			"\"channels\":[\"linacc_x\",\"linacc_y\",\"linacc_z\"],"
			"\"samples\":[[0.0011,-0.0088,0.0049],[0.0016,-0.0081,0.0044]]}",
			sensor, seq);
}

/* ---- 1. contract messages round-trip --------------------------------------- */

static void test_roundtrip(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	harness_sub *sub = harness_sub_new(f->broker.uri, "factory/#", NULL, 0);
	mqtt_client *pub, *cons;
	metrics *m2 = metrics_new();
	collected col = {0};
	char raw[1024];
	const char *pred =
	    "{\"v\":1,\"sensor\":\"arm1-lpms\",\"t\":1764151204.120,"
	    "\"t_start\":1764151200.140,\"n\":200,\"score\":0.0123,"
	    "\"threshold\":0.0158,\"anomaly\":false,\"model\":\"lpms-linacc@3\","
	    "\"latency_ms\":0.41,\"note\":\"caf\xc3\xa9 \\u00b0C\"}";
	harness_msg got;
	long i;
	int rawlen = raw_payload(raw, sizeof(raw), "arm1-lpms", 1042);

	assert_non_null(sub);
	opts_for(&o, f->broker.uri, "itpub", "p1");
	pub = client_new(&o, f->m);
	opts_for(&o, f->broker.uri, "itcons", "c1");
	cons = client_new(&o, m2);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS), 0);
	assert_int_equal(mqtt_wait_connected(cons, WAIT_MS), 0);
	assert_int_equal(mqtt_subscribe(cons, "factory/+/prediction", 1), 0);
	sync_subscription(cons, pub, "factory/probe/prediction", &col);

	/* our client -> independent subscriber */
	assert_int_equal(
	    mqtt_publish_sensor(pub, "arm1-lpms", "raw", raw, (size_t)rawlen, 1, 0), 0);
	i = harness_sub_wait_topic(sub, "factory/arm1-lpms/raw", NULL, WAIT_MS);
	assert_true(i >= 0);
	assert_int_equal(harness_sub_get(sub, (size_t)i, &got), 0);
	assert_int_equal(got.len, (size_t)rawlen);
	assert_memory_equal(got.payload, raw, (size_t)rawlen);
	assert_int_equal(got.qos, 1);
	harness_msg_cleanup(&got);

	/* our client -> our client, through the inbox */
	assert_int_equal(
	    mqtt_publish_sensor(pub, "arm1-lpms", "prediction", pred, strlen(pred), 1, 0),
	    0);
	i = pump_until_topic(cons, &col, "factory/arm1-lpms/prediction", WAIT_MS);
	assert_true(i >= 0);
	assert_int_equal(col.v[i].len, strlen(pred));
	assert_memory_equal(col.v[i].payload, pred, strlen(pred));
	assert_int_equal(col.v[i].qos, 1);
	assert_int_equal(col.v[i].retained, 0);
	assert_true(metric(m2, "msgs_in") >= 2);
	assert_true(metric(f->m, "msgs_out") >= 2);

	/* refused at the edge: not a contract sensor id, wildcards */
	assert_int_equal(mqtt_publish_sensor(pub, "bad/sensor", "raw", "{}", 2, 1, 0),
			 AM_EINVAL);
	assert_int_equal(mqtt_publish_sensor(pub, "a+b", "raw", "{}", 2, 1, 0),
			 AM_EINVAL);
	assert_int_equal(mqtt_publish(pub, "factory/#", "{}", 2, 1, 0), AM_EINVAL);
	/* not UTF-8 (a queued message could not report Paho's refusal later):
	 * a stray byte, an overlong '/', a surrogate */
	assert_int_equal(mqtt_publish(pub, "factory/\xff/raw", "{}", 2, 1, 0), AM_EINVAL);
	assert_int_equal(mqtt_publish(pub, "factory/\xc0\xaf/raw", "{}", 2, 1, 0),
			 AM_EINVAL);
	assert_int_equal(mqtt_publish(pub, "factory/\xed\xa0\x80/raw", "{}", 2, 1, 0),
			 AM_EINVAL);
	assert_int_equal(mqtt_publish(pub, "factory/caf\xc3\xa9/raw", "{}", 2, 1, 0), 0);

	mqtt_free(cons);
	mqtt_free(pub);
	collected_free(&col);
	harness_sub_free(sub);
	metrics_free(m2);
}

/* ---- 2. retained status --------------------------------------------------- */

static cJSON *status_json(harness_sub *s, long i, int *retained)
{
	harness_msg got;
	cJSON *j;
	assert_int_equal(harness_sub_get(s, (size_t)i, &got), 0);
	j = cJSON_Parse(got.payload);
	*retained = got.retained;
	harness_msg_cleanup(&got);
	assert_non_null(j);
	return j;
}

static void test_status_retained(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/_svc/itstat/i1/status";
	mqtt_options o;
	mqtt_client *c;
	harness_sub *early, *late, *later;
	cJSON *j;
	int retained = 0;
	long i;

	opts_for(&o, f->broker.uri, "itstat", "i1");
	c = client_new(&o, f->m);
	assert_string_equal(mqtt_svc_prefix(c), "factory/_svc/itstat/i1");
	assert_string_equal(mqtt_root(c), "factory");
	assert_int_equal(mqtt_wait_connected(c, WAIT_MS), 0);
	assert_int_equal(mqtt_is_connected(c), 1);

	/* once anyone has seen it, the broker holds it... */
	early = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(early);
	assert_true(harness_sub_wait_topic(early, topic, "\"online\"", WAIT_MS) >= 0);
	/* ...so a subscriber arriving later gets it, flagged retained */
	late = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(late);
	i = harness_sub_wait_topic(late, topic, "\"online\"", WAIT_MS);
	assert_true(i >= 0);
	j = status_json(late, i, &retained);
	assert_int_equal(retained, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "v")->valuedouble, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "service")),
			    "itstat");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "instance")),
			    "i1");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")),
			    "online");
	assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "pid")),
			 (int)getpid());
	assert_true(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "t")) -
			 (double)time(NULL)) < 120);
	cJSON_Delete(j);

	/* an orderly shutdown replaces it with a retained "offline" */
	assert_int_equal(mqtt_shutdown(c, 5000), 0);
	assert_int_equal(mqtt_is_connected(c), 0);
	assert_true(harness_sub_wait_topic(late, topic, "\"offline\"", WAIT_MS) >= 0);
	later = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(later);
	i = harness_sub_wait_topic(later, topic, NULL, WAIT_MS);
	assert_true(i >= 0);
	j = status_json(later, i, &retained);
	assert_int_equal(retained, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")),
			    "offline");
	cJSON_Delete(j);
	assert_int_equal(mqtt_publish(c, "factory/x/raw", "{}", 2, 1, 0), AM_ESTOPPED);

	mqtt_free(c);
	harness_sub_free(early);
	harness_sub_free(late);
	harness_sub_free(later);
}

/* ---- 3. last will on SIGKILL ------------------------------------------------ */

/* The child: connect, then wait to be killed. */
static int will_child(const char *uri)
{
	mqtt_options o;
	char err[256];
	metrics *m = metrics_new();
	mqtt_client *c;

	opts_for(&o, uri, "itwill", "child");
	c = mqtt_new(&o, m, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "will child: %s\n", err);
		return 2;
	}
	if (mqtt_wait_connected(c, WAIT_MS) != 0) {
		fprintf(stderr, "will child: not connected\n");
		return 3;
	}
	for (;;)
		mqtt_poll(c, 1000, NULL, NULL);
}

static void test_last_will(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/_svc/itwill/child/status";
	char self[4096], logp[4096], pidtxt[64];
	const char *argv[4];
	harness_sub *sub, *late;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;
	int st, retained = 0;
	long i;
	cJSON *j;

	assert_true(n > 0);
	self[n] = '\0';
	sub = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(sub);
	argv[0] = self;
	argv[1] = "--will-child";
	argv[2] = f->broker.uri;
	argv[3] = NULL;
	pid = harness_spawn(argv, NULL, logp, sizeof(logp));
	assert_true(pid > 0);
	snprintf(pidtxt, sizeof(pidtxt), "\"pid\":%d,", (int)pid);
	i = harness_sub_wait_topic(sub, topic, pidtxt, WAIT_MS);
	if (i < 0)
		fprintf(stderr, "child never came online, see %s\n", logp);
	assert_true(i >= 0);

	st = harness_kill9(pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* the broker sees the socket close without DISCONNECT: the will */
	assert_true(harness_sub_wait_topic(sub, topic, "\"offline\"", WAIT_MS) >= 0);
	late = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(late);
	i = harness_sub_wait_topic(late, topic, NULL, WAIT_MS);
	assert_true(i >= 0);
	j = status_json(late, i, &retained);
	assert_int_equal(retained, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")),
			    "offline");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "service")),
			    "itwill");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "instance")),
			    "child");
	cJSON_Delete(j);
	harness_sub_free(sub);
	harness_sub_free(late);
}

/* ---- 4. persistent session ------------------------------------------------ */

#define N_PERSIST 200

static void test_persistent_session(void **state)
{
	fixture *f = *state;
	mqtt_options o, oc;
	mqtt_client *pub, *cons;
	metrics *mc = metrics_new();
	collected col = {0};
	char raw[1024];
	unsigned char seen[N_PERSIST] = {0};
	size_t distinct = 0;
	long long deadline;

	opts_for(&o, f->broker.uri, "itpub", "p4");
	pub = client_new(&o, f->m);
	opts_for(&oc, f->broker.uri, "itcons", "c4");
	oc.persistent = 1;
	oc.client_id = "it-archiver-c4";
	cons = client_new(&oc, mc);
	assert_int_equal(mqtt_wait_connected(cons, WAIT_MS), 0);
	assert_int_equal(mqtt_subscribe(cons, "factory/+/raw", 1), 0);
	sync_subscription(cons, pub, "factory/probe/raw", &col);
	mqtt_free(cons); /* clean disconnect: the session stays on the broker */
	collected_free(&col);

	for (long s = 0; s < N_PERSIST; s++) {
		int len = raw_payload(raw, sizeof(raw), "s4", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s4", "raw", raw, (size_t)len, 1, 0), 0);
	}
	/* every QoS 1 publish acknowledged by the broker, hence queued there */
	assert_int_equal(mqtt_shutdown(pub, WAIT_MS), 0);

	cons = client_new(&oc, mc);
	assert_int_equal(mqtt_subscribe(cons, "factory/+/raw", 1), 0);
	deadline = harness_now_ms() + WAIT_MS;
	while (distinct < N_PERSIST && harness_now_ms() < deadline) {
		size_t before = col.n;
		mqtt_poll(cons, 50, collect, &col);
		for (size_t i = before; i < col.n; i++) {
			long s = seq_of(col.v[i].payload);
			if (strcmp(col.v[i].topic, "factory/s4/raw") != 0)
				continue;
			assert_true(s >= 0 && s < N_PERSIST);
			if (!seen[s]++)
				distinct++;
		}
	}
	assert_int_equal(distinct, N_PERSIST);

	mqtt_free(cons);
	mqtt_free(pub);
	collected_free(&col);
	metrics_free(mc);
}

/* ---- 5. offline buffer across a broker restart ------------------------------ */

typedef struct seq_query {
	const char *topic;
	long n;
} seq_query;

/* all of seq 0..n-1 present on topic, nothing else on it */
static int seqs_complete(const harness_msg *msgs, size_t n, void *ud)
{
	seq_query *q = ud;
	unsigned char seen[256] = {0};
	long distinct = 0;
	for (size_t i = 0; i < n; i++) {
		long s;
		if (strcmp(msgs[i].topic, q->topic) != 0)
			continue;
		s = seq_of(msgs[i].payload);
		if (s < 0 || s >= q->n || s >= 256)
			return 0; /* unexpected message: never satisfied */
		if (!seen[s]++)
			distinct++;
	}
	return distinct == q->n;
}

static void test_buffer_across_restart(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	mqtt_client *pub;
	harness_sub *sub = harness_sub_new(f->broker.uri, "factory/#", "it-sub5", 1);
	seq_query q = {"factory/s5/raw", 50};
	char raw[1024];
	int ok = 0, over = 0;
	long long deadline;

	assert_non_null(sub);
	opts_for(&o, f->broker.uri, "itpub", "p5");
	o.max_buffered = 50;
	pub = client_new(&o, f->m);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS), 0);
	assert_true(harness_sub_wait_topic(sub, "factory/_svc/itpub/p5/status", "online",
					   WAIT_MS) >= 0);

	assert_int_equal(harness_broker_down(&f->broker), 0);
	deadline = harness_now_ms() + WAIT_MS;
	while (mqtt_is_connected(pub) && harness_now_ms() < deadline)
		harness_nap_ms(10);
	assert_int_equal(mqtt_is_connected(pub), 0);
	assert_int_equal(metric(f->m, "connected"), 0);

	for (long s = 0; s < 80; s++) {
		int len = raw_payload(raw, sizeof(raw), "s5", s);
		int rc = mqtt_publish_sensor(pub, "s5", "raw", raw, (size_t)len, 1, 0);
		if (rc == 0)
			ok++;
		else if (rc == AM_EOVERFLOW)
			over++;
	}
	assert_int_equal(ok, 50);
	assert_int_equal(over, 30);
	assert_int_equal(metric(f->m, "overflow_dropped"), 30);
	harness_sub_clear(sub);

	assert_int_equal(harness_broker_up(&f->broker), 0);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS * 2), 0);
	assert_int_equal(metric(f->m, "reconnects"), 1);
	assert_int_equal(metric(f->m, "connected"), 1);
	/* the first 50, and only those, arrive (sub's session survived too) */
	assert_int_equal(harness_sub_wait(sub, seqs_complete, &q, 0, WAIT_MS * 2), 0);
	/* and the client announced itself again after the reconnect */
	assert_true(harness_sub_wait_topic(sub, "factory/_svc/itpub/p5/status", "online",
					   WAIT_MS) >= 0);

	mqtt_free(pub);
	harness_sub_free(sub);
}

/* ---- 5b. broker down when the client starts --------------------------------- */

static void test_broker_down_at_start(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	mqtt_client *pub;
	harness_sub *sub = harness_sub_new(f->broker.uri, "factory/s8/raw", "it-sub8", 1);
	seq_query q = {"factory/s8/raw", 5};
	char raw[1024];

	assert_non_null(sub);
	assert_int_equal(harness_broker_down(&f->broker), 0);

	opts_for(&o, f->broker.uri, "itpub", "p8");
	pub = client_new(&o, f->m); /* succeeds with nobody listening */
	for (long s = 0; s < 5; s++) {
		int len = raw_payload(raw, sizeof(raw), "s8", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s8", "raw", raw, (size_t)len, 1, 0), 0);
	}
	assert_int_equal(mqtt_is_connected(pub), 0);
	assert_int_equal(mqtt_wait_connected(pub, 200), AM_ETIMEOUT);

	assert_int_equal(harness_broker_up(&f->broker), 0);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS * 2), 0);
	assert_int_equal(metric(f->m, "reconnects"),
			 0); /* first connect is no reconnect */
	assert_int_equal(harness_sub_wait(sub, seqs_complete, &q, 0, WAIT_MS * 2), 0);

	mqtt_free(pub);
	harness_sub_free(sub);
}

/* ---- 6. metrics ---------------------------------------------------------------- */

static void test_metrics_message(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/_svc/itmet/m1/metrics";
	const char *keys[] = {"msgs_in",          "msgs_out",   "malformed_dropped",
			      "overflow_dropped", "inbox_full", "reconnects",
			      "connected",        "t",          "windows_scored"};
	mqtt_options o;
	mqtt_client *c;
	harness_sub *sub = harness_sub_new(f->broker.uri, topic, NULL, 0);
	long long deadline;
	harness_msg got;
	cJSON *j;
	long i = -1;

	assert_non_null(sub);
	metrics_set(metrics_get(f->m, "windows_scored"), 7); /* a service's own counter */
	opts_for(&o, f->broker.uri, "itmet", "m1");
	o.metrics_interval_ms = 200;
	c = client_new(&o, f->m);
	assert_int_equal(mqtt_wait_connected(c, WAIT_MS), 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(mqtt_publish(c, "factory/m6/raw", "{}", 2, 1, 0), 0);
	mqtt_count_malformed(c);
	mqtt_count_malformed(c);

	deadline = harness_now_ms() + WAIT_MS;
	while (harness_now_ms() < deadline &&
	       (i = harness_sub_wait_topic(sub, topic, "\"malformed_dropped\":2", 0)) < 0)
		mqtt_poll(c, 50, NULL, NULL);
	assert_true(i >= 0);
	assert_int_equal(harness_sub_get(sub, (size_t)i, &got), 0);
	j = cJSON_Parse(got.payload);
	assert_non_null(j);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!cJSON_IsNumber(cJSON_GetObjectItem(j, keys[k])))
			fprintf(stderr, "missing %s in %s\n", keys[k], got.payload);
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, keys[k])));
	}
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "msgs_out")), 3);
	assert_int_equal(
	    cJSON_GetNumberValue(cJSON_GetObjectItem(j, "malformed_dropped")), 2);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "overflow_dropped")),
			 0);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "connected")), 1);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "windows_scored")),
			 7);
	assert_true(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "t")) -
			 (double)time(NULL)) < 120);
	cJSON_Delete(j);
	harness_msg_cleanup(&got);

	/* periodic: another one follows */
	deadline = harness_now_ms() + WAIT_MS;
	while (harness_sub_count(sub) < 2 && harness_now_ms() < deadline)
		mqtt_poll(c, 50, NULL, NULL);
	assert_true(harness_sub_count(sub) >= 2);

	mqtt_free(c);
	harness_sub_free(sub);
}

/* ---- 7. a full inbox loses nothing ----------------------------------------------- */

#define N_INBOX 100

static void test_inbox_full_no_loss(void **state)
{
	fixture *f = *state;
	mqtt_options o, oc;
	mqtt_client *pub, *cons;
	metrics *mc = metrics_new();
	collected col = {0};
	struct pollfd p;
	char raw[1024];
	long next = 0;
	long long deadline;

	opts_for(&o, f->broker.uri, "itpub", "p7");
	pub = client_new(&o, f->m);
	opts_for(&oc, f->broker.uri, "itcons", "c7");
	oc.inbox_max = 4;
	cons = client_new(&oc, mc);
	assert_int_equal(mqtt_wait_connected(cons, WAIT_MS), 0);
	assert_int_equal(mqtt_subscribe(cons, "factory/+/raw", 1), 0);
	sync_subscription(cons, pub, "factory/probe/raw", &col);
	collected_free(&col);

	for (long s = 0; s < N_INBOX; s++) {
		int len = raw_payload(raw, sizeof(raw), "s7", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s7", "raw", raw, (size_t)len, 1, 0), 0);
	}
	/* nobody dispatches: the inbox fills up and Paho is told to hold on */
	deadline = harness_now_ms() + WAIT_MS;
	while (metric(mc, "inbox_full") == 0 && harness_now_ms() < deadline)
		harness_nap_ms(10);
	assert_true(metric(mc, "inbox_full") > 0);
	p.fd = mqtt_fd(cons);
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 0), 1);

	/* ...and every message comes out, in order */
	deadline = harness_now_ms() + WAIT_MS * 2;
	while (next < N_INBOX && harness_now_ms() < deadline) {
		size_t before = col.n;
		mqtt_poll(cons, 50, collect, &col);
		for (size_t i = before; i < col.n; i++) {
			if (strcmp(col.v[i].topic, "factory/s7/raw") != 0)
				continue;
			assert_int_equal(seq_of(col.v[i].payload), next);
			next++;
		}
	}
	assert_int_equal(next, N_INBOX);
	assert_int_equal(poll(&p, 1, 0), 0); /* empty inbox: fd not readable */

	mqtt_free(cons);
	mqtt_free(pub);
	collected_free(&col);
	metrics_free(mc);
}

/* ---- 8. flow control: QoS 1 bursts at the broker's Receive Maximum ------------- */

#define N_BURST 2000
#define BURST_MS 10000 /* Paho alone: ~N_BURST / 20 s against these brokers */

/* Both brokers below keep mosquitto's default max_inflight_messages (20),
 * which mosquitto announces to v5 clients as Receive Maximum: the limit the
 * flow control is for. max_queued_messages is raised only so that the
 * broker itself never drops what it queues for the (independent) subscriber
 * while that one catches up or reconnects: a loss there would not be ours. */
static int setup_burst(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f || harness_broker_start(&f->broker, "max_queued_messages 100000\n") != 0)
		return -1;
	f->m = metrics_new();
	*state = f;
	return 0;
}

static int setup_burst_persist(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f || harness_broker_start(&f->broker, "persistence true\n"
						   "max_queued_messages 100000\n") != 0)
		return -1;
	f->m = metrics_new();
	*state = f;
	return 0;
}

/* The broker's config must not lift the Receive Maximum. */
static void assert_default_inflight(const harness_broker *b)
{
	FILE *fp = fopen(b->conf, "r");
	char line[512];
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		assert_null(strstr(line, "max_inflight_messages"));
	fclose(fp);
}

typedef struct count_query {
	const char *topic;
	size_t n;
} count_query;

/* at least q->n messages on q->topic */
static int topic_count_reached(const harness_msg *msgs, size_t n, void *ud)
{
	count_query *q = ud;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(msgs[i].topic, q->topic) == 0)
			k++;
	return k >= q->n;
}

typedef struct seq_stats {
	size_t total, unique, out_of_order;
} seq_stats;

/* What sub received on topic, as seq numbers 0..n-1: how many, how many
 * distinct, and how many first occurrences came after a higher seq. */
static seq_stats seq_scan(harness_sub *sub, const char *topic, long n)
{
	seq_stats st = {0, 0, 0};
	unsigned char *seen = calloc((size_t)n, 1);
	size_t count = harness_sub_count(sub);
	long high = -1;
	assert_non_null(seen);
	for (size_t i = 0; i < count; i++) {
		harness_msg m;
		long s;
		assert_int_equal(harness_sub_get(sub, i, &m), 0);
		if (strcmp(m.topic, topic) == 0) {
			s = seq_of(m.payload);
			assert_true(s >= 0 && s < n);
			st.total++;
			if (!seen[s]++) {
				st.unique++;
				if (s < high)
					st.out_of_order++;
				high = s;
			}
		}
		harness_msg_cleanup(&m);
	}
	free(seen);
	return st;
}

/* A burst of QoS 1 publishes while connected arrives whole, in order and
 * fast: Paho alone would stall 1 s per Receive Maximum of messages. */
static void test_burst_flow_control(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/s9/raw";
	count_query q = {topic, N_BURST};
	mqtt_options o;
	mqtt_client *pub;
	harness_sub *sub;
	char raw[1024];
	long long t0;
	seq_stats st;
	int rc;

	assert_default_inflight(&f->broker);
	sub = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(sub);
	opts_for(&o, f->broker.uri, "itpub", "p9");
	pub = client_new(&o, f->m);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS), 0);

	t0 = harness_now_ms();
	for (long s = 0; s < N_BURST; s++) {
		int len = raw_payload(raw, sizeof(raw), "s9", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s9", "raw", raw, (size_t)len, 1, 0), 0);
	}
	rc = harness_sub_wait(sub, topic_count_reached, &q, 0, BURST_MS);
	if (rc != 0)
		fprintf(stderr, "burst: %zu of %d arrived in %d ms\n",
			harness_sub_count(sub), N_BURST, BURST_MS);
	assert_int_equal(rc, 0);
	fprintf(stderr, "burst: %d QoS 1 messages arrived in %lld ms\n", N_BURST,
		harness_now_ms() - t0);
	st = seq_scan(sub, topic, N_BURST);
	assert_int_equal(st.unique, N_BURST);
	assert_int_equal(st.total, N_BURST); /* no reconnect: no redelivery */
	assert_int_equal(st.out_of_order, 0);
	assert_int_equal(metric(f->m, "overflow_dropped"), 0);
	assert_int_equal(mqtt_shutdown(pub, WAIT_MS), 0);
	assert_int_equal(metric(f->m, "outbound_queued"), 0);

	mqtt_free(pub);
	harness_sub_free(sub);
}

/* A burst published while the broker is down waits in our queue (none of it
 * handed to Paho) and drains after the restart, fast and in order. */
static void test_burst_after_restart(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/s10/raw";
	count_query q = {topic, N_BURST};
	mqtt_options o;
	mqtt_client *pub;
	harness_sub *sub;
	char raw[1024];
	long long deadline, t0;
	seq_stats st;
	int rc;

	assert_default_inflight(&f->broker);
	sub = harness_sub_new(f->broker.uri, topic, "it-sub10", 1);
	assert_non_null(sub);
	opts_for(&o, f->broker.uri, "itpub", "p10");
	o.max_buffered = N_BURST;
	pub = client_new(&o, f->m);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS), 0);

	assert_int_equal(harness_broker_down(&f->broker), 0);
	deadline = harness_now_ms() + WAIT_MS;
	while (mqtt_is_connected(pub) && harness_now_ms() < deadline)
		harness_nap_ms(10);
	assert_int_equal(mqtt_is_connected(pub), 0);
	for (long s = 0; s < N_BURST; s++) {
		int len = raw_payload(raw, sizeof(raw), "s10", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s10", "raw", raw, (size_t)len, 1, 0), 0);
	}
	assert_int_equal(metric(f->m, "outbound_queued"), N_BURST);
	/* max_buffered counts the queue: one more is refused and counted */
	assert_int_equal(mqtt_publish_sensor(pub, "s10", "raw", "{}", 2, 1, 0),
			 AM_EOVERFLOW);
	assert_int_equal(metric(f->m, "overflow_dropped"), 1);

	assert_int_equal(harness_broker_up(&f->broker), 0);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS * 2), 0);
	/* within the bound: all handed to Paho, then all acknowledged by the
	 * broker (mqtt_shutdown waits for both) */
	t0 = harness_now_ms();
	while (metric(f->m, "outbound_queued") > 0 && harness_now_ms() - t0 < BURST_MS)
		harness_nap_ms(5);
	assert_int_equal(metric(f->m, "outbound_queued"), 0);
	rc = mqtt_shutdown(pub, (int)(BURST_MS - (harness_now_ms() - t0)));
	assert_int_equal(rc, 0);
	fprintf(stderr, "restart burst: %d QoS 1 messages acknowledged in %lld ms\n",
		N_BURST, harness_now_ms() - t0);
	assert_int_equal(metric(f->m, "reconnects"), 1);

	/* the subscriber (reconnecting at its own pace) gets them all, in order */
	rc = harness_sub_wait(sub, topic_count_reached, &q, 0, WAIT_MS * 2);
	if (rc != 0)
		fprintf(stderr, "restart burst: %zu of %d arrived\n",
			harness_sub_count(sub), N_BURST);
	assert_int_equal(rc, 0);
	st = seq_scan(sub, topic, N_BURST);
	assert_int_equal(st.unique, N_BURST);
	assert_int_equal(st.out_of_order, 0);
	/* one reconnect, before anything was handed to Paho: nothing was in
	 * flight across a disconnect, so no QoS 1 redelivery explains a
	 * duplicate */
	assert_int_equal(st.total, N_BURST);

	mqtt_free(pub);
	harness_sub_free(sub);
}

/* Several threads publishing bursts at once: none is lost or doubled and
 * each thread's messages keep their order (one thread at a time hands the
 * queue to Paho). A smoke test for the order: two threads handing over at
 * once would reorder only within a window of a few instructions, which a
 * run may not hit. */
#define N_THREADS 4
#define N_PER_THREAD 500

typedef struct burst_thread {
	mqtt_client *c;
	char sensor[16];
	int failed; /* publishes not accepted (asserted in the main thread) */
} burst_thread;

static void *burst_thread_run(void *ud)
{
	burst_thread *bt = ud;
	char raw[1024];
	for (long s = 0; s < N_PER_THREAD; s++) {
		int len = raw_payload(raw, sizeof(raw), bt->sensor, s);
		if (mqtt_publish_sensor(bt->c, bt->sensor, "raw", raw, (size_t)len, 1,
					0) != 0)
			bt->failed++;
	}
	return NULL;
}

static void test_burst_threads(void **state)
{
	fixture *f = *state;
	burst_thread bt[N_THREADS];
	pthread_t th[N_THREADS];
	mqtt_options o;
	mqtt_client *pub;
	harness_sub *sub;
	char topic[64];
	int rc;

	sub = harness_sub_new(f->broker.uri, "factory/+/raw", NULL, 0);
	assert_non_null(sub);
	opts_for(&o, f->broker.uri, "itpub", "p11");
	pub = client_new(&o, f->m);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS), 0);
	for (int k = 0; k < N_THREADS; k++) {
		bt[k].c = pub;
		bt[k].failed = 0;
		snprintf(bt[k].sensor, sizeof(bt[k].sensor), "t%d", k);
		assert_int_equal(pthread_create(&th[k], NULL, burst_thread_run, &bt[k]),
				 0);
	}
	for (int k = 0; k < N_THREADS; k++) {
		assert_int_equal(pthread_join(th[k], NULL), 0);
		assert_int_equal(bt[k].failed, 0);
	}
	assert_int_equal(mqtt_shutdown(pub, BURST_MS), 0);

	for (int k = 0; k < N_THREADS; k++) {
		count_query qk;
		seq_stats st;
		snprintf(topic, sizeof(topic), "factory/t%d/raw", k);
		qk.topic = topic;
		qk.n = N_PER_THREAD;
		rc = harness_sub_wait(sub, topic_count_reached, &qk, 0, WAIT_MS);
		assert_int_equal(rc, 0);
		st = seq_scan(sub, topic, N_PER_THREAD);
		assert_int_equal(st.unique, N_PER_THREAD);
		assert_int_equal(st.total, N_PER_THREAD);
		assert_int_equal(st.out_of_order, 0);
	}
	assert_int_equal(metric(f->m, "msgs_out"), N_THREADS * N_PER_THREAD);

	mqtt_free(pub);
	harness_sub_free(sub);
}

/* ---- options ------------------------------------------------------------------- */

static void test_bad_options(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	char err[256];

	opts_for(&o, NULL, "x", "y");
	err[0] = '\0';
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	assert_true(err[0] != '\0');
	opts_for(&o, f->broker.uri, "x", "y");
	o.root = "fac+tory";
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	opts_for(&o, f->broker.uri, "x/y", "y");
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	opts_for(&o, f->broker.uri, "x", "y");
	o.max_buffered = 0;
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	opts_for(&o, "nonsense://127.0.0.1:1", "x", "y");
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	mqtt_free(NULL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_options, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_status_retained, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_last_will, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_persistent_session, setup_plain,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_across_restart, setup_persist,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_broker_down_at_start, setup_persist,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_message, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_inbox_full_no_loss, setup_plain,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_burst_flow_control, setup_burst,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_burst_after_restart, setup_burst_persist,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_burst_threads, setup_burst, teardown),
	};
	if (argc == 3 && strcmp(argv[1], "--will-child") == 0)
		return will_child(argv[2]);
	return cmocka_run_group_tests_name("mqtt (integration)", tests, NULL, NULL);
}
