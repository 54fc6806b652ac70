/* Unit tests for common/config: precedence defaults < file < environment <
 * flags, range checks, list handling, --help, and clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *t_str;
static long t_int;
static double t_dbl;
static int t_bool;
static config_list t_list;
static config_list t_pos;

static const config_opt t_opts[] = {
    {"name", CONFIG_STR, &t_str, "dflt", 0, -1, "a string", 0, 0},
    {"port", CONFIG_INT, &t_int, "1883", 1, 65535, "a port", 0, 0},
    {"rate", CONFIG_DBL, &t_dbl, "0.5", 0, 1, "a rate", 0, 0},
    {"verbose", CONFIG_BOOL, &t_bool, "no", 0, -1, "a flag", 0, 0},
    {"source", CONFIG_LIST, &t_list, "a,b", 0, -1, "a list", 0, 0},
    {"file", CONFIG_LIST, &t_pos, NULL, 0, -1, "positional", 1, 0},
};
#define N_OPTS (sizeof(t_opts) / sizeof(t_opts[0]))

static int load(config *c, char *err, size_t errlen, int argc, char **argv)
{
	return config_load(c, t_opts, N_OPTS, argc, argv, "t", "t: test", err, errlen);
}

static int setup(void **state)
{
	(void)state;
	unsetenv("ANOMESH_NAME");
	unsetenv("ANOMESH_PORT");
	unsetenv("ANOMESH_SOURCE");
	unsetenv("ANOMESH_CONFIG");
	return 0;
}

static void test_defaults(void **state)
{
	config c;
	char err[128] = "";
	char *argv[] = {"t", NULL};
	(void)state;
	assert_int_equal(load(&c, err, sizeof(err), 1, argv), CONFIG_OK);
	assert_string_equal(t_str, "dflt");
	assert_int_equal(t_int, 1883);
	assert_true(t_dbl == 0.5);
	assert_int_equal(t_bool, 0);
	assert_int_equal(t_list.n, 2);
	assert_string_equal(t_list.items[1], "b");
	assert_int_equal(t_pos.n, 0);
	config_cleanup(&c);
	config_cleanup(&c); /* idempotent */
}

static char *write_file(const char *text)
{
	static char path[] = "/tmp/anomesh-config-XXXXXX";
	int fd;
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_precedence(void **state)
{
	config c;
	char err[128] = "";
	char *path =
	    write_file("# comment\n\nname = fromfile\nport = 2000\nsource = f1,f2,f3\n"
		       "rate=0.25\n");
	char *argv[] = {"t", "--config", path, "--port", "3000", NULL};
	(void)state;

	/* file alone over defaults */
	assert_int_equal(load(&c, err, sizeof(err), 3, argv), CONFIG_OK);
	assert_string_equal(t_str, "fromfile");
	assert_int_equal(t_int, 2000);
	assert_true(t_dbl == 0.25);
	assert_int_equal(t_list.n, 3);
	config_cleanup(&c);

	/* environment over file */
	setenv("ANOMESH_NAME", "fromenv", 1);
	setenv("ANOMESH_PORT", "2500", 1);
	assert_int_equal(load(&c, err, sizeof(err), 3, argv), CONFIG_OK);
	assert_string_equal(t_str, "fromenv");
	assert_int_equal(t_int, 2500);
	config_cleanup(&c);

	/* flags over environment */
	assert_int_equal(load(&c, err, sizeof(err), 5, argv), CONFIG_OK);
	assert_string_equal(t_str, "fromenv");
	assert_int_equal(t_int, 3000);
	assert_true(t_dbl == 0.25); /* file value survives where nothing overrides */
	config_cleanup(&c);

	/* ANOMESH_CONFIG names the file when --config does not */
	setenv("ANOMESH_CONFIG", path, 1);
	unsetenv("ANOMESH_NAME");
	assert_int_equal(load(&c, err, sizeof(err), 1, argv), CONFIG_OK);
	assert_string_equal(t_str, "fromfile");
	config_cleanup(&c);
	unlink(path);
}

static void test_ranges_and_types(void **state)
{
	config c;
	char err[128];
	char *big[] = {"t", "--port", "70000", NULL};
	char *word[] = {"t", "--port=12x", NULL};
	char *rate[] = {"t", "--rate", "nan", NULL};
	char *boolv[] = {"t", "--verbose=maybe", NULL};
	char *unknown[] = {"t", "--nope", NULL};
	char *novalue[] = {"t", "--name", NULL};
	(void)state;

	assert_int_equal(load(&c, err, sizeof(err), 3, big), AM_EUSAGE);
	assert_non_null(strstr(err, "--port"));
	assert_non_null(strstr(err, "65535"));
	assert_int_equal(load(&c, err, sizeof(err), 2, word), AM_EUSAGE);
	assert_non_null(strstr(err, "not an integer"));
	assert_int_equal(load(&c, err, sizeof(err), 3, rate), AM_EUSAGE);
	assert_non_null(strstr(err, "finite"));
	assert_int_equal(load(&c, err, sizeof(err), 2, boolv), AM_EUSAGE);
	assert_int_equal(load(&c, err, sizeof(err), 2, unknown), AM_EUSAGE);
	assert_non_null(strstr(err, "--nope"));
	assert_int_equal(load(&c, err, sizeof(err), 2, novalue), AM_EUSAGE);
	assert_non_null(strstr(err, "needs a value"));

	setenv("ANOMESH_PORT", "0", 1);
	assert_int_equal(load(&c, err, sizeof(err), 1, big), AM_EUSAGE);
	assert_non_null(strstr(err, "ANOMESH_PORT"));
	unsetenv("ANOMESH_PORT");
}

static void test_file_errors(void **state)
{
	config c;
	char err[160];
	char *bad = write_file("name = x\nbogus = 1\n");
	char *argv[] = {"t", "--config", bad, NULL};
	char *missing[] = {"t", "--config", "/nonexistent/anomesh.conf", NULL};
	(void)state;
	assert_int_equal(load(&c, err, sizeof(err), 3, argv), AM_EUSAGE);
	assert_non_null(strstr(err, ":2:"));
	assert_non_null(strstr(err, "bogus"));
	unlink(bad);
	assert_int_equal(load(&c, err, sizeof(err), 3, missing), AM_EUSAGE);
	assert_non_null(strstr(err, "No such file"));
}

static void test_lists_bools_positional(void **state)
{
	config c;
	char err[128];
	char *argv[] = {"t",          "--source", "x",    "--verbose", "p1",
			"--source=y", "--",       "--p2", NULL};
	char *neg[] = {"t", "--verbose", "--no-verbose", NULL};
	(void)state;
	setenv("ANOMESH_SOURCE", "e1,e2", 1);
	assert_int_equal(load(&c, err, sizeof(err), 8, argv), CONFIG_OK);
	/* flags replace the environment's list, and repeat to append */
	assert_int_equal(t_list.n, 2);
	assert_string_equal(t_list.items[0], "x");
	assert_string_equal(t_list.items[1], "y");
	assert_int_equal(t_bool, 1);
	assert_int_equal(t_pos.n, 2);
	assert_string_equal(t_pos.items[0], "p1");
	assert_string_equal(t_pos.items[1], "--p2");
	config_cleanup(&c);
	unsetenv("ANOMESH_SOURCE");
	assert_int_equal(load(&c, err, sizeof(err), 3, neg), CONFIG_OK);
	assert_int_equal(t_bool, 0);
	config_cleanup(&c);
}

/* Found by fuzz_config (tests/fuzz/regressions/config/list-item-blanks):
 * items kept their blanks, except the last one, whose trailing blanks the
 * line's trim took. Now blanks around every item go, in file and
 * environment alike; flags keep their value as given. */
static void test_list_items_trimmed(void **state)
{
	config c;
	char err[128];
	char *path = write_file("source = a , b,\t, c \n");
	char *argv[] = {"t", "--config", path, NULL};
	char *flag[] = {"t", "--source", " x ", NULL};
	(void)state;
	assert_int_equal(load(&c, err, sizeof(err), 3, argv), CONFIG_OK);
	assert_int_equal(t_list.n, 3);
	assert_string_equal(t_list.items[0], "a");
	assert_string_equal(t_list.items[1], "b");
	assert_string_equal(t_list.items[2], "c");
	config_cleanup(&c);
	unlink(path);
	setenv("ANOMESH_SOURCE", " e1 ,e2 ", 1);
	assert_int_equal(load(&c, err, sizeof(err), 1, argv), CONFIG_OK);
	assert_int_equal(t_list.n, 2);
	assert_string_equal(t_list.items[0], "e1");
	assert_string_equal(t_list.items[1], "e2");
	config_cleanup(&c);
	unsetenv("ANOMESH_SOURCE");
	assert_int_equal(load(&c, err, sizeof(err), 3, flag), CONFIG_OK);
	assert_int_equal(t_list.n, 1);
	assert_string_equal(t_list.items[0], " x ");
	config_cleanup(&c);
}

/* Found by fuzz_config (tests/fuzz/regressions/config/dump-double-*):
 * config_dump printed doubles with %g, six digits: another number than the
 * one in effect, and for DBL_MIN a subnormal the reader refuses. */
static void test_dump_doubles_exact(void **state)
{
	config c;
	char err[128], out[1024] = "";
	char *path = write_file("rate = 0.0123456789\n");
	char *argv[] = {"t", "--config", path, NULL};
	char *tiny[] = {"t", "--rate", "2.2250738585072014e-308", NULL};
	FILE *mem;
	(void)state;
	assert_int_equal(load(&c, err, sizeof(err), 3, argv), CONFIG_OK);
	mem = fmemopen(out, sizeof(out) - 1, "w");
	assert_non_null(mem);
	config_dump(&c, mem);
	fclose(mem);
	assert_non_null(strstr(out, "rate = 0.0123456789\n"));
	assert_non_null(strstr(out, "port = 1883\n"));
	config_cleanup(&c);
	unlink(path);

	assert_int_equal(load(&c, err, sizeof(err), 3, tiny), CONFIG_OK);
	mem = fmemopen(out, sizeof(out) - 1, "w");
	assert_non_null(mem);
	config_dump(&c, mem);
	fclose(mem);
	config_cleanup(&c);
	/* what it printed loads back to the same value */
	path = write_file(out);
	assert_int_equal(load(&c, err, sizeof(err), 3, argv), CONFIG_OK);
	assert_true(t_dbl == 2.2250738585072014e-308);
	config_cleanup(&c);
	unlink(path);
}

static void test_help(void **state)
{
	config c;
	char err[128];
	char *argv[] = {"t", "--port", "99999999", "--help", NULL};
	char buf[8192] = "";
	FILE *saved = stdout;
	FILE *mem = fmemopen(buf, sizeof(buf) - 1, "w");
	(void)state;
	assert_non_null(mem);
	stdout = mem;
	/* --help wins even over an invalid value, and lists env names and defaults */
	assert_int_equal(load(&c, err, sizeof(err), 4, argv), CONFIG_HELP);
	stdout = saved;
	fclose(mem);
	assert_non_null(strstr(buf, "--port"));
	assert_non_null(strstr(buf, "ANOMESH_PORT"));
	assert_non_null(strstr(buf, "default 1883"));
	assert_non_null(strstr(buf, "--config FILE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_defaults, setup),
	    cmocka_unit_test_setup(test_precedence, setup),
	    cmocka_unit_test_setup(test_ranges_and_types, setup),
	    cmocka_unit_test_setup(test_file_errors, setup),
	    cmocka_unit_test_setup(test_lists_bools_positional, setup),
	    cmocka_unit_test_setup(test_list_items_trimmed, setup),
	    cmocka_unit_test_setup(test_dump_doubles_exact, setup),
	    cmocka_unit_test_setup(test_help, setup),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
