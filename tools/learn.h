/* learn — teach the mesh one machine: from a sensor's normal data to a
 * checked model, what `anomesh-learn` runs once the data are in
 * (learn_data.h).
 *
 * The data are split by time: the head (1 - holdout_frac) trains the model
 * (ae_fit: its own tail of the head stops training early and sets the
 * threshold, ae_train.h), the tail is held out and never seen by training
 * nor threshold, and validates. Refusals, each with a reason in err:
 *  - LEARN_TOO_FEW: under min_s seconds of data, or too few windows for
 *    the split (at least LEARN_MIN_TRAIN windows to train, LEARN_MIN_VAL to
 *    validate);
 *  - LEARN_GAPPY: more than max_lost_frac of the samples missing, or more
 *    than max_gaps breaks in the stream;
 *  - LEARN_ANOMALOUS: the model serving the sensor now (ref; skipped when
 *    none or its rate does not fit) puts the data in FAILURE through the
 *    state logic: learning them would bless a fault. `force` overrides it
 *    (a machine the default model does not know), and the report says so;
 *  - LEARN_UNSTABLE: the held-out tail does not look like what was learnt:
 *    its window anomaly rate is over max_val_rate (5 x the 1 % the
 *    threshold is set for) or the state logic enters FAILURE on it.
 * Nothing is written here: the caller saves the model when the verdict is
 * LEARN_OK.
 *
 * Ownership: the caller owns params, data, reference and the model (m is
 * initialised here and must be released with ae_model_cleanup whatever
 * the result). Nothing here logs; the report and the training progress go
 * to `report` (NULL: none).
 *
 * Codes it returns (tree-wide, error.h): 0 (a verdict in res: LEARN_OK, or
 * a refusal with err), AM_EINVAL (bad parameters), AM_ENOMEM and the
 * training codes of ae_train.h. */
#ifndef ANOMESH_LEARN_H
#define ANOMESH_LEARN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ae.h"
#include "ae_eval.h"
#include "learn_data.h"

#define LEARN_MIN_TRAIN 50
#define LEARN_MIN_VAL 20

typedef struct learn_params {
	ae_eval_params m;     /* shape, training, state logic: the default model's */
	double holdout_frac;  /* tail held out to validate (0.2) */
	double min_s;         /* seconds of data at least (60) */
	double max_lost_frac; /* of the samples (0.01) */
	size_t max_gaps;      /* breaks in the stream (5) */
	double max_val_rate;  /* window anomaly rate of the tail (0.05) */
	int force;            /* learn what the reference calls anomalous */
} learn_params;

void learn_defaults(learn_params *p);

enum learn_verdict {
	LEARN_OK,
	LEARN_TOO_FEW,
	LEARN_GAPPY,
	LEARN_ANOMALOUS,
	LEARN_UNSTABLE,
};

/* "learned", "too few data", ... */
const char *learn_verdict_name(enum learn_verdict v);

typedef struct learn_result {
	enum learn_verdict verdict;
	double seconds, lost_frac;
	size_t head_rows, tail_rows;
	size_t n_train, n_thr, n_val; /* windows: trained on, threshold from, validated */
	float threshold;
	uint32_t epochs, best_epoch;
	double val_rate;
	size_t val_failures;
	int ref_checked;
	double ref_rate;
	size_t ref_failures;
	double ref_fail_at; /* seconds into the data of its first FAILURE */
} learn_result;

/* Check the data, train a model named name on the head, validate on the
 * tail (see above). Returns 0 with res->verdict, or a negative code. */
int learn_run(const learn_params *p, const learn_data *d, const ae_model *ref,
	      const char *name, ae_model *m, FILE *report, learn_result *res, char *err,
	      size_t errlen);

#endif
