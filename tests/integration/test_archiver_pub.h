/* The synthetic stream of the archiver tests that publish themselves
 * (test_archiver.c, test_archiver_full.c): a thread that streams QoS 1 raw
 * messages of sensor T_SENSOR through common/mqtt in a persistent session
 * (a broker restart loses nothing), with values computed from (seq, row,
 * channel); the ground-truth subscriber; and check_all(), which holds the
 * database to the ground truth, message by message and bit for bit.
 * Header-only, as test_archiver_fixture.h. */
#ifndef ANOMESH_TEST_ARCHIVER_PUB_H
#define ANOMESH_TEST_ARCHIVER_PUB_H

#include "test_archiver_fixture.h"

#define T_SENSOR "itest-arm"
#define T_RATE 100.0 /* samples per second, as ingest-bt sends an LPMS at 100 Hz */

typedef struct pub {
	const char *uri;
	int first, n;    /* seqs first .. first + n - 1 */
	int per;         /* samples per message */
	int every_us;    /* pacing */
	atomic_int sent; /* handed to mqtt_publish */
	pthread_t th;
	int rc;
} pub;

/* Smooth signals, so that ae-train has something learnable. */
ARCH_FIXTURE float sample_value(uint64_t seq, size_t i, size_t c, int per)
{
	double t = (double)(seq * (uint64_t)per + i) / T_RATE;
	return (float)(sin(t * (1.0 + (double)c)) * 0.01 * (double)(c + 1));
}

/* Message seq of the synthetic stream of run `run`, per samples of three
 * channels, into r (msg_raw_init()ed by the caller). 0 or -1 (no asserts:
 * the publisher thread calls it). */
ARCH_FIXTURE int synth_raw(msg_raw *r, uint64_t seq, int per, const char *run)
{
	static const char *const ch[] = {"linacc_x", "linacc_y", "linacc_z"};
	float *rows = malloc((size_t)per * 3 * sizeof(*rows));
	int rc;
	if (!rows)
		return -1;
	for (size_t i = 0; i < (size_t)per; i++)
		for (size_t c = 0; c < 3; c++)
			rows[i * 3 + c] = sample_value(seq, i, c, per);
	rc = harness_raw_fill(r, T_SENSOR, run, seq,
			      1764151200.0 + (double)(seq * (uint64_t)per) / T_RATE,
			      T_RATE, ch, 3, rows, (size_t)per);
	free(rows);
	return rc;
}

/* The publisher's run: one per test process. */
ARCH_FIXTURE const char *pub_run(void)
{
	static char run[32];
	snprintf(run, sizeof(run), "run%d", (int)getpid());
	return run;
}

ARCH_FIXTURE void *pub_main(void *arg)
{
	pub *p = arg;
	harness_pub hp;
	msg_raw r;
	char client_id[64];

	p->rc = -1;
	msg_raw_init(&r);
	snprintf(client_id, sizeof(client_id), "itest-pub-%d", (int)getpid());
	if (harness_pub_open(&hp, p->uri, "itest-pub", client_id, 1))
		goto out;
	for (int q = p->first; q < p->first + p->n; q++) {
		if (synth_raw(&r, (uint64_t)q, p->per, pub_run()) ||
		    harness_pub_raw(&hp, &r))
			goto out;
		atomic_fetch_add(&p->sent, 1);
		if (p->every_us)
			usleep((useconds_t)p->every_us); /* pacing, not synchronisation */
	}
	/* every QoS 1 publish acknowledged by the broker before we leave */
	p->rc = harness_pub_close(&hp, 60000);
out:
	harness_pub_close(&hp, 0);
	msg_raw_cleanup(&r);
	return NULL;
}

/* Stream seqs first .. first + n - 1, per samples each, every_us apart. */
ARCH_FIXTURE void pub_start(pub *p, const char *uri, int first, int n, int per,
			    int every_us)
{
	memset(p, 0, sizeof(*p));
	p->uri = uri;
	p->first = first;
	p->n = n;
	p->per = per;
	p->every_us = every_us;
	assert_int_equal(pthread_create(&p->th, NULL, pub_main, p), 0);
}

ARCH_FIXTURE void pub_join(pub *p)
{
	pthread_join(p->th, NULL);
	assert_int_equal(p->rc, 0);
	assert_int_equal(atomic_load(&p->sent), p->n);
}

/* The ground truth: a persistent subscriber of T_SENSOR's raw topic,
 * independent of the archiver and of common/mqtt, started before the
 * stream (its session survives a broker restart with persistence on). */
ARCH_FIXTURE harness_sub *truth_new(const char *uri)
{
	harness_sub *s =
	    harness_sub_new(uri, "factory/" T_SENSOR "/raw", "itest-truth", 1);
	assert_non_null(s);
	return s;
}

/* The database holds seqs 0 .. n-1 of the stream of per samples: every one
 * exactly once, every sample there, no gap recorded, and each stored
 * message equal, bit for bit, to the one the ground truth received, which
 * in turn is the one the publisher computed. */
ARCH_FIXTURE void check_all(const char *db, harness_sub *truth, int n, int per)
{
	char sql[256];
	msg_raw *sent = NULL, want;
	size_t n_sent = 0;
	long long deadline = harness_now_ms() + 30000;

	/* the ground truth has all n (it may trail the archiver a little) */
	for (;;) {
		harness_sub_wait(truth, NULL, NULL, (size_t)n, 1000);
		raws_free(sent, n_sent);
		n_sent = raws_collect(truth, &sent);
		if (n_sent >= (size_t)n || harness_now_ms() >= deadline)
			break;
	}
	assert_int_equal(n_sent, n);
	msg_raw_init(&want);
	for (size_t i = 0; i < n_sent; i++) {
		assert_int_equal(sent[i].seq, i);
		assert_int_equal(synth_raw(&want, i, per, pub_run()), 0);
		assert_string_equal(sent[i].run, want.run);
		assert_int_equal(sent[i].n_samples, want.n_samples);
		assert_memory_equal(sent[i].samples, want.samples,
				    want.n_samples * 3 * sizeof(float));
	}
	msg_raw_cleanup(&want);

	assert_int_equal(db_messages(db), n);
	assert_int_equal(db_int(db, "SELECT count(DISTINCT seq) FROM messages"), n);
	assert_int_equal(db_int(db, "SELECT min(seq) FROM messages"), 0);
	assert_int_equal(db_int(db, "SELECT max(seq) FROM messages"), n - 1);
	assert_int_equal(db_int(db, "SELECT sum(n) FROM messages"), (long long)n * per);
	assert_int_equal(db_int(db, "SELECT count(*) FROM gaps"), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM messages WHERE length(samples) != %d",
		 (int)((size_t)per * 3 * sizeof(float)));
	assert_int_equal(db_int(db, sql), 0);
	assert_true(db_ok(db));
	check_db_equals(db, sent, n_sent);
	raws_free(sent, n_sent);
}

#endif
