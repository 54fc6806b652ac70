/* Integration tests for bin/archiver against a real mosquitto:
 *  - kill -9 of the archiver five times while a publisher streams QoS 1 raw
 *    messages: afterwards the database holds every published sample
 *    exactly once, and no gap;
 *  - a broker restart (persistence on) while streaming: the same;
 *  - a full disk (a 1 MiB tmpfs; skipped without the right to mount): the
 *    archiver says so, stays up, and after the file system grows it holds
 *    every sample, with an intact database;
 *  - export -> bin/ae-train -> a model file that loads (aefile_load), and
 *    that the real bin/scorer loads for the sensor and predicts with;
 *  - the real chain: bin/lpms-emu replaying a recording -> bin/ingest-bt ->
 *    mosquitto -> bin/archiver, killed with SIGKILL five times while the
 *    stream runs: an independent persistent subscriber (started before the
 *    stream) is the ground truth, and afterwards the database holds each of
 *    its (sensor, run, seq) exactly once with the same samples bit for bit,
 *    missing only what ingest itself reported lost; then the recording
 *    retrains (export -> ae-train -> bin/scorer serves the new model).
 * In the first three tests the publisher is in the test (common/mqtt,
 * persistent session, QoS 1) so that the exact set of published messages is
 * known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../harness/harness.h"
#include "aefile.h"
#include "clock.h"
#include "metrics.h"
#include "mqtt.h"
#include "msg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* ---- archiver process ------------------------------------------------------ */

typedef struct arch {
	const char *uri;
	char db[512];
	char log[512];
	pid_t pid;
	harness_sub *status; /* factory/_svc/archiver/itest/status */
} arch;

static void arch_start(arch *a)
{
	char pidtxt[32];
	const char *argv[] = {harness_bin("archiver"),
			      "--broker",
			      a->uri,
			      "--db",
			      a->db,
			      "--instance",
			      "itest",
			      "--commit-ms",
			      "50",
			      "--retry-ms",
			      "200",
			      "--metrics-interval",
			      "500",
			      "--shutdown-deadline",
			      "5",
			      NULL};
	a->pid = harness_spawn(argv, NULL, a->log, sizeof(a->log));
	assert_true(a->pid > 0);
	snprintf(pidtxt, sizeof(pidtxt), "\"pid\":%d", (int)a->pid);
	if (harness_sub_wait_topic(a->status, "factory/_svc/archiver/itest/status",
				   pidtxt, 15000) < 0) {
		fprintf(stderr, "archiver (pid %d) not online; log %s\n", (int)a->pid,
			a->log);
		fail();
	}
}

static void arch_init(arch *a, const harness_broker *b, const char *db)
{
	memset(a, 0, sizeof(*a));
	a->uri = b->uri;
	snprintf(a->db, sizeof(a->db), "%s", db);
	a->status = harness_sub_new(b->uri, "factory/_svc/archiver/+/status", NULL, 0);
	assert_non_null(a->status);
}

/* SIGTERM: must exit 0 by itself (it commits what it has). */
static void arch_stop(arch *a)
{
	int st = harness_stop(a->pid, SIGTERM, 10000);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	a->pid = 0;
}

/* ---- database checks -------------------------------------------------------- */

static long long db_int(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *q;
	long long v = -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	sqlite3_close(h);
	return v;
}

/* PRAGMA integrity_check says "ok". */
static int db_ok(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *q;
	int ok = 0;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK) {
		ok = sqlite3_step(q) == SQLITE_ROW &&
		     !strcmp((const char *)sqlite3_column_text(q, 0), "ok");
		sqlite3_finalize(q);
	}
	sqlite3_close(h);
	return ok;
}

static long long db_messages(const char *db)
{
	return db_int(db, "SELECT count(*) FROM messages");
}

static int wait_messages(const char *db, long long n, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	while (harness_now_ms() < deadline) {
		if (db_messages(db) >= n)
			return 0;
		harness_nap_ms(50);
	}
	return -1;
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

/* Run a program to completion (deadline), return its exit status. */
static int run_prog(const char *const argv[], int timeout_ms)
{
	char log[512];
	pid_t pid = harness_spawn(argv, NULL, log, sizeof(log));
	int st;
	if (pid <= 0)
		return -1;
	st = harness_wait_exit(pid, timeout_ms);
	if (st == -1) {
		harness_kill9(pid);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "cat '%s' >&2", log);
		if (system(cmd)) {
		}
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int file_contains(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int found = 0;
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* The retraining loop: archiver export -> bin/ae-train -> a model file that
 * loads as the scorer loads it (aefile_load) with the exported channels. */
static void retrain(const char *db, const char *sensor, const char *tag, char *model,
		    size_t model_len)
{
	char csv[600], err[256];
	ae_model m;
	snprintf(csv, sizeof(csv), "%s/export-%s.csv", harness_tmpdir(), tag);
	snprintf(model, model_len, "%s/retrained-%s.aem", harness_tmpdir(), tag);
	const char *ex[] = {harness_bin("archiver"),
			    "export",
			    "--db",
			    db,
			    "--sensor",
			    sensor,
			    "--channels",
			    "linacc_x,linacc_y,linacc_z",
			    "--out",
			    csv,
			    NULL};
	assert_int_equal(run_prog(ex, 30000), 0);
	const char *tr[] = {harness_bin("ae-train"),
			    "--data",
			    csv,
			    "--out",
			    model,
			    "--channels",
			    "linacc_x,linacc_y,linacc_z",
			    "--window",
			    "20",
			    "--hop",
			    "20",
			    "--hidden",
			    "8",
			    "--epochs",
			    "3",
			    NULL};
	assert_int_equal(run_prog(tr, 120000), 0);
	memset(&m, 0, sizeof(m));
	if (aefile_load(model, &m, err, sizeof(err)))
		fprintf(stderr, "aefile_load: %s\n", err);
	assert_int_equal(m.n_channels, 3);
	assert_string_equal(m.channels[0], "linacc_x");
	assert_string_equal(m.channels[2], "linacc_z");
	ae_model_cleanup(&m);
}

/* The retrained model in the real bin/scorer: it loads it for the sensor
 * (its start-up log line), and scores the recorded raw messages, published
 * again, with it: a prediction for the sensor over one window of 20 samples,
 * labelled with that model. Messages are published one at a time until the
 * first prediction (the scorer subscribes after it has loaded its models). */
static void score_with(const char *uri, const char *sensor, const char *model,
		       const msg_raw *raws, size_t n)
{
	char mrule[700], slog[512], want[800], label[128] = "", line[1024], err[256];
	char client_id[64], *pl = malloc(MSG_MAX_PAYLOAD + 1);
	char ptopic[128];
	harness_sub *pred;
	metrics *m = metrics_new();
	mqtt_options o;
	mqtt_client *c;
	msg_prediction p;
	harness_msg hm;
	long long end;
	size_t i, len;
	FILE *f;
	pid_t pid;
	int st;

	snprintf(ptopic, sizeof(ptopic), "factory/%s/prediction", sensor);
	pred = harness_sub_new(uri, ptopic, NULL, 0);
	assert_non_null(pl);
	assert_non_null(pred);
	snprintf(mrule, sizeof(mrule), "%s=%s", sensor, model);
	{
		const char *argv[] = {harness_bin("scorer"),
				      "--broker",
				      uri,
				      "--instance",
				      "itest",
				      "--model",
				      mrule,
				      "--max-age-s",
				      "0",
				      "--metrics-interval",
				      "300",
				      NULL};
		pid = harness_spawn(argv, NULL, slog, sizeof(slog));
		assert_true(pid > 0);
	}
	/* loaded: "model FILE: LABEL, 3 channels, window 20, hop 20, ..." */
	snprintf(want, sizeof(want), "model %s: ", model);
	end = harness_now_ms() + 15000;
	while (!file_contains(slog, want)) {
		if (harness_now_ms() >= end || harness_wait_exit(pid, 0) != -1) {
			fprintf(stderr, "scorer did not load %s; log %s\n", model, slog);
			fail();
		}
		harness_nap_ms(20);
	}
	f = fopen(slog, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *s = strstr(line, want);
		if (s) {
			s += strlen(want);
			snprintf(label, sizeof(label), "%.*s", (int)strcspn(s, ","), s);
			assert_non_null(strstr(s, ", 3 channels, window 20, hop 20,"));
		}
	}
	fclose(f);
	assert_true(label[0] != '\0');

	snprintf(client_id, sizeof(client_id), "itest-scorepub-%d", (int)getpid());
	mqtt_options_default(&o);
	o.uri = uri;
	o.root = "factory";
	o.service = "itest-pub";
	o.client_id = client_id;
	o.metrics_interval_ms = 0;
	c = mqtt_new(&o, m, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(mqtt_wait_connected(c, 10000), 0);
	for (i = 0; i < n && harness_sub_count(pred) == 0; i++) {
		assert_int_equal(msg_raw_encode(&raws[i], pl, MSG_MAX_PAYLOAD + 1, &len,
						err, sizeof(err)),
				 0);
		assert_int_equal(mqtt_publish_sensor(c, sensor, "raw", pl, len, 1, 0), 0);
		harness_sub_wait(pred, NULL, NULL, 1, 100); /* poll interval */
	}
	if (harness_sub_wait(pred, NULL, NULL, 1, 10000)) {
		fprintf(stderr, "no prediction after %zu raw messages; log %s\n", i,
			slog);
		fail();
	}
	assert_int_equal(harness_sub_get(pred, 0, &hm), 0);
	assert_int_equal(msg_prediction_decode(hm.payload, hm.len, &p, err, sizeof(err)),
			 0);
	assert_string_equal(p.sensor, sensor);
	assert_string_equal(p.model, label);
	assert_int_equal(p.n, 20);
	assert_true(isfinite(p.score) && p.score >= 0);
	harness_msg_cleanup(&hm);
	assert_int_equal(mqtt_shutdown(c, 10000), 0);
	mqtt_free(c);
	metrics_free(m);
	free(pl);
	st = harness_stop(pid, SIGTERM, 10000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	harness_sub_free(pred);
}

/* ---- tests ------------------------------------------------------------------- */

static char t_mnt[512];

static const char *broker_conf =
    "max_queued_messages 1000000\nmax_inflight_messages 20\n";

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
	    cmocka_unit_test(test_chain_kill9_five_times),
	    cmocka_unit_test(test_broker_restart),
	    cmocka_unit_test_teardown(test_full_disk, unmount_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
