/* Unit tests for common/log (levels, line format, rate limiting) and
 * common/clock (monotonic, wall clock sanity). stderr is redirected to a
 * temporary file to read back what was logged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char captured[8192];

/* Run fn with stderr going to a temp file; leave its text in captured. */
static void capture(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;
	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[n] = '\0';
	fclose(tmp);
}

static void emit_levels(void)
{
	log_init("svc-x", LOG_LVL_WARN);
	log_error("boom %d", 1);
	log_warn("careful");
	log_info("hidden info");
	log_debug("hidden debug");
}

static void test_levels_and_format(void **state)
{
	(void)state;
	capture(emit_levels);
	assert_non_null(strstr(captured, "svc-x["));
	assert_non_null(strstr(captured, "ERROR: boom 1\n"));
	assert_non_null(strstr(captured, "WARN: careful\n"));
	assert_null(strstr(captured, "hidden"));
	/* ISO-8601 UTC stamp at the start of the line */
	assert_int_equal(captured[4], '-');
	assert_int_equal(captured[10], 'T');
}

static void test_level_parse(void **state)
{
	enum log_level l;
	(void)state;
	assert_int_equal(log_level_parse("DEBUG", &l), 0);
	assert_int_equal(l, LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("loud", &l), -1);
	assert_int_equal(log_level_parse(NULL, &l), -1);
}

static void emit_flood(void)
{
	log_every le = {0, 0};
	int printed = 0;
	log_init("svc-y", LOG_LVL_INFO);
	for (int i = 0; i < 1000; i++)
		printed += log_every_msg(&le, 60000, LOG_LVL_WARN, "bad payload %d", i);
	assert_int_equal(printed, 1);
	assert_int_equal(le.suppressed, 999);
	/* the next line after the interval reports the suppressed count */
	le.last_ms -= 60001;
	assert_int_equal(log_every_msg(&le, 60000, LOG_LVL_WARN, "bad payload again"), 1);
	assert_int_equal(le.suppressed, 0);
}

static void test_rate_limit(void **state)
{
	(void)state;
	capture(emit_flood);
	assert_non_null(strstr(captured, "bad payload 0\n"));
	assert_null(strstr(captured, "bad payload 1\n"));
	assert_non_null(strstr(captured, "bad payload again (+999 similar suppressed)"));
}

static void test_clock(void **state)
{
	int64_t a = clock_mono_ns(), b;
	double now = clock_now();
	(void)state;
	assert_true(now > 1.7e9); /* after 2023 */
	assert_int_equal(clock_sleep_ms(5), 0);
	b = clock_mono_ns();
	assert_true(b - a >= 5000000);
	assert_true(clock_mono_ms() >= a / 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels_and_format),
	    cmocka_unit_test(test_level_parse),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_clock),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
