/* topic — the contract's topic names, spelled in one place.
 *
 *   {root}/{sensor}/{raw|prediction|state|alert|ack|repair}
 *   {root}/_svc/{service}/{instance}/{status|metrics|group}
 *
 * Services build topics and subscription filters with these functions and
 * switch on the kind topic_parse() returns, instead of formatting and
 * comparing strings of their own. An empty root is allowed and means the
 * topics start at the sensor ("{sensor}/raw").
 *
 * Pure functions on caller buffers; no state, no allocation. */
#ifndef ANOMESH_TOPIC_H
#define ANOMESH_TOPIC_H

#include "error.h"
#include "text.h"

#include <stddef.h>

#define TOPIC_SVC "_svc"   /* the level under {root} for service topics */
#define TOPIC_ROOT_MAX 128 /* bytes of a root (may contain '/') */
#define TOPIC_NAME_MAX 128 /* bytes of a service or instance name */
#define TOPIC_MAX 512      /* enough for any topic built here */

enum topic_kind {
	TOPIC_NONE = 0, /* not a topic of the contract (or not under root) */
	/* {root}/{sensor}/{kind} */
	TOPIC_RAW,
	TOPIC_PREDICTION,
	TOPIC_STATE,
	TOPIC_ALERT,
	TOPIC_ACK,
	TOPIC_REPAIR, /* archiver -> ingest-bt: republish a range of raw */
	/* {root}/_svc/{service}/{instance}/{kind} */
	TOPIC_SVC_STATUS,
	TOPIC_SVC_METRICS,
	TOPIC_SVC_GROUP,
};

typedef struct topic_ref {
	enum topic_kind kind;
	char sensor[TEXT_SENSOR_MAX + 1];  /* sensor kinds; else "" */
	char service[TOPIC_NAME_MAX + 1];  /* _svc kinds; else "" */
	char instance[TOPIC_NAME_MAX + 1]; /* _svc kinds; else "" */
} topic_ref;

/* The last level of a kind ("raw", "status", ...); "" for TOPIC_NONE. */
const char *topic_kind_name(enum topic_kind k);

/* 1 for the sensor kinds (raw..repair), 0 for the rest. */
int topic_kind_is_sensor(enum topic_kind k);

/* Split topic under root into out. Returns the kind, TOPIC_NONE when the
 * topic is not under root, has another shape or an unknown last level,
 * or names an invalid sensor id, service or instance (then out holds
 * nothing useful). */
enum topic_kind topic_parse(const char *topic, const char *root, topic_ref *out);

/* Build "{root}/{sensor}/{kind}" into out (cap bytes with the NUL).
 * Returns its length, or AM_EINVAL (bad sensor id, root or kind) /
 * AM_ETOOBIG (does not fit). */
int topic_sensor(char *out, size_t cap, const char *root, const char *sensor,
		 enum topic_kind kind);

/* Build "{root}/_svc/{service}/{instance}/{kind}"; instance NULL gives
 * the "{root}/_svc/{service}/{instance}" prefix without the kind. Same
 * returns as topic_sensor. */
int topic_svc(char *out, size_t cap, const char *root, const char *service,
	      const char *instance, enum topic_kind kind);

/* Build the subscription filter for every topic of a kind: "{root}/+/raw",
 * or "{root}/_svc/{service}/+/status" (service NULL: "+", every service).
 * Same returns as topic_sensor. */
int topic_filter(char *out, size_t cap, const char *root, enum topic_kind kind,
		 const char *service);

/* 1 if topic is a name a client may publish to: 1..65535 bytes of
 * well-formed UTF-8 without a wildcard ('+', '#'). */
int topic_name_valid(const char *topic);

#endif
