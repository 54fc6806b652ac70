/* The fixture of the archiver's integration tests (test_archiver.c:
 * a publisher in the test; test_archiver_chain.c: the real chain): the
 * archiver process (start, wait for its retained status, kill, stop), the
 * database checks, and the retraining loop (export -> bin/ae-train ->
 * bin/scorer serving the model). Header-only (static functions, as
 * test_alerter_httpd.h); both tests use all of it. */
#ifndef ANOMESH_TEST_ARCHIVER_FIXTURE_H
#define ANOMESH_TEST_ARCHIVER_FIXTURE_H

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

static const char *broker_conf =
    "max_queued_messages 1000000\nmax_inflight_messages 20\n";

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

#endif
