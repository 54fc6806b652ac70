/* mqtt_conf — an MQTT client's options checked and made its own: every
 * string copied, the defaults that depend on the host filled in (instance
 * "<hostname>-<pid>", client id "<service>-<instance>") and the
 * "{root}/_svc/{service}/{instance}" prefix derived. Paho-free; mqtt.c
 * keeps one per client, and presence.c asks it for the default instance so
 * that both name the service the same way.
 *
 * Ownership: mqtt_conf is embedded by the caller; mqtt_conf_init() copies
 * what the options point to, mqtt_conf_cleanup() frees it (idempotent).
 *
 * TLS options are refused with a plain (tcp://) URI, and their files must
 * be readable now: a typo is a start-up error, not a silent retry loop.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM. */
#ifndef ANOMESH_MQTT_CONF_H
#define ANOMESH_MQTT_CONF_H

#include "error.h"
#include "mqtt.h"

#include <stddef.h>

typedef struct mqtt_conf {
	mqtt_options o; /* its strings point at the copies below */
	char *uri, *root, *service, *instance, *client_id, *username, *password;
	char *will_topic, *will_payload;
	char *cafile, *capath, *certfile, *keyfile; /* o.tls points at these */
	char *prefix;                               /* {root}/_svc/{service}/{instance} */
} mqtt_conf;

/* Check o (a reason in err when it is refused) and copy it into k.
 * Returns 0, AM_EINVAL or AM_ENOMEM; on failure k holds nothing. */
int mqtt_conf_init(mqtt_conf *k, const mqtt_options *o, char *err, size_t errlen);
void mqtt_conf_cleanup(mqtt_conf *k);

/* The instance name used when the options give none: "<hostname>-<pid>",
 * hostname characters outside [A-Za-z0-9.-] as '_', at most 64 of them.
 * Returns out. */
char *mqtt_conf_instance_default(char *out, size_t cap);

#endif
