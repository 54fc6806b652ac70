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
#include "learn.h"
#include "learn_record.h"
#include "log.h"
#include "svc.h"
#include "text.h"

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
	svc s;
	learn_data d;
	learn_params lp;
	learn_result res;
	ae_model m, ref;
	ae_cli_train tr;
	config_list channels, hidden;
	char *sensor = NULL, *csv = NULL, *dir = NULL, *reference = NULL;
	char names[AE_MAX_CHANNELS][AE_NAME_MAX], err[512], path[4096], refpath[4096];
	const char *chp[AE_MAX_CHANNELS];
	double minutes, rate, timeout_s;
	long window, hop;
	int force, dry, has_ref = 0, status = 3, rc;
	size_t nch = 0;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
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
	    {"timeout-s", CONFIG_DBL, &timeout_s, "30", 1, 1e6,
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
	rc = svc_init(&s, &p, argc, argv);
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
	learn_data_init(&d, chp, nch);
	status = 3;
	has_ref = load_reference(dir, sensor, reference, &ref, refpath, sizeof(refpath),
				 err, sizeof(err));
	if (has_ref < 0) {
		log_error("reference: %s", err);
		goto out;
	}
	rc = csv ? learn_data_csv(&d, csv, rate, 0, err, sizeof(err))
		 : learn_record(&s, &p, sensor, minutes, timeout_s, &d, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		goto out;
	}
	printf(
	    "anomesh-learn %s\ndata       %.1f s at %g Hz (%zu samples, %zu gaps, %llu "
	    "lost) from %s\n",
	    sensor, learn_data_seconds(&d), d.rate_hz, d.n, d.n_gaps,
	    (unsigned long long)d.lost, csv ? csv : "the live stream");
	fflush(stdout);
	rc = learn_run(&lp, &d, has_ref ? &ref : NULL, sensor, &m, stdout, &res, err,
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
	learn_data_cleanup(&d);
	svc_cleanup(&s);
	return status;
}
