/* ae_data — from a CSV table to training windows (see ae_data.h): channel
 * selection, the scaler, windowing and the time split. Windowing reuses
 * ae.h's ae_standardise and ae_make_windows, so training windows are cut
 * exactly as the scorer cuts live ones. */
#include "ae_data.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ae_rows_from_table(const ae_model *m, const csv_table *t, size_t max_rows,
		       float **rows, size_t *n_rows, char *err, size_t errlen)
{
	int idx[AE_MAX_CHANNELS];
	*rows = NULL;
	*n_rows = 0;
	for (size_t c = 0; c < m->n_channels; c++) {
		idx[c] = csv_col(t, m->channels[c]);
		if (idx[c] < 0) {
			snprintf(err, errlen, "channel '%s' not in the table",
				 m->channels[c]);
			return AM_ENODATA;
		}
		if (t->is_text[idx[c]]) {
			snprintf(err, errlen, "channel '%s' is not numeric",
				 m->channels[c]);
			return AM_ENODATA;
		}
	}
	size_t n = t->n_rows;
	if (max_rows && max_rows < n)
		n = max_rows;
	float *r = malloc((n ? n : 1) * m->n_channels * sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory for %zu rows", n);
		return AM_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t c = 0; c < m->n_channels; c++) {
			double v = t->values[i * t->n_cols + (size_t)idx[c]];
			if (!(fabs(v) <= FLT_MAX)) {
				snprintf(err, errlen,
					 "row %zu, channel '%s': %g out of range", i + 1,
					 m->channels[c], v);
				free(r);
				return AM_ENODATA;
			}
			r[i * m->n_channels + c] = (float)v;
		}
	}
	*rows = r;
	*n_rows = n;
	return 0;
}

static int ae_data__cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Quantile q of sorted v[0..n) (linear interpolation). */
static double ae_data__q(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
	return v[lo] + (pos - (double)lo) * (v[hi] - v[lo]);
}

int ae_fit_scaler_robust(ae_model *m, const float *rows, size_t n_rows, char *err,
			 size_t errlen)
{
	int rc = ae_fit_scaler(m, rows, n_rows, err, errlen); /* the fallback */
	size_t nc = m->n_channels;
	double *v = rc ? NULL : malloc(n_rows * sizeof *v);
	if (rc)
		return rc;
	if (!v) {
		snprintf(err, errlen, "out of memory for %zu rows", n_rows);
		return AM_ENOMEM;
	}
	for (size_t c = 0; c < nc; c++) {
		for (size_t i = 0; i < n_rows; i++)
			v[i] = rows[i * nc + c];
		qsort(v, n_rows, sizeof *v, ae_data__cmp_double);
		double med = ae_data__q(v, n_rows, 0.5);
		double iqr =
		    (ae_data__q(v, n_rows, 0.75) - ae_data__q(v, n_rows, 0.25)) / 1.349;
		m->mean[c] = (float)med;
		if (iqr > 1e-6 * fmax(1.0, fabs(med)))
			m->std[c] = (float)iqr;
	}
	free(v);
	snprintf(m->scaler, sizeof m->scaler, "median-iqr");
	return 0;
}

int ae_fit_scaler(ae_model *m, const float *rows, size_t n_rows, char *err, size_t errlen)
{
	if (n_rows < 2) {
		snprintf(err, errlen, "%zu rows: need at least 2 to fit the scaler",
			 n_rows);
		return AM_ENODATA;
	}
	size_t nc = m->n_channels;
	for (size_t c = 0; c < nc; c++) {
		double s = 0, ss = 0;
		for (size_t i = 0; i < n_rows; i++)
			s += rows[i * nc + c];
		double mean = s / (double)n_rows;
		for (size_t i = 0; i < n_rows; i++) {
			double d = rows[i * nc + c] - mean;
			ss += d * d;
		}
		double sd = sqrt(ss / (double)(n_rows - 1));
		double floor_ = 1e-6 * fmax(1.0, fabs(mean));
		m->mean[c] = (float)mean;
		m->std[c] = (sd < floor_ || !isfinite(sd)) ? 1.0f : (float)sd;
	}
	snprintf(m->scaler, sizeof m->scaler, "mean-std");
	return 0;
}

double ae_rate_from_times(const double *t, size_t n)
{
	size_t k = 0;
	double *d = n > 1 ? malloc((n - 1) * sizeof *d) : NULL;
	if (!d)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (t[i] > t[i - 1] && isfinite(t[i] - t[i - 1]))
			d[k++] = t[i] - t[i - 1];
	double rate = 0;
	if (k > 0) {
		qsort(d, k, sizeof *d, ae_data__cmp_double);
		rate = round(1000.0 / d[k / 2]) / 1000.0;
	}
	free(d);
	return rate;
}

const char *ae_contract_unit(const char *channel)
{
	static const struct {
		const char *prefix, *unit;
	} units[] = {
	    {"linacc_", "g"},        {"acc_", "g"},       {"gyr_", "deg/s"},
	    {"angvel_", "deg/s"},    {"mag_", "uT"},      {"euler_", "deg"},
	    {"quat_", "1"},          {"pressure", "kPa"}, {"altitude", "m"},
	    {"temperature", "degC"}, {"heave", "m"},
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t n = strlen(units[i].prefix);
		int axis = units[i].prefix[n - 1] == '_';
		if (strncmp(channel, units[i].prefix, n) == 0 &&
		    (axis ? strlen(channel) == n + 1 && strchr("wxyz", channel[n])
			  : channel[n] == '\0'))
			return units[i].unit;
	}
	return "";
}

int ae_windows_from_rows(const ae_model *m, const float *rows, size_t n_rows,
			 float **windows, size_t *n_windows, char *err, size_t errlen)
{
	size_t nw = ae_window_count(n_rows, m->window, m->hop);
	size_t in = ae_input_size(m);
	float *st = malloc((n_rows ? n_rows : 1) * m->n_channels * sizeof *st);
	float *win = malloc((nw ? nw : 1) * in * sizeof *win);
	*windows = NULL;
	*n_windows = 0;
	if (!st || !win) {
		free(st);
		free(win);
		snprintf(err, errlen, "out of memory for %zu windows", nw);
		return AM_ENOMEM;
	}
	ae_standardise(m, rows, n_rows, st);
	ae_make_windows(m, st, n_rows, win);
	free(st);
	*windows = win;
	*n_windows = nw;
	return 0;
}

void ae_split_windows(const ae_model *m, size_t n_windows, double val_frac,
		      size_t *n_train, size_t *n_val)
{
	size_t nv = (size_t)((double)n_windows * val_frac);
	size_t gap = (m->window + m->hop - 1) / m->hop - 1;
	*n_train = n_windows;
	*n_val = 0;
	if (nv > 0 && nv + gap < n_windows) {
		*n_train = n_windows - nv - gap;
		*n_val = nv;
	}
}
