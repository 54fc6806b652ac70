/* ae_eval — offline evaluations of the model and the state logic, through
 * the same library code as the live services (ae/ae.h, common/state.h).
 * Two protocols, each in its own module: SKAB (ae_eval_skab.h: a fresh
 * model per labelled file, pooled F1/FAR/MAR) and LPMS (ae_eval_lpms.h: the
 * seed recordings, FAILURE stretches). This module holds what they share:
 * the parameters, building the model, and scoring a recording into window
 * scores, window end times and a state machine to replay them through.
 *
 * Ownership: ae_eval_scored owns its arrays and state machine;
 * ae_eval_scored_cleanup frees them (NULL-safe members, idempotent).
 * Nothing here logs; reports go to the FILE the caller gives (NULL: none).
 *
 * Codes it returns (tree-wide, error.h): those of ae_model_init,
 * state_init and ae_work_init (AM_EINVAL, AM_ENOMEM). */
#ifndef ANOMESH_AE_EVAL_H
#define ANOMESH_AE_EVAL_H

#include <stddef.h>

#include "ae.h"
#include "ae_conv.h"
#include "ae_eval_baseline.h"
#include "ae_train.h"
#include "error.h"
#include "state.h"

#define AE_EVAL_MAX_HIDDEN (AE_MAX_LAYERS - 1)

/* Which SKAB files an evaluation runs (ae_eval_skab.h, "Tuning and
 * validation files"): all, or one part only, so that a search over
 * settings never even computes the validation files. */
enum { AE_EVAL_FILES_ALL = 0, AE_EVAL_FILES_TUNING, AE_EVAL_FILES_VALIDATION };

/* Everything an evaluation is run with; each protocol has its defaults
 * (ae_eval_skab_defaults, ae_eval_lpms_defaults). */
typedef struct ae_eval_params {
	size_t window, hop;
	size_t hidden[AE_EVAL_MAX_HIDDEN];
	size_t n_hidden;
	ae_conv_spec conv; /* n_enc > 0: a convolutional network (replaces hidden) */
	enum ae_act act;
	ae_train_opts train;
	state_params state;
	size_t train_rows; /* SKAB: rows of each file to train on */
	/* the channels used; none: SKAB every numeric column but the labels,
	 * LPMS linacc_x/y/z */
	char channels[AE_MAX_CHANNELS][AE_NAME_MAX];
	size_t n_channels;
	double tail_frac; /* LPMS: fraction of the normal recording held out */
	int files;        /* SKAB: AE_EVAL_FILES_* (which part is evaluated) */
	ae_eval_baseline_params baseline; /* SKAB: none unless an experiment */
	double bin_s;                     /* LPMS: report bin width, seconds */
} ae_eval_params;

/* A fresh, untrained model of p's shape (window, hop, hidden layers or
 * convolution, activation, linear output) over the given channels.
 * Returns 0 or ae_model_init's or ae_conv_hidden's code (err filled); m is
 * the caller's to clean up. */
int ae_eval_model(ae_model *m, const ae_eval_params *p, const char *const *channels,
		  size_t n_channels, char *err, size_t errlen);

/* ae_fit (ae_train.h) of m (from ae_eval_model) with p->train, its weights
 * tied when p is convolutional. Returns ae_fit's or ae_conv_ties' codes. */
int ae_eval_fit(ae_model *m, const ae_eval_params *p, const float *rows, size_t n_rows,
		ae_progress_fn progress, void *ud, char *err, size_t errlen);

/* What both evaluations start from: every window of a recording scored
 * once, each window's end time (the time of its last row, held at the
 * latest time seen so that a clock stepping back never reaches the state
 * machine out of order), and a fresh state machine to feed them to. */
typedef struct ae_eval_scored {
	state_machine sm;
	float *score;  /* nw window scores */
	float *ch;     /* nw x n_channels: each score's parts by channel */
	double *t_end; /* nw window end times, non-decreasing */
	size_t nw;
} ae_eval_scored;

/* Score the windows of n raw rows whose times are t[0..n) with m, into s
 * (state machine from p->state). Returns 0, or a negative code with err
 * filled and nothing left allocated. */
int ae_eval_score(const ae_model *m, const ae_eval_params *p, const float *rows,
		  const double *t, size_t n, ae_eval_scored *s, char *err, size_t errlen);
void ae_eval_scored_cleanup(ae_eval_scored *s);

#endif
