/* The fixture of the archiver's integration tests (test_archiver.c and
 * test_archiver_full.c: a publisher in the test, test_archiver_pub.h;
 * test_archiver_chain.c: the real chain): the archiver process (start, wait
 * for its retained status, kill, stop), the database checks, the comparison
 * of the database with a ground-truth subscriber's messages bit for bit, and
 * the retraining loop (export -> bin/ae-train -> bin/scorer serving the
 * model). Header-only (static functions, as test_alerter_httpd.h);
 * ARCH_FIXTURE marks them unused-ok, as each test uses only some. */
#ifndef ANOMESH_TEST_ARCHIVER_FIXTURE_H
#define ANOMESH_TEST_ARCHIVER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../harness/harness.h"
#include "../harness/mesh.h"
#include "aefile.h"
#include "clock.h"
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARCH_FIXTURE static __attribute__((unused))

ARCH_FIXTURE const char *broker_conf =
    "max_queued_messages 1000000\nmax_inflight_messages 20\n";

/* ---- archiver process ------------------------------------------------------ */

typedef struct arch {
	const char *uri;
	char db[512];
	char log[512];
	const char *const *extra; /* more arguments, NULL-ended (NULL: none) */
	pid_t pid;
	harness_sub *status; /* factory/_svc/archiver/itest/status */
} arch;

ARCH_FIXTURE void arch_start(arch *a)
{
	char pidtxt[32];
	const char *argv[32] = {harness_bin("archiver"),
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
				"5"};
	size_t n = 15;
	for (size_t i = 0; a->extra && a->extra[i] && n < 31; i++)
		argv[n++] = a->extra[i];
	argv[n] = NULL;
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

ARCH_FIXTURE void arch_init(arch *a, const harness_broker *b, const char *db)
{
	memset(a, 0, sizeof(*a));
	a->uri = b->uri;
	snprintf(a->db, sizeof(a->db), "%s", db);
	a->status = harness_sub_new(b->uri, "factory/_svc/archiver/+/status", NULL, 0);
	assert_non_null(a->status);
}

/* SIGTERM: must exit 0 by itself (it commits what it has). */
ARCH_FIXTURE void arch_stop(arch *a)
{
	int st = harness_stop(a->pid, SIGTERM, 10000);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	a->pid = 0;
}

/* ---- database checks -------------------------------------------------------- */

ARCH_FIXTURE long long db_int(const char *db, const char *sql)
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
ARCH_FIXTURE int db_ok(const char *db)
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

ARCH_FIXTURE long long db_messages(const char *db)
{
	return db_int(db, "SELECT count(*) FROM messages");
}

ARCH_FIXTURE int wait_messages(const char *db, long long n, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	while (harness_now_ms() < deadline) {
		if (db_messages(db) >= n)
			return 0;
		harness_nap_ms(50);
	}
	return -1;
}

/* Run a program to completion (deadline), return its exit status. */
ARCH_FIXTURE int run_prog(const char *const argv[], int timeout_ms)
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
	if (!harness_exited_ok(st)) {
		FILE *f = fopen(log, "r");
		char line[1024];
		fprintf(stderr, "%s failed (status %d); its log %s:\n", argv[0], st, log);
		while (f && fgets(line, sizeof(line), f))
			fputs(line, stderr);
		if (f)
			fclose(f);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the database against the ground truth ------------------------------------ */

ARCH_FIXTURE int raw_cmp(const void *a, const void *b)
{
	const msg_raw *x = a, *y = b;
	int c = strcmp(x->run, y->run);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The ground truth: everything a subscriber independent of the archiver
 * (a persistent harness_sub on the raw topic, started before the stream)
 * got, decoded, sorted by (run, seq), duplicates (QoS 1 redelivery to the
 * subscriber itself) removed after checking they are identical. *out is
 * owned by the caller (raws_free). */
ARCH_FIXTURE size_t raws_collect(harness_sub *sub, msg_raw **out)
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

ARCH_FIXTURE void raws_free(msg_raw *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		msg_raw_cleanup(&v[i]);
	free(v);
}

/* The database holds message r exactly once, with r's samples (bit for bit,
 * float32 both), channels, t0, rate and frame0. */
ARCH_FIXTURE void check_stored(sqlite3_stmt *q, const msg_raw *r)
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

/* The database holds exactly the n messages sent (sorted as raws_collect
 * leaves them): each once, with the same samples bit for bit, channels, t0,
 * rate and frame0, and nothing else. */
ARCH_FIXTURE void check_db_equals(const char *db, const msg_raw *sent, size_t n)
{
	sqlite3 *h;
	sqlite3_stmt *q;
	assert_int_equal(db_messages(db), (long long)n);
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
	for (size_t i = 0; i < n; i++)
		check_stored(q, &sent[i]);
	sqlite3_finalize(q);
	sqlite3_close(h);
}

/* ---- the retraining loop ------------------------------------------------------- */

/* The retraining loop: archiver export -> bin/ae-train -> a model file that
 * loads as the scorer loads it (aefile_load) with the exported channels. */
ARCH_FIXTURE void retrain(const char *db, const char *sensor, const char *tag,
			  char *model, size_t model_len)
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
ARCH_FIXTURE void score_with(const char *uri, const char *sensor, const char *model,
			     const msg_raw *raws, size_t n)
{
	char mrule[700], slog[512], want[800], label[128] = "", line[1024], err[256];
	char ptopic[128];
	harness_sub *pred;
	harness_pub pub;
	msg_prediction p;
	harness_msg hm;
	size_t i;
	FILE *f;
	pid_t pid;

	snprintf(ptopic, sizeof(ptopic), "factory/%s/prediction", sensor);
	pred = harness_sub_new(uri, ptopic, NULL, 0);
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
	/* loaded: "model FILE added: now serving LABEL (its rules), 3 channels,
	 * window 20 samples at R Hz, hop 20, ..." */
	snprintf(want, sizeof(want), "model %s added: now serving ", model);
	if (harness_wait_file_count(slog, want, 1, 15000)) {
		fprintf(stderr, "scorer did not load %s; log %s\n", model, slog);
		fail();
	}
	f = fopen(slog, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *s = strstr(line, want);
		if (s) {
			s += strlen(want);
			snprintf(label, sizeof(label), "%.*s", (int)strcspn(s, " ,"), s);
			assert_non_null(strstr(s, ", 3 channels, window 20 samples at "));
			assert_non_null(strstr(s, ", hop 20,"));
		}
	}
	fclose(f);
	assert_true(label[0] != '\0');

	assert_int_equal(harness_pub_open(&pub, uri, "itest-pub", NULL, 0), 0);
	for (i = 0; i < n && harness_sub_count(pred) == 0; i++) {
		assert_int_equal(harness_pub_raw(&pub, &raws[i]), 0);
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
	assert_int_equal(harness_pub_close(&pub, 10000), 0);
	assert_true(harness_exited_ok(harness_stop(pid, SIGTERM, 10000)));
	harness_sub_free(pred);
}

#endif
