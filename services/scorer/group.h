/* group — a scorer's own side of group membership on the wire: it
 * announces the group it belongs to (a retained
 * {root}/_svc/scorer/{instance}/group message), subscribes to the other
 * members' status and group topics, and withdraws the announcement when it
 * stops, so the others take its sensors over at once. What the members'
 * messages mean for the split is scorer.c's and partition.c's job
 * (SCALING.md). Leaf module: returns codes, fills err, never logs. */
#ifndef ANOMESH_SCORER_GROUP_H
#define ANOMESH_SCORER_GROUP_H

#include "mqtt.h"

#include <stddef.h>

/* Publish the retained group message of instance self, then subscribe to
 * every scorer's status and group topics and to {root}/+/raw (QoS 1).
 * Returns 0, or an AM_E* code with err saying which step failed. */
int group_join(mqtt_client *c, const char *root, const char *self, const char *group,
	       char *err, size_t errlen);

/* Clear the retained group message (an empty retained payload). */
void group_leave(mqtt_client *c, const char *root, const char *self);

#endif
