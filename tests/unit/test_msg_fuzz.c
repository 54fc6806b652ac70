/* test_msg_fuzz — a seeded fuzz of the v1 decoders: random bytes and
 * mutated contract examples. Whatever decodes must re-encode and read back
 * the same; whatever does not must say why, with a code msg.h lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msg_test.h"

/* ---- fuzz ------------------------------------------------------------------ */

/* Whatever decodes must re-encode (encoders accept what decoders accept)
 * and read back the same; whatever does not must say why. */
static void check_any(enum kind k, const char *p, size_t n)
{
	static char out[MSG_MAX_PAYLOAD + 1];
	size_t len;
	int rc = decode(k, p, n);
	if (rc) {
		if (rc != AM_EJSON && rc != AM_ETOOBIG && rc != AM_EFIELD &&
		    rc != AM_EVALUE && rc != AM_EVERSION && rc != AM_ESHAPE &&
		    rc != AM_ENOMEM)
			fail_msg("unexpected rc %d", rc);
		if (!err[0])
			fail_msg("rc %d without a reason", rc);
		return;
	}
	if (k == K_RAW) {
		msg_raw copy;
		assert_true(g_raw.n_samples * g_raw.n_channels <= g_raw.samples_cap);
		assert_true(text_sensor_valid(g_raw.sensor));
		err[0] = '\0';
		if (msg_raw_encode(&g_raw, out, sizeof(out), &len, err, sizeof(err)))
			fail_msg("decoded raw does not re-encode: %s", err);
		msg_raw_init(&copy);
		assert_int_equal(msg_raw_decode(out, len, &copy, err, sizeof(err)), 0);
		assert_raw_equal(&g_raw, &copy);
		msg_raw_cleanup(&copy);
	}
}

static void test_fuzz(void **state)
{
	static const char interesting[] = "{}[]\",:0123456789.eE+-\\u tfnrl \x00\xff\xc3";
	char buf[1024];
	(void)state;
	rng_state = 12345;
	for (int it = 0; it < 20000; it++) {
		size_t n = rng() % 200;
		for (size_t i = 0; i < n; i++)
			buf[i] = (rng() % 2)
				     ? (char)rng()
				     : interesting[rng() % (sizeof(interesting) - 1)];
		check_any((enum kind)(it % K_N), buf, n);
	}
	for (int it = 0; it < 30000; it++) {
		enum kind k = (enum kind)(it % K_N);
		size_t n = strlen(EXAMPLES[k]);
		int edits = 1 + (int)(rng() % 3);
		memcpy(buf, EXAMPLES[k], n);
		for (int e = 0; e < edits; e++) {
			size_t pos = n ? rng() % n : 0;
			char c = (rng() % 4)
				     ? interesting[rng() % (sizeof(interesting) - 1)]
				     : (char)rng();
			switch (rng() % 3) {
			case 0: /* replace */
				if (n)
					buf[pos] = c;
				break;
			case 1: /* insert */
				if (n + 1 < sizeof(buf)) {
					memmove(buf + pos + 1, buf + pos, n - pos);
					buf[pos] = c;
					n++;
				}
				break;
			default: /* delete */
				if (n) {
					memmove(buf + pos, buf + pos + 1, n - pos - 1);
					n--;
				}
			}
		}
		check_any(k, buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
