/* msg — the v1 contract messages (see msg.h and ../shared/docs/contract.md).
 *
 * Decoding goes through cJSON, but only after the payload has passed three
 * cheap checks that cJSON does not make: the byte cap (before any parsing),
 * no NUL byte and no "\u0000" escape (cJSON would silently cut the string
 * there, so "arm1\u0000/x" would read as "arm1"), and nothing but
 * whitespace after the value (cJSON_ParseWithLength ignores trailing bytes).
 * Then every field is type-checked and copied, and the filled struct goes
 * through the same validator the encoder uses, so the two sides cannot
 * drift: whatever an encoder writes, a decoder reads back, and an encoder
 * refuses whatever a decoder would refuse.
 *
 * Rules beyond msg.h: timestamps are finite and >= 0; text fields (run,
 * channel names, model, ids, names, severity) are valid UTF-8 without
 * control characters; strings over their byte cap give AM_ETOOBIG, except
 * the sensor id whose length is part of its pattern (AM_EVALUE).
 *
 * Encoding is hand-written onto common/buf.h: raw messages are the hot path
 * (thousands per second), so no cJSON tree and no allocation — the buf
 * writes straight into the caller's output array (see msg__wrap). Integers
 * are printed as integers (never "1e+06"), doubles and floats as the
 * shortest text that reads back to the same value.
 *
 * Thread-safety: the functions keep no state, but cJSON's parser writes a
 * global error position, so concurrent decodes race on that (harmless,
 * unused) variable. */
#include "msg.h"

#include "buf.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG__INT_MAX 9007199254740992.0 /* 2^53: integers exact in a double */
/* Doubles below this magnitude round to a finite float (FLT_MAX + half ulp). */
#define MSG__FLT_LIMIT 0x1.ffffffp+127
#define MSG__SEVERITY_MAX 15

/* ---- errors ------------------------------------------------------------ */

/* Write a one-line reason into err (if any) and return code, so that a
 * refusal is one statement: return msg__fail(...). */
static int msg__fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int msg__fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- names, ids, text -------------------------------------------------- */

static int msg__sensor_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int msg_sensor_valid(const char *s)
{
	size_t i;
	if (!s)
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= MSG_SENSOR_MAX || !msg__sensor_char((unsigned char)s[i]))
			return 0;
	return i > 0;
}

/* AM_EVALUE with the first reason s is not a sensor id (reads at most
 * MSG_SENSOR_MAX + 1 bytes, so an unterminated struct field is safe). */
static int msg__sensor_check(const char *field, const char *s, char *err, size_t errlen)
{
	size_t n = strnlen(s, MSG_SENSOR_MAX + 1);
	if (n == 0)
		return msg__fail(err, errlen, AM_EVALUE, "%s: empty sensor id", field);
	if (n > MSG_SENSOR_MAX)
		return msg__fail(err, errlen, AM_EVALUE, "%s: sensor id over %d bytes",
				 field, MSG_SENSOR_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!msg__sensor_char(c))
			return msg__fail(err, errlen, AM_EVALUE,
					 "%s: byte %zu (0x%02x) not in [A-Za-z0-9._-]",
					 field, i, c);
	}
	return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid. Refuses
 * overlong forms, surrogates and code points over U+10FFFF. */
static size_t msg__utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* Check a text field: at most max bytes (AM_ETOOBIG; reads at most max+1
 * so unterminated struct arrays are caught), non-empty unless allow_empty,
 * valid UTF-8 without control characters (AM_EVALUE). */
static int msg__text_check(const char *field, const char *s, size_t max, int allow_empty,
			   char *err, size_t errlen)
{
	size_t n = strnlen(s, max + 1);
	if (n > max)
		return msg__fail(err, errlen, AM_ETOOBIG, "%s: over %zu bytes", field,
				 max);
	if (n == 0 && !allow_empty)
		return msg__fail(err, errlen, AM_EVALUE, "%s: empty", field);
	for (size_t i = 0; i < n;) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t k;
		if (*p < 0x20 || *p == 0x7f)
			return msg__fail(err, errlen, AM_EVALUE,
					 "%s: control character at byte %zu", field, i);
		k = msg__utf8_len(p);
		if (k == 0)
			return msg__fail(err, errlen, AM_EVALUE,
					 "%s: invalid UTF-8 at byte %zu", field, i);
		i += k;
	}
	return 0;
}

static int msg__time_check(const char *field, double t, char *err, size_t errlen)
{
	if (!isfinite(t))
		return msg__fail(err, errlen, AM_EVALUE, "%s: not finite", field);
	if (t < 0)
		return msg__fail(err, errlen, AM_EVALUE, "%s: negative time", field);
	return 0;
}

static int msg__rate_check(const char *field, double r, char *err, size_t errlen)
{
	if (!isfinite(r))
		return msg__fail(err, errlen, AM_EVALUE, "%s: not finite", field);
	if (r < 0 || r > 1)
		return msg__fail(err, errlen, AM_EVALUE, "%s: %g not in 0..1", field, r);
	return 0;
}

const char *msg_topic_split(const char *topic, const char *root,
			    char sensor[MSG_SENSOR_MAX + 1])
{
	size_t rl;
	const char *s, *slash;

	if (sensor)
		sensor[0] = '\0';
	if (!topic || !root || !sensor)
		return NULL;
	rl = strlen(root);
	s = topic;
	if (rl) { /* an empty root means topics are "{sensor}/{kind}" */
		if (strncmp(topic, root, rl) != 0 || topic[rl] != '/')
			return NULL;
		s = topic + rl + 1;
	}
	slash = strchr(s, '/');
	if (!slash || slash == s || (size_t)(slash - s) > MSG_SENSOR_MAX)
		return NULL;
	for (const char *p = s; p < slash; p++)
		if (!msg__sensor_char((unsigned char)*p))
			return NULL;
	if (slash[1] == '\0' || strchr(slash + 1, '/'))
		return NULL;
	memcpy(sensor, s, (size_t)(slash - s));
	sensor[slash - s] = '\0';
	return slash + 1;
}

static const char *const msg__state_names[] = {"OK", "FAILURE", "STALE"};
#define MSG__NSTATES (sizeof(msg__state_names) / sizeof(msg__state_names[0]))

const char *msg_state_name(enum msg_state_kind s)
{
	if ((unsigned)s < MSG__NSTATES)
		return msg__state_names[s];
	return "UNKNOWN";
}

int msg_state_parse(const char *s, enum msg_state_kind *out)
{
	if (!s)
		return -1;
	for (unsigned i = 0; i < MSG__NSTATES; i++) {
		if (strcmp(s, msg__state_names[i]) == 0) {
			if (out)
				*out = (enum msg_state_kind)i;
			return 0;
		}
	}
	return -1;
}

static int msg__state_check(const char *field, enum msg_state_kind s, char *err,
			    size_t errlen)
{
	if ((unsigned)s >= MSG__NSTATES)
		return msg__fail(err, errlen, AM_EVALUE, "%s: unknown state %d", field,
				 (int)s);
	return 0;
}

/* ---- raw storage ------------------------------------------------------- */

void msg_raw_init(msg_raw *m)
{
	if (m)
		memset(m, 0, sizeof(*m));
}

void msg_raw_cleanup(msg_raw *m)
{
	if (!m)
		return;
	free(m->samples);
	memset(m, 0, sizeof(*m));
}

/* Storage grows in powers of two (from 64 floats, capped at MSG_MAX_VALUES)
 * and never shrinks, so a stream of similar messages settles on one block
 * after the first few and decoding stops allocating. The old block is freed
 * before the new one is taken: nothing is kept, so nothing is copied.
 * n_samples is left alone when the block is kept, set to 0 when replaced. */
int msg_raw_reserve(msg_raw *m, size_t n_samples)
{
	size_t need, n;
	if (!m)
		return AM_ENOMEM;
	if (m->n_channels > MSG_MAX_CHANNELS || n_samples > MSG_MAX_SAMPLES)
		return AM_ETOOBIG;
	need = n_samples * m->n_channels;
	if (need > MSG_MAX_VALUES)
		return AM_ETOOBIG;
	if (need <= m->samples_cap)
		return 0;
	n = m->samples_cap ? m->samples_cap : 64;
	while (n < need)
		n *= 2;
	if (n > MSG_MAX_VALUES)
		n = MSG_MAX_VALUES;
	free(m->samples);
	m->n_samples = 0;
	m->samples = malloc(n * sizeof(float));
	if (!m->samples) {
		m->samples_cap = 0;
		return AM_ENOMEM;
	}
	m->samples_cap = n;
	return 0;
}

/* ---- struct validators (shared by encoders and decoders) -------------- */

/* The header fields of a raw message; with check_samples also the sample
 * block (decoders check values while converting them, so they skip it). */
static int msg__raw_check(const msg_raw *m, int check_samples, char *err, size_t errlen)
{
	int rc;
	size_t nch = m->n_channels;

	if ((rc = msg__sensor_check("sensor", m->sensor, err, errlen)) ||
	    (rc = msg__text_check("run", m->run, MSG_RUN_MAX, 0, err, errlen)) ||
	    (rc = msg__time_check("t0", m->t0, err, errlen)))
		return rc;
	if (m->seq > (uint64_t)MSG__INT_MAX)
		return msg__fail(err, errlen, AM_EVALUE, "seq: over 2^53");
	if (!isfinite(m->rate_hz) || !(m->rate_hz > 0))
		return msg__fail(err, errlen, AM_EVALUE,
				 "rate_hz: must be finite and > 0");
	if (m->has_frame0 && (m->frame0 < 0 || m->frame0 > (int64_t)MSG__INT_MAX))
		return msg__fail(err, errlen, AM_EVALUE,
				 "frame0: not an integer in 0..2^53");
	if (nch == 0)
		return msg__fail(err, errlen, AM_EVALUE, "channels: empty");
	if (nch > MSG_MAX_CHANNELS)
		return msg__fail(err, errlen, AM_ETOOBIG, "channels: %zu, max %d", nch,
				 MSG_MAX_CHANNELS);
	if (m->n_samples > MSG_MAX_SAMPLES)
		return msg__fail(err, errlen, AM_ETOOBIG, "samples: %zu rows, max %d",
				 m->n_samples, MSG_MAX_SAMPLES);
	if (m->n_samples * nch > MSG_MAX_VALUES)
		return msg__fail(err, errlen, AM_ETOOBIG, "samples: %zu values, max %d",
				 m->n_samples * nch, MSG_MAX_VALUES);
	for (size_t i = 0; i < nch; i++) {
		char field[24];
		snprintf(field, sizeof(field), "channels[%zu]", i);
		if ((rc = msg__text_check(field, m->channels[i], MSG_CHANNEL_MAX, 0, err,
					  errlen)))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->channels[i], m->channels[j]) == 0)
				return msg__fail(
				    err, errlen, AM_EVALUE,
				    "channels[%zu]: duplicate of channels[%zu]", i, j);
	}
	if (!check_samples)
		return 0;
	if (m->n_samples && (!m->samples || m->samples_cap < m->n_samples * nch))
		return msg__fail(err, errlen, AM_ESHAPE,
				 "samples: storage holds %zu values, %zu needed",
				 m->samples_cap, m->n_samples * nch);
	for (size_t i = 0; i < m->n_samples * nch; i++)
		if (!isfinite(m->samples[i]))
			return msg__fail(err, errlen, AM_EVALUE,
					 "samples[%zu][%zu]: not finite", i / nch,
					 i % nch);
	return 0;
}

static int msg__prediction_check(const msg_prediction *m, char *err, size_t errlen)
{
	int rc;
	if ((rc = msg__sensor_check("sensor", m->sensor, err, errlen)) ||
	    (rc = msg__time_check("t", m->t, err, errlen)) ||
	    (rc = msg__time_check("t_start", m->t_start, err, errlen)) ||
	    (rc = msg__text_check("model", m->model, MSG_NAME_MAX, 0, err, errlen)))
		return rc;
	if (!isfinite(m->score))
		return msg__fail(err, errlen, AM_EVALUE, "score: not finite");
	if (!isfinite(m->threshold))
		return msg__fail(err, errlen, AM_EVALUE, "threshold: not finite");
	if (!isfinite(m->latency_ms) || m->latency_ms < 0)
		return msg__fail(err, errlen, AM_EVALUE,
				 "latency_ms: must be finite and >= 0");
	return 0;
}

static int msg__state_msg_check(const msg_state *m, char *err, size_t errlen)
{
	int rc;
	if ((rc = msg__sensor_check("sensor", m->sensor, err, errlen)) ||
	    (rc = msg__state_check("state", m->state, err, errlen)) ||
	    (rc = msg__time_check("since", m->since, err, errlen)) ||
	    (rc = msg__time_check("t", m->t, err, errlen)) ||
	    (rc = msg__rate_check("anomaly_rate", m->anomaly_rate, err, errlen)) ||
	    (rc = msg__text_check("alert_id", m->alert_id, MSG_ID_MAX, 1, err, errlen)))
		return rc;
	if (!isfinite(m->window_s) || !(m->window_s > 0))
		return msg__fail(err, errlen, AM_EVALUE,
				 "window_s: must be finite and > 0");
	if (m->acked &&
	    (rc = msg__text_check("acked_by", m->acked_by, MSG_NAME_MAX, 0, err, errlen)))
		return rc;
	return 0;
}

static int msg__alert_check(const msg_alert *m, char *err, size_t errlen)
{
	int rc;
	if ((rc = msg__text_check("id", m->id, MSG_ID_MAX, 0, err, errlen)) ||
	    (rc = msg__sensor_check("sensor", m->sensor, err, errlen)) ||
	    (rc = msg__time_check("t", m->t, err, errlen)) ||
	    (rc = msg__state_check("from", m->from, err, errlen)) ||
	    (rc = msg__state_check("to", m->to, err, errlen)) ||
	    (rc = msg__text_check("severity", m->severity, MSG__SEVERITY_MAX, 0, err,
				  errlen)) ||
	    (rc = msg__rate_check("anomaly_rate", m->anomaly_rate, err, errlen)))
		return rc;
	return 0;
}

static int msg__ack_check(const msg_ack *m, char *err, size_t errlen)
{
	int rc;
	if ((rc = msg__text_check("id", m->id, MSG_ID_MAX, 0, err, errlen)) ||
	    (rc = msg__text_check("by", m->by, MSG_NAME_MAX, 0, err, errlen)) ||
	    (rc = msg__time_check("t", m->t, err, errlen)))
		return rc;
	return 0;
}

/* ---- decoding helpers --------------------------------------------------- */

/* Refuse what cJSON would misread: a NUL byte anywhere, or a \u0000
 * escape inside a string (cJSON ends the C string there, hiding the rest). */
static int msg__scan(const char *json, size_t len, char *err, size_t errlen)
{
	int in_str = 0;
	if (memchr(json, '\0', len))
		return msg__fail(err, errlen, AM_EJSON, "NUL byte in payload");
	for (size_t i = 0; i < len; i++) {
		char c = json[i];
		if (!in_str) {
			in_str = c == '"';
		} else if (c == '"') {
			in_str = 0;
		} else if (c == '\\' && i + 1 < len) {
			if (json[i + 1] == 'u' && i + 5 < len && json[i + 2] == '0' &&
			    json[i + 3] == '0' && json[i + 4] == '0' &&
			    json[i + 5] == '0')
				return msg__fail(err, errlen, AM_EVALUE,
						 "\\u0000 in a string at byte %zu", i);
			i++; /* skip the escaped character */
		}
	}
	return 0;
}

/* Parse an untrusted payload into a JSON object (caller deletes *root). */
static int msg__parse(const char *json, size_t len, cJSON **root, char *err,
		      size_t errlen)
{
	const char *end = NULL;
	int rc;

	*root = NULL;
	if (!json || len == 0)
		return msg__fail(err, errlen, AM_EJSON, "empty payload");
	if (len > MSG_MAX_PAYLOAD)
		return msg__fail(err, errlen, AM_ETOOBIG, "payload: %zu bytes, max %d",
				 len, MSG_MAX_PAYLOAD);
	if ((rc = msg__scan(json, len, err, errlen)))
		return rc;
	*root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!*root) {
		if (end && end >= json && end <= json + len)
			return msg__fail(err, errlen, AM_EJSON,
					 "not JSON or truncated (at byte %zu of %zu)",
					 (size_t)(end - json), len);
		return msg__fail(err, errlen, AM_EJSON, "not JSON or truncated");
	}
	while (end && end < json + len &&
	       (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != json + len)
		return msg__fail(err, errlen, AM_EJSON,
				 "trailing bytes after the JSON value");
	if (!cJSON_IsObject(*root))
		return msg__fail(err, errlen, AM_EJSON, "not a JSON object");
	return 0;
}

static const cJSON *msg__item(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int msg__dec_version(const cJSON *o, char *err, size_t errlen)
{
	const cJSON *it = msg__item(o, "v");
	if (!it)
		return msg__fail(err, errlen, AM_EFIELD, "v: missing");
	if (!cJSON_IsNumber(it))
		return msg__fail(err, errlen, AM_EFIELD, "v: not a number");
	if (it->valuedouble != MSG_VERSION)
		return msg__fail(err, errlen, AM_EVERSION,
				 "v: version %g, this reader reads %d", it->valuedouble,
				 MSG_VERSION);
	return 0;
}

/* A required (or, with optional, possibly absent: returns 1) string,
 * copied into dst of dstsize bytes. Refuses over-long strings before
 * copying; the content itself is checked by the struct validators. */
static int msg__dec_str(const cJSON *o, const char *key, int optional, char *dst,
			size_t dstsize, char *err, size_t errlen)
{
	const cJSON *it = msg__item(o, key);
	size_t n;
	dst[0] = '\0';
	if (!it) {
		if (optional)
			return 1;
		return msg__fail(err, errlen, AM_EFIELD, "%s: missing", key);
	}
	if (!cJSON_IsString(it) || !it->valuestring)
		return msg__fail(err, errlen, AM_EFIELD, "%s: not a string", key);
	n = strlen(it->valuestring);
	if (n >= dstsize) {
		if (strcmp(key, "sensor") == 0)
			return msg__fail(err, errlen, AM_EVALUE,
					 "%s: sensor id over %d bytes", key,
					 MSG_SENSOR_MAX);
		return msg__fail(err, errlen, AM_ETOOBIG, "%s: over %zu bytes", key,
				 dstsize - 1);
	}
	memcpy(dst, it->valuestring, n + 1);
	return 0;
}

/* A required finite-or-not number (finiteness and range are the
 * validators' job); optional: returns 1 when absent. */
static int msg__dec_num(const cJSON *o, const char *key, int optional, double *out,
			char *err, size_t errlen)
{
	const cJSON *it = msg__item(o, key);
	if (!it) {
		if (optional)
			return 1;
		return msg__fail(err, errlen, AM_EFIELD, "%s: missing", key);
	}
	if (!cJSON_IsNumber(it))
		return msg__fail(err, errlen, AM_EFIELD, "%s: not a number", key);
	*out = it->valuedouble;
	return 0;
}

/* A number that must be an integer in 0..max. */
static int msg__dec_uint(const cJSON *o, const char *key, int optional, double max,
			 uint64_t *out, char *err, size_t errlen)
{
	double d = 0;
	int rc = msg__dec_num(o, key, optional, &d, err, errlen);
	if (rc)
		return rc;
	if (!isfinite(d) || d < 0 || d > max || d != floor(d))
		return msg__fail(err, errlen, AM_EVALUE, "%s: not an integer in 0..%.17g",
				 key, max);
	*out = (uint64_t)d;
	return 0;
}

static int msg__dec_bool(const cJSON *o, const char *key, int optional, int *out,
			 char *err, size_t errlen)
{
	const cJSON *it = msg__item(o, key);
	if (!it) {
		if (optional)
			return 1;
		return msg__fail(err, errlen, AM_EFIELD, "%s: missing", key);
	}
	if (!cJSON_IsBool(it))
		return msg__fail(err, errlen, AM_EFIELD, "%s: not a boolean", key);
	*out = cJSON_IsTrue(it) ? 1 : 0;
	return 0;
}

static int msg__dec_state(const cJSON *o, const char *key, enum msg_state_kind *out,
			  char *err, size_t errlen)
{
	char name[16];
	int rc = msg__dec_str(o, key, 0, name, sizeof(name), err, errlen);
	if (rc == AM_ETOOBIG || (!rc && msg_state_parse(name, out) != 0))
		return msg__fail(err, errlen, AM_EVALUE,
				 "%s: not one of OK, FAILURE, STALE", key);
	return rc;
}

/* ---- raw ---------------------------------------------------------------- */

static int msg__dec_channels(const cJSON *o, msg_raw *out, char *err, size_t errlen)
{
	const cJSON *arr = msg__item(o, "channels"), *it;
	size_t n = 0;
	if (!arr)
		return msg__fail(err, errlen, AM_EFIELD, "channels: missing");
	if (!cJSON_IsArray(arr))
		return msg__fail(err, errlen, AM_EFIELD, "channels: not an array");
	cJSON_ArrayForEach(it, arr)
	{
		size_t len;
		if (n >= MSG_MAX_CHANNELS)
			return msg__fail(err, errlen, AM_ETOOBIG, "channels: over %d",
					 MSG_MAX_CHANNELS);
		if (!cJSON_IsString(it) || !it->valuestring)
			return msg__fail(err, errlen, AM_EFIELD,
					 "channels[%zu]: not a string", n);
		len = strlen(it->valuestring);
		if (len > MSG_CHANNEL_MAX)
			return msg__fail(err, errlen, AM_ETOOBIG,
					 "channels[%zu]: over %d bytes", n,
					 MSG_CHANNEL_MAX);
		memcpy(out->channels[n], it->valuestring, len + 1);
		n++;
	}
	out->n_channels = n;
	return 0;
}

/* Convert the sample rows straight into out's (reused) storage. */
static int msg__dec_samples(const cJSON *o, msg_raw *out, char *err, size_t errlen)
{
	const cJSON *arr = msg__item(o, "samples"), *row, *it;
	size_t rows = 0, nch = out->n_channels, i = 0;
	int rc;

	if (!arr)
		return msg__fail(err, errlen, AM_EFIELD, "samples: missing");
	if (!cJSON_IsArray(arr))
		return msg__fail(err, errlen, AM_EFIELD, "samples: not an array");
	cJSON_ArrayForEach(row, arr)
	{
		if (++rows > MSG_MAX_SAMPLES)
			return msg__fail(err, errlen, AM_ETOOBIG, "samples: over %d rows",
					 MSG_MAX_SAMPLES);
	}
	if (rows * nch > MSG_MAX_VALUES)
		return msg__fail(err, errlen, AM_ETOOBIG, "samples: %zu values, max %d",
				 rows * nch, MSG_MAX_VALUES);
	rc = msg_raw_reserve(out, rows);
	if (rc)
		return msg__fail(err, errlen, rc, "samples: %s", am_strerror(rc));
	cJSON_ArrayForEach(row, arr)
	{
		float *dst = out->samples + i * nch;
		size_t j = 0;
		if (!cJSON_IsArray(row))
			return msg__fail(err, errlen, AM_EFIELD,
					 "samples[%zu]: not an array", i);
		cJSON_ArrayForEach(it, row)
		{
			if (j < nch) {
				double d;
				if (!cJSON_IsNumber(it))
					return msg__fail(
					    err, errlen, AM_EFIELD,
					    "samples[%zu][%zu]: not a number", i, j);
				d = it->valuedouble;
				if (!isfinite(d))
					return msg__fail(err, errlen, AM_EVALUE,
							 "samples[%zu][%zu]: not finite",
							 i, j);
				if (fabs(d) >= MSG__FLT_LIMIT)
					return msg__fail(
					    err, errlen, AM_EVALUE,
					    "samples[%zu][%zu]: beyond float range", i,
					    j);
				dst[j] = (float)d;
			}
			j++;
		}
		if (j != nch)
			return msg__fail(
			    err, errlen, AM_ESHAPE,
			    "samples[%zu]: %zu values, expected %zu (channels)", i, j,
			    nch);
		i++;
	}
	out->n_samples = rows;
	return 0;
}

int msg_raw_decode(const char *json, size_t len, msg_raw *out, char *err, size_t errlen)
{
	cJSON *root = NULL;
	uint64_t u = 0;
	int rc;

	if (!out)
		return msg__fail(err, errlen, AM_EFIELD, "no output struct");
	out->n_samples = 0;
	out->n_channels = 0;
	out->has_frame0 = 0;
	out->frame0 = 0;
	if ((rc = msg__parse(json, len, &root, err, errlen)) ||
	    (rc = msg__dec_version(root, err, errlen)) ||
	    (rc = msg__dec_str(root, "sensor", 0, out->sensor, sizeof(out->sensor), err,
			       errlen)) ||
	    (rc =
		 msg__dec_str(root, "run", 0, out->run, sizeof(out->run), err, errlen)) ||
	    (rc = msg__dec_uint(root, "seq", 0, MSG__INT_MAX, &out->seq, err, errlen)) ||
	    (rc = msg__dec_num(root, "t0", 0, &out->t0, err, errlen)) ||
	    (rc = msg__dec_num(root, "rate_hz", 0, &out->rate_hz, err, errlen)))
		goto out;
	rc = msg__dec_uint(root, "frame0", 1, MSG__INT_MAX, &u, err, errlen);
	if (rc < 0)
		goto out;
	out->has_frame0 = rc == 0;
	out->frame0 = (int64_t)u;
	if ((rc = msg__dec_channels(root, out, err, errlen)) ||
	    (rc = msg__raw_check(out, 0, err, errlen)) ||
	    (rc = msg__dec_samples(root, out, err, errlen)))
		goto out;
out:
	if (rc) {
		out->n_samples = 0;
		out->n_channels = 0;
	}
	cJSON_Delete(root);
	return rc;
}

/* ---- encoding helpers -------------------------------------------------- */

/* Point a buf at the caller's array: alloc = cap, content cap = cap - 1
 * (room for the NUL) and at most MSG_MAX_PAYLOAD. buf only reallocates
 * when len + extra + 1 > alloc, which its cap check already excludes, so
 * encoding never allocates (tests/unit/test_buf.c pins that behaviour).
 * Never buf_cleanup() such a buf. */
static void msg__wrap(buf *b, char *out, size_t cap)
{
	b->data = out;
	b->len = 0;
	b->alloc = cap;
	b->cap = cap - 1 < MSG_MAX_PAYLOAD ? cap - 1 : MSG_MAX_PAYLOAD;
	out[0] = '\0';
}

static int msg__enc_start(char *out, size_t cap, size_t *len, buf *b, char *err,
			  size_t errlen)
{
	if (len)
		*len = 0;
	if (!out || cap < 2)
		return msg__fail(err, errlen, AM_ETOOBIG, "output buffer too small");
	msg__wrap(b, out, cap);
	return 0;
}

/* Map a buf error to MSG_* and finish: *len on success, empty out on error. */
static int msg__enc_end(int brc, buf *b, size_t *len, char *err, size_t errlen)
{
	if (brc) {
		b->data[0] = '\0';
		if (brc == AM_ETOOBIG)
			return msg__fail(err, errlen, AM_ETOOBIG,
					 "encoded payload over %zu bytes (output cap)",
					 b->cap);
		if (brc == AM_ENOTFINITE)
			return msg__fail(err, errlen, AM_EVALUE,
					 "a number is not finite");
		return msg__fail(err, errlen, AM_ENOMEM, "out of memory");
	}
	if (len)
		*len = b->len;
	return 0;
}

static int msg__enc_uint(buf *b, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	return buf_add(b, tmp, (size_t)n);
}

/* ,"key": then the value; keys are literals without escapes. */
static int msg__enc_key(buf *b, const char *key)
{
	int rc = buf_add(b, ",\"", 2);
	if (!rc)
		rc = buf_adds(b, key);
	if (!rc)
		rc = buf_add(b, "\":", 2);
	return rc;
}

static int msg__enc_kstr(buf *b, const char *key, const char *v)
{
	int rc = msg__enc_key(b, key);
	return rc ? rc : buf_add_json_str(b, v);
}

static int msg__enc_knum(buf *b, const char *key, double v)
{
	int rc = msg__enc_key(b, key);
	return rc ? rc : buf_add_json_num(b, v);
}

static int msg__enc_kbool(buf *b, const char *key, int v)
{
	int rc = msg__enc_key(b, key);
	return rc ? rc : buf_adds(b, v ? "true" : "false");
}

/* {"v":1,"sensor":"..." — every message but alert and ack starts so. */
static int msg__enc_head(buf *b) { return buf_adds(b, "{\"v\":1"); }

/* ---- raw encode ---------------------------------------------------------- */

int msg_raw_encode(const msg_raw *m, char *out, size_t cap, size_t *len, char *err,
		   size_t errlen)
{
	buf b;
	int rc;
	size_t nch;

	if ((rc = msg__enc_start(out, cap, len, &b, err, errlen)))
		return rc;
	if (!m)
		return msg__fail(err, errlen, AM_EFIELD, "no message");
	if ((rc = msg__raw_check(m, 1, err, errlen)))
		return rc;
	nch = m->n_channels;
	rc = msg__enc_head(&b);
	if (!rc)
		rc = msg__enc_kstr(&b, "sensor", m->sensor);
	if (!rc)
		rc = msg__enc_kstr(&b, "run", m->run);
	if (!rc)
		rc = msg__enc_key(&b, "seq");
	if (!rc)
		rc = msg__enc_uint(&b, m->seq);
	if (!rc)
		rc = msg__enc_knum(&b, "t0", m->t0);
	if (!rc)
		rc = msg__enc_knum(&b, "rate_hz", m->rate_hz);
	if (!rc && m->has_frame0) {
		rc = msg__enc_key(&b, "frame0");
		if (!rc)
			rc = msg__enc_uint(&b, (uint64_t)m->frame0);
	}
	if (!rc)
		rc = buf_adds(&b, ",\"channels\":[");
	for (size_t j = 0; !rc && j < nch; j++) {
		if (j)
			rc = buf_add(&b, ",", 1);
		if (!rc)
			rc = buf_add_json_str(&b, m->channels[j]);
	}
	if (!rc)
		rc = buf_adds(&b, "],\"samples\":[");
	for (size_t i = 0; !rc && i < m->n_samples; i++) {
		const float *row = m->samples + i * nch;
		rc = buf_add(&b, i ? ",[" : "[", i ? 2 : 1);
		for (size_t j = 0; !rc && j < nch; j++) {
			if (j)
				rc = buf_add(&b, ",", 1);
			if (!rc)
				rc = buf_add_json_float(&b, row[j]);
		}
		if (!rc)
			rc = buf_add(&b, "]", 1);
	}
	if (!rc)
		rc = buf_add(&b, "]}", 2);
	return msg__enc_end(rc, &b, len, err, errlen);
}

/* ---- prediction ---------------------------------------------------------- */

int msg_prediction_decode(const char *json, size_t len, msg_prediction *out, char *err,
			  size_t errlen)
{
	cJSON *root = NULL;
	msg_prediction m;
	uint64_t n = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	if (!out)
		return msg__fail(err, errlen, AM_EFIELD, "no output struct");
	if ((rc = msg__parse(json, len, &root, err, errlen)) ||
	    (rc = msg__dec_version(root, err, errlen)) ||
	    (rc = msg__dec_str(root, "sensor", 0, m.sensor, sizeof(m.sensor), err,
			       errlen)) ||
	    (rc = msg__dec_num(root, "t", 0, &m.t, err, errlen)) ||
	    (rc = msg__dec_num(root, "t_start", 0, &m.t_start, err, errlen)) ||
	    (rc = msg__dec_uint(root, "n", 0, UINT32_MAX, &n, err, errlen)) ||
	    (rc = msg__dec_num(root, "score", 0, &m.score, err, errlen)) ||
	    (rc = msg__dec_num(root, "threshold", 0, &m.threshold, err, errlen)) ||
	    (rc = msg__dec_bool(root, "anomaly", 0, &m.anomaly, err, errlen)) ||
	    (rc =
		 msg__dec_str(root, "model", 0, m.model, sizeof(m.model), err, errlen)) ||
	    (rc = msg__dec_num(root, "latency_ms", 0, &m.latency_ms, err, errlen)))
		goto out;
	m.n = (uint32_t)n;
	if ((rc = msg__prediction_check(&m, err, errlen)))
		goto out;
	*out = m;
out:
	cJSON_Delete(root);
	return rc;
}

int msg_prediction_encode(const msg_prediction *m, char *out, size_t cap, size_t *len,
			  char *err, size_t errlen)
{
	buf b;
	int rc;

	if ((rc = msg__enc_start(out, cap, len, &b, err, errlen)))
		return rc;
	if (!m)
		return msg__fail(err, errlen, AM_EFIELD, "no message");
	if ((rc = msg__prediction_check(m, err, errlen)))
		return rc;
	rc = msg__enc_head(&b);
	if (!rc)
		rc = msg__enc_kstr(&b, "sensor", m->sensor);
	if (!rc)
		rc = msg__enc_knum(&b, "t", m->t);
	if (!rc)
		rc = msg__enc_knum(&b, "t_start", m->t_start);
	if (!rc)
		rc = msg__enc_key(&b, "n");
	if (!rc)
		rc = msg__enc_uint(&b, m->n);
	if (!rc)
		rc = msg__enc_knum(&b, "score", m->score);
	if (!rc)
		rc = msg__enc_knum(&b, "threshold", m->threshold);
	if (!rc)
		rc = msg__enc_kbool(&b, "anomaly", m->anomaly);
	if (!rc)
		rc = msg__enc_kstr(&b, "model", m->model);
	if (!rc)
		rc = msg__enc_knum(&b, "latency_ms", m->latency_ms);
	if (!rc)
		rc = buf_add(&b, "}", 1);
	return msg__enc_end(rc, &b, len, err, errlen);
}

/* ---- state ----------------------------------------------------------------- */

int msg_state_decode(const char *json, size_t len, msg_state *out, char *err,
		     size_t errlen)
{
	cJSON *root = NULL;
	msg_state m;
	int rc;

	memset(&m, 0, sizeof(m));
	if (!out)
		return msg__fail(err, errlen, AM_EFIELD, "no output struct");
	if ((rc = msg__parse(json, len, &root, err, errlen)) ||
	    (rc = msg__dec_version(root, err, errlen)) ||
	    (rc = msg__dec_str(root, "sensor", 0, m.sensor, sizeof(m.sensor), err,
			       errlen)) ||
	    (rc = msg__dec_state(root, "state", &m.state, err, errlen)) ||
	    (rc = msg__dec_num(root, "since", 0, &m.since, err, errlen)) ||
	    (rc = msg__dec_num(root, "t", 0, &m.t, err, errlen)) ||
	    (rc = msg__dec_num(root, "anomaly_rate", 0, &m.anomaly_rate, err, errlen)) ||
	    (rc = msg__dec_num(root, "window_s", 0, &m.window_s, err, errlen)))
		goto out;
	if ((rc = msg__dec_bool(root, "acked", 1, &m.acked, err, errlen)) < 0)
		goto out;
	if (m.acked) {
		/* "acked":true without who acked it is not a state we publish */
		rc = msg__dec_str(root, "acked_by", 0, m.acked_by, sizeof(m.acked_by),
				  err, errlen);
		if (rc)
			goto out;
	}
	if ((rc = msg__dec_str(root, "alert_id", 1, m.alert_id, sizeof(m.alert_id), err,
			       errlen)) < 0)
		goto out;
	if ((rc = msg__state_msg_check(&m, err, errlen)))
		goto out;
	*out = m;
out:
	cJSON_Delete(root);
	return rc;
}

int msg_state_encode(const msg_state *m, char *out, size_t cap, size_t *len, char *err,
		     size_t errlen)
{
	buf b;
	int rc;

	if ((rc = msg__enc_start(out, cap, len, &b, err, errlen)))
		return rc;
	if (!m)
		return msg__fail(err, errlen, AM_EFIELD, "no message");
	if ((rc = msg__state_msg_check(m, err, errlen)))
		return rc;
	rc = msg__enc_head(&b);
	if (!rc)
		rc = msg__enc_kstr(&b, "sensor", m->sensor);
	if (!rc)
		rc = msg__enc_kstr(&b, "state", msg_state_name(m->state));
	if (!rc)
		rc = msg__enc_knum(&b, "since", m->since);
	if (!rc)
		rc = msg__enc_knum(&b, "t", m->t);
	if (!rc)
		rc = msg__enc_knum(&b, "anomaly_rate", m->anomaly_rate);
	if (!rc)
		rc = msg__enc_knum(&b, "window_s", m->window_s);
	if (!rc && m->acked) {
		rc = msg__enc_kbool(&b, "acked", 1);
		if (!rc)
			rc = msg__enc_kstr(&b, "acked_by", m->acked_by);
	}
	if (!rc && m->alert_id[0])
		rc = msg__enc_kstr(&b, "alert_id", m->alert_id);
	if (!rc)
		rc = buf_add(&b, "}", 1);
	return msg__enc_end(rc, &b, len, err, errlen);
}

/* ---- alert ------------------------------------------------------------------ */

int msg_alert_decode(const char *json, size_t len, msg_alert *out, char *err,
		     size_t errlen)
{
	cJSON *root = NULL;
	msg_alert m;
	int rc;

	memset(&m, 0, sizeof(m));
	if (!out)
		return msg__fail(err, errlen, AM_EFIELD, "no output struct");
	if ((rc = msg__parse(json, len, &root, err, errlen)) ||
	    (rc = msg__dec_version(root, err, errlen)) ||
	    (rc = msg__dec_str(root, "id", 0, m.id, sizeof(m.id), err, errlen)) ||
	    (rc = msg__dec_str(root, "sensor", 0, m.sensor, sizeof(m.sensor), err,
			       errlen)) ||
	    (rc = msg__dec_num(root, "t", 0, &m.t, err, errlen)) ||
	    (rc = msg__dec_state(root, "from", &m.from, err, errlen)) ||
	    (rc = msg__dec_state(root, "to", &m.to, err, errlen)) ||
	    (rc = msg__dec_str(root, "severity", 0, m.severity, sizeof(m.severity), err,
			       errlen)) ||
	    (rc = msg__dec_num(root, "anomaly_rate", 0, &m.anomaly_rate, err, errlen)) ||
	    (rc = msg__alert_check(&m, err, errlen)))
		goto out;
	*out = m;
out:
	cJSON_Delete(root);
	return rc;
}

int msg_alert_encode(const msg_alert *m, char *out, size_t cap, size_t *len, char *err,
		     size_t errlen)
{
	buf b;
	int rc;

	if ((rc = msg__enc_start(out, cap, len, &b, err, errlen)))
		return rc;
	if (!m)
		return msg__fail(err, errlen, AM_EFIELD, "no message");
	if ((rc = msg__alert_check(m, err, errlen)))
		return rc;
	rc = msg__enc_head(&b);
	if (!rc)
		rc = msg__enc_kstr(&b, "id", m->id);
	if (!rc)
		rc = msg__enc_kstr(&b, "sensor", m->sensor);
	if (!rc)
		rc = msg__enc_knum(&b, "t", m->t);
	if (!rc)
		rc = msg__enc_kstr(&b, "from", msg_state_name(m->from));
	if (!rc)
		rc = msg__enc_kstr(&b, "to", msg_state_name(m->to));
	if (!rc)
		rc = msg__enc_kstr(&b, "severity", m->severity);
	if (!rc)
		rc = msg__enc_knum(&b, "anomaly_rate", m->anomaly_rate);
	if (!rc)
		rc = buf_add(&b, "}", 1);
	return msg__enc_end(rc, &b, len, err, errlen);
}

/* ---- ack ---------------------------------------------------------------------- */

int msg_ack_decode(const char *json, size_t len, msg_ack *out, char *err, size_t errlen)
{
	cJSON *root = NULL;
	msg_ack m;
	int rc;

	memset(&m, 0, sizeof(m));
	if (!out)
		return msg__fail(err, errlen, AM_EFIELD, "no output struct");
	if ((rc = msg__parse(json, len, &root, err, errlen)) ||
	    (rc = msg__dec_version(root, err, errlen)) ||
	    (rc = msg__dec_str(root, "id", 0, m.id, sizeof(m.id), err, errlen)) ||
	    (rc = msg__dec_str(root, "by", 0, m.by, sizeof(m.by), err, errlen)) ||
	    (rc = msg__dec_num(root, "t", 0, &m.t, err, errlen)) ||
	    (rc = msg__ack_check(&m, err, errlen)))
		goto out;
	*out = m;
out:
	cJSON_Delete(root);
	return rc;
}

int msg_ack_encode(const msg_ack *m, char *out, size_t cap, size_t *len, char *err,
		   size_t errlen)
{
	buf b;
	int rc;

	if ((rc = msg__enc_start(out, cap, len, &b, err, errlen)))
		return rc;
	if (!m)
		return msg__fail(err, errlen, AM_EFIELD, "no message");
	if ((rc = msg__ack_check(m, err, errlen)))
		return rc;
	rc = msg__enc_head(&b);
	if (!rc)
		rc = msg__enc_kstr(&b, "id", m->id);
	if (!rc)
		rc = msg__enc_kstr(&b, "by", m->by);
	if (!rc)
		rc = msg__enc_knum(&b, "t", m->t);
	if (!rc)
		rc = buf_add(&b, "}", 1);
	return msg__enc_end(rc, &b, len, err, errlen);
}
