/* test_alerter — the real bin/alerter against a real mosquitto (one broker
 * for the file, a topic root per test): synthetic predictions published on
 * {root}/m1/prediction, states and alerts observed by the harness's own
 * subscriber.
 *  - sustained anomalies -> FAILURE within the evidence window, back to OK
 *    after; isolated anomalous windows never alert; a new sensor publishes
 *    nothing before the minimum evidence; an ack shows "acked":true;
 *  - a webhook to an HTTP server in this process: retried while the server
 *    is down, state messages still prompt meanwhile, delivered once it is up;
 *  - a silent sensor goes STALE and recovers;
 *  - a restart mid-failure: no duplicate alert, the retained state right,
 *    the old alert still ackable;
 *  - messages the broker drops (a subscriber's queue full) reported as the
 *    broker_dropped metric and a warning;
 *  - malformed messages counted once each (malformed_dropped; a
 *    prediction's also in predictions_bad) and logged.
 * Label times are synthetic (0.2 s apart, published in bursts): the state
 * logic runs on label time, staleness on arrival time. Processing is
 * confirmed through the alerter's metrics message, never by sleeping. */
#include "../harness/harness.h"
#include "test_alerter_httpd.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#define WAIT_MS 15000
#define STEP 0.2

typedef struct fixture {
	harness_broker broker;
} fixture;

static fixture F;

typedef struct ctx ctx;
static void wait_metric(ctx *c, const char *name, long long want);

struct ctx {
	harness_broker *b; /* F.broker unless a test brings its own */
	const char *root;
	harness_sub *sub; /* {root}/# */
	pid_t alerter;
	char log[512];
	double t;  /* label time of the last prediction published */
	long sent; /* predictions published to the running alerter */
};

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return harness_broker_start(&F.broker, NULL);
}

static int teardown(void **state)
{
	(void)state;
	harness_broker_stop(&F.broker);
	return 0;
}

static void topic_of(char *out, size_t cap, const ctx *c, const char *sensor,
		     const char *kind)
{
	snprintf(out, cap, "%s/%s/%s", c->root, sensor, kind);
}

/* Start bin/alerter for c->root with extra options (NULL-ended) and wait
 * for its retained "online" status. */
static void alerter_start(ctx *c, const char *const extra[])
{
	const char *argv[40];
	size_t n = 0;
	char status[128];

	argv[n++] = harness_bin("alerter");
	argv[n++] = "--broker";
	argv[n++] = c->b->uri;
	argv[n++] = "--root";
	argv[n++] = c->root;
	argv[n++] = "--instance";
	argv[n++] = "itest";
	argv[n++] = "--restore-ms";
	argv[n++] = "300";
	argv[n++] = "--metrics-interval";
	argv[n++] = "100";
	for (size_t i = 0; extra && extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	c->sent = 0;
	c->alerter = harness_spawn(argv, NULL, c->log, sizeof(c->log));
	assert_true(c->alerter > 0);
	snprintf(status, sizeof(status), "%s/_svc/alerter/itest/status", c->root);
	if (harness_sub_wait_topic(c->sub, status, "\"online\"", WAIT_MS) < 0)
		fail_msg("alerter did not come online; log: %s", c->log);
	wait_metric(c, "ready", 1); /* retained states collected */
}

static void alerter_stop(ctx *c)
{
	int st = harness_stop(c->alerter, SIGTERM, 10000);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	c->alerter = 0;
}

/* Start the alerter for root on broker b, with its subscriber. */
static void ctx_init_on(ctx *c, harness_broker *b, const char *root,
			const char *const extra[])
{
	char filter[64];

	memset(c, 0, sizeof(*c));
	c->b = b;
	c->root = root;
	c->t = 1764151200.0;
	snprintf(filter, sizeof(filter), "%s/#", root);
	c->sub = harness_sub_new(b->uri, filter, NULL, 0);
	assert_non_null(c->sub);
	alerter_start(c, extra);
}

static void ctx_init(ctx *c, const char *root, const char *const extra[])
{
	ctx_init_on(c, &F.broker, root, extra);
}

static void ctx_cleanup(ctx *c)
{
	if (c->alerter > 0)
		alerter_stop(c);
	harness_sub_free(c->sub);
}

/* A publisher independent of the code under test: mosquitto_pub -l sends
 * each line of its stdin as one QoS 1 message to topic; pclose() waits for
 * it to finish (all acknowledged) and reaps it. */
static FILE *pub_open(const ctx *c, const char *sensor, const char *kind)
{
	char cmd[256];
	FILE *f;
	snprintf(cmd, sizeof(cmd),
		 "exec mosquitto_pub -h 127.0.0.1 -p %d -q 1 -l -t %s/%s/%s", c->b->port,
		 c->root, sensor, kind);
	f = popen(cmd, "w");
	assert_non_null(f);
	return f;
}

static void pub_close(FILE *f) { assert_int_equal(pclose(f), 0); }

/* Publish n predictions for sensor, STEP s apart in label time; anomaly
 * from pattern(i); then wait until the alerter has taken them all in (its
 * predictions_in metric), so the test knows what was processed. */
static void predict(ctx *c, const char *sensor, int n, int (*pattern)(int))
{
	FILE *f = pub_open(c, sensor, "prediction");
	for (int i = 0; i < n; i++) {
		c->t += STEP;
		fprintf(f,
			"{\"v\":1,\"sensor\":\"%s\",\"t\":%.3f,\"t_start\":%.3f,"
			"\"n\":200,\"score\":%s,\"threshold\":0.0158,\"anomaly\":%s,"
			"\"model\":\"itest@1\",\"latency_ms\":0.4}\n",
			sensor, c->t, c->t - 4.0, pattern(i) ? "0.05" : "0.01",
			pattern(i) ? "true" : "false");
		c->sent++;
	}
	pub_close(f);
	wait_metric(c, "predictions_in", c->sent);
}

static void ack(ctx *c, const char *sensor, const char *id, const char *by)
{
	FILE *f = pub_open(c, sensor, "ack");
	fprintf(f, "{\"v\":1,\"id\":\"%s\",\"by\":\"%s\",\"t\":%.1f}\n", id, by, c->t);
	pub_close(f);
}

static int all_bad(int i) { return (void)i, 1; }
static int all_good(int i) { return (void)i, 0; }
static int one_in_ten(int i) { return i % 10 == 3; }
static int pair_in_twenty(int i) { return i % 20 == 5 || i % 20 == 6; }

/* ---- observing --------------------------------------------------------------- */

typedef struct query {
	const char *topic;
	const char *contains; /* NULL: any */
	size_t want;
	size_t got;
	long last; /* index of the last match */
} query;

static int count_pred(const harness_msg *msgs, size_t n, void *ud)
{
	query *q = ud;
	q->got = 0;
	q->last = -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(msgs[i].topic, q->topic) == 0 &&
		    (!q->contains || strstr(msgs[i].payload, q->contains))) {
			q->got++;
			q->last = (long)i;
		}
	}
	return q->got >= q->want;
}

/* Messages on topic containing text received so far. */
static size_t count(ctx *c, const char *topic, const char *contains)
{
	query q = {topic, contains, (size_t)-1, 0, -1};
	harness_sub_wait(c->sub, count_pred, &q, 0, 0);
	return q.got;
}

/* Wait for the want-th message on topic containing text; returns its index. */
static long wait_for(ctx *c, const char *topic, const char *contains, size_t want)
{
	query q = {topic, contains, want, 0, -1};
	if (harness_sub_wait(c->sub, count_pred, &q, 0, WAIT_MS) != 0)
		fail_msg(
		    "no %zu message(s) on %s containing %s (got %zu); alerter log: %s",
		    want, topic, contains ? contains : "*", q.got, c->log);
	return q.last;
}

/* Payload of message i, parsed (caller deletes). */
static cJSON *json_at(ctx *c, long i)
{
	harness_msg m;
	cJSON *j;
	assert_int_equal(harness_sub_get(c->sub, (size_t)i, &m), 0);
	j = cJSON_Parse(m.payload);
	harness_msg_cleanup(&m);
	assert_non_null(j);
	return j;
}

/* Wait until the alerter's metrics report name >= want. */
static void wait_metric(ctx *c, const char *name, long long want)
{
	char topic[128];
	snprintf(topic, sizeof(topic), "%s/_svc/alerter/itest/metrics", c->root);
	if (harness_sub_wait_metric(c->sub, topic, name, want, WAIT_MS, NULL) != 0)
		fail_msg("metric %s never reached %lld; alerter log: %s", name, want,
			 c->log);
}

/* The retained state of sensor, as a fresh subscriber sees it. */
static cJSON *retained_state(ctx *c, const char *sensor)
{
	char topic[128];
	harness_sub *s;
	harness_msg m;
	cJSON *j;

	topic_of(topic, sizeof(topic), c, sensor, "state");
	s = harness_sub_new(c->b->uri, topic, NULL, 0);
	assert_non_null(s);
	assert_int_equal(harness_sub_wait(s, NULL, NULL, 1, WAIT_MS), 0);
	assert_int_equal(harness_sub_get(s, 0, &m), 0);
	assert_true(m.retained);
	j = cJSON_Parse(m.payload);
	harness_msg_cleanup(&m);
	harness_sub_free(s);
	assert_non_null(j);
	return j;
}

static const char *jstr(cJSON *j, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(cJSON *j, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
	return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_failure_recovery_isolated_ack(void **state)
{
	const char *extra[] = {"--stale-s", "60", NULL};
	char st_topic[64], al_topic[64], m2_topic[64], id[160];
	double first_bad;
	long i;
	cJSON *j;
	ctx c;
	(void)state;

	ctx_init(&c, "ita", extra);
	topic_of(st_topic, sizeof(st_topic), &c, "m1", "state");
	topic_of(al_topic, sizeof(al_topic), &c, "m1", "alert");
	topic_of(m2_topic, sizeof(m2_topic), &c, "m2", "state");

	/* a new sensor: nothing before the evidence (10 windows spanning 8 s) */
	predict(&c, "m2", 5, all_bad);
	predict(&c, "m1", 60, all_good);
	wait_for(&c, st_topic, "\"state\":\"OK\"", 1);

	/* isolated anomalous windows: never an alert */
	predict(&c, "m1", 400, one_in_ten);
	predict(&c, "m1", 400, pair_in_twenty);
	wait_metric(&c, "predictions_in", 865);
	assert_int_equal(count(&c, al_topic, NULL), 0);
	assert_int_equal(count(&c, st_topic, NULL), 1);
	assert_int_equal(count(&c, m2_topic, NULL), 0);

	/* sustained anomalies: FAILURE within the evidence window */
	first_bad = c.t + STEP;
	predict(&c, "m1", 60, all_bad);
	i = wait_for(&c, al_topic, "\"to\":\"FAILURE\"", 1);
	j = json_at(&c, i);
	assert_string_equal(jstr(j, "from"), "OK");
	assert_string_equal(jstr(j, "severity"), "critical");
	assert_true(jnum(j, "t") - first_bad <= 10.0);
	snprintf(id, sizeof(id), "%s", jstr(j, "id"));
	assert_non_null(strstr(id, "m1-"));
	cJSON_Delete(j);
	wait_for(&c, st_topic, "\"state\":\"FAILURE\"", 1);
	/* the log line `make run` shows (services/alerter/README.md) */
	assert_true(harness_file_count(c.log, "STATE m1 OK -> FAILURE (anomaly rate") ==
		    1);

	/* ack: a wrong id is ignored, the right one shows on the state */
	ack(&c, "m1", "m1-1-999", "op-x");
	ack(&c, "m1", id, "op-7");
	i = wait_for(&c, st_topic, "\"acked\":true", 1);
	j = json_at(&c, i);
	assert_string_equal(jstr(j, "acked_by"), "op-7");
	assert_string_equal(jstr(j, "state"), "FAILURE");
	cJSON_Delete(j);
	wait_metric(&c, "acks_ignored", 1);
	assert_int_equal(count(&c, st_topic, "op-x"), 0);

	/* back to OK after the anomalies end; the ack ends with the state */
	predict(&c, "m1", 100, all_good);
	i = wait_for(&c, al_topic, "\"to\":\"OK\"", 1);
	j = json_at(&c, i);
	assert_string_equal(jstr(j, "from"), "FAILURE");
	cJSON_Delete(j);
	j = retained_state(&c, "m1");
	assert_string_equal(jstr(j, "state"), "OK");
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "acked_by"));
	cJSON_Delete(j);
	assert_int_equal(count(&c, al_topic, NULL), 2);
	ctx_cleanup(&c);
}

/* The webhook server is down when the alert happens: the alerter retries,
 * keeps publishing states promptly, and delivers both alerts, in order,
 * once the server is up. */
static void test_webhook_retried_mqtt_unaffected(void **state)
{
	char url[64], st_topic[64], al_topic[64];
	int port = httpd_pick_port();
	const char *extra[] = {"--stale-s",      "60", "--webhook", url,
			       "--rate-limit-s", "0",  NULL};
	long long t0;
	httpd h;
	ctx c;
	(void)state;

	assert_true(port > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/alerts", port);
	ctx_init(&c, "itb", extra);
	topic_of(st_topic, sizeof(st_topic), &c, "m1", "state");
	topic_of(al_topic, sizeof(al_topic), &c, "m1", "alert");

	predict(&c, "m1", 30, all_good);
	predict(&c, "m1", 60, all_bad);
	wait_for(&c, al_topic, "\"to\":\"FAILURE\"", 1);
	wait_metric(&c, "webhook_retried", 1);

	/* MQTT handling unaffected while the webhook keeps failing */
	t0 = harness_now_ms();
	predict(&c, "m1", 100, all_good);
	wait_for(&c, al_topic, "\"to\":\"OK\"", 1);
	wait_for(&c, st_topic, "\"state\":\"OK\"", 2);
	assert_true(harness_now_ms() - t0 < 3000);
	wait_metric(&c, "webhook_retried", 2);

	assert_int_equal(httpd_start(&h, port), 0);
	wait_metric(&c, "webhook_ok", 2);
	assert_int_equal(httpd_ok(&h), 2);
	assert_non_null(strstr(h.bodies[0], "\"to\":\"FAILURE\""));
	assert_non_null(strstr(h.bodies[1], "\"to\":\"OK\""));
	assert_true(h.saw_post_json);
	ctx_cleanup(&c);
	httpd_stop(&h);
}

static void test_stale_and_recovery(void **state)
{
	const char *extra[] = {"--stale-s", "1", NULL};
	char st_topic[64], al_topic[64];
	long i;
	cJSON *j;
	ctx c;
	(void)state;

	ctx_init(&c, "itc", extra);
	topic_of(st_topic, sizeof(st_topic), &c, "m1", "state");
	topic_of(al_topic, sizeof(al_topic), &c, "m1", "alert");
	predict(&c, "m1", 45, all_good); /* 8.8 s of windows: evidence */
	wait_for(&c, st_topic, "\"state\":\"OK\"", 1);
	/* silence */
	i = wait_for(&c, al_topic, "\"to\":\"STALE\"", 1);
	j = json_at(&c, i);
	assert_string_equal(jstr(j, "from"), "OK");
	assert_string_equal(jstr(j, "severity"), "warning");
	cJSON_Delete(j);
	wait_for(&c, st_topic, "\"state\":\"STALE\"", 1);
	/* a scorer going offline is logged with what it means */
	{
		FILE *f = pub_open(&c, "_svc/scorer/sx", "status");
		fprintf(f, "{\"v\":1,\"service\":\"scorer\",\"instance\":\"sx\","
			   "\"state\":\"offline\"}\n");
		pub_close(f);
		if (harness_wait_file_count(
			c.log, "scorer sx is offline: its sensors go STALE", 1, WAIT_MS))
			fail_msg("no line on the scorer going offline; log %s", c.log);
	}
	/* data returns */
	predict(&c, "m1", 45, all_good);
	i = wait_for(&c, al_topic, "\"to\":\"OK\"", 1);
	j = json_at(&c, i);
	assert_string_equal(jstr(j, "from"), "STALE");
	cJSON_Delete(j);
	ctx_cleanup(&c);
}

/* Restart of the alerter mid-failure: the retained FAILURE is restored, no
 * duplicate alert, the old alert can still be acked, and the recovery is
 * alerted once. */
static void test_restart_mid_failure(void **state)
{
	const char *extra[] = {"--stale-s", "60", NULL};
	char al_topic[64], st_topic[64], id[160];
	long i;
	cJSON *j;
	ctx c;
	(void)state;

	ctx_init(&c, "itd", extra);
	topic_of(st_topic, sizeof(st_topic), &c, "m1", "state");
	topic_of(al_topic, sizeof(al_topic), &c, "m1", "alert");
	predict(&c, "m1", 20, all_good);
	predict(&c, "m1", 40, all_bad);
	i = wait_for(&c, al_topic, "\"to\":\"FAILURE\"", 1);
	j = json_at(&c, i);
	snprintf(id, sizeof(id), "%s", jstr(j, "id"));
	cJSON_Delete(j);

	alerter_stop(&c);
	harness_sub_clear(c.sub);
	alerter_start(&c, extra);
	predict(&c, "m1", 40, all_bad);
	wait_metric(&c, "predictions_in", 40);
	wait_metric(&c, "states_restored", 1);
	assert_int_equal(count(&c, al_topic, NULL), 0);
	assert_int_equal(count(&c, st_topic, NULL), 0);
	j = retained_state(&c, "m1");
	assert_string_equal(jstr(j, "state"), "FAILURE");
	assert_string_equal(jstr(j, "alert_id"), id);
	cJSON_Delete(j);

	ack(&c, "m1", id, "op-9");
	wait_for(&c, st_topic, "\"acked\":true", 1);

	predict(&c, "m1", 100, all_good);
	i = wait_for(&c, al_topic, "\"to\":\"OK\"", 1);
	j = json_at(&c, i);
	assert_string_equal(jstr(j, "from"), "FAILURE");
	cJSON_Delete(j);
	assert_int_equal(count(&c, al_topic, NULL), 1);
	ctx_cleanup(&c);
}

/* A subscriber away with a queue of 5 while 30 predictions go to it: the
 * broker drops 25 and says so in $SYS; the alerter reports that count. */
static void test_broker_drops_reported(void **state)
{
	harness_broker b;
	harness_sub *away;
	char topic[64];
	long long v = -1;
	ctx c;
	(void)state;

	assert_int_equal(
	    harness_broker_start(&b, "max_queued_messages 5\nsys_interval 1\n"), 0);
	away = harness_sub_new(b.uri, "itd/+/prediction", "it-away", 1);
	assert_non_null(away);
	harness_sub_free(away); /* gone; its session and queue stay */
	ctx_init_on(&c, &b, "itd", NULL);
	/* in three bursts of 10, each taken in before the next: the alerter's own
	 * queue never holds more than its in-flight window, so the only drops
	 * are the away subscriber's (all 30 at once, a slow alerter - an ASan
	 * build - had 5 of its own dropped too) */
	for (int k = 0; k < 3; k++)
		predict(&c, "m1", 10, all_good);
	snprintf(topic, sizeof(topic), "itd/_svc/alerter/itest/metrics");
	if (harness_sub_wait_metric(c.sub, topic, "broker_dropped", 25, WAIT_MS, &v) != 0)
		fail_msg("broker_dropped %lld, want 25; alerter log: %s", v, c.log);
	assert_int_equal(v, 25);
	if (harness_wait_file_count(c.log, "more dropped message(s)", 1, WAIT_MS))
		fail_msg("no warning on the broker's drops; log %s", c.log);
	ctx_cleanup(&c);
	harness_broker_stop(&b);
}

/* Messages that break the contract are each counted once in
 * malformed_dropped, a prediction's also in predictions_bad; good
 * predictions after them are taken in as usual. */
static void test_malformed_counted(void **state)
{
	char topic[64];
	long long v = -1;
	FILE *f;
	ctx c;
	(void)state;

	ctx_init(&c, "itm", NULL);
	f = pub_open(&c, "m1", "ack"); /* first: taken in before the predictions */
	fprintf(f, "{\"v\":1,\"by\":\"no id\"}\n");
	pub_close(f);
	f = pub_open(&c, "m1", "prediction");
	fprintf(f, "not json\n");
	fprintf(f,
		"{\"v\":1,\"sensor\":\"m2\",\"t\":%.3f,\"t_start\":%.3f,\"n\":200,"
		"\"score\":0.01,\"threshold\":0.0158,\"anomaly\":false,"
		"\"model\":\"itest@1\",\"latency_ms\":0.4}\n",
		c.t + STEP, c.t + STEP - 4.0);
	pub_close(f);
	c.sent += 2;
	predict(&c, "m1", 5, all_good); /* waits for predictions_in 7 */
	snprintf(topic, sizeof(topic), "itm/_svc/alerter/itest/metrics");
	if (harness_sub_wait_metric(c.sub, topic, "malformed_dropped", 3, WAIT_MS, &v))
		fail_msg("malformed_dropped %lld, want 3; alerter log: %s", v, c.log);
	assert_int_equal(v, 3);
	if (harness_sub_wait_metric(c.sub, topic, "predictions_bad", 2, WAIT_MS, &v))
		fail_msg("predictions_bad %lld, want 2; alerter log: %s", v, c.log);
	assert_int_equal(v, 2);
	if (harness_wait_file_count(c.log, "dropped itm/m1/", 1, WAIT_MS))
		fail_msg("no warning on the malformed messages; log %s", c.log);
	ctx_cleanup(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failure_recovery_isolated_ack),
	    cmocka_unit_test(test_webhook_retried_mqtt_unaffected),
	    cmocka_unit_test(test_stale_and_recovery),
	    cmocka_unit_test(test_restart_mid_failure),
	    cmocka_unit_test(test_broker_drops_reported),
	    cmocka_unit_test(test_malformed_counted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
