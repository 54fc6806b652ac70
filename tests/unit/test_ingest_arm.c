/* Unit tests for services/ingest-bt/arm (the synthetic robot arm): it is
 * deterministic and random-access, physically consistent (gravity, unit
 * quaternion, smooth motion at every rate), and its fault episodes are where
 * the schedule says, with clearly more linacc_x energy than the healthy
 * cycle, as the real pre-fail recording's failure stretches have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/ingest-bt/arm.h"

#include <math.h>
#include <string.h>

static void test_deterministic_and_random_access(void **state)
{
	arm_params p, q;
	lpms_sample a, b;
	(void)state;
	arm_params_default(&p);
	p.faults = 1;
	for (uint64_t k = 0; k < 20000; k += 997) {
		arm_sample(&p, k, 50, &a);
		arm_sample(&p, k, 50, &b);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	q = p;
	q.seed = 2;
	arm_sample(&p, 1234, 50, &a);
	arm_sample(&q, 1234, 50, &b);
	assert_true(a.linacc[0] != b.linacc[0]); /* another seed, another arm */
	assert_int_equal(a.ticks, 1234 * 8);     /* 2.5 ms ticks at 50 Hz */
	assert_int_equal(a.mask, LPMS_OUT_ALL);
}

static void test_physically_consistent(void **state)
{
	arm_params p;
	lpms_sample s, prev;
	(void)state;
	arm_params_default(&p);
	for (unsigned rate = 25; rate <= 400; rate *= 2) {
		double max_step = 0;
		for (uint64_t k = 0; k < 120u * rate; k++) {
			double qn, g;
			arm_sample(&p, k, rate, &s);
			qn = sqrt(s.quat[0] * s.quat[0] + s.quat[1] * s.quat[1] +
				  s.quat[2] * s.quat[2] + s.quat[3] * s.quat[3]);
			assert_true(fabs(qn - 1) < 1e-5);
			/* gravity is acc minus linacc: 1 g, on y mostly (on its side) */
			g = sqrt(pow(s.acc[0] - s.linacc[0], 2) +
				 pow(s.acc[1] - s.linacc[1], 2) +
				 pow(s.acc[2] - s.linacc[2], 2));
			assert_true(fabs(g - 1) < 1e-4);
			assert_true(s.acc[1] - s.linacc[1] < -0.99);
			assert_true(fabs(s.euler[2]) < 90);
			assert_true(isfinite(s.gyr[0]) && isfinite(s.mag[2]));
			if (k > 0 && fabs(s.euler[2] - prev.euler[2]) > max_step)
				max_step = fabs(s.euler[2] - prev.euler[2]);
			prev = s;
		}
		/* no jump in the motion: the yaw moves at most ~45 deg/s */
		assert_true(max_step < 50.0 / rate + 1e-3);
	}
}

/* RMS of linacc_x over [t0, t1) at 50 Hz. */
static double rms_x(const arm_params *p, double t0, double t1)
{
	double ss = 0;
	uint64_t k0 = (uint64_t)(t0 * 50), k1 = (uint64_t)(t1 * 50);
	lpms_sample s;
	for (uint64_t k = k0; k < k1; k++) {
		arm_sample(p, k, 50, &s);
		ss += (double)s.linacc[0] * s.linacc[0];
	}
	return sqrt(ss / (double)(k1 - k0));
}

static void test_fault_schedule_and_energy(void **state)
{
	arm_params p;
	double healthy_max = 0, fault_min = 1e9;
	(void)state;
	arm_params_default(&p);
	p.faults = 1;
	assert_int_equal(arm_fault_at(&p, 39.9), ARM_HEALTHY);
	assert_int_equal(arm_fault_at(&p, 40.0), ARM_LOOSE_MOUNT);
	assert_int_equal(arm_fault_at(&p, 79.9), ARM_LOOSE_MOUNT);
	assert_int_equal(arm_fault_at(&p, 80.0), ARM_HEALTHY);
	assert_int_equal(arm_fault_at(&p, 160.0), ARM_WORN_JOINT);
	assert_int_equal(arm_fault_at(&p, 280.0), ARM_LOOSE_MOUNT);
	assert_string_equal(arm_fault_name(ARM_WORN_JOINT), "worn-joint");
	p.faults = 0;
	assert_int_equal(arm_fault_at(&p, 50.0), ARM_HEALTHY);
	p.faults = 1;
	/* 5 s bins (the end-to-end test's ground truth): every healthy bin
	 * under 0.05 g, every bin inside an episode over 0.08 g */
	for (double t = 0; t < 480; t += 5) {
		double r = rms_x(&p, t, t + 5);
		enum arm_fault a = arm_fault_at(&p, t), b = arm_fault_at(&p, t + 4.99);
		if (a == ARM_HEALTHY && b == ARM_HEALTHY && r > healthy_max)
			healthy_max = r;
		if (a != ARM_HEALTHY && b != ARM_HEALTHY && r < fault_min)
			fault_min = r;
	}
	print_message("linacc_x RMS in 5 s bins: healthy max %.4f g, fault min %.4f g\n",
		      healthy_max, fault_min);
	assert_true(healthy_max < 0.05);
	assert_true(fault_min > 0.08);
	/* a healthy arm with the same seed is the same arm without faults */
	p.faults = 0;
	assert_true(rms_x(&p, 40, 80) < 0.05);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deterministic_and_random_access),
	    cmocka_unit_test(test_physically_consistent),
	    cmocka_unit_test(test_fault_schedule_and_energy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
