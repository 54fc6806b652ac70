/* Unit tests for common/file: an atomic write replaces the whole file, a
 * failed one leaves the old file as it was and no temporary behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../harness/harness.h"
#include "file.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void slurp(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;
	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_write_replace_and_fail(void **state)
{
	char dir[4096], path[4200], bad[4300], got[64], err[256];
	(void)state;
	snprintf(dir, sizeof dir, "%s/file", harness_tmpdir());
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/port", dir);

	assert_int_equal(file_write_atomic(path, "4242\n", 5, 0, err, sizeof err), 0);
	slurp(path, got, sizeof got);
	assert_string_equal(got, "4242\n");
	/* replaced whole, durable or not; no temporary left */
	assert_int_equal(file_write_atomic(path, "7", 1, 1, err, sizeof err), 0);
	slurp(path, got, sizeof got);
	assert_string_equal(got, "7");
	assert_int_equal(entries(dir), 1);

	/* a target whose rename must fail (it is a non-empty directory):
	 * AM_EIO naming it, the temporary removed */
	snprintf(bad, sizeof bad, "%s/sub", dir);
	assert_int_equal(mkdir(bad, 0700), 0);
	snprintf(got, sizeof got, "%s", "x");
	{
		char inner[4400];
		snprintf(inner, sizeof inner, "%s/keep", bad);
		assert_int_equal(file_write_atomic(inner, "k", 1, 0, err, sizeof err), 0);
	}
	assert_int_equal(file_write_atomic(bad, "y", 1, 0, err, sizeof err), AM_EIO);
	assert_non_null(strstr(err, "/sub"));
	assert_int_equal(entries(dir), 2); /* port and sub, no temporary */

	/* an unwritable place: the old file is untouched */
	snprintf(bad, sizeof bad, "%s/missing-dir/port", dir);
	assert_int_equal(file_write_atomic(bad, "z", 1, 0, err, sizeof err), AM_EIO);
	slurp(path, got, sizeof got);
	assert_string_equal(got, "7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_replace_and_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
