/* test_csv — the CSV reader on every source format anomesh meets, on
 * malformed input (ragged rows, over-long lines, missing file), on an
 * LpmsControl recording of the synthetic arm (always) and on the real one
 * from the shared data (optional: skipped, with the reason, without it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/harness.h"
#include "../harness/synth.h"
#include "csv.h"

/* Write content to a fresh temp file; path receives its name. */
static void write_tmp(char *path, size_t pathlen, const char *content, size_t n)
{
	snprintf(path, pathlen, "/tmp/anomesh-test-csv-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, n, f), n);
	fclose(f);
}

static void test_normalise_lpms(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(csv_normalise_name("LinAccX (g)", out, sizeof out),
			    "linacc_x");
	assert_string_equal(csv_normalise_name(" GyroZ (deg/s)", out, sizeof out),
			    "gyr_z");
	assert_string_equal(csv_normalise_name("TimeStamp (s)", out, sizeof out),
			    "timestamp");
	assert_string_equal(csv_normalise_name("SensorId", out, sizeof out), "sensor_id");
	assert_string_equal(csv_normalise_name("QuatW", out, sizeof out), "quat_w");
	assert_string_equal(csv_normalise_name("HeaveMotion (m)", out, sizeof out),
			    "heave");
	/* SKAB's bare names are not LpmsControl's: kept as written */
	assert_string_equal(csv_normalise_name("Pressure", out, sizeof out), "Pressure");
	assert_string_equal(csv_normalise_name("Volume Flow RateRMS ", out, sizeof out),
			    "Volume Flow RateRMS");
}

static void test_lpms_header(void **state)
{
	(void)state;
	const char *s = "SensorId, TimeStamp (s), FrameNumber, AccX (g), LinAccX (g), "
			"LinAccY (g), Pressure (kPa)\r\n"
			"1, -0.0003, 0, -0.0436, -0.0011, 0.0088, 0.0000\r\n"
			"1, 0.0197, 1, -0.0431, -0.0016, 0.0081, 0.0000\r\n";
	char path[64], err[256];
	write_tmp(path, sizeof path, s, strlen(s));
	csv_table t;
	assert_int_equal(csv_read_file(path, &t, err, sizeof err), 0);
	unlink(path);
	assert_int_equal(t.n_cols, 7);
	assert_int_equal(t.n_rows, 2);
	assert_int_equal(csv_col(&t, "sensor_id"), 0);
	assert_int_equal(csv_col(&t, "timestamp"), 1);
	assert_int_equal(csv_col(&t, "frame"), 2);
	assert_int_equal(csv_col(&t, "acc_x"), 3);
	assert_int_equal(csv_col(&t, "linacc_x"), 4);
	assert_int_equal(csv_col(&t, "linacc_y"), 5);
	assert_int_equal(csv_col(&t, "pressure"), 6);
	assert_int_equal(csv_col(&t, "LinAccX (g)"), -1);
	assert_false(t.is_text[4]);
	assert_true(fabs(t.values[1 * 7 + 4] - (-0.0016)) < 1e-12);
	assert_true(fabs(t.values[0 * 7 + 1] - (-0.0003)) < 1e-12);
	csv_free(&t);
	csv_free(&t); /* idempotent */
}

static void test_skab(void **state)
{
	(void)state;
	const char *s = "datetime;Accelerometer1RMS;Pressure;anomaly\r\n"
			"2020-03-09 10:14:33;0.0265878;0.054711;0.0\r\n"
			"\r\n"
			"2020-03-09 10:14:34;0.0261697;0.382638;1.0\r\n";
	char path[64], err[256];
	write_tmp(path, sizeof path, s, strlen(s));
	csv_table t;
	assert_int_equal(csv_read_file(path, &t, err, sizeof err), 0);
	unlink(path);
	assert_int_equal(t.n_cols, 4);
	assert_int_equal(t.n_rows, 2);
	assert_string_equal(t.names[0], "datetime");
	assert_string_equal(t.names[2], "Pressure");
	assert_true(t.is_text[0]);
	assert_false(t.is_text[1]);
	assert_true(isnan(t.values[0]));
	assert_string_equal(t.text[0], "2020-03-09 10:14:33");
	assert_string_equal(t.text[4], "2020-03-09 10:14:34");
	assert_null(t.text[1]);
	assert_true(fabs(t.values[4 + 2] - 0.382638) < 1e-12);
	assert_true(t.values[4 + 3] == 1.0);
	csv_free(&t);
}

static void test_plain_no_trailing_newline(void **state)
{
	(void)state;
	const char *s = "a,b\n1,2\n3,4";
	char path[64], err[256];
	write_tmp(path, sizeof path, s, strlen(s));
	csv_table t;
	assert_int_equal(csv_read_file(path, &t, err, sizeof err), 0);
	unlink(path);
	assert_int_equal(t.n_rows, 2);
	assert_true(t.values[3] == 4.0);
	csv_free(&t);
}

static void test_ragged_refused(void **state)
{
	(void)state;
	const char *s = "a,b,c\n1,2,3\n4,5,6\n7,8\n";
	char path[64], err[256];
	write_tmp(path, sizeof path, s, strlen(s));
	csv_table t;
	assert_int_equal(csv_read_file(path, &t, err, sizeof err), AM_EFORMAT);
	unlink(path);
	assert_non_null(strstr(err, ":4:"));
	assert_null(t.values);
	assert_null(t.names);
}

static void test_long_line_refused(void **state)
{
	(void)state;
	size_t n = CSV_MAX_LINE + 100;
	char *s = malloc(n + 16);
	assert_non_null(s);
	memcpy(s, "a,b\n1,", 6);
	memset(s + 6, '7', n);
	memcpy(s + 6 + n, "\n", 2);
	char path[64], err[256];
	write_tmp(path, sizeof path, s, strlen(s));
	free(s);
	csv_table t;
	assert_int_equal(csv_read_file(path, &t, err, sizeof err), AM_EFORMAT);
	unlink(path);
	assert_non_null(strstr(err, ":2:"));
}

static void test_missing_file(void **state)
{
	(void)state;
	csv_table t;
	char err[256];
	assert_int_equal(csv_read_file("/nonexistent/anomesh.csv", &t, err, sizeof err),
			 AM_EIO);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent/anomesh.csv"));
}

static void test_empty_file(void **state)
{
	(void)state;
	char path[64], err[256];
	write_tmp(path, sizeof path, "", 0);
	csv_table t;
	assert_int_equal(csv_read_file(path, &t, err, sizeof err), AM_EFORMAT);
	unlink(path);
}

/* The in-memory reader is the file reader's parser: same table, errors
 * labelled with the given name, and no byte past len is read (the buffer
 * below has no NUL and ends in the middle of a would-be third row). */
static void test_read_mem(void **state)
{
	(void)state;
	const char s[] = "a;b\r\n1;x\r\n2;y\r\n3;zzz";
	size_t n = strlen(s) - 2; /* ends "\r\n3;z", no NUL */
	char *buf = malloc(n);
	assert_non_null(buf);
	memcpy(buf, s, n);
	csv_table t;
	char err[256];
	assert_int_equal(csv_read_mem(buf, n, "mem.csv", &t, err, sizeof err), 0);
	assert_int_equal(t.n_cols, 2);
	assert_int_equal(t.n_rows, 3);
	assert_true(t.values[4] == 3.0);
	assert_true(t.is_text[1]);
	assert_string_equal(t.text[5], "z");
	csv_free(&t);
	free(buf);

	assert_int_equal(csv_read_mem("a,b\n1\n", 7, "mem.csv", &t, err, sizeof err),
			 AM_EFORMAT);
	assert_non_null(strstr(err, "mem.csv:2:"));
	assert_null(t.names);
	assert_int_equal(csv_read_mem("", 0, NULL, &t, err, sizeof err), AM_EFORMAT);
	assert_non_null(strstr(err, "(memory)"));
}
#define REAL_LPMS "data/lpms-b2/normal_20170202_2229.csv"

static void test_real_lpms(void **state)
{
	(void)state;
	if (harness_shared_missing(REAL_LPMS))
		skip();
	char err[256];
	csv_table t;
	int rc = csv_read_file(harness_shared(REAL_LPMS), &t, err, sizeof err);
	if (rc != 0)
		fail_msg("%s", err);
	assert_int_equal(t.n_rows, 6613);
	int c = csv_col(&t, "linacc_x");
	assert_true(c >= 0);
	assert_false(t.is_text[c]);
	assert_true(csv_col(&t, "heave") >= 0);
	assert_true(fabs(t.values[0 * t.n_cols + (size_t)c] - (-0.0011)) < 1e-12);
	csv_free(&t);
}

/* The twin of test_real_lpms on a recording the repository makes: 20 s of
 * the synthetic arm at 50 Hz in LpmsControl's format (header with units,
 * ", " separators, four decimals). Every column comes back under its
 * contract name, numeric, every cell what the arm produced to the four
 * decimals LpmsControl writes. */
static void test_synthetic_lpms(void **state)
{
	(void)state;
	static const char *const cols[] = {
	    "sensor_id",   "timestamp", "frame",    "acc_x",    "acc_y",    "acc_z",
	    "gyr_x",       "gyr_y",     "gyr_z",    "mag_x",    "mag_y",    "mag_z",
	    "euler_x",     "euler_y",   "euler_z",  "quat_w",   "quat_x",   "quat_y",
	    "quat_z",      "linacc_x",  "linacc_y", "linacc_z", "pressure", "altitude",
	    "temperature", "heave"};
	const size_t n_cols = sizeof cols / sizeof cols[0];
	arm_params p;
	csv_table t;
	char err[256];
	arm_params_default(&p);
	p.seed = 7;
	const char *path = synth_arm_csv("arm.csv", &p, 50, 20);
	assert_non_null(path);
	if (csv_read_file(path, &t, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(t.n_rows, 1000);
	assert_int_equal(t.n_cols, n_cols);
	for (size_t c = 0; c < n_cols; c++) {
		assert_string_equal(t.names[c], cols[c]);
		assert_false(t.is_text[c]);
	}
	for (size_t r = 0; r < t.n_rows; r++) {
		lpms_sample s;
		const double *v = t.values + r * t.n_cols;
		arm_sample(&p, r, 50, &s);
		const float want[] = {s.acc[0],    s.acc[1],      s.acc[2],    s.gyr[0],
				      s.gyr[1],    s.gyr[2],      s.mag[0],    s.mag[1],
				      s.mag[2],    s.euler[0],    s.euler[1],  s.euler[2],
				      s.quat[0],   s.quat[1],     s.quat[2],   s.quat[3],
				      s.linacc[0], s.linacc[1],   s.linacc[2], s.pressure,
				      s.altitude,  s.temperature, s.heave};
		assert_true(v[0] == 1 && v[2] == (double)r);
		assert_true(fabs(v[1] - (double)r / 50) < 1e-9);
		for (size_t c = 3; c < n_cols; c++)
			if (fabs(v[c] - want[c - 3]) > 0.5e-4 + 1e-9) /* 4 decimals */
				fail_msg("row %zu %s: %.6f, the arm %.6f", r, cols[c],
					 v[c], (double)want[c - 3]);
	}
	csv_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalise_lpms),
	    cmocka_unit_test(test_lpms_header),
	    cmocka_unit_test(test_skab),
	    cmocka_unit_test(test_plain_no_trailing_newline),
	    cmocka_unit_test(test_ragged_refused),
	    cmocka_unit_test(test_long_line_refused),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_empty_file),
	    cmocka_unit_test(test_read_mem),
	    cmocka_unit_test(test_synthetic_lpms),
	    cmocka_unit_test(test_real_lpms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
