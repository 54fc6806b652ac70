/* arm — a synthetic robot arm carrying an LPMS-B2, for when no recording is
 * at hand (`make run` on a plain clone, tests without ../shared).
 *
 * The arm repeats a pick-and-place cycle: dwell at A (the gripper dips to
 * pick), a base-joint sweep to B on a minimum-jerk profile with a lift arc,
 * dwell at B (dip to place), the sweep back. Every channel the sensor
 * streams is derived from that one motion — orientation (Euler, quaternion),
 * body rates (gyro), specific force with gravity (acc) and without (linacc),
 * the Earth's field (mag) — plus the sensor's noise, a settling ring at the
 * end of each sweep, and small cycle-to-cycle variation, at any of the
 * LPMS-B2's stream rates, in the units its CSV logs use.
 *
 * Fault episodes come on a schedule (first at fault_first_s, then every
 * fault_every_s, each lasting fault_s), alternating two kinds seen on real
 * arms: a *loose mount* (the sensor's bracket rattles: broadband vibration
 * around 11 and 17 Hz, strongest on x, and random impacts) and a *worn
 * joint* (backlash: knocks where a sweep starts and stops, judder while it
 * moves). Both put energy into linacc_x as the real pre-fail recording's
 * failure stretches do.
 *
 * Deterministic and random-access: sample k is a pure function of the seed,
 * k and the rate (noise and impacts come from a counter-based hash), so a
 * reconnecting emulator, a test and a training dump all see the same arm.
 * No state, no allocation. */
#ifndef ANOMESH_ARM_H
#define ANOMESH_ARM_H

#include "lpms.h"

#include <stdint.h>

enum arm_fault {
	ARM_HEALTHY = 0,
	ARM_LOOSE_MOUNT = 1,
	ARM_WORN_JOINT = 2,
};

typedef struct arm_params {
	uint32_t seed;        /* noise, impacts, cycle variation (1) */
	double cycle_s;       /* one pick-and-place cycle (20) */
	int faults;           /* 0: always healthy (default 0) */
	double fault_first_s; /* start of the first episode (40) */
	double fault_every_s; /* between episode starts (120) */
	double fault_s;       /* length of an episode (40) */
	double severity;      /* scales the fault signals (1) */
} arm_params;

/* Fill p with the defaults above. */
void arm_params_default(arm_params *p);

/* Sample k at rate_hz (an LPMS rate: 5..400) of the arm p describes, in
 * contract units, all outputs present (mask LPMS_OUT_ALL); ticks is set to
 * k * (400 / rate_hz). */
void arm_sample(const arm_params *p, uint64_t k, unsigned rate_hz, lpms_sample *s);

/* The fault active at t seconds (ARM_HEALTHY between episodes or when
 * p->faults is 0): the generator's own ground truth, for tests. */
enum arm_fault arm_fault_at(const arm_params *p, double t);

/* "healthy", "loose-mount", "worn-joint". */
const char *arm_fault_name(enum arm_fault f);

#endif
