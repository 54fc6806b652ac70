/* test_msg_refusals — every refusal msg.h promises, each with its code and
 * a one-line reason: truncation, wrong types and missing fields, versions,
 * non-finite numbers, value ranges, sensor ids, shapes and caps, and the
 * encoders refusing what the decoders would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msg_test.h"

/* ---- refusals ------------------------------------------------------------- */

static void test_truncated(void **state)
{
	(void)state;
	for (int k = 0; k < K_N; k++) {
		const char *ex = EXAMPLES[k];
		size_t n = strlen(ex);
		assert_int_equal(decode((enum kind)k, ex, n), 0);
		for (size_t len = 0; len < n; len++) {
			char what[64];
			/* a heap copy of exactly len bytes, so ASan sees any overread */
			char *p = malloc(len ? len : 1);
			assert_non_null(p);
			memcpy(p, ex, len);
			snprintf(what, sizeof(what), "kind %d prefix %zu", k, len);
			check_refusal(decode((enum kind)k, p, len), AM_EJSON, what);
			free(p);
		}
	}
	expect_decode(K_ACK, "[1,2]", AM_EJSON, "array");
	expect_decode(K_ACK, "\"x\"", AM_EJSON, "string");
	expect_decode(K_ACK, "{\"v\":1,\"id\":\"a\",\"by\":\"b\",\"t\":1} x", AM_EJSON,
		      "trailing");
	expect_decode(K_ACK, "{\"v\":1,\"id\":\"a\",\"by\":\"b\",\"t\":1}{}", AM_EJSON,
		      "two objects");
	{
		static const char nul_after[] =
		    "{\"v\":1,\"id\":\"a\",\"by\":\"b\",\"t\":1}\0";
		check_refusal(decode(K_ACK, nul_after, sizeof(nul_after) - 1), AM_EJSON,
			      "NUL after object");
		assert_int_equal(decode(K_ACK, nul_after, sizeof(nul_after) - 2), 0);
	}
	check_refusal(decode(K_ACK, NULL, 0), AM_EJSON, "NULL");
}

static void test_wrong_types_and_missing(void **state)
{
	static const struct {
		enum kind k;
		const char *key;
		char type; /* s string, n number, b bool, a array */
	} fields[] = {
	    {K_RAW, "v", 'n'},
	    {K_RAW, "sensor", 's'},
	    {K_RAW, "run", 's'},
	    {K_RAW, "seq", 'n'},
	    {K_RAW, "t0", 'n'},
	    {K_RAW, "rate_hz", 'n'},
	    {K_RAW, "channels", 'a'},
	    {K_RAW, "samples", 'a'},
	    {K_PRED, "v", 'n'},
	    {K_PRED, "sensor", 's'},
	    {K_PRED, "t", 'n'},
	    {K_PRED, "t_start", 'n'},
	    {K_PRED, "n", 'n'},
	    {K_PRED, "score", 'n'},
	    {K_PRED, "threshold", 'n'},
	    {K_PRED, "anomaly", 'b'},
	    {K_PRED, "model", 's'},
	    {K_PRED, "latency_ms", 'n'},
	    {K_STATE, "v", 'n'},
	    {K_STATE, "sensor", 's'},
	    {K_STATE, "state", 's'},
	    {K_STATE, "since", 'n'},
	    {K_STATE, "t", 'n'},
	    {K_STATE, "anomaly_rate", 'n'},
	    {K_STATE, "window_s", 'n'},
	    {K_ALERT, "v", 'n'},
	    {K_ALERT, "id", 's'},
	    {K_ALERT, "sensor", 's'},
	    {K_ALERT, "t", 'n'},
	    {K_ALERT, "from", 's'},
	    {K_ALERT, "to", 's'},
	    {K_ALERT, "severity", 's'},
	    {K_ALERT, "anomaly_rate", 'n'},
	    {K_ACK, "v", 'n'},
	    {K_ACK, "id", 's'},
	    {K_ACK, "by", 's'},
	    {K_ACK, "t", 'n'},
	};
	static const char *const wrong_s[] = {"1", "null", "{}", "true", "[\"a\"]"};
	static const char *const wrong_n[] = {"\"1\"", "null", "[]", "true", "{}"};
	static const char *const wrong_b[] = {"1", "\"true\"", "null", "0"};
	static const char *const wrong_a[] = {"\"x\"", "1", "{}", "null"};
	(void)state;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *const *w = fields[i].type == 's'   ? wrong_s
				       : fields[i].type == 'n' ? wrong_n
				       : fields[i].type == 'b' ? wrong_b
							       : wrong_a;
		size_t nw = fields[i].type == 'b' ? 4 : fields[i].type == 'a' ? 4 : 5;
		expect_edit(fields[i].k, fields[i].key, NULL, AM_EFIELD); /* missing */
		for (size_t j = 0; j < nw; j++)
			expect_edit(fields[i].k, fields[i].key, w[j], AM_EFIELD);
	}
	/* optional fields may be missing, but not have the wrong type */
	expect_edit(K_RAW, "frame0", NULL, 0);
	expect_edit(K_RAW, "frame0", "\"52100\"", AM_EFIELD);
	assert_int_equal(g_raw.has_frame0, 0);
	expect_edit(K_STATE, "acked", "\"yes\"", AM_EFIELD);
	expect_edit(K_STATE, "alert_id", "7", AM_EFIELD);
	/* elements inside the arrays */
	expect_edit(K_RAW, "channels", "[\"a\",2]", AM_EFIELD);
	expect_edit(K_RAW, "samples", "[[1,2,3],{}]", AM_EFIELD);
	expect_edit(K_RAW, "samples", "[[1,2,3],[1,\"2\",3]]", AM_EFIELD);
	expect_edit(K_RAW, "samples", "[[1,2,3],[1,null,3]]", AM_EFIELD);
	expect_edit(K_RAW, "samples", "[[1,2,3],7]", AM_EFIELD);
	assert_non_null(strstr(err, "samples[1]"));
}

static void test_version(void **state)
{
	(void)state;
	for (int k = 0; k < K_N; k++) {
		expect_edit((enum kind)k, "v", "2", AM_EVERSION);
		expect_edit((enum kind)k, "v", "0", AM_EVERSION);
		expect_edit((enum kind)k, "v", "1.5", AM_EVERSION);
		expect_edit((enum kind)k, "v", "-1", AM_EVERSION);
		expect_edit((enum kind)k, "v", "1e999", AM_EVERSION);
		expect_edit((enum kind)k, "v", "1.0", 0);
	}
}

static void test_not_finite(void **state)
{
	static const struct {
		enum kind k;
		const char *key;
	} nums[] = {
	    {K_RAW, "t0"},         {K_RAW, "rate_hz"},
	    {K_RAW, "seq"},        {K_RAW, "frame0"},
	    {K_PRED, "t"},         {K_PRED, "t_start"},
	    {K_PRED, "n"},         {K_PRED, "score"},
	    {K_PRED, "threshold"}, {K_PRED, "latency_ms"},
	    {K_STATE, "since"},    {K_STATE, "t"},
	    {K_STATE, "window_s"}, {K_STATE, "anomaly_rate"},
	    {K_ALERT, "t"},        {K_ALERT, "anomaly_rate"},
	    {K_ACK, "t"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		expect_edit(nums[i].k, nums[i].key, "1e999", AM_EVALUE);
		expect_edit(nums[i].k, nums[i].key, "-1e999", AM_EVALUE);
		/* NaN and Infinity are not JSON at all */
		expect_edit(nums[i].k, nums[i].key, "NaN", AM_EJSON);
		expect_edit(nums[i].k, nums[i].key, "Infinity", AM_EJSON);
		expect_edit(nums[i].k, nums[i].key, "-inf", AM_EJSON);
	}
	expect_edit(K_RAW, "samples", "[[1,2,3],[1,1e999,3]]", AM_EVALUE);
	assert_non_null(strstr(err, "samples[1][1]"));
	expect_edit(K_RAW, "samples", "[[1,2,-1e400]]", AM_EVALUE);
	/* finite as a double but not as a float */
	expect_edit(K_RAW, "samples", "[[1,2,1e39]]", AM_EVALUE);
	expect_edit(K_RAW, "samples", "[[1,-3.5e38,3]]", AM_EVALUE);
	/* FLT_MAX as its shortest text (a bit above FLT_MAX as a double) is fine */
	expect_edit(K_RAW, "samples", "[[1,3.4028235e+38,-3.4028235e+38]]", 0);
	assert_true(g_raw.samples[1] == FLT_MAX && g_raw.samples[2] == -FLT_MAX);
	expect_edit(K_RAW, "samples", "[[1,1e-50,3]]", 0); /* underflow to 0 is a value */
}

static void test_value_ranges(void **state)
{
	(void)state;
	expect_edit(K_RAW, "seq", "-1", AM_EVALUE);
	expect_edit(K_RAW, "seq", "1.5", AM_EVALUE);
	expect_edit(K_RAW, "seq", "9007199254740994", AM_EVALUE);
	expect_edit(K_RAW, "seq", "9007199254740992", 0);
	assert_true(g_raw.seq == 9007199254740992ull);
	expect_edit(K_RAW, "seq", "1e3", 0);
	assert_true(g_raw.seq == 1000);
	expect_edit(K_RAW, "frame0", "-5", AM_EVALUE);
	expect_edit(K_RAW, "frame0", "0.5", AM_EVALUE);
	expect_edit(K_RAW, "rate_hz", "0", AM_EVALUE);
	expect_edit(K_RAW, "rate_hz", "-50", AM_EVALUE);
	expect_edit(K_RAW, "t0", "-1", AM_EVALUE);
	expect_edit(K_RAW, "run", "\"\"", AM_EVALUE);
	expect_edit(K_RAW, "run", "\"a\\nb\"", AM_EVALUE);
	expect_edit(K_RAW, "run", "\"\\u00e9t\\u00e9\"", 0);
	expect_edit(K_RAW, "run", "\"\xff\xfe\"", AM_EVALUE);
	expect_edit(K_RAW, "run", "\"\xed\xa0\x80\"", AM_EVALUE); /* UTF-8 surrogate */
	expect_edit(K_RAW, "run", "\"\xc0\xaf\"", AM_EVALUE);     /* overlong '/' */
	expect_edit(
	    K_RAW, "run",
	    "\"0123456789012345678901234567890123456789012345678901234567890123\"", 0);
	expect_edit(
	    K_RAW, "run",
	    "\"01234567890123456789012345678901234567890123456789012345678901234\"",
	    AM_ETOOBIG);
	expect_edit(K_RAW, "channels", "[]", AM_EVALUE);
	expect_edit(K_RAW, "channels", "[\"a\",\"\",\"c\"]", AM_EVALUE);
	expect_edit(K_RAW, "channels", "[\"a\",\"b\",\"a\"]", AM_EVALUE);
	assert_non_null(strstr(err, "duplicate"));
	expect_edit(K_RAW, "channels",
		    "[\"a\",\"b\",\"012345678901234567890123456789012\"]", AM_ETOOBIG);
	expect_edit(K_RAW, "channels",
		    "[\"a\",\"b\",\"01234567890123456789012345678901\"]", 0);
	expect_edit(K_RAW, "samples", "[]", 0); /* an empty batch is well-formed */
	assert_int_equal(g_raw.n_samples, 0);
	expect_edit(K_PRED, "n", "-1", AM_EVALUE);
	expect_edit(K_PRED, "n", "4294967296", AM_EVALUE);
	expect_edit(K_PRED, "n", "4294967295", 0);
	expect_edit(K_PRED, "latency_ms", "-0.1", AM_EVALUE);
	expect_edit(K_PRED, "model", "\"\"", AM_EVALUE);
	expect_edit(
	    K_PRED, "model",
	    "\"01234567890123456789012345678901234567890123456789012345678901234\"",
	    AM_ETOOBIG);
	expect_edit(K_STATE, "state", "\"ok\"", AM_EVALUE);
	expect_edit(K_STATE, "state", "\"BROKEN_AND_VERY_LONG_NAME\"", AM_EVALUE);
	expect_edit(K_STATE, "anomaly_rate", "1.01", AM_EVALUE);
	expect_edit(K_STATE, "anomaly_rate", "-0.01", AM_EVALUE);
	expect_edit(K_STATE, "window_s", "0", AM_EVALUE);
	expect_edit(K_STATE, "acked", "true", AM_EFIELD); /* acked without acked_by */
	expect_edit(K_ALERT, "to", "\"DOWN\"", AM_EVALUE);
	expect_edit(K_ALERT, "severity", "\"\"", AM_EVALUE);
	expect_edit(K_ALERT, "severity", "\"0123456789abcde\"", 0);
	expect_edit(K_ALERT, "severity", "\"0123456789abcdef\"", AM_ETOOBIG);
	expect_edit(K_ALERT, "id", "\"\"", AM_EVALUE);
	expect_edit(K_ACK, "by", "\"\"", AM_EVALUE);
	expect_edit(K_ACK, "t", "-5", AM_EVALUE);
	{
		char id[200];
		memset(id, 'i', sizeof(id));
		id[0] = '"';
		id[MSG_ID_MAX + 1] = '"';
		id[MSG_ID_MAX + 2] = '\0';
		expect_edit(K_ACK, "id", id, 0);
		id[MSG_ID_MAX + 1] = 'i';
		id[MSG_ID_MAX + 2] = '"';
		id[MSG_ID_MAX + 3] = '\0';
		expect_edit(K_ACK, "id", id, AM_ETOOBIG);
	}
	/* \u0000 would cut the string short inside cJSON: refused */
	expect_edit(K_ACK, "by", "\"op\\u0000/x\"", AM_EVALUE);
	expect_edit(K_ACK, "by", "\"op\\\\u0000x\"",
		    0); /* an escaped backslash is fine */
}

static void test_bad_sensors(void **state)
{
	static const char *const bad[] = {
	    "\"\"",
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", /* 65
										      */
	    "\"arm/1\"",
	    "\"arm+\"",
	    "\"#\"",
	    "\"arm 1\"",
	    "\"caf\xc3\xa9\"",
	    "\"caf\\u00e9\"",
	    "\"arm\\u0000\"",
	    "\"a\\tb\"",
	};
	(void)state;
	for (int k = 0; k < K_N; k++) {
		if (k == K_ACK)
			continue;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			expect_edit((enum kind)k, "sensor", bad[i], AM_EVALUE);
		expect_edit((enum kind)k, "sensor",
			    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "aaaaaa\"",
			    0);
	}
}

static void test_shape_and_caps(void **state)
{
	char *big;
	size_t cap = MSG_MAX_PAYLOAD + 16, n;
	(void)state;

	expect_edit(K_RAW, "samples", "[[1,2,3],[1,2]]", AM_ESHAPE);
	assert_string_equal(err, "samples[1]: 2 values, expected 3 (channels)");
	expect_edit(K_RAW, "samples", "[[1,2,3,4]]", AM_ESHAPE);
	expect_edit(K_RAW, "samples", "[[]]", AM_ESHAPE);
	expect_edit(K_RAW, "samples", "[[1,2,3],[1,2,3],[1,2,3,\"x\"]]", AM_ESHAPE);

	big = malloc(cap + 1);
	assert_non_null(big);
	/* 33 channels */
	n = (size_t)snprintf(big, cap, "[");
	for (int j = 0; j < 33; j++)
		n += (size_t)snprintf(big + n, cap - n, "%s\"c%d\"", j ? "," : "", j);
	snprintf(big + n, cap - n, "]");
	expect_edit(K_RAW, "channels", big, AM_ETOOBIG);
	/* 4097 rows of the 3 channels */
	n = (size_t)snprintf(big, cap, "[");
	for (int i = 0; i < MSG_MAX_SAMPLES + 1; i++)
		n += (size_t)snprintf(big + n, cap - n, "%s[1,2,3]", i ? "," : "");
	snprintf(big + n, cap - n, "]");
	expect_edit(K_RAW, "samples", big, AM_ETOOBIG);
	/* 4096 rows x 17 channels: rows and channels under their caps, values over */
	{
		char *chans = malloc(1024), *s;
		size_t m = (size_t)snprintf(chans, 1024, "[");
		for (int j = 0; j < 17; j++)
			m += (size_t)snprintf(chans + m, 1024 - m, "%s\"c%d\"",
					      j ? "," : "", j);
		snprintf(chans + m, 1024 - m, "]");
		n = (size_t)snprintf(big, cap, "[");
		for (int i = 0; i < MSG_MAX_SAMPLES; i++)
			n += (size_t)snprintf(big + n, cap - n, "%s[%s]", i ? "," : "",
					      "0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6");
		snprintf(big + n, cap - n, "]");
		s = edit(RAW_EX, "channels", chans);
		free(chans);
		chans = edit(s, "samples", big);
		free(s);
		check_refusal(decode(K_RAW, chans, strlen(chans)), AM_ETOOBIG, "4096x17");
		free(chans);
	}
	/* payload cap: exactly MSG_MAX_PAYLOAD bytes (padded) decodes, one more does not
	 */
	n = strlen(ACK_EX);
	memcpy(big, ACK_EX, n);
	memset(big + n, ' ', cap - n);
	assert_int_equal(decode(K_ACK, big, MSG_MAX_PAYLOAD), 0);
	check_refusal(decode(K_ACK, big, MSG_MAX_PAYLOAD + 1), AM_ETOOBIG, "payload cap");
	/* the cap is checked before parsing: garbage over it is ETOOBIG, not EJSON */
	memset(big, 'x', cap);
	check_refusal(decode(K_RAW, big, cap), AM_ETOOBIG, "garbage over cap");
	free(big);
}

/* ---- encoders refuse what decoders would --------------------------------- */

static void test_encoder_refusals(void **state)
{
	static char out[MSG_MAX_PAYLOAD + 64];
	msg_raw m;
	size_t len = 123, ok_len;
	(void)state;

	msg_raw_init(&m);
	fill_raw(&m, 4, 3);
#define ENC_RAW(want, what)                                                              \
	do {                                                                             \
		err[0] = '\0';                                                           \
		check_refusal(                                                           \
		    msg_raw_encode(&m, out, sizeof(out), &len, err, sizeof(err)), want,  \
		    what);                                                               \
		assert_int_equal(len, 0);                                                \
	} while (0)

	m.samples[5] = NAN;
	ENC_RAW(AM_EVALUE, "NaN sample");
	assert_non_null(strstr(err, "samples[1][2]"));
	m.samples[5] = -INFINITY;
	ENC_RAW(AM_EVALUE, "inf sample");
	m.samples[5] = 1;
	snprintf(m.sensor, sizeof(m.sensor), "arm/1");
	ENC_RAW(AM_EVALUE, "bad sensor");
	m.sensor[0] = '\0';
	ENC_RAW(AM_EVALUE, "empty sensor");
	memset(m.sensor, 'a', sizeof(m.sensor)); /* not even terminated */
	ENC_RAW(AM_EVALUE, "unterminated sensor");
	snprintf(m.sensor, sizeof(m.sensor), "ok");
	m.rate_hz = 0;
	ENC_RAW(AM_EVALUE, "rate 0");
	m.rate_hz = NAN;
	ENC_RAW(AM_EVALUE, "rate NaN");
	m.rate_hz = 50;
	m.t0 = INFINITY;
	ENC_RAW(AM_EVALUE, "t0 inf");
	m.t0 = 1;
	m.seq = (1ull << 53) + 1;
	ENC_RAW(AM_EVALUE, "seq over 2^53");
	m.seq = 1;
	m.frame0 = -1;
	ENC_RAW(AM_EVALUE, "negative frame0");
	m.frame0 = 1;
	snprintf(m.channels[2], sizeof(m.channels[2]), "%s", m.channels[0]);
	ENC_RAW(AM_EVALUE, "duplicate channel");
	memset(m.channels[2], 'c', sizeof(m.channels[2])); /* unterminated */
	ENC_RAW(AM_ETOOBIG, "channel name over cap");
	snprintf(m.channels[2], sizeof(m.channels[2]), "z");
	m.run[0] = '\0';
	ENC_RAW(AM_EVALUE, "empty run");
	snprintf(m.run, sizeof(m.run), "r");
	m.n_channels = 0;
	ENC_RAW(AM_EVALUE, "no channels");
	m.n_channels = MSG_MAX_CHANNELS + 1;
	ENC_RAW(AM_ETOOBIG, "33 channels");
	m.n_channels = 3;
	m.n_samples = m.samples_cap / 3 + 1; /* more rows than the storage holds */
	ENC_RAW(AM_ESHAPE, "rows beyond storage");
	m.n_samples = MSG_MAX_SAMPLES + 1;
	ENC_RAW(AM_ETOOBIG, "too many rows");
	m.n_samples = MSG_MAX_SAMPLES;
	m.n_channels = 17; /* rows and channels under their caps, values over */
	ENC_RAW(AM_ETOOBIG, "too many values");
	m.n_channels = 3;
	m.n_samples = 4;
	assert_int_equal(msg_raw_encode(&m, out, sizeof(out), &ok_len, err, sizeof(err)),
			 0);
	assert_int_equal(msg_raw_decode(out, ok_len, &g_raw, err, sizeof(err)), 0);

	/* output cap: every buffer smaller than len + 1 is refused, cleanly */
	for (size_t cap = 0; cap <= ok_len; cap++) {
		char *o = cap ? malloc(cap) : NULL;
		len = 7;
		err[0] = '\0';
		check_refusal(msg_raw_encode(&m, o, cap, &len, err, sizeof(err)),
			      AM_ETOOBIG, "small cap");
		assert_int_equal(len, 0);
		free(o);
	}
	{
		char *o = malloc(ok_len + 1);
		assert_int_equal(
		    msg_raw_encode(&m, o, ok_len + 1, &len, err, sizeof(err)), 0);
		assert_int_equal(len, ok_len);
		assert_int_equal(o[len], '\0');
		free(o);
	}

	/* a message within every count cap but over MSG_MAX_PAYLOAD once written */
	{
		/* a float whose shortest text has 9 digits: "-1.2345679xe-30" */
		float f = -1.2345678e-30f;
		char t[32];
		for (;;) {
			snprintf(t, sizeof(t), "%.8g", (double)f);
			if (strtof(t, NULL) != f)
				break;
			f = nextafterf(f, 0);
		}
		fill_raw(&m, MSG_MAX_SAMPLES, 16);
		for (size_t i = 0; i < m.n_samples * 16; i++)
			m.samples[i] = f;
	}
	ENC_RAW(AM_ETOOBIG, "over MSG_MAX_PAYLOAD");
	msg_raw_cleanup(&m);
#undef ENC_RAW
	{
		msg_prediction p;
		msg_state s;
		msg_alert a;
		msg_ack k;
		char o[512];
		assert_int_equal(
		    msg_prediction_decode(PRED_EX, strlen(PRED_EX), &p, err, sizeof(err)),
		    0);
		p.score = NAN;
		check_refusal(
		    msg_prediction_encode(&p, o, sizeof(o), &len, err, sizeof(err)),
		    AM_EVALUE, "NaN score");
		p.score = 1;
		p.sensor[0] = '\0';
		check_refusal(
		    msg_prediction_encode(&p, o, sizeof(o), &len, err, sizeof(err)),
		    AM_EVALUE, "prediction empty sensor");
		assert_int_equal(
		    msg_state_decode(STATE_EX, strlen(STATE_EX), &s, err, sizeof(err)),
		    0);
		s.acked = 1;
		check_refusal(msg_state_encode(&s, o, sizeof(o), &len, err, sizeof(err)),
			      AM_EVALUE, "acked without acked_by");
		s.acked = 0;
		s.state = (state_kind)9;
		check_refusal(msg_state_encode(&s, o, sizeof(o), &len, err, sizeof(err)),
			      AM_EVALUE, "unknown state");
		s.state = STATE_OK;
		s.anomaly_rate = 2;
		check_refusal(msg_state_encode(&s, o, sizeof(o), &len, err, sizeof(err)),
			      AM_EVALUE, "rate 2");
		assert_int_equal(
		    msg_alert_decode(ALERT_EX, strlen(ALERT_EX), &a, err, sizeof(err)),
		    0);
		a.severity[0] = '\0';
		check_refusal(msg_alert_encode(&a, o, sizeof(o), &len, err, sizeof(err)),
			      AM_EVALUE, "empty severity");
		memset(a.severity, 'x', sizeof(a.severity));
		check_refusal(msg_alert_encode(&a, o, sizeof(o), &len, err, sizeof(err)),
			      AM_ETOOBIG, "unterminated severity");
		assert_int_equal(
		    msg_ack_decode(ACK_EX, strlen(ACK_EX), &k, err, sizeof(err)), 0);
		k.by[0] = '\0';
		check_refusal(msg_ack_encode(&k, o, sizeof(o), &len, err, sizeof(err)),
			      AM_EVALUE, "empty by");
		snprintf(k.by, sizeof(k.by), "op");
		check_refusal(msg_ack_encode(&k, o, 10, &len, err, sizeof(err)),
			      AM_ETOOBIG, "ack small cap");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_types_and_missing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_finite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_value_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_sensors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shape_and_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_encoder_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
