/* Integration test of the real chain into bin/archiver: bin/lpms-emu
 * replaying a recording -> bin/ingest-bt -> mosquitto -> bin/archiver,
 * killed with SIGKILL five times while the stream runs: an independent
 * persistent subscriber (started before the stream) is the ground truth,
 * and afterwards the database holds each of its (sensor, run, seq) exactly
 * once with the same samples bit for bit, missing only what ingest itself
 * reported lost; then the recording retrains (export -> ae-train ->
 * bin/scorer serves the new model). */
#include "test_archiver_fixture.h"

/* ---- the real chain: lpms-emu -> ingest-bt -> broker -> archiver ----------- */

#define CHAIN_CSV "data/lpms-b2/normal_20170202_2229.csv"
#define CHAIN_ROWS 6613 /* data rows of CHAIN_CSV: frames 0 .. 6612 */
#define CHAIN_SENSOR "itest-chain"

static int read_first_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;
	if (!f)
		return -1;
	ok = fgets(out, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] ? 0 : -1;
}

/* Scans the subscriber's raw messages once each (msgs only grows) for the
 * recording's last row. */
typedef struct last_frame_scan {
	size_t next;
	int seen;
} last_frame_scan;

static int has_last_frame(const harness_msg *msgs, size_t n, void *ud)
{
	last_frame_scan *s = ud;
	msg_raw r;
	char err[128];
	msg_raw_init(&r);
	for (; s->next < n && !s->seen; s->next++)
		if (!msg_raw_decode(msgs[s->next].payload, msgs[s->next].len, &r, err,
				    sizeof(err)) &&
		    r.has_frame0 && r.frame0 + (int64_t)r.n_samples == CHAIN_ROWS)
			s->seen = 1;
	msg_raw_cleanup(&r);
	return s->seen;
}

/* Ingest's counters, from its metrics message. */
typedef struct ingest_counts {
	long long want_published; /* wait for raw_published to reach this */
	long long published, publish_failed, frames_lost, samples_in;
} ingest_counts;

static long long json_counter(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static int has_published(const harness_msg *msgs, size_t n, void *ud)
{
	ingest_counts *c = ud;
	for (size_t i = n; i-- > 0;) {
		cJSON *o = cJSON_ParseWithLength(msgs[i].payload, msgs[i].len);
		long long p = json_counter(o, "raw_published");
		if (p >= c->want_published) {
			c->published = p;
			c->publish_failed = json_counter(o, "raw_publish_failed");
			c->frames_lost = json_counter(o, "frames_lost");
			c->samples_in = json_counter(o, "samples_in");
		}
		cJSON_Delete(o);
		if (p >= 0) /* only the latest message counts */
			return p >= c->want_published;
	}
	return 0;
}

static int raw_cmp(const void *a, const void *b)
{
	const msg_raw *x = a, *y = b;
	int c = strcmp(x->run, y->run);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Everything the subscriber got on the raw topic, decoded, sorted by (run,
 * seq), duplicates (QoS 1 redelivery to the subscriber itself) removed after
 * checking they are identical. *out is owned by the caller (raws_free). */
static size_t raws_collect(harness_sub *sub, msg_raw **out)
{
	size_t n = harness_sub_count(sub), k = 0;
	msg_raw *v = calloc(n ? n : 1, sizeof(*v));
	char err[256];
	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		harness_msg m;
		assert_int_equal(harness_sub_get(sub, i, &m), 0);
		msg_raw_init(&v[i]);
		if (msg_raw_decode(m.payload, m.len, &v[i], err, sizeof(err))) {
			fprintf(stderr, "ingest published a bad raw message: %s\n", err);
			fail();
		}
		harness_msg_cleanup(&m);
	}
	qsort(v, n, sizeof(*v), raw_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k && !raw_cmp(&v[k - 1], &v[i])) {
			assert_int_equal(v[i].n_samples, v[k - 1].n_samples);
			msg_raw_cleanup(&v[i]);
			continue;
		}
		if (k != i) {
			v[k] = v[i];
			msg_raw_init(&v[i]);
		}
		k++;
	}
	*out = v;
	return k;
}

static void raws_free(msg_raw *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		msg_raw_cleanup(&v[i]);
	free(v);
}

/* The database holds message r exactly once, with r's samples (bit for bit,
 * float32 both), channels, t0, rate and frame0. */
static void check_stored(sqlite3_stmt *q, const msg_raw *r)
{
	char names[MSG_MAX_CHANNELS * (MSG_CHANNEL_MAX + 1) + 1] = "";
	const float *blob;
	size_t off = 0;
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, r->sensor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, r->run, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)r->seq);
	if (sqlite3_step(q) != SQLITE_ROW) {
		fprintf(stderr, "(%s, %s, %llu) is not in the database\n", r->sensor,
			r->run, (unsigned long long)r->seq);
		fail();
	}
	for (size_t c = 0; c < r->n_channels; c++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
					c ? "," : "", r->channels[c]);
	assert_int_equal(sqlite3_column_int64(q, 0), (long long)r->n_samples);
	assert_string_equal((const char *)sqlite3_column_text(q, 1), names);
	assert_true(sqlite3_column_double(q, 2) == r->t0);
	assert_true(sqlite3_column_double(q, 3) == r->rate_hz);
	assert_int_equal(sqlite3_column_int64(q, 4), r->frame0);
	assert_int_equal(sqlite3_column_bytes(q, 5),
			 (int)(r->n_samples * r->n_channels * sizeof(float)));
	blob = sqlite3_column_blob(q, 5);
	for (size_t i = 0; i < r->n_samples; i++)
		for (size_t c = 0; c < r->n_channels; c++) {
			float want = r->samples[i * r->n_channels + c], got;
			memcpy(&got, &blob[c * r->n_samples + i], sizeof(got));
			if (memcmp(&got, &want, sizeof(got))) {
				fprintf(stderr,
					"seq %llu row %zu %s: %.9g stored, %.9g sent\n",
					(unsigned long long)r->seq, i, r->channels[c],
					(double)got, (double)want);
				fail();
			}
		}
	assert_int_equal(sqlite3_step(q), SQLITE_DONE); /* once */
}

static void test_chain_kill9_five_times(void **state)
{
	harness_broker b = {0};
	harness_sub *raw, *met;
	arch a;
	char db[512], portf[600], port[64], src[128], elog[512], ilog[512];
	last_frame_scan lf = {0};
	ingest_counts ic = {0};
	msg_raw *sent = NULL;
	size_t n_sent, samples = 0;
	long long holes = 0, kills_streaming = 0;
	pid_t emu, ing;
	sqlite3 *h;
	sqlite3_stmt *q;
	int st;
	(void)state;

	assert_int_equal(harness_broker_start(&b, broker_conf), 0);
	snprintf(db, sizeof(db), "%s/chain.db", harness_tmpdir());
	arch_init(&a, &b, db);
	arch_start(&a); /* its persistent session exists before the stream */
	/* the ground truth: every raw message ingest publishes */
	raw = harness_sub_new(b.uri, "factory/" CHAIN_SENSOR "/raw", "itest-chain-truth",
			      1);
	met = harness_sub_new(b.uri, "factory/_svc/ingest-bt/+/metrics", NULL, 0);
	assert_non_null(raw);
	assert_non_null(met);

	/* the sensor: the recording at 20x (50 Hz -> 1000 rows/s, ~6.6 s),
	 * every row from frame 0 (command mode until ingest starts the stream) */
	snprintf(portf, sizeof(portf), "%s/emu.port", harness_tmpdir());
	{
		const char *argv[] = {harness_bin("lpms-emu"),
				      "--listen-port",
				      "0",
				      "--port-file",
				      portf,
				      "--replay",
				      harness_shared(CHAIN_CSV),
				      "--speed",
				      "20",
				      "--no-start-streaming",
				      NULL};
		long long end = harness_now_ms() + 10000;
		emu = harness_spawn(argv, NULL, elog, sizeof(elog));
		assert_true(emu > 0);
		while (read_first_line(portf, port, sizeof(port))) {
			assert_true(harness_now_ms() < end);
			harness_nap_ms(20);
		}
	}
	snprintf(src, sizeof(src), "tcp:127.0.0.1:%s#" CHAIN_SENSOR, port);
	{
		const char *argv[] = {
		    harness_bin("ingest-bt"), "--broker", b.uri, "--instance", "itest",
		    "--metrics-interval",     "300",      src,   NULL};
		ing = harness_spawn(argv, NULL, ilog, sizeof(ilog));
		assert_true(ing > 0);
	}

	/* five kills spread over the stream (~662 messages): at 1/6 .. 5/6 */
	for (int k = 1; k <= 5; k++) {
		long long want = (long long)k * (CHAIN_ROWS / 10) / 6;
		if (wait_messages(db, want, 20000)) {
			fprintf(stderr,
				"kill %d: %lld messages stored, waited for %lld; logs %s "
				"%s\n",
				k, db_messages(db), want, a.log, ilog);
			fail();
		}
		kills_streaming += harness_sub_wait(raw, has_last_frame, &lf, 0, 0) != 0;
		harness_kill9(a.pid);
		arch_start(&a);
	}
	fprintf(stderr, "%lld of 5 kills while the stream was on\n", kills_streaming);
	assert_true(kills_streaming >= 3); /* all 5 when the machine is not loaded */

	/* the stream ends: the recording's last row went over the broker, and
	 * ingest's metrics count every message it published */
	if (harness_sub_wait(raw, has_last_frame, &lf, 0, 60000)) {
		fprintf(stderr, "the last row never came; logs %s %s\n", elog, ilog);
		fail();
	}
	n_sent = raws_collect(raw, &sent);
	ic.want_published = (long long)n_sent;
	assert_int_equal(harness_sub_wait(met, has_published, &ic, 0, 10000), 0);
	st = harness_stop(ing, SIGTERM, 10000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = harness_stop(emu, SIGTERM, 5000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* nothing more arrived after the metrics said n_sent */
	raws_free(sent, n_sent);
	n_sent = raws_collect(raw, &sent);
	assert_int_equal((long long)n_sent, ic.published);

	/* what ingest reported lost is the only thing allowed to be missing */
	for (size_t i = 0; i < n_sent; i++) {
		samples += sent[i].n_samples;
		if (i && !strcmp(sent[i].run, sent[i - 1].run))
			holes += (long long)(sent[i].seq - sent[i - 1].seq - 1);
		else
			holes += (long long)sent[i].seq;
	}
	assert_int_equal(holes, ic.publish_failed);
	assert_int_equal((long long)samples, ic.samples_in);
	assert_int_equal((long long)samples + ic.frames_lost, CHAIN_ROWS);

	/* the archiver catches up; then every message exactly once, as sent */
	if (wait_messages(db, (long long)n_sent, 30000))
		fprintf(stderr, "only %lld of %zu messages; log %s\n", db_messages(db),
			n_sent, a.log);
	arch_stop(&a);
	assert_int_equal(db_messages(db), (long long)n_sent);
	assert_int_equal(db_int(db, "SELECT sum(n) FROM messages"), (long long)samples);
	assert_int_equal(
	    db_int(db, "SELECT coalesce(sum(seq_to - seq_from + 1), 0) FROM gaps"),
	    holes);
	assert_true(db_ok(db));
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(
			     h,
			     "SELECT m.n, c.names, m.t0, m.rate_hz, m.frame0, m.samples "
			     "FROM messages m JOIN sensors s ON s.id = m.sensor_id "
			     "JOIN runs r ON r.id = m.run_id "
			     "JOIN chansets c ON c.id = m.chanset_id "
			     "WHERE s.name = ?1 AND r.run = ?2 AND m.seq = ?3",
			     -1, &q, NULL),
			 SQLITE_OK);
	for (size_t i = 0; i < n_sent; i++)
		check_stored(q, &sent[i]);
	sqlite3_finalize(q);
	sqlite3_close(h);

	/* the recording retrains, and the scorer serves the new model */
	{
		char model[600];
		retrain(db, CHAIN_SENSOR, "chain", model, sizeof(model));
		score_with(b.uri, CHAIN_SENSOR, model, sent, n_sent);
	}
	raws_free(sent, n_sent);
	harness_sub_free(raw);
	harness_sub_free(met);
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_kill9_five_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
