/* Unit tests for common/error: every code of the tree-wide space has its
 * own words, and a code outside it is named as unknown, with its number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "error.h"

#include <string.h>

/* The space is contiguous from AM_OK down to the last code: a code added
 * without words (or a gap) shows up here as an "unknown error". */
#define LAST AM_ETLS

static void test_every_code_has_distinct_words(void **state)
{
	(void)state;
	for (int c = AM_OK; c >= LAST; c--) {
		const char *w = am_strerror(c);
		assert_non_null(w);
		assert_null(strstr(w, "unknown"));
		for (int d = c - 1; d >= LAST; d--)
			assert_string_not_equal(w, am_strerror(d));
	}
	assert_string_equal(am_strerror(AM_ENOMEM), "out of memory");
	assert_string_equal(am_strerror(AM_ETLS), "TLS handshake or certificate refused");
}

static void test_unknown_code_named_with_number(void **state)
{
	(void)state;
	assert_string_equal(am_strerror(LAST - 1), "unknown error -28");
	assert_string_equal(am_strerror(5), "unknown error 5");
	assert_string_equal(am_strerror(-1000000), "unknown error -1000000");
}

static void test_fail_writes_reason_and_returns_code(void **state)
{
	char err[16] = "untouched";
	(void)state;
	assert_int_equal(am_fail(err, sizeof(err), AM_EVALUE, "seq: %d", 42), AM_EVALUE);
	assert_string_equal(err, "seq: 42");
	/* truncated to the buffer, always terminated */
	am_errf(err, 8, "%s", "a long reason");
	assert_string_equal(err, "a long ");
	/* no buffer: nothing written, the code still comes back */
	assert_int_equal(am_fail(NULL, 0, AM_EIO, "x"), AM_EIO);
	am_errf(err, 0, "not written");
	assert_string_equal(err, "a long ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code_has_distinct_words),
	    cmocka_unit_test(test_unknown_code_named_with_number),
	    cmocka_unit_test(test_fail_writes_reason_and_returns_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
