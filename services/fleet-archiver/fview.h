/* fview — the fleet view's side of the cluster: what the console needs of
 * every gateway (states, alerts, predictions), as MQTT topics
 * fleet/{plant}/{gateway}/{sensor}/{kind} for a Mosquitto that serves the
 * console (NATS 2.9 serves no MQTT over WebSockets).
 *
 * Why not a plain Mosquitto bridge from the cluster: NATS' MQTT listener,
 * like any 3.1.1 broker, clears the retain flag on live deliveries, so a
 * bridged view would keep the state retained at its bridge's connect and
 * show a console opened later a stale state (fleet/README.md). Here states
 * come from a stream of ours, FLEET_STATES (fleet.*.*.*.state, the last
 * message per subject, replicated), read by an ordered consumer from the
 * last state of every sensor: published retained, so the view broker
 * always holds each machine's latest state. Alerts and predictions are
 * live only (core NATS subscriptions), as they are on a gateway.
 *
 * Ownership: fview_open() allocates, fview_close() frees (NULL-safe). A
 * message from fview_next() is the caller's until fview_msg_done().
 *
 * Codes it returns (tree-wide, error.h): AM_EBROKER (the cluster refused
 * or is unreachable: err says why), AM_ETIMEOUT (nothing now), AM_EFORMAT
 * (a subject outside the fleet namespace), AM_ETOOBIG. */
#ifndef ANOMESH_FVIEW_H
#define ANOMESH_FVIEW_H

#include "error.h"
#include "fnats.h"

#include <stddef.h>

#define FVIEW_STREAM "FLEET_STATES"

typedef struct fview fview;

typedef struct fview_msg {
	char topic[192]; /* fleet/{plant}/{gateway}/{sensor}/{kind} */
	const char *data;
	size_t len;
	int qos;      /* 1 for state and alert, 0 for prediction */
	int retained; /* states */
	void *nm;     /* the libnats message */
} fview_msg;

/* Connect (over TLS as tls says: fnats.h), create (or keep) the
 * FLEET_STATES stream with `replicas` replicas, and subscribe. */
int fview_open(fview **out, const char *servers, const fnats_tls *tls, int replicas,
	       char *err, size_t errlen);
void fview_close(fview *fv);

/* The next message of any kind, waiting up to timeout_ms (0: none). */
int fview_next(fview *fv, fview_msg *out, int timeout_ms, char *err, size_t errlen);
void fview_msg_done(fview_msg *m);

/* "fleet.P.G.S.kind" (kind state, alert or prediction; ids as fsubject.h)
 * -> "fleet/P/G/S/kind". Returns 0, AM_EFORMAT or AM_ETOOBIG. */
int fview_topic(const char *subject, char *out, size_t len);

#endif
