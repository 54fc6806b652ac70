/* truth — failure stretches of a recording from its energy (truth.h). */
#include "truth.h"

#include "csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int truth_energy_bins(const char *path, const char *channel, double bin_s, double *rms,
		      size_t max, size_t *n)
{
	csv_table t;
	char err[256];
	double *ss;
	size_t *cnt, used = 0;
	int cx, ct, rc = -1;

	*n = 0;
	if (!(bin_s > 0)) {
		fprintf(stderr, "truth: bin_s must be > 0\n");
		return -1;
	}
	if (csv_read_file(path, &t, err, sizeof err)) {
		fprintf(stderr, "truth: %s\n", err);
		return -1;
	}
	cx = csv_col(&t, channel);
	ct = csv_col(&t, "timestamp");
	ss = calloc(TRUTH_MAX_BINS, sizeof(*ss));
	cnt = calloc(TRUTH_MAX_BINS, sizeof(*cnt));
	if (cx < 0 || ct < 0 || !ss || !cnt) {
		fprintf(stderr, "truth: %s: no %s/timestamp column (or no memory)\n",
			path, channel);
		goto out;
	}
	for (size_t r = 0; r < t.n_rows; r++) {
		double tt = t.values[r * t.n_cols + (size_t)ct];
		double x = t.values[r * t.n_cols + (size_t)cx];
		double b = tt < 0 ? 0 : floor(tt / bin_s);
		if (!isfinite(b) || b >= TRUTH_MAX_BINS) {
			fprintf(stderr, "truth: %s: timestamp %g beyond %d bins\n", path,
				tt, TRUTH_MAX_BINS);
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
	rc = 0;
out:
	csv_free(&t);
	free(ss);
	free(cnt);
	return rc;
}

int truth_energy_stretches(const char *path, const char *channel, double bin_s,
			   double rms_min, truth_stretch *out, size_t max, size_t *n)
{
	double *rms = malloc(TRUTH_MAX_BINS * sizeof(*rms));
	size_t used = 0, k = 0;
	int in = 0;

	*n = 0;
	if (!rms || truth_energy_bins(path, channel, bin_s, rms, TRUTH_MAX_BINS, &used)) {
		free(rms);
		return -1;
	}
	for (size_t b = 0; b < used; b++) {
		int hot = rms[b] > rms_min;
		if (hot && !in && k < max)
			out[k++] =
			    (truth_stretch){(double)b * bin_s, (double)(b + 1) * bin_s};
		else if (hot && in && k > 0)
			out[k - 1].end = (double)(b + 1) * bin_s;
		in = hot;
	}
	*n = k;
	free(rms);
	return 0;
}
