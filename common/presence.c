/* presence — status and metrics of a service on {root}/_svc (presence.h).
 * The "online" status is published from the client's on-connected hook, on
 * Paho's thread, before the client re-subscribes and drains its queue, so
 * it is the first thing the broker hears after every connect. When Paho's
 * buffer refuses it, it is left pending and presence_tick() tries again.
 * The topics are built once with topic_svc(). */
#include "presence.h"

#include "buf.h"
#include "clock.h"
#include "mqtt_conf.h"
#include "topic.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PRESENCE_STATUS_QOS 1
#define PRESENCE_STATUS_MAX 2048
#define PRESENCE_METRICS_MAX 16384
#define PRESENCE_RETRY_MS 1000 /* longest presence_tick() asks to wait */

struct presence {
	char service[TOPIC_NAME_MAX + 1];
	char instance[TOPIC_NAME_MAX + 1];
	char status_topic[TOPIC_MAX];
	char metrics_topic[TOPIC_MAX];
	char *will; /* {"v":1,...,"state":"offline"} without pid and t */
	metrics *m;
	int interval_ms;
	int64_t next_metrics_ms;
	mqtt_client *c;
	_Atomic int offline;        /* the shutdown hook ran: no "online" after */
	_Atomic int status_pending; /* "online" refused by a full buffer: retry */
};

/* {"v":1,"service":..,"instance":..,"state":..[,"pid":..,"t":..]} into b. */
static int presence__render(const presence *p, const char *state, int with_pid_t, buf *b)
{
	int rc = buf_adds(b, "{\"v\":1,\"service\":");
	if (!rc)
		rc = buf_add_json_str(b, p->service);
	if (!rc)
		rc = buf_adds(b, ",\"instance\":");
	if (!rc)
		rc = buf_add_json_str(b, p->instance);
	if (!rc)
		rc = buf_printf(b, ",\"state\":\"%s\"", state);
	if (!rc && with_pid_t)
		rc = buf_printf(b, ",\"pid\":%ld,\"t\":", (long)getpid());
	if (!rc && with_pid_t)
		rc = buf_add_json_num(b, clock_now());
	if (!rc)
		rc = buf_adds(b, "}");
	return rc;
}

/* Publish the retained status now; returns the mqtt code. */
static int presence__status(presence *p, mqtt_client *c, const char *state)
{
	buf b;
	int rc;

	buf_init(&b, PRESENCE_STATUS_MAX);
	rc = presence__render(p, state, 1, &b);
	if (!rc)
		rc = mqtt_publish_now(c, p->status_topic, b.data, b.len,
				      PRESENCE_STATUS_QOS, 1);
	buf_cleanup(&b);
	return rc;
}

/* Paho's thread, after every successful connect. */
static void presence__on_connected(void *ud, mqtt_client *c)
{
	presence *p = ud;
	if (atomic_load(&p->offline))
		return;
	atomic_store(&p->status_pending, presence__status(p, c, "online") != 0);
}

/* mqtt_shutdown(), still connected: say goodbye before the DISCONNECT
 * (a clean disconnect does not fire the will). */
static void presence__on_shutdown(void *ud, mqtt_client *c)
{
	presence *p = ud;
	atomic_store(&p->offline, 1);
	presence__status(p, c, "offline");
}

presence *presence_new(mqtt_options *o, metrics *m, char *err, size_t errlen)
{
	presence *p;
	buf b;

	if (!o || !o->service || o->metrics_interval_ms < 0) {
		snprintf(err, errlen, "presence: bad options");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "presence: out of memory");
		return NULL;
	}
	if (o->instance)
		snprintf(p->instance, sizeof(p->instance), "%s", o->instance);
	else
		mqtt_conf_instance_default(p->instance, sizeof(p->instance));
	snprintf(p->service, sizeof(p->service), "%s", o->service);
	if (strlen(o->service) >= sizeof(p->service) ||
	    (o->instance && strlen(o->instance) >= sizeof(p->instance)) ||
	    topic_svc(p->status_topic, sizeof(p->status_topic), o->root, p->service,
		      p->instance, TOPIC_SVC_STATUS) < 0 ||
	    topic_svc(p->metrics_topic, sizeof(p->metrics_topic), o->root, p->service,
		      p->instance, TOPIC_SVC_METRICS) < 0) {
		snprintf(err, errlen, "presence: bad root, service or instance name");
		free(p);
		return NULL;
	}
	buf_init(&b, PRESENCE_STATUS_MAX);
	if (presence__render(p, "offline", 0, &b) != 0 || !(p->will = strdup(b.data))) {
		buf_cleanup(&b);
		snprintf(err, errlen, "presence: out of memory");
		free(p);
		return NULL;
	}
	buf_cleanup(&b);
	p->m = m;
	p->interval_ms = o->metrics_interval_ms;
	if (p->interval_ms > 0)
		p->next_metrics_ms = clock_mono_ms() + p->interval_ms;
	o->instance = p->instance;
	o->will_topic = p->status_topic;
	o->will_payload = p->will;
	o->on_connected = presence__on_connected;
	o->on_shutdown = presence__on_shutdown;
	o->hook_ud = p;
	return p;
}

void presence_free(presence *p)
{
	if (!p)
		return;
	free(p->will);
	free(p);
}

void presence_attach(presence *p, mqtt_client *c)
{
	if (p)
		p->c = c;
}

int presence_publish_metrics(presence *p)
{
	buf b;
	int rc;

	if (!p || !p->m || !p->c)
		return AM_EINVAL;
	if (atomic_load(&p->offline))
		return AM_ESTOPPED;
	buf_init(&b, PRESENCE_METRICS_MAX);
	rc = metrics_render(p->m, &b);
	/* metrics_render ends with '}': reopen the object to add "t". */
	if (!rc && b.len >= 2 && b.data[b.len - 1] == '}') {
		b.len--;
		b.data[b.len] = '\0';
		rc = buf_adds(&b, b.len > 1 ? ",\"t\":" : "\"t\":");
		if (!rc)
			rc = buf_add_json_num(&b, clock_now());
		if (!rc)
			rc = buf_adds(&b, "}");
	} else if (!rc) {
		rc = -1;
	}
	if (rc) {
		buf_cleanup(&b);
		return AM_ENOMEM;
	}
	rc = mqtt_publish_now(p->c, p->metrics_topic, b.data, b.len, 0, 0);
	buf_cleanup(&b);
	return rc == AM_EOVERFLOW ? rc : (rc ? AM_EBROKER : 0);
}

int64_t presence_tick(presence *p)
{
	int64_t now = clock_mono_ms(), wait = PRESENCE_RETRY_MS;

	if (!p || !p->c)
		return wait;
	if (atomic_load(&p->status_pending) && mqtt_is_connected(p->c) &&
	    !atomic_load(&p->offline))
		atomic_store(&p->status_pending,
			     presence__status(p, p->c, "online") != 0);
	if (p->interval_ms > 0 && !atomic_load(&p->offline)) {
		if (now >= p->next_metrics_ms) {
			p->next_metrics_ms = now + p->interval_ms;
			/* stale figures are not worth offline buffer space */
			if (mqtt_is_connected(p->c))
				presence_publish_metrics(p);
		}
		if (p->next_metrics_ms - now < wait)
			wait = p->next_metrics_ms - now;
	}
	return wait;
}
