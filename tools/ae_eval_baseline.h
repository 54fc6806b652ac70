/* ae_eval_baseline — an experiment of the SKAB search (models/README.md,
 * "SKAB"): each channel minus a slowly moving baseline before the model
 * sees it, so that a sustained level shift after an anomaly might be
 * absorbed while an onset is still caught. Two baselines, both causal (row
 * r's baseline comes from rows before it) and both starting at the median
 * of the first init_rows rows (the rows the model trains on):
 *   EWMA    b += (x - b) / rows after each row: a time constant of `rows`
 *   MEDIAN  the median of the previous `rows` rows (the start value while
 *           fewer than AE_EVAL_BASELINE_MIN_HISTORY rows precede)
 * Measured on the tuning files it lost to no baseline at every setting
 * tried (an anomaly lasts longer than the stretch after it, so what
 * absorbs the one absorbs the other), so it stays here, in the evaluation,
 * not in the model file or the scorer.
 *
 * Ownership: works in place on the caller's rows; allocates only scratch
 * it frees. Nothing here logs.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL (rows 0 with a
 * baseline, or no row to start from), AM_ENOMEM. */
#ifndef ANOMESH_AE_EVAL_BASELINE_H
#define ANOMESH_AE_EVAL_BASELINE_H

#include <stddef.h>

#include "error.h"

enum { AE_EVAL_BASELINE_NONE = 0, AE_EVAL_BASELINE_EWMA, AE_EVAL_BASELINE_MEDIAN };
#define AE_EVAL_BASELINE_MIN_HISTORY 10

typedef struct ae_eval_baseline_params {
	int kind;    /* AE_EVAL_BASELINE_* */
	size_t rows; /* EWMA time constant, or median window, in rows */
} ae_eval_baseline_params;

/* "none", "ewma", "median"; and the reverse (0, or -1 if unknown). */
const char *ae_eval_baseline_name(int kind);
int ae_eval_baseline_parse(const char *s, int *kind);

/* Subtract b's baseline from n rows of nch channels (row-major), in place.
 * Kind NONE: nothing. Returns 0, AM_EINVAL or AM_ENOMEM. */
int ae_eval_baseline(const ae_eval_baseline_params *b, float *rows, size_t n, size_t nch,
		     size_t init_rows, char *err, size_t errlen);

#endif
