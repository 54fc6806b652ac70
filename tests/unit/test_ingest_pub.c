/* Unit tests for ingest-bt's raw batching: count and age limits, frame
 * gaps and layout changes closing a batch, seq, and the JSON reading back
 * through msg_raw_decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/ingest-bt/pub.h"

static const char *const names[] = {"linacc_x", "linacc_y", "linacc_z"};

static void take_decode(pub_batch *b, msg_raw *out)
{
	const char *json;
	size_t len;
	char err[MSG_ERR_MAX];
	const msg_raw *m = NULL;
	assert_int_equal(pub_take(b, &json, &len, &m, err, sizeof(err)), 0);
	assert_int_equal(msg_raw_decode(json, len, out, err, sizeof(err)), 0);
	/* the message taken, for the journal, is the one encoded */
	assert_non_null(m);
	assert_true(m->seq == out->seq && m->n_samples == out->n_samples);
	assert_memory_equal(m->samples, out->samples,
			    m->n_samples * m->n_channels * sizeof(float));
}

static void test_batch_by_count(void **state)
{
	pub_batch b;
	msg_raw m;
	(void)state;
	msg_raw_init(&m);
	assert_int_equal(pub_init(&b, "arm1", "abcd1234", 4, 1000), 0);
	for (int i = 0; i < 4; i++) {
		float v[3] = {(float)i * 0.001f, -0.5f, 1e-7f * (float)i};
		assert_true(pub_continues(&b, 7, 50, 100 + i));
		assert_int_equal(
		    pub_add(&b, 7, names, 3, 50, 100 + i, v, 1764151200.5, 10), 0);
		assert_int_equal(pub_due(&b, 10), i == 3);
	}
	assert_false(pub_continues(&b, 7, 50, 104)); /* full */
	take_decode(&b, &m);
	assert_string_equal(m.sensor, "arm1");
	assert_string_equal(m.run, "abcd1234");
	assert_int_equal(m.seq, 0);
	assert_int_equal(m.n_samples, 4);
	assert_int_equal(m.n_channels, 3);
	assert_string_equal(m.channels[2], "linacc_z");
	assert_true(m.has_frame0);
	assert_int_equal(m.frame0, 100);
	assert_true(m.rate_hz == 50);
	assert_true(m.t0 == 1764151200.5);
	assert_true(m.samples[3 * 3 + 0] == 0.003f);
	assert_true(m.samples[3 * 3 + 2] == 3e-7f);
	assert_int_equal(pub_rows(&b), 0);
	/* next batch takes the next seq */
	{
		float v[3] = {1, 2, 3};
		assert_int_equal(pub_add(&b, 7, names, 3, 50, 104, v, 1.0, 20), 0);
		take_decode(&b, &m);
		assert_int_equal(m.seq, 1);
		assert_int_equal(m.frame0, 104);
	}
	pub_cleanup(&b);
	pub_cleanup(&b);
	msg_raw_cleanup(&m);
}

static void test_batch_by_age(void **state)
{
	pub_batch b;
	float v[3] = {0, 0, 0};
	(void)state;
	assert_int_equal(pub_init(&b, "arm1", "r", 10, 200), 0);
	assert_int_equal(pub_deadline(&b), INT64_MAX);
	assert_false(pub_due(&b, 0));
	assert_int_equal(pub_add(&b, 1, names, 3, 50, -1, v, 1.0, 1000), 0);
	assert_int_equal(pub_deadline(&b), 1200);
	assert_false(pub_due(&b, 1199));
	assert_true(pub_due(&b, 1200));
	pub_cleanup(&b);
}

static void test_batch_breaks(void **state)
{
	pub_batch b;
	float v[3] = {0, 0, 0};
	(void)state;
	assert_int_equal(pub_init(&b, "arm1", "r", 10, 200), 0);
	assert_int_equal(pub_add(&b, 1, names, 3, 50, 5, v, 1.0, 0), 0);
	assert_true(pub_continues(&b, 1, 50, 6));
	assert_false(pub_continues(&b, 1, 50, 7));  /* gap */
	assert_false(pub_continues(&b, 1, 50, 5));  /* repeat */
	assert_false(pub_continues(&b, 2, 50, 6));  /* layout */
	assert_false(pub_continues(&b, 1, 100, 6)); /* rate */
	assert_false(pub_continues(&b, 1, 50, -1)); /* frames stop */
	pub_cleanup(&b);
	assert_int_equal(pub_init(&b, "bad/name", "r", 10, 200), 0);
	{
		/* an invalid sensor is refused when encoding, never published */
		const char *json;
		size_t len;
		char err[MSG_ERR_MAX];
		assert_int_equal(pub_add(&b, 1, names, 3, 50, 0, v, 1.0, 0), 0);
		assert_int_equal(pub_take(&b, &json, &len, NULL, err, sizeof(err)),
				 AM_EENCODE);
		assert_int_equal(pub_rows(&b), 0);
	}
	pub_cleanup(&b);
	assert_int_equal(pub_init(&b, "a", "r", 0, 200), AM_EINVAL);
	pub_cleanup(&b);
	assert_int_equal(pub_init(&b, "a", "r", 10, 0), AM_EINVAL);
	pub_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batch_by_count),
	    cmocka_unit_test(test_batch_by_age),
	    cmocka_unit_test(test_batch_breaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
