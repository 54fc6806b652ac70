/* test_ae_conv — a convolutional autoencoder as a tied dense one (ae_conv.h,
 * ae_train.h's tie): the spec parser and layer sizes; the tie map against
 * a convolution written out here with plain loops (the dense forward pass
 * of kernels laid out by that map equals the convolution, and the map's
 * groups are exactly the kernel's taps); training that keeps every group
 * equal and every structural zero at zero while it learns. */
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

#include "ae.h"
#include "ae_conv.h"
#include "ae_rng.h"
#include "ae_train.h"

static const char *const ch3[] = {"a", "b", "c"};

static void test_parse_and_sizes(void **state)
{
	(void)state;
	ae_conv_spec c;
	char err[256];
	size_t h[AE_MAX_LAYERS], nh = 0;
	assert_int_equal(ae_conv_parse("3:2:8,3:2:4", &c, err, sizeof err), 0);
	assert_int_equal(c.n_enc, 2);
	assert_int_equal(c.enc[0].kernel, 3);
	assert_int_equal(c.enc[0].stride, 2);
	assert_int_equal(c.enc[0].filters, 8);
	assert_int_equal(c.enc[1].filters, 4);
	/* 20 samples: 10 x 8 = 80, 5 x 4 = 20, back to 80 (then the output) */
	assert_int_equal(ae_conv_hidden(&c, 20, h, &nh, err, sizeof err), 0);
	assert_int_equal(nh, 3);
	assert_int_equal(h[0], 80);
	assert_int_equal(h[1], 20);
	assert_int_equal(h[2], 80);

	static const char *const bad[] = {
	    "",      "3:2",     "3:0:4",  "3:2:8,",
	    "a:1:1", "3:2:8;1", "-3:1:1", "1:1:1,1:1:1,1:1:1,1:1:1,1:1:1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		if (ae_conv_parse(bad[i], &c, err, sizeof err) != AM_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(err, "convolution"));
		assert_int_equal(c.n_enc, 0);
	}
	/* a stride that does not divide the length, an even kernel */
	assert_int_equal(ae_conv_parse("3:3:4", &c, err, sizeof err), 0);
	assert_int_equal(ae_conv_hidden(&c, 20, h, &nh, err, sizeof err), AM_EINVAL);
	assert_non_null(strstr(err, "divide"));
	assert_int_equal(ae_conv_parse("4:1:4", &c, err, sizeof err), 0);
	assert_int_equal(ae_conv_hidden(&c, 20, h, &nh, err, sizeof err), AM_EINVAL);
	assert_non_null(strstr(err, "even"));
}

/* A model of c's shape over `window` samples of 3 channels. */
static void conv_model(ae_model *m, const ae_conv_spec *c, size_t window)
{
	size_t h[AE_MAX_LAYERS], nh = 0;
	char err[256];
	assert_int_equal(ae_conv_hidden(c, window, h, &nh, err, sizeof err), 0);
	ae_spec s = {ch3, 3, window, 1, h, nh, AE_ACT_TANH, AE_ACT_LINEAR};
	assert_int_equal(ae_model_init(m, &s, err, sizeof err), 0);
}

/* The convolutions written out: per layer a kernel [K][cin][cout] and a
 * bias [cout] of distinct random values, laid into the dense matrices by
 * the conv's own step relation (independent of ae_conv.c's loops), and a
 * forward pass computed from the kernels directly. */
typedef struct ref_layer {
	size_t K, S, P, lin, cin, lout, cout;
	int transposed;
	float *k, *b;
} ref_layer;

static size_t ref_layers(const ae_conv_spec *c, size_t window, ref_layer *L, ae_rng *r)
{
	size_t n = c->n_enc, len[AE_CONV_MAX_LAYERS + 1], ch[AE_CONV_MAX_LAYERS + 1];
	len[0] = window;
	ch[0] = 3;
	for (size_t i = 0; i < n; i++) {
		len[i + 1] = len[i] / c->enc[i].stride;
		ch[i + 1] = c->enc[i].filters;
	}
	for (size_t l = 0; l < 2 * n; l++) {
		size_t i = l < n ? l : 2 * n - 1 - l;
		ref_layer *x = &L[l];
		x->K = c->enc[i].kernel;
		x->S = c->enc[i].stride;
		x->P = (x->K - 1) / 2;
		x->transposed = l >= n;
		x->lin = x->transposed ? len[i + 1] : len[i];
		x->cin = x->transposed ? ch[i + 1] : ch[i];
		x->lout = x->transposed ? len[i] : len[i + 1];
		x->cout = x->transposed ? ch[i] : ch[i + 1];
		x->k = malloc(x->K * x->cin * x->cout * sizeof *x->k);
		x->b = malloc(x->cout * sizeof *x->b);
		for (size_t j = 0; j < x->K * x->cin * x->cout; j++)
			x->k[j] = (float)(ae_rng_uniform(r) - 0.5);
		for (size_t j = 0; j < x->cout; j++)
			x->b[j] = (float)(ae_rng_uniform(r) - 0.5);
	}
	return 2 * n;
}

/* Whether output step to of layer x takes input step ti through tap *k. */
static int ref_tap(const ref_layer *x, size_t ti, size_t to, size_t *k)
{
	long kk = x->transposed ? (long)to - (long)(ti * x->S) + (long)x->P
				: (long)ti - (long)(to * x->S) + (long)x->P;
	*k = (size_t)kk;
	return kk >= 0 && kk < (long)x->K;
}

static void ref_fill(ae_model *m, const ref_layer *L, size_t nl)
{
	memset(m->params, 0, m->n_params * sizeof *m->params);
	for (size_t l = 0; l < nl; l++) {
		const ref_layer *x = &L[l];
		size_t O = x->lout * x->cout, k;
		for (size_t ti = 0; ti < x->lin; ti++)
			for (size_t to = 0; to < x->lout; to++)
				if (ref_tap(x, ti, to, &k))
					for (size_t ci = 0; ci < x->cin; ci++)
						for (size_t co = 0; co < x->cout; co++)
							m->w[l][(ti * x->cin + ci) * O +
								to * x->cout + co] =
							    x->k[(k * x->cin + ci) *
								     x->cout +
								 co];
		for (size_t to = 0; to < x->lout; to++)
			for (size_t co = 0; co < x->cout; co++)
				m->b[l][to * x->cout + co] = x->b[co];
	}
}

/* One window through the kernels: tanh between layers, linear out. */
static void ref_forward(const ref_layer *L, size_t nl, const float *in, float *out)
{
	float a[512], b[512];
	size_t k;
	memcpy(a, in, L[0].lin * L[0].cin * sizeof *a);
	for (size_t l = 0; l < nl; l++) {
		const ref_layer *x = &L[l];
		for (size_t to = 0; to < x->lout; to++)
			for (size_t co = 0; co < x->cout; co++) {
				double s = x->b[co];
				for (size_t ti = 0; ti < x->lin; ti++)
					if (ref_tap(x, ti, to, &k))
						for (size_t ci = 0; ci < x->cin; ci++)
							s += (double)
								 x->k[(k * x->cin + ci) *
									  x->cout +
								      co] *
							     a[ti * x->cin + ci];
				b[to * x->cout + co] = (float)(l + 1 < nl ? tanh(s) : s);
			}
		memcpy(a, b, x->lout * x->cout * sizeof *a);
	}
	memcpy(out, a, L[nl - 1].lout * L[nl - 1].cout * sizeof *out);
}

static void check_ties(const char *spec, size_t window)
{
	ae_conv_spec c;
	ae_model m;
	ref_layer L[AE_MAX_LAYERS];
	char err[256];
	int32_t *tie = NULL;
	ae_rng r;
	ae_rng_seed(&r, 7);
	assert_int_equal(ae_conv_parse(spec, &c, err, sizeof err), 0);
	conv_model(&m, &c, window);
	size_t nl = ref_layers(&c, window, L, &r);
	assert_int_equal(nl, m.n_layers);
	ref_fill(&m, L, nl);
	assert_int_equal(ae_conv_ties(&m, &c, &tie, err, sizeof err), 0);

	/* The map's groups are the kernels' values: each parameter equals the
	 * one it is tied to, a structural zero is zero, and every tap and bias
	 * of every layer has exactly one group (distinct random values). */
	size_t groups = 0, taps = 0;
	for (size_t p = 0; p < m.n_params; p++) {
		if (tie[p] < 0) {
			if (m.params[p] != 0.0f)
				fail_msg(
				    "%s: parameter %zu is a kernel value, tied to none",
				    spec, p);
			continue;
		}
		assert_true((size_t)tie[p] <= p);
		assert_int_equal(tie[tie[p]], tie[p]);
		if (m.params[p] != m.params[tie[p]])
			fail_msg("%s: parameter %zu tied to %d but differs", spec, p,
				 tie[p]);
		groups += (size_t)tie[p] == p;
	}
	for (size_t l = 0; l < nl; l++)
		taps += L[l].K * L[l].cin * L[l].cout + L[l].cout;
	assert_int_equal(groups, taps);

	/* The dense forward pass is the convolution. */
	size_t in = ae_input_size(&m), n = 4;
	float *x = malloc(n * in * sizeof *x), ref[512];
	for (size_t i = 0; i < n * in; i++)
		x[i] = (float)(2.0 * ae_rng_uniform(&r) - 1.0);
	ae_work w;
	assert_int_equal(ae_work_init(&w, &m, n, err, sizeof err), 0);
	ae_forward(&m, x, n, &w);
	for (size_t i = 0; i < n; i++) {
		ref_forward(L, nl, x + i * in, ref);
		for (size_t j = 0; j < in; j++)
			if (fabsf(ref[j] - w.act[nl][i * in + j]) > 1e-4f)
				fail_msg("%s: window %zu value %zu: dense %g, conv %g",
					 spec, i, j, (double)w.act[nl][i * in + j],
					 (double)ref[j]);
	}
	ae_work_cleanup(&w);
	free(x);
	free(tie);
	for (size_t l = 0; l < nl; l++) {
		free(L[l].k);
		free(L[l].b);
	}
	ae_model_cleanup(&m);
}

static void test_ties_are_the_convolution(void **state)
{
	(void)state;
	check_ties("3:2:4,3:2:2", 8);  /* strides 2, the SKAB-like shape */
	check_ties("5:1:2", 6);        /* stride 1, kernel wider than a step */
	check_ties("3:1:5,5:3:2", 12); /* stride 3, filters above channels */
	check_ties("1:2:2,3:1:3", 10); /* a one-tap layer */
}

/* Windows of two sines (per channel phase and amplitude), 3 channels. */
static float *sine_windows(size_t n, size_t window, uint64_t seed)
{
	size_t in = window * 3;
	float *x = malloc(n * in * sizeof *x);
	ae_rng r;
	ae_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		double ph = 6.283185 * ae_rng_uniform(&r);
		for (size_t t = 0; t < window; t++)
			for (size_t c = 0; c < 3; c++)
				x[i * in + t * 3 + c] =
				    (float)((1.0 + 0.3 * (double)c) *
					    sin(ph + 0.4 * (double)t + (double)c));
	}
	return x;
}

static int first_loss(void *ud, uint32_t epoch, double tl, double vl)
{
	(void)vl;
	if (epoch == 1)
		*(double *)ud = tl;
	return 0;
}

static void test_training_keeps_ties(void **state)
{
	(void)state;
	ae_conv_spec c;
	ae_model m;
	char err[256];
	int32_t *tie = NULL;
	size_t window = 8, n = 300;
	assert_int_equal(ae_conv_parse("3:2:4,3:2:2", &c, err, sizeof err), 0);
	conv_model(&m, &c, window);
	assert_int_equal(ae_conv_ties(&m, &c, &tie, err, sizeof err), 0);
	float *x = sine_windows(n, window, 3);
	ae_train_opts o;
	ae_train_defaults(&o);
	o.epochs = 60;
	o.lr = 3e-3f;
	o.tie = tie;
	double loss1 = 0;
	assert_int_equal(ae_train(&m, x, n, &o, first_loss, &loss1, err, sizeof err), 0);
	for (size_t p = 0; p < m.n_params; p++) {
		float want = tie[p] < 0 ? 0.0f : m.params[tie[p]];
		if (m.params[p] != want)
			fail_msg("parameter %zu: %g after training, its group %g", p,
				 (double)m.params[p], (double)want);
	}
	/* and it learnt: the kept epoch's loss well under the first's */
	assert_true(m.meta.train_loss < 0.5 * loss1);

	/* Without the ties the same shape trains free: they do bind. */
	ae_train_opts f = o;
	f.tie = NULL;
	assert_int_equal(ae_train(&m, x, n, &f, NULL, NULL, err, sizeof err), 0);
	size_t differ = 0;
	for (size_t p = 0; p < m.n_params; p++)
		differ +=
		    tie[p] < 0 ? m.params[p] != 0.0f : m.params[p] != m.params[tie[p]];
	assert_true(differ > m.n_params / 2);
	free(x);
	free(tie);
	ae_model_cleanup(&m);
}

static void test_wrong_model_refused(void **state)
{
	(void)state;
	ae_conv_spec c, other;
	ae_model m;
	char err[256];
	int32_t dummy = 0, *tie = &dummy; /* must be reset to NULL */
	assert_int_equal(ae_conv_parse("3:2:4,3:2:2", &c, err, sizeof err), 0);
	assert_int_equal(ae_conv_parse("3:2:4", &other, err, sizeof err), 0);
	conv_model(&m, &other, 8);
	assert_int_equal(ae_conv_ties(&m, &c, &tie, err, sizeof err), AM_EINVAL);
	assert_null(tie);
	assert_non_null(strstr(err, "not the convolution"));
	ae_model_cleanup(&m);
}

int main(void)
{
	openblas_set_num_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_and_sizes),
	    cmocka_unit_test(test_ties_are_the_convolution),
	    cmocka_unit_test(test_training_keeps_ties),
	    cmocka_unit_test(test_wrong_model_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
