/* aeref — the plain-loop reference of the model (see aeref.h). Double
 * precision throughout, so that its own rounding is far below the float32
 * library's, and heap buffers sized by the widest layer (a window of 200 x
 * 3 channels is 600 inputs). */
#include "aeref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double ref_act(enum ae_act a, double x)
{
	switch (a) {
	case AE_ACT_TANH:
		return tanh(x);
	case AE_ACT_RELU:
		return x > 0 ? x : 0;
	case AE_ACT_SIGMOID:
		return 1.0 / (1.0 + exp(-x));
	default:
		return x;
	}
}

/* parts (may be NULL) gets each channel's weighted share of the score. */
static double ref_score_double(const ae_model *m, const double *x, double *parts)
{
	size_t in = m->sizes[0], width = 0;
	double *cur, *nxt, e = 0;

	for (size_t l = 0; l <= m->n_layers; l++)
		if (m->sizes[l] > width)
			width = m->sizes[l];
	cur = malloc(width * sizeof(*cur));
	nxt = malloc(width * sizeof(*nxt));
	if (!cur || !nxt) {
		free(cur);
		free(nxt);
		return NAN;
	}
	memcpy(cur, x, in * sizeof(*cur));
	for (size_t l = 0; l < m->n_layers; l++) {
		size_t k = m->sizes[l], o = m->sizes[l + 1];
		for (size_t j = 0; j < o; j++) {
			double s = m->b[l][j];
			for (size_t i = 0; i < k; i++)
				s += cur[i] * m->w[l][i * o + j];
			nxt[j] = ref_act(m->act[l], s);
		}
		memcpy(cur, nxt, o * sizeof(*cur));
	}
	if (parts)
		memset(parts, 0, m->n_channels * sizeof(*parts));
	for (size_t j = 0; j < in; j++) {
		size_t c = j % m->n_channels;
		double d = (cur[j] - x[j]) * (cur[j] - x[j]) * m->weight[c] / (double)in;
		e += d;
		if (parts)
			parts[c] += d;
	}
	free(cur);
	free(nxt);
	return e;
}

double aeref_score(const ae_model *m, const float *x)
{
	return aeref_score_parts(m, x, NULL);
}

double aeref_score_parts(const ae_model *m, const float *x, double *parts)
{
	size_t in = m->sizes[0];
	double *d = malloc(in * sizeof(*d)), s;
	if (!d)
		return NAN;
	for (size_t j = 0; j < in; j++)
		d[j] = x[j];
	s = ref_score_double(m, d, parts);
	free(d);
	return s;
}

double aeref_score_rows(const ae_model *m, const float *rows)
{
	size_t nc = m->n_channels, in = m->window * nc;
	double *d = malloc(in * sizeof(*d)), s;
	if (!d)
		return NAN;
	for (size_t r = 0; r < m->window; r++)
		for (size_t c = 0; c < nc; c++)
			d[r * nc + c] =
			    ((double)rows[r * nc + c] - m->mean[c]) / (double)m->std[c];
	s = ref_score_double(m, d, NULL);
	free(d);
	return s;
}
