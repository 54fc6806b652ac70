/* pub — the publishing side of an integration test: a common/mqtt client
 * on the test's broker, publishing contract messages the way a service
 * does (root "factory", its own presence, QoS 1 with flow control). The
 * observing side stays harness.h's raw Paho subscriber, independent of
 * the code under test.
 *
 * Ownership: harness_pub_new() returns a heap object holding the client
 * and its metrics registry; harness_pub_free() releases both (NULL-safe).
 * Test code: failures return NULL with a line on stderr. */
#ifndef ANOMESH_HARNESS_PUB_H
#define ANOMESH_HARNESS_PUB_H

#include "metrics.h"
#include "mqtt.h"

typedef struct harness_pub {
	metrics *m;
	mqtt_client *c;
} harness_pub;

/* Connect as service/instance "t" to uri (root "factory", no metrics
 * publishing) and wait until connected. NULL on failure. */
harness_pub *harness_pub_new(const char *uri, const char *service);
void harness_pub_free(harness_pub *p);

#endif
