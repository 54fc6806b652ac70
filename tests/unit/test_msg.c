/* test_msg — the v1 message codec: state names and error codes, round
 * trips of every sensor message type, the contract's examples, and a check
 * that decoding reuses raw sample storage. Refusals are in
 * test_msg_refusals.c, the seeded fuzz in test_msg_fuzz.c, the _svc
 * messages in test_msg_svc.c; shared helpers in msg_test.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msg_test.h"

/* ---- names and errors ------------------------------------------------------ */

static void test_state_names_and_errors(void **state)
{
	state_kind k = STATE_OK;
	(void)state;
	for (int s = STATE_OK; s <= STATE_STALE; s++) {
		assert_int_equal(state_parse(state_name((state_kind)s), &k), 0);
		assert_int_equal((int)k, s);
	}
	assert_string_equal(state_name(STATE_FAILURE), "FAILURE");
	assert_int_equal(state_parse("ok", &k), -1);
	assert_int_equal(state_parse("", &k), -1);
	assert_int_equal(state_parse(NULL, &k), -1);
	assert_int_equal(state_parse(state_name((state_kind)7), &k), -1);
	{
		static const int codes[] = {AM_EJSON,    AM_ETOOBIG, AM_EFIELD, AM_EVALUE,
					    AM_EVERSION, AM_ESHAPE,  AM_ENOMEM};
		size_t n = sizeof(codes) / sizeof(codes[0]);
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				assert_string_not_equal(am_strerror(codes[i]),
							am_strerror(codes[j]));
		assert_string_not_equal(am_strerror(AM_EJSON), am_strerror(-99));
	}
}

/* ---- round trips ----------------------------------------------------------- */

static void test_raw_round_trip(void **state)
{
	static char out[MSG_MAX_PAYLOAD + 1];
	msg_raw m;
	size_t len = 0;
	(void)state;

	msg_raw_init(&m);
	for (int iter = 0; iter < 50; iter++) {
		fill_raw(&m, 1 + rng() % 64, 1 + rng() % 16);
		m.has_frame0 = iter % 2;
		m.samples[0] = FLT_MAX;
		if (m.n_samples * m.n_channels > 3) {
			m.samples[1] = -FLT_MAX;
			m.samples[2] = FLT_TRUE_MIN;
			m.samples[3] = 0.1f;
		}
		err[0] = '\0';
		assert_int_equal(
		    msg_raw_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
		assert_int_equal(len, strlen(out));
		assert_int_equal(decode(K_RAW, out, len), 0);
		assert_raw_equal(&m, &g_raw);
	}
	/* integers are written as integers, not 1e+06 */
	fill_raw(&m, 1, 1);
	m.seq = 1000000;
	m.frame0 = 2000000;
	assert_int_equal(msg_raw_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "\"seq\":1000000,"));
	assert_non_null(strstr(out, "\"frame0\":2000000,"));
	assert_non_null(strstr(out, "\"v\":1,"));
	/* the replay marker: written only when set, read back; absent, it is 0
	 * even in a struct that held a replay before */
	assert_null(strstr(out, "replay"));
	m.replay = 1;
	assert_int_equal(msg_raw_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "\"seq\":1000000,\"replay\":true,"));
	assert_int_equal(decode(K_RAW, out, len), 0);
	assert_int_equal(g_raw.replay, 1);
	assert_raw_equal(&m, &g_raw);
	assert_int_equal(decode(K_RAW, RAW_EX, strlen(RAW_EX)), 0);
	assert_int_equal(g_raw.replay, 0);
	msg_raw_cleanup(&m);
	msg_raw_cleanup(&m); /* idempotent */
	msg_raw_cleanup(NULL);
}

static void test_prediction_round_trip(void **state)
{
	char out[1024];
	msg_prediction m, d;
	size_t len;
	(void)state;
	memset(&m, 0, sizeof(m));
	snprintf(m.sensor, sizeof(m.sensor), "arm1-lpms");
	snprintf(m.model, sizeof(m.model), "lpms-linacc@3 \xc3\xa9\"q\"");
	m.t = 1764151204.12;
	m.t_start = 1764151200.14;
	m.n = UINT32_MAX;
	m.score = 0.1 + 0.2;
	m.threshold = -1e-300;
	m.anomaly = 1;
	m.latency_ms = 0.41;
	assert_int_equal(
	    msg_prediction_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
	memset(&d, 0x55, sizeof(d));
	assert_int_equal(msg_prediction_decode(out, len, &d, err, sizeof(err)), 0);
	assert_string_equal(d.sensor, m.sensor);
	assert_string_equal(d.model, m.model);
	assert_true(d.t == m.t && d.t_start == m.t_start && d.n == m.n);
	assert_true(d.score == m.score && d.threshold == m.threshold);
	assert_true(d.latency_ms == m.latency_ms);
	assert_int_equal(d.anomaly, 1);
	m.anomaly = 0;
	assert_int_equal(
	    msg_prediction_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
	assert_int_equal(msg_prediction_decode(out, len, &d, err, sizeof(err)), 0);
	assert_int_equal(d.anomaly, 0);
}

/* "top" (the channels' shares of a score): optional in prediction and
 * alert, written only when set, read back exactly; refused when malformed. */
static void test_top(void **state)
{
	char out[1024];
	msg_prediction m, d;
	msg_alert a, da;
	size_t len;
	(void)state;
	assert_int_equal(
	    msg_prediction_decode(PRED_EX, strlen(PRED_EX), &m, err, sizeof(err)), 0);
	assert_int_equal(m.has_top, 0);
	assert_int_equal(
	    msg_prediction_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
	assert_null(strstr(out, "top"));
	m.has_top = 1;
	m.top.n = 2;
	snprintf(m.top.c[0].channel, sizeof(m.top.c[0].channel), "linacc_x");
	m.top.c[0].share = 0.71;
	snprintf(m.top.c[1].channel, sizeof(m.top.c[1].channel), "linacc_z");
	m.top.c[1].share = 0.18;
	assert_int_equal(
	    msg_prediction_encode(&m, out, sizeof(out), &len, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "\"top\":[[\"linacc_x\",0.71],[\"linacc_z\",0.18]]"));
	memset(&d, 0x55, sizeof(d));
	assert_int_equal(msg_prediction_decode(out, len, &d, err, sizeof(err)), 0);
	assert_int_equal(d.has_top, 1);
	assert_int_equal(d.top.n, 2);
	assert_string_equal(d.top.c[1].channel, "linacc_z");
	assert_true(d.top.c[0].share == 0.71 && d.top.c[1].share == 0.18);

	assert_int_equal(
	    msg_alert_decode(ALERT_EX, strlen(ALERT_EX), &a, err, sizeof(err)), 0);
	assert_int_equal(a.has_top, 0);
	a.has_top = 1;
	a.top = d.top;
	a.top.n = 1;
	assert_int_equal(msg_alert_encode(&a, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "\"top\":[[\"linacc_x\",0.71]]"));
	assert_int_equal(msg_alert_decode(out, len, &da, err, sizeof(err)), 0);
	assert_int_equal(da.top.n, 1);
	assert_string_equal(da.top.c[0].channel, "linacc_x");

	/* an empty list is a list */
	expect_edit(K_PRED, "top", "[]", 0);
	expect_edit(K_ALERT, "top", "[[\"linacc_x\",1]]", 0);
	expect_edit(K_PRED, "top", "[[\"a\",0.5],[\"b\",0.2],[\"c\",0.1],[\"d\",0.1]]",
		    AM_ETOOBIG);
	expect_edit(K_PRED, "top", "[[\"linacc_x\",1.5]]", AM_EVALUE);
	expect_edit(K_PRED, "top", "[[\"linacc_x\",-0.1]]", AM_EVALUE);
	expect_edit(K_PRED, "top", "[[\"\",0.5]]", AM_EVALUE);
	expect_edit(K_PRED, "top", "[[\"a\",0.5],[\"a\",0.1]]", AM_EVALUE);
	expect_edit(K_PRED, "top", "[[\"linacc_x\"]]", AM_EFIELD);
	expect_edit(K_PRED, "top", "[[0.5,\"linacc_x\"]]", AM_EFIELD);
	expect_edit(K_ALERT, "top", "{\"linacc_x\":0.5}", AM_EFIELD);
	expect_edit(K_PRED, "top", "[[\"a123456789a123456789a123456789abc\",0.5]]",
		    AM_ETOOBIG);
	/* the encoder refuses what the decoder would */
	m.top.c[1].share = NAN;
	assert_int_equal(
	    msg_prediction_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
	    AM_EVALUE);
	m.top.c[1].share = 0.1;
	m.top.n = MSG_TOP_MAX + 1;
	assert_int_equal(
	    msg_prediction_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
	    AM_ETOOBIG);
}

static void test_state_round_trip(void **state)
{
	char out[1024];
	msg_state m, d;
	size_t len;
	(void)state;
	memset(&m, 0, sizeof(m));
	snprintf(m.sensor, sizeof(m.sensor), "arm1-lpms");
	m.state = STATE_STALE;
	m.since = 1764151190.0;
	m.t = 1764151204.1;
	m.anomaly_rate = 1.0 / 3.0;
	m.window_s = 10;
	/* not acked, no alert id: neither optional field is written */
	assert_int_equal(msg_state_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_null(strstr(out, "acked"));
	assert_null(strstr(out, "alert_id"));
	memset(&d, 0x55, sizeof(d));
	assert_int_equal(msg_state_decode(out, len, &d, err, sizeof(err)), 0);
	assert_string_equal(d.sensor, m.sensor);
	assert_int_equal((int)d.state, STATE_STALE);
	assert_true(d.since == m.since && d.t == m.t && d.window_s == m.window_s);
	assert_true(d.anomaly_rate == m.anomaly_rate);
	assert_int_equal(d.acked, 0);
	assert_string_equal(d.acked_by, "");
	assert_string_equal(d.alert_id, "");
	/* acked: both written and read back */
	m.state = STATE_FAILURE;
	m.acked = 1;
	snprintf(m.acked_by, sizeof(m.acked_by), "operator-7");
	snprintf(m.alert_id, sizeof(m.alert_id), "arm1-lpms-1764151190-1");
	assert_int_equal(msg_state_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "\"acked\":true"));
	assert_non_null(strstr(out, "\"acked_by\":\"operator-7\""));
	assert_int_equal(msg_state_decode(out, len, &d, err, sizeof(err)), 0);
	assert_int_equal(d.acked, 1);
	assert_string_equal(d.acked_by, "operator-7");
	assert_string_equal(d.alert_id, m.alert_id);
	assert_int_equal((int)d.state, STATE_FAILURE);
	assert_true(d.anomaly_rate == m.anomaly_rate);
	/* acked_by is not written when not acked */
	m.acked = 0;
	assert_int_equal(msg_state_encode(&m, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	assert_null(strstr(out, "acked"));
	assert_int_equal(msg_state_decode(out, len, &d, err, sizeof(err)), 0);
	assert_int_equal(d.acked, 0);
	assert_string_equal(d.acked_by, "");
}

static void test_alert_ack_round_trip(void **state)
{
	char out[1024];
	msg_alert a, da;
	msg_ack k, dk;
	size_t len;
	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&k, 0, sizeof(k));
	snprintf(a.id, sizeof(a.id), "arm1-lpms-1764151190-1");
	snprintf(a.sensor, sizeof(a.sensor), "arm1-lpms");
	a.t = 1764151190.25;
	a.from = STATE_OK;
	a.to = STATE_FAILURE;
	snprintf(a.severity, sizeof(a.severity), "critical");
	a.anomaly_rate = 0.62;
	assert_int_equal(msg_alert_encode(&a, out, sizeof(out), &len, err, sizeof(err)),
			 0);
	memset(&da, 0x55, sizeof(da));
	assert_int_equal(msg_alert_decode(out, len, &da, err, sizeof(err)), 0);
	assert_string_equal(da.id, a.id);
	assert_string_equal(da.sensor, a.sensor);
	assert_string_equal(da.severity, a.severity);
	assert_true(da.t == a.t && da.anomaly_rate == a.anomaly_rate);
	assert_int_equal((int)da.from, STATE_OK);
	assert_int_equal((int)da.to, STATE_FAILURE);

	snprintf(k.id, sizeof(k.id), "arm1-lpms-1764151190-1");
	snprintf(k.by, sizeof(k.by), "operator-7");
	k.t = 1764151300.5;
	assert_int_equal(msg_ack_encode(&k, out, sizeof(out), &len, err, sizeof(err)), 0);
	memset(&dk, 0x55, sizeof(dk));
	assert_int_equal(msg_ack_decode(out, len, &dk, err, sizeof(err)), 0);
	assert_string_equal(dk.id, k.id);
	assert_string_equal(dk.by, k.by);
	assert_true(dk.t == k.t);
}

/* ---- contract examples ------------------------------------------------------ */

static void test_contract_examples(void **state)
{
	msg_prediction p;
	msg_state s;
	msg_alert a;
	msg_ack k;
	(void)state;

	assert_int_equal(msg_raw_decode(RAW_EX, strlen(RAW_EX), &g_raw, err, sizeof(err)),
			 0);
	assert_string_equal(g_raw.sensor, "arm1-lpms");
	assert_string_equal(g_raw.run, "6f2a91c0");
	assert_true(g_raw.seq == 1042);
	assert_true(g_raw.t0 == 1764151200.120);
	assert_true(g_raw.rate_hz == 50);
	assert_int_equal(g_raw.has_frame0, 1);
	assert_true(g_raw.frame0 == 52100);
	assert_int_equal(g_raw.n_channels, 3);
	assert_string_equal(g_raw.channels[2], "linacc_z");
	assert_int_equal(g_raw.n_samples, 2);
	assert_true(g_raw.samples[0] == 0.0011f);
	assert_true(g_raw.samples[4] == -0.0081f);

	assert_int_equal(
	    msg_prediction_decode(PRED_EX, strlen(PRED_EX), &p, err, sizeof(err)), 0);
	assert_true(p.n == 200 && p.score == 0.0123 && p.threshold == 0.0158);
	assert_int_equal(p.anomaly, 0);
	assert_string_equal(p.model, "lpms-linacc@3");
	assert_true(p.latency_ms == 0.41);

	assert_int_equal(
	    msg_state_decode(STATE_EX, strlen(STATE_EX), &s, err, sizeof(err)), 0);
	assert_int_equal((int)s.state, STATE_FAILURE);
	assert_true(s.anomaly_rate == 0.62 && s.window_s == 10 &&
		    s.since == 1764151190.0);
	assert_int_equal(s.acked, 0);
	assert_string_equal(s.alert_id, "");

	assert_int_equal(
	    msg_alert_decode(ALERT_EX, strlen(ALERT_EX), &a, err, sizeof(err)), 0);
	assert_string_equal(a.id, "arm1-lpms-1764151190-1");
	assert_int_equal((int)a.from, STATE_OK);
	assert_int_equal((int)a.to, STATE_FAILURE);
	assert_string_equal(a.severity, "critical");

	assert_int_equal(msg_ack_decode(ACK_EX, strlen(ACK_EX), &k, err, sizeof(err)), 0);
	assert_string_equal(k.by, "operator-7");
	assert_true(k.t == 1764151300.0);

	/* unknown extra fields are allowed (services may add fields) */
	for (int i = 0; i < K_N; i++) {
		char *x = edit(EXAMPLES[i], "extra", "{\"nested\":[1,2,{\"a\":null}]}");
		assert_int_equal(decode_s((enum kind)i, x), 0);
		free(x);
	}
	/* whitespace around the value is fine */
	assert_int_equal(
	    decode_s(K_ACK, " \n{\"v\":1,\"id\":\"a\",\"by\":\"b\",\"t\":1}\r\n\t"), 0);
}

/* ---- storage reuse --------------------------------------------------------- */

static void test_decode_reuses_storage(void **state)
{
	static char out[64 * 1024];
	static char *payloads[8];
	static size_t lens[8];
	msg_raw m;
	float *block;
	size_t cap;
	(void)state;

	msg_raw_init(&m);
	rng_state = 777;
	for (int p = 0; p < 8; p++) { /* 8 sizes, the largest first */
		fill_raw(&m, (size_t)(200 - 25 * p), 3 + (size_t)p % 4);
		assert_int_equal(
		    msg_raw_encode(&m, out, sizeof(out), &lens[p], err, sizeof(err)), 0);
		payloads[p] = malloc(lens[p]);
		memcpy(payloads[p], out, lens[p]);
	}
	msg_raw_cleanup(&m);
	msg_raw_init(&m);
	for (int p = 0; p < 8; p++) /* warm-up: the block grows to the largest */
		assert_int_equal(
		    msg_raw_decode(payloads[p], lens[p], &m, err, sizeof(err)), 0);
	block = m.samples;
	cap = m.samples_cap;
	assert_true(cap >= m.n_samples * m.n_channels);
	for (int i = 0; i < 10000; i++) {
		int p = (int)(rng() % 8);
		assert_int_equal(
		    msg_raw_decode(payloads[p], lens[p], &m, err, sizeof(err)), 0);
		assert_int_equal(m.samples_cap, cap);
		assert_ptr_equal(m.samples, block);
		assert_int_equal(m.n_samples, (size_t)(200 - 25 * p));
	}
	/* a refused payload leaves a consistent, reusable struct */
	assert_int_not_equal(
	    msg_raw_decode(payloads[1], lens[1] - 1, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n_samples, 0);
	assert_int_equal(msg_raw_decode(payloads[1], lens[1], &m, err, sizeof(err)), 0);
	assert_ptr_equal(m.samples, block);
	for (int p = 0; p < 8; p++)
		free(payloads[p]);
	msg_raw_cleanup(&m);
}

static void test_reserve(void **state)
{
	msg_raw m;
	(void)state;
	msg_raw_init(&m);
	assert_null(m.samples);
	m.n_channels = 3;
	assert_int_equal(msg_raw_reserve(&m, 10), 0);
	assert_true(m.samples_cap >= 30);
	m.samples[29] = 1; /* ASan: the block really holds 30 floats */
	assert_int_equal(msg_raw_reserve(&m, MSG_MAX_SAMPLES + 1), AM_ETOOBIG);
	m.n_channels = 16;
	assert_int_equal(msg_raw_reserve(&m, MSG_MAX_SAMPLES), 0);
	assert_true(m.samples_cap >= MSG_MAX_VALUES);
	m.samples[MSG_MAX_VALUES - 1] = 1;
	m.n_channels = 17;
	assert_int_equal(msg_raw_reserve(&m, MSG_MAX_SAMPLES), AM_ETOOBIG);
	m.n_channels = MSG_MAX_CHANNELS + 1;
	assert_int_equal(msg_raw_reserve(&m, 1), AM_ETOOBIG);
	msg_raw_cleanup(&m);
	assert_null(m.samples);
	assert_int_equal(m.samples_cap, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_names_and_errors),
	    cmocka_unit_test_setup_teardown(test_raw_round_trip, setup, teardown),
	    cmocka_unit_test(test_prediction_round_trip),
	    cmocka_unit_test(test_top),
	    cmocka_unit_test(test_state_round_trip),
	    cmocka_unit_test(test_alert_ack_round_trip),
	    cmocka_unit_test_setup_teardown(test_contract_examples, setup, teardown),
	    cmocka_unit_test(test_decode_reuses_storage),
	    cmocka_unit_test(test_reserve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
