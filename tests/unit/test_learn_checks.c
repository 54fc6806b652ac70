/* test_learn_checks — anomesh-learn's data and verdicts (tools/learn*.h) on
 * the synthetic arm, no broker:
 *  - the live stream's account: duplicates dropped, seq and frame gaps
 *    counted with the samples lost, a rate change or a missing channel
 *    refused; a CSV's time column gives the rate and its gaps;
 *  - the verdicts, each for the reason it names: 10 minutes of a healthy
 *    arm are learnt (model at 50 Hz, units g, the sensor's name, its own
 *    held-out tail clean); 30 s are too few; a stream missing 3 % of its
 *    samples is gappy; an arm with fault episodes is anomalous to the
 *    shipped model (and --force learns it anyway); a healthy arm whose
 *    held-out tail turns faulty is unstable. */
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

#include "../../services/ingest-bt/arm.h"
#include "../../services/ingest-bt/lpmscsv.h"
#include "../../tools/learn.h"
#include "../harness/harness.h"
#include "aefile.h"

#define RATE 50
#define PER_MSG 10

static const char *const ch[] = {"linacc_x", "linacc_y", "linacc_z"};

/* Raw message seq of the arm p: samples seq*PER_MSG.. at RATE. */
static void arm_msg(const arm_params *p, uint64_t seq, msg_raw *r)
{
	snprintf(r->sensor, sizeof(r->sensor), "arm9");
	snprintf(r->run, sizeof(r->run), "r1");
	r->seq = seq;
	r->t0 = (double)(seq * PER_MSG) / RATE;
	r->rate_hz = RATE;
	r->has_frame0 = 1;
	r->frame0 = (int64_t)(seq * PER_MSG);
	r->n_channels = 3;
	for (size_t c = 0; c < 3; c++)
		snprintf(r->channels[c], sizeof(r->channels[c]), "%s", ch[c]);
	assert_int_equal(msg_raw_reserve(r, PER_MSG), 0);
	r->n_samples = PER_MSG;
	for (size_t k = 0; k < PER_MSG; k++) {
		lpms_sample s;
		arm_sample(p, seq * PER_MSG + k, RATE, &s);
		for (size_t c = 0; c < 3; c++)
			r->samples[k * 3 + c] = s.linacc[c];
	}
}

/* seconds of the arm p as a live stream into d, skipping 1 message in
 * every skip_every (0: none). */
static void stream(learn_data *d, const arm_params *p, double seconds, int skip_every)
{
	msg_raw r;
	char err[256];
	msg_raw_init(&r);
	for (uint64_t q = 0; q < (uint64_t)(seconds * RATE / PER_MSG); q++) {
		if (skip_every && q % (uint64_t)skip_every == (uint64_t)skip_every - 1)
			continue;
		arm_msg(p, q, &r);
		assert_int_equal(learn_data_add(d, &r, err, sizeof err), 0);
	}
	msg_raw_cleanup(&r);
}

static void test_stream_account(void **state)
{
	learn_data d;
	arm_params p;
	msg_raw r;
	char err[256];
	(void)state;
	arm_params_default(&p);
	learn_data_init(&d, ch, 3);
	msg_raw_init(&r);
	for (uint64_t q = 0; q < 10; q++) {
		arm_msg(&p, q, &r);
		assert_int_equal(learn_data_add(&d, &r, err, sizeof err), 0);
		if (q == 4) /* QoS 1 redelivery */
			assert_int_equal(learn_data_add(&d, &r, err, sizeof err), 0);
	}
	assert_int_equal(d.n, 100);
	assert_int_equal(d.duplicates, 1);
	assert_int_equal(d.n_gaps, 0);
	arm_msg(&p, 13, &r); /* seq 10..12 lost: 30 samples, by the frame counter */
	assert_int_equal(learn_data_add(&d, &r, err, sizeof err), 0);
	assert_int_equal(d.n_gaps, 1);
	assert_int_equal(d.lost, 30);
	arm_msg(&p, 14, &r);
	r.has_frame0 = 0;
	r.seq = 16; /* no frame counter: seq x message size */
	assert_int_equal(learn_data_add(&d, &r, err, sizeof err), 0);
	assert_int_equal(d.n_gaps, 2);
	assert_int_equal(d.lost, 50);
	assert_true(fabs(learn_data_seconds(&d) - 120.0 / RATE) < 1e-9);
	arm_msg(&p, 17, &r);
	r.rate_hz = 100;
	assert_int_equal(learn_data_add(&d, &r, err, sizeof err), AM_EFORMAT);
	assert_non_null(strstr(err, "rate"));
	arm_msg(&p, 17, &r);
	snprintf(r.channels[1], sizeof(r.channels[1]), "acc_y");
	assert_int_equal(learn_data_add(&d, &r, err, sizeof err), AM_EFORMAT);
	assert_non_null(strstr(err, "linacc_y"));
	msg_raw_cleanup(&r);
	learn_data_cleanup(&d);
	learn_data_cleanup(&d);

	/* a CSV: the rate from its time column, a hole in it is a gap */
	char path[4096];
	FILE *f;
	snprintf(path, sizeof path, "%s/gap.csv", harness_tmpdir());
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(lpmscsv_header(f), 0);
	for (uint64_t k = 0; k < 1000; k++) {
		lpms_sample s;
		if (k >= 500 && k < 520)
			continue;
		arm_sample(&p, k, RATE, &s);
		assert_int_equal(lpmscsv_row(f, (double)k / RATE, k, &s), 0);
	}
	assert_int_equal(fclose(f), 0);
	learn_data_init(&d, ch, 3);
	assert_int_equal(learn_data_csv(&d, path, 0, 0, err, sizeof err), 0);
	assert_true(d.rate_hz == RATE);
	assert_int_equal(d.n, 980);
	assert_int_equal(d.n_gaps, 1);
	assert_int_equal(d.lost, 20);
	learn_data_cleanup(&d);
}

/* Learn seconds of arm p (reference ref, may be NULL). */
static enum learn_verdict learn(const arm_params *p, double seconds, int skip_every,
				const ae_model *ref, int force, ae_model *m,
				learn_result *res)
{
	learn_params lp;
	learn_data d;
	char err[512];
	learn_defaults(&lp);
	lp.m.train.epochs = 60; /* enough here, and bearable under the sanitizers */
	lp.force = force;
	learn_data_init(&d, ch, 3);
	stream(&d, p, seconds, skip_every);
	assert_int_equal(learn_run(&lp, &d, ref, "arm9", m, NULL, res, err, sizeof err),
			 0);
	print_message("%.0f s: %s%s%s (val rate %.3f, ref failures %zu)\n", seconds,
		      learn_verdict_name(res->verdict), res->verdict ? ": " : "",
		      res->verdict ? err : "", res->val_rate, res->ref_failures);
	learn_data_cleanup(&d);
	return res->verdict;
}

static void test_verdicts(void **state)
{
	arm_params p;
	ae_model m, ref;
	learn_result res;
	char err[512];
	(void)state;

	if (aefile_load("models/arm-linacc.aem", &ref, err, sizeof err))
		fail_msg("%s (run `make models`)", err);
	arm_params_default(&p);
	p.seed = 5;

	/* ten healthy minutes: learnt, and the model says what it is */
	assert_int_equal(learn(&p, 600, 0, &ref, 0, &m, &res), LEARN_OK);
	assert_true(m.rate_hz == RATE);
	assert_string_equal(m.units[0], "g");
	assert_string_equal(m.meta.name, "arm9");
	assert_true(res.ref_checked && res.ref_failures == 0);
	assert_int_equal(res.val_failures, 0);
	assert_true(res.val_rate <= 0.05);
	assert_int_equal(res.head_rows + res.tail_rows, 600 * RATE);
	assert_true(res.n_train >= LEARN_MIN_TRAIN && res.n_val >= LEARN_MIN_VAL);
	ae_model_cleanup(&m);

	/* too few */
	assert_int_equal(learn(&p, 30, 0, &ref, 0, &m, &res), LEARN_TOO_FEW);
	ae_model_cleanup(&m);
	/* gappy: 1 message in 33 lost, 3 % */
	assert_int_equal(learn(&p, 120, 33, &ref, 0, &m, &res), LEARN_GAPPY);
	assert_true(res.lost_frac > 0.02);
	ae_model_cleanup(&m);

	/* anomalous already: the shipped model finds the fault episodes */
	p.faults = 1;
	assert_int_equal(learn(&p, 600, 0, &ref, 0, &m, &res), LEARN_ANOMALOUS);
	assert_true(res.ref_failures >= 4);
	assert_true(res.ref_fail_at > 40 && res.ref_fail_at < 60);
	ae_model_cleanup(&m);
	/* --force learns it anyway (whatever it then makes of its own tail) */
	learn(&p, 600, 0, &ref, 1, &m, &res);
	assert_true(res.verdict == LEARN_OK || res.verdict == LEARN_UNSTABLE);
	assert_int_equal(res.ref_failures >= 4, 1);
	ae_model_cleanup(&m);

	/* unstable: healthy for the 480 s learnt, a loose mount in the tail */
	p.fault_first_s = 500;
	assert_int_equal(learn(&p, 600, 0, NULL, 0, &m, &res), LEARN_UNSTABLE);
	assert_true(res.val_failures >= 1);
	ae_model_cleanup(&m);
	ae_model_cleanup(&ref);
}

int main(void)
{
	openblas_set_num_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_account),
	    cmocka_unit_test(test_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
