/* ae_train — fitting an ae_model (ae.h) to normal data: backprop, Adam,
 * early stopping and the threshold. Tools link it; the scorer does not.
 *
 * Training (ae_train): Glorot-uniform initialisation and mini-batch order
 * from the model's own PRNG (ae_rng.h), mini-batch Adam on the mean squared
 * reconstruction error, early stopping on a validation split with the best
 * weights kept. The validation windows are the time-ordered tail of the
 * training windows, with the windows overlapping the training part dropped
 * (ae_split_windows in ae_data.h), so they are held out for real.
 * Deterministic for a given seed, data and OpenBLAS thread count (the
 * tools set 1 thread).
 *
 * Tied parameters (tie, e.g. a convolutional network, ae_conv.h): each
 * starts equal to the first of its group (or zero), and every step gives
 * the whole group the sum of its gradients, so they stay equal.
 *
 * Channel weights (channel_weights 1): once trained, each channel's part
 * of the score is weighted by the inverse of its mean part over the
 * held-out windows (normalised so the weights average 1), so every channel
 * weighs alike on normal data: a channel the network reconstructs well
 * gets heard when it departs, a noisy one does not drown the rest.
 * Default 0 (weights 1: the plain mean squared error).
 *
 * Scaler (ae_fit): mean and standard deviation per channel (AE_SCALER_MEAN_STD,
 * the default), or median and interquartile range / 1.349
 * (AE_SCALER_MEDIAN_IQR: the same for normal data, and not pulled by the
 * outliers and slow drift of a training stretch).
 *
 * Threshold: chosen from the scores of the held-out validation windows
 * (training windows if there are none) as
 *     threshold = quantile(scores, thr_quantile) * thr_margin
 *               + thr_k * std(scores)
 * or, with thr_evt_risk > 0, from extreme-value statistics (peaks over
 * threshold): a generalised Pareto distribution fitted (method of
 * moments) to the excesses of the scores over their 90th percentile, and
 * the threshold the score whose exceedance probability it puts at
 * thr_evt_risk, times thr_margin (plus thr_k std).
 * Defaults (quantile 0.99, margin 1.0, k 0, no EVT): the 99th percentile of
 * normal held-out errors, i.e. about 1 % of normal windows flagged, which
 * the state logic (common/state.h) absorbs. See ae_train_defaults().
 *
 * Ownership: the caller owns the model and the data; training writes the
 * model's weights, threshold and meta in place and frees all it allocates.
 * Nothing here logs; progress goes through a callback.
 *
 * Codes it returns (tree-wide, error.h):
 *   AM_EINVAL   bad options, or training diverged; err says which
 *   AM_ENODATA  too few rows or windows to train
 *   AM_ENOMEM
 */
#ifndef ANOMESH_AE_TRAIN_H
#define ANOMESH_AE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "ae.h"
#include "error.h"

typedef struct ae_train_opts {
	uint32_t epochs; /* maximum */
	size_t batch;    /* windows per mini-batch */
	float lr;        /* Adam step size */
	uint64_t seed;
	double val_frac;     /* tail fraction of windows held out, 0 .. 0.9 */
	uint32_t patience;   /* epochs without val improvement before stopping */
	double thr_quantile; /* see the threshold rule above */
	double thr_margin;
	double thr_k;
	double thr_evt_risk; /* > 0: the EVT threshold at this risk */
	int channel_weights; /* 1: weigh channels by their held-out error */
	int scaler;          /* AE_SCALER_* (ae_fit) */
	/* NULL, or n_params entries: the parameter each one must equal, a
	 * group's lowest index (which maps to itself), or -1: held at zero.
	 * Ties a convolution's weights (ae_conv.h). */
	const int32_t *tie;
} ae_train_opts;

enum { AE_SCALER_MEAN_STD = 0, AE_SCALER_MEDIAN_IQR = 1 };

/* The training defaults, the one place they are written down: 200 epochs,
 * batch 32, lr 1e-3, seed 1, val 0.2, patience 20, threshold quantile
 * 0.99 x 1.0 + 0 std. These built the default model (models/, `make
 * models`); ae-train's --help prints them and ae-eval lpms runs with them.
 * A caller that trains differently starts from them and overrides named
 * fields (ae-eval skab: a smaller budget for its 400-row files). */
void ae_train_defaults(ae_train_opts *o);

/* Called after every epoch; a nonzero return stops training early. */
typedef int (*ae_progress_fn)(void *ud, uint32_t epoch, double train_loss,
			      double val_loss);

/* Mean loss of a batch (n <= w->max_batch windows) and its gradient with
 * respect to every parameter (grad: m->n_params floats, overwritten).
 * The loss is the mean over windows of the window score. Exposed for the
 * gradient check; ae_train uses it. Returns the loss. */
double ae_loss_grad(const ae_model *m, const float *windows, size_t n, float *grad,
		    ae_work *w);

/* The EVT threshold of the sorted scores s[0..n) at risk (see the rule
 * above; before the margin). Exposed for tests. */
double ae_threshold_evt(const float *s, size_t n, double risk);

/* Initialise m's weights from o->seed and train on n_windows standardised
 * windows (time order: the validation split is the tail). Sets the
 * threshold and meta fields (epochs, best_epoch, losses, seed, n_train,
 * n_val, thr_method; name/source/date are the caller's). Returns 0,
 * AM_EINVAL, AM_ENODATA (fewer than 2 windows) or AM_ENOMEM. */
int ae_train(ae_model *m, const float *windows, size_t n_windows, const ae_train_opts *o,
	     ae_progress_fn progress, void *ud, char *err, size_t errlen);

/* The whole fit on raw rows (n_rows x n_channels, time order): the scaler
 * (o->scaler) from these rows, then their windows, then ae_train. Same return codes
 * as ae_train (AM_ENODATA also for fewer than 2 rows). */
int ae_fit(ae_model *m, const float *rows, size_t n_rows, const ae_train_opts *o,
	   ae_progress_fn progress, void *ud, char *err, size_t errlen);

#endif
