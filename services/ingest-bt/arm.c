/* arm — the synthetic robot arm (see arm.h). The motion is written as
 * closed-form functions of time; linear acceleration is their second
 * derivative taken numerically (central difference over 1 ms, far below
 * the noise), which keeps every channel consistent with the one trajectory
 * without deriving each formula by hand. Randomness is a hash of (seed,
 * stream, index), never a running generator, so any sample can be computed
 * on its own. */
#include "arm.h"

#include <math.h>
#include <string.h>

#define ARM_PI 3.14159265358979323846
#define ARM_D2R (ARM_PI / 180.0)
#define ARM_G 9.80665

/* cycle layout, fractions of cycle_s: dwell A, sweep, dwell B, sweep */
#define ARM_DWELL 0.15
#define ARM_SWEEP 0.35
#define ARM_YAW_DEG 80.0    /* sweep from -80 to +80 degrees */
#define ARM_LIFT_DEG 6.0    /* pitch arc during a sweep */
#define ARM_RADIUS_M 1.2    /* base axis to sensor */
#define ARM_DIP_M 0.06      /* gripper dip while dwelling */
#define ARM_MOUNT_ROLL 92.0 /* the sensor sits on its side, as on the real arm */
#define ARM_MOUNT_PITCH (-2.0)
#define ARM_IMPACT_SLOT_S 0.25 /* at most one impact per slot */

enum { ARM_S_NOISE = 1, ARM_S_CYCLE, ARM_S_LOOSE, ARM_S_WORN, ARM_S_PHASE };

void arm_params_default(arm_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->cycle_s = 20;
	p->faults = 0;
	p->fault_first_s = 40;
	p->fault_every_s = 120;
	p->fault_s = 40;
	p->severity = 1;
}

const char *arm_fault_name(enum arm_fault f)
{
	switch (f) {
	case ARM_LOOSE_MOUNT:
		return "loose-mount";
	case ARM_WORN_JOINT:
		return "worn-joint";
	default:
		return "healthy";
	}
}

/* ---- counter-based randomness ------------------------------------------ */

static uint64_t arm__mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Uniform in [0, 1) for (seed, stream, index, lane). */
static double arm__unif(uint32_t seed, unsigned stream, int64_t index, unsigned lane)
{
	uint64_t h = arm__mix((uint64_t)seed << 32 ^ stream);
	h = arm__mix(h ^ (uint64_t)index);
	h = arm__mix(h ^ lane);
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box-Muller on two lanes). */
static double arm__gauss(uint32_t seed, int64_t index, unsigned lane)
{
	double u1 = arm__unif(seed, ARM_S_NOISE, index, 2 * lane) + 1e-300;
	double u2 = arm__unif(seed, ARM_S_NOISE, index, 2 * lane + 1);
	return sqrt(-2.0 * log(u1)) * cos(2 * ARM_PI * u2);
}

/* ---- motion ------------------------------------------------------------- */

/* Minimum-jerk position 0..1 over x in 0..1. */
static double arm__minjerk(double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	return x * x * x * (10 - 15 * x + 6 * x * x);
}

typedef struct arm_pose {
	double roll, pitch, yaw; /* degrees */
	double pos[3];           /* metres, world frame */
} arm_pose;

/* Where the cycle is at t: the phase (0 dwell A, 1 sweep, 2 dwell B,
 * 3 sweep back), the fraction done of it, and the cycle number. */
static int arm__phase(const arm_params *p, double t, double *frac, int64_t *cycle)
{
	double c = floor(t / p->cycle_s), u = t / p->cycle_s - c;
	static const double ends[4] = {ARM_DWELL, ARM_DWELL + ARM_SWEEP,
				       2 * ARM_DWELL + ARM_SWEEP, 1.0};
	double start = 0;
	*cycle = (int64_t)c;
	for (int i = 0; i < 4; i++) {
		if (u < ends[i] || i == 3) {
			*frac = (u - start) / (ends[i] - start);
			return i;
		}
		start = ends[i];
	}
	return 3;
}

/* Yaw of the end stops: A (negative) and B (positive) of cycle c differ a
 * little from cycle to cycle, as a real cell's parts do; the sweep back of
 * cycle c ends at A of cycle c + 1, so the motion stays continuous. */
static double arm__stop(const arm_params *p, int64_t c, int b)
{
	double u = arm__unif(p->seed, ARM_S_CYCLE, c, (unsigned)b);
	return (b ? 1 : -1) * ARM_YAW_DEG * (1 + 0.03 * (2 * u - 1));
}

static void arm__pose(const arm_params *p, double t, arm_pose *o)
{
	double frac, s, yaw, lift = 0, dip = 0;
	int64_t cyc;
	int ph = arm__phase(p, t, &frac, &cyc);
	double a = arm__stop(p, cyc, 0), b = arm__stop(p, cyc, 1);

	switch (ph) {
	case 0:
		yaw = a;
		dip = ARM_DIP_M * 0.5 * (1 - cos(2 * ARM_PI * frac));
		break;
	case 1:
		s = arm__minjerk(frac);
		yaw = a + (b - a) * s;
		lift = ARM_LIFT_DEG * sin(ARM_PI * s);
		break;
	case 2:
		yaw = b;
		dip = ARM_DIP_M * 0.5 * (1 - cos(2 * ARM_PI * frac));
		break;
	default:
		s = arm__minjerk(frac);
		yaw = b + (arm__stop(p, cyc + 1, 0) - b) * s;
		lift = ARM_LIFT_DEG * sin(ARM_PI * s);
		break;
	}
	o->roll = ARM_MOUNT_ROLL + 0.4 * sin(2 * ARM_PI * t / p->cycle_s);
	o->pitch = ARM_MOUNT_PITCH + lift;
	o->yaw = yaw;
	o->pos[0] = ARM_RADIUS_M * cos(yaw * ARM_D2R);
	o->pos[1] = ARM_RADIUS_M * sin(yaw * ARM_D2R);
	o->pos[2] = 0.5 + ARM_RADIUS_M * sin(lift * ARM_D2R) - dip;
}

/* World-to-body for ZYX Euler angles (R^T applied to v). */
static void arm__to_body(const arm_pose *q, const double v[3], double out[3])
{
	double cr = cos(q->roll * ARM_D2R), sr = sin(q->roll * ARM_D2R);
	double cp = cos(q->pitch * ARM_D2R), sp = sin(q->pitch * ARM_D2R);
	double cy = cos(q->yaw * ARM_D2R), sy = sin(q->yaw * ARM_D2R);
	/* R = Rz(y) Ry(p) Rx(r); rows of R^T are the columns of R */
	double r00 = cy * cp, r10 = sy * cp, r20 = -sp;
	double r01 = cy * sp * sr - sy * cr, r11 = sy * sp * sr + cy * cr, r21 = cp * sr;
	double r02 = cy * sp * cr + sy * sr, r12 = sy * sp * cr - cy * sr, r22 = cp * cr;
	out[0] = r00 * v[0] + r10 * v[1] + r20 * v[2];
	out[1] = r01 * v[0] + r11 * v[1] + r21 * v[2];
	out[2] = r02 * v[0] + r12 * v[1] + r22 * v[2];
}

/* Ringing after the end of each sweep: the arm settles at ~3.5 Hz. */
static double arm__settle(const arm_params *p, double t)
{
	double frac;
	int64_t cyc;
	int ph = arm__phase(p, t, &frac, &cyc);
	double since;
	if (ph != 0 && ph != 2)
		return 0;
	since = frac * ARM_DWELL * p->cycle_s;
	return 0.018 * exp(-since / 0.35) * sin(2 * ARM_PI * 3.5 * since);
}

/* ---- faults ------------------------------------------------------------- */

enum arm_fault arm_fault_at(const arm_params *p, double t)
{
	double since;
	int64_t i;
	if (!p->faults || t < p->fault_first_s || p->fault_every_s <= 0)
		return ARM_HEALTHY;
	since = t - p->fault_first_s;
	i = (int64_t)floor(since / p->fault_every_s);
	if (since - (double)i * p->fault_every_s >= p->fault_s)
		return ARM_HEALTHY;
	return i % 2 == 0 ? ARM_LOOSE_MOUNT : ARM_WORN_JOINT;
}

/* 0..1: ramps in and out over half a second at an episode's edges. */
static double arm__fault_gain(const arm_params *p, double t)
{
	double since = t - p->fault_first_s, in;
	int64_t i = (int64_t)floor(since / p->fault_every_s);
	in = since - (double)i * p->fault_every_s;
	return fmin(1.0, fmin(in / 0.5, (p->fault_s - in) / 0.5));
}

/* Impacts: at most one per slot, at a hashed time and size; each rings
 * down at f Hz with time constant tau. Sum of the current and previous
 * slot (older ones have died out). */
static double arm__impacts(const arm_params *p, unsigned stream, double t, double rate,
			   double amp, double f, double tau)
{
	int64_t j = (int64_t)floor(t / ARM_IMPACT_SLOT_S);
	double v = 0;
	for (int64_t s = j - 1; s <= j; s++) {
		double t0, a, dt;
		if (arm__unif(p->seed, stream, s, 0) >= rate * ARM_IMPACT_SLOT_S)
			continue;
		t0 = ((double)s + arm__unif(p->seed, stream, s, 1)) * ARM_IMPACT_SLOT_S;
		dt = t - t0;
		if (dt < 0)
			continue;
		a = amp * (0.5 + arm__unif(p->seed, stream, s, 2));
		if (arm__unif(p->seed, stream, s, 3) < 0.5)
			a = -a;
		v += a * exp(-dt / tau) * cos(2 * ARM_PI * f * dt);
	}
	return v;
}

/* Normalised base speed 0..1 (1 at the middle of a sweep). */
static double arm__speed(const arm_params *p, double t)
{
	double frac;
	int64_t cyc;
	int ph = arm__phase(p, t, &frac, &cyc);
	if (ph != 1 && ph != 3)
		return 0;
	return 16.0 * frac * frac * (1 - frac) * (1 - frac); /* peak 1 at 0.5 */
}

/* Fault signal in g on body x/y/z, and angular rattle in deg/s on x. */
static void arm__fault(const arm_params *p, double t, double lin[3], double *gyr_x)
{
	enum arm_fault f = arm_fault_at(p, t);
	double g, w, phase, sp;
	lin[0] = lin[1] = lin[2] = 0;
	*gyr_x = 0;
	if (f == ARM_HEALTHY)
		return;
	g = arm__fault_gain(p, t) * p->severity;
	sp = arm__speed(p, t);
	phase = 2 * ARM_PI * arm__unif(p->seed, ARM_S_PHASE, 0, 0);
	if (f == ARM_LOOSE_MOUNT) {
		w = (0.7 + 0.3 * sp) * (sin(2 * ARM_PI * 11.3 * t + phase) +
					0.5 * sin(2 * ARM_PI * 17.1 * t + 2 * phase));
		w += arm__impacts(p, ARM_S_LOOSE, t, 1.5, 0.22, 19.0, 0.03);
		lin[0] = g * 0.16 * w;
		lin[1] = g * 0.04 * w;
		lin[2] = g * 0.03 * w;
		*gyr_x = g * 4.0 * w;
	} else {
		double frac, knock = 0;
		int64_t cyc;
		int ph = arm__phase(p, t, &frac, &cyc);
		/* backlash knocks just after a sweep starts and as it stops */
		if (ph == 1 || ph == 3) {
			double since = frac * ARM_SWEEP * p->cycle_s;
			knock = 0.5 * exp(-since / 0.04) * cos(2 * ARM_PI * 14 * since);
		} else {
			double since = frac * ARM_DWELL * p->cycle_s;
			knock = -0.5 * exp(-since / 0.04) * cos(2 * ARM_PI * 14 * since);
		}
		/* servo hunting around the backlash even at standstill */
		w = 0.55 + 0.45 * sp;
		w = w * sin(2 * ARM_PI * 7.5 * t + phase) +
		    arm__impacts(p, ARM_S_WORN, t, 1.0 * sp + 0.3, 0.3, 12.0, 0.05) +
		    knock;
		lin[0] = g * 0.22 * w;
		lin[1] = g * 0.03 * w;
		lin[2] = g * 0.05 * w;
		*gyr_x = g * 3.0 * w;
	}
}

/* ---- the sample ---------------------------------------------------------- */

void arm_sample(const arm_params *p, uint64_t k, unsigned rate_hz, lpms_sample *s)
{
	const double h = 1e-3;
	double rate = rate_hz ? rate_hz : 50, t = (double)k / rate;
	arm_pose q, qm, qp;
	double acc_w[3], lin_b[3], up_b[3], mag_b[3], fl[3], fgyr, settle;
	static const double up[3] = {0, 0, 1}, field[3] = {21.0, 0.0, -44.0};
	double dr, dp, dy, cr, sr, cp, sp, cy, sy, hr, hp, hy;
	int64_t idx = (int64_t)k;

	arm__pose(p, t, &q);
	arm__pose(p, t - h, &qm);
	arm__pose(p, t + h, &qp);
	for (int i = 0; i < 3; i++)
		acc_w[i] = (qp.pos[i] - 2 * q.pos[i] + qm.pos[i]) / (h * h) / ARM_G;
	/* the sensor reports specific force with the sign of its CSV logs:
	 * at rest, on its side, acc_y is about -1 g (as on the real arm) */
	arm__to_body(&q, acc_w, lin_b);
	arm__to_body(&q, up, up_b);
	arm__to_body(&q, field, mag_b);
	settle = arm__settle(p, t);
	arm__fault(p, t, fl, &fgyr);

	memset(s, 0, sizeof(*s));
	s->ticks = (uint32_t)(k * lpms_ticks_per_sample(rate_hz ? rate_hz : 50));
	s->mask = LPMS_OUT_ALL;
	for (int i = 0; i < 3; i++) {
		double n = 0.005 * arm__gauss(p->seed, idx, (unsigned)i);
		double l = -lin_b[i] + fl[i] + n + (i != 1 ? settle : 0);
		s->linacc[i] = (float)l;
		s->acc[i] = (float)(l - up_b[i]);
		s->mag[i] =
		    (float)(mag_b[i] + 0.4 * arm__gauss(p->seed, idx, 3 + (unsigned)i));
	}
	/* body rates from ZYX Euler rates */
	dr = (qp.roll - qm.roll) / (2 * h);
	dp = (qp.pitch - qm.pitch) / (2 * h);
	dy = (qp.yaw - qm.yaw) / (2 * h);
	cr = cos(q.roll * ARM_D2R), sr = sin(q.roll * ARM_D2R);
	cp = cos(q.pitch * ARM_D2R), sp = sin(q.pitch * ARM_D2R);
	s->gyr[0] = (float)(dr - dy * sp + fgyr + 0.06 * arm__gauss(p->seed, idx, 6));
	s->gyr[1] = (float)(dp * cr + dy * sr * cp + 0.06 * arm__gauss(p->seed, idx, 7));
	s->gyr[2] = (float)(-dp * sr + dy * cr * cp + 0.06 * arm__gauss(p->seed, idx, 8));
	memcpy(s->angvel, s->gyr, sizeof(s->gyr));
	s->euler[0] = (float)(q.roll + 0.02 * arm__gauss(p->seed, idx, 9));
	s->euler[1] = (float)(q.pitch + 0.02 * arm__gauss(p->seed, idx, 10));
	s->euler[2] = (float)q.yaw;
	hr = q.roll * ARM_D2R / 2, hp = q.pitch * ARM_D2R / 2, hy = q.yaw * ARM_D2R / 2;
	cr = cos(hr), sr = sin(hr), cp = cos(hp), sp = sin(hp), cy = cos(hy),
	sy = sin(hy);
	s->quat[0] = (float)(cr * cp * cy + sr * sp * sy);
	s->quat[1] = (float)(sr * cp * cy - cr * sp * sy);
	s->quat[2] = (float)(cr * sp * cy + sr * cp * sy);
	s->quat[3] = (float)(cr * cp * sy - sr * sp * cy);
	s->pressure = (float)(101.2 + 0.01 * arm__gauss(p->seed, idx, 11));
	s->altitude = (float)(12.0 + 0.8 * arm__gauss(p->seed, idx, 12));
	s->temperature = (float)(31.0 + 0.5 * sin(2 * ARM_PI * t / 3600.0));
	s->heave = 0.0f;
}
