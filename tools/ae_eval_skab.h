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
 * header datetime,score,anomaly,state,threshold,truth (the model's
 * threshold, and the file's own label, for plots). Pooled counts over all test rows
 * give F1 = TP/(TP+(FP+FN)/2), FAR = FP/(FP+TN), MAR = FN/(FN+TP), for the
 * anomaly and the state columns.
 *
 * Beside them: NAB (ae_eval_nab.h) of the state's transitions against the
 * file's changepoints (`changepoint` column, 60 s windows), and the time
 * to a verdict: from the anomaly's onset (its first labelled row) to the
 * first entry into FAILURE after it, while it lasts.
 *
 * Tuning and validation files. Settings are chosen on one part of the
 * files and reported on the other, split by experiment (file), never by
 * row: in each directory, in name order, the 1st, 3rd, 5th ... file tunes,
 * the 2nd, 4th ... validates (valve1: 0 2 4 6 8 tune, 1 3 5 7 9 validate;
 * other: 1 11 5 7 / 10 14 6; valve2: 0 / 1). A run evaluates all of them
 * and pools each part and the whole separately, or one part only
 * (p->files, `ae-eval skab --files tuning`: a search over settings never
 * computes a validation file).
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
#include "ae_eval_nab.h"
#include "csv.h"

/* The settings behind the reported figures (see ae_eval_skab.c for why). */
void ae_eval_skab_defaults(ae_eval_params *p);

typedef struct ae_eval_counts {
	uint64_t tp, fp, tn, fn;
} ae_eval_counts;

#define AE_EVAL_SKAB_NAB_WINDOW_S 60.0
#define AE_EVAL_SKAB_MAX_FILES 256

/* Everything pooled over a set of files. */
typedef struct ae_eval_skab_pool {
	ae_eval_counts anomaly, state;
	ae_eval_nab nab;
	size_t files;
	size_t onsets, detected;    /* anomalies, and those FAILURE was entered in */
	size_t fp_before, fp_after; /* FAILURE rows outside the anomaly: before
				       its onset, after it (state column) */
	double delay[AE_EVAL_SKAB_MAX_FILES]; /* onset to FAILURE, s, per detected */
} ae_eval_skab_pool;

enum { SKAB_TUNING, SKAB_VALIDATION, SKAB_ALL, SKAB_POOLS };

/* "tuning", "validation", "all". */
const char *ae_eval_skab_pool_name(int pool);

/* Median time to a verdict of a pool (NAN if none detected). */
double ae_eval_skab_median_delay(const ae_eval_skab_pool *p);

/* F1, false alarm rate and missed alarm rate of counts (0 when undefined). */
double ae_eval_f1(const ae_eval_counts *c);
double ae_eval_far(const ae_eval_counts *c);
double ae_eval_mar(const ae_eval_counts *c);

/* One SKAB file fitted and scored once, to be labelled and replayed
 * through a state machine as often as wanted (ae_eval_skab_replay): the
 * file, its fitted model, and per test row its time, label and
 * changepoints; the windows' scores and end times. */
typedef struct ae_eval_skab_prep {
	csv_table t;
	ae_model m;
	int c_anom, c_dt;          /* columns: anomaly, datetime (-1: none) */
	size_t train_rows, n_test; /* test rows follow the training rows */
	double *times;             /* n_test */
	unsigned char *truth;      /* n_test */
	double *cp;                /* changepoints' times, n_cp */
	size_t n_cp;
	ae_eval_scored sc; /* the test rows' windows */
} ae_eval_skab_prep;

/* Read, fit (p->baseline first, if any) and score one file into f.
 * Returns 0, 1 if the file has no labels (nothing kept), or a negative
 * code with err filled (nothing kept). ae_eval_skab_prep_cleanup frees a
 * prepared f (NULL-safe members, idempotent). */
int ae_eval_skab_prepare(const ae_eval_params *p, const char *in_path,
			 ae_eval_skab_prep *f, char *err, size_t errlen);
void ae_eval_skab_prep_cleanup(ae_eval_skab_prep *f);

/* Per test row, what a replay decided (each array n_test long). */
typedef struct ae_eval_skab_rows {
	float *score;
	int *label, *state;
} ae_eval_skab_rows;

/* Label f's windows (score > threshold) and replay them through a state
 * machine of sp, adding the file's counts, NAB and delays to one (out: the
 * per-row decisions, or NULL). Returns 0, state_init's AM_EINVAL, or
 * AM_ENOMEM. */
int ae_eval_skab_replay(const ae_eval_skab_prep *f, float threshold,
			const state_params *sp, ae_eval_skab_pool *one,
			ae_eval_skab_rows *out, char *err, size_t errlen);

/* One SKAB file: train, score, write out_path (NULL: no output file), add
 * to one (a pool of that file alone, or more). Returns 0, 1 if the file
 * has no labels (skipped), or a negative code with err filled. */
int ae_eval_skab_file(const ae_eval_params *p, const char *in_path, const char *out_path,
		      ae_eval_skab_pool *one, char *err, size_t errlen);

/* What to do with one file of a walk: path, its output path (NULL when
 * the walk has no output directory), its name under the directory, its
 * part (SKAB_TUNING or SKAB_VALIDATION). Returns 0 (done), 1 (no labels:
 * skipped, not counted in the split) or a negative code with err filled
 * (the walk stops). */
typedef int (*ae_eval_skab_visit)(void *ud, const char *path, const char *out_path,
				  const char *name, int part, char *err, size_t errlen);

/* Every CSV under dir, recursively in name order, split as above and
 * filtered by p->files, through visit; out_dir (NULL: none) is created
 * with the same layout. Returns the files done, or the first negative
 * code. */
int ae_eval_skab_walk(const ae_eval_params *p, const char *dir, const char *out_dir,
		      ae_eval_skab_visit visit, void *ud, char *err, size_t errlen);

/* Every labelled CSV under dir into out_dir (created as needed; NULL: no
 * output files), pooled
 * into pools[SKAB_TUNING or SKAB_VALIDATION] and pools[SKAB_ALL] (zero them
 * first); one line per file on report. Returns the number of files
 * evaluated, or a negative code with err filled (at the first failing
 * file). */
int ae_eval_skab_dir(const ae_eval_params *p, const char *dir, const char *out_dir,
		     FILE *report, ae_eval_skab_pool pools[SKAB_POOLS], char *err,
		     size_t errlen);

/* The pools' figures (anomaly and state F1/FAR/MAR, NAB, the verdict's
 * delay), each part beside the published rows (all 34 files there; here
 * the files given, split into tuning and validation). */
void ae_eval_skab_print(FILE *out, const ae_eval_skab_pool pools[SKAB_POOLS]);

/* Seconds since the epoch of "YYYY-MM-DD HH:MM:SS" (UTC); -1 on bad text. */
double ae_eval_parse_datetime(const char *s);

#endif
