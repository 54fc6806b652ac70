/* ae_eval_skab — SKAB's protocol (contract "Offline evaluation output").
 *
 * For each labelled CSV under a directory, recursively, in name order, a
 * fresh model is fitted on the first train_rows rows (scaler and network
 * alike); the rest, the test rows, are windowed on their own (window
 * `window`, hop `hop`), scored, labelled (score > threshold) and fed to a
 * state machine in time order. Row labels: a test row takes the score and
 * label of the latest window ending at or before it (with hop 1: the window
 * that ends at the row), and the state the machine is in once that window
 * was pushed; rows no window covers yet (the first window-1 test rows)
 * count 0. Time is the `datetime` column. Files without an `anomaly`
 * column (anomaly-free/) are skipped. Output: OUT/<same relative path>,
 * header datetime,score,anomaly,state. Pooled counts over all test rows
 * give F1 = TP/(TP+(FP+FN)/2), FAR = FP/(FP+TN), MAR = FN/(FN+TP), for the
 * anomaly and the state columns.
 *
 * Ownership: the caller owns params, paths and counts; nothing is kept
 * between calls. Nothing here logs; per-file lines go to `report`.
 *
 * Codes it returns (tree-wide, error.h): csv_read_file's, AM_ENODATA (too
 * few rows), AM_ENOMEM, the training codes of ae_train.h, and AM_EIO for a
 * directory that cannot be read or an output that cannot be written (err
 * says which). */
#ifndef ANOMESH_AE_EVAL_SKAB_H
#define ANOMESH_AE_EVAL_SKAB_H

#include <stdint.h>
#include <stdio.h>

#include "ae_eval.h"

/* The settings behind the reported figures (see ae_eval_skab.c for why). */
void ae_eval_skab_defaults(ae_eval_params *p);

typedef struct ae_eval_counts {
	uint64_t tp, fp, tn, fn;
} ae_eval_counts;

/* F1, false alarm rate and missed alarm rate of counts (0 when undefined). */
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

/* Seconds since the epoch of "YYYY-MM-DD HH:MM:SS" (UTC); -1 on bad text. */
double ae_eval_parse_datetime(const char *s);

#endif
