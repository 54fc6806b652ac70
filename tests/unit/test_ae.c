/* test_ae — the autoencoder library: batched sgemm inference against a
 * plain-loop reference (tests/harness/aeref.h, which the scorer's
 * integration test uses too), backprop against numerical gradients, convergence
 * and determinism of training, windowing and standardisation (ae.h,
 * ae_train.h, ae_data.h, ae_rng.h). */
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

#include "../harness/aeref.h"
#include "ae.h"
#include "ae_data.h"
#include "ae_rng.h"
#include "ae_train.h"

static const char *const ch3[] = {"a", "b", "c"};

/* A model with random weights (uniform +-0.5) for the given shape. */
static void random_model(ae_model *m, size_t window, size_t nch, const size_t *hidden,
			 size_t n_hidden, enum ae_act act, uint64_t seed)
{
	ae_spec s = {ch3, nch, window, 1, hidden, n_hidden, act, AE_ACT_LINEAR};
	char err[256];
	assert_int_equal(ae_model_init(m, &s, err, sizeof err), 0);
	ae_rng r;
	ae_rng_seed(&r, seed);
	for (size_t p = 0; p < m->n_params; p++)
		m->params[p] = (float)(ae_rng_uniform(&r) - 0.5);
}

static float *random_data(size_t n, uint64_t seed)
{
	float *x = malloc(n * sizeof *x);
	assert_non_null(x);
	ae_rng r;
	ae_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(2.0 * ae_rng_uniform(&r) - 1.0);
	return x;
}

static void test_inference_matches_reference(void **state)
{
	(void)state;
	enum ae_act acts[] = {AE_ACT_TANH, AE_ACT_RELU, AE_ACT_SIGMOID, AE_ACT_LINEAR};
	for (size_t ai = 0; ai < 4; ai++) {
		size_t hidden[] = {17, 5, 17};
		ae_model m;
		random_model(&m, 20, 3, hidden, 3, acts[ai], 42 + ai);
		m.act[1] = AE_ACT_TANH; /* mixed activations */
		size_t n = 37, in = ae_input_size(&m);
		float *x = random_data(n * in, 7 + ai);
		float scores[37];
		ae_work w;
		char err[256];
		/* a max batch smaller than n exercises the chunking */
		assert_int_equal(ae_work_init(&w, &m, 16, err, sizeof err), 0);
		ae_score_batch(&m, x, n, scores, &w);
		for (size_t i = 0; i < n; i++) {
			double r = aeref_score(&m, x + i * in);
			assert_true(fabs(scores[i] - r) <= 1e-5 * fmax(1.0, fabs(r)));
		}
		/* batches of 1 and 3 (sgemv, a window at a time) give the same
		 * scores as the big batch (sgemm) */
		float one, three[3];
		ae_score_batch(&m, x + 5 * in, 1, &one, &w);
		assert_true(fabs(one - scores[5]) <= 1e-6 * fmax(1.0, fabs(scores[5])));
		ae_score_batch(&m, x + 5 * in, 3, three, &w);
		for (size_t i = 0; i < 3; i++)
			assert_true(fabs(three[i] - scores[5 + i]) <=
				    1e-6 * fmax(1.0, fabs(scores[5 + i])));
		ae_work_cleanup(&w);
		ae_work_cleanup(&w);
		free(x);
		ae_model_cleanup(&m);
		ae_model_cleanup(&m);
	}
}

/* Each score split by channel, weights applied, against the reference; the
 * parts add up to the score; the top channels are the largest parts, and a
 * channel pushed off its normal shows up first. */
static void test_channel_parts_and_top(void **state)
{
	(void)state;
	size_t hidden[] = {9};
	ae_model m;
	random_model(&m, 20, 3, hidden, 1, AE_ACT_TANH, 5);
	m.weight[0] = 1.0f;
	m.weight[1] = 2.0f;
	m.weight[2] = 0.5f;
	size_t n = 9, in = ae_input_size(&m);
	float *x = random_data(n * in, 11);
	for (size_t t = 0; t < 20; t++) /* window 4: channel c far off */
		x[4 * in + t * 3 + 2] += 25.0f;
	float scores[9], plain[9], ch[9 * 3], share[3];
	size_t idx[3];
	ae_work w;
	char err[256];
	assert_int_equal(ae_work_init(&w, &m, 4, err, sizeof err), 0);
	ae_score_batch_ch(&m, x, n, scores, ch, &w);
	ae_score_batch(&m, x, n, plain, &w);
	for (size_t i = 0; i < n; i++) {
		double parts[3], sum = 0;
		double r = aeref_score_parts(&m, x + i * in, parts);
		assert_true(scores[i] == plain[i]);
		assert_true(fabs(scores[i] - r) <= 1e-5 * fmax(1.0, fabs(r)));
		for (size_t c = 0; c < 3; c++) {
			assert_true(fabs(ch[i * 3 + c] - parts[c]) <=
				    1e-5 * fmax(1.0, r));
			sum += ch[i * 3 + c];
		}
		assert_true(fabs(sum - scores[i]) <= 1e-5 * fmax(1.0, r));
		size_t k = ae_top_channels(&m, ch + i * 3, 3, idx, share);
		assert_int_equal(k, 3);
		assert_true(share[0] >= share[1] && share[1] >= share[2]);
		assert_true(fabs(share[0] + share[1] + share[2] - 1.0) < 1e-5);
		for (size_t c = 0; c < 3; c++)
			assert_true(ch[i * 3 + idx[0]] >= ch[i * 3 + c]);
	}
	assert_int_equal(ae_top_channels(&m, ch + 4 * 3, 1, idx, share), 1);
	assert_int_equal(idx[0], 2);
	assert_true(share[0] > 0.9f);
	/* nothing to share: none named */
	float zero[3] = {0, 0, 0};
	assert_int_equal(ae_top_channels(&m, zero, 3, idx, share), 0);
	ae_work_cleanup(&w);
	free(x);
	ae_model_cleanup(&m);
}

/* The robust scaler: median and IQR / 1.349, outliers or not; the EVT
 * threshold: on exponential scores (whose excesses over any level are
 * exponential again) the score exceeded with probability r is -ln r; the
 * channel weights: once trained with them, every channel's part of the
 * held-out score is the same. */
static void test_robust_scaler_evt_and_weights(void **state)
{
	(void)state;
	size_t hidden[] = {3};
	ae_model m;
	char err[256];
	random_model(&m, 4, 3, hidden, 1, AE_ACT_TANH, 3);
	float rows[101 * 3];
	for (size_t i = 0; i < 101; i++) {
		rows[i * 3 + 0] = (float)i;                  /* 0..100 */
		rows[i * 3 + 1] = i % 10 == 0 ? 1e6f : 5.0f; /* outliers */
		rows[i * 3 + 2] = (float)(i % 2);
	}
	assert_int_equal(ae_fit_scaler_robust(&m, rows, 101, err, sizeof err), 0);
	assert_true(fabs(m.mean[0] - 50.0) < 1e-4);
	assert_true(fabs(m.std[0] - 50.0 / 1.349) < 1e-3);
	assert_true(m.mean[1] == 5.0f);
	assert_true(m.std[1] > 1000.0f); /* IQR 0: the std, outliers and all */
	assert_string_equal(m.scaler, "median-iqr");
	ae_model_cleanup(&m);

	size_t n = 4000;
	float *s = malloc(n * sizeof *s);
	for (size_t i = 0; i < n; i++)
		s[i] = (float)-log(1.0 - ((double)i + 0.5) / (double)n);
	const double risks[] = {0.05, 0.01, 0.001};
	for (size_t k = 0; k < 3; k++) {
		double t = ae_threshold_evt(s, n, risks[k]);
		print_message("EVT at risk %g: %.3f (exact %.3f)\n", risks[k], t,
			      -log(risks[k]));
		assert_true(fabs(t + log(risks[k])) < 0.05 * -log(risks[k]));
	}
	free(s);

	/* weights: three channels of very different difficulty */
	size_t nw = 300, w = 8, in = w * 3;
	float *x = malloc(nw * in * sizeof *x);
	ae_rng r;
	ae_rng_seed(&r, 9);
	for (size_t i = 0; i < nw; i++) {
		double ph = 6.283185 * ae_rng_uniform(&r);
		for (size_t t = 0; t < w; t++) {
			x[i * in + t * 3 + 0] = (float)sin(ph + 0.4 * (double)t);
			x[i * in + t * 3 + 1] = (float)(2.0 * ae_rng_uniform(&r) - 1.0);
			x[i * in + t * 3 + 2] = 0.1f * (float)cos(ph);
		}
	}
	ae_spec spec = {ch3, 3, w, 1, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	assert_int_equal(ae_model_init(&m, &spec, err, sizeof err), 0);
	ae_train_opts o;
	ae_train_defaults(&o);
	o.epochs = 40;
	o.channel_weights = 1;
	assert_int_equal(ae_train(&m, x, nw, &o, NULL, NULL, err, sizeof err), 0);
	size_t n_train, n_val;
	ae_split_windows(&m, nw, o.val_frac, &n_train, &n_val);
	float *sc = malloc(n_val * sizeof *sc), *ch = malloc(n_val * 3 * sizeof *ch);
	double part[3] = {0}, wsum = 0;
	ae_work wk;
	assert_int_equal(ae_work_init(&wk, &m, 64, err, sizeof err), 0);
	ae_score_batch_ch(&m, x + (nw - n_val) * in, n_val, sc, ch, &wk);
	for (size_t i = 0; i < n_val; i++)
		for (size_t c = 0; c < 3; c++)
			part[c] += ch[i * 3 + c];
	for (size_t c = 0; c < 3; c++)
		wsum += m.weight[c];
	print_message("weights %.3f %.3f %.3f, held-out parts %.4f %.4f %.4f\n",
		      m.weight[0], m.weight[1], m.weight[2], part[0], part[1], part[2]);
	assert_true(fabs(wsum - 3.0) < 1e-4);
	assert_true(m.weight[1] < m.weight[0]); /* the noise channel weighs least */
	for (size_t c = 1; c < 3; c++)
		assert_true(fabs(part[c] - part[0]) < 1e-3 * part[0]);
	ae_work_cleanup(&wk);
	free(sc);
	free(ch);
	free(x);
	ae_model_cleanup(&m);
}

/* Central differences on every parameter against ae_loss_grad. */
static void check_gradient(enum ae_act a0, enum ae_act a1)
{
	size_t hidden[] = {5, 4};
	ae_model m;
	random_model(&m, 3, 2, hidden, 2, a0, 11);
	m.act[1] = a1;
	m.act[2] = AE_ACT_LINEAR;
	size_t n = 6, in = ae_input_size(&m);
	float *x = random_data(n * in, 3);
	float *grad = malloc(m.n_params * sizeof *grad);
	float *scratch = malloc(m.n_params * sizeof *scratch);
	ae_work w;
	char err[256];
	assert_int_equal(ae_work_init(&w, &m, n, err, sizeof err), 0);
	ae_loss_grad(&m, x, n, grad, &w);
	double worst = 0;
	for (size_t p = 0; p < m.n_params; p++) {
		float keep = m.params[p];
		const float h = 3e-3f; /* small enough for relu's kink */
		m.params[p] = keep + h;
		double lp = ae_loss_grad(&m, x, n, scratch, &w);
		m.params[p] = keep - h;
		double lm = ae_loss_grad(&m, x, n, scratch, &w);
		m.params[p] = keep;
		double num = (lp - lm) / (2.0 * (double)h);
		double diff = fabs(num - grad[p]) / fmax(1e-2, fabs(num) + fabs(grad[p]));
		if (diff > worst)
			worst = diff;
	}
	if (worst > 1e-2)
		fail_msg("acts %d %d: worst relative gradient error %g", a0, a1, worst);
	ae_work_cleanup(&w);
	free(grad);
	free(scratch);
	free(x);
	ae_model_cleanup(&m);
}

static void test_gradient_check(void **state)
{
	(void)state;
	check_gradient(AE_ACT_TANH, AE_ACT_SIGMOID);
	check_gradient(AE_ACT_SIGMOID, AE_ACT_LINEAR);
	check_gradient(AE_ACT_RELU, AE_ACT_TANH);
}

/* Toy problem: windows of sines with a random phase, 2 degrees of freedom
 * in 48 inputs; a 4-unit bottleneck must learn to reconstruct them. */
static float *sine_windows(size_t n, size_t in, uint64_t seed)
{
	float *x = malloc(n * in * sizeof *x);
	ae_rng r;
	ae_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		double ph = 6.283185 * ae_rng_uniform(&r);
		for (size_t j = 0; j < in; j++)
			x[i * in + j] = (float)sin(ph + 0.3 * (double)j);
	}
	return x;
}

static int count_epochs(void *ud, uint32_t epoch, double tl, double vl)
{
	(void)tl;
	(void)vl;
	*(uint32_t *)ud = epoch;
	return 0;
}

static void test_training_converges_and_is_deterministic(void **state)
{
	(void)state;
	size_t hidden[] = {4};
	size_t n = 400, in = 48;
	float *x = sine_windows(n, in, 5);
	ae_model m, m2;
	ae_spec s = {ch3, 1, in, 1, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	char err[256];
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), 0);
	assert_int_equal(ae_model_init(&m2, &s, err, sizeof err), 0);
	ae_train_opts o;
	ae_train_defaults(&o);
	o.epochs = 60;
	o.lr = 1e-2f;
	o.val_frac = 0.25;
	o.patience = 0;
	uint32_t last = 0;
	assert_int_equal(ae_train(&m, x, n, &o, count_epochs, &last, err, sizeof err), 0);
	assert_int_equal(last, 60);
	/* the data has variance 0.5: an untrained net scores about that */
	assert_true(m.meta.val_loss < 0.02f);
	assert_true(m.meta.n_val == 100);
	assert_true(m.meta.n_train + m.meta.n_val + 47 == n);
	assert_true(isfinite(m.threshold) && m.threshold > 0.0f);
	/* the threshold separates the normal windows from a shifted shape */
	float bad[48], sc;
	for (size_t j = 0; j < in; j++)
		bad[j] = (float)sin(0.9 * (double)j);
	ae_work w;
	assert_int_equal(ae_work_init(&w, &m, 1, err, sizeof err), 0);
	ae_score_batch(&m, bad, 1, &sc, &w);
	assert_true(sc > m.threshold);
	ae_work_cleanup(&w);

	assert_int_equal(ae_train(&m2, x, n, &o, NULL, NULL, err, sizeof err), 0);
	assert_memory_equal(m.params, m2.params, m.n_params * sizeof(float));
	assert_true(m.threshold == m2.threshold);
	o.seed = 2;
	assert_int_equal(ae_train(&m2, x, n, &o, NULL, NULL, err, sizeof err), 0);
	assert_memory_not_equal(m.params, m2.params, m.n_params * sizeof(float));

	/* early stopping keeps the best epoch and stops on patience */
	o.patience = 3;
	o.epochs = 1000;
	o.lr = 5e-2f;
	assert_int_equal(ae_train(&m2, x, n, &o, NULL, NULL, err, sizeof err), 0);
	assert_true(m2.meta.epochs < 1000);
	assert_true(m2.meta.best_epoch + 3 == m2.meta.epochs);
	ae_model_cleanup(&m);
	ae_model_cleanup(&m2);
	free(x);
}

static void test_windows_and_scaler(void **state)
{
	(void)state;
	assert_int_equal(ae_window_count(10, 4, 2), 4);
	assert_int_equal(ae_window_count(3, 4, 1), 0);
	assert_int_equal(ae_window_count(4, 4, 3), 1);
	size_t hidden[] = {2};
	ae_spec s = {ch3, 2, 4, 2, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	ae_model m;
	char err[256];
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), 0);
	float rows[20];
	for (int i = 0; i < 10; i++) {
		rows[2 * i] = (float)i; /* mean 4.5 */
		rows[2 * i + 1] = 3.0f; /* constant: std falls back to 1 */
	}
	assert_int_equal(ae_fit_scaler(&m, rows, 10, err, sizeof err), 0);
	assert_true(fabsf(m.mean[0] - 4.5f) < 1e-6f);
	assert_true(fabsf(m.std[0] - 3.0276504f) < 1e-5f);
	assert_true(m.std[1] == 1.0f && m.mean[1] == 3.0f);
	float st[20], win[4 * 8];
	ae_standardise(&m, rows, 10, st);
	assert_true(fabsf(st[0] - (-4.5f / 3.0276504f)) < 1e-5f);
	assert_true(st[1] == 0.0f);
	assert_int_equal(ae_make_windows(&m, st, 10, win), 4);
	/* window 2 starts at row 4: its first value is row 4, channel 0 */
	assert_true(win[2 * 8] == st[8]);
	assert_true(win[3 * 8 + 7] == st[19]);
	assert_int_equal(ae_fit_scaler(&m, rows, 1, err, sizeof err), AM_ENODATA);
	ae_model_cleanup(&m);
}

/* Training windows are the ones the scorer cuts (standardise, then
 * ae_make_windows), and the validation tail never overlaps training. */
static void test_training_windows_and_split(void **state)
{
	(void)state;
	size_t hidden[] = {2};
	ae_spec s = {ch3, 2, 4, 2, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	ae_model m;
	char err[256];
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), 0);
	float rows[20], st[20], win[4 * 8], *got;
	for (int i = 0; i < 20; i++)
		rows[i] = (float)(i * i % 7);
	assert_int_equal(ae_fit_scaler(&m, rows, 10, err, sizeof err), 0);
	ae_standardise(&m, rows, 10, st);
	assert_int_equal(ae_make_windows(&m, st, 10, win), 4);
	size_t n = 0;
	assert_int_equal(ae_windows_from_rows(&m, rows, 10, &got, &n, err, sizeof err),
			 0);
	assert_int_equal(n, 4);
	assert_memory_equal(got, win, sizeof win);
	free(got);
	assert_int_equal(ae_windows_from_rows(&m, rows, 3, &got, &n, err, sizeof err), 0);
	assert_int_equal(n, 0); /* shorter than a window: none, not an error */
	free(got);

	/* window 4, hop 2: a window overlaps the next one only, so one
	 * window between the parts is dropped */
	size_t nt, nv;
	ae_split_windows(&m, 100, 0.2, &nt, &nv);
	assert_int_equal(nv, 20);
	assert_int_equal(nt, 79);
	ae_split_windows(&m, 100, 0.0, &nt, &nv);
	assert_int_equal(nv, 0);
	assert_int_equal(nt, 100);
	ae_split_windows(&m, 2, 0.5, &nt, &nv); /* no room for a gap: all train */
	assert_int_equal(nv, 0);
	assert_int_equal(nt, 2);
	ae_model_cleanup(&m);
}

static void test_bad_specs(void **state)
{
	(void)state;
	ae_model m;
	char err[256];
	size_t hidden[] = {0};
	ae_spec s = {ch3, 3, 10, 1, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), AM_EINVAL);
	size_t h2[] = {4};
	s.hidden = h2;
	s.window = 0;
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), AM_EINVAL);
	s.window = 30000; /* 90000 inputs: over the width cap */
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), AM_EINVAL);
	ae_model_cleanup(&m);
	enum ae_act a;
	assert_int_equal(ae_act_parse("sigmoid", &a), 0);
	assert_int_equal(a, AE_ACT_SIGMOID);
	assert_int_equal(ae_act_parse("gelu", &a), -1);
	assert_string_equal(ae_act_name(AE_ACT_RELU), "relu");
}

static void test_rows_from_table(void **state)
{
	(void)state;
	char *names[] = {"t", "b", "a"};
	int is_text[] = {1, 0, 0};
	double values[] = {NAN, 1, 2, NAN, 3, 4};
	csv_table t = {3, 2, names, is_text, values, NULL};
	size_t hidden[] = {2};
	ae_spec s = {ch3, 2, 1, 1, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	ae_model m;
	char err[256];
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), 0);
	float *rows;
	size_t n;
	assert_int_equal(ae_rows_from_table(&m, &t, 0, &rows, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	/* model order a, b, whatever the table's */
	assert_true(rows[0] == 2.0f && rows[1] == 1.0f && rows[2] == 4.0f &&
		    rows[3] == 3.0f);
	free(rows);
	assert_int_equal(ae_rows_from_table(&m, &t, 1, &rows, &n, err, sizeof err), 0);
	assert_int_equal(n, 1);
	free(rows);
	snprintf(m.channels[1], AE_NAME_MAX, "t");
	assert_int_equal(ae_rows_from_table(&m, &t, 0, &rows, &n, err, sizeof err),
			 AM_ENODATA);
	snprintf(m.channels[1], AE_NAME_MAX, "zz");
	assert_int_equal(ae_rows_from_table(&m, &t, 0, &rows, &n, err, sizeof err),
			 AM_ENODATA);
	assert_non_null(strstr(err, "zz"));
	ae_model_cleanup(&m);
}

static void test_rng(void **state)
{
	(void)state;
	ae_rng a, b;
	ae_rng_seed(&a, 9);
	ae_rng_seed(&b, 9);
	for (int i = 0; i < 100; i++)
		assert_true(ae_rng_next(&a) == ae_rng_next(&b));
	double s = 0;
	for (int i = 0; i < 10000; i++) {
		double u = ae_rng_uniform(&a);
		assert_true(u >= 0.0 && u < 1.0);
		s += u;
	}
	assert_true(fabs(s / 10000 - 0.5) < 0.02);
}

int main(void)
{
	openblas_set_num_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_channel_parts_and_top),
	    cmocka_unit_test(test_robust_scaler_evt_and_weights),
	    cmocka_unit_test(test_inference_matches_reference),
	    cmocka_unit_test(test_gradient_check),
	    cmocka_unit_test(test_training_converges_and_is_deterministic),
	    cmocka_unit_test(test_windows_and_scaler),
	    cmocka_unit_test(test_training_windows_and_split),
	    cmocka_unit_test(test_bad_specs),
	    cmocka_unit_test(test_rows_from_table),
	    cmocka_unit_test(test_rng),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
