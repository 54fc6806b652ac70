/* Unit tests for common/crc32: the published check value, continuation,
 * every length and alignment against the byte-at-a-time definition, and
 * that it sees a single flipped bit anywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crc32.h"

#include <string.h>

/* The definition, one bit at a time. */
static uint32_t crc_ref(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

static void test_check_value(void **state)
{
	(void)state;
	assert_true(crc32_update(0, "123456789", 9) == 0xCBF43926u);
	assert_true(crc32_update(0, "", 0) == 0);
	assert_true(crc32_update(0, "a", 1) == 0xE8B7BE43u);
}

static void test_every_length_and_alignment(void **state)
{
	unsigned char buf[300];
	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131u + 7u);
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= sizeof(buf); n++) {
			uint32_t whole = crc32_update(0, buf + off, n);
			assert_true(whole == crc_ref(buf + off, n));
			/* continuing from any split point is the CRC of the whole */
			if (n > 3)
				assert_true(
				    crc32_update(crc32_update(0, buf + off, n / 3),
						 buf + off + n / 3, n - n / 3) == whole);
		}
}

static void test_single_bit_flips(void **state)
{
	unsigned char buf[64];
	uint32_t good;
	(void)state;
	memset(buf, 0x5a, sizeof(buf));
	good = crc32_update(0, buf, sizeof(buf));
	for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_true(crc32_update(0, buf, sizeof(buf)) != good);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_value),
	    cmocka_unit_test(test_every_length_and_alignment),
	    cmocka_unit_test(test_single_bit_flips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
