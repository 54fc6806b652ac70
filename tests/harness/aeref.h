/* aeref — a reference of the anomaly model for tests: the forward pass and
 * the score written as plain loops in double, straight from the definition
 * in ae.h (layer l: out_j = act(b_j + sum_i in_i * w[i * out + j]); score:
 * the reconstruction error's mean over the window of each input's square
 * times its channel's weight), sharing no code with ae.c (no sgemm,
 * no batching, no work buffers, no windowing). test_ae checks the library
 * against it on random models; the scorer's integration test checks live
 * predictions against it, from the raw rows that were published.
 *
 * Reads the model only (ae_model's layout: weights w[l] sizes[l] x
 * sizes[l+1] row-major, biases b[l]); allocates nothing the caller owns. */
#ifndef ANOMESH_HARNESS_AEREF_H
#define ANOMESH_HARNESS_AEREF_H

#include "ae.h"

#include <stddef.h>

/* Score of one standardised, flattened window x (ae_input_size(m) floats,
 * time-major as ae.h describes). Returns NAN when out of memory. */
double aeref_score(const ae_model *m, const float *x);
/* The same; parts (may be NULL; n_channels doubles) gets each channel's
 * weighted share of it (they sum to the score). */
double aeref_score_parts(const ae_model *m, const float *x, double *parts);

/* Score of the window of raw rows rows[0 .. window-1] (each n_channels
 * floats, the model's channels in its order): standardised here with the
 * model's mean and std, (x - mean) / std, then aeref_score(). NAN when out
 * of memory. */
double aeref_score_rows(const ae_model *m, const float *rows);

#endif
