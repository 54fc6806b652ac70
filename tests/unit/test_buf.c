/* test_buf — the capped buffer: appends up to the cap and never past it
 * (refused appends leave the contents as they were), reuse after reset,
 * JSON strings that parse back to the input, and numbers written as the
 * shortest text that reads back to the same double / float — including
 * through a double-first reader (cJSON reads a double, msg casts it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "buf.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rng(void)
{
	uint64_t x = rng_state; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void test_add_and_cap(void **state)
{
	buf b;
	(void)state;
	buf_init(&b, 10);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_adds(&b, "hello"), 0);
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_string_equal(b.data, "hello");
	assert_int_equal(buf_adds(&b, "world!"), AM_ETOOBIG); /* 11 > 10 */
	assert_string_equal(b.data, "hello");
	assert_int_equal(b.len, 5);
	assert_int_equal(buf_adds(&b, "world"), 0); /* exactly the cap */
	assert_string_equal(b.data, "helloworld");
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_add(&b, "x", 1), AM_ETOOBIG);
	assert_int_equal(buf_printf(&b, "%d", 1), AM_ETOOBIG);
	assert_int_equal(buf_add_json_str(&b, ""), AM_ETOOBIG);
	assert_int_equal(buf_add_json_num(&b, 1), AM_ETOOBIG);
	assert_int_equal(buf_add_json_float(&b, 1), AM_ETOOBIG);
	assert_string_equal(b.data, "helloworld");
	buf_cleanup(&b);
	buf_cleanup(&b); /* twice is fine */
	assert_null(b.data);
	buf_cleanup(NULL);
}

static void test_growth(void **state)
{
	buf b;
	(void)state;
	buf_init(&b, 100000);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_add(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 100000);
	assert_true(b.alloc <= 100001); /* growth never allocates past cap + NUL */
	assert_int_equal(b.data[b.len], '\0');
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(b.data[i], '0' + (int)(i % 10));
	assert_int_equal(buf_add(&b, "x", 1), AM_ETOOBIG);
	buf_cleanup(&b);
}

/* A cap of SIZE_MAX means "no cap": growth must not wrap cap + 1 to 0. */
static void test_huge_cap(void **state)
{
	buf b;
	char big[300];
	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, SIZE_MAX);
	assert_int_equal(buf_adds(&b, big), 0);
	assert_int_equal(buf_adds(&b, big), 0);
	assert_int_equal(b.len, 2 * (sizeof(big) - 1));
	assert_true(b.alloc > b.len);
	assert_int_equal(b.data[b.len], '\0');
	buf_cleanup(&b);
}

static void test_reset_reuses(void **state)
{
	buf b;
	char *p;
	size_t alloc;
	(void)state;
	buf_init(&b, 1000);
	buf_reset(&b); /* on an empty buf too */
	assert_int_equal(buf_printf(&b, "%s-%d", "abc", 42), 0);
	assert_string_equal(b.data, "abc-42");
	p = b.data;
	alloc = b.alloc;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_adds(&b, "x"), 0);
	assert_ptr_equal(b.data, p);
	assert_int_equal(b.alloc, alloc);
	buf_cleanup(&b);
}

static void test_printf_long(void **state)
{
	buf b;
	char want[1001];
	(void)state;
	memset(want, 'q', 1000);
	want[1000] = '\0';
	buf_init(&b, 2000);
	assert_int_equal(buf_adds(&b, "<"), 0);
	assert_int_equal(buf_printf(&b, "%s>", want),
			 0); /* past the 256-byte fast path */
	assert_int_equal(b.len, 1002);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(memcmp(b.data + 1, want, 1000), 0);
	assert_string_equal(b.data + 1001, ">");
	assert_int_equal(buf_printf(&b, "%s", want), AM_ETOOBIG); /* 2002 > 2000 */
	assert_int_equal(b.len, 1002);
	assert_int_equal(b.data[1002], '\0');
	buf_cleanup(&b);
}

/* msg.c encodes into the caller's array by pointing a buf at it with
 * alloc = size and cap = size - 1: buf must then never reallocate. */
static void test_fixed_memory(void **state)
{
	char arr[64];
	buf b;
	(void)state;
	b.data = arr;
	b.len = 0;
	b.alloc = sizeof(arr);
	b.cap = sizeof(arr) - 1;
	arr[0] = '\0';
	for (int i = 0; i < 100; i++) {
		int rc = buf_add_json_float(&b, 0.123456789f);
		if (rc) {
			assert_int_equal(rc, AM_ETOOBIG);
			break;
		}
		assert_int_equal(buf_add(&b, ",", 1), 0);
	}
	assert_ptr_equal(b.data, arr);
	assert_int_equal(b.alloc, sizeof(arr));
	assert_true(b.len <= sizeof(arr) - 1);
	assert_int_equal(strlen(arr), b.len);
	while (buf_add(&b, "y", 1) == 0)
		;
	assert_int_equal(b.len, sizeof(arr) - 1);
	assert_ptr_equal(b.data, arr);
}

static void test_json_str(void **state)
{
	static const char *const inputs[] = {
	    "",
	    "plain",
	    "q\"uote",
	    "back\\slash",
	    "tab\tnl\ncr\r",
	    "\x01\x1f\x7f",
	    "caf\xc3\xa9 \xe2\x82\xac",
	    "/slash",
	    "</script>",
	};
	buf b;
	(void)state;
	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		cJSON *j;
		buf_reset(&b);
		assert_int_equal(buf_add_json_str(&b, inputs[i]), 0);
		for (size_t k = 0; k < b.len; k++)
			assert_true((unsigned char)b.data[k] >=
				    0x20); /* no raw controls */
		j = cJSON_ParseWithLength(b.data, b.len);
		assert_non_null(j);
		assert_true(cJSON_IsString(j));
		assert_string_equal(j->valuestring, inputs[i]);
		cJSON_Delete(j);
	}
	buf_reset(&b);
	assert_int_equal(buf_add_json_str(&b, "a\"b"), 0);
	assert_string_equal(b.data, "\"a\\\"b\"");
	buf_reset(&b);
	assert_int_equal(buf_add_json_str(&b, "\n"), 0);
	assert_string_equal(b.data, "\"\\u000a\"");
	buf_cleanup(&b);

	/* a string that does not fit leaves nothing behind, even half-escaped */
	buf_init(&b, 12);
	assert_int_equal(buf_adds(&b, "ab"), 0);
	assert_int_equal(buf_add_json_str(&b, "\x01\x02"), AM_ETOOBIG); /* 14 bytes */
	assert_int_equal(b.len, 2);
	assert_string_equal(b.data, "ab");
	assert_int_equal(buf_add_json_str(&b, "12345678"), 0); /* exactly 12 */
	assert_string_equal(b.data, "ab\"12345678\"");
	buf_cleanup(&b);
}

static const char *num_text(buf *b, double v)
{
	buf_reset(b);
	assert_int_equal(buf_add_json_num(b, v), 0);
	return b->data;
}

static const char *float_text(buf *b, float v)
{
	buf_reset(b);
	assert_int_equal(buf_add_json_float(b, v), 0);
	return b->data;
}

static void test_json_num(void **state)
{
	buf b;
	(void)state;
	buf_init(&b, 100);
	assert_string_equal(num_text(&b, 0), "0");
	assert_string_equal(num_text(&b, 50), "50");
	assert_string_equal(num_text(&b, 0.1), "0.1");
	assert_string_equal(num_text(&b, -2.5), "-2.5");
	assert_string_equal(num_text(&b, 1764151200.12), "1764151200.12");
	assert_string_equal(num_text(&b, 0.1 + 0.2), "0.30000000000000004");
	assert_int_equal(buf_add_json_num(&b, NAN), AM_ENOTFINITE);
	assert_int_equal(buf_add_json_num(&b, INFINITY), AM_ENOTFINITE);
	assert_int_equal(buf_add_json_num(&b, -INFINITY), AM_ENOTFINITE);
	buf_reset(&b);
	for (int i = 0; i < 20000; i++) {
		uint64_t u = rng();
		double v, back;
		cJSON *j;
		memcpy(&v, &u, sizeof(v));
		if (!isfinite(v))
			continue;
		buf_reset(&b);
		assert_int_equal(buf_add_json_num(&b, v), 0);
		back = strtod(b.data, NULL);
		if (back != v)
			fail_msg("%a written as %s", v, b.data);
		j = cJSON_ParseWithLength(b.data, b.len); /* valid JSON, same value */
		assert_non_null(j);
		assert_true(cJSON_IsNumber(j) && j->valuedouble == v);
		cJSON_Delete(j);
	}
	buf_cleanup(&b);
}

/* The %.{p}g text of v with the fewest digits (p from 4, as buf.h
 * promises) that reads back, by brute force. */
static size_t shortest_float_len(float v)
{
	char t[40];
	for (int p = 4; p <= 9; p++) {
		snprintf(t, sizeof(t), "%.*g", p, (double)v);
		if (strtof(t, NULL) == v)
			return strlen(t);
	}
	return 0;
}

static void test_json_float(void **state)
{
	buf b;
	(void)state;
	buf_init(&b, 100);
	assert_string_equal(float_text(&b, 0), "0");
	assert_string_equal(float_text(&b, 1), "1");
	assert_string_equal(float_text(&b, 0.1f), "0.1");
	assert_string_equal(float_text(&b, 0.0011f), "0.0011");
	assert_string_equal(float_text(&b, -0.0088f), "-0.0088");
	assert_string_equal(float_text(&b, 123456.0f), "123456");
	assert_string_equal(float_text(&b, FLT_MAX), "3.4028235e+38");
	assert_string_equal(float_text(&b, 16777216.0f), "16777216");
	assert_int_equal(buf_add_json_float(&b, NAN), AM_ENOTFINITE);
	assert_int_equal(buf_add_json_float(&b, -INFINITY), AM_ENOTFINITE);
	for (int i = 0; i < 50000; i++) {
		uint32_t u = (uint32_t)rng();
		float v;
		memcpy(&v, &u, sizeof(v));
		if (i % 2) /* half of them short decimals, as sensors log them */
			v = (float)((double)(int32_t)(u % 2000001) - 1000000) /
			    (float)pow(10, (double)(u % 9));
		if (!isfinite(v) || v == 0)
			continue;
		float_text(&b, v);
		if (strtof(b.data, NULL) != v || (float)strtod(b.data, NULL) != v)
			fail_msg("%a written as %s", (double)v, b.data);
		if (b.len != shortest_float_len(v))
			fail_msg("%a written as %s, not the shortest", (double)v, b.data);
	}
	buf_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_and_cap), cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_huge_cap),    cmocka_unit_test(test_reset_reuses),
	    cmocka_unit_test(test_printf_long), cmocka_unit_test(test_fixed_memory),
	    cmocka_unit_test(test_json_str),    cmocka_unit_test(test_json_num),
	    cmocka_unit_test(test_json_float),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
