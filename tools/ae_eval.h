/* ae_eval — offline evaluations of the model + state logic, through the same
 * library code as the live services (ae/ae.h, common/state.h):
 *
 * SKAB (contract "Offline evaluation output"): for each labelled CSV under a
 * directory, recursively, in name order, a fresh model is fitted on the
 * first train_rows rows (scaler and network alike); the rest, the test rows,
 * are windowed on their own (window `window`, hop `hop`), scored, labelled
 * (score > threshold) and fed to a state machine in time order. Row labels:
 * a test row takes the score and label of the latest window ending at or
 * before it (with hop 1: the window that ends at the row), and the state
 * the machine is in once that window was pushed; rows no window covers yet
 * (the first window-1 test rows) count 0. Time is the `datetime` column.
 * Files without an `anomaly` column (anomaly-free/) are skipped. Output:
 * OUT/<same relative path>, header datetime,score,anomaly,state. Pooled
 * counts over all test rows give F1 = TP/(TP+(FP+FN)/2), FAR = FP/(FP+TN),
 * MAR = FN/(FN+TP), for the anomaly and the state columns.
 *
 * LPMS: fit on the normal recording minus a held-out tail, then score the
 * pre-fail recording and the tail, each through its own state machine; the
 * report gives the window anomaly rate over time and the FAILURE stretches.
 *
 * Nothing here logs; reports go to the FILE the caller gives (NULL: none). */
#ifndef ANOMESH_AE_EVAL_H
#define ANOMESH_AE_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "ae.h"
#include "ae_train.h"
#include "state.h"

#define AE_EVAL_MAX_HIDDEN (AE_MAX_LAYERS - 1)

typedef struct ae_eval_params {
	size_t window, hop;
	size_t hidden[AE_EVAL_MAX_HIDDEN];
	size_t n_hidden;
	enum ae_act act;
	ae_train_opts train;
	state_params state;
	size_t train_rows; /* SKAB: rows of each file to train on */
	/* the channels used; none: SKAB every numeric column but the labels,
	 * LPMS linacc_x/y/z */
	char channels[AE_MAX_CHANNELS][AE_NAME_MAX];
	size_t n_channels;
	double tail_frac; /* LPMS: fraction of the normal recording held out */
	double bin_s;     /* LPMS: report bin width, seconds */
} ae_eval_params;

/* The settings behind the reported figures (see ae_eval.c for why). */
void ae_eval_skab_defaults(ae_eval_params *p);
void ae_eval_lpms_defaults(ae_eval_params *p);

typedef struct ae_eval_counts {
	uint64_t tp, fp, tn, fn;
} ae_eval_counts;

double ae_eval_f1(const ae_eval_counts *c);
double ae_eval_far(const ae_eval_counts *c);
double ae_eval_mar(const ae_eval_counts *c);

/* One SKAB file: train, score, write out_path (NULL: no output file), add
 * to the pooled counts. Returns 0, 1 if the file has no labels (skipped),
 * or a negative code with err filled. */
int ae_eval_skab_file(const ae_eval_params *p, const char *in_path, const char *out_path,
		      ae_eval_counts *anomaly, ae_eval_counts *state, char *err,
		      size_t errlen);

/* Every labelled CSV under dir into out_dir (created as needed); one line
 * per file on report. Returns the number of files evaluated, or a negative
 * code with err filled (at the first failing file). */
int ae_eval_skab_dir(const ae_eval_params *p, const char *dir, const char *out_dir,
		     FILE *report, ae_eval_counts *anomaly, ae_eval_counts *state,
		     char *err, size_t errlen);

#define AE_EVAL_MAX_STRETCHES 64

typedef struct ae_eval_stretch {
	double start, end; /* seconds, in the recording's own time */
} ae_eval_stretch;

typedef struct ae_eval_lpms_result {
	ae_eval_stretch fail[AE_EVAL_MAX_STRETCHES]; /* pre-fail FAILURE stretches */
	size_t n_fail;
	double prefail_rate;  /* window anomaly rate over the whole pre-fail file */
	double tail_rate;     /* same over the held-out normal tail */
	size_t tail_failures; /* FAILURE entries on the tail: 0 expected */
	size_t tail_windows;
	float threshold;
} ae_eval_lpms_result;

/* Channels: p->channels, or linacc_x/y/z if none. Prints rate-over-time bins and
 * stretches. */
int ae_eval_lpms(const ae_eval_params *p, const char *normal_csv, const char *prefail_csv,
		 FILE *report, ae_eval_lpms_result *res, char *err, size_t errlen);

/* Seconds since the epoch of "YYYY-MM-DD HH:MM:SS" (UTC); -1 on bad text. */
double ae_eval_parse_datetime(const char *s);

#endif
