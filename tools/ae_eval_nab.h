/* ae_eval_nab — the Numenta Anomaly Benchmark's score (Lavin & Ahmad 2015,
 * "Evaluating real-time anomaly detection algorithms"), as SKAB's
 * changepoint leaderboard uses it: each labelled changepoint opens a window
 * of window_s seconds to its right; a detection is a moment the detector
 * says "something changed" — here every transition of the alerter's state
 * (OK -> FAILURE, FAILURE -> OK), which is what an operator sees.
 *
 * Scoring, as NAB's sweeper does it:
 *  - the first detection inside a window scores A_tp x sigma(y), y the
 *    detection's position relative to the window's end (-1 at its start,
 *    0 at its end), sigma(y) = 2 / (1 + e^(5y)) - 1: ~1 right after the
 *    change, 0 at the end of the window; later detections in the same
 *    window count nothing;
 *  - a detection outside every window scores A_fp x sigma(y), y its
 *    distance past the preceding window's end in window lengths (so a late
 *    detection just after a window costs little, one far from any change
 *    costs A_fp), or A_fp x -1 when no window precedes it;
 *  - a window without a detection scores -A_fn.
 * Windows may overlap (SKAB marks changepoints less than 60 s apart: an
 * anomaly's onset and a change within it): each changepoint is a window
 * of its own, and a detection counts for the earliest window holding it
 * that has none yet (nothing if all have one); it is a false positive
 * only outside every window. The profiles' weights: standard A_tp 1, A_fp 0.11, A_fn 1;
 * LowFP A_fp 0.22; LowFN A_fn 2. A corpus's score is 100 x (S - S_null) / (S_perfect -
 * S_null) over the sums of all its files, S_null = -A_fn x windows (no detection at all),
 * S_perfect = A_tp x windows.
 *
 * This is our implementation from the paper and NAB's code as described;
 * SKAB's own (tsad) may differ in details (window edges, merging), so the
 * published rows it is printed beside are a guide, not a like-for-like
 * comparison.
 *
 * Ownership: plain data, no allocation, nothing logged. */
#ifndef ANOMESH_AE_EVAL_NAB_H
#define ANOMESH_AE_EVAL_NAB_H

#include <stddef.h>

enum { NAB_STANDARD, NAB_LOW_FP, NAB_LOW_FN, NAB_N };
#define AE_EVAL_NAB_MAX_CP 64 /* changepoints per file scored (more: ignored) */

/* Sums over a corpus, per profile. */
typedef struct ae_eval_nab {
	double s[NAB_N], s_null[NAB_N], s_perfect[NAB_N];
	size_t windows, detections, hits;
} ae_eval_nab;

/* "standard", "LowFP", "LowFN". */
const char *ae_eval_nab_name(int profile);

/* Add one file: changepoint times cp[0..n_cp) (at most AE_EVAL_NAB_MAX_CP
 * are scored) and detection times det[0..n_det), both non-decreasing,
 * seconds; window_s > 0. */
void ae_eval_nab_add(ae_eval_nab *acc, const double *cp, size_t n_cp, const double *det,
		     size_t n_det, double window_s);

/* The normalised score of a profile over what was added (0 if nothing). */
double ae_eval_nab_score(const ae_eval_nab *acc, int profile);

/* acc += b. */
void ae_eval_nab_merge(ae_eval_nab *acc, const ae_eval_nab *b);

#endif
