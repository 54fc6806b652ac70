/* truth — ground truth for the LPMS-B2 recordings, found independently of
 * any model: the recordings carry no labels, but their failure-state
 * movement has clearly more linear-acceleration energy than the normal
 * cycle (../shared/data/README.md). A failure stretch is a run of fixed
 * time bins whose RMS of one channel exceeds a level, merged over
 * consecutive bins, in the recording's own time (its "timestamp" column).
 *
 * For the LPMS pre-fail recording the tests use linacc_x, 5 s bins and
 * 0.07 g: normal movement stays under 0.05 g, failure movement is
 * 0.09..0.13 g.
 *
 * Ownership: out is caller-provided; nothing is kept. Returns 0, or -1
 * with a line on stderr saying why (test code). */
#ifndef ANOMESH_TRUTH_H
#define ANOMESH_TRUTH_H

#include <stddef.h>

#define TRUTH_MAX_BINS 1024

typedef struct truth_stretch {
	double start, end; /* seconds, recording time, bin-aligned */
} truth_stretch;

/* Failure stretches of the CSV at path: bins of bin_s seconds (from
 * timestamp 0; samples before 0 count in the first bin; recordings longer
 * than TRUTH_MAX_BINS bins are refused) where the RMS of channel exceeds
 * rms_min. At most max stretches are stored; *n gets the number stored. */
int truth_energy_stretches(const char *path, const char *channel, double bin_s,
			   double rms_min, truth_stretch *out, size_t max, size_t *n);

#endif
