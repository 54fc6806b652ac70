/* test_scorer — bin/scorer against a real mosquitto on a free loopback port.
 *
 *  - end to end on a recording with failures, twice: the synthetic arm with
 *    fault episodes (a recording the test writes, scored with
 *    models/arm-linacc.aem; always) and the real
 *    pre-fail_20170202_2234.csv (models/lpms-linacc.aem; optional, from
 *    ../shared or ANOMESH_SHARED: without it those cases say why and skip).
 *    Its rows are published as raw messages; every published score equals
 *    the offline score within 1e-5, window for window, with the same
 *    anomaly flags, and the failures come out anomalous (the real
 *    recording's stretches; each of the arm's episodes, and seldom its
 *    healthy stretches). The same through lpms-emu -> ingest-bt.
 *    "Offline" is the library the scorer itself links (ae_standardise,
 *    ae_make_windows, ae_score_batch on the same CSV and model file), so
 *    this proves windowing and transport, not the arithmetic; for that, a
 *    few windows' live scores are checked against a plain-loop reference of
 *    the model in double (tests/harness/aeref.h), computed from the rows
 *    that were published;
 *  - garbage, NaN, wrong channel sets and huge payloads on raw topics are
 *    counted in the scorer's metrics and dropped while another sensor's
 *    predictions keep flowing, all of them;
 *  - two scorers in one group: every window of every sensor is scored
 *    exactly once between them, and both take a share;
 *  - SIGHUP with a corrupt model file: refused (logged, counted), the old
 *    model keeps serving; a good new file is then taken.
 *
 * The raw messages are published by this test through common/mqtt
 * (tests/harness/mesh.h); the observer is the harness's independent Paho
 * subscriber. */
#include "../harness/aeref.h"
#include "../harness/harness.h"
#include "../harness/mesh.h"
#include "../harness/synth.h"
#include "ae.h"
#include "ae_data.h"
#include "aefile.h"
#include "clock.h"
#include "csv.h"
#include "metrics.h"
#include "mqtt.h"
#include "msg.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS 30000
#define MODEL "models/lpms-linacc.aem"
#define CSV "data/lpms-b2/pre-fail_20170202_2234.csv"
#define ARM_S 190 /* seconds of the synthetic arm, 50 Hz: as long as CSV */

typedef struct fixture {
	harness_broker broker;
	harness_pub pub;
	harness_sub *pred, *svc;
	pid_t scorer[2];
	char log[2][PATH_MAX];
	const char *max_age;      /* --max-age-s for the scorers, NULL: default */
	const char *const *extra; /* more options for the scorers, NULL-ended */
	struct source *src;       /* the case's recording (its initial state), or NULL */
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f)
		f->src = *state;
	if (!f || harness_broker_start(&f->broker, NULL) != 0 ||
	    harness_pub_open(&f->pub, f->broker.uri, "test-pub", NULL, 0))
		return -1;
	f->pred = harness_sub_new(f->broker.uri, "factory/+/prediction", NULL, 0);
	f->svc = harness_sub_new(f->broker.uri, "factory/_svc/scorer/#", NULL, 0);
	if (!f->pred || !f->svc)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	int rc = 0;
	if (!f)
		return 0;
	/* a scorer must stop cleanly on SIGTERM (exit 0; under SAN=1 that also
	 * means no leak or sanitizer report) */
	for (int i = 0; i < 2; i++)
		if (f->scorer[i] > 0) {
			int st = harness_stop(f->scorer[i], SIGTERM, 10000);
			if (!harness_exited_ok(st)) {
				fprintf(stderr,
					"scorer %d did not exit cleanly (status %d), log "
					"%s\n",
					i, st, f->log[i]);
				rc = -1;
			}
		}
	harness_sub_free(f->pred);
	harness_sub_free(f->svc);
	harness_pub_close(&f->pub, 0);
	harness_broker_stop(&f->broker);
	free(f);
	return rc;
}

static long long wait_metric(fixture *f, const char *inst, const char *name,
			     long long min);
static void probe_until_subscribed(fixture *f, const char *inst);

/* Start scorer number k as instance `inst` with extra arguments, and wait
 * for its retained online status and its raw subscription. */
static void start_scorer(fixture *f, int k, const char *inst, const char *model,
			 const char *group)
{
	char topic[128];
	const char *argv[24];
	int n = 0;
	argv[n++] = harness_bin("scorer");
	argv[n++] = "--broker";
	argv[n++] = f->broker.uri;
	argv[n++] = "--instance";
	argv[n++] = inst;
	argv[n++] = "--metrics-interval";
	argv[n++] = "300";
	argv[n++] = "--model";
	argv[n++] = model;
	argv[n++] = "--model-check-ms";
	argv[n++] = "3600000"; /* only SIGHUP reloads in these tests */
	if (group) {
		argv[n++] = "--group";
		argv[n++] = group;
	}
	if (f->max_age) {
		argv[n++] = "--max-age-s";
		argv[n++] = f->max_age;
	}
	for (size_t i = 0; f->extra && f->extra[i] && n < 22; i++)
		argv[n++] = f->extra[i];
	argv[n] = NULL;
	f->scorer[k] = harness_spawn(argv, NULL, f->log[k], sizeof(f->log[k]));
	assert_true(f->scorer[k] > 0);
	snprintf(topic, sizeof(topic), "factory/_svc/scorer/%s/status", inst);
	assert_true(harness_sub_wait_topic(f->svc, topic, "\"online\"", WAIT_MS) >= 0);
	probe_until_subscribed(f, inst);
}

/* Wait until scorer inst reports metric name >= min; returns its value. */
static long long wait_metric(fixture *f, const char *inst, const char *name,
			     long long min)
{
	char topic[128];
	long long v;
	snprintf(topic, sizeof(topic), "factory/_svc/scorer/%s/metrics", inst);
	if (harness_sub_wait_metric(f->svc, topic, name, min, WAIT_MS, &v) != 0)
		fprintf(stderr, "timeout waiting for %s %s >= %lld\n", inst, name, min);
	return v;
}

/* A source's pace, not a synchronisation: Paho 1.3 drains a *burst* of
 * QoS 1 publishes at ~20/s once 20 are in flight (see common/mqtt.c), while
 * publishes spread over time go out at once. 1 ms apart is 1,000 messages/s,
 * twice what 100 sensors at 50 Hz send. */
static void pace(void) { clock_sleep_ms(1); }

/* Publish rows[first .. first+n) (n_ch channels named ch) as one raw message. */
static void publish_rows(fixture *f, const char *sensor, const char *run, uint64_t seq,
			 double t0, const char *const *ch, size_t n_ch, const float *rows,
			 size_t n)
{
	msg_raw r;
	msg_raw_init(&r);
	assert_int_equal(
	    harness_raw_fill(&r, sensor, run, seq, t0, 50, ch, n_ch, rows, n), 0);
	assert_int_equal(harness_pub_raw(&f->pub, &r), 0);
	msg_raw_cleanup(&r);
	pace();
}

/* "online" is published on connect, before the subscriptions are made:
 * data published right then would be lost. Publish a one-sample probe on
 * factory/probe/raw until the scorer's metrics count a raw message. */
static void probe_until_subscribed(fixture *f, const char *inst)
{
	static const float one[3] = {0, 0, 0};
	const char *const ch[] = {"linacc_x", "linacc_y", "linacc_z"};
	char topic[128];
	long long deadline = harness_now_ms() + WAIT_MS;
	uint64_t seq = 0;
	snprintf(topic, sizeof(topic), "factory/_svc/scorer/%s/metrics", inst);
	do {
		publish_rows(f, "probe", inst, seq++, clock_now(), ch, 3, one, 1);
		if (harness_sub_wait_metric(f->svc, topic, "raw_in", 1, 400, NULL) == 0)
			return;
	} while (harness_now_ms() < deadline);
	fail_msg("scorer %s never counted a raw message", inst);
}

static void publish_text(fixture *f, const char *sensor, const char *payload, size_t len)
{
	assert_int_equal(harness_pub_text(&f->pub, sensor, "raw", payload, len), 0);
	pace();
}

/* All predictions of sensor (topic order = publish order), decoded. */
static size_t predictions_of(fixture *f, const char *sensor, msg_prediction *out,
			     size_t max)
{
	char topic[128], err[MSG_ERR_MAX];
	size_t k = 0, n = harness_sub_count(f->pred);
	snprintf(topic, sizeof(topic), "factory/%s/prediction", sensor);
	for (size_t i = 0; i < n && k < max; i++) {
		harness_msg m;
		assert_int_equal(harness_sub_get(f->pred, i, &m), 0);
		if (strcmp(m.topic, topic) == 0) {
			assert_int_equal(msg_prediction_decode(m.payload, m.len, &out[k],
							       err, sizeof err),
					 0);
			k++;
		}
		harness_msg_cleanup(&m);
	}
	return k;
}

static const char *const lin[] = {"linacc_x", "linacc_y", "linacc_z"};

/* Synthetic rows for sensor s: small sines. */
static float *sine_rows(size_t n, size_t s)
{
	float *x = malloc(n * 3 * sizeof(*x));
	assert_non_null(x);
	for (size_t k = 0; k < n; k++)
		for (size_t c = 0; c < 3; c++)
			x[k * 3 + c] =
			    (float)(0.005 * sin(0.2 * (double)k + (double)(s + c)));
	return x;
}

/* ---- end to end on a recording with failures -------------------------------- */

/* A recording with failures and the model that scores it. */
typedef struct source {
	const char *model; /* model file */
	const char *name;  /* "<its name>@", in every prediction */
	const char *csv;   /* the recording, once source_need() found it */
	int synthetic;     /* 1: the arm below, written by the test */
	arm_params arm;
} source;

static source g_real = {MODEL, "lpms-linacc@", NULL, 0, {0}};
static source g_arm = {"models/arm-linacc.aem", "arm-linacc@", NULL, 1, {0}};

/* The case's source, its recording at hand: the synthetic arm (seed 4,
 * episodes of 20 s at 10, 70 and 130 s: loose mount, worn joint, loose
 * mount) is written on first use; the real one may be missing, and the
 * case then skips saying so. */
static const source *source_need(source *src)
{
	if (!src->synthetic) {
		if (harness_shared_missing(CSV))
			skip();
		src->csv = harness_shared(CSV);
	} else if (!src->csv) {
		synth_arm_faulty(&src->arm, 4);
		src->csv = synth_arm_csv("arm-faulty.csv", &src->arm, 50, ARM_S);
		assert_non_null(src->csv);
	}
	return src;
}

/* The offline tool's scores of the recording: the same model file and CSV
 * through the same library functions the scorer calls (ae_rows_from_table,
 * ae_standardise, ae_make_windows, ae_score_batch). Equal live scores prove
 * the scorer's windowing and transport (every window cut as offline, no
 * sample lost, reordered or altered on the way), not the model's
 * arithmetic: that is check_reference(). */
typedef struct offline {
	ae_model m;
	float *rows; /* n_rows x 3: what is published */
	size_t n_rows, nw;
	float *ref; /* nw offline scores */
} offline;

static void offline_load(offline *o, const source *src)
{
	csv_table t;
	ae_work w;
	float *std, *win;
	char err[512];

	memset(o, 0, sizeof(*o));
	assert_int_equal(aefile_load(src->model, &o->m, err, sizeof err), 0);
	assert_int_equal(csv_read_file(src->csv, &t, err, sizeof err), 0);
	assert_int_equal(
	    ae_rows_from_table(&o->m, &t, 0, &o->rows, &o->n_rows, err, sizeof err), 0);
	csv_free(&t);
	o->nw = ae_window_count(o->n_rows, o->m.window, o->m.hop);
	assert_true(o->nw > 800);
	std = malloc(o->n_rows * o->m.n_channels * sizeof(*std));
	win = malloc(o->nw * ae_input_size(&o->m) * sizeof(*win));
	o->ref = malloc(o->nw * sizeof(*o->ref));
	assert_true(std && win && o->ref);
	ae_standardise(&o->m, o->rows, o->n_rows, std);
	assert_int_equal(ae_make_windows(&o->m, std, o->n_rows, win), o->nw);
	assert_int_equal(ae_work_init(&w, &o->m, 256, err, sizeof err), 0);
	ae_score_batch(&o->m, win, o->nw, o->ref, &w);
	ae_work_cleanup(&w);
	free(std);
	free(win);
}

static void offline_free(offline *o)
{
	ae_model_cleanup(&o->m);
	free(o->rows);
	free(o->ref);
}

/* Every live prediction has the offline score (within 1e-5, float32
 * through JSON) and the offline verdict, window for window; returns the
 * number of anomalous stretches (runs of anomalous windows). */
static size_t check_offline(const offline *o, const msg_prediction *pred)
{
	size_t runs = 0;
	for (size_t i = 0; i < o->nw; i++) {
		assert_true(fabs(pred[i].score - o->ref[i]) <=
			    1e-5 * fmax(1.0, fabs(o->ref[i])));
		if (fabs(o->ref[i] - o->m.threshold) > 1e-4)
			assert_int_equal(pred[i].anomaly, o->ref[i] > o->m.threshold);
		runs += pred[i].anomaly && (i == 0 || !pred[i - 1].anomaly);
	}
	return runs;
}

/* The failures came out anomalous. The real recording: at least 8 bursts
 * of anomalous windows (its failure stretches), over 5 % of all windows.
 * The arm, against its own schedule: of the windows wholly inside an
 * episode at least 90 %, in every episode, and of those wholly outside one
 * at most 2 %, are anomalous (measured: all and none). */
static void check_failures(const source *src, const offline *o,
			   const msg_prediction *pred, size_t runs)
{
	size_t in[8] = {0}, in_flagged[8] = {0}, out = 0, out_flagged = 0, flagged = 0;
	for (size_t i = 0; i < o->nw; i++)
		flagged += pred[i].anomaly;
	if (!src->synthetic) {
		assert_true(runs >= 8);
		assert_true(flagged > o->nw / 20);
		return;
	}
	for (size_t i = 0; i < o->nw; i++) {
		double t0 = (double)(i * o->m.hop) / 50,
		       t1 = t0 + (double)o->m.window / 50;
		int a = arm_fault_at(&src->arm, t0) != ARM_HEALTHY,
		    b = arm_fault_at(&src->arm, t1) != ARM_HEALTHY;
		size_t e =
		    (size_t)((t0 - src->arm.fault_first_s) / src->arm.fault_every_s);
		if (a && b && e < 8) {
			in[e]++;
			in_flagged[e] += pred[i].anomaly;
		} else if (!a && !b) { /* 4 s windows, 20 s episodes */
			out++;
			out_flagged += pred[i].anomaly;
		}
	}
	for (size_t e = 0; e < 3; e++) {
		fprintf(stderr, "episode %zu: %zu of %zu windows anomalous\n", e,
			in_flagged[e], in[e]);
		assert_true(in[e] > 50 && 10 * in_flagged[e] >= 9 * in[e]);
	}
	fprintf(stderr, "healthy: %zu of %zu windows anomalous\n", out_flagged, out);
	assert_true(out > 300 && 50 * out_flagged <= out);
}

/* Relative difference allowed between a live score (float32 sgemm, sent
 * through JSON) and the double-precision reference. Measured: 6e-8 at worst
 * over the six windows (OpenBLAS, this machine; printed below), i.e. float32
 * rounding. 1e-5 leaves room for another BLAS's summation order over the
 * 600-wide layers, and is still far below anything a wrong weight, layer
 * order, activation or standardisation would produce. */
#define REF_REL_TOL 1e-5

/* The independent check of the model's arithmetic: a few windows' live
 * predictions against tests/harness/aeref.h, plain loops in double computed
 * here from the raw rows that were published (standardisation, the layers
 * and the error written out; no ae_* function in between). The windows:
 * first, last, three between, and the highest-scoring one. */
static void check_reference(const offline *o, const msg_prediction *pred)
{
	size_t pick[6] = {0, o->nw / 4, o->nw / 2, 3 * o->nw / 4, o->nw - 1, 0};
	double worst = 0;
	for (size_t i = 1; i < o->nw; i++)
		if (o->ref[i] > o->ref[pick[5]])
			pick[5] = i;
	for (size_t k = 0; k < 6; k++) {
		size_t i = pick[k];
		double r =
		    aeref_score_rows(&o->m, o->rows + i * o->m.hop * o->m.n_channels);
		double rel = fabs(pred[i].score - r) / r;
		assert_true(isfinite(r) && r > 0);
		if (rel > worst)
			worst = rel;
		if (rel > REF_REL_TOL)
			fail_msg("window %zu: live score %.9g, reference %.9g", i,
				 pred[i].score, r);
		if (fabs(r - o->m.threshold) > 1e-4)
			assert_int_equal(pred[i].anomaly, r > o->m.threshold);
	}
	/* the highest-scoring window is a failure stretch's: anomalous */
	assert_true(pred[pick[5]].anomaly);
	fprintf(stderr, "reference: 6 windows, worst relative difference %.2g\n", worst);
}

static void test_scores_equal_offline(void **state)
{
	fixture *f = *state;
	const source *src = source_need(f->src);
	offline o;
	msg_prediction *pred;
	char rule[PATH_MAX];
	size_t got;
	double base = clock_now();

	offline_load(&o, src);
	pred = calloc(o.nw + 8, sizeof(*pred));
	assert_non_null(pred);

	/* live: the rows as raw messages of 10 samples, timestamps from now */
	snprintf(rule, sizeof(rule), "*=%s", src->model);
	start_scorer(f, 0, "e2e", rule, NULL);
	for (size_t p = 0, seq = 0; p < o.n_rows; p += 10, seq++) {
		size_t n = p + 10 > o.n_rows ? o.n_rows - p : 10;
		publish_rows(f, "arm1-lpms", "csv1", seq, base + (double)p / 50.0, lin, 3,
			     o.rows + p * 3, n);
	}
	if (harness_sub_wait(f->pred, NULL, NULL, o.nw, WAIT_MS) != 0)
		fprintf(stderr,
			"only %zu of %zu predictions (scorer: out %lld, failed %lld, "
			"overflow %lld, windows %lld, raw_in %lld); log %s\n",
			harness_sub_count(f->pred), o.nw,
			wait_metric(f, "e2e", "predictions_out", 0),
			wait_metric(f, "e2e", "publish_failed", 0),
			wait_metric(f, "e2e", "overflow_dropped", 0),
			wait_metric(f, "e2e", "windows_scored", 0),
			wait_metric(f, "e2e", "raw_in", 0), f->log[0]);
	got = predictions_of(f, "arm1-lpms", pred, o.nw + 8);
	assert_int_equal(got, o.nw);
	check_failures(src, &o, pred, check_offline(&o, pred));
	check_reference(&o, pred);
	for (size_t i = 0; i < o.nw; i++) {
		double t_end = base + (double)(i * o.m.hop + o.m.window - 1) / 50.0;
		assert_true(fabs(pred[i].t - t_end) < 1e-3);
		assert_int_equal(pred[i].n, o.m.window);
		assert_true(fabs(pred[i].threshold - o.m.threshold) < 1e-6);
		assert_non_null(strstr(pred[i].model, src->name));
		assert_true(pred[i].latency_ms >= 0 && pred[i].latency_ms < 1000);
	}
	/* nothing invented: no gap or restart counted on a clean stream */
	assert_int_equal(wait_metric(f, "e2e", "predictions_out", (long long)o.nw),
			 (long long)o.nw);
	assert_int_equal(wait_metric(f, "e2e", "window_restarts", 0), 0);
	offline_free(&o);
	free(pred);
}

/* ---- bad data --------------------------------------------------------------- */

static void test_bad_data_counted_others_flow(void **state)
{
	fixture *f = *state;
	const size_t n_rows = 400, want = (400 - 200) / 10 + 1;
	float *rows = sine_rows(n_rows, 0);
	size_t huge_len = 300 * 1024;
	char *huge = malloc(huge_len);
	msg_prediction pred[64];
	double base = clock_now();
	const char *const wrong[] = {"acc_x", "acc_y", "acc_z"};
	const char *nan =
	    "{\"v\":1,\"sensor\":\"bad1\",\"run\":\"r\",\"seq\":0,\"t0\":1,"
	    "\"rate_hz\":50,\"channels\":[\"linacc_x\",\"linacc_y\",\"linacc_z\"],"
	    "\"samples\":[[NaN,1,2]]}";

	assert_non_null(huge);
	memset(huge, ' ', huge_len);
	huge[0] = '{';
	start_scorer(f, 0, "bad", "*=" MODEL, NULL);
	for (size_t p = 0, seq = 0; p < n_rows; p += 10, seq++) {
		publish_rows(f, "good1", "g", seq, base + (double)p / 50.0, lin, 3,
			     rows + p * 3, 10);
		switch (seq % 5) {
		case 0:
			publish_text(f, "bad1", "\x01\xff garbage", 10);
			break;
		case 1:
			publish_text(f, "bad1", nan, strlen(nan));
			break;
		case 2:
			publish_rows(f, "bad2", "b", seq, base, wrong, 3, rows, 10);
			break;
		case 3:
			publish_text(f, "bad1", huge, huge_len);
			break;
		default:
			publish_text(f, "bad1", "{\"v\":1}", 7);
		}
	}
	assert_int_equal(harness_sub_wait(f->pred, NULL, NULL, want, WAIT_MS), 0);
	assert_true(wait_metric(f, "bad", "malformed_dropped", 32) >= 32);
	assert_true(wait_metric(f, "bad", "oversized_dropped", 8) >= 8);
	assert_true(wait_metric(f, "bad", "channel_mismatch", 8) >= 8);
	assert_int_equal(predictions_of(f, "good1", pred, 64), want);
	assert_int_equal(predictions_of(f, "bad1", pred, 64), 0);
	assert_int_equal(predictions_of(f, "bad2", pred, 64), 0);
	assert_int_equal(harness_sub_count(f->pred), want);
	/* the scorer is alive and well */
	assert_int_equal(kill(f->scorer[0], 0), 0);
	free(huge);
	free(rows);
}

/* ---- two scorers ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void test_two_scorers_exactly_once(void **state)
{
	fixture *f = *state;
	enum { SENSORS = 24, ROWS = 400, PER = (ROWS - 200) / 10 + 1 };
	double base = clock_now();
	msg_prediction *pred = calloc(PER * 4, sizeof(*pred));
	long long wa, wb, deadline;

	assert_non_null(pred);
	start_scorer(f, 0, "sa", "*=" MODEL, "pair");
	start_scorer(f, 1, "sb", "*=" MODEL, "pair");
	/* both see both before any data flows */
	assert_int_equal(wait_metric(f, "sa", "members", 2), 2);
	assert_int_equal(wait_metric(f, "sb", "members", 2), 2);

	for (size_t p = 0, seq = 0; p < ROWS; p += 10, seq++)
		for (size_t s = 0; s < SENSORS; s++) {
			char id[16];
			float *rows = sine_rows(ROWS, s);
			snprintf(id, sizeof(id), "m%zu", s);
			publish_rows(f, id, "r", seq, base + (double)p / 50.0, lin, 3,
				     rows + p * 3, 10);
			free(rows);
		}
	assert_int_equal(harness_sub_wait(f->pred, NULL, NULL, SENSORS * PER, WAIT_MS),
			 0);
	for (size_t s = 0; s < SENSORS; s++) {
		char id[16];
		double t[PER * 4];
		size_t n;
		snprintf(id, sizeof(id), "m%zu", s);
		n = predictions_of(f, id, pred, PER * 4);
		assert_int_equal(n, PER); /* each window once: no more, no less */
		for (size_t i = 0; i < n; i++)
			t[i] = pred[i].t;
		qsort(t, n, sizeof(t[0]), cmp_double);
		for (size_t i = 0; i < n; i++) /* exactly the windows of the stream */
			assert_true(fabs(t[i] - (base + (double)(i * 10 + 199) / 50.0)) <
				    1e-3);
	}
	/* the scorers' own counts: both took a share, and together they scored
	 * each window once (a window scored twice would push the sum over) */
	deadline = harness_now_ms() + WAIT_MS;
	do {
		wa = wait_metric(f, "sa", "windows_scored", 0);
		wb = wait_metric(f, "sb", "windows_scored", 0);
		if (wa + wb >= SENSORS * PER)
			break;
		harness_nap_ms(50);
	} while (harness_now_ms() < deadline);
	assert_true(wa > 0 && wb > 0);
	assert_int_equal(wa + wb, SENSORS * PER);
	assert_int_equal(harness_sub_count(f->pred), SENSORS * PER);
	free(pred);
}

/* ---- SIGHUP reload ------------------------------------------------------------ */

static void test_sighup_refuses_bad_model(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX], rule[PATH_MAX + 8], err[512];
	ae_model m;
	msg_prediction pred[64];
	float *rows = sine_rows(600, 1);
	double base = clock_now();
	size_t seq = 0, n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/live.aem", harness_tmpdir());
	assert_int_equal(aefile_load(MODEL, &m, err, sizeof err), 0);
	assert_int_equal(aefile_save(&m, path, err, sizeof err), 0);
	snprintf(rule, sizeof(rule), "*=%s", path);
	start_scorer(f, 0, "hup", rule, NULL);

	/* corrupt the file in place, SIGHUP: refused, old model serving */
	fp = fopen(path, "r+b");
	assert_non_null(fp);
	fseek(fp, 100, SEEK_SET);
	fputs("CORRUPTION", fp);
	fclose(fp);
	assert_int_equal(kill(f->scorer[0], SIGHUP), 0);
	assert_int_equal(wait_metric(f, "hup", "model_reloads_failed", 1), 1);
	assert_int_equal(harness_wait_file_count(f->log[0], "REFUSED", 1, WAIT_MS), 0);
	for (size_t p = 0; p < 300; p += 10)
		publish_rows(f, "h1", "r", seq++, base + (double)p / 50.0, lin, 3,
			     rows + p * 3, 10);
	assert_int_equal(harness_sub_wait(f->pred, NULL, NULL, 11, WAIT_MS), 0);
	n = predictions_of(f, "h1", pred, 64);
	assert_int_equal(n, 11);
	assert_non_null(strstr(pred[0].model, "lpms-linacc@"));

	/* a good new model (another threshold): taken on SIGHUP */
	m.threshold *= 2;
	snprintf(m.meta.name, sizeof(m.meta.name), "lpms-linacc-v2");
	assert_int_equal(aefile_save(&m, path, err, sizeof err), 0);
	assert_int_equal(kill(f->scorer[0], SIGHUP), 0);
	assert_int_equal(wait_metric(f, "hup", "model_reloads_ok", 1), 1);
	/* the window restarts with the new model: 200 more rows, one window */
	for (size_t p = 300; p < 500; p += 10)
		publish_rows(f, "h1", "r", seq++, base + (double)p / 50.0, lin, 3,
			     rows + p * 3, 10);
	assert_int_equal(harness_sub_wait(f->pred, NULL, NULL, 12, WAIT_MS), 0);
	n = predictions_of(f, "h1", pred, 64);
	assert_int_equal(n, 12);
	assert_non_null(strstr(pred[11].model, "lpms-linacc-v2@"));
	assert_true(fabs(pred[11].threshold - m.threshold) < 1e-6);
	ae_model_cleanup(&m);
	free(rows);
}

/* ---- CPU class ---------------------------------------------------------------- */

/* --cpu-class batch: every thread at SCHED_BATCH, those a library started
 * before main too (OpenBLAS's pool, on a machine of more than one core). */
static void test_cpu_class_batch(void **state)
{
	static const char *const batch[] = {"--cpu-class", "batch", NULL};
	fixture *f = *state;
	int threads;

	f->extra = batch;
	start_scorer(f, 0, "batch", "*=" MODEL, NULL);
	assert_int_equal(harness_thread_policy(f->scorer[0], &threads), SCHED_BATCH);
	assert_true(threads >= 3); /* the loop and Paho's send and receive threads */
}

/* ---- restart ------------------------------------------------------------------ */

static void test_restart_skips_stale_backlog(void **state)
{
	fixture *f = *state;
	float *rows = sine_rows(400, 2);
	msg_prediction pred[64];
	double now = clock_now(), old = now - 3600;
	size_t n;

	start_scorer(f, 0, "rs", "*=" MODEL, NULL);
	for (size_t p = 0, seq = 0; p < 300; p += 10, seq++)
		publish_rows(f, "r1", "live1", seq, now + (double)p / 50.0, lin, 3,
			     rows + p * 3, 10);
	assert_int_equal(harness_sub_wait(f->pred, NULL, NULL, 11, WAIT_MS), 0);
	assert_int_equal(harness_stop(f->scorer[0], SIGTERM, 10000), 0);
	f->scorer[0] = 0;

	/* while it is down, its persistent session queues an hour-old backlog */
	for (size_t p = 0, seq = 0; p < 400; p += 10, seq++)
		publish_rows(f, "r1", "old", seq, old + (double)p / 50.0, lin, 3,
			     rows + p * 3, 10);
	harness_sub_clear(f->svc);
	start_scorer(f, 0, "rs", "*=" MODEL, NULL);
	/* the backlog arrives and is skipped, not scored */
	assert_int_equal(wait_metric(f, "rs", "stale_skipped", 21), 21);
	assert_true(wait_metric(f, "rs", "raw_in", 40) >= 40);
	/* live data resumes: predictions again, after a fresh window */
	now = clock_now();
	for (size_t p = 0, seq = 0; p < 300; p += 10, seq++)
		publish_rows(f, "r1", "live2", seq, now + (double)p / 50.0, lin, 3,
			     rows + p * 3, 10);
	assert_int_equal(harness_sub_wait(f->pred, NULL, NULL, 22, WAIT_MS), 0);
	n = predictions_of(f, "r1", pred, 64);
	assert_int_equal(n, 22);
	for (size_t i = 0; i < n; i++)
		assert_true(pred[i].t > old + 1800);
	free(rows);
}

/* ---- the real chain: lpms-emu -> ingest-bt -> scorer ------------------------ */

static void test_lpms_emu_ingest_scorer_chain(void **state)
{
	fixture *f = *state;
	const source *s = source_need(f->src);
	offline o;
	msg_prediction *pred;
	char port[32] = "", src[128], elog[PATH_MAX], ilog[PATH_MAX], rule[PATH_MAX];
	const char *emu_args[] = {
	    "--replay", s->csv, "--speed", "20", "--no-start-streaming", NULL};
	pid_t emu, ing;

	offline_load(&o, s);
	pred = calloc(o.nw + 8, sizeof(*pred));
	assert_non_null(pred);

	/* 20x real time: the data's own clock runs ahead of the wall clock */
	f->max_age = "0";
	snprintf(rule, sizeof(rule), "*=%s", s->model);
	start_scorer(f, 0, "chain", rule, NULL);
	emu = harness_emu_start(emu_args, 0, port, sizeof(port), elog, sizeof(elog));
	assert_true(emu > 0);
	snprintf(src, sizeof(src), "tcp:127.0.0.1:%s#arm1-lpms", port);
	{
		const char *argv[] = {harness_bin("ingest-bt"), "--broker", f->broker.uri,
				      src, NULL};
		ing = harness_spawn(argv, NULL, ilog, sizeof(ilog));
		assert_true(ing > 0);
	}

	assert_int_equal(harness_sub_wait(f->pred, NULL, NULL, o.nw, 90000), 0);
	assert_int_equal(predictions_of(f, "arm1-lpms", pred, o.nw + 8), o.nw);
	check_failures(s, &o, pred, check_offline(&o, pred));
	assert_int_equal(wait_metric(f, "chain", "window_restarts", 0), 0);

	assert_true(harness_exited_ok(harness_stop(ing, SIGTERM, 10000)));
	assert_true(harness_exited_ok(harness_stop(emu, SIGTERM, 5000)));
	offline_free(&o);
	free(pred);
}

/* A case with its own fixture; on a recording, named after it. */
#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define ON(f, src, tag)                                                                  \
	{                                                                                \
#f "_" tag, f, setup, teardown, &src                                     \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    ON(test_lpms_emu_ingest_scorer_chain, g_arm, "synthetic"),
	    ON(test_lpms_emu_ingest_scorer_chain, g_real, "real"),
	    ON(test_scores_equal_offline, g_arm, "synthetic"),
	    ON(test_scores_equal_offline, g_real, "real"),
	    CASE(test_bad_data_counted_others_flow),
	    CASE(test_two_scorers_exactly_once),
	    CASE(test_sighup_refuses_bad_model),
	    CASE(test_restart_skips_stale_backlog),
	    CASE(test_cpu_class_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
