/* ae_eval_lpms — the LPMS-B2 evaluation (see ae_eval_lpms.h): one model
 * fitted on the normal recording's head, then the pre-fail recording and
 * the held-out tail each scored through their own state machine. */
#include "ae_eval_lpms.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* What one recording's run gives. */
typedef struct ae_eval_lpms__out {
	ae_eval_stretch *st; /* FAILURE stretches (AE_EVAL_MAX_STRETCHES) */
	size_t n_st, entries, n_windows;
	double rate, end; /* window anomaly rate; end time of the last window */
	int open;         /* the last stretch was still on at the end */
} ae_eval_lpms__out;

/* A recording's truth for plots: linacc_x energy bins (NULL: none). */
typedef struct ae_eval_lpms__truth {
	const double *rms;
	size_t n;
} ae_eval_lpms__truth;

/* One window's row of the CSV for plots. */
static void ae_eval_lpms__csv_row(FILE *csv, const ae_model *m, const ae_eval_scored *sc,
				  size_t i, int a, int failure,
				  const ae_eval_lpms__truth *tr)
{
	double te = sc->t_end[i];
	size_t b = te > 0 ? (size_t)(te / AE_EVAL_LPMS_BIN_S) : 0;
	int truth = tr && b < tr->n && tr->rms[b] > AE_EVAL_LPMS_LEVEL_G;
	fprintf(csv, "%.4f,%.6g,%d,%d,%.6g,%d", te, sc->score[i], a, failure,
		(double)m->threshold, truth);
	for (size_t c = 0; c < m->n_channels; c++)
		fprintf(csv, ",%.4f",
			sc->score[i] > 0 ? sc->ch[i * m->n_channels + c] / sc->score[i]
					 : 0.0);
	fprintf(csv, "\n");
}

/* Score a recording and run its state machine; report bins and stretches,
 * write the windows to csv (NULL: none). */
static int ae_eval_lpms__run(const ae_model *m, const ae_eval_params *p,
			     const float *rows, const double *t, size_t n, FILE *report,
			     FILE *csv, const ae_eval_lpms__truth *tr,
			     ae_eval_lpms__out *o, char *err, size_t errlen)
{
	ae_eval_scored sc;
	int rc = ae_eval_score(m, p, rows, t, n, &sc, err, errlen);
	if (rc)
		return rc;
	size_t nw = sc.nw;
	o->n_st = 0;
	o->entries = 0;
	size_t anom = 0, bin_n = 0, bin_a = 0;
	double bin_start = nw ? t[m->window - 1] : 0, last_t = 0;
	if (report && p->bin_s > 0)
		fprintf(report, "  %8s %8s %7s %5s  %s\n", "t_s", "windows", "rate", "",
			"state");
	if (csv) {
		fprintf(csv, "t,score,anomaly,state,threshold,truth");
		for (size_t c = 0; c < m->n_channels; c++)
			fprintf(csv, ",share_%s", m->channels[c]);
		fprintf(csv, "\n");
	}
	for (size_t i = 0; i < nw; i++) {
		double te = sc.t_end[i];
		last_t = te;
		int a = sc.score[i] > m->threshold;
		anom += (size_t)a;
		state_transition tr_;
		if (state_push(&sc.sm, te, a, &tr_) == 1) {
			if (tr_.to == STATE_FAILURE) {
				o->entries++;
				if (o->n_st < AE_EVAL_MAX_STRETCHES)
					o->st[o->n_st++] = (ae_eval_stretch){te, -1};
			} else if (o->n_st > 0 && o->st[o->n_st - 1].end < 0) {
				o->st[o->n_st - 1].end = te;
			}
		}
		if (csv)
			ae_eval_lpms__csv_row(csv, m, &sc, i, a,
					      state_get(&sc.sm) == STATE_FAILURE, tr);
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
	o->open = o->n_st > 0 && o->st[o->n_st - 1].end < 0;
	if (o->open)
		o->st[o->n_st - 1].end = last_t;
	o->end = last_t;
	o->rate = nw ? (double)anom / (double)nw : 0.0;
	o->n_windows = nw;
	ae_eval_scored_cleanup(&sc);
	return 0;
}

int ae_eval_lpms_energy(const char *csv, const char *channel, double bin_s, double *rms,
			size_t max, size_t *n, char *err, size_t errlen)
{
	csv_table t;
	size_t used = 0;
	double *ss = NULL;
	size_t *cnt = NULL;
	int cx, ct, rc = csv_read_file(csv, &t, err, errlen);
	*n = 0;
	if (rc)
		return rc;
	cx = csv_col(&t, channel);
	ct = csv_col(&t, "timestamp");
	ss = calloc(AE_EVAL_LPMS_MAX_BINS, sizeof(*ss));
	cnt = calloc(AE_EVAL_LPMS_MAX_BINS, sizeof(*cnt));
	if (!ss || !cnt) {
		rc = am_fail(err, errlen, AM_ENOMEM, "out of memory");
		goto out;
	}
	if (cx < 0 || ct < 0 || t.is_text[cx] || t.is_text[ct] || !(bin_s > 0)) {
		rc = am_fail(err, errlen, AM_EFORMAT, "%s: no numeric %s and timestamp",
			     csv, channel);
		goto out;
	}
	for (size_t r = 0; r < t.n_rows; r++) {
		double tt = t.values[r * t.n_cols + (size_t)ct];
		double x = t.values[r * t.n_cols + (size_t)cx];
		double b = tt < 0 ? 0 : floor(tt / bin_s);
		if (!isfinite(b) || b >= AE_EVAL_LPMS_MAX_BINS) {
			rc = am_fail(err, errlen, AM_EFORMAT,
				     "%s: timestamp %g beyond %d bins", csv, tt,
				     AE_EVAL_LPMS_MAX_BINS);
			goto out;
		}
		ss[(size_t)b] += x * x;
		cnt[(size_t)b]++;
		if ((size_t)b + 1 > used)
			used = (size_t)b + 1;
	}
	for (size_t b = 0; b < used && b < max; b++)
		rms[b] = cnt[b] ? sqrt(ss[b] / (double)cnt[b]) : 0.0;
	*n = used < max ? used : max;
out:
	free(ss);
	free(cnt);
	csv_free(&t);
	return rc;
}

int ae_eval_lpms_truth(const char *csv, ae_eval_stretch *st, size_t max, size_t *n,
		       char *err, size_t errlen)
{
	double *rms = malloc(AE_EVAL_LPMS_MAX_BINS * sizeof(*rms));
	size_t used = 0, k = 0;
	int rc, in = 0;
	*n = 0;
	if (!rms)
		return am_fail(err, errlen, AM_ENOMEM, "out of memory");
	rc = ae_eval_lpms_energy(csv, "linacc_x", AE_EVAL_LPMS_BIN_S, rms,
				 AE_EVAL_LPMS_MAX_BINS, &used, err, errlen);
	for (size_t b = 0; !rc && b < used; b++) {
		int hot = rms[b] > AE_EVAL_LPMS_LEVEL_G;
		double t0 = (double)b * AE_EVAL_LPMS_BIN_S;
		if (hot && !in && k < max)
			st[k++] = (ae_eval_stretch){t0, t0 + AE_EVAL_LPMS_BIN_S};
		else if (hot && in && k > 0)
			st[k - 1].end = t0 + AE_EVAL_LPMS_BIN_S;
		in = hot;
	}
	*n = k;
	free(rms);
	return rc;
}

int ae_eval_lpms_verdict(const ae_eval_lpms_result *r, const ae_eval_stretch *truth,
			 size_t n_truth, char *why, size_t len)
{
	if (r->tail_failures)
		return am_errf(why, len,
			       "FAILURE %zu time(s) on the held-out normal tail",
			       r->tail_failures),
		       0;
	if (r->n_fail != n_truth)
		return am_errf(why, len,
			       "%zu FAILURE stretches for %zu failure stretches",
			       r->n_fail, n_truth),
		       0;
	for (size_t h = 0; h < n_truth; h++) {
		const ae_eval_stretch *f = &r->fail[h], *t = &truth[h];
		double enter_by = fmax(t->start, r->fail[0].start) + AE_EVAL_LPMS_ENTER_S;
		int last = h + 1 == n_truth;
		if (f->start < t->start || f->start > enter_by)
			return am_errf(why, len,
				       "stretch %.0f..%.0f s: FAILURE entered at %.1f s, "
				       "not within %.0f..%.0f s",
				       t->start, t->end, f->start, t->start, enter_by),
			       0;
		if (last && t->end + AE_EVAL_LPMS_LEAVE_S > r->rec_end) {
			if (!r->open_at_end)
				return am_errf(why, len,
					       "the last stretch's FAILURE ended before "
					       "the recording did"),
				       0;
		} else if (f->end < t->end || f->end > t->end + AE_EVAL_LPMS_LEAVE_S ||
			   (!last && f->end >= r->fail[h + 1].start)) {
			return am_errf(
				   why, len,
				   "stretch %.0f..%.0f s: FAILURE left at %.1f s, not "
				   "within %.0f..%.0f s",
				   t->start, t->end, f->end, t->end,
				   t->end + AE_EVAL_LPMS_LEAVE_S),
			       0;
		}
	}
	return am_errf(why, len,
		       "%zu FAILURE stretches, one per failure stretch, each entered and "
		       "left in time; none on the held-out normal tail",
		       r->n_fail),
	       1;
}

/* out_dir/name opened for writing (NULL out_dir: NULL, no error). */
static int ae_eval_lpms__open(const char *out_dir, const char *name, FILE **f, char *err,
			      size_t errlen)
{
	char path[4096];
	*f = NULL;
	if (!out_dir)
		return 0;
	if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
		return am_fail(err, errlen, AM_EIO, "%s: %s", out_dir, strerror(errno));
	snprintf(path, sizeof path, "%s/%s", out_dir, name);
	*f = fopen(path, "w");
	return *f ? 0 : am_fail(err, errlen, AM_EIO, "%s: %s", path, strerror(errno));
}

static int ae_eval_lpms__progress(void *ud, uint32_t epoch, double tl, double vl)
{
	FILE *f = ud;
	if (f && (epoch % 20 == 0 || epoch == 1))
		fprintf(f, "  epoch %3u  train %.5f  val %.5f\n", epoch, tl, vl);
	return 0;
}

int ae_eval_lpms(const ae_eval_params *p, const char *normal_csv, const char *prefail_csv,
		 const char *out_dir, FILE *report, ae_eval_lpms_result *res, char *err,
		 size_t errlen)
{
	memset(res, 0, sizeof *res);
	FILE *csv = NULL;
	double rms[AE_EVAL_LPMS_MAX_BINS];
	ae_eval_lpms__truth tr = {rms, 0};
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
	rc = ae_eval_fit(&m, p, nrows, head, ae_eval_lpms__progress, report, err, errlen);
	if (rc)
		goto out;
	res->threshold = m.threshold;
	if (report)
		fprintf(report, "threshold %.5f (%s), best epoch %u of %u\n\n%s:\n",
			m.threshold, m.meta.thr_method, m.meta.best_epoch, m.meta.epochs,
			prefail_csv);
	rc = ae_eval_lpms_energy(prefail_csv, "linacc_x", AE_EVAL_LPMS_BIN_S, rms,
				 AE_EVAL_LPMS_MAX_BINS, &tr.n, err, errlen);
	if (!rc)
		rc = ae_eval_lpms__open(out_dir, "prefail.csv", &csv, err, errlen);
	if (rc)
		goto out;
	ae_eval_lpms__out o = {.st = res->fail};
	rc = ae_eval_lpms__run(&m, p, prows, pt, np, report, csv, &tr, &o, err, errlen);
	if (rc)
		goto out;
	res->n_fail = o.n_st;
	res->prefail_rate = o.rate;
	res->rec_end = o.end;
	res->open_at_end = o.open;
	size_t nw = o.n_windows;
	if (csv && fclose(csv) != 0) {
		csv = NULL;
		rc = am_fail(err, errlen, AM_EIO, "%s/prefail.csv: %s", out_dir,
			     strerror(errno));
		goto out;
	}
	csv = NULL;
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
	ae_eval_lpms__out to = {.st = ts};
	rc = ae_eval_lpms__open(out_dir, "normal-tail.csv", &csv, err, errlen);
	if (!rc)
		rc = ae_eval_lpms__run(&m, p, nrows + head * nch, nt + head, tail, report,
				       csv, NULL, &to, err, errlen);
	if (rc)
		goto out;
	res->tail_failures = to.entries;
	res->tail_rate = to.rate;
	res->tail_windows = to.n_windows;
	if (report)
		fprintf(report,
			"tail: %zu windows, anomaly rate %.3f, FAILURE entries %zu\n",
			res->tail_windows, res->tail_rate, res->tail_failures);
out:
	if (csv && fclose(csv) != 0 && !rc)
		rc = am_fail(err, errlen, AM_EIO, "%s: write: %s", out_dir,
			     strerror(errno));
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
	size_t n = 0;
	ae_eval_lpms__out o = {.st = st};
	int rc = ae_eval_lpms__recording(m, csv, &rows, &t, &n, err, errlen);
	if (rc)
		return rc;
	if (n < m->window) {
		rc = am_fail(err, errlen, AM_ENODATA, "%s: %zu rows, fewer than a window",
			     csv, n);
		goto out;
	}
	rc = ae_eval_lpms__run(m, p, rows, t, n, report, NULL, NULL, &o, err, errlen);
	*n_st = o.n_st;
	*rate = o.rate;
out:
	free(rows);
	free(t);
	return rc;
}

int ae_eval_lpms_check(const ae_eval_params *p, const char *dir, const char *out_dir,
		       FILE *report, char *err, size_t errlen)
{
	char normal[4096], prefail[4096], why[256];
	ae_eval_stretch truth[AE_EVAL_MAX_STRETCHES];
	ae_eval_lpms_result r;
	size_t n_truth = 0;
	int rc, ok;
	snprintf(normal, sizeof normal, "%s/normal_20170202_2229.csv", dir);
	snprintf(prefail, sizeof prefail, "%s/pre-fail_20170202_2234.csv", dir);
	rc = ae_eval_lpms(p, normal, prefail, out_dir, report, &r, err, errlen);
	if (!rc)
		rc = ae_eval_lpms_truth(prefail, truth, AE_EVAL_MAX_STRETCHES, &n_truth,
					err, errlen);
	if (rc)
		return rc;
	ok = ae_eval_lpms_verdict(&r, truth, n_truth, why, sizeof why);
	fprintf(report, "\n%s: %s (the verdict test_ae_lpms asserts)\n",
		ok ? "PASS" : "FAIL", why);
	return ok ? 0 : 1;
}
