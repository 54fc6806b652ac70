/* ae_eval_lpms — the LPMS-B2 evaluation (see ae_eval_lpms.h): one model
 * fitted on the normal recording's head, then the pre-fail recording and
 * the held-out tail each scored through their own state machine. */
#include "ae_eval_lpms.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_train.h"
#include "csv.h"

/* LPMS-B2 at 50 Hz: the original system's model (window 200, hop 10, 50
 * tanh units over linacc_x/y/z) trained as `make models` trains it (the
 * training defaults, unchanged), the state defaults (10 s span). */
void ae_eval_lpms_defaults(ae_eval_params *p)
{
	memset(p, 0, sizeof *p);
	p->window = 200;
	p->hop = 10;
	p->hidden[0] = 50;
	p->n_hidden = 1;
	p->act = AE_ACT_TANH;
	ae_train_defaults(&p->train);
	state_defaults(&p->state);
	p->train_rows = 0;
	p->tail_frac = 0.2;
	p->bin_s = 5;
}

static const char *const ae_eval_lpms__linacc[] = {"linacc_x", "linacc_y", "linacc_z"};

/* Rows and times (the timestamp column) of a recording. */
static int ae_eval_lpms__recording(const ae_model *m, const char *path, float **rows,
				   double **times, size_t *n, char *err, size_t errlen)
{
	csv_table t;
	int rc = csv_read_file(path, &t, err, errlen);
	if (rc)
		return rc;
	rc = ae_rows_from_table(m, &t, 0, rows, n, err, errlen);
	if (rc)
		goto out;
	int ct = csv_col(&t, "timestamp");
	*times = malloc((*n ? *n : 1) * sizeof **times);
	if (!*times) {
		free(*rows);
		*rows = NULL;
		rc = AM_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < *n; i++)
		(*times)[i] = ct >= 0 && !t.is_text[ct]
				  ? t.values[i * t.n_cols + (size_t)ct]
				  : (double)i / 50.0;
out:
	csv_free(&t);
	return rc;
}

/* Score a recording and run its state machine; report bins and stretches.
 * Returns the FAILURE stretches in st (up to AE_EVAL_MAX_STRETCHES). */
static int ae_eval_lpms__run(const ae_model *m, const ae_eval_params *p,
			     const float *rows, const double *t, size_t n, FILE *report,
			     ae_eval_stretch *st, size_t *n_st, size_t *entries,
			     double *rate, size_t *n_windows, double *end, int *open,
			     char *err, size_t errlen)
{
	ae_eval_scored sc;
	int rc = ae_eval_score(m, p, rows, t, n, &sc, err, errlen);
	if (rc)
		return rc;
	size_t nw = sc.nw;
	*n_st = 0;
	*entries = 0;
	size_t anom = 0, bin_n = 0, bin_a = 0;
	double bin_start = nw ? t[m->window - 1] : 0, last_t = 0;
	if (report && p->bin_s > 0)
		fprintf(report, "  %8s %8s %7s %5s  %s\n", "t_s", "windows", "rate", "",
			"state");
	for (size_t i = 0; i < nw; i++) {
		double te = sc.t_end[i];
		last_t = te;
		int a = sc.score[i] > m->threshold;
		anom += (size_t)a;
		state_transition tr;
		if (state_push(&sc.sm, te, a, &tr) == 1) {
			if (tr.to == STATE_FAILURE) {
				(*entries)++;
				if (*n_st < AE_EVAL_MAX_STRETCHES)
					st[(*n_st)++] = (ae_eval_stretch){te, -1};
			} else if (*n_st > 0 && st[*n_st - 1].end < 0) {
				st[*n_st - 1].end = te;
			}
		}
		if (report && p->bin_s > 0) {
			if (te >= bin_start + p->bin_s) {
				char bar[41];
				size_t k = bin_n ? (40 * bin_a + bin_n / 2) / bin_n : 0;
				memset(bar, '#', k);
				bar[k] = '\0';
				fprintf(report, "  %8.1f %8zu %7.3f %5s  %-7s |%s\n",
					bin_start, bin_n,
					bin_n ? (double)bin_a / (double)bin_n : 0.0, "",
					state_name(state_get(&sc.sm)), bar);
				bin_start +=
				    p->bin_s * floor((te - bin_start) / p->bin_s);
				bin_n = bin_a = 0;
			}
			bin_n++;
			bin_a += (size_t)a;
		}
	}
	if (report && p->bin_s > 0 && bin_n > 0)
		fprintf(report, "  %8.1f %8zu %7.3f %5s  %-7s\n", bin_start, bin_n,
			(double)bin_a / (double)bin_n, "", state_name(state_get(&sc.sm)));
	*open = *n_st > 0 && st[*n_st - 1].end < 0;
	if (*open)
		st[*n_st - 1].end = last_t;
	*end = last_t;
	*rate = nw ? (double)anom / (double)nw : 0.0;
	*n_windows = nw;
	ae_eval_scored_cleanup(&sc);
	return 0;
}

static int ae_eval_lpms__progress(void *ud, uint32_t epoch, double tl, double vl)
{
	FILE *f = ud;
	if (f && (epoch % 20 == 0 || epoch == 1))
		fprintf(f, "  epoch %3u  train %.5f  val %.5f\n", epoch, tl, vl);
	return 0;
}

int ae_eval_lpms(const ae_eval_params *p, const char *normal_csv, const char *prefail_csv,
		 FILE *report, ae_eval_lpms_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof *res);
	ae_model m;
	float *nrows = NULL, *prows = NULL;
	double *nt = NULL, *pt = NULL;
	size_t nn = 0, np = 0;
	const char *chans[AE_MAX_CHANNELS];
	size_t nch = 0;
	for (size_t c = 0; c < p->n_channels; c++)
		chans[nch++] = p->channels[c];
	if (nch == 0)
		for (; nch < 3; nch++)
			chans[nch] = ae_eval_lpms__linacc[nch];
	int rc = ae_eval_model(&m, p, chans, nch, err, errlen);
	if (rc)
		return rc;
	rc = ae_eval_lpms__recording(&m, normal_csv, &nrows, &nt, &nn, err, errlen);
	if (rc)
		goto out;
	rc = ae_eval_lpms__recording(&m, prefail_csv, &prows, &pt, &np, err, errlen);
	if (rc)
		goto out;
	size_t tail = (size_t)((double)nn * p->tail_frac);
	size_t head = nn - tail;
	if (head < 2 * m.window || tail < m.window) {
		snprintf(err, errlen,
			 "%s: %zu rows too few for a %zu-row tail and training",
			 normal_csv, nn, tail);
		rc = AM_ENODATA;
		goto out;
	}
	if (report)
		fprintf(report,
			"training on %s rows 1..%zu (%.1f s), holding out %zu rows\n",
			normal_csv, head, nt[head - 1] - nt[0], tail);
	rc = ae_fit(&m, nrows, head, &p->train, ae_eval_lpms__progress, report, err,
		    errlen);
	if (rc)
		goto out;
	res->threshold = m.threshold;
	if (report)
		fprintf(report, "threshold %.5f (%s), best epoch %u of %u\n\n%s:\n",
			m.threshold, m.meta.thr_method, m.meta.best_epoch, m.meta.epochs,
			prefail_csv);
	size_t entries = 0, nw = 0;
	rc = ae_eval_lpms__run(&m, p, prows, pt, np, report, res->fail, &res->n_fail,
			       &entries, &res->prefail_rate, &nw, &res->rec_end,
			       &res->open_at_end, err, errlen);
	if (rc)
		goto out;
	if (report) {
		fprintf(
		    report,
		    "pre-fail: %zu windows, anomaly rate %.3f, %zu FAILURE stretches:\n",
		    nw, res->prefail_rate, res->n_fail);
		for (size_t i = 0; i < res->n_fail; i++)
			fprintf(report, "  FAILURE %7.1f s .. %7.1f s  (%.1f s)\n",
				res->fail[i].start, res->fail[i].end,
				res->fail[i].end - res->fail[i].start);
		fprintf(report, "\nheld-out normal tail (%zu rows):\n", tail);
	}
	ae_eval_stretch ts[AE_EVAL_MAX_STRETCHES];
	size_t n_ts = 0;
	double tail_end;
	int tail_open;
	rc = ae_eval_lpms__run(&m, p, nrows + head * nch, nt + head, tail, report, ts,
			       &n_ts, &res->tail_failures, &res->tail_rate,
			       &res->tail_windows, &tail_end, &tail_open, err, errlen);
	if (rc)
		goto out;
	if (report)
		fprintf(report,
			"tail: %zu windows, anomaly rate %.3f, FAILURE entries %zu\n",
			res->tail_windows, res->tail_rate, res->tail_failures);
out:
	free(nrows);
	free(prows);
	free(nt);
	free(pt);
	ae_model_cleanup(&m);
	return rc;
}

int ae_eval_lpms_replay(const ae_eval_params *p, const ae_model *m, const char *csv,
			FILE *report, ae_eval_stretch *st, size_t *n_st, double *rate,
			char *err, size_t errlen)
{
	float *rows = NULL;
	double *t = NULL;
	size_t n = 0, entries, nw;
	double end;
	int open;
	int rc = ae_eval_lpms__recording(m, csv, &rows, &t, &n, err, errlen);
	if (rc)
		return rc;
	if (n < m->window) {
		rc = am_fail(err, errlen, AM_ENODATA, "%s: %zu rows, fewer than a window",
			     csv, n);
		goto out;
	}
	rc = ae_eval_lpms__run(m, p, rows, t, n, report, st, n_st, &entries, rate, &nw,
			       &end, &open, err, errlen);
out:
	free(rows);
	free(t);
	return rc;
}
