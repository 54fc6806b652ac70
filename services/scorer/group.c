/* group — announce, heartbeat, subscribe, withdraw (see group.h).
 * Membership goes first in group_join so that the split is known before
 * raw data flows. One timer does both jobs: it publishes the heartbeat
 * when one is due and runs the core's deadline whenever that asks for it,
 * and at least once a heartbeat. */
#include "group.h"

#include "clock.h"
#include "msg.h"
#include "topic.h"

#include <stdio.h>
#include <string.h>

/* Publish the retained group message, "t" now. */
static int group__beat(group *g, char *err, size_t errlen)
{
	char topic[TOPIC_MAX], json[MSG_SVC_MAX_PAYLOAD];
	msg_group m;
	size_t len;
	int rc;

	memset(&m, 0, sizeof(m));
	snprintf(m.group, sizeof(m.group), "%s", g->name);
	m.has_t = 1;
	m.t = clock_now();
	rc = topic_svc(topic, sizeof(topic), g->root, "scorer", g->self, TOPIC_SVC_GROUP);
	if (rc >= 0)
		rc = msg_group_encode(&m, json, sizeof(json), &len, err, errlen);
	if (rc >= 0)
		rc = mqtt_publish(g->c, topic, json, len, 1, 1);
	return rc < 0 ? rc : 0;
}

static int64_t group__timer(void *ud)
{
	group *g = ud;
	int64_t now_ns = clock_mono_ns(), now = now_ns / 1000000, wait;
	char err[MSG_ERR_MAX];

	if (now >= g->next_beat_ms) {
		group__beat(g, err,
			    sizeof(err)); /* best effort: the next one is due soon */
		g->next_beat_ms = now + g->beat_ms;
	}
	wait = scorer_tick(g->core, now_ns);
	return wait < g->next_beat_ms - now ? wait : g->next_beat_ms - now;
}

int group_join(group *g, loop *l, mqtt_client *c, scorer *core, const char *root,
	       const char *self, const char *name, int64_t beat_ms, char *err,
	       size_t errlen)
{
	static const enum topic_kind kinds[] = {TOPIC_SVC_STATUS, TOPIC_SVC_GROUP,
						TOPIC_RAW};
	char topic[TOPIC_MAX];
	int rc;

	*g = (group){.l = l,
		     .c = c,
		     .core = core,
		     .root = root,
		     .self = self,
		     .name = name,
		     .beat_ms = beat_ms};
	rc = group__beat(g, err, errlen);
	if (rc < 0) {
		snprintf(err, errlen, "cannot announce group '%s': %s", name,
			 am_strerror(rc));
		return rc;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int raw = kinds[i] == TOPIC_RAW;
		rc = topic_filter(topic, sizeof(topic), root, kinds[i],
				  raw ? NULL : "scorer");
		if (rc >= 0)
			rc = mqtt_subscribe(c, topic, raw ? 1 : 0);
		if (rc < 0) {
			snprintf(err, errlen, "cannot subscribe to %s: %s", topic,
				 am_strerror(rc));
			return rc;
		}
	}
	g->next_beat_ms = clock_mono_ms() + beat_ms;
	g->timer = loop_timer_add(l, beat_ms, group__timer, g);
	if (g->timer < 0) {
		rc = (int)g->timer;
		g->timer = 0;
		snprintf(err, errlen, "cannot start the heartbeat: %s", am_strerror(rc));
		return rc;
	}
	return 0;
}

void group_leave(group *g)
{
	char topic[TOPIC_MAX];
	if (!g->c)
		return;
	if (g->timer > 0)
		loop_timer_del(g->l, g->timer);
	g->timer = 0;
	if (topic_svc(topic, sizeof(topic), g->root, "scorer", g->self,
		      TOPIC_SVC_GROUP) >= 0)
		mqtt_publish(g->c, topic, "", 0, 1, 1);
}
