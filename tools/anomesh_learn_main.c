/* anomesh-learn — teach the mesh a new machine in one command:
 *
 *   anomesh-learn --sensor arm2 --minutes 30       (record it live)
 *   anomesh-learn --sensor arm2 --csv export.csv   (an archiver export, a log)
 *
 * Live, it subscribes to {root}/{sensor}/raw and records --minutes of the
 * sensor's data (minutes of samples at the sensor's rate, whatever the
 * wall clock does), showing progress; then it checks, trains and
 * validates (learn.h) with progress, and writes the model atomically as
 * {models-dir}/{sensor}.aem, where a scorer watching that directory serves
 * the sensor with it from its next check on, no restart. The report (stdout)
 * says what it did: data, reference check, windows, threshold, validation.
 *
 * Exit status: 0 written (or, with --dry-run, would be), 1 refused (the
 * data: too few, gappy, already anomalous, unstable: the reason is printed),
 * 2 usage, 3 error (no data arrived, the broker, a file). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ae_cli.h"
#include "aefile.h"
#include "clock.h"
#include "learn.h"
#include "log.h"
#include "svc.h"
#include "text.h"

typedef struct learn_main {
	svc s;
	learn_data d;
	const char *sensor;
	size_t want; /* rows to record */
	double timeout_s;
	int64_t last_data_ms, started_ms;
	int failed; /* AM_E* once recording cannot go on */
	char err[256];
} learn_main;

static int on_raw(void *ud, const mqtt_message *msg)
{
	learn_main *lm = ud;
	msg_raw r;
	char err[MSG_ERR_MAX];
	msg_raw_init(&r);
	if (lm->failed || lm->d.n >= lm->want)
		goto out;
	if (msg_raw_decode(msg->payload, msg->len, &r, err, sizeof(err)) == 0 &&
	    strcmp(r.sensor, lm->sensor) == 0) {
		lm->last_data_ms = clock_mono_ms();
		if (!lm->d.started)
			log_info("recording %s at %g Hz: %zu samples wanted", lm->sensor,
				 r.rate_hz,
				 lm->want = (size_t)((double)lm->want * r.rate_hz));
		lm->failed = learn_data_add(&lm->d, &r, lm->err, sizeof(lm->err));
		if (lm->failed || lm->d.n >= lm->want)
			loop_stop(lm->s.loop);
	}
out:
	msg_raw_cleanup(&r);
	return 0;
}

static int64_t on_tick(void *ud)
{
	learn_main *lm = ud;
	int64_t now = clock_mono_ms();
	if (now - lm->last_data_ms > (int64_t)(lm->timeout_s * 1000)) {
		lm->failed = AM_ETIMEOUT;
		snprintf(lm->err, sizeof(lm->err),
			 "no data from %s for %g s (is it streaming? --timeout-s)",
			 lm->sensor, lm->timeout_s);
		loop_stop(lm->s.loop);
	} else if (lm->d.started) {
		fprintf(stderr,
			"recording %s: %5.1f %% (%.0f of %.0f s of data), %zu gaps\n",
			lm->sensor, 100.0 * (double)lm->d.n / (double)lm->want,
			learn_data_seconds(&lm->d), (double)lm->want / lm->d.rate_hz,
			lm->d.n_gaps);
	}
	return 5000;
}

/* Record live; returns 0 with the data in lm->d, or an AM_E* (lm->err). */
static int record(learn_main *lm, const svc_params *p, double minutes)
{
	mqtt_options o;
	char topic[TOPIC_MAX + 1];
	lm->want = (size_t)(minutes * 60.0); /* x rate once the first message says it */
	svc_mqtt_options(&lm->s, p, &o);
	if (svc_connect(&lm->s, &o) ||
	    topic_sensor(topic, sizeof(topic), lm->s.root, lm->sensor, TOPIC_RAW) < 0 ||
	    mqtt_subscribe(lm->s.mqtt, topic, 1) || svc_watch_inbox(&lm->s, on_raw, lm) ||
	    loop_timer_add(lm->s.loop, 5000, on_tick, lm) < 0) {
		snprintf(lm->err, sizeof(lm->err), "cannot subscribe to %.200s", topic);
		return AM_EBROKER;
	}
	log_info("waiting for %s (%g min of data)", topic, minutes);
	lm->last_data_ms = lm->started_ms = clock_mono_ms();
	loop_run(lm->s.loop);
	if (!lm->failed && lm->d.n < lm->want) {
		lm->failed = AM_ESTOPPED;
		snprintf(lm->err, sizeof(lm->err), "stopped after %.0f s of data",
			 learn_data_seconds(&lm->d));
	}
	svc_disconnect(&lm->s);
	return lm->failed;
}

/* The model serving the sensor now, as the scorer's directory would pick
 * it: its own file, else default.aem; "none" or no file: NULL. */
static int load_reference(const char *dir, const char *sensor, const char *given,
			  ae_model *ref, char *path, size_t len, char *err, size_t errlen)
{
	struct stat st;
	if (given && strcmp(given, "none") == 0)
		return 0;
	if (given)
		snprintf(path, len, "%s", given);
	else if (snprintf(path, len, "%s/%s.aem", dir, sensor) > 0 &&
		 stat(path, &st) != 0)
		snprintf(path, len, "%s/default.aem", dir);
	if (!given && stat(path, &st) != 0)
		return 0;
	return aefile_load(path, ref, err, errlen) ? -1 : 1;
}

int main(int argc, char **argv)
{
	learn_main lm;
	learn_params lp;
	learn_result res;
	ae_model m, ref;
	ae_cli_train tr;
	config_list channels, hidden;
	char *sensor = NULL, *csv = NULL, *dir = NULL, *reference = NULL;
	char names[AE_MAX_CHANNELS][AE_NAME_MAX], err[512], path[4096], refpath[4096];
	const char *chp[AE_MAX_CHANNELS];
	double minutes, rate;
	long window, hop;
	int force, dry, has_ref = 0, status = 3, rc;
	size_t nch = 0;

	memset(&lm, 0, sizeof(lm));
	memset(&m, 0, sizeof(m));
	memset(&ref, 0, sizeof(ref));
	learn_defaults(&lp);
	ae_cli_train_init(&tr, &lp.m.train);
	const config_opt opts[] = {
	    {"sensor", CONFIG_STR, &sensor, NULL, 0, -1, "the sensor to learn (required)",
	     0, 0},
	    {"minutes", CONFIG_DBL, &minutes, "30", 0.1, 1e5,
	     "live: minutes of data to record from {root}/{sensor}/raw", 0, 0},
	    {"csv", CONFIG_STR, &csv, NULL, 0, -1,
	     "learn from this file instead (archiver export, LpmsControl log)", 0, 0},
	    {"rate", CONFIG_DBL, &rate, "0", 0, 1e6,
	     "--csv: its rate, Hz (0: from its timestamp/t column)", 0, 0},
	    {"models-dir", CONFIG_STR, &dir, "models", 0, -1,
	     "write {sensor}.aem here (the scorer's --models-dir)", 0, 0},
	    {"reference", CONFIG_STR, &reference, NULL, 0, -1,
	     "model to check the data against (default: the sensor's file in "
	     "--models-dir, else its default.aem; 'none': skip)",
	     0, 0},
	    {"force", CONFIG_BOOL, &force, "0", 0, -1,
	     "learn even what the reference model finds anomalous", 0, 0},
	    {"dry-run", CONFIG_BOOL, &dry, "0", 0, -1, "check and train, write nothing",
	     0, 0},
	    {"channels", CONFIG_LIST, &channels, "linacc_x,linacc_y,linacc_z", 0, 0,
	     "channels to learn", 0, 0},
	    {"window", CONFIG_INT, &window, "200", 1, AE_MAX_WINDOW, "samples per window",
	     0, 0},
	    {"hop", CONFIG_INT, &hop, "10", 1, AE_MAX_WINDOW, "samples between windows",
	     0, 0},
	    {"hidden", CONFIG_LIST, &hidden, "50", 0, 0, "hidden layer sizes", 0, 0},
	    AE_CLI_TRAIN_OPTS(tr),
	    {"holdout", CONFIG_DBL, &lp.holdout_frac, "0.2", 0.05, 0.5,
	     "tail of the data held out to validate", 0, 0},
	    {"min-seconds", CONFIG_DBL, &lp.min_s, "60", 1, 1e7, "data wanted at least",
	     0, 0},
	    {"max-val-rate", CONFIG_DBL, &lp.max_val_rate, "0.05", 0, 1,
	     "most windows of the held-out tail the new model may flag", 0, 0},
	    {"timeout-s", CONFIG_DBL, &lm.timeout_s, "30", 1, 1e6,
	     "live: give up after this long without data", 0, 0},
	};
	svc_params p = {.name = "anomesh-learn",
			.summary =
			    "anomesh-learn: learn a machine's normal, write its model\n"
			    "usage: anomesh-learn --sensor S [--minutes M | --csv "
			    "FILE] [--models-dir DIR] [options]",
			.opts = opts,
			.n_opts = sizeof(opts) / sizeof(opts[0]),
			.defer_mqtt = 1};
	rc = svc_init(&lm.s, &p, argc, argv);
	if (rc)
		return svc_exit_code(rc);
	openblas_set_num_threads(1);
	status = 2;
	if (!sensor || !text_sensor_valid(sensor)) {
		log_error("--sensor: a sensor id is required ([A-Za-z0-9._-]{1,64})");
		goto out;
	}
	if (ae_cli_names(&channels, names, AE_MAX_CHANNELS, &nch, err, sizeof(err)) ||
	    ae_cli_sizes(&hidden, lp.m.hidden, AE_EVAL_MAX_HIDDEN, &lp.m.n_hidden, err,
			 sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	for (size_t c = 0; c < nch; c++)
		chp[c] = names[c];
	lp.m.window = (size_t)window;
	lp.m.hop = (size_t)hop;
	lp.force = force;
	ae_cli_train_get(&tr, &lp.m.train);
	lm.sensor = sensor;
	learn_data_init(&lm.d, chp, nch);
	status = 3;
	has_ref = load_reference(dir, sensor, reference, &ref, refpath, sizeof(refpath),
				 err, sizeof(err));
	if (has_ref < 0) {
		log_error("reference: %s", err);
		goto out;
	}
	rc = csv ? learn_data_csv(&lm.d, csv, rate, 0, lm.err, sizeof(lm.err))
		 : record(&lm, &p, minutes);
	if (rc) {
		log_error("%s", lm.err);
		goto out;
	}
	printf(
	    "anomesh-learn %s\ndata       %.1f s at %g Hz (%zu samples, %zu gaps, %llu "
	    "lost) from %s\n",
	    sensor, learn_data_seconds(&lm.d), lm.d.rate_hz, lm.d.n, lm.d.n_gaps,
	    (unsigned long long)lm.d.lost, csv ? csv : "the live stream");
	fflush(stdout);
	rc = learn_run(&lp, &lm.d, has_ref ? &ref : NULL, sensor, &m, stdout, &res, err,
		       sizeof(err));
	if (rc) {
		log_error("%s", err);
		goto out;
	}
	if (res.verdict != LEARN_OK) {
		printf("%s: %s\n", learn_verdict_name(res.verdict), err);
		status = 1;
		goto out;
	}
	snprintf(m.meta.source, sizeof(m.meta.source), "%s",
		 csv ? csv : "live {root}/{sensor}/raw");
	ae_cli_utc_now(m.meta.date, sizeof(m.meta.date));
	printf(
	    "model      threshold %.5g, %zu windows trained on, %zu set the threshold, "
	    "%u epochs (best %u)\n",
	    (double)res.threshold, res.n_train, res.n_thr, res.epochs, res.best_epoch);
	snprintf(path, sizeof(path), "%s/%s.aem", dir, sensor);
	if (dry) {
		printf("dry run: %s not written\n", path);
		status = 0;
		goto out;
	}
	if (aefile_save(&m, path, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	printf("wrote      %s: a scorer watching %s serves %s with it from its next "
	       "check\n",
	       path, dir, sensor);
	status = 0;
out:
	ae_model_cleanup(&m);
	ae_model_cleanup(&ref);
	learn_data_cleanup(&lm.d);
	svc_cleanup(&lm.s);
	return status;
}
