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
 * and it must agree with the arm's own fault schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../tools/ae_eval_lpms.h"
#include "../harness/synth.h"
#include "../harness/truth.h"
#include "aefile.h"

#define MODEL "models/arm-linacc.aem"
#define SECONDS 600
#define RATE 50
#define ENTER_S 12.0 /* FAILURE at most this long after an episode starts */
#define LEAVE_S 15.0 /* and OK again at most this long after it ends */

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
