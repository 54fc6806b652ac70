/* msg_test — what the test_msg*.c programs share: the contract's example
 * payloads, decode-by-kind, the refusal checks (code and a one-line
 * reason), payload editing through cJSON, and a seeded random source for
 * raw messages. Header-only (static inline) so that each test program
 * stays one file for the Makefile.
 *
 * Payload variants are made by editing a valid example through cJSON
 * (replace one field by raw JSON text, or drop it), so each case differs
 * from a valid message in exactly one place. */
#ifndef ANOMESH_TEST_MSG_TEST_H
#define ANOMESH_TEST_MSG_TEST_H

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

#define MSG_TEST_UNUSED __attribute__((unused))

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

static char err[MSG_ERR_MAX] MSG_TEST_UNUSED;
static msg_raw g_raw MSG_TEST_UNUSED;

/* Decode json as a message of kind k (err reset first). */
static inline int decode(enum kind k, const char *json, size_t len)
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

static inline int decode_s(enum kind k, const char *json)
{
	return decode(k, json, strlen(json));
}

/* A refusal must carry the right code and a non-empty one-line reason. */
static inline void check_refusal(int rc, int want, const char *what)
{
	if (rc != want)
		fail_msg("%s: rc %d (%s), want %d; err: %s", what, rc, am_strerror(rc),
			 want, err);
	if (err[0] == '\0' || strchr(err, '\n'))
		fail_msg("%s: err not one non-empty line: '%s'", what, err);
}

/* want 0: must decode; else must be refused with that code. */
static inline void expect_decode(enum kind k, const char *json, int want,
				 const char *what)
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

static inline void expect_edit(enum kind k, const char *key, const char *raw, int want)
{
	char what[256];
	char *s = edit(EXAMPLES[k], key, raw);
	snprintf(what, sizeof(what), "%.200s", s);
	expect_decode(k, s, want, what);
	free(s);
}

static inline int setup(void **state)
{
	(void)state;
	msg_raw_init(&g_raw);
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	msg_raw_cleanup(&g_raw);
	return 0;
}

static uint64_t rng_state MSG_TEST_UNUSED = 0x9e3779b97f4a7c15ull;
static inline uint64_t rng(void)
{
	uint64_t x = rng_state; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* A random finite float drawn from all bit patterns (all exponents). */
static inline float rand_float(void)
{
	for (;;) {
		uint32_t u = (uint32_t)rng();
		float f;
		memcpy(&f, &u, sizeof(f));
		if (isfinite(f))
			return f;
	}
}

static inline void fill_raw(msg_raw *m, size_t rows, size_t nch)
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

static inline void assert_raw_equal(const msg_raw *a, const msg_raw *b)
{
	assert_string_equal(a->sensor, b->sensor);
	assert_string_equal(a->run, b->run);
	assert_true(a->seq == b->seq);
	assert_int_equal(a->replay, b->replay);
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

#endif
