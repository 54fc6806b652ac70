/* ae — the anomaly model at run time: a dense autoencoder over windows of
 * standardised sensor samples, run in C on OpenBLAS. This is what the scorer
 * links; training (ae_train.h), data preparation (ae_data.h), the model file
 * (aefile.h) and the PRNG (ae_rng.h) are modules of their own beside it.
 *
 * A window is window x n_channels consecutive samples of the model's
 * channels (chosen by name), each standardised with the per-channel mean and
 * std fitted on the training data, flattened row-major (time-major: sample 0
 * channel 0, sample 0 channel 1, ...). Windows start every `hop` samples.
 * The network maps the window through layers sizes[0] -> sizes[1] -> ... ->
 * sizes[n_layers] (sizes[0] == sizes[n_layers] == window * n_channels), each
 * layer an affine map followed by its activation. A window's score is its
 * reconstruction error: the mean over the window's values of the squared
 * difference between the window and its reconstruction, in standardised
 * units, each channel's terms multiplied by that channel's weight (1 unless
 * training set others, see ae_train.h); it is anomalous when score >
 * threshold (chosen at training time). The channels' parts of that sum are
 * what ae_score_batch_ch() reports: which signal made a window anomalous.
 *
 * A model knows its data: the sample rate it was trained at (rate_hz; 0 when
 * not recorded, as in format-1 files) and each channel's unit. Windows are
 * `window` samples at that rate; the scorer feeds a faster stream through
 * decimation and refuses one it cannot feed faithfully (services/scorer/
 * window.h).
 *
 * Inference is batched: ae_score_batch() runs one cblas_sgemm per layer for
 * a whole batch of windows (from any number of sensors). Weights of layer l
 * are stored row-major as sizes[l] x sizes[l+1] so that a batch (rows =
 * windows) times W is a plain sgemm; all parameters (weights then biases,
 * layer by layer) live in one contiguous block, which is what Adam updates
 * and what the model file stores.
 *
 * Ownership: ae_model and ae_work are caller-embedded; ae_model_init /
 * ae_work_init allocate, ae_model_cleanup / ae_work_cleanup free (NULL-safe,
 * idempotent). Nothing here logs. A model is read-only during
 * ae_score_batch, so several threads may score with one model, each with
 * its own ae_work. */
#ifndef ANOMESH_AE_H
#define ANOMESH_AE_H

#include <stddef.h>
#include <stdint.h>

#define AE_MAX_CHANNELS 64
#define AE_NAME_MAX 64           /* channel name incl. NUL */
#define AE_MAX_LAYERS 8          /* weight layers */
#define AE_MAX_WINDOW 100000     /* samples per window */
#define AE_MAX_WIDTH 65536       /* units in any layer (incl. input) */
#define AE_MAX_PARAMS (1u << 24) /* total weights + biases */
#define AE_META_MAX 256          /* metadata strings incl. NUL */
#define AE_UNIT_MAX 16           /* channel unit incl. NUL */

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL   bad argument or spec; err says which
 *   AM_ENOMEM
 */
#include "error.h"

enum ae_act { AE_ACT_LINEAR = 0, AE_ACT_TANH = 1, AE_ACT_RELU = 2, AE_ACT_SIGMOID = 3 };

/* Name of an activation ("tanh"...), and the reverse (0, or -1 if unknown). */
const char *ae_act_name(enum ae_act a);
int ae_act_parse(const char *s, enum ae_act *out);

/* How a model was trained: kept in the model file for people and tools. */
typedef struct ae_meta {
	char name[AE_META_MAX];   /* model name, e.g. "lpms-linacc" */
	char source[AE_META_MAX]; /* training data file */
	char date[AE_META_MAX];   /* UTC, ISO 8601 */
	char thr_method[AE_META_MAX];
	uint64_t seed;
	uint32_t epochs;     /* epochs run */
	uint32_t best_epoch; /* epoch whose weights were kept (1-based) */
	uint32_t n_train;    /* training windows */
	uint32_t n_val;      /* validation windows */
	float train_loss;    /* at best_epoch */
	float val_loss;      /* at best_epoch (train loss if no validation) */
} ae_meta;

typedef struct ae_model {
	size_t n_channels;
	char channels[AE_MAX_CHANNELS][AE_NAME_MAX];
	size_t window; /* samples per window */
	size_t hop;    /* samples between window starts */
	float mean[AE_MAX_CHANNELS];
	float std[AE_MAX_CHANNELS];    /* > 0 */
	float weight[AE_MAX_CHANNELS]; /* > 0: the channel's weight in the score */
	char units[AE_MAX_CHANNELS][AE_UNIT_MAX]; /* "" when not known */
	double rate_hz;           /* samples per second trained at; 0: not recorded */
	char scaler[AE_NAME_MAX]; /* how mean/std were fitted ("" not recorded) */
	unsigned file_version;    /* format of the file it came from; 0: built here */
	size_t n_layers;
	size_t sizes[AE_MAX_LAYERS + 1];
	enum ae_act act[AE_MAX_LAYERS];
	size_t n_params;
	float *params;           /* owned: all weights and biases */
	float *w[AE_MAX_LAYERS]; /* into params: sizes[l] x sizes[l+1] */
	float *b[AE_MAX_LAYERS]; /* into params: sizes[l+1] */
	float threshold;
	ae_meta meta;
} ae_model;

/* What to build: channels by name, window and hop, hidden layer sizes
 * (in -> hidden[0] -> ... -> hidden[n_hidden-1] -> in), their activation
 * and the output layer's. */
typedef struct ae_spec {
	const char *const *channels;
	size_t n_channels;
	size_t window, hop;
	const size_t *hidden;
	size_t n_hidden; /* 1 .. AE_MAX_LAYERS-1 */
	enum ae_act act_hidden;
	enum ae_act act_out; /* usually linear: standardised data is unbounded */
} ae_spec;

/* How a stream at stream_hz feeds a model trained at model_hz. */
enum ae_rate {
	AE_RATE_SAME,     /* within AE_RATE_TOL of the model's rate: every sample */
	AE_RATE_DECIMATE, /* about k x the model's rate: every k-th sample */
	AE_RATE_UNKNOWN,  /* the model records no rate (format v1): every sample */
	AE_RATE_TOO_SLOW, /* slower: refused (it would need samples never taken) */
	AE_RATE_NO_RATIO, /* faster, not near a whole multiple: refused */
};
#define AE_RATE_TOL 0.1

/* The plan for a stream at stream_hz and a model at model_hz (0: not
 * recorded); *step gets the samples per sample kept (1 unless decimating).
 * Decimating by k = round(stream_hz / model_hz) is accepted when the rate
 * it leaves is within AE_RATE_TOL of the model's. The scorer's window.h
 * says why keeping 1 sample in k is faithful. */
enum ae_rate ae_rate_plan(double model_hz, double stream_hz, size_t *step);

/* Whether a plan refuses the stream. */
int ae_rate_refused(enum ae_rate r);

/* What a plan means, for log lines. */
const char *ae_rate_name(enum ae_rate r);

/* Build a model with zero weights, mean 0, std 1, weights 1, no rate, no
 * units, threshold +inf.
 * Returns 0, AM_EINVAL (err says why) or AM_ENOMEM. */
int ae_model_init(ae_model *m, const ae_spec *spec, char *err, size_t errlen);
/* Allocate params for m's sizes (used by the file loader); same codes. */
int ae_model_alloc(ae_model *m, char *err, size_t errlen);
/* Free m's parameters (NULL-safe, idempotent); the rest is plain data. */
void ae_model_cleanup(ae_model *m);

/* Width of one flattened window: window * n_channels. */
size_t ae_input_size(const ae_model *m);

/* Number of windows of `window` samples every `hop` in n_rows rows. */
size_t ae_window_count(size_t n_rows, size_t window, size_t hop);

/* Standardise n_rows raw rows into out ((x - mean) / std); out may be rows. */
void ae_standardise(const ae_model *m, const float *rows, size_t n_rows, float *out);

/* Flatten the windows of standardised rows into out (ae_window_count()
 * windows of ae_input_size() floats). Returns the number of windows. */
size_t ae_make_windows(const ae_model *m, const float *std_rows, size_t n_rows,
		       float *out);

/* Scratch memory for scoring and training, sized for max_batch windows. */
typedef struct ae_work {
	size_t max_batch;
	size_t width;                  /* widest layer */
	float *act[AE_MAX_LAYERS + 1]; /* activations per layer, max_batch x sizes[l] */
	float *delta[2]; /* backprop scratch, max_batch x width (ae_train.h) */
} ae_work;

/* Allocate w for batches of up to max_batch (1 .. 2^20) windows of m.
 * Returns 0, AM_EINVAL or AM_ENOMEM (then nothing is left allocated).
 * ae_work_cleanup frees it (NULL-safe, idempotent). */
int ae_work_init(ae_work *w, const ae_model *m, size_t max_batch, char *err,
		 size_t errlen);
void ae_work_cleanup(ae_work *w);

/* Forward pass of n <= w->max_batch standardised windows x (n x
 * ae_input_size(), row-major): w->act[l] gets layer l's output for l >= 1
 * (the input is x itself), w->act[m->n_layers] the reconstruction. The one
 * forward pass for scoring and for training's backprop (ae_train.h). */
void ae_forward(const ae_model *m, const float *x, size_t n, ae_work *w);

/* Score n_windows standardised windows (n_windows x ae_input_size(),
 * row-major) into scores[n_windows]: one sgemm per layer per chunk of
 * w->max_batch windows. w must have been initialised for m. */
void ae_score_batch(const ae_model *m, const float *windows, size_t n_windows,
		    float *scores, ae_work *w);

/* The same, and each window's score split by channel: ch[i * n_channels +
 * c] gets channel c's part of window i's score (the parts add up to the
 * score). ch may be NULL. */
void ae_score_batch_ch(const ae_model *m, const float *windows, size_t n_windows,
		       float *scores, float *ch, ae_work *w);

/* The k channels with the largest parts of one window's score (ch: its
 * n_channels parts) as indices into idx and shares of the score (0..1)
 * into share, largest first; channels with no part are left out. Returns
 * how many were written (<= k). */
size_t ae_top_channels(const ae_model *m, const float *ch, size_t k, size_t *idx,
		       float *share);

/* Standardise raw rows, window them and score every window, w->max_batch
 * windows per batch: scores gets ae_window_count(n_rows, window, hop)
 * values (window i covers rows i*hop .. i*hop+window-1). Returns that
 * count, or AM_ENOMEM. */
long ae_score_rows(const ae_model *m, const float *rows, size_t n_rows, float *scores,
		   ae_work *w);

/* The same, and each score split by channel into ch (count x n_channels,
 * as ae_score_batch_ch; may be NULL). */
long ae_score_rows_ch(const ae_model *m, const float *rows, size_t n_rows, float *scores,
		      float *ch, ae_work *w);

#endif
