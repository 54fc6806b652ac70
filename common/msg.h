/* msg — encode, decode and validate the v1 messages of the mesh contract
 * (../shared/docs/contract.md): raw, prediction, state, alert, ack.
 *
 * Every payload that arrives over MQTT is untrusted. Decoders enforce hard
 * caps (payload bytes, samples, channels, string lengths), accept finite
 * numbers only, check the sensor-id pattern and refuse sample rows whose
 * length differs from the channel count. Each refusal returns a negative
 * AM_E* code and writes a one-line reason into err (never logs).
 *
 * Encoders write compact JSON with the shortest number text that reads back
 * to the same value; they refuse what a decoder would refuse (so nothing
 * invalid is ever published) and payloads over MSG_MAX_PAYLOAD.
 *
 * Ownership: the structs are embedded by the caller. msg_raw owns its
 * samples array (heap); msg_raw_init() / msg_raw_cleanup() pair, cleanup is
 * NULL-safe and idempotent; a decode into an already-used msg_raw reuses or
 * replaces its storage. The other messages hold only fixed-size fields. */
#ifndef ANOMESH_MSG_H
#define ANOMESH_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_VERSION 1

#define MSG_MAX_PAYLOAD (1024 * 1024)         /* bytes of one JSON payload */
#define MSG_MAX_SAMPLES 4096                  /* rows in one raw message */
#define MSG_MAX_CHANNELS 32                   /* columns in one raw message */
#define MSG_MAX_VALUES (MSG_MAX_SAMPLES * 16) /* rows*cols cap */
#define MSG_SENSOR_MAX 64                     /* [A-Za-z0-9._-]{1,64} */
#define MSG_CHANNEL_MAX 32                    /* bytes of a channel name */
#define MSG_RUN_MAX 64                        /* bytes of a run id */
#define MSG_ID_MAX 160                        /* alert id */
#define MSG_NAME_MAX 64                       /* model name, operator name, etc. */
#define MSG_ERR_MAX 160                       /* recommended err buffer size */

/* Codes it returns (tree-wide, error.h):
 *   AM_EJSON     not JSON, truncated, not an object
 *   AM_ETOOBIG   payload or a count over its cap
 *   AM_EFIELD    missing field or wrong type
 *   AM_EVALUE    value out of range, NaN/Inf, bad pattern
 *   AM_EVERSION  "v" is not a version we read
 *   AM_ESHAPE    ragged rows, row length != channel count
 *   AM_ENOMEM
 */
#include "error.h"

/* 1 if s matches [A-Za-z0-9._-]{1,64}, else 0. */
int msg_sensor_valid(const char *s);

/* Parse a topic "{root}/{sensor}/{kind}" where root is given. On success
 * copies the sensor (NUL-terminated, <= MSG_SENSOR_MAX) and returns a
 * pointer to kind inside topic; NULL when the topic does not have that
 * shape or the sensor id is invalid. */
const char *msg_topic_split(const char *topic, const char *root,
			    char sensor[MSG_SENSOR_MAX + 1]);

/* ---- raw --------------------------------------------------------------- */
typedef struct msg_raw {
	char sensor[MSG_SENSOR_MAX + 1];
	char run[MSG_RUN_MAX + 1];
	uint64_t seq;
	double t0;      /* UNIX seconds of the first sample */
	double rate_hz; /* > 0 */
	int has_frame0;
	int64_t frame0; /* sensor frame counter of the first sample (>= 0) */
	size_t n_channels;
	char channels[MSG_MAX_CHANNELS][MSG_CHANNEL_MAX + 1];
	size_t n_samples;
	float *samples;     /* row-major n_samples * n_channels; owned */
	size_t samples_cap; /* floats allocated */
} msg_raw;

void msg_raw_init(msg_raw *m);
void msg_raw_cleanup(msg_raw *m);
/* Make room for n_samples rows of m->n_channels values (keeps nothing).
 * Returns 0 or AM_ENOMEM / AM_ETOOBIG. */
int msg_raw_reserve(msg_raw *m, size_t n_samples);

int msg_raw_decode(const char *json, size_t len, msg_raw *out, char *err, size_t errlen);
/* Writes at most cap bytes (plus NUL) into out; *len gets the length.
 * AM_ETOOBIG when it does not fit or exceeds MSG_MAX_PAYLOAD. */
int msg_raw_encode(const msg_raw *m, char *out, size_t cap, size_t *len, char *err,
		   size_t errlen);

/* ---- prediction -------------------------------------------------------- */
typedef struct msg_prediction {
	char sensor[MSG_SENSOR_MAX + 1];
	double t;       /* UNIX seconds of the window's last sample */
	double t_start; /* of its first sample */
	uint32_t n;     /* samples in the window */
	double score;
	double threshold;
	int anomaly; /* score > threshold */
	char model[MSG_NAME_MAX + 1];
	double latency_ms;
} msg_prediction;

int msg_prediction_decode(const char *json, size_t len, msg_prediction *out, char *err,
			  size_t errlen);
int msg_prediction_encode(const msg_prediction *m, char *out, size_t cap, size_t *len,
			  char *err, size_t errlen);

/* ---- state (retained) -------------------------------------------------- */
enum msg_state_kind { MSG_STATE_OK = 0, MSG_STATE_FAILURE, MSG_STATE_STALE };
const char *msg_state_name(enum msg_state_kind s);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int msg_state_parse(const char *s, enum msg_state_kind *out);

typedef struct msg_state {
	char sensor[MSG_SENSOR_MAX + 1];
	enum msg_state_kind state;
	double since;
	double t;
	double anomaly_rate; /* 0..1 */
	double window_s;
	int acked; /* optional: 1 if the current alert was acked */
	char acked_by[MSG_NAME_MAX + 1];
	char alert_id[MSG_ID_MAX + 1]; /* optional: id of the current alert */
} msg_state;

int msg_state_decode(const char *json, size_t len, msg_state *out, char *err,
		     size_t errlen);
int msg_state_encode(const msg_state *m, char *out, size_t cap, size_t *len, char *err,
		     size_t errlen);

/* ---- alert ------------------------------------------------------------- */
typedef struct msg_alert {
	char id[MSG_ID_MAX + 1];
	char sensor[MSG_SENSOR_MAX + 1];
	double t;
	enum msg_state_kind from, to;
	char severity[16]; /* "critical", "warning", "info" */
	double anomaly_rate;
} msg_alert;

int msg_alert_decode(const char *json, size_t len, msg_alert *out, char *err,
		     size_t errlen);
int msg_alert_encode(const msg_alert *m, char *out, size_t cap, size_t *len, char *err,
		     size_t errlen);

/* ---- ack --------------------------------------------------------------- */
typedef struct msg_ack {
	char id[MSG_ID_MAX + 1];
	char by[MSG_NAME_MAX + 1];
	double t;
} msg_ack;

int msg_ack_decode(const char *json, size_t len, msg_ack *out, char *err, size_t errlen);
int msg_ack_encode(const msg_ack *m, char *out, size_t cap, size_t *len, char *err,
		   size_t errlen);

#endif
