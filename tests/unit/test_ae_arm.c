/* test_ae_arm — the shipped default model (models/arm-linacc.aem, trained
 * by `make models` on the healthy synthetic arm of seed 1) checked like the
 * real recording in test_ae_lpms: on arms it never saw (other seeds), with
 * fault episodes, the state logic must enter FAILURE in every episode and
 * leave it after each, and stay OK through every healthy stretch; on a
 * healthy arm it must never enter FAILURE.
 *
 * Ground truth is found the way the end-to-end test finds it on the real
 * recording, independently of the model: 5 s bins whose linacc_x RMS is
 * over 0.07 g (tests/harness/truth.h), on the recording the arm writes —
 * and it must agree with the arm's own fault schedule.
 *
 * Which signal: in the loose-mount episodes (the bracket rattles, mostly
 * along x) the anomalous windows name linacc_x as their top channel (the
 * prediction's "top"), in at least LOOSE_X_MIN of them, and linacc_x has
 * the largest summed share in each such episode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/ae_eval_lpms.h"
#include "../harness/synth.h"
#include "../harness/truth.h"
#include "aefile.h"

#define MODEL "models/arm-linacc.aem"
#define SECONDS 600
#define RATE 50
#define ENTER_S 12.0 /* FAILURE at most this long after an episode starts */
#define LEAVE_S 15.0 /* and OK again at most this long after it ends */
#define LOOSE_X_MIN 0.8

/* SECONDS of the arm as a recording in the test's temp dir. */
static const char *write_arm(const arm_params *p, const char *name)
{
	const char *path = synth_arm_csv(name, p, RATE, SECONDS);
	assert_non_null(path);
	return path;
}

static size_t replay(const ae_model *m, const char *csv, ae_eval_stretch *st)
{
	ae_eval_params p;
	size_t n = 0;
	double rate;
	char err[512];
	ae_eval_lpms_defaults(&p);
	p.bin_s = 0;
	if (ae_eval_lpms_replay(&p, m, csv, NULL, st, &n, &rate, err, sizeof err))
		fail_msg("%s", err);
	print_message("%s: window anomaly rate %.3f, %zu FAILURE stretch(es)\n", csv,
		      rate, n);
	return n;
}

static void test_every_episode_and_only_there(void **state)
{
	arm_params p;
	ae_model m;
	truth_stretch hot[32];
	ae_eval_stretch fail[AE_EVAL_MAX_STRETCHES];
	size_t n_hot = 0, n_fail;
	char err[512];
	const char *csv;
	(void)state;

	if (aefile_load(MODEL, &m, err, sizeof err))
		fail_msg("%s (run `make models`)", err);
	arm_params_default(&p);
	p.seed = 2;
	p.faults = 1;
	csv = write_arm(&p, "arm-faulty.csv");

	/* ground truth from energy, and it is the arm's own schedule */
	assert_int_equal(synth_arm_truth(csv, &p, SECONDS, hot, 32, &n_hot), 0);
	assert_int_equal(n_hot, 5); /* episodes at 40, 160, 280, 400, 520 s */

	n_fail = replay(&m, csv, fail);
	/* one FAILURE per episode: entered soon after it starts, left soon
	 * after it ends, nothing in between */
	assert_int_equal(n_fail, n_hot);
	for (size_t i = 0; i < n_fail; i++) {
		print_message("episode %5.0f..%5.0f s  FAILURE %6.1f..%6.1f s\n",
			      hot[i].start, hot[i].end, fail[i].start, fail[i].end);
		assert_true(fail[i].start >= hot[i].start);
		assert_true(fail[i].start <= hot[i].start + ENTER_S);
		assert_true(fail[i].end >= hot[i].end);
		assert_true(fail[i].end <= hot[i].end + LEAVE_S);
	}
	ae_model_cleanup(&m);
}

static void test_loose_mount_names_linacc_x(void **state)
{
	arm_params p;
	ae_model m;
	ae_work w;
	char err[512];
	const size_t n = SECONDS * RATE;
	float *rows = malloc(n * 3 * sizeof(*rows)), *scores, *ch;
	size_t nw, anom = 0, x_top = 0, episodes = 0;
	double sum[3] = {0};
	enum arm_fault cur = ARM_HEALTHY;
	(void)state;

	if (aefile_load(MODEL, &m, err, sizeof err))
		fail_msg("%s (run `make models`)", err);
	arm_params_default(&p);
	p.seed = 2;
	p.faults = 1;
	assert_non_null(rows);
	for (uint64_t k = 0; k < n; k++) {
		lpms_sample s;
		arm_sample(&p, k, RATE, &s);
		for (size_t c = 0; c < 3; c++)
			rows[k * 3 + c] =
			    s.linacc[c]; /* the model's channels, in order */
	}
	assert_string_equal(m.channels[0], "linacc_x");
	nw = ae_window_count(n, m.window, m.hop);
	scores = malloc(nw * sizeof(*scores));
	ch = malloc(nw * 3 * sizeof(*ch));
	assert_true(scores && ch);
	assert_int_equal(ae_work_init(&w, &m, 64, err, sizeof err), 0);
	assert_int_equal(ae_score_rows_ch(&m, rows, n, scores, ch, &w), (long)nw);
	for (size_t i = 0; i <= nw; i++) {
		double te = i < nw ? (double)(i * m.hop + m.window - 1) / RATE : 1e9;
		enum arm_fault f = arm_fault_at(&p, te);
		size_t idx;
		float share;
		if (cur == ARM_LOOSE_MOUNT && f != cur) { /* an episode ended */
			print_message("loose mount: summed shares x %.1f y %.1f z %.1f\n",
				      sum[0], sum[1], sum[2]);
			assert_true(sum[0] > sum[1] && sum[0] > sum[2]);
			memset(sum, 0, sizeof(sum));
			episodes++;
		}
		cur = f;
		if (f != ARM_LOOSE_MOUNT || scores[i] <= m.threshold)
			continue;
		anom++;
		assert_int_equal(ae_top_channels(&m, ch + i * 3, 1, &idx, &share), 1);
		x_top += idx == 0;
		for (size_t c = 0; c < 3; c++)
			sum[c] += ch[i * 3 + c] / scores[i];
	}
	print_message("loose mount: %zu episodes, %zu anomalous windows, linacc_x top in "
		      "%zu (%.1f %%)\n",
		      episodes, anom, x_top, 100.0 * (double)x_top / (double)anom);
	assert_int_equal(episodes, 3); /* 40, 280, 520 s: every other episode */
	assert_true(anom > 100);
	assert_true((double)x_top >= LOOSE_X_MIN * (double)anom);
	ae_work_cleanup(&w);
	free(rows);
	free(scores);
	free(ch);
	ae_model_cleanup(&m);
}

static void test_healthy_arm_never_fails(void **state)
{
	arm_params p;
	ae_model m;
	ae_eval_stretch fail[AE_EVAL_MAX_STRETCHES];
	char err[512];
	(void)state;

	if (aefile_load(MODEL, &m, err, sizeof err))
		fail_msg("%s (run `make models`)", err);
	arm_params_default(&p);
	p.seed = 3;
	assert_int_equal(replay(&m, write_arm(&p, "arm-healthy.csv"), fail), 0);
	ae_model_cleanup(&m);
}

int main(void)
{
	openblas_set_num_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_episode_and_only_there),
	    cmocka_unit_test(test_healthy_arm_never_fails),
	    cmocka_unit_test(test_loose_mount_names_linacc_x),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
