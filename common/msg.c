/* msg — the v1 contract messages (see msg.h and ../shared/docs/contract.md),
 * each written down once as a table of its fields; msg_field.c does the
 * decoding, checking and encoding for all of them, msg_raw.c holds raw's
 * table and its sample block.
 *
 * The rules every message follows:
 *  - decoding goes through json.h (what cJSON accepted, without its
 *    allocation per value), after two cheap checks: the byte cap (before
 *    any parsing) and no NUL byte nor "\u0000" escape (a C string would
 *    end there, so "arm1\u0000/x" would read as "arm1"); nothing but
 *    whitespace may follow the value;
 *  - then every field is type-checked and copied, and the filled struct
 *    goes through the same validator the encoder uses, so the two sides
 *    cannot drift: whatever an encoder writes, a decoder reads back, and an
 *    encoder refuses whatever a decoder would refuse;
 *  - numbers are finite; timestamps are >= 0; the sensor id matches
 *    [A-Za-z0-9._-]{1,64} (text.h); text fields (run, channel names, model,
 *    ids, names, severity, service, instance, group) are valid UTF-8
 *    without control characters; strings over their byte cap give
 *    AM_ETOOBIG, except the sensor id whose length is part of its pattern
 *    (AM_EVALUE);
 *  - encoding is hand-written onto common/buf.h, straight into the
 *    caller's output array: no tree and no allocation (raw messages
 *    are the hot path, thousands per second). Integers are printed as
 *    integers (never "1e+06"), doubles and floats as the shortest text that
 *    reads back to the same value.
 *
 * Thread-safety: decoders parse into a per-thread document kept between
 * calls (msg_field.c); any thread may call any function. */
#include "msg.h"

#include "msg_field.h"

#include <stdio.h>
#include <string.h>

#define MSG__SEVERITY_MAX 15

/* The name of a state_kind value, NULL past the last (an ENUM row's name). */
static const char *msg__state(int v)
{
	return v >= 0 && v < STATE_N ? state_name((state_kind)v) : NULL;
}

/* The status message's "state": 0 offline, 1 online. */
static const char *msg__presence(int v)
{
	return v == 0 ? "offline" : v == 1 ? "online" : NULL;
}

/* ---- "top": the channels' shares of a score ----------------------------------- */

static int msg__top_dec(const json_doc *d, const json_node *arr, msg_top *t, char *err,
			size_t errlen)
{
	t->n = 0;
	if (!json_is(arr, JSON_ARRAY))
		return am_fail(err, errlen, AM_EFIELD, "top: not an array");
	for (const json_node *it = json_child(d, arr); it; it = json_next(d, it)) {
		const json_node *name = json_at(d, it, 0), *share = json_at(d, it, 1);
		if (t->n == MSG_TOP_MAX)
			return am_fail(err, errlen, AM_ETOOBIG, "top: over %d channels",
				       MSG_TOP_MAX);
		if (!json_is(it, JSON_ARRAY) || it->count != 2 ||
		    !json_is(name, JSON_STRING) || !json_is(share, JSON_NUMBER))
			return am_fail(err, errlen, AM_EFIELD,
				       "top[%zu]: not a [channel, share] pair", t->n);
		if (name->len > MSG_CHANNEL_MAX)
			return am_fail(err, errlen, AM_ETOOBIG, "top[%zu]: over %d bytes",
				       t->n, MSG_CHANNEL_MAX);
		memcpy(t->c[t->n].channel, name->str, (size_t)name->len + 1);
		t->c[t->n].share = share->num;
		t->n++;
	}
	return 0;
}

static int msg__top_check(const msg_top *t, char *err, size_t errlen)
{
	int rc;
	if (t->n > MSG_TOP_MAX)
		return am_fail(err, errlen, AM_ETOOBIG, "top: over %d channels",
			       MSG_TOP_MAX);
	for (size_t i = 0; i < t->n; i++) {
		if ((rc = msg_field_text_check("top", t->c[i].channel, MSG_CHANNEL_MAX, 0,
					       err, errlen)))
			return rc;
		if (!(t->c[i].share >= 0.0 && t->c[i].share <= 1.0))
			return am_fail(err, errlen, AM_EVALUE,
				       "top[%zu]: share not in 0..1", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->c[i].channel, t->c[j].channel) == 0)
				return am_fail(err, errlen, AM_EVALUE,
					       "top[%zu]: duplicate channel", i);
	}
	return 0;
}

static int msg__top_enc(buf *b, const msg_top *t)
{
	int rc = buf_add(b, "[", 1);
	for (size_t i = 0; !rc && i < t->n; i++) {
		rc = buf_adds(b, i ? ",[" : "[");
		if (!rc)
			rc = buf_add_json_str(b, t->c[i].channel);
		if (!rc)
			rc = buf_add(b, ",", 1);
		if (!rc)
			rc = buf_add_json_num(b, t->c[i].share);
		if (!rc)
			rc = buf_add(b, "]", 1);
	}
	return rc ? rc : buf_add(b, "]", 1);
}

/* The codec of the "top" member of message struct T. */
#define MSG__TOP_CODEC(name, T)                                                          \
	static int name##_dec(const json_doc *d, const json_node *it, void *m,           \
			      char *err, size_t errlen)                                  \
	{                                                                                \
		return msg__top_dec(d, it, &((T *)m)->top, err, errlen);                 \
	}                                                                                \
	static int name##_check(const void *m, char *err, size_t errlen)                 \
	{                                                                                \
		return msg__top_check(&((const T *)m)->top, err, errlen);                \
	}                                                                                \
	static int name##_enc(buf *b, const void *m)                                     \
	{                                                                                \
		return msg__top_enc(b, &((const T *)m)->top);                            \
	}                                                                                \
	static const msg_codec name = {name##_dec, name##_check, name##_enc};
MSG__TOP_CODEC(msg__prediction_top, msg_prediction)
MSG__TOP_CODEC(msg__alert_top, msg_alert)

/* ---- the tables ------------------------------------------------------------ */

#define T msg_repair
static const msg_field msg__repair_fields[] = {
    {"sensor", MSG_T_SENSOR, MSG_AT(T, sensor), MSG_SENSOR_MAX, MSG_REQ},
    {"run", MSG_T_TEXT, MSG_AT(T, run), MSG_RUN_MAX, MSG_REQ},
    {"seq_from", MSG_T_UINT, MSG_AT(T, seq_from), MSG_INT_MAX, MSG_REQ},
    {"seq_to", MSG_T_UINT, MSG_AT(T, seq_to), MSG_INT_MAX, MSG_REQ},
};
static const msg_desc msg__repair = MSG_DESC(T, msg__repair_fields, MSG_SVC_MAX_PAYLOAD);
#undef T

#define T msg_prediction
static const msg_field msg__prediction_fields[] = {
    {"sensor", MSG_T_SENSOR, MSG_AT(T, sensor), MSG_SENSOR_MAX, MSG_REQ},
    {"t", MSG_T_NUM, MSG_AT(T, t), 0, MSG_REQ, .range = MSG_R_TIME},
    {"t_start", MSG_T_NUM, MSG_AT(T, t_start), 0, MSG_REQ, .range = MSG_R_TIME},
    {"n", MSG_T_UINT, MSG_AT(T, n), UINT32_MAX, MSG_REQ},
    {"score", MSG_T_NUM, MSG_AT(T, score), 0, MSG_REQ, .range = MSG_R_ANY},
    {"threshold", MSG_T_NUM, MSG_AT(T, threshold), 0, MSG_REQ, .range = MSG_R_ANY},
    {"anomaly", MSG_T_BOOL, MSG_AT(T, anomaly), 0, MSG_REQ},
    {"model", MSG_T_TEXT, MSG_AT(T, model), MSG_NAME_MAX, MSG_REQ},
    {"latency_ms", MSG_T_NUM, MSG_AT(T, latency_ms), 0, MSG_REQ, .range = MSG_R_NONNEG},
    {"top", MSG_T_CUSTOM, MSG_AT(T, top), 0, MSG_OPT, .flag = MSG_IF(T, has_top),
     .codec = &msg__prediction_top},
};
static const msg_desc msg__prediction =
    MSG_DESC(T, msg__prediction_fields, MSG_MAX_PAYLOAD);
#undef T

#define T msg_state
static const msg_field msg__state_fields[] = {
    {"sensor", MSG_T_SENSOR, MSG_AT(T, sensor), MSG_SENSOR_MAX, MSG_REQ},
    {"state", MSG_T_ENUM, MSG_AT(T, state), 0, MSG_REQ, .name = msg__state},
    {"since", MSG_T_NUM, MSG_AT(T, since), 0, MSG_REQ, .range = MSG_R_TIME},
    {"t", MSG_T_NUM, MSG_AT(T, t), 0, MSG_REQ, .range = MSG_R_TIME},
    {"anomaly_rate", MSG_T_NUM, MSG_AT(T, anomaly_rate), 0, MSG_REQ, .range = MSG_R_RATE},
    {"window_s", MSG_T_NUM, MSG_AT(T, window_s), 0, MSG_REQ, .range = MSG_R_POS},
    /* written only when true; "acked":true without who acked it is not a
     * state we publish */
    {"acked", MSG_T_BOOL, MSG_AT(T, acked), 0, MSG_OPT},
    {"acked_by", MSG_T_TEXT, MSG_AT(T, acked_by), MSG_NAME_MAX, MSG_DEP,
     .flag = MSG_IF(T, acked)},
    {"alert_id", MSG_T_TEXT, MSG_AT(T, alert_id), MSG_ID_MAX, MSG_OPT},
};
static const msg_desc msg__state_msg = MSG_DESC(T, msg__state_fields, MSG_MAX_PAYLOAD);
#undef T

#define T msg_alert
static const msg_field msg__alert_fields[] = {
    {"id", MSG_T_TEXT, MSG_AT(T, id), MSG_ID_MAX, MSG_REQ},
    {"sensor", MSG_T_SENSOR, MSG_AT(T, sensor), MSG_SENSOR_MAX, MSG_REQ},
    {"t", MSG_T_NUM, MSG_AT(T, t), 0, MSG_REQ, .range = MSG_R_TIME},
    {"from", MSG_T_ENUM, MSG_AT(T, from), 0, MSG_REQ, .name = msg__state},
    {"to", MSG_T_ENUM, MSG_AT(T, to), 0, MSG_REQ, .name = msg__state},
    {"severity", MSG_T_TEXT, MSG_AT(T, severity), MSG__SEVERITY_MAX, MSG_REQ},
    {"anomaly_rate", MSG_T_NUM, MSG_AT(T, anomaly_rate), 0, MSG_REQ, .range = MSG_R_RATE},
    {"top", MSG_T_CUSTOM, MSG_AT(T, top), 0, MSG_OPT, .flag = MSG_IF(T, has_top),
     .codec = &msg__alert_top},
};
static const msg_desc msg__alert = MSG_DESC(T, msg__alert_fields, MSG_MAX_PAYLOAD);
#undef T

#define T msg_ack
static const msg_field msg__ack_fields[] = {
    {"id", MSG_T_TEXT, MSG_AT(T, id), MSG_ID_MAX, MSG_REQ},
    {"by", MSG_T_TEXT, MSG_AT(T, by), MSG_NAME_MAX, MSG_REQ},
    {"t", MSG_T_NUM, MSG_AT(T, t), 0, MSG_REQ, .range = MSG_R_TIME},
};
static const msg_desc msg__ack = MSG_DESC(T, msg__ack_fields, MSG_MAX_PAYLOAD);
#undef T

#define T msg_status
static const msg_field msg__status_fields[] = {
    {"service", MSG_T_TEXT, MSG_AT(T, service), MSG_SVC_NAME_MAX, MSG_OPT},
    {"instance", MSG_T_TEXT, MSG_AT(T, instance), MSG_SVC_NAME_MAX, MSG_OPT},
    {"state", MSG_T_ENUM, MSG_AT(T, online), 0, MSG_REQ, .name = msg__presence},
    {"pid", MSG_T_UINT, MSG_AT(T, pid), MSG_INT_MAX, MSG_OPT, .flag = MSG_IF(T, has_pid)},
    {"t", MSG_T_NUM, MSG_AT(T, t), 0, MSG_OPT, .flag = MSG_IF(T, has_t),
     .range = MSG_R_TIME},
};
static const msg_desc msg__status = MSG_DESC(T, msg__status_fields, MSG_SVC_MAX_PAYLOAD);
#undef T

#define T msg_group
static const msg_field msg__group_fields[] = {
    {"group", MSG_T_TEXT, MSG_AT(T, group), MSG_GROUP_MAX, MSG_REQ},
    {"t", MSG_T_NUM, MSG_AT(T, t), 0, MSG_OPT, .flag = MSG_IF(T, has_t),
     .range = MSG_R_TIME},
};
static const msg_desc msg__group = MSG_DESC(T, msg__group_fields, MSG_SVC_MAX_PAYLOAD);
#undef T

/* ---- the functions: a table each ------------------------------------------- */

/* The one rule across repair's fields: a range runs forwards. */
static int msg__repair_range(const msg_repair *m, char *err, size_t errlen)
{
	if (m->seq_to < m->seq_from)
		return am_fail(
		    err, errlen, AM_EVALUE, "seq_to: %llu is below seq_from %llu",
		    (unsigned long long)m->seq_to, (unsigned long long)m->seq_from);
	return 0;
}

int msg_repair_decode(const char *json, size_t len, msg_repair *out, char *err,
		      size_t errlen)
{
	msg_repair m, tmp;
	int rc = msg_field_decode_copy(&msg__repair, json, len, &m, &tmp, err, errlen);
	if (!rc)
		rc = msg__repair_range(&m, err, errlen);
	if (!rc && out)
		*out = m;
	return rc;
}

int msg_repair_encode(const msg_repair *m, char *out, size_t cap, size_t *len, char *err,
		      size_t errlen)
{
	int rc = m ? msg__repair_range(m, err, errlen) : 0;
	if (rc) {
		if (len)
			*len = 0;
		if (out && cap)
			out[0] = 0;
		return rc;
	}
	return msg_field_encode(&msg__repair, m, out, cap, len, err, errlen);
}

int msg_prediction_decode(const char *json, size_t len, msg_prediction *out, char *err,
			  size_t errlen)
{
	msg_prediction m;
	return msg_field_decode_copy(&msg__prediction, json, len, out, &m, err, errlen);
}

int msg_prediction_encode(const msg_prediction *m, char *out, size_t cap, size_t *len,
			  char *err, size_t errlen)
{
	return msg_field_encode(&msg__prediction, m, out, cap, len, err, errlen);
}

int msg_state_decode(const char *json, size_t len, msg_state *out, char *err,
		     size_t errlen)
{
	msg_state m;
	return msg_field_decode_copy(&msg__state_msg, json, len, out, &m, err, errlen);
}

int msg_state_encode(const msg_state *m, char *out, size_t cap, size_t *len, char *err,
		     size_t errlen)
{
	return msg_field_encode(&msg__state_msg, m, out, cap, len, err, errlen);
}

int msg_alert_decode(const char *json, size_t len, msg_alert *out, char *err,
		     size_t errlen)
{
	msg_alert m;
	return msg_field_decode_copy(&msg__alert, json, len, out, &m, err, errlen);
}

int msg_alert_encode(const msg_alert *m, char *out, size_t cap, size_t *len, char *err,
		     size_t errlen)
{
	return msg_field_encode(&msg__alert, m, out, cap, len, err, errlen);
}

int msg_ack_decode(const char *json, size_t len, msg_ack *out, char *err, size_t errlen)
{
	msg_ack m;
	return msg_field_decode_copy(&msg__ack, json, len, out, &m, err, errlen);
}

int msg_ack_encode(const msg_ack *m, char *out, size_t cap, size_t *len, char *err,
		   size_t errlen)
{
	return msg_field_encode(&msg__ack, m, out, cap, len, err, errlen);
}

int msg_status_decode(const char *json, size_t len, msg_status *out, char *err,
		      size_t errlen)
{
	msg_status m;
	return msg_field_decode_copy(&msg__status, json, len, out, &m, err, errlen);
}

int msg_status_encode(const msg_status *m, char *out, size_t cap, size_t *len, char *err,
		      size_t errlen)
{
	return msg_field_encode(&msg__status, m, out, cap, len, err, errlen);
}

int msg_group_decode(const char *json, size_t len, msg_group *out, char *err,
		     size_t errlen)
{
	msg_group m;
	return msg_field_decode_copy(&msg__group, json, len, out, &m, err, errlen);
}

int msg_group_encode(const msg_group *m, char *out, size_t cap, size_t *len, char *err,
		     size_t errlen)
{
	return msg_field_encode(&msg__group, m, out, cap, len, err, errlen);
}
