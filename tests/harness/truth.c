/* truth — failure stretches of a recording from its energy (truth.h): the
 * bins are ae-eval lpms's own (tools/ae_eval_lpms.h), so the tests and the
 * evaluation's plots share one ground truth. */
#include "truth.h"

#include "../../tools/ae_eval_lpms.h"

#include <stdio.h>
#include <stdlib.h>

int truth_energy_bins(const char *path, const char *channel, double bin_s, double *rms,
		      size_t max, size_t *n)
{
	char err[256];
	if (ae_eval_lpms_energy(path, channel, bin_s, rms, max, n, err, sizeof err)) {
		fprintf(stderr, "truth: %s\n", err);
		return -1;
	}
	return 0;
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
