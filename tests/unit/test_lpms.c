/* Unit tests for lpms: config register, data frames in float32 and int16
 * modes (hand-built payloads and encode/decode round trips), units,
 * calibration, channel names. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/ingest-bt/lpms.h"

static void put_f(uint8_t *p, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	lpms_put_u32(p, u);
}

static void test_rates_and_config(void **state)
{
	static const unsigned hz[] = {5, 10, 25, 50, 100, 200, 400};
	lpms_config c, d;
	uint32_t reg;
	(void)state;
	for (int i = 0; i < 7; i++) {
		assert_int_equal(lpms_rate_hz(i), (int)hz[i]);
		assert_int_equal(lpms_rate_index(hz[i]), i);
		assert_int_equal(lpms_ticks_per_sample(hz[i]), 400 / hz[i]);
	}
	assert_int_equal(lpms_rate_hz(7), -1);
	assert_int_equal(lpms_rate_index(60), -1);
	assert_int_equal(lpms_ticks_per_sample(60), 0);
	/* the spec's SET_TRANSMIT_DATA example mask with 100 Hz */
	lpms_config_decode(0x00261C00u | 4u, &c);
	assert_int_equal(c.rate_hz, 100);
	assert_int_equal(c.mask, LPMS_OUT_ACC | LPMS_OUT_GYR | LPMS_OUT_MAG |
				     LPMS_OUT_EULER | LPMS_OUT_QUAT | LPMS_OUT_LINACC);
	assert_int_equal(c.int16, 0);
	c.int16 = 1;
	c.rate_hz = 400;
	assert_int_equal(lpms_config_encode(&c, &reg), 0);
	assert_int_equal(reg, 0x00261C00u | 6u | LPMS_CFG_16BIT);
	lpms_config_decode(reg, &d);
	assert_int_equal(d.rate_hz, 400);
	assert_int_equal(d.int16, 1);
	assert_int_equal(d.mask, c.mask);
	c.rate_hz = 7;
	assert_int_equal(lpms_config_encode(&c, &reg), AM_EINVAL);
	lpms_config_decode(7u, &d); /* invalid rate index */
	assert_int_equal(d.rate_hz, 0);
}

static void test_quat_scale(void **state)
{
	(void)state;
	assert_int_equal(lpms_quat_scale(2, 0, 5), 10000);
	assert_int_equal(lpms_quat_scale(2, 1, 0), 10000);
	assert_int_equal(lpms_quat_scale(3, 0, 0), 10000);
	assert_int_equal(lpms_quat_scale(2, 0, 4), 1000);
	assert_int_equal(lpms_quat_scale(1, 9, 9), 1000);
}

static void test_decode_float_by_hand(void **state)
{
	/* mask gyr + acc + euler + pressure: 4 + (3+3+3+1)*4 = 44 bytes */
	lpms_format f = {LPMS_OUT_GYR | LPMS_OUT_ACC | LPMS_OUT_EULER | LPMS_OUT_PRESSURE,
			 0, 10000};
	uint8_t p[44];
	lpms_sample s;
	(void)state;
	assert_int_equal(lpms_data_len(&f), 44);
	lpms_put_u32(p, 8000);
	put_f(p + 4, 1.0f); /* gyr x rad/s */
	put_f(p + 8, -0.5f);
	put_f(p + 12, 0.0f);
	put_f(p + 16, 0.01f); /* acc g */
	put_f(p + 20, -1.0f);
	put_f(p + 24, 0.25f);
	put_f(p + 28, (float)(3.14159265358979 / 2)); /* euler rad */
	put_f(p + 32, 0.0f);
	put_f(p + 36, -1.0f);
	put_f(p + 40, 101.3f); /* kPa */
	assert_int_equal(lpms_decode_data(p, sizeof(p), &f, &s), 0);
	assert_int_equal(s.ticks, 8000);
	assert_int_equal(s.mask, f.mask);
	assert_float_equal(s.gyr[0], 57.29578f, 1e-4);
	assert_float_equal(s.gyr[1], -28.64789f, 1e-4);
	assert_float_equal(s.acc[0], 0.01f, 1e-7);
	assert_float_equal(s.acc[1], -1.0f, 1e-7);
	assert_float_equal(s.euler[0], 90.0f, 1e-4);
	assert_float_equal(s.euler[2], -57.29578f, 1e-4);
	assert_float_equal(s.pressure, 101.3f, 1e-5);
	assert_float_equal(s.mag[0], 0.0f, 0); /* absent stays 0 */
	/* wrong length: one byte short, one too many */
	assert_int_equal(lpms_decode_data(p, 43, &f, &s), AM_ELENGTH);
	assert_int_equal(lpms_decode_data(p, 45, &f, &s), AM_ELENGTH);
	/* NaN refused */
	put_f(p + 16, NAN);
	assert_int_equal(lpms_decode_data(p, sizeof(p), &f, &s), AM_EVALUE);
}

static void put_i16(uint8_t *p, int16_t v)
{
	p[0] = (uint8_t)((uint16_t)v & 0xff);
	p[1] = (uint8_t)((uint16_t)v >> 8);
}

static void test_decode_int16_by_hand(void **state)
{
	/* every 16-bit divisor: gyr 1000, acc 1000, mag 100, quat 10000 (or
	 * 1000 on old firmware), euler as quat, linacc 1000, pressure 100,
	 * altitude 10, temperature 100, heave 1000 */
	lpms_format f = {LPMS_OUT_ALL & ~LPMS_OUT_ANGVEL, 1, 10000};
	uint8_t p[128];
	size_t pos = 4;
	lpms_sample s;
	static const int16_t v[] = {1000,  -500,  0,            /* gyr */
				    1000,  -1007, 35,           /* acc */
				    -2399, 10683, 4264,         /* mag */
				    4698,  -4600, 5509,   5140, /* quat */
				    15708, -448,  -17067,       /* euler */
				    -11,   88,    -49,          /* linacc */
				    10130, 1234,  2550,   -321};
	(void)state;
	lpms_put_u32(p, 42);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++, pos += 2)
		put_i16(p + pos, v[i]);
	assert_int_equal(lpms_data_len(&f), pos);
	assert_int_equal(lpms_decode_data(p, pos, &f, &s), 0);
	assert_int_equal(s.ticks, 42);
	assert_float_equal(s.gyr[0], 57.29578f, 1e-3);
	assert_float_equal(s.acc[1], -1.007f, 1e-6);
	assert_float_equal(s.mag[0], -23.99f, 1e-5);
	assert_float_equal(s.quat[0], 0.4698f, 1e-6);
	assert_float_equal(s.euler[0], 90.0002f, 1e-3);
	assert_float_equal(s.linacc[1], 0.088f, 1e-6);
	assert_float_equal(s.pressure, 101.30f, 1e-4);
	assert_float_equal(s.altitude, 123.4f, 1e-4);
	assert_float_equal(s.temperature, 25.50f, 1e-4);
	assert_float_equal(s.heave, -0.321f, 1e-6);
	f.quat_scale = 1000; /* old firmware */
	assert_int_equal(lpms_decode_data(p, pos, &f, &s), 0);
	assert_float_equal(s.quat[0], 4.698f, 1e-5);
	assert_float_equal(s.acc[1], -1.007f, 1e-6); /* other divisors unchanged */
}

static float frand(float lo, float hi)
{
	return lo + (hi - lo) * (float)rand() / (float)RAND_MAX;
}

static void random_sample(lpms_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->ticks = (uint32_t)rand();
	for (int k = 0; k < 3; k++) {
		s->gyr[k] = frand(-500, 500);
		s->acc[k] = frand(-4, 4);
		s->mag[k] = frand(-150, 150);
		s->angvel[k] = frand(-500, 500);
		s->euler[k] = frand(-180, 180);
		s->linacc[k] = frand(-4, 4);
	}
	for (int k = 0; k < 4; k++)
		s->quat[k] = frand(-1, 1);
	s->pressure = frand(90, 110);
	s->altitude = frand(-100, 2000);
	s->temperature = frand(-20, 80);
	s->heave = frand(-5, 5);
}

/* Largest error int16 mode may make on each channel (half a step, in
 * contract units), in lpms_channels order for LPMS_OUT_ALL. */
static void int16_tolerance(float *tol, size_t n)
{
	static const double deg = 180.0 / 3.14159265358979323846;
	size_t c = 0;
	for (int k = 0; k < 3; k++)
		tol[c++] = (float)(0.5 / 1000 * deg); /* gyr */
	for (int k = 0; k < 3; k++)
		tol[c++] = 0.5f / 1000; /* acc */
	for (int k = 0; k < 3; k++)
		tol[c++] = 0.5f / 100; /* mag */
	for (int k = 0; k < 3; k++)
		tol[c++] = (float)(0.5 / 1000 * deg); /* angvel */
	for (int k = 0; k < 4; k++)
		tol[c++] = 0.5f / 10000; /* quat */
	for (int k = 0; k < 3; k++)
		tol[c++] = (float)(0.5 / 10000 * deg); /* euler */
	for (int k = 0; k < 3; k++)
		tol[c++] = 0.5f / 1000; /* linacc */
	tol[c++] = 0.5f / 100;
	tol[c++] = 0.5f / 10;
	tol[c++] = 0.5f / 100;
	tol[c++] = 0.5f / 1000;
	assert_int_equal(c, n);
}

static void test_round_trip(void **state)
{
	char names[LPMS_MAX_CHANNELS][LPMS_CHANNEL_MAX];
	size_t nch = lpms_channels(LPMS_OUT_ALL, names, LPMS_MAX_CHANNELS);
	float tol[LPMS_MAX_CHANNELS];
	(void)state;
	assert_int_equal(nch, 26);
	int16_tolerance(tol, nch);
	srand(4242);
	for (int mode = 0; mode < 2; mode++) {
		lpms_format f = {LPMS_OUT_ALL, mode, 10000};
		assert_int_equal(lpms_data_len(&f), mode ? 4 + 26 * 2 : 108);
		for (int it = 0; it < 2000; it++) {
			lpms_sample a, b;
			uint8_t p[128];
			size_t len;
			float va[LPMS_MAX_CHANNELS], vb[LPMS_MAX_CHANNELS];
			random_sample(&a);
			/* random subset masks too */
			if (it % 2)
				f.mask = (uint32_t)rand() & LPMS_OUT_ALL;
			else
				f.mask = LPMS_OUT_ALL;
			assert_int_equal(lpms_encode_data(&a, &f, p, sizeof(p), &len), 0);
			assert_int_equal(len, lpms_data_len(&f));
			assert_int_equal(lpms_decode_data(p, len, &f, &b), 0);
			assert_int_equal(b.ticks, a.ticks);
			lpms_sample_values(&a, LPMS_OUT_ALL, va, LPMS_MAX_CHANNELS);
			lpms_sample_values(&b, LPMS_OUT_ALL, vb, LPMS_MAX_CHANNELS);
			{
				size_t c = 0;
				char nm[LPMS_MAX_CHANNELS][LPMS_CHANNEL_MAX];
				size_t nsel =
				    lpms_channels(f.mask, nm, LPMS_MAX_CHANNELS);
				for (size_t i = 0; i < nch; i++) {
					int present =
					    c < nsel && strcmp(nm[c], names[i]) == 0;
					if (!present) {
						assert_true(vb[i] == 0.0f);
						continue;
					}
					c++;
					if (mode && fabsf(va[i] - vb[i]) >
							tol[i] + fabsf(va[i]) * 1e-6f)
						print_error("%s %g %g\n", names[i], va[i],
							    vb[i]);
					if (mode)
						assert_true(fabsf(va[i] - vb[i]) <=
							    tol[i] +
								fabsf(va[i]) * 1e-6f);
					else
						assert_true(fabsf(va[i] - vb[i]) <=
							    fabsf(va[i]) * 2.4e-7f +
								1e-30f);
				}
				assert_int_equal(c, nsel);
			}
		}
	}
}

static void test_int16_saturates(void **state)
{
	lpms_format f = {LPMS_OUT_ACC, 1, 10000};
	lpms_sample a = {0}, b;
	uint8_t p[16];
	size_t len;
	(void)state;
	a.mask = LPMS_OUT_ACC;
	a.acc[0] = 100.0f; /* 100 g * 1000 > 32767 */
	a.acc[1] = -100.0f;
	assert_int_equal(lpms_encode_data(&a, &f, p, sizeof(p), &len), 0);
	assert_int_equal(lpms_decode_data(p, len, &f, &b), 0);
	assert_float_equal(b.acc[0], 32.767f, 1e-6);
	assert_float_equal(b.acc[1], -32.768f, 1e-6);
	a.acc[2] = INFINITY;
	assert_int_equal(lpms_encode_data(&a, &f, p, sizeof(p), &len), AM_EVALUE);
	assert_int_equal(lpms_encode_data(&a, &f, p, 5, &len), AM_ETOOBIG);
}

static void test_channels(void **state)
{
	char n[LPMS_MAX_CHANNELS][LPMS_CHANNEL_MAX];
	lpms_sample s;
	float v[LPMS_MAX_CHANNELS];
	uint32_t bit = 0;
	(void)state;
	assert_int_equal(lpms_channels(LPMS_OUT_LINACC, n, LPMS_MAX_CHANNELS), 3);
	assert_string_equal(n[0], "linacc_x");
	assert_string_equal(n[2], "linacc_z");
	assert_int_equal(lpms_channels(LPMS_OUT_ALL, n, LPMS_MAX_CHANNELS), 26);
	assert_string_equal(n[0], "gyr_x");
	assert_string_equal(n[3], "acc_x");
	assert_string_equal(n[6], "mag_x");
	assert_string_equal(n[9], "angvel_x");
	assert_string_equal(n[12], "quat_w");
	assert_string_equal(n[16], "euler_x");
	assert_string_equal(n[19], "linacc_x");
	assert_string_equal(n[22], "pressure");
	assert_string_equal(n[23], "altitude");
	assert_string_equal(n[24], "temperature");
	assert_string_equal(n[25], "heave");
	assert_int_equal(lpms_channels(LPMS_OUT_ALL, n, 5), 5);
	memset(&s, 0, sizeof(s));
	assert_int_equal(lpms_sample_set(&s, "quat_y", 0.5f, &bit), 0);
	assert_int_equal(bit, LPMS_OUT_QUAT);
	assert_int_equal(lpms_sample_set(&s, "heave", 2.0f, &bit), 0);
	assert_int_equal(lpms_sample_set(&s, "humidity", 1.0f, &bit), AM_EINVAL);
	assert_int_equal(lpms_sample_values(&s, LPMS_OUT_QUAT | LPMS_OUT_HEAVE, v, 30),
			 5);
	assert_float_equal(v[2], 0.5f, 0);
	assert_float_equal(v[4], 2.0f, 0);
}

static void test_calibration(void **state)
{
	lpms_calib c;
	lpms_sample s = {0};
	uint8_t p[36];
	float bias[3] = {0.1f, -0.2f, 0.3f};
	float rot[9] = {0, -1, 0, 1, 0, 0, 0, 0, 2}; /* 90 deg about z, z doubled */
	(void)state;
	lpms_calib_identity(&c);
	s.mask = LPMS_OUT_ACC | LPMS_OUT_GYR | LPMS_OUT_MAG;
	s.acc[0] = 1, s.acc[1] = 2, s.acc[2] = 3;
	s.gyr[0] = 4;
	s.mag[2] = -5;
	lpms_calib_apply(&c, &s); /* identity changes nothing */
	assert_float_equal(s.acc[1], 2.0f, 0);
	assert_float_equal(s.gyr[0], 4.0f, 0);
	assert_float_equal(s.mag[2], -5.0f, 0);
	for (int i = 0; i < 3; i++)
		put_f(p + 4 * i, bias[i]);
	assert_int_equal(lpms_calib_set(&c, LPMS_GET_ACC_BIAS, p, 12), 0);
	for (int i = 0; i < 9; i++)
		put_f(p + 4 * i, rot[i]);
	assert_int_equal(lpms_calib_set(&c, LPMS_GET_ACC_ALIGNMENT, p, 36), 0);
	assert_int_equal(lpms_calib_set(&c, LPMS_GET_ACC_ALIGNMENT, p, 12), AM_ELENGTH);
	assert_int_equal(lpms_calib_set(&c, LPMS_GET_GYR_BIAS, p, 36), AM_ELENGTH);
	assert_int_equal(lpms_calib_set(&c, LPMS_GET_CONFIG, p, 12), AM_EINVAL);
	put_f(p, NAN);
	assert_int_equal(lpms_calib_set(&c, LPMS_GET_MAG_SOFT_IRON, p, 36), AM_EVALUE);
	lpms_calib_apply(&c, &s);
	/* (1,2,3) - (0.1,-0.2,0.3) = (0.9,2.2,2.7) -> (-2.2, 0.9, 5.4) */
	assert_float_equal(s.acc[0], -2.2f, 1e-6);
	assert_float_equal(s.acc[1], 0.9f, 1e-6);
	assert_float_equal(s.acc[2], 5.4f, 1e-6);
	assert_float_equal(s.gyr[0], 4.0f, 0);
	/* absent fields are not touched */
	s.mask = LPMS_OUT_GYR;
	s.acc[0] = 7;
	lpms_calib_apply(&c, &s);
	assert_float_equal(s.acc[0], 7.0f, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rates_and_config),
	    cmocka_unit_test(test_quat_scale),
	    cmocka_unit_test(test_decode_float_by_hand),
	    cmocka_unit_test(test_decode_int16_by_hand),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_int16_saturates),
	    cmocka_unit_test(test_channels),
	    cmocka_unit_test(test_calibration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
