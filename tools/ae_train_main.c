/* ae-train — fit an autoencoder on a CSV recording and write the model file.
 *
 *   ae-train --data normal.csv --channels linacc_x,linacc_y,linacc_z \
 *            --window 200 --hop 10 --hidden 50 --activation tanh --out m.aem
 *
 * Reads LpmsControl logs, SKAB files and plain CSV with a header (the
 * archiver's exports) through common/csv; channels are chosen by their
 * normalised names. Progress (epoch, train and validation loss) goes to
 * stderr. Training runs OpenBLAS on one thread, which with the seed makes
 * the file reproducible (SOURCE_DATE_EPOCH, if set, fixes the date too).
 * The training options default to ae_train_defaults() (ae/ae_train.h),
 * which --help prints; the model's shape defaults to the default model's.
 * The model records the data it was trained on: the sample rate (--rate,
 * else found from the file's timestamp or t column) and each channel's
 * unit (--units, else the contract's unit of an LPMS channel name).
 * `ae-train --describe FILE` prints what a model file holds. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae_cli.h"
#include "ae_data.h"
#include "ae_train.h"
#include "aefile.h"
#include "config.h"
#include "csv.h"

static int progress(void *ud, uint32_t epoch, double tl, double vl)
{
	(void)ud;
	fprintf(stderr, "epoch %4u  train %.6f  val %.6f\n", epoch, tl, vl);
	return 0;
}

/* What the model is trained on: the rate (given, or from the first n rows'
 * timestamp or t column) and each channel's unit. Returns 0 or -1 (err). */
static int set_data(ae_model *m, const csv_table *t, size_t n, double rate,
		    const config_list *units, char *err, size_t errlen)
{
	if (rate <= 0) {
		int ct = csv_col(t, "timestamp");
		if (ct < 0 || t->is_text[ct])
			ct = csv_col(t, "t");
		if (ct >= 0 && !t->is_text[ct]) {
			double *ts = malloc((n ? n : 1) * sizeof *ts);
			if (!ts)
				return am_fail(err, errlen, -1, "out of memory");
			for (size_t i = 0; i < n; i++)
				ts[i] = t->values[i * t->n_cols + (size_t)ct];
			rate = ae_rate_from_times(ts, n);
			free(ts);
		}
		if (rate <= 0)
			return am_fail(err, errlen, -1,
				       "no timestamp or t column to find the sample rate "
				       "from: give --rate");
	}
	m->rate_hz = rate;
	char names[AE_MAX_CHANNELS][AE_NAME_MAX];
	size_t nu = 0;
	if (units->n && !(units->n == 1 && !units->items[0][0]) &&
	    ae_cli_names(units, names, AE_MAX_CHANNELS, &nu, err, errlen))
		return -1;
	if (nu && nu != m->n_channels)
		return am_fail(err, errlen, -1, "--units: %zu units for %zu channels", nu,
			       m->n_channels);
	for (size_t c = 0; c < m->n_channels; c++) {
		const char *u = nu ? names[c] : ae_contract_unit(m->channels[c]);
		if (strlen(u) >= AE_UNIT_MAX)
			return am_fail(err, errlen, -1, "unit '%s' over %d bytes", u,
				       AE_UNIT_MAX - 1);
		snprintf(m->units[c], AE_UNIT_MAX, "%s", u);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *data = NULL, *out = NULL, *act = NULL, *out_act = NULL, *name = NULL,
	     *describe = NULL;
	config_list channels, hidden, units;
	long window, hop, rows;
	double rate;
	ae_train_opts o;
	ae_cli_train tr;
	ae_train_defaults(&o);
	ae_cli_train_init(&tr, &o);
	const config_opt opts[] = {
	    {"data", CONFIG_STR, &data, NULL, 0, 0,
	     "training CSV (LpmsControl, SKAB, plain)", 0, 0},
	    {"out", CONFIG_STR, &out, NULL, 0, 0, "model file to write", 0, 0},
	    {"describe", CONFIG_STR, &describe, NULL, 0, 0, "print a model file and exit",
	     0, 0},
	    {"channels", CONFIG_LIST, &channels, "linacc_x,linacc_y,linacc_z", 0, 0,
	     "input channels by name (comma-separated or repeated)", 0, 0},
	    {"window", CONFIG_INT, &window, "200", 1, AE_MAX_WINDOW, "samples per window",
	     0, 0},
	    {"hop", CONFIG_INT, &hop, "10", 1, AE_MAX_WINDOW, "samples between windows",
	     0, 0},
	    {"hidden", CONFIG_LIST, &hidden, "50", 0, 0,
	     "hidden layer sizes, e.g. 50 or 64,16,64", 0, 0},
	    {"activation", CONFIG_STR, &act, "tanh", 0, 0,
	     "hidden activation: tanh, relu, sigmoid, linear", 0, 0},
	    {"output-activation", CONFIG_STR, &out_act, "linear", 0, 0,
	     "output activation", 0, 0},
	    AE_CLI_TRAIN_OPTS(tr),
	    {"rate", CONFIG_DBL, &rate, "0", 0, 1e6,
	     "sample rate of the data, Hz (0: from its timestamp or t column)", 0, 0},
	    {"units", CONFIG_LIST, &units, "", 0, 0,
	     "unit of each channel, in order (default: the contract's for LPMS "
	     "names)",
	     0, 0},
	    {"rows", CONFIG_INT, &rows, "0", 0, 1e12,
	     "use the first N rows only (0: all)", 0, 0},
	    {"name", CONFIG_STR, &name, "", 0, 0, "model name kept in the file", 0, 0},
	};
	config cfg;
	char err[512];
	int rc = config_load(
	    &cfg, opts, sizeof opts / sizeof opts[0], argc, argv, "ae-train",
	    "ae-train: fit an autoencoder on a CSV recording, write the model "
	    "file\nusage: ae-train --data FILE --out FILE [options]",
	    err, sizeof err);
	if (rc == CONFIG_HELP)
		return 0;
	if (rc) {
		fprintf(stderr, "ae-train: %s\n", err);
		return 2;
	}
	ae_model m;
	memset(&m, 0, sizeof m);
	csv_table t;
	memset(&t, 0, sizeof t);
	float *r = NULL;
	int status = 1;
	if (describe) {
		if (aefile_load(describe, &m, err, sizeof err)) {
			fprintf(stderr, "ae-train: %s\n", err);
			goto out;
		}
		aefile_describe(&m, stdout);
		status = 0;
		goto out;
	}
	if (!data || !out) {
		fprintf(stderr, "ae-train: --data and --out are required (see --help)\n");
		status = 2;
		goto out;
	}
	char names[AE_MAX_CHANNELS][AE_NAME_MAX];
	const char *chp[AE_MAX_CHANNELS];
	size_t nch, hid[AE_MAX_LAYERS], nh;
	enum ae_act a_h, a_o;
	if (ae_cli_names(&channels, names, AE_MAX_CHANNELS, &nch, err, sizeof err) ||
	    ae_cli_sizes(&hidden, hid, AE_MAX_LAYERS - 1, &nh, err, sizeof err)) {
		fprintf(stderr, "ae-train: %s\n", err);
		status = 2;
		goto out;
	}
	if (ae_act_parse(act, &a_h) || ae_act_parse(out_act, &a_o)) {
		fprintf(stderr,
			"ae-train: unknown activation (tanh, relu, sigmoid, linear)\n");
		status = 2;
		goto out;
	}
	for (size_t i = 0; i < nch; i++)
		chp[i] = names[i];
	ae_spec spec = {chp, nch, (size_t)window, (size_t)hop, hid, nh, a_h, a_o};
	if (ae_model_init(&m, &spec, err, sizeof err)) {
		fprintf(stderr, "ae-train: %s\n", err);
		status = 2;
		goto out;
	}
	if (csv_read_file(data, &t, err, sizeof err)) {
		fprintf(stderr, "ae-train: %s\n", err);
		goto out;
	}
	size_t n;
	if (ae_rows_from_table(&m, &t, (size_t)rows, &r, &n, err, sizeof err)) {
		fprintf(stderr, "ae-train: %s: %s\n", data, err);
		goto out;
	}
	if (set_data(&m, &t, n, rate, &units, err, sizeof err)) {
		fprintf(stderr, "ae-train: %s: %s\n", data, err);
		status = 2;
		goto out;
	}
	ae_cli_train_get(&tr, &o);
	openblas_set_num_threads(1);
	fprintf(stderr,
		"ae-train: %s: %zu rows at %g Hz, %zu windows of %ld x %zu, %zu "
		"parameters\n",
		data, n, m.rate_hz, ae_window_count(n, m.window, m.hop), window, nch,
		m.n_params);
	if (ae_fit(&m, r, n, &o, progress, NULL, err, sizeof err)) {
		fprintf(stderr, "ae-train: %s\n", err);
		goto out;
	}
	snprintf(m.meta.name, sizeof m.meta.name, "%s", name);
	const char *base = strrchr(data, '/');
	snprintf(m.meta.source, sizeof m.meta.source, "%s", base ? base + 1 : data);
	ae_cli_utc_now(m.meta.date, sizeof m.meta.date);
	if (aefile_save(&m, out, err, sizeof err)) {
		fprintf(stderr, "ae-train: %s\n", err);
		goto out;
	}
	aefile_describe(&m, stderr);
	fprintf(stderr, "ae-train: wrote %s\n", out);
	status = 0;
out:
	free(r);
	csv_free(&t);
	ae_model_cleanup(&m);
	config_cleanup(&cfg);
	return status;
}
