/* presence — how a service shows itself on the mesh (contract.md):
 *  - the retained {root}/_svc/{service}/{instance}/status "online" after
 *    every (re)connect, with pid and time;
 *  - the same topic's last will, a retained "offline" the broker publishes
 *    when the connection dies without a DISCONNECT;
 *  - a retained "offline" with pid and time on an orderly shutdown;
 *  - periodic {..}/metrics: the service's metrics registry as JSON plus "t".
 * These are control messages: they go to the broker directly
 * (mqtt_publish_now), not through the outbound queue, and are not counted
 * in msgs_out.
 *
 * Use: presence_new() before mqtt_new() (it writes the will and the
 * client's on-connected and on-shutdown hooks into the options: "online"
 * after every connect, "offline" from mqtt_shutdown() before it
 * disconnects, as a clean DISCONNECT does not fire the will),
 * presence_attach() after, presence_tick() from the service loop. svc
 * does all three for a service.
 *
 * Threads: the on-connected hook runs on Paho's thread, the on-shutdown
 * hook on the thread calling mqtt_shutdown(); everything else from the
 * service loop's thread.
 * Ownership: presence_new() copies what it needs from the options; the
 * metrics registry is borrowed. The presence must outlive the client it
 * was made for (its hook): free it after mqtt_free(); NULL-safe.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM, AM_ESTOPPED,
 * AM_EOVERFLOW, AM_EBROKER. */
#ifndef ANOMESH_PRESENCE_H
#define ANOMESH_PRESENCE_H

#include "error.h"
#include "metrics.h"
#include "mqtt.h"

#include <stdint.h>

typedef struct presence presence;

/* The presence of the client o describes (o->root, o->service and
 * o->instance; an instance left NULL is set to mqtt_conf.h's default,
 * owned by the presence). Writes the will and the hooks into o;
 * o->metrics_interval_ms (0: none) sets the metrics period. m: the
 * registry rendered as metrics (borrowed). NULL on failure, err says why. */
presence *presence_new(mqtt_options *o, metrics *m, char *err, size_t errlen);
void presence_free(presence *p);

/* The client made from those options: presence_tick() publishes through
 * it. */
void presence_attach(presence *p, mqtt_client *c);

/* Publish the metrics when due, and the "online" status if the broker's
 * buffer refused it at connect. Returns the milliseconds until it wants
 * to run again. */
int64_t presence_tick(presence *p);

/* Publish the metrics message now. Returns 0, AM_ESTOPPED, AM_EOVERFLOW,
 * AM_EBROKER or AM_ENOMEM. */
int presence_publish_metrics(presence *p);

#endif
