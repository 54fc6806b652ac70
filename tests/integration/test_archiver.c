/* Integration tests for bin/archiver against a real mosquitto, with the
 * publisher in the test (common/mqtt, persistent session, QoS 1) so that
 * the exact set of published messages is known:
 *  - kill -9 of the archiver five times while a publisher streams QoS 1 raw
 *    messages: afterwards the database holds every published sample
 *    exactly once, and no gap; then export -> bin/ae-train -> a model file
 *    that loads (aefile_load), and that the real bin/scorer loads for the
 *    sensor and predicts with;
 *  - a broker restart (persistence on) while streaming: the same;
 *  - a full disk (a 1 MiB tmpfs; skipped without the right to mount): the
 *    archiver says so, stays up, and after the file system grows it holds
 *    every sample, with an intact database.
 * The real chain (lpms-emu -> ingest-bt -> archiver): test_archiver_chain.c. */
#include "test_archiver_fixture.h"

#define T_SENSOR "itest-arm"
#define T_PER 10 /* samples per message, as ingest-bt sends at 100 Hz */

/* ---- publisher ----------------------------------------------------------- */

typedef struct pub {
	const char *uri;
	int n;           /* messages to publish */
	int every_us;    /* pacing */
	atomic_int sent; /* handed to mqtt_publish */
	pthread_t th;
	int rc;
} pub;

static float sample_value(uint64_t seq, size_t i, size_t c)
{
	/* smooth signals, so that ae-train has something learnable */
	double t = (double)(seq * T_PER + i) / 100.0;
	return (float)(sin(t * (1.0 + (double)c)) * 0.01 * (double)(c + 1));
}

#define T_SCORE_MSGS 20 /* raw messages at most offered to the scorer */

/* Message seq of the synthetic stream of run `run` (r is initialised here;
 * msg_raw_cleanup it). */
static void synth_raw(msg_raw *r, uint64_t seq, const char *run)
{
	msg_raw_init(r);
	snprintf(r->sensor, sizeof(r->sensor), T_SENSOR);
	snprintf(r->run, sizeof(r->run), "%s", run);
	r->rate_hz = 100;
	r->n_channels = 3;
	snprintf(r->channels[0], sizeof(r->channels[0]), "linacc_x");
	snprintf(r->channels[1], sizeof(r->channels[1]), "linacc_y");
	snprintf(r->channels[2], sizeof(r->channels[2]), "linacc_z");
	assert_int_equal(msg_raw_reserve(r, T_PER), 0);
	r->n_samples = T_PER;
	r->seq = seq;
	r->t0 = 1764151200.0 + (double)(seq * T_PER) / 100.0;
	for (size_t i = 0; i < T_PER; i++)
		for (size_t ch = 0; ch < 3; ch++)
			r->samples[i * 3 + ch] = sample_value(seq, i, ch);
}

static void *pub_main(void *arg)
{
	pub *p = arg;
	mqtt_options o;
	metrics *m = metrics_new();
	mqtt_client *c;
	msg_raw r;
	char err[256], *pl = malloc(65536), client_id[64];
	size_t len;

	p->rc = -1;
	snprintf(client_id, sizeof(client_id), "itest-pub-%d", (int)getpid());
	mqtt_options_default(&o);
	o.uri = p->uri;
	o.root = "factory";
	o.service = "itest-pub";
	o.client_id = client_id;
	o.persistent = 1;
	o.metrics_interval_ms = 0;
	o.max_buffered = 1000000;
	o.reconnect_max_s = 1;
	c = mqtt_new(&o, m, err, sizeof(err));
	if (!c || !pl || mqtt_wait_connected(c, 10000)) {
		fprintf(stderr, "publisher: %s\n", c ? "no connection" : err);
		goto out;
	}
	msg_raw_init(&r);
	snprintf(r.sensor, sizeof(r.sensor), T_SENSOR);
	snprintf(r.run, sizeof(r.run), "run%d", (int)getpid());
	r.rate_hz = 100;
	r.n_channels = 3;
	snprintf(r.channels[0], sizeof(r.channels[0]), "linacc_x");
	snprintf(r.channels[1], sizeof(r.channels[1]), "linacc_y");
	snprintf(r.channels[2], sizeof(r.channels[2]), "linacc_z");
	if (msg_raw_reserve(&r, T_PER))
		goto out;
	r.n_samples = T_PER;
	for (int q = 0; q < p->n; q++) {
		r.seq = (uint64_t)q;
		r.t0 = 1764151200.0 + (double)(q * T_PER) / 100.0;
		for (size_t i = 0; i < T_PER; i++)
			for (size_t ch = 0; ch < 3; ch++)
				r.samples[i * 3 + ch] = sample_value((uint64_t)q, i, ch);
		if (msg_raw_encode(&r, pl, 65536, &len, err, sizeof(err)) ||
		    mqtt_publish_sensor(c, T_SENSOR, "raw", pl, len, 1, 0)) {
			fprintf(stderr, "publisher: seq %d: %s\n", q, err);
			goto out;
		}
		atomic_fetch_add(&p->sent, 1);
		if (p->every_us)
			usleep((useconds_t)p->every_us); /* pacing, not synchronisation */
	}
	/* every QoS 1 publish acknowledged by the broker before we leave */
	p->rc = mqtt_shutdown(c, 60000) == 0 ? 0 : -1;
	msg_raw_cleanup(&r);
out:
	mqtt_free(c);
	metrics_free(m);
	free(pl);
	return NULL;
}

static void pub_start(pub *p, const char *uri, int n, int every_us)
{
	memset(p, 0, sizeof(*p));
	p->uri = uri;
	p->n = n;
	p->every_us = every_us;
	assert_int_equal(pthread_create(&p->th, NULL, pub_main, p), 0);
}

static void pub_join(pub *p)
{
	pthread_join(p->th, NULL);
	assert_int_equal(p->rc, 0);
	assert_int_equal(atomic_load(&p->sent), p->n);
}

/* Every seq 0..n-1 exactly once, every sample there, no gap recorded, and
 * the values are the published ones (spot check through export). */
static void check_all(const char *db, int n)
{
	char sql[256];
	assert_int_equal(db_messages(db), n);
	assert_int_equal(db_int(db, "SELECT count(DISTINCT seq) FROM messages"), n);
	assert_int_equal(db_int(db, "SELECT min(seq) FROM messages"), 0);
	assert_int_equal(db_int(db, "SELECT max(seq) FROM messages"), n - 1);
	assert_int_equal(db_int(db, "SELECT sum(n) FROM messages"), (long long)n * T_PER);
	assert_int_equal(db_int(db, "SELECT count(*) FROM gaps"), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM messages WHERE length(samples) != %d",
		 (int)(T_PER * 3 * sizeof(float)));
	assert_int_equal(db_int(db, sql), 0);
	assert_true(db_ok(db));
}

/* ---- tests ------------------------------------------------------------------- */

static char t_mnt[512];

static void test_kill9_five_times(void **state)
{
	harness_broker b = {0};
	arch a;
	pub p;
	char db[512];
	const int n = 3000;
	(void)state;

	assert_int_equal(harness_broker_start(&b, broker_conf), 0);
	snprintf(db, sizeof(db), "%s/kill9.db", harness_tmpdir());
	arch_init(&a, &b, db);
	arch_start(&a);
	pub_start(&p, b.uri, n, 1000); /* ~1000 messages/s for ~3 s */
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
	check_all(db, n);

	/* the retraining loop: export -> ae-train -> a model that loads */
	{
		char model[600];
		msg_raw r[T_SCORE_MSGS];
		retrain(db, T_SENSOR, "synthetic", model, sizeof(model));
		for (int q = 0; q < T_SCORE_MSGS; q++)
			synth_raw(&r[q], (uint64_t)q, "score");
		score_with(b.uri, T_SENSOR, model, r, T_SCORE_MSGS);
		for (int q = 0; q < T_SCORE_MSGS; q++)
			msg_raw_cleanup(&r[q]);
	}
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

static void test_broker_restart(void **state)
{
	harness_broker b = {0};
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
	/* 200 messages/s: what the publisher buffers while the broker is down
	 * drains slowly afterwards (Paho 1.3.12 sends a burst of QoS 1 at about
	 * 20/s once the broker's receive maximum is reached; see common/mqtt.c) */
	pub_start(&p, b.uri, n, 5000);
	assert_int_equal(wait_messages(db, 200, 20000), 0);
	assert_int_equal(harness_broker_restart(&b), 0);
	pub_join(&p);
	if (wait_messages(db, n, 60000))
		fprintf(stderr, "only %lld of %d messages; log %s\n", db_messages(db), n,
			a.log);
	arch_stop(&a);
	check_all(db, n);
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

static void test_full_disk(void **state)
{
	harness_broker b = {0};
	arch a;
	pub p;
	char mnt[512], db[600];
	const int n = 6000;
	long long deadline;
	(void)state;

	snprintf(mnt, sizeof(mnt), "%s/small", harness_tmpdir());
	assert_true(mkdir(mnt, 0700) == 0 || errno == EEXIST);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		fprintf(stderr, "cannot mount a tmpfs here (%s): skipped\n",
			strerror(errno));
		skip();
	}
	snprintf(t_mnt, sizeof(t_mnt), "%s", mnt);
	assert_int_equal(harness_broker_start(&b, broker_conf), 0);
	snprintf(db, sizeof(db), "%s/full.db", mnt);
	arch_init(&a, &b, db);
	arch_start(&a);
	pub_start(&p, b.uri, n, 200); /* ~2.4 MB of JSON, the spool alone overflows */
	/* reported: the log says the disk is full, and the archiver stays up */
	deadline = harness_now_ms() + 30000;
	while (harness_now_ms() < deadline && !file_contains(a.log, "full"))
		harness_nap_ms(50);
	assert_true(file_contains(a.log, "full"));
	assert_int_equal(harness_wait_exit(a.pid, 0), -1);
	pub_join(&p); /* the broker holds what the archiver does not take */
	assert_true(db_messages(db) < n);
	/* room again: it resumes by itself and loses nothing */
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=64m"), 0);
	if (wait_messages(db, n, 60000))
		fprintf(stderr, "only %lld of %d messages; log %s\n", db_messages(db), n,
			a.log);
	arch_stop(&a);
	check_all(db, n);
	assert_true(file_contains(a.log, "resuming") || file_contains(a.log, "again"));
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

/* A failed assertion must not leave the tmpfs mounted. */
static int unmount_teardown(void **state)
{
	(void)state;
	if (t_mnt[0])
		umount2(t_mnt, MNT_DETACH);
	t_mnt[0] = 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill9_five_times),
	    cmocka_unit_test(test_broker_restart),
	    cmocka_unit_test_teardown(test_full_disk, unmount_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
