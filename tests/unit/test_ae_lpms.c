/* test_ae_lpms — the model end to end on the real LPMS-B2 recordings: fit on
 * the normal recording minus a held-out tail, then the pre-fail recording
 * must be in FAILURE during each of its failure stretches (and start
 * FAILURE only inside one), and the held-out normal tail never.
 *
 * The recordings have no labels; the failure stretches are found here
 * independently of the model, as the 5 s bins where the RMS of linacc_x
 * exceeds 0.07 g (normal movement stays under 0.05 g, failure movement is
 * 0.09..0.13 g: see ../shared/data/README.md).
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

#include "../../tools/ae_eval_lpms.h"
#include "../../tools/ae_eval_skab.h"
#include "../harness/harness.h"
#include "../harness/truth.h"

#define BIN_S 5.0

/* Failure stretches from the energy of linacc_x, merged over bins. */
static size_t energy_stretches(const char *path, ae_eval_stretch *out, size_t max)
{
	truth_stretch ts[32];
	size_t n = 0;
	if (truth_energy_stretches(path, "linacc_x", BIN_S, 0.07, ts, 32, &n))
		fail_msg("no ground truth from %s", path);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		out[i] = (ae_eval_stretch){ts[i].start, ts[i].end};
	return n;
}

static void test_failure_stretches_and_clean_tail(void **state)
{
	(void)state;
	if (harness_shared_missing("data/lpms-b2/normal_20170202_2229.csv") ||
	    harness_shared_missing("data/lpms-b2/pre-fail_20170202_2234.csv"))
		skip(); /* optional data; test_ae_arm checks the same on the arm */
	const char *shared = getenv("ANOMESH_SHARED");
	if (!shared)
		shared = "../shared";
	char normal[1024], prefail[1024], err[512];
	snprintf(normal, sizeof normal, "%s/data/lpms-b2/normal_20170202_2229.csv",
		 shared);
	snprintf(prefail, sizeof prefail, "%s/data/lpms-b2/pre-fail_20170202_2234.csv",
		 shared);

	ae_eval_stretch hot[32];
	size_t n_hot = energy_stretches(prefail, hot, 32);
	assert_true(n_hot >= 6); /* the recording alternates ~8 times */

	ae_eval_params p;
	ae_eval_lpms_defaults(&p);
	p.train.epochs = 30; /* enough here, and fast under the sanitizers */
	p.bin_s = 0;
	ae_eval_lpms_result r;
	if (ae_eval_lpms(&p, normal, prefail, NULL, &r, err, sizeof err))
		fail_msg("%s", err);

	/* no FAILURE on the held-out normal tail */
	assert_true(r.tail_windows > 50);
	assert_int_equal(r.tail_failures, 0);

	/* every failure stretch is (at least partly) in FAILURE; the state
	 * logic may lag its 10 s span behind the movement */
	for (size_t h = 0; h < n_hot; h++) {
		int covered = 0;
		for (size_t f = 0; f < r.n_fail; f++)
			if (r.fail[f].start < hot[h].end + 2 * BIN_S &&
			    r.fail[f].end > hot[h].start)
				covered = 1;
		if (!covered)
			fail_msg("failure stretch %.0f..%.0f s never in FAILURE",
				 hot[h].start, hot[h].end);
	}
	/* and FAILURE starts only during (or just after) one */
	for (size_t f = 0; f < r.n_fail; f++) {
		int inside = 0;
		for (size_t h = 0; h < n_hot; h++)
			if (r.fail[f].start >= hot[h].start &&
			    r.fail[f].start <= hot[h].end + 2 * BIN_S)
				inside = 1;
		if (!inside)
			fail_msg("FAILURE at %.1f s outside any failure stretch",
				 r.fail[f].start);
	}
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
	assert_true(p.train.thr_margin == 1.25);
	p.train.epochs = def.epochs;
	p.train.patience = def.patience;
	p.train.thr_margin = def.thr_margin;
	assert_same_opts(&p.train, &def);
}

int main(void)
{
	openblas_set_num_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_evaluations_train_with_the_defaults),
	    cmocka_unit_test(test_failure_stretches_and_clean_tail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
