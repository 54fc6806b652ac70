/* ae_conv — a convolutional autoencoder's tie map over a dense model (see
 * ae_conv.h). */
#include "ae_conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ae_conv_parse(const char *spec, ae_conv_spec *c, char *err, size_t errlen)
{
	const char *s = spec;
	memset(c, 0, sizeof *c);
	while (*s) {
		unsigned long v[3];
		char *end = NULL;
		const char *p = s;
		for (int i = 0; i < 3; i++) {
			if (*p < '0' || *p > '9')
				goto bad;
			v[i] = strtoul(p, &end, 10);
			if (v[i] == 0 || v[i] > AE_MAX_WIDTH || (i < 2 && *end != ':'))
				goto bad;
			p = end + (i < 2);
		}
		if (*end != '\0' && *end != ',')
			goto bad;
		if (c->n_enc == AE_CONV_MAX_LAYERS) {
			memset(c, 0, sizeof *c);
			snprintf(err, errlen, "convolution '%s': at most %d layers", spec,
				 AE_CONV_MAX_LAYERS);
			return AM_EINVAL;
		}
		c->enc[c->n_enc++] = (ae_conv_layer){v[0], v[1], v[2]};
		s = *end ? end + 1 : end;
		if (*end && !*s)
			goto bad;
	}
	if (c->n_enc)
		return 0;
bad:
	memset(c, 0, sizeof *c);
	snprintf(err, errlen,
		 "convolution '%s': want KERNEL:STRIDE:FILTERS[,...], each at least 1",
		 spec);
	return AM_EINVAL;
}

int ae_conv_hidden(const ae_conv_spec *c, size_t window, size_t *hidden, size_t *n_hidden,
		   char *err, size_t errlen)
{
	size_t len = window, n = c->n_enc;
	if (n == 0 || n > AE_CONV_MAX_LAYERS) {
		snprintf(err, errlen, "convolution: 1 to %d layers", AE_CONV_MAX_LAYERS);
		return AM_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const ae_conv_layer *l = &c->enc[i];
		if (l->kernel % 2 == 0) {
			snprintf(err, errlen,
				 "convolution layer %zu: kernel %zu is even (an odd one "
				 "centres on its step)",
				 i + 1, l->kernel);
			return AM_EINVAL;
		}
		if (l->stride == 0 || len % l->stride) {
			snprintf(err, errlen,
				 "convolution layer %zu: stride %zu does not divide the "
				 "length %zu it gets",
				 i + 1, l->stride, len);
			return AM_EINVAL;
		}
		len /= l->stride;
		if (l->filters > AE_MAX_WIDTH / len) {
			snprintf(err, errlen, "convolution layer %zu: too wide", i + 1);
			return AM_EINVAL;
		}
		hidden[i] = len * l->filters;
	}
	for (size_t i = 0; i + 1 < n; i++) /* the decoder back up, before the output */
		hidden[n + i] = hidden[n - 2 - i];
	*n_hidden = 2 * n - 1;
	return 0;
}

/* Tie the weights and biases of layer l of m: a convolution from len_in x
 * ch_in to len_out x ch_out (transposed: the step relation reversed).
 * Parameters are visited in increasing index, so each group's first is
 * its smallest. grp: scratch of kernel * ch_in * ch_out entries. */
static void ae_conv__tie_layer(const ae_model *m, size_t l, const ae_conv_layer *cl,
			       int transposed, size_t len_in, size_t ch_in,
			       size_t len_out, size_t ch_out, int32_t *tie, int32_t *grp)
{
	size_t K = cl->kernel, S = cl->stride, P = (K - 1) / 2;
	size_t w0 = (size_t)(m->w[l] - m->params), b0 = (size_t)(m->b[l] - m->params);
	size_t O = len_out * ch_out;
	for (size_t i = 0; i < K * ch_in * ch_out; i++)
		grp[i] = -1;
	for (size_t ti = 0; ti < len_in; ti++)
		for (size_t ci = 0; ci < ch_in; ci++)
			for (size_t to = 0; to < len_out; to++) {
				/* tap k joins input step ti to output step to */
				size_t a = transposed ? to : ti, b = transposed ? ti : to;
				long k = (long)a - (long)(b * S) + (long)P;
				if (k < 0 || k >= (long)K)
					continue;
				for (size_t co = 0; co < ch_out; co++) {
					size_t p =
					    w0 + (ti * ch_in + ci) * O + to * ch_out + co;
					int32_t *g =
					    &grp[((size_t)k * ch_in + ci) * ch_out + co];
					if (*g < 0)
						*g = (int32_t)p;
					tie[p] = *g;
				}
			}
	for (size_t to = 0; to < len_out; to++)
		for (size_t co = 0; co < ch_out; co++)
			tie[b0 + to * ch_out + co] = (int32_t)(b0 + co);
}

int ae_conv_ties(const ae_model *m, const ae_conv_spec *c, int32_t **tie, char *err,
		 size_t errlen)
{
	size_t hidden[AE_MAX_LAYERS], nh = 0, n = c->n_enc, maxg = 0;
	size_t len[AE_CONV_MAX_LAYERS + 1], ch[AE_CONV_MAX_LAYERS + 1];
	*tie = NULL;
	int rc = ae_conv_hidden(c, m->window, hidden, &nh, err, errlen);
	if (rc)
		return rc;
	int same = m->n_layers == nh + 1 && m->sizes[0] == ae_input_size(m);
	for (size_t i = 0; same && i < nh; i++)
		same = m->sizes[i + 1] == hidden[i];
	if (!same || m->n_params > INT32_MAX) {
		snprintf(err, errlen, "the model's layers are not the convolution's");
		return AM_EINVAL;
	}
	/* length and channels entering encoder layer i (i == n: the code) */
	len[0] = m->window;
	ch[0] = m->n_channels;
	for (size_t i = 0; i < n; i++) {
		size_t g = c->enc[i].kernel * ch[i] * c->enc[i].filters;
		maxg = g > maxg ? g : maxg;
		len[i + 1] = len[i] / c->enc[i].stride;
		ch[i + 1] = c->enc[i].filters;
	}
	int32_t *t = malloc(m->n_params * sizeof *t);
	int32_t *grp = malloc(maxg * sizeof *grp);
	if (!t || !grp) {
		free(t);
		free(grp);
		snprintf(err, errlen, "out of memory for the convolution's ties");
		return AM_ENOMEM;
	}
	for (size_t p = 0; p < m->n_params; p++)
		t[p] = -1;
	for (size_t i = 0; i < n; i++) {
		/* encoder layer i, and the decoder layer that undoes it */
		ae_conv__tie_layer(m, i, &c->enc[i], 0, len[i], ch[i], len[i + 1],
				   ch[i + 1], t, grp);
		ae_conv__tie_layer(m, 2 * n - 1 - i, &c->enc[i], 1, len[i + 1], ch[i + 1],
				   len[i], ch[i], t, grp);
	}
	free(grp);
	*tie = t;
	return 0;
}
