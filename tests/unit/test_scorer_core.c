/* test_scorer_core — the scorer's core (services/scorer/scorer.c) driven with
 * real payloads and a recording publish callback, no broker: predictions
 * carry the offline scores (ae_score_batch on ae_make_windows of the same
 * rows) and the contract fields; malformed, oversized, wrong-channel and
 * mismatched payloads are counted and dropped without disturbing another
 * sensor; stale windows are skipped; replays (republished for the archive)
 * are counted and never scored; a second group member takes its share
 * of the sensors and gives them back when it goes offline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../services/scorer/partition.h"
#include "../../services/scorer/scorer.h"
#include "../harness/harness.h"
#include "ae_rng.h"
#include "aefile.h"
#include "clock.h"
#include "metrics.h"
#include "msg.h"

#define W 16
#define HOP 4
#define RATE 50.0
#define PER_MSG 8
#define MAX_PRED 4096

static const char *const ch[] = {"linacc_x", "linacc_y", "linacc_z"};

typedef struct fix {
	char dir[200];
	char path[256];
	model_map mm;
	metrics *m;
	scorer *sc;
	size_t n;
	msg_prediction pred[MAX_PRED];
	double t0;
} fix;

static int record(void *ud, const char *sensor, const char *payload, size_t len)
{
	fix *f = ud;
	char err[MSG_ERR_MAX];
	assert_true(f->n < MAX_PRED);
	assert_int_equal(
	    msg_prediction_decode(payload, len, &f->pred[f->n], err, sizeof err), 0);
	assert_string_equal(f->pred[f->n].sensor, sensor);
	f->n++;
	return 0;
}

static int64_t get(const fix *f, const char *name)
{
	return metrics_read(metrics_get(f->m, name));
}

static int setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));
	const size_t hidden[] = {5};
	ae_spec s = {ch, 3, W, HOP, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	ae_model m;
	ae_rng r;
	char err[512];
	scorer_opts o = {.root = "factory",
			 .self = "me",
			 .group = "g",
			 .max_age_s = 60,
			 .batch_max = 7, /* forces flushes inside a message too */
			 .max_sensors = 100,
			 .max_payload = 64 * 1024};

	assert_non_null(f);
	assert_int_equal(harness_tmpdir_new("test_scorer_core", f->dir, sizeof(f->dir)),
			 0);
	snprintf(f->path, sizeof(f->path), "%s/m.aem", f->dir);
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), 0);
	ae_rng_seed(&r, 7);
	for (size_t i = 0; i < m.n_params; i++)
		m.params[i] = (float)(ae_rng_uniform(&r) - 0.5) * 0.3f;
	for (size_t c = 0; c < 3; c++) {
		m.mean[c] = 0.01f * (float)c;
		m.std[c] = 0.02f;
	}
	m.threshold = 2.0f;
	snprintf(m.meta.name, sizeof(m.meta.name), "unit");
	assert_int_equal(aefile_save(&m, f->path, err, sizeof err), 0);
	ae_model_cleanup(&m);

	models_init(&f->mm);
	assert_int_equal(models_add_rule(&f->mm, f->path, err, sizeof err), 0);
	assert_int_equal(models_load_all(&f->mm, err, sizeof err), 0);
	f->m = metrics_new();
	f->sc = scorer_new(&o, &f->mm, f->m, record, f, err, sizeof err);
	assert_non_null(f->sc);
	f->t0 = clock_now() - 5.0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix *f = *state;
	scorer_free(f->sc);
	models_cleanup(&f->mm);
	metrics_free(f->m);
	harness_rm_tree(f->dir);
	free(f);
	return 0;
}

/* Signal of sensor s at row k, channel c: spiky for s == 1 after row 100. */
static float value(size_t s, size_t k, size_t c)
{
	double v = 0.02 * sin(0.3 * (double)k + (double)(s * 3 + c));
	if (s == 1 && k >= 100)
		v += 0.5 * ((k % 3) ? 1 : -1);
	return (float)v;
}

static int g_replay; /* send_msg marks its messages as replays */

/* Publish message `seq` of sensor s (rows seq*PER_MSG ...) into the core. */
static void send_msg(fix *f, size_t s, uint64_t seq, double t_base)
{
	msg_raw r;
	char payload[16384], topic[128], err[MSG_ERR_MAX];
	size_t len;
	msg_raw_init(&r);
	snprintf(r.sensor, sizeof(r.sensor), "s%zu", s);
	snprintf(r.run, sizeof(r.run), "run");
	r.seq = seq;
	r.replay = g_replay;
	r.t0 = t_base + (double)(seq * PER_MSG) / RATE;
	r.rate_hz = RATE;
	r.n_channels = 3;
	for (size_t c = 0; c < 3; c++)
		snprintf(r.channels[c], sizeof(r.channels[c]), "%s", ch[c]);
	assert_int_equal(msg_raw_reserve(&r, PER_MSG), 0);
	r.n_samples = PER_MSG;
	for (size_t k = 0; k < PER_MSG; k++)
		for (size_t c = 0; c < 3; c++)
			r.samples[k * 3 + c] = value(s, seq * PER_MSG + k, c);
	assert_int_equal(
	    msg_raw_encode(&r, payload, sizeof payload, &len, err, sizeof err), 0);
	snprintf(topic, sizeof(topic), "factory/%s/raw", r.sensor);
	scorer_handle(f->sc, topic, payload, len, clock_mono_ns());
	msg_raw_cleanup(&r);
}

/* Offline scores of sensor s's first n_rows rows. */
static size_t offline(fix *f, size_t s, size_t n_rows, float *scores)
{
	const ae_model *m = &f->mm.slots[0].model;
	float *rows = malloc(n_rows * 3 * sizeof(float));
	size_t nw = ae_window_count(n_rows, W, HOP);
	float *win = malloc(nw * W * 3 * sizeof(float));
	ae_work w;
	char err[256];
	for (size_t k = 0; k < n_rows; k++)
		for (size_t c = 0; c < 3; c++)
			rows[k * 3 + c] = value(s, k, c);
	ae_standardise(m, rows, n_rows, rows);
	assert_int_equal(ae_make_windows(m, rows, n_rows, win), nw);
	assert_int_equal(ae_work_init(&w, m, 64, err, sizeof err), 0);
	ae_score_batch(m, win, nw, scores, &w);
	ae_work_cleanup(&w);
	free(win);
	free(rows);
	return nw;
}

static void test_scores_equal_offline(void **state)
{
	fix *f = *state;
	const size_t msgs = 25; /* 200 rows */
	float ref0[64], ref1[64];
	size_t n0 = 0, n1 = 0, nw;

	/* two sensors interleaved, as they arrive from a broker */
	for (uint64_t q = 0; q < msgs; q++) {
		send_msg(f, 0, q, f->t0);
		send_msg(f, 1, q, f->t0 + 0.003);
	}
	scorer_flush(f->sc);
	assert_int_equal(scorer_pending(f->sc), 0);
	nw = offline(f, 0, msgs * PER_MSG, ref0);
	assert_int_equal(offline(f, 1, msgs * PER_MSG, ref1), nw);
	assert_int_equal(f->n, 2 * nw);
	assert_int_equal(get(f, "windows_scored"), (int64_t)(2 * nw));
	assert_int_equal(get(f, "predictions_out"), (int64_t)(2 * nw));
	assert_true(get(f, "batches") >= (int64_t)(2 * nw / 7));
	for (size_t i = 0; i < f->n; i++) {
		const msg_prediction *p = &f->pred[i];
		int s1 = strcmp(p->sensor, "s1") == 0;
		size_t k = s1 ? n1++ : n0++;
		double base = f->t0 + (s1 ? 0.003 : 0);
		float ref = s1 ? ref1[k] : ref0[k];
		assert_true(fabs(p->score - ref) <= 1e-5 * fmax(1.0, fabs(ref)));
		assert_true(fabs(p->t - (base + (double)(k * HOP + W - 1) / RATE)) <
			    1e-6);
		assert_true(fabs(p->t_start - (base + (double)(k * HOP) / RATE)) < 1e-6);
		assert_int_equal(p->n, W);
		assert_true(p->threshold == 2.0);
		assert_int_equal(p->anomaly, p->score > 2.0);
		assert_string_equal(p->model, f->mm.slots[0].label);
		assert_true(p->latency_ms >= 0 && p->latency_ms < 5000);
	}
	assert_int_equal(n0, nw);
	/* the spiky sensor is anomalous after row 100, the quiet one never */
	assert_true(f->pred[2 * nw - 1].anomaly);
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pred[i].sensor, "s0") == 0)
			assert_false(f->pred[i].anomaly);
}

static void test_bad_payloads_counted_others_flow(void **state)
{
	fix *f = *state;
	static char huge[70 * 1024];
	const char *bad[] = {
	    "not json",
	    "{\"v\":1}",
	    "{\"v\":1,\"sensor\":\"s0\",\"run\":\"r\",\"seq\":0,\"t0\":1,\"rate_hz\":50,"
	    "\"channels\":[\"linacc_x\"],\"samples\":[[NaN]]}",
	    "{\"v\":1,\"sensor\":\"s0\",\"run\":\"r\",\"seq\":0,\"t0\":1,\"rate_hz\":50,"
	    "\"channels\":[\"linacc_x\",\"linacc_y\"],\"samples\":[[1,2,3]]}",
	    /* right shape, another sensor's id in the payload */
	    "{\"v\":1,\"sensor\":\"s9\",\"run\":\"r\",\"seq\":0,\"t0\":1,\"rate_hz\":50,"
	    "\"channels\":[\"linacc_x\"],\"samples\":[[1]]}",
	};
	size_t n_bad = sizeof(bad) / sizeof(bad[0]);

	memset(huge, '[', sizeof(huge));
	for (uint64_t q = 0; q < 10; q++) {
		send_msg(f, 0, q, f->t0);
		/* garbage on sensor s5's topic between good messages of s0 */
		scorer_handle(f->sc, "factory/s5/raw", bad[q % n_bad],
			      strlen(bad[q % n_bad]), clock_mono_ns());
		scorer_handle(f->sc, "factory/s5/raw", huge, sizeof(huge),
			      clock_mono_ns());
	}
	/* a message of s6 lacking linacc_z: dropped and counted */
	{
		const char *p =
		    "{\"v\":1,\"sensor\":\"s6\",\"run\":\"r\",\"seq\":0,\"t0\":1,"
		    "\"rate_hz\":50,\"channels\":[\"linacc_x\",\"linacc_y\"],"
		    "\"samples\":[[1,2]]}";
		scorer_handle(f->sc, "factory/s6/raw", p, strlen(p), clock_mono_ns());
	}
	/* topics that are not ours are ignored */
	scorer_handle(f->sc, "factory/s0/prediction", "x", 1, clock_mono_ns());
	scorer_handle(f->sc, "other/s0/raw", "x", 1, clock_mono_ns());
	scorer_flush(f->sc);
	assert_int_equal(f->n, ae_window_count(10 * PER_MSG, W, HOP));
	assert_int_equal(get(f, "malformed_dropped"), 10 + 10); /* 10 bad + 10 huge */
	assert_int_equal(get(f, "oversized_dropped"), 10);
	assert_int_equal(get(f, "channel_mismatch"), 1);
	assert_int_equal(get(f, "raw_in"), 10 + 20 + 1);
}

static void test_stale_windows_skipped(void **state)
{
	fix *f = *state;
	double old = clock_now() - 3600; /* a backlog from an hour ago */
	for (uint64_t q = 0; q < 10; q++)
		send_msg(f, 0, q, old);
	scorer_flush(f->sc);
	assert_int_equal(f->n, 0);
	assert_int_equal(get(f, "stale_skipped"), (int64_t)ae_window_count(80, W, HOP));
	/* live data resumes (new run): scored again */
	for (uint64_t q = 0; q < 4; q++)
		send_msg(f, 2, q, f->t0);
	scorer_flush(f->sc);
	assert_int_equal(f->n, ae_window_count(32, W, HOP));
}

static void member(fix *f, const char *id, const char *kind, const char *payload)
{
	char topic[128];
	snprintf(topic, sizeof(topic), "factory/_svc/scorer/%s/%s", id, kind);
	scorer_handle(f->sc, topic, payload, strlen(payload), clock_mono_ns());
}

/* Replays of a sensor's messages (the archive's repair) are counted and
 * skipped: no prediction, no disturbance of its live windows. */
static void test_replays_skipped(void **state)
{
	fix *f = *state;
	size_t live;
	for (uint64_t q = 0; q < 10; q++)
		send_msg(f, 0, q, f->t0);
	scorer_flush(f->sc);
	live = f->n;
	assert_true(live > 0);
	g_replay = 1;
	for (uint64_t q = 0; q < 25; q++)
		send_msg(f, 0, q, f->t0);
	g_replay = 0;
	scorer_flush(f->sc);
	assert_int_equal(f->n, live);
	assert_int_equal(get(f, "raw_replays_skipped"), 25);
	assert_int_equal(
	    get(f, "gaps_seq") + get(f, "duplicates") + get(f, "out_of_order"), 0);
	for (uint64_t q = 10; q < 20; q++)
		send_msg(f, 0, q, f->t0);
	scorer_flush(f->sc);
	assert_true(f->n > live);
}

static void test_group_split(void **state)
{
	fix *f = *state;
	const char *live[] = {"me", "other"};
	size_t mine = 0, want = 0;
	char id[16];

	member(f, "other", "status", "{\"v\":1,\"state\":\"online\"}");
	member(f, "other", "group", "{\"v\":1,\"group\":\"elsewhere\"}");
	assert_int_equal(scorer_members(f->sc), 1);
	/* live group messages are heartbeats: a member from the second */
	member(f, "other", "group", "{\"v\":1,\"group\":\"g\"}");
	member(f, "other", "group", "{\"v\":1,\"group\":\"g\"}");
	assert_int_equal(scorer_members(f->sc), 2);

	for (size_t s = 0; s < 40; s++)
		for (uint64_t q = 0; q < 2; q++)
			send_msg(f, s, q, f->t0);
	scorer_flush(f->sc);
	for (size_t s = 0; s < 40; s++) {
		snprintf(id, sizeof(id), "s%zu", s);
		want += part_owner(live, 2, id) == 0;
	}
	for (size_t i = 0; i < f->n; i++)
		mine++;
	/* 16 rows each: one window per owned sensor, none for the others */
	assert_int_equal(mine, want);
	assert_true(want > 8 && want < 32);
	assert_int_equal(get(f, "raw_not_owned"), (int64_t)(2 * (40 - want)));
	for (size_t i = 0; i < f->n; i++)
		assert_int_equal(part_owner(live, 2, f->pred[i].sensor), 0);

	/* the other goes offline (last will): its sensors come to us and
	 * start a fresh window: 2 more messages give one window each */
	member(f, "other", "status", "{\"v\":1,\"state\":\"offline\"}");
	assert_int_equal(scorer_members(f->sc), 1);
	f->n = 0;
	for (size_t s = 0; s < 40; s++)
		for (uint64_t q = 2; q < 4; q++)
			send_msg(f, s, q, f->t0);
	scorer_flush(f->sc);
	/* ours continue (16 more rows: 4 windows), theirs start (1 window) */
	assert_int_equal(f->n, want * 4 + (40 - want) * 1);
	assert_int_equal(get(f, "handovers_in"), (int64_t)(40 - want));
	/* garbage membership payloads change nothing */
	member(f, "x", "status", "garbage");
	member(f, "x", "group", "");
	assert_int_equal(scorer_members(f->sc), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_scores_equal_offline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_payloads_counted_others_flow, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stale_windows_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replays_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_split, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
