/* Unit tests for common/file: an atomic write replaces the whole file, a
 * failed one leaves the old file as it was and no temporary behind; a
 * capped read returns the whole file under its cap, NUL-terminated, and
 * never more than cap + 1 bytes of one over it (also from a pipe, where
 * no size is known beforehand). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../harness/harness.h"
#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* n bytes of a pattern into path, or into a pipe when path is NULL (the
 * read end returned; n must fit the pipe's buffer). */
static int source(const char *path, size_t n)
{
	char *b = malloc(n + 1);
	int fd, p[2];
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (char)('a' + i % 26);
	if (path) {
		assert_int_equal(file_write_atomic(path, b, n, 0, NULL, 0), 0);
		fd = open(path, O_RDONLY);
	} else {
		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], b, n), (ssize_t)n);
		close(p[1]);
		fd = p[0];
	}
	free(b);
	assert_true(fd >= 0);
	return fd;
}

static void read_back(int fd, size_t cap, size_t want_len)
{
	char *out = NULL;
	size_t len = 99;
	assert_int_equal(file_read_capped(fd, cap, &out, &len), 0);
	close(fd);
	assert_non_null(out);
	assert_int_equal(len, want_len);
	assert_int_equal(out[len], '\0');
	for (size_t i = 0; i < len; i++)
		assert_int_equal(out[i], 'a' + (int)(i % 26));
	free(out);
}

static void test_read_capped(void **state)
{
	char dir[1024], path[1100];
	char *out = (char *)1;
	size_t len = 7;
	(void)state;
	assert_int_equal(harness_tmpdir_new("file", dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/f", dir);

	read_back(source(path, 0), 100, 0);              /* empty */
	read_back(source(path, 100), 100, 100);          /* exactly the cap */
	read_back(source(path, 101), 100, 101);          /* one over: proved */
	read_back(source(path, 300000), 100, 101);       /* far over: not read */
	read_back(source(path, 300000), 300000, 300000); /* past the first block */
	read_back(source(NULL, 5000), 4000, 4001);       /* a pipe */
	read_back(source(NULL, 5000), 1 << 20, 5000);

	assert_int_equal(file_read_capped(-1, 100, &out, &len), AM_EIO);
	assert_int_equal(errno, EBADF);
	assert_null(out);
	assert_int_equal(len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_replace_and_fail),
	    cmocka_unit_test(test_read_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
