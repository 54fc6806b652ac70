/* topic — build and parse the contract's topics (see topic.h). Parsing
 * walks the levels once with no copies beyond the output fields; the
 * builders go through one formatter so every topic is checked the same
 * way before it is handed to MQTT. */
#include "topic.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const topic__names[] = {
    [TOPIC_NONE] = "",
    [TOPIC_RAW] = "raw",
    [TOPIC_PREDICTION] = "prediction",
    [TOPIC_STATE] = "state",
    [TOPIC_ALERT] = "alert",
    [TOPIC_ACK] = "ack",
    [TOPIC_REPAIR] = "repair",
    [TOPIC_SVC_STATUS] = "status",
    [TOPIC_SVC_METRICS] = "metrics",
    [TOPIC_SVC_GROUP] = "group",
};
#define TOPIC__N (sizeof(topic__names) / sizeof(topic__names[0]))

const char *topic_kind_name(enum topic_kind k)
{
	return (unsigned)k < TOPIC__N ? topic__names[k] : "";
}

int topic_kind_is_sensor(enum topic_kind k)
{
	return k >= TOPIC_RAW && k <= TOPIC_REPAIR;
}

/* The kind whose name is the n bytes at s, searched among first..last. */
static enum topic_kind topic__kind(const char *s, size_t n, enum topic_kind first,
				   enum topic_kind last)
{
	for (int k = first; k <= (int)last; k++)
		if (strlen(topic__names[k]) == n && memcmp(topic__names[k], s, n) == 0)
			return (enum topic_kind)k;
	return TOPIC_NONE;
}

/* Copy the level [s, e) into out (cap bytes with NUL) if it is a valid
 * name level; 0 on success. */
static int topic__copy_level(const char *s, const char *e, char *out, size_t cap)
{
	size_t n = (size_t)(e - s);
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return text_level_valid(out, cap - 1, 0) ? 0 : -1;
}

enum topic_kind topic_parse(const char *topic, const char *root, topic_ref *out)
{
	const char *s, *l2, *l3, *l4;
	size_t rl;

	if (!out)
		return TOPIC_NONE;
	memset(out, 0, sizeof(*out));
	if (!topic || !root)
		return TOPIC_NONE;
	rl = strlen(root);
	s = topic;
	if (rl) {
		if (strncmp(topic, root, rl) != 0 || topic[rl] != '/')
			return TOPIC_NONE;
		s = topic + rl + 1;
	}
	l2 = strchr(s, '/');
	if (!l2 || l2 == s)
		return TOPIC_NONE;
	l2++;
	if ((size_t)(l2 - 1 - s) == strlen(TOPIC_SVC) &&
	    memcmp(s, TOPIC_SVC, strlen(TOPIC_SVC)) == 0) {
		/* _svc/{service}/{instance}/{kind} */
		enum topic_kind k;
		l3 = strchr(l2, '/');
		if (!l3)
			return TOPIC_NONE;
		l3++;
		l4 = strchr(l3, '/');
		if (!l4 || strchr(l4 + 1, '/'))
			return TOPIC_NONE;
		l4++;
		k = topic__kind(l4, strlen(l4), TOPIC_SVC_STATUS, TOPIC_SVC_GROUP);
		if (k == TOPIC_NONE ||
		    topic__copy_level(l2, l3 - 1, out->service, sizeof(out->service)) ||
		    topic__copy_level(l3, l4 - 1, out->instance, sizeof(out->instance))) {
			memset(out, 0, sizeof(*out));
			return TOPIC_NONE;
		}
		out->kind = k;
		return k;
	}
	/* {sensor}/{kind} */
	if (strchr(l2, '/') || (size_t)(l2 - 1 - s) > TEXT_SENSOR_MAX)
		return TOPIC_NONE;
	for (const char *p = s; p < l2 - 1; p++)
		if (!text_sensor_char((unsigned char)*p))
			return TOPIC_NONE;
	out->kind = topic__kind(l2, strlen(l2), TOPIC_RAW, TOPIC_REPAIR);
	if (out->kind == TOPIC_NONE)
		return TOPIC_NONE;
	memcpy(out->sensor, s, (size_t)(l2 - 1 - s));
	out->sensor[l2 - 1 - s] = '\0';
	return out->kind;
}

/* Format into out; the length, or AM_ETOOBIG when it does not fit. */
static int topic__fmt(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int topic__fmt(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (!out || cap == 0)
		return AM_EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		return AM_EINVAL;
	if ((size_t)n >= cap) {
		out[0] = '\0';
		return AM_ETOOBIG;
	}
	return n;
}

/* A root is "" or a level string that may hold '/' but not start with
 * '/' or '$' (broker-internal topics). */
static int topic__root_ok(const char *root)
{
	if (!root)
		return 0;
	if (!*root)
		return 1;
	return root[0] != '/' && root[0] != '$' &&
	       text_level_valid(root, TOPIC_ROOT_MAX, 1);
}

/* "{root}/" or "" for the empty root. */
#define TOPIC__PRE(root) (root), (*(root) ? "/" : "")

int topic_sensor(char *out, size_t cap, const char *root, const char *sensor,
		 enum topic_kind kind)
{
	if (!topic__root_ok(root) || !text_sensor_valid(sensor) ||
	    !topic_kind_is_sensor(kind))
		return AM_EINVAL;
	return topic__fmt(out, cap, "%s%s%s/%s", TOPIC__PRE(root), sensor,
			  topic__names[kind]);
}

int topic_svc(char *out, size_t cap, const char *root, const char *service,
	      const char *instance, enum topic_kind kind)
{
	if (!topic__root_ok(root) || !text_level_valid(service, TOPIC_NAME_MAX, 0))
		return AM_EINVAL;
	if (!instance)
		return topic__fmt(out, cap, "%s%s%s/%s", TOPIC__PRE(root), TOPIC_SVC,
				  service);
	if (!text_level_valid(instance, TOPIC_NAME_MAX, 0) ||
	    !(kind >= TOPIC_SVC_STATUS && kind <= TOPIC_SVC_GROUP))
		return AM_EINVAL;
	return topic__fmt(out, cap, "%s%s%s/%s/%s/%s", TOPIC__PRE(root), TOPIC_SVC,
			  service, instance, topic__names[kind]);
}

int topic_filter(char *out, size_t cap, const char *root, enum topic_kind kind,
		 const char *service)
{
	if (!topic__root_ok(root))
		return AM_EINVAL;
	if (topic_kind_is_sensor(kind))
		return topic__fmt(out, cap, "%s%s+/%s", TOPIC__PRE(root),
				  topic__names[kind]);
	if (!(kind >= TOPIC_SVC_STATUS && kind <= TOPIC_SVC_GROUP) ||
	    (service && !text_level_valid(service, TOPIC_NAME_MAX, 0)))
		return AM_EINVAL;
	return topic__fmt(out, cap, "%s%s%s/%s/+/%s", TOPIC__PRE(root), TOPIC_SVC,
			  service ? service : "+", topic__names[kind]);
}

int topic_name_valid(const char *topic)
{
	size_t n;
	if (!topic || !*topic || strpbrk(topic, "+#"))
		return 0;
	n = strnlen(topic, 65536);
	return n <= 65535 && text_utf8_valid(topic);
}
