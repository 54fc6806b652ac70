/* synth — recordings the tests make themselves, so that every behaviour the
 * real LPMS-B2 recordings (../shared, optional) prove is also proved on a
 * plain clone: the synthetic arm (services/ingest-bt/arm.h), healthy or
 * with fault episodes on its schedule, written as an LpmsControl CSV
 * (lpmscsv.h), the format of the real recordings, which lpms-emu --replay,
 * ingest-bt's csv: source, ae-train and truth.h all read; and the ground
 * truth of such a recording, found by energy and held to the arm's schedule.
 *
 * Ownership: the returned path is interned (valid until the process
 * exits); the file lives in harness_tmpdir() and goes with it. Returns
 * follow harness.h: the path or 0, or NULL / -1 with a line on stderr. */
#ifndef ANOMESH_HARNESS_SYNTH_H
#define ANOMESH_HARNESS_SYNTH_H

#include "../../services/ingest-bt/arm.h"
#include "truth.h"

#include <stddef.h>

/* The arm of seed with the tests' short fault schedule, so that a few
 * minutes of it hold several episodes: 20 s long, at 10, 70, 130 ... s
 * (lpms-emu --faults --fault-first-s 10 --fault-every-s 60 --fault-s 20);
 * otherwise the defaults. */
void synth_arm_faulty(arm_params *p, uint32_t seed);

/* Write `seconds` of the arm p at rate_hz (an LPMS rate: 5..400) to
 * "<harness_tmpdir()>/<name>": row k is arm_sample(p, k, rate_hz) at time
 * k / rate_hz, frame k, values with LpmsControl's four decimals. */
const char *synth_arm_csv(const char *name, const arm_params *p, unsigned rate_hz,
			  double seconds);

/* The failure stretches of csv, a recording of the arm p `seconds` long,
 * found as the tests find the real recording's, independently of any model
 * (truth.h: 5 s bins whose linacc_x RMS is over 0.07 g), and checked
 * against the arm's own schedule (arm_fault_at): one stretch per episode
 * that starts in the recording, each starting and ending within a second of
 * its episode. At most max go to hot, *n gets how many. Returns 0, or -1
 * with a line on stderr saying where they disagree. */
int synth_arm_truth(const char *csv, const arm_params *p, double seconds,
		    truth_stretch *hot, size_t max, size_t *n);

#endif
