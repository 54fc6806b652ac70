/* Unit tests for services/archiver/csvsink: one file per sensor per UTC
 * day with the export header, a message spanning midnight split over two
 * files, a new channel set in its own file, appending after reopen, and
 * more sensors than files it keeps open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/archiver/csvsink.h"
#include "../harness/harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char t_dir[200];

static int setup(void **state)
{
	(void)state;
	return harness_tmpdir_new("test_csvsink", t_dir, sizeof(t_dir));
}

static int teardown(void **state)
{
	(void)state;
	harness_rm_tree(t_dir);
	return 0;
}

static char *slurp(const char *rel)
{
	char path[256];
	static char buf[65536];
	FILE *f;
	size_t n;
	snprintf(path, sizeof(path), "%s/%s", t_dir, rel);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void make(msg_raw *m, float *buf, double t0, size_t n, size_t nc)
{
	static const char *names[] = {"linacc_x", "linacc_y", "linacc_z", "pressure"};
	memset(m, 0, sizeof(*m));
	snprintf(m->sensor, sizeof(m->sensor), "arm1");
	snprintf(m->run, sizeof(m->run), "r");
	m->t0 = t0;
	m->rate_hz = 2;
	m->n_channels = nc;
	for (size_t c = 0; c < nc; c++)
		snprintf(m->channels[c], sizeof(m->channels[c]), "%s", names[c]);
	m->n_samples = n;
	for (size_t i = 0; i < n * nc; i++)
		buf[i] = (float)i + 0.5f;
	m->samples = buf;
}

static void test_days_and_channels(void **state)
{
	csvsink *k;
	msg_raw m;
	float buf[64];
	char err[256], *s;
	/* 2025-11-26T23:59:59Z, 4 samples at 2 Hz: two before midnight */
	double t0 = 1764201599.0;
	(void)state;

	assert_int_equal(csvsink_open(&k, t_dir, err, sizeof(err)), 0);
	make(&m, buf, t0, 4, 3);
	assert_int_equal(csvsink_put(k, &m, err, sizeof(err)), 0);
	assert_int_equal(csvsink_flush(k, err, sizeof(err)), 0);
	s = slurp("arm1/arm1_2025-11-26.csv");
	assert_non_null(s);
	assert_string_equal(s, "t,linacc_x,linacc_y,linacc_z\n"
			       "1764201599.000000,0.5,1.5,2.5\n"
			       "1764201599.500000,3.5,4.5,5.5\n");
	s = slurp("arm1/arm1_2025-11-27.csv");
	assert_non_null(s);
	assert_string_equal(s, "t,linacc_x,linacc_y,linacc_z\n"
			       "1764201600.000000,6.5,7.5,8.5\n"
			       "1764201600.500000,9.5,10.5,11.5\n");
	/* another channel set on the same day: its own file */
	make(&m, buf, t0 + 10, 1, 4);
	assert_int_equal(csvsink_put(k, &m, err, sizeof(err)), 0);
	csvsink_close(k);
	s = slurp("arm1/arm1_2025-11-27.1.csv");
	assert_non_null(s);
	assert_string_equal(s, "t,linacc_x,linacc_y,linacc_z,pressure\n"
			       "1764201609.000000,0.5,1.5,2.5,3.5\n");
	/* reopen: appends below the existing header */
	assert_int_equal(csvsink_open(&k, t_dir, err, sizeof(err)), 0);
	make(&m, buf, t0 + 20, 1, 3);
	assert_int_equal(csvsink_put(k, &m, err, sizeof(err)), 0);
	csvsink_close(k);
	s = slurp("arm1/arm1_2025-11-27.csv");
	assert_string_equal(s, "t,linacc_x,linacc_y,linacc_z\n"
			       "1764201600.000000,6.5,7.5,8.5\n"
			       "1764201600.500000,9.5,10.5,11.5\n"
			       "1764201619.000000,0.5,1.5,2.5\n");
}

/* File descriptors this process has open. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* 600 sensors written in turn, twice: more than the sink keeps open, so
 * files are closed and reopened on the way; every sensor's file ends up
 * with one header and both rows, in order. */
static void test_many_sensors(void **state)
{
	csvsink *k;
	msg_raw m;
	float buf[8];
	char err[256], rel[64], *s;
	double t0 = 1764201600.0; /* 2025-11-27T00:00:00Z */
	(void)state;

	assert_int_equal(csvsink_open(&k, t_dir, err, sizeof(err)), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 600; i++) {
			make(&m, buf, t0 + round, 1, 2);
			snprintf(m.sensor, sizeof(m.sensor), "s%03d", i);
			assert_int_equal(csvsink_put(k, &m, err, sizeof(err)), 0);
		}
		assert_int_equal(csvsink_flush(k, err, sizeof(err)), 0);
	}
	assert_true(open_fds() < 300); /* bounded (256), not one per sensor */
	csvsink_close(k);
	for (int i = 0; i < 600; i++) {
		snprintf(rel, sizeof(rel), "s%03d/s%03d_2025-11-27.csv", i, i);
		s = slurp(rel);
		assert_non_null(s);
		assert_string_equal(s, "t,linacc_x,linacc_y\n"
				       "1764201600.000000,0.5,1.5\n"
				       "1764201601.000000,0.5,1.5\n");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_days_and_channels, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_sensors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
