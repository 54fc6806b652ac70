/* ae_train — backprop, mini-batch Adam with early stopping, and the
 * threshold (design in ae_train.h). The forward pass is ae.h's ae_forward,
 * the one the scorer runs, so a model is trained on exactly the
 * reconstruction it is later scored with; backprop reuses its activations
 * and the work's two delta buffers, so an epoch allocates nothing. */
#include "ae_train.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_rng.h"

/* ---- gradient ------------------------------------------------------------- */

/* Multiply dA in place by the activation's derivative, from its output a. */
static void ae_train__dact(enum ae_act act, const float *a, float *d, size_t n)
{
	switch (act) {
	case AE_ACT_TANH:
		for (size_t i = 0; i < n; i++)
			d[i] *= 1.0f - a[i] * a[i];
		break;
	case AE_ACT_RELU:
		for (size_t i = 0; i < n; i++)
			d[i] = a[i] > 0.0f ? d[i] : 0.0f;
		break;
	case AE_ACT_SIGMOID:
		for (size_t i = 0; i < n; i++)
			d[i] *= a[i] * (1.0f - a[i]);
		break;
	case AE_ACT_LINEAR:
	default:
		break;
	}
}

double ae_loss_grad(const ae_model *m, const float *windows, size_t n, float *grad,
		    ae_work *w)
{
	size_t in = ae_input_size(m);
	size_t L = m->n_layers;
	ae_forward(m, windows, n, w);
	const float *y = w->act[L];
	float *d = w->delta[0], *dprev = w->delta[1];
	double loss = 0;
	float scale = 2.0f / (float)(n * in);
	for (size_t i = 0; i < n * in; i++) {
		float e = y[i] - windows[i];
		loss += (double)e * e;
		d[i] = scale * e;
	}
	loss /= (double)(n * in);
	for (size_t l = L; l-- > 0;) {
		size_t k = m->sizes[l], o = m->sizes[l + 1];
		const float *a_in = l == 0 ? windows : w->act[l];
		float *gw = grad + (m->w[l] - m->params);
		float *gb = grad + (m->b[l] - m->params);
		ae_train__dact(m->act[l], w->act[l + 1], d, n * o);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)o,
			    (int)n, 1.0f, a_in, (int)k, d, (int)o, 0.0f, gw, (int)o);
		for (size_t j = 0; j < o; j++)
			gb[j] = 0.0f;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < o; j++)
				gb[j] += d[i * o + j];
		if (l > 0) {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n,
				    (int)k, (int)o, 1.0f, d, (int)o, m->w[l], (int)o,
				    0.0f, dprev, (int)k);
			float *t = d;
			d = dprev;
			dprev = t;
		}
	}
	return loss;
}

/* ---- training ------------------------------------------------------------- */

void ae_train_defaults(ae_train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->epochs = 200;
	o->batch = 32;
	o->lr = 1e-3f;
	o->seed = 1;
	o->val_frac = 0.2;
	o->patience = 20;
	o->thr_quantile = 0.99;
	o->thr_margin = 1.0;
	o->thr_k = 0.0;
}

static int ae_train__cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Quantile q of sorted s[0..n) (linear interpolation). */
static double ae_train__quantile(const float *s, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	size_t hi = lo + 1 < n ? lo + 1 : lo;
	return s[lo] + (pos - (double)lo) * (s[hi] - s[lo]);
}

/* Peaks over threshold on sorted s[0..n): a generalised Pareto fitted by
 * the method of moments to the excesses over the 90th percentile u, and
 * the score exceeded with probability risk. Falls back to the largest
 * score when the tail is too thin to fit (fewer than 3 excesses). */
double ae_threshold_evt(const float *s, size_t n, double risk)
{
	double u = ae_train__quantile(s, n, 0.9), m = 0, v = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] > u) {
			m += s[i] - u;
			k++;
		}
	if (k < 3)
		return s[n - 1];
	m /= (double)k;
	for (size_t i = 0; i < n; i++)
		if (s[i] > u)
			v += (s[i] - u - m) * (s[i] - u - m);
	v /= (double)(k - 1);
	if (!(v > 0))
		return s[n - 1];
	double xi = 0.5 * (1.0 - m * m / v), sigma = 0.5 * m * (m * m / v + 1.0);
	double r = risk * (double)n / (double)k; /* P(excess) given over u */
	if (r >= 1.0)
		return u;
	if (fabs(xi) < 1e-6)
		return u - sigma * log(r);
	return u + sigma / xi * (pow(r, -xi) - 1.0);
}

/* Threshold rule of ae_train.h over n scores (sorted in place). */
static float ae_train__threshold(float *s, size_t n, const ae_train_opts *o)
{
	qsort(s, n, sizeof *s, ae_train__cmp_float);
	double q = o->thr_evt_risk > 0 ? ae_threshold_evt(s, n, o->thr_evt_risk)
				       : ae_train__quantile(s, n, o->thr_quantile);
	double mean = 0, var = 0;
	for (size_t i = 0; i < n; i++)
		mean += s[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		var += (s[i] - mean) * (s[i] - mean);
	double sd = n > 1 ? sqrt(var / (double)(n - 1)) : 0.0;
	return (float)(q * o->thr_margin + o->thr_k * sd);
}

/* Channel weights of ae_train.h from the n windows x: the inverse of each
 * channel's mean part of the score, normalised to average 1. */
static int ae_train__weights(ae_model *m, const float *x, size_t n, ae_work *w, char *err,
			     size_t errlen)
{
	size_t nc = m->n_channels;
	float *sc = malloc(n * sizeof *sc), *ch = malloc(n * nc * sizeof *ch);
	double mean[AE_MAX_CHANNELS] = {0}, inv_sum = 0;
	if (!sc || !ch) {
		free(sc);
		free(ch);
		snprintf(err, errlen, "out of memory for the channel weights");
		return AM_ENOMEM;
	}
	for (size_t c = 0; c < nc; c++)
		m->weight[c] = 1.0f;
	ae_score_batch_ch(m, x, n, sc, ch, w);
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < nc; c++)
			mean[c] += ch[i * nc + c] / (double)n;
	for (size_t c = 0; c < nc; c++) {
		mean[c] = fmax(mean[c], 1e-9);
		inv_sum += 1.0 / mean[c];
	}
	for (size_t c = 0; c < nc; c++)
		m->weight[c] = (float)((double)nc / mean[c] / inv_sum);
	free(sc);
	free(ch);
	return 0;
}

/* Give each tied group the sum of its members' gradients (ae_train.h);
 * zero where the structure holds a parameter at zero. */
static void ae_train__tie_grad(const int32_t *tie, float *grad, size_t n)
{
	for (size_t p = 0; p < n; p++)
		if (tie[p] >= 0 && (size_t)tie[p] != p)
			grad[tie[p]] += grad[p];
	for (size_t p = 0; p < n; p++)
		grad[p] = tie[p] < 0 ? 0.0f : grad[tie[p]];
}

static void ae_train__init_weights(ae_model *m, const int32_t *tie, ae_rng *r)
{
	for (size_t l = 0; l < m->n_layers; l++) {
		size_t k = m->sizes[l], o = m->sizes[l + 1];
		double lim = sqrt(6.0 / (double)(k + o));
		for (size_t i = 0; i < k * o; i++)
			m->w[l][i] = (float)((2.0 * ae_rng_uniform(r) - 1.0) * lim);
		for (size_t j = 0; j < o; j++)
			m->b[l][j] = 0.0f;
	}
	for (size_t p = 0; tie && p < m->n_params; p++)
		m->params[p] = tie[p] < 0 ? 0.0f : m->params[tie[p]];
}

int ae_train(ae_model *m, const float *windows, size_t n_windows, const ae_train_opts *o,
	     ae_progress_fn progress, void *ud, char *err, size_t errlen)
{
	if (o->batch == 0 || o->epochs == 0 || !(o->lr > 0.0f) || !(o->val_frac >= 0.0) ||
	    o->val_frac > 0.9 || !(o->thr_quantile >= 0.0 && o->thr_quantile <= 1.0) ||
	    !isfinite(o->thr_margin) || !isfinite(o->thr_k) ||
	    !(o->thr_evt_risk >= 0.0 && o->thr_evt_risk < 1.0)) {
		snprintf(err, errlen, "bad training options");
		return AM_EINVAL;
	}
	if (n_windows < 2) {
		snprintf(err, errlen, "%zu windows: need at least 2", n_windows);
		return AM_ENODATA;
	}
	size_t in = ae_input_size(m);
	/* Held-out tail; the windows overlapping both parts are dropped. */
	size_t n_train, n_val;
	ae_split_windows(m, n_windows, o->val_frac, &n_train, &n_val);
	const float *val = windows + (n_windows - n_val) * in;
	size_t batch = o->batch < n_train ? o->batch : n_train;
	size_t score_batch = 256;

	int rc = AM_ENOMEM;
	ae_work w;
	memset(&w, 0, sizeof w);
	float *grad = calloc(m->n_params, sizeof *grad);
	float *am = calloc(m->n_params, sizeof *am);
	float *av = calloc(m->n_params, sizeof *av);
	float *best = malloc(m->n_params * sizeof *best);
	float *xb = malloc(batch * in * sizeof *xb);
	size_t *order = malloc(n_train * sizeof *order);
	size_t n_scores = n_val ? n_val : n_train;
	float *scores = malloc(n_scores * sizeof *scores);
	if (!grad || !am || !av || !best || !xb || !order || !scores) {
		snprintf(err, errlen, "out of memory for training");
		goto out;
	}
	rc = ae_work_init(&w, m, batch > score_batch ? batch : score_batch, err, errlen);
	if (rc)
		goto out;

	ae_rng rng;
	ae_rng_seed(&rng, o->seed);
	ae_train__init_weights(m, o->tie, &rng);
	for (size_t i = 0; i < n_train; i++)
		order[i] = i;

	const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
	double b1t = 1.0, b2t = 1.0;
	double best_loss = INFINITY, best_train = INFINITY;
	uint32_t best_epoch = 0, epoch = 0;
	for (epoch = 1; epoch <= o->epochs; epoch++) {
		for (size_t i = n_train; i > 1; i--) {
			size_t j = ae_rng_below(&rng, i);
			size_t t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		double tl = 0;
		for (size_t s = 0; s < n_train; s += batch) {
			size_t nb = n_train - s < batch ? n_train - s : batch;
			for (size_t i = 0; i < nb; i++)
				memcpy(xb + i * in, windows + order[s + i] * in,
				       in * sizeof *xb);
			tl += ae_loss_grad(m, xb, nb, grad, &w) * (double)nb;
			if (o->tie)
				ae_train__tie_grad(o->tie, grad, m->n_params);
			b1t *= b1;
			b2t *= b2;
			double a = o->lr * sqrt(1.0 - b2t) / (1.0 - b1t);
			for (size_t p = 0; p < m->n_params; p++) {
				double g = grad[p];
				am[p] = (float)(b1 * am[p] + (1.0 - b1) * g);
				av[p] = (float)(b2 * av[p] + (1.0 - b2) * g * g);
				m->params[p] -= (float)(a * am[p] / (sqrt(av[p]) + eps));
			}
		}
		tl /= (double)n_train;
		double vl = tl;
		if (n_val) {
			ae_score_batch(m, val, n_val, scores, &w);
			vl = 0;
			for (size_t i = 0; i < n_val; i++)
				vl += scores[i];
			vl /= (double)n_val;
		}
		if (vl < best_loss) {
			best_loss = vl;
			best_train = tl;
			best_epoch = epoch;
			memcpy(best, m->params, m->n_params * sizeof *best);
		}
		if (progress && progress(ud, epoch, tl, vl))
			break;
		if (epoch - best_epoch >= o->patience && o->patience > 0)
			break;
		if (!isfinite(tl)) {
			snprintf(err, errlen,
				 "training diverged at epoch %u (lower --lr)", epoch);
			rc = AM_EINVAL;
			goto out;
		}
	}
	if (epoch > o->epochs)
		epoch = o->epochs;
	memcpy(m->params, best, m->n_params * sizeof *best);

	if (o->channel_weights) {
		rc = ae_train__weights(m, n_val ? val : windows, n_scores, &w, err,
				       errlen);
		if (rc)
			goto out;
	}
	ae_score_batch(m, n_val ? val : windows, n_scores, scores, &w);
	m->threshold = ae_train__threshold(scores, n_scores, o);
	m->meta.seed = o->seed;
	m->meta.epochs = epoch;
	m->meta.best_epoch = best_epoch;
	m->meta.n_train = (uint32_t)n_train;
	m->meta.n_val = (uint32_t)n_val;
	m->meta.train_loss = (float)best_train;
	m->meta.val_loss = (float)best_loss;
	if (o->thr_evt_risk > 0)
		snprintf(m->meta.thr_method, sizeof m->meta.thr_method,
			 "EVT risk %.4g (GPD over q0.9 of %s errors) x %.4g + %.4g sd",
			 o->thr_evt_risk, n_val ? "held-out" : "training", o->thr_margin,
			 o->thr_k);
	else
		snprintf(m->meta.thr_method, sizeof m->meta.thr_method,
			 "q%.4g(%s errors) x %.4g + %.4g sd", o->thr_quantile,
			 n_val ? "held-out" : "training", o->thr_margin, o->thr_k);
	rc = 0;
out:
	ae_work_cleanup(&w);
	free(grad);
	free(am);
	free(av);
	free(best);
	free(xb);
	free(order);
	free(scores);
	return rc;
}

int ae_fit(ae_model *m, const float *rows, size_t n_rows, const ae_train_opts *o,
	   ae_progress_fn progress, void *ud, char *err, size_t errlen)
{
	int rc = o->scaler == AE_SCALER_MEDIAN_IQR
		     ? ae_fit_scaler_robust(m, rows, n_rows, err, errlen)
		     : ae_fit_scaler(m, rows, n_rows, err, errlen);
	if (rc)
		return rc;
	size_t nw = ae_window_count(n_rows, m->window, m->hop);
	if (nw < 2) {
		snprintf(err, errlen, "%zu rows make %zu windows of %zu: need at least 2",
			 n_rows, nw, m->window);
		return AM_ENODATA;
	}
	float *win;
	rc = ae_windows_from_rows(m, rows, n_rows, &win, &nw, err, errlen);
	if (rc)
		return rc;
	rc = ae_train(m, win, nw, o, progress, ud, err, errlen);
	free(win);
	return rc;
}
