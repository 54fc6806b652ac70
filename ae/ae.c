/* ae — the model at run time: its layout, windowing, standardisation and
 * batched inference with one cblas_sgemm per layer. The design notes
 * (layouts, score) are in ae.h; this file keeps the arithmetic in a few
 * plain loops around sgemm so that the reference implementation in the
 * tests can mirror it, and so that training (ae_train.c) runs exactly the
 * forward pass the scorer runs. */
#include "ae.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AE__SCORE_CHUNK 64
#define AE__GEMV_BELOW 4

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

/* ---- rates ---------------------------------------------------------------- */

enum ae_rate ae_rate_plan(double model_hz, double stream_hz, size_t *step)
{
	double q, k;
	*step = 1;
	if (!(model_hz > 0))
		return AE_RATE_UNKNOWN;
	q = stream_hz / model_hz;
	if (fabs(q - 1.0) <= AE_RATE_TOL)
		return AE_RATE_SAME;
	if (!(q >= 1.0))
		return AE_RATE_TOO_SLOW;
	k = round(q);
	if (k > 1e6 || fabs(stream_hz / k - model_hz) > AE_RATE_TOL * model_hz)
		return AE_RATE_NO_RATIO;
	*step = (size_t)k;
	return AE_RATE_DECIMATE;
}

int ae_rate_refused(enum ae_rate r)
{
	return r == AE_RATE_TOO_SLOW || r == AE_RATE_NO_RATIO;
}

const char *ae_rate_name(enum ae_rate r)
{
	switch (r) {
	case AE_RATE_SAME:
		return "the model's rate";
	case AE_RATE_DECIMATE:
		return "a whole multiple of the model's rate: decimated";
	case AE_RATE_UNKNOWN:
		return "a model that records no rate: not checked";
	case AE_RATE_TOO_SLOW:
		return "slower than the model's rate: it would need samples that were "
		       "never taken";
	case AE_RATE_NO_RATIO:
		return "not a whole multiple of the model's rate: no faithful resampling";
	}
	return "?";
}

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
		m->weight[c] = 1.0f;
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

/* ---- windows -------------------------------------------------------------- */

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

/* Bias rows are written first so the sgemm accumulates onto them (beta = 1);
 * act[0] is not used: the input is x. A batch of fewer than
 * AE__GEMV_BELOW windows goes through sgemv, a window at a time: sgemm
 * packs the whole weight matrix on every call, which for one window costs
 * four times the arithmetic (the live scorer mostly sees one or two
 * windows a flush; scripts/bench-model.sh). */
void ae_forward(const ae_model *m, const float *x, size_t n, ae_work *w)
{
	const float *in = x;
	for (size_t l = 0; l < m->n_layers; l++) {
		size_t k = m->sizes[l], o = m->sizes[l + 1];
		float *out = w->act[l + 1];
		for (size_t i = 0; i < n; i++)
			memcpy(out + i * o, m->b[l], o * sizeof *out);
		if (n < AE__GEMV_BELOW)
			for (size_t i = 0; i < n; i++)
				cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)o,
					    1.0f, m->w[l], (int)o, in + i * k, 1, 1.0f,
					    out + i * o, 1);
		else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n,
				    (int)o, (int)k, 1.0f, in, (int)k, m->w[l], (int)o,
				    1.0f, out, (int)o);
		ae__activate(m->act[l], out, n * o);
		in = out;
	}
}

void ae_score_batch_ch(const ae_model *m, const float *windows, size_t n_windows,
		       float *scores, float *ch, ae_work *w)
{
	size_t in = ae_input_size(m), nc = m->n_channels;
	/* Big batches go through in chunks whose activations stay in cache:
	 * past a few dozen windows sgemm gains nothing more from size, while
	 * the bias, activation and error passes start missing the cache. */
	size_t chunk = w->max_batch < AE__SCORE_CHUNK ? w->max_batch : AE__SCORE_CHUNK;
	for (size_t done = 0; done < n_windows;) {
		size_t n = n_windows - done;
		if (n > chunk)
			n = chunk;
		const float *x = windows + done * in;
		ae_forward(m, x, n, w);
		const float *y = w->act[m->n_layers];
		for (size_t i = 0; i < n; i++) {
			double acc[AE_MAX_CHANNELS] = {0}, s = 0;
			const float *yi = y + i * in, *xi = x + i * in;
			for (size_t j = 0; j < in; j += nc)
				for (size_t c = 0; c < nc; c++) {
					double d = (double)yi[j + c] - xi[j + c];
					acc[c] += d * d;
				}
			for (size_t c = 0; c < nc; c++) {
				acc[c] *= (double)m->weight[c] / (double)in;
				s += acc[c];
				if (ch)
					ch[(done + i) * nc + c] = (float)acc[c];
			}
			scores[done + i] = (float)s;
		}
		done += n;
	}
}

void ae_score_batch(const ae_model *m, const float *windows, size_t n_windows,
		    float *scores, ae_work *w)
{
	ae_score_batch_ch(m, windows, n_windows, scores, NULL, w);
}

size_t ae_top_channels(const ae_model *m, const float *ch, size_t k, size_t *idx,
		       float *share)
{
	double total = 0;
	size_t n = 0;
	for (size_t c = 0; c < m->n_channels; c++)
		total += ch[c] > 0 ? ch[c] : 0;
	if (!(total > 0))
		return 0;
	/* selection: k is a handful, channels a few dozen at most */
	for (; n < k && n < m->n_channels; n++) {
		size_t best = m->n_channels;
		for (size_t c = 0; c < m->n_channels; c++) {
			int taken = 0;
			for (size_t i = 0; i < n; i++)
				taken |= idx[i] == c;
			if (!taken && ch[c] > 0 &&
			    (best == m->n_channels || ch[c] > ch[best]))
				best = c;
		}
		if (best == m->n_channels)
			break;
		idx[n] = best;
		share[n] = (float)(ch[best] / total);
	}
	return n;
}

long ae_score_rows(const ae_model *m, const float *rows, size_t n_rows, float *scores,
		   ae_work *w)
{
	return ae_score_rows_ch(m, rows, n_rows, scores, NULL, w);
}

long ae_score_rows_ch(const ae_model *m, const float *rows, size_t n_rows, float *scores,
		      float *ch, ae_work *w)
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
		ae_score_batch_ch(m, win, n, scores + done, ch ? ch + done * nc : NULL,
				  w);
		done += n;
	}
	free(st);
	free(win);
	return (long)nw;
}
