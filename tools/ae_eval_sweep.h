/* ae_eval_sweep — the SKAB search's inner loop: each file is fitted and
 * scored once (ae_eval_skab_prepare), then labelled and replayed through
 * the state machine for every setting of a fixed grid of threshold
 * margins and state settings (ae_eval_skab_replay), one line per file and
 * setting, for scripts/skab-tune.sh to pool, choose and cross-validate
 * (leave one tuning file out) without refitting:
 *
 *   sweep FILE PART MARGIN SPAN ENTER EXIT MINW TP FP TN FN DELAY S NULL PERFECT
 *
 * PART tune|val; MARGIN multiplies the threshold the fit chose before its
 * own margin (p->train.thr_margin; so p->train.thr_k must be 0); SPAN,
 * ENTER, EXIT, MINW the state's window_s, enter_rate, exit_rate,
 * min_windows (min_span and capacity as p->state); TP..FN the state
 * column's counts; DELAY seconds from the onset to FAILURE (-1: none);
 * S NULL PERFECT the file's NAB standard sums (ae_eval_nab.h), which add
 * up over files. The grid is written once, in ae_eval_sweep.c.
 *
 * Ownership: nothing kept between calls; lines go to out. Nothing logs.
 *
 * Codes it returns (tree-wide, error.h): ae_eval_skab_prepare's and
 * ae_eval_skab_replay's; AM_EINVAL when p->train.thr_k is not 0. */
#ifndef ANOMESH_AE_EVAL_SWEEP_H
#define ANOMESH_AE_EVAL_SWEEP_H

#include <stdio.h>

#include "ae_eval_skab.h"

/* Every labelled file under dir (p->files decides which parts) through the
 * grid, lines to out. Returns the files done, or a negative code. */
int ae_eval_sweep_dir(const ae_eval_params *p, const char *dir, FILE *out, char *err,
		      size_t errlen);

#endif
