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
 *  - a broker restart (persistence on) while streaming: the same.
 * A full disk: test_archiver_full.c. The real chain (lpms-emu -> ingest-bt
 * -> archiver): test_archiver_chain.c. */
#include "test_archiver_pub.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill9_five_times),
	    cmocka_unit_test(test_broker_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
