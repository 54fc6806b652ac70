/* ae_eval_baseline — causal per-channel baselines subtracted before the
 * model (see ae_eval_baseline.h). The median is a quickselect over a copy
 * of the window for each row and channel: SKAB's files are ~1,200 rows, so
 * the plain way is fast enough and obviously right. */
#include "ae_eval_baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ae_eval_baseline__names[] = {"none", "ewma", "median"};

const char *ae_eval_baseline_name(int kind)
{
	return kind >= 0 && kind <= AE_EVAL_BASELINE_MEDIAN
		   ? ae_eval_baseline__names[kind]
		   : "?";
}

int ae_eval_baseline_parse(const char *s, int *kind)
{
	for (int k = 0; s && k <= AE_EVAL_BASELINE_MEDIAN; k++)
		if (strcmp(s, ae_eval_baseline__names[k]) == 0) {
			*kind = k;
			return 0;
		}
	return -1;
}

/* The median of v[0..n) (reordered); n >= 1. The upper median when n is
 * even, as a quickselect gives it. */
static float ae_eval_baseline__median(float *v, size_t n)
{
	size_t lo = 0, hi = n - 1, k = n / 2;
	while (lo < hi) {
		float pivot = v[(lo + hi) / 2];
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				float t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/* Channel c's median over rows [from, to) into *out, with scratch. */
static float ae_eval_baseline__col_median(const float *rows, size_t nch, size_t c,
					  size_t from, size_t to, float *scratch)
{
	for (size_t r = from; r < to; r++)
		scratch[r - from] = rows[r * nch + c];
	return ae_eval_baseline__median(scratch, to - from);
}

int ae_eval_baseline(const ae_eval_baseline_params *b, float *rows, size_t n, size_t nch,
		     size_t init_rows, char *err, size_t errlen)
{
	if (b->kind == AE_EVAL_BASELINE_NONE)
		return 0;
	if (b->rows == 0 || init_rows == 0 || n == 0 || nch == 0) {
		snprintf(err, errlen,
			 "baseline %s: needs rows > 0 and data to start from",
			 ae_eval_baseline_name(b->kind));
		return AM_EINVAL;
	}
	size_t init = init_rows < n ? init_rows : n;
	size_t scratch_n = init > b->rows ? init : b->rows;
	float *scratch = malloc(scratch_n * sizeof *scratch);
	float *orig =
	    b->kind == AE_EVAL_BASELINE_MEDIAN ? malloc(n * sizeof *orig) : NULL;
	if (!scratch || (b->kind == AE_EVAL_BASELINE_MEDIAN && !orig)) {
		free(scratch);
		free(orig);
		snprintf(err, errlen, "baseline: out of memory");
		return AM_ENOMEM;
	}
	for (size_t c = 0; c < nch; c++) {
		float start =
		    ae_eval_baseline__col_median(rows, nch, c, 0, init, scratch);
		if (b->kind == AE_EVAL_BASELINE_EWMA) {
			double base = start, a = 1.0 / (double)b->rows;
			for (size_t r = 0; r < n; r++) {
				double x = rows[r * nch + c];
				rows[r * nch + c] = (float)(x - base);
				base += a * (x - base);
			}
			continue;
		}
		for (size_t r = 0; r < n; r++)
			orig[r] = rows[r * nch + c];
		for (size_t r = 0; r < n; r++) {
			size_t from = r > b->rows ? r - b->rows : 0;
			float base = r < AE_EVAL_BASELINE_MIN_HISTORY
					 ? start
					 : ae_eval_baseline__col_median(orig, 1, 0, from,
									r, scratch);
			rows[r * nch + c] = orig[r] - base;
		}
	}
	free(scratch);
	free(orig);
	return 0;
}
