/* ae — dense autoencoder: windowing, standardisation, batched inference
 * with one cblas_sgemm per layer, and mini-batch Adam training with early
 * stopping. The design notes (layouts, threshold rule, determinism) are in
 * ae.h; this file keeps the arithmetic in a few plain loops around sgemm so
 * that the reference implementation in the tests can mirror it. */
#include "ae.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AE__SCORE_CHUNK 64

static const char *const ae__act_names[] = {"linear", "tanh", "relu", "sigmoid"};

const char *ae_act_name(enum ae_act a)
{
	if ((unsigned)a < sizeof ae__act_names / sizeof ae__act_names[0])
		return ae__act_names[a];
	return "?";
}

int ae_act_parse(const char *s, enum ae_act *out)
{
	for (size_t i = 0; s && i < sizeof ae__act_names / sizeof ae__act_names[0]; i++) {
		if (strcmp(s, ae__act_names[i]) == 0) {
			*out = (enum ae_act)i;
			return 0;
		}
	}
	return -1;
}

/* ---- PRNG: splitmix64 seeding xoshiro256** -------------------------------- */

static uint64_t ae__splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ae_rng_seed(ae_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = ae__splitmix(&x);
}

static uint64_t ae__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ae_rng_next(ae_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = ae__rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = ae__rotl(s[3], 45);
	return res;
}

double ae_rng_uniform(ae_rng *r) { return (double)(ae_rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform integer in [0, n) (n > 0); the modulo bias is negligible here. */
static size_t ae__rng_below(ae_rng *r, size_t n) { return (size_t)(ae_rng_next(r) % n); }

/* ---- model ---------------------------------------------------------------- */

size_t ae_input_size(const ae_model *m) { return m->window * m->n_channels; }

size_t ae_window_count(size_t n_rows, size_t window, size_t hop)
{
	if (window == 0 || hop == 0 || n_rows < window)
		return 0;
	return (n_rows - window) / hop + 1;
}

int ae_model_alloc(ae_model *m, char *err, size_t errlen)
{
	size_t total = 0;
	if (m->n_layers == 0 || m->n_layers > AE_MAX_LAYERS) {
		snprintf(err, errlen, "layers: %zu, want 1..%d", m->n_layers,
			 AE_MAX_LAYERS);
		return AM_EINVAL;
	}
	for (size_t l = 0; l <= m->n_layers; l++) {
		if (m->sizes[l] == 0 || m->sizes[l] > AE_MAX_WIDTH) {
			snprintf(err, errlen, "layer %zu: %zu units, want 1..%d", l,
				 m->sizes[l], AE_MAX_WIDTH);
			return AM_EINVAL;
		}
	}
	for (size_t l = 0; l < m->n_layers; l++) {
		total += m->sizes[l] * m->sizes[l + 1] + m->sizes[l + 1];
		if (total > AE_MAX_PARAMS) {
			snprintf(err, errlen, "over %u parameters", AE_MAX_PARAMS);
			return AM_EINVAL;
		}
	}
	free(m->params);
	m->params = calloc(total, sizeof *m->params);
	if (!m->params) {
		snprintf(err, errlen, "out of memory for %zu parameters", total);
		return AM_ENOMEM;
	}
	m->n_params = total;
	float *p = m->params;
	for (size_t l = 0; l < m->n_layers; l++) {
		m->w[l] = p;
		p += m->sizes[l] * m->sizes[l + 1];
		m->b[l] = p;
		p += m->sizes[l + 1];
	}
	return 0;
}

int ae_model_init(ae_model *m, const ae_spec *spec, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (spec->n_channels == 0 || spec->n_channels > AE_MAX_CHANNELS) {
		snprintf(err, errlen, "channels: %zu, want 1..%d", spec->n_channels,
			 AE_MAX_CHANNELS);
		return AM_EINVAL;
	}
	if (spec->window == 0 || spec->window > AE_MAX_WINDOW || spec->hop == 0 ||
	    spec->hop > AE_MAX_WINDOW) {
		snprintf(err, errlen, "window %zu / hop %zu: want 1..%d", spec->window,
			 spec->hop, AE_MAX_WINDOW);
		return AM_EINVAL;
	}
	if (spec->n_hidden == 0 || spec->n_hidden >= AE_MAX_LAYERS) {
		snprintf(err, errlen, "hidden layers: %zu, want 1..%d", spec->n_hidden,
			 AE_MAX_LAYERS - 1);
		return AM_EINVAL;
	}
	if ((unsigned)spec->act_hidden > AE_ACT_SIGMOID ||
	    (unsigned)spec->act_out > AE_ACT_SIGMOID) {
		snprintf(err, errlen, "unknown activation");
		return AM_EINVAL;
	}
	m->n_channels = spec->n_channels;
	for (size_t c = 0; c < spec->n_channels; c++) {
		const char *n = spec->channels[c];
		if (!n || !n[0] || strlen(n) >= AE_NAME_MAX) {
			snprintf(err, errlen, "channel %zu: empty or over %d bytes", c,
				 AE_NAME_MAX - 1);
			return AM_EINVAL;
		}
		snprintf(m->channels[c], AE_NAME_MAX, "%s", n);
		m->mean[c] = 0.0f;
		m->std[c] = 1.0f;
	}
	m->window = spec->window;
	m->hop = spec->hop;
	size_t in = spec->window * spec->n_channels;
	if (in > AE_MAX_WIDTH) {
		snprintf(err, errlen, "window x channels = %zu, over %d", in,
			 AE_MAX_WIDTH);
		return AM_EINVAL;
	}
	m->n_layers = spec->n_hidden + 1;
	m->sizes[0] = in;
	for (size_t l = 0; l < spec->n_hidden; l++) {
		m->sizes[l + 1] = spec->hidden[l];
		m->act[l] = spec->act_hidden;
	}
	m->sizes[m->n_layers] = in;
	m->act[m->n_layers - 1] = spec->act_out;
	m->threshold = INFINITY;
	return ae_model_alloc(m, err, errlen);
}

void ae_model_cleanup(ae_model *m)
{
	if (!m)
		return;
	free(m->params);
	m->params = NULL;
	m->n_params = 0;
	for (size_t l = 0; l < AE_MAX_LAYERS; l++)
		m->w[l] = m->b[l] = NULL;
}

/* ---- data ----------------------------------------------------------------- */

int ae_rows_from_table(const ae_model *m, const csv_table *t, size_t max_rows,
		       float **rows, size_t *n_rows, char *err, size_t errlen)
{
	int idx[AE_MAX_CHANNELS];
	*rows = NULL;
	*n_rows = 0;
	for (size_t c = 0; c < m->n_channels; c++) {
		idx[c] = csv_col(t, m->channels[c]);
		if (idx[c] < 0) {
			snprintf(err, errlen, "channel '%s' not in the table",
				 m->channels[c]);
			return AM_ENODATA;
		}
		if (t->is_text[idx[c]]) {
			snprintf(err, errlen, "channel '%s' is not numeric",
				 m->channels[c]);
			return AM_ENODATA;
		}
	}
	size_t n = t->n_rows;
	if (max_rows && max_rows < n)
		n = max_rows;
	float *r = malloc((n ? n : 1) * m->n_channels * sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory for %zu rows", n);
		return AM_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t c = 0; c < m->n_channels; c++) {
			double v = t->values[i * t->n_cols + (size_t)idx[c]];
			if (!(fabs(v) <= FLT_MAX)) {
				snprintf(err, errlen,
					 "row %zu, channel '%s': %g out of range", i + 1,
					 m->channels[c], v);
				free(r);
				return AM_ENODATA;
			}
			r[i * m->n_channels + c] = (float)v;
		}
	}
	*rows = r;
	*n_rows = n;
	return 0;
}

int ae_fit_scaler(ae_model *m, const float *rows, size_t n_rows, char *err, size_t errlen)
{
	if (n_rows < 2) {
		snprintf(err, errlen, "%zu rows: need at least 2 to fit the scaler",
			 n_rows);
		return AM_ENODATA;
	}
	size_t nc = m->n_channels;
	for (size_t c = 0; c < nc; c++) {
		double s = 0, ss = 0;
		for (size_t i = 0; i < n_rows; i++)
			s += rows[i * nc + c];
		double mean = s / (double)n_rows;
		for (size_t i = 0; i < n_rows; i++) {
			double d = rows[i * nc + c] - mean;
			ss += d * d;
		}
		double sd = sqrt(ss / (double)(n_rows - 1));
		double floor_ = 1e-6 * fmax(1.0, fabs(mean));
		m->mean[c] = (float)mean;
		m->std[c] = (sd < floor_ || !isfinite(sd)) ? 1.0f : (float)sd;
	}
	return 0;
}

void ae_standardise(const ae_model *m, const float *rows, size_t n_rows, float *out)
{
	size_t nc = m->n_channels;
	for (size_t i = 0; i < n_rows; i++)
		for (size_t c = 0; c < nc; c++)
			out[i * nc + c] = (rows[i * nc + c] - m->mean[c]) / m->std[c];
}

size_t ae_make_windows(const ae_model *m, const float *std_rows, size_t n_rows,
		       float *out)
{
	size_t n = ae_window_count(n_rows, m->window, m->hop);
	size_t in = ae_input_size(m);
	for (size_t i = 0; i < n; i++)
		memcpy(out + i * in, std_rows + i * m->hop * m->n_channels,
		       in * sizeof *out);
	return n;
}

/* ---- workspace and inference --------------------------------------------- */

int ae_work_init(ae_work *w, const ae_model *m, size_t max_batch, char *err,
		 size_t errlen)
{
	memset(w, 0, sizeof *w);
	if (max_batch == 0 || max_batch > (1u << 20)) {
		snprintf(err, errlen, "batch %zu: want 1..%u", max_batch, 1u << 20);
		return AM_EINVAL;
	}
	w->max_batch = max_batch;
	for (size_t l = 0; l <= m->n_layers; l++)
		if (m->sizes[l] > w->width)
			w->width = m->sizes[l];
	for (size_t l = 1; l <= m->n_layers; l++) {
		w->act[l] = malloc(max_batch * m->sizes[l] * sizeof(float));
		if (!w->act[l])
			goto nomem;
	}
	for (int i = 0; i < 2; i++) {
		w->delta[i] = malloc(max_batch * w->width * sizeof(float));
		if (!w->delta[i])
			goto nomem;
	}
	return 0;
nomem:
	ae_work_cleanup(w);
	snprintf(err, errlen, "out of memory for a batch of %zu", max_batch);
	return AM_ENOMEM;
}

void ae_work_cleanup(ae_work *w)
{
	if (!w)
		return;
	for (size_t l = 0; l <= AE_MAX_LAYERS; l++) {
		free(w->act[l]);
		w->act[l] = NULL;
	}
	free(w->delta[0]);
	free(w->delta[1]);
	w->delta[0] = w->delta[1] = NULL;
}

static void ae__activate(enum ae_act a, float *x, size_t n)
{
	switch (a) {
	case AE_ACT_TANH:
		for (size_t i = 0; i < n; i++)
			x[i] = tanhf(x[i]);
		break;
	case AE_ACT_RELU:
		for (size_t i = 0; i < n; i++)
			x[i] = x[i] > 0.0f ? x[i] : 0.0f;
		break;
	case AE_ACT_SIGMOID:
		for (size_t i = 0; i < n; i++)
			x[i] = 1.0f / (1.0f + expf(-x[i]));
		break;
	case AE_ACT_LINEAR:
	default:
		break;
	}
}

/* Multiply dA in place by the activation's derivative, from its output a. */
static void ae__dact(enum ae_act act, const float *a, float *d, size_t n)
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

/* Forward pass of n <= max_batch windows: w->act[l] holds layer l's output
 * (act[0] is not used: the input is x). Bias rows are written first so the
 * sgemm accumulates onto them (beta = 1). */
static void ae__forward(const ae_model *m, const float *x, size_t n, ae_work *w)
{
	const float *in = x;
	for (size_t l = 0; l < m->n_layers; l++) {
		size_t k = m->sizes[l], o = m->sizes[l + 1];
		float *out = w->act[l + 1];
		for (size_t i = 0; i < n; i++)
			memcpy(out + i * o, m->b[l], o * sizeof *out);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)o,
			    (int)k, 1.0f, in, (int)k, m->w[l], (int)o, 1.0f, out, (int)o);
		ae__activate(m->act[l], out, n * o);
		in = out;
	}
}

void ae_score_batch(const ae_model *m, const float *windows, size_t n_windows,
		    float *scores, ae_work *w)
{
	size_t in = ae_input_size(m);
	/* Big batches go through in chunks whose activations stay in cache:
	 * past a few dozen windows sgemm gains nothing more from size, while
	 * the bias, activation and error passes start missing the cache. */
	size_t chunk = w->max_batch < AE__SCORE_CHUNK ? w->max_batch : AE__SCORE_CHUNK;
	for (size_t done = 0; done < n_windows;) {
		size_t n = n_windows - done;
		if (n > chunk)
			n = chunk;
		const float *x = windows + done * in;
		ae__forward(m, x, n, w);
		const float *y = w->act[m->n_layers];
		for (size_t i = 0; i < n; i++) {
			double s = 0;
			for (size_t j = 0; j < in; j++) {
				double d = (double)y[i * in + j] - x[i * in + j];
				s += d * d;
			}
			scores[done + i] = (float)(s / (double)in);
		}
		done += n;
	}
}

double ae_loss_grad(const ae_model *m, const float *windows, size_t n, float *grad,
		    ae_work *w)
{
	size_t in = ae_input_size(m);
	size_t L = m->n_layers;
	ae__forward(m, windows, n, w);
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
		ae__dact(m->act[l], w->act[l + 1], d, n * o);
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
	o->epochs = 100;
	o->batch = 32;
	o->lr = 1e-3f;
	o->seed = 1;
	o->val_frac = 0.2;
	o->patience = 10;
	o->thr_quantile = 0.99;
	o->thr_margin = 1.0;
	o->thr_k = 0.0;
}

static int ae__cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Threshold rule of ae.h over n scores (sorted in place). */
static float ae__threshold(float *s, size_t n, const ae_train_opts *o)
{
	qsort(s, n, sizeof *s, ae__cmp_float);
	double pos = o->thr_quantile * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	size_t hi = lo + 1 < n ? lo + 1 : lo;
	double q = s[lo] + (pos - (double)lo) * (s[hi] - s[lo]);
	double mean = 0, var = 0;
	for (size_t i = 0; i < n; i++)
		mean += s[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		var += (s[i] - mean) * (s[i] - mean);
	double sd = n > 1 ? sqrt(var / (double)(n - 1)) : 0.0;
	return (float)(q * o->thr_margin + o->thr_k * sd);
}

static void ae__init_weights(ae_model *m, ae_rng *r)
{
	for (size_t l = 0; l < m->n_layers; l++) {
		size_t k = m->sizes[l], o = m->sizes[l + 1];
		double lim = sqrt(6.0 / (double)(k + o));
		for (size_t i = 0; i < k * o; i++)
			m->w[l][i] = (float)((2.0 * ae_rng_uniform(r) - 1.0) * lim);
		for (size_t j = 0; j < o; j++)
			m->b[l][j] = 0.0f;
	}
}

int ae_train(ae_model *m, const float *windows, size_t n_windows, const ae_train_opts *o,
	     ae_progress_fn progress, void *ud, char *err, size_t errlen)
{
	if (o->batch == 0 || o->epochs == 0 || !(o->lr > 0.0f) || !(o->val_frac >= 0.0) ||
	    o->val_frac > 0.9 || !(o->thr_quantile >= 0.0 && o->thr_quantile <= 1.0) ||
	    !isfinite(o->thr_margin) || !isfinite(o->thr_k)) {
		snprintf(err, errlen, "bad training options");
		return AM_EINVAL;
	}
	if (n_windows < 2) {
		snprintf(err, errlen, "%zu windows: need at least 2", n_windows);
		return AM_ENODATA;
	}
	size_t in = ae_input_size(m);
	/* Held-out tail; the windows overlapping both parts are dropped. */
	size_t n_val = (size_t)((double)n_windows * o->val_frac);
	size_t gap = (m->window + m->hop - 1) / m->hop - 1;
	size_t n_train = n_windows;
	if (n_val > 0 && n_val + gap < n_windows)
		n_train = n_windows - n_val - gap;
	else
		n_val = 0;
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
	ae__init_weights(m, &rng);
	for (size_t i = 0; i < n_train; i++)
		order[i] = i;

	const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
	double b1t = 1.0, b2t = 1.0;
	double best_loss = INFINITY, best_train = INFINITY;
	uint32_t best_epoch = 0, epoch = 0;
	for (epoch = 1; epoch <= o->epochs; epoch++) {
		for (size_t i = n_train; i > 1; i--) {
			size_t j = ae__rng_below(&rng, i);
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

	ae_score_batch(m, n_val ? val : windows, n_scores, scores, &w);
	m->threshold = ae__threshold(scores, n_scores, o);
	m->meta.seed = o->seed;
	m->meta.epochs = epoch;
	m->meta.best_epoch = best_epoch;
	m->meta.n_train = (uint32_t)n_train;
	m->meta.n_val = (uint32_t)n_val;
	m->meta.train_loss = (float)best_train;
	m->meta.val_loss = (float)best_loss;
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
	int rc = ae_fit_scaler(m, rows, n_rows, err, errlen);
	if (rc)
		return rc;
	size_t nw = ae_window_count(n_rows, m->window, m->hop);
	if (nw < 2) {
		snprintf(err, errlen, "%zu rows make %zu windows of %zu: need at least 2",
			 n_rows, nw, m->window);
		return AM_ENODATA;
	}
	size_t in = ae_input_size(m);
	float *st = malloc(n_rows * m->n_channels * sizeof *st);
	float *win = malloc(nw * in * sizeof *win);
	if (!st || !win) {
		free(st);
		free(win);
		snprintf(err, errlen, "out of memory for %zu windows", nw);
		return AM_ENOMEM;
	}
	ae_standardise(m, rows, n_rows, st);
	ae_make_windows(m, st, n_rows, win);
	free(st);
	rc = ae_train(m, win, nw, o, progress, ud, err, errlen);
	free(win);
	return rc;
}

long ae_score_rows(const ae_model *m, const float *rows, size_t n_rows, float *scores,
		   ae_work *w)
{
	size_t nw = ae_window_count(n_rows, m->window, m->hop);
	size_t in = ae_input_size(m), nc = m->n_channels;
	if (nw == 0)
		return 0;
	float *st = malloc(n_rows * nc * sizeof *st);
	float *win = malloc(w->max_batch * in * sizeof *win);
	if (!st || !win) {
		free(st);
		free(win);
		return AM_ENOMEM;
	}
	ae_standardise(m, rows, n_rows, st);
	for (size_t done = 0; done < nw;) {
		size_t n = nw - done < w->max_batch ? nw - done : w->max_batch;
		for (size_t i = 0; i < n; i++)
			memcpy(win + i * in, st + (done + i) * m->hop * nc,
			       in * sizeof *win);
		ae_score_batch(m, win, n, scores + done, w);
		done += n;
	}
	free(st);
	free(win);
	return (long)nw;
}
