/* harness_tls — a test broker with an MQTT TLS listener beside its plain
 * loopback one: the plain listener (b.uri) for the test's own subscribers,
 * as production keeps plain MQTT on the loopback, and TLS on another free
 * 127.0.0.1 port with the CA and broker certificate made by the project's
 * scripts/broker-certs.sh (run from the current directory, the repository
 * root under make check) for the names localhost and 127.0.0.1, in a
 * directory of harness_tmpdir().
 *
 * Ownership: embedded by the caller; harness_tls_broker_stop() takes the
 * broker down and removes its temp dir (the certificates go with
 * harness_tmpdir() at exit). Same conventions as harness.h. */
#ifndef ANOMESH_HARNESS_TLS_H
#define ANOMESH_HARNESS_TLS_H

#include "harness.h"

typedef struct harness_tls_broker {
	harness_broker b;
	int tls_port;
	char tls_uri[64];       /* "ssl://localhost:PORT" */
	char cafile[PATH_MAX];  /* the CA clients must trust */
	char certdir[PATH_MAX]; /* ca.crt, broker.crt, broker.key */
} harness_tls_broker;

/* Returns 0 or -1 (said why on stderr). extra_conf as harness_broker_start. */
int harness_tls_broker_start(harness_tls_broker *t, const char *extra_conf);
/* harness_broker_stop on t->b. */
void harness_tls_broker_stop(harness_tls_broker *t);

#endif
