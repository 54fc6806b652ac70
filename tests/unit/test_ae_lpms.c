/* test_ae_lpms — the model on the real LPMS-B2 recordings
 * (../shared/data/lpms-b2; without them every case prints "SKIP: ..." and
 * skips).
 *
 * Ground truth, from the data and checked here on every run (the numbers
 * in tests/harness/truth.h): the recordings have no labels; the failure
 * stretches are the 5 s bins where the RMS of linacc_x exceeds 0.06 g,
 * merged. Every bin of the normal recording is at most 0.0496 g; the
 * pre-fail recording's bins are at most 0.0522 g or at least 0.0705 g,
 * none between: 0.06 g sits in that empty band, and the pre-fail
 * recording has exactly 8 failure stretches.
 *
 * The evaluation (ae_eval_lpms, what `make eval-lpms` runs): a model
 * fitted on the normal recording minus its last 20 %, which is held out
 * (1,322 rows, 29 s) and is the only data any false-alarm claim here rests
 * on. On the pre-fail recording the state logic must enter FAILURE once
 * per failure stretch, exactly 8 times: within ENTER_S of the stretch's
 * start (or of the first verdict, 8 s of windows into the recording, for
 * the stretch the recording starts in), and leave it within AE_EVAL_LPMS_LEAVE_S (15 s)
 * of its end (so it is entered afresh for the next), except where the recording ends
 * first (the last stretch ends 5 s before it does: FAILURE is still on). On the held-out
 * normal tail it must never enter FAILURE. That is ae_eval_lpms_verdict, the PASS/FAIL
 * `make eval-lpms` prints; its bounds are those test_e2e states.
 *
 * Which signal: through the shipped model (models/lpms-linacc.aem, the
 * one the scorer serves), the anomalous windows that end inside a failure
 * stretch name linacc_x as their top channel (prediction "top"): in at
 * least TOP_X_MIN of them, and in every stretch linacc_x carries the
 * largest summed share.
 *
 * Also: the evaluations train with the one set of training defaults
 * (ae_train_defaults), LPMS as it is and SKAB with only its named
 * departures, so no tool carries a training default of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/ae_eval_lpms.h"
#include "../../tools/ae_eval_skab.h"
#include "../harness/harness.h"
#include "../harness/truth.h"
#include "ae_data.h"
#include "aefile.h"
#include "csv.h"

#define NORMAL "data/lpms-b2/normal_20170202_2229.csv"
#define PREFAIL "data/lpms-b2/pre-fail_20170202_2234.csv"
#define N_STRETCH 8
#define TOP_X_MIN 0.8

/* The recordings, or a skip saying why. */
static int have_data(void)
{
	return !harness_shared_missing(NORMAL) && !harness_shared_missing(PREFAIL);
}

static size_t truth(truth_stretch *hot, size_t max)
{
	size_t n = 0;
	if (truth_energy_stretches(harness_shared(PREFAIL), "linacc_x", TRUTH_LPMS_BIN_S,
				   TRUTH_LPMS_LEVEL_G, hot, max, &n))
		fail_msg("no ground truth from %s", harness_shared(PREFAIL));
	return n;
}

static void test_ground_truth_from_data(void **state)
{
	double rms[TRUTH_MAX_BINS], hi_quiet = 0, lo_fail = INFINITY, hi_normal = 0;
	size_t n = 0;
	truth_stretch hot[32];
	(void)state;
	if (!have_data()) {
		skip();
		return;
	}
	assert_int_equal(truth_energy_bins(harness_shared(NORMAL), "linacc_x",
					   TRUTH_LPMS_BIN_S, rms, TRUTH_MAX_BINS, &n),
			 0);
	assert_int_equal(n, 30);
	for (size_t b = 0; b < n; b++)
		hi_normal = fmax(hi_normal, rms[b]);
	assert_int_equal(truth_energy_bins(harness_shared(PREFAIL), "linacc_x",
					   TRUTH_LPMS_BIN_S, rms, TRUTH_MAX_BINS, &n),
			 0);
	assert_int_equal(n, 39);
	for (size_t b = 0; b < n; b++) {
		if (rms[b] > TRUTH_LPMS_LEVEL_G)
			lo_fail = fmin(lo_fail, rms[b]);
		else
			hi_quiet = fmax(hi_quiet, rms[b]);
	}
	print_message("linacc_x RMS, 5 s bins: normal <= %.4f g; pre-fail quiet <= "
		      "%.4f g, failure >= %.4f g\n",
		      hi_normal, hi_quiet, lo_fail);
	/* the numbers truth.h states, to the 4th decimal */
	assert_true(fabs(hi_normal - 0.0496) < 5e-5);
	assert_true(fabs(hi_quiet - 0.0522) < 5e-5);
	assert_true(fabs(lo_fail - 0.0705) < 5e-5);
	/* the level in the middle of the empty band, clear of both sides */
	assert_true(hi_normal < TRUTH_LPMS_LEVEL_G - 0.008);
	assert_true(hi_quiet < TRUTH_LPMS_LEVEL_G - 0.0075);
	assert_true(lo_fail > TRUTH_LPMS_LEVEL_G + 0.01);
	assert_int_equal(truth(hot, 32), N_STRETCH);
}

static void test_failure_stretches_and_clean_tail(void **state)
{
	truth_stretch hot[32];
	ae_eval_params p;
	ae_eval_lpms_result r;
	char err[512];
	size_t n_hot;
	(void)state;
	if (!have_data()) {
		skip();
		return;
	}
	n_hot = truth(hot, 32);
	assert_int_equal(n_hot, N_STRETCH);
	ae_eval_lpms_defaults(&p);
	p.train.epochs = 30; /* enough here, and fast under the sanitizers */
	p.bin_s = 0;
	if (ae_eval_lpms(&p, harness_shared(NORMAL), harness_shared(PREFAIL), NULL, NULL,
			 &r, err, sizeof err))
		fail_msg("%s", err);

	/* the held-out normal tail: long enough for verdicts, none FAILURE */
	print_message(
	    "held-out normal tail: %zu windows, anomaly rate %.3f, %zu FAILURE\n",
	    r.tail_windows, r.tail_rate, r.tail_failures);
	assert_true(r.tail_windows > 100);
	assert_int_equal(r.tail_failures, 0);

	/* one FAILURE per stretch, entered and left in time: the verdict
	 * ae-eval lpms prints */
	ae_eval_stretch truth[32];
	char why[256];
	for (size_t h = 0; h < n_hot; h++) {
		truth[h] = (ae_eval_stretch){hot[h].start, hot[h].end};
		print_message("stretch %5.1f..%5.1f s  FAILURE %5.1f..%5.1f s\n",
			      hot[h].start, hot[h].end,
			      h < r.n_fail ? r.fail[h].start : -1.0,
			      h < r.n_fail ? r.fail[h].end : -1.0);
	}
	if (!ae_eval_lpms_verdict(&r, truth, n_hot, why, sizeof why))
		fail_msg("%s", why);
	print_message("PASS: %s\n", why);
}

/* The shipped model's top channel over the pre-fail recording's failure
 * stretches. */
static void test_linacc_x_drives_failure(void **state)
{
	ae_model m;
	csv_table t;
	truth_stretch hot[32];
	float *rows = NULL, *scores, *ch;
	size_t n = 0, nw, n_hot, anom_in = 0, x_top = 0;
	char err[512];
	ae_work w;
	int ct;
	(void)state;
	if (!have_data()) {
		skip();
		return;
	}
	n_hot = truth(hot, 32);
	if (aefile_load("models/lpms-linacc.aem", &m, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(csv_read_file(harness_shared(PREFAIL), &t, err, sizeof err), 0);
	assert_int_equal(ae_rows_from_table(&m, &t, 0, &rows, &n, err, sizeof err), 0);
	ct = csv_col(&t, "timestamp");
	assert_true(ct >= 0);
	nw = ae_window_count(n, m.window, m.hop);
	scores = malloc(nw * sizeof(*scores));
	ch = malloc(nw * m.n_channels * sizeof(*ch));
	assert_true(scores && ch);
	assert_int_equal(ae_work_init(&w, &m, 64, err, sizeof err), 0);
	assert_int_equal(ae_score_rows_ch(&m, rows, n, scores, ch, &w), (long)nw);
	for (size_t h = 0; h < n_hot; h++) {
		double sum[AE_MAX_CHANNELS] = {0};
		size_t best = 0;
		for (size_t i = 0; i < nw; i++) {
			double te =
			    t.values[(i * m.hop + m.window - 1) * t.n_cols + (size_t)ct];
			size_t idx;
			float share;
			if (te < hot[h].start || te > hot[h].end ||
			    scores[i] <= m.threshold)
				continue;
			anom_in++;
			assert_int_equal(
			    ae_top_channels(&m, ch + i * m.n_channels, 1, &idx, &share),
			    1);
			x_top += strcmp(m.channels[idx], "linacc_x") == 0;
			for (size_t c = 0; c < m.n_channels; c++)
				sum[c] += ch[i * m.n_channels + c] / scores[i];
		}
		for (size_t c = 1; c < m.n_channels; c++)
			if (sum[c] > sum[best])
				best = c;
		print_message("stretch %5.1f..%5.1f s: largest summed share %s\n",
			      hot[h].start, hot[h].end, m.channels[best]);
		assert_string_equal(m.channels[best], "linacc_x");
	}
	print_message("anomalous windows in the stretches: %zu, linacc_x top in %zu "
		      "(%.1f %%)\n",
		      anom_in, x_top, 100.0 * (double)x_top / (double)anom_in);
	assert_true(anom_in > 200);
	assert_true((double)x_top >= TOP_X_MIN * (double)anom_in);
	ae_work_cleanup(&w);
	free(scores);
	free(ch);
	free(rows);
	csv_free(&t);
	ae_model_cleanup(&m);
}

/* Field by field: the struct has padding. */
static void assert_same_opts(const ae_train_opts *a, const ae_train_opts *b)
{
	assert_int_equal(a->epochs, b->epochs);
	assert_int_equal(a->batch, b->batch);
	assert_true(a->lr == b->lr);
	assert_int_equal(a->seed, b->seed);
	assert_true(a->val_frac == b->val_frac);
	assert_int_equal(a->patience, b->patience);
	assert_true(a->thr_quantile == b->thr_quantile);
	assert_true(a->thr_margin == b->thr_margin);
	assert_true(a->thr_k == b->thr_k);
	assert_true(a->thr_evt_risk == b->thr_evt_risk);
	assert_int_equal(a->channel_weights, b->channel_weights);
	assert_int_equal(a->scaler, b->scaler);
}

static void test_evaluations_train_with_the_defaults(void **state)
{
	(void)state;
	ae_train_opts def;
	ae_train_defaults(&def);
	assert_int_equal(def.epochs, 200); /* what built models/lpms-linacc.aem */
	assert_int_equal(def.patience, 20);

	ae_eval_params p;
	ae_eval_lpms_defaults(&p);
	assert_same_opts(&p.train, &def);

	ae_eval_skab_defaults(&p);
	assert_int_equal(p.train.epochs, 100);
	assert_int_equal(p.train.patience, 10);
	assert_true(p.train.val_frac == 0.1);
	assert_true(p.train.thr_evt_risk == 0.03);
	assert_true(p.train.thr_margin == 1.2);
	assert_int_equal(p.train.scaler, AE_SCALER_MEDIAN_IQR);
	p.train.epochs = def.epochs;
	p.train.patience = def.patience;
	p.train.val_frac = def.val_frac;
	p.train.thr_evt_risk = def.thr_evt_risk;
	p.train.thr_margin = def.thr_margin;
	p.train.scaler = def.scaler;
	assert_same_opts(&p.train, &def);
}

int main(void)
{
	openblas_set_num_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_evaluations_train_with_the_defaults),
	    cmocka_unit_test(test_ground_truth_from_data),
	    cmocka_unit_test(test_failure_stretches_and_clean_tail),
	    cmocka_unit_test(test_linacc_x_drives_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
