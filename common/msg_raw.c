/* msg_raw — the raw message (msg.h): its field table, its sample block and
 * the two fields no plain type covers, "channels" (an array of names) and
 * "samples" (rows of floats), as msg_field codecs.
 *
 * Raw is the hot path (thousands per second, both ways), so its storage is
 * reused: a decode converts the sample rows straight into the msg_raw's
 * own block (kept across decodes), and an encode writes straight into the
 * caller's array. "samples" is a late field: it is converted only after
 * the header (channel count included) has passed its checks, and checked
 * value by value while converting; decoders never build a second copy. */
#include "msg.h"

#include "msg_field.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Doubles below this magnitude round to a finite float (FLT_MAX + half ulp). */
#define MSG__FLT_LIMIT 0x1.ffffffp+127

/* ---- storage --------------------------------------------------------------- */

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

/* ---- "channels" -------------------------------------------------------------- */

static int msg__channels_dec(const json_doc *d, const json_node *arr, void *mv, char *err,
			     size_t errlen)
{
	msg_raw *out = mv;
	size_t n = 0;
	if (!json_is(arr, JSON_ARRAY))
		return am_fail(err, errlen, AM_EFIELD, "channels: not an array");
	for (const json_node *it = json_child(d, arr); it; it = json_next(d, it)) {
		if (n >= MSG_MAX_CHANNELS)
			return am_fail(err, errlen, AM_ETOOBIG, "channels: over %d",
				       MSG_MAX_CHANNELS);
		if (!json_is(it, JSON_STRING))
			return am_fail(err, errlen, AM_EFIELD,
				       "channels[%zu]: not a string", n);
		if (it->len > MSG_CHANNEL_MAX)
			return am_fail(err, errlen, AM_ETOOBIG,
				       "channels[%zu]: over %d bytes", n,
				       MSG_CHANNEL_MAX);
		memcpy(out->channels[n], it->str, (size_t)it->len + 1);
		n++;
	}
	out->n_channels = n;
	return 0;
}

/* The block's shape first (channels, rows, values: a count over its cap
 * makes the rest moot), then each name: text, and no two alike. */
static int msg__channels_check(const void *mv, char *err, size_t errlen)
{
	const msg_raw *m = mv;
	size_t nch = m->n_channels;

	if (nch == 0)
		return am_fail(err, errlen, AM_EVALUE, "channels: empty");
	if (nch > MSG_MAX_CHANNELS)
		return am_fail(err, errlen, AM_ETOOBIG, "channels: %zu, max %d", nch,
			       MSG_MAX_CHANNELS);
	if (m->n_samples > MSG_MAX_SAMPLES)
		return am_fail(err, errlen, AM_ETOOBIG, "samples: %zu rows, max %d",
			       m->n_samples, MSG_MAX_SAMPLES);
	if (m->n_samples * nch > MSG_MAX_VALUES)
		return am_fail(err, errlen, AM_ETOOBIG, "samples: %zu values, max %d",
			       m->n_samples * nch, MSG_MAX_VALUES);
	for (size_t i = 0; i < nch; i++) {
		/* the field's name is made only for the reason of a refusal */
		if (msg_field_text_check("channels", m->channels[i], MSG_CHANNEL_MAX, 0,
					 NULL, 0)) {
			char field[24];
			snprintf(field, sizeof(field), "channels[%zu]", i);
			return msg_field_text_check(field, m->channels[i],
						    MSG_CHANNEL_MAX, 0, err, errlen);
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->channels[i], m->channels[j]) == 0)
				return am_fail(
				    err, errlen, AM_EVALUE,
				    "channels[%zu]: duplicate of channels[%zu]", i, j);
	}
	return 0;
}

static int msg__channels_enc(buf *b, const void *mv)
{
	const msg_raw *m = mv;
	int rc = buf_add(b, "[", 1);
	for (size_t j = 0; !rc && j < m->n_channels; j++) {
		if (j)
			rc = buf_add(b, ",", 1);
		if (!rc)
			rc = buf_add_json_str(b, m->channels[j]);
	}
	return rc ? rc : buf_add(b, "]", 1);
}

static const msg_codec msg__channels = {msg__channels_dec, msg__channels_check,
					msg__channels_enc};

/* ---- "samples" --------------------------------------------------------------- */

/* One sample row, converted into dst and checked value by value. */
static int msg__row_dec(const json_doc *doc, const json_node *row, size_t i, float *dst,
			size_t nch, char *err, size_t errlen)
{
	size_t j = 0;
	if (!json_is(row, JSON_ARRAY))
		return am_fail(err, errlen, AM_EFIELD, "samples[%zu]: not an array", i);
	for (const json_node *it = json_child(doc, row); it; it = json_next(doc, it)) {
		if (j < nch) {
			double d;
			if (!json_is(it, JSON_NUMBER))
				return am_fail(err, errlen, AM_EFIELD,
					       "samples[%zu][%zu]: not a number", i, j);
			d = it->num;
			if (!isfinite(d))
				return am_fail(err, errlen, AM_EVALUE,
					       "samples[%zu][%zu]: not finite", i, j);
			if (fabs(d) >= MSG__FLT_LIMIT)
				return am_fail(err, errlen, AM_EVALUE,
					       "samples[%zu][%zu]: beyond float range", i,
					       j);
			dst[j] = (float)d;
		}
		j++;
	}
	if (j != nch)
		return am_fail(err, errlen, AM_ESHAPE,
			       "samples[%zu]: %zu values, expected %zu (channels)", i, j,
			       nch);
	return 0;
}

/* Count the rows against the caps, then convert them straight into out's
 * (reused) storage. */
static int msg__samples_dec(const json_doc *d, const json_node *arr, void *mv, char *err,
			    size_t errlen)
{
	msg_raw *out = mv;
	size_t rows, nch = out->n_channels, i = 0;
	int rc;

	if (!json_is(arr, JSON_ARRAY))
		return am_fail(err, errlen, AM_EFIELD, "samples: not an array");
	rows = arr->count;
	if (rows > MSG_MAX_SAMPLES)
		return am_fail(err, errlen, AM_ETOOBIG, "samples: over %d rows",
			       MSG_MAX_SAMPLES);
	if (rows * nch > MSG_MAX_VALUES)
		return am_fail(err, errlen, AM_ETOOBIG, "samples: %zu values, max %d",
			       rows * nch, MSG_MAX_VALUES);
	rc = msg_raw_reserve(out, rows);
	if (rc)
		return am_fail(err, errlen, rc, "samples: %s", am_strerror(rc));
	for (const json_node *row = json_child(d, arr); row; row = json_next(d, row)) {
		if ((rc = msg__row_dec(d, row, i, out->samples + i * nch, nch, err,
				       errlen)))
			return rc;
		i++;
	}
	out->n_samples = rows;
	return 0;
}

/* What an encoder must know of the block beyond its shape: that the
 * storage holds it and every value is finite. */
static int msg__samples_check(const void *mv, char *err, size_t errlen)
{
	const msg_raw *m = mv;
	size_t nch = m->n_channels;

	if (m->n_samples && (!m->samples || m->samples_cap < m->n_samples * nch))
		return am_fail(err, errlen, AM_ESHAPE,
			       "samples: storage holds %zu values, %zu needed",
			       m->samples_cap, m->n_samples * nch);
	for (size_t i = 0; i < m->n_samples * nch; i++)
		if (!isfinite(m->samples[i]))
			return am_fail(err, errlen, AM_EVALUE,
				       "samples[%zu][%zu]: not finite", i / nch, i % nch);
	return 0;
}

static int msg__samples_enc(buf *b, const void *mv)
{
	const msg_raw *m = mv;
	size_t nch = m->n_channels;
	int rc = buf_add(b, "[", 1);

	for (size_t i = 0; !rc && i < m->n_samples; i++) {
		const float *row = m->samples + i * nch;
		rc = buf_add(b, i ? ",[" : "[", i ? 2 : 1);
		for (size_t j = 0; !rc && j < nch; j++) {
			if (j)
				rc = buf_add(b, ",", 1);
			if (!rc)
				rc = buf_add_json_float(b, row[j]);
		}
		if (!rc)
			rc = buf_add(b, "]", 1);
	}
	return rc ? rc : buf_add(b, "]", 1);
}

static const msg_codec msg__samples = {msg__samples_dec, msg__samples_check,
				       msg__samples_enc};

/* ---- the table --------------------------------------------------------------- */

#define T msg_raw
static const msg_field msg__raw_fields[] = {
    {"sensor", MSG_T_SENSOR, MSG_AT(T, sensor), MSG_SENSOR_MAX, MSG_REQ},
    {"run", MSG_T_TEXT, MSG_AT(T, run), MSG_RUN_MAX, MSG_REQ},
    {"seq", MSG_T_UINT, MSG_AT(T, seq), MSG_INT_MAX, MSG_REQ},
    /* written only when true: a live message never carries it */
    {"replay", MSG_T_BOOL, MSG_AT(T, replay), 0, MSG_OPT},
    {"t0", MSG_T_NUM, MSG_AT(T, t0), 0, MSG_REQ, .range = MSG_R_TIME},
    {"rate_hz", MSG_T_NUM, MSG_AT(T, rate_hz), 0, MSG_REQ, .range = MSG_R_POS},
    {"frame0", MSG_T_UINT, MSG_AT(T, frame0), MSG_INT_MAX, MSG_OPT,
     .flag = MSG_IF(T, has_frame0)},
    {"channels", MSG_T_CUSTOM, MSG_AT(T, channels), 0, MSG_REQ, .codec = &msg__channels},
    {"samples", MSG_T_CUSTOM, MSG_AT(T, samples), 0, MSG_LATE, .codec = &msg__samples},
};
static const msg_desc msg__raw = MSG_DESC(T, msg__raw_fields, MSG_MAX_PAYLOAD);
#undef T

int msg_raw_decode(const char *json, size_t len, msg_raw *out, char *err, size_t errlen)
{
	int rc;

	if (!out)
		return am_fail(err, errlen, AM_EFIELD, "no output struct");
	out->n_samples = 0;
	out->n_channels = 0;
	out->has_frame0 = 0;
	out->frame0 = 0;
	out->replay = 0;
	rc = msg_field_decode(&msg__raw, json, len, out, err, errlen);
	if (rc) {
		out->n_samples = 0;
		out->n_channels = 0;
	}
	return rc;
}

int msg_raw_encode(const msg_raw *m, char *out, size_t cap, size_t *len, char *err,
		   size_t errlen)
{
	return msg_field_encode(&msg__raw, m, out, cap, len, err, errlen);
}
