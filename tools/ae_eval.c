/* ae_eval — what both evaluations share (see ae_eval.h): a fresh model of
 * the evaluation's shape, and one scored recording (window scores, window
 * end times, a state machine) built the same way for SKAB and LPMS. */
#include "ae_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ae_eval_model(ae_model *m, const ae_eval_params *p, const char *const *channels,
		  size_t n_channels, char *err, size_t errlen)
{
	size_t hidden[AE_MAX_LAYERS], n_hidden = p->n_hidden;
	memcpy(hidden, p->hidden, p->n_hidden * sizeof *hidden);
	if (p->conv.n_enc) {
		int rc =
		    ae_conv_hidden(&p->conv, p->window, hidden, &n_hidden, err, errlen);
		if (rc)
			return rc;
	}
	ae_spec s = {channels, n_channels, p->window, p->hop,
		     hidden,   n_hidden,   p->act,    AE_ACT_LINEAR};
	return ae_model_init(m, &s, err, errlen);
}

int ae_eval_fit(ae_model *m, const ae_eval_params *p, const float *rows, size_t n_rows,
		ae_progress_fn progress, void *ud, char *err, size_t errlen)
{
	ae_train_opts o = p->train;
	int32_t *tie = NULL;
	int rc;
	if (p->conv.n_enc) {
		rc = ae_conv_ties(m, &p->conv, &tie, err, errlen);
		if (rc)
			return rc;
		o.tie = tie;
	}
	rc = ae_fit(m, rows, n_rows, &o, progress, ud, err, errlen);
	free(tie);
	return rc;
}

void ae_eval_scored_cleanup(ae_eval_scored *s)
{
	free(s->score);
	free(s->ch);
	free(s->t_end);
	s->score = NULL;
	s->ch = NULL;
	s->t_end = NULL;
	state_cleanup(&s->sm);
}

int ae_eval_score(const ae_model *m, const ae_eval_params *p, const float *rows,
		  const double *t, size_t n, ae_eval_scored *s, char *err, size_t errlen)
{
	ae_work w;
	double last_t = -INFINITY;
	int rc;

	memset(s, 0, sizeof *s);
	rc = state_init(&s->sm, &p->state, err, errlen);
	if (rc)
		return rc;
	rc = ae_work_init(&w, m, 256, err, errlen);
	if (rc) {
		state_cleanup(&s->sm);
		return rc;
	}
	s->nw = ae_window_count(n, m->window, m->hop);
	s->score = malloc((s->nw ? s->nw : 1) * sizeof *s->score);
	s->ch = malloc((s->nw ? s->nw : 1) * m->n_channels * sizeof *s->ch);
	s->t_end = malloc((s->nw ? s->nw : 1) * sizeof *s->t_end);
	if (!s->score || !s->ch || !s->t_end ||
	    ae_score_rows_ch(m, rows, n, s->score, s->ch, &w) < 0) {
		snprintf(err, errlen, "out of memory scoring %zu rows", n);
		rc = AM_ENOMEM;
		ae_eval_scored_cleanup(s);
		goto out;
	}
	for (size_t i = 0; i < s->nw; i++) {
		double te = t[i * m->hop + m->window - 1];
		if (te < last_t)
			te = last_t;
		last_t = te;
		s->t_end[i] = te;
	}
out:
	ae_work_cleanup(&w);
	return rc;
}
