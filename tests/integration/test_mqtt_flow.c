/* test_mqtt_flow — the outbound flow control of common/mqtt.c (outq.c)
 * against a real mosquitto announcing its default Receive Maximum of 20:
 * QoS 1 bursts (connected, queued while the broker is down, cut by a
 * broker restart while publishes are in flight, and from several threads
 * at once) drain fast, whole and in order. */
#include "test_mqtt.h"

#include <pthread.h>

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
	return setup_with(state, "max_queued_messages 100000\n");
}

static int setup_burst_persist(void **state)
{
	return setup_with(state, "persistence true\n"
				 "max_queued_messages 100000\n");
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

/* q->n distinct seq numbers 0..q->n-1 on q->topic (a message sent again
 * may arrive twice: counting all would stop the wait too soon) */
static int topic_distinct_reached(const harness_msg *msgs, size_t n, void *ud)
{
	count_query *q = ud;
	unsigned char *seen = calloc(q->n, 1);
	size_t k = 0;
	assert_non_null(seen);
	for (size_t i = 0; i < n; i++) {
		long s;
		if (strcmp(msgs[i].topic, q->topic) != 0)
			continue;
		s = seq_of(msgs[i].payload);
		if (s >= 0 && (size_t)s < q->n && !seen[s]++)
			k++;
	}
	free(seen);
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
	pub = client_new(f, &o, f->m);
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
	pub = client_new(f, &o, f->m);
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

/* The broker restarts in the middle of a burst, with publishes in flight
 * (handed to Paho, not yet acknowledged): Paho gives those up with its
 * session, the queue sends them again after the reconnect, and the
 * subscriber gets every message (a few perhaps twice: the broker may have
 * had one whose PUBACK never came). */
static void test_burst_cut_by_restart(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/s11/raw";
	count_query q = {topic, N_BURST / 4}, all = {topic, N_BURST};
	mqtt_options o;
	mqtt_client *pub;
	harness_sub *sub;
	char raw[1024];
	seq_stats st;
	int rc;

	assert_default_inflight(&f->broker);
	sub = harness_sub_new(f->broker.uri, topic, "it-sub11", 1);
	assert_non_null(sub);
	opts_for(&o, f->broker.uri, "itpub", "p11");
	o.max_buffered = N_BURST;
	pub = client_new(f, &o, f->m);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS), 0);
	for (long s = 0; s < N_BURST; s++) {
		int len = raw_payload(raw, sizeof(raw), "s11", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s11", "raw", raw, (size_t)len, 1, 0), 0);
	}
	/* a quarter through: the broker goes, publishes in flight */
	assert_int_equal(harness_sub_wait(sub, topic_count_reached, &q, 0, BURST_MS), 0);
	assert_int_equal(harness_broker_down(&f->broker), 0);
	assert_int_equal(harness_broker_up(&f->broker), 0);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS * 2), 0);
	assert_int_equal(mqtt_shutdown(pub, BURST_MS), 0);
	rc = harness_sub_wait(sub, topic_distinct_reached, &all, 0, WAIT_MS * 2);
	st = seq_scan(sub, topic, N_BURST);
	if (rc != 0 || st.unique != N_BURST)
		fprintf(stderr,
			"cut burst: %zu distinct of %d arrived (%zu in all, wait %d), "
			"%lld sent again, %lld failed\n",
			st.unique, N_BURST, st.total, rc,
			(long long)metric(f->m, "publish_resent"),
			(long long)metric(f->m, "publish_failed"));
	assert_int_equal(st.unique, N_BURST);
	/* Order is not asserted here. The queue sends in publish order (it
	 * holds back after a message is given up until every one in flight has
	 * ended: test_outq), but the order this persistent subscriber receives
	 * across the broker's restart is not pinned down: seen once in about
	 * 20 runs under ASan, 11 messages overtaken by the 7 after them (the
	 * broker's queue for the subscriber, or Paho's resend: not found). */
	fprintf(stderr,
		"cut burst: %lld publishes given up with the session, sent again\n",
		(long long)metric(f->m, "publish_resent"));
	assert_true(metric(f->m, "publish_resent") > 0); /* the cut caught some */
	assert_int_equal(metric(f->m, "publish_failed"), 0);

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
	pub = client_new(f, &o, f->m);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_burst_flow_control, setup_burst,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_burst_cut_by_restart,
					    setup_burst_persist, teardown),
	    cmocka_unit_test_setup_teardown(test_burst_after_restart, setup_burst_persist,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_burst_threads, setup_burst, teardown),
	};
	return cmocka_run_group_tests_name("mqtt flow control (integration)", tests, NULL,
					   NULL);
}
