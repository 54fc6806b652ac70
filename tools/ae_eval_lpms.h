/* ae_eval_lpms — the model and state logic on the LPMS-B2 seed recordings.
 *
 * Fit on the normal recording minus a held-out tail (tail_frac), then score
 * the pre-fail recording and the tail, each through its own state machine;
 * the report gives the window anomaly rate over time (bins of bin_s
 * seconds) and the FAILURE stretches. The expected result: FAILURE during
 * the pre-fail recording's failure stretches, none on the normal tail.
 * With an output directory, each recording's windows also go to a CSV
 * there (prefail.csv, normal-tail.csv: t,score,anomaly,state,threshold,
 * truth,share_<channel>...) for the plots.
 *
 * Ground truth, independent of any model: the recordings have no labels,
 * but the failure movement carries more linear-acceleration energy. A
 * failure stretch is a run of AE_EVAL_LPMS_BIN_S bins whose linacc_x RMS
 * exceeds AE_EVAL_LPMS_LEVEL_G. The level comes from the data (and
 * test_ae_lpms checks these numbers on every run): in 5 s bins the normal
 * recording's RMS is 0.0175 .. 0.0496 g; the pre-fail recording's is
 * 0.0119 .. 0.0522 g in its quiet bins and 0.0705 .. 0.1313 g in its
 * failure bins (0.0705 and 0.0771 are bins where a stretch begins
 * mid-bin), nothing between 0.0522 and 0.0705: 0.06 g, the middle of that
 * empty band rounded, splits them the same anywhere in the band, into 8
 * failure stretches.
 *
 * Ownership: the caller owns params, paths and the result; nothing is kept
 * between calls. Nothing here logs; the report goes to `report` (NULL:
 * none).
 *
 * Codes it returns (tree-wide, error.h): csv_read_file's, AM_ENODATA (a
 * channel missing, or too few rows), AM_ENOMEM and the training codes of
 * ae_train.h; err says which. */
#ifndef ANOMESH_AE_EVAL_LPMS_H
#define ANOMESH_AE_EVAL_LPMS_H

#include <stddef.h>
#include <stdio.h>

#include "ae_eval.h"

#define AE_EVAL_LPMS_BIN_S 5.0
#define AE_EVAL_LPMS_LEVEL_G 0.06
#define AE_EVAL_LPMS_MAX_BINS 1024

/* RMS of channel in bins of bin_s seconds of the recording's "timestamp"
 * (samples before 0 count in the first bin) into rms[0 .. *n) (at most
 * max; an empty bin reads 0). Returns 0, or a negative code with err
 * (AM_EFORMAT: no such column, or a recording over
 * AE_EVAL_LPMS_MAX_BINS bins). */
int ae_eval_lpms_energy(const char *csv, const char *channel, double bin_s, double *rms,
			size_t max, size_t *n, char *err, size_t errlen);

/* The settings behind the reported figures: the default model's shape. */
void ae_eval_lpms_defaults(ae_eval_params *p);

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
	double rec_end;  /* pre-fail: end time of its last window */
	int open_at_end; /* its last FAILURE stretch was still on at rec_end */
} ae_eval_lpms_result;

/* The failure stretches of a recording (bins over AE_EVAL_LPMS_LEVEL_G,
 * merged) into st (at most max; *n gets how many). Same returns. */
int ae_eval_lpms_truth(const char *csv, ae_eval_stretch *st, size_t max, size_t *n,
		       char *err, size_t errlen);

/* The verdict of the evaluation, the one ae-eval prints and test_ae_lpms
 * asserts: the pre-fail recording enters FAILURE exactly once per truth
 * stretch (n_truth of them), each time within AE_EVAL_LPMS_ENTER_S of the
 * stretch's start (or of the first verdict, for a stretch the recording
 * starts in), and leaves it within AE_EVAL_LPMS_LEAVE_S of its end unless
 * the recording ends first (then FAILURE is still on at the end); the
 * held-out normal tail never enters FAILURE. Returns 1 pass, 0 fail with
 * the first reason in why. The bounds (test_e2e states the same): the
 * state logic's lag (half of a 10 s span anomalous to enter, down to a
 * fifth to leave), a 4 s window and 5 s truth bins. */
#define AE_EVAL_LPMS_ENTER_S 12.0
#define AE_EVAL_LPMS_LEAVE_S 15.0
int ae_eval_lpms_verdict(const ae_eval_lpms_result *r, const ae_eval_stretch *truth,
			 size_t n_truth, char *why, size_t len);

/* Channels: p->channels, or linacc_x/y/z if none. Prints rate-over-time
 * bins and stretches to report; writes the windows' CSVs into out_dir
 * (NULL: none). Returns 0 or a negative code with err filled. */
int ae_eval_lpms(const ae_eval_params *p, const char *normal_csv, const char *prefail_csv,
		 const char *out_dir, FILE *report, ae_eval_lpms_result *res, char *err,
		 size_t errlen);

/* `ae-eval lpms`: ae_eval_lpms on dir's normal_20170202_2229.csv and
 * pre-fail_20170202_2234.csv, then ae_eval_lpms_verdict against the
 * pre-fail recording's truth, printed to report. Returns 0 (PASS), 1
 * (FAIL: why printed) or a negative code with err filled. */
int ae_eval_lpms_check(const ae_eval_params *p, const char *dir, const char *out_dir,
		       FILE *report, char *err, size_t errlen);

/* Score one recording with an already trained model m (a shipped default,
 * say) through p->state: its FAILURE stretches into st (at most
 * AE_EVAL_MAX_STRETCHES; *n_st gets how many) and the window anomaly rate
 * into *rate; rate-over-time bins of p->bin_s to report (NULL: none).
 * Returns 0 or a negative code with err filled. */
int ae_eval_lpms_replay(const ae_eval_params *p, const ae_model *m, const char *csv,
			FILE *report, ae_eval_stretch *st, size_t *n_st, double *rate,
			char *err, size_t errlen);

#endif
