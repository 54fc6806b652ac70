/* fsubject — the fleet namespace as the central archiver sees it (the
 * contract's "Fleet" section, docs/contract.md): a gateway's bridge
 * publishes MQTT topic fleet/{plant}/{gateway}/{sensor}/raw into the
 * cluster's MQTT listener, which is NATS subject
 * fleet.{plant}.{gateway}.{sensor}.raw; the cluster's subject mapping
 * (fleet/nats-node.conf.in) rewrites it to
 *
 *     fleetraw.{partition}.{plant}.{gateway}.{sensor}
 *
 * with the partition computed by the server from the three tokens, and the
 * MQTT listener stores the QoS 1 message in its stream $MQTT_msgs under
 * "$MQTT.msgs." + that subject before it acknowledges the bridge
 * (fleet/README.md, "What we found"). This module builds the consumer
 * filters and names for a partition and parses a stored subject back into
 * (partition, plant, gateway, sensor). Pure functions, no allocation.
 *
 * Codes it returns (tree-wide, error.h): AM_EFORMAT (not a fleet raw
 * subject, or an id outside its alphabet), AM_ETOOBIG (out buffer too
 * small), AM_EINVAL (partition out of range). */
#ifndef ANOMESH_FSUBJECT_H
#define ANOMESH_FSUBJECT_H

#include "error.h"
#include "msg.h"

#include <stddef.h>

#define FSUBJECT_STREAM "$MQTT_msgs"  /* NATS 2.9's stream of QoS 1 MQTT messages */
#define FSUBJECT_STORED "$MQTT.msgs." /* its subject prefix */
#define FSUBJECT_RAW "fleetraw"       /* the mapped subjects' first token */
#define FSUBJECT_ID_MAX 32            /* bytes of a plant or gateway id */
#define FSUBJECT_PARTITIONS_MAX 64    /* partitions the mapping may have */

typedef struct fsubject {
	int partition;
	char plant[FSUBJECT_ID_MAX + 1];
	char gateway[FSUBJECT_ID_MAX + 1];
	char sensor[MSG_SENSOR_MAX + 1];
} fsubject;

/* Nonzero when s is a plant or gateway id: [A-Za-z0-9_-]{1,32}. No '.'
 * (a NATS token separator) and nothing MQTT would treat as a level or a
 * wildcard. */
int fsubject_id_valid(const char *s);

/* Parse a stored subject ("$MQTT.msgs.fleetraw.3.p1.gw1.arm1"; the prefix
 * may be absent) into *out. The sensor must be a contract sensor id
 * without '.' (NATS 2.9's MQTT listener refuses dots in topics). Returns 0
 * or AM_EFORMAT with err filled. */
int fsubject_parse(const char *subject, fsubject *out, char *err, size_t errlen);

/* The filter of partition p's consumer: "$MQTT.msgs.fleetraw.<p>.>".
 * Returns 0, AM_EINVAL or AM_ETOOBIG. */
int fsubject_filter(int p, char *out, size_t len);

/* The durable consumer of partition p: "<prefix>-p<p>" (prefix: [A-Za-z0-9_-],
 * e.g. "archive"). Returns 0, AM_EINVAL or AM_ETOOBIG. */
int fsubject_durable(const char *prefix, int p, char *out, size_t len);

/* The archive file of (plant, gateway, partition) below dir:
 * "<dir>/<plant>/<gateway>/p<NN>.db". Returns 0 or AM_ETOOBIG. */
int fsubject_db_path(const char *dir, const fsubject *s, char *out, size_t len);

/* Parse the partitions an archiver owns: "all" (0 .. count-1) or a list of
 * numbers and ranges below count ("0-3,6"), each once. out has room for
 * FSUBJECT_PARTITIONS_MAX. Returns 0 with *n set, or AM_EINVAL with err. */
int fsubject_partitions_parse(const char *spec, int count, int *out, size_t *n, char *err,
			      size_t errlen);

#endif
