/* ae_conv — a temporal convolutional autoencoder as a dense one whose
 * weights are tied: the shape ae.h scores, trained under a constraint.
 *
 * A convolutional layer over a window of T samples x C channels with F
 * filters of K taps and stride S is an affine map from T*C to (T/S)*F
 * values whose matrix repeats one K x C x F kernel along the time axis and
 * is zero elsewhere (and whose bias repeats F values). So a convolutional
 * autoencoder is an ae_model (ae.h) of those layer sizes plus a tie map:
 * for every parameter, the parameter it must equal, or -1 where the
 * structure holds it at zero. ae_train (ae_train.h, opts.tie) starts tied
 * parameters equal and gives each the sum of its group's gradients, so
 * Adam keeps them equal; the trained model is an ordinary model file and
 * the scorer runs it unchanged (one sgemm per layer over the dense matrix:
 * wasteful for long windows, nothing at the mesh's sizes).
 *
 * The network (time-major like ae.h's windows: value t*channels + c):
 *   encoder: for each layer i, a convolution of kernel[i] taps (odd),
 *     stride[i] (dividing the length it gets), filters[i] outputs per
 *     step, centred ("same" padding: (kernel-1)/2 on each side), then the
 *     hidden activation;
 *   decoder: the encoder mirrored, each layer a transposed convolution
 *     (output step t*stride + k - pad from input step t) back to the
 *     previous length and channel count; the last one returns to the
 *     window's channels, linear like ae.h's output layer.
 * E.g. window 20, 6 channels, layers 3:2:8 then 3:2:4: 120 -> 80 -> 20 ->
 * 80 -> 120.
 *
 * Ownership: ae_conv_ties returns a malloc'd map, the caller's to free.
 * Nothing here logs.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL (err says why),
 * AM_ENOMEM. */
#ifndef ANOMESH_AE_CONV_H
#define ANOMESH_AE_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "ae.h"
#include "error.h"

#define AE_CONV_MAX_LAYERS (AE_MAX_LAYERS / 2) /* encoder layers */

typedef struct ae_conv_layer {
	size_t kernel, stride, filters;
} ae_conv_layer;

typedef struct ae_conv_spec {
	ae_conv_layer enc[AE_CONV_MAX_LAYERS];
	size_t n_enc; /* 0: not convolutional */
} ae_conv_spec;

/* Parse "K:S:F[,K:S:F...]" (e.g. "3:2:8,3:2:4") into c. Returns 0, or
 * AM_EINVAL with err filled and c left empty (n_enc 0). */
int ae_conv_parse(const char *spec, ae_conv_spec *c, char *err, size_t errlen);

/* The hidden layer sizes (ae_spec.hidden: 2 * n_enc - 1 of them) of c's
 * network over windows of `window` samples.
 * Returns 0 or AM_EINVAL (a stride that does not divide the length, an
 * even kernel, a layer too wide) with err filled. */
int ae_conv_hidden(const ae_conv_spec *c, size_t window, size_t *hidden, size_t *n_hidden,
		   char *err, size_t errlen);

/* The tie map of model m, built from c (m must have ae_conv_hidden's
 * sizes): *tie gets m->n_params entries, each the index of the parameter
 * it equals (the first of its group, itself for that one) or -1 for a
 * structural zero. Returns 0, AM_EINVAL (m's shape is not c's) or
 * AM_ENOMEM. */
int ae_conv_ties(const ae_model *m, const ae_conv_spec *c, int32_t **tie, char *err,
		 size_t errlen);

#endif
