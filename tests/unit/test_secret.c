/* Unit tests for common/secret: a password file must be mode 0600 and
 * gives its first line; a refusal names the cure and never the secret;
 * --password is wiped from argv, --password-file is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *write_file(const char *text, mode_t mode)
{
	static char path[64];
	int fd;
	snprintf(path, sizeof(path), "/tmp/anomesh-secret-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_secret_file(void **state)
{
	char err[256], *pw = NULL, *path;
	(void)state;
	path = write_file("s3cret-pw\nsecond line\n", 0600);
	assert_int_equal(secret_read_file(path, &pw, err, sizeof(err)), 0);
	assert_string_equal(pw, "s3cret-pw");
	secret_free(pw);
	/* readable by the group: refused, naming the cure, never the secret */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(secret_read_file(path, &pw, err, sizeof(err)), AM_EINVAL);
	assert_null(pw);
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, "s3cret"));
	unlink(path);
	path = write_file("\n", 0400);
	assert_int_equal(secret_read_file(path, &pw, err, sizeof(err)), AM_EINVAL);
	unlink(path);
	assert_int_equal(secret_read_file("/nonexistent/pw", &pw, err, sizeof(err)),
			 AM_EIO);
	secret_free(NULL);
}

static void test_scrub_argv(void **state)
{
	char a0[] = "svc", a1[] = "--password", a2[] = "hunter2",
	     a3[] = "--password-file", a4[] = "/x", a5[] = "--password=abc",
	     a6[] = "--username";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, NULL};
	(void)state;
	assert_int_equal(secret_scrub_argv(7, argv, "password"), 1);
	assert_string_equal(argv[2], "xxxxxxx");
	assert_string_equal(argv[4], "/x"); /* --password-file is another option */
	assert_string_equal(argv[5], "--password=xxx");
	assert_int_equal(secret_scrub_argv(7, argv, "token"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_file),
	    cmocka_unit_test(test_scrub_argv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
