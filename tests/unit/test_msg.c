/* test_msg — the v1 message codec: round trips of every message type, the
 * contract's examples, and every refusal the header promises (each with its
 * code and a one-line reason), plus a seeded fuzz of random bytes and
 * mutated payloads, and a check that decoding reuses raw sample storage.
 *
 * Payload variants are made by editing a valid example through cJSON
 * (replace one field by raw JSON text, or drop it), so each case differs
 * from a valid message in exactly one place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msg.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char RAW_EX[] =
    "{\"v\":1,\"sensor\":\"arm1-lpms\",\"run\":\"6f2a91c0\",\"seq\":1042,"
    "\"t0\":1764151200.120,\"rate_hz\":50,\"frame0\":52100,"
    "\"channels\":[\"linacc_x\",\"linacc_y\",\"linacc_z\"],"
    "\"samples\":[[0.0011,-0.0088,0.0049],[0.0016,-0.0081,0.0044]]}";
static const char PRED_EX[] =
    "{\"v\":1,\"sensor\":\"arm1-lpms\",\"t\":1764151204.120,\"t_start\":1764151200.140,"
    "\"n\":200,\"score\":0.0123,\"threshold\":0.0158,\"anomaly\":false,"
    "\"model\":\"lpms-linacc@3\",\"latency_ms\":0.41}";
static const char STATE_EX[] =
    "{\"v\":1,\"sensor\":\"arm1-lpms\",\"state\":\"FAILURE\",\"since\":1764151190.0,"
    "\"t\":1764151204.1,\"anomaly_rate\":0.62,\"window_s\":10}";
static const char ALERT_EX[] =
    "{\"v\":1,\"id\":\"arm1-lpms-1764151190-1\",\"sensor\":\"arm1-lpms\","
    "\"t\":1764151190.0,\"from\":\"OK\",\"to\":\"FAILURE\",\"severity\":\"critical\","
    "\"anomaly_rate\":0.62}";
static const char ACK_EX[] = "{\"v\":1,\"id\":\"arm1-lpms-1764151190-1\",\"by\":"
			     "\"operator-7\",\"t\":1764151300.0}";

enum kind { K_RAW, K_PRED, K_STATE, K_ALERT, K_ACK, K_N };
static const char *const EXAMPLES[K_N] = {RAW_EX, PRED_EX, STATE_EX, ALERT_EX, ACK_EX};

static char err[MSG_ERR_MAX];
static msg_raw g_raw;

/* Decode json as a message of kind k (err reset first). */
static int decode(enum kind k, const char *json, size_t len)
{
	msg_prediction p;
	msg_state s;
	msg_alert a;
	msg_ack ack;
	err[0] = '\0';
	switch (k) {
	case K_RAW:
		return msg_raw_decode(json, len, &g_raw, err, sizeof(err));
	case K_PRED:
		return msg_prediction_decode(json, len, &p, err, sizeof(err));
	case K_STATE:
		return msg_state_decode(json, len, &s, err, sizeof(err));
	case K_ALERT:
		return msg_alert_decode(json, len, &a, err, sizeof(err));
	default:
		return msg_ack_decode(json, len, &ack, err, sizeof(err));
	}
}

static int decode_s(enum kind k, const char *json)
{
	return decode(k, json, strlen(json));
}

/* A refusal must carry the right code and a non-empty one-line reason. */
static void check_refusal(int rc, int want, const char *what)
{
	if (rc != want)
		fail_msg("%s: rc %d (%s), want %d; err: %s", what, rc, am_strerror(rc),
			 want, err);
	if (err[0] == '\0' || strchr(err, '\n'))
		fail_msg("%s: err not one non-empty line: '%s'", what, err);
}

/* want 0: must decode; else must be refused with that code. */
static void expect_decode(enum kind k, const char *json, int want, const char *what)
{
	int rc = decode_s(k, json);
	if (want == 0 && rc != 0)
		fail_msg("%s: refused (%d): %s", what, rc, err);
	if (want != 0)
		check_refusal(rc, want, what);
}

/* base with field key replaced by raw JSON text (added if absent), or
 * dropped when raw is NULL. Caller frees. */
static char *edit(const char *base, const char *key, const char *raw)
{
	cJSON *o = cJSON_Parse(base);
	char *s;
	assert_non_null(o);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	if (raw)
		cJSON_AddItemToObject(o, key, cJSON_CreateRaw(raw));
	s = cJSON_PrintUnformatted(o);
	assert_non_null(s);
	cJSON_Delete(o);
	return s;
}

static void expect_edit(enum kind k, const char *key, const char *raw, int want)
{
	char what[256];
	char *s = edit(EXAMPLES[k], key, raw);
	snprintf(what, sizeof(what), "%.200s", s);
	expect_decode(k, s, want, what);
	free(s);
}

static int setup(void **state)
{
	(void)state;
	msg_raw_init(&g_raw);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	msg_raw_cleanup(&g_raw);
	return 0;
}

/* ---- names and topics ---------------------------------------------------- */

static void test_sensor_valid(void **state)
{
	char s65[66], s64[65];
	(void)state;
	memset(s65, 'a', 65);
	s65[65] = '\0';
	memcpy(s64, s65, 64);
	s64[64] = '\0';
	assert_true(msg_sensor_valid("arm1-lpms"));
	assert_true(msg_sensor_valid("A.b_c-9"));
	assert_true(msg_sensor_valid("x"));
	assert_true(msg_sensor_valid(s64));
	assert_false(msg_sensor_valid(s65));
	assert_false(msg_sensor_valid(""));
	assert_false(msg_sensor_valid(NULL));
	assert_false(msg_sensor_valid("a/b"));
	assert_false(msg_sensor_valid("a+"));
	assert_false(msg_sensor_valid("#"));
	assert_false(msg_sensor_valid("a b"));
	assert_false(msg_sensor_valid("caf\xc3\xa9"));
	assert_false(msg_sensor_valid("a\n"));
}

static void test_topic_split(void **state)
{
	char sensor[MSG_SENSOR_MAX + 1];
	char topic[200];
	const char *kind;
	(void)state;

	kind = msg_topic_split("factory/arm1-lpms/raw", "factory", sensor);
	assert_non_null(kind);
	assert_string_equal(kind, "raw");
	assert_string_equal(sensor, "arm1-lpms");
	kind = msg_topic_split("plant/a/arm1/ack", "plant/a", sensor);
	assert_non_null(kind);
	assert_string_equal(kind, "ack");
	assert_string_equal(sensor, "arm1");
	kind = msg_topic_split("arm1/state", "", sensor);
	assert_non_null(kind);
	assert_string_equal(sensor, "arm1");

	assert_null(msg_topic_split("other/arm1/raw", "factory", sensor));
	assert_string_equal(sensor, "");
	assert_null(msg_topic_split("factoryX/arm1/raw", "factory", sensor));
	assert_null(msg_topic_split("factory/arm1", "factory", sensor));
	assert_null(msg_topic_split("factory/arm1/", "factory", sensor));
	assert_null(msg_topic_split("factory//raw", "factory", sensor));
	assert_null(msg_topic_split("factory/a b/raw", "factory", sensor));
	assert_null(msg_topic_split("factory/_svc/scorer/1/status", "factory", sensor));
	assert_null(msg_topic_split("factory/arm1/raw/x", "factory", sensor));
	assert_null(msg_topic_split(NULL, "factory", sensor));
	memset(topic, 0, sizeof(topic));
	memcpy(topic, "factory/", 8);
	memset(topic + 8, 's', 65);
	memcpy(topic + 8 + 65, "/raw", 4);
	assert_null(msg_topic_split(topic, "factory", sensor));
	topic[8 + 64] = '/'; /* 64-char sensor, then "//raw": still bad */
	assert_null(msg_topic_split(topic, "factory", sensor));
	memmove(topic + 8 + 64, topic + 8 + 65, 5); /* 64-char sensor + "/raw" */
	kind = msg_topic_split(topic, "factory", sensor);
	assert_non_null(kind);
	assert_int_equal(strlen(sensor), 64);
}

static void test_state_names_and_errors(void **state)
{
	enum msg_state_kind k = MSG_STATE_OK;
	(void)state;
	for (int s = MSG_STATE_OK; s <= MSG_STATE_STALE; s++) {
		assert_int_equal(
		    msg_state_parse(msg_state_name((enum msg_state_kind)s), &k), 0);
		assert_int_equal((int)k, s);
	}
	assert_string_equal(msg_state_name(MSG_STATE_FAILURE), "FAILURE");
	assert_int_equal(msg_state_parse("ok", &k), -1);
	assert_int_equal(msg_state_parse("", &k), -1);
	assert_int_equal(msg_state_parse(NULL, &k), -1);
	assert_int_equal(msg_state_parse(msg_state_name((enum msg_state_kind)7), &k), -1);
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

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	uint64_t x = rng_state; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* A random finite float drawn from all bit patterns (all exponents). */
static float rand_float(void)
{
	for (;;) {
		uint32_t u = (uint32_t)rng();
		float f;
		memcpy(&f, &u, sizeof(f));
		if (isfinite(f))
			return f;
	}
}

static void fill_raw(msg_raw *m, size_t rows, size_t nch)
{
	snprintf(m->sensor, sizeof(m->sensor), "arm1-lpms");
	snprintf(m->run, sizeof(m->run), "6f2a91c0");
	m->seq = 9007199254740992ull;
	m->t0 = 1764151200.123456;
	m->rate_hz = 400.0 / 3.0;
	m->has_frame0 = 1;
	m->frame0 = 52100;
	m->n_channels = nch;
	for (size_t j = 0; j < nch; j++)
		snprintf(m->channels[j], sizeof(m->channels[j]), "ch_%zu", j);
	assert_int_equal(msg_raw_reserve(m, rows), 0);
	m->n_samples = rows;
	for (size_t i = 0; i < rows * nch; i++)
		m->samples[i] = rand_float();
}

static void assert_raw_equal(const msg_raw *a, const msg_raw *b)
{
	assert_string_equal(a->sensor, b->sensor);
	assert_string_equal(a->run, b->run);
	assert_true(a->seq == b->seq);
	assert_true(a->t0 == b->t0);
	assert_true(a->rate_hz == b->rate_hz);
	assert_int_equal(a->has_frame0, b->has_frame0);
	if (a->has_frame0)
		assert_true(a->frame0 == b->frame0);
	assert_int_equal(a->n_channels, b->n_channels);
	for (size_t j = 0; j < a->n_channels; j++)
		assert_string_equal(a->channels[j], b->channels[j]);
	assert_int_equal(a->n_samples, b->n_samples);
	for (size_t i = 0; i < a->n_samples * a->n_channels; i++)
		if (!(a->samples[i] == b->samples[i]))
			fail_msg("sample %zu: %.9g != %.9g", i, (double)a->samples[i],
				 (double)b->samples[i]);
}

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

static void test_state_round_trip(void **state)
{
	char out[1024];
	msg_state m, d;
	size_t len;
	(void)state;
	memset(&m, 0, sizeof(m));
	snprintf(m.sensor, sizeof(m.sensor), "arm1-lpms");
	m.state = MSG_STATE_STALE;
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
	assert_int_equal((int)d.state, MSG_STATE_STALE);
	assert_true(d.since == m.since && d.t == m.t && d.window_s == m.window_s);
	assert_true(d.anomaly_rate == m.anomaly_rate);
	assert_int_equal(d.acked, 0);
	assert_string_equal(d.acked_by, "");
	assert_string_equal(d.alert_id, "");
	/* acked: both written and read back */
	m.state = MSG_STATE_FAILURE;
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
	assert_int_equal((int)d.state, MSG_STATE_FAILURE);
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
	a.from = MSG_STATE_OK;
	a.to = MSG_STATE_FAILURE;
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
	assert_int_equal((int)da.from, MSG_STATE_OK);
	assert_int_equal((int)da.to, MSG_STATE_FAILURE);

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
	assert_int_equal((int)s.state, MSG_STATE_FAILURE);
	assert_true(s.anomaly_rate == 0.62 && s.window_s == 10 &&
		    s.since == 1764151190.0);
	assert_int_equal(s.acked, 0);
	assert_string_equal(s.alert_id, "");

	assert_int_equal(
	    msg_alert_decode(ALERT_EX, strlen(ALERT_EX), &a, err, sizeof(err)), 0);
	assert_string_equal(a.id, "arm1-lpms-1764151190-1");
	assert_int_equal((int)a.from, MSG_STATE_OK);
	assert_int_equal((int)a.to, MSG_STATE_FAILURE);
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
		s.state = (enum msg_state_kind)9;
		check_refusal(msg_state_encode(&s, o, sizeof(o), &len, err, sizeof(err)),
			      AM_EVALUE, "unknown state");
		s.state = MSG_STATE_OK;
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
		assert_true(msg_sensor_valid(g_raw.sensor));
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
	    cmocka_unit_test(test_sensor_valid),
	    cmocka_unit_test(test_topic_split),
	    cmocka_unit_test(test_state_names_and_errors),
	    cmocka_unit_test_setup_teardown(test_raw_round_trip, setup, teardown),
	    cmocka_unit_test(test_prediction_round_trip),
	    cmocka_unit_test(test_state_round_trip),
	    cmocka_unit_test(test_alert_ack_round_trip),
	    cmocka_unit_test_setup_teardown(test_contract_examples, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_types_and_missing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_finite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_value_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_sensors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shape_and_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_encoder_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	    cmocka_unit_test(test_decode_reuses_storage),
	    cmocka_unit_test(test_reserve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
