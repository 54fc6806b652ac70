/* learn — checks, training and validation of one machine's model (see
 * learn.h). Every judgement on data goes through the code the live mesh
 * runs: windows through ae_score_rows, labels through common/state.h with
 * the alerter's parameters, so "the reference puts these data in FAILURE"
 * means the running mesh would have alerted on them. */
#include "learn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_eval_lpms.h"
#include "ae_train.h"

void learn_defaults(learn_params *p)
{
	memset(p, 0, sizeof(*p));
	ae_eval_lpms_defaults(&p->m); /* the default model's shape and training */
	p->holdout_frac = 0.2;
	p->min_s = 60;
	p->max_lost_frac = 0.01;
	p->max_gaps = 5;
	p->max_val_rate = 0.05;
}

const char *learn_verdict_name(enum learn_verdict v)
{
	switch (v) {
	case LEARN_OK:
		return "learned";
	case LEARN_TOO_FEW:
		return "refused: too few data";
	case LEARN_GAPPY:
		return "refused: gappy data";
	case LEARN_ANOMALOUS:
		return "refused: the data look anomalous already";
	case LEARN_UNSTABLE:
		return "refused: the held-out data do not look like the rest";
	}
	return "?";
}

/* Rows (every step-th of n) through m and the state logic, timed i / rate:
 * window anomaly rate, FAILURE entries and the time of the first. */
static int learn__replay(const ae_model *m, const ae_eval_params *p, const float *rows,
			 size_t n, size_t step, double rate, double *anom_rate,
			 size_t *entries, double *first_at, char *err, size_t errlen)
{
	size_t nc = m->n_channels, k = (n + step - 1) / step, anom = 0;
	float *r = malloc((k ? k : 1) * nc * sizeof(*r));
	double *t = malloc((k ? k : 1) * sizeof(*t));
	ae_eval_scored sc;
	int rc = AM_ENOMEM;

	*anom_rate = 0;
	*entries = 0;
	*first_at = -1;
	if (!r || !t)
		goto out;
	for (size_t i = 0; i < k; i++) {
		memcpy(r + i * nc, rows + i * step * nc, nc * sizeof(*r));
		t[i] = (double)(i * step) / rate;
	}
	rc = ae_eval_score(m, p, r, t, k, &sc, err, errlen);
	if (rc)
		goto out;
	for (size_t i = 0; i < sc.nw; i++) {
		state_transition tr;
		int a = sc.score[i] > m->threshold;
		anom += (size_t)a;
		if (state_push(&sc.sm, sc.t_end[i], a, &tr) == 1 &&
		    tr.to == STATE_FAILURE) {
			if (*entries == 0)
				*first_at = sc.t_end[i];
			(*entries)++;
		}
	}
	*anom_rate = sc.nw ? (double)anom / (double)sc.nw : 0.0;
	ae_eval_scored_cleanup(&sc);
out:
	free(r);
	free(t);
	return rc;
}

static int learn__progress(void *ud, uint32_t epoch, double tl, double vl)
{
	FILE *f = ud;
	if (f && (epoch == 1 || epoch % 10 == 0)) {
		fprintf(f, "  epoch %3u  train loss %.5f  held-out loss %.5f\n", epoch,
			tl, vl);
		fflush(f);
	}
	return 0;
}

/* Refuse with verdict v: res and err filled, 0 returned. */
#define LEARN__REFUSE(v, ...)                                                            \
	do {                                                                             \
		res->verdict = (v);                                                      \
		am_errf(err, errlen, __VA_ARGS__);                                       \
		return 0;                                                                \
	} while (0)

/* The checks on the data alone, and against the reference model. */
static int learn__check(const learn_params *p, const learn_data *d, const ae_model *ref,
			FILE *report, learn_result *res, char *err, size_t errlen)
{
	size_t step;
	enum ae_rate plan;
	int rc;

	res->seconds = learn_data_seconds(d);
	res->lost_frac = (double)d->lost / (double)(d->n + d->lost ? d->n + d->lost : 1);
	if (res->seconds < p->min_s)
		LEARN__REFUSE(LEARN_TOO_FEW, "%.1f s of data, at least %g s wanted",
			      res->seconds, p->min_s);
	if (res->lost_frac > p->max_lost_frac || d->n_gaps > p->max_gaps)
		LEARN__REFUSE(
		    LEARN_GAPPY,
		    "%zu gaps, %llu samples lost (%.1f %%): at most %zu gaps and "
		    "%g %% wanted",
		    d->n_gaps, (unsigned long long)d->lost, 100 * res->lost_frac,
		    p->max_gaps, 100 * p->max_lost_frac);
	if (!ref)
		return 0;
	plan = ae_rate_plan(ref->rate_hz, d->rate_hz, &step);
	if (ae_rate_refused(plan)) {
		if (report)
			fprintf(report, "reference  %s skipped: data at %g Hz, %s\n",
				ref->meta.name, d->rate_hz, ae_rate_name(plan));
		return 0;
	}
	rc = learn__replay(ref, &p->m, d->rows, d->n, step, d->rate_hz, &res->ref_rate,
			   &res->ref_failures, &res->ref_fail_at, err, errlen);
	if (rc)
		return rc;
	res->ref_checked = 1;
	if (report)
		fprintf(
		    report, "reference  %s: window anomaly rate %.1f %%, %zu FAILURE%s\n",
		    ref->meta.name, 100 * res->ref_rate, res->ref_failures,
		    res->ref_failures && p->force ? " (--force: learning anyway)" : "");
	if (res->ref_failures && !p->force)
		LEARN__REFUSE(LEARN_ANOMALOUS,
			      "the model serving the sensor now (%s) finds these data "
			      "anomalous: FAILURE %zu time(s), first %.0f s into them, "
			      "window anomaly rate %.1f %%; learn from normal operation "
			      "(or --force if that model does not know this machine)",
			      ref->meta.name, res->ref_failures, res->ref_fail_at,
			      100 * res->ref_rate);
	return 0;
}

int learn_run(const learn_params *p, const learn_data *d, const ae_model *ref,
	      const char *name, ae_model *m, FILE *report, learn_result *res, char *err,
	      size_t errlen)
{
	const char *chans[AE_MAX_CHANNELS];
	size_t nw_head, nw_tail;
	double val_fail_at;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(m, 0, sizeof(*m));
	if (!(p->holdout_frac > 0 && p->holdout_frac < 0.9) || d->n_channels == 0)
		return am_fail(err, errlen, AM_EINVAL, "bad learn parameters");
	for (size_t c = 0; c < d->n_channels; c++)
		chans[c] = d->channels[c];
	rc = learn__check(p, d, ref, report, res, err, errlen);
	if (rc || res->verdict != LEARN_OK)
		return rc;
	rc = ae_eval_model(m, &p->m, chans, d->n_channels, err, errlen);
	if (rc)
		return rc;
	res->tail_rows = (size_t)((double)d->n * p->holdout_frac);
	res->head_rows = d->n - res->tail_rows;
	nw_head = ae_window_count(res->head_rows, m->window, m->hop);
	nw_tail = ae_window_count(res->tail_rows, m->window, m->hop);
	ae_split_windows(m, nw_head, p->m.train.val_frac, &res->n_train, &res->n_thr);
	if (res->n_train < LEARN_MIN_TRAIN || nw_tail < LEARN_MIN_VAL)
		LEARN__REFUSE(
		    LEARN_TOO_FEW,
		    "%.1f s make %zu windows to train on and %zu to validate on: "
		    "at least %d and %d wanted",
		    res->seconds, res->n_train, nw_tail, LEARN_MIN_TRAIN, LEARN_MIN_VAL);
	if (report)
		fprintf(report,
			"training   on the first %zu rows (%.1f s), holding out %zu\n",
			res->head_rows, (double)res->head_rows / d->rate_hz,
			res->tail_rows);
	rc = ae_eval_fit(m, &p->m, d->rows, res->head_rows, learn__progress, report, err,
			 errlen);
	if (rc)
		return rc;
	m->rate_hz = d->rate_hz;
	for (size_t c = 0; c < m->n_channels; c++)
		snprintf(m->units[c], AE_UNIT_MAX, "%s",
			 ae_contract_unit(m->channels[c]));
	snprintf(m->meta.name, sizeof(m->meta.name), "%s", name);
	res->threshold = m->threshold;
	res->epochs = m->meta.epochs;
	res->best_epoch = m->meta.best_epoch;
	rc = learn__replay(m, &p->m, d->rows + res->head_rows * d->n_channels,
			   res->tail_rows, 1, d->rate_hz, &res->val_rate,
			   &res->val_failures, &val_fail_at, err, errlen);
	if (rc)
		return rc;
	res->n_val = nw_tail;
	if (report)
		fprintf(report,
			"validation on the last %zu rows (%.1f s, never trained on): %zu "
			"windows, anomaly rate %.1f %%, %zu FAILURE\n",
			res->tail_rows, (double)res->tail_rows / d->rate_hz, res->n_val,
			100 * res->val_rate, res->val_failures);
	if (res->val_rate > p->max_val_rate || res->val_failures > 0)
		LEARN__REFUSE(
		    LEARN_UNSTABLE,
		    "on the held-out last %.0f s the new model flags %.1f %% of "
		    "windows (at most %g %% wanted) and enters FAILURE %zu "
		    "time(s): the data change over the recording (a fault, or "
		    "another mode of operation); record longer or steadier",
		    (double)res->tail_rows / d->rate_hz, 100 * res->val_rate,
		    100 * p->max_val_rate, res->val_failures);
	return 0;
}
