/* test_e2e — the whole mesh end to end on a failing and a normal recording:
 *
 *   lpms-emu --replay failing  \
 *                                ingest-bt (one gateway, two sources)
 *   lpms-emu --replay normal   /      -> scorer (default model) -> alerter
 *
 * as sensors arm1 (failing) and arm2 (normal), every one of them a real
 * binary on a real mosquitto; the harness's own subscribers record the
 * predictions, states and alerts. Must show (issue 7):
 *  - arm1: FAILURE within a few seconds of each failure stretch's start,
 *    back to OK after it ends, no FAILURE outside the stretches;
 *  - arm2: no alert at all, and its verdicts are all OK.
 * Twice: on the synthetic arm (always; `lpms-emu --dump-csv` writes a
 * faulty arm, seed 5, with 20 s fault episodes at 10 and 70 s, a loose
 * mount and a worn joint, and a healthy one, seed 6, 110 s each; model
 * models/arm-linacc.aem) and on the real LPMS-B2 recordings (pre-fail and normal;
 * models/lpms-linacc.aem; optional, from ../shared or ANOMESH_SHARED: without them that
 * case says why and skips). Below, the figures are the real recordings'; the arm's
 * episodes are found by the same energy rule, which must agree with the
 * arm's own schedule (arm_fault_at), and held to the same bounds.
 *
 * Ground truth. The recordings have no labels; the failure stretches are
 * found independently of the model by tests/harness/truth.h (5 s bins where
 * the RMS of linacc_x exceeds 0.07 g, as test_ae_lpms does), in recording
 * time. Predictions are mapped back to recording time by their order: with
 * no frame lost (asserted: exactly ae_window_count() predictions per
 * sensor), prediction k is the window of rows k*hop .. k*hop+window-1, so
 * its recording time is that of row k*hop+window-1; an alert is mapped
 * through the prediction whose t it carries (the state machine stamps a
 * transition with the label time that caused it).
 *
 * Time. The recordings are 190 s and 146 s at 50 Hz; both replay at once
 * at --speed 4 (about 48 s). How time compresses, service by service:
 *  - ingest-bt stamps each raw batch with the gateway clock at the arrival
 *    of its first sample and spaces its samples at the nominal rate
 *    (t0 + i/rate_hz): the batch stamps, hence the window ends the scorer
 *    derives, run at wall-clock pace, i.e. SPEED times compressed against
 *    recording time (one 10-sample batch = 0.2 s of recording every 50 ms);
 *  - the scorer's --max-age-s compares sample times with its clock: the
 *    compressed stamps run ahead of it, never behind, so the default holds;
 *  - the alerter's state logic runs on label (prediction) time, so its
 *    --window-s is scaled by 1/SPEED (10 s -> 2.5 s): the span still holds
 *    the same 50 labels and the same fraction of the recording, so enter
 *    and exit lags are the real-time ones, in recording time;
 *  - --stale-s is on the arrival (monotonic) clock and needs no scaling;
 *    it is raised to 60 s because the normal replay ends ~11 s before the
 *    pre-fail one, and that silence (a STALE alert, correctly) is not
 *    what this test is about.
 *
 * Evidence. The alerter runs with its default evidence rule
 * (common/state.h): a verdict needs min_windows labels that span 0.8 of
 * the window. This test is what found that a count alone is not enough:
 * with 10 labels, a new sensor's first verdict came from 2 s of windows;
 * the normal recording starts with the arm at rest, then ~3 s of start-up
 * movement that the model flags (windows 5..20, 16 in a row), so its first
 * verdict was 5 anomalous of 10 = FAILURE, an alert on the normal
 * recording. Over 8 s of windows that burst rates 16/40 = 0.4 < 0.5. The
 * first verdict comes ~8 s after the first window: the first stretch (the
 * recording starts in one) is timed from the first window's end, as
 * nothing is judged before it.
 *
 * Bounds, in recording time (the logic's own lag is ~5-8 s): a window
 * (4 s of samples) turns anomalous once enough of it is failure movement,
 * and FAILURE needs half of the 10 s span anomalous; a truth stretch starts
 * at a 5 s bin edge, at most 5 s before the movement does. So FAILURE is
 * entered within ENTER_LAG_S = 12 s of a stretch's start. Leaving needs the
 * rate down to 0.2: 8 s of normal labels after the last anomalous window,
 * which itself may still be 4 s of failure data past the movement, and the
 * stretch end is again bin-aligned: OK within EXIT_LAG_S = 15 s of the end.
 *
 * Synchronisation: the scorer and the alerter are probed (a raw message,
 * a prediction, for a sensor named "probe") until their metrics count it,
 * so both are subscribed before any data flows; completion is "every
 * window's prediction seen and counted by the alerter". No sleeps. */
#include "../harness/harness.h"
#include "../harness/mesh.h"
#include "../harness/synth.h"
#include "../harness/truth.h"
#include "ae.h"
#include "aefile.h"
#include "clock.h"
#include "csv.h"
#include "metrics.h"
#include "mqtt.h"
#include "msg.h"

#include <cjson/cJSON.h>
#include <math.h>
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

#define SPEED "4"
#define WINDOW_S "2.5" /* the alerter's 10 s default / SPEED */
#define STALE_S "60"
#define ENTER_LAG_S 12.0
#define EXIT_LAG_S 15.0
#define WAIT_MS 30000
#define PREFAIL "data/lpms-b2/pre-fail_20170202_2234.csv"
#define NORMAL "data/lpms-b2/normal_20170202_2229.csv"
#define ARM_S "110" /* the arms' recordings: the last episode's exit lag fits */
#define MAX_STRETCH 32
#define MAX_ALERTS 64

enum { EMU1, EMU2, INGEST, SCORER, ALERTER, N_PROC };
static const char *const PROC_NAME[N_PROC] = {"lpms-emu arm1", "lpms-emu arm2",
					      "ingest-bt", "scorer", "alerter"};

/* The two recordings and the model that scores them. */
typedef struct scenario {
	const char *model;            /* relative to the repository */
	const char *failing, *normal; /* the CSVs, once scenario_need() has them */
	int synthetic;                /* 1: the arms below, written by lpms-emu */
	arm_params arm;               /* the failing arm (the normal one: seed 6) */
} scenario;

static scenario g_real = {"models/lpms-linacc.aem", NULL, NULL, 0, {0}};
static scenario g_arm = {"models/arm-linacc.aem", NULL, NULL, 1, {0}};

typedef struct fixture {
	scenario *sc; /* the case's recordings (its initial state) */
	harness_broker broker;
	harness_pub pub;
	harness_sub *pred, *state, *alert, *svc;
	pid_t pid[N_PROC];
	char log[N_PROC][PATH_MAX];
} fixture;

/* The model's windows: samples per window, samples between window starts. */
typedef struct win_shape {
	size_t window, hop;
} win_shape;

/* One replayed recording: its row times and the model's windows over it. */
typedef struct stream {
	const char *sensor;
	double *rec_t; /* n_rows recording times */
	size_t n_rows, nw;
	double *pred_t; /* nw prediction times, in arrival order */
	size_t n_pred;
} stream;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	signal(SIGPIPE, SIG_IGN);
	if (f)
		f->sc = *state;
	if (!f || harness_broker_start(&f->broker, NULL) != 0 ||
	    harness_pub_open(&f->pub, f->broker.uri, "test-e2e", NULL, 0))
		return -1;
	f->pred = harness_sub_new(f->broker.uri, "factory/+/prediction", NULL, 0);
	f->state = harness_sub_new(f->broker.uri, "factory/+/state", NULL, 0);
	f->alert = harness_sub_new(f->broker.uri, "factory/+/alert", NULL, 0);
	f->svc = harness_sub_new(f->broker.uri, "factory/_svc/#", NULL, 0);
	if (!f->pred || !f->state || !f->alert || !f->svc)
		return -1;
	*state = f;
	return 0;
}

/* Anything still running (a failed assertion) is stopped here, by pid. */
static int teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	for (int i = N_PROC; i-- > 0;)
		if (f->pid[i] > 0) {
			fprintf(stderr, "stopping %s left running, log %s\n",
				PROC_NAME[i], f->log[i]);
			harness_stop(f->pid[i], SIGTERM, 10000);
		}
	harness_sub_free(f->pred);
	harness_sub_free(f->state);
	harness_sub_free(f->alert);
	harness_sub_free(f->svc);
	harness_pub_close(&f->pub, 0);
	harness_broker_stop(&f->broker);
	free(f);
	return 0;
}

static void spawn(fixture *f, int k, const char *const argv[])
{
	f->pid[k] = harness_spawn(argv, NULL, f->log[k], sizeof(f->log[k]));
	assert_true(f->pid[k] > 0);
}

/* SIGTERM and assert a clean exit (0; under SAN=1 that also means no leak
 * or sanitizer report). */
static void stop_clean(fixture *f, int k)
{
	int st = harness_stop(f->pid[k], SIGTERM, 10000);
	f->pid[k] = 0;
	if (!harness_exited_ok(st))
		fail_msg("%s did not exit cleanly (status %d), log %s", PROC_NAME[k], st,
			 f->log[k]);
}

/* ---- metrics ---------------------------------------------------------------- */

/* Wait until service svc (instance "e2e") reports name >= min. */
static int wait_metric(fixture *f, const char *svc, const char *name, long long min,
		       int timeout_ms)
{
	char topic[128];
	snprintf(topic, sizeof(topic), "factory/_svc/%s/e2e/metrics", svc);
	return harness_sub_wait_metric(f->svc, topic, name, min, timeout_ms, NULL);
}

static void wait_online(fixture *f, int k, const char *svc)
{
	char topic[128];
	snprintf(topic, sizeof(topic), "factory/_svc/%s/e2e/status", svc);
	if (harness_sub_wait_topic(f->svc, topic, "\"online\"", WAIT_MS) < 0)
		fail_msg("%s never came online, log %s", PROC_NAME[k], f->log[k]);
}

/* ---- probes: subscribed before any data flows ---------------------------------- */

static void publish_probe_raw(fixture *f, uint64_t seq)
{
	static const float zero[3] = {0, 0, 0};
	const char *const ch[] = {"linacc_x", "linacc_y", "linacc_z"};
	msg_raw r;
	msg_raw_init(&r);
	assert_int_equal(
	    harness_raw_fill(&r, "probe", "probe", seq, clock_now(), 50, ch, 3, zero, 1),
	    0);
	assert_int_equal(harness_pub_raw(&f->pub, &r), 0);
	msg_raw_cleanup(&r);
}

static void publish_probe_prediction(fixture *f)
{
	msg_prediction p = {.n = 200, .score = 0, .threshold = 1, .anomaly = 0};
	char payload[1024], err[MSG_ERR_MAX];
	size_t len;
	snprintf(p.sensor, sizeof(p.sensor), "probe");
	snprintf(p.model, sizeof(p.model), "probe@1");
	p.t = clock_now();
	p.t_start = p.t - 4;
	assert_int_equal(
	    msg_prediction_encode(&p, payload, sizeof(payload), &len, err, sizeof err),
	    0);
	assert_int_equal(harness_pub_text(&f->pub, "probe", "prediction", payload, len),
			 0);
}

/* Publish probes (one per 300 ms, a pace, not a synchronisation) until the
 * service's metrics count one. */
static void probe_until_counted(fixture *f, int k, const char *svc, const char *metric)
{
	long long deadline = harness_now_ms() + WAIT_MS;
	uint64_t seq = 0;
	do {
		if (k == SCORER)
			publish_probe_raw(f, seq++);
		else
			publish_probe_prediction(f);
		if (wait_metric(f, svc, metric, 1, 300) == 0)
			return;
	} while (harness_now_ms() < deadline);
	fail_msg("%s never counted a probe, log %s", PROC_NAME[k], f->log[k]);
}

/* ---- the mesh ------------------------------------------------------------------- */

static void start_scorer(fixture *f)
{
	static char model[2 * PATH_MAX];
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(model, sizeof(model), "*=%s/%s", cwd, f->sc->model);
	const char *argv[] = {
	    harness_bin("scorer"), "--broker", f->broker.uri, "--instance", "e2e",
	    "--metrics-interval",  "200",      "--model",     model,        NULL};
	spawn(f, SCORER, argv);
	wait_online(f, SCORER, "scorer");
	probe_until_counted(f, SCORER, "scorer", "raw_in");
}

static void start_alerter(fixture *f)
{
	const char *argv[] = {harness_bin("alerter"),
			      "--broker",
			      f->broker.uri,
			      "--instance",
			      "e2e",
			      "--metrics-interval",
			      "200",
			      "--restore-ms",
			      "300",
			      "--window-s",
			      WINDOW_S,
			      "--stale-s",
			      STALE_S,
			      NULL};
	spawn(f, ALERTER, argv);
	wait_online(f, ALERTER, "alerter");
	if (wait_metric(f, "alerter", "ready", 1, WAIT_MS))
		fail_msg("alerter never ready, log %s", f->log[ALERTER]);
	probe_until_counted(f, ALERTER, "alerter", "predictions_in");
}

/* Start an emulator replaying csv (streaming only once the host asks, so
 * nothing is played to an empty socket); returns its TCP port. */
static int start_emu(fixture *f, int k, const char *csv)
{
	char port[32] = "";
	char *end;
	long v;
	const char *extra[] = {"--replay", csv, "--speed", SPEED, "--no-start-streaming",
			       NULL};
	f->pid[k] =
	    harness_emu_start(extra, 0, port, sizeof(port), f->log[k], sizeof(f->log[k]));
	v = strtol(port, &end, 10);
	if (f->pid[k] <= 0 || *end || v <= 0 || v > 65535)
		fail_msg("%s wrote no port, log %s", PROC_NAME[k], f->log[k]);
	return (int)v;
}

/* ---- what came over the broker --------------------------------------------------- */

typedef struct count_want {
	const stream *s;
	size_t n_s;
} count_want;

static size_t count_topic(const harness_msg *msgs, size_t n, const char *topic)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += strcmp(msgs[i].topic, topic) == 0;
	return k;
}

static int all_predictions(const harness_msg *msgs, size_t n, void *ud)
{
	const count_want *w = ud;
	char topic[128];
	for (size_t i = 0; i < w->n_s; i++) {
		snprintf(topic, sizeof(topic), "factory/%s/prediction", w->s[i].sensor);
		if (count_topic(msgs, n, topic) < w->s[i].nw)
			return 0;
	}
	return 1;
}

/* The recording's row times and window count under model m. */
static void stream_load(stream *s, const char *sensor, const char *csv, const ae_model *m)
{
	csv_table t;
	char err[256];
	int ct;
	memset(s, 0, sizeof(*s));
	s->sensor = sensor;
	if (csv_read_file(csv, &t, err, sizeof err))
		fail_msg("%s", err);
	ct = csv_col(&t, "timestamp");
	assert_true(ct >= 0);
	s->n_rows = t.n_rows;
	s->rec_t = malloc(t.n_rows * sizeof(*s->rec_t));
	assert_non_null(s->rec_t);
	for (size_t r = 0; r < t.n_rows; r++)
		s->rec_t[r] = t.values[r * t.n_cols + (size_t)ct];
	csv_free(&t);
	s->nw = ae_window_count(s->n_rows, m->window, m->hop);
	assert_true(s->nw > 100);
	s->pred_t = calloc(s->nw, sizeof(*s->pred_t));
	assert_non_null(s->pred_t);
}

static void stream_free(stream *s)
{
	free(s->rec_t);
	free(s->pred_t);
}

/* Collect the sensor's prediction times, in order; exactly nw of them. */
static void stream_predictions(fixture *f, stream *s)
{
	char topic[128], err[MSG_ERR_MAX];
	size_t n = harness_sub_count(f->pred);
	snprintf(topic, sizeof(topic), "factory/%s/prediction", s->sensor);
	s->n_pred = 0;
	for (size_t i = 0; i < n; i++) {
		harness_msg m;
		msg_prediction p;
		assert_int_equal(harness_sub_get(f->pred, i, &m), 0);
		if (strcmp(m.topic, topic) == 0) {
			assert_int_equal(
			    msg_prediction_decode(m.payload, m.len, &p, err, sizeof err),
			    0);
			assert_true(s->n_pred < s->nw); /* no window twice */
			s->pred_t[s->n_pred++] = p.t;
		}
		harness_msg_cleanup(&m);
	}
	assert_int_equal(s->n_pred, s->nw);
	for (size_t k = 1; k < s->n_pred; k++)
		assert_true(s->pred_t[k] > s->pred_t[k - 1]);
}

/* Recording time of the prediction stamped t; fails if there is none. */
static double stream_rec_time(const stream *s, const win_shape *hw, double t)
{
	for (size_t k = 0; k < s->n_pred; k++)
		if (fabs(s->pred_t[k] - t) < 1e-6)
			return s->rec_t[k * hw->hop + hw->window - 1];
	fail_msg("%s: no prediction stamped %.6f", s->sensor, t);
	return NAN;
}

/* The sensor's alerts in arrival order. */
static size_t alerts_of(fixture *f, const char *sensor, msg_alert *out, size_t max)
{
	char topic[128], err[MSG_ERR_MAX];
	size_t k = 0, n = harness_sub_count(f->alert);
	snprintf(topic, sizeof(topic), "factory/%s/alert", sensor);
	for (size_t i = 0; i < n; i++) {
		harness_msg m;
		assert_int_equal(harness_sub_get(f->alert, i, &m), 0);
		if (strcmp(m.topic, topic) == 0) {
			assert_true(k < max);
			assert_int_equal(
			    msg_alert_decode(m.payload, m.len, &out[k], err, sizeof err),
			    0);
			k++;
		}
		harness_msg_cleanup(&m);
	}
	return k;
}

/* The sensor's state messages: how many, how many not OK, the last one. */
static size_t states_of(fixture *f, const char *sensor, size_t *not_ok, msg_state *last)
{
	char topic[128], err[MSG_ERR_MAX];
	size_t k = 0, n = harness_sub_count(f->state);
	snprintf(topic, sizeof(topic), "factory/%s/state", sensor);
	*not_ok = 0;
	for (size_t i = 0; i < n; i++) {
		harness_msg m;
		msg_state st;
		assert_int_equal(harness_sub_get(f->state, i, &m), 0);
		if (strcmp(m.topic, topic) == 0) {
			assert_int_equal(
			    msg_state_decode(m.payload, m.len, &st, err, sizeof err), 0);
			*not_ok += st.state != STATE_OK;
			*last = st;
			k++;
		}
		harness_msg_cleanup(&m);
	}
	return k;
}

/* ---- the recordings ---------------------------------------------------------------- */

/* Write ARM_S seconds of the synthetic arm p to name in the temp dir with
 * `lpms-emu --dump-csv`, p given as the emulator's own options; returns
 * the path. */
static const char *dump_arm(const char *name, const arm_params *p)
{
	static char path[2][PATH_MAX];
	char *out = path[p->faults != 0], log[PATH_MAX], seed[16], first[32], every[32],
	     len[32];
	const char *argv[] = {harness_bin("lpms-emu"),
			      "--dump-csv",
			      out,
			      "--seconds",
			      ARM_S,
			      "--arm-seed",
			      seed,
			      "--fault-first-s",
			      first,
			      "--fault-every-s",
			      every,
			      "--fault-s",
			      len,
			      p->faults ? "--faults" : NULL,
			      NULL};
	pid_t pid;
	snprintf(out, PATH_MAX, "%s/%s", harness_tmpdir(), name);
	snprintf(seed, sizeof seed, "%u", (unsigned)p->seed);
	snprintf(first, sizeof first, "%g", p->fault_first_s);
	snprintf(every, sizeof every, "%g", p->fault_every_s);
	snprintf(len, sizeof len, "%g", p->fault_s);
	pid = harness_spawn(argv, NULL, log, sizeof(log));
	assert_true(pid > 0);
	if (!harness_exited_ok(harness_wait_exit(pid, 60000)))
		fail_msg("lpms-emu --dump-csv failed, log %s", log);
	return out;
}

/* The case's recordings at hand: the arms are written on first use (the
 * failing arm's parameters kept, for its schedule); the real ones may be
 * missing, and the case then skips saying so. */
static const scenario *scenario_need(fixture *f)
{
	scenario *sc = f->sc;
	if (!sc->synthetic) {
		if (harness_shared_missing(PREFAIL) || harness_shared_missing(NORMAL))
			skip();
		sc->failing = harness_shared(PREFAIL);
		sc->normal = harness_shared(NORMAL);
	} else if (!sc->failing) {
		arm_params healthy;
		synth_arm_faulty(&sc->arm, 5);
		healthy = sc->arm;
		healthy.seed = 6;
		healthy.faults = 0;
		sc->failing = dump_arm("arm-faulty.csv", &sc->arm);
		sc->normal = dump_arm("arm-healthy.csv", &healthy);
	}
	return sc;
}

/* The failure stretches of the failing recording, by energy (truth.h). The
 * real recording alternates ~8 times; the arm's stretches are its two
 * episodes, each starting and ending as its own schedule says. */
static size_t failure_truth(const scenario *sc, truth_stretch *hot, size_t max)
{
	size_t n = 0;
	if (sc->synthetic) {
		assert_int_equal(
		    synth_arm_truth(sc->failing, &sc->arm, atof(ARM_S), hot, max, &n), 0);
		assert_int_equal(n, 2);
		return n;
	}
	assert_int_equal(
	    truth_energy_stretches(sc->failing, "linacc_x", 5.0, 0.07, hot, max, &n), 0);
	assert_true(n >= 6);
	return n;
}

/* ---- the test ---------------------------------------------------------------------- */

typedef struct interval {
	double start, end; /* recording time; end INFINITY while still FAILURE */
} interval;

static void test_failing_alerts_normal_silent(void **state)
{
	fixture *f = *state;
	const scenario *sc = scenario_need(f);
	ae_model m;
	char err[512], src1[128], src2[128], cwd[PATH_MAX], model[2 * PATH_MAX];
	stream s[2];
	truth_stretch hot[MAX_STRETCH];
	size_t n_hot = 0, n_al, n_st, not_ok, n_fail = 0;
	msg_alert al[MAX_ALERTS];
	msg_state last;
	interval fail[MAX_ALERTS] = {{0, 0}};
	win_shape hw;
	count_want cw = {s, 2};
	long long t_start;
	double rec_first, rec_end; /* recording times of the first, last window */

	/* ground truth and the mapping, before anything runs */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(model, sizeof(model), "%s/%s", cwd, sc->model);
	assert_int_equal(aefile_load(model, &m, err, sizeof err), 0);
	hw = (win_shape){m.window, m.hop};
	stream_load(&s[0], "arm1", sc->failing, &m);
	stream_load(&s[1], "arm2", sc->normal, &m);
	ae_model_cleanup(&m);
	n_hot = failure_truth(sc, hot, MAX_STRETCH);

	/* the mesh, consumers first so that nothing is lost */
	start_scorer(f);
	start_alerter(f);
	snprintf(src1, sizeof(src1), "tcp:127.0.0.1:%d#arm1",
		 start_emu(f, EMU1, sc->failing));
	snprintf(src2, sizeof(src2), "tcp:127.0.0.1:%d#arm2",
		 start_emu(f, EMU2, sc->normal));
	{
		const char *argv[] = {harness_bin("ingest-bt"),
				      "--broker",
				      f->broker.uri,
				      "--instance",
				      "e2e",
				      src1,
				      src2,
				      NULL};
		spawn(f, INGEST, argv);
	}
	t_start = harness_now_ms();

	/* every window of both recordings scored and taken by the alerter */
	if (harness_sub_wait(f->pred, all_predictions, &cw, 0, 150000) != 0)
		fail_msg("not every window predicted; logs %s %s", f->log[INGEST],
			 f->log[SCORER]);
	if (wait_metric(f, "alerter", "predictions_in",
			(long long)(s[0].nw + s[1].nw + 1), WAIT_MS))
		fail_msg("alerter did not take every prediction, log %s",
			 f->log[ALERTER]);
	fprintf(stderr, "replayed both recordings in %.1f s\n",
		(double)(harness_now_ms() - t_start) / 1000.0);

	/* everybody stops cleanly, producers first */
	stop_clean(f, INGEST);
	stop_clean(f, EMU1);
	stop_clean(f, EMU2);
	stop_clean(f, SCORER);
	stop_clean(f, ALERTER);

	stream_predictions(f, &s[0]);
	stream_predictions(f, &s[1]);
	rec_first = s[0].rec_t[hw.window - 1];
	rec_end = s[0].rec_t[(s[0].nw - 1) * hw.hop + hw.window - 1];

	/* arm1: the alerts as FAILURE intervals in recording time */
	n_al = alerts_of(f, "arm1", al, MAX_ALERTS);
	for (size_t i = 0; i < n_al; i++) {
		double rt = stream_rec_time(&s[0], &hw, al[i].t);
		assert_true(al[i].to != STATE_STALE && al[i].from != STATE_STALE);
		if (al[i].to == STATE_FAILURE) {
			assert_int_equal(al[i].from, STATE_OK);
			assert_true(n_fail == 0 || isfinite(fail[n_fail - 1].end));
			fail[n_fail++] = (interval){rt, INFINITY};
		} else {
			assert_int_equal(al[i].from, STATE_FAILURE);
			assert_true(n_fail > 0 && isinf(fail[n_fail - 1].end));
			fail[n_fail - 1].end = rt;
		}
	}
	for (size_t h = 0; h < n_hot; h++)
		fprintf(stderr, "truth   %6.1f .. %6.1f s\n", hot[h].start, hot[h].end);
	for (size_t i = 0; i < n_fail; i++)
		fprintf(stderr, "FAILURE %6.1f .. %6.1f s\n", fail[i].start, fail[i].end);

	/* each stretch: FAILURE entered within ENTER_LAG_S of its start (or
	 * still on from the one before), OK within EXIT_LAG_S of its end,
	 * unless the next stretch has begun by then, or the recording has
	 * ended by then (the last stretch ends 5 s before it does): FAILURE
	 * must then still be on at the end */
	for (size_t h = 0; h < n_hot; h++) {
		double in_at = fmax(hot[h].start, rec_first) + ENTER_LAG_S,
		       out_by = hot[h].end + EXIT_LAG_S;
		int entered = 0, left = 0;
		if (h + 1 < n_hot && out_by > hot[h + 1].start)
			out_by = INFINITY; /* the next stretch keeps it in FAILURE */
		else if (out_by > rec_end)
			out_by = INFINITY; /* the recording ends first */
		for (size_t i = 0; i < n_fail; i++)
			if (fail[i].start <= in_at && fail[i].end > hot[h].start) {
				entered = 1;
				left = fail[i].end <= out_by;
			}
		if (!entered)
			fail_msg("stretch %.0f..%.0f s: no FAILURE by %.0f s",
				 hot[h].start, hot[h].end, in_at);
		if (!left)
			fail_msg("stretch %.0f..%.0f s: not back to OK by %.0f s",
				 hot[h].start, hot[h].end, out_by);
	}
	/* and FAILURE never outside them: it starts inside a stretch (or its
	 * entering lag) and ends after a stretch's end within the exit lag, or
	 * is still on at the end of a recording that ended within it */
	for (size_t i = 0; i < n_fail; i++) {
		int start_ok = 0, end_ok = 0;
		for (size_t h = 0; h < n_hot; h++) {
			if (fail[i].start >= hot[h].start &&
			    fail[i].start <= hot[h].end + ENTER_LAG_S)
				start_ok = 1;
			if (fail[i].end >= hot[h].end &&
			    fail[i].end <= hot[h].end + EXIT_LAG_S)
				end_ok = 1;
			if (isinf(fail[i].end) && hot[h].end <= rec_end &&
			    hot[h].end + EXIT_LAG_S > rec_end)
				end_ok = 1;
		}
		if (!start_ok)
			fail_msg("FAILURE at %.1f s outside any failure stretch",
				 fail[i].start);
		if (!end_ok)
			fail_msg("FAILURE %.1f..%.1f s does not end with a stretch",
				 fail[i].start, fail[i].end);
	}
	/* the retained state agrees: FAILURE at the end if and only if the
	 * last interval is still open */
	n_st = states_of(f, "arm1", &not_ok, &last);
	assert_true(n_st > 0 && not_ok > 0);
	assert_int_equal(last.state, n_fail > 0 && isinf(fail[n_fail - 1].end)
					 ? STATE_FAILURE
					 : STATE_OK);

	/* arm2, the normal recording: verdicts, all OK, and no alert at all */
	n_al = alerts_of(f, "arm2", al, MAX_ALERTS);
	for (size_t i = 0; i < n_al; i++)
		fprintf(stderr, "arm2 alert %s -> %s at %.1f s, rate %.2f\n",
			state_name(al[i].from), state_name(al[i].to),
			stream_rec_time(&s[1], &hw, al[i].t), al[i].anomaly_rate);
	assert_int_equal(n_al, 0);
	n_st = states_of(f, "arm2", &not_ok, &last);
	assert_true(n_st > 0);
	assert_int_equal(not_ok, 0);

	stream_free(&s[0]);
	stream_free(&s[1]);
}

/* The case on one pair of recordings, named after it. */
#define ON(f, sc, tag)                                                                   \
	{                                                                                \
#f "_" tag, f, setup, teardown, &sc                                      \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    ON(test_failing_alerts_normal_silent, g_arm, "synthetic"),
	    ON(test_failing_alerts_normal_silent, g_real, "real"),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
