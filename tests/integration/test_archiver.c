/* Integration tests for bin/archiver against a real mosquitto, with the
 * publisher in the test (common/mqtt, persistent session, QoS 1) so that
 * the exact set of published messages is known, and an independent
 * persistent subscriber as the ground truth of what went over the broker:
 *  - kill -9 of the archiver five times while a publisher streams QoS 1 raw
 *    messages: afterwards the database holds every published message
 *    exactly once, each equal bit for bit to the ground truth's, and no
 *    gap; then export -> bin/ae-train -> a model file that loads
 *    (aefile_load), and that the real bin/scorer loads for the sensor and
 *    predicts with;
 *  - a broker restart (persistence on) while streaming: the same;
 *  - predictions and alerts from the broker stored (replays dropped), raw
 *    samples into daily CSV files besides SQLite, and CSV-only (--db '');
 *  - every thread at SCHED_BATCH by default, at the normal class with
 *    --cpu-class normal.
 * A full disk: test_archiver_full.c. The real chain (lpms-emu -> ingest-bt
 * -> archiver): test_archiver_chain.c. */
#include "test_archiver_pub.h"

#include <sched.h>

#define T_PER 10        /* samples per message, as ingest-bt sends at 100 Hz */
#define T_SCORE_MSGS 20 /* raw messages at most offered to the scorer */

static void test_kill9_five_times(void **state)
{
	harness_broker b = {0};
	harness_sub *truth;
	arch a;
	pub p;
	char db[512];
	const int n = 3000;
	(void)state;

	assert_int_equal(harness_broker_start(&b, broker_conf), 0);
	snprintf(db, sizeof(db), "%s/kill9.db", harness_tmpdir());
	arch_init(&a, &b, db);
	arch_start(&a);
	truth = truth_new(b.uri);
	pub_start(&p, b.uri, 0, n, T_PER, 1000); /* ~1000 messages/s for ~3 s */
	for (int k = 0; k < 5; k++) {
		/* let it store something new, then kill it mid-stream */
		long long have = db_messages(db);
		assert_int_equal(wait_messages(db, have + 50, 20000), 0);
		harness_kill9(a.pid);
		arch_start(&a);
	}
	pub_join(&p);
	if (wait_messages(db, n, 30000))
		fprintf(stderr, "only %lld of %d messages; log %s\n", db_messages(db), n,
			a.log);
	arch_stop(&a);
	check_all(db, truth, n, T_PER);

	/* the retraining loop: export -> ae-train -> a model that loads */
	{
		char model[600];
		msg_raw r[T_SCORE_MSGS];
		retrain(db, T_SENSOR, "synthetic", model, sizeof(model));
		for (int q = 0; q < T_SCORE_MSGS; q++) {
			msg_raw_init(&r[q]);
			assert_int_equal(synth_raw(&r[q], (uint64_t)q, T_PER, "score"),
					 0);
		}
		score_with(b.uri, T_SENSOR, model, r, T_SCORE_MSGS);
		for (int q = 0; q < T_SCORE_MSGS; q++)
			msg_raw_cleanup(&r[q]);
	}
	harness_sub_free(truth);
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

static void test_broker_restart(void **state)
{
	harness_broker b = {0};
	harness_sub *truth;
	arch a;
	pub p;
	char db[512], conf[256];
	const int n = 1000;
	(void)state;

	snprintf(conf, sizeof(conf), "%spersistence true\n", broker_conf);
	assert_int_equal(harness_broker_start(&b, conf), 0);
	snprintf(db, sizeof(db), "%s/restart.db", harness_tmpdir());
	arch_init(&a, &b, db);
	arch_start(&a);
	truth = truth_new(b.uri);
	/* 200 messages/s: what the publisher buffers while the broker is down
	 * drains slowly afterwards (Paho 1.3.12 sends a burst of QoS 1 at about
	 * 20/s once the broker's receive maximum is reached; see common/mqtt.c) */
	pub_start(&p, b.uri, 0, n, T_PER, 5000);
	assert_int_equal(wait_messages(db, 200, 20000), 0);
	assert_int_equal(harness_broker_restart(&b), 0);
	pub_join(&p);
	if (wait_messages(db, n, 60000))
		fprintf(stderr, "only %lld of %d messages; log %s\n", db_messages(db), n,
			a.log);
	arch_stop(&a);
	check_all(db, truth, n, T_PER);
	harness_sub_free(truth);
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

/* ---- predictions, alerts and CSV ------------------------------------------------ */

#define T_DAY_CSV "itest-arm/itest-arm_2025-11-26.csv" /* t0 1764151200: that UTC day */

/* The data rows of a daily CSV file (header "t,linacc_x,linacc_y,linacc_z"
 * checked), each compared bit for bit (%.9g round-trips a float32) with
 * the synthetic stream: row k is sample k % per of message first + k / per. */
static size_t csv_rows_equal(const char *path, int first, int per)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t k = 0;
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "t,linacc_x,linacc_y,linacc_z\n");
	while (fgets(line, sizeof(line), f)) {
		uint64_t seq = (uint64_t)first + k / (size_t)per;
		size_t i = k % (size_t)per;
		char *p = strchr(line, ',');
		assert_non_null(p);
		for (size_t c = 0; c < 3; c++) {
			float got = strtof(p + 1, &p),
			      want = sample_value(seq, i, c, per);
			assert_memory_equal(&got, &want, sizeof(got));
		}
		k++;
	}
	fclose(f);
	return k;
}

static void test_predictions_alerts_and_csv(void **state)
{
	harness_broker b = {0};
	harness_pub hp;
	arch a;
	pub p;
	char db[512], both[512], only[512], path[1200], out[1024], err[MSG_ERR_MAX];
	const char *csv_args[] = {"--csv-dir", both, NULL};
	const char *only_args[] = {"--csv-dir", only, NULL};
	msg_prediction pr = {.sensor = T_SENSOR,
			     .t = 1764151204.0,
			     .t_start = 1764151202.0,
			     .n = 200,
			     .score = 0.0123456789,
			     .threshold = 0.0158,
			     .model = "itest@1",
			     .latency_ms = 0.5};
	msg_alert al = {.id = "itest-arm-1764151204-1",
			.sensor = T_SENSOR,
			.t = 1764151204.0,
			.from = STATE_OK,
			.to = STATE_FAILURE,
			.severity = "critical",
			.anomaly_rate = 0.6};
	size_t len;
	(void)state;

	assert_int_equal(harness_broker_start(&b, broker_conf), 0);
	snprintf(db, sizeof(db), "%s/pa.db", harness_tmpdir());
	assert_int_equal(harness_tmpdir_new("csv-both", both, sizeof(both)), 0);
	assert_int_equal(harness_tmpdir_new("csv-only", only, sizeof(only)), 0);
	arch_init(&a, &b, db);
	a.extra = csv_args;
	arch_start(&a);

	/* SQLite and CSV together: 100 raw messages, 3 predictions and 2
	 * alerts, each of those published twice (a replay: stored once) */
	pub_start(&p, b.uri, 0, 100, T_PER, 0);
	pub_join(&p);
	assert_int_equal(harness_pub_open(&hp, b.uri, "itest-pub", NULL, 0), 0);
	for (int r = 0; r < 2; r++) {
		for (int k = 0; k < 3; k++) {
			pr.t = 1764151204.0 + k;
			assert_int_equal(msg_prediction_encode(&pr, out, sizeof(out),
							       &len, err, sizeof(err)),
					 0);
			assert_int_equal(
			    harness_pub_text(&hp, T_SENSOR, "prediction", out, len), 0);
		}
		for (int k = 0; k < 2; k++) {
			snprintf(al.id, sizeof(al.id), "itest-arm-1764151204-%d", k + 1);
			assert_int_equal(msg_alert_encode(&al, out, sizeof(out), &len,
							  err, sizeof(err)),
					 0);
			assert_int_equal(
			    harness_pub_text(&hp, T_SENSOR, "alert", out, len), 0);
		}
	}
	assert_int_equal(harness_pub_close(&hp, 10000), 0);
	assert_int_equal(wait_messages(db, 100, 20000), 0);
	/* stopping commits what is spooled; then the database and the files */
	arch_stop(&a);
	assert_int_equal(db_int(db, "SELECT count(*) FROM predictions"), 3);
	assert_int_equal(db_int(db,
				"SELECT count(DISTINCT t) FROM predictions WHERE "
				"score = 0.0123456789 AND model = 'itest@1' AND n = 200"),
			 3);
	assert_int_equal(db_int(db, "SELECT count(*) FROM alerts"), 2);
	assert_int_equal(db_int(db, "SELECT count(*) FROM alerts WHERE alert_id = "
				    "'itest-arm-1764151204-2' AND to_state = 'FAILURE'"),
			 1);
	snprintf(path, sizeof(path), "%s/%s", both, T_DAY_CSV);
	assert_int_equal(csv_rows_equal(path, 0, T_PER), 100 * T_PER);

	/* CSV only (--db ''): 50 more raw messages, into the files alone */
	a.extra = only_args;
	snprintf(a.db, sizeof(a.db), "%s", "");
	arch_start(&a);
	pub_start(&p, b.uri, 100, 50, T_PER, 0);
	pub_join(&p);
	snprintf(path, sizeof(path), "%s/%s", only, T_DAY_CSV);
	/* every row written (the header is the one more line with a comma) */
	harness_wait_file_count(path, ",", 50 * T_PER + 1, 20000);
	arch_stop(&a);
	assert_int_equal(csv_rows_equal(path, 100, T_PER), 50 * T_PER);
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

/* The archiver runs at SCHED_BATCH by default, every thread (Paho's too):
 * waking, it does not preempt the prediction path; --cpu-class normal
 * keeps the normal class. */
static void test_cpu_class(void **state)
{
	harness_broker b = {0};
	const char *normal[] = {"--cpu-class", "normal", NULL};
	arch a;
	char db[512];
	int threads;
	(void)state;

	assert_int_equal(harness_broker_start(&b, broker_conf), 0);
	snprintf(db, sizeof(db), "%s/cpu-class.db", harness_tmpdir());
	arch_init(&a, &b, db);
	arch_start(&a);
	assert_int_equal(harness_thread_policy(a.pid, &threads), SCHED_BATCH);
	assert_true(threads >= 3); /* the loop and Paho's send and receive threads */
	arch_stop(&a);
	a.extra = normal;
	arch_start(&a);
	assert_int_equal(harness_thread_policy(a.pid, &threads), SCHED_OTHER);
	assert_true(threads >= 3);
	arch_stop(&a);
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpu_class),
	    cmocka_unit_test(test_kill9_five_times),
	    cmocka_unit_test(test_broker_restart),
	    cmocka_unit_test(test_predictions_alerts_and_csv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
