/* group — announce, subscribe, withdraw (see group.h). Membership goes
 * first in group_join so that the split is known before raw data flows. */
#include "group.h"

#include "msg.h"
#include "topic.h"

#include <stdio.h>
#include <string.h>

int group_join(mqtt_client *c, const char *root, const char *self, const char *group,
	       char *err, size_t errlen)
{
	static const enum topic_kind kinds[] = {TOPIC_SVC_STATUS, TOPIC_SVC_GROUP,
						TOPIC_RAW};
	char topic[TOPIC_MAX], json[MSG_SVC_MAX_PAYLOAD];
	msg_group g;
	size_t len;
	int rc;

	snprintf(g.group, sizeof(g.group), "%s", group);
	rc = topic_svc(topic, sizeof(topic), root, "scorer", self, TOPIC_SVC_GROUP);
	if (rc >= 0)
		rc = msg_group_encode(&g, json, sizeof(json), &len, err, errlen);
	if (rc >= 0)
		rc = mqtt_publish(c, topic, json, len, 1, 1);
	if (rc < 0) {
		snprintf(err, errlen, "cannot announce group '%s': %s", group,
			 am_strerror(rc));
		return rc;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		rc = topic_filter(topic, sizeof(topic), root, kinds[i],
				  kinds[i] == TOPIC_RAW ? NULL : "scorer");
		if (rc >= 0)
			rc = mqtt_subscribe(c, topic, 1);
		if (rc < 0) {
			snprintf(err, errlen, "cannot subscribe to %s: %s", topic,
				 am_strerror(rc));
			return rc;
		}
	}
	return 0;
}

void group_leave(mqtt_client *c, const char *root, const char *self)
{
	char topic[TOPIC_MAX];
	if (topic_svc(topic, sizeof(topic), root, "scorer", self, TOPIC_SVC_GROUP) >= 0)
		mqtt_publish(c, topic, "", 0, 1, 1);
}
