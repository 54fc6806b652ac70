/* msg — encode, decode and validate the v1 messages of the mesh contract
 * (../shared/docs/contract.md): raw, repair, prediction, state, alert, ack,
 * and the service messages under {root}/_svc: status and the scorer's group.
 *
 * Every payload that arrives over MQTT is untrusted. Decoders enforce hard
 * caps (payload bytes, samples, channels, string lengths), accept finite
 * numbers only, check the sensor-id pattern and refuse sample rows whose
 * length differs from the channel count. Each refusal returns a negative
 * AM_E* code and writes a one-line reason into err (never logs).
 *
 * Encoders write compact JSON with the shortest number text that reads back
 * to the same value; they refuse what a decoder would refuse (so nothing
 * invalid is ever published) and payloads over the message's cap.
 *
 * Each message is described once, as a table of its fields (msg.c, and
 * msg_raw.c for raw); one engine (msg_field.h) decodes, checks and encodes
 * from those tables.
 *
 * Ownership: the structs are embedded by the caller. msg_raw owns its
 * samples array (heap); msg_raw_init() / msg_raw_cleanup() pair, cleanup is
 * NULL-safe and idempotent; a decode into an already-used msg_raw reuses or
 * replaces its storage. The other messages hold only fixed-size fields. */
#ifndef ANOMESH_MSG_H
#define ANOMESH_MSG_H

#include "state.h"
#include "text.h"
#include "topic.h"

#include <stddef.h>
#include <stdint.h>

#define MSG_VERSION 1

#define MSG_MAX_PAYLOAD (1024 * 1024)         /* bytes of one JSON payload */
#define MSG_MAX_SAMPLES 4096                  /* rows in one raw message */
#define MSG_MAX_CHANNELS 32                   /* columns in one raw message */
#define MSG_MAX_VALUES (MSG_MAX_SAMPLES * 16) /* rows*cols cap */
#define MSG_SENSOR_MAX TEXT_SENSOR_MAX        /* [A-Za-z0-9._-]{1,64} */
#define MSG_CHANNEL_MAX 32                    /* bytes of a channel name */
#define MSG_RUN_MAX 64                        /* bytes of a run id */
#define MSG_ID_MAX 160                        /* alert id */
#define MSG_NAME_MAX 64                       /* model name, operator name, etc. */
#define MSG_SVC_NAME_MAX TOPIC_NAME_MAX       /* service, instance (topic levels) */
#define MSG_GROUP_MAX 128                     /* bytes of a scorer group name */
#define MSG_SVC_MAX_PAYLOAD 4096              /* bytes of a status or group payload */
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

/* Sensor ids are checked with text_sensor_valid() (text.h), topics split
 * with topic_parse() (topic.h). Every decode and encode below returns 0 or
 * one of the codes above; encoders write at most cap bytes (plus NUL) into
 * out and set *len (0 on error, out then holds ""). */

/* ---- raw --------------------------------------------------------------- */
typedef struct msg_raw {
	char sensor[MSG_SENSOR_MAX + 1];
	char run[MSG_RUN_MAX + 1];
	uint64_t seq;
	int replay;     /* optional "replay":true: republished from ingest's journal */
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

/* Decode into out, reusing its sample storage; on error out holds no
 * channels and no samples. */
int msg_raw_decode(const char *json, size_t len, msg_raw *out, char *err, size_t errlen);
/* Written straight into out (no cJSON, no allocation: the hot path).
 * AM_ETOOBIG when it does not fit or exceeds MSG_MAX_PAYLOAD. */
int msg_raw_encode(const msg_raw *m, char *out, size_t cap, size_t *len, char *err,
		   size_t errlen);

/* ---- which channels drove a score: "top" -------------------------------- */
/* [["linacc_x",0.71],["linacc_z",0.18]]: up to MSG_TOP_MAX channels, largest
 * share first, each share of the reconstruction error in 0..1. Optional in
 * prediction and alert (present when has_top is set), no "v" change. */
#define MSG_TOP_MAX 3
typedef struct msg_top {
	size_t n;
	struct {
		char channel[MSG_CHANNEL_MAX + 1];
		double share;
	} c[MSG_TOP_MAX];
} msg_top;

/* ---- repair: {root}/{sensor}/repair --------------------------------------- */
/* {"v":1,"sensor":"arm1","run":"6f2a91c0","seq_from":1042,"seq_to":1100}:
 * the archiver asks ingest-bt to republish the raw messages seq_from ..
 * seq_to (inclusive) of (sensor, run) from its journal, marked as replays.
 * Decoder and encoder refuse seq_to < seq_from (AM_EVALUE). */
typedef struct msg_repair {
	char sensor[MSG_SENSOR_MAX + 1];
	char run[MSG_RUN_MAX + 1];
	uint64_t seq_from;
	uint64_t seq_to;
} msg_repair;

int msg_repair_decode(const char *json, size_t len, msg_repair *out, char *err,
		      size_t errlen);
int msg_repair_encode(const msg_repair *m, char *out, size_t cap, size_t *len, char *err,
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
	int has_top; /* optional: the channels' shares of score */
	msg_top top;
} msg_prediction;

int msg_prediction_decode(const char *json, size_t len, msg_prediction *out, char *err,
			  size_t errlen);
int msg_prediction_encode(const msg_prediction *m, char *out, size_t cap, size_t *len,
			  char *err, size_t errlen);

/* ---- state (retained) -------------------------------------------------- */
/* The state itself is state.h's state_kind (state_name, state_parse). */
typedef struct msg_state {
	char sensor[MSG_SENSOR_MAX + 1];
	state_kind state;
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
	state_kind from, to;
	char severity[16]; /* "critical", "warning", "info" */
	double anomaly_rate;
	int has_top; /* optional: the channels that drove it, with their shares */
	msg_top top;
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

/* ---- service status: {root}/_svc/{service}/{instance}/status ------------ */
/* {"v":1,"service":..,"instance":..,"state":"online"|"offline","pid":..,"t":..}
 * retained; the last will is the same without pid and t. service and
 * instance repeat the topic's levels: a reader that has the topic may go
 * without them, so they are optional ("" when absent, and not written when
 * empty); pid and t are optional with their has_ flags. */
typedef struct msg_status {
	char service[MSG_SVC_NAME_MAX + 1];
	char instance[MSG_SVC_NAME_MAX + 1];
	int online; /* "state": 1 "online", 0 "offline" */
	int has_pid;
	int64_t pid; /* 0..2^53 */
	int has_t;
	double t; /* UNIX seconds */
} msg_status;

int msg_status_decode(const char *json, size_t len, msg_status *out, char *err,
		      size_t errlen);
int msg_status_encode(const msg_status *m, char *out, size_t cap, size_t *len, char *err,
		      size_t errlen);

/* ---- scorer group: {root}/_svc/scorer/{instance}/group ------------------- */
/* {"v":1,"group":"default","t":1764151200.5}, retained: the group a
 * scorer belongs to, republished every heartbeat (services/scorer/
 * SCALING.md). t, when it was sent, is optional (has_t). */
typedef struct msg_group {
	char group[MSG_GROUP_MAX + 1]; /* 1..MSG_GROUP_MAX bytes of text */
	int has_t;
	double t; /* UNIX seconds */
} msg_group;

int msg_group_decode(const char *json, size_t len, msg_group *out, char *err,
		     size_t errlen);
int msg_group_encode(const msg_group *m, char *out, size_t cap, size_t *len, char *err,
		     size_t errlen);

#endif
