/* ae_eval_nab — NAB scoring of state transitions against changepoint
 * windows (see ae_eval_nab.h). */
#include "ae_eval_nab.h"

#include <math.h>

static const double ae_eval_nab__tp[NAB_N] = {1.0, 1.0, 1.0};
static const double ae_eval_nab__fp[NAB_N] = {0.11, 0.22, 0.11};
static const double ae_eval_nab__fn[NAB_N] = {1.0, 1.0, 2.0};

const char *ae_eval_nab_name(int profile)
{
	static const char *const names[NAB_N] = {"standard", "LowFP", "LowFN"};
	return profile >= 0 && profile < NAB_N ? names[profile] : "?";
}

/* NAB's scaled sigmoid: 2 / (1 + e^(5y)) - 1. */
static double ae_eval_nab__sigma(double y) { return 2.0 / (1.0 + exp(5.0 * y)) - 1.0; }

void ae_eval_nab_add(ae_eval_nab *acc, const double *cp, size_t n_cp, const double *det,
		     size_t n_det, double window_s)
{
	int hit[AE_EVAL_NAB_MAX_CP] = {0};
	size_t nw = n_cp < AE_EVAL_NAB_MAX_CP ? n_cp : AE_EVAL_NAB_MAX_CP;

	for (size_t d = 0; d < n_det; d++) {
		double t = det[d], past = -1;
		int inside = 0;
		size_t w;
		for (w = 0; w < nw; w++) {
			if (t >= cp[w] && t <= cp[w] + window_s) {
				inside = 1;
				if (!hit[w])
					break;
			} else if (t > cp[w] + window_s) {
				past = (t - cp[w] - window_s) / window_s;
			}
		}
		if (w < nw) { /* the first detection in window w */
			double y = (t - cp[w] - window_s) / window_s;
			hit[w] = 1;
			for (int p = 0; p < NAB_N; p++)
				acc->s[p] += ae_eval_nab__tp[p] * ae_eval_nab__sigma(y);
			acc->hits++;
		} else if (inside) {
			continue; /* a later detection in windows already hit: nothing */
		} else if (past >= 0) {
			for (int p = 0; p < NAB_N; p++)
				acc->s[p] +=
				    ae_eval_nab__fp[p] * ae_eval_nab__sigma(past);
		} else {
			for (int p = 0; p < NAB_N; p++)
				acc->s[p] -= ae_eval_nab__fp[p];
		}
	}
	for (size_t w = 0; w < nw; w++)
		for (int p = 0; p < NAB_N; p++) {
			if (!hit[w])
				acc->s[p] -= ae_eval_nab__fn[p];
			acc->s_null[p] -= ae_eval_nab__fn[p];
			acc->s_perfect[p] += ae_eval_nab__tp[p];
		}
	acc->windows += nw;
	acc->detections += n_det;
}

double ae_eval_nab_score(const ae_eval_nab *acc, int profile)
{
	double d = acc->s_perfect[profile] - acc->s_null[profile];
	return d > 0 ? 100.0 * (acc->s[profile] - acc->s_null[profile]) / d : 0.0;
}

void ae_eval_nab_merge(ae_eval_nab *acc, const ae_eval_nab *b)
{
	for (int p = 0; p < NAB_N; p++) {
		acc->s[p] += b->s[p];
		acc->s_null[p] += b->s_null[p];
		acc->s_perfect[p] += b->s_perfect[p];
	}
	acc->windows += b->windows;
	acc->detections += b->detections;
	acc->hits += b->hits;
}
