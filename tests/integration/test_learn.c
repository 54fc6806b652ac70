/* test_learn — models that know their rate, and learning a new machine,
 * end to end: lpms-emu (the synthetic arm) -> ingest-bt -> scorer ->
 * alerter, every one a real binary on a real mosquitto, the harness's own
 * subscribers recording predictions and alerts.
 *
 * test_100hz_stream (issue 19: "a 100 Hz LPMS stream through ingest ->
 * scorer with the 50 Hz model"): ingest-bt sets both sensors to 100 Hz; the
 * scorer serves them models/arm-linacc.aem (trained at 50 Hz), so it keeps
 * 1 sample in 2 (raw_resampled counts them, nothing is refused). The
 * healthy arm (seed 3) must raise no alert at all; the faulty one (seed 2,
 * an episode at 20..50 s and one at 80..110 s of arm time, loose mount then
 * worn joint) must enter FAILURE exactly twice and leave it after each.
 * Without the decimation the same model flags most windows of a 100 Hz
 * stream (a window is then 2 s of motion, not 4 s).
 *
 * test_learn_new_sensor (issue 19: "learn mode end to end"): a new sensor
 * arm9 (seed 5) streams normal data, served first by the models
 * directory's default.aem (a copy of models/arm-linacc.aem);
 * `anomesh-learn --sensor arm9 --minutes 10` records it live, checks it
 * against that default, trains, validates on a held-out tail and writes
 * arm9.aem into the directory; the scorer, watching it, serves arm9 with
 * its own model without a restart (its predictions name "arm9@"), and no
 * alert is raised; then the sensor's emulator is replaced by one with
 * faults (a loose mount from 20 s on) on the same port: FAILURE follows,
 * and the alert names linacc_x as the channel that drove it.
 *
 * Time: the emulators run --speed times faster than real time (ingest-bt
 * stamps batches by the gateway clock and spaces samples at the nominal
 * rate, so prediction times run compressed, see test_e2e.c); the
 * alerter's state window is scaled by 1/speed so it holds the same labels.
 * Synchronisation: the scorer and the alerter are probed until their
 * metrics count a probe before any data flows; then every wait is on
 * what arrives (counts, a topic, a process exit), never a sleep. */
#include "../harness/harness.h"
#include "clock.h"
#include "metrics.h"
#include "mqtt.h"
#include "msg.h"

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

#define WAIT_MS 60000
#define ARM_MODEL "models/arm-linacc.aem"

enum { SCORER, ALERTER, INGEST, EMU_A, EMU_B, LEARN, N_PROC };
static const char *const NAME[N_PROC] = {"scorer",   "alerter",  "ingest-bt",
					 "lpms-emu", "lpms-emu", "anomesh-learn"};

typedef struct fixture {
	harness_broker broker;
	metrics *m;
	mqtt_client *pub;
	harness_sub *pred, *alert, *svc;
	pid_t pid[N_PROC];
	char log[N_PROC][PATH_MAX];
	char cwd[PATH_MAX];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	mqtt_options o;
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	if (!f || !getcwd(f->cwd, sizeof(f->cwd)) ||
	    harness_broker_start(&f->broker, NULL) != 0)
		return -1;
	f->m = metrics_new();
	mqtt_options_default(&o);
	o.uri = f->broker.uri;
	o.root = "factory";
	o.service = "test-learn";
	o.instance = "t";
	o.metrics_interval_ms = 0;
	f->pub = mqtt_new(&o, f->m, err, sizeof(err));
	if (!f->pub || mqtt_wait_connected(f->pub, WAIT_MS)) {
		fprintf(stderr, "publisher: %s\n", err);
		return -1;
	}
	f->pred = harness_sub_new(f->broker.uri, "factory/+/prediction", NULL, 0);
	f->alert = harness_sub_new(f->broker.uri, "factory/+/alert", NULL, 0);
	f->svc = harness_sub_new(f->broker.uri, "factory/_svc/#", NULL, 0);
	if (!f->pred || !f->alert || !f->svc)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	for (int i = N_PROC; i-- > 0;)
		if (f->pid[i] > 0) {
			fprintf(stderr, "stopping %s left running, log %s\n", NAME[i],
				f->log[i]);
			harness_stop(f->pid[i], SIGTERM, 10000);
		}
	harness_sub_free(f->pred);
	harness_sub_free(f->alert);
	harness_sub_free(f->svc);
	mqtt_free(f->pub);
	harness_broker_stop(&f->broker);
	metrics_free(f->m);
	free(f);
	return 0;
}

static void run(fixture *f, int k, const char *const argv[])
{
	f->pid[k] = harness_spawn(argv, NULL, f->log[k], sizeof(f->log[k]));
	assert_true(f->pid[k] > 0);
}

static void stop(fixture *f, int k)
{
	int st = harness_stop(f->pid[k], SIGTERM, 10000);
	f->pid[k] = 0;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s did not exit cleanly (status %d), log %s", NAME[k], st,
			 f->log[k]);
}

static int metric_at_least(fixture *f, const char *svc, const char *name, long long min,
			   int timeout_ms, long long *value)
{
	char topic[128];
	snprintf(topic, sizeof(topic), "factory/_svc/%s/t/metrics", svc);
	return harness_sub_wait_metric(f->svc, topic, name, min, timeout_ms, value);
}

/* A raw message (scorer) or a prediction (alerter) for sensor "probe",
 * one every 300 ms until the service's metrics count one: it is then
 * subscribed, and nothing published later is lost. */
static void probe(fixture *f, int k)
{
	long long deadline = harness_now_ms() + WAIT_MS;
	char payload[1024], err[MSG_ERR_MAX];
	size_t len;
	for (uint64_t seq = 0; harness_now_ms() < deadline; seq++) {
		if (k == SCORER) {
			msg_raw r;
			msg_raw_init(&r);
			snprintf(r.sensor, sizeof(r.sensor), "probe");
			snprintf(r.run, sizeof(r.run), "probe");
			r.seq = seq;
			r.t0 = clock_now();
			r.rate_hz = 50;
			r.n_channels = 1;
			snprintf(r.channels[0], sizeof(r.channels[0]), "linacc_x");
			assert_int_equal(msg_raw_reserve(&r, 1), 0);
			r.n_samples = 1;
			r.samples[0] = 0;
			assert_int_equal(msg_raw_encode(&r, payload, sizeof(payload),
							&len, err, sizeof(err)),
					 0);
			msg_raw_cleanup(&r);
		} else {
			msg_prediction p = {.n = 200, .threshold = 1};
			snprintf(p.sensor, sizeof(p.sensor), "probe");
			snprintf(p.model, sizeof(p.model), "probe@1");
			p.t = clock_now();
			p.t_start = p.t - 4;
			assert_int_equal(msg_prediction_encode(&p, payload,
							       sizeof(payload), &len, err,
							       sizeof(err)),
					 0);
		}
		assert_int_equal(mqtt_publish_sensor(f->pub, "probe",
						     k == SCORER ? "raw" : "prediction",
						     payload, len, 1, 0),
				 0);
		if (metric_at_least(f, NAME[k], k == SCORER ? "raw_in" : "predictions_in",
				    1, 300, NULL) == 0)
			return;
	}
	fail_msg("%s never counted a probe, log %s", NAME[k], f->log[k]);
}

static void start_scorer(fixture *f, const char *opt, const char *val)
{
	const char *argv[] = {harness_bin("scorer"),
			      "--broker",
			      f->broker.uri,
			      "--instance",
			      "t",
			      "--metrics-interval",
			      "200",
			      "--model-check-ms",
			      "200",
			      "--max-age-s",
			      "0",
			      opt,
			      val,
			      NULL};
	run(f, SCORER, argv);
	probe(f, SCORER);
}

static void start_alerter(fixture *f, const char *window_s)
{
	const char *argv[] = {harness_bin("alerter"),
			      "--broker",
			      f->broker.uri,
			      "--instance",
			      "t",
			      "--metrics-interval",
			      "200",
			      "--restore-ms",
			      "300",
			      "--window-s",
			      window_s,
			      "--stale-s",
			      "60",
			      NULL};
	run(f, ALERTER, argv);
	if (metric_at_least(f, "alerter", "ready", 1, WAIT_MS, NULL))
		fail_msg("alerter never ready, log %s", f->log[ALERTER]);
	probe(f, ALERTER);
}

/* The synthetic arm of seed `seed` on port (0: any), streaming once the
 * host asks; extra options after. Returns its port. */
static int start_emu(fixture *f, int k, int port, const char *seed, const char *speed,
		     const char *const *extra)
{
	char pf[PATH_MAX], ports[16], got[32] = "";
	const char *argv[32] = {harness_bin("lpms-emu"),
				"--listen-port",
				ports,
				"--port-file",
				pf,
				"--arm-seed",
				seed,
				"--speed",
				speed,
				"--no-start-streaming"};
	size_t n = 10;
	long long deadline = harness_now_ms() + WAIT_MS;
	snprintf(pf, sizeof(pf), "%s/emu-%d-%lld.port", harness_tmpdir(), k,
		 harness_now_ms());
	snprintf(ports, sizeof(ports), "%d", port);
	while (extra && *extra && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	run(f, k, argv);
	while (!got[0] && harness_now_ms() < deadline) {
		FILE *fp = fopen(pf, "r");
		if (fp) {
			if (!fgets(got, sizeof(got), fp))
				got[0] = '\0';
			fclose(fp);
		}
		if (!got[0])
			harness_nap_ms(20);
	}
	if (atoi(got) <= 0)
		fail_msg("lpms-emu wrote no port, log %s", f->log[k]);
	return atoi(got);
}

static void start_ingest(fixture *f, const char *rate, const char *src1, const char *src2)
{
	const char *argv[] = {harness_bin("ingest-bt"),
			      "--broker",
			      f->broker.uri,
			      "--instance",
			      "t",
			      "--rate",
			      rate,
			      "--backoff-min-ms",
			      "100",
			      "--backoff-max-ms",
			      "500",
			      src1,
			      src2,
			      NULL};
	if (!src2)
		argv[12] = NULL;
	run(f, INGEST, argv);
}

/* The sensor's messages on kind ("prediction", "alert"), decoded in order. */
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

static size_t alerts_of(fixture *f, const char *sensor, msg_alert *out, size_t max)
{
	char topic[128], err[MSG_ERR_MAX];
	size_t k = 0, n = harness_sub_count(f->alert);
	snprintf(topic, sizeof(topic), "factory/%s/alert", sensor);
	for (size_t i = 0; i < n && k < max; i++) {
		harness_msg m;
		assert_int_equal(harness_sub_get(f->alert, i, &m), 0);
		if (strcmp(m.topic, topic) == 0) {
			assert_int_equal(
			    msg_alert_decode(m.payload, m.len, &out[k], err, sizeof err),
			    0);
			k++;
		}
		harness_msg_cleanup(&m);
	}
	return k;
}

typedef struct count_want {
	const char *topic;
	size_t n;
} count_want;

static int enough(const harness_msg *msgs, size_t n, void *ud)
{
	const count_want *w = ud;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += strcmp(msgs[i].topic, w->topic) == 0;
	return k >= w->n;
}

/* ---- 100 Hz through a 50 Hz model ------------------------------------------------ */

#define SPEED_100 "8"
#define WINDOW_100 "1.25" /* the alerter's 10 s / SPEED_100 */

static void test_100hz_stream(void **state)
{
	fixture *f = *state;
	char model[2 * PATH_MAX], src1[64], src2[64];
	const char *const faults[] = {
	    "--faults", "--fault-first-s", "20", "--fault-every-s",
	    "60",       "--fault-s",       "30", NULL};
	count_want want = {"factory/arm1/prediction", 700}; /* 140 s of arm time */
	static msg_alert al[64];
	long long v = -1;
	size_t n_al, entered = 0, left = 0;

	snprintf(model, sizeof(model), "*=%s/%s", f->cwd, ARM_MODEL);
	start_scorer(f, "--model", model);
	start_alerter(f, WINDOW_100);
	snprintf(src1, sizeof(src1), "tcp:127.0.0.1:%d#arm1",
		 start_emu(f, EMU_A, 0, "2", SPEED_100, faults));
	snprintf(src2, sizeof(src2), "tcp:127.0.0.1:%d#arm2",
		 start_emu(f, EMU_B, 0, "3", SPEED_100, NULL));
	start_ingest(f, "100", src1, src2);

	if (harness_sub_wait(f->pred, enough, &want, 0, 120000))
		fail_msg("arm1: not %zu predictions; logs %s %s", want.n, f->log[INGEST],
			 f->log[SCORER]);
	stop(f, INGEST);
	stop(f, EMU_A);
	stop(f, EMU_B);
	/* the scorer decimated, refused nothing */
	assert_int_equal(metric_at_least(f, "scorer", "raw_resampled", 100, WAIT_MS, &v),
			 0);
	assert_int_equal(metric_at_least(f, "scorer", "raw_rate_refused", 0, WAIT_MS, &v),
			 0);
	assert_int_equal(v, 0);
	{
		long long n_pred = (long long)harness_sub_count(f->pred);
		if (metric_at_least(f, "alerter", "predictions_in", n_pred, WAIT_MS,
				    NULL))
			fail_msg("alerter did not take every prediction, log %s",
				 f->log[ALERTER]);
	}
	stop(f, SCORER);
	stop(f, ALERTER);

	/* the healthy arm: no alert at all */
	assert_int_equal(alerts_of(f, "arm2", al, 64), 0);
	/* the faulty one: into FAILURE once per episode, and out after each */
	n_al = alerts_of(f, "arm1", al, 64);
	for (size_t i = 0; i < n_al; i++) {
		fprintf(stderr, "arm1 alert %s -> %s, top %s\n", state_name(al[i].from),
			state_name(al[i].to), al[i].top.n ? al[i].top.c[0].channel : "-");
		if (al[i].to == STATE_FAILURE)
			entered++;
		else if (al[i].from == STATE_FAILURE && al[i].to == STATE_OK)
			left++;
	}
	assert_int_equal(entered, 2);
	assert_int_equal(left, 2);
}

/* ---- learning a new machine ---------------------------------------------------------
 */

#define SPEED_LEARN "20"
#define WINDOW_LEARN "0.5" /* 10 s / SPEED_LEARN */
#define MAX_PRED 20000

static int wait_exit(fixture *f, int k, int timeout_ms)
{
	int st = harness_wait_exit(f->pid[k], timeout_ms);
	if (st == -1)
		fail_msg("%s still running after %d ms, log %s", NAME[k], timeout_ms,
			 f->log[k]);
	f->pid[k] = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_learn_new_sensor(void **state)
{
	fixture *f = *state;
	static msg_prediction pr[MAX_PRED];
	static msg_alert al[64];
	char dir[PATH_MAX], cmd[3 * PATH_MAX], src[64];
	const char *const faults[] = {"--faults", "--fault-first-s", "20", NULL};
	count_want want = {"factory/arm9/prediction", 50};
	size_t n, first_own = 0, n_al;
	int port, rc;

	snprintf(dir, sizeof(dir), "%s/models", harness_tmpdir());
	assert_true((size_t)snprintf(cmd, sizeof(cmd),
				     "mkdir -p '%s' && cp '%s/%s' '%s/default.aem'", dir,
				     f->cwd, ARM_MODEL, dir) < sizeof(cmd));
	assert_int_equal(system(cmd), 0);
	start_scorer(f, "--models-dir", dir);
	start_alerter(f, WINDOW_LEARN);
	port = start_emu(f, EMU_A, 0, "5", SPEED_LEARN, NULL);
	snprintf(src, sizeof(src), "tcp:127.0.0.1:%d#arm9", port);
	start_ingest(f, "50", src, NULL);
	if (harness_sub_wait(f->pred, enough, &want, 0, WAIT_MS))
		fail_msg("arm9 not scored by default.aem; log %s", f->log[SCORER]);

	/* learn it live: 10 minutes of its data (30 s at this speed) */
	{
		const char *argv[] = {harness_bin("anomesh-learn"),
				      "--broker",
				      f->broker.uri,
				      "--instance",
				      "t",
				      "--sensor",
				      "arm9",
				      "--minutes",
				      "10",
				      "--models-dir",
				      dir,
				      NULL};
		run(f, LEARN, argv);
		rc = wait_exit(f, LEARN, 180000);
		if (rc != 0)
			fail_msg("anomesh-learn exited %d, log %s", rc, f->log[LEARN]);
	}
	/* served by its own model, no restart */
	if (harness_sub_wait_topic(f->pred, "factory/arm9/prediction",
				   "\"model\":\"arm9@", WAIT_MS) < 0)
		fail_msg("arm9 never scored by arm9.aem; log %s", f->log[SCORER]);
	n = predictions_of(f, "arm9", pr, MAX_PRED);
	while (first_own < n && !strstr(pr[first_own].model, "arm9@"))
		first_own++;
	want.n = n + 300; /* a minute of arm time on its own model */
	if (harness_sub_wait(f->pred, enough, &want, 0, WAIT_MS))
		fail_msg("arm9 stopped; log %s", f->log[SCORER]);
	assert_int_equal(alerts_of(f, "arm9", al, 64), 0); /* healthy: silent */

	/* faults on the same sensor, same port */
	stop(f, EMU_A);
	start_emu(f, EMU_B, port, "5", SPEED_LEARN, faults);
	if (harness_sub_wait_topic(f->alert, "factory/arm9/alert", "\"to\":\"FAILURE\"",
				   WAIT_MS) < 0)
		fail_msg("no FAILURE for arm9 after the faults; logs %s %s",
			 f->log[SCORER], f->log[ALERTER]);
	n_al = alerts_of(f, "arm9", al, 64);
	assert_int_equal(n_al, 1);
	assert_int_equal(al[0].to, STATE_FAILURE);
	assert_int_equal(al[0].has_top, 1);
	fprintf(stderr, "arm9 FAILURE: top %s %.2f\n", al[0].top.c[0].channel,
		al[0].top.c[0].share);
	assert_string_equal(al[0].top.c[0].channel, "linacc_x");
	/* every prediction since the first of its own model is its own */
	n = predictions_of(f, "arm9", pr, MAX_PRED);
	for (size_t i = first_own; i < n; i++)
		assert_non_null(strstr(pr[i].model, "arm9@"));
	assert_true(al[0].t > pr[first_own].t);
	stop(f, INGEST);
	stop(f, EMU_B);
	stop(f, SCORER);
	stop(f, ALERTER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_100hz_stream, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_learn_new_sensor, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
