/* test_num — num.h against the reference rule it replaces, byte for byte:
 * the shortest "%.{p}g" that reads back (doubles p 6..17; floats p 4..9,
 * through strtof and through strtod then a cast), on random bit patterns,
 * sensor-like short decimals, timestamps, every power of two and its
 * neighbours (where the rounding interval is lopsided), decimal ties and
 * the extremes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "num.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	uint64_t x = rng_state; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void ref_double(char *t, double v)
{
	if (v == 0) {
		strcpy(t, "0");
		return;
	}
	for (int p = 6; p <= 17; p++) {
		snprintf(t, NUM_TEXT_MAX, "%.*g", p, v);
		if (strtod(t, NULL) == v)
			break;
	}
}

static void ref_float(char *t, float v)
{
	if (v == 0) {
		strcpy(t, "0");
		return;
	}
	for (int p = 4; p <= 9; p++) {
		snprintf(t, NUM_TEXT_MAX, "%.*g", p, (double)v);
		if (strtof(t, NULL) == v && (float)strtod(t, NULL) == v)
			break;
	}
}

static void check_double(double v)
{
	char want[NUM_TEXT_MAX], got[NUM_TEXT_MAX];
	size_t n;
	if (!isfinite(v))
		return;
	ref_double(want, v);
	n = num_fmt_double(got, v);
	if (strcmp(want, got) != 0 || n != strlen(got))
		fail_msg("double %a: reference %s, num_fmt_double %s", v, want, got);
}

static void check_float(float v)
{
	char want[NUM_TEXT_MAX], got[NUM_TEXT_MAX];
	size_t n;
	if (!isfinite(v))
		return;
	ref_float(want, v);
	n = num_fmt_float(got, v);
	if (strcmp(want, got) != 0 || n != strlen(got))
		fail_msg("float %a: reference %s, num_fmt_float %s", (double)v, want,
			 got);
}

static void test_fmt_examples(void **state)
{
	char t[NUM_TEXT_MAX];
	(void)state;
	num_fmt_double(t, 0.1 + 0.2);
	assert_string_equal(t, "0.30000000000000004");
	num_fmt_double(t, -0.0);
	assert_string_equal(t, "0");
	num_fmt_double(t, 1764151200.12);
	assert_string_equal(t, "1764151200.12");
	num_fmt_double(t, 1e22);
	assert_string_equal(t, "1e+22");
	num_fmt_double(t, 123456);
	assert_string_equal(t, "123456");
	num_fmt_double(t, 0.0001);
	assert_string_equal(t, "0.0001");
	num_fmt_double(t, 0.00001);
	assert_string_equal(t, "1e-05");
	num_fmt_float(t, 0.0011f);
	assert_string_equal(t, "0.0011");
	num_fmt_float(t, FLT_MAX);
	assert_string_equal(t, "3.4028235e+38");
	num_fmt_float(t, -0.0088f);
	assert_string_equal(t, "-0.0088");
}

static void test_fmt_random(void **state)
{
	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint64_t u = rng();
		uint32_t w = (uint32_t)(u >> 17);
		double v;
		float f;
		switch (i % 5) {
		case 0:
			memcpy(&v, &u, sizeof(v));
			break;
		case 1: /* short decimals */
			v = (double)((int64_t)(u % 20000001) - 10000000) /
			    pow(10, (double)((u >> 40) % 12));
			break;
		case 2: /* timestamps to the microsecond */
			v = 1764151200.0 + (double)(u % 1000000000) / 1e6;
			break;
		case 3:
			v = ldexp((double)(u >> 11), (int)(u % 200) - 200);
			break;
		default:
			v = (double)(u % 100000) / 1000.0;
		}
		check_double(v);
		memcpy(&f, &w, sizeof(f));
		if (i % 3 == 1)
			f = (float)((double)(int32_t)(w % 2000001) - 1000000) /
			    (float)pow(10, (double)(w % 9));
		else if (i % 3 == 2)
			f = (float)v;
		check_float(f);
	}
}

static void test_fmt_edges(void **state)
{
	(void)state;
	for (int e = -1074; e <= 1023; e++) {
		double p = ldexp(1, e);
		check_double(p);
		check_double(nextafter(p, 0));
		check_double(nextafter(p, INFINITY));
		check_double(-3 * p);
	}
	for (int e = -149; e <= 127; e++) {
		float p = ldexpf(1, e);
		check_float(p);
		check_float(nextafterf(p, 0));
		check_float(nextafterf(p, INFINITY));
		check_float(-3 * p);
	}
	check_double(DBL_MAX);
	check_double(DBL_MIN);
	check_double(DBL_TRUE_MIN);
	check_float(FLT_MAX);
	check_float(FLT_MIN);
	check_float(FLT_TRUE_MIN);
	/* d * 10^k and its neighbours: decimal ties and near-ties */
	for (int k = -30; k <= 30; k += 3)
		for (int d = 1; d < 1000; d += 7) {
			double v = d * pow(10, k);
			check_double(v);
			check_double(nextafter(v, 0));
			check_double(nextafter(v, INFINITY));
			check_float((float)v);
			check_float(nextafterf((float)v, 0));
			check_float(nextafterf((float)v, INFINITY));
		}
	for (int i = 0; i < 20000; i++) {
		check_double(i * 0.125);
		check_double(i / 1024.0);
		check_float(i * 0.125f);
		check_float(i / 1024.0f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fmt_examples),
	    cmocka_unit_test(test_fmt_random),
	    cmocka_unit_test(test_fmt_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
