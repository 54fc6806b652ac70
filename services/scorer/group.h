/* group — a scorer's own side of group membership on the wire: it
 * announces the group it belongs to and keeps announcing it, one retained
 * {root}/_svc/scorer/{instance}/group heartbeat every --heartbeat-ms (with
 * "t"); it subscribes to the other members' status and group topics; it
 * has the core apply the membership deadline (scorer_tick) as time passes;
 * and it withdraws the announcement when it stops, so the others take its
 * sensors over at once. What the members' messages mean for the split is
 * scorer.c's and partition.c's job (SCALING.md).
 *
 * The membership topics are subscribed at QoS 0: a heartbeat is worth
 * something only when it is fresh, and the broker queues no QoS 0 message
 * for a disconnected persistent session, so a restarted scorer is never
 * handed a backlog of old heartbeats that would read as live ones.
 *
 * Ownership: a group is embedded by the caller; it borrows the loop, the
 * client, the core and the three strings, which must outlive it. Leaf
 * module: returns codes, fills err, never logs. */
#ifndef ANOMESH_SCORER_GROUP_H
#define ANOMESH_SCORER_GROUP_H

#include "loop.h"
#include "mqtt.h"
#include "scorer.h"

#include <stddef.h>
#include <stdint.h>

typedef struct group {
	loop *l;
	mqtt_client *c;
	scorer *core;
	const char *root, *self, *name;
	int64_t beat_ms, next_beat_ms;
	long timer; /* 0: none */
} group;

/* Publish the first heartbeat of instance self in group name, subscribe to
 * every scorer's status and group topics (QoS 0) and to {root}/+/raw
 * (QoS 1), and start the heartbeat timer on l. Returns 0, or an AM_E* code
 * with err saying which step failed. */
int group_join(group *g, loop *l, mqtt_client *c, scorer *core, const char *root,
	       const char *self, const char *name, int64_t beat_ms, char *err,
	       size_t errlen);

/* Stop the timer and clear the retained group message (an empty retained
 * payload). Safe on a zeroed group. */
void group_leave(group *g);

#endif
