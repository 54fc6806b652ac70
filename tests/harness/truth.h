/* truth — ground truth for the LPMS-B2 recordings, found independently of
 * any model: the recordings carry no labels, but their failure-state
 * movement has clearly more linear-acceleration energy than the normal
 * cycle (../shared/data/README.md says so, without numbers). A failure
 * stretch is a run of fixed time bins whose RMS of one channel exceeds a
 * level, merged over consecutive bins, in the recording's own time (its
 * "timestamp" column).
 *
 * The level for linacc_x in 5 s bins, from the data (test_ae_lpms checks
 * every number here against the recordings on each run):
 *  - normal_20170202_2229.csv, 30 bins: RMS 0.0175 .. 0.0496 g;
 *  - pre-fail_20170202_2234.csv, 39 bins: 0.0119 .. 0.0522 g in its quiet
 *    bins, 0.0705 .. 0.1313 g in its failure bins (0.0705 and 0.0771 are
 *    the bins where a failure stretch begins mid-bin), nothing between
 *    0.0522 and 0.0705;
 * so TRUTH_LPMS_LEVEL_G, 0.06 g, the middle of that empty band rounded,
 * splits the bins the same way anywhere in the band: 8 failure stretches.
 *
 * Ownership: out is caller-provided; nothing is kept. Returns 0, or -1
 * with a line on stderr saying why (test code). */
#ifndef ANOMESH_TRUTH_H
#define ANOMESH_TRUTH_H

#include <stddef.h>

#define TRUTH_MAX_BINS 1024
#define TRUTH_LPMS_BIN_S 5.0
#define TRUTH_LPMS_LEVEL_G 0.06

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
