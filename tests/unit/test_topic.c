/* Unit tests for common/topic and common/text: every contract topic built
 * and parsed back, the shapes that are not ours refused, the sensor-id and
 * UTF-8 rules at their edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "topic.h"

#include <string.h>

static void test_build_and_parse_sensor_topics(void **state)
{
	char t[TOPIC_MAX];
	topic_ref r;
	(void)state;
	for (int k = TOPIC_RAW; k <= TOPIC_REPAIR; k++) {
		int n = topic_sensor(t, sizeof(t), "factory", "arm1-lpms",
				     (enum topic_kind)k);
		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(t));
		assert_int_equal(topic_parse(t, "factory", &r), k);
		assert_int_equal(r.kind, k);
		assert_string_equal(r.sensor, "arm1-lpms");
		assert_string_equal(r.service, "");
	}
	assert_int_equal(topic_sensor(t, sizeof(t), "factory", "a", TOPIC_RAW), 13);
	assert_string_equal(t, "factory/a/raw");
	/* roots with levels, and the empty root */
	topic_sensor(t, sizeof(t), "plant/cell2", "x", TOPIC_STATE);
	assert_string_equal(t, "plant/cell2/x/state");
	assert_int_equal(topic_parse(t, "plant/cell2", &r), TOPIC_STATE);
	topic_sensor(t, sizeof(t), "", "x", TOPIC_ALERT);
	assert_string_equal(t, "x/alert");
	assert_int_equal(topic_parse(t, "", &r), TOPIC_ALERT);
}

static void test_build_and_parse_svc_topics(void **state)
{
	char t[TOPIC_MAX];
	topic_ref r;
	(void)state;
	for (int k = TOPIC_SVC_STATUS; k <= TOPIC_SVC_GROUP; k++) {
		assert_true(topic_svc(t, sizeof(t), "factory", "scorer", "gw1-42",
				      (enum topic_kind)k) > 0);
		assert_int_equal(topic_parse(t, "factory", &r), k);
		assert_string_equal(r.service, "scorer");
		assert_string_equal(r.instance, "gw1-42");
		assert_string_equal(r.sensor, "");
	}
	topic_svc(t, sizeof(t), "factory", "scorer", NULL, TOPIC_NONE);
	assert_string_equal(t, "factory/_svc/scorer");
	topic_filter(t, sizeof(t), "factory", TOPIC_SVC_STATUS, NULL);
	assert_string_equal(t, "factory/_svc/+/+/status");
	topic_filter(t, sizeof(t), "factory", TOPIC_SVC_GROUP, "scorer");
	assert_string_equal(t, "factory/_svc/scorer/+/group");
	topic_filter(t, sizeof(t), "factory", TOPIC_RAW, NULL);
	assert_string_equal(t, "factory/+/raw");
}

static void test_parse_refuses_other_shapes(void **state)
{
	static const char *const bad[] = {
	    "factory/arm1/raw/x",
	    "factory/arm1/rawx",
	    "factory/arm1/",
	    "factory//raw",
	    "factory/arm 1/raw",
	    "other/arm1/raw",
	    "factoryX/arm1/raw",
	    "factory/arm1",
	    "factory",
	    "factory/_svc/scorer/status",
	    "factory/_svc/scorer/i/bogus",
	    "factory/_svc/scorer/i/status/x",
	    "factory/_svc//i/status",
	    "factory/_svc/s/+/status",
	    "factory/arm+/raw",
	    "factory/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
	    "raw",
	};
	topic_ref r;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (topic_parse(bad[i], "factory", &r) != TOPIC_NONE)
			fail_msg("parsed: %s", bad[i]);
		assert_int_equal(r.kind, TOPIC_NONE);
	}
	/* exactly 64 bytes is a sensor id */
	assert_int_equal(
	    topic_parse(
		"factory/"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/raw",
		"factory", &r),
	    TOPIC_RAW);
	assert_int_equal(topic_parse(NULL, "factory", &r), TOPIC_NONE);
}

static void test_builders_refuse(void **state)
{
	char t[TOPIC_MAX], small[12];
	(void)state;
	assert_int_equal(topic_sensor(t, sizeof(t), "factory", "a/b", TOPIC_RAW),
			 AM_EINVAL);
	assert_int_equal(topic_sensor(t, sizeof(t), "factory", "", TOPIC_RAW), AM_EINVAL);
	assert_int_equal(topic_sensor(t, sizeof(t), "fac+tory", "a", TOPIC_RAW),
			 AM_EINVAL);
	assert_int_equal(topic_sensor(t, sizeof(t), "/factory", "a", TOPIC_RAW),
			 AM_EINVAL);
	assert_int_equal(topic_sensor(t, sizeof(t), "$SYS", "a", TOPIC_RAW), AM_EINVAL);
	assert_int_equal(topic_sensor(t, sizeof(t), "factory", "a", TOPIC_SVC_STATUS),
			 AM_EINVAL);
	assert_int_equal(topic_sensor(small, sizeof(small), "factory", "arm1", TOPIC_RAW),
			 AM_ETOOBIG);
	assert_int_equal(topic_svc(t, sizeof(t), "factory", "a/b", "i", TOPIC_SVC_STATUS),
			 AM_EINVAL);
	assert_int_equal(topic_svc(t, sizeof(t), "factory", "s", "i#", TOPIC_SVC_STATUS),
			 AM_EINVAL);
	assert_int_equal(topic_svc(t, sizeof(t), "factory", "s", "i", TOPIC_RAW),
			 AM_EINVAL);
}

static void test_text_rules(void **state)
{
	char id[80];
	(void)state;
	assert_true(text_sensor_valid("arm1.lpms_B-2"));
	assert_false(text_sensor_valid(""));
	assert_false(text_sensor_valid("arm 1"));
	assert_false(text_sensor_valid("arm/1"));
	assert_false(text_sensor_valid("\xc3\xa9"));
	memset(id, 'a', 64);
	id[64] = '\0';
	assert_true(text_sensor_valid(id));
	id[64] = 'a';
	id[65] = '\0';
	assert_false(text_sensor_valid(id));

	assert_true(text_utf8_valid("plain"));
	assert_true(text_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")); /* é € 😀 */
	assert_false(text_utf8_valid("\xc0\xaf"));         /* overlong '/' */
	assert_false(text_utf8_valid("\xe0\x80\xaf"));     /* overlong, 3 bytes */
	assert_false(text_utf8_valid("\xed\xa0\x80"));     /* surrogate U+D800 */
	assert_false(text_utf8_valid("\xf4\x90\x80\x80")); /* above U+10FFFF */
	assert_false(text_utf8_valid("\xe2\x82"));         /* cut short */
	assert_false(text_utf8_valid("\x80"));             /* lone continuation */
	assert_false(text_utf8_valid(NULL));

	assert_true(text_level_valid("factory/cell", 128, 1));
	assert_false(text_level_valid("factory/cell", 128, 0));
	assert_false(text_level_valid("a b", 128, 0));
	assert_false(text_level_valid("a+", 128, 0));
	assert_false(text_level_valid("abc", 2, 0));
	assert_false(text_level_valid("\xc0\xaf", 128, 0));

	assert_true(topic_name_valid("factory/a/raw"));
	assert_false(topic_name_valid("factory/+/raw"));
	assert_false(topic_name_valid(""));
	assert_false(topic_name_valid("factory/\xed\xa0\x80"));
}

/* ---- moved from test_msg.c with msg_sensor_valid / msg_topic_split ---- */

static void test_sensor_valid(void **state)
{
	char s65[66], s64[65];
	(void)state;
	memset(s65, 'a', 65);
	s65[65] = '\0';
	memcpy(s64, s65, 64);
	s64[64] = '\0';
	assert_true(text_sensor_valid("arm1-lpms"));
	assert_true(text_sensor_valid("A.b_c-9"));
	assert_true(text_sensor_valid("x"));
	assert_true(text_sensor_valid(s64));
	assert_false(text_sensor_valid(s65));
	assert_false(text_sensor_valid(""));
	assert_false(text_sensor_valid(NULL));
	assert_false(text_sensor_valid("a/b"));
	assert_false(text_sensor_valid("a+"));
	assert_false(text_sensor_valid("#"));
	assert_false(text_sensor_valid("a b"));
	assert_false(text_sensor_valid("caf\xc3\xa9"));
	assert_false(text_sensor_valid("a\n"));
}

static void test_topic_split(void **state)
{
	char topic[200];
	topic_ref r;
	(void)state;

	assert_int_equal(topic_parse("factory/arm1-lpms/raw", "factory", &r), TOPIC_RAW);
	assert_string_equal(r.sensor, "arm1-lpms");
	assert_int_equal(topic_parse("plant/a/arm1/ack", "plant/a", &r), TOPIC_ACK);
	assert_string_equal(r.sensor, "arm1");
	assert_int_equal(topic_parse("factory/arm1/repair", "factory", &r), TOPIC_REPAIR);
	assert_string_equal(r.sensor, "arm1");
	assert_true(topic_kind_is_sensor(TOPIC_REPAIR));
	assert_int_equal(topic_parse("arm1/state", "", &r), TOPIC_STATE);
	assert_string_equal(r.sensor, "arm1");

	assert_int_equal(topic_parse("other/arm1/raw", "factory", &r), TOPIC_NONE);
	assert_string_equal(r.sensor, "");
	assert_int_equal(topic_parse("factoryX/arm1/raw", "factory", &r), TOPIC_NONE);
	assert_int_equal(topic_parse("factory/arm1", "factory", &r), TOPIC_NONE);
	assert_int_equal(topic_parse("factory/arm1/", "factory", &r), TOPIC_NONE);
	assert_int_equal(topic_parse("factory//raw", "factory", &r), TOPIC_NONE);
	assert_int_equal(topic_parse("factory/a b/raw", "factory", &r), TOPIC_NONE);
	/* a service topic is not a sensor's */
	assert_false(topic_kind_is_sensor(
	    topic_parse("factory/_svc/scorer/1/status", "factory", &r)));
	assert_string_equal(r.sensor, "");
	assert_int_equal(topic_parse("factory/arm1/raw/x", "factory", &r), TOPIC_NONE);
	assert_int_equal(topic_parse(NULL, "factory", &r), TOPIC_NONE);
	memset(topic, 0, sizeof(topic));
	memcpy(topic, "factory/", 8);
	memset(topic + 8, 's', 65);
	memcpy(topic + 8 + 65, "/raw", 4);
	assert_int_equal(topic_parse(topic, "factory", &r), TOPIC_NONE);
	topic[8 + 64] = '/'; /* 64-char sensor, then "//raw": still bad */
	assert_int_equal(topic_parse(topic, "factory", &r), TOPIC_NONE);
	memmove(topic + 8 + 64, topic + 8 + 65, 5); /* 64-char sensor + "/raw" */
	assert_int_equal(topic_parse(topic, "factory", &r), TOPIC_RAW);
	assert_int_equal(strlen(r.sensor), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sensor_valid),
	    cmocka_unit_test(test_topic_split),
	    cmocka_unit_test(test_build_and_parse_sensor_topics),
	    cmocka_unit_test(test_build_and_parse_svc_topics),
	    cmocka_unit_test(test_parse_refuses_other_shapes),
	    cmocka_unit_test(test_builders_refuse),
	    cmocka_unit_test(test_text_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
