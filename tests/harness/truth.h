/* truth — ground truth for the LPMS-B2 recordings, found independently of
 * any model: the recordings carry no labels, but their failure-state
 * movement has clearly more linear-acceleration energy than the normal
 * cycle (../shared/data/README.md says so, without numbers). A failure
 * stretch is a run of fixed time bins whose RMS of one channel exceeds a
 * level, merged over consecutive bins, in the recording's own time (its
 * "timestamp" column).
 *
 * The level for linacc_x in 5 s bins comes from the data; the numbers are
 * in tools/ae_eval_lpms.h, which computes the bins, and test_ae_lpms
 * checks them against the recordings on every run.
 *
 * Ownership: out is caller-provided; nothing is kept. Returns 0, or -1
 * with a line on stderr saying why (test code). */
#ifndef ANOMESH_TRUTH_H
#define ANOMESH_TRUTH_H

#include <stddef.h>

#include "../../tools/ae_eval_lpms.h"

#define TRUTH_MAX_BINS AE_EVAL_LPMS_MAX_BINS
#define TRUTH_LPMS_BIN_S AE_EVAL_LPMS_BIN_S
#define TRUTH_LPMS_LEVEL_G AE_EVAL_LPMS_LEVEL_G

typedef struct truth_stretch {
	double start, end; /* seconds, recording time, bin-aligned */
} truth_stretch;

/* RMS of channel in bins of bin_s seconds (from timestamp 0; samples
 * before 0 count in the first bin; recordings longer than TRUTH_MAX_BINS
 * bins are refused) into rms[0 .. *n) (at most max; an empty bin reads
 * 0). */
int truth_energy_bins(const char *path, const char *channel, double bin_s, double *rms,
		      size_t max, size_t *n);

/* Failure stretches of the CSV at path: the bins (as above) where the RMS
 * of channel exceeds rms_min, merged. At most max stretches are stored;
 * *n gets the number stored. */
int truth_energy_stretches(const char *path, const char *channel, double bin_s,
			   double rms_min, truth_stretch *out, size_t max, size_t *n);

#endif
